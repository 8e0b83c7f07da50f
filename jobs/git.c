/*
 * git.c - playbooks from a git repository: "git+URL//PATH[@REF]" names the playbook PATH
 * inside the repository at URL (https, ssh or file), at REF (a branch, a tag or a commit;
 * default the remote's HEAD). droverd fetches with the real git, shallow (depth 1), into
 * one bare repository per URL under <state_dir>/git (later runs fetch only what changed),
 * under a time limit and a size limit, and checks the commit out into the job's private
 * directory, where the playbook finds its roles/ beside it.
 *
 * Credentials: an https:// URL's user:password is never kept in a job's params; the API
 * splits it off into a git credential (gitcred.c, encrypted at rest) and keeps the URL
 * without it and the credential's name. The fetch gets the credential from a credential
 * helper configured for the repository's scheme://host only: the helper reads it from a
 * sealed memfd of droverd's (by /proc/<droverd>/fd/N, which only droverd's user and root
 * may open), so the secret is on no command line, in no environment and in no file.
 */
#define LOG_COMPONENT "jobs"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "jobs/jobs.h"
#include "playbooks/playbooks.h"

static char *jobs_git_dir; /* <state_dir>/git */

/* Remember where the cache lives (jobs_init). */
void
jobs_git_init(const char *state_dir)
{
	free(jobs_git_dir);
	jobs_git_dir = xasprintf("%s/git", state_dir);
}

/* The URL with its user information (credentials) replaced by "***". */
char *
jobs_git_redact(const char *url)
{
	const char *s = strstr(url, "://"), *host, *at;

	if (s == NULL)
		return xstrdup(url);
	host = s + 3;
	at = strchr(host, '@');
	if (at == NULL || at > host + strcspn(host, "/"))
		return xstrdup(url);
	return xasprintf("%.*s***%s", (int)(host - url), url, at);
}

/* A %-escaped part of user information, decoded; NULL when it decodes to a NUL, a
 * newline or more than SECRET_MAX bytes (what a credential helper could not pass on). */
static char *
jobs_git_unescape(const char *s, size_t len)
{
	int n = 0;
	char *d = curl_easy_unescape(NULL, s, (int)len, &n);
	char *r = NULL;

	if (d != NULL && n >= 0 && (size_t)n <= SECRET_MAX && strlen(d) == (size_t)n &&
	    strpbrk(d, "\r\n") == NULL)
		r = xstrdup(d);
	if (d != NULL) {
		OPENSSL_cleanse(d, (size_t)(n > 0 ? n : 0));
		curl_free(d);
	}
	return r;
}

/*
 * Split an https:// URL's user information off: 1 with *ret_url the URL without it and
 * *ret_user, *ret_password (decoded; caller frees all three), 0 when the URL has none
 * (nothing set). An ssh:// URL keeps its user name (droverd logs in with its key) and may
 * not carry a password; an https:// one must give both.
 */
int
jobs_git_userinfo(const char *url, char **ret_url, char **ret_user, char **ret_password,
    struct dr_error *err)
{
	const char *s = strstr(url, "://"), *host, *at, *colon;
	_cleanup_free_ char *safe = jobs_git_redact(url);

	if (s == NULL)
		return 0;
	host = s + 3;
	at = strchr(host, '@');
	if (at == NULL || at > host + strcspn(host, "/"))
		return 0;
	colon = memchr(host, ':', (size_t)(at - host));
	if (str_has_prefix(url, "ssh://")) {
		if (colon != NULL)
			return dr_error_set(err,
			    "%s: an ssh:// URL takes a user name, not a password (droverd logs in "
			    "with its SSH key)",
			    safe);
		return 0;
	}
	if (!str_has_prefix(url, "https://"))
		return dr_error_set(err, "%s: only https:// URLs carry credentials", safe);
	if (colon == NULL || colon == host || colon + 1 == at)
		return dr_error_set(err,
		    "%s: give both a user name and a password or token (https://USER:TOKEN@…), or "
		    "a git credential by name",
		    safe);
	_cleanup_free_ char *user = jobs_git_unescape(host, (size_t)(colon - host));
	char *pass = jobs_git_unescape(colon + 1, (size_t)(at - colon - 1));
	if (user == NULL || pass == NULL) {
		secret_free(pass);
		return dr_error_set(err,
		    "%s: the user name or password has a NUL or a line break, or is longer than "
		    "%d bytes",
		    safe, SECRET_MAX);
	}
	*ret_url = xasprintf("%.*s%s", (int)(host - url), url, at + 1);
	*ret_user = TAKE_PTR(user);
	*ret_password = pass;
	return 1;
}

/* Parse "git+URL//PATH[@REF]". */
int
jobs_git_parse(const char *spec, json_t **ret, struct dr_error *err)
{
	static const char *const schemes[] = {"https://", "ssh://", "file://"};
	const char *u, *rest, *sep, *at;
	size_t i;

	if (strlen(spec) > JOBS_GIT_SPEC_MAX)
		return dr_error_set(err, "longer than %d bytes", JOBS_GIT_SPEC_MAX);
	if (strncmp(spec, "git+", 4) != 0)
		return dr_error_set(err, "expected git+URL//PATH[@REF]");
	u = spec + 4;
	for (i = 0; i < nitems(schemes); i++)
		if (strncmp(u, schemes[i], strlen(schemes[i])) == 0)
			break;
	if (i == nitems(schemes))
		return dr_error_set(err, "only https://, ssh:// and file:// URLs are fetched");
	rest = u + strlen(schemes[i]);
	/* file:///srv/repo.git//site.yml: the path starts with its own slash */
	sep = strstr(rest + (i == 2 && *rest == '/' ? 1 : 0), "//");
	if (sep == NULL || sep == rest)
		return dr_error_set(err,
		    "expected git+URL//PATH[@REF]: '//' separates the repository and the path");
	at = strrchr(sep + 2, '@');
	_cleanup_free_ char *url = xstrndup(u, (size_t)(sep - u));
	_cleanup_free_ char *path =
	    xstrndup(sep + 2, at ? (size_t)(at - sep - 2) : strlen(sep + 2));
	const char *ref = at ? at + 1 : "HEAD";
	if (i < 2 && *rest == '\0')
		return dr_error_set(err, "the URL names no host");
	if (*path == '\0' || *path == '/' || strcmp(path, "..") == 0 ||
	    strncmp(path, "../", 3) == 0 || strstr(path, "/../") != NULL ||
	    str_has_suffix(path, "/.."))
		return dr_error_set(err, "%s: the playbook path must stay inside the repository",
		    *path ? path : "(empty)");
	/* git check-ref-format's rules, and no option look-alike */
	if (*ref == '\0' || *ref == '-' || strstr(ref, "..") || strstr(ref, "@{") ||
	    strcspn(ref, " ~^:?*[\\\t\n") != strlen(ref) || str_has_suffix(ref, ".lock") ||
	    str_has_suffix(ref, "/") || str_has_suffix(ref, "."))
		return dr_error_set(err, "%s: not a git branch, tag or commit name", ref);
	if (strcspn(url, " \t\n'\"\\") != strlen(url) || url[strlen(url) - 1] == '/')
		return dr_error_set(err, "the repository URL has a blank, a quote or ends in /");
	*ret = json_pack("{s:s, s:s, s:s}", "url", url, "path", path, "ref", ref);
	return 0;
}

/* The cache's directory for a URL: <state_dir>/git/<sha256 of the URL>.git */
static char *
jobs_git_cache(const char *url)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (EVP_Digest(url, strlen(url), md, &n, EVP_sha256(), NULL) != 1)
		fatalx("EVP_Digest(sha256) failed");
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return xasprintf("%s/%s.git", jobs_git_dir, hex);
}

/* Run a git command line (a shell line) locally under the time limit; stdout to *out
 * (may be NULL); helper (may be NULL): a quoted -c option for a credential helper. Errors
 * cite what, and git's last line of stderr with the URL's credentials removed. */
static int
jobs_git_run(const char *line, const char *url, const char *index, const char *helper,
    const char *what, char **out, struct dr_error *err)
{
	struct conn *c = NULL;
	struct conn_result res = {0};
	struct conn_opts o = {.host = "localhost"};
	_cleanup_free_ char *safe = jobs_git_redact(url);
	_cleanup_free_ char *ident =
	    jobs_identity_path() ? conn_quote(jobs_identity_path()) : xstrdup("/dev/null");
	_cleanup_free_ char *kh = xasprintf("%s/known_hosts", jobs_git_dir);
	_cleanup_free_ char *qkh = conn_quote(kh);
	_cleanup_free_ char *qidx = index ? conn_quote(index) : NULL;
	_cleanup_free_ char *idxenv = index ? xasprintf(" GIT_INDEX_FILE=%s", qidx) : xstrdup("");
	_cleanup_free_ char *cmd = NULL;
	int r = -1;

	/* No prompt, no system or user config, only https/ssh/file, droverd's SSH key with
	 * the hosts in <state_dir>/git/known_hosts; files capped (ulimit -f, 512-byte
	 * blocks). */
	cmd = xasprintf("ulimit -f %lld && env -i PATH=/usr/bin:/bin HOME=/nonexistent"
	                " GIT_TERMINAL_PROMPT=0 GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null"
	                " GIT_ASKPASS=/bin/false SSH_ASKPASS=/bin/false%s"
	                " GIT_SSH_COMMAND=\"ssh -F none -o BatchMode=yes -o IdentitiesOnly=yes"
	                " -i %s -o StrictHostKeyChecking=yes -o UserKnownHostsFile=%s\""
	                " git -c protocol.allow=never -c protocol.https.allow=always"
	                " -c protocol.ssh.allow=always -c protocol.file.allow=always"
	                " -c core.symlinks=false -c advice.detachedHead=false%s%s %s",
	    (long long)(JOBS_GIT_FILE_MAX / 512), idxenv, ident, qkh, helper ? " -c " : "",
	    helper ? helper : "", line);
	if (conn_open("local", &o, &c, err) < 0)
		return -1;
	if (conn_exec(c, cmd, NULL, 0, JOBS_GIT_TIMEOUT, &res, err) < 0) {
		if (strstr(err->msg, "timed out"))
			dr_error_set(
			    err, "%s %s: no answer within %d s", what, safe, JOBS_GIT_TIMEOUT);
		goto out;
	}
	if (res.status != 0) {
		/* git's first "fatal:" line says it best, else its last line */
		char *e = str_trim(res.err), *last = strstr(e, "fatal: ");
		if (last == NULL) {
			char *nl = strrchr(e, '\n');
			last = nl ? nl + 1 : e;
		} else if (last > e && str_has_prefix(last, "fatal: Could not read from remote")) {
			/* ssh said why on the line before */
			last[-1] = '\0';
			char *nl = strrchr(e, '\n');
			last = nl ? nl + 1 : e;
		} else
			last[strcspn(last, "\n")] = '\0';
		_cleanup_free_ char *msg = xstrdup(*last ? last : "failed");
		/* credentials git may echo */
		const char *s = strstr(url, "://");
		const char *at = s ? strchr(s + 3, '@') : NULL;
		if (at != NULL && at < s + 3 + strcspn(s + 3, "/")) {
			_cleanup_free_ char *cred = xstrndup(s + 3, (size_t)(at - s - 3));
			char *hit;
			while ((hit = strstr(msg, cred)) != NULL) {
				memset(hit, '*', strlen(cred));
			}
		}
		if (res.status == 153 || res.status == 128 + 25)
			dr_error_set(err, "%s %s: a file passed %u MiB", what, safe,
			    JOBS_GIT_FILE_MAX >> 20);
		else
			dr_error_set(err, "%s %s: %s", what, safe, msg);
		goto out;
	}
	if (out != NULL)
		*out = xstrndup(res.out, res.out_len);
	r = 0;
out:
	conn_result_free(&res);
	conn_close(c);
	return r;
}

/*
 * A memfd holding git's credential answer ("username=…\npassword=…\n"), sealed against
 * change and closed on exec, or -1 with err set.
 */
static int
jobs_git_credfd(const char *name, struct dr_error *err)
{
	char *user = NULL, *pass = NULL, *text = NULL;
	int fd = -1;

	if (jobs_gitcred_open(name, &user, &pass, err) < 0)
		return -1;
	text = xasprintf("username=%s\npassword=%s\n", user, pass);
	fd = memfd_create("drover-git-credential", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		dr_error_errno(err, "git credential %s: memfd", name);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	secret_free(text);
	secret_free(pass);
	secret_free(user);
	return fd;
}

/* The quoted -c option that answers git's credential requests for url's scheme://host
 * (and no other host, should the server redirect) from droverd's descriptor fd. */
static char *
jobs_git_helper(const char *url, int fd)
{
	const char *host = strstr(url, "://") + 3;
	_cleanup_free_ char *opt = xasprintf("credential.%.*s.helper=!f() { test \"$1\" = get &&"
	                                     " cat /proc/%ld/fd/%d; }; f",
	    (int)(host - url + (ptrdiff_t)strcspn(host, "/")), url, (long)getpid(), fd);

	return conn_quote(opt);
}

/* Check out git's spec {url, path, ref} into dest (a new directory): fetch into the
 * cache, size the tree, write it. *ret_commit gets the commit's id (caller frees). */
int
jobs_git_checkout(const json_t *spec, const char *dest, char **ret_commit, struct dr_error *err)
{
	const char *url = json_string_value(json_object_get(spec, "url"));
	const char *ref = json_string_value(json_object_get(spec, "ref"));
	const char *path = json_string_value(json_object_get(spec, "path"));
	_cleanup_free_ char *cache = NULL, *lockp = NULL, *qcache = NULL, *qurl = NULL,
	                    *qref = NULL, *qdest = NULL, *line = NULL, *commit = NULL,
	                    *tree = NULL, *safe = NULL, *qidx = NULL, *idx = NULL,
	                    *helper = NULL, *fetch_what = NULL;
	const char *cred = json_string_value(json_object_get(spec, "credential"));
	int lock = -1, r = -1, credfd = -1;
	struct stat st;

	if (jobs_git_dir == NULL)
		return dr_error_set(err, "git: droverd's state directory is not set");
	if (url == NULL || ref == NULL || path == NULL)
		return dr_error_set(err, "playbook_git: expected {url, path, ref}");
	safe = jobs_git_redact(url);
	if (cred != NULL && !str_has_prefix(url, "https://"))
		return dr_error_set(err, "%s: a git credential is for https:// URLs", safe);
	if (cred == NULL && str_has_prefix(url, "https://") && strcmp(safe, url) != 0)
		return dr_error_set(err,
		    "%s: credentials in a job's URL are not used: name a git credential", safe);
	fetch_what = cred ? xasprintf("git fetch (credential %s) of", cred) : xstrdup("git fetch of");
	if (mkdir(jobs_git_dir, 0700) < 0 && errno != EEXIST)
		return dr_error_errno(err, "%s", jobs_git_dir);
	cache = jobs_git_cache(url);
	lockp = xasprintf("%s.lock", cache);
	/* one job at a time per repository; others wait their turn */
	if ((lock = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    flock(lock, LOCK_EX) < 0) {
		dr_error_errno(err, "%s", lockp);
		goto out;
	}
	qcache = conn_quote(cache);
	qurl = conn_quote(url);
	qref = conn_quote(ref);
	if (stat(cache, &st) < 0) {
		line = xasprintf("init -q --bare %s", qcache);
		if (jobs_git_run(line, url, NULL, NULL, "git init for", NULL, err) < 0)
			goto out;
		free(line);
		line = NULL;
	}
	/* A commit id fetched before needs no network. */
	if (strlen(ref) == 40 && strspn(ref, "0123456789abcdef") == 40) {
		struct dr_error ignored;
		free(line);
		line = xasprintf("-C %s rev-parse --verify -q %s^{commit}", qcache, ref);
		if (jobs_git_run(line, url, NULL, NULL, "git rev-parse in", &commit, &ignored) == 0)
			str_trim(commit);
	}
	if (commit == NULL && cred != NULL && (credfd = jobs_git_credfd(cred, err)) < 0)
		goto out;
	if (commit == NULL) {
		free(line);
		/* --no-write-fetch-head, a ref of our own: jobs on other URLs do not mix */
		line =
		    xasprintf("-C %s fetch -q --depth 1 --no-tags --no-write-fetch-head %s +%s:%s",
		        qcache, qurl, qref, "refs/drover/fetched");
		if (credfd >= 0)
			helper = jobs_git_helper(url, credfd);
		if (jobs_git_run(line, url, NULL, helper, fetch_what, NULL, err) < 0) {
			if (strstr(err->msg, "couldn't find remote ref") ||
			    strstr(err->msg, "not our ref") ||
			    strstr(err->msg, "no such remote ref"))
				dr_error_set(err, "%s has no branch, tag or commit %s", safe, ref);
			goto out;
		}
		free(line);
		line =
		    xasprintf("-C %s rev-parse --verify -q refs/drover/fetched^{commit}", qcache);
		if (jobs_git_run(line, url, NULL, NULL, "git rev-parse in", &commit, err) < 0)
			goto out;
		str_trim(commit);
	}
	/* the tree's size before a byte is written */
	free(line);
	line = xasprintf("-C %s ls-tree -r -l %s", qcache, commit);
	if (jobs_git_run(line, url, NULL, NULL, "git ls-tree in", &tree, err) < 0)
		goto out;
	{
		long long total = 0, files = 0;
		bool found = false;
		char *l, *save = NULL;
		for (l = strtok_r(tree, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			char mode[16], type[16], oid[80], size[32];
			char *tab = strchr(l, '\t');
			if (tab == NULL ||
			    sscanf(l, "%15s %15s %79s %31s", mode, type, oid, size) != 4)
				continue;
			total += atoll(size);
			files++;
			found |= strcmp(tab + 1, path) == 0 && strcmp(type, "blob") == 0;
		}
		if (total > JOBS_GIT_TREE_MAX || files > JOBS_GIT_FILES_MAX) {
			dr_error_set(err,
			    "%s at %s: %lld files, %lld bytes: more than %d files or %u MiB", safe,
			    ref, files, total, JOBS_GIT_FILES_MAX, JOBS_GIT_TREE_MAX >> 20);
			goto out;
		}
		if (!found) {
			dr_error_set(err, "%s at %s (commit %.12s) has no file %s", safe, ref,
			    commit, path);
			goto out;
		}
	}
	if (mkdir(dest, 0700) < 0) {
		dr_error_errno(err, "%s", dest);
		goto out;
	}
	idx = xasprintf("%s.index", dest);
	qidx = conn_quote(idx);
	qdest = conn_quote(dest);
	free(line);
	line = xasprintf("--git-dir=%s --work-tree=%s read-tree --index-output=%s %s", qcache,
	    qdest, qidx, commit);
	if (jobs_git_run(line, url, NULL, NULL, "git checkout of", NULL, err) < 0)
		goto out;
	free(line);
	line = xasprintf("--git-dir=%s --work-tree=%s checkout-index -a -f", qcache, qdest);
	if (jobs_git_run(line, url, idx, NULL, "git checkout of", NULL, err) < 0)
		goto out;
	(void)unlink(idx);
	*ret_commit = TAKE_PTR(commit);
	r = 0;
out:
	if (credfd >= 0)
		close(credfd);
	if (lock >= 0)
		close(lock);
	return r;
}
