/*
 * content.c - what is installed on a host and which errata apply to it, as the jobs
 * subsystem collects them (package profiles at the end of every job, applicability against
 * the content the host is bound to): search fields of the hosts list ("installed = bash",
 * "errata.security > 0"), GET /api/v2/hosts/:id/packages and /errata (lists in Foreman's
 * shape with their own search), and the rows the host pages show.
 *
 * The profiles live in jobs' table jobs_host_profiles (packages: [{name, epoch?, version,
 * release?, arch}], applicable: {"applicable": [erratum ids], "installable": [...]}); the
 * errata in repos' repo_errata. Both are read here, never written: the SQL below is the
 * one place that knows their columns outside their subsystems.
 */
#define LOG_COMPONENT "provisioner"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"
#include "provisioner/provisioner.h"
#include "webui/webui.h"

/* The applicable errata of the listed host of one type, counted. */
#define PROV_CONTENT_COUNT(type)                                                                  \
	"(SELECT count(*) FROM jobs_host_profiles p, json_each(p.applicable, '$.applicable') a"   \
	" WHERE p.host_id = prov_hosts.id AND EXISTS (SELECT 1 FROM repo_errata x"                \
	" WHERE x.erratum_id = a.value AND x.type = '" type "'))"

/* Search fields the hosts list gets from the profiles. */
static const struct search_field prov_content_fields[] = {
    {"installed", "k.value ->> 'name'", SEARCH_TEXT, 0,
        "FROM jobs_host_profiles p, json_each(p.packages) k WHERE p.host_id = prov_hosts.id"},
    {"errata.total",
        "coalesce((SELECT p.applicable_count FROM jobs_host_profiles p"
        " WHERE p.host_id = prov_hosts.id), 0)",
        SEARCH_INT},
    {"errata.installable",
        "coalesce((SELECT p.installable_count FROM jobs_host_profiles p"
        " WHERE p.host_id = prov_hosts.id), 0)",
        SEARCH_INT},
    {"errata.security", PROV_CONTENT_COUNT("security"), SEARCH_INT},
    {"errata.bugfix", PROV_CONTENT_COUNT("bugfix"), SEARCH_INT},
    {"errata.enhancement", PROV_CONTENT_COUNT("enhancement"), SEARCH_INT},
    {"reboot_required",
        "(SELECT p.reboot_required FROM jobs_host_profiles p WHERE p.host_id = prov_hosts.id)",
        SEARCH_BOOL},
    {"applicable_erratum", "a.value", SEARCH_TEXT, 0,
        "FROM jobs_host_profiles p, json_each(p.applicable, '$.applicable') a"
        " WHERE p.host_id = prov_hosts.id"},
    {"installable_erratum", "a.value", SEARCH_TEXT, 0,
        "FROM jobs_host_profiles p, json_each(p.applicable, '$.installable') a"
        " WHERE p.host_id = prov_hosts.id"},
    {"packages_collected_at",
        "(SELECT p.collected_at FROM jobs_host_profiles p WHERE p.host_id = prov_hosts.id)",
        SEARCH_TIME},
};

/* The hosts list's search fields over the profiles. */
const struct search_field *
prov_content_host_fields(size_t *ret_n)
{
	*ret_n = nitems(prov_content_fields);
	return prov_content_fields;
}

/* A host's packages: one row per entry of its profile. */
static const struct search_field prov_content_package_fields[] = {
    {"name", "k.value ->> 'name'", SEARCH_TEXT, SEARCH_DEFAULT},
    {"version", "k.value ->> 'version'", SEARCH_TEXT},
    {"release", "k.value ->> 'release'", SEARCH_TEXT},
    {"epoch", "k.value ->> 'epoch'", SEARCH_TEXT},
    {"arch", "k.value ->> 'arch'", SEARCH_TEXT},
};

/* nvra and nvrea as Katello shows them. */
static void
prov_content_package_present(json_t *row)
{
	const char *name = json_string_value(json_object_get(row, "name"));
	const char *ver = json_string_value(json_object_get(row, "version"));
	const char *rel = json_string_value(json_object_get(row, "release"));
	const char *epoch = json_string_value(json_object_get(row, "epoch"));
	const char *arch = json_string_value(json_object_get(row, "arch"));
	_cleanup_free_ char *vr =
	    rel != NULL ? xasprintf("%s-%s", ver ? ver : "", rel) : xstrdup(ver ? ver : "");

	json_object_set_new(row, "nvra",
	    json_sprintf("%s-%s%s%s", name ? name : "", vr, arch ? "." : "", arch ? arch : ""));
	json_object_set_new(row, "nvrea",
	    json_sprintf("%s-%s%s%s%s%s", name ? name : "", epoch ? epoch : "", epoch ? ":" : "",
	        vr, arch ? "." : "", arch ? arch : ""));
}

static const struct api_resource prov_content_packages = {
    .name = "host_packages",
    .select = "k.value ->> 'name' AS name, k.value ->> 'epoch' AS epoch,"
              " k.value ->> 'version' AS version, k.value ->> 'release' AS release,"
              " k.value ->> 'arch' AS arch",
    .from = "jobs_host_profiles p, json_each(p.packages) k",
    .id_sql = "k.id",
    .order = "k.value ->> 'name', k.value ->> 'arch', k.id",
    .fields = prov_content_package_fields,
    .nfields = nitems(prov_content_package_fields),
    .present = prov_content_package_present,
    .nested = true,
};

/* A host's applicable errata: each erratum id of its profile's evaluation, with the
 * erratum's newest stored revision. */
static const struct search_field prov_content_errata_fields[] = {
    {"errata_id", "x.erratum_id", SEARCH_TEXT, SEARCH_DEFAULT},
    {"title", "x.title", SEARCH_TEXT, SEARCH_DEFAULT},
    {"type", "x.type", SEARCH_TEXT},
    {"severity", "x.severity", SEARCH_TEXT},
    {"issued", "x.issued_at", SEARCH_TIME},
    {"updated", "x.updated_at", SEARCH_TIME},
    {"installable",
        "EXISTS (SELECT 1 FROM json_each(p.applicable, '$.installable') i"
        " WHERE i.value = a.value)",
        SEARCH_BOOL},
    {"cve", "ref.value ->> 'id'", SEARCH_TEXT, 0,
        "FROM json_each(x.data, '$.references') ref WHERE ref.value ->> 'type' = 'cve'"},
};

/* installable as a boolean. */
static void
prov_content_erratum_present(json_t *row)
{
	json_object_set_new(row, "installable",
	    json_boolean(json_integer_value(json_object_get(row, "installable")) != 0));
}

static const struct api_resource prov_content_errata = {
    .name = "host_errata",
    .select = "x.erratum_id AS errata_id, x.erratum_id AS id, x.title AS title,"
              " x.type AS type, x.severity AS severity, x.issued_at AS issued,"
              " x.updated_at AS updated, EXISTS (SELECT 1 FROM"
              " json_each(p.applicable, '$.installable') i WHERE i.value = a.value)"
              " AS installable",
    .from = "jobs_host_profiles p, json_each(p.applicable, '$.applicable') a"
            " JOIN repo_errata x ON x.id = (SELECT y.id FROM repo_errata y"
            " WHERE y.erratum_id = a.value ORDER BY y.updated_at DESC, y.id DESC LIMIT 1)",
    .id_sql = "a.id",
    .order = "x.issued_at DESC, x.erratum_id",
    .fields = prov_content_errata_fields,
    .nfields = nitems(prov_content_errata_fields),
    .present = prov_content_erratum_present,
    .nested = true,
};

/* The host :id names (an id or a name) when the caller's role lets this route see it;
 * else a 404 and -1. */
static int64_t
prov_content_host(struct http_request *req, struct http_response *resp)
{
	const char *key = http_request_param(req, "id");
	_cleanup_json_ json_t *host = prov_resource_get(prov_resource_find("host"), key);
	int64_t id = json_integer_value(json_object_get(host, "id"));

	if (host == NULL || !api_in_scope(req, provisioner_api_resource("hosts"), id)) {
		http_reply_error(resp, 404, "no host '%s'", key);
		return -1;
	}
	return id;
}

/* Bring the stored applicability up to date where the host's content changed (a content
 * view promoted, its parameters edited) since it was evaluated. It reads every host, so
 * the one-host API answer does it, and pages and lists show what is stored. */
static int
prov_content_refresh(struct dr_error *err)
{
	if (jobs_targets_refresh(err) < 0 || jobs_applicability_refresh(NULL, err) < 0)
		return -1;
	return 0;
}

/* GET /api/v2/hosts/:id/packages and /errata: a host's rows, searchable and paged. */
static int
prov_content_list(struct http_request *req, struct http_response *resp)
{
	bool errata = str_has_suffix(http_request_path(req), "/errata");
	_cleanup_json_ json_t *params = NULL;
	struct dr_error err;
	int64_t id;

	if ((id = prov_content_host(req, resp)) < 0)
		return 0;
	if (errata && prov_content_refresh(&err) < 0) {
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	params = json_pack("[I]", (json_int_t)id);
	return api_list(req, resp, errata ? &prov_content_errata : &prov_content_packages,
	    "p.host_id = ?", params);
}

/* The profile summary, its applicable errata and first packages of a host, for its page. */
json_t *
prov_content_page(int64_t host_id, long long npackages)
{
	_cleanup_json_ json_t *params = json_pack("[I]", (json_int_t)host_id);
	json_t *out, *rows = NULL, *profile;
	int64_t total = 0;
	struct dr_error err;

	profile = store_query_one(NULL,
	    "SELECT format, package_count, reboot_required, applicable_count, installable_count,"
	    " collected_at, job_id FROM jobs_host_profiles WHERE host_id = ?",
	    "[I]", (json_int_t)host_id);
	out = json_pack("{s:o}", "profile", profile != NULL ? profile : json_null());
	if (profile == NULL)
		return out;
	/* As stored: bringing every host's applicability up to date reads all hosts (0.1 s at
	 * 10,000), too slow for a page; jobs re-evaluate before every job and patch run. */
	if (api_list_query_extra(&prov_content_errata, "p.host_id = ?", params, NULL, NULL, NULL,
	        1, API_PER_PAGE_MAX, &rows, &total, &err) < 0) {
		json_object_set_new(out, "error", json_string(err.msg));
		return out;
	}
	json_object_set_new(out, "errata", rows);
	rows = NULL;
	if (api_list_query_extra(&prov_content_packages, "p.host_id = ?", params, NULL, NULL, NULL,
	        1, npackages, &rows, &total, &err) < 0) {
		json_object_set_new(out, "error", json_string(err.msg));
		return out;
	}
	json_object_set_new(out, "packages", rows);
	return out;
}

/* Errata counts of the listed hosts (rows with "id"), as each row's "errata":
 * {total, security, bugfix, enhancement}; hosts without a profile get none. */
void
prov_content_counts(json_t *rows)
{
	_cleanup_json_ json_t *params = json_array(), *got = NULL, *byid = json_object();
	struct buf sql = BUF_INIT(0);
	struct dr_error err;
	size_t i;
	json_t *row;

	if (json_array_size(rows) == 0)
		return;
	buf_adds(&sql,
	    "SELECT p.host_id AS id, p.applicable_count AS total,"
	    " sum(x.type = 'security') AS security, sum(x.type = 'bugfix') AS bugfix,"
	    " sum(x.type = 'enhancement') AS enhancement FROM jobs_host_profiles p"
	    " LEFT JOIN json_each(p.applicable, '$.applicable') a"
	    " LEFT JOIN repo_errata x ON x.id = (SELECT y.id FROM repo_errata y"
	    " WHERE y.erratum_id = a.value ORDER BY y.updated_at DESC, y.id DESC LIMIT 1)"
	    " WHERE p.host_id IN (-1");
	json_array_foreach(rows, i, row)
	{
		buf_adds(&sql, ", ?");
		json_array_append(params, json_object_get(row, "id"));
	}
	buf_adds(&sql, ") GROUP BY p.host_id");
	if (store_query(sql.data, params, &got, &err) < 0) {
		log_warnx("errata counts: %s", err.msg);
		buf_free(&sql);
		return;
	}
	buf_free(&sql);
	json_array_foreach(got, i, row)
	{
		char k[32];
		const char *t[] = {"security", "bugfix", "enhancement"};

		for (size_t j = 0; j < nitems(t); j++)
			if (!json_is_integer(json_object_get(row, t[j])))
				json_object_set_new(row, t[j], json_integer(0));
		snprintf(k, sizeof k, "%lld",
		    (long long)json_integer_value(json_object_get(row, "id")));
		json_object_del(row, "id");
		json_object_set(byid, k, row);
	}
	json_array_foreach(rows, i, row)
	{
		char k[32];

		snprintf(k, sizeof k, "%lld",
		    (long long)json_integer_value(json_object_get(row, "id")));
		if (json_object_get(byid, k) != NULL)
			json_object_set(row, "errata", json_object_get(byid, k));
	}
}

static const struct http_route prov_content_routes[] = {
    {"GET", "/api/v2/hosts/:id/packages", prov_content_list, HTTP_LIST, "host_packages", "hosts",
        "view", "The packages installed on a host (its last collected profile), searchable"},
    {"GET", "/api/v2/hosts/:id/errata", prov_content_list, HTTP_LIST, "host_errata", "hosts",
        "view", "The errata applicable to a host, with whether its content can install them"},
};

/* Install the routes; before http_server_start. */
void
prov_content_api_init(void)
{
	http_routes_add(prov_content_routes, nitems(prov_content_routes));
}
