/* test_prov_api.c - the provisioning lists of the API framework (provisioner/api.c): the
 * JSON SQLite builds for every object of every resource is the object as
 * prov_resource_present() shows it, and the search fields select what they say. */
#include "tests/unit/unit.h"

#include "provisioner/provisioner.h"
#include "webui/webui.h"

static int
setup(void **state)
{
	struct provisioner_opts o = {.url = "http://198.18.0.1:8080/"};
	struct dr_error err;
	char *dir = unit_dir_make("prov_api");

	store_register_clear();
	provisioner_register();
	if (store_open(dir, &err) < 0 || provisioner_init(&o, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	*state = dir;
	return 0;
}

static int
teardown(void **state)
{
	store_close();
	unit_dir_remove(*state);
	return 0;
}

static void
create(const char *resource, const char *json)
{
	_cleanup_json_ json_t *in = json_loads(json, 0, NULL);
	struct dr_error err;

	assert_non_null(in);
	if (prov_resource_create(prov_resource_find(resource), in, "test", NULL, NULL, &err) < 0)
		fail_msg("%s %s: %s", resource, json, err.msg);
}

/* Objects with references of every kind: nested hostgroups, a subnet in a domain, hosts
 * with NICs in subnets and a BMC with a password. */
static void
populate(void)
{
	create("domain", "{\"name\": \"example.test\", \"parameters\": {\"a\": \"1\"}}");
	create("subnet",
	    "{\"name\": \"net1\", \"network\": \"198.18.1.0\", \"mask\":"
	    " \"255.255.255.0\", \"domain\": \"example.test\"}");
	create("subnet",
	    "{\"name\": \"net2\", \"network\": \"198.18.2.0\", \"mask\":"
	    " \"255.255.255.0\"}");
	create("hostgroup", "{\"name\": \"web\", \"parent\": \"base\", \"subnet\": \"net1\"}");
	create("hostgroup",
	    "{\"name\": \"web-edge\", \"parent\": \"web\","
	    " \"operatingsystem\": \"Rocky 9\"}");
	create("host",
	    "{\"name\": \"h1\", \"hostgroup\": \"web\", \"domain\": \"example.test\","
	    " \"comment\": \"rack 1\", \"parameters\": {\"rack\": \"r1\"},"
	    " \"interfaces\": [{\"mac\": \"52:54:00:00:00:01\", \"ip\": \"198.18.1.10\","
	    " \"subnet\": \"net1\"}, {\"mac\": \"52:54:00:00:00:02\"},"
	    " {\"type\": \"bmc\", \"provider\": \"redfish\", \"url\":"
	    " \"https://198.18.9.1\", \"username\": \"root\", \"password\": \"pw\"}]}");
	create("host",
	    "{\"name\": \"h2\", \"hostgroup\": \"web-edge\", \"interfaces\":"
	    " [{\"mac\": \"52:54:00:00:00:03\", \"ip\": \"198.18.2.10\","
	    " \"subnet\": \"net2\"}]}");
	create("host", "{\"name\": \"h3\", \"operatingsystem\": \"Ubuntu 24.04\"}");
}

/* Every listed object of every resource equals prov_resource_present() of it. */
static void
test_json_is_present(void **state)
{
	const struct prov_resource *res;
	size_t n, i, j;

	populate();
	res = prov_resource_all(&n);
	for (i = 0; i < n; i++) {
		const struct api_resource *a = provisioner_api_resource(res[i].plural);
		_cleanup_json_ json_t *rows = NULL;
		struct dr_error err;
		int64_t total;
		json_t *row;

		assert_non_null(a);
		if (api_list_query(a, NULL, NULL, NULL, 1, 1000, &rows, &total, &err) < 0)
			fail_msg("%s: %s", res[i].plural, err.msg);
		assert_int_equal((int64_t)json_array_size(rows), total);
		json_array_foreach(rows, j, row)
		{
			json_int_t id = json_integer_value(json_object_get(row, "id"));
			_cleanup_json_ json_t *stored = prov_resource_get_id(&res[i], id);
			_cleanup_json_ json_t *shown = prov_resource_present(&res[i], stored);

			if (!json_equal(row, shown)) {
				char *a1 = json_dumps(row, JSON_SORT_KEYS);
				char *b1 = json_dumps(shown, JSON_SORT_KEYS);

				fail_msg("%s %lld:\n SQL:     %s\n present: %s", res[i].plural,
				    (long long)id, a1, b1);
			}
		}
	}
}

/* The host fields people search by. */
static void
test_host_search(void **state)
{
	static const struct {
		const char *q;
		const char *names;
	} cases[] = {
	    {"hostgroup = web", "h1"},
	    {"hostgroup ~ web", "h1,h2"},
	    {"hostgroup != web", "h2,h3"},
	    {"null? hostgroup", "h3"},
	    {"os = 'Debian 12'", "h1"}, /* inherited from base through web */
	    {"os = 'Rocky 9'", "h2"}, /* the nearest hostgroup wins */
	    {"os = 'Ubuntu 24.04'", "h3"}, /* its own */
	    {"mac = 52:54:00:00:00:02", "h1"},
	    {"mac != 52:54:00:00:00:02", "h2,h3"},
	    {"ip ~ 198.18.2.*", "h2"},
	    {"subnet = net1", "h1"},
	    {"subnet = net2", "h2"},
	    {"domain = example.test and status = new and build = false", "h1"},
	    {"comment ~ rack", "h1"},
	    {"h*", "h1,h2,h3"},
	    {"name ^ (h1, h3) and not hostgroup = web", "h3"},
	};
	const struct api_resource *a = provisioner_api_resource("hosts");
	size_t i, j;

	populate();
	for (i = 0; i < nitems(cases); i++) {
		_cleanup_json_ json_t *rows = NULL;
		struct buf names = BUF_INIT(0);
		struct dr_error err;
		int64_t total;
		json_t *row;

		if (api_list_query(a, cases[i].q, NULL, NULL, 1, 100, &rows, &total, &err) < 0)
			fail_msg("%s: %s", cases[i].q, err.msg);
		json_array_foreach(rows, j, row) buf_addf(&names, "%s%s", j > 0 ? "," : "",
		    json_string_value(json_object_get(row, "name")));
		if (strcmp(names.data != NULL ? names.data : "", cases[i].names) != 0)
			fail_msg("%s: got '%s', expected '%s'", cases[i].q,
			    names.data != NULL ? names.data : "", cases[i].names);
		buf_free(&names);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_json_is_present, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_host_search, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
