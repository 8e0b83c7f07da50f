/* store.c - the SQLite store: per-thread connections, migrations, a portable query API. */
#define LOG_COMPONENT "store"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/core.h"

#define STORE_STMT_CACHE 64 /* prepared statements kept per connection */
#define STORE_MIGRATION_TABLES 64 /* registered migration tables */
#define STORE_SQL_SHOW 80 /* characters of SQL quoted in an error */
#define STORE_EACH_COLUMNS 64 /* columns store_each() hands over */

/* A cached prepared statement, found by its SQL text. */
struct store_stmt {
	uint64_t hash;
	char *sql;
	sqlite3_stmt *stmt;
	uint64_t used; /* LRU clock */
};

/* One thread's connection. */
struct store_conn {
	sqlite3 *db;
	struct store_stmt cache[STORE_STMT_CACHE];
	uint64_t clock;
	struct store_conn *next;
};

/* A registered table of migrations. */
struct store_migration_table {
	const struct store_migration *m;
	size_t n;
};

static const struct store_migration store_migrations[] = {
    {"store", 1,
        "CREATE TABLE audits ("
        " id INTEGER PRIMARY KEY,"
        " at INTEGER NOT NULL,"
        " \"user\" TEXT,"
        " remote TEXT,"
        " action TEXT NOT NULL,"
        " resource TEXT NOT NULL,"
        " resource_id TEXT,"
        " summary TEXT NOT NULL,"
        " before TEXT,"
        " after TEXT);"
        "CREATE INDEX audits_resource ON audits (resource, resource_id);"
        "CREATE INDEX audits_at ON audits (at);"},
};

static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t store_once = PTHREAD_ONCE_INIT;
static pthread_key_t store_key;
static char *store_db_path; /* under store_lock */
static struct store_conn *store_conns; /* every open connection, under store_lock */
static _Atomic uint64_t store_generation = 1; /* bumped by store_open and store_close */
static _Atomic int store_busy_ms = 5000;
static struct store_migration_table store_tables[STORE_MIGRATION_TABLES];
static size_t store_ntables;

/* This thread's connection; valid only while tls_gen == store_generation. */
static __thread struct store_conn *tls_conn;
static __thread uint64_t tls_gen;

/* FNV-1a of a string, to find cached statements quickly. */
static uint64_t
store_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Finalise a connection's statements and close it. */
static void
store_conn_free(struct store_conn *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < nitems(c->cache); i++) {
		sqlite3_finalize(c->cache[i].stmt);
		free(c->cache[i].sql);
	}
	sqlite3_close_v2(c->db);
	free(c);
}

/* Unlink c from the list of connections; store_lock held. */
static void
store_conn_unlink(struct store_conn *c)
{
	struct store_conn **pp;

	for (pp = &store_conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			return;
		}
	}
}

/* Thread exit: close the thread's connection if it is still current. */
static void
store_thread_exit(void *unused)
{
	pthread_mutex_lock(&store_lock);
	if (tls_conn != NULL && tls_gen == atomic_load(&store_generation)) {
		store_conn_unlink(tls_conn);
		store_conn_free(tls_conn);
	}
	tls_conn = NULL;
	pthread_mutex_unlock(&store_lock);
}

/* Create the thread-exit key once. */
static void
store_key_create(void)
{
	if (pthread_key_create(&store_key, store_thread_exit) != 0)
		fatalx("pthread_key_create failed");
}

/* Fill err from the connection's last error, naming the file. */
static int
store_error(struct dr_error *err, sqlite3 *db, int rc, const char *path)
{
	const char *msg = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		return dr_error_set(err,
		    "%s: %s (another process has held it for more than %d ms)", path, msg,
		    atomic_load(&store_busy_ms));
	return dr_error_set(err, "%s: %s", path, msg);
}

/* Open a new connection to path with the pragmas every connection needs. */
static struct store_conn *
store_conn_open(const char *path, struct dr_error *err)
{
	struct store_conn *c = xcalloc(1, sizeof *c);
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		store_error(err, c->db, rc, path);
		goto fail;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, atomic_load(&store_busy_ms));
	/* The first statement reads the header: a corrupt or locked file fails here. */
	rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		store_error(err, c->db, rc, path);
		goto fail;
	}
	if (strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
		dr_error_set(err, "%s: cannot switch to WAL mode (journal mode stays %s)", path,
		    sqlite3_column_text(st, 0));
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = sqlite3_exec(
	    c->db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		store_error(err, c->db, rc, path);
		goto fail;
	}
	return c;
fail:
	sqlite3_finalize(st);
	store_conn_free(c);
	return NULL;
}

/* This thread's connection, opened on first use. */
static struct store_conn *
store_conn_get(struct dr_error *err)
{
	struct store_conn *c;
	_cleanup_free_ char *path = NULL;
	uint64_t gen;

	gen = atomic_load(&store_generation);
	if (tls_conn != NULL && tls_gen == gen)
		return tls_conn;
	pthread_once(&store_once, store_key_create);
	pthread_mutex_lock(&store_lock);
	gen = atomic_load(&store_generation);
	if (store_db_path != NULL)
		path = xstrdup(store_db_path);
	pthread_mutex_unlock(&store_lock);
	if (path == NULL) {
		dr_error_set(err, "the store is not open");
		return NULL;
	}
	if ((c = store_conn_open(path, err)) == NULL)
		return NULL;
	pthread_mutex_lock(&store_lock);
	if (gen != atomic_load(&store_generation)) {
		pthread_mutex_unlock(&store_lock);
		store_conn_free(c);
		dr_error_set(err, "%s: the store was closed", path);
		return NULL;
	}
	c->next = store_conns;
	store_conns = c;
	pthread_mutex_unlock(&store_lock);
	tls_conn = c;
	tls_gen = gen;
	pthread_setspecific(store_key, c);
	return c;
}

/* The database path for messages (only read by threads using an open store). */
static const char *
store_name(void)
{
	return store_db_path != NULL ? store_db_path : STORE_DB_NAME;
}

/* Error for a failed statement, quoting the start of its SQL. */
static int
store_stmt_error(struct dr_error *err, sqlite3 *db, int rc, const char *sql)
{
	store_error(err, db, rc, store_name());
	return dr_error_prefix(
	    err, "\"%.*s%s\": ", STORE_SQL_SHOW, sql, strlen(sql) > STORE_SQL_SHOW ? "..." : "");
}

/* A prepared statement for sql from the connection's cache (prepared on a miss). */
static sqlite3_stmt *
store_stmt_get(struct store_conn *c, const char *sql, struct dr_error *err)
{
	struct store_stmt *slot = NULL;
	uint64_t h = store_hash(sql);
	const char *tail = NULL;
	sqlite3_stmt *st;
	size_t i;
	int rc;

	for (i = 0; i < nitems(c->cache); i++) {
		struct store_stmt *s = &c->cache[i];

		if (s->stmt != NULL && s->hash == h && strcmp(s->sql, sql) == 0) {
			s->used = ++c->clock;
			return s->stmt;
		}
		/* The victim: an empty slot, else the least recently used. */
		if (slot == NULL ||
		    (slot->stmt != NULL && (s->stmt == NULL || s->used < slot->used)))
			slot = s;
	}
	rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, &tail);
	if (rc != SQLITE_OK) {
		store_stmt_error(err, c->db, rc, sql);
		return NULL;
	}
	if (st == NULL) {
		dr_error_set(err, "%s: empty SQL statement", store_name());
		return NULL;
	}
	while (tail != NULL && (*tail == ' ' || *tail == '\n' || *tail == '\t' || *tail == ';'))
		tail++;
	if (tail != NULL && *tail != '\0') {
		sqlite3_finalize(st);
		dr_error_set(err, "%s: \"%.*s\": more than one statement", store_name(),
		    STORE_SQL_SHOW, sql);
		return NULL;
	}
	sqlite3_finalize(slot->stmt);
	free(slot->sql);
	slot->stmt = st;
	slot->sql = xstrdup(sql);
	slot->hash = h;
	slot->used = ++c->clock;
	return st;
}

/* Bind one JSON value at pos (objects and arrays as their compact JSON text). */
static int
store_bind_value(sqlite3_stmt *st, int pos, const json_t *v)
{
	char *text;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return sqlite3_bind_text(
		    st, pos, json_string_value(v), (int)json_string_length(v), SQLITE_TRANSIENT);
	case JSON_INTEGER:
		return sqlite3_bind_int64(st, pos, json_integer_value(v));
	case JSON_REAL:
		return sqlite3_bind_double(st, pos, json_real_value(v));
	case JSON_TRUE:
	case JSON_FALSE:
		return sqlite3_bind_int(st, pos, json_is_true(v));
	case JSON_NULL:
		return sqlite3_bind_null(st, pos);
	case JSON_OBJECT:
	case JSON_ARRAY:
		break;
	}
	text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (text == NULL)
		fatalx("json_dumps failed");
	return sqlite3_bind_text(st, pos, text, -1, free);
}

/* Bind the JSON array params to st's positional parameters. */
static int
store_bind(sqlite3_stmt *st, const json_t *params, const char *sql, struct dr_error *err)
{
	int n = sqlite3_bind_parameter_count(st), rc;
	size_t i, count = 0;
	json_t *v;

	if (params != NULL && !json_is_array(params))
		return dr_error_set(err, "%s: \"%.*s\": parameters must be a JSON array",
		    store_name(), STORE_SQL_SHOW, sql);
	if (params != NULL)
		count = json_array_size(params);
	if (count != (size_t)n)
		return dr_error_set(err, "%s: \"%.*s\": %d parameters expected, %zu given",
		    store_name(), STORE_SQL_SHOW, sql, n, count);
	json_array_foreach(params, i, v)
	{
		if ((rc = store_bind_value(st, (int)i + 1, v)) != SQLITE_OK)
			return store_stmt_error(err, sqlite3_db_handle(st), rc, sql);
	}
	return 0;
}

/* What separates a format's conversions (json_pack skips them). */
static const char store_fmt_skip[] = "[],: \t\n";

/*
 * Parameters given as a json_pack format and its arguments are bound straight from the
 * arguments when the format uses only s s? s# s% i I b f n O O? (the common case):
 * no JSON values are made, which matters where a sync writes a row per package. The
 * count of parameters; -1 when the format needs json_pack.
 */
static int
store_fmt_count(const char *fmt)
{
	const char *f = fmt;
	int n = 0;

	for (; *f != '\0'; f++) {
		if (strchr(store_fmt_skip, *f) != NULL)
			continue;
		switch (*f) {
		case 's':
			if (f[1] == '#' || f[1] == '%' || f[1] == '?')
				f++;
			break;
		case 'O':
			if (f[1] == '?')
				f++;
			break;
		case 'i':
		case 'I':
		case 'b':
		case 'f':
		case 'n':
			break;
		default:
			return -1;
		}
		n++;
	}
	return fmt[0] == '[' ? n : -1;
}

static size_t store_utf8_seq(const unsigned char *s, size_t n);

static bool
store_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < len) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if ((k = store_utf8_seq(u + i, len - i)) == 0)
			return false;
		i += k;
	}
	return true;
}

/* Bind fmt's count arguments (store_fmt_count) to st. */
static int
store_bind_fmt(sqlite3_stmt *st, const char *fmt, int count, va_list *ap, const char *sql,
    struct dr_error *err)
{
	int want = sqlite3_bind_parameter_count(st), pos = 0, rc;
	const char *f, *text;
	const json_t *v;
	size_t len;

	if (count != want)
		return dr_error_set(err, "%s: \"%.*s\": %d parameters expected, %d given",
		    store_name(), STORE_SQL_SHOW, sql, want, count);
	for (f = fmt; *f != '\0'; f++) {
		if (strchr(store_fmt_skip, *f) != NULL)
			continue;
		pos++;
		switch (*f) {
		case 's':
			text = va_arg(*ap, const char *);
			if (f[1] == '#')
				len = (size_t)va_arg(*ap, int), f++;
			else if (f[1] == '%')
				len = va_arg(*ap, size_t), f++;
			else
				len = text != NULL ? strlen(text) : 0;
			if (text == NULL && f[1] == '?') {
				f++;
				rc = sqlite3_bind_null(st, pos);
				break;
			}
			if (f[1] == '?')
				f++;
			if (text == NULL || !store_utf8_valid(text, len))
				return dr_error_set(err,
				    "\"%.*s\": bad parameter format \"%s\": %s", STORE_SQL_SHOW,
				    sql, fmt,
				    text == NULL ? "NULL string" : "Invalid UTF-8 string");
			rc = sqlite3_bind_text(st, pos, text, (int)len, SQLITE_TRANSIENT);
			break;
		case 'O':
			v = va_arg(*ap, const json_t *);
			if (f[1] == '?')
				f++;
			else if (v == NULL)
				return dr_error_set(err,
				    "\"%.*s\": bad parameter format \"%s\": %s", STORE_SQL_SHOW,
				    sql, fmt, "NULL object");
			rc = v != NULL ? store_bind_value(st, pos, v) : sqlite3_bind_null(st, pos);
			break;
		case 'i':
		case 'b':
			rc = sqlite3_bind_int(st, pos, va_arg(*ap, int));
			break;
		case 'I':
			rc = sqlite3_bind_int64(st, pos, va_arg(*ap, json_int_t));
			break;
		case 'f':
			rc = sqlite3_bind_double(st, pos, va_arg(*ap, double));
			break;
		default: /* 'n' */
			rc = sqlite3_bind_null(st, pos);
			break;
		}
		if (rc != SQLITE_OK)
			return store_stmt_error(err, sqlite3_db_handle(st), rc, sql);
	}
	return 0;
}

/* A JSON string from text that may not be valid UTF-8. */
static json_t *
store_json_text(const char *s, size_t len)
{
	_cleanup_free_ char *clean = NULL;
	json_t *j;

	if ((j = json_stringn(s, len)) != NULL)
		return j;
	clean = store_utf8_clean(s, len, &len);
	if ((j = json_stringn(clean, len)) == NULL)
		fatalx("json_stringn failed on clean text");
	return j;
}

/* One result row as a JSON object. */
static json_t *
store_row(sqlite3_stmt *st)
{
	json_t *row = json_object();
	int i, n = sqlite3_column_count(st);

	for (i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(st, i);
		size_t nlen = strlen(name);
		bool as_json = nlen > 5 && str_has_suffix(name, "_json");
		const char *text;
		json_t *v = NULL;
		int len;

		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			v = json_integer(sqlite3_column_int64(st, i));
			break;
		case SQLITE_FLOAT:
			v = json_real(sqlite3_column_double(st, i));
			break;
		case SQLITE_NULL:
			v = json_null();
			break;
		default:
			text = (const char *)sqlite3_column_text(st, i);
			len = sqlite3_column_bytes(st, i);
			if (as_json)
				v = json_loadb(text, (size_t)len, JSON_DECODE_ANY, NULL);
			if (v == NULL)
				v = store_json_text(text != NULL ? text : "", (size_t)len);
			break;
		}
		if (as_json) {
			_cleanup_free_ char *key = xstrndup(name, nlen - 5);

			json_object_set_new(row, key, v);
		} else
			json_object_set_new(row, name, v);
	}
	return row;
}

/* A statement's parameters: a JSON array, or fmt's count arguments read from ap. */
struct store_args {
	const json_t *params;
	const char *fmt;
	int count;
	va_list *ap;
};

/* Run sql with its parameters; collect rows when ret_rows is not NULL. */
static int
store_run(const char *sql, const struct store_args *a, json_t **ret_rows, int64_t *ret_changes,
    int64_t *ret_id, struct dr_error *err)
{
	struct store_conn *c;
	sqlite3_stmt *st;
	json_t *rows = NULL;
	size_t nrows = 0;
	int rc;

	if ((c = store_conn_get(err)) == NULL)
		return -1;
	if ((st = store_stmt_get(c, sql, err)) == NULL)
		return -1;
	if ((a->fmt != NULL ? store_bind_fmt(st, a->fmt, a->count, a->ap, sql, err)
	                    : store_bind(st, a->params, sql, err)) < 0)
		goto fail;
	if (ret_rows != NULL)
		rows = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (rows == NULL)
			continue;
		if (++nrows > STORE_ROWS_MAX) {
			dr_error_set(err, "%s: \"%.*s\": more than %d rows", store_name(),
			    STORE_SQL_SHOW, sql, STORE_ROWS_MAX);
			goto fail;
		}
		json_array_append_new(rows, store_row(st));
	}
	if (rc != SQLITE_DONE) {
		store_stmt_error(err, c->db, rc, sql);
		goto fail;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (ret_changes != NULL)
		*ret_changes = sqlite3_changes64(c->db);
	if (ret_id != NULL)
		*ret_id = sqlite3_last_insert_rowid(c->db);
	if (ret_rows != NULL)
		*ret_rows = rows;
	return 0;
fail:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	json_decref(rows);
	return -1;
}

/* Run a statement returning rows. */
int
store_query(const char *sql, const json_t *params, json_t **ret_rows, struct dr_error *err)
{
	json_t *rows = NULL;

	if (store_run(sql, &(struct store_args){.params = params}, &rows, NULL, NULL, err) < 0)
		return -1;
	*ret_rows = rows;
	return 0;
}

/* Run a statement, handing each row's columns to fn as texts. */
int
store_each(
    const char *sql, const json_t *params, store_row_fn *fn, void *arg, struct dr_error *err)
{
	const char *texts[STORE_EACH_COLUMNS];
	size_t lens[STORE_EACH_COLUMNS], n, i;
	struct store_conn *c;
	sqlite3_stmt *st;
	int rc, frc = 0;

	if ((c = store_conn_get(err)) == NULL)
		return -1;
	if ((st = store_stmt_get(c, sql, err)) == NULL)
		return -1;
	n = (size_t)sqlite3_column_count(st);
	if (n > STORE_EACH_COLUMNS)
		return dr_error_set(err, "%s: \"%.*s\": more than %d columns", store_name(),
		    STORE_SQL_SHOW, sql, STORE_EACH_COLUMNS);
	if (store_bind(st, params, sql, err) < 0) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < n; i++) {
			texts[i] = (const char *)sqlite3_column_text(st, (int)i);
			lens[i] = (size_t)sqlite3_column_bytes(st, (int)i);
		}
		if ((frc = fn(arg, n, texts, lens)) < 0)
			break;
	}
	if (frc >= 0 && rc != SQLITE_DONE)
		store_stmt_error(err, c->db, rc, sql);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return frc < 0 ? frc : rc == SQLITE_DONE ? 0 : -1;
}

/* Run a statement returning no rows. */
int
store_exec(const char *sql, const json_t *params, int64_t *ret_changes, int64_t *ret_id,
    struct dr_error *err)
{
	return store_run(
	    sql, &(struct store_args){.params = params}, NULL, ret_changes, ret_id, err);
}

/* Build a parameter array with json_pack; NULL fmt gives NULL (no parameters). */
static int
store_pack(const char *fmt, va_list ap, json_t **ret, const char *sql, struct dr_error *err)
{
	json_error_t jerr;
	json_t *p;

	*ret = NULL;
	if (fmt == NULL)
		return 0;
	p = json_vpack_ex(&jerr, 0, fmt, ap);
	if (p == NULL || !json_is_array(p)) {
		json_decref(p);
		return dr_error_set(err, "\"%.*s\": bad parameter format \"%s\": %s",
		    STORE_SQL_SHOW, sql, fmt, p == NULL ? jerr.text : "not an array");
	}
	*ret = p;
	return 0;
}

/* store_run with a json_pack format's arguments: bound directly, or packed first. */
static int
store_runv(const char *sql, const char *fmt, va_list *ap, json_t **ret_rows, int64_t *ret_changes,
    int64_t *ret_id, struct dr_error *err)
{
	_cleanup_json_ json_t *params = NULL;
	struct store_args a = {
	    .fmt = fmt, .count = fmt != NULL ? store_fmt_count(fmt) : -1, .ap = ap};

	if (a.count < 0) {
		if (store_pack(fmt, *ap, &params, sql, err) < 0)
			return -1;
		a = (struct store_args){.params = params};
	}
	return store_run(sql, &a, ret_rows, ret_changes, ret_id, err);
}

/* store_query with json_pack-style parameters. */
int
store_queryf(json_t **ret_rows, struct dr_error *err, const char *sql, const char *fmt, ...)
{
	json_t *rows = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = store_runv(sql, fmt, &ap, &rows, NULL, NULL, err);
	va_end(ap);
	if (rc < 0)
		return -1;
	*ret_rows = rows;
	return 0;
}

/* store_exec with json_pack-style parameters. */
int
store_execf(int64_t *ret_changes, int64_t *ret_id, struct dr_error *err, const char *sql,
    const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = store_runv(sql, fmt, &ap, NULL, ret_changes, ret_id, err);
	va_end(ap);
	return rc;
}

/* The first row of a query, or NULL (err cleared when there is no row). */
json_t *
store_query_one(struct dr_error *err, const char *sql, const char *fmt, ...)
{
	_cleanup_json_ json_t *rows = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = store_runv(sql, fmt, &ap, &rows, NULL, NULL, err);
	va_end(ap);
	if (rc < 0)
		return NULL;
	dr_error_clear(err);
	return json_incref(json_array_get(rows, 0));
}

void
store_bulk(bool on)
{
	struct store_conn *c = store_conn_get(NULL);

	if (c == NULL)
		return;
	sqlite3_wal_autocheckpoint(c->db, on ? 16384 : 1000);
	sqlite3_exec(c->db, on ? "PRAGMA cache_size = -16384" : "PRAGMA cache_size = -2000", NULL,
	    NULL, NULL);
	if (!on)
		sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

/* Begin an immediate (write) transaction. */
int
store_begin(struct dr_error *err)
{
	return store_exec("BEGIN IMMEDIATE", NULL, NULL, NULL, err);
}

/* Commit; on failure the transaction is rolled back. */
int
store_commit(struct dr_error *err)
{
	if (store_exec("COMMIT", NULL, NULL, NULL, err) < 0) {
		store_rollback();
		return -1;
	}
	return 0;
}

/* Roll back the open transaction, if any. */
void
store_rollback(void)
{
	struct store_conn *c = store_conn_get(NULL);

	if (c != NULL && !sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Register a table of migrations. */
void
store_register(const struct store_migration *m, size_t n)
{
	size_t i;

	pthread_mutex_lock(&store_lock);
	for (i = 0; i < store_ntables; i++) {
		if (store_tables[i].m == m) {
			pthread_mutex_unlock(&store_lock);
			return;
		}
	}
	if (store_ntables == nitems(store_tables))
		fatalx("more than %zu migration tables", nitems(store_tables));
	store_tables[store_ntables].m = m;
	store_tables[store_ntables].n = n;
	store_ntables++;
	pthread_mutex_unlock(&store_lock);
}

/* Forget every registered migration. */
void
store_register_clear(void)
{
	pthread_mutex_lock(&store_lock);
	store_ntables = 0;
	pthread_mutex_unlock(&store_lock);
}

/* Set the busy timeout for connections opened from now on. */
void
store_set_busy_timeout(int ms)
{
	atomic_store(&store_busy_ms, ms);
}

/* Order migrations by version (component order is kept by the caller). */
static int
store_migration_cmp(const void *a, const void *b)
{
	const struct store_migration *x = *(const struct store_migration *const *)a;
	const struct store_migration *y = *(const struct store_migration *const *)b;

	return (x->version > y->version) - (x->version < y->version);
}

/*
 * Every registered migration in application order: components in the order they were
 * first registered (store's own first), versions ascending within a component.
 */
static const struct store_migration **
store_migration_plan(size_t *ret_n, struct dr_error *err)
{
	struct store_migration_table tables[STORE_MIGRATION_TABLES + 1];
	const struct store_migration **all, **plan;
	size_t ntables, total = 0, i, j, k, n = 0, start;

	tables[0].m = store_migrations;
	tables[0].n = nitems(store_migrations);
	pthread_mutex_lock(&store_lock);
	memcpy(tables + 1, store_tables, store_ntables * sizeof *store_tables);
	ntables = store_ntables + 1;
	pthread_mutex_unlock(&store_lock);
	for (i = 0; i < ntables; i++)
		total += tables[i].n;
	all = xcalloc(total, sizeof *all);
	plan = xcalloc(total, sizeof *plan);
	for (i = 0, k = 0; i < ntables; i++)
		for (j = 0; j < tables[i].n; j++)
			all[k++] = &tables[i].m[j];
	/* Group by component in first-seen order; stable within a group. */
	for (i = 0; i < total; i++) {
		if (all[i] == NULL)
			continue;
		start = n;
		for (j = i; j < total; j++) {
			if (all[j] != NULL && strcmp(all[j]->component, all[i]->component) == 0) {
				plan[n++] = all[j];
				if (j != i)
					all[j] = NULL;
			}
		}
		all[i] = NULL;
		qsort(plan + start, n - start, sizeof *plan, store_migration_cmp);
		for (j = start + 1; j < n; j++) {
			if (plan[j]->version == plan[j - 1]->version) {
				dr_error_set(err, "migration %s/%d is registered twice",
				    plan[j]->component, plan[j]->version);
				free(all);
				free(plan);
				return NULL;
			}
		}
	}
	free(all);
	*ret_n = n;
	return plan;
}

/* True when plan holds component (and version, when version >= 0). */
static bool
store_plan_has(
    const struct store_migration **plan, size_t n, const char *component, int64_t version)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(plan[i]->component, component) == 0 &&
		    (version < 0 || plan[i]->version == version))
			return true;
	return false;
}

/* Apply every pending migration in one transaction. */
static int
store_migrate(struct dr_error *err)
{
	struct store_conn *c;
	_cleanup_free_ const struct store_migration **plan = NULL;
	_cleanup_json_ json_t *applied = NULL;
	size_t n, i, j;
	json_t *row;
	int rc;

	if ((c = store_conn_get(err)) == NULL)
		return -1;
	if ((plan = store_migration_plan(&n, err)) == NULL)
		return dr_error_prefix(err, "%s: ", store_name());
	if (store_begin(err) < 0)
		return -1;
	if (store_exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
	               " component TEXT NOT NULL,"
	               " version INTEGER NOT NULL,"
	               " applied_at INTEGER NOT NULL,"
	               " PRIMARY KEY (component, version))",
	        NULL, NULL, NULL, err) < 0)
		goto fail;
	if (store_query("SELECT component, version FROM schema_migrations", NULL, &applied, err) <
	    0)
		goto fail;
	/* A version we do not know in a component we do know: the schema is newer. */
	json_array_foreach(applied, i, row)
	{
		const char *comp = json_string_value(json_object_get(row, "component"));
		int64_t ver = json_integer_value(json_object_get(row, "version"));

		if (store_plan_has(plan, n, comp, -1) && !store_plan_has(plan, n, comp, ver)) {
			dr_error_set(err,
			    "%s: the schema of component %s is at version %lld, which this "
			    "version of drover does not know; refusing a database written by a "
			    "newer drover",
			    store_name(), comp, (long long)ver);
			goto fail;
		}
	}
	for (i = 0; i < n; i++) {
		bool done = false;

		json_array_foreach(applied, j, row)
		{
			if (strcmp(json_string_value(json_object_get(row, "component")),
			        plan[i]->component) == 0 &&
			    json_integer_value(json_object_get(row, "version")) ==
			        plan[i]->version)
				done = true;
		}
		if (done)
			continue;
		rc = sqlite3_exec(c->db, plan[i]->sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			store_error(err, c->db, rc, store_name());
			dr_error_prefix(
			    err, "migration %s/%d failed: ", plan[i]->component, plan[i]->version);
			goto fail;
		}
		if (store_execf(NULL, NULL, err,
		        "INSERT INTO schema_migrations (component, version, applied_at) "
		        "VALUES (?, ?, ?)",
		        "[siI]", plan[i]->component, plan[i]->version, (json_int_t)time(NULL)) < 0)
			goto fail;
	}
	return store_commit(err);
fail:
	store_rollback();
	return -1;
}

/* Open the database in state_dir and bring its schema up to date. */
int
store_open(const char *state_dir, struct dr_error *err)
{
	_cleanup_free_ char *path = NULL;
	int fd;

	if (store_path() != NULL)
		return dr_error_set(err, "%s: the store is already open", store_path());
	if (file_mkdirs(state_dir, 0700, err) < 0)
		return -1;
	path = xasprintf("%s/%s", state_dir, STORE_DB_NAME);
	/* Create the file ourselves so that it is 0600 whatever the umask allows. */
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return dr_error_errno(err, "%s", path);
	close(fd);
	pthread_mutex_lock(&store_lock);
	store_db_path = TAKE_PTR(path);
	atomic_fetch_add(&store_generation, 1);
	pthread_mutex_unlock(&store_lock);
	if (store_migrate(err) < 0) {
		store_close();
		return -1;
	}
	return 0;
}

/* Close every connection and forget the path. */
void
store_close(void)
{
	struct store_conn *c, *next;

	pthread_mutex_lock(&store_lock);
	for (c = store_conns; c != NULL; c = next) {
		next = c->next;
		store_conn_free(c);
	}
	store_conns = NULL;
	free(store_db_path);
	store_db_path = NULL;
	atomic_fetch_add(&store_generation, 1);
	pthread_mutex_unlock(&store_lock);
	tls_conn = NULL;
}

/* The open database's path, or NULL. */
const char *
store_path(void)
{
	const char *p;

	pthread_mutex_lock(&store_lock);
	p = store_db_path;
	pthread_mutex_unlock(&store_lock);
	return p;
}

/* fsync a path (file or directory). */
static int
store_fsync_path(const char *path, struct dr_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return dr_error_errno(err, "%s", path);
	if (fsync(fd) < 0 && errno != EINVAL) {
		dr_error_errno(err, "fsync %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Copy the database to dest_path with the online backup API. */
int
store_backup(const char *dest_path, struct dr_error *err)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.XXXXXX", dest_path);
	_cleanup_free_ char *dir = NULL;
	struct store_conn *c;
	sqlite3_backup *bk;
	sqlite3 *dst = NULL;
	char *slash;
	int fd, rc;

	if ((c = store_conn_get(err)) == NULL)
		return -1;
	if ((fd = mkstemp(tmp)) < 0)
		return dr_error_errno(err, "%s", tmp);
	fchmod(fd, 0600);
	close(fd);
	rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		store_error(err, dst, rc, tmp);
		goto fail;
	}
	if ((bk = sqlite3_backup_init(dst, "main", c->db, "main")) == NULL) {
		store_error(err, dst, sqlite3_errcode(dst), tmp);
		goto fail;
	}
	rc = sqlite3_backup_step(bk, -1);
	sqlite3_backup_finish(bk);
	if (rc != SQLITE_DONE) {
		store_error(err, c->db, rc, store_name());
		dr_error_prefix(err, "backup to %s: ", dest_path);
		goto fail;
	}
	/* A backup is one self-contained file: no -wal beside it. */
	rc = sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		store_error(err, dst, rc, tmp);
		goto fail;
	}
	rc = sqlite3_close(dst);
	dst = NULL;
	if (rc != SQLITE_OK) {
		dr_error_set(err, "%s: %s", tmp, sqlite3_errstr(rc));
		goto fail;
	}
	if (store_fsync_path(tmp, err) < 0)
		goto fail;
	if (rename(tmp, dest_path) < 0) {
		dr_error_errno(err, "rename %s to %s", tmp, dest_path);
		goto fail;
	}
	dir = xstrdup(dest_path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*(slash == dir ? slash + 1 : slash) = '\0';
		store_fsync_path(dir, NULL);
	}
	return 0;
fail:
	sqlite3_close_v2(dst);
	unlink(tmp);
	return -1;
}

/* Run SQLite's integrity check. */
int
store_check(struct dr_error *err)
{
	_cleanup_json_ json_t *rows = NULL;
	struct buf msg = BUF_INIT(DR_ERROR_MAX);
	json_t *row;
	size_t i;

	if (store_query("PRAGMA integrity_check", NULL, &rows, err) < 0)
		return -1;
	row = json_array_get(rows, 0);
	if (json_array_size(rows) == 1 &&
	    strcmp(json_string_value(json_object_get(row, "integrity_check")), "ok") == 0)
		return 0;
	json_array_foreach(rows, i, row)
	{
		if (i == 3)
			break;
		buf_addf(&msg, "%s%s", i > 0 ? "; " : "",
		    json_string_value(json_object_get(row, "integrity_check")));
	}
	dr_error_set(err, "%s: integrity check failed: %s", store_name(),
	    msg.data != NULL ? msg.data : "no result");
	buf_free(&msg);
	return -1;
}

/* Write an audit row for a user-visible change. */
int
store_audit(const char *user, const char *remote, const char *action, const char *resource,
    const char *resource_id, const json_t *before, const json_t *after, struct dr_error *err)
{
	_cleanup_free_ char *summary = NULL;

	summary = xasprintf("%s %s %s%s%s", user != NULL ? user : "(system)", action, resource,
	    resource_id != NULL ? " " : "", resource_id != NULL ? resource_id : "");
	return store_execf(NULL, NULL, err,
	    "INSERT INTO audits (at, \"user\", remote, action, resource, resource_id, summary,"
	    " before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    "[Is?s?sss?s?O?O?]", (json_int_t)time(NULL), user, remote, action, resource,
	    resource_id, summary, before, after);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when invalid. */
static size_t
store_utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Copy s replacing invalid UTF-8 with U+FFFD; NUL bytes become U+FFFD too. */
char *
store_utf8_clean(const char *s, size_t len, size_t *ret_len)
{
	const unsigned char *u = (const unsigned char *)s;
	char *out = xmalloc(len * 3 + 1);
	size_t i = 0, o = 0, n;

	while (i < len) {
		n = u[i] == 0 ? 0 : store_utf8_seq(u + i, len - i);
		if (n == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	if (ret_len != NULL)
		*ret_len = o;
	return out;
}
