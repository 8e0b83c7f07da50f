/*
 * test_ssh_transport.c - the SSH backend against real sshd test nodes.
 *
 * Run by tests/integration/ssh_transport.sh inside the nodes' hub namespace with the
 * nodes described in the environment; skipped as a plain unit test (no nodes):
 *   DROVER_TEST_SSH_ADDR        node address (required)
 *   DROVER_TEST_SSH_KEY         the client's private key file
 *   DROVER_TEST_SSH_KNOWN_HOSTS known_hosts with the nodes' keys
 *   DROVER_TEST_SSH_HOST_KEY    the node's public host key ("ssh-ed25519 AAAA…")
 *   DROVER_TEST_SSH_PASSWORD    root's password on the node
 *   DROVER_TEST_SSH_UNREACHABLE an address in the nodes' network where nothing answers
 *   DROVER_TEST_SSH_KILL_ADDR   a node the script kills once DROVER_TEST_SSH_KILL_READY
 *                               exists
 *   DROVER_TEST_SSH_CUT_ADDR    a node whose link the script cuts (no RST, no FIN) once
 *                               DROVER_TEST_SSH_CUT_READY exists
 *   DROVER_TEST_SSH_FACTS_OUT   where to write the gathered facts (JSON) for comparison
 */
#include "tests/unit/unit.h"

#include <libssh/libssh.h>
#include <sys/stat.h>

#include "playbooks/playbooks.h"

static const struct conn_backend *B = &conn_backend_ssh;

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* Options for the test node with the good key and known_hosts. */
static struct conn_opts
node_opts(void)
{
	return (struct conn_opts){
	    .host = "node1",
	    .address = env("DROVER_TEST_SSH_ADDR"),
	    .user = "root",
	    .private_key_file = env("DROVER_TEST_SSH_KEY"),
	    .known_hosts_file = env("DROVER_TEST_SSH_KNOWN_HOSTS"),
	    .connect_timeout = 5,
	};
}

static int
group_open(void **state)
{
	struct conn_opts o = node_opts();
	struct dr_error err = {{0}};
	void *c = NULL;

	if (B->open(&o, &c, &err) < 0) {
		fprintf(stderr, "open: %s\n", err.msg);
		return -1;
	}
	*state = c;
	return 0;
}

static int
group_close(void **state)
{
	B->close(*state);
	return 0;
}

static void
result_free(struct conn_result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

/* Run cmd and expect it to run (any status). */
static struct conn_result
run(void *c, const char *cmd, const char *in, size_t in_len, int timeout)
{
	struct conn_result r = {0};
	struct dr_error err = {{0}};

	if (B->exec(c, cmd, in, in_len, timeout, &r, &err) < 0)
		fail_msg("exec %s: %s", cmd, err.msg);
	return r;
}

static void
test_exec_status_and_streams(void **state)
{
	struct conn_result r = run(*state, "echo out; echo err >&2; exit 3", NULL, 0, 10);

	assert_int_equal(r.status, 3);
	assert_string_equal(r.out, "out\n");
	assert_int_equal(r.out_len, 4);
	assert_string_equal(r.err, "err\n");
	result_free(&r);

	r = run(*state, "true", NULL, 0, 0);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "");
	result_free(&r);

	/* killed by a signal: 128 + n, as a shell reports it */
	r = run(*state, "kill -TERM $$", NULL, 0, 10);
	assert_int_equal(r.status, 128 + 15);
	result_free(&r);
}

static void
test_exec_stdin(void **state)
{
	struct conn_result r = run(*state, "cat; echo; echo done", "hello\nworld", 11, 10);
	size_t big = 5u << 20;
	char *in = xmalloc(big);

	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "hello\nworld\ndone\n");
	result_free(&r);

	for (size_t i = 0; i < big; i++)
		in[i] = (char)('a' + i % 26);
	r = run(*state, "wc -c; sha256sum", in, big, 60);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "5242880\n"));
	result_free(&r);
	free(in);

	/* a command that does not read its stdin still finishes */
	r = run(*state, "exit 0", "ignored", 7, 10);
	assert_int_equal(r.status, 0);
	result_free(&r);
}

static void
test_exec_large_output(void **state)
{
	/* 20 MB of stdout and 1 MB of stderr at once: both drained, nothing lost */
	struct conn_result r = run(*state,
	    "head -c 1048576 /dev/zero | tr '\\0' e >&2 & head -c 20000000 /dev/zero | tr "
	    "'\\0' o; wait",
	    NULL, 0, 120);

	assert_int_equal(r.status, 0);
	assert_int_equal(r.out_len, 20000000);
	assert_int_equal(r.err_len, 1048576);
	assert_int_equal(r.out[19999999], 'o');
	assert_int_equal(r.err[0], 'e');
	result_free(&r);
}

static void
test_exec_timeout(void **state)
{
	struct conn_result r = {0};
	struct dr_error err = {{0}};
	int64_t t0 = time_mono_us();

	assert_int_equal(B->exec(*state, "sleep 30", NULL, 0, 1, &r, &err), -1);
	assert_true(time_mono_us() - t0 < 5000000);
	assert_non_null(strstr(err.msg, "node1"));
	assert_non_null(strstr(err.msg, "timed out after 1 s"));
	/* the session survives */
	r = run(*state, "echo still here", NULL, 0, 10);
	assert_string_equal(r.out, "still here\n");
	result_free(&r);
}

static void
test_many_commands_one_session(void **state)
{
	char *first = NULL;

	for (int i = 0; i < 200; i++) {
		_cleanup_free_ char *cmd = xasprintf("echo %d $SSH_CONNECTION", i);
		struct conn_result r = run(*state, cmd, NULL, 0, 10);
		char *sp = strchr(r.out, ' ');

		assert_int_equal(r.status, 0);
		assert_int_equal(atoi(r.out), i);
		assert_non_null(sp);
		/* SSH_CONNECTION holds the client's port: the same TCP connection each time */
		if (first == NULL)
			first = xstrdup(sp);
		else
			assert_string_equal(sp, first);
		result_free(&r);
	}
	free(first);
}

static void
test_put_get(void **state)
{
	struct dr_error err = {{0}};
	struct buf b = BUF_INIT(0);
	struct conn_result r;
	size_t big = 3u << 20;
	char *data = xmalloc(big);

	r = run(*state, "rm -rf /tmp/pt && mkdir /tmp/pt", NULL, 0, 10);
	result_free(&r);
	assert_int_equal(B->put(*state, "/tmp/pt/a.txt", "hello\n", 6, 0640, &err), 0);
	r = run(*state, "stat -c '%a %s' /tmp/pt/a.txt; ls -a /tmp/pt | wc -l", NULL, 0, 10);
	assert_string_equal(r.out, "640 6\n3\n"); /* ., .., a.txt: no temporary left */
	result_free(&r);

	/* replaces an existing file, with the new mode */
	assert_int_equal(B->put(*state, "/tmp/pt/a.txt", "bye\n", 4, 0755, &err), 0);
	r = run(*state, "stat -c '%a' /tmp/pt/a.txt; cat /tmp/pt/a.txt", NULL, 0, 10);
	assert_string_equal(r.out, "755\nbye\n");
	result_free(&r);
	assert_int_equal(B->get(*state, "/tmp/pt/a.txt", 1024, &b, &err), 0);
	assert_int_equal(b.len, 4);
	assert_string_equal(b.data, "bye\n");
	buf_reset(&b);

	/* an empty file and a 3 MB one */
	assert_int_equal(B->put(*state, "/tmp/pt/empty", "", 0, 0600, &err), 0);
	assert_int_equal(B->get(*state, "/tmp/pt/empty", 10, &b, &err), 0);
	assert_int_equal(b.len, 0);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)(i * 7 + i / 4096);
	assert_int_equal(B->put(*state, "/tmp/pt/big", data, big, 0644, &err), 0);
	assert_int_equal(B->get(*state, "/tmp/pt/big", big, &b, &err), 0);
	assert_int_equal(b.len, big);
	assert_memory_equal(b.data, data, big);
	buf_reset(&b);
	free(data);

	/* too large for max */
	assert_int_equal(B->get(*state, "/tmp/pt/big", 1000, &b, &err), -1);
	assert_non_null(strstr(err.msg, "/tmp/pt/big is larger than 1000 bytes"));
	assert_non_null(strstr(err.msg, "node1"));
	buf_reset(&b);
	/* missing file, missing directory */
	assert_int_equal(B->get(*state, "/tmp/pt/nope", 1000, &b, &err), -1);
	assert_non_null(strstr(err.msg, "node1"));
	assert_non_null(strstr(err.msg, "/tmp/pt/nope"));
	assert_non_null(strstr(err.msg, "no such file"));
	assert_int_equal(B->put(*state, "/tmp/nodir/x", "x", 1, 0644, &err), -1);
	assert_non_null(strstr(err.msg, "node1"));
	assert_non_null(strstr(err.msg, "/tmp/nodir/"));
	buf_free(&b);
}

/* A connection attempt that must fail; returns the message. */
static void
open_fails(struct conn_opts *o, struct dr_error *err)
{
	void *c = NULL;

	assert_int_equal(B->open(o, &c, err), -1);
	assert_null(c);
}

static void
test_host_key_unknown_then_accept_new(void **state)
{
	char *dir = unit_dir_make("ssh-kh");
	_cleanup_free_ char *kh = xasprintf("%s/known_hosts", dir);
	struct conn_opts o = node_opts();
	struct dr_error err = {{0}};
	void *c = NULL;
	char *text = NULL;
	size_t len;

	o.known_hosts_file = kh;
	open_fails(&o, &err);
	assert_non_null(strstr(err.msg, "host node1"));
	assert_non_null(strstr(err.msg, "unknown host key ssh-ed25519 SHA256:"));

	o.accept_new_host_key = true;
	if (B->open(&o, &c, &err) < 0)
		fail_msg("%s", err.msg);
	B->close(c);
	assert_int_equal(file_read(kh, 65536, &text, &len, NULL), 0);
	assert_non_null(strstr(text, "ssh-ed25519 "));
	free(text);

	/* learnt: now accepted strictly */
	o.accept_new_host_key = false;
	if (B->open(&o, &c, &err) < 0)
		fail_msg("%s", err.msg);
	B->close(c);
	unlink(kh);
	unit_dir_remove(dir);
}

static void
test_host_key_changed_refused(void **state)
{
	char *dir = unit_dir_make("ssh-kh");
	_cleanup_free_ char *kh = xasprintf("%s/known_hosts", dir);
	struct conn_opts o = node_opts();
	struct dr_error err = {{0}};
	ssh_key other = NULL;
	char *b64 = NULL;
	FILE *fp;

	assert_int_equal(ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &other), SSH_OK);
	assert_int_equal(ssh_pki_export_pubkey_base64(other, &b64), SSH_OK);
	fp = fopen(kh, "w");
	fprintf(fp, "%s ssh-ed25519 %s\n", o.address, b64);
	fclose(fp);

	o.known_hosts_file = kh;
	o.accept_new_host_key = true; /* never applies to a changed key */
	open_fails(&o, &err);
	assert_non_null(strstr(err.msg, "host node1"));
	assert_non_null(strstr(err.msg, "HOST KEY CHANGED"));
	assert_non_null(strstr(err.msg, "SHA256:"));

	/* a recorded key (droverd's) that differs is refused too */
	_cleanup_free_ char *rec = xasprintf("ssh-ed25519 %s", b64);
	o = node_opts();
	o.host_key = rec;
	open_fails(&o, &err);
	assert_non_null(strstr(err.msg, "HOST KEY CHANGED"));

	ssh_string_free_char(b64);
	ssh_key_free(other);
	unlink(kh);
	unit_dir_remove(dir);
}

static void
test_host_key_recorded(void **state)
{
	struct conn_opts o = node_opts();
	struct dr_error err = {{0}};
	void *c = NULL;

	o.host_key = env("DROVER_TEST_SSH_HOST_KEY");
	o.known_hosts_file = "/nonexistent/known_hosts"; /* not consulted */
	if (o.host_key == NULL)
		fail_msg("DROVER_TEST_SSH_HOST_KEY is not set");
	if (B->open(&o, &c, &err) < 0)
		fail_msg("%s", err.msg);
	B->close(c);
}

static void
test_auth_failures(void **state)
{
	char *dir = unit_dir_make("ssh-auth");
	_cleanup_free_ char *keyfile = xasprintf("%s/id_ed25519", dir);
	struct conn_opts o = node_opts();
	struct dr_error err = {{0}};
	ssh_key k = NULL;
	void *c = NULL;

	/* a key the node does not know */
	assert_int_equal(ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &k), SSH_OK);
	assert_int_equal(ssh_pki_export_privkey_file(k, NULL, NULL, NULL, keyfile), SSH_OK);
	ssh_key_free(k);
	o.private_key_file = keyfile;
	open_fails(&o, &err);
	assert_non_null(strstr(err.msg, "host node1"));
	assert_non_null(strstr(err.msg, "permission denied for user root"));

	/* a missing key file */
	o.private_key_file = "/nonexistent/id_ed25519";
	open_fails(&o, &err);
	assert_non_null(strstr(err.msg, "cannot read private key /nonexistent/id_ed25519"));

	/* wrong password (after the wrong key), then the right one */
	o.private_key_file = keyfile;
	o.password = "not-the-password";
	open_fails(&o, &err);
	assert_non_null(strstr(err.msg, "host node1"));
	assert_non_null(strstr(err.msg, "permission denied"));
	o.password = env("DROVER_TEST_SSH_PASSWORD");
	if (B->open(&o, &c, &err) < 0)
		fail_msg("%s", err.msg);
	struct conn_result r = run(c, "id -un", NULL, 0, 10);
	assert_string_equal(r.out, "root\n");
	result_free(&r);
	B->close(c);
	unlink(keyfile);
	unit_dir_remove(dir);
}

static void
test_unreachable(void **state)
{
	struct conn_opts o = node_opts();
	struct dr_error err = {{0}};
	int64_t t0 = time_mono_us();

	o.host = "ghost";
	o.address = env("DROVER_TEST_SSH_UNREACHABLE");
	o.connect_timeout = 2;
	if (o.address == NULL)
		fail_msg("DROVER_TEST_SSH_UNREACHABLE is not set");
	open_fails(&o, &err);
	assert_true(time_mono_us() - t0 < 8000000);
	assert_non_null(strstr(err.msg, "host ghost"));
	assert_non_null(strstr(err.msg, o.address));
	assert_non_null(strstr(err.msg, "cannot connect"));
}

static void
test_node_killed(void **state)
{
	struct conn_opts o = node_opts();
	struct conn_result r = {0};
	struct dr_error err = {{0}};
	const char *ready = env("DROVER_TEST_SSH_KILL_READY");
	void *c = NULL;
	int64_t t0;

	o.host = "node3";
	o.address = env("DROVER_TEST_SSH_KILL_ADDR");
	if (o.address == NULL || ready == NULL)
		fail_msg("DROVER_TEST_SSH_KILL_ADDR/READY are not set");
	if (B->open(&o, &c, &err) < 0)
		fail_msg("%s", err.msg);
	r = run(c, "echo up", NULL, 0, 10);
	assert_string_equal(r.out, "up\n");
	result_free(&r);
	assert_int_equal(file_write_atomic(ready, "go\n", 3, 0644, NULL), 0);
	t0 = time_mono_us();
	assert_int_equal(B->exec(c, "sleep 60", NULL, 0, 0, &r, &err), -1);
	assert_true(time_mono_us() - t0 < 30000000);
	assert_non_null(strstr(err.msg, "host node3"));
	assert_non_null(strstr(err.msg, "connection lost"));
	/* and what follows fails clearly too */
	assert_int_equal(B->exec(c, "true", NULL, 0, 5, &r, &err), -1);
	assert_non_null(strstr(err.msg, "host node3"));
	B->close(c);
}

static void
test_link_cut(void **state)
{
	struct conn_opts o = node_opts();
	struct conn_result r = {0};
	struct dr_error err = {{0}};
	const char *ready = env("DROVER_TEST_SSH_CUT_READY");
	void *c = NULL;
	int64_t t0;

	o.host = "node4";
	o.address = env("DROVER_TEST_SSH_CUT_ADDR");
	o.connect_timeout = 2; /* silent for 2 s: probed; dead after 3 probes, 1 s apart */
	if (o.address == NULL || ready == NULL)
		fail_msg("DROVER_TEST_SSH_CUT_ADDR/READY are not set");
	if (B->open(&o, &c, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(file_write_atomic(ready, "go\n", 3, 0644, NULL), 0);
	t0 = time_mono_us();
	/* no command timeout: only the keepalive can end this */
	assert_int_equal(B->exec(c, "sleep 120", NULL, 0, 0, &r, &err), -1);
	assert_true(time_mono_us() - t0 < 20000000);
	assert_non_null(strstr(err.msg, "host node4"));
	assert_non_null(strstr(err.msg, "connection lost"));
	B->close(c);
}

/* A backend that counts exec calls, to prove facts take one round trip. */
static int counted_execs;
static int
counting_exec(void *state, const char *cmd, const char *in, size_t in_len, int timeout_s,
    struct conn_result *ret, struct dr_error *err)
{
	counted_execs++;
	return conn_backend_ssh.exec(state, cmd, in, in_len, timeout_s, ret, err);
}

static void
test_facts(void **state)
{
	struct conn_backend counting = conn_backend_ssh;
	struct dr_error err = {{0}};
	json_t *f = NULL;
	const char *out = env("DROVER_TEST_SSH_FACTS_OUT");

	counting.exec = counting_exec;
	if (facts_gather(&counting, *state, NULL, &f, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(counted_execs, 1);
	assert_string_equal(json_string_value(json_object_get(f, "distribution")), "Debian");
	assert_string_equal(
	    json_string_value(json_object_get(f, "distribution_major_version")), "12");
	assert_string_equal(
	    json_string_value(json_object_get(f, "distribution_release")), "bookworm");
	assert_string_equal(json_string_value(json_object_get(f, "os_family")), "Debian");
	assert_string_equal(json_string_value(json_object_get(f, "pkg_mgr")), "apt");
	assert_string_equal(json_string_value(json_object_get(f, "architecture")), "x86_64");
	assert_string_equal(json_string_value(json_object_get(f, "hostname")), "node1");
	assert_string_equal(json_string_value(json_object_get(f, "user_id")), "root");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(f, "default_ipv4"), "address")),
	    env("DROVER_TEST_SSH_ADDR"));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(f, "default_ipv4"), "interface")),
	    "eth0");
	assert_true(json_is_true(json_object_get(json_object_get(f, "eth0"), "active")));
	assert_int_equal(json_integer_value(json_object_get(f, "processor_vcpus")),
	    sysconf(_SC_NPROCESSORS_ONLN));
	assert_true(json_integer_value(json_object_get(f, "memtotal_mb")) > 0);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(f, "env"), "HOME")), "/root");
	if (out != NULL) {
		assert_int_equal(json_dump_file(f, out, JSON_INDENT(1) | JSON_SORT_KEYS), 0);
	}
	json_decref(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exec_status_and_streams),
	    cmocka_unit_test(test_exec_stdin),
	    cmocka_unit_test(test_exec_large_output),
	    cmocka_unit_test(test_exec_timeout),
	    cmocka_unit_test(test_many_commands_one_session),
	    cmocka_unit_test(test_put_get),
	    cmocka_unit_test(test_facts),
	    cmocka_unit_test(test_host_key_unknown_then_accept_new),
	    cmocka_unit_test(test_host_key_changed_refused),
	    cmocka_unit_test(test_host_key_recorded),
	    cmocka_unit_test(test_auth_failures),
	    cmocka_unit_test(test_unreachable),
	    cmocka_unit_test(test_node_killed),
	    cmocka_unit_test(test_link_cut),
	};

	if (env("DROVER_TEST_SSH_ADDR") == NULL)
		UNIT_SKIP_ALL("no SSH test node (tests/integration/ssh_transport.sh runs this)");
	return cmocka_run_group_tests(tests, group_open, group_close);
}
