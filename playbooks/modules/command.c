/*
 * modules/command.c - command, shell, raw and script: run a command line on the host.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "playbooks/playbooks.h"

#define COMMAND_SCRIPT_MAX (16u << 20)

/* "2026-11-25 20:42:10.123456" as Ansible prints start/end. */
static json_t *
command_time(const struct timeval *tv)
{
	struct tm tm;
	char buf[64];

	localtime_r(&tv->tv_sec, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
	char *s = xasprintf("%s.%06ld", buf, (long)tv->tv_usec);
	json_t *v = json_string(s);
	free(s);
	return v;
}

/* Lines of text as a list, without line ends. */
static json_t *
command_lines(const char *s)
{
	json_t *l = json_array();
	const char *p = s;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		json_array_append_new(l, module_text(p, n && p[n - 1] == '\r' ? n - 1 : n));
		p += n + (nl ? 1 : 0);
	}
	return l;
}

/* creates/removes: 1 when the command is to be skipped (result filled), 0 to run. */
static int
command_guard(struct module_ctx *m, const char *raw, struct dr_error *err)
{
	const char *creates = module_str(m, "creates"), *removes = module_str(m, "removes");
	struct conn_result r = {0};

	for (int i = 0; i < 2; i++) {
		const char *path = i ? removes : creates;
		if (!path)
			continue;
		_cleanup_free_ char *q = conn_quote(path);
		/* a glob, as Ansible's: ls finds any match */
		_cleanup_free_ char *cmd =
		    xasprintf("for f in %s; do [ -e \"$f\" ] && exit 0; done; "
		              "exit 1",
		        strpbrk(path, "*?[") ? path : q);
		if (module_exec(m, cmd, NULL, 0, &r, err) < 0)
			return -1;
		bool exists = r.status == 0;
		conn_result_free(&r);
		if ((i == 0 && exists) || (i == 1 && !exists)) {
			_cleanup_free_ char *msg = xasprintf("%s %s %s",
			    i ? "Did not run command since" : "Did not run command since", path,
			    i ? "does not exist" : "exists");
			json_object_set_new(m->result, "msg", json_string(msg));
			json_object_set_new(m->result, "stdout", json_string(msg));
			json_object_set_new(m->result, "stdout_lines", json_pack("[s]", msg));
			json_object_set_new(m->result, "stderr", json_string(""));
			json_object_set_new(m->result, "rc", json_integer(0));
			json_object_set_new(m->result, "cmd", json_string(raw));
			json_object_set_new(m->result, "changed", json_false());
			return 1;
		}
	}
	return 0;
}

/* Run the command line and fill the result as the command module does. */
static int
command_run_line(struct module_ctx *m, const char *line, const char *shown, json_t *cmd_value,
    bool raw, struct dr_error *err)
{
	struct conn_result r = {0};
	struct timeval t0, t1;
	const char *stdin_text = module_str(m, "stdin");
	_cleanup_free_ char *input = NULL;
	size_t in_len = 0;
	int g;

	if (!raw && (g = command_guard(m, shown, err)) != 0) {
		json_decref(cmd_value);
		return g < 0 ? -1 : 0;
	}
	if (m->check) {
		json_object_set_new(
		    m->result, "msg", json_string("Command would have run if not in check mode"));
		if (!raw && !module_str(m, "creates") && !module_str(m, "removes")) {
			json_object_set_new(m->result, "skipped", json_true());
			json_object_set_new(m->result, "changed", json_false());
		} else
			json_object_set_new(m->result, "changed", json_true());
		json_object_set_new(m->result, "rc", json_integer(0));
		json_decref(cmd_value);
		return 0;
	}
	if (m->async_file) {
		int ar = async_job_start(m, line, cmd_value, err);
		json_decref(cmd_value);
		return ar;
	}
	if (stdin_text) {
		bool nl = !json_object_get(m->args, "stdin_add_newline") ||
		    module_bool(m, "stdin_add_newline");
		input = xasprintf("%s%s", stdin_text, nl ? "\n" : "");
		in_len = strlen(input);
	}
	gettimeofday(&t0, NULL);
	if (module_exec(m, line, input, in_len, &r, err) < 0) {
		json_decref(cmd_value);
		return -1;
	}
	gettimeofday(&t1, NULL);
	if (!raw &&
	    (!json_object_get(m->args, "strip_empty_ends") ||
	        module_bool(m, "strip_empty_ends"))) {
		while (r.out_len && (r.out[r.out_len - 1] == '\n' || r.out[r.out_len - 1] == '\r'))
			r.out[--r.out_len] = '\0';
		while (r.err_len && (r.err[r.err_len - 1] == '\n' || r.err[r.err_len - 1] == '\r'))
			r.err[--r.err_len] = '\0';
	}
	long long us = (long long)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_usec - t0.tv_usec);
	char delta[64];
	snprintf(delta, sizeof delta, "%lld:%02lld:%02lld.%06lld", us / 3600000000LL,
	    us / 60000000LL % 60, us / 1000000 % 60, us % 1000000);
	json_object_set_new(m->result, "rc", json_integer(r.status));
	json_object_set_new(m->result, "stdout", module_text(r.out, r.out_len));
	json_object_set_new(m->result, "stderr", module_text(r.err, r.err_len));
	json_object_set_new(m->result, "stdout_lines", command_lines(r.out));
	json_object_set_new(m->result, "stderr_lines", command_lines(r.err));
	json_object_set_new(m->result, "changed", json_true());
	if (!raw) {
		json_object_set_new(m->result, "cmd", cmd_value);
		json_object_set_new(m->result, "start", command_time(&t0));
		json_object_set_new(m->result, "end", command_time(&t1));
		json_object_set_new(m->result, "delta", json_string(delta));
	} else
		json_decref(cmd_value);
	if (r.status != 0) {
		if (raw)
			dr_error_set(err, "non-zero return code");
		else
			dr_error_set(err, "non-zero return code");
		conn_result_free(&r);
		return -1;
	}
	conn_result_free(&r);
	return 0;
}

/* "cd DIR && " when chdir is set. */
static char *
command_chdir(struct module_ctx *m)
{
	const char *dir = module_str(m, "chdir");
	if (!dir)
		return xstrdup("");
	_cleanup_free_ char *q = conn_quote(dir);
	return xasprintf("cd %s && ", q);
}

/* command: argv without a shell. */
static int
command_command(struct module_ctx *m, struct dr_error *err)
{
	const char *raw = module_str(m, "_raw_params"), *cmd = module_str(m, "cmd");
	json_t *argv = json_object_get(m->args, "argv"), *words = NULL;
	struct buf line = BUF_INIT(0);
	_cleanup_free_ char *cd = command_chdir(m);
	size_t i;
	json_t *w;
	int r;

	if (!raw)
		raw = cmd;
	if ((raw && argv && json_array_size(argv)) || (!raw && (!argv || !json_array_size(argv))))
		return dr_error_set(
		    err, raw ? "only command or argv can be given, not both" : "no command given");
	if (raw) {
		if (conn_split(raw, &words, err) < 0)
			return -1;
	} else
		words = json_incref(argv);
	if (json_array_size(words) == 0) {
		json_decref(words);
		return dr_error_set(err, "no command given");
	}
	buf_adds(&line, cd);
	json_array_foreach(words, i, w)
	{
		_cleanup_free_ char *s = json_is_string(w) ? xstrdup(json_string_value(w))
		                                           : json_dumps(w, JSON_ENCODE_ANY);
		_cleanup_free_ char *q = conn_quote(s);
		buf_adds(&line, i ? " " : "exec ");
		buf_adds(&line, q);
	}
	r = command_run_line(m, line.data, raw ? raw : "", json_incref(words), false, err);
	if (r < 0 && strstr(err->msg, "non-zero") &&
	    json_integer_value(json_object_get(m->result, "rc")) == 127 &&
	    json_object_get(m->result, "stderr") &&
	    strstr(json_string_value(json_object_get(m->result, "stderr")), "not found"))
		dr_error_set(err, "[Errno 2] No such file or directory: b'%s'",
		    json_string_value(json_array_get(words, 0)));
	json_decref(words);
	buf_free(&line);
	return r;
}

static const struct module_arg command_command_args[] = {
    {"cmd", MT_STR, false, NULL, NULL, NULL},
    {"argv", MT_LIST, false, NULL, NULL, NULL},
    {"chdir", MT_PATH, false, NULL, NULL, NULL},
    {"creates", MT_PATH, false, NULL, NULL, NULL},
    {"removes", MT_PATH, false, NULL, NULL, NULL},
    {"stdin", MT_STR, false, NULL, NULL, NULL},
    {"stdin_add_newline", MT_BOOL, false, "yes", NULL, NULL},
    {"strip_empty_ends", MT_BOOL, false, "yes", NULL, NULL},
    {"executable", MT_PATH, false, NULL, NULL, NULL},
    {"expand_argument_vars", MT_BOOL, false, "yes", NULL, NULL},
    {"warn", MT_BOOL, false, NULL, NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* shell: the text through /bin/sh (or executable). */
static int
command_shell(struct module_ctx *m, struct dr_error *err)
{
	const char *raw = module_str(m, "_raw_params"), *exe = module_str(m, "executable");
	_cleanup_free_ char *cd = command_chdir(m), *q = NULL, *line = NULL;

	if (!raw)
		raw = module_str(m, "cmd");
	if (!raw || !*raw)
		return dr_error_set(err, "no command given");
	q = conn_quote(raw);
	if (exe) {
		_cleanup_free_ char *qe = conn_quote(exe);
		line = xasprintf("%s%s -c %s", cd, qe, q);
	} else
		line = xasprintf("%s/bin/sh -c %s", cd, q);
	return command_run_line(m, line, raw, json_string(raw), false, err);
}

static const struct module_arg command_shell_args[] = {
    {"cmd", MT_STR, false, NULL, NULL, NULL},
    {"chdir", MT_PATH, false, NULL, NULL, NULL},
    {"creates", MT_PATH, false, NULL, NULL, NULL},
    {"removes", MT_PATH, false, NULL, NULL, NULL},
    {"stdin", MT_STR, false, NULL, NULL, NULL},
    {"stdin_add_newline", MT_BOOL, false, "yes", NULL, NULL},
    {"strip_empty_ends", MT_BOOL, false, "yes", NULL, NULL},
    {"executable", MT_PATH, false, NULL, NULL, NULL},
    {"warn", MT_BOOL, false, NULL, NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* raw: the text as is, always changed. */
static int
command_raw(struct module_ctx *m, struct dr_error *err)
{
	const char *raw = module_str(m, "_raw_params"), *exe = module_str(m, "executable");
	_cleanup_free_ char *line = NULL;

	if (!raw || !*raw)
		return dr_error_set(err, "no command given");
	if (exe) {
		_cleanup_free_ char *qe = conn_quote(exe), *q = conn_quote(raw);
		line = xasprintf("%s -c %s", qe, q);
	} else
		line = xstrdup(raw);
	return command_run_line(m, line, raw, json_string(raw), true, err);
}

static const struct module_arg command_raw_args[] = {
    {"executable", MT_PATH, false, NULL, NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* script: copy a local script to the host's temporary directory and run it there. */
static int
command_script(struct module_ctx *m, struct dr_error *err)
{
	const char *raw = module_str(m, "_raw_params"), *exe = module_str(m, "executable");
	const char *tmpdir;
	json_t *words = NULL;
	_cleanup_free_ char *local = NULL, *remote = NULL, *qr = NULL, *cd = command_chdir(m);
	char *data;
	size_t len;
	struct buf line = BUF_INIT(0);
	int r;

	if (!raw)
		raw = module_str(m, "cmd");
	if (!raw || !*raw)
		return dr_error_set(err, "script needs the path of a local script");
	if (conn_split(raw, &words, err) < 0)
		return -1;
	if (module_file_find(
	        m, "files", json_string_value(json_array_get(words, 0)), &local, err) < 0) {
		json_decref(words);
		return -1;
	}
	if ((r = command_guard(m, raw, err)) != 0) {
		json_decref(words);
		return r < 0 ? -1 : 0;
	}
	if (m->check) {
		json_decref(words);
		json_object_set_new(m->result, "changed", json_true());
		json_object_set_new(m->result, "msg", json_string("would run the script"));
		return 0;
	}
	if (file_read(local, COMMAND_SCRIPT_MAX, &data, &len, err) < 0 ||
	    conn_tmpdir(m->conn, &tmpdir, err) < 0) {
		json_decref(words);
		return -1;
	}
	remote = xasprintf("%s/script-%s", tmpdir, strrchr(local, '/') + 1);
	r = conn_put(m->conn, remote, data, len, 0700, err);
	free(data);
	if (r < 0) {
		json_decref(words);
		return -1;
	}
	qr = conn_quote(remote);
	buf_adds(&line, cd);
	if (exe) {
		buf_adds(&line, exe);
		buf_addc(&line, ' ');
	}
	buf_adds(&line, qr);
	for (size_t i = 1; i < json_array_size(words); i++) {
		_cleanup_free_ char *q = conn_quote(json_string_value(json_array_get(words, i)));
		buf_addc(&line, ' ');
		buf_adds(&line, q);
	}
	json_decref(words);
	r = command_run_line(m, line.data, raw, json_string(raw), true, err);
	buf_free(&line);
	return r;
}

static const struct module_arg command_script_args[] = {
    {"cmd", MT_STR, false, NULL, NULL, NULL},
    {"chdir", MT_PATH, false, NULL, NULL, NULL},
    {"creates", MT_PATH, false, NULL, NULL, NULL},
    {"removes", MT_PATH, false, NULL, NULL, NULL},
    {"executable", MT_STR, false, NULL, NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

const struct module modules_command[] = {
    {"command", command_command_args, command_command, MODULE_FREE_FORM},
    {"shell", command_shell_args, command_shell, MODULE_FREE_FORM},
    {"raw", command_raw_args, command_raw, MODULE_FREE_FORM},
    {"script", command_script_args, command_script, MODULE_FREE_FORM},
};
const size_t modules_command_n = nitems(modules_command);
