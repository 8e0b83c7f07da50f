/* test_prov_compute.c - VMs for hosts on libvirt's in-process test:///default driver:
 * created with a network-first boot order, powered, rebuilt, deleted with their volumes,
 * and a host creation rolled back when its VM cannot be made. */
#include "tests/unit/unit.h"

#include "provisioner/provisioner.h"

static int
setup(void **state)
{
	struct provisioner_opts o = {.url = "http://198.18.0.1:8080"};
	struct dr_error err;
	char *dir = unit_dir_make("compute");
	_cleanup_json_ json_t *cr = json_pack(
	    "{s:s, s:s, s:s}", "name", "lab", "provider", "libvirt", "url", "test:///default");

	store_register_clear();
	provisioner_register();
	if (store_open(dir, &err) < 0 || provisioner_init(&o, &err) < 0 ||
	    prov_resource_create(
	        prov_resource_find("compute_resource"), cr, "t", NULL, NULL, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	*state = dir;
	return 0;
}

static int
teardown(void **state)
{
	prov_compute_close();
	store_close();
	unit_dir_remove(*state);
	return 0;
}

static void
test_vm_lifecycle(void **state)
{
	_cleanup_json_ json_t *in = json_pack("{s:s, s:s, s:{s:s, s:s, s:i, s:i}}", "name", "vm1",
	    "compute_resource", "lab", "compute_attributes", "pool", "default-pool", "network",
	    "default", "memory_mb", 256, "cpus", 2);
	_cleanup_json_ json_t *host = NULL;
	struct dr_error err;
	char *st = NULL;
	const char *mac;
	int64_t id;

	if (prov_host_create(in, "t", NULL, &id, &err) < 0)
		fail_msg("%s", err.msg);
	host = prov_resource_get(prov_resource_find("host"), "vm1");
	mac = json_string_value(
	    json_object_get(json_array_get(json_object_get(host, "interfaces"), 0), "mac"));
	assert_non_null(mac); /* the MAC libvirt chose became the host's */
	assert_true(str_has_prefix(mac, "52:54:00:"));
	assert_int_equal(prov_power("vm1", "status", &st, &err), 0);
	assert_string_equal(st, "off");
	free(st);
	assert_int_equal(prov_power("vm1", "on", &st, &err), 0);
	assert_string_equal(st, "on");
	free(st);
	assert_int_equal(prov_power("vm1", "off", &st, &err), 0);
	assert_string_equal(st, "off");
	free(st);
	assert_int_equal(prov_power("vm1", "reboot-now", &st, &err), PROV_E_INVALID);
	/* Build power-cycles the VM into its network boot. */
	assert_int_equal(prov_host_build_boot("vm1", 0, false, "t", NULL, &err), 0);
	assert_int_equal(prov_power("vm1", "status", &st, &err), 0);
	assert_string_equal(st, "on");
	free(st);
	/* A second host of the same name cannot get a VM. */
	assert_int_equal(prov_host_delete("vm1", "t", NULL, &err), 0);
	assert_int_equal(prov_power("vm1", "status", &st, &err), PROV_E_NOTFOUND);
	/* The name is free again on the hypervisor too. */
	if (prov_host_create(in, "t", NULL, &id, &err) < 0)
		fail_msg("again: %s", err.msg);
	(void)state;
}

static void
test_create_rolls_back(void **state)
{
	_cleanup_json_ json_t *in = json_pack("{s:s, s:s, s:{s:s}}", "name", "vm2",
	    "compute_resource", "lab", "compute_attributes", "pool", "no-such-pool");
	_cleanup_json_ json_t *bad = json_pack("{s:s, s:s, s:{s:s}}", "name", "vm3",
	    "compute_resource", "lab", "compute_attributes", "memory_mb", "lots");
	_cleanup_json_ json_t *h = NULL;
	struct dr_error err;

	assert_int_equal(prov_host_create(in, "t", NULL, NULL, &err), PROV_E_INVALID);
	assert_non_null(strstr(err.msg, "compute_attributes.pool: test:///default:"));
	h = prov_resource_get(prov_resource_find("host"), "vm2");
	assert_null(h);
	assert_int_equal(prov_host_create(bad, "t", NULL, NULL, &err), PROV_E_INVALID);
	assert_string_equal(
	    err.msg, "compute_attributes.memory_mb: expected a number from 64 to 4194304");
	(void)state;
}

static void
test_power_without_backend(void **state)
{
	_cleanup_json_ json_t *in = json_pack(
	    "{s:s, s:[{s:s}]}", "name", "bare", "interfaces", "mac", "52:54:00:00:00:42");
	struct dr_error err;
	char *st = NULL;

	assert_int_equal(prov_host_create(in, "t", NULL, NULL, &err), 0);
	assert_int_equal(prov_power("bare", "on", &st, &err), PROV_E_INVALID);
	assert_string_equal(
	    err.msg, "host bare has neither a compute resource nor a BMC interface");
	/* Build with reboot needs a power path; the build is cancelled again. */
	assert_int_equal(prov_host_build_boot("bare", 0, true, "t", NULL, &err), PROV_E_INVALID);
	{
		_cleanup_json_ json_t *h = prov_resource_get(prov_resource_find("host"), "bare");
		assert_false(json_is_true(json_object_get(h, "build")));
	}
	(void)state;
}

/* A hypervisor described by a node file (libvirt's test driver reads pools with their
 * volumes and networks from it): two pools, an image, a NAT and an isolated network. */
static const char node_xml[] =
    "<node>"
    "<network><name>lab-net</name><bridge name='virbr9'/><forward mode='nat'/>"
    "<ip address='198.18.9.1' netmask='255.255.255.0'><dhcp>"
    "<range start='198.18.9.100' end='198.18.9.199'/></dhcp></ip></network>"
    "<network><name>isolated</name><bridge name='virbr8'/></network>"
    "<pool type='dir'><name>images</name><capacity unit='G'>100</capacity>"
    "<allocation unit='G'>2</allocation><available unit='G'>98</available>"
    "<target><path>/images</path></target>"
    "<volume type='file'><name>debian12.qcow2</name><capacity unit='G'>2</capacity>"
    "<allocation unit='G'>1</allocation><target><format type='qcow2'/></target></volume>"
    "</pool>"
    "<pool type='dir'><name>vms</name><capacity unit='G'>100</capacity>"
    "<allocation unit='G'>0</allocation><available unit='G'>100</available>"
    "<target><path>/vms</path></target></pool>"
    "</node>";

/* The row of list whose key is value, or NULL. */
static json_t *
row_find(json_t *list, const char *key, const char *value)
{
	size_t i;
	json_t *r;

	json_array_foreach(list, i,
	    r) if (strcmp(json_string_value(json_object_get(r, key)), value) == 0) return r;
	return NULL;
}

static void
test_images_networks(void **state)
{
	_cleanup_free_ char *path = xasprintf("%s/node.xml", (char *)*state);
	_cleanup_free_ char *url = xasprintf("test://%s", path);
	_cleanup_json_ json_t *cr =
	    json_pack("{s:s, s:s, s:s}", "name", "node", "provider", "libvirt", "url", url);
	_cleanup_json_ json_t *imgs = NULL, *nets = NULL, *after = NULL;
	_cleanup_json_ json_t *vm = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:i}}", "name",
	    "vm-img", "compute_resource", "node", "compute_attributes", "image",
	    "images/debian12.qcow2", "pool", "vms", "network", "lab-net", "disk_gb", 0);
	const struct prov_compute_backend *b;
	struct dr_error err;
	json_t *r;

	assert_int_equal(file_write_atomic(path, node_xml, strlen(node_xml), 0644, &err), 0);
	if (prov_resource_create(
	        prov_resource_find("compute_resource"), cr, "t", NULL, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_non_null(b = prov_compute_backend(cr));
	if (b->images(cr, &imgs, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(json_array_size(imgs), 1);
	r = json_array_get(imgs, 0);
	assert_string_equal(json_string_value(json_object_get(r, "id")), "images/debian12.qcow2");
	assert_string_equal(json_string_value(json_object_get(r, "pool")), "images");
	assert_string_equal(
	    json_string_value(json_object_get(r, "path")), "/images/debian12.qcow2");
	assert_string_equal(json_string_value(json_object_get(r, "format")), "qcow2");
	assert_int_equal(json_integer_value(json_object_get(r, "capacity")), 2LL << 30);
	if (b->networks(cr, &nets, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(json_array_size(nets), 2);
	assert_non_null(r = row_find(nets, "name", "lab-net"));
	assert_string_equal(json_string_value(json_object_get(r, "bridge")), "virbr9");
	assert_string_equal(json_string_value(json_object_get(r, "forward_mode")), "nat");
	assert_true(json_is_true(json_object_get(r, "active")));
	assert_string_equal(json_string_value(json_object_get(r, "dhcp_start")), "198.18.9.100");
	assert_string_equal(json_string_value(json_object_get(r, "dhcp_end")), "198.18.9.199");
	assert_non_null(r = row_find(nets, "name", "isolated"));
	assert_string_equal(json_string_value(json_object_get(r, "forward_mode")), "isolated");
	assert_true(json_is_null(json_object_get(r, "dhcp_start")));

	/* A VM on that network whose disk is an overlay of the image, as large as it. */
	if (prov_host_create(vm, "t", NULL, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(b->images(cr, &after, &err), 0);
	assert_non_null(r = row_find(after, "id", "vms/vm-img-disk0.qcow2"));
	assert_int_equal(json_integer_value(json_object_get(r, "capacity")), 2LL << 30);
	assert_string_equal(json_string_value(json_object_get(r, "format")), "qcow2");

	/* Unknown names are refused naming the attribute; nothing is left behind. */
	json_object_set_new(vm, "name", json_string("vm-bad"));
	json_object_set_new(
	    json_object_get(vm, "compute_attributes"), "image", json_string("images/nope.qcow2"));
	assert_int_equal(prov_host_create(vm, "t", NULL, NULL, &err), PROV_E_INVALID);
	{
		_cleanup_free_ char *want = xasprintf(
		    "compute_attributes.image: %s: no volume 'nope.qcow2' in pool 'images'", url);
		assert_string_equal(err.msg, want);
	}
	json_object_set_new(json_object_get(vm, "compute_attributes"), "image",
	    json_string("debian12.qcow2")); /* not in pool vms */
	assert_int_equal(prov_host_create(vm, "t", NULL, NULL, &err), PROV_E_INVALID);
	assert_non_null(strstr(err.msg, "no volume 'debian12.qcow2' in pool 'vms'"));
	json_object_set_new(json_object_get(vm, "compute_attributes"), "image",
	    json_string("/images/debian12.qcow2")); /* by path */
	json_object_set_new(
	    json_object_get(vm, "compute_attributes"), "network", json_string("no-net"));
	assert_int_equal(prov_host_create(vm, "t", NULL, NULL, &err), PROV_E_INVALID);
	{
		_cleanup_free_ char *want =
		    xasprintf("compute_attributes.network: %s: no network 'no-net'", url);
		assert_string_equal(err.msg, want);
	}
	assert_null(prov_resource_get(prov_resource_find("host"), "vm-bad"));
	json_object_set_new(
	    json_object_get(vm, "compute_attributes"), "network", json_string("isolated"));
	if (prov_host_create(vm, "t", NULL, NULL, &err) < 0)
		fail_msg("by path: %s", err.msg);
	json_decref(after);
	assert_int_equal(b->images(cr, &after, &err), 0);
	assert_non_null(row_find(after, "id", "vms/vm-bad-disk0.qcow2"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_vm_lifecycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_rolls_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_power_without_backend, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_images_networks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
