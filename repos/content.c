/*
 * content.c - the publication: /content/<environment>/<content-view>/<repository>/<path>
 * answers from the pool with sendfile. The routes are public (hosts fetch with plain dnf
 * and apt, without a login); what they serve is what was published, nothing else: a path
 * is looked up among the version's metadata files and packages, never on the file system.
 * A package of an on_demand repository that is not in the pool yet is fetched upstream,
 * verified and stored on first request.
 */
#define LOG_COMPONENT "repos"
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "repos/repos.h"
#include "webui/webui.h"

static const struct {
	const char *suffix;
	const char *type;
} content_types[] = {
    {".xml", "text/xml"},
    {".gz", "application/gzip"},
    {".xz", "application/x-xz"},
    {".bz2", "application/x-bzip2"},
    {".zst", "application/zstd"},
    {".rpm", "application/x-rpm"},
    {".deb", "application/vnd.debian.binary-package"},
    {".asc", "text/plain"},
    {".gpg", "application/pgp-signature"},
    {"Release", "text/plain"},
    {"InRelease", "text/plain"},
    {"Packages", "text/plain"},
};

static const char *
content_type(const char *path)
{
	size_t i;

	for (i = 0; i < nitems(content_types); i++)
		if (str_has_suffix(path, content_types[i].suffix))
			return content_types[i].type;
	return "application/octet-stream";
}

/* Fetch an on_demand package into the pool; its key comes back in sha. */
static int
content_fetch(const json_t *repo, const json_t *unit, char sha[65], struct dr_error *err)
{
	const char *ct = json_string_value(json_object_get(unit, "checksum_type"));
	const char *sum = json_string_value(json_object_get(unit, "checksum"));
	_cleanup_free_ char *url = repo_url_join(json_string_value(json_object_get(repo, "url")),
	    json_string_value(json_object_get(unit, "location")));
	_cleanup_free_ char *tmp = repo_pool_tmp_path("ondemand");
	struct http_client_opts o = {
	    .connect_timeout_ms = 10000, .retries = 2, .low_speed_time_s = 20};
	struct http_download d = {.url = url, .dest_path = tmp, .max_size = REPO_PACKAGE_MAX};
	char hex[129];
	uint64_t size;

	if (strcmp(ct, "sha256") == 0)
		d.sha256 = sum;
	if (http_download_many(&d, 1, 1, &o, err) < 0)
		return dr_error_set(err, "%s", d.error[0] ? d.error : err->msg);
	if (d.sha256 == NULL &&
	    (repo_pool_digest_file(ct, tmp, hex, NULL, err) < 0 || strcasecmp(hex, sum) != 0)) {
		unlink(tmp);
		return dr_error_set(err, "%s: %s mismatch", url, ct);
	}
	if (repo_pool_adopt(tmp, sha, &size, err) < 0) {
		unlink(tmp);
		return -1;
	}
	return store_execf(NULL, NULL, err, "UPDATE repo_units SET sha256 = ? WHERE id = ?",
	    "[sI]", sha, json_integer_value(json_object_get(unit, "id")));
}

/* GET /content/:env/:cv/:repo/<path> */
int
repo_content_handler(struct http_request *req, struct http_response *resp)
{
	const char *env = http_request_param(req, "env"), *cv = http_request_param(req, "cv");
	const char *name = http_request_param(req, "repo"), *rel = http_request_param(req, "*");
	_cleanup_json_ json_t *repo = NULL, *row = NULL;
	_cleanup_free_ char *path = NULL;
	const char *sha, *inm;
	char fetched[65], etag[70], modified[64];
	const char *ims;
	struct tm tm;
	struct dr_error err;
	struct stat st;
	int64_t vid;
	int fd;

	if (rel == NULL || repo_path_check(rel, "path", &err) < 0) {
		http_reply_error(resp, 404, "not found");
		return 0;
	}
	if ((vid = repo_cv_resolve(env, cv, name, &repo)) < 0) {
		http_reply_error(resp, 404, "nothing is published at %s/%s/%s", env, cv, name);
		return 0;
	}
	row = store_query_one(&err,
	    "SELECT sha256 FROM repo_version_files WHERE version_id = ? AND path = ?", "[Is]",
	    (json_int_t)vid, rel);
	if (row == NULL)
		row = store_query_one(&err,
		    "SELECT u.id, u.sha256, u.checksum_type, u.checksum, u.location FROM "
		    "repo_units"
		    " u JOIN repo_version_units vu ON vu.unit_id = u.id"
		    " WHERE vu.version_id = ? AND u.location = ?",
		    "[Is]", (json_int_t)vid, rel);
	if (row == NULL) {
		http_reply_error(resp, 404, "%s: not in %s/%s/%s", rel, env, cv, name);
		return 0;
	}
	sha = json_string_value(json_object_get(row, "sha256"));
	if (sha == NULL || !repo_pool_has(sha)) {
		if (json_object_get(row, "location") == NULL ||
		    strcmp(json_string_value(json_object_get(repo, "download_policy")),
		        "on_demand") != 0) {
			http_reply_error(resp, 503, "%s: missing from the pool", rel);
			return 0;
		}
		if (content_fetch(repo, row, fetched, &err) < 0) {
			log_warnx("on_demand %s: %s", rel, err.msg);
			http_reply_error(resp, 502, "%s", err.msg);
			return 0;
		}
		sha = fetched;
	}
	/* Pool files never change, so the checksum is a strong validator. */
	snprintf(etag, sizeof etag, "\"%s\"", sha);
	inm = http_request_header(req, "If-None-Match");
	if (inm != NULL && strstr(inm, sha) != NULL) {
		http_reply_header(resp, "ETag", etag);
		http_reply_text(resp, 304, content_type(rel), "", 0);
		return 0;
	}
	path = repo_pool_path(sha);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		http_reply_error(resp, 503, "%s: missing from the pool", rel);
		return 0;
	}
	/* A pool file's time is when that content first arrived: nothing at this path of
	 * this version can be newer. */
	gmtime_r(&st.st_mtime, &tm);
	strftime(modified, sizeof modified, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	ims = http_request_header(req, "If-Modified-Since");
	if (inm == NULL && ims != NULL) {
		struct tm t = {0};
		const char *end = strptime(ims, "%a, %d %b %Y %H:%M:%S GMT", &t);

		if (end != NULL && *end == '\0' && st.st_mtime <= timegm(&t)) {
			close(fd);
			http_reply_header(resp, "ETag", etag);
			http_reply_header(resp, "Last-Modified", modified);
			http_reply_text(resp, 304, content_type(rel), "", 0);
			return 0;
		}
	}
	http_reply_header(resp, "ETag", etag);
	http_reply_header(resp, "Last-Modified", modified);
	http_reply_file(resp, 200, content_type(rel), fd, st.st_size);
	return 0;
}

/* GET /content/drover.gpg */
int
repo_content_key(struct http_request *req, struct http_response *resp)
{
	_cleanup_free_ char *key = repo_sign_public_key();

	if (key == NULL) {
		http_reply_error(resp, 503, "no publishing key");
		return 0;
	}
	http_reply_text(resp, 200, "application/pgp-keys", key, strlen(key));
	return 0;
}
