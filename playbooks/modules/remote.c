/*
 * modules/remote.c - modules about the host's place among others: known_hosts (with the
 * host's ssh-keygen, which reads hashed entries), git (the host's git, the logic of
 * Ansible's module as one shell script per step), reboot (the connection is dropped and
 * made again until the boot id changes, then the test command passes).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "playbooks/playbooks.h"

#define REMOTE_FILE_MAX (16u << 20)

/* Run cmd; *r is the caller's to free. */
static int
remote_sh(struct module_ctx *m, const char *cmd, const char *in, size_t in_len,
    struct conn_result *r, struct dr_error *err)
{
	memset(r, 0, sizeof *r);
	return module_exec(m, cmd, in, in_len, r, err);
}

/* --- known_hosts ------------------------------------------------------------------------ */

/* The type and base64 fields of a known_hosts line ("host type key [comment]"), or -1. */
static int
remote_key_fields(const char *line, char *type, size_t tsz, char *key, size_t ksz)
{
	char h[1024], t[128], k[16384];

	if (sscanf(line, "%1023s %127s %16383s", h, t, k) != 3)
		return -1;
	if (h[0] == '@') /* @cert-authority / @revoked marker: shift one field */
		if (sscanf(line, "%*s %1023s %127s %16383s", h, t, k) != 3)
			return -1;
	str_copy(type, t, tsz);
	str_copy(key, k, ksz);
	return 0;
}

/* True when the host field of a key line names host (plain, comma list, or [host]:port). */
static bool
remote_host_field_has(const char *line, const char *host)
{
	_cleanup_free_ char *field = xstrndup(line, strcspn(line, " \t"));
	char *save = NULL;

	if (str_has_prefix(field, "|1|"))
		return true; /* hashed: ssh-keygen -F decides */
	for (char *h = strtok_r(field, ",", &save); h; h = strtok_r(NULL, ",", &save))
		if (strcasecmp(h, host) == 0)
			return true;
	return false;
}

/* known_hosts: add, replace or remove a host's key in a known_hosts file on the host. */
static int
remote_known_hosts(struct module_ctx *m, struct dr_error *err)
{
	const char *name0 = module_str(m, "name"), *key = module_str(m, "key");
	const char *path0 = module_str(m, "path"), *state = module_str(m, "state");
	bool hash = module_bool(m, "hash_host"), present = strcmp(state, "present") == 0;
	_cleanup_free_ char *name = xstrdup(name0), *path = NULL, *qp = NULL, *qn = NULL;
	_cleanup_free_ char *line = NULL;
	char ktype[128] = "", kdata[16384] = "";
	struct conn_result r;
	bool found = false, replace = false, any = false, changed = false;
	struct buf before = BUF_INIT(0);
	int rc = -1;

	for (char *p = name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (present && !key)
		return dr_error_set(
		    err, "state is present but all of the following are missing: key");
	if (key) {
		_cleanup_free_ char *k = xstrdup(key);
		line = xstrdup(str_trim(k));
		if (strchr(line, '\n'))
			return dr_error_set(err, "key: one known_hosts line is expected");
		if (remote_key_fields(line, ktype, sizeof ktype, kdata, sizeof kdata) < 0)
			return dr_error_set(
			    err, "key: expected \"%s <type> <base64 key>\", got '%s'", name, line);
		if (!remote_host_field_has(line, name))
			return dr_error_set(err,
			    "Host parameter does not match hashed host field in supplied key");
	}
	if (str_has_prefix(path0, "~/") || strcmp(path0, "~") == 0) {
		/* the login user's home on the host */
		if (remote_sh(m, "printf %s \"$HOME\"", NULL, 0, &r, err) < 0)
			return -1;
		path = xasprintf("%s%s", r.out, path0 + 1);
		conn_result_free(&r);
	} else
		path = xstrdup(path0);
	qp = conn_quote(path);
	qn = conn_quote(name);
	json_object_set_new(m->result, "name", json_string(name));
	json_object_set_new(m->result, "path", json_string(path));
	json_object_set_new(m->result, "state", json_string(state));
	json_object_set_new(m->result, "hash_host", json_boolean(hash));
	json_object_set_new(m->result, "key", key ? json_string(key) : json_null());
	/* the entries for name now */
	{
		_cleanup_free_ char *cmd = xasprintf(
		    "command -v ssh-keygen >/dev/null || { echo 'ssh-keygen is not installed' "
		    ">&2; "
		    "exit 127; }; [ -f %s ] || exit 0; ssh-keygen -F %s -f %s 2>/dev/null | "
		    "grep -v '^#'; exit 0",
		    qp, qn, qp);
		if (remote_sh(m, cmd, NULL, 0, &r, err) < 0)
			return -1;
		if (r.status != 0) {
			dr_error_set(err, "%s", str_trim(r.err));
			conn_result_free(&r);
			return -1;
		}
		char *save = NULL;
		for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			char t[128], k[16384];
			if (remote_key_fields(l, t, sizeof t, k, sizeof k) < 0)
				continue;
			any = true;
			if (strcmp(t, ktype) == 0) {
				if (strcmp(k, kdata) == 0)
					found = true;
				else
					replace = true;
			}
		}
		conn_result_free(&r);
	}
	if (present)
		changed = !found;
	else
		changed = any;
	if (m->diff) {
		struct buf cur = BUF_INIT(0);
		if (conn_get(m->conn, path, REMOTE_FILE_MAX, &cur, NULL) == 0 && cur.data)
			buf_add(&before, cur.data, cur.len);
		buf_free(&cur);
	}
	if (changed && !m->check) {
		_cleanup_free_ char *dir = xstrdup(path);
		char *slash = strrchr(dir, '/');
		struct buf cmd = BUF_INIT(0);
		if (slash && slash != dir) {
			*slash = '\0';
			_cleanup_free_ char *qd = conn_quote(dir);
			buf_addf(&cmd, "[ -d %s ] || mkdir -m 0700 -p %s || exit 1; ", qd, qd);
		}
		if (!present || replace)
			buf_addf(&cmd, "ssh-keygen -R %s -f %s >/dev/null 2>&1; rm -f %s.old; ",
			    qn, qp, qp);
		if (present) {
			/* a new line: name, type, key (hashed with ssh-keygen -H when asked) */
			_cleanup_free_ char *nl = xasprintf("%s %s %s\n", name, ktype, kdata);
			_cleanup_free_ char *qline = conn_quote(nl);
			if (hash)
				buf_addf(&cmd,
				    "t=$(mktemp) || exit 1; printf %%s %s > \"$t\" && ssh-keygen "
				    "-H -f "
				    "\"$t\" >/dev/null 2>&1 && cat \"$t\" >> %s; s=$?; rm -f "
				    "\"$t\" "
				    "\"$t.old\"; exit $s",
				    qline, qp);
			else
				buf_addf(&cmd, "printf %%s %s >> %s", qline, qp);
		}
		int er = remote_sh(m, cmd.data, NULL, 0, &r, err);
		buf_free(&cmd);
		if (er < 0)
			goto out;
		if (r.status != 0) {
			dr_error_set(err, "cannot update %s: %s", path, str_trim(r.err));
			conn_result_free(&r);
			goto out;
		}
		conn_result_free(&r);
	}
	if (m->diff) {
		struct buf after = BUF_INIT(0);
		if (!m->check) {
			if (conn_get(m->conn, path, REMOTE_FILE_MAX, &after, NULL) < 0)
				buf_reset(&after);
		} else {
			if (before.data)
				buf_add(&after, before.data, before.len);
			if (present && changed)
				buf_addf(&after, "%s %s %s\n", name, ktype, kdata);
		}
		_cleanup_free_ char *b =
		    before.data ? xstrndup(before.data, before.len) : xstrdup("");
		_cleanup_free_ char *a =
		    after.data ? xstrndup(after.data, after.len) : xstrdup("");
		_cleanup_free_ char *h = xasprintf("%s", path);
		module_diff_set(m, h, b, a);
		buf_free(&after);
	}
	json_object_set_new(m->result, "changed", json_boolean(changed));
	rc = 0;
out:
	buf_free(&before);
	return rc;
}

static const struct module_arg remote_known_hosts_args[] = {
    {"name", MT_STR, true, NULL, NULL, "host"},
    {"key", MT_STR, false, NULL, NULL, NULL},
    {"path", MT_PATH, false, "~/.ssh/known_hosts", NULL, NULL},
    {"hash_host", MT_BOOL, false, "no", NULL, NULL},
    {"state", MT_STR, false, "present", "absent|present", NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* --- git -------------------------------------------------------------------------------- */

/* key=value lines of a script's output into an object. */
static json_t *
remote_kv(const char *out)
{
	json_t *o = json_object();
	_cleanup_free_ char *s = xstrdup(out);
	char *save = NULL;

	for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(l, '=');
		if (eq) {
			*eq = '\0';
			json_object_set_new(o, l, json_string(eq + 1));
		}
	}
	return o;
}

/*
 * The shell functions every git step uses. Variables: D dest, REPO, V version, R remote,
 * F force (1/0), DEPTH ("--depth N" or empty), BARE (1/0). switch_version follows
 * Ansible's: HEAD is the remote's default branch, a branch is checked out and reset to
 * the remote's, anything else (tag, sha) checked out detached.
 */
static const char remote_git_lib[] =
    "command -v git >/dev/null 2>&1 || { echo 'Failed to find required executable \"git\"' "
    ">&2; exit 127; }\n"
    "fail() { echo \"msg=$1\"; exit 3; }\n"
    "rhead() {\n"
    "  case $V in\n"
    "  HEAD) git ls-remote \"$1\" HEAD 2>/dev/null | cut -f1 | head -n1 ;;\n"
    "  *) h=$(git ls-remote \"$1\" \"refs/heads/$V\" 2>/dev/null | cut -f1 | head -n1)\n"
    "     [ -n \"$h\" ] || h=$(git ls-remote \"$1\" \"refs/tags/$V^{}\" 2>/dev/null | cut -f1 "
    "| head -n1)\n"
    "     [ -n \"$h\" ] || h=$(git ls-remote \"$1\" \"refs/tags/$V\" 2>/dev/null | cut -f1 "
    "| head -n1)\n"
    "     [ -n \"$h\" ] || h=$V; echo \"$h\" ;;\n"
    "  esac\n"
    "}\n"
    "switch() {\n"
    "  if [ \"$V\" = HEAD ]; then\n"
    "    b=$(git symbolic-ref --short \"refs/remotes/$R/HEAD\" 2>/dev/null); b=${b#\"$R/\"}\n"
    "    [ -n \"$b\" ] || b=$(git ls-remote --symref \"$R\" HEAD 2>/dev/null | sed -n "
    "'s|^ref: refs/heads/\\([^\t]*\\)\tHEAD$|\\1|p')\n"
    "    [ -n \"$b\" ] || fail 'Could not determine the remote default branch'\n"
    "    git checkout --force \"$b\" >/dev/null 2>&1 || fail \"Failed to checkout branch $b\"\n"
    "    git reset --hard \"$R/$b\" -- >/dev/null 2>&1 || fail \"Failed to checkout $V\"\n"
    "  elif git show-ref --verify --quiet \"refs/remotes/$R/$V\"; then\n"
    "    if git show-ref --verify --quiet \"refs/heads/$V\"; then\n"
    "      git checkout --force \"$V\" >/dev/null 2>&1 || fail \"Failed to checkout branch "
    "$V\"\n"
    "      git reset --hard \"$R/$V\" >/dev/null 2>&1 || fail \"Failed to checkout $V\"\n"
    "    else\n"
    "      git checkout --track -b \"$V\" \"$R/$V\" >/dev/null 2>&1 || fail \"Failed to "
    "checkout $V\"\n"
    "    fi\n"
    "  else\n"
    "    git checkout --force \"$V\" >/dev/null 2>&1 || fail \"Failed to checkout $V\"\n"
    "  fi\n"
    "}\n";

/* The step scripts: clone, check (check mode), update (fetch + switch), info. */
static const char remote_git_clone[] =
    "p=$(dirname \"$D\"); [ -d \"$p\" ] || mkdir -p \"$p\" || fail \"cannot create $p\"\n"
    "if [ \"$BARE\" = 1 ]; then o=--bare; else o=\"--origin $R\"; fi\n"
    "out=$(git clone $o $DEPTH \"$REPO\" \"$D\" 2>&1) || fail \"Failed to clone: $out\"\n"
    "if [ \"$BARE\" != 1 ]; then cd \"$D\" || exit 1; switch; "
    "echo \"after=$(git rev-parse HEAD)\"; else echo \"after=$(git --git-dir=\"$D\" "
    "rev-parse HEAD)\"; fi\n";

static const char remote_git_update[] =
    "cd \"$D\" || exit 1\n"
    "echo \"before=$(git rev-parse HEAD 2>/dev/null)\"\n"
    "if [ \"$BARE\" != 1 ] && [ -n \"$(git status --porcelain --untracked-files=no)\" ]; "
    "then\n"
    "  [ \"$F\" = 1 ] || fail \"Local modifications exist in the destination: $D "
    "(force=no).\"\n"
    "  echo localmods=1\n"
    "  [ \"$CHECK\" = 1 ] || git reset --hard HEAD >/dev/null 2>&1 || fail 'Failed to reset'\n"
    "fi\n"
    "u=$(git ls-remote --get-url \"$R\" 2>/dev/null)\n"
    "if [ \"$u\" != \"$REPO\" ]; then echo urlchanged=1;\n"
    "  [ \"$CHECK\" = 1 ] || git remote set-url \"$R\" \"$REPO\" || fail 'Failed to set the "
    "remote url'; fi\n"
    "if [ \"$CHECK\" = 1 ]; then echo \"after=$(rhead \"$REPO\")\"; exit 0; fi\n"
    "if [ \"$BARE\" = 1 ]; then rs='+refs/heads/*:refs/heads/*'; else "
    "rs=\"+refs/heads/*:refs/remotes/$R/*\"; fi\n"
    "out=$(git fetch $DEPTH \"$R\" \"$rs\" '+refs/tags/*:refs/tags/*' 2>&1) || fail \"Failed "
    "to download remote objects and refs: $out\"\n"
    "git remote set-head \"$R\" --auto >/dev/null 2>&1\n"
    "[ \"$BARE\" = 1 ] || switch\n"
    "echo \"after=$(git rev-parse HEAD)\"\n";

/* Run one git step with the task's variables; *ret is the key=value output. */
static int
remote_git_step(
    struct module_ctx *m, const char *step, bool check, json_t **ret, struct dr_error *err)
{
	const char *dest = module_str(m, "dest"), *repo = module_str(m, "repo");
	const char *version = module_str(m, "version"), *remote = module_str(m, "remote");
	json_t *depth = json_object_get(m->args, "depth");
	struct buf s = BUF_INIT(0);
	struct conn_result r;
	_cleanup_free_ char *qd = conn_quote(dest), *qr = conn_quote(repo);
	_cleanup_free_ char *qv = conn_quote(version), *qrem = conn_quote(remote);

	buf_addf(&s, "D=%s; REPO=%s; V=%s; R=%s; F=%d; BARE=%d; CHECK=%d; DEPTH=", qd, qr, qv,
	    qrem, module_bool(m, "force"), module_bool(m, "bare"), check);
	if (depth && json_is_integer(depth) && json_integer_value(depth) > 0)
		buf_addf(&s, "'--depth %lld'", (long long)json_integer_value(depth));
	buf_addf(&s, "\nexport GIT_TERMINAL_PROMPT=0\n%s%s", remote_git_lib, step);
	int er = remote_sh(m, "/bin/sh -s", s.data, s.len, &r, err);
	buf_free(&s);
	if (er < 0)
		return -1;
	json_t *kv = remote_kv(r.out);
	if (r.status == 127) {
		dr_error_set(err, "%s", str_trim(r.err));
		goto fail;
	}
	if (r.status != 0) {
		const char *msg = json_string_value(json_object_get(kv, "msg"));
		dr_error_set(err, "%s", msg ? msg : *r.err ? str_trim(r.err) : "git failed");
		goto fail;
	}
	conn_result_free(&r);
	*ret = kv;
	return 0;
fail:
	if (json_object_get(kv, "before"))
		json_object_set(m->result, "before", json_object_get(kv, "before"));
	json_decref(kv);
	conn_result_free(&r);
	return -1;
}

/* git: clone or update a working copy at dest to version. */
static int
remote_git(struct module_ctx *m, struct dr_error *err)
{
	const char *dest = module_str(m, "dest");
	_cleanup_free_ char *qd = NULL, *cmd = NULL;
	struct conn_result r;
	json_t *kv = NULL;
	bool exists, changed = false;

	if (!dest)
		return dr_error_set(err,
		    "the destination directory must be specified unless "
		    "clone=no");
	qd = conn_quote(dest);
	cmd = module_bool(m, "bare") ? xasprintf("[ -f %s/config ] && echo y || echo n", qd)
	                             : xasprintf("[ -e %s/.git ] && echo y || echo n", qd);
	if (remote_sh(m, cmd, NULL, 0, &r, err) < 0)
		return -1;
	exists = r.out[0] == 'y';
	conn_result_free(&r);
	json_object_set_new(m->result, "before", json_null());
	if (!exists) {
		if (m->check || !module_bool(m, "clone")) {
			static const char rh[] = "echo \"after=$(rhead \"$REPO\")\"\n";
			if (remote_git_step(m, rh, true, &kv, err) < 0)
				return -1;
			json_object_set(m->result, "after", json_object_get(kv, "after"));
			json_object_set_new(m->result, "changed", json_true());
			json_decref(kv);
			return 0;
		}
		if (remote_git_step(m, remote_git_clone, false, &kv, err) < 0)
			return -1;
		json_object_set(m->result, "after", json_object_get(kv, "after"));
		json_object_set_new(m->result, "changed", json_true());
		json_decref(kv);
		return 0;
	}
	if (!module_bool(m, "update")) {
		static const char info[] =
		    "cd \"$D\" || exit 1; echo \"before=$(git rev-parse HEAD)\"\n";
		if (remote_git_step(m, info, false, &kv, err) < 0)
			return -1;
		json_object_set(m->result, "before", json_object_get(kv, "before"));
		json_object_set(m->result, "after", json_object_get(kv, "before"));
		json_object_set_new(m->result, "changed", json_false());
		json_decref(kv);
		return 0;
	}
	if (remote_git_step(m, remote_git_update, m->check, &kv, err) < 0)
		return -1;
	const char *before = json_string_value(json_object_get(kv, "before"));
	const char *after = json_string_value(json_object_get(kv, "after"));
	bool urlchanged = json_object_get(kv, "urlchanged") != NULL;
	json_object_set_new(m->result, "before", json_string(before ? before : ""));
	json_object_set_new(m->result, "after", json_string(after ? after : ""));
	json_object_set_new(m->result, "remote_url_changed", json_boolean(urlchanged));
	if (json_object_get(kv, "localmods")) {
		changed = true;
		if (!m->check) {
			_cleanup_free_ char *msg =
			    xasprintf("Local modifications exist in the destination: %s", dest);
			json_object_set_new(m->result, "msg", json_string(msg));
		}
	}
	if (!before || !after || strcmp(before, after) != 0 || urlchanged)
		changed = true;
	if (m->check)
		changed = !before || !after || strcmp(before, after) != 0 || urlchanged;
	json_object_set_new(m->result, "changed", json_boolean(changed));
	json_decref(kv);
	return 0;
}

static const struct module_arg remote_git_args[] = {
    {"repo", MT_STR, true, NULL, NULL, "name"},
    {"dest", MT_PATH, false, NULL, NULL, NULL},
    {"version", MT_STR, false, "HEAD", NULL, NULL},
    {"remote", MT_STR, false, "origin", NULL, NULL},
    {"force", MT_BOOL, false, "no", NULL, NULL},
    {"update", MT_BOOL, false, "yes", NULL, NULL},
    {"clone", MT_BOOL, false, "yes", NULL, NULL},
    {"bare", MT_BOOL, false, "no", NULL, NULL},
    {"depth", MT_INT, false, NULL, NULL, NULL},
    {"accept_hostkey", MT_BOOL, false, "no", NULL, NULL},
    {"recursive", MT_BOOL, false, "yes", NULL, NULL},
    {"single_branch", MT_BOOL, false, "no", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* --- reboot ----------------------------------------------------------------------------- */

/* The boot id (boot_time_command's output) over the current session, or NULL. */
static char *
remote_boot_id(struct module_ctx *m, const char *cmd, struct dr_error *err)
{
	struct conn_result r;
	char *id;

	if (remote_sh(m, cmd, NULL, 0, &r, err) < 0)
		return NULL;
	if (r.status != 0) {
		dr_error_set(err, "boot_time_command failed: %s", str_trim(r.err));
		conn_result_free(&r);
		return NULL;
	}
	id = xstrdup(str_trim(r.out));
	conn_result_free(&r);
	return id;
}

/* Sleep up to s seconds in small steps. */
static void
remote_sleep(long long s)
{
	for (long long i = 0; i < s * 10; i++)
		usleep(100000);
}

/* reboot: reboot the host and wait until it is back (new boot id, test command passes). */
static int
remote_reboot(struct module_ctx *m, struct dr_error *err)
{
	const char *boot_cmd = module_str(m, "boot_time_command");
	const char *test_cmd = module_str(m, "test_command");
	const char *msg = module_str(m, "msg"), *rcmd = module_str(m, "reboot_command");
	long long timeout = module_int(m, "reboot_timeout");
	long long pre = module_int(m, "pre_reboot_delay"),
	          post = module_int(m, "post_reboot_delay");
	long long ctimeout = module_int(m, "connect_timeout");
	int64_t start = time_mono_us(), deadline;
	_cleanup_free_ char *before = NULL, *cmd = NULL;
	struct conn_result r;
	struct dr_error e = {{0}};

	if (timeout <= 0)
		timeout = 600;
	if (m->check) {
		json_object_set_new(m->result, "changed", json_true());
		json_object_set_new(m->result, "elapsed", json_integer(0));
		json_object_set_new(m->result, "rebooted", json_true());
		return 0;
	}
	if (!(before = remote_boot_id(m, boot_cmd, err)))
		return -1;
	if (rcmd)
		cmd = xstrdup(rcmd);
	else {
		_cleanup_free_ char *qm = conn_quote(msg);
		cmd = xasprintf("shutdown -r %lld %s", pre / 60, qm);
		if (pre % 60) {
			char *c2 = xasprintf("sleep %lld; %s", pre % 60, cmd);
			free(cmd);
			cmd = c2;
		}
	}
	/* the command may or may not return before the session drops */
	if (remote_sh(m, cmd, NULL, 0, &r, &e) == 0) {
		if (r.status == 126 || r.status == 127) {
			dr_error_set(
			    err, "Reboot command failed. Error was: '%s'", str_trim(r.err));
			conn_result_free(&r);
			return -1;
		}
		conn_result_free(&r);
	}
	deadline = start + timeout * 1000000;
	/* wait for a new boot id, reconnecting as often as needed */
	for (;;) {
		if (time_mono_us() > deadline) {
			return dr_error_set(err,
			    "Timed out waiting for last boot time check (timeout=%lld)", timeout);
		}
		remote_sleep(1);
		struct dr_error ce = {{0}};
		if (conn_reopen(m->conn, (int)ctimeout, &ce) < 0)
			continue;
		_cleanup_free_ char *now = remote_boot_id(m, boot_cmd, &ce);
		if (now && *now && strcmp(now, before) != 0)
			break;
	}
	remote_sleep(post);
	/* then the test command */
	for (;;) {
		if (remote_sh(m, test_cmd, NULL, 0, &r, &e) == 0) {
			int st = r.status;
			conn_result_free(&r);
			if (st == 0)
				break;
		} else
			(void)conn_reopen(m->conn, (int)ctimeout, &e);
		if (time_mono_us() > deadline)
			return dr_error_set(err,
			    "Timed out waiting for post-reboot test command (timeout=%lld)",
			    timeout);
		remote_sleep(1);
	}
	json_object_set_new(m->result, "changed", json_true());
	json_object_set_new(m->result, "rebooted", json_true());
	json_object_set_new(
	    m->result, "elapsed", json_integer((time_mono_us() - start) / 1000000));
	return 0;
}

static const struct module_arg remote_reboot_args[] = {
    {"reboot_timeout", MT_INT, false, "600", NULL, "reboot_timeout_sec"},
    {"connect_timeout", MT_INT, false, "10", NULL, "connect_timeout_sec"},
    {"msg", MT_STR, false, "Reboot initiated by Ansible", NULL, NULL},
    {"pre_reboot_delay", MT_INT, false, "0", NULL, "pre_reboot_delay_sec"},
    {"post_reboot_delay", MT_INT, false, "0", NULL, "post_reboot_delay_sec"},
    {"test_command", MT_STR, false, "whoami", NULL, NULL},
    {"boot_time_command", MT_STR, false, "cat /proc/sys/kernel/random/boot_id", NULL, NULL},
    {"reboot_command", MT_STR, false, NULL, NULL, NULL},
    {"search_paths", MT_LIST, false, NULL, NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

const struct module modules_remote[] = {
    {"known_hosts", remote_known_hosts_args, remote_known_hosts, 0},
    {"git", remote_git_args, remote_git, 0},
    {"reboot", remote_reboot_args, remote_reboot, 0},
};
const size_t modules_remote_n = nitems(modules_remote);
