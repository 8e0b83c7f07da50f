/* test_schedule.c - schedules: validation, ticks with a fake clock, misfires, limits, DST. */
#include "tests/unit/unit.h"

#include <dirent.h>
#include <unistd.h>

static time_t fake_now;
static time_t fake_offset;

/* The test's clock. */
static time_t
fake_clock(void)
{
	return fake_now;
}

/* Real time shifted by fake_offset (for the thread test). */
static time_t
shifted_clock(void)
{
	return time(NULL) + fake_offset;
}

/* UTC "YYYY-MM-DDTHH:MM:SSZ" to Unix seconds. */
static time_t
utc(const char *iso)
{
	struct tm tm = {0};

	assert_non_null(strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm));
	return timegm(&tm);
}

static int
setup_store(void **state)
{
	char *dir = unit_dir_make("schedule");
	struct dr_error err;

	store_register_clear();
	job_init();
	schedule_init();
	if (store_open(dir, &err) < 0)
		fail_msg("%s", err.msg);
	fake_now = utc("2026-01-10T10:00:30Z");
	schedule_clock_set(fake_clock);
	*state = dir;
	return 0;
}

static int
teardown_store(void **state)
{
	char *dir = *state;

	schedule_stop();
	jobs_stop(0);
	schedule_clock_set(NULL);
	store_close();
	unit_dir_remove(dir);
	return 0;
}

/* Create from JSON text; the id, or -1 with err set. */
static int64_t
create(const char *spec_json, struct dr_error *err)
{
	json_error_t jerr;
	_cleanup_json_ json_t *spec = json_loads(spec_json, 0, &jerr);
	int64_t id = -1;

	if (spec == NULL)
		fail_msg("bad test JSON: %s", jerr.text);
	if (schedule_create(spec, &id, err) < 0)
		return -1;
	return id;
}

/* Create or fail the test. */
static int64_t
create_ok(const char *spec_json)
{
	struct dr_error err;
	int64_t id = create(spec_json, &err);

	if (id < 0)
		fail_msg("%s", err.msg);
	return id;
}

/* Jobs the schedule made. */
static int64_t
jobs_of(int64_t id)
{
	_cleanup_json_ json_t *rows = NULL,
	                      *filter = json_pack("{s:I}", "schedule_id", (json_int_t)id);
	struct dr_error err;
	int64_t total = -1;

	assert_int_equal(job_list(filter, 100, 0, &rows, &total, &err), 0);
	return total;
}

static json_int_t
iget(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* Tick, failing the test on a store error; returns the jobs enqueued. */
static int
tick(const char *iso)
{
	struct dr_error err;
	int n = schedule_tick(utc(iso), &err);

	if (n < 0)
		fail_msg("%s", err.msg);
	return n;
}

static void
test_validation(void **state)
{
	static const struct {
		const char *spec, *error;
	} cases[] = {
	    {"{\"cron\": \"* * * * *\", \"kind\": \"noop\"}", "name: required"},
	    {"{\"name\": \"\", \"cron\": \"* * * * *\", \"kind\": \"noop\"}",
	        "name: must be a non-empty string"},
	    {"{\"name\": \"a\", \"kind\": \"noop\"}", "cron: required"},
	    {"{\"name\": \"a\", \"cron\": \"61 * * * *\", \"kind\": \"noop\"}",
	        "cron: cron line '61 * * * *': minute 61 is out of range 0-59"},
	    {"{\"name\": \"a\", \"cron\": \"* * * * *\"}", "kind: required"},
	    {"{\"name\": \"a\", \"cron\": \"* * * * *\", \"kind\": \"bake\"}",
	        "kind: unknown job kind \"bake\""},
	    {"{\"name\": \"a\", \"cron\": \"* * * * *\", \"kind\": \"noop\","
	     " \"tz\": \"Mars/Olympus_Mons\"}",
	        "tz: unknown time zone 'Mars/Olympus_Mons'"},
	    {"{\"name\": \"a\", \"cron\": \"* * * * *\", \"kind\": \"noop\","
	     " \"misfire\": \"later\"}",
	        "misfire: must be \"run_once\" or \"skip\""},
	    {"{\"name\": \"a\", \"cron\": \"* * * * *\", \"kind\": \"noop\","
	     " \"max_iterations\": 0}",
	        "max_iterations: must be an integer of at least 1"},
	    {"{\"name\": \"a\", \"cron\": \"* * * * *\", \"kind\": \"noop\","
	     " \"start_at\": 2000, \"end_at\": 1000}",
	        "end_at: must be after start_at"},
	    {"{\"name\": \"a\", \"cron\": \"* * * * *\", \"kind\": \"noop\","
	     " \"start_at\": \"next tuesday\"}",
	        "start_at: "},
	    {"{\"name\": \"a\", \"cron\": \"* * * * *\", \"kind\": \"noop\","
	     " \"params\": [1]}",
	        "params: must be an object"},
	    {"{\"name\": \"a\", \"cron\": \"* * * * *\", \"kind\": \"noop\","
	     " \"enabled\": \"yes\"}",
	        "enabled: must be true or false"},
	    {"{\"name\": \"a\", \"cron\": \"* * * * *\", \"kind\": \"noop\","
	     " \"colour\": \"red\"}",
	        "colour: unknown field"},
	};
	struct dr_error err;
	json_t *list = NULL;
	size_t i;

	for (i = 0; i < nitems(cases); i++) {
		if (create(cases[i].spec, &err) != -1)
			fail_msg("case %zu was accepted: %s", i, cases[i].spec);
		if (strncmp(err.msg, cases[i].error, strlen(cases[i].error)) != 0)
			fail_msg("case %zu: \"%s\" does not start with \"%s\"", i, err.msg,
			    cases[i].error);
	}
	assert_int_equal(schedule_list(&list, &err), 0);
	assert_int_equal(json_array_size(list), 0); /* nothing half-created */
	json_decref(list);
	create_ok("{\"name\": \"a\", \"cron\": \"* * * * *\", \"kind\": \"noop\"}");
	assert_int_equal(
	    create("{\"name\": \"a\", \"cron\": \"0 * * * *\", \"kind\": \"noop\"}", &err), -1);
	assert_string_equal(err.msg, "name: a schedule named \"a\" already exists");
}

static void
test_tick_when_due(void **state)
{
	int64_t id;

	id = create_ok("{\"name\": \"five\", \"cron\": \"*/5 * * * *\", \"kind\": \"noop\","
	               " \"params\": {\"k\": \"v\"}, \"owner\": \"carol\"}");
	_cleanup_json_ json_t *s = schedule_get(id);
	assert_int_equal(iget(s, "next_run_at"), utc("2026-01-10T10:05:00Z"));
	assert_int_equal(iget(s, "created_at"), fake_now);
	assert_true(json_is_true(json_object_get(s, "enabled")));
	assert_string_equal(json_string_value(json_object_get(s, "tz")), "UTC");
	assert_string_equal(json_string_value(json_object_get(s, "misfire")), "run_once");

	assert_int_equal(tick("2026-01-10T10:04:59Z"), 0);
	assert_int_equal(jobs_of(id), 0);
	assert_int_equal(tick("2026-01-10T10:05:00Z"), 1);
	assert_int_equal(tick("2026-01-10T10:05:00Z"), 0); /* fired once only */
	assert_int_equal(tick("2026-01-10T10:09:59Z"), 0);
	assert_int_equal(jobs_of(id), 1);
	json_decref(s);
	s = schedule_get(id);
	assert_int_equal(iget(s, "iterations"), 1);
	assert_int_equal(iget(s, "last_run_at"), utc("2026-01-10T10:05:00Z"));
	assert_int_equal(iget(s, "next_run_at"), utc("2026-01-10T10:10:00Z"));
	/* A little late (within the grace) is not a misfire. */
	assert_int_equal(tick("2026-01-10T10:10:20Z"), 1);
	assert_int_equal(jobs_of(id), 2);

	/* The job carries the schedule's kind, params, owner and id. */
	_cleanup_json_ json_t *rows = NULL;
	struct dr_error err;
	int64_t total;
	assert_int_equal(job_list(NULL, 10, 0, &rows, &total, &err), 0);
	json_t *job = json_array_get(rows, 0);
	assert_string_equal(json_string_value(json_object_get(job, "kind")), "noop");
	assert_string_equal(json_string_value(json_object_get(job, "owner")), "carol");
	assert_int_equal(iget(job, "schedule_id"), id);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(job, "params"), "k")), "v");
	assert_string_equal(json_string_value(json_object_get(job, "state")), "queued");
}

static void
test_misfire(void **state)
{
	int64_t once, skip;

	once = create_ok("{\"name\": \"once\", \"cron\": \"0 * * * *\", \"kind\": \"noop\"}");
	skip = create_ok("{\"name\": \"skip\", \"cron\": \"0 * * * *\", \"kind\": \"noop\","
	                 " \"misfire\": \"skip\"}");
	/* Down from 10:00:30 to 15:30: the 11, 12, 13, 14 and 15 o'clock runs were missed. */
	assert_int_equal(tick("2026-01-10T15:30:00Z"), 1);
	assert_int_equal(jobs_of(once), 1);
	assert_int_equal(jobs_of(skip), 0);
	_cleanup_json_ json_t *a = schedule_get(once);
	_cleanup_json_ json_t *b = schedule_get(skip);
	assert_int_equal(iget(a, "next_run_at"), utc("2026-01-10T16:00:00Z"));
	assert_int_equal(iget(b, "next_run_at"), utc("2026-01-10T16:00:00Z"));
	assert_int_equal(iget(a, "iterations"), 1);
	assert_int_equal(iget(b, "iterations"), 0);
	assert_int_equal(iget(a, "last_run_at"), utc("2026-01-10T15:30:00Z"));
	assert_true(json_is_null(json_object_get(b, "last_run_at")));
	/* Back on time, both run. */
	assert_int_equal(tick("2026-01-10T16:00:01Z"), 2);
	assert_int_equal(jobs_of(skip), 1);
}

static void
test_limits(void **state)
{
	struct dr_error err;
	int64_t maxed, ended;

	maxed = create_ok("{\"name\": \"max\", \"cron\": \"0 * * * *\", \"kind\": \"noop\","
	                  " \"max_iterations\": 2}");
	ended = create_ok("{\"name\": \"end\", \"cron\": \"0 * * * *\", \"kind\": \"noop\","
	                  " \"end_at\": \"2026-01-10T12:30:00Z\"}");
	/* The next list already stops at the limits. */
	_cleanup_json_ json_t *m = schedule_get(maxed);
	_cleanup_json_ json_t *e = schedule_get(ended);
	assert_int_equal(json_array_size(json_object_get(m, "next_runs")), 2);
	assert_int_equal(json_array_size(json_object_get(e, "next_runs")), 2);
	assert_int_equal(tick("2026-01-10T11:00:00Z"), 2);
	assert_int_equal(tick("2026-01-10T12:00:00Z"), 2);
	assert_int_equal(tick("2026-01-10T13:00:00Z"), 0);
	assert_int_equal(tick("2026-01-10T14:00:00Z"), 0);
	assert_int_equal(jobs_of(maxed), 2);
	assert_int_equal(jobs_of(ended), 2);
	json_decref(m);
	json_decref(e);
	m = schedule_get(maxed);
	e = schedule_get(ended);
	assert_true(json_is_false(json_object_get(m, "enabled")));
	assert_true(json_is_false(json_object_get(e, "enabled")));
	assert_true(json_is_null(json_object_get(m, "next_run_at")));
	assert_int_equal(iget(m, "iterations"), 2);
	assert_int_equal(json_array_size(json_object_get(m, "next_runs")), 0);
	fake_now = utc("2026-01-10T14:10:00Z");
	assert_int_equal(schedule_set_enabled(maxed, true, &err), -1);
	assert_non_null(strstr(err.msg, "max_iterations"));
	assert_int_equal(schedule_set_enabled(ended, true, &err), -1);
}

static void
test_enable_disable_delete(void **state)
{
	struct dr_error err;
	int64_t id, other;
	json_t *list = NULL;

	id = create_ok("{\"name\": \"zeta\", \"cron\": \"0 * * * *\", \"kind\": \"noop\"}");
	other = create_ok("{\"name\": \"alpha\", \"cron\": \"0 0 * * *\", \"kind\": \"sleep\","
	                  " \"enabled\": false}");
	_cleanup_json_ json_t *o = schedule_get(other);
	assert_true(json_is_false(json_object_get(o, "enabled")));
	assert_true(json_is_null(json_object_get(o, "next_run_at")));
	assert_int_equal(schedule_set_enabled(id, false, &err), 0);
	assert_int_equal(tick("2026-01-10T11:00:00Z"), 0);
	/* Enabled again later: it continues from now, the disabled time is not a misfire. */
	fake_now = utc("2026-01-10T13:20:00Z");
	assert_int_equal(schedule_set_enabled(id, true, &err), 0);
	_cleanup_json_ json_t *s = schedule_get(id);
	assert_int_equal(iget(s, "next_run_at"), utc("2026-01-10T14:00:00Z"));
	assert_int_equal(tick("2026-01-10T13:20:00Z"), 0);
	assert_int_equal(tick("2026-01-10T14:00:00Z"), 1);

	assert_int_equal(schedule_list(&list, &err), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(list, 0), "name")), "alpha");
	assert_true(json_is_boolean(json_object_get(json_array_get(list, 1), "enabled")));
	json_decref(list);

	assert_int_equal(schedule_delete(id, &err), 0);
	assert_null(schedule_get(id));
	assert_int_equal(schedule_delete(id, &err), -1);
	assert_non_null(strstr(err.msg, "no such schedule"));
	assert_int_equal(schedule_set_enabled(id, true, &err), -1);
	assert_non_null(strstr(err.msg, "no such schedule"));
	assert_int_equal(jobs_of(id), 1); /* its jobs stay */
}

static void
test_start_at(void **state)
{
	int64_t id;

	/* Local time in the schedule's zone; the first run is at or after it. */
	id = create_ok("{\"name\": \"later\", \"cron\": \"0 9 * * *\", \"kind\": \"noop\","
	               " \"tz\": \"Europe/Berlin\", \"start_at\": \"2026-02-01T09:00:00\"}");
	_cleanup_json_ json_t *s = schedule_get(id);
	assert_int_equal(iget(s, "start_at"), utc("2026-02-01T08:00:00Z"));
	assert_int_equal(iget(s, "next_run_at"), utc("2026-02-01T08:00:00Z"));
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(s, "next_runs_local"), 1)),
	    "2026-02-02T09:00:00+01:00");
}

static void
test_dst_berlin(void **state)
{
	static const char *const spring[] = {"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z",
	    "2026-03-31T00:30:00Z", "2026-04-01T00:30:00Z", "2026-04-02T00:30:00Z"};
	int64_t id, fall;
	size_t i;

	fake_now = utc("2026-03-28T12:00:00Z");
	id = create_ok("{\"name\": \"nightly\", \"cron\": \"30 2 * * *\", \"kind\": \"noop\","
	               " \"tz\": \"Europe/Berlin\"}");
	_cleanup_json_ json_t *s = schedule_get(id);
	json_t *runs = json_object_get(s, "next_runs");
	assert_int_equal(json_array_size(runs), SCHEDULE_NEXT_SHOWN);
	for (i = 0; i < nitems(spring); i++)
		assert_int_equal(json_integer_value(json_array_get(runs, i)), utc(spring[i]));
	/* 02:30 does not exist on the 29th: it runs once, right after the gap. */
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(s, "next_runs_local"), 0)),
	    "2026-03-29T03:00:00+02:00");
	assert_int_equal(tick("2026-03-29T01:00:00Z"), 1);
	json_decref(s);
	s = schedule_get(id);
	assert_int_equal(iget(s, "next_run_at"), utc("2026-03-30T00:30:00Z"));

	/* 02:30 happens twice on 25 October: it runs at the first one only. */
	fake_now = utc("2026-10-24T12:00:00Z");
	fall = create_ok("{\"name\": \"fall\", \"cron\": \"30 2 * * *\", \"kind\": \"noop\","
	                 " \"tz\": \"Europe/Berlin\"}");
	_cleanup_json_ json_t *f = schedule_get(fall);
	runs = json_object_get(f, "next_runs");
	assert_int_equal(json_integer_value(json_array_get(runs, 0)), utc("2026-10-25T00:30:00Z"));
	assert_int_equal(json_integer_value(json_array_get(runs, 1)), utc("2026-10-26T01:30:00Z"));
}

static void
test_thread(void **state)
{
	struct dr_error err;
	int64_t id, t0;

	/* A clock that is 2 s before a minute boundary now and runs in real time. */
	fake_offset = 0;
	fake_offset = 58 - shifted_clock() % 60;
	schedule_clock_set(shifted_clock);
	assert_int_equal(schedule_start(&err), 0);
	assert_int_equal(schedule_start(&err), -1);
	/* Created after the thread went to sleep: the change wakes it. */
	id = create_ok("{\"name\": \"minutely\", \"cron\": \"* * * * *\", \"kind\": \"noop\"}");
	t0 = time_mono_us();
	while (jobs_of(id) == 0 && time_mono_us() - t0 < 5000000)
		usleep(50000);
	assert_int_equal(jobs_of(id), 1);
	assert_true(time_mono_us() - t0 < 4000000);
	t0 = time_mono_us();
	schedule_stop();
	assert_true(time_mono_us() - t0 < 1000000);
	_cleanup_json_ json_t *s = schedule_get(id);
	assert_int_equal(iget(s, "iterations"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_validation, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_tick_when_due, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_misfire, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_limits, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(
	        test_enable_disable_delete, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_start_at, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_dst_berlin, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_thread, setup_store, teardown_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
