/*
 * modules/packages.c - apt, dnf (yum), package: read what is installed and what the
 * repositories offer in one command, decide per package as ansible-core does, and run the
 * package manager only when something differs (with its simulation in check mode).
 */
#include "config.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbooks/playbooks.h"

/* apt-get's summary line when a run did nothing (Ansible's APT_GET_ZERO). */
#define PKG_APT_ZERO "\n0 upgraded, 0 newly installed"
/* apt-get autoremove's summary when nothing went (Ansible's CLEAN_OP_CHANGED_STR). */
#define PKG_APT_CLEAN_ZERO "0 upgraded, 0 newly installed, 0 to remove"
/* How Ansible runs apt-get: no questions, keep changed configuration files. */
#define PKG_APT_ENV                                                                               \
	"DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true LANG=C LC_ALL=C "

/* When pkg_apt_query asks apt-cache for a package's candidate version. */
enum pkg_cand {
	PKG_CAND_NEVER,
	PKG_CAND_ABSENT,
	PKG_CAND_ALWAYS,
};

/* Run cmd; fills *r (caller frees); -1 only when it could not run at all. */
static int
pkg_exec(struct module_ctx *m, const char *cmd, struct conn_result *r, struct dr_error *err)
{
	memset(r, 0, sizeof *r);
	return module_exec(m, cmd, NULL, 0, r, err);
}

/* Run the command in cmd (freed) and hand back its stdout; -1 when it could not run. */
static int
pkg_exec_out(struct module_ctx *m, struct buf *cmd, char **ret_out, struct dr_error *err)
{
	struct conn_result r;
	int rc = pkg_exec(m, cmd->data, &r, err);

	buf_free(cmd);
	if (rc < 0)
		return -1;
	*ret_out = xstrdup(r.out != NULL ? r.out : "");
	conn_result_free(&r);
	return 0;
}

/* Copy a command's stdout, stderr and rc into the result (as Ansible's modules report). */
static void
pkg_result_output(struct module_ctx *m, const struct conn_result *r)
{
	json_object_set_new(m->result, "stdout", module_text(r->out, r->out_len));
	json_object_set_new(m->result, "stderr", module_text(r->err, r->err_len));
	json_object_set_new(m->result, "rc", json_integer(r->status));
}

/* Append each string of list to b as one quoted shell word. */
static void
pkg_words_add(struct buf *b, const json_t *list)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
	{
		_cleanup_free_ char *q = conn_quote(json_string_value(v));
		buf_addf(b, " %s", q);
	}
}

/* The names argument flattened: strings only, empty ones dropped, commas split. */
static json_t *
pkg_names(const struct module_ctx *m, const char *arg, struct dr_error *err)
{
	json_t *in = json_object_get(m->args, arg), *out = json_array(), *v;
	size_t i;

	json_array_foreach(in, i, v)
	{
		if (!json_is_string(v)) {
			json_decref(out);
			dr_error_set(err, "%s: every element must be a string", arg);
			return NULL;
		}
		_cleanup_free_ char *s = xstrdup(json_string_value(v));
		char *save = NULL;
		for (char *w = strtok_r(s, ",", &save); w; w = strtok_r(NULL, ",", &save))
			if (*str_trim(w))
				json_array_append_new(out, json_string(w));
	}
	return out;
}

/* --- apt ------------------------------------------------------------------------------- */

/*
 * Ansible's parse_diff: the part of apt-get's output between "Reading state information..."
 * and the "N upgraded" summary, shown by --diff.
 */
static void
pkg_apt_diff(struct module_ctx *m, const char *out)
{
	const char *start = strstr(out, "Reading state information...\n");
	struct buf b = BUF_INIT(0);

	start = start ? start + strlen("Reading state information...\n") : out;
	for (const char *p = start; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (b.len)
			buf_addc(&b, '\n');
		buf_add(&b, p, n);
		/* the summary line ends the diff */
		const char *d = p;
		while (d < p + n && *d >= '0' && *d <= '9')
			d++;
		if (d > p &&
		    (strncmp(d, " upgraded", 9) == 0 || strncmp(d, " packages upgraded", 18) == 0))
			break;
		p += n + (nl ? 1 : 0);
	}
	json_object_set_new(
	    m->result, "diff", json_pack("{s:s}", "prepared", b.data ? b.data : ""));
	buf_free(&b);
}

/*
 * update_cache / cache_valid_time: apt-get update when the cache is older than
 * cache_valid_time (always when 0). The cache's age is the mtime of
 * /var/lib/apt/periodic/update-success-stamp, else of /var/lib/apt/lists, as Ansible
 * takes it; *ret_updated says whether that time moved (in check mode: whether it would).
 */
static int
pkg_apt_cache(struct module_ctx *m, bool *ret_updated, struct dr_error *err)
{
	static const char stamp[] =
	    "f=/var/lib/apt/periodic/update-success-stamp; [ -e $f ] || f=/var/lib/apt/lists; "
	    "stat -c '%Y %y' $f; date +%s";
	long long valid = module_int(m, "cache_valid_time"), mtime = 0, now = 0;
	struct conn_result r;
	char before[128] = "";
	bool due;

	*ret_updated = false;
	if (pkg_exec(m, stamp, &r, err) < 0)
		return -1;
	if (r.status == 0 && sscanf(r.out, "%lld %127[^\n]\n%lld", &mtime, before, &now) != 3)
		mtime = 0;
	conn_result_free(&r);
	due = valid <= 0 || mtime + valid < now;
	if (due && m->check) {
		*ret_updated = true;
	} else if (due) {
		/* the update and the stamp after it: one round trip */
		static const char mark[] = "\n@@drover-apt-stamp@@\n";
		_cleanup_free_ char *cmd = xasprintf(
		    PKG_APT_ENV "apt-get update -q && { printf '%%s' '%s'; %s; }", mark, stamp);
		if (pkg_exec(m, cmd, &r, err) < 0)
			return -1;
		if (r.status != 0) {
			dr_error_set(err, "Failed to update apt cache: %s",
			    *r.err ? str_trim(r.err) : str_trim(r.out));
			conn_result_free(&r);
			return -1;
		}
		char after[128] = "";
		const char *at = strstr(r.out, mark);
		if (at && sscanf(at + strlen(mark), "%lld %127[^\n]", &mtime, after) == 2)
			*ret_updated = strcmp(before, after) != 0;
		conn_result_free(&r);
	}
	json_object_set_new(m->result, "cache_updated", json_boolean(*ret_updated));
	json_object_set_new(m->result, "cache_update_time", json_integer(mtime));
	return 0;
}

/* The apt-get command line every apt action shares (options from the arguments). */
static void
pkg_apt_cmd(struct module_ctx *m, struct buf *b, const char *verb)
{
	const json_t *rec = json_object_get(m->args, "install_recommends");
	const char *dpkg = module_str(m, "dpkg_options");
	const char *release = module_str(m, "default_release");

	buf_adds(b, PKG_APT_ENV "apt-get -y -q");
	if (dpkg) {
		_cleanup_free_ char *o = xstrdup(dpkg);
		char *save = NULL;
		for (char *w = strtok_r(o, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
			_cleanup_free_ char *q = xasprintf("Dpkg::Options::=--%s", str_trim(w));
			_cleanup_free_ char *qq = conn_quote(q);
			buf_addf(b, " -o %s", qq);
		}
	}
	if (json_is_true(rec))
		buf_adds(b, " -o APT::Install-Recommends=yes");
	else if (json_is_false(rec))
		buf_adds(b, " --no-install-recommends");
	if (release) {
		_cleanup_free_ char *q = conn_quote(release);
		buf_addf(b, " -t %s", q);
	}
	if (module_bool(m, "allow_unauthenticated"))
		buf_adds(b, " --allow-unauthenticated");
	if (module_bool(m, "allow_downgrade"))
		buf_adds(b, " --allow-downgrades");
	if (module_bool(m, "force"))
		buf_adds(b, " --force-yes");
	if (m->check)
		buf_adds(b, " --simulate");
	buf_addf(b, " %s", verb);
}

/* Run an apt-get command line; failure is Ansible's "'cmd' failed: stderr". */
static int
pkg_apt_run(struct module_ctx *m, const char *cmd, const char *zero, bool *ret_changed,
    struct dr_error *err)
{
	struct conn_result r;

	if (pkg_exec(m, cmd, &r, err) < 0)
		return -1;
	pkg_result_output(m, &r);
	if (r.status != 0) {
		dr_error_set(err, "'%s' failed: %s", cmd, *r.err ? str_trim(r.err) : r.out);
		conn_result_free(&r);
		return -1;
	}
	*ret_changed = zero ? strstr(r.out, zero) == NULL : true;
	if (m->diff)
		pkg_apt_diff(m, r.out);
	conn_result_free(&r);
	return 0;
}

/*
 * The state of each package in one command: per name a line "name TAB status TAB version
 * TAB candidate TAB newer", status and version from dpkg, candidate from apt-cache policy,
 * newer "1" when dpkg --compare-versions finds the candidate above the installed version.
 * apt-cache policy (which loads the whole package cache, the dearest part) runs only as
 * cand asks: PKG_CAND_ALWAYS, PKG_CAND_ABSENT (for a package not installed), PKG_CAND_NEVER.
 */
static int
pkg_apt_query(struct module_ctx *m, const json_t *names, enum pkg_cand cand, json_t **ret,
    struct dr_error *err)
{
	struct buf cmd = BUF_INIT(0);
	json_t *out = json_object();
	size_t i;
	json_t *v;

	buf_adds(&cmd, "for p in");
	json_array_foreach(names, i, v)
	{
		_cleanup_free_ char *n = xstrdup(json_string_value(v));
		char *eq = strchr(n, '=');
		if (eq)
			*eq = '\0';
		_cleanup_free_ char *q = conn_quote(n);
		buf_addf(&cmd, " %s", q);
	}
	buf_addf(&cmd,
	    "; do s=$(dpkg-query -W -f='${db:Status-Status}\\t${Version}\\n' \"$p\" "
	    "2>/dev/null | head -n 1); [ -n \"$s\" ] || s=\"not-installed\t\"; c=; "
	    "case %d$s in 0*|1installed*) ;; *) c=$(LC_ALL=C apt-cache policy \"$p\" "
	    "2>/dev/null | sed -n 's/^  Candidate: //p' | head -n 1);; esac; n=0; ",
	    (int)cand);
	buf_adds(&cmd,
	    "case $s in installed*) [ -n \"$c\" ] && [ \"$c\" != '(none)' ] && "
	    "dpkg --compare-versions \"$c\" gt \"${s#*\t}\" && n=1;; esac; "
	    "printf '%s\\t%s\\t%s\\t%s\\n' \"$p\" \"$s\" \"$c\" \"$n\"; done");
	_cleanup_free_ char *text = NULL;
	if (pkg_exec_out(m, &cmd, &text, err) < 0) {
		json_decref(out);
		return -1;
	}
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *f[5] = {0};
		int k = 0;
		for (char *p = l; k < 5; k++) {
			f[k] = p;
			p = strchr(p, '\t');
			if (!p)
				break;
			*p++ = '\0';
		}
		if (k < 4)
			continue;
		json_object_set_new(out, f[0],
		    json_pack("{s:b,s:b,s:s,s:s,s:b}", "installed", strcmp(f[1], "installed") == 0,
		        "config_files", strcmp(f[1], "config-files") == 0, "version", f[2],
		        "candidate", strcmp(f[3], "(none)") == 0 ? "" : f[3], "newer",
		        strcmp(f[4], "1") == 0));
	}
	*ret = out;
	return 0;
}

/* A version pattern of name=version (fnmatch, as Ansible's) against an installed version. */
static bool
pkg_version_match(const char *pattern, const char *version)
{
	return fnmatch(pattern, version, 0) == 0;
}

/* The newest version of name the repositories offer that matches pattern. */
static int
pkg_apt_version_find(
    struct module_ctx *m, const char *name, const char *pattern, char **ret, struct dr_error *err)
{
	_cleanup_free_ char *q = conn_quote(name);
	_cleanup_free_ char *cmd = xasprintf(
	    "LC_ALL=C apt-cache madison %s | awk -F'|' '{gsub(/ /, \"\", $2); print $2}'", q);
	struct conn_result r;

	if (pkg_exec(m, cmd, &r, err) < 0)
		return -1;
	_cleanup_free_ char *text = xstrdup(r.out);
	conn_result_free(&r);
	char *save = NULL;
	/* madison lists the newest first */
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (pkg_version_match(pattern, l)) {
			*ret = xstrdup(l);
			return 0;
		}
	return dr_error_set(err, "No package matching '%s=%s' is available", name, pattern);
}

/* deb: install a .deb file on the host unless that version is installed. */
static int
pkg_apt_deb(struct module_ctx *m, const char *deb, bool *ret_changed, struct dr_error *err)
{
	_cleanup_free_ char *q = conn_quote(deb);
	_cleanup_free_ char *info = xasprintf(
	    "dpkg-deb -W --showformat='${Package}\\t${Version}\\n' %s && "
	    "{ dpkg-query -W -f='${db:Status-Status}\\t${Version}\\n' \"$(dpkg-deb -f %s "
	    "Package)\" 2>/dev/null | head -n 1; true; }",
	    q, q);
	struct conn_result r;

	if (pkg_exec(m, info, &r, err) < 0)
		return -1;
	if (r.status != 0) {
		dr_error_set(err, "Unable to install package: %s: %s", deb,
		    *r.err ? str_trim(r.err) : "not a Debian package");
		conn_result_free(&r);
		return -1;
	}
	char name[256] = "", ver[256] = "", st[64] = "", iver[256] = "";
	int n = sscanf(r.out, "%255[^\t]\t%255[^\n]\n%63[^\t]\t%255[^\n]", name, ver, st, iver);
	conn_result_free(&r);
	*ret_changed = false;
	if (n == 4 && strcmp(st, "installed") == 0 && strcmp(iver, ver) == 0 &&
	    !module_bool(m, "force"))
		return 0;
	struct buf cmd = BUF_INIT(0);
	pkg_apt_cmd(m, &cmd, "install");
	/* apt-get takes a file as a path with a slash in it, and resolves its dependencies */
	_cleanup_free_ char *path = deb[0] == '/' ? xstrdup(deb) : xasprintf("./%s", deb);
	_cleanup_free_ char *qp = conn_quote(path);
	buf_addf(&cmd, " %s", qp);
	int rc = pkg_apt_run(m, cmd.data, NULL, ret_changed, err);
	buf_free(&cmd);
	return rc;
}

/* apt: packages present/absent/latest/fixed, deb files, upgrade, autoremove, the cache. */
static int
pkg_apt(struct module_ctx *m, struct dr_error *err)
{
	const char *state = module_str(m, "state"), *upgrade = module_str(m, "upgrade");
	const char *deb = module_str(m, "deb");
	bool update = module_bool(m, "update_cache") || module_int(m, "cache_valid_time") > 0;
	bool changed = false, cache_updated = false, purge = module_bool(m, "purge");
	bool autoremove = module_bool(m, "autoremove");
	_cleanup_json_ json_t *names = pkg_names(m, "name", err), *status = NULL;
	struct buf cmd = BUF_INIT(0);
	int rc = -1;

	if (!names)
		return -1;
	if (strcmp(state, "installed") == 0)
		state = "present";
	else if (strcmp(state, "removed") == 0)
		state = "absent";
	if (!json_array_size(names) && !deb && strcmp(upgrade, "no") == 0 && !update &&
	    !autoremove && !module_bool(m, "autoclean") && !module_bool(m, "clean"))
		return dr_error_set(err,
		    "one of the following is required: name, package, deb, upgrade, update_cache, "
		    "autoremove, autoclean, clean");
	if (deb && json_array_size(names))
		return dr_error_set(err, "parameters are mutually exclusive: deb|package");
	if (update && pkg_apt_cache(m, &cache_updated, err) < 0)
		return -1;
	if (module_bool(m, "clean")) {
		if (!m->check &&
		    pkg_apt_run(m, PKG_APT_ENV "apt-get clean", NULL, &changed, err) < 0)
			return -1;
		changed = true;
	}
	if (!json_array_size(names) && !deb && strcmp(upgrade, "no") == 0 && !autoremove &&
	    !module_bool(m, "autoclean")) {
		json_object_set_new(m->result, "changed", json_boolean(cache_updated || changed));
		return 0;
	}
	if (deb) {
		if (pkg_apt_deb(m, deb, &changed, err) < 0)
			return -1;
		json_object_set_new(m->result, "changed", json_boolean(changed));
		return 0;
	}
	if (strcmp(upgrade, "no") != 0) {
		const char *verb = strcmp(upgrade, "dist") == 0 || strcmp(upgrade, "full") == 0
		    ? "dist-upgrade"
		    : "upgrade --with-new-pkgs";
		pkg_apt_cmd(m, &cmd, verb);
		if (autoremove)
			buf_adds(&cmd, " --auto-remove");
		if (pkg_apt_run(m, cmd.data, PKG_APT_ZERO, &changed, err) < 0)
			goto out;
		/* ansible-core answers with apt-get's output as msg */
		json_object_set(m->result, "msg", json_object_get(m->result, "stdout"));
		json_object_set_new(m->result, "changed", json_boolean(changed));
		rc = 0;
		goto out;
	}
	if (!json_array_size(names)) {
		/* autoremove / autoclean alone */
		const char *verb = autoremove ? "autoremove" : "autoclean";
		pkg_apt_cmd(m, &cmd, verb);
		if (purge && autoremove)
			buf_adds(&cmd, " --purge");
		if (pkg_apt_run(
		        m, cmd.data, autoremove ? PKG_APT_CLEAN_ZERO : NULL, &changed, err) < 0)
			goto out;
		if (!autoremove)
			changed = false;
		json_object_set_new(m->result, "changed", json_boolean(changed));
		rc = 0;
		goto out;
	}
	if (strcmp(state, "build-dep") == 0) {
		/* the build dependencies of each source: apt-get says whether it did anything */
		pkg_apt_cmd(m, &cmd, "build-dep");
		pkg_words_add(&cmd, names);
		if (pkg_apt_run(m, cmd.data, PKG_APT_ZERO, &changed, err) < 0)
			goto out;
		json_object_set_new(m->result, "changed", json_boolean(changed));
		rc = 0;
		goto out;
	}
	/* the candidate tells "latest" and "no such package" apart; absent needs none */
	enum pkg_cand need_cand = strcmp(state, "absent") == 0 ? PKG_CAND_NEVER
	    : strcmp(state, "latest") == 0                     ? PKG_CAND_ALWAYS
	                                                       : PKG_CAND_ABSENT;
	if (pkg_apt_query(m, names, need_cand, &status, err) < 0)
		goto out;
	json_t *todo = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(names, i, v)
	{
		const char *spec = json_string_value(v);
		_cleanup_free_ char *name = xstrdup(spec);
		char *ver = strchr(name, '=');
		if (ver)
			*ver++ = '\0';
		const json_t *s = json_object_get(status, name);
		bool inst = json_is_true(json_object_get(s, "installed"));
		const char *iver = json_string_value(json_object_get(s, "version"));
		const char *cand = json_string_value(json_object_get(s, "candidate"));
		if (strcmp(state, "absent") == 0) {
			bool cf = purge && json_is_true(json_object_get(s, "config_files"));
			if ((inst && (!ver || pkg_version_match(ver, iver ? iver : ""))) || cf)
				json_array_append_new(todo, json_string(name));
			continue;
		}
		if (strcmp(state, "latest") == 0 && ver) {
			json_decref(todo);
			dr_error_set(
			    err, "version number inconsistent with state=latest: %s", spec);
			goto out;
		}
		if (!inst && (!cand || !*cand)) {
			json_decref(todo);
			dr_error_set(err, "No package matching '%s' is available", name);
			goto out;
		}
		bool need = !inst || (ver && !pkg_version_match(ver, iver ? iver : "")) ||
		    (strcmp(state, "latest") == 0 && json_is_true(json_object_get(s, "newer")));
		if (need && ver && strpbrk(ver, "*?[")) {
			/* apt-get takes exact versions: the newest one the pattern matches */
			_cleanup_free_ char *exact = NULL;
			if (pkg_apt_version_find(m, name, ver, &exact, err) < 0) {
				json_decref(todo);
				goto out;
			}
			json_array_append_new(todo, json_sprintf("%s=%s", name, exact));
		} else if (need || strcmp(state, "fixed") == 0)
			json_array_append_new(todo, json_string(spec));
	}
	if (json_array_size(todo)) {
		bool absent = strcmp(state, "absent") == 0;
		pkg_apt_cmd(m, &cmd, absent ? "remove" : "install");
		if (absent && purge)
			buf_adds(&cmd, " --purge");
		if (autoremove)
			buf_adds(&cmd, " --auto-remove");
		if (strcmp(state, "fixed") == 0)
			buf_adds(&cmd, " --fix-broken");
		if (module_bool(m, "only_upgrade"))
			buf_adds(&cmd, " --only-upgrade");
		pkg_words_add(&cmd, todo);
		if (pkg_apt_run(m, cmd.data, strcmp(state, "fixed") == 0 ? PKG_APT_ZERO : NULL,
		        &changed, err) < 0) {
			json_decref(todo);
			goto out;
		}
	}
	json_decref(todo);
	json_object_set_new(m->result, "changed", json_boolean(changed));
	rc = 0;
out:
	buf_free(&cmd);
	return rc;
}

static const struct module_arg pkg_apt_args[] = {
    {"name", MT_LIST, false, "", NULL, "package|pkg"},
    {"state", MT_STR, false, "present", "absent|build-dep|latest|present|fixed|installed|removed",
        NULL},
    {"update_cache", MT_BOOL, false, "no", NULL, "update-cache"},
    {"update_cache_retries", MT_INT, false, "5", NULL, NULL},
    {"update_cache_retry_max_delay", MT_INT, false, "12", NULL, NULL},
    {"cache_valid_time", MT_INT, false, "0", NULL, NULL},
    {"purge", MT_BOOL, false, "no", NULL, NULL},
    {"default_release", MT_STR, false, NULL, NULL, "default-release"},
    {"install_recommends", MT_BOOL, false, NULL, NULL, "install-recommends"},
    {"force", MT_BOOL, false, "no", NULL, NULL},
    {"clean", MT_BOOL, false, "no", NULL, NULL},
    {"upgrade", MT_STR, false, "no", "dist|full|no|safe|yes", NULL},
    {"dpkg_options", MT_STR, false, "force-confdef,force-confold", NULL, NULL},
    {"deb", MT_PATH, false, NULL, NULL, NULL},
    {"autoremove", MT_BOOL, false, "no", NULL, NULL},
    {"autoclean", MT_BOOL, false, "no", NULL, NULL},
    {"policy_rc_d", MT_INT, false, NULL, NULL, NULL},
    {"only_upgrade", MT_BOOL, false, "no", NULL, NULL},
    {"fail_on_autoremove", MT_BOOL, false, "no", NULL, NULL},
    {"force_apt_get", MT_BOOL, false, "no", NULL, NULL},
    {"allow_unauthenticated", MT_BOOL, false, "no", NULL, "allow-unauthenticated"},
    {"allow_downgrade", MT_BOOL, false, "no", NULL, "allow-downgrade|allow_downgrades"},
    {"allow_change_held_packages", MT_BOOL, false, "no", NULL, NULL},
    {"lock_timeout", MT_INT, false, "60", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* --- dnf ------------------------------------------------------------------------------- */

/* The dnf options every dnf action shares (from the arguments). */
static void
pkg_dnf_cmd(struct module_ctx *m, struct buf *b, const char *verb, bool assumeno)
{
	static const char *const lists[][2] = {{"enablerepo", "--enablerepo"},
	    {"disablerepo", "--disablerepo"}, {"exclude", "--exclude"},
	    {"disable_plugin", "--disableplugin"}, {"enable_plugin", "--enableplugin"}};
	const char *root = module_str(m, "installroot"), *conf = module_str(m, "conf_file");
	const char *rel = module_str(m, "releasever");

	buf_adds(b, "LANG=C LC_ALL=C dnf");
	buf_adds(b, assumeno ? " --assumeno" : " -y");
	if (root && strcmp(root, "/") != 0) {
		_cleanup_free_ char *q = conn_quote(root);
		buf_addf(b, " --installroot=%s", q);
	}
	if (conf) {
		_cleanup_free_ char *q = conn_quote(conf);
		buf_addf(b, " --config=%s", q);
	}
	if (rel) {
		_cleanup_free_ char *q = conn_quote(rel);
		buf_addf(b, " --releasever=%s", q);
	}
	for (size_t i = 0; i < nitems(lists); i++) {
		const json_t *l = json_object_get(m->args, lists[i][0]);
		size_t k;
		json_t *v;
		json_array_foreach(l, k, v)
		{
			_cleanup_free_ char *q = conn_quote(json_string_value(v));
			buf_addf(b, " %s=%s", lists[i][1], q);
		}
	}
	if (module_bool(m, "disable_gpg_check"))
		buf_adds(b, " --nogpgcheck");
	if (module_bool(m, "update_cache"))
		buf_adds(b, " --refresh");
	if (module_bool(m, "cacheonly"))
		buf_adds(b, " --cacheonly");
	if (!module_bool(m, "install_weak_deps"))
		buf_adds(b, " --setopt=install_weak_deps=False");
	if (module_bool(m, "nobest"))
		buf_adds(b, " --nobest");
	if (module_bool(m, "skip_broken"))
		buf_adds(b, " --skip-broken");
	if (module_bool(m, "allowerasing"))
		buf_adds(b, " --allowerasing");
	if (module_bool(m, "security"))
		buf_adds(b, " --security");
	if (module_bool(m, "bugfix"))
		buf_adds(b, " --bugfix");
	if (module_bool(m, "download_only"))
		buf_adds(b, " --downloadonly");
	if (module_str(m, "disable_excludes")) {
		_cleanup_free_ char *q = conn_quote(module_str(m, "disable_excludes"));
		buf_addf(b, " --disableexcludes=%s", q);
	}
	buf_addf(b, " %s", verb);
}

/*
 * Run a dnf transaction. With --assumeno dnf exits 0 having printed "Nothing to do." when
 * the transaction is empty and 1 with "Operation aborted" when it is not: that answers
 * check mode and state=latest without changing anything. A real run changed the host
 * unless dnf said "Nothing to do.".
 */
static int
pkg_dnf_run(struct module_ctx *m, const char *verb, const json_t *specs, bool assumeno,
    bool *ret_changed, struct dr_error *err)
{
	struct buf cmd = BUF_INIT(0);
	struct conn_result r;
	int rc = -1;

	pkg_dnf_cmd(m, &cmd, verb, assumeno);
	pkg_words_add(&cmd, specs);
	if (pkg_exec(m, cmd.data, &r, err) < 0)
		goto out;
	bool nothing = strstr(r.out, "Nothing to do") != NULL;
	bool aborted = strstr(r.out, "Operation aborted") != NULL ||
	    strstr(r.err, "Operation aborted") != NULL;
	if (!assumeno || !aborted)
		pkg_result_output(m, &r);
	if (r.status != 0 && !(assumeno && aborted)) {
		/* dnf names each spec it cannot find: the failures, as ansible-core lists them */
		json_t *failures = json_array();
		for (const char *t = r.out; (t = strstr(t, "No match for argument: ")) != NULL;) {
			t += strlen("No match for argument: ");
			size_t n = strcspn(t, "\n");
			_cleanup_free_ char *arg = xstrndup(t, n);
			json_array_append_new(
			    failures, json_sprintf("No package %s available.", arg));
			t += n;
		}
		if (json_array_size(failures)) {
			json_object_set_new(m->result, "failures", failures);
			dr_error_set(err, "Failed to install some of the specified packages");
		} else {
			json_decref(failures);
			dr_error_set(err, "'%s' failed: %s", cmd.data,
			    *r.err ? str_trim(r.err) : str_trim(r.out));
		}
		conn_result_free(&r);
		goto out;
	}
	*ret_changed = assumeno ? aborted : !nothing;
	conn_result_free(&r);
	rc = 0;
out:
	buf_free(&cmd);
	return rc;
}

/* The specs of list that rpm finds installed (by name, name-version or a provide). */
static int
pkg_dnf_installed(struct module_ctx *m, const json_t *specs, json_t **ret, struct dr_error *err)
{
	const char *root = module_str(m, "installroot");
	_cleanup_free_ char *qr = conn_quote(root ? root : "/");
	struct buf cmd = BUF_INIT(0);
	json_t *out = json_array();

	buf_adds(&cmd, "for p in");
	pkg_words_add(&cmd, specs);
	buf_addf(&cmd,
	    "; do rpm --root %s -q --whatprovides \"$p\" >/dev/null 2>&1 || "
	    "rpm --root %s -q \"$p\" >/dev/null 2>&1 && printf '%%s\\n' \"$p\"; done",
	    qr, qr);
	_cleanup_free_ char *text = NULL;
	if (pkg_exec_out(m, &cmd, &text, err) < 0) {
		json_decref(out);
		return -1;
	}
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		json_array_append_new(out, json_string(l));
	*ret = out;
	return 0;
}

/* True when s is one of the strings of list. */
static bool
pkg_in(const json_t *list, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v) if (strcmp(json_string_value(v), s) == 0) return true;
	return false;
}

/* dnf (and yum): packages present/installed, latest, absent/removed. */
static int
pkg_dnf(struct module_ctx *m, struct dr_error *err)
{
	const char *state = module_str(m, "state");
	_cleanup_json_ json_t *names = pkg_names(m, "name", err), *inst = NULL;
	bool changed = false, absent, latest;
	size_t i;
	json_t *v;

	if (!names)
		return -1;
	if (!state)
		state = "present";
	absent = strcmp(state, "absent") == 0 || strcmp(state, "removed") == 0;
	latest = strcmp(state, "latest") == 0;
	if (!json_array_size(names)) {
		if (module_bool(m, "update_cache") && !m->check) {
			/* cache refresh alone: dnf makecache */
			struct buf cmd = BUF_INIT(0);
			struct conn_result r;
			pkg_dnf_cmd(m, &cmd, "makecache", false);
			int rc = pkg_exec(m, cmd.data, &r, err);
			buf_free(&cmd);
			if (rc < 0)
				return -1;
			if (r.status != 0) {
				dr_error_set(
				    err, "Failed to update the cache: %s", str_trim(r.err));
				conn_result_free(&r);
				return -1;
			}
			conn_result_free(&r);
		}
		if (!module_bool(m, "update_cache") && !module_bool(m, "autoremove"))
			return dr_error_set(err,
			    "name is required unless update_cache or "
			    "autoremove is set");
		if (module_bool(m, "autoremove") &&
		    pkg_dnf_run(m, "autoremove", names, true, &changed, err) < 0)
			return -1;
		if (changed && !m->check &&
		    pkg_dnf_run(m, "autoremove", names, false, &changed, err) < 0)
			return -1;
		json_object_set_new(m->result, "changed", json_boolean(changed));
		return 0;
	}
	if (pkg_dnf_installed(m, names, &inst, err) < 0)
		return -1;
	json_t *todo = json_array(), *up = json_array();
	json_array_foreach(names, i, v)
	{
		const char *s = json_string_value(v);
		bool is = pkg_in(inst, s);
		if (!absent && !is && latest && module_bool(m, "update_only"))
			continue; /* update_only: what is not installed stays so */
		if (absent ? is : !is)
			json_array_append(todo, v);
		else if (latest && is)
			json_array_append(up, v);
	}
	json_t *results = json_array();
	int rc = -1;
	if (json_array_size(todo)) {
		const char *verb = absent ? "remove" : "install";
		if (absent && !module_bool(m, "autoremove"))
			verb = "remove --noautoremove";
		/* check mode asks dnf (a name that does not exist must fail there too) */
		if (m->check && !absent) {
			if (pkg_dnf_run(m, verb, todo, true, &changed, err) < 0)
				goto out;
			changed = true;
		} else if (m->check) {
			changed = true;
		} else if (pkg_dnf_run(m, verb, todo, false, &changed, err) < 0)
			goto out;
		json_array_foreach(todo, i, v) json_array_append_new(results,
		    json_sprintf(
		        "%s: %s", absent ? "Removed" : "Installed", json_string_value(v)));
	}
	if (json_array_size(up)) {
		bool would = false;
		if (pkg_dnf_run(m, "upgrade", up, true, &would, err) < 0)
			goto out;
		if (would && !m->check && pkg_dnf_run(m, "upgrade", up, false, &would, err) < 0)
			goto out;
		changed |= would;
	}
	json_object_set_new(m->result, "results", json_incref(results));
	json_object_set_new(m->result, "msg", json_string(changed ? "" : "Nothing to do"));
	json_object_set_new(m->result, "changed", json_boolean(changed));
	rc = 0;
out:
	json_decref(results);
	json_decref(todo);
	json_decref(up);
	return rc;
}

static const struct module_arg pkg_dnf_args[] = {
    {"name", MT_LIST, false, "", NULL, "pkg"},
    {"state", MT_STR, false, NULL, "absent|installed|latest|present|removed", NULL},
    {"enablerepo", MT_LIST, false, "", NULL, NULL},
    {"disablerepo", MT_LIST, false, "", NULL, NULL},
    {"exclude", MT_LIST, false, "", NULL, NULL},
    {"disable_gpg_check", MT_BOOL, false, "no", NULL, NULL},
    {"update_cache", MT_BOOL, false, "no", NULL, "expire-cache"},
    {"installroot", MT_PATH, false, "/", NULL, NULL},
    {"conf_file", MT_PATH, false, NULL, NULL, NULL},
    {"releasever", MT_STR, false, NULL, NULL, NULL},
    {"autoremove", MT_BOOL, false, "no", NULL, NULL},
    {"security", MT_BOOL, false, "no", NULL, NULL},
    {"bugfix", MT_BOOL, false, "no", NULL, NULL},
    {"update_only", MT_BOOL, false, "no", NULL, NULL},
    {"download_only", MT_BOOL, false, "no", NULL, NULL},
    {"allowerasing", MT_BOOL, false, "no", NULL, NULL},
    {"nobest", MT_BOOL, false, "no", NULL, NULL},
    {"skip_broken", MT_BOOL, false, "no", NULL, NULL},
    {"install_weak_deps", MT_BOOL, false, "yes", NULL, NULL},
    {"disable_plugin", MT_LIST, false, "", NULL, NULL},
    {"enable_plugin", MT_LIST, false, "", NULL, NULL},
    {"disable_excludes", MT_STR, false, NULL, NULL, NULL},
    {"cacheonly", MT_BOOL, false, "no", NULL, NULL},
    {"lock_timeout", MT_INT, false, "30", NULL, NULL},
    {"validate_certs", MT_BOOL, false, "yes", NULL, NULL},
    {"sslverify", MT_BOOL, false, "yes", NULL, NULL},
    {"allow_downgrade", MT_BOOL, false, "no", NULL, NULL},
    {"use_backend", MT_STR, false, "auto", "auto|dnf|yum|yum4|dnf4|dnf5", NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* --- package --------------------------------------------------------------------------- */

/*
 * package: the host's package manager module, chosen from `use`, else the pkg_mgr fact,
 * else by looking on the host (when facts were not gathered, as Ansible then does).
 */
static int
pkg_package(struct module_ctx *m, struct dr_error *err)
{
	const char *use = module_str(m, "use");
	const json_t *facts = json_object_get(m->vars, "ansible_facts");
	const char *mgr = NULL;
	_cleanup_free_ char *found = NULL;

	if (use && strcmp(use, "auto") != 0)
		mgr = use;
	if (!mgr)
		mgr = json_string_value(json_object_get(facts, "pkg_mgr"));
	if (!mgr)
		mgr = json_string_value(json_object_get(m->vars, "ansible_pkg_mgr"));
	if (!mgr) {
		struct conn_result r;
		if (pkg_exec(m,
		        "for c in apt-get:apt dnf:dnf yum:yum; do command -v ${c%:*} >/dev/null "
		        "2>&1 && { echo ${c#*:}; break; }; done",
		        &r, err) < 0)
			return -1;
		found = xstrdup(str_trim(r.out));
		conn_result_free(&r);
		mgr = found;
	}
	if (strcmp(mgr, "yum") == 0)
		mgr = "dnf";
	const struct module *pm =
	    strcmp(mgr, "apt") == 0 || strcmp(mgr, "dnf") == 0 ? module_find(mgr) : NULL;
	if (!pm)
		return dr_error_set(err,
		    "Could not find a module for %s: the package module supports apt, dnf and yum",
		    *mgr ? mgr : "unknown");
	json_t *a = json_pack("{s:O,s:O}", "name", json_object_get(m->args, "name"), "state",
	    json_object_get(m->args, "state"));
	json_t *checked = NULL;
	int rc = module_args_check(pm, a, &checked, err);
	json_decref(a);
	if (rc < 0)
		return -1;
	struct module_ctx sub = *m;
	sub.args = checked;
	rc = pm->run(&sub, err);
	json_decref(checked);
	return rc;
}

static const struct module_arg pkg_package_args[] = {
    {"name", MT_LIST, true, NULL, NULL, NULL},
    {"state", MT_STR, true, NULL, NULL, NULL},
    {"use", MT_STR, false, "auto", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

const struct module modules_packages[] = {
    {"apt", pkg_apt_args, pkg_apt, 0},
    {"dnf", pkg_dnf_args, pkg_dnf, 0},
    {"package", pkg_package_args, pkg_package, 0},
};
const size_t modules_packages_n = nitems(modules_packages);
