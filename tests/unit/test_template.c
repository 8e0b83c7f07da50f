/*
 * test_template.c - the template engine against tests/unit/template_cases.json.
 *
 * Each case is template text, variables, options and either the output ansible-core's
 * templating gives (checked with tests/unit/template_oracle.py) or an error substring.
 * Every case is one TAP line. A few API-level tests follow (compile once render many,
 * template_eval, registered filters).
 */
#include "tests/unit/unit.h"

#include <stdlib.h>

static json_t *cases;

/* Includes come from the case's "templates" object. */
static int
case_load(void *ctx, const char *name, char **ret_text, char **ret_name, struct dr_error *err)
{
	json_t *t = json_object_get(ctx, name);

	if (!json_is_string(t))
		return dr_error_set(err, "template '%s' not found", name);
	*ret_text = xstrdup(json_string_value(t));
	*ret_name = xstrdup(name);
	return 0;
}

static void
test_case(void **state)
{
	json_t *c = *state, *o = json_object_get(c, "opts");
	const char *t = json_string_value(json_object_get(c, "t"));
	const char *want = json_string_value(json_object_get(c, "out"));
	const char *want_err = json_string_value(json_object_get(c, "err"));
	struct template_opts opts = {
	    .trim_blocks = json_is_true(json_object_get(o, "trim_blocks")),
	    .lstrip_blocks = json_is_true(json_object_get(o, "lstrip_blocks")),
	    .autoescape = json_is_true(json_object_get(o, "autoescape")),
	    .lenient = json_is_true(json_object_get(o, "lenient")),
	    .max_output = (size_t)json_integer_value(json_object_get(o, "max_output")),
	    .max_loop = (uint64_t)json_integer_value(json_object_get(o, "max_loop")),
	    .load = case_load,
	    .load_ctx = json_object_get(c, "templates"),
	};
	struct template *tpl = NULL;
	struct dr_error err = {{0}};
	char *out = NULL;
	int r;

	r = template_compile("case", t, &opts, &tpl, &err);
	if (r == 0) {
		r = template_render(tpl, json_object_get(c, "vars"), &out, NULL, &err);
		template_free(tpl);
	}
	if (want_err) {
		if (r == 0)
			print_error("expected error '%s', got output '%s'\n", want_err, out);
		assert_int_equal(r, -1);
		if (!strstr(err.msg, want_err))
			print_error("error '%s' lacks '%s'\n", err.msg, want_err);
		assert_non_null(strstr(err.msg, want_err));
		return;
	}
	if (!want)
		fail_msg("case has neither \"out\" nor \"err\"");
	if (r < 0)
		print_error("unexpected error: %s\n", err.msg);
	assert_int_equal(r, 0);
	assert_string_equal(out, want);
	free(out);
}

/* Compile once, render many times with different variables. */
static void
test_render_many(void **state)
{
	struct template *t;
	struct dr_error err;
	char *out;
	size_t len;

	assert_int_equal(
	    template_compile("m.tmpl", "{{ a }}-{{ b | default(0) }}", NULL, &t, &err), 0);
	for (int i = 0; i < 100; i++) {
		json_t *v = json_pack("{s:i}", "a", i);
		assert_int_equal(template_render(t, v, &out, &len, &err), 0);
		char want[32];
		snprintf(want, sizeof want, "%d-0", i);
		assert_string_equal(out, want);
		assert_int_equal(len, strlen(want));
		free(out);
		json_decref(v);
	}
	template_free(t);
}

/* template_eval returns values, not strings (Ansible `when:`). */
static void
test_eval(void **state)
{
	json_t *vars = json_pack("{s:i,s:[s,s]}", "n", 3, "l", "a", "b"), *v;
	struct dr_error err;

	assert_int_equal(template_eval("when", "n > 2 and 'a' in l", NULL, vars, &v, &err), 0);
	assert_true(json_is_true(v));
	json_decref(v);
	assert_int_equal(template_eval("var", "l | map('upper') | list", NULL, vars, &v, &err), 0);
	assert_true(json_is_array(v));
	assert_string_equal(json_string_value(json_array_get(v, 1)), "B");
	json_decref(v);
	assert_int_equal(template_eval("when", "missing == 1", NULL, vars, &v, &err), -1);
	assert_string_equal(err.msg, "when:1: 'missing' is undefined");
	assert_int_equal(template_eval("when", "n >", NULL, vars, &v, &err), -1);
	assert_non_null(strstr(err.msg, "when:1: syntax error"));
	json_decref(vars);
}

/* An include's errors name the included file and its line. */
static void
test_include_error_location(void **state)
{
	json_t *tpls = json_pack("{s:s}", "inner.tmpl", "ok\n{{ nope }}");
	struct template_opts opts = {.load = case_load, .load_ctx = tpls};
	struct dr_error err;
	char *out;

	assert_int_equal(template_render_string(
	                     "outer.tmpl", "x{% include 'inner.tmpl' %}", &opts, NULL, &out, &err),
	    -1);
	assert_string_equal(err.msg, "inner.tmpl:2: 'nope' is undefined");
	json_decref(tpls);
}

static int
filter_shout(
    const json_t *in, const struct template_args *args, json_t **ret, struct dr_error *err)
{
	json_t *n = template_arg(args, 0, "times");

	if (!json_is_string(in))
		return dr_error_set(err, "shout needs a string");
	*ret = json_sprintf("%s%s", json_string_value(in), json_integer_value(n) > 1 ? "!!" : "!");
	return 0;
}

static int
test_is_web(const json_t *in, const struct template_args *args, bool *ret, struct dr_error *err)
{
	*ret = json_is_string(in) && str_has_prefix(json_string_value(in), "web");
	return 0;
}

/* Later subsystems add their own filters and tests by name. */
static void
test_register(void **state)
{
	struct dr_error err;
	char *out;

	template_filter_register("shout", filter_shout, false);
	template_test_register("webhost", test_is_web, false);
	assert_int_equal(template_render_string("r",
	                     "{{ 'hi' | shout }} {{ 'a' | shout(times=2) }} "
	                     "{{ 'web1' is webhost }} {{ 'db' is webhost }}",
	                     NULL, NULL, &out, &err),
	    0);
	assert_string_equal(out, "hi! a!! True False");
	free(out);
	assert_int_equal(
	    template_render_string("r", "{{ 1 | shout }}", NULL, NULL, &out, &err), -1);
	assert_string_equal(err.msg, "r:1: filter 'shout': shout needs a string");
}

int
main(void)
{
	const char *top = getenv("top_srcdir");
	json_error_t je;

	_cleanup_free_ char *path =
	    xasprintf("%s/tests/unit/template_cases.json", top ? top : ".");
	cases = json_load_file(path, 0, &je);
	if (!cases) {
		fprintf(stderr, "%s:%d: %s\n", path, je.line, je.text);
		return 1;
	}
	size_t n = json_array_size(cases), extra = 4;
	struct CMUnitTest *tests = xcalloc(n + extra, sizeof *tests);
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_array_get(cases, i);
		tests[i] =
		    (struct CMUnitTest){.name = json_string_value(json_object_get(c, "name")),
		        .test_func = test_case,
		        .initial_state = c};
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_render_many);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_eval);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_include_error_location);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_register);
	int r = _cmocka_run_group_tests("template", tests, n, NULL, NULL);
	free(tests);
	json_decref(cases);
	return r;
}
