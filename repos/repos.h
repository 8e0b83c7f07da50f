/*
 * repos.h - content: products, repositories, sync (rpm-md, apt), the content-addressed
 * pool, immutable repository versions, content views, lifecycle environments, errata and
 * applicability, and the publication under /content/<environment>/<content-view>/<repo>/.
 */
#ifndef DROVER_REPOS_H
#define DROVER_REPOS_H

#include "core/core.h"

#include <sys/types.h>

#define REPO_REPOMD_MAX (16u << 20) /* repomd.xml, Release, InRelease */
#define REPO_META_FILE_MAX (1024ull << 20) /* one compressed metadata file */
#define REPO_META_MAX (4096ull << 20) /* one metadata file, decompressed */
#define REPO_META_RATIO 200 /* decompressed : compressed, at most */
#define REPO_META_FLOOR (256ull << 20) /* the ratio applies above this */
#define REPO_PACKAGE_MAX (8ull << 30) /* one package */
#define REPO_NAME_MAX 128
#define REPO_PATTERNS_MAX 256
#define REPO_DOWNLOAD_CONCURRENCY 8

/* One package as a format's parser sees it; strings borrowed for the callback's time. */
struct repo_pkg {
	const char *name, *epoch, *version, *release, *arch;
	const char *checksum_type; /* "sha256", "sha1", "sha512" */
	const char *checksum; /* hex; the rpm pkgid */
	const char *location; /* relative path in the repository, checked */
	const char *source; /* deb: source package name (NULL for rpm) */
	const char *component; /* deb: the component it was listed in */
	int64_t size; /* -1 unknown */
	const char *meta; /* rpm: the <package> element; deb: the stanza */
};
typedef int (*repo_pkg_fn)(void *ctx, const struct repo_pkg *pkg, struct dr_error *err);
typedef int (*repo_fragment_fn)(
    void *ctx, const char *pkgid, const char *xml, struct dr_error *err);
/* An erratum as JSON (erratum_id, type, severity, …, packages, xml); borrowed. */
typedef int (*repo_erratum_fn)(void *ctx, json_t *erratum, struct dr_error *err);

/* repos.c */
/* Register tables and job kinds; before store_open. */
void repos_register(void);
/* Called at the end of a sync, publish or promote that succeeded, inside its job, when
 * what an environment serves may have changed (jobs: hosts' applicable errata). */
void repos_content_hook_set(int (*hook)(struct dr_error *err));
/* Run that hook in job (a failure is noted in the job's output, not its result). */
void repos_content_changed(struct job *job);
/*
 * Syncs and publications add units and pool files before a version refers to them, so
 * they hold the content lock shared; orphan cleanup, which removes what no version
 * refers to, holds it exclusive and so never takes what a running sync is adding
 * (job's output says when it waits).
 */
void repos_content_lock(struct job *job, bool exclusive);
void repos_content_unlock(void);
/* Create the pool and the publishing key; after store_open. */
int repos_start(const char *state_dir, struct dr_error *err);
void repos_stop(void);

/*
 * A repository format (yum, apt): sync fills the content set of a new version from
 * upstream; publish writes the metadata files a version is served with.
 */
struct repo_sync;
struct repo_format {
	const char *type;
	/* Fetch upstream into s; 1 = upstream unchanged (no new version), 0 = s filled. */
	int (*sync)(struct repo_sync *s, struct dr_error *err);
	/* Generate and record the metadata files of version_id (units already recorded). */
	int (*publish)(const json_t *repo, int64_t version_id, struct dr_error *err);
};
extern const struct repo_format repo_yum_format;
extern const struct repo_format repo_apt_format;
const struct repo_format *repo_format_find(const char *type);

/* zread.c */
struct repo_zread;
/* Open a file that may be gzip, xz, bzip2 or zstd (by magic); max_out caps its
 * decompressed size (0: none). name is what errors cite. */
int repo_zread_open(const char *path, const char *name, uint64_t max_out, struct repo_zread **ret,
    struct dr_error *err);
ssize_t repo_zread_read(struct repo_zread *z, void *buf, size_t max);
const char *repo_zread_error(const struct repo_zread *z);
void repo_zread_close(struct repo_zread *z);
/* A whole file into out (out's cap applies too). */
int repo_zread_file(
    const char *path, const char *name, uint64_t max, struct buf *out, struct dr_error *err);
/*
 * The decompressed size allowed for a metadata file of compressed bytes: the open-size
 * upstream declared (when > 0), and never more than REPO_META_RATIO times the compressed
 * size (at least REPO_META_FLOOR) nor REPO_META_MAX: a bomb stops at the cap.
 */
uint64_t repo_zread_limit(uint64_t compressed, int64_t open_size);
/* gzip data onto out. */
int repo_zread_gzip(const void *data, size_t len, struct buf *out, struct dr_error *err);

/* pool.c */
int repo_pool_init(const char *state_dir, struct dr_error *err);
const char *repo_pool_dir(void);
bool repo_pool_valid(const char *sha256);
/* <pool>/sha256/ab/cdef…; caller frees. */
char *repo_pool_path(const char *sha256);
int repo_pool_prepare(const char *sha256, struct dr_error *err);
/* A finished download's name in the pool's shard until it is durable; caller frees. */
char *repo_pool_stage_path(const char *sha256, const char *tag);
bool repo_pool_has(const char *sha256);
/* <pool>/sha256/ab; caller frees. */
char *repo_pool_shard_path(const char *sha256);
/* Unnamed files (O_TMPFILE) in the pool: can they be made; link one in under its key. */
bool repo_pool_unnamed_ok(void);
int repo_pool_link(int fd, const char *sha256, struct dr_error *err);
int64_t repo_pool_size(const char *sha256);
/* Make what was written to the pool's file system durable (syncfs). */
int repo_pool_sync(struct dr_error *err);
/* A fresh path in <pool>/tmp; caller frees. */
char *repo_pool_tmp_path(const char *tag);
/* Hex digest (hex: 129 bytes) of bytes or of a file, by algorithm name. */
int repo_pool_digest(
    const char *algo, const void *data, size_t len, char *hex, struct dr_error *err);
int repo_pool_digest_file(
    const char *algo, const char *path, char *hex, uint64_t *ret_size, struct dr_error *err);
/* Store bytes; move a file in. Both atomic; ret_sha256 gets the key. */
int repo_pool_add(const void *data, size_t len, char ret_sha256[65], struct dr_error *err);
int repo_pool_adopt(
    const char *path, char ret_sha256[65], uint64_t *ret_size, struct dr_error *err);
/* Remove files keep() rejects; returns the count, *ret_bytes their size. */
int repo_pool_sweep(bool (*keep)(void *ctx, const char *sha256), void *ctx, uint64_t *ret_bytes,
    struct dr_error *err);

/* rpmmd.c */
/* A path from metadata must stay inside the repository: no "..", no absolute path. */
int repo_path_check(const char *path, const char *what, struct dr_error *err);
/* "YYYY-MM-DD[ HH:MM:SS]" or Unix seconds as Unix seconds; 0 when unknown. */
int64_t repo_date_parse(const char *s);
/* repomd.xml's <data> as [{type, href, checksum_type, checksum, open_*, size, xml}]. */
int repo_rpmmd_repomd(const char *path, const char *name, json_t **ret, struct dr_error *err);
/* max caps the decompressed bytes (repo_zread_limit). */
int repo_rpmmd_primary(const char *path, const char *name, uint64_t max, repo_pkg_fn fn, void *ctx,
    struct dr_error *err);
/* root: "filelists" or "otherdata". */
int repo_rpmmd_fragments(const char *path, const char *name, uint64_t max, const char *root,
    repo_fragment_fn fn, void *ctx, struct dr_error *err);
int repo_rpmmd_updateinfo(const char *path, const char *name, uint64_t max, repo_erratum_fn fn,
    void *ctx, struct dr_error *err);

/* deb.c */
/* Release/InRelease fields and its file list [{path, size, sha256}]; caller frees. */
int repo_deb_release_parse(
    const char *text, size_t len, const char *name, json_t **ret, struct dr_error *err);
/* Call fn for each stanza of a Packages file (possibly compressed; max decompressed). */
int repo_deb_packages(const char *path, const char *name, uint64_t max, repo_pkg_fn fn, void *ctx,
    struct dr_error *err);
/* The text of a clear-signed message, not verified; NULL if it is not one. Caller frees. */
char *repo_deb_cleartext(const char *text, size_t len);

/* osv.c */
/* Import OSV advisories (an http(s) URL of a JSON document, or a directory of .json
 * files) that fix source packages of the sync as errata. */
int repo_osv_import(struct repo_sync *s, const char *src, struct dr_error *err);

/* sign.c */
/* Drover's publishing key under <state_dir>/gnupg, made at first start. */
int repo_sign_init(const char *state_dir, struct dr_error *err);
void repo_sign_shutdown(void);
/* The armored public key (/content/drover.gpg); caller frees. */
char *repo_sign_public_key(void);
/* Clear-sign (InRelease) or detach-sign (Release.gpg, armored) text; caller frees *ret. */
int repo_sign_text(
    const char *text, size_t len, bool clear, char **ret, size_t *ret_len, struct dr_error *err);
/*
 * Verify data against an armored public key: detached signature sig, or clear-signed data
 * when sig is NULL (then *ret_plain, if not NULL, gets the signed text). Errors name what.
 */
int repo_sign_verify(const char *key, const char *data, size_t len, const char *sig,
    size_t sig_len, const char *what, char **ret_plain, size_t *ret_plain_len,
    struct dr_error *err);
/* Read public keys (armored or binary) in a throwaway keyring: their binary export and
 * blank-separated fingerprints; a secret key or what is not a key is refused. */
int repo_sign_key_read(const char *key, size_t len, const char *what, char **ret_bin,
    size_t *ret_bin_len, char **ret_fprs, struct dr_error *err);

/* repo.c: products and repositories */
json_t *repo_product_get(const char *name_or_id);
int repo_product_list(json_t **ret, struct dr_error *err);
int repo_product_create(const json_t *spec, int64_t *ret_id, struct dr_error *err);
int repo_product_update(int64_t id, const json_t *spec, struct dr_error *err);
int repo_product_delete(int64_t id, struct dr_error *err);
/* A repository by name or id, with its product name and latest version; caller frees. */
json_t *repo_get(const char *name_or_id);
int repo_list(const char *product, json_t **ret, struct dr_error *err);
int repo_create(const json_t *spec, int64_t *ret_id, struct dr_error *err);
int repo_update(int64_t id, const json_t *spec, struct dr_error *err);
int repo_delete(int64_t id, struct dr_error *err);
/* True when a package name passes the repository's include and exclude patterns. */
bool repo_name_wanted(const json_t *repo, const char *name);

/* sync.c */
/*
 * A running sync as a format sees it: the repository row, a work directory, the unit and
 * erratum ids the new version holds, and upstream metadata files it carries.
 */
struct repo_sync {
	struct job *job;
	json_t *repo;
	char *workdir;
	int64_t *units;
	size_t nunits, units_cap;
	int64_t *errata;
	size_t nerrata, errata_cap;
	json_t *upstream; /* [{path, type, sha256, size, data?}] */
	char *upstream_checksum;
	struct sync_fetch *fetch; /* the thread downloading packages while metadata is read */
	json_t *queued; /* unit ids already in downloads */
	json_t *locations; /* paths of the units read from upstream */
	json_t *sources; /* deb: source package -> [{name, arch}] of its binaries */
	uint64_t bytes_downloaded;
};
int repo_sync_run(struct job *job, struct dr_error *err);
/* Sync one repository (name or id) as part of job (its output goes there); *ret_result
 * (caller frees) is {new_version, version_id, packages, errata, bytes_downloaded, seconds}. */
int repo_sync_one(struct job *job, const char *which, json_t **ret_result, struct dr_error *err);
/* For formats: fetch url into the work dir (at most max bytes); caller frees *ret_path. */
int repo_sync_fetch(struct repo_sync *s, const char *url, uint64_t max, const char *sha256,
    char **ret_path, struct dr_error *err);
/* Record a package unit (upserting it) in the new version; what the pool lacks starts
 * downloading at once. */
int repo_sync_unit_add(struct repo_sync *s, const char *type, const struct repo_pkg *p,
    int64_t *ret_id, struct dr_error *err);
/* Every package unit is recorded: the downloads need not wait for more. */
void repo_sync_downloads_close(struct repo_sync *s);
int repo_sync_erratum_add(struct repo_sync *s, json_t *erratum, struct dr_error *err);
/* Carry an upstream metadata file (already fetched to path) into the pool and version. */
int repo_sync_upstream_add(struct repo_sync *s, const char *path, const char *rel,
    const char *type, const json_t *data, struct dr_error *err);
/* CPU time of the calling thread (microseconds), for per-phase figures in job logs. */
int64_t repo_sync_cpu_us(void);
/* Join a base URL and a relative path; caller frees. */
char *repo_url_join(const char *base, const char *rel);

/* version.c */
json_t *repo_version_get(int64_t version_id);
int repo_version_list(int64_t repository_id, json_t **ret, struct dr_error *err);
/* Each row's first column (NULL ones skipped) and a newline onto out, the rows counted in
 * *ret_rows; a file past out's limit is an error naming what. */
int repo_rows_cat(const char *sql, const json_t *params, struct buf *out, size_t *ret_rows,
    const char *what, struct dr_error *err);
/* Record the metadata file at path of version (its bytes go into the pool). */
int repo_version_file_add(int64_t version_id, const char *path, const void *data, size_t len,
    char ret_sha256[65], struct dr_error *err);
/* Delete versions beyond the repository's retention that nothing references. */
int repo_version_retain(int64_t repository_id, struct dr_error *err);
int repo_orphans_run(struct job *job, struct dr_error *err);

/* cv.c: content views and lifecycle environments */
json_t *repo_env_get(const char *name_or_id);
int repo_env_list(json_t **ret, struct dr_error *err);
int repo_env_create(const json_t *spec, int64_t *ret_id, struct dr_error *err);
int repo_env_delete(int64_t id, struct dr_error *err);
json_t *repo_cv_get(const char *name_or_id);
int repo_cv_list(json_t **ret, struct dr_error *err);
int repo_cv_create(const json_t *spec, int64_t *ret_id, struct dr_error *err);
int repo_cv_update(int64_t id, const json_t *spec, struct dr_error *err);
int repo_cv_delete(int64_t id, struct dr_error *err);
int repo_cv_publish_run(struct job *job, struct dr_error *err);
int repo_cv_promote_run(struct job *job, struct dr_error *err);
/* The two jobs' work with explicit params, for jobs that chain them (sync plans). */
int repo_cv_publish(struct job *job, const json_t *p, json_t **ret_result, struct dr_error *err);
int repo_cv_promote(struct job *job, const json_t *p, struct dr_error *err);
/* The repository version served at (environment, content view, repository), or -1. */
int64_t repo_cv_resolve(const char *env, const char *cv, const char *repo, json_t **ret_repo);

/* errata.c */
/* Errata filtered by {type, severity, cve, repository, since, until, search}. */
int repo_errata_list(const json_t *filter, int limit, int offset, json_t **ret, int64_t *ret_total,
    struct dr_error *err);
json_t *repo_erratum_get(const char *erratum_id);
/*
 * Applicability: for a package profile [{name, epoch, version, release, arch}], the errata
 * of the given version set ([repo_version ids]) that fix an installed package in an older
 * version, each with the packages that would update it.
 */
int repo_errata_applicable(const json_t *profile, const json_t *version_ids,
    const char *format_type, json_t **ret, struct dr_error *err);
/* Load a content (repository versions) once, then evaluate many profiles against it. */
struct repo_applicability;
int repo_applicability_load(const json_t *version_ids, const char *format_type,
    struct repo_applicability **ret, struct dr_error *err);
/* The applicable errata of one profile (as repo_errata_applicable), or when brief
 * {"applicable": [ids], "installable": [ids]}; caller frees *ret. */
int repo_applicability_eval(struct repo_applicability *a, const json_t *profile, bool brief,
    json_t **ret, struct dr_error *err);
void repo_applicability_free(struct repo_applicability *a);
/* SHA-256 of a profile's package set, independent of order: hosts that share it share
 * one evaluation. */
void repo_applicability_profile_hash(const json_t *profile, char hex[65]);
/* Compare two EVRs by rpm (format "yum") or Debian ("apt") rules with libsolv. */
int repo_evr_cmp(const char *format_type, const char *a, const char *b);

/* content.c */
struct http_request;
struct http_response;
/* GET /content/<env>/<cv>/<repo>/<path>: a published file from the pool (public). */
int repo_content_handler(struct http_request *req, struct http_response *resp);
/* GET /content/drover.gpg: the publishing key. */
int repo_content_key(struct http_request *req, struct http_response *resp);

/* api.c */
/* Install the content and REST routes; before http_server_start. */
void repos_api_init(void);

/* ui.c */
/* Install the content pages (repositories, content views, errata), their navigation and
 * the dashboard's errata and repository widgets; before http_server_start. */
void repos_ui_init(void);

#endif /* DROVER_REPOS_H */
