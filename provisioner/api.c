/* api.c - REST routes of the provisioning model, host actions, the unattended endpoints
 * installers call (no login: bound to a build token or a MAC), and boot files over HTTP. */
#define LOG_COMPONENT "provisioner"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provisioner/provisioner.h"
#include "pxe/pxe.h"
#include "webui/webui.h"

/*
 * Lists and objects go through the API framework (webui/api.c): the search language,
 * order, paging, the caller's role filter, and rows turned into JSON by SQLite itself.
 * Each provisioning resource gets an api_resource built from its field table once, at
 * start: its searchable fields as SQL over the stored document, and one json_patch()
 * expression that shows an object as prov_resource_present() does (references with
 * their names, secrets and BMC passwords left out).
 */
struct prov_api_res {
	const struct prov_resource *res;
	struct api_resource api;
};
static struct prov_api_res *prov_api_res;
static size_t prov_api_nres;
static struct api_resource prov_api_discovered;

/* The api_resource of a provisioning resource. */
static const struct api_resource *
prov_api_of(const struct prov_resource *res)
{
	for (size_t i = 0; i < prov_api_nres; i++)
		if (prov_api_res[i].res == res)
			return &prov_api_res[i].api;
	return NULL;
}

/* The resource a request's path names (/api/v2/<plural>...). */
static const struct prov_resource *
prov_api_resource(struct http_request *req)
{
	const char *path = http_request_path(req) + strlen("/api/v2/");
	char plural[64];
	size_t n = strcspn(path, "/");

	if (n >= sizeof plural)
		return NULL;
	memcpy(plural, path, n);
	plural[n] = '\0';
	return prov_resource_find(plural);
}

/* Reply with the status a PROV_E_* code stands for. */
static void
prov_api_fail(struct http_response *resp, int code, const struct dr_error *err)
{
	http_reply_error(resp, -code >= 400 && -code < 600 ? -code : 500, "%s", err->msg);
}

/* The id of the object :id names (an id or a name) when it exists and the caller's role
 * lets this route see it; else a 404 and -1. Hidden objects look absent. */
static int64_t
prov_api_scoped(struct http_request *req, struct http_response *resp,
    const struct prov_resource *res, const char *param)
{
	const char *key = http_request_param(req, param);
	_cleanup_free_ char *sql = xasprintf("SELECT id FROM %s WHERE name = ?", res->table);
	_cleanup_json_ json_t *row = NULL;
	long long id = 0;

	if (key != NULL && str_to_ll(key, 1, INT64_MAX, &id) < 0) {
		row = store_query_one(NULL, sql, "[s]", key);
		id = json_integer_value(json_object_get(row, "id"));
	}
	if (id <= 0 || !api_in_scope(req, prov_api_of(res), id)) {
		http_reply_error(resp, 404, "no %s '%s'", res->name, key != NULL ? key : "");
		return -1;
	}
	return id;
}

/* GET /api/v2/<plural> (a search over hosts' errata sees the applicability as jobs last
 * evaluated it: re-evaluating reads every host, too slow for each list). */
static int
prov_api_list(struct http_request *req, struct http_response *resp)
{
	return api_list(req, resp, prov_api_of(prov_api_resource(req)), NULL, NULL);
}

/* GET /api/v2/<plural>/:id (an id or a name) */
static int
prov_api_show(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_api_resource(req);
	int64_t id = prov_api_scoped(req, resp, res, "id");

	if (id < 0)
		return 0;
	return api_show(req, resp, prov_api_of(res), id, res->name, http_request_param(req, "id"));
}

/* The request body as an object; Foreman's {"host": {...}} wrapping is accepted. */
static json_t *
prov_api_body(
    struct http_request *req, struct http_response *resp, const struct prov_resource *res)
{
	struct dr_error err;
	json_t *body = NULL, *inner;

	if (http_request_json(req, &body, &err) < 0) {
		http_reply_error(resp, 400, "%s", err.msg);
		return NULL;
	}
	if (!json_is_object(body)) {
		json_decref(body);
		http_reply_error(resp, 422, "expected a JSON object describing a %s", res->name);
		return NULL;
	}
	inner = json_object_get(body, res->name);
	if (json_object_size(body) == 1 && json_is_object(inner)) {
		json_incref(inner);
		json_decref(body);
		return inner;
	}
	return body;
}

/* POST /api/v2/<plural> */
static int
prov_api_create(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_api_resource(req);
	_cleanup_json_ json_t *body = prov_api_body(req, resp, res), *obj = NULL;
	struct dr_error err;
	int64_t id;
	int r;

	if (body == NULL)
		return 0;
	r = strcmp(res->name, "host") == 0
	    ? prov_host_create(body, http_request_user(req), http_request_remote(req), &id, &err)
	    : strcmp(res->name, "image") == 0
	    ? prov_image_create(body, http_request_user(req), http_request_remote(req), &id, &err)
	    : prov_resource_create(
	          res, body, http_request_user(req), http_request_remote(req), &id, &err);
	if (r < 0) {
		prov_api_fail(resp, r, &err);
		return 0;
	}
	obj = prov_resource_get_id(res, id);
	http_reply_json(resp, 201, prov_resource_present(res, obj));
	return 0;
}

/* PUT /api/v2/<plural>/:id */
static int
prov_api_update(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_api_resource(req);
	_cleanup_json_ json_t *body = NULL, *obj = NULL;
	char key[32];
	struct dr_error err;
	int64_t id;
	int r;

	if ((id = prov_api_scoped(req, resp, res, "id")) < 0)
		return 0;
	if ((body = prov_api_body(req, resp, res)) == NULL)
		return 0;
	if (strcmp(res->name, "image") == 0 && json_is_string(json_object_get(body, "name"))) {
		/* The file and the URL hosts were given carry the name. */
		_cleanup_json_ json_t *cur = prov_resource_get_id(res, id);
		if (!json_equal(json_object_get(cur, "name"), json_object_get(body, "name"))) {
			http_reply_error(resp, 422,
			    "name: an image cannot be renamed (create a new one and delete this)");
			return 0;
		}
	}
	snprintf(key, sizeof key, "%lld", (long long)id);
	if ((r = prov_resource_update(res, key, body, http_request_user(req),
	         http_request_remote(req), &id, &err)) < 0) {
		prov_api_fail(resp, r, &err);
		return 0;
	}
	obj = prov_resource_get_id(res, id);
	http_reply_json(resp, 200, prov_resource_present(res, obj));
	return 0;
}

/* DELETE /api/v2/<plural>/:id */
static int
prov_api_delete(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_api_resource(req);
	_cleanup_json_ json_t *obj = NULL;
	struct dr_error err;
	char key[32];
	int64_t id;
	int r;

	if ((id = prov_api_scoped(req, resp, res, "id")) < 0)
		return 0;
	obj = prov_resource_get_id(res, id);
	snprintf(key, sizeof key, "%lld", (long long)id);
	r = strcmp(res->name, "host") == 0
	    ? prov_host_delete(key, http_request_user(req), http_request_remote(req), &err)
	    : strcmp(res->name, "image") == 0
	    ? prov_image_delete(key, http_request_user(req), http_request_remote(req), &err)
	    : prov_resource_delete(
	          res, key, http_request_user(req), http_request_remote(req), &err);
	if (r < 0) {
		prov_api_fail(resp, r, &err);
		return 0;
	}
	http_reply_json(resp, 200, prov_resource_present(res, obj));
	return 0;
}

/* PUT /api/v2/hosts/:id/build {"build": true|false, "ttl": seconds} (Foreman's shape);
 * POST /api/v2/hosts/:id/build starts a build, DELETE cancels it. */
static int
prov_api_host_build(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_resource_find("host");
	_cleanup_json_ json_t *body = NULL, *host = NULL;
	bool build = strcmp(http_request_method(req), "DELETE") != 0, reboot = false;
	json_int_t ttl = 0;
	struct dr_error err;
	size_t len = 0;
	char id[32];
	int64_t hid;
	int r;

	if ((hid = prov_api_scoped(req, resp, res, "id")) < 0)
		return 0;
	snprintf(id, sizeof id, "%lld", (long long)hid);

	if (http_request_body(req, &len) != NULL && len > 0) {
		if (http_request_json(req, &body, &err) < 0) {
			http_reply_error(resp, 400, "%s", err.msg);
			return 0;
		}
		if (json_unpack_ex(body, NULL, 0, "{s?:b, s?:I, s?:b}", "build", &build, "ttl",
		        &ttl, "reboot", &reboot) < 0 ||
		    ttl < 0 || ttl > 30 * 86400) {
			http_reply_error(resp, 422,
			    "expected {\"build\": true|false, \"ttl\": seconds up to 30 days, "
			    "\"reboot\": true|false}");
			return 0;
		}
	}
	r = build
	    ? prov_host_build_boot(
	          id, (int)ttl, reboot, http_request_user(req), http_request_remote(req), &err)
	    : prov_host_build_cancel(id, http_request_user(req), http_request_remote(req), &err);
	if (r < 0) {
		prov_api_fail(resp, r, &err);
		return 0;
	}
	host = prov_resource_get(res, id);
	http_reply_json(resp, 200, prov_resource_present(res, host));
	return 0;
}

/* POST /api/v2/hosts/:id/power {"power_action": on|off|soft|cycle|status|pxe}: a
 * host_power job, returned as queued. */
static int
prov_api_host_power(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL, *host = NULL, *params = NULL;
	const struct prov_resource *res = prov_resource_find("host");
	const char *action = NULL;
	struct dr_error err;
	int64_t id;

	if ((id = prov_api_scoped(req, resp, res, "id")) < 0)
		return 0;
	if (http_request_json(req, &body, &err) < 0) {
		http_reply_error(resp, 400, "%s", err.msg);
		return 0;
	}
	if (json_unpack_ex(body, NULL, 0, "{s:s}", "power_action", &action) < 0) {
		http_reply_error(
		    resp, 422, "power_action: expected on, off, soft, cycle, status or pxe");
		return 0;
	}
	if (strcmp(action, "on") != 0 && strcmp(action, "off") != 0 &&
	    strcmp(action, "soft") != 0 && strcmp(action, "cycle") != 0 &&
	    strcmp(action, "status") != 0 && strcmp(action, "pxe") != 0) {
		http_reply_error(resp, 422,
		    "power_action: '%s' is not on, off, soft, cycle, status "
		    "or pxe",
		    action);
		return 0;
	}
	if ((host = prov_resource_get_id(res, id)) == NULL) {
		http_reply_error(resp, 404, "no host '%s'", http_request_param(req, "id"));
		return 0;
	}
	params = json_pack("{s:O, s:s}", "host", json_object_get(host, "name"), "action", action);
	if (job_submit("host_power", params, http_request_user(req), 0, &id, &err) < 0) {
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	store_audit(http_request_user(req), http_request_remote(req), "power", "host",
	    json_string_value(json_object_get(host, "name")), NULL, params, NULL);
	http_reply_json(resp, 201, job_get(id));
	return 0;
}

/* GET /api/v2/hosts/:id/templates/:kind[?template=NAME]: a preview, as text. */
static int
prov_api_host_render(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_resource_find("host");
	_cleanup_json_ json_t *host = NULL;
	_cleanup_free_ char *out = NULL;
	struct dr_error err;
	int64_t id;

	if ((id = prov_api_scoped(req, resp, res, "id")) < 0)
		return 0;
	if ((host = prov_resource_get_id(res, id)) == NULL) {
		http_reply_error(resp, 404, "no host '%s'", http_request_param(req, "id"));
		return 0;
	}
	if (prov_render_host(host, http_request_param(req, "kind"),
	        http_request_query(req, "template"), &out, &err) < 0) {
		http_reply_error(resp, 422, "%s", err.msg);
		return 0;
	}
	http_reply_text(resp, 200, "text/plain; charset=utf-8", out, strlen(out));
	return 0;
}

/* GET /api/v2/hosts/:id/known_hosts: the recorded SSH host keys as known_hosts lines. */
static int
prov_api_host_known_hosts(struct http_request *req, struct http_response *resp)
{
	_cleanup_free_ char *out = NULL;
	_cleanup_json_ json_t *host = NULL;
	struct dr_error err;
	int64_t id;
	int r;

	if ((id = prov_api_scoped(req, resp, prov_resource_find("host"), "id")) < 0)
		return 0;
	host = prov_resource_get_id(prov_resource_find("host"), id);
	if ((r = provisioner_known_hosts(
	         json_string_value(json_object_get(host, "name")), &out, &err)) < 0) {
		prov_api_fail(resp, r, &err);
		return 0;
	}
	http_reply_text(resp, 200, "text/plain; charset=utf-8", out, strlen(out));
	return 0;
}

/* GET /api/v2/compute_resources/:id/images and /networks: read from the hypervisor now, in
 * Foreman's list shape (one page: the backend caps the list); 502 when it cannot be
 * reached. */
static int
prov_api_compute_list(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_resource_find("compute_resource");
	bool images = str_has_suffix(http_request_path(req), "/images");
	const struct prov_compute_backend *b;
	_cleanup_json_ json_t *cr = NULL;
	json_t *rows = NULL;
	struct dr_error err;
	int64_t id;
	int r;

	if ((id = prov_api_scoped(req, resp, res, "id")) < 0)
		return 0;
	cr = prov_resource_get_id(res, id);
	if ((b = prov_compute_backend(cr)) == NULL || (images ? b->images : b->networks) == NULL) {
		http_reply_error(resp, 422, "provider: %s cannot list %s",
		    json_string_value(json_object_get(cr, "provider")),
		    images ? "images" : "networks");
		return 0;
	}
	r = images ? b->images(cr, &rows, &err) : b->networks(cr, &rows, &err);
	if (r < 0) {
		http_reply_error(resp, 502, "compute resource %s: %s",
		    json_string_value(json_object_get(cr, "name")), err.msg);
		return 0;
	}
	api_reply_list(resp, rows, (int64_t)json_array_size(rows), (int64_t)json_array_size(rows),
	    1, (long long)json_array_size(rows), NULL);
	return 0;
}

/* The MAC an installer sent: ?mac=, iPXE's X-Drover-MAC, or Anaconda's
 * X-RHN-Provisioning-MAC-0 ("eth0 52:54:00:12:34:56"). */
static const char *
prov_api_request_mac(struct http_request *req)
{
	const char *mac = http_request_query(req, "mac"), *h;

	if (mac != NULL)
		return mac;
	if ((h = http_request_header(req, "X-Drover-MAC")) != NULL)
		return h;
	if ((h = http_request_header(req, "X-RHN-Provisioning-MAC-0")) != NULL) {
		const char *sp = strrchr(h, ' ');
		return sp != NULL ? sp + 1 : h;
	}
	return NULL;
}

/* The host an unattended request is for: by token, then MAC, then IP. */
static json_t *
prov_api_unattended_host(struct http_request *req, bool *ret_by_token)
{
	const char *token = http_request_query(req, "token"), *mac;
	json_t *host;

	*ret_by_token = false;
	if (token != NULL) {
		*ret_by_token = true;
		return prov_host_find_token(token, time(NULL));
	}
	if ((mac = prov_api_request_mac(req)) != NULL)
		return prov_host_find_mac(mac);
	host = prov_host_find_ip(http_request_remote(req));
	return host;
}

/* Whether the host has a template of kind (its OS's default or one associated with it). */
static bool
prov_api_has_template(const json_t *host, const char *kind)
{
	_cleanup_json_ json_t *resolved = NULL, *tpl = NULL;
	struct dr_error err;

	if (prov_host_resolve(host, &resolved, &err) < 0)
		return true; /* rendering says why */
	tpl = prov_render_find_template(resolved, kind, &err);
	return tpl != NULL;
}

/* GET /unattended/:kind (iPXE, PXELinux, PXEGrub2, provision, finish, user_data, script) */
static int
prov_api_unattended(struct http_request *req, struct http_response *resp)
{
	static const char *const kinds[] = {
	    "iPXE", "PXELinux", "PXEGrub2", "provision", "finish", "user_data", "script"};
	const char *kind = http_request_param(req, "kind");
	_cleanup_json_ json_t *host = NULL;
	_cleanup_free_ char *out = NULL;
	struct dr_error err;
	bool by_token, ipxe, known = false;
	size_t i;

	for (i = 0; i < nitems(kinds); i++)
		known |= strcmp(kinds[i], kind) == 0;
	if (!known) {
		http_reply_error(resp, 404, "no unattended kind '%s'", kind);
		return 0;
	}
	ipxe = strcmp(kind, "iPXE") == 0;
	host = prov_api_unattended_host(req, &by_token);
	if (host == NULL && ipxe && !by_token && prov_api_request_mac(req) == NULL) {
		/* iPXE sends nothing that names it: ask it again with its MAC. */
		out = xasprintf(
		    "#!ipxe\nchain %s/unattended/iPXE?mac=${netX/mac}\n", prov_render_url());
		http_reply_text(resp, 200, "text/plain", out, strlen(out));
		return 0;
	}
	if (host == NULL && ipxe && prov_api_request_mac(req) != NULL) {
		/* Unknown MAC: the discovery image, when one is in the TFTP root. */
		char mac[18];

		if (prov_discovery_on() &&
		    prov_mac_normalise(prov_api_request_mac(req), mac) == 0) {
			_cleanup_free_ char *cmdline = prov_discovery_cmdline(mac);

			out = xasprintf(
			    "#!ipxe\n"
			    "kernel %s/pxe/files/discovery/vmlinuz initrd=initrd.img %s\n"
			    "initrd --name initrd.img %s/pxe/files/discovery/initrd.img\n"
			    "boot\n",
			    prov_render_url(), cmdline, prov_render_url());
			http_reply_text(resp, 200, "text/plain", out, strlen(out));
			return 0;
		}
	}
	if (host == NULL) {
		if (ipxe) {
			/* Unknown MAC: nothing to install; fall through to the next boot device.
			 */
			out = xstrdup("#!ipxe\necho Drover: this machine is unknown\nexit 1\n");
			http_reply_text(resp, 200, "text/plain", out, strlen(out));
			return 0;
		}
		http_reply_error(resp, 404,
		    by_token ? "unknown or expired build token"
		             : "no host known by this MAC or address");
		return 0;
	}
	if (!json_is_true(json_object_get(host, "build"))) {
		if (ipxe) {
			/* UEFI: exit with an error, so that the firmware boots its next
			 * option (the disk); BIOS: the first hard disk through INT 13h. */
			out = xstrdup("#!ipxe\necho Drover: booting from the local disk\n"
			              "iseq ${platform} efi && exit 1 ||\n"
			              "sanboot --no-describe --drive 0x80 || exit 1\n");
			http_reply_text(resp, 200, "text/plain", out, strlen(out));
			return 0;
		}
		http_reply_error(resp, 409, "host %s is not in build mode",
		    json_string_value(json_object_get(host, "name")));
		return 0;
	}
	if (strcmp(kind, "user_data") == 0 && !prov_api_has_template(host, kind)) {
		/* Optional for the image method's installer: a 404 says there is none. */
		http_reply_error(resp, 404, "host %s: no user_data template",
		    json_string_value(json_object_get(host, "name")));
		return 0;
	}
	if (prov_render_host(host, kind, NULL, &out, &err) < 0) {
		log_warnx("unattended %s for %s: %s", kind,
		    json_string_value(json_object_get(host, "name")), err.msg);
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	http_reply_text(resp, 200, "text/plain; charset=utf-8", out, strlen(out));
	return 0;
}

/* The host of a built/failed callback: only by token. */
static json_t *
prov_api_callback_host(struct http_request *req, struct http_response *resp)
{
	json_t *host = prov_host_find_token(http_request_query(req, "token"), time(NULL));

	if (host == NULL) {
		http_reply_error(resp, 404, "unknown or expired build token");
		return NULL;
	}
	if (!json_is_true(json_object_get(host, "build"))) {
		http_reply_error(resp, 409, "host %s is not in build mode",
		    json_string_value(json_object_get(host, "name")));
		json_decref(host);
		return NULL;
	}
	return host;
}

/* POST /unattended/built?token=T with the SSH host public keys (text, or JSON
 * {"ssh_host_keys": "..."}). */
static int
prov_api_built(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *host = prov_api_callback_host(req, resp), *body = NULL;
	const char *ct = http_request_header(req, "Content-Type"), *keys;
	struct dr_error err;
	size_t len = 0;
	int r;

	if (host == NULL)
		return 0;
	keys = http_request_body(req, &len);
	if (keys != NULL && len > PROV_HOST_KEYS_MAX) {
		http_reply_error(
		    resp, 413, "ssh_host_keys: larger than %d bytes", PROV_HOST_KEYS_MAX);
		return 0;
	}
	if (ct != NULL && str_has_prefix(ct, "application/json")) {
		if (http_request_json(req, &body, &err) < 0) {
			http_reply_error(resp, 400, "%s", err.msg);
			return 0;
		}
		keys = json_string_value(json_object_get(body, "ssh_host_keys"));
	}
	if (keys != NULL && strlen(keys) != len && body == NULL) {
		http_reply_error(resp, 422, "ssh_host_keys: NUL byte in the body");
		return 0;
	}
	if ((r = prov_host_built(json_integer_value(json_object_get(host, "id")), keys,
	         http_request_remote(req), &err)) < 0) {
		prov_api_fail(resp, r, &err);
		return 0;
	}
	log_info("host %s built", json_string_value(json_object_get(host, "name")));
	http_reply_json(resp, 200, json_pack("{s:s}", "status", "installed"));
	return 0;
}

/* POST /unattended/failed?token=T with the installer's log (capped). */
static int
prov_api_failed(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *host = prov_api_callback_host(req, resp);
	const char *log;
	struct dr_error err;
	size_t len = 0;
	int r;

	if (host == NULL)
		return 0;
	log = http_request_body(req, &len);
	if ((r = prov_host_failed(json_integer_value(json_object_get(host, "id")), log, len,
	         http_request_remote(req), &err)) < 0) {
		prov_api_fail(resp, r, &err);
		return 0;
	}
	log_warnx(
	    "host %s: installation failed", json_string_value(json_object_get(host, "name")));
	http_reply_json(resp, 200, json_pack("{s:s}", "status", "failed"));
	return 0;
}

/* GET /unattended/cloud-init/:token/user-data and meta-data: cloud-init's NoCloud
 * data source for Ubuntu autoinstall. */
static int
prov_api_cloud_init(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *host =
	    prov_host_find_token(http_request_param(req, "token"), time(NULL));
	const char *what = http_request_param(req, "file");
	_cleanup_free_ char *out = NULL;
	struct dr_error err;

	if (host == NULL || !json_is_true(json_object_get(host, "build"))) {
		http_reply_error(resp, 404, "unknown or expired build token");
		return 0;
	}
	if (strcmp(what, "meta-data") == 0) {
		out = xasprintf("instance-id: drover-%lld\nlocal-hostname: %s\n",
		    (long long)json_integer_value(json_object_get(host, "id")),
		    json_string_value(json_object_get(host, "name")));
	} else if (strcmp(what, "user-data") == 0) {
		if (prov_render_host(host, "user_data", NULL, &out, &err) < 0) {
			http_reply_error(resp, 500, "%s", err.msg);
			return 0;
		}
	} else if (strcmp(what, "vendor-data") == 0) {
		out = xstrdup("");
	} else {
		http_reply_error(resp, 404, "no cloud-init file '%s'", what);
		return 0;
	}
	http_reply_text(resp, 200, "text/plain; charset=utf-8", out, strlen(out));
	return 0;
}

/* GET /pxe/files/...: the TFTP root over HTTP (kernels and initrds for iPXE). */
static int
prov_api_pxe_file(struct http_request *req, struct http_response *resp)
{
	const char *rel = http_request_param(req, "*");
	struct stat st;
	int fd;

	if (prov_tftp_root() == NULL || rel == NULL) {
		http_reply_error(resp, 404, "no boot files are served");
		return 0;
	}
	fd = pxe_bootfiles_open(prov_tftp_root(), rel);
	if (fd < 0) {
		http_reply_error(resp, errno == ENOENT ? 404 : 403, "%s: %s", rel,
		    errno == ENOENT ? "not found" : "refused");
		return 0;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		http_reply_error(resp, 403, "%s: not a file", rel);
		return 0;
	}
	http_reply_file(resp, 200, "application/octet-stream", fd, st.st_size);
	return 0;
}

/* GET /images/<name>.tar or <name>.raw.zst: a built image, with Range; its SHA-256 in the image
 * object (and the X-Checksum-Sha256 header). No login: installers fetch it. */
static int
prov_api_image_file(struct http_request *req, struct http_response *resp)
{
	const char *file = http_request_param(req, "file");
	_cleanup_free_ char *name = NULL;
	_cleanup_json_ json_t *img = NULL;
	const char *sha;
	struct stat st;
	bool raw;
	int fd;

	fd = file != NULL ? prov_image_open(file) : -1;
	if (fd < 0) {
		http_reply_error(resp, 404, "image %s: not found", file != NULL ? file : "");
		return 0;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		http_reply_error(resp, 403, "image %s: not a file", file);
		return 0;
	}
	raw = str_has_suffix(file, ".raw.zst");
	name = xstrndup(file, strlen(file) - strlen(raw ? ".raw.zst" : ".tar"));
	img = prov_resource_get(prov_resource_find("image"), name);
	http_reply_file(resp, 200, raw ? "application/zstd" : "application/x-tar", fd, st.st_size);
	if ((sha = json_string_value(json_object_get(img, "sha256"))) != NULL)
		http_reply_header(resp, "X-Checksum-Sha256", sha);
	return 0;
}

/* POST /api/v2/images/:id/build: build the image again. */
static int
prov_api_image_build(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_resource_find("image");
	_cleanup_json_ json_t *obj = NULL;
	struct dr_error err;
	int64_t id;
	int r;

	if ((id = prov_api_scoped(req, resp, res, "id")) < 0)
		return 0;
	if ((r = prov_image_rebuild(id, http_request_user(req), &err)) < 0) {
		prov_api_fail(resp, r, &err);
		return 0;
	}
	obj = prov_resource_get_id(res, id);
	http_reply_json(resp, 202, prov_resource_present(res, obj));
	return 0;
}

/* POST /unattended/discovery: the facts of an unknown machine (no login). */
static int
prov_api_discovery_facts(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *facts = NULL;
	struct dr_error err;
	size_t len = 0;
	int r;

	if (http_request_body(req, &len) != NULL && len > PROV_FACTS_MAX) {
		http_reply_error(resp, 413, "facts: larger than %d bytes", PROV_FACTS_MAX);
		return 0;
	}
	if (http_request_json(req, &facts, &err) < 0) {
		http_reply_error(resp, 400, "%s", err.msg);
		return 0;
	}
	if ((r = prov_discovery_facts(facts, http_request_remote(req), &err)) < 0) {
		prov_api_fail(resp, r, &err);
		return 0;
	}
	log_info("discovered %s at %s", json_string_value(json_object_get(facts, "mac")),
	    http_request_remote(req));
	http_reply_json(resp, 200, json_pack("{s:s}", "status", "discovered"));
	return 0;
}

/* GET /api/v2/discovered_hosts: with cpus and memory_mb lifted from the facts. */
static int
prov_api_discovered_list(struct http_request *req, struct http_response *resp)
{
	return api_list(req, resp, &prov_api_discovered, NULL, NULL);
}

/* DELETE /api/v2/discovered_hosts/:mac */
static int
prov_api_discovered_delete(struct http_request *req, struct http_response *resp)
{
	struct dr_error err;
	int r;

	if ((r = prov_discovery_delete(http_request_param(req, "mac"), http_request_user(req),
	         http_request_remote(req), &err)) < 0) {
		prov_api_fail(resp, r, &err);
		return 0;
	}
	http_reply_json(resp, 200, json_pack("{s:s}", "mac", http_request_param(req, "mac")));
	return 0;
}

/* POST /api/v2/discovered_hosts/:mac/provision {name, hostgroup?, ...}: a host, built. */
static int
prov_api_discovered_provision(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_resource_find("host");
	_cleanup_json_ json_t *body = prov_api_body(req, resp, res), *host = NULL;
	struct dr_error err;
	int64_t id;
	int r;

	if (body == NULL)
		return 0;
	if ((r = prov_discovery_provision(http_request_param(req, "mac"), body,
	         http_request_user(req), http_request_remote(req), &id, &err)) < 0) {
		prov_api_fail(resp, r, &err);
		return 0;
	}
	host = prov_resource_get_id(res, id);
	http_reply_json(resp, 201, prov_resource_present(res, host));
	return 0;
}

/* POST /api/v2/admin/pxe/setup {from?, download?, discovery?}: place the boot loaders
 * (from the installed packages, a directory of .debs or an unpacked tree) in the TFTP root
 * and build the installer, answering 200 with the state; with download true, apt-get
 * downloads the packages in a pxe_setup job: 202 with the job (Location: the job), whose
 * result is the state. discovery true makes the installer the discovery image too, false
 * removes the discovery image, absent leaves it as it is (the installer's is refreshed).
 * GET /api/v2/pxe: the root, which boot files are in it, which discovery image, TFTP
 * counters. */
static int
prov_api_pxe(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL, *state = NULL, *invalid = json_object();
	struct dr_error err;
	size_t len = 0;
	int64_t id;
	int r;

	if (prov_tftp_root() == NULL) {
		http_reply_error(resp, 409, "no TFTP root is configured");
		return 0;
	}
	if (strcmp(http_request_method(req), "POST") != 0) {
		http_reply_json(resp, 200, prov_pxe_state(NULL, NULL, 0));
		return 0;
	}
	if (http_request_body(req, &len) != NULL && len > 0 &&
	    http_request_json(req, &body, &err) < 0) {
		http_reply_error(resp, 400, "%s", err.msg);
		return 0;
	}
	if (body == NULL)
		body = json_object();
	if (prov_pxe_setup_check(body, invalid) < 0) {
		api_reply_invalid(resp, json_incref(invalid), "invalid PXE setup");
		return 0;
	}
	if (json_is_true(json_object_get(body, "download"))) {
		/* apt-get may take minutes: a job. */
		if (job_submit("pxe_setup", body, http_request_user(req), 0, &id, &err) < 0) {
			http_reply_error(resp, 500, "%s", err.msg);
			return 0;
		}
		store_audit(http_request_user(req), http_request_remote(req), "submit",
		    "pxe_setup", prov_tftp_root(), NULL, body, NULL);
		{
			_cleanup_free_ char *loc = xasprintf("/api/v2/jobs/%lld", (long long)id);

			http_reply_header(resp, "Location", loc);
		}
		http_reply_json(resp, 202, job_get(id));
		return 0;
	}
	if ((r = prov_pxe_setup(body, http_request_user(req), NULL, &state, &err)) < 0) {
		/* The operator's input (a directory, packages) is what failed: 422. */
		prov_api_fail(resp, r, &err);
		return 0;
	}
	store_audit(http_request_user(req), http_request_remote(req), "setup", "pxe",
	    prov_tftp_root(), NULL, body, NULL);
	http_reply_json(resp, 200, json_incref(state));
	return 0;
}

/* Searchable fields of discovered machines (facts the discovery image posts). */
static const struct search_field prov_api_discovered_fields[] = {
    {"mac", "prov_discovered.mac", SEARCH_TEXT, SEARCH_DEFAULT},
    {"ip", "prov_discovered.ip", SEARCH_TEXT, SEARCH_DEFAULT},
    {"cpus", "json_extract(prov_discovered.facts, '$.cpus')", SEARCH_INT},
    {"memory_mb", "json_extract(prov_discovered.facts, '$.memory_mb')", SEARCH_INT},
    {"cpu_model", "json_extract(prov_discovered.facts, '$.cpu_model')", SEARCH_TEXT},
    {"firmware", "json_extract(prov_discovered.facts, '$.firmware')", SEARCH_TEXT},
    {"secure_boot", "json_extract(prov_discovered.facts, '$.secure_boot')", SEARCH_BOOL},
    {"manufacturer", "json_extract(prov_discovered.facts, '$.manufacturer')", SEARCH_TEXT},
    {"product", "json_extract(prov_discovered.facts, '$.product')", SEARCH_TEXT},
    {"serial", "json_extract(prov_discovered.facts, '$.serial')", SEARCH_TEXT},
    {"disks", "json_array_length(prov_discovered.facts, '$.disks')", SEARCH_INT},
    {"disk_gb",
        "(SELECT sum(json_extract(d.value, '$.size_bytes')) / 1073741824"
        " FROM json_each(prov_discovered.facts, '$.disks') d)",
        SEARCH_INT},
    {"first_seen", "prov_discovered.first_seen", SEARCH_TIME},
    {"last_seen", "prov_discovered.last_seen", SEARCH_TIME},
};

static struct api_resource prov_api_discovered = {
    .name = "discovered_hosts",
    .from = "prov_discovered",
    .id_sql = "prov_discovered.rowid",
    .order = "prov_discovered.first_seen, prov_discovered.mac",
    .fields = prov_api_discovered_fields,
    .nfields = nitems(prov_api_discovered_fields),
    .json = "json_patch(json_object('mac', mac, 'facts', json(facts), 'ip', ip,"
            " 'first_seen', first_seen, 'last_seen', last_seen),"
            " json_object('cpus', facts -> '$.cpus', 'memory_mb', facts -> '$.memory_mb'))",
};

/* A host's subnets: its own and those of its interfaces. */
static const char prov_api_host_subnets[] =
    "FROM prov_subnets s WHERE (s.id = json_extract(prov_hosts.data, '$.subnet_id')"
    " OR s.id IN (SELECT json_extract(e.value, '$.subnet_id')"
    " FROM json_each(prov_hosts.data, '$.interfaces') e))";

/* The references of a host stored as indexed columns too (provisioner.c, migration 4). */
static const char *const prov_api_host_columns[] = {"hostgroup", "domain", "operatingsystem"};

/* Append a search field (strings owned by the table, which lives for the process). */
static struct search_field *
prov_api_field_add(struct search_field **fields, size_t *n, const char *name, char *sql,
    enum search_type type, unsigned flags, char *multi)
{
	*fields = xreallocarray(*fields, *n + 1, sizeof **fields);
	(*fields)[(*n)++] = (struct search_field){xstrdup(name), sql, type, flags, multi};
	return &(*fields)[*n - 1];
}

/* The SQL of reference f's stored id: an indexed column of hosts, else from the
 * document. */
static char *
prov_api_ref_id(const struct prov_resource *res, const struct prov_field *f)
{
	if (strcmp(res->name, "host") == 0)
		for (size_t i = 0; i < nitems(prov_api_host_columns); i++)
			if (strcmp(prov_api_host_columns[i], f->name) == 0)
				return xasprintf("%s.%s_id", res->table, f->name);
	return xasprintf("json_extract(%s.data, '$.%s_id')", res->table, f->name);
}

/* The searchable fields of res: id, name, times, and each field of its table as SQL over
 * the stored document; references by the name of what they refer to (and by id). */
static void
prov_api_fields_build(const struct prov_resource *res, struct api_resource *api)
{
	const char *t = res->table;
	struct search_field *fl = NULL;
	size_t n = 0, i;

	prov_api_field_add(&fl, &n, "id", xasprintf("%s.id", t), SEARCH_INT, 0, NULL);
	prov_api_field_add(
	    &fl, &n, "name", xasprintf("%s.name", t), SEARCH_TEXT, SEARCH_DEFAULT, NULL);
	prov_api_field_add(
	    &fl, &n, "created_at", xasprintf("%s.created_at", t), SEARCH_TIME, 0, NULL);
	prov_api_field_add(
	    &fl, &n, "updated_at", xasprintf("%s.updated_at", t), SEARCH_TIME, 0, NULL);
	for (i = 0; i < res->nfields; i++) {
		const struct prov_field *f = &res->fields[i];
		const struct prov_resource *ref =
		    f->arg != NULL ? prov_resource_find(f->arg) : NULL;
		_cleanup_free_ char *idname = NULL;

		if (strcmp(f->name, "name") == 0 || (f->flags & PROV_SECRET))
			continue;
		switch (f->type) {
		case PROV_STRING:
		case PROV_TEXT:
		case PROV_ENUM:
		case PROV_IP:
		case PROV_MAC:
			prov_api_field_add(&fl, &n, f->name,
			    xasprintf("json_extract(%s.data, '$.%s')", t, f->name), SEARCH_TEXT, 0,
			    NULL);
			break;
		case PROV_INT:
			prov_api_field_add(&fl, &n, f->name,
			    xasprintf("json_extract(%s.data, '$.%s')", t, f->name),
			    str_has_suffix(f->name, "_at") ? SEARCH_TIME : SEARCH_INT, 0, NULL);
			break;
		case PROV_BOOL:
			prov_api_field_add(&fl, &n, f->name,
			    xasprintf("json_extract(%s.data, '$.%s')", t, f->name), SEARCH_BOOL, 0,
			    NULL);
			break;
		case PROV_REF: {
			struct search_field *sf;

			if (ref == NULL)
				break;
			/* By name: the ids of the objects so named, looked up once. */
			sf = prov_api_field_add(&fl, &n, f->name, xstrdup("r.name"), SEARCH_TEXT,
			    0, xasprintf("FROM %s r WHERE 1", ref->table));
			sf->in_expr = prov_api_ref_id(res, f);
			sf->in_col = xstrdup("r.id");
			idname = xasprintf("%s_id", f->name);
			prov_api_field_add(
			    &fl, &n, idname, prov_api_ref_id(res, f), SEARCH_INT, 0, NULL);
			break;
		}
		case PROV_REFS:
			if (ref == NULL)
				break;
			prov_api_field_add(&fl, &n, f->name, xstrdup("r.name"), SEARCH_TEXT, 0,
			    xasprintf("FROM json_each(%s.data, '$.%s_ids') e JOIN %s r"
			              " ON r.id = e.value WHERE 1",
			        t, f->name, ref->table));
			break;
		default: /* parameters, interfaces, objects: not one value */
			break;
		}
	}
	if (strcmp(res->name, "host") == 0) {
		/* A host's NICs; its subnets are its own and its interfaces'. */
		static const char *const nic[] = {"mac", "ip"};

		for (i = 0; i < nitems(nic); i++) {
			struct search_field *sf =
			    prov_api_field_add(&fl, &n, nic[i], xasprintf("i.%s", nic[i]),
			        SEARCH_TEXT, 0, xstrdup("FROM prov_interfaces i WHERE 1"));

			sf->in_expr = xstrdup("prov_hosts.id");
			sf->in_col = xstrdup("i.host_id");
		}
		for (i = 0; i < n; i++) {
			if (strcmp(fl[i].name, "subnet") != 0)
				continue;
			free((char *)fl[i].sql);
			free((char *)fl[i].multi);
			free((char *)fl[i].in_expr);
			free((char *)fl[i].in_col);
			fl[i].sql = xstrdup("s.name");
			fl[i].multi = xstrdup(prov_api_host_subnets);
			fl[i].in_expr = fl[i].in_col = NULL;
		}
		/* The operating system it installs: its own, else the nearest hostgroup's up
		 * the chain (as prov_host_resolve() finds it). */
		prov_api_field_add(&fl, &n, "os",
		    xasprintf("(SELECT o.name FROM prov_operatingsystems o WHERE o.id ="
		              " COALESCE(json_extract(prov_hosts.data, '$.operatingsystem_id'),"
		              " (WITH RECURSIVE c(data, d) AS (SELECT g.data, 0"
		              " FROM prov_hostgroups g"
		              " WHERE g.id = json_extract(prov_hosts.data, '$.hostgroup_id')"
		              " UNION ALL SELECT p.data, c.d + 1 FROM c JOIN prov_hostgroups p"
		              " ON p.id = json_extract(c.data, '$.parent_id')"
		              " WHERE json_extract(c.data, '$.operatingsystem_id') IS NULL"
		              " AND c.d < %d)"
		              " SELECT json_extract(data, '$.operatingsystem_id') FROM c"
		              " WHERE json_extract(data, '$.operatingsystem_id') IS NOT NULL)))",
		        PROV_HOSTGROUP_DEPTH),
		    SEARCH_TEXT, 0, NULL);
		/* What jobs learnt: installed packages, applicable errata (content.c). */
		size_t nc;
		const struct search_field *cf = prov_content_host_fields(&nc);

		for (i = 0; i < nc; i++) {
			const struct search_field *c = &cf[i];

			prov_api_field_add(&fl, &n, c->name, xstrdup(c->sql), c->type, c->flags,
			    c->multi != NULL ? xstrdup(c->multi) : NULL);
		}
	}
	api->fields = fl;
	api->nfields = n;
}

/*
 * The JSON of one object of res as SQL: the stored document (less secrets) patched with
 * id, name, times, "<ref>_name" / "<refs>_names" and, for hosts, interfaces without
 * their passwords and with their subnet's name. A NULL in a json_patch() patch removes
 * the key, so a reference that is not set gets no name, as in prov_resource_present().
 * The references and interfaces come from *ret_columns: one array "prov_refs" taken
 * from the document in one parse.
 */
static char *
prov_api_json_build(const struct prov_resource *res, char **ret_columns)
{
	const char *t = res->table;
	struct buf b = BUF_INIT(0), doc = BUF_INIT(0), cols = BUF_INIT(0);
	size_t i, k = 0;
	char *out;

	buf_addf(&doc, "%s.data", t);
	for (i = 0; i < res->nfields; i++)
		if (res->fields[i].flags & PROV_SECRET) {
			char *d = buf_steal(&doc);

			buf_addf(&doc, "json_remove(%s, '$.%s')", d, res->fields[i].name);
			free(d);
		}
	buf_addf(&b,
	    "json_patch(%s, json_object('id', %s.id, 'name', %s.name, 'created_at',"
	    " %s.created_at, 'updated_at', %s.updated_at",
	    doc.data, t, t, t, t);
	for (i = 0; i < res->nfields; i++) {
		const struct prov_field *f = &res->fields[i];
		const struct prov_resource *ref =
		    f->arg != NULL ? prov_resource_find(f->arg) : NULL;

		if (f->type == PROV_REF && ref != NULL)
			buf_addf(&b,
			    ", '%s_name', (SELECT r.name FROM %s r WHERE r.id = %s.prov_refs ->> "
			    "%zu)",
			    f->name, ref->table, t, k);
		else if (f->type == PROV_REFS && ref != NULL)
			buf_addf(&b,
			    ", '%s_names', CASE WHEN json_type(%s.prov_refs, '$[%zu]') = 'array'"
			    " THEN json((SELECT json_group_array((SELECT r.name FROM %s r"
			    " WHERE r.id = e.value)) FROM json_each(%s.prov_refs, '$[%zu]') e)) "
			    "END",
			    f->name, t, k, ref->table, t, k);
		else if (f->type == PROV_INTERFACES)
			buf_addf(&b,
			    ", '%s', CASE WHEN json_type(%s.prov_refs, '$[%zu]') = 'array'"
			    " THEN json((SELECT json_group_array(json_patch(json_remove(e.value,"
			    " '$.password'), json_object('subnet_name', (SELECT s.name"
			    " FROM prov_subnets s WHERE s.id = e.value ->> 'subnet_id'))))"
			    " FROM json_each(%s.prov_refs, '$[%zu]') e)) END",
			    f->name, t, k, t, k);
		else
			continue;
		buf_addf(&cols, "%s'$.%s%s'", k == 0 ? "" : ", ", f->name,
		    f->type == PROV_REF        ? "_id"
		        : f->type == PROV_REFS ? "_ids"
		                               : "");
		k++;
	}
	buf_adds(&b, "))");
	/* With one path json_extract() gives the value, not an array: ask for it twice. */
	*ret_columns = k == 0 ? xstrdup(", NULL AS prov_refs")
	                      : xasprintf(", json_extract(%s.data, %s%s%s) AS prov_refs", t,
	                            cols.data, k == 1 ? ", " : "", k == 1 ? cols.data : "");
	out = buf_steal(&b);
	buf_free(&doc);
	buf_free(&cols);
	return out;
}

/*
 * What an object's JSON (prov_api_json_build) is made of, as one text for the lists' row
 * cache: the version of the names it shows, its times, its name (length first) and its
 * document. The tables its references point to must move that version (migration 6).
 */
static char *
prov_api_stamp_build(const struct prov_resource *res)
{
	const char *t = res->table;

	for (size_t i = 0; i < res->nfields; i++) {
		const struct prov_field *f = &res->fields[i];
		const struct prov_resource *ref =
		    f->arg != NULL ? prov_resource_find(f->arg) : NULL;
		size_t k;

		if (ref == NULL || (f->type != PROV_REF && f->type != PROV_REFS))
			continue;
		for (k = 0; prov_names_tables[k] != NULL; k++)
			if (strcmp(prov_names_tables[k], ref->table) == 0)
				break;
		if (prov_names_tables[k] == NULL)
			fatalx("%s.%s refers to %s, which has no names triggers", res->name,
			    f->name, ref->table);
	}
	return xasprintf("printf('%%d %%d %%d %%d ', (SELECT n FROM prov_names_version),"
	                 " %s.created_at, %s.updated_at, length(CAST(%s.name AS BLOB)))"
	                 " || %s.name || %s.data",
	    t, t, t, t, t);
}

/* The api_resource of every provisioning resource, registered for lists and roles. */
static void
prov_api_resources_build(void)
{
	const struct prov_resource *res;
	size_t n, i;

	if (prov_api_res != NULL)
		return;
	res = prov_resource_all(&n);
	prov_api_res = xcalloc(n, sizeof *prov_api_res);
	for (i = 0; i < n; i++) {
		struct api_resource *a = &prov_api_res[i].api;

		prov_api_res[i].res = &res[i];
		a->name = res[i].plural;
		a->from = res[i].table;
		a->id_sql = xasprintf("%s.id", res[i].table);
		a->order = xasprintf("%s.name", res[i].table);
		a->json = prov_api_json_build(&res[i], (char **)&a->json_columns);
		a->json_stamp = prov_api_stamp_build(&res[i]);
		prov_api_fields_build(&res[i], a);
	}
	prov_api_nres = n;
}

/* The api_resource that lists res (for the UI's pages). */
const struct api_resource *
provisioner_api_resource(const char *plural)
{
	const struct prov_resource *res = prov_resource_find(plural);

	prov_api_resources_build();
	return res != NULL ? prov_api_of(res) : NULL;
}

static const struct http_route prov_fixed_routes[] = {
    {"GET", "/api/v2/pxe", prov_api_pxe, 0, "pxe"},
    {"POST", "/api/v2/admin/pxe/setup", prov_api_pxe, 0, "pxe_setup"},
    {"POST", "/unattended/discovery", prov_api_discovery_facts, HTTP_PUBLIC,
        "unattended_discovery"},
    {"GET", "/api/v2/discovered_hosts", prov_api_discovered_list, HTTP_LIST, "discovered_hosts"},
    {"DELETE", "/api/v2/discovered_hosts/:mac", prov_api_discovered_delete, 0, "discovered_host"},
    {"POST", "/api/v2/discovered_hosts/:mac/provision", prov_api_discovered_provision, 0,
        "discovered_host_provision"},
    {"POST", "/api/v2/hosts/:id/build", prov_api_host_build, 0, "host_build"},
    {"PUT", "/api/v2/hosts/:id/build", prov_api_host_build, 0, "host_build"},
    {"DELETE", "/api/v2/hosts/:id/build", prov_api_host_build, 0, "host_build"},
    {"POST", "/api/v2/hosts/:id/power", prov_api_host_power, 0, "host_power"},
    {"PUT", "/api/v2/hosts/:id/power", prov_api_host_power, 0, "host_power"},
    {"GET", "/api/v2/hosts/:id/templates/:kind", prov_api_host_render, 0, "host_template"},
    {"GET", "/api/v2/hosts/:id/known_hosts", prov_api_host_known_hosts, 0, "host_known_hosts"},
    {"POST", "/unattended/built", prov_api_built, HTTP_PUBLIC, "unattended_built"},
    {"GET", "/unattended/built", prov_api_built, HTTP_PUBLIC, "unattended_built"},
    {"POST", "/unattended/failed", prov_api_failed, HTTP_PUBLIC, "unattended_failed"},
    {"GET", "/unattended/cloud-init/:token/:file", prov_api_cloud_init, HTTP_PUBLIC,
        "unattended_cloud_init"},
    {"GET", "/unattended/:kind", prov_api_unattended, HTTP_PUBLIC, "unattended"},
    {"GET", "/pxe/files/*", prov_api_pxe_file, HTTP_PUBLIC, "pxe_files"},
    {"GET", "/images/:file", prov_api_image_file, HTTP_PUBLIC, "image_files", NULL, NULL,
        "A built image (rootfs tarball) for installers, with Range"},
    {"POST", "/api/v2/images/:id/build", prov_api_image_build, 0, "image_build", NULL, NULL,
        "Build an image again (mmdebstrap job)"},
    {"GET", "/api/v2/compute_resources/:id/images", prov_api_compute_list, HTTP_LIST,
        "compute_resource_images", "compute_resources", "view",
        "Storage volumes on the hypervisor usable as compute_attributes.image"},
    {"GET", "/api/v2/compute_resources/:id/networks", prov_api_compute_list, HTTP_LIST,
        "compute_resource_networks", "compute_resources", "view",
        "Virtual networks on the hypervisor usable as compute_attributes.network"},
};

/* Install the routes: fixed ones, then five per resource from the resource table. */
void
provisioner_api_init(void)
{
	static struct http_route *routes;
	static size_t nroutes;
	const struct prov_resource *res;
	size_t n, i;

	prov_api_resources_build();
	for (i = 0; i < prov_api_nres; i++)
		api_resource_register(&prov_api_res[i].api);
	api_resource_register(&prov_api_discovered);
	prov_bulk_api_init(); /* before /api/v2/hosts/:id/build takes "bulk" for a name */
	http_routes_add(prov_fixed_routes, nitems(prov_fixed_routes));
	prov_content_api_init();
	if (routes == NULL) {
		/* Patterns and names live for the process: the table is built once. */
		res = prov_resource_all(&n);
		routes = xcalloc(n * 5, sizeof *routes);
		for (i = 0; i < n; i++) {
			char *coll = xasprintf("/api/v2/%s", res[i].plural);
			char *one = xasprintf("/api/v2/%s/:id", res[i].plural);
			routes[nroutes++] = (struct http_route){
			    "GET", coll, prov_api_list, HTTP_LIST, res[i].plural};
			routes[nroutes++] =
			    (struct http_route){"POST", coll, prov_api_create, 0, res[i].plural};
			routes[nroutes++] =
			    (struct http_route){"GET", one, prov_api_show, 0, res[i].name};
			routes[nroutes++] =
			    (struct http_route){"PUT", one, prov_api_update, 0, res[i].name};
			routes[nroutes++] =
			    (struct http_route){"DELETE", one, prov_api_delete, 0, res[i].name};
		}
	}
	http_routes_add(routes, nroutes);
}
