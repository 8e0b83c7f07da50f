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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"
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

/* GET /ui/job_invocations: remote execution, patch and drift runs, newest first. */
static int
jobs_ui_runs(struct http_request *req, struct http_response *resp)
{
	json_t *all = json_array(), *rows = NULL;
	struct dr_error err;
	int64_t total;
	size_t i;

	for (i = 0; i < nitems(jobs_ui_run_kinds); i++) {
		_cleanup_json_ json_t *filter = json_pack("{s:s}", "kind", jobs_ui_run_kinds[i]);
		if (job_list(filter, 50, 0, &rows, &total, &err) < 0) {
			json_decref(all);
			ui_error(req, resp, 500, err.msg);
			return 0;
		}
		json_array_extend(all, rows);
		json_decref(rows);
	}
	ui_render(req, resp, 200, "job_runs.html", "Job invocations",
	    json_pack("{s:o, s:o?}", "rows", all, "run", NULL));
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
    {"GET", "/ui/job_invocations", jobs_ui_runs, HTTP_HTML, "ui_job_invocations", "jobs", "view"},
    {"GET", "/ui/job_invocations/:id", jobs_ui_run, HTTP_HTML, "ui_job_invocation", "jobs",
        "view"},
    {"POST", "/ui/job_invocations/:id/rerun", jobs_ui_run_rerun, HTTP_HTML,
        "ui_job_invocation_rerun", "job_invocations", "create"},
    {"GET", "/ui/drift", jobs_ui_drift, HTTP_HTML, "ui_drift", "hosts", "view"},
    {"POST", "/ui/drift/check", jobs_ui_drift_check, HTTP_HTML, "ui_drift_check", "jobs",
        "create"},
};

static const struct ui_nav jobs_ui_nav[] = {
    {"Job invocations", "/ui/job_invocations", "jobs", 11},
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
