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
	const char *prog;   /* argv[0] for messages */
};

/* A verb: `drover <resource> <verb> ARGS`; resource NULL for top-level verbs. */
struct cli_cmd {
	const char *resource;
	const char *verb;
	int (*run)(struct cli *cli, int argc, char **argv); /* argv[0] is the verb */
	const char *usage;
	const char *help;
};

/* drover.c */
/* Print usage of one verb to stderr and return 1 (for bad arguments). */
int cli_usage(const struct cli_cmd *cmd);
/* Find the table entry for resource/verb. */
const struct cli_cmd *cli_cmd_find(const char *resource, const char *verb);
/* Print an error on stderr prefixed with "drover: "; returns 1 (the exit code). */
int cli_fail(const char *fmt, ...) DR_PRINTF(1, 2);

/* cmd-template.c */
int cmd_template_render(struct cli *cli, int argc, char **argv);

/* cmd-cron.c */
int cmd_cron_next(struct cli *cli, int argc, char **argv);

#endif /* DROVER_CLI_H */
