/* ca_api.c - the CA's REST routes and its public trust-anchor and CRL files. */
#define LOG_COMPONENT "ca"
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "provisioner/ca.h"
#include "webui/webui.h"

#define CA_API_PER_PAGE 20
#define CA_API_PER_PAGE_MAX 1000
#define CA_API_LIST_MAX 64 /* entries of dns[] / ips[] read from a body */

/* The HTTP status for a ca_*() failure. */
static int
ca_api_status(int rc)
{
	switch (rc) {
	case CA_ERR_INPUT:
		return 422;
	case CA_ERR_NOTFOUND:
		return 404;
	case CA_ERR_CONFLICT:
		return 409;
	default:
		return 500;
	}
}

/* Reply with a failure of a ca_*() call. */
static int
ca_api_fail(struct http_response *resp, int rc, const struct dr_error *err)
{
	http_reply_error(resp, ca_api_status(rc), "%s", err->msg);
	return 0;
}

/* The JSON body as an object (an empty body is {}); replies and returns -1 otherwise. */
static int
ca_api_body(struct http_request *req, struct http_response *resp, json_t **ret)
{
	struct dr_error err;
	size_t len = 0;
	json_t *body;

	http_request_body(req, &len);
	if (len == 0) {
		*ret = json_object();
		return 0;
	}
	if (http_request_json(req, &body, &err) < 0) {
		http_reply_error(resp, 400, "%s", err.msg);
		return -1;
	}
	if (!json_is_object(body)) {
		json_decref(body);
		http_reply_error(resp, 422, "request body: expected a JSON object");
		return -1;
	}
	*ret = body;
	return 0;
}

/* Record a CA write in the audit log. */
static void
ca_api_audit(struct http_request *req, const char *action, const char *resource, const char *id,
    const json_t *after)
{
	struct dr_error err;

	if (store_audit(http_request_user(req), http_request_remote(req), action, resource, id,
	        NULL, after, &err) < 0)
		log_warnx("audit %s %s %s: %s", action, resource, id != NULL ? id : "", err.msg);
}

/* GET /ca/root.pem, /ca/bundle.pem, /ca/crl.pem: public, for hosts and mesh installers. */
static int
ca_api_pem(struct http_request *req, struct http_response *resp)
{
	const char *path = http_request_path(req);
	_cleanup_free_ char *pem = NULL;
	struct dr_error err;
	int rc;

	if (str_has_suffix(path, "/root.pem"))
		rc = ca_root_pem(&pem, &err);
	else if (str_has_suffix(path, "/bundle.pem"))
		rc = ca_bundle_pem(&pem, &err);
	else
		rc = ca_crl_get(&pem, NULL, &err);
	if (rc < 0)
		return ca_api_fail(resp, rc, &err);
	http_reply_text(resp, 200, "application/x-pem-file", pem, strlen(pem));
	return 0;
}

/* GET /ca/crl/:name (public): one issuer's CRL in DER, where certificates point. */
static int
ca_api_crl_der(struct http_request *req, struct http_response *resp)
{
	const char *name = http_request_param(req, "name");
	_cleanup_free_ unsigned char *der = NULL;
	_cleanup_free_ char *key_id = NULL;
	struct dr_error err;
	size_t len = 0, n;
	int rc;

	n = strlen(name);
	if (n < 5 || n > 100 || !str_has_suffix(name, ".crl")) {
		http_reply_error(resp, 404, "no CRL '%.100s'", name);
		return 0;
	}
	key_id = xstrndup(name, n - 4);
	if ((rc = ca_crl_der(key_id, &der, &len, &err)) < 0)
		return ca_api_fail(resp, rc, &err);
	http_reply_text(resp, 200, "application/pkix-crl", (const char *)der, len);
	return 0;
}

/* GET /api/v2/ca/root: the active root (row and PEM) and the trust bundle. */
static int
ca_api_root(struct http_request *req, struct http_response *resp)
{
	_cleanup_free_ char *bundle = NULL;
	_cleanup_json_ json_t *roots = NULL, *filter = NULL;
	struct dr_error err;
	json_t *root = NULL, *row;
	size_t i;
	int rc;

	filter = json_pack("{s:s}", "kind", "root");
	if ((rc = ca_cert_list(filter, &roots, &err)) < 0 ||
	    (rc = ca_bundle_pem(&bundle, &err)) < 0)
		return ca_api_fail(resp, rc, &err);
	json_array_foreach(roots, i,
	    row) if (strcmp(json_string_value(json_object_get(row, "state")), "active") == 0)
	    root = ca_cert_get(json_string_value(json_object_get(row, "serial")), &err);
	if (root == NULL)
		return ca_api_fail(resp, -1, &err);
	json_object_set_new(root, "bundle", json_string(bundle));
	json_object_set(root, "roots", roots);
	http_reply_json(resp, 200, root);
	return 0;
}

/* GET /api/v2/ca/certificates?kind=&host=&cluster=&state=&page=&per_page= */
static int
ca_api_list(struct http_request *req, struct http_response *resp)
{
	static const char *const keys[] = {"kind", "host", "cluster", "state"};
	_cleanup_json_ json_t *filter = json_object(), *rows = NULL;
	const char *page_s = http_request_query(req, "page");
	const char *per_s = http_request_query(req, "per_page");
	long long page = 1, per = CA_API_PER_PAGE;
	json_t *slice = json_array();
	struct dr_error err;
	size_t i, total;
	int rc;

	if ((page_s != NULL && str_to_ll(page_s, 1, 1000000, &page) < 0) ||
	    (per_s != NULL && str_to_ll(per_s, 1, CA_API_PER_PAGE_MAX, &per) < 0)) {
		json_decref(slice);
		http_reply_error(resp, 422, "page, per_page: expected numbers (per_page 1..%d)",
		    CA_API_PER_PAGE_MAX);
		return 0;
	}
	for (i = 0; i < nitems(keys); i++)
		if (http_request_query(req, keys[i]) != NULL)
			json_object_set_new(
			    filter, keys[i], json_string(http_request_query(req, keys[i])));
	if ((rc = ca_cert_list(filter, &rows, &err)) < 0) {
		json_decref(slice);
		return ca_api_fail(resp, rc, &err);
	}
	total = json_array_size(rows);
	for (i = (size_t)((page - 1) * per); i < total && json_array_size(slice) < (size_t)per;
	     i++)
		json_array_append(slice, json_array_get(rows, i));
	http_reply_json(resp, 200,
	    json_pack("{s:I, s:I, s:I, s:I, s:n, s:o}", "total", (json_int_t)total, "subtotal",
	        (json_int_t)total, "page", (json_int_t)page, "per_page", (json_int_t)per, "search",
	        "results", slice));
	return 0;
}

/* GET /api/v2/ca/certificates/:serial */
static int
ca_api_show(struct http_request *req, struct http_response *resp)
{
	struct dr_error err;
	json_t *row;
	char norm[80];

	if (ca_serial_parse(http_request_param(req, "serial"), norm, sizeof norm, &err) < 0)
		return ca_api_fail(resp, CA_ERR_NOTFOUND, &err);
	if ((row = ca_cert_get(norm, &err)) == NULL)
		return ca_api_fail(
		    resp, str_has_prefix(err.msg, "no certificate") ? CA_ERR_NOTFOUND : -1, &err);
	http_reply_json(resp, 200, row);
	return 0;
}

/* GET /api/v2/ca/crl: every CRL, as PEM and read back. */
static int
ca_api_crl(struct http_request *req, struct http_response *resp)
{
	_cleanup_free_ char *pem = NULL;
	struct dr_error err;
	json_t *info = NULL;
	int rc;

	if ((rc = ca_crl_get(&pem, &info, &err)) < 0)
		return ca_api_fail(resp, rc, &err);
	http_reply_json(resp, 200, json_pack("{s:s, s:o}", "pem", pem, "crls", info));
	return 0;
}

/* A JSON array of strings from body[key] into a C array (borrowed strings); -1 replied. */
static int
ca_api_strings(struct http_response *resp, const json_t *body, const char *key, const char ***ret,
    size_t *ret_n)
{
	const json_t *a = json_object_get(body, key), *v;
	const char **list;
	size_t i;

	*ret = NULL;
	*ret_n = 0;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > CA_API_LIST_MAX) {
		http_reply_error(resp, 422, "%s: expected an array of at most %d strings", key,
		    CA_API_LIST_MAX);
		return -1;
	}
	list = xcalloc(json_array_size(a) + 1, sizeof *list);
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v)) {
			free(list);
			http_reply_error(resp, 422, "%s[%zu]: expected a string", key, i);
			return -1;
		}
		list[i] = json_string_value(v);
	}
	*ret = list;
	*ret_n = json_array_size(a);
	return 0;
}

/*
 * POST /api/v2/admin/ca/certificates {host, dns?, ips?, days?, public_key? | csr?}: issue a
 * host certificate. The private key (when the CA made it) is in this answer only.
 */
static int
ca_api_issue(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL, *after = NULL;
	struct ca_host_req r = {0};
	const char **dns = NULL, **ips = NULL;
	const char *host = NULL, *pub = NULL, *csr = NULL;
	json_int_t days = 0;
	struct dr_error err;
	json_t *cert = NULL;
	int rc;

	if (ca_api_body(req, resp, &body) < 0)
		return 0;
	if (json_unpack_ex(body, NULL, 0, "{s?:s, s?:I, s?:s, s?:s}", "host", &host, "days", &days,
	        "public_key", &pub, "csr", &csr) < 0) {
		http_reply_error(resp, 422,
		    "expected {\"host\": FQDN, \"dns\": [names], \"ips\": [addresses], "
		    "\"days\": number, \"public_key\": PEM, \"csr\": PEM}");
		return 0;
	}
	if (days < 0 || days > CA_LEAF_DAYS_MAX) {
		http_reply_error(resp, 422, "days: %lld is not within 1..%d", (long long)days,
		    CA_LEAF_DAYS_MAX);
		return 0;
	}
	if (ca_api_strings(resp, body, "dns", &dns, &r.ndns) < 0)
		return 0;
	if (ca_api_strings(resp, body, "ips", &ips, &r.nips) < 0) {
		free(dns);
		return 0;
	}
	r.host = host;
	r.dns = dns;
	r.ips = ips;
	r.days = (int)days;
	r.public_key = pub;
	r.csr = csr;
	rc = ca_host_issue(&r, &cert, &err);
	free(dns);
	free(ips);
	if (rc < 0)
		return ca_api_fail(resp, rc, &err);
	after = json_deep_copy(cert);
	json_object_del(after, "key");
	json_object_del(after, "certificate");
	json_object_del(after, "chain");
	json_object_del(after, "bundle");
	ca_api_audit(req, "issue", "certificate",
	    json_string_value(json_object_get(cert, "serial")), after);
	http_reply_header(resp, "Cache-Control", "no-store");
	http_reply_json(resp, 201, cert);
	return 0;
}

/* POST /api/v2/admin/ca/certificates/:serial/revoke {reason?} */
static int
ca_api_revoke(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL;
	const char *reason = NULL;
	struct dr_error err;
	json_t *row = NULL;
	int rc;

	if (ca_api_body(req, resp, &body) < 0)
		return 0;
	if (json_unpack_ex(body, NULL, 0, "{s?:s}", "reason", &reason) < 0) {
		http_reply_error(resp, 422, "expected {\"reason\": RFC 5280 reason name}");
		return 0;
	}
	rc = ca_cert_revoke(http_request_param(req, "serial"), reason, &row, &err);
	if (rc < 0)
		return ca_api_fail(resp,
		    rc == CA_ERR_INPUT && str_has_prefix(err.msg, "serial") ? CA_ERR_NOTFOUND : rc,
		    &err);
	ca_api_audit(
	    req, "revoke", "certificate", json_string_value(json_object_get(row, "serial")), body);
	http_reply_json(resp, 200, row);
	return 0;
}

/*
 * POST /api/v2/admin/ca/intermediates {cluster, mesh}: the cluster's mesh intermediate
 * (created on first use) with the files the mesh installs, its key included.
 */
static int
ca_api_intermediate(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL, *after = NULL;
	const char *cluster = NULL, *mesh = NULL;
	struct dr_error err;
	json_t *row = NULL;
	bool created = false;
	int rc;

	if (ca_api_body(req, resp, &body) < 0)
		return 0;
	if (json_unpack_ex(body, NULL, 0, "{s?:s, s?:s}", "cluster", &cluster, "mesh", &mesh) <
	    0) {
		http_reply_error(
		    resp, 422, "expected {\"cluster\": name, \"mesh\": \"istio\" or \"linkerd\"}");
		return 0;
	}
	if ((rc = ca_intermediate_get(cluster, mesh, &row, &created, &err)) < 0)
		return ca_api_fail(resp, rc, &err);
	after = json_deep_copy(row);
	json_object_del(after, "files");
	ca_api_audit(req, created ? "create" : "export", "ca_intermediate",
	    json_string_value(json_object_get(row, "serial")), after);
	http_reply_header(resp, "Cache-Control", "no-store");
	http_reply_json(resp, created ? 201 : 200, row);
	return 0;
}

/* POST /api/v2/admin/ca/rotate and /api/v2/admin/ca/rotate/complete */
static int
ca_api_rotate(struct http_request *req, struct http_response *resp)
{
	bool complete = str_has_suffix(http_request_path(req), "/complete");
	struct dr_error err;
	json_t *answer = NULL;
	int rc;

	rc = complete ? ca_rotate_complete(&answer, &err) : ca_rotate(&answer, &err);
	if (rc < 0)
		return ca_api_fail(resp, rc, &err);
	ca_api_audit(req, complete ? "rotate_complete" : "rotate", "ca_root",
	    json_string_value(
	        json_object_get(json_object_get(answer, complete ? "retired" : "root"), "serial")),
	    answer);
	http_reply_json(resp, complete ? 200 : 201, answer);
	return 0;
}

static const struct http_route ca_routes[] = {
    {"GET", "/ca/root.pem", ca_api_pem, HTTP_PUBLIC, "ca_root_pem"},
    {"GET", "/ca/bundle.pem", ca_api_pem, HTTP_PUBLIC, "ca_bundle_pem"},
    {"GET", "/ca/crl.pem", ca_api_pem, HTTP_PUBLIC, "ca_crl_pem"},
    {"GET", "/ca/crl/:name", ca_api_crl_der, HTTP_PUBLIC, "ca_crl_der"},
    {"GET", "/api/v2/ca/root", ca_api_root, 0, "ca_root", "ca", "view", "The root certificate"},
    {"GET", "/api/v2/ca/certificates", ca_api_list, 0, "ca_certificates", "ca", "view", "List certificates"},
    {"GET", "/api/v2/ca/certificates/:serial", ca_api_show, 0, "ca_certificate", "ca", "view", "One certificate"},
    {"GET", "/api/v2/ca/crl", ca_api_crl, 0, "ca_crl", "ca", "view", "The CRLs"},
    {"POST", "/api/v2/admin/ca/certificates", ca_api_issue, 0, "ca_issue", "ca_admin", "issue", "Issue a host certificate"},
    {"POST", "/api/v2/admin/ca/certificates/:serial/revoke", ca_api_revoke, 0, "ca_revoke", "ca_admin", "revoke", "Revoke a certificate"},
    {"POST", "/api/v2/admin/ca/intermediates", ca_api_intermediate, 0, "ca_intermediate", "ca_admin", "intermediate", "Create or export a mesh intermediate"},
    {"POST", "/api/v2/admin/ca/rotate", ca_api_rotate, 0, "ca_rotate", "ca_admin", "rotate", "Start a root rotation"},
    {"POST", "/api/v2/admin/ca/rotate/complete", ca_api_rotate, 0, "ca_rotate_complete", "ca_admin", "rotate", "Complete a root rotation"},
};

/*
 * /metrics: drover_ca_certificates{kind,state} and drover_ca_expiry_seconds{kind}, the
 * time left of the soonest-expiring certificate still in use, so that an alert fires when
 * renewal stops working rather than when a host's certificate has already expired.
 */
static void
ca_api_metrics(struct buf *out)
{
	_cleanup_json_ json_t *counts = NULL, *soonest = NULL;
	int64_t now = time(NULL);
	json_t *row;
	size_t i;

	if (store_queryf(&counts, NULL,
	        "SELECT kind, CASE WHEN state = 'valid' AND not_after <= ? THEN 'expired'"
	        " ELSE state END AS st, COUNT(*) AS n FROM ca_certificates"
	        " GROUP BY kind, st ORDER BY kind, st",
	        "[I]", (json_int_t)now) < 0 ||
	    store_queryf(&soonest, NULL,
	        "SELECT kind, MIN(not_after) AS t FROM ca_certificates"
	        " WHERE state IN ('valid', 'active') AND not_after > ? GROUP BY kind ORDER BY "
	        "kind",
	        "[I]", (json_int_t)now) < 0)
		return;
	buf_adds(out,
	    "# HELP drover_ca_certificates Certificates of droverd's CA by kind and "
	    "state.\n# TYPE drover_ca_certificates gauge\n");
	json_array_foreach(counts, i, row)
	{
		buf_adds(out, "drover_ca_certificates{kind=\"");
		metrics_label_escape(out, json_string_value(json_object_get(row, "kind")));
		buf_adds(out, "\",state=\"");
		metrics_label_escape(out, json_string_value(json_object_get(row, "st")));
		buf_addf(
		    out, "\"} %lld\n", (long long)json_integer_value(json_object_get(row, "n")));
	}
	buf_adds(out,
	    "# HELP drover_ca_expiry_seconds Seconds until the first certificate in use "
	    "of each kind expires.\n# TYPE drover_ca_expiry_seconds gauge\n");
	json_array_foreach(soonest, i, row)
	{
		buf_adds(out, "drover_ca_expiry_seconds{kind=\"");
		metrics_label_escape(out, json_string_value(json_object_get(row, "kind")));
		buf_addf(out, "\"} %lld\n",
		    (long long)(json_integer_value(json_object_get(row, "t")) - now));
	}
}

static pthread_once_t ca_api_once = PTHREAD_ONCE_INIT;

/* The collector, registered once however often the routes are installed. */
static void
ca_api_once_init(void)
{
	metrics_collector_add(ca_api_metrics);
}

/* Install the CA's routes and its metrics. */
void
ca_api_init(void)
{
	http_routes_add(ca_routes, nitems(ca_routes));
	pthread_once(&ca_api_once, ca_api_once_init);
}
