/* identity.c - droverd's SSH key: made at first start, used by every remote job. */
#define LOG_COMPONENT "jobs"
#include "config.h"

#include <errno.h>
#include <libssh/libssh.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobs/jobs.h"

static char *jobs_identity_file;
static char *jobs_identity_pub;

/* Make a new ed25519 key at path (0600) and its .pub (0644); ed25519 takes microseconds. */
static int
jobs_identity_make(const char *path, const char *pubpath, struct dr_error *err)
{
	ssh_key key = NULL;
	char *b64 = NULL, host[256] = "droverd";
	_cleanup_free_ char *line = NULL, *tmp = xasprintf("%s.new", path);
	int r = -1;

	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK)
		return dr_error_set(err, "%s: cannot generate an ed25519 key", path);
	(void)unlink(tmp);
	/* libssh writes with the process umask: keep the private key ours only. */
	mode_t old = umask(077);
	int w = ssh_pki_export_privkey_file(key, NULL, NULL, NULL, tmp);
	umask(old);
	if (w != SSH_OK) {
		dr_error_set(err, "%s: cannot write the private key", tmp);
		goto out;
	}
	if (chmod(tmp, 0600) < 0 || rename(tmp, path) < 0) {
		dr_error_errno(err, "%s", path);
		goto out;
	}
	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) {
		dr_error_set(err, "%s: cannot export the public key", path);
		goto out;
	}
	gethostname(host, sizeof host - 1);
	host[sizeof host - 1] = '\0';
	line = xasprintf("ssh-ed25519 %s drover@%s\n", b64, host);
	r = file_write_atomic(pubpath, line, strlen(line), 0644, err);
out:
	(void)unlink(tmp);
	ssh_string_free_char(b64);
	ssh_key_free(key);
	return r;
}

/* Load, or make on first start, droverd's key under state_dir. */
int
jobs_identity_init(const char *state_dir, struct dr_error *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/" JOBS_IDENTITY_DIR, state_dir);
	_cleanup_free_ char *path = xasprintf("%s/" JOBS_IDENTITY_FILE, dir);
	_cleanup_free_ char *pubpath = xasprintf("%s.pub", path);
	char *text = NULL;
	ssh_key key = NULL;
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return dr_error_errno(err, "%s", dir);
	if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			return dr_error_errno(err, "%s", path);
		if (jobs_identity_make(path, pubpath, err) < 0)
			return -1;
	} else if ((st.st_mode & 077) != 0) {
		return dr_error_set(err,
		    "%s: the private key is readable by others (mode %03o); chmod 600 it", path,
		    (unsigned)(st.st_mode & 0777));
	}
	if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &key) != SSH_OK)
		return dr_error_set(
		    err, "%s: not an OpenSSH private key without passphrase", path);
	ssh_key_free(key);
	if (file_read(pubpath, JOBS_SSH_KEY_MAX, &text, NULL, err) < 0) {
		/* The .pub was lost: derive it again from the private key. */
		ssh_key pub = NULL;
		char *b64 = NULL;
		if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &key) != SSH_OK ||
		    ssh_pki_export_privkey_to_pubkey(key, &pub) != SSH_OK ||
		    ssh_pki_export_pubkey_base64(pub, &b64) != SSH_OK) {
			ssh_key_free(key);
			ssh_key_free(pub);
			return dr_error_set(err, "%s: cannot derive the public key", path);
		}
		char host[256] = "droverd";
		gethostname(host, sizeof host - 1);
		host[sizeof host - 1] = '\0';
		text = xasprintf("ssh-ed25519 %s drover@%s\n", b64, host);
		ssh_string_free_char(b64);
		ssh_key_free(key);
		ssh_key_free(pub);
		if (file_write_atomic(pubpath, text, strlen(text), 0644, err) < 0) {
			free(text);
			return -1;
		}
	}
	free(jobs_identity_file);
	free(jobs_identity_pub);
	jobs_identity_file = TAKE_PTR(path);
	jobs_identity_pub = xstrdup(str_trim(text));
	free(text);
	return 0;
}

/* The private key's path, or NULL. */
const char *
jobs_identity_path(void)
{
	return jobs_identity_file;
}

/* The public key line, or NULL. */
const char *
jobs_identity_public(void)
{
	return jobs_identity_pub;
}
