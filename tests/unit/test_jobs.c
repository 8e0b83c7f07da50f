/* test_jobs.c - jobs/: package profile parsing, droverd's SSH identity, host selection by
 * search and hostgroup, SSH host keys, the playbook library's versions, git playbook specs. */
#include "tests/unit/unit.h"

#include <sys/stat.h>

#include "jobs/jobs.h"
#include "provisioner/provisioner.h"

static const char dpkg_out[] = "format\tapt\n"
                               "fingerprint\t1700000000.1234\n"
                               "dpkg\tii \thello\t1.0-1\tall\n"
                               "dpkg\trc \tgone\t2.0\tamd64\n"
                               "dpkg\tii \tlibc6\t2.36-9+deb12u4\tamd64\n"
                               "reboot\t1\n";

/* dpkg lines: installed packages only, Debian versions whole, the reboot flag. */
static void
test_profile_dpkg(void **state)
{
	_cleanup_json_ json_t *p = NULL;
	struct dr_error err;

	assert_int_equal(jobs_profile_parse(dpkg_out, strlen(dpkg_out), &p, &err), 0);
	assert_string_equal(json_string_value(json_object_get(p, "format")), "apt");
	assert_string_equal(
	    json_string_value(json_object_get(p, "fingerprint")), "1700000000.1234");
	assert_true(json_is_true(json_object_get(p, "reboot_required")));
	json_t *pk = json_object_get(p, "packages");
	assert_int_equal(json_array_size(pk), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(pk, 1), "version")),
	    "2.36-9+deb12u4");
	assert_null(json_object_get(json_array_get(pk, 0), "epoch"));
}

/* rpm lines: epoch (0 dropped) and release apart; "unchanged" has no package list. */
static void
test_profile_rpm(void **state)
{
	static const char out[] = "format\tyum\nfingerprint\t1.2 \n"
	                          "pkg\tbash\t0\t5.1.8\t6.el9\tx86_64\n"
	                          "pkg\tshim\t2\t15.8\t3\tx86_64\nreboot\t0\n";
	static const char same[] = "format\tyum\nfingerprint\t1.2 \nunchanged\nreboot\t0\n";
	_cleanup_json_ json_t *p = NULL, *q = NULL;
	struct dr_error err;

	assert_int_equal(jobs_profile_parse(out, strlen(out), &p, &err), 0);
	json_t *pk = json_object_get(p, "packages");
	assert_int_equal(json_array_size(pk), 2);
	assert_null(json_object_get(json_array_get(pk, 0), "epoch"));
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(pk, 1), "epoch")), "2");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(pk, 1), "release")), "3");
	assert_false(json_is_true(json_object_get(p, "reboot_required")));
	assert_int_equal(jobs_profile_parse(same, strlen(same), &q, &err), 0);
	assert_true(json_is_true(json_object_get(q, "unchanged")));
	assert_null(json_object_get(q, "packages"));
}

/* Output that is not the script's is refused, naming the line. */
static void
test_profile_bad(void **state)
{
	static const char junk[] = "format\tapt\nfingerprint\tx\n<html>\nreboot\t0\n";
	static const char cut[] = "format\tapt\ndpkg\tii \thello\t1.0\tall\n";
	json_t *p = NULL;
	struct dr_error err;

	assert_int_equal(jobs_profile_parse(junk, strlen(junk), &p, &err), -1);
	assert_string_equal(err.msg, "profile: line 3 is not what the script prints");
	assert_int_equal(jobs_profile_parse(cut, strlen(cut), &p, &err), -1);
	assert_string_equal(err.msg, "profile: the script's output is incomplete");
	assert_null(p);
}

/* A dpkg status file as dpkg writes it: sorted, Multi-Arch same twice, Architecture all,
 * held, half-installed, unpacked, config-files, marked for removal, and a description
 * line that looks like a field. */
static const char dpkg_status[] =
    "Package: base-files\nStatus: install ok installed\nPriority: required\n"
    "Maintainer: M <m@example.org>\nArchitecture: amd64\nVersion: 12.4\n"
    "Description: base\n a continuation line with\n Package: fake\n .\n\n"
    "Package: gone\nStatus: deinstall ok config-files\nMaintainer: M <m@example.org>\n"
    "Architecture: amd64\nVersion: 1.0\nConffiles:\n /etc/gone.conf 0123\n"
    "Description: gone\n\n"
    "Package: half\nStatus: install reinstreq half-installed\n"
    "Maintainer: M <m@example.org>\nArchitecture: amd64\nVersion: 2.0\nDescription: h\n\n"
    "Package: held\nStatus: hold ok installed\nMaintainer: M <m@example.org>\n"
    "Architecture: all\nVersion: 1:3.0-1\nDescription: h\n\n"
    "Package: libc6\nStatus: install ok installed\nMaintainer: M <m@example.org>\n"
    "Architecture: amd64\nMulti-Arch: same\nSource: glibc (2.36-9)\n"
    "Version: 2.36-9+deb12u4\nDescription: c\n\n"
    "Package: libc6\nStatus: install ok installed\nMaintainer: M <m@example.org>\n"
    "Architecture: i386\nMulti-Arch: same\nSource: glibc (2.36-9)\n"
    "Version: 2.36-9+deb12u4\nDescription: c\n\n"
    "Package: removing\nStatus: deinstall ok installed\nMaintainer: M <m@example.org>\n"
    "Architecture: amd64\nVersion: 1.0\nDescription: r\n\n"
    "Package: unpacked\nStatus: install ok unpacked\nMaintainer: M <m@example.org>\n"
    "Architecture: amd64\nVersion: 1.1\nDescription: u\n\n"
    "Package: zz-all\nStatus: install ok installed\nMaintainer: M <m@example.org>\n"
    "Architecture: all\nVersion: 0.1\nDescription: z\n";

/* Run the profile script with dpkg's admin directory dir; its parsed profile. */
static json_t *
profile_run(const char *tmp, const char *dir, bool *listed_by_dpkg_query)
{
	_cleanup_free_ char *sh = xasprintf("%s/profile.sh", tmp);
	_cleanup_free_ char *text = xasprintf("dpkg_dir='%s'\n%s", dir, jobs_profile_script());
	_cleanup_free_ char *cmd = xasprintf("sh %s", sh);
	struct buf out = BUF_INIT(0);
	struct dr_error err;
	json_t *p = NULL;
	char chunk[65536];
	size_t n;
	FILE *f;

	assert_int_equal(file_write_atomic(sh, text, strlen(text), 0600, &err), 0);
	assert_non_null(f = popen(cmd, "r"));
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&out, chunk, n);
	assert_int_equal(pclose(f), 0);
	*listed_by_dpkg_query = out.len > 0 && strstr(out.data, "\ndpkg\t") != NULL;
	if (jobs_profile_parse(out.data ? out.data : "", out.len, &p, &err) < 0)
		fail_msg("%s", err.msg);
	buf_free(&out);
	return p;
}

/*
 * The status file's four fields (what the script prints) give exactly the packages
 * dpkg-query -W lists (what it printed before, and still prints while dpkg's journal holds
 * entries): on a status file with every state, then on this machine's own.
 */
static void
test_profile_dpkg_status(void **state)
{
	if (system("command -v dpkg-query >/dev/null 2>&1") != 0)
		skip();
	static const char *const want[][3] = {{"base-files", "12.4", "amd64"},
	    {"held", "1:3.0-1", "all"}, {"libc6", "2.36-9+deb12u4", "amd64"},
	    {"libc6", "2.36-9+deb12u4", "i386"}, {"zz-all", "0.1", "all"}};
	char *tmp = unit_dir_make("jobs-dpkg");
	_cleanup_free_ char *status = xasprintf("%s/status", tmp);
	_cleanup_free_ char *upd = xasprintf("%s/updates", tmp);
	_cleanup_free_ char *journal = xasprintf("%s/updates/0001", tmp);
	_cleanup_free_ char *copy = NULL;
	struct dr_error err;
	bool by_query;
	size_t i;

	for (int round = 0; round < 2; round++) {
		if (round == 0)
			assert_int_equal(file_write_atomic(
			                     status, dpkg_status, strlen(dpkg_status), 0644, &err),
			    0);
		else {
			assert_int_equal(
			    file_read("/var/lib/dpkg/status", 1 << 30, &copy, &i, &err), 0);
			assert_int_equal(file_write_atomic(status, copy, i, 0644, &err), 0);
		}
		(void)unlink(journal);
		(void)rmdir(upd);
		_cleanup_json_ json_t *grep = profile_run(tmp, tmp, &by_query);
		assert_false(by_query);
		/* An (empty) journal entry: dpkg-query lists. */
		assert_int_equal(mkdir(upd, 0755), 0);
		assert_int_equal(file_write_atomic(journal, "", 0, 0644, &err), 0);
		_cleanup_json_ json_t *query = profile_run(tmp, tmp, &by_query);
		assert_true(by_query);
		const json_t *a = json_object_get(grep, "packages");
		const json_t *b = json_object_get(query, "packages");
		if (!json_equal(a, b)) {
			_cleanup_free_ char *ta = json_dumps(a, JSON_COMPACT);
			_cleanup_free_ char *tb = json_dumps(b, JSON_COMPACT);
			fail_msg("status file %d:\ngrep:        %.2000s\ndpkg-query: %.2000s",
			    round, ta, tb);
		}
		if (round == 1) {
			assert_true(json_array_size(a) > 10);
			continue;
		}
		assert_int_equal(json_array_size(a), nitems(want));
		for (i = 0; i < nitems(want); i++) {
			const json_t *p = json_array_get(a, i);
			assert_string_equal(
			    json_string_value(json_object_get(p, "name")), want[i][0]);
			assert_string_equal(
			    json_string_value(json_object_get(p, "version")), want[i][1]);
			assert_string_equal(
			    json_string_value(json_object_get(p, "arch")), want[i][2]);
		}
	}
	unlink(journal);
	rmdir(upd);
	unlink(status);
	_cleanup_free_ char *sh = xasprintf("%s/profile.sh", tmp);
	unlink(sh);
	unit_dir_remove(tmp);
}

/*
 * Hosts listing the same packages share one parse: the second host's profile has the
 * first's packages (the same array) with its own fingerprint and reboot flag; a listing
 * that differs in one byte is parsed on its own.
 */
static void
test_profile_shared(void **state)
{
	struct buf list = BUF_INIT(0);
	_cleanup_json_ json_t *a = NULL, *b = NULL, *c = NULL;
	struct dr_error err;

	for (int i = 0; i < 200; i++)
		buf_addf(&list,
		    "Package: pkg%03d\nStatus: install ok installed\nArchitecture: amd64\n"
		    "Version: 1.%d\n",
		    i, i);
	_cleanup_free_ char *one =
	    xasprintf("format\tapt\nfingerprint\t1.1\n%sreboot\t0\n", list.data);
	_cleanup_free_ char *two =
	    xasprintf("format\tapt\nfingerprint\t2.2\n%sreboot\t1\n", list.data);
	list.data[list.len - 3] = '0'; /* pkg199's version 1.199 -> 1.109 */
	_cleanup_free_ char *three =
	    xasprintf("format\tapt\nfingerprint\t3.3\n%sreboot\t0\n", list.data);
	buf_free(&list);

	assert_int_equal(jobs_profile_parse(one, strlen(one), &a, &err), 0);
	assert_int_equal(jobs_profile_parse(two, strlen(two), &b, &err), 0);
	assert_int_equal(jobs_profile_parse(three, strlen(three), &c, &err), 0);
	assert_int_equal(json_array_size(json_object_get(a, "packages")), 200);
	assert_ptr_equal(json_object_get(a, "packages"), json_object_get(b, "packages"));
	assert_string_equal(json_string_value(json_object_get(b, "fingerprint")), "2.2");
	assert_true(json_is_true(json_object_get(b, "reboot_required")));
	assert_false(json_is_true(json_object_get(a, "reboot_required")));
	assert_ptr_not_equal(json_object_get(a, "packages"), json_object_get(c, "packages"));
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(c, "packages"), 199), "version")),
	    "1.109");
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(b, "packages"), 199), "version")),
	    "1.199");
}

/* The key is made once (0600), loaded again unchanged, and refused when others can read
 * it. */
static void
test_identity(void **state)
{
	char *dir = unit_dir_make("jobs-id");
	_cleanup_free_ char *key = xasprintf("%s/ssh/id_ed25519", dir);
	_cleanup_free_ char *pub = xasprintf("%s.pub", key), *first = NULL;
	_cleanup_free_ char *sshdir = xasprintf("%s/ssh", dir);
	struct dr_error err;
	struct stat st;

	assert_int_equal(jobs_identity_init(dir, &err), 0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(str_has_prefix(jobs_identity_public(), "ssh-ed25519 AAAA"));
	assert_string_equal(jobs_identity_path(), key);
	first = xstrdup(jobs_identity_public());
	assert_int_equal(jobs_identity_init(dir, &err), 0);
	assert_string_equal(jobs_identity_public(), first);
	unlink(pub);
	assert_int_equal(jobs_identity_init(dir, &err), 0);
	assert_true(str_has_prefix(jobs_identity_public(), first));
	chmod(key, 0644);
	assert_int_equal(jobs_identity_init(dir, &err), -1);
	assert_non_null(strstr(err.msg, "readable by others"));
	unlink(key);
	unlink(pub);
	rmdir(sshdir);
	unit_dir_remove(dir);
}

static char *store_dir;

/* A store with the provisioner's and jobs' tables, three hosts in two hostgroups. */
static int
setup_store(void **state)
{
	const struct prov_resource *h = prov_resource_find("host");
	const struct prov_resource *g = prov_resource_find("hostgroup");
	struct dr_error err;
	int64_t id;

	store_dir = unit_dir_make("jobs-store");
	store_register_clear();
	job_init();
	provisioner_register();
	jobs_register();
	if (store_open(store_dir, &err) < 0)
		return -1;
	json_t *in = json_pack("{s:s}", "name", "k8s");
	prov_resource_create(g, in, "t", NULL, &id, &err);
	json_decref(in);
	in = json_pack("{s:s, s:s}", "name", "workers", "parent", "k8s");
	prov_resource_create(g, in, "t", NULL, &id, &err);
	json_decref(in);
	static const char *const hosts[][3] = {{"web1", "198.18.9.1", NULL},
	    {"web2", "198.18.9.2", "workers"}, {"db1", "198.18.9.3", "k8s"}};
	for (size_t i = 0; i < nitems(hosts); i++) {
		in = json_pack("{s:s, s:[{s:s, s:s}]}", "name", hosts[i][0], "interfaces", "ip",
		    hosts[i][1], "mac",
		    i == 0       ? "52:54:00:00:09:01"
		        : i == 1 ? "52:54:00:00:09:02"
		                 : "52:54:00:00:09:03");
		if (hosts[i][2] != NULL)
			json_object_set_new(in, "hostgroup", json_string(hosts[i][2]));
		if (prov_resource_create(h, in, "t", NULL, &id, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			json_decref(in);
			return -1;
		}
		json_decref(in);
	}
	return 0;
}

static int
teardown_store(void **state)
{
	store_close();
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", store_dir);
	assert_int_equal(system(cmd), 0);
	free(store_dir);
	return 0;
}

/* Names of a selection's targets, comma-joined. */
static char *
select_names(const char *search, const char *hostgroup, struct dr_error *err)
{
	_cleanup_json_ json_t *sel = json_object(), *t = NULL;
	struct buf b = BUF_INIT(0);
	size_t i;
	json_t *x;

	if (search)
		json_object_set_new(sel, "search", json_string(search));
	if (hostgroup)
		json_object_set_new(sel, "hostgroup", json_string(hostgroup));
	if (jobs_targets_select(sel, &t, err) < 0)
		return NULL;
	buf_adds(&b, "");
	json_array_foreach(t, i, x)
	    buf_addf(&b, "%s%s", i ? "," : "", json_string_value(json_object_get(x, "name")));
	return buf_steal(&b);
}

/* Search, hostgroup (with its children), addresses and the SSH defaults. */
static void
test_targets(void **state)
{
	struct dr_error err;
	_cleanup_free_ char *a = select_names("name ~ web", NULL, &err);
	_cleanup_free_ char *b = select_names(NULL, "k8s", &err);
	_cleanup_free_ char *c = select_names(NULL, "workers", &err);
	_cleanup_free_ char *d = select_names("name = db1 or ip = 198.18.9.1", NULL, &err);
	_cleanup_json_ json_t *sel = json_pack("{s:[s]}", "hosts", "web2"), *t = NULL;

	assert_string_equal(a, "web1,web2");
	assert_string_equal(b, "db1,web2");
	assert_string_equal(c, "web2");
	assert_string_equal(d, "db1,web1");
	assert_null(select_names("nosuch = 1", NULL, &err));
	assert_non_null(strstr(err.msg, "search"));
	assert_int_equal(jobs_targets_select(sel, &t, &err), 0);
	json_t *w = json_array_get(t, 0);
	assert_string_equal(json_string_value(json_object_get(w, "address")), "198.18.9.2");
	assert_int_equal(json_integer_value(json_object_get(w, "port")), 22);
	assert_string_equal(json_string_value(json_object_get(w, "user")), "root");
	assert_false(json_is_true(json_object_get(w, "accept_new")));
}

/* Host keys are checked with libssh; accept-new is per host and off by default. */
static void
test_host_ssh(void **state)
{
	static const char key[] =
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICGRRqA3r093guuhBKt0vhaCX+sJIsVsMzbvm0z6Kee6 c";
	_cleanup_json_ json_t *out = NULL, *out2 = NULL;
	struct dr_error err;

	assert_int_equal(
	    jobs_host_ssh_set("web1", "ssh-ed25519 AAAA!!", -1, "t", NULL, NULL, &err), -422);
	assert_non_null(strstr(err.msg, "line 1 is not an OpenSSH public key"));
	assert_int_equal(jobs_host_ssh_set("nosuch", key, -1, "t", NULL, NULL, &err), -404);
	assert_int_equal(jobs_host_ssh_set("web1", key, -1, "t", NULL, &out, &err), 0);
	assert_string_equal(json_string_value(json_object_get(out, "ssh_host_keys")),
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICGRRqA3r093guuhBKt0vhaCX+sJIsVsMzbvm0z6Kee6\n");
	assert_false(json_is_true(json_object_get(out, "ssh_accept_new")));
	assert_int_equal(jobs_host_ssh_set("web1", NULL, 1, "t", NULL, &out2, &err), 0);
	assert_true(json_is_true(json_object_get(out2, "ssh_accept_new")));
}

/* Versions: a changed text is a new version, the same text is not; a bad playbook is
 * refused with file:line. */
static void
test_library(void **state)
{
	static const char v1[] = "- hosts: all\n  tasks:\n    - ping:\n";
	static const char v2[] = "- hosts: all\n  tasks:\n    - ping:\n    - ping:\n";
	_cleanup_json_ json_t *a = NULL, *b = NULL, *c = NULL, *inv = json_object();
	_cleanup_json_ json_t *old = NULL, *vers = NULL;
	struct dr_error err;

	assert_int_equal(jobs_library_add("site", v1, "t", &a, inv, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(a, "version")), 1);
	assert_int_equal(jobs_library_add("site", v1, "t", &b, inv, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(b, "version")), 1);
	assert_int_equal(jobs_library_add("site", v2, "t", &c, inv, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(c, "version")), 2);
	old = jobs_library_get("site", 1);
	assert_string_equal(json_string_value(json_object_get(old, "content")), v1);
	vers = jobs_library_versions("site");
	assert_int_equal(json_array_size(vers), 2);
	assert_int_equal(
	    jobs_library_add("bad", "- hosts: all\n  taskz: []\n", "t", NULL, inv, &err), -1);
	assert_non_null(strstr(err.msg, "bad:2:3"));
	assert_int_equal(jobs_library_add("../x", v1, "t", NULL, inv, &err), -1);
	assert_non_null(json_object_get(inv, "name"));
}

/* git+URL//PATH[@REF]: the three parts, the schemes allowed, paths kept inside, refs
 * checked; credentials redacted. */
static void
test_git_spec(void **state)
{
	static const struct {
		const char *spec, *url, *path, *ref;
	} good[] = {
	    {"git+https://git.example.org/ops/site.git//k8s/site.yml@v1.4",
	        "https://git.example.org/ops/site.git", "k8s/site.yml", "v1.4"},
	    {"git+ssh://git@git.example.org:2222/site.git//site.yml@main",
	        "ssh://git@git.example.org:2222/site.git", "site.yml", "main"},
	    {"git+file:///srv/git/site.git//play/site.yml", "file:///srv/git/site.git",
	        "play/site.yml", "HEAD"},
	    {"git+https://h/r//a@b/site.yml@release/2", "https://h/r", "a@b/site.yml",
	        "release/2"},
	};
	static const struct {
		const char *spec, *msg;
	} bad[] = {
	    {"git+http://h/r.git//s.yml", "only https://, ssh:// and file://"},
	    {"git+ext::sh -c id//s.yml", "only https://, ssh:// and file://"},
	    {"https://h/r.git//s.yml", "expected git+URL//PATH[@REF]"},
	    {"git+https://h/r.git", "'//' separates"},
	    {"git+https://h/r.git//", "must stay inside"},
	    {"git+https://h/r.git//../../etc/passwd", "must stay inside"},
	    {"git+https://h/r.git//a/../../b", "must stay inside"},
	    {"git+https://h/r.git//s.yml@-upload-pack=x", "not a git branch"},
	    {"git+https://h/r.git//s.yml@a..b", "not a git branch"},
	    {"git+https://h/r.git//s.yml@", "not a git branch"},
	    {"git+https://h/r 'x.git//s.yml", "a blank, a quote"},
	};
	struct dr_error err;
	size_t i;

	for (i = 0; i < nitems(good); i++) {
		_cleanup_json_ json_t *g = NULL;
		assert_int_equal(jobs_git_parse(good[i].spec, &g, &err), 0);
		assert_string_equal(json_string_value(json_object_get(g, "url")), good[i].url);
		assert_string_equal(json_string_value(json_object_get(g, "path")), good[i].path);
		assert_string_equal(json_string_value(json_object_get(g, "ref")), good[i].ref);
	}
	for (i = 0; i < nitems(bad); i++) {
		json_t *g = NULL;
		assert_int_equal(jobs_git_parse(bad[i].spec, &g, &err), -1);
		assert_null(g);
		if (strstr(err.msg, bad[i].msg) == NULL)
			fail_msg("%s: %s", bad[i].spec, err.msg);
	}
	char *r = jobs_git_redact("https://bob:s3cret@h.example.org/r.git");
	assert_string_equal(r, "https://***@h.example.org/r.git");
	free(r);
	r = jobs_git_redact("https://h.example.org/a@b.git");
	assert_string_equal(r, "https://h.example.org/a@b.git");
	free(r);
}

/* https://USER:PASSWORD@ split off and decoded; ssh keeps its user, refuses a password;
 * a user without a password, a line break or a NUL refused; none: 0. */
static void
test_git_userinfo(void **state)
{
	static const struct {
		const char *url, *clean, *user, *pass;
	} good[] = {
	    {"https://deploy:t0k@git.example.org/ops/site.git", "https://git.example.org/ops/site.git",
	        "deploy", "t0k"},
	    {"https://a%40b:p%3Aw%2Fd@h:8443/r.git", "https://h:8443/r.git", "a@b", "p:w/d"},
	};
	static const struct {
		const char *url, *msg;
	} bad[] = {
	    {"https://tokenonly@h/r.git", "give both a user name and a password"},
	    {"https://u:@h/r.git", "give both"},
	    {"https://u:a%0Ab@h/r.git", "a NUL or a line break"},
	    {"https://u:a%00b@h/r.git", "a NUL or a line break"},
	    {"ssh://git:pw@h/r.git", "takes a user name, not a password"},
	};
	char *clean, *user, *pass;
	struct dr_error err;
	size_t i;

	for (i = 0; i < nitems(good); i++) {
		assert_int_equal(jobs_git_userinfo(good[i].url, &clean, &user, &pass, &err), 1);
		assert_string_equal(clean, good[i].clean);
		assert_string_equal(user, good[i].user);
		assert_string_equal(pass, good[i].pass);
		free(clean);
		free(user);
		free(pass);
	}
	for (i = 0; i < nitems(bad); i++) {
		assert_int_equal(jobs_git_userinfo(bad[i].url, &clean, &user, &pass, &err), -1);
		if (strstr(err.msg, bad[i].msg) == NULL)
			fail_msg("%s: %s", bad[i].url, err.msg);
		/* the message shows the URL without the secret */
		assert_null(strstr(err.msg, "pw@"));
		assert_null(strstr(err.msg, "a%0Ab"));
	}
	assert_int_equal(jobs_git_userinfo("ssh://git@h/r.git", &clean, &user, &pass, &err), 0);
	assert_int_equal(jobs_git_userinfo("https://h/a@b.git", &clean, &user, &pass, &err), 0);
	assert_int_equal(jobs_git_userinfo("file:///srv/r.git", &clean, &user, &pass, &err), 0);
}

/* A credential is stored sealed, opens to what was given, is never shown, is checked,
 * renamed and deleted as the API says. */
static void
test_gitcred(void **state)
{
	_cleanup_json_ json_t *inv = json_object(), *out = NULL, *row = NULL;
	_cleanup_json_ json_t *body = json_pack(
	    "{s:s, s:s, s:s}", "name", "ops", "username", "deploy", "password", "s3cret-tok");
	struct dr_error err;
	char *user = NULL, *pass = NULL;

	assert_int_equal(secret_init(NULL, &err), 0);
	assert_int_equal(jobs_gitcred_save(NULL, body, "t", NULL, inv, &out, &err), 0);
	assert_string_equal(json_string_value(json_object_get(out, "name")), "ops");
	assert_null(json_object_get(out, "username"));
	assert_null(json_object_get(out, "password"));
	row = store_query_one(&err, "SELECT username, password FROM jobs_git_credentials", NULL);
	assert_true(secret_is_sealed(json_string_value(json_object_get(row, "password"))));
	assert_true(secret_is_sealed(json_string_value(json_object_get(row, "username"))));
	assert_null(strstr(json_string_value(json_object_get(row, "password")), "s3cret"));
	assert_int_equal(jobs_gitcred_open("ops", &user, &pass, &err), 0);
	assert_string_equal(user, "deploy");
	assert_string_equal(pass, "s3cret-tok");
	free(user);
	free(pass);
	/* the same name again: 409; a bad body: 422 per field */
	assert_int_equal(jobs_gitcred_save(NULL, body, "t", NULL, inv, NULL, &err), -409);
	_cleanup_json_ json_t *badb =
	    json_pack("{s:s, s:s, s:s, s:i}", "name", "a b", "username", "u", "password",
	        "x\ny", "extra", 1);
	assert_int_equal(jobs_gitcred_save(NULL, badb, "t", NULL, inv, NULL, &err), -422);
	assert_non_null(json_object_get(inv, "name"));
	assert_non_null(json_object_get(inv, "password"));
	assert_non_null(json_object_get(inv, "extra"));
	/* put replaces the secret of an existing name */
	assert_int_equal(jobs_gitcred_put("ops", "deploy", "new-tok", "t", NULL, &err), 0);
	assert_int_equal(jobs_gitcred_open("ops", &user, &pass, &err), 0);
	assert_string_equal(pass, "new-tok");
	free(user);
	free(pass);
	assert_int_equal(jobs_gitcred_open("nosuch", &user, &pass, &err), -1);
	assert_non_null(strstr(err.msg, "no git credential 'nosuch'"));
	assert_int_equal(jobs_gitcred_delete("ops", "t", NULL, &err), 0);
	assert_false(jobs_gitcred_exists("ops"));
	assert_int_equal(jobs_gitcred_delete("ops", "t", NULL, &err), -404);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_profile_dpkg),
	    cmocka_unit_test(test_profile_rpm),
	    cmocka_unit_test(test_profile_bad),
	    cmocka_unit_test(test_profile_dpkg_status),
	    cmocka_unit_test(test_profile_shared),
	    cmocka_unit_test(test_identity),
	    cmocka_unit_test(test_git_spec),
	    cmocka_unit_test(test_git_userinfo),
	    cmocka_unit_test_setup_teardown(test_gitcred, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_targets, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_host_ssh, setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(test_library, setup_store, teardown_store),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
