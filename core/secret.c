/* secret.c - credentials encrypted at rest (BMC passwords, git credentials): AES-256-GCM
 * with a key kept in the state directory, so a copy of the database alone does not give
 * them away. One key per state directory, shared by every subsystem. */
#define LOG_COMPONENT "core"
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/core.h"

#define SECRET_PREFIX "enc:v1:"
#define SECRET_KEY_LEN 32
#define SECRET_IV_LEN 12
#define SECRET_TAG_LEN 16

static unsigned char secret_key[SECRET_KEY_LEN];
static bool secret_ready;
static char *secret_dir; /* the directory the key came from; NULL: a process key */
static pthread_mutex_t secret_lock = PTHREAD_MUTEX_INITIALIZER;

/* Load <dir>/secret.key, creating it (0600) on first start; dir NULL: a key for this
 * process only (tests). Again with the same dir: nothing to do (each subsystem that seals
 * calls it at start). */
int
secret_init(const char *dir, struct dr_error *err)
{
	_cleanup_free_ char *path = NULL, *data = NULL;
	size_t len = 0;

	pthread_mutex_lock(&secret_lock);
	if (secret_ready && dir != NULL && secret_dir != NULL && strcmp(dir, secret_dir) == 0) {
		pthread_mutex_unlock(&secret_lock);
		return 0;
	}
	free(secret_dir);
	secret_dir = NULL;
	if (dir == NULL) {
		if (getrandom(secret_key, sizeof secret_key, 0) != (ssize_t)sizeof secret_key) {
			pthread_mutex_unlock(&secret_lock);
			return dr_error_errno(err, "secret key");
		}
		secret_ready = true;
		pthread_mutex_unlock(&secret_lock);
		return 0;
	}
	path = xasprintf("%s/secret.key", dir);
	if (file_read(path, 1024, &data, &len, NULL) == 0) {
		if (len != SECRET_KEY_LEN) {
			pthread_mutex_unlock(&secret_lock);
			return dr_error_set(err, "%s: expected %d bytes", path, SECRET_KEY_LEN);
		}
		memcpy(secret_key, data, SECRET_KEY_LEN);
	} else {
		if (getrandom(secret_key, sizeof secret_key, 0) != (ssize_t)sizeof secret_key ||
		    file_write_atomic(path, secret_key, sizeof secret_key, 0600, err) < 0) {
			pthread_mutex_unlock(&secret_lock);
			return dr_error_prefix(err, "secret key");
		}
	}
	secret_dir = xstrdup(dir);
	secret_ready = true;
	pthread_mutex_unlock(&secret_lock);
	return 0;
}

/* True when s is an encrypted value. */
bool
secret_is_sealed(const char *s)
{
	return s != NULL && str_has_prefix(s, SECRET_PREFIX);
}

/* Encrypt plain into "enc:v1:<base64 iv|ciphertext|tag>". Caller frees. */
char *
secret_seal(const char *plain)
{
	unsigned char buf[SECRET_IV_LEN + SECRET_MAX + SECRET_TAG_LEN];
	unsigned char out[((sizeof buf + 2) / 3) * 4 + 1];
	size_t n = strlen(plain);
	EVP_CIPHER_CTX *c;
	int len = 0, fin = 0;

	if (!secret_ready || n > SECRET_MAX)
		return NULL;
	if (getrandom(buf, SECRET_IV_LEN, 0) != SECRET_IV_LEN)
		return NULL;
	c = EVP_CIPHER_CTX_new();
	if (c == NULL || EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, secret_key, buf) != 1 ||
	    EVP_EncryptUpdate(
	        c, buf + SECRET_IV_LEN, &len, (const unsigned char *)plain, (int)n) != 1 ||
	    EVP_EncryptFinal_ex(c, buf + SECRET_IV_LEN + len, &fin) != 1 ||
	    EVP_CIPHER_CTX_ctrl(
	        c, EVP_CTRL_GCM_GET_TAG, SECRET_TAG_LEN, buf + SECRET_IV_LEN + len + fin) != 1) {
		EVP_CIPHER_CTX_free(c);
		return NULL;
	}
	EVP_CIPHER_CTX_free(c);
	EVP_EncodeBlock(out, buf, SECRET_IV_LEN + len + fin + SECRET_TAG_LEN);
	return xasprintf("%s%s", SECRET_PREFIX, out);
}

/* Decrypt a sealed value (a plain one is returned as it is). NULL when it does not open
 * with this key. Caller frees. */
char *
secret_open(const char *sealed)
{
	unsigned char raw[SECRET_IV_LEN + SECRET_MAX + SECRET_TAG_LEN + 4];
	unsigned char plain[SECRET_MAX + 1];
	const char *b64;
	size_t blen;
	int rawlen, len = 0, fin = 0, clen;
	EVP_CIPHER_CTX *c;

	if (sealed == NULL)
		return NULL;
	if (!secret_is_sealed(sealed))
		return xstrdup(sealed);
	b64 = sealed + strlen(SECRET_PREFIX);
	blen = strlen(b64);
	if (!secret_ready || blen % 4 != 0 || blen / 4 * 3 > sizeof raw)
		return NULL;
	rawlen = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)blen);
	if (blen >= 1 && b64[blen - 1] == '=')
		rawlen--;
	if (blen >= 2 && b64[blen - 2] == '=')
		rawlen--;
	clen = rawlen - SECRET_IV_LEN - SECRET_TAG_LEN;
	if (clen < 0 || clen > SECRET_MAX)
		return NULL;
	c = EVP_CIPHER_CTX_new();
	if (c == NULL || EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, secret_key, raw) != 1 ||
	    EVP_DecryptUpdate(c, plain, &len, raw + SECRET_IV_LEN, clen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(
	        c, EVP_CTRL_GCM_SET_TAG, SECRET_TAG_LEN, raw + SECRET_IV_LEN + clen) != 1 ||
	    EVP_DecryptFinal_ex(c, plain + len, &fin) != 1) {
		EVP_CIPHER_CTX_free(c);
		return NULL;
	}
	EVP_CIPHER_CTX_free(c);
	plain[len + fin] = '\0';
	return xstrdup((char *)plain);
}

void
secret_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}
