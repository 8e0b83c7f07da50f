/*
 * apt.c - the Debian repository format: sync reads InRelease (or Release + Release.gpg),
 * verified against the repository's key when one is set, then the Packages index of each
 * component and architecture (xz, gz or plain; by-hash when upstream offers it), checked
 * against the SHA256 the signed Release lists. publish serves upstream's signed index
 * as-is (mirror_complete) or writes Packages, Release, and InRelease/Release.gpg signed
 * with Drover's own key, with by-hash copies under SHA256 and SHA512.
 */
#define LOG_COMPONENT "repos"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "repos/repos.h"

#define APT_BATCH 2000

struct apt_parse {
	struct repo_sync *s;
	const char *component;
	size_t n, skipped;
};

static int
apt_package(void *ctx, const struct repo_pkg *pkg, struct dr_error *err)
{
	struct apt_parse *p = ctx;
	struct repo_pkg copy = *pkg;

	if (!repo_name_wanted(p->s->repo, pkg->name)) {
		p->skipped++;
		return 0;
	}
	copy.component = p->component;
	if (repo_sync_unit_add(p->s, "deb", &copy, NULL, err) < 0)
		return -1;
	/* Advisories name source packages: remember which binaries each one builds. */
	{
		json_t *bins = json_object_get(p->s->sources, pkg->source);
		if (bins == NULL)
			json_object_set_new(p->s->sources, pkg->source, bins = json_array());
		json_array_append_new(
		    bins, json_pack("{s:s, s:s}", "name", pkg->name, "arch", pkg->arch));
	}
	if (++p->n % APT_BATCH != 0)
		return 0;
	if (store_commit(err) < 0)
		return -1;
	return store_begin(err);
}

/* Fetch a file of the distribution; *ret_missing is set on a 404 (err set too). */
static int
apt_fetch(struct repo_sync *s, const char *base, const char *rel, uint64_t max, const char *sha256,
    char **ret_path, bool *ret_missing, struct dr_error *err)
{
	_cleanup_free_ char *url = repo_url_join(base, rel);
	int r = repo_sync_fetch(s, url, max, sha256, ret_path, err);

	if (ret_missing != NULL)
		*ret_missing = r < 0 && strstr(err->msg, "HTTP 404") != NULL;
	return r;
}

/* The Packages index to read for comp/arch from the Release file list: xz, gz, plain. */
static const json_t *
apt_pick_index(const json_t *files, const char *comp, const char *arch, char **ret_rel)
{
	static const char *const suffixes[] = {".xz", ".gz", ""};
	size_t i, j;
	json_t *f;

	for (i = 0; i < nitems(suffixes); i++) {
		_cleanup_free_ char *want =
		    xasprintf("%s/binary-%s/Packages%s", comp, arch, suffixes[i]);
		json_array_foreach(files, j, f)
		{
			if (strcmp(json_string_value(json_object_get(f, "path")), want) == 0) {
				*ret_rel = TAKE_PTR(want);
				return f;
			}
		}
	}
	return NULL;
}

static int
apt_sync(struct repo_sync *s, struct dr_error *err)
{
	const char *url = json_string_value(json_object_get(s->repo, "url"));
	const char *dist = json_string_value(json_object_get(s->repo, "distribution"));
	const char *key = json_string_value(json_object_get(s->repo, "gpg_key"));
	const char *known = json_string_value(json_object_get(s->repo, "upstream_checksum"));
	_cleanup_free_ char *base = xasprintf("%s/dists/%s", url, dist);
	_cleanup_free_ char *inrel = NULL, *rel = NULL, *gpg = NULL, *plain = NULL;
	_cleanup_free_ char *comps =
	    xstrdup(json_string_value(json_object_get(s->repo, "components")));
	_cleanup_free_ char *archs_text =
	    xstrdup(json_string_value(json_object_get(s->repo, "architectures")));
	_cleanup_json_ json_t *release = NULL;
	struct buf text = BUF_INIT(REPO_REPOMD_MAX), sig = BUF_INIT(1u << 20);
	struct apt_parse p = {s, NULL, 0, 0};
	char hex[129], *save = NULL, *comp;
	bool missing = false, by_hash;
	const char *index;
	int ret = -1;

	if (apt_fetch(s, base, "InRelease", REPO_REPOMD_MAX, NULL, &inrel, &missing, err) < 0) {
		if (!missing)
			goto out;
		if (apt_fetch(s, base, "Release", REPO_REPOMD_MAX, NULL, &rel, NULL, err) < 0)
			goto out;
		if (apt_fetch(s, base, "Release.gpg", 1u << 20, NULL, &gpg, &missing, err) < 0) {
			if (key != NULL || !missing)
				goto out;
			free(gpg);
			gpg = NULL;
		}
	}
	index = inrel != NULL ? inrel : rel;
	if (repo_zread_file(index, inrel ? "InRelease" : "Release", REPO_REPOMD_MAX, &text, err) <
	    0)
		goto out;
	if (key != NULL && inrel != NULL) {
		if (repo_sign_verify(
		        key, text.data, text.len, NULL, 0, "InRelease", &plain, NULL, err) < 0)
			goto out;
		job_printf(s->job, "InRelease: good signature\n");
	} else if (key != NULL) {
		if (repo_zread_file(gpg, "Release.gpg", 1u << 20, &sig, err) < 0 ||
		    repo_sign_verify(key, text.data, text.len, sig.data, sig.len, "Release", NULL,
		        NULL, err) < 0)
			goto out;
		plain = xstrdup(text.data);
		job_printf(s->job, "Release: good signature\n");
	} else if (inrel != NULL) {
		if ((plain = repo_deb_cleartext(text.data, text.len)) == NULL) {
			dr_error_set(err, "%s/InRelease: not a clear-signed message", base);
			goto out;
		}
	} else {
		plain = xstrdup(text.data);
	}
	repo_pool_digest("sha256", text.data, text.len, hex, NULL);
	s->upstream_checksum = xstrdup(hex);
	/* With an advisory feed the index alone does not say nothing changed. */
	if (known != NULL && strcmp(known, hex) == 0 &&
	    json_string_value(json_object_get(s->repo, "errata_url")) == NULL &&
	    json_integer_value(json_object_get(s->repo, "latest_version_id")) > 0) {
		ret = 1;
		goto out;
	}
	if (repo_deb_release_parse(
	        plain, strlen(plain), inrel ? "InRelease" : "Release", &release, err) < 0)
		goto out;
	by_hash = json_is_string(
	              json_object_get(json_object_get(release, "fields"), "Acquire-By-Hash")) &&
	    strcmp(json_string_value(
	               json_object_get(json_object_get(release, "fields"), "Acquire-By-Hash")),
	        "yes") == 0;
	for (comp = strtok_r(comps, ",", &save); comp != NULL; comp = strtok_r(NULL, ",", &save)) {
		_cleanup_free_ char *archs = xstrdup(archs_text);
		char *save2 = NULL, *arch;

		for (arch = strtok_r(archs, ",", &save2); arch != NULL;
		     arch = strtok_r(NULL, ",", &save2)) {
			_cleanup_free_ char *relpath = NULL, *path = NULL, *fetch = NULL;
			_cleanup_free_ char *published = NULL;
			const json_t *f = apt_pick_index(
			    json_object_get(release, "files"), comp, arch, &relpath);
			const char *sha;
			struct stat st;
			int r;

			if (f == NULL) {
				dr_error_set(err,
				    "%s: component %s, architecture %s: no Packages "
				    "index in the Release file",
				    base, comp, arch);
				goto out;
			}
			sha = json_string_value(json_object_get(f, "sha256"));
			fetch = by_hash
			    ? xasprintf("%s/binary-%s/by-hash/SHA256/%s", comp, arch, sha)
			    : xstrdup(relpath);
			if (apt_fetch(s, base, fetch,
			        (uint64_t)json_integer_value(json_object_get(f, "size")), sha,
			        &path, NULL, err) < 0)
				goto out;
			if (stat(path, &st) < 0) {
				dr_error_errno(err, "%s", path);
				goto out;
			}
			p.component = comp;
			if (store_begin(err) < 0)
				goto out;
			r = repo_deb_packages(path, relpath,
			    repo_zread_limit((uint64_t)st.st_size, 0), apt_package, &p, err);
			if (r < 0 || store_commit(err) < 0) {
				store_rollback();
				goto out;
			}
			published = xasprintf("dists/%s/%s", dist, relpath);
			if (repo_sync_upstream_add(s, path, published, "packages", NULL, err) < 0)
				goto out;
		}
	}
	repo_sync_downloads_close(s);
	{
		_cleanup_free_ char *p1 = xasprintf("dists/%s/InRelease", dist);
		_cleanup_free_ char *p2 = xasprintf("dists/%s/Release", dist);
		_cleanup_free_ char *p3 = xasprintf("dists/%s/Release.gpg", dist);
		if ((inrel != NULL &&
		        repo_sync_upstream_add(s, inrel, p1, "index", NULL, err) < 0) ||
		    (rel != NULL && repo_sync_upstream_add(s, rel, p2, "index", NULL, err) < 0) ||
		    (gpg != NULL && repo_sync_upstream_add(s, gpg, p3, "index", NULL, err) < 0))
			goto out;
	}
	if (json_string_value(json_object_get(s->repo, "errata_url")) != NULL &&
	    repo_osv_import(s, json_string_value(json_object_get(s->repo, "errata_url")), err) < 0)
		goto out;
	if (p.skipped > 0)
		job_printf(
		    s->job, "%zu packages left out by include/exclude patterns\n", p.skipped);
	ret = 0;
out:
	buf_free(&text);
	buf_free(&sig);
	return ret;
}

/* Record a pool file under another path of the version (by-hash copies). */
static int
apt_file_alias(
    int64_t vid, const char *path, const char *sha256, size_t size, struct dr_error *err)
{
	return store_execf(NULL, NULL, err,
	    "INSERT INTO repo_version_files (version_id, path, sha256, size) VALUES (?, ?, ?, ?)"
	    " ON CONFLICT (version_id, path) DO NOTHING",
	    "[IssI]", (json_int_t)vid, path, sha256, (json_int_t)size);
}

/* The directory part of path; caller frees. */
static char *
apt_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
}

/* Serve upstream's index files and Packages as they are, with by-hash paths. */
static int
apt_publish_upstream(int64_t vid, struct dr_error *err)
{
	_cleanup_json_ json_t *rows = NULL;
	size_t i;
	json_t *r;

	if (store_queryf(&rows, err,
	        "SELECT path, type, sha256, size FROM repo_version_upstream WHERE version_id = ?",
	        "[I]", (json_int_t)vid) < 0)
		return -1;
	json_array_foreach(rows, i, r)
	{
		const char *path = json_string_value(json_object_get(r, "path"));
		const char *sha = json_string_value(json_object_get(r, "sha256"));
		size_t size = (size_t)json_integer_value(json_object_get(r, "size"));

		if (apt_file_alias(vid, path, sha, size, err) < 0)
			return -1;
		if (strcmp(json_string_value(json_object_get(r, "type")), "packages") == 0) {
			_cleanup_free_ char *dir = apt_dirname(path);
			_cleanup_free_ char *bh = xasprintf("%s/by-hash/SHA256/%s", dir, sha);
			if (apt_file_alias(vid, bh, sha, size, err) < 0)
				return -1;
		}
	}
	return 0;
}

/* Write one index file (and its by-hash copies); add its Release lines. */
static int
apt_index_write(int64_t vid, const char *dist, const char *rel, const void *data, size_t len,
    struct buf *sha256_lines, struct buf *sha512_lines, struct dr_error *err)
{
	_cleanup_free_ char *path = xasprintf("dists/%s/%s", dist, rel);
	_cleanup_free_ char *dir = apt_dirname(path), *b256 = NULL, *b512 = NULL;
	char sha[65], sha512[129];

	if (repo_version_file_add(vid, path, data, len, sha, err) < 0)
		return -1;
	repo_pool_digest("sha512", data, len, sha512, NULL);
	b256 = xasprintf("%s/by-hash/SHA256/%s", dir, sha);
	b512 = xasprintf("%s/by-hash/SHA512/%s", dir, sha512);
	if (apt_file_alias(vid, b256, sha, len, err) < 0 ||
	    apt_file_alias(vid, b512, sha, len, err) < 0)
		return -1;
	buf_addf(sha256_lines, " %s %16zu %s\n", sha, len, rel);
	buf_addf(sha512_lines, " %s %16zu %s\n", sha512, len, rel);
	return 0;
}

static int
apt_publish(const json_t *repo, int64_t vid, struct dr_error *err)
{
	const char *policy = json_string_value(json_object_get(repo, "mirroring_policy"));
	const char *dist = json_string_value(json_object_get(repo, "distribution"));
	const char *name = json_string_value(json_object_get(repo, "name"));
	_cleanup_free_ char *comps =
	    xstrdup(json_string_value(json_object_get(repo, "components")));
	_cleanup_free_ char *archs_text =
	    xstrdup(json_string_value(json_object_get(repo, "architectures")));
	_cleanup_free_ char *signed_text = NULL, *detached = NULL;
	_cleanup_json_ json_t *v = NULL;
	struct buf s256 = BUF_INIT(REPO_REPOMD_MAX), s512 = BUF_INIT(REPO_REPOMD_MAX);
	struct buf release = BUF_INIT(REPO_REPOMD_MAX);
	char *save = NULL, *comp, date[64];
	size_t slen = 0, dlen = 0;
	time_t now = time(NULL);
	struct tm tm;
	int ret = -1;

	if (strcmp(policy, "mirror_complete") == 0 &&
	    (v = store_query_one(err,
	         "SELECT id FROM repo_versions WHERE id = ? AND cv_version_id IS NULL", "[I]",
	         (json_int_t)vid)) != NULL)
		return apt_publish_upstream(vid, err);
	for (comp = strtok_r(comps, ",", &save); comp != NULL; comp = strtok_r(NULL, ",", &save)) {
		_cleanup_free_ char *archs = xstrdup(archs_text);
		char *save2 = NULL, *arch;

		for (arch = strtok_r(archs, ",", &save2); arch != NULL;
		     arch = strtok_r(NULL, ",", &save2)) {
			_cleanup_json_ json_t *params =
			    json_pack("[Iss]", (json_int_t)vid, comp, arch);
			struct buf text = BUF_INIT(REPO_META_MAX),
			           gz = BUF_INIT(REPO_META_FILE_MAX);
			_cleanup_free_ char *rel = xasprintf("%s/binary-%s/Packages", comp, arch);
			_cleanup_free_ char *relgz = xasprintf("%s.gz", rel);
			/* The index directory's own Release (Debian's layout): the installer's
			 * choose-mirror reads the architecture from it. */
			_cleanup_free_ char *relrel = xasprintf("%s/binary-%s/Release", comp, arch);
			_cleanup_free_ char *relrel_text = xasprintf(
			    "Archive: %s\nOrigin: Drover\nLabel: %s\nComponent: %s\n"
			    "Architecture: %s\n",
			    dist, name, comp, arch);
			int rc;

			if (repo_rows_cat("SELECT u.meta FROM repo_units u JOIN repo_version_units vu"
			                  " ON vu.unit_id = u.id WHERE vu.version_id = ? AND"
			                  " u.type = 'deb' AND u.component = ? AND"
			                  " (u.arch = ? OR u.arch = 'all') ORDER BY u.name, u.id",
			        params, &text, NULL, rel, err) < 0) {
				buf_free(&text);
				goto out;
			}
			rc = repo_zread_gzip(text.data ? text.data : "", text.len, &gz, err) < 0 ||
			        apt_index_write(vid, dist, rel, text.data ? text.data : "",
			            text.len, &s256, &s512, err) < 0 ||
			        apt_index_write(
			            vid, dist, relgz, gz.data, gz.len, &s256, &s512, err) < 0 ||
			        apt_index_write(vid, dist, relrel, relrel_text, strlen(relrel_text),
			            &s256, &s512, err) < 0
			    ? -1
			    : 0;
			buf_free(&text);
			buf_free(&gz);
			if (rc < 0)
				goto out;
		}
	}
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S UTC", &tm);
	{
		_cleanup_free_ char *c2 =
		    xstrdup(json_string_value(json_object_get(repo, "components")));
		_cleanup_free_ char *a2 = xstrdup(archs_text);
		for (char *p = c2; *p; p++)
			if (*p == ',')
				*p = ' ';
		for (char *p = a2; *p; p++)
			if (*p == ',')
				*p = ' ';
		buf_addf(&release,
		    "Origin: Drover\nLabel: %s\nSuite: %s\nCodename: %s\nDate: %s\n"
		    "Architectures: %s\nComponents: %s\nAcquire-By-Hash: yes\n"
		    "Description: %s published by Drover\nSHA256:\n%sSHA512:\n%s",
		    name, dist, dist, date, a2, c2, name, s256.data ? s256.data : "",
		    s512.data ? s512.data : "");
	}
	{
		_cleanup_free_ char *p1 = xasprintf("dists/%s/Release", dist);
		_cleanup_free_ char *p2 = xasprintf("dists/%s/InRelease", dist);
		_cleanup_free_ char *p3 = xasprintf("dists/%s/Release.gpg", dist);
		if (repo_version_file_add(vid, p1, release.data, release.len, NULL, err) < 0 ||
		    repo_sign_text(release.data, release.len, true, &signed_text, &slen, err) <
		        0 ||
		    repo_version_file_add(vid, p2, signed_text, slen, NULL, err) < 0 ||
		    repo_sign_text(release.data, release.len, false, &detached, &dlen, err) < 0 ||
		    repo_version_file_add(vid, p3, detached, dlen, NULL, err) < 0)
			goto out;
	}
	ret = 0;
out:
	buf_free(&s256);
	buf_free(&s512);
	buf_free(&release);
	return ret;
}

const struct repo_format repo_apt_format = {
    .type = "apt",
    .sync = apt_sync,
    .publish = apt_publish,
};
