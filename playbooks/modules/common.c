/*
 * modules/common.c - the module table, argument checking against each module's spec, and
 * helpers every module uses.
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "playbooks/playbooks.h"

/* Every module family; adding a family is one row. */
static const struct {
	const struct module *list;
	const size_t *n;
} module_families[] = {
    {modules_control, &modules_control_n},
    {modules_command, &modules_command_n},
    {modules_files, &modules_files_n},
    {modules_system, &modules_system_n},
    {modules_packages, &modules_packages_n},
    {modules_services, &modules_services_n},
    {modules_sources, &modules_sources_n},
    {modules_hostconf, &modules_hostconf_n},
    {modules_net, &modules_net_n},
    {modules_archive, &modules_archive_n},
    {modules_remote, &modules_remote_n},
    {modules_async, &modules_async_n},
};

/* The module called name. */
const struct module *
module_find(const char *name)
{
	for (size_t f = 0; f < nitems(module_families); f++)
		for (size_t i = 0; i < *module_families[f].n; i++)
			if (strcmp(module_families[f].list[i].name, name) == 0)
				return &module_families[f].list[i];
	return NULL;
}

/* True when word is one of the '|'-separated names in list. */
static bool
module_in(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p && *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, word, n) == 0)
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

static const char *const module_type_names[] = {[MT_STR] = "str",
    [MT_BOOL] = "bool",
    [MT_INT] = "int",
    [MT_FLOAT] = "float",
    [MT_PATH] = "path",
    [MT_LIST] = "list",
    [MT_DICT] = "dict",
    [MT_RAW] = "raw",
    [MT_MODE] = "mode"};

/* Ansible's boolean conversion. */
static int
module_to_bool(const json_t *v, bool *ret)
{
	static const char *const yes[] = {"yes", "on", "1", "true", "y", "t"};
	static const char *const no[] = {"no", "off", "0", "false", "n", "f"};

	if (json_is_boolean(v)) {
		*ret = json_is_true(v);
		return 0;
	}
	if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
		*ret = json_integer_value(v) == 1;
		return 0;
	}
	if (json_is_string(v)) {
		_cleanup_free_ char *s = xstrdup(json_string_value(v));
		for (char *p = s; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		for (size_t i = 0; i < nitems(yes); i++)
			if (strcmp(s, yes[i]) == 0) {
				*ret = true;
				return 0;
			}
		for (size_t i = 0; i < nitems(no); i++)
			if (strcmp(s, no[i]) == 0) {
				*ret = false;
				return 0;
			}
	}
	return -1;
}

/* Convert v to the spec's type: a new reference, or NULL when it cannot be. */
static json_t *
module_convert(enum module_type t, const json_t *v)
{
	switch (t) {
	case MT_RAW:
		return json_incref((json_t *)v);
	case MT_STR:
	case MT_PATH:
		if (json_is_string(v))
			return json_incref((json_t *)v);
		if (json_is_integer(v)) {
			char *s = xasprintf("%lld", (long long)json_integer_value(v));
			json_t *r = json_string(s);
			free(s);
			return r;
		}
		if (json_is_real(v)) {
			char *s = xasprintf("%g", json_real_value(v));
			json_t *r = json_string(s);
			free(s);
			return r;
		}
		if (json_is_boolean(v))
			return json_string(json_is_true(v) ? "True" : "False");
		return NULL;
	case MT_BOOL: {
		bool b;
		return module_to_bool(v, &b) == 0 ? json_boolean(b) : NULL;
	}
	case MT_INT: {
		long long n;
		if (json_is_integer(v))
			return json_incref((json_t *)v);
		if (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v))
			return json_integer((long long)json_real_value(v));
		if (json_is_string(v) &&
		    str_to_ll(json_string_value(v), LLONG_MIN, LLONG_MAX, &n) == 0)
			return json_integer(n);
		return NULL;
	}
	case MT_FLOAT: {
		if (json_is_number(v))
			return json_real(json_number_value(v));
		if (json_is_string(v)) {
			char *end;
			double d = strtod(json_string_value(v), &end);
			if (*json_string_value(v) && !*end)
				return json_real(d);
		}
		return NULL;
	}
	case MT_LIST:
		if (json_is_array(v))
			return json_incref((json_t *)v);
		if (json_is_string(v)) {
			json_t *l = json_array();
			_cleanup_free_ char *s = xstrdup(json_string_value(v));
			char *save = NULL;
			if (!*s)
				return l;
			for (char *w = strtok_r(s, ",", &save); w; w = strtok_r(NULL, ",", &save))
				json_array_append_new(l, json_string(str_trim(w)));
			return l;
		}
		if (json_is_number(v) || json_is_boolean(v))
			return json_pack("[O]", v);
		return NULL;
	case MT_DICT:
		if (json_is_object(v))
			return json_incref((json_t *)v);
		if (json_is_string(v)) {
			json_t *d = NULL;
			const char *s = json_string_value(v);
			if (*s == '{') {
				if (yaml_load_string("dict", s, strlen(s), 0, &d, NULL, NULL) ==
				        0 &&
				    json_is_object(d))
					return d;
				json_decref(d);
				return NULL;
			}
			if (vars_kv_parse(s, false, &d, NULL) == 0)
				return d;
		}
		return NULL;
	case MT_MODE:
		if (json_is_integer(v) || json_is_string(v))
			return json_incref((json_t *)v);
		return NULL;
	}
	return NULL;
}

/* Render a default's text as the spec's type. */
static json_t *
module_default(const struct module_arg *a)
{
	json_t *s = json_string(a->def), *r;

	if (a->type == MT_LIST && !*a->def) {
		json_decref(s);
		return json_array();
	}
	r = module_convert(a->type, s);
	json_decref(s);
	return r ? r : json_string(a->def);
}

/* Check args against the spec. */
int
module_args_check(const struct module *m, const json_t *args, json_t **ret, struct dr_error *err)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;
	struct buf bad = BUF_INIT(0);

	json_object_foreach((json_t *)args, k, v)
	{
		const struct module_arg *a = NULL;
		if (json_is_string(v) && strcmp(json_string_value(v), VARS_OMIT) == 0)
			continue;
		if (strcmp(k, "_raw_params") == 0 && (m->flags & MODULE_FREE_FORM)) {
			json_object_set(out, k, v);
			continue;
		}
		for (const struct module_arg *x = m->args; x && x->name; x++)
			if (strcmp(x->name, k) == 0 || module_in(x->aliases, k))
				a = x;
		if (!a && (m->flags & MODULE_ANY_ARGS)) {
			json_object_set(out, k, v);
			continue;
		}
		if (!a) {
			if (bad.len)
				buf_adds(&bad, ", ");
			buf_adds(&bad, k);
			continue;
		}
		if (json_is_null(v)) {
			json_object_set(out, a->name, v);
			continue;
		}
		json_t *c = module_convert(a->type, v);
		if (!c) {
			buf_free(&bad);
			json_decref(out);
			return dr_error_set(err,
			    "argument '%s' is of type %s and we were unable to convert to %s", k,
			    json_is_object(v)        ? "dict"
			        : json_is_array(v)   ? "list"
			        : json_is_string(v)  ? "str"
			        : json_is_boolean(v) ? "bool"
			                             : "number",
			    module_type_names[a->type]);
		}
		if (a->choices &&
		    !module_in(a->choices, json_is_string(c) ? json_string_value(c) : "")) {
			_cleanup_free_ char *choices = xstrdup(a->choices);
			for (char *p = choices; *p; p++)
				if (*p == '|')
					*p = ',';
			_cleanup_free_ char *got = json_is_string(c)
			    ? xstrdup(json_string_value(c))
			    : json_dumps(c, JSON_ENCODE_ANY);
			json_decref(c);
			buf_free(&bad);
			json_decref(out);
			return dr_error_set(
			    err, "value of %s must be one of: %s, got: %s", a->name, choices, got);
		}
		json_object_set_new(out, a->name, c);
	}
	if (bad.len) {
		struct buf sup = BUF_INIT(0);
		for (const struct module_arg *x = m->args; x && x->name; x++) {
			if (sup.len)
				buf_adds(&sup, ", ");
			buf_adds(&sup, x->name);
		}
		dr_error_set(err,
		    "unsupported parameter%s for (%s) module: %s. Supported parameters "
		    "include: %s",
		    strchr(bad.data, ',') ? "s" : "", m->name, bad.data,
		    sup.data ? sup.data : "none");
		buf_free(&sup);
		buf_free(&bad);
		json_decref(out);
		return -1;
	}
	buf_free(&bad);
	for (const struct module_arg *x = m->args; x && x->name; x++) {
		json_t *cur = json_object_get(out, x->name);
		if ((!cur || json_is_null(cur)) && x->def)
			json_object_set_new(out, x->name, module_default(x));
		else if (!cur && x->required) {
			json_decref(out);
			return dr_error_set(err, "missing required arguments: %s", x->name);
		}
	}
	*ret = out;
	return 0;
}

/* A string argument or NULL. */
const char *
module_str(const struct module_ctx *m, const char *name)
{
	return json_string_value(json_object_get(m->args, name));
}

bool
module_bool(const struct module_ctx *m, const char *name)
{
	return json_is_true(json_object_get(m->args, name));
}

long long
module_int(const struct module_ctx *m, const char *name)
{
	return json_integer_value(json_object_get(m->args, name));
}

/* Run a command; only a failure to run at all is an error. */
int
module_exec(struct module_ctx *m, const char *cmd, const char *in, size_t in_len,
    struct conn_result *ret, struct dr_error *err)
{
	return conn_exec(m->conn, cmd, in, in_len, m->timeout, ret, err);
}

/* A file on the controller, searched as Ansible's action plugins do. */
int
module_file_find(const struct module_ctx *m, const char *sub, const char *name, char **ret,
    struct dr_error *err)
{
	struct stat st;
	const char *bases[] = {m->role_path, m->role_path, m->playbook_dir, m->playbook_dir};
	const char *subs[] = {sub, "", sub, ""};

	if (name[0] == '/') {
		if (stat(name, &st) < 0)
			return dr_error_errno(
			    err, "could not find or access '%s' on the controller", name);
		*ret = xstrdup(name);
		return 0;
	}
	for (size_t i = 0; i < nitems(bases); i++) {
		if (!bases[i])
			continue;
		char *p = *subs[i] ? xasprintf("%s/%s/%s", bases[i], subs[i], name)
		                   : xasprintf("%s/%s", bases[i], name);
		if (stat(p, &st) == 0) {
			*ret = p;
			return 0;
		}
		free(p);
	}
	return dr_error_set(err, "could not find or access '%s' (searched %s/ and the %s)", name,
	    sub, m->role_path ? "role and playbook directories" : "playbook directory");
}

/* Set a before/after diff. */
void
module_diff_set(struct module_ctx *m, const char *path, const char *before, const char *after)
{
	json_t *d = json_object();

	json_object_set_new(d, "before", json_string(before ? before : ""));
	json_object_set_new(d, "after", json_string(after ? after : ""));
	if (path) {
		json_object_set_new(d, "before_header", json_string(path));
		json_object_set_new(d, "after_header", json_string(path));
	}
	json_object_set_new(m->result, "diff", d);
}

/* Text that may not be UTF-8 as a JSON string (invalid bytes become U+FFFD). */
json_t *
module_text(const char *s, size_t len)
{
	size_t n;
	char *clean = store_utf8_clean(s, len, &n);
	json_t *v = json_stringn(clean, n);

	free(clean);
	return v ? v : json_string("");
}
