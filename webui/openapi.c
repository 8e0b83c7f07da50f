/*
 * openapi.c - the OpenAPI 3 document of the REST API, generated from the route table:
 * every /api/ route with its summary, path parameters, list parameters (HTTP_LIST) and
 * the permission it needs (x-permission), so the document cannot drift from the code.
 */
#define LOG_COMPONENT "api"
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "webui/webui.h"

static pthread_once_t openapi_once = PTHREAD_ONCE_INIT;
static char *openapi_text;

/* "/api/v2/jobs/:id" -> "/api/v2/jobs/{id}"; path parameters appended to params. */
static char *
openapi_path(const char *pattern, json_t *params)
{
	struct buf b = BUF_INIT(0);
	const char *p = pattern;

	while (*p != '\0') {
		if (*p == ':' && p > pattern && p[-1] == '/') {
			size_t n = strcspn(p + 1, "/");
			_cleanup_free_ char *name = xstrndup(p + 1, n);

			buf_addf(&b, "{%s}", name);
			json_array_append_new(params,
			    json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", name, "in", "path",
			        "required", 1, "schema", "type",
			        strcmp(name, "id") == 0 ? "integer" : "string"));
			p += n + 1;
		} else if (*p == '*' && p[1] == '\0') {
			buf_adds(&b, "{path}");
			json_array_append_new(params,
			    json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", "path", "in", "path",
			        "required", 1, "schema", "type", "string"));
			p++;
		} else {
			buf_addc(&b, *p++);
		}
	}
	return buf_steal(&b);
}

/* The query parameters every list takes. */
static void
openapi_list_params(json_t *params)
{
	json_array_append_new(params,
	    json_pack("{s:s, s:s, s:s, s:{s:s}}", "name", "search", "in", "query", "description",
	        "A query: name ~ web and state = running, errata.security > 0, not, or, "
	        "parentheses; = != ~ !~ < > <= >= ^ (in) !^, null? and set?",
	        "schema", "type", "string"));
	json_array_append_new(params,
	    json_pack("{s:s, s:s, s:s, s:{s:s}}", "name", "order", "in", "query", "description",
	        "field [asc|desc], comma-separated", "schema", "type", "string"));
	json_array_append_new(params,
	    json_pack("{s:s, s:s, s:{s:s, s:i}}", "name", "page", "in", "query", "schema", "type",
	        "integer", "minimum", 1));
	json_array_append_new(params,
	    json_pack("{s:s, s:s, s:{s:s, s:i, s:i, s:i}}", "name", "per_page", "in", "query",
	        "schema", "type", "integer", "minimum", 1, "maximum", API_PER_PAGE_MAX, "default",
	        API_PER_PAGE_DEFAULT));
}

/* The responses an operation can give. */
static json_t *
openapi_responses(const struct http_route *r)
{
	json_t *resp = json_object();
	bool post = strcmp(r->method, "POST") == 0 && strstr(r->pattern, "/:") == NULL;
	const char *ok = post ? "201" : "200";

	if (r->flags & HTTP_LIST)
		json_object_set_new(resp, ok,
		    json_pack("{s:s, s:{s:{s:{s:s}}}}", "description",
		        "A page of results (Foreman's list shape)", "content", "application/json",
		        "schema", "$ref", "#/components/schemas/List"));
	else
		json_object_set_new(resp, ok, json_pack("{s:s}", "description", "Success"));
	if (!(r->flags & HTTP_PUBLIC)) {
		json_object_set_new(resp, "401",
		    json_pack("{s:s}", "description", "No or an expired token or session"));
		json_object_set_new(resp, "403",
		    json_pack("{s:s}", "description", "The role lacks the permission"));
	}
	if (strstr(r->pattern, "/:") != NULL)
		json_object_set_new(resp, "404",
		    json_pack("{s:s}", "description", "No such object (or not in your scope)"));
	if (strcmp(r->method, "GET") != 0 || (r->flags & HTTP_LIST))
		json_object_set_new(resp, "422",
		    json_pack("{s:s, s:{s:{s:{s:s}}}}", "description",
		        "Invalid input, a message per field", "content", "application/json",
		        "schema", "$ref", "#/components/schemas/Error"));
	if (strcmp(r->method, "GET") != 0)
		json_object_set_new(resp, "409",
		    json_pack("{s:s}", "description", "Conflicts with the current state"));
	if (strcmp(r->method, "GET") == 0)
		json_object_set_new(resp, "304",
		    json_pack("{s:s}", "description", "Not modified (If-None-Match)"));
	return resp;
}

/* Build the document once the route table is fixed. */
static void
openapi_build(void)
{
	json_t *doc, *paths = json_object();
	char res[64], act[64];

	for (size_t i = 0; i < http_routes_count(); i++) {
		const struct http_route *r = http_routes_get(i);
		json_t *params = json_array(), *op, *item;
		_cleanup_free_ char *path = NULL, *method = NULL, *opid = NULL;

		if (!str_has_prefix(r->pattern, "/api/") || (r->flags & HTTP_HTML)) {
			json_decref(params);
			continue;
		}
		path = openapi_path(r->pattern, params);
		if (r->flags & HTTP_LIST)
			openapi_list_params(params);
		method = xstrdup(r->method);
		for (char *c = method; *c != '\0'; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
		opid = xasprintf("%s_%s", method, r->name != NULL ? r->name : r->pattern);
		op = json_pack("{s:s, s:s, s:o, s:o}", "summary",
		    r->summary != NULL ? r->summary : r->pattern, "operationId", opid,
		    "parameters", params, "responses", openapi_responses(r));
		if (r->flags & HTTP_PUBLIC) {
			json_object_set_new(op, "security", json_array());
		} else if (auth_route_permission(r, res, sizeof res, act, sizeof act)) {
			json_object_set_new(op, "x-permission", json_sprintf("%s:%s", res, act));
			json_object_set_new(op, "tags", json_pack("[s]", res));
		}
		if (strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0 ||
		    strcmp(r->method, "PATCH") == 0)
			json_object_set_new(op, "requestBody",
			    json_pack("{s:{s:{s:{s:s}}}}", "content", "application/json", "schema",
			        "type", "object"));
		if ((item = json_object_get(paths, path)) == NULL) {
			item = json_object();
			json_object_set_new(paths, path, item);
		}
		json_object_set_new(item, method, op);
	}
	doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:{s:{s:s, s:s}, s:{s:s, s:s, s:s}},"
	                " s:{s:o, s:o}}, s:[{s:[]}, {s:[]}]}",
	    "openapi", "3.0.3", "info", "title", "Drover API", "version", PACKAGE_VERSION,
	    "description",
	    "droverd's REST API. Authenticate with a bearer token from POST /api/v2/tokens "
	    "(drover login), or a UI session cookie plus the X-CSRF-Token header.",
	    "paths", paths, "components", "securitySchemes", "bearer", "type", "http", "scheme",
	    "bearer", "session", "type", "apiKey", "in", "cookie", "name", AUTH_SESSION_COOKIE,
	    "schemas", "List",
	    json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:b}, s:{s:s}}}",
	        "type", "object", "properties", "total", "type", "integer", "subtotal", "type",
	        "integer", "page", "type", "integer", "per_page", "type", "integer", "search",
	        "type", "string", "nullable", 1, "results", "type", "array"),
	    "Error",
	    json_pack("{s:s, s:{s:{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}}}}}", "type", "object",
	        "properties", "error", "type", "object", "properties", "status", "type", "integer",
	        "message", "type", "string", "fields", "type", "object"),
	    "security", "bearer", "session");
	openapi_text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(doc);
	if (openapi_text == NULL)
		fatalx("openapi: json_dumps failed");
}

/* GET /api/v2/openapi.json */
int
api_openapi(struct http_request *req, struct http_response *resp)
{
	pthread_once(&openapi_once, openapi_build);
	http_reply_text(resp, 200, "application/json", openapi_text, strlen(openapi_text));
	return 0;
}
