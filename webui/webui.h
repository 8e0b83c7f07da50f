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
struct http_request; /* opaque; valid only during the handler call */
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
	HTTP_LIST = 1 << 2, /* a list: takes search, order, page, per_page (OpenAPI) */
	HTTP_HTML = 1 << 3, /* a page for people: refusals redirect to the login page */
};

/*
 * One route. pattern is a path whose segments may be ":name" (captures one segment,
 * read with http_request_param()) or a final "*" (captures the rest, including
 * slashes, as the param "*"). A GET route also answers HEAD.
 *
 * resource and action are the permission the route needs (see "RBAC" in auth.c): a
 * request is let through only when the caller's role grants action on resource. Left
 * NULL they are derived from the path and method: the segment after /api/v2/ (or /ui/)
 * is the resource; GET is "view", POST "create", PUT and PATCH "edit", DELETE "delete",
 * and POST to ".../:id/VERB" is the action VERB. A resource of "" means a login is
 * enough (no permission). summary is the one line OpenAPI shows.
 */
struct http_route {
	const char *method; /* "GET", "POST", ... */
	const char *pattern; /* "/api/v2/jobs/:id"; a last segment "*" takes the rest */
	http_handler handler;
	unsigned flags; /* enum http_route_flags */
	const char *name; /* route label in metrics; NULL means the pattern */
	const char *resource; /* permission: "jobs", "hosts"; NULL = from the path */
	const char *action; /* permission: "view", "create", "cancel"; NULL = from method */
	const char *summary; /* OpenAPI summary */
};

/* Add routes (copied) before http_server_start(); earlier routes win on overlap. */
void http_routes_add(const struct http_route *routes, size_t n);
/* Forget every route (for tests and for restarting the server). */
void http_routes_clear(void);
/* The route table as declared, for documents generated from it (OpenAPI). */
size_t http_routes_count(void);
const struct http_route *http_routes_get(size_t i);

struct http_server_opts {
	const char *listen; /* "ADDR:PORT", "[v6]:PORT", ":PORT" (any); port 0 = ephemeral */
	int threads; /* MHD thread pool size; 0 = 4 */
	int max_connections; /* 0 = 1024 */
	int per_ip_connections; /* 0 = unlimited */
	size_t max_body; /* request body cap, 413 above it; 0 = 1 MiB */
	size_t max_header; /* per-connection memory for request line + headers; 0 = 32 KiB */
	int timeout; /* idle connection timeout in seconds; 0 = 30 */
	const char *tls_cert; /* PEM files; both set = HTTPS */
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
/*
 * The full set of auth hooks (copied; NULL removes them). check is the hook above;
 * check_body runs once the body is in, just before the handler (CSRF tokens travel in
 * form bodies), with the same return convention; refuse builds the reply for a refusal
 * of either (a redirect to the login page for HTTP_HTML routes); when it leaves resp
 * empty the client gets a JSON error.
 */
struct http_auth_ops {
	int (*check)(struct http_request *req);
	int (*check_body)(struct http_request *req);
	void (*refuse)(struct http_request *req, struct http_response *resp, int status);
};
void http_set_auth_ops(const struct http_auth_ops *ops);

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
/* True when the server speaks TLS (cookies then carry Secure). */
bool http_request_secure(const struct http_request *req);
/* The client address ("192.0.2.1", "2001:db8::1"). */
const char *http_request_remote(struct http_request *req);
/* The authenticated user and role, NULL when none. */
const char *http_request_user(const struct http_request *req);
const char *http_request_role(const struct http_request *req);
/* Set by the auth hook (copied). */
void http_request_set_user(struct http_request *req, const char *name, const char *role);
/* The route's name (as in metrics). */
const char *http_request_route(const struct http_request *req);
/* The matched route as declared (NULL when none matched). */
const struct http_route *http_request_route_def(const struct http_request *req);
/* The auth hook's record of the caller; free_principal(p) runs at the end. */
void http_request_set_principal(struct http_request *req, void *p, void (*free_principal)(void *));
void *http_request_principal(const struct http_request *req);
/* Parse an application/x-www-form-urlencoded body into an object of strings (a field
 * given more than once becomes an array). Caller owns *ret. */
int http_request_form(const struct http_request *req, json_t **ret, struct dr_error *err);

/* JSON reply; body is stolen (may be NULL for an empty object). */
void http_reply_json(struct http_response *resp, int status, json_t *body);
/* Bytes (copied) with a content type. */
void http_reply_text(struct http_response *resp, int status, const char *content_type,
    const char *text, size_t len);
/* {"error": {"status": N, "message": "..."}} */
void http_reply_error(struct http_response *resp, int status, const char *fmt, ...)
    DR_PRINTF(3, 4);
/* size bytes of fd from offset 0 (sendfile); fd is stolen (closed after sending). */
void http_reply_file(
    struct http_response *resp, int status, const char *content_type, int fd, off_t size);
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
/* 303 See Other to location. */
void http_reply_redirect(struct http_response *resp, const char *location);
/*
 * ETags: every buffered 200 answer to GET/HEAD gets ETag (a digest of the body), and a
 * matching If-None-Match turns it into a 304 without a body.
 */

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

/* search.c */

/*
 * The search language of list endpoints (see search.c for the grammar). A resource
 * declares its searchable fields; a query compiles to a SQL condition with '?'
 * placeholders whose values are appended to a params array.
 */
#define SEARCH_QUERY_MAX 4096 /* characters in a query */
#define SEARCH_SQL_MAX 65536
#define SEARCH_TERMS_MAX 64
#define SEARCH_DEPTH_MAX 32
#define SEARCH_LIST_MAX 100 /* values in "field ^ (a, b, …)" */

enum search_type {
	SEARCH_TEXT,
	SEARCH_INT,
	SEARCH_TIME, /* Unix seconds; queries may also give ISO-8601 */
	SEARCH_BOOL,
};

enum search_field_flags {
	SEARCH_DEFAULT = 1 << 0, /* a bare word in a query matches this field */
};

struct search_field {
	const char *name; /* as people type it: "name", "errata.security" */
	const char *sql; /* a column or a parenthesised subquery, trusted SQL */
	enum search_type type;
	unsigned flags;
	/*
	 * For a field with many values per object (a host's MACs): "FROM … WHERE …" (trusted
	 * SQL, correlated with the listed table) over which sql ranges. A comparison then
	 * holds when any value matches; a negated one (!=, !~, !^) when none does; null?
	 * when there is no value. Ordering uses the smallest value.
	 */
	const char *multi;
	/*
	 * Optional with multi, for references: multi is then not correlated ("FROM hostgroups
	 * g WHERE 1") and a comparison becomes in_expr IN (SELECT in_col multi AND cond)
	 * (in_expr NOT IN … for a negation), which an index on in_expr serves, instead of a
	 * lookup for every row.
	 */
	const char *in_expr; /* on the listed table: "hosts.hostgroup_id" */
	const char *in_col; /* of multi's rows: "g.id" */
};

/* Append the condition for query to out and its values to params; the error names the
 * column of the query. An empty query is "1 = 1". */
int search_compile(const char *query, const struct search_field *fields, size_t nfields,
    struct buf *out, json_t *params, struct dr_error *err);
/* "field [asc|desc][, …]" to an ORDER BY list (without the keywords) on out. */
int search_order(const char *order, const struct search_field *fields, size_t nfields,
    struct buf *out, struct dr_error *err);

/* auth.c */

#define AUTH_NAME_MAX 64
#define AUTH_SESSION_COOKIE "drover_session"
#define AUTH_SESSION_IDLE 3600 /* seconds without a request before a session ends */
#define AUTH_SESSION_MAX (12 * 3600) /* seconds a session lives at most */

/* Who is calling, as the auth hook found out (http_request_principal()). */
struct auth_principal {
	int64_t user_id;
	char *user;
	char *role;
	json_t *perms; /* a custom role's [{resource, action, search}] */
	int64_t session_id; /* 0 for bearer tokens */
	char *csrf; /* the session's CSRF token */
	char *scope; /* the route's search filter, NULL = every object */
	char *denied; /* "resource:action" refused, or "csrf" */
};

/* Register the users, roles, tokens and sessions tables; before store_open. */
void auth_register(void);
/* Seed the admin user on first start (password in <state_dir>/admin-password). */
int auth_init(const char *state_dir, struct dr_error *err);
/* The route hook: bearer token or session cookie, then the route's permission. */
int auth_check(struct http_request *req);
/* The body hook: the CSRF token of state-changing session requests. */
int auth_check_body(struct http_request *req);
/* May p do action on resource? *ret_scope: NULL (all objects) or a search (caller frees). */
bool auth_allowed(
    const struct auth_principal *p, const char *resource, const char *action, char **ret_scope);
/* The permission a route needs; false when a login is enough. */
bool auth_route_permission(
    const struct http_route *r, char *resource, size_t rsize, char *action, size_t asize);
bool auth_role_builtin(const char *role);
/* Check a user or role name; invalid (may be NULL) gets {field: message}. */
int auth_name_check(const char *field, const char *name, json_t *invalid, struct dr_error *err);
int auth_user_create(
    const char *name, const char *password, const char *role, struct dr_error *err);
int auth_user_add(const char *name, const char *password, const char *role, int64_t *ret_id,
    json_t *invalid, struct dr_error *err);
/* password and role may be NULL (unchanged). A new password ends the user's sessions. */
int auth_user_update(
    int64_t id, const char *password, const char *role, json_t *invalid, struct dr_error *err);
int auth_user_delete(int64_t id, struct dr_error *err);
int auth_admins_count(void);
/* 0 when the password is right; *ret_role is valid until the thread's next call. */
int auth_password_check(const char *name, const char *password, const char **ret_role);
/* Throttled login: 0, or 401 (wrong) / 429 (wait *ret_wait seconds). */
int auth_login(const char *user, const char *password, const char *remote, const char **ret_role,
    int *ret_wait);
int auth_login_throttled(const char *user, const char *remote);
void auth_login_record(const char *user, const char *remote, bool success);
void auth_login_reset(void);
/* A new API token (shown once; stored hashed); ttl 0 = no expiry. Caller frees. */
int auth_token_create(
    const char *user, const char *name, int64_t ttl, char **ret_token, struct dr_error *err);
/* A new UI session for user; *ret_cookie (caller frees) is the cookie value. */
int auth_session_create(
    const char *user, const char *remote, char **ret_cookie, struct dr_error *err);
void auth_session_delete(const char *cookie);
void auth_principal_free(struct auth_principal *p);
/* nbytes random bytes as hex into out (2 * nbytes + 1). */
void auth_random_hex(char *out, size_t nbytes);
void auth_clock_set(time_t (*now)(void));

/* api.c */

/*
 * The list framework. A resource that can be listed declares one of these; api_list()
 * then answers GET with Foreman's shape, search=, order=, page=, per_page= (capped),
 * the caller's permission scope, and 422 for a bad search or order. Subsystems register
 * theirs with api_resource_register() so that roles can filter on their fields.
 */
struct api_resource {
	const char *name; /* the permission resource: "jobs", "hosts" */
	const char *select; /* "id, name, kind, params AS params_json" */
	const char *from; /* "jobs" or "hosts LEFT JOIN …" */
	const char *id_sql; /* the id column for object checks: "jobs.id" */
	const char *order; /* default ORDER BY, e.g. "jobs.id DESC" */
	const struct search_field *fields;
	size_t nfields;
	void (*present)(json_t *row); /* adjusts each row (may be NULL) */
	/*
	 * Optional, instead of select and present: one SQL expression over from that gives a
	 * row as JSON text with SQLite's JSON functions (json_object, json_patch, …). Lists
	 * and objects are then answered as that text, never built as json_t and dumped again,
	 * which is most of the cost of a large page. from must then be one table: json is
	 * evaluated over a page of its rows under the table's own name, with json_columns
	 * (", expr AS name…", may be NULL) added to each row first.
	 */
	const char *json;
	/*
	 * SQLite 3.40 parses a JSON text again at every place of a statement that reads it,
	 * so a row's references are best taken from its document once, as one array
	 * (json_extract(data, '$.a_id', '$.b_id') AS refs), and read from that small array.
	 */
	const char *json_columns;
	/*
	 * Optional with json: an SQL expression over from whose value changes whenever a
	 * row's json may (the row's columns, and a version of what json looks up in other
	 * tables). Rows' texts are then kept in memory by id and stamp across writes, and a
	 * page is rendered by SQLite again only when one of its rows is missing or moved.
	 */
	const char *json_stamp;
	/*
	 * The rows belong to one object (a host's packages) whose scope the handler has
	 * checked: the caller's role filter, which is about that object and its fields, is
	 * not applied to them. Lists of them pass the object as extra.
	 */
	bool nested;
};
#define API_PER_PAGE_DEFAULT 20
#define API_PER_PAGE_MAX 1000

/* Make a resource's fields known (the struct is not copied); before api_init. */
void api_resource_register(const struct api_resource *r);
/* The registered resource called name, or NULL. */
const struct api_resource *api_resource_find(const char *name);
/* Answer a list request for r (search, order, paging, scope); extra is a trusted SQL
 * condition with its params (both may be NULL). */
int api_list(struct http_request *req, struct http_response *resp, const struct api_resource *r,
    const char *extra, const json_t *extra_params);
/* Run r's list query without a request: rows matching search and scope (either NULL),
 * ordered, one page. For pages and the dashboard. */
int api_list_query(const struct api_resource *r, const char *search, const char *scope,
    const char *order, long long page, long long per_page, json_t **ret_rows, int64_t *ret_total,
    struct dr_error *err);
/* As api_list_query, with a trusted SQL condition extra and its params (both may be
 * NULL), as api_list takes them. */
int api_list_query_extra(const struct api_resource *r, const char *extra,
    const json_t *extra_params, const char *search, const char *scope, const char *order,
    long long page, long long per_page, json_t **ret_rows, int64_t *ret_total,
    struct dr_error *err);
/* Whether object id of r is within the caller's scope for this route (true without one). */
bool api_in_scope(struct http_request *req, const struct api_resource *r, int64_t id);
/* Answer GET on object id of r (r->json): 404 "no <what> <label>" when it does not exist
 * or is outside the caller's scope; label names it in that message. */
int api_show(struct http_request *req, struct http_response *resp, const struct api_resource *r,
    int64_t id, const char *what, const char *label);
/* A list in Foreman's shape; rows is stolen. */
void api_reply_list(struct http_response *resp, json_t *rows, int64_t total, int64_t subtotal,
    long long page, long long per_page, const char *search);
/* 422 with {"error": {"status", "message", "fields": {field: message}}}; fields stolen. */
void api_reply_invalid(struct http_response *resp, json_t *fields, const char *message);
/* Check a role body {name, description, permissions: [{resource, action, search}]};
 * partial: fields may be missing (updates). invalid gets {field: message}. */
int api_role_spec_check(const json_t *body, bool partial, json_t *invalid);
/* Check a user body {login, password, role}; partial for updates. */
int api_user_spec_check(const json_t *body, bool partial, json_t *invalid);
/* The resource table of jobs etc., for pages. */
extern const struct api_resource api_jobs_resource, api_schedules_resource, api_audits_resource,
    api_users_resource, api_roles_resource, api_tokens_resource;
/* The current settings as JSON (a new reference). */
json_t *api_settings_get(void);
/* Permission resources and their actions, from the route table: {resource: [actions]}. */
json_t *api_permissions(void);
/*
 * The operations behind both the API handlers and the UI forms (so both give the same
 * answers): each returns the HTTP status, with err (and invalid, per field) saying why.
 */
int api_schedule_add(
    struct http_request *req, json_t *spec, int64_t *ret_id, struct dr_error *err);
int api_schedule_act(
    struct http_request *req, int64_t id, const char *action, json_t **ret, struct dr_error *err);
int api_user_add(struct http_request *req, const json_t *body, json_t *invalid, json_t **ret,
    struct dr_error *err);
int api_user_change(struct http_request *req, int64_t id, const json_t *body, json_t *invalid,
    json_t **ret, struct dr_error *err);
int api_user_remove(struct http_request *req, int64_t id, struct dr_error *err);
int api_role_save(struct http_request *req, int64_t id, const json_t *body, json_t *invalid,
    json_t **ret, struct dr_error *err);
int api_role_remove(struct http_request *req, int64_t id, struct dr_error *err);
/* Install the API routes, the UI and the auth hooks; before http_server_start. */
void api_init(void);
/* The configuration the settings endpoint shows (copied; call again after a reload). */
void api_settings_set(const struct config *cfg);

/* openapi.c */
/* GET /api/v2/openapi.json, generated from the route table. */
int api_openapi(struct http_request *req, struct http_response *resp);

/* ui.c */

/*
 * The web UI. Pages are routes with HTTP_HTML; a subsystem adds its pages with
 * http_routes_add() and its entries to the navigation with ui_nav_add(), and renders
 * with ui_render() (its templates go into webui/templates/ for now).
 */
struct ui_nav {
	const char *label; /* "Hosts" */
	const char *href; /* "/ui/hosts" */
	const char *resource; /* shown to those who may view it; NULL = everyone */
	int order; /* position: dashboard 0, jobs 10, schedules 20, admin 80+ */
};
/* Add navigation entries (copied; the strings must be static). */
void ui_nav_add(const struct ui_nav *items, size_t n);
/* Render templates/<name> with vars (stolen) inside the layout and reply. */
void ui_render(struct http_request *req, struct http_response *resp, int status, const char *name,
    const char *title, json_t *vars);
/* Whether the caller may do action on resource (to show or hide buttons). */
bool ui_can(struct http_request *req, const char *resource, const char *action);
/* The refusal hook: a redirect to /login or a 403 page for pages, JSON for the API. */
void ui_refuse(struct http_request *req, struct http_response *resp, int status);
/* Percent-encode for a query value; caller frees. */
char *ui_urlencode(const char *s);
/* An error page with status and message. */
void ui_error(struct http_request *req, struct http_response *resp, int status, const char *msg);
/* A string form field, NULL when absent or not a single value. */
const char *ui_field(const json_t *form, const char *name);
/* The urlencoded form of a POST into *ret (caller frees), or -1 after an error page. */
int ui_form(struct http_request *req, struct http_response *resp, json_t **ret);
/*
 * A list page's variables (a new object): "rows" of r matching search (the search
 * language) within the caller's scope, page= and per_page= and order= from the query,
 * "search", "pager" (for _pager.html) and "search_error" when the search is bad.
 */
json_t *ui_list(struct http_request *req, const struct api_resource *r, const char *search);
/*
 * What a page with a form needs: "form" (the values typed) and "errors" ({field:
 * message}) (both stolen; NULL for none), and can_<action> for each action in the
 * NULL-terminated list that the caller may take on resource.
 */
void ui_form_vars(json_t *vars, struct http_request *req, const char *resource,
    const char *const *actions, json_t *form, json_t *errors);
/*
 * A dashboard widget: fn returns its variables (a new reference), or NULL to show
 * nothing (no permission); the dashboard gets them as widgets.<name>. The name must be
 * static; dashboard.html decides how each one looks.
 */
void ui_widget_add(const char *name, json_t *(*fn)(struct http_request *req));
/* Compile the templates and install the pages; called by api_init. */
void ui_init(void);

#endif /* DROVER_WEBUI_H */
