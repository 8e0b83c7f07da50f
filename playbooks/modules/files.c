/*
 * modules/files.c - the file family: copy, template, file, stat, lineinfile, blockinfile,
 * replace, slurp, fetch. Files are read and written through the connection (conn_get,
 * conn_put), facts about them come from one `stat` command per file.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "playbooks/playbooks.h"

#define FILES_MAX (256u << 20) /* largest file a module reads or writes */
#define FILES_DIFF_MAX (1u << 20) /* larger files are not shown in --diff */
#define FILES_TREE_MAX 100000 /* entries a recursive copy or recurse may touch */

/* What `stat` says about a path on the host. */
struct files_stat {
	bool exists;
	char type; /* 'f' file, 'd' directory, 'l' link, 'o' other */
	unsigned mode;
	long long uid, gid, size, mtime, atime, inode, nlink, dev;
	char owner[64], group[64];
	char target[PATH_MAX]; /* link target */
	char checksum[41]; /* sha1 of a regular file, when asked */
	bool lnk_exists; /* for a link: whether its target exists */
};

/* A destination already stated as files_put needs it (through links, with checksum). */
struct files_known {
	bool valid;
	struct files_stat st, parent; /* parent: the directory of an absent st */
};

/* sha1 as hex. */
static void
files_sha1(const void *data, size_t len, char out[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	EVP_Digest(data, len, md, &n, EVP_sha1(), NULL);
	for (unsigned i = 0; i < n && i < 20; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/*
 * Append to b a script that stats path on the host (follow: through a final symlink) and
 * prints either "ABSENT" or four lines: the stat line, the link target (may be empty), T/F
 * (a link's target exists), and with checksum the sha1 of a readable regular file (else
 * an empty line). With parent, an absent path is followed by the same for its directory.
 */
static void
files_stat_script(struct buf *b, const char *path, bool follow, bool checksum, bool parent)
{
	_cleanup_free_ char *q = conn_quote(path);
	_cleanup_free_ char *dir =
	    parent ? xstrndup(path, (size_t)(strrchr(path, '/') - path)) : NULL;
	const char *sum = "if [ -f \"$p\" ] && [ -r \"$p\" ]; then "
	                  "{ sha1sum <\"$p\" || echo; } | cut -c1-40; else echo; fi;";
	int i = 0;

	buf_addf(b, "p=%s; ", q);
	for (;;) {
		buf_addf(b,
		    "if [ -e \"$p\" ] || [ -L \"$p\" ]; then "
		    "stat %s -c '%%F|%%a|%%u|%%g|%%U|%%G|%%s|%%Y|%%X|%%i|%%h|%%d' -- \"$p\" "
		    "|| exit 3; "
		    "if [ -L \"$p\" ]; then "
		    "readlink -- \"$p\"; [ -e \"$p\" ] && echo T || echo F; "
		    "else echo; echo F; fi; "
		    "%s else echo ABSENT; ",
		    follow ? "-L" : "", checksum && i == 0 ? sum : "");
		if (!dir || i++ > 0)
			break;
		_cleanup_free_ char *qd = conn_quote(dir);
		buf_addf(b, "p=%s; ", qd);
	}
	buf_adds(b, dir ? "fi; fi" : "fi");
}

/* Parse one block of files_stat_script's output at *cur into st; advances *cur. */
static int
files_stat_parse(
    char **cur, const char *path, bool checksum, struct files_stat *st, struct dr_error *err)
{
	char *lines[4] = {0};
	int want = *cur && str_has_prefix(*cur, "ABSENT") ? 1 : checksum ? 4 : 3;
	char type[64] = "";

	memset(st, 0, sizeof *st);
	for (int i = 0; i < want; i++) {
		char *nl = *cur ? strchr(*cur, '\n') : NULL;

		if (!nl)
			return dr_error_set(
			    err, "cannot stat %s: unexpected output '%s'", path, *cur ? *cur : "");
		*nl = '\0';
		lines[i] = *cur;
		*cur = nl + 1;
	}
	if (strcmp(lines[0], "ABSENT") == 0)
		return 0;
	if (sscanf(lines[0], "%63[^|]|%o|%lld|%lld|%63[^|]|%63[^|]|%lld|%lld|%lld|%lld|%lld|%lld",
	        type, &st->mode, &st->uid, &st->gid, st->owner, st->group, &st->size, &st->mtime,
	        &st->atime, &st->inode, &st->nlink, &st->dev) != 12)
		return dr_error_set(err, "cannot stat %s: unexpected output '%s'", path, lines[0]);
	st->exists = true;
	st->type = strstr(type, "directory") ? 'd'
	    : strstr(type, "symbolic")       ? 'l'
	    : strstr(type, "regular")        ? 'f'
	                                     : 'o';
	str_copy(st->target, lines[1], sizeof st->target);
	st->lnk_exists = lines[2][0] == 'T';
	if (checksum)
		str_copy(st->checksum, str_trim(lines[3]), sizeof st->checksum);
	return 0;
}

/*
 * One round trip: run cmd (when not NULL; its output goes to stderr), and when it succeeded
 * stat path as files_stat does; with pst, an absent path's directory too (pst->exists
 * false when path exists or has no directory part).
 */
static int
files_run_stat(struct module_ctx *m, const char *cmd, const char *path, bool follow, bool checksum,
    struct files_stat *st, struct files_stat *pst, struct dr_error *err)
{
	struct conn_result r = {0};
	struct buf b = BUF_INIT(0);
	const char *slash = strrchr(path, '/');
	bool parent = pst && slash && slash != path;
	char *cur;
	int rc = -1;

	if (pst)
		memset(pst, 0, sizeof *pst);
	if (cmd)
		buf_addf(&b, "{ %s\n} >&2 && { ", cmd);
	files_stat_script(&b, path, follow, checksum, parent);
	if (cmd)
		buf_adds(&b, "; }");
	if (module_exec(m, b.data, NULL, 0, &r, err) < 0)
		goto out;
	if (r.status != 0) {
		if (cmd)
			dr_error_set(err, "%s", *r.err ? str_trim(r.err) : "command failed");
		else
			dr_error_set(err, "cannot stat %s: %s", path, str_trim(r.err));
		goto out;
	}
	cur = r.out;
	if (files_stat_parse(&cur, path, checksum, st, err) < 0)
		goto out;
	if (parent && !st->exists) {
		_cleanup_free_ char *dir = xstrndup(path, (size_t)(slash - path));

		if (files_stat_parse(&cur, dir, false, pst, err) < 0)
			goto out;
	}
	rc = 0;
out:
	conn_result_free(&r);
	buf_free(&b);
	return rc;
}

/* Stat a path on the host (follow: through a final symlink). */
static int
files_stat(struct module_ctx *m, const char *path, bool follow, bool checksum,
    struct files_stat *st, struct dr_error *err)
{
	return files_run_stat(m, NULL, path, follow, checksum, st, NULL, err);
}

/* Run a command that must succeed (as the task's become user). */
static int
files_run(struct module_ctx *m, const char *cmd, struct dr_error *err)
{
	struct conn_result r = {0};

	if (module_exec(m, cmd, NULL, 0, &r, err) < 0)
		return -1;
	if (r.status != 0) {
		dr_error_set(err, "%s", *r.err ? str_trim(r.err) : str_trim(r.out));
		conn_result_free(&r);
		return -1;
	}
	conn_result_free(&r);
	return 0;
}

/* Apply a symbolic mode ("u+x,go-w", "a=r", "+X") to cur. */
static int
files_mode_symbolic(
    const char *spec, unsigned cur, bool isdir, unsigned *ret, struct dr_error *err)
{
	_cleanup_free_ char *s = xstrdup(spec);
	char *save = NULL;
	unsigned mode = cur & 07777;

	for (char *clause = strtok_r(s, ",", &save); clause; clause = strtok_r(NULL, ",", &save)) {
		unsigned who = 0;
		char *p = clause;
		for (; *p && strchr("ugoa", *p); p++)
			who |= *p == 'u' ? 04700 : *p == 'g' ? 02070 : *p == 'o' ? 01007 : 07777;
		if (!who)
			who = 07777;
		if (!*p)
			return dr_error_set(err, "bad symbolic mode '%s'", spec);
		while (*p) {
			char op = *p++;
			unsigned bits = 0;
			if (!strchr("+-=", op))
				return dr_error_set(err, "bad symbolic mode '%s'", spec);
			for (; *p && !strchr("+-=", *p); p++) {
				switch (*p) {
				case 'r':
					bits |= 0444;
					break;
				case 'w':
					bits |= 0222;
					break;
				case 'x':
					bits |= 0111;
					break;
				case 'X':
					if (isdir || (cur & 0111))
						bits |= 0111;
					break;
				case 's':
					bits |= 06000;
					break;
				case 't':
					bits |= 01000;
					break;
				case 'u':
					bits |= ((mode >> 6) & 7) * 0111;
					break;
				case 'g':
					bits |= ((mode >> 3) & 7) * 0111;
					break;
				case 'o':
					bits |= (mode & 7) * 0111;
					break;
				default:
					return dr_error_set(err, "bad symbolic mode '%s'", spec);
				}
			}
			bits &= who;
			if (op == '+')
				mode |= bits;
			else if (op == '-')
				mode &= ~bits;
			else
				mode = (mode & ~(who & 0777)) | bits;
		}
	}
	*ret = mode & 07777;
	return 0;
}

/* The mode argument for a path whose mode is cur: 0 and *ret, 1 when no mode was given. */
static int
files_mode(struct module_ctx *m, unsigned cur, bool isdir, unsigned *ret, struct dr_error *err)
{
	json_t *v = json_object_get(m->args, "mode");

	if (!v || json_is_null(v))
		return 1;
	if (json_is_integer(v)) {
		long long n = json_integer_value(v);
		if (n < 0 || n > 07777)
			return dr_error_set(err, "mode %lld is out of range", n);
		*ret = (unsigned)n;
		return 0;
	}
	const char *s = json_string_value(v);
	if (strcmp(s, "preserve") == 0)
		return 1;
	bool octal = *s != '\0';
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '7')
			octal = false;
	if (octal) {
		unsigned long n = strtoul(s, NULL, 8);
		if (n > 07777)
			return dr_error_set(err, "mode %s is out of range", s);
		*ret = (unsigned)n;
		return 0;
	}
	return files_mode_symbolic(s, cur, isdir, ret, err) < 0 ? -1 : 0;
}

/* True when want (a name or a number) differs from the current name/id. */
static bool
files_id_differs(const char *want, const char *name, long long id)
{
	long long n;

	if (!want)
		return false;
	if (str_to_ll(want, 0, LLONG_MAX, &n) == 0)
		return n != id;
	return strcmp(want, name) != 0;
}

/*
 * Set mode/owner/group of an existing path as the arguments ask; *changed if it differed.
 * What differs is changed by one command. With report, *report is then the path's state as
 * files_report sees it (not through a link): stated by that same command, or st itself
 * when nothing changed and path is no link.
 */
static int
files_attrs(struct module_ctx *m, const char *path, const struct files_stat *st, bool follow,
    bool *changed, json_t *before, json_t *after, struct files_stat *report, struct dr_error *err)
{
	const char *owner = module_str(m, "owner"), *group = module_str(m, "group");
	_cleanup_free_ char *q = conn_quote(path);
	struct buf cmd = BUF_INIT(0);
	unsigned mode = 0;
	int r = 0;

	if (files_id_differs(owner, st->owner, st->uid)) {
		*changed = true;
		if (before) {
			json_object_set_new(before, "owner", json_string(st->owner));
			json_object_set_new(after, "owner", json_string(owner));
		}
		_cleanup_free_ char *qo = conn_quote(owner);
		buf_addf(&cmd, "chown %s %s -- %s", follow ? "" : "-h", qo, q);
	}
	if (files_id_differs(group, st->group, st->gid)) {
		*changed = true;
		if (before) {
			json_object_set_new(before, "group", json_string(st->group));
			json_object_set_new(after, "group", json_string(group));
		}
		_cleanup_free_ char *qg = conn_quote(group);
		buf_addf(
		    &cmd, "%schgrp %s %s -- %s", cmd.len ? " && " : "", follow ? "" : "-h", qg, q);
	}
	/* Linux cannot chmod a link itself */
	if (!(st->type == 'l' && !follow) &&
	    (r = files_mode(m, st->mode, st->type == 'd', &mode, err)) < 0)
		goto out;
	if (!(st->type == 'l' && !follow) && r == 0 && (mode & 07777) != (st->mode & 07777)) {
		*changed = true;
		if (before) {
			char b[16], a[16];
			snprintf(b, sizeof b, "%04o", st->mode & 07777);
			snprintf(a, sizeof a, "%04o", mode & 07777);
			json_object_set_new(before, "mode", json_string(b));
			json_object_set_new(after, "mode", json_string(a));
		}
		buf_addf(&cmd, "%schmod %o -- %s", cmd.len ? " && " : "", mode, q);
	}
	r = 0;
	if (m->check)
		buf_free(&cmd);
	if (cmd.len && report)
		r = files_run_stat(m, cmd.data, path, false, false, report, NULL, err);
	else if (cmd.len)
		r = files_run(m, cmd.data, err);
	else if (report && !st->target[0])
		*report = *st;
	else if (report && files_stat(m, path, false, false, report, NULL) < 0)
		report->exists = false;
out:
	buf_free(&cmd);
	return r;
}

/*
 * For a file just made: the owner/group/mode commands the arguments ask for, when they
 * do not depend on what the file is now (no symbolic mode); false otherwise.
 */
static bool
files_attrs_fresh(struct module_ctx *m, const char *q, struct buf *cmd)
{
	const char *owner = module_str(m, "owner"), *group = module_str(m, "group");
	json_t *v = json_object_get(m->args, "mode");
	const char *s = json_string_value(v);
	unsigned mode = 0;

	if (s && strcmp(s, "preserve") != 0) {
		if (!*s || strspn(s, "01234567") != strlen(s))
			return false; /* symbolic (or bad: reported the usual way) */
	} else if (v && !json_is_null(v) && !json_is_integer(v) && !s)
		return false;
	if (v && !json_is_null(v) && files_mode(m, 0, false, &mode, NULL) < 0)
		return false;
	if (owner) {
		_cleanup_free_ char *qo = conn_quote(owner);
		buf_addf(cmd, "chown %s -- %s", qo, q);
	}
	if (group) {
		_cleanup_free_ char *qg = conn_quote(group);
		buf_addf(cmd, "%schgrp %s -- %s", cmd->len ? " && " : "", qg, q);
	}
	if (v && !json_is_null(v) && !(s && strcmp(s, "preserve") == 0))
		buf_addf(cmd, "%schmod %o -- %s", cmd->len ? " && " : "", mode, q);
	return true;
}

static void files_report_stat(
    struct module_ctx *m, const char *path, const char *key, const struct files_stat *st);

/* The keys Ansible reports about a path after a file module ran. */
static int
files_report(struct module_ctx *m, const char *path, const char *key)
{
	struct files_stat st;

	if (files_stat(m, path, false, false, &st, NULL) < 0)
		st.exists = false;
	files_report_stat(m, path, key, &st);
	return 0;
}

/* As files_report, from a stat already made (saves a round trip). */
static void
files_report_stat(
    struct module_ctx *m, const char *path, const char *key, const struct files_stat *stp)
{
	struct files_stat st = *stp;
	char mode[16];

	json_object_set_new(m->result, key, json_string(path));
	if (!st.exists) {
		json_object_set_new(m->result, "state", json_string("absent"));
		return;
	}
	snprintf(mode, sizeof mode, "%04o", st.mode & 07777);
	json_object_set_new(m->result, "mode", json_string(mode));
	json_object_set_new(m->result, "owner", json_string(st.owner));
	json_object_set_new(m->result, "group", json_string(st.group));
	json_object_set_new(m->result, "uid", json_integer(st.uid));
	json_object_set_new(m->result, "gid", json_integer(st.gid));
	json_object_set_new(m->result, "size", json_integer(st.size));
	/* As AnsibleModule.add_path_info: a file with more than one name is "hard". */
	json_object_set_new(m->result, "state",
	    json_string(st.type == 'd'               ? "directory"
	            : st.type == 'l'                 ? "link"
	            : st.type == 'f' && st.nlink > 1 ? "hard"
	                                             : "file"));
}

/* A backup copy "path.PID.YYYY-MM-DD@HH:MM:SS~" next to path. */
static int
files_backup(struct module_ctx *m, const char *path, struct dr_error *err)
{
	char stamp[64];
	time_t now = time(NULL);
	struct tm tm;
	_cleanup_free_ char *bk = NULL, *qp = conn_quote(path), *qb = NULL, *cmd = NULL;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%d@%H:%M:%S", &tm);
	bk = xasprintf("%s.%d.%s~", path, (int)getpid(), stamp);
	qb = conn_quote(bk);
	cmd = xasprintf("cp -p -- %s %s", qp, qb);
	if (files_run(m, cmd, err) < 0)
		return -1;
	json_object_set_new(m->result, "backup_file", json_string(bk));
	return 0;
}

/* Text for --diff, or NULL for binary or large data. */
static bool
files_is_text(const char *data, size_t len)
{
	return len <= FILES_DIFF_MAX && memchr(data, '\0', len) == NULL;
}

/*
 * Put data at dest the way copy and template do: validate first, keep a backup, keep the
 * mode of a file being replaced; report changed and the diff. *changed set when written.
 */
static int
files_put(struct module_ctx *m, const char *dest, const char *data, size_t len,
    const char *src_label, bool *changed, const struct files_known *known, struct dr_error *err)
{
	struct files_stat st, ds;
	char sum[41];
	bool force = !json_object_get(m->args, "force") || module_bool(m, "force");
	const char *validate = module_str(m, "validate");
	unsigned mode = 0644;

	/* dest and, when it is absent, its directory: one round trip */
	if (known && known->valid) {
		st = known->st;
		ds = known->parent;
	} else if (files_run_stat(m, NULL, dest, true, true, &st, &ds, err) < 0)
		return -1;
	if (st.exists && st.type == 'd')
		return dr_error_set(err, "can not use content with a dir as dest");
	if (!st.exists && strrchr(dest, '/') && strrchr(dest, '/') != dest && !ds.exists &&
	    !m->check) {
		_cleanup_free_ char *dir = xstrndup(dest, (size_t)(strrchr(dest, '/') - dest));
		return dr_error_set(err, "Destination directory %s does not exist", dir);
	}
	files_sha1(data, len, sum);
	json_object_set_new(m->result, "checksum", json_string(sum));
	if (st.exists && (strcmp(st.checksum, sum) == 0 || !force))
		return 0;
	*changed = true;
	if (m->diff) {
		struct buf old = BUF_INIT(FILES_DIFF_MAX + 1);
		json_t *d = json_object();
		if (st.exists && st.size <= FILES_DIFF_MAX &&
		    conn_get(m->conn, dest, FILES_DIFF_MAX, &old, NULL) == 0 &&
		    files_is_text(old.data ? old.data : "", old.len) && files_is_text(data, len)) {
			json_object_set_new(
			    d, "before", module_text(old.data ? old.data : "", old.len));
			json_object_set_new(d, "after", module_text(data, len));
		} else if (!st.exists && files_is_text(data, len)) {
			json_object_set_new(d, "before", json_string(""));
			json_object_set_new(d, "after", module_text(data, len));
		} else {
			json_object_set_new(d, "before", json_string(""));
			json_object_set_new(d, "after", json_string(""));
			json_object_set_new(
			    d, "prepared", json_string("Binary or large file: not shown"));
		}
		if (st.exists)
			json_object_set_new(d, "before_header", json_string(dest));
		json_object_set_new(d, "after_header", json_string(src_label ? src_label : dest));
		json_object_set_new(m->result, "diff", d);
		buf_free(&old);
	}
	if (m->check)
		return 0;
	if (st.exists)
		mode = st.mode & 07777;
	if (validate) {
		const char *tmpdir;
		if (!strstr(validate, "%s"))
			return dr_error_set(err, "validate must contain %%s: %s", validate);
		if (conn_tmpdir(m->conn, &tmpdir, err) < 0)
			return -1;
		_cleanup_free_ char *tmp = xasprintf("%s/validate-%ld", tmpdir, (long)random());
		if (conn_put(m->conn, tmp, data, len, 0600, err) < 0)
			return -1;
		_cleanup_free_ char *qt = conn_quote(tmp);
		struct buf cmd = BUF_INIT(0);
		for (const char *p = validate; *p; p++) {
			if (p[0] == '%' && p[1] == 's') {
				buf_adds(&cmd, qt);
				p++;
			} else
				buf_addc(&cmd, *p);
		}
		struct conn_result r = {0};
		int rc = module_exec(m, cmd.data, NULL, 0, &r, err);
		buf_free(&cmd);
		_cleanup_free_ char *rm = xasprintf("rm -f %s", qt);
		struct conn_result r2 = {0};
		if (module_exec(m, rm, NULL, 0, &r2, NULL) == 0)
			conn_result_free(&r2);
		if (rc < 0)
			return -1;
		if (r.status != 0) {
			json_object_set_new(m->result, "exit_status", json_integer(r.status));
			json_object_set_new(m->result, "stdout", module_text(r.out, r.out_len));
			json_object_set_new(m->result, "stderr", module_text(r.err, r.err_len));
			dr_error_set(err, "failed to validate");
			conn_result_free(&r);
			return -1;
		}
		conn_result_free(&r);
	}
	if (st.exists && module_bool(m, "backup") && files_backup(m, dest, err) < 0)
		return -1;
	return conn_put(m->conn, dest, data, len, (int)mode, err);
}

/*
 * What a file just written is, from the connection's lstat (no command), with its owner
 * and group named after a stat made before it (dest's or its directory's); false when
 * that cannot tell.
 */
static bool
files_written_stat(
    struct module_ctx *m, const char *path, const struct files_known *known, struct files_stat *st)
{
	const struct files_stat *from[] = {&known->st, &known->parent};
	struct conn_stat cs;

	if (!known->valid || conn_lstat(m->conn, path, &cs, NULL) != 0 || !cs.exists ||
	    !S_ISREG(cs.mode))
		return false;
	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < nitems(from); i++) {
		if (!from[i]->exists)
			continue;
		if (!st->owner[0] && from[i]->uid == cs.uid)
			str_copy(st->owner, from[i]->owner, sizeof(st->owner));
		if (!st->group[0] && from[i]->gid == cs.gid)
			str_copy(st->group, from[i]->group, sizeof(st->group));
	}
	if (!st->owner[0] || !st->group[0])
		return false;
	st->exists = true;
	st->type = 'f';
	st->mode = cs.mode & 07777;
	st->uid = cs.uid;
	st->gid = cs.gid;
	st->size = cs.size;
	return true;
}

/*
 * After copy or template put a file: report dest and src, apply and report the file
 * attributes (mode, owner, group) and the final changed flag, as Ansible does. known:
 * the stat files_put started from (NULL: none), which still holds when nothing was
 * written.
 */
static int
files_put_done(struct module_ctx *m, const char *target, const char *local, bool changed,
    const struct files_known *known, struct dr_error *err)
{
	struct files_stat st;

	json_object_set_new(m->result, "dest", json_string(target));
	if (local)
		json_object_set_new(m->result, "src", json_string(local));
	bool attrs_changed = false;
	struct files_stat rep = {0};

	if (!m->check || !changed) {
		if (known && known->valid && !changed)
			st = known->st;
		else if (!(known && changed && files_written_stat(m, target, known, &st)) &&
		    files_stat(m, target, true, false, &st, err) < 0)
			return -1;
		if (st.exists &&
		    files_attrs(m, target, &st, true, &attrs_changed, NULL, NULL,
		        m->check ? NULL : &rep, err) < 0)
			return -1;
		if (!st.exists)
			rep = st;
	}
	changed = changed || attrs_changed;
	json_object_set_new(m->result, "changed", json_boolean(changed));
	if (!m->check)
		files_report_stat(m, target, "dest", &rep);
	return 0;
}

/*
 * dest, or dest/basename(src) when dest is a directory or ends in '/'. When dest itself
 * is the answer and known is given, the stat made of it is left there for files_put.
 */
static char *
files_dest(struct module_ctx *m, const char *dest, const char *src, struct files_known *known,
    struct dr_error *err)
{
	struct files_known k = {0};
	const char *base = src ? strrchr(src, '/') : NULL;

	base = base ? base + 1 : src;
	if (known)
		known->valid = false;
	if (!src)
		return xstrdup(dest);
	if (str_has_suffix(dest, "/"))
		return xasprintf("%s%s", dest, base);
	if (files_run_stat(
	        m, NULL, dest, true, known != NULL, &k.st, known ? &k.parent : NULL, err) < 0)
		return NULL;
	if (k.st.exists && k.st.type == 'd')
		return xasprintf("%s/%s", dest, base);
	if (known) {
		k.valid = true;
		*known = k;
	}
	return xstrdup(dest);
}

/* mkdir -p the directory of path (for copy into a new directory). */
static int
files_parent(struct module_ctx *m, const char *path, bool *changed, struct dr_error *err)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	struct files_stat st;

	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (files_stat(m, dir, true, false, &st, err) < 0)
		return -1;
	if (st.exists)
		return st.type == 'd' ? 0 : dr_error_set(err, "%s is not a directory", dir);
	*changed = true;
	if (m->check)
		return 0;
	_cleanup_free_ char *q = conn_quote(dir), *cmd = xasprintf("mkdir -p -- %s", q);
	return files_run(m, cmd, err);
}

/* Copy a local directory tree (src) to dest on the host. */
static int
files_copy_tree(struct module_ctx *m, const char *src, const char *dest, int depth, bool *changed,
    struct dr_error *err)
{
	struct dirent **list;
	int n;
	struct files_stat st;

	if (depth > 64)
		return dr_error_set(err, "%s: directories nest too deeply", src);
	if (files_stat(m, dest, true, false, &st, err) < 0)
		return -1;
	if (!st.exists) {
		*changed = true;
		if (!m->check) {
			_cleanup_free_ char *q = conn_quote(dest),
			                    *cmd = xasprintf("mkdir -p -- %s", q);
			if (files_run(m, cmd, err) < 0)
				return -1;
		}
	}
	n = scandir(src, &list, NULL, alphasort);
	if (n < 0)
		return dr_error_errno(err, "%s", src);
	int rc = 0;
	for (int i = 0; i < n; i++) {
		const char *nm = list[i]->d_name;
		if (rc == 0 && strcmp(nm, ".") != 0 && strcmp(nm, "..") != 0) {
			_cleanup_free_ char *s = xasprintf("%s/%s", src, nm),
			                    *d = xasprintf("%s/%s", dest, nm);
			struct stat ls;
			if (stat(s, &ls) < 0)
				rc = dr_error_errno(err, "%s", s);
			else if (S_ISDIR(ls.st_mode))
				rc = files_copy_tree(m, s, d, depth + 1, changed, err);
			else {
				char *data;
				size_t len;
				bool c = false;
				if (file_read(s, FILES_MAX, &data, &len, err) < 0)
					rc = -1;
				else {
					rc = files_put(m, d, data, len, s, &c, NULL, err);
					free(data);
					if (c)
						*changed = true;
					if (rc == 0 && !m->check) {
						struct files_stat fs;
						if (files_stat(m, d, true, false, &fs, err) < 0 ||
						    files_attrs(m, d, &fs, true, changed, NULL,
						        NULL, NULL, err) < 0)
							rc = -1;
					}
				}
			}
		}
		free(list[i]);
	}
	free(list);
	return rc;
}

/* copy: content or a controller file (or directory), or remote_src. */
static int
files_copy(struct module_ctx *m, struct dr_error *err)
{
	const char *src = module_str(m, "src"), *dest = module_str(m, "dest");
	json_t *content = json_object_get(m->args, "content");
	_cleanup_free_ char *local = NULL, *target = NULL;
	char *data = NULL;
	size_t len = 0;
	bool changed = false;
	struct files_stat st;
	struct files_known known = {0};
	int rc;

	if (content && !json_is_null(content) && src)
		return dr_error_set(err, "src and content are mutually exclusive");
	if ((!content || json_is_null(content)) && !src)
		return dr_error_set(err, "src (or content) is required");
	if (module_bool(m, "remote_src")) {
		_cleanup_free_ char *qs = conn_quote(src);
		struct buf b = BUF_INIT(FILES_MAX);
		if (files_stat(m, src, true, false, &st, err) < 0)
			return -1;
		if (!st.exists)
			return dr_error_set(err, "Source %s not found", src);
		if (st.type == 'd') {
			target =
			    files_dest(m, dest, str_has_suffix(src, "/") ? NULL : src, NULL, err);
			if (!target)
				return -1;
			_cleanup_free_ char *qd = conn_quote(target);
			_cleanup_free_ char *cmd =
			    xasprintf("mkdir -p -- %s && diff -rq %s%s %s >/dev/null 2>&1", qd, qs,
			        str_has_suffix(src, "/") ? "" : "/", qd);
			struct conn_result r = {0};
			if (module_exec(m, cmd, NULL, 0, &r, err) < 0)
				return -1;
			changed = r.status != 0;
			conn_result_free(&r);
			if (changed && !m->check) {
				_cleanup_free_ char *cp = xasprintf(
				    "cp -a %s%s. %s", qs, str_has_suffix(src, "/") ? "" : "/", qd);
				if (files_run(m, cp, err) < 0)
					return -1;
			}
			json_object_set_new(m->result, "changed", json_boolean(changed));
			json_object_set_new(m->result, "dest", json_string(target));
			return 0;
		}
		if (conn_get(m->conn, src, FILES_MAX, &b, err) < 0)
			return -1;
		len = b.len;
		data = buf_steal(&b);
		local = xstrdup(src);
	} else if (src) {
		struct stat ls;
		if (module_file_find(m, "files", src, &local, err) < 0)
			return -1;
		if (stat(local, &ls) == 0 && S_ISDIR(ls.st_mode)) {
			/* "dir/" copies the contents, "dir" the directory itself */
			target = str_has_suffix(src, "/") ? xstrdup(dest) : NULL;
			if (!target) {
				_cleanup_free_ char *trimmed = xstrdup(local);
				target =
				    xasprintf("%s%s%s", dest, str_has_suffix(dest, "/") ? "" : "/",
				        strrchr(trimmed, '/') + 1);
			}
			rc = files_copy_tree(m, local, target, 0, &changed, err);
			json_object_set_new(m->result, "changed", json_boolean(changed));
			json_object_set_new(m->result, "dest", json_string(target));
			return rc;
		}
		if (file_read(local, FILES_MAX, &data, &len, err) < 0)
			return -1;
	} else {
		if (json_is_string(content)) {
			len = json_string_length(content);
			data = xmalloc(len + 1);
			memcpy(data, json_string_value(content), len + 1);
		} else {
			/* a dict or list given as content is written as JSON, as Ansible does */
			data = json_dumps(content, JSON_ENCODE_ANY | JSON_SORT_KEYS);
			len = strlen(data);
		}
	}
	target = files_dest(m, dest, src, &known, err);
	if (!target) {
		free(data);
		return -1;
	}
	if (str_has_suffix(dest, "/") && files_parent(m, target, &changed, err) < 0) {
		free(data);
		return -1;
	}
	/* the stat files_put starts from, kept for files_put_done (one round trip less) */
	if (!known.valid && !str_has_suffix(dest, "/")) {
		if (files_run_stat(m, NULL, target, true, true, &known.st, &known.parent, err) <
		    0) {
			free(data);
			return -1;
		}
		known.valid = true;
	}
	rc = files_put(m, target, data, len, local, &changed, &known, err);
	free(data);
	if (rc < 0)
		return -1;
	return files_put_done(m, target, local, changed, &known, err);
}

static const struct module_arg files_copy_args[] = {
    {"src", MT_PATH, false, NULL, NULL, NULL},
    {"content", MT_RAW, false, NULL, NULL, NULL},
    {"dest", MT_PATH, true, NULL, NULL, NULL},
    {"remote_src", MT_BOOL, false, "no", NULL, NULL},
    {"backup", MT_BOOL, false, "no", NULL, NULL},
    {"force", MT_BOOL, false, "yes", NULL, "thirsty"},
    {"validate", MT_STR, false, NULL, NULL, NULL},
    {"mode", MT_MODE, false, NULL, NULL, NULL},
    {"owner", MT_STR, false, NULL, NULL, NULL},
    {"group", MT_STR, false, NULL, NULL, NULL},
    {"directory_mode", MT_MODE, false, NULL, NULL, NULL},
    {"follow", MT_BOOL, false, "no", NULL, NULL},
    {"local_follow", MT_BOOL, false, "yes", NULL, NULL},
    {"decrypt", MT_BOOL, false, "yes", NULL, NULL},
    {"checksum", MT_STR, false, NULL, NULL, NULL},
    {"unsafe_writes", MT_BOOL, false, "no", NULL, NULL},
    {"seuser", MT_STR, false, NULL, NULL, NULL},
    {"serole", MT_STR, false, NULL, NULL, NULL},
    {"setype", MT_STR, false, NULL, NULL, NULL},
    {"selevel", MT_STR, false, NULL, NULL, NULL},
    {"attributes", MT_STR, false, NULL, NULL, "attr"},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* template: render a controller template with the task's variables, then copy it. */
static int
files_template(struct module_ctx *m, struct dr_error *err)
{
	const char *src = module_str(m, "src"), *dest = module_str(m, "dest");
	_cleanup_free_ char *local = NULL, *out = NULL, *dir = NULL;
	char *text;
	size_t len;
	bool changed = false;
	json_t *vars;
	int rc;

	if (module_file_find(m, "templates", src, &local, err) < 0)
		return -1;
	if (file_read(local, FILES_MAX, &text, &len, err) < 0)
		return -1;
	dir = xstrdup(local);
	*strrchr(dir, '/') = '\0';
	vars = json_copy((json_t *)m->vars);
	json_object_set_new(vars, "template_host", json_string(m->host));
	json_object_set_new(vars, "template_path", json_string(local));
	json_object_set_new(vars, "template_fullpath", json_string(local));
	json_object_set_new(vars, "template_destpath", json_string(dest));
	json_object_set_new(vars, "template_uid", json_string(""));
	json_object_set_new(vars, "ansible_managed", json_string("Ansible managed"));
	rc = vars_render_file(vars, local, text, dir, &out, err);
	json_decref(vars);
	free(text);
	if (rc < 0)
		return -1;
	/* Jinja drops one trailing newline unless keep_trailing_newline; Ansible keeps it */
	const char *nls = module_str(m, "newline_sequence");
	if (nls && strcmp(nls, "\n") != 0) {
		struct buf b = BUF_INIT(0);
		for (const char *p = out; *p; p++) {
			if (*p == '\n')
				buf_adds(&b, nls);
			else
				buf_addc(&b, *p);
		}
		free(out);
		out = buf_steal(&b);
	}
	struct files_known known;
	_cleanup_free_ char *target = files_dest(m, dest, src, &known, err);
	if (!target)
		return -1;
	if (files_put(m, target, out, strlen(out), local, &changed, &known, err) < 0)
		return -1;
	return files_put_done(m, target, local, changed, &known, err);
}

static const struct module_arg files_template_args[] = {
    {"src", MT_PATH, true, NULL, NULL, NULL},
    {"dest", MT_PATH, true, NULL, NULL, NULL},
    {"backup", MT_BOOL, false, "no", NULL, NULL},
    {"force", MT_BOOL, false, "yes", NULL, NULL},
    {"validate", MT_STR, false, NULL, NULL, NULL},
    {"mode", MT_MODE, false, NULL, NULL, NULL},
    {"owner", MT_STR, false, NULL, NULL, NULL},
    {"group", MT_STR, false, NULL, NULL, NULL},
    {"newline_sequence", MT_STR, false, "\n", "\n|\r|\r\n", NULL},
    {"trim_blocks", MT_BOOL, false, "yes", NULL, NULL},
    {"lstrip_blocks", MT_BOOL, false, "no", NULL, NULL},
    {"output_encoding", MT_STR, false, "utf-8", NULL, NULL},
    {"follow", MT_BOOL, false, "no", NULL, NULL},
    {"unsafe_writes", MT_BOOL, false, "no", NULL, NULL},
    {"attributes", MT_STR, false, NULL, NULL, "attr"},
    {NULL, 0, false, NULL, NULL, NULL},
};

/*
 * mkdir path and its missing parents, applying the attribute arguments to each new one.
 * Every prefix is stated in one round trip; when the attributes do not depend on what a
 * new directory is (no symbolic mode), the directories are made, given their attributes
 * and path stated in one more, and *ret_made tells that *rep is path's final state.
 */
static int
files_mkdirs(struct module_ctx *m, const char *path, bool *changed, struct files_stat *rep,
    bool *ret_made, struct dr_error *err)
{
	_cleanup_free_ char *p = xstrdup(path);
	size_t len = strlen(p), first = 0;
	struct buf cmd = BUF_INIT(0), attrs = BUF_INIT(0), mk = BUF_INIT(0);
	struct conn_result r = {0};
	bool fresh = true;
	char *cur;
	int rc = -1;

	*ret_made = false;
	/* every prefix ("/a", "/a/b", ... path) stated at once */
	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char hold = p[i];
		p[i] = '\0';
		buf_adds(&cmd, cmd.len ? "; " : "");
		files_stat_script(&cmd, p, true, false, false);
		p[i] = hold;
	}
	if (module_exec(m, cmd.data, NULL, 0, &r, err) < 0)
		goto out;
	if (r.status != 0) {
		dr_error_set(err, "cannot stat %s: %s", path, str_trim(r.err));
		goto out;
	}
	cur = r.out;
	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char hold = p[i];
		struct files_stat st;
		p[i] = '\0';
		if (files_stat_parse(&cur, p, false, &st, err) < 0)
			goto out;
		if (st.exists && st.type != 'd') {
			dr_error_set(
			    err, "%s already exists as a %s", p, st.type == 'f' ? "file" : "link");
			goto out;
		}
		if (!st.exists) {
			*changed = true;
			if (!first)
				first = i;
			_cleanup_free_ char *q = conn_quote(p);
			buf_reset(&attrs);
			if (fresh && files_attrs_fresh(m, q, &attrs))
				buf_addf(&mk, "%smkdir -- %s%s%s", mk.len ? " && " : "", q,
				    attrs.len ? " && " : "", attrs.len ? attrs.data : "");
			else
				fresh = false;
		}
		p[i] = hold;
	}
	rc = 0;
	if (!first || m->check)
		goto out;
	if (fresh) {
		rc = files_run_stat(m, mk.data, path, false, false, rep, NULL, err);
		*ret_made = rc == 0;
		goto out;
	}
	/* a symbolic mode: each new directory's attributes from what it is once made */
	for (size_t i = first; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char hold = p[i];
		struct files_stat st;
		p[i] = '\0';
		_cleanup_free_ char *q = conn_quote(p), *c = xasprintf("mkdir -- %s", q);
		rc = files_run_stat(m, c, p, true, false, &st, NULL, err);
		if (rc == 0)
			rc = files_attrs(m, p, &st, true, changed, NULL, NULL, NULL, err);
		p[i] = hold;
		if (rc < 0)
			goto out;
	}
out:
	conn_result_free(&r);
	buf_free(&cmd);
	buf_free(&attrs);
	buf_free(&mk);
	return rc;
}

/* recurse: owner, group and mode on everything under a directory. */
static int
files_recurse(
    struct module_ctx *m, const char *path, bool follow, bool *changed, struct dr_error *err)
{
	struct conn_result r = {0};
	_cleanup_free_ char *q = conn_quote(path);
	_cleanup_free_ char *cmd = xasprintf(
	    "find %s %s -mindepth 1 -printf '%%m|%%y|%%u|%%g|%%U|%%G|%%p\\n' | head -n %d",
	    follow ? "-L" : "", q, FILES_TREE_MAX + 1);
	char *save = NULL;
	int n = 0;

	if (module_exec(m, cmd, NULL, 0, &r, err) < 0)
		return -1;
	for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct files_stat st = {.exists = true};
		char type[4], p[PATH_MAX];
		if (++n > FILES_TREE_MAX) {
			conn_result_free(&r);
			return dr_error_set(
			    err, "%s: more than %d entries to recurse into", path, FILES_TREE_MAX);
		}
		if (sscanf(line, "%o|%3[^|]|%63[^|]|%63[^|]|%lld|%lld|%4095[^\n]", &st.mode, type,
		        st.owner, st.group, &st.uid, &st.gid, p) != 7)
			continue;
		st.type = type[0] == 'd' ? 'd' : type[0] == 'l' ? 'l' : 'f';
		if (files_attrs(m, p, &st, follow, changed, NULL, NULL, NULL, err) < 0) {
			conn_result_free(&r);
			return -1;
		}
	}
	conn_result_free(&r);
	return 0;
}

/* file: state file, directory, link, hard, touch, absent. */
static int
files_file(struct module_ctx *m, struct dr_error *err)
{
	const char *path = module_str(m, "path"), *state = module_str(m, "state");
	const char *src = module_str(m, "src");
	bool follow = module_bool(m, "follow"), force = module_bool(m, "force");
	bool changed = false, reported = false, made = false;
	struct files_stat st, touched, rep;
	json_t *before = json_pack("{s:s}", "path", path),
	       *after = json_pack("{s:s}", "path", path);
	_cleanup_free_ char *q = conn_quote(path);
	const char *mt = module_str(m, "modification_time"), *at = module_str(m, "access_time");
	bool preserve = mt && at && strcmp(mt, "preserve") == 0 && strcmp(at, "preserve") == 0;
	bool touch = state && strcmp(state, "touch") == 0 && !m->check;
	int rc = -1;

	if (touch && src) {
		dr_error_set(err, "src option requires state to be 'link' or 'hard'");
		goto out;
	}
	if (touch) {
		/*
		 * One round trip: the state before, the touch, the state after. A file this
		 * makes gets the attributes asked for in the same command when they do not
		 * depend on its state (and no diff wants the state in between).
		 */
		struct conn_result r = {0};
		struct buf cmd = BUF_INIT(0), attrs = BUF_INIT(0);
		bool fresh_attrs = !m->diff && files_attrs_fresh(m, q, &attrs);
		char *cur;

		buf_addf(&cmd, "n=; [ -e %s ] || [ -L %s ] || n=1\n", q, q);
		files_stat_script(&cmd, path, follow, false, false);
		buf_addf(&cmd, "\n{ %stouch -- %s\n} >&2 && ",
		    preserve ? "[ -e \"$p\" ] || [ -L \"$p\" ] || " : "", q);
		if (fresh_attrs) {
			buf_addf(&cmd, "if [ \"$n\" ]; then { %s\n} >&2 && { ",
			    attrs.len ? attrs.data : ":");
			files_stat_script(&cmd, path, false, false, false);
			buf_adds(&cmd, "; }; else ");
		}
		buf_adds(&cmd, "{ ");
		files_stat_script(&cmd, path, follow, false, false);
		buf_adds(&cmd, fresh_attrs ? "; }; fi" : "; }");
		rc = module_exec(m, cmd.data, NULL, 0, &r, err);
		buf_free(&cmd);
		buf_free(&attrs);
		if (rc < 0)
			goto out;
		cur = r.out;
		if (r.status != 0 && files_stat_parse(&cur, path, false, &st, NULL) < 0)
			rc = dr_error_set(err, "cannot stat %s: %s", path, str_trim(r.err));
		else if (r.status != 0)
			rc = dr_error_set(err, "%s", *r.err ? str_trim(r.err) : "touch failed");
		else if (files_stat_parse(&cur, path, false, &st, err) < 0 ||
		    files_stat_parse(&cur, path, false, &touched, err) < 0)
			rc = -1;
		conn_result_free(&r);
		if (rc < 0)
			goto out;
		rc = -1;
		/* made here with its attributes: touched is the final state, as reported */
		made = fresh_attrs && !st.exists && touched.exists;
	} else if (files_stat(m, path, follow, false, &st, err) < 0)
		goto out;
	const char *prev = !st.exists ? "absent"
	    : st.type == 'd'          ? "directory"
	    : st.type == 'l'          ? "link"
	    : st.nlink > 1            ? "hard"
	                              : "file";
	if (!state)
		state = st.exists ? (strcmp(prev, "hard") == 0 ? "file" : prev) : "file";
	if (src && strcmp(state, "link") != 0 && strcmp(state, "hard") != 0) {
		dr_error_set(err, "src option requires state to be 'link' or 'hard'");
		goto out;
	}
	json_object_set_new(before, "state", json_string(prev));
	json_object_set_new(after, "state", json_string(state));
	if (strcmp(state, "absent") == 0) {
		if (st.exists) {
			changed = true;
			if (!m->check) {
				_cleanup_free_ char *cmd = xasprintf("rm -rf -- %s", q);
				if (files_run(m, cmd, err) < 0)
					goto out;
			}
		}
		json_object_set_new(m->result, "path", json_string(path));
		json_object_set_new(
		    m->result, "state", json_string(st.exists && !m->check ? "absent" : prev));
		json_object_set_new(m->result, "changed", json_boolean(changed));
		if (m->diff && changed)
			json_object_set_new(m->result, "diff",
			    json_pack("{s:O,s:O}", "before", before, "after", after));
		rc = 0;
		goto out;
	}
	if (strcmp(state, "file") == 0) {
		if (!st.exists) {
			dr_error_set(err, "file (%s) is absent, cannot continue", path);
			json_object_set_new(m->result, "path", json_string(path));
			json_object_set_new(m->result, "state", json_string("absent"));
			goto out;
		}
		if (st.type == 'd') {
			dr_error_set(err, "file (%s) is directory, cannot continue", path);
			goto out;
		}
		if (files_attrs(m, path, &st, true, &changed, before, after,
		        m->check ? NULL : &rep, err) < 0)
			goto out;
		reported = !m->check;
	} else if (strcmp(state, "directory") == 0) {
		if (st.exists && st.type != 'd') {
			dr_error_set(err, "%s already exists as a %s", path, prev);
			goto out;
		}
		if (!st.exists) {
			if (files_mkdirs(m, path, &changed, &rep, &reported, err) < 0)
				goto out;
		} else if (files_attrs(m, path, &st, true, &changed, before, after,
		               m->check ? NULL : &rep, err) < 0)
			goto out;
		else
			reported = !m->check;
		if (module_bool(m, "recurse") && !(m->check && !st.exists) &&
		    files_recurse(m, path, follow, &changed, err) < 0)
			goto out;
	} else if (strcmp(state, "touch") == 0) {
		if (!st.exists || !preserve)
			changed = true; /* touched above unless in check mode */
		if (made) {
			rep = touched;
			reported = true;
		} else if (!m->check || st.exists) {
			if (touch)
				st = touched;
			if (st.exists &&
			    files_attrs(m, path, &st, true, &changed, before, after,
			        m->check ? NULL : &rep, err) < 0)
				goto out;
			reported = st.exists && !m->check;
		}
		if (!json_object_get(before, "mode") && !st.exists) {
			json_object_set_new(before, "state", json_string("absent"));
			json_object_set_new(after, "state", json_string("touch"));
		}
	} else if (strcmp(state, "link") == 0 || strcmp(state, "hard") == 0) {
		bool hard = strcmp(state, "hard") == 0;
		struct files_stat lst, sst;
		if (!src) {
			dr_error_set(err, "src is required for creating new links");
			goto out;
		}
		if (files_stat(m, path, false, false, &lst, err) < 0)
			goto out;
		/* a relative src is relative to the link's directory */
		_cleanup_free_ char *dir = xstrdup(path);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		_cleanup_free_ char *abs = src[0] == '/' || !slash
		    ? xstrdup(src)
		    : xasprintf("%s/%s", *dir ? dir : "/", src);
		if (files_stat(m, abs, true, false, &sst, err) < 0)
			goto out;
		if (!sst.exists && (hard || !force)) {
			dr_error_set(err,
			    "src file does not exist, use \"force=yes\" if you really want "
			    "to create the link: %s",
			    abs);
			goto out;
		}
		bool same;
		if (hard)
			same = lst.exists && lst.type != 'l' && sst.exists &&
			    lst.inode == sst.inode && lst.dev == sst.dev;
		else
			same = lst.exists && lst.type == 'l' && strcmp(lst.target, src) == 0;
		if (lst.exists && !same && lst.type != 'l' && !(hard && lst.type == 'f') &&
		    !force) {
			dr_error_set(err, "refusing to convert from %s to %s for %s",
			    lst.type == 'd' ? "directory" : "file", hard ? "hard link" : "symlink",
			    path);
			goto out;
		}
		if (lst.exists && lst.type == 'd' && !same) {
			dr_error_set(err, "the directory %s is in the way of the link", path);
			goto out;
		}
		if (!same) {
			changed = true;
			json_object_set_new(
			    before, "src", json_string(lst.type == 'l' ? lst.target : ""));
			json_object_set_new(after, "src", json_string(src));
			if (!m->check) {
				/* made and stated in one round trip */
				_cleanup_free_ char *qs = conn_quote(src);
				_cleanup_free_ char *cmd =
				    xasprintf("ln %s -f -- %s %s", hard ? "" : "-sn", qs, q);
				if (files_run_stat(m, cmd, path, false, false, &lst, NULL, err) <
				    0)
					goto out;
			}
		}
		if (!m->check || same) {
			/* lst is the link as it is now: the report, unless attributes change */
			bool attr_changed = false;
			if (files_attrs(m, path, &lst, follow, &attr_changed, before, after, NULL,
			        err) < 0)
				goto out;
			changed = changed || attr_changed;
			if (!attr_changed && !m->check) {
				rep = lst;
				reported = true;
			}
		}
		json_object_set_new(m->result, "src", json_string(src));
	} else {
		dr_error_set(err, "unknown state %s", state);
		goto out;
	}
	if (m->diff && changed) {
		json_object_set_new(
		    m->result, "diff", json_pack("{s:O,s:O}", "before", before, "after", after));
	}
	json_object_set_new(m->result, "changed", json_boolean(changed));
	/* Ansible's ensure_symlink and ensure_hardlink answer with "dest", the others "path". */
	const char *key =
	    strcmp(state, "link") == 0 || strcmp(state, "hard") == 0 ? "dest" : "path";
	if (reported)
		files_report_stat(m, path, key, &rep);
	else if (!m->check)
		files_report(m, path, key);
	else {
		json_object_set_new(m->result, key, json_string(path));
		json_object_set_new(m->result, "state", json_string(state));
	}
	rc = 0;
out:
	json_decref(before);
	json_decref(after);
	return rc;
}

static const struct module_arg files_file_args[] = {
    {"path", MT_PATH, true, NULL, NULL, "dest|name"},
    {"state", MT_STR, false, NULL, "absent|directory|file|hard|link|touch", NULL},
    {"src", MT_PATH, false, NULL, NULL, NULL},
    {"mode", MT_MODE, false, NULL, NULL, NULL},
    {"owner", MT_STR, false, NULL, NULL, NULL},
    {"group", MT_STR, false, NULL, NULL, NULL},
    {"recurse", MT_BOOL, false, "no", NULL, NULL},
    {"force", MT_BOOL, false, "no", NULL, NULL},
    {"follow", MT_BOOL, false, "yes", NULL, NULL},
    {"modification_time", MT_STR, false, NULL, NULL, NULL},
    {"modification_time_format", MT_STR, false, "%Y%m%d%H%M.%S", NULL, NULL},
    {"access_time", MT_STR, false, NULL, NULL, NULL},
    {"access_time_format", MT_STR, false, "%Y%m%d%H%M.%S", NULL, NULL},
    {"unsafe_writes", MT_BOOL, false, "no", NULL, NULL},
    {"attributes", MT_STR, false, NULL, NULL, "attr"},
    {"seuser", MT_STR, false, NULL, NULL, NULL},
    {"serole", MT_STR, false, NULL, NULL, NULL},
    {"setype", MT_STR, false, NULL, NULL, NULL},
    {"selevel", MT_STR, false, NULL, NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* stat: facts about a path. */
static int
files_stat_module(struct module_ctx *m, struct dr_error *err)
{
	const char *path = module_str(m, "path");
	struct files_stat st;
	json_t *s;
	char mode[16];

	if (files_stat(
	        m, path, module_bool(m, "follow"), module_bool(m, "get_checksum"), &st, err) < 0)
		return -1;
	if (!st.exists) {
		json_object_set_new(m->result, "stat", json_pack("{s:b}", "exists", 0));
		return 0;
	}
	snprintf(mode, sizeof mode, "%04o", st.mode & 07777);
	s = json_pack("{s:b,s:s,s:s,s:b,s:b,s:b,s:I,s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I}",
	    "exists", 1, "path", path, "mode", mode, "isdir", st.type == 'd', "isreg",
	    st.type == 'f', "islnk", st.type == 'l', "uid", (json_int_t)st.uid, "gid",
	    (json_int_t)st.gid, "pw_name", st.owner, "gr_name", st.group, "size",
	    (json_int_t)st.size, "mtime", (json_int_t)st.mtime, "atime", (json_int_t)st.atime,
	    "inode", (json_int_t)st.inode, "nlink", (json_int_t)st.nlink, "dev",
	    (json_int_t)st.dev);
	json_object_set_new(s, "xusr", json_boolean(st.mode & 0100));
	json_object_set_new(s, "rusr", json_boolean(st.mode & 0400));
	json_object_set_new(s, "wusr", json_boolean(st.mode & 0200));
	json_object_set_new(s, "xgrp", json_boolean(st.mode & 0010));
	json_object_set_new(s, "rgrp", json_boolean(st.mode & 0040));
	json_object_set_new(s, "wgrp", json_boolean(st.mode & 0020));
	json_object_set_new(s, "xoth", json_boolean(st.mode & 0001));
	json_object_set_new(s, "roth", json_boolean(st.mode & 0004));
	json_object_set_new(s, "woth", json_boolean(st.mode & 0002));
	if (st.type == 'l') {
		json_object_set_new(s, "lnk_target", json_string(st.target));
		json_object_set_new(s, "lnk_source", json_string(st.target));
	}
	if (st.checksum[0])
		json_object_set_new(s, "checksum", json_string(st.checksum));
	json_object_set_new(m->result, "stat", s);
	return 0;
}

static const struct module_arg files_stat_args[] = {
    {"path", MT_PATH, true, NULL, NULL, "dest|name"},
    {"follow", MT_BOOL, false, "no", NULL, NULL},
    {"get_checksum", MT_BOOL, false, "yes", NULL, NULL},
    {"checksum_algorithm", MT_STR, false, "sha1", "sha1", "checksum|checksum_algo"},
    {"get_mime", MT_BOOL, false, "yes", NULL, "mime|mime_type|mime-type"},
    {"get_attributes", MT_BOOL, false, "yes", NULL, "attr|attributes"},
    {"get_md5", MT_BOOL, false, "no", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* --- editing text files -------------------------------------------------------------- */

/* A compiled Python-style regular expression; errors name the pattern. */
static pcre2_code *
files_re(const char *pat, uint32_t flags, struct dr_error *err)
{
	int ec;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile(
	    (PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, flags | PCRE2_UTF, &ec, &off, NULL);

	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ec, msg, sizeof msg);
		dr_error_set(err, "bad regular expression '%s': %s", pat, (char *)msg);
	}
	return re;
}

/* Python's match.expand(template): \1, \g<1>, \g<name>, \n, \t, \\. */
static void
files_expand(
    const char *tmpl, pcre2_code *re, pcre2_match_data *md, const char *subject, struct buf *out)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	uint32_t n = pcre2_get_ovector_count(md);

	for (const char *p = tmpl; *p; p++) {
		long g = -1;
		if (*p != '\\' || !p[1]) {
			buf_addc(out, *p);
			continue;
		}
		p++;
		if (isdigit((unsigned char)*p)) {
			g = *p - '0';
			if (isdigit((unsigned char)p[1]))
				g = g * 10 + (*++p - '0');
		} else if (*p == 'g' && p[1] == '<') {
			const char *end = strchr(p, '>');
			if (end) {
				_cleanup_free_ char *name = xstrndup(p + 2, (size_t)(end - p - 2));
				char *e;
				g = strtol(name, &e, 10);
				if (*e)
					g = pcre2_substring_number_from_name(re, (PCRE2_SPTR)name);
				p = end;
			}
		} else {
			buf_addc(out, *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'r' ? '\r' : *p);
			continue;
		}
		if (g >= 0 && (uint32_t)g < n && ov[2 * g] != PCRE2_UNSET)
			buf_add(out, subject + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
	}
}

/* Split text into lines that keep their line ends. */
static json_t *
files_split_lines(const char *s, size_t len)
{
	json_t *l = json_array();
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (s + i)) + 1 : len - i;
		json_array_append_new(l, json_stringn_nocheck(s + i, n));
		i += n;
	}
	return l;
}

/* A line without its line end equals text. */
static bool
files_line_eq(const char *line, const char *text)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	return strlen(text) == n && strncmp(line, text, n) == 0;
}

static const char *
files_ls(const json_t *lines, size_t i)
{
	return json_string_value(json_array_get(lines, i));
}

static bool
files_re_search(pcre2_code *re, pcre2_match_data *md, const char *s)
{
	return pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL) >= 0;
}

/* Largest file files_read_text reads with its stat in one command (larger: over the backend). */
#define FILES_READ_INLINE (4u << 20)

/*
 * Read a text file the module edits, with its stat (through links): one round trip, the
 * stat script followed by the file's bytes. st->exists false when it does not exist.
 */
static int
files_read_text(struct module_ctx *m, const char *path, struct buf *out, struct files_stat *st,
    struct dr_error *err)
{
	struct conn_result r = {0};
	struct buf cmd = BUF_INIT(0);
	char *cur;
	int rc = -1;

	files_stat_script(&cmd, path, true, false, false);
	buf_addf(&cmd, "; if [ -f \"$p\" ]; then head -c %u -- \"$p\" || exit 4; fi",
	    FILES_READ_INLINE + 1);
	if (module_exec(m, cmd.data, NULL, 0, &r, err) < 0)
		goto out;
	if (r.status != 0 && r.status != 4) {
		dr_error_set(err, "cannot stat %s: %s", path, str_trim(r.err));
		goto out;
	}
	cur = r.out;
	if (files_stat_parse(&cur, path, false, st, err) < 0)
		goto out;
	rc = 0;
	if (!st->exists)
		goto out;
	if (st->type == 'd') {
		rc = dr_error_set(err, "Path %s is a directory !", path);
		goto out;
	}
	size_t n = r.out_len - (size_t)(cur - r.out);
	/* not read here (not a regular file, unreadable, large): the backend says why */
	if (r.status != 0 || st->type != 'f' || n > FILES_READ_INLINE)
		rc = conn_get(m->conn, path, FILES_MAX, out, err);
	else if (buf_add(out, cur, n) < 0)
		rc = dr_error_set(err, "%s: larger than %u bytes", path, FILES_MAX);
out:
	conn_result_free(&r);
	buf_free(&cmd);
	return rc;
}

/*
 * Write an edited text file (backup, validate, diff, attributes) and set changed/msg.
 * rst: the stat files_read_text made, which still holds when nothing is written.
 */
static int
files_write_text(struct module_ctx *m, const char *path, const char *before,
    const struct files_stat *rst, const char *after, bool changed, const char *msg,
    struct dr_error *err)
{
	struct files_stat st;
	struct files_known known = {.valid = rst->exists && rst->type == 'f', .st = *rst};
	bool attr_changed = false, existed = rst->exists, written = false;
	_cleanup_free_ char *real = NULL;

	known.st.checksum[0] = '\0'; /* the text differs: written unless check mode */
	/* A link is edited where it points, as Ansible writes to os.path.realpath(path). */
	if (changed && !m->check && existed && rst->target[0] != '\0') {
		_cleanup_free_ char *q = conn_quote(path),
		                    *cmd = xasprintf("readlink -f -- %s", q);
		struct conn_result r = {0};

		if (module_exec(m, cmd, NULL, 0, &r, err) < 0)
			return -1;
		if (r.status != 0 || r.out == NULL || *str_trim(r.out) == '\0') {
			dr_error_set(err, "cannot resolve the link %s: %s", path,
			    r.err ? str_trim(r.err) : "");
			conn_result_free(&r);
			return -1;
		}
		real = xstrdup(str_trim(r.out));
		conn_result_free(&r);
		path = real;
	}
	if (changed) {
		if (m->diff) {
			json_t *d = json_pack("{s:s,s:s,s:s,s:s}", "before", before, "after",
			    after, "before_header", existed ? path : "/dev/null", "after_header",
			    path);
			json_object_set_new(m->result, "diff", d);
		}
		if (!m->check) {
			bool dummy = false;
			if (!existed && files_parent(m, path, &dummy, err) < 0)
				return -1;
			if (existed && module_bool(m, "backup") && files_backup(m, path, err) < 0)
				return -1;
			if (files_put(m, path, after, strlen(after), NULL, &dummy,
			        known.valid ? &known : NULL, err) < 0)
				return -1;
			written = true;
			json_object_del(m->result, "checksum");
			json_object_del(m->result, "diff");
			if (m->diff) {
				json_t *d = json_pack("{s:s,s:s,s:s,s:s}", "before", before,
				    "after", after, "before_header", existed ? path : "/dev/null",
				    "after_header", path);
				json_object_set_new(m->result, "diff", d);
			}
		}
	}
	if (!m->check || existed) {
		if (!written && existed)
			st = *rst;
		else if (!(written && files_written_stat(m, path, &known, &st)) &&
		    files_stat(m, path, true, false, &st, err) < 0)
			return -1;
		if (st.exists &&
		    files_attrs(m, path, &st, true, &attr_changed, NULL, NULL, NULL, err) < 0)
			return -1;
	}
	_cleanup_free_ char *full = attr_changed
	    ? xasprintf(
	          "%s%sownership, perms or SE linux context changed", msg, *msg ? " and " : "")
	    : xstrdup(msg);
	json_object_set_new(m->result, "msg", json_string(full));
	json_object_set_new(m->result, "changed", json_boolean(changed || attr_changed));
	return 0;
}

/* Join lines into text. */
static char *
files_join(const json_t *lines)
{
	struct buf b = BUF_INIT(0);
	size_t i;
	json_t *l;

	json_array_foreach(lines, i, l) buf_adds(&b, json_string_value(l));
	return buf_steal(&b);
}

/* lineinfile: Ansible's present() and absent(), line for line. */
static int
files_lineinfile(struct module_ctx *m, struct dr_error *err)
{
	const char *path = module_str(m, "path"), *state = module_str(m, "state");
	const char *regexp = module_str(m, "regexp"), *search = module_str(m, "search_string");
	const char *line = module_str(m, "line"), *ia = module_str(m, "insertafter");
	const char *ib = module_str(m, "insertbefore");
	bool backrefs = module_bool(m, "backrefs"), firstmatch = module_bool(m, "firstmatch");
	bool create = module_bool(m, "create");
	struct files_stat rst;
	struct buf text = BUF_INIT(FILES_MAX);
	pcre2_code *re = NULL, *ins = NULL;
	pcre2_match_data *md = NULL, *md2 = NULL;
	json_t *lines = NULL;
	char *before = NULL, *after = NULL, *matched_line = NULL, *nl_line = NULL;
	bool changed = false;
	const char *msg = "";
	int rc = -1;

	if (regexp && search)
		return dr_error_set(
		    err, "parameters are mutually exclusive: regexp|search_string");
	if (ia && ib)
		return dr_error_set(
		    err, "parameters are mutually exclusive: insertbefore|insertafter");
	if (strcmp(state, "present") == 0 && !line)
		return dr_error_set(
		    err, "state is present but all of the following are missing: line");
	if (backrefs && !regexp)
		return dr_error_set(err, "regexp is required with backrefs=true");
	if (strcmp(state, "absent") == 0 && !regexp && !search && !line)
		return dr_error_set(err,
		    "one of line, search_string, or regexp is required with "
		    "state=absent");
	if (files_read_text(m, path, &text, &rst, err) < 0)
		goto out;
	if (!rst.exists) {
		if (strcmp(state, "absent") == 0) {
			json_object_set_new(m->result, "msg", json_string("file not present"));
			json_object_set_new(m->result, "found", json_integer(0));
			rc = 0;
			goto out;
		}
		if (!create) {
			json_object_set_new(m->result, "rc", json_integer(257));
			dr_error_set(err, "Destination %s does not exist !", path);
			goto out;
		}
	}
	before = xstrndup(text.data ? text.data : "", text.len);
	lines = files_split_lines(before, strlen(before));
	if (regexp && !(re = files_re(regexp, 0, err)))
		goto out;
	if (re)
		md = pcre2_match_data_create_from_pattern(re, NULL);
	size_t n = json_array_size(lines);
	if (strcmp(state, "absent") == 0) {
		json_t *kept = json_array();
		long long found = 0;
		for (size_t i = 0; i < n; i++) {
			const char *l = files_ls(lines, i);
			bool hit = re ? files_re_search(re, md, l)
			    : search  ? strstr(l, search) != NULL
			              : files_line_eq(l, line);
			if (hit)
				found++;
			else
				json_array_append_new(kept, json_string(l));
		}
		changed = found > 0;
		after = files_join(kept);
		json_decref(kept);
		json_object_set_new(m->result, "found", json_integer(found));
		_cleanup_free_ char *fm =
		    found ? xasprintf("%lld line(s) removed", found) : xstrdup("");
		rc = files_write_text(m, path, before, &rst, after, changed, fm, err);
		goto out;
	}
	const char *ins_pat = ia && strcmp(ia, "EOF") != 0 && strcmp(ia, "BOF") != 0 ? ia
	    : ib && strcmp(ib, "BOF") != 0                                           ? ib
	                                                                             : NULL;
	if (ins_pat && !(ins = files_re(ins_pat, 0, err)))
		goto out;
	if (ins)
		md2 = pcre2_match_data_create_from_pattern(ins, NULL);
	long long idx0 = -1, idx1 = -1;
	bool exact = false, matched_re = false;
	if (re) {
		for (size_t i = 0; i < n; i++)
			if (files_re_search(re, md, files_ls(lines, i))) {
				idx0 = (long long)i;
				matched_re = true;
				if (firstmatch)
					break;
			}
		if (matched_re) {
			free(matched_line);
			matched_line = xstrdup(files_ls(lines, (size_t)idx0));
			files_re_search(re, md, matched_line);
		}
	} else if (search) {
		for (size_t i = 0; i < n; i++)
			if (strstr(files_ls(lines, i), search)) {
				idx0 = (long long)i;
				if (firstmatch)
					break;
			}
	}
	if (idx0 == -1) {
		for (size_t i = 0; i < n; i++) {
			const char *l = files_ls(lines, i);
			if (files_line_eq(l, line)) {
				idx0 = (long long)i;
				exact = true;
			} else if (ins && files_re_search(ins, md2, l)) {
				if (ia) {
					idx1 = (long long)i + 1;
					if (firstmatch)
						break;
				}
				if (ib) {
					idx1 = (long long)i;
					if (firstmatch)
						break;
				}
			}
		}
	}
	(void)exact;
	nl_line = xasprintf("%s\n", line);
	if (idx0 != -1) {
		struct buf nb = BUF_INIT(0);
		if (backrefs && matched_re)
			files_expand(line, re, md, matched_line, &nb);
		else
			buf_adds(&nb, line);
		if (!nb.len || nb.data[nb.len - 1] != '\n')
			buf_addc(&nb, '\n');
		if (strcmp(files_ls(lines, (size_t)idx0), nb.data) != 0) {
			json_array_set_new(lines, (size_t)idx0, json_string(nb.data));
			msg = "line replaced";
			changed = true;
		}
		buf_free(&nb);
	} else if (backrefs) {
		/* nothing: without a match there is nothing to fill the backrefs with */
	} else if ((ib && strcmp(ib, "BOF") == 0) || (ia && strcmp(ia, "BOF") == 0)) {
		json_array_insert_new(lines, 0, json_string(nl_line));
		msg = "line added";
		changed = true;
	} else if ((ia && strcmp(ia, "EOF") == 0) || idx1 == -1) {
		if (n) {
			const char *last = files_ls(lines, n - 1);
			size_t ll = strlen(last);
			if (ll && last[ll - 1] != '\n' && last[ll - 1] != '\r')
				json_array_append_new(lines, json_string("\n"));
		}
		json_array_append_new(lines, json_string(nl_line));
		msg = "line added";
		changed = true;
	} else if (ia && idx1 != -1) {
		if ((size_t)idx1 == n) {
			if (!files_line_eq(files_ls(lines, (size_t)idx1 - 1), line)) {
				const char *last = files_ls(lines, n - 1);
				size_t ll = strlen(last);
				if (ll && last[ll - 1] != '\n') {
					_cleanup_free_ char *fixed = xasprintf("%s\n", last);
					json_array_set_new(lines, n - 1, json_string(fixed));
				}
				json_array_append_new(lines, json_string(nl_line));
				msg = "line added";
				changed = true;
			}
		} else if (!files_line_eq(files_ls(lines, (size_t)idx1), line)) {
			json_array_insert_new(lines, (size_t)idx1, json_string(nl_line));
			msg = "line added";
			changed = true;
		}
	} else {
		json_array_insert_new(lines, (size_t)idx1, json_string(nl_line));
		msg = "line added";
		changed = true;
	}
	after = files_join(lines);
	rc = files_write_text(m, path, before, &rst, after, changed, msg, err);
out:
	if (md)
		pcre2_match_data_free(md);
	if (md2)
		pcre2_match_data_free(md2);
	if (re)
		pcre2_code_free(re);
	if (ins)
		pcre2_code_free(ins);
	json_decref(lines);
	free(before);
	free(after);
	free(matched_line);
	free(nl_line);
	buf_free(&text);
	return rc;
}

static const struct module_arg files_lineinfile_args[] = {
    {"path", MT_PATH, true, NULL, NULL, "dest|destfile|name"},
    {"state", MT_STR, false, "present", "absent|present", NULL},
    {"regexp", MT_STR, false, NULL, NULL, "regex"},
    {"search_string", MT_STR, false, NULL, NULL, NULL},
    {"line", MT_STR, false, NULL, NULL, "value"},
    {"backrefs", MT_BOOL, false, "no", NULL, NULL},
    {"insertafter", MT_STR, false, NULL, NULL, NULL},
    {"insertbefore", MT_STR, false, NULL, NULL, NULL},
    {"create", MT_BOOL, false, "no", NULL, NULL},
    {"backup", MT_BOOL, false, "no", NULL, NULL},
    {"firstmatch", MT_BOOL, false, "no", NULL, NULL},
    {"validate", MT_STR, false, NULL, NULL, NULL},
    {"mode", MT_MODE, false, NULL, NULL, NULL},
    {"owner", MT_STR, false, NULL, NULL, NULL},
    {"group", MT_STR, false, NULL, NULL, NULL},
    {"unsafe_writes", MT_BOOL, false, "no", NULL, NULL},
    {"attributes", MT_STR, false, NULL, NULL, "attr"},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* blockinfile: a block between marker lines, inserted, replaced or removed. */
static int
files_blockinfile(struct module_ctx *m, struct dr_error *err)
{
	const char *path = module_str(m, "path"), *state = module_str(m, "state");
	const char *marker = module_str(m, "marker"), *block = module_str(m, "block");
	const char *ia = module_str(m, "insertafter"), *ib = module_str(m, "insertbefore");
	struct files_stat rst;
	struct buf text = BUF_INIT(FILES_MAX);
	json_t *lines = NULL;
	char *before = NULL, *after = NULL;
	int rc = -1;

	if (ia && ib)
		return dr_error_set(
		    err, "parameters are mutually exclusive: insertbefore|insertafter");
	if (!ia && !ib)
		ia = "EOF";
	if (files_read_text(m, path, &text, &rst, err) < 0)
		goto out;
	if (!rst.exists && !module_bool(m, "create")) {
		json_object_set_new(m->result, "rc", json_integer(257));
		dr_error_set(err, "Path %s does not exist !", path);
		goto out;
	}
	before = xstrndup(text.data ? text.data : "", text.len);
	lines = files_split_lines(before, strlen(before));
	/* markers with {mark} replaced */
	struct buf m0 = BUF_INIT(0), m1 = BUF_INIT(0);
	for (int k = 0; k < 2; k++) {
		struct buf *b = k ? &m1 : &m0;
		const char *word = module_str(m, k ? "marker_end" : "marker_begin");
		for (const char *p = marker; *p; p++) {
			if (strncmp(p, "{mark}", 6) == 0) {
				buf_adds(b, word);
				p += 5;
			} else
				buf_addc(b, *p);
		}
	}
	json_t *blocklines = json_array();
	if (strcmp(state, "present") == 0 && block && *block) {
		_cleanup_free_ char *m0n = xasprintf("%s\n", m0.data),
		                    *m1n = xasprintf("%s\n", m1.data);
		json_array_append_new(blocklines, json_string(m0n));
		json_t *bl = files_split_lines(block, strlen(block));
		size_t i;
		json_t *l;
		json_array_foreach(bl, i, l)
		{
			const char *s = json_string_value(l);
			size_t sl = strlen(s);
			if (sl && s[sl - 1] == '\n')
				json_array_append(blocklines, l);
			else {
				_cleanup_free_ char *t = xasprintf("%s\n", s);
				json_array_append_new(blocklines, json_string(t));
			}
		}
		json_decref(bl);
		json_array_append_new(blocklines, json_string(m1n));
	}
	long long n0 = -1, n1 = -1;
	size_t n = json_array_size(lines);
	for (size_t i = 0; i < n; i++) {
		if (files_line_eq(files_ls(lines, i), m0.data))
			n0 = (long long)i;
		if (files_line_eq(files_ls(lines, i), m1.data))
			n1 = (long long)i;
	}
	if (n0 == -1 || n1 == -1) {
		n0 = -1;
		const char *pat = ib ? ib : ia;
		if (ib && strcmp(ib, "BOF") == 0)
			n0 = 0;
		else if (ia && strcmp(ia, "EOF") == 0)
			n0 = (long long)n;
		else {
			pcre2_code *re = files_re(pat, 0, err);
			if (!re) {
				json_decref(blocklines);
				buf_free(&m0);
				buf_free(&m1);
				goto out;
			}
			pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
			for (size_t i = 0; i < n; i++)
				if (files_re_search(re, md, files_ls(lines, i))) {
					n0 = ib ? (long long)i : (long long)i + 1;
					if (module_bool(m, "insertafter_firstmatch"))
						break;
				}
			pcre2_match_data_free(md);
			pcre2_code_free(re);
			if (n0 == -1)
				n0 = (long long)n;
		}
	} else {
		long long lo = n0 < n1 ? n0 : n1, hi = n0 < n1 ? n1 : n0;
		for (long long i = hi; i >= lo; i--)
			json_array_remove(lines, (size_t)i);
		n0 = lo;
	}
	if (n0 > 0 && json_array_size(blocklines)) {
		const char *prev = files_ls(lines, (size_t)n0 - 1);
		size_t pl = strlen(prev);
		if (pl && prev[pl - 1] != '\n') {
			_cleanup_free_ char *fixed = xasprintf("%s\n", prev);
			json_array_set_new(lines, (size_t)n0 - 1, json_string(fixed));
		}
	}
	for (size_t i = 0; i < json_array_size(blocklines); i++)
		json_array_insert(lines, (size_t)n0 + i, json_array_get(blocklines, i));
	json_decref(blocklines);
	buf_free(&m0);
	buf_free(&m1);
	after = files_join(lines);
	bool changed = strcmp(before, after) != 0;
	const char *msg = !changed         ? ""
	    : !rst.exists                  ? "File created"
	    : strcmp(state, "absent") == 0 ? "Block removed"
	                                   : "Block inserted";
	rc = files_write_text(m, path, before, &rst, after, changed, msg, err);
out:
	json_decref(lines);
	free(before);
	free(after);
	buf_free(&text);
	return rc;
}

static const struct module_arg files_blockinfile_args[] = {
    {"path", MT_PATH, true, NULL, NULL, "dest|destfile|name"},
    {"state", MT_STR, false, "present", "absent|present", NULL},
    {"marker", MT_STR, false, "# {mark} ANSIBLE MANAGED BLOCK", NULL, NULL},
    {"marker_begin", MT_STR, false, "BEGIN", NULL, NULL},
    {"marker_end", MT_STR, false, "END", NULL, NULL},
    {"block", MT_STR, false, "", NULL, "content"},
    {"insertafter", MT_STR, false, NULL, NULL, NULL},
    {"insertbefore", MT_STR, false, NULL, NULL, NULL},
    {"insertafter_firstmatch", MT_BOOL, false, "no", NULL, NULL},
    {"create", MT_BOOL, false, "no", NULL, NULL},
    {"backup", MT_BOOL, false, "no", NULL, NULL},
    {"validate", MT_STR, false, NULL, NULL, NULL},
    {"mode", MT_MODE, false, NULL, NULL, NULL},
    {"owner", MT_STR, false, NULL, NULL, NULL},
    {"group", MT_STR, false, NULL, NULL, NULL},
    {"append_newline", MT_BOOL, false, "no", NULL, NULL},
    {"prepend_newline", MT_BOOL, false, "no", NULL, NULL},
    {"unsafe_writes", MT_BOOL, false, "no", NULL, NULL},
    {"attributes", MT_STR, false, NULL, NULL, "attr"},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* replace: every match of regexp (multiline) in the file, or between after and before. */
static int
files_replace(struct module_ctx *m, struct dr_error *err)
{
	const char *path = module_str(m, "path"), *regexp = module_str(m, "regexp");
	const char *repl = module_str(m, "replace"), *after_pat = module_str(m, "after");
	const char *before_pat = module_str(m, "before");
	struct buf text = BUF_INIT(FILES_MAX), out = BUF_INIT(FILES_MAX);
	pcre2_code *re = NULL;
	pcre2_match_data *md = NULL;
	char *before = NULL;
	struct files_stat rst;
	long long count = 0;
	int rc = -1;

	if (files_read_text(m, path, &text, &rst, err) < 0)
		goto out;
	if (!rst.exists) {
		json_object_set_new(m->result, "rc", json_integer(257));
		dr_error_set(err, "Path %s does not exist !", path);
		goto out;
	}
	before = xstrndup(text.data ? text.data : "", text.len);
	size_t len = strlen(before), start = 0, end = len;
	/* the section between after and before (each a regex, its match excluded) */
	for (int k = 0; k < 2; k++) {
		const char *pat = k ? before_pat : after_pat;
		if (!pat)
			continue;
		pcre2_code *sre = files_re(pat, PCRE2_MULTILINE | PCRE2_DOTALL, err);
		if (!sre)
			goto out;
		pcre2_match_data *smd = pcre2_match_data_create_from_pattern(sre, NULL);
		if (pcre2_match(sre, (PCRE2_SPTR)before, len, k ? start : 0, 0, smd, NULL) >= 0) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(smd);
			if (k)
				end = ov[0];
			else
				start = ov[1];
		}
		pcre2_match_data_free(smd);
		pcre2_code_free(sre);
	}
	if (!(re = files_re(regexp, PCRE2_MULTILINE, err)))
		goto out;
	md = pcre2_match_data_create_from_pattern(re, NULL);
	buf_add(&out, before, start);
	size_t pos = start;
	while (pos <= end) {
		int r = pcre2_match(re, (PCRE2_SPTR)before, end, pos, 0, md, NULL);
		if (r < 0)
			break;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		buf_add(&out, before + pos, ov[0] - pos);
		files_expand(repl ? repl : "", re, md, before, &out);
		count++;
		if (ov[1] == ov[0]) {
			if (ov[0] < end)
				buf_addc(&out, before[ov[0]]);
			pos = ov[1] + 1;
		} else
			pos = ov[1];
	}
	if (pos < end)
		buf_add(&out, before + pos, end - pos);
	buf_add(&out, before + end, len - end);
	const char *after = out.data ? out.data : "";
	bool changed = strcmp(before, after) != 0;
	char *msg = changed ? xasprintf("%lld replacements made", count) : xstrdup("");
	rc = files_write_text(m, path, before, &rst, after, changed, msg, err);
	free(msg);
	if (rc == 0) /* Ansible's replace answers with rc 0 */
		json_object_set_new(m->result, "rc", json_integer(0));
out:
	if (md)
		pcre2_match_data_free(md);
	if (re)
		pcre2_code_free(re);
	free(before);
	buf_free(&text);
	buf_free(&out);
	return rc;
}

static const struct module_arg files_replace_args[] = {
    {"path", MT_PATH, true, NULL, NULL, "dest|destfile|name"},
    {"regexp", MT_STR, true, NULL, NULL, NULL},
    {"replace", MT_STR, false, "", NULL, NULL},
    {"after", MT_STR, false, NULL, NULL, NULL},
    {"before", MT_STR, false, NULL, NULL, NULL},
    {"backup", MT_BOOL, false, "no", NULL, NULL},
    {"validate", MT_STR, false, NULL, NULL, NULL},
    {"encoding", MT_STR, false, "utf-8", NULL, NULL},
    {"mode", MT_MODE, false, NULL, NULL, NULL},
    {"owner", MT_STR, false, NULL, NULL, NULL},
    {"group", MT_STR, false, NULL, NULL, NULL},
    {"unsafe_writes", MT_BOOL, false, "no", NULL, NULL},
    {"attributes", MT_STR, false, NULL, NULL, "attr"},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* slurp: a remote file, base64-encoded. */
static int
files_slurp(struct module_ctx *m, struct dr_error *err)
{
	const char *src = module_str(m, "src");
	struct buf b = BUF_INIT(FILES_MAX);
	struct files_stat st;

	if (files_stat(m, src, true, false, &st, err) < 0)
		return -1;
	if (!st.exists)
		return dr_error_set(err, "file not found: %s", src);
	if (st.type == 'd')
		return dr_error_set(err, "source is a directory and must be a file: %s", src);
	if (conn_get(m->conn, src, FILES_MAX, &b, err) < 0)
		return -1;
	char *enc = base64_encode(b.data ? b.data : "", b.len);
	json_object_set_new(m->result, "content", json_string(enc));
	json_object_set_new(m->result, "encoding", json_string("base64"));
	json_object_set_new(m->result, "source", json_string(src));
	free(enc);
	buf_free(&b);
	return 0;
}

static const struct module_arg files_slurp_args[] = {
    {"src", MT_PATH, true, NULL, NULL, "path"},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* fetch: a remote file to the controller, under dest/HOST/PATH or (flat) dest. */
static int
files_fetch(struct module_ctx *m, struct dr_error *err)
{
	const char *src = module_str(m, "src"), *dest = module_str(m, "dest");
	struct buf b = BUF_INIT(FILES_MAX);
	struct files_stat st;
	_cleanup_free_ char *target = NULL, *local = NULL;
	char sum[41], lsum[41] = "";
	size_t llen;

	if (files_stat(m, src, true, true, &st, err) < 0)
		return -1;
	if (!st.exists || st.type == 'd') {
		const char *why = st.exists
		    ? "remote file is a directory, fetch cannot work on directories"
		    : "the remote file does not exist, not transferring, ignored";
		if (module_bool(m, "fail_on_missing") || st.exists)
			return dr_error_set(err, "%s",
			    st.exists ? why : "the remote file does not exist, not transferring");
		json_object_set_new(m->result, "msg", json_string(why));
		json_object_set_new(m->result, "file", json_string(src));
		return 0;
	}
	if (module_bool(m, "flat"))
		target = str_has_suffix(dest, "/")
		    ? xasprintf("%s%s", dest, strrchr(src, '/') ? strrchr(src, '/') + 1 : src)
		    : xstrdup(dest);
	else
		target = xasprintf("%s%s%s%s%s", dest, str_has_suffix(dest, "/") ? "" : "/",
		    m->host, src[0] == '/' ? "" : "/", src);
	if (file_read(target, FILES_MAX, &local, &llen, NULL) == 0)
		files_sha1(local, llen, lsum);
	json_object_set_new(m->result, "dest", json_string(target));
	json_object_set_new(m->result, "remote_checksum", json_string(st.checksum));
	json_object_set_new(m->result, "checksum", json_string(st.checksum));
	if (strcmp(lsum, st.checksum) == 0)
		return 0;
	json_object_set_new(m->result, "changed", json_true());
	if (m->check)
		return 0;
	if (conn_get(m->conn, src, FILES_MAX, &b, err) < 0)
		return -1;
	files_sha1(b.data ? b.data : "", b.len, sum);
	if (module_bool(m, "validate_checksum") && strcmp(sum, st.checksum) != 0) {
		buf_free(&b);
		return dr_error_set(
		    err, "checksum mismatch: the file changed during the transfer");
	}
	/* mkdir -p the local directory */
	_cleanup_free_ char *dir = xstrdup(target);
	for (char *p = dir + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
				buf_free(&b);
				return dr_error_errno(err, "%s", dir);
			}
			*p = '/';
		}
	int rc = file_write_atomic(target, b.data ? b.data : "", b.len, 0644, err);
	buf_free(&b);
	return rc;
}

static const struct module_arg files_fetch_args[] = {
    {"src", MT_PATH, true, NULL, NULL, NULL},
    {"dest", MT_PATH, true, NULL, NULL, NULL},
    {"flat", MT_BOOL, false, "no", NULL, NULL},
    {"fail_on_missing", MT_BOOL, false, "yes", NULL, NULL},
    {"validate_checksum", MT_BOOL, false, "yes", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

const struct module modules_files[] = {
    {"copy", files_copy_args, files_copy, 0},
    {"template", files_template_args, files_template, 0},
    {"file", files_file_args, files_file, 0},
    {"stat", files_stat_args, files_stat_module, 0},
    {"lineinfile", files_lineinfile_args, files_lineinfile, 0},
    {"blockinfile", files_blockinfile_args, files_blockinfile, 0},
    {"replace", files_replace_args, files_replace, 0},
    {"slurp", files_slurp_args, files_slurp, 0},
    {"fetch", files_fetch_args, files_fetch, 0},
};
const size_t modules_files_n = nitems(modules_files);

/* Apply the mode/owner/group arguments to an existing path, as the file modules do. */
int
files_attrs_apply(struct module_ctx *m, const char *path, bool *changed, struct dr_error *err)
{
	struct files_stat st;

	if (files_stat(m, path, true, false, &st, err) < 0)
		return -1;
	if (!st.exists)
		return 0;
	return files_attrs(m, path, &st, true, changed, NULL, NULL, NULL, err);
}

/* Report path (under key) and its mode, owner, group, ids, size and state in the result. */
void
files_attrs_report(struct module_ctx *m, const char *path, const char *key)
{
	files_report(m, path, key);
}
