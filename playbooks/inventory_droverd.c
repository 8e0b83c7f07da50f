/*
 * inventory_droverd.c - droverd's hosts and hostgroups as the inventory of a play: for
 * `drover play -i droverd:` (the CLI fetches GET /api/v2/inventory) and for
 * playbook jobs with "inventory": "droverd:" (read from the store directly).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "playbooks/playbooks.h"
#include "provisioner/provisioner.h"
#include "webui/webui.h"

#define INVENTORY_DROVERD_PAGE 500
#define INVENTORY_DROVERD_MAX 100000 /* hosts or hostgroups read */

/* Every object of a provisioner resource as the API shows it (a new array). */
static int
inventory_droverd_all(const char *resource, json_t **ret, struct dr_error *err)
{
	const struct prov_resource *res = prov_resource_find(resource);
	json_t *all = json_array();

	if (!res) {
		json_decref(all);
		return dr_error_set(err, "no provisioner resource '%s'", resource);
	}
	for (int off = 0; off < INVENTORY_DROVERD_MAX; off += INVENTORY_DROVERD_PAGE) {
		json_t *rows = NULL;
		int64_t total = 0, sub = 0;
		if (prov_resource_list(
		        res, NULL, INVENTORY_DROVERD_PAGE, off, &rows, &total, &sub, err) < 0) {
			json_decref(all);
			return -1;
		}
		json_array_extend(all, rows);
		size_t n = json_array_size(rows);
		json_decref(rows);
		if (n < INVENTORY_DROVERD_PAGE)
			break;
	}
	*ret = all;
	return 0;
}

/* The group object called name under groups (created: {hosts, children, vars}). */
static json_t *
inventory_droverd_group(json_t *groups, const char *name)
{
	json_t *g = json_object_get(groups, name);

	if (!g) {
		g = json_pack("{s:{}, s:{}, s:{}}", "hosts", "children", "vars");
		json_object_set_new(groups, name, g);
	}
	return g;
}

/* The address a play reaches the host at: the primary interface's, else provisioning's. */
static const char *
inventory_droverd_address(const json_t *host, const json_t *resolved)
{
	size_t i;
	json_t *nic;

	json_array_foreach(json_object_get(host, "interfaces"), i, nic)
	{
		const char *type = json_string_value(json_object_get(nic, "type"));
		if (type && strcmp(type, "bmc") == 0)
			continue;
		if (json_is_true(json_object_get(nic, "primary")) &&
		    json_string_value(json_object_get(nic, "ip")))
			return json_string_value(json_object_get(nic, "ip"));
	}
	return json_string_value(json_object_get(json_object_get(resolved, "interface"), "ip"));
}

/* The first recorded host key as "TYPE BASE64" (ed25519 preferred), or NULL. */
static char *
inventory_droverd_key(const char *name)
{
	_cleanup_free_ char *lines = NULL;
	struct dr_error e;
	char *save = NULL, *best = NULL;

	if (provisioner_known_hosts(name, &lines, &e) < 0 || !lines)
		return NULL;
	for (char *l = strtok_r(lines, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(l, ' ');
		if (!sp)
			continue;
		char *type = sp + 1, *b64 = strchr(type, ' ');
		if (!b64)
			continue;
		char *k = xstrndup(type, strcspn(type, " \t") + 1 + strcspn(b64 + 1, " \t"));
		if (!best ||
		    (str_has_prefix(k, "ssh-ed25519 ") && !str_has_prefix(best, "ssh-ed25519 "))) {
			free(best);
			best = k;
		} else
			free(k);
	}
	return best;
}

/* droverd's hosts and hostgroups as a YAML-inventory document. */
int
inventory_droverd_export(json_t **ret, struct dr_error *err)
{
	const struct prov_resource *hres = prov_resource_find("host");
	json_t *groups = json_object(), *all_hosts = json_object(), *hosts = NULL, *hgs = NULL;
	json_t *doc = NULL, *parented = json_object();
	size_t i;
	json_t *row;

	if (inventory_droverd_all("hostgroup", &hgs, err) < 0 ||
	    inventory_droverd_all("host", &hosts, err) < 0)
		goto fail;
	/* hostgroups: a group each, a child of its parent */
	json_array_foreach(hgs, i, row)
	{
		const char *name = json_string_value(json_object_get(row, "name"));
		const char *parent = json_string_value(json_object_get(row, "parent_name"));
		if (!name)
			continue;
		inventory_droverd_group(groups, name);
		if (parent) {
			json_object_set_new(
			    json_object_get(inventory_droverd_group(groups, parent), "children"),
			    name, json_object());
			json_object_set_new(parented, name, json_true());
		}
	}
	/* hosts: in their hostgroup (or directly under all), with their variables */
	json_array_foreach(hosts, i, row)
	{
		const char *name = json_string_value(json_object_get(row, "name"));
		_cleanup_json_ json_t *host = name ? prov_resource_get(hres, name) : NULL;
		_cleanup_json_ json_t *resolved = NULL;
		_cleanup_free_ char *key = NULL;
		json_t *vars;
		const char *addr, *hg;

		if (!host)
			continue;
		if (prov_host_resolve(host, &resolved, err) < 0) {
			dr_error_prefix(err, "host %s: ", name);
			goto fail;
		}
		vars = json_object();
		{
			const char *k;
			json_t *v;
			json_object_foreach(json_object_get(resolved, "parameters"), k, v)
			    json_object_set(vars, k, v);
		}
		if ((addr = inventory_droverd_address(host, resolved)) &&
		    !json_object_get(vars, "ansible_host"))
			json_object_set_new(vars, "ansible_host", json_string(addr));
		if ((key = inventory_droverd_key(name)))
			json_object_set_new(vars, "drover_host_key", json_string(key));
		hg = json_string_value(json_object_get(row, "hostgroup_name"));
		if (hg)
			json_object_set_new(
			    json_object_get(inventory_droverd_group(groups, hg), "hosts"), name,
			    vars);
		else
			json_object_set_new(all_hosts, name, vars);
	}
	/* top-level hostgroups are children of all */
	{
		const char *k;
		json_t *v, *children = json_object();
		json_object_foreach(groups, k, v) if (!json_object_get(parented, k))
		    json_object_set(children, k, v);
		/* nested groups: replace the {} placeholders with the group objects */
		json_object_foreach(groups, k, v)
		{
			const char *c;
			json_t *cv;
			json_object_foreach(json_object_get(v, "children"), c, cv) json_object_set(
			    json_object_get(v, "children"), c, json_object_get(groups, c));
		}
		doc = json_pack("{s:{s:o, s:o, s:{}}}", "all", "hosts", all_hosts, "children",
		    children, "vars");
		all_hosts = NULL;
	}
	json_decref(groups);
	json_decref(hosts);
	json_decref(hgs);
	json_decref(parented);
	*ret = doc;
	return 0;
fail:
	json_decref(groups);
	json_decref(all_hosts);
	json_decref(hosts);
	json_decref(hgs);
	json_decref(parented);
	return -1;
}

/* GET /api/v2/inventory: the document above. */
static int
inventory_droverd_api(struct http_request *req, struct http_response *resp)
{
	json_t *doc = NULL;
	struct dr_error err = {{0}};

	(void)req;
	if (inventory_droverd_export(&doc, &err) < 0) {
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	http_reply_json(resp, 200, doc);
	return 0;
}

static const struct http_route inventory_droverd_routes[] = {
    {"GET", "/api/v2/inventory", inventory_droverd_api, 0, "inventory",
        "hosts", "view",
        "droverd's hosts and hostgroups as a playbook inventory (YAML-inventory shape)"},
};

/* Register the route. */
void
playbooks_api_init(void)
{
	http_routes_add(inventory_droverd_routes, nitems(inventory_droverd_routes));
}
