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
/* Constant-time comparison of two equal-length secrets. */
bool str_equal_secret(const char *a, const char *b);
/* Read a whole file, at most max bytes (error when larger); caller frees *ret. */
int file_read(const char *path, size_t max, char **ret, size_t *ret_len, struct dr_error *err);
/* Write data to path atomically (temporary file, fsync, rename) with mode. */
int file_write_atomic(const char *path, const void *data, size_t len, int mode,
    struct dr_error *err);
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

/* end yaml.c */

/* config.c */

/* end config.c */

/* template.c */

/* end template.c */

/* cron.c */

/* end cron.c */

/* store.c */

/* end store.c */

/* job.c */

/* end job.c */

/* schedule.c */

/* end schedule.c */

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
