/*
 * version.c - immutable repository versions: what they hold, the metadata files they are
 * served with, retention of old versions, and orphan cleanup of the pool.
 */
#define LOG_COMPONENT "repos"
#include "config.h"

#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "repos/repos.h"

/* One version with its repository name; caller frees. */
json_t *
repo_version_get(int64_t version_id)
{
	struct dr_error err;

	return store_query_one(&err,
	    "SELECT v.id, v.repository_id, r.name AS repository, v.number, v.cv_version_id,"
	    " v.package_count, v.erratum_count, v.size, v.upstream_checksum, v.content_digest,"
	    " v.created_at FROM repo_versions v JOIN repo_repositories r"
	    " ON r.id = v.repository_id WHERE v.id = ?",
	    "[I]", (json_int_t)version_id);
}

/* A repository's own versions (not content-view copies), newest first. */
int
repo_version_list(int64_t repository_id, json_t **ret, struct dr_error *err)
{
	return store_queryf(ret, err,
	    "SELECT v.id, v.number, v.package_count, v.erratum_count, v.size, v.created_at,"
	    " (SELECT COALESCE(SUM(f.size), 0) FROM repo_version_files f"
	    "  WHERE f.version_id = v.id) AS metadata_size,"
	    " (r.latest_version_id = v.id) AS latest"
	    " FROM repo_versions v JOIN repo_repositories r ON r.id = v.repository_id"
	    " WHERE v.repository_id = ? AND v.cv_version_id IS NULL ORDER BY v.number DESC",
	    "[I]", (json_int_t)repository_id);
}

struct rows_cat {
	struct buf *out;
	size_t rows;
	bool full;
};

static int
rows_cat_row(void *arg, size_t n, const char *const *texts, const size_t *lens)
{
	struct rows_cat *c = arg;

	if (texts[0] == NULL)
		return 0;
	if (buf_add(c->out, texts[0], lens[0]) < 0 || buf_addc(c->out, '\n') < 0) {
		c->full = true;
		return -1;
	}
	c->rows++;
	return 0;
}

int
repo_rows_cat(const char *sql, const json_t *params, struct buf *out, size_t *ret_rows,
    const char *what, struct dr_error *err)
{
	struct rows_cat c = {out, 0, false};

	if (store_each(sql, params, rows_cat_row, &c, err) < 0)
		return c.full ? dr_error_set(err, "%s: larger than %llu bytes", what,
		                    (unsigned long long)out->max)
		              : -1;
	if (ret_rows != NULL)
		*ret_rows = c.rows;
	return 0;
}

/* Store a metadata file in the pool and record it under path in the version. */
int
repo_version_file_add(int64_t version_id, const char *path, const void *data, size_t len,
    char ret_sha256[65], struct dr_error *err)
{
	char sha[65];

	if (repo_pool_add(data, len, sha, err) < 0)
		return -1;
	if (store_execf(NULL, NULL, err,
	        "INSERT INTO repo_version_files (version_id, path, sha256, size)"
	        " VALUES (?, ?, ?, ?)",
	        "[IssI]", (json_int_t)version_id, path, sha, (json_int_t)len) < 0)
		return -1;
	if (ret_sha256 != NULL)
		memcpy(ret_sha256, sha, 65);
	return 0;
}

/*
 * Keep the newest retain_versions versions of a repository (0 keeps all), the latest,
 * and any a content view version was made from; delete the rest (their rows only: the
 * pool files go at the next orphan cleanup).
 */
int
repo_version_retain(int64_t repository_id, struct dr_error *err)
{
	_cleanup_json_ json_t *repo = NULL, *old = NULL;
	json_int_t keep;
	size_t i;
	json_t *v;

	repo = store_query_one(err,
	    "SELECT retain_versions, latest_version_id FROM repo_repositories WHERE id = ?", "[I]",
	    (json_int_t)repository_id);
	if (repo == NULL)
		return err->msg[0] != '\0' ? -1 : 0;
	keep = json_integer_value(json_object_get(repo, "retain_versions"));
	if (keep <= 0)
		return 0;
	if (store_queryf(&old, err,
	        "SELECT id FROM repo_versions WHERE repository_id = ? AND cv_version_id IS NULL"
	        " AND id <> ? ORDER BY number DESC LIMIT 100000 OFFSET ?",
	        "[III]", (json_int_t)repository_id,
	        json_integer_value(json_object_get(repo, "latest_version_id")),
	        keep > 0 ? keep - 1 : 0) < 0)
		return -1;
	json_array_foreach(old, i, v)
	{
		if (store_execf(NULL, NULL, err, "DELETE FROM repo_versions WHERE id = ?", "[I]",
		        json_integer_value(json_object_get(v, "id"))) < 0)
			return -1;
	}
	return (int)json_array_size(old);
}

static int
version_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct version_keep {
	char **shas;
	size_t n;
};

static bool
version_keep(void *ctx, const char *sha256)
{
	struct version_keep *k = ctx;
	const char *key = sha256;

	return bsearch(&key, k->shas, k->n, sizeof *k->shas, version_str_cmp) != NULL;
}

/*
 * Drop units and errata no version holds, then every pool file no unit or version file
 * refers to.
 */
static int
orphans_remove(struct job *job, struct dr_error *err)
{
	_cleanup_json_ json_t *rows = NULL;
	struct version_keep k = {0};
	int64_t units = 0, errata = 0;
	uint64_t bytes = 0;
	size_t i;
	json_t *r;
	int n;

	if (store_begin(err) < 0)
		return -1;
	if (store_exec("DELETE FROM repo_units WHERE id NOT IN"
	               " (SELECT unit_id FROM repo_version_units)",
	        NULL, &units, NULL, err) < 0 ||
	    store_exec("DELETE FROM repo_errata WHERE id NOT IN"
	               " (SELECT erratum_id FROM repo_version_errata)",
	        NULL, &errata, NULL, err) < 0 ||
	    store_commit(err) < 0) {
		store_rollback();
		return -1;
	}
	if (store_query("SELECT sha256 FROM repo_units WHERE sha256 IS NOT NULL"
	                " UNION SELECT sha256 FROM repo_version_files"
	                " UNION SELECT sha256 FROM repo_version_upstream",
	        NULL, &rows, err) < 0)
		return -1;
	k.shas = xcalloc(json_array_size(rows) + 1, sizeof *k.shas);
	json_array_foreach(rows, i, r) k.shas[k.n++] =
	    (char *)json_string_value(json_object_get(r, "sha256"));
	qsort(k.shas, k.n, sizeof *k.shas, version_str_cmp);
	n = repo_pool_sweep(version_keep, &k, &bytes, err);
	free(k.shas);
	if (n < 0)
		return -1;
	job_printf(job, "removed %lld units, %lld errata, %d pool files (%.1f MB)\n",
	    (long long)units, (long long)errata, n, (double)bytes / 1e6);
	job_result_set(job,
	    json_pack("{s:I, s:I, s:i, s:I}", "units", (json_int_t)units, "errata",
	        (json_int_t)errata, "files", n, "bytes", (json_int_t)bytes));
	return 0;
}

/* The repo_orphans_remove job: orphans_remove while no sync or publication runs. */
int
repo_orphans_run(struct job *job, struct dr_error *err)
{
	int r;

	repos_content_lock(job, true);
	r = orphans_remove(job, err);
	repos_content_unlock();
	return r;
}
