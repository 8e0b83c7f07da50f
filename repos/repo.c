/* repo.c - products and repositories: validation of specs and their rows in the store. */
#define LOG_COMPONENT "repos"
#include "config.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repos/repos.h"

#define REPO_COLUMNS                                                                              \
	"r.id, r.name, p.name AS product, r.product_id, r.type, r.url, r.distribution,"           \
	" r.components, r.architectures, r.gpg_key, r.errata_url, r.download_policy,"             \
	" r.mirroring_policy, r.include_patterns AS include_json,"                                \
	" r.exclude_patterns AS exclude_json, r.retain_versions, r.download_concurrency, "        \
	"r.bandwidth_limit,"                                                                      \
	" r.upstream_checksum,"                                                                   \
	" (SELECT COALESCE(SUM(u.size), 0) FROM repo_units u WHERE u.id IN"                       \
	"  (SELECT vu.unit_id FROM repo_version_units vu JOIN repo_versions v"                    \
	"   ON v.id = vu.version_id WHERE v.repository_id = r.id)) AS disk_use,"                  \
	" r.latest_version_id, (SELECT number FROM repo_versions v"                               \
	"  WHERE v.id = r.latest_version_id) AS latest_version,"                                  \
	" r.last_sync_at, r.last_sync_state, r.last_sync_error, r.created_at,"                    \
	" r.updated_at"

/* A name people type and URLs carry: letters, digits, ._- and at most 128 of them. */
static int
repo_name_check(const char *what, const char *name, struct dr_error *err)
{
	size_t i, n = name != NULL ? strlen(name) : 0;

	if (n == 0 || n > REPO_NAME_MAX)
		return dr_error_set(
		    err, "%s: a name of 1 to %d characters is required", what, REPO_NAME_MAX);
	for (i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
		        name[i]))
			return dr_error_set(
			    err, "%s '%s': only letters, digits and ._- please", what, name);
	if (name[0] == '.' || str_to_ll(name, 0, INT64_MAX, &(long long){0}) == 0)
		return dr_error_set(
		    err, "%s '%s': must not start with '.' or be a number", what, name);
	return 0;
}

/* A row by name, or by id when the text is a number. */
static json_t *
repo_row_find(const char *sql_by_name, const char *sql_by_id, const char *name_or_id)
{
	long long id;
	struct dr_error err;

	if (name_or_id == NULL)
		return NULL;
	if (str_to_ll(name_or_id, 1, INT64_MAX, &id) == 0)
		return store_query_one(&err, sql_by_id, "[I]", (json_int_t)id);
	return store_query_one(&err, sql_by_name, "[s]", name_or_id);
}

/* ---- products ---- */

/* A product by name or id; caller frees. */
json_t *
repo_product_get(const char *name_or_id)
{
	return repo_row_find("SELECT p.*, (SELECT COUNT(*) FROM repo_repositories r"
	                     " WHERE r.product_id = p.id) AS repository_count"
	                     " FROM repo_products p WHERE name = ?",
	    "SELECT p.*, (SELECT COUNT(*) FROM repo_repositories r"
	    " WHERE r.product_id = p.id) AS repository_count FROM repo_products p WHERE id = ?",
	    name_or_id);
}

/* Every product by name. */
int
repo_product_list(json_t **ret, struct dr_error *err)
{
	return store_query("SELECT p.*, (SELECT COUNT(*) FROM repo_repositories r"
	                   " WHERE r.product_id = p.id) AS repository_count"
	                   " FROM repo_products p ORDER BY name",
	    NULL, ret, err);
}

/* Create a product {name, description?}. */
int
repo_product_create(const json_t *spec, int64_t *ret_id, struct dr_error *err)
{
	const char *name = NULL, *desc = "";
	_cleanup_json_ json_t *old = NULL;
	int64_t now = time(NULL);

	if (json_unpack_ex((json_t *)spec, NULL, JSON_STRICT, "{s:s, s?:s}", "name", &name,
	        "description", &desc) < 0)
		return dr_error_set(err, "expected {\"name\": string, \"description\": string}");
	if (repo_name_check("product", name, err) < 0)
		return -1;
	if ((old = repo_product_get(name)) != NULL)
		return dr_error_set(err, "product '%s' already exists", name);
	return store_execf(NULL, ret_id, err,
	    "INSERT INTO repo_products (name, description, created_at, updated_at)"
	    " VALUES (?, ?, ?, ?)",
	    "[ssII]", name, desc, (json_int_t)now, (json_int_t)now);
}

/* Change a product's name or description. */
int
repo_product_update(int64_t id, const json_t *spec, struct dr_error *err)
{
	const char *name = NULL, *desc = NULL;

	if (json_unpack_ex((json_t *)spec, NULL, JSON_STRICT, "{s?:s, s?:s}", "name", &name,
	        "description", &desc) < 0)
		return dr_error_set(err, "expected {\"name\": string, \"description\": string}");
	if (name != NULL && repo_name_check("product", name, err) < 0)
		return -1;
	return store_execf(NULL, NULL, err,
	    "UPDATE repo_products SET name = COALESCE(?, name),"
	    " description = COALESCE(?, description), updated_at = ? WHERE id = ?",
	    "[s?s?II]", name, desc, (json_int_t)time(NULL), (json_int_t)id);
}

/* Delete a product that holds no repositories. */
int
repo_product_delete(int64_t id, struct dr_error *err)
{
	_cleanup_json_ json_t *n = store_query_one(err,
	    "SELECT COUNT(*) AS n FROM repo_repositories WHERE product_id = ?", "[I]",
	    (json_int_t)id);

	if (n != NULL && json_integer_value(json_object_get(n, "n")) > 0)
		return dr_error_set(err, "the product still has %lld repositories",
		    (long long)json_integer_value(json_object_get(n, "n")));
	return store_execf(
	    NULL, NULL, err, "DELETE FROM repo_products WHERE id = ?", "[I]", (json_int_t)id);
}

/* ---- repositories ---- */

/* A repository by name or id with its product and latest version number; caller frees. */
json_t *
repo_get(const char *name_or_id)
{
	return repo_row_find("SELECT " REPO_COLUMNS " FROM repo_repositories r"
	                     " JOIN repo_products p ON p.id = r.product_id WHERE r.name = ?",
	    "SELECT " REPO_COLUMNS " FROM repo_repositories r"
	    " JOIN repo_products p ON p.id = r.product_id WHERE r.id = ?",
	    name_or_id);
}

/* Repositories by name, of one product when product is not NULL. */
int
repo_list(const char *product, json_t **ret, struct dr_error *err)
{
	if (product != NULL)
		return store_queryf(ret, err,
		    "SELECT " REPO_COLUMNS " FROM repo_repositories r"
		    " JOIN repo_products p ON p.id = r.product_id WHERE p.name = ?"
		    " ORDER BY r.name",
		    "[s]", product);
	return store_query("SELECT " REPO_COLUMNS " FROM repo_repositories r"
	                   " JOIN repo_products p ON p.id = r.product_id ORDER BY r.name",
	    NULL, ret, err);
}

/* A list given as an array of strings or a comma-separated string, as "a,b,c". */
static int
repo_list_text(const json_t *v, const char *what, char **ret, struct dr_error *err)
{
	struct buf b = BUF_INIT(4096);
	size_t i;
	json_t *e;

	if (json_is_string(v)) {
		*ret = xstrdup(json_string_value(v));
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			if (!json_is_string(e)) {
				buf_free(&b);
				return dr_error_set(err, "%s: expected strings", what);
			}
			if (buf_addf(&b, "%s%s", i > 0 ? "," : "", json_string_value(e)) < 0) {
				buf_free(&b);
				return dr_error_set(err, "%s: too long", what);
			}
		}
		*ret = buf_steal(&b);
	} else {
		return dr_error_set(err, "%s: expected a list or a comma-separated string", what);
	}
	for (char *p = *ret; *p != '\0'; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+/,",
		        *p)) {
			dr_error_set(err, "%s '%s': forbidden character '%c'", what, *ret, *p);
			free(*ret);
			*ret = NULL;
			return -1;
		}
	return 0;
}

/* Patterns: an array of fnmatch strings (or a comma string), as JSON array text. */
static int
repo_patterns(const json_t *v, const char *what, char **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *a = json_array();
	size_t i;
	json_t *e;

	if (json_is_string(v)) {
		_cleanup_free_ char *s = xstrdup(json_string_value(v));
		char *save = NULL, *tok;
		for (tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
			if (*str_trim(tok) != '\0')
				json_array_append_new(a, json_string(tok));
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			if (!json_is_string(e) || json_string_length(e) == 0 ||
			    json_string_length(e) > 256)
				return dr_error_set(
				    err, "%s: patterns are non-empty strings", what);
			json_array_append(a, e);
		}
	} else {
		return dr_error_set(err, "%s: expected a list of patterns", what);
	}
	if (json_array_size(a) > REPO_PATTERNS_MAX)
		return dr_error_set(err, "%s: at most %d patterns", what, REPO_PATTERNS_MAX);
	*ret = json_dumps(a, JSON_COMPACT);
	return 0;
}

struct repo_fields {
	const char *name, *product, *type, *url, *gpg_key, *download_policy, *mirroring_policy;
	const char *distribution, *errata_url;
	char *components, *architectures, *include, *exclude;
	json_int_t retain, concurrency, bandwidth;
	int64_t product_id;
};

static void
repo_fields_free(struct repo_fields *f)
{
	free(f->components);
	free(f->architectures);
	free(f->include);
	free(f->exclude);
}

/* Read and check the fields present in spec; create requires the essential ones. */
static int
repo_fields_read(const json_t *spec, bool create, struct repo_fields *f, struct dr_error *err)
{
	json_t *comps = NULL, *archs = NULL, *inc = NULL, *exc = NULL;
	json_error_t je;
	const char *type;

	f->retain = -1;
	f->concurrency = -1;
	f->bandwidth = -1;
	if (json_unpack_ex((json_t *)spec, &je, JSON_STRICT,
	        "{s?:s, s?:s, s?:s, s?:s, s?:s, s?:o, s?:o, s?:s, s?:s, s?:s, s?:o, s?:o, s?:I, "
	        "s?:s, s?:I, s?:I}",
	        "name", &f->name, "product", &f->product, "type", &f->type, "url", &f->url,
	        "distribution", &f->distribution, "components", &comps, "architectures", &archs,
	        "gpg_key", &f->gpg_key, "download_policy", &f->download_policy, "mirroring_policy",
	        &f->mirroring_policy, "include", &inc, "exclude", &exc, "retain_versions",
	        &f->retain, "errata_url", &f->errata_url, "download_concurrency", &f->concurrency,
	        "bandwidth_limit", &f->bandwidth) < 0)
		return dr_error_set(err, "repository: %s", je.text);
	if (f->errata_url != NULL && *f->errata_url != '\0' &&
	    !str_has_prefix(f->errata_url, "http://") &&
	    !str_has_prefix(f->errata_url, "https://") && f->errata_url[0] != '/')
		return dr_error_set(err,
		    "errata_url '%s': an http(s) URL, an absolute directory or a .zip file", f->errata_url);
	if (create && (f->name == NULL || f->product == NULL || f->type == NULL || f->url == NULL))
		return dr_error_set(err, "repository: name, product, type and url are required");
	if (f->name != NULL && repo_name_check("repository", f->name, err) < 0)
		return -1;
	type = f->type;
	if (type != NULL && repo_format_find(type) == NULL)
		return dr_error_set(err, "repository type '%s': expected yum or apt", type);
	if (f->url != NULL && !str_has_prefix(f->url, "http://") &&
	    !str_has_prefix(f->url, "https://"))
		return dr_error_set(err, "url '%s': expected http:// or https://", f->url);
	if (f->url != NULL && (strlen(f->url) > 2048 || strpbrk(f->url, " \t\r\n?#") != NULL))
		return dr_error_set(err, "url '%s': not a plain URL", f->url);
	if (f->download_policy != NULL && strcmp(f->download_policy, "immediate") != 0 &&
	    strcmp(f->download_policy, "on_demand") != 0)
		return dr_error_set(err, "download_policy '%s': expected immediate or on_demand",
		    f->download_policy);
	if (f->mirroring_policy != NULL && strcmp(f->mirroring_policy, "additive") != 0 &&
	    strcmp(f->mirroring_policy, "mirror_complete") != 0)
		return dr_error_set(err,
		    "mirroring_policy '%s': expected additive or mirror_complete",
		    f->mirroring_policy);
	if (f->bandwidth != -1 && (f->bandwidth < 0 || f->bandwidth > (1LL << 40)))
		return dr_error_set(err, "bandwidth_limit: bytes per second, 0 for none");
	if (f->concurrency != -1 && (f->concurrency < 1 || f->concurrency > 64))
		return dr_error_set(err, "download_concurrency: 1 to 64");
	if (f->retain != -1 && (f->retain < 0 || f->retain > 100000))
		return dr_error_set(err, "retain_versions: 0 (all) to 100000");
	if (f->gpg_key != NULL && *f->gpg_key != '\0' &&
	    (strstr(f->gpg_key, "-----BEGIN PGP PUBLIC KEY BLOCK-----") == NULL ||
	        strlen(f->gpg_key) > 1u << 20))
		return dr_error_set(err, "gpg_key: expected an armored public key");
	if (f->distribution != NULL && (repo_path_check(f->distribution, "distribution", err) < 0))
		return -1;
	if (comps != NULL && repo_list_text(comps, "components", &f->components, err) < 0)
		return -1;
	if (archs != NULL && repo_list_text(archs, "architectures", &f->architectures, err) < 0)
		return -1;
	if (inc != NULL && repo_patterns(inc, "include", &f->include, err) < 0)
		return -1;
	if (exc != NULL && repo_patterns(exc, "exclude", &f->exclude, err) < 0)
		return -1;
	if (f->product != NULL) {
		_cleanup_json_ json_t *p = repo_product_get(f->product);
		if (p == NULL)
			return dr_error_set(err, "no product '%s'", f->product);
		f->product_id = json_integer_value(json_object_get(p, "id"));
	}
	return 0;
}

/* Create a repository from a spec (see README: name, product, type, url, …). */
int
repo_create(const json_t *spec, int64_t *ret_id, struct dr_error *err)
{
	struct repo_fields f = {0};
	_cleanup_json_ json_t *old = NULL;
	int64_t now = time(NULL);
	int r;

	if (repo_fields_read(spec, true, &f, err) < 0) {
		repo_fields_free(&f);
		return -1;
	}
	if (strcmp(f.type, "apt") == 0 && f.distribution == NULL) {
		repo_fields_free(&f);
		return dr_error_set(err, "an apt repository needs a distribution");
	}
	if ((old = repo_get(f.name)) != NULL) {
		repo_fields_free(&f);
		return dr_error_set(err, "repository '%s' already exists", f.name);
	}
	r = store_execf(NULL, ret_id, err,
	    "INSERT INTO repo_repositories (product_id, name, type, url, distribution,"
	    " components, architectures, gpg_key, download_policy, mirroring_policy,"
	    " include_patterns, exclude_patterns, retain_versions, created_at, updated_at,"
	    " errata_url, download_concurrency, bandwidth_limit)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    "[Issss?s?s?s?ssssIIIs?II]", (json_int_t)f.product_id, f.name, f.type, f.url,
	    f.distribution,
	    strcmp(f.type, "apt") == 0 && f.components == NULL ? "main" : f.components,
	    strcmp(f.type, "apt") == 0 && f.architectures == NULL ? "amd64" : f.architectures,
	    f.gpg_key != NULL && *f.gpg_key != '\0' ? f.gpg_key : NULL,
	    f.download_policy ? f.download_policy : "immediate",
	    f.mirroring_policy ? f.mirroring_policy : "additive", f.include ? f.include : "[]",
	    f.exclude ? f.exclude : "[]", (json_int_t)(f.retain >= 0 ? f.retain : 0),
	    (json_int_t)now, (json_int_t)now,
	    f.errata_url != NULL && *f.errata_url != '\0' ? f.errata_url : NULL,
	    (json_int_t)(f.concurrency > 0 ? f.concurrency : REPO_DOWNLOAD_CONCURRENCY),
	    (json_int_t)(f.bandwidth > 0 ? f.bandwidth : 0));
	repo_fields_free(&f);
	return r;
}

#define REPO_STR(x) #x
#define REPO_XSTR(x) REPO_STR(x)

/* What clearing a repository's optional field (JSON null, or "" for a string) sets its
 * column to: the value a create without it stores. */
static const struct repo_clear {
	const char *key, *column, *sql_yum, *sql_apt;
} repo_clears[] = {
    {"distribution", "distribution", "NULL", NULL}, /* an apt repository needs one */
    {"components", "components", "NULL", "'main'"},
    {"architectures", "architectures", "NULL", "'amd64'"},
    {"gpg_key", "gpg_key", "NULL", "NULL"},
    {"download_policy", "download_policy", "'immediate'", "'immediate'"},
    {"mirroring_policy", "mirroring_policy", "'additive'", "'additive'"},
    {"include", "include_patterns", "'[]'", "'[]'"},
    {"exclude", "exclude_patterns", "'[]'", "'[]'"},
    {"retain_versions", "retain_versions", "0", "0"},
    {"errata_url", "errata_url", "NULL", "NULL"},
    {"download_concurrency", "download_concurrency", REPO_XSTR(REPO_DOWNLOAD_CONCURRENCY),
        REPO_XSTR(REPO_DOWNLOAD_CONCURRENCY)},
    {"bandwidth_limit", "bandwidth_limit", "0", "0"},
};

/* Split the fields spec clears (null, or a blank string) off into *ret_sql as "col = default,
 * ..." for a repository of type; the rest stays in *ret_rest. A required field cannot be
 * cleared. */
static int
repo_update_clears(
    const json_t *spec, const char *type, json_t **ret_rest, char **ret_sql, struct dr_error *err)
{
	static const char *const required[] = {"name", "product", "url", "type"};
	json_t *rest = json_deep_copy(spec), *v;
	struct buf sql = BUF_INIT(0);
	const char *key;
	void *tmp;
	size_t i;

	buf_adds(&sql, "");
	json_object_foreach_safe(rest, tmp, key, v)
	{
		const struct repo_clear *c = NULL;

		if (!json_is_null(v) &&
		    !(json_is_string(v) &&
		        json_string_value(v)[strspn(json_string_value(v), " \t\r\n")] == '\0'))
			continue;
		for (i = 0; i < nitems(required); i++)
			if (strcmp(key, required[i]) == 0) {
				dr_error_set(err, "%s: required, it cannot be cleared", key);
				json_decref(rest); /* key was rest's */
				buf_free(&sql);
				return -1;
			}
		for (i = 0; i < nitems(repo_clears); i++)
			if (strcmp(key, repo_clears[i].key) == 0)
				c = &repo_clears[i];
		if (c == NULL)
			continue; /* unknown: repo_fields_read names it */
		if (strcmp(type, "apt") == 0 && c->sql_apt == NULL) {
			dr_error_set(err, "%s: an apt repository needs one", key);
			json_decref(rest);
			buf_free(&sql);
			return -1;
		}
		buf_addf(&sql, "%s = %s, ", c->column,
		    strcmp(type, "apt") == 0 ? c->sql_apt : c->sql_yum);
		json_object_del(rest, key);
	}
	*ret_rest = rest;
	*ret_sql = buf_steal(&sql);
	return 0;
}

/* Change a repository; anything that changes what a sync keeps forgets the upstream
 * checksum, so the next sync does the work again. A field given as null (or "") is
 * cleared: back to what a create without it stores. */
int
repo_update(int64_t id, const json_t *spec, struct dr_error *err)
{
	_cleanup_json_ json_t *cur = NULL, *rest = NULL;
	_cleanup_free_ char *clears = NULL, *sql = NULL;
	struct repo_fields f = {0};
	int r;

	if (!json_is_object(spec))
		return dr_error_set(err, "repository: expected an object");
	cur = store_query_one(
	    err, "SELECT type FROM repo_repositories WHERE id = ?", "[I]", (json_int_t)id);
	if (cur == NULL)
		return dr_error_set(err, "no repository %lld", (long long)id);
	if (repo_update_clears(
	        spec, json_string_value(json_object_get(cur, "type")), &rest, &clears, err) < 0)
		return -1;
	spec = rest;
	if (repo_fields_read(spec, false, &f, err) < 0) {
		repo_fields_free(&f);
		return -1;
	}
	if (f.type != NULL) {
		repo_fields_free(&f);
		return dr_error_set(err, "a repository's type cannot change");
	}
	/* The clears come last: of a column assigned twice, SQLite keeps the rightmost. */
	sql = xasprintf("UPDATE repo_repositories SET name = COALESCE(?, name),"
	                " product_id = COALESCE(?, product_id), url = COALESCE(?, url),"
	                " distribution = COALESCE(?, distribution),"
	                " components = COALESCE(?, components),"
	                " architectures = COALESCE(?, architectures),"
	                " gpg_key = COALESCE(?, gpg_key),"
	                " download_policy = COALESCE(?, download_policy),"
	                " mirroring_policy = COALESCE(?, mirroring_policy),"
	                " include_patterns = COALESCE(?, include_patterns),"
	                " exclude_patterns = COALESCE(?, exclude_patterns),"
	                " retain_versions = COALESCE(?, retain_versions),"
	                " errata_url = COALESCE(?, errata_url),"
	                " download_concurrency = COALESCE(?, download_concurrency),"
	                " bandwidth_limit = COALESCE(?, bandwidth_limit),"
	                " %supstream_checksum = NULL, updated_at = ? WHERE id = ?",
	    clears);
	r = store_execf(NULL, NULL, err, sql, "[s?os?s?s?s?s?s?s?s?s?os?ooII]", f.name,
	    f.product_id > 0 ? json_integer(f.product_id) : json_null(), f.url, f.distribution,
	    f.components, f.architectures, f.gpg_key, f.download_policy, f.mirroring_policy,
	    f.include, f.exclude, f.retain >= 0 ? json_integer(f.retain) : json_null(),
	    f.errata_url, f.concurrency > 0 ? json_integer(f.concurrency) : json_null(),
	    f.bandwidth >= 0 ? json_integer(f.bandwidth) : json_null(), (json_int_t)time(NULL),
	    (json_int_t)id);
	repo_fields_free(&f);
	return r;
}

/* Delete a repository and its versions unless a content view uses it. */
int
repo_delete(int64_t id, struct dr_error *err)
{
	_cleanup_json_ json_t *cvs = NULL;
	size_t i;
	json_t *cv;

	if (store_query("SELECT name, repositories AS repositories_json FROM repo_content_views",
	        NULL, &cvs, err) < 0)
		return -1;
	json_array_foreach(cvs, i, cv)
	{
		size_t j;
		json_t *r;
		json_array_foreach(json_object_get(cv, "repositories"), j, r)
		{
			if (json_integer_value(r) == id)
				return dr_error_set(err, "content view '%s' uses the repository",
				    json_string_value(json_object_get(cv, "name")));
		}
	}
	return store_execf(
	    NULL, NULL, err, "DELETE FROM repo_repositories WHERE id = ?", "[I]", (json_int_t)id);
}

/* True when name matches an include pattern (or there are none) and no exclude pattern. */
bool
repo_name_wanted(const json_t *repo, const char *name)
{
	json_t *inc = json_object_get(repo, "include"), *exc = json_object_get(repo, "exclude");
	bool in = json_array_size(inc) == 0;
	size_t i;
	json_t *p;

	json_array_foreach(inc, i, p)
	{
		if (fnmatch(json_string_value(p), name, 0) == 0) {
			in = true;
			break;
		}
	}
	if (!in)
		return false;
	json_array_foreach(exc, i, p)
	{
		if (fnmatch(json_string_value(p), name, 0) == 0)
			return false;
	}
	return true;
}
