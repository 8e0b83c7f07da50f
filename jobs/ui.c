/*
 * ui.c - the jobs pages: sync plans (list with next runs, create and edit forms, enable,
 * disable, sync now, delete); job invocations (remote execution, patch and drift runs:
 * each host's result and output, errata applied with package versions before and after
 * and reboots, re-run on the failed hosts); drift (hosts drifted with their diffs, check
 * now). Forms call the same functions as the REST handlers in
 * api.c, so both give the same answers and the same audit.
 */
#define LOG_COMPONENT "jobs"
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"
#include "provisioner/provisioner.h"
#include "repos/repos.h"
#include "webui/webui.h"

/* The sync plans page (or one plan's edit page when plan is not NULL). */
static void
jobs_ui_plans_page(struct http_request *req, struct http_response *resp, int status, json_t *plan,
    json_t *form, json_t *errors)
{
	json_t *rows = NULL, *repos = NULL, *products = NULL, *vars;
	struct dr_error err;

	if (jobs_syncplan_list(&rows, &err) < 0 || repo_list(NULL, &repos, &err) < 0 ||
	    repo_product_list(&products, &err) < 0) {
		json_decref(rows);
		json_decref(repos);
		json_decref(plan);
		json_decref(form);
		json_decref(errors);
		ui_error(req, resp, 500, err.msg);
		return;
	}
	vars = json_pack("{s:o, s:o, s:o, s:o, s:[ssss]}", "rows", rows, "repositories", repos,
	    "products", products, "plan", plan ? plan : json_null(), "intervals", "hourly",
	    "daily", "weekly", "custom");
	ui_form_vars(vars, req, "sync_plans",
	    (const char *const[]){"create", "edit", "delete", "sync", NULL}, form, errors);
	ui_render(req, resp, status, "sync_plans.html",
	    plan ? json_string_value(json_object_get(plan, "name")) : "Sync plans", vars);
}

/* GET /ui/sync_plans */
static int
jobs_ui_plans(struct http_request *req, struct http_response *resp)
{
	jobs_ui_plans_page(req, resp, 200, NULL, NULL, NULL);
	return 0;
}

/* GET /ui/sync_plans/:id: the plan, its next runs and its edit form. */
static int
jobs_ui_plan(struct http_request *req, struct http_response *resp)
{
	json_t *plan = jobs_syncplan_get(http_request_param(req, "id"));

	if (plan == NULL) {
		ui_error(req, resp, 404, "no such sync plan");
		return 0;
	}
	jobs_ui_plans_page(req, resp, 200, plan, NULL, NULL);
	return 0;
}

/* A form field that may repeat (checkboxes) as a JSON array of strings. */
static json_t *
jobs_ui_multi(const json_t *form, const char *name)
{
	const json_t *v = json_object_get(form, name);

	if (json_is_string(v))
		return json_pack("[O]", v);
	return json_is_array(v) ? json_deep_copy(v) : json_array();
}

/* The plan body of a form: empty text fields are left out. */
static json_t *
jobs_ui_plan_body(const json_t *form, bool create)
{
	static const char *const keys[] = {
	    "name", "description", "interval", "cron_expression", "sync_date", "time_zone"};
	json_t *body = json_object();
	size_t i;

	for (i = 0; i < nitems(keys); i++) {
		const char *v = ui_field(form, keys[i]);
		if (v != NULL && v[strspn(v, " \t\r\n")] != '\0')
			json_object_set_new(body, keys[i], json_string(v));
	}
	if (create || json_object_get(form, "lists") != NULL) {
		json_object_set_new(body, "repository_ids", jobs_ui_multi(form, "repository_ids"));
		json_object_set_new(body, "product_ids", jobs_ui_multi(form, "product_ids"));
	}
	return body;
}

/* POST /ui/sync_plans (create) and /ui/sync_plans/:id (update). */
static int
jobs_ui_plan_save(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *form = NULL, *body = NULL, *out = NULL;
	json_t *invalid = json_object();
	const char *id = http_request_param(req, "id");
	struct dr_error err;
	char to[64];
	int r;

	if (ui_form(req, resp, &form) < 0) {
		json_decref(invalid);
		return 0;
	}
	body = jobs_ui_plan_body(form, id == NULL);
	r = jobs_syncplan_save(
	    id, body, http_request_user(req), http_request_remote(req), invalid, &out, &err);
	if (r == -422) {
		jobs_ui_plans_page(
		    req, resp, 422, id ? jobs_syncplan_get(id) : NULL, json_incref(form), invalid);
		return 0;
	}
	json_decref(invalid);
	if (r < 0) {
		ui_error(req, resp, r == -404 ? 404 : 500, err.msg);
		return 0;
	}
	snprintf(to, sizeof to, "/ui/sync_plans/%lld",
	    (long long)json_integer_value(json_object_get(out, "id")));
	http_reply_redirect(resp, to);
	return 0;
}

/* POST /ui/sync_plans/:id/enable|disable|sync|delete */
static int
jobs_ui_plan_act(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *form = NULL, *out = NULL;
	const char *id = http_request_param(req, "id");
	const char *path = http_request_path(req), *verb = strrchr(path, '/') + 1;
	struct dr_error err;
	char to[64];
	int64_t jid;
	int r;

	if (ui_form(req, resp, &form) < 0)
		return 0;
	if (strcmp(verb, "sync") == 0) {
		if ((r = jobs_syncplan_run_now(id, http_request_user(req), &jid, &err)) == 0) {
			jobs_wake();
			snprintf(to, sizeof to, "/ui/jobs/%lld", (long long)jid);
		}
	} else if (strcmp(verb, "delete") == 0) {
		r = jobs_syncplan_delete(
		    id, http_request_user(req), http_request_remote(req), &err);
		snprintf(to, sizeof to, "/ui/sync_plans");
	} else {
		r = jobs_syncplan_enable(id, strcmp(verb, "enable") == 0, http_request_user(req),
		    http_request_remote(req), &out, &err);
		snprintf(to, sizeof to, "/ui/sync_plans");
	}
	if (r < 0) {
		ui_error(req, resp, r == -404 ? 404 : r == -409 ? 409 : 500, err.msg);
		return 0;
	}
	http_reply_redirect(resp, to);
	return 0;
}

/* The kinds the runs pages show. */
static const char *const jobs_ui_run_kinds[] = {"remote_execution", "patch_run", "drift_check"};

/* GET /ui/job_invocations: remote execution, patch and drift runs, newest first, with
 * the search language and paging of GET /api/v2/job_invocations. */
static int
jobs_ui_runs(struct http_request *req, struct http_response *resp)
{
	json_t *vars = ui_list(req, &jobs_api_invocations, http_request_query(req, "search"));

	json_object_set_new(vars, "run", json_null());
	json_object_set_new(
	    vars, "can_run", json_boolean(ui_can(req, "job_invocations", "create")));
	json_object_set_new(vars, "can_patch", json_boolean(ui_can(req, "patch_runs", "create")));
	ui_render(req, resp, 200, "job_runs.html", "Job invocations", vars);
	return 0;
}

/* A form's text field with blanks around it cut, NULL when absent or blank. */
static char *
jobs_ui_text(const json_t *form, const char *name)
{
	const char *v = ui_field(form, name);
	char *t;

	if (v == NULL)
		return NULL;
	t = str_trim(xstrdup(v));
	if (*t == '\0') {
		free(t);
		return NULL;
	}
	return t;
}

/* Copy a text field into body under key (absent when blank). */
static void
jobs_ui_set_text(json_t *body, const char *key, const json_t *form, const char *name)
{
	_cleanup_free_ char *v = jobs_ui_text(form, name);

	if (v != NULL)
		json_object_set_new(body, key, json_string(v));
}

/* Copy an integer field into body: a number when it reads as one, else the text as typed
 * (the checker the API uses then says what it expects); absent when blank. */
static void
jobs_ui_set_int(json_t *body, const char *key, const json_t *form, const char *name)
{
	_cleanup_free_ char *v = jobs_ui_text(form, name);
	long long x;

	if (v == NULL)
		return;
	if (str_to_ll(v, INT32_MIN, INT32_MAX, &x) == 0)
		json_object_set_new(body, key, json_integer(x));
	else
		json_object_set_new(body, key, json_string(v));
}

/* A list typed as text (commas, spaces or new lines between items) as a JSON array of
 * strings; NULL when blank. */
static json_t *
jobs_ui_words(const json_t *form, const char *name)
{
	_cleanup_free_ char *v = jobs_ui_text(form, name);
	json_t *list;
	char *w, *save = NULL;

	if (v == NULL)
		return NULL;
	list = json_array();
	for (w = strtok_r(v, ", \t\r\n", &save); w; w = strtok_r(NULL, ", \t\r\n", &save))
		json_array_append_new(list, json_string(w));
	return list;
}

/* The selection fields of both forms: a search query or a hostgroup. */
static void
jobs_ui_selection(json_t *body, const json_t *form)
{
	jobs_ui_set_text(body, "search", form, "search");
	jobs_ui_set_text(body, "hostgroup", form, "hostgroup");
	if (json_object_get(form, "become") != NULL)
		json_object_set_new(body, "become", json_true());
	jobs_ui_set_text(body, "become_user", form, "become_user");
	jobs_ui_set_text(body, "become_method", form, "become_method");
	jobs_ui_set_int(body, "concurrency", form, "concurrency");
	jobs_ui_set_int(body, "max_fail_percent", form, "max_fail_percent");
	jobs_ui_set_int(body, "timeout", form, "timeout");
}

/*
 * The checker's field names as the form's ("window.cron" -> "window_cron",
 * "errata.cves[2]" -> "errata_cves", "hosts" -> "search"); renamed maps one more name
 * (NULL-terminated pairs).
 */
static json_t *
jobs_ui_errors(json_t *invalid, const char *const *renamed)
{
	json_t *out = json_object(), *v;
	const char *k;

	json_object_foreach(invalid, k, v)
	{
		_cleanup_free_ char *f = xstrndup(k, strcspn(k, "["));
		for (char *c = f; *c; c++)
			if (*c == '.')
				*c = '_';
		const char *name = f;
		if (strcmp(f, "hosts") == 0)
			name = "search";
		else if (strcmp(f, "window") == 0)
			name = "window_cron";
		else if (strcmp(f, "errata") == 0)
			name = "errata_ids";
		for (const char *const *r = renamed; r != NULL && *r != NULL; r += 2)
			if (strcmp(f, r[0]) == 0)
				name = r[1];
		if (json_object_get(out, name) == NULL)
			json_object_set(out, name, v);
	}
	json_decref(invalid);
	return out;
}

/* The choices the run forms offer: library playbooks and hostgroups. */
static json_t *
jobs_ui_choices(void)
{
	json_t *pbs = NULL, *hgs = NULL;
	int64_t total, sub;
	struct dr_error err;

	if (jobs_library_list(&pbs, &err) < 0)
		pbs = json_array();
	if (prov_resource_list(
	        prov_resource_find("hostgroup"), NULL, 1000, 0, &hgs, &total, &sub, &err) < 0)
		hgs = json_array();
	return json_pack("{s:o, s:o}", "playbooks", pbs, "hostgroups", hgs);
}

/* The "Run job" or "New patch run" page (tpl), with the typed values and errors. */
static void
jobs_ui_new_page(struct http_request *req, struct http_response *resp, int status, const char *tpl,
    const char *title, json_t *form, json_t *errors)
{
	json_t *vars = jobs_ui_choices();

	json_object_set_new(vars, "reboots", json_pack("[sss]", "never", "if_needed", "always"));
	json_object_set_new(
	    vars, "types", json_pack("[sss]", "security", "bugfix", "enhancement"));
	json_object_set_new(
	    vars, "severities", json_pack("[ssss]", "Critical", "Important", "Moderate", "Low"));
	ui_form_vars(vars, req, "job_invocations", (const char *const[]){NULL}, form, errors);
	ui_render(req, resp, status, tpl, title, vars);
}

/* GET /ui/job_invocations/new: the "Run job" form. */
static int
jobs_ui_run_new(struct http_request *req, struct http_response *resp)
{
	jobs_ui_new_page(req, resp, 200, "job_run_new.html", "Run job", NULL, NULL);
	return 0;
}

/* GET /ui/patch_runs/new: the "New patch run" form. */
static int
jobs_ui_patch_new(struct http_request *req, struct http_response *resp)
{
	jobs_ui_new_page(req, resp, 200, "patch_run_new.html", "New patch run", NULL, NULL);
	return 0;
}

/*
 * Check a form's body with the API's checker (kind: remote_execution or patch_run),
 * submit it as the API does and go to the run's page; a 422 with the errors beside the
 * fields otherwise.
 */
static void
jobs_ui_submit(struct http_request *req, struct http_response *resp, const char *kind,
    json_t *form, json_t *body, const char *const *renamed, json_t *invalid)
{
	bool rx = strcmp(kind, "remote_execution") == 0;
	_cleanup_json_ json_t *params = NULL;
	struct dr_error err = {{0}};
	int64_t id;
	char to[64];
	int r = json_object_size(invalid) > 0 ? -1
	    : rx ? jobs_remote_params_as(body, http_request_user(req), http_request_remote(req),
	               &params, invalid, &err)
	                                      : jobs_patch_params(body, &params, invalid, &err);

	if (r < 0 && json_object_size(invalid) > 0) {
		jobs_ui_new_page(req, resp, 422, rx ? "job_run_new.html" : "patch_run_new.html",
		    rx ? "Run job" : "New patch run", json_incref(form),
		    jobs_ui_errors(invalid, renamed));
		return;
	}
	json_decref(invalid);
	if (r < 0 || jobs_invocation_submit(req, kind, params, &id, &err) < 0) {
		ui_error(req, resp, 500, err.msg);
		return;
	}
	snprintf(to, sizeof to, "/ui/job_invocations/%lld", (long long)id);
	http_reply_redirect(resp, to);
}

/* POST /ui/job_invocations: run a command, a library playbook or a playbook from git. */
static int
jobs_ui_run_create(struct http_request *req, struct http_response *resp)
{
	static const char *const renamed[] = {"playbook_yaml", "command", NULL};
	static const char *const git_renamed[] = {"playbook", "git", NULL};
	_cleanup_json_ json_t *form = NULL, *body = json_object();
	json_t *invalid = json_object();

	if (ui_form(req, resp, &form) < 0) {
		json_decref(invalid);
		return 0;
	}
	_cleanup_free_ char *git = jobs_ui_text(form, "git");
	_cleanup_free_ char *pb = jobs_ui_text(form, "playbook");
	jobs_ui_set_text(body, "command", form, "command");
	if (pb != NULL && git != NULL)
		json_object_set_new(invalid, "git",
		    json_string("choose a library playbook or a git URL, not both"));
	else if (git != NULL) {
		json_object_set_new(body, "playbook",
		    str_has_prefix(git, "git+") ? json_string(git) : json_sprintf("git+%s", git));
		/* a form shown again never carries the URL's password back */
		_cleanup_free_ char *shown = jobs_git_redact(git);
		json_object_set_new(form, "git", json_string(shown));
	}
	else if (pb != NULL)
		json_object_set_new(body, "playbook", json_string(pb));
	jobs_ui_set_text(body, "credential", form, "credential");
	jobs_ui_selection(body, form);
	jobs_ui_set_int(body, "batch_size", form, "batch_size");
	jobs_ui_submit(
	    req, resp, "remote_execution", form, body, git ? git_renamed : renamed, invalid);
	return 0;
}

/* POST /ui/patch_runs: apply errata to the hosts of a selection in batches. */
static int
jobs_ui_patch_create(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *form = NULL, *body = json_object(), *errata = json_object();
	static const char *const lists[] = {"ids", "cves"};
	json_t *invalid = json_object(), *l;

	if (ui_form(req, resp, &form) < 0) {
		json_decref(invalid);
		return 0;
	}
	for (size_t i = 0; i < nitems(lists); i++) {
		char name[32];
		snprintf(name, sizeof name, "errata_%s", lists[i]);
		if ((l = jobs_ui_words(form, name)) != NULL)
			json_object_set_new(errata, lists[i], l);
	}
	if (json_object_get(form, "errata_types") != NULL)
		json_object_set_new(errata, "types", jobs_ui_multi(form, "errata_types"));
	if (json_object_get(form, "errata_severities") != NULL)
		json_object_set_new(
		    errata, "severities", jobs_ui_multi(form, "errata_severities"));
	if (json_object_size(errata) > 0)
		json_object_set(body, "errata", errata);
	jobs_ui_selection(body, form);
	jobs_ui_set_int(body, "batch_size", form, "batch_size");
	jobs_ui_set_int(body, "batch_percent", form, "batch_percent");
	_cleanup_free_ char *cron = jobs_ui_text(form, "window_cron");
	_cleanup_free_ char *tz = jobs_ui_text(form, "window_tz");
	_cleanup_free_ char *dur = jobs_ui_text(form, "window_duration");
	if (cron != NULL || tz != NULL || dur != NULL) {
		json_t *w = json_object();
		jobs_ui_set_text(w, "cron", form, "window_cron");
		jobs_ui_set_text(w, "tz", form, "window_tz");
		jobs_ui_set_int(w, "duration", form, "window_duration");
		json_object_set_new(body, "window", w);
	}
	jobs_ui_set_text(body, "pre", form, "pre");
	jobs_ui_set_text(body, "post", form, "post");
	jobs_ui_set_text(body, "reboot", form, "reboot");
	jobs_ui_submit(req, resp, "patch_run", form, body, NULL, invalid);
	return 0;
}

/* The :id of a runs page as a job of one of the run kinds, or an error page. */
static json_t *
jobs_ui_run_job(struct http_request *req, struct http_response *resp)
{
	long long id;
	json_t *job = NULL;
	size_t i;
	bool ok = false;

	if (str_to_ll(http_request_param(req, "id"), 1, INT64_MAX, &id) == 0)
		job = job_get(id);
	for (i = 0; job != NULL && i < nitems(jobs_ui_run_kinds); i++)
		ok |= strcmp(json_string_value(json_object_get(job, "kind")),
		          jobs_ui_run_kinds[i]) == 0;
	if (!ok) {
		json_decref(job);
		ui_error(req, resp, 404, "no such job invocation");
		return NULL;
	}
	return job;
}

/* GET /ui/job_invocations/:id: each host's result and output (patch runs: errata applied,
 * package versions before and after, reboots; drift: the changes). */
static int
jobs_ui_run(struct http_request *req, struct http_response *resp)
{
	json_t *job = jobs_ui_run_job(req, resp), *vars, *it;
	size_t i, failed = 0;
	char title[64];

	if (job == NULL)
		return 0;
	json_array_foreach(json_object_get(job, "items"), i, it)
	{
		const char *st = json_string_value(json_object_get(it, "state"));
		failed +=
		    st != NULL && (strcmp(st, "failed") == 0 || strcmp(st, "unreachable") == 0);
	}
	snprintf(title, sizeof title, "Job invocation %lld",
	    (long long)json_integer_value(json_object_get(job, "id")));
	vars = json_pack("{s:o, s:I}", "run", job, "failed_hosts", (json_int_t)failed);
	ui_form_vars(
	    vars, req, "job_invocations", (const char *const[]){"create", NULL}, NULL, NULL);
	ui_render(req, resp, 200, "job_runs.html", title, vars);
	return 0;
}

/* POST /ui/job_invocations/:id/rerun: the failed and unreachable hosts again. */
static int
jobs_ui_run_rerun(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *form = NULL, *job = NULL, *params = NULL;
	struct dr_error err;
	int64_t jid;
	char to[64];
	int r;

	if (ui_form(req, resp, &form) < 0 || (job = jobs_ui_run_job(req, resp)) == NULL)
		return 0;
	r = jobs_remote_rerun_params(
	    json_integer_value(json_object_get(job, "id")), true, &params, &err);
	if (r < 0) {
		ui_error(req, resp, r == -409 ? 409 : r == -404 ? 404 : 500, err.msg);
		return 0;
	}
	if (job_submit("remote_execution", params, http_request_user(req), 0, &jid, &err) < 0) {
		ui_error(req, resp, 500, err.msg);
		return 0;
	}
	jobs_wake();
	store_audit(http_request_user(req), http_request_remote(req), "submit", "job_invocation",
	    http_request_param(req, "id"), NULL, params, NULL);
	snprintf(to, sizeof to, "/ui/job_invocations/%lld", (long long)jid);
	http_reply_redirect(resp, to);
	return 0;
}

/* GET /ui/drift: hosts checked for drift, drifted first, with their diffs. */
static int
jobs_ui_drift(struct http_request *req, struct http_response *resp)
{
	json_t *rows = NULL, *vars;
	struct dr_error err;

	json_t *r;
	size_t i;

	if (jobs_drift_list(&rows, &err) < 0) {
		ui_error(req, resp, 500, err.msg);
		return 0;
	}
	/* Drifted hosts come first and are the ones with changes to show. */
	json_array_foreach(rows, i, r)
	{
		_cleanup_json_ json_t *d = NULL;
		if (!json_is_true(json_object_get(r, "drifted")))
			break;
		d = jobs_drift_get(json_integer_value(json_object_get(r, "host_id")));
		if (d != NULL)
			json_object_set(r, "changes", json_object_get(d, "changes"));
	}
	vars = json_pack("{s:o}", "rows", rows);
	json_object_set_new(vars, "can_check", json_boolean(ui_can(req, "jobs", "create")));
	ui_form_vars(vars, req, "hosts", (const char *const[]){NULL}, NULL, NULL);
	ui_render(req, resp, 200, "drift.html", "Drift", vars);
	return 0;
}

/* POST /ui/drift/check: a drift check of every host with playbooks, now. */
static int
jobs_ui_drift_check(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *form = NULL, *params = json_object();
	struct dr_error err;
	int64_t jid;
	char to[64];

	if (ui_form(req, resp, &form) < 0)
		return 0;
	if (job_submit("drift_check", params, http_request_user(req), 0, &jid, &err) < 0) {
		ui_error(req, resp, 500, err.msg);
		return 0;
	}
	jobs_wake();
	store_audit(http_request_user(req), http_request_remote(req), "submit", "drift_check",
	    NULL, NULL, params, NULL);
	snprintf(to, sizeof to, "/ui/job_invocations/%lld", (long long)jid);
	http_reply_redirect(resp, to);
	return 0;
}

static const struct http_route jobs_ui_routes[] = {
    {"GET", "/ui/sync_plans", jobs_ui_plans, HTTP_HTML, "ui_sync_plans", "sync_plans", "view"},
    {"POST", "/ui/sync_plans", jobs_ui_plan_save, HTTP_HTML, "ui_sync_plans", "sync_plans",
        "create"},
    {"GET", "/ui/sync_plans/:id", jobs_ui_plan, HTTP_HTML, "ui_sync_plan", "sync_plans", "view"},
    {"POST", "/ui/sync_plans/:id", jobs_ui_plan_save, HTTP_HTML, "ui_sync_plan", "sync_plans",
        "edit"},
    {"POST", "/ui/sync_plans/:id/enable", jobs_ui_plan_act, HTTP_HTML, "ui_sync_plan_enable",
        "sync_plans", "edit"},
    {"POST", "/ui/sync_plans/:id/disable", jobs_ui_plan_act, HTTP_HTML, "ui_sync_plan_disable",
        "sync_plans", "edit"},
    {"POST", "/ui/sync_plans/:id/sync", jobs_ui_plan_act, HTTP_HTML, "ui_sync_plan_sync",
        "sync_plans", "sync"},
    {"POST", "/ui/sync_plans/:id/delete", jobs_ui_plan_act, HTTP_HTML, "ui_sync_plan_delete",
        "sync_plans", "delete"},
    {"GET", "/ui/job_invocations", jobs_ui_runs, HTTP_HTML, "ui_job_invocations",
        "job_invocations", "view"},
    {"GET", "/ui/job_invocations/new", jobs_ui_run_new, HTTP_HTML, "ui_job_invocation_new",
        "job_invocations", "create"},
    {"POST", "/ui/job_invocations", jobs_ui_run_create, HTTP_HTML, "ui_job_invocations",
        "job_invocations", "create"},
    {"GET", "/ui/patch_runs/new", jobs_ui_patch_new, HTTP_HTML, "ui_patch_run_new", "patch_runs",
        "create"},
    {"POST", "/ui/patch_runs", jobs_ui_patch_create, HTTP_HTML, "ui_patch_runs", "patch_runs",
        "create"},
    {"GET", "/ui/job_invocations/:id", jobs_ui_run, HTTP_HTML, "ui_job_invocation", "jobs",
        "view"},
    {"POST", "/ui/job_invocations/:id/rerun", jobs_ui_run_rerun, HTTP_HTML,
        "ui_job_invocation_rerun", "job_invocations", "create"},
    {"GET", "/ui/drift", jobs_ui_drift, HTTP_HTML, "ui_drift", "hosts", "view"},
    {"POST", "/ui/drift/check", jobs_ui_drift_check, HTTP_HTML, "ui_drift_check", "jobs",
        "create"},
};

static const struct ui_nav jobs_ui_nav[] = {
    {"Job invocations", "/ui/job_invocations", "job_invocations", 11},
    {"Drift", "/ui/drift", "hosts", 12},
    {"Sync plans", "/ui/sync_plans", "sync_plans", 53},
};

/* Install the jobs pages and their navigation; before http_server_start. */
void
jobs_ui_init(void)
{
	static bool nav;

	if (!nav) {
		ui_nav_add(jobs_ui_nav, nitems(jobs_ui_nav));
		nav = true;
	}
	http_routes_add(jobs_ui_routes, nitems(jobs_ui_routes));
}
