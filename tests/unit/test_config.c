/* test_config.c - droverd's configuration: defaults, types, bounds, places, reload. */
#include "tests/unit/unit.h"

#include <unistd.h>

static char tmpdir[] = "/tmp/drover-config-XXXXXX";

/* Path of a fixture; caller frees. */
static char *
fixture(const char *name)
{
	const char *top = getenv("top_srcdir");

	return xasprintf("%s/%s", top ? top : "..", name);
}

/* Write text to a file in the test's directory; caller frees the path. */
static char *
write_conf(const char *text)
{
	char *path = xasprintf("%s/droverd.yml", tmpdir);
	struct dr_error err;

	if (file_write_atomic(path, text, strlen(text), 0600, &err) < 0)
		fail_msg("%s", err.msg);
	return path;
}

/* Assert that loading text fails with exactly want (the path replaced by "F"). */
static void
load_fails(const char *text, const char *want)
{
	_cleanup_free_ char *path = write_conf(text);
	_cleanup_free_ char *full = NULL;
	struct config cfg = {.http_threads = -7};
	struct dr_error err;

	if (config_load(path, &cfg, &err) == 0)
		fail_msg("loading %s succeeded", text);
	assert_int_equal(cfg.http_threads, -7); /* untouched */
	full = xasprintf("%s%s", path, want + 1);
	if (strcmp(err.msg, full) != 0)
		fail_msg("loading %s: '%s', wanted '%s'", text, err.msg, full);
}

static void
test_defaults(void **state)
{
	struct config cfg;

	config_defaults(&cfg);
	assert_string_equal(cfg.listen, "127.0.0.1:8080");
	assert_string_equal(cfg.state_dir, "/var/lib/drover");
	assert_string_equal(cfg.url, "");
	assert_int_equal(cfg.log_level, LOG_INFO);
	assert_false(cfg.log_syslog);
	assert_string_equal(cfg.log_debug, "");
	assert_int_equal(cfg.http_threads, 4);
	assert_int_equal(cfg.http_max_connections, 512);
	assert_int_equal(cfg.http_max_body, 16 << 20);
	assert_int_equal(cfg.http_max_header, 16 << 10);
	assert_int_equal(cfg.http_timeout, 30);
	assert_string_equal(cfg.tls_cert, "");
	assert_int_equal(cfg.job_workers, 4);
	assert_int_equal(cfg.job_shutdown_grace, 10);
	assert_int_equal(cfg.job_default_timeout, 3600);
	assert_string_equal(cfg.proxy, "");
	config_free(&cfg);
	config_free(NULL);
}

static void
test_every_type(void **state)
{
	_cleanup_free_ char *path = fixture("tests/fixtures/config/full.yml");
	struct config cfg;
	struct dr_error err;

	if (config_load(path, &cfg, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(cfg.listen, "[::1]:9443");
	assert_string_equal(cfg.state_dir, "/srv/drover");
	assert_string_equal(cfg.url, "https://drover.example.org");
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_true(cfg.log_syslog);
	assert_string_equal(cfg.log_debug, "store,jobs");
	assert_int_equal(cfg.http_threads, 8);
	assert_int_equal(cfg.http_max_body, 1024LL * 1024 * 1024);
	assert_int_equal(cfg.http_max_header, 4096);
	assert_int_equal(cfg.http_timeout, 120);
	assert_string_equal(cfg.tls_cert, "/etc/drover/cert.pem");
	assert_int_equal(cfg.job_shutdown_grace, 300);
	assert_int_equal(cfg.job_default_timeout, 86400);
	assert_string_equal(cfg.proxy, "http://proxy:3128");
	/* Keys the file leaves out keep their defaults. */
	assert_int_equal(cfg.http_max_connections, 512);
	assert_int_equal(cfg.job_workers, 4);
	config_free(&cfg);
}

static void
test_values(void **state)
{
	static const struct {
		const char *text;
		size_t max_body;
		int timeout;
	} ok[] = {
	    {"http: {max_body: 512K, timeout: 5m}", 512 << 10, 300},
	    {"http: {max_body: 2048, timeout: 1h}", 2048, 3600},
	    {"http: {max_body: 1g, timeout: 45s}", 1 << 30, 45},
	    {"http: {max_body: 4G, timeout: 3600}", 4ULL << 30, 3600},
	    {"http:\n", 16 << 20, 30},
	    {"", 16 << 20, 30},
	};
	struct dr_error err;
	size_t i;

	for (i = 0; i < nitems(ok); i++) {
		_cleanup_free_ char *path = write_conf(ok[i].text);
		struct config cfg;

		if (config_load(path, &cfg, &err) < 0)
			fail_msg("%s: %s", ok[i].text, err.msg);
		assert_int_equal(cfg.http_max_body, ok[i].max_body);
		assert_int_equal(cfg.http_timeout, ok[i].timeout);
		config_free(&cfg);
	}
}

static void
test_errors(void **state)
{
	load_fails("listen: 1.2.3.4:80\nhttp:\n  thread: 4\n", "F:3:3: unknown key 'http.thread'");
	load_fails("hsots: x\n", "F:1:1: unknown key 'hsots'");
	load_fails("http: 4\n", "F:1:1: http: expected a mapping of settings");
	load_fails("- a\n", "F:1:1: expected a mapping of settings");
	load_fails("http:\n  threads: 0\n", "F:2:12: http.threads: 0 is out of range (1 to 256)");
	load_fails(
	    "http:\n  threads: 257\n", "F:2:12: http.threads: 257 is out of range (1 to 256)");
	load_fails("http: {threads: four}\n", "F:1:17: http.threads: expected an integer");
	load_fails("http: {threads: 4K}\n", "F:1:17: http.threads: expected an integer");
	load_fails("http: {max_body: 16X}\n",
	    "F:1:18: http.max_body: expected a size (512, 16K, 16M, 1G)");
	load_fails("http: {max_body: 5G}\n",
	    "F:1:18: http.max_body: 5368709120 is out of range (1024 to 4294967296)");
	load_fails("http: {max_body: 99999999999999999999G}\n",
	    "F:1:18: http.max_body: expected a size (512, 16K, 16M, 1G)");
	load_fails("http: {timeout: 5w}\n",
	    "F:1:17: http.timeout: expected a duration (30, 30s, 5m, 1h, 1d)");
	load_fails(
	    "http: {timeout: 2h}\n", "F:1:17: http.timeout: 7200 is out of range (1 to 3600)");
	/* A boolean has no place of its own: the error names its key. */
	load_fails("log:\n  level: yes\n",
	    "F:2:3: log.level: expected one of error, warning, info, debug");
	load_fails("log: {level: verbose}\n",
	    "F:1:14: log.level: expected one of error, warning, info, debug");
	load_fails("log: {syslog: 1}\n", "F:1:15: log.syslog: expected true or false");
	load_fails("log: {debug: [store, 'Bad Name']}\n",
	    "F:1:14: log.debug: expected a list of names (a-z, 0-9, _ and -)");
	load_fails("log: {debug: store}\n", "F:1:14: log.debug: expected a list of names");
	load_fails("listen: 8080\n", "F:1:9: listen: expected a string");
	load_fails("listen: localhost\n",
	    "F:1:9: listen: expected ADDRESS:PORT (an IPv6 address in brackets)");
	load_fails("listen: '::1:80'\n",
	    "F:1:9: listen: expected ADDRESS:PORT (an IPv6 address in brackets)");
	load_fails(
	    "listen: '[::1]:99999'\n", "F:1:9: listen: the port must be a number from 1 to 65535");
	load_fails("state_dir: var/lib\n", "F:1:12: state_dir: expected an absolute path");
	load_fails("proxy: proxy:3128\n", "F:1:8: proxy: expected an http:// or https:// URL");
	load_fails("http: [\n",
	    "F:2:1: did not find expected node content "
	    "(while parsing a flow node at line 2, column 1)");

	struct config cfg;
	struct dr_error err;
	assert_int_equal(config_load("/nonexistent/droverd.yml", &cfg, &err), -1);
	assert_string_equal(err.msg, "/nonexistent/droverd.yml: No such file or directory");
}

static void
test_reload(void **state)
{
	_cleanup_free_ char *path = write_conf("http: {threads: 4}\n");
	_cleanup_free_ char *restart = NULL;
	struct config cfg;
	struct dr_error err;

	assert_int_equal(config_load(path, &cfg, &err), 0);
	/* Nothing changed: nothing applied, nothing to restart. */
	assert_int_equal(config_reload(path, &cfg, &restart, &err), 0);
	assert_null(restart);

	free(write_conf("listen: '0.0.0.0:8081'\nlog: {level: debug, debug: [all]}\n"
	                "http: {threads: 8}\njobs: {default_timeout: 2h}\n"
	                "proxy: 'http://p:3128'\n"));
	assert_int_equal(config_reload(path, &cfg, &restart, &err), 4);
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_string_equal(cfg.log_debug, "all");
	assert_int_equal(cfg.job_default_timeout, 7200);
	assert_string_equal(cfg.proxy, "http://p:3128");
	/* Keys that need a restart keep their running value and are reported. */
	assert_string_equal(cfg.listen, "127.0.0.1:8080");
	assert_int_equal(cfg.http_threads, 4);
	assert_string_equal(restart, "listen,http.threads");

	/* A broken file changes nothing. */
	free(restart);
	restart = xstrdup("untouched");
	free(write_conf("log: {level: loud}\n"));
	assert_int_equal(config_reload(path, &cfg, &restart, &err), -1);
	assert_non_null(strstr(err.msg, "log.level: expected one of"));
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_string_equal(restart, "untouched");
	config_free(&cfg);
}

static void
test_dump_round_trip(void **state)
{
	_cleanup_free_ char *path = fixture("tests/fixtures/config/full.yml");
	struct buf out = BUF_INIT(1 << 20), again = BUF_INIT(1 << 20);
	struct config cfg, back;
	struct dr_error err;

	assert_int_equal(config_load(path, &cfg, &err), 0);
	assert_int_equal(config_dump(&cfg, &out), 0);
	assert_non_null(strstr(out.data, "listen: '[::1]:9443'\n"));
	assert_non_null(strstr(out.data, "\nhttp:\n  threads: 8\n"));
	assert_non_null(strstr(out.data, "  max_body: 1G\n  max_header: 4K\n"));
	assert_non_null(strstr(out.data, "  debug:\n  - store\n  - jobs\n"));
	/* What we print loads back as the same configuration. */
	_cleanup_free_ char *dumped = write_conf(out.data);
	assert_int_equal(config_load(dumped, &back, &err), 0);
	assert_int_equal(config_dump(&back, &again), 0);
	assert_string_equal(out.data, again.data);
	config_free(&cfg);
	config_free(&back);
	buf_free(&out);
	buf_free(&again);
}

/* The shipped daemon/droverd.yml lists every key with its default, no more, no less. */
static void
test_shipped_file(void **state)
{
	_cleanup_free_ char *path = fixture("daemon/droverd.yml");
	struct buf defaults = BUF_INIT(1 << 20), shipped = BUF_INIT(1 << 20);
	struct config def, cfg;
	struct dr_error err;
	json_t *from_table = NULL, *from_file = NULL;

	config_defaults(&def);
	if (config_load(path, &cfg, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(config_dump(&def, &defaults), 0);
	assert_int_equal(config_dump(&cfg, &shipped), 0);
	assert_string_equal(shipped.data, defaults.data);
	/* Same keys, same values as written: no key of the table missing from the file. */
	assert_int_equal(
	    yaml_load_string("defaults", defaults.data, defaults.len, 0, &from_table, NULL, &err),
	    0);
	assert_int_equal(yaml_load_file(path, 0, &from_file, NULL, &err), 0);
	if (!json_equal(from_table, from_file))
		fail_msg(
		    "daemon/droverd.yml differs from the table's defaults:\n%s", defaults.data);
	json_decref(from_table);
	json_decref(from_file);
	config_free(&def);
	config_free(&cfg);
	buf_free(&defaults);
	buf_free(&shipped);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_every_type),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_reload),
	    cmocka_unit_test(test_dump_round_trip),
	    cmocka_unit_test(test_shipped_file),
	};
	int rc;

	if (mkdtemp(tmpdir) == NULL)
		UNIT_SKIP_ALL("cannot make a temporary directory");
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	_cleanup_free_ char *path = xasprintf("%s/droverd.yml", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	return rc;
}
