/*
 * cv.c - content views and lifecycle environments. Publishing a content view makes an
 * immutable version (major.minor) holding, per repository, a filtered copy of that
 * repository's latest version with its own metadata; it lands in Library. Promotion
 * points an environment at a version with one row change, so clients see either the old
 * version or the new one, never a mixture.
 */
#define LOG_COMPONENT "repos"
#include "config.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repos/repos.h"

static json_t *
cv_row_find(const char *table, const char *name_or_id)
{
	_cleanup_free_ char *by_name = NULL, *by_id = NULL;
	struct dr_error err;
	long long id;

	if (name_or_id == NULL)
		return NULL;
	if (str_to_ll(name_or_id, 1, INT64_MAX, &id) == 0) {
		by_id = xasprintf("SELECT * FROM %s WHERE id = ?", table);
		return store_query_one(&err, by_id, "[I]", (json_int_t)id);
	}
	by_name = xasprintf("SELECT * FROM %s WHERE name = ?", table);
	return store_query_one(&err, by_name, "[s]", name_or_id);
}

/* ---- lifecycle environments ---- */

/* An environment by name or id with its prior's name; caller frees. */
json_t *
repo_env_get(const char *name_or_id)
{
	json_t *e = cv_row_find("repo_lifecycle_environments", name_or_id);
	struct dr_error err;
	json_t *prior;

	if (e == NULL)
		return NULL;
	prior = store_query_one(&err, "SELECT name FROM repo_lifecycle_environments WHERE id = ?",
	    "[I]", json_integer_value(json_object_get(e, "prior_id")));
	json_object_set_new(
	    e, "prior", prior != NULL ? json_incref(json_object_get(prior, "name")) : json_null());
	json_decref(prior);
	return e;
}

/* Every environment, Library first. */
int
repo_env_list(json_t **ret, struct dr_error *err)
{
	return store_query("SELECT e.id, e.name, p.name AS prior, e.description, e.created_at"
	                   " FROM repo_lifecycle_environments e LEFT JOIN"
	                   " repo_lifecycle_environments p ON p.id = e.prior_id ORDER BY e.id",
	    NULL, ret, err);
}

/* Create {name, prior, description?}; the path from Library is a chain. */
int
repo_env_create(const json_t *spec, int64_t *ret_id, struct dr_error *err)
{
	const char *name = NULL, *prior = NULL, *desc = "";
	_cleanup_json_ json_t *p = NULL, *old = NULL, *taken = NULL;
	size_t i;

	if (json_unpack_ex((json_t *)spec, NULL, JSON_STRICT, "{s:s, s:s, s?:s}", "name", &name,
	        "prior", &prior, "description", &desc) < 0)
		return dr_error_set(err, "expected {\"name\", \"prior\", \"description\"}");
	for (i = 0; name[i] != '\0'; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
		        name[i]) ||
		    i >= REPO_NAME_MAX)
			return dr_error_set(
			    err, "environment '%s': letters, digits and ._- only", name);
	if (i == 0 || str_to_ll(name, 0, INT64_MAX, &(long long){0}) == 0)
		return dr_error_set(err, "environment: a name that is not a number is required");
	if ((old = repo_env_get(name)) != NULL)
		return dr_error_set(err, "environment '%s' already exists", name);
	if ((p = repo_env_get(prior)) == NULL)
		return dr_error_set(err, "no environment '%s'", prior);
	taken =
	    store_query_one(err, "SELECT name FROM repo_lifecycle_environments WHERE prior_id = ?",
	        "[I]", json_integer_value(json_object_get(p, "id")));
	if (taken != NULL)
		return dr_error_set(err,
		    "environment '%s' already follows '%s' (a path is a chain)",
		    json_string_value(json_object_get(taken, "name")), prior);
	return store_execf(NULL, ret_id, err,
	    "INSERT INTO repo_lifecycle_environments (name, prior_id, description, created_at)"
	    " VALUES (?, ?, ?, ?)",
	    "[sIsI]", name, json_integer_value(json_object_get(p, "id")), desc,
	    (json_int_t)time(NULL));
}

/* Delete an environment that is the end of its path and holds no content view. */
int
repo_env_delete(int64_t id, struct dr_error *err)
{
	_cleanup_json_ json_t *next = NULL, *used = NULL, *e = NULL;

	e = store_query_one(err,
	    "SELECT name, prior_id FROM repo_lifecycle_environments"
	    " WHERE id = ?",
	    "[I]", (json_int_t)id);
	if (e == NULL)
		return dr_error_set(err, "no environment %lld", (long long)id);
	if (json_is_null(json_object_get(e, "prior_id")))
		return dr_error_set(err, "Library cannot be deleted");
	next = store_query_one(err,
	    "SELECT name FROM repo_lifecycle_environments"
	    " WHERE prior_id = ?",
	    "[I]", (json_int_t)id);
	if (next != NULL)
		return dr_error_set(err, "environment '%s' follows it",
		    json_string_value(json_object_get(next, "name")));
	used = store_query_one(err,
	    "SELECT COUNT(*) AS n FROM repo_cv_environments"
	    " WHERE environment_id = ?",
	    "[I]", (json_int_t)id);
	if (used != NULL && json_integer_value(json_object_get(used, "n")) > 0)
		return dr_error_set(err, "content views are promoted to it");
	return store_execf(NULL, NULL, err, "DELETE FROM repo_lifecycle_environments WHERE id = ?",
	    "[I]", (json_int_t)id);
}

/* ---- content views ---- */

/* A content view with its versions and where each is; caller frees. */
json_t *
repo_cv_get(const char *name_or_id)
{
	json_t *cv = NULL, *v = NULL, *envs = NULL;
	struct dr_error err;
	_cleanup_json_ json_t *row = cv_row_find("repo_content_views", name_or_id);

	if (row == NULL)
		return NULL;
	cv = store_query_one(&err,
	    "SELECT id, name, description, repositories AS repositories_json,"
	    " filters AS filters_json, created_at, updated_at FROM repo_content_views"
	    " WHERE id = ?",
	    "[I]", json_integer_value(json_object_get(row, "id")));
	if (cv == NULL)
		return NULL;
	store_queryf(&v, &err,
	    "SELECT id, major, minor, (CAST(major AS TEXT) || '.' || CAST(minor AS TEXT))"
	    " AS version, description, created_at FROM repo_cv_versions"
	    " WHERE content_view_id = ? ORDER BY major DESC, minor DESC",
	    "[I]", json_integer_value(json_object_get(cv, "id")));
	store_queryf(&envs, &err,
	    "SELECT e.name AS environment, (CAST(v.major AS TEXT) || '.' ||"
	    " CAST(v.minor AS TEXT)) AS version, ce.promoted_at FROM repo_cv_environments ce"
	    " JOIN repo_lifecycle_environments e ON e.id = ce.environment_id"
	    " JOIN repo_cv_versions v ON v.id = ce.cv_version_id"
	    " WHERE ce.content_view_id = ? ORDER BY e.id",
	    "[I]", json_integer_value(json_object_get(cv, "id")));
	json_object_set_new(cv, "versions", v != NULL ? v : json_array());
	json_object_set_new(cv, "environments", envs != NULL ? envs : json_array());
	return cv;
}

/* Every content view by name. */
int
repo_cv_list(json_t **ret, struct dr_error *err)
{
	return store_query("SELECT c.id, c.name, c.description,"
	                   " c.repositories AS repositories_json,"
	                   " (SELECT CAST(MAX(major) AS TEXT) FROM repo_cv_versions v"
	                   "  WHERE v.content_view_id = c.id) AS latest_major"
	                   " FROM repo_content_views c ORDER BY c.name",
	    NULL, ret, err);
}

/* Check filters: [{type: package|erratum, exclude?: bool, patterns?, types?,
 * severities?, since?, until?}]. */
static int
cv_filters_check(const json_t *filters, struct dr_error *err)
{
	size_t i;
	json_t *f;

	if (!json_is_array(filters) || json_array_size(filters) > 64)
		return dr_error_set(err, "filters: a list of at most 64 filters");
	json_array_foreach(filters, i, f)
	{
		const char *type = NULL;
		json_t *patterns = NULL, *types = NULL, *sev = NULL;
		int exclude = 0;
		json_int_t since = 0, until = 0;

		if (json_unpack_ex(f, NULL, JSON_STRICT,
		        "{s:s, s?:b, s?:o, s?:o, s?:o, s?:I, s?:I}", "type", &type, "exclude",
		        &exclude, "patterns", &patterns, "types", &types, "severities", &sev,
		        "since", &since, "until", &until) < 0 ||
		    (strcmp(type, "package") != 0 && strcmp(type, "erratum") != 0))
			return dr_error_set(err,
			    "filters[%zu]: expected {\"type\": \"package\"|\"erratum\", "
			    "\"exclude\": bool, \"patterns\"|\"types\"|\"severities\": [..], "
			    "\"since\"|\"until\": unix seconds}",
			    i);
		if ((patterns && !json_is_array(patterns)) || (types && !json_is_array(types)) ||
		    (sev && !json_is_array(sev)))
			return dr_error_set(err, "filters[%zu]: lists expected", i);
	}
	return 0;
}

/* Repository names or ids to a JSON array text of ids. */
static int
cv_repo_ids(const json_t *repos, char **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *ids = json_array();
	_cleanup_free_ char *copy = NULL;
	size_t i;
	json_t *r;

	if (json_is_string(repos)) {
		char *save = NULL, *tok;
		copy = xstrdup(json_string_value(repos));
		for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			_cleanup_json_ json_t *row = repo_get(str_trim(tok));
			if (row == NULL)
				return dr_error_set(err, "no repository '%s'", tok);
			json_array_append(ids, json_object_get(row, "id"));
		}
	} else if (json_is_array(repos)) {
		json_array_foreach(repos, i, r)
		{
			_cleanup_free_ char *key = json_is_integer(r)
			    ? xasprintf("%lld", (long long)json_integer_value(r))
			    : xstrdup(json_is_string(r) ? json_string_value(r) : "");
			_cleanup_json_ json_t *row = repo_get(key);
			if (row == NULL)
				return dr_error_set(err, "no repository '%s'", key);
			json_array_append(ids, json_object_get(row, "id"));
		}
	} else if (repos != NULL) { /* NULL: none */
		return dr_error_set(err, "repositories: a list of names");
	}
	*ret = json_dumps(ids, JSON_COMPACT);
	return 0;
}

/* Create {name, description?, repositories?, filters?}. */
int
repo_cv_create(const json_t *spec, int64_t *ret_id, struct dr_error *err)
{
	const char *name = NULL, *desc = "";
	json_t *repos = NULL, *filters = NULL;
	_cleanup_free_ char *ids = NULL, *ftext = NULL;
	_cleanup_json_ json_t *old = NULL;
	size_t i;

	if (json_unpack_ex((json_t *)spec, NULL, JSON_STRICT, "{s:s, s?:s, s?:o, s?:o}", "name",
	        &name, "description", &desc, "repositories", &repos, "filters", &filters) < 0)
		return dr_error_set(
		    err, "expected {\"name\", \"description\", \"repositories\", \"filters\"}");
	for (i = 0; name[i] != '\0'; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
		        name[i]) ||
		    i >= REPO_NAME_MAX)
			return dr_error_set(
			    err, "content view '%s': letters, digits and ._- only", name);
	if (i == 0 || strcmp(name, "default") == 0 ||
	    str_to_ll(name, 0, INT64_MAX, &(long long){0}) == 0)
		return dr_error_set(err, "content view: '%s' is not a name you can use", name);
	if ((old = repo_cv_get(name)) != NULL)
		return dr_error_set(err, "content view '%s' already exists", name);
	if (cv_repo_ids(repos, &ids, err) < 0)
		return -1;
	if (filters != NULL && cv_filters_check(filters, err) < 0)
		return -1;
	ftext = filters != NULL ? json_dumps(filters, JSON_COMPACT) : xstrdup("[]");
	return store_execf(NULL, ret_id, err,
	    "INSERT INTO repo_content_views (name, description, repositories, filters,"
	    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
	    "[ssssII]", name, desc, ids, ftext, (json_int_t)time(NULL), (json_int_t)time(NULL));
}

/* Change {description?, repositories?, filters?}: what the next publish uses. */
int
repo_cv_update(int64_t id, const json_t *spec, struct dr_error *err)
{
	const char *desc = NULL;
	json_t *repos = NULL, *filters = NULL, *d = NULL;
	_cleanup_json_ json_t *empty = json_array();
	_cleanup_free_ char *ids = NULL, *ftext = NULL;

	if (json_unpack_ex((json_t *)spec, NULL, JSON_STRICT, "{s?:o, s?:o, s?:o}", "description",
	        &d, "repositories", &repos, "filters", &filters) < 0)
		return dr_error_set(
		    err, "expected {\"description\", \"repositories\", \"filters\"}");
	/* null clears, as does "" (Katello's way): the description is optional. */
	if (d != NULL && !json_is_null(d) && !json_is_string(d))
		return dr_error_set(err, "description: expected a string");
	if (d != NULL)
		desc = json_is_null(d) ? "" : json_string_value(d);
	/* null: no repositories, no filters. */
	if (json_is_null(repos))
		repos = empty;
	if (json_is_null(filters))
		filters = empty;
	if (repos != NULL && cv_repo_ids(repos, &ids, err) < 0)
		return -1;
	if (filters != NULL && cv_filters_check(filters, err) < 0)
		return -1;
	if (filters != NULL)
		ftext = json_dumps(filters, JSON_COMPACT);
	return store_execf(NULL, NULL, err,
	    "UPDATE repo_content_views SET description = COALESCE(?, description),"
	    " repositories = COALESCE(?, repositories), filters = COALESCE(?, filters),"
	    " updated_at = ? WHERE id = ?",
	    "[s?s?s?II]", desc, ids, ftext, (json_int_t)time(NULL), (json_int_t)id);
}

/* Delete a content view promoted nowhere but Library. */
int
repo_cv_delete(int64_t id, struct dr_error *err)
{
	_cleanup_json_ json_t *used = store_query_one(err,
	    "SELECT COUNT(*) AS n FROM repo_cv_environments ce JOIN repo_lifecycle_environments"
	    " e ON e.id = ce.environment_id WHERE ce.content_view_id = ? AND e.prior_id IS NOT"
	    " NULL",
	    "[I]", (json_int_t)id);

	if (used != NULL && json_integer_value(json_object_get(used, "n")) > 0)
		return dr_error_set(err,
		    "the content view is promoted to environments beyond "
		    "Library");
	if (store_begin(err) < 0)
		return -1;
	if (store_execf(NULL, NULL, err,
	        "DELETE FROM repo_cv_environments WHERE"
	        " content_view_id = ?",
	        "[I]", (json_int_t)id) < 0 ||
	    store_execf(NULL, NULL, err,
	        "DELETE FROM repo_versions WHERE cv_version_id IN (SELECT id FROM"
	        " repo_cv_versions WHERE content_view_id = ?)",
	        "[I]", (json_int_t)id) < 0 ||
	    store_execf(NULL, NULL, err, "DELETE FROM repo_content_views WHERE id = ?", "[I]",
	        (json_int_t)id) < 0 ||
	    store_commit(err) < 0) {
		store_rollback();
		return -1;
	}
	return 0;
}

/* True when a JSON list of strings holds s (an absent list holds everything). */
static bool
cv_list_has(const json_t *list, const char *s)
{
	size_t i;
	json_t *v;

	if (list == NULL)
		return true;
	json_array_foreach(list, i, v)
	{
		if (s != NULL && json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	}
	return false;
}

/* Whether an erratum row matches an erratum filter. */
static bool
cv_erratum_matches(const json_t *f, const json_t *e)
{
	json_int_t since = json_integer_value(json_object_get(f, "since"));
	json_int_t until = json_integer_value(json_object_get(f, "until"));
	json_int_t issued = json_integer_value(json_object_get(e, "issued_at"));

	return cv_list_has(
	           json_object_get(f, "types"), json_string_value(json_object_get(e, "type"))) &&
	    cv_list_has(json_object_get(f, "severities"),
	        json_string_value(json_object_get(e, "severity"))) &&
	    (since == 0 || issued >= since) && (until == 0 || issued <= until);
}

/* "name epoch:version-release" of a package or unit: what an excluded erratum blocks. */
static char *
cv_nevr_key(const json_t *p)
{
	const char *e = json_string_value(json_object_get(p, "epoch"));

	return xasprintf("%s %s:%s-%s", json_string_value(json_object_get(p, "name")),
	    e != NULL && *e != '\0' ? e : "0", json_string_value(json_object_get(p, "version")),
	    json_string_value(json_object_get(p, "release")));
}

/* Whether a unit passes the package filters and is not the fix of an excluded erratum. */
static bool
cv_package_wanted(const json_t *filters, const json_t *unit, const json_t *blocked)
{
	const char *name = json_string_value(json_object_get(unit, "name"));
	_cleanup_free_ char *key = cv_nevr_key(unit);
	bool has_include = false, included = false;
	size_t i, j;
	json_t *f, *p;

	if (json_object_get(blocked, key) != NULL)
		return false;
	json_array_foreach(filters, i, f)
	{
		if (strcmp(json_string_value(json_object_get(f, "type")), "package") != 0)
			continue;
		bool exclude = json_is_true(json_object_get(f, "exclude"));
		json_array_foreach(json_object_get(f, "patterns"), j, p)
		{
			if (fnmatch(json_string_value(p), name, 0) != 0)
				continue;
			if (exclude)
				return false;
			included = true;
		}
		if (!exclude)
			has_include = true;
	}
	return !has_include || included;
}

/* Copy source version into a new content-view repository version, filtered. */
static int
cv_copy_version(int64_t cvv, const json_t *repo, const json_t *filters, int64_t *ret_vid,
    bool *ret_whole, struct dr_error *err)
{
	int64_t src = json_integer_value(json_object_get(repo, "latest_version_id"));
	_cleanup_json_ json_t *errata = NULL, *units = NULL, *blocked = json_object();
	bool erratum_filters = false, package_filters = false;
	int64_t vid;
	size_t i, j;
	json_t *f, *e, *u;

	json_array_foreach(filters, i, f)
	{
		if (strcmp(json_string_value(json_object_get(f, "type")), "erratum") == 0)
			erratum_filters = true;
		else
			package_filters = true;
	}
	if (store_execf(NULL, &vid, err,
	        "INSERT INTO repo_versions (repository_id, number, cv_version_id,"
	        " upstream_checksum, content_digest, package_count, erratum_count, size,"
	        " created_at) SELECT repository_id, number, ?, upstream_checksum,"
	        " content_digest, 0, 0, 0, ? FROM repo_versions WHERE id = ?",
	        "[III]", (json_int_t)cvv, (json_int_t)time(NULL), (json_int_t)src) < 0)
		return -1;
	if (store_execf(NULL, NULL, err,
	        "INSERT INTO repo_version_upstream (version_id, path, type, sha256, size, data)"
	        " SELECT ?, path, type, sha256, size, data FROM repo_version_upstream"
	        " WHERE version_id = ?",
	        "[II]", (json_int_t)vid, (json_int_t)src) < 0)
		return -1;
	/* Errata: an excluded erratum also takes out the packages that fix it. */
	if (!erratum_filters) {
		if (store_execf(NULL, NULL, err,
		        "INSERT INTO repo_version_errata (version_id, erratum_id)"
		        " SELECT ?, erratum_id FROM repo_version_errata WHERE version_id = ?",
		        "[II]", (json_int_t)vid, (json_int_t)src) < 0)
			return -1;
	} else {
		if (store_queryf(&errata, err,
		        "SELECT e.id, e.type, e.severity, e.issued_at, e.data AS data_json"
		        " FROM repo_errata e JOIN repo_version_errata ve ON ve.erratum_id = e.id"
		        " WHERE ve.version_id = ?",
		        "[I]", (json_int_t)src) < 0)
			return -1;
		json_array_foreach(errata, i, e)
		{
			bool keep = true, has_include = false, included = false;
			json_array_foreach(filters, j, f)
			{
				if (strcmp(json_string_value(json_object_get(f, "type")),
				        "erratum") != 0)
					continue;
				bool ex = json_is_true(json_object_get(f, "exclude"));
				if (!ex)
					has_include = true;
				if (cv_erratum_matches(f, e)) {
					if (ex)
						keep = false;
					else
						included = true;
				}
			}
			if (has_include && !included)
				keep = false;
			if (!keep) {
				size_t k;
				json_t *p;
				json_array_foreach(
				    json_object_get(json_object_get(e, "data"), "packages"), k, p)
				{
					_cleanup_free_ char *key = cv_nevr_key(p);
					json_object_set_new(blocked, key, json_true());
				}
				continue;
			}
			if (store_execf(NULL, NULL, err,
			        "INSERT INTO repo_version_errata (version_id, erratum_id)"
			        " VALUES (?, ?)",
			        "[II]", (json_int_t)vid,
			        json_integer_value(json_object_get(e, "id"))) < 0)
				return -1;
		}
	}
	if (!package_filters && json_object_size(blocked) == 0) {
		if (store_execf(NULL, NULL, err,
		        "INSERT INTO repo_version_units (version_id, unit_id)"
		        " SELECT ?, unit_id FROM repo_version_units WHERE version_id = ?",
		        "[II]", (json_int_t)vid, (json_int_t)src) < 0)
			return -1;
	} else {
		if (store_queryf(&units, err,
		        "SELECT u.id, u.name, u.epoch, u.version, u.release FROM repo_units u"
		        " JOIN repo_version_units vu"
		        " ON vu.unit_id = u.id WHERE vu.version_id = ?",
		        "[I]", (json_int_t)src) < 0)
			return -1;
		json_array_foreach(units, i, u)
		{
			if (!cv_package_wanted(filters, u, blocked))
				continue;
			if (store_execf(NULL, NULL, err,
			        "INSERT INTO repo_version_units (version_id, unit_id) VALUES (?, "
			        "?)",
			        "[II]", (json_int_t)vid,
			        json_integer_value(json_object_get(u, "id"))) < 0)
				return -1;
		}
	}
	if (store_execf(NULL, NULL, err,
	        "UPDATE repo_versions SET"
	        " package_count = (SELECT COUNT(*) FROM repo_version_units WHERE version_id = ?),"
	        " erratum_count = (SELECT COUNT(*) FROM repo_version_errata WHERE version_id = ?),"
	        " size = (SELECT COALESCE(SUM(u.size), 0) FROM repo_units u JOIN"
	        "  repo_version_units vu ON vu.unit_id = u.id WHERE vu.version_id = ?)"
	        " WHERE id = ?",
	        "[IIII]", (json_int_t)vid, (json_int_t)vid, (json_int_t)vid, (json_int_t)vid) < 0)
		return -1;
	*ret_vid = vid;
	*ret_whole = !erratum_filters && !package_filters;
	return 0;
}

/*
 * Publish content view version vid of repo. A whole copy of a version whose metadata Drover
 * wrote at sync (every policy but mirror_complete, which serves upstream's as-is) has the
 * same metadata: its files are shared through the pool instead of written again.
 */
static int
cv_publish_version(const json_t *repo, int64_t vid, bool whole, struct dr_error *err)
{
	const char *policy = json_string_value(json_object_get(repo, "mirroring_policy"));

	if (!whole || strcmp(policy, "mirror_complete") == 0)
		return repo_format_find(json_string_value(json_object_get(repo, "type")))
		    ->publish(repo, vid, err);
	return store_execf(NULL, NULL, err,
	    "INSERT INTO repo_version_files (version_id, path, sha256, size)"
	    " SELECT ?, path, sha256, size FROM repo_version_files WHERE version_id = ?",
	    "[II]", (json_int_t)vid, json_integer_value(json_object_get(repo, "latest_version_id")));
}

/* The content_view_publish job: params {"content_view", "description"?}. */
int
repo_cv_publish_run(struct job *job, struct dr_error *err)
{
	json_t *result = NULL;

	if (repo_cv_publish(job, job_params(job), &result, err) < 0)
		return -1;
	job_result_set(job, result);
	return 0;
}

/* Publish a new version of p's content view inside job; *ret_result says which. */
static int
cv_publish(struct job *job, const json_t *p, json_t **ret_result, struct dr_error *err)
{
	const char *name = json_string_value(json_object_get(p, "content_view"));
	const char *desc = json_string_value(json_object_get(p, "description"));
	_cleanup_json_ json_t *cv = repo_cv_get(name), *next = NULL, *lib = NULL;
	int64_t cvv, t0 = time_mono_us();
	json_int_t major;
	size_t i;
	json_t *rid;

	if (cv == NULL)
		return dr_error_set(err, "no content view '%s'", name ? name : "");
	if (json_array_size(json_object_get(cv, "repositories")) == 0)
		return dr_error_set(err, "content view %s has no repositories", name);
	json_array_foreach(json_object_get(cv, "repositories"), i, rid)
	{
		_cleanup_free_ char *key = xasprintf("%lld", (long long)json_integer_value(rid));
		_cleanup_json_ json_t *repo = repo_get(key);
		if (repo == NULL ||
		    json_integer_value(json_object_get(repo, "latest_version_id")) <= 0)
			return dr_error_set(err, "repository %s has not been synced",
			    repo ? json_string_value(json_object_get(repo, "name")) : key);
	}
	if (store_begin(err) < 0)
		return -1;
	next = store_query_one(err,
	    "SELECT COALESCE(MAX(major), 0) + 1 AS m FROM"
	    " repo_cv_versions WHERE content_view_id = ?",
	    "[I]", json_integer_value(json_object_get(cv, "id")));
	lib = store_query_one(
	    err, "SELECT id FROM repo_lifecycle_environments WHERE prior_id IS NULL", NULL);
	if (next == NULL || lib == NULL)
		goto fail;
	major = json_integer_value(json_object_get(next, "m"));
	if (store_execf(NULL, &cvv, err,
	        "INSERT INTO repo_cv_versions (content_view_id, major, minor, description,"
	        " created_at) VALUES (?, ?, 0, ?, ?)",
	        "[IIsI]", json_integer_value(json_object_get(cv, "id")), major, desc ? desc : "",
	        (json_int_t)time(NULL)) < 0)
		goto fail;
	json_array_foreach(json_object_get(cv, "repositories"), i, rid)
	{
		_cleanup_free_ char *key = xasprintf("%lld", (long long)json_integer_value(rid));
		_cleanup_json_ json_t *repo = repo_get(key);
		int64_t vid;
		bool whole;

		if (cv_copy_version(cvv, repo, json_object_get(cv, "filters"), &vid, &whole, err) <
		        0 ||
		    cv_publish_version(repo, vid, whole, err) < 0) {
			dr_error_prefix(err,
			    "repository %s: ", json_string_value(json_object_get(repo, "name")));
			goto fail;
		}
		job_printf(
		    job, "%s: published\n", json_string_value(json_object_get(repo, "name")));
	}
	/* Publishing lands in Library. */
	if (store_execf(NULL, NULL, err,
	        "DELETE FROM repo_cv_environments WHERE content_view_id = ? AND environment_id = "
	        "?",
	        "[II]", json_integer_value(json_object_get(cv, "id")),
	        json_integer_value(json_object_get(lib, "id"))) < 0 ||
	    store_execf(NULL, NULL, err,
	        "INSERT INTO repo_cv_environments (content_view_id, environment_id, cv_version_id,"
	        " promoted_at) VALUES (?, ?, ?, ?)",
	        "[IIII]", json_integer_value(json_object_get(cv, "id")),
	        json_integer_value(json_object_get(lib, "id")), (json_int_t)cvv,
	        (json_int_t)time(NULL)) < 0 ||
	    store_commit(err) < 0)
		goto fail;
	job_printf(job, "content view %s version %lld.0 published in %.2f s\n", name,
	    (long long)major, (double)(time_mono_us() - t0) / 1e6);
	{
		_cleanup_free_ char *version = xasprintf("%lld.0", (long long)major);
		*ret_result = json_pack("{s:s, s:s, s:I}", "content_view", name, "version",
		    version, "cv_version_id", (json_int_t)cvv);
	}
	repos_content_changed(job);
	return 0;
fail:
	store_rollback();
	return -1;
}

/* Publish a content view (see cv_publish) under the content lock. */
int
repo_cv_publish(struct job *job, const json_t *p, json_t **ret_result, struct dr_error *err)
{
	int r;

	repos_content_lock(job, false);
	r = cv_publish(job, p, ret_result, err);
	repos_content_unlock();
	return r;
}

/* "1.0" into major and minor. */
static int
cv_version_parse(const char *s, long long *major, long long *minor)
{
	char *dot;
	_cleanup_free_ char *copy = NULL;

	if (s == NULL)
		return -1;
	copy = xstrdup(s);
	dot = strchr(copy, '.');
	if (dot != NULL)
		*dot++ = '\0';
	if (str_to_ll(copy, 1, 1000000, major) < 0)
		return -1;
	*minor = 0;
	return dot == NULL || str_to_ll(dot, 0, 1000000, minor) == 0 ? 0 : -1;
}

/*
 * The content_view_promote job: params {"content_view", "version", "to", "force"?}.
 * The version must already be in the environment before "to" on its path, unless force.
 */
int
repo_cv_promote_run(struct job *job, struct dr_error *err)
{
	return repo_cv_promote(job, job_params(job), err);
}

/* Promote as p {"content_view", "version", "to", "force"?} says, inside job. */
int
repo_cv_promote(struct job *job, const json_t *p, struct dr_error *err)
{
	const char *name = json_string_value(json_object_get(p, "content_view"));
	const char *ver = json_string_value(json_object_get(p, "version"));
	const char *to = json_string_value(json_object_get(p, "to"));
	_cleanup_json_ json_t *cv = repo_cv_get(name), *env = repo_env_get(to), *v = NULL;
	_cleanup_json_ json_t *prior = NULL;
	long long major, minor;

	if (cv == NULL)
		return dr_error_set(err, "no content view '%s'", name ? name : "");
	if (env == NULL)
		return dr_error_set(err, "no environment '%s'", to ? to : "");
	if (cv_version_parse(ver, &major, &minor) < 0)
		return dr_error_set(err, "version '%s': expected MAJOR.MINOR", ver ? ver : "");
	v = store_query_one(err,
	    "SELECT id FROM repo_cv_versions WHERE content_view_id = ?"
	    " AND major = ? AND minor = ?",
	    "[III]", json_integer_value(json_object_get(cv, "id")), (json_int_t)major,
	    (json_int_t)minor);
	if (v == NULL)
		return dr_error_set(err, "content view %s has no version %s", name, ver);
	if (json_is_null(json_object_get(env, "prior_id")))
		return dr_error_set(err, "versions reach Library by publishing");
	prior = store_query_one(err,
	    "SELECT cv_version_id FROM repo_cv_environments"
	    " WHERE content_view_id = ? AND environment_id = ?",
	    "[II]", json_integer_value(json_object_get(cv, "id")),
	    json_integer_value(json_object_get(env, "prior_id")));
	if (!json_is_true(json_object_get(p, "force")) &&
	    (prior == NULL ||
	        json_integer_value(json_object_get(prior, "cv_version_id")) !=
	            json_integer_value(json_object_get(v, "id"))))
		return dr_error_set(err, "version %s is not in %s, the environment before %s", ver,
		    json_string_value(json_object_get(env, "prior")), to);
	/* One transaction swaps the environment's version: clients see old or new. */
	if (store_begin(err) < 0)
		return -1;
	if (store_execf(NULL, NULL, err,
	        "DELETE FROM repo_cv_environments WHERE content_view_id = ? AND environment_id = "
	        "?",
	        "[II]", json_integer_value(json_object_get(cv, "id")),
	        json_integer_value(json_object_get(env, "id"))) < 0 ||
	    store_execf(NULL, NULL, err,
	        "INSERT INTO repo_cv_environments (content_view_id, environment_id, cv_version_id,"
	        " promoted_at) VALUES (?, ?, ?, ?)",
	        "[IIII]", json_integer_value(json_object_get(cv, "id")),
	        json_integer_value(json_object_get(env, "id")),
	        json_integer_value(json_object_get(v, "id")), (json_int_t)time(NULL)) < 0 ||
	    store_commit(err) < 0) {
		store_rollback();
		return -1;
	}
	job_printf(job, "content view %s version %s promoted to %s\n", name, ver, to);
	repos_content_changed(job);
	return 0;
}

/* The version served at (env, cv, repo); Library/default is each repository's latest. */
int64_t
repo_cv_resolve(const char *env, const char *cv, const char *repo, json_t **ret_repo)
{
	_cleanup_json_ json_t *r = repo_get(repo), *row = NULL;
	struct dr_error err;
	int64_t vid = -1;

	if (r == NULL || str_to_ll(repo, 0, INT64_MAX, &(long long){0}) == 0)
		return -1;
	if (strcmp(cv, "default") == 0) {
		if (strcmp(env, "Library") == 0 &&
		    json_integer_value(json_object_get(r, "latest_version_id")) > 0)
			vid = json_integer_value(json_object_get(r, "latest_version_id"));
	} else {
		row = store_query_one(&err,
		    "SELECT v.id FROM repo_versions v JOIN repo_cv_environments ce"
		    " ON ce.cv_version_id = v.cv_version_id"
		    " JOIN repo_lifecycle_environments e ON e.id = ce.environment_id"
		    " JOIN repo_content_views c ON c.id = ce.content_view_id"
		    " WHERE e.name = ? AND c.name = ? AND v.repository_id = ?",
		    "[ssI]", env, cv, json_integer_value(json_object_get(r, "id")));
		if (row != NULL)
			vid = json_integer_value(json_object_get(row, "id"));
	}
	if (vid > 0 && ret_repo != NULL)
		*ret_repo = TAKE_PTR(r);
	return vid;
}
