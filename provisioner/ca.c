/* ca.c - the certificate authority: roots, intermediates, host identities, CRLs, rotation. */
#define LOG_COMPONENT "ca"
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "provisioner/ca.h"

#define CA_KEK_BYTES 32
#define CA_SERIAL_BYTES 16
#define CA_SERIAL_MAX 64 /* hex digits we accept in a serial argument */
#define CA_SKEW 300 /* not_before is this far in the past, for clocks behind ours */
#define CA_PEM_MAX (64 << 10) /* a public key handed in */
#define CA_DAY 86400

static const struct store_migration ca_migrations[] = {
    {"ca", 1,
        "CREATE TABLE ca_certificates ("
        " id INTEGER PRIMARY KEY,"
        " serial TEXT NOT NULL UNIQUE,"
        " kind TEXT NOT NULL," /* root, intermediate, leaf */
        " purpose TEXT NOT NULL," /* root, hosts, istio, linkerd, host */
        " state TEXT NOT NULL," /* active/previous/retired; valid/renewed/revoked */
        " subject TEXT NOT NULL,"
        " sans TEXT NOT NULL," /* JSON array: "DNS:x", "IP:y" */
        " issuer TEXT NOT NULL,"
        " issuer_serial TEXT," /* NULL for roots */
        " root_serial TEXT NOT NULL,"
        " key_id TEXT NOT NULL," /* subjectKeyIdentifier, hex */
        " issuer_key_id TEXT NOT NULL,"
        " not_before INTEGER NOT NULL,"
        " not_after INTEGER NOT NULL,"
        " cluster TEXT,"
        " host TEXT,"
        " revoked_at INTEGER,"
        " reason TEXT,"
        " superseded_by TEXT,"
        " created_at INTEGER NOT NULL,"
        " cert_pem TEXT NOT NULL,"
        " key_pem TEXT);" /* encrypted PKCS#8, CA certificates only */
        "CREATE INDEX ca_certificates_issuer ON ca_certificates(issuer_key_id);"
        "CREATE INDEX ca_certificates_due ON ca_certificates(state, not_after);"
        "CREATE INDEX ca_certificates_host ON ca_certificates(host);"
        "CREATE TABLE ca_crls ("
        " key_id TEXT PRIMARY KEY,"
        " issuer_serial TEXT NOT NULL,"
        " number INTEGER NOT NULL,"
        " this_update INTEGER NOT NULL,"
        " next_update INTEGER NOT NULL,"
        " stale INTEGER NOT NULL,"
        " pem TEXT NOT NULL);"},
    /* What droverd decided once and must remember: "renew_schedule" (the default
     * ca_renew schedule was seeded, or one was found; an admin's deletion sticks). */
    {"ca", 2,
        "CREATE TABLE ca_settings ("
        " key TEXT PRIMARY KEY,"
        " value TEXT NOT NULL,"
        " updated_at INTEGER NOT NULL);"},
};

/* The columns a listing shows: everything but the PEM texts. */
#define CA_COLUMNS                                                                                \
	"id, serial, kind, purpose, state, subject, sans AS sans_json, issuer, "                  \
	"issuer_serial, root_serial, key_id, issuer_key_id, not_before, not_after, cluster, "     \
	"host, revoked_at, reason, superseded_by, created_at"

/* RFC 5280 CRLReason names and codes (certificateHold and removeFromCRL are not offered:
 * a revocation here is final). */
static const struct ca_reason {
	const char *name;
	int code;
} ca_reasons[] = {
    {"unspecified", 0},
    {"keyCompromise", 1},
    {"cACompromise", 2},
    {"affiliationChanged", 3},
    {"superseded", 4},
    {"cessationOfOperation", 5},
    {"privilegeWithdrawn", 9},
};

/* What each mesh's intermediate looks like. */
static const struct ca_mesh {
	const char *name;
	const char *cn; /* the subject CN */
	bool cn_cluster; /* followed by " <cluster>" */
	const char *san; /* extra subjectAltName, or NULL */
} ca_meshes[] = {
    {"istio", "Istio Intermediate CA", true, "DNS:istiod.istio-system.svc"},
    {"linkerd", "identity.linkerd.cluster.local", false, NULL},
};

/* The key-encryption key, as the hex text used as the PKCS#8 passphrase. Set once by
 * ca_init before any thread uses the CA; read-only afterwards. */
static char ca_kek[CA_KEK_BYTES * 2 + 1];
/* droverd's public base URL without a trailing '/', or "": set once at start. */
static char ca_crl_url[CA_URL_MAX + 1];

/* A CA that signs: its certificate, its decrypted key and its row. */
struct ca_signer {
	X509 *cert;
	EVP_PKEY *key;
	json_t *row;
};

static int ca_renew_run(struct job *job, struct dr_error *err);

static const struct job_kind ca_renew_kind = {"ca_renew", ca_renew_run, 600};

/* Register the CA's tables and the ca_renew job kind; before store_open. */
void
ca_register(void)
{
	store_register(ca_migrations, nitems(ca_migrations));
	job_kind_register(&ca_renew_kind);
}

/* Fill err with msg and the first OpenSSL error on this thread's queue, then clear it. */
static int
ca_ssl_error(struct dr_error *err, const char *msg)
{
	unsigned long e = ERR_get_error();
	char text[256];

	ERR_clear_error();
	if (e == 0)
		return dr_error_set(err, "%s", msg);
	ERR_error_string_n(e, text, sizeof text);
	return dr_error_set(err, "%s: %s", msg, text);
}

/* Release what a signer holds; an empty one is fine. */
static void
ca_signer_free(struct ca_signer *s)
{
	X509_free(s->cert);
	EVP_PKEY_free(s->key);
	json_decref(s->row);
	memset(s, 0, sizeof *s);
}

/* The text a memory BIO holds; caller frees. */
static char *
ca_bio_text(BIO *bio)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);

	return xstrndup(data != NULL ? data : "", n > 0 ? (size_t)n : 0);
}

/* A certificate as PEM; caller frees. */
static char *
ca_cert_to_pem(X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;

	if (bio == NULL || !PEM_write_bio_X509(bio, x))
		fatalx("PEM_write_bio_X509 failed");
	pem = ca_bio_text(bio);
	BIO_free(bio);
	return pem;
}

/* The first certificate in a PEM text, or NULL. */
static X509 *
ca_cert_from_pem(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x;

	if (bio == NULL)
		return NULL;
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return x;
}

/* A private key as PKCS#8 PEM, encrypted under the KEK when encrypt. Caller frees. */
static char *
ca_key_to_pem(EVP_PKEY *key, bool encrypt)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	int ok;

	if (bio == NULL)
		fatalx("BIO_new failed");
	if (encrypt)
		ok = PEM_write_bio_PKCS8PrivateKey(
		    bio, key, EVP_aes_256_cbc(), ca_kek, (int)strlen(ca_kek), NULL, NULL);
	else
		ok = PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
	if (!ok)
		fatalx("PEM_write_bio_PKCS8PrivateKey failed");
	pem = ca_bio_text(bio);
	BIO_free(bio);
	return pem;
}

/*
 * Decrypt a stored key with passphrase. The passphrase is always given (u != NULL with
 * a NULL callback), so OpenSSL never falls back to prompting on a terminal.
 */
static EVP_PKEY *
ca_key_decrypt(const char *pem, const char *passphrase)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key;

	if (bio == NULL)
		return NULL;
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)passphrase);
	BIO_free(bio);
	if (key == NULL)
		ERR_clear_error();
	return key;
}

/* A fresh ECDSA P-256 key. */
static EVP_PKEY *
ca_key_new(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");

	if (key == NULL)
		fatalx("EVP_EC_gen(P-256) failed");
	return key;
}

/* Lower-case hex of bytes; caller frees. */
static char *
ca_hex(const unsigned char *p, size_t n)
{
	static const char d[] = "0123456789abcdef";
	char *s = xmalloc(n * 2 + 1);
	size_t i;

	for (i = 0; i < n; i++) {
		s[2 * i] = d[p[i] >> 4];
		s[2 * i + 1] = d[p[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

/* Normalise a serial argument: hex digits (any case, colons allowed) to upper case. */
int
ca_serial_parse(const char *text, char *buf, size_t size, struct dr_error *err)
{
	size_t n = 0;
	const char *p;

	if (text == NULL || *text == '\0')
		return dr_error_set(err, "serial: missing");
	for (p = text; *p != '\0'; p++) {
		if (*p == ':')
			continue;
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		        (*p >= 'A' && *p <= 'F')) ||
		    n + 1 >= size || n >= CA_SERIAL_MAX)
			return dr_error_set(err, "serial '%.80s': expected hex digits", text);
		buf[n++] = (char)(*p >= 'a' ? *p - 'a' + 'A' : *p);
	}
	if (n == 0)
		return dr_error_set(err, "serial '%.80s': expected hex digits", text);
	buf[n] = '\0';
	return 0;
}

/* A name as RFC 2253 text ("CN=x,O=Drover"); caller frees. */
static char *
ca_name_text(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *s;

	if (bio == NULL)
		fatalx("BIO_new failed");
	X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
	s = ca_bio_text(bio);
	BIO_free(bio);
	return s;
}

/* The subjectAltNames of x as ["DNS:a", "IP:b"]. */
static json_t *
ca_sans(X509 *x)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	json_t *a = json_array();
	char addr[INET6_ADDRSTRLEN];
	int i;

	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *s;

		if (g->type == GEN_DNS) {
			s = g->d.dNSName;
			json_array_append_new(a,
			    json_sprintf("DNS:%.*s", ASN1_STRING_length(s),
			        (const char *)ASN1_STRING_get0_data(s)));
		} else if (g->type == GEN_IPADD) {
			s = g->d.iPAddress;
			int len = ASN1_STRING_length(s);
			if ((len == 4 || len == 16) &&
			    inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s),
			        addr, sizeof addr) != NULL)
				json_array_append_new(a, json_sprintf("IP:%s", addr));
		}
	}
	GENERAL_NAMES_free(gens);
	return a;
}

/* Hex of an ASN1 key identifier; "" when absent. Caller frees. */
static char *
ca_key_id_text(const ASN1_OCTET_STRING *id)
{
	if (id == NULL)
		return xstrdup("");
	return ca_hex(ASN1_STRING_get0_data(id), (size_t)ASN1_STRING_length(id));
}

/* The serial of x as upper-case hex; caller frees. */
static char *
ca_serial_text(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex, *s;

	if (bn == NULL || (hex = BN_bn2hex(bn)) == NULL)
		fatalx("serial to hex failed");
	s = xstrdup(hex);
	OPENSSL_free(hex);
	BN_free(bn);
	return s;
}

/* An ASN1_TIME as Unix seconds. */
static int64_t
ca_asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (!ASN1_TIME_to_tm(t, &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

/* Add one extension given in OpenSSL's configuration syntax ("critical,CA:TRUE"). */
static int
ca_ext_add(X509 *x, X509V3_CTX *ctx, int nid, const char *value, struct dr_error *err)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok;

	if (ext == NULL)
		return ca_ssl_error(err, "certificate extension");
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (!ok)
		return ca_ssl_error(err, "certificate extension");
	return 0;
}

/* What to put in a new certificate. */
struct ca_tbs {
	const char *kind; /* root, intermediate, leaf */
	X509_NAME *subject; /* borrowed */
	EVP_PKEY *public_key; /* borrowed */
	const char *san; /* subjectAltName in config syntax, or NULL */
	int64_t not_before, not_after;
	const struct ca_signer *issuer; /* NULL: self-signed with self_key */
	EVP_PKEY *self_key;
};

/*
 * Build and sign a certificate. Roots: CA:TRUE, keyCertSign + cRLSign. Intermediates:
 * CA:TRUE with pathlen 0 (they sign only end entities), keyCertSign + cRLSign +
 * digitalSignature. Leaves: CA:FALSE, digitalSignature + keyEncipherment, serverAuth +
 * clientAuth. Every certificate carries subject and authority key identifiers, which is
 * what CRLs and chains are matched by across renewals (same key, same identifier).
 */
static int
ca_cert_sign(const struct ca_tbs *t, X509 **ret, struct dr_error *err)
{
	unsigned char raw[CA_SERIAL_BYTES];
	X509 *x = X509_new();
	X509V3_CTX ctx;
	BIGNUM *bn = NULL;
	bool root = strcmp(t->kind, "root") == 0, leaf = strcmp(t->kind, "leaf") == 0;

	if (x == NULL)
		fatalx("X509_new failed");
	if (RAND_bytes(raw, sizeof raw) != 1)
		fatalx("RAND_bytes failed");
	/* Positive, and always 16 bytes long. */
	raw[0] = (unsigned char)((raw[0] & 0x7f) | 0x40);
	if ((bn = BN_bin2bn(raw, sizeof raw, NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		fatalx("serial number failed");
	BN_free(bn);
	if (!X509_set_version(x, X509_VERSION_3) || !X509_set_subject_name(x, t->subject) ||
	    !X509_set_issuer_name(
	        x, t->issuer != NULL ? X509_get_subject_name(t->issuer->cert) : t->subject) ||
	    !X509_set_pubkey(x, t->public_key) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)t->not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)t->not_after) == NULL) {
		X509_free(x);
		return ca_ssl_error(err, "certificate fields");
	}
	X509V3_set_ctx(&ctx, t->issuer != NULL ? t->issuer->cert : x, x, NULL, NULL, 0);
	if (ca_ext_add(x, &ctx, NID_basic_constraints,
	        root       ? "critical,CA:TRUE"
	            : leaf ? "critical,CA:FALSE"
	                   : "critical,CA:TRUE,pathlen:0",
	        err) < 0 ||
	    ca_ext_add(x, &ctx, NID_key_usage,
	        root       ? "critical,keyCertSign,cRLSign"
	            : leaf ? "critical,digitalSignature,keyEncipherment"
	                   : "critical,digitalSignature,keyCertSign,cRLSign",
	        err) < 0 ||
	    (leaf && ca_ext_add(x, &ctx, NID_ext_key_usage, "serverAuth,clientAuth", err) < 0) ||
	    ca_ext_add(x, &ctx, NID_subject_key_identifier, "hash", err) < 0 ||
	    ca_ext_add(x, &ctx, NID_authority_key_identifier, "keyid:always", err) < 0 ||
	    (t->san != NULL && ca_ext_add(x, &ctx, NID_subject_alt_name, t->san, err) < 0)) {
		X509_free(x);
		return -1;
	}
	/* Where relying parties fetch the issuer's CRL, once droverd's public URL is known. */
	if (t->issuer != NULL && ca_crl_url[0] != '\0') {
		_cleanup_free_ char *cdp = xasprintf("URI:%s/ca/crl/%s.crl", ca_crl_url,
		    json_string_value(json_object_get(t->issuer->row, "key_id")));
		if (ca_ext_add(x, &ctx, NID_crl_distribution_points, cdp, err) < 0) {
			X509_free(x);
			return -1;
		}
	}
	if (X509_sign(x, t->issuer != NULL ? t->issuer->key : t->self_key, EVP_sha256()) <= 0) {
		X509_free(x);
		return ca_ssl_error(err, "signing the certificate");
	}
	*ret = x;
	return 0;
}

/* A subject "O=Drover, [OU=ou,] CN=cn"; caller frees with X509_NAME_free. */
static X509_NAME *
ca_subject(const char *ou, const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	if (n == NULL ||
	    !X509_NAME_add_entry_by_txt(
	        n, "O", MBSTRING_UTF8, (const unsigned char *)"Drover", -1, -1, 0) ||
	    (ou != NULL &&
	        !X509_NAME_add_entry_by_txt(
	            n, "OU", MBSTRING_UTF8, (const unsigned char *)ou, -1, -1, 0)) ||
	    !X509_NAME_add_entry_by_txt(
	        n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0))
		fatalx("X509_NAME failed");
	return n;
}

/* Where a new row belongs. */
struct ca_row {
	const char *kind, *purpose, *state;
	const char *cluster, *host; /* may be NULL */
	const char *key_pem; /* encrypted; NULL for leaves */
	const json_t *issuer_row; /* NULL for roots */
};

/* Insert x as a row; everything the row says about the certificate is read from x. */
static int
ca_row_insert(X509 *x, const struct ca_row *r, char **ret_serial, struct dr_error *err)
{
	_cleanup_free_ char *serial = ca_serial_text(x), *pem = ca_cert_to_pem(x);
	_cleanup_free_ char *subject = ca_name_text(X509_get_subject_name(x));
	_cleanup_free_ char *issuer = ca_name_text(X509_get_issuer_name(x));
	_cleanup_free_ char *kid = ca_key_id_text(X509_get0_subject_key_id(x));
	_cleanup_free_ char *akid = ca_key_id_text(X509_get0_authority_key_id(x));
	_cleanup_json_ json_t *sans = ca_sans(x);
	_cleanup_free_ char *sans_text = json_dumps(sans, JSON_COMPACT);
	const char *root_serial = r->issuer_row != NULL
	    ? json_string_value(json_object_get(r->issuer_row, "root_serial"))
	    : serial;

	if (store_execf(NULL, NULL, err,
	        "INSERT INTO ca_certificates (serial, kind, purpose, state, subject, sans, issuer,"
	        " issuer_serial, root_serial, key_id, issuer_key_id, not_before, not_after,"
	        " cluster, host, created_at, cert_pem, key_pem)"
	        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	        "[sssssssOsssIIs?s?Iss?]", serial, r->kind, r->purpose, r->state, subject,
	        sans_text, issuer,
	        r->issuer_row != NULL ? json_object_get(r->issuer_row, "serial") : json_null(),
	        root_serial, kid, akid, (json_int_t)ca_asn1_time(X509_get0_notBefore(x)),
	        (json_int_t)ca_asn1_time(X509_get0_notAfter(x)), r->cluster, r->host,
	        (json_int_t)time(NULL), pem, r->key_pem) < 0)
		return -1;
	if (ret_serial != NULL)
		*ret_serial = TAKE_PTR(serial);
	return 0;
}

/* A row with its PEM texts (cert_pem, key_pem), or NULL (err cleared when none). */
static json_t *
ca_row_full(const char *serial, struct dr_error *err)
{
	return store_query_one(err,
	    "SELECT " CA_COLUMNS ", cert_pem, key_pem"
	    " FROM ca_certificates WHERE serial = ?",
	    "[s]", serial);
}

/* Load a CA row's certificate and decrypt its key. */
static int
ca_signer_load(json_t *row, struct ca_signer *ret, struct dr_error *err)
{
	const char *serial = json_string_value(json_object_get(row, "serial"));
	const char *key_pem = json_string_value(json_object_get(row, "key_pem"));
	struct ca_signer s = {0};

	s.row = row;
	s.cert = ca_cert_from_pem(json_string_value(json_object_get(row, "cert_pem")));
	if (s.cert == NULL) {
		ERR_clear_error();
		dr_error_set(err, "CA certificate %s: the stored PEM does not parse", serial);
		ca_signer_free(&s);
		return -1;
	}
	if (key_pem == NULL || (s.key = ca_key_decrypt(key_pem, ca_kek)) == NULL) {
		dr_error_set(err,
		    "CA certificate %s: its key does not decrypt with the key-encryption key "
		    "(%s): the wrong " CA_KEK_FILE " file?",
		    serial, key_pem == NULL ? "no key stored" : "bad decrypt");
		ca_signer_free(&s);
		return -1;
	}
	*ret = s;
	return 0;
}

/* The active root's row with PEM texts, or NULL with err set. */
static json_t *
ca_root_row(struct dr_error *err)
{
	json_t *row = store_query_one(err,
	    "SELECT " CA_COLUMNS ", cert_pem, key_pem FROM ca_certificates"
	    " WHERE kind = 'root' AND state = 'active' ORDER BY id DESC LIMIT 1",
	    NULL);

	if (row == NULL && err != NULL && err->msg[0] == '\0')
		dr_error_set(err, "the CA has no active root");
	return row;
}

/* The number the next root gets in its name. */
static int64_t
ca_root_generation(void)
{
	_cleanup_json_ json_t *row = store_query_one(
	    NULL, "SELECT COUNT(*) AS n FROM ca_certificates WHERE kind = 'root'", NULL);

	return json_integer_value(json_object_get(row, "n")) + 1;
}

/* Create a root (self-signed) in the given state; inside the caller's transaction. */
static int
ca_root_create(const char *state, char **ret_serial, struct dr_error *err)
{
	int64_t now = time(NULL), gen = ca_root_generation();
	_cleanup_free_ char *cn = xasprintf("Drover Root CA %lld", (long long)gen);
	_cleanup_free_ char *key_pem = NULL;
	EVP_PKEY *key = ca_key_new();
	X509_NAME *subject = ca_subject(NULL, cn);
	struct ca_tbs t = {
	    .kind = "root",
	    .subject = subject,
	    .public_key = key,
	    .not_before = now - CA_SKEW,
	    .not_after = now + (int64_t)CA_ROOT_DAYS * CA_DAY,
	    .self_key = key,
	};
	struct ca_row r = {.kind = "root", .purpose = "root", .state = state};
	X509 *x = NULL;
	int rc;

	rc = ca_cert_sign(&t, &x, err);
	if (rc == 0) {
		key_pem = ca_key_to_pem(key, true);
		r.key_pem = key_pem;
		rc = ca_row_insert(x, &r, ret_serial, err);
	}
	X509_free(x);
	X509_NAME_free(subject);
	EVP_PKEY_free(key);
	return rc;
}

/* The mesh entry called name, or NULL. */
static const struct ca_mesh *
ca_mesh_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < nitems(ca_meshes); i++)
		if (strcmp(ca_meshes[i].name, name) == 0)
			return &ca_meshes[i];
	return NULL;
}

/* Days that remain of an issuer; a child never outlives its issuer. */
static int64_t
ca_clamp_not_after(const struct ca_signer *issuer, int64_t not_after)
{
	int64_t limit = json_integer_value(json_object_get(issuer->row, "not_after"));

	return not_after < limit ? not_after : limit;
}

/*
 * Create an intermediate (purpose hosts, istio or linkerd) under root with a new key;
 * inside the caller's transaction.
 */
static int
ca_intermediate_create(const struct ca_signer *root, const char *purpose, const char *cluster,
    char **ret_serial, struct dr_error *err)
{
	const struct ca_mesh *mesh = ca_mesh_find(purpose);
	char gen[128] = "";
	int64_t now = time(NULL);
	_cleanup_free_ char *cn = NULL, *key_pem = NULL;
	EVP_PKEY *key = ca_key_new();
	X509_NAME *subject;
	X509 *x = NULL;
	int rc;

	/* The hosts CA is named after its root's generation ("Drover Root CA 2"). */
	if (mesh == NULL) {
		X509_NAME_get_text_by_NID(
		    X509_get_subject_name(root->cert), NID_commonName, gen, sizeof gen);
		const char *num = strrchr(gen, ' ');
		cn = xasprintf("Drover Hosts CA %s", num != NULL ? num + 1 : "1");
	} else {
		cn = xasprintf("%s%s%s", mesh->cn, mesh->cn_cluster ? " " : "",
		    mesh->cn_cluster ? cluster : "");
	}
	subject = ca_subject(cluster, cn);
	struct ca_tbs t = {
	    .kind = "intermediate",
	    .subject = subject,
	    .public_key = key,
	    .san = mesh != NULL ? mesh->san : NULL,
	    .not_before = now - CA_SKEW,
	    .not_after = ca_clamp_not_after(
	        root, now + (int64_t)(mesh != NULL ? CA_MESH_DAYS : CA_HOSTS_DAYS) * CA_DAY),
	    .issuer = root,
	};
	struct ca_row r = {.kind = "intermediate",
	    .purpose = purpose,
	    .state = "valid",
	    .cluster = cluster,
	    .issuer_row = root->row};

	rc = ca_cert_sign(&t, &x, err);
	if (rc == 0) {
		key_pem = ca_key_to_pem(key, true);
		r.key_pem = key_pem;
		rc = ca_row_insert(x, &r, ret_serial, err);
	}
	X509_free(x);
	X509_NAME_free(subject);
	EVP_PKEY_free(key);
	return rc;
}

/* The valid intermediate of purpose/cluster under the active root, or NULL. */
static json_t *
ca_intermediate_find(
    const char *purpose, const char *cluster, const char *root_serial, struct dr_error *err)
{
	int64_t now = time(NULL);

	if (cluster == NULL)
		return store_query_one(err,
		    "SELECT " CA_COLUMNS ", cert_pem, key_pem FROM ca_certificates"
		    " WHERE kind = 'intermediate' AND purpose = ? AND cluster IS NULL"
		    " AND root_serial = ? AND state = 'valid' AND not_after > ?"
		    " ORDER BY not_after DESC LIMIT 1",
		    "[ssI]", purpose, root_serial, (json_int_t)now);
	return store_query_one(err,
	    "SELECT " CA_COLUMNS ", cert_pem, key_pem FROM ca_certificates"
	    " WHERE kind = 'intermediate' AND purpose = ? AND cluster = ?"
	    " AND root_serial = ? AND state = 'valid' AND not_after > ?"
	    " ORDER BY not_after DESC LIMIT 1",
	    "[sssI]", purpose, cluster, root_serial, (json_int_t)now);
}

/*
 * The signer for purpose/cluster under the active root, creating the intermediate when
 * there is no valid one (first use, or the last one was revoked or expired). *ret_created
 * (may be NULL) says which.
 */
static int
ca_issuer_get(const char *purpose, const char *cluster, struct ca_signer *ret, bool *ret_created,
    struct dr_error *err)
{
	struct ca_signer root = {0};
	_cleanup_free_ char *serial = NULL;
	json_t *row, *root_row;
	bool created = false;

	/* The common case, without the write lock: the intermediate exists. */
	if ((root_row = ca_root_row(err)) == NULL)
		return -1;
	row = ca_intermediate_find(
	    purpose, cluster, json_string_value(json_object_get(root_row, "serial")), err);
	json_decref(root_row);
	if (row != NULL) {
		if (ret_created != NULL)
			*ret_created = false;
		return ca_signer_load(row, ret, err);
	}
	/* One transaction, so that two requests never make two intermediates at once. */
	if (store_begin(err) < 0)
		return -1;
	if ((root_row = ca_root_row(err)) == NULL || ca_signer_load(root_row, &root, err) < 0)
		goto fail;
	row = ca_intermediate_find(
	    purpose, cluster, json_string_value(json_object_get(root.row, "serial")), err);
	if (row == NULL && err != NULL && err->msg[0] != '\0')
		goto fail;
	if (row == NULL) {
		if (ca_intermediate_create(&root, purpose, cluster, &serial, err) < 0)
			goto fail;
		row = ca_row_full(serial, err);
		if (row == NULL)
			goto fail;
		created = true;
	}
	if (store_commit(err) < 0) {
		json_decref(row);
		goto fail;
	}
	ca_signer_free(&root);
	if (ret_created != NULL)
		*ret_created = created;
	return ca_signer_load(row, ret, err);
fail:
	store_rollback();
	ca_signer_free(&root);
	return -1;
}

/* Read the KEK file, refusing one that others can read or that is not 64 hex digits. */
static int
ca_kek_read(const char *path, struct dr_error *err)
{
	_cleanup_free_ char *text = NULL;
	struct stat st;
	size_t len, i;
	char *k;

	if (stat(path, &st) < 0)
		return dr_error_errno(err, "%s", path);
	if ((st.st_mode & 077) != 0)
		return dr_error_set(err,
		    "%s: mode %03o lets other users read the CA's key-encryption key; "
		    "chmod 600 it",
		    path, (unsigned)(st.st_mode & 0777));
	if (file_read(path, 4096, &text, &len, err) < 0)
		return -1;
	k = str_trim(text);
	if (strlen(k) != CA_KEK_BYTES * 2)
		return dr_error_set(err, "%s: expected %d hex digits", path, CA_KEK_BYTES * 2);
	for (i = 0; k[i] != '\0'; i++)
		if (!((k[i] >= '0' && k[i] <= '9') || (k[i] >= 'a' && k[i] <= 'f')))
			return dr_error_set(
			    err, "%s: expected %d lower-case hex digits", path, CA_KEK_BYTES * 2);
	str_copy(ca_kek, k, sizeof ca_kek);
	OPENSSL_cleanse(text, len);
	return 0;
}

/* Make a new KEK file (never replacing one: O_EXCL). */
static int
ca_kek_create(const char *path, struct dr_error *err)
{
	unsigned char raw[CA_KEK_BYTES];
	_cleanup_free_ char *hex = NULL;
	size_t len;
	int fd;

	if (RAND_bytes(raw, sizeof raw) != 1)
		return ca_ssl_error(err, "random key-encryption key");
	hex = ca_hex(raw, sizeof raw);
	OPENSSL_cleanse(raw, sizeof raw);
	len = strlen(hex);
	hex[len] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return dr_error_errno(err, "%s", path);
	if (write(fd, hex, len + 1) != (ssize_t)(len + 1) || fsync(fd) < 0) {
		dr_error_errno(err, "%s", path);
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	hex[len] = '\0';
	str_copy(ca_kek, hex, sizeof ca_kek);
	OPENSSL_cleanse(hex, len);
	return 0;
}

/* Read or create the KEK, create the first root, check the KEK opens the active root. */
int
ca_init(const char *state_dir, struct dr_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/" CA_KEK_FILE, state_dir);
	_cleanup_free_ char *serial = NULL;
	_cleanup_json_ json_t *any = NULL;
	struct ca_signer root = {0};
	struct dr_error qerr;
	json_t *row;
	struct dr_error ignored; /* when the caller passes no err: we still need to know */

	if (err == NULL)
		err = &ignored;
	any = store_query_one(&qerr,
	    "SELECT serial FROM ca_certificates WHERE kind = 'root'"
	    " ORDER BY id LIMIT 1",
	    NULL);
	if (any == NULL && qerr.msg[0] != '\0')
		return dr_error_set(err, "%s", qerr.msg);
	if (access(path, F_OK) == 0) {
		if (ca_kek_read(path, err) < 0)
			return -1;
	} else if (any != NULL) {
		return dr_error_set(err,
		    "%s is missing, but the store holds CA keys encrypted under it: restore the "
		    "file from the backup of the state directory",
		    path);
	} else if (ca_kek_create(path, err) < 0) {
		return -1;
	}

	if ((row = ca_root_row(&qerr)) != NULL) {
		if (ca_signer_load(row, &root, err) < 0)
			return dr_error_prefix(err, "%s: ", path);
		ca_signer_free(&root);
		return 0;
	}
	if (qerr.msg[0] != '\0' && strcmp(qerr.msg, "the CA has no active root") != 0)
		return dr_error_set(err, "%s", qerr.msg);
	if (store_begin(err) < 0)
		return -1;
	if (ca_root_create("active", &serial, err) < 0 || (row = ca_root_row(err)) == NULL ||
	    ca_signer_load(row, &root, err) < 0 ||
	    ca_intermediate_create(&root, "hosts", NULL, NULL, err) < 0 ||
	    store_audit("droverd", NULL, "create", "ca_root", serial, NULL, NULL, err) < 0 ||
	    store_commit(err) < 0) {
		store_rollback();
		ca_signer_free(&root);
		return -1;
	}
	ca_signer_free(&root);
	return 1;
}

/* The base URL put into CRL distribution points; checked so that it cannot smuggle more
 * names into OpenSSL's configuration syntax. */
int
ca_crl_url_set(const char *url, struct dr_error *err)
{
	size_t n, i;

	if (url == NULL || *url == '\0') {
		ca_crl_url[0] = '\0';
		return 0;
	}
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n > CA_URL_MAX || !(str_has_prefix(url, "http://") || str_has_prefix(url, "https://")))
		return dr_error_set(err,
		           "url '%.100s': expected http:// or https:// and at most %d "
		           "characters, to name the CRLs in certificates",
		           url, CA_URL_MAX),
		       CA_ERR_INPUT;
	for (i = 0; i < n; i++)
		if (url[i] <= ' ' || url[i] == ',' || url[i] == 0x7f ||
		    (unsigned char)url[i] > 0x7f)
			return dr_error_set(err,
			           "url '%.100s': a character that cannot go into a "
			           "certificate's CRL distribution point",
			           url),
			       CA_ERR_INPUT;
	memcpy(ca_crl_url, url, n);
	ca_crl_url[n] = '\0';
	return 0;
}

/* Forget the KEK. */
void
ca_shutdown(void)
{
	OPENSSL_cleanse(ca_kek, sizeof ca_kek);
}

/* A DNS name: LDH labels of 1..63 characters, no leading or trailing hyphen. */
static bool
ca_dns_name_ok(const char *s)
{
	size_t label = 0, total = 0;
	const char *p;

	if (s == NULL || *s == '\0' || *s == '.')
		return false;
	for (p = s; *p != '\0'; p++, total++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		        (*p >= '0' && *p <= '9') || (*p == '-' && label > 0)))
			return false;
		if (++label > 63)
			return false;
	}
	return total <= CA_NAME_MAX && p[-1] != '-' && p[-1] != '.';
}

/* Validate and normalise an IP address into buf. */
static bool
ca_ip_ok(const char *s, char *buf, size_t size)
{
	unsigned char addr[16];

	if (s != NULL && inet_pton(AF_INET, s, addr) == 1)
		return inet_ntop(AF_INET, addr, buf, (socklen_t)size) != NULL;
	if (s != NULL && inet_pton(AF_INET6, s, addr) == 1)
		return inet_ntop(AF_INET6, addr, buf, (socklen_t)size) != NULL;
	return false;
}

/* A cluster name: 1..CA_CLUSTER_MAX of [A-Za-z0-9._-], not starting with '.' or '-'. */
static bool
ca_cluster_ok(const char *s)
{
	size_t n;

	if (s == NULL || *s == '\0' || *s == '.' || *s == '-')
		return false;
	for (n = 0; s[n] != '\0'; n++)
		if (n >= CA_CLUSTER_MAX ||
		    !((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		        (s[n] >= '0' && s[n] <= '9') || s[n] == '.' || s[n] == '_' || s[n] == '-'))
			return false;
	return true;
}

/*
 * A public key handed in, as a PEM public key or as a CSR (PKCS#10) whose signature must
 * verify, which proves that the requester holds the private key. Only the key is taken
 * from a CSR: names come from the request, never from the CSR's extensions. Accepted:
 * EC P-256/P-384, RSA of 2048 bits or more, Ed25519.
 */
static int
ca_public_key_parse(const char *pem, bool csr, EVP_PKEY **ret, struct dr_error *err)
{
	const char *field = csr ? "csr" : "public_key";
	X509_REQ *req = NULL;
	EVP_PKEY *key = NULL;
	char group[64];
	BIO *bio;
	int ok;

	if (strlen(pem) > CA_PEM_MAX)
		return dr_error_set(err, "%s: longer than %d bytes", field, CA_PEM_MAX);
	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL)
		fatalx("BIO_new_mem_buf failed");
	if (csr) {
		req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
		key = req != NULL ? X509_REQ_get_pubkey(req) : NULL;
	} else {
		key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	}
	BIO_free(bio);
	if (key == NULL) {
		ERR_clear_error();
		X509_REQ_free(req);
		return dr_error_set(err, "%s: not a PEM %s", field,
		    csr ? "certificate request (BEGIN CERTIFICATE REQUEST)"
		        : "public key (BEGIN PUBLIC KEY)");
	}
	if (csr) {
		ok = X509_REQ_verify(req, key) == 1;
		X509_REQ_free(req);
		if (!ok) {
			ERR_clear_error();
			EVP_PKEY_free(key);
			return dr_error_set(err, "csr: its signature does not verify");
		}
	}
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_EC:
		ok = EVP_PKEY_get_group_name(key, group, sizeof group, NULL) &&
		    (strcmp(group, "prime256v1") == 0 || strcmp(group, "secp384r1") == 0);
		break;
	case EVP_PKEY_RSA:
		ok = EVP_PKEY_get_bits(key) >= 2048;
		break;
	case EVP_PKEY_ED25519:
		ok = 1;
		break;
	default:
		ok = 0;
	}
	if (!ok) {
		EVP_PKEY_free(key);
		return dr_error_set(err,
		    "%s: the key is not EC P-256/P-384, RSA of 2048 bits or more, or Ed25519",
		    field);
	}
	*ret = key;
	return 0;
}

/* A subjectAltName in configuration syntax from ["DNS:a", "IP:b"]; caller frees. */
static char *
ca_san_text(const json_t *sans)
{
	struct buf b = BUF_INIT(0);
	const json_t *v;
	size_t i;

	json_array_foreach(sans, i, v)
	    buf_addf(&b, "%s%s", i > 0 ? "," : "", json_string_value(v));
	return buf_steal(&b);
}

/* PEM of the certificate whose subject key is key_id, preferring a valid one; caller frees.
 * *ret_kind and *ret_issuer_key_id (caller frees) say where to go next. */
static char *
ca_issuer_pem(const char *key_id, bool *ret_root, char **ret_next)
{
	_cleanup_json_ json_t *row = store_query_one(NULL,
	    "SELECT kind, cert_pem, issuer_key_id FROM ca_certificates"
	    " WHERE key_id = ? AND kind <> 'leaf'"
	    " ORDER BY CASE WHEN state IN ('valid', 'active', 'previous') THEN 0 ELSE 1 END,"
	    " not_after DESC LIMIT 1",
	    "[s]", key_id);

	if (row == NULL)
		return NULL;
	*ret_root = strcmp(json_string_value(json_object_get(row, "kind")), "root") == 0;
	*ret_next = xstrdup(json_string_value(json_object_get(row, "issuer_key_id")));
	return xstrdup(json_string_value(json_object_get(row, "cert_pem")));
}

/* The chain above a certificate, root excluded: what a server sends after its own. */
static char *
ca_chain_pem(const json_t *row)
{
	_cleanup_free_ char *next = NULL;
	struct buf b = BUF_INIT(0);
	bool root = strcmp(json_string_value(json_object_get(row, "kind")), "root") == 0;
	int depth;

	next = xstrdup(json_string_value(json_object_get(row, "issuer_key_id")));
	for (depth = 0; !root && depth < 4; depth++) {
		char *n = NULL, *pem = ca_issuer_pem(next, &root, &n);
		if (pem == NULL)
			break;
		if (!root)
			buf_adds(&b, pem);
		free(pem);
		free(next);
		next = n;
	}
	return buf_steal(&b);
}

/* Say "expired" for a valid certificate past its not_after, and drop internal columns. */
static void
ca_row_present(json_t *row, int64_t now)
{
	const char *state = json_string_value(json_object_get(row, "state"));

	if (state != NULL && strcmp(state, "valid") == 0 &&
	    json_integer_value(json_object_get(row, "not_after")) <= now)
		json_object_set_new(row, "state", json_string("expired"));
	json_object_del(row, "key_pem");
}

/* A JSON string of s, which is freed. */
static json_t *
ca_json_take(char *s)
{
	json_t *v = json_string(s);

	free(s);
	return v;
}

/* One certificate with its PEM and chain. */
json_t *
ca_cert_get(const char *serial, struct dr_error *err)
{
	char norm[CA_SERIAL_MAX + 1];
	json_t *row;
	struct dr_error ignored; /* when the caller passes no err: we still need to know */

	if (err == NULL)
		err = &ignored;
	if (ca_serial_parse(serial, norm, sizeof norm, err) < 0)
		return NULL;
	if ((row = ca_row_full(norm, err)) == NULL) {
		if (err == NULL || err->msg[0] == '\0')
			dr_error_set(err, "no certificate with serial %s", norm);
		return NULL;
	}
	json_object_set(row, "certificate", json_object_get(row, "cert_pem"));
	json_object_del(row, "cert_pem");
	json_object_set_new(row, "chain", ca_json_take(ca_chain_pem(row)));
	ca_row_present(row, time(NULL));
	return row;
}

/* The active root's PEM. */
int
ca_root_pem(char **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *row = ca_root_row(err);

	if (row == NULL)
		return -1;
	*ret = xstrdup(json_string_value(json_object_get(row, "cert_pem")));
	return 0;
}

/* The trust bundle: active root first, then the previous one during a rotation. */
int
ca_bundle_pem(char **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *rows = NULL;
	struct buf b = BUF_INIT(0);
	json_t *row;
	size_t i;

	if (store_queryf(&rows, err,
	        "SELECT cert_pem FROM ca_certificates WHERE kind = 'root'"
	        " AND state IN ('active', 'previous')"
	        " ORDER BY CASE state WHEN 'active' THEN 0 ELSE 1 END, id DESC",
	        NULL) < 0)
		return -1;
	if (json_array_size(rows) == 0)
		return dr_error_set(err, "the CA has no active root");
	json_array_foreach(rows, i, row)
	    buf_adds(&b, json_string_value(json_object_get(row, "cert_pem")));
	*ret = buf_steal(&b);
	return 0;
}

/* Issue a host identity certificate. */
int
ca_host_issue(const struct ca_host_req *req, json_t **ret, struct dr_error *err)
{
	int64_t now = time(NULL), days = req->days != 0 ? req->days : CA_LEAF_DAYS;
	_cleanup_free_ char *host = NULL, *san = NULL, *serial = NULL, *bundle = NULL;
	struct ca_signer issuer = {0};
	struct buf sanb = BUF_INIT(0);
	EVP_PKEY *key = NULL, *pub = NULL;
	X509_NAME *subject = NULL;
	char addr[INET6_ADDRSTRLEN];
	X509 *x = NULL;
	json_t *row = NULL;
	size_t i;
	char *p;
	int rc = CA_ERR_INPUT;
	struct dr_error ignored; /* when the caller passes no err: we still need to know */

	if (err == NULL)
		err = &ignored;
	if (req->host == NULL || *req->host == '\0')
		return dr_error_set(err, "host: missing (the host's FQDN)"), CA_ERR_INPUT;
	if (!ca_dns_name_ok(req->host))
		return dr_error_set(err, "host: '%.300s' is not a DNS name", req->host),
		       CA_ERR_INPUT;
	if (days < 1 || days > CA_LEAF_DAYS_MAX)
		return dr_error_set(err, "days: %lld is not within 1..%d", (long long)days,
		           CA_LEAF_DAYS_MAX),
		       CA_ERR_INPUT;
	if (req->ndns > CA_DNS_MAX || req->nips > CA_IPS_MAX)
		return dr_error_set(err, "%s: at most %d", req->ndns > CA_DNS_MAX ? "dns" : "ips",
		           req->ndns > CA_DNS_MAX ? CA_DNS_MAX : CA_IPS_MAX),
		       CA_ERR_INPUT;
	host = xstrdup(req->host);
	for (p = host; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	buf_addf(&sanb, "DNS:%s", host);
	for (i = 0; i < req->ndns; i++) {
		if (!ca_dns_name_ok(req->dns[i])) {
			buf_free(&sanb);
			return dr_error_set(err, "dns[%zu]: '%.300s' is not a DNS name", i,
			           req->dns[i] != NULL ? req->dns[i] : ""),
			       CA_ERR_INPUT;
		}
		buf_addf(&sanb, ",DNS:%s", req->dns[i]);
	}
	for (i = 0; i < req->nips; i++) {
		if (!ca_ip_ok(req->ips[i], addr, sizeof addr)) {
			buf_free(&sanb);
			return dr_error_set(err, "ips[%zu]: '%.100s' is not an IP address", i,
			           req->ips[i] != NULL ? req->ips[i] : ""),
			       CA_ERR_INPUT;
		}
		buf_addf(&sanb, ",IP:%s", addr);
	}
	san = buf_steal(&sanb);
	if (req->public_key != NULL && req->csr != NULL)
		return dr_error_set(err, "public_key, csr: give one of them, not both"),
		       CA_ERR_INPUT;
	if (req->public_key != NULL || req->csr != NULL) {
		if (ca_public_key_parse(req->csr != NULL ? req->csr : req->public_key,
		        req->csr != NULL, &pub, err) < 0)
			return CA_ERR_INPUT;
	} else {
		key = ca_key_new();
	}

	rc = -1;
	if (ca_issuer_get("hosts", NULL, &issuer, NULL, err) < 0)
		goto out;
	subject = ca_subject(NULL, host);
	struct ca_tbs t = {
	    .kind = "leaf",
	    .subject = subject,
	    .public_key = pub != NULL ? pub : key,
	    .san = san,
	    .not_before = now - CA_SKEW,
	    .not_after = ca_clamp_not_after(&issuer, now + days * CA_DAY),
	    .issuer = &issuer,
	};
	struct ca_row r = {.kind = "leaf",
	    .purpose = "host",
	    .state = "valid",
	    .host = host,
	    .issuer_row = issuer.row};
	if (ca_cert_sign(&t, &x, err) < 0 || ca_row_insert(x, &r, &serial, err) < 0 ||
	    (row = ca_cert_get(serial, err)) == NULL || ca_bundle_pem(&bundle, err) < 0)
		goto out;
	json_object_set_new(row, "bundle", json_string(bundle));
	if (key != NULL)
		json_object_set_new(row, "key", ca_json_take(ca_key_to_pem(key, false)));
	*ret = TAKE_PTR(row);
	rc = 0;
out:
	json_decref(row);
	X509_free(x);
	X509_NAME_free(subject);
	EVP_PKEY_free(key);
	EVP_PKEY_free(pub);
	ca_signer_free(&issuer);
	return rc;
}

/* The mesh intermediate of a cluster and the files the mesh expects. */
int
ca_intermediate_get(
    const char *cluster, const char *mesh, json_t **ret, bool *ret_created, struct dr_error *err)
{
	_cleanup_free_ char *bundle = NULL, *key = NULL, *chain = NULL;
	struct ca_signer s = {0};
	_cleanup_json_ json_t *root = NULL;
	const char *cert;
	json_t *row, *files;
	bool created = false;
	struct dr_error ignored; /* when the caller passes no err: we still need to know */

	if (err == NULL)
		err = &ignored;
	if (!ca_cluster_ok(cluster))
		return dr_error_set(err,
		           "cluster: '%.100s' is not a cluster name (1..%d of A-Z a-z 0-9 . _ -)",
		           cluster != NULL ? cluster : "", CA_CLUSTER_MAX),
		       CA_ERR_INPUT;
	if (ca_mesh_find(mesh) == NULL)
		return dr_error_set(err, "mesh: '%.100s' is not one of istio, linkerd",
		           mesh != NULL ? mesh : ""),
		       CA_ERR_INPUT;
	if (ca_issuer_get(mesh, cluster, &s, &created, err) < 0)
		return -1;
	root = store_query_one(err, "SELECT cert_pem FROM ca_certificates WHERE serial = ?", "[s]",
	    json_string_value(json_object_get(s.row, "root_serial")));
	if (root == NULL || ca_bundle_pem(&bundle, err) < 0) {
		ca_signer_free(&s);
		return -1;
	}
	cert = json_string_value(json_object_get(s.row, "cert_pem"));
	key = ca_key_to_pem(s.key, false);
	chain = xasprintf("%s%s", cert, json_string_value(json_object_get(root, "cert_pem")));
	if (strcmp(mesh, "istio") == 0)
		files = json_pack("{s:s, s:s, s:s, s:s}", "ca-cert.pem", cert, "ca-key.pem", key,
		    "root-cert.pem", bundle, "cert-chain.pem", chain);
	else
		files = json_pack(
		    "{s:s, s:s, s:s}", "issuer.crt", cert, "issuer.key", key, "ca.crt", bundle);
	row = json_deep_copy(s.row);
	ca_row_present(row, time(NULL));
	json_object_del(row, "cert_pem");
	json_object_set_new(row, "files", files);
	OPENSSL_cleanse(key, strlen(key));
	ca_signer_free(&s);
	if (ret_created != NULL)
		*ret_created = created;
	*ret = row;
	return 0;
}

/* Certificates, newest first. */
int
ca_cert_list(const json_t *filter, json_t **ret, struct dr_error *err)
{
	static const char *const keys[] = {"kind", "host", "cluster", "state"};
	json_t *params = json_array(), *rows = NULL, *row;
	struct buf sql = BUF_INIT(0);
	int64_t now = time(NULL);
	size_t i;
	int rc;

	buf_adds(&sql, "SELECT " CA_COLUMNS " FROM ca_certificates WHERE 1 = 1");
	for (i = 0; i < nitems(keys); i++) {
		const json_t *v = json_object_get(filter, keys[i]);
		if (v == NULL)
			continue;
		if (!json_is_string(v)) {
			json_decref(params);
			buf_free(&sql);
			return dr_error_set(err, "%s: expected a string", keys[i]), CA_ERR_INPUT;
		}
		if (strcmp(keys[i], "state") == 0 &&
		    strcmp(json_string_value(v), "expired") == 0) {
			buf_addf(&sql, " AND state = 'valid' AND not_after <= ?");
			json_array_append_new(params, json_integer(now));
		} else if (strcmp(keys[i], "state") == 0 &&
		    strcmp(json_string_value(v), "valid") == 0) {
			buf_addf(&sql, " AND state = 'valid' AND not_after > ?");
			json_array_append_new(params, json_integer(now));
		} else {
			buf_addf(&sql, " AND %s = ?", keys[i]);
			json_array_append(params, (json_t *)v);
		}
	}
	buf_adds(&sql, " ORDER BY id DESC");
	rc = store_query(sql.data, params, &rows, err);
	buf_free(&sql);
	json_decref(params);
	if (rc < 0)
		return -1;
	json_array_foreach(rows, i, row) ca_row_present(row, now);
	*ret = rows;
	return 0;
}

/* The CRLReason code of a name, -1 if unknown. */
static int
ca_reason_code(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(ca_reasons); i++)
		if (strcmp(ca_reasons[i].name, name) == 0)
			return ca_reasons[i].code;
	return -1;
}

/* Revoke a certificate and rebuild its issuer's CRL. */
int
ca_cert_revoke(const char *serial, const char *reason, json_t **ret, struct dr_error *err)
{
	char norm[CA_SERIAL_MAX + 1];
	_cleanup_json_ json_t *row = NULL;
	_cleanup_free_ char *crl = NULL;
	const char *state;
	int64_t changes = 0;
	struct dr_error ignored; /* when the caller passes no err: we still need to know */

	if (err == NULL)
		err = &ignored;
	if (reason == NULL)
		reason = "unspecified";
	if (ca_serial_parse(serial, norm, sizeof norm, err) < 0)
		return CA_ERR_INPUT;
	if (ca_reason_code(reason) < 0)
		return dr_error_set(err,
		           "reason: '%.60s' is not one of unspecified, keyCompromise, "
		           "cACompromise, "
		           "affiliationChanged, superseded, cessationOfOperation, "
		           "privilegeWithdrawn",
		           reason),
		       CA_ERR_INPUT;
	if (store_begin(err) < 0)
		return -1;
	if ((row = ca_row_full(norm, err)) == NULL) {
		store_rollback();
		if (err != NULL && err->msg[0] != '\0')
			return -1;
		return dr_error_set(err, "no certificate with serial %s", norm), CA_ERR_NOTFOUND;
	}
	state = json_string_value(json_object_get(row, "state"));
	if (strcmp(json_string_value(json_object_get(row, "kind")), "root") == 0) {
		store_rollback();
		return dr_error_set(err,
		           "certificate %s is a root: roots are not revoked but rotated "
		           "(drover ca rotate)",
		           norm),
		       CA_ERR_CONFLICT;
	}
	if (strcmp(state, "revoked") == 0) {
		store_rollback();
		return dr_error_set(err, "certificate %s is already revoked", norm),
		       CA_ERR_CONFLICT;
	}
	if (store_execf(&changes, NULL, err,
	        "UPDATE ca_certificates SET state = 'revoked', revoked_at = ?, reason = ?"
	        " WHERE serial = ? AND state <> 'revoked'",
	        "[Iss]", (json_int_t)time(NULL), reason, norm) < 0 ||
	    store_execf(NULL, NULL, err, "UPDATE ca_crls SET stale = 1 WHERE key_id = ?", "[s]",
	        json_string_value(json_object_get(row, "issuer_key_id"))) < 0 ||
	    store_commit(err) < 0) {
		store_rollback();
		return -1;
	}
	/* The CRL is rebuilt now, so that it lists the serial before the call returns. */
	if (ca_crl_get(&crl, NULL, err) < 0)
		return -1;
	if (ret != NULL)
		*ret = ca_cert_get(norm, err);
	return 0;
}

/* Build and sign the CRL of one issuer. */
static int
ca_crl_build(
    const struct ca_signer *s, int64_t number, int64_t now, char **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *rows = NULL;
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	X509_EXTENSION *ext = NULL;
	X509V3_CTX ctx;
	BIO *bio = NULL;
	json_t *row;
	size_t i;
	int rc = -1;

	if (crl == NULL || t == NULL || num == NULL)
		fatalx("X509_CRL_new failed");
	if (store_queryf(&rows, err,
	        "SELECT serial, revoked_at, reason FROM ca_certificates"
	        " WHERE issuer_key_id = ? AND state = 'revoked' AND not_after > ?"
	        " ORDER BY revoked_at",
	        "[sI]", json_string_value(json_object_get(s->row, "key_id")), (json_int_t)now) < 0)
		goto out;
	if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(s->cert)) ||
	    ASN1_TIME_set(t, (time_t)now) == NULL || !X509_CRL_set1_lastUpdate(crl, t) ||
	    ASN1_TIME_set(t, (time_t)(now + (int64_t)CA_CRL_DAYS * CA_DAY)) == NULL ||
	    !X509_CRL_set1_nextUpdate(crl, t)) {
		ca_ssl_error(err, "CRL fields");
		goto out;
	}
	json_array_foreach(rows, i, row)
	{
		X509_REVOKED *rev = X509_REVOKED_new();
		ASN1_ENUMERATED *code = ASN1_ENUMERATED_new();
		BIGNUM *bn = NULL;
		ASN1_INTEGER *sn = NULL;

		if (rev == NULL || code == NULL ||
		    !BN_hex2bn(&bn, json_string_value(json_object_get(row, "serial"))) ||
		    (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
		    !X509_REVOKED_set_serialNumber(rev, sn) ||
		    ASN1_TIME_set(t,
		        (time_t)json_integer_value(json_object_get(row, "revoked_at"))) == NULL ||
		    !X509_REVOKED_set_revocationDate(rev, t) ||
		    !ASN1_ENUMERATED_set(
		        code, ca_reason_code(json_string_value(json_object_get(row, "reason")))) ||
		    !X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, code, 0, 0) ||
		    !X509_CRL_add0_revoked(crl, rev)) {
			X509_REVOKED_free(rev);
			rev = NULL;
		}
		ASN1_ENUMERATED_free(code);
		ASN1_INTEGER_free(sn);
		BN_free(bn);
		if (rev == NULL) {
			ca_ssl_error(err, "CRL entry");
			goto out;
		}
	}
	X509_CRL_sort(crl);
	X509V3_set_ctx(&ctx, s->cert, NULL, NULL, crl, 0);
	if (!ASN1_INTEGER_set_int64(num, number) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) ||
	    (ext = X509V3_EXT_conf_nid(
	         NULL, &ctx, NID_authority_key_identifier, "keyid:always")) == NULL ||
	    !X509_CRL_add_ext(crl, ext, -1) || X509_CRL_sign(crl, s->key, EVP_sha256()) <= 0) {
		ca_ssl_error(err, "signing the CRL");
		goto out;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509_CRL(bio, crl))
		fatalx("PEM_write_bio_X509_CRL failed");
	*ret = ca_bio_text(bio);
	rc = 0;
out:
	BIO_free(bio);
	X509_EXTENSION_free(ext);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	return rc;
}

/* The current CRL PEM of one issuer row (with PEM texts), rebuilt when stale. */
static int
ca_crl_issuer(json_t *issuer_row, int64_t now, char **ret, struct dr_error *err)
{
	const char *key_id = json_string_value(json_object_get(issuer_row, "key_id"));
	_cleanup_json_ json_t *crl = NULL;
	struct ca_signer s = {0};
	int64_t number = 1;
	char *pem = NULL;

	crl = store_query_one(err,
	    "SELECT number, this_update, stale, pem FROM ca_crls"
	    " WHERE key_id = ?",
	    "[s]", key_id);
	if (crl != NULL && json_integer_value(json_object_get(crl, "stale")) == 0 &&
	    json_integer_value(json_object_get(crl, "this_update")) +
	            (int64_t)CA_CRL_DAYS * CA_DAY / 2 >
	        now) {
		*ret = xstrdup(json_string_value(json_object_get(crl, "pem")));
		return 0;
	}
	json_decref(TAKE_PTR(crl));
	/* Rebuild under the write lock so that CRL numbers only grow. */
	if (store_begin(err) < 0)
		return -1;
	crl = store_query_one(err, "SELECT number FROM ca_crls WHERE key_id = ?", "[s]", key_id);
	if (crl != NULL)
		number = json_integer_value(json_object_get(crl, "number")) + 1;
	if (ca_signer_load(json_incref(issuer_row), &s, err) < 0 ||
	    ca_crl_build(&s, number, now, &pem, err) < 0 ||
	    store_execf(NULL, NULL, err, "DELETE FROM ca_crls WHERE key_id = ?", "[s]", key_id) <
	        0 ||
	    store_execf(NULL, NULL, err,
	        "INSERT INTO ca_crls (key_id, issuer_serial, number, this_update, next_update,"
	        " stale, pem) VALUES (?, ?, ?, ?, ?, 0, ?)",
	        "[sOIIIs]", key_id, json_object_get(issuer_row, "serial"), (json_int_t)number,
	        (json_int_t)now, (json_int_t)(now + (int64_t)CA_CRL_DAYS * CA_DAY), pem) < 0 ||
	    store_commit(err) < 0) {
		store_rollback();
		ca_signer_free(&s);
		free(pem);
		return -1;
	}
	ca_signer_free(&s);
	*ret = pem;
	return 0;
}

/* What a CRL says, read back from its PEM. */
static json_t *
ca_crl_info(const char *pem, const json_t *issuer_row)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509_CRL *crl = bio != NULL ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
	STACK_OF(X509_REVOKED) * revs;
	ASN1_INTEGER *num;
	json_t *revoked = json_array(), *info;
	int i;

	BIO_free(bio);
	if (crl == NULL) {
		ERR_clear_error();
		json_decref(revoked);
		return NULL;
	}
	revs = X509_CRL_get_REVOKED(crl);
	for (i = 0; i < sk_X509_REVOKED_num(revs); i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(revs, i);
		ASN1_ENUMERATED *code = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(r), NULL);
		char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
		long c = code != NULL ? ASN1_ENUMERATED_get(code) : 0;
		const char *reason = "unspecified";
		size_t k;

		for (k = 0; k < nitems(ca_reasons); k++)
			if (ca_reasons[k].code == c)
				reason = ca_reasons[k].name;
		json_array_append_new(revoked,
		    json_pack("{s:s, s:I, s:s}", "serial", hex != NULL ? hex : "", "revoked_at",
		        (json_int_t)ca_asn1_time(X509_REVOKED_get0_revocationDate(r)), "reason",
		        reason));
		OPENSSL_free(hex);
		BN_free(bn);
		ASN1_ENUMERATED_free(code);
	}
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	info = json_pack("{s:O, s:O, s:I, s:I, s:I, s:o}", "issuer",
	    json_object_get(issuer_row, "subject"), "issuer_serial",
	    json_object_get(issuer_row, "serial"), "number",
	    (json_int_t)(num != NULL ? ASN1_INTEGER_get(num) : 0), "this_update",
	    (json_int_t)ca_asn1_time(X509_CRL_get0_lastUpdate(crl)), "next_update",
	    (json_int_t)ca_asn1_time(X509_CRL_get0_nextUpdate(crl)), "revoked", revoked);
	ASN1_INTEGER_free(num);
	X509_CRL_free(crl);
	return info;
}

/* Every CRL of a trusted issuer. */
int
ca_crl_get(char **ret_pem, json_t **ret_info, struct dr_error *err)
{
	_cleanup_json_ json_t *issuers = NULL, *info = json_array();
	struct buf b = BUF_INIT(0);
	int64_t now = time(NULL);
	json_t *row;
	size_t i;
	struct dr_error ignored; /* when the caller passes no err: we still need to know */

	if (err == NULL)
		err = &ignored;
	if (store_queryf(&issuers, err,
	        "SELECT " CA_COLUMNS ", cert_pem, key_pem FROM ca_certificates"
	        " WHERE (kind = 'root' AND state IN ('active', 'previous'))"
	        " OR (kind = 'intermediate' AND state = 'valid' AND not_after > ? AND root_serial "
	        "IN"
	        " (SELECT serial FROM ca_certificates WHERE kind = 'root'"
	        " AND state IN ('active', 'previous')))"
	        " ORDER BY id",
	        "[I]", (json_int_t)now) < 0)
		return -1;
	json_array_foreach(issuers, i, row)
	{
		char *pem = NULL;
		if (ca_crl_issuer(row, now, &pem, err) < 0) {
			buf_free(&b);
			return -1;
		}
		buf_adds(&b, pem);
		if (ret_info != NULL)
			json_array_append_new(info, ca_crl_info(pem, row));
		free(pem);
	}
	*ret_pem = buf_steal(&b);
	if (ret_info != NULL)
		*ret_info = TAKE_PTR(info);
	return 0;
}

/* One trusted issuer's CRL in DER, by the issuer's key identifier. */
int
ca_crl_der(const char *key_id, unsigned char **ret, size_t *ret_len, struct dr_error *err)
{
	_cleanup_free_ char *all = NULL;
	_cleanup_json_ json_t *row = NULL;
	struct dr_error ignored;
	unsigned char *der = NULL;
	X509_CRL *crl;
	BIO *bio;
	int len;

	if (err == NULL)
		err = &ignored;
	/* Brings every CRL up to date first. */
	if (ca_crl_get(&all, NULL, err) < 0)
		return -1;
	row = store_query_one(err, "SELECT pem FROM ca_crls WHERE key_id = ?", "[s]", key_id);
	if (row == NULL)
		return err->msg[0] != '\0'
		    ? -1
		    : (dr_error_set(err, "no CRL for issuer key %.64s", key_id), CA_ERR_NOTFOUND);
	/* Only issuers still trusted: a CRL of a retired root is not served. */
	if (strstr(all, json_string_value(json_object_get(row, "pem"))) == NULL)
		return dr_error_set(err, "no CRL for issuer key %.64s", key_id), CA_ERR_NOTFOUND;
	if ((bio = BIO_new_mem_buf(json_string_value(json_object_get(row, "pem")), -1)) == NULL)
		fatalx("BIO_new_mem_buf failed");
	crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (crl == NULL || (len = i2d_X509_CRL(crl, &der)) <= 0) {
		X509_CRL_free(crl);
		return ca_ssl_error(err, "stored CRL");
	}
	X509_CRL_free(crl);
	*ret = xmalloc((size_t)len);
	memcpy(*ret, der, (size_t)len);
	OPENSSL_free(der);
	*ret_len = (size_t)len;
	return 0;
}

/* A row without PEM texts, for answers. */
static json_t *
ca_row_brief(const char *serial)
{
	json_t *row = store_query_one(NULL,
	    "SELECT " CA_COLUMNS " FROM ca_certificates"
	    " WHERE serial = ?",
	    "[s]", serial);

	if (row != NULL)
		ca_row_present(row, time(NULL));
	return row != NULL ? row : json_null();
}

/* Start a rotation. */
int
ca_rotate(json_t **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *prev = NULL, *old = NULL;
	_cleanup_free_ char *old_serial = NULL, *serial = NULL;
	struct ca_signer root = {0};
	json_t *row;
	struct dr_error ignored; /* when the caller passes no err: we still need to know */

	if (err == NULL)
		err = &ignored;
	if (store_begin(err) < 0)
		return -1;
	prev = store_query_one(err,
	    "SELECT serial FROM ca_certificates WHERE kind = 'root'"
	    " AND state = 'previous'",
	    NULL);
	if (prev != NULL) {
		store_rollback();
		return dr_error_set(err,
		           "a rotation is in progress (previous root %s): complete it first "
		           "(drover ca rotate --complete)",
		           json_string_value(json_object_get(prev, "serial"))),
		       CA_ERR_CONFLICT;
	}
	if ((old = ca_root_row(err)) == NULL)
		goto fail;
	old_serial = xstrdup(json_string_value(json_object_get(old, "serial")));
	if (store_execf(NULL, NULL, err,
	        "UPDATE ca_certificates SET state = 'previous' WHERE serial = ?", "[s]",
	        old_serial) < 0 ||
	    ca_root_create("active", &serial, err) < 0 || (row = ca_root_row(err)) == NULL ||
	    ca_signer_load(row, &root, err) < 0 ||
	    ca_intermediate_create(&root, "hosts", NULL, NULL, err) < 0 || store_commit(err) < 0)
		goto fail;
	ca_signer_free(&root);
	*ret = json_pack(
	    "{s:o, s:o}", "root", ca_row_brief(serial), "previous", ca_row_brief(old_serial));
	return 0;
fail:
	store_rollback();
	ca_signer_free(&root);
	return -1;
}

/* Finish a rotation: the previous root is retired. */
int
ca_rotate_complete(json_t **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *prev = NULL, *root = NULL;
	const char *serial;
	struct dr_error ignored; /* when the caller passes no err: we still need to know */

	if (err == NULL)
		err = &ignored;
	if (store_begin(err) < 0)
		return -1;
	prev = store_query_one(err,
	    "SELECT serial FROM ca_certificates WHERE kind = 'root'"
	    " AND state = 'previous'",
	    NULL);
	if (prev == NULL) {
		store_rollback();
		if (err != NULL && err->msg[0] != '\0')
			return -1;
		return dr_error_set(err,
		           "no rotation is in progress (start one with drover ca "
		           "rotate)"),
		       CA_ERR_CONFLICT;
	}
	serial = json_string_value(json_object_get(prev, "serial"));
	if (store_execf(NULL, NULL, err,
	        "UPDATE ca_certificates SET state = 'retired' WHERE serial = ?", "[s]",
	        serial) < 0 ||
	    store_commit(err) < 0) {
		store_rollback();
		return -1;
	}
	root = ca_root_row(err);
	*ret = json_pack("{s:o, s:o}", "root",
	    ca_row_brief(json_string_value(json_object_get(root, "serial"))), "retired",
	    ca_row_brief(serial));
	return 0;
}

/* Re-certify one row's public key; the new row's serial in *ret_serial. */
static int
ca_renew_one(const json_t *old, struct ca_signer *issuer, char **ret_serial, struct dr_error *err)
{
	const char *kind = json_string_value(json_object_get(old, "kind"));
	const char *serial = json_string_value(json_object_get(old, "serial"));
	int64_t now = time(NULL);
	int64_t span = json_integer_value(json_object_get(old, "not_after")) -
	    json_integer_value(json_object_get(old, "not_before"));
	_cleanup_free_ char *san = NULL;
	_cleanup_json_ json_t *sans = NULL;
	X509 *oldx, *x = NULL;
	int rc = -1;

	oldx = ca_cert_from_pem(json_string_value(json_object_get(old, "cert_pem")));
	if (oldx == NULL) {
		ERR_clear_error();
		return dr_error_set(err, "certificate %s: the stored PEM does not parse", serial);
	}
	sans = ca_sans(oldx);
	san = json_array_size(sans) > 0 ? ca_san_text(sans) : NULL;
	struct ca_tbs t = {
	    .kind = kind,
	    .subject = X509_get_subject_name(oldx),
	    .public_key = X509_get0_pubkey(oldx),
	    .san = san,
	    .not_before = now - CA_SKEW,
	    .not_after = ca_clamp_not_after(issuer, now + span - CA_SKEW),
	    .issuer = issuer,
	};
	struct ca_row r = {
	    .kind = kind,
	    .purpose = json_string_value(json_object_get(old, "purpose")),
	    .state = "valid",
	    .cluster = json_string_value(json_object_get(old, "cluster")),
	    .host = json_string_value(json_object_get(old, "host")),
	    .key_pem = json_string_value(json_object_get(old, "key_pem")),
	    .issuer_row = issuer->row,
	};
	if (t.public_key == NULL) {
		dr_error_set(err, "certificate %s: its public key does not parse", serial);
		goto out;
	}
	if (store_begin(err) < 0)
		goto out;
	if (ca_cert_sign(&t, &x, err) < 0 || ca_row_insert(x, &r, ret_serial, err) < 0 ||
	    store_execf(NULL, NULL, err,
	        "UPDATE ca_certificates SET state = 'renewed', superseded_by = ?"
	        " WHERE serial = ?",
	        "[ss]", *ret_serial, serial) < 0 ||
	    store_commit(err) < 0) {
		store_rollback();
		goto out;
	}
	rc = 0;
out:
	X509_free(x);
	X509_free(oldx);
	return rc;
}

/* Renew what is due; see ca.h. */
int
ca_renew_due(int days, bool reissue_previous,
    void (*report)(void *ctx, const json_t *old, const json_t *renewed), void *ctx,
    struct dr_error *err)
{
	_cleanup_json_ json_t *due = NULL, *root_row = NULL;
	const char *active;
	int64_t now = time(NULL);
	json_t *row;
	size_t i;
	int n = 0;
	struct dr_error ignored; /* when the caller passes no err: we still need to know */

	if (err == NULL)
		err = &ignored;
	if (days < 0 || days > CA_ROOT_DAYS)
		return dr_error_set(err, "days: %d is not within 0..%d", days, CA_ROOT_DAYS),
		       CA_ERR_INPUT;
	if ((root_row = ca_root_row(err)) == NULL)
		return -1;
	active = json_string_value(json_object_get(root_row, "serial"));
	/* Intermediates first, so that host certificates go under renewed issuers. The
	 * previous root's hosts intermediate is never moved: the new root has its own. */
	if (store_queryf(&due, err,
	        "SELECT " CA_COLUMNS ", cert_pem, key_pem FROM ca_certificates"
	        " WHERE kind IN ('intermediate', 'leaf') AND state = 'valid'"
	        " AND root_serial IN (SELECT serial FROM ca_certificates WHERE kind = 'root'"
	        " AND state IN ('active', 'previous'))"
	        " AND NOT (kind = 'intermediate' AND purpose = 'hosts' AND root_serial <> ?)"
	        " AND (not_after < ? OR (? = 1 AND root_serial <> ?))"
	        " ORDER BY CASE kind WHEN 'intermediate' THEN 0 ELSE 1 END, id LIMIT 100000",
	        "[sIis]", active, (json_int_t)(now + (int64_t)days * CA_DAY),
	        reissue_previous ? 1 : 0, active) < 0)
		return -1;
	json_array_foreach(due, i, row)
	{
		const char *kind = json_string_value(json_object_get(row, "kind"));
		const char *serial = json_string_value(json_object_get(row, "serial"));
		struct ca_signer issuer = {0};
		_cleanup_free_ char *new_serial = NULL;
		_cleanup_json_ json_t *renewed = NULL;
		json_t *irow;
		int rc;

		if (strcmp(kind, "leaf") == 0) {
			rc = ca_issuer_get("hosts", NULL, &issuer, NULL, err);
		} else {
			irow = ca_root_row(err);
			rc = irow != NULL ? ca_signer_load(irow, &issuer, err) : -1;
		}
		if (rc == 0)
			rc = ca_renew_one(row, &issuer, &new_serial, err);
		ca_signer_free(&issuer);
		if (rc < 0)
			return dr_error_prefix(err, "renewing %s: ", serial);
		n++;
		if (report != NULL) {
			json_t *old = json_deep_copy(row);
			json_object_del(old, "cert_pem");
			ca_row_present(old, now);
			renewed = ca_row_brief(new_serial);
			report(ctx, old, renewed);
			json_decref(old);
		}
	}
	return n;
}

/* Job output and audit for one renewal. */
static void
ca_renew_report(void *ctx, const json_t *old, const json_t *renewed)
{
	struct job *job = ctx;
	const char *serial = json_string_value(json_object_get(old, "serial"));
	_cleanup_free_ char *owner = xasprintf("job %lld", (long long)job_id(job));

	job_printf(job, "renewed %s %s (%s, expired %s) as %s until %lld\n",
	    json_string_value(json_object_get(old, "kind")),
	    json_string_value(json_object_get(old, "subject")), serial,
	    json_integer_value(json_object_get(old, "not_after")) <= time(NULL) ? "yes" : "no",
	    json_string_value(json_object_get(renewed, "serial")),
	    (long long)json_integer_value(json_object_get(renewed, "not_after")));
	_cleanup_json_ json_t *item =
	    json_pack("{s:O, s:O}", "serial", json_object_get(renewed, "serial"), "not_after",
	        json_object_get(renewed, "not_after"));
	job_item_set(job, serial, "renewed", item);
	store_audit(owner, NULL, "renew", "certificate", serial, old, renewed, NULL);
}

/* The ca_renew job: params {"days": N, "reissue_previous": bool}. */
static int
ca_renew_run(struct job *job, struct dr_error *err)
{
	const json_t *params = job_params(job);
	const json_t *d = json_object_get(params, "days");
	const json_t *rp = json_object_get(params, "reissue_previous");
	_cleanup_json_ json_t *root = NULL;
	struct dr_error qerr;
	int days = CA_RENEW_DAYS, n;

	if (d != NULL &&
	    (!json_is_integer(d) || json_integer_value(d) < 0 ||
	        json_integer_value(d) > CA_ROOT_DAYS))
		return dr_error_set(
		    err, "params.days: expected a number from 0 to %d", CA_ROOT_DAYS);
	if (d != NULL)
		days = (int)json_integer_value(d);
	if (rp != NULL && !json_is_boolean(rp))
		return dr_error_set(err, "params.reissue_previous: expected true or false");
	job_printf(job, "renewing certificates that expire within %d days%s\n", days,
	    json_is_true(rp) ? ", and moving those under the previous root" : "");
	n = ca_renew_due(days, json_is_true(rp), ca_renew_report, job, err);
	if (n < 0)
		return -1;
	root = ca_root_row(&qerr);
	if (root != NULL &&
	    json_integer_value(json_object_get(root, "not_after")) <
	        time(NULL) + (int64_t)days * CA_DAY)
		job_printf(job,
		    "warning: the root %s expires within %d days: rotate it "
		    "(drover ca rotate)\n",
		    json_string_value(json_object_get(root, "serial")), days);
	job_printf(job, "%d certificate%s renewed\n", n, n == 1 ? "" : "s");
	job_result_set(job, json_pack("{s:i}", "renewed", n));
	return 0;
}

/*
 * Seed the default ca_renew schedule: once per store (remembered in ca_settings), unless
 * a ca_renew schedule exists already (an admin's, made before this upgrade). Daily at a
 * random minute between 01:00 and 04:59 in tz, so that droverds installed together do not
 * all renew at once.
 */
int
ca_renew_schedule_seed(const char *tz, int64_t *ret_id, struct dr_error *err)
{
	_cleanup_json_ json_t *seen = NULL, *other = NULL, *spec = NULL;
	_cleanup_free_ char *value = NULL;
	unsigned char r[2];
	char cron[32];
	int64_t id = 0;
	struct dr_error qerr;

	*ret_id = 0;
	seen = store_query_one(
	    &qerr, "SELECT value FROM ca_settings WHERE key = 'renew_schedule'", NULL);
	if (seen != NULL)
		return 0;
	if (qerr.msg[0] != '\0')
		return dr_error_set(err, "ca_settings: %s", qerr.msg);
	other = store_query_one(
	    &qerr, "SELECT id FROM schedules WHERE kind = 'ca_renew' ORDER BY id LIMIT 1", NULL);
	if (other == NULL && qerr.msg[0] != '\0')
		return dr_error_set(err, "schedules: %s", qerr.msg);
	if (other != NULL) {
		value = xasprintf(
		    "found %lld", (long long)json_integer_value(json_object_get(other, "id")));
	} else {
		if (RAND_bytes(r, sizeof r) != 1)
			return ca_ssl_error(err, "random jitter");
		snprintf(cron, sizeof cron, "%d %d * * *", r[0] % 60, 1 + r[1] % 4);
		spec = json_pack("{s:s,s:s,s:s,s:s,s:{s:i},s:s}", "name", CA_RENEW_SCHEDULE,
		    "cron", cron, "tz", tz != NULL && *tz != '\0' ? tz : "UTC", "kind", "ca_renew",
		    "params", "days", CA_RENEW_DAYS, "misfire", "run_once");
		if (schedule_create(spec, &id, err) < 0)
			return dr_error_prefix(err, "schedule %s: ", CA_RENEW_SCHEDULE);
		value = xasprintf("seeded %lld", (long long)id);
	}
	if (store_execf(NULL, NULL, err,
	        "INSERT INTO ca_settings (key, value, updated_at) VALUES ('renew_schedule', ?, ?)",
	        "[sI]", value, (json_int_t)time(NULL)) < 0)
		return -1;
	*ret_id = id;
	return id > 0 ? 1 : 0;
}
