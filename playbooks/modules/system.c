/*
 * modules/system.c - users, groups, sysctl, hostname, wait_for, wait_for_connection: each
 * reads the state with one command, compares, and changes only what differs.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "playbooks/playbooks.h"

/* Run cmd; *ret_out gets stdout (caller frees); returns the exit status or -1. */
static int
system_run(struct module_ctx *m, const char *cmd, char **ret_out, struct dr_error *err)
{
	struct conn_result r = {0};
	int st;

	if (module_exec(m, cmd, NULL, 0, &r, err) < 0)
		return -1;
	st = r.status;
	if (ret_out)
		*ret_out = xstrdup(str_trim(r.out));
	if (st != 0 && !ret_out)
		dr_error_set(err, "%s", *r.err ? str_trim(r.err) : str_trim(r.out));
	else if (st != 0)
		dr_error_set(err, "%s", *r.err ? str_trim(r.err) : "command failed");
	conn_result_free(&r);
	return st;
}

/* Run a command that must succeed. */
static int
system_must(struct module_ctx *m, const char *cmd, struct dr_error *err)
{
	return system_run(m, cmd, NULL, err) == 0 ? 0 : -1;
}

/* Field i (0-based) of a colon-separated getent line. */
static char *
system_field(const char *line, int i)
{
	const char *p = line;

	for (int k = 0; k < i && p; k++) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	if (!p)
		return xstrdup("");
	const char *end = strchr(p, ':');
	return end ? xstrndup(p, (size_t)(end - p)) : xstrdup(p);
}

/* group: present (with gid) or absent. */
static int
system_group(struct module_ctx *m, struct dr_error *err)
{
	const char *name = module_str(m, "name"), *state = module_str(m, "state");
	json_t *gidv = json_object_get(m->args, "gid");
	_cleanup_free_ char *q = conn_quote(name), *cmd = xasprintf("getent group %s", q);
	_cleanup_free_ char *line = NULL, *gid = NULL;
	bool exists, changed = false;
	int st = system_run(m, cmd, &line, NULL);

	if (st < 0)
		return dr_error_set(err, "cannot look up group %s", name);
	exists = st == 0 && *line;
	json_object_set_new(m->result, "name", json_string(name));
	json_object_set_new(m->result, "state", json_string(state));
	if (strcmp(state, "absent") == 0) {
		if (exists) {
			changed = true;
			_cleanup_free_ char *c = xasprintf("groupdel %s", q);
			if (!m->check && system_must(m, c, err) < 0)
				return -1;
		}
		json_object_set_new(m->result, "changed", json_boolean(changed));
		return 0;
	}
	if (!exists) {
		changed = true;
		_cleanup_free_ char *gopt = gidv && !json_is_null(gidv)
		    ? xasprintf("-g %lld ", (long long)json_integer_value(gidv))
		    : xstrdup("");
		_cleanup_free_ char *c =
		    xasprintf("groupadd %s%s%s", gopt, module_bool(m, "system") ? "-r " : "", q);
		if (!m->check && system_must(m, c, err) < 0)
			return -1;
	} else {
		gid = system_field(line, 2);
		if (gidv && !json_is_null(gidv) && atoll(gid) != json_integer_value(gidv)) {
			changed = true;
			_cleanup_free_ char *c = xasprintf(
			    "groupmod -g %lld %s", (long long)json_integer_value(gidv), q);
			if (!m->check && system_must(m, c, err) < 0)
				return -1;
		}
	}
	if (!m->check && !changed) {
		/* nothing changed: the line read first is the group as it is */
		json_object_set_new(m->result, "gid", json_integer(atoll(gid)));
	} else if (!m->check) {
		free(line);
		line = NULL;
		if (system_run(m, cmd, &line, err) == 0) {
			free(gid);
			gid = system_field(line, 2);
			json_object_set_new(m->result, "gid", json_integer(atoll(gid)));
		}
	}
	json_object_set_new(m->result, "system", json_boolean(module_bool(m, "system")));
	json_object_set_new(m->result, "changed", json_boolean(changed));
	return 0;
}

static const struct module_arg system_group_args[] = {
    {"name", MT_STR, true, NULL, NULL, NULL},
    {"state", MT_STR, false, "present", "absent|present", NULL},
    {"gid", MT_INT, false, NULL, NULL, NULL},
    {"system", MT_BOOL, false, "no", NULL, NULL},
    {"local", MT_BOOL, false, "no", NULL, NULL},
    {"non_unique", MT_BOOL, false, "no", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* A comma list of the groups argument (sorted set semantics are left to the shell). */
static char *
system_groups_arg(const json_t *groups)
{
	struct buf b = BUF_INIT(0);
	size_t i;
	json_t *g;

	json_array_foreach(groups, i, g)
	{
		const char *s = json_string_value(g);
		if (!s || !*s)
			continue;
		if (b.len)
			buf_addc(&b, ',');
		buf_adds(&b, s);
	}
	return buf_steal(&b);
}

/* True when word is in the comma or space separated list. */
static bool
system_in_list(const char *list, const char *word)
{
	_cleanup_free_ char *c = xstrdup(list);
	char *save = NULL;

	for (char *t = strtok_r(c, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		if (strcmp(t, word) == 0)
			return true;
	return false;
}

/* The useradd command that makes the user the arguments describe (q: the quoted name). */
static char *
system_useradd(struct module_ctx *m, const char *q)
{
	const char *shell = module_str(m, "shell"), *home = module_str(m, "home");
	const char *comment = module_str(m, "comment"), *group = module_str(m, "group");
	const char *password = module_str(m, "password");
	json_t *uidv = json_object_get(m->args, "uid"),
	       *groups = json_object_get(m->args, "groups");
	struct buf opts = BUF_INIT(0);
	char *ret;

#define OPT(flag, val)                                                                            \
	do {                                                                                      \
		_cleanup_free_ char *qv_ = conn_quote(val);                                       \
		buf_addf(&opts, " %s %s", flag, qv_);                                             \
	} while (0)
	if (uidv && !json_is_null(uidv)) {
		char n[32];
		snprintf(n, sizeof n, "%lld", (long long)json_integer_value(uidv));
		OPT("-u", n);
	}
	if (group)
		OPT("-g", group);
	if (groups && json_array_size(groups)) {
		_cleanup_free_ char *g = system_groups_arg(groups);
		if (*g)
			OPT("-G", g);
	}
	if (shell)
		OPT("-s", shell);
	if (home)
		OPT("-d", home);
	if (comment)
		OPT("-c", comment);
	if (password)
		OPT("-p", password);
#undef OPT
	if (module_bool(m, "system"))
		buf_adds(&opts, " -r");
	buf_adds(&opts, module_bool(m, "create_home") ? " -m" : " -M");
	ret = xasprintf("useradd%s %s", opts.data, q);
	buf_free(&opts);
	return ret;
}

/* user: present (uid, group, groups, shell, home, comment, password) or absent. */
static int
system_user(struct module_ctx *m, struct dr_error *err)
{
	const char *name = module_str(m, "name"), *state = module_str(m, "state");
	const char *shell = module_str(m, "shell"), *home = module_str(m, "home");
	const char *comment = module_str(m, "comment"), *group = module_str(m, "group");
	const char *password = module_str(m, "password");
	json_t *uidv = json_object_get(m->args, "uid"),
	       *groups = json_object_get(m->args, "groups");
	_cleanup_free_ char *q = conn_quote(name), *cmd = xasprintf("getent passwd %s", q);
	_cleanup_free_ char *line = NULL, *add = NULL;
	struct buf opts = BUF_INIT(0);
	bool exists, changed = false, fresh = false;
	int st, rc = -1;

#define OPT(flag, val)                                                                            \
	do {                                                                                      \
		_cleanup_free_ char *qv_ = conn_quote(val);                                       \
		buf_addf(&opts, " %s %s", flag, qv_);                                             \
	} while (0)
	json_object_set_new(m->result, "name", json_string(name));
	json_object_set_new(m->result, "state", json_string(state));
	if (strcmp(state, "absent") != 0 && !m->check) {
		/*
		 * One round trip when the user is missing: look it up, else add it and look
		 * it up again ("E" or "C" before the line says which).
		 */
		add = system_useradd(m, q);
		_cleanup_free_ char *one = xasprintf(
		    "if l=$(%s); then echo \"E$l\"; else %s >&2 || exit; echo \"C$(%s)\"; fi", cmd,
		    add, cmd);
		st = system_run(m, one, &line, err);
		if (st > 0) {
			rc = -1;
			goto out;
		}
	} else
		st = system_run(m, cmd, &line, NULL);
	if (st < 0)
		return dr_error_set(err, "cannot look up user %s", name);
	if (add) {
		fresh = line[0] == 'C';
		memmove(line, line + 1, strlen(line));
	}
	exists = st == 0 && *line && !fresh;
	if (strcmp(state, "absent") == 0) {
		if (exists) {
			changed = true;
			_cleanup_free_ char *c =
			    xasprintf("userdel %s%s", module_bool(m, "remove") ? "-r " : "", q);
			if (!m->check && system_must(m, c, err) < 0)
				goto out;
		}
		json_object_set_new(m->result, "changed", json_boolean(changed));
		rc = 0;
		goto out;
	}
	if (!exists) {
		changed = true; /* added above unless in check mode */
	} else {
		_cleanup_free_ char *uid = system_field(line, 2), *gid = system_field(line, 3);
		_cleanup_free_ char *cur_comment = system_field(line, 4),
		                    *cur_home = system_field(line, 5);
		_cleanup_free_ char *cur_shell = system_field(line, 6);
		if (uidv && !json_is_null(uidv) && atoll(uid) != json_integer_value(uidv)) {
			char n[32];
			snprintf(n, sizeof n, "%lld", (long long)json_integer_value(uidv));
			OPT("-u", n);
		}
		if (group) {
			_cleanup_free_ char *qg = conn_quote(group), *gl = NULL;
			_cleanup_free_ char *gc = xasprintf("getent group %s", qg);
			if (system_run(m, gc, &gl, err) != 0) {
				dr_error_set(err, "Group %s does not exist", group);
				goto out;
			}
			_cleanup_free_ char *want_gid = system_field(gl, 2);
			if (strcmp(want_gid, gid) != 0)
				OPT("-g", group);
		}
		if (shell && strcmp(shell, cur_shell) != 0)
			OPT("-s", shell);
		if (home && strcmp(home, cur_home) != 0) {
			OPT("-d", home);
			if (module_bool(m, "move_home"))
				buf_adds(&opts, " -m");
		}
		if (comment && strcmp(comment, cur_comment) != 0)
			OPT("-c", comment);
		if (groups) {
			/* the primary group, then every group: one round trip */
			_cleanup_free_ char *idc = xasprintf("id -gn %s && id -Gn %s", q, q);
			_cleanup_free_ char *pg = NULL;
			if (system_run(m, idc, &pg, err) != 0)
				goto out;
			char *nl = strchr(pg, '\n');
			const char *cur = nl ? nl + 1 : "";
			if (nl)
				*nl = '\0';
			bool differ = false;
			size_t i;
			json_t *g;
			json_array_foreach(groups, i, g) if (json_string_value(g) &&
			    *json_string_value(g) && !system_in_list(cur, json_string_value(g)))
			    differ = true;
			if (!module_bool(m, "append")) {
				_cleanup_free_ char *c2 = xstrdup(cur);
				char *save = NULL;
				for (char *t = strtok_r(c2, " ", &save); t;
				     t = strtok_r(NULL, " ", &save)) {
					bool wanted = strcmp(t, pg) == 0;
					json_array_foreach(
					    groups, i, g) if (json_string_value(g) &&
					    strcmp(json_string_value(g), t) == 0) wanted = true;
					if (!wanted)
						differ = true;
				}
			}
			if (differ) {
				_cleanup_free_ char *gs = system_groups_arg(groups);
				if (module_bool(m, "append"))
					buf_adds(&opts, " -a");
				OPT("-G", gs);
			}
		}
		if (password) {
			_cleanup_free_ char *sc = xasprintf("getent shadow %s", q), *sl = NULL;
			if (system_run(m, sc, &sl, NULL) == 0) {
				_cleanup_free_ char *cur = system_field(sl, 1);
				bool always = !module_str(m, "update_password") ||
				    strcmp(module_str(m, "update_password"), "always") == 0;
				if (always && strcmp(cur, password) != 0)
					OPT("-p", password);
			}
		}
		if (opts.len) {
			changed = true;
			_cleanup_free_ char *c = xasprintf("usermod%s %s", opts.data, q);
			if (!m->check && system_must(m, c, err) < 0)
				goto out;
		}
	}
#undef OPT
	if (!m->check || exists) {
		/* the line read above still holds unless usermod ran */
		if (opts.len && !m->check) {
			free(line);
			line = NULL;
			st = system_run(m, cmd, &line, NULL);
		}
		if (st == 0 && *line) {
			_cleanup_free_ char *uid = system_field(line, 2),
			                    *gid = system_field(line, 3);
			_cleanup_free_ char *h = system_field(line, 5),
			                    *sh = system_field(line, 6);
			_cleanup_free_ char *c = system_field(line, 4);
			json_object_set_new(m->result, "uid", json_integer(atoll(uid)));
			json_object_set_new(m->result, "group", json_integer(atoll(gid)));
			json_object_set_new(m->result, "home", json_string(h));
			json_object_set_new(m->result, "shell", json_string(sh));
			json_object_set_new(m->result, "comment", json_string(c));
		}
	}
	json_object_set_new(m->result, "changed", json_boolean(changed));
	rc = 0;
out:
	buf_free(&opts);
	return rc;
}

static const struct module_arg system_user_args[] = {
    {"name", MT_STR, true, NULL, NULL, "user"},
    {"state", MT_STR, false, "present", "absent|present", NULL},
    {"uid", MT_INT, false, NULL, NULL, NULL},
    {"group", MT_STR, false, NULL, NULL, NULL},
    {"groups", MT_LIST, false, NULL, NULL, NULL},
    {"append", MT_BOOL, false, "no", NULL, NULL},
    {"shell", MT_STR, false, NULL, NULL, NULL},
    {"home", MT_PATH, false, NULL, NULL, NULL},
    {"move_home", MT_BOOL, false, "no", NULL, NULL},
    {"comment", MT_STR, false, NULL, NULL, NULL},
    {"password", MT_STR, false, NULL, NULL, NULL},
    {"update_password", MT_STR, false, "always", "always|on_create", NULL},
    {"create_home", MT_BOOL, false, "yes", NULL, "createhome"},
    {"system", MT_BOOL, false, "no", NULL, NULL},
    {"remove", MT_BOOL, false, "no", NULL, NULL},
    {"force", MT_BOOL, false, "no", NULL, NULL},
    {"non_unique", MT_BOOL, false, "no", NULL, NULL},
    {"local", MT_BOOL, false, "no", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* sysctl: name=value in sysctl_file (and the running kernel when reload/sysctl_set). */
static int
system_sysctl(struct module_ctx *m, struct dr_error *err)
{
	const char *name = module_str(m, "name"), *value = module_str(m, "value");
	const char *state = module_str(m, "state"), *file = module_str(m, "sysctl_file");
	bool present = strcmp(state, "present") == 0, changed = false;
	struct buf text = BUF_INIT(16u << 20), out = BUF_INIT(0);
	_cleanup_free_ char *qf = conn_quote(file), *qn = conn_quote(name);
	bool found = false;

	if (present && !value)
		return dr_error_set(err, "value is required with state=present");
	_cleanup_free_ char *exists = xasprintf("test -e %s", qf);
	if (system_run(m, exists, NULL, NULL) == 0 &&
	    conn_get(m->conn, file, 16u << 20, &text, err) < 0)
		return -1;
	_cleanup_free_ char *want = present ? xasprintf("%s=%s", name, value) : NULL;
	/* rewrite: keep every line but ours; ours replaced in place (or appended) */
	const char *p = text.data ? text.data : "";
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		_cleanup_free_ char *line = xstrndup(p, n), *key = NULL;
		char *eq = strchr(line, '=');
		if (eq && line[0] != '#' && line[0] != ';') {
			key = xstrndup(line, (size_t)(eq - line));
			str_trim(key);
		}
		if (key && strcmp(key, name) == 0) {
			if (present && !found)
				buf_addf(&out, "%s\n", want);
			found = true;
		} else {
			buf_add(&out, p, n);
			buf_addc(&out, '\n');
		}
		p += n + (nl ? 1 : 0);
	}
	if (present && !found)
		buf_addf(&out, "%s\n", want);
	const char *after = out.data ? out.data : "";
	_cleanup_free_ char *before = xstrndup(text.data ? text.data : "", text.len);
	if (strcmp(before, after) != 0) {
		changed = true;
		if (m->diff)
			module_diff_set(m, file, before, after);
		if (!m->check && conn_put(m->conn, file, after, strlen(after), 0644, err) < 0)
			goto fail;
	}
	if (present && (module_bool(m, "sysctl_set") || module_bool(m, "reload"))) {
		_cleanup_free_ char *get = xasprintf("sysctl -n %s", qn), *cur = NULL;
		if (system_run(m, get, &cur, NULL) != 0) {
			if (!module_bool(m, "ignoreerrors")) {
				dr_error_set(err, "setting %s failed: no such key", name);
				goto fail;
			}
		} else {
			/* compare as the kernel prints it: whitespace-separated words */
			_cleanup_free_ char *a = xstrdup(cur), *b = xstrdup(value);
			for (char *c = a; *c; c++)
				if (*c == '\t')
					*c = ' ';
			for (char *c = b; *c; c++)
				if (*c == '\t')
					*c = ' ';
			if (strcmp(str_trim(a), str_trim(b)) != 0) {
				changed = true;
				_cleanup_free_ char *qv = conn_quote(want);
				_cleanup_free_ char *set = xasprintf("sysctl -w %s", qv);
				if (!m->check && system_must(m, set, err) < 0 &&
				    !module_bool(m, "ignoreerrors"))
					goto fail;
			}
		}
	}
	buf_free(&text);
	buf_free(&out);
	json_object_set_new(m->result, "changed", json_boolean(changed));
	return 0;
fail:
	buf_free(&text);
	buf_free(&out);
	return -1;
}

static const struct module_arg system_sysctl_args[] = {
    {"name", MT_STR, true, NULL, NULL, "key"},
    {"value", MT_STR, false, NULL, NULL, "val"},
    {"state", MT_STR, false, "present", "absent|present", NULL},
    {"sysctl_file", MT_PATH, false, "/etc/sysctl.conf", NULL, NULL},
    {"reload", MT_BOOL, false, "yes", NULL, NULL},
    {"sysctl_set", MT_BOOL, false, "no", NULL, NULL},
    {"ignoreerrors", MT_BOOL, false, "no", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* hostname: the running name and /etc/hostname. */
static int
system_hostname(struct module_ctx *m, struct dr_error *err)
{
	const char *name = module_str(m, "name");
	_cleanup_free_ char *cur = NULL, *file = NULL, *q = conn_quote(name);
	bool changed = false;

	if (system_run(m, "hostname", &cur, err) != 0)
		return -1;
	if (system_run(m, "cat /etc/hostname 2>/dev/null || true", &file, err) != 0)
		return -1;
	if (strcmp(cur, name) != 0 || strcmp(file, name) != 0) {
		changed = true;
		if (m->diff) {
			_cleanup_free_ char *b = xasprintf("hostname = %s\n", cur);
			_cleanup_free_ char *a = xasprintf("hostname = %s\n", name);
			module_diff_set(m, NULL, b, a);
		}
		if (!m->check) {
			_cleanup_free_ char *c =
			    xasprintf("hostname %s && printf '%%s\\n' %s > /etc/hostname", q, q);
			if (system_must(m, c, err) < 0)
				return -1;
		}
	}
	json_object_set_new(m->result, "name", json_string(name));
	json_object_set_new(m->result, "ansible_facts",
	    json_pack("{s:s,s:s}", "hostname", name, "nodename", name));
	json_object_set_new(m->result, "changed", json_boolean(changed));
	return 0;
}

static const struct module_arg system_hostname_args[] = {
    {"name", MT_STR, true, NULL, NULL, NULL},
    {"use", MT_STR, false, NULL, NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* wait_for: a port (from the host) or a path, started/stopped/present/absent/drained. */
static int
system_wait_for(struct module_ctx *m, struct dr_error *err)
{
	const char *host = module_str(m, "host"), *path = module_str(m, "path");
	const char *state = module_str(m, "state"), *search = module_str(m, "search_regex");
	json_t *port = json_object_get(m->args, "port");
	long long timeout = module_int(m, "timeout"), delay = module_int(m, "delay");
	long long sleep_s = module_int(m, "sleep"), ct = module_int(m, "connect_timeout");
	_cleanup_free_ char *check = NULL;
	int64_t start = time_mono_us();
	bool want_up = strcmp(state, "started") == 0 || strcmp(state, "present") == 0;

	if (port && !json_is_null(port) && path)
		return dr_error_set(
		    err, "port and path parameter can not both be passed to wait_for");
	if (port && !json_is_null(port)) {
		_cleanup_free_ char *qh = conn_quote(host);
		/* bash's /dev/tcp, else nc: the host needs one of them */
		check = xasprintf("if command -v bash >/dev/null; then timeout %lld bash -c 'exec "
		                  "3<>/dev/tcp/'%s'/%lld' 2>/dev/null; "
		                  "else nc -z -w %lld %s %lld; fi",
		    ct, qh, (long long)json_integer_value(port), ct, qh,
		    (long long)json_integer_value(port));
	} else if (path) {
		_cleanup_free_ char *qp = conn_quote(path);
		if (search) {
			_cleanup_free_ char *qs = conn_quote(search);
			check = xasprintf("grep -Eq -- %s %s", qs, qp);
		} else
			check = xasprintf("test -e %s", qp);
	} else if (!delay) {
		return 0;
	}
	if (m->check)
		return 0;
	for (long long i = 0; i < delay * 10; i++)
		usleep(100000);
	for (;;) {
		struct conn_result r = {0};
		bool up = true;
		if (check) {
			if (module_exec(m, check, NULL, 0, &r, err) < 0)
				return -1;
			up = r.status == 0;
			conn_result_free(&r);
		}
		if (up == want_up)
			break;
		if (time_mono_us() - start >= timeout * 1000000) {
			const char *msg = module_str(m, "msg");
			if (msg)
				return dr_error_set(err, "%s", msg);
			if (path)
				return dr_error_set(err, "Timeout when waiting for %s", path);
			return dr_error_set(err, "Timeout when waiting for %s:%lld", host,
			    (long long)json_integer_value(port));
		}
		for (long long i = 0; i < sleep_s * 10; i++)
			usleep(100000);
	}
	json_object_set_new(
	    m->result, "elapsed", json_integer((time_mono_us() - start) / 1000000));
	json_object_set_new(m->result, "state", json_string(state));
	if (path)
		json_object_set_new(m->result, "path", json_string(path));
	if (port && !json_is_null(port))
		json_object_set(m->result, "port", port);
	return 0;
}

static const struct module_arg system_wait_for_args[] = {
    {"host", MT_STR, false, "127.0.0.1", NULL, NULL},
    {"port", MT_INT, false, NULL, NULL, NULL},
    {"path", MT_PATH, false, NULL, NULL, NULL},
    {"state", MT_STR, false, "started", "absent|drained|present|started|stopped", NULL},
    {"timeout", MT_INT, false, "300", NULL, NULL},
    {"delay", MT_INT, false, "0", NULL, NULL},
    {"sleep", MT_INT, false, "1", NULL, NULL},
    {"connect_timeout", MT_INT, false, "5", NULL, NULL},
    {"search_regex", MT_STR, false, NULL, NULL, NULL},
    {"msg", MT_STR, false, NULL, NULL, NULL},
    {"active_connection_states", MT_LIST, false, NULL, NULL, NULL},
    {"exclude_hosts", MT_LIST, false, NULL, NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* wait_for_connection: the host answers a command (the session is kept, so this is one
 * round trip once it is up). */
static int
system_wait_for_connection(struct module_ctx *m, struct dr_error *err)
{
	long long delay = module_int(m, "delay");
	struct conn_result r = {0};
	int64_t start = time_mono_us();

	for (long long i = 0; i < delay * 10; i++)
		usleep(100000);
	if (module_exec(m, "echo ping", NULL, 0, &r, err) < 0)
		return -1;
	conn_result_free(&r);
	json_object_set_new(
	    m->result, "elapsed", json_integer((time_mono_us() - start) / 1000000));
	return 0;
}

static const struct module_arg system_wait_for_connection_args[] = {
    {"delay", MT_INT, false, "0", NULL, NULL},
    {"sleep", MT_INT, false, "1", NULL, NULL},
    {"timeout", MT_INT, false, "600", NULL, NULL},
    {"connect_timeout", MT_INT, false, "5", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* The key part of an authorized_keys line ("type base64"), for comparing lines. */
static char *
system_key_id(const char *line)
{
	static const char *const types[] = {"ssh-", "ecdsa-", "sk-"};
	_cleanup_free_ char *c = xstrdup(line);
	char *save = NULL, *prev = NULL;

	for (char *t = strtok_r(c, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		for (size_t i = 0; i < nitems(types); i++)
			if (str_has_prefix(t, types[i])) {
				char *b64 = strtok_r(NULL, " \t", &save);
				return xasprintf("%s %s", t, b64 ? b64 : "");
			}
		prev = t;
	}
	(void)prev;
	return xstrdup(str_trim(c));
}

/* authorized_key: keys in a user's ~/.ssh/authorized_keys, present or absent (exclusive). */
static int
system_authorized_key(struct module_ctx *m, struct dr_error *err)
{
	const char *user = module_str(m, "user"), *key = module_str(m, "key");
	const char *state = module_str(m, "state"), *path = module_str(m, "path");
	bool present = strcmp(state, "present") == 0, exclusive = module_bool(m, "exclusive");
	_cleanup_free_ char *qu = conn_quote(user), *cmd = xasprintf("getent passwd %s", qu);
	_cleanup_free_ char *line = NULL, *home = NULL, *file = NULL, *dir = NULL, *gid = NULL;
	struct buf cur = BUF_INIT(1u << 20), out = BUF_INIT(0);
	bool changed = false;
	int rc = -1;

	if (system_run(m, cmd, &line, NULL) != 0 || !*line)
		return dr_error_set(err, "Failed to lookup user %s", user);
	home = system_field(line, 5);
	gid = system_field(line, 3);
	file = path ? xstrdup(path) : xasprintf("%s/.ssh/authorized_keys", home);
	dir = xstrdup(file);
	*strrchr(dir, '/') = '\0';
	_cleanup_free_ char *qf = conn_quote(file), *test = xasprintf("test -f %s", qf);
	bool exists = system_run(m, test, NULL, NULL) == 0;
	if (exists && conn_get(m->conn, file, 1u << 20, &cur, err) < 0)
		goto out;
	/* wanted keys: one per line of key */
	json_t *want = json_array();
	{
		_cleanup_free_ char *k = xstrdup(key);
		char *save = NULL;
		for (char *l = strtok_r(k, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (*str_trim(l) && l[0] != '#')
				json_array_append_new(want, json_string(l));
	}
	/* keep existing lines unless replaced, removed or (exclusive) not wanted */
	const char *p = cur.data ? cur.data : "";
	json_t *seen = json_object();
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		_cleanup_free_ char *l = xstrndup(p, n), *id = system_key_id(l);
		bool wanted = false;
		size_t i;
		json_t *w;
		json_array_foreach(want, i, w)
		{
			_cleanup_free_ char *wid = system_key_id(json_string_value(w));
			if (strcmp(wid, id) == 0)
				wanted = true;
		}
		bool keep = *str_trim(l) == '\0' || l[0] == '#' ? !exclusive || !present
		    : present                                   ? (wanted || !exclusive)
		                                                : !wanted;
		if (keep && wanted && present && !json_object_get(seen, id)) {
			/* the wanted line replaces an existing one with the same key */
			json_array_foreach(want, i, w)
			{
				_cleanup_free_ char *wid = system_key_id(json_string_value(w));
				if (strcmp(wid, id) == 0) {
					buf_addf(&out, "%s\n", json_string_value(w));
					break;
				}
			}
			json_object_set_new(seen, id, json_true());
		} else if (keep && !(wanted && present)) {
			buf_add(&out, p, n);
			buf_addc(&out, '\n');
		}
		p += n + (nl ? 1 : 0);
	}
	if (present) {
		size_t i;
		json_t *w;
		json_array_foreach(want, i, w)
		{
			_cleanup_free_ char *wid = system_key_id(json_string_value(w));
			if (!json_object_get(seen, wid)) {
				buf_addf(&out, "%s\n", json_string_value(w));
				json_object_set_new(seen, wid, json_true());
			}
		}
	}
	json_decref(seen);
	json_decref(want);
	_cleanup_free_ char *before = xstrndup(cur.data ? cur.data : "", cur.len);
	const char *after = out.data ? out.data : "";
	if (strcmp(before, after) != 0 && (exists || *after)) {
		changed = true;
		if (m->diff)
			module_diff_set(m, file, before, after);
		if (!m->check) {
			_cleanup_free_ char *qd = conn_quote(dir);
			_cleanup_free_ char *mk = xasprintf(
			    "mkdir -p %s && chmod 700 %s && chown %s:%s %s", qd, qd, qu, gid, qd);
			if (module_bool(m, "manage_dir") && !path && system_must(m, mk, err) < 0)
				goto out;
			if (conn_put(m->conn, file, after, strlen(after), 0600, err) < 0)
				goto out;
			_cleanup_free_ char *own = xasprintf("chown %s:%s %s", qu, gid, qf);
			if (system_must(m, own, err) < 0)
				goto out;
		}
	}
	json_object_set_new(m->result, "user", json_string(user));
	json_object_set_new(m->result, "key", json_string(key));
	json_object_set_new(m->result, "keyfile", json_string(file));
	json_object_set_new(m->result, "changed", json_boolean(changed));
	rc = 0;
out:
	buf_free(&cur);
	buf_free(&out);
	return rc;
}

static const struct module_arg system_authorized_key_args[] = {
    {"user", MT_STR, true, NULL, NULL, NULL},
    {"key", MT_STR, true, NULL, NULL, NULL},
    {"state", MT_STR, false, "present", "absent|present", NULL},
    {"path", MT_PATH, false, NULL, NULL, NULL},
    {"exclusive", MT_BOOL, false, "no", NULL, NULL},
    {"manage_dir", MT_BOOL, false, "yes", NULL, NULL},
    {"key_options", MT_STR, false, NULL, NULL, NULL},
    {"comment", MT_STR, false, NULL, NULL, NULL},
    {"follow", MT_BOOL, false, "no", NULL, NULL},
    {"validate_certs", MT_BOOL, false, "yes", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

const struct module modules_system[] = {
    {"authorized_key", system_authorized_key_args, system_authorized_key, 0},
    {"group", system_group_args, system_group, 0},
    {"user", system_user_args, system_user, 0},
    {"sysctl", system_sysctl_args, system_sysctl, 0},
    {"hostname", system_hostname_args, system_hostname, 0},
    {"wait_for", system_wait_for_args, system_wait_for, 0},
    {"wait_for_connection", system_wait_for_connection_args, system_wait_for_connection, 0},
};
const size_t modules_system_n = nitems(modules_system);
