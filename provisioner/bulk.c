/*
 * bulk.c - one action on many hosts: build, power, change hostgroup, delete (a result per
 * host), run a command or a library playbook (one remote execution job) and apply errata
 * (one patch run). The hosts are named by ids or by a search; each must be within the
 * caller's role filter for the action, exactly as the one-host routes check it, and the
 * others are left alone and reported as not found (a filtered role does not learn about
 * hosts it cannot see). The API route and the hosts page both come here.
 */
#define LOG_COMPONENT "provisioner"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"
#include "provisioner/provisioner.h"
#include "webui/webui.h"

/* The permission each action needs; host_action is the one the hosts are scoped by. */
struct prov_bulk_def {
	struct prov_bulk_action a;
	const char *host_action;
};

static const struct prov_bulk_def prov_bulk_defs[] = {
    {{"build", "hosts", "build", "Build (reinstall)"}, "build"},
    {{"power", "hosts", "power", "Power"}, "power"},
    {{"hostgroup", "hosts", "edit", "Change host group"}, "edit"},
    {{"delete", "hosts", "delete", "Delete"}, "delete"},
    {{"run", "job_invocations", "create", "Run a command or playbook"}, "view"},
    {{"errata", "patch_runs", "create", "Apply errata"}, "view"},
};

/* The bulk actions, for pages. */
const struct prov_bulk_action *
prov_bulk_actions(size_t *ret_n)
{
	static struct prov_bulk_action list[nitems(prov_bulk_defs)];

	for (size_t i = 0; i < nitems(prov_bulk_defs); i++)
		list[i] = prov_bulk_defs[i].a;
	*ret_n = nitems(list);
	return list;
}

/* The definition of action, NULL when there is none. */
static const struct prov_bulk_def *
prov_bulk_def(const char *action)
{
	for (size_t i = 0; i < nitems(prov_bulk_defs); i++)
		if (action != NULL && strcmp(prov_bulk_defs[i].a.name, action) == 0)
			return &prov_bulk_defs[i];
	return NULL;
}

/* {id, name} of the hosts of r matching search within scope, ordered by name. */
static int
prov_bulk_query(
    const char *search, const char *scope, json_t **ret, int64_t *ret_total, struct dr_error *err)
{
	const struct api_resource *r = provisioner_api_resource("hosts");
	_cleanup_json_ json_t *rows = NULL;
	json_t *out, *row;
	size_t i;

	if (api_list_query(r, search, scope, "name", 1, PROV_BULK_MAX + 1, &rows, ret_total, err) <
	    0)
		return -1;
	out = json_array();
	json_array_foreach(rows, i, row) json_array_append_new(out,
	    json_pack("{s:O, s:O}", "id", json_object_get(row, "id"), "name",
	        json_object_get(row, "name")));
	*ret = out;
	return 0;
}

/*
 * The hosts body names, within scope: *ret_hosts [{id, name}] to act on and *ret_results
 * the refusals [{id, status: "not_found", error}] (ids the caller gave that do not exist
 * or are hidden). 422 with invalid set for a bad selection.
 */
static int
prov_bulk_hosts(const json_t *body, const char *scope, json_t **ret_hosts, json_t **ret_results,
    json_t *invalid, struct dr_error *err)
{
	const json_t *ids = json_object_get(body, "ids");
	const char *search = json_string_value(json_object_get(body, "search"));
	const struct prov_resource *res = prov_resource_find("host");
	_cleanup_json_ json_t *hosts = json_array(), *results = json_array(), *want = json_array();
	int64_t total = 0;
	size_t i;
	json_t *v;

	if ((ids == NULL) == (json_object_get(body, "search") == NULL)) {
		json_object_set_new(invalid, "ids",
		    json_string("name the hosts: ids (a list) or search (the search language)"));
		dr_error_set(err, "name the hosts: ids or search");
		return 422;
	}
	if (ids == NULL) {
		if (search == NULL) {
			json_object_set_new(invalid, "search", json_string("expected a string"));
			dr_error_set(err, "search: expected a string");
			return 422;
		}
		if (strstr(search, "errata.") != NULL &&
		    (jobs_targets_refresh(err) < 0 || jobs_applicability_refresh(NULL, err) < 0))
			return 500;
		json_decref(hosts); /* the query makes the list */
		hosts = NULL;
		if (prov_bulk_query(search, scope, &hosts, &total, err) < 0) {
			json_object_set_new(invalid, "search", json_string(err->msg));
			return 422;
		}
		if (total > PROV_BULK_MAX) {
			dr_error_set(err, "search: matches %lld hosts, more than %d at once",
			    (long long)total, PROV_BULK_MAX);
			json_object_set_new(invalid, "search", json_string(err->msg));
			return 422;
		}
		*ret_hosts = TAKE_PTR(hosts);
		*ret_results = TAKE_PTR(results);
		return 0;
	}
	if (!json_is_array(ids) || json_array_size(ids) == 0 ||
	    json_array_size(ids) > PROV_BULK_MAX) {
		dr_error_set(
		    err, "ids: expected a list of 1 to %d host ids or names", PROV_BULK_MAX);
		json_object_set_new(invalid, "ids", json_string(err->msg));
		return 422;
	}
	/* Each id or name that exists, then which of them the scope lets through, in lists of
	 * SEARCH_LIST_MAX ("id ^ (…)"). */
	json_array_foreach(ids, i, v)
	{
		_cleanup_json_ json_t *host = NULL;
		char key[32];

		if (json_is_integer(v))
			snprintf(key, sizeof key, "%lld", (long long)json_integer_value(v));
		else if (!json_is_string(v) || *json_string_value(v) == '\0') {
			dr_error_set(err, "ids[%zu]: expected a host id or name", i);
			json_object_set_new(invalid, "ids", json_string(err->msg));
			return 422;
		}
		host = prov_resource_get(res, json_is_integer(v) ? key : json_string_value(v));
		if (host == NULL)
			json_array_append_new(results,
			    json_pack("{s:O, s:s, s:s}", "id", v, "status", "not_found", "error",
			        "no such host, or not within your role's filter"));
		else
			json_array_append_new(want,
			    json_pack("{s:O, s:O, s:O}", "id", json_object_get(host, "id"), "name",
			        json_object_get(host, "name"), "given", v));
	}
	for (i = 0; i < json_array_size(want); i += SEARCH_LIST_MAX) {
		_cleanup_json_ json_t *in = NULL;
		struct buf q = BUF_INIT(0);
		size_t k;

		buf_adds(&q, "id ^ (");
		for (k = i; k < json_array_size(want) && k < i + SEARCH_LIST_MAX; k++)
			buf_addf(&q, "%s%lld", k > i ? ", " : "",
			    (long long)json_integer_value(
			        json_object_get(json_array_get(want, k), "id")));
		buf_adds(&q, ")");
		int r = prov_bulk_query(q.data, scope, &in, &total, err);
		buf_free(&q);
		if (r < 0)
			return 500;
		for (k = i; k < json_array_size(want) && k < i + SEARCH_LIST_MAX; k++) {
			json_t *w = json_array_get(want, k), *h;
			size_t j;
			bool seen = false;

			json_array_foreach(in, j, h) seen |=
			    json_equal(json_object_get(h, "id"), json_object_get(w, "id"));
			if (seen)
				json_array_append_new(hosts,
				    json_pack("{s:O, s:O}", "id", json_object_get(w, "id"), "name",
				        json_object_get(w, "name")));
			else
				json_array_append_new(results,
				    json_pack("{s:O, s:s, s:s}", "id", json_object_get(w, "given"),
				        "status", "not_found", "error",
				        "no such host, or not within your role's filter"));
		}
	}
	*ret_hosts = TAKE_PTR(hosts);
	*ret_results = TAKE_PTR(results);
	return 0;
}

/* One host's result: ok, or failed with the error. */
static json_t *
prov_bulk_result(const json_t *host, int r, const struct dr_error *err)
{
	return json_pack("{s:O, s:O, s:s, s:s*}", "id", json_object_get(host, "id"), "name",
	    json_object_get(host, "name"), "status", r < 0 ? "failed" : "ok", "error",
	    r < 0 ? err->msg : NULL);
}

/* The power action of body, NULL (and invalid set) when it is not one. */
static const char *
prov_bulk_power_action(const json_t *body, json_t *invalid)
{
	static const char *const actions[] = {"on", "off", "soft", "cycle", "status", "pxe"};
	const char *a = json_string_value(json_object_get(body, "power_action"));

	for (size_t i = 0; a != NULL && i < nitems(actions); i++)
		if (strcmp(actions[i], a) == 0)
			return actions[i];
	json_object_set_new(
	    invalid, "power_action", json_string("expected on, off, soft, cycle, status or pxe"));
	return NULL;
}

/* The arguments of a job action: body less the selection, with the hosts as ids. */
static json_t *
prov_bulk_job_body(const json_t *body, const json_t *hosts)
{
	json_t *out = json_deep_copy(body), *ids = json_array(), *h;
	size_t i;

	json_object_del(out, "ids");
	json_object_del(out, "search");
	json_array_foreach(hosts, i, h) json_array_append(ids, json_object_get(h, "id"));
	json_object_set_new(out, "hosts", ids);
	return out;
}

/* Do action on the hosts of body. */
int
prov_bulk_run(struct http_request *req, const char *action, const json_t *body, json_t *invalid,
    json_t **ret, struct dr_error *err)
{
	const struct prov_bulk_def *d = prov_bulk_def(action);
	const struct prov_resource *res = prov_resource_find("host");
	struct auth_principal *p = http_request_principal(req);
	const char *user = http_request_user(req), *remote = http_request_remote(req);
	_cleanup_json_ json_t *hosts = NULL, *results = NULL, *jbody = NULL, *params = NULL;
	_cleanup_json_ json_t *args = NULL, *audit = NULL;
	_cleanup_free_ char *scope = NULL;
	const char *power = NULL, *hostgroup = NULL;
	bool reboot = false;
	json_t *h, *out;
	size_t i;
	int status;

	if (d == NULL) {
		dr_error_set(err, "no bulk action '%s'", action != NULL ? action : "");
		return 404;
	}
	if (!json_is_object(body)) {
		dr_error_set(err, "expected a JSON object {ids|search, …}");
		return 400;
	}
	if (p != NULL && !auth_allowed(p, "hosts", d->host_action, &scope)) {
		dr_error_set(err, "your role lacks the permission hosts:%s", d->host_action);
		return 403;
	}
	/* The action's own arguments first: a bad request touches nothing. */
	if (strcmp(d->a.name, "power") == 0) {
		if ((power = prov_bulk_power_action(body, invalid)) == NULL) {
			dr_error_set(
			    err, "power_action: expected on, off, soft, cycle, status or pxe");
			return 422;
		}
		args = json_pack("{s:s}", "power_action", power);
	} else if (strcmp(d->a.name, "build") == 0) {
		const json_t *rb = json_object_get(body, "reboot");

		if (rb != NULL && !json_is_boolean(rb)) {
			json_object_set_new(
			    invalid, "reboot", json_string("expected true or false"));
			dr_error_set(err, "reboot: expected true or false");
			return 422;
		}
		reboot = json_is_true(rb);
		args = json_pack("{s:b}", "reboot", reboot);
	} else if (strcmp(d->a.name, "hostgroup") == 0) {
		const json_t *g = json_object_get(body, "hostgroup");
		_cleanup_json_ json_t *hg = NULL;
		char key[32];

		if (json_is_integer(g)) {
			snprintf(key, sizeof key, "%lld", (long long)json_integer_value(g));
			hostgroup = key;
		} else {
			hostgroup = json_string_value(g);
		}
		if (hostgroup == NULL || *hostgroup == '\0' ||
		    (hg = prov_resource_get(prov_resource_find("hostgroup"), hostgroup)) == NULL) {
			dr_error_set(err, "hostgroup: %s%s%s",
			    hostgroup != NULL ? "no host group '" : "expected a host group name",
			    hostgroup != NULL ? hostgroup : "", hostgroup != NULL ? "'" : "");
			json_object_set_new(invalid, "hostgroup", json_string(err->msg));
			return 422;
		}
		args = json_pack("{s:O}", "hostgroup", json_object_get(hg, "name"));
		hostgroup = json_string_value(json_object_get(args, "hostgroup"));
	}
	if ((status = prov_bulk_hosts(body, scope, &hosts, &results, invalid, err)) != 0)
		return status;

	out = json_pack("{s:s, s:o}", "action", d->a.name, "results", json_array());
	if (strcmp(d->a.name, "run") == 0 || strcmp(d->a.name, "errata") == 0) {
		bool run = strcmp(d->a.name, "run") == 0;
		const char *kind = run ? "remote_execution" : "patch_run";
		int64_t id;
		char idtext[32];

		if (json_array_size(hosts) == 0) {
			json_decref(out);
			dr_error_set(err, "none of the hosts named is within your role's filter");
			json_object_set_new(invalid, "ids", json_string(err->msg));
			return 422;
		}
		jbody = prov_bulk_job_body(body, hosts);
		if ((run ? jobs_remote_params(jbody, &params, invalid, err)
		         : jobs_patch_params(jbody, &params, invalid, err)) < 0) {
			json_decref(out);
			return json_object_size(invalid) > 0 ? 422 : 500;
		}
		if (job_submit(kind, params, user, 0, &id, err) < 0) {
			json_decref(out);
			return 500;
		}
		snprintf(idtext, sizeof idtext, "%lld", (long long)id);
		store_audit(user, remote, "create", run ? "job_invocation" : "patch_run", idtext,
		    NULL, params, NULL);
		json_object_set_new(out, "job", job_get(id));
		json_array_foreach(hosts, i, h) json_array_append_new(
		    json_object_get(out, "results"),
		    json_pack("{s:O, s:O, s:s, s:I}", "id", json_object_get(h, "id"), "name",
		        json_object_get(h, "name"), "status", "queued", "job_id", (json_int_t)id));
	} else {
		json_array_foreach(hosts, i, h)
		{
			char key[32];
			struct dr_error e;
			json_t *one;
			int r = 0;

			snprintf(key, sizeof key, "%lld",
			    (long long)json_integer_value(json_object_get(h, "id")));
			if (strcmp(d->a.name, "build") == 0) {
				r = prov_host_build_boot(key, 0, reboot, user, remote, &e);
			} else if (strcmp(d->a.name, "delete") == 0) {
				r = prov_host_delete(key, user, remote, &e);
			} else if (strcmp(d->a.name, "hostgroup") == 0) {
				_cleanup_json_ json_t *in =
				    json_pack("{s:s}", "hostgroup", hostgroup);
				int64_t hid;

				r = prov_resource_update(res, key, in, user, remote, &hid, &e);
			} else { /* power: a host_power job each, as the one-host route */
				_cleanup_json_ json_t *pp = json_pack("{s:O, s:s}", "host",
				    json_object_get(h, "name"), "action", power);
				int64_t jid;

				if ((r = job_submit("host_power", pp, user, 0, &jid, &e)) == 0) {
					store_audit(user, remote, "power", "host",
					    json_string_value(json_object_get(h, "name")), NULL,
					    pp, NULL);
					one = prov_bulk_result(h, 0, &e);
					json_object_set_new(one, "job_id", json_integer(jid));
					json_array_append_new(
					    json_object_get(out, "results"), one);
					continue;
				}
			}
			json_array_append_new(
			    json_object_get(out, "results"), prov_bulk_result(h, r, &e));
		}
	}
	/* The refusals after the hosts acted on; one audit row for the whole request. */
	json_array_extend(json_object_get(out, "results"), results);
	audit = json_pack("{s:s, s:O*, s:O*, s:O*, s:I}", "action", d->a.name, "ids",
	    json_object_get(body, "ids"), "search", json_object_get(body, "search"), "args", args,
	    "hosts", (json_int_t)json_array_size(hosts));
	_cleanup_free_ char *what = xasprintf("bulk_%s", d->a.name);
	store_audit(user, remote, what, "hosts", NULL, NULL, audit, NULL);
	*ret = out;
	return 200;
}

/* POST /api/v2/hosts/bulk/<action> {ids|search, …the action's arguments} */
static int
prov_bulk_api(struct http_request *req, struct http_response *resp)
{
	const char *path = http_request_path(req);
	const char *action = strrchr(path, '/') + 1;
	_cleanup_json_ json_t *body = NULL, *invalid = json_object();
	json_t *out = NULL;
	struct dr_error err;
	int status;

	if (http_request_json(req, &body, &err) < 0) {
		http_reply_error(resp, 400, "%s", err.msg);
		return 0;
	}
	status = prov_bulk_run(req, action, body, invalid, &out, &err);
	if (status == 200)
		http_reply_json(resp, 200, out);
	else if (status == 422)
		api_reply_invalid(resp, json_incref(invalid), err.msg);
	else
		http_reply_error(resp, status, "%s", err.msg);
	return 0;
}

/* Install the routes, one per action with its permission; before the one-host routes,
 * which would take "bulk" for a host's name. */
void
prov_bulk_api_init(void)
{
	static struct http_route routes[nitems(prov_bulk_defs)];

	for (size_t i = 0; i < nitems(prov_bulk_defs); i++) {
		const struct prov_bulk_def *d = &prov_bulk_defs[i];

		if (routes[i].pattern == NULL)
			routes[i] = (struct http_route){"POST",
			    xasprintf("/api/v2/hosts/bulk/%s", d->a.name), prov_bulk_api, 0,
			    xasprintf("hosts_bulk_%s", d->a.name), d->a.resource, d->a.action,
			    xasprintf("%s on many hosts {ids|search, …} (each within your role's "
			              "filter)",
			        d->a.label)};
	}
	http_routes_add(routes, nitems(routes));
}
