/* api.c - the REST API of the foundation: status, tokens, jobs, schedules, backup. */
#define LOG_COMPONENT "api"
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "webui/webui.h"

#define API_PER_PAGE_DEFAULT 20
#define API_PER_PAGE_MAX 1000
#define API_OUTPUT_CHUNK 65536

static time_t api_started;

/* Page and per_page from the query, within bounds; a bad value is a 422. */
static int
api_paging(struct http_request *req, struct http_response *resp, long long *ret_page,
    long long *ret_per_page)
{
	const char *page = http_request_query(req, "page");
	const char *per = http_request_query(req, "per_page");

	*ret_page = 1;
	*ret_per_page = API_PER_PAGE_DEFAULT;
	if (page != NULL && str_to_ll(page, 1, 1000000, ret_page) < 0) {
		http_reply_error(resp, 422, "page: expected a number from 1");
		return -1;
	}
	if (per != NULL && str_to_ll(per, 1, API_PER_PAGE_MAX, ret_per_page) < 0) {
		http_reply_error(resp, 422, "per_page: expected a number from 1 to %d",
		    API_PER_PAGE_MAX);
		return -1;
	}
	return 0;
}

/* A list in Foreman's shape; rows is stolen. */
static void
api_reply_list(struct http_response *resp, json_t *rows, int64_t total, int64_t subtotal,
    long long page, long long per_page, const char *search)
{
	http_reply_json(resp, 200,
	    json_pack("{s:I, s:I, s:I, s:I, s:s?, s:o}", "total", (json_int_t)total, "subtotal",
		(json_int_t)subtotal, "page", (json_int_t)page, "per_page", (json_int_t)per_page,
		"search", search, "results", rows));
}

/* An :id path segment as a positive integer; a bad one is a 404. */
static int
api_id(struct http_request *req, struct http_response *resp, int64_t *ret)
{
	long long v;

	if (str_to_ll(http_request_param(req, "id"), 1, INT64_MAX, &v) < 0) {
		http_reply_error(resp, 404, "no such id '%s'", http_request_param(req, "id"));
		return -1;
	}
	*ret = v;
	return 0;
}

/* GET /api/v2/status: health for people and monitors. */
static int
api_status(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *rows = NULL;
	struct dr_error err;
	bool store_ok = store_query("SELECT 1 AS ok", NULL, &rows, &err) == 0;

	http_reply_json(resp, store_ok ? 200 : 503,
	    json_pack("{s:s, s:I, s:s, s:o}", "version", PACKAGE_VERSION, "uptime",
		(json_int_t)(time(NULL) - api_started), "store", store_ok ? "ok" : err.msg,
		"jobs", job_counts()));
	return 0;
}

/* POST /api/v2/tokens {user, password, name?, expires_in?}: log in, get a bearer token. */
static int
api_token_create(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL;
	_cleanup_free_ char *token = NULL;
	const char *user = NULL, *password = NULL, *name = "api", *role;
	json_int_t ttl = 0;
	struct dr_error err;

	if (http_request_json(req, &body, &err) < 0) {
		http_reply_error(resp, 400, "%s", err.msg);
		return 0;
	}
	if (json_unpack_ex(body, NULL, 0, "{s:s, s:s, s?:s, s?:I}", "user", &user, "password",
		&password, "name", &name, "expires_in", &ttl) < 0) {
		http_reply_error(resp, 422,
		    "expected {\"user\": string, \"password\": string, \"name\": string, "
		    "\"expires_in\": seconds}");
		return 0;
	}
	if (auth_password_check(user, password, &role) < 0) {
		log_warnx("failed login for '%s' from %s", user, http_request_remote(req));
		http_reply_error(resp, 401, "wrong user name or password");
		return 0;
	}
	if (auth_token_create(user, name, ttl, &token, &err) < 0) {
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	store_audit(user, http_request_remote(req), "create", "api_token", name, NULL, NULL,
	    NULL);
	http_reply_json(resp, 201,
	    json_pack("{s:s, s:s, s:s, s:s}", "token", token, "user", user, "role", role, "name",
		name));
	return 0;
}

/* GET /api/v2/jobs?state=&kind=&page=&per_page= */
static int
api_jobs_list(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *filter = json_object(), *rows = NULL;
	const char *keys[] = { "state", "kind" };
	long long page, per_page;
	int64_t total = 0;
	struct dr_error err;
	size_t i;

	if (api_paging(req, resp, &page, &per_page) < 0)
		return 0;
	for (i = 0; i < nitems(keys); i++)
		if (http_request_query(req, keys[i]) != NULL)
			json_object_set_new(filter, keys[i],
			    json_string(http_request_query(req, keys[i])));
	if (job_list(filter, (int)per_page, (int)((page - 1) * per_page), &rows, &total,
		&err) < 0) {
		http_reply_error(resp, 422, "%s", err.msg);
		return 0;
	}
	api_reply_list(resp, TAKE_PTR(rows), total, total, page, per_page,
	    http_request_query(req, "search"));
	return 0;
}

/* GET /api/v2/jobs/:id */
static int
api_job_show(struct http_request *req, struct http_response *resp)
{
	json_t *job;
	int64_t id;

	if (api_id(req, resp, &id) < 0)
		return 0;
	job = job_get(id);
	if (job == NULL)
		http_reply_error(resp, 404, "no job %lld", (long long)id);
	else
		http_reply_json(resp, 200, job);
	return 0;
}

/* POST /api/v2/jobs {kind, params?, timeout?} */
static int
api_job_create(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL;
	json_t *params = NULL;
	const char *kind = NULL;
	json_int_t timeout = 0;
	struct dr_error err;
	int64_t id;

	if (http_request_json(req, &body, &err) < 0) {
		http_reply_error(resp, 400, "%s", err.msg);
		return 0;
	}
	if (json_unpack_ex(body, NULL, 0, "{s:s, s?:o, s?:I}", "kind", &kind, "params", &params,
		"timeout", &timeout) < 0 ||
	    (params != NULL && !json_is_object(params)) || timeout < 0) {
		http_reply_error(resp, 422,
		    "expected {\"kind\": string, \"params\": object, \"timeout\": seconds}");
		return 0;
	}
	if (job_submit(kind, params, http_request_user(req), (int)timeout, &id, &err) < 0) {
		http_reply_error(resp, 422, "%s", err.msg);
		return 0;
	}
	store_audit(http_request_user(req), http_request_remote(req), "create", "job", kind,
	    NULL, body, NULL);
	http_reply_json(resp, 201, job_get(id));
	return 0;
}

/* POST /api/v2/jobs/:id/cancel */
static int
api_job_cancel(struct http_request *req, struct http_response *resp)
{
	struct dr_error err;
	int64_t id;

	if (api_id(req, resp, &id) < 0)
		return 0;
	if (job_cancel(id, &err) < 0) {
		json_t *job = job_get(id);
		http_reply_error(resp, job != NULL ? 409 : 404, "%s", err.msg);
		json_decref(job);
		return 0;
	}
	http_reply_json(resp, 200, job_get(id));
	return 0;
}

struct api_follow {
	int64_t id;
	int64_t offset;
};

/* Stream reader for a followed job: never blocks; 0 parks the connection until a tick. */
static ssize_t
api_follow_read(void *ctx, uint64_t pos, char *out, size_t max)
{
	struct api_follow *f = ctx;
	struct buf b = BUF_INIT(max);
	struct dr_error err;
	bool finished = false;
	int64_t next = f->offset;
	ssize_t n;

	if (job_output_read(f->id, f->offset, max, &b, &next, &finished, &err) < 0) {
		buf_free(&b);
		return HTTP_STREAM_ERROR;
	}
	n = (ssize_t)b.len;
	if (n > 0)
		memcpy(out, b.data, b.len);
	buf_free(&b);
	f->offset = next;
	if (n == 0 && finished)
		return HTTP_STREAM_END;
	return n;
}

/* GET /api/v2/jobs/:id/output?offset=N[&follow=true] */
static int
api_job_output(struct http_request *req, struct http_response *resp)
{
	const char *off = http_request_query(req, "offset");
	const char *follow = http_request_query(req, "follow");
	struct buf b = BUF_INIT(API_OUTPUT_CHUNK);
	_cleanup_json_ json_t *job = NULL;
	struct api_follow *f;
	long long offset = 0;
	struct dr_error err;
	bool finished = false;
	int64_t id, next = 0;

	if (api_id(req, resp, &id) < 0)
		return 0;
	if (off != NULL && str_to_ll(off, 0, INT64_MAX, &offset) < 0) {
		http_reply_error(resp, 422, "offset: expected a number from 0");
		return 0;
	}
	if ((job = job_get(id)) == NULL) {
		http_reply_error(resp, 404, "no job %lld", (long long)id);
		return 0;
	}
	if (follow != NULL && strcmp(follow, "true") == 0) {
		f = xcalloc(1, sizeof *f);
		f->id = id;
		f->offset = offset;
		http_reply_stream(resp, "text/plain; charset=utf-8", api_follow_read, f, free);
		return 0;
	}
	if (job_output_read(id, offset, API_OUTPUT_CHUNK, &b, &next, &finished, &err) < 0) {
		buf_free(&b);
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	http_reply_json(resp, 200,
	    json_pack("{s:s%, s:I, s:b}", "output", b.data != NULL ? b.data : "", b.len,
		"next_offset", (json_int_t)next, "finished", finished));
	buf_free(&b);
	return 0;
}

/* GET /api/v2/admin/backup: a consistent copy of the live database, streamed. */
static int
api_backup(struct http_request *req, struct http_response *resp)
{
	_cleanup_free_ char *path = NULL;
	struct dr_error err;
	struct stat st;
	int fd;

	path = xasprintf("%s.backup-%ld-%lld", store_path(), (long)getpid(),
	    (long long)time_mono_us());
	if (store_backup(path, &err) < 0) {
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	/* The open descriptor keeps the file alive while it is sent. */
	unlink(path);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		http_reply_error(resp, 500, "backup %s: cannot read it back", path);
		return 0;
	}
	store_audit(http_request_user(req), http_request_remote(req), "backup", "store",
	    NULL, NULL, NULL, NULL);
	http_reply_header(resp, "Content-Disposition", "attachment; filename=\"drover.db\"");
	http_reply_file(resp, 200, "application/vnd.sqlite3", fd, st.st_size);
	return 0;
}

/* GET /api/v2/schedules */
static int
api_schedules_list(struct http_request *req, struct http_response *resp)
{
	struct dr_error err;
	json_t *rows = NULL;
	int64_t n;

	if (schedule_list(&rows, &err) < 0) {
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	n = (int64_t)json_array_size(rows);
	api_reply_list(resp, rows, n, n, 1, n, NULL);
	return 0;
}

/* POST /api/v2/schedules {name, cron, tz?, kind, params?, start_at?, end_at?, …} */
static int
api_schedule_create(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL;
	struct dr_error err;
	int64_t id;

	if (http_request_json(req, &body, &err) < 0) {
		http_reply_error(resp, 400, "%s", err.msg);
		return 0;
	}
	if (!json_is_object(body)) {
		http_reply_error(resp, 422, "expected a schedule object");
		return 0;
	}
	if (json_object_get(body, "owner") == NULL)
		json_object_set_new(body, "owner", json_string(http_request_user(req)));
	if (schedule_create(body, &id, &err) < 0) {
		http_reply_error(resp, strstr(err.msg, "already") != NULL ? 409 : 422, "%s",
		    err.msg);
		return 0;
	}
	store_audit(http_request_user(req), http_request_remote(req), "create", "schedule",
	    json_string_value(json_object_get(body, "name")), NULL, body, NULL);
	http_reply_json(resp, 201, schedule_get(id));
	return 0;
}

/* GET /api/v2/schedules/:id */
static int
api_schedule_show(struct http_request *req, struct http_response *resp)
{
	json_t *s;
	int64_t id;

	if (api_id(req, resp, &id) < 0)
		return 0;
	if ((s = schedule_get(id)) == NULL)
		http_reply_error(resp, 404, "no schedule %lld", (long long)id);
	else
		http_reply_json(resp, 200, s);
	return 0;
}

/* DELETE /api/v2/schedules/:id, POST …/enable, POST …/disable */
static int
api_schedule_change(struct http_request *req, struct http_response *resp)
{
	const char *path = http_request_path(req), *action;
	_cleanup_json_ json_t *before = NULL;
	struct dr_error err;
	int64_t id;
	int r;

	if (api_id(req, resp, &id) < 0)
		return 0;
	if ((before = schedule_get(id)) == NULL) {
		http_reply_error(resp, 404, "no schedule %lld", (long long)id);
		return 0;
	}
	if (strcmp(http_request_method(req), "DELETE") == 0) {
		action = "delete";
		r = schedule_delete(id, &err);
	} else {
		action = str_has_suffix(path, "/enable") ? "enable" : "disable";
		r = schedule_set_enabled(id, strcmp(action, "enable") == 0, &err);
	}
	if (r < 0) {
		http_reply_error(resp, 409, "%s", err.msg);
		return 0;
	}
	store_audit(http_request_user(req), http_request_remote(req), action, "schedule",
	    json_string_value(json_object_get(before, "name")), before, NULL, NULL);
	if (strcmp(action, "delete") == 0)
		http_reply_json(resp, 200, TAKE_PTR(before));
	else
		http_reply_json(resp, 200, schedule_get(id));
	return 0;
}

/* drover_jobs{kind,state} for /metrics. */
static void
api_metrics_jobs(struct buf *out)
{
	_cleanup_json_ json_t *counts = job_counts();
	const char *kind, *state;
	json_t *states, *n;

	buf_adds(out, "# HELP drover_jobs Jobs in the store by kind and state.\n"
		      "# TYPE drover_jobs gauge\n");
	json_object_foreach(counts, kind, states) {
		json_object_foreach(states, state, n) {
			buf_adds(out, "drover_jobs{kind=\"");
			metrics_label_escape(out, kind);
			buf_adds(out, "\",state=\"");
			metrics_label_escape(out, state);
			buf_addf(out, "\"} %lld\n", (long long)json_integer_value(n));
		}
	}
}

static const struct http_route api_routes[] = {
	{ "GET", "/api/v2/status", api_status, HTTP_PUBLIC, "status" },
	{ "GET", "/metrics", metrics_handler, HTTP_PUBLIC, "metrics" },
	{ "POST", "/api/v2/tokens", api_token_create, HTTP_PUBLIC, "tokens" },
	{ "GET", "/api/v2/jobs", api_jobs_list, 0, "jobs" },
	{ "POST", "/api/v2/jobs", api_job_create, 0, "jobs" },
	{ "GET", "/api/v2/jobs/:id", api_job_show, 0, "job" },
	{ "POST", "/api/v2/jobs/:id/cancel", api_job_cancel, 0, "job_cancel" },
	{ "GET", "/api/v2/jobs/:id/output", api_job_output, 0, "job_output" },
	{ "GET", "/api/v2/schedules", api_schedules_list, 0, "schedules" },
	{ "POST", "/api/v2/schedules", api_schedule_create, 0, "schedules" },
	{ "GET", "/api/v2/schedules/:id", api_schedule_show, 0, "schedule" },
	{ "DELETE", "/api/v2/schedules/:id", api_schedule_change, 0, "schedule" },
	{ "POST", "/api/v2/schedules/:id/enable", api_schedule_change, 0, "schedule_enable" },
	{ "POST", "/api/v2/schedules/:id/disable", api_schedule_change, 0, "schedule_enable" },
	{ "GET", "/api/v2/admin/backup", api_backup, 0, "backup" },
};

/* Install the API routes and the auth hook; before http_server_start. */
void
api_init(void)
{
	api_started = time(NULL);
	http_routes_add(api_routes, nitems(api_routes));
	metrics_collector_add(api_metrics_jobs);
	http_set_auth(auth_check);
}
