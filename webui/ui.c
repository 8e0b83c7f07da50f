/*
 * ui.c - the web UI: server-rendered pages from core's template engine (autoescape on),
 * templates and static files compiled into the binary, sessions with CSRF tokens, a
 * navigation table other subsystems add to, and live job output over server-sent events.
 *
 * Pages are routes like the API's (flag HTTP_HTML): the same permission check runs
 * before them, and their forms call the same functions as the API handlers, so the UI
 * and the CLI always get the same answer. Forms work without JavaScript; app.js only
 * follows job output live and asks before deleting.
 */
#define LOG_COMPONENT "ui"
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "webui/assets.h"
#include "webui/webui.h"

#define UI_NAV_MAX 64
#define UI_TEMPLATES_MAX 64
#define UI_LOGIN_COOKIE "drover_login"
#define UI_SSE_CHUNK 16384

struct ui_template {
	const char *name; /* "jobs.html" */
	struct template *t;
};

static struct ui_template ui_templates[UI_TEMPLATES_MAX];
static size_t ui_ntemplates;
static struct ui_nav ui_nav[UI_NAV_MAX];
static size_t ui_nnav;

#define UI_WIDGETS_MAX 16
static struct ui_widget {
	const char *name;
	json_t *(*fn)(struct http_request *req);
} ui_widgets[UI_WIDGETS_MAX];
static size_t ui_nwidgets;

/* The foundation's pages in the navigation. */
static const struct ui_nav ui_nav_base[] = {
    {"Dashboard", "/", NULL, 0},
    {"Jobs", "/ui/jobs", "jobs", 10},
    {"Schedules", "/ui/schedules", "schedules", 20},
    {"Audit", "/ui/audits", "audits", 80},
    {"Users", "/ui/users", "users", 90},
    {"Roles", "/ui/roles", "roles", 91},
    {"API tokens", "/ui/tokens", "tokens", 92},
    {"Settings", "/ui/settings", "settings", 95},
};

/* Add pages to the navigation (copied), shown to those who may view their resource. */
void
ui_nav_add(const struct ui_nav *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t j;

		if (ui_nnav == UI_NAV_MAX)
			fatalx("ui_nav_add %s: more than %d entries", items[i].label, UI_NAV_MAX);
		/* Keep the table sorted by order; equal orders keep their insertion order. */
		for (j = ui_nnav; j > 0 && ui_nav[j - 1].order > items[i].order; j--)
			ui_nav[j] = ui_nav[j - 1];
		ui_nav[j] = items[i];
		ui_nnav++;
	}
}

/* Add a dashboard widget; adding the same name again replaces it. */
void
ui_widget_add(const char *name, json_t *(*fn)(struct http_request *req))
{
	size_t i;

	for (i = 0; i < ui_nwidgets; i++)
		if (strcmp(ui_widgets[i].name, name) == 0)
			break;
	if (i == UI_WIDGETS_MAX)
		fatalx("ui_widget_add %s: more than %d widgets", name, UI_WIDGETS_MAX);
	ui_widgets[i].name = name;
	ui_widgets[i].fn = fn;
	if (i == ui_nwidgets)
		ui_nwidgets++;
}

/* An asset by its name below webui/. */
static const struct webui_asset *
ui_asset(const char *name)
{
	for (size_t i = 0; i < webui_nassets; i++)
		if (strcmp(webui_assets[i].name, name) == 0)
			return &webui_assets[i];
	return NULL;
}

/* {% include "x.html" %} reads from the embedded templates. */
static int
ui_template_load(
    void *ctx, const char *name, char **ret_text, char **ret_name, struct dr_error *err)
{
	_cleanup_free_ char *path = xasprintf("templates/%s", name);
	const struct webui_asset *a = ui_asset(path);

	if (a == NULL)
		return dr_error_set(err, "no template '%s'", name);
	*ret_text = xstrndup((const char *)a->data, a->len);
	*ret_name = xstrdup(name);
	return 0;
}

/* Compile every embedded template once; a broken one is a bug caught at start. */
static void
ui_templates_compile(void)
{
	struct template_opts o = {
	    .trim_blocks = true,
	    .lstrip_blocks = true,
	    .autoescape = true,
	    .lenient = true, /* a missing optional value renders as "" */
	    .load = ui_template_load,
	};
	struct dr_error err;

	if (ui_ntemplates > 0)
		return;
	for (size_t i = 0; i < webui_nassets; i++) {
		const char *name = webui_assets[i].name;
		struct template *t;

		if (!str_has_prefix(name, "templates/") || ui_ntemplates == UI_TEMPLATES_MAX)
			continue;
		if (template_compile(name + 10, (const char *)webui_assets[i].data, &o, &t, &err) <
		    0)
			fatalx("UI template %s: %s", name, err.msg);
		ui_templates[ui_ntemplates].name = name + 10;
		ui_templates[ui_ntemplates++].t = t;
	}
}

static const struct template *
ui_template(const char *name)
{
	for (size_t i = 0; i < ui_ntemplates; i++)
		if (strcmp(ui_templates[i].name, name) == 0)
			return ui_templates[i].t;
	return NULL;
}

/* The navigation entries the caller may see. */
static json_t *
ui_nav_for(const struct auth_principal *p, const char *path)
{
	json_t *nav = json_array();

	for (size_t i = 0; i < ui_nnav; i++) {
		const struct ui_nav *n = &ui_nav[i];
		bool current = strcmp(n->href, "/") == 0 ? strcmp(path, "/") == 0
		                                         : str_has_prefix(path, n->href);

		if (n->resource != NULL && !auth_allowed(p, n->resource, "view", NULL))
			continue;
		json_array_append_new(nav,
		    json_pack("{s:s, s:s, s:b}", "label", n->label, "href", n->href, "current",
		        current));
	}
	return nav;
}

/* Whether the caller may do action on resource (for showing buttons; the route decides). */
bool
ui_can(struct http_request *req, const char *resource, const char *action)
{
	struct auth_principal *p = http_request_principal(req);

	return p != NULL && auth_allowed(p, resource, action, NULL);
}

/*
 * Render page `name` with vars (stolen) inside the layout and reply. The context gets
 * the user, the CSRF token, the navigation and the path.
 */
void
ui_render(struct http_request *req, struct http_response *resp, int status, const char *name,
    const char *title, json_t *vars)
{
	struct auth_principal *p = http_request_principal(req);
	const struct template *page = ui_template(name), *layout = ui_template("layout.html");
	_cleanup_free_ char *content = NULL, *html = NULL;
	struct dr_error err;
	size_t len = 0;

	if (vars == NULL)
		vars = json_object();
	json_object_set_new(vars, "title", json_string(title));
	json_object_set_new(vars, "path", json_string(http_request_path(req)));
	if (p != NULL) {
		json_object_set_new(vars, "me",
		    json_pack("{s:s, s:s, s:I}", "login", p->user, "role", p->role, "id",
		        (json_int_t)p->user_id));
		json_object_set_new(vars, "csrf", json_string(p->csrf != NULL ? p->csrf : ""));
		json_object_set_new(vars, "nav", ui_nav_for(p, http_request_path(req)));
	}
	if (page == NULL || layout == NULL) {
		http_reply_error(resp, 500, "no template %s", name);
		json_decref(vars);
		return;
	}
	if (template_render(page, vars, &content, NULL, &err) < 0) {
		log_warnx("rendering %s: %s", name, err.msg);
		http_reply_error(resp, 500, "rendering %s: %s", name, err.msg);
		json_decref(vars);
		return;
	}
	json_object_set_new(vars, "content", json_string(content));
	if (template_render(layout, vars, &html, &len, &err) < 0) {
		log_warnx("rendering the layout: %s", err.msg);
		http_reply_error(resp, 500, "rendering the layout: %s", err.msg);
		json_decref(vars);
		return;
	}
	json_decref(vars);
	http_reply_text(resp, status, "text/html; charset=utf-8", html, len);
	http_reply_header(resp, "Cache-Control", "no-cache, private");
}

/* An error page. */
void
ui_error(struct http_request *req, struct http_response *resp, int status, const char *msg)
{
	ui_render(req, resp, status, "error.html", status == 403 ? "Not allowed" : "Error",
	    json_pack("{s:i, s:s}", "status", status, "message", msg));
}

/*
 * Refusals: pages send people to the login page (401) or show why (403); API routes
 * get a JSON error naming the missing permission.
 */
void
ui_refuse(struct http_request *req, struct http_response *resp, int status)
{
	const struct http_route *r = http_request_route_def(req);
	struct auth_principal *p = http_request_principal(req);
	const char *denied = p != NULL ? p->denied : NULL;
	char msg[256];

	if (denied != NULL && strcmp(denied, "csrf") == 0)
		snprintf(msg, sizeof msg,
		    "missing or wrong CSRF token: reload the page and "
		    "try again");
	else if (denied != NULL)
		snprintf(msg, sizeof msg, "role %s lacks the permission %s", p->role, denied);
	else
		snprintf(msg, sizeof msg, "authentication required");
	if (r == NULL || !(r->flags & HTTP_HTML)) {
		http_reply_error(resp, status, "%s %s: %s", http_request_method(req),
		    http_request_path(req), msg);
		return;
	}
	if (status == 401) {
		_cleanup_free_ char *to = NULL, *next = NULL;

		if (strcmp(http_request_method(req), "GET") == 0 &&
		    strcmp(http_request_path(req), "/") != 0) {
			next = ui_urlencode(http_request_path(req));
			to = xasprintf("/login?next=%s", next);
		}
		http_reply_redirect(resp, to != NULL ? to : "/login");
		return;
	}
	ui_error(req, resp, status, msg);
}

/* Percent-encode for a query value; caller frees. */
char *
ui_urlencode(const char *s)
{
	struct buf b = BUF_INIT(0);

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~/", c) != NULL)
			buf_addc(&b, (char)c);
		else
			buf_addf(&b, "%%%02X", c);
	}
	return buf_steal(&b);
}

/* A string form field, NULL when absent or not a single value. */
const char *
ui_field(const json_t *form, const char *name)
{
	return json_string_value(json_object_get(form, name));
}

/* The form of a POST, or an error page. */
int
ui_form(struct http_request *req, struct http_response *resp, json_t **ret)
{
	struct dr_error err;

	if (http_request_form(req, ret, &err) < 0) {
		ui_error(req, resp, 400, err.msg);
		return -1;
	}
	return 0;
}

/* The cookie attributes: Secure under TLS. */
static void
ui_cookie(struct http_request *req, struct http_response *resp, const char *name,
    const char *value, long max_age)
{
	_cleanup_free_ char *c = xasprintf("%s=%s; Path=/; HttpOnly; SameSite=Strict; "
	                                   "Max-Age=%ld%s",
	    name, value, max_age, http_request_secure(req) ? "; Secure" : "");

	http_reply_header(resp, "Set-Cookie", c);
}

/* Where to go after logging in: a local path only, never another site. */
static const char *
ui_next(const char *next)
{
	if (next == NULL || next[0] != '/' || next[1] == '/' || next[1] == '\\' ||
	    strlen(next) > 512 || strpbrk(next, "\r\n") != NULL)
		return "/";
	return next;
}

/* Render the login page, with a fresh login token (double-submit cookie). */
static void
ui_login_page(struct http_request *req, struct http_response *resp, int status, const char *error,
    const char *user)
{
	char token[65];

	auth_random_hex(token, 32);
	ui_render(req, resp, status, "login.html", "Log in",
	    json_pack("{s:s, s:s?, s:s?, s:s}", "login_token", token, "error", error, "user", user,
	        "next", ui_next(http_request_query(req, "next"))));
	ui_cookie(req, resp, UI_LOGIN_COOKIE, token, 3600);
}

/* GET /login */
static int
ui_login_show(struct http_request *req, struct http_response *resp)
{
	ui_login_page(req, resp, 200, NULL, NULL);
	return 0;
}

/* POST /login: check the login token, the password (throttled), start a session. */
static int
ui_login_submit(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *form = NULL;
	_cleanup_free_ char *session = NULL;
	const char *user, *password, *token, *cookie, *role;
	const char *remote = http_request_remote(req);
	struct dr_error err;
	char msg[128];
	int status, wait;

	if (ui_form(req, resp, &form) < 0)
		return 0;
	user = ui_field(form, "user");
	password = ui_field(form, "password");
	token = ui_field(form, "login_token");
	cookie = http_request_cookie(req, UI_LOGIN_COOKIE);
	if (token == NULL || cookie == NULL || strlen(token) != strlen(cookie) ||
	    !str_equal_secret(token, cookie)) {
		ui_login_page(req, resp, 403, "The login form expired: please try again.", user);
		return 0;
	}
	if (user == NULL || password == NULL || *user == '\0') {
		ui_login_page(req, resp, 422, "Enter a user name and a password.", user);
		return 0;
	}
	status = auth_login(user, password, remote, &role, &wait);
	if (status == 429) {
		snprintf(
		    msg, sizeof msg, "Too many failed logins: try again in %d seconds.", wait);
		ui_login_page(req, resp, 429, msg, user);
		snprintf(msg, sizeof msg, "%d", wait);
		http_reply_header(resp, "Retry-After", msg);
		return 0;
	}
	if (status != 0) {
		ui_login_page(req, resp, 401, "Wrong user name or password.", user);
		return 0;
	}
	if (auth_session_create(user, remote, &session, &err) < 0) {
		ui_login_page(req, resp, 500, err.msg, user);
		return 0;
	}
	store_audit(user, remote, "login", "sessions", user, NULL, NULL, NULL);
	http_reply_redirect(resp, ui_next(ui_field(form, "next")));
	ui_cookie(req, resp, AUTH_SESSION_COOKIE, session, AUTH_SESSION_MAX);
	return 0;
}

/* POST /logout */
static int
ui_logout(struct http_request *req, struct http_response *resp)
{
	auth_session_delete(http_request_cookie(req, AUTH_SESSION_COOKIE));
	store_audit(http_request_user(req), http_request_remote(req), "logout", "sessions",
	    http_request_user(req), NULL, NULL, NULL);
	http_reply_redirect(resp, "/login");
	ui_cookie(req, resp, AUTH_SESSION_COOKIE, "", 0);
	return 0;
}

/* GET /static/FILE from the embedded files. */
static int
ui_static(struct http_request *req, struct http_response *resp)
{
	static const struct {
		const char *suffix, *type;
	} types[] = {
	    {".css", "text/css; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".svg", "image/svg+xml"},
	};
	_cleanup_free_ char *name = xasprintf("static/%s", http_request_param(req, "*"));
	const struct webui_asset *a = ui_asset(name);
	const char *type = "application/octet-stream";

	if (a == NULL || strstr(name, "..") != NULL) {
		http_reply_error(resp, 404, "%s: not found", http_request_path(req));
		return 0;
	}
	for (size_t i = 0; i < nitems(types); i++)
		if (str_has_suffix(name, types[i].suffix))
			type = types[i].type;
	http_reply_text(resp, 200, type, (const char *)a->data, a->len);
	http_reply_header(resp, "Cache-Control", "public, max-age=300");
	return 0;
}

/* Page and per_page of a list page (bad values fall back to the defaults). */
static void
ui_paging(struct http_request *req, long long *page, long long *per_page)
{
	const char *p = http_request_query(req, "page"), *pp = http_request_query(req, "per_page");

	if (p == NULL || str_to_ll(p, 1, 1000000, page) < 0)
		*page = 1;
	if (pp == NULL || str_to_ll(pp, 1, 200, per_page) < 0)
		*per_page = 25;
}

/*
 * A list page's data: rows of r matching the search box within the caller's scope,
 * and a pager. A bad search gives no rows and the message under the box.
 */
json_t *
ui_list(struct http_request *req, const struct api_resource *r, const char *search)
{
	struct auth_principal *p = http_request_principal(req);
	const char *order = http_request_query(req, "order");
	long long page, per_page, pages;
	json_t *rows = NULL;
	int64_t total = 0;
	struct dr_error err;
	json_t *vars;

	ui_paging(req, &page, &per_page);
	if (api_list_query(r, search, p != NULL ? p->scope : NULL, order, page, per_page, &rows,
	        &total, &err) < 0) {
		rows = json_array();
		vars = json_pack("{s:s}", "search_error", err.msg);
	} else {
		vars = json_object();
	}
	pages = total > 0 ? (total + per_page - 1) / per_page : 1;
	json_object_set_new(vars, "rows", rows);
	json_object_set_new(vars, "search", json_string(search != NULL ? search : ""));
	json_object_set_new(vars, "pager",
	    json_pack("{s:I, s:I, s:I, s:I, s:s}", "page", (json_int_t)page, "pages",
	        (json_int_t)pages, "total", (json_int_t)total, "per_page", (json_int_t)per_page,
	        "query", ""));
	if (search != NULL && *search != '\0') {
		_cleanup_free_ char *q = ui_urlencode(search);

		json_object_set_new(
		    json_object_get(vars, "pager"), "query", json_sprintf("search=%s&", q));
	}
	return vars;
}

/* Unix seconds as "2026-11-25 20:42:09Z" for pages. */
static int
ui_filter_time(
    const json_t *in, const struct template_args *args, json_t **ret, struct dr_error *err)
{
	char buf[64];
	time_t t;
	struct tm tm;

	if (!json_is_integer(in)) {
		*ret = json_string("");
		return 0;
	}
	t = (time_t)json_integer_value(in);
	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
	*ret = json_string(buf);
	return 0;
}

/* A JSON value as compact text (for params and audit before/after). */
static int
ui_filter_json(
    const json_t *in, const struct template_args *args, json_t **ret, struct dr_error *err)
{
	char *s =
	    in != NULL ? json_dumps(in, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;

	*ret = json_string(s != NULL ? s : "");
	free(s);
	return 0;
}

/* GET /: the dashboard. */
static int
ui_dashboard(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *counts = job_counts();
	json_t *vars = json_object(), *bars = json_array(), *recent = NULL, *scheds = NULL;
	static const char *const states[] = {
	    "queued", "running", "succeeded", "failed", "cancelled", "interrupted"};
	struct auth_principal *p = http_request_principal(req);
	json_int_t n[nitems(states)], max = 1;
	const char *kind;
	json_t *by_state, *widgets;
	struct dr_error err;
	int64_t total;
	size_t i;

	for (i = 0; i < nitems(states); i++) {
		n[i] = 0;
		json_object_foreach(counts, kind, by_state) n[i] +=
		    json_integer_value(json_object_get(by_state, states[i]));
		if (n[i] > max)
			max = n[i];
	}
	for (i = 0; i < nitems(states); i++)
		json_array_append_new(bars,
		    json_pack("{s:s, s:I, s:I, s:I}", "state", states[i], "count", n[i], "width",
		        (json_int_t)(n[i] * 300 / max), "y", (json_int_t)(i * 28)));
	json_object_set_new(vars, "bars", bars);
	json_object_set_new(vars, "chart_height", json_integer((json_int_t)(nitems(states) * 28)));
	if (ui_can(req, "jobs", "view")) {
		char *scope = NULL;

		auth_allowed(p, "jobs", "view", &scope);
		if (api_list_query(
		        &api_jobs_resource, NULL, scope, NULL, 1, 10, &recent, &total, &err) == 0)
			json_object_set_new(vars, "recent", recent);
		else
			log_warnx("dashboard: jobs: %s", err.msg);
		free(scope);
	}
	if (ui_can(req, "schedules", "view")) {
		char *scope = NULL;

		auth_allowed(p, "schedules", "view", &scope);
		if (api_list_query(&api_schedules_resource, "enabled = true", scope,
		        "next_run_at asc", 1, 10, &scheds, &total, &err) == 0)
			json_object_set_new(vars, "schedules", scheds);
		else
			log_warnx("dashboard: schedules: %s", err.msg);
		free(scope);
	}
	widgets = json_object();
	for (i = 0; i < ui_nwidgets; i++) {
		json_t *w = ui_widgets[i].fn(req);

		if (w != NULL)
			json_object_set_new(widgets, ui_widgets[i].name, w);
	}
	json_object_set_new(vars, "widgets", widgets);
	ui_render(req, resp, 200, "dashboard.html", "Dashboard", vars);
	return 0;
}

/* Job kinds to suggest: the built-in ones and those already used. */
static json_t *
ui_job_kinds(void)
{
	_cleanup_json_ json_t *rows = NULL;
	json_t *kinds = json_array(), *row;
	struct dr_error err;
	size_t i;

	if (store_query("SELECT kind FROM jobs UNION SELECT kind FROM schedules"
	                " UNION SELECT 'noop' UNION SELECT 'sleep' ORDER BY 1",
	        NULL, &rows, &err) < 0)
		return kinds;
	json_array_foreach(rows, i, row)
	{
		const char *k = json_string_value(json_object_get(row, "kind"));

		if (k != NULL && job_kind_find(k) != NULL && json_array_size(kinds) < 100)
			json_array_append_new(kinds, json_string(k));
	}
	return kinds;
}

/* GET /ui/jobs: the search box, and a state menu that adds "state = X" to it. */
static int
ui_jobs(struct http_request *req, struct http_response *resp)
{
	const char *search = http_request_query(req, "search");
	const char *state = http_request_query(req, "state");
	bool searching = search != NULL && *search != '\0';
	_cleanup_free_ char *combined = NULL;
	json_t *vars;

	/* state is one lower-case word, so it can go into the query as it is. */
	if (state != NULL && *state != '\0' &&
	    strspn(state, "abcdefghijklmnopqrstuvwxyz") == strlen(state) && strlen(state) < 32)
		combined = searching ? xasprintf("(%s) and state = %s", search, state)
		                     : xasprintf("state = %s", state);
	vars = ui_list(req, &api_jobs_resource, combined != NULL ? combined : search);
	json_object_set_new(vars, "search", json_string(searching ? search : ""));
	json_object_set_new(vars, "state", json_string(state != NULL ? state : ""));
	if (state != NULL && *state != '\0') {
		_cleanup_free_ char *q = ui_urlencode(searching ? search : "");
		_cleanup_free_ char *st = ui_urlencode(state);

		json_object_set_new(json_object_get(vars, "pager"), "query",
		    json_sprintf("search=%s&state=%s&", q, st));
	}
	json_object_set_new(vars, "states",
	    json_pack("[ssssss]", "queued", "running", "succeeded", "failed", "cancelled",
	        "interrupted"));
	json_object_set_new(vars, "can_run", json_boolean(ui_can(req, "jobs", "create")));
	json_object_set_new(vars, "kinds", ui_job_kinds());
	ui_render(req, resp, 200, "jobs.html", "Jobs", vars);
	return 0;
}

/* POST /ui/jobs: run a job {kind, params (JSON text)}. */
static int
ui_job_run(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *form = NULL, *params = NULL;
	const char *kind, *text;
	json_error_t jerr;
	struct dr_error err;
	char loc[64];
	int64_t id;

	if (ui_form(req, resp, &form) < 0)
		return 0;
	kind = ui_field(form, "kind");
	text = ui_field(form, "params");
	if (text != NULL && *text != '\0') {
		params = json_loads(text, 0, &jerr);
		if (!json_is_object(params)) {
			ui_error(req, resp, 422, "params: expected a JSON object");
			return 0;
		}
	}
	if (kind == NULL || job_submit(kind, params, http_request_user(req), 0, &id, &err) < 0) {
		ui_error(req, resp, 422, kind == NULL ? "kind: is required" : err.msg);
		return 0;
	}
	store_audit(http_request_user(req), http_request_remote(req), "create", "jobs", kind, NULL,
	    params, NULL);
	snprintf(loc, sizeof loc, "/ui/jobs/%lld", (long long)id);
	http_reply_redirect(resp, loc);
	return 0;
}

/* The :id of a job in the caller's scope, or an error page. */
static int
ui_job_id(struct http_request *req, struct http_response *resp, int64_t *ret)
{
	long long v;

	if (str_to_ll(http_request_param(req, "id"), 1, INT64_MAX, &v) < 0 ||
	    !api_in_scope(req, &api_jobs_resource, v)) {
		ui_error(req, resp, 404, "no such job");
		return -1;
	}
	*ret = v;
	return 0;
}

/* GET /ui/jobs/:id */
static int
ui_job(struct http_request *req, struct http_response *resp)
{
	struct buf out = BUF_INIT(256 * 1024);
	json_t *job, *vars;
	struct dr_error err;
	bool finished = false;
	int64_t id, next = 0;
	char title[64];

	if (ui_job_id(req, resp, &id) < 0)
		return 0;
	if ((job = job_get(id)) == NULL) {
		ui_error(req, resp, 404, "no such job");
		return 0;
	}
	if (job_output_read(id, 0, 256 * 1024, &out, &next, &finished, &err) < 0)
		buf_reset(&out);
	vars = json_pack("{s:o, s:s, s:I, s:b, s:b}", "job", job, "output",
	    out.data != NULL ? out.data : "", "next_offset", (json_int_t)next, "finished",
	    finished, "can_cancel", ui_can(req, "jobs", "cancel"));
	buf_free(&out);
	snprintf(title, sizeof title, "Job %lld", (long long)id);
	ui_render(req, resp, 200, "job.html", title, vars);
	return 0;
}

struct ui_events {
	int64_t id;
	int64_t offset;
	struct buf pending; /* formatted events not yet sent */
	size_t sent;
	bool ended;
};

static void
ui_events_free(void *ctx)
{
	struct ui_events *e = ctx;

	buf_free(&e->pending);
	free(e);
}

/* Format output as SSE "data:" lines (one event per read, id = next byte offset). */
static void
ui_events_format(struct ui_events *e, const char *data, size_t len, int64_t next)
{
	const char *p = data, *end = data + len;

	buf_addf(&e->pending, "id: %lld\n", (long long)next);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		buf_adds(&e->pending, "data: ");
		buf_add(&e->pending, p, n);
		buf_addc(&e->pending, '\n');
		p += n + (nl != NULL ? 1 : 0);
		if (nl != NULL && p == end) /* a final newline: an empty last line */
			buf_adds(&e->pending, "data: \n");
	}
	buf_addc(&e->pending, '\n');
}

/* The SSE reader: output as events, then "end" with the job's state. Never blocks. */
static ssize_t
ui_events_read(void *ctx, uint64_t pos, char *out, size_t max)
{
	struct ui_events *e = ctx;
	struct buf chunk = BUF_INIT(UI_SSE_CHUNK);
	struct dr_error err;
	bool finished = false;
	int64_t next = e->offset;
	size_t n;

	if (e->sent == e->pending.len) {
		buf_reset(&e->pending);
		e->sent = 0;
		if (e->ended)
			return HTTP_STREAM_END;
		if (job_output_read(
		        e->id, e->offset, UI_SSE_CHUNK, &chunk, &next, &finished, &err) < 0) {
			buf_free(&chunk);
			return HTTP_STREAM_ERROR;
		}
		if (chunk.len > 0)
			ui_events_format(e, chunk.data, chunk.len, next);
		buf_free(&chunk);
		e->offset = next;
		if (chunk.len == 0 && finished) {
			json_t *job = job_get(e->id);
			const char *state = json_string_value(json_object_get(job, "state"));

			buf_addf(&e->pending, "event: end\ndata: %s\n\n",
			    state != NULL ? state : "unknown");
			json_decref(job);
			e->ended = true;
		}
		if (e->pending.len == 0)
			return 0;
	}
	n = e->pending.len - e->sent;
	if (n > max)
		n = max;
	memcpy(out, e->pending.data + e->sent, n);
	e->sent += n;
	return (ssize_t)n;
}

/* GET /ui/jobs/:id/events: live output as server-sent events (Last-Event-ID resumes). */
static int
ui_job_events(struct http_request *req, struct http_response *resp)
{
	const char *last = http_request_header(req, "Last-Event-ID");
	struct ui_events *e;
	long long offset = 0;
	int64_t id;

	if (ui_job_id(req, resp, &id) < 0)
		return 0;
	if (last != NULL && str_to_ll(last, 0, INT64_MAX, &offset) < 0)
		offset = 0;
	if (last == NULL && http_request_query(req, "offset") != NULL &&
	    str_to_ll(http_request_query(req, "offset"), 0, INT64_MAX, &offset) < 0)
		offset = 0;
	e = xcalloc(1, sizeof *e);
	e->id = id;
	e->offset = offset;
	buf_init(&e->pending, 0);
	http_reply_stream(
	    resp, "text/event-stream; charset=utf-8", ui_events_read, e, ui_events_free);
	http_reply_header(resp, "Cache-Control", "no-cache");
	return 0;
}

/* POST /ui/jobs/:id/cancel */
static int
ui_job_cancel(struct http_request *req, struct http_response *resp)
{
	struct dr_error err;
	char loc[64], sid[32];
	int64_t id;

	if (ui_job_id(req, resp, &id) < 0)
		return 0;
	if (job_cancel(id, &err) < 0) {
		ui_error(req, resp, 409, err.msg);
		return 0;
	}
	snprintf(sid, sizeof sid, "%lld", (long long)id);
	store_audit(http_request_user(req), http_request_remote(req), "cancel", "jobs", sid, NULL,
	    NULL, NULL);
	snprintf(loc, sizeof loc, "/ui/jobs/%lld", (long long)id);
	http_reply_redirect(resp, loc);
	return 0;
}

/*
 * What every page with a create form needs: the form's values and errors (stolen; NULL
 * for none) and can_<action> for each action the user may take on resource.
 */
void
ui_form_vars(json_t *vars, struct http_request *req, const char *resource,
    const char *const *actions, json_t *form, json_t *errors)
{
	char key[64];

	json_object_set_new(vars, "form", form != NULL ? form : json_object());
	json_object_set_new(vars, "errors", errors != NULL ? errors : json_object());
	for (; *actions != NULL; actions++) {
		snprintf(key, sizeof key, "can_%s", *actions);
		json_object_set_new(vars, key, json_boolean(ui_can(req, resource, *actions)));
	}
}

/* The schedules page, with the form's values and errors when a create failed. */
static void
ui_schedules_page(
    struct http_request *req, struct http_response *resp, int status, json_t *form, json_t *errors)
{
	json_t *vars = ui_list(req, &api_schedules_resource, http_request_query(req, "search"));

	ui_form_vars(vars, req, "schedules", (const char *const[]){ "create", "enable", "delete", NULL },
	    form, errors);
	json_object_set_new(vars, "kinds", ui_job_kinds());
	ui_render(req, resp, status, "schedules.html", "Schedules", vars);
}

/* GET /ui/schedules */
static int
ui_schedules(struct http_request *req, struct http_response *resp)
{
	ui_schedules_page(req, resp, 200, NULL, NULL);
	return 0;
}

/* POST /ui/schedules: create from the form; errors come back beside their fields. */
static int
ui_schedule_create(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *form = NULL, *spec = json_object();
	static const char *const keys[] = {"name", "cron", "tz", "kind", "misfire"};
	const char *text, *msg;
	json_t *errors = json_object(), *params;
	json_error_t jerr;
	struct dr_error err;
	int64_t id;
	int status;

	if (ui_form(req, resp, &form) < 0) {
		json_decref(errors);
		return 0;
	}
	for (size_t i = 0; i < nitems(keys); i++) {
		text = ui_field(form, keys[i]);
		if (text != NULL && *text != '\0')
			json_object_set_new(spec, keys[i], json_string(text));
	}
	text = ui_field(form, "params");
	if (text != NULL && *text != '\0') {
		params = json_loads(text, 0, &jerr);
		if (!json_is_object(params)) {
			json_decref(params);
			json_object_set_new(
			    errors, "params", json_string("expected a JSON object"));
		} else {
			json_object_set_new(spec, "params", params);
		}
	}
	if (json_object_size(errors) == 0) {
		status = api_schedule_add(req, spec, &id, &err);
		if (status == 201) {
			json_decref(errors);
			http_reply_redirect(resp, "/ui/schedules");
			return 0;
		}
		msg = err.msg;
		json_object_set_new(errors,
		    strstr(msg, "cron") != NULL                                      ? "cron"
		        : str_has_prefix(msg, "tz") || strstr(msg, "zone") != NULL   ? "tz"
		        : str_has_prefix(msg, "kind") || strstr(msg, "kind") != NULL ? "kind"
		        : str_has_prefix(msg, "misfire")                             ? "misfire"
		        : str_has_prefix(msg, "params")                              ? "params"
		                                                                     : "name",
		    json_string(msg));
	}
	ui_schedules_page(req, resp, 422, json_incref(form), errors);
	return 0;
}

/* POST /ui/schedules/:id/{enable,disable,delete} */
static int
ui_schedule_action(struct http_request *req, struct http_response *resp)
{
	const char *path = http_request_path(req);
	const char *action = strrchr(path, '/') + 1;
	struct dr_error err;
	long long id;
	int status;

	if (str_to_ll(http_request_param(req, "id"), 1, INT64_MAX, &id) < 0 ||
	    !api_in_scope(req, &api_schedules_resource, id)) {
		ui_error(req, resp, 404, "no such schedule");
		return 0;
	}
	status = api_schedule_act(req, id, action, NULL, &err);
	if (status != 200)
		ui_error(req, resp, status, err.msg);
	else
		http_reply_redirect(resp, "/ui/schedules");
	return 0;
}

/* The users page. */
static void
ui_users_page(
    struct http_request *req, struct http_response *resp, int status, json_t *form, json_t *errors)
{
	json_t *vars = ui_list(req, &api_users_resource, http_request_query(req, "search"));
	json_t *roles = NULL;
	int64_t total;
	struct dr_error err;

	if (api_list_query(&api_roles_resource, NULL, NULL, NULL, 1, 200, &roles, &total, &err) <
	    0)
		roles = json_array();
	json_object_set_new(vars, "roles", roles);
	ui_form_vars(vars, req, "users", (const char *const[]){ "create", "edit", "delete", NULL },
	    form, errors);
	ui_render(req, resp, status, "users.html", "Users", vars);
}

/* GET /ui/users */
static int
ui_users(struct http_request *req, struct http_response *resp)
{
	ui_users_page(req, resp, 200, NULL, NULL);
	return 0;
}

/* POST /ui/users {login, password, role} */
static int
ui_user_create(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *form = NULL, *body = NULL;
	json_t *invalid = json_object(), *user = NULL;
	struct dr_error err;
	int status;

	if (ui_form(req, resp, &form) < 0) {
		json_decref(invalid);
		return 0;
	}
	body = json_pack("{s:s, s:s, s:s}", "login", ui_field(form, "login") ?: "", "password",
	    ui_field(form, "password") ?: "", "role", ui_field(form, "role") ?: "");
	status = api_user_add(req, body, invalid, &user, &err);
	json_decref(user);
	if (status == 201) {
		json_decref(invalid);
		http_reply_redirect(resp, "/ui/users");
		return 0;
	}
	if (json_object_size(invalid) == 0)
		json_object_set_new(invalid, "login", json_string(err.msg));
	json_object_del(form, "password");
	ui_users_page(req, resp, status, json_incref(form), invalid);
	return 0;
}

/* POST /ui/users/:id/edit {role?, password?} and POST /ui/users/:id/delete */
static int
ui_user_change(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *form = NULL, *body = json_object(), *user = NULL;
	_cleanup_json_ json_t *invalid = json_object();
	bool delete = str_has_suffix(http_request_path(req), "/delete");
	const char *v;
	struct dr_error err;
	long long id;
	int status;

	if (str_to_ll(http_request_param(req, "id"), 1, INT64_MAX, &id) < 0) {
		ui_error(req, resp, 404, "no such user");
		return 0;
	}
	if (delete) {
		status = api_user_remove(req, id, &err);
	} else {
		if (ui_form(req, resp, &form) < 0)
			return 0;
		if ((v = ui_field(form, "role")) != NULL && *v != '\0')
			json_object_set_new(body, "role", json_string(v));
		if ((v = ui_field(form, "password")) != NULL && *v != '\0')
			json_object_set_new(body, "password", json_string(v));
		status = api_user_change(req, id, body, invalid, &user, &err);
		if (status == 422) {
			const char *key;
			json_t *m;

			json_object_foreach(invalid, key, m)
			{
				snprintf(
				    err.msg, sizeof err.msg, "%s: %s", key, json_string_value(m));
				break;
			}
		}
	}
	if (status != 200)
		ui_error(req, resp, status, err.msg);
	else
		http_reply_redirect(resp, "/ui/users");
	return 0;
}

/*
 * Permissions typed one per line as "resource action [search…]", e.g.
 * "jobs view kind = noop"; '*' for any resource or action.
 */
static json_t *
ui_perms_parse(const char *text)
{
	json_t *perms = json_array();
	_cleanup_free_ char *copy = xstrdup(text != NULL ? text : "");
	char *p = copy, *line;

	while ((line = strsep(&p, "\n")) != NULL) {
		char *res, *act, *rest = str_trim(line);

		if (*rest == '\0' || *rest == '#')
			continue;
		res = strsep(&rest, " \t");
		while (rest != NULL && (*rest == ' ' || *rest == '\t'))
			rest++;
		act = rest != NULL ? strsep(&rest, " \t") : NULL;
		json_array_append_new(perms,
		    json_pack("{s:s, s:s, s:s}", "resource", res, "action", act != NULL ? act : "",
		        "search", rest != NULL ? str_trim(rest) : ""));
	}
	return perms;
}

/* The roles page. */
static void
ui_roles_page(
    struct http_request *req, struct http_response *resp, int status, json_t *form, json_t *errors)
{
	json_t *vars = ui_list(req, &api_roles_resource, http_request_query(req, "search"));

	ui_form_vars(vars, req, "roles", (const char *const[]){ "create", "edit", "delete", NULL },
	    form, errors);
	json_object_set_new(vars, "resources", api_permissions());
	ui_render(req, resp, status, "roles.html", "Roles", vars);
}

/* GET /ui/roles */
static int
ui_roles(struct http_request *req, struct http_response *resp)
{
	ui_roles_page(req, resp, 200, NULL, NULL);
	return 0;
}

/* POST /ui/roles {name, description, permissions (lines)} */
static int
ui_role_create(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *form = NULL, *body = NULL;
	json_t *invalid = json_object(), *role = NULL;
	struct dr_error err;
	int status;

	if (ui_form(req, resp, &form) < 0) {
		json_decref(invalid);
		return 0;
	}
	body = json_pack("{s:s, s:s, s:o}", "name", ui_field(form, "name") ?: "", "description",
	    ui_field(form, "description") ?: "", "permissions",
	    ui_perms_parse(ui_field(form, "permissions")));
	status = api_role_save(req, 0, body, invalid, &role, &err);
	json_decref(role);
	if (status == 201) {
		json_decref(invalid);
		http_reply_redirect(resp, "/ui/roles");
		return 0;
	}
	if (json_object_size(invalid) == 0)
		json_object_set_new(invalid, "name", json_string(err.msg));
	ui_roles_page(req, resp, status, json_incref(form), invalid);
	return 0;
}

/* POST /ui/roles/:id/edit {description, permissions (lines)}: replaces the permissions. */
static int
ui_role_edit(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *form = NULL, *body = NULL, *role = NULL;
	_cleanup_json_ json_t *invalid = json_object();
	struct dr_error err;
	long long id;
	int status;

	if (str_to_ll(http_request_param(req, "id"), 1, INT64_MAX, &id) < 0) {
		ui_error(req, resp, 404, "no such role");
		return 0;
	}
	if (ui_form(req, resp, &form) < 0)
		return 0;
	body = json_pack("{s:s, s:o}", "description", ui_field(form, "description") ?: "",
	    "permissions", ui_perms_parse(ui_field(form, "permissions")));
	status = api_role_save(req, id, body, invalid, &role, &err);
	if (status == 422) {
		const char *key;
		json_t *m;

		json_object_foreach(invalid, key, m)
		{
			snprintf(err.msg, sizeof err.msg, "%s: %s", key, json_string_value(m));
			break;
		}
	}
	if (status != 200)
		ui_error(req, resp, status, err.msg);
	else
		http_reply_redirect(resp, "/ui/roles");
	return 0;
}

/* POST /ui/roles/:id/delete */
static int
ui_role_delete(struct http_request *req, struct http_response *resp)
{
	struct dr_error err;
	long long id;
	int status;

	if (str_to_ll(http_request_param(req, "id"), 1, INT64_MAX, &id) < 0) {
		ui_error(req, resp, 404, "no such role");
		return 0;
	}
	status = api_role_remove(req, id, &err);
	if (status != 200)
		ui_error(req, resp, status, err.msg);
	else
		http_reply_redirect(resp, "/ui/roles");
	return 0;
}

/* The tokens page; new_token is shown once after creating one. */
static void
ui_tokens_page(struct http_request *req, struct http_response *resp, int status,
    const char *new_token, const char *error)
{
	struct auth_principal *p = http_request_principal(req);
	_cleanup_free_ char *mine = NULL;
	const char *search = http_request_query(req, "search");
	json_t *vars;

	/* Admins see every user's tokens; others their own (the API does the same). */
	if (!auth_allowed(p, "users", "edit", NULL)) {
		_cleanup_free_ char *who = NULL;

		who = xasprintf("\"%s\"", p->user); /* names have no quotes (auth_name_check) */
		mine = search != NULL && *search != '\0'
		    ? xasprintf("(%s) and user = %s", search, who)
		    : xasprintf("user = %s", who);
	}
	vars = ui_list(req, &api_tokens_resource, mine != NULL ? mine : search);
	json_object_set_new(vars, "search", json_string(search != NULL ? search : ""));
	json_object_set_new(
	    vars, "new_token", new_token != NULL ? json_string(new_token) : json_null());
	json_object_set_new(vars, "error", error != NULL ? json_string(error) : json_null());
	ui_render(req, resp, status, "tokens.html", "API tokens", vars);
}

/* GET /ui/tokens */
static int
ui_tokens(struct http_request *req, struct http_response *resp)
{
	ui_tokens_page(req, resp, 200, NULL, NULL);
	return 0;
}

/* POST /ui/tokens {name, expires_in_days}: a token for yourself, shown once. */
static int
ui_token_create(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *form = NULL;
	_cleanup_free_ char *token = NULL;
	const char *name, *days;
	long long d = 0;
	struct dr_error err;

	if (ui_form(req, resp, &form) < 0)
		return 0;
	name = ui_field(form, "name");
	days = ui_field(form, "expires_in_days");
	if (days != NULL && *days != '\0' && str_to_ll(days, 0, 3660, &d) < 0) {
		ui_tokens_page(
		    req, resp, 422, NULL, "expires in: a number of days from 0 to 3660");
		return 0;
	}
	if (auth_token_create(
	        http_request_user(req), name != NULL ? name : "", d * 86400, &token, &err) < 0) {
		ui_tokens_page(req, resp, 422, NULL, err.msg);
		return 0;
	}
	store_audit(http_request_user(req), http_request_remote(req), "create", "tokens", name,
	    NULL, NULL, NULL);
	ui_tokens_page(req, resp, 201, token, NULL);
	return 0;
}

/* POST /ui/tokens/:id/delete: your own token (any for admins). */
static int
ui_token_delete(struct http_request *req, struct http_response *resp)
{
	struct auth_principal *p = http_request_principal(req);
	_cleanup_json_ json_t *row = NULL;
	struct dr_error err;
	long long id;

	if (str_to_ll(http_request_param(req, "id"), 1, INT64_MAX, &id) < 0 ||
	    (row = store_query_one(&err, "SELECT user_id, name FROM api_tokens WHERE id = ?",
	         "[I]", (json_int_t)id)) == NULL ||
	    (json_integer_value(json_object_get(row, "user_id")) != p->user_id &&
	        !auth_allowed(p, "users", "edit", NULL))) {
		ui_error(req, resp, 404, "no such token");
		return 0;
	}
	if (store_execf(NULL, NULL, &err, "DELETE FROM api_tokens WHERE id = ?", "[I]",
	        (json_int_t)id) < 0) {
		ui_error(req, resp, 500, err.msg);
		return 0;
	}
	store_audit(p->user, http_request_remote(req), "delete", "tokens",
	    json_string_value(json_object_get(row, "name")), NULL, NULL, NULL);
	http_reply_redirect(resp, "/ui/tokens");
	return 0;
}

/* GET /ui/audits */
static int
ui_audits(struct http_request *req, struct http_response *resp)
{
	ui_render(req, resp, 200, "audits.html", "Audit",
	    ui_list(req, &api_audits_resource, http_request_query(req, "search")));
	return 0;
}

/* GET /ui/settings: the running configuration, read-only. */
static int
ui_settings(struct http_request *req, struct http_response *resp)
{
	json_t *settings = api_settings_get(), *rows = json_array(), *v;
	const char *key;

	/* Flatten nested keys to "http.threads". */
	json_object_foreach(settings, key, v)
	{
		if (json_is_object(v)) {
			const char *sub;
			json_t *sv;

			json_object_foreach(v, sub, sv) json_array_append_new(rows,
			    json_pack("{s:o, s:O}", "key", json_sprintf("%s.%s", key, sub),
			        "value", sv));
		} else {
			json_array_append_new(
			    rows, json_pack("{s:s, s:O}", "key", key, "value", v));
		}
	}
	json_decref(settings);
	ui_render(req, resp, 200, "settings.html", "Settings", json_pack("{s:o}", "rows", rows));
	return 0;
}

static const struct http_route ui_routes[] = {
    {"GET", "/static/*", ui_static, HTTP_PUBLIC, "static"},
    {"GET", "/login", ui_login_show, HTTP_PUBLIC | HTTP_HTML, "login"},
    {"POST", "/login", ui_login_submit, HTTP_PUBLIC | HTTP_HTML, "login"},
    {"POST", "/logout", ui_logout, HTTP_HTML, "logout"},
    {"GET", "/", ui_dashboard, HTTP_HTML, "ui_dashboard"},
    {"GET", "/ui/jobs", ui_jobs, HTTP_HTML, "ui_jobs"},
    {"POST", "/ui/jobs", ui_job_run, HTTP_HTML, "ui_jobs"},
    {"GET", "/ui/jobs/:id", ui_job, HTTP_HTML, "ui_job"},
    {"GET", "/ui/jobs/:id/events", ui_job_events, HTTP_HTML, "ui_job_events"},
    {"POST", "/ui/jobs/:id/cancel", ui_job_cancel, HTTP_HTML, "ui_job_cancel"},
    {"GET", "/ui/schedules", ui_schedules, HTTP_HTML, "ui_schedules"},
    {"POST", "/ui/schedules", ui_schedule_create, HTTP_HTML, "ui_schedules"},
    {"POST", "/ui/schedules/:id/enable", ui_schedule_action, HTTP_HTML, "ui_schedule_act"},
    {"POST", "/ui/schedules/:id/disable", ui_schedule_action, HTTP_HTML, "ui_schedule_act"},
    {"POST", "/ui/schedules/:id/delete", ui_schedule_action, HTTP_HTML, "ui_schedule_act",
        "schedules", "delete"},
    {"GET", "/ui/users", ui_users, HTTP_HTML, "ui_users"},
    {"POST", "/ui/users", ui_user_create, HTTP_HTML, "ui_users"},
    {"POST", "/ui/users/:id/edit", ui_user_change, HTTP_HTML, "ui_user_change"},
    {"POST", "/ui/users/:id/delete", ui_user_change, HTTP_HTML, "ui_user_change", "users",
        "delete"},
    {"GET", "/ui/roles", ui_roles, HTTP_HTML, "ui_roles"},
    {"POST", "/ui/roles", ui_role_create, HTTP_HTML, "ui_roles"},
    {"POST", "/ui/roles/:id/edit", ui_role_edit, HTTP_HTML, "ui_role_edit", "roles", "edit"},
    {"POST", "/ui/roles/:id/delete", ui_role_delete, HTTP_HTML, "ui_role_delete", "roles",
        "delete"},
    {"GET", "/ui/tokens", ui_tokens, HTTP_HTML, "ui_tokens"},
    {"POST", "/ui/tokens", ui_token_create, HTTP_HTML, "ui_tokens"},
    {"POST", "/ui/tokens/:id/delete", ui_token_delete, HTTP_HTML, "ui_token_delete", "tokens",
        "delete"},
    {"GET", "/ui/audits", ui_audits, HTTP_HTML, "ui_audits"},
    {"GET", "/ui/settings", ui_settings, HTTP_HTML, "ui_settings"},
};

/* Compile the templates, install the pages and the navigation. */
void
ui_init(void)
{
	static bool filters;

	if (!filters) {
		template_filter_register("ui_time", ui_filter_time, true);
		template_filter_register("ui_json", ui_filter_json, true);
		filters = true;
	}
	ui_templates_compile();
	if (ui_nnav == 0)
		ui_nav_add(ui_nav_base, nitems(ui_nav_base));
	http_routes_add(ui_routes, nitems(ui_routes));
}
