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

#define PROV_PER_PAGE_DEFAULT 20
#define PROV_PER_PAGE_MAX 1000

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

/*
 * search=: "field=value" terms joined by " and " over the resource's searchable fields,
 * or a bare word matching names. Searchable fields are declared in the resource table so
 * that the search language can take this over.
 */
static int
prov_api_search(const struct prov_resource *res, const char *search, json_t *filter,
    char **ret_word, struct dr_error *err)
{
	_cleanup_free_ char *copy = NULL;
	char *term, *p, *next;

	*ret_word = NULL;
	if (search == NULL || *search == '\0')
		return 0;
	if (strlen(search) > 1024)
		return dr_error_set(err, "search: longer than 1024 bytes");
	copy = xstrdup(search);
	for (term = copy; term != NULL; term = next) {
		const struct prov_field *f;
		char *eq, *k, *v;
		char key[PROV_NAME_MAX + 8];

		next = strstr(term, " and ");
		if (next != NULL) {
			*next = '\0';
			next += 5;
		}
		p = str_trim(term);
		if ((eq = strchr(p, '=')) == NULL) {
			free(*ret_word);
			*ret_word = xstrdup(p);
			continue;
		}
		*eq = '\0';
		k = str_trim(p);
		v = str_trim(eq + 1);
		if (*v == '"' && strlen(v) >= 2 && v[strlen(v) - 1] == '"') {
			v[strlen(v) - 1] = '\0';
			v++;
		}
		f = prov_resource_field(res, k);
		if (f == NULL || !(f->flags & PROV_SEARCH))
			return dr_error_set(
			    err, "search: '%s' is not a searchable field of %s", k, res->plural);
		if (f->type == PROV_REF)
			snprintf(key, sizeof key, "%s_name", k);
		else
			str_copy(key, k, sizeof key);
		json_object_set_new(filter, key, json_string(v));
	}
	return 0;
}

/* GET /api/v2/<plural> */
static int
prov_api_list(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_api_resource(req);
	_cleanup_json_ json_t *filter = json_object(), *rows = NULL;
	_cleanup_free_ char *word = NULL;
	const char *page_s = http_request_query(req, "page");
	const char *per_s = http_request_query(req, "per_page");
	long long page = 1, per = PROV_PER_PAGE_DEFAULT;
	int64_t total = 0, subtotal = 0;
	struct dr_error err;
	int r;

	if (page_s != NULL && str_to_ll(page_s, 1, 1000000, &page) < 0) {
		http_reply_error(resp, 422, "page: expected a number from 1");
		return 0;
	}
	if (per_s != NULL && str_to_ll(per_s, 1, PROV_PER_PAGE_MAX, &per) < 0) {
		http_reply_error(
		    resp, 422, "per_page: expected a number from 1 to %d", PROV_PER_PAGE_MAX);
		return 0;
	}
	if (prov_api_search(res, http_request_query(req, "search"), filter, &word, &err) < 0) {
		http_reply_error(resp, 422, "%s", err.msg);
		return 0;
	}
	if (word != NULL) {
		/* A bare word: names containing it. Done on a full page, then cut. */
		_cleanup_json_ json_t *all = NULL;
		json_t *row, *out = json_array();
		size_t i;
		int64_t t2, s2;

		if ((r = prov_resource_list(res, filter, INT32_MAX, 0, &all, &t2, &s2, &err)) <
		    0) {
			json_decref(out);
			prov_api_fail(resp, r, &err);
			return 0;
		}
		total = t2;
		json_array_foreach(all, i, row)
		{
			if (strstr(json_string_value(json_object_get(row, "name")), word) == NULL)
				continue;
			if (subtotal >= (page - 1) * per && (long long)json_array_size(out) < per)
				json_array_append(out, row);
			subtotal++;
		}
		rows = out;
	} else if ((r = prov_resource_list(res, json_object_size(filter) > 0 ? filter : NULL,
	                (int)per, (int)((page - 1) * per), &rows, &total, &subtotal, &err)) < 0) {
		prov_api_fail(resp, r, &err);
		return 0;
	}
	http_reply_json(resp, 200,
	    json_pack("{s:I, s:I, s:I, s:I, s:s?, s:O}", "total", (json_int_t)total, "subtotal",
	        (json_int_t)subtotal, "page", (json_int_t)page, "per_page", (json_int_t)per,
	        "search", http_request_query(req, "search"), "results", rows));
	return 0;
}

/* GET /api/v2/<plural>/:id (an id or a name) */
static int
prov_api_show(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_api_resource(req);
	_cleanup_json_ json_t *obj = prov_resource_get(res, http_request_param(req, "id"));

	if (obj == NULL) {
		http_reply_error(
		    resp, 404, "no %s '%s'", res->name, http_request_param(req, "id"));
		return 0;
	}
	http_reply_json(resp, 200, prov_resource_present(res, obj));
	return 0;
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
	_cleanup_json_ json_t *body = prov_api_body(req, resp, res), *obj = NULL;
	struct dr_error err;
	int64_t id;
	int r;

	if (body == NULL)
		return 0;
	if ((r = prov_resource_update(res, http_request_param(req, "id"), body,
	         http_request_user(req), http_request_remote(req), &id, &err)) < 0) {
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
	_cleanup_json_ json_t *obj = prov_resource_get(res, http_request_param(req, "id"));
	struct dr_error err;
	int r;

	if (obj == NULL) {
		http_reply_error(
		    resp, 404, "no %s '%s'", res->name, http_request_param(req, "id"));
		return 0;
	}
	r = strcmp(res->name, "host") == 0
	    ? prov_host_delete(http_request_param(req, "id"), http_request_user(req),
	          http_request_remote(req), &err)
	    : prov_resource_delete(res, http_request_param(req, "id"), http_request_user(req),
	          http_request_remote(req), &err);
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
	const char *id = http_request_param(req, "id");
	_cleanup_json_ json_t *body = NULL, *host = NULL;
	bool build = strcmp(http_request_method(req), "DELETE") != 0, reboot = false;
	json_int_t ttl = 0;
	struct dr_error err;
	size_t len = 0;
	int r;

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
	const char *action = NULL;
	struct dr_error err;
	int64_t id;

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
	host = prov_resource_get(prov_resource_find("host"), http_request_param(req, "id"));
	if (host == NULL) {
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
	_cleanup_json_ json_t *host =
	    prov_resource_get(prov_resource_find("host"), http_request_param(req, "id"));
	_cleanup_free_ char *out = NULL;
	struct dr_error err;

	if (host == NULL) {
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
	struct dr_error err;
	int r;

	if ((r = provisioner_known_hosts(http_request_param(req, "id"), &out, &err)) < 0) {
		prov_api_fail(resp, r, &err);
		return 0;
	}
	http_reply_text(resp, 200, "text/plain; charset=utf-8", out, strlen(out));
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
	if (host == NULL && ipxe && prov_api_request_mac(req) != NULL &&
	    prov_tftp_root() != NULL) {
		/* Unknown MAC: the discovery image, when one is in the TFTP root. */
		int fd = pxe_bootfiles_open(prov_tftp_root(), "discovery/vmlinuz");
		char mac[18];

		if (fd >= 0 && prov_mac_normalise(prov_api_request_mac(req), mac) == 0) {
			close(fd);
			out = xasprintf(
			    "#!ipxe\n"
			    "kernel %s/pxe/files/discovery/vmlinuz initrd=initrd.img "
			    "console=ttyS0 drover_discovery=%s/unattended/discovery "
			    "drover_mac=%s\n"
			    "initrd --name initrd.img %s/pxe/files/discovery/initrd.img\n"
			    "boot\n",
			    prov_render_url(), prov_render_url(), mac, prov_render_url());
			http_reply_text(resp, 200, "text/plain", out, strlen(out));
			return 0;
		}
		if (fd >= 0)
			close(fd);
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
			out = xstrdup("#!ipxe\necho Drover: booting from the local disk\n"
			              "sanboot --no-describe --drive 0x80 || exit 1\n");
			http_reply_text(resp, 200, "text/plain", out, strlen(out));
			return 0;
		}
		http_reply_error(resp, 409, "host %s is not in build mode",
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
	_cleanup_json_ json_t *rows = NULL;
	struct dr_error err;
	json_t *row;
	size_t i, n;
	int r;

	if ((r = prov_discovery_list(&rows, &err)) < 0) {
		prov_api_fail(resp, r, &err);
		return 0;
	}
	json_array_foreach(rows, i, row)
	{
		json_t *f = json_object_get(row, "facts");
		json_object_set(row, "cpus", json_object_get(f, "cpus"));
		json_object_set(row, "memory_mb", json_object_get(f, "memory_mb"));
	}
	n = json_array_size(rows);
	http_reply_json(resp, 200,
	    json_pack("{s:I, s:I, s:i, s:I, s:n, s:O}", "total", (json_int_t)n, "subtotal",
	        (json_int_t)n, "page", 1, "per_page", (json_int_t)n, "search", "results", rows));
	return 0;
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

/* POST /api/v2/admin/pxe/setup: copy the installed boot loaders into the TFTP root;
 * GET /api/v2/pxe: the root, which boot files are in it, TFTP counters. */
static int
prov_api_pxe(struct http_request *req, struct http_response *resp)
{
	_cleanup_free_ char *missing = NULL;
	const struct pxe_bootfile *b;
	struct dr_error err;
	json_t *files;
	size_t n, i;
	int placed = -1;

	if (prov_tftp_root() == NULL) {
		http_reply_error(resp, 409, "no TFTP root is configured");
		return 0;
	}
	if (strcmp(http_request_method(req), "POST") == 0) {
		if ((placed = pxe_bootfiles_setup(prov_tftp_root(), &missing, &err)) < 0) {
			http_reply_error(resp, 500, "%s", err.msg);
			return 0;
		}
		store_audit(http_request_user(req), http_request_remote(req), "setup", "pxe",
		    prov_tftp_root(), NULL, NULL, NULL);
	}
	files = json_object();
	b = pxe_bootfiles(&n);
	for (i = 0; i < n; i++) {
		int fd = pxe_bootfiles_open(prov_tftp_root(), b[i].name);
		json_object_set_new(files, b[i].name,
		    json_pack("{s:b, s:s}", "present", fd >= 0, "package", b[i].package));
		if (fd >= 0)
			close(fd);
	}
	http_reply_json(resp, 200,
	    json_pack("{s:s, s:o, s:o, s:s?}", "root", prov_tftp_root(), "files", files, "tftp",
	        pxe_tftp_stats(), "missing_packages", missing));
	return 0;
}

static const struct http_route prov_fixed_routes[] = {
    {"GET", "/api/v2/pxe", prov_api_pxe, 0, "pxe"},
    {"POST", "/api/v2/admin/pxe/setup", prov_api_pxe, 0, "pxe_setup"},
    {"POST", "/unattended/discovery", prov_api_discovery_facts, HTTP_PUBLIC,
        "unattended_discovery"},
    {"GET", "/api/v2/discovered_hosts", prov_api_discovered_list, 0, "discovered_hosts"},
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
};

/* Install the routes: fixed ones, then five per resource from the resource table. */
void
provisioner_api_init(void)
{
	static struct http_route *routes;
	static size_t nroutes;
	const struct prov_resource *res;
	size_t n, i;

	http_routes_add(prov_fixed_routes, nitems(prov_fixed_routes));
	if (routes == NULL) {
		/* Patterns and names live for the process: the table is built once. */
		res = prov_resource_all(&n);
		routes = xcalloc(n * 5, sizeof *routes);
		for (i = 0; i < n; i++) {
			char *coll = xasprintf("/api/v2/%s", res[i].plural);
			char *one = xasprintf("/api/v2/%s/:id", res[i].plural);
			routes[nroutes++] =
			    (struct http_route){"GET", coll, prov_api_list, 0, res[i].plural};
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
