/* test_http.c - the HTTP server (webui/server.c, metrics.c) and client (core/http.c) on
 * loopback, each tested against the other, plus raw sockets for what a client hides. */
#include "tests/unit/unit.h"

#include "webui/webui.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/drover-http-XXXXXX";
static atomic_int flaky_count, fail_count, post_count;
static char last_range[64];
static pthread_mutex_t range_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- test routes ---- */

static int
h_hello(struct http_request *req, struct http_response *resp)
{
	http_reply_json(resp, 200, json_pack("{s:s}", "hello", "world"));
	return 0;
}

static int
h_item(struct http_request *req, struct http_response *resp)
{
	const char *page = http_request_query(req, "page");

	http_reply_json(resp, 200,
	    json_pack("{s:s,s:s,s:s?,s:s}", "id", http_request_param(req, "id"), "part",
	        http_request_param(req, "part"), "page", page, "remote",
	        http_request_remote(req)));
	return 0;
}

static int
h_rest(struct http_request *req, struct http_response *resp)
{
	http_reply_json(resp, 200, json_pack("{s:s}", "rest", http_request_param(req, "*")));
	return 0;
}

static int
h_echo(struct http_request *req, struct http_response *resp)
{
	struct dr_error err;
	json_t *j;

	if (http_request_json(req, &j, &err) < 0) {
		http_reply_error(resp, 400, "%s", err.msg);
		return 0;
	}
	http_reply_json(resp, 200, json_pack("{s:o}", "got", j));
	return 0;
}

static int
h_whoami(struct http_request *req, struct http_response *resp)
{
	http_reply_json(resp, 200,
	    json_pack(
	        "{s:s?,s:s?}", "user", http_request_user(req), "role", http_request_role(req)));
	return 0;
}

static int
h_flaky(struct http_request *req, struct http_response *resp)
{
	if (atomic_fetch_add(&flaky_count, 1) < 2)
		http_reply_error(resp, 503, "warming up");
	else
		http_reply_json(resp, 200, json_pack("{s:b}", "ok", 1));
	return 0;
}

static int
h_down(struct http_request *req, struct http_response *resp)
{
	atomic_fetch_add(&fail_count, 1);
	http_reply_error(resp, 503, "down for maintenance");
	return 0;
}

static int
h_post500(struct http_request *req, struct http_response *resp)
{
	atomic_fetch_add(&post_count, 1);
	http_reply_error(resp, 500, "broken");
	return 0;
}

static int
h_fail(struct http_request *req, struct http_response *resp)
{
	return -1;
}

/* Deterministic content for /files/:name: name "fN" has N*1000+7 bytes. */
static char *
file_content(const char *name, size_t *ret_len)
{
	long long n;
	char *s;

	if (name[0] != 'f' || str_to_ll(name + 1, 0, 1000, &n) < 0)
		return NULL;
	*ret_len = (size_t)n * 1000 + 7;
	s = xmalloc(*ret_len + 1);
	for (size_t i = 0; i < *ret_len; i++)
		s[i] = (char)('a' + (i * 7 + (size_t)n) % 26);
	return s;
}

/* Serves files with "Range: bytes=N-" support. */
static int
h_files(struct http_request *req, struct http_response *resp)
{
	const char *range = http_request_header(req, "Range");
	size_t len;
	char *data = file_content(http_request_param(req, "name"), &len);
	unsigned long long from;

	if (data == NULL) {
		http_reply_error(resp, 404, "no such file");
		return 0;
	}
	pthread_mutex_lock(&range_lock);
	str_copy(last_range, range != NULL ? range : "", sizeof last_range);
	pthread_mutex_unlock(&range_lock);
	if (range != NULL && sscanf(range, "bytes=%llu-", &from) == 1 && from < len) {
		char cr[128];

		snprintf(cr, sizeof cr, "bytes %llu-%zu/%zu", from, len - 1, len);
		http_reply_text(resp, 206, "application/octet-stream", data + from, len - from);
		http_reply_header(resp, "Content-Range", cr);
	} else
		http_reply_text(resp, 200, "application/octet-stream", data, len);
	free(data);
	return 0;
}

static int
h_disk(struct http_request *req, struct http_response *resp)
{
	_cleanup_free_ char *path = xasprintf("%s/disk.txt", tmpdir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	http_reply_file(resp, 200, "text/plain", fd, st.st_size);
	return 0;
}

/* A live stream fed by a producer thread. */
struct feed {
	pthread_mutex_t lock;
	char data[4096];
	size_t len;
	bool done;
};
static struct feed feed = {.lock = PTHREAD_MUTEX_INITIALIZER};

static ssize_t
feed_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	struct feed *f = ctx;
	ssize_t n = 0;

	pthread_mutex_lock(&f->lock);
	if (pos < f->len) {
		n = (ssize_t)(f->len - pos < max ? f->len - pos : max);
		memcpy(buf, f->data + pos, (size_t)n);
	} else if (f->done)
		n = HTTP_STREAM_END;
	pthread_mutex_unlock(&f->lock);
	return n;
}

static int
h_stream(struct http_request *req, struct http_response *resp)
{
	http_reply_stream(resp, "text/plain", feed_read, &feed, NULL);
	return 0;
}

static void *
feed_produce(void *arg)
{
	for (int i = 0; i < 5; i++) {
		usleep(60000);
		pthread_mutex_lock(&feed.lock);
		feed.len += (size_t)snprintf(
		    feed.data + feed.len, sizeof feed.data - feed.len, "line %d\n", i);
		if (i == 4)
			feed.done = true;
		pthread_mutex_unlock(&feed.lock);
		http_stream_wake();
	}
	return NULL;
}

/* HTTP_STREAM upload: counts bytes without buffering. */
static void
count_free(void *p)
{
	free(p);
}

static int
h_upload(struct http_request *req, struct http_response *resp)
{
	size_t *count = http_request_state(req), len;

	if (count == NULL) {
		count = xcalloc(1, sizeof *count);
		http_request_set_state(req, count, count_free);
	}
	http_request_body(req, &len);
	*count += len;
	if (http_request_body_final(req))
		http_reply_json(resp, 200, json_pack("{s:I}", "bytes", (json_int_t)*count));
	return 0;
}

/* Auth: "Bearer good" is alice the admin, "Bearer weak" is refused, nothing is 401. */
static int
test_auth(struct http_request *req)
{
	const char *a = http_request_header(req, "Authorization");

	if (a == NULL)
		return 401;
	if (strcmp(a, "Bearer good") == 0) {
		http_request_set_user(req, "alice", "admin");
		return 0;
	}
	return 403;
}

static const struct http_route test_routes[] = {
    {"GET", "/hello", h_hello, HTTP_PUBLIC, "hello"},
    {"GET", "/items/:id/parts/:part", h_item, HTTP_PUBLIC, NULL},
    {"GET", "/content/*", h_rest, HTTP_PUBLIC, "content"},
    {"POST", "/echo", h_echo, HTTP_PUBLIC, "echo"},
    {"PUT", "/echo", h_echo, HTTP_PUBLIC, "echo"},
    {"GET", "/secret", h_whoami, 0, "secret"},
    {"GET", "/public", h_whoami, HTTP_PUBLIC, "public"},
    {"GET", "/flaky", h_flaky, HTTP_PUBLIC, "flaky"},
    {"GET", "/down", h_down, HTTP_PUBLIC, "down"},
    {"POST", "/post500", h_post500, HTTP_PUBLIC, "post500"},
    {"GET", "/fail", h_fail, HTTP_PUBLIC, "fail"},
    {"GET", "/files/:name", h_files, HTTP_PUBLIC, "files"},
    {"GET", "/disk", h_disk, HTTP_PUBLIC, "disk"},
    {"GET", "/stream", h_stream, HTTP_PUBLIC, "stream"},
    {"POST", "/upload", h_upload, HTTP_PUBLIC | HTTP_STREAM, "upload"},
    {"GET", "/metrics", metrics_handler, HTTP_PUBLIC, "metrics"},
};

/* ---- helpers ---- */

static char base_url[128];

static void
server_start(struct http_server_opts o)
{
	struct dr_error err;

	http_routes_clear();
	http_routes_add(test_routes, nitems(test_routes));
	http_set_auth(test_auth);
	if (o.listen == NULL)
		o.listen = "127.0.0.1:0";
	if (http_server_start(&o, &err) < 0)
		fail_msg("http_server_start: %s", err.msg);
	assert_true(http_server_port() > 0);
	snprintf(base_url, sizeof base_url, "%s://%s:%d", o.tls_cert != NULL ? "https" : "http",
	    o.tls_cert != NULL ? "localhost" : "127.0.0.1", http_server_port());
}

static int
teardown_server(void **state)
{
	http_server_stop();
	return 0;
}

static char *
url(const char *path)
{
	return xasprintf("%s%s", base_url, path);
}

static const struct http_client_opts fast = {
    .connect_timeout_ms = 2000, .timeout_ms = 5000, .retry_base_ms = 10, .retry_max_ms = 100};

/* A raw connection, for what a client library hides (headers, keep-alive, bad input). */
struct raw {
	int fd;
	struct buf in;
};

static void
raw_open(struct raw *r)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(http_server_port())};

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(r->fd >= 0);
	assert_int_equal(connect(r->fd, (struct sockaddr *)&sa, sizeof sa), 0);
	buf_init(&r->in, 0);
}

static void
raw_close(struct raw *r)
{
	close(r->fd);
	buf_free(&r->in);
}

static void
raw_send(struct raw *r, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = send(r->fd, s, len, MSG_NOSIGNAL);

		if (n < 0)
			return; /* the server may close early; the response tells */
		s += n;
		len -= (size_t)n;
	}
}

/* The value of header name in a raw header block (copied), or NULL. */
static char *
raw_header(const char *headers, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *p = strstr(headers, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;

		if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			const char *v = line + nlen + 1, *end = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			return xstrndup(v, (size_t)(end - v));
		}
	}
	return NULL;
}

/* Read one response with Content-Length; returns the status, -1 on EOF. */
static int
raw_response(struct raw *r, bool head, char **ret_headers, char **ret_body)
{
	char chunk[4096], *end = NULL, *cl;
	size_t hlen, blen = 0;
	int status = -1;

	for (;;) {
		if (r->in.data != NULL && (end = strstr(r->in.data, "\r\n\r\n")) != NULL)
			break;
		ssize_t n = recv(r->fd, chunk, sizeof chunk, 0);
		if (n <= 0)
			return -1;
		buf_add(&r->in, chunk, (size_t)n);
	}
	hlen = (size_t)(end - r->in.data) + 4;
	char *headers = xstrndup(r->in.data, hlen);
	sscanf(headers, "HTTP/1.1 %d", &status);
	if (!head && (cl = raw_header(headers, "Content-Length")) != NULL) {
		blen = strtoul(cl, NULL, 10);
		free(cl);
	}
	while (r->in.len < hlen + blen) {
		ssize_t n = recv(r->fd, chunk, sizeof chunk, 0);
		if (n <= 0)
			break;
		buf_add(&r->in, chunk, (size_t)n);
	}
	if (ret_body != NULL)
		*ret_body = xstrndup(r->in.data + hlen, blen);
	memmove(r->in.data, r->in.data + hlen + blen, r->in.len - hlen - blen);
	r->in.len -= hlen + blen;
	r->in.data[r->in.len] = '\0';
	if (ret_headers != NULL)
		*ret_headers = headers;
	else
		free(headers);
	return status;
}

/* ---- server tests ---- */

static void
test_routing(void **state)
{
	_cleanup_free_ char *u1 = NULL, *u2 = NULL, *u3 = NULL, *u4 = NULL;
	struct dr_error err;
	json_t *j = NULL;
	long status;

	server_start((struct http_server_opts){0});
	u1 = url("/items/42/parts/wheel?page=3&x=y");
	u2 = url("/content/a/b/c.txt");
	u3 = url("/nope");
	u4 = url("/items/42/parts");
	if (http_json("GET", u1, NULL, &fast, &status, &j, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(status, 200);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "42");
	assert_string_equal(json_string_value(json_object_get(j, "part")), "wheel");
	assert_string_equal(json_string_value(json_object_get(j, "page")), "3");
	assert_string_equal(json_string_value(json_object_get(j, "remote")), "127.0.0.1");
	json_decref(j);

	assert_int_equal(http_json("GET", u2, NULL, &fast, &status, &j, &err), 0);
	assert_string_equal(json_string_value(json_object_get(j, "rest")), "a/b/c.txt");
	json_decref(j);

	/* Unknown paths: 404 with a JSON error naming the path. */
	assert_int_equal(http_json("GET", u3, NULL, &fast, &status, &j, &err), 0);
	assert_int_equal(status, 404);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(j, "error"), "status")), 404);
	assert_non_null(strstr(
	    json_string_value(json_object_get(json_object_get(j, "error"), "message")), "/nope"));
	json_decref(j);
	assert_int_equal(http_json("GET", u4, NULL, &fast, &status, &j, &err), 0);
	assert_int_equal(status, 404);
	json_decref(j);
}

static void
test_methods_head_and_headers(void **state)
{
	char *headers, *body, *v;
	struct raw r;
	size_t get_len;

	server_start((struct http_server_opts){0});
	raw_open(&r);
	/* Wrong method: 405 with Allow. */
	raw_send(&r, "DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n",
	    strlen("DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
	assert_int_equal(raw_response(&r, false, &headers, &body), 405);
	v = raw_header(headers, "Allow");
	assert_non_null(v);
	assert_string_equal(v, "GET, HEAD");
	free(v);
	assert_non_null(strstr(body, "\"status\":405"));
	free(headers);
	free(body);
	raw_send(&r, "DELETE /echo HTTP/1.1\r\nHost: x\r\n\r\n",
	    strlen("DELETE /echo HTTP/1.1\r\nHost: x\r\n\r\n"));
	assert_int_equal(raw_response(&r, false, &headers, &body), 405);
	v = raw_header(headers, "Allow");
	assert_string_equal(v, "POST, PUT");
	free(v);
	free(headers);
	free(body);

	/* GET, then HEAD: same headers, no body. */
	raw_send(&r, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
	    strlen("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
	assert_int_equal(raw_response(&r, false, &headers, &body), 200);
	assert_string_equal(body, "{\"hello\":\"world\"}");
	get_len = strlen(body);
	free(body);
	static const char *const want[][2] = {
	    {"Content-Type", "application/json"},
	    {"X-Content-Type-Options", "nosniff"},
	    {"X-Frame-Options", "DENY"},
	    {"Referrer-Policy", "no-referrer"},
	};
	for (size_t i = 0; i < nitems(want); i++) {
		v = raw_header(headers, want[i][0]);
		assert_non_null(v);
		assert_string_equal(v, want[i][1]);
		free(v);
	}
	v = raw_header(headers, "Content-Security-Policy");
	assert_non_null(v);
	assert_non_null(strstr(v, "default-src 'self'"));
	assert_non_null(strstr(v, "frame-ancestors 'none'"));
	free(v);
	free(headers);

	raw_send(&r, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n",
	    strlen("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
	assert_int_equal(raw_response(&r, true, &headers, NULL), 200);
	v = raw_header(headers, "Content-Length");
	assert_int_equal(strtoul(v, NULL, 10), get_len);
	free(v);
	free(headers);
	/* Nothing but the next response follows a HEAD response. */
	raw_send(&r, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
	    strlen("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"));
	assert_int_equal(raw_response(&r, false, &headers, &body), 404);
	v = raw_header(headers, "X-Frame-Options");
	assert_non_null(v); /* errors carry the security headers too */
	free(v);
	free(headers);
	free(body);

	/* A handler failing without a reply gives a 500 JSON error. */
	raw_send(&r, "GET /fail HTTP/1.1\r\nHost: x\r\n\r\n",
	    strlen("GET /fail HTTP/1.1\r\nHost: x\r\n\r\n"));
	assert_int_equal(raw_response(&r, false, NULL, &body), 500);
	assert_non_null(strstr(body, "\"status\":500"));
	free(body);

	/* A file reply (sendfile). */
	_cleanup_free_ char *path = xasprintf("%s/disk.txt", tmpdir);
	struct dr_error err;
	assert_int_equal(file_write_atomic(path, "from disk\n", 10, 0644, &err), 0);
	raw_send(&r, "GET /disk HTTP/1.1\r\nHost: x\r\n\r\n",
	    strlen("GET /disk HTTP/1.1\r\nHost: x\r\n\r\n"));
	assert_int_equal(raw_response(&r, false, &headers, &body), 200);
	assert_string_equal(body, "from disk\n");
	v = raw_header(headers, "Content-Type");
	assert_string_equal(v, "text/plain");
	free(v);
	free(headers);
	free(body);
	raw_close(&r);
}

static void
test_json_body(void **state)
{
	_cleanup_free_ char *u = NULL;
	struct dr_error err;
	json_t *j = NULL, *in = json_pack("{s:[i,i]}", "a", 1, 2);
	char *body;
	long status;
	struct raw r;

	server_start((struct http_server_opts){0});
	u = url("/echo");
	assert_int_equal(http_json("POST", u, in, &fast, &status, &j, &err), 0);
	assert_int_equal(status, 200);
	assert_true(json_equal(json_object_get(j, "got"), in));
	json_decref(j);
	json_decref(in);

	/* Malformed JSON: 400 and the message names line and column. */
	raw_open(&r);
	const char *bad = "{\"a\": 1,\n  ,}";
	_cleanup_free_ char *req = xasprintf(
	    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s", strlen(bad), bad);
	raw_send(&r, req, strlen(req));
	assert_int_equal(raw_response(&r, false, NULL, &body), 400);
	assert_non_null(strstr(body, "request body:2:3:"));
	free(body);
	raw_close(&r);
}

static void
test_body_cap(void **state)
{
	_cleanup_free_ char *u = NULL;
	_cleanup_free_ char *hello = NULL;
	char big[3000], *body, req[512];
	struct dr_error err;
	json_t *j = NULL;
	long status;
	struct raw r;

	server_start((struct http_server_opts){.max_body = 1024});
	u = url("/echo");
	hello = url("/hello");
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	json_t *in = json_pack("{s:s}", "big", big);
	assert_int_equal(http_json("POST", u, in, &fast, &status, &j, &err), 0);
	json_decref(in);
	assert_int_equal(status, 413);
	json_decref(j);
	/* The server keeps serving. */
	assert_int_equal(http_json("GET", hello, NULL, &fast, &status, &j, &err), 0);
	assert_int_equal(status, 200);
	json_decref(j);

	/* A chunked body without Content-Length is cut at the cap too. */
	raw_open(&r);
	snprintf(req, sizeof req,
	    "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	raw_send(&r, req, strlen(req));
	for (int i = 0; i < 3; i++) {
		snprintf(req, sizeof req, "%x\r\n", 1000);
		raw_send(&r, req, strlen(req));
		raw_send(&r, big, 1000);
		raw_send(&r, "\r\n", strlen("\r\n"));
	}
	raw_send(&r, "0\r\n\r\n", strlen("0\r\n\r\n"));
	assert_int_equal(raw_response(&r, false, NULL, &body), 413);
	free(body);
	raw_close(&r);

	/* An HTTP_STREAM route sees its body in chunks, without the cap. */
	raw_open(&r);
	snprintf(
	    req, sizeof req, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2999\r\n\r\n");
	raw_send(&r, req, strlen(req));
	raw_send(&r, big, 2999);
	assert_int_equal(raw_response(&r, false, NULL, &body), 200);
	assert_string_equal(body, "{\"bytes\":2999}");
	free(body);
	raw_close(&r);
}

static void
test_header_cap(void **state)
{
	_cleanup_free_ char *hello = NULL;
	struct buf req = BUF_INIT(0);
	struct dr_error err;
	json_t *j = NULL;
	long status;
	struct raw r;
	int got;

	server_start((struct http_server_opts){.max_header = 4096});
	hello = url("/hello");
	buf_adds(&req, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ");
	for (int i = 0; i < 8000; i++)
		buf_addc(&req, 'y');
	buf_adds(&req, "\r\n\r\n");
	raw_open(&r);
	raw_send(&r, req.data, req.len);
	got = raw_response(&r, false, NULL, NULL);
	/* MHD answers 431 (or just closes); never a 200. */
	assert_true(got == 431 || got == -1);
	raw_close(&r);
	buf_free(&req);
	assert_int_equal(http_json("GET", hello, NULL, &fast, &status, &j, &err), 0);
	assert_int_equal(status, 200);
	json_decref(j);
}

static void
test_auth_hook(void **state)
{
	_cleanup_free_ char *secret = NULL, *pub = NULL;
	struct http_client_opts o = fast;
	struct dr_error err;
	json_t *j = NULL;
	long status;

	server_start((struct http_server_opts){0});
	secret = url("/secret");
	pub = url("/public");
	assert_int_equal(http_json("GET", secret, NULL, &o, &status, &j, &err), 0);
	assert_int_equal(status, 401);
	json_decref(j);
	o.bearer_token = "weak";
	assert_int_equal(http_json("GET", secret, NULL, &o, &status, &j, &err), 0);
	assert_int_equal(status, 403);
	json_decref(j);
	o.bearer_token = "good";
	assert_int_equal(http_json("GET", secret, NULL, &o, &status, &j, &err), 0);
	assert_int_equal(status, 200);
	assert_string_equal(json_string_value(json_object_get(j, "user")), "alice");
	assert_string_equal(json_string_value(json_object_get(j, "role")), "admin");
	json_decref(j);
	/* HTTP_PUBLIC bypasses the hook. */
	assert_int_equal(http_json("GET", pub, NULL, &fast, &status, &j, &err), 0);
	assert_int_equal(status, 200);
	assert_true(json_is_null(json_object_get(j, "user")));
	json_decref(j);
}

/* Checks a metrics text line by line against exposition format 0.0.4. */
static void
assert_valid_exposition(const char *text)
{
	regex_t help, type, sample;
	char *copy = xstrdup(text), *save = NULL;

	assert_int_equal(regcomp(&help, "^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$", REG_EXTENDED), 0);
	assert_int_equal(
	    regcomp(&type,
	        "^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped)$",
	        REG_EXTENDED),
	    0);
	assert_int_equal(regcomp(&sample,
	                     "^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|"
	                     "\\\\.)*\",?)*\\})? "
	                     "[-+]?([0-9.eE+-]+|Inf|NaN)$",
	                     REG_EXTENDED),
	    0);
	for (char *line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (regexec(&help, line, 0, NULL, 0) != 0 &&
		    regexec(&type, line, 0, NULL, 0) != 0 &&
		    regexec(&sample, line, 0, NULL, 0) != 0)
			fail_msg("invalid exposition line: %s", line);
	}
	assert_true(text[strlen(text) - 1] == '\n');
	regfree(&help);
	regfree(&type);
	regfree(&sample);
	free(copy);
}

static void
collect_test(struct buf *out)
{
	buf_adds(out,
	    "# HELP drover_test_jobs Jobs by kind.\n# TYPE drover_test_jobs gauge\n"
	    "drover_test_jobs{kind=\"");
	metrics_label_escape(out, "we\"ird\\kind\n");
	buf_adds(out, "\"} 3\n");
}

static void
test_keepalive_and_metrics(void **state)
{
	char *headers, *body;
	struct raw r;
	struct buf m = BUF_INIT(0);

	server_start((struct http_server_opts){0});
	metrics_collector_add(collect_test);
	raw_open(&r);
	for (int i = 0; i < 300; i++) {
		raw_send(&r, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
		    strlen("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
		assert_int_equal(raw_response(&r, false, NULL, &body), 200);
		assert_string_equal(body, "{\"hello\":\"world\"}");
		free(body);
	}
	for (int i = 0; i < 4; i++) {
		raw_send(&r, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
		    strlen("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"));
		assert_int_equal(raw_response(&r, false, NULL, &body), 404);
		free(body);
	}
	raw_send(&r, "GET /items/1/parts/2 HTTP/1.1\r\nHost: x\r\n\r\n",
	    strlen("GET /items/1/parts/2 HTTP/1.1\r\nHost: x\r\n\r\n"));
	assert_int_equal(raw_response(&r, false, NULL, &body), 200);
	free(body);
	raw_send(&r, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
	    strlen("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
	assert_int_equal(raw_response(&r, false, &headers, &body), 200);
	char *ct = raw_header(headers, "Content-Type");
	assert_string_equal(ct, "text/plain; version=0.0.4; charset=utf-8");
	free(ct);
	free(headers);
	raw_close(&r);

	/* All 306 requests went over one connection, and were counted per route/status. */
	assert_non_null(
	    strstr(body, "drover_http_requests_total{route=\"hello\",code=\"200\"} 300\n"));
	assert_non_null(
	    strstr(body, "drover_http_requests_total{route=\"unmatched\",code=\"404\"} 4\n"));
	assert_non_null(strstr(body,
	    "drover_http_requests_total{route=\"/items/:id/parts/:part\",code=\"200\"} 1\n"));
	assert_non_null(strstr(body,
	    "drover_http_request_duration_seconds_bucket{route=\"hello\",le=\"+Inf\"} 300\n"));
	assert_non_null(
	    strstr(body, "drover_http_request_duration_seconds_count{route=\"hello\"} 300\n"));
	/* The metrics request itself is in flight while rendering. */
	assert_non_null(strstr(body, "drover_http_requests_in_flight 1\n"));
	assert_non_null(strstr(body, "process_resident_memory_bytes "));
	assert_non_null(strstr(body, "process_open_fds "));
	assert_non_null(strstr(body, "process_start_time_seconds "));
	assert_non_null(strstr(body, "drover_test_jobs{kind=\"we\\\"ird\\\\kind\\n\"} 3\n"));
	assert_valid_exposition(body);

	/* promtool, when installed, has the last word on the format. */
	if (access("/usr/bin/promtool", X_OK) == 0) {
		_cleanup_free_ char *path = xasprintf("%s/metrics.txt", tmpdir);
		_cleanup_free_ char *cmd = xasprintf("/usr/bin/promtool check metrics < %s", path);
		struct dr_error err;

		assert_int_equal(file_write_atomic(path, body, strlen(body), 0644, &err), 0);
		assert_int_equal(system(cmd), 0);
	}
	free(body);
	assert_int_equal(metrics_render(&m), 0);
	assert_valid_exposition(m.data);
	buf_free(&m);
}

struct stream_seen {
	struct buf data;
	int64_t first_us, last_us;
	int chunks;
	long concurrent_status;
};

static int
on_stream_data(void *ctx, const char *data, size_t len)
{
	struct stream_seen *s = ctx;

	if (s->chunks++ == 0) {
		_cleanup_free_ char *hello = url("/hello");
		struct dr_error err;
		json_t *j = NULL;

		s->first_us = time_mono_us();
		/* With one pool thread, this only works if the parked stream holds none. */
		if (http_json("GET", hello, NULL, &fast, &s->concurrent_status, &j, &err) < 0)
			s->concurrent_status = -1;
		json_decref(j);
	}
	s->last_us = time_mono_us();
	buf_add(&s->data, data, len);
	return 0;
}

static void
test_stream(void **state)
{
	_cleanup_free_ char *u = NULL;
	struct stream_seen seen = {.data = BUF_INIT(0)};
	struct dr_error err;
	pthread_t producer;
	long status = 0;

	server_start((struct http_server_opts){.threads = 1});
	u = url("/stream");
	feed.len = 0;
	feed.done = false;
	assert_int_equal(pthread_create(&producer, NULL, feed_produce, NULL), 0);
	if (http_stream(u, &fast, on_stream_data, &seen, &status, &err) < 0)
		fail_msg("http_stream: %s", err.msg);
	pthread_join(producer, NULL);
	assert_int_equal(status, 200);
	assert_string_equal(seen.data.data, "line 0\nline 1\nline 2\nline 3\nline 4\n");
	/* Data arrived as produced, not all at the end. */
	assert_true(seen.chunks >= 3);
	assert_true(seen.last_us - seen.first_us >= 150000);
	assert_int_equal(seen.concurrent_status, 200);
	buf_free(&seen.data);

	/* 404 on a stream is an error naming the URL. */
	_cleanup_free_ char *nope = url("/nope");
	seen = (struct stream_seen){.data = BUF_INIT(0)};
	assert_int_equal(http_stream(nope, &fast, on_stream_data, &seen, &status, &err), -1);
	assert_non_null(strstr(err.msg, nope));
	assert_non_null(strstr(err.msg, "404"));
	buf_free(&seen.data);
}

static void
test_stream_stop_while_parked(void **state)
{
	struct raw r;
	char buf[512];

	server_start((struct http_server_opts){0});
	feed.len = 0;
	feed.done = false;
	raw_open(&r);
	raw_send(&r, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n",
	    strlen("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
	assert_true(recv(r.fd, buf, sizeof buf, 0) > 0); /* headers; then the stream parks */
	usleep(50000);
	http_server_stop(); /* must not hang or crash with a parked stream */
	raw_close(&r);
}

/* ---- TLS ---- */

static void
test_tls(void **state)
{
	_cleanup_free_ char *cert = xasprintf("%s/cert.pem", tmpdir);
	_cleanup_free_ char *key = xasprintf("%s/key.pem", tmpdir);
	_cleanup_free_ char *cmd = xasprintf(
	    "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost "
	    "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -days 1 -keyout %s -out %s "
	    ">/dev/null 2>&1",
	    key, cert);
	_cleanup_free_ char *missing = xasprintf("%s/missing.pem", tmpdir);
	_cleanup_free_ char *u = NULL;
	struct http_client_opts o = fast;
	struct dr_error err;
	json_t *j = NULL;
	long status;

	assert_int_equal(system(cmd), 0);
	/* A bad path: the error names the file. */
	assert_int_equal(http_server_start(
	                     &(struct http_server_opts){
	                         .listen = "127.0.0.1:0", .tls_cert = missing, .tls_key = key},
	                     &err),
	    -1);
	assert_non_null(strstr(err.msg, missing));
	/* The key file given as certificate: named too. */
	assert_int_equal(http_server_start(
	                     &(struct http_server_opts){
	                         .listen = "127.0.0.1:0", .tls_cert = key, .tls_key = key},
	                     &err),
	    -1);
	assert_non_null(strstr(err.msg, key));

	server_start((struct http_server_opts){.tls_cert = cert, .tls_key = key});
	u = url("/hello");
	o.ca_file = cert;
	assert_int_equal(http_json("GET", u, NULL, &o, &status, &j, &err), 0);
	assert_int_equal(status, 200);
	assert_string_equal(json_string_value(json_object_get(j, "hello")), "world");
	json_decref(j);
	/* Without the CA the client refuses the self-signed certificate. */
	assert_int_equal(http_json("GET", u, NULL, &fast, &status, &j, &err), -1);
	assert_non_null(strstr(err.msg, u));
}

/* ---- client ---- */

static void
test_client_retries(void **state)
{
	_cleanup_free_ char *flaky = NULL, *down = NULL, *post500 = NULL;
	struct http_client_opts o = fast;
	struct dr_error err;
	json_t *j = NULL;
	long status;

	server_start((struct http_server_opts){0});
	flaky = url("/flaky");
	down = url("/down");
	post500 = url("/post500");
	atomic_store(&flaky_count, 0);
	o.retries = 3;
	assert_int_equal(http_json("GET", flaky, NULL, &o, &status, &j, &err), 0);
	assert_int_equal(status, 200);
	assert_int_equal(atomic_load(&flaky_count), 3);
	json_decref(j);

	atomic_store(&fail_count, 0);
	o.retries = 2;
	assert_int_equal(http_json("GET", down, NULL, &o, &status, &j, &err), -1);
	assert_int_equal(atomic_load(&fail_count), 3);
	assert_non_null(strstr(err.msg, down));
	assert_non_null(strstr(err.msg, "HTTP 503 after 3 attempts"));
	assert_non_null(strstr(err.msg, "down for maintenance"));

	/* A POST that got a 500 may have been processed: not repeated. */
	atomic_store(&post_count, 0);
	json_t *empty = json_object();
	assert_int_equal(http_json("POST", post500, empty, &o, &status, &j, &err), -1);
	json_decref(empty);
	assert_int_equal(atomic_load(&post_count), 1);
}

static void
test_client_refused(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof sa;
	struct http_client_opts o = fast;
	char u[128];
	struct dr_error err;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	long status;
	json_t *j = NULL;
	int64_t t0;

	/* A port that was just free. */
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	snprintf(u, sizeof u, "http://127.0.0.1:%d/x", ntohs(sa.sin_port));
	o.retries = 2;
	t0 = time_mono_us();
	assert_int_equal(http_json("GET", u, NULL, &o, &status, &j, &err), -1);
	assert_non_null(strstr(err.msg, u));
	assert_non_null(strstr(err.msg, "after 3 attempts"));
	assert_true(time_mono_us() - t0 >= 30000); /* 10 + 20 ms of backoff */
}

/* Hex SHA-256 of data. */
static void
sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void
assert_file_is(const char *path, const char *name)
{
	size_t want_len, len;
	char *want = file_content(name, &want_len), *got = NULL;
	struct dr_error err;

	if (file_read(path, 10 * 1024 * 1024, &got, &len, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, len);
	free(got);
	free(want);
}

static void
test_downloads(void **state)
{
	static const char *const names[] = {"f1", "f20", "f300", "f4", "f5"};
	char sums[5][65], *dests[6], *urls[6];
	struct http_download d[6];
	struct http_client_opts o = fast;
	struct dr_error err;
	struct stat st;

	server_start((struct http_server_opts){0});
	memset(d, 0, sizeof d);
	for (int i = 0; i < 5; i++) {
		size_t len;
		char *c = file_content(names[i], &len);

		sha256_hex(c, len, sums[i]);
		free(c);
		urls[i] = xasprintf("%s/files/%s", base_url, names[i]);
		dests[i] = xasprintf("%s/%s", tmpdir, names[i]);
		d[i].url = urls[i];
		d[i].dest_path = dests[i];
		d[i].sha256 = sums[i];
	}
	d[3].sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
	d[4].sha256 = NULL;
	d[4].max_size = 1000; /* f5 is 5007 bytes */
	urls[5] = xasprintf("%s/files/nope", base_url);
	dests[5] = xasprintf("%s/nope", tmpdir);
	d[5].url = urls[5];
	d[5].dest_path = dests[5];

	assert_int_equal(http_download_many(d, 6, 2, &o, &err), -1);
	assert_non_null(strstr(err.msg, "3 of 6 downloads failed"));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(d[i].result, 0);
		assert_file_is(dests[i], names[i]);
	}
	/* Wrong checksum: that file fails and leaves nothing behind. */
	assert_int_equal(d[3].result, -1);
	assert_non_null(strstr(d[3].error, urls[3]));
	assert_non_null(strstr(d[3].error, "SHA-256 mismatch"));
	assert_int_equal(stat(dests[3], &st), -1);
	_cleanup_free_ char *part3 = xasprintf("%s.part", dests[3]);
	assert_int_equal(stat(part3, &st), -1);
	/* Over max_size. */
	assert_int_equal(d[4].result, -1);
	assert_non_null(strstr(d[4].error, "larger than the limit of 1000 bytes"));
	assert_int_equal(stat(dests[4], &st), -1);
	/* 404 names the URL. */
	assert_int_equal(d[5].result, -1);
	assert_non_null(strstr(d[5].error, urls[5]));
	assert_non_null(strstr(d[5].error, "404"));

	/* Resume: a .part holding the first 5000 bytes of f300 is continued with Range. */
	{
		size_t len;
		char *c = file_content("f300", &len);
		_cleanup_free_ char *dest = xasprintf("%s/resumed", tmpdir);
		_cleanup_free_ char *part = xasprintf("%s/resumed.part", tmpdir);
		struct http_download r = {.url = urls[2], .dest_path = dest, .sha256 = sums[2]};

		assert_int_equal(file_write_atomic(part, c, 5000, 0644, &err), 0);
		free(c);
		assert_int_equal(http_download_many(&r, 1, 1, &o, &err), 0);
		assert_string_equal(last_range, "bytes=5000-");
		assert_file_is(dest, "f300");
		assert_int_equal(stat(part, &st), -1);
	}
	/* A download that must be retried waits while the ones after it go ahead on the
	 * one connection, and is taken up again when its time comes. */
	{
		_cleanup_free_ char *flaky = url("/flaky");
		_cleanup_free_ char *fdest = xasprintf("%s/flaky", tmpdir);
		_cleanup_free_ char *d1 = xasprintf("%s/again-f1", tmpdir);
		_cleanup_free_ char *d2 = xasprintf("%s/again-f20", tmpdir);
		struct http_download r[3] = {
		    {.url = flaky, .dest_path = fdest},
		    {.url = urls[0], .dest_path = d1, .sha256 = sums[0]},
		    {.url = urls[1], .dest_path = d2, .sha256 = sums[1]},
		};

		atomic_store(&flaky_count, 0);
		o.retries = 3;
		assert_int_equal(http_download_many(r, 3, 1, &o, &err), 0);
		assert_int_equal(atomic_load(&flaky_count), 3);
		for (int i = 0; i < 3; i++)
			assert_int_equal(r[i].result, 0);
		assert_file_is(d1, "f1");
		assert_file_is(d2, "f20");
		unlink(fdest);
		unlink(d1);
		unlink(d2);
	}
	for (int i = 0; i < 6; i++) {
		unlink(dests[i]);
		free(dests[i]);
		free(urls[i]);
	}
}

static int
setup_all(void **state)
{
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
teardown_all(void **state)
{
	_cleanup_free_ char *cmd = xasprintf("rm -rf %s", tmpdir);

	http_server_stop();
	http_routes_clear();
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_routing, teardown_server),
	    cmocka_unit_test_teardown(test_methods_head_and_headers, teardown_server),
	    cmocka_unit_test_teardown(test_json_body, teardown_server),
	    cmocka_unit_test_teardown(test_body_cap, teardown_server),
	    cmocka_unit_test_teardown(test_header_cap, teardown_server),
	    cmocka_unit_test_teardown(test_auth_hook, teardown_server),
	    cmocka_unit_test_teardown(test_keepalive_and_metrics, teardown_server),
	    cmocka_unit_test_teardown(test_stream, teardown_server),
	    cmocka_unit_test_teardown(test_stream_stop_while_parked, teardown_server),
	    cmocka_unit_test_teardown(test_tls, teardown_server),
	    cmocka_unit_test_teardown(test_client_retries, teardown_server),
	    cmocka_unit_test(test_client_refused),
	    cmocka_unit_test_teardown(test_downloads, teardown_server),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
