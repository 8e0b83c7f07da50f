/* test_yaml.c - the YAML loader (PyYAML SafeLoader semantics, places, limits) and dumper. */
#include "tests/unit/unit.h"

#include <time.h>

/* Load text named "f.yml", asserting success; caller frees. */
static json_t *
load_ok(const char *text, unsigned flags, struct yaml_src **ret_src)
{
	struct dr_error err = {""};
	json_t *v = NULL;

	if (yaml_load_string("f.yml", text, strlen(text), flags, &v, ret_src, &err) < 0)
		fail_msg("loading %s: %s", text, err.msg);
	return v;
}

/* Load text, asserting failure with a message containing want. */
static void
load_fails(const char *text, const char *want)
{
	struct dr_error err = {""};
	json_t *v = NULL;

	if (yaml_load_string("f.yml", text, strlen(text), 0, &v, NULL, &err) == 0)
		fail_msg("loading %s succeeded", text);
	assert_null(v);
	if (strstr(err.msg, want) == NULL)
		fail_msg("loading %s: message '%s' lacks '%s'", text, err.msg, want);
}

/* Compact JSON text of v; caller frees. */
static char *
json_text(const json_t *v)
{
	return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER);
}

/* Assert that "v: <text>" loads v as the JSON want (as PyYAML resolves it). */
static void
check_scalar(const char *text, const char *want)
{
	_cleanup_free_ char *doc = xasprintf("v: %s\n", text);
	json_t *root = load_ok(doc, 0, NULL);
	_cleanup_free_ char *got = json_text(json_object_get(root, "v"));

	if (strcmp(got, want) != 0)
		fail_msg("'%s' loaded as %s, PyYAML gives %s", text, got, want);
	json_decref(root);
}

static void
test_scalars(void **state)
{
	/* Each expectation is what python3 -c 'yaml.safe_load("v: TEXT")' gives (PyYAML 6). */
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"yes", "true"},
	    {"Yes", "true"},
	    {"YES", "true"},
	    {"no", "false"},
	    {"NO", "false"},
	    {"on", "true"},
	    {"On", "true"},
	    {"Off", "false"},
	    {"OFF", "false"},
	    {"true", "true"},
	    {"False", "false"},
	    {"y", "\"y\""},
	    {"n", "\"n\""},
	    {"yES", "\"yES\""},
	    {"~", "null"},
	    {"null", "null"},
	    {"Null", "null"},
	    {"NULL", "null"},
	    {"", "null"},
	    {"nULL", "\"nULL\""},
	    {"0x1F", "31"},
	    {"0b101", "5"},
	    {"0755", "493"},
	    {"0o755", "\"0o755\""},
	    {"08", "\"08\""},
	    {"1_000", "1000"},
	    {"1__2", "12"},
	    {"1:30", "90"},
	    {"190:20:30", "685230"},
	    {"+12", "12"},
	    {"-3", "-3"},
	    {"0", "0"},
	    {"-0", "0"},
	    {"9223372036854775807", "9223372036854775807"},
	    {"1.5", "1.5"},
	    {"1e3", "\"1e3\""},
	    {"1.0e3", "\"1.0e3\""},
	    {"1.0e+3", "1000.0"},
	    {".5", "0.5"},
	    {"-.5", "\"-.5\""},
	    {"1.", "1.0"},
	    {"1_0.5", "10.5"},
	    {"1:30.5", "90.5"},
	    {"0.1_1", "0.11"},
	    {".inf", "\".inf\""},
	    {"-.Inf", "\"-.Inf\""},
	    {".NaN", "\".NaN\""},
	    {"2001-12-14", "\"2001-12-14\""},
	    {"'yes'", "\"yes\""},
	    {"\"123\"", "\"123\""},
	    {"'~'", "\"~\""},
	    {"!!str 123", "\"123\""},
	    {"!!str yes", "\"yes\""},
	    {"!!int \"12\"", "12"},
	    {"!!float 1", "1.0"},
	    {"!!float 1e3", "1000.0"},
	    {"!!bool \"yes\"", "true"},
	    {"!!null x", "null"},
	    {"! 12", "12"},
	    {"!unsafe '{{ lookup(\"x\") }}'", "\"{{ lookup(\\\"x\\\") }}\""},
	    {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
	    {"a b  c", "\"a b  c\""},
	    {"\"tab\\there\"", "\"tab\\there\""},
	    {"=", "\"=\""},
	};
	size_t i;

	for (i = 0; i < nitems(cases); i++)
		check_scalar(cases[i].text, cases[i].want);
}

static void
test_bad_tags(void **state)
{
	load_fails("a: 1\nsecret: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n",
	    "f.yml:2:9: vault-encrypted values are not supported");
	load_fails(
	    "v: !foo x\n", "f.yml:1:4: could not determine a constructor for the tag '!foo'");
	load_fails("v: !!set {a: 1}\n", "tag:yaml.org,2002:set");
	load_fails("v: !!int abc\n", "f.yml:1:4: 'abc' is not an integer");
	load_fails("v: !!int 99999999999999999999\n", "does not fit in 64 bits");
	load_fails("v: 99999999999999999999\n", "f.yml:1:4");
	load_fails("v: !!bool maybe\n", "'maybe' is not a boolean");
	load_fails("v: !!float x1\n", "'x1' is not a number");
}

static void
test_anchors_and_merge(void **state)
{
	const char *text = "base: &b {a: 1, b: 2}\n"
	                   "other: &o {b: 3, c: 4}\n"
	                   "m1:\n"
	                   "  <<: *b\n"
	                   "  b: 9\n"
	                   "m2:\n"
	                   "  <<: [*b, *o]\n"
	                   "m3:\n"
	                   "  x: 0\n"
	                   "  <<: *o\n"
	                   "  <<: *b\n"
	                   "s: &s hello\n"
	                   "list: [*s, *b]\n"
	                   "'<<': quoted\n";
	json_t *root = load_ok(text, 0, NULL);
	_cleanup_free_ char *got = NULL;

	/* What PyYAML's flatten_mapping gives: merged keys first, explicit keys win, earlier
	 * mappings in a merge list win, later << keys win over earlier ones. */
	got = json_text(root);
	assert_string_equal(got,
	    "{\"base\":{\"a\":1,\"b\":2},\"other\":{\"b\":3,\"c\":4},"
	    "\"m1\":{\"a\":1,\"b\":9},\"m2\":{\"b\":2,\"c\":4,\"a\":1},"
	    "\"m3\":{\"b\":2,\"c\":4,\"a\":1,\"x\":0},\"s\":\"hello\","
	    "\"list\":[\"hello\",{\"a\":1,\"b\":2}],\"<<\":\"quoted\"}");
	/* An alias is a copy: changing it leaves the anchored node alone. */
	json_object_set_new(
	    json_array_get(json_object_get(root, "list"), 1), "a", json_integer(7));
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(root, "base"), "a")), 1);
	json_decref(root);

	load_fails("a: *nope\n", "f.yml:1:4: found undefined alias 'nope'");
	load_fails("a: &x [1, *x]\n", "f.yml:1:11: alias 'x' refers to a node that contains it");
	load_fails("a: &x 1\nb:\n  <<: *x\n", "f.yml:3:7: expected a mapping or list of mappings");
	load_fails("a: &x 1\nb:\n  <<: [*x]\n", "f.yml:3:7: expected a mapping for merging");
}

static void
test_alias_bomb(void **state)
{
	/* The "billion laughs": 10^9 strings if expanded. Refused fast, naming the place. */
	const char *text =
	    "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
	    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
	    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
	    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
	    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
	    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
	    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
	    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
	int64_t t0 = time_mono_us();

	load_fails(text, "aliases expand to more than the limit of 1000000 nodes");
	load_fails(text, "f.yml:6:35:");
	assert_true(time_mono_us() - t0 < 10 * 1000 * 1000);

	/* A modest use of aliases is fine. */
	json_t *v = load_ok("a: &a [1, 2]\nb: [*a, *a, *a]\n", 0, NULL);
	assert_int_equal(json_array_size(json_object_get(v, "b")), 3);
	json_decref(v);
}

static void
test_limits(void **state)
{
	struct buf b = BUF_INIT(0);
	struct dr_error err;
	json_t *v = NULL;
	char *big;
	int i;

	/* Nesting: 512 levels load, 513 do not. */
	for (i = 0; i < YAML_MAX_DEPTH; i++)
		buf_addc(&b, '[');
	for (i = 0; i < YAML_MAX_DEPTH; i++)
		buf_addc(&b, ']');
	v = load_ok(b.data, 0, NULL);
	json_decref(v);
	buf_reset(&b);
	for (i = 0; i < YAML_MAX_DEPTH + 1; i++)
		buf_addc(&b, '[');
	for (i = 0; i < YAML_MAX_DEPTH + 1; i++)
		buf_addc(&b, ']');
	load_fails(b.data, "f.yml:1:513: nested deeper than the limit of 512 levels");
	buf_free(&b);

	/* Aliases cannot stack nesting past the limit either. */
	buf_adds(&b, "a: &a ");
	for (i = 0; i < 300; i++)
		buf_addc(&b, '[');
	for (i = 0; i < 300; i++)
		buf_addc(&b, ']');
	buf_adds(&b,
	    "\nb: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "*a]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
	    "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
	    "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n");
	load_fails(b.data, "alias 'a' nests deeper than the limit");
	buf_free(&b);

	/* Size: one byte past the cap is refused before parsing. */
	big = xmalloc(YAML_MAX_BYTES + 1);
	memset(big, ' ', YAML_MAX_BYTES + 1);
	assert_int_equal(
	    yaml_load_string("big.yml", big, YAML_MAX_BYTES + 1, 0, &v, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "big.yml: 33554433 bytes is larger than the limit"));
	free(big);
}

static void
test_keys(void **state)
{
	json_t *v = load_ok("a: 1\nb: 2\na: 3\n1: int\ntrue: bool\n~: none\n1.5: float\n"
	                    "'2': str\n",
	    0, NULL);
	_cleanup_free_ char *got = json_text(v);

	/* Duplicates: the last wins, keeping the first one's position (as a Python dict). */
	assert_string_equal(got,
	    "{\"a\":3,\"b\":2,\"1\":\"int\",\"True\":\"bool\","
	    "\"None\":\"none\",\"1.5\":\"float\",\"2\":\"str\"}");
	json_decref(v);
	load_fails("? [1, 2]\n: x\n", "f.yml:1:3: a mapping key must be a scalar");
	load_fails("{a: 1}: x\n", "a mapping key must be a scalar");
	load_fails("\"a\\0b\": x\n", "f.yml:1:1: a mapping key may not contain a NUL byte");
}

static void
test_documents(void **state)
{
	struct dr_error err;
	json_t *v;
	_cleanup_free_ char *all = NULL;

	v = load_ok("", 0, NULL);
	assert_true(json_is_null(v));
	v = load_ok("---\n", 0, NULL);
	assert_true(json_is_null(v));
	v = load_ok("# only a comment\n", YAML_MULTI, NULL);
	assert_true(json_is_array(v));
	assert_int_equal(json_array_size(v), 0);
	json_decref(v);
	load_fails("a: 1\n---\nb: 2\n",
	    "f.yml:2:1: expected a single document, but found another document");
	v = load_ok("a: 1\n---\nb: 2\n---\n...\n", YAML_MULTI, NULL);
	all = json_text(v);
	assert_string_equal(all, "[{\"a\":1},{\"b\":2},null]");
	json_decref(v);
	/* Anchors belong to their document. */
	assert_int_equal(
	    yaml_load_string("f.yml", "a: &x 1\n---\nb: *x\n", 17, YAML_MULTI, &v, NULL, &err),
	    -1);
	assert_string_equal(err.msg, "f.yml:3:4: found undefined alias 'x'");
}

static void
test_places(void **state)
{
	const char *text = "play:\n"
	                   "  hosts: all\n"
	                   "  become: yes\n"
	                   "  tasks:\n"
	                   "    - name: first\n"
	                   "      debug: {msg: hi}\n"
	                   "    - &t {name: second, n: 2}\n"
	                   "    - *t\n";
	struct yaml_src *src = NULL;
	json_t *root = load_ok(text, 0, &src);
	json_t *play = json_object_get(root, "play");
	json_t *tasks = json_object_get(play, "tasks");
	json_t *t0 = json_array_get(tasks, 0);
	char where[256];
	unsigned line, col;

	assert_string_equal(yaml_src_where(src, root, where, sizeof where), "f.yml:1:1");
	assert_string_equal(yaml_src_where(src, play, where, sizeof where), "f.yml:2:3");
	assert_string_equal(
	    yaml_src_where_key(src, play, "tasks", where, sizeof where), "f.yml:4:3");
	assert_string_equal(yaml_src_where(src, tasks, where, sizeof where), "f.yml:5:5");
	assert_string_equal(
	    yaml_src_where(src, json_object_get(play, "hosts"), where, sizeof where),
	    "f.yml:2:10");
	assert_string_equal(yaml_src_where(src, t0, where, sizeof where), "f.yml:5:7");
	assert_string_equal(
	    yaml_src_where_key(src, t0, "debug", where, sizeof where), "f.yml:6:7");
	assert_string_equal(
	    yaml_src_where(
	        src, json_object_get(json_object_get(t0, "debug"), "msg"), where, sizeof where),
	    "f.yml:6:20");
	/* true is a singleton: no place of its own, but its key has one. */
	assert_string_equal(
	    yaml_src_where(src, json_object_get(play, "become"), where, sizeof where), "f.yml");
	assert_string_equal(
	    yaml_src_where_key(src, play, "become", where, sizeof where), "f.yml:3:3");
	/* An unknown key falls back to the mapping. */
	assert_string_equal(
	    yaml_src_where_key(src, play, "nope", where, sizeof where), "f.yml:2:3");
	/* A copy made by an alias points at the text it came from. */
	assert_string_equal(
	    yaml_src_where_key(src, json_array_get(tasks, 2), "n", where, sizeof where),
	    "f.yml:7:25");
	assert_true(
	    yaml_src_find(src, json_object_get(json_array_get(tasks, 2), "n"), NULL, &line, &col));
	assert_int_equal(line, 7);
	assert_int_equal(col, 28);
	assert_false(yaml_src_find(NULL, root, NULL, &line, &col));
	/* The map keeps the document alive. */
	json_decref(root);
	assert_string_equal(yaml_src_where(src, tasks, where, sizeof where), "f.yml:5:5");
	yaml_src_free(src);
	yaml_src_free(NULL);
}

static void
test_syntax_errors(void **state)
{
	load_fails("a: b: c\n", "f.yml:1:5: mapping values are not allowed in this context");
	load_fails("a:\n  - b\n c: d\n",
	    "f.yml:3:2: did not find expected key "
	    "(while parsing a block mapping at line 1, column 1)");
	load_fails("a: [1, 2\n",
	    "f.yml:2:1: did not find expected ',' or ']' "
	    "(while parsing a flow sequence at line 1, column 4)");
	load_fails("key: \"unterminated\n", "while scanning a quoted scalar at line 1, column 6");
	load_fails("a: \xff\n", "f.yml: invalid leading UTF-8 octet at byte 3");
}

static void
test_load_file(void **state)
{
	const char *top = getenv("top_srcdir");
	struct dr_error err;
	struct yaml_src *src = NULL;
	json_t *v = NULL;
	char where[256];

	_cleanup_free_ char *path =
	    xasprintf("%s/tests/fixtures/yaml/playbook.yml", top ? top : "..");
	assert_int_equal(yaml_load_file(path, 0, &v, &src, &err), 0);
	assert_true(json_is_array(v));
	json_t *play = json_array_get(v, 0);
	assert_string_equal(json_string_value(json_object_get(play, "hosts")), "web");
	json_t *tasks = json_object_get(play, "tasks");
	assert_int_equal(json_array_size(tasks), 2);
	/* The second task merges the defaults anchored in vars. */
	json_t *t1 = json_array_get(tasks, 1);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(t1, "apt"), "cache_valid_time")),
	    3600);
	assert_true(json_is_true(json_object_get(json_object_get(t1, "apt"), "update_cache")));
	assert_non_null(strstr(
	    yaml_src_where_key(src, play, "tasks", where, sizeof where), "playbook.yml:9:3"));
	json_decref(v);
	yaml_src_free(src);

	assert_int_equal(yaml_load_file("/nonexistent/x.yml", 0, &v, NULL, &err), -1);
	assert_string_equal(err.msg, "/nonexistent/x.yml: No such file or directory");
}

/* The corpus written by tests/fixtures/yaml/dump-oracle.py from PyYAML's safe_dump. */
static void
test_dump_corpus(void **state)
{
	const char *top = getenv("top_srcdir");
	_cleanup_free_ char *path =
	    xasprintf("%s/tests/fixtures/yaml/dump-corpus.json", top ? top : "..");
	json_error_t jerr;
	json_t *corpus = json_load_file(path, JSON_DECODE_ANY, &jerr), *c;
	size_t i, failures = 0;

	if (corpus == NULL)
		fail_msg("%s: %s", path, jerr.text);
	assert_true(json_array_size(corpus) >= 40);
	json_array_foreach(corpus, i, c)
	{
		struct buf out = BUF_INIT(1 << 20);
		const json_t *value = json_object_get(c, "value");
		const char *want = json_string_value(json_object_get(c, "expected"));
		int indent = (int)json_integer_value(json_object_get(c, "indent"));
		bool sort_keys = json_is_true(json_object_get(c, "sort_keys"));
		json_t *back = NULL;

		assert_int_equal(yaml_dump(value, indent, sort_keys, &out), 0);
		if (strcmp(out.data, want) != 0) {
			print_message(
			    "case %zu: got\n%s---- PyYAML writes\n%s----\n", i, out.data, want);
			failures++;
		}
		/* What we dump loads back as the same value. */
		back = load_ok(out.data, 0, NULL);
		if (!json_equal(back, value)) {
			print_message("case %zu does not load back: %s", i, out.data);
			failures++;
		}
		json_decref(back);
		buf_free(&out);
	}
	json_decref(corpus);
	assert_int_equal(failures, 0);
}

static void
test_dump_cap(void **state)
{
	struct buf out = BUF_INIT(16);
	json_t *v = json_pack("{s:s}", "key", "a value longer than sixteen bytes");

	assert_int_equal(yaml_dump(v, 2, false, &out), -1);
	assert_true(out.len <= 16);
	buf_free(&out);
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scalars),
	    cmocka_unit_test(test_bad_tags),
	    cmocka_unit_test(test_anchors_and_merge),
	    cmocka_unit_test(test_alias_bomb),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_documents),
	    cmocka_unit_test(test_places),
	    cmocka_unit_test(test_syntax_errors),
	    cmocka_unit_test(test_load_file),
	    cmocka_unit_test(test_dump_corpus),
	    cmocka_unit_test(test_dump_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
