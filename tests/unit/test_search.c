/* test_search.c - the search language (webui/search.c) and the permission rules
 * (webui/auth.c): queries to SQL and bound values, errors naming the column, and who may
 * do what. The SQL is also run against SQLite so that the conditions mean what they say. */
#include "tests/unit/unit.h"

#include "webui/webui.h"

static const struct search_field fields[] = {
    {"name", "name", SEARCH_TEXT, SEARCH_DEFAULT},
    {"hostgroup", "hostgroup", SEARCH_TEXT},
    {"errata.security", "(SELECT count(*) FROM e WHERE e.h = h.id)", SEARCH_INT},
    {"enabled", "enabled", SEARCH_BOOL},
    {"built_at", "built_at", SEARCH_TIME},
    {"mac", "nic.mac", SEARCH_TEXT, SEARCH_DEFAULT, "FROM nic WHERE nic.h = h.id"},
    /* The same as an IN over an uncorrelated subquery. */
    {"nic", "n.mac", SEARCH_TEXT, 0, "FROM nic n WHERE 1", "h.id", "n.h"},
};

/* Compile q; the SQL and the values as compact JSON. */
static int
compile(const char *q, char **ret_sql, char **ret_params, struct dr_error *err)
{
	struct buf b = BUF_INIT(0);
	json_t *params = json_array();
	int r = search_compile(q, fields, nitems(fields), &b, params, err);

	*ret_sql = buf_steal(&b);
	*ret_params = json_dumps(params, JSON_COMPACT);
	json_decref(params);
	return r;
}

static void
check(const char *q, const char *sql, const char *params)
{
	struct dr_error err;
	char *s, *p;

	if (compile(q, &s, &p, &err) < 0)
		fail_msg("%s: %s", q, err.msg);
	assert_string_equal(s, sql);
	assert_string_equal(p, params);
	free(s);
	free(p);
}

static void
check_error(const char *q, const char *message)
{
	struct dr_error err;
	char *s, *p;

	assert_int_equal(compile(q, &s, &p, &err), -1);
	if (strstr(err.msg, message) == NULL)
		fail_msg("%s: got '%s', expected '%s'", q, err.msg, message);
	free(s);
	free(p);
}

static void
test_queries(void **state)
{
	check("", "1 = 1", "[]");
	check("name ~ web and hostgroup = k8s",
	    "((LOWER(name) LIKE LOWER(?) ESCAPE '\\') AND (hostgroup = ?))",
	    "[\"%web%\",\"k8s\"]");
	check("errata.security > 0", "(((SELECT count(*) FROM e WHERE e.h = h.id) > ?))", "[0]");
	check("not (name = a or name = 'b c') hostgroup != x",
	    "((NOT COALESCE(((name = ?) OR (name = ?)), 0)) AND (hostgroup IS NULL OR hostgroup "
	    "<> ?))",
	    "[\"a\",\"b c\",\"x\"]");
	check("name ^ (a, \"b\") | hostgroup !^ (c)",
	    "((name IN (?, ?)) OR (hostgroup IS NULL OR hostgroup NOT IN (?)))",
	    "[\"a\",\"b\",\"c\"]");
	check("null? hostgroup & set? built_at",
	    "((hostgroup IS NULL) AND (built_at IS NOT NULL))", "[]");
	check("enabled = yes", "((enabled = ?))", "[1]");
	check("built_at >= 2026-03-29T01:30:00Z", "((built_at >= ?))", "[1774747800]");
	check("web*01",
	    "((LOWER(name) LIKE LOWER(?) ESCAPE '\\' OR EXISTS (SELECT 1 FROM nic WHERE"
	    " nic.h = h.id AND LOWER(nic.mac) LIKE LOWER(?) ESCAPE '\\')))",
	    "[\"web%01\",\"web%01\"]");
	check("mac != a",
	    "((NOT EXISTS (SELECT 1 FROM nic WHERE nic.h = h.id AND (nic.mac = ?))))", "[\"a\"]");
	check("nic = a", "((h.id IN (SELECT n.h FROM nic n WHERE 1 AND (n.mac = ?))))", "[\"a\"]");
	check("name !~ 50%_x", "((name IS NULL OR NOT (LOWER(name) LIKE LOWER(?) ESCAPE '\\')))",
	    "[\"%50\\\\%\\\\_x%\"]");
}

static void
test_errors(void **state)
{
	check_error("color = red", "column 1: unknown field 'color' (known: name, hostgroup");
	check_error("name =", "column 7: expected a value after '='");
	check_error("name = \"open", "column 8: unterminated quoted value");
	check_error("(name = a", "column 10: expected ')' to close the '(' at column 1");
	check_error("name = a)", "column 9: ')' without '('");
	check_error("errata.security ~ 3", "is not text");
	check_error("errata.security = many", "'many' is not a whole number");
	check_error("enabled > true", "only = and != apply");
	check_error("built_at < yesterday", "neither Unix seconds nor an ISO-8601 time");
	check_error("name ^ a", "expected '(' after '^'");
	check_error("name = a ;", "unexpected character ';'");
}

static void
test_caps(void **state)
{
	struct buf q = BUF_INIT(0);
	size_t i;

	for (i = 0; i < 40; i++)
		buf_addc(&q, '(');
	buf_adds(&q, "name = a");
	for (i = 0; i < 40; i++)
		buf_addc(&q, ')');
	check_error(q.data, "nested more than");
	buf_reset(&q);
	for (i = 0; i < 70; i++)
		buf_addf(&q, "%sname = a", i > 0 ? " or " : "");
	check_error(q.data, "more than 64 terms");
	buf_reset(&q);
	buf_adds(&q, "name ^ (");
	for (i = 0; i < 101; i++)
		buf_addf(&q, "%sv%zu", i > 0 ? ", " : "", i);
	buf_adds(&q, ")");
	check_error(q.data, "more than 100 values");
	buf_reset(&q);
	for (i = 0; i < 5000; i++)
		buf_addc(&q, 'x');
	check_error(q.data, "longer than 4096");
	buf_free(&q);
}

static void
test_order(void **state)
{
	struct buf b = BUF_INIT(0);
	struct dr_error err;

	assert_int_equal(
	    search_order("name desc, hostgroup", fields, nitems(fields), &b, &err), 0);
	assert_string_equal(b.data, "name DESC, hostgroup ASC");
	buf_reset(&b);
	assert_int_equal(search_order("mac desc", fields, nitems(fields), &b, &err), 0);
	assert_string_equal(b.data, "(SELECT min(nic.mac) FROM nic WHERE nic.h = h.id) DESC");
	buf_reset(&b);
	assert_int_equal(search_order("nic", fields, nitems(fields), &b, &err), 0);
	assert_string_equal(b.data, "(SELECT min(n.mac) FROM nic n WHERE 1 AND n.h = h.id) ASC");
	buf_reset(&b);
	assert_int_equal(search_order("name sideways", fields, nitems(fields), &b, &err), -1);
	assert_int_equal(search_order("nope", fields, nitems(fields), &b, &err), -1);
	assert_non_null(strstr(err.msg, "unknown field 'nope'"));
	buf_free(&b);
}

/* The compiled conditions select the rows people expect (run on SQLite). */
static void
test_against_sqlite(void **state)
{
	static const struct {
		const char *q;
		int n;
	} cases[] = {
	    {"name ~ WEB", 2}, /* case-insensitive like */
	    {"hostgroup != k8s", 2}, /* includes the host without a hostgroup */
	    {"null? hostgroup", 1},
	    {"name ^ (web1, db1)", 2},
	    {"not name ~ web", 2},
	    {"not hostgroup = k8s", 2}, /* the host without a hostgroup is not in k8s */
	    {"name ~ 'w*1'", 1},
	    {"errata.security > 1", 1},
	    {"errata.security = 0 and enabled = true", 2},
	    /* Fields with many values: any matches; a negation, none does. */
	    {"mac = 52:54:00:00:00:02", 1},
	    {"mac ~ 52:54:00", 2},
	    {"mac != 52:54:00:00:00:02", 3},
	    {"mac !~ 52:54:00", 2},
	    {"mac ^ (52:54:00:00:00:01, 52:54:00:00:00:03)", 1},
	    {"mac !^ (52:54:00:00:00:01, 52:54:00:00:00:03)", 3},
	    {"null? mac", 2},
	    {"set? mac", 2},
	    {"00:00:00:03", 1}, /* a bare word looks in mac too */
	    {"not mac = 52:54:00:00:00:01 and name ~ web", 1},
	    {"nic = 52:54:00:00:00:02", 1},
	    {"nic ~ 52:54:00", 2},
	    {"nic != 52:54:00:00:00:02", 3},
	    {"nic !~ 52:54:00", 2},
	    {"nic ^ (52:54:00:00:00:01, 52:54:00:00:00:03)", 1},
	    {"nic !^ (52:54:00:00:00:01, 52:54:00:00:00:03)", 3},
	    {"null? nic", 2},
	    {"set? nic", 2},
	    {"not nic = 52:54:00:00:00:01 and name ~ web", 1},
	};
	char *dir = unit_dir_make("search");
	struct dr_error err;
	size_t i;

	assert_int_equal(store_open(dir, &err), 0);
	assert_int_equal(store_exec("CREATE TABLE h (id INTEGER PRIMARY KEY, name TEXT,"
	                            " hostgroup TEXT, enabled INTEGER, built_at INTEGER)",
	                     NULL, NULL, NULL, &err),
	    0);
	assert_int_equal(store_exec("CREATE TABLE e (h INTEGER)", NULL, NULL, NULL, &err), 0);
	assert_int_equal(
	    store_exec("CREATE TABLE nic (h INTEGER, mac TEXT)", NULL, NULL, NULL, &err), 0);
	assert_int_equal(store_exec("INSERT INTO nic VALUES (1, '52:54:00:00:00:01'),"
	                            " (1, '52:54:00:00:00:03'), (2, '52:54:00:00:00:02')",
	                     NULL, NULL, NULL, &err),
	    0);
	assert_int_equal(store_exec("INSERT INTO h VALUES (1, 'web1', 'k8s', 1, 10),"
	                            " (2, 'web2', 'edge', 0, NULL), (3, 'db1', NULL, 1, 5),"
	                            " (4, 'mail', 'k8s', 1, 1)",
	                     NULL, NULL, NULL, &err),
	    0);
	assert_int_equal(
	    store_exec("INSERT INTO e VALUES (1), (1), (2)", NULL, NULL, NULL, &err), 0);
	for (i = 0; i < nitems(cases); i++) {
		struct buf sql = BUF_INIT(0);
		json_t *params = json_array(), *rows = NULL;

		buf_adds(&sql, "SELECT id FROM h WHERE ");
		assert_int_equal(
		    search_compile(cases[i].q, fields, nitems(fields), &sql, params, &err), 0);
		if (store_query(sql.data, params, &rows, &err) < 0)
			fail_msg("%s: %s", cases[i].q, err.msg);
		if ((int)json_array_size(rows) != cases[i].n)
			fail_msg("%s: %zu rows, expected %d", cases[i].q, json_array_size(rows),
			    cases[i].n);
		json_decref(rows);
		json_decref(params);
		buf_free(&sql);
	}
	store_close();
	unit_dir_remove(dir);
}

/* Who may do what: built-in roles, custom permissions, scopes, derived permissions. */
static void
test_permissions(void **state)
{
	struct auth_principal p = {.user = "u"};
	struct http_route r = {.method = "POST", .pattern = "/api/v2/jobs/:id/cancel"};
	char res[64], act[64], *scope = NULL;

	p.role = "viewer";
	assert_true(auth_allowed(&p, "hosts", "view", NULL));
	assert_false(auth_allowed(&p, "hosts", "edit", NULL));
	assert_false(auth_allowed(&p, "users", "view", NULL));
	assert_true(auth_allowed(&p, "tokens", "delete", NULL));
	p.role = "operator";
	assert_true(auth_allowed(&p, "hosts", "build", NULL));
	assert_false(auth_allowed(&p, "users", "create", NULL));
	assert_false(auth_allowed(&p, "backup", "view", NULL));
	p.role = "admin";
	assert_true(auth_allowed(&p, "users", "delete", NULL));
	p.role = "custom";
	p.perms = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}]",
	    "resource", "hosts", "action", "view", "search", "hostgroup = web", "resource",
	    "hosts", "action", "view", "search", "name ~ db", "resource", "*", "action", "*",
	    "search", "hostgroup = lab", "resource", "jobs", "action", "*", "search", "");
	assert_true(auth_allowed(&p, "hosts", "view", &scope));
	assert_string_equal(scope, "(hostgroup = web) or (name ~ db) or (hostgroup = lab)");
	free(scope);
	assert_true(auth_allowed(&p, "jobs", "cancel", &scope));
	assert_null(scope);
	assert_false(auth_allowed(&p, "hosts", "create", &scope)); /* filters never create */
	assert_false(auth_allowed(&p, "users", "view", &scope)); /* '*' skips users */
	json_decref(p.perms);

	assert_true(auth_route_permission(&r, res, sizeof res, act, sizeof act));
	assert_string_equal(res, "jobs");
	assert_string_equal(act, "cancel");
	r.pattern = "/api/v2/hosts";
	assert_true(auth_route_permission(&r, res, sizeof res, act, sizeof act));
	assert_string_equal(act, "create");
	r.method = "PUT";
	r.pattern = "/api/v2/hosts/:id";
	assert_true(auth_route_permission(&r, res, sizeof res, act, sizeof act));
	assert_string_equal(act, "edit");
	r.method = "GET";
	r.pattern = "/";
	assert_false(auth_route_permission(&r, res, sizeof res, act, sizeof act));
	r.pattern = "/api/v2/me";
	r.resource = "";
	assert_false(auth_route_permission(&r, res, sizeof res, act, sizeof act));
	r.pattern = "/api/v2/admin/backup";
	r.resource = "backup";
	assert_true(auth_route_permission(&r, res, sizeof res, act, sizeof act));
	assert_string_equal(res, "backup");
	assert_string_equal(act, "view");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_queries),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_against_sqlite),
	    cmocka_unit_test(test_permissions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
