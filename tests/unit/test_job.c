/* test_job.c - the job queue: workers, output following, cancel, timeout, restart, stop. */
#include "tests/unit/unit.h"

#include <dirent.h>
#include <pthread.h>
#include <unistd.h>

/* A fresh state directory with the job tables. */
static int
setup_store(void **state)
{
	char *dir = unit_dir_make("job");
	struct dr_error err;

	store_register_clear();
	job_init();
	job_output_set_max(JOB_OUTPUT_MAX);
	if (store_open(dir, &err) < 0)
		fail_msg("%s", err.msg);
	*state = dir;
	return 0;
}

/* Stop the workers, close the store, remove the directory. */
static int
teardown_store(void **state)
{
	char *dir = *state;

	jobs_stop(0);
	store_close();
	unit_dir_remove(dir);
	return 0;
}

/* Poll until job id is in state (or fail after timeout_ms); returns the job. */
static json_t *
wait_state(int64_t id, const char *state, int timeout_ms)
{
	int64_t end = time_mono_us() + (int64_t)timeout_ms * 1000;
	json_t *job;

	for (;;) {
		job = job_get(id);
		assert_non_null(job);
		if (strcmp(json_string_value(json_object_get(job, "state")), state) == 0)
			return job;
		if (time_mono_us() > end)
			fail_msg("job %lld is %s, not %s, after %d ms", (long long)id,
			    json_string_value(json_object_get(job, "state")), state, timeout_ms);
		json_decref(job);
		usleep(10000);
	}
}

/* Submit a job, failing the test on error. */
static int64_t
submit(const char *kind, const char *params_json, int timeout)
{
	_cleanup_json_ json_t *params = json_loads(params_json, 0, NULL);
	struct dr_error err;
	int64_t id = 0;

	assert_non_null(params);
	if (job_submit(kind, params, "alice", timeout, &id, &err) < 0)
		fail_msg("%s", err.msg);
	return id;
}

/* The whole output of a job. */
static char *
output_of(int64_t id, bool *finished)
{
	struct buf out = BUF_INIT(0);
	struct dr_error err;
	int64_t next;

	assert_int_equal(job_output_read(id, 0, SIZE_MAX, &out, &next, finished, &err), 0);
	assert_int_equal(next, (int64_t)out.len);
	return buf_steal(&out);
}

static const char *
sget(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_int_t
iget(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void
test_noop(void **state)
{
	struct dr_error err;
	bool finished = false;
	int64_t id;

	assert_int_equal(jobs_start(2, &err), 0);
	assert_int_equal(jobs_start(2, &err), -1);
	assert_non_null(strstr(err.msg, "already running"));
	id = submit("noop", "{\"x\": 1}", 0);
	_cleanup_json_ json_t *job = wait_state(id, "succeeded", 5000);
	assert_string_equal(sget(job, "kind"), "noop");
	assert_string_equal(sget(job, "owner"), "alice");
	assert_int_equal(iget(json_object_get(job, "params"), "x"), 1);
	assert_int_equal(iget(job, "timeout"), 60); /* the kind's */
	assert_true(iget(job, "created_at") <= iget(job, "started_at"));
	assert_true(iget(job, "started_at") <= iget(job, "finished_at"));
	assert_true(json_is_null(json_object_get(job, "error")));
	assert_true(json_is_null(json_object_get(job, "schedule_id")));
	assert_int_equal(json_array_size(json_object_get(job, "items")), 0);
	_cleanup_free_ char *out = output_of(id, &finished);
	_cleanup_free_ char *want = xasprintf("noop job %lld\n", (long long)id);
	assert_string_equal(out, want);
	assert_int_equal(iget(job, "output_bytes"), strlen(want));
	assert_true(finished);
	assert_null(job_get(id + 100));
}

static void
test_submit_errors(void **state)
{
	_cleanup_json_ json_t *arr = json_array();
	struct dr_error err;
	int64_t id = -7;

	assert_int_equal(job_submit("no-such-kind", NULL, "alice", 0, &id, &err), -1);
	assert_non_null(strstr(err.msg, "unknown job kind \"no-such-kind\""));
	assert_int_equal(job_submit("noop", arr, "alice", 0, &id, &err), -1);
	assert_non_null(strstr(err.msg, "params"));
	assert_int_equal(job_submit("noop", NULL, "alice", -1, &id, &err), -1);
	assert_non_null(strstr(err.msg, "timeout"));
	assert_int_equal(id, -7); /* untouched on failure */
	assert_int_equal(jobs_start(0, &err), -1);
	assert_non_null(strstr(err.msg, "workers"));
}

static void
test_sleep_followed_live(void **state)
{
	struct buf all = BUF_INIT(0), part = BUF_INIT(0);
	struct dr_error err;
	int64_t id, offset = 0, t0;
	bool finished = false, seen_running = false;
	int reads = 0;

	assert_int_equal(jobs_start(1, &err), 0);
	t0 = time_mono_us();
	id = submit("sleep", "{\"seconds\": 1.0, \"lines\": 5}", 0);
	while (!finished) {
		int rc = job_output_wait(id, offset, 3000);

		assert_int_equal(rc, 1);
		assert_int_equal(
		    job_output_read(id, offset, 1 << 20, &all, &offset, &finished, &err), 0);
		if (!finished && all.len > 0)
			seen_running = true;
		assert_true(++reads < 100);
	}
	/* The first line reached the follower long before the job ended. */
	assert_true(seen_running);
	assert_true(time_mono_us() - t0 >= 900000);
	assert_string_equal(all.data,
	    "line 1 of 5\nline 2 of 5\nline 3 of 5\nline 4 of 5\n"
	    "line 5 of 5\n");
	_cleanup_json_ json_t *job = job_get(id);
	assert_string_equal(sget(job, "state"), "succeeded");
	/* Reading from a byte offset, and a read smaller than a chunk. */
	assert_int_equal(job_output_read(id, 12, 1 << 20, &part, &offset, &finished, &err), 0);
	assert_string_equal(part.data, all.data + 12);
	assert_true(finished);
	buf_reset(&part);
	assert_int_equal(job_output_read(id, 2, 5, &part, &offset, &finished, &err), 0);
	assert_string_equal(part.data, "ne 1 ");
	assert_int_equal(offset, 7);
	assert_false(finished);
	/* Past the end: nothing, finished. */
	buf_reset(&part);
	assert_int_equal(
	    job_output_read(id, (int64_t)all.len, 100, &part, &offset, &finished, &err), 0);
	assert_int_equal(part.len, 0);
	assert_true(finished);
	assert_int_equal(job_output_read(id + 1000, 0, 100, &part, &offset, &finished, &err), -1);
	assert_non_null(strstr(err.msg, "no such job"));
	assert_int_equal(job_output_wait(id + 1000, 0, 10), -1);
	buf_free(&all);
	buf_free(&part);
}

static void
test_output_wait_wakes(void **state)
{
	struct dr_error err;
	int64_t id, t0, waited;

	assert_int_equal(jobs_start(1, &err), 0);
	/* Two lines 600 ms apart. */
	id = submit("sleep", "{\"seconds\": 1.2, \"lines\": 2}", 0);
	assert_int_equal(job_output_wait(id, 0, 3000), 1);
	/* Nothing new yet: a short wait times out. */
	assert_int_equal(job_output_wait(id, strlen("line 1 of 2\n"), 50), 0);
	/* The second line wakes the follower well before its 5 s timeout. */
	t0 = time_mono_us();
	assert_int_equal(job_output_wait(id, strlen("line 1 of 2\n"), 5000), 1);
	waited = time_mono_us() - t0;
	assert_true(waited < 1500000);
	_cleanup_free_ char *out = output_of(id, &(bool){false});
	assert_string_equal(out, "line 1 of 2\nline 2 of 2\n");
}

static void
test_cancel_queued(void **state)
{
	struct dr_error err;
	int64_t id;

	id = submit("noop", "{}", 0); /* no workers: it stays queued */
	assert_int_equal(job_cancel(id, &err), 0);
	_cleanup_json_ json_t *job = job_get(id);
	assert_string_equal(sget(job, "state"), "cancelled");
	assert_true(iget(job, "finished_at") > 0);
	assert_int_equal(job_cancel(id, &err), -1);
	assert_non_null(strstr(err.msg, "already cancelled"));
	assert_int_equal(job_cancel(id + 50, &err), -1);
	assert_non_null(strstr(err.msg, "no such job"));
	/* A worker started later does not run it. */
	assert_int_equal(jobs_start(1, &err), 0);
	usleep(300000);
	json_decref(job);
	job = job_get(id);
	assert_string_equal(sget(job, "state"), "cancelled");
	assert_true(json_is_null(json_object_get(job, "started_at")));
}

static void
test_cancel_running(void **state)
{
	struct dr_error err;
	int64_t id, t0;

	assert_int_equal(jobs_start(1, &err), 0);
	id = submit("sleep", "{\"seconds\": 30, \"lines\": 1}", 0);
	json_decref(wait_state(id, "running", 5000));
	t0 = time_mono_us();
	assert_int_equal(job_cancel(id, &err), 0);
	_cleanup_json_ json_t *job = wait_state(id, "cancelled", 2000);
	assert_true(time_mono_us() - t0 < 1000000); /* polled at least every 100 ms */
	assert_string_equal(sget(job, "error"), "cancelled while running");
	_cleanup_free_ char *out = output_of(id, &(bool){false});
	assert_string_equal(out, "line 1 of 1\n");
}

static void
test_timeout(void **state)
{
	struct dr_error err;
	int64_t id, t0;

	assert_int_equal(jobs_start(1, &err), 0);
	t0 = time_mono_us();
	id = submit("sleep", "{\"seconds\": 20}", 1);
	_cleanup_json_ json_t *job = wait_state(id, "failed", 4000);
	assert_true(time_mono_us() - t0 >= 1000000);
	assert_string_equal(sget(job, "error"), "timed out after 1 s");
	assert_int_equal(iget(job, "timeout"), 1);
}

/* jobs.default_timeout applies when neither the submitter nor the kind sets one. */
static void
test_default_timeout(void **state)
{
	int64_t id, explicit_id;

	job_default_timeout_set(7);
	id = submit("sleep", "{\"seconds\": 0}", 0);
	explicit_id = submit("sleep", "{\"seconds\": 0}", 3);
	job_default_timeout_set(0);
	_cleanup_json_ json_t *job = job_get(id);
	_cleanup_json_ json_t *other = job_get(explicit_id);
	assert_int_equal(iget(job, "timeout"), 7);
	assert_int_equal(iget(other, "timeout"), 3);
}

static void
test_failures(void **state)
{
	struct dr_error err;
	int64_t a, b;

	assert_int_equal(jobs_start(2, &err), 0);
	a = submit("sleep", "{\"fail\": true, \"lines\": 1}", 0);
	b = submit("sleep", "{\"seconds\": \"soon\"}", 0);
	_cleanup_json_ json_t *ja = wait_state(a, "failed", 3000);
	_cleanup_json_ json_t *jb = wait_state(b, "failed", 3000);
	assert_string_equal(sget(ja, "error"), "failed on request");
	assert_non_null(strstr(sget(jb, "error"), "seconds"));
	/* Output written before the failure is kept. */
	_cleanup_free_ char *out = output_of(a, &(bool){false});
	assert_string_equal(out, "line 1 of 1\n");
}

static void
test_restart_marks_interrupted(void **state)
{
	struct dr_error err;
	int64_t id;

	/* A job a previous process was running when it died. */
	assert_int_equal(
	    store_execf(NULL, &id, &err,
	        "INSERT INTO jobs (kind, state, params, owner, created_at, started_at,"
	        " timeout) VALUES ('noop', 'running', '{}', 'bob', 1, 2, 0)",
	        NULL),
	    0);
	assert_int_equal(jobs_start(1, &err), 0);
	_cleanup_json_ json_t *job = job_get(id);
	assert_string_equal(sget(job, "state"), "interrupted");
	assert_string_equal(sget(job, "error"), "droverd stopped while the job was running");
	assert_true(iget(job, "finished_at") >= time(NULL) - 5);
	/* Followers of it are told it ended. */
	assert_int_equal(job_output_wait(id, 0, 10), 1);
}

static void
test_stop_grace(void **state)
{
	struct dr_error err;
	int64_t quick, slow, waiting, t0, took;

	assert_int_equal(jobs_start(2, &err), 0);
	quick = submit("sleep", "{\"seconds\": 0.5}", 0);
	slow = submit("sleep", "{\"seconds\": 60}", 0);
	json_decref(wait_state(quick, "running", 3000));
	json_decref(wait_state(slow, "running", 3000));
	waiting = submit("noop", "{}", 0);
	t0 = time_mono_us();
	jobs_stop(1);
	took = time_mono_us() - t0;
	/* The grace was used, and the cancel that followed was answered promptly. */
	assert_true(took >= 1000000);
	assert_true(took < 2500000);
	_cleanup_json_ json_t *jq = job_get(quick);
	_cleanup_json_ json_t *js = job_get(slow);
	_cleanup_json_ json_t *jw = job_get(waiting);
	assert_string_equal(sget(jq, "state"), "succeeded");
	assert_string_equal(sget(js, "state"), "interrupted");
	assert_string_equal(sget(js, "error"), "droverd stopped while the job was running");
	/* Not claimed after the stop began; it runs at the next start. */
	assert_string_equal(sget(jw, "state"), "queued");
	assert_int_equal(jobs_start(1, &err), 0);
	json_decref(wait_state(waiting, "succeeded", 3000));
}

/* A handler that never looks at job_cancelled(). */
static int
stubborn_run(struct job *job, struct dr_error *err)
{
	usleep(3300000);
	return 0;
}

static const struct job_kind stubborn_kind = {"stubborn", stubborn_run, 0};

static void
test_stop_stubborn(void **state)
{
	struct dr_error err;
	int64_t id;

	job_kind_register(&stubborn_kind);
	assert_int_equal(jobs_start(1, &err), 0);
	id = submit("stubborn", "{}", 0);
	json_decref(wait_state(id, "running", 3000));
	jobs_stop(0);
	/* Recorded as interrupted, and its late return did not overwrite that. */
	_cleanup_json_ json_t *job = job_get(id);
	assert_string_equal(sget(job, "state"), "interrupted");
}

/* Writes 100 lines of 100 bytes. */
static int
spew_run(struct job *job, struct dr_error *err)
{
	char line[100];

	memset(line, 'x', sizeof line - 1);
	line[sizeof line - 1] = '\n';
	for (int i = 0; i < 100; i++)
		job_write(job, line, sizeof line);
	return 0;
}

static const struct job_kind spew_kind = {"spew", spew_run, 0};

static void
test_output_cap(void **state)
{
	struct dr_error err;
	int64_t id;
	json_t *row;

	job_kind_register(&spew_kind);
	job_output_set_max(1050);
	assert_int_equal(jobs_start(1, &err), 0);
	id = submit("spew", "{}", 0);
	json_decref(wait_state(id, "succeeded", 3000));
	_cleanup_free_ char *out = output_of(id, &(bool){false});
	const char *marker = "\n[output truncated: more than 1050 bytes]\n";
	assert_int_equal(strlen(out), 1050 + strlen(marker));
	assert_string_equal(out + 1050, marker);
	assert_int_equal(out[1049], 'x');
	job_output_set_max(JOB_OUTPUT_MAX);
	/* Without a cap, a burst of lines is stored in a few chunks, not one per line. */
	id = submit("spew", "{}", 0);
	json_decref(wait_state(id, "succeeded", 3000));
	_cleanup_free_ char *full = output_of(id, &(bool){false});
	assert_int_equal(strlen(full), 100 * 100);
	row = store_query_one(
	    &err, "SELECT COUNT(*) AS n FROM job_output WHERE job_id = ?", "[I]", (json_int_t)id);
	assert_true(iget(row, "n") >= 1);
	assert_true(iget(row, "n") <= 5);
	json_decref(row);
}

/* Writes invalid UTF-8, sets items and a result. */
static int
items_run(struct job *job, struct dr_error *err)
{
	_cleanup_json_ json_t *d1 = json_pack("{s:b}", "changed", 1);
	_cleanup_json_ json_t *d2 = json_pack("{s:b}", "changed", 0);

	job_item_set(job, "web2", "failed", NULL);
	job_item_set(job, "web1", "running", d1);
	job_item_set(job, "web1", "ok", d2);
	job_result_set(job, json_pack("{s:i}", "hosts", 2));
	/* One write ends inside a character; the next completes it. */
	job_write(job, "caf\xc3", 4);
	job_write(job, "\xa9 \xff\n", 4);
	return 0;
}

static const struct job_kind items_kind = {"items", items_run, 0};

static void
test_items_and_result(void **state)
{
	struct dr_error err;
	int64_t id;
	json_t *items;

	job_kind_register(&items_kind);
	assert_int_equal(jobs_start(1, &err), 0);
	id = submit("items", "{}", 0);
	_cleanup_json_ json_t *job = wait_state(id, "succeeded", 3000);
	items = json_object_get(job, "items");
	assert_int_equal(json_array_size(items), 2);
	assert_string_equal(sget(json_array_get(items, 0), "item"), "web1");
	assert_string_equal(sget(json_array_get(items, 0), "state"), "ok");
	assert_true(json_is_false(
	    json_object_get(json_object_get(json_array_get(items, 0), "data"), "changed")));
	assert_string_equal(sget(json_array_get(items, 1), "item"), "web2");
	assert_true(json_is_null(json_object_get(json_array_get(items, 1), "data")));
	assert_int_equal(iget(json_object_get(job, "result"), "hosts"), 2);
	_cleanup_free_ char *out = output_of(id, &(bool){false});
	assert_string_equal(out, "caf\xc3\xa9 \xef\xbf\xbd\n");
}

/* Records the order jobs run in. */
static int64_t order_seen[8];
static int order_n;

static int
order_run(struct job *job, struct dr_error *err)
{
	if (order_n < 8)
		order_seen[order_n++] = job_id(job);
	return 0;
}

static const struct job_kind order_kind = {"order", order_run, 0};

static void
test_claim_order(void **state)
{
	struct dr_error err;
	int64_t ids[5];
	int i;

	job_kind_register(&order_kind);
	order_n = 0;
	for (i = 0; i < 5; i++)
		ids[i] = submit("order", "{}", 0);
	assert_int_equal(jobs_start(1, &err), 0);
	json_decref(wait_state(ids[4], "succeeded", 3000));
	assert_int_equal(order_n, 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(order_seen[i], ids[i]);
}

static void
test_counts_and_list(void **state)
{
	_cleanup_json_ json_t *rows = NULL, *filter = NULL, *counts = NULL;
	struct dr_error err;
	int64_t total = -1, s2;

	for (int i = 0; i < 3; i++)
		submit("noop", "{}", 0);
	submit("sleep", "{}", 0);
	s2 = submit("sleep", "{}", 0);
	assert_int_equal(job_cancel(s2, &err), 0);
	counts = job_counts();
	_cleanup_json_ json_t *want = json_pack(
	    "{s:{s:i}, s:{s:i, s:i}}", "noop", "queued", 3, "sleep", "queued", 1, "cancelled", 1);
	assert_true(json_equal(counts, want));

	assert_int_equal(job_list(NULL, 2, 0, &rows, &total, &err), 0);
	assert_int_equal(total, 5);
	assert_int_equal(json_array_size(rows), 2);
	assert_int_equal(iget(json_array_get(rows, 0), "id"), s2); /* newest first */
	json_decref(rows);
	filter = json_pack("{s:s}", "kind", "sleep");
	assert_int_equal(job_list(filter, 50, 0, &rows, &total, &err), 0);
	assert_int_equal(total, 2);
	assert_int_equal(json_array_size(rows), 2);
	json_decref(rows);
	json_object_set_new(filter, "state", json_string("cancelled"));
	assert_int_equal(job_list(filter, 50, 0, &rows, &total, &err), 0);
	assert_int_equal(total, 1);
	assert_int_equal(iget(json_array_get(rows, 0), "id"), s2);
	json_decref(rows);
	rows = NULL;
	/* Offset past the first page. */
	assert_int_equal(job_list(NULL, 2, 4, &rows, &total, &err), 0);
	assert_int_equal(json_array_size(rows), 1);
	assert_int_equal(total, 5);
	json_decref(rows);
	rows = NULL;
	json_object_set_new(filter, "state", json_string("sleeping"));
	assert_int_equal(job_list(filter, 50, 0, &rows, &total, &err), -1);
	assert_non_null(strstr(err.msg, "unknown state \"sleeping\""));
	json_object_del(filter, "state");
	json_object_set_new(filter, "colour", json_string("red"));
	assert_int_equal(job_list(filter, 50, 0, &rows, &total, &err), -1);
	assert_non_null(strstr(err.msg, "unknown key \"colour\""));
	assert_int_equal(job_list(NULL, 5000, 0, &rows, &total, &err), -1);
	assert_non_null(strstr(err.msg, "limit"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_noop, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_submit_errors, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_sleep_followed_live, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_output_wait_wakes, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_cancel_queued, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_cancel_running, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_timeout, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_default_timeout, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_failures, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(
	        test_restart_marks_interrupted, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_stop_grace, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_stop_stubborn, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_output_cap, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_items_and_result, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_claim_order, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_counts_and_list, setup_store, teardown_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
