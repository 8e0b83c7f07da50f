/*
 * api.c - REST for products, repositories, versions, content views, lifecycle
 * environments and errata, and the public /content routes. Long operations (sync,
 * publish, promote, orphan cleanup) are submitted as jobs and answered with the job.
 */
#define LOG_COMPONENT "repos"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repos/repos.h"
#include "webui/webui.h"

/* The plain resources: one row of functions each, found by the path's prefix. */
static const struct repos_api_resource {
	const char *prefix; /* "/api/v2/products" */
	const char *what; /* audit resource and messages */
	json_t *(*get)(const char *name_or_id);
	int (*list)(json_t **ret, struct dr_error *err);
	int (*create)(const json_t *spec, int64_t *ret_id, struct dr_error *err);
	int (*update)(int64_t id, const json_t *spec, struct dr_error *err);
	int (*del)(int64_t id, struct dr_error *err);
} repos_api_resources[] = {
    {"/api/v2/products", "product", repo_product_get, repo_product_list, repo_product_create,
        repo_product_update, repo_product_delete},
    {"/api/v2/repositories", "repository", repo_get, NULL, repo_create, repo_update, repo_delete},
    {"/api/v2/content_views", "content_view", repo_cv_get, repo_cv_list, repo_cv_create,
        repo_cv_update, repo_cv_delete},
    {"/api/v2/lifecycle_environments", "lifecycle_environment", repo_env_get, repo_env_list,
        repo_env_create, NULL, repo_env_delete},
};

static const struct repos_api_resource *
repos_api_resource(struct http_request *req)
{
	const char *path = http_request_path(req);
	size_t i;

	for (i = 0; i < nitems(repos_api_resources); i++)
		if (str_has_prefix(path, repos_api_resources[i].prefix))
			return &repos_api_resources[i];
	return NULL;
}

static void
repos_api_list_reply(struct http_response *resp, json_t *rows)
{
	json_int_t n = (json_int_t)json_array_size(rows);

	http_reply_json(resp, 200,
	    json_pack("{s:I, s:I, s:i, s:I, s:n, s:o}", "total", n, "subtotal", n, "page", 1,
	        "per_page", n, "search", "results", rows));
}

/* GET <resource> */
static int
repos_api_list(struct http_request *req, struct http_response *resp)
{
	const struct repos_api_resource *r = repos_api_resource(req);
	json_t *rows = NULL;
	struct dr_error err;
	int rc;

	if (r->list != NULL)
		rc = r->list(&rows, &err);
	else
		rc = repo_list(http_request_query(req, "product"), &rows, &err);
	if (rc < 0) {
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	repos_api_list_reply(resp, rows);
	return 0;
}

/* The object named by :id (a name or a number), or a 404 reply. */
static json_t *
repos_api_find(const struct repos_api_resource *r, struct http_request *req, struct http_response *resp)
{
	json_t *o = r->get(http_request_param(req, "id"));

	if (o == NULL)
		http_reply_error(resp, 404, "no %s '%s'", r->what, http_request_param(req, "id"));
	return o;
}

/* GET <resource>/:id */
static int
repos_api_show(struct http_request *req, struct http_response *resp)
{
	const struct repos_api_resource *r = repos_api_resource(req);
	json_t *o = repos_api_find(r, req, resp);
	struct dr_error err;

	if (o == NULL)
		return 0;
	if (strcmp(r->what, "repository") == 0) {
		json_t *versions = NULL;
		if (repo_version_list(
		        json_integer_value(json_object_get(o, "id")), &versions, &err) == 0)
			json_object_set_new(o, "versions", versions);
	}
	http_reply_json(resp, 200, o);
	return 0;
}

/* Status for a failed write: 409 for conflicts, 422 for bad input. */
static int
repos_api_write_status(const struct dr_error *err)
{
	return strstr(err->msg, "already") != NULL || strstr(err->msg, "uses") != NULL ||
	        strstr(err->msg, "still") != NULL || strstr(err->msg, "promoted") != NULL ||
	        strstr(err->msg, "follows") != NULL
	    ? 409
	    : 422;
}

/* POST <resource> */
static int
repos_api_create(struct http_request *req, struct http_response *resp)
{
	const struct repos_api_resource *r = repos_api_resource(req);
	_cleanup_json_ json_t *body = NULL;
	_cleanup_free_ char *key = NULL;
	struct dr_error err;
	int64_t id;

	if (http_request_json(req, &body, &err) < 0) {
		http_reply_error(resp, 400, "%s", err.msg);
		return 0;
	}
	if (!json_is_object(body)) {
		http_reply_error(resp, 422, "expected a %s object", r->what);
		return 0;
	}
	if (r->create(body, &id, &err) < 0) {
		http_reply_error(resp, repos_api_write_status(&err), "%s", err.msg);
		return 0;
	}
	key = xasprintf("%lld", (long long)id);
	store_audit(http_request_user(req), http_request_remote(req), "create", r->what,
	    json_string_value(json_object_get(body, "name")), NULL, body, NULL);
	http_reply_json(resp, 201, r->get(key));
	return 0;
}

/* PUT <resource>/:id */
static int
repos_api_update(struct http_request *req, struct http_response *resp)
{
	const struct repos_api_resource *r = repos_api_resource(req);
	_cleanup_json_ json_t *body = NULL, *before = NULL;
	_cleanup_free_ char *key = NULL;
	struct dr_error err;
	int64_t id;

	if ((before = repos_api_find(r, req, resp)) == NULL)
		return 0;
	if (r->update == NULL) {
		http_reply_error(resp, 405, "a %s cannot be changed", r->what);
		return 0;
	}
	if (http_request_json(req, &body, &err) < 0) {
		http_reply_error(resp, 400, "%s", err.msg);
		return 0;
	}
	id = json_integer_value(json_object_get(before, "id"));
	if (!json_is_object(body) || r->update(id, body, &err) < 0) {
		http_reply_error(resp, json_is_object(body) ? repos_api_write_status(&err) : 422, "%s",
		    json_is_object(body) ? err.msg : "expected an object");
		return 0;
	}
	key = xasprintf("%lld", (long long)id);
	store_audit(http_request_user(req), http_request_remote(req), "update", r->what,
	    json_string_value(json_object_get(before, "name")), before, body, NULL);
	http_reply_json(resp, 200, r->get(key));
	return 0;
}

/* DELETE <resource>/:id */
static int
repos_api_delete(struct http_request *req, struct http_response *resp)
{
	const struct repos_api_resource *r = repos_api_resource(req);
	json_t *before = repos_api_find(r, req, resp);
	struct dr_error err;

	if (before == NULL)
		return 0;
	if (r->del(json_integer_value(json_object_get(before, "id")), &err) < 0) {
		http_reply_error(resp, repos_api_write_status(&err), "%s", err.msg);
		json_decref(before);
		return 0;
	}
	store_audit(http_request_user(req), http_request_remote(req), "delete", r->what,
	    json_string_value(json_object_get(before, "name")), before, NULL, NULL);
	http_reply_json(resp, 200, before);
	return 0;
}

/* Submit a job and answer 202 with it. */
static void
repos_api_job(struct http_request *req, struct http_response *resp, const char *kind, json_t *params)
{
	struct dr_error err;
	int64_t id;

	if (job_submit(kind, params, http_request_user(req), 0, &id, &err) < 0) {
		http_reply_error(resp, 500, "%s", err.msg);
	} else {
		store_audit(http_request_user(req), http_request_remote(req), "submit", kind, NULL,
		    NULL, params, NULL);
		http_reply_json(resp, 202, job_get(id));
	}
	json_decref(params);
}

/* POST /api/v2/repositories/:id/sync */
static int
repos_api_repo_sync(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *repo = repo_get(http_request_param(req, "id"));

	if (repo == NULL) {
		http_reply_error(resp, 404, "no repository '%s'", http_request_param(req, "id"));
		return 0;
	}
	repos_api_job(req, resp, "repo_sync",
	    json_pack("{s:O}", "repository", json_object_get(repo, "name")));
	return 0;
}

/* GET /api/v2/repositories/:id/versions */
static int
repos_api_repo_versions(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *repo = repo_get(http_request_param(req, "id"));
	json_t *rows = NULL;
	struct dr_error err;

	if (repo == NULL) {
		http_reply_error(resp, 404, "no repository '%s'", http_request_param(req, "id"));
		return 0;
	}
	if (repo_version_list(json_integer_value(json_object_get(repo, "id")), &rows, &err) < 0) {
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	repos_api_list_reply(resp, rows);
	return 0;
}

/* POST /api/v2/content_views/:id/publish {description?}, …/promote {version, to, force?} */
static int
repos_api_cv_job(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *cv = repo_cv_get(http_request_param(req, "id")), *body = NULL;
	bool publish = str_has_suffix(http_request_path(req), "/publish");
	struct dr_error err;
	json_t *params;

	if (cv == NULL) {
		http_reply_error(resp, 404, "no content view '%s'", http_request_param(req, "id"));
		return 0;
	}
	if (http_request_body(req, NULL) != NULL && http_request_json(req, &body, &err) < 0) {
		http_reply_error(resp, 400, "%s", err.msg);
		return 0;
	}
	params = json_is_object(body) ? json_deep_copy(body) : json_object();
	json_object_set(params, "content_view", json_object_get(cv, "name"));
	if (!publish &&
	    (!json_is_string(json_object_get(params, "version")) ||
	        !json_is_string(json_object_get(params, "to")))) {
		json_decref(params);
		http_reply_error(
		    resp, 422, "expected {\"version\": \"1.0\", \"to\": environment}");
		return 0;
	}
	repos_api_job(req, resp, publish ? "content_view_publish" : "content_view_promote", params);
	return 0;
}

/* POST /api/v2/content/orphans/remove */
static int
repos_api_orphans(struct http_request *req, struct http_response *resp)
{
	repos_api_job(req, resp, "repo_orphans_remove", json_object());
	return 0;
}

/* GET /api/v2/errata?type=&severity=&cve=&repository=&search=&since=&until=&page=&per_page= */
static int
repos_api_errata_list(struct http_request *req, struct http_response *resp)
{
	static const char *const keys[] = {"type", "severity", "cve", "repository", "search"};
	_cleanup_json_ json_t *filter = json_object();
	json_t *rows = NULL;
	long long page = 1, per = 20, t;
	struct dr_error err;
	int64_t total = 0;
	size_t i;

	for (i = 0; i < nitems(keys); i++)
		if (http_request_query(req, keys[i]) != NULL)
			json_object_set_new(
			    filter, keys[i], json_string(http_request_query(req, keys[i])));
	if (http_request_query(req, "since") != NULL) {
		t = repo_date_parse(http_request_query(req, "since"));
		json_object_set_new(filter, "since", json_integer(t));
	}
	if (http_request_query(req, "until") != NULL) {
		t = repo_date_parse(http_request_query(req, "until"));
		json_object_set_new(filter, "until", json_integer(t));
	}
	if ((http_request_query(req, "page") != NULL &&
	        str_to_ll(http_request_query(req, "page"), 1, 1000000, &page) < 0) ||
	    (http_request_query(req, "per_page") != NULL &&
	        str_to_ll(http_request_query(req, "per_page"), 1, 1000, &per) < 0)) {
		http_reply_error(resp, 422, "page from 1, per_page from 1 to 1000");
		return 0;
	}
	if (repo_errata_list(filter, (int)per, (int)((page - 1) * per), &rows, &total, &err) < 0) {
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	http_reply_json(resp, 200,
	    json_pack("{s:I, s:I, s:I, s:I, s:s?, s:o}", "total", (json_int_t)total, "subtotal",
	        (json_int_t)total, "page", (json_int_t)page, "per_page", (json_int_t)per, "search",
	        http_request_query(req, "search"), "results", rows));
	return 0;
}

/* GET /api/v2/errata/:id */
static int
repos_api_erratum_show(struct http_request *req, struct http_response *resp)
{
	json_t *e = repo_erratum_get(http_request_param(req, "id"));

	if (e == NULL)
		http_reply_error(resp, 404, "no erratum '%s'", http_request_param(req, "id"));
	else
		http_reply_json(resp, 200, e);
	return 0;
}

/* Many profiles against one content: loaded once, each distinct package set evaluated
 * once. Answers {"results": [{"profile_hash", "errata": {"applicable": [ids],
 * "installable": [ids]}}], "distinct_profiles"}. */
static void
repos_api_errata_applicable_many(
    struct http_response *resp, const json_t *profiles, const json_t *ids, const char *type)
{
	struct repo_applicability *a;
	_cleanup_json_ json_t *cache = json_object();
	json_t *results = json_array(), *profile;
	struct dr_error err;
	size_t i;

	if (repo_applicability_load(ids, type, &a, &err) < 0) {
		json_decref(results);
		http_reply_error(resp, 422, "%s", err.msg);
		return;
	}
	json_array_foreach(profiles, i, profile)
	{
		char hash[65];
		json_t *errata;

		repo_applicability_profile_hash(profile, hash);
		if ((errata = json_object_get(cache, hash)) == NULL) {
			if (repo_applicability_eval(a, profile, true, &errata, &err) < 0) {
				repo_applicability_free(a);
				json_decref(results);
				http_reply_error(resp, 422, "profiles[%zu]: %s", i, err.msg);
				return;
			}
			json_object_set_new(cache, hash, errata);
		}
		json_array_append_new(
		    results, json_pack("{s:s, s:O}", "profile_hash", hash, "errata", errata));
	}
	repo_applicability_free(a);
	http_reply_json(resp, 200,
	    json_pack("{s:I, s:I, s:o}", "total", (json_int_t)json_array_size(results),
	        "distinct_profiles", (json_int_t)json_object_size(cache), "results", results));
}

/*
 * POST /api/v2/errata/applicable {profile: [{name, epoch, version, release, arch}],
 * repository: name} or {profile, content_view, environment}: the errata that apply.
 */
static int
repos_api_errata_applicable(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL, *ids = json_array(), *rows = NULL;
	const char *repo, *cv, *env, *type = "yum";
	json_t *result = NULL;
	struct dr_error err;

	if (http_request_json(req, &body, &err) < 0) {
		http_reply_error(resp, 400, "%s", err.msg);
		return 0;
	}
	repo = json_string_value(json_object_get(body, "repository"));
	cv = json_string_value(json_object_get(body, "content_view"));
	env = json_string_value(json_object_get(body, "environment"));
	if (repo != NULL) {
		_cleanup_json_ json_t *r = repo_get(repo);
		if (r == NULL ||
		    json_integer_value(json_object_get(r, "latest_version_id")) <= 0) {
			http_reply_error(resp, 422, "repository '%s' has no version", repo);
			return 0;
		}
		json_array_append(ids, json_object_get(r, "latest_version_id"));
		if (strcmp(json_string_value(json_object_get(r, "type")), "apt") == 0)
			type = "apt";
	} else if (cv != NULL && env != NULL) {
		size_t i;
		json_t *row;
		if (store_queryf(&rows, &err,
		        "SELECT v.id, r.type FROM repo_versions v JOIN repo_cv_environments ce"
		        " ON ce.cv_version_id = v.cv_version_id JOIN repo_content_views c"
		        " ON c.id = ce.content_view_id JOIN repo_lifecycle_environments e"
		        " ON e.id = ce.environment_id JOIN repo_repositories r"
		        " ON r.id = v.repository_id WHERE c.name = ? AND e.name = ?",
		        "[ss]", cv, env) < 0) {
			http_reply_error(resp, 500, "%s", err.msg);
			return 0;
		}
		json_array_foreach(rows, i, row)
		{
			json_array_append(ids, json_object_get(row, "id"));
			if (strcmp(json_string_value(json_object_get(row, "type")), "apt") == 0)
				type = "apt";
		}
	}
	if (json_array_size(ids) == 0) {
		http_reply_error(resp, 422,
		    "expected {\"profile\": [..], \"repository\"} or {\"profile\", "
		    "\"content_view\", \"environment\"} with published content");
		return 0;
	}
	if (json_is_array(json_object_get(body, "profiles"))) {
		repos_api_errata_applicable_many(resp, json_object_get(body, "profiles"), ids, type);
		return 0;
	}
	if (repo_errata_applicable(json_object_get(body, "profile"), ids, type, &result, &err) <
	    0) {
		http_reply_error(resp, 422, "%s", err.msg);
		return 0;
	}
	repos_api_list_reply(resp, result);
	return 0;
}

static const struct http_route repos_routes[] = {
    {"GET", "/content/drover.gpg", repo_content_key, HTTP_PUBLIC, "content_key"},
    {"GET", "/content/:env/:cv/:repo/*", repo_content_handler, HTTP_PUBLIC, "content"},
    {"GET", "/api/v2/products", repos_api_list, 0, "products"},
    {"POST", "/api/v2/products", repos_api_create, 0, "products"},
    {"GET", "/api/v2/products/:id", repos_api_show, 0, "product"},
    {"PUT", "/api/v2/products/:id", repos_api_update, 0, "product"},
    {"DELETE", "/api/v2/products/:id", repos_api_delete, 0, "product"},
    {"GET", "/api/v2/repositories", repos_api_list, 0, "repositories"},
    {"POST", "/api/v2/repositories", repos_api_create, 0, "repositories"},
    {"GET", "/api/v2/repositories/:id", repos_api_show, 0, "repository"},
    {"PUT", "/api/v2/repositories/:id", repos_api_update, 0, "repository"},
    {"DELETE", "/api/v2/repositories/:id", repos_api_delete, 0, "repository"},
    {"POST", "/api/v2/repositories/:id/sync", repos_api_repo_sync, 0, "repository_sync"},
    {"GET", "/api/v2/repositories/:id/versions", repos_api_repo_versions, 0, "repository_versions"},
    {"GET", "/api/v2/content_views", repos_api_list, 0, "content_views"},
    {"POST", "/api/v2/content_views", repos_api_create, 0, "content_views"},
    {"GET", "/api/v2/content_views/:id", repos_api_show, 0, "content_view"},
    {"PUT", "/api/v2/content_views/:id", repos_api_update, 0, "content_view"},
    {"DELETE", "/api/v2/content_views/:id", repos_api_delete, 0, "content_view"},
    {"POST", "/api/v2/content_views/:id/publish", repos_api_cv_job, 0, "content_view_publish"},
    {"POST", "/api/v2/content_views/:id/promote", repos_api_cv_job, 0, "content_view_promote"},
    {"GET", "/api/v2/lifecycle_environments", repos_api_list, 0, "lifecycle_environments"},
    {"POST", "/api/v2/lifecycle_environments", repos_api_create, 0, "lifecycle_environments"},
    {"GET", "/api/v2/lifecycle_environments/:id", repos_api_show, 0, "lifecycle_environment"},
    {"DELETE", "/api/v2/lifecycle_environments/:id", repos_api_delete, 0, "lifecycle_environment"},
    {"GET", "/api/v2/errata", repos_api_errata_list, 0, "errata"},
    {"POST", "/api/v2/errata/applicable", repos_api_errata_applicable, 0, "errata_applicable"},
    {"GET", "/api/v2/errata/:id", repos_api_erratum_show, 0, "erratum"},
    {"POST", "/api/v2/content/orphans/remove", repos_api_orphans, 0, "content_orphans"},
};

/* drover_repo_* for /metrics: per repository its packages, errata, size and last sync. */
static void
repos_api_metrics_repos(struct buf *out)
{
	_cleanup_json_ json_t *rows = NULL;
	struct dr_error err;
	size_t i;
	json_t *r;
	static const struct {
		const char *name, *help, *column;
	} families[] = {
	    {"drover_repo_packages", "Packages in the latest version of a repository.",
	        "packages"},
	    {"drover_repo_errata", "Errata in the latest version of a repository.", "errata"},
	    {"drover_repo_size_bytes", "Size of the packages of the latest version.", "size"},
	    {"drover_repo_last_sync_success", "1 when the last sync succeeded, else 0.", "ok"},
	    {"drover_repo_last_sync_timestamp_seconds", "When the last sync ended.", "at"},
	};

	if (store_query("SELECT r.name, COALESCE(v.package_count, 0) AS packages,"
	                " COALESCE(v.erratum_count, 0) AS errata, COALESCE(v.size, 0) AS size,"
	                " CASE WHEN r.last_sync_state = 'succeeded' THEN 1 ELSE 0 END AS ok,"
	                " COALESCE(r.last_sync_at, 0) AS at FROM repo_repositories r"
	                " LEFT JOIN repo_versions v ON v.id = r.latest_version_id ORDER BY r.name",
	        NULL, &rows, &err) < 0)
		return;
	for (size_t f = 0; f < nitems(families); f++) {
		buf_addf(out, "# HELP %s %s\n# TYPE %s gauge\n", families[f].name,
		    families[f].help, families[f].name);
		json_array_foreach(rows, i, r)
		{
			buf_addf(out, "%s{repository=\"", families[f].name);
			metrics_label_escape(out, json_string_value(json_object_get(r, "name")));
			buf_addf(out, "\"} %lld\n",
			    (long long)json_integer_value(json_object_get(r, families[f].column)));
		}
	}
}

/* Install the content and REST routes; before http_server_start. */
void
repos_api_init(void)
{
	http_routes_add(repos_routes, nitems(repos_routes));
	metrics_collector_add(repos_api_metrics_repos);
}
