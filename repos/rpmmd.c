/*
 * rpmmd.c - rpm-md metadata (repomd.xml, primary, filelists, other, updateinfo) read with
 * libxml2's streaming reader: one <package> or <update> element is expanded at a time,
 * so memory stays flat on 20,000-package repositories. The files come from outsiders, so:
 * no network access, no DTD (a DOCTYPE is refused outright, which also rules out entity
 * expansion), a cap on decompressed bytes (zread.c) and on each element's size.
 *
 * Each package keeps its element verbatim (with its namespace prefixes), so generated
 * metadata carries every field upstream had without our having to model them.
 */
#define LOG_COMPONENT "repos"
#include "config.h"

#include <libxml/xmlreader.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repos/repos.h"

#define RPMMD_ELEMENT_MAX (8u << 20) /* one package's or erratum's XML */

/* libxml2 (and the ICU it links) is opened on first use (core/dlib.c): only rpm-md work
 * needs it. */
DLIB_DECLARE(xmlBufferContent);
DLIB_DECLARE(xmlBufferCreate);
DLIB_DECLARE(xmlBufferFree);
DLIB_DECLARE(xmlBufferLength);
DLIB_DECLARE(xmlFreeTextReader);
DLIB_DECLARE(xmlGetProp);
DLIB_DECLARE(xmlNodeDump);
DLIB_DECLARE(xmlNodeGetContent);
DLIB_DECLARE(xmlReaderForIO);
DLIB_DECLARE(xmlTextReaderConstLocalName);
DLIB_DECLARE(xmlTextReaderDepth);
DLIB_DECLARE(xmlTextReaderExpand);
DLIB_DECLARE(xmlTextReaderGetParserLineNumber);
DLIB_DECLARE(xmlTextReaderNext);
DLIB_DECLARE(xmlTextReaderNodeType);
DLIB_DECLARE(xmlTextReaderRead);
DLIB_DECLARE(xmlTextReaderSetStructuredErrorHandler);
static const struct dlib_sym rpmmd_xml_syms[] = {
	DLIB_SYM(xmlBufferContent),
	DLIB_SYM(xmlBufferCreate),
	DLIB_SYM(xmlBufferFree),
	DLIB_SYM(xmlBufferLength),
	DLIB_SYM(xmlFreeTextReader),
	DLIB_SYM(xmlGetProp),
	DLIB_SYM(xmlNodeDump),
	DLIB_SYM(xmlNodeGetContent),
	DLIB_SYM(xmlReaderForIO),
	DLIB_SYM(xmlTextReaderConstLocalName),
	DLIB_SYM(xmlTextReaderDepth),
	DLIB_SYM(xmlTextReaderExpand),
	DLIB_SYM(xmlTextReaderGetParserLineNumber),
	DLIB_SYM(xmlTextReaderNext),
	DLIB_SYM(xmlTextReaderNodeType),
	DLIB_SYM(xmlTextReaderRead),
	DLIB_SYM(xmlTextReaderSetStructuredErrorHandler),
};
static struct dlib rpmmd_xml = DLIB_INIT("libxml2.so.2", "libxml2", rpmmd_xml_syms);

struct rpmmd_io {
	struct repo_zread *z;
	char error[DR_ERROR_MAX];
	const char *name;
};

static int
rpmmd_io_read(void *ctx, char *buf, int len)
{
	struct rpmmd_io *io = ctx;
	ssize_t n = repo_zread_read(io->z, buf, (size_t)len);

	if (n < 0) {
		snprintf(io->error, sizeof io->error, "%s", repo_zread_error(io->z));
		return -1;
	}
	return (int)n;
}

static int
rpmmd_io_close(void *ctx)
{
	return 0;
}

/* Keep the first error libxml2 reports, with its line. */
static void
rpmmd_xml_error(void *ctx, xmlErrorPtr e)
{
	struct rpmmd_io *io = ctx;
	char *nl;

	if (io->error[0] != '\0' || e == NULL || e->level < XML_ERR_ERROR)
		return;
	snprintf(io->error, sizeof io->error, "%s:%d: %s", io->name, e->line,
	    e->message != NULL ? e->message : "XML error");
	if ((nl = strrchr(io->error, '\n')) != NULL && nl[1] == '\0')
		*nl = '\0';
}

/* The text of node's first child element called name, or NULL. Caller frees. */
static char *
rpmmd_child_text(xmlNodePtr node, const char *name)
{
	xmlNodePtr c;

	for (c = node->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
			return (char *)sym_xmlNodeGetContent(c);
	return NULL;
}

static xmlNodePtr
rpmmd_child(xmlNodePtr node, const char *name)
{
	xmlNodePtr c;

	for (c = node ? node->children : NULL; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

/* An attribute as a new string ("" when absent). Caller frees. */
static char *
rpmmd_attr(xmlNodePtr node, const char *name)
{
	xmlChar *v = node != NULL ? sym_xmlGetProp(node, (const xmlChar *)name) : NULL;
	char *s = xstrdup(v != NULL ? (const char *)v : "");

	free(v); /* xmlFree is free unless a program changes it; we do not */
	return s;
}

/* Refuse a path from metadata that could leave the repository: absolute, "..", a scheme. */
int
repo_path_check(const char *path, const char *what, struct dr_error *err)
{
	const char *p = path, *seg;

	if (path == NULL || *path == '\0')
		return dr_error_set(err, "%s: empty path", what);
	if (*path == '/' || strstr(path, "://") != NULL || strchr(path, '\\') != NULL)
		return dr_error_set(
		    err, "%s: path '%s' is not relative to the repository", what, path);
	if (strlen(path) > 1024)
		return dr_error_set(err, "%s: path longer than 1024 bytes", what);
	for (; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '?' || *p == '#' || *p == '%')
			return dr_error_set(
			    err, "%s: path '%s' has a forbidden character", what, path);
	for (seg = path; seg != NULL; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL) {
		size_t len = strcspn(seg, "/");
		if ((len == 2 && strncmp(seg, "..", 2) == 0) || (len == 1 && seg[0] == '.') ||
		    len == 0)
			return dr_error_set(
			    err, "%s: path '%s' escapes the repository", what, path);
	}
	return 0;
}

/* Expand the element at the reader, call fn, return its result. */
typedef int (*rpmmd_element_fn)(
    void *ctx, xmlDocPtr doc, xmlNodePtr node, const char *xml, struct dr_error *err);

/*
 * Walk file (possibly compressed; name is what errors cite) and call fn for each element
 * called element directly under a root called root. Anything else at that level is
 * skipped; a DOCTYPE is an error.
 */
static int
rpmmd_walk(const char *path, const char *name, uint64_t max, const char *root, const char *element,
    rpmmd_element_fn fn, void *ctx, struct dr_error *err)
{
	struct rpmmd_io io = {.name = name};
	xmlTextReaderPtr r;
	bool seen_root = false;
	int rc, ret = 0;

	if (dlib_load(&rpmmd_xml, err) < 0 || repo_zread_open(path, name, max, &io.z, err) < 0)
		return -1;
	r = sym_xmlReaderForIO(
	    rpmmd_io_read, rpmmd_io_close, &io, name, NULL, XML_PARSE_NONET | XML_PARSE_COMPACT);
	if (r == NULL) {
		repo_zread_close(io.z);
		return dr_error_set(err, "%s: cannot start the XML reader", name);
	}
	sym_xmlTextReaderSetStructuredErrorHandler(r, rpmmd_xml_error, &io);
	rc = sym_xmlTextReaderRead(r);
	while (rc == 1 && ret == 0) {
		int type = sym_xmlTextReaderNodeType(r);
		int depth = sym_xmlTextReaderDepth(r);
		const char *local = (const char *)sym_xmlTextReaderConstLocalName(r);

		if (type == XML_READER_TYPE_DOCUMENT_TYPE) {
			ret = dr_error_set(err, "%s: a DOCTYPE is not allowed in metadata", name);
			break;
		}
		if (type == XML_READER_TYPE_ELEMENT && depth == 0) {
			if (strcmp(local, root) != 0) {
				ret = dr_error_set(err, "%s: root element <%s>, expected <%s>",
				    name, local, root);
				break;
			}
			seen_root = true;
		} else if (type == XML_READER_TYPE_ELEMENT && depth == 1 &&
		    strcmp(local, element) == 0) {
			xmlNodePtr node = sym_xmlTextReaderExpand(r);
			xmlBufferPtr b;

			if (node == NULL)
				break;
			b = sym_xmlBufferCreate();
			sym_xmlNodeDump(b, node->doc, node, 0, 0);
			if (sym_xmlBufferLength(b) > (int)RPMMD_ELEMENT_MAX)
				ret = dr_error_set(err, "%s:%d: <%s> larger than %u bytes", name,
				    sym_xmlTextReaderGetParserLineNumber(r), element,
				    RPMMD_ELEMENT_MAX);
			else
				ret = fn(
				    ctx, node->doc, node, (const char *)sym_xmlBufferContent(b), err);
			if (ret < 0 && strncmp(err ? err->msg : "", name, strlen(name)) != 0)
				dr_error_prefix(
				    err, "%s:%d: ", name, sym_xmlTextReaderGetParserLineNumber(r));
			sym_xmlBufferFree(b);
			rc = sym_xmlTextReaderNext(r);
			continue;
		}
		rc = sym_xmlTextReaderRead(r);
	}
	/* The reader may end a truncated document quietly; its error handler saw it. */
	if (ret == 0 && (rc < 0 || io.error[0] != '\0'))
		ret = dr_error_set(err, "%s", io.error[0] != '\0' ? io.error : "XML error");
	else if (ret == 0 && !seen_root)
		ret = dr_error_set(err, "%s: no <%s> element", name, root);
	sym_xmlFreeTextReader(r);
	repo_zread_close(io.z);
	return ret;
}

/* ---- repomd.xml ---- */

struct repomd_ctx {
	json_t *files;
};

static int
rpmmd_repomd_data(void *ctx, xmlDocPtr doc, xmlNodePtr node, const char *xml, struct dr_error *err)
{
	struct repomd_ctx *c = ctx;
	xmlNodePtr loc = rpmmd_child(node, "location"), sum = rpmmd_child(node, "checksum");
	xmlNodePtr osum = rpmmd_child(node, "open-checksum");
	_cleanup_free_ char *type = rpmmd_attr(node, "type"), *href = rpmmd_attr(loc, "href");
	_cleanup_free_ char *base = rpmmd_attr(loc, "base");
	_cleanup_free_ char *st = rpmmd_attr(sum, "type"), *ost = rpmmd_attr(osum, "type");
	_cleanup_free_ char *sv = sum ? (char *)sym_xmlNodeGetContent(sum) : NULL;
	_cleanup_free_ char *osv = osum ? (char *)sym_xmlNodeGetContent(osum) : NULL;
	_cleanup_free_ char *size = rpmmd_child_text(node, "size");
	_cleanup_free_ char *osize = rpmmd_child_text(node, "open-size");
	long long n = -1, on = -1;

	if (*type == '\0' || loc == NULL || sum == NULL || sv == NULL)
		return dr_error_set(err, "<data type=\"%s\"> without location or checksum", type);
	if (*base != '\0')
		return dr_error_set(err, "<data type=\"%s\">: xml:base is not supported", type);
	if (repo_path_check(href, type, err) < 0)
		return -1;
	if (size != NULL)
		str_to_ll(str_trim(size), 0, INT64_MAX, &n);
	if (osize != NULL)
		str_to_ll(str_trim(osize), 0, INT64_MAX, &on);
	json_array_append_new(c->files,
	    json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:I, s:I, s:s}", "type", type, "href",
	        href, "checksum_type", *st ? st : "sha256", "checksum", str_trim(sv),
	        "open_checksum_type", *ost ? ost : NULL, "open_checksum",
	        osv ? str_trim(osv) : NULL, "size", (json_int_t)n, "open_size", (json_int_t)on,
	        "xml", xml));
	return 0;
}

/* The <data> entries of a repomd.xml as [{type, href, checksum_type, checksum, …}]. */
int
repo_rpmmd_repomd(const char *path, const char *name, json_t **ret, struct dr_error *err)
{
	struct repomd_ctx c = {json_array()};

	if (rpmmd_walk(path, name, REPO_REPOMD_MAX, "repomd", "data", rpmmd_repomd_data, &c, err) <
	    0) {
		json_decref(c.files);
		return -1;
	}
	*ret = c.files;
	return 0;
}

/* ---- primary.xml ---- */

struct primary_ctx {
	repo_pkg_fn fn;
	void *ctx;
};

static int
rpmmd_primary_package(
    void *ctx, xmlDocPtr doc, xmlNodePtr node, const char *xml, struct dr_error *err)
{
	struct primary_ctx *c = ctx;
	xmlNodePtr ver = rpmmd_child(node, "version"), sum = rpmmd_child(node, "checksum");
	xmlNodePtr loc = rpmmd_child(node, "location"), size = rpmmd_child(node, "size");
	_cleanup_free_ char *type = rpmmd_attr(node, "type");
	_cleanup_free_ char *name = rpmmd_child_text(node, "name");
	_cleanup_free_ char *arch = rpmmd_child_text(node, "arch");
	_cleanup_free_ char *epoch = rpmmd_attr(ver, "epoch"), *v = rpmmd_attr(ver, "ver");
	_cleanup_free_ char *rel = rpmmd_attr(ver, "rel"), *st = rpmmd_attr(sum, "type");
	_cleanup_free_ char *sv = sum ? (char *)sym_xmlNodeGetContent(sum) : NULL;
	_cleanup_free_ char *href = rpmmd_attr(loc, "href"), *base = rpmmd_attr(loc, "base");
	_cleanup_free_ char *psize = rpmmd_attr(size, "package");
	struct repo_pkg p = {0};
	long long n = -1;

	if (*type != '\0' && strcmp(type, "rpm") != 0)
		return 0;
	if (name == NULL || arch == NULL || ver == NULL || sum == NULL || sv == NULL ||
	    loc == NULL)
		return dr_error_set(err,
		    "package %s: missing name, arch, version, checksum or "
		    "location",
		    name != NULL ? name : "?");
	if (*base != '\0')
		return dr_error_set(err, "package %s: xml:base is not supported", name);
	if (repo_path_check(href, name, err) < 0)
		return -1;
	str_to_ll(psize, 0, INT64_MAX, &n);
	p.name = name;
	p.epoch = *epoch != '\0' ? epoch : "0";
	p.version = v;
	p.release = rel;
	p.arch = arch;
	p.checksum_type = *st != '\0' ? st : "sha256";
	p.checksum = str_trim(sv);
	if (strcmp(p.checksum_type, "sha") == 0)
		p.checksum_type = "sha1";
	p.location = href;
	p.size = n;
	p.meta = xml;
	return c->fn(c->ctx, &p, err);
}

/* Call fn for each rpm in a primary.xml (possibly compressed). */
int
repo_rpmmd_primary(const char *path, const char *name, uint64_t max, repo_pkg_fn fn, void *ctx,
    struct dr_error *err)
{
	struct primary_ctx c = {fn, ctx};

	return rpmmd_walk(path, name, max, "metadata", "package", rpmmd_primary_package, &c, err);
}

/* ---- filelists.xml, other.xml ---- */

struct frag_ctx {
	repo_fragment_fn fn;
	void *ctx;
};

static int
rpmmd_fragment(void *ctx, xmlDocPtr doc, xmlNodePtr node, const char *xml, struct dr_error *err)
{
	struct frag_ctx *c = ctx;
	_cleanup_free_ char *pkgid = rpmmd_attr(node, "pkgid");

	if (*pkgid == '\0')
		return dr_error_set(err, "<package> without pkgid");
	return c->fn(c->ctx, pkgid, xml, err);
}

/* Call fn(pkgid, element) for each <package> of filelists.xml (root "filelists") or
 * other.xml (root "otherdata"). */
int
repo_rpmmd_fragments(const char *path, const char *name, uint64_t max, const char *root,
    repo_fragment_fn fn, void *ctx, struct dr_error *err)
{
	struct frag_ctx c = {fn, ctx};

	return rpmmd_walk(path, name, max, root, "package", rpmmd_fragment, &c, err);
}

/* ---- updateinfo.xml ---- */

struct updateinfo_ctx {
	repo_erratum_fn fn;
	void *ctx;
};

/* A JSON string of node's child text, trimmed, or null. */
static json_t *
rpmmd_json_text(xmlNodePtr node, const char *name)
{
	char *t = rpmmd_child_text(node, name);
	json_t *v;

	if (t == NULL)
		return json_null();
	v = json_string(str_trim(t));
	free(t);
	return v != NULL ? v : json_null();
}

/* A date attribute: "YYYY-MM-DD[ HH:MM:SS]" or Unix seconds, as Unix seconds (0 unknown). */
int64_t
repo_date_parse(const char *s)
{
	struct tm tm = {0};
	long long n;
	const char *end;

	if (s == NULL || *s == '\0')
		return 0;
	if (str_to_ll(s, 0, INT64_MAX, &n) == 0)
		return n;
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL)
		return 0;
	if (*end == ' ' || *end == 'T')
		strptime(end + 1, "%H:%M:%S", &tm);
	return (int64_t)timegm(&tm);
}

static int
rpmmd_update(void *ctx, xmlDocPtr doc, xmlNodePtr node, const char *xml, struct dr_error *err)
{
	struct updateinfo_ctx *c = ctx;
	_cleanup_json_ json_t *e = NULL;
	json_t *refs = json_array(), *pkgs = json_array(), *id = rpmmd_json_text(node, "id");
	xmlNodePtr n, col, p;
	_cleanup_free_ char *type = rpmmd_attr(node, "type");
	_cleanup_free_ char *issued = rpmmd_attr(rpmmd_child(node, "issued"), "date");
	_cleanup_free_ char *updated = rpmmd_attr(rpmmd_child(node, "updated"), "date");
	_cleanup_free_ char *reboot = rpmmd_child_text(node, "reboot_suggested");

	e = json_pack(
	    "{s:o, s:s, s:o, s:o, s:o, s:s, s:I, s:s, s:I, s:b, s:o, s:o, s:o, s:o, s:o}",
	    "erratum_id", id, "type", *type ? type : "bugfix", "severity",
	    rpmmd_json_text(node, "severity"), "title", rpmmd_json_text(node, "title"),
	    "description", rpmmd_json_text(node, "description"), "issued", issued, "issued_at",
	    (json_int_t)repo_date_parse(issued), "updated", updated, "updated_at",
	    (json_int_t)repo_date_parse(*updated ? updated : issued), "reboot_suggested",
	    reboot != NULL &&
	        (strcmp(str_trim(reboot), "True") == 0 || strcmp(reboot, "true") == 0 ||
	            strcmp(reboot, "1") == 0),
	    "release", rpmmd_json_text(node, "release"), "solution",
	    rpmmd_json_text(node, "solution"), "status", json_string(""), "references", refs,
	    "packages", pkgs);
	json_object_set_new(e, "status", json_string(""));
	{
		_cleanup_free_ char *status = rpmmd_attr(node, "status");
		_cleanup_free_ char *from = rpmmd_attr(node, "from");
		json_object_set_new(e, "status", json_string(status));
		json_object_set_new(e, "from", json_string(from));
	}
	if (!json_is_string(id) || *json_string_value(id) == '\0')
		return dr_error_set(err, "<update> without an <id>");
	for (n = rpmmd_child(node, "references") ? rpmmd_child(node, "references")->children
	                                         : NULL;
	     n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "reference") != 0)
			continue;
		_cleanup_free_ char *rt = rpmmd_attr(n, "type"), *ri = rpmmd_attr(n, "id");
		_cleanup_free_ char *rh = rpmmd_attr(n, "href"), *rti = rpmmd_attr(n, "title");
		json_array_append_new(refs,
		    json_pack(
		        "{s:s, s:s, s:s, s:s}", "type", rt, "id", ri, "href", rh, "title", rti));
	}
	for (col = rpmmd_child(node, "pkglist") ? rpmmd_child(node, "pkglist")->children : NULL;
	     col != NULL; col = col->next) {
		xmlNodePtr mod;
		json_t *module = json_null();
		if (col->type != XML_ELEMENT_NODE ||
		    strcmp((const char *)col->name, "collection") != 0)
			continue;
		if ((mod = rpmmd_child(col, "module")) != NULL) {
			_cleanup_free_ char *mn = rpmmd_attr(mod, "name");
			_cleanup_free_ char *ms = rpmmd_attr(mod, "stream");
			_cleanup_free_ char *mv = rpmmd_attr(mod, "version");
			_cleanup_free_ char *mc = rpmmd_attr(mod, "context");
			_cleanup_free_ char *ma = rpmmd_attr(mod, "arch");
			module = json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", mn, "stream", ms,
			    "version", mv, "context", mc, "arch", ma);
		}
		for (p = col->children; p != NULL; p = p->next) {
			if (p->type != XML_ELEMENT_NODE ||
			    strcmp((const char *)p->name, "package") != 0)
				continue;
			_cleanup_free_ char *pn = rpmmd_attr(p, "name");
			_cleanup_free_ char *pe = rpmmd_attr(p, "epoch");
			_cleanup_free_ char *pv = rpmmd_attr(p, "version");
			_cleanup_free_ char *pr = rpmmd_attr(p, "release");
			_cleanup_free_ char *pa = rpmmd_attr(p, "arch");
			_cleanup_free_ char *fname = rpmmd_child_text(p, "filename");
			json_array_append_new(pkgs,
			    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:O}", "name", pn, "epoch",
			        *pe ? pe : "0", "version", pv, "release", pr, "arch", pa,
			        "filename", fname != NULL ? str_trim(fname) : NULL, "module",
			        module));
		}
		json_decref(module);
	}
	json_object_set_new(e, "xml", json_string(xml));
	return c->fn(c->ctx, e, err);
}

/* Call fn for each <update> of an updateinfo.xml as a JSON erratum (with its "xml"). */
int
repo_rpmmd_updateinfo(const char *path, const char *name, uint64_t max, repo_erratum_fn fn,
    void *ctx, struct dr_error *err)
{
	struct updateinfo_ctx c = {fn, ctx};

	return rpmmd_walk(path, name, max, "updates", "update", rpmmd_update, &c, err);
}
