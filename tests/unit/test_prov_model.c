/* test_prov_model.c - the provisioning model (provisioner/resource.c, host.c, render.c):
 * validation naming fields, references, inheritance and parameter precedence, build
 * tokens, host finding, and every seeded template rendered for every seeded OS. */
#include "tests/unit/unit.h"

#include "provisioner/provisioner.h"

/* A fresh store with the seeded defaults. */
static int
setup(void **state)
{
	struct provisioner_opts o = {.url = "http://198.18.0.1:8080/"};
	struct dr_error err;
	char *dir = unit_dir_make("prov");

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

/* Create from JSON text; returns the PROV_E_* code and leaves the message in err. */
static int
create(const char *resource, const char *json, struct dr_error *err)
{
	_cleanup_json_ json_t *in = json_loads(json, 0, NULL);

	assert_non_null(in);
	return prov_resource_create(prov_resource_find(resource), in, "test", NULL, NULL, err);
}

static json_t *
get(const char *resource, const char *name)
{
	return prov_resource_get(prov_resource_find(resource), name);
}

static void
test_validation_names_the_field(void **state)
{
	struct dr_error err;

	assert_int_equal(create("host",
	                     "{\"name\": \"n1\", \"interfaces\": [{\"mac\": "
	                     "\"52:54:00:12:34:5\"}]}",
	                     &err),
	    PROV_E_INVALID);
	assert_string_equal(
	    err.msg, "interfaces[0].mac: expected a MAC address like 52:54:00:12:34:56");
	assert_int_equal(create("host", "{\"name\": \"n 1\"}", &err), PROV_E_INVALID);
	assert_non_null(strstr(err.msg, "name: only letters"));
	assert_int_equal(create("host", "{}", &err), PROV_E_INVALID);
	assert_string_equal(err.msg, "name: required");
	assert_int_equal(create("subnet",
	                     "{\"name\": \"s\", \"network\": \"198.18.0.0\", "
	                     "\"mask\": \"255.255.300.0\"}",
	                     &err),
	    PROV_E_INVALID);
	assert_string_equal(err.msg, "mask: '255.255.300.0' is not an IP address");
	assert_int_equal(prov_netmask_prefix("255.255.255.0"), 24);
	assert_int_equal(prov_netmask_prefix("255.255.255.255"), 32);
	assert_int_equal(prov_netmask_prefix("0.0.0.0"), 0);
	assert_int_equal(prov_netmask_prefix("255.255.254.0"), 23);
	assert_int_equal(prov_netmask_prefix("ffff:ffff:ffff:ffff::"), 64);
	assert_int_equal(prov_netmask_prefix("255.0.255.0"), -1);
	assert_int_equal(prov_netmask_prefix("255.255.255.1"), -1);
	assert_int_equal(prov_netmask_prefix("nonsense"), -1);
	assert_int_equal(create("subnet",
	                     "{\"name\": \"s\", \"network\": \"198.18.0.0\", "
	                     "\"mask\": \"255.255.255.0\", \"from\": \"198.18.0.10\"}",
	                     &err),
	    PROV_E_INVALID);
	assert_string_equal(err.msg, "to: the DHCP range needs both from and to");
	assert_int_equal(create("subnet",
	                     "{\"name\": \"s\", \"network\": \"198.18.0.0\", "
	                     "\"mask\": \"255.255.255.0\", \"gateway\": \"fd00::1\"}",
	                     &err),
	    PROV_E_INVALID);
	assert_string_equal(err.msg, "gateway: fd00::1 is not in 198.18.0.0/24");
	assert_int_equal(create("subnet",
	                     "{\"name\": \"s\", \"network\": \"198.18.0.0\", "
	                     "\"mask\": \"ffff:ff00::\"}",
	                     &err),
	    PROV_E_INVALID);
	assert_string_equal(err.msg, "mask: 'ffff:ff00::' is not a netmask for 198.18.0.0");
	assert_int_equal(create("operatingsystem",
	                     "{\"name\": \"x\", \"family\": \"Windows\", "
	                     "\"major\": 1}",
	                     &err),
	    PROV_E_INVALID);
	assert_string_equal(err.msg, "family: 'Windows' is not one of Debian|Redhat");
	assert_int_equal(create("operatingsystem",
	                     "{\"name\": \"x\", \"family\": \"Debian\", "
	                     "\"major\": 1, \"medium\": [\"nope\"]}",
	                     &err),
	    PROV_E_INVALID);
	assert_string_equal(err.msg, "medium[0]: no medium 'nope'");
	assert_int_equal(create("host", "{\"name\": \"n1\", \"parameters\": {\"a\": [1]}}", &err),
	    PROV_E_INVALID);
	assert_string_equal(err.msg, "parameters.a: expected a string, number or boolean");
	assert_int_equal(
	    create("host", "{\"name\": \"n1\", \"build\": true}", &err), PROV_E_INVALID);
	assert_string_equal(err.msg, "build: set by Drover, not by clients");
	assert_int_equal(create("host",
	                     "{\"name\": \"n1\", \"interfaces\": [{\"mac\": "
	                     "\"52:54:00:12:34:56\"}, {\"mac\": \"52-54-00-12-34-56\"}]}",
	                     &err),
	    PROV_E_INVALID);
	assert_string_equal(err.msg, "interfaces[1].mac: 52:54:00:12:34:56 is also interfaces[0]");
	(void)state;
}

static void
test_references_and_conflicts(void **state)
{
	struct dr_error err;
	_cleanup_json_ json_t *h = NULL, *shown = NULL;

	assert_int_equal(create("host",
	                     "{\"name\": \"n1\", \"interfaces\": [{\"mac\": "
	                     "\"52:54:00:AA:BB:CC\", \"ip\": \"198.18.0.5\"}]}",
	                     &err),
	    0);
	h = get("host", "n1");
	/* A host with neither hostgroup nor OS gets the seeded "base" hostgroup. */
	shown = prov_resource_present(prov_resource_find("host"), h);
	assert_string_equal(json_string_value(json_object_get(shown, "hostgroup_name")), "base");
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(h, "interfaces"), 0), "mac")),
	    "52:54:00:aa:bb:cc");
	assert_int_equal(create("host",
	                     "{\"name\": \"n2\", \"interfaces\": [{\"mac\": "
	                     "\"52:54:00:aa:bb:cc\"}]}",
	                     &err),
	    PROV_E_INVALID);
	assert_string_equal(err.msg, "interfaces[0].mac: 52:54:00:aa:bb:cc belongs to host n1");
	assert_int_equal(create("host", "{\"name\": \"n1\"}", &err), PROV_E_CONFLICT);
	assert_int_equal(
	    prov_resource_delete(prov_resource_find("hostgroup"), "base", "t", NULL, &err),
	    PROV_E_CONFLICT);
	assert_string_equal(err.msg, "hostgroup base is used by host n1");
	assert_int_equal(
	    prov_resource_delete(prov_resource_find("host"), "n1", "t", NULL, &err), 0);
	assert_null(prov_host_find_mac("52:54:00:aa:bb:cc"));
	(void)state;
}

static void
test_inheritance_and_parameter_precedence(void **state)
{
	_cleanup_json_ json_t *h = NULL, *r = NULL;
	struct dr_error err;
	json_t *p;

	assert_int_equal(
	    create("common_parameter", "{\"name\": \"a\", \"value\": \"global\"}", &err), 0);
	assert_int_equal(
	    create("common_parameter", "{\"name\": \"g\", \"value\": \"global\"}", &err), 0);
	assert_int_equal(create("domain",
	                     "{\"name\": \"example.test\", \"parameters\": "
	                     "{\"a\": \"domain\", \"b\": \"domain\", \"d\": \"domain\"}}",
	                     &err),
	    0);
	assert_int_equal(create("subnet",
	                     "{\"name\": \"s\", \"network\": \"198.18.0.0\", "
	                     "\"mask\": \"255.255.255.0\", \"parameters\": "
	                     "{\"b\": \"subnet\", \"c\": \"subnet\", \"s\": \"subnet\"}}",
	                     &err),
	    0);
	assert_int_equal(create("hostgroup",
	                     "{\"name\": \"mid\", \"parent\": \"base\", "
	                     "\"domain\": \"example.test\", \"subnet\": \"s\", "
	                     "\"parameters\": {\"c\": \"mid\", \"e\": \"mid\"}}",
	                     &err),
	    0);
	assert_int_equal(create("hostgroup",
	                     "{\"name\": \"leaf\", \"parent\": \"mid\", "
	                     "\"parameters\": {\"e\": \"leaf\", \"f\": \"leaf\"}}",
	                     &err),
	    0);
	assert_int_equal(create("host",
	                     "{\"name\": \"n1\", \"hostgroup\": \"leaf\", "
	                     "\"parameters\": {\"f\": \"host\"}, \"interfaces\": "
	                     "[{\"mac\": \"52:54:00:00:00:01\"}]}",
	                     &err),
	    0);
	h = get("host", "n1");
	assert_int_equal(prov_host_resolve(h, &r, &err), 0);
	p = json_object_get(r, "parameters");
	/* global < domain < subnet < OS < hostgroup (root first) < host */
	assert_string_equal(json_string_value(json_object_get(p, "g")), "global");
	assert_string_equal(json_string_value(json_object_get(p, "a")), "domain");
	assert_string_equal(json_string_value(json_object_get(p, "b")), "subnet");
	assert_string_equal(json_string_value(json_object_get(p, "c")), "mid");
	assert_string_equal(json_string_value(json_object_get(p, "e")), "leaf");
	assert_string_equal(json_string_value(json_object_get(p, "f")), "host");
	/* OS, medium and partition table come from the root of the chain. */
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(r, "os"), "name")), "Debian 12");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(r, "medium"), "name")),
	    "Debian mirror");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(r, "domain"), "name")),
	    "example.test");
	/* A cycle is refused. */
	{
		_cleanup_json_ json_t *in = json_pack("{s:s}", "parent", "leaf");
		assert_int_equal(prov_resource_update(prov_resource_find("hostgroup"), "base", in,
		                     "t", NULL, NULL, &err),
		    PROV_E_INVALID);
		assert_non_null(strstr(err.msg, "own ancestor"));
	}
	(void)state;
}

static void
test_build_tokens(void **state)
{
	_cleanup_json_ json_t *h = NULL, *found = NULL;
	_cleanup_free_ char *token = NULL, *kh = NULL;
	struct dr_error err;
	int64_t id;

	assert_int_equal(create("host",
	                     "{\"name\": \"n1\", \"interfaces\": [{\"mac\": "
	                     "\"52:54:00:00:00:01\", \"ip\": \"198.18.0.9\"}]}",
	                     &err),
	    0);
	assert_int_equal(create("host", "{\"name\": \"nomac\"}", &err), 0);
	assert_int_equal(prov_host_build("nomac", 0, "t", NULL, NULL, &err), PROV_E_INVALID);
	assert_non_null(strstr(err.msg, "no interface with a MAC"));
	assert_int_equal(prov_host_build("n1", 60, "t", NULL, &token, &err), 0);
	assert_int_equal(strlen(token), 64);
	found = prov_host_find_token(token, time(NULL));
	assert_non_null(found);
	id = json_integer_value(json_object_get(found, "id"));
	assert_string_equal(json_string_value(json_object_get(found, "status")), "building");
	json_decref(found);
	/* Expired: a minute and a second later. */
	assert_null(prov_host_find_token(token, time(NULL) + 61));
	assert_null(prov_host_find_token("zz", time(NULL)));
	found = prov_host_find_ip("198.18.0.9");
	assert_non_null(found);
	json_decref(found);
	found = prov_host_find_mac("52-54-00-00-00-01");
	assert_non_null(found);
	assert_int_equal(prov_host_built(id, "not a key\n", NULL, &err), PROV_E_INVALID);
	assert_int_equal(prov_host_built(id,
	                     "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE1 root@vm\n"
	                     "ecdsa-sha2-nistp256 AAAAE2VjZHNh root@vm\n",
	                     NULL, &err),
	    0);
	assert_null(prov_host_find_token(token, time(NULL)));
	assert_int_equal(provisioner_known_hosts("n1", &kh, &err), 0);
	assert_string_equal(kh,
	    "n1,198.18.0.9 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE1\n"
	    "n1,198.18.0.9 ecdsa-sha2-nistp256 AAAAE2VjZHNh\n");
	h = get("host", "n1");
	assert_string_equal(json_string_value(json_object_get(h, "status")), "installed");
	assert_false(json_is_true(json_object_get(h, "build")));
	assert_int_equal(provisioner_known_hosts("nope", &kh, &err), PROV_E_NOTFOUND);
	(void)state;
}

/* Every seeded OS renders every template kind it has, with the content checked. */
static void
test_seeded_templates_render(void **state)
{
	static const struct {
		const char *os, *medium, *ptable, *kind, *expect;
	} cases[] = {
	    {"Debian 12", "Debian mirror", "Preseed default", "provision",
	        "d-i mirror/suite string bookworm"},
	    {"Debian 12", "Debian mirror", "Preseed default", "iPXE",
	        "kernel http://deb.debian.org/debian/dists/bookworm/main/installer-amd64/current/"
	        "images/netboot/debian-installer/amd64/linux initrd=initrd.gz auto=true"},
	    {"Debian 12", "Debian mirror", "Preseed default", "finish", "unattended/built"},
	    {"Debian 12", "Debian mirror", "Preseed default", "PXELinux", "KERNEL ipxe.lkrn"},
	    {"Debian 12", "Debian mirror", "Preseed default", "PXEGrub2",
	        "echo 'Debian 12: GRUB reads kernels from the TFTP root only; "
	        "http://deb.debian.org/debian/dists/bookworm/"},
	    {"Ubuntu 24.04", "Ubuntu 24.04 netboot", NULL, "user_data",
	        "autoinstall:\n  version: 1"},
	    {"Ubuntu 24.04", "Ubuntu 24.04 netboot", NULL, "iPXE",
	        "kernel http://releases.ubuntu.com/24.04/netboot/amd64/linux initrd=initrd "
	        "ip=dhcp url=http://releases.ubuntu.com/24.04/ubuntu-24.04-live-server-amd64.iso "
	        "autoinstall ds=nocloud-net;s=http://198.18.0.1:8080/unattended/cloud-init/"},
	    {"Rocky 9", "Rocky mirror", "Kickstart default", "provision",
	        "url --url=http://dl.rockylinux.org/pub/rocky/9/BaseOS/x86_64/os"},
	    {"Rocky 9", "Rocky mirror", "Kickstart default", "iPXE",
	        "inst.ks=http://198.18.0.1:8080/unattended/provision?token="},
	    {"AlmaLinux 9", "AlmaLinux mirror", "Kickstart default", "provision",
	        "autopart --type=lvm"},
	};
	struct dr_error err;
	size_t i;

	for (i = 0; i < nitems(cases); i++) {
		_cleanup_free_ char *name = xasprintf("h%zu", i), *out = NULL, *json = NULL;
		_cleanup_json_ json_t *h = NULL;

		json = xasprintf("{\"name\": \"%s\", \"operatingsystem\": \"%s\", \"medium\": "
		                 "\"%s\"%s%s%s, \"parameters\": {\"ntp_server\": \"ntp.test\", "
		                 "\"ssh_authorized_keys\": \"ssh-ed25519 AAAA admin\"}, "
		                 "\"interfaces\": [{\"mac\": \"52:54:00:00:01:%02zx\"}]}",
		    name, cases[i].os, cases[i].medium, cases[i].ptable ? ", \"ptable\": \"" : "",
		    cases[i].ptable ? cases[i].ptable : "", cases[i].ptable ? "\"" : "", i);
		assert_int_equal(create("host", json, &err), 0);
		assert_int_equal(prov_host_build(name, 0, "t", NULL, NULL, &err), 0);
		h = get("host", name);
		if (prov_render_host(h, cases[i].kind, NULL, &out, &err) < 0)
			fail_msg("%s %s: %s", cases[i].os, cases[i].kind, err.msg);
		if (strstr(out, cases[i].expect) == NULL)
			fail_msg("%s %s: '%s' not in:\n%s", cases[i].os, cases[i].kind,
			    cases[i].expect, out);
		if (strcmp(cases[i].kind, "user_data") == 0) {
			/* cloud-init reads YAML: it must load. */
			_cleanup_json_ json_t *doc = NULL;
			assert_int_equal(
			    yaml_load_string("user_data", out, strlen(out), 0, &doc, NULL, &err),
			    0);
			assert_non_null(
			    json_object_get(json_object_get(doc, "autoinstall"), "late-commands"));
		}
		if (strcmp(cases[i].kind, "finish") == 0) {
			assert_non_null(strstr(out, "server ntp.test iburst"));
			assert_non_null(strstr(out, "ssh-ed25519 AAAA admin"));
		}
	}
	(void)state;
}

static void
test_tftp_boot_files(void **state)
{
	_cleanup_free_ char *out = NULL;
	struct dr_error err;
	size_t len = 0;

	assert_int_equal(create("host",
	                     "{\"name\": \"p1\", \"interfaces\": [{\"mac\": "
	                     "\"52:54:00:00:00:07\"}]}",
	                     &err),
	    0);
	assert_int_equal(provisioner_boot_file("pxelinux.cfg/default", &out, &len), 0);
	assert_int_equal(
	    provisioner_boot_file("pxelinux.cfg/01-52-54-00-00-00-08", &out, &len), -1);
	assert_int_equal(
	    provisioner_boot_file("pxelinux.cfg/01-52-54-00-00-00-07", &out, &len), 1);
	assert_non_null(strstr(out, "LOCALBOOT 0"));
	free(out);
	out = NULL;
	/* Installed: GRUB chainloads the disk's boot loader (the removable-media path
	 * first), else leaves for the firmware's next boot option. */
	assert_int_equal(
	    provisioner_boot_file("grub/grub.cfg-01-52-54-00-00-00-07", &out, &len), 1);
	assert_non_null(
	    strstr(out, "menuentry 'Local disk' {\n  for f in /EFI/BOOT/BOOTX64.EFI "));
	assert_non_null(strstr(out, "chainloader \"$f\"\n      boot\n"));
	assert_non_null(strstr(out, "  done\n  exit\n}"));
	assert_null(strstr(out, "linux "));
	free(out);
	out = NULL;
	assert_int_equal(prov_host_build("p1", 0, "t", NULL, NULL, &err), 0);
	assert_int_equal(
	    provisioner_boot_file("grub/grub.cfg-01-52-54-00-00-00-07", &out, &len), 1);
	assert_null(strstr(out, "chainloader"));
	assert_non_null(strstr(out, "GRUB reads kernels from the TFTP root only"));
	assert_int_equal(len, strlen(out));
	free(out);
	out = NULL;
	/* The image method: Drover's installer from the TFTP root, the provision URL
	 * quoted (GRUB would expand '?' as a wildcard). */
	assert_int_equal(create("host",
	                     "{\"name\": \"p2\", \"provision_method\": \"image\", "
	                     "\"interfaces\": [{\"mac\": \"52:54:00:00:00:09\"}]}",
	                     &err),
	    0);
	assert_int_equal(
	    provisioner_boot_file("grub/grub.cfg-01-52-54-00-00-00-09", &out, &len), 1);
	assert_non_null(strstr(out, "exit"));
	free(out);
	out = NULL;
	assert_int_equal(prov_host_build("p2", 0, "t", NULL, NULL, &err), 0);
	assert_int_equal(
	    provisioner_boot_file("grub/grub.cfg-01-52-54-00-00-00-09", &out, &len), 1);
	if (strstr(out, "  linux /drover-installer/vmlinuz 'url=http://") == NULL ||
	    strstr(out, "/unattended/provision?token=") == NULL ||
	    strstr(out, "' drover_mac=52:54:00:00:00:09 ") == NULL ||
	    strstr(out, "  initrd /drover-installer/initrd.img\n") == NULL)
		fail_msg("image host's grub.cfg:\n%s", out);
	(void)state;
}

static void
test_bmc_password_sealed(void **state)
{
	_cleanup_json_ json_t *h = NULL, *h2 = NULL, *upd = NULL, *shown = NULL;
	_cleanup_free_ char *plain = NULL;
	struct dr_error err;
	const char *stored;

	assert_int_equal(create("host",
	                     "{\"name\": \"b1\", \"interfaces\": [{\"mac\": "
	                     "\"52:54:00:00:00:31\"}, {\"type\": \"bmc\", \"provider\": "
	                     "\"ipmi\", \"ip\": \"198.18.1.1\", \"password\": \"s3cret\"}]}",
	                     &err),
	    0);
	h = get("host", "b1");
	stored = json_string_value(
	    json_object_get(json_array_get(json_object_get(h, "interfaces"), 1), "password"));
	assert_true(str_has_prefix(stored, "enc:v1:"));
	assert_null(strstr(stored, "s3cret"));
	plain = secret_open(stored);
	assert_string_equal(plain, "s3cret");
	assert_null(secret_open("enc:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	shown = prov_resource_present(prov_resource_find("host"), h);
	assert_null(
	    json_object_get(json_array_get(json_object_get(shown, "interfaces"), 1), "password"));
	/* Resent without the password (as shown): the stored one stays. */
	upd = json_pack("{s:O}", "interfaces", json_object_get(shown, "interfaces"));
	assert_int_equal(
	    prov_resource_update(prov_resource_find("host"), "b1", upd, "t", NULL, NULL, &err), 0);
	h2 = get("host", "b1");
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(h2, "interfaces"), 1), "password")),
	    stored);
	(void)state;
}

/* Whether text passes `sh -n` (dash's syntax check). */
static bool
sh_syntax_ok(const char *text)
{
	char path[] = "/tmp/drover-sh-XXXXXX";
	_cleanup_free_ char *cmd = NULL;
	int fd = mkstemp(path), r;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cmd = xasprintf("sh -n %s", path);
	r = system(cmd);
	unlink(path);
	return r == 0;
}

/* The image method: hostgroup-inherited image, Drover's installer in iPXE, the image
 * template with the image's URL and checksum (valid sh), and a clear failure while the
 * image is not ready; image fields checked. */
static void
test_image_method_renders(void **state)
{
	const struct prov_resource *ires = prov_resource_find("image");
	_cleanup_json_ json_t *h = NULL, *set = NULL, *img = NULL;
	_cleanup_free_ char *out = NULL, *ipxe = NULL, *notready = NULL;
	struct dr_error err;

	assert_int_equal(
	    create("image", "{\"name\": \"deb12\", \"suite\": \"bookworm\"}", &err), 0);
	assert_int_equal(create("image", "{\"name\": \"x y\"}", &err), PROV_E_INVALID);
	assert_non_null(strstr(err.msg, "name: ' ' is not allowed"));
	assert_int_equal(create("image", "{\"name\": \"m\", \"mirror\": \"http://a b\"}", &err),
	    PROV_E_INVALID);
	assert_non_null(strstr(err.msg, "mirror: "));
	assert_int_equal(
	    create("image", "{\"name\": \"p\", \"packages\": \"a,-b\"}", &err), PROV_E_INVALID);
	assert_non_null(strstr(err.msg, "packages: "));
	assert_int_equal(
	    create("image", "{\"name\": \"s\", \"status\": \"ready\"}", &err), PROV_E_INVALID);
	assert_int_equal(
	    create("image", "{\"name\": \"f\", \"format\": \"qcow2\"}", &err), PROV_E_INVALID);
	assert_int_equal(create("image",
	                     "{\"name\": \"u\", \"format\": \"tar\", \"source_url\": "
	                     "\"http://198.18.0.1/a.raw\"}",
	                     &err),
	    PROV_E_INVALID);
	assert_non_null(strstr(err.msg, "format: an image imported from source_url is a raw"));
	assert_int_equal(
	    create("image", "{\"name\": \"u\", \"source_url\": \"ftp://198.18.0.1/a.raw\"}", &err),
	    PROV_E_INVALID);
	assert_non_null(strstr(err.msg, "source_url: 'ftp://198.18.0.1/a.raw' is not an http://"));
	assert_int_equal(create("image",
	                     "{\"name\": \"u\", \"source_url\": \"http://198.18.0.1/a.raw\", "
	                     "\"source_sha256\": \"abc\"}",
	                     &err),
	    PROV_E_INVALID);
	assert_non_null(strstr(err.msg, "source_sha256: 'abc' is not 64 lower-case hex digits"));
	assert_int_equal(create("image", "{\"name\": \"v\", \"source_sha256\": \"abc\"}", &err),
	    PROV_E_INVALID);
	assert_non_null(strstr(err.msg, "source_sha256: only an image with a source_url"));
	assert_int_equal(create("hostgroup",
	                     "{\"name\": \"imaged\", \"parent\": \"base\", \"provision_method\": "
	                     "\"image\", \"image\": \"deb12\"}",
	                     &err),
	    0);
	assert_int_equal(create("host",
	                     "{\"name\": \"i1\", \"hostgroup\": \"imaged\", \"interfaces\": "
	                     "[{\"mac\": \"52:54:00:00:02:01\", \"ip\": \"198.18.0.41\"}]}",
	                     &err),
	    0);
	assert_int_equal(prov_host_build("i1", 0, "t", NULL, NULL, &err), 0);
	h = get("host", "i1");
	/* Not built yet: the script says so and posts failed. */
	assert_int_equal(prov_render_host(h, "provision", NULL, &notready, &err), 0);
	assert_non_null(strstr(notready, "fail \"image deb12 is not built, not ready\""));
	assert_null(strstr(notready, "/sbin/sfdisk -q"));
	img = get("image", "deb12");
	set = json_pack("{s:s, s:s, s:s}", "status", "ready", "sha256",
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "url",
	    "http://198.18.0.1:8080/images/deb12.tar");
	assert_int_equal(
	    prov_resource_set_internal(ires, json_integer_value(json_object_get(img, "id")), set,
	        "t", NULL, "built", &err),
	    0);
	if (prov_render_host(h, "provision", NULL, &out, &err) < 0)
		fail_msg("image provision: %s", err.msg);
	assert_non_null(strstr(out, "Image install of i1"));
	assert_non_null(strstr(out, "wget -q -O - 'http://198.18.0.1:8080/images/deb12.tar'"));
	assert_non_null(strstr(out, "= '0123456789abcdef0123456789abcdef0123456789abcdef0123"));
	assert_non_null(strstr(out, "extlinux --install /boot/extlinux"));
	/* UEFI (detected, or image_firmware=uefi): GPT with an EFI system partition, GRUB at
	 * the removable path, /boot/efi in fstab, a clear failure for an image without GRUB. */
	assert_non_null(strstr(out, "firmware=auto\n"));
	assert_non_null(strstr(out, "[ -d /sys/firmware/efi ]"));
	assert_non_null(strstr(out, "layout='label: gpt\\n,256M,U\\n,,L\\n'"));
	assert_non_null(strstr(out, "/sbin/mkfs.vfat -F 32"));
	assert_non_null(strstr(out, "grub-install --target=x86_64-efi --efi-directory=/boot/efi"));
	assert_non_null(strstr(out, "--removable --no-nvram"));
	/* Secure Boot when the image has shim-signed and grub-efi-amd64-signed (signed shim
	 * as BOOTX64.EFI, signed GRUB, grub.cfg at its prefix), else unsigned and said so. */
	assert_non_null(strstr(out, "[ -s /target/usr/lib/shim/shimx64.efi.signed ]"));
	assert_non_null(strstr(out, "--removable --no-nvram --uefi-secure-boot"));
	assert_non_null(strstr(out, "/target/boot/efi/EFI/debian/grub.cfg"));
	assert_non_null(strstr(out, "--removable --no-nvram --no-uefi-secure-boot"));
	assert_non_null(strstr(out, "this disk will not boot with Secure Boot enabled"));
	assert_non_null(strstr(out, "/boot/efi vfat umask=0077 0 2"));
	assert_non_null(strstr(out, "search --no-floppy --fs-uuid --set=root $uuid"));
	assert_non_null(strstr(out,
	    "image deb12 cannot boot UEFI: it has no $f (build it with "
	    "the packages grub-efi-amd64-bin, grub2-common and dosfstools"));
	assert_non_null(strstr(out, "/unattended/finish?token="));
	assert_non_null(strstr(out, "/unattended/failed?token="));
	/* user_data: fetched with the token, seeded for cloud-init with the host's instance id
	 * and name, run as a script without cloud-init, #cloud-config without it refused. */
	assert_non_null(strstr(out, "/unattended/user_data?token="));
	{
		_cleanup_free_ char *meta =
		    xasprintf("'instance-id: drover-%lld\\nlocal-hostname: "
		              "i1\\n'",
		        (long long)json_integer_value(json_object_get(h, "id")));
		assert_non_null(strstr(out, meta));
	}
	assert_non_null(strstr(out, "/target/var/lib/cloud/seed/nocloud/user-data"));
	assert_non_null(strstr(out, "datasource_list: [ NoCloud, None ]"));
	assert_non_null(strstr(out, "but image deb12 has no cloud-init (/usr/bin/cloud-init)"));
	assert_true(sh_syntax_ok(out));
	/* A raw image built by Drover: streamed onto the disk through zstd, checked, the
	 * partition that ends last grown, then the same boot loader steps on its layout. */
	json_decref(set);
	set = json_pack(
	    "{s:s, s:s}", "format", "raw", "url", "http://198.18.0.1:8080/images/deb12.raw.zst");
	assert_int_equal(
	    prov_resource_set_internal(ires, json_integer_value(json_object_get(img, "id")), set,
	        "t", NULL, "built", &err),
	    0);
	free(out);
	out = NULL;
	if (prov_render_host(h, "provision", NULL, &out, &err) < 0)
		fail_msg("raw image provision: %s", err.msg);
	assert_non_null(strstr(out, "wget -q -O - 'http://198.18.0.1:8080/images/deb12.raw.zst'"));
	assert_non_null(strstr(out, "/sbin/zstd -dc"));
	assert_non_null(strstr(out, "dd of=\"$disk\" bs=1M"));
	assert_non_null(strstr(out, "--relocate gpt-bak-std"));
	assert_non_null(strstr(out, "/sbin/resize2fs \"$last\""));
	assert_non_null(strstr(out, "esp=${p}1 part=${p}2"));
	/* The host's own file-system UUIDs, after the check and before fstab and GRUB name
	 * them. */
	{
		const char *tune = strstr(
		    out, "/sbin/tune2fs -U \"$(cat /proc/sys/kernel/random/uuid)\" \"$part\"");
		const char *fat = strstr(out,
		    "/sbin/fatlabel -i \"$esp\" \"$(cut -c1-8 /proc/sys/kernel/random/uuid)\"");

		assert_non_null(tune);
		assert_non_null(fat);
		assert_true(strstr(out, "/sbin/e2fsck -fy \"$last\"") < tune);
		assert_true(tune < strstr(out, "uuid=$(/sbin/blkid -s UUID -o value \"$part\")"));
		assert_true(fat < strstr(out, "espid=$(/sbin/blkid"));
		assert_true(tune < strstr(out, "> /target/etc/fstab"));
	}
	assert_non_null(strstr(out, "grub-install --target=x86_64-efi"));
	assert_non_null(strstr(out, "gptmbr.bin"));
	assert_null(strstr(out, "/sbin/tar -x"));
	assert_null(strstr(out, "layout="));
	assert_true(sh_syntax_ok(out));
	/* Imported (source_url): its own boot loader and fstab are kept. */
	json_decref(set);
	set = json_pack("{s:s}", "source_url", "http://198.18.0.1:8081/cloud.raw.xz");
	assert_int_equal(
	    prov_resource_set_internal(ires, json_integer_value(json_object_get(img, "id")), set,
	        "t", NULL, "built", &err),
	    0);
	free(out);
	out = NULL;
	if (prov_render_host(h, "provision", NULL, &out, &err) < 0)
		fail_msg("imported image provision: %s", err.msg);
	assert_non_null(strstr(out, "part=$last"));
	assert_null(strstr(out, "tune2fs")); /* its fstab names the image's UUIDs */
	assert_null(strstr(out, "grub-install"));
	assert_null(strstr(out, "extlinux --install"));
	assert_null(strstr(out, "/target/etc/fstab"));
	assert_non_null(strstr(out, "ssh-keygen -A"));
	assert_non_null(strstr(out, "/unattended/finish?token="));
	assert_true(sh_syntax_ok(out));
	assert_int_equal(prov_render_host(h, "iPXE", NULL, &ipxe, &err), 0);
	assert_non_null(strstr(ipxe,
	    "kernel http://198.18.0.1:8080/pxe/files/drover-installer/"
	    "vmlinuz initrd=initrd.img url=http://198.18.0.1:8080/"
	    "unattended/provision?token="));
	assert_non_null(strstr(ipxe, "drover_mac=52:54:00:00:02:01"));
	assert_non_null(strstr(ipxe,
	    "initrd --name initrd.img http://198.18.0.1:8080/pxe/files/"
	    "drover-installer/initrd.img"));
	/* In use: not deletable. */
	assert_int_equal(prov_resource_delete(ires, "deb12", "t", NULL, &err), PROV_E_CONFLICT);
	(void)state;
}

/* Seeded, locked templates follow releases on start while the store still has what Drover
 * seeded: an iPXE template of a store seeded before the image method (and before seeded
 * hashes were recorded) gets this release's text; one whose recorded hash matches too;
 * one an operator changed is kept. */
static void
test_seeded_templates_update(void **state)
{
	struct provisioner_opts o = {.url = "http://198.18.0.1:8080/"};
	const char *top = getenv("top_srcdir");
	_cleanup_free_ char *path =
	    xasprintf("%s/tests/fixtures/prov/ipxe-before-image.tmpl", top ? top : "..");
	_cleanup_free_ char *old = NULL;
	_cleanup_json_ json_t *in = json_pack("{s:s}", "template", "#!ipxe\n# mine\n");
	_cleanup_json_ json_t *fresh = get("provisioning_template", "Drover iPXE");
	struct dr_error err;
	json_t *t;

	assert_int_equal(file_read(path, 1 << 20, &old, NULL, &err), 0);
	assert_null(strstr(old, "image"));
	assert_non_null(strstr(json_string_value(json_object_get(fresh, "template")), "image"));
	/* A store of an earlier release: the older text, no hashes recorded. */
	assert_int_equal(store_execf(NULL, NULL, &err,
	                     "UPDATE prov_provisioning_templates SET data = json_set(data,"
	                     " '$.template', ?) WHERE name = 'Drover iPXE'",
	                     "[s]", old),
	    0);
	assert_int_equal(store_execf(NULL, NULL, &err,
	                     "UPDATE prov_provisioning_templates SET data = json_set(data,"
	                     " '$.template', 'an older release') WHERE name = ?",
	                     "[s]", "Drover PXELinux"),
	    0);
	assert_int_equal(store_execf(NULL, NULL, &err,
	                     "DELETE FROM prov_seeded WHERE name = 'Drover iPXE'", NULL),
	    0);
	/* A release that recorded the hash of the text it seeded PXELinux with. */
	assert_int_equal(
	    store_execf(NULL, NULL, &err,
	        "UPDATE prov_seeded SET sha256 = ? WHERE name = 'Drover PXELinux'", "[s]",
	        "8b0b5a8b1a8d0c8f0a4b0e4f2b8a2e3c7d7d9f0e1f2a3b4c5d6e7f8091a2b3c4"),
	    0);
	/* The operator's own finish template. */
	assert_int_equal(prov_resource_update(prov_resource_find("provisioning_template"),
	                     "Drover finish", in, "op", NULL, NULL, &err),
	    0);
	store_close();
	if (store_open(*state, &err) < 0 || provisioner_init(&o, &err) < 0)
		fail_msg("restart: %s", err.msg);
	t = get("provisioning_template", "Drover iPXE");
	assert_string_equal(json_string_value(json_object_get(t, "template")),
	    json_string_value(json_object_get(fresh, "template")));
	json_decref(t);
	/* PXELinux's text does not hash to what was recorded: someone changed it. */
	t = get("provisioning_template", "Drover PXELinux");
	assert_string_equal(json_string_value(json_object_get(t, "template")), "an older release");
	json_decref(t);
	t = get("provisioning_template", "Drover finish");
	assert_string_equal(json_string_value(json_object_get(t, "template")), "#!ipxe\n# mine\n");
	json_decref(t);
	/* When the recorded hash is that of the store's text, it follows the release. */
	assert_int_equal(
	    store_execf(NULL, NULL, &err,
	        "UPDATE prov_seeded SET sha256 = ? WHERE name = 'Drover PXELinux'", "[s]",
	        "a0caddd40ad44be6f113ebd371d3069ab028bb69414dacc3659afb7d824eb2b4"),
	    0); /* sha256("seeded once") */
	assert_int_equal(store_execf(NULL, NULL, &err,
	                     "UPDATE prov_provisioning_templates SET data = json_set(data,"
	                     " '$.template', 'seeded once') WHERE name = 'Drover PXELinux'",
	                     NULL),
	    0);
	store_close();
	if (store_open(*state, &err) < 0 || provisioner_init(&o, &err) < 0)
		fail_msg("restart: %s", err.msg);
	t = get("provisioning_template", "Drover PXELinux");
	assert_non_null(strstr(json_string_value(json_object_get(t, "template")), "LABEL"));
	json_decref(t);
	t = get("provisioning_template", "Drover finish");
	assert_string_equal(json_string_value(json_object_get(t, "template")), "#!ipxe\n# mine\n");
	json_decref(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_validation_names_the_field, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_references_and_conflicts, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_inheritance_and_parameter_precedence, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_build_tokens, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seeded_templates_render, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tftp_boot_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bmc_password_sealed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_image_method_renders, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seeded_templates_update, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
