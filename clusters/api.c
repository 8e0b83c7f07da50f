/* api.c - the clusters' REST routes (/api/v2/clusters) and pages (/ui/clusters). */
#define LOG_COMPONENT "clusters"
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "clusters/clusters.h"
#include "webui/webui.h"

static const struct search_field cluster_search_fields[] = {
    {"name", "clusters.name", SEARCH_TEXT, SEARCH_DEFAULT},
    {"kind", "clusters.kind", SEARCH_TEXT, 0},
    {"mesh", "clusters.mesh", SEARCH_TEXT, 0},
    {"state", "clusters.state", SEARCH_TEXT, 0},
    {"id", "clusters.id", SEARCH_INT, 0},
    {"updated_at", "clusters.updated_at", SEARCH_TIME, 0},
};

static const struct api_resource cluster_api_resource = {
    .name = "clusters",
    .select = "clusters.id AS id, clusters.name AS name, clusters.kind AS kind,"
              " clusters.mesh AS mesh, clusters.state AS state,"
              " clusters.control_plane_hostgroup_id AS control_plane_hostgroup_id,"
              " clusters.worker_hostgroup_id AS worker_hostgroup_id,"
              " clusters.versions AS versions_json, clusters.last_job_id AS last_job_id,"
              " clusters.created_at AS created_at, clusters.updated_at AS updated_at",
    .from = "clusters",
    .id_sql = "clusters.id",
    .order = "clusters.name",
    .fields = cluster_search_fields,
    .nfields = nitems(cluster_search_fields),
};

/* Reply with a cluster_*() failure. */
static int
cluster_api_fail(struct http_response *resp, int rc, const struct dr_error *err)
{
	if (rc == CLUSTER_E_INVALID) {
		const char *colon = strchr(err->msg, ':');
		_cleanup_free_ char *field = colon != NULL
		    ? xstrndup(err->msg, (size_t)(colon - err->msg))
		    : xstrdup("body");
		api_reply_invalid(resp, json_pack("{s:s}", field, err->msg), err->msg);
		return 0;
	}
	http_reply_error(resp,
	    rc == CLUSTER_E_NOTFOUND       ? 404
	        : rc == CLUSTER_E_CONFLICT ? 409
	                                   : 500,
	    "%s", err->msg);
	return 0;
}

/* The JSON object body ({} when empty); replies and returns -1 otherwise. */
static int
cluster_api_body(struct http_request *req, struct http_response *resp, json_t **ret)
{
	struct dr_error err = {0};
	size_t len = 0;
	json_t *body;

	http_request_body(req, &len);
	if (len == 0) {
		*ret = json_object();
		return 0;
	}
	if (http_request_json(req, &body, &err) < 0) {
		http_reply_error(resp, 400, "%s", err.msg);
		return -1;
	}
	if (!json_is_object(body)) {
		json_decref(body);
		http_reply_error(resp, 422, "request body: expected a JSON object");
		return -1;
	}
	*ret = body;
	return 0;
}

/* The cluster of the :id parameter within the caller's scope, or NULL after a 404. */
static json_t *
cluster_api_find(struct http_request *req, struct http_response *resp)
{
	const char *id = http_request_param(req, "id");
	json_t *c = cluster_get(id);

	if (c == NULL ||
	    !api_in_scope(
	        req, &cluster_api_resource, json_integer_value(json_object_get(c, "id")))) {
		json_decref(c);
		http_reply_error(resp, 404, "no cluster '%.100s'", id);
		return NULL;
	}
	return c;
}

/* GET /api/v2/clusters */
static int
cluster_api_list(struct http_request *req, struct http_response *resp)
{
	return api_list(req, resp, &cluster_api_resource, NULL, NULL);
}

/* GET /api/v2/clusters/:id */
static int
cluster_api_show(struct http_request *req, struct http_response *resp)
{
	json_t *c = cluster_api_find(req, resp);

	if (c != NULL)
		http_reply_json(resp, 200, c);
	return 0;
}

/* POST /api/v2/clusters */
static int
cluster_api_create(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL;
	struct dr_error err = {0};
	_cleanup_free_ char *ids = NULL;
	int64_t id;
	int rc;

	if (cluster_api_body(req, resp, &body) < 0)
		return 0;
	rc = cluster_create(body, http_request_user(req), http_request_remote(req), &id, &err);
	if (rc < 0)
		return cluster_api_fail(resp, rc, &err);
	ids = xasprintf("%lld", (long long)id);
	http_reply_json(resp, 201, cluster_get(ids));
	return 0;
}

/* PUT /api/v2/clusters/:id */
static int
cluster_api_update(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL, *c = cluster_api_find(req, resp);
	struct dr_error err = {0};
	_cleanup_free_ char *ids = NULL;
	int rc;

	if (c == NULL || cluster_api_body(req, resp, &body) < 0)
		return 0;
	ids = xasprintf("%lld", (long long)json_integer_value(json_object_get(c, "id")));
	rc = cluster_update(ids, body, http_request_user(req), http_request_remote(req), &err);
	if (rc < 0)
		return cluster_api_fail(resp, rc, &err);
	http_reply_json(resp, 200, cluster_get(ids));
	return 0;
}

/* DELETE /api/v2/clusters/:id */
static int
cluster_api_delete(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *c = cluster_api_find(req, resp);
	struct dr_error err = {0};
	_cleanup_free_ char *ids = NULL;
	int rc;

	if (c == NULL)
		return 0;
	ids = xasprintf("%lld", (long long)json_integer_value(json_object_get(c, "id")));
	rc = cluster_delete(ids, http_request_user(req), http_request_remote(req), &err);
	if (rc < 0)
		return cluster_api_fail(resp, rc, &err);
	http_reply_json(resp, 200, json_incref(c));
	return 0;
}

/* POST /api/v2/clusters/:id/deploy {"check"?, "limit"?} -> 202 {"job_id"} */
static int
cluster_api_deploy(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL, *c = cluster_api_find(req, resp);
	struct dr_error err = {0};
	_cleanup_free_ char *ids = NULL;
	json_t *check, *limit;
	int64_t job_id;
	int rc;

	if (c == NULL || cluster_api_body(req, resp, &body) < 0)
		return 0;
	check = json_object_get(body, "check");
	limit = json_object_get(body, "limit");
	if ((check != NULL && !json_is_boolean(check)) ||
	    (limit != NULL && (!json_is_string(limit) || json_string_length(limit) > 4096))) {
		api_reply_invalid(resp,
		    json_pack("{s:s}",
		        check != NULL && !json_is_boolean(check) ? "check" : "limit",
		        check != NULL && !json_is_boolean(check) ? "expected true or false"
		                                                 : "expected a host pattern"),
		    "invalid deploy options");
		return 0;
	}
	ids = xasprintf("%lld", (long long)json_integer_value(json_object_get(c, "id")));
	rc = cluster_deploy(ids, json_is_true(check), json_string_value(limit),
	    http_request_user(req), http_request_remote(req), &job_id, &err);
	if (rc < 0)
		return cluster_api_fail(resp, rc, &err);
	http_reply_json(resp, 202,
	    json_pack("{s:I,s:O,s:b}", "job_id", (json_int_t)job_id, "cluster",
	        json_object_get(c, "name"), "check", json_is_true(check)));
	return 0;
}

/* An error page. */
static int
cluster_ui_error(struct http_request *req, struct http_response *resp, int status, const char *msg)
{
	ui_render(req, resp, status, "error.html", "Error",
	    json_pack("{s:i,s:s}", "status", status, "message", msg));
	return 0;
}

/* GET /ui/clusters */
static int
cluster_ui_list(struct http_request *req, struct http_response *resp)
{
	struct dr_error err = {0};
	json_t *rows = NULL;
	int64_t total = 0;

	if (api_list_query(&cluster_api_resource, NULL, NULL, NULL, 1, 1000, &rows, &total, &err) <
	    0)
		return cluster_ui_error(req, resp, 500, err.msg);
	ui_render(req, resp, 200, "clusters.html", "Clusters", json_pack("{s:o}", "rows", rows));
	return 0;
}

/* GET /ui/clusters/:id */
static int
cluster_ui_show(struct http_request *req, struct http_response *resp)
{
	const char *id = http_request_param(req, "id");
	json_t *c = cluster_get(id);
	_cleanup_free_ char *title = NULL;

	if (c == NULL ||
	    !api_in_scope(
	        req, &cluster_api_resource, json_integer_value(json_object_get(c, "id")))) {
		json_decref(c);
		return cluster_ui_error(req, resp, 404, "no such cluster");
	}
	title = xasprintf("Cluster %s", json_string_value(json_object_get(c, "name")));
	ui_render(req, resp, 200, "cluster.html", title,
	    json_pack("{s:o,s:b}", "cluster", c, "can_deploy", ui_can(req, "clusters", "deploy")));
	return 0;
}

/* POST /ui/clusters/:id/deploy (form: check) -> the job's page */
static int
cluster_ui_deploy(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *c = cluster_get(http_request_param(req, "id")), *form = NULL;
	struct dr_error err = {0};
	_cleanup_free_ char *ids = NULL, *loc = NULL;
	int64_t job_id;
	int rc;

	if (c == NULL ||
	    !api_in_scope(
	        req, &cluster_api_resource, json_integer_value(json_object_get(c, "id"))))
		return cluster_ui_error(req, resp, 404, "no such cluster");
	if (http_request_form(req, &form, &err) < 0)
		return cluster_ui_error(req, resp, 400, err.msg);
	ids = xasprintf("%lld", (long long)json_integer_value(json_object_get(c, "id")));
	rc = cluster_deploy(ids,
	    json_is_string(json_object_get(form, "check")) &&
	        strcmp(json_string_value(json_object_get(form, "check")), "true") == 0,
	    NULL, http_request_user(req), http_request_remote(req), &job_id, &err);
	if (rc < 0)
		return cluster_ui_error(req, resp, -rc, err.msg);
	loc = xasprintf("/ui/jobs/%lld", (long long)job_id);
	http_reply_redirect(resp, loc);
	return 0;
}

/* clang-format off */
static const struct http_route cluster_routes[] = {
    {"GET", "/ui/clusters", cluster_ui_list, HTTP_HTML, "ui_clusters", "clusters", "view", NULL},
    {"GET", "/ui/clusters/:id", cluster_ui_show, HTTP_HTML, "ui_cluster", "clusters", "view", NULL},
    {"POST", "/ui/clusters/:id/deploy", cluster_ui_deploy, HTTP_HTML, "ui_cluster_deploy", "clusters", "deploy", NULL},
    {"GET", "/api/v2/clusters", cluster_api_list, HTTP_LIST, "clusters", NULL, NULL, "List clusters"},
    {"POST", "/api/v2/clusters", cluster_api_create, 0, "cluster_create", NULL, NULL, "Create a cluster"},
    {"GET", "/api/v2/clusters/:id", cluster_api_show, 0, "cluster", NULL, NULL, "One cluster with its members and their state"},
    {"PUT", "/api/v2/clusters/:id", cluster_api_update, 0, "cluster_update", NULL, NULL, "Change a cluster"},
    {"DELETE", "/api/v2/clusters/:id", cluster_api_delete, 0, "cluster_delete", NULL, NULL, "Delete a cluster"},
    {"POST", "/api/v2/clusters/:id/deploy", cluster_api_deploy, 0, "cluster_deploy", NULL, NULL, "Deploy (or check) a cluster: a cluster_deploy job"},
};
/* clang-format on */

/* Add the routes and the list resource; before the server starts. */
void
clusters_api_init(void)
{
	static const struct ui_nav nav[] = {{"Clusters", "/ui/clusters", "clusters", 40}};

	api_resource_register(&cluster_api_resource);
	http_routes_add(cluster_routes, nitems(cluster_routes));
	ui_nav_add(nav, nitems(nav));
}
