/*
 * ca.h - Drover's certificate authority: node identity and the service meshes' trust
 * anchor. Included by provisioner/provisioner.h; its own file so that it merges alone.
 *
 * The CA lives in the store (table ca_certificates, one row per certificate with its PEM)
 * and signs with OpenSSL's libcrypto. Every key is ECDSA P-256: Linkerd requires its
 * issuer to be P-256, every TLS stack verifies it, and P-384 buys nothing a node
 * identity needs. CA private keys (roots and intermediates) are kept in the store as
 * PKCS#8 encrypted with AES-256-CBC (PBES2) under a random key-encryption key kept apart
 * in <state_dir>/ca-kek (0600): a database backup, which admins can download through the
 * API, or a shared database server never holds a usable CA key. Host keys are never kept:
 * they are returned once, at issue time.
 *
 * Hierarchy:   root (active)  ── hosts intermediate ── host identity certificates
 *                             ── <cluster>/istio intermediate   (Istio's cacerts)
 *                             ── <cluster>/linkerd intermediate (Linkerd's issuer)
 * Intermediates have CA:TRUE, pathlen 0, keyCertSign + cRLSign.
 *
 * Rotation: ca_rotate() makes a new root the active one (it and new intermediates issue
 * from then on) and keeps the old one "previous": the trust bundle is old + new roots
 * until ca_rotate_complete() retires the old root (kept in history).
 *
 * Renewal (the job kind "ca_renew", params {"days": N}): every intermediate and host
 * certificate that expires within N days (default CA_RENEW_DAYS) and is neither revoked
 * nor already renewed gets a new certificate over the same public key (hosts keep their
 * key, the chain stays the same) with the same validity length, issued by the active
 * root's intermediate; the old row records superseded_by.
 *
 * Serials are 20 hex digits or more (upper case, no colons); functions taking a serial
 * accept any case and colons. Times are Unix seconds.
 */
#ifndef DROVER_PROVISIONER_CA_H
#define DROVER_PROVISIONER_CA_H

#include "core/core.h"

/* ca.c */

#define CA_KEK_FILE "ca-kek"
#define CA_ROOT_DAYS 3650 /* a root's validity */
#define CA_HOSTS_DAYS 1825 /* the hosts intermediate's */
#define CA_MESH_DAYS 365 /* a mesh intermediate's (Linkerd: rotate the issuer yearly) */
#define CA_LEAF_DAYS 90 /* a host certificate's, when the request says none */
#define CA_LEAF_DAYS_MAX 825 /* the CA/Browser limit most clients still enforce */
#define CA_RENEW_DAYS 30 /* ca_renew's window when its params say none */
#define CA_CRL_DAYS 7 /* a CRL's nextUpdate; rebuilt when half of that passed */
#define CA_IPS_MAX 16 /* addresses in one host certificate */
#define CA_DNS_MAX 16 /* extra DNS names in one host certificate */
#define CA_NAME_MAX 253 /* a DNS name */
#define CA_CLUSTER_MAX 63 /* a cluster name: [A-Za-z0-9._-] */
#define CA_URL_MAX 200 /* the public URL put into certificates */

/* What the functions below return on failure besides -1 (internal or store error), so
 * that the API can answer 422, 404 or 409. */
#define CA_ERR_INPUT (-2)
#define CA_ERR_NOTFOUND (-3)
#define CA_ERR_CONFLICT (-4)

/* Register the CA's table and the ca_renew job kind; before store_open. */
void ca_register(void);
/*
 * After store_open: read <state_dir>/ca-kek (creating it, 0600, when the store holds no
 * CA yet), refuse a KEK file others can read, and create the first root and its hosts
 * intermediate when there is none. Returns 1 when it created the root, 0 when it found
 * one. Fails, naming the file, when the KEK is missing or does not decrypt the active
 * root's key (the wrong file restored).
 */
int ca_init(const char *state_dir, struct dr_error *err);
/*
 * droverd's public base URL ("https://drover.example.com"; NULL or "" for none): from
 * then on, certificates name their issuer's CRL at <url>/ca/crl/<issuer key id>.crl (a
 * CRL distribution point). Call at start, before other threads use the CA.
 */
int ca_crl_url_set(const char *url, struct dr_error *err);
/*
 * After ca_init, before the scheduler starts: seed the default schedule of the ca_renew
 * job (named CA_RENEW_SCHEDULE; daily at a random minute of 01:00-04:59 in tz, e.g. the
 * server's zone; params {"days": CA_RENEW_DAYS}), once per store: an admin may disable,
 * replace or delete it and it is not made again (ca_settings remembers), and a store that
 * already has a ca_renew schedule gets none. Returns 1 with *ret_id when it made one,
 * else 0.
 */
#define CA_RENEW_SCHEDULE "ca-renew-hosts"
int ca_renew_schedule_seed(const char *tz, int64_t *ret_id, struct dr_error *err);
/* Forget the KEK (wiped from memory). */
void ca_shutdown(void);

/* A host identity certificate request. */
struct ca_host_req {
	const char *host; /* FQDN: the subject CN and the first DNS SAN */
	const char *const *dns; /* more DNS SANs */
	size_t ndns;
	const char *const *ips; /* IPv4/IPv6 SANs, textual */
	size_t nips;
	int days; /* 0 = CA_LEAF_DAYS; at most CA_LEAF_DAYS_MAX */
	const char *public_key; /* PEM SubjectPublicKeyInfo to certify, or NULL */
	const char *csr; /* or a PEM CSR (its signature is checked; only its key is used);
	                    both NULL = the CA makes the key */
};

/*
 * Issue a host identity certificate (serverAuth + clientAuth) from the active root's
 * hosts intermediate. *ret (caller frees) is the certificate's row (ca_cert_get) plus
 * "certificate" (leaf PEM), "chain" (intermediate PEM), "bundle" (trusted roots PEM) and,
 * when the CA made the key, "key" (unencrypted PKCS#8 PEM: the only copy). Errors name
 * the field ("ips[1]: '300.1.1.1' is not an IP address").
 */
int ca_host_issue(const struct ca_host_req *req, json_t **ret, struct dr_error *err);

/*
 * The valid intermediate of cluster for mesh ("istio" or "linkerd") issued by the active
 * root, created on first use. *ret (caller frees): the row, and "files" mapping each file
 * name the mesh expects to its content — istio: ca-cert.pem, ca-key.pem, root-cert.pem
 * (the trust bundle), cert-chain.pem (intermediate + its root); linkerd: issuer.crt,
 * issuer.key, ca.crt (the trust bundle). *ret_created says whether it was made now.
 */
int ca_intermediate_get(
    const char *cluster, const char *mesh, json_t **ret, bool *ret_created, struct dr_error *err);

/* The active root's PEM; caller frees. */
int ca_root_pem(char **ret, struct dr_error *err);
/* The trust bundle: the active root's PEM, then the previous root's during a rotation. */
int ca_bundle_pem(char **ret, struct dr_error *err);

/*
 * Certificates, newest first, filtered by {"kind", "host", "cluster", "state"} (each
 * optional). Rows: id, serial, kind, purpose, state (roots: active, previous, retired;
 * others: valid, renewed, revoked, expired), subject, sans (array), issuer,
 * issuer_serial, not_before, not_after, cluster, host, revoked_at, reason,
 * superseded_by, created_at. No PEM. Caller frees *ret.
 */
int ca_cert_list(const json_t *filter, json_t **ret, struct dr_error *err);
/* One certificate's row with "certificate" (PEM) and "chain" (issuers up to the root,
 * excluded), or NULL when there is none (err says so). Caller frees. */
json_t *ca_cert_get(const char *serial, struct dr_error *err);
/* Normalise a serial argument into buf (upper-case hex); -1 with err when it is not one. */
int ca_serial_parse(const char *text, char *buf, size_t size, struct dr_error *err);

/*
 * Revoke an intermediate or host certificate with an RFC 5280 reason name
 * (unspecified, keyCompromise, cACompromise, affiliationChanged, superseded,
 * cessationOfOperation, privilegeWithdrawn; NULL = unspecified) and rebuild its
 * issuer's CRL. Roots are not revoked: rotate them. *ret (may be NULL) gets the row.
 */
int ca_cert_revoke(const char *serial, const char *reason, json_t **ret, struct dr_error *err);

/*
 * Every CRL of an issuer still trusted (the roots in the bundle and their valid
 * intermediates), rebuilt when older than half of CA_CRL_DAYS. *ret_pem (caller frees)
 * is the CRLs one after another; *ret_info (may be NULL; caller frees) an array of
 * {issuer, issuer_serial, number, this_update, next_update, revoked: [{serial, revoked_at,
 * reason}]}.
 */
int ca_crl_get(char **ret_pem, json_t **ret_info, struct dr_error *err);

/* One trusted issuer's current CRL in DER, by the issuer's key identifier (the hex the
 * rows call key_id); CA_ERR_NOTFOUND when there is none. Caller frees *ret. */
int ca_crl_der(const char *key_id, unsigned char **ret, size_t *ret_len, struct dr_error *err);

/* Start a rotation: a new active root (and hosts intermediate); fails while one is
 * in progress. *ret (caller frees) = {"root": row, "previous": row}. */
int ca_rotate(json_t **ret, struct dr_error *err);
/* Finish it: the previous root is retired. Fails when no rotation is in progress. */
int ca_rotate_complete(json_t **ret, struct dr_error *err);

/*
 * Renew what expires before now + days*86400 (see above). With reissue_previous, during a
 * rotation, also move every certificate under the previous root to the active one (host
 * certificates to the new hosts intermediate; mesh intermediates keep their key), so
 * that the rotation can be completed. Calls report (may be NULL) once per renewal with
 * the old and the new row. Returns the number renewed; on the first failure -1 with err
 * naming the certificate (those renewed before it stay renewed).
 */
int ca_renew_due(int days, bool reissue_previous,
    void (*report)(void *ctx, const json_t *old, const json_t *renewed), void *ctx,
    struct dr_error *err);

/* ca_api.c */

/* Install the CA's routes: /api/v2/ca/… (viewer), /api/v2/admin/ca/… (admin), and the
 * public /ca/root.pem, /ca/bundle.pem, /ca/crl.pem and /ca/crl/<key id>.crl (DER).
 * Before http_server_start. */
void ca_api_init(void);

#endif /* DROVER_PROVISIONER_CA_H */
