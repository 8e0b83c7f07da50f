/* test_repo_meta.c - repository metadata: paths from metadata, decompression with caps,
 * rpm-md parsing (primary, updateinfo) with hostile input, version comparison. */
#include "tests/unit/unit.h"

#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "repos/repos.h"

static char *dir;

static int
setup(void **state)
{
	struct dr_error err;

	dir = unit_dir_make("repometa");
	assert_int_equal(repo_pool_init(dir, &err), 0);
	return 0;
}

static int
teardown(void **state)
{
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	free(dir);
	return 0;
}

static char *
write_file(const char *name, const void *data, size_t len)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return p;
}

static void
test_path_check(void **state)
{
	static const char *const good[] = {"a.rpm", "Packages/h/hello-1.0-1.noarch.rpm",
	    "pool/main/h/hello/hello_1.0_all.deb", "a..b/c"};
	static const char *const bad[] = {"", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b",
	    "http://evil/x", "a\\b", "a?b", "a%2e%2e/b", "x/.."};
	struct dr_error err;
	size_t i;

	for (i = 0; i < nitems(good); i++)
		assert_int_equal(repo_path_check(good[i], "t", &err), 0);
	for (i = 0; i < nitems(bad); i++) {
		assert_int_equal(repo_path_check(bad[i], "t", &err), -1);
		assert_non_null(strstr(err.msg, "t: "));
	}
}

/* Every format reads back what was written, found by its magic bytes. */
static void
test_zread_formats(void **state)
{
	char text[4096];
	size_t i;
	struct dr_error err;
	struct buf got = BUF_INIT(1u << 20);
	struct buf gz = BUF_INIT(0);
	unsigned char xz[8192], zs[8192];
	char bz[8192];
	unsigned int bzlen = sizeof bz;
	size_t xzlen = 0, zslen;
	struct {
		const char *name;
		const void *data;
		size_t len;
	} cases[5];

	for (i = 0; i < sizeof text; i++)
		text[i] = (char)('a' + i % 26);
	assert_int_equal(repo_zread_gzip(text, sizeof text, &gz, &err), 0);
	assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, (const uint8_t *)text,
	                     sizeof text, xz, &xzlen, sizeof xz),
	    LZMA_OK);
	assert_int_equal(BZ2_bzBuffToBuffCompress(bz, &bzlen, text, sizeof text, 9, 0, 0), BZ_OK);
	zslen = ZSTD_compress(zs, sizeof zs, text, sizeof text, 3);
	assert_false(ZSTD_isError(zslen));
	cases[0].name = "plain", cases[0].data = text, cases[0].len = sizeof text;
	cases[1].name = "gz", cases[1].data = gz.data, cases[1].len = gz.len;
	cases[2].name = "xz", cases[2].data = xz, cases[2].len = xzlen;
	cases[3].name = "bz2", cases[3].data = bz, cases[3].len = bzlen;
	cases[4].name = "zst", cases[4].data = zs, cases[4].len = zslen;
	for (i = 0; i < nitems(cases); i++) {
		_cleanup_free_ char *p = write_file(cases[i].name, cases[i].data, cases[i].len);
		buf_reset(&got);
		if (repo_zread_file(p, cases[i].name, 0, &got, &err) < 0)
			fail_msg("%s: %s", cases[i].name, err.msg);
		assert_int_equal(got.len, sizeof text);
		assert_memory_equal(got.data, text, sizeof text);
		/* A cap below the size stops the read, naming the file. */
		buf_reset(&got);
		assert_int_equal(repo_zread_file(p, cases[i].name, 1000, &got, &err), -1);
		assert_non_null(strstr(err.msg, "more than the limit of 1000 bytes"));
		assert_non_null(strstr(err.msg, cases[i].name));
		/* Truncated compressed data is an error, not a short file. */
		if (i > 0) {
			_cleanup_free_ char *t =
			    write_file("trunc", cases[i].data, cases[i].len / 2);
			buf_reset(&got);
			assert_int_equal(repo_zread_file(t, "trunc", 0, &got, &err), -1);
		}
	}
	buf_free(&got);
	buf_free(&gz);
}

/* A bomb: 64 MiB of zeros in ~64 KiB of gzip; the ratio cap stops it early. */
static void
test_zread_bomb(void **state)
{
	struct buf zeros = BUF_INIT(0), gz = BUF_INIT(0), got = BUF_INIT(0);
	struct repo_zread *z;
	struct dr_error err;
	char chunk[65536];
	uint64_t limit;
	ssize_t n;
	_cleanup_free_ char *p = NULL;

	assert_int_equal(repo_zread_limit(1000, 0), REPO_META_FLOOR);
	assert_int_equal(repo_zread_limit(10ull << 20, 0), (10ull << 20) * REPO_META_RATIO);
	assert_int_equal(repo_zread_limit(100ull << 30, 0), REPO_META_MAX);
	assert_int_equal(repo_zread_limit(10ull << 20, 5000), 5000);
	zeros.data = xcalloc(1, 64u << 20);
	zeros.len = 64u << 20;
	assert_int_equal(repo_zread_gzip(zeros.data, zeros.len, &gz, &err), 0);
	assert_true(gz.len < (1u << 20));
	p = write_file("bomb.gz", gz.data, gz.len);
	limit = gz.len * 100; /* a ratio cap of 100, as repo_zread_limit would give */
	assert_int_equal(repo_zread_open(p, "bomb.gz", limit, &z, &err), 0);
	while ((n = repo_zread_read(z, chunk, sizeof chunk)) > 0)
		;
	assert_int_equal(n, -1);
	assert_non_null(strstr(repo_zread_error(z), "bomb.gz: decompresses to more than"));
	repo_zread_close(z);
	free(zeros.data);
	buf_free(&gz);
	buf_free(&got);
}

struct pkgs {
	json_t *list;
};

static int
collect_pkg(void *ctx, const struct repo_pkg *p, struct dr_error *err)
{
	struct pkgs *c = ctx;

	json_array_append_new(c->list,
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "name", p->name, "epoch",
	        p->epoch, "version", p->version, "release", p->release, "arch", p->arch,
	        "checksum", p->checksum, "location", p->location, "size", (json_int_t)p->size,
	        "meta", p->meta));
	return 0;
}

#define PRIMARY_HEAD                                                                              \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata "                                  \
	"xmlns=\"http://linux.duke.edu/metadata/common\" "                                        \
	"xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"1\">\n"
#define PKG(href)                                                                                 \
	"<package type=\"rpm\"><name>hello</name><arch>noarch</arch>"                             \
	"<version epoch=\"2\" ver=\"1.0\" rel=\"1\"/><checksum type=\"sha256\" "                  \
	"pkgid=\"YES\">"                                                                          \
	"0000000000000000000000000000000000000000000000000000000000000001</checksum>"             \
	"<size package=\"42\"/><location " href "/><format><rpm:license>MIT</rpm:license>"        \
	"</format></package>\n"

static int
parse_primary(const char *text, json_t **ret, struct dr_error *err)
{
	struct buf gz = BUF_INIT(0);
	struct pkgs c = {json_array()};
	_cleanup_free_ char *p = NULL;
	int r;

	repo_zread_gzip(text, strlen(text), &gz, err);
	p = write_file("primary.xml.gz", gz.data, gz.len);
	buf_free(&gz);
	r = repo_rpmmd_primary(p, "primary.xml.gz", 1u << 20, collect_pkg, &c, err);
	*ret = c.list;
	return r;
}

static void
test_primary(void **state)
{
	_cleanup_json_ json_t *list = NULL;
	struct dr_error err;
	json_t *p;

	assert_int_equal(
	    parse_primary(PRIMARY_HEAD PKG("href=\"h/hello.rpm\"") "</metadata>", &list, &err), 0);
	assert_int_equal(json_array_size(list), 1);
	p = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(p, "name")), "hello");
	assert_string_equal(json_string_value(json_object_get(p, "epoch")), "2");
	assert_string_equal(json_string_value(json_object_get(p, "location")), "h/hello.rpm");
	assert_int_equal(json_integer_value(json_object_get(p, "size")), 42);
	/* The element is kept whole, namespace prefixes included. */
	assert_non_null(strstr(
	    json_string_value(json_object_get(p, "meta")), "<rpm:license>MIT</rpm:license>"));
	json_decref(TAKE_PTR(list));

	assert_int_equal(parse_primary(PRIMARY_HEAD PKG("href=\"../../etc/passwd\"") "</metadata>",
	                     &list, &err),
	    -1);
	assert_non_null(strstr(err.msg, "primary.xml.gz:"));
	assert_non_null(strstr(err.msg, "escapes the repository"));
	json_decref(TAKE_PTR(list));

	assert_int_equal(
	    parse_primary(
	        PRIMARY_HEAD PKG("xml:base=\"http://evil/\" href=\"a.rpm\"") "</metadata>", &list,
	        &err),
	    -1);
	assert_non_null(strstr(err.msg, "xml:base"));
	json_decref(TAKE_PTR(list));

	assert_int_equal(parse_primary("<?xml version=\"1.0\"?>\n<!DOCTYPE metadata [\n"
	                               "<!ENTITY a \"aaaaaaaaaaaaaaaa\">\n"
	                               "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>\n"
	                               "<metadata>&b;</metadata>",
	                     &list, &err),
	    -1);
	assert_non_null(strstr(err.msg, "DOCTYPE is not allowed"));
	json_decref(TAKE_PTR(list));

	assert_int_equal(parse_primary(PRIMARY_HEAD "<package type=\"rpm\"><name>x</name>"
	                                            "</package></metadata>",
	                     &list, &err),
	    -1);
	assert_non_null(strstr(err.msg, "missing name, arch, version"));
	json_decref(TAKE_PTR(list));

	assert_int_equal(parse_primary(PRIMARY_HEAD PKG("href=\"a.rpm\""), &list, &err), -1);
	assert_non_null(strstr(err.msg, "primary.xml.gz"));
	json_decref(TAKE_PTR(list));

	assert_int_equal(parse_primary("<?xml version=\"1.0\"?><other/>", &list, &err), -1);
	assert_non_null(strstr(err.msg, "root element <other>, expected <metadata>"));
	json_decref(TAKE_PTR(list));
}

static int
collect_erratum(void *ctx, json_t *e, struct dr_error *err)
{
	json_array_append(ctx, e);
	return 0;
}

static void
test_updateinfo(void **state)
{
	static const char text[] =
	    "<?xml version=\"1.0\"?>\n<updates>\n"
	    "<update from=\"sec@example.org\" status=\"final\" type=\"security\" version=\"1\">"
	    "<id>RHSA-2024:1</id><title>t</title><issued date=\"2024-03-01 10:00:00\"/>"
	    "<updated date=\"1710000000\"/><severity>Critical</severity>"
	    "<description>d</description><reboot_suggested>True</reboot_suggested>"
	    "<references><reference href=\"h\" id=\"CVE-2024-1\" type=\"cve\" title=\"c\"/>"
	    "</references><pkglist><collection short=\"s\"><name>s</name>"
	    "<module name=\"m\" stream=\"1\" version=\"2\" context=\"c\" arch=\"x86_64\"/>"
	    "<package name=\"p\" version=\"1.1\" release=\"2\" epoch=\"1\" arch=\"x86_64\">"
	    "<filename>p-1.1-2.x86_64.rpm</filename></package></collection></pkglist>"
	    "</update>\n</updates>\n";
	_cleanup_free_ char *p = write_file("updateinfo.xml", text, sizeof text - 1);
	_cleanup_json_ json_t *list = json_array();
	struct dr_error err;
	json_t *e, *pkg;

	assert_int_equal(repo_rpmmd_updateinfo(p, "u", 1u << 20, collect_erratum, list, &err), 0);
	assert_int_equal(json_array_size(list), 1);
	e = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(e, "erratum_id")), "RHSA-2024:1");
	assert_string_equal(json_string_value(json_object_get(e, "type")), "security");
	assert_string_equal(json_string_value(json_object_get(e, "severity")), "Critical");
	assert_int_equal(json_integer_value(json_object_get(e, "issued_at")), 1709287200);
	assert_int_equal(json_integer_value(json_object_get(e, "updated_at")), 1710000000);
	assert_true(json_is_true(json_object_get(e, "reboot_suggested")));
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(e, "references"), 0), "id")),
	    "CVE-2024-1");
	pkg = json_array_get(json_object_get(e, "packages"), 0);
	assert_string_equal(json_string_value(json_object_get(pkg, "epoch")), "1");
	assert_string_equal(
	    json_string_value(json_object_get(pkg, "filename")), "p-1.1-2.x86_64.rpm");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(pkg, "module"), "stream")), "1");
	assert_non_null(strstr(json_string_value(json_object_get(e, "xml")), "<id>RHSA-2024:1"));
}

static void
test_evr(void **state)
{
	assert_true(repo_evr_cmp("yum", "1.0-1", "1.0-2") < 0);
	assert_true(repo_evr_cmp("yum", "1:0.9-1", "2.0-1") > 0);
	assert_true(repo_evr_cmp("yum", "1.0~rc1-1", "1.0-1") < 0);
	assert_true(repo_evr_cmp("yum", "1.10-1", "1.9-1") > 0);
	assert_int_equal(repo_evr_cmp("yum", "0:1.0-1", "1.0-1"), 0);
	assert_true(repo_evr_cmp("apt", "1.0-1", "1.0-1+deb12u1") < 0);
	assert_true(repo_evr_cmp("apt", "2:1.0", "3.0") > 0);
	assert_true(repo_evr_cmp("apt", "1.0~beta", "1.0") < 0);
	assert_int_equal(repo_date_parse("2024-03-01"), 1709251200);
	assert_int_equal(repo_date_parse("2024-03-01 10:00:00"), 1709287200);
	assert_int_equal(repo_date_parse("1700000000"), 1700000000);
	assert_int_equal(repo_date_parse("junk"), 0);
}

static void
test_deb_release(void **state)
{
	static const char text[] =
	    "Origin: Debian\nSuite: stable\nCodename: bookworm\nAcquire-By-Hash: yes\n"
	    "SHA256:\n"
	    " 0000000000000000000000000000000000000000000000000000000000000001 10 "
	    "main/binary-amd64/Packages\n"
	    " 0000000000000000000000000000000000000000000000000000000000000002 5 "
	    "main/binary-amd64/Packages.xz\n"
	    "MD5Sum:\n 00000000000000000000000000000000 10 main/binary-amd64/Packages\n";
	_cleanup_json_ json_t *r = NULL;
	struct dr_error err;
	json_t *f;

	assert_int_equal(repo_deb_release_parse(text, sizeof text - 1, "Release", &r, &err), 0);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(r, "fields"), "Codename")),
	    "bookworm");
	assert_int_equal(json_array_size(json_object_get(r, "files")), 2);
	f = json_array_get(json_object_get(r, "files"), 1);
	assert_string_equal(
	    json_string_value(json_object_get(f, "path")), "main/binary-amd64/Packages.xz");
	assert_int_equal(json_integer_value(json_object_get(f, "size")), 5);
	json_decref(TAKE_PTR(r));

	assert_int_equal(
	    repo_deb_release_parse(
	        "SHA256:\n"
	        " 0000000000000000000000000000000000000000000000000000000000000001 1 "
	        "../../etc/passwd\n",
	        strlen("SHA256:\n"
	               " 0000000000000000000000000000000000000000000000000000000000000001 1 "
	               "../../etc/passwd\n"),
	        "Release", &r, &err),
	    -1);
	assert_non_null(strstr(err.msg, "Release:2:"));
	assert_non_null(strstr(err.msg, "escapes the repository"));
	assert_int_equal(
	    repo_deb_release_parse("SHA256:\n nothex 1 a\n", 21, "Release", &r, &err), -1);
	assert_non_null(strstr(err.msg, "bad SHA256 line"));
	assert_int_equal(repo_deb_release_parse("garbage\n", 8, "Release", &r, &err), -1);
	assert_non_null(strstr(err.msg, "Release:1: expected 'Field: value'"));
}

static int
count_pkg(void *ctx, const struct repo_pkg *p, struct dr_error *err)
{
	json_array_append_new(ctx,
	    json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", p->name, "epoch", p->epoch, "version",
	        p->version, "release", p->release, "source", p->source));
	return 0;
}

static int
parse_packages(const char *text, json_t **ret, struct dr_error *err)
{
	_cleanup_free_ char *p = write_file("Packages", text, strlen(text));

	*ret = json_array();
	return repo_deb_packages(p, "Packages", 64u << 20, count_pkg, *ret, err);
}

#define STANZA(name, version, file)                                                               \
	"Package: " name "\nVersion: " version "\nArchitecture: amd64\nFilename: " file           \
	"\nSize: 3\nSource: src (1.0)\n"                                                          \
	"SHA256: 0000000000000000000000000000000000000000000000000000000000000003\n"

static void
test_deb_packages(void **state)
{
	_cleanup_json_ json_t *l = NULL;
	struct dr_error err;
	json_t *p;

	assert_int_equal(parse_packages(STANZA("a", "1:2.0-3+deb12u1", "pool/a.deb") "\n" STANZA(
	                                    "b", "1.0", "pool/b.deb"),
	                     &l, &err),
	    0);
	assert_int_equal(json_array_size(l), 2);
	p = json_array_get(l, 0);
	assert_string_equal(json_string_value(json_object_get(p, "epoch")), "1");
	assert_string_equal(json_string_value(json_object_get(p, "version")), "2.0");
	assert_string_equal(json_string_value(json_object_get(p, "release")), "3+deb12u1");
	assert_string_equal(json_string_value(json_object_get(p, "source")), "src");
	p = json_array_get(l, 1);
	assert_string_equal(json_string_value(json_object_get(p, "release")), "");
	json_decref(TAKE_PTR(l));

	assert_int_equal(parse_packages(STANZA("a", "1", "../x.deb"), &l, &err), -1);
	assert_non_null(strstr(err.msg, "Packages:"));
	assert_non_null(strstr(err.msg, "escapes the repository"));
	json_decref(TAKE_PTR(l));
	assert_int_equal(parse_packages("Package: a\nVersion: 1\nArchitecture: all\n"
	                                "Filename: a.deb\n\n",
	                     &l, &err),
	    -1);
	assert_non_null(
	    strstr(err.msg, "without Package, Version, Architecture, Filename or SHA256"));
	json_decref(TAKE_PTR(l));
	{
		struct buf big = BUF_INIT(0);
		buf_adds(&big, "Package: a\nDescription: ");
		for (int i = 0; i < (2 << 20) / 64; i++)
			buf_adds(&big,
			    "\n 0123456789012345678901234567890123456789012345678901234567890");
		assert_int_equal(parse_packages(big.data, &l, &err), -1);
		assert_non_null(strstr(err.msg, "stanza larger than"));
		buf_free(&big);
		json_decref(TAKE_PTR(l));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_check),
	    cmocka_unit_test(test_zread_formats),
	    cmocka_unit_test(test_zread_bomb),
	    cmocka_unit_test(test_primary),
	    cmocka_unit_test(test_updateinfo),
	    cmocka_unit_test(test_evr),
	    cmocka_unit_test(test_deb_release),
	    cmocka_unit_test(test_deb_packages),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
