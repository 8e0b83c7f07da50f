/*
 * modules/async.c - tasks with `async` and `poll: 0`, and async_status. As with Ansible,
 * a job lives in ~/.ansible_async/<jid> on the host (of the user the task runs as): a
 * command (command, shell, raw) runs there detached from the session (setsid), so it
 * outlives the task, the play and `drover play` itself; its output goes to <jid>.out and
 * <jid>.err and its exit status with start and end times to <jid>.rc when it ends. The
 * results file <jid> holds the job as JSON (started; a module that is not a command runs
 * at once and its final result is written there). async_status reads these files.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "playbooks/playbooks.h"

#define ASYNC_OUT_MAX (64u << 20)

/* Run cmd; *r is the caller's to free. */
static int
async_sh(struct module_ctx *m, const char *cmd, struct conn_result *r, struct dr_error *err)
{
	memset(r, 0, sizeof *r);
	return module_exec(m, cmd, NULL, 0, r, err);
}

/* ~/.ansible_async, made if missing. */
int
async_dir(struct module_ctx *m, char **ret, struct dr_error *err)
{
	struct conn_result r;

	if (async_sh(m,
	        "umask 077; mkdir -p \"$HOME/.ansible_async\" && cd \"$HOME/.ansible_async\" && "
	        "pwd",
	        &r, err) < 0)
		return -1;
	if (r.status != 0 || !*str_trim(r.out)) {
		dr_error_set(err, "cannot make ~/.ansible_async: %s", str_trim(r.err));
		conn_result_free(&r);
		return -1;
	}
	*ret = xstrdup(str_trim(r.out));
	conn_result_free(&r);
	return 0;
}

/* The result a started job reports. */
static void
async_started(struct module_ctx *m)
{
	json_object_set_new(m->result, "ansible_job_id", json_string(m->async_jid));
	json_object_set_new(m->result, "started", json_integer(1));
	json_object_set_new(m->result, "finished", json_integer(0));
	json_object_set_new(m->result, "results_file", json_string(m->async_file));
	json_object_set_new(m->result, "changed", json_true());
}

/* Start a command line detached. */
int
async_job_start(struct module_ctx *m, const char *line, const json_t *shown, struct dr_error *err)
{
	static const char job[] =
	    "f=$1; s=$(date +%s.%6N); sh -c \"$2\" >\"$f.out\" 2>\"$f.err\" </dev/null; rc=$?; "
	    "e=$(date +%s.%6N); printf '%s\\n%s\\n%s\\n' \"$rc\" \"$s\" \"$e\" >\"$f.rc.tmp\" && "
	    "mv -f \"$f.rc.tmp\" \"$f.rc\"";
	json_t *head = json_pack("{s:i, s:i, s:s, s:O}", "started", 1, "finished", 0,
	    "ansible_job_id", m->async_jid, "cmd", shown ? shown : json_null());
	_cleanup_free_ char *text = json_dumps(head, JSON_COMPACT);
	_cleanup_free_ char *qf = conn_quote(m->async_file), *qt = conn_quote(text);
	_cleanup_free_ char *qj = conn_quote(job), *ql = conn_quote(line);
	_cleanup_free_ char *cmd = xasprintf("printf '%%s\\n' %s > %s || exit 1; "
	                                     "setsid sh -c %s job %s %s </dev/null >/dev/null "
	                                     "2>&1 &",
	    qt, qf, qj, qf, ql);
	struct conn_result r;

	json_decref(head);
	if (async_sh(m, cmd, &r, err) < 0)
		return -1;
	if (r.status != 0) {
		dr_error_set(err, "cannot start the job %s: %s", m->async_jid, str_trim(r.err));
		conn_result_free(&r);
		return -1;
	}
	conn_result_free(&r);
	async_started(m);
	return 0;
}

/* Record a final result as the job's. */
int
async_job_finish(struct module_ctx *m, const json_t *result, struct dr_error *err)
{
	json_t *o = json_deep_copy(result);
	char *text;
	int r;

	json_object_set_new(o, "ansible_job_id", json_string(m->async_jid));
	json_object_set_new(o, "started", json_integer(1));
	json_object_set_new(o, "finished", json_integer(1));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	r = conn_put(m->conn, m->async_file, text, strlen(text), 0600, err);
	free(text);
	if (r < 0)
		return -1;
	json_object_clear(m->result);
	async_started(m);
	return 0;
}

/* Seconds since the epoch as Ansible prints start and end. */
static json_t *
async_time(double t)
{
	time_t s = (time_t)t;
	struct tm tm;
	char buf[64];

	localtime_r(&s, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
	char *v = xasprintf("%s.%06ld", buf, (long)((t - (double)s) * 1e6 + 0.5) % 1000000);
	json_t *j = json_string(v);
	free(v);
	return j;
}

/* Text as a list of lines. */
static json_t *
async_lines(const char *s)
{
	json_t *l = json_array();

	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		json_array_append_new(l, module_text(s, n));
		s += n + (nl ? 1 : 0);
	}
	return l;
}

/* A job file's text, or NULL when it does not exist (err set when reading failed). */
static char *
async_read(struct module_ctx *m, const char *path, size_t max, size_t *ret_len)
{
	struct buf b = BUF_INIT(0);
	_cleanup_free_ char *q = conn_quote(path);
	_cleanup_free_ char *cmd = xasprintf("[ -f %s ] && echo y || echo n", q);
	struct conn_result r;

	if (async_sh(m, cmd, &r, NULL) < 0)
		return NULL;
	bool exists = r.out[0] == 'y';
	conn_result_free(&r);
	if (!exists || conn_get(m->conn, path, max, &b, NULL) < 0) {
		buf_free(&b);
		return NULL;
	}
	if (ret_len)
		*ret_len = b.len;
	return b.data ? buf_steal(&b) : xstrdup("");
}

/* async_status: the state of a job; mode=cleanup removes its files. */
static int
async_status(struct module_ctx *m, struct dr_error *err)
{
	const char *jid = module_str(m, "jid"), *mode = module_str(m, "mode");
	_cleanup_free_ char *dir = NULL, *f = NULL, *head = NULL, *rcf = NULL;
	_cleanup_free_ char *rcpath = NULL, *outp = NULL, *errp = NULL;
	json_t *j;

	if (strchr(jid, '/') || strcmp(jid, "..") == 0 || !*jid)
		return dr_error_set(err, "jid: not a job id: '%s'", jid);
	if (async_dir(m, &dir, err) < 0)
		return -1;
	f = xasprintf("%s/%s", dir, jid);
	json_object_set_new(m->result, "ansible_job_id", json_string(jid));
	if (strcmp(mode, "cleanup") == 0) {
		_cleanup_free_ char *q = conn_quote(f);
		_cleanup_free_ char *cmd =
		    xasprintf("f=%s; rm -f -- \"$f\" \"$f.out\" \"$f.err\" \"$f.rc\"", q);
		struct conn_result r;
		if (async_sh(m, cmd, &r, err) < 0)
			return -1;
		conn_result_free(&r);
		json_object_set_new(m->result, "erased", json_string(f));
		json_object_set_new(m->result, "changed", json_false());
		return 0;
	}
	json_object_set_new(m->result, "results_file", json_string(f));
	json_object_set_new(m->result, "started", json_integer(1));
	if (!(head = async_read(m, f, 1u << 20, NULL))) {
		json_object_set_new(m->result, "finished", json_integer(1));
		return dr_error_set(err, "could not find job");
	}
	j = json_loads(head, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		json_object_set_new(m->result, "finished", json_integer(1));
		return dr_error_set(err, "Could not parse job output: %.200s", head);
	}
	if (json_integer_value(json_object_get(j, "finished")) == 1) {
		/* a module that ran at once: its result as recorded */
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v) json_object_set(m->result, k, v);
		json_object_set_new(m->result, "results_file", json_string(f));
		json_decref(j);
		if (json_is_true(json_object_get(m->result, "failed"))) {
			const char *msg = json_string_value(json_object_get(m->result, "msg"));
			return dr_error_set(err, "%s", msg ? msg : "the job failed");
		}
		return 0;
	}
	rcpath = xasprintf("%s.rc", f);
	if (!(rcf = async_read(m, rcpath, 4096, NULL))) {
		/* still running */
		json_object_set_new(m->result, "finished", json_integer(0));
		json_object_set_new(m->result, "changed", json_false());
		json_decref(j);
		return 0;
	}
	int rc = -1;
	double t0 = 0, t1 = 0;
	if (sscanf(rcf, "%d %lf %lf", &rc, &t0, &t1) < 1) {
		json_decref(j);
		return dr_error_set(err, "Could not parse job status: %.200s", rcf);
	}
	size_t olen = 0, elen = 0;
	outp = xasprintf("%s.out", f);
	errp = xasprintf("%s.err", f);
	_cleanup_free_ char *out = async_read(m, outp, ASYNC_OUT_MAX, &olen);
	_cleanup_free_ char *errt = async_read(m, errp, ASYNC_OUT_MAX, &elen);
	if (!out)
		out = xstrdup("");
	if (!errt)
		errt = xstrdup("");
	while (olen && (out[olen - 1] == '\n' || out[olen - 1] == '\r'))
		out[--olen] = '\0';
	while (elen && (errt[elen - 1] == '\n' || errt[elen - 1] == '\r'))
		errt[--elen] = '\0';
	long long us = (long long)((t1 - t0) * 1e6 + 0.5);
	char delta[64];
	if (us < 0)
		us = 0;
	snprintf(delta, sizeof delta, "%lld:%02lld:%02lld.%06lld", us / 3600000000LL,
	    us / 60000000LL % 60, us / 1000000 % 60, us % 1000000);
	json_object_set(m->result, "cmd", json_object_get(j, "cmd"));
	json_decref(j);
	json_object_set_new(m->result, "finished", json_integer(1));
	json_object_set_new(m->result, "rc", json_integer(rc));
	json_object_set_new(m->result, "stdout", module_text(out, olen));
	json_object_set_new(m->result, "stderr", module_text(errt, elen));
	json_object_set_new(m->result, "stdout_lines", async_lines(out));
	json_object_set_new(m->result, "stderr_lines", async_lines(errt));
	json_object_set_new(m->result, "start", async_time(t0));
	json_object_set_new(m->result, "end", async_time(t1));
	json_object_set_new(m->result, "delta", json_string(delta));
	json_object_set_new(m->result, "msg", json_string(""));
	json_object_set_new(m->result, "changed", json_true());
	if (rc != 0)
		return dr_error_set(err, "non-zero return code");
	return 0;
}

static const struct module_arg async_status_args[] = {
    {"jid", MT_STR, true, NULL, NULL, NULL},
    {"mode", MT_STR, false, "status", "cleanup|status", NULL},
    {"_async_dir", MT_PATH, false, NULL, NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

const struct module modules_async[] = {
    {"async_status", async_status_args, async_status, 0},
};
const size_t modules_async_n = nitems(modules_async);
