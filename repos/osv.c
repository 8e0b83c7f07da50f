/*
 * osv.c - errata for apt repositories. Debian and Ubuntu publish no updateinfo; their
 * advisories (DSA, DLA, USN) are published in the OSV JSON format, per source package.
 * An advisory becomes an erratum of a repository when it fixes a source package whose
 * binaries the repository carries: each binary gets the fixed version.
 */
#define LOG_COMPONENT "repos"
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#include "repos/repos.h"

#define OSV_FILE_MAX (64u << 20) /* one OSV document */
#define OSV_FILES_MAX 200000 /* files in an advisory directory or archive */
#define OSV_ZIP_MAX (1ull << 30) /* a downloaded archive (Debian's all.zip is ~100 MB) */

/* Split a Debian version into epoch, upstream version and revision. */
static json_t *
osv_package(const char *name, const char *arch, const char *fixed)
{
	_cleanup_free_ char *v = xstrdup(fixed);
	const char *epoch = "0", *rel = "";
	char *colon = strchr(v, ':'), *up = v, *dash;

	if (colon != NULL) {
		*colon = '\0';
		epoch = v;
		up = colon + 1;
	}
	if ((dash = strrchr(up, '-')) != NULL) {
		*dash = '\0';
		rel = dash + 1;
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:n}", "name", name, "epoch", epoch, "version",
	    up, "release", rel, "arch", arch, "module");
}

/* The first "fixed" event of an affected entry's ECOSYSTEM ranges, or NULL. */
static const char *
osv_fixed(const json_t *affected)
{
	size_t i, j;
	json_t *r, *ev;

	json_array_foreach(json_object_get(affected, "ranges"), i, r)
	{
		const char *type = json_string_value(json_object_get(r, "type"));
		if (type != NULL && strcmp(type, "ECOSYSTEM") != 0)
			continue;
		json_array_foreach(json_object_get(r, "events"), j, ev)
		{
			const char *fixed = json_string_value(json_object_get(ev, "fixed"));
			if (fixed != NULL && *fixed != '\0')
				return fixed;
		}
	}
	return NULL;
}

/* One advisory to an erratum of this repository (NULL when it touches none of it). */
static json_t *
osv_erratum(struct repo_sync *s, const json_t *adv)
{
	const char *id = json_string_value(json_object_get(adv, "id"));
	const char *severity = NULL;
	json_t *packages = json_array(), *refs = json_array(), *a, *v;
	size_t i, j;

	if (id == NULL || *id == '\0' || strlen(id) > 256) {
		json_decref(packages);
		json_decref(refs);
		return NULL;
	}
	json_array_foreach(json_object_get(adv, "affected"), i, a)
	{
		const json_t *pkg = json_object_get(a, "package");
		const char *src = json_string_value(json_object_get(pkg, "name"));
		const char *eco = json_string_value(json_object_get(pkg, "ecosystem"));
		const char *fixed = osv_fixed(a);
		json_t *bins, *b;

		if (src == NULL || fixed == NULL || eco == NULL ||
		    (!str_has_prefix(eco, "Debian") && !str_has_prefix(eco, "Ubuntu")))
			continue;
		if ((bins = json_object_get(s->sources, src)) == NULL)
			continue;
		json_array_foreach(bins, j, b)
		{
			json_array_append_new(packages,
			    osv_package(json_string_value(json_object_get(b, "name")),
			        json_string_value(json_object_get(b, "arch")), fixed));
		}
		if (severity == NULL)
			severity = json_string_value(
			    json_object_get(json_object_get(a, "ecosystem_specific"), "urgency"));
	}
	if (json_array_size(packages) == 0) {
		json_decref(packages);
		json_decref(refs);
		return NULL;
	}
	if (severity == NULL)
		severity = json_string_value(
		    json_object_get(json_object_get(adv, "database_specific"), "severity"));
	json_array_foreach(json_object_get(adv, "aliases"), i, v)
	{
		if (json_is_string(v))
			json_array_append_new(refs,
			    json_pack("{s:s, s:O, s:s, s:O}", "type",
			        str_has_prefix(json_string_value(v), "CVE-") ? "cve" : "other",
			        "id", v, "href", "", "title", v));
	}
	json_array_foreach(json_object_get(adv, "references"), i, v)
	{
		const char *url = json_string_value(json_object_get(v, "url"));
		const char *type = json_string_value(json_object_get(v, "type"));
		if (url != NULL)
			json_array_append_new(refs,
			    json_pack("{s:s, s:s, s:s, s:s}", "type", type != NULL ? type : "WEB",
			        "id", url, "href", url, "title", ""));
	}
	{
		const char *pub = json_string_value(json_object_get(adv, "published"));
		const char *mod = json_string_value(json_object_get(adv, "modified"));
		const char *summary = json_string_value(json_object_get(adv, "summary"));

		return json_pack("{s:s, s:s, s:s?, s:s, s:s?, s:s, s:I, s:s, s:I, s:b, s:n, s:n,"
		                 " s:s, s:s, s:o, s:o}",
		    "erratum_id", id, "type", "security", "severity", severity, "title",
		    summary != NULL ? summary : id, "description",
		    json_string_value(json_object_get(adv, "details")), "issued", pub ? pub : "",
		    "issued_at", (json_int_t)repo_date_parse(pub), "updated", mod ? mod : "",
		    "updated_at", (json_int_t)repo_date_parse(mod ? mod : pub), "reboot_suggested",
		    false, "release", "solution", "status", "final", "from", "osv", "references",
		    refs, "packages", packages);
	}
}

/* Add the advisories of one parsed document (an advisory, a list, or {"vulns": [..]}). */
static int
osv_document(struct repo_sync *s, const json_t *doc, size_t *ret_n, struct dr_error *err)
{
	const json_t *list = json_is_array(doc) ? doc : json_object_get(doc, "vulns");
	size_t i;
	json_t *adv;

	if (list == NULL && json_is_object(doc) && json_object_get(doc, "id") != NULL) {
		_cleanup_json_ json_t *e = osv_erratum(s, doc);
		if (e != NULL && repo_sync_erratum_add(s, e, err) < 0)
			return -1;
		*ret_n += e != NULL;
		return 0;
	}
	json_array_foreach(list, i, adv)
	{
		_cleanup_json_ json_t *e = osv_erratum(s, adv);
		if (e != NULL && repo_sync_erratum_add(s, e, err) < 0)
			return -1;
		*ret_n += e != NULL;
	}
	return 0;
}

/* Load one JSON file of at most OSV_FILE_MAX bytes; errors name the file, not its text. */
static int
osv_load(const char *path, const char *name, json_t **ret, struct dr_error *err)
{
	json_error_t je;
	struct stat st;

	if (stat(path, &st) < 0)
		return dr_error_errno(err, "%s", name);
	if (!S_ISREG(st.st_mode) || st.st_size > OSV_FILE_MAX)
		return dr_error_set(err, "%s: not a file of at most %u bytes", name, OSV_FILE_MAX);
	if ((*ret = json_load_file(path, 0, &je)) == NULL)
		return dr_error_set(
		    err, "%s:%d:%d: not JSON: %s", name, je.line, je.column, je.text);
	return 0;
}

/* Read one archive member of at most OSV_FILE_MAX bytes, whatever size the archive
 * claims (a lying header cannot make us read more). Caller frees *ret. */
static int
osv_zip_read(zip_t *z, zip_uint64_t i, const char *name, char **ret, size_t *ret_len,
    struct dr_error *err)
{
	zip_file_t *f = zip_fopen_index(z, i, 0);
	struct buf b = BUF_INIT(OSV_FILE_MAX);
	char chunk[65536];
	zip_int64_t got;

	if (f == NULL)
		return dr_error_set(err, "%s: %s", name, zip_strerror(z));
	while ((got = zip_fread(f, chunk, sizeof chunk)) > 0) {
		if (buf_add(&b, chunk, (size_t)got) < 0) {
			zip_fclose(f);
			buf_free(&b);
			return dr_error_set(err, "%s: larger than %u bytes", name, OSV_FILE_MAX);
		}
	}
	if (got < 0) {
		dr_error_set(err, "%s: %s", name, zip_file_strerror(f));
		zip_fclose(f);
		buf_free(&b);
		return -1;
	}
	zip_fclose(f);
	*ret_len = b.len;
	*ret = b.data != NULL ? b.data : xstrdup("");
	return 0;
}

/* Add the advisories of every .json member of the zip archive at path (Debian's and
 * OSV's all.zip); errors name the archive and the member. */
static int
osv_zip(struct repo_sync *s, const char *path, const char *name, size_t *ret_n,
    struct dr_error *err)
{
	zip_t *z;
	zip_int64_t count, i;
	int ze, r = 0;

	if ((z = zip_open(path, ZIP_RDONLY, &ze)) == NULL) {
		zip_error_t e;

		zip_error_init_with_code(&e, ze);
		dr_error_set(err, "%s: not a zip archive: %s", name, zip_error_strerror(&e));
		zip_error_fini(&e);
		return -1;
	}
	if ((count = zip_get_num_entries(z, 0)) > OSV_FILES_MAX) {
		zip_discard(z);
		return dr_error_set(err, "%s: more than %d members", name, OSV_FILES_MAX);
	}
	for (i = 0; r == 0 && i < count; i++) {
		const char *member = zip_get_name(z, (zip_uint64_t)i, 0);
		_cleanup_free_ char *where = NULL, *data = NULL;
		_cleanup_json_ json_t *doc = NULL;
		json_error_t je;
		size_t len;

		if (member == NULL || !str_has_suffix(member, ".json"))
			continue;
		where = xasprintf("%s:%s", name, member);
		if (osv_zip_read(z, (zip_uint64_t)i, where, &data, &len, err) < 0)
			r = -1;
		else if ((doc = json_loadb(data, len, 0, &je)) == NULL)
			r = dr_error_set(err, "%s:%d:%d: not JSON: %s", where, je.line, je.column,
			    je.text);
		else
			r = osv_document(s, doc, ret_n, err);
	}
	zip_discard(z);
	return r;
}

/* Import the advisories at src (an http(s) URL of a JSON document or of a zip archive of
 * them, or a directory of .json files or a .zip file on this host) as errata of the
 * sync. */
int
repo_osv_import(struct repo_sync *s, const char *src, struct dr_error *err)
{
	bool remote = str_has_prefix(src, "http://") || str_has_prefix(src, "https://");
	size_t n = 0, files = 0;
	int r = 0;

	if (str_has_suffix(src, ".zip")) {
		_cleanup_free_ char *path = NULL;

		if (remote && repo_sync_fetch(s, src, OSV_ZIP_MAX, NULL, &path, err) < 0)
			return -1;
		if (store_begin(err) < 0)
			return -1;
		r = osv_zip(s, remote ? path : src, src, &n, err);
	} else if (remote) {
		_cleanup_free_ char *path = NULL;
		_cleanup_json_ json_t *doc = NULL;

		if (repo_sync_fetch(s, src, OSV_FILE_MAX, NULL, &path, err) < 0 ||
		    osv_load(path, src, &doc, err) < 0 || store_begin(err) < 0)
			return -1;
		r = osv_document(s, doc, &n, err);
	} else {
		struct dirent *de;
		DIR *d = opendir(src);

		if (d == NULL)
			return dr_error_errno(err, "errata directory %s", src);
		if (store_begin(err) < 0) {
			closedir(d);
			return -1;
		}
		while (r == 0 && (de = readdir(d)) != NULL) {
			_cleanup_free_ char *path = NULL;
			_cleanup_json_ json_t *doc = NULL;

			if (de->d_name[0] == '.' || !str_has_suffix(de->d_name, ".json"))
				continue;
			if (++files > OSV_FILES_MAX) {
				r = dr_error_set(
				    err, "%s: more than %d files", src, OSV_FILES_MAX);
				break;
			}
			path = xasprintf("%s/%s", src, de->d_name);
			r = osv_load(path, path, &doc, err) < 0 ? -1
			                                        : osv_document(s, doc, &n, err);
		}
		closedir(d);
	}
	if (r < 0) {
		store_rollback();
		return -1;
	}
	if (store_commit(err) < 0)
		return -1;
	job_printf(s->job, "%zu advisories apply to this repository\n", n);
	return 0;
}
