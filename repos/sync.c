/*
 * sync.c - the repo_sync job: the format reads upstream metadata into a content set,
 * packages are downloaded into the pool (verified while they stream), and a new immutable
 * version is made only when the content differs from the latest one. Until the last
 * step the latest version stays what is served, so a failed or killed sync changes
 * nothing a client sees; files already in the pool make the next sync quicker.
 */
#define LOG_COMPONENT "repos"
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "repos/repos.h"

#define SYNC_BATCH 2000 /* units per transaction and per download round */

/* Join base and rel with exactly one slash; caller frees. */
char *
repo_url_join(const char *base, const char *rel)
{
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	while (*rel == '/')
		rel++;
	return xasprintf("%.*s/%s", (int)n, base, rel);
}

static struct http_client_opts
sync_http_opts(void)
{
	struct http_client_opts o = {
	    .connect_timeout_ms = 10000,
	    .low_speed_time_s = 30,
	    .retries = 3,
	    .retry_base_ms = 200,
	    .retry_max_ms = 5000,
	};
	return o;
}

/* Fetch one file into the work directory. */
int
repo_sync_fetch(struct repo_sync *s, const char *url, uint64_t max, const char *sha256,
    char **ret_path, struct dr_error *err)
{
	static unsigned long n;
	struct http_client_opts o = sync_http_opts();
	char *path = xasprintf("%s/f%lu", s->workdir, ++n);
	struct http_download d = {
	    .url = url,
	    .dest_path = path,
	    .sha256 = sha256,
	    .max_size = max,
	};

	if (http_download_many(&d, 1, 1, &o, err) < 0) {
		dr_error_set(err, "%s", d.error[0] != '\0' ? d.error : err->msg);
		free(path);
		return -1;
	}
	*ret_path = path;
	return 0;
}

static void
sync_push(int64_t **a, size_t *n, size_t *cap, int64_t v)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		*a = xreallocarray(*a, *cap, sizeof **a);
	}
	(*a)[(*n)++] = v;
}

/* Upsert a package unit and add it to the new version. */
int
repo_sync_unit_add(struct repo_sync *s, const char *type, const struct repo_pkg *p,
    int64_t *ret_id, struct dr_error *err)
{
	_cleanup_json_ json_t *row = NULL;
	const char *sha = strcmp(p->checksum_type, "sha256") == 0 ? p->checksum : NULL;
	int64_t id, changes = 0;

	if (sha != NULL && !repo_pool_valid(sha))
		return dr_error_set(
		    err, "package %s: checksum '%s' is not a SHA-256", p->name, p->checksum);
	/* Most units are new on a first sync, already known on later ones: try the insert,
	 * and look the row up only when it was there. */
	if (store_execf(&changes, &id, err,
	        "INSERT INTO repo_units (type, checksum_type, checksum, location, sha256,"
	        " name, epoch, version, release, arch, size, source, component, meta)"
	        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	        " ON CONFLICT (type, checksum, location) DO NOTHING",
	        "[sssss?sssssIs?s?s]", type, p->checksum_type, p->checksum, p->location, sha,
	        p->name, p->epoch, p->version, p->release, p->arch,
	        (json_int_t)(p->size >= 0 ? p->size : 0), p->source, p->component, p->meta) < 0)
		return -1;
	if (changes == 0) {
		row = store_query_one(err,
		    "SELECT id, sha256 FROM repo_units WHERE type = ? AND checksum = ? AND"
		    " location = ?",
		    "[sss]", type, p->checksum, p->location);
		if (row == NULL)
			return err->msg[0] != '\0'
			    ? -1
			    : dr_error_set(err, "unit %s vanished", p->name);
		id = json_integer_value(json_object_get(row, "id"));
	}
	sync_push(&s->units, &s->nunits, &s->units_cap, id);
	json_object_set_new(s->locations, p->location, json_true());
	if (ret_id != NULL)
		*ret_id = id;
	/* Whatever is not in the pool yet is downloaded after the metadata is read. */
	{
		const char *have =
		    row != NULL ? json_string_value(json_object_get(row, "sha256")) : sha;
		char key[32];

		snprintf(key, sizeof key, "%lld", (long long)id);
		if ((have == NULL || !repo_pool_has(have)) &&
		    json_object_get(s->queued, key) == NULL) {
			json_object_set_new(s->queued, key, json_true());
			_cleanup_free_ char *url = repo_url_join(
			    json_string_value(json_object_get(s->repo, "url")), p->location);
			json_array_append_new(s->downloads,
			    json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "unit_id", (json_int_t)id,
			        "url", url, "location", p->location, "checksum_type",
			        p->checksum_type, "checksum", p->checksum, "size",
			        (json_int_t)p->size));
		}
	}
	return 0;
}

/* Upsert an erratum (keyed by id and the digest of its text) into the new version. */
int
repo_sync_erratum_add(struct repo_sync *s, json_t *e, struct dr_error *err)
{
	_cleanup_json_ json_t *row = NULL, *data = json_deep_copy(e);
	_cleanup_free_ char *text = NULL;
	const char *xml = json_string_value(json_object_get(e, "xml"));
	const char *eid = json_string_value(json_object_get(e, "erratum_id"));
	char digest[129];
	int64_t id;

	json_object_del(data, "xml");
	text = json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS);
	repo_pool_digest("sha256", text, strlen(text), digest, NULL);
	row = store_query_one(err,
	    "SELECT id FROM repo_errata WHERE erratum_id = ? AND digest = ?", "[ss]", eid, digest);
	if (row == NULL && err->msg[0] != '\0')
		return -1;
	if (row != NULL)
		id = json_integer_value(json_object_get(row, "id"));
	else if (store_execf(NULL, &id, err,
	             "INSERT INTO repo_errata (erratum_id, digest, type, severity, title,"
	             " issued_at, updated_at, data, xml) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	             "[ssss?s?IIss?]", eid, digest, json_string_value(json_object_get(e, "type")),
	             json_string_value(json_object_get(e, "severity")),
	             json_string_value(json_object_get(e, "title")),
	             (json_int_t)json_integer_value(json_object_get(e, "issued_at")),
	             (json_int_t)json_integer_value(json_object_get(e, "updated_at")), text,
	             xml) < 0)
		return -1;
	sync_push(&s->errata, &s->nerrata, &s->errata_cap, id);
	return 0;
}

/* Carry an upstream metadata file into the pool; it is recorded with the version. */
int
repo_sync_upstream_add(struct repo_sync *s, const char *path, const char *rel, const char *type,
    const json_t *data, struct dr_error *err)
{
	char sha[65];
	uint64_t size;

	if (repo_pool_adopt(path, sha, &size, err) < 0)
		return -1;
	json_array_append_new(s->upstream,
	    json_pack("{s:s, s:s, s:s, s:I, s:O?}", "path", rel, "type", type, "sha256", sha,
	        "size", (json_int_t)size, "data", data));
	return 0;
}

/*
 * Download what the pool lacks, SYNC_BATCH at a time, printing progress. Files land in a
 * per-repository download directory beside the pool (a .part there is resumed by the next
 * sync), verified while they stream but not fsynced one by one: once a batch is complete
 * one syncfs makes all of it durable, and only then are the files renamed into the pool
 * (and synced again), so the pool never holds a file whose data a crash could lose. One
 * flush per batch instead of one per file is what makes small packages fast.
 */
static int
sync_download(struct repo_sync *s, struct dr_error *err)
{
	size_t total = json_array_size(s->downloads), done = 0, reused = 0, i;
	int concurrency =
	    (int)json_integer_value(json_object_get(s->repo, "download_concurrency"));
	struct http_client_opts o = sync_http_opts();
	int64_t t0 = time_mono_us();
	_cleanup_free_ char *dldir = xasprintf("%s/tmp/dl-%lld", repo_pool_dir(),
	    (long long)json_integer_value(json_object_get(s->repo, "id")));

	if (total == 0)
		return 0;
	if (concurrency < 1 || concurrency > 64)
		concurrency = REPO_DOWNLOAD_CONCURRENCY;
	/* The repository's limit is for the whole sync: each transfer gets its share. */
	if (json_integer_value(json_object_get(s->repo, "bandwidth_limit")) > 0) {
		o.max_recv_bytes_per_s =
		    json_integer_value(json_object_get(s->repo, "bandwidth_limit")) / concurrency;
		if (o.max_recv_bytes_per_s < 1)
			o.max_recv_bytes_per_s = 1;
	}
	if (mkdir(dldir, 0700) < 0 && errno != EEXIST)
		return dr_error_errno(err, "%s", dldir);
	job_printf(s->job, "downloading %zu packages\n", total);
	while (done < total) {
		size_t n = total - done < SYNC_BATCH ? total - done : SYNC_BATCH;
		struct http_download *d = xcalloc(n, sizeof *d), *todo = xcalloc(n, sizeof *todo);
		size_t *index = xcalloc(n, sizeof *index), m;
		char **paths = xcalloc(n, sizeof *paths);
		int r;

		if (job_cancelled(s->job)) {
			free(d);
			free(todo);
			free(index);
			free(paths);
			return dr_error_set(err, "cancelled");
		}
		for (i = 0; i < n; i++) {
			json_t *dl = json_array_get(s->downloads, done + i);
			const char *ct = json_string_value(json_object_get(dl, "checksum_type"));
			const char *sum = json_string_value(json_object_get(dl, "checksum"));
			json_int_t size = json_integer_value(json_object_get(dl, "size"));

			paths[i] = xasprintf("%s/%s-%s", dldir, ct, sum);
			if (strcmp(ct, "sha256") == 0)
				d[i].sha256 = sum;
			d[i].url = json_string_value(json_object_get(dl, "url"));
			d[i].dest_path = paths[i];
			d[i].max_size = size > 0 ? (uint64_t)size : REPO_PACKAGE_MAX;
			d[i].no_sync = true;
		}
		/* A file a killed sync finished but did not move into the pool is kept when it
		 * still hashes right (it was never synced, so it is checked, not trusted). */
		for (i = 0, m = 0; i < n; i++) {
			json_t *dl = json_array_get(s->downloads, done + i);
			const char *ct = json_string_value(json_object_get(dl, "checksum_type"));
			const char *sum = json_string_value(json_object_get(dl, "checksum"));
			char hex[129];

			if (access(paths[i], F_OK) == 0 &&
			    repo_pool_digest_file(ct, paths[i], hex, NULL, NULL) == 0 &&
			    strcasecmp(hex, sum) == 0) {
				d[i].result = 0;
				reused++;
				continue;
			}
			todo[m++] = d[i];
			index[m - 1] = i;
		}
		r = m > 0 ? http_download_many(todo, m, concurrency, &o, err) : 0;
		for (i = 0; i < m; i++)
			d[index[i]] = todo[i];
		if (r < 0) {
			for (i = 0; i < n; i++)
				if (d[i].result != 0) {
					json_t *dl = json_array_get(s->downloads, done + i);
					dr_error_set(err, "package %s: %s",
					    json_string_value(json_object_get(dl, "location")),
					    d[i].error);
					break;
				}
			goto fail;
		}
		if (repo_pool_sync(err) < 0)
			goto fail;
		/* Checksums other than SHA-256 are checked now; every file gets its key. */
		for (i = 0; i < n; i++) {
			json_t *dl = json_array_get(s->downloads, done + i);
			const char *ct = json_string_value(json_object_get(dl, "checksum_type"));
			const char *sum = json_string_value(json_object_get(dl, "checksum"));
			char hex[129], sha[65];
			uint64_t size;

			if (d[i].sha256 != NULL) {
				_cleanup_free_ char *dest = repo_pool_path(d[i].sha256);
				struct stat st;

				if (repo_pool_prepare(d[i].sha256, err) < 0 ||
				    stat(paths[i], &st) < 0 || rename(paths[i], dest) < 0) {
					if (err->msg[0] == '\0')
						dr_error_errno(err, "%s", dest);
					goto fail;
				}
				s->bytes_downloaded += (uint64_t)st.st_size;
				continue;
			}
			if (repo_pool_digest_file(ct, paths[i], hex, NULL, err) < 0)
				goto fail;
			if (strcasecmp(hex, sum) != 0) {
				dr_error_set(err, "package %s: %s mismatch: expected %s, got %s",
				    json_string_value(json_object_get(dl, "location")), ct, sum,
				    hex);
				goto fail;
			}
			if (repo_pool_adopt(paths[i], sha, &size, err) < 0 ||
			    store_execf(NULL, NULL, err,
			        "UPDATE repo_units SET sha256 = ? WHERE id = ?", "[sI]", sha,
			        json_integer_value(json_object_get(dl, "unit_id"))) < 0)
				goto fail;
			s->bytes_downloaded += size;
		}
		if (repo_pool_sync(err) < 0)
			goto fail;
		done += n;
		job_printf(s->job, "downloaded %zu/%zu packages, %.1f MB, %.1f s\n", done, total,
		    (double)s->bytes_downloaded / 1e6, (double)(time_mono_us() - t0) / 1e6);
		for (i = 0; i < n; i++)
			free(paths[i]);
		free(paths);
		free(d);
		free(todo);
		free(index);
		continue;
	fail:
		for (i = 0; i < n; i++)
			free(paths[i]);
		free(paths);
		free(d);
		free(todo);
		free(index);
		return -1;
	}
	if (reused > 0)
		job_printf(s->job, "%zu packages an interrupted sync had downloaded were reused\n",
		    reused);
	return 0;
}

static int
sync_id_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort and drop duplicates. */
static void
sync_ids_unique(int64_t *a, size_t *n)
{
	size_t i, j = 0;

	if (*n == 0)
		return;
	qsort(a, *n, sizeof *a, sync_id_cmp);
	for (i = 0; i < *n; i++)
		if (j == 0 || a[j - 1] != a[i])
			a[j++] = a[i];
	*n = j;
}

/* The digest that says whether two versions hold the same content. */
static void
sync_content_digest(struct repo_sync *s, bool mirror_complete, char digest[129])
{
	struct buf b = BUF_INIT(0);
	size_t i;
	json_t *f;

	for (i = 0; i < s->nunits; i++)
		buf_addf(&b, "u%lld\n", (long long)s->units[i]);
	for (i = 0; i < s->nerrata; i++)
		buf_addf(&b, "e%lld\n", (long long)s->errata[i]);
	json_array_foreach(s->upstream, i, f)
	{
		const char *type = json_string_value(json_object_get(f, "type"));
		/* The index files (repomd.xml, Release) change with every run of the tool
		 * that writes them; what they list is what matters, unless served as-is. */
		if (!mirror_complete &&
		    (strcmp(type, "repomd") == 0 || strcmp(type, "index") == 0))
			continue;
		buf_addf(&b, "f%s %s\n", json_string_value(json_object_get(f, "path")),
		    json_string_value(json_object_get(f, "sha256")));
	}
	repo_pool_digest("sha256", b.data != NULL ? b.data : "", b.len, digest, NULL);
	buf_free(&b);
}

/* Add the previous version's units and errata (additive mirroring). */
static int
sync_add_previous(struct repo_sync *s, int64_t version_id, struct dr_error *err)
{
	_cleanup_json_ json_t *units = NULL, *errata = NULL;
	size_t i;
	json_t *r;

	if (store_queryf(&units, err,
	        "SELECT vu.unit_id, u.location FROM repo_version_units vu JOIN repo_units u"
	        " ON u.id = vu.unit_id WHERE vu.version_id = ? LIMIT 900000",
	        "[I]", (json_int_t)version_id) < 0 ||
	    store_queryf(&errata, err,
	        "SELECT erratum_id FROM repo_version_errata WHERE version_id = ? LIMIT 900000",
	        "[I]", (json_int_t)version_id) < 0)
		return -1;
	/* What upstream now has at a path replaces what was there before. */
	json_array_foreach(units, i, r)
	{
		if (json_object_get(
		        s->locations, json_string_value(json_object_get(r, "location"))) != NULL)
			continue;
		sync_push(&s->units, &s->nunits, &s->units_cap,
		    json_integer_value(json_object_get(r, "unit_id")));
	}
	json_array_foreach(errata, i, r)
	{
		sync_push(&s->errata, &s->nerrata, &s->errata_cap,
		    json_integer_value(json_object_get(r, "erratum_id")));
	}
	return 0;
}

/* Make the new version (units, errata, upstream files) in one transaction. */
static int
sync_version_create(struct repo_sync *s, const char *digest, int64_t *ret_id, struct dr_error *err)
{
	int64_t repo_id = json_integer_value(json_object_get(s->repo, "id")), vid;
	_cleanup_json_ json_t *row = NULL;
	size_t i;
	json_t *f;

	if (store_begin(err) < 0)
		return -1;
	row = store_query_one(err,
	    "SELECT COALESCE(MAX(number), 0) + 1 AS n FROM repo_versions WHERE repository_id = ? "
	    "AND cv_version_id IS NULL",
	    "[I]", (json_int_t)repo_id);
	if (row == NULL)
		goto fail;
	if (store_execf(NULL, &vid, err,
	        "INSERT INTO repo_versions (repository_id, number, upstream_checksum,"
	        " content_digest, package_count, erratum_count, size, created_at)"
	        " VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
	        "[IIs?sIII]", (json_int_t)repo_id, json_integer_value(json_object_get(row, "n")),
	        s->upstream_checksum, digest, (json_int_t)s->nunits, (json_int_t)s->nerrata,
	        (json_int_t)time(NULL)) < 0)
		goto fail;
	for (i = 0; i < s->nunits; i++)
		if (store_execf(NULL, NULL, err,
		        "INSERT INTO repo_version_units (version_id, unit_id) VALUES (?, ?)",
		        "[II]", (json_int_t)vid, (json_int_t)s->units[i]) < 0)
			goto fail;
	for (i = 0; i < s->nerrata; i++)
		if (store_execf(NULL, NULL, err,
		        "INSERT INTO repo_version_errata (version_id, erratum_id) VALUES (?, ?)",
		        "[II]", (json_int_t)vid, (json_int_t)s->errata[i]) < 0)
			goto fail;
	json_array_foreach(s->upstream, i, f)
	{
		_cleanup_free_ char *data = json_object_get(f, "data") != NULL
		    ? json_dumps(json_object_get(f, "data"), JSON_COMPACT)
		    : NULL;
		if (store_execf(NULL, NULL, err,
		        "INSERT INTO repo_version_upstream (version_id, path, type, sha256, size,"
		        " data) VALUES (?, ?, ?, ?, ?, ?)",
		        "[IsssIs?]", (json_int_t)vid,
		        json_string_value(json_object_get(f, "path")),
		        json_string_value(json_object_get(f, "type")),
		        json_string_value(json_object_get(f, "sha256")),
		        json_integer_value(json_object_get(f, "size")), data) < 0)
			goto fail;
	}
	if (store_execf(NULL, NULL, err,
	        "UPDATE repo_versions SET size = (SELECT COALESCE(SUM(u.size), 0) FROM repo_units "
	        "u"
	        " JOIN repo_version_units vu ON vu.unit_id = u.id WHERE vu.version_id = ?)"
	        " WHERE id = ?",
	        "[II]", (json_int_t)vid, (json_int_t)vid) < 0)
		goto fail;
	if (store_commit(err) < 0)
		goto fail;
	*ret_id = vid;
	return 0;
fail:
	store_rollback();
	return -1;
}

static int
sync_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

/* Record how the sync ended on the repository. */
static void
sync_record(int64_t repo_id, const char *state, const char *error)
{
	struct dr_error err;

	if (store_execf(NULL, NULL, &err,
	        "UPDATE repo_repositories SET last_sync_at = ?, last_sync_state = ?,"
	        " last_sync_error = ? WHERE id = ?",
	        "[Iss?I]", (json_int_t)time(NULL), state, error, (json_int_t)repo_id) < 0)
		log_warnx("repository %lld: %s", (long long)repo_id, err.msg);
}

/* The body of the job; s is filled, the caller frees it. */
static int
sync_do(struct repo_sync *s, json_t **ret_result, struct dr_error *err)
{
	const struct repo_format *fmt =
	    repo_format_find(json_string_value(json_object_get(s->repo, "type")));
	const char *name = json_string_value(json_object_get(s->repo, "name"));
	const char *policy = json_string_value(json_object_get(s->repo, "mirroring_policy"));
	const char *dlpolicy = json_string_value(json_object_get(s->repo, "download_policy"));
	bool mirror = strcmp(policy, "mirror_complete") == 0;
	int64_t repo_id = json_integer_value(json_object_get(s->repo, "id"));
	int64_t latest = json_integer_value(json_object_get(s->repo, "latest_version_id"));
	_cleanup_json_ json_t *prev = NULL;
	char digest[129];
	int64_t vid = 0, t0 = time_mono_us();
	int r;

	job_printf(s->job, "syncing %s from %s\n", name,
	    json_string_value(json_object_get(s->repo, "url")));
	if ((r = fmt->sync(s, err)) < 0)
		return dr_error_prefix(err, "repository %s: ", name);
	if (r == 1) {
		job_printf(s->job, "upstream metadata unchanged: nothing to do\n");
		*ret_result = json_pack(
		    "{s:b, s:I}", "new_version", false, "version_id", (json_int_t)latest);
		return 0;
	}
	job_printf(s->job, "metadata read: %zu packages, %zu errata (%.2f s)\n", s->nunits,
	    s->nerrata, (double)(time_mono_us() - t0) / 1e6);
	if (strcmp(dlpolicy, "on_demand") != 0 && sync_download(s, err) < 0)
		return dr_error_prefix(err, "repository %s: ", name);
	if (!mirror && latest > 0 && sync_add_previous(s, latest, err) < 0)
		return -1;
	sync_ids_unique(s->units, &s->nunits);
	sync_ids_unique(s->errata, &s->nerrata);
	sync_content_digest(s, mirror, digest);
	if (latest > 0)
		prev =
		    store_query_one(err, "SELECT content_digest FROM repo_versions WHERE id = ?",
		        "[I]", (json_int_t)latest);
	if (prev != NULL &&
	    strcmp(json_string_value(json_object_get(prev, "content_digest")), digest) == 0) {
		job_printf(s->job, "content unchanged: no new version\n");
		vid = latest;
	} else {
		if (sync_version_create(s, digest, &vid, err) < 0 ||
		    fmt->publish(s->repo, vid, err) < 0)
			return dr_error_prefix(err, "repository %s: ", name);
	}
	if (store_execf(NULL, NULL, err,
	        "UPDATE repo_repositories SET latest_version_id = ?, upstream_checksum = ?"
	        " WHERE id = ?",
	        "[Is?I]", (json_int_t)vid, s->upstream_checksum, (json_int_t)repo_id) < 0)
		return -1;
	if (vid != latest) {
		_cleanup_json_ json_t *v = repo_version_get(vid);
		job_printf(s->job, "new version %lld: %zu packages, %zu errata\n",
		    (long long)json_integer_value(json_object_get(v, "number")), s->nunits,
		    s->nerrata);
		if (repo_version_retain(repo_id, err) < 0)
			job_printf(s->job, "warning: retention: %s\n", err->msg);
	}
	*ret_result = json_pack("{s:b, s:I, s:I, s:I, s:I, s:f}", "new_version", vid != latest,
	    "version_id", (json_int_t)vid, "packages", (json_int_t)s->nunits, "errata",
	    (json_int_t)s->nerrata, "bytes_downloaded", (json_int_t)s->bytes_downloaded, "seconds",
	    (double)(time_mono_us() - t0) / 1e6);
	return 0;
}

/* The repo_sync job: params {"repository": name or id}. */
int
repo_sync_run(struct job *job, struct dr_error *err)
{
	const char *which = json_string_value(json_object_get(job_params(job), "repository"));
	_cleanup_free_ char *idtext = NULL;
	json_t *result = NULL;

	if (which == NULL && json_is_integer(json_object_get(job_params(job), "repository")))
		which = idtext = xasprintf("%lld",
		    (long long)json_integer_value(json_object_get(job_params(job), "repository")));
	if (which == NULL)
		return dr_error_set(err, "params: \"repository\" (name or id) is required");
	if (repo_sync_one(job, which, &result, err) < 0)
		return -1;
	job_result_set(job, result);
	return 0;
}

/* Sync one repository (name or id) inside job; *ret_result as repo_sync's result. */
int
repo_sync_one(struct job *job, const char *which, json_t **ret_result, struct dr_error *err)
{
	struct repo_sync s = {.job = job};
	json_t *result = NULL;
	int64_t repo_id, claimed = 0;
	int r;

	*ret_result = NULL;
	if ((s.repo = repo_get(which)) == NULL)
		return dr_error_set(err, "no repository '%s'", which);
	repo_id = json_integer_value(json_object_get(s.repo, "id"));
	if (repo_pool_dir() == NULL) {
		json_decref(s.repo);
		return dr_error_set(err, "the content pool is not set up");
	}
	s.workdir = repo_pool_tmp_path("sync");
	if (mkdir(s.workdir, 0700) < 0) {
		dr_error_errno(err, "%s", s.workdir);
		free(s.workdir);
		json_decref(s.repo);
		return -1;
	}
	s.upstream = json_array();
	s.downloads = json_array();
	s.queued = json_object();
	s.locations = json_object();
	s.sources = json_object();
	/* One sync per repository at a time: two would share downloads and race for the
	 * version number. Claiming is one conditional update. */
	if (store_execf(&claimed, NULL, err,
	        "UPDATE repo_repositories SET last_sync_state = 'running', last_sync_error = NULL"
	        " WHERE id = ? AND (last_sync_state IS NULL OR last_sync_state <> 'running')",
	        "[I]", (json_int_t)repo_id) < 0)
		r = -1;
	else if (claimed == 0)
		r = dr_error_set(err, "repository %s: another sync of it is running",
		    json_string_value(json_object_get(s.repo, "name")));
	else {
		r = sync_do(&s, &result, err);
		sync_record(repo_id, r == 0 ? "succeeded" : "failed", r == 0 ? NULL : err->msg);
	}
	if (r == 0)
		*ret_result = result;
	nftw(s.workdir, sync_rm, 16, FTW_DEPTH | FTW_PHYS);
	free(s.workdir);
	free(s.units);
	free(s.errata);
	free(s.upstream_checksum);
	json_decref(s.upstream);
	json_decref(s.downloads);
	json_decref(s.queued);
	json_decref(s.locations);
	json_decref(s.sources);
	json_decref(s.repo);
	return r;
}
