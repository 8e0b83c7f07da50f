/*
 * modules/control.c - modules that run on the controller: debug, set_fact, assert, fail,
 * pause, ping, include_vars.
 */
#include "config.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "playbooks/playbooks.h"

/* debug: msg (templated) or var (an expression), shown at verbosity. */
static int
control_debug(struct module_ctx *m, struct dr_error *err)
{
	json_t *var = json_object_get(m->args, "var"), *msg = json_object_get(m->args, "msg");

	if (var && msg && !json_is_null(var) && !json_is_null(msg))
		return dr_error_set(err, "parameters are mutually exclusive: msg|var");
	if (module_int(m, "verbosity") > m->verbosity) {
		json_object_set_new(
		    m->result, "skipped_reason", json_string("Verbosity threshold not met."));
		json_object_set_new(m->result, "skipped", json_true());
		return 0;
	}
	if (var && !json_is_null(var)) {
		const char *name = json_string_value(var);
		json_t *v = NULL;
		_cleanup_free_ char *expr = NULL;
		if (!name)
			return dr_error_set(err, "var: expected a variable name or expression");
		expr = xasprintf("{{ %s }}", name);
		json_t *tmpl = json_string(strstr(name, "{{") ? name : expr);
		struct dr_error e = {{0}};
		if (vars_template(m->vars, tmpl, &v, &e) < 0) {
			if (strstr(e.msg, "is undefined") || strstr(e.msg, "has no attribute"))
				v = json_string("VARIABLE IS NOT DEFINED!");
			else {
				json_decref(tmpl);
				return dr_error_set(err, "%s", e.msg);
			}
		}
		json_decref(tmpl);
		json_object_set_new(m->result, name, v);
		return 0;
	}
	if (!msg || json_is_null(msg)) {
		json_object_set_new(m->result, "msg", json_string("Hello world!"));
		return 0;
	}
	json_t *r;
	if (vars_template(m->vars, msg, &r, err) < 0)
		return -1;
	json_object_set_new(m->result, "msg", r);
	return 0;
}

static const struct module_arg control_debug_args[] = {
    {"msg", MT_RAW, false, NULL, NULL, NULL},
    {"var", MT_STR, false, NULL, NULL, NULL},
    {"verbosity", MT_INT, false, "0", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* set_fact: every argument becomes a host variable. */
static int
control_set_fact(struct module_ctx *m, struct dr_error *err)
{
	json_t *facts = json_object();
	const char *k;
	json_t *v;

	json_object_foreach(m->args, k, v)
	{
		if (strcmp(k, "cacheable") == 0)
			continue;
		if (strcmp(k, "_raw_params") == 0) {
			json_decref(facts);
			return dr_error_set(err, "set_fact takes key=value arguments");
		}
		json_object_set(facts, k, v);
	}
	if (json_object_size(facts) == 0) {
		json_decref(facts);
		return dr_error_set(err,
		    "No key/value pairs provided, at least one is required for "
		    "this action to succeed");
	}
	json_object_set_new(m->result, "ansible_facts", facts);
	return 0;
}

/* assert: every condition in that must hold. */
static int
control_assert(struct module_ctx *m, struct dr_error *err)
{
	json_t *that = json_object_get(m->args, "that"), *list;
	json_t *fail_msg = json_object_get(m->args, "fail_msg");
	size_t i;
	json_t *c;

	if (!fail_msg || json_is_null(fail_msg))
		fail_msg = json_object_get(m->args, "msg");
	if (!that)
		return dr_error_set(err, "conditional required in \"that\" string");
	list = json_is_array(that) ? json_incref(that) : json_pack("[O]", that);
	json_array_foreach(list, i, c)
	{
		bool ok;
		if (vars_cond(m->vars, c, &ok, err) < 0) {
			json_decref(list);
			return -1;
		}
		if (!ok) {
			json_t *msg;
			json_object_set_new(m->result, "assertion", json_incref(c));
			json_object_set_new(m->result, "evaluated_to", json_false());
			if (fail_msg && !json_is_null(fail_msg) &&
			    vars_template(m->vars, fail_msg, &msg, NULL) == 0) {
				char *s = json_is_string(msg) ? xstrdup(json_string_value(msg))
				                              : json_dumps(msg, JSON_ENCODE_ANY);
				dr_error_set(err, "%s", s);
				free(s);
				json_decref(msg);
			} else
				dr_error_set(err, "Assertion failed");
			json_decref(list);
			return -1;
		}
	}
	json_decref(list);
	json_t *sm = json_object_get(m->args, "success_msg"), *msg;
	if (module_bool(m, "quiet"))
		json_object_set_new(m->result, "msg", json_string("All assertions passed"));
	else if (sm && !json_is_null(sm) && vars_template(m->vars, sm, &msg, NULL) == 0)
		json_object_set_new(m->result, "msg", msg);
	else
		json_object_set_new(m->result, "msg", json_string("All assertions passed"));
	return 0;
}

static const struct module_arg control_assert_args[] = {
    {"that", MT_RAW, true, NULL, NULL, NULL},
    {"fail_msg", MT_RAW, false, NULL, NULL, "msg"},
    {"success_msg", MT_RAW, false, NULL, NULL, NULL},
    {"quiet", MT_BOOL, false, "no", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* fail: always fails with msg. */
static int
control_fail(struct module_ctx *m, struct dr_error *err)
{
	const char *msg = module_str(m, "msg");

	return dr_error_set(err, "%s", msg ? msg : "Failed as requested from task");
}

static const struct module_arg control_fail_args[] = {
    {"msg", MT_STR, false, NULL, NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* pause: wait seconds or minutes; a prompt without a terminal does not wait. */
static int
control_pause(struct module_ctx *m, struct dr_error *err)
{
	long long secs = module_int(m, "seconds") + 60 * module_int(m, "minutes");

	if (secs < 0 || secs > 86400)
		return dr_error_set(err, "pause: seconds must be between 0 and 86400");
	if (secs == 0 && !isatty(0)) {
		json_object_set_new(m->result, "user_input", json_string(""));
		json_object_set_new(m->result, "warning",
		    json_string("no terminal: pause without seconds does not wait"));
	}
	for (long long i = 0; i < secs * 10; i++)
		usleep(100000);
	json_object_set_new(m->result, "delta", json_integer(secs));
	json_object_set_new(m->result, "stdout",
	    json_string_nocheck(secs ? "Paused for the given time" : "Paused"));
	return 0;
}

static const struct module_arg control_pause_args[] = {
    {"seconds", MT_INT, false, "0", NULL, NULL},
    {"minutes", MT_INT, false, "0", NULL, NULL},
    {"prompt", MT_STR, false, NULL, NULL, NULL},
    {"echo", MT_BOOL, false, "yes", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* ping: reach the host (a command round trip) and answer data. */
static int
control_ping(struct module_ctx *m, struct dr_error *err)
{
	struct conn_result r = {0};
	const char *data = module_str(m, "data");

	if (strcmp(data, "crash") == 0)
		return dr_error_set(err, "boom");
	if (module_exec(m, "echo pong", NULL, 0, &r, err) < 0)
		return -1;
	conn_result_free(&r);
	json_object_set_new(m->result, "ping", json_string(data));
	return 0;
}

static const struct module_arg control_ping_args[] = {
    {"data", MT_STR, false, "pong", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* setup: the host's facts, in one round trip. */
static int
control_setup(struct module_ctx *m, struct dr_error *err)
{
	json_t *facts, *subset = json_object_get(m->args, "gather_subset");
	struct buf s = BUF_INIT(0);
	size_t i;
	json_t *x;
	int r;

	json_array_foreach(subset, i, x)
	{
		if (i)
			buf_addc(&s, ',');
		buf_adds(&s, json_string_value(x) ? json_string_value(x) : "");
	}
	r = conn_facts(m->conn, s.data, &facts, err);
	buf_free(&s);
	if (r < 0)
		return -1;
	/* filter: a shell-style pattern on the names, as setup's */
	const char *filter = module_str(m, "filter");
	if (filter && *filter && strcmp(filter, "*") != 0) {
		json_t *kept = json_object();
		const char *k;
		json_object_foreach(facts, k, x)
		{
			_cleanup_free_ char *full = xasprintf("ansible_%s", k);
			if (fnmatch(filter, full, 0) == 0 || fnmatch(filter, k, 0) == 0)
				json_object_set(kept, k, x);
		}
		json_decref(facts);
		facts = kept;
	}
	json_object_set_new(m->result, "ansible_facts", facts);
	return 0;
}

static const struct module_arg control_setup_args[] = {
    {"gather_subset", MT_LIST, false, "all", NULL, "subset"},
    {"gather_timeout", MT_INT, false, "10", NULL, NULL},
    {"filter", MT_STR, false, NULL, NULL, NULL},
    {"fact_path", MT_PATH, false, NULL, NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* include_vars: a YAML/JSON file (role vars/ first) as host variables. */
static int
control_include_vars(struct module_ctx *m, struct dr_error *err)
{
	const char *file = module_str(m, "file"), *name = module_str(m, "name");
	_cleanup_free_ char *path = NULL;
	json_t *v;

	if (!file)
		file = module_str(m, "_raw_params");
	if (!file)
		return dr_error_set(err, "include_vars needs a file");
	if (module_file_find(m, "vars", file, &path, err) < 0)
		return -1;
	if (vars_file_load(path, &v, err) < 0)
		return -1;
	json_object_set_new(m->result, "ansible_included_var_files", json_pack("[s]", path));
	if (name)
		json_object_set_new(m->result, "ansible_facts", json_pack("{s:o}", name, v));
	else
		json_object_set_new(m->result, "ansible_facts", v);
	return 0;
}

static const struct module_arg control_include_vars_args[] = {
    {"file", MT_STR, false, NULL, NULL, NULL},
    {"name", MT_STR, false, NULL, NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

const struct module modules_control[] = {
    {"debug", control_debug_args, control_debug, MODULE_CONTROLLER | MODULE_RAW_ARGS},
    {"set_fact", NULL, control_set_fact, MODULE_CONTROLLER | MODULE_ANY_ARGS},
    {"assert", control_assert_args, control_assert, MODULE_CONTROLLER | MODULE_RAW_ARGS},
    {"fail", control_fail_args, control_fail, MODULE_CONTROLLER},
    {"pause", control_pause_args, control_pause, MODULE_CONTROLLER},
    {"ping", control_ping_args, control_ping, 0},
    {"setup", control_setup_args, control_setup, 0},
    {"gather_facts", control_setup_args, control_setup, 0},
    {"include_vars", control_include_vars_args, control_include_vars,
        MODULE_CONTROLLER | MODULE_FREE_FORM},
};
const size_t modules_control_n = nitems(modules_control);
