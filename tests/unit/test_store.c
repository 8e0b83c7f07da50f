/* test_store.c - the SQLite store: migrations, queries, threads, backup, bad files. */
#include "tests/unit/unit.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

/* A fresh state directory per test; removed with everything in it. */
static int
setup_dir(void **state)
{
	char *dir = unit_dir_make("store");

	store_register_clear();
	store_set_busy_timeout(5000);
	*state = dir;
	return 0;
}

/* Close the store and remove the state directory. */
static int
teardown_dir(void **state)
{
	char *dir = *state;

	store_close();
	unit_dir_remove(dir);
	return 0;
}

/* Run SQL on a private connection (what another process would see). */
static json_int_t
raw_int(const char *dir, const char *sql)
{
	_cleanup_free_ char *path = xasprintf("%s/drover.db", dir);
	sqlite3_stmt *st;
	sqlite3 *db;
	json_int_t v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static const struct store_migration alpha[] = {
    /* Registered out of order: version 2 needs version 1's table. */
    {"alpha", 2, "ALTER TABLE alpha_t ADD COLUMN y TEXT"},
    {"alpha", 1,
        "CREATE TABLE alpha_t (id INTEGER PRIMARY KEY, x INTEGER);"
        "CREATE INDEX alpha_x ON alpha_t (x);"},
};
static const struct store_migration beta[] = {
    {"beta", 1,
        "CREATE TABLE beta_t (id INTEGER PRIMARY KEY,"
        " a INTEGER REFERENCES alpha_t (id))"},
};
static const struct store_migration broken[] = {
    {"broken", 1, "CREATE TABLE broken_t (x INTEGER)"},
    {"broken", 2, "INSERT INTO no_such_table VALUES (1)"},
};

static void
test_migrations_order_and_once(void **state)
{
	const char *dir = *state;
	_cleanup_json_ json_t *rows = NULL;
	struct dr_error err;
	struct stat st;

	store_register(beta, nitems(beta));
	store_register(alpha, nitems(alpha));
	store_register(alpha, nitems(alpha)); /* twice is harmless */
	assert_int_equal(store_open(dir, &err), 0);
	assert_int_equal(store_query("SELECT component, version FROM schema_migrations"
	                             " ORDER BY rowid",
	                     NULL, &rows, &err),
	    0);
	/* store's own first, then in registration order, versions ascending. */
	assert_int_equal(json_array_size(rows), 4);
	const char *want[][2] = {{"store", "1"}, {"beta", "1"}, {"alpha", "1"}, {"alpha", "2"}};
	for (size_t i = 0; i < 4; i++) {
		json_t *r = json_array_get(rows, i);
		assert_string_equal(
		    json_string_value(json_object_get(r, "component")), want[i][0]);
		assert_int_equal(
		    json_integer_value(json_object_get(r, "version")), atoi(want[i][1]));
	}
	/* Version 2 ran after 1: the column exists. */
	assert_int_equal(store_execf(NULL, NULL, &err, "INSERT INTO alpha_t (x, y) VALUES (?, ?)",
	                     "[is]", 1, "one"),
	    0);
	_cleanup_free_ char *path = xasprintf("%s/drover.db", dir);
	assert_string_equal(store_path(), path);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	store_close();
	/* Reopening applies nothing again (a second CREATE TABLE would fail). */
	assert_int_equal(store_open(dir, &err), 0);
	assert_int_equal(raw_int(dir, "SELECT COUNT(*) FROM schema_migrations"), 4);
	assert_int_equal(raw_int(dir, "SELECT COUNT(*) FROM alpha_t"), 1);
	/* WAL mode is persistent in the file. */
	store_close();
	_cleanup_free_ char *wal = xasprintf("%s/drover.db-wal", dir);
	assert_int_equal(store_open(dir, &err), 0);
	assert_int_equal(
	    store_exec("INSERT INTO alpha_t (x) VALUES (2)", NULL, NULL, NULL, &err), 0);
	assert_int_equal(access(wal, F_OK), 0);
}

static void
test_migration_failure_rolls_back(void **state)
{
	const char *dir = *state;
	struct dr_error err;

	store_register(alpha, nitems(alpha));
	store_register(broken, nitems(broken));
	assert_int_equal(store_open(dir, &err), -1);
	assert_non_null(strstr(err.msg, "drover.db"));
	assert_non_null(strstr(err.msg, "migration broken/2 failed"));
	assert_non_null(strstr(err.msg, "no such table: no_such_table"));
	assert_null(store_path());
	/* Nothing of the transaction is left: not alpha, not broken/1, no bookkeeping. */
	assert_int_equal(raw_int(dir,
	                     "SELECT COUNT(*) FROM sqlite_master"
	                     " WHERE name IN ('alpha_t', 'broken_t', 'audits',"
	                     " 'schema_migrations')"),
	    0);
	/* Once fixed, the same file opens. */
	store_register_clear();
	store_register(alpha, nitems(alpha));
	assert_int_equal(store_open(dir, &err), 0);
}

static void
test_newer_schema_refused(void **state)
{
	const char *dir = *state;
	struct dr_error err;

	store_register(alpha, nitems(alpha));
	assert_int_equal(store_open(dir, &err), 0);
	assert_int_equal(store_exec("INSERT INTO schema_migrations VALUES ('alpha', 3, 0)", NULL,
	                     NULL, NULL, &err),
	    0);
	store_close();
	assert_int_equal(store_open(dir, &err), -1);
	assert_non_null(strstr(err.msg, "drover.db"));
	assert_non_null(strstr(err.msg, "component alpha is at version 3"));
	assert_non_null(strstr(err.msg, "newer"));
}

static void
test_query_types(void **state)
{
	const char *dir = *state;
	_cleanup_json_ json_t *rows = NULL, *params = NULL;
	json_t *one;
	_cleanup_json_ json_t *obj = json_pack("{s:[i,i]}", "a", 1, 2);
	int64_t changes = -1, id = -1;
	struct dr_error err;
	json_t *r;

	assert_int_equal(store_open(dir, &err), 0);
	assert_int_equal(store_exec("CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, r REAL,"
	                            " s TEXT, n TEXT, b INTEGER, j TEXT)",
	                     NULL, NULL, NULL, &err),
	    0);
	params =
	    json_pack("[IfsnbO]", (json_int_t)9007199254740993LL, 1.5, "h\xc3\xa9llo", 1, obj);
	assert_int_equal(store_exec("INSERT INTO t (i, r, s, n, b, j) VALUES (?, ?, ?, ?, ?, ?)",
	                     params, &changes, &id, &err),
	    0);
	assert_int_equal(changes, 1);
	assert_int_equal(id, 1);
	assert_int_equal(
	    store_queryf(&rows, &err,
	        "SELECT id, i, r, s, n, b, j, j AS parsed_json FROM t WHERE id = ?", "[i]", 1),
	    0);
	assert_int_equal(json_array_size(rows), 1);
	r = json_array_get(rows, 0);
	assert_true(json_is_integer(json_object_get(r, "i")));
	assert_true(json_integer_value(json_object_get(r, "i")) == 9007199254740993LL);
	assert_true(json_is_real(json_object_get(r, "r")));
	assert_true(json_real_value(json_object_get(r, "r")) == 1.5);
	assert_string_equal(json_string_value(json_object_get(r, "s")), "h\xc3\xa9llo");
	assert_true(json_is_null(json_object_get(r, "n")));
	assert_int_equal(json_integer_value(json_object_get(r, "b")), 1);
	/* The plain column is the JSON text; the _json alias is the value. */
	assert_string_equal(json_string_value(json_object_get(r, "j")), "{\"a\":[1,2]}");
	assert_int_equal(json_integer_value(json_array_get(
	                     json_object_get(json_object_get(r, "parsed"), "a"), 1)),
	    2);
	assert_null(json_object_get(r, "parsed_json"));

	/* store_query_one and the json_pack form. */
	one = store_query_one(
	    &err, "SELECT j AS payload_json, s FROM t WHERE s = ?", "[s]", "h\xc3\xa9llo");
	assert_non_null(one);
	assert_int_equal(json_integer_value(json_array_get(
	                     json_object_get(json_object_get(one, "payload"), "a"), 1)),
	    2);
	json_decref(one);
	/* No row: NULL with a cleared error. */
	one = store_query_one(&err, "SELECT id FROM t WHERE id = ?", "[i]", 99);
	assert_null(one);
	assert_string_equal(err.msg, "");
	/* Text that is not JSON under a _json alias stays a string. */
	assert_int_equal(
	    store_execf(NULL, NULL, &err, "UPDATE t SET s = ? WHERE id = 1", "[s]", "not json {"),
	    0);
	one = store_query_one(&err, "SELECT s AS s_json FROM t", NULL);
	assert_string_equal(json_string_value(json_object_get(one, "s")), "not json {");
	json_decref(one);
	/* NULL under a _json alias is null. */
	one = store_query_one(&err, "SELECT n AS n_json FROM t", NULL);
	assert_true(json_is_null(json_object_get(one, "n")));
	json_decref(one);

	/* UPDATE reports changed rows; zero is not an error. */
	assert_int_equal(
	    store_execf(&changes, NULL, &err, "UPDATE t SET b = ? WHERE id > ?", "[bi]", 0, 5), 0);
	assert_int_equal(changes, 0);
}

/* store_each: rows collected as "a|b;" texts, stopping after limit rows. */
struct each_seen {
	char text[256];
	size_t rows, limit;
};

static int
each_row(void *arg, size_t n, const char *const *texts, const size_t *lens)
{
	struct each_seen *seen = arg;
	size_t len = strlen(seen->text);

	for (size_t i = 0; i < n; i++)
		snprintf(seen->text + strlen(seen->text), sizeof seen->text - strlen(seen->text),
		    "%s%.*s", i > 0 ? "|" : "", texts[i] != NULL ? (int)lens[i] : 4,
		    texts[i] != NULL ? texts[i] : "NULL");
	snprintf(seen->text + strlen(seen->text), sizeof seen->text - strlen(seen->text), ";");
	assert_true(strlen(seen->text) > len);
	return ++seen->rows == seen->limit ? -7 : 0;
}

/* store_each: the one column is the three bytes "a", NUL, "b". */
static int
each_blob(void *arg, size_t n, const char *const *texts, const size_t *lens)
{
	(void)arg;
	assert_int_equal(n, 1);
	assert_int_equal(lens[0], 3);
	assert_memory_equal(texts[0], "a\0b", 3);
	return 0;
}

/* Rows' columns handed over as texts with their lengths; a callback may stop early. */
static void
test_each(void **state)
{
	const char *dir = *state;
	_cleanup_json_ json_t *params = json_pack("[i]", 1);
	struct each_seen seen = {"", 0, 0};
	struct dr_error err;

	assert_int_equal(store_open(dir, &err), 0);
	assert_int_equal(store_exec("CREATE TABLE e (id INTEGER PRIMARY KEY, s TEXT, b BLOB)",
	                     NULL, NULL, NULL, &err),
	    0);
	assert_int_equal(store_exec("INSERT INTO e (s, b) VALUES ('h\xc3\xa9', x'610062'),"
	                            " (NULL, NULL), ('z', '')",
	                     NULL, NULL, NULL, &err),
	    0);
	assert_int_equal(store_each("SELECT id, s, length(b) FROM e WHERE id >= ? ORDER BY id",
	                     params, each_row, &seen, &err),
	    0);
	assert_string_equal(seen.text, "1|h\xc3\xa9|3;2|NULL|NULL;3|z|0;");
	assert_int_equal(seen.rows, 3);
	/* A blob with a NUL byte: its length is its own, not strlen's. */
	assert_int_equal(
	    store_each("SELECT b FROM e WHERE id = 1", NULL, each_blob, NULL, &err), 0);
	/* Stopped by the callback: its value comes back, and the statement can run again. */
	memset(&seen, 0, sizeof seen);
	seen.limit = 2;
	assert_int_equal(
	    store_each("SELECT id FROM e ORDER BY id", NULL, each_row, &seen, &err), -7);
	assert_string_equal(seen.text, "1;2;");
	memset(&seen, 0, sizeof seen);
	assert_int_equal(
	    store_each("SELECT id FROM e ORDER BY id", NULL, each_row, &seen, &err), 0);
	assert_string_equal(seen.text, "1;2;3;");
	/* Errors name the statement. */
	assert_int_equal(store_each("SELECT nope FROM e", NULL, each_row, &seen, &err), -1);
	assert_non_null(strstr(err.msg, "SELECT nope"));
	assert_int_equal(
	    store_each("SELECT id FROM e WHERE id = ?", NULL, each_row, &seen, &err), -1);
	assert_non_null(strstr(err.msg, "1 parameters expected, 0 given"));
}

static void
test_query_errors(void **state)
{
	const char *dir = *state;
	_cleanup_json_ json_t *rows = NULL;
	struct dr_error err;

	assert_int_equal(store_query("SELECT 1", NULL, &rows, &err), -1);
	assert_non_null(strstr(err.msg, "not open"));
	assert_int_equal(store_open(dir, &err), 0);
	assert_int_equal(store_open(dir, &err), -1);
	assert_non_null(strstr(err.msg, "already open"));
	assert_int_equal(store_query("SELEC 1", NULL, &rows, &err), -1);
	assert_non_null(strstr(err.msg, "drover.db"));
	assert_non_null(strstr(err.msg, "\"SELEC 1\""));
	assert_non_null(strstr(err.msg, "syntax error"));
	assert_int_equal(store_queryf(&rows, &err, "SELECT ?, ?", "[i]", 1), -1);
	assert_non_null(strstr(err.msg, "2 parameters expected, 1 given"));
	assert_int_equal(store_query("SELECT 1; SELECT 2", NULL, &rows, &err), -1);
	assert_non_null(strstr(err.msg, "more than one statement"));
	assert_int_equal(store_execf(NULL, NULL, &err, "SELECT ?", "{s:i}", "a", 1), -1);
	assert_non_null(strstr(err.msg, "not an array"));
	_cleanup_json_ json_t *notarray = json_pack("{s:i}", "a", 1);
	assert_int_equal(store_exec("SELECT ?", notarray, NULL, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "must be a JSON array"));
	/* Constraint failures come back as errors, and the statement is reusable after. */
	assert_int_equal(
	    store_exec("CREATE TABLE u (name TEXT UNIQUE)", NULL, NULL, NULL, &err), 0);
	assert_int_equal(store_execf(NULL, NULL, &err, "INSERT INTO u VALUES (?)", "[s]", "a"), 0);
	assert_int_equal(
	    store_execf(NULL, NULL, &err, "INSERT INTO u VALUES (?)", "[s]", "a"), -1);
	assert_non_null(strstr(err.msg, "UNIQUE constraint failed"));
	assert_int_equal(store_execf(NULL, NULL, &err, "INSERT INTO u VALUES (?)", "[s]", "b"), 0);
	/* Foreign keys are enforced. */
	assert_int_equal(store_exec("CREATE TABLE p (id INTEGER PRIMARY KEY);"
	                            "",
	                     NULL, NULL, NULL, &err),
	    0);
	assert_int_equal(
	    store_exec("CREATE TABLE c (p INTEGER REFERENCES p (id))", NULL, NULL, NULL, &err), 0);
	assert_int_equal(store_exec("INSERT INTO c VALUES (7)", NULL, NULL, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "FOREIGN KEY constraint failed"));
}

static void
test_statement_cache_and_transactions(void **state)
{
	const char *dir = *state;
	struct dr_error err;
	json_t *one;
	int i;

	assert_int_equal(store_open(dir, &err), 0);
	assert_int_equal(store_exec("CREATE TABLE n (v INTEGER)", NULL, NULL, NULL, &err), 0);
	/* More distinct statements than the cache holds, each run twice. */
	for (i = 0; i < 200; i++) {
		_cleanup_free_ char *sql = xasprintf("INSERT INTO n (v) VALUES (%d + ?)", i);

		assert_int_equal(store_execf(NULL, NULL, &err, sql, "[i]", 0), 0);
		assert_int_equal(store_execf(NULL, NULL, &err, sql, "[i]", 1000), 0);
	}
	one = store_query_one(&err, "SELECT COUNT(*) AS c, SUM(v) AS s FROM n", NULL);
	assert_int_equal(json_integer_value(json_object_get(one, "c")), 400);
	assert_int_equal(json_integer_value(json_object_get(one, "s")), 2 * 19900 + 200 * 1000);
	json_decref(one);
	/* Rollback undoes, commit keeps. */
	assert_int_equal(store_begin(&err), 0);
	assert_int_equal(store_exec("DELETE FROM n", NULL, NULL, NULL, &err), 0);
	store_rollback();
	one = store_query_one(&err, "SELECT COUNT(*) AS c FROM n", NULL);
	assert_int_equal(json_integer_value(json_object_get(one, "c")), 400);
	json_decref(one);
	assert_int_equal(store_begin(&err), 0);
	assert_int_equal(store_exec("DELETE FROM n WHERE v >= 1000", NULL, NULL, NULL, &err), 0);
	assert_int_equal(store_commit(&err), 0);
	assert_int_equal(raw_int(dir, "SELECT COUNT(*) FROM n"), 200);
}

#define WRITERS 4
#define WRITES 150

/* One writer thread: single inserts and small transactions, each on its own connection. */
static void *
writer(void *arg)
{
	intptr_t t = (intptr_t)arg;
	struct dr_error err;
	int i;

	for (i = 0; i < WRITES; i++) {
		if (i % 3 == 0) {
			if (store_begin(&err) < 0)
				return xstrdup(err.msg);
			if (store_execf(NULL, NULL, &err, "INSERT INTO w (t, i) VALUES (?, ?)",
			        "[Ii]", (json_int_t)t, i) < 0) {
				store_rollback();
				return xstrdup(err.msg);
			}
			if (store_commit(&err) < 0)
				return xstrdup(err.msg);
		} else if (store_execf(NULL, NULL, &err, "INSERT INTO w (t, i) VALUES (?, ?)",
		               "[Ii]", (json_int_t)t, i) < 0)
			return xstrdup(err.msg);
	}
	return NULL;
}

static void
test_concurrent_writers(void **state)
{
	const char *dir = *state;
	pthread_t th[WRITERS];
	struct dr_error err;
	json_t *one;
	intptr_t t;

	assert_int_equal(store_open(dir, &err), 0);
	assert_int_equal(store_exec("CREATE TABLE w (t INTEGER, i INTEGER, UNIQUE (t, i))", NULL,
	                     NULL, NULL, &err),
	    0);
	for (t = 0; t < WRITERS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, writer, (void *)t), 0);
	for (t = 0; t < WRITERS; t++) {
		char *msg = NULL;

		pthread_join(th[t], (void **)&msg);
		if (msg != NULL)
			fail_msg("writer %d: %s", (int)t, msg);
	}
	one = store_query_one(&err, "SELECT COUNT(*) AS c, COUNT(DISTINCT t) AS nt FROM w", NULL);
	assert_int_equal(json_integer_value(json_object_get(one, "c")), WRITERS * WRITES);
	assert_int_equal(json_integer_value(json_object_get(one, "nt")), WRITERS);
	json_decref(one);
}

static void
test_backup_and_check(void **state)
{
	const char *dir = *state;
	_cleanup_free_ char *dest = xasprintf("%s/backup.db", dir);
	struct dr_error err;
	sqlite3_stmt *st;
	struct stat sb;
	sqlite3 *db;
	DIR *d;
	struct dirent *de;
	int n = 0;

	assert_int_equal(store_open(dir, &err), 0);
	assert_int_equal(store_check(&err), 0);
	assert_int_equal(store_exec("CREATE TABLE b (v TEXT)", NULL, NULL, NULL, &err), 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(store_execf(NULL, NULL, &err, "INSERT INTO b VALUES (?)", "[s]",
		                     "some text that fills pages"),
		    0);
	assert_int_equal(store_backup(dest, &err), 0);
	assert_int_equal(stat(dest, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* No temporary file left beside it. */
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".tmp.") != NULL)
			n++;
	closedir(d);
	assert_int_equal(n, 0);
	/* The copy opens on its own, passes the check, and holds the rows. */
	assert_int_equal(sqlite3_open_v2(dest, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM b", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 50);
	sqlite3_finalize(st);
	sqlite3_close(db);
	/* A backup into a directory that does not exist fails with the path. */
	assert_int_equal(store_backup("/nonexistent-dir/x.db", &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent-dir/x.db"));
}

static void
test_corrupt_file(void **state)
{
	const char *dir = *state;
	_cleanup_free_ char *path = xasprintf("%s/drover.db", dir);
	char garbage[8192];
	struct dr_error err;

	for (size_t i = 0; i < sizeof garbage; i++)
		garbage[i] = (char)(i * 7 + 3);
	assert_int_equal(file_write_atomic(path, garbage, sizeof garbage, 0600, &err), 0);
	assert_int_equal(store_open(dir, &err), -1);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "not a database"));
	assert_null(store_path());
}

static void
test_locked_file(void **state)
{
	const char *dir = *state;
	_cleanup_free_ char *path = xasprintf("%s/drover.db", dir);
	struct dr_error err;
	sqlite3 *db;
	int64_t t0;

	assert_int_equal(store_open(dir, &err), 0);
	store_close();
	/* Another "process" takes an exclusive lock and keeps it. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                     "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE;"
	                     " CREATE TABLE held (x INTEGER);",
	                     NULL, NULL, NULL),
	    SQLITE_OK);
	store_set_busy_timeout(300);
	t0 = time_mono_us();
	assert_int_equal(store_open(dir, &err), -1);
	assert_true(time_mono_us() - t0 >= 250000); /* it waited for the busy timeout */
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "locked"));
	assert_null(store_path());
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	assert_int_equal(store_open(dir, &err), 0);
}

static void
test_audit(void **state)
{
	const char *dir = *state;
	_cleanup_json_ json_t *before = json_pack("{s:s}", "name", "web1");
	_cleanup_json_ json_t *after = json_pack("{s:s}", "name", "web2");
	struct dr_error err;
	json_t *row;

	assert_int_equal(store_open(dir, &err), 0);
	assert_int_equal(
	    store_audit("alice", "192.0.2.7", "update", "host", "12", before, after, &err), 0);
	assert_int_equal(store_audit(NULL, NULL, "delete", "job", NULL, NULL, NULL, &err), 0);
	row = store_query_one(&err,
	    "SELECT at, \"user\", remote, action, resource, resource_id, summary,"
	    " before AS before_json, after AS after_json FROM audits ORDER BY id",
	    NULL);
	assert_non_null(row);
	assert_true(json_integer_value(json_object_get(row, "at")) >= time(NULL) - 5);
	assert_string_equal(json_string_value(json_object_get(row, "user")), "alice");
	assert_string_equal(json_string_value(json_object_get(row, "remote")), "192.0.2.7");
	assert_string_equal(
	    json_string_value(json_object_get(row, "summary")), "alice update host 12");
	assert_true(json_equal(json_object_get(row, "before"), before));
	assert_true(json_equal(json_object_get(row, "after"), after));
	json_decref(row);
	row = store_query_one(
	    &err, "SELECT summary, before FROM audits WHERE action = ?", "[s]", "delete");
	assert_string_equal(
	    json_string_value(json_object_get(row, "summary")), "(system) delete job");
	assert_true(json_is_null(json_object_get(row, "before")));
	json_decref(row);
}

/* The formats bound without JSON values (s s? s# s% i I b f n O O?) store the same as
 * json_pack would, and refuse what json_pack refuses. */
static void
test_direct_binding(void **state)
{
	const char *dir = *state;
	_cleanup_json_ json_t *obj = json_pack("{s:i}", "k", 7), *str = json_string("js");
	_cleanup_json_ json_t *rows = NULL;
	struct dr_error err;
	json_t *r;

	assert_int_equal(store_open(dir, &err), 0);
	assert_int_equal(
	    store_exec("CREATE TABLE d (a, b, c, d, e, f, g, h, i, j, k)", NULL, NULL, NULL, &err),
	    0);
	assert_int_equal(
	    store_execf(NULL, NULL, &err, "INSERT INTO d VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	        "[s, s?, s#, s%, i, I, b, f, n, O, O?]", "h\xc3\xa9", NULL, "abcdef", 3, "xyz!",
	        (size_t)2, -4, (json_int_t)1 << 40, 1, 0.25, obj, str),
	    0);
	assert_int_equal(
	    store_queryf(&rows, &err, "SELECT * FROM d WHERE f = ?", "[I]", (json_int_t)1 << 40),
	    0);
	assert_int_equal(json_array_size(rows), 1);
	r = json_array_get(rows, 0);
	assert_string_equal(json_string_value(json_object_get(r, "a")), "h\xc3\xa9");
	assert_true(json_is_null(json_object_get(r, "b")));
	assert_string_equal(json_string_value(json_object_get(r, "c")), "abc");
	assert_string_equal(json_string_value(json_object_get(r, "d")), "xy");
	assert_int_equal(json_integer_value(json_object_get(r, "e")), -4);
	assert_true(json_integer_value(json_object_get(r, "f")) == (json_int_t)1 << 40);
	assert_int_equal(json_integer_value(json_object_get(r, "g")), 1);
	assert_true(json_real_value(json_object_get(r, "h")) == 0.25);
	assert_true(json_is_null(json_object_get(r, "i")));
	assert_string_equal(json_string_value(json_object_get(r, "j")), "{\"k\":7}");
	assert_string_equal(json_string_value(json_object_get(r, "k")), "js");
	/* Refused as json_pack refuses them: invalid UTF-8, NULL without ?, a wrong count. */
	assert_int_equal(
	    store_execf(NULL, NULL, &err, "INSERT INTO d (a) VALUES (?)", "[s]", "a\xff"), -1);
	assert_non_null(strstr(err.msg, "Invalid UTF-8"));
	assert_int_equal(
	    store_execf(NULL, NULL, &err, "INSERT INTO d (a) VALUES (?)", "[s]", NULL), -1);
	assert_non_null(strstr(err.msg, "NULL string"));
	assert_int_equal(
	    store_execf(NULL, NULL, &err, "INSERT INTO d (a) VALUES (?)", "[O]", NULL), -1);
	assert_non_null(strstr(err.msg, "NULL object"));
	assert_int_equal(
	    store_execf(NULL, NULL, &err, "INSERT INTO d (a, b) VALUES (?, ?)", "[s]", "x"), -1);
	assert_non_null(strstr(err.msg, "2 parameters expected, 1 given"));
	r = store_query_one(&err, "SELECT COUNT(*) AS n FROM d WHERE a = ?", "[s]", "x");
	assert_int_equal(json_integer_value(json_object_get(r, "n")), 0);
	json_decref(r);
}

/* A PRAGMA's value on this thread's connection. */
static json_int_t
pragma_value(const char *name)
{
	_cleanup_free_ char *sql = xasprintf("PRAGMA %s", name);
	struct dr_error err;
	json_t *r = store_query_one(&err, sql, NULL);
	json_int_t v = json_integer_value(json_object_get(r, name));

	json_decref(r);
	return v;
}

/* store_bulk: rare checkpoints and a bigger page cache on this thread's connection. */
static void
test_bulk(void **state)
{
	const char *dir = *state;
	struct dr_error err;

	assert_int_equal(store_open(dir, &err), 0);
	store_bulk(true);
	assert_int_equal(pragma_value("cache_size"), -16384);
	assert_int_equal(pragma_value("wal_autocheckpoint"), 16384);
	store_bulk(false);
	assert_int_equal(pragma_value("cache_size"), -2000);
	assert_int_equal(pragma_value("wal_autocheckpoint"), 1000);
}

static void
test_utf8(void **state)
{
	const char *dir = *state;
	size_t len;
	struct dr_error err;
	json_t *row;

	/* Invalid byte, overlong slash, surrogate, truncated sequence. */
	_cleanup_free_ char *c = store_utf8_clean("a\xff"
	                                          "b\xc0\xaf"
	                                          "c\xed\xa0\x80"
	                                          "d\xe2\x82",
	    12, &len);
	assert_string_equal(c,
	    "a\xef\xbf\xbd"
	    "b\xef\xbf\xbd\xef\xbf\xbd"
	    "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "d\xef\xbf\xbd\xef\xbf\xbd");
	assert_int_equal(len, strlen(c));
	_cleanup_free_ char *ok = store_utf8_clean("\xe2\x82\xac \xf0\x9f\x98\x80", 8, &len);
	assert_string_equal(ok, "\xe2\x82\xac \xf0\x9f\x98\x80");
	/* Invalid text already in a column still comes back as a JSON string. */
	assert_int_equal(store_open(dir, &err), 0);
	assert_int_equal(store_exec("CREATE TABLE x (s TEXT)", NULL, NULL, NULL, &err), 0);
	assert_int_equal(
	    store_exec("INSERT INTO x VALUES (CAST(X'41FF42' AS TEXT))", NULL, NULL, NULL, &err),
	    0);
	row = store_query_one(&err, "SELECT s FROM x", NULL);
	assert_string_equal(json_string_value(json_object_get(row, "s")),
	    "A\xef\xbf\xbd"
	    "B");
	json_decref(row);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_migrations_order_and_once, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(
	        test_migration_failure_rolls_back, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_query_types, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_query_errors, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_each, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(
	        test_statement_cache_and_transactions, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_concurrent_writers, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_backup_and_check, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_corrupt_file, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_locked_file, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_audit, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_utf8, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_direct_binding, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_bulk, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
