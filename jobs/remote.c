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
#include <sys/random.h>
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

/* Append text to b, each line prefixed with the host's name. */
static void
rx_prefix(struct buf *b, const char *host, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		buf_addf(b, "%s: ", host);
		buf_add(b, p, n);
		buf_addc(b, '\n');
		p += n + 1;
	}
}

/* Write text to the job's output, each line prefixed with the host's name. */
void
jobs_run_output(struct jobs_run *rx, const char *host, const char *text, size_t len)
{
	struct buf b = BUF_INIT(0);

	rx_prefix(&b, host, text, len);
	if (b.len > 0)
		job_write(rx->job, b.data, b.len);
	buf_free(&b);
}

/* What a host thread hands to the job's thread. */
struct jobs_run_post {
	struct jobs_run_post *next;
	char *host;
	int64_t host_id;
	char *state;
	json_t *data, *profile;
	struct buf output;
};

/* Queue a host's news for the job's thread (see jobs_run_pool). */
void
jobs_run_post(struct jobs_run *rx, const json_t *t, const char *state, json_t *data,
    struct buf *output, json_t *profile)
{
	struct jobs_run_post *p = xcalloc(1, sizeof *p);

	p->host = xstrdup(jobs_run_str(t, "name"));
	p->host_id = json_integer_value(json_object_get(t, "id"));
	p->state = state ? xstrdup(state) : NULL;
	p->data = data;
	p->profile = profile;
	p->output = BUF_INIT(0);
	if (output != NULL) {
		p->output = *output;
		*output = BUF_INIT(0);
	}
	pthread_mutex_lock(&rx->lock);
	if (rx->posted_tail == NULL)
		rx->posted_tail = &rx->posted;
	*rx->posted_tail = p;
	rx->posted_tail = &p->next;
	pthread_cond_signal(&rx->posted_cond);
	pthread_mutex_unlock(&rx->lock);
}

/*
 * Store a list of posts, then free them: the items in one transaction, the profiles in
 * another (jobs_profile_store_many), then the output. No job lock is taken inside a
 * transaction (the output flusher holds it while it waits for the write lock).
 */
static void
rx_store_posts(struct jobs_run *rx, struct jobs_run_post *list)
{
	_cleanup_json_ json_t *profiles = json_array(), *errors = json_object();
	struct dr_error err;
	struct jobs_run_post *p, *next;
	bool tx = store_begin(&err) == 0;

	for (p = list; p != NULL; p = p->next) {
		if (p->state != NULL)
			job_item_set(rx->job, p->host, p->state, p->data);
		if (p->profile != NULL)
			json_array_append_new(profiles, json_pack("{s:I, s:O}", "host_id",
			    (json_int_t)p->host_id, "profile", p->profile));
	}
	if (tx && store_commit(&err) < 0)
		job_printf(rx->job, "results not stored: %s\n", err.msg);
	if (json_array_size(profiles) > 0 &&
	    jobs_profile_store_many(profiles, job_id(rx->job), errors, &err) < 0)
		job_printf(rx->job, "package profiles not stored: %s\n", err.msg);
	for (p = list; p != NULL; p = next) {
		char key[32];
		next = p->next;
		snprintf(key, sizeof key, "%lld", (long long)p->host_id);
		if (json_object_get(errors, key) != NULL)
			job_printf(rx->job, "%s: package profile not collected: %s\n", p->host,
			    json_string_value(json_object_get(errors, key)));
		if (p->output.len > 0)
			job_write(rx->job, p->output.data, p->output.len);
		buf_free(&p->output);
		json_decref(p->data);
		json_decref(p->profile);
		free(p->host);
		free(p->state);
		free(p);
	}
}

/* The stored fingerprints of the targets' profiles: host threads read them without the
 * store. */
void
jobs_run_fingerprints(struct jobs_run *rx)
{
	_cleanup_json_ json_t *ids = json_array(), *rows = NULL;
	struct dr_error err;
	size_t i;
	json_t *t;

	json_decref(rx->fingerprints);
	rx->fingerprints = json_object();
	json_array_foreach(rx->targets, i, t) json_array_append(ids, json_object_get(t, "id"));
	if (store_queryf(&rows, &err,
	        "SELECT host_id, fingerprint FROM jobs_host_profiles"
	        " WHERE host_id IN (SELECT value FROM json_each(?))",
	        "[O]", ids) < 0)
		return; /* every host then lists its packages in full */
	json_array_foreach(rows, i, t)
	{
		char key[32];
		snprintf(key, sizeof key, "%lld",
		    (long long)json_integer_value(json_object_get(t, "host_id")));
		if (json_is_string(json_object_get(t, "fingerprint")))
			json_object_set(rx->fingerprints, key, json_object_get(t, "fingerprint"));
	}
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

/*
 * The command and the package profile in one round trip: the user's login shell runs the
 * command (as sshd would), then a line with a per-host random marker and the exit status,
 * then the profile script's output. Under become the command goes alone and the profile
 * follows in a second round trip (as root, not as the become user).
 */
static const char rx_wrap_sh[] = "\"${SHELL:-/bin/sh}\" -c \"$1\" </dev/null\n"
                                 "s=$?\n"
                                 "printf '\\n%s %s\\n' \"$2\" \"$s\"\n";

/* A random marker the command cannot guess. */
static void
rx_marker(char out[40])
{
	unsigned char r[16] = {0};
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		for (i = 0; i < sizeof r; i++)
			r[i] = (unsigned char)(rand() ^ (int)time_mono_us());
	memcpy(out, "drover-", 7);
	for (i = 0; i < sizeof r; i++) {
		out[7 + 2 * i] = hex[r[i] >> 4];
		out[8 + 2 * i] = hex[r[i] & 15];
	}
	out[39] = '\0';
}

/* Split the wrapped output: the command's stdout stays in res, its status goes to
 * *status, the profile's text to *prof. 0, or -1 when the marker line is missing. */
static int
rx_split(struct conn_result *res, const char *marker, int *status, char **prof, size_t *prof_len)
{
	size_t ml = strlen(marker);
	char *hit = NULL, *p = res->out, *end = res->out + res->out_len;

	while ((p = memmem(p, (size_t)(end - p), marker, ml)) != NULL) {
		if (p > res->out && p[-1] == '\n' && p + ml < end && p[ml] == ' ')
			hit = p;
		p += ml;
	}
	if (hit == NULL)
		return -1;
	char *nl = memchr(hit, '\n', (size_t)(end - hit));
	long long st;
	_cleanup_free_ char *num = xstrndup(hit + ml + 1,
	    nl ? (size_t)(nl - hit - (ptrdiff_t)ml - 1) : (size_t)(end - hit) - ml - 1);
	if (str_to_ll(num, 0, 255, &st) < 0)
		return -1;
	*status = (int)st;
	*prof = nl ? nl + 1 : end;
	*prof_len = (size_t)(end - *prof);
	res->out_len = (size_t)(hit - 1 - res->out); /* the marker's own newline */
	return 0;
}

/* Run the command on one host (a host thread: no store access, everything is posted). */
static void
rx_command_host(struct jobs_run *rx, const json_t *t)
{
	const char *name = jobs_run_str(t, "name");
	json_t *data = jobs_run_item(t), *profile = NULL;
	struct conn_result res = {0};
	struct conn *c = NULL;
	struct dr_error err = {{0}};
	struct buf out = BUF_INIT(0);
	int64_t t0 = time_mono_us();
	/* Before the first goto: the cleanup runs on every way out. */
	_cleanup_free_ char *prof_sh = NULL, *line = NULL;
	const char *state;
	char marker[40], key[32];
	int status;

	json_object_set_new(data, "started_at", json_integer(time(NULL)));
	jobs_run_post(rx, t, "running", json_deep_copy(data), NULL, NULL);
	if (jobs_run_connect(rx, t, &c, &err) < 0) {
		state = "unreachable";
		json_object_set_new(data, "error", json_string(err.msg));
		rx_prefix(&out, name, err.msg, strlen(err.msg));
		goto out;
	}
	snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(t, "id")));
	prof_sh = jobs_profile_script_known(jobs_run_str(rx->fingerprints, key));
	if (!rx->become) {
		_cleanup_free_ char *script = xasprintf("%s%s", rx_wrap_sh, prof_sh);
		_cleanup_free_ char *qs = conn_quote(script), *qc = conn_quote(rx->command);
		rx_marker(marker);
		line = xasprintf("/bin/sh -c %s drover-rx %s %s", qs, qc, marker);
	} else {
		struct conn_become b = {
		    .enabled = true, .method = rx->become_method, .user = rx->become_user};
		conn_become_set(c, &b);
	}
	if (conn_exec(c, line ? line : rx->command, NULL, 0, rx->timeout, &res, &err) < 0) {
		state = conn_broken(c) ? "unreachable" : "failed";
		json_object_set_new(data, "error", json_string(err.msg));
		rx_prefix(&out, name, err.msg, strlen(err.msg));
		goto out;
	}
	status = res.status;
	char *ptext = NULL;
	size_t plen = 0;
	bool split = line != NULL && rx_split(&res, marker, &status, &ptext, &plen) == 0;
	rx_prefix(&out, name, res.out, res.out_len);
	rx_prefix(&out, name, res.err, res.err_len);
	json_object_set_new(data, "exit_status", json_integer(status));
	json_object_set_new(data, "stdout", jobs_run_capped(res.out, res.out_len));
	json_object_set_new(data, "stderr", jobs_run_capped(res.err, res.err_len));
	state = status == 0 ? "success" : "failed";
	if (status != 0) {
		char msg[64];
		snprintf(msg, sizeof msg, "exit status %d", status);
		json_object_set_new(data, "error", json_string(msg));
	}
	if (line != NULL && !split) {
		state = "failed";
		json_object_set_new(data, "error",
		    json_string("the command ended its wrapping shell: no exit status reported"));
	}
	/* The profile: parsed here, stored by the job's thread. */
	if (line == NULL) {
		struct conn_result pr = {0};
		conn_become_set(c, &(struct conn_become){.enabled = false});
		if (conn_exec(c, "/bin/sh -s", prof_sh, strlen(prof_sh), 120, &pr, &err) == 0) {
			if (pr.status != 0)
				dr_error_set(&err, "the profile script exited with %d: %.200s",
				    pr.status, pr.err);
			else if (jobs_profile_parse(pr.out, pr.out_len, &profile, &err) == 0)
				err.msg[0] = '\0';
		}
		conn_result_free(&pr);
	} else if (split && plen > JOBS_PROFILE_MAX)
		dr_error_set(&err, "profile: more than %u bytes", JOBS_PROFILE_MAX);
	else if (split && jobs_profile_parse(ptext, plen, &profile, &err) == 0)
		err.msg[0] = '\0';
	else if (!split)
		dr_error_set(&err, "no profile after the command");
	if (profile == NULL)
		buf_addf(&out, "%s: package profile not collected: %s\n", name, err.msg);
out:
	conn_result_free(&res);
	conn_close(c);
	json_object_set_new(data, "finished_at", json_integer(time(NULL)));
	json_object_set_new(data, "duration_ms", json_integer((time_mono_us() - t0) / 1000));
	pthread_mutex_lock(&rx->lock);
	if (strcmp(state, "success") == 0)
		rx->ok++;
	else if (strcmp(state, "unreachable") == 0)
		rx->unreachable++;
	else
		rx->failed++;
	size_t done = rx->ok + rx->failed + rx->unreachable;
	pthread_mutex_unlock(&rx->lock);
	buf_addf(&out, "%s: %s [%zu/%zu]\n", name, state, done, json_array_size(rx->targets));
	jobs_run_post(rx, t, state, data, &out, profile);
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
			rx->workers--;
			pthread_cond_signal(&rx->posted_cond);
			pthread_mutex_unlock(&rx->lock);
			return NULL;
		}
		i = rx->next++;
		rx->started++;
		pthread_mutex_unlock(&rx->lock);
		rx->host_fn(rx, json_array_get(rx->targets, i));
	}
}

/* Take what the host threads posted; NULL when nothing is there. Lock held. */
static struct jobs_run_post *
rx_posted_take(struct jobs_run *rx)
{
	struct jobs_run_post *p = rx->posted;

	rx->posted = NULL;
	rx->posted_tail = &rx->posted;
	return p;
}

/*
 * Run rx->host_fn on hosts [from, to) with up to concurrency threads. This thread stores
 * what they post, a batch of posts per transaction, until the last one ended.
 */
void
jobs_run_pool(struct jobs_run *rx, size_t from, size_t to)
{
	size_t n = to - from < (size_t)rx->concurrency ? to - from : (size_t)rx->concurrency;
	pthread_t *th = xcalloc(n, sizeof *th);
	size_t started = 0;
	struct jobs_run_post *p;

	pthread_cond_init(&rx->posted_cond, NULL);
	rx->next = from;
	rx->end = to;
	pthread_mutex_lock(&rx->lock);
	rx->workers = n;
	rx->posted_tail = &rx->posted;
	pthread_mutex_unlock(&rx->lock);
	for (size_t i = 0; i < n; i++) {
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setstacksize(&a, 1 << 20);
		if (pthread_create(&th[started], &a, rx_worker, rx) == 0)
			started++;
		pthread_attr_destroy(&a);
	}
	pthread_mutex_lock(&rx->lock);
	rx->workers -= n - started;
	pthread_mutex_unlock(&rx->lock);
	if (started == 0) {
		pthread_mutex_lock(&rx->lock);
		rx->workers = 1;
		pthread_mutex_unlock(&rx->lock);
		rx_worker(rx);
	}
	for (;;) {
		bool last;
		pthread_mutex_lock(&rx->lock);
		while (rx->posted == NULL && rx->workers > 0)
			pthread_cond_wait(&rx->posted_cond, &rx->lock);
		last = rx->workers == 0;
		p = rx_posted_take(rx);
		pthread_mutex_unlock(&rx->lock);
		if (p != NULL)
			rx_store_posts(rx, p);
		if (last && p == NULL)
			break;
	}
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
	pthread_cond_destroy(&rx->posted_cond);
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
	const json_t *git = NULL;
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
	git = json_object_get(p, "playbook_git");
	if ((rx.command != NULL) + (yaml != NULL) + (git != NULL) != 1) {
		dr_error_set(
		    err, "params: give command, playbook_yaml or playbook_git (one of them)");
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
	} else if (git != NULL) {
		_cleanup_free_ char *src = xasprintf("%s/src", rx.dir), *commit = NULL;
		_cleanup_free_ char *safe =
		    jobs_git_redact(jobs_run_str(git, "url") ? jobs_run_str(git, "url") : "");
		if (jobs_git_checkout(git, src, &commit, err) < 0)
			goto out;
		const char *cred = jobs_run_str(git, "credential");
		job_printf(job, "playbook %s from %s%s%s%s at %s (commit %s)\n",
		    jobs_run_str(git, "path"), safe, cred ? " (credential " : "", cred ? cred : "",
		    cred ? ")" : "", jobs_run_str(git, "ref"), commit);
		rx.playbook_path = xasprintf("%s/%s", src, jobs_run_str(git, "path"));
	}
	{
		struct dr_error e;
		bool tx = store_begin(&e) == 0;
		for (size_t i = 0; i < total; i++) {
			_cleanup_json_ json_t *d = jobs_run_item(json_array_get(rx.targets, i));
			job_item_set(
			    job, jobs_run_str(json_array_get(rx.targets, i), "name"), "pending", d);
		}
		if (tx)
			(void)store_commit(&e);
	}
	if (rx.command != NULL)
		jobs_run_fingerprints(&rx);
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
	json_decref(rx.fingerprints);
	pthread_mutex_destroy(&rx.lock);
	pthread_mutex_destroy(&rx.store_lock);
	return rc;
}

/* Params a job or a schedule may keep: no credentials in a git URL, a credential that
 * exists (the API splits URLs; raw params for POST /api/v2/jobs and schedules come here). */
static int
rx_check(const json_t *params, struct dr_error *err)
{
	const json_t *git = json_object_get(params, "playbook_git");
	const char *url = jobs_run_str(git, "url"), *cred = jobs_run_str(git, "credential");
	char *clean = NULL, *user = NULL, *pass = NULL;
	int r;

	if (git == NULL)
		return 0;
	if (!json_is_object(git) || url == NULL)
		return dr_error_set(err, "playbook_git: expected {url, path, ref, credential?}");
	if ((r = jobs_git_userinfo(url, &clean, &user, &pass, err)) < 0)
		return dr_error_prefix(err, "playbook_git.url: ");
	if (r > 0) {
		secret_free(pass);
		free(user);
		dr_error_set(err,
		    "playbook_git.url: credentials in %s are not stored: create a git credential "
		    "(drover git-credential create) and name it in playbook_git.credential",
		    clean);
		free(clean);
		return -1;
	}
	if (cred != NULL && !jobs_gitcred_exists(cred))
		return dr_error_set(err, "playbook_git.credential: no git credential '%s'", cred);
	return 0;
}

static const struct job_kind rx_kind = {
    .name = "remote_execution",
    .run = rx_run,
    .check = rx_check,
};

/* Register the remote_execution job kind. */
void
jobs_remote_register(void)
{
	job_kind_register(&rx_kind);
}

/* Turn an API body into job params (credentials in a URL refused: no user to own them). */
int
jobs_remote_params(const json_t *body, json_t **ret, json_t *invalid, struct dr_error *err)
{
	return jobs_remote_params_as(body, NULL, NULL, ret, invalid, err);
}

/*
 * A playbook from git's credential: the URL's user information split off (kept in
 * *ret_user and *ret_password, the URL in git rewritten without it, the credential named
 * after that URL) or the credential the body names. invalid gets the field at fault.
 */
static void
rx_git_credential(json_t *git, const json_t *body, bool can_save, char **ret_user,
    char **ret_password, json_t *invalid)
{
	const json_t *named = json_object_get(body, "credential");
	const char *url = json_string_value(json_object_get(git, "url"));
	char *clean = NULL;
	struct dr_error err;
	int r;

	if (named != NULL && (!json_is_string(named) || !jobs_gitcred_exists(json_string_value(named)))) {
		json_object_set_new(invalid, "credential",
		    json_string("no such git credential (drover git-credential list)"));
		return;
	}
	if ((r = jobs_git_userinfo(url, &clean, ret_user, ret_password, &err)) < 0) {
		json_object_set_new(invalid, "playbook", json_string(err.msg));
		return;
	}
	if (r > 0 && named != NULL)
		json_object_set_new(invalid, "credential",
		    json_string("the URL has a user and password already: give one or the other"));
	else if (r > 0 && !can_save)
		json_object_set_new(invalid, "playbook",
		    json_string("credentials in the URL: create a git credential and name it"));
	else if (r > 0)
		json_object_set_new(git, "credential", json_string(clean));
	else if (named != NULL && !str_has_prefix(url, "https://"))
		json_object_set_new(
		    invalid, "credential", json_string("a git credential is for https:// URLs"));
	else if (named != NULL)
		json_object_set(git, "credential", (json_t *)named);
	if (r > 0)
		json_object_set_new(git, "url", json_string(clean));
	free(clean);
}

/* Turn an API body into job params for user from remote. */
int
jobs_remote_params_as(const json_t *body, const char *user, const char *remote, json_t **ret,
    json_t *invalid, struct dr_error *err)
{
	static const char *const keys[] = {"command", "playbook", "playbook_yaml", "search",
	    "hostgroup", "hosts", "concurrency", "batch_size", "max_fail_percent", "timeout",
	    "become", "become_user", "become_method", "credential"};
	_cleanup_free_ char *cred_user = NULL, *cred_pass = NULL;
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
		_cleanup_json_ json_t *pb = NULL, *git = NULL;
		if (name != NULL && strncmp(name, "git+", 4) == 0) {
			copy = (free(copy), NULL);
			if (jobs_git_parse(name, &git, err) < 0) {
				_cleanup_free_ char *m = xasprintf("%s (git+URL//PATH[@REF])", err->msg);
				json_object_set_new(invalid, "playbook", json_string(m));
			} else {
				rx_git_credential(git, body, user != NULL, &cred_user, &cred_pass,
				    invalid);
				json_object_set(p, "playbook_git", git);
				json_object_set_new(p, "playbook_name",
				    json_sprintf("git+%s//%s@%s", json_string_value(json_object_get(git, "url")),
				        json_string_value(json_object_get(git, "path")),
				        json_string_value(json_object_get(git, "ref"))));
			}
		} else if (copy != NULL)
			pb = jobs_library_get(copy, ver);
		if (git == NULL && json_object_get(invalid, "playbook") == NULL && pb == NULL)
			json_object_set_new(invalid, "playbook",
			    json_string(name ? "no such playbook (or version) in the library"
			                     : "expected NAME or NAME@VERSION"));
		else if (pb != NULL) {
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
	if (json_object_get(body, "credential") != NULL && json_object_get(p, "playbook_git") == NULL &&
	    json_object_get(invalid, "credential") == NULL)
		json_object_set_new(invalid, "credential",
		    json_string("a git credential goes with a playbook from git (git+https://…)"));
	for (i = 6; i < nitems(keys) - 1; i++)
		if ((v = json_object_get(body, keys[i])) != NULL)
			json_object_set(p, keys[i], v);
	if (json_object_size(invalid) > 0)
		goto invalid;
	for (i = 3; i < 6; i++)
		if ((v = json_object_get(body, keys[i])) != NULL) {
			if (i < 5 && !json_is_string(v)) {
				json_object_set_new(
				    invalid, keys[i], json_string("expected text"));
				dr_error_set(err, "%s: expected text", keys[i]);
				goto fail;
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
		goto fail;
	}
	if (json_array_size(targets) == 0) {
		const char *f = json_object_get(body, "search") ? "search"
		    : json_object_get(body, "hostgroup")        ? "hostgroup"
		                                                : "hosts";
		json_object_set_new(invalid, f, json_string("matches no host"));
		dr_error_set(err, "%s matches no host", f);
		goto fail;
	}
	ids = json_array();
	json_array_foreach(targets, i, v) json_array_append(ids, json_object_get(v, "id"));
	json_object_set(p, "hosts", ids);
	/* everything checked: the URL's credential is saved, only its name stays */
	if (cred_pass != NULL &&
	    jobs_gitcred_put(json_string_value(json_object_get(
	                         json_object_get(p, "playbook_git"), "credential")),
	        cred_user, cred_pass, user, remote, err) < 0)
		goto fail;
	*ret = TAKE_PTR(p);
	secret_free(TAKE_PTR(cred_pass));
	return 0;
invalid:
	dr_error_set(err, "invalid remote execution request");
fail:
	secret_free(TAKE_PTR(cred_pass));
	return -1;
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
