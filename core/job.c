/* job.c - the persisted job queue: submit, a worker pool, cancellation, output, queries. */
#define LOG_COMPONENT "jobs"
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"

#define JOB_WORKERS_MAX 64
#define JOB_FLUSH_US 200000 /* output reaches followers at least this often */
#define JOB_FLUSH_BYTES (64 * 1024) /* flush at once when this much is pending */
#define JOB_POLL_MS 1000 /* workers look at the table this often */
#define JOB_WATCH_MS 100 /* the watcher's period (timeouts, idle output) */
#define JOB_STOP_WAIT_MS 3000 /* after the grace: how long cancelled jobs get */
#define JOB_PARAMS_MAX (1024 * 1024) /* JSON text of a job's parameters */
#define JOB_ITEM_MAX 255 /* length of an item name */
#define JOB_READ_CHUNKS 256 /* chunks fetched per output read */
#define JOB_INTERRUPTED_MSG "droverd stopped while the job was running"

/* Why a running job was asked to stop. */
enum job_stop {
	JOB_STOP_NONE,
	JOB_STOP_USER,
	JOB_STOP_TIMEOUT,
	JOB_STOP_SHUTDOWN,
};

struct job {
	int64_t id;
	const struct job_kind *kind;
	json_t *params;
	int timeout;
	int64_t deadline_us; /* monotonic; 0 = none */
	_Atomic int stop; /* enum job_stop */

	pthread_mutex_t lock; /* the fields below */
	struct buf pending; /* output not yet stored */
	int64_t stored; /* bytes stored (after UTF-8 cleaning) */
	int64_t seq;
	size_t accepted; /* bytes taken from the handler, for the cap */
	bool capped;
	int64_t flushed_us;
	json_t *result;
	char store_err[DR_ERROR_MAX]; /* the first store failure while running */

	struct job *next; /* in jobs_running */
};

static const char *const job_states[] = {
    "queued", "running", "succeeded", "failed", "cancelled", "interrupted"};

static const struct store_migration job_migrations[] = {
    {"job", 1,
        "CREATE TABLE jobs ("
        " id INTEGER PRIMARY KEY,"
        " kind TEXT NOT NULL,"
        " state TEXT NOT NULL,"
        " params TEXT NOT NULL,"
        " owner TEXT,"
        " created_at INTEGER NOT NULL,"
        " started_at INTEGER,"
        " finished_at INTEGER,"
        " timeout INTEGER NOT NULL DEFAULT 0,"
        " result TEXT,"
        " error TEXT,"
        " schedule_id INTEGER);"
        "CREATE INDEX jobs_state ON jobs (state, id);"
        "CREATE INDEX jobs_kind ON jobs (kind, state);"
        "CREATE INDEX jobs_schedule ON jobs (schedule_id);"
        "CREATE TABLE job_items ("
        " job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
        " item TEXT NOT NULL,"
        " state TEXT NOT NULL,"
        " data TEXT,"
        " updated_at INTEGER NOT NULL,"
        " PRIMARY KEY (job_id, item));"
        "CREATE TABLE job_output ("
        " job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
        " seq INTEGER NOT NULL,"
        " pos INTEGER NOT NULL,"
        " endpos INTEGER NOT NULL,"
        " data TEXT NOT NULL,"
        " PRIMARY KEY (job_id, seq));"
        "CREATE INDEX job_output_end ON job_output (job_id, endpos);"},
};

static int job_noop_run(struct job *job, struct dr_error *err);
static int job_sleep_run(struct job *job, struct dr_error *err);

static const struct job_kind job_builtin_kinds[] = {
    {"noop", job_noop_run, 60},
    {"sleep", job_sleep_run, 0},
};

/* jobs_lock guards the kinds, the running list and the pool's state. */
static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t jobs_work_cond; /* workers: new jobs or stop */
static pthread_cond_t jobs_idle_cond; /* a running job ended */
static pthread_cond_t jobs_watch_cond; /* the watcher: stop */
static const struct job_kind *jobs_kinds[JOB_KINDS_MAX];
static size_t jobs_nkinds;
static struct job *jobs_running;
static pthread_t jobs_workers[JOB_WORKERS_MAX];
static int jobs_nworkers;
static pthread_t jobs_watcher;
static bool jobs_started, jobs_stopping, jobs_watch_stop;
static uint64_t jobs_wake_gen;

/* Output followers wait on out_cond; out_gen changes with every flush and every end. */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t out_cond;
static uint64_t out_gen;
static void (*_Atomic out_listener)(void);

static _Atomic size_t job_output_max = JOB_OUTPUT_MAX;
static _Atomic int job_timeout_default; /* for kinds without their own; 0 = none */
static pthread_once_t jobs_once = PTHREAD_ONCE_INIT;

/* Condition variables on the monotonic clock. */
static void
jobs_once_init(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&jobs_work_cond, &attr);
	pthread_cond_init(&jobs_idle_cond, &attr);
	pthread_cond_init(&jobs_watch_cond, &attr);
	pthread_cond_init(&out_cond, &attr);
	pthread_condattr_destroy(&attr);
}

/* Wait on cond until the monotonic time deadline_us; ETIMEDOUT when it passed. */
static int
jobs_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *m, int64_t deadline_us)
{
	struct timespec ts = {
	    .tv_sec = deadline_us / 1000000, .tv_nsec = (deadline_us % 1000000) * 1000};

	return pthread_cond_timedwait(cond, m, &ts);
}

/* Tell output followers that something changed. */
static void
jobs_output_changed(void)
{
	void (*fn)(void);

	pthread_mutex_lock(&out_lock);
	out_gen++;
	pthread_cond_broadcast(&out_cond);
	pthread_mutex_unlock(&out_lock);
	if ((fn = out_listener) != NULL)
		fn();
}

void
job_output_listen(void (*fn)(void))
{
	out_listener = fn;
}

/* Register the migrations and the built-in kinds. */
void
job_init(void)
{
	size_t i;

	pthread_once(&jobs_once, jobs_once_init);
	store_register(job_migrations, nitems(job_migrations));
	for (i = 0; i < nitems(job_builtin_kinds); i++)
		job_kind_register(&job_builtin_kinds[i]);
}

/* Register a kind, replacing one of the same name. */
void
job_kind_register(const struct job_kind *k)
{
	size_t i;

	pthread_mutex_lock(&jobs_lock);
	for (i = 0; i < jobs_nkinds; i++) {
		if (strcmp(jobs_kinds[i]->name, k->name) == 0) {
			jobs_kinds[i] = k;
			pthread_mutex_unlock(&jobs_lock);
			return;
		}
	}
	if (jobs_nkinds == nitems(jobs_kinds))
		fatalx("more than %zu job kinds", nitems(jobs_kinds));
	jobs_kinds[jobs_nkinds++] = k;
	pthread_mutex_unlock(&jobs_lock);
}

/* The kind called name, or NULL. */
const struct job_kind *
job_kind_find(const char *name)
{
	const struct job_kind *k = NULL;
	size_t i;

	pthread_mutex_lock(&jobs_lock);
	for (i = 0; i < jobs_nkinds && k == NULL; i++)
		if (strcmp(jobs_kinds[i]->name, name) == 0)
			k = jobs_kinds[i];
	pthread_mutex_unlock(&jobs_lock);
	return k;
}

/* Set the per-job output cap. */
void
job_output_set_max(size_t max)
{
	atomic_store(&job_output_max, max);
}

/* True for a state a job does not leave. */
static bool
job_state_final(const char *state)
{
	return state != NULL && strcmp(state, "queued") != 0 && strcmp(state, "running") != 0;
}

/* The timeout of jobs whose submitter and kind set none (config jobs.default_timeout). */
void
job_default_timeout_set(int seconds)
{
	job_timeout_default = seconds > 0 ? seconds : 0;
}

/* Queue a job, optionally for a schedule (schedule_id > 0). */
static int
job_insert(const char *kind, const json_t *params, const char *owner, int timeout,
    int64_t schedule_id, int64_t *ret_id, struct dr_error *err)
{
	_cleanup_free_ char *text = NULL;
	const struct job_kind *k;
	_cleanup_json_ json_t *p = NULL;
	int64_t id;

	if ((k = job_kind_find(kind)) == NULL)
		return dr_error_set(err, "kind: unknown job kind \"%s\"", kind);
	if (params != NULL && !json_is_object(params))
		return dr_error_set(err, "params: must be an object");
	if (params != NULL && k->check != NULL && k->check(params, err) < 0)
		return dr_error_prefix(err, "params: ");
	if (timeout < 0)
		return dr_error_set(err, "timeout: must not be negative");
	text = params != NULL ? json_dumps(params, JSON_COMPACT) : xstrdup("{}");
	if (text == NULL)
		fatalx("json_dumps failed");
	if (strlen(text) > JOB_PARAMS_MAX)
		return dr_error_set(err, "params: larger than %d bytes", JOB_PARAMS_MAX);
	if (store_execf(NULL, &id, err,
	        "INSERT INTO jobs (kind, state, params, owner, created_at, timeout, schedule_id)"
	        " VALUES (?, 'queued', ?, ?, ?, ?, ?)",
	        "[sss?Iio]", kind, text, owner, (json_int_t)time(NULL),
	        timeout > 0 ? timeout : k->timeout > 0 ? k->timeout : job_timeout_default,
	        schedule_id > 0 ? json_integer(schedule_id) : json_null()) < 0)
		return -1;
	jobs_wake();
	*ret_id = id;
	return 0;
}

/* Queue a job. */
int
job_submit(const char *kind, const json_t *params, const char *owner, int timeout, int64_t *ret_id,
    struct dr_error *err)
{
	return job_insert(kind, params, owner, timeout, 0, ret_id, err);
}

/* Queue a job made by a schedule. */
int
job_submit_scheduled(const char *kind, const json_t *params, const char *owner, int timeout,
    int64_t schedule_id, int64_t *ret_id, struct dr_error *err)
{
	return job_insert(kind, params, owner, timeout, schedule_id, ret_id, err);
}

/* Wake the workers. */
void
jobs_wake(void)
{
	pthread_once(&jobs_once, jobs_once_init);
	pthread_mutex_lock(&jobs_lock);
	jobs_wake_gen++;
	pthread_cond_broadcast(&jobs_work_cond);
	pthread_mutex_unlock(&jobs_lock);
}

/* The running job with id in this process; jobs_lock held. */
static struct job *
jobs_running_find(int64_t id)
{
	struct job *j;

	for (j = jobs_running; j != NULL; j = j->next)
		if (j->id == id)
			return j;
	return NULL;
}

/* Take job off the running list; jobs_lock held. */
static void
jobs_running_remove(struct job *job)
{
	struct job **pp;

	for (pp = &jobs_running; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == job) {
			*pp = job->next;
			return;
		}
	}
}

/* Cancel a queued or running job. */
int
job_cancel(int64_t id, struct dr_error *err)
{
	_cleanup_json_ json_t *row = NULL;
	int64_t changes;
	struct job *j;
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if (store_execf(&changes, NULL, err,
		        "UPDATE jobs SET state = 'cancelled', finished_at = ?,"
		        " error = 'cancelled before it started' WHERE id = ? AND state = 'queued'",
		        "[II]", (json_int_t)time(NULL), (json_int_t)id) < 0)
			return -1;
		if (changes == 1) {
			jobs_output_changed();
			return 0;
		}
		pthread_mutex_lock(&jobs_lock);
		if ((j = jobs_running_find(id)) != NULL) {
			int none = JOB_STOP_NONE;

			atomic_compare_exchange_strong(&j->stop, &none, JOB_STOP_USER);
			pthread_mutex_unlock(&jobs_lock);
			return 0;
		}
		pthread_mutex_unlock(&jobs_lock);
		json_decref(row);
		row = store_query_one(
		    err, "SELECT state FROM jobs WHERE id = ?", "[I]", (json_int_t)id);
		if (row == NULL)
			return err != NULL && err->msg[0] != '\0'
			    ? -1
			    : dr_error_set(err, "job %lld: no such job", (long long)id);
		if (job_state_final(json_string_value(json_object_get(row, "state"))))
			return dr_error_set(err, "job %lld: already %s", (long long)id,
			    json_string_value(json_object_get(row, "state")));
		/* Running but not here: claimed between our two looks, or another process. */
	}
	return dr_error_set(err, "job %lld: running in another droverd process", (long long)id);
}

/* The job with its items, or NULL. */
json_t *
job_get(int64_t id)
{
	_cleanup_json_ json_t *job = NULL, *items = NULL;

	job = store_query_one(NULL,
	    "SELECT id, kind, state, params AS params_json, owner, created_at, started_at,"
	    " finished_at, timeout, result AS result_json, error, schedule_id,"
	    " COALESCE((SELECT o.endpos FROM job_output o WHERE o.job_id = jobs.id"
	    " ORDER BY o.seq DESC LIMIT 1), 0) AS output_bytes"
	    " FROM jobs WHERE id = ?",
	    "[I]", (json_int_t)id);
	if (job == NULL)
		return NULL;
	if (store_queryf(&items, NULL,
	        "SELECT item, state, data AS data_json, updated_at FROM job_items"
	        " WHERE job_id = ? ORDER BY item",
	        "[I]", (json_int_t)id) < 0)
		return NULL;
	json_object_set(job, "items", items);
	return TAKE_PTR(job);
}

/* Filters job_list understands: the key in the filter object and its column. */
static const struct job_filter {
	const char *key;
	const char *column;
	json_type type;
} job_filters[] = {
    {"state", "state", JSON_STRING},
    {"kind", "kind", JSON_STRING},
    {"owner", "owner", JSON_STRING},
    {"schedule_id", "schedule_id", JSON_INTEGER},
};

/* A page of jobs, newest first. */
int
job_list(const json_t *filter, int limit, int offset, json_t **ret_rows, int64_t *ret_total,
    struct dr_error *err)
{
	struct buf where = BUF_INIT(0);
	_cleanup_json_ json_t *params = json_array(), *rows = NULL, *count = NULL;
	_cleanup_free_ char *sql = NULL, *csql = NULL;
	const struct job_filter *f;
	const char *key;
	json_t *v;
	size_t i;

	if (filter != NULL && !json_is_object(filter))
		return dr_error_set(err, "filter: must be an object");
	if (limit < 1 || limit > JOB_LIST_MAX)
		return dr_error_set(err, "limit: must be 1 to %d", JOB_LIST_MAX);
	if (offset < 0)
		return dr_error_set(err, "offset: must not be negative");
	json_object_foreach((json_t *)filter, key, v)
	{
		for (i = 0, f = NULL; i < nitems(job_filters) && f == NULL; i++)
			if (strcmp(job_filters[i].key, key) == 0)
				f = &job_filters[i];
		if (f == NULL) {
			buf_free(&where);
			return dr_error_set(err, "filter: unknown key \"%s\"", key);
		}
		if (json_typeof(v) != f->type) {
			buf_free(&where);
			return dr_error_set(err, "filter: %s: must be %s", key,
			    f->type == JSON_STRING ? "a string" : "an integer");
		}
		if (strcmp(key, "state") == 0) {
			bool known = false;

			for (i = 0; i < nitems(job_states); i++)
				known |= strcmp(job_states[i], json_string_value(v)) == 0;
			if (!known) {
				buf_free(&where);
				return dr_error_set(err, "filter: state: unknown state \"%s\"",
				    json_string_value(v));
			}
		}
		buf_addf(&where, "%s%s = ?", where.len > 0 ? " AND " : " WHERE ", f->column);
		json_array_append(params, v);
	}
	sql = xasprintf("SELECT id, kind, state, params AS params_json, owner, created_at,"
	                " started_at, finished_at, timeout, result AS result_json, error,"
	                " schedule_id FROM jobs%s ORDER BY id DESC LIMIT %d OFFSET %d",
	    where.data != NULL ? where.data : "", limit, offset);
	csql = xasprintf("SELECT COUNT(*) AS n FROM jobs%s", where.data != NULL ? where.data : "");
	buf_free(&where);
	if (store_query(sql, params, &rows, err) < 0 || store_query(csql, params, &count, err) < 0)
		return -1;
	*ret_total = json_integer_value(json_object_get(json_array_get(count, 0), "n"));
	*ret_rows = TAKE_PTR(rows);
	return 0;
}

/* The job's state and stored output size; NULL row when there is no such job. */
static json_t *
job_output_state(int64_t id, struct dr_error *err)
{
	return store_query_one(err,
	    "SELECT state, COALESCE((SELECT o.endpos FROM job_output o WHERE o.job_id = jobs.id"
	    " ORDER BY o.seq DESC LIMIT 1), 0) AS total FROM jobs WHERE id = ?",
	    "[I]", (json_int_t)id);
}

/* Read output from a byte offset. */
int
job_output_read(int64_t id, int64_t offset, size_t max, struct buf *out, int64_t *ret_next_offset,
    bool *ret_finished, struct dr_error *err)
{
	_cleanup_json_ json_t *st = NULL, *rows = NULL;
	int64_t next = offset, total;
	bool final;
	size_t i, added = 0;
	json_t *row;

	if (offset < 0)
		return dr_error_set(err, "offset: must not be negative");
	/* The state first: output is complete before a job's state becomes final. */
	if ((st = job_output_state(id, err)) == NULL)
		return err != NULL && err->msg[0] != '\0'
		    ? -1
		    : dr_error_set(err, "job %lld: no such job", (long long)id);
	final = job_state_final(json_string_value(json_object_get(st, "state")));
	total = json_integer_value(json_object_get(st, "total"));
	if (store_queryf(&rows, err,
	        "SELECT pos, endpos, data FROM job_output WHERE job_id = ? AND endpos > ?"
	        " ORDER BY endpos LIMIT ?",
	        "[IIi]", (json_int_t)id, (json_int_t)offset, JOB_READ_CHUNKS) < 0)
		return -1;
	json_array_foreach(rows, i, row)
	{
		int64_t pos = json_integer_value(json_object_get(row, "pos"));
		const char *data = json_string_value(json_object_get(row, "data"));
		size_t len = json_string_length(json_object_get(row, "data"));
		size_t skip = next > pos ? (size_t)(next - pos) : 0;

		if (pos > next || skip > len)
			break; /* not contiguous: never written that way */
		len -= skip;
		if (added + len > max) {
			if (added > 0)
				break;
			len = max; /* one chunk larger than the whole read */
		}
		if (buf_add(out, data + skip, len) < 0)
			break;
		added += len;
		next += (int64_t)len;
	}
	*ret_next_offset = next;
	*ret_finished = final && next >= total;
	return 0;
}

/* Wait for output past offset or the job's end. */
int
job_output_wait(int64_t id, int64_t offset, int timeout_ms)
{
	int64_t deadline = time_mono_us() + (int64_t)timeout_ms * 1000, now;
	_cleanup_json_ json_t *st = NULL;
	uint64_t gen;

	pthread_once(&jobs_once, jobs_once_init);
	for (;;) {
		pthread_mutex_lock(&out_lock);
		gen = out_gen;
		pthread_mutex_unlock(&out_lock);
		json_decref(st);
		if ((st = job_output_state(id, NULL)) == NULL)
			return -1;
		if (json_integer_value(json_object_get(st, "total")) > offset ||
		    job_state_final(json_string_value(json_object_get(st, "state"))))
			return 1;
		if ((now = time_mono_us()) >= deadline)
			return 0;
		/* Wake at least every second: another process may be writing the output. */
		pthread_mutex_lock(&out_lock);
		if (gen == out_gen)
			jobs_cond_wait_until(&out_cond, &out_lock,
			    deadline < now + 1000000 ? deadline : now + 1000000);
		pthread_mutex_unlock(&out_lock);
	}
}

/* Counts of jobs by kind and state. */
json_t *
job_counts(void)
{
	_cleanup_json_ json_t *rows = NULL;
	json_t *counts = json_object(), *row, *k;
	size_t i;

	if (store_query("SELECT kind, state, COUNT(*) AS n FROM jobs GROUP BY kind, state", NULL,
	        &rows, NULL) < 0)
		return counts;
	json_array_foreach(rows, i, row)
	{
		const char *kind = json_string_value(json_object_get(row, "kind"));

		if ((k = json_object_get(counts, kind)) == NULL) {
			k = json_object();
			json_object_set_new(counts, kind, k);
		}
		json_object_set(k, json_string_value(json_object_get(row, "state")),
		    json_object_get(row, "n"));
	}
	return counts;
}

/* The job's id. */
int64_t
job_id(struct job *job)
{
	return job->id;
}

/* The job's parameters (owned by the job). */
const json_t *
job_params(struct job *job)
{
	return job->params;
}

/* True once the job should stop; also notices a passed deadline. */
bool
job_cancelled(struct job *job)
{
	int none = JOB_STOP_NONE;

	if (job->deadline_us != 0 && time_mono_us() >= job->deadline_us)
		atomic_compare_exchange_strong(&job->stop, &none, JOB_STOP_TIMEOUT);
	return atomic_load(&job->stop) != JOB_STOP_NONE;
}

/* Remember the first store failure of a running job; job->lock held or job private. */
static void
job_store_failed(struct job *job, const struct dr_error *err)
{
	if (job->store_err[0] == '\0')
		str_copy(job->store_err, err->msg, sizeof job->store_err);
}

/* Bytes at the end of s that start a UTF-8 sequence not yet complete. */
static size_t
job_utf8_partial(const char *s, size_t len)
{
	size_t i, need;

	for (i = 1; i <= 3 && i <= len; i++) {
		unsigned char c = (unsigned char)s[len - i];

		if ((c & 0xc0) == 0x80)
			continue; /* continuation byte: look further back */
		need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		return need > i ? i : 0;
	}
	return 0;
}

/* Store the first n pending bytes as one chunk; job->lock held. */
static void
job_flush_locked(struct job *job, size_t n)
{
	_cleanup_free_ char *clean = NULL;
	struct dr_error err;
	size_t clen;

	if (n == 0)
		return;
	clean = store_utf8_clean(job->pending.data, n, &clen);
	if (store_execf(NULL, NULL, &err,
	        "INSERT INTO job_output (job_id, seq, pos, endpos, data) VALUES (?, ?, ?, ?, ?)",
	        "[IIIIs%]", (json_int_t)job->id, (json_int_t)job->seq, (json_int_t)job->stored,
	        (json_int_t)(job->stored + (int64_t)clen), clean, clen) < 0)
		job_store_failed(job, &err);
	else {
		job->seq++;
		job->stored += (int64_t)clen;
	}
	memmove(job->pending.data, job->pending.data + n, job->pending.len - n);
	job->pending.len -= n;
	job->pending.data[job->pending.len] = '\0';
	job->flushed_us = time_mono_us();
	jobs_output_changed();
}

/* Flush everything pending, except an incomplete UTF-8 tail unless final; lock held. */
static void
job_flush_all_locked(struct job *job, bool final)
{
	size_t n = job->pending.len;

	if (!final)
		n -= job_utf8_partial(job->pending.data, n);
	job_flush_locked(job, n);
}

/* Append output; complete lines are stored when the last flush is old enough. */
void
job_write(struct job *job, const char *data, size_t len)
{
	size_t max = atomic_load(&job_output_max), take = len;
	char *nl;

	pthread_mutex_lock(&job->lock);
	if (job->capped) {
		pthread_mutex_unlock(&job->lock);
		return;
	}
	if (job->accepted + len > max) {
		take = max - job->accepted;
		job->capped = true;
	}
	buf_add(&job->pending, data, take);
	job->accepted += take;
	if (job->capped) {
		buf_addf(&job->pending, "%s[output truncated: more than %zu bytes]\n",
		    job->pending.len > 0 && job->pending.data[job->pending.len - 1] != '\n' ? "\n"
		                                                                            : "",
		    max);
		job_flush_all_locked(job, true);
	} else if (job->pending.len >= JOB_FLUSH_BYTES) {
		job_flush_all_locked(job, false);
	} else if (time_mono_us() - job->flushed_us >= JOB_FLUSH_US &&
	    (nl = memrchr(job->pending.data, '\n', job->pending.len)) != NULL) {
		job_flush_locked(job, (size_t)(nl - job->pending.data) + 1);
	}
	pthread_mutex_unlock(&job->lock);
}

/* printf into the job's output. */
void
job_printf(struct job *job, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	job_write(job, s, strlen(s));
}

/* Set one item's state and data. */
void
job_item_set(struct job *job, const char *item, const char *state, const json_t *data)
{
	struct dr_error err;

	if (strlen(item) > JOB_ITEM_MAX) {
		dr_error_set(
		    &err, "item \"%.40s...\": name longer than %d bytes", item, JOB_ITEM_MAX);
		goto fail;
	}
	if (store_execf(NULL, NULL, &err,
	        "INSERT INTO job_items (job_id, item, state, data, updated_at)"
	        " VALUES (?, ?, ?, ?, ?)"
	        " ON CONFLICT (job_id, item) DO UPDATE SET state = excluded.state,"
	        " data = excluded.data, updated_at = excluded.updated_at",
	        "[IssO?I]", (json_int_t)job->id, item, state, data, (json_int_t)time(NULL)) == 0)
		return;
fail:
	pthread_mutex_lock(&job->lock);
	job_store_failed(job, &err);
	pthread_mutex_unlock(&job->lock);
}

/* Set the job's result (steals the reference). */
void
job_result_set(struct job *job, json_t *result)
{
	pthread_mutex_lock(&job->lock);
	json_decref(job->result);
	job->result = result;
	pthread_mutex_unlock(&job->lock);
}

/* Free a job that has left the running list. */
static void
job_free(struct job *job)
{
	if (job == NULL)
		return;
	json_decref(job->params);
	json_decref(job->result);
	buf_free(&job->pending);
	pthread_mutex_destroy(&job->lock);
	free(job);
}

/*
 * Claim the oldest queued job. The conditional UPDATE makes the claim safe between
 * workers and processes sharing the file; PostgreSQL would use SELECT ... FOR UPDATE SKIP
 * LOCKED instead so that instances do not contend for the same row.
 */
static struct job *
jobs_claim(struct dr_error *err)
{
	_cleanup_json_ json_t *row = NULL;
	struct job *job;
	int64_t changes;
	int tries;

	for (tries = 0; tries < 8; tries++) {
		json_decref(row);
		row = store_query_one(err,
		    "SELECT id, kind, params AS params_json, timeout FROM jobs"
		    " WHERE state = 'queued' ORDER BY id LIMIT 1",
		    NULL);
		if (row == NULL)
			return NULL;
		job = xcalloc(1, sizeof *job);
		job->id = json_integer_value(json_object_get(row, "id"));
		job->timeout = (int)json_integer_value(json_object_get(row, "timeout"));
		job->params = json_incref(json_object_get(row, "params"));
		job->kind = job_kind_find(json_string_value(json_object_get(row, "kind")));
		pthread_mutex_init(&job->lock, NULL);
		buf_init(&job->pending, 0);
		/* In the running list before the claim commits, so job_cancel finds it. */
		pthread_mutex_lock(&jobs_lock);
		job->next = jobs_running;
		jobs_running = job;
		pthread_mutex_unlock(&jobs_lock);
		if (store_begin(err) == 0 &&
		    store_execf(&changes, NULL, err,
		        "UPDATE jobs SET state = 'running', started_at = ?"
		        " WHERE id = ? AND state = 'queued'",
		        "[II]", (json_int_t)time(NULL), (json_int_t)job->id) == 0 &&
		    store_commit(err) == 0 && changes == 1) {
			if (job->timeout > 0)
				job->deadline_us =
				    time_mono_us() + (int64_t)job->timeout * 1000000;
			return job;
		}
		store_rollback();
		pthread_mutex_lock(&jobs_lock);
		jobs_running_remove(job);
		pthread_mutex_unlock(&jobs_lock);
		job_free(job);
		if (err != NULL && err->msg[0] != '\0')
			return NULL;
	}
	return NULL;
}

/* Run a claimed job and record how it ended. */
static void
jobs_run(struct job *job)
{
	struct dr_error err = {.msg = ""};
	_cleanup_free_ char *result = NULL;
	char msg[DR_ERROR_MAX];
	const char *state;
	int rc;

	if (job->kind == NULL) {
		rc = dr_error_set(&err, "kind: not known to this droverd");
	} else
		rc = job->kind->run(job, &err);
	pthread_mutex_lock(&job->lock);
	job_flush_all_locked(job, true);
	switch (atomic_load(&job->stop)) {
	case JOB_STOP_TIMEOUT:
		state = "failed";
		snprintf(msg, sizeof msg, "timed out after %d s", job->timeout);
		break;
	case JOB_STOP_USER:
		state = "cancelled";
		snprintf(msg, sizeof msg, "cancelled while running");
		break;
	case JOB_STOP_SHUTDOWN:
		state = "interrupted";
		snprintf(msg, sizeof msg, JOB_INTERRUPTED_MSG);
		break;
	default:
		if (rc == 0 && job->store_err[0] == '\0') {
			state = "succeeded";
			msg[0] = '\0';
		} else {
			state = "failed";
			snprintf(msg, sizeof msg, "%s",
			    rc < 0 ? (err.msg[0] != '\0' ? err.msg : "failed") : job->store_err);
		}
		break;
	}
	if (job->result != NULL && (result = json_dumps(job->result, JSON_COMPACT)) == NULL)
		fatalx("json_dumps failed");
	pthread_mutex_unlock(&job->lock);
	if (store_execf(NULL, NULL, &err,
	        "UPDATE jobs SET state = ?, finished_at = ?, result = ?, error = ?"
	        " WHERE id = ? AND state = 'running'",
	        "[sIs?s?I]", state, (json_int_t)time(NULL), result, msg[0] != '\0' ? msg : NULL,
	        (json_int_t)job->id) < 0)
		log_warnx("job %lld: cannot record its end (%s): %s", (long long)job->id, state,
		    err.msg);
}

/* Take the job off the running list, free it, and tell whoever waits. */
static void
jobs_done(struct job *job)
{
	pthread_mutex_lock(&jobs_lock);
	jobs_running_remove(job);
	pthread_cond_broadcast(&jobs_idle_cond);
	pthread_mutex_unlock(&jobs_lock);
	job_free(job);
	jobs_output_changed();
}

/* A worker: claim, run, repeat; sleep on the condvar (or the poll period) when idle. */
static void *
jobs_worker(void *arg)
{
	struct dr_error err;
	struct job *job;
	uint64_t gen;

	pthread_mutex_lock(&jobs_lock);
	while (!jobs_stopping) {
		gen = jobs_wake_gen;
		pthread_mutex_unlock(&jobs_lock);
		dr_error_clear(&err);
		if ((job = jobs_claim(&err)) != NULL) {
			jobs_run(job);
			jobs_done(job);
			pthread_mutex_lock(&jobs_lock);
			continue;
		}
		if (err.msg[0] != '\0')
			log_warnx("claiming a job: %s", err.msg);
		pthread_mutex_lock(&jobs_lock);
		if (!jobs_stopping && gen == jobs_wake_gen)
			jobs_cond_wait_until(
			    &jobs_work_cond, &jobs_lock, time_mono_us() + JOB_POLL_MS * 1000);
	}
	pthread_mutex_unlock(&jobs_lock);
	return NULL;
}

/* The watcher: timeouts, and output left pending by a quiet handler. */
static void *
jobs_watch(void *arg)
{
	struct job *j;
	int64_t now;

	pthread_mutex_lock(&jobs_lock);
	while (!jobs_watch_stop) {
		now = time_mono_us();
		for (j = jobs_running; j != NULL; j = j->next) {
			if (j->deadline_us != 0 && now >= j->deadline_us)
				(void)job_cancelled(j);
			/* A handler busy writing flushes for itself. */
			if (pthread_mutex_trylock(&j->lock) != 0)
				continue;
			if (j->pending.len > 0 && now - j->flushed_us >= JOB_FLUSH_US)
				job_flush_all_locked(j, false);
			pthread_mutex_unlock(&j->lock);
		}
		jobs_cond_wait_until(&jobs_watch_cond, &jobs_lock, now + JOB_WATCH_MS * 1000);
	}
	pthread_mutex_unlock(&jobs_lock);
	return NULL;
}

/* Start the worker pool and the watcher. */
int
jobs_start(int workers, struct dr_error *err)
{
	int64_t changes;
	int i;

	pthread_once(&jobs_once, jobs_once_init);
	if (workers < 1 || workers > JOB_WORKERS_MAX)
		return dr_error_set(err, "workers: must be 1 to %d", JOB_WORKERS_MAX);
	pthread_mutex_lock(&jobs_lock);
	if (jobs_started) {
		pthread_mutex_unlock(&jobs_lock);
		return dr_error_set(err, "the job workers are already running");
	}
	pthread_mutex_unlock(&jobs_lock);
	/* With one process per database, a job still "running" lost its process. */
	if (store_execf(&changes, NULL, err,
	        "UPDATE jobs SET state = 'interrupted', finished_at = ?, error = ?"
	        " WHERE state = 'running'",
	        "[Is]", (json_int_t)time(NULL), JOB_INTERRUPTED_MSG) < 0)
		return -1;
	if (changes > 0)
		jobs_output_changed();
	pthread_mutex_lock(&jobs_lock);
	jobs_started = true;
	jobs_stopping = false;
	jobs_watch_stop = false;
	for (i = 0; i < workers; i++)
		if (pthread_create(&jobs_workers[i], NULL, jobs_worker, NULL) != 0)
			fatalx("cannot start job worker %d", i);
	jobs_nworkers = workers;
	if (pthread_create(&jobs_watcher, NULL, jobs_watch, NULL) != 0)
		fatalx("cannot start the job watcher");
	pthread_mutex_unlock(&jobs_lock);
	return 0;
}

/* Stop the pool: grace, then cancel, then mark what is left interrupted; join. */
void
jobs_stop(int grace_seconds)
{
	int64_t deadline = time_mono_us() + (int64_t)grace_seconds * 1000000;
	struct dr_error err;
	struct job *j;
	int i;

	pthread_mutex_lock(&jobs_lock);
	if (!jobs_started) {
		pthread_mutex_unlock(&jobs_lock);
		return;
	}
	jobs_stopping = true;
	pthread_cond_broadcast(&jobs_work_cond);
	while (jobs_running != NULL &&
	    jobs_cond_wait_until(&jobs_idle_cond, &jobs_lock, deadline) != ETIMEDOUT)
		;
	if (jobs_running != NULL) {
		for (j = jobs_running; j != NULL; j = j->next) {
			int none = JOB_STOP_NONE;

			atomic_compare_exchange_strong(&j->stop, &none, JOB_STOP_SHUTDOWN);
		}
		deadline = time_mono_us() + JOB_STOP_WAIT_MS * 1000;
		while (jobs_running != NULL &&
		    jobs_cond_wait_until(&jobs_idle_cond, &jobs_lock, deadline) != ETIMEDOUT)
			;
	}
	/* Handlers that do not poll: the record is right even if we never get to join. */
	for (j = jobs_running; j != NULL; j = j->next)
		if (store_execf(NULL, NULL, &err,
		        "UPDATE jobs SET state = 'interrupted', finished_at = ?, error = ?"
		        " WHERE id = ? AND state = 'running'",
		        "[IsI]", (json_int_t)time(NULL), JOB_INTERRUPTED_MSG,
		        (json_int_t)j->id) < 0)
			log_warnx("job %lld: %s", (long long)j->id, err.msg);
	jobs_watch_stop = true;
	pthread_cond_broadcast(&jobs_watch_cond);
	pthread_mutex_unlock(&jobs_lock);
	for (i = 0; i < jobs_nworkers; i++)
		pthread_join(jobs_workers[i], NULL);
	pthread_join(jobs_watcher, NULL);
	pthread_mutex_lock(&jobs_lock);
	jobs_nworkers = 0;
	jobs_started = false;
	jobs_stopping = false;
	pthread_mutex_unlock(&jobs_lock);
	jobs_output_changed();
}

/* noop: succeeds at once with one line of output. */
static int
job_noop_run(struct job *job, struct dr_error *err)
{
	job_printf(job, "noop job %lld\n", (long long)job->id);
	return 0;
}

/* Sleep until the monotonic time t, polling for cancellation every 100 ms. */
static int
job_sleep_until(struct job *job, int64_t t)
{
	int64_t now;

	while ((now = time_mono_us()) < t) {
		if (job_cancelled(job))
			return -1;
		usleep((useconds_t)(t - now < 100000 ? t - now : 100000));
	}
	return job_cancelled(job) ? -1 : 0;
}

/*
 * sleep {"seconds": N, "lines": M, "fail": bool}: M lines spread evenly over N seconds
 * (the first at once), then fails if asked. For tests and for trying the machinery.
 */
static int
job_sleep_run(struct job *job, struct dr_error *err)
{
	const json_t *p = job->params;
	json_t *v;
	double seconds = 0;
	json_int_t lines = 0, k;
	int64_t start = time_mono_us();

	if ((v = json_object_get(p, "seconds")) != NULL) {
		if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 86400)
			return dr_error_set(err, "params: seconds: must be a number 0 to 86400");
		seconds = json_number_value(v);
	}
	if ((v = json_object_get(p, "lines")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 1000000)
			return dr_error_set(err, "params: lines: must be an integer 0 to 1000000");
		lines = json_integer_value(v);
	}
	if ((v = json_object_get(p, "fail")) != NULL && !json_is_boolean(v))
		return dr_error_set(err, "params: fail: must be true or false");
	for (k = 0; k < lines; k++) {
		if (job_sleep_until(
		        job, start + (int64_t)(seconds * 1e6 * (double)k / (double)lines)) < 0)
			return dr_error_set(err, "cancelled");
		job_printf(job, "line %lld of %lld\n", (long long)k + 1, (long long)lines);
	}
	if (job_sleep_until(job, start + (int64_t)(seconds * 1e6)) < 0)
		return dr_error_set(err, "cancelled");
	if (json_is_true(json_object_get(p, "fail")))
		return dr_error_set(err, "failed on request");
	return 0;
}
