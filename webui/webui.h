/*
 * webui.h - droverd's HTTP server (libmicrohttpd), route table, metrics, REST API.
 */
#ifndef DROVER_WEBUI_H
#define DROVER_WEBUI_H

#include "core/core.h"

#include <sys/types.h>

/* server.c */

/*
 * droverd's HTTP server: libmicrohttpd with its internal epoll thread pool, a declarative
 * route table, an auth hook, caps on everything a client controls, and security headers
 * on every response. Handlers run on MHD's pool threads and must not block for long.
 */
struct http_request;  /* opaque; valid only during the handler call */
struct http_response; /* opaque; filled by one of the http_reply_*() functions */

/* A handler fills resp (status and body) and returns 0; a negative return means
 * "internal error" and the client gets a 500 unless a reply was already set. */
typedef int (*http_handler)(struct http_request *req, struct http_response *resp);

enum http_route_flags {
	HTTP_PUBLIC = 1 << 0, /* not passed through the auth hook */
	/*
	 * The request body is neither buffered nor capped by max_body: the handler is
	 * called once per body chunk (http_request_body() is that chunk,
	 * http_request_body_final() false; replies then are ignored) and once more at the
	 * end (final true) to reply. It keeps its state with http_request_set_state().
	 */
	HTTP_STREAM = 1 << 1,
};

/*
 * One route. pattern is a path whose segments may be ":name" (captures one segment,
 * read with http_request_param()) or a final "*" (captures the rest, including
 * slashes, as the param "*"). A GET route also answers HEAD.
 */
struct http_route {
	const char *method;  /* "GET", "POST", ... */
	const char *pattern; /* "/api/v2/jobs/:id"; a last segment "*" takes the rest */
	http_handler handler;
	unsigned flags;	  /* enum http_route_flags */
	const char *name; /* route label in metrics; NULL means the pattern */
};

/* Add routes (copied) before http_server_start(); earlier routes win on overlap. */
void http_routes_add(const struct http_route *routes, size_t n);
/* Forget every route (for tests and for restarting the server). */
void http_routes_clear(void);

struct http_server_opts {
	const char *listen;	/* "ADDR:PORT", "[v6]:PORT", ":PORT" (any); port 0 = ephemeral */
	int threads;		/* MHD thread pool size; 0 = 4 */
	int max_connections;	/* 0 = 1024 */
	int per_ip_connections; /* 0 = unlimited */
	size_t max_body;	/* request body cap, 413 above it; 0 = 1 MiB */
	size_t max_header;	/* per-connection memory for request line + headers; 0 = 32 KiB */
	int timeout;		/* idle connection timeout in seconds; 0 = 30 */
	const char *tls_cert;	/* PEM files; both set = HTTPS */
	const char *tls_key;
};

/* Start serving (one server per process). Errors name the address or the file. */
int http_server_start(const struct http_server_opts *o, struct dr_error *err);
/* The bound TCP port (useful with port 0), or -1 when not running. */
int http_server_port(void);
/* Stop serving: ends live streams, closes connections, joins the pool. */
void http_server_stop(void);
/*
 * The auth hook for routes without HTTP_PUBLIC: returns 0 to allow (and may call
 * http_request_set_user()), or an HTTP status (401, 403) to refuse. It runs once the
 * headers are in, before any body is read. NULL (the default) allows everything.
 */
void http_set_auth(int (*auth)(struct http_request *req));

/* The request; strings are valid until the handler returns. */
const char *http_request_method(const struct http_request *req);
const char *http_request_path(const struct http_request *req);
/* The value captured by ":name" (or "*"), NULL if the pattern has none. */
const char *http_request_param(const struct http_request *req, const char *name);
/* A query argument (decoded), NULL when absent. */
const char *http_request_query(const struct http_request *req, const char *name);
/* A request header (case-insensitive name), NULL when absent. */
const char *http_request_header(const struct http_request *req, const char *name);
/* A cookie from the Cookie header, NULL when absent. */
const char *http_request_cookie(const struct http_request *req, const char *name);
/* The body (NUL-terminated; NULL and 0 when there is none). */
const char *http_request_body(const struct http_request *req, size_t *ret_len);
/* For HTTP_STREAM routes: true on the last call, when the whole body has been seen. */
bool http_request_body_final(const struct http_request *req);
/* Per-request state for HTTP_STREAM handlers; free_state(state) runs at the end. */
void http_request_set_state(struct http_request *req, void *state, void (*free_state)(void *));
void *http_request_state(const struct http_request *req);
/* Parse the body as JSON; the error names the line and column. Caller owns *ret. */
int http_request_json(const struct http_request *req, json_t **ret, struct dr_error *err);
/* The client address ("192.0.2.1", "2001:db8::1"). */
const char *http_request_remote(struct http_request *req);
/* The authenticated user and role, NULL when none. */
const char *http_request_user(const struct http_request *req);
const char *http_request_role(const struct http_request *req);
/* Set by the auth hook (copied). */
void http_request_set_user(struct http_request *req, const char *name, const char *role);
/* The route's name (as in metrics). */
const char *http_request_route(const struct http_request *req);

/* JSON reply; body is stolen (may be NULL for an empty object). */
void http_reply_json(struct http_response *resp, int status, json_t *body);
/* Bytes (copied) with a content type. */
void http_reply_text(struct http_response *resp, int status, const char *content_type,
    const char *text, size_t len);
/* {"error": {"status": N, "message": "..."}} */
void http_reply_error(struct http_response *resp, int status, const char *fmt, ...)
    DR_PRINTF(3, 4);
/* size bytes of fd from offset 0 (sendfile); fd is stolen (closed after sending). */
void http_reply_file(struct http_response *resp, int status, const char *content_type,
    int fd, off_t size);
/*
 * A chunked reply produced by read(ctx, pos, buf, max): it returns the bytes written
 * into buf, 0 when no data is available yet, HTTP_STREAM_END at the end or
 * HTTP_STREAM_ERROR. read must not block: on 0 the connection is parked (other
 * connections keep going) until http_stream_wake() or the next poll tick (100 ms).
 * free_ctx(ctx) runs when the response is done (also on error and disconnect).
 */
#define HTTP_STREAM_END ((ssize_t)-1)
#define HTTP_STREAM_ERROR ((ssize_t)-2)
void http_reply_stream(struct http_response *resp, const char *content_type,
    ssize_t (*read)(void *ctx, uint64_t pos, char *buf, size_t max), void *ctx,
    void (*free_ctx)(void *ctx));
/* Producers call this when new data exists, to resume parked streams now. */
void http_stream_wake(void);
/* Add a header (copied) to the reply; replaces a default security header of that name. */
void http_reply_header(struct http_response *resp, const char *name, const char *value);

/* end server.c */

/* metrics.c */

/*
 * Prometheus metrics (text exposition format 0.0.4). The server records requests per
 * route and status and their latency; other subsystems add series with a collector.
 * The /metrics route is not built in: the daemon puts
 * { "GET", "/metrics", metrics_handler, HTTP_PUBLIC, "metrics" } in its route table,
 * choosing itself whether it is public.
 */

/* A collector appends complete families (HELP, TYPE and samples) to out. */
void metrics_collector_add(void (*collect)(struct buf *out));
/* Render every series; -1 when out's cap was reached. */
int metrics_render(struct buf *out);
/* The route handler serving metrics_render(). */
int metrics_handler(struct http_request *req, struct http_response *resp);
/* Escape a label value (backslash, quote, newline) onto out. */
int metrics_label_escape(struct buf *out, const char *value);

/* Called by server.c: size the per-route counters (names copied) before start. */
void metrics_http_setup(const char *const *route_names, size_t n);
/* Called by server.c for each finished request; route n (== count) is "unmatched". */
void metrics_http_observe(size_t route, int status, int64_t usec);
/* In-flight gauge. */
void metrics_http_inflight(int delta);

/* end metrics.c */

/* auth.c */
/* Register the users and tokens tables; before store_open. */
void auth_register(void);
/* Seed the admin user on first start (password in <state_dir>/admin-password). */
int auth_init(const char *state_dir, struct dr_error *err);
/* The route hook: bearer token, then role; 0 or 401/403. */
int auth_check(struct http_request *req);
int auth_user_create(const char *name, const char *password, const char *role,
    struct dr_error *err);
/* 0 when the password is right; *ret_role is a static string. */
int auth_password_check(const char *name, const char *password, const char **ret_role);
/* A new API token (shown once; stored hashed); ttl 0 = no expiry. Caller frees. */
int auth_token_create(const char *user, const char *name, int64_t ttl, char **ret_token,
    struct dr_error *err);

/* api.c */
/* Install the API routes and the auth hook; before http_server_start. */
void api_init(void);

#endif /* DROVER_WEBUI_H */
