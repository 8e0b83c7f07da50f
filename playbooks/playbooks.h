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
};

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
/* end inventory.c */

/* playbook.c */
/* end playbook.c */

/* vars.c */
/* end vars.c */

/* executor.c */
/* end executor.c */

/* modules */
/* end modules */

#endif /* DROVER_PLAYBOOKS_H */
