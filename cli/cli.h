/*
 * cli.h - the drover command: verb table, global options, REST client, output.
 */
#ifndef DROVER_CLI_H
#define DROVER_CLI_H

#include "core/core.h"

/* Global options and the user's config, shared by every verb. */
struct cli {
	const char *server; /* --server, DROVER_SERVER, or the config file */
	const char *token;  /* DROVER_TOKEN or the config file */
	bool json;          /* --json: machine output */
	json_t *config;     /* the parsed config file, or NULL */
};

/* A verb: `drover <resource> <verb> ARGS`; resource NULL for top-level verbs. */
struct cli_cmd {
	const char *resource;
	const char *verb;
	int (*run)(struct cli *cli, int argc, char **argv); /* argv[0] is the verb */
	unsigned flags;
	const char *usage;
	const char *help;
};
#define CLI_REMOTE 0x1 /* talks to droverd: load the user's config first */

/* A table column: title, the JSON key it shows, and how. */
struct cli_column {
	const char *title;
	const char *key;
	unsigned flags;
};
#define CLI_COL_TIME 0x1 /* Unix seconds shown as ISO-8601 UTC */

/* drover.c */
/* Print usage of one verb to stderr and return 1 (for bad arguments). */
int cli_usage(const struct cli_cmd *cmd);
/* Find the table entry for resource/verb. */
const struct cli_cmd *cli_cmd_find(const char *resource, const char *verb);
/* Print an error on stderr prefixed with "drover: "; returns 1 (the exit code). */
int cli_fail(const char *fmt, ...) DR_PRINTF(1, 2);

/* rest.c */
/* The user config path: $DROVER_CONFIG, $XDG_CONFIG_HOME/drover/cli.yml or ~/.config/… */
char *cli_config_path(void);
/* Fill cli->server and cli->token from options, environment and config; 0 or exit code. */
int cli_config_load(struct cli *cli);
/* Write server and token to the user config (0600); 0 or exit code. */
int cli_config_save(const char *server, const char *token);
/* One REST call; 0 with *ret (may be NULL; caller frees) on 2xx, else prints and returns 1. */
int cli_api(struct cli *cli, const char *method, const char *path, const json_t *body,
    json_t **ret);
/* Percent-encode a query value; caller frees. */
char *cli_urlencode(const char *s);
/* -p KEY=VALUE into params (JSON literals keep their type); 0 or exit code. */
int cli_param_set(json_t *params, const char *arg);
/* --params '{…}' merged into params; 0 or exit code. */
int cli_params_merge(json_t *params, const char *text);
/* A positive numeric id argument; 0 or exit code. */
int cli_id_arg(const char *s, long long *ret);

/* output.c */
void cli_print_json(const json_t *v);
/* Rows (array of objects) as a table fitted to the terminal. */
void cli_table(const struct cli_column *cols, size_t ncols, const json_t *rows);
/* A list answer's page as a table, with a note on stderr when more rows matched. */
void cli_table_page(const struct cli_column *cols, size_t ncols, const json_t *answer);
/* One object as "TITLE  value" lines. */
void cli_record(const struct cli_column *cols, size_t ncols, const json_t *obj);

/* cmd-status.c */
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_login(struct cli *cli, int argc, char **argv);
/* A password from FILE, $DROVER_PASSWORD, the terminal or standard input; 0 or exit code. */
int cli_password_read(const char *pwfile, const char *prompt, char *buf, size_t size);
int cmd_admin_backup(struct cli *cli, int argc, char **argv);

/* cmd-job.c */
int cmd_job_list(struct cli *cli, int argc, char **argv);
int cmd_job_show(struct cli *cli, int argc, char **argv);
int cmd_job_run(struct cli *cli, int argc, char **argv);
int cmd_job_follow(struct cli *cli, int argc, char **argv);
int cmd_job_cancel(struct cli *cli, int argc, char **argv);

/* cmd-schedule.c */
int cmd_schedule_create(struct cli *cli, int argc, char **argv);
int cmd_schedule_list(struct cli *cli, int argc, char **argv);
int cmd_schedule_show(struct cli *cli, int argc, char **argv);
int cmd_schedule_change(struct cli *cli, int argc, char **argv);

/* cmd-template.c */
int cmd_template_render(struct cli *cli, int argc, char **argv);

/* cmd-cron.c */
int cmd_cron_next(struct cli *cli, int argc, char **argv);

/* cmd-user.c */
int cmd_user_create(struct cli *cli, int argc, char **argv);
int cmd_user_list(struct cli *cli, int argc, char **argv);
int cmd_user_show(struct cli *cli, int argc, char **argv);
int cmd_user_update(struct cli *cli, int argc, char **argv);
int cmd_user_delete(struct cli *cli, int argc, char **argv);
int cmd_role_create(struct cli *cli, int argc, char **argv);
int cmd_role_list(struct cli *cli, int argc, char **argv);
int cmd_role_show(struct cli *cli, int argc, char **argv);
int cmd_role_update(struct cli *cli, int argc, char **argv);
int cmd_role_delete(struct cli *cli, int argc, char **argv);
int cmd_token_create(struct cli *cli, int argc, char **argv);
int cmd_token_list(struct cli *cli, int argc, char **argv);
int cmd_token_delete(struct cli *cli, int argc, char **argv);
int cmd_audit_list(struct cli *cli, int argc, char **argv);
/* cmd-ca.c */
int cmd_ca_show(struct cli *cli, int argc, char **argv);
int cmd_ca_issue(struct cli *cli, int argc, char **argv);
int cmd_ca_list(struct cli *cli, int argc, char **argv);
int cmd_ca_revoke(struct cli *cli, int argc, char **argv);
int cmd_ca_crl(struct cli *cli, int argc, char **argv);
int cmd_ca_rotate(struct cli *cli, int argc, char **argv);
int cmd_ca_intermediate(struct cli *cli, int argc, char **argv);
/* cmd-repo.c */
int cmd_content_create(struct cli *cli, int argc, char **argv);
int cmd_content_update(struct cli *cli, int argc, char **argv);
int cmd_content_list(struct cli *cli, int argc, char **argv);
int cmd_content_show(struct cli *cli, int argc, char **argv);
int cmd_repo_sync(struct cli *cli, int argc, char **argv);
int cmd_cv_job(struct cli *cli, int argc, char **argv);
int cmd_erratum_list(struct cli *cli, int argc, char **argv);
int cmd_erratum_show(struct cli *cli, int argc, char **argv);
/* cmd-host.c */
int cmd_resource_list(struct cli *cli, int argc, char **argv);
int cmd_resource_show(struct cli *cli, int argc, char **argv);
int cmd_resource_create(struct cli *cli, int argc, char **argv);
int cmd_resource_update(struct cli *cli, int argc, char **argv);
int cmd_resource_delete(struct cli *cli, int argc, char **argv);
int cmd_host_build(struct cli *cli, int argc, char **argv);
int cmd_host_known_hosts(struct cli *cli, int argc, char **argv);
int cmd_host_packages(struct cli *cli, int argc, char **argv);
int cmd_compute_resource_list(struct cli *cli, int argc, char **argv);
int cmd_template_preview(struct cli *cli, int argc, char **argv);
int cmd_host_power(struct cli *cli, int argc, char **argv);
int cmd_discovered_list(struct cli *cli, int argc, char **argv);
int cmd_discovered_show(struct cli *cli, int argc, char **argv);
int cmd_pxe(struct cli *cli, int argc, char **argv);
int cmd_discovered_delete(struct cli *cli, int argc, char **argv);
int cmd_discovered_provision(struct cli *cli, int argc, char **argv);
/* cmd-play.c */
int cmd_play(struct cli *cli, int argc, char **argv);
/* cmd-job.c: follow a job's output (to out) until it ends; the exit code says how it
 * ended. */
int cli_job_follow_id(struct cli *cli, long long id, FILE *out);
/* cmd-remote.c */
bool cli_remote_wanted(int argc, char **argv);
int cmd_remote_run(struct cli *cli, int argc, char **argv);
int cli_job_started(struct cli *cli, const json_t *job, bool follow);
int cmd_job_rerun(struct cli *cli, int argc, char **argv);
void cli_remote_show(const json_t *job);
int cmd_settings_ssh_key(struct cli *cli, int argc, char **argv);
int cli_host_ssh_args(int argc, char **argv, json_t *body, int *ret_argc);
int cli_host_ssh_put(struct cli *cli, const char *host, const json_t *body);
int cmd_playbook(struct cli *cli, int argc, char **argv);
int cmd_patch_run(struct cli *cli, int argc, char **argv);
int cmd_drift(struct cli *cli, int argc, char **argv);
/* cmd-cluster.c */
/* cmd-image.c */
int cmd_image_create(struct cli *cli, int argc, char **argv);
int cmd_image_build(struct cli *cli, int argc, char **argv);
int cmd_image_list(struct cli *cli, int argc, char **argv);
int cmd_image_show(struct cli *cli, int argc, char **argv);
int cmd_cluster_create(struct cli *cli, int argc, char **argv);
int cmd_cluster_list(struct cli *cli, int argc, char **argv);
int cmd_cluster_show(struct cli *cli, int argc, char **argv);
int cmd_cluster_update(struct cli *cli, int argc, char **argv);
int cmd_cluster_delete(struct cli *cli, int argc, char **argv);
int cmd_cluster_deploy(struct cli *cli, int argc, char **argv);

/* cmd-gitcred.c */
int cmd_gitcred_save(struct cli *cli, int argc, char **argv);
int cmd_gitcred_list(struct cli *cli, int argc, char **argv);
int cmd_gitcred_act(struct cli *cli, int argc, char **argv);

/* cmd-syncplan.c */
int cmd_syncplan_save(struct cli *cli, int argc, char **argv);
int cmd_syncplan_list(struct cli *cli, int argc, char **argv);
int cmd_syncplan_act(struct cli *cli, int argc, char **argv);

#endif /* DROVER_CLI_H */
