/* api.c - REST routes of remote execution, the playbook library, droverd's SSH key and
 * what jobs record per host (SSH host keys, accept-new, package profiles). */
#define LOG_COMPONENT "jobs"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"
#include "provisioner/provisioner.h"
#include "webui/webui.h"

/* The body as a JSON object, or a 400 reply. */
static int
jobs_api_body(struct http_request *req, struct http_response *resp, json_t **ret)
{
	struct dr_error err;

	if (http_request_json(req, ret, &err) < 0) {
		http_reply_error(resp, 400, "%s", err.msg);
		return -1;
	}
	if (!json_is_object(*ret)) {
		json_decref(*ret);
		*ret = NULL;
		http_reply_error(resp, 400, "expected a JSON object");
		return -1;
	}
	return 0;
}

/* 422 with each field's message, also in the summary (what the CLI prints). */
static void
jobs_api_invalid(struct http_response *resp, json_t *invalid)
{
	struct buf sum = BUF_INIT(4096);
	const char *k;
	json_t *v;

	json_object_foreach(invalid, k, v)
	    buf_addf(&sum, "%s%s: %s", sum.len ? "; " : "", k, json_string_value(v));
	api_reply_invalid(resp, json_incref(invalid), sum.data ? sum.data : "invalid request");
	buf_free(&sum);
}

/* A failure code of the jobs functions (-404, -409, -422, else 500) as a reply. */
static void
jobs_api_fail(struct http_response *resp, int code, const struct dr_error *err)
{
	http_reply_error(resp, -code >= 400 && -code < 600 ? -code : 500, "%s", err->msg);
}

/* GET /api/v2/settings/ssh_key: droverd's public key, to authorize on hosts. */
static int
jobs_api_ssh_key(struct http_request *req, struct http_response *resp)
{
	const char *pub = jobs_identity_public();

	if (pub == NULL) {
		http_reply_error(resp, 503, "droverd's SSH key is not loaded yet");
		return 0;
	}
	http_reply_json(
	    resp, 200, json_pack("{s:s, s:s}", "public_key", pub, "path", jobs_identity_path()));
	return 0;
}

/* GET and PUT /api/v2/hosts/:id/ssh: the recorded host keys and the accept-new setting. */
static int
jobs_api_host_ssh(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL, *out = NULL;
	const char *id = http_request_param(req, "id");
	const char *keys = NULL;
	struct dr_error err;
	int accept = -1, r;

	if (strcmp(http_request_method(req), "PUT") == 0) {
		if (jobs_api_body(req, resp, &body) < 0)
			return 0;
		const char *k;
		json_t *v;
		json_object_foreach(body, k, v)
		{
			if (strcmp(k, "ssh_host_key") == 0 && json_is_string(v))
				keys = json_string_value(v);
			else if (strcmp(k, "ssh_accept_new") == 0 && json_is_boolean(v))
				accept = json_is_true(v);
			else {
				api_reply_invalid(resp,
				    json_pack("{s:s}", k,
				        strcmp(k, "ssh_host_key") == 0
				            ? "expected OpenSSH public key text"
				            : strcmp(k, "ssh_accept_new") == 0
				            ? "expected true or false"
				            : "unknown field"),
				    "invalid SSH settings");
				return 0;
			}
		}
	}
	r = jobs_host_ssh_set(
	    id, keys, accept, http_request_user(req), http_request_remote(req), &out, &err);
	if (r == -422) {
		api_reply_invalid(resp, json_pack("{s:s}", "ssh_host_key", err.msg), err.msg);
		return 0;
	}
	if (r < 0) {
		jobs_api_fail(resp, r, &err);
		return 0;
	}
	http_reply_json(resp, 200, TAKE_PTR(out));
	return 0;
}

/* GET /api/v2/hosts/:id/package_profile */
static int
jobs_api_host_profile(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *host =
	    prov_resource_get(prov_resource_find("host"), http_request_param(req, "id"));
	json_t *p;

	if (host == NULL) {
		http_reply_error(resp, 404, "no host '%s'", http_request_param(req, "id"));
		return 0;
	}
	struct dr_error err;
	_cleanup_json_ json_t *ids = json_pack("[O]", json_object_get(host, "id"));
	if (jobs_targets_refresh(&err) < 0 || jobs_applicability_refresh(ids, &err) < 0) {
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	p = jobs_profile_get(json_integer_value(json_object_get(host, "id")));
	if (p == NULL) {
		http_reply_error(resp, 404, "no package profile collected from host '%s' yet",
		    http_request_param(req, "id"));
		return 0;
	}
	http_reply_json(resp, 200, p);
	return 0;
}

/* GET /api/v2/hosts/:id/drift: the host's last drift report. */
static int
jobs_api_host_drift(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *host =
	    prov_resource_get(prov_resource_find("host"), http_request_param(req, "id"));
	json_t *d;

	if (host == NULL) {
		http_reply_error(resp, 404, "no host '%s'", http_request_param(req, "id"));
		return 0;
	}
	if ((d = jobs_drift_get(json_integer_value(json_object_get(host, "id")))) == NULL) {
		http_reply_error(resp, 404, "host '%s' was never checked for drift",
		    http_request_param(req, "id"));
		return 0;
	}
	http_reply_json(resp, 200, d);
	return 0;
}

/* GET /api/v2/drift: every checked host, drifted first. */
static int
jobs_api_drift(struct http_request *req, struct http_response *resp)
{
	json_t *rows = NULL;
	struct dr_error err;

	if (jobs_drift_list(&rows, &err) < 0) {
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	json_int_t n = (json_int_t)json_array_size(rows);
	api_reply_list(resp, rows, n, n, 1, n > 0 ? n : 1, NULL);
	return 0;
}

/* The kinds that are job invocations, as an SQL list. */
#define JOBS_INVOCATION_KINDS "('remote_execution', 'patch_run', 'drift_check')"
/* A job's hosts: its items once it started, the ids it was given before. */
#define JOBS_INVOCATION_HOSTS                                                                     \
	"(max((SELECT count(*) FROM job_items i WHERE i.job_id = jobs.id),"                       \
	" coalesce(json_array_length(jobs.params, '$.hosts'), 0)))"
#define JOBS_INVOCATION_FAILED                                                                    \
	"(SELECT count(*) FROM job_items i WHERE i.job_id = jobs.id"                              \
	" AND i.state IN ('failed', 'unreachable'))"

static const struct search_field jobs_invocation_fields[] = {
    {"id", "jobs.id", SEARCH_INT},
    {"kind", "jobs.kind", SEARCH_TEXT, SEARCH_DEFAULT},
    {"state", "jobs.state", SEARCH_TEXT, SEARCH_DEFAULT},
    {"owner", "jobs.owner", SEARCH_TEXT, SEARCH_DEFAULT},
    {"command", "(json_extract(jobs.params, '$.command'))", SEARCH_TEXT, SEARCH_DEFAULT},
    {"playbook", "(json_extract(jobs.params, '$.playbook_name'))", SEARCH_TEXT, SEARCH_DEFAULT},
    {"host_count", JOBS_INVOCATION_HOSTS, SEARCH_INT},
    {"failed_count", JOBS_INVOCATION_FAILED, SEARCH_INT},
    {"error", "jobs.error", SEARCH_TEXT},
    {"schedule_id", "jobs.schedule_id", SEARCH_INT},
    {"created_at", "jobs.created_at", SEARCH_TIME},
    {"started_at", "jobs.started_at", SEARCH_TIME},
    {"finished_at", "jobs.finished_at", SEARCH_TIME},
};

/* Remote execution, patch and drift runs: the jobs of those kinds, with their host and
 * failure counts and what they ran. */
const struct api_resource jobs_api_invocations = {
    .name = "job_invocations",
    .select = "jobs.id AS id, jobs.kind AS kind, jobs.state AS state, jobs.owner AS owner,"
              " jobs.created_at AS created_at, jobs.started_at AS started_at,"
              " jobs.finished_at AS finished_at, " JOBS_INVOCATION_HOSTS
              " AS host_count, " JOBS_INVOCATION_FAILED " AS failed_count,"
              " json_extract(jobs.params, '$.command') AS command,"
              " json_extract(jobs.params, '$.playbook_name') AS playbook,"
              " jobs.error AS error, jobs.schedule_id AS schedule_id",
    .from = "(SELECT * FROM jobs WHERE kind IN " JOBS_INVOCATION_KINDS ") AS jobs",
    .id_sql = "jobs.id",
    .order = "jobs.id DESC",
    .fields = jobs_invocation_fields,
    .nfields = nitems(jobs_invocation_fields),
};

/* GET /api/v2/job_invocations?search=&order=&page=&per_page= */
static int
jobs_api_invocations_list(struct http_request *req, struct http_response *resp)
{
	return api_list(req, resp, &jobs_api_invocations, NULL, NULL);
}

/* Submit a job of kind (remote_execution or patch_run) with params for the caller, and
 * audit it: what the API and the UI forms both do. */
int
jobs_invocation_submit(struct http_request *req, const char *kind, const json_t *params,
    int64_t *ret_id, struct dr_error *err)
{
	char idtext[32];

	if (job_submit(kind, params, http_request_user(req), 0, ret_id, err) < 0)
		return -1;
	jobs_wake();
	snprintf(idtext, sizeof idtext, "%lld", (long long)*ret_id);
	store_audit(http_request_user(req), http_request_remote(req), "create",
	    strcmp(kind, "patch_run") == 0 ? "patch_run" : "job_invocation", idtext, NULL, params,
	    NULL);
	return 0;
}

/* Submit a remote_execution job with params and answer 201 with it. */
static void
jobs_api_submit(struct http_request *req, struct http_response *resp, json_t *params)
{
	struct dr_error err;
	int64_t id;

	if (jobs_invocation_submit(req, "remote_execution", params, &id, &err) < 0) {
		http_reply_error(resp, 500, "%s", err.msg);
		return;
	}
	http_reply_json(resp, 201, job_get(id));
}

/* POST /api/v2/job_invocations: a command or a playbook on the hosts of a selection. */
static int
jobs_api_invoke(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL, *params = NULL, *invalid = json_object();
	struct dr_error err;

	if (jobs_api_body(req, resp, &body) < 0)
		return 0;
	if (jobs_remote_params_as(body, http_request_user(req), http_request_remote(req), &params,
	        invalid, &err) < 0) {
		if (json_object_size(invalid) > 0)
			jobs_api_invalid(resp, invalid);
		else
			http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	jobs_api_submit(req, resp, params);
	return 0;
}

/* POST /api/v2/job_invocations/:id/rerun {"failed_only": true (default)} */
static int
jobs_api_rerun(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL, *params = NULL;
	long long id;
	struct dr_error err;
	size_t len = 0;
	int r;

	if (str_to_ll(http_request_param(req, "id"), 1, INT64_MAX, &id) < 0) {
		http_reply_error(resp, 404, "no job '%s'", http_request_param(req, "id"));
		return 0;
	}
	http_request_body(req, &len);
	if (len > 0 && jobs_api_body(req, resp, &body) < 0)
		return 0;
	if (body != NULL && json_object_get(body, "failed_only") != NULL &&
	    !json_is_boolean(json_object_get(body, "failed_only"))) {
		api_reply_invalid(resp,
		    json_pack("{s:s}", "failed_only", "expected true or false"),
		    "invalid re-run request");
		return 0;
	}
	if ((r = jobs_remote_rerun_params(
	         id, !json_is_false(json_object_get(body, "failed_only")), &params, &err)) < 0) {
		jobs_api_fail(resp, r, &err);
		return 0;
	}
	jobs_api_submit(req, resp, params);
	return 0;
}

/*
 * POST /api/v2/patch_runs {errata, search|hostgroup|hosts, batch_size|batch_percent, window,
 * pre, post, reboot, …, schedule?: {name, cron, tz, …}}: a patch run now, or a schedule of
 * patch runs (201 with the schedule).
 */
static int
jobs_api_patch(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL, *params = NULL, *invalid = json_object();
	const json_t *sched;
	struct dr_error err;
	int64_t id;
	int status;

	if (jobs_api_body(req, resp, &body) < 0)
		return 0;
	sched = json_object_get(body, "schedule");
	if (sched != NULL && !json_is_object(sched))
		json_object_set_new(
		    invalid, "schedule", json_string("expected {name, cron, tz, …}"));
	if (json_object_size(invalid) > 0 || jobs_patch_params(body, &params, invalid, &err) < 0) {
		if (json_object_size(invalid) > 0)
			jobs_api_invalid(resp, invalid);
		else
			http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	if (sched == NULL) {
		if (jobs_invocation_submit(req, "patch_run", params, &id, &err) < 0)
			http_reply_error(resp, 500, "%s", err.msg);
		else
			http_reply_json(resp, 201, job_get(id));
		return 0;
	}
	_cleanup_json_ json_t *spec = json_deep_copy(sched);
	json_object_set_new(spec, "kind", json_string("patch_run"));
	json_object_set(spec, "params", params);
	status = api_schedule_add(req, spec, &id, &err);
	if (status != 201)
		http_reply_error(resp, status, "schedule: %s", err.msg);
	else
		http_reply_json(resp, 201, schedule_get(id));
	return 0;
}

/* GET /api/v2/playbooks */
static int
jobs_api_playbooks(struct http_request *req, struct http_response *resp)
{
	json_t *rows = NULL;
	struct dr_error err;

	if (jobs_library_list(&rows, &err) < 0) {
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	json_int_t n = (json_int_t)json_array_size(rows);
	api_reply_list(resp, rows, n, n, 1, n > 0 ? n : 1, NULL);
	return 0;
}

/* POST /api/v2/playbooks {name, content}: a new version (none when the text is the
 * latest's). */
static int
jobs_api_playbook_add(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL, *invalid = json_object();
	json_t *out = NULL;
	struct dr_error err;

	if (jobs_api_body(req, resp, &body) < 0)
		return 0;
	if (json_object_get(body, "content") && !json_is_string(json_object_get(body, "content")))
		json_object_set_new(
		    invalid, "content", json_string("expected the playbook's YAML"));
	if (json_object_size(invalid) > 0 ||
	    jobs_library_add(json_string_value(json_object_get(body, "name")),
	        json_string_value(json_object_get(body, "content")), http_request_user(req), &out,
	        invalid, &err) < 0) {
		if (json_object_size(invalid) > 0)
			jobs_api_invalid(resp, invalid);
		else
			http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	_cleanup_json_ json_t *after =
	    json_pack("{s:O}", "version", json_object_get(out, "version"));
	store_audit(http_request_user(req), http_request_remote(req), "create", "playbook",
	    json_string_value(json_object_get(out, "name")), NULL, after, NULL);
	http_reply_json(resp, 201, out);
	return 0;
}

/* GET /api/v2/playbooks/:name and /api/v2/playbooks/:name/versions/:version */
static int
jobs_api_playbook_show(struct http_request *req, struct http_response *resp)
{
	const char *name = http_request_param(req, "name");
	const char *vtext = http_request_param(req, "version");
	long long v = 0;
	json_t *pb;

	if (vtext != NULL && str_to_ll(vtext, 1, INT64_MAX, &v) < 0) {
		http_reply_error(resp, 404, "no version '%s' of playbook '%s'", vtext, name);
		return 0;
	}
	if ((pb = jobs_library_get(name, v)) == NULL) {
		http_reply_error(resp, 404, "no playbook '%s'%s%s in the library", name,
		    vtext ? " version " : "", vtext ? vtext : "");
		return 0;
	}
	json_object_set_new(pb, "versions", jobs_library_versions(name));
	http_reply_json(resp, 200, pb);
	return 0;
}

/* The plan fields of a body: Katello's {"sync_plan": {...}} or the object itself. */
static const json_t *
jobs_api_plan_body(const json_t *body)
{
	const json_t *inner = json_object_get(body, "sync_plan");

	return json_is_object(inner) ? inner : body;
}

/* GET /api/v2/sync_plans */
static int
jobs_api_sync_plans(struct http_request *req, struct http_response *resp)
{
	json_t *rows;
	struct dr_error err;

	if (jobs_syncplan_list(&rows, &err) < 0) {
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	api_reply_list(resp, rows, (int64_t)json_array_size(rows), (int64_t)json_array_size(rows),
	    1, (long long)json_array_size(rows), NULL);
	return 0;
}

/* POST /api/v2/sync_plans and PUT /api/v2/sync_plans/:id */
static int
jobs_api_sync_plan_save(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL, *invalid = json_object(), *out = NULL;
	const char *id = http_request_param(req, "id");
	struct dr_error err;
	int r;

	if (jobs_api_body(req, resp, &body) < 0)
		return 0;
	r = jobs_syncplan_save(id, jobs_api_plan_body(body), http_request_user(req),
	    http_request_remote(req), invalid, &out, &err);
	if (r == -422)
		jobs_api_invalid(resp, invalid);
	else if (r < 0)
		jobs_api_fail(resp, r, &err);
	else
		http_reply_json(resp, id ? 200 : 201, TAKE_PTR(out));
	return 0;
}

/* GET /api/v2/sync_plans/:id */
static int
jobs_api_sync_plan_show(struct http_request *req, struct http_response *resp)
{
	json_t *plan = jobs_syncplan_get(http_request_param(req, "id"));

	if (plan == NULL)
		http_reply_error(resp, 404, "no sync plan '%s'", http_request_param(req, "id"));
	else
		http_reply_json(resp, 200, plan);
	return 0;
}

/* A DELETE of the object named by :id through del (id or name, user, remote). */
static int
jobs_api_delete(struct http_request *req, struct http_response *resp,
    int (*del)(const char *, const char *, const char *, struct dr_error *))
{
	struct dr_error err;
	int r = del(
	    http_request_param(req, "id"), http_request_user(req), http_request_remote(req), &err);

	if (r < 0)
		jobs_api_fail(resp, r, &err);
	else
		http_reply_json(
		    resp, 200, json_pack("{s:s}", "deleted", http_request_param(req, "id")));
	return 0;
}

/* DELETE /api/v2/sync_plans/:id */
static int
jobs_api_sync_plan_delete(struct http_request *req, struct http_response *resp)
{
	return jobs_api_delete(req, resp, jobs_syncplan_delete);
}

/* PUT /api/v2/sync_plans/:id/enable and /disable */
static int
jobs_api_sync_plan_enable(struct http_request *req, struct http_response *resp)
{
	const char *path = http_request_path(req);
	bool on = strlen(path) >= 7 && strcmp(path + strlen(path) - 7, "/enable") == 0;
	json_t *out = NULL;
	struct dr_error err;
	int r = jobs_syncplan_enable(http_request_param(req, "id"), on, http_request_user(req),
	    http_request_remote(req), &out, &err);

	if (r < 0)
		jobs_api_fail(resp, r, &err);
	else
		http_reply_json(resp, 200, out);
	return 0;
}

/* POST /api/v2/sync_plans/:id/sync: run the plan now (202 with the job). */
static int
jobs_api_sync_plan_sync(struct http_request *req, struct http_response *resp)
{
	struct dr_error err;
	int64_t jid;
	int r = jobs_syncplan_run_now(
	    http_request_param(req, "id"), http_request_user(req), &jid, &err);

	if (r < 0)
		jobs_api_fail(resp, r, &err);
	else {
		jobs_wake();
		http_reply_json(resp, 202, job_get(jid));
	}
	return 0;
}

/* GET /api/v2/git_credentials: names and times, never a user name or a secret. */
static int
jobs_api_gitcreds(struct http_request *req, struct http_response *resp)
{
	return api_list(req, resp, &jobs_gitcred_resource, NULL, NULL);
}

/* GET /api/v2/git_credentials/:id (an id or a name) */
static int
jobs_api_gitcred_show(struct http_request *req, struct http_response *resp)
{
	json_t *c = jobs_gitcred_get(http_request_param(req, "id"));

	if (c == NULL || !api_in_scope(req, &jobs_gitcred_resource,
	                     json_integer_value(json_object_get(c, "id")))) {
		json_decref(c);
		http_reply_error(resp, 404, "no git credential '%s'", http_request_param(req, "id"));
	} else
		http_reply_json(resp, 200, c);
	return 0;
}

/* POST /api/v2/git_credentials {name, username, password}; PUT …/:id */
static int
jobs_api_gitcred_save(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL, *invalid = json_object(), *out = NULL;
	const char *id = http_request_param(req, "id");
	struct dr_error err;
	int r;

	if (jobs_api_body(req, resp, &body) < 0)
		return 0;
	r = jobs_gitcred_save(id, body, http_request_user(req), http_request_remote(req), invalid,
	    &out, &err);
	if (r == -422)
		jobs_api_invalid(resp, invalid);
	else if (r < 0)
		jobs_api_fail(resp, r, &err);
	else
		http_reply_json(resp, id ? 200 : 201, TAKE_PTR(out));
	return 0;
}

/* DELETE /api/v2/git_credentials/:id */
static int
jobs_api_gitcred_delete(struct http_request *req, struct http_response *resp)
{
	return jobs_api_delete(req, resp, jobs_gitcred_delete);
}

static const struct http_route jobs_routes[] = {
    {"GET", "/api/v2/settings/ssh_key", jobs_api_ssh_key, 0, "settings_ssh_key", "", NULL,
        "droverd's SSH public key, to authorize on hosts"},
    {"GET", "/api/v2/hosts/:id/ssh", jobs_api_host_ssh, 0, "host_ssh", "hosts", "view",
        "A host's recorded SSH host keys and its accept-new setting"},
    {"PUT", "/api/v2/hosts/:id/ssh", jobs_api_host_ssh, 0, "host_ssh", "hosts", "edit",
        "Record a host's SSH host key {ssh_host_key} and/or {ssh_accept_new}"},
    {"GET", "/api/v2/hosts/:id/package_profile", jobs_api_host_profile, 0, "host_package_profile",
        "hosts", "view", "The packages installed on a host, reboot needed, applicable errata"},
    {"GET", "/api/v2/hosts/:id/drift", jobs_api_host_drift, 0, "host_drift", "hosts", "view",
        "A host's last drift report: whether its playbooks would change it, and the diffs"},
    {"GET", "/api/v2/drift", jobs_api_drift, 0, "drift", "hosts", "view",
        "Every host checked for drift, drifted first"},
    {"GET", "/api/v2/job_invocations", jobs_api_invocations_list, 0, "job_invocations",
        "job_invocations", "view",
        "Remote execution, patch and drift runs {kind, state, owner, times, host_count, "
        "failed_count, command, playbook}: search, order, page, per_page"},
    {"POST", "/api/v2/job_invocations", jobs_api_invoke, 0, "job_invocations", NULL, NULL,
        "Run a command or a playbook on hosts {command|playbook|playbook_yaml, "
        "search|hostgroup|hosts, concurrency, batch_size, max_fail_percent, timeout, become}"},
    {"POST", "/api/v2/job_invocations/:id/rerun", jobs_api_rerun, 0, "job_invocation_rerun",
        "job_invocations", "create", "Run a remote job again on its failed hosts"},
    {"POST", "/api/v2/patch_runs", jobs_api_patch, 0, "patch_runs", NULL, NULL,
        "Apply errata to hosts in batches {errata, search, batch_size, window, pre, post, "
        "reboot, max_fail_percent}, now or on a schedule {schedule: {name, cron, tz}}"},
    {"GET", "/api/v2/playbooks", jobs_api_playbooks, 0, "playbooks", NULL, NULL,
        "The playbook library: each playbook with its latest version"},
    {"POST", "/api/v2/playbooks", jobs_api_playbook_add, 0, "playbooks", NULL, NULL,
        "Upload a playbook {name, content}: a new version"},
    {"GET", "/api/v2/playbooks/:name", jobs_api_playbook_show, 0, "playbook", NULL, NULL,
        "A library playbook's latest version with its text and versions"},
    {"GET", "/api/v2/playbooks/:name/versions/:version", jobs_api_playbook_show, 0,
        "playbook_version", "playbooks", "view", "One version of a library playbook"},
    {"GET", "/api/v2/sync_plans", jobs_api_sync_plans, 0, "sync_plans", "sync_plans", "view",
        "Sync plans with their repositories and next runs"},
    {"POST", "/api/v2/sync_plans", jobs_api_sync_plan_save, 0, "sync_plans", "sync_plans",
        "create",
        "Create a sync plan {name, interval, sync_date, time_zone, cron_expression, "
        "repository_ids, product_ids, enabled}"},
    {"GET", "/api/v2/sync_plans/:id", jobs_api_sync_plan_show, 0, "sync_plan", "sync_plans",
        "view", "A sync plan with its next runs and last job"},
    {"PUT", "/api/v2/sync_plans/:id", jobs_api_sync_plan_save, 0, "sync_plan", "sync_plans",
        "edit", "Change a sync plan"},
    {"DELETE", "/api/v2/sync_plans/:id", jobs_api_sync_plan_delete, 0, "sync_plan", "sync_plans",
        "delete", "Delete a sync plan and its schedule"},
    {"PUT", "/api/v2/sync_plans/:id/enable", jobs_api_sync_plan_enable, 0, "sync_plan_enable",
        "sync_plans", "edit", "Enable a sync plan"},
    {"PUT", "/api/v2/sync_plans/:id/disable", jobs_api_sync_plan_enable, 0, "sync_plan_disable",
        "sync_plans", "edit", "Disable a sync plan"},
    {"POST", "/api/v2/sync_plans/:id/sync", jobs_api_sync_plan_sync, 0, "sync_plan_sync",
        "sync_plans", "sync", "Run a sync plan now"},
    {"GET", "/api/v2/git_credentials", jobs_api_gitcreds, HTTP_LIST, "git_credentials",
        "git_credentials", "view",
        "Git credentials for private https:// playbook repositories: names and times only"},
    {"POST", "/api/v2/git_credentials", jobs_api_gitcred_save, 0, "git_credentials",
        "git_credentials", "create",
        "Create a git credential {name, username, password} (stored encrypted, never shown)"},
    {"GET", "/api/v2/git_credentials/:id", jobs_api_gitcred_show, 0, "git_credential",
        "git_credentials", "view", "A git credential (by id or name) and the schedules using it"},
    {"PUT", "/api/v2/git_credentials/:id", jobs_api_gitcred_save, 0, "git_credential",
        "git_credentials", "edit", "Change a git credential {name?, username, password}"},
    {"DELETE", "/api/v2/git_credentials/:id", jobs_api_gitcred_delete, 0, "git_credential",
        "git_credentials", "delete", "Delete a git credential no schedule uses"},
};

/* Install the routes; before http_server_start. */
void
jobs_api_init(void)
{
	api_resource_register(&jobs_api_invocations);
	api_resource_register(&jobs_gitcred_resource);
	http_routes_add(jobs_routes, nitems(jobs_routes));
	jobs_ui_init();
}
