/*
 * remote.c - remote execution: a command or a playbook on the hosts of a selection, in
 * serial batches of up to `concurrency` hosts at a time, stopping once failures pass the
 * threshold. Each host is a job item with its own result and output; droverd's SSH key
 * authenticates, recorded host keys are always verified (a host without one is learnt
 * only when its accept-new setting is on), and the package profile is collected over the
 * same connection at the end.
 */
#define LOG_COMPONENT "jobs"
#include "config.h"

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobs/jobs.h"
#include "jobs/jobs_int.h"
#include "playbooks/playbooks.h"

#define RX_CONNECT_TIMEOUT 10

const char *
jobs_run_str(const json_t *t, const char *k)
{
	return json_string_value(json_object_get(t, k));
}

/* "addr" or "[addr]:port" as known_hosts spells a host. */
static char *
rx_kh_name(const json_t *t)
{
	long long port = json_integer_value(json_object_get(t, "port"));
	return port == 22 || port == 0 ? xstrdup(jobs_run_str(t, "address"))
	                               : xasprintf("[%s]:%lld", jobs_run_str(t, "address"), port);
}

/* The known_hosts file of every target's recorded keys. */
int
jobs_run_known_hosts(struct jobs_run *rx, struct dr_error *err)
{
	struct buf out = BUF_INIT(0);
	size_t i;
	json_t *t;
	int r;

	buf_adds(&out, "");
	json_array_foreach(rx->targets, i, t)
	{
		_cleanup_free_ char *keys = xstrdup(jobs_run_str(t, "host_keys"));
		_cleanup_free_ char *name = rx_kh_name(t);
		char *line, *save = NULL;
		for (line = strtok_r(keys, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (*str_trim(line) != '\0')
				buf_addf(&out, "%s %s\n", name, line);
	}
	rx->known_hosts = xasprintf("%s/known_hosts", rx->dir);
	r = file_write_atomic(rx->known_hosts, out.data, out.len, 0600, err);
	buf_free(&out);
	return r;
}

/* Item data for a host, with the common fields. */
json_t *
jobs_run_item(const json_t *t)
{
	return json_pack("{s:O, s:O}", "host_id", json_object_get(t, "id"), "address",
	    json_object_get(t, "address"));
}

/* Set a host's item; the run's writers take turns (see jobs_profile_store). */
void
jobs_run_item_set(struct jobs_run *rx, const char *host, const char *state, const json_t *data)
{
	pthread_mutex_lock(&rx->store_lock);
	job_item_set(rx->job, host, state, data);
	pthread_mutex_unlock(&rx->store_lock);
}

/* Write text to the job's output, each line prefixed with the host's name. */
void
jobs_run_output(struct jobs_run *rx, const char *host, const char *text, size_t len)
{
	struct buf b = BUF_INIT(0);
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		buf_addf(&b, "%s: ", host);
		buf_add(&b, p, n);
		buf_addc(&b, '\n');
		p += n + 1;
	}
	if (b.len > 0)
		job_write(rx->job, b.data, b.len);
	buf_free(&b);
}

/* Text capped for an item: the last JOBS_HOST_OUTPUT_MAX bytes. */
json_t *
jobs_run_capped(const char *s, size_t len)
{
	size_t cut = 0;
	if (len > JOBS_HOST_OUTPUT_MAX) {
		cut = len - JOBS_HOST_OUTPUT_MAX;
		while (cut < len && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut++;
	}
	_cleanup_free_ char *clean = store_utf8_clean(s + cut, len - cut, NULL);
	return json_string(clean);
}

/*
 * Open an SSH connection to a target: its recorded keys only, or, when none is recorded
 * and the host's accept-new setting is on, learn the key it offers and record it.
 */
int
jobs_run_connect(struct jobs_run *rx, const json_t *t, struct conn **ret, struct dr_error *err)
{
	bool learn = *jobs_run_str(t, "host_keys") == '\0';
	_cleanup_free_ char *learnt = NULL;
	struct conn_opts o = {
	    .host = jobs_run_str(t, "name"),
	    .address = jobs_run_str(t, "address"),
	    .port = (int)json_integer_value(json_object_get(t, "port")),
	    .user = jobs_run_str(t, "user"),
	    .private_key_file = jobs_identity_path(),
	    .known_hosts_file = rx->known_hosts,
	    .connect_timeout = RX_CONNECT_TIMEOUT,
	};

	if (jobs_identity_path() == NULL)
		return dr_error_set(err, "droverd's SSH key is not loaded");
	if (learn && !json_is_true(json_object_get(t, "accept_new")))
		return dr_error_set(err,
		    "host %s: no SSH host key recorded; record it with drover host update %s "
		    "--ssh-host-key 'TYPE KEY' (or allow --ssh-accept-new on)",
		    o.host, o.host);
	if (learn) {
		learnt = xasprintf("%s/learn-%lld", rx->dir,
		    (long long)json_integer_value(json_object_get(t, "id")));
		(void)unlink(learnt);
		o.known_hosts_file = learnt;
		o.accept_new_host_key = true;
	}
	if (conn_open("ssh", &o, ret, err) < 0)
		return -1;
	if (learn) {
		_cleanup_free_ char *text = NULL;
		struct buf keys = BUF_INIT(JOBS_SSH_KEY_MAX);
		char *line, *save = NULL;
		if (file_read(learnt, JOBS_SSH_KEY_MAX, &text, NULL, err) < 0) {
			conn_close(*ret);
			return -1;
		}
		/* known_hosts lines are "NAME TYPE BASE64": keep "TYPE BASE64". */
		for (line = strtok_r(text, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char *sp = strchr(line, ' ');
			if (sp != NULL)
				buf_addf(&keys, "%s\n", sp + 1);
		}
		int r = jobs_host_ssh_set(o.host, keys.data != NULL ? keys.data : "", -1,
		    "(accept-new)", NULL, NULL, err);
		buf_free(&keys);
		if (r < 0) {
			conn_close(*ret);
			return -1;
		}
		job_printf(rx->job, "%s: host key learnt and recorded (accept-new)\n", o.host);
	}
	return 0;
}

/* The package profile at the end of a job on the host; a failure is only reported. */
void
jobs_run_profile(struct jobs_run *rx, struct conn *c, const json_t *t)
{
	struct dr_error err;

	/* As root when the job became someone (dpkg and rpm need no root to list). */
	conn_become_set(c, &(struct conn_become){.enabled = false});
	if (jobs_profile_collect(
	        c, json_integer_value(json_object_get(t, "id")), job_id(rx->job), &err) < 0)
		job_printf(rx->job, "%s: package profile not collected: %s\n",
		    jobs_run_str(t, "name"), err.msg);
}

/* Run the command on one host. */
static void
rx_command_host(struct jobs_run *rx, const json_t *t)
{
	const char *name = jobs_run_str(t, "name");
	_cleanup_json_ json_t *data = jobs_run_item(t);
	struct conn_result res = {0};
	struct conn *c = NULL;
	struct dr_error err = {{0}};
	int64_t t0 = time_mono_us();
	const char *state;

	json_object_set_new(data, "started_at", json_integer(time(NULL)));
	jobs_run_item_set(rx, name, "running", data);
	if (jobs_run_connect(rx, t, &c, &err) < 0) {
		state = "unreachable";
		json_object_set_new(data, "error", json_string(err.msg));
		jobs_run_output(rx, name, err.msg, strlen(err.msg));
		goto out;
	}
	struct conn_become b = {
	    .enabled = rx->become, .method = rx->become_method, .user = rx->become_user};
	conn_become_set(c, &b);
	if (conn_exec(c, rx->command, NULL, 0, rx->timeout, &res, &err) < 0) {
		state = conn_broken(c) ? "unreachable" : "failed";
		json_object_set_new(data, "error", json_string(err.msg));
		jobs_run_output(rx, name, err.msg, strlen(err.msg));
		goto out;
	}
	jobs_run_output(rx, name, res.out, res.out_len);
	jobs_run_output(rx, name, res.err, res.err_len);
	json_object_set_new(data, "exit_status", json_integer(res.status));
	json_object_set_new(data, "stdout", jobs_run_capped(res.out, res.out_len));
	json_object_set_new(data, "stderr", jobs_run_capped(res.err, res.err_len));
	state = res.status == 0 ? "success" : "failed";
	if (res.status != 0) {
		char msg[64];
		snprintf(msg, sizeof msg, "exit status %d", res.status);
		json_object_set_new(data, "error", json_string(msg));
	}
	jobs_run_profile(rx, c, t);
out:
	conn_result_free(&res);
	conn_close(c);
	json_object_set_new(data, "finished_at", json_integer(time(NULL)));
	json_object_set_new(data, "duration_ms", json_integer((time_mono_us() - t0) / 1000));
	jobs_run_item_set(rx, name, state, data);
	pthread_mutex_lock(&rx->lock);
	if (strcmp(state, "success") == 0)
		rx->ok++;
	else if (strcmp(state, "unreachable") == 0)
		rx->unreachable++;
	else
		rx->failed++;
	size_t done = rx->ok + rx->failed + rx->unreachable;
	pthread_mutex_unlock(&rx->lock);
	job_printf(rx->job, "%s: %s [%zu/%zu]\n", name, state, done, json_array_size(rx->targets));
}

/* A worker of a batch: take the next host until the batch is done. */
static void *
rx_worker(void *arg)
{
	struct jobs_run *rx = arg;

	for (;;) {
		size_t i;
		pthread_mutex_lock(&rx->lock);
		if (rx->next >= rx->end || rx->cancel || job_cancelled(rx->job)) {
			pthread_mutex_unlock(&rx->lock);
			return NULL;
		}
		i = rx->next++;
		rx->started++;
		pthread_mutex_unlock(&rx->lock);
		rx->host_fn(rx, json_array_get(rx->targets, i));
	}
}

/* Run rx->host_fn on hosts [from, to) with up to concurrency threads. */
void
jobs_run_pool(struct jobs_run *rx, size_t from, size_t to)
{
	size_t n = to - from < (size_t)rx->concurrency ? to - from : (size_t)rx->concurrency;
	pthread_t *th = xcalloc(n, sizeof *th);
	size_t started = 0;

	rx->next = from;
	rx->end = to;
	for (size_t i = 0; i < n; i++) {
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setstacksize(&a, 1 << 20);
		if (pthread_create(&th[started], &a, rx_worker, rx) == 0)
			started++;
		pthread_attr_destroy(&a);
	}
	if (started == 0)
		rx_worker(rx);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
}

static void rx_play_event_locked(struct jobs_run *rx, const char *kind, const json_t *ev);

/* Playbook events: task names and each host's result as output lines. */
static void
rx_play_event(void *ctx, const json_t *ev)
{
	struct jobs_run *rx = ctx;
	const char *kind = jobs_run_str(ev, "event");

	pthread_mutex_lock(&rx->lock);
	rx_play_event_locked(rx, kind, ev);
	pthread_mutex_unlock(&rx->lock);
}

/* rx_play_event with the run's lock held. */
static void
rx_play_event_locked(struct jobs_run *rx, const char *kind, const json_t *ev)
{
	if (job_cancelled(rx->job))
		rx->cancel = 1;
	if (strcmp(kind, "task_start") == 0) {
		free(rx->task);
		rx->task = xstrdup(jobs_run_str(ev, "task") ? jobs_run_str(ev, "task") : "");
		job_printf(rx->job, "TASK [%s]\n", rx->task);
	} else if (strcmp(kind, "host_result") == 0) {
		const char *host = jobs_run_str(ev, "host"), *status = jobs_run_str(ev, "status");
		const json_t *res = json_object_get(ev, "result");
		const char *msg = jobs_run_str(res, "msg");
		const char *out = jobs_run_str(res, "stdout");
		job_printf(rx->job, "%s: %s%s%s\n", host, status, msg ? ": " : "", msg ? msg : "");
		if (out != NULL && *out)
			jobs_run_output(rx, host, out, strlen(out));
		if (rx->changes != NULL && strcmp(status, "changed") == 0) {
			json_t *l = json_object_get(rx->changes, host);
			if (l == NULL)
				json_object_set_new(rx->changes, host, l = json_array());
			json_t *c = json_pack("{s:s}", "task", rx->task ? rx->task : "");
			if (json_object_get(res, "diff"))
				json_object_set(c, "diff", json_object_get(res, "diff"));
			json_array_append_new(l, c);
		}
		if (strcmp(status, "failed") == 0 || strcmp(status, "unreachable") == 0)
			json_object_set_new(rx->pb_errors, host, json_string(msg ? msg : status));
	} else if (strcmp(kind, "warning") == 0) {
		job_printf(rx->job, "[WARNING]: %s\n", jobs_run_str(ev, "msg"));
	} else if (strcmp(kind, "recap") == 0 && !rx->step) {
		const char *h;
		json_t *s;
		json_object_foreach(json_object_get(ev, "hosts"), h, s)
		{
			const json_t *t = NULL;
			size_t i;
			json_t *x;
			json_array_foreach(
			    rx->targets, i, x) if (strcmp(jobs_run_str(x, "name"), h) == 0) t = x;
			if (t == NULL)
				continue;
			_cleanup_json_ json_t *data = jobs_run_item(t);
			const char *state = json_integer_value(json_object_get(s, "unreachable"))
			    ? "unreachable"
			    : json_integer_value(json_object_get(s, "failed")) ? "failed"
			                                                       : "success";
			json_object_set(data, "recap", s);
			json_object_set_new(data, "finished_at", json_integer(time(NULL)));
			if (json_object_get(rx->pb_errors, h))
				json_object_set(data, "error", json_object_get(rx->pb_errors, h));
			job_item_set(rx->job, h, state, data);
			if (strcmp(state, "success") == 0)
				rx->ok++;
			else if (strcmp(state, "failed") == 0)
				rx->failed++;
			else
				rx->unreachable++;
			job_printf(rx->job, "%s: %s [%zu/%zu]\n", h, state,
			    rx->ok + rx->failed + rx->unreachable, json_array_size(rx->targets));
		}
	}
}

/* Run the playbook on hosts [from, to): one play run over an inventory of the batch. */
int
jobs_run_playbook(
    struct jobs_run *rx, const char *path, size_t from, size_t to, struct dr_error *err)
{
	struct playbook *pb = NULL;
	struct inventory inv;
	_cleanup_json_ json_t *extra = json_object();
	struct play_opts o = {
	    .forks = rx->concurrency,
	    .event = rx_play_event,
	    .event_ctx = rx,
	    .cancel = &rx->cancel,
	    .extra_vars = extra,
	    .check = rx->check,
	    .diff = rx->check,
	};
	size_t n = 0;
	int prc, r = -1;

	inventory_init(&inv);
	for (size_t i = from; i < to; i++) {
		const json_t *t = json_array_get(rx->targets, i);
		const char *name = jobs_run_str(t, "name");
		struct conn *c = NULL;
		struct dr_error cerr;

		if (!rx->step)
			rx->started++;
		if (rx->step && json_object_get(rx->pb_errors, name))
			continue;
		if (*jobs_run_str(t, "host_keys") == '\0') {
			/* Learn (accept-new) or refuse before the play: the play verifies. */
			if (jobs_run_connect(rx, t, &c, &cerr) < 0 && rx->step) {
				json_object_set_new(rx->pb_errors, name, json_string(cerr.msg));
				jobs_run_output(rx, name, cerr.msg, strlen(cerr.msg));
				continue;
			} else if (c == NULL) {
				_cleanup_json_ json_t *data = jobs_run_item(t);
				json_object_set_new(data, "error", json_string(cerr.msg));
				job_item_set(rx->job, name, "unreachable", data);
				jobs_run_output(rx, name, cerr.msg, strlen(cerr.msg));
				rx->unreachable++;
				continue;
			}
			conn_close(c);
			json_t *again = NULL;
			_cleanup_json_ json_t *ids = json_pack("[O]", json_object_get(t, "id"));
			if (jobs_targets_by_id(ids, &again, &cerr) == 0 &&
			    json_array_size(again) == 1)
				json_array_set(rx->targets, i, json_array_get(again, 0));
			json_decref(again);
			t = json_array_get(rx->targets, i);
			free(rx->known_hosts);
			if (jobs_run_known_hosts(rx, err) < 0)
				goto out;
		}
		inventory_host_add(&inv, name, "targets");
		json_t *vars = json_object_get(json_object_get(inv.hosts, name), "vars");
		json_object_set_new(vars, "ansible_host", json_string(jobs_run_str(t, "address")));
		json_object_set(vars, "ansible_port", json_object_get(t, "port"));
		json_object_set_new(vars, "ansible_user", json_string(jobs_run_str(t, "user")));
		json_object_set_new(
		    vars, "ansible_ssh_private_key_file", json_string(jobs_identity_path()));
		json_object_set_new(
		    vars, "ansible_ssh_known_hosts_file", json_string(rx->known_hosts));
		if (!rx->step) {
			_cleanup_json_ json_t *data = jobs_run_item(t);
			json_object_set_new(data, "started_at", json_integer(time(NULL)));
			job_item_set(rx->job, name, "running", data);
		}
		n++;
	}
	if (n == 0) {
		r = 0;
		goto out;
	}
	if (rx->become) {
		json_object_set_new(extra, "ansible_become", json_true());
		json_object_set_new(extra, "ansible_become_user", json_string(rx->become_user));
		json_object_set_new(
		    extra, "ansible_become_method", json_string(rx->become_method));
	}
	if (playbook_load(path, NULL, &pb, err) < 0)
		goto out;
	prc = play_run(pb, &inv, &o, err);
	if (prc == PLAY_RC_ERROR || prc == PLAY_RC_PARSE)
		goto out;
	/* Profiles: one more short connection per host that was reached. */
	for (size_t i = from; i < to && !rx->step; i++) {
		const json_t *t = json_array_get(rx->targets, i);
		struct conn *c = NULL;
		struct dr_error cerr;
		if (!json_object_get(inv.hosts, jobs_run_str(t, "name")) ||
		    json_object_get(rx->pb_errors, jobs_run_str(t, "name")) || rx->cancel)
			continue;
		if (jobs_run_connect(rx, t, &c, &cerr) == 0)
			jobs_run_profile(rx, c, t);
		conn_close(c);
	}
	r = 0;
out:
	playbook_free(pb);
	inventory_free(&inv);
	return r;
}

int
jobs_run_rm(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

/* An integer param within [min, max] (def when absent). */
static int
rx_int(const json_t *params, const char *key, long long min, long long max, long long def,
    int *ret, struct dr_error *err)
{
	const json_t *v = json_object_get(params, key);
	long long x = def;

	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < min ||
		    json_integer_value(v) > max)
			return dr_error_set(
			    err, "%s: expected an integer from %lld to %lld", key, min, max);
		x = json_integer_value(v);
	}
	*ret = (int)x;
	return 0;
}

/* Check the run's settings (shared by the API and the job itself: schedules store any
 * params). */
int
jobs_run_settings(const json_t *p, struct jobs_run *rx, struct dr_error *err)
{
	const json_t *bu = json_object_get(p, "become_user");

	if (rx_int(p, "concurrency", 1, JOBS_CONCURRENCY_MAX, JOBS_CONCURRENCY_DEFAULT,
	        &rx->concurrency, err) < 0 ||
	    rx_int(p, "batch_size", 0, JOBS_TARGETS_MAX, 0, &rx->batch_size, err) < 0 ||
	    rx_int(p, "max_fail_percent", 0, 100, 100, &rx->max_fail, err) < 0 ||
	    rx_int(p, "timeout", 0, 7 * 86400, 0, &rx->timeout, err) < 0)
		return -1;
	if (json_object_get(p, "become") && !json_is_boolean(json_object_get(p, "become")))
		return dr_error_set(err, "become: expected true or false");
	rx->become = json_is_true(json_object_get(p, "become"));
	if (bu != NULL &&
	    (!json_is_string(bu) || json_string_length(bu) == 0 || json_string_length(bu) > 64 ||
	        strspn(json_string_value(bu),
	            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	            "._-") != json_string_length(bu)))
		return dr_error_set(err, "become_user: expected a user name");
	rx->become_user = bu != NULL ? json_string_value(bu) : "root";
	const json_t *bm = json_object_get(p, "become_method");
	if (bm != NULL &&
	    (!json_is_string(bm) ||
	        (strcmp(json_string_value(bm), "sudo") != 0 &&
	            strcmp(json_string_value(bm), "su") != 0)))
		return dr_error_set(err, "become_method: expected sudo or su");
	rx->become_method = bm != NULL ? json_string_value(bm) : "sudo";
	return 0;
}

/* After a batch ending before host total: stop the run (cancel) when more hosts failed
 * than max_fail percent of those run so far. */
void
jobs_run_threshold(struct jobs_run *rx, size_t from, size_t total)
{
	size_t bad = rx->failed + rx->unreachable, done = rx->ok + bad;

	if (from < total && done > 0 && (double)bad * 100.0 / (double)done > (double)rx->max_fail) {
		job_printf(rx->job, "stopping: %zu of %zu hosts failed, more than the %d%% allowed\n",
		    bad, done, rx->max_fail);
		rx->cancel = 1;
	}
}

/* Mark the hosts never started (skipped by the threshold, or cancelled), set the result
 * and say how the run ended. */
int
jobs_run_finish(struct jobs_run *rx, size_t total, struct dr_error *err)
{
	struct job *job = rx->job;
	bool cancelled = job_cancelled(job);
	_cleanup_json_ json_t *items = job_get(job_id(job));
	json_t *t;
	size_t i;

	json_array_foreach(json_object_get(items, "items"), i, t)
	{
		const char *st = jobs_run_str(t, "state");
		if (strcmp(st, "pending") == 0 || strcmp(st, "running") == 0)
			job_item_set(job, jobs_run_str(t, "item"),
			    cancelled ? "cancelled" : "skipped", json_object_get(t, "data"));
	}
	size_t skipped = total - (rx->ok + rx->failed + rx->unreachable);
	job_result_set(job,
	    json_pack("{s:I, s:I, s:I, s:I, s:I}", "hosts", (json_int_t)total, "success",
	        (json_int_t)rx->ok, "failed", (json_int_t)rx->failed, "unreachable",
	        (json_int_t)rx->unreachable, "skipped", (json_int_t)skipped));
	job_printf(job, "%zu host%s: %zu success, %zu failed, %zu unreachable, %zu %s\n", total,
	    total == 1 ? "" : "s", rx->ok, rx->failed, rx->unreachable, skipped,
	    cancelled ? "cancelled" : "skipped");
	if (cancelled)
		return dr_error_set(err, "cancelled");
	if (rx->failed + rx->unreachable + skipped > 0)
		return dr_error_set(err, "%zu of %zu hosts failed%s", rx->failed + rx->unreachable,
		    total, skipped ? " (the rest were skipped)" : "");
	return 0;
}

/* The job. */
static int
rx_run(struct job *job, struct dr_error *err)
{
	const json_t *p = job_params(job);
	struct jobs_run rx = {.job = job, .params = p};
	char tmpl[] = "/tmp/drover-rx-XXXXXX";
	const char *yaml = jobs_run_str(p, "playbook_yaml");
	size_t total, from;
	int rc = -1;

	pthread_mutex_init(&rx.lock, NULL);
	pthread_mutex_init(&rx.store_lock, NULL);
	rx.pb_errors = json_object();
	vars_init();
	if (!json_is_object(p)) {
		dr_error_set(err, "params: expected an object");
		goto out;
	}
	rx.command = jobs_run_str(p, "command");
	rx.host_fn = rx_command_host;
	if ((rx.command == NULL) == (yaml == NULL)) {
		dr_error_set(err, "params: give command or playbook_yaml (one of them)");
		goto out;
	}
	if (jobs_run_settings(p, &rx, err) < 0)
		goto out;
	/* hosts (ids from the API, or names in a schedule's params), else the search. */
	if (jobs_targets_select(p, &rx.targets, err) < 0)
		goto out;
	if ((total = json_array_size(rx.targets)) == 0) {
		dr_error_set(err, "no host matches the selection");
		goto out;
	}
	if (!(rx.dir = mkdtemp(tmpl))) {
		dr_error_errno(err, "temporary directory");
		goto out;
	}
	rx.dir = xstrdup(rx.dir);
	if (jobs_run_known_hosts(&rx, err) < 0)
		goto out;
	if (yaml != NULL) {
		char *pbp = xasprintf("%s/playbook.yml", rx.dir);
		if (file_write_atomic(pbp, yaml, strlen(yaml), 0600, err) < 0) {
			free(pbp);
			goto out;
		}
		rx.playbook_path = pbp;
	}
	for (size_t i = 0; i < total; i++) {
		_cleanup_json_ json_t *d = jobs_run_item(json_array_get(rx.targets, i));
		job_item_set(
		    job, jobs_run_str(json_array_get(rx.targets, i), "name"), "pending", d);
	}
	job_printf(job, "%s on %zu host%s (concurrency %d%s)\n",
	    rx.command ? "command" : "playbook", total, total == 1 ? "" : "s", rx.concurrency,
	    rx.batch_size ? ", in batches" : "");
	for (from = 0; from < total && !rx.cancel && !job_cancelled(job);) {
		size_t to = rx.batch_size > 0 && from + (size_t)rx.batch_size < total
		    ? from + (size_t)rx.batch_size
		    : total;
		if (rx.batch_size > 0)
			job_printf(job, "batch: hosts %zu-%zu of %zu\n", from + 1, to, total);
		if (rx.command)
			jobs_run_pool(&rx, from, to);
		else if (jobs_run_playbook(&rx, rx.playbook_path, from, to, err) < 0)
			goto out;
		from = to;
		jobs_run_threshold(&rx, from, total);
	}
	rc = jobs_run_finish(&rx, total, err);
out:
	if (rx.dir != NULL) {
		nftw(rx.dir, jobs_run_rm, 8, FTW_DEPTH | FTW_PHYS);
		free(rx.dir);
	}
	free(rx.known_hosts);
	free(rx.task);
	free((char *)rx.playbook_path);
	json_decref(rx.targets);
	json_decref(rx.pb_errors);
	pthread_mutex_destroy(&rx.lock);
	pthread_mutex_destroy(&rx.store_lock);
	return rc;
}

static const struct job_kind rx_kind = {
    .name = "remote_execution",
    .run = rx_run,
};

/* Register the remote_execution job kind. */
void
jobs_remote_register(void)
{
	job_kind_register(&rx_kind);
}

/* Turn an API body into job params. */
int
jobs_remote_params(const json_t *body, json_t **ret, json_t *invalid, struct dr_error *err)
{
	static const char *const keys[] = {"command", "playbook", "playbook_yaml", "search",
	    "hostgroup", "hosts", "concurrency", "batch_size", "max_fail_percent", "timeout",
	    "become", "become_user", "become_method"};
	_cleanup_json_ json_t *p = json_object(), *targets = NULL, *ids = NULL;
	const char *cmd = jobs_run_str(body, "command"),
	           *yaml = jobs_run_str(body, "playbook_yaml");
	const json_t *pbname = json_object_get(body, "playbook");
	struct jobs_run probe = {0};
	const char *k;
	json_t *v;
	size_t i;
	int given = 0;

	if (!json_is_object(body))
		return dr_error_set(err, "expected a JSON object");
	json_object_foreach((json_t *)body, k, v)
	{
		bool known = false;
		for (i = 0; i < nitems(keys); i++)
			known |= strcmp(k, keys[i]) == 0;
		if (!known)
			json_object_set_new(invalid, k, json_string("unknown field"));
	}
	given = (json_object_get(body, "command") != NULL) + (pbname != NULL) + (yaml != NULL);
	if (given != 1)
		json_object_set_new(invalid, "command",
		    json_string(
		        "give one of command, playbook (a library name) or playbook_yaml"));
	if (json_object_get(body, "command") != NULL &&
	    (cmd == NULL || *cmd == '\0' || strlen(cmd) > JOBS_COMMAND_MAX))
		json_object_set_new(invalid, "command",
		    json_string("expected a shell command line of at most 64 KiB"));
	if (yaml != NULL && jobs_library_check("playbook_yaml", yaml, err) < 0)
		json_object_set_new(invalid, "playbook_yaml", json_string(err->msg));
	if (pbname != NULL) {
		const char *name = json_string_value(pbname);
		_cleanup_free_ char *copy = name ? xstrdup(name) : NULL;
		char *at = copy ? strchr(copy, '@') : NULL;
		long long ver = 0;
		if (at != NULL) {
			*at++ = '\0';
			if (str_to_ll(at, 1, INT64_MAX, &ver) < 0)
				copy = (free(copy), NULL);
		}
		_cleanup_json_ json_t *pb = copy ? jobs_library_get(copy, ver) : NULL;
		if (pb == NULL)
			json_object_set_new(invalid, "playbook",
			    json_string(name ? "no such playbook (or version) in the library"
			                     : "expected NAME or NAME@VERSION"));
		else {
			json_object_set(p, "playbook_yaml", json_object_get(pb, "content"));
			json_object_set(p, "playbook_name", json_object_get(pb, "name"));
			json_object_set(p, "playbook_version", json_object_get(pb, "version"));
		}
	} else if (yaml != NULL)
		json_object_set_new(p, "playbook_yaml", json_string(yaml));
	else if (cmd != NULL)
		json_object_set_new(p, "command", json_string(cmd));
	if (jobs_run_settings(body, &probe, err) < 0) {
		char field[64];
		snprintf(field, sizeof field, "%.*s", (int)strcspn(err->msg, ":"), err->msg);
		json_object_set_new(invalid, field, json_string(strchr(err->msg, ':') + 2));
	}
	for (i = 6; i < nitems(keys); i++)
		if ((v = json_object_get(body, keys[i])) != NULL)
			json_object_set(p, keys[i], v);
	if (json_object_size(invalid) > 0)
		return dr_error_set(err, "invalid remote execution request");
	for (i = 3; i < 6; i++)
		if ((v = json_object_get(body, keys[i])) != NULL) {
			if (i < 5 && !json_is_string(v)) {
				json_object_set_new(
				    invalid, keys[i], json_string("expected text"));
				return dr_error_set(err, "%s: expected text", keys[i]);
			}
			if (i < 5)
				json_object_set(p, keys[i], v);
		}
	if (jobs_targets_select(body, &targets, err) < 0) {
		const char *f = json_object_get(body, "search") ? "search"
		    : json_object_get(body, "hostgroup")        ? "hostgroup"
		                                                : "hosts";
		size_t fl = strlen(f);
		bool named = strncmp(err->msg, f, fl) == 0 && strncmp(err->msg + fl, ": ", 2) == 0;
		json_object_set_new(invalid, f, json_string(err->msg + (named ? fl + 2 : 0)));
		return -1;
	}
	if (json_array_size(targets) == 0) {
		const char *f = json_object_get(body, "search") ? "search"
		    : json_object_get(body, "hostgroup")        ? "hostgroup"
		                                                : "hosts";
		json_object_set_new(invalid, f, json_string("matches no host"));
		return dr_error_set(err, "%s matches no host", f);
	}
	ids = json_array();
	json_array_foreach(targets, i, v) json_array_append(ids, json_object_get(v, "id"));
	json_object_set(p, "hosts", ids);
	*ret = TAKE_PTR(p);
	return 0;
}

/* Params re-running job id on its failed hosts (or all of them). */
int
jobs_remote_rerun_params(int64_t id, bool failed_only, json_t **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *job = job_get(id), *p = NULL;
	json_t *ids, *it;
	const char *state;
	size_t i;

	if (job == NULL || strcmp(jobs_run_str(job, "kind"), "remote_execution") != 0) {
		dr_error_set(err, "no remote execution job %lld", (long long)id);
		return -404;
	}
	state = jobs_run_str(job, "state");
	if (strcmp(state, "queued") == 0 || strcmp(state, "running") == 0) {
		dr_error_set(err, "job %lld is still %s", (long long)id, state);
		return -409;
	}
	p = json_deep_copy(json_object_get(job, "params"));
	ids = json_array();
	json_array_foreach(json_object_get(job, "items"), i, it)
	{
		const char *s = jobs_run_str(it, "state");
		const json_t *hid = json_object_get(json_object_get(it, "data"), "host_id");
		if (!json_is_integer(hid))
			continue;
		if (!failed_only || strcmp(s, "failed") == 0 || strcmp(s, "unreachable") == 0 ||
		    strcmp(s, "skipped") == 0 || strcmp(s, "cancelled") == 0)
			json_array_append(ids, (json_t *)hid);
	}
	if (json_array_size(ids) == 0) {
		json_decref(ids);
		dr_error_set(err, "job %lld has no failed host to run again", (long long)id);
		return -409;
	}
	json_object_del(p, "search");
	json_object_del(p, "hostgroup");
	json_object_set_new(p, "hosts", ids);
	json_object_set_new(p, "rerun_of", json_integer(id));
	*ret = TAKE_PTR(p);
	return 0;
}
