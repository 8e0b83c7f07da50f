/*
 * server.c - droverd's HTTP server on libmicrohttpd.
 *
 * MHD runs its own epoll thread pool; this file adds the route table, the auth hook,
 * request body buffering under a cap, reply helpers, security headers and metrics.
 * Every request gets one allocation (its context, with room for the path copy the
 * pattern captures point into); the route table is fixed once the server starts, so
 * the hot path takes no locks.
 */
#define LOG_COMPONENT "http"
#include "config.h"

#include "webui/webui.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ROUTE_SEGMENTS_MAX 32
#define PARAMS_MAX 8
#define REPLY_HEADERS_MAX 16
#define TLS_FILE_MAX (1024 * 1024)
#define STREAM_BLOCK (16 * 1024)
#define STREAM_TICK_MS 100
#define DRAIN_SLACK (64 * 1024) /* over-cap chunked body discarded before closing */
#define HTTP_FORM_FIELDS_MAX 256

struct route {
	char *method;
	char *pattern;
	char *name;
	http_handler handler;
	unsigned flags;
	struct http_route def; /* as declared, strings owned by the fields above or below */
	char *resource, *action, *summary;
	char **segments; /* literal, ":name" or a final "*" */
	size_t nsegments;
};

static struct route *routes;
static size_t nroutes;

struct reply_header {
	char *name;
	char *value;
};

enum reply_kind { REPLY_NONE, REPLY_BUFFER, REPLY_FD, REPLY_STREAM };

struct http_response {
	enum reply_kind kind;
	int status;
	char content_type[128];
	char *data; /* REPLY_BUFFER, malloc'd */
	size_t len;
	int fd; /* REPLY_FD */
	off_t offset; /* REPLY_FD: where the bytes sent start (a range) */
	off_t size;
	ssize_t (*read)(void *, uint64_t, char *, size_t); /* REPLY_STREAM */
	void *ctx;
	void (*free_ctx)(void *);
	struct reply_header headers[REPLY_HEADERS_MAX];
	size_t nheaders;
};

struct param {
	const char *name;
	const char *value;
};

struct http_request {
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	const struct route *route; /* NULL when nothing matched */
	size_t route_index; /* nroutes for "unmatched" */
	struct param params[PARAMS_MAX];
	size_t nparams;
	struct buf body;
	const char *chunk; /* HTTP_STREAM: the current chunk */
	size_t chunk_len;
	bool final;
	bool too_large;
	bool queued;
	size_t discarded;
	int status;
	int64_t start_us;
	char *user;
	char *role;
	void *state;
	void (*free_state)(void *);
	void *principal;
	void (*free_principal)(void *);
	char remote[INET6_ADDRSTRLEN];
	struct http_response resp;
	char pathbuf[]; /* copy of the path, split where params end */
};

/* Set on every response unless the handler replaces it. */
static const struct reply_header security_headers[] = {
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {"Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
};

static struct {
	struct MHD_Daemon *daemon;
	int port;
	size_t max_body;
	char *tls_cert;
	char *tls_key;
	pthread_t ticker;
	bool ticker_running;
	bool tls;
} server = {.port = -1};

static struct http_auth_ops auth_ops;

/*
 * Streams. MHD's documented rule for a content reader with internal polling threads:
 * returning 0 makes MHD call it again at once (busy waiting), so "no data yet" must be
 * paired with MHD_suspend_connection() from inside the reader, and MHD_resume_connection()
 * later (MHD_ALLOW_SUSPEND_RESUME, which brings the inter-thread channel that wakes the
 * pool thread). A parked stream does not hold a pool thread, so other connections keep
 * being served. Parked streams are resumed by http_stream_wake() (a producer has new
 * data) and by a ticker every STREAM_TICK_MS as a fallback, which also lets MHD notice
 * clients that went away. The generation counter closes the race between a reader
 * finding nothing and a producer waking just before the reader parks.
 */
struct stream {
	struct MHD_Connection *conn;
	ssize_t (*read)(void *, uint64_t, char *, size_t);
	void *ctx;
	void (*free_ctx)(void *);
	bool parked;
	struct stream *prev, *next;
};

static pthread_mutex_t stream_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stream_cond = PTHREAD_COND_INITIALIZER;
static struct stream *parked_streams;
static atomic_uint stream_generation;
static atomic_bool stream_stopping;

/* Start-up error text from MHD's logger, for the error message of http_server_start(). */
static char start_error[256];
static bool starting;

/* Split a pattern into its segments. */
static void
route_compile(struct route *r)
{
	char *copy = xstrdup(r->pattern), *p = copy, *seg;

	r->segments = xcalloc(ROUTE_SEGMENTS_MAX, sizeof *r->segments);
	if (*p == '/')
		p++;
	while (p != NULL && *p != '\0' && (seg = strsep(&p, "/")) != NULL) {
		if (r->nsegments == ROUTE_SEGMENTS_MAX)
			fatalx("route %s: more than %d segments", r->pattern, ROUTE_SEGMENTS_MAX);
		if (strcmp(seg, "*") == 0 && p != NULL)
			fatalx("route %s: '*' must be the last segment", r->pattern);
		r->segments[r->nsegments++] = xstrdup(seg);
		if (p != NULL && *p == '\0') /* trailing slash: an empty last segment */
			r->segments[r->nsegments++] = xstrdup("");
	}
	free(copy);
}

/* Add routes; the table is fixed once the server runs. */
void
http_routes_add(const struct http_route *add, size_t n)
{
	if (server.daemon != NULL)
		fatalx("http_routes_add() after the server started");
	routes = xreallocarray(routes, nroutes + n, sizeof *routes);
	for (size_t i = 0; i < n; i++) {
		struct route *r = &routes[nroutes++];

		memset(r, 0, sizeof *r);
		r->method = xstrdup(add[i].method);
		r->pattern = xstrdup(add[i].pattern);
		r->name = xstrdup(add[i].name != NULL ? add[i].name : add[i].pattern);
		r->handler = add[i].handler;
		r->flags = add[i].flags;
		r->resource = add[i].resource != NULL ? xstrdup(add[i].resource) : NULL;
		r->action = add[i].action != NULL ? xstrdup(add[i].action) : NULL;
		r->summary = add[i].summary != NULL ? xstrdup(add[i].summary) : NULL;
		r->def = (struct http_route){r->method, r->pattern, r->handler, r->flags, r->name,
		    r->resource, r->action, r->summary};
		route_compile(r);
	}
}

/* Forget every route. */
void
http_routes_clear(void)
{
	if (server.daemon != NULL)
		fatalx("http_routes_clear() while the server runs");
	for (size_t i = 0; i < nroutes; i++) {
		for (size_t j = 0; j < routes[i].nsegments; j++)
			free(routes[i].segments[j]);
		free(routes[i].segments);
		free(routes[i].method);
		free(routes[i].pattern);
		free(routes[i].name);
		free(routes[i].resource);
		free(routes[i].action);
		free(routes[i].summary);
	}
	free(routes);
	routes = NULL;
	nroutes = 0;
}

/*
 * Match path against r without copying; on success the captures are recorded as
 * offsets into path (value start, length). Returns the number of captures or -1.
 */
static int
route_match(const struct route *r, const char *path, size_t offs[][2])
{
	const char *p = path;
	int ncaptures = 0;

	if (*p == '/')
		p++;
	for (size_t i = 0; i < r->nsegments; i++) {
		const char *seg = r->segments[i];
		size_t len;

		if (strcmp(seg, "*") == 0) {
			if (i > 0 && *p++ != '/')
				return -1;
			if (ncaptures == PARAMS_MAX)
				return -1;
			offs[ncaptures][0] = (size_t)(p - path);
			offs[ncaptures++][1] = strlen(p);
			return ncaptures;
		}
		if (i > 0) {
			if (*p != '/')
				return -1;
			p++;
		} else if (*p == '\0' && *seg != '\0')
			return -1;
		len = strcspn(p, "/");
		if (seg[0] == ':') {
			if (len == 0 || ncaptures == PARAMS_MAX)
				return -1;
			offs[ncaptures][0] = (size_t)(p - path);
			offs[ncaptures++][1] = len;
		} else if (strlen(seg) != len || memcmp(seg, p, len) != 0)
			return -1;
		p += len;
	}
	return *p == '\0' ? ncaptures : -1;
}

/* Method equality, with HEAD served by GET routes. */
static bool
route_method_matches(const struct route *r, const char *method)
{
	return strcmp(r->method, method) == 0 ||
	    (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0);
}

/* The number of routes, for documents generated from the table (OpenAPI). */
size_t
http_routes_count(void)
{
	return nroutes;
}

/* Route i as declared; valid until http_routes_clear(). */
const struct http_route *
http_routes_get(size_t i)
{
	return i < nroutes ? &routes[i].def : NULL;
}

/* Install the auth hook. */
void
http_set_auth(int (*auth)(struct http_request *req))
{
	memset(&auth_ops, 0, sizeof auth_ops);
	auth_ops.check = auth;
}

/* Install the auth hooks (copied). */
void
http_set_auth_ops(const struct http_auth_ops *ops)
{
	if (ops == NULL)
		memset(&auth_ops, 0, sizeof auth_ops);
	else
		auth_ops = *ops;
}

/* The matched route as declared, NULL when nothing matched. */
const struct http_route *
http_request_route_def(const struct http_request *req)
{
	return req->route != NULL ? &req->route->def : NULL;
}

/* Keep the authenticated principal with the request; free_principal runs at the end. */
void
http_request_set_principal(struct http_request *req, void *p, void (*free_principal)(void *))
{
	if (req->free_principal != NULL)
		req->free_principal(req->principal);
	req->principal = p;
	req->free_principal = free_principal;
}

void *
http_request_principal(const struct http_request *req)
{
	return req->principal;
}

const char *
http_request_method(const struct http_request *req)
{
	return req->method;
}

const char *
http_request_path(const struct http_request *req)
{
	return req->path;
}

/* Look up a pattern capture by name (without the colon). */
const char *
http_request_param(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->nparams; i++)
		if (strcmp(req->params[i].name, name) == 0)
			return req->params[i].value;
	return NULL;
}

/* A query argument, as decoded by MHD. */
const char *
http_request_query(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* A request header by case-insensitive name. */
const char *
http_request_header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* A cookie by name. */
const char *
http_request_cookie(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

/* The buffered body, or for HTTP_STREAM routes the current chunk. */
const char *
http_request_body(const struct http_request *req, size_t *ret_len)
{
	if (req->route != NULL && (req->route->flags & HTTP_STREAM)) {
		if (ret_len != NULL)
			*ret_len = req->chunk_len;
		return req->chunk_len > 0 ? req->chunk : NULL;
	}
	if (ret_len != NULL)
		*ret_len = req->body.len;
	return req->body.data;
}

bool
http_request_body_final(const struct http_request *req)
{
	return req->final;
}

/* Keep handler state across the calls of an HTTP_STREAM route. */
void
http_request_set_state(struct http_request *req, void *state, void (*free_state)(void *))
{
	req->state = state;
	req->free_state = free_state;
}

void *
http_request_state(const struct http_request *req)
{
	return req->state;
}

/* Parse the body with jansson; errors carry line and column. */
int
http_request_json(const struct http_request *req, json_t **ret, struct dr_error *err)
{
	json_error_t jerr;
	size_t len;
	const char *body = http_request_body(req, &len);
	json_t *j;

	if (body == NULL || len == 0)
		return dr_error_set(err, "request body: empty, expected JSON");
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return dr_error_set(
		    err, "request body:%d:%d: %s", jerr.line, jerr.column, jerr.text);
	*ret = j;
	return 0;
}

struct form_parse {
	json_t *fields;
	size_t nfields;
	bool too_many;
};

/* MHD's post processor hands values over in pieces: append each to its field. */
static enum MHD_Result
form_iterate(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
    const char *content_type, const char *transfer_encoding, const char *data, uint64_t off,
    size_t size)
{
	struct form_parse *fp = cls;
	json_t *cur = json_object_get(fp->fields, key);
	_cleanup_free_ char *value = NULL;

	if (filename != NULL) /* files are not form fields */
		return MHD_YES;
	if (off > 0 && json_is_string(cur)) {
		value = xasprintf("%s%.*s", json_string_value(cur), (int)size, data);
		json_object_set_new(fp->fields, key, json_stringn(value, strlen(value)));
		return MHD_YES;
	}
	if (++fp->nfields > HTTP_FORM_FIELDS_MAX) {
		fp->too_many = true;
		return MHD_NO;
	}
	value = xstrndup(data != NULL ? data : "", size);
	if (cur == NULL) {
		json_object_set_new(fp->fields, key, json_string(value));
	} else if (json_is_array(cur)) {
		json_array_append_new(cur, json_string(value));
	} else {
		json_t *list = json_pack("[O]", cur);

		json_array_append_new(list, json_string(value));
		json_object_set_new(fp->fields, key, list);
	}
	return MHD_YES;
}

/* Parse an application/x-www-form-urlencoded body with MHD's post processor. */
int
http_request_form(const struct http_request *req, json_t **ret, struct dr_error *err)
{
	const char *ct = http_request_header(req, "Content-Type");
	struct form_parse fp = {.fields = json_object()};
	struct MHD_PostProcessor *pp;
	size_t len;
	const char *body = http_request_body(req, &len);
	enum MHD_Result r = MHD_YES;

	if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
		json_decref(fp.fields);
		return dr_error_set(err,
		    "request body: expected a form "
		    "(application/x-www-form-urlencoded)");
	}
	if (body != NULL && len > 0) {
		pp = MHD_create_post_processor(req->conn, 4096, form_iterate, &fp);
		if (pp == NULL) {
			json_decref(fp.fields);
			return dr_error_set(err, "request body: cannot parse the form");
		}
		r = MHD_post_process(pp, body, len);
		MHD_destroy_post_processor(pp);
	}
	if (r != MHD_YES || fp.too_many) {
		json_decref(fp.fields);
		return dr_error_set(err, "request body: %s",
		    fp.too_many ? "too many form fields" : "malformed form");
	}
	*ret = fp.fields;
	return 0;
}

/* The client address, formatted on first use. */
const char *
http_request_remote(struct http_request *req)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	if (req->remote[0] != '\0')
		return req->remote;
	ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return str_copy(req->remote, "unknown", sizeof req->remote), req->remote;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, req->remote,
		    sizeof req->remote);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, req->remote,
		    sizeof req->remote);
	else
		str_copy(req->remote, "unknown", sizeof req->remote);
	return req->remote;
}

/* True when the request came over TLS (cookies then get Secure). */
bool
http_request_secure(const struct http_request *req)
{
	return server.tls;
}

const char *
http_request_user(const struct http_request *req)
{
	return req->user;
}

const char *
http_request_role(const struct http_request *req)
{
	return req->role;
}

void
http_request_set_user(struct http_request *req, const char *name, const char *role)
{
	free(req->user);
	free(req->role);
	req->user = name != NULL ? xstrdup(name) : NULL;
	req->role = role != NULL ? xstrdup(role) : NULL;
}

const char *
http_request_route(const struct http_request *req)
{
	return req->route != NULL ? req->route->name : "unmatched";
}

/* Drop whatever a reply holds, so a handler may reply twice (the last one wins). */
static void
reply_clear(struct http_response *resp)
{
	switch (resp->kind) {
	case REPLY_BUFFER:
		free(resp->data);
		break;
	case REPLY_FD:
		close(resp->fd);
		break;
	case REPLY_STREAM:
		if (resp->free_ctx != NULL)
			resp->free_ctx(resp->ctx);
		break;
	case REPLY_NONE:
		break;
	}
	resp->kind = REPLY_NONE;
	resp->data = NULL;
	resp->len = 0;
}

/* Take ownership of a malloc'd body. */
static void
reply_buffer(
    struct http_response *resp, int status, const char *content_type, char *data, size_t len)
{
	reply_clear(resp);
	resp->kind = REPLY_BUFFER;
	resp->status = status;
	str_copy(resp->content_type, content_type, sizeof resp->content_type);
	resp->data = data;
	resp->len = len;
}

void
http_reply_json(struct http_response *resp, int status, json_t *body)
{
	char *s;

	s = json_dumps(body != NULL ? body : json_object(), JSON_COMPACT | JSON_ENCODE_ANY);
	if (s == NULL)
		fatalx("json_dumps: out of memory");
	json_decref(body);
	reply_buffer(resp, status, "application/json", s, strlen(s));
}

void
http_reply_text(
    struct http_response *resp, int status, const char *content_type, const char *text, size_t len)
{
	char *copy = xmalloc(len + 1);

	memcpy(copy, text, len);
	copy[len] = '\0';
	reply_buffer(resp, status, content_type, copy, len);
}

void
http_reply_error(struct http_response *resp, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	http_reply_json(
	    resp, status, json_pack("{s:{s:i,s:s}}", "error", "status", status, "message", msg));
}

/* A header the handler set on the reply, or NULL. */
static const char *
reply_header_get(const struct http_response *resp, const char *name)
{
	for (size_t i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	return NULL;
}

static bool etag_listed(const char *header, const char *etag);

/*
 * Parse a Range header against a file of size bytes (RFC 9110 14.2): 1 with the first
 * and last byte of one satisfiable range, 0 when the header is to be ignored (not bytes,
 * malformed, or several ranges: the whole file is sent then, as the RFC allows), -1 when
 * the range cannot be satisfied (416).
 */
static int
reply_range_parse(const char *h, off_t size, off_t *ret_first, off_t *ret_last)
{
	unsigned long long a, b;
	const char *p;
	char *end;

	if (strncasecmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
		return 0;
	p = h + 6;
	while (*p == ' ')
		p++;
	if (*p == '-') { /* the last N bytes */
		if (p[1] < '0' || p[1] > '9')
			return 0;
		errno = 0;
		b = strtoull(p + 1, &end, 10);
		if (errno != 0 || *end != '\0')
			return 0;
		if (b == 0 || size == 0)
			return -1;
		*ret_first = b >= (unsigned long long)size ? 0 : size - (off_t)b;
		*ret_last = size - 1;
		return 1;
	}
	if (*p < '0' || *p > '9')
		return 0;
	errno = 0;
	a = strtoull(p, &end, 10);
	if (errno != 0 || *end != '-')
		return 0;
	p = end + 1;
	if (*p == '\0')
		b = (unsigned long long)size - 1;
	else {
		if (*p < '0' || *p > '9')
			return 0;
		b = strtoull(p, &end, 10);
		if (errno != 0 || *end != '\0' || b < a)
			return 0;
	}
	if (a >= (unsigned long long)size)
		return -1;
	if (b >= (unsigned long long)size)
		b = (unsigned long long)size - 1;
	*ret_first = (off_t)a;
	*ret_last = (off_t)b;
	return 1;
}

/*
 * What every file reply gets (kernels, initrds, published repository files, backups):
 * validators (ETag and Last-Modified from the file unless the handler set its own),
 * conditional GET (If-None-Match, If-Modified-Since: 304), and one byte range (Range,
 * honoured only while If-Range still names this file: 206 with Content-Range, or 416).
 * Only 200 replies to GET and HEAD are touched.
 */
static void
reply_file_conditional(struct http_request *req, struct http_response *resp)
{
	const char *etag, *modified, *inm, *ims, *range, *if_range;
	char etagbuf[80], modbuf[64], cr[96];
	bool not_modified = false;
	off_t first, last;
	struct stat st;
	struct tm tm;
	int r;

	if (resp->status != 200 ||
	    (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) ||
	    fstat(resp->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	if ((etag = reply_header_get(resp, "ETag")) == NULL) {
		snprintf(etagbuf, sizeof etagbuf, "\"%llx-%llx-%llx\"",
		    (unsigned long long)st.st_ino, (unsigned long long)resp->size,
		    (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL +
		        (unsigned long long)st.st_mtim.tv_nsec);
		http_reply_header(resp, "ETag", etagbuf);
		etag = etagbuf;
	}
	if ((modified = reply_header_get(resp, "Last-Modified")) == NULL) {
		gmtime_r(&st.st_mtime, &tm);
		strftime(modbuf, sizeof modbuf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		http_reply_header(resp, "Last-Modified", modbuf);
		modified = modbuf;
	}
	http_reply_header(resp, "Accept-Ranges", "bytes");
	inm = http_request_header(req, "If-None-Match");
	ims = http_request_header(req, "If-Modified-Since");
	if (inm == NULL && ims != NULL) {
		struct tm t = {0};
		const char *end = strptime(ims, "%a, %d %b %Y %H:%M:%S GMT", &t);

		not_modified = end != NULL && *end == '\0' && st.st_mtime <= timegm(&t);
	}
	if ((inm != NULL && etag_listed(inm, etag)) || not_modified) {
		char type[sizeof resp->content_type];

		str_copy(type, resp->content_type, sizeof type);
		close(resp->fd);
		resp->fd = -1;
		resp->kind = REPLY_NONE;
		reply_buffer(resp, 304, type, xstrdup(""), 0);
		return;
	}
	if ((range = http_request_header(req, "Range")) == NULL)
		return;
	/* If-Range: a strong ETag or the exact Last-Modified date of this file; anything
	 * else means the client's partial copy is of another version: send it all. */
	if_range = http_request_header(req, "If-Range");
	if (if_range != NULL && strcmp(if_range, etag) != 0 && strcmp(if_range, modified) != 0)
		return;
	r = reply_range_parse(range, resp->size, &first, &last);
	if (r == 0)
		return;
	if (r < 0) {
		snprintf(cr, sizeof cr, "bytes */%lld", (long long)resp->size);
		close(resp->fd);
		resp->fd = -1;
		resp->kind = REPLY_NONE;
		http_reply_error(resp, 416, "%s: range '%.100s' is not within %lld bytes",
		    req->path, range, (long long)resp->size);
		http_reply_header(resp, "Content-Range", cr);
		return;
	}
	snprintf(cr, sizeof cr, "bytes %lld-%lld/%lld", (long long)first, (long long)last,
	    (long long)resp->size);
	http_reply_header(resp, "Content-Range", cr);
	resp->status = 206;
	resp->offset = first;
	resp->size = last - first + 1;
}

void
http_reply_file(
    struct http_response *resp, int status, const char *content_type, int fd, off_t size)
{
	/* Every response is the one embedded in its request. */
	struct http_request *req =
	    (struct http_request *)((char *)resp - offsetof(struct http_request, resp));

	reply_clear(resp);
	resp->kind = REPLY_FD;
	resp->status = status;
	str_copy(resp->content_type, content_type, sizeof resp->content_type);
	resp->fd = fd;
	resp->offset = 0;
	resp->size = size;
	reply_file_conditional(req, resp);
}

void
http_reply_stream(struct http_response *resp, const char *content_type,
    ssize_t (*read)(void *ctx, uint64_t pos, char *buf, size_t max), void *ctx,
    void (*free_ctx)(void *ctx))
{
	reply_clear(resp);
	resp->kind = REPLY_STREAM;
	resp->status = 200;
	str_copy(resp->content_type, content_type, sizeof resp->content_type);
	resp->read = read;
	resp->ctx = ctx;
	resp->free_ctx = free_ctx;
}

void
http_reply_header(struct http_response *resp, const char *name, const char *value)
{
	if (resp->nheaders == REPLY_HEADERS_MAX)
		fatalx("reply header %s: more than %d headers", name, REPLY_HEADERS_MAX);
	resp->headers[resp->nheaders].name = xstrdup(name);
	resp->headers[resp->nheaders++].value = xstrdup(value);
}

/* 303 See Other to location (a path on this server). */
void
http_reply_redirect(struct http_response *resp, const char *location)
{
	reply_buffer(resp, 303, "text/plain; charset=utf-8", xstrdup(""), 0);
	http_reply_header(resp, "Location", location);
}

/* Unpark every stream; the caller holds stream_lock. */
static void
stream_resume_all_locked(void)
{
	struct stream *st;

	while ((st = parked_streams) != NULL) {
		parked_streams = st->next;
		if (parked_streams != NULL)
			parked_streams->prev = NULL;
		st->parked = false;
		st->next = st->prev = NULL;
		MHD_resume_connection(st->conn);
	}
}

/* New data for some stream: resume the parked ones now. */
void
http_stream_wake(void)
{
	atomic_fetch_add(&stream_generation, 1);
	pthread_mutex_lock(&stream_lock);
	stream_resume_all_locked();
	pthread_mutex_unlock(&stream_lock);
}

/* The MHD content reader around a stream's read callback (see "Streams" above). */
static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	unsigned generation = atomic_load(&stream_generation);
	ssize_t n;

	if (stream_stopping)
		return MHD_CONTENT_READER_END_OF_STREAM;
	n = st->read(st->ctx, pos, buf, max);
	if (n > 0)
		return n;
	if (n == HTTP_STREAM_END)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	pthread_mutex_lock(&stream_lock);
	if (stream_stopping) {
		pthread_mutex_unlock(&stream_lock);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	if (generation == atomic_load(&stream_generation)) {
		MHD_suspend_connection(st->conn);
		st->parked = true;
		st->prev = NULL;
		st->next = parked_streams;
		if (parked_streams != NULL)
			parked_streams->prev = st;
		parked_streams = st;
	}
	pthread_mutex_unlock(&stream_lock);
	return 0;
}

/* MHD is done with a stream's response. */
static void
stream_free(void *cls)
{
	struct stream *st = cls;

	pthread_mutex_lock(&stream_lock);
	if (st->parked) {
		if (st->prev != NULL)
			st->prev->next = st->next;
		else
			parked_streams = st->next;
		if (st->next != NULL)
			st->next->prev = st->prev;
	}
	pthread_mutex_unlock(&stream_lock);
	if (st->free_ctx != NULL)
		st->free_ctx(st->ctx);
	free(st);
}

/* Resume parked streams every tick until the server stops. */
static void *
stream_ticker(void *arg)
{
	struct timespec ts;

	pthread_mutex_lock(&stream_lock);
	while (!stream_stopping) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += STREAM_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&stream_cond, &stream_lock, &ts);
		stream_resume_all_locked();
	}
	pthread_mutex_unlock(&stream_lock);
	return NULL;
}

/* True when the handler replaced the header of that name. */
static bool
reply_has_header(const struct http_response *resp, const char *name)
{
	for (size_t i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return true;
	return false;
}

/* Whether an If-None-Match header (a list of tags, or "*") names etag. */
static bool
etag_listed(const char *header, const char *etag)
{
	size_t n = strlen(etag);
	const char *p = header;

	while (*p != '\0') {
		p += strspn(p, " \t,");
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

/*
 * Every buffered 200 answer to a GET carries an ETag (a digest of the body), and a
 * request whose If-None-Match names it gets 304 without the body: lists and pages are
 * rendered anyway, but the bytes are not sent again.
 */
static void
reply_etag(struct http_request *req)
{
	struct http_response *resp = &req->resp;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char etag[2 + 2 * 16 + 1];
	const char *inm;
	size_t i;

	if (reply_has_header(resp, "ETag"))
		return;
	if (EVP_Digest(resp->data != NULL ? resp->data : "", resp->len, md, &mdlen, EVP_sha256(),
	        NULL) != 1)
		return;
	etag[0] = '"';
	for (i = 0; i < 16; i++)
		snprintf(etag + 1 + 2 * i, 3, "%02x", md[i]);
	etag[33] = '"';
	etag[34] = '\0';
	http_reply_header(resp, "ETag", etag);
	inm = http_request_header(req, "If-None-Match");
	if (inm != NULL && etag_listed(inm, etag)) {
		free(resp->data);
		resp->data = NULL;
		resp->len = 0;
		resp->status = 304;
	}
}

/* Turn req->resp into an MHD response and queue it. */
static enum MHD_Result
request_queue(struct http_request *req)
{
	struct http_response *resp = &req->resp;
	struct MHD_Response *r = NULL;
	struct stream *st;
	enum MHD_Result ret;

	if (resp->kind == REPLY_NONE)
		http_reply_error(
		    resp, 500, "%s %s: the handler gave no reply", req->method, req->path);
	if (resp->kind == REPLY_BUFFER && resp->status == 200 &&
	    (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0))
		reply_etag(req);
	switch (resp->kind) {
	case REPLY_NONE:
	case REPLY_BUFFER:
		if (resp->len == 0) {
			free(resp->data); /* an empty body may still have been allocated */
			resp->data = NULL;
			r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		} else
			r = MHD_create_response_from_buffer_with_free_callback(
			    resp->len, resp->data, free);
		if (r != NULL || resp->len == 0)
			resp->data = NULL; /* MHD frees it now (or it was never needed) */
		break;
	case REPLY_FD:
		r = MHD_create_response_from_fd_at_offset64(
		    (uint64_t)resp->size, resp->fd, (uint64_t)resp->offset);
		if (r != NULL)
			resp->fd = -1;
		break;
	case REPLY_STREAM:
		st = xcalloc(1, sizeof *st);
		st->conn = req->conn;
		st->read = resp->read;
		st->ctx = resp->ctx;
		st->free_ctx = resp->free_ctx;
		r = MHD_create_response_from_callback(
		    MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, st, stream_free);
		if (r == NULL)
			free(st);
		else
			resp->free_ctx = NULL; /* the stream owns ctx now */
		break;
	}
	if (r == NULL) {
		reply_clear(resp);
		return MHD_NO;
	}
	resp->kind = REPLY_NONE;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
	for (size_t i = 0; i < nitems(security_headers); i++)
		if (!reply_has_header(resp, security_headers[i].name))
			MHD_add_response_header(
			    r, security_headers[i].name, security_headers[i].value);
	if (server.tls && !reply_has_header(resp, "Strict-Transport-Security"))
		MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
	for (size_t i = 0; i < resp->nheaders; i++)
		MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
	req->status = resp->status;
	req->queued = true;
	ret = MHD_queue_response(req->conn, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

/* 405 with the Allow header listing the methods the path has. */
static void
request_reply_405(struct http_request *req)
{
	struct buf allow = BUF_INIT(4096);
	size_t offs[PARAMS_MAX][2];

	for (size_t i = 0; i < nroutes; i++) {
		if (route_match(&routes[i], req->path, offs) < 0)
			continue;
		/* Tolerate a truncated list: Allow is advisory. */
		buf_addf(&allow, "%s%s", allow.len > 0 ? ", " : "", routes[i].method);
		if (strcmp(routes[i].method, "GET") == 0)
			buf_adds(&allow, ", HEAD");
	}
	http_reply_error(&req->resp, 405, "%s %s: method not allowed", req->method, req->path);
	http_reply_header(&req->resp, "Allow", allow.data != NULL ? allow.data : "");
	buf_free(&allow);
}

/* A refusal by the auth hooks: their own reply when they have one, else a JSON error. */
static void
request_refuse(struct http_request *req, int status)
{
	if (auth_ops.refuse != NULL)
		auth_ops.refuse(req, &req->resp, status);
	if (req->resp.kind == REPLY_NONE)
		http_reply_error(&req->resp, status, "%s %s: %s", req->method, req->path,
		    status == 401 ? "authentication required" : "forbidden");
}

/* Find the route, allocate the request and run the checks done before any body. */
static struct http_request *
request_new(struct MHD_Connection *conn, const char *url, const char *method)
{
	size_t offs[PARAMS_MAX][2], pathlen = strlen(url);
	const struct route *route = NULL;
	bool path_known = false;
	struct http_request *req;
	size_t index = nroutes;
	int ncaptures = -1;
	const char *cl;
	long long length;

	for (size_t i = 0; i < nroutes; i++) {
		int n = route_match(&routes[i], url, offs);

		if (n < 0)
			continue;
		path_known = true;
		if (route_method_matches(&routes[i], method)) {
			route = &routes[i];
			index = i;
			ncaptures = n;
			break;
		}
	}

	req = xcalloc(1, sizeof *req + pathlen + 1);
	memcpy(req->pathbuf, url, pathlen + 1);
	req->conn = conn;
	req->method = method;
	req->path = url;
	req->route = route;
	req->route_index = index;
	req->start_us = time_mono_us();
	req->resp.fd = -1;
	buf_init(&req->body, server.max_body);
	/* Captures come in pattern order; terminate each inside the path copy. */
	for (size_t j = 0, k = 0; ncaptures > 0 && j < route->nsegments; j++) {
		const char *seg = route->segments[j];

		if (seg[0] != ':' && strcmp(seg, "*") != 0)
			continue;
		req->pathbuf[offs[k][0] + offs[k][1]] = '\0';
		req->params[k].name = seg[0] == ':' ? seg + 1 : seg;
		req->params[k].value = req->pathbuf + offs[k][0];
		req->nparams = ++k;
	}

	if (route == NULL) {
		if (path_known)
			request_reply_405(req);
		else
			http_reply_error(&req->resp, 404, "%s: not found", url);
		return req;
	}
	if (!(route->flags & HTTP_PUBLIC) && auth_ops.check != NULL) {
		int status = auth_ops.check(req);

		if (status != 0) {
			request_refuse(req, status);
			return req;
		}
	}
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && !(route->flags & HTTP_STREAM) &&
	    (str_to_ll(cl, 0, LLONG_MAX, &length) < 0 ||
	        (unsigned long long)length > server.max_body))
		http_reply_error(&req->resp, 413, "%s %s: request body larger than %zu bytes",
		    method, url, server.max_body);
	return req;
}

/*
 * Whether a body follows the headers. Replies decided from the headers alone are queued
 * at once only then (MHD drops the body and closes the connection); otherwise they wait
 * for the request's last call so that the connection stays alive.
 */
static bool
request_has_body(struct MHD_Connection *conn)
{
	const char *cl =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

	if (MHD_lookup_connection_value(
	        conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL)
		return true;
	return cl != NULL && strcmp(cl, "0") != 0;
}

/* Run the handler; a failure without a reply becomes a 500. */
static void
request_run(struct http_request *req)
{
	if (!(req->route->flags & HTTP_PUBLIC) && auth_ops.check_body != NULL) {
		int status = auth_ops.check_body(req);

		if (status != 0) {
			request_refuse(req, status);
			return;
		}
	}
	if (req->route->handler(req, &req->resp) < 0 && req->resp.kind == REPLY_NONE)
		http_reply_error(&req->resp, 500, "%s %s: internal error", req->method, req->path);
}

/*
 * MHD's access handler: called once with the headers, once per body chunk, and once
 * more when the request is complete. A reply queued on the first call (404, 405, auth,
 * Content-Length over the cap) makes MHD drop any body and close after replying. MHD
 * does not allow replying from a body-chunk call, so a chunked body that passes the cap
 * is discarded (not buffered) and answered with 413 at its end; if the client keeps
 * sending past another cap's worth (plus DRAIN_SLACK), the connection is dropped.
 */
static enum MHD_Result
server_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http_request *req = *con_cls;

	if (req == NULL) {
		metrics_http_inflight(1);
		req = request_new(conn, url, method);
		*con_cls = req;
		if (req->resp.kind != REPLY_NONE && request_has_body(conn))
			return request_queue(req);
		return MHD_YES;
	}
	if (req->queued)
		return MHD_YES;
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (req->resp.kind != REPLY_NONE) /* answer already decided: discard */
			return MHD_YES;
		if (req->route->flags & HTTP_STREAM) {
			req->chunk = upload_data;
			req->chunk_len = n;
			req->route->handler(req, &req->resp);
			req->chunk = NULL;
			req->chunk_len = 0;
			reply_clear(&req->resp);
			return MHD_YES;
		}
		if (!req->too_large && buf_add(&req->body, upload_data, n) < 0) {
			req->too_large = true;
			req->discarded = req->body.len;
			buf_free(&req->body);
		}
		if (req->too_large) {
			req->discarded += n;
			if (req->discarded > 2 * server.max_body + DRAIN_SLACK)
				return MHD_NO;
		}
		return MHD_YES;
	}
	req->final = true;
	if (req->resp.kind != REPLY_NONE) /* decided on the first call (404, 405, 401, ...) */
		;
	else if (req->too_large)
		http_reply_error(&req->resp, 413, "%s %s: request body larger than %zu bytes",
		    method, url, server.max_body);
	else
		request_run(req);
	return request_queue(req);
}

/* MHD finished with a request: record it and free it. */
static void
server_completed(
    void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct http_request *req = *con_cls;

	if (req == NULL)
		return;
	*con_cls = NULL;
	metrics_http_inflight(-1);
	if (req->queued)
		metrics_http_observe(
		    req->route_index, req->status, time_mono_us() - req->start_us);
	reply_clear(&req->resp);
	for (size_t i = 0; i < req->resp.nheaders; i++) {
		free(req->resp.headers[i].name);
		free(req->resp.headers[i].value);
	}
	if (req->free_state != NULL)
		req->free_state(req->state);
	if (req->free_principal != NULL)
		req->free_principal(req->principal);
	buf_free(&req->body);
	free(req->user);
	free(req->role);
	free(req);
}

/* MHD's diagnostics: kept for the start-up error, otherwise debug output. */
static void
server_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t len;

	vsnprintf(msg, sizeof msg, fmt, ap);
	len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '.'))
		msg[--len] = '\0';
	if (starting && start_error[0] == '\0')
		str_copy(start_error, msg, sizeof start_error);
	else
		log_debug("libmicrohttpd: %s", msg);
}

/*
 * Open the listening socket ourselves so that errors name the address and port 0 can
 * be read back. Accepts "HOST:PORT", "[V6]:PORT" and ":PORT" / "*:PORT" (any).
 */
static int
server_listen(const char *listen_addr, bool *ret_v6, int *ret_port, struct dr_error *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof ss;
	const char *port, *colon, *hostp;
	char host[256];
	size_t hostlen;
	int fd, one = 1, rc;

	if (listen_addr[0] == '[') {
		const char *end = strchr(listen_addr, ']');

		if (end == NULL || end[1] != ':')
			return dr_error_set(
			    err, "listen %s: expected [ADDRESS]:PORT", listen_addr);
		hostlen = (size_t)(end - listen_addr - 1);
		hostp = listen_addr + 1;
		port = end + 2;
		hints.ai_family = AF_INET6;
	} else {
		if ((colon = strrchr(listen_addr, ':')) == NULL)
			return dr_error_set(err, "listen %s: expected ADDRESS:PORT", listen_addr);
		hostlen = (size_t)(colon - listen_addr);
		hostp = listen_addr;
		port = colon + 1;
	}
	if (hostlen >= sizeof host)
		return dr_error_set(err, "listen %s: address too long", listen_addr);
	memcpy(host, hostp, hostlen);
	host[hostlen] = '\0';
	if (*port == '\0' || strspn(port, "0123456789") != strlen(port))
		return dr_error_set(err, "listen %s: bad port", listen_addr);
	rc = getaddrinfo(
	    host[0] == '\0' || strcmp(host, "*") == 0 ? NULL : host, port, &hints, &ai);
	if (rc != 0)
		return dr_error_set(err, "listen %s: %s", listen_addr, gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		freeaddrinfo(ai);
		return dr_error_errno(err, "listen %s: socket", listen_addr);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
		dr_error_errno(err, "listen %s", listen_addr);
		freeaddrinfo(ai);
		close(fd);
		return -1;
	}
	*ret_v6 = ai->ai_family == AF_INET6;
	freeaddrinfo(ai);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
		dr_error_errno(err, "listen %s: getsockname", listen_addr);
		close(fd);
		return -1;
	}
	*ret_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                           : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* Read the TLS files; errors name the file. */
static int
server_tls_load(const struct http_server_opts *o, struct dr_error *err)
{
	if ((o->tls_cert == NULL) != (o->tls_key == NULL))
		return dr_error_set(err, "TLS needs both a certificate and a key file");
	if (!MHD_is_feature_supported(MHD_FEATURE_TLS))
		return dr_error_set(err, "%s: this libmicrohttpd has no TLS support", o->tls_cert);
	if (file_read(o->tls_cert, TLS_FILE_MAX, &server.tls_cert, NULL, err) < 0)
		return dr_error_prefix(err, "TLS certificate: ");
	if (strstr(server.tls_cert, "-----BEGIN CERTIFICATE-----") == NULL)
		return dr_error_set(
		    err, "TLS certificate: %s: not a PEM certificate", o->tls_cert);
	if (file_read(o->tls_key, TLS_FILE_MAX, &server.tls_key, NULL, err) < 0)
		return dr_error_prefix(err, "TLS key: ");
	if (strstr(server.tls_key, "PRIVATE KEY-----") == NULL)
		return dr_error_set(err, "TLS key: %s: not a PEM private key", o->tls_key);
	return 0;
}

/* Free start-up state after a failed start or at stop. */
static void
server_reset(void)
{
	if (server.tls_key != NULL)
		explicit_bzero(server.tls_key, strlen(server.tls_key));
	free(server.tls_cert);
	free(server.tls_key);
	server.tls_cert = server.tls_key = NULL;
	server.port = -1;
	server.tls = false;
}

/* Start MHD with the route table as it stands. */
int
http_server_start(const struct http_server_opts *o, struct dr_error *err)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem opts[16];
	const char **names;
	size_t n = 0;
	bool v6 = false;
	int fd, port = -1;

	if (server.daemon != NULL)
		return dr_error_set(err, "HTTP server already running");
	if (o->listen == NULL)
		return dr_error_set(err, "HTTP server: no listen address");
	if (o->tls_cert != NULL || o->tls_key != NULL) {
		if (server_tls_load(o, err) < 0) {
			server_reset();
			return -1;
		}
		flags |= MHD_USE_TLS;
	}
	if ((fd = server_listen(o->listen, &v6, &port, err)) < 0) {
		server_reset();
		return -1;
	}
	if (v6)
		flags |= MHD_USE_IPv6;
	server.max_body = o->max_body > 0 ? o->max_body : 1024 * 1024;

#define OPT(o_, v_, p_) opts[n++] = (struct MHD_OptionItem){(o_), (intptr_t)(v_), (p_)}
	OPT(MHD_OPTION_LISTEN_SOCKET, fd, NULL);
	if (o->threads != 1) /* one thread is MHD's plain internal thread, without a pool */
		OPT(MHD_OPTION_THREAD_POOL_SIZE, o->threads > 0 ? o->threads : 4, NULL);
	OPT(MHD_OPTION_CONNECTION_LIMIT, o->max_connections > 0 ? o->max_connections : 1024, NULL);
	if (o->per_ip_connections > 0)
		OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->per_ip_connections, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->max_header > 0 ? o->max_header : 32 * 1024,
	    NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, o->timeout > 0 ? o->timeout : 30, NULL);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, server_completed, NULL);
	OPT(MHD_OPTION_EXTERNAL_LOGGER, server_log, NULL);
	if (flags & MHD_USE_TLS) {
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, server.tls_cert);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, server.tls_key);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT

	names = xcalloc(nroutes + 1, sizeof *names);
	for (size_t i = 0; i < nroutes; i++)
		names[i] = routes[i].name;
	names[nroutes] = "unmatched";
	metrics_http_setup(names, nroutes + 1);
	free(names);

	stream_stopping = false;
	start_error[0] = '\0';
	starting = true;
	server.daemon = MHD_start_daemon(
	    flags, 0, NULL, NULL, server_access, NULL, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	starting = false;
	if (server.daemon == NULL) {
		close(fd);
		if (flags & MHD_USE_TLS)
			dr_error_set(err, "listen %s: TLS with certificate %s and key %s: %s",
			    o->listen, o->tls_cert, o->tls_key,
			    start_error[0] != '\0' ? start_error : "cannot start");
		else
			dr_error_set(err, "listen %s: %s", o->listen,
			    start_error[0] != '\0' ? start_error : "cannot start the server");
		server_reset();
		return -1;
	}
	server.port = port;
	server.tls = (flags & MHD_USE_TLS) != 0;
	if (pthread_create(&server.ticker, NULL, stream_ticker, NULL) != 0)
		fatalx("cannot start the stream ticker thread");
	server.ticker_running = true;
	return 0;
}

int
http_server_port(void)
{
	return server.daemon != NULL ? server.port : -1;
}

/*
 * Stop: MHD must not be stopped with suspended connections, so streams are told to
 * end first (stream_stopping makes their reader finish) and every parked one resumed.
 */
void
http_server_stop(void)
{
	if (server.daemon == NULL)
		return;
	pthread_mutex_lock(&stream_lock);
	stream_stopping = true;
	stream_resume_all_locked();
	pthread_cond_broadcast(&stream_cond);
	pthread_mutex_unlock(&stream_lock);
	if (server.ticker_running)
		pthread_join(server.ticker, NULL);
	server.ticker_running = false;
	MHD_stop_daemon(server.daemon);
	server.daemon = NULL;
	server_reset();
}
