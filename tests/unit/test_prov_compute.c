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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_vm_lifecycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_rolls_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_power_without_backend, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
