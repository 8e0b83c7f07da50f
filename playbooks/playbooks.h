/*
 * playbooks.h - the playbook engine: inventory, playbooks, variables, executor, the
 * connections modules use to reach hosts (local, SSH), facts, and the modules.
 */
#ifndef DROVER_PLAYBOOKS_H
#define DROVER_PLAYBOOKS_H

#include "core/core.h"

/* conn.c */

/*
 * The connection to one host, as every module sees it. A backend (local, ssh) knows how
 * to run a shell command line on the host and move files; conn.c adds what is the same for
 * all of them (become wrapping, temporary files). A connection is used by one thread at a
 * time: the executor gives each host its own thread.
 */
#define CONN_OUTPUT_MAX (64u << 20) /* cap on the stdout or stderr one command returns */

struct conn_result {
	int status;    /* exit status; 128 + signal when killed; -1 when unknown */
	char *out;     /* stdout, NUL-terminated (never NULL after success) */
	size_t out_len;
	char *err;     /* stderr, likewise */
	size_t err_len;
};
/* Free what a result holds (not the struct itself); accepts a zeroed result. */
void conn_result_free(struct conn_result *r);

/* How to reach a host: from inventory variables, play keywords and the command line. */
struct conn_opts {
	const char *host;             /* inventory_hostname, for messages */
	const char *address;          /* ansible_host (default: host) */
	int port;                     /* ansible_port (0: 22) */
	const char *user;             /* ansible_user / remote_user (NULL: the local user) */
	const char *password;         /* ansible_password (NULL: keys only) */
	const char *private_key_file; /* ansible_ssh_private_key_file (NULL: agent, ~/.ssh/id_*) */
	const char *known_hosts_file; /* NULL: ~/.ssh/known_hosts */
	const char *host_key;         /* a host key droverd recorded ("ssh-ed25519 AAAA…"), or NULL */
	bool accept_new_host_key;     /* --ssh-accept-new: learn unknown keys; a changed key is
	                                 always refused */
	int connect_timeout;          /* seconds (0: 10) */
};

/*
 * A backend. open() connects (for SSH: one session for the whole run, host key verified,
 * authenticated) and returns its state; exec() runs cmd with /bin/sh -c semantics on the
 * host, feeding in[0..in_len) on stdin, and fills *ret (ret->status is the command's exit
 * status; a non-zero status is not an error: err is for failing to run at all, and
 * names the host); timeout_s 0 means none. put() writes a file atomically with mode,
 * get() reads at most max bytes of one. Every error names the host.
 */
/* What lstat(2) says of a path (conn_lstat). */
struct conn_stat {
	bool exists;
	unsigned mode; /* type and permission bits, as st_mode */
	long long uid, gid, size;
};

struct conn_backend {
	const char *name; /* "local", "ssh" */
	int (*open)(const struct conn_opts *o, void **ret_state, struct dr_error *err);
	int (*exec)(void *state, const char *cmd, const char *in, size_t in_len, int timeout_s,
	    struct conn_result *ret, struct dr_error *err);
	int (*put)(void *state, const char *path, const void *data, size_t len, int mode,
	    struct dr_error *err);
	int (*get)(void *state, const char *path, size_t max, struct buf *out,
	    struct dr_error *err);
	void (*close)(void *state);
	/* Optional: lstat(2) of a path without running a command (as put() writes). */
	int (*lstat)(void *state, const char *path, struct conn_stat *ret, struct dr_error *err);
};


/*
 * The generic layer over a backend: a connection with the become settings of the task at
 * hand, a private temporary directory on the host, and the task's environment. Every
 * command string a module builds goes through conn_quote() for its arguments.
 */
struct conn;

/* How the task becomes another user (become, become_method, become_user, -K). */
struct conn_become {
	bool enabled;
	const char *method;   /* "sudo" (default) or "su" */
	const char *user;     /* default "root" */
	const char *password; /* NULL: none (sudo -n) */
	const char *flags;    /* become_flags, appended to the sudo/su command, or NULL */
};

/* The backend called name ("local", "ssh"), or NULL. */
const struct conn_backend *conn_backend_find(const char *name);
/* Connect with the named backend; *ret is the caller's (conn_close). */
int conn_open(const char *backend, const struct conn_opts *o, struct conn **ret,
    struct dr_error *err);
/* Remove the temporary directory (if one was made) and disconnect; NULL is fine. */
void conn_close(struct conn *c);
/* Close the session and connect again with the options it was opened with (the reboot
 * module; connect_timeout 0: as before). Until it succeeds the connection is broken. The
 * temporary directory is forgotten (made again on next use). */
int conn_reopen(struct conn *c, int connect_timeout, struct dr_error *err);
/* The inventory name the connection was opened for. */
const char *conn_host(const struct conn *c);
/* Become settings for the following calls (copied; NULL or !enabled: none). */
void conn_become_set(struct conn *c, const struct conn_become *b);
/* Environment (an object of strings, or NULL) for the following commands (copied). */
void conn_env_set(struct conn *c, const json_t *env);
/* True when the connection broke (the host is unreachable), not just a command failing. */
bool conn_broken(const struct conn *c);
/* Run cmd under /bin/sh with become and environment applied; see conn_backend.exec. */
int conn_exec(struct conn *c, const char *cmd, const char *in, size_t in_len, int timeout_s,
    struct conn_result *ret, struct dr_error *err);
/* Write a file atomically with mode (as the become user when become is on). */
int conn_put(struct conn *c, const char *path, const void *data, size_t len, int mode,
    struct dr_error *err);
/* lstat(2) of path through the backend, without a command: 1 when it cannot (no such
 * call, or become is on: the login user's view is not the become user's). */
int conn_lstat(struct conn *c, const char *path, struct conn_stat *ret, struct dr_error *err);
/* Read at most max bytes of a file (as the become user when become is on). */
int conn_get(struct conn *c, const char *path, size_t max, struct buf *out,
    struct dr_error *err);
/* The connection's private temporary directory on the host (made on first use; mode
 * 0700, removed by conn_close); owned by c. */
int conn_tmpdir(struct conn *c, const char **ret, struct dr_error *err);
/* Split text into words as a POSIX shell would (quotes, backslashes; # starts a comment
 * at the start of a word); *ret is a new array of strings. */
int conn_split(const char *text, json_t **ret, struct dr_error *err);
/* Gather the host's facts (facts_gather over this connection's backend). */
int conn_facts(struct conn *c, const char *subset, json_t **ret, struct dr_error *err);
/* s as one POSIX shell word ('…' with ' as '\''); caller frees. */
char *conn_quote(const char *s);
/* end conn.c */

/* conn_local.c */
extern const struct conn_backend conn_backend_local;
/* end conn_local.c */

/* conn_ssh.c */
/*
 * SSH on libssh: one session per host for the whole run (exec: a channel per command;
 * put/get: one SFTP channel kept open). Host keys: o->host_key when set, else known_hosts
 * (strict; o->accept_new_host_key learns unknown keys into it; a changed key is always
 * refused). Auth: o->private_key_file, else the agent and ~/.ssh/id_*, then o->password.
 * The command runs under the login shell's -c, as with OpenSSH. A command timeout asks
 * sshd to SIGKILL the command (OpenSSH refuses for root logins: the command may then run
 * on until it ends or writes to its closed output) and closes its channel; the session
 * stays usable. A host that goes silent (link cut, power lost) is found dead by TCP
 * keepalive after about 2 x connect_timeout, so even a command without a timeout ends.
 */
extern const struct conn_backend conn_backend_ssh;
/* end conn_ssh.c */

/* facts.c */
/*
 * Ansible's facts in one round trip: one shell script on stdin of `/bin/sh -s`. *ret is an
 * object of facts WITHOUT the "ansible_" prefix (Ansible's `ansible_facts`: distribution,
 * distribution_version, os_family, pkg_mgr, service_mgr, hostname, fqdn, default_ipv4,
 * interfaces, eth0, architecture, memtotal_mb, mounts, env, date_time, …); the executor
 * exposes each also as a top-level `ansible_<name>` variable. subset (may be NULL) is
 * recorded as gather_subset; every fact is gathered. Caller frees *ret.
 */
int facts_gather(const struct conn_backend *b, void *state, const char *subset, json_t **ret,
    struct dr_error *err);
/* Parse the script's output (what facts_gather does after exec). Caller frees *ret. */
int facts_parse(const char *text, size_t len, json_t **ret, struct dr_error *err);
/* The script facts_gather sends. */
const char *facts_script_text(void);
/* end facts.c */

/* inventory.c */

/*
 * The inventory: hosts with their own variables, groups with variables, hosts and child
 * groups (jansson keeps insertion order, which is the order hosts are listed and run in).
 * Sources: INI and YAML files, directories of them, and comma lists ("h1,h2,"). group_vars/
 * and host_vars/ beside each source and beside the playbook are read too.
 */
#define INVENTORY_MAX_HOSTS 100000
#define INVENTORY_MAX_RANGE 10000 /* hosts one web[01:20] pattern may expand to */

struct inventory {
	json_t *hosts;  /* name -> {"vars": {…}, "vars_files": {…}} */
	json_t *groups; /* name -> {"hosts": [..], "children": [..], "vars": {…}} */
	json_t *vars_dirs; /* directories whose group_vars/ host_vars/ are read, in order */
};

/* An empty inventory holding the groups all and ungrouped. */
void inventory_init(struct inventory *inv);
void inventory_free(struct inventory *inv);
/* Add a source: a comma list, an INI or YAML file, or a directory of them. */
int inventory_load(struct inventory *inv, const char *source, struct dr_error *err);
/* Once every source is loaded: read group_vars/ and host_vars/ beside each source, then
 * beside the playbook (playbook_dir may be NULL); later directories win. */
int inventory_vars_load(struct inventory *inv, const char *playbook_dir, struct dr_error *err);
/* Add an inventory document shaped as a YAML inventory ({"all": {"hosts": {h: vars},
 * "children": {…}, "vars": {…}}}) that was not read from a file; name is for messages. */
int inventory_doc_load(struct inventory *inv, const char *name, const json_t *doc,
    struct dr_error *err);
/* Add a host to a group (creating both as needed; group NULL: ungrouped). */
void inventory_host_add(struct inventory *inv, const char *host, const char *group);
/* The hosts a pattern names, in inventory order; *ret is an array the caller frees.
 * Patterns: groups, hosts, all, *, wildcards, ~regex, a,b / a:b, &x, !x, name[0:2]. */
int inventory_match(const struct inventory *inv, const char *pattern, json_t **ret,
    struct dr_error *err);
/* A host's inventory variables: group vars by depth (all < parents < children, then name),
 * then host vars, plus inventory_hostname(_short) and group_names. Caller frees. */
json_t *inventory_host_vars(const struct inventory *inv, const char *host);
/* The `groups` magic variable: {group: [hosts]}. Caller frees. */
json_t *inventory_groups(const struct inventory *inv);
/* end inventory.c */

/* inventory_droverd.c */
/*
 * droverd's hosts and hostgroups as an inventory: each hostgroup is a group (child of its
 * parent hostgroup), each host is in its hostgroup, with ansible_host the address of its
 * primary interface (else the provisioning one), its parameters resolved as the
 * provisioner resolves them (global < domain < subnet < OS < hostgroups < host) as host
 * variables, and drover_host_key, the SSH host key recorded when it was installed, so the
 * connection verifies the host against it. *ret is a YAML-inventory document for
 * inventory_doc_load(); served at GET /api/v2/inventory. Caller frees.
 */
#define INVENTORY_DROVERD_SOURCE "droverd:" /* the -i / inventory value naming it */
int inventory_droverd_export(json_t **ret, struct dr_error *err);
/* Register GET /api/v2/inventory (droverd, next to the other api_init calls). */
void playbooks_api_init(void);
/* end inventory_droverd.c */

/* playbook.c */

/*
 * Playbooks load into JSON with every keyword checked. A task is an object with "action"
 * (our module name, FQCNs mapped), "args" (an object; free-form text is "_raw_params"),
 * its keywords, and "__where" ("site.yml:12:5"). A block is an object with "block",
 * "rescue" and "always" lists. import_tasks and import_role become blocks at load time;
 * include_tasks and include_role stay tasks that the executor loads at run time. Roles of a
 * play become blocks with a "__role" object {"name", "path", "defaults", "vars", "params"}.
 */
struct playbook;

struct playbook_opts {
	const char *roles_path; /* colon-separated directories searched after the playbook's
	                           roles/ (--roles-path, config) */
	bool *not_found; /* set true when loading failed on a file or role that does not
	                    exist (ansible-playbook exits 1 there, 4 on a parse error); may be
	                    NULL */
};

/* Load a playbook (following import_playbook); *ret is the caller's (playbook_free). */
int playbook_load(const char *path, const struct playbook_opts *o, struct playbook **ret,
    struct dr_error *err);
void playbook_free(struct playbook *pb);
/* The plays (an array of normalized play objects; owned by pb). */
const json_t *playbook_plays(const struct playbook *pb);
/* The directory of the top playbook. */
const char *playbook_dir(const struct playbook *pb);
/* Load a task file (include_tasks at run time) relative to role or playbook; thread-safe.
 * *ret is a new array of normalized tasks. */
int playbook_tasks_load(struct playbook *pb, const char *file, const json_t *role,
    json_t **ret, struct dr_error *err);
/* Load a role for include_role at run time: a block as in a play's roles, and the role's
 * handlers appended to *ret_handlers (a new array). Thread-safe. */
int playbook_role_load(struct playbook *pb, const char *name, const json_t *params,
    const char *tasks_from, json_t **ret_block, json_t **ret_handlers, struct dr_error *err);
/* Our module name for an action name (FQCN or short), or NULL when unknown. */
const char *playbook_action_name(const char *name);
/* end playbook.c */

/* vars.c */

/*
 * Variables and templating. Values are templated when used, not when defined: a string
 * holding {{ }} that names other variables is resolved only when an expression refers to
 * it (recursively, with a depth cap). A whole-string "{{ expr }}" keeps the expression's
 * type (a list stays a list), as Ansible does.
 */
#define VARS_MAX_DEPTH 32

/* Register Ansible's filters, tests and lookups with the template engine (once). */
void vars_init(void);
/* Template every string in value (recursively) over vars; *ret is a new reference. */
int vars_template(const json_t *vars, const json_t *value, json_t **ret, struct dr_error *err);
/* Template a string to a string; caller frees *ret. */
int vars_template_str(const json_t *vars, const char *text, char **ret, struct dr_error *err);
/* Evaluate a when/changed_when/failed_when condition: a string expression (with or
 * without {{ }}), a boolean, or a list ANDed. */
int vars_cond(const json_t *vars, const json_t *cond, bool *ret, struct dr_error *err);
/* Copy src's keys over dst's (Ansible's hash_behaviour=replace). */
void vars_merge(json_t *dst, const json_t *src);
/* Render a template file's text (the template module, lookup('template')): trim_blocks
 * on, includes relative to dir. Caller frees *ret. */
int vars_render_file(const json_t *vars, const char *name, const char *text, const char *dir,
    char **ret, struct dr_error *err);
/* Read a YAML/JSON variables file (vars_files, include_vars, group_vars) into an object. */
int vars_file_load(const char *path, json_t **ret, struct dr_error *err);
/* Parse "-e" arguments: k=v pairs, @file, or a YAML/JSON object, merged into vars. */
int vars_extra_parse(json_t *vars, const char *arg, struct dr_error *err);
/* Parse k=v k2="v 2" text (module args) into an object. free_form: only the command
 * modules' own keys (chdir, creates, …) are taken out; the rest is "_raw_params". */
int vars_kv_parse(const char *text, bool free_form, json_t **ret, struct dr_error *err);
/* The placeholder `omit` renders to; arguments equal to it are dropped. */
#define VARS_OMIT "__omit_place_holder__drover"
/* end vars.c */

/* executor.c */

/*
 * Running plays. Events go to a callback as JSON objects: {"event": "play_start", "play"},
 * {"event": "task_start", "task", "where"}, {"event": "host_result", "host", "task",
 * "status": "ok|changed|failed|skipped|unreachable|ignored|rescued", "result", "item"?},
 * {"event": "handler_start"}, {"event": "recap", "hosts": {h: {ok, changed, …}}},
 * {"event": "warning", "msg"}, {"event": "diff", "host", "diff"}.
 */
typedef void (*play_event_fn)(void *ctx, const json_t *event);

struct play_opts {
	const char *limit;
	const char *tags;      /* comma list, NULL: all */
	const char *skip_tags; /* comma list, NULL: none */
	json_t *extra_vars;    /* borrowed; may be NULL */
	int forks;             /* 0: every host up to PLAY_FORKS_MAX */
	bool check, diff;
	int verbosity;
	const char *start_at_task;
	const char *become_password; /* -K */
	bool accept_new_host_key;
	const char *connection; /* -c: default ansible_connection ("ssh") */
	const char *user;       /* -u */
	play_event_fn event;
	void *event_ctx;
	volatile int *cancel; /* non-zero: stop after the running tasks (may be NULL) */
};
#define PLAY_FORKS_MAX 50
/* Exit codes, as ansible-playbook's. */
#define PLAY_RC_OK 0
#define PLAY_RC_ERROR 1
#define PLAY_RC_FAILED 2
#define PLAY_RC_UNREACHABLE 4
#define PLAY_RC_PARSE 5

/* Run every play; returns an exit code (PLAY_RC_*), err set for RC_ERROR/RC_PARSE. */
int play_run(struct playbook *pb, struct inventory *inv, const struct play_opts *o,
    struct dr_error *err);
/* --list-hosts / --list-tasks output through the event callback ({"event": "list"}). */
int play_list(struct playbook *pb, struct inventory *inv, const struct play_opts *o,
    bool hosts, bool tasks, struct dr_error *err);

/* job.c */
/* Register droverd's `playbook` job kind (params: see job.c). */
void playbook_job_register(void);

/* output.c */
/* Printers for play events: text like ansible-playbook's, or one JSON object per line. */
struct play_output {
	FILE *fp;
	int verbosity;
	bool diff;
	bool json;
};
void play_output_event(void *ctx, const json_t *event);
/* end executor.c */

/* modules */

/*
 * Modules: one file per module or family in modules/, each a table row with a declarative
 * argument spec. Arguments are checked (types converted as Ansible does, unknown names and
 * bad choices refused) before run() sees them. run() fills m->result (changed, msg, diff,
 * module-specific keys) and returns 0, or returns -1 with err set (the task failed).
 */
enum module_type {
	MT_STR,
	MT_BOOL,
	MT_INT,
	MT_FLOAT,
	MT_PATH,
	MT_LIST,
	MT_DICT,
	MT_RAW,
	MT_MODE /* file mode: octal string or number, or symbolic (u+x) */
};

struct module_arg {
	const char *name;
	enum module_type type;
	bool required;
	const char *def;     /* default as text (NULL: none) */
	const char *choices; /* "a|b|c" or NULL */
	const char *aliases; /* "a|b" or NULL */
};

struct module_ctx {
	struct conn *conn; /* NULL for modules that run on the controller */
	json_t *args;      /* checked arguments (defaults filled in) */
	const json_t *vars; /* the task's variables (templates, lookups) */
	json_t *result;    /* what the module reports */
	bool check, diff;
	int timeout;
	const char *host;
	const char *playbook_dir;
	const char *role_path; /* NULL outside roles */
	int verbosity;
	const char *async_file; /* async with poll 0: the job's results file on the host
	                           (~/.ansible_async/<jid>); command and shell start the
	                           command detached there and report it started. NULL: run
	                           now */
	const char *async_jid;
};

#define MODULE_FREE_FORM 0x1 /* takes free-form text as _raw_params (command, shell) */
#define MODULE_CONTROLLER 0x2 /* runs without a connection (debug, set_fact, assert) */
#define MODULE_RAW_ARGS 0x4   /* args not templated up front (debug var=, assert that=) */
#define MODULE_ANY_ARGS 0x8   /* any argument name (set_fact) */

struct module {
	const char *name;
	const struct module_arg *args;
	int (*run)(struct module_ctx *m, struct dr_error *err);
	unsigned flags;
};

/* The module called name (our short name), or NULL. */
const struct module *module_find(const char *name);
/* Check args against m's spec; *ret is a new object with defaults and converted types. */
int module_args_check(const struct module *m, const json_t *args, json_t **ret,
    struct dr_error *err);
/* Helpers modules share (modules/common.c). */
const char *module_str(const struct module_ctx *m, const char *name);
bool module_bool(const struct module_ctx *m, const char *name);
long long module_int(const struct module_ctx *m, const char *name);
/* Run a command on the host; fails the module only when it could not run at all. */
int module_exec(struct module_ctx *m, const char *cmd, const char *in, size_t in_len,
    struct conn_result *ret, struct dr_error *err);
/* Find a controller-side file: absolute, or under role/<sub>, role, playbook/<sub>,
 * playbook dir; caller frees *ret. */
int module_file_find(const struct module_ctx *m, const char *sub, const char *name,
    char **ret, struct dr_error *err);
/* Text that may not be UTF-8 as a JSON string. */
json_t *module_text(const char *s, size_t len);
/* Set result.diff for a text change (before/after with headers). */
void module_diff_set(struct module_ctx *m, const char *path, const char *before,
    const char *after);
extern const struct module modules_control[]; /* debug, set_fact, assert, fail, … */
extern const size_t modules_control_n;
extern const struct module modules_command[]; /* command, shell, raw, script */
extern const size_t modules_command_n;
extern const struct module modules_files[]; /* copy, template, file, stat, … */
extern const size_t modules_files_n;
extern const struct module modules_system[]; /* user, group, sysctl, hostname, wait_for */
extern const size_t modules_system_n;
extern const struct module modules_packages[]; /* apt, dnf (yum), package */
extern const size_t modules_packages_n;
extern const struct module modules_services[]; /* systemd (systemd_service), service */
extern const size_t modules_services_n;
/* The text parts of modules/sources.c and modules/hostconf.c, exported for unit tests.
 * Every returned string or object is the caller's. */
/* A sources file normalized as ansible-core's apt_repository writes it back. */
char *sources_apt_normalize(const char *text);
/* apt_repository's default file name (without .list) for a source line. */
char *sources_apt_filename(const char *source);
/* A .repo file as ConfigParser reads it ({section: {key: value}}), its sorted dump
 * (yum_repository decides `changed` on it) and its text as ConfigParser writes it. */
json_t *sources_ini_parse(const char *text);
char *sources_ini_dump(const json_t *ini);
char *sources_ini_write(const json_t *ini);
/* An fstab field escaped (\040 for space, \046, \134), and fstab with the entry for path
 * set to the six fields in set (escaped) or removed (set NULL). */
char *hostconf_fstab_escape(const char *s);
char *hostconf_fstab_edit(const char *text, const char *const set[6], const char *path,
    bool *ret_changed);
extern const struct module modules_sources[]; /* apt_repository, apt_key, yum_repository */
extern const size_t modules_sources_n;
extern const struct module modules_hostconf[]; /* modprobe, mount, timezone, cron */
extern const size_t modules_hostconf_n;
/* modules/files.c: file attributes for modules outside the file family (get_url, …) */
/* Apply the mode/owner/group arguments of m to an existing path; *changed set if any
 * differed (nothing is changed in check mode). A missing path is left alone. */
int files_attrs_apply(struct module_ctx *m, const char *path, bool *changed,
    struct dr_error *err);
/* Put path (under key: "dest", "path") and its mode, owner, group, uid, gid, size and state
 * into the result, as the file modules report them. */
void files_attrs_report(struct module_ctx *m, const char *path, const char *key);
/* modules/async.c: jobs started by async tasks with poll 0 */
/* Start line detached on the host as job m->async_jid: its stdout, stderr, exit status
 * and times go to files beside m->async_file, which async_status reads; fills the result
 * ({ansible_job_id, started, finished: 0, results_file, changed}). shown is the "cmd"
 * value the finished result reports. */
int async_job_start(struct module_ctx *m, const char *line, const json_t *shown,
    struct dr_error *err);
/* Record a result that is already final as job m->async_jid (a module run at once). */
int async_job_finish(struct module_ctx *m, const json_t *result, struct dr_error *err);
/* The directory the job files go to (~/.ansible_async of the user commands run as),
 * made if missing; caller frees *ret. */
int async_dir(struct module_ctx *m, char **ret, struct dr_error *err);
extern const struct module modules_async[]; /* async_status */
extern const size_t modules_async_n;
extern const struct module modules_net[]; /* get_url, uri */
extern const size_t modules_net_n;
extern const struct module modules_archive[]; /* unarchive */
extern const size_t modules_archive_n;
extern const struct module modules_remote[]; /* known_hosts, git, reboot */
extern const size_t modules_remote_n;
/* end modules */

#endif /* DROVER_PLAYBOOKS_H */
