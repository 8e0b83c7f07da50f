/* schedule.c - cron schedules that enqueue jobs, and the scheduler thread. */
#define LOG_COMPONENT "schedule"
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"

#define SCHEDULE_PARAMS_MAX (1024 * 1024)

static const struct store_migration schedule_migrations[] = {
    {"schedule", 1,
        "CREATE TABLE schedules ("
        " id INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL UNIQUE,"
        " cron TEXT NOT NULL,"
        " tz TEXT NOT NULL,"
        " start_at INTEGER,"
        " end_at INTEGER,"
        " max_iterations INTEGER,"
        " iterations INTEGER NOT NULL DEFAULT 0,"
        " misfire TEXT NOT NULL,"
        " enabled INTEGER NOT NULL,"
        " kind TEXT NOT NULL,"
        " params TEXT NOT NULL,"
        " owner TEXT,"
        " next_run_at INTEGER,"
        " last_run_at INTEGER,"
        " created_at INTEGER NOT NULL);"
        "CREATE INDEX schedules_due ON schedules (enabled, next_run_at);"},
};

#define SCHEDULE_COLUMNS                                                                          \
	"id, name, cron, tz, start_at, end_at, max_iterations, iterations, misfire, enabled,"     \
	" kind, params AS params_json, owner, next_run_at, last_run_at, created_at"

/* A validated spec; strings and params are borrowed from the JSON. */
struct schedule_spec {
	const char *name, *cron_line, *tz, *misfire, *kind, *owner;
	struct cron *cron;
	const json_t *params;
	json_int_t start_at, end_at, max_iterations; /* -1 = not given */
	bool enabled;
};

static pthread_mutex_t schedule_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t schedule_cond;
static pthread_once_t schedule_once = PTHREAD_ONCE_INIT;
static pthread_t schedule_thread;
static bool schedule_running, schedule_stopping;
static uint64_t schedule_gen; /* changes whenever a schedule changes */
static time_t (*schedule_clock)(void);

/* The real clock. */
static time_t
schedule_clock_real(void)
{
	return time(NULL);
}

/* The scheduler's notion of now. */
static time_t
schedule_now(void)
{
	time_t (*fn)(void);

	pthread_mutex_lock(&schedule_lock);
	fn = schedule_clock != NULL ? schedule_clock : schedule_clock_real;
	pthread_mutex_unlock(&schedule_lock);
	return fn();
}

/* Replace the clock (NULL: the real one). */
void
schedule_clock_set(time_t (*now)(void))
{
	pthread_mutex_lock(&schedule_lock);
	schedule_clock = now;
	pthread_mutex_unlock(&schedule_lock);
}

/* The condition variable waits on the monotonic clock. */
static void
schedule_once_init(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&schedule_cond, &attr);
	pthread_condattr_destroy(&attr);
}

/* Tell the scheduler thread that schedules changed. */
static void
schedule_changed(void)
{
	pthread_once(&schedule_once, schedule_once_init);
	pthread_mutex_lock(&schedule_lock);
	schedule_gen++;
	pthread_cond_broadcast(&schedule_cond);
	pthread_mutex_unlock(&schedule_lock);
}

/* Register the migrations. */
void
schedule_init(void)
{
	pthread_once(&schedule_once, schedule_once_init);
	store_register(schedule_migrations, nitems(schedule_migrations));
}

/* name: 1 to SCHEDULE_NAME_MAX printable characters. */
static int
schedule_parse_name(const json_t *v, struct schedule_spec *s, struct dr_error *err)
{
	const char *p;

	if (!json_is_string(v) || json_string_length(v) == 0)
		return dr_error_set(err, "must be a non-empty string");
	if (json_string_length(v) > SCHEDULE_NAME_MAX)
		return dr_error_set(err, "longer than %d bytes", SCHEDULE_NAME_MAX);
	for (p = json_string_value(v); *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return dr_error_set(err, "must not hold control characters");
	s->name = json_string_value(v);
	return 0;
}

/* cron: a line cron_parse accepts. */
static int
schedule_parse_cron(const json_t *v, struct schedule_spec *s, struct dr_error *err)
{
	if (!json_is_string(v))
		return dr_error_set(err, "must be a string");
	s->cron_line = json_string_value(v);
	return cron_parse(s->cron_line, &s->cron, err);
}

/* tz: a zone of the tz database. */
static int
schedule_parse_tz(const json_t *v, struct schedule_spec *s, struct dr_error *err)
{
	if (!json_is_string(v))
		return dr_error_set(err, "must be a string");
	if (tz_check(json_string_value(v), err) < 0)
		return -1;
	s->tz = json_string_value(v);
	return 0;
}

/* A time: Unix seconds, or ISO-8601 text read in the schedule's zone. */
static int
schedule_parse_time(
    const json_t *v, const struct schedule_spec *s, json_int_t *ret, struct dr_error *err)
{
	time_t t;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return dr_error_set(err, "must not be negative");
		*ret = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return dr_error_set(err, "must be Unix seconds or ISO-8601 text");
	if (tz_parse_time(json_string_value(v), s->tz, &t, err) < 0)
		return -1;
	*ret = (json_int_t)t;
	return 0;
}

/* start_at. */
static int
schedule_parse_start(const json_t *v, struct schedule_spec *s, struct dr_error *err)
{
	return schedule_parse_time(v, s, &s->start_at, err);
}

/* end_at: after start_at when both are given. */
static int
schedule_parse_end(const json_t *v, struct schedule_spec *s, struct dr_error *err)
{
	if (schedule_parse_time(v, s, &s->end_at, err) < 0)
		return -1;
	if (s->start_at >= 0 && s->end_at <= s->start_at)
		return dr_error_set(err, "must be after start_at");
	return 0;
}

/* max_iterations: a positive integer. */
static int
schedule_parse_max(const json_t *v, struct schedule_spec *s, struct dr_error *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return dr_error_set(err, "must be an integer of at least 1");
	s->max_iterations = json_integer_value(v);
	return 0;
}

/* misfire: run_once or skip. */
static int
schedule_parse_misfire(const json_t *v, struct schedule_spec *s, struct dr_error *err)
{
	static const char *const values[] = {"run_once", "skip"};
	size_t i;

	for (i = 0; json_is_string(v) && i < nitems(values); i++) {
		if (strcmp(json_string_value(v), values[i]) == 0) {
			s->misfire = values[i];
			return 0;
		}
	}
	return dr_error_set(err, "must be \"run_once\" or \"skip\"");
}

/* enabled: a boolean. */
static int
schedule_parse_enabled(const json_t *v, struct schedule_spec *s, struct dr_error *err)
{
	if (!json_is_boolean(v))
		return dr_error_set(err, "must be true or false");
	s->enabled = json_is_true(v);
	return 0;
}

/* kind: a registered job kind. */
static int
schedule_parse_kind(const json_t *v, struct schedule_spec *s, struct dr_error *err)
{
	if (!json_is_string(v))
		return dr_error_set(err, "must be a string");
	if (job_kind_find(json_string_value(v)) == NULL)
		return dr_error_set(err, "unknown job kind \"%s\"", json_string_value(v));
	s->kind = json_string_value(v);
	return 0;
}

/* params: an object of bounded size that the kind (parsed before) accepts. */
static int
schedule_parse_params(const json_t *v, struct schedule_spec *s, struct dr_error *err)
{
	_cleanup_free_ char *text = NULL;
	const struct job_kind *k = s->kind != NULL ? job_kind_find(s->kind) : NULL;

	if (!json_is_object(v))
		return dr_error_set(err, "must be an object");
	if (k != NULL && k->check != NULL && k->check(v, err) < 0)
		return -1;
	text = json_dumps(v, JSON_COMPACT);
	if (text == NULL || strlen(text) > SCHEDULE_PARAMS_MAX)
		return dr_error_set(err, "larger than %d bytes", SCHEDULE_PARAMS_MAX);
	s->params = v;
	return 0;
}

/* owner: a user name. */
static int
schedule_parse_owner(const json_t *v, struct schedule_spec *s, struct dr_error *err)
{
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 255)
		return dr_error_set(err, "must be a user name");
	s->owner = json_string_value(v);
	return 0;
}

/* The fields of a spec, in the order they are checked (tz before the times). */
static const struct schedule_field {
	const char *name;
	bool required;
	int (*parse)(const json_t *v, struct schedule_spec *s, struct dr_error *err);
} schedule_fields[] = {
    {"name", true, schedule_parse_name},
    {"cron", true, schedule_parse_cron},
    {"tz", false, schedule_parse_tz},
    {"start_at", false, schedule_parse_start},
    {"end_at", false, schedule_parse_end},
    {"max_iterations", false, schedule_parse_max},
    {"misfire", false, schedule_parse_misfire},
    {"enabled", false, schedule_parse_enabled},
    {"kind", true, schedule_parse_kind},
    {"params", false, schedule_parse_params},
    {"owner", false, schedule_parse_owner},
};

/* Validate a spec into s (s->cron is the caller's to free). */
static int
schedule_spec_parse(const json_t *spec, struct schedule_spec *s, struct dr_error *err)
{
	const struct schedule_field *f;
	const char *key;
	json_t *v;
	size_t i;

	*s = (struct schedule_spec){.tz = "UTC",
	    .misfire = "run_once",
	    .start_at = -1,
	    .end_at = -1,
	    .max_iterations = -1,
	    .enabled = true};
	if (!json_is_object(spec))
		return dr_error_set(err, "schedule: must be an object");
	json_object_foreach((json_t *)spec, key, v)
	{
		for (i = 0, f = NULL; i < nitems(schedule_fields) && f == NULL; i++)
			if (strcmp(schedule_fields[i].name, key) == 0)
				f = &schedule_fields[i];
		if (f == NULL)
			return dr_error_set(err, "%s: unknown field", key);
	}
	for (i = 0; i < nitems(schedule_fields); i++) {
		f = &schedule_fields[i];
		if ((v = json_object_get(spec, f->name)) == NULL || json_is_null(v)) {
			if (f->required)
				return dr_error_set(err, "%s: required", f->name);
			continue;
		}
		if (f->parse(v, s, err) < 0)
			return dr_error_prefix(err, "%s: ", f->name);
	}
	return 0;
}

/*
 * The first fire time strictly after `after` that is within end_at (-1: none) and leaves
 * room under max_iterations (-1: none) given `done` runs so far; *ret = 0 when none.
 */
static int
schedule_next(const struct cron *c, const char *tz, time_t after, json_int_t end_at,
    json_int_t max_iterations, json_int_t done, time_t *ret, struct dr_error *err)
{
	time_t t;

	if (max_iterations > 0 && done >= max_iterations) {
		*ret = 0;
		return 0;
	}
	if (cron_next(c, tz, after, &t, err) < 0)
		return -1;
	*ret = end_at >= 0 && t > end_at ? 0 : t;
	return 0;
}

/* Create a schedule. */
int
schedule_create(const json_t *spec, int64_t *ret_id, struct dr_error *err)
{
	_cleanup_json_ json_t *dup = NULL, *empty = json_object();
	struct schedule_spec s;
	time_t now = schedule_now(), next = 0, after;
	int64_t id;
	int rc = -1;

	if (schedule_spec_parse(spec, &s, err) < 0)
		goto out;
	dup = store_query_one(err, "SELECT id FROM schedules WHERE name = ?", "[s]", s.name);
	if (dup != NULL) {
		dr_error_set(err, "name: a schedule named \"%s\" already exists", s.name);
		goto out;
	}
	if (err != NULL && err->msg[0] != '\0')
		goto out;
	after = s.start_at > now ? (time_t)s.start_at - 1 : now;
	if (s.enabled &&
	    schedule_next(s.cron, s.tz, after, s.end_at, s.max_iterations, 0, &next, err) < 0)
		goto out;
	if (store_execf(NULL, &id, err,
	        "INSERT INTO schedules (name, cron, tz, start_at, end_at, max_iterations,"
	        " iterations, misfire, enabled, kind, params, owner, next_run_at, created_at)"
	        " VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)",
	        "[sssooosbsOs?oI]", s.name, s.cron_line, s.tz,
	        s.start_at >= 0 ? json_integer(s.start_at) : json_null(),
	        s.end_at >= 0 ? json_integer(s.end_at) : json_null(),
	        s.max_iterations > 0 ? json_integer(s.max_iterations) : json_null(), s.misfire,
	        (int)s.enabled, s.kind, s.params != NULL ? s.params : empty, s.owner,
	        next > 0 ? json_integer(next) : json_null(), (json_int_t)now) < 0)
		goto out;
	*ret_id = id;
	rc = 0;
	schedule_changed();
out:
	cron_free(s.cron);
	return rc;
}

/* Delete a schedule (its jobs stay, with their schedule_id). */
int
schedule_delete(int64_t id, struct dr_error *err)
{
	int64_t changes;

	if (store_execf(&changes, NULL, err, "DELETE FROM schedules WHERE id = ?", "[I]",
	        (json_int_t)id) < 0)
		return -1;
	if (changes == 0)
		return dr_error_set(err, "schedule %lld: no such schedule", (long long)id);
	schedule_changed();
	return 0;
}

/* Read one schedule row. */
static json_t *
schedule_row(int64_t id, struct dr_error *err)
{
	return store_query_one(
	    err, "SELECT " SCHEDULE_COLUMNS " FROM schedules WHERE id = ?", "[I]", (json_int_t)id);
}

/* An integer column that may be null: -1 for null. */
static json_int_t
schedule_int(const json_t *row, const char *key)
{
	json_t *v = json_object_get(row, key);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* Enable or disable a schedule. */
int
schedule_set_enabled(int64_t id, bool enabled, struct dr_error *err)
{
	_cleanup_json_ json_t *row = NULL;
	struct cron *c = NULL;
	time_t next = 0, now = schedule_now(), after;
	json_int_t start_at, end_at, max, done;
	int rc;

	if ((row = schedule_row(id, err)) == NULL)
		return err != NULL && err->msg[0] != '\0'
		    ? -1
		    : dr_error_set(err, "schedule %lld: no such schedule", (long long)id);
	if (enabled) {
		start_at = schedule_int(row, "start_at");
		end_at = schedule_int(row, "end_at");
		max = schedule_int(row, "max_iterations");
		done = schedule_int(row, "iterations");
		if (cron_parse(json_string_value(json_object_get(row, "cron")), &c, err) < 0)
			return dr_error_prefix(err, "schedule %lld: cron: ", (long long)id);
		after = start_at > now ? (time_t)start_at - 1 : now;
		rc = schedule_next(c, json_string_value(json_object_get(row, "tz")), after, end_at,
		    max, done, &next, err);
		cron_free(c);
		if (rc < 0)
			return dr_error_prefix(err, "schedule %lld: ", (long long)id);
		if (next == 0)
			return dr_error_set(err,
			    "schedule %lld: has reached its end_at or max_iterations",
			    (long long)id);
	}
	if (store_execf(NULL, NULL, err,
	        "UPDATE schedules SET enabled = ?, next_run_at = ? WHERE id = ?", "[boI]",
	        (int)enabled, next > 0 ? json_integer(next) : json_null(), (json_int_t)id) < 0)
		return -1;
	schedule_changed();
	return 0;
}

/* Present a row: enabled as a boolean. */
static void
schedule_present(json_t *row)
{
	json_object_set_new(row, "enabled",
	    json_boolean(json_integer_value(json_object_get(row, "enabled")) != 0));
}

/* One schedule with its next fire times. */
json_t *
schedule_get(int64_t id)
{
	_cleanup_json_ json_t *row = NULL;
	json_t *runs = json_array(), *local = json_array();
	struct cron *c = NULL;
	const char *tz;
	json_int_t end_at, max, done;
	time_t t, next;
	char buf[64];
	int n;

	if ((row = schedule_row(id, NULL)) == NULL) {
		json_decref(runs);
		json_decref(local);
		return NULL;
	}
	schedule_present(row);
	json_object_set_new(row, "next_runs", runs);
	json_object_set_new(row, "next_runs_local", local);
	tz = json_string_value(json_object_get(row, "tz"));
	end_at = schedule_int(row, "end_at");
	max = schedule_int(row, "max_iterations");
	done = schedule_int(row, "iterations");
	t = (time_t)schedule_int(row, "next_run_at");
	if (t < 0 || cron_parse(json_string_value(json_object_get(row, "cron")), &c, NULL) < 0)
		return TAKE_PTR(row);
	for (n = 0; n < SCHEDULE_NEXT_SHOWN && t > 0; n++) {
		json_array_append_new(runs, json_integer(t));
		if (tz_format(tz, t, buf, sizeof buf, NULL) == 0)
			json_array_append_new(local, json_string(buf));
		if (schedule_next(c, tz, t, end_at, max, done + n + 1, &next, NULL) < 0)
			break;
		t = next;
	}
	cron_free(c);
	return TAKE_PTR(row);
}

/* Every schedule, by name. */
int
schedule_list(json_t **ret, struct dr_error *err)
{
	json_t *rows, *row;
	size_t i;

	if (store_query(
	        "SELECT " SCHEDULE_COLUMNS " FROM schedules ORDER BY name", NULL, &rows, err) < 0)
		return -1;
	json_array_foreach(rows, i, row) schedule_present(row);
	*ret = rows;
	return 0;
}

/*
 * Fire one due schedule: enqueue its job (unless a missed time is skipped) and move
 * next_run_at past now, in one transaction so that a crash cannot fire it twice. The
 * conditional UPDATE lets only one scheduler fire a given time. Returns 1 when a job was
 * enqueued, 0 when not, -1 on a store failure; *why says why a schedule could not run.
 */
static int
schedule_fire(const json_t *row, time_t now, struct dr_error *why, struct dr_error *err)
{
	json_int_t id = schedule_int(row, "id"), due = schedule_int(row, "next_run_at");
	json_int_t done = schedule_int(row, "iterations");
	const char *tz = json_string_value(json_object_get(row, "tz"));
	const char *name = json_string_value(json_object_get(row, "name"));
	const char *misfire = json_string_value(json_object_get(row, "misfire"));
	struct dr_error local;
	struct cron *c = NULL;
	bool late, run;
	time_t next = 0;
	int64_t changes, job = 0;

	late = now - due > SCHEDULE_MISFIRE_GRACE;
	run = !late || strcmp(misfire, "run_once") == 0;
	if (cron_parse(json_string_value(json_object_get(row, "cron")), &c, &local) < 0 ||
	    schedule_next(c, tz, now, schedule_int(row, "end_at"),
	        schedule_int(row, "max_iterations"), done + run, &next, &local) < 0) {
		/* Cannot compute a next time: disable rather than spin on it. */
		run = false;
		next = 0;
		dr_error_prefix(&local, "schedule %s: ", name);
		if (why->msg[0] == '\0')
			*why = local;
	}
	cron_free(c);
	if (store_begin(err) < 0)
		return -1;
	if (store_execf(&changes, NULL, err,
	        "UPDATE schedules SET next_run_at = ?, enabled = ?, iterations = ?,"
	        " last_run_at = ? WHERE id = ? AND next_run_at = ?",
	        "[obIoII]", next > 0 ? json_integer(next) : json_null(), next > 0,
	        done + (run ? 1 : 0),
	        run ? json_integer(now) : json_incref(json_object_get(row, "last_run_at")), id,
	        due) < 0)
		goto fail;
	if (changes == 0) { /* another scheduler fired it */
		store_rollback();
		return 0;
	}
	if (run &&
	    job_submit_scheduled(json_string_value(json_object_get(row, "kind")),
	        json_object_get(row, "params"), json_string_value(json_object_get(row, "owner")),
	        0, id, &job, &local) < 0) {
		/* The kind went away (its module is not loaded): the time passes unrun. */
		run = false;
		dr_error_prefix(&local, "schedule %s: ", name);
		if (why->msg[0] == '\0')
			*why = local;
	}
	if (store_commit(err) < 0)
		return -1;
	if (run)
		jobs_wake();
	return run ? 1 : 0;
fail:
	store_rollback();
	return -1;
}

/* Enqueue the jobs due at now. */
int
schedule_tick(time_t now, struct dr_error *err)
{
	_cleanup_json_ json_t *rows = NULL;
	struct dr_error why = {.msg = ""};
	json_t *row;
	size_t i;
	int n = 0, rc;

	if (store_queryf(&rows, err,
	        "SELECT " SCHEDULE_COLUMNS " FROM schedules WHERE enabled = 1"
	        " AND next_run_at IS NOT NULL AND next_run_at <= ? ORDER BY next_run_at, id",
	        "[I]", (json_int_t)now) < 0)
		return -1;
	json_array_foreach(rows, i, row)
	{
		if ((rc = schedule_fire(row, now, &why, err)) < 0)
			return -1;
		n += rc;
	}
	if (err != NULL)
		*err = why;
	return n;
}

/* The scheduler thread: tick, then sleep until the earliest next run or a change. */
static void *
schedule_main(void *arg)
{
	struct dr_error err;
	json_t *row;
	time_t now;
	int64_t wait_s, next;
	uint64_t gen;

	pthread_mutex_lock(&schedule_lock);
	while (!schedule_stopping) {
		gen = schedule_gen;
		pthread_mutex_unlock(&schedule_lock);
		dr_error_clear(&err);
		if (schedule_tick(schedule_now(), &err) < 0 || err.msg[0] != '\0')
			log_warnx("%s", err.msg);
		wait_s = SCHEDULE_WAKE_MAX;
		row = store_query_one(&err,
		    "SELECT MIN(next_run_at) AS next FROM schedules WHERE enabled = 1", NULL);
		if (row == NULL && err.msg[0] != '\0')
			log_warnx("%s", err.msg);
		if (json_is_integer(json_object_get(row, "next"))) {
			next = json_integer_value(json_object_get(row, "next"));
			now = schedule_now();
			/* Whole seconds: now is truncated, so waking at next - now is not early.
			 */
			wait_s = next <= now ? 1 : next - now;
			if (wait_s > SCHEDULE_WAKE_MAX)
				wait_s = SCHEDULE_WAKE_MAX;
		}
		json_decref(row);
		pthread_mutex_lock(&schedule_lock);
		if (!schedule_stopping && gen == schedule_gen) {
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += wait_s;
			pthread_cond_timedwait(&schedule_cond, &schedule_lock, &ts);
		}
	}
	pthread_mutex_unlock(&schedule_lock);
	return NULL;
}

/* Start the scheduler thread. */
int
schedule_start(struct dr_error *err)
{
	pthread_once(&schedule_once, schedule_once_init);
	pthread_mutex_lock(&schedule_lock);
	if (schedule_running) {
		pthread_mutex_unlock(&schedule_lock);
		return dr_error_set(err, "the scheduler is already running");
	}
	schedule_stopping = false;
	if (pthread_create(&schedule_thread, NULL, schedule_main, NULL) != 0) {
		pthread_mutex_unlock(&schedule_lock);
		return dr_error_errno(err, "cannot start the scheduler thread");
	}
	schedule_running = true;
	pthread_mutex_unlock(&schedule_lock);
	return 0;
}

/* Stop the scheduler thread and wait for it. */
void
schedule_stop(void)
{
	pthread_mutex_lock(&schedule_lock);
	if (!schedule_running) {
		pthread_mutex_unlock(&schedule_lock);
		return;
	}
	schedule_stopping = true;
	pthread_cond_broadcast(&schedule_cond);
	pthread_mutex_unlock(&schedule_lock);
	pthread_join(schedule_thread, NULL);
	pthread_mutex_lock(&schedule_lock);
	schedule_running = false;
	pthread_mutex_unlock(&schedule_lock);
}
