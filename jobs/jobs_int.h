/*
 * jobs_int.h - what remote.c shares with patch.c: a run over target hosts (connections
 * with droverd's key and the recorded host keys, per-host output, playbook batches).
 */
#ifndef DROVER_JOBS_INT_H
#define DROVER_JOBS_INT_H

#include <pthread.h>
#include <sys/stat.h>
#include <ftw.h>

#include "jobs/jobs.h"

struct conn;
struct jobs_run_post;

/* One run of a remote_execution or patch_run job. */
struct jobs_run {
	struct job *job;
	const json_t *params;
	json_t *targets;
	const char *command;
	const char *playbook_path;
	int concurrency, batch_size, max_fail, timeout;
	bool become;
	const char *become_user, *become_method;
	char *dir; /* private temporary directory */
	char *known_hosts; /* every target's recorded keys */
	pthread_mutex_t lock;
	pthread_mutex_t store_lock; /* host threads take turns writing items */
	size_t next, end; /* hosts [next, end) of the batch still to start */
	size_t started, ok, failed, unreachable;
	volatile int cancel;
	bool step; /* a playbook as a pre/post step: failures only, no items */
	json_t *pb_errors; /* host -> the last failure of a playbook */
	bool check; /* playbooks in check mode with diffs (drift) */
	char *task; /* the task running (playbook events) */
	json_t *changes; /* host -> [{task, diff?}] of changed results, when not NULL */
	void (*host_fn)(struct jobs_run *rx, const json_t *t); /* jobs_run_pool's work */
	void *ctx;
	/* What host threads hand to the job's thread, which alone writes the store (one
	 * transaction per drain; a host thread then needs no SQLite connection of its own). */
	pthread_cond_t posted_cond;
	struct jobs_run_post *posted, **posted_tail;
	size_t workers; /* host threads still running */
	json_t *fingerprints; /* host id (text) -> stored profile fingerprint */
};

/* A string member of a JSON object, or NULL. */
const char *jobs_run_str(const json_t *t, const char *k);
/* Write the known_hosts file of every target's recorded keys into rx->dir. */
int jobs_run_known_hosts(struct jobs_run *rx, struct dr_error *err);
/* {host_id, address} of a target, to build an item's data on. */
json_t *jobs_run_item(const json_t *t);
/* Set a host's item (serialised with the run's other writers). */
void jobs_run_item_set(
    struct jobs_run *rx, const char *host, const char *state, const json_t *data);
/* Output lines prefixed with "HOST: ". */
void jobs_run_output(struct jobs_run *rx, const char *host, const char *text, size_t len);
/* The last JOBS_HOST_OUTPUT_MAX bytes of text as a JSON string. */
json_t *jobs_run_capped(const char *s, size_t len);
/* Connect to a target (recorded keys; accept-new learns and records). */
int jobs_run_connect(
    struct jobs_run *rx, const json_t *t, struct conn **ret, struct dr_error *err);
/* Collect the package profile over c (a failure is reported in the output). */
void jobs_run_profile(struct jobs_run *rx, struct conn *c, const json_t *t);
/* Run the playbook at path on targets [from, to). */
int jobs_run_playbook(
    struct jobs_run *rx, const char *path, size_t from, size_t to, struct dr_error *err);
/* Check concurrency, batch_size, max_fail_percent, timeout, become* of params into rx. */
int jobs_run_settings(const json_t *p, struct jobs_run *rx, struct dr_error *err);
/* Run rx->host_fn on targets [from, to), up to rx->concurrency at a time; the calling
 * thread meanwhile stores what the host threads post. */
void jobs_run_pool(struct jobs_run *rx, size_t from, size_t to);
/* From a host thread: the host's item state and data (NULL: unchanged), output (already
 * "HOST: " prefixed; may be NULL) and a parsed profile (may be NULL), stored later by the
 * job's thread. Takes the references of data and profile. */
void jobs_run_post(struct jobs_run *rx, const json_t *t, const char *state, json_t *data,
    struct buf *output, json_t *profile);
/* The stored profile fingerprints of the targets, into rx->fingerprints. */
void jobs_run_fingerprints(struct jobs_run *rx);
/* After a batch: cancel the run when failures pass max_fail percent of the hosts run. */
void jobs_run_threshold(struct jobs_run *rx, size_t from, size_t total);
/* Mark hosts never started skipped (or cancelled), set the result; 0 when every host
 * succeeded, else -1 with err saying how many failed. */
int jobs_run_finish(struct jobs_run *rx, size_t total, struct dr_error *err);
/* nftw callback removing everything. */
int jobs_run_rm(const char *p, const struct stat *st, int flag, struct FTW *f);

/* patch.c */
void jobs_patch_register(void);

/* drift.c */
void jobs_drift_register(void);

#endif /* DROVER_JOBS_INT_H */
