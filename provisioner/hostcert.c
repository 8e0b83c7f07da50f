/*
 * hostcert.c - a host's identity certificate, issued while it installs.
 *
 * The finish template asks for it with the build token (POST /unattended/certificate):
 * with a CSR or a public key the host made (no private key travels), or with an empty body
 * (the CA makes the key and the answer is its only copy). The names come from Drover, never
 * from the request: the FQDN and the addresses of the host's interfaces. A rebuilt host's
 * earlier certificates are revoked as superseded (their keys went with the old disk).
 * ca_renew renews the certificate before it expires; the installed host fetches the
 * current one by its FQDN from GET /ca/hosts/<fqdn>.pem (certificates are public).
 */
#define LOG_COMPONENT "provisioner"
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provisioner/ca.h"
#include "provisioner/provisioner.h"
#include "webui/webui.h"

#define PROV_HOSTCERT_BODY_MAX (16 * 1024) /* a CSR or public key in PEM */

/* The host's FQDN: its name, dot, its domain's (the resolved hostgroup chain's). */
static char *
prov_hostcert_fqdn(const json_t *resolved)
{
	const json_t *host = json_object_get(resolved, "host");
	const json_t *domain = json_object_get(resolved, "domain");
	const char *name = json_string_value(json_object_get(host, "name"));

	if (json_is_object(domain) && json_string_value(json_object_get(domain, "name")) != NULL)
		return xasprintf(
		    "%s.%s", name, json_string_value(json_object_get(domain, "name")));
	return xstrdup(name);
}

/* Revoke the host's earlier valid certificates (superseded by serial). */
static void
prov_hostcert_supersede(const char *fqdn, const char *serial)
{
	_cleanup_json_ json_t *filter = NULL, *rows = NULL;
	struct dr_error err;
	json_t *row;
	size_t i;

	filter = json_pack("{s:s, s:s, s:s}", "kind", "leaf", "host", fqdn, "state", "valid");
	if (ca_cert_list(filter, &rows, &err) < 0) {
		log_warnx("host certificate of %s: listing the earlier ones: %s", fqdn, err.msg);
		return;
	}
	json_array_foreach(rows, i, row)
	{
		const char *old = json_string_value(json_object_get(row, "serial"));

		if (old == NULL || strcmp(old, serial) == 0)
			continue;
		if (ca_cert_revoke(old, "superseded", NULL, &err) < 0)
			log_warnx("host certificate %s of %s: %s", old, fqdn, err.msg);
	}
}

/*
 * Issue host's identity certificate over key_pem (a PEM CSR or public key; NULL: the CA
 * makes the key). SANs: the FQDN and every address of the host's interfaces (BMCs
 * excluded); validity: the host's parameter host_certificate_days, else the CA's default.
 * Audited as issued to the host from remote. *ret (caller frees) as ca_host_issue.
 */
int
prov_hostcert_issue(const json_t *host, const char *key_pem, const char *remote, json_t **ret,
    struct dr_error *err)
{
	_cleanup_json_ json_t *resolved = NULL, *after = NULL;
	_cleanup_free_ char *fqdn = NULL;
	const char *ips[CA_IPS_MAX], *days_param;
	const json_t *nics, *nic, *days_json;
	struct ca_host_req req = {0};
	json_t *cert = NULL;
	size_t i, nips = 0;
	int rc;

	if (prov_host_resolve(host, &resolved, err) < 0)
		return -1;
	fqdn = prov_hostcert_fqdn(resolved);
	nics = json_object_get(host, "interfaces");
	json_array_foreach(nics, i, nic)
	{
		const char *ip = json_string_value(json_object_get(nic, "ip"));
		const char *type = json_string_value(json_object_get(nic, "type"));

		if (ip == NULL || *ip == '\0' || (type != NULL && strcmp(type, "bmc") == 0))
			continue;
		if (nips == CA_IPS_MAX)
			break;
		ips[nips++] = ip;
	}
	req.host = fqdn;
	req.ips = ips;
	req.nips = nips;
	days_json =
	    json_object_get(json_object_get(resolved, "parameters"), "host_certificate_days");
	if (json_is_integer(days_json))
		req.days = (int)json_integer_value(days_json);
	else if ((days_param = json_string_value(days_json)) != NULL)
		req.days = atoi(days_param) > 0 ? atoi(days_param) : -1;
	if (key_pem != NULL && strstr(key_pem, "-----BEGIN CERTIFICATE REQUEST-----") != NULL)
		req.csr = key_pem;
	else if (key_pem != NULL && strstr(key_pem, "-----BEGIN PUBLIC KEY-----") != NULL)
		req.public_key = key_pem;
	else if (key_pem != NULL)
		return dr_error_set(err,
		           "request body: expected a PEM certificate request or "
		           "public key, or nothing"),
		       CA_ERR_INPUT;
	if ((rc = ca_host_issue(&req, &cert, err)) < 0)
		return rc;
	prov_hostcert_supersede(fqdn, json_string_value(json_object_get(cert, "serial")));
	after = json_deep_copy(cert);
	json_object_del(after, "key");
	json_object_del(after, "certificate");
	json_object_del(after, "chain");
	json_object_del(after, "bundle");
	json_object_set(after, "host_id", json_object_get(host, "id"));
	if (store_audit(json_string_value(json_object_get(host, "name")), remote, "issue",
	        "certificate", json_string_value(json_object_get(cert, "serial")), NULL, after,
	        err) < 0)
		log_warnx("audit host certificate of %s: %s", fqdn, err->msg);
	*ret = cert;
	return 0;
}

/* The host of an unattended call by its build token, in build mode; replies otherwise. */
static json_t *
prov_hostcert_token_host(struct http_request *req, struct http_response *resp)
{
	const char *token = http_request_query(req, "token");
	json_t *host = token != NULL ? prov_host_find_token(token, time(NULL)) : NULL;

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

/*
 * POST /unattended/certificate?token=T with a PEM CSR or public key (or nothing): the
 * certificate, its chain and, when the CA made the key, the key, one PEM file
 * (application/x-pem-file); ?format=json gives ca_host_issue's object instead.
 */
static int
prov_hostcert_api_issue(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *host = prov_hostcert_token_host(req, resp), *cert = NULL;
	_cleanup_free_ char *body = NULL, *pem = NULL;
	const char *format = http_request_query(req, "format"), *data, *key;
	struct dr_error err;
	size_t len = 0;
	int rc;

	if (host == NULL)
		return 0;
	data = http_request_body(req, &len);
	if (len > PROV_HOSTCERT_BODY_MAX) {
		http_reply_error(
		    resp, 413, "request body: larger than %d bytes", PROV_HOSTCERT_BODY_MAX);
		return 0;
	}
	if (len > 0 && (data == NULL || memchr(data, '\0', len) != NULL)) {
		http_reply_error(resp, 422, "request body: not PEM text");
		return 0;
	}
	if (len > 0 && strspn(data, " \t\r\n") < len)
		body = xstrndup(data, len);
	rc = prov_hostcert_issue(host, body, http_request_remote(req), &cert, &err);
	if (rc < 0) {
		http_reply_error(resp, rc == CA_ERR_INPUT ? 422 : 500, "%s", err.msg);
		return 0;
	}
	log_info("host %s: identity certificate %s issued",
	    json_string_value(json_object_get(host, "name")),
	    json_string_value(json_object_get(cert, "serial")));
	http_reply_header(resp, "Cache-Control", "no-store");
	http_reply_header(
	    resp, "X-Drover-Serial", json_string_value(json_object_get(cert, "serial")));
	if (format != NULL && strcmp(format, "json") == 0) {
		http_reply_json(resp, 201, json_incref(cert));
		return 0;
	}
	key = json_string_value(json_object_get(cert, "key"));
	pem = xasprintf("%s%s%s", json_string_value(json_object_get(cert, "certificate")),
	    json_string_value(json_object_get(cert, "chain")), key != NULL ? key : "");
	http_reply_text(resp, 201, "application/x-pem-file", pem, strlen(pem));
	return 0;
}

/* GET /ca/hosts/<fqdn>.pem: the host's current certificate (the newest valid one, so the
 * renewed one after ca_renew) with its chain; public, as certificates are. */
static int
prov_hostcert_api_current(struct http_request *req, struct http_response *resp)
{
	const char *name = http_request_param(req, "name");
	_cleanup_json_ json_t *filter = NULL, *rows = NULL, *cert = NULL;
	_cleanup_free_ char *fqdn = NULL, *pem = NULL;
	struct dr_error err;
	size_t n = strlen(name), i;

	if (n < 5 || n > CA_NAME_MAX + 4 || !str_has_suffix(name, ".pem")) {
		http_reply_error(resp, 404, "no host certificate '%.100s'", name);
		return 0;
	}
	fqdn = xstrndup(name, n - 4);
	for (i = 0; fqdn[i] != '\0'; i++)
		if (fqdn[i] >= 'A' && fqdn[i] <= 'Z')
			fqdn[i] = (char)(fqdn[i] - 'A' + 'a');
	filter = json_pack("{s:s, s:s, s:s}", "kind", "leaf", "host", fqdn, "state", "valid");
	if (ca_cert_list(filter, &rows, &err) < 0) {
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	if (json_array_size(rows) == 0) {
		http_reply_error(resp, 404, "no valid certificate for host '%.253s'", fqdn);
		return 0;
	}
	cert = ca_cert_get(
	    json_string_value(json_object_get(json_array_get(rows, 0), "serial")), &err);
	if (cert == NULL) {
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	pem = xasprintf("%s%s", json_string_value(json_object_get(cert, "certificate")),
	    json_string_value(json_object_get(cert, "chain")));
	http_reply_header(
	    resp, "X-Drover-Serial", json_string_value(json_object_get(cert, "serial")));
	http_reply_text(resp, 200, "application/x-pem-file", pem, strlen(pem));
	return 0;
}

static const struct http_route prov_hostcert_routes[] = {
    {"POST", "/unattended/certificate", prov_hostcert_api_issue, HTTP_PUBLIC,
        "unattended_certificate", NULL, NULL,
        "The installing host's identity certificate (build token)"},
    {"GET", "/ca/hosts/:name", prov_hostcert_api_current, HTTP_PUBLIC, "ca_host_current", NULL,
        NULL, "A host's current identity certificate with its chain"},
};

/* Install the host-certificate routes; before http_server_start. */
void
prov_hostcert_api_init(void)
{
	http_routes_add(prov_hostcert_routes, nitems(prov_hostcert_routes));
}
