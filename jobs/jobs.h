/*
 * jobs.h - the workflows that tie the provisioner, repos and playbooks together: droverd's
 * SSH identity, the hosts a job targets, remote execution (a command or a playbook on
 * hosts, in batches), the playbook library, and package profiles collected from hosts.
 */
#ifndef DROVER_JOBS_H
#define DROVER_JOBS_H

#include "core/core.h"

/* identity.c */

/*
 * droverd's own SSH key: <state_dir>/ssh/id_ed25519 (0600) with its .pub beside it, made
 * at first start. Every remote job authenticates with it; operators authorize the public
 * key on hosts Drover did not install.
 */
#define JOBS_IDENTITY_DIR "ssh"
#define JOBS_IDENTITY_FILE "id_ed25519"

/* Load, or make on first start, the key under state_dir. */
int jobs_identity_init(const char *state_dir, struct dr_error *err);
/* The private key's path, NULL before jobs_identity_init. Not to be freed. */
const char *jobs_identity_path(void);
/* The public key as an OpenSSH line ("ssh-ed25519 AAAA… drover@HOST"), NULL before init. */
const char *jobs_identity_public(void);

/* targets.c */

/*
 * The hosts a job runs on. Selections are a search over the host facets table
 * (jobs_host_facets: name, hostgroup, hostgroup chain, os, ip, and what jobs learnt about
 * the host), refreshed from the provisioner's hosts before each selection. A target is
 * {"id", "name", "address", "port", "user", "host_keys" (OpenSSH lines or ""),
 * "accept_new" (bool)}.
 */
#define JOBS_TARGETS_MAX 100000
#define JOBS_SSH_KEY_MAX (16 * 1024)

/* Bring jobs_host_facets up to date with the provisioner's hosts (changed ones only,
 * every host when a hostgroup, subnet, domain or OS changed). */
int jobs_targets_refresh(struct dr_error *err);
/*
 * Resolve a selection {"search"?, "hostgroup"?, "hosts"? ([ids or names])} into targets
 * ordered by name. The selection must name something; a bad search fails naming the
 * column. Caller frees *ret.
 */
int jobs_targets_select(const json_t *selection, json_t **ret, struct dr_error *err);
/* Targets for host ids (the ones that exist), in the given order. Caller frees *ret. */
int jobs_targets_by_id(const json_t *ids, json_t **ret, struct dr_error *err);
/* Record a host's SSH host key(s) (OpenSSH public key lines; checked) and/or its
 * accept-new setting (-1: unchanged). Audited as user from remote. PROV_E_* style codes:
 * -404 unknown host, -422 bad key. */
int jobs_host_ssh_set(const char *id_or_name, const char *keys, int accept_new, const char *user,
    const char *remote, json_t **ret, struct dr_error *err);

/* remote.c */

/*
 * The remote_execution job kind. Params:
 *   command (text) | playbook_yaml (text, with playbook_name/playbook_version for show)
 *   | playbook_git ({url, path, ref, credential?}: credential names a git credential;
 *   the URL never carries a password, see gitcred.c)
 *   hosts ([ids]) | search / hostgroup (resolved when the job starts)
 *   concurrency (1..JOBS_CONCURRENCY_MAX, default 10), batch_size (0 = all at once),
 *   max_fail_percent (0..100, default 100: never stop early), timeout (seconds per
 *   host, 0 = none), become (bool), become_user (default root), rerun_of (job id).
 * Each host is a job item: state pending, running, success, failed, unreachable,
 * skipped (never started: the failure threshold stopped the run) or cancelled, with
 * {host_id, address, exit_status, stdout, stderr, error, started_at, finished_at,
 * duration_ms}. Output lines are "HOST: text".
 */
#define JOBS_CONCURRENCY_MAX 200
#define JOBS_CONCURRENCY_DEFAULT 10
#define JOBS_HOST_OUTPUT_MAX (64 * 1024) /* per host, in the item (the job's output has all) */
#define JOBS_COMMAND_MAX (64 * 1024)

void jobs_remote_register(void);
/* Check a remote execution request body and turn it into job params (targets resolved
 * to ids, the library playbook's text copied in); invalid gets {field: message}. */
int jobs_remote_params(const json_t *body, json_t **ret, json_t *invalid, struct dr_error *err);
/* As jobs_remote_params for user from remote: a playbook's https:// URL with
 * user:password@ is split, the credential saved (jobs_gitcred_put) and only its name kept
 * in the params; {credential: NAME} names one for the URL. */
int jobs_remote_params_as(const json_t *body, const char *user, const char *remote, json_t **ret,
    json_t *invalid, struct dr_error *err);
/* Params for a re-run of job id on its failed and unreachable hosts (all hosts unless
 * failed_only). 0, -404 (no such remote job), -409 (no failed host / still running). */
int jobs_remote_rerun_params(int64_t id, bool failed_only, json_t **ret, struct dr_error *err);

/* patch.c */

/*
 * The patch_run job kind. Params: errata ({ids, types, severities, cves}, each optional;
 * absent: every installable erratum), search | hostgroup | hosts, batch_size or
 * batch_percent, concurrency, max_fail_percent, timeout (per package manager run), become*,
 * window ({cron, tz, duration (minutes)}: a batch starts only inside it), pre and post
 * (library playbooks NAME[@VERSION] run on each batch before and after), reboot (never,
 * if_needed, always), reboot_command, reboot_timeout (seconds to wait for the host).
 * Each host's item: errata (selected and applicable), errata_applied, errata_failed,
 * packages [{name, before, after}], rebooted, exit_status, stdout, stderr, error.
 */
/* Check a patch run request into job params; invalid gets {field: message}. */
int jobs_patch_params(const json_t *body, json_t **ret, json_t *invalid, struct dr_error *err);

/* drift.c */

/*
 * The drift_check job kind: the library playbooks assigned to each host (its parameter
 * `playbooks`, a comma list) run in check mode with diffs. Params: search | hostgroup |
 * hosts (default: every host with playbooks), concurrency. Items: drifted, in_sync or
 * failed, with changes [{task, diff?}].
 */
/* A host's last drift report {host_id, name, drifted, changes, checked_at, job_id}, or
 * NULL. Caller frees. */
json_t *jobs_drift_get(int64_t host_id);
/* Every checked host, drifted first. Caller frees *ret. */
int jobs_drift_list(json_t **ret, struct dr_error *err);

/* git.c */

/*
 * Playbooks from a git repository: "git+URL//PATH[@REF]" (URL https://, ssh:// or
 * file://; PATH inside the repository; REF a branch, tag or commit, default the remote's
 * HEAD; the ref is what follows the last '@' after the '//'). Fetched shallow with git
 * into one bare repository per URL under <state_dir>/git (ssh: droverd's key, host keys in
 * <state_dir>/git/known_hosts), checked out into the job's own directory.
 */
#define JOBS_GIT_SPEC_MAX 2048
#define JOBS_GIT_TIMEOUT 120 /* seconds for each git command */
#define JOBS_GIT_FILE_MAX (256u << 20) /* any file git writes (packs) */
#define JOBS_GIT_TREE_MAX (64u << 20) /* the checked-out tree */
#define JOBS_GIT_FILES_MAX 20000

/* Where the cache lives: <state_dir>/git. */
void jobs_git_init(const char *state_dir);
/* Split an https:// URL's user:password@ off: 1 with the URL without them, the user name
 * and the password (decoded; caller frees the three), 0 when there are none; -1 for a
 * password in an ssh:// URL, or a user name without one. */
int jobs_git_userinfo(const char *url, char **ret_url, char **ret_user, char **ret_password,
    struct dr_error *err);
/* Parse a spec into {url, path, ref}; errors say what is wrong (no field name). */
int jobs_git_parse(const char *spec, json_t **ret, struct dr_error *err);
/* The URL with its user information replaced by "***". Caller frees. */
char *jobs_git_redact(const char *url);
/* Fetch {url, path, ref, credential?} (credential: a git credential's name, for an
 * https:// URL) and check the commit out into dest (made here); the path must be a file
 * of the commit. *ret_commit: the commit id (caller frees). */
int jobs_git_checkout(
    const json_t *spec, const char *dest, char **ret_commit, struct dr_error *err);

/* gitcred.c */

struct api_resource;

/*
 * Git credentials {name, username, password} for private https:// repositories, sealed
 * at rest and never shown: the API shows {id, name, created_at, created_by, updated_at,
 * updated_by, schedules: [{id, name}] (the remote_execution schedules naming it)}.
 * Audited as resource "git_credential" without the secret.
 */
#define JOBS_GITCRED_NAME_MAX 255

/* Create (id_or_name NULL) or change a credential from {name, username, password} as
 * user: 0 created, 1 changed, -422 (invalid filled), -404, -409 (name taken, or renaming
 * one a schedule uses) or -1. *ret (may be NULL): as shown. */
int jobs_gitcred_save(const char *id_or_name, const json_t *body, const char *user,
    const char *remote, json_t *invalid, json_t **ret, struct dr_error *err);
/* Create or change credential name (a URL's user information given to the API). */
int jobs_gitcred_put(const char *name, const char *username, const char *password,
    const char *user, const char *remote, struct dr_error *err);
/* A credential by id or name as shown, or NULL. Caller frees. */
json_t *jobs_gitcred_get(const char *id_or_name);
/* Delete a credential: 0, -404, -409 while a schedule names it, -1. */
int jobs_gitcred_delete(
    const char *id_or_name, const char *user, const char *remote, struct dr_error *err);
/* Whether a credential called name exists. */
bool jobs_gitcred_exists(const char *name);
/* The user name and password of credential name (caller cleanses and frees both). */
int jobs_gitcred_open(const char *name, char **ret_user, char **ret_password,
    struct dr_error *err);
/* The list resource (search, order, paging). */
extern const struct api_resource jobs_gitcred_resource;
/*
 * Move credentials out of what older versions stored: https:// user information in
 * remote_execution jobs' and schedules' params becomes a git credential (the params keep
 * the URL without it and the credential's name), and audit rows lose it. At start.
 */
int jobs_gitcred_upgrade(struct dr_error *err);

/* library.c */

/*
 * The playbook library: named playbooks with numbered, immutable versions. Uploading a
 * text equal to the latest version's makes no new version.
 */
#define JOBS_PLAYBOOK_MAX (1024 * 1024)
#define JOBS_PLAYBOOK_NAME_MAX 128

/* Check that text loads as a playbook (errors cite what:line:column). */
int jobs_library_check(const char *what, const char *text, struct dr_error *err);
/* Add a version (the text must load as a playbook); *ret = the version object. */
int jobs_library_add(const char *name, const char *text, const char *user, json_t **ret,
    json_t *invalid, struct dr_error *err);
/* Every playbook with its latest version number. Caller frees *ret. */
int jobs_library_list(json_t **ret, struct dr_error *err);
/* A playbook's version (0 = latest) with its text; NULL when none. Caller frees. */
json_t *jobs_library_get(const char *name, int64_t version);
/* The versions of a playbook (no text), newest first; NULL when none. Caller frees. */
json_t *jobs_library_versions(const char *name);

/* profile.c */

/*
 * Package profiles: what is installed on a host (dpkg or rpm) and whether it needs a
 * reboot, collected over the connection at the end of every job on the host.
 */
#define JOBS_PROFILE_MAX (16u << 20)
#define JOBS_PROFILE_PACKAGES_MAX 100000

struct conn;
/* The shell script that prints a profile (one round trip). */
const char *jobs_profile_script(void);
/* The script with the stored fingerprint (NULL: none) set before it. Caller frees. */
char *jobs_profile_script_known(const char *fingerprint);
/* Parse the script's output into {"format": "apt"|"yum", "packages": [...],
 * "reboot_required": bool}. Caller frees *ret. */
int jobs_profile_parse(const char *text, size_t len, json_t **ret, struct dr_error *err);
/* Collect over c and store for host_id (then recompute its applicability). */
int jobs_profile_collect(struct conn *c, int64_t host_id, int64_t job_id, struct dr_error *err);
/* Store a parsed profile and recompute the host's applicable errata. */
int jobs_profile_store(
    int64_t host_id, int64_t job_id, const json_t *profile, struct dr_error *err);
/* Store many profiles [{host_id, profile}] in one transaction; a host's failure goes to
 * errors (host id as text -> message); -1 when the transaction did not commit. */
int jobs_profile_store_many(
    const json_t *list, int64_t job_id, json_t *errors, struct dr_error *err);
/* The repository versions content view cv serves in environment env ("default" in
 * "Library": every repository's latest), and their format ("apt" or "yum"). Caller frees. */
int jobs_content_versions(
    const char *cv, const char *env, json_t **ret, const char **ret_type, struct dr_error *err);
/* Recompute applicability of stored profiles: of host_ids (array), or when NULL of every
 * host whose content (its content_view and lifecycle_environment parameters) changed. */
int jobs_applicability_refresh(const json_t *host_ids, struct dr_error *err);
/* jobs_applicability_refresh(NULL) under the profile writers' lock: repos' content hook. */
int jobs_applicability_changed(struct dr_error *err);
/* The stored profile of a host with its applicable errata, NULL when none. Caller frees. */
json_t *jobs_profile_get(int64_t host_id);

/* jobs.c */

/* Register the tables and job kinds; before store_open. */
void jobs_register(void);
/* After store_open: the SSH identity. */
int jobs_init(const char *state_dir, struct dr_error *err);

/* api.c */

/* Install the routes; before http_server_start. */
void jobs_api_init(void);
struct http_request;
/* The job invocations list (remote execution, patch and drift runs) for the API and
 * pages: search, order, paging, Foreman's list shape. */
extern const struct api_resource jobs_api_invocations;
/* Submit a job of kind (remote_execution, patch_run) with checked params for the caller,
 * wake the runner and audit it: what the API and the UI forms both do. */
int jobs_invocation_submit(struct http_request *req, const char *kind, const json_t *params,
    int64_t *ret_id, struct dr_error *err);

/* syncplan.c */

/*
 * Sync plans: {name, description, interval (hourly|daily|weekly|custom), cron_expression
 * (custom only), sync_date (ISO-8601, the first run; read in time_zone), time_zone,
 * repository_ids / product_ids (names or ids), enabled}. Each plan owns a schedule
 * "sync_plan/NAME" of job kind "sync_plan", which syncs every repository of the plan (its
 * products' repositories as they are when it runs) in one job, one item per repository.
 * Also the job kind "content_view_publish_promote" {content_view, environments, force?}.
 * Functions return 0, or -404 / -409 / -422 (invalid filled per field) / -1.
 */
void jobs_syncplan_register(void);
json_t *jobs_syncplan_get(const char *id_or_name);
int jobs_syncplan_list(json_t **ret, struct dr_error *err);
/* Create (id_or_name NULL) or update a plan; *ret the plan as shown. Audited. */
int jobs_syncplan_save(const char *id_or_name, const json_t *body, const char *user,
    const char *remote, json_t *invalid, json_t **ret, struct dr_error *err);
int jobs_syncplan_delete(
    const char *id_or_name, const char *user, const char *remote, struct dr_error *err);
int jobs_syncplan_enable(const char *id_or_name, bool on, const char *user, const char *remote,
    json_t **ret, struct dr_error *err);
/* ui.c: the sync plans pages; before http_server_start. */
void jobs_ui_init(void);
/* Queue the plan's job now. */
int jobs_syncplan_run_now(
    const char *id_or_name, const char *user, int64_t *ret_id, struct dr_error *err);

#endif /* DROVER_JOBS_H */
