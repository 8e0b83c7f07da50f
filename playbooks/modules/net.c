/*
 * modules/net.c - get_url and uri. As with Ansible, the request is made on the target:
 * the URL is resolved and reached from the host (its DNS, routes, proxies and firewall),
 * and a download goes straight to the host's disk without passing the controller. The
 * host runs curl for it (present on every distribution's base image we provision); a
 * host without curl fails the task with a message saying so.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "playbooks/playbooks.h"

#define NET_BODY_MAX (64u << 20) /* largest response body uri reads back */
#define NET_HEADERS_MAX (1u << 20)

/* Hash commands on the host for get_url's checksum algorithms. */
static const struct {
	const char *name, *cmd;
	size_t hexlen;
} net_algos[] = {
    {"md5", "md5sum", 32},
    {"sha1", "sha1sum", 40},
    {"sha224", "sha224sum", 56},
    {"sha256", "sha256sum", 64},
    {"sha384", "sha384sum", 96},
    {"sha512", "sha512sum", 128},
};

/* Run cmd on the host; *r is the caller's to free. */
static int
net_sh(struct module_ctx *m, const char *cmd, const char *in, size_t in_len, struct conn_result *r,
    struct dr_error *err)
{
	memset(r, 0, sizeof *r);
	return module_exec(m, cmd, in, in_len, r, err);
}

/* Append curl's options common to both modules (timeout, certs, auth, agent, headers). */
static int
net_curl_opts(struct module_ctx *m, struct buf *b, int timeout, struct dr_error *err)
{
	const char *user = module_str(m, "url_username"), *pass = module_str(m, "url_password");
	const char *agent = module_str(m, "http_agent");
	json_t *headers = json_object_get(m->args, "headers"), *v;
	const char *k;

	buf_addf(b, "curl -sS --globoff --max-time %d", timeout > 0 ? timeout : 10);
	if (!module_bool(m, "validate_certs"))
		buf_adds(b, " -k");
	if (!module_bool(m, "use_proxy"))
		buf_adds(b, " --noproxy '*'");
	if (agent) {
		_cleanup_free_ char *q = conn_quote(agent);
		buf_addf(b, " -A %s", q);
	}
	if (user) {
		_cleanup_free_ char *up = xasprintf("%s:%s", user, pass ? pass : "");
		_cleanup_free_ char *q = conn_quote(up);
		buf_addf(b, " %s-u %s", module_bool(m, "force_basic_auth") ? "--basic " : "", q);
	}
	if (json_is_object(headers)) {
		json_object_foreach(headers, k, v)
		{
			if (strpbrk(k, "\r\n:") || !*k)
				return dr_error_set(err, "headers: invalid header name '%s'", k);
			_cleanup_free_ char *val = json_is_string(v)
			    ? xstrdup(json_string_value(v))
			    : json_dumps(v, JSON_ENCODE_ANY);
			if (strpbrk(val, "\r\n"))
				return dr_error_set(
				    err, "headers: the value of '%s' has a newline", k);
			_cleanup_free_ char *h = xasprintf("%s: %s", k, val);
			_cleanup_free_ char *q = conn_quote(h);
			buf_addf(b, " -H %s", q);
		}
	}
	return 0;
}

/* True when s looks like a URL (checksum: ALGO:URL). */
static bool
net_is_url(const char *s)
{
	return str_has_prefix(s, "http://") || str_has_prefix(s, "https://") ||
	    str_has_prefix(s, "ftp://") || str_has_prefix(s, "file://");
}

/* The last path segment of a URL (without query), or "index.html". */
static char *
net_url_filename(const char *url)
{
	const char *p = strstr(url, "://");
	size_t n;

	p = p ? p + 3 : url;
	n = strcspn(p, "?#");
	_cleanup_free_ char *path = xstrndup(p, n);
	char *slash = strchr(path, '/');
	if (!slash)
		return xstrdup("index.html");
	char *last = strrchr(path, '/');
	if (!last[1])
		return xstrdup("index.html");
	return xstrdup(last + 1);
}

/*
 * Run curl on the host. Output lines from -w: status, size, effective URL, content type,
 * then curl's exit code. Returns 0 and fills the fields, or -1 (err) when the host could
 * not run it at all or has no curl.
 */
struct net_resp {
	int status; /* HTTP status; 0 for file:// and ftp:// successes; -1 when curl failed */
	long long size;
	char url[4096];
	char ctype[256];
	int curl_rc;
	char curl_err[1024];
};

static int
net_curl(struct module_ctx *m, const char *opts, const char *url, const char *in, size_t in_len,
    struct net_resp *resp, struct dr_error *err)
{
	struct conn_result r;
	_cleanup_free_ char *qu = conn_quote(url);
	_cleanup_free_ char *cmd = xasprintf("command -v curl >/dev/null 2>&1 || "
	                                     "{ echo 'no curl' >&2; exit 127; }; "
	                                     "%s -w '%%{http_code}\\n%%{size_download}\\n"
	                                     "%%{url_effective}\\n%%{content_type}\\n' %s; "
	                                     "echo \"$?\"",
	    opts, qu);
	char *save = NULL, *line;

	memset(resp, 0, sizeof *resp);
	if (net_sh(m, cmd, in, in_len, &r, err) < 0)
		return -1;
	if (r.status == 127) {
		conn_result_free(&r);
		return dr_error_set(err,
		    "curl is not installed on %s (the request is made from the host, as with "
		    "Ansible)",
		    m->host);
	}
	const char *fields[5] = {0};
	int nf = 0;
	for (line = strtok_r(r.out, "\n", &save); line && nf < 5;
	     line = strtok_r(NULL, "\n", &save))
		fields[nf++] = line;
	if (nf < 2) {
		/* curl failed before writing -w output: only its exit code line */
		resp->curl_rc = nf ? atoi(fields[nf - 1]) : -1;
	} else {
		resp->curl_rc = atoi(fields[nf - 1]);
		resp->status = nf >= 1 ? atoi(fields[0]) : 0;
		resp->size = nf >= 2 ? atoll(fields[1]) : 0;
		if (nf >= 4)
			str_copy(resp->url, fields[2], sizeof resp->url);
		if (nf >= 5)
			str_copy(resp->ctype, fields[3], sizeof resp->ctype);
	}
	str_copy(resp->curl_err, str_trim(r.err), sizeof resp->curl_err);
	if (resp->curl_rc != 0 && resp->status == 0)
		resp->status = -1;
	conn_result_free(&r);
	return 0;
}

/* Run cmd and return its trimmed stdout (caller frees), or NULL with err set. */
static char *
net_output(struct module_ctx *m, const char *cmd, struct dr_error *err)
{
	struct conn_result r;
	char *out;

	if (net_sh(m, cmd, NULL, 0, &r, err) < 0)
		return NULL;
	if (r.status != 0) {
		dr_error_set(err, "%s", *r.err ? str_trim(r.err) : "command failed");
		conn_result_free(&r);
		return NULL;
	}
	out = xstrdup(str_trim(r.out));
	conn_result_free(&r);
	return out;
}

/* The hex digest of path on the host with cmd (sha256sum, …), or NULL when absent. */
static char *
net_digest(struct module_ctx *m, const char *hashcmd, const char *path)
{
	_cleanup_free_ char *q = conn_quote(path);
	_cleanup_free_ char *cmd = xasprintf("%s < %s | cut -d' ' -f1", hashcmd, q);
	char *out = net_output(m, cmd, NULL);

	if (out && !*out) {
		free(out);
		return NULL;
	}
	return out;
}

/* Remove a temporary file on the host (best effort). */
static void
net_rm(struct module_ctx *m, const char *path)
{
	struct conn_result r;
	_cleanup_free_ char *q = conn_quote(path), *cmd = xasprintf("rm -f -- %s", q);

	if (net_sh(m, cmd, NULL, 0, &r, NULL) == 0)
		conn_result_free(&r);
}

/* A temporary path on the host for a download. */
static int
net_tmp(struct module_ctx *m, const char *what, char **ret, struct dr_error *err)
{
	const char *dir = module_str(m, "tmp_dest");

	if (!dir && conn_tmpdir(m->conn, &dir, err) < 0)
		return -1;
	*ret = xasprintf("%s/%s-%ld", dir, what, (long)random());
	return 0;
}

/* Find the checksum for filename in a checksum file's text (sha256sum output or a hash). */
static char *
net_checksum_find(char *text, const char *filename)
{
	char *save = NULL, *lines[2] = {0};
	int n = 0;
	char *found = NULL;

	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		l = str_trim(l);
		if (!*l)
			continue;
		if (n < 2)
			lines[n] = l;
		n++;
		char *sp = strpbrk(l, " \t");
		if (!sp)
			continue;
		*sp = '\0';
		char *f = sp + 1;
		while (*f == ' ' || *f == '\t' || *f == '*')
			f++;
		while (f[0] == '.' && f[1] == '/')
			f += 2;
		if (!found && strcmp(f, filename) == 0)
			found = l;
	}
	if (!found && n == 1 && !strpbrk(lines[0], " \t"))
		found = lines[0];
	return found ? xstrdup(found) : NULL;
}

/* get_url: download a URL to dest on the host, verified against a checksum. */
static int
net_get_url(struct module_ctx *m, struct dr_error *err)
{
	const char *url = module_str(m, "url"), *dest0 = module_str(m, "dest");
	const char *cks = module_str(m, "checksum");
	bool force = module_bool(m, "force");
	int timeout = (int)module_int(m, "timeout");
	_cleanup_free_ char *algo = NULL, *want = NULL, *dest = xstrdup(dest0);
	_cleanup_free_ char *tmp = NULL, *sum_src = NULL, *sum_dest = NULL;
	const char *hashcmd = NULL;
	struct buf opts = BUF_INIT(0);
	struct net_resp resp;
	bool dest_dir = false, dest_exists = false, changed = false;
	long long mtime = 0;
	int rc = -1;

	json_object_set_new(m->result, "url", json_string(url));
	json_object_set_new(m->result, "dest", json_string(dest));
	json_object_set_new(m->result, "elapsed", json_integer(0));
	json_object_set_new(m->result, "checksum_dest", json_null());
	json_object_set_new(m->result, "checksum_src", json_null());
	if (cks && *cks) {
		const char *colon = strchr(cks, ':');
		if (!colon)
			return dr_error_set(err,
			    "The checksum parameter has to be in format "
			    "<algorithm>:<checksum>");
		algo = xstrndup(cks, (size_t)(colon - cks));
		for (size_t i = 0; i < nitems(net_algos); i++)
			if (strcmp(net_algos[i].name, algo) == 0)
				hashcmd = net_algos[i].cmd;
		if (!hashcmd)
			return dr_error_set(err,
			    "checksum: unsupported algorithm '%s' (md5, sha1, sha224, sha256, "
			    "sha384, sha512)",
			    algo);
		want = xstrdup(colon + 1);
	}
	time_t t0 = time(NULL);
	if (net_curl_opts(m, &opts, timeout, err) < 0)
		goto out;
	if (want && net_is_url(want)) {
		/* the checksum file, fetched on the host like the file itself */
		_cleanup_free_ char *ctmp = NULL, *text = NULL, *name = net_url_filename(url);
		if (net_tmp(m, "checksum", &ctmp, err) < 0)
			goto out;
		_cleanup_free_ char *qt = conn_quote(ctmp);
		_cleanup_free_ char *o = xasprintf("%s -L -o %s", opts.data, qt);
		if (net_curl(m, o, want, NULL, 0, &resp, err) < 0)
			goto out;
		if (resp.curl_rc != 0 || (resp.status != 200 && resp.status != 0)) {
			net_rm(m, ctmp);
			dr_error_set(err, "Request failed: %s (checksum file %s, status %d)",
			    resp.curl_err, want, resp.status);
			goto out;
		}
		struct buf b = BUF_INIT(0);
		if (conn_get(m->conn, ctmp, 1u << 20, &b, err) < 0) {
			net_rm(m, ctmp);
			goto out;
		}
		net_rm(m, ctmp);
		text = b.data ? buf_steal(&b) : xstrdup("");
		char *found = net_checksum_find(text, name);
		if (!found) {
			dr_error_set(
			    err, "Unable to find a checksum for file '%s' in '%s'", name, want);
			goto out;
		}
		free(want);
		want = found;
	}
	if (want) {
		/* as Ansible: non-word characters dropped, lower case, must be hex */
		char *w = want;
		for (char *p = want; *p; p++)
			if (isalnum((unsigned char)*p) || *p == '_')
				*w++ = (char)tolower((unsigned char)*p);
		*w = '\0';
		bool hex = *want != '\0';
		for (char *p = want; *p; p++)
			if (!isxdigit((unsigned char)*p))
				hex = false;
		if (!hex) {
			dr_error_set(err, "The checksum format is invalid");
			goto out;
		}
	}
	/* what is at dest now */
	{
		_cleanup_free_ char *q = conn_quote(dest);
		_cleanup_free_ char *cmd =
		    xasprintf("if [ -d %s ]; then echo dir; elif [ -e %s ]; then echo file; "
		              "stat -L -c %%Y %s; else echo absent; fi",
		        q, q, q);
		_cleanup_free_ char *o = net_output(m, cmd, err);
		if (!o)
			goto out;
		dest_dir = str_has_prefix(o, "dir");
		dest_exists = str_has_prefix(o, "file");
		if (dest_exists && strchr(o, '\n'))
			mtime = atoll(strchr(o, '\n') + 1);
	}
	if (dest_exists && !force && want) {
		_cleanup_free_ char *have = net_digest(m, hashcmd, dest);
		if (have && strcmp(have, want) == 0) {
			if (files_attrs_apply(m, dest, &changed, err) < 0)
				goto out;
			json_object_set_new(m->result, "msg",
			    json_string(changed ? "file already exists but file attributes "
			                          "changed"
			                        : "file already exists"));
			json_object_set_new(m->result, "changed", json_boolean(changed));
			rc = 0;
			goto out;
		}
		force = true; /* the checksum differs: download whatever the dates say */
	}
	if (net_tmp(m, "get_url", &tmp, err) < 0)
		goto out;
	{
		_cleanup_free_ char *qt = conn_quote(tmp);
		struct buf o = BUF_INIT(0);
		buf_addf(&o, "%s -L -o %s", opts.data, qt);
		if (m->check)
			buf_adds(&o, " -I");
		if (dest_exists && !force && mtime > 0) {
			char date[64];
			time_t t = (time_t)mtime;
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
			_cleanup_free_ char *h = xasprintf("If-Modified-Since: %s", date);
			_cleanup_free_ char *qh = conn_quote(h);
			buf_addf(&o, " -H %s", qh);
		}
		int r = net_curl(m, o.data, url, NULL, 0, &resp, err);
		buf_free(&o);
		if (r < 0)
			goto out;
	}
	json_object_set_new(m->result, "elapsed", json_integer((long long)(time(NULL) - t0)));
	if (resp.status == 304) {
		net_rm(m, tmp);
		json_object_set_new(m->result, "status_code", json_integer(304));
		json_object_set_new(m->result, "msg", json_string("HTTP Error 304: Not Modified"));
		json_object_set_new(m->result, "changed", json_false());
		rc = 0;
		goto out;
	}
	if (resp.curl_rc != 0 && resp.status <= 0) {
		net_rm(m, tmp);
		json_object_set_new(m->result, "status_code", json_integer(-1));
		dr_error_set(err, "Request failed: %s", resp.curl_err);
		goto out;
	}
	if (resp.status != 200 && !str_has_prefix(url, "file:/") &&
	    !str_has_prefix(url, "ftp:/")) {
		net_rm(m, tmp);
		json_object_set_new(m->result, "status_code", json_integer(resp.status));
		json_object_set_new(
		    m->result, "response", json_pack("s", resp.curl_err[0] ? resp.curl_err : ""));
		dr_error_set(err, "Request failed");
		goto out;
	}
	json_object_set_new(m->result, "src", json_string(tmp));
	if (dest_dir) {
		_cleanup_free_ char *name = net_url_filename(resp.url[0] ? resp.url : url);
		free(dest);
		dest = str_has_suffix(dest0, "/") ? xasprintf("%s%s", dest0, name)
		                                  : xasprintf("%s/%s", dest0, name);
		json_object_set_new(m->result, "dest", json_string(dest));
		_cleanup_free_ char *q = conn_quote(dest);
		_cleanup_free_ char *cmd = xasprintf("[ -e %s ] && echo y || echo n", q);
		_cleanup_free_ char *o = net_output(m, cmd, err);
		if (!o)
			goto out;
		dest_exists = *o == 'y';
	}
	if (m->check) {
		sum_src = xstrdup("da39a3ee5e6b4b0d3255bfef95601890afd80709"); /* sha1("") */
		net_rm(m, tmp);
	} else if (!(sum_src = net_digest(m, "sha1sum", tmp))) {
		dr_error_set(err, "Source %s is not readable", tmp);
		goto out;
	}
	json_object_set_new(m->result, "checksum_src", json_string(sum_src));
	if (dest_exists) {
		sum_dest = net_digest(m, "sha1sum", dest);
		if (!sum_dest) {
			net_rm(m, tmp);
			dr_error_set(err, "Destination %s is not readable", dest);
			goto out;
		}
		json_object_set_new(m->result, "checksum_dest", json_string(sum_dest));
	} else {
		_cleanup_free_ char *dir = xstrdup(dest), *slash = NULL;
		char *s = strrchr(dir, '/');
		if (s && s != dir) {
			*s = '\0';
			_cleanup_free_ char *q = conn_quote(dir);
			_cleanup_free_ char *cmd = xasprintf("[ -d %s ] && echo y || echo n", q);
			_cleanup_free_ char *o = net_output(m, cmd, err);
			if (!o)
				goto out;
			if (*o != 'y') {
				net_rm(m, tmp);
				dr_error_set(err, "Destination %s does not exist", dir);
				goto out;
			}
		}
	}
	if (m->check) {
		changed = !sum_dest || strcmp(sum_src, sum_dest) != 0;
		json_object_set_new(m->result, "msg", json_string(""));
		json_object_set_new(m->result, "changed", json_boolean(changed));
		rc = 0;
		goto out;
	}
	if (want) {
		/* verified before it replaces anything (Ansible checks after the move and
		 * removes dest; the outcome, a failed task and no bad file, is the same) */
		_cleanup_free_ char *got = net_digest(m, hashcmd, tmp);
		if (!got || strcmp(got, want) != 0) {
			/* Ansible moves the file into place, then removes it: changed */
			net_rm(m, tmp);
			json_object_set_new(m->result, "changed", json_true());
			dr_error_set(err, "The checksum for %s did not match %s; it was %s.", dest,
			    want, got ? got : "unreadable");
			goto out;
		}
	}
	if (!sum_dest || strcmp(sum_src, sum_dest) != 0) {
		_cleanup_free_ char *qt = conn_quote(tmp), *qd = conn_quote(dest);
		_cleanup_free_ char *bk = NULL;
		if (dest_exists && module_bool(m, "backup")) {
			char stamp[64];
			time_t now = time(NULL);
			struct tm tm;
			localtime_r(&now, &tm);
			strftime(stamp, sizeof stamp, "%Y-%m-%d@%H:%M:%S", &tm);
			bk = xasprintf("%s.%ld.%s~", dest, (long)random() % 100000, stamp);
			json_object_set_new(m->result, "backup_file", json_string(bk));
		}
		_cleanup_free_ char *qb = bk ? conn_quote(bk) : NULL;
		_cleanup_free_ char *cmd = bk
		    ? xasprintf(
		          "cp -p -- %s %s && chmod 0644 %s && mv -f -- %s %s", qd, qb, qt, qt, qd)
		    : xasprintf("chmod 0644 %s && mv -f -- %s %s", qt, qt, qd);
		_cleanup_free_ char *o = net_output(m, cmd, err);
		if (!o) {
			net_rm(m, tmp);
			dr_error_prefix(err, "failed to copy %s to %s: ", tmp, dest);
			goto out;
		}
		changed = true;
	} else
		net_rm(m, tmp);
	if (files_attrs_apply(m, dest, &changed, err) < 0)
		goto out;
	{
		_cleanup_free_ char *md5 = net_digest(m, "md5sum", dest);
		json_object_set_new(m->result, "md5sum", md5 ? json_string(md5) : json_null());
	}
	files_attrs_report(m, dest, "dest");
	if (resp.size >= 0) {
		_cleanup_free_ char *msg = xasprintf("OK (%lld bytes)", resp.size);
		json_object_set_new(m->result, "msg", json_string(msg));
	}
	json_object_set_new(
	    m->result, "status_code", json_integer(resp.status ? resp.status : 200));
	json_object_set_new(m->result, "changed", json_boolean(changed));
	rc = 0;
out:
	buf_free(&opts);
	return rc;
}

static const struct module_arg net_get_url_args[] = {
    {"url", MT_STR, true, NULL, NULL, NULL},
    {"dest", MT_PATH, true, NULL, NULL, NULL},
    {"backup", MT_BOOL, false, "no", NULL, NULL},
    {"checksum", MT_STR, false, "", NULL, NULL},
    {"force", MT_BOOL, false, "no", NULL, "thirsty"},
    {"timeout", MT_INT, false, "10", NULL, NULL},
    {"headers", MT_DICT, false, NULL, NULL, NULL},
    {"tmp_dest", MT_PATH, false, NULL, NULL, NULL},
    {"validate_certs", MT_BOOL, false, "yes", NULL, NULL},
    {"use_proxy", MT_BOOL, false, "yes", NULL, NULL},
    {"url_username", MT_STR, false, NULL, NULL, "username"},
    {"url_password", MT_STR, false, NULL, NULL, "password"},
    {"force_basic_auth", MT_BOOL, false, "no", NULL, NULL},
    {"http_agent", MT_STR, false, "ansible-httpget", NULL, NULL},
    {"use_netrc", MT_BOOL, false, "yes", NULL, NULL},
    {"mode", MT_MODE, false, NULL, NULL, NULL},
    {"owner", MT_STR, false, NULL, NULL, NULL},
    {"group", MT_STR, false, NULL, NULL, NULL},
    {"unsafe_writes", MT_BOOL, false, "no", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* application/x-www-form-urlencoded text of a dict. */
static char *
net_form(const json_t *d)
{
	struct buf b = BUF_INIT(0);
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)d, k, v)
	{
		_cleanup_free_ char *val = json_is_string(v) ? xstrdup(json_string_value(v))
		                                             : json_dumps(v, JSON_ENCODE_ANY);
		const char *parts[2] = {k, val};
		if (b.len)
			buf_addc(&b, '&');
		for (int i = 0; i < 2; i++) {
			if (i)
				buf_addc(&b, '=');
			for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++) {
				if (isalnum(*p) || strchr("-._~", *p))
					buf_addc(&b, (char)*p);
				else if (*p == ' ')
					buf_addc(&b, '+');
				else
					buf_addf(&b, "%%%02X", *p);
			}
		}
	}
	return b.data ? buf_steal(&b) : xstrdup("");
}

/* True when the headers dict sets name (case-insensitive). */
static bool
net_has_header(const json_t *headers, const char *name)
{
	const char *k;
	json_t *v;

	if (!json_is_object(headers))
		return false;
	json_object_foreach((json_t *)headers, k, v) if (strcasecmp(k, name) == 0) return true;
	return false;
}

/* Parse the last header block curl wrote (-D) into result keys as Ansible names them. */
static void
net_headers_parse(json_t *result, char *text)
{
	char *last = text, *p;

	/* with redirects there is one block per response: keep the final one */
	for (p = strstr(text, "\nHTTP/"); p; p = strstr(p + 1, "\nHTTP/"))
		last = p + 1;
	char *save = NULL;
	bool first = true;
	for (char *l = strtok_r(last, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
		if (first) {
			first = false;
			char *sp = strchr(l, ' ');
			if (sp && (sp = strchr(sp + 1, ' ')))
				json_object_set_new(result, "__reason", json_string(sp + 1));
			continue;
		}
		char *colon = strchr(l, ':');
		if (!colon)
			continue;
		*colon = '\0';
		char *v = colon + 1;
		while (*v == ' ')
			v++;
		for (char *k = l; *k; k++)
			*k = *k == '-' ? '_' : (char)tolower((unsigned char)*k);
		if (strcmp(l, "set_cookie") == 0) {
			/* cookies: {name: value} and cookies_string */
			json_t *c = json_object_get(result, "cookies");
			if (!c) {
				c = json_object();
				json_object_set_new(result, "cookies", c);
			}
			_cleanup_free_ char *nv = xstrndup(v, strcspn(v, ";"));
			char *eq = strchr(nv, '=');
			if (eq) {
				*eq = '\0';
				json_object_set_new(c, nv, json_string(eq + 1));
			}
		}
		json_t *old = json_object_get(result, l);
		if (old && json_is_string(old)) {
			_cleanup_free_ char *j = xasprintf("%s, %s", json_string_value(old), v);
			json_object_set_new(result, l, json_string(j));
		} else
			json_object_set_new(result, l, json_string(v));
	}
}

/* The status codes a uri task accepts. */
static bool
net_status_ok(const json_t *codes, int status)
{
	size_t i;
	json_t *c;

	json_array_foreach(codes, i, c)
	{
		long long n = -1;
		if (json_is_integer(c))
			n = json_integer_value(c);
		else if (json_is_string(c))
			n = atoll(json_string_value(c));
		if (n == status)
			return true;
	}
	return false;
}

/* uri: an HTTP request from the host; status checked, body returned or written to dest. */
static int
net_uri(struct module_ctx *m, struct dr_error *err)
{
	const char *url = module_str(m, "url"), *method = module_str(m, "method");
	const char *fmt = module_str(m, "body_format"), *dest = module_str(m, "dest");
	const char *creates = module_str(m, "creates"), *removes = module_str(m, "removes");
	const char *follow = module_str(m, "follow_redirects");
	json_t *body = json_object_get(m->args, "body");
	json_t *headers = json_object_get(m->args, "headers");
	json_t *codes = json_object_get(m->args, "status_code");
	_cleanup_free_ char *data = NULL, *htmp = NULL, *btmp = NULL;
	struct buf opts = BUF_INIT(0), hb = BUF_INIT(0), bb = BUF_INIT(0);
	struct net_resp resp;
	bool ret_content = module_bool(m, "return_content");
	time_t t0 = time(NULL);
	int rc = -1;

	if (creates || removes) {
		_cleanup_free_ char *q = conn_quote(creates ? creates : removes);
		_cleanup_free_ char *cmd = xasprintf("[ -e %s ] && echo y || echo n", q);
		_cleanup_free_ char *o = net_output(m, cmd, err);
		if (!o)
			return -1;
		if (creates && *o == 'y') {
			_cleanup_free_ char *msg =
			    xasprintf("%s exists, request not sent", creates);
			json_object_set_new(m->result, "msg", json_string(msg));
			json_object_set_new(m->result, "changed", json_false());
			return 0;
		}
		if (removes && *o != 'y') {
			_cleanup_free_ char *msg =
			    xasprintf("%s does not exist, request not sent", removes);
			json_object_set_new(m->result, "msg", json_string(msg));
			json_object_set_new(m->result, "changed", json_false());
			return 0;
		}
	}
	if (m->check) {
		/* Ansible's uri does not support check mode: the task is skipped */
		json_object_set_new(m->result, "skipped", json_true());
		json_object_set_new(m->result, "msg",
		    json_string("remote module (uri) does not support check mode"));
		return 0;
	}
	/* the body */
	if (body && !json_is_null(body)) {
		if (strcmp(fmt, "json") == 0) {
			data = json_is_string(body)
			    ? xstrdup(json_string_value(body))
			    : json_dumps(body, JSON_ENCODE_ANY | JSON_COMPACT);
		} else if (strcmp(fmt, "form-urlencoded") == 0) {
			if (json_is_object(body))
				data = net_form(body);
			else if (json_is_string(body))
				data = xstrdup(json_string_value(body));
			else
				return dr_error_set(err,
				    "failed to parse body as form_urlencoded: "
				    "expected a dict or a string");
		} else if (strcmp(fmt, "form-multipart") == 0) {
			return dr_error_set(err, "body_format form-multipart is not supported");
		} else {
			data = json_is_string(body)
			    ? xstrdup(json_string_value(body))
			    : json_dumps(body, JSON_ENCODE_ANY | JSON_COMPACT);
		}
	}
	if (net_curl_opts(m, &opts, (int)module_int(m, "timeout"), err) < 0)
		goto out;
	if (strcmp(fmt, "json") == 0 && !net_has_header(headers, "Content-Type")) {
		buf_adds(&opts, " -H 'Content-Type: application/json'");
	} else if (strcmp(fmt, "form-urlencoded") == 0 && !net_has_header(headers, "Content-Type"))
		buf_adds(&opts, " -H 'Content-Type: application/x-www-form-urlencoded'");
	{
		_cleanup_free_ char *qm = conn_quote(method);
		if (strcmp(method, "HEAD") == 0)
			buf_adds(&opts, " -I");
		else
			buf_addf(&opts, " -X %s", qm);
	}
	if (strcmp(follow, "none") != 0 && strcmp(follow, "no") != 0) {
		/* safe (default) and urllib2: only GET and HEAD follow; all/yes: any method */
		if (strcmp(follow, "all") == 0 || strcmp(follow, "yes") == 0 ||
		    strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
			buf_adds(&opts, " -L --max-redirs 50");
	}
	if (data)
		buf_adds(&opts, " --data-binary @-");
	if (dest) {
		/* as Ansible: an existing dest file is only fetched again when newer */
		_cleanup_free_ char *qd = conn_quote(dest);
		_cleanup_free_ char *cmd =
		    xasprintf("[ -f %s ] && stat -c %%Y %s || true", qd, qd);
		_cleanup_free_ char *o = net_output(m, cmd, err);
		if (!o)
			goto out;
		if (*o) {
			char date[64];
			time_t t = (time_t)atoll(o);
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
			buf_addf(&opts, " -H 'If-Modified-Since: %s'", date);
		}
	}
	if (net_tmp(m, "uri-h", &htmp, err) < 0 || net_tmp(m, "uri-b", &btmp, err) < 0)
		goto out;
	{
		_cleanup_free_ char *qh = conn_quote(htmp), *qb = conn_quote(btmp);
		buf_addf(&opts, " -D %s -o %s", qh, qb);
	}
	if (net_curl(m, opts.data, url, data, data ? strlen(data) : 0, &resp, err) < 0)
		goto out;
	json_object_set_new(m->result, "url", json_string(resp.url[0] ? resp.url : url));
	json_object_set_new(m->result, "elapsed", json_integer((long long)(time(NULL) - t0)));
	json_object_set_new(
	    m->result, "redirected", json_boolean(resp.url[0] && strcmp(resp.url, url) != 0));
	json_object_set_new(m->result, "changed", json_false());
	if (resp.curl_rc != 0 && resp.status <= 0) {
		net_rm(m, htmp);
		net_rm(m, btmp);
		json_object_set_new(m->result, "status", json_integer(-1));
		dr_error_set(err, "Status code was -1 and not [%s]: Request failed: %s", "200",
		    resp.curl_err);
		goto out;
	}
	if (conn_get(m->conn, htmp, NET_HEADERS_MAX, &hb, NULL) == 0 && hb.data)
		net_headers_parse(m->result, hb.data);
	_cleanup_free_ char *reason =
	    xstrdup(json_string_value(json_object_get(m->result, "__reason"))
	            ? json_string_value(json_object_get(m->result, "__reason"))
	            : "");
	bool status_ok = net_status_ok(codes, resp.status);
	json_object_del(m->result, "__reason");
	json_object_set_new(m->result, "status", json_integer(resp.status));
	if (resp.status >= 400) {
		/* as urllib's HTTPError: no cookies, the reason phrase as msg */
		json_object_del(m->result, "cookies");
		_cleanup_free_ char *msg =
		    xasprintf("HTTP Error %d: %s", resp.status, str_trim(reason));
		json_object_set_new(m->result, "msg", json_string(msg));
	} else if (json_is_object(json_object_get(m->result, "cookies"))) {
		struct buf cs = BUF_INIT(0);
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(m->result, "cookies"), k, v)
		{
			if (cs.len)
				buf_adds(&cs, "; ");
			buf_addf(&cs, "%s=%s", k, json_string_value(v));
		}
		json_object_set_new(
		    m->result, "cookies_string", json_string(cs.data ? cs.data : ""));
		buf_free(&cs);
	} else {
		json_object_set_new(m->result, "cookies", json_object());
		json_object_set_new(m->result, "cookies_string", json_string(""));
	}
	if (resp.status < 400) {
		_cleanup_free_ char *msg = xasprintf("OK (%s bytes)",
		    json_string_value(json_object_get(m->result, "content_length"))
		        ? json_string_value(json_object_get(m->result, "content_length"))
		        : "unknown");
		json_object_set_new(m->result, "msg", json_string(msg));
	}
	if (dest) {
		/* the body goes to dest when the status is accepted (not 304): changed, as
		 * Ansible reports it, whether or not the content differed */
		_cleanup_free_ char *qb = conn_quote(btmp), *qd = conn_quote(dest);
		_cleanup_free_ char *cmd = xasprintf("[ -d %s ] && echo dir || echo file", qd);
		_cleanup_free_ char *o = net_output(m, cmd, err), *path = NULL;
		if (!o)
			goto out;
		if (strcmp(o, "dir") == 0) {
			_cleanup_free_ char *name = net_url_filename(url);
			path = xasprintf("%s/%s", dest, name);
		} else
			path = xstrdup(dest);
		json_object_set_new(m->result, "path", json_string(path));
		if (status_ok && resp.status != 304) {
			_cleanup_free_ char *qp = conn_quote(path);
			free(cmd);
			cmd = xasprintf("cmp -s %s %s || cat %s > %s", qb, qp, qb, qp);
			free(o);
			if (!(o = net_output(m, cmd, err)))
				goto out;
			bool changed = true;
			if (files_attrs_apply(m, path, &changed, err) < 0)
				goto out;
			json_object_set_new(m->result, "changed", json_boolean(changed));
		}
	}
	{
		/* the body: parsed when it is JSON, returned with return_content */
		const char *path = NULL;
		bool is_json = strstr(resp.ctype, "json") != NULL;
		if ((ret_content || is_json) &&
		    conn_get(m->conn, path ? path : btmp, NET_BODY_MAX, &bb, err) < 0)
			goto out;
		if (is_json && bb.data) {
			json_t *j = json_loadb(bb.data, bb.len, JSON_DECODE_ANY, NULL);
			if (j)
				json_object_set_new(m->result, "json", j);
		}
		if (ret_content)
			json_object_set_new(
			    m->result, "content", module_text(bb.data ? bb.data : "", bb.len));
	}
	net_rm(m, htmp);
	net_rm(m, btmp);
	if (!status_ok) {
		struct buf c = BUF_INIT(0);
		size_t i;
		json_t *x;
		json_array_foreach(codes, i, x)
		{
			if (c.len)
				buf_adds(&c, ", ");
			if (json_is_integer(x))
				buf_addf(&c, "%lld", (long long)json_integer_value(x));
			else
				buf_adds(&c, json_string_value(x) ? json_string_value(x) : "?");
		}
		dr_error_set(err, "Status code was %d and not [%s]: %s", resp.status,
		    c.data ? c.data : "", json_string_value(json_object_get(m->result, "msg")));
		buf_free(&c);
		goto out;
	}
	rc = 0;
out:
	buf_free(&opts);
	buf_free(&hb);
	buf_free(&bb);
	return rc;
}

static const struct module_arg net_uri_args[] = {
    {"url", MT_STR, true, NULL, NULL, NULL},
    {"dest", MT_PATH, false, NULL, NULL, NULL},
    {"url_username", MT_STR, false, NULL, NULL, "user"},
    {"url_password", MT_STR, false, NULL, NULL, "password"},
    {"body", MT_RAW, false, NULL, NULL, NULL},
    {"body_format", MT_STR, false, "raw", "form-urlencoded|json|raw|form-multipart", NULL},
    {"method", MT_STR, false, "GET", NULL, NULL},
    {"return_content", MT_BOOL, false, "no", NULL, NULL},
    {"force_basic_auth", MT_BOOL, false, "no", NULL, NULL},
    {"follow_redirects", MT_STR, false, "safe", "all|no|none|safe|urllib2|yes", NULL},
    {"creates", MT_PATH, false, NULL, NULL, NULL},
    {"removes", MT_PATH, false, NULL, NULL, NULL},
    {"status_code", MT_LIST, false, "200", NULL, NULL},
    {"timeout", MT_INT, false, "30", NULL, NULL},
    {"headers", MT_DICT, false, NULL, NULL, NULL},
    {"validate_certs", MT_BOOL, false, "yes", NULL, NULL},
    {"use_proxy", MT_BOOL, false, "yes", NULL, NULL},
    {"http_agent", MT_STR, false, "ansible-httpget", NULL, NULL},
    {"use_netrc", MT_BOOL, false, "yes", NULL, NULL},
    {"mode", MT_MODE, false, NULL, NULL, NULL},
    {"owner", MT_STR, false, NULL, NULL, NULL},
    {"group", MT_STR, false, NULL, NULL, NULL},
    {"unsafe_writes", MT_BOOL, false, "no", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

const struct module modules_net[] = {
    {"get_url", net_get_url_args, net_get_url, 0},
    {"uri", net_uri_args, net_uri, 0},
};
const size_t modules_net_n = nitems(modules_net);
