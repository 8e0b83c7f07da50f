/* host.c - hosts with what they inherit, the build flow and its one-time tokens, and the
 * SSH host keys recorded when an installation reports back. */
#define LOG_COMPONENT "provisioner"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "provisioner/provisioner.h"

static void prov_host_post_install(const json_t *host);

#define PROV_POST_INSTALL_WAIT 900 /* seconds a post-install playbook waits for sshd */

/* The object of resource name referred to by obj's <field>_id, or NULL. */
static json_t *
prov_host_ref(const char *resource, const json_t *obj, const char *field)
{
	_cleanup_free_ char *key = xasprintf("%s_id", field);
	json_t *id = json_object_get(obj, key);

	if (!json_is_integer(id))
		return NULL;
	return prov_resource_get_id(prov_resource_find(resource), json_integer_value(id));
}

/* Merge src's parameters into dst (later wins). */
static void
prov_params_merge(json_t *dst, const json_t *obj)
{
	json_t *p = json_object_get(obj, "parameters");

	if (json_is_object(p))
		json_object_update(dst, p);
}

/* The host's provisioning interface (borrowed), or NULL. */
static json_t *
prov_host_provision_nic(const json_t *host)
{
	json_t *nic, *first = NULL;
	size_t i;

	json_array_foreach(json_object_get(host, "interfaces"), i, nic)
	{
		if (json_object_get(nic, "mac") == NULL)
			continue;
		if (json_is_true(json_object_get(nic, "provision")))
			return nic;
		if (first == NULL)
			first = nic;
	}
	return first;
}

/* Resolve a host with everything it inherits. */
int
prov_host_resolve(const json_t *host, json_t **ret, struct dr_error *err)
{
	static const struct {
		const char *field, *resource;
	} inherited[] = {
	    {"operatingsystem", "operatingsystem"},
	    {"architecture", "architecture"},
	    {"medium", "medium"},
	    {"ptable", "ptable"},
	    {"domain", "domain"},
	    {"subnet", "subnet"},
	    {"compute_resource", "compute_resource"},
	    {"image", "image"},
	};
	static const char *const out_names[] = {"os", "architecture", "medium", "ptable", "domain",
	    "subnet", "compute_resource", "image"};
	_cleanup_json_ json_t *chain = json_array(), *out = json_object(), *params = NULL;
	_cleanup_json_ json_t *globals = NULL;
	json_t *hg, *nic, *row, *method = NULL;
	struct dr_error qerr;
	size_t i, k;
	int depth = 0;

	/* The hostgroup chain, nearest first. */
	hg = prov_host_ref("hostgroup", host, "hostgroup");
	while (hg != NULL) {
		json_array_append_new(chain, hg);
		if (++depth > PROV_HOSTGROUP_DEPTH)
			return dr_error_set(err, "host %s: hostgroups nested deeper than %d",
			    json_string_value(json_object_get(host, "name")),
			    PROV_HOSTGROUP_DEPTH);
		hg = prov_host_ref("hostgroup", hg, "parent");
	}
	for (i = 0; i < nitems(inherited); i++) {
		json_t *v = prov_host_ref(inherited[i].resource, host, inherited[i].field);
		for (k = 0; v == NULL && k < json_array_size(chain); k++)
			v = prov_host_ref(
			    inherited[i].resource, json_array_get(chain, k), inherited[i].field);
		json_object_set_new(out, out_names[i], v != NULL ? v : json_null());
	}
	method = json_object_get(host, "provision_method");
	for (k = 0; method == NULL && k < json_array_size(chain); k++)
		method = json_object_get(json_array_get(chain, k), "provision_method");
	nic = prov_host_provision_nic(host);
	/* An interface's own subnet wins over the inherited one. */
	if (nic != NULL && json_is_integer(json_object_get(nic, "subnet_id")))
		json_object_set_new(out, "subnet", prov_host_ref("subnet", nic, "subnet"));

	/* Parameters: global < domain < subnet < OS < hostgroup (root first) < host. */
	params = json_object();
	if (store_queryf(&globals, &qerr,
	        "SELECT name, data AS data_json FROM prov_common_parameters", NULL) < 0)
		return dr_error_set(err, "parameters: %s", qerr.msg);
	json_array_foreach(globals, i, row)
	{
		json_t *v = json_object_get(json_object_get(row, "data"), "value");
		json_object_set(params, json_string_value(json_object_get(row, "name")),
		    v != NULL ? v : json_null());
	}
	prov_params_merge(params, json_object_get(out, "domain"));
	prov_params_merge(params, json_object_get(out, "subnet"));
	prov_params_merge(params, json_object_get(out, "os"));
	for (k = json_array_size(chain); k-- > 0;)
		prov_params_merge(params, json_array_get(chain, k));
	prov_params_merge(params, host);

	json_object_set_new(out, "host", json_deep_copy(host));
	json_object_set_new(out, "hostgroup",
	    json_array_size(chain) > 0 ? json_deep_copy(json_array_get(chain, 0)) : json_null());
	json_object_set(out, "hostgroups", chain);
	json_object_set(out, "parameters", params);
	json_object_set_new(out, "interface", nic != NULL ? json_deep_copy(nic) : json_null());
	json_object_set_new(out, "provision_method",
	    json_string(method != NULL ? json_string_value(method) : "build"));
	*ret = TAKE_PTR(out);
	return 0;
}

/* The host with this id, or NULL. */
static json_t *
prov_host_by_id(json_int_t id)
{
	return prov_resource_get_id(prov_resource_find("host"), id);
}

/* The host owning the interface with this MAC. */
json_t *
prov_host_find_mac(const char *mac)
{
	_cleanup_json_ json_t *row = NULL;
	char norm[18];

	if (prov_mac_normalise(mac, norm) < 0)
		return NULL;
	row = store_query_one(
	    NULL, "SELECT host_id FROM prov_interfaces WHERE mac = ?", "[s]", norm);
	return row != NULL ? prov_host_by_id(json_integer_value(json_object_get(row, "host_id")))
	                   : NULL;
}

/* The host owning the interface with this IP. */
json_t *
prov_host_find_ip(const char *ip)
{
	_cleanup_json_ json_t *row = NULL;

	if (ip == NULL)
		return NULL;
	row = store_query_one(NULL, "SELECT host_id FROM prov_interfaces WHERE ip = ?", "[s]", ip);
	return row != NULL ? prov_host_by_id(json_integer_value(json_object_get(row, "host_id")))
	                   : NULL;
}

/*
 * The current build token of a host, or NULL (caller frees). Tokens are kept in clear,
 * unlike API tokens: a host found by its MAC (iPXE sends no token) must be handed URLs
 * carrying its token. They are random, short-lived and die at the end of the build.
 */
char *
prov_host_token(int64_t host_id, time_t now)
{
	_cleanup_json_ json_t *row = store_query_one(NULL,
	    "SELECT token FROM prov_tokens WHERE host_id = ? AND expires_at > ?", "[II]",
	    (json_int_t)host_id, (json_int_t)now);

	return row != NULL ? xstrdup(json_string_value(json_object_get(row, "token"))) : NULL;
}

/* The host whose unexpired build token this is. */
json_t *
prov_host_find_token(const char *token, time_t now)
{
	_cleanup_json_ json_t *row = NULL;

	if (token == NULL || strlen(token) != 64)
		return NULL;
	row = store_query_one(NULL,
	    "SELECT host_id FROM prov_tokens WHERE token = ? AND expires_at > ?", "[sI]", token,
	    (json_int_t)now);
	return row != NULL ? prov_host_by_id(json_integer_value(json_object_get(row, "host_id")))
	                   : NULL;
}

/* Put a host in build mode with a new token. */
int
prov_host_build(const char *id_or_name, int ttl, const char *user, const char *remote,
    char **ret_token, struct dr_error *err)
{
	const struct prov_resource *res = prov_resource_find("host");
	_cleanup_json_ json_t *host = prov_resource_get(res, id_or_name), *resolved = NULL,
	                      *set = NULL, *tpl = NULL;
	unsigned char rnd[32];
	char token[65];
	json_int_t id, now = (json_int_t)time(NULL);
	size_t i;
	int r;

	if (host == NULL) {
		dr_error_set(err, "no host '%s'", id_or_name);
		return PROV_E_NOTFOUND;
	}
	id = json_integer_value(json_object_get(host, "id"));
	if (prov_host_provision_nic(host) == NULL) {
		dr_error_set(err, "interfaces: host %s has no interface with a MAC to boot from",
		    json_string_value(json_object_get(host, "name")));
		return PROV_E_INVALID;
	}
	if (prov_host_resolve(host, &resolved, err) < 0)
		return PROV_E_INVALID;
	if (json_is_null(json_object_get(resolved, "os"))) {
		dr_error_set(err,
		    "operatingsystem: host %s has none (set it on the host or its "
		    "hostgroup)",
		    json_string_value(json_object_get(host, "name")));
		return PROV_E_INVALID;
	}
	if ((tpl = prov_render_find_template(resolved, "iPXE", err)) == NULL)
		return PROV_E_INVALID;
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		dr_error_errno(err, "host %s: random token", id_or_name);
		return PROV_E_STORE;
	}
	for (i = 0; i < 32; i++)
		snprintf(token + 2 * i, 3, "%02x", rnd[i]);
	if (ttl <= 0)
		ttl = PROV_TOKEN_TTL_DEFAULT;
	if (store_begin(err) < 0)
		return PROV_E_STORE;
	if (store_execf(NULL, NULL, err, "DELETE FROM prov_tokens WHERE host_id = ?", "[I]", id) <
	        0 ||
	    store_execf(NULL, NULL, err,
	        "INSERT INTO prov_tokens (token, host_id, expires_at) VALUES (?, ?, ?)", "[sII]",
	        token, id, now + ttl) < 0) {
		store_rollback();
		return PROV_E_STORE;
	}
	if (store_commit(err) < 0)
		return PROV_E_STORE;
	set = json_pack("{s:b, s:s, s:I, s:I, s:n}", "build", 1, "status", "building",
	    "build_started_at", now, "token_expires_at", now + ttl, "failed_log");
	if ((r = prov_resource_set_internal(res, id, set, user, remote, "build", err)) < 0)
		return r;
	provisioner_boot_changed(host);
	if (ret_token != NULL)
		*ret_token = xstrdup(token);
	return 0;
}

/* Leave build mode without installing. */
int
prov_host_build_cancel(
    const char *id_or_name, const char *user, const char *remote, struct dr_error *err)
{
	const struct prov_resource *res = prov_resource_find("host");
	_cleanup_json_ json_t *host = prov_resource_get(res, id_or_name), *set = NULL;
	json_int_t id;
	int r;

	if (host == NULL) {
		dr_error_set(err, "no host '%s'", id_or_name);
		return PROV_E_NOTFOUND;
	}
	id = json_integer_value(json_object_get(host, "id"));
	if (store_execf(NULL, NULL, err, "DELETE FROM prov_tokens WHERE host_id = ?", "[I]", id) <
	    0)
		return PROV_E_STORE;
	set = json_pack("{s:b, s:n}", "build", 0, "token_expires_at");
	if (json_is_true(json_object_get(host, "build")))
		json_object_set_new(set, "status",
		    json_string(
		        json_object_get(host, "installed_at") != NULL ? "installed" : "new"));
	if ((r = prov_resource_set_internal(res, id, set, user, remote, "build_cancel", err)) < 0)
		return r;
	provisioner_boot_changed(host);
	return 0;
}

/* Keep only lines that look like OpenSSH public keys ("type base64 [comment]"). */
static char *
prov_host_keys_clean(const char *keys, struct dr_error *err)
{
	_cleanup_free_ char *copy = xstrdup(keys);
	struct buf out = BUF_INIT(PROV_HOST_KEYS_MAX);
	char *line, *save = NULL;
	int n = 0;

	for (line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char type[64], blob[8192];
		size_t k;

		str_trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		if (sscanf(line, "%63s %8191s", type, blob) != 2 ||
		    (!str_has_prefix(type, "ssh-") && !str_has_prefix(type, "ecdsa-sha2-") &&
		        !str_has_prefix(type, "sk-"))) {
			buf_free(&out);
			dr_error_set(
			    err, "ssh_host_keys: line %d is not an OpenSSH public key", n + 1);
			return NULL;
		}
		for (k = 0; blob[k] != '\0'; k++)
			if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz012345678"
			            "9+/=",
			        blob[k])) {
				buf_free(&out);
				dr_error_set(
				    err, "ssh_host_keys: line %d: key is not base64", n + 1);
				return NULL;
			}
		buf_addf(&out, "%s %s\n", type, blob);
		n++;
	}
	if (n == 0) {
		buf_free(&out);
		dr_error_set(err, "ssh_host_keys: no public key sent");
		return NULL;
	}
	return buf_steal(&out);
}

/* The installer reported success. */
int
prov_host_built(int64_t id, const char *keys, const char *remote, struct dr_error *err)
{
	const struct prov_resource *res = prov_resource_find("host");
	_cleanup_json_ json_t *host = prov_host_by_id(id), *set = NULL;
	_cleanup_free_ char *clean = NULL;
	int r;

	if (host == NULL) {
		dr_error_set(err, "no host %lld", (long long)id);
		return PROV_E_NOTFOUND;
	}
	if (keys != NULL && *keys != '\0' && (clean = prov_host_keys_clean(keys, err)) == NULL)
		return PROV_E_INVALID;
	if (store_execf(NULL, NULL, err, "DELETE FROM prov_tokens WHERE host_id = ?", "[I]",
	        (json_int_t)id) < 0)
		return PROV_E_STORE;
	set = json_pack("{s:b, s:s, s:I, s:n}", "build", 0, "status", "installed", "installed_at",
	    (json_int_t)time(NULL), "token_expires_at");
	if (clean != NULL)
		json_object_set_new(set, "ssh_host_keys", json_string(clean));
	if ((r = prov_resource_set_internal(res, id, set, "(installer)", remote, "built", err)) <
	    0)
		return r;
	provisioner_boot_changed(host);
	prov_host_post_install(host);
	return 0;
}

/*
 * The play that waits, from droverd, for the sshd of the installed system of host name (a
 * JSON string: YAML quotes it whatever it holds): the host is rebooting when built
 * arrives. Caller frees.
 */
static char *
prov_host_wait_play(const char *qname)
{
	return xasprintf("- name: wait for the installed system's sshd\n"
	                 "  hosts: %s\n"
	                 "  gather_facts: false\n"
	                 "  tasks:\n"
	                 "    - wait_for:\n"
	                 "        host: \"{{ ansible_host }}\"\n"
	                 "        port: \"{{ ansible_port | default(22) }}\"\n"
	                 "        search_regex: SSH-\n"
	                 "        timeout: %d\n"
	                 "      delegate_to: localhost\n",
	    qname, PROV_POST_INSTALL_WAIT);
}

/*
 * The post-install playbook job of host name: the playbook at path (the parameter
 * post_install_playbook, on droverd's host) run on the host alone through droverd's
 * inventory (its parameters as variables, SSH checked against the host key recorded at
 * built), after the play that waits for the installed system's sshd.
 */
static int
prov_host_post_install_playbook(
    const char *name, const char *path, int64_t *ret_job, struct dr_error *err)
{
	_cleanup_free_ char *qname = NULL, *qpath = NULL, *wait = NULL, *yaml = NULL;
	_cleanup_json_ json_t *params = NULL, *sn = json_string(name), *sp = json_string(path);

	if (path[0] != '/')
		return dr_error_set(
		    err, "post_install_playbook: '%s' is not an absolute path", path);
	/* JSON strings are YAML strings: names and paths quoted whatever they hold. */
	qname = json_dumps(sn, JSON_ENCODE_ANY);
	qpath = json_dumps(sp, JSON_ENCODE_ANY);
	wait = prov_host_wait_play(qname);
	yaml = xasprintf("%s- import_playbook: %s\n", wait, qpath);
	params = json_pack("{s:s, s:s, s:s, s:{s:b}}", "playbook_yaml", yaml, "inventory",
	    "droverd:", "limit", name, "extra_vars", "drover_post_install", 1);
	return job_submit("playbook", params, "(installer)", 0, ret_job, err);
}

/*
 * The package-profile upload of host name (the parameter post_install_profile): a
 * remote-execution job on the host alone whose play waits for the installed system's sshd;
 * remote execution then collects the host's package profile over SSH, as at the end of
 * each of its jobs, and stores it for applicability.
 */
static int
prov_host_post_install_profile(const char *name, int64_t *ret_job, struct dr_error *err)
{
	_cleanup_json_ json_t *sn = json_string(name), *params = NULL;
	_cleanup_free_ char *qname = json_dumps(sn, JSON_ENCODE_ANY);
	_cleanup_free_ char *yaml = prov_host_wait_play(qname);

	params = json_pack("{s:s, s:[s]}", "playbook_yaml", yaml, "hosts", name);
	return job_submit("remote_execution", params, "(installer)", 0, ret_job, err);
}

/*
 * After built: the jobs named by the host's parameter post_install_jobs (a comma list of
 * job kinds) are queued with params {"host": name, "ssh_host_keys": ...}; the parameter
 * post_install_playbook (a playbook's path on droverd's host) queues a playbook job on the
 * host, and post_install_profile (true) a job that uploads its package profile. An unknown
 * kind or a bad path is logged, not fatal: the host is installed either way.
 */
static void
prov_host_post_install(const json_t *host)
{
	_cleanup_json_ json_t *r = NULL, *params = NULL, *fresh = NULL;
	_cleanup_free_ char *kinds = NULL;
	const char *list, *pb, *name = json_string_value(json_object_get(host, "name"));
	const json_t *pf;
	char *kind, *save = NULL;
	struct dr_error err;
	int64_t jid;

	if (prov_host_resolve(host, &r, &err) < 0)
		return;
	pb = json_string_value(
	    json_object_get(json_object_get(r, "parameters"), "post_install_playbook"));
	if (pb != NULL && *pb != '\0') {
		if (prov_host_post_install_playbook(name, pb, &jid, &err) < 0)
			log_warnx("host %s: post-install playbook %s: %s", name, pb, err.msg);
		else
			log_info("host %s: post-install playbook %s queued as job %lld", name, pb,
			    (long long)jid);
		jobs_wake();
	}
	/* true as JSON (drover host update -p post_install_profile=true) or as text */
	pf = json_object_get(json_object_get(r, "parameters"), "post_install_profile");
	if (json_is_true(pf) ||
	    (json_is_string(pf) &&
	        (strcasecmp(json_string_value(pf), "true") == 0 ||
	            strcasecmp(json_string_value(pf), "yes") == 0))) {
		if (prov_host_post_install_profile(name, &jid, &err) < 0)
			log_warnx("host %s: post-install package profile: %s", name, err.msg);
		else
			log_info("host %s: post-install package profile queued as job %lld", name,
			    (long long)jid);
		jobs_wake();
	}
	list = json_string_value(
	    json_object_get(json_object_get(r, "parameters"), "post_install_jobs"));
	if (list == NULL || *list == '\0')
		return;
	fresh = prov_resource_get(prov_resource_find("host"), name);
	params = json_pack(
	    "{s:s, s:O?}", "host", name, "ssh_host_keys", json_object_get(fresh, "ssh_host_keys"));
	kinds = xstrdup(list);
	for (kind = strtok_r(kinds, ", ", &save); kind != NULL;
	     kind = strtok_r(NULL, ", ", &save)) {
		if (job_submit(kind, params, "(installer)", 0, &jid, &err) < 0) {
			log_warnx("host %s: post-install job %s: %s", name, kind, err.msg);
			continue;
		}
		log_info(
		    "host %s: post-install job %s queued as %lld", name, kind, (long long)jid);
	}
	jobs_wake();
}

/* The installer reported failure. */
int
prov_host_failed(int64_t id, const char *log, size_t len, const char *remote, struct dr_error *err)
{
	const struct prov_resource *res = prov_resource_find("host");
	_cleanup_json_ json_t *set = NULL;
	_cleanup_free_ char *clean = NULL;

	if (len > PROV_FAILED_LOG_MAX) {
		dr_error_set(err, "failed log: larger than %d bytes", PROV_FAILED_LOG_MAX);
		return PROV_E_INVALID;
	}
	clean = store_utf8_clean(log != NULL ? log : "", log != NULL ? len : 0, NULL);
	set = json_pack("{s:s, s:I, s:s}", "status", "failed", "failed_at", (json_int_t)time(NULL),
	    "failed_log", clean);
	return prov_resource_set_internal(res, id, set, "(installer)", remote, "failed", err);
}

/* known_hosts lines for a host's recorded keys. */
int
provisioner_known_hosts(const char *host_name, char **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *host = prov_resource_get(prov_resource_find("host"), host_name);
	_cleanup_json_ json_t *resolved = NULL;
	_cleanup_free_ char *keys = NULL, *names = NULL;
	struct buf out = BUF_INIT(0);
	const char *dom, *ip;
	char *line, *save = NULL;

	if (host == NULL) {
		dr_error_set(err, "no host '%s'", host_name);
		return PROV_E_NOTFOUND;
	}
	if (prov_host_resolve(host, &resolved, err) < 0)
		return PROV_E_INVALID;
	dom = json_string_value(json_object_get(json_object_get(resolved, "domain"), "name"));
	ip = json_string_value(json_object_get(json_object_get(resolved, "interface"), "ip"));
	names = xasprintf("%s%s%s%s%s", json_string_value(json_object_get(host, "name")),
	    dom != NULL ? "," : "",
	    dom != NULL ? json_string_value(json_object_get(host, "name")) : "",
	    dom != NULL ? "." : "", dom != NULL ? dom : "");
	keys = xstrdup(json_string_value(json_object_get(host, "ssh_host_keys")) != NULL
	        ? json_string_value(json_object_get(host, "ssh_host_keys"))
	        : "");
	buf_adds(&out, "");
	for (line = strtok_r(keys, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		buf_addf(
		    &out, "%s%s%s %s\n", names, ip != NULL ? "," : "", ip != NULL ? ip : "", line);
	*ret = buf_steal(&out);
	return 0;
}
