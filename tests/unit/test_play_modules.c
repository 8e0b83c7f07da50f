/* test_play_modules.c - the text formats the package and host modules rewrite, against
 * what ansible-core's modules (and Python's ConfigParser) produce for the same input. */
#include "tests/unit/unit.h"

#include "playbooks/playbooks.h"

/* apt_repository normalizes every line: words joined by one space, "# " for disabled. */
static void
test_apt_sources_normalize(void **state)
{
	_cleanup_free_ char *out =
	    sources_apt_normalize("deb   http://x/debian  bookworm main  # mirror\n"
	                          "#deb-src http://x bookworm main\n"
	                          "\n"
	                          "#plain comment\n");

	(void)state;
	assert_string_equal(out,
	    "deb http://x/debian bookworm main # mirror\n"
	    "# deb-src http://x bookworm main\n"
	    "\n"
	    "# plain comment\n");
}

/* The default file name is the URI's host and path (user and password dropped). */
static void
test_apt_sources_filename(void **state)
{
	_cleanup_free_ char *a = sources_apt_filename(
	    "deb [signed-by=/k.gpg arch=amd64] http://user:pw@198.18.0.1:8089/apt bookworm main");
	_cleanup_free_ char *b =
	    sources_apt_filename("deb-src https://deb.debian.org/debian bookworm main");

	(void)state;
	assert_string_equal(a, "198_18_0_1_8089_apt");
	assert_string_equal(b, "deb_debian_org_debian");
}

/* .repo files: ConfigParser's reading (keys lower-cased, ':' and '=', continuation lines,
 * comments dropped), yum_repository's sorted dump, ConfigParser's write. */
static void
test_repo_ini(void **state)
{
	_cleanup_json_ json_t *ini =
	    sources_ini_parse("[b]\nname = B\nbaseurl = http://a\n\thttp://b\n; "
	                      "comment\n[a]\nGPGcheck=0\nname: A\n");
	_cleanup_free_ char *dump = sources_ini_dump(ini), *text = sources_ini_write(ini);

	(void)state;
	assert_string_equal(dump,
	    "[a]\ngpgcheck = 0\nname = A\n\n[b]\nbaseurl = http://a\n"
	    "http://b\nname = B\n\n");
	assert_string_equal(text,
	    "[b]\nname = B\nbaseurl = http://a\n\thttp://b\n\n[a]\n"
	    "gpgcheck = 0\nname = A\n\n");
}

/* fstab: an entry added, changed in place, left alone when equal, removed. */
static void
test_fstab_edit(void **state)
{
	static const char fstab[] = "# comment\nUUID=1 / ext4 defaults 0 1\n"
	                            "tmpfs /mnt/a\\040b tmpfs size=1m\n";
	_cleanup_free_ char *path = hostconf_fstab_escape("/mnt/a b");
	const char *set[6] = {"tmpfs", path, "tmpfs", "size=2m", "0", "0"};
	const char *same[6] = {"tmpfs", path, "tmpfs", "size=1m", "0", "0"};
	bool changed;

	(void)state;
	assert_string_equal(path, "/mnt/a\\040b");
	_cleanup_free_ char *a = hostconf_fstab_edit(fstab, set, "/mnt/a b", &changed);
	assert_true(changed);
	assert_string_equal(a,
	    "# comment\nUUID=1 / ext4 defaults 0 1\n"
	    "tmpfs /mnt/a\\040b tmpfs size=2m 0 0\n");
	/* four fields: dump and passno default to 0, so this is the same entry */
	_cleanup_free_ char *b = hostconf_fstab_edit(fstab, same, "/mnt/a b", &changed);
	assert_false(changed);
	assert_string_equal(b, fstab);
	const char *other[6] = {"/dev/sdb1", "/srv", "xfs", "defaults", "0", "0"};
	_cleanup_free_ char *c = hostconf_fstab_edit(a, other, "/srv", &changed);
	assert_true(changed);
	assert_true(str_has_suffix(c, "/dev/sdb1 /srv xfs defaults 0 0\n"));
	_cleanup_free_ char *d = hostconf_fstab_edit(a, NULL, "/mnt/a b", &changed);
	assert_true(changed);
	assert_string_equal(d, "# comment\nUUID=1 / ext4 defaults 0 1\n");
}

/* Every new module is in the table with a spec the argument checker accepts. */
static void
test_module_table(void **state)
{
	static const char *const names[] = {"apt", "dnf", "package", "systemd", "service",
	    "apt_repository", "apt_key", "yum_repository", "modprobe", "mount", "timezone",
	    "cron"};
	struct dr_error err = {0};
	json_t *out = NULL;

	(void)state;
	for (size_t i = 0; i < nitems(names); i++)
		assert_non_null(module_find(names[i]));
	assert_string_equal(playbook_action_name("ansible.builtin.yum"), "dnf");
	assert_string_equal(playbook_action_name("ansible.builtin.systemd_service"), "systemd");
	assert_string_equal(playbook_action_name("community.general.modprobe"), "modprobe");
	assert_string_equal(playbook_action_name("ansible.posix.mount"), "mount");
	json_t *args = json_pack("{s:s,s:s}", "name", "hello=1.0*", "state", "sideways");
	assert_int_equal(module_args_check(module_find("apt"), args, &out, &err), -1);
	assert_non_null(strstr(err.msg, "value of state must be one of"));
	json_decref(args);
	args = json_pack("{s:s,s:s}", "name", "x", "special_time", "daily");
	assert_int_equal(module_args_check(module_find("cron"), args, &out, &err), 0);
	assert_string_equal(json_string_value(json_object_get(out, "minute")), "*");
	json_decref(out);
	json_decref(args);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_apt_sources_normalize),
	    cmocka_unit_test(test_apt_sources_filename),
	    cmocka_unit_test(test_repo_ini),
	    cmocka_unit_test(test_fstab_edit),
	    cmocka_unit_test(test_module_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
