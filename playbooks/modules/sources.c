/*
 * modules/sources.c - where packages come from: apt_repository (one-line sources in
 * sources.list and the .list files of sources.list.d), apt_key (OpenPGP keys in a keyring file,
 * for signed-by), yum_repository (sections of .repo files). Each reads the files in one command,
 * rewrites them the way ansible-core does and compares the normalized forms.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbooks/playbooks.h"

#define SRC_FILE_MAX (4u << 20) /* a sources or .repo file we read */

/* Run cmd; fills *r (caller frees); -1 only when it could not run at all. */
static int
src_exec(struct module_ctx *m, const char *cmd, const char *in, size_t in_len,
    struct conn_result *r, struct dr_error *err)
{
	memset(r, 0, sizeof *r);
	return module_exec(m, cmd, in, in_len, r, err);
}

/* A file mode argument (octal text or number) as a number, or def. */
static int
src_mode(const struct module_ctx *m, int def)
{
	const json_t *v = json_object_get(m->args, "mode");

	if (json_is_integer(v))
		return (int)json_integer_value(v);
	if (json_is_string(v))
		return (int)strtol(json_string_value(v), NULL, 8);
	return def;
}

/*
 * Read files: one command prints each existing file of the shell glob list as
 * "@@FILE path\n" and its text. *ret is {path: text}.
 */
static int
src_files_read(struct module_ctx *m, const char *globs, json_t **ret, struct dr_error *err)
{
	_cleanup_free_ char *cmd =
	    xasprintf("for f in %s; do [ -f \"$f\" ] || continue; printf '@@FILE %%s\\n' \"$f\"; "
	              "cat \"$f\"; echo; done",
	        globs);
	struct conn_result r;
	json_t *out = json_object();

	if (src_exec(m, cmd, NULL, 0, &r, err) < 0) {
		json_decref(out);
		return -1;
	}
	const char *p = r.out;
	while ((p = strstr(p, "@@FILE ")) != NULL) {
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		_cleanup_free_ char *path = xstrndup(p + 7, (size_t)(nl - p - 7));
		const char *body = nl + 1, *next = strstr(body, "\n@@FILE ");
		size_t n = next ? (size_t)(next - body) : strlen(body);
		/* the echo after cat added one newline */
		if (n && body[n - 1] == '\n' && !next)
			n--;
		json_object_set_new(out, path, json_stringn(body, n));
		p = next ? next + 1 : body + n;
	}
	conn_result_free(&r);
	*ret = out;
	return 0;
}

/* Write text to path (mode for a new file) or remove the file when text is NULL. */
static int
src_file_write(
    struct module_ctx *m, const char *path, const char *text, int mode, struct dr_error *err)
{
	_cleanup_free_ char *q = conn_quote(path);
	struct conn_result r;

	if (!text) {
		_cleanup_free_ char *cmd = xasprintf("rm -f %s", q);
		if (src_exec(m, cmd, NULL, 0, &r, err) < 0)
			return -1;
		conn_result_free(&r);
		return 0;
	}
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		_cleanup_free_ char *qd = conn_quote(dir), *cmd = xasprintf("mkdir -p %s", qd);
		if (src_exec(m, cmd, NULL, 0, &r, err) < 0)
			return -1;
		conn_result_free(&r);
	}
	return conn_put(m->conn, path, text, strlen(text), mode, err);
}

/* --- apt_repository --------------------------------------------------------------------- */

/* One line of a sources file as ansible-core parses it: enabled, source, comment. */
struct src_line {
	bool valid, enabled;
	char *source, *comment;
};

/* Parse a line (ansible's SourcesList._parse). */
static void
src_apt_parse(const char *raw, struct src_line *l)
{
	_cleanup_free_ char *s = xstrdup(raw);
	char *line = str_trim(s);

	l->valid = false;
	l->enabled = true;
	l->comment = xstrdup("");
	if (*line == '#') {
		l->enabled = false;
		line++;
	}
	char *hash = strchr(line, '#');
	if (hash && hash > line) {
		free(l->comment);
		l->comment = xstrdup(str_trim(hash + 1));
		*hash = '\0';
	}
	line = str_trim(line);
	/* the first word says whether this is a source; words are rejoined by one space */
	struct buf b = BUF_INIT(0);
	_cleanup_free_ char *c = xstrdup(line);
	char *save = NULL;
	int n = 0;
	for (char *w = strtok_r(c, " \t", &save); w; w = strtok_r(NULL, " \t", &save), n++) {
		if (n == 0 && (strcmp(w, "deb") == 0 || strcmp(w, "deb-src") == 0))
			l->valid = true;
		if (b.len)
			buf_addc(&b, ' ');
		buf_adds(&b, w);
	}
	if (l->valid) {
		l->source = b.data ? buf_steal(&b) : xstrdup("");
		/* a source needs a URI and a suite after the type and options */
		if (n < 3)
			l->valid = false;
	} else
		l->source = xstrdup(line);
	buf_free(&b);
}

/* s as a JSON string; s is freed. */
static json_t *
src_json_take(char *s)
{
	json_t *v = json_string(s);

	free(s);
	return v ? v : json_string("");
}

/* The file text as ansible-core writes it back (SourcesList.save / dump). */
static char *
src_apt_dump(const json_t *lines)
{
	struct buf b = BUF_INIT(0);
	size_t i;
	json_t *l;

	json_array_foreach(lines, i, l)
	{
		bool enabled = json_is_true(json_object_get(l, "enabled"));
		const char *src = json_string_value(json_object_get(l, "source"));
		const char *com = json_string_value(json_object_get(l, "comment"));
		buf_addf(&b, "%s%s%s%s\n", enabled ? "" : "# ", src, *com ? " # " : "", com);
	}
	return b.data ? buf_steal(&b) : xstrdup("");
}

static json_t *src_apt_files(const json_t *texts);

/* A sources file's text as ansible-core writes it back (every line normalized). */
char *
sources_apt_normalize(const char *text)
{
	json_t *in = json_pack("{s:s}", "f", text);
	json_t *files = src_apt_files(in);
	char *out = src_apt_dump(json_object_get(files, "f"));

	json_decref(in);
	json_decref(files);
	return out;
}

/* {path: [line objects]} from {path: text}. */
static json_t *
src_apt_files(const json_t *texts)
{
	json_t *files = json_object();
	const char *path;
	json_t *t;

	json_object_foreach((json_t *)texts, path, t)
	{
		json_t *lines = json_array();
		_cleanup_free_ char *text = xstrdup(json_string_value(t));
		char *p = text;
		while (*p) {
			char *nl = strchr(p, '\n');
			if (nl)
				*nl = '\0';
			struct src_line l;
			src_apt_parse(p, &l);
			json_array_append_new(lines,
			    json_pack("{s:b,s:b,s:s,s:s}", "valid", l.valid, "enabled", l.enabled,
			        "source", l.source, "comment", l.comment));
			free(l.source);
			free(l.comment);
			if (!nl)
				break;
			p = nl + 1;
		}
		json_object_set_new(files, path, lines);
	}
	return files;
}

/* ansible-core's default file name for a source: its URI's host and path as words. */
char *
sources_apt_filename(const char *source)
{
	_cleanup_free_ char *s = xstrdup(source);
	char *save = NULL, *uri = NULL;
	bool in_opts = false;

	for (char *w = strtok_r(s, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (*w == '[')
			in_opts = true;
		if (in_opts) {
			if (strchr(w, ']'))
				in_opts = false;
			continue;
		}
		if (strcmp(w, "deb") == 0 || strcmp(w, "deb-src") == 0)
			continue;
		uri = w;
		break;
	}
	if (!uri)
		return xstrdup("sources");
	char *scheme = strstr(uri, "://");
	if (scheme)
		uri = scheme + 3;
	char *at = strchr(uri, '@');
	if (at)
		uri = at + 1;
	struct buf b = BUF_INIT(0);
	bool sep = false;
	for (char *p = uri; *p; p++) {
		if (isalnum((unsigned char)*p)) {
			if (sep && b.len)
				buf_addc(&b, '_');
			buf_addc(&b, *p);
			sep = false;
		} else
			sep = true;
	}
	return b.data ? buf_steal(&b) : xstrdup("sources");
}

/* apt_repository: a one-line source present (enabled) or absent in the sources files. */
static int
src_apt_repository(struct module_ctx *m, struct dr_error *err)
{
	const char *repo = module_str(m, "repo"), *state = module_str(m, "state");
	const char *filename = module_str(m, "filename");
	static const char parts[] = "/etc/apt/sources.list.d";
	_cleanup_json_ json_t *texts = NULL, *files = NULL, *diffs = json_array();
	struct src_line want;
	bool present = strcmp(state, "present") == 0, changed = false, found = false;
	char *target = NULL;
	int rc = -1;

	if (str_has_prefix(repo, "ppa:"))
		return dr_error_set(
		    err, "ppa: repositories need Launchpad and are not supported: %s", repo);
	src_apt_parse(repo, &want);
	if (!want.valid || !want.enabled) {
		dr_error_set(err, "Invalid repository string: %s", repo);
		goto out;
	}
	if (src_files_read(
	        m, "/etc/apt/sources.list /etc/apt/sources.list.d/*.list", &texts, err) < 0)
		goto out;
	files = src_apt_files(texts);
	json_t *before = json_object();
	const char *path;
	json_t *lines;
	json_object_foreach(files, path, lines)
	    json_object_set_new(before, path, src_json_take(src_apt_dump(lines)));
	/* the change: enable (or drop) every line carrying the source */
	json_object_foreach(files, path, lines)
	{
		for (size_t i = 0; i < json_array_size(lines);) {
			json_t *l = json_array_get(lines, i);
			if (json_is_true(json_object_get(l, "valid")) &&
			    strcmp(json_string_value(json_object_get(l, "source")), want.source) ==
			        0) {
				found = true;
				if (!present) {
					json_array_remove(lines, i);
					continue;
				}
				json_object_set_new(l, "enabled", json_true());
			}
			i++;
		}
	}
	if (present && !found) {
		_cleanup_free_ char *base =
		    filename ? xstrdup(filename) : sources_apt_filename(want.source);
		target = xasprintf("%s/%s.list", parts, base);
		json_t *tl = json_object_get(files, target);
		if (!tl) {
			tl = json_array();
			json_object_set_new(files, target, tl);
		}
		json_array_append_new(tl,
		    json_pack("{s:b,s:b,s:s,s:s}", "valid", 1, "enabled", 1, "source", want.source,
		        "comment", want.comment));
	}
	/* compare the normalized texts file by file */
	json_t *after = json_object();
	json_object_foreach(files, path, lines)
	{
		if (json_array_size(lines))
			json_object_set_new(after, path, src_json_take(src_apt_dump(lines)));
	}
	json_t *paths = json_object();
	json_object_update(paths, before);
	json_object_update(paths, after);
	json_t *v;
	json_object_foreach(paths, path, v)
	{
		const char *b = json_string_value(json_object_get(before, path));
		const char *a = json_string_value(json_object_get(after, path));
		if (b && a && strcmp(a, b) == 0)
			continue;
		changed = true;
		json_array_append_new(diffs,
		    json_pack("{s:s,s:s,s:s,s:s}", "before", b ? b : "", "after", a ? a : "",
		        "before_header", b ? path : "/dev/null", "after_header",
		        a ? path : "/dev/null"));
	}
	json_decref(paths);
	if (changed && !m->check) {
		size_t i;
		json_array_foreach(diffs, i, v)
		{
			const char *p = json_string_value(json_object_get(v, "after_header"));
			const char *a = json_string_value(json_object_get(v, "after"));
			bool gone = strcmp(p, "/dev/null") == 0;
			if (gone)
				p = json_string_value(json_object_get(v, "before_header"));
			bool is_new = !json_object_get(before, p);
			if (src_file_write(
			        m, p, gone ? NULL : a, is_new ? src_mode(m, 0644) : 0644, err) < 0)
				goto revert;
		}
		if (module_bool(m, "update_cache")) {
			struct conn_result r;
			if (src_exec(m,
			        "DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get update -q "
			        "-o APT::Update::Error-Mode=any",
			        NULL, 0, &r, err) < 0)
				goto revert;
			if (r.status != 0) {
				dr_error_set(err, "Failed to update apt cache: %s",
				    *r.err ? str_trim(r.err) : str_trim(r.out));
				conn_result_free(&r);
				goto revert;
			}
			conn_result_free(&r);
		}
	}
	if (changed && m->diff)
		json_object_set(m->result, "diff", diffs);
	json_object_set_new(m->result, "repo", json_string(repo));
	json_object_set_new(m->result, "state", json_string(state));
	json_object_set_new(m->result, "changed", json_boolean(changed));
	json_decref(before);
	json_decref(after);
	rc = 0;
	goto out;
revert:
	/* put the files back as they were (ansible-core's revert_sources_list) */
	{
		struct dr_error e2 = {0};
		json_object_foreach(after, path, v) if (!json_object_get(texts, path))
		    src_file_write(m, path, NULL, 0644, &e2);
		json_object_foreach(texts, path, v)
		    src_file_write(m, path, json_string_value(v), 0644, &e2);
	}
	json_decref(before);
	json_decref(after);
out:
	free(target);
	free(want.source);
	free(want.comment);
	return rc;
}

static const struct module_arg src_apt_repository_args[] = {
    {"repo", MT_STR, true, NULL, NULL, NULL},
    {"state", MT_STR, false, "present", "absent|present", NULL},
    {"mode", MT_MODE, false, NULL, NULL, NULL},
    {"update_cache", MT_BOOL, false, "yes", NULL, "update-cache"},
    {"update_cache_retries", MT_INT, false, "5", NULL, NULL},
    {"update_cache_retry_max_delay", MT_INT, false, "12", NULL, NULL},
    {"filename", MT_STR, false, NULL, NULL, NULL},
    {"codename", MT_STR, false, NULL, NULL, NULL},
    {"install_python_apt", MT_BOOL, false, "yes", NULL, NULL},
    {"validate_certs", MT_BOOL, false, "yes", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* --- apt_key ----------------------------------------------------------------------------- */

/*
 * gpg on the host with a throwaway home (root's own keyrings are never read or written):
 * the script gets the key material on stdin where it needs it.
 */
#define SRC_GPG                                                                                   \
	"h=$(mktemp -d) && trap 'rm -rf \"$h\"' EXIT && g() { gpg --homedir \"$h\" --batch "      \
	"--no-tty --quiet \"$@\"; } && "

/* The fingerprints of the keys in a keyring file (empty when it does not exist). */
static int
src_key_fprs(struct module_ctx *m, const char *keyring, char **ret, struct dr_error *err)
{
	_cleanup_free_ char *q = conn_quote(keyring);
	_cleanup_free_ char *cmd = xasprintf(SRC_GPG "if [ -s %s ]; then g --with-colons "
	                                             "--show-keys %s | awk -F: '$1==\"fpr\"{print "
	                                             "$10}'; fi",
	    q, q);
	struct conn_result r;

	if (src_exec(m, cmd, NULL, 0, &r, err) < 0)
		return -1;
	*ret = xstrdup(r.out);
	conn_result_free(&r);
	return 0;
}

/* True when id (short, long or full, any case, 0x allowed) names a fingerprint in fprs. */
static bool
src_key_has(const char *fprs, const char *id)
{
	_cleanup_free_ char *want =
	    xstrdup(str_has_prefix(id, "0x") || str_has_prefix(id, "0X") ? id + 2 : id);
	_cleanup_free_ char *f = xstrdup(fprs);
	char *save = NULL;

	for (char *p = want; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	for (char *l = strtok_r(f, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (*want && str_has_suffix(l, want))
			return true;
	return false;
}

/* apt_key: a key (data, file, url or keyserver) present in or absent from a keyring. */
static int
src_apt_key(struct module_ctx *m, struct dr_error *err)
{
	const char *id = module_str(m, "id"), *data = module_str(m, "data");
	const char *file = module_str(m, "file"), *url = module_str(m, "url");
	const char *keyserver = module_str(m, "keyserver"), *state = module_str(m, "state");
	const char *keyring = module_str(m, "keyring");
	_cleanup_free_ char *fprs = NULL, *qk = NULL;
	struct conn_result r = {0};
	bool changed = false;

	if (!keyring)
		keyring = "/etc/apt/trusted.gpg";
	qk = conn_quote(keyring);
	if (src_key_fprs(m, keyring, &fprs, err) < 0)
		return -1;
	if (strcmp(state, "absent") == 0) {
		if (!id)
			return dr_error_set(err, "key_id is required for state=absent");
		if (src_key_has(fprs, id)) {
			changed = true;
			_cleanup_free_ char *qi = conn_quote(id);
			_cleanup_free_ char *cmd = xasprintf(SRC_GPG
			    "cp %s \"$h/k.gpg\" && g --no-default-keyring --keyring "
			    "\"$h/k.gpg\" --yes --delete-keys %s && g --no-default-keyring "
			    "--keyring \"$h/k.gpg\" --export > \"$h/out\" && cat \"$h/out\" > %s",
			    qk, qi, qk);
			if (!m->check) {
				if (src_exec(m, cmd, NULL, 0, &r, err) < 0)
					return -1;
				if (r.status != 0) {
					dr_error_set(err, "error removing key_id %s from %s: %s",
					    id, keyring, str_trim(r.err));
					conn_result_free(&r);
					return -1;
				}
				conn_result_free(&r);
			}
		}
		json_object_set_new(m->result, "changed", json_boolean(changed));
		return 0;
	}
	if (id && src_key_has(fprs, id)) {
		json_object_set_new(m->result, "id", json_string(id));
		json_object_set_new(m->result, "changed", json_false());
		return 0;
	}
	if (id && m->check && !data && !file && !url) {
		/* ansible-core predicts the fetch without making it */
		json_object_set_new(m->result, "id", json_string(id));
		json_object_set_new(m->result, "changed", json_true());
		return 0;
	}
	/* the key material, as a shell command printing it */
	_cleanup_free_ char *src = NULL;
	if (data)
		src = xstrdup("cat");
	else if (file) {
		_cleanup_free_ char *q = conn_quote(file);
		src = xasprintf("cat %s", q);
	} else if (url) {
		_cleanup_free_ char *q = conn_quote(url);
		src = xasprintf("{ curl -fsSL %s 2>/dev/null || wget -qO- %s; }", q, q);
	} else if (keyserver && id) {
		_cleanup_free_ char *qs = conn_quote(keyserver), *qi = conn_quote(id);
		src = xasprintf("{ g --keyserver %s --recv-keys %s >/dev/null && g --export %s; }",
		    qs, qi, qi);
	} else if (id)
		return dr_error_set(err,
		    "key %s is not in %s and no data, file, url or keyserver "
		    "was given to fetch it from",
		    id, keyring);
	else
		return dr_error_set(err, "one of the following is required: id, data, file, url");
	/* fetch into a binary keyring, list its fingerprints; add them when missing */
	_cleanup_free_ char *cmd = xasprintf(SRC_GPG
	    "%s > \"$h/in\" && { if grep -q -- '-----BEGIN PGP' \"$h/in\"; then g --dearmor "
	    "< \"$h/in\" > \"$h/new\"; else cp \"$h/in\" \"$h/new\"; fi; } && "
	    "g --with-colons --show-keys \"$h/new\" | awk -F: '$1==\"fpr\"{print $10}' && "
	    "if [ \"$1\" = add ]; then mkdir -p \"$(dirname %s)\" && cat \"$h/new\" >> %s && "
	    "chmod a+r %s; fi",
	    src, qk, qk, qk);
	_cleanup_free_ char *list = xasprintf("set -- list; %s", cmd);
	if (src_exec(m, list, data, data ? strlen(data) : 0, &r, err) < 0)
		return -1;
	if (r.status != 0 || !*str_trim(r.out)) {
		dr_error_set(err, "could not read an OpenPGP key from %s: %s",
		    data       ? "data"
		        : file ? file
		        : url  ? url
		               : keyserver,
		    *r.err ? str_trim(r.err) : "no key found");
		conn_result_free(&r);
		return -1;
	}
	_cleanup_free_ char *newfprs = xstrdup(r.out);
	conn_result_free(&r);
	if (id && !src_key_has(newfprs, id))
		return dr_error_set(err, "the key fetched does not carry key_id %s", id);
	/* present unless a key of the material is missing from the keyring */
	_cleanup_free_ char *nf = xstrdup(newfprs);
	char *save = NULL;
	for (char *l = strtok_r(nf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (!src_key_has(fprs, l))
			changed = true;
	if (changed && !m->check) {
		_cleanup_free_ char *add = xasprintf("set -- add; %s", cmd);
		if (src_exec(m, add, data, data ? strlen(data) : 0, &r, err) < 0)
			return -1;
		if (r.status != 0) {
			dr_error_set(err, "error adding key to %s: %s", keyring, str_trim(r.err));
			conn_result_free(&r);
			return -1;
		}
		conn_result_free(&r);
	}
	_cleanup_free_ char *first = xstrdup(newfprs);
	first[strcspn(first, "\n")] = '\0';
	json_object_set_new(m->result, "fp", json_string(first));
	json_object_set_new(m->result, "key_id",
	    json_string(strlen(first) >= 16 ? first + strlen(first) - 16 : first));
	json_object_set_new(m->result, "short_id",
	    json_string(strlen(first) >= 8 ? first + strlen(first) - 8 : first));
	json_object_set_new(m->result, "id", json_string(id ? id : first));
	json_object_set_new(m->result, "changed", json_boolean(changed));
	return 0;
}

static const struct module_arg src_apt_key_args[] = {
    {"id", MT_STR, false, NULL, NULL, NULL},
    {"url", MT_STR, false, NULL, NULL, NULL},
    {"data", MT_STR, false, NULL, NULL, NULL},
    {"file", MT_PATH, false, NULL, NULL, NULL},
    {"keyring", MT_PATH, false, NULL, NULL, NULL},
    {"validate_certs", MT_BOOL, false, "yes", NULL, NULL},
    {"keyserver", MT_STR, false, NULL, NULL, NULL},
    {"state", MT_STR, false, "present", "absent|present", NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* --- yum_repository ---------------------------------------------------------------------- */

/* A .repo file as Python's ConfigParser reads it: {section: {key: value}} in file order. */
json_t *
sources_ini_parse(const char *text)
{
	json_t *ini = json_object(), *sec = NULL;
	_cleanup_free_ char *t = xstrdup(text), *lastkey = NULL;
	char *save = NULL;

	for (char *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		bool cont = *l == ' ' || *l == '\t';
		char *s = str_trim(l);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (cont && sec && lastkey) {
			const char *old = json_string_value(json_object_get(sec, lastkey));
			json_object_set_new(
			    sec, lastkey, json_sprintf("%s\n%s", old ? old : "", s));
			continue;
		}
		if (*s == '[' && strchr(s, ']')) {
			*strchr(s, ']') = '\0';
			sec = json_object();
			json_object_set_new(ini, s + 1, sec);
			free(lastkey);
			lastkey = NULL;
			continue;
		}
		char *eq = strpbrk(s, "=:");
		if (!sec || !eq)
			continue;
		*eq = '\0';
		char *k = str_trim(s);
		for (char *p = k; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		json_object_set_new(sec, k, json_string(str_trim(eq + 1)));
		free(lastkey);
		lastkey = xstrdup(k);
	}
	return ini;
}

static int
src_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of an object, sorted; caller frees the array (not the strings). */
static const char **
src_sorted_keys(const json_t *o, size_t *n)
{
	const char **k = xcalloc(json_object_size(o) + 1, sizeof *k);
	const char *key;
	json_t *v;

	*n = 0;
	json_object_foreach((json_t *)o, key, v) k[(*n)++] = key;
	qsort(k, *n, sizeof *k, src_cmp);
	return k;
}

/* ansible-core's YumRepo.dump: sections and keys sorted (what changed is decided on). */
char *
sources_ini_dump(const json_t *ini)
{
	struct buf b = BUF_INIT(0);
	size_t ns, nk;
	const char **secs = src_sorted_keys(ini, &ns);

	for (size_t i = 0; i < ns; i++) {
		const json_t *sec = json_object_get(ini, secs[i]);
		const char **keys = src_sorted_keys(sec, &nk);
		buf_addf(&b, "[%s]\n", secs[i]);
		for (size_t j = 0; j < nk; j++)
			buf_addf(&b, "%s = %s\n", keys[j],
			    json_string_value(json_object_get(sec, keys[j])));
		buf_addc(&b, '\n');
		free(keys);
	}
	free(secs);
	return b.data ? buf_steal(&b) : xstrdup("");
}

/* ConfigParser.write: sections in order, continuation lines indented with a tab. */
char *
sources_ini_write(const json_t *ini)
{
	struct buf b = BUF_INIT(0);
	const char *s, *k;
	json_t *sec, *v;

	json_object_foreach((json_t *)ini, s, sec)
	{
		buf_addf(&b, "[%s]\n", s);
		json_object_foreach(sec, k, v)
		{
			buf_addf(&b, "%s = ", k);
			for (const char *p = json_string_value(v); *p; p++) {
				buf_addc(&b, *p);
				if (*p == '\n')
					buf_addc(&b, '\t');
			}
			buf_addc(&b, '\n');
		}
		buf_addc(&b, '\n');
	}
	return b.data ? buf_steal(&b) : xstrdup("");
}

/* The options yum_repository writes into a section (ansible-core's allowed_params). */
static const char *const src_yum_keys[] = {"async", "bandwidth", "baseurl", "cost",
    "deltarpm_metadata_percentage", "deltarpm_percentage", "enabled", "enablegroups", "exclude",
    "failovermethod", "gpgcakey", "gpgcheck", "gpgkey", "module_hotfixes", "http_caching",
    "include", "includepkgs", "ip_resolve", "keepalive", "keepcache", "metadata_expire",
    "metadata_expire_filter", "metalink", "mirrorlist", "mirrorlist_expire", "name", "password",
    "priority", "protect", "proxy", "proxy_password", "proxy_username", "repo_gpgcheck", "retries",
    "s3_enabled", "skip_if_unavailable", "sslcacert", "ssl_check_cert_permissions",
    "sslclientcert", "sslclientkey", "sslverify", "throttle", "timeout", "ui_repoid_vars",
    "username"};

/* yum_repository: a [name] section of reposdir/file.repo present or absent. */
static int
src_yum_repository(struct module_ctx *m, struct dr_error *err)
{
	const char *name = module_str(m, "name"), *state = module_str(m, "state");
	const char *file = module_str(m, "file"), *dir = module_str(m, "reposdir");
	bool present = strcmp(state, "present") == 0;
	_cleanup_free_ char *dest = xasprintf("%s/%s.repo", dir, file ? file : name);
	_cleanup_free_ char *qd = conn_quote(dir), *qf = conn_quote(dest);
	_cleanup_json_ json_t *texts = NULL, *ini = NULL;
	struct conn_result r;

	if (present && !json_object_get(m->args, "baseurl") && !module_str(m, "metalink") &&
	    !module_str(m, "mirrorlist"))
		return dr_error_set(
		    err, "Parameter 'baseurl', 'metalink' or 'mirrorlist' is required.");
	if (present && !module_str(m, "description"))
		return dr_error_set(err, "Parameter 'description' is required.");
	_cleanup_free_ char *isdir = xasprintf("test -d %s", qd);
	if (src_exec(m, isdir, NULL, 0, &r, err) < 0)
		return -1;
	int st = r.status;
	conn_result_free(&r);
	if (st != 0)
		return dr_error_set(err, "Repo directory '%s' does not exist.", dir);
	if (src_files_read(m, qf, &texts, err) < 0)
		return -1;
	const char *text = json_string_value(json_object_get(texts, dest));
	ini = sources_ini_parse(text ? text : "");
	_cleanup_free_ char *before = sources_ini_dump(ini);
	json_object_del(ini, name);
	if (present) {
		json_t *sec = json_object();
		/* keys in sorted order, as ansible-core sets them */
		json_t *vals = json_object();
		const char *k;
		json_t *v;
		json_object_foreach(m->args, k, v)
		{
			const char *key = strcmp(k, "description") == 0 ? "name" : k;
			bool allowed = false;
			for (size_t i = 0; i < nitems(src_yum_keys); i++)
				if (strcmp(src_yum_keys[i], key) == 0)
					allowed = true;
			if (!allowed || json_is_null(v) || strcmp(k, "name") == 0)
				continue;
			json_t *s = NULL;
			if (json_is_array(v)) {
				struct buf b = BUF_INIT(0);
				size_t i;
				json_t *x;
				bool spaced =
				    strcmp(k, "exclude") == 0 || strcmp(k, "includepkgs") == 0;
				json_array_foreach(v, i, x)
				{
					if (i)
						buf_addc(&b, spaced ? ' ' : '\n');
					buf_adds(
					    &b, json_string_value(x) ? json_string_value(x) : "");
				}
				s = json_string(b.data ? b.data : "");
				buf_free(&b);
			} else if (json_is_boolean(v))
				s = json_string(json_is_true(v) ? "1" : "0");
			else if (json_is_string(v))
				s = json_incref(v);
			else
				s = json_string("");
			json_object_set_new(vals, key, s);
		}
		size_t n;
		const char **keys = src_sorted_keys(vals, &n);
		for (size_t i = 0; i < n; i++)
			json_object_set(sec, keys[i], json_object_get(vals, keys[i]));
		free(keys);
		json_decref(vals);
		json_object_set_new(ini, name, sec);
	}
	_cleanup_free_ char *after = sources_ini_dump(ini);
	bool changed = strcmp(before, after) != 0;
	if (changed && !m->check) {
		_cleanup_free_ char *out = json_object_size(ini) ? sources_ini_write(ini) : NULL;
		if (src_file_write(m, dest, out, src_mode(m, 0644), err) < 0)
			return -1;
	}
	if (m->diff)
		json_object_set_new(m->result, "diff",
		    json_pack("{s:s,s:s,s:s,s:s}", "before_header", dest, "before", before,
		        "after_header", dest, "after", after));
	json_object_set_new(m->result, "repo", json_string(name));
	json_object_set_new(m->result, "state", json_string(state));
	json_object_set_new(m->result, "changed", json_boolean(changed));
	return 0;
}

static const struct module_arg src_yum_repository_args[] = {
    {"name", MT_STR, true, NULL, NULL, NULL},
    {"description", MT_STR, false, NULL, NULL, NULL},
    {"baseurl", MT_LIST, false, NULL, NULL, NULL},
    {"metalink", MT_STR, false, NULL, NULL, NULL},
    {"mirrorlist", MT_STR, false, NULL, NULL, NULL},
    {"file", MT_STR, false, NULL, NULL, NULL},
    {"reposdir", MT_PATH, false, "/etc/yum.repos.d", NULL, NULL},
    {"state", MT_STR, false, "present", "absent|present", NULL},
    {"enabled", MT_BOOL, false, NULL, NULL, NULL},
    {"gpgcheck", MT_BOOL, false, NULL, NULL, NULL},
    {"gpgkey", MT_LIST, false, NULL, NULL, NULL},
    {"repo_gpgcheck", MT_BOOL, false, NULL, NULL, NULL},
    {"skip_if_unavailable", MT_BOOL, false, NULL, NULL, NULL},
    {"module_hotfixes", MT_BOOL, false, NULL, NULL, NULL},
    {"sslverify", MT_BOOL, false, NULL, NULL, NULL},
    {"enablegroups", MT_BOOL, false, NULL, NULL, NULL},
    {"keepalive", MT_BOOL, false, NULL, NULL, NULL},
    {"protect", MT_BOOL, false, NULL, NULL, NULL},
    {"s3_enabled", MT_BOOL, false, NULL, NULL, NULL},
    {"ssl_check_cert_permissions", MT_BOOL, false, NULL, NULL, NULL},
    {"exclude", MT_LIST, false, NULL, NULL, NULL},
    {"includepkgs", MT_LIST, false, NULL, NULL, NULL},
    {"priority", MT_STR, false, NULL, NULL, NULL},
    {"cost", MT_STR, false, NULL, NULL, NULL},
    {"metadata_expire", MT_STR, false, NULL, NULL, NULL},
    {"metadata_expire_filter", MT_STR, false, NULL,
        "never|read-only:past|read-only:present|read-only:future", NULL},
    {"mirrorlist_expire", MT_STR, false, NULL, NULL, NULL},
    {"timeout", MT_STR, false, NULL, NULL, NULL},
    {"retries", MT_STR, false, NULL, NULL, NULL},
    {"throttle", MT_STR, false, NULL, NULL, NULL},
    {"bandwidth", MT_STR, false, NULL, NULL, NULL},
    {"proxy", MT_STR, false, NULL, NULL, NULL},
    {"proxy_username", MT_STR, false, NULL, NULL, NULL},
    {"proxy_password", MT_STR, false, NULL, NULL, NULL},
    {"username", MT_STR, false, NULL, NULL, NULL},
    {"password", MT_STR, false, NULL, NULL, NULL},
    {"sslcacert", MT_STR, false, NULL, NULL, NULL},
    {"sslclientcert", MT_STR, false, NULL, NULL, NULL},
    {"sslclientkey", MT_STR, false, NULL, NULL, NULL},
    {"gpgcakey", MT_STR, false, NULL, NULL, NULL},
    {"include", MT_STR, false, NULL, NULL, NULL},
    {"http_caching", MT_STR, false, NULL, "all|packages|none", NULL},
    {"ip_resolve", MT_STR, false, NULL, "4|6|IPv4|IPv6|whatever", NULL},
    {"keepcache", MT_STR, false, NULL, "0|1", NULL},
    {"failovermethod", MT_STR, false, NULL, "roundrobin|priority", NULL},
    {"deltarpm_metadata_percentage", MT_STR, false, NULL, NULL, NULL},
    {"deltarpm_percentage", MT_STR, false, NULL, NULL, NULL},
    {"ui_repoid_vars", MT_STR, false, NULL, NULL, NULL},
    {"async", MT_BOOL, false, NULL, NULL, NULL},
    {"mode", MT_MODE, false, NULL, NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

const struct module modules_sources[] = {
    {"apt_repository", src_apt_repository_args, src_apt_repository, 0},
    {"apt_key", src_apt_key_args, src_apt_key, 0},
    {"yum_repository", src_yum_repository_args, src_yum_repository, 0},
};
const size_t modules_sources_n = nitems(modules_sources);
