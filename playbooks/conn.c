/*
 * conn.c - the generic layer over a connection backend: backends by name, become (sudo,
 * su), the task's environment, a private temporary directory, and shell quoting.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "playbooks/playbooks.h"

/* Backends by name: adding one is one row. */
static const struct conn_backend *const conn_backends[] = {
    &conn_backend_local,
    &conn_backend_ssh,
};

struct conn {
	const struct conn_backend *be;
	void *state;
	char *host;
	char *tmpdir;
	unsigned tmp_seq;
	bool broken;
	bool become;
	char *become_method, *become_user, *become_password, *become_flags;
	char *env_prefix; /* "export A='x' B='y'; " or NULL */
	struct conn_opts opts; /* how it was opened (strings owned), for conn_reopen */
};

/* Free what a result holds. */
void
conn_result_free(struct conn_result *r)
{
	if (!r)
		return;
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
	r->out_len = r->err_len = 0;
}

/* The backend called name, or NULL. */
const struct conn_backend *
conn_backend_find(const char *name)
{
	for (size_t i = 0; i < nitems(conn_backends); i++)
		if (strcmp(conn_backends[i]->name, name) == 0)
			return conn_backends[i];
	return NULL;
}

/* One shell word: 'it'\''s'. */
char *
conn_quote(const char *s)
{
	struct buf b = BUF_INIT(0);

	buf_addc(&b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_adds(&b, "'\\''");
		else
			buf_addc(&b, *s);
	}
	buf_addc(&b, '\'');
	return buf_steal(&b);
}

/* Split a line into shell-like words (quotes removed, # starts a comment). */
int
conn_split(const char *line, json_t **ret, struct dr_error *err)
{
	json_t *words = json_array();
	struct buf w = BUF_INIT(0);
	bool in_word = false;
	char q = 0;

	for (const char *p = line;; p++) {
		if (q) {
			if (!*p) {
				buf_free(&w);
				json_decref(words);
				return dr_error_set(err, "unterminated quote in '%s'", line);
			}
			if (*p == q)
				q = 0;
			else if (*p == '\\' && q == '"' && (p[1] == '"' || p[1] == '\\')) {
				/* shlex: inside "", a backslash escapes only " and itself */
				buf_addc(&w, *++p);
			} else
				buf_addc(&w, *p);
			continue;
		}
		if (!*p || isspace((unsigned char)*p) || (*p == '#' && !in_word)) {
			if (in_word) {
				json_array_append_new(words, json_string(w.data ? w.data : ""));
				buf_reset(&w);
				in_word = false;
			}
			if (!*p || *p == '#')
				break;
			continue;
		}
		in_word = true;
		if (*p == '\'' || *p == '"')
			q = *p;
		else if (*p == '\\' && p[1])
			buf_addc(&w, *++p);
		else
			buf_addc(&w, *p);
	}
	buf_free(&w);
	*ret = words;
	return 0;
}

/* Connect with the named backend. */
int
conn_open(const char *backend, const struct conn_opts *o, struct conn **ret, struct dr_error *err)
{
	const struct conn_backend *be = conn_backend_find(backend);
	struct conn *c;
	void *state;

	if (!be)
		return dr_error_set(
		    err, "host %s: unknown connection type '%s'", o->host, backend);
	if (be->open(o, &state, err) < 0)
		return -1;
	c = xcalloc(1, sizeof *c);
	c->be = be;
	c->state = state;
	c->host = xstrdup(o->host);
	c->opts = *o;
#define CONN_DUP(f) c->opts.f = o->f ? xstrdup(o->f) : NULL
	CONN_DUP(host);
	CONN_DUP(address);
	CONN_DUP(user);
	CONN_DUP(password);
	CONN_DUP(private_key_file);
	CONN_DUP(known_hosts_file);
	CONN_DUP(host_key);
#undef CONN_DUP
	*ret = c;
	return 0;
}

/* Free the strings of the saved options. */
static void
conn_opts_free(struct conn_opts *o)
{
	free((char *)o->host);
	free((char *)o->address);
	free((char *)o->user);
	free((char *)o->password);
	free((char *)o->private_key_file);
	free((char *)o->known_hosts_file);
	free((char *)o->host_key);
	memset(o, 0, sizeof *o);
}

/* Drop the session and connect again with the same options (after a reboot). */
int
conn_reopen(struct conn *c, int connect_timeout, struct dr_error *err)
{
	struct conn_opts o = c->opts;
	void *state;

	if (connect_timeout > 0)
		o.connect_timeout = connect_timeout;
	if (c->state) {
		c->be->close(c->state);
		c->state = NULL;
	}
	free(c->tmpdir);
	c->tmpdir = NULL; /* a reboot may have emptied /tmp */
	c->broken = true;
	if (c->be->open(&o, &state, err) < 0)
		return -1;
	c->state = state;
	c->broken = false;
	return 0;
}

static void
conn_become_clear(struct conn *c)
{
	free(c->become_method);
	free(c->become_user);
	free(c->become_password);
	free(c->become_flags);
	c->become_method = c->become_user = c->become_password = c->become_flags = NULL;
	c->become = false;
}

/* Remove the temporary directory and disconnect. */
void
conn_close(struct conn *c)
{
	if (!c)
		return;
	if (c->tmpdir && !c->broken && c->state) {
		struct conn_result r = {0};
		_cleanup_free_ char *q = conn_quote(c->tmpdir);
		_cleanup_free_ char *cmd = xasprintf("rm -rf %s", q);
		if (c->be->exec(c->state, cmd, NULL, 0, 30, &r, NULL) == 0)
			conn_result_free(&r);
	}
	if (c->state)
		c->be->close(c->state);
	conn_opts_free(&c->opts);
	conn_become_clear(c);
	free(c->env_prefix);
	free(c->tmpdir);
	free(c->host);
	free(c);
}

const char *
conn_host(const struct conn *c)
{
	return c->host;
}

bool
conn_broken(const struct conn *c)
{
	return c->broken;
}

/* Become settings for the following calls. */
void
conn_become_set(struct conn *c, const struct conn_become *b)
{
	conn_become_clear(c);
	if (!b || !b->enabled)
		return;
	c->become = true;
	c->become_method = xstrdup(b->method && *b->method ? b->method : "sudo");
	c->become_user = xstrdup(b->user && *b->user ? b->user : "root");
	c->become_password = b->password ? xstrdup(b->password) : NULL;
	c->become_flags = b->flags ? xstrdup(b->flags) : NULL;
}

/* Environment for the following commands. */
void
conn_env_set(struct conn *c, const json_t *env)
{
	const char *k;
	json_t *v;
	struct buf b = BUF_INIT(0);

	free(c->env_prefix);
	c->env_prefix = NULL;
	if (!env || !json_is_object(env) || json_object_size(env) == 0)
		return;
	buf_adds(&b, "export");
	json_object_foreach((json_t *)env, k, v)
	{
		_cleanup_free_ char *val = json_is_string(v) ? xstrdup(json_string_value(v))
		    : json_is_integer(v) ? xasprintf("%lld", (long long)json_integer_value(v))
		    : json_is_true(v)    ? xstrdup("True")
		    : json_is_false(v)   ? xstrdup("False")
		                         : xstrdup("");
		_cleanup_free_ char *q = conn_quote(val);
		bool ok = *k != '\0';
		for (const char *p = k; *p; p++)
			if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			        (p != k && *p >= '0' && *p <= '9')))
				ok = false;
		if (ok)
			buf_addf(&b, " %s=%s", k, q);
	}
	buf_adds(&b, "; ");
	c->env_prefix = buf_steal(&b);
}

/* True when the session logs in as root (su then asks no password). */
static bool
conn_login_root(const struct conn *c)
{
	if (c->opts.user)
		return strcmp(c->opts.user, "root") == 0;
	return geteuid() == 0;
}

/* The command line that runs cmd as the become user (or cmd itself). */
static char *
conn_wrap(struct conn *c, const char *cmd, bool *ret_pw)
{
	_cleanup_free_ char *full = xasprintf("%s%s", c->env_prefix ? c->env_prefix : "", cmd);
	_cleanup_free_ char *q = NULL, *u = NULL;

	*ret_pw = false;
	if (!c->become)
		return TAKE_PTR(full);
	q = conn_quote(full);
	u = conn_quote(c->become_user);
	if (strcmp(c->become_method, "su") == 0) {
		/* util-linux su reads the password from stdin when there is no terminal (and
		 * asks none of root: then nothing is sent) */
		*ret_pw = c->become_password != NULL && !conn_login_root(c);
		return xasprintf(
		    "su %s -s /bin/sh %s -c %s", c->become_flags ? c->become_flags : "", u, q);
	}
	if (c->become_password) {
		*ret_pw = true;
		return xasprintf("sudo -H -S -k -p '' %s -u %s /bin/sh -c %s",
		    c->become_flags ? c->become_flags : "", u, q);
	}
	return xasprintf(
	    "sudo -H -S -n %s -u %s /bin/sh -c %s", c->become_flags ? c->become_flags : "", u, q);
}

/* Run through the backend; a failure to run at all on a remote backend breaks the host. */
static int
conn_raw_exec(struct conn *c, const char *cmd, const char *in, size_t in_len, int timeout_s,
    struct conn_result *ret, struct dr_error *err)
{
	struct dr_error e = {{0}};

	if (!c->state)
		return dr_error_set(err, "host %s: the connection was lost", c->host);
	if (c->be->exec(c->state, cmd, in, in_len, timeout_s, ret, &e) == 0)
		return 0;
	if (strcmp(c->be->name, "local") != 0 && !strstr(e.msg, "timed out"))
		c->broken = true;
	return dr_error_set(err, "%s", e.msg);
}

/* Run cmd with become and environment applied. */
int
conn_exec(struct conn *c, const char *cmd, const char *in, size_t in_len, int timeout_s,
    struct conn_result *ret, struct dr_error *err)
{
	bool pw;
	_cleanup_free_ char *line = conn_wrap(c, cmd, &pw);
	_cleanup_free_ char *input = NULL;
	int r;

	if (c->become && strcmp(c->become_method, "su") != 0 &&
	    strcmp(c->become_method, "sudo") != 0)
		return dr_error_set(err, "host %s: become_method '%s' is not supported (sudo, su)",
		    c->host, c->become_method);
	if (pw) {
		size_t plen = strlen(c->become_password);
		input = xmalloc(plen + 1 + in_len + 1);
		memcpy(input, c->become_password, plen);
		input[plen] = '\n';
		if (in_len)
			memcpy(input + plen + 1, in, in_len);
		in = input;
		in_len += plen + 1;
	}
	r = conn_raw_exec(c, line, in, in_len, timeout_s, ret, err);
	if (r == 0 && pw && strcmp(c->become_method, "su") == 0 &&
	    str_has_prefix(ret->err, "Password: ")) {
		/* su's prompt (PAM writes it to stderr) is not the command's output */
		size_t n = strlen("Password: ");
		memmove(ret->err, ret->err + n, ret->err_len - n + 1);
		ret->err_len -= n;
	}
	if (r == 0 && c->become && ret->status != 0 &&
	    (strstr(ret->err, "a password is required") ||
	        strstr(ret->err, "incorrect password") ||
	        strstr(ret->err, "Authentication failure"))) {
		dr_error_set(err, "host %s: become (%s to %s) failed: %s", c->host,
		    c->become_method, c->become_user, str_trim(ret->err));
		conn_result_free(ret);
		return -1;
	}
	return r;
}

/* The private temporary directory, made on first use. */
int
conn_tmpdir(struct conn *c, const char **ret, struct dr_error *err)
{
	struct conn_result r = {0};

	if (!c->tmpdir) {
		if (conn_raw_exec(c, "umask 077 && mktemp -d \"${TMPDIR:-/tmp}/drover-XXXXXXXX\"",
		        NULL, 0, 30, &r, err) < 0)
			return -1;
		if (r.status != 0) {
			dr_error_set(err, "host %s: cannot make a temporary directory: %s",
			    c->host, str_trim(r.err));
			conn_result_free(&r);
			return -1;
		}
		c->tmpdir = xstrdup(str_trim(r.out));
		conn_result_free(&r);
	}
	*ret = c->tmpdir;
	return 0;
}

/* Run a helper command and turn a non-zero status into an error. */
static int
conn_check(struct conn *c, const char *cmd, struct dr_error *err)
{
	struct conn_result r = {0};

	if (conn_exec(c, cmd, NULL, 0, 0, &r, err) < 0)
		return -1;
	if (r.status != 0) {
		dr_error_set(err, "host %s: %s", c->host, *r.err ? str_trim(r.err) : "failed");
		conn_result_free(&r);
		return -1;
	}
	conn_result_free(&r);
	return 0;
}

/* Write a file; under become, upload to the temporary directory and move it into place
 * as the become user, so the file belongs to that user as Ansible's would. */
int
conn_put(
    struct conn *c, const char *path, const void *data, size_t len, int mode, struct dr_error *err)
{
	const char *dir;
	_cleanup_free_ char *tmp = NULL, *qt = NULL, *qp = NULL, *cmd = NULL, *rm = NULL;
	struct dr_error e = {{0}};
	int r;

	if (!c->state)
		return dr_error_set(err, "host %s: the connection was lost", c->host);
	if (!c->become)
		return c->be->put(c->state, path, data, len, mode, err);
	if (conn_tmpdir(c, &dir, err) < 0)
		return -1;
	tmp = xasprintf("%s/put-%u", dir, c->tmp_seq++);
	if (c->be->put(c->state, tmp, data, len, 0644, err) < 0)
		return -1;
	qt = conn_quote(tmp);
	qp = conn_quote(path);
	/* The directory is 0700: let a non-root become user read through it. */
	if (strcmp(c->become_user, "root") != 0) {
		_cleanup_free_ char *qd = conn_quote(dir);
		_cleanup_free_ char *ch = xasprintf("chmod 0711 %s", qd);
		struct conn_result cr = {0};
		if (conn_raw_exec(c, ch, NULL, 0, 30, &cr, err) < 0)
			return -1;
		conn_result_free(&cr);
	}
	cmd = xasprintf("t=%s.drover-$$ && cat %s > \"$t\" && chmod %o \"$t\" && mv -f \"$t\" %s "
	                "|| { rm -f \"$t\"; exit 1; }",
	    qp, qt, (unsigned)mode & 07777, qp);
	r = conn_check(c, cmd, err);
	rm = xasprintf("rm -f %s", qt);
	{
		struct conn_result cr = {0};
		if (conn_raw_exec(c, rm, NULL, 0, 30, &cr, &e) == 0)
			conn_result_free(&cr);
	}
	return r;
}

/* lstat through the backend when it can, and no become is on. */
int
conn_lstat(struct conn *c, const char *path, struct conn_stat *ret, struct dr_error *err)
{
	if (!c->state)
		return dr_error_set(err, "host %s: the connection was lost", c->host);
	if (c->become || !c->be->lstat)
		return 1;
	return c->be->lstat(c->state, path, ret, err);
}

/* Read a file; under become, read it as the become user. */
int
conn_get(struct conn *c, const char *path, size_t max, struct buf *out, struct dr_error *err)
{
	struct conn_result r = {0};
	_cleanup_free_ char *qp = NULL, *cmd = NULL;

	if (!c->state)
		return dr_error_set(err, "host %s: the connection was lost", c->host);
	if (!c->become)
		return c->be->get(c->state, path, max, out, err);
	qp = conn_quote(path);
	cmd = xasprintf("cat %s", qp);
	if (conn_exec(c, cmd, NULL, 0, 0, &r, err) < 0)
		return -1;
	if (r.status != 0) {
		dr_error_set(err, "host %s: %s: %s", c->host, path, str_trim(r.err));
		conn_result_free(&r);
		return -1;
	}
	if (r.out_len > max || buf_add(out, r.out, r.out_len) < 0) {
		conn_result_free(&r);
		return dr_error_set(err, "host %s: %s: larger than %zu bytes", c->host, path, max);
	}
	conn_result_free(&r);
	return 0;
}

/* Ansible's facts about the connection's host, in one round trip (facts.c). */
int
conn_facts(struct conn *c, const char *subset, json_t **ret, struct dr_error *err)
{
	struct dr_error e = {{0}};

	if (!c->state)
		return dr_error_set(err, "host %s: the connection was lost", c->host);
	if (facts_gather(c->be, c->state, subset, ret, &e) == 0)
		return 0;
	if (strcmp(c->be->name, "local") != 0 && !strstr(e.msg, "timed out"))
		c->broken = true;
	return dr_error_set(err, "%s", e.msg);
}
