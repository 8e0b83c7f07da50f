/*
 * errata.c - errata queries and applicability: an erratum applies to a package profile
 * when it fixes an installed package that is older (by libsolv's rpm or Debian version
 * rules), and is installable when the fixed version is in the given repository versions.
 */
#define LOG_COMPONENT "repos"
#include "config.h"

#include <solv/evr.h>
#include <solv/pool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repos/repos.h"

/* Compare EVRs ("[E:]V[-R]") by the format's rules: <0, 0, >0. */
int
repo_evr_cmp(const char *format_type, const char *a, const char *b)
{
	Pool *pool = pool_create();
	int r;

	pool_setdisttype(pool, strcmp(format_type, "apt") == 0 ? DISTTYPE_DEB : DISTTYPE_RPM);
	r = pool_evrcmp_str(pool, a, b, EVRCMP_COMPARE);
	pool_free(pool);
	return r;
}

/* "E:V-R" with the epoch left out when it is 0 or empty; caller frees. */
static char *
errata_evr(const json_t *p)
{
	const char *e = json_string_value(json_object_get(p, "epoch"));
	const char *v = json_string_value(json_object_get(p, "version"));
	const char *r = json_string_value(json_object_get(p, "release"));

	return xasprintf("%s%s%s%s%s", e != NULL && *e != '\0' && strcmp(e, "0") != 0 ? e : "",
	    e != NULL && *e != '\0' && strcmp(e, "0") != 0 ? ":" : "", v ? v : "",
	    r != NULL && *r != '\0' ? "-" : "", r != NULL ? r : "");
}

/* Errata matching {type, severity, cve, repository, since, until, search}. */
int
repo_errata_list(const json_t *filter, int limit, int offset, json_t **ret, int64_t *ret_total,
    struct dr_error *err)
{
	struct buf where = BUF_INIT(4096);
	_cleanup_json_ json_t *params = json_array(), *count = NULL;
	_cleanup_free_ char *sql = NULL, *csql = NULL;
	const char *v;
	int r;

	buf_adds(&where, " WHERE 1 = 1");
	if ((v = json_string_value(json_object_get(filter, "type"))) != NULL) {
		buf_adds(&where, " AND type = ?");
		json_array_append_new(params, json_string(v));
	}
	if ((v = json_string_value(json_object_get(filter, "severity"))) != NULL) {
		buf_adds(&where, " AND severity = ?");
		json_array_append_new(params, json_string(v));
	}
	if ((v = json_string_value(json_object_get(filter, "cve"))) != NULL) {
		_cleanup_free_ char *like = xasprintf("%%\"id\":\"%s\"%%", v);
		buf_adds(&where, " AND data LIKE ?");
		json_array_append_new(params, json_string(like));
	}
	if ((v = json_string_value(json_object_get(filter, "search"))) != NULL) {
		_cleanup_free_ char *like = xasprintf("%%%s%%", v);
		buf_adds(&where, " AND (erratum_id LIKE ? OR title LIKE ?)");
		json_array_append_new(params, json_string(like));
		json_array_append_new(params, json_string(like));
	}
	if ((v = json_string_value(json_object_get(filter, "repository"))) != NULL) {
		buf_adds(&where,
		    " AND id IN (SELECT ve.erratum_id FROM repo_version_errata ve"
		    " JOIN repo_repositories r ON r.latest_version_id = ve.version_id"
		    " WHERE r.name = ?)");
		json_array_append_new(params, json_string(v));
	}
	if (json_is_integer(json_object_get(filter, "since"))) {
		buf_adds(&where, " AND issued_at >= ?");
		json_array_append(params, json_object_get(filter, "since"));
	}
	if (json_is_integer(json_object_get(filter, "until"))) {
		buf_adds(&where, " AND issued_at <= ?");
		json_array_append(params, json_object_get(filter, "until"));
	}
	csql = xasprintf("SELECT COUNT(*) AS n FROM repo_errata%s", where.data);
	sql =
	    xasprintf("SELECT id, erratum_id, type, severity, title, issued_at, updated_at"
	              " FROM repo_errata%s ORDER BY issued_at DESC, erratum_id LIMIT %d OFFSET %d",
	        where.data, limit, offset);
	buf_free(&where);
	if (store_query(csql, params, &count, err) < 0)
		return -1;
	r = store_query(sql, params, ret, err);
	if (r == 0 && ret_total != NULL)
		*ret_total = json_integer_value(json_object_get(json_array_get(count, 0), "n"));
	return r;
}

/* The newest text of an erratum by its id, with every field; caller frees. */
json_t *
repo_erratum_get(const char *erratum_id)
{
	struct dr_error err;
	json_t *row = store_query_one(&err,
	    "SELECT id, data AS data_json, updated_at FROM repo_errata WHERE erratum_id = ?"
	    " ORDER BY updated_at DESC, id DESC",
	    "[s]", erratum_id);
	json_t *e;

	if (row == NULL)
		return NULL;
	e = json_incref(json_object_get(row, "data"));
	json_decref(row);
	if (!json_is_object(e)) {
		json_decref(e);
		return NULL;
	}
	return e;
}

/* "id,id,…" of a JSON array of integers; NULL when it holds something else. */
static char *
errata_id_list(const json_t *ids)
{
	struct buf b = BUF_INIT(1u << 20);
	size_t i;
	json_t *v;

	json_array_foreach(ids, i, v)
	{
		if (!json_is_integer(v)) {
			buf_free(&b);
			return NULL;
		}
		buf_addf(&b, "%s%lld", i ? "," : "", (long long)json_integer_value(v));
	}
	return buf_steal(&b);
}

static bool
errata_arch_ok(const char *installed, const char *fixed)
{
	return installed == NULL || fixed == NULL || *fixed == '\0' ||
	    strcmp(installed, fixed) == 0 || strcmp(fixed, "noarch") == 0 ||
	    strcmp(installed, "noarch") == 0 || strcmp(fixed, "all") == 0;
}

/*
 * The content applicability is computed against, loaded once: its errata, an index from
 * package name to the fixes that name it, and its packages by name. Evaluating a profile
 * then costs one lookup per installed package, so thousands of hosts are cheap; hosts with
 * the same package set share one evaluation (repo_applicability_profile_hash).
 */
struct repo_applicability {
	Pool *pool;
	json_t *errata; /* rows: erratum_id, type, severity, title, issued_at */
	json_t *fixes; /* name -> [{e: index, arch, fixed}] */
	json_t *units; /* name -> [{evr, arch}] */
};

/* Load the errata and packages of version_ids ([ids]) for evaluations. */
int
repo_applicability_load(const json_t *version_ids, const char *format_type,
    struct repo_applicability **ret, struct dr_error *err)
{
	_cleanup_free_ char *ids = errata_id_list(version_ids);
	_cleanup_free_ char *esql = NULL, *usql = NULL;
	_cleanup_json_ json_t *rows = NULL, *units = NULL;
	struct repo_applicability *a;
	size_t i, j;
	json_t *e, *p, *u;

	if (ids == NULL || json_array_size(version_ids) == 0)
		return dr_error_set(err, "versions: a non-empty list of ids");
	esql = xasprintf("SELECT DISTINCT e.id, e.erratum_id, e.type, e.severity, e.title,"
	                 " e.issued_at, e.data AS data_json FROM repo_errata e JOIN"
	                 " repo_version_errata ve ON ve.erratum_id = e.id"
	                 " WHERE ve.version_id IN (%s) ORDER BY e.erratum_id",
	    ids);
	usql = xasprintf("SELECT DISTINCT u.name, u.epoch, u.version, u.release, u.arch FROM"
	                 " repo_units u JOIN repo_version_units vu ON vu.unit_id = u.id"
	                 " WHERE vu.version_id IN (%s)",
	    ids);
	if (store_query(esql, NULL, &rows, err) < 0 || store_query(usql, NULL, &units, err) < 0)
		return -1;
	a = xcalloc(1, sizeof *a);
	a->errata = json_array();
	a->fixes = json_object();
	a->units = json_object();
	json_array_foreach(rows, i, e)
	{
		json_array_append_new(a->errata,
		    json_pack("{s:O, s:O, s:O, s:O, s:O}", "erratum_id",
		        json_object_get(e, "erratum_id"), "type", json_object_get(e, "type"),
		        "severity", json_object_get(e, "severity"), "title",
		        json_object_get(e, "title"), "issued_at",
		        json_object_get(e, "issued_at")));
		json_array_foreach(json_object_get(json_object_get(e, "data"), "packages"), j, p)
		{
			const char *name = json_string_value(json_object_get(p, "name"));
			_cleanup_free_ char *fixed = errata_evr(p);
			json_t *list;

			if (name == NULL)
				continue;
			if ((list = json_object_get(a->fixes, name)) == NULL)
				json_object_set_new(a->fixes, name, list = json_array());
			json_array_append_new(list,
			    json_pack("{s:I, s:O, s:s}", "e",
			        (json_int_t)(json_array_size(a->errata) - 1), "arch",
			        json_object_get(p, "arch"), "fixed", fixed));
		}
	}
	json_array_foreach(units, i, u)
	{
		const char *name = json_string_value(json_object_get(u, "name"));
		_cleanup_free_ char *evr = errata_evr(u);
		json_t *list = json_object_get(a->units, name);

		if (list == NULL)
			json_object_set_new(a->units, name, list = json_array());
		json_array_append_new(
		    list, json_pack("{s:s, s:O}", "evr", evr, "arch", json_object_get(u, "arch")));
	}
	a->pool = pool_create();
	pool_setdisttype(a->pool, strcmp(format_type, "apt") == 0 ? DISTTYPE_DEB : DISTTYPE_RPM);
	*ret = a;
	return 0;
}

void
repo_applicability_free(struct repo_applicability *a)
{
	if (a == NULL)
		return;
	pool_free(a->pool);
	json_decref(a->errata);
	json_decref(a->fixes);
	json_decref(a->units);
	free(a);
}

/* Whether the content holds name at fixed or newer for an installed arch. */
static bool
applicability_in_content(
    const struct repo_applicability *a, const char *name, const char *iarch, const char *fixed)
{
	size_t m;
	json_t *u;

	json_array_foreach(json_object_get(a->units, name), m, u)
	{
		if (errata_arch_ok(iarch, json_string_value(json_object_get(u, "arch"))) &&
		    pool_evrcmp_str(a->pool, json_string_value(json_object_get(u, "evr")), fixed,
		        EVRCMP_COMPARE) >= 0)
			return true;
	}
	return false;
}

/* The applicable errata of one profile, in erratum order; caller frees *ret. Brief:
 * {"applicable": [erratum ids], "installable": [erratum ids]}, for many hosts at once. */
int
repo_applicability_eval(struct repo_applicability *a, const json_t *profile, bool brief,
    json_t **ret, struct dr_error *err)
{
	size_t n = json_array_size(a->errata), i, k;
	json_t **hits = NULL, *p, *f, *out;

	if (!json_is_array(profile))
		return dr_error_set(
		    err, "profile: a list of {name, epoch, version, release, arch}");
	hits = xcalloc(n + 1, sizeof *hits);
	json_array_foreach(profile, i, p)
	{
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *iarch = json_string_value(json_object_get(p, "arch"));
		_cleanup_free_ char *have = NULL;

		if (name == NULL || !json_is_string(json_object_get(p, "version"))) {
			for (k = 0; k < n; k++)
				json_decref(hits[k]);
			free(hits);
			return dr_error_set(err, "profile[%zu]: name and version are required", i);
		}
		if (json_object_get(a->fixes, name) == NULL)
			continue;
		have = errata_evr(p);
		json_array_foreach(json_object_get(a->fixes, name), k, f)
		{
			const char *fixed = json_string_value(json_object_get(f, "fixed"));
			size_t e = (size_t)json_integer_value(json_object_get(f, "e"));
			bool in;

			if (!errata_arch_ok(
			        iarch, json_string_value(json_object_get(f, "arch"))) ||
			    pool_evrcmp_str(a->pool, have, fixed, EVRCMP_COMPARE) >= 0)
				continue;
			in = applicability_in_content(a, name, iarch, fixed);
			if (hits[e] == NULL)
				hits[e] = json_array();
			if (brief)
				json_array_append_new(hits[e], json_boolean(in));
			else
				json_array_append_new(hits[e],
				    json_pack("{s:s, s:s, s:s, s:s?, s:b}", "name", name,
				        "installed", have, "fixed", fixed, "arch", iarch,
				        "installable", in));
		}
	}
	out = brief ? json_pack("{s:[], s:[]}", "applicable", "installable") : json_array();
	for (i = 0; i < n; i++) {
		bool installable = true;
		json_t *e;

		if (hits[i] == NULL)
			continue;
		json_array_foreach(hits[i], k, f)
		{
			if (!json_is_true(brief ? f : json_object_get(f, "installable")))
				installable = false;
		}
		if (brief) {
			json_t *id = json_object_get(json_array_get(a->errata, i), "erratum_id");
			json_array_append(json_object_get(out, "applicable"), id);
			if (installable)
				json_array_append(json_object_get(out, "installable"), id);
			json_decref(hits[i]);
			continue;
		}
		e = json_deep_copy(json_array_get(a->errata, i));
		json_object_set_new(e, "packages", hits[i]);
		json_object_set_new(e, "installable", json_boolean(installable));
		json_array_append_new(out, e);
	}
	free(hits);
	*ret = out;
	return 0;
}

static int
applicability_line_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* A digest of a profile's package set, the same for any order of its entries. */
void
repo_applicability_profile_hash(const json_t *profile, char hex[65])
{
	size_t n = json_array_size(profile), i;
	char **lines = xcalloc(n + 1, sizeof *lines);
	struct buf b = BUF_INIT(0);
	json_t *p;

	json_array_foreach(profile, i, p)
	{
		_cleanup_free_ char *evr = errata_evr(p);
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *arch = json_string_value(json_object_get(p, "arch"));

		lines[i] = xasprintf("%s %s %s", name ? name : "", evr, arch ? arch : "");
	}
	qsort(lines, n, sizeof *lines, applicability_line_cmp);
	for (i = 0; i < n; i++) {
		buf_adds(&b, lines[i]);
		buf_addc(&b, '\n');
		free(lines[i]);
	}
	free(lines);
	repo_pool_digest("sha256", b.data != NULL ? b.data : "", b.len, hex, NULL);
	buf_free(&b);
}

/* Applicable errata of one profile against the errata and packages of versions. */
int
repo_errata_applicable(const json_t *profile, const json_t *version_ids, const char *format_type,
    json_t **ret, struct dr_error *err)
{
	struct repo_applicability *a;
	int r;

	if (repo_applicability_load(version_ids, format_type, &a, err) < 0)
		return -1;
	r = repo_applicability_eval(a, profile, false, ret, err);
	repo_applicability_free(a);
	return r;
}
