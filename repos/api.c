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

/*
 * Lists go through the API framework (webui/api.c): the search language, order, paging
 * and the caller's role filter. Each list's columns are those repo_*_list() and
 * repo_*_get() show, so the CLI and the API keep their shapes.
 */
static const struct search_field repos_api_product_fields[] = {
    {"id", "p.id", SEARCH_INT},
    {"name", "p.name", SEARCH_TEXT, SEARCH_DEFAULT},
    {"description", "p.description", SEARCH_TEXT, SEARCH_DEFAULT},
    {"repository", "r.name", SEARCH_TEXT, 0, "FROM repo_repositories r WHERE r.product_id = p.id"},
    {"created_at", "p.created_at", SEARCH_TIME},
    {"updated_at", "p.updated_at", SEARCH_TIME},
};

static const struct api_resource repos_api_products = {
    .name = "products",
    .select = "p.id AS id, p.name AS name, p.description AS description,"
              " p.created_at AS created_at, p.updated_at AS updated_at,"
              " (SELECT COUNT(*) FROM repo_repositories r WHERE r.product_id = p.id)"
              " AS repository_count",
    .from = "repo_products p",
    .id_sql = "p.id",
    .order = "p.name",
    .fields = repos_api_product_fields,
    .nfields = nitems(repos_api_product_fields),
};

static const struct search_field repos_api_repo_fields[] = {
    {"id", "r.id", SEARCH_INT},
    {"name", "r.name", SEARCH_TEXT, SEARCH_DEFAULT},
    {"product", "p.name", SEARCH_TEXT, SEARCH_DEFAULT},
    {"type", "r.type", SEARCH_TEXT},
    {"url", "r.url", SEARCH_TEXT},
    {"distribution", "r.distribution", SEARCH_TEXT},
    {"download_policy", "r.download_policy", SEARCH_TEXT},
    {"mirroring_policy", "r.mirroring_policy", SEARCH_TEXT},
    {"last_sync_state", "r.last_sync_state", SEARCH_TEXT},
    {"last_sync_at", "r.last_sync_at", SEARCH_TIME},
    {"latest_version", "(SELECT v.number FROM repo_versions v WHERE v.id = r.latest_version_id)",
        SEARCH_INT},
    {"created_at", "r.created_at", SEARCH_TIME},
    {"updated_at", "r.updated_at", SEARCH_TIME},
};

/* The columns of repo_get() (repos/repo.c). */
static const struct api_resource repos_api_repositories = {
    .name = "repositories",
    .select = "r.id, r.name, p.name AS product, r.product_id, r.type, r.url, r.distribution,"
              " r.components, r.architectures, r.gpg_key, r.errata_url, r.download_policy,"
              " r.mirroring_policy, r.include_patterns AS include_json,"
              " r.exclude_patterns AS exclude_json, r.retain_versions,"
              " r.download_concurrency, r.bandwidth_limit, r.upstream_checksum,"
              " (SELECT COALESCE(SUM(u.size), 0) FROM repo_units u WHERE u.id IN"
              "  (SELECT vu.unit_id FROM repo_version_units vu JOIN repo_versions v"
              "   ON v.id = vu.version_id WHERE v.repository_id = r.id)) AS disk_use,"
              " r.latest_version_id, (SELECT number FROM repo_versions v"
              "  WHERE v.id = r.latest_version_id) AS latest_version,"
              " r.last_sync_at, r.last_sync_state, r.last_sync_error, r.created_at,"
              " r.updated_at",
    .from = "repo_repositories r JOIN repo_products p ON p.id = r.product_id",
    .id_sql = "r.id",
    .order = "r.name",
    .fields = repos_api_repo_fields,
    .nfields = nitems(repos_api_repo_fields),
};

static const struct search_field repos_api_cv_fields[] = {
    {"id", "c.id", SEARCH_INT},
    {"name", "c.name", SEARCH_TEXT, SEARCH_DEFAULT},
    {"description", "c.description", SEARCH_TEXT, SEARCH_DEFAULT},
    {"repository", "e.value", SEARCH_TEXT, 0, "FROM json_each(c.repositories) e WHERE 1"},
    {"environment", "le.name", SEARCH_TEXT, 0,
        "FROM repo_cv_environments ce JOIN repo_lifecycle_environments le"
        " ON le.id = ce.environment_id WHERE ce.content_view_id = c.id"},
    {"created_at", "c.created_at", SEARCH_TIME},
    {"updated_at", "c.updated_at", SEARCH_TIME},
};

static const struct api_resource repos_api_cvs = {
    .name = "content_views",
    .select = "c.id AS id, c.name AS name, c.description AS description,"
              " c.repositories AS repositories_json,"
              " (SELECT CAST(MAX(major) AS TEXT) FROM repo_cv_versions v"
              "  WHERE v.content_view_id = c.id) AS latest_major",
    .from = "repo_content_views c",
    .id_sql = "c.id",
    .order = "c.name",
    .fields = repos_api_cv_fields,
    .nfields = nitems(repos_api_cv_fields),
};

static const struct search_field repos_api_env_fields[] = {
    {"id", "e.id", SEARCH_INT},
    {"name", "e.name", SEARCH_TEXT, SEARCH_DEFAULT},
    {"prior", "pr.name", SEARCH_TEXT},
    {"description", "e.description", SEARCH_TEXT, SEARCH_DEFAULT},
    {"content_view", "c.name", SEARCH_TEXT, 0,
        "FROM repo_cv_environments ce JOIN repo_content_views c ON c.id = ce.content_view_id"
        " WHERE ce.environment_id = e.id"},
    {"created_at", "e.created_at", SEARCH_TIME},
};

static const struct api_resource repos_api_envs = {
    .name = "lifecycle_environments",
    .select = "e.id AS id, e.name AS name, pr.name AS prior, e.description AS description,"
              " e.created_at AS created_at",
    .from = "repo_lifecycle_environments e LEFT JOIN repo_lifecycle_environments pr"
            " ON pr.id = e.prior_id",
    .id_sql = "e.id",
    .order = "e.id",
    .fields = repos_api_env_fields,
    .nfields = nitems(repos_api_env_fields),
};

static const struct search_field repos_api_errata_fields[] = {
    {"id", "repo_errata.id", SEARCH_INT},
    {"erratum_id", "repo_errata.erratum_id", SEARCH_TEXT, SEARCH_DEFAULT},
    {"title", "repo_errata.title", SEARCH_TEXT, SEARCH_DEFAULT},
    {"type", "repo_errata.type", SEARCH_TEXT},
    {"severity", "repo_errata.severity", SEARCH_TEXT},
    {"cve", "ref.value ->> 'id'", SEARCH_TEXT, 0,
        "FROM json_each(repo_errata.data, '$.references') ref"
        " WHERE ref.value ->> 'type' = 'cve'"},
    {"package", "pkg.value ->> 'name'", SEARCH_TEXT, 0,
        "FROM json_each(repo_errata.data, '$.packages') pkg WHERE 1"},
    {"repository", "rr.name", SEARCH_TEXT, 0,
        "FROM repo_version_errata ve JOIN repo_repositories rr"
        " ON rr.latest_version_id = ve.version_id WHERE ve.erratum_id = repo_errata.id"},
    {"issued_at", "repo_errata.issued_at", SEARCH_TIME},
    {"updated_at", "repo_errata.updated_at", SEARCH_TIME},
};

static const struct api_resource repos_api_errata = {
    .name = "errata",
    .select = "id, erratum_id, type, severity, title, issued_at, updated_at",
    .from = "repo_errata",
    .id_sql = "repo_errata.id",
    .order = "repo_errata.issued_at DESC, repo_errata.erratum_id",
    .fields = repos_api_errata_fields,
    .nfields = nitems(repos_api_errata_fields),
};

/* The plain resources: one row of functions each, found by the path's prefix. */
static const struct repos_api_resource {
	const char *prefix; /* "/api/v2/products" */
	const char *what; /* audit resource and messages */
	const struct api_resource *api; /* lists and role filters */
	json_t *(*get)(const char *name_or_id);
	int (*create)(const json_t *spec, int64_t *ret_id, struct dr_error *err);
	int (*update)(int64_t id, const json_t *spec, struct dr_error *err);
	int (*del)(int64_t id, struct dr_error *err);
} repos_api_resources[] = {
    {"/api/v2/products", "product", &repos_api_products, repo_product_get, repo_product_create,
        repo_product_update, repo_product_delete},
    {"/api/v2/repositories", "repository", &repos_api_repositories, repo_get, repo_create,
        repo_update, repo_delete},
    {"/api/v2/content_views", "content_view", &repos_api_cvs, repo_cv_get, repo_cv_create,
        repo_cv_update, repo_cv_delete},
    {"/api/v2/lifecycle_environments", "lifecycle_environment", &repos_api_envs, repo_env_get,
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

/* GET <resource>; repositories also take ?product=NAME. */
static int
repos_api_list(struct http_request *req, struct http_response *resp)
{
	const struct repos_api_resource *r = repos_api_resource(req);
	const char *product = http_request_query(req, "product");
	_cleanup_json_ json_t *params = NULL;

	if (r->api == &repos_api_repositories && product != NULL) {
		params = json_pack("[s]", product);
		return api_list(req, resp, r->api, "p.name = ?", params);
	}
	return api_list(req, resp, r->api, NULL, NULL);
}

/* The object named by :id (a name or a number) when the caller's role lets this route
 * see it, or a 404 reply: hidden objects look absent. */
static json_t *
repos_api_find(
    const struct repos_api_resource *r, struct http_request *req, struct http_response *resp)
{
	json_t *o = r->get(http_request_param(req, "id"));

	if (o != NULL &&
	    !api_in_scope(req, r->api, json_integer_value(json_object_get(o, "id")))) {
		json_decref(o);
		o = NULL;
	}
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
		http_reply_error(resp, json_is_object(body) ? repos_api_write_status(&err) : 422,
		    "%s", json_is_object(body) ? err.msg : "expected an object");
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
repos_api_job(
    struct http_request *req, struct http_response *resp, const char *kind, json_t *params)
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
	_cleanup_json_ json_t *repo = repos_api_find(&repos_api_resources[1], req, resp);

	if (repo == NULL)
		return 0;
	repos_api_job(req, resp, "repo_sync",
	    json_pack("{s:O}", "repository", json_object_get(repo, "name")));
	return 0;
}

/* GET /api/v2/repositories/:id/versions */
static int
repos_api_repo_versions(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *repo = repos_api_find(&repos_api_resources[1], req, resp);
	json_t *rows = NULL;
	struct dr_error err;

	if (repo == NULL)
		return 0;
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
	_cleanup_json_ json_t *cv = repos_api_find(&repos_api_resources[2], req, resp);
	_cleanup_json_ json_t *body = NULL;
	bool publish = str_has_suffix(http_request_path(req), "/publish");
	struct dr_error err;
	json_t *params;

	if (cv == NULL)
		return 0;
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
	repos_api_job(
	    req, resp, publish ? "content_view_publish" : "content_view_promote", params);
	return 0;
}

/* POST /api/v2/content/orphans/remove */
static int
repos_api_orphans(struct http_request *req, struct http_response *resp)
{
	repos_api_job(req, resp, "repo_orphans_remove", json_object());
	return 0;
}

/* GET /api/v2/errata?search=&order=&page=&per_page=, and the filters the CLI has always
 * sent: type=, severity=, cve= (any reference), repository=, since=, until=. */
static int
repos_api_errata_list(struct http_request *req, struct http_response *resp)
{
	static const struct {
		const char *key, *sql;
	} filters[] = {
	    {"type", "repo_errata.type = ?"},
	    {"severity", "repo_errata.severity = ?"},
	    {"cve",
	        "EXISTS (SELECT 1 FROM json_each(repo_errata.data, '$.references') ref"
	        " WHERE ref.value ->> 'id' = ?)"},
	    {"repository",
	        "repo_errata.id IN (SELECT ve.erratum_id FROM repo_version_errata ve"
	        " JOIN repo_repositories r ON r.latest_version_id = ve.version_id"
	        " WHERE r.name = ?)"},
	    {"since", "repo_errata.issued_at >= ?"},
	    {"until", "repo_errata.issued_at <= ?"},
	};
	_cleanup_json_ json_t *params = json_array();
	struct buf extra = BUF_INIT(4096);
	size_t i;
	int r;

	buf_adds(&extra, "1 = 1");
	for (i = 0; i < nitems(filters); i++) {
		const char *v = http_request_query(req, filters[i].key);

		if (v == NULL)
			continue;
		buf_addf(&extra, " AND %s", filters[i].sql);
		if (i >= 4) {
			int64_t t = repo_date_parse(v);

			if (t == 0 && strcmp(v, "0") != 0) {
				buf_free(&extra);
				api_reply_invalid(resp,
				    json_pack("{s:s}", filters[i].key, "expected a date"),
				    "expected a date (YYYY-MM-DD)");
				return 0;
			}
			json_array_append_new(params, json_integer(t));
		} else {
			json_array_append_new(params, json_string(v));
		}
	}
	r = api_list(req, resp, &repos_api_errata, extra.data, params);
	buf_free(&extra);
	return r;
}

/* GET /api/v2/errata/:id */
static int
repos_api_erratum_show(struct http_request *req, struct http_response *resp)
{
	const char *id = http_request_param(req, "id");
	json_t *e = repo_erratum_get(id);
	_cleanup_json_ json_t *row = store_query_one(NULL,
	    "SELECT id FROM repo_errata WHERE erratum_id = ? ORDER BY updated_at DESC, id DESC",
	    "[s]", id);

	/* A role filtered on errata sees only the errata its search selects. */
	if (e != NULL &&
	    (row == NULL ||
	        !api_in_scope(
	            req, &repos_api_errata, json_integer_value(json_object_get(row, "id"))))) {
		json_decref(e);
		e = NULL;
	}
	if (e == NULL)
		http_reply_error(resp, 404, "no erratum '%s'", id);
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
		repos_api_errata_applicable_many(
		    resp, json_object_get(body, "profiles"), ids, type);
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
    {"GET", "/api/v2/products", repos_api_list, HTTP_LIST, "products"},
    {"POST", "/api/v2/products", repos_api_create, 0, "products"},
    {"GET", "/api/v2/products/:id", repos_api_show, 0, "product"},
    {"PUT", "/api/v2/products/:id", repos_api_update, 0, "product"},
    {"DELETE", "/api/v2/products/:id", repos_api_delete, 0, "product"},
    {"GET", "/api/v2/repositories", repos_api_list, HTTP_LIST, "repositories"},
    {"POST", "/api/v2/repositories", repos_api_create, 0, "repositories"},
    {"GET", "/api/v2/repositories/:id", repos_api_show, 0, "repository"},
    {"PUT", "/api/v2/repositories/:id", repos_api_update, 0, "repository"},
    {"DELETE", "/api/v2/repositories/:id", repos_api_delete, 0, "repository"},
    {"POST", "/api/v2/repositories/:id/sync", repos_api_repo_sync, 0, "repository_sync"},
    {"GET", "/api/v2/repositories/:id/versions", repos_api_repo_versions, 0,
        "repository_versions"},
    {"GET", "/api/v2/content_views", repos_api_list, HTTP_LIST, "content_views"},
    {"POST", "/api/v2/content_views", repos_api_create, 0, "content_views"},
    {"GET", "/api/v2/content_views/:id", repos_api_show, 0, "content_view"},
    {"PUT", "/api/v2/content_views/:id", repos_api_update, 0, "content_view"},
    {"DELETE", "/api/v2/content_views/:id", repos_api_delete, 0, "content_view"},
    {"POST", "/api/v2/content_views/:id/publish", repos_api_cv_job, 0, "content_view_publish"},
    {"POST", "/api/v2/content_views/:id/promote", repos_api_cv_job, 0, "content_view_promote"},
    {"GET", "/api/v2/lifecycle_environments", repos_api_list, HTTP_LIST, "lifecycle_environments"},
    {"POST", "/api/v2/lifecycle_environments", repos_api_create, 0, "lifecycle_environments"},
    {"GET", "/api/v2/lifecycle_environments/:id", repos_api_show, 0, "lifecycle_environment"},
    {"DELETE", "/api/v2/lifecycle_environments/:id", repos_api_delete, 0, "lifecycle_environment"},
    {"GET", "/api/v2/errata", repos_api_errata_list, HTTP_LIST, "errata"},
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
	api_resource_register(&repos_api_products);
	api_resource_register(&repos_api_repositories);
	api_resource_register(&repos_api_cvs);
	api_resource_register(&repos_api_envs);
	api_resource_register(&repos_api_errata);
	http_routes_add(repos_routes, nitems(repos_routes));
	metrics_collector_add(repos_api_metrics_repos);
}
