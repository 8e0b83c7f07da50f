/*
 * core.h - the foundation every Drover subsystem uses.
 *
 * One header for the whole of core/, in sections named after the file that implements
 * them. Ownership rules are written above each function: "caller frees" means the caller
 * owns the returned memory; functions that fail leave their ret_* out-parameters untouched.
 */
#ifndef DROVER_CORE_H
#define DROVER_CORE_H

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>
#include <time.h>

#define DR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define DR_NORETURN __attribute__((noreturn))

/* Cleanup-attribute locals, systemd style. Every destructor accepts NULL. */
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_json_ _cleanup_(json_decrefp) /* jansson provides json_decrefp */
/* Hand ownership out of a cleanup local. */
#define TAKE_PTR(p)                                                                      \
	({                                                                               \
		__typeof__(p) take_ptr_tmp_ = (p);                                       \
		(p) = NULL;                                                              \
		take_ptr_tmp_;                                                           \
	})
#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/* error.c */

/*
 * The error a person reads. The message names the input and the place
 * ("playbook.yml:12:5: ...", "https://mirror/x: ...", "host n1: ..."). Functions that
 * can fail for a reason a user must see take a struct dr_error * (which may be NULL).
 */
#define DR_ERROR_MAX 1024
struct dr_error {
	char msg[DR_ERROR_MAX];
};

/* Set err's message (err may be NULL); always returns -1 so callers can return it. */
int dr_error_set(struct dr_error *err, const char *fmt, ...) DR_PRINTF(2, 3);
/* As dr_error_set, appending ": strerror(errno)". */
int dr_error_errno(struct dr_error *err, const char *fmt, ...) DR_PRINTF(2, 3);
/* Prepend context ("file.yml: ") to an error already set; returns -1. */
int dr_error_prefix(struct dr_error *err, const char *fmt, ...) DR_PRINTF(2, 3);
/* Clear an error. */
void dr_error_clear(struct dr_error *err);

/* log.c */

/*
 * Every .c file may define LOG_COMPONENT before including core.h; it tags each line and is
 * what `log.debug: [store, jobs]` selects. Levels are syslog's (LOG_ERR .. LOG_DEBUG).
 */
#ifndef LOG_COMPONENT
#define LOG_COMPONENT "drover"
#endif

/* Set up logging: to syslog when use_syslog, otherwise stderr (with <N> prefixes under
 * journald). level is the most verbose syslog level printed. */
void log_init(const char *ident, bool use_syslog, int level);
/* Debug output for a comma-separated list of components ("all" for every one). */
void log_set_debug(const char *components);
/* Change the level after start (SIGHUP reload). */
void log_set_level(int level);
/* Parse "error", "warning", "info", "debug"; -1 if unknown. */
int log_level_parse(const char *name);
/* True when a debug line for component would be printed. */
bool log_debug_enabled(const char *component);
void log_emit(int level, const char *component, bool with_errno, const char *fmt, ...)
	DR_PRINTF(4, 5);
DR_NORETURN void log_fatal(const char *component, bool with_errno, const char *fmt, ...)
	DR_PRINTF(3, 4);

#define log_warn(...) log_emit(LOG_WARNING, LOG_COMPONENT, true, __VA_ARGS__)
#define log_warnx(...) log_emit(LOG_WARNING, LOG_COMPONENT, false, __VA_ARGS__)
#define log_errx(...) log_emit(LOG_ERR, LOG_COMPONENT, false, __VA_ARGS__)
#define log_info(...) log_emit(LOG_INFO, LOG_COMPONENT, false, __VA_ARGS__)
#define log_debug(...)                                                                   \
	do {                                                                             \
		if (log_debug_enabled(LOG_COMPONENT))                                    \
			log_emit(LOG_DEBUG, LOG_COMPONENT, false, __VA_ARGS__);          \
	} while (0)
/* Only at start-up and for broken invariants. fatal adds strerror(errno). */
#define fatal(...) log_fatal(LOG_COMPONENT, true, __VA_ARGS__)
#define fatalx(...) log_fatal(LOG_COMPONENT, false, __VA_ARGS__)

/* mem.c */

/* Allocation failure is fatal; these never return NULL. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Formatted allocation; caller frees. */
char *xasprintf(const char *fmt, ...) DR_PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap) DR_PRINTF(1, 0);
/* free(*(void **)p): for _cleanup_(freep). */
void freep(void *p);

bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
/* Copy at most size-1 bytes and terminate; returns strlen(src) (truncated if >= size). */
size_t str_copy(char *dst, const char *src, size_t size);
/* Strip leading and trailing white space in place; returns s. */
char *str_trim(char *s);
/* Parse a whole decimal integer within [min, max]; -1 on junk or out of range. */
int str_to_ll(const char *s, long long min, long long max, long long *ret);
/* Base64 (RFC 4648, with padding) of n bytes, NUL-terminated; caller frees. */
char *base64_encode(const void *p, size_t n);
/* The bytes of base64 text s (n bytes; white space skipped), NUL-terminated past
 * *ret_len; NULL when it is not base64. Caller frees. */
unsigned char *base64_decode(const char *s, size_t n, size_t *ret_len);
/* Constant-time comparison of two equal-length secrets. */
bool str_equal_secret(const char *a, const char *b);
/* Read a whole file, at most max bytes (error when larger); caller frees *ret. */
int file_read(const char *path, size_t max, char **ret, size_t *ret_len, struct dr_error *err);
/* Write data to path atomically (temporary file, fsync, rename) with mode. */
int file_write_atomic(const char *path, const void *data, size_t len, int mode,
    struct dr_error *err);
/* mkdir -p: dir and each missing parent, created with mode. */
int file_mkdirs(const char *dir, int mode, struct dr_error *err);
/* Monotonic clock in microseconds. */
int64_t time_mono_us(void);

/* buf.c */

/*
 * A growable byte buffer with a hard cap: anything a client or an upstream controls is
 * accumulated in one of these, so a hostile peer cannot make us allocate without bound.
 * data is always NUL-terminated (when non-NULL).
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* hard cap on len; 0 means SIZE_MAX */
};
#define BUF_INIT(m) ((struct buf){ .data = NULL, .len = 0, .cap = 0, .max = (m) })

void buf_init(struct buf *b, size_t max);
/* Append; -1 (and nothing appended) when the cap would be passed. */
int buf_add(struct buf *b, const void *data, size_t len);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...) DR_PRINTF(2, 3);
int buf_vaddf(struct buf *b, const char *fmt, va_list ap) DR_PRINTF(2, 0);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Take the NUL-terminated contents (never NULL); b is reset. Caller frees. */
char *buf_steal(struct buf *b);

/* yaml.c */

/*
 * YAML documents load into json_t, resolving plain scalars as PyYAML's SafeLoader (YAML 1.1,
 * what Ansible uses): yes/no/on/off are booleans, 0755 is octal, 1:30 is 90, 1e3 is a string.
 * Exceptions, because JSON cannot hold them: timestamps, .inf and .nan stay strings. Aliases
 * are deep copies (mutating one place never changes another); mapping keys that are not
 * strings become the text Python would print (1 -> "1", true -> "True", null -> "None");
 * duplicate keys: the last wins. Ansible's !unsafe gives a plain string; !vault is refused.
 *
 * A struct yaml_src remembers where each node came from, so later code can say
 * "site.yml:12:5: unknown keyword". true, false and null are jansson singletons and have no
 * place of their own: ask for the place of their key instead. The source map holds a
 * reference to the document, so its nodes stay valid while the map lives.
 */
struct yaml_src;

#define YAML_MULTI 0x1 /* return every document of the stream as a JSON array */
#define YAML_MAX_BYTES (32u << 20) /* the largest document we read */
#define YAML_MAX_DEPTH 512 /* nesting of sequences and mappings */
#define YAML_MAX_ALIAS_NODES 1000000 /* nodes created by expanding aliases, per stream */

/* Load a file (at most YAML_MAX_BYTES). An empty document is JSON null; more than one
 * document without YAML_MULTI is an error. Caller frees *ret (json_decref) and *ret_src
 * (yaml_src_free); ret_src may be NULL. */
int yaml_load_file(const char *path, unsigned flags, json_t **ret, struct yaml_src **ret_src,
    struct dr_error *err);
/* As yaml_load_file for text in memory; name is what messages call it. */
int yaml_load_string(const char *name, const char *text, size_t len, unsigned flags,
    json_t **ret, struct yaml_src **ret_src, struct dr_error *err);
/* Where node starts (key NULL) or where key of mapping node starts, as 1-based line and
 * column; false when unknown (src NULL, a singleton, a node not from this document). */
bool yaml_src_find(const struct yaml_src *src, const json_t *node, const char *key,
    unsigned *ret_line, unsigned *ret_col);
/* "file.yml:12:5" for node, or "file.yml" when unknown; writes into buf and returns it. */
const char *yaml_src_where(const struct yaml_src *src, const json_t *node, char *buf,
    size_t size);
/* As yaml_src_where for key of mapping obj; the mapping's place when the key's is unknown. */
const char *yaml_src_where_key(const struct yaml_src *src, const json_t *obj, const char *key,
    char *buf, size_t size);
void yaml_src_free(struct yaml_src *src);
/*
 * Append v as YAML to out, byte for byte what PyYAML's yaml.safe_dump(v,
 * default_flow_style=False, allow_unicode=True, indent=indent, sort_keys=sort_keys) writes.
 * -1 when out's cap is reached (out then holds a truncated text).
 */
int yaml_dump(const json_t *v, int indent, bool sort_keys, struct buf *out);

/* end yaml.c */

/* config.c */

/*
 * droverd's configuration: a YAML file checked against one table of keys (config.c), so
 * adding a key is one table row plus one field here. Dotted key names are nested maps in
 * the file ("http.threads" is `http: {threads: 4}`); unknown keys and bad values are errors
 * naming file:line:column.
 */
struct config {
	char *listen;    /* ADDR:PORT or [V6ADDR]:PORT */
	char *state_dir; /* holds drover.db and the content pool */
	char *url;       /* public base URL; "" when derived from listen */
	int log_level;   /* syslog level: LOG_ERR .. LOG_DEBUG */
	bool log_syslog;
	char *log_debug; /* comma list of components, "all", or "" */
	int http_threads;
	int http_max_connections;
	size_t http_max_body;
	size_t http_max_header;
	int http_timeout; /* seconds */
	char *tls_cert;
	char *tls_key;
	int job_workers;
	int job_shutdown_grace;  /* seconds */
	int job_default_timeout; /* seconds */
	char *proxy;             /* outgoing HTTP proxy URL, "" for none */
	char *tftp_listen;       /* TFTP server ADDR[:PORT]; "" = no TFTP server */
	char *tftp_root;         /* boot files; "" = <state_dir>/tftp */
	char *dnsmasq_pidfile;   /* dnsmasq to signal when reservations change; "" = none */
	char *dnsmasq_command;   /* dnsmasq droverd runs and restarts itself; "" = none */
	char *playbooks_dir;     /* cluster.yml and its roles; "" = the installed copy */
	char *tftp_bootfiles_from; /* boot loaders from .debs or an unpacked tree; "" = none */
};

/* Fill cfg with the defaults (overwrites it; release it with config_free). */
void config_defaults(struct config *cfg);
/* The defaults with the file at path on top. On failure cfg is untouched. */
int config_load(const char *path, struct config *cfg, struct dr_error *err);
/*
 * Re-read path (SIGHUP) and apply the keys that may change at run time. Changed keys that
 * need a restart are listed in *ret_restart ("http.threads,listen"; NULL when none; caller
 * frees). Returns the number of keys applied; on failure cfg is untouched.
 */
int config_reload(const char *path, struct config *cfg, char **ret_restart,
    struct dr_error *err);
void config_free(struct config *cfg);
/* Append the effective configuration as YAML (droverd --print-config). */
int config_dump(const struct config *cfg, struct buf *out);

/* end config.c */

/* template.c */

/*
 * A Jinja2 subset over json_t, shared by provisioning templates, the playbook `template`
 * module and `{{ }}` fields. A template is compiled once (immutable afterwards, so several
 * threads may render it at once) and rendered many times. Output follows Ansible: None
 * prints as "", lists and dicts as Python repr, true as "True", floats as Python does.
 */
struct template;

/*
 * Where `{% include name %}` finds its text: fill *ret_text (the source) and *ret_name
 * (the name errors cite), both caller-freed; return -1 with err set when not found.
 */
typedef int (*template_load_fn)(void *ctx, const char *name, char **ret_text,
    char **ret_name, struct dr_error *err);

struct template_opts {
	bool trim_blocks;   /* drop the first newline after a block tag (Ansible: true) */
	bool lstrip_blocks; /* strip blanks before a block tag at the start of a line */
	bool autoescape;    /* HTML-escape `{{ }}` output unless marked safe */
	bool lenient;       /* undefined renders as "" instead of failing */
	size_t max_output;  /* output cap in bytes; 0 means TEMPLATE_MAX_OUTPUT */
	uint64_t max_loop;  /* total loop iterations per render; 0 means TEMPLATE_MAX_LOOP */
	template_load_fn load; /* NULL: include fails */
	void *load_ctx;
};
#define TEMPLATE_MAX_OUTPUT (16u << 20)
#define TEMPLATE_MAX_LOOP 1000000u
#define TEMPLATE_MAX_INCLUDE 16 /* include nesting */
#define TEMPLATE_MAX_CALL 64    /* macro call nesting */
#define TEMPLATE_MAX_NEST 128   /* expression/statement nesting in the source */
#define TEMPLATE_MAX_SOURCE (4u << 20)

/* Compile text (errors cite name:line). opts may be NULL (Jinja2 defaults); it is copied. */
int template_compile(const char *name, const char *text, const struct template_opts *opts,
    struct template **ret, struct dr_error *err);
/* Render with vars (an object, or NULL); *ret is caller-freed, *ret_len may be NULL. */
int template_render(const struct template *t, const json_t *vars, char **ret,
    size_t *ret_len, struct dr_error *err);
void template_free(struct template *t);
/* Compile and render a one-off string; *ret caller-freed. */
int template_render_string(const char *name, const char *text,
    const struct template_opts *opts, const json_t *vars, char **ret, struct dr_error *err);
/* Evaluate a bare expression (`when:` conditions) to a new reference in *ret. */
int template_eval(const char *name, const char *expr, const struct template_opts *opts,
    const json_t *vars, json_t **ret, struct dr_error *err);
/* Python truth of a value (None, false, 0, "", [], {} are false). */
bool template_truthy(const json_t *v);

/*
 * Filters and tests receive positional and keyword arguments as borrowed values. `in` is
 * NULL when the input is undefined (only for entries registered with undefined_ok).
 */
struct template_args {
	size_t npos;
	json_t *const *pos;
	size_t nkw;
	const char *const *kw_names;
	json_t *const *kw;
};
/* A filter: a new reference in *ret, or -1 with err set (the engine adds file:line). */
typedef int (*template_filter_fn)(const json_t *in, const struct template_args *args,
    json_t **ret, struct dr_error *err);
typedef int (*template_test_fn)(const json_t *in, const struct template_args *args,
    bool *ret, struct dr_error *err);
/* Argument lookup for filter writers: keyword `name`, else positional `index`, else NULL. */
json_t *template_arg(const struct template_args *args, size_t index, const char *name);
/*
 * Add a filter or test (e.g. Ansible's own) before any template is compiled; a name
 * registered again replaces the earlier one. Not thread-safe: call at start-up.
 */
void template_filter_register(const char *name, template_filter_fn fn, bool undefined_ok);
void template_test_register(const char *name, template_test_fn fn, bool undefined_ok);
/* Add a global function (`lookup(...)`): fn gets in == NULL and the call's arguments. */
void template_global_register(const char *name, template_filter_fn fn);

/* end template.c */

/* cron.c */

/*
 * Cron lines: "minute hour day-of-month month day-of-week" with lists (1,5), ranges
 * (1-5), steps (10-50/20, a star with a step for "every 15", and N/S meaning N-max/S),
 * month names JAN-DEC and day names SUN-SAT (any case, also in ranges; SAT-SUN means
 * 6-7), day-of-week 0-7 (0 and 7 are Sunday), and @hourly @daily @midnight @weekly
 * @monthly @yearly @annually.
 *
 * Day rule (Vixie cron): when both day fields are restricted (neither starts with '*'),
 * a day matches when EITHER matches; otherwise both must.
 *
 * Fire times are computed in a named IANA zone, without touching TZ (thread-safe):
 *  - A "fixed-time" line is one whose minute and hour fields both do not start with '*'
 *    (30 2 * * *, @daily); other lines (every 15 minutes, @hourly) are "wildcard" lines.
 *  - Spring forward (local times that do not exist): a fixed-time line due in the gap
 *    fires once, at the first instant after the gap (30 2 * * * in Europe/Berlin on
 *    2026-03-29 fires at 03:00+02:00); wildcard lines follow real time and do not fire
 *    for the minutes that do not exist.
 *  - Fall back (local times that occur twice): fixed-time lines fire once, at the first
 *    occurrence; wildcard lines fire in both occurrences.
 * Lines that can never fire (0 0 30 2 *) are rejected by cron_parse; cron_next searches
 * at most 400 years (one whole Gregorian cycle) and fails after that.
 */
struct cron;

/* Parse a cron line; *ret is the caller's (cron_free). Errors quote the line and name the
 * field and token: "cron line '61 * * * *': minute 61 is out of range 0-59". */
int cron_parse(const char *line, struct cron **ret, struct dr_error *err);
/* Free a parsed line; NULL is fine. */
void cron_free(struct cron *c);
/* The line as given (trimmed), for messages; owned by c. */
const char *cron_line(const struct cron *c);
/* The first fire time strictly after `after` (UTC epoch seconds) in zone tz ("" or "UTC"
 * for UTC). */
int cron_next(const struct cron *c, const char *tz, time_t after, time_t *ret,
    struct dr_error *err);

/* tz.c: named zones from the tz database (TZDIR or /usr/share/zoneinfo), read from their
 * TZif files and cached for the process's life; safe to use from any thread. */
struct tz_zone;
/* A stretch of time [start, end) with one UTC offset; prev_off is the offset just before
 * start (equal to off when there is nothing before). Offsets are seconds east of UTC. */
struct tz_span {
	int64_t start, end;
	int32_t off, prev_off;
};
/* Check a zone name exists ("" and "UTC" are UTC; no "..", no leading '/'). */
int tz_check(const char *tz, struct dr_error *err);
/* Format t as ISO-8601 local time with offset in tz, e.g. 2026-03-29T03:00:00+02:00. */
int tz_format(const char *tz, time_t t, char *buf, size_t size, struct dr_error *err);
/* Parse ISO-8601 "2026-03-29T01:30:00Z", "...+02:00", or a local time without offset in tz
 * (the earlier instant when it occurs twice; an error when a clock change skips it). */
int tz_parse_time(const char *s, const char *tz, time_t *ret, struct dr_error *err);
/* The machine's zone name for tools: TZ, /etc/timezone, /etc/localtime, else "UTC". */
void tz_default(char *buf, size_t size);
/* Find (load and cache) a zone; the pointer is valid until tz_shutdown(). */
int tz_zone_get(const char *name, const struct tz_zone **ret, struct dr_error *err);
/* The span of constant offset containing instant t. */
void tz_zone_span(const struct tz_zone *z, int64_t t, struct tz_span *ret);
/* UTC offset of z at instant t. */
int32_t tz_zone_offset(const struct tz_zone *z, int64_t t);
/* Instant of a local time (epoch seconds as if UTC): the earlier of two; -1 in a gap. */
int tz_zone_local_to_utc(const struct tz_zone *z, int64_t local, int64_t *ret);
/* Free the zone cache; only at shutdown, when no thread uses zones. */
void tz_shutdown(void);
/* Proleptic Gregorian calendar helpers (days since 1970-01-01). */
int64_t tz_days_from_civil(int64_t y, int m, int d);
void tz_civil_from_days(int64_t days, int64_t *ret_y, int *ret_m, int *ret_d);
int tz_weekday(int64_t days);
int tz_month_days(int64_t y, int m);

/* end cron.c */

/* store.c */

/*
 * The store: SQLite in WAL mode behind a small, portable query API. Subsystems never see a
 * sqlite3 handle and write portable SQL (`?` placeholders, no SQLite-only functions or
 * syntax; times are integer Unix seconds passed in as parameters), so that a PostgreSQL
 * backend can take SQLite's place inside store.c alone. Every thread gets its own
 * connection, opened on first use and closed when the thread exits (or by store_close).
 *
 * Rows come back as JSON objects: INTEGER -> integer, REAL -> real, TEXT -> string,
 * NULL -> null, BLOB -> string. A column whose name ends in "_json" (use an alias:
 * `SELECT params AS params_json`) is parsed as JSON text and returned under the name
 * without the suffix ("params"); text that does not parse stays a string.
 * Parameters come from a JSON array: string, integer, real, true/false (1/0), null;
 * objects and arrays are bound as their compact JSON text.
 */
#define STORE_DB_NAME "drover.db"
#define STORE_ROWS_MAX 1000000 /* a query returning more rows fails: add a LIMIT */

/*
 * One numbered schema step of a component. Migrations of one component are applied in
 * version order; components in the order they were first registered ("store" first).
 * The SQL may hold several statements. It is SQLite's DDL: a PostgreSQL backend would
 * carry its own text per step.
 */
struct store_migration {
	const char *component;
	int version;
	const char *sql;
};

/* Register migrations (a static table, not copied) before store_open; registering the same
 * table twice is harmless. */
void store_register(const struct store_migration *m, size_t n);
/* Forget every registered migration (tests). */
void store_register_clear(void);
/* How long a statement waits for another writer's lock (default 5000 ms). */
void store_set_busy_timeout(int ms);
/*
 * Open (creating with mode 0600) <state_dir>/drover.db, creating state_dir (0700) if
 * missing, and apply every pending migration in one transaction. Fails, naming the file,
 * on a locked or corrupt database, on a failed migration (naming component and version;
 * nothing is applied) and on a schema newer than this code.
 */
int store_open(const char *state_dir, struct dr_error *err);
/* Close every connection. Call after every thread using the store has stopped. */
void store_close(void);
/* The database file's path while open (NULL otherwise); not to be freed. */
const char *store_path(void);
/* Run one statement; *ret_rows (caller frees) = array of row objects. */
int store_query(const char *sql, const json_t *params, json_t **ret_rows, struct dr_error *err);
/*
 * Run one statement, calling fn for each row with its n columns as texts (NULL for NULL;
 * valid until fn returns) and their lengths in bytes: for large rows read once, without
 * building JSON. A negative return from fn stops the statement and is returned (fn sets
 * err, if any); at most 64 columns.
 */
typedef int store_row_fn(void *arg, size_t n, const char *const *texts, const size_t *lens);
int store_each(
    const char *sql, const json_t *params, store_row_fn *fn, void *arg, struct dr_error *err);
/* Run one statement returning no rows; *ret_changes = rows changed, *ret_id = last insert
 * id (either may be NULL). */
int store_exec(const char *sql, const json_t *params, int64_t *ret_changes, int64_t *ret_id,
    struct dr_error *err);
/* store_query with parameters built by json_pack(fmt, ...) (fmt must build an array, e.g.
 * "[si]"; NULL fmt means no parameters). */
int store_queryf(json_t **ret_rows, struct dr_error *err, const char *sql, const char *fmt,
    ...);
/* store_exec with parameters built by json_pack(fmt, ...). */
int store_execf(int64_t *ret_changes, int64_t *ret_id, struct dr_error *err, const char *sql,
    const char *fmt, ...);
/* The first row of a query (caller frees), NULL when there is none or on error (err set;
 * err is cleared when there is simply no row). */
json_t *store_query_one(struct dr_error *err, const char *sql, const char *fmt, ...);
/* Begin a write transaction on this thread's connection (takes the write lock at once). */
int store_begin(struct dr_error *err);
int store_commit(struct dr_error *err);
/* Roll back the open transaction, if any. */
void store_rollback(void);
/*
 * Bulk writing on this thread's connection (on), then back (off): the write-ahead log is
 * checkpointed every 64 MB instead of every 4 MB (each checkpoint fsyncs) and the page
 * cache is 16 MB instead of 2 MB; off checkpoints what is pending without waiting for
 * readers.
 */
void store_bulk(bool on);
/* Copy the live database to dest_path (mode 0600) with SQLite's online backup; the file
 * appears atomically (temporary file, then rename). */
int store_backup(const char *dest_path, struct dr_error *err);
/* PRAGMA integrity_check; fails with the first problems reported. */
int store_check(struct dr_error *err);
/* Record a user-visible write. before/after (may be NULL) are stored as JSON; summary is
 * built from action, resource and resource_id. */
int store_audit(const char *user, const char *remote, const char *action, const char *resource,
    const char *resource_id, const json_t *before, const json_t *after, struct dr_error *err);
/* Copy of s with every invalid UTF-8 sequence replaced by U+FFFD, so that it can be stored
 * as TEXT (PostgreSQL rejects invalid UTF-8) and returned as a JSON string. Caller frees. */
char *store_utf8_clean(const char *s, size_t len, size_t *ret_len);

/* end store.c */

/* job.c */

/*
 * The persisted job queue. Every long operation is a row in `jobs` with its parameters,
 * state, per-item results (`job_items`) and output (`job_output`, chunks of text). A fixed
 * pool of worker threads claims queued jobs in id order and runs the handler of the job's
 * kind. Output offsets are BYTE offsets into the job's whole output; output is stored as
 * valid UTF-8 (invalid bytes become U+FFFD before they are counted). Times are Unix seconds.
 */
#define JOB_OUTPUT_MAX (64 * 1024 * 1024) /* default cap on one job's output */
#define JOB_LIST_MAX 1000		   /* largest page job_list returns */
#define JOB_KINDS_MAX 64

/* A running job, as its handler sees it (opaque). */
struct job;

/* A kind of job and the function that runs it (on a worker thread). */
struct job_kind {
	const char *name;
	/* 0 ok, -1 failed (err says why). Long handlers poll job_cancelled(). */
	int (*run)(struct job *job, struct dr_error *err);
	int timeout; /* seconds; 0 = no limit unless the submitter sets one */
	/* Optional: refuse params that must not be stored as given (a credential in them),
	 * before a job or a schedule of the kind keeps them; err says why. */
	int (*check)(const json_t *params, struct dr_error *err);
};

/* Register the job tables' migrations and the built-in kinds "noop" and "sleep"; call
 * before store_open. */
void job_init(void);
/* Register a kind (the struct is not copied); a name already taken is replaced. */
void job_kind_register(const struct job_kind *k);
/* The kind called name, or NULL. */
const struct job_kind *job_kind_find(const char *name);
/* Timeout for jobs whose submitter and kind set none; 0 = none (the default). */
void job_default_timeout_set(int seconds);
/* Cap on one job's output in bytes (default JOB_OUTPUT_MAX). */
void job_output_set_max(size_t max);
/* Call fn (it must not block) whenever some job's output grows or a job ends: the HTTP
 * server's streams that follow job output resume at once instead of at their next poll. */
void job_output_listen(void (*fn)(void));

/*
 * Start `workers` threads. Jobs a previous process left running are marked interrupted
 * first. Also starts one watcher thread that enforces timeouts and flushes idle output.
 */
int jobs_start(int workers, struct dr_error *err);
/*
 * Stop claiming jobs, let running jobs continue for up to grace_seconds, then ask them to
 * cancel, wait a short bounded time, mark any still running interrupted, and join the
 * threads (a handler that never polls job_cancelled() delays the join, not the state).
 */
void jobs_stop(int grace_seconds);
/* Wake the workers to look for queued jobs now (after a transaction that submitted). */
void jobs_wake(void);

/* Queue a job; timeout 0 takes the kind's. Fails on an unknown kind. */
int job_submit(const char *kind, const json_t *params, const char *owner, int timeout,
    int64_t *ret_id, struct dr_error *err);
/* As job_submit, recording the schedule that made the job. */
int job_submit_scheduled(const char *kind, const json_t *params, const char *owner,
    int timeout, int64_t schedule_id, int64_t *ret_id, struct dr_error *err);
/*
 * Cancel a job: a queued one is cancelled at once; a running one is asked to stop (its
 * handler polls job_cancelled()) and ends "cancelled". Fails on a finished or unknown job.
 */
int job_cancel(int64_t id, struct dr_error *err);
/* The job as an object with its "items" array, or NULL when there is none. Caller frees. */
json_t *job_get(int64_t id);
/* Jobs newest first, filtered by {"state", "kind", "owner", "schedule_id"} (each optional);
 * *ret_total = matching jobs ignoring limit/offset. Caller frees *ret_rows. */
int job_list(const json_t *filter, int limit, int offset, json_t **ret_rows,
    int64_t *ret_total, struct dr_error *err);
/*
 * Read at most max bytes of output from byte offset into out (appended). *ret_next_offset
 * = the offset to read from next; *ret_finished = the job has ended and no output lies past
 * *ret_next_offset. Output is returned in whole chunks unless a chunk alone exceeds max.
 */
int job_output_read(int64_t id, int64_t offset, size_t max, struct buf *out,
    int64_t *ret_next_offset, bool *ret_finished, struct dr_error *err);
/* Block until output exists past offset, the job has ended, or timeout_ms passed.
 * 1 = output or ended, 0 = timeout, -1 = no such job. */
int job_output_wait(int64_t id, int64_t offset, int timeout_ms);
/* {"kind": {"state": n}} over all jobs. Caller frees. */
json_t *job_counts(void);

/* For handlers: */
int64_t job_id(struct job *job);
const json_t *job_params(struct job *job);
/* True once the job was cancelled, timed out, or the daemon is stopping. */
bool job_cancelled(struct job *job);
/* Append output (thread-safe); flushed per line at most every ~200 ms, and by the watcher. */
void job_write(struct job *job, const char *data, size_t len);
void job_printf(struct job *job, const char *fmt, ...) DR_PRINTF(2, 3);
/* Set one item's state and data (e.g. per host); data may be NULL. */
void job_item_set(struct job *job, const char *item, const char *state, const json_t *data);
/* Set the job's result; steals the reference. */
void job_result_set(struct job *job, json_t *result);

/* end job.c */

/* schedule.c */

/*
 * Schedules: a cron line in a time zone that enqueues a job of some kind. One scheduler
 * thread sleeps until the earliest next_run_at (woken early by any change, and at least
 * every SCHEDULE_WAKE_MAX seconds), then runs schedule_tick(now). A fire time found more
 * than SCHEDULE_MISFIRE_GRACE seconds late was missed (the daemon was down): misfire
 * "run_once" runs one job for all the missed times, "skip" runs none; either way
 * next_run_at moves to the first fire time after now.
 *
 * A spec is a JSON object:
 *   name (string, required, unique), cron (required), tz (default "UTC"),
 *   kind (registered job kind, required), params (object, default {}),
 *   start_at / end_at (Unix seconds, or ISO-8601 text read in tz; optional),
 *   max_iterations (>= 1, optional), misfire ("run_once" default, or "skip"),
 *   enabled (default true), owner (user the jobs belong to, optional).
 * Schedules come back with the same fields plus id, iterations, next_run_at, last_run_at
 * and created_at (Unix seconds or null); schedule_get adds "next_runs" (the next
 * SCHEDULE_NEXT_SHOWN fire times, Unix seconds) and "next_runs_local" (ISO-8601 in tz).
 */
#define SCHEDULE_NAME_MAX 128
#define SCHEDULE_MISFIRE_GRACE 60 /* seconds */
#define SCHEDULE_WAKE_MAX 60	   /* seconds */
#define SCHEDULE_NEXT_SHOWN 5

/* Register the schedules table's migrations; before store_open. */
void schedule_init(void);
/* Validate spec (errors name the field) and create the schedule. */
int schedule_create(const json_t *spec, int64_t *ret_id, struct dr_error *err);
int schedule_delete(int64_t id, struct dr_error *err);
/* Disabling clears next_run_at; enabling computes it from now (missed times are not run).
 * Enabling a schedule that reached its end_at or max_iterations fails. */
int schedule_set_enabled(int64_t id, bool enabled, struct dr_error *err);
/* One schedule with its next fire times, or NULL. Caller frees. */
json_t *schedule_get(int64_t id);
/* Every schedule, by name. Caller frees *ret. */
int schedule_list(json_t **ret, struct dr_error *err);
/* Enqueue the jobs due at `now`, advance the schedules; returns the jobs enqueued. A
 * schedule that cannot be run is still advanced, and the first such error is returned
 * in err (the count stays >= 0); -1 only when the store fails. */
int schedule_tick(time_t now, struct dr_error *err);
/* Start / stop the scheduler thread. */
int schedule_start(struct dr_error *err);
void schedule_stop(void);
/* The clock the scheduler reads (time(NULL) by default; NULL restores it). For tests. */
void schedule_clock_set(time_t (*now)(void));

/* end schedule.c */

/* secret.c */

/*
 * Credentials encrypted at rest: AES-256-GCM under <state_dir>/secret.key (0600, made on
 * first start). A sealed value is "enc:v1:<base64 iv|ciphertext|tag>"; values up to
 * SECRET_MAX bytes.
 */
#define SECRET_MAX 4096

/* Load or create the key in dir/secret.key (NULL: a key for this process only). */
int secret_init(const char *dir, struct dr_error *err);
/* Encrypt a credential ("enc:v1:..."); NULL before secret_init or past SECRET_MAX.
 * Caller frees. */
char *secret_seal(const char *plain);
/* Decrypt (plain text passes through); NULL when it does not open. Caller frees. */
char *secret_open(const char *sealed);
/* True when s is a sealed value. */
bool secret_is_sealed(const char *s);
/* Overwrite a plain secret, then free it (NULL is fine). */
void secret_free(char *s);

/* proc.c */

/* How proc_run runs a helper program. */
struct proc_opts {
	const char *cwd; /* NULL: droverd's */
	int timeout_s;	 /* 0: none; after it the process group is killed */
	/* NULL, or the job whose output the program's goes into; cancelling the job sends
	 * the group SIGTERM, and SIGKILL 10 s later. */
	struct job *job;
	struct buf *tail; /* NULL, or where the end of the output is kept */
	size_t tail_max;  /* bytes of it kept (0: as many as tail's cap allows) */
};
#define PROC_FAILED (-2) /* the program ran and failed (exit status, signal) */

/*
 * Run argv (argv[0] looked up in PATH) in its own process group with stdin from /dev/null
 * and stdout and stderr captured. 0 when it exits 0; PROC_FAILED when it fails; -1 when it
 * cannot start, times out or is cancelled. err names the program either way.
 */
int proc_run(const char *const *argv, const struct proc_opts *o, struct dr_error *err);

/* dlib.c */

/* A symbol to resolve: name and where its address goes. */
struct dlib_sym {
	const char *name;
	void **ptr;
};

/* A library opened with dlopen on first use (see dlib.c). Define one statically with
 * DLIB_INIT; calls go through pointers declared with DLIB_DECLARE. */
struct dlib {
	const char *soname;  /* "libvirt.so.0" */
	const char *package; /* the Debian package that ships it, for the error */
	const struct dlib_sym *syms;
	size_t nsyms;
	pthread_mutex_t lock;
	int state; /* 0 not tried, 1 loaded, -1 failed (error kept) */
	char error[256];
};

#define DLIB_DECLARE(f) static typeof(f) *sym_##f
#define DLIB_SYM(f) { #f, (void **)&sym_##f }
#define DLIB_INIT(so, pkg, table) \
	{ (so), (pkg), (table), sizeof(table) / sizeof((table)[0]), PTHREAD_MUTEX_INITIALIZER, 0, "" }

/* Load lib and its symbols once; later calls give the first result. -1: err names the
 * library and the package to install. */
int dlib_load(struct dlib *lib, struct dr_error *err);

/* end dlib.c */

/* http.c */

/*
 * The HTTP client on libcurl: JSON API calls, following a streamed (chunked) response,
 * and parallel downloads with SHA-256 verified while streaming. TLS peers are always
 * verified. A proxy is used only when configured: the environment's http_proxy is
 * ignored, so a daemon behaves the same under any login shell. Errors name the URL.
 *
 * Retries (with exponential backoff, and Retry-After honoured up to retry_max_ms) happen
 * on connection errors, timeouts, 5xx and 429. POST and PATCH, which are not idempotent,
 * are retried only when the request cannot have been processed: the connection was
 * never made, or the answer was 429 or 503.
 */
struct http_client_opts {
	long connect_timeout_ms; /* 0 = 10 s */
	long timeout_ms;	 /* whole transfer; 0 = 60 s for http_json, none otherwise */
	long low_speed_time_s;	 /* abort under 1 byte/s for this long; 0 = 30 s (not streams) */
	int retries;		 /* attempts after the first */
	long retry_base_ms;	 /* first backoff, doubled each retry; 0 = 500 ms */
	long retry_max_ms;	 /* cap on one wait, Retry-After included; 0 = 30 s */
	const char *proxy;	 /* NULL = http_client_set_proxy()'s; "" = none */
	const char *ca_file;	 /* NULL = the system CA store */
	const char *bearer_token;
	size_t max_response; /* cap on a body held in memory; 0 = 16 MiB */
	int64_t max_recv_bytes_per_s; /* per transfer; 0 = unlimited */
};

/* The default proxy for calls whose opts->proxy is NULL ("" or NULL = none); copied. */
void http_client_set_proxy(const char *proxy);

/*
 * One JSON request: body (may be NULL) is sent as application/json. Returns 0 once an
 * answer that is not retried arrived (any status, *ret_status set; *ret_json is the
 * parsed body, NULL when empty or, for a non-2xx status, not JSON); -1 on a transport
 * error, a 5xx/429 after the last retry, or a 2xx body that is not JSON. Caller owns
 * *ret_json. Either out-parameter may be NULL.
 */
int http_json(const char *method, const char *url, const json_t *body,
    const struct http_client_opts *o, long *ret_status, json_t **ret_json,
    struct dr_error *err);

/*
 * GET url and hand the body to on_data as it arrives (a chunked stream that may pause
 * for a long time: no low-speed limit, and no total timeout unless timeout_ms is set).
 * on_data returns non-zero to stop early (then the result is 0). A status >= 400 is an
 * error naming the URL and the server's message. Retried only before any data arrived.
 */
int http_stream(const char *url, const struct http_client_opts *o,
    int (*on_data)(void *ctx, const char *data, size_t len), void *ctx, long *ret_status,
    struct dr_error *err);

struct http_download {
	const char *url;
	const char *dest_path;
	const char *sha256; /* optional, hex: verified while streaming */
	uint64_t max_size;  /* 0 = no limit */
	bool no_sync;	    /* skip the fsync: the caller makes a batch durable (syncfs) */
	bool in_place;	    /* write dest_path itself, no .part and rename: for a caller that
			       keeps dest_path out of sight until it renames it */
	bool unnamed;	    /* dest_path is a directory: the file is made there without a name
			       (O_TMPFILE) and handed over open in fd, for the caller to link
			       (linkat) once it is durable and then close; a retry resumes it,
			       a later run cannot */
	int fd;		    /* out: with unnamed, the verified file (caller closes), else -1 */
	int result;	    /* out: 0 or -1 */
	char error[256];    /* out: names the URL */
};

/*
 * Download d[0..n) with up to concurrency transfers at a time over kept-alive
 * connections. Each file goes to dest_path.part, is verified and renamed to dest_path;
 * on a checksum or size failure the .part is removed and no dest_path is written. An
 * existing .part is resumed with a Range request (restarted when the server ignores
 * it). Returns 0 when all succeeded, otherwise -1 with err summarising the failures.
 */
int http_download_many(struct http_download *d, size_t n, int concurrency,
    const struct http_client_opts *o, struct dr_error *err);

/* end http.c */

#endif /* DROVER_CORE_H */
