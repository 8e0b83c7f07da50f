/* test_ca.c - the CA: root, key at rest, host certificates, intermediates, CRLs, rotation,
 * renewal. Chains are checked with OpenSSL's own verifier. */
#include "tests/unit/unit.h"

#include <pthread.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "provisioner/ca.h"

static int
setup_ca(void **state)
{
	char *dir = unit_dir_make("ca");
	struct dr_error err;

	store_register_clear();
	job_init();
	ca_register();
	if (store_open(dir, &err) < 0)
		fail_msg("%s", err.msg);
	if (ca_init(dir, &err) != 1)
		fail_msg("ca_init: %s", err.msg);
	*state = dir;
	return 0;
}

static int
teardown_ca(void **state)
{
	ca_shutdown();
	store_close();
	unit_dir_remove(*state);
	return 0;
}

/* Every certificate in a PEM text. */
static STACK_OF(X509) * pem_certs(const char *pem)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x;

	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		sk_X509_push(sk, x);
	ERR_clear_error();
	BIO_free(bio);
	return sk;
}

static X509 *
pem_cert(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

	BIO_free(bio);
	assert_non_null(x);
	return x;
}

static int
count_certs(const char *pem)
{
	STACK_OF(X509) *sk = pem_certs(pem);
	int n = sk_X509_num(sk);

	sk_X509_pop_free(sk, X509_free);
	return n;
}

/* OpenSSL's verdict on leaf with untrusted chain, trusting the certificates in trust. */
static int
verify(const char *leaf_pem, const char *chain_pem, const char *trust_pem, X509_CRL *crl)
{
	STACK_OF(X509) *trust = pem_certs(trust_pem), *chain = pem_certs(chain_pem);
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *leaf = pem_cert(leaf_pem);
	int i, rc;

	for (i = 0; i < sk_X509_num(trust); i++)
		X509_STORE_add_cert(store, sk_X509_value(trust, i));
	if (crl != NULL) {
		X509_STORE_add_crl(store, crl);
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	}
	X509_STORE_set_flags(store, X509_V_FLAG_X509_STRICT);
	X509_STORE_CTX_init(ctx, store, leaf, chain);
	rc = X509_verify_cert(ctx) == 1 ? 0 : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(leaf);
	sk_X509_pop_free(trust, X509_free);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

static const char *
str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Issue host with ips (NULL-terminated), or fail the test. */
static json_t *
issue(const char *host, int days, const char *ip)
{
	const char *ips[] = {ip};
	struct ca_host_req r = {.host = host, .ips = ips, .nips = ip != NULL, .days = days};
	struct dr_error err;
	json_t *cert = NULL;

	if (ca_host_issue(&r, &cert, &err) < 0)
		fail_msg("ca_host_issue %s: %s", host, err.msg);
	return cert;
}

static char *
root_pem(void)
{
	struct dr_error err;
	char *pem = NULL;

	assert_int_equal(ca_root_pem(&pem, &err), 0);
	return pem;
}

static char *
bundle_pem(void)
{
	struct dr_error err;
	char *pem = NULL;

	assert_int_equal(ca_bundle_pem(&pem, &err), 0);
	return pem;
}

/* The first root: a self-signed P-256 CA, made once, with its hosts intermediate. */
static void
test_root(void **state)
{
	_cleanup_free_ char *pem = root_pem(), *kek = xasprintf("%s/ca-kek", (char *)*state);
	_cleanup_json_ json_t *rows = NULL, *filter = json_pack("{s:s}", "kind", "intermediate");
	X509 *x = pem_cert(pem);
	EVP_PKEY *pub = X509_get0_pubkey(x);
	struct dr_error err;
	struct stat st;
	char group[32];

	assert_int_equal(X509_check_ca(x), 1);
	assert_int_equal(X509_check_issued(x, x), X509_V_OK);
	assert_true(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
	assert_true(X509_get_key_usage(x) & KU_CRL_SIGN);
	assert_int_equal(EVP_PKEY_get_base_id(pub), EVP_PKEY_EC);
	assert_true(EVP_PKEY_get_group_name(pub, group, sizeof group, NULL));
	assert_string_equal(group, "prime256v1");
	assert_true(X509_cmp_time(X509_get0_notAfter(x),
	                &(time_t){time(NULL) + (time_t)(CA_ROOT_DAYS - 1) * 86400}) > 0);
	X509_free(x);

	assert_int_equal(stat(kek, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* A second start finds it. */
	ca_shutdown();
	assert_int_equal(ca_init(*state, &err), 0);
	_cleanup_free_ char *again = root_pem();
	assert_string_equal(pem, again);

	assert_int_equal(ca_cert_list(filter, &rows, &err), 0);
	assert_int_equal(json_array_size(rows), 1);
	assert_string_equal(str(json_array_get(rows, 0), "purpose"), "hosts");
}

/* The stored key opens with the KEK only; a wrong or missing KEK fails cleanly. */
static void
test_key_at_rest(void **state)
{
	_cleanup_free_ char *kek_path = xasprintf("%s/ca-kek", (char *)*state);
	_cleanup_free_ char *kek = NULL;
	_cleanup_json_ json_t *row = NULL;
	struct dr_error err;
	EVP_PKEY *key;
	BIO *bio;

	row =
	    store_query_one(&err, "SELECT key_pem FROM ca_certificates WHERE kind = 'root'", NULL);
	assert_non_null(row);
	assert_true(str_has_prefix(str(row, "key_pem"), "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
	assert_null(strstr(str(row, "key_pem"), "BEGIN PRIVATE KEY"));

	bio = BIO_new_mem_buf(str(row, "key_pem"), -1);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"not the kek");
	assert_null(key);
	ERR_clear_error();
	BIO_free(bio);
	assert_int_equal(file_read(kek_path, 4096, &kek, NULL, &err), 0);
	bio = BIO_new_mem_buf(str(row, "key_pem"), -1);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, str_trim(kek));
	assert_non_null(key);
	EVP_PKEY_free(key);
	BIO_free(bio);

	/* A different KEK: refused, naming the file. */
	ca_shutdown();
	_cleanup_free_ char *saved = xasprintf("%s.saved", kek_path);
	assert_int_equal(rename(kek_path, saved), 0);
	const char *wrong = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
	assert_int_equal(file_write_atomic(kek_path, wrong, strlen(wrong), 0600, &err), 0);
	assert_true(ca_init(*state, &err) < 0);
	assert_non_null(strstr(err.msg, "does not decrypt with the key-encryption key"));
	assert_non_null(strstr(err.msg, kek_path));
	/* Junk. */
	assert_int_equal(file_write_atomic(kek_path, "zz\n", 3, 0600, &err), 0);
	assert_true(ca_init(*state, &err) < 0);
	assert_non_null(strstr(err.msg, "expected 64 hex digits"));
	/* Missing. */
	unlink(kek_path);
	assert_true(ca_init(*state, &err) < 0);
	assert_non_null(strstr(err.msg, "is missing"));
	/* Readable by others. */
	assert_int_equal(rename(saved, kek_path), 0);
	chmod(kek_path, 0640);
	assert_true(ca_init(*state, &err) < 0);
	assert_non_null(strstr(err.msg, "mode 640"));
	/* The right one again. */
	chmod(kek_path, 0600);
	assert_int_equal(ca_init(*state, &err), 0);
}

/* A host certificate: SANs, EKUs, chain, key; and bad requests. */
static void
test_host_issue(void **state)
{
	_cleanup_json_ json_t *cert = issue("N1.Example.Test", 30, "198.18.1.5");
	_cleanup_free_ char *root = root_pem();
	const char *ips[] = {"198.18.1.5", "2001:DB8::5"};
	const char *dns[] = {"n1-alias.example.test"};
	struct ca_host_req r = {
	    .host = "n1.example.test", .dns = dns, .ndns = 1, .ips = ips, .nips = 2};
	_cleanup_json_ json_t *c2 = NULL, *expect = NULL;
	struct dr_error err;
	X509 *x;
	EVP_PKEY *key;
	BIO *bio;

	assert_string_equal(str(cert, "host"), "n1.example.test");
	assert_string_equal(str(cert, "kind"), "leaf");
	assert_int_equal(verify(str(cert, "certificate"), str(cert, "chain"), root, NULL), 0);
	assert_int_equal(count_certs(str(cert, "chain")), 1);
	x = pem_cert(str(cert, "certificate"));
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	assert_int_equal(X509_check_ca(x), 0);
	assert_int_equal(X509_check_host(x, "n1.example.test", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(x, "198.18.1.5", 0), 1);
	/* The key is the certificate's. */
	bio = BIO_new_mem_buf(str(cert, "key"), -1);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
	assert_non_null(key);
	assert_int_equal(X509_check_private_key(x, key), 1);
	X509_free(x);
	BIO_free(bio);

	/* A public key handed in is certified, and no key comes back. */
	r.public_key = NULL;
	{
		BIO *pb = BIO_new(BIO_s_mem());
		char *data;
		long n;
		PEM_write_bio_PUBKEY(pb, key);
		n = BIO_get_mem_data(pb, &data);
		_cleanup_free_ char *pub = xstrndup(data, (size_t)n);
		r.public_key = pub;
		assert_int_equal(ca_host_issue(&r, &c2, &err), 0);
		BIO_free(pb);
	}
	assert_null(json_object_get(c2, "key"));
	x = pem_cert(str(c2, "certificate"));
	assert_int_equal(X509_check_private_key(x, key), 1);
	assert_int_equal(X509_check_ip_asc(x, "2001:db8::5", 0), 1);
	assert_int_equal(X509_check_host(x, "n1-alias.example.test", 0, 0, NULL), 1);
	X509_free(x);
	EVP_PKEY_free(key);
	expect = json_pack("[s, s, s, s]", "DNS:n1.example.test", "DNS:n1-alias.example.test",
	    "IP:198.18.1.5", "IP:2001:db8::5");
	assert_true(json_equal(json_object_get(c2, "sans"), expect));

	/* Bad requests name the field. */
	r = (struct ca_host_req){
	    .host = "n1.example.test", .ips = (const char *[]){"300.1.1.1"}, .nips = 1};
	assert_int_equal(ca_host_issue(&r, &c2, &err), CA_ERR_INPUT);
	assert_string_equal(err.msg, "ips[0]: '300.1.1.1' is not an IP address");
	r = (struct ca_host_req){.host = "bad_name.example"};
	assert_int_equal(ca_host_issue(&r, &c2, &err), CA_ERR_INPUT);
	assert_non_null(strstr(err.msg, "host: 'bad_name.example' is not a DNS name"));
	r = (struct ca_host_req){.host = NULL};
	assert_int_equal(ca_host_issue(&r, &c2, &err), CA_ERR_INPUT);
	assert_non_null(strstr(err.msg, "host: missing"));
	r = (struct ca_host_req){.host = "a.example.test", .days = CA_LEAF_DAYS_MAX + 1};
	assert_int_equal(ca_host_issue(&r, &c2, &err), CA_ERR_INPUT);
	r = (struct ca_host_req){.host = "a.example.test", .public_key = "junk"};
	assert_int_equal(ca_host_issue(&r, &c2, &err), CA_ERR_INPUT);
	assert_non_null(strstr(err.msg, "public_key"));
	r = (struct ca_host_req){.host = "a-.example.test"};
	assert_int_equal(ca_host_issue(&r, &c2, &err), CA_ERR_INPUT);
}

/* Mesh intermediates: CA with pathlen 0, the files each mesh expects, made once. */
static void
test_intermediate(void **state)
{
	_cleanup_json_ json_t *istio = NULL, *again = NULL, *linkerd = NULL;
	_cleanup_free_ char *root = root_pem();
	const json_t *files;
	struct dr_error err;
	bool created = false;
	X509 *x;
	char cn[128];

	assert_int_equal(ca_intermediate_get("c1", "istio", &istio, &created, &err), 0);
	assert_true(created);
	files = json_object_get(istio, "files");
	assert_int_equal(json_object_size(files), 4);
	x = pem_cert(str(files, "ca-cert.pem"));
	assert_int_equal(X509_check_ca(x), 1);
	assert_int_equal(X509_get_pathlen(x), 0);
	assert_true(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
	assert_true(X509_get_key_usage(x) & KU_CRL_SIGN);
	{
		BIO *bio = BIO_new_mem_buf(str(files, "ca-key.pem"), -1);
		EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
		assert_non_null(key);
		assert_int_equal(X509_check_private_key(x, key), 1);
		EVP_PKEY_free(key);
		BIO_free(bio);
	}
	X509_free(x);
	assert_int_equal(
	    verify(str(files, "ca-cert.pem"), "", str(files, "root-cert.pem"), NULL), 0);
	assert_int_equal(count_certs(str(files, "cert-chain.pem")), 2);
	assert_string_equal(str(files, "root-cert.pem"), root);

	assert_int_equal(ca_intermediate_get("c1", "istio", &again, &created, &err), 0);
	assert_false(created);
	assert_string_equal(str(again, "serial"), str(istio, "serial"));

	assert_int_equal(ca_intermediate_get("c1", "linkerd", &linkerd, &created, &err), 0);
	assert_true(created);
	files = json_object_get(linkerd, "files");
	assert_non_null(json_object_get(files, "issuer.crt"));
	assert_non_null(json_object_get(files, "issuer.key"));
	assert_string_equal(str(files, "ca.crt"), root);
	x = pem_cert(str(files, "issuer.crt"));
	assert_int_equal(X509_get_pathlen(x), 0);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
	assert_string_equal(cn, "identity.linkerd.cluster.local");
	X509_free(x);

	/* A revoked intermediate is listed on its root's CRL and replaced at the next use. */
	_cleanup_json_ json_t *replaced = NULL, *info = NULL;
	_cleanup_free_ char *crls = NULL;
	size_t i;
	json_t *c;
	bool listed = false;
	assert_int_equal(ca_cert_revoke(str(istio, "serial"), "cACompromise", NULL, &err), 0);
	assert_int_equal(ca_crl_get(&crls, &info, &err), 0);
	json_array_foreach(info, i, c)
	{
		json_t *rv = json_array_get(json_object_get(c, "revoked"), 0);
		if (rv != NULL && strcmp(str(rv, "serial"), str(istio, "serial")) == 0) {
			assert_string_equal(str(c, "issuer_serial"), str(istio, "root_serial"));
			assert_string_equal(str(rv, "reason"), "cACompromise");
			listed = true;
		}
	}
	assert_true(listed);
	assert_int_equal(ca_intermediate_get("c1", "istio", &replaced, &created, &err), 0);
	assert_true(created);
	assert_string_not_equal(str(replaced, "serial"), str(istio, "serial"));
	assert_string_not_equal(str(json_object_get(replaced, "files"), "ca-key.pem"),
	    str(json_object_get(istio, "files"), "ca-key.pem"));

	json_t *bad = NULL;
	assert_int_equal(ca_intermediate_get("c1", "consul", &bad, NULL, &err), CA_ERR_INPUT);
	assert_int_equal(ca_intermediate_get("../x", "istio", &bad, NULL, &err), CA_ERR_INPUT);
	assert_int_equal(ca_intermediate_get(NULL, "istio", &bad, NULL, &err), CA_ERR_INPUT);
}

/* The CRL of the issuer whose subject key is key_id, from a PEM list of CRLs. */
static X509_CRL *
crl_of(const char *pem, const X509 *issuer)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509_CRL *crl, *found = NULL;

	while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
		if (found == NULL &&
		    X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) == 0)
			found = crl;
		else
			X509_CRL_free(crl);
	}
	ERR_clear_error();
	BIO_free(bio);
	return found;
}

/* Revocation: the issuer's signed CRL lists the serial and the reason; verify fails. */
static void
test_crl(void **state)
{
	_cleanup_json_ json_t *a = issue("a.example.test", 0, NULL);
	_cleanup_json_ json_t *b = issue("b.example.test", 0, NULL);
	_cleanup_json_ json_t *row = NULL, *info = NULL, *info2 = NULL;
	_cleanup_free_ char *root = root_pem(), *crls = NULL, *crls2 = NULL;
	struct dr_error err;
	X509_REVOKED *rev = NULL;
	X509 *inter = pem_cert(str(a, "chain")), *leaf = pem_cert(str(a, "certificate"));
	X509_CRL *crl;
	ASN1_ENUMERATED *reason;
	int64_t number1 = 0, number2 = 0;
	size_t i;
	json_t *c;

	assert_int_equal(ca_cert_revoke(str(a, "serial"), "keyCompromise", &row, &err), 0);
	assert_string_equal(str(row, "state"), "revoked");
	assert_int_equal(ca_crl_get(&crls, &info, &err), 0);
	crl = crl_of(crls, inter);
	assert_non_null(crl);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(inter)), 1);
	assert_int_equal(X509_CRL_get0_by_cert(crl, &rev, leaf), 1);
	reason = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
	assert_int_equal(ASN1_ENUMERATED_get(reason), 1);
	ASN1_ENUMERATED_free(reason);
	assert_true(ASN1_TIME_diff(
	    &(int){0}, &(int){0}, X509_CRL_get0_lastUpdate(crl), X509_CRL_get0_nextUpdate(crl)));
	{
		int days = 0, secs = 0;
		ASN1_TIME_diff(
		    &days, &secs, X509_CRL_get0_lastUpdate(crl), X509_CRL_get0_nextUpdate(crl));
		assert_int_equal(days, CA_CRL_DAYS);
	}
	assert_int_equal(
	    verify(str(a, "certificate"), str(a, "chain"), root, crl), X509_V_ERR_CERT_REVOKED);
	assert_int_equal(verify(str(b, "certificate"), str(b, "chain"), root, crl), 0);
	X509_CRL_free(crl);
	/* The read-back info says the same. */
	json_array_foreach(info, i, c) if (json_array_size(json_object_get(c, "revoked")) == 1)
	{
		assert_string_equal(
		    str(json_array_get(json_object_get(c, "revoked"), 0), "serial"),
		    str(a, "serial"));
		assert_string_equal(
		    str(json_array_get(json_object_get(c, "revoked"), 0), "reason"),
		    "keyCompromise");
		number1 = json_integer_value(json_object_get(c, "number"));
	}
	assert_true(number1 >= 1);

	/* A second revocation makes a new CRL with a higher number. */
	assert_int_equal(ca_cert_revoke(str(b, "serial"), NULL, NULL, &err), 0);
	assert_int_equal(ca_crl_get(&crls2, &info2, &err), 0);
	json_array_foreach(info2, i, c) if (json_array_size(json_object_get(c, "revoked")) == 2)
	    number2 = json_integer_value(json_object_get(c, "number"));
	assert_true(number2 > number1);

	/* Refusals. */
	assert_int_equal(ca_cert_revoke(str(a, "serial"), NULL, NULL, &err), CA_ERR_CONFLICT);
	assert_int_equal(ca_cert_revoke("ABCDEF0123", NULL, NULL, &err), CA_ERR_NOTFOUND);
	assert_int_equal(ca_cert_revoke("xyz", NULL, NULL, &err), CA_ERR_INPUT);
	assert_int_equal(ca_cert_revoke(str(a, "serial"), "because", NULL, &err), CA_ERR_INPUT);
	assert_int_equal(ca_cert_revoke(str(a, "root_serial"), NULL, NULL, &err), CA_ERR_CONFLICT);
	assert_non_null(strstr(err.msg, "rotate"));
	X509_free(inter);
	X509_free(leaf);
}

/* Rotation: bundle old + new, new leaves under the new root, complete retires the old. */
static void
test_rotation(void **state)
{
	_cleanup_json_ json_t *old_leaf = issue("old.example.test", 0, NULL);
	_cleanup_free_ char *old_root = root_pem(), *bundle = NULL, *new_root = NULL;
	_cleanup_free_ char *bundle2 = NULL;
	_cleanup_json_ json_t *r = NULL, *r2 = NULL, *new_leaf = NULL, *done = NULL, *no = NULL;
	_cleanup_json_ json_t *istio = NULL, *moved = NULL;
	struct dr_error err;
	int n;

	assert_int_equal(ca_rotate(&r, &err), 0);
	new_root = root_pem();
	assert_string_not_equal(new_root, old_root);
	bundle = bundle_pem();
	assert_int_equal(count_certs(bundle), 2);
	assert_non_null(strstr(bundle, old_root));
	assert_true(str_has_prefix(bundle, new_root));

	new_leaf = issue("new.example.test", 0, NULL);
	assert_string_equal(
	    str(new_leaf, "root_serial"), str(json_object_get(r, "root"), "serial"));
	assert_int_equal(
	    verify(str(new_leaf, "certificate"), str(new_leaf, "chain"), new_root, NULL), 0);
	assert_int_not_equal(
	    verify(str(new_leaf, "certificate"), str(new_leaf, "chain"), old_root, NULL), 0);
	assert_int_equal(
	    verify(str(old_leaf, "certificate"), str(old_leaf, "chain"), bundle, NULL), 0);
	assert_int_equal(ca_intermediate_get("c1", "istio", &istio, NULL, &err), 0);
	assert_int_equal(count_certs(str(json_object_get(istio, "files"), "root-cert.pem")), 2);

	assert_int_equal(ca_rotate(&r2, &err), CA_ERR_CONFLICT);
	/* Move what the old root issued, then complete. */
	n = ca_renew_due(0, true, NULL, NULL, &err);
	assert_int_equal(n, 1);
	moved = store_query_one(&err,
	    "SELECT serial FROM ca_certificates WHERE host = ?"
	    " AND state = 'valid'",
	    "[s]", "old.example.test");
	assert_non_null(moved);
	_cleanup_json_ json_t *m = ca_cert_get(str(moved, "serial"), &err);
	assert_int_equal(verify(str(m, "certificate"), str(m, "chain"), new_root, NULL), 0);

	assert_int_equal(ca_rotate_complete(&done, &err), 0);
	assert_string_equal(str(json_object_get(done, "retired"), "state"), "retired");
	bundle2 = bundle_pem();
	assert_string_equal(bundle2, new_root);
	assert_int_equal(ca_rotate_complete(&no, &err), CA_ERR_CONFLICT);
}

/* Renewal: only what expires within the window; same key; the old row points on. */
static void
test_renewal_window(void **state)
{
	_cleanup_json_ json_t *shortc = issue("short.example.test", 1, NULL);
	_cleanup_json_ json_t *longc = issue("long.example.test", 90, NULL);
	_cleanup_json_ json_t *old = NULL, *renewed = NULL, *l = NULL;
	_cleanup_free_ char *root = root_pem();
	struct dr_error err;
	X509 *a, *b;

	assert_int_equal(ca_renew_due(30, false, NULL, NULL, &err), 1);
	old = ca_cert_get(str(shortc, "serial"), &err);
	assert_string_equal(str(old, "state"), "renewed");
	renewed = ca_cert_get(str(old, "superseded_by"), &err);
	assert_non_null(renewed);
	assert_string_equal(str(renewed, "state"), "valid");
	assert_string_equal(str(renewed, "host"), "short.example.test");
	assert_int_equal(
	    verify(str(renewed, "certificate"), str(renewed, "chain"), root, NULL), 0);
	a = pem_cert(str(shortc, "certificate"));
	b = pem_cert(str(renewed, "certificate"));
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(a), X509_get0_pubkey(b)), 1);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(a), X509_get_subject_name(b)), 0);
	assert_true(json_equal(json_object_get(shortc, "sans"), json_object_get(renewed, "sans")));
	/* The same length of validity, counted from now. */
	assert_true(json_integer_value(json_object_get(renewed, "not_after")) >=
	    (int64_t)time(NULL) + 86400 - 5);
	X509_free(a);
	X509_free(b);
	l = ca_cert_get(str(longc, "serial"), &err);
	assert_string_equal(str(l, "state"), "valid");
	/* Nothing has expired; a wider window takes the 90-day one too. */
	assert_int_equal(ca_renew_due(0, false, NULL, NULL, &err), 0);
	assert_int_equal(ca_renew_due(100, false, NULL, NULL, &err), 2);
	assert_int_equal(ca_renew_due(-1, false, NULL, NULL, &err), CA_ERR_INPUT);
}

/* A CSR for a fresh P-256 key, signed by it (or, with tamper, with its signature broken). */
static char *
make_csr(EVP_PKEY **ret_key, bool tamper)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;
	char *pem;

	X509_NAME_add_entry_by_txt(
	    name, "CN", MBSTRING_UTF8, (const unsigned char *)"csr", -1, -1, 0);
	X509_REQ_set_subject_name(req, name);
	X509_REQ_set_pubkey(req, key);
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	if (tamper) {
		/* Sign, then change the subject: the signature no longer matches. */
		X509_NAME_add_entry_by_txt(
		    name, "O", MBSTRING_UTF8, (const unsigned char *)"forged", -1, -1, 0);
		X509_REQ_set_subject_name(req, name);
	}
	PEM_write_bio_X509_REQ(bio, req);
	n = BIO_get_mem_data(bio, &data);
	pem = xstrndup(data, (size_t)n);
	BIO_free(bio);
	X509_NAME_free(name);
	X509_REQ_free(req);
	*ret_key = key;
	return pem;
}

/* A CSR is certified only when its signature verifies; names come from the request. */
static void
test_csr(void **state)
{
	EVP_PKEY *key = NULL, *key2 = NULL;
	_cleanup_free_ char *csr = make_csr(&key, false), *bad = make_csr(&key2, true);
	struct ca_host_req r = {.host = "csr.example.test", .csr = csr};
	_cleanup_json_ json_t *cert = NULL;
	json_t *none = NULL;
	struct dr_error err;
	X509 *x;
	char cn[64];

	assert_int_equal(ca_host_issue(&r, &cert, &err), 0);
	assert_null(json_object_get(cert, "key"));
	x = pem_cert(str(cert, "certificate"));
	assert_int_equal(X509_check_private_key(x, key), 1);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
	assert_string_equal(cn, "csr.example.test");
	X509_free(x);

	r.csr = bad;
	assert_int_equal(ca_host_issue(&r, &none, &err), CA_ERR_INPUT);
	assert_string_equal(err.msg, "csr: its signature does not verify");
	r.csr = "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n";
	assert_int_equal(ca_host_issue(&r, &none, &err), CA_ERR_INPUT);
	assert_non_null(strstr(err.msg, "csr: not a PEM certificate request"));
	r.csr = csr;
	r.public_key = "x";
	assert_int_equal(ca_host_issue(&r, &none, &err), CA_ERR_INPUT);
	assert_non_null(strstr(err.msg, "not both"));
	EVP_PKEY_free(key);
	EVP_PKEY_free(key2);
}

/* With a public URL, certificates point at their issuer's DER CRL, which is served. */
static void
test_crl_url(void **state)
{
	_cleanup_json_ json_t *cert = NULL, *cert2 = NULL, *none = NULL;
	_cleanup_free_ unsigned char *der = NULL;
	_cleanup_free_ char *expect = NULL;
	const unsigned char *p;
	struct dr_error err;
	size_t len = 0;
	X509_CRL *crl;
	X509 *x, *inter;

	assert_int_equal(ca_crl_url_set("http://drover.example.test:8080/", &err), 0);
	cert = issue("cdp.example.test", 0, NULL);
	x = pem_cert(str(cert, "certificate"));
	{
		STACK_OF(DIST_POINT) *dps =
		    X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
		GENERAL_NAME *g;
		assert_non_null(dps);
		assert_int_equal(sk_DIST_POINT_num(dps), 1);
		g = sk_GENERAL_NAME_value(
		    sk_DIST_POINT_value(dps, 0)->distpoint->name.fullname, 0);
		expect = xasprintf(
		    "http://drover.example.test:8080/ca/crl/%s.crl", str(cert, "issuer_key_id"));
		assert_string_equal(
		    (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier), expect);
		CRL_DIST_POINTS_free(dps);
	}
	X509_free(x);
	assert_int_equal(ca_cert_revoke(str(cert, "serial"), NULL, NULL, &err), 0);
	assert_int_equal(ca_crl_der(str(cert, "issuer_key_id"), &der, &len, &err), 0);
	p = der;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	assert_non_null(crl);
	inter = pem_cert(str(cert, "chain"));
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(inter)), 1);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
	X509_CRL_free(crl);
	X509_free(inter);
	_cleanup_free_ unsigned char *nothing = NULL;
	assert_int_equal(ca_crl_der("00ff", &nothing, &len, &err), CA_ERR_NOTFOUND);

	/* URLs that cannot go into a certificate. */
	assert_int_equal(ca_crl_url_set("ftp://x", &err), CA_ERR_INPUT);
	assert_int_equal(ca_crl_url_set("http://x,URI:http://evil", &err), CA_ERR_INPUT);
	assert_int_equal(ca_crl_url_set("http://x y", &err), CA_ERR_INPUT);
	/* Off again: no distribution point. */
	assert_int_equal(ca_crl_url_set(NULL, &err), 0);
	cert2 = issue("nocdp.example.test", 0, NULL);
	x = pem_cert(str(cert2, "certificate"));
	assert_null(X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL));
	X509_free(x);
}

#define ISSUE_THREADS 4
#define ISSUE_EACH 15

/* One issuing thread: ISSUE_EACH certificates; the count of failures in *arg. */
static void *
issue_thread(void *arg)
{
	int *failures = arg, i;

	for (i = 0; i < ISSUE_EACH; i++) {
		_cleanup_free_ char *host = xasprintf("t%p-%d.example.test", arg, i);
		struct ca_host_req r = {.host = host};
		struct dr_error err;
		json_t *cert = NULL;

		if (ca_host_issue(&r, &cert, &err) < 0)
			(*failures)++;
		json_decref(cert);
	}
	return NULL;
}

/* Threads issuing at once (as HTTP threads do) all succeed, with distinct serials. */
static void
test_concurrent_issue(void **state)
{
	pthread_t t[ISSUE_THREADS];
	int failures[ISSUE_THREADS] = {0}, i;
	_cleanup_json_ json_t *row = NULL;
	struct dr_error err;

	for (i = 0; i < ISSUE_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, issue_thread, &failures[i]), 0);
	for (i = 0; i < ISSUE_THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(failures[i], 0);
	}
	row = store_query_one(&err,
	    "SELECT COUNT(*) AS n, COUNT(DISTINCT serial) AS d FROM ca_certificates"
	    " WHERE kind = 'leaf'",
	    NULL);
	assert_int_equal(
	    json_integer_value(json_object_get(row, "n")), ISSUE_THREADS * ISSUE_EACH);
	assert_int_equal(
	    json_integer_value(json_object_get(row, "d")), ISSUE_THREADS * ISSUE_EACH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_root, setup_ca, teardown_ca),
	    cmocka_unit_test_setup_teardown(test_key_at_rest, setup_ca, teardown_ca),
	    cmocka_unit_test_setup_teardown(test_host_issue, setup_ca, teardown_ca),
	    cmocka_unit_test_setup_teardown(test_intermediate, setup_ca, teardown_ca),
	    cmocka_unit_test_setup_teardown(test_crl, setup_ca, teardown_ca),
	    cmocka_unit_test_setup_teardown(test_rotation, setup_ca, teardown_ca),
	    cmocka_unit_test_setup_teardown(test_renewal_window, setup_ca, teardown_ca),
	    cmocka_unit_test_setup_teardown(test_csr, setup_ca, teardown_ca),
	    cmocka_unit_test_setup_teardown(test_crl_url, setup_ca, teardown_ca),
	    cmocka_unit_test_setup_teardown(test_concurrent_issue, setup_ca, teardown_ca),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
