/*
 * cluster.c - clusters: the model (validated, stored, audited), the member list, and the
 * cluster_deploy job that runs playbooks/cluster.yml against the hosts of the cluster's
 * hostgroups with the same engine as `drover play`.
 */
#define LOG_COMPONENT "clusters"
#include "config.h"

#include <ftw.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clusters/clusters.h"
#include "playbooks/playbooks.h"
#include "provisioner/ca.h"
#include "provisioner/provisioner.h"

/* clang-format off */
static const struct store_migration cluster_migrations[] = {
	{ "clusters", 1,
	    "CREATE TABLE clusters (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	    " kind TEXT NOT NULL, mesh TEXT NOT NULL,"
	    " control_plane_hostgroup_id INTEGER NOT NULL, worker_hostgroup_id INTEGER,"
	    " versions TEXT NOT NULL, vars TEXT NOT NULL, state TEXT NOT NULL,"
	    " last_job_id INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
	    "CREATE TABLE cluster_members (cluster_id INTEGER NOT NULL, host TEXT NOT NULL,"
	    " role TEXT NOT NULL, state TEXT NOT NULL, job_id INTEGER,"
	    " updated_at INTEGER NOT NULL, PRIMARY KEY (cluster_id, host));" },
};
/* clang-format on */

/* The fields a client may give, and the version keys. */
static const char *const cluster_fields[] = {
    "name", "kind", "mesh", "control_plane_hostgroup", "worker_hostgroup", "versions", "vars"};
static const char *const cluster_version_keys[] = {"kubernetes", "containerd", "istio", "linkerd"};

static char *cluster_dir;

static int cluster_deploy_run(struct job *job, struct dr_error *err);

static const struct job_kind cluster_deploy_kind = {
    .name = "cluster_deploy",
    .run = cluster_deploy_run,
};

/* Register the tables and the job kind (droverd, before the store opens). */
void
clusters_register(void)
{
	store_register(cluster_migrations, nitems(cluster_migrations));
	job_kind_register(&cluster_deploy_kind);
}

/* Set where cluster.yml and its roles are. */
void
cluster_playbooks_dir_set(const char *dir)
{
	free(cluster_dir);
	cluster_dir = dir != NULL && dir[0] != '\0' ? xstrdup(dir) : NULL;
}

/* Where cluster.yml and its roles are. */
const char *
cluster_playbooks_dir(void)
{
	return cluster_dir != NULL ? cluster_dir : DROVER_DATADIR "/playbooks";
}

/* Whether s matches the extended regular expression re (anchored by the caller). */
static bool
cluster_match(const char *s, const char *re)
{
	regex_t r;
	bool ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

/* The stored row of a cluster by id or name (versions and vars parsed); NULL when none. */
static json_t *
cluster_row(const char *id_or_name)
{
	_cleanup_json_ json_t *rows = NULL;
	long long id = 0;
	json_t *row;

	if (id_or_name == NULL)
		return NULL;
	if (str_to_ll(id_or_name, 1, INT64_MAX, &id) < 0)
		id = 0;
	if (store_queryf(&rows, NULL,
	        "SELECT c.id, c.name, c.kind, c.mesh, c.control_plane_hostgroup_id,"
	        " c.worker_hostgroup_id, c.versions AS versions_json, c.vars AS vars_json, "
	        "c.state,"
	        " c.last_job_id, c.created_at, c.updated_at FROM clusters c"
	        " WHERE c.id = ? OR c.name = ?",
	        "[I,s]", (json_int_t)id, id_or_name) < 0 ||
	    json_array_size(rows) == 0)
		return NULL;
	row = json_array_get(rows, 0);
	return json_incref(row);
}

/* The hostgroup named by a name or id value; NULL (err naming field) when none. */
static json_t *
cluster_hostgroup(const json_t *v, const char *field, struct dr_error *err)
{
	const struct prov_resource *hg = prov_resource_find("hostgroup");
	_cleanup_free_ char *key = NULL;
	json_t *obj;

	if (json_is_integer(v))
		key = xasprintf("%lld", (long long)json_integer_value(v));
	else if (json_is_string(v) && json_string_length(v) > 0 &&
	    json_string_length(v) <= PROV_NAME_MAX)
		key = xstrdup(json_string_value(v));
	else {
		dr_error_set(err, "%s: expected the name or id of a hostgroup", field);
		return NULL;
	}
	obj = hg != NULL ? prov_resource_get(hg, key) : NULL;
	if (obj == NULL)
		dr_error_set(err, "%s: no hostgroup '%.100s'", field, key);
	return obj;
}

/*
 * Check a whole cluster object (a create body, or the stored one with an update merged in)
 * and return the row to store: name, kind, mesh, the hostgroup ids, versions, vars.
 */
static int
cluster_check(const json_t *in, json_t **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *row = json_object(), *cp = NULL, *wk = NULL;
	const char *key, *name, *kind, *mesh;
	_cleanup_free_ char *dumped = NULL;
	json_t *v, *versions, *vars;

	json_object_foreach((json_t *)in, key, v)
	{
		size_t i;
		for (i = 0; i < nitems(cluster_fields); i++)
			if (strcmp(key, cluster_fields[i]) == 0)
				break;
		if (i == nitems(cluster_fields))
			return dr_error_set(err, "%.100s: unknown field", key), CLUSTER_E_INVALID;
	}
	name = json_string_value(json_object_get(in, "name"));
	if (name == NULL || strlen(name) > CLUSTER_NAME_MAX ||
	    !cluster_match(name, "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"))
		return dr_error_set(err, "name: expected 1..%d of a-z 0-9 - (a DNS label)",
		           CLUSTER_NAME_MAX),
		       CLUSTER_E_INVALID;
	v = json_object_get(in, "kind");
	kind = v == NULL || json_is_null(v) ? "kubeadm" : json_string_value(v);
	if (kind == NULL || (strcmp(kind, "kubeadm") != 0 && strcmp(kind, "k3s") != 0))
		return dr_error_set(err, "kind: expected kubeadm or k3s"), CLUSTER_E_INVALID;
	v = json_object_get(in, "mesh");
	mesh = v == NULL || json_is_null(v) ? "none" : json_string_value(v);
	if (mesh == NULL ||
	    (strcmp(mesh, "istio") != 0 && strcmp(mesh, "linkerd") != 0 &&
	        strcmp(mesh, "none") != 0))
		return dr_error_set(err, "mesh: expected istio, linkerd or none"),
		       CLUSTER_E_INVALID;
	if (!json_object_get(in, "control_plane_hostgroup"))
		return dr_error_set(err, "control_plane_hostgroup: required"), CLUSTER_E_INVALID;
	if (!(cp = cluster_hostgroup(
	          json_object_get(in, "control_plane_hostgroup"), "control_plane_hostgroup", err)))
		return CLUSTER_E_INVALID;
	v = json_object_get(in, "worker_hostgroup");
	if (v != NULL && !json_is_null(v) && !(json_is_string(v) && json_string_length(v) == 0) &&
	    !(wk = cluster_hostgroup(v, "worker_hostgroup", err)))
		return CLUSTER_E_INVALID;
	versions = json_object_get(in, "versions");
	if (versions != NULL && !json_is_null(versions) && !json_is_object(versions))
		return dr_error_set(err, "versions: expected an object"), CLUSTER_E_INVALID;
	json_object_foreach(versions, key, v)
	{
		size_t i;
		for (i = 0; i < nitems(cluster_version_keys); i++)
			if (strcmp(key, cluster_version_keys[i]) == 0)
				break;
		if (i == nitems(cluster_version_keys))
			return dr_error_set(err,
			           "versions.%.100s: unknown (kubernetes, containerd, istio, "
			           "linkerd)",
			           key),
			       CLUSTER_E_INVALID;
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > CLUSTER_VERSION_MAX ||
		    !cluster_match(json_string_value(v), "^[0-9A-Za-z][0-9A-Za-z.+~:_-]*$"))
			return dr_error_set(
			           err, "versions.%s: expected a version such as 1.30.2", key),
			       CLUSTER_E_INVALID;
	}
	vars = json_object_get(in, "vars");
	if (vars != NULL && !json_is_null(vars) && !json_is_object(vars))
		return dr_error_set(err, "vars: expected an object of variables"),
		       CLUSTER_E_INVALID;
	dumped = json_is_object(vars) ? json_dumps(vars, JSON_COMPACT) : xstrdup("{}");
	if (strlen(dumped) > CLUSTER_VARS_MAX)
		return dr_error_set(err, "vars: more than %d bytes", CLUSTER_VARS_MAX),
		       CLUSTER_E_INVALID;
	json_object_set_new(row, "name", json_string(name));
	json_object_set_new(row, "kind", json_string(kind));
	json_object_set_new(row, "mesh", json_string(mesh));
	json_object_set(row, "control_plane_hostgroup_id", json_object_get(cp, "id"));
	json_object_set(row, "worker_hostgroup_id", wk ? json_object_get(wk, "id") : json_null());
	json_object_set_new(
	    row, "versions", json_is_object(versions) ? json_deep_copy(versions) : json_object());
	json_object_set_new(
	    row, "vars", json_is_object(vars) ? json_deep_copy(vars) : json_object());
	*ret = json_incref(row);
	return 0;
}

/* The client's view of a stored row: hostgroup names beside their ids. */
static json_t *
cluster_present(const json_t *row)
{
	const struct prov_resource *hg = prov_resource_find("hostgroup");
	json_t *out = json_deep_copy(row);
	static const char *const refs[] = {"control_plane_hostgroup", "worker_hostgroup"};

	for (size_t i = 0; i < nitems(refs); i++) {
		_cleanup_free_ char *idk = xasprintf("%s_id", refs[i]);
		_cleanup_free_ char *namek = xasprintf("%s_name", refs[i]);
		json_t *id = json_object_get(row, idk);
		_cleanup_json_ json_t *g = json_is_integer(id) && hg
		    ? prov_resource_get_id(hg, json_integer_value(id))
		    : NULL;
		json_object_set(out, namek, g ? json_object_get(g, "name") : json_null());
	}
	return out;
}

/* Store a checked row: insert (id 0) or update. */
static int
cluster_store(int64_t id, const json_t *row, int64_t *ret_id, struct dr_error *err)
{
	_cleanup_free_ char *versions = json_dumps(json_object_get(row, "versions"), JSON_COMPACT);
	_cleanup_free_ char *vars = json_dumps(json_object_get(row, "vars"), JSON_COMPACT);
	json_t *wk = json_object_get(row, "worker_hostgroup_id");
	int64_t now = time(NULL);

	if (id == 0)
		return store_execf(NULL, ret_id, err,
		    "INSERT INTO clusters (name, kind, mesh, control_plane_hostgroup_id,"
		    " worker_hostgroup_id, versions, vars, state, created_at, updated_at)"
		    " VALUES (?, ?, ?, ?, ?, ?, ?, 'new', ?, ?)",
		    "[s,s,s,I,O,s,s,I,I]", json_string_value(json_object_get(row, "name")),
		    json_string_value(json_object_get(row, "kind")),
		    json_string_value(json_object_get(row, "mesh")),
		    json_integer_value(json_object_get(row, "control_plane_hostgroup_id")), wk,
		    versions, vars, (json_int_t)now, (json_int_t)now);
	return store_execf(NULL, NULL, err,
	    "UPDATE clusters SET name = ?, kind = ?, mesh = ?, control_plane_hostgroup_id = ?,"
	    " worker_hostgroup_id = ?, versions = ?, vars = ?, updated_at = ? WHERE id = ?",
	    "[s,s,s,I,O,s,s,I,I]", json_string_value(json_object_get(row, "name")),
	    json_string_value(json_object_get(row, "kind")),
	    json_string_value(json_object_get(row, "mesh")),
	    json_integer_value(json_object_get(row, "control_plane_hostgroup_id")), wk, versions,
	    vars, (json_int_t)now, (json_int_t)id);
}

/* Whether the cluster's last deploy job is still queued or running. */
static bool
cluster_busy(const json_t *row)
{
	json_t *jid = json_object_get(row, "last_job_id");
	_cleanup_json_ json_t *job =
	    json_is_integer(jid) ? job_get(json_integer_value(jid)) : NULL;
	const char *state = json_string_value(json_object_get(job, "state"));

	return state != NULL && (strcmp(state, "queued") == 0 || strcmp(state, "running") == 0);
}

/* Create a cluster. */
int
cluster_create(
    const json_t *in, const char *user, const char *remote, int64_t *ret_id, struct dr_error *err)
{
	_cleanup_json_ json_t *row = NULL, *old = NULL, *shown = NULL;
	_cleanup_free_ char *ids = NULL;
	int64_t id = 0;
	int rc;

	if (!json_is_object(in))
		return dr_error_set(err, "expected a JSON object"), CLUSTER_E_INVALID;
	if ((rc = cluster_check(in, &row, err)) < 0)
		return rc;
	if ((old = cluster_row(json_string_value(json_object_get(row, "name")))) != NULL)
		return dr_error_set(err, "name: a cluster '%s' exists",
		           json_string_value(json_object_get(row, "name"))),
		       CLUSTER_E_CONFLICT;
	if (cluster_store(0, row, &id, err) < 0)
		return CLUSTER_E_STORE;
	ids = xasprintf("%lld", (long long)id);
	shown = cluster_present(row);
	store_audit(user, remote, "create", "cluster", ids, NULL, shown, NULL);
	if (ret_id)
		*ret_id = id;
	return 0;
}

/* Update a cluster. */
int
cluster_update(const char *id_or_name, const json_t *in, const char *user, const char *remote,
    struct dr_error *err)
{
	_cleanup_json_ json_t *old = cluster_row(id_or_name), *merged = NULL, *row = NULL;
	_cleanup_json_ json_t *dup = NULL, *before = NULL, *after = NULL;
	_cleanup_free_ char *ids = NULL;
	const struct prov_resource *hg = prov_resource_find("hostgroup");
	int rc;

	if (old == NULL)
		return dr_error_set(err, "no cluster '%.100s'", id_or_name), CLUSTER_E_NOTFOUND;
	if (!json_is_object(in))
		return dr_error_set(err, "expected a JSON object"), CLUSTER_E_INVALID;
	merged = json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "name", json_object_get(old, "name"),
	    "kind", json_object_get(old, "kind"), "mesh", json_object_get(old, "mesh"),
	    "control_plane_hostgroup", json_object_get(old, "control_plane_hostgroup_id"),
	    "worker_hostgroup", json_object_get(old, "worker_hostgroup_id"), "versions",
	    json_object_get(old, "versions"), "vars", json_object_get(old, "vars"));
	(void)hg;
	json_object_update(merged, (json_t *)in);
	if ((rc = cluster_check(merged, &row, err)) < 0)
		return rc;
	if (strcmp(json_string_value(json_object_get(row, "name")),
	        json_string_value(json_object_get(old, "name"))) != 0 &&
	    (dup = cluster_row(json_string_value(json_object_get(row, "name")))) != NULL)
		return dr_error_set(err, "name: a cluster '%s' exists",
		           json_string_value(json_object_get(row, "name"))),
		       CLUSTER_E_CONFLICT;
	if (cluster_store(json_integer_value(json_object_get(old, "id")), row, NULL, err) < 0)
		return CLUSTER_E_STORE;
	ids = xasprintf("%lld", (long long)json_integer_value(json_object_get(old, "id")));
	before = cluster_present(old);
	after = cluster_present(row);
	store_audit(user, remote, "update", "cluster", ids, before, after, NULL);
	return 0;
}

/* Delete a cluster. */
int
cluster_delete(const char *id_or_name, const char *user, const char *remote, struct dr_error *err)
{
	_cleanup_json_ json_t *old = cluster_row(id_or_name), *before = NULL;
	_cleanup_free_ char *ids = NULL;
	json_int_t id;

	if (old == NULL)
		return dr_error_set(err, "no cluster '%.100s'", id_or_name), CLUSTER_E_NOTFOUND;
	if (cluster_busy(old))
		return dr_error_set(err, "cluster '%s': its deploy job %lld is still running",
		           json_string_value(json_object_get(old, "name")),
		           (long long)json_integer_value(json_object_get(old, "last_job_id"))),
		       CLUSTER_E_CONFLICT;
	id = json_integer_value(json_object_get(old, "id"));
	if (store_begin(err) < 0)
		return CLUSTER_E_STORE;
	if (store_execf(NULL, NULL, err, "DELETE FROM cluster_members WHERE cluster_id = ?", "[I]",
	        id) < 0 ||
	    store_execf(NULL, NULL, err, "DELETE FROM clusters WHERE id = ?", "[I]", id) < 0 ||
	    store_commit(err) < 0) {
		store_rollback();
		return CLUSTER_E_STORE;
	}
	ids = xasprintf("%lld", (long long)id);
	before = cluster_present(old);
	store_audit(user, remote, "delete", "cluster", ids, before, NULL, NULL);
	return 0;
}

/* The stored hosts of a hostgroup (by id), at most CLUSTER_HOSTS_MAX; caller frees. */
static json_t *
cluster_hostgroup_hosts(json_t *hostgroup_id)
{
	const struct prov_resource *hosts = prov_resource_find("host");
	_cleanup_json_ json_t *filter = NULL;
	_cleanup_free_ char *ids = NULL;
	json_t *rows = NULL;
	int64_t total, subtotal;

	if (!json_is_integer(hostgroup_id) || hosts == NULL)
		return json_array();
	ids = xasprintf("%lld", (long long)json_integer_value(hostgroup_id));
	filter = json_pack("{s:s}", "hostgroup_id", ids);
	if (prov_resource_list(
	        hosts, filter, CLUSTER_HOSTS_MAX, 0, &rows, &total, &subtotal, NULL) < 0)
		return json_array();
	return rows;
}

/* Each member as {host, role, state, job_id, updated_at}: the hostgroups' hosts now, with
 * the state their last deploy left ("pending" before the first), and former members. */
static json_t *
cluster_members(const json_t *row)
{
	_cleanup_json_ json_t *rows = NULL, *seen = json_object();
	json_t *out = json_array(), *h, *m;
	static const char *const groups[][2] = {
	    {"control_plane_hostgroup_id", "control-plane"}, {"worker_hostgroup_id", "worker"}};
	size_t i, j;

	store_queryf(&rows, NULL,
	    "SELECT host, role, state, job_id, updated_at FROM cluster_members"
	    " WHERE cluster_id = ? ORDER BY host",
	    "[O]", json_object_get(row, "id"));
	for (i = 0; i < nitems(groups); i++) {
		_cleanup_json_ json_t *hosts =
		    cluster_hostgroup_hosts(json_object_get(row, groups[i][0]));
		json_array_foreach(hosts, j, h)
		{
			const char *name = json_string_value(json_object_get(h, "name"));
			json_t *rec = NULL;
			size_t k;
			if (name == NULL || json_object_get(seen, name))
				continue;
			json_array_foreach(rows, k, m)
			{
				if (strcmp(json_string_value(json_object_get(m, "host")), name) ==
				    0)
					rec = m;
			}
			json_object_set_new(seen, name, json_true());
			json_array_append_new(out,
			    json_pack("{s:s,s:s,s:s,s:O,s:O}", "host", name, "role", groups[i][1],
			        "state",
			        rec ? json_string_value(json_object_get(rec, "state")) : "pending",
			        "job_id", rec ? json_object_get(rec, "job_id") : json_null(),
			        "updated_at",
			        rec ? json_object_get(rec, "updated_at") : json_null()));
		}
	}
	json_array_foreach(rows, i, m)
	{
		if (json_object_get(seen, json_string_value(json_object_get(m, "host"))))
			continue;
		json_t *c = json_deep_copy(m);
		json_object_set_new(c, "state", json_string("removed"));
		json_array_append_new(out, c);
	}
	return out;
}

/* A cluster with its members. */
json_t *
cluster_get(const char *id_or_name)
{
	_cleanup_json_ json_t *row = cluster_row(id_or_name);
	json_t *out;

	if (row == NULL)
		return NULL;
	out = cluster_present(row);
	json_object_set_new(out, "members", cluster_members(row));
	return out;
}

/* Start a deploy job. */
int
cluster_deploy(const char *id_or_name, bool check, const char *limit, const char *user,
    const char *remote, int64_t *ret_job_id, struct dr_error *err)
{
	_cleanup_json_ json_t *row = cluster_row(id_or_name), *params = NULL, *members = NULL;
	_cleanup_free_ char *ids = NULL;
	int64_t job_id;

	if (row == NULL)
		return dr_error_set(err, "no cluster '%.100s'", id_or_name), CLUSTER_E_NOTFOUND;
	if (cluster_busy(row))
		return dr_error_set(err, "cluster '%s': deploy job %lld is still running",
		           json_string_value(json_object_get(row, "name")),
		           (long long)json_integer_value(json_object_get(row, "last_job_id"))),
		       CLUSTER_E_CONFLICT;
	members = cluster_members(row);
	if (json_array_size(members) == 0)
		return dr_error_set(err, "cluster '%s': its hostgroups have no hosts",
		           json_string_value(json_object_get(row, "name"))),
		       CLUSTER_E_CONFLICT;
	params = json_pack("{s:O,s:b}", "cluster", json_object_get(row, "name"), "check", check);
	if (limit != NULL)
		json_object_set_new(params, "limit", json_string(limit));
	if (job_submit("cluster_deploy", params, user, 0, &job_id, err) < 0)
		return CLUSTER_E_STORE;
	if (!check)
		store_execf(NULL, NULL, NULL, "UPDATE clusters SET last_job_id = ? WHERE id = ?",
		    "[I,O]", (json_int_t)job_id, json_object_get(row, "id"));
	ids = xasprintf("%lld", (long long)json_integer_value(json_object_get(row, "id")));
	store_audit(
	    user, remote, check ? "deploy_check" : "deploy", "cluster", ids, NULL, params, NULL);
	if (ret_job_id)
		*ret_job_id = job_id;
	return 0;
}

/* The inventory of a cluster. */
int
cluster_inventory(
    const json_t *row, const char *known_hosts_path, json_t **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *inv = json_object(), *children = json_object();
	static const char *const groups[][2] = {
	    {"control_plane_hostgroup_id", "kube_control_plane"},
	    {"worker_hostgroup_id", "kube_worker"}};
	const struct prov_resource *hosts_res = prov_resource_find("host");
	_cleanup_free_ char *kh_all = NULL;
	struct buf kh = BUF_INIT(1 << 20);
	size_t i, j;
	json_t *h;

	for (i = 0; i < nitems(groups); i++) {
		_cleanup_json_ json_t *hosts =
		    cluster_hostgroup_hosts(json_object_get(row, groups[i][0]));
		json_t *members = json_object();
		json_array_foreach(hosts, j, h)
		{
			const char *name = json_string_value(json_object_get(h, "name"));
			_cleanup_json_ json_t *stored = NULL, *resolved = NULL;
			_cleanup_free_ char *keys = NULL;
			json_t *vars = json_object(), *ip;
			if (name == NULL || hosts_res == NULL)
				continue;
			stored = prov_resource_get_id(
			    hosts_res, json_integer_value(json_object_get(h, "id")));
			if (stored != NULL && prov_host_resolve(stored, &resolved, NULL) == 0 &&
			    json_is_object(json_object_get(resolved, "parameters")))
				json_object_update(vars, json_object_get(resolved, "parameters"));
			ip = json_object_get(json_object_get(resolved, "interface"), "ip");
			if (json_object_get(vars, "ansible_host") == NULL)
				json_object_set_new(vars, "ansible_host",
				    json_is_string(ip) && json_string_length(ip) > 0
				        ? json_copy(ip)
				        : json_string(name));
			if (provisioner_known_hosts(name, &keys, NULL) == 0 && keys[0] != '\0') {
				buf_adds(&kh, keys);
				if (keys[strlen(keys) - 1] != '\n')
					buf_adds(&kh, "\n");
				if (known_hosts_path != NULL &&
				    json_object_get(vars, "ansible_ssh_known_hosts_file") == NULL)
					json_object_set_new(vars, "ansible_ssh_known_hosts_file",
					    json_string(known_hosts_path));
			}
			json_object_set_new(members, name, vars);
		}
		json_object_set_new(children, groups[i][1], json_pack("{s:o}", "hosts", members));
	}
	if (known_hosts_path != NULL && kh.len > 0 &&
	    file_write_atomic(known_hosts_path, kh.data, kh.len, 0600, err) < 0) {
		buf_free(&kh);
		return -1;
	}
	buf_free(&kh);
	json_object_set_new(inv, "all", json_pack("{s:O}", "children", children));
	*ret = json_incref(inv);
	return 0;
}

/* A deploy in progress: its job, cluster row and whether it only checks. */
struct cluster_run {
	struct job *job;
	json_t *row;
	bool check;
	volatile int cancel;
	json_t *recap;
};

/* Each playbook event: one JSON line of output; the recap gives items and member states. */
static void
cluster_deploy_event(void *ctx, const json_t *ev)
{
	struct cluster_run *cr = ctx;
	char *line = json_dumps(ev, JSON_COMPACT | JSON_ENCODE_ANY);
	const char *h;
	json_t *s;

	if (line) {
		job_printf(cr->job, "%s\n", line);
		free(line);
	}
	if (job_cancelled(cr->job))
		cr->cancel = 1;
	if (strcmp(json_string_value(json_object_get(ev, "event")), "recap") != 0)
		return;
	json_object_foreach(json_object_get(ev, "hosts"), h, s)
	{
		const char *state = json_integer_value(json_object_get(s, "unreachable"))
		    ? "unreachable"
		    : json_integer_value(json_object_get(s, "failed"))  ? "failed"
		    : json_integer_value(json_object_get(s, "changed")) ? "changed"
		                                                        : "ok";
		job_item_set(cr->job, h, state, s);
	}
	json_decref(cr->recap);
	cr->recap = json_incref(json_object_get(ev, "hosts"));
}

static int
cluster_rm(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

/* Write the mesh's CA files from the CA into dir; 0 or -1. */
static int
cluster_mesh_files(const char *cluster, const char *mesh, const char *dir, struct dr_error *err)
{
	_cleanup_json_ json_t *inter = NULL;
	bool created = false;
	const char *name;
	json_t *content;

	if (ca_intermediate_get(cluster, mesh, &inter, &created, err) < 0)
		return -1;
	if (mkdir(dir, 0700) < 0)
		return dr_error_errno(err, "%s", dir);
	json_object_foreach(json_object_get(inter, "files"), name, content)
	{
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
		if (strchr(name, '/') != NULL || !json_is_string(content) ||
		    file_write_atomic(
		        p, json_string_value(content), json_string_length(content), 0600, err) < 0)
			return -1;
	}
	return 0;
}

/* Record each member's state after a deploy (or "deploying" before it). */
static void
cluster_members_set(struct cluster_run *cr, const json_t *inv, const json_t *recap)
{
	json_int_t cid = json_integer_value(json_object_get(cr->row, "id"));
	json_t *children = json_object_get(json_object_get(inv, "all"), "children");
	static const char *const groups[][2] = {
	    {"kube_control_plane", "control-plane"}, {"kube_worker", "worker"}};
	int64_t now = time(NULL);

	for (size_t i = 0; i < nitems(groups); i++) {
		const char *h;
		json_t *v;
		json_object_foreach(
		    json_object_get(json_object_get(children, groups[i][0]), "hosts"), h, v)
		{
			json_t *s = recap ? json_object_get(recap, h) : NULL;
			const char *state = recap == NULL                           ? "deploying"
			    : s == NULL                                             ? "pending"
			    : json_integer_value(json_object_get(s, "unreachable")) ? "unreachable"
			    : json_integer_value(json_object_get(s, "failed"))      ? "failed"
			                                                            : "deployed";
			store_execf(NULL, NULL, NULL,
			    "INSERT INTO cluster_members (cluster_id, host, role, state, job_id,"
			    " updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (cluster_id, host)"
			    " DO UPDATE SET role = excluded.role, state = excluded.state,"
			    " job_id = excluded.job_id, updated_at = excluded.updated_at",
			    "[I,s,s,s,I,I]", cid, h, groups[i][1], state,
			    (json_int_t)job_id(cr->job), (json_int_t)now);
		}
	}
}

/*
 * The cluster_deploy job: the inventory from the hostgroups (hosts' resolved parameters as
 * host variables, their recorded SSH host keys as known_hosts), the mesh's intermediate
 * written to a private directory for the mesh role, the cluster's fields and vars as extra
 * variables; then cluster.yml through the playbook engine.
 */
static int
cluster_deploy_run(struct job *job, struct dr_error *err)
{
	const json_t *params = job_params(job);
	struct cluster_run cr = {
	    .job = job, .check = json_is_true(json_object_get(params, "check"))};
	struct play_opts o = {
	    .event = cluster_deploy_event, .event_ctx = &cr, .cancel = &cr.cancel};
	_cleanup_json_ json_t *inv_json = NULL, *extra = NULL;
	_cleanup_free_ char *kh = NULL, *invpath = NULL, *meshdir = NULL, *pbpath = NULL;
	_cleanup_free_ char *inv_text = NULL;
	const char *name = json_string_value(json_object_get(params, "cluster"));
	const char *mesh, *limit = json_string_value(json_object_get(params, "limit"));
	char tmpl[] = "/tmp/drover-cluster-XXXXXX";
	struct playbook *pb = NULL;
	struct inventory inv;
	char *dir = NULL;
	int rc = -1, prc;

	inventory_init(&inv);
	vars_init();
	if (name == NULL || !(cr.row = cluster_row(name))) {
		dr_error_set(err, "params.cluster: no cluster '%.100s'", name ? name : "");
		goto out;
	}
	if (!(dir = mkdtemp(tmpl))) {
		dr_error_errno(err, "temporary directory");
		goto out;
	}
	kh = xasprintf("%s/known_hosts", dir);
	invpath = xasprintf("%s/inventory.yml", dir);
	if (cluster_inventory(cr.row, kh, &inv_json, err) < 0)
		goto out;
	inv_text = json_dumps(inv_json, JSON_INDENT(1));
	if (file_write_atomic(invpath, inv_text, strlen(inv_text), 0600, err) < 0)
		goto out;
	extra = json_deep_copy(json_object_get(cr.row, "vars"));
	if (!json_is_object(extra))
		extra = json_object();
	mesh = json_string_value(json_object_get(cr.row, "mesh"));
	json_object_set(extra, "drover_cluster", json_object_get(cr.row, "name"));
	json_object_set(extra, "kubernetes_kind", json_object_get(cr.row, "kind"));
	json_object_set(extra, "mesh", json_object_get(cr.row, "mesh"));
	if (json_is_string(json_object_get(json_object_get(cr.row, "versions"), "kubernetes")))
		json_object_set(extra, "kubernetes_version",
		    json_object_get(json_object_get(cr.row, "versions"), "kubernetes"));
	if (strcmp(mesh, "none") != 0) {
		meshdir = xasprintf("%s/mesh", dir);
		if (cluster_mesh_files(name, mesh, meshdir, err) < 0)
			goto out;
		json_object_set_new(extra, "mesh_ca_dir", json_string(meshdir));
	}
	pbpath = xasprintf("%s/cluster.yml", cluster_playbooks_dir());
	job_printf(
	    job, "{\"event\":\"cluster\",\"cluster\":\"%s\",\"playbook\":\"%s\"}\n", name, pbpath);
	if (!cr.check) {
		store_execf(NULL, NULL, NULL,
		    "UPDATE clusters SET state = 'deploying', last_job_id = ? WHERE id = ?",
		    "[I,O]", (json_int_t)job_id(job), json_object_get(cr.row, "id"));
		cluster_members_set(&cr, inv_json, NULL);
	}
	o.extra_vars = extra;
	o.check = cr.check;
	o.limit = limit;
	if (playbook_load(pbpath, NULL, &pb, err) < 0 || inventory_load(&inv, invpath, err) < 0 ||
	    inventory_vars_load(&inv, playbook_dir(pb), err) < 0)
		goto fail_state;
	prc = play_run(pb, &inv, &o, err);
	job_result_set(job,
	    json_pack("{s:i,s:O,s:b}", "rc", prc, "recap", cr.recap ? cr.recap : json_null(),
	        "check", cr.check));
	if (!cr.check)
		cluster_members_set(&cr, inv_json, cr.recap ? cr.recap : json_object());
	if (cr.cancel)
		dr_error_set(err, "cancelled");
	else if (prc == PLAY_RC_OK)
		rc = 0;
	else if (prc == PLAY_RC_FAILED || prc == PLAY_RC_UNREACHABLE)
		dr_error_set(err, "cluster %s: the playbook %s (exit code %d)", name,
		    prc == PLAY_RC_FAILED ? "failed on a host" : "could not reach a host", prc);
fail_state:
	if (!cr.check)
		store_execf(NULL, NULL, NULL,
		    "UPDATE clusters SET state = ?, updated_at = ? WHERE id = ?", "[s,I,O]",
		    rc == 0 ? "deployed" : "failed", (json_int_t)time(NULL),
		    json_object_get(cr.row, "id"));
out:
	playbook_free(pb);
	inventory_free(&inv);
	json_decref(cr.row);
	json_decref(cr.recap);
	if (dir)
		nftw(dir, cluster_rm, 8, FTW_DEPTH | FTW_PHYS);
	return rc;
}
