/*
 * test_facts.c - the facts parser on captured script outputs: a Debian 12 test node
 * (tests/fixtures/facts/debian12-node.out, whose facts ssh_transport.sh also compares with
 * ansible-core's setup module live) and a Rocky 9 KVM guest written to cover what the node
 * lacks (real mounts, secondary addresses, IPv6 default route, systemd, DST zone).
 */
#include "tests/unit/unit.h"

#include "playbooks/playbooks.h"

static json_t *
parse_fixture(const char *name)
{
	_cleanup_free_ char *path = xasprintf("%s/tests/fixtures/facts/%s",
	    getenv("top_srcdir") ? getenv("top_srcdir") : "..", name);
	_cleanup_free_ char *text = NULL;
	struct dr_error err = {{0}};
	size_t len;
	json_t *f = NULL;

	if (file_read(path, 1 << 20, &text, &len, &err) < 0)
		fail_msg("%s", err.msg);
	if (facts_parse(text, len, &f, &err) < 0)
		fail_msg("%s", err.msg);
	return f;
}

/* The string at a dotted path ("default_ipv4.address"), or NULL. */
static const char *
str_at(json_t *f, const char *path)
{
	_cleanup_free_ char *copy = xstrdup(path);
	char *save = NULL;

	for (char *k = strtok_r(copy, ".", &save); k != NULL; k = strtok_r(NULL, ".", &save)) {
		if (json_is_array(f))
			f = json_array_get(f, (size_t)atoi(k));
		else
			f = json_object_get(f, k);
	}
	return json_string_value(f);
}

static json_int_t
int_at(json_t *f, const char *path)
{
	_cleanup_free_ char *copy = xstrdup(path);
	char *save = NULL;

	for (char *k = strtok_r(copy, ".", &save); k != NULL; k = strtok_r(NULL, ".", &save))
		f = json_is_array(f) ? json_array_get(f, (size_t)atoi(k)) : json_object_get(f, k);
	assert_true(json_is_integer(f));
	return json_integer_value(f);
}

static void
test_debian_node(void **state)
{
	json_t *f = parse_fixture("debian12-node.out");

	assert_string_equal(str_at(f, "distribution"), "Debian");
	assert_string_equal(str_at(f, "distribution_version"), "12.11");
	assert_string_equal(str_at(f, "distribution_major_version"), "12");
	assert_string_equal(str_at(f, "distribution_minor_version"), "11");
	assert_string_equal(str_at(f, "distribution_release"), "bookworm");
	assert_string_equal(str_at(f, "os_family"), "Debian");
	assert_string_equal(str_at(f, "pkg_mgr"), "apt");
	assert_string_equal(str_at(f, "service_mgr"), "sshd"); /* /proc/1/comm of the node */
	assert_string_equal(str_at(f, "hostname"), "node1");
	assert_string_equal(str_at(f, "fqdn"), "node1.drover.test");
	assert_string_equal(str_at(f, "domain"), "drover.test");
	assert_string_equal(str_at(f, "architecture"), "x86_64");
	assert_string_equal(str_at(f, "system"), "Linux");
	assert_string_equal(str_at(f, "default_ipv4.address"), "198.18.1.1");
	assert_string_equal(str_at(f, "default_ipv4.gateway"), "198.18.0.1");
	assert_string_equal(str_at(f, "default_ipv4.netmask"), "255.255.0.0");
	assert_string_equal(str_at(f, "default_ipv4.network"), "198.18.0.0");
	assert_string_equal(str_at(f, "default_ipv4.prefix"), "16");
	assert_int_equal(json_object_size(json_object_get(f, "default_ipv6")), 0);
	assert_string_equal(str_at(f, "eth0.ipv4.address"), "198.18.1.1");
	assert_string_equal(str_at(f, "eth0.type"), "ether");
	assert_int_equal(int_at(f, "eth0.mtu"), 1500);
	assert_string_equal(str_at(f, "lo.type"), "loopback");
	assert_null(json_object_get(json_object_get(f, "lo"), "macaddress"));
	assert_string_equal(str_at(f, "lo.ipv6.0.address"), "::1");
	assert_int_equal(json_array_size(json_object_get(f, "interfaces")), 2);
	assert_string_equal(str_at(f, "all_ipv4_addresses.0"), "198.18.1.1");
	assert_string_equal(str_at(f, "user_id"), "root");
	assert_int_equal(int_at(f, "user_uid"), 0);
	assert_string_equal(str_at(f, "user_dir"), "/root");
	assert_string_equal(str_at(f, "env.HOME"), "/root");
	assert_string_equal(str_at(f, "virtualization_type"), "docker");
	assert_string_equal(str_at(f, "virtualization_role"), "guest");
	assert_string_equal(str_at(f, "date_time.tz"), "UTC");
	assert_true(int_at(f, "memtotal_mb") > 0);
	assert_true(int_at(f, "processor_vcpus") > 0);
	assert_int_equal(json_array_size(json_object_get(f, "mounts")), 0); /* overlay root */
	json_decref(f);
}

static void
test_rocky_guest(void **state)
{
	json_t *f = parse_fixture("rocky9.out");

	assert_string_equal(str_at(f, "distribution"), "Rocky");
	assert_string_equal(str_at(f, "distribution_version"), "9.3");
	assert_string_equal(str_at(f, "distribution_major_version"), "9");
	assert_string_equal(str_at(f, "distribution_release"), "Blue Onyx");
	assert_string_equal(str_at(f, "os_family"), "RedHat");
	assert_string_equal(str_at(f, "pkg_mgr"), "dnf");
	assert_string_equal(str_at(f, "service_mgr"), "systemd");
	assert_string_equal(str_at(f, "hostname"), "web1");
	assert_string_equal(str_at(f, "nodename"), "web1.example.com");
	assert_string_equal(str_at(f, "domain"), "example.com");
	/* a user who is not root, a gecos, and an environment value with a newline */
	assert_string_equal(str_at(f, "user_id"), "deploy");
	assert_int_equal(int_at(f, "user_uid"), 1000);
	assert_string_equal(str_at(f, "user_gecos"), "Deploy User");
	assert_string_equal(str_at(f, "user_shell"), "/bin/bash");
	assert_string_equal(str_at(f, "env.MULTI"), "line1\nline2");
	/* memory in MB; nocache adds buffers and cache back */
	assert_int_equal(int_at(f, "memtotal_mb"), 3800);
	assert_int_equal(int_at(f, "memfree_mb"), 1024);
	assert_int_equal(int_at(f, "swaptotal_mb"), 2048);
	assert_int_equal(int_at(f, "memory_mb.nocache.free"), 1024 + 10 + 100);
	/* 1 socket, 2 cores, 2 threads each */
	assert_int_equal(int_at(f, "processor_count"), 1);
	assert_int_equal(int_at(f, "processor_cores"), 2);
	assert_int_equal(int_at(f, "processor_threads_per_core"), 2);
	assert_int_equal(int_at(f, "processor_vcpus"), 4);
	assert_string_equal(str_at(f, "processor.2"), "Intel(R) Xeon(R) CPU");
	/* addresses: primary, secondary (an alias), IPv6 default route */
	assert_string_equal(str_at(f, "eth0.ipv4.address"), "192.0.2.10");
	assert_string_equal(str_at(f, "eth0.ipv4.broadcast"), "192.0.2.255");
	assert_string_equal(str_at(f, "eth0.ipv4_secondaries.0.address"), "192.0.2.11");
	assert_string_equal(str_at(f, "eth0_1.ipv4.address"), "192.0.2.11");
	assert_int_equal(int_at(f, "eth0.speed"), 1000);
	assert_true(json_is_false(json_object_get(json_object_get(f, "ens4"), "active")));
	assert_string_equal(str_at(f, "ens4.macaddress"), "52:54:00:ab:cd:ef");
	assert_string_equal(str_at(f, "default_ipv4.address"), "192.0.2.10");
	assert_string_equal(str_at(f, "default_ipv4.gateway"), "192.0.2.1");
	assert_string_equal(str_at(f, "default_ipv4.macaddress"), "52:54:00:12:34:56");
	assert_string_equal(str_at(f, "default_ipv6.address"), "2001:db8::10");
	assert_string_equal(str_at(f, "default_ipv6.gateway"), "2001:db8::1");
	assert_string_equal(str_at(f, "default_ipv6.prefix"), "64");
	assert_string_equal(str_at(f, "default_ipv6.scope"), "global");
	assert_int_equal(json_array_size(json_object_get(f, "all_ipv6_addresses")), 2);
	/* mounts of real devices, with sizes, UUIDs, and an escaped space */
	assert_int_equal(json_array_size(json_object_get(f, "mounts")), 2);
	assert_string_equal(str_at(f, "mounts.0.mount"), "/");
	assert_string_equal(str_at(f, "mounts.0.uuid"), "1111-2222");
	assert_int_equal(int_at(f, "mounts.0.size_total"), 4096 * 1000);
	assert_int_equal(int_at(f, "mounts.0.size_available"), 4096 * 300);
	assert_int_equal(int_at(f, "mounts.0.block_used"), 600);
	assert_int_equal(int_at(f, "mounts.0.inode_used"), 1000);
	assert_string_equal(str_at(f, "mounts.1.mount"), "/srv/my data");
	assert_string_equal(str_at(f, "mounts.1.uuid"), "N/A");
	assert_int_equal(int_at(f, "mounts.1.size_total"), 1024 * 2000);
	assert_int_equal(int_at(f, "mounts.1.passno"), 2);
	/* time: local fields as the host prints them, iso8601 in UTC, the DST name */
	assert_string_equal(str_at(f, "date_time.iso8601"), "2024-03-31T01:30:05Z");
	assert_string_equal(str_at(f, "date_time.iso8601_micro"), "2024-03-31T01:30:05.123456Z");
	assert_string_equal(str_at(f, "date_time.iso8601_basic_short"), "20240331T033005");
	assert_string_equal(str_at(f, "date_time.tz"), "CEST");
	assert_string_equal(str_at(f, "date_time.tz_dst"), "CEST");
	assert_string_equal(str_at(f, "date_time.tz_offset"), "+0200");
	assert_string_equal(str_at(f, "date_time.weekday"), "Sunday");
	assert_string_equal(str_at(f, "virtualization_type"), "kvm");
	assert_string_equal(str_at(f, "virtualization_role"), "guest");
	json_decref(f);
}

static void
test_minimal_and_broken(void **state)
{
	/* A busybox-like host: no date -f, no ip, no os-release ID we know. */
	static const char minimal[] =
	    "@@os-release\nNAME=\"Tiny OS\"\nID=tiny\n"
	    "@@uname\nLinux\nbox\n6.1.0\n#1\naarch64\n"
	    "@@date\n2024 01 02 03 04 05 0 1704164645 +0000 UTC Tuesday 2 01 002\n"
	    "@@init\ncomm sh\nexists /etc/init.d\n@@end\n";
	struct dr_error err = {{0}};
	json_t *f = NULL;

	assert_int_equal(facts_parse(minimal, sizeof(minimal) - 1, &f, &err), 0);
	assert_string_equal(str_at(f, "distribution"), "Tiny OS");
	assert_string_equal(str_at(f, "os_family"), "Tiny OS");
	assert_string_equal(str_at(f, "distribution_version"), "NA");
	assert_string_equal(str_at(f, "architecture"), "aarch64");
	assert_string_equal(str_at(f, "pkg_mgr"), "unknown");
	assert_string_equal(str_at(f, "service_mgr"), "sysvinit"); /* "sh" is not an init */
	assert_string_equal(str_at(f, "date_time.iso8601_micro"), "2024-01-02T03:04:05.000000Z");
	assert_string_equal(str_at(f, "virtualization_type"), "NA");
	assert_int_equal(json_array_size(json_object_get(f, "interfaces")), 0);
	json_decref(f);

	/* cut short (the connection dropped): an error, not half the facts */
	static const char cut[] = "@@os-release\nID=debian\n@@uname\nLinux\n";
	f = NULL;
	assert_int_equal(facts_parse(cut, sizeof(cut) - 1, &f, &err), -1);
	assert_null(f);
	assert_non_null(strstr(err.msg, "incomplete"));
	assert_int_equal(facts_parse("", 0, &f, &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_debian_node),
	    cmocka_unit_test(test_rocky_guest),
	    cmocka_unit_test(test_minimal_and_broken),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
