/*
 * deb.c - Debian repository metadata: Release/InRelease (deb822 fields and the SHA256 file
 * list) and Packages files, read as a stream of stanzas with a cap on each. Every stanza
 * is kept verbatim so generated Packages files carry all of upstream's fields.
 */
#define LOG_COMPONENT "repos"
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repos/repos.h"

#define DEB_STANZA_MAX (1u << 20)
#define DEB_FILES_MAX 100000

/* The cleartext of a clear-signed message (dash-escaping undone); NULL when text is not
 * one. Caller frees. Used only when no key is configured: nothing is trusted from it. */
char *
repo_deb_cleartext(const char *text, size_t len)
{
	const char *begin = "-----BEGIN PGP SIGNED MESSAGE-----";
	const char *p, *end;
	struct buf out = BUF_INIT(REPO_REPOMD_MAX);

	if (len < strlen(begin) || strncmp(text, begin, strlen(begin)) != 0)
		return NULL;
	p = strstr(text, "\n\n");
	end = strstr(text, "\n-----BEGIN PGP SIGNATURE-----");
	if (p == NULL || end == NULL || end < p)
		return NULL;
	p += 2;
	while (p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p) + 1);
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (n >= 2 && p[0] == '-' && p[1] == ' ') {
			p += 2;
			n -= 2;
		}
		buf_add(&out, p, n);
		buf_addc(&out, '\n');
		if (nl == NULL || nl >= end)
			break;
		p = nl + 1;
	}
	return buf_steal(&out);
}

/* Parse a Release file: {"fields": {...}, "files": [{path, size, sha256}]}. */
int
repo_deb_release_parse(
    const char *text, size_t len, const char *name, json_t **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *fields = json_object(), *files = json_array();
	_cleanup_free_ char *copy = xstrndup(text, len);
	char *save = NULL, *line, *field = NULL;
	unsigned lineno = 0;

	for (line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (line[0] == ' ' || line[0] == '\t') {
			char sum[129], path[1100];
			unsigned long long size;

			if (field == NULL)
				return dr_error_set(
				    err, "%s:%u: continuation line without a field", name, lineno);
			if (strcmp(field, "SHA256") != 0)
				continue;
			if (sscanf(line, " %128s %llu %1099s", sum, &size, path) != 3 ||
			    !repo_pool_valid(sum))
				return dr_error_set(err, "%s:%u: bad SHA256 line", name, lineno);
			if (repo_path_check(path, name, err) < 0)
				return dr_error_prefix(err, "%s:%u: ", name, lineno);
			if (json_array_size(files) >= DEB_FILES_MAX)
				return dr_error_set(
				    err, "%s: more than %d files", name, DEB_FILES_MAX);
			json_array_append_new(files,
			    json_pack("{s:s, s:I, s:s}", "path", path, "size", (json_int_t)size,
			        "sha256", sum));
			continue;
		}
		char *colon = strchr(line, ':');
		if (colon == NULL)
			return dr_error_set(err, "%s:%u: expected 'Field: value'", name, lineno);
		*colon = '\0';
		field = line;
		json_object_set_new(fields, field, json_string(str_trim(colon + 1)));
	}
	if (json_object_size(fields) == 0)
		return dr_error_set(err, "%s: no fields", name);
	*ret = json_pack("{s:O, s:O}", "fields", fields, "files", files);
	return 0;
}

/* The value of field in a stanza, trimmed, or NULL. Caller frees. */
static char *
deb_field(const char *stanza, const char *field)
{
	size_t n = strlen(field);
	const char *p = stanza;

	while (p != NULL && *p != '\0') {
		if (strncasecmp(p, field, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1, *e = strchr(v, '\n');
			char *s = e != NULL ? xstrndup(v, (size_t)(e - v)) : xstrdup(v);
			char *t = str_trim(s);

			memmove(s, t, strlen(t) + 1);
			return s;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return NULL;
}

struct deb_walk {
	repo_pkg_fn fn;
	void *ctx;
	const char *name;
	unsigned line;
};

/* One stanza into a package; the version splits into epoch, upstream and revision. */
static int
deb_stanza(struct deb_walk *w, const char *stanza, struct dr_error *err)
{
	_cleanup_free_ char *pkg = deb_field(stanza, "Package");
	_cleanup_free_ char *ver = deb_field(stanza, "Version");
	_cleanup_free_ char *arch = deb_field(stanza, "Architecture");
	_cleanup_free_ char *file = deb_field(stanza, "Filename");
	_cleanup_free_ char *size = deb_field(stanza, "Size");
	_cleanup_free_ char *sha = deb_field(stanza, "SHA256");
	_cleanup_free_ char *src = deb_field(stanza, "Source");
	_cleanup_free_ char *epoch = NULL, *rel = NULL;
	struct repo_pkg p = {0};
	char *colon, *dash, *v;
	long long n = -1;

	if (pkg == NULL || ver == NULL || arch == NULL || file == NULL || sha == NULL)
		return dr_error_set(err,
		    "%s:%u: stanza %s without Package, Version, Architecture, "
		    "Filename or SHA256",
		    w->name, w->line, pkg != NULL ? pkg : "");
	if (!repo_pool_valid(sha))
		return dr_error_set(
		    err, "%s:%u: %s: SHA256 '%s' is not a SHA-256", w->name, w->line, pkg, sha);
	if (repo_path_check(file, pkg, err) < 0)
		return dr_error_prefix(err, "%s:%u: ", w->name, w->line);
	if (size != NULL)
		str_to_ll(size, 0, INT64_MAX, &n);
	v = ver;
	if ((colon = strchr(v, ':')) != NULL) {
		epoch = xstrndup(v, (size_t)(colon - v));
		v = colon + 1;
	}
	if ((dash = strrchr(v, '-')) != NULL) {
		rel = xstrdup(dash + 1);
		*dash = '\0';
	}
	if (src != NULL) {
		char *sp = strchr(src, ' ');
		if (sp != NULL)
			*sp = '\0';
	}
	p.name = pkg;
	p.epoch = epoch != NULL ? epoch : "0";
	p.version = v;
	p.release = rel != NULL ? rel : "";
	p.arch = arch;
	p.checksum_type = "sha256";
	p.checksum = sha;
	p.location = file;
	p.size = n;
	p.source = src != NULL ? src : pkg;
	p.meta = stanza;
	return w->fn(w->ctx, &p, err);
}

/* Call fn for each stanza of a Packages file (plain, gz, xz, bz2 or zst). */
int
repo_deb_packages(const char *path, const char *name, uint64_t max, repo_pkg_fn fn, void *ctx,
    struct dr_error *err)
{
	struct repo_zread *z;
	struct buf stanza = BUF_INIT(DEB_STANZA_MAX), line = BUF_INIT(DEB_STANZA_MAX);
	struct deb_walk w = {fn, ctx, name, 0};
	char chunk[65536];
	ssize_t n;
	int r = 0;

	if (repo_zread_open(path, name, max, &z, err) < 0)
		return -1;
	/* Lines accumulate into a stanza; a blank line (or the end) closes it. */
	while ((n = repo_zread_read(z, chunk, sizeof chunk)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (chunk[i] != '\n') {
				if (buf_addc(&line, chunk[i]) < 0) {
					r = dr_error_set(
					    err, "%s:%u: line too long", name, w.line + 1);
					goto out;
				}
				continue;
			}
			w.line++;
			if (line.len == 0) {
				if (stanza.len > 0 && (r = deb_stanza(&w, stanza.data, err)) < 0)
					goto out;
				buf_reset(&stanza);
			} else if (buf_add(&stanza, line.data, line.len) < 0 ||
			    buf_addc(&stanza, '\n') < 0) {
				r = dr_error_set(err, "%s:%u: stanza larger than %u bytes", name,
				    w.line, DEB_STANZA_MAX);
				goto out;
			}
			buf_reset(&line);
		}
	}
	if (n < 0) {
		r = dr_error_set(err, "%s", repo_zread_error(z));
		goto out;
	}
	if (line.len > 0 &&
	    (buf_add(&stanza, line.data, line.len) < 0 || buf_addc(&stanza, '\n') < 0)) {
		r = dr_error_set(err, "%s: last stanza too large", name);
		goto out;
	}
	if (stanza.len > 0)
		r = deb_stanza(&w, stanza.data, err);
out:
	buf_free(&stanza);
	buf_free(&line);
	repo_zread_close(z);
	return r;
}
