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

/* Applicable errata of a profile against the errata and packages of versions. */
int
repo_errata_applicable(const json_t *profile, const json_t *version_ids, const char *format_type,
    json_t **ret, struct dr_error *err)
{
	_cleanup_free_ char *ids = errata_id_list(version_ids);
	_cleanup_free_ char *esql = NULL, *usql = NULL;
	_cleanup_json_ json_t *errata = NULL, *units = NULL, *installed = json_object();
	_cleanup_json_ json_t *by_name = json_object();
	json_t *out = json_array();
	Pool *pool;
	size_t i, j, k;
	json_t *p, *e, *u;

	if (ids == NULL || json_array_size(version_ids) == 0) {
		json_decref(out);
		return dr_error_set(err, "versions: a non-empty list of ids");
	}
	if (!json_is_array(profile)) {
		json_decref(out);
		return dr_error_set(
		    err, "profile: a list of {name, epoch, version, release, arch}");
	}
	json_array_foreach(profile, i, p)
	{
		const char *name = json_string_value(json_object_get(p, "name"));
		_cleanup_free_ char *evr = NULL;
		json_t *list;
		if (name == NULL || !json_is_string(json_object_get(p, "version"))) {
			json_decref(out);
			return dr_error_set(err, "profile[%zu]: name and version are required", i);
		}
		if ((list = json_object_get(installed, name)) == NULL)
			json_object_set_new(installed, name, list = json_array());
		evr = errata_evr(p);
		json_array_append_new(list,
		    json_pack("{s:s, s:s?}", "evr", evr, "arch",
		        json_string_value(json_object_get(p, "arch"))));
	}
	esql = xasprintf("SELECT DISTINCT e.id, e.erratum_id, e.type, e.severity, e.title,"
	                 " e.issued_at, e.data AS data_json FROM repo_errata e JOIN"
	                 " repo_version_errata ve ON ve.erratum_id = e.id"
	                 " WHERE ve.version_id IN (%s) ORDER BY e.erratum_id",
	    ids);
	usql = xasprintf("SELECT DISTINCT u.name, u.epoch, u.version, u.release, u.arch FROM"
	                 " repo_units u JOIN repo_version_units vu ON vu.unit_id = u.id"
	                 " WHERE vu.version_id IN (%s)",
	    ids);
	if (store_query(esql, NULL, &errata, err) < 0 ||
	    store_query(usql, NULL, &units, err) < 0) {
		json_decref(out);
		return -1;
	}
	/* The content's packages by name, so each fix is looked up, not searched for. */
	json_array_foreach(units, i, u)
	{
		const char *name = json_string_value(json_object_get(u, "name"));
		_cleanup_free_ char *evr = errata_evr(u);
		json_t *list = json_object_get(by_name, name);

		if (list == NULL)
			json_object_set_new(by_name, name, list = json_array());
		json_array_append_new(
		    list, json_pack("{s:s, s:O}", "evr", evr, "arch", json_object_get(u, "arch")));
	}
	pool = pool_create();
	pool_setdisttype(pool, strcmp(format_type, "apt") == 0 ? DISTTYPE_DEB : DISTTYPE_RPM);
	json_array_foreach(errata, i, e)
	{
		json_t *fixes = json_array();
		bool installable = true;

		json_array_foreach(json_object_get(json_object_get(e, "data"), "packages"), j, p)
		{
			const char *name = json_string_value(json_object_get(p, "name"));
			const char *arch = json_string_value(json_object_get(p, "arch"));
			_cleanup_free_ char *fixed = errata_evr(p);
			json_t *inst;

			json_array_foreach(json_object_get(installed, name ? name : ""), k, inst)
			{
				const char *have = json_string_value(json_object_get(inst, "evr"));
				const char *iarch =
				    json_string_value(json_object_get(inst, "arch"));
				bool in_repo = false;
				size_t m;

				if (!errata_arch_ok(iarch, arch) ||
				    pool_evrcmp_str(pool, have, fixed, EVRCMP_COMPARE) >= 0)
					continue;
				json_array_foreach(json_object_get(by_name, name), m, u)
				{
					if (errata_arch_ok(iarch,
					        json_string_value(json_object_get(u, "arch"))) &&
					    pool_evrcmp_str(pool,
					        json_string_value(json_object_get(u, "evr")),
					        fixed, EVRCMP_COMPARE) >= 0) {
						in_repo = true;
						break;
					}
				}
				if (!in_repo)
					installable = false;
				json_array_append_new(fixes,
				    json_pack("{s:s, s:s, s:s, s:s?, s:b}", "name", name,
				        "installed", have, "fixed", fixed, "arch", iarch,
				        "installable", in_repo));
			}
		}
		if (json_array_size(fixes) == 0) {
			json_decref(fixes);
			continue;
		}
		json_array_append_new(out,
		    json_pack("{s:O, s:O, s:O, s:O, s:O, s:o, s:b}", "erratum_id",
		        json_object_get(e, "erratum_id"), "type", json_object_get(e, "type"),
		        "severity", json_object_get(e, "severity"), "title",
		        json_object_get(e, "title"), "issued_at", json_object_get(e, "issued_at"),
		        "packages", fixes, "installable", installable));
	}
	pool_free(pool);
	*ret = out;
	return 0;
}
