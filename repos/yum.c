/*
 * yum.c - the rpm-md format: sync reads repomd.xml (verified against the repository's
 * key when one is set), fetches every metadata file it lists with its checksum checked,
 * and records packages and errata; publish serves upstream's metadata as-is
 * (mirror_complete) or writes fresh repodata from the packages' own XML.
 */
#define LOG_COMPONENT "repos"
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "repos/repos.h"

#define YUM_BATCH 2000

/* Metadata types carried over as they are into generated repodata. */
static const char *const yum_carried[] = {"group", "group_gz", "group_xz", "modules", "productid"};

static bool
yum_is_carried(const char *type)
{
	size_t i;

	for (i = 0; i < nitems(yum_carried); i++)
		if (strcmp(type, yum_carried[i]) == 0)
			return true;
	return false;
}

struct yum_parse {
	struct repo_sync *s;
	size_t n;
	size_t skipped;
};

/* Keep write transactions short: commit every YUM_BATCH rows. */
static int
yum_batch(struct yum_parse *p, struct dr_error *err)
{
	if (++p->n % YUM_BATCH != 0)
		return 0;
	if (store_commit(err) < 0)
		return -1;
	return store_begin(err);
}

static int
yum_package(void *ctx, const struct repo_pkg *pkg, struct dr_error *err)
{
	struct yum_parse *p = ctx;

	if (!repo_name_wanted(p->s->repo, pkg->name)) {
		p->skipped++;
		return 0;
	}
	if (repo_sync_unit_add(p->s, "rpm", pkg, NULL, err) < 0)
		return -1;
	return yum_batch(p, err);
}

struct yum_frag {
	struct yum_parse *p;
	const char *sql; /* adds one fragment to the units of a package id */
};

/* A package's fragment (the first one known is kept, as with its primary XML). */
static const char yum_filelists_sql[] =
    "INSERT OR IGNORE INTO repo_unit_filelists (unit_id, xml)"
    " SELECT id, ? FROM repo_units WHERE type = 'rpm' AND checksum = ?";
static const char yum_other_sql[] =
    "INSERT OR IGNORE INTO repo_unit_other (unit_id, xml)"
    " SELECT id, ? FROM repo_units WHERE type = 'rpm' AND checksum = ?";

static int
yum_fragment(void *ctx, const char *pkgid, const char *xml, struct dr_error *err)
{
	struct yum_frag *f = ctx;

	if (store_execf(NULL, NULL, err, f->sql, "[ss]", xml, pkgid) < 0)
		return -1;
	return yum_batch(f->p, err);
}

static int
yum_erratum(void *ctx, json_t *e, struct dr_error *err)
{
	struct yum_parse *p = ctx;

	if (repo_sync_erratum_add(p->s, e, err) < 0)
		return -1;
	return yum_batch(p, err);
}

/* Fetch one metadata file listed in repomd.xml, its checksum verified. */
static int
yum_fetch_data(struct repo_sync *s, const json_t *d, char **ret_path, struct dr_error *err)
{
	const char *href = json_string_value(json_object_get(d, "href"));
	const char *ct = json_string_value(json_object_get(d, "checksum_type"));
	const char *sum = json_string_value(json_object_get(d, "checksum"));
	json_int_t size = json_integer_value(json_object_get(d, "size"));
	_cleanup_free_ char *url =
	    repo_url_join(json_string_value(json_object_get(s->repo, "url")), href);
	bool sha256 = strcmp(ct, "sha256") == 0;
	char hex[129];

	if (sha256 && !repo_pool_valid(sum))
		return dr_error_set(err, "%s: checksum '%s' is not a SHA-256", href, sum);
	if (repo_sync_fetch(s, url, size > 0 ? (uint64_t)size : REPO_META_FILE_MAX,
	        sha256 ? sum : NULL, ret_path, err) < 0)
		return -1;
	if (!sha256) {
		if (repo_pool_digest_file(ct, *ret_path, hex, NULL, err) < 0)
			return dr_error_prefix(err, "%s: ", href);
		if (strcasecmp(hex, sum) != 0) {
			free(*ret_path);
			*ret_path = NULL;
			return dr_error_set(
			    err, "%s: %s mismatch: expected %s, got %s", url, ct, sum, hex);
		}
	}
	return 0;
}

/* Read one metadata file of a known type into the store. */
static int
yum_read_data(struct yum_parse *p, const json_t *d, const char *path, struct dr_error *err)
{
	const char *type = json_string_value(json_object_get(d, "type"));
	const char *href = json_string_value(json_object_get(d, "href"));
	struct yum_frag f = {p, NULL};
	struct stat st;
	uint64_t max;
	int r = 0;

	if (stat(path, &st) < 0)
		return dr_error_errno(err, "%s", path);
	max = repo_zread_limit(
	    (uint64_t)st.st_size, json_integer_value(json_object_get(d, "open_size")));

	if (store_begin(err) < 0)
		return -1;
	if (strcmp(type, "primary") == 0) {
		r = repo_rpmmd_primary(path, href, max, yum_package, p, err);
	} else if (strcmp(type, "filelists") == 0) {
		f.sql = yum_filelists_sql;
		r = repo_rpmmd_fragments(path, href, max, "filelists", yum_fragment, &f, err);
	} else if (strcmp(type, "other") == 0) {
		f.sql = yum_other_sql;
		r = repo_rpmmd_fragments(path, href, max, "otherdata", yum_fragment, &f, err);
	} else if (strcmp(type, "updateinfo") == 0) {
		r = repo_rpmmd_updateinfo(path, href, max, yum_erratum, p, err);
	}
	if (r < 0) {
		store_rollback();
		return -1;
	}
	return store_commit(err);
}

/* The order metadata is read in: packages first, then what refers to them. */
static int
yum_type_rank(const char *type)
{
	static const char *const order[] = {"primary", "filelists", "other", "updateinfo"};
	size_t i;

	for (i = 0; i < nitems(order); i++)
		if (strcmp(type, order[i]) == 0)
			return (int)i;
	return -1;
}

static int
yum_sync(struct repo_sync *s, struct dr_error *err)
{
	const char *url = json_string_value(json_object_get(s->repo, "url"));
	const char *key = json_string_value(json_object_get(s->repo, "gpg_key"));
	const char *known = json_string_value(json_object_get(s->repo, "upstream_checksum"));
	_cleanup_free_ char *repomd_url = repo_url_join(url, "repodata/repomd.xml");
	_cleanup_free_ char *repomd = NULL, *asc = NULL;
	_cleanup_json_ json_t *data = NULL;
	struct yum_parse p = {s, 0, 0};
	char hex[129];
	size_t i;
	json_t *d;
	int rank;

	if (repo_sync_fetch(s, repomd_url, REPO_REPOMD_MAX, NULL, &repomd, err) < 0)
		return -1;
	if (key != NULL) {
		_cleanup_free_ char *asc_url = xasprintf("%s.asc", repomd_url);
		struct buf text = BUF_INIT(REPO_REPOMD_MAX), sig = BUF_INIT(1u << 20);
		int r;

		if (repo_sync_fetch(s, asc_url, 1u << 20, NULL, &asc, err) < 0)
			return dr_error_prefix(
			    err, "a GPG key is set but the signature is missing: ");
		r = repo_zread_file(repomd, "repomd.xml", REPO_REPOMD_MAX, &text, err) < 0 ||
		        repo_zread_file(asc, "repomd.xml.asc", 1u << 20, &sig, err) < 0 ||
		        repo_sign_verify(key, text.data, text.len, sig.data, sig.len, repomd_url,
		            NULL, NULL, err) < 0
		    ? -1
		    : 0;
		buf_free(&text);
		buf_free(&sig);
		if (r < 0)
			return -1;
		job_printf(s->job, "repomd.xml: good signature\n");
	}
	if (repo_pool_digest_file("sha256", repomd, hex, NULL, err) < 0)
		return -1;
	s->upstream_checksum = xstrdup(hex);
	if (known != NULL && strcmp(known, hex) == 0 &&
	    json_integer_value(json_object_get(s->repo, "latest_version_id")) > 0)
		return 1;
	if (repo_rpmmd_repomd(repomd, repomd_url, &data, err) < 0)
		return -1;
	/* Every listed file is fetched and verified first: a bad one fails the sync before
	 * anything is recorded. */
	for (rank = 0; rank <= 4; rank++) {
		json_array_foreach(data, i, d)
		{
			const char *type = json_string_value(json_object_get(d, "type"));
			const char *href = json_string_value(json_object_get(d, "href"));
			_cleanup_free_ char *path = NULL;
			int want = yum_type_rank(type);

			if ((rank < 4 && want != rank) ||
			    (rank == 4 && (want >= 0 || !yum_is_carried(type))))
				continue;
			if (yum_fetch_data(s, d, &path, err) < 0)
				return -1;
			int64_t tr = time_mono_us(), cr = repo_sync_cpu_us();
			if (want >= 0 && yum_read_data(&p, d, path, err) < 0)
				return -1;
			/* Every package is known once primary is read. */
			if (want == 0)
				repo_sync_downloads_close(s);
			if (want >= 0)
				job_printf(s->job, "%s: read in %.2f s (CPU %.2f s)\n", type,
				    (double)(time_mono_us() - tr) / 1e6,
				    (double)(repo_sync_cpu_us() - cr) / 1e6);
			if (repo_sync_upstream_add(s, path, href, type, d, err) < 0)
				return -1;
		}
	}
	if (repo_sync_upstream_add(s, repomd, "repodata/repomd.xml", "repomd", NULL, err) < 0 ||
	    (asc != NULL &&
	        repo_sync_upstream_add(s, asc, "repodata/repomd.xml.asc", "repomd", NULL, err) <
	            0))
		return -1;
	if (p.skipped > 0)
		job_printf(
		    s->job, "%zu packages left out by include/exclude patterns\n", p.skipped);
	return 0;
}

/*
 * One generated metadata file: its XML is built from the store on the publishing thread
 * (a content view publishes inside its transaction, which only that connection sees),
 * packed (digests and gzip: CPU only, on a thread of its own for primary, the largest)
 * and then recorded with the version.
 */
struct yum_doc {
	const char *type;
	struct buf body, xml, gz;
	char open_sum[129], sum[65];
	int r;
	struct dr_error err;
	pthread_t thread;
};

/* The XML of one column of the version's units between head and tail. */
static int
yum_doc_build(struct yum_doc *d, int64_t vid, const char *type, const char *head, const char *tail,
    const char *sql, struct dr_error *err)
{
	_cleanup_json_ json_t *params = json_pack("[I]", (json_int_t)vid);
	size_t rows;

	d->type = type;
	d->body = (struct buf)BUF_INIT(REPO_META_MAX);
	d->xml = (struct buf)BUF_INIT(REPO_META_MAX);
	d->gz = (struct buf)BUF_INIT(REPO_META_FILE_MAX);
	if (repo_rows_cat(sql, params, &d->body, &rows, type, err) < 0)
		return -1;
	buf_addf(&d->xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	/* head is an opening tag left open: the package count closes it. */
	if (strcmp(type, "updateinfo") == 0)
		buf_addf(&d->xml, "%s>\n", head);
	else
		buf_addf(&d->xml, "%s packages=\"%zu\">\n", head, rows);
	if (buf_add(&d->xml, d->body.data != NULL ? d->body.data : "", d->body.len) < 0 ||
	    buf_adds(&d->xml, tail) < 0)
		return dr_error_set(
		    err, "%s: larger than %llu bytes", type, (unsigned long long)REPO_META_MAX);
	buf_free(&d->body);
	return 0;
}

/* Digest, gzip and digest again (any thread). */
static void *
yum_doc_pack(void *arg)
{
	struct yum_doc *d = arg;

	repo_pool_digest("sha256", d->xml.data, d->xml.len, d->open_sum, NULL);
	d->r = repo_zread_gzip(d->xml.data, d->xml.len, &d->gz, &d->err);
	if (d->r == 0)
		repo_pool_digest("sha256", d->gz.data, d->gz.len, d->sum, NULL);
	return NULL;
}

/* Record the packed file with the version and list it in repomd.xml. */
static int
yum_doc_record(struct yum_doc *d, int64_t vid, struct buf *repomd, struct dr_error *err)
{
	_cleanup_free_ char *path = NULL;

	if (d->r < 0)
		return dr_error_set(err, "%s: %s", d->type, d->err.msg);
	path = xasprintf("repodata/%s-%s.xml.gz", d->sum, d->type);
	if (repo_version_file_add(vid, path, d->gz.data, d->gz.len, d->sum, err) < 0)
		return -1;
	buf_addf(repomd,
	    "  <data type=\"%s\">\n"
	    "    <checksum type=\"sha256\">%s</checksum>\n"
	    "    <open-checksum type=\"sha256\">%s</open-checksum>\n"
	    "    <location href=\"%s\"/>\n"
	    "    <timestamp>%lld</timestamp>\n"
	    "    <size>%zu</size>\n"
	    "    <open-size>%zu</open-size>\n"
	    "  </data>\n",
	    d->type, d->sum, d->open_sum, path, (long long)time(NULL), d->gz.len, d->xml.len);
	return 0;
}

static void
yum_doc_free(struct yum_doc *d)
{
	buf_free(&d->body);
	buf_free(&d->xml);
	buf_free(&d->gz);
}

/* Record each upstream file of the version under its own path. */
static int
yum_publish_upstream(int64_t vid, bool all, struct buf *repomd, struct dr_error *err)
{
	_cleanup_json_ json_t *rows = NULL;
	size_t i;
	json_t *r;

	if (store_queryf(&rows, err,
	        "SELECT path, type, sha256, size, data AS data_json FROM repo_version_upstream"
	        " WHERE version_id = ? ORDER BY path",
	        "[I]", (json_int_t)vid) < 0)
		return -1;
	json_array_foreach(rows, i, r)
	{
		const char *type = json_string_value(json_object_get(r, "type"));
		if (!all && !yum_is_carried(type))
			continue;
		if (store_execf(NULL, NULL, err,
		        "INSERT INTO repo_version_files (version_id, path, sha256, size)"
		        " VALUES (?, ?, ?, ?)",
		        "[IssI]", (json_int_t)vid, json_string_value(json_object_get(r, "path")),
		        json_string_value(json_object_get(r, "sha256")),
		        json_integer_value(json_object_get(r, "size"))) < 0)
			return -1;
		if (repomd != NULL && !all) {
			const char *xml =
			    json_string_value(json_object_get(json_object_get(r, "data"), "xml"));
			if (xml != NULL)
				buf_addf(repomd, "  %s\n", xml);
		}
	}
	return 0;
}

static int
yum_publish(const json_t *repo, int64_t vid, struct dr_error *err)
{
	const char *policy = json_string_value(json_object_get(repo, "mirroring_policy"));
	_cleanup_json_ json_t *v = NULL;
	struct buf repomd = BUF_INIT(REPO_REPOMD_MAX);
	struct yum_doc docs[4] = {0};
	bool packing = false;
	char sum[65];
	size_t i;
	int r = -1;

	if (strcmp(policy, "mirror_complete") == 0 &&
	    (v = store_query_one(err,
	         "SELECT cv_version_id FROM repo_versions WHERE id = ? AND cv_version_id IS NULL",
	         "[I]", (json_int_t)vid)) != NULL)
		return yum_publish_upstream(vid, true, NULL, err);
	buf_addf(&repomd,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<repomd xmlns=\"http://linux.duke.edu/metadata/repo\""
	    " xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">\n"
	    "  <revision>%lld</revision>\n",
	    (long long)time(NULL));
	/* primary is packed on its own thread while the others are built and packed. */
	if (yum_doc_build(&docs[0], vid, "primary",
	        "<metadata xmlns=\"http://linux.duke.edu/metadata/common\""
	        " xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\"",
	        "</metadata>\n",
	        "SELECT u.meta FROM repo_units u JOIN repo_version_units vu"
	        " ON vu.unit_id = u.id WHERE vu.version_id = ? ORDER BY u.name, u.id",
	        err) < 0)
		goto out;
	if (pthread_create(&docs[0].thread, NULL, yum_doc_pack, &docs[0]) != 0)
		fatalx("pthread_create failed");
	packing = true;
	if (yum_doc_build(&docs[1], vid, "filelists",
	        "<filelists xmlns=\"http://linux.duke.edu/metadata/filelists\"", "</filelists>\n",
	        "SELECT f.xml FROM repo_units u JOIN repo_version_units vu ON vu.unit_id = u.id"
	        " JOIN repo_unit_filelists f ON f.unit_id = u.id WHERE vu.version_id = ?"
	        " ORDER BY u.name, u.id",
	        err) < 0)
		goto out;
	yum_doc_pack(&docs[1]);
	if (yum_doc_build(&docs[2], vid, "other",
	        "<otherdata xmlns=\"http://linux.duke.edu/metadata/other\"", "</otherdata>\n",
	        "SELECT o.xml FROM repo_units u JOIN repo_version_units vu ON vu.unit_id = u.id"
	        " JOIN repo_unit_other o ON o.unit_id = u.id WHERE vu.version_id = ?"
	        " ORDER BY u.name, u.id",
	        err) < 0)
		goto out;
	yum_doc_pack(&docs[2]);
	if (yum_doc_build(&docs[3], vid, "updateinfo", "<updates", "</updates>\n",
	        "SELECT e.xml FROM repo_errata e JOIN repo_version_errata ve"
	        " ON ve.erratum_id = e.id WHERE ve.version_id = ? ORDER BY e.erratum_id",
	        err) < 0)
		goto out;
	yum_doc_pack(&docs[3]);
	pthread_join(docs[0].thread, NULL);
	packing = false;
	for (i = 0; i < nitems(docs); i++)
		if (yum_doc_record(&docs[i], vid, &repomd, err) < 0)
			goto out;
	if (yum_publish_upstream(vid, false, &repomd, err) < 0)
		goto out;
	if (buf_adds(&repomd, "</repomd>\n") < 0) {
		dr_error_set(err, "repomd.xml: too large");
		goto out;
	}
	r = repo_version_file_add(vid, "repodata/repomd.xml", repomd.data, repomd.len, sum, err);
out:
	if (packing)
		pthread_join(docs[0].thread, NULL);
	for (i = 0; i < nitems(docs); i++)
		yum_doc_free(&docs[i]);
	buf_free(&repomd);
	return r;
}

const struct repo_format repo_yum_format = {
    .type = "yum",
    .sync = yum_sync,
    .publish = yum_publish,
};
