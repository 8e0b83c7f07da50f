/*
 * modules/hostconf.c - kernel modules (modprobe), file systems (mount and fstab), the time
 * zone and cron jobs: state read in one command, files rewritten as the ansible modules
 * write them, commands run only for what differs.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbooks/playbooks.h"

#define HC_FILE_MAX (4u << 20) /* fstab, a crontab */

/* Run cmd; fills *r (caller frees); -1 only when it could not run at all. */
static int
hc_exec(struct module_ctx *m, const char *cmd, const char *in, size_t in_len,
    struct conn_result *r, struct dr_error *err)
{
	memset(r, 0, sizeof *r);
	return module_exec(m, cmd, in, in_len, r, err);
}

/* Run cmd; its exit status, or -1 (err set) when it could not run. */
static int
hc_status(struct module_ctx *m, const char *cmd, struct dr_error *err)
{
	struct conn_result r;

	if (hc_exec(m, cmd, NULL, 0, &r, err) < 0)
		return -1;
	int st = r.status;
	conn_result_free(&r);
	return st;
}

/* Run cmd that must succeed; the error says what (what) failed with its stderr. */
static int
hc_must(struct module_ctx *m, const char *cmd, const char *what, struct dr_error *err)
{
	struct conn_result r;

	if (hc_exec(m, cmd, NULL, 0, &r, err) < 0)
		return -1;
	if (r.status != 0) {
		dr_error_set(err, "%s: %s", what, *r.err ? str_trim(r.err) : str_trim(r.out));
		conn_result_free(&r);
		return -1;
	}
	conn_result_free(&r);
	return 0;
}

/* A file's text ("" and *ret_exists false when it does not exist). */
static int
hc_read(struct module_ctx *m, const char *path, char **ret, bool *ret_exists, struct dr_error *err)
{
	_cleanup_free_ char *q = conn_quote(path), *t = xasprintf("test -f %s", q);
	struct buf b = BUF_INIT(HC_FILE_MAX);
	int st = hc_status(m, t, err);

	if (st < 0)
		return -1;
	*ret_exists = st == 0;
	if (st == 0 && conn_get(m->conn, path, HC_FILE_MAX, &b, err) < 0) {
		buf_free(&b);
		return -1;
	}
	*ret = xstrndup(b.data ? b.data : "", b.len);
	buf_free(&b);
	return 0;
}

/* --- modprobe -------------------------------------------------------------------------- */

/*
 * Whether a kernel module is there: loaded (/proc/modules), or built into the kernel
 * (modules.builtin, as community.general.modprobe looks; /sys/module/NAME too, which is
 * also right on kernels without /proc/modules). Prints "loaded", "builtin" or "absent", and
 * "nomods" when the kernel has no modules directory.
 */
static const char hc_mod_state[] =
    "n=$1; u=$(printf %s \"$n\" | tr - _); r=$(uname -r); "
    "[ -d /lib/modules/$r ] || echo nomods; "
    "if [ -r /proc/modules ] && grep -q \"^$u \" /proc/modules; then echo loaded; "
    "elif [ -r /lib/modules/$r/modules.builtin ] && grep -q \"/$n\\.ko\\$\" "
    "/lib/modules/$r/modules.builtin; then echo builtin; "
    "elif [ ! -r /proc/modules ] && [ -d /sys/module/$u ]; then echo builtin; "
    "else echo absent; fi";

/* modprobe: load or unload a kernel module; persistent files in modules-load.d. */
static int
hc_modprobe(struct module_ctx *m, struct dr_error *err)
{
	const char *name = module_str(m, "name"), *state = module_str(m, "state");
	const char *params = module_str(m, "params"), *persist = module_str(m, "persistent");
	_cleanup_free_ char *qn = conn_quote(name), *cmd = NULL, *qp = NULL;
	struct conn_result r;
	bool changed = false;

	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			return dr_error_set(err, "name: '%s' is not a kernel module name", name);
	qp = conn_quote(params);
	_cleanup_free_ char *q1 = conn_quote(hc_mod_state);
	cmd = xasprintf("sh -c %s sh %s", q1, qn);
	if (hc_exec(m, cmd, NULL, 0, &r, err) < 0)
		return -1;
	bool loaded = strstr(r.out, "loaded") != NULL, builtin = strstr(r.out, "builtin") != NULL;
	bool nomods = strstr(r.out, "nomods") != NULL;
	conn_result_free(&r);
	json_object_set_new(m->result, "name", json_string(name));
	json_object_set_new(m->result, "params", json_string(params));
	json_object_set_new(m->result, "state", json_string(state));
	if (strcmp(state, "present") == 0 && !loaded && !builtin) {
		_cleanup_free_ char *c = xasprintf(
		    "modprobe %s%s %s", m->check ? "-n " : "", qn, *params ? params : "");
		if (hc_exec(m, c, NULL, 0, &r, err) < 0)
			return -1;
		if (r.status != 0) {
			if (nomods)
				dr_error_set(err,
				    "modprobe %s failed: this kernel has no modules directory "
				    "(/lib/modules/`uname -r`) and %s is not built into it: %s",
				    name, name, str_trim(r.err));
			else
				dr_error_set(err, "%s", str_trim(r.err));
			json_object_set_new(m->result, "rc", json_integer(r.status));
			conn_result_free(&r);
			return -1;
		}
		conn_result_free(&r);
		changed = true;
	} else if (strcmp(state, "absent") == 0 && (loaded || builtin)) {
		if (builtin)
			return dr_error_set(
			    err, "%s is built into the kernel and cannot be unloaded", name);
		_cleanup_free_ char *c = xasprintf("modprobe -r %s%s", m->check ? "-n " : "", qn);
		if (hc_must(m, c, "modprobe -r", err) < 0)
			return -1;
		changed = true;
	}
	if (strcmp(persist, "disabled") != 0) {
		/* the persistent files: modules-load.d/NAME.conf, modprobe.d/NAME.conf */
		_cleanup_free_ char *look = xasprintf(
		    "grep -lE '^ *'%s' *([#;].*)?$' /etc/modules-load.d/* 2>/dev/null; echo @@; "
		    "grep -hE '^options '%s' [A-Za-z0-9_]+=[^ ]+ *([#;].*)?$' /etc/modprobe.d/* "
		    "2>/dev/null | awk '{print $3}' | sort -u",
		    qn, qn);
		if (hc_exec(m, look, NULL, 0, &r, err) < 0)
			return -1;
		char *at = strstr(r.out, "@@\n");
		bool listed = at && at != r.out;
		_cleanup_free_ char *have = xstrdup(at ? at + 3 : "");
		conn_result_free(&r);
		/* the wanted options, sorted as the file lines would be */
		struct buf opts = BUF_INIT(0);
		_cleanup_free_ char *pc = xstrdup(params);
		json_t *ws = json_array();
		char *save = NULL;
		for (char *w = strtok_r(pc, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
			json_array_append_new(ws, json_string(w));
		size_t i;
		json_t *w;
		json_array_foreach(ws, i, w)
		    buf_addf(&opts, "options %s %s\n", name, json_string_value(w));
		/* compare as sets: every wanted one there and nothing else */
		bool same = true;
		_cleanup_free_ char *hc = xstrdup(have);
		save = NULL;
		for (char *l = strtok_r(hc, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			bool found = false;
			json_array_foreach(ws, i, w) if (strcmp(json_string_value(w), l) == 0)
			    found = true;
			if (!found)
				same = false;
		}
		json_array_foreach(ws, i, w)
		{
			if (!strstr(have, json_string_value(w)))
				same = false;
		}
		int rc = 0;
		_cleanup_free_ char *comment_opts = xasprintf(
		    "for f in /etc/modprobe.d/*; do [ -f \"$f\" ] && grep -qE '^options '%s' "
		    "[A-Za-z0-9_]+=[^ ]+ *([#;].*)?$' \"$f\" && sed -i -E 's/^(options '%s' "
		    "[A-Za-z0-9_]+=[^ ]+ *([#;].*)?)$/#\\1/' \"$f\"; done; true",
		    qn, qn);
		if (strcmp(persist, "present") == 0 && (!listed || !same)) {
			changed = true;
			if (!m->check) {
				_cleanup_free_ char *f =
				    xasprintf("/etc/modules-load.d/%s.conf", name);
				_cleanup_free_ char *line = xasprintf("%s\n", name);
				if (!listed &&
				    conn_put(m->conn, f, line, strlen(line), 0644, err) < 0)
					rc = -1;
				if (rc == 0 && !same) {
					_cleanup_free_ char *o =
					    xasprintf("/etc/modprobe.d/%s.conf", name);
					if (hc_must(m, comment_opts, "modprobe.d", err) < 0 ||
					    conn_put(m->conn, o, opts.data ? opts.data : "",
					        opts.len, 0644, err) < 0)
						rc = -1;
				}
			}
		} else if (strcmp(persist, "absent") == 0 && (listed || *have)) {
			changed = true;
			_cleanup_free_ char *off =
			    xasprintf("for f in /etc/modules-load.d/*; do [ -f \"$f\" ] && grep "
			              "-qE '^ *'%s' "
			              "*([#;].*)?$' \"$f\" && sed -i -E 's/^( *'%s' "
			              "*([#;].*)?)$/#\\1/' \"$f\"; "
			              "done; true",
			        qn, qn);
			if (!m->check &&
			    (hc_must(m, off, "modules-load.d", err) < 0 ||
			        hc_must(m, comment_opts, "modprobe.d", err) < 0))
				rc = -1;
		}
		buf_free(&opts);
		json_decref(ws);
		if (rc < 0)
			return -1;
	}
	json_object_set_new(m->result, "changed", json_boolean(changed));
	return 0;
}

static const struct module_arg hc_modprobe_args[] = {
    {"name", MT_STR, true, NULL, NULL, NULL},
    {"state", MT_STR, false, "present", "absent|present", NULL},
    {"params", MT_STR, false, "", NULL, NULL},
    {"persistent", MT_STR, false, "disabled", "disabled|present|absent", NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* --- mount ----------------------------------------------------------------------------- */

/* An fstab field escaped as ansible.posix.mount does (space, & and backslash octal). */
char *
hostconf_fstab_escape(const char *s)
{
	struct buf b = BUF_INIT(0);

	for (const char *p = s; *p; p++) {
		if (*p == '\\')
			buf_adds(&b, "\\134");
		else if (*p == ' ')
			buf_adds(&b, "\\040");
		else if (*p == '&')
			buf_adds(&b, "\\046");
		else
			buf_addc(&b, *p);
	}
	return b.data ? buf_steal(&b) : xstrdup("");
}

/*
 * fstab with the entry for path set (fields src fstype opts dump passno) or removed
 * (set NULL); *ret_changed says whether it differs. Lines are kept as written unless they
 * are the entry, as ansible.posix.mount rewrites them.
 */
char *
hostconf_fstab_edit(
    const char *text, const char *const set[6], const char *path, bool *ret_changed)
{
	struct buf out = BUF_INIT(0);
	_cleanup_free_ char *ep = hostconf_fstab_escape(path);
	bool exists = false;

	*ret_changed = false;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		_cleanup_free_ char *line = xstrndup(p, n), *copy = xstrdup(line);
		p += n + (nl ? 1 : 0);
		char *f[7] = {0}, *save = NULL;
		int k = 0;
		for (char *w = strtok_r(copy, " \t", &save); w && k < 7;
		     w = strtok_r(NULL, " \t", &save))
			f[k++] = w;
		bool entry = k >= 4 && k <= 6 && f[0][0] != '#' && strcmp(f[1], ep) == 0;
		if (entry && !set && k != 6)
			entry = false; /* removal only matches full six-field lines */
		if (!entry) {
			buf_addf(&out, "%s\n", line);
			continue;
		}
		exists = true;
		if (!set) {
			*ret_changed = true;
			continue;
		}
		const char *cur[6] = {
		    f[0], f[1], f[2], f[3], k > 4 ? f[4] : "0", k > 5 ? f[5] : "0"};
		bool differ = false;
		for (int i = 0; i < 6; i++)
			if (i != 1 && strcmp(cur[i], set[i]) != 0)
				differ = true;
		if (differ) {
			*ret_changed = true;
			buf_addf(&out, "%s %s %s %s %s %s\n", set[0], set[1], set[2], set[3],
			    set[4], set[5]);
		} else
			buf_addf(&out, "%s\n", line);
	}
	if (set && !exists) {
		*ret_changed = true;
		buf_addf(
		    &out, "%s %s %s %s %s %s\n", set[0], set[1], set[2], set[3], set[4], set[5]);
	}
	return out.data ? buf_steal(&out) : xstrdup("");
}

/* mount: fstab entries and mounts, mounted/unmounted/present/absent/remounted. */
static int
hc_mount(struct module_ctx *m, struct dr_error *err)
{
	const char *path = module_str(m, "path"), *state = module_str(m, "state");
	const char *src = module_str(m, "src"), *fstype = module_str(m, "fstype");
	const char *fstab = module_str(m, "fstab");
	_cleanup_free_ char *qp = conn_quote(path), *qf = conn_quote(fstab);
	_cleanup_free_ char *text = NULL, *after = NULL;
	bool changed = false, exists, edits = false;
	bool mounted_state = strcmp(state, "mounted") == 0;

	if ((mounted_state || strcmp(state, "present") == 0) && (!src || !fstype))
		return dr_error_set(err, "state is %s but all of the following are missing: %s",
		    state,
		    !src && !fstype ? "src, fstype"
		        : !src      ? "src"
		                    : "fstype");
	if (hc_read(m, fstab, &text, &exists, err) < 0)
		return -1;
	_cleanup_free_ char *tflag =
	    strcmp(fstab, "/etc/fstab") != 0 ? xasprintf("-T %s ", qf) : xstrdup("");
	_cleanup_free_ char *ismnt = xasprintf("mountpoint -q %s", qp);
	int mst = hc_status(m, ismnt, err);
	if (mst < 0)
		return -1;
	bool is_mounted = mst == 0;
	json_object_set_new(m->result, "name", json_string(path));
	if (mounted_state || strcmp(state, "present") == 0) {
		_cleanup_free_ char *es = hostconf_fstab_escape(src),
		                    *ep = hostconf_fstab_escape(path);
		_cleanup_free_ char *et = hostconf_fstab_escape(fstype);
		_cleanup_free_ char *eo = hostconf_fstab_escape(module_str(m, "opts"));
		_cleanup_free_ char *dump = xstrdup(module_str(m, "dump"));
		_cleanup_free_ char *passno = xstrdup(module_str(m, "passno"));
		const char *set[6] = {es, ep, et, eo, dump, passno};
		after = hostconf_fstab_edit(text, set, path, &edits);
		json_object_set_new(m->result, "src", json_string(src));
		json_object_set_new(m->result, "fstype", json_string(fstype));
		json_object_set_new(m->result, "opts", json_string(module_str(m, "opts")));
		json_object_set_new(m->result, "dump", json_string(dump));
		json_object_set_new(m->result, "passno", json_string(passno));
	} else if (strcmp(state, "absent") == 0 || strcmp(state, "absent_from_fstab") == 0) {
		after = hostconf_fstab_edit(text, NULL, path, &edits);
	}
	json_object_set_new(m->result, "fstab", json_string(fstab));
	if (edits) {
		changed = true;
		if (m->diff)
			module_diff_set(m, fstab, text, after);
		if (!m->check && conn_put(m->conn, fstab, after, strlen(after), 0644, err) < 0)
			return -1;
	}
	if (strcmp(state, "absent") == 0 && edits && !m->check) {
		_cleanup_free_ char *c = xasprintf(
		    "if mountpoint -q %s; then umount %s || exit 1; fi; [ ! -e %s ] || rmdir %s",
		    qp, qp, qp, qp);
		_cleanup_free_ char *what = xasprintf("Error unmounting %s", path);
		if (hc_must(m, c, what, err) < 0)
			return -1;
	} else if (strcmp(state, "unmounted") == 0 && is_mounted) {
		changed = true;
		_cleanup_free_ char *c = xasprintf("umount %s", qp);
		_cleanup_free_ char *what = xasprintf("Error unmounting %s", path);
		if (!m->check && hc_must(m, c, what, err) < 0)
			return -1;
	} else if (mounted_state) {
		_cleanup_free_ char *what = xasprintf("Error mounting %s", path);
		if (!m->check) {
			_cleanup_free_ char *mk = xasprintf("mkdir -p %s", qp);
			if (hc_must(m, mk, what, err) < 0)
				return -1;
		}
		if (is_mounted) {
			if (edits && !m->check) {
				/* a changed entry is applied with a remount, else umount and mount
				 */
				_cleanup_free_ char *c =
				    xasprintf("mount %s-o remount %s 2>/dev/null || { umount %s "
				              "&& mount %s%s; }",
				        tflag, qp, qp, tflag, qp);
				if (hc_must(m, c, what, err) < 0)
					return -1;
			}
		} else {
			changed = true;
			_cleanup_free_ char *c = xasprintf("mount %s%s", tflag, qp);
			if (!m->check && hc_must(m, c, what, err) < 0) {
				struct dr_error e2 = {0};
				if (edits)
					conn_put(m->conn, fstab, text, strlen(text), 0644, &e2);
				return -1;
			}
		}
	} else if (strcmp(state, "remounted") == 0) {
		changed = true;
		_cleanup_free_ char *c = xasprintf("mount %s-o remount %s", tflag, qp);
		_cleanup_free_ char *what = xasprintf("Error remounting %s", path);
		if (!m->check && hc_must(m, c, what, err) < 0)
			return -1;
	}
	json_object_set_new(m->result, "changed", json_boolean(changed));
	return 0;
}

static const struct module_arg hc_mount_args[] = {
    {"path", MT_PATH, true, NULL, NULL, "name"},
    {"state", MT_STR, true, NULL, "absent|absent_from_fstab|mounted|present|unmounted|remounted",
        NULL},
    {"src", MT_PATH, false, NULL, NULL, NULL},
    {"fstype", MT_STR, false, NULL, NULL, NULL},
    {"opts", MT_STR, false, "defaults", NULL, NULL},
    {"dump", MT_STR, false, "0", NULL, NULL},
    {"passno", MT_STR, false, "0", NULL, NULL},
    {"fstab", MT_STR, false, "/etc/fstab", NULL, NULL},
    {"boot", MT_BOOL, false, "yes", NULL, NULL},
    {"backup", MT_BOOL, false, "no", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* --- timezone -------------------------------------------------------------------------- */

/*
 * timezone: with a running systemd, timedatectl; otherwise the files themselves:
 * /etc/localtime a link into /usr/share/zoneinfo and /etc/timezone (Debian's) naming it.
 * hwclock (UTC/local) through /etc/adjtime.
 */
static int
hc_timezone(struct module_ctx *m, struct dr_error *err)
{
	const char *name = module_str(m, "name"), *hw = module_str(m, "hwclock");
	struct conn_result r;
	bool changed = false;

	if (!name && !hw)
		return dr_error_set(err, "one of the following is required: name, hwclock");
	if (name && (strstr(name, "..") || name[0] == '/'))
		return dr_error_set(err, "name: '%s' is not a time zone name", name);
	if (hc_exec(m,
	        "if [ -d /run/systemd/system ] && command -v timedatectl >/dev/null; then echo "
	        "systemd; timedatectl show -p Timezone --value; else echo files; l=$(readlink "
	        "/etc/localtime 2>/dev/null); echo \"${l#*/zoneinfo/}\"; fi; "
	        "cat /etc/timezone 2>/dev/null | head -n 1; echo @@; "
	        "sed -n 3p /etc/adjtime 2>/dev/null",
	        NULL, 0, &r, err) < 0)
		return -1;
	char mode[16] = "", cur[256] = "", etc_tz[256] = "", adj[32] = "";
	const char *p = r.out;
	sscanf(p, "%15s\n%255[^\n]", mode, cur);
	const char *at = strstr(p, "@@\n");
	{
		/* /etc/timezone is the line after the current zone, before @@ */
		const char *l2 = strchr(p, '\n');
		l2 = l2 ? strchr(l2 + 1, '\n') : NULL;
		if (l2 && at && l2 + 1 < at)
			sscanf(l2 + 1, "%255[^\n]", etc_tz);
		if (at)
			sscanf(at + 3, "%31s", adj);
	}
	conn_result_free(&r);
	bool systemd = strcmp(mode, "systemd") == 0;
	json_t *before = json_object(), *after = json_object();
	if (name) {
		json_object_set_new(before, "name", json_string(cur));
		json_object_set_new(after, "name", json_string(name));
		_cleanup_free_ char *qn = conn_quote(name);
		_cleanup_free_ char *t = xasprintf("test -f /usr/share/zoneinfo/%s", qn);
		int st = hc_status(m, t, err);
		if (st < 0)
			goto fail;
		if (st != 0) {
			dr_error_set(err, "given timezone \"%s\" is not available", name);
			goto fail;
		}
		bool etc_differs = !systemd && *etc_tz && strcmp(etc_tz, name) != 0;
		if (strcmp(cur, name) != 0 || etc_differs) {
			changed = true;
			_cleanup_free_ char *c = systemd
			    ? xasprintf("timedatectl set-timezone %s", qn)
			    : xasprintf("ln -sfn /usr/share/zoneinfo/%s /etc/localtime && "
			                "{ [ ! -e /etc/timezone ] && ! [ -d /etc/dpkg ] || "
			                "printf '%%s\\n' %s > /etc/timezone; }",
			          qn, qn);
			if (!m->check && hc_must(m, c, "Failed to set the time zone", err) < 0)
				goto fail;
		}
	}
	if (hw) {
		const char *want = strcasecmp(hw, "UTC") == 0 ? "UTC" : "LOCAL";
		const char *have = strcmp(adj, "LOCAL") == 0 ? "local" : "UTC";
		json_object_set_new(before, "hwclock", json_string(have));
		json_object_set_new(after, "hwclock", json_string(hw));
		if (strcasecmp(have, want) != 0) {
			changed = true;
			_cleanup_free_ char *c = systemd
			    ? xasprintf("timedatectl set-local-rtc %s",
			          strcmp(want, "LOCAL") == 0 ? "1" : "0")
			    : xasprintf(
			          "if [ -f /etc/adjtime ]; then sed -i '3s/.*/%s/' /etc/adjtime; "
			          "else printf '0.0 0 0.0\\n0\\n%s\\n' > /etc/adjtime; fi",
			          want, want);
			if (!m->check &&
			    hc_must(m, c, "Failed to set the hardware clock", err) < 0)
				goto fail;
		}
	}
	json_object_set_new(
	    m->result, "diff", json_pack("{s:o,s:o}", "before", before, "after", after));
	json_object_set_new(m->result, "changed", json_boolean(changed));
	return 0;
fail:
	json_decref(before);
	json_decref(after);
	return -1;
}

static const struct module_arg hc_timezone_args[] = {
    {"name", MT_STR, false, NULL, NULL, NULL},
    {"hwclock", MT_STR, false, NULL, "local|UTC", "rtc"},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* --- cron ------------------------------------------------------------------------------ */

/* The crontab as lines (a new array of strings). */
static json_t *
hc_lines(const char *text)
{
	json_t *a = json_array();

	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n && p[n - 1] == '\r')
			n--;
		json_array_append_new(a, json_stringn(p, n));
		p += (nl ? (size_t)(nl - p) + 1 : n);
	}
	return a;
}

/* Lines joined with newlines and one final newline (ansible's CronTab.render). */
static char *
hc_render(const json_t *lines)
{
	struct buf b = BUF_INIT(0);
	size_t i;
	json_t *l;

	json_array_foreach(lines, i, l) buf_addf(&b, "%s%s", i ? "\n" : "", json_string_value(l));
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.data[--b.len] = '\0';
	if (b.len)
		buf_addc(&b, '\n');
	return b.data ? buf_steal(&b) : xstrdup("");
}

/* Index of the variable NAME= in lines, or -1. */
static long
hc_cron_env_find(const json_t *lines, const char *name)
{
	size_t i, n = strlen(name);
	json_t *l;

	json_array_foreach(lines, i, l)
	{
		const char *s = json_string_value(l);
		if (strncmp(s, name, n) == 0 && s[n] == '=')
			return (long)i;
	}
	return -1;
}

/* cron: a job (with its "#Ansible: NAME" line) or variable in a crontab or cron.d file. */
static int
hc_cron(struct module_ctx *m, struct dr_error *err)
{
	const char *name = module_str(m, "name"), *job = module_str(m, "job");
	const char *state = module_str(m, "state"), *user = module_str(m, "user");
	const char *cron_file = module_str(m, "cron_file"),
	           *special = module_str(m, "special_time");
	const char *after_env = module_str(m, "insertafter"),
	           *before_env = module_str(m, "insertbefore");
	const char *f[5] = {module_str(m, "minute"), module_str(m, "hour"), module_str(m, "day"),
	    module_str(m, "month"), module_str(m, "weekday")};
	bool install = strcmp(state, "present") == 0, env = module_bool(m, "env");
	bool changed = false, exists = true;
	_cleanup_free_ char *file = NULL, *existing = NULL, *qu = user ? conn_quote(user) : NULL;
	_cleanup_json_ json_t *lines = NULL;
	struct conn_result r;

	if (special)
		for (int i = 0; i < 5; i++)
			if (strcmp(f[i], "*") != 0)
				return dr_error_set(
				    err, "You must specify time and date fields or special time.");
	if (install && cron_file && !user)
		return dr_error_set(
		    err, "To use cron_file=... parameter you must specify user=... as well");
	if (install && !job)
		return dr_error_set(
		    err, "You must specify 'job' to install a new cron job or variable");
	if ((after_env || before_env) && !env)
		return dr_error_set(
		    err, "Insertafter and insertbefore parameters are valid only with env=yes");
	if (!name)
		return dr_error_set(err, "name is required");
	if (cron_file)
		file = cron_file[0] == '/' ? xstrdup(cron_file)
		                           : xasprintf("/etc/cron.d/%s", cron_file);
	if (file) {
		if (hc_read(m, file, &existing, &exists, err) < 0)
			return -1;
	} else {
		_cleanup_free_ char *c =
		    xasprintf("crontab -l%s%s", user ? " -u " : "", user ? qu : "");
		if (hc_exec(m, c, NULL, 0, &r, err) < 0)
			return -1;
		if (r.status != 0 && r.status != 1) {
			conn_result_free(&r);
			return dr_error_set(err, "Unable to read crontab");
		}
		/* crontab -l's own header lines (at most the first three) are not ours */
		struct buf b = BUF_INIT(0);
		int count = 0;
		for (const char *p = r.status == 0 ? r.out : ""; *p; count++) {
			const char *nl = strchr(p, '\n');
			size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
			bool header = count <= 2 &&
			    (str_has_prefix(
			         p, "# DO NOT EDIT THIS FILE - edit the master and reinstall.") ||
			        (str_has_prefix(p, "# (/tmp/") && strstr(p, "installed on")) ||
			        (str_has_prefix(p, "# (") && strstr(p, "version")));
			if (!header)
				buf_add(&b, p, n);
			p += n;
		}
		existing = b.data ? buf_steal(&b) : xstrdup("");
		conn_result_free(&r);
	}
	lines = hc_lines(existing);
	_cleanup_free_ char *header = xasprintf("#Ansible: %s", name);
	if (env) {
		if (strchr(name, ' '))
			return dr_error_set(err, "Invalid name for environment variable");
		_cleanup_free_ char *decl = xasprintf("%s=\"%s\"", name, job ? job : "");
		long at = hc_cron_env_find(lines, name);
		if (install && at < 0) {
			long idx = 0;
			if (after_env || before_env) {
				long o =
				    hc_cron_env_find(lines, after_env ? after_env : before_env);
				if (o < 0)
					return dr_error_set(err, "Variable named '%s' not found.",
					    after_env ? after_env : before_env);
				idx = after_env ? o + 1 : o;
			}
			json_array_insert_new(lines, (size_t)idx, json_string(decl));
			changed = true;
		} else if (install &&
		    strcmp(json_string_value(json_array_get(lines, (size_t)at)), decl) != 0) {
			json_array_set_new(lines, (size_t)at, json_string(decl));
			changed = true;
		} else if (!install && at >= 0) {
			json_array_remove(lines, (size_t)at);
			changed = true;
		}
	} else {
		_cleanup_free_ char *line = NULL;
		const char *dis = module_bool(m, "disabled") ? "#" : "";
		if (install && special)
			line = file ? xasprintf("%s@%s %s %s", dis, special, user, job)
			            : xasprintf("%s@%s %s", dis, special, job);
		else if (install)
			line = file ? xasprintf("%s%s %s %s %s %s %s %s", dis, f[0], f[1], f[2],
			                  f[3], f[4], user, job)
			            : xasprintf("%s%s %s %s %s %s %s", dis, f[0], f[1], f[2], f[3],
			                  f[4], job);
		/* find by header; failing that (installing), by the exact job line */
		long at = -1;
		for (size_t i = 0;
		     i + 1 < json_array_size(lines) + 1 && i < json_array_size(lines); i++)
			if (strcmp(json_string_value(json_array_get(lines, i)), header) == 0 &&
			    i + 1 < json_array_size(lines)) {
				at = (long)i;
				break;
			}
		if (install && at < 0)
			for (size_t i = 0; i < json_array_size(lines); i++)
				if (strcmp(json_string_value(json_array_get(lines, i)), line) ==
				    0) {
					/* adopt it: a header goes above */
					json_array_insert_new(lines, i, json_string(header));
					at = (long)i;
					changed = true;
					break;
				}
		if (install && at < 0) {
			json_array_append_new(lines, json_string(header));
			json_array_append_new(lines, json_string(line));
			changed = true;
		} else if (install) {
			if (strcmp(json_string_value(json_array_get(lines, (size_t)at + 1)),
			        line) != 0) {
				json_array_set_new(lines, (size_t)at + 1, json_string(line));
				changed = true;
			}
			/* every other job under the same header goes */
			for (size_t i = (size_t)at + 2; i + 1 < json_array_size(lines);)
				if (strcmp(json_string_value(json_array_get(lines, i)), header) ==
				    0) {
					json_array_remove(lines, i);
					json_array_remove(lines, i);
					changed = true;
				} else
					i++;
		} else if (at >= 0) {
			for (size_t i = 0; i + 1 < json_array_size(lines);)
				if (strcmp(json_string_value(json_array_get(lines, i)), header) ==
				    0) {
					json_array_remove(lines, i);
					json_array_remove(lines, i);
				} else
					i++;
			changed = true;
		}
	}
	_cleanup_free_ char *rendered = hc_render(lines);
	bool empty = true;
	for (const char *c = rendered; *c; c++)
		if (!isspace((unsigned char)*c))
			empty = false;
	if (!changed && *existing && existing[strlen(existing) - 1] != '\n')
		changed = true;
	/* a cron.d file left without jobs goes away */
	bool remove = file && !install && changed && empty;
	if (remove)
		changed = exists;
	if (changed && m->diff)
		json_object_set_new(m->result, "diff",
		    json_pack("{s:s,s:s,s:s,s:s}", "before", existing, "after",
		        remove ? "" : rendered, "before_header", file ? file : "crontab",
		        "after_header",
		        remove     ? "/dev/null"
		            : file ? file
		                   : "crontab"));
	if (changed && !m->check) {
		if (remove) {
			_cleanup_free_ char *qf = conn_quote(file), *c = xasprintf("rm -f %s", qf);
			if (hc_must(m, c, "Unable to remove the cron file", err) < 0)
				return -1;
		} else if (file) {
			if (conn_put(m->conn, file, rendered, strlen(rendered), 0644, err) < 0)
				return -1;
		} else {
			_cleanup_free_ char *c =
			    xasprintf("crontab%s%s -", user ? " -u " : "", user ? qu : "");
			if (hc_exec(m, c, rendered, strlen(rendered), &r, err) < 0)
				return -1;
			if (r.status != 0) {
				dr_error_set(err, "%s", str_trim(r.err));
				conn_result_free(&r);
				return -1;
			}
			conn_result_free(&r);
		}
	}
	json_t *jobs = json_array(), *envs = json_array();
	for (size_t i = 0; i < json_array_size(lines); i++) {
		const char *s = json_string_value(json_array_get(lines, i));
		if (str_has_prefix(s, "#Ansible: "))
			json_array_append_new(jobs, json_string(s + strlen("#Ansible: ")));
		else if (isalpha((unsigned char)*s) && strchr(s, '=') &&
		    strcspn(s, "=") < strcspn(s, " \t"))
			json_array_append_new(envs, json_stringn(s, strcspn(s, "=")));
	}
	json_object_set_new(m->result, "jobs", jobs);
	json_object_set_new(m->result, "envs", envs);
	if (cron_file)
		json_object_set_new(m->result, "cron_file", json_string(cron_file));
	json_object_set_new(m->result, "changed", json_boolean(changed));
	return 0;
}

static const struct module_arg hc_cron_args[] = {
    {"name", MT_STR, false, NULL, NULL, NULL},
    {"user", MT_STR, false, NULL, NULL, NULL},
    {"job", MT_STR, false, NULL, NULL, "value"},
    {"cron_file", MT_PATH, false, NULL, NULL, NULL},
    {"state", MT_STR, false, "present", "absent|present", NULL},
    {"backup", MT_BOOL, false, "no", NULL, NULL},
    {"minute", MT_STR, false, "*", NULL, NULL},
    {"hour", MT_STR, false, "*", NULL, NULL},
    {"day", MT_STR, false, "*", NULL, "dom"},
    {"month", MT_STR, false, "*", NULL, NULL},
    {"weekday", MT_STR, false, "*", NULL, "dow"},
    {"special_time", MT_STR, false, NULL, "annually|daily|hourly|monthly|reboot|weekly|yearly",
        NULL},
    {"disabled", MT_BOOL, false, "no", NULL, NULL},
    {"env", MT_BOOL, false, "no", NULL, NULL},
    {"insertafter", MT_STR, false, NULL, NULL, NULL},
    {"insertbefore", MT_STR, false, NULL, NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

const struct module modules_hostconf[] = {
    {"modprobe", hc_modprobe_args, hc_modprobe, 0},
    {"mount", hc_mount_args, hc_mount, 0},
    {"timezone", hc_timezone_args, hc_timezone, 0},
    {"cron", hc_cron_args, hc_cron, 0},
};
const size_t modules_hostconf_n = nitems(modules_hostconf);
