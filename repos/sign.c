/*
 * sign.c - OpenPGP with gpgme: Drover's own publishing key (made at first start in
 * <state_dir>/gnupg, exported at /content/drover.gpg) signs apt Release files; upstream
 * metadata is verified against a repository's key in a throwaway keyring that holds that
 * key alone, so no other key can make a signature good.
 */
#define LOG_COMPONENT "repos"
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <gpgme.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "repos/repos.h"

#define SIGN_UID "Drover repository signing key <drover@localhost>"

static char *sign_home;
static gpgme_key_t sign_key; /* the publishing key, listed once (each listing spawns gpg) */
#define SIGN_FPR (sign_key->subkeys->fpr)
static pthread_mutex_t sign_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sign_key_cond = PTHREAD_COND_INITIALIZER;
static pthread_t sign_key_tid;
static bool sign_key_started, sign_key_done;
static char sign_key_error[256];

/* A context on homedir; NULL on failure (err set). */
static gpgme_ctx_t
sign_ctx(const char *homedir, struct dr_error *err)
{
	gpgme_ctx_t ctx;
	gpgme_error_t e;

	if ((e = gpgme_new(&ctx)) != 0) {
		dr_error_set(err, "gpgme: %s", gpgme_strerror(e));
		return NULL;
	}
	if ((e = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL, homedir)) != 0) {
		gpgme_release(ctx);
		dr_error_set(err, "gpgme %s: %s", homedir, gpgme_strerror(e));
		return NULL;
	}
	gpgme_set_armor(ctx, 1);
	gpgme_set_pinentry_mode(ctx, GPGME_PINENTRY_MODE_LOOPBACK);
	return ctx;
}

/* gpgme data as a new NUL-terminated string; releases d. */
static char *
sign_data_take(gpgme_data_t d, size_t *ret_len)
{
	size_t len = 0;
	char *p = gpgme_data_release_and_get_mem(d, &len);
	char *s = xmalloc(len + 1);

	if (p != NULL)
		memcpy(s, p, len);
	s[len] = '\0';
	gpgme_free(p);
	if (ret_len != NULL)
		*ret_len = len;
	return s;
}

/* Find or make the publishing key in sign_home; sets sign_key. */
static int
sign_key_find_or_make(struct dr_error *err)
{
	gpgme_ctx_t ctx;
	gpgme_key_t key = NULL;
	gpgme_error_t e;

	if ((ctx = sign_ctx(sign_home, err)) == NULL)
		return -1;
	if (gpgme_op_keylist_start(ctx, NULL, 1) == 0 && gpgme_op_keylist_next(ctx, &key) == 0 &&
	    key != NULL && key->subkeys != NULL) {
		sign_key = key;
		gpgme_op_keylist_end(ctx);
		gpgme_release(ctx);
		return 0;
	}
	gpgme_key_unref(key);
	gpgme_op_keylist_end(ctx);
	e = gpgme_op_createkey(ctx, SIGN_UID, "rsa3072", 0, 0, NULL,
	    GPGME_CREATE_SIGN | GPGME_CREATE_NOPASSWD | GPGME_CREATE_NOEXPIRE);
	if (e == 0)
		e = gpgme_get_key(ctx, gpgme_op_genkey_result(ctx)->fpr, &key, 1);
	gpgme_release(ctx);
	if (e != 0)
		return dr_error_set(
		    err, "%s: cannot make the publishing key: %s", sign_home, gpgme_strerror(e));
	sign_key = key;
	log_info("made the repository publishing key %s in %s", SIGN_FPR, sign_home);
	return 0;
}

/* The key thread: making an RSA key takes about a second, listing one spawns gpg; neither
 * should hold up the daemon's start. Users of the key wait for it (sign_key_wait). */
static void *
sign_key_thread(void *arg)
{
	struct dr_error err;

	(void)arg;
	if (sign_key_find_or_make(&err) < 0)
		log_warnx("%s", err.msg);
	pthread_mutex_lock(&sign_lock);
	if (sign_key == NULL)
		str_copy(sign_key_error, err.msg, sizeof sign_key_error);
	sign_key_done = true;
	pthread_cond_broadcast(&sign_key_cond);
	pthread_mutex_unlock(&sign_lock);
	return NULL;
}

/* Wait for the key thread; -1 with its error when there is no key. */
static int
sign_key_wait(struct dr_error *err)
{
	int ret = 0;

	pthread_mutex_lock(&sign_lock);
	if (!sign_key_started)
		ret = dr_error_set(err, "no publishing key");
	else {
		while (!sign_key_done)
			pthread_cond_wait(&sign_key_cond, &sign_lock);
		if (sign_key == NULL)
			ret = dr_error_set(err, "%s", sign_key_error);
	}
	pthread_mutex_unlock(&sign_lock);
	return ret;
}

/* Start finding or making the publishing key in <state_dir>/gnupg, in the background. */
int
repo_sign_init(const char *state_dir, struct dr_error *err)
{
	int e;

	gpgme_check_version(NULL);
	free(sign_home);
	sign_home = xasprintf("%s/gnupg", state_dir);
	if (mkdir(sign_home, 0700) < 0 && errno != EEXIST)
		return dr_error_errno(err, "%s", sign_home);
	sign_key_done = false;
	if ((e = pthread_create(&sign_key_tid, NULL, sign_key_thread, NULL)) != 0) {
		errno = e;
		return dr_error_errno(err, "%s: starting the key thread", sign_home);
	}
	sign_key_started = true;
	return 0;
}

/* Run gpgconf --kill all on a home directory, so no agent outlives us. */
static void
sign_agent_kill(const char *homedir)
{
	char *argv[] = {"gpgconf", "--homedir", (char *)homedir, "--kill", "all", NULL};
	pid_t pid;
	int status;

	if (posix_spawnp(&pid, "gpgconf", NULL, NULL, argv, NULL) == 0)
		waitpid(pid, &status, 0);
}

/* Stop the agent gpg started for signing. */
void
repo_sign_shutdown(void)
{
	if (sign_key_started) {
		pthread_join(sign_key_tid, NULL);
		sign_key_started = false;
	}
	if (sign_home != NULL)
		sign_agent_kill(sign_home);
	free(sign_home);
	sign_home = NULL;
	gpgme_key_unref(sign_key);
	sign_key = NULL;
}

/* The armored public key; caller frees (NULL before init). */
char *
repo_sign_public_key(void)
{
	struct dr_error err;
	gpgme_ctx_t ctx;
	gpgme_data_t out;

	if (sign_key_wait(&err) < 0 || (ctx = sign_ctx(sign_home, &err)) == NULL)
		return NULL;
	gpgme_data_new(&out);
	if (gpgme_op_export(ctx, SIGN_FPR, 0, out) != 0) {
		gpgme_data_release(out);
		gpgme_release(ctx);
		return NULL;
	}
	gpgme_release(ctx);
	return sign_data_take(out, NULL);
}

/* Sign text with the publishing key: clear-signed or a detached armored signature. */
int
repo_sign_text(
    const char *text, size_t len, bool clear, char **ret, size_t *ret_len, struct dr_error *err)
{
	gpgme_ctx_t ctx;
	gpgme_data_t in, out;
	gpgme_error_t e;

	if (sign_key_wait(err) < 0 || (ctx = sign_ctx(sign_home, err)) == NULL)
		return -1;
	if ((e = gpgme_signers_add(ctx, sign_key)) != 0) {
		gpgme_release(ctx);
		return dr_error_set(err, "publishing key %s: %s", SIGN_FPR, gpgme_strerror(e));
	}
	gpgme_data_new_from_mem(&in, text, len, 0);
	gpgme_data_new(&out);
	/* One signer at a time keeps the agent simple. */
	pthread_mutex_lock(&sign_lock);
	e = gpgme_op_sign(ctx, in, out, clear ? GPGME_SIG_MODE_CLEAR : GPGME_SIG_MODE_DETACH);
	pthread_mutex_unlock(&sign_lock);
	gpgme_data_release(in);
	gpgme_release(ctx);
	if (e != 0) {
		gpgme_data_release(out);
		return dr_error_set(err, "signing: %s", gpgme_strerror(e));
	}
	*ret = sign_data_take(out, ret_len);
	return 0;
}

static int
sign_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

/* Stop the agent of a throwaway GNUPGHOME and remove it. */
static void
sign_home_drop(const char *home)
{
	sign_agent_kill(home);
	nftw(home, sign_rm, 8, FTW_DEPTH | FTW_PHYS);
}

/* Verify a detached or clear signature against one armored key. */
int
repo_sign_verify(const char *key, const char *data, size_t len, const char *sig, size_t sig_len,
    const char *what, char **ret_plain, size_t *ret_plain_len, struct dr_error *err)
{
	_cleanup_free_ char *home = repo_pool_tmp_path("gpg");
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t kd = NULL, sd = NULL, td = NULL, plain = NULL;
	gpgme_import_result_t ir;
	gpgme_verify_result_t vr;
	gpgme_signature_t s;
	gpgme_error_t e;
	bool good = false;
	int ret = -1;

	if (mkdir(home, 0700) < 0)
		return dr_error_errno(err, "%s", home);
	if ((ctx = sign_ctx(home, err)) == NULL)
		goto out;
	gpgme_data_new_from_mem(&kd, key, strlen(key), 0);
	if (gpgme_op_import(ctx, kd) != 0 || (ir = gpgme_op_import_result(ctx)) == NULL ||
	    ir->imported + ir->unchanged == 0) {
		dr_error_set(err, "%s: the repository's GPG key cannot be read", what);
		goto out;
	}
	if (sig != NULL) {
		gpgme_data_new_from_mem(&sd, sig, sig_len, 0);
		gpgme_data_new_from_mem(&td, data, len, 0);
		e = gpgme_op_verify(ctx, sd, td, NULL);
	} else {
		gpgme_data_new_from_mem(&sd, data, len, 0);
		gpgme_data_new(&plain);
		e = gpgme_op_verify(ctx, sd, NULL, plain);
	}
	vr = gpgme_op_verify_result(ctx);
	if (e != 0 || vr == NULL || vr->signatures == NULL) {
		dr_error_set(err, "%s: no valid OpenPGP signature%s%s", what, e ? ": " : "",
		    e ? gpgme_strerror(e) : "");
		goto out;
	}
	/* Signatures by keys we were not given (Debian signs with several) are ignored;
	 * a bad one fails, and at least one must be good. */
	for (s = vr->signatures; s != NULL; s = s->next) {
		if (gpgme_err_code(s->status) == GPG_ERR_NO_ERROR)
			good = true;
		else if (gpgme_err_code(s->status) != GPG_ERR_NO_PUBKEY) {
			dr_error_set(err, "%s: BAD signature (%s) by %s", what,
			    gpgme_strerror(s->status), s->fpr != NULL ? s->fpr : "unknown key");
			goto out;
		}
	}
	if (!good) {
		dr_error_set(err, "%s: not signed by the repository's GPG key", what);
		goto out;
	}
	if (plain != NULL && ret_plain != NULL) {
		*ret_plain = sign_data_take(plain, ret_plain_len);
		plain = NULL;
	}
	ret = 0;
out:
	gpgme_data_release(kd);
	gpgme_data_release(sd);
	gpgme_data_release(td);
	gpgme_data_release(plain);
	gpgme_release(ctx);
	sign_home_drop(home);
	return ret;
}

/*
 * Read OpenPGP public keys (armored or binary packets, len bytes) in a throwaway keyring:
 * their binary export (a keyring apt and mmdebstrap read) in *ret_bin and their
 * fingerprints, blank-separated, in *ret_fprs. Secret keys are refused. Errors name what.
 */
int
repo_sign_key_read(const char *key, size_t len, const char *what, char **ret_bin,
    size_t *ret_bin_len, char **ret_fprs, struct dr_error *err)
{
	char tmpl[] = "/tmp/drover-gpg-XXXXXX";
	const char *tmp = getenv("TMPDIR");
	_cleanup_free_ char *home = NULL;
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t kd = NULL, out = NULL;
	gpgme_import_result_t ir;
	gpgme_import_status_t is;
	struct buf fprs = BUF_INIT(0);
	int ret = -1;

	home = tmp != NULL && *tmp != '\0' && strlen(tmp) < 64
	    ? xasprintf("%s/drover-gpg-XXXXXX", tmp)
	    : xstrdup(tmpl);
	if (mkdtemp(home) == NULL)
		return dr_error_errno(err, "%s: a keyring directory", what);
	if ((ctx = sign_ctx(home, err)) == NULL)
		goto out;
	gpgme_data_new_from_mem(&kd, key, len, 0);
	if (gpgme_op_import(ctx, kd) != 0 || (ir = gpgme_op_import_result(ctx)) == NULL ||
	    ir->imported + ir->unchanged == 0) {
		dr_error_set(err, "%s: not an OpenPGP public key (armored or binary)", what);
		goto out;
	}
	if (ir->secret_read > 0) {
		dr_error_set(err, "%s: holds a secret key; give the public key only", what);
		goto out;
	}
	for (is = ir->imports; is != NULL; is = is->next)
		if (is->fpr != NULL && strstr(fprs.data != NULL ? fprs.data : "", is->fpr) == NULL)
			buf_addf(&fprs, "%s%s", fprs.len > 0 ? " " : "", is->fpr);
	gpgme_set_armor(ctx, 0);
	gpgme_data_new(&out);
	if (gpgme_op_export(ctx, NULL, GPGME_EXPORT_MODE_MINIMAL, out) != 0) {
		dr_error_set(err, "%s: the key cannot be exported", what);
		goto out;
	}
	*ret_bin = sign_data_take(out, ret_bin_len);
	out = NULL;
	*ret_fprs = fprs.data != NULL ? xstrdup(fprs.data) : xstrdup("");
	ret = 0;
out:
	buf_free(&fprs);
	gpgme_data_release(kd);
	gpgme_data_release(out);
	gpgme_release(ctx);
	sign_home_drop(home);
	return ret;
}
