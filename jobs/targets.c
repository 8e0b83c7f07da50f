/*
 * targets.c - the hosts a job runs on: a facet row per provisioner host (what a search
 * needs as columns, and how to reach the host over SSH), kept up to date from the
 * provisioner before every selection.
 */
#define LOG_COMPONENT "jobs"
#include "config.h"

#include <libssh/libssh.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"
#include "provisioner/provisioner.h"
#include "webui/webui.h"

/* The search fields of a host selection (--search). */
static const struct search_field jobs_target_fields[] = {
    {"id", "f.host_id", SEARCH_INT},
    {"name", "f.name", SEARCH_TEXT, SEARCH_DEFAULT},
    {"hostgroup", "f.hostgroup", SEARCH_TEXT},
    {"os", "f.os", SEARCH_TEXT},
    {"ip", "f.ip", SEARCH_TEXT},
    {"address", "f.address", SEARCH_TEXT},
    {"reboot_required", "p.reboot_required", SEARCH_BOOL},
    {"applicable_errata", "COALESCE(p.applicable_count, 0)", SEARCH_INT},
    {"installable_errata", "COALESCE(p.installable_count, 0)", SEARCH_INT},
    {"profile_at", "p.collected_at", SEARCH_TIME},
    {"drifted", "COALESCE(d.drifted, 0)", SEARCH_BOOL},
    {"content_view", "f.content_view", SEARCH_TEXT},
    {"playbooks", "f.playbooks", SEARCH_TEXT},
    {"lifecycle_environment", "f.lifecycle_environment", SEARCH_TEXT},
};

#define JOBS_TARGET_SELECT                                                                        \
	"SELECT f.host_id AS id, f.name AS name, f.address AS address, f.port AS port,"           \
	" f.ssh_user AS \"user\", f.host_keys AS host_keys, f.accept_new AS accept_new,"          \
	" f.playbooks AS playbooks"                                                               \
	" FROM jobs_host_facets f LEFT JOIN jobs_host_profiles p ON p.host_id = f.host_id"        \
	" LEFT JOIN jobs_drift d ON d.host_id = f.host_id"

static pthread_mutex_t jobs_targets_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t jobs_targets_context; /* max(updated_at) of what hosts inherit from */
static int64_t jobs_targets_synced; /* when the facets were last brought up to date */

/* A host parameter as text (parameters are scalars), or NULL. */
static const char *
jobs_param_text(const json_t *params, const char *name, char *buf, size_t size)
{
	const json_t *v = json_object_get(params, name);

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	return NULL;
}

/* Upsert the facet row of one host from the provisioner. */
static int
jobs_facet_write(int64_t id, struct dr_error *err)
{
	const struct prov_resource *hres = prov_resource_find("host");
	const struct prov_resource *gres = prov_resource_find("hostgroup");
	_cleanup_json_ json_t *host = prov_resource_get_id(hres, id), *resolved = NULL;
	struct buf chain = BUF_INIT(0);
	const json_t *hg, *params;
	const char *ip, *dom, *name, *user, *portp;
	_cleanup_free_ char *address = NULL;
	char pbuf[32], ubuf[32], cvbuf[32], envbuf[32], pbbuf[32];
	long long port = 22;
	int depth = 0, r;

	if (host == NULL)
		return 0;
	if (prov_host_resolve(host, &resolved, err) < 0)
		return dr_error_prefix(err, "host %lld: ", (long long)id);
	name = json_string_value(json_object_get(host, "name"));
	hg = json_object_get(resolved, "hostgroup");
	buf_adds(&chain, ",");
	json_t *walk = json_incref((json_t *)hg);
	while (json_is_object(walk) && depth++ < PROV_HOSTGROUP_DEPTH) {
		json_t *parent = json_object_get(walk, "parent_id");
		buf_addf(&chain, "%s,", json_string_value(json_object_get(walk, "name")));
		json_t *next = json_is_integer(parent)
		    ? prov_resource_get_id(gres, json_integer_value(parent))
		    : NULL;
		json_decref(walk);
		walk = next;
	}
	json_decref(walk);
	ip = json_string_value(json_object_get(json_object_get(resolved, "interface"), "ip"));
	dom = json_string_value(json_object_get(json_object_get(resolved, "domain"), "name"));
	address = ip != NULL ? xstrdup(ip)
	    : dom != NULL    ? xasprintf("%s.%s", name, dom)
	                     : xstrdup(name);
	params = json_object_get(resolved, "parameters");
	portp = jobs_param_text(params, "remote_execution_ssh_port", pbuf, sizeof pbuf);
	if (portp != NULL && str_to_ll(portp, 1, 65535, &port) < 0)
		port = 22;
	user = jobs_param_text(params, "remote_execution_ssh_user", ubuf, sizeof ubuf);
	r = store_execf(NULL, NULL, err,
	    "INSERT INTO jobs_host_facets (host_id, name, hostgroup, hostgroups, os, ip, address,"
	    " port, ssh_user, host_keys, accept_new, content_view, lifecycle_environment,"
	    " playbooks, updated_at, synced_at)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)"
	    " ON CONFLICT (host_id) DO UPDATE SET name = excluded.name,"
	    " hostgroup = excluded.hostgroup, hostgroups = excluded.hostgroups, os = excluded.os,"
	    " ip = excluded.ip, address = excluded.address, port = excluded.port,"
	    " ssh_user = excluded.ssh_user, host_keys = excluded.host_keys,"
	    " content_view = excluded.content_view,"
	    " lifecycle_environment = excluded.lifecycle_environment,"
	    " playbooks = excluded.playbooks,"
	    " updated_at = excluded.updated_at, synced_at = excluded.synced_at",
	    "[I s s? s s? s? s I s s s? s? s? I I]", (json_int_t)id, name,
	    json_string_value(json_object_get(hg, "name")), chain.data,
	    json_string_value(json_object_get(json_object_get(resolved, "os"), "name")), ip,
	    address, (json_int_t)port, user != NULL ? user : "root",
	    json_string_value(json_object_get(host, "ssh_host_keys")) != NULL
	        ? json_string_value(json_object_get(host, "ssh_host_keys"))
	        : "",
	    jobs_param_text(params, "content_view", cvbuf, sizeof cvbuf),
	    jobs_param_text(params, "lifecycle_environment", envbuf, sizeof envbuf),
	    jobs_param_text(params, "playbooks", pbbuf, sizeof pbbuf),
	    json_integer_value(json_object_get(host, "updated_at")), (json_int_t)time(NULL));
	buf_free(&chain);
	return r;
}

/* Bring the facets up to date with the provisioner. */
int
jobs_targets_refresh(struct dr_error *err)
{
	_cleanup_json_ json_t *hosts = NULL, *facets = NULL, *ctx = NULL, *seen = json_object();
	size_t i;
	json_t *row;
	int64_t context;
	bool all;
	int r = -1;

	pthread_mutex_lock(&jobs_targets_lock);
	ctx = store_query_one(err,
	    "SELECT MAX(t) AS t FROM (SELECT MAX(updated_at) AS t FROM prov_hostgroups"
	    " UNION ALL SELECT MAX(updated_at) FROM prov_subnets"
	    " UNION ALL SELECT MAX(updated_at) FROM prov_domains"
	    " UNION ALL SELECT MAX(updated_at) FROM prov_operatingsystems"
	    " UNION ALL SELECT MAX(updated_at) FROM prov_common_parameters"
	    " UNION ALL SELECT COUNT(*) FROM prov_hostgroups) x",
	    NULL);
	if (ctx == NULL && err != NULL && err->msg[0])
		goto out;
	context = json_integer_value(json_object_get(ctx, "t"));
	all = context != jobs_targets_context;
	/* Times are seconds: a change in the second of the last refresh may not show in
	 * updated_at, so what changed at or after it is read again. */
	all |= context >= jobs_targets_synced;
	int64_t now = time(NULL);
	if (store_queryf(&hosts, err, "SELECT id, updated_at FROM prov_hosts", NULL) < 0 ||
	    store_queryf(&facets, err,
	        "SELECT host_id, updated_at, synced_at FROM jobs_host_facets", NULL) < 0)
		goto out;
	json_array_foreach(facets, i, row)
	{
		char k[32];
		snprintf(k, sizeof k, "%lld",
		    (long long)json_integer_value(json_object_get(row, "host_id")));
		json_object_set(seen, k, row);
	}
	json_array_foreach(hosts, i, row)
	{
		int64_t id = json_integer_value(json_object_get(row, "id"));
		char k[32];
		json_t *had;
		snprintf(k, sizeof k, "%lld", (long long)id);
		had = json_object_get(seen, k);
		int64_t up = json_integer_value(json_object_get(row, "updated_at"));
		if (all || had == NULL ||
		    json_integer_value(json_object_get(had, "updated_at")) != up ||
		    up >= json_integer_value(json_object_get(had, "synced_at")))
			if (jobs_facet_write(id, err) < 0)
				goto out;
		json_object_del(seen, k);
	}
	/* Facets of deleted hosts go, with what jobs learnt about them. */
	const char *k;
	json_t *v;
	json_object_foreach(seen, k, v)
	{
		long long id = strtoll(k, NULL, 10);
		if (store_execf(NULL, NULL, err, "DELETE FROM jobs_host_facets WHERE host_id = ?",
		        "[I]", (json_int_t)id) < 0 ||
		    store_execf(NULL, NULL, err,
		        "DELETE FROM jobs_host_profiles WHERE host_id = ?", "[I]",
		        (json_int_t)id) < 0)
			goto out;
	}
	jobs_targets_context = context;
	jobs_targets_synced = now;
	r = 0;
out:
	pthread_mutex_unlock(&jobs_targets_lock);
	return r;
}

/* Rows of the target query as targets (accept_new as a boolean). */
static json_t *
jobs_targets_present(json_t *rows)
{
	size_t i;
	json_t *row;

	json_array_foreach(rows, i, row)
	{
		json_object_set_new(row, "accept_new",
		    json_boolean(json_integer_value(json_object_get(row, "accept_new")) != 0));
		if (!json_is_string(json_object_get(row, "host_keys")))
			json_object_set_new(row, "host_keys", json_string(""));
	}
	return rows;
}

/* Resolve a selection into targets ordered by name. */
int
jobs_targets_select(const json_t *selection, json_t **ret, struct dr_error *err)
{
	const char *search = json_string_value(json_object_get(selection, "search"));
	const char *hg = json_string_value(json_object_get(selection, "hostgroup"));
	const json_t *hosts = json_object_get(selection, "hosts");
	struct buf sql = BUF_INIT(SEARCH_SQL_MAX + 4096);
	_cleanup_json_ json_t *params = json_array();
	json_t *rows = NULL;
	int r = -1;

	if (search == NULL && hg == NULL && !json_is_array(hosts))
		return dr_error_set(err, "name the hosts: search, hostgroup or hosts");
	if (jobs_targets_refresh(err) < 0 || jobs_applicability_refresh(NULL, err) < 0)
		return -1;
	buf_adds(&sql, JOBS_TARGET_SELECT " WHERE ");
	if (search != NULL) {
		buf_adds(&sql, "(");
		if (search_compile(search, jobs_target_fields, nitems(jobs_target_fields), &sql,
		        params, err) < 0)
			goto out;
		buf_adds(&sql, ") AND ");
	}
	if (hg != NULL) {
		struct buf pat = BUF_INIT(1024);
		buf_adds(&pat, "%,");
		for (const char *p = hg; *p; p++) {
			if (*p == '%' || *p == '_' || *p == '\\')
				buf_addc(&pat, '\\');
			buf_addc(&pat, *p);
		}
		buf_adds(&pat, ",%");
		buf_adds(&sql, "f.hostgroups LIKE ? ESCAPE '\\' AND ");
		json_array_append_new(params, json_string(pat.data));
		buf_free(&pat);
	}
	if (json_is_array(hosts)) {
		size_t i;
		json_t *h;
		if (json_array_size(hosts) == 0 || json_array_size(hosts) > JOBS_TARGETS_MAX) {
			dr_error_set(err, "hosts: expected 1 to %d hosts", JOBS_TARGETS_MAX);
			goto out;
		}
		buf_adds(&sql, "(");
		json_array_foreach(hosts, i, h)
		{
			if (json_is_integer(h))
				buf_adds(&sql, i ? " OR f.host_id = ?" : "f.host_id = ?");
			else if (json_is_string(h))
				buf_adds(&sql, i ? " OR f.name = ?" : "f.name = ?");
			else {
				dr_error_set(err, "hosts[%zu]: expected a name or an id", i);
				goto out;
			}
			json_array_append(params, h);
		}
		buf_adds(&sql, ") AND ");
	}
	buf_adds(&sql, "1 = 1 ORDER BY f.name");
	if (store_query(sql.data, params, &rows, err) < 0)
		goto out;
	if (json_array_size(rows) > JOBS_TARGETS_MAX) {
		dr_error_set(err, "the selection matches more than %d hosts", JOBS_TARGETS_MAX);
		goto out;
	}
	*ret = jobs_targets_present(TAKE_PTR(rows));
	r = 0;
out:
	json_decref(rows);
	buf_free(&sql);
	return r;
}

/* Targets for host ids, in the given order. */
int
jobs_targets_by_id(const json_t *ids, json_t **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *sel = json_pack("{s:O}", "hosts", ids), *rows = NULL, *byid = NULL;
	json_t *out, *row, *id;
	size_t i;

	if (jobs_targets_select(sel, &rows, err) < 0)
		return -1;
	byid = json_object();
	json_array_foreach(rows, i, row)
	{
		char k[32];
		snprintf(k, sizeof k, "%lld",
		    (long long)json_integer_value(json_object_get(row, "id")));
		json_object_set(byid, k, row);
	}
	out = json_array();
	json_array_foreach(ids, i, id)
	{
		char k[32];
		snprintf(k, sizeof k, "%lld", (long long)json_integer_value(id));
		if ((row = json_object_get(byid, k)) != NULL)
			json_array_append(out, row);
	}
	*ret = out;
	return 0;
}

/* Check OpenSSH public key lines with libssh; the clean text (one "type base64" a line). */
static char *
jobs_keys_clean(const char *keys, struct dr_error *err)
{
	_cleanup_free_ char *copy = xstrdup(keys);
	struct buf out = BUF_INIT(JOBS_SSH_KEY_MAX);
	char *line, *save = NULL;
	int n = 0;

	for (line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char type[64], b64[8192];
		ssh_key k = NULL;

		line = str_trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		n++;
		if (sscanf(line, "%63s %8191s", type, b64) != 2 ||
		    ssh_key_type_from_name(type) == SSH_KEYTYPE_UNKNOWN ||
		    ssh_pki_import_pubkey_base64(b64, ssh_key_type_from_name(type), &k) !=
		        SSH_OK) {
			buf_free(&out);
			dr_error_set(err,
			    "ssh_host_key: line %d is not an OpenSSH public key (\"ssh-ed25519 "
			    "AAAA…\", as in /etc/ssh/ssh_host_ed25519_key.pub)",
			    n);
			return NULL;
		}
		ssh_key_free(k);
		if (buf_addf(&out, "%s %s\n", type, b64) < 0) {
			buf_free(&out);
			dr_error_set(err, "ssh_host_key: more than %d bytes", JOBS_SSH_KEY_MAX);
			return NULL;
		}
	}
	if (n == 0) {
		buf_free(&out);
		dr_error_set(err, "ssh_host_key: no public key given");
		return NULL;
	}
	return buf_steal(&out);
}

/* Record a host's SSH host keys and/or its accept-new setting. */
int
jobs_host_ssh_set(const char *id_or_name, const char *keys, int accept_new, const char *user,
    const char *remote, json_t **ret, struct dr_error *err)
{
	const struct prov_resource *res = prov_resource_find("host");
	_cleanup_json_ json_t *host = prov_resource_get(res, id_or_name), *before = NULL;
	_cleanup_free_ char *clean = NULL;
	char idtext[32];
	int64_t id;
	int r;

	if (host == NULL) {
		dr_error_set(err, "no host '%s'", id_or_name);
		return -404;
	}
	id = json_integer_value(json_object_get(host, "id"));
	if (keys != NULL) {
		if ((clean = jobs_keys_clean(keys, err)) == NULL)
			return -422;
		_cleanup_json_ json_t *set = json_pack("{s:s}", "ssh_host_keys", clean);
		if ((r = prov_resource_set_internal(
		         res, id, set, user, remote, "ssh_host_key", err)) < 0)
			return r;
	}
	if (jobs_targets_refresh(err) < 0)
		return -500;
	before = store_query_one(NULL,
	    "SELECT host_keys AS ssh_host_keys, accept_new FROM jobs_host_facets WHERE host_id = "
	    "?",
	    "[I]", (json_int_t)id);
	if (accept_new >= 0) {
		if (store_execf(NULL, NULL, err,
		        "UPDATE jobs_host_facets SET accept_new = ? WHERE host_id = ?", "[iI]",
		        accept_new, (json_int_t)id) < 0)
			return -500;
		snprintf(idtext, sizeof idtext, "%lld", (long long)id);
		_cleanup_json_ json_t *after = json_pack("{s:b}", "ssh_accept_new", accept_new);
		store_audit(user, remote, "ssh_accept_new", "host", idtext, before, after, NULL);
	}
	if (ret != NULL) {
		json_t *now = store_query_one(err,
		    "SELECT host_id AS id, name, host_keys AS ssh_host_keys, accept_new"
		    " FROM jobs_host_facets WHERE host_id = ?",
		    "[I]", (json_int_t)id);
		if (now == NULL)
			return -500;
		json_object_set_new(now, "ssh_accept_new",
		    json_boolean(json_integer_value(json_object_get(now, "accept_new"))));
		json_object_del(now, "accept_new");
		*ret = now;
	}
	return 0;
}
