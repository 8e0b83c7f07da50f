/* test_prov_dnsmasq.c - the dnsmasq adapter (pxe/dnsmasq.c): configuration for full DHCP
 * and proxyDHCP, reservations, and the SIGHUP that makes dnsmasq re-read them. */
#include "tests/unit/unit.h"

#include "pxe/pxe.h"

#include <signal.h>
#include <sys/wait.h>

static char *
slurp(const char *dir, const char *name)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	char *text = NULL;

	assert_int_equal(file_read(path, 1 << 20, &text, NULL, NULL), 0);
	return text;
}

static void
test_conf(void **state)
{
	char *dir = unit_dir_make("dnsmasq");
	struct pxe_dnsmasq_opts o = {
	    .dir = dir, .http_url = "http://198.18.0.1:8080", .tftp_server = "198.18.0.1"};
	struct dr_error err;
	char *text;

	assert_int_equal(pxe_dnsmasq_write_conf(&o, &err), 0);
	text = slurp(dir, "dnsmasq.conf");
	assert_non_null(strstr(text,
	    "dhcp-boot=tag:!drover-subnet,tag:ipxe,http://198.18.0.1:8080/unattended/iPXE\n"));
	assert_non_null(strstr(
	    text, "dhcp-boot=tag:!drover-subnet,tag:!ipxe,tag:efi64,snponly.efi,,198.18.0.1\n"));
	/* iPXE is told there are no ProxyDHCP offers to wait for. */
	assert_non_null(strstr(text, "dhcp-option=tag:ipxe,encap:175,176,1b\n"));
	assert_non_null(strstr(text,
	    "dhcp-boot=tag:!drover-subnet,tag:!ipxe,tag:!efi64,"
	    "tag:!efi-http,undionly.kpxe,,198.18.0.1\n"));
	/* UEFI HTTP boot firmware loads an EFI program, not an iPXE script. */
	assert_non_null(strstr(text,
	    "dhcp-boot=tag:!drover-subnet,tag:!ipxe,tag:efi-http,"
	    "http://198.18.0.1:8080/pxe/files/ipxe.efi\n"));
	assert_null(strstr(text, "proxy"));
	free(text);
	o.proxy_network = "198.18.0.0";
	assert_int_equal(pxe_dnsmasq_write_conf(&o, &err), 0);
	text = slurp(dir, "dnsmasq.conf");
	assert_non_null(strstr(text, "dhcp-range=198.18.0.0,proxy\n"));
	assert_non_null(
	    strstr(text, "pxe-service=tag:!ipxe,X86PC,\"Drover\",undionly.kpxe,198.18.0.1\n"));
	free(text);
	unit_dir_remove(dir);
	(void)state;
}

/* Per-subnet boot modes: each subnet's range sets its tag, its loader decides. */
static void
test_conf_subnets(void **state)
{
	char *dir = unit_dir_make("dnsmasq");
	const struct pxe_dnsmasq_subnet subnets[] = {
	    {1, "sb", "198.18.1.0", "255.255.255.0", "198.18.1.100", "198.18.1.200",
	        "Grub2 UEFI SecureBoot", "198.18.1.1", "198.18.1.53", "198.18.1.54", 1400,
	        "sb.example"},
	    {2, "uefi", "198.18.2.0", "255.255.255.0", NULL, NULL, "iPXE Chain UEFI", NULL,
	        NULL, "198.18.2.53"},
	    {3, "http", "198.18.3.0", "255.255.255.0", NULL, NULL, "Grub2 UEFI HTTP"},
	    {4, "off", "198.18.4.0", "255.255.255.0", NULL, NULL, "None"},
	};
	struct pxe_dnsmasq_subnet bad = {
	    5, "bad", "198.18.5.0", "255.255.255.0", NULL, NULL, "Floppy"};
	struct pxe_dnsmasq_opts o = {.dir = dir,
	    .http_url = "http://198.18.0.1:8080",
	    .subnets = subnets,
	    .nsubnets = nitems(subnets)};
	struct dr_error err;
	char *text;

	assert_int_equal(pxe_dnsmasq_write_conf(&o, &err), 0);
	text = slurp(dir, "dnsmasq.conf");
	assert_non_null(strstr(text,
	    "dhcp-range=set:drover-s1,198.18.1.100,198.18.1.200,255.255.255.0\n"
	    "tag-if=set:drover-subnet,tag:drover-s1\n"));
	assert_non_null(
	    strstr(text, "dhcp-boot=tag:drover-s1,tag:!ipxe,tag:efi64,shimx64.efi,,\n"));
	/* The subnet's router, name servers, MTU and domain, to its clients only. */
	assert_non_null(strstr(text,
	    "dhcp-option=tag:drover-s1,option:router,198.18.1.1\n"
	    "dhcp-option=tag:drover-s1,option:dns-server,198.18.1.53,198.18.1.54\n"
	    "dhcp-option=tag:drover-s1,option:mtu,1400\n"
	    "dhcp-option=tag:drover-s1,option:domain-name,sb.example\n"));
	assert_non_null(strstr(text, "dhcp-option=tag:drover-s2,option:dns-server,198.18.2.53\n"));
	assert_null(strstr(text, "dhcp-option=tag:drover-s2,option:router"));
	assert_null(strstr(text, "dhcp-option=tag:drover-s3,"));
	assert_non_null(
	    strstr(text, "dhcp-range=set:drover-s2,198.18.2.0,static,255.255.255.0\n"));
	assert_non_null(
	    strstr(text, "dhcp-boot=tag:drover-s2,tag:!ipxe,tag:efi64,snponly.efi,,\n"));
	assert_non_null(strstr(
	    text, "dhcp-boot=tag:drover-s2,tag:ipxe,http://198.18.0.1:8080/unattended/iPXE\n"));
	assert_non_null(strstr(text,
	    "dhcp-boot=tag:drover-s3,tag:!ipxe,tag:efi-http,"
	    "http://198.18.0.1:8080/pxe/files/grubx64.efi\n"));
	/* None: the subnet's clients get no boot file at all. */
	assert_non_null(strstr(text, "tag-if=set:drover-subnet,tag:drover-s4\n"));
	assert_null(strstr(text, "dhcp-boot=tag:drover-s4"));
	free(text);
	if (access("/usr/sbin/dnsmasq", X_OK) == 0) {
		_cleanup_free_ char *cmd = xasprintf(
		    "/usr/sbin/dnsmasq --test --conf-file=%s/dnsmasq.conf >/dev/null 2>&1", dir);
		assert_int_equal(system(cmd), 0);
	}
	o.subnets = &bad;
	o.nsubnets = 1;
	assert_int_equal(pxe_dnsmasq_write_conf(&o, &err), -1);
	assert_string_equal(err.msg, "subnet bad: pxe_loader 'Floppy' is not known");
	unit_dir_remove(dir);
	(void)state;
}

static void
test_hosts_and_reload(void **state)
{
	char *dir = unit_dir_make("dnsmasq");
	_cleanup_free_ char *pidfile = xasprintf("%s/dnsmasq.pid", dir), *pidtext = NULL;
	struct pxe_dnsmasq_opts o = {.dir = dir, .http_url = "http://x", .pidfile = pidfile};
	struct pxe_dnsmasq_host hosts[] = {
	    {"52:54:00:00:00:01", "198.18.0.21", "n1", true},
	    {"52:54:00:00:00:02", NULL, "n2", false},
	    {"52:54:00:00:00:03", NULL, "bad,name", false},
	};
	struct dr_error err;
	int status = 0;
	pid_t child;
	char *text;

	/* A stand-in for dnsmasq: exits 0 on SIGHUP, 1 if not signalled within 5 s. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		sigset_t s;
		struct timespec ts = {5, 0};
		sigemptyset(&s);
		sigaddset(&s, SIGHUP);
		sigprocmask(SIG_BLOCK, &s, NULL);
		_exit(sigtimedwait(&s, NULL, &ts) == SIGHUP ? 0 : 1);
	}
	pidtext = xasprintf("%d\n", (int)child);
	assert_int_equal(file_write_atomic(pidfile, pidtext, strlen(pidtext), 0644, NULL), 0);
	usleep(100000); /* let the child block SIGHUP before it is sent */
	assert_int_equal(pxe_dnsmasq_write_hosts(&o, hosts, nitems(hosts), &err), 0);
	text = slurp(dir, "dhcp-hosts");
	/* A name that would break the file is left out. */
	assert_string_equal(text,
	    "52:54:00:00:00:01,set:drover-build,198.18.0.21,n1\n"
	    "52:54:00:00:00:02,n2\n");
	free(text);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	unit_dir_remove(dir);
	(void)state;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conf),
	    cmocka_unit_test(test_conf_subnets),
	    cmocka_unit_test(test_hosts_and_reload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
