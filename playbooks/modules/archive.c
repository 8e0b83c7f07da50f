/*
 * modules/archive.c - unarchive: tar (plain, gzip, bzip2, xz, zstd) and zip archives
 * unpacked on the host with its own tar and unzip. An archive from the controller is sent
 * over the connection first; remote_src uses one already on the host; a URL is fetched on
 * the host. Idempotence as Ansible's: for tar, `tar --diff` against dest, counting only
 * missing files, modification times and (unless set by the task) owners and modes; for
 * zip, every member compared with the file of the same name under dest.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbooks/playbooks.h"

#define ARCHIVE_MAX (1u << 30) /* largest archive sent from the controller */
#define ARCHIVE_LIST_MAX (64u << 20)

/* The handlers, in Ansible's order: name, test command, tar flag (NULL: zip). */
static const struct {
	const char *name, *flag;
} archive_handlers[] = {
    {"ZipArchive", NULL},
    {"TgzArchive", "-z"},
    {"TarArchive", ""},
    {"TarBzipArchive", "-j"},
    {"TarXzArchive", "-J"},
    {"TarZstdArchive", "--zstd"},
};

/* Run cmd; *r is the caller's to free. */
static int
archive_sh(struct module_ctx *m, const char *cmd, const char *in, size_t in_len,
    struct conn_result *r, struct dr_error *err)
{
	memset(r, 0, sizeof *r);
	return module_exec(m, cmd, in, in_len, r, err);
}

/* The --exclude options and include names of the task, quoted for the shell. */
static void
archive_filters(struct module_ctx *m, struct buf *excl, struct buf *incl, bool zip)
{
	json_t *ex = json_object_get(m->args, "exclude"),
	       *in = json_object_get(m->args, "include");
	size_t i;
	json_t *v;

	json_array_foreach(ex, i, v)
	{
		_cleanup_free_ char *q =
		    conn_quote(json_string_value(v) ? json_string_value(v) : "");
		if (zip)
			buf_addf(excl, " %s", q);
		else
			buf_addf(excl, " --exclude=%s", q);
	}
	json_array_foreach(in, i, v)
	{
		_cleanup_free_ char *q =
		    conn_quote(json_string_value(v) ? json_string_value(v) : "");
		buf_addf(incl, " %s", q);
	}
}

/* extra_opts, quoted. */
static char *
archive_extra(struct module_ctx *m)
{
	struct buf b = BUF_INIT(0);
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(m->args, "extra_opts"), i, v)
	{
		_cleanup_free_ char *q =
		    conn_quote(json_string_value(v) ? json_string_value(v) : "");
		buf_addf(&b, " %s", q);
	}
	return b.data ? buf_steal(&b) : xstrdup("");
}

/* unarchive. */
static int
archive_unarchive(struct module_ctx *m, struct dr_error *err)
{
	const char *src = module_str(m, "src"), *dest = module_str(m, "dest");
	const char *creates = module_str(m, "creates");
	const char *owner = module_str(m, "owner"), *group = module_str(m, "group");
	json_t *modev = json_object_get(m->args, "mode");
	bool remote = module_bool(m, "remote_src");
	_cleanup_free_ char *path = NULL, *tmp = NULL, *qd = conn_quote(dest), *qs = NULL;
	_cleanup_free_ char *extra = archive_extra(m), *mode = NULL;
	struct buf excl = BUF_INIT(0), incl = BUF_INIT(0), cmd = BUF_INIT(0);
	struct conn_result r = {0};
	const char *handler = NULL, *flag = NULL;
	json_t *files = json_array();
	bool unarchived, changed = false;
	int rc = -1;

	if (json_object_get(m->args, "copy") && !json_is_null(json_object_get(m->args, "copy")))
		remote = !module_bool(m, "copy");
	if (modev && json_is_integer(modev))
		mode = xasprintf("%llo", (long long)json_integer_value(modev));
	else if (modev && json_is_string(modev))
		mode = xstrdup(json_string_value(modev));
	json_object_set_new(m->result, "dest", json_string(dest));
	json_object_set_new(m->result, "src", json_string(src));
	if (creates) {
		_cleanup_free_ char *q = conn_quote(creates);
		_cleanup_free_ char *c = xasprintf("[ -e %s ] && echo y || echo n", q);
		if (archive_sh(m, c, NULL, 0, &r, err) < 0)
			goto out;
		bool exists = r.out[0] == 'y';
		conn_result_free(&r);
		if (exists) {
			_cleanup_free_ char *msg = xasprintf("skipped, since %s exists", creates);
			json_object_set_new(m->result, "skipped", json_true());
			json_object_set_new(m->result, "msg", json_string(msg));
			json_object_set_new(m->result, "changed", json_false());
			rc = 0;
			goto out;
		}
	}
	/* the archive on the host */
	{
		_cleanup_free_ char *c = xasprintf("[ -d %s ] && echo y || echo n", qd);
		if (archive_sh(m, c, NULL, 0, &r, err) < 0)
			goto out;
		bool isdir = r.out[0] == 'y';
		conn_result_free(&r);
		if (!isdir) {
			dr_error_set(err, "dest '%s' must be an existing dir", dest);
			goto out;
		}
	}
	if (strstr(src, "://")) {
		const char *dir;
		if (conn_tmpdir(m->conn, &dir, err) < 0)
			goto out;
		tmp = xasprintf("%s/unarchive-%ld", dir, (long)random());
		_cleanup_free_ char *qt = conn_quote(tmp), *qu = conn_quote(src);
		_cleanup_free_ char *c = xasprintf("curl -sS -f -L --max-time 60 %s-o %s %s",
		    module_bool(m, "validate_certs") ? "" : "-k ", qt, qu);
		if (archive_sh(m, c, NULL, 0, &r, err) < 0)
			goto out;
		if (r.status != 0) {
			dr_error_set(err, "Failure downloading %s, %s", src, str_trim(r.err));
			goto out;
		}
		conn_result_free(&r);
		path = xstrdup(tmp);
	} else if (remote) {
		path = xstrdup(src);
		_cleanup_free_ char *q = conn_quote(src);
		_cleanup_free_ char *c =
		    xasprintf("[ -f %s ] && [ -r %s ] && echo y || echo n", q, q);
		if (archive_sh(m, c, NULL, 0, &r, err) < 0)
			goto out;
		bool ok = r.out[0] == 'y';
		conn_result_free(&r);
		if (!ok) {
			dr_error_set(err, "Source '%s' does not exist", src);
			goto out;
		}
	} else {
		_cleanup_free_ char *local = NULL;
		char *data = NULL;
		size_t len = 0;
		const char *dir;
		if (module_file_find(m, "files", src, &local, err) < 0)
			goto out;
		if (file_read(local, ARCHIVE_MAX, &data, &len, err) < 0)
			goto out;
		if (conn_tmpdir(m->conn, &dir, err) < 0) {
			free(data);
			goto out;
		}
		tmp = xasprintf("%s/unarchive-%ld", dir, (long)random());
		int pr = conn_put(m->conn, tmp, data, len, 0600, err);
		free(data);
		if (pr < 0)
			goto out;
		path = xstrdup(tmp);
	}
	qs = conn_quote(path);
	/* which handler, and the members (one round trip) */
	buf_addf(&cmd,
	    "f=%s; if unzip -Z1 \"$f\" >/dev/null 2>&1; then echo ZipArchive; "
	    "unzip -Z1 \"$f\"; ",
	    qs);
	for (size_t i = 1; i < nitems(archive_handlers); i++)
		buf_addf(&cmd,
		    "elif tar -t %s -f \"$f\" >/dev/null 2>&1; then echo %s; tar -t %s -f "
		    "\"$f\"; ",
		    archive_handlers[i].flag, archive_handlers[i].name, archive_handlers[i].flag);
	buf_adds(&cmd,
	    "else echo none; command -v unzip >/dev/null || echo 'unzip: not "
	    "found'; fi");
	if (archive_sh(m, cmd.data, NULL, 0, &r, err) < 0)
		goto out;
	buf_reset(&cmd);
	{
		char *save = NULL;
		char *first = strtok_r(r.out, "\n", &save);
		for (size_t i = 0; first && i < nitems(archive_handlers); i++)
			if (strcmp(first, archive_handlers[i].name) == 0) {
				handler = archive_handlers[i].name;
				flag = archive_handlers[i].flag;
			}
		if (!handler) {
			dr_error_set(err,
			    "Failed to find handler for \"%s\". Make sure the required command to "
			    "extract the file is installed.%s%s",
			    path, save && *save ? " " : "", save ? str_trim(save) : "");
			conn_result_free(&r);
			goto out;
		}
		for (char *l = strtok_r(NULL, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (*l)
				json_array_append_new(files, json_string(l));
	}
	conn_result_free(&r);
	json_object_set_new(m->result, "handler", json_string(handler));
	archive_filters(m, &excl, &incl, flag == NULL);
	/* is it unpacked already? */
	if (!flag) {
		buf_addf(&cmd,
		    "t=$(mktemp -d) || exit 1; unzip -qq -o%s %s%s%s%s -d \"$t\" >/dev/null "
		    "2>&1; ",
		    extra, qs, incl.data ? incl.data : "", excl.len ? " -x" : "",
		    excl.data ? excl.data : "");
		buf_addf(&cmd,
		    "d=%s; (cd \"$t\" && find . ! -type d) | while IFS= read -r x; do x=${x#./}; "
		    "if [ -L \"$t/$x\" ]; then [ \"$(readlink \"$t/$x\")\" = \"$(readlink "
		    "\"$d/$x\" 2>/dev/null)\" ] || echo \"$x\"; "
		    "elif ! cmp -s \"$t/$x\" \"$d/$x\"; then echo \"$x\"; ",
		    qd);
		if (!mode)
			buf_adds(&cmd,
			    "elif [ \"$(stat -c %a \"$t/$x\")\" != \"$(stat -c %a "
			    "\"$d/$x\")\" ]; then echo \"$x\"; ");
		buf_adds(&cmd, "fi; done; rm -rf \"$t\"");
	} else {
		buf_addf(&cmd, "LANG=C LC_ALL=C tar --diff -C %s %s%s", qd, flag,
		    *extra ? " --show-transformed-names" : "");
		buf_adds(&cmd, extra);
		if (owner) {
			_cleanup_free_ char *q = conn_quote(owner);
			buf_addf(&cmd, " --owner=%s", q);
		}
		if (group) {
			_cleanup_free_ char *q = conn_quote(group);
			buf_addf(&cmd, " --group=%s", q);
		}
		if (module_bool(m, "keep_newer"))
			buf_adds(&cmd, " --keep-newer-files");
		buf_addf(&cmd, "%s -f %s%s 2>&1", excl.data ? excl.data : "", qs,
		    incl.data ? incl.data : "");
	}
	if (archive_sh(m, cmd.data, NULL, 0, &r, err) < 0)
		goto out;
	if (!flag)
		unarchived = !*str_trim(r.out);
	else {
		/* Ansible's rule: only these differences mean "not unpacked" */
		bool root = true;
		unarchived = true;
		char *save = NULL;
		for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			if (str_has_suffix(
			        l, ": : Warning: Cannot stat: No such file or directory"))
				continue;
			if ((root && !owner && str_has_suffix(l, ": Uid differs")) ||
			    (root && !group && str_has_suffix(l, ": Gid differs")) ||
			    (!mode && str_has_suffix(l, ": Mode differs")) ||
			    str_has_suffix(l, ": Mod time differs") ||
			    str_has_suffix(
			        l, ": Warning: Cannot stat: No such file or directory") ||
			    str_has_suffix(l, ": Cannot stat: No such file or directory") ||
			    strstr(l, ": Invalid owner") || strstr(l, ": Invalid group"))
				unarchived = false;
		}
	}
	conn_result_free(&r);
	buf_reset(&cmd);
	if (!unarchived) {
		changed = true;
		if (!m->check) {
			if (!flag)
				buf_addf(&cmd, "unzip -o%s %s%s%s%s -d %s", extra, qs,
				    incl.data ? incl.data : "", excl.len ? " -x" : "",
				    excl.data ? excl.data : "", qd);
			else {
				buf_addf(&cmd, "tar --extract -C %s %s%s", qd, flag, extra);
				if (owner) {
					_cleanup_free_ char *q = conn_quote(owner);
					buf_addf(&cmd, " --owner=%s", q);
				}
				if (group) {
					_cleanup_free_ char *q = conn_quote(group);
					buf_addf(&cmd, " --group=%s", q);
				}
				if (module_bool(m, "keep_newer"))
					buf_adds(&cmd, " --keep-newer-files");
				buf_addf(&cmd, "%s -f %s%s", excl.data ? excl.data : "", qs,
				    incl.data ? incl.data : "");
			}
			if (archive_sh(m, cmd.data, NULL, 0, &r, err) < 0)
				goto out;
			json_t *x = json_object();
			json_object_set_new(x, "cmd", json_string(cmd.data));
			json_object_set_new(x, "rc", json_integer(r.status));
			json_object_set_new(x, "out", module_text(r.out, r.out_len));
			json_object_set_new(x, "err", module_text(r.err, r.err_len));
			json_object_set_new(m->result, "extract_results", x);
			if (r.status != 0) {
				dr_error_set(err, "failed to unpack %s to %s: %s", path, dest,
				    str_trim(r.err));
				goto out;
			}
			conn_result_free(&r);
		}
	}
	/* owner, group and mode of every member, as set_fs_attributes_if_different */
	if ((owner || group || mode) && !m->check && json_array_size(files)) {
		struct buf list = BUF_INIT(0);
		size_t i;
		json_t *v;
		json_array_foreach(files, i, v) buf_addf(&list, "%s\n", json_string_value(v));
		_cleanup_free_ char *qo = owner ? conn_quote(owner) : NULL;
		_cleanup_free_ char *qg = group ? conn_quote(group) : NULL;
		_cleanup_free_ char *qm = mode ? conn_quote(mode) : NULL;
		buf_reset(&cmd);
		buf_addf(&cmd,
		    "cd %s || exit 1; c=; while IFS= read -r x; do x=${x%%/}; [ -e \"$x\" ] || "
		    "continue; [ -L \"$x\" ] && continue; b=$(stat -c %%a:%%U:%%G \"$x\"); ",
		    qd);
		if (qo)
			buf_addf(&cmd, "chown %s \"$x\" || exit 1; ", qo);
		if (qg)
			buf_addf(&cmd, "chgrp %s \"$x\" || exit 1; ", qg);
		if (qm)
			buf_addf(&cmd, "chmod %s \"$x\" || exit 1; ", qm);
		buf_adds(&cmd,
		    "[ \"$b\" = \"$(stat -c %a:%U:%G \"$x\")\" ] || c=1; done; "
		    "echo \"changed=$c\"");
		int er = archive_sh(m, cmd.data, list.data, list.len, &r, err);
		buf_free(&list);
		if (er < 0)
			goto out;
		if (r.status != 0) {
			dr_error_set(err, "cannot set the attributes of the files under %s: %s",
			    dest, str_trim(r.err));
			goto out;
		}
		if (strstr(r.out, "changed=1"))
			changed = true;
		conn_result_free(&r);
	}
	if (module_bool(m, "list_files"))
		json_object_set(m->result, "files", files);
	files_attrs_report(m, dest, "dest");
	json_object_set_new(m->result, "src", json_string(src));
	json_object_set_new(m->result, "handler", json_string(handler));
	json_object_set_new(m->result, "changed", json_boolean(changed));
	rc = 0;
out:
	conn_result_free(&r);
	if (tmp) {
		_cleanup_free_ char *q = conn_quote(tmp), *c = xasprintf("rm -f -- %s", q);
		if (archive_sh(m, c, NULL, 0, &r, NULL) == 0)
			conn_result_free(&r);
	}
	json_decref(files);
	buf_free(&excl);
	buf_free(&incl);
	buf_free(&cmd);
	return rc;
}

static const struct module_arg archive_unarchive_args[] = {
    {"src", MT_PATH, true, NULL, NULL, NULL},
    {"dest", MT_PATH, true, NULL, NULL, NULL},
    {"remote_src", MT_BOOL, false, "no", NULL, NULL},
    {"copy", MT_BOOL, false, NULL, NULL, NULL},
    {"creates", MT_PATH, false, NULL, NULL, NULL},
    {"list_files", MT_BOOL, false, "no", NULL, NULL},
    {"keep_newer", MT_BOOL, false, "no", NULL, NULL},
    {"exclude", MT_LIST, false, "", NULL, NULL},
    {"include", MT_LIST, false, "", NULL, NULL},
    {"extra_opts", MT_LIST, false, "", NULL, NULL},
    {"validate_certs", MT_BOOL, false, "yes", NULL, NULL},
    {"decrypt", MT_BOOL, false, "yes", NULL, NULL},
    {"io_buffer_size", MT_INT, false, "65536", NULL, NULL},
    {"mode", MT_MODE, false, NULL, NULL, NULL},
    {"owner", MT_STR, false, NULL, NULL, NULL},
    {"group", MT_STR, false, NULL, NULL, NULL},
    {"unsafe_writes", MT_BOOL, false, "no", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

const struct module modules_archive[] = {
    {"unarchive", archive_unarchive_args, archive_unarchive, 0},
};
const size_t modules_archive_n = nitems(modules_archive);
