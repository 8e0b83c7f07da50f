/*
 * ui.c - the content pages: repositories (create, sync now with the job's live output,
 * last sync state, versions, errata), content views (create, publish, promote to a
 * lifecycle environment), errata (filters by type and severity, one erratum with its
 * packages), and the dashboard's errata and repository widgets. Forms call the same
 * functions as the REST handlers in api.c and submit the same jobs.
 */
#define LOG_COMPONENT "repos"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repos/repos.h"
#include "webui/webui.h"

/* Fields of the repository form, in the order a person fills them. */
static const char *const repos_ui_repo_keys[] = {"name", "product", "type", "url", "distribution",
    "components", "architectures", "errata_url", "download_policy"};

/*
 * The field a failure names: the first form key that appears as a word in the message
 * ("an apt repository needs a distribution" -> distribution), else fallback.
 */
static const char *
repos_ui_error_field(const char *msg, const char *const *keys, size_t n, const char *fallback)
{
	const char *best = NULL, *at = NULL;

	for (size_t i = 0; i < n; i++) {
		const char *p = strstr(msg, keys[i]);

		if (p != NULL && (at == NULL || p < at)) {
			at = p;
			best = keys[i];
		}
	}
	return best != NULL ? best : fallback;
}

/* The :id of a page as a repository, or an error page. Caller frees. */
static json_t *
repos_ui_repo(struct http_request *req, struct http_response *resp)
{
	json_t *repo = repo_get(http_request_param(req, "id"));

	if (repo == NULL)
		ui_error(req, resp, 404, "no such repository");
	return repo;
}

/* The repositories page, with the create forms' values and errors. */
static void
repos_ui_repos_page(
    struct http_request *req, struct http_response *resp, int status, json_t *form, json_t *errors)
{
	json_t *rows = NULL, *products = NULL, *vars;
	struct dr_error err;

	if (repo_list(http_request_query(req, "product"), &rows, &err) < 0 ||
	    repo_product_list(&products, &err) < 0) {
		json_decref(rows);
		json_decref(form);
		json_decref(errors);
		ui_error(req, resp, 500, err.msg);
		return;
	}
	vars = json_pack("{s:o, s:o}", "rows", rows, "products", products);
	ui_form_vars(vars, req, "repositories", (const char *const[]){"create", "sync", NULL},
	    form, errors);
	json_object_set_new(
	    vars, "can_create_product", json_boolean(ui_can(req, "products", "create")));
	ui_render(req, resp, status, "repositories.html", "Repositories", vars);
}

/* GET /ui/repositories[?product=] */
static int
repos_ui_repos(struct http_request *req, struct http_response *resp)
{
	repos_ui_repos_page(req, resp, 200, NULL, NULL);
	return 0;
}

/* A form's non-empty fields of keys as a spec. */
static json_t *
repos_ui_spec(const json_t *form, const char *const *keys, size_t n)
{
	json_t *spec = json_object();

	for (size_t i = 0; i < n; i++) {
		const char *v = ui_field(form, keys[i]);

		if (v != NULL && v[strspn(v, " \t\r\n")] != '\0')
			json_object_set_new(spec, keys[i], json_string(v));
	}
	return spec;
}

/* POST /ui/repositories: create; the error goes beside the field it names. */
static int
repos_ui_repo_create(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *form = NULL, *spec = NULL;
	struct dr_error err;
	char to[64];
	int64_t id;

	if (ui_form(req, resp, &form) < 0)
		return 0;
	spec = repos_ui_spec(form, repos_ui_repo_keys, nitems(repos_ui_repo_keys));
	if (repo_create(spec, &id, &err) < 0) {
		repos_ui_repos_page(req, resp, strstr(err.msg, "already") != NULL ? 409 : 422,
		    json_incref(form),
		    json_pack("{s:s}",
		        repos_ui_error_field(
		            err.msg, repos_ui_repo_keys, nitems(repos_ui_repo_keys), "name"),
		        err.msg));
		return 0;
	}
	store_audit(http_request_user(req), http_request_remote(req), "create", "repository",
	    json_string_value(json_object_get(spec, "name")), NULL, spec, NULL);
	snprintf(to, sizeof to, "/ui/repositories/%lld", (long long)id);
	http_reply_redirect(resp, to);
	return 0;
}

/* POST /ui/products {name, description}: a product for repositories. */
static int
repos_ui_product_create(struct http_request *req, struct http_response *resp)
{
	static const char *const keys[] = {"name", "description"};
	_cleanup_json_ json_t *form = NULL, *spec = NULL, *typed = NULL;
	struct dr_error err;
	int64_t id;

	if (ui_form(req, resp, &form) < 0)
		return 0;
	spec = repos_ui_spec(form, keys, nitems(keys));
	if (repo_product_create(spec, &id, &err) < 0) {
		typed = json_pack("{s:s}", "product_name", ui_field(form, "name") ?: "");
		repos_ui_repos_page(req, resp, strstr(err.msg, "already") != NULL ? 409 : 422,
		    json_incref(typed), json_pack("{s:s}", "product_name", err.msg));
		return 0;
	}
	store_audit(http_request_user(req), http_request_remote(req), "create", "product",
	    json_string_value(json_object_get(spec, "name")), NULL, spec, NULL);
	http_reply_redirect(resp, "/ui/repositories");
	return 0;
}

/* GET /ui/repositories/:id: state, versions, errata of the latest version. */
static int
repos_ui_repo_show(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *repo = repos_ui_repo(req, resp), *filter = NULL, *recent = NULL;
	json_t *versions = NULL, *errata = NULL, *vars, *jobs = NULL, *row;
	size_t i;
	struct dr_error err;
	int64_t total = 0;
	char title[REPO_NAME_MAX + 32];

	if (repo == NULL)
		return 0;
	if (repo_version_list(json_integer_value(json_object_get(repo, "id")), &versions, &err) <
	    0)
		versions = json_array();
	filter = json_pack("{s:O}", "repository", json_object_get(repo, "name"));
	if (repo_errata_list(filter, 50, 0, &errata, &total, &err) < 0)
		errata = json_array();
	/* The recent sync jobs of this repository, newest first. */
	jobs = json_array();
	if (store_query("SELECT id, state, created_at, finished_at, error, params AS params_json"
	                " FROM jobs WHERE kind = 'repo_sync' ORDER BY id DESC LIMIT 200",
	        NULL, &recent, &err) == 0) {
		json_array_foreach(recent, i, row)
		{
			json_t *name =
			    json_object_get(json_object_get(row, "params"), "repository");

			if (json_equal(name, json_object_get(repo, "name")) &&
			    json_array_size(jobs) < 5)
				json_array_append(jobs, row);
		}
	}
	vars = json_pack("{s:O, s:o, s:o, s:I, s:o}", "repo", repo, "versions", versions, "errata",
	    errata, "errata_total", (json_int_t)total, "jobs", jobs);
	ui_form_vars(vars, req, "repositories",
	    (const char *const[]){"sync", "edit", "delete", NULL}, NULL, NULL);
	snprintf(title, sizeof title, "Repository %s",
	    json_string_value(json_object_get(repo, "name")));
	ui_render(req, resp, 200, "repository.html", title, vars);
	return 0;
}

/* Fields of the repository edit form (type cannot change). */
static const char *const repos_ui_edit_keys[] = {"name", "product", "url", "distribution",
    "components", "architectures", "errata_url", "download_policy", "mirroring_policy",
    "retain_versions", "download_concurrency", "bandwidth_limit", "include", "exclude", "gpg_key"};

/* A list field of a form ("a, b" or one per line) as an array of strings. */
static json_t *
repos_ui_list_field(const char *text)
{
	_cleanup_free_ char *copy = xstrdup(text);
	json_t *out = json_array();
	char *save = NULL, *tok;

	for (tok = strtok_r(copy, ",\n", &save); tok != NULL; tok = strtok_r(NULL, ",\n", &save))
		if (*str_trim(tok) != '\0')
			json_array_append_new(out, json_string(str_trim(tok)));
	return out;
}

/* The edit page of a repository: the stored values, or what was typed and the error. */
static void
repos_ui_edit_page(struct http_request *req, struct http_response *resp, int status,
    const json_t *repo, json_t *form, json_t *errors)
{
	json_t *products = NULL, *vars;
	struct dr_error err;
	char title[REPO_NAME_MAX + 32];

	if (repo_product_list(&products, &err) < 0)
		products = json_array();
	vars = json_pack("{s:O, s:o}", "repo", repo, "products", products);
	if (form == NULL) {
		/* The stored values as the form shows them: lists one per line. */
		form = json_object();
		for (size_t i = 0; i < nitems(repos_ui_edit_keys); i++) {
			const char *k = repos_ui_edit_keys[i];
			json_t *v = json_object_get(repo, k);
			struct buf b = BUF_INIT(0);
			size_t j;
			json_t *e;

			if (json_is_array(v)) {
				json_array_foreach(v, j, e)
				    buf_addf(&b, "%s%s", j > 0 ? "\n" : "", json_string_value(e));
				json_object_set_new(form, k, json_string(b.data ? b.data : ""));
			} else if (json_is_integer(v)) {
				json_object_set_new(form, k,
				    json_sprintf("%lld", (long long)json_integer_value(v)));
			} else if (json_is_string(v)) {
				json_object_set(form, k, v);
			}
			buf_free(&b);
		}
	}
	ui_form_vars(vars, req, "repositories", (const char *const[]){"edit", NULL}, form, errors);
	snprintf(title, sizeof title, "Edit repository %s",
	    json_string_value(json_object_get(repo, "name")));
	ui_render(req, resp, status, "repository_edit.html", title, vars);
}

/* GET /ui/repositories/:id/edit */
static int
repos_ui_repo_edit(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *repo = repos_ui_repo(req, resp);

	if (repo != NULL)
		repos_ui_edit_page(req, resp, 200, repo, NULL, NULL);
	return 0;
}

/* POST /ui/repositories/:id/edit: the fields given replace the stored ones (an empty
 * field clears an optional one; fields not sent stay); the error goes beside the field
 * it names. */
static int
repos_ui_repo_update(struct http_request *req, struct http_response *resp)
{
	static const char *const numbers[] = {
	    "retain_versions", "download_concurrency", "bandwidth_limit"};
	_cleanup_json_ json_t *repo = repos_ui_repo(req, resp), *form = NULL, *spec = NULL;
	_cleanup_json_ json_t *after = NULL;
	struct dr_error err;
	char to[64];
	int64_t id;

	if (repo == NULL || ui_form(req, resp, &form) < 0)
		return 0;
	spec = repos_ui_spec(form, repos_ui_edit_keys, nitems(repos_ui_edit_keys));
	/* A field sent empty clears it (a required one is refused beside it). */
	for (size_t i = 0; i < nitems(repos_ui_edit_keys); i++)
		if (ui_field(form, repos_ui_edit_keys[i]) != NULL &&
		    json_object_get(spec, repos_ui_edit_keys[i]) == NULL)
			json_object_set_new(spec, repos_ui_edit_keys[i], json_null());
	for (size_t i = 0; i < nitems(numbers); i++) {
		const char *v = json_string_value(json_object_get(spec, numbers[i]));
		long long n;

		if (v == NULL)
			continue;
		if (str_to_ll(str_trim((char *)v), 0, INT64_MAX, &n) < 0) {
			char msg[128];

			snprintf(msg, sizeof msg, "%s: expected a number", numbers[i]);
			repos_ui_edit_page(req, resp, 422, repo, json_incref(form),
			    json_pack("{s:s}", numbers[i], msg));
			return 0;
		}
		json_object_set_new(spec, numbers[i], json_integer(n));
	}
	for (size_t i = 0; i < 4; i++) {
		static const char *const lists[] = {
		    "components", "architectures", "include", "exclude"};
		const char *v = json_string_value(json_object_get(spec, lists[i]));

		if (v != NULL)
			json_object_set_new(spec, lists[i], repos_ui_list_field(v));
	}
	id = json_integer_value(json_object_get(repo, "id"));
	if (repo_update(id, spec, &err) < 0) {
		repos_ui_edit_page(req, resp, strstr(err.msg, "already") != NULL ? 409 : 422, repo,
		    json_incref(form),
		    json_pack("{s:s}",
		        repos_ui_error_field(
		            err.msg, repos_ui_edit_keys, nitems(repos_ui_edit_keys), "name"),
		        err.msg));
		return 0;
	}
	snprintf(to, sizeof to, "%lld", (long long)id);
	after = repo_get(to);
	store_audit(http_request_user(req), http_request_remote(req), "update", "repository",
	    json_string_value(json_object_get(after, "name")), repo, after, NULL);
	snprintf(to, sizeof to, "/ui/repositories/%lld", (long long)id);
	http_reply_redirect(resp, to);
	return 0;
}

/* POST /ui/repositories/:id/sync: a repo_sync job, followed live on its page. */
static int
repos_ui_repo_sync(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *repo = repos_ui_repo(req, resp), *params = NULL;
	struct dr_error err;
	char to[64];
	int64_t id;

	if (repo == NULL)
		return 0;
	params = json_pack("{s:O}", "repository", json_object_get(repo, "name"));
	if (job_submit("repo_sync", params, http_request_user(req), 0, &id, &err) < 0) {
		ui_error(req, resp, 500, err.msg);
		return 0;
	}
	store_audit(http_request_user(req), http_request_remote(req), "submit", "repo_sync", NULL,
	    NULL, params, NULL);
	snprintf(to, sizeof to, "/ui/jobs/%lld", (long long)id);
	http_reply_redirect(resp, to);
	return 0;
}

/* POST /ui/repositories/:id/delete */
static int
repos_ui_repo_delete(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *repo = repos_ui_repo(req, resp);
	struct dr_error err;

	if (repo == NULL)
		return 0;
	if (repo_delete(json_integer_value(json_object_get(repo, "id")), &err) < 0) {
		ui_error(req, resp, 409, err.msg);
		return 0;
	}
	store_audit(http_request_user(req), http_request_remote(req), "delete", "repository",
	    json_string_value(json_object_get(repo, "name")), repo, NULL, NULL);
	http_reply_redirect(resp, "/ui/repositories");
	return 0;
}

/* The content views page: each view with its versions and environments. */
static void
repos_ui_cvs_page(
    struct http_request *req, struct http_response *resp, int status, json_t *form, json_t *errors)
{
	json_t *list = NULL, *rows = json_array(), *envs = NULL, *repos = NULL, *row, *vars;
	struct dr_error err;
	size_t i;

	if (repo_cv_list(&list, &err) < 0 || repo_env_list(&envs, &err) < 0 ||
	    repo_list(NULL, &repos, &err) < 0) {
		json_decref(list);
		json_decref(envs);
		json_decref(rows);
		json_decref(form);
		json_decref(errors);
		ui_error(req, resp, 500, err.msg);
		return;
	}
	json_array_foreach(list, i, row)
	{
		_cleanup_free_ char *key =
		    xasprintf("%lld", (long long)json_integer_value(json_object_get(row, "id")));
		json_t *cv = repo_cv_get(key);

		if (cv != NULL)
			json_array_append_new(rows, cv);
	}
	json_decref(list);
	vars = json_pack(
	    "{s:o, s:o, s:o}", "rows", rows, "environments", envs, "repositories", repos);
	ui_form_vars(vars, req, "content_views",
	    (const char *const[]){"create", "edit", "publish", "promote", "delete", NULL}, form,
	    errors);
	json_object_set_new(
	    vars, "erratum_types", json_pack("[sss]", "security", "bugfix", "enhancement"));
	json_object_set_new(
	    vars, "can_create_env", json_boolean(ui_can(req, "lifecycle_environments", "create")));
	ui_render(req, resp, status, "content_views.html", "Content views", vars);
}

/* GET /ui/content_views */
static int
repos_ui_cvs(struct http_request *req, struct http_response *resp)
{
	repos_ui_cvs_page(req, resp, 200, NULL, NULL);
	return 0;
}

/* POST /ui/content_views {name, description, repositories (several)} */
static int
repos_ui_cv_create(struct http_request *req, struct http_response *resp)
{
	static const char *const keys[] = {"name", "description"};
	_cleanup_json_ json_t *form = NULL, *spec = NULL;
	json_t *repos;
	struct dr_error err;
	int64_t id;

	if (ui_form(req, resp, &form) < 0)
		return 0;
	spec = repos_ui_spec(form, keys, nitems(keys));
	if (json_object_get(spec, "name") == NULL)
		json_object_set_new(spec, "name", json_string(""));
	repos = json_object_get(form, "repositories");
	json_object_set_new(spec, "repositories",
	    json_is_array(repos) ? json_copy(repos)
	        : repos != NULL  ? json_pack("[O]", repos)
	                         : json_array());
	if (repo_cv_create(spec, &id, &err) < 0) {
		repos_ui_cvs_page(req, resp, strstr(err.msg, "already") != NULL ? 409 : 422,
		    json_incref(form),
		    json_pack("{s:s}",
		        strstr(err.msg, "repositor") != NULL ? "repositories" : "name", err.msg));
		return 0;
	}
	store_audit(http_request_user(req), http_request_remote(req), "create", "content_view",
	    json_string_value(json_object_get(spec, "name")), NULL, spec, NULL);
	http_reply_redirect(resp, "/ui/content_views");
	return 0;
}

/* POST /ui/content_views/:id/publish {description} and …/promote {version, to}: jobs. */
static int
repos_ui_cv_job(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *cv = repo_cv_get(http_request_param(req, "id")), *form = NULL;
	bool publish = str_has_suffix(http_request_path(req), "/publish");
	_cleanup_json_ json_t *params = NULL;
	const char *v;
	struct dr_error err;
	char to[64];
	int64_t id;

	if (cv == NULL) {
		ui_error(req, resp, 404, "no such content view");
		return 0;
	}
	if (ui_form(req, resp, &form) < 0)
		return 0;
	params = json_pack("{s:O}", "content_view", json_object_get(cv, "name"));
	if (publish) {
		if ((v = ui_field(form, "description")) != NULL && *v != '\0')
			json_object_set_new(params, "description", json_string(v));
	} else {
		const char *version = ui_field(form, "version"), *env = ui_field(form, "to");

		if (version == NULL || *version == '\0' || env == NULL || *env == '\0') {
			repos_ui_cvs_page(req, resp, 422,
			    json_pack("{s:O}", "cv", json_object_get(cv, "name")),
			    json_pack("{s:s}", "promote",
			        "choose a published version and an environment"));
			return 0;
		}
		json_object_set_new(params, "version", json_string(version));
		json_object_set_new(params, "to", json_string(env));
	}
	if (job_submit(publish ? "content_view_publish" : "content_view_promote", params,
	        http_request_user(req), 0, &id, &err) < 0) {
		ui_error(req, resp, 500, err.msg);
		return 0;
	}
	store_audit(http_request_user(req), http_request_remote(req), "submit",
	    publish ? "content_view_publish" : "content_view_promote", NULL, NULL, params, NULL);
	snprintf(to, sizeof to, "/ui/jobs/%lld", (long long)id);
	http_reply_redirect(resp, to);
	return 0;
}

/* A date of a filter form ("2026-11-01", the day's start in UTC) into *ret; 0 when
 * empty. */
static int
repos_ui_date(const char *text, const char *what, json_int_t *ret, struct dr_error *err)
{
	_cleanup_free_ char *iso = NULL;
	time_t t;

	*ret = 0;
	if (text == NULL || *text == '\0')
		return 0;
	iso = xasprintf("%sT00:00:00Z", text);
	if (strlen(text) != 10 || tz_parse_time(iso, "UTC", &t, err) < 0)
		return dr_error_set(err, "%s: expected a date as 2026-11-01", what);
	*ret = (json_int_t)t;
	return 0;
}

/* The filter a form describes: {type, exclude, patterns | types, severities, since,
 * until}. */
static json_t *
repos_ui_filter(const json_t *form, struct dr_error *err)
{
	const char *type = ui_field(form, "type"), *v;
	json_t *f, *list, *e;
	json_int_t since, until;
	size_t i;

	if (type == NULL || (strcmp(type, "package") != 0 && strcmp(type, "erratum") != 0)) {
		dr_error_set(err, "filter type: package or erratum");
		return NULL;
	}
	f = json_pack("{s:s, s:b}", "type", type, "exclude",
	    (v = ui_field(form, "mode")) != NULL && strcmp(v, "exclude") == 0);
	if (strcmp(type, "package") == 0) {
		list = repos_ui_list_field(ui_field(form, "patterns") ?: "");
		if (json_array_size(list) == 0) {
			json_decref(list);
			json_decref(f);
			dr_error_set(err, "patterns: name at least one package pattern");
			return NULL;
		}
		json_object_set_new(f, "patterns", list);
		return f;
	}
	list = json_array();
	if (json_is_string(json_object_get(form, "types")))
		json_array_append(list, json_object_get(form, "types"));
	json_array_foreach(json_object_get(form, "types"), i, e) json_array_append(list, e);
	if (json_array_size(list) > 0)
		json_object_set(f, "types", list);
	json_decref(list);
	list = repos_ui_list_field(ui_field(form, "severities") ?: "");
	if (json_array_size(list) > 0)
		json_object_set(f, "severities", list);
	json_decref(list);
	if (repos_ui_date(ui_field(form, "since"), "since", &since, err) < 0 ||
	    repos_ui_date(ui_field(form, "until"), "until", &until, err) < 0) {
		json_decref(f);
		return NULL;
	}
	if (since > 0)
		json_object_set_new(f, "since", json_integer(since));
	if (until > 0)
		json_object_set_new(f, "until", json_integer(until + 86399));
	return f;
}

/* Save filters as cv's, audited; 0, or the cvs page with the error. */
static int
repos_ui_cv_save(struct http_request *req, struct http_response *resp, const json_t *cv,
    json_t *spec, struct dr_error *err)
{
	int64_t id = json_integer_value(json_object_get(cv, "id"));
	_cleanup_json_ json_t *after = NULL;
	char key[32];

	if (repo_cv_update(id, spec, err) < 0)
		return -1;
	snprintf(key, sizeof key, "%lld", (long long)id);
	after = repo_cv_get(key);
	store_audit(http_request_user(req), http_request_remote(req), "update", "content_view",
	    json_string_value(json_object_get(cv, "name")), cv, after, NULL);
	return 0;
}

/*
 * POST /ui/content_views/:id/filters {type, mode, patterns | types, severities, since,
 * until}: one more filter; …/filters/:n/delete: without filter n; …/edit {description,
 * repositories}. What the next publish uses.
 */
static int
repos_ui_cv_edit(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *cv = repo_cv_get(http_request_param(req, "id")), *form = NULL;
	_cleanup_json_ json_t *spec = NULL, *filters = NULL;
	const char *path = http_request_path(req), *n = http_request_param(req, "n");
	struct dr_error err;

	if (cv == NULL) {
		ui_error(req, resp, 404, "no such content view");
		return 0;
	}
	if (ui_form(req, resp, &form) < 0)
		return 0;
	filters = json_deep_copy(json_object_get(cv, "filters"));
	if (!json_is_array(filters)) {
		json_decref(filters);
		filters = json_array();
	}
	if (n != NULL) {
		long long i;

		if (str_to_ll(n, 0, (long long)json_array_size(filters) - 1, &i) < 0) {
			ui_error(req, resp, 404, "no such filter");
			return 0;
		}
		json_array_remove(filters, (size_t)i);
		spec = json_pack("{s:O}", "filters", filters);
	} else if (str_has_suffix(path, "/filters")) {
		json_t *f = repos_ui_filter(form, &err);

		if (f == NULL) {
			repos_ui_cvs_page(req, resp, 422,
			    json_pack("{s:O}", "cv", json_object_get(cv, "name")),
			    json_pack("{s:s}", "filter", err.msg));
			return 0;
		}
		json_array_append_new(filters, f);
		spec = json_pack("{s:O}", "filters", filters);
	} else {
		json_t *repos = json_object_get(form, "repositories");

		spec = json_pack("{s:s, s:o}", "description", ui_field(form, "description") ?: "",
		    "repositories",
		    json_is_array(repos) ? json_copy(repos)
		        : repos != NULL  ? json_pack("[O]", repos)
		                         : json_array());
	}
	if (repos_ui_cv_save(req, resp, cv, spec, &err) < 0) {
		repos_ui_cvs_page(req, resp, 422,
		    json_pack("{s:O}", "cv", json_object_get(cv, "name")),
		    json_pack("{s:s}", "filter", err.msg));
		return 0;
	}
	http_reply_redirect(resp, "/ui/content_views");
	return 0;
}

/* POST /ui/lifecycle_environments {name, prior}: the next environment of a path. */
static int
repos_ui_env_create(struct http_request *req, struct http_response *resp)
{
	static const char *const keys[] = {"name", "prior", "description"};
	_cleanup_json_ json_t *form = NULL, *spec = NULL;
	struct dr_error err;
	int64_t id;

	if (ui_form(req, resp, &form) < 0)
		return 0;
	spec = repos_ui_spec(form, keys, nitems(keys));
	if (json_object_get(spec, "name") == NULL)
		json_object_set_new(spec, "name", json_string(""));
	if (json_object_get(spec, "prior") == NULL)
		json_object_set_new(spec, "prior", json_string("Library"));
	if (repo_env_create(spec, &id, &err) < 0) {
		repos_ui_cvs_page(req, resp, strstr(err.msg, "already") != NULL ? 409 : 422,
		    json_pack("{s:s}", "env_name", ui_field(form, "name") ?: ""),
		    json_pack("{s:s}", "env_name", err.msg));
		return 0;
	}
	store_audit(http_request_user(req), http_request_remote(req), "create",
	    "lifecycle_environment", json_string_value(json_object_get(spec, "name")), NULL, spec,
	    NULL);
	http_reply_redirect(resp, "/ui/content_views");
	return 0;
}

/* GET /ui/errata?type=&severity=&search=&repository=&page=: newest first. */
static int
repos_ui_errata(struct http_request *req, struct http_response *resp)
{
	static const char *const keys[] = {"type", "severity", "search", "repository"};
	_cleanup_json_ json_t *filter = json_object();
	json_t *rows = NULL, *vars, *pager;
	struct buf query = BUF_INIT(0);
	const char *p = http_request_query(req, "page");
	long long page = 1, per_page = 25;
	struct dr_error err;
	int64_t total = 0;

	buf_adds(&query, "");
	for (size_t i = 0; i < nitems(keys); i++) {
		const char *v = http_request_query(req, keys[i]);

		if (v != NULL && *v != '\0' && strlen(v) <= 256) {
			_cleanup_free_ char *q = ui_urlencode(v);

			json_object_set_new(filter, keys[i], json_string(v));
			buf_addf(&query, "%s=%s&", keys[i], q);
		}
	}
	if (p != NULL && str_to_ll(p, 1, 1000000, &page) < 0)
		page = 1;
	if (repo_errata_list(
	        filter, (int)per_page, (int)((page - 1) * per_page), &rows, &total, &err) < 0) {
		buf_free(&query);
		ui_error(req, resp, 500, err.msg);
		return 0;
	}
	pager = json_pack("{s:I, s:I, s:I, s:I, s:s}", "page", (json_int_t)page, "pages",
	    (json_int_t)(total > 0 ? (total + per_page - 1) / per_page : 1), "total",
	    (json_int_t)total, "per_page", (json_int_t)per_page, "query", query.data);
	buf_free(&query);
	vars = json_pack("{s:o, s:o, s:O, s:[sss], s:[sssss]}", "rows", rows, "pager", pager,
	    "filter", filter, "types", "security", "bugfix", "enhancement", "severities",
	    "Critical", "Important", "Moderate", "Low", "None");
	ui_render(req, resp, 200, "errata.html", "Errata", vars);
	return 0;
}

/* GET /ui/errata/:id: one erratum with its packages and the repositories that carry it. */
static int
repos_ui_erratum(struct http_request *req, struct http_response *resp)
{
	json_t *e = repo_erratum_get(http_request_param(req, "id")), *repos = NULL;
	struct dr_error err;
	char title[256];

	if (e == NULL) {
		ui_error(req, resp, 404, "no such erratum");
		return 0;
	}
	if (store_queryf(&repos, &err,
	        "SELECT DISTINCT r.id AS id, r.name AS name FROM repo_repositories r"
	        " JOIN repo_version_errata ve ON ve.version_id = r.latest_version_id"
	        " JOIN repo_errata x ON x.id = ve.erratum_id WHERE x.erratum_id = ?"
	        " ORDER BY r.name",
	        "[s]", http_request_param(req, "id")) < 0)
		repos = json_array();
	json_object_del(e, "xml");
	snprintf(title, sizeof title, "Erratum %s", http_request_param(req, "id"));
	ui_render(req, resp, 200, "erratum.html", title,
	    json_pack("{s:o, s:o}", "e", e, "repositories", repos));
	return 0;
}

/* The dashboard's errata widget: errata by severity. */
static json_t *
repos_ui_widget_errata(struct http_request *req)
{
	json_t *rows = NULL;
	struct dr_error err;

	if (!ui_can(req, "errata", "view"))
		return NULL;
	if (store_query("SELECT COALESCE(severity, 'None') AS severity, type, count(*) AS n"
	                " FROM repo_errata GROUP BY 1, 2 ORDER BY 3 DESC",
	        NULL, &rows, &err) < 0) {
		log_warnx("dashboard: errata: %s", err.msg);
		return NULL;
	}
	return json_pack("{s:o}", "rows", rows);
}

/* The dashboard's repositories widget: each one's last sync, failures first. */
static json_t *
repos_ui_widget_repos(struct http_request *req)
{
	json_t *rows = NULL;
	struct dr_error err;

	if (!ui_can(req, "repositories", "view"))
		return NULL;
	if (store_query("SELECT id, name, last_sync_state, last_sync_at FROM repo_repositories"
	                " ORDER BY CASE WHEN last_sync_state = 'succeeded' THEN 1 ELSE 0 END,"
	                " COALESCE(last_sync_at, 0) LIMIT 10",
	        NULL, &rows, &err) < 0) {
		log_warnx("dashboard: repositories: %s", err.msg);
		return NULL;
	}
	return json_pack("{s:o}", "rows", rows);
}

static const struct http_route repos_ui_routes[] = {
    {"GET", "/ui/repositories", repos_ui_repos, HTTP_HTML, "ui_repositories"},
    {"POST", "/ui/repositories", repos_ui_repo_create, HTTP_HTML, "ui_repositories"},
    {"POST", "/ui/products", repos_ui_product_create, HTTP_HTML, "ui_products"},
    {"GET", "/ui/repositories/:id", repos_ui_repo_show, HTTP_HTML, "ui_repository"},
    {"POST", "/ui/repositories/:id/sync", repos_ui_repo_sync, HTTP_HTML, "ui_repository_sync"},
    {"GET", "/ui/repositories/:id/edit", repos_ui_repo_edit, HTTP_HTML, "ui_repository_edit",
        "repositories", "edit"},
    {"POST", "/ui/repositories/:id/edit", repos_ui_repo_update, HTTP_HTML, "ui_repository_edit"},
    {"POST", "/ui/repositories/:id/delete", repos_ui_repo_delete, HTTP_HTML,
        "ui_repository_delete"},
    {"GET", "/ui/content_views", repos_ui_cvs, HTTP_HTML, "ui_content_views"},
    {"POST", "/ui/content_views", repos_ui_cv_create, HTTP_HTML, "ui_content_views"},
    {"POST", "/ui/content_views/:id/publish", repos_ui_cv_job, HTTP_HTML, "ui_cv_publish"},
    {"POST", "/ui/content_views/:id/filters", repos_ui_cv_edit, HTTP_HTML, "ui_cv_filters",
        "content_views", "edit"},
    {"POST", "/ui/content_views/:id/filters/:n/delete", repos_ui_cv_edit, HTTP_HTML,
        "ui_cv_filter_delete", "content_views", "edit"},
    {"POST", "/ui/content_views/:id/edit", repos_ui_cv_edit, HTTP_HTML, "ui_cv_edit"},
    {"POST", "/ui/content_views/:id/promote", repos_ui_cv_job, HTTP_HTML, "ui_cv_promote"},
    {"POST", "/ui/lifecycle_environments", repos_ui_env_create, HTTP_HTML, "ui_environments"},
    {"GET", "/ui/errata", repos_ui_errata, HTTP_HTML, "ui_errata"},
    {"GET", "/ui/errata/:id", repos_ui_erratum, HTTP_HTML, "ui_erratum"},
};

static const struct ui_nav repos_ui_nav[] = {
    {"Repositories", "/ui/repositories", "repositories", 50},
    {"Content views", "/ui/content_views", "content_views", 51},
    {"Errata", "/ui/errata", "errata", 52},
};

/* Install the content pages, their navigation and the dashboard widgets. */
void
repos_ui_init(void)
{
	static bool nav;

	if (!nav) {
		ui_nav_add(repos_ui_nav, nitems(repos_ui_nav));
		nav = true;
	}
	http_routes_add(repos_ui_routes, nitems(repos_ui_routes));
	ui_widget_add("errata", repos_ui_widget_errata);
	ui_widget_add("repositories", repos_ui_widget_repos);
}
