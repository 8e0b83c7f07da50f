/* test_base.c - errors, buffers, strings and files from core. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

static void
test_error_messages(void **state)
{
	struct dr_error err;

	assert_int_equal(dr_error_set(&err, "%s:%d: bad value", "a.yml", 3), -1);
	assert_string_equal(err.msg, "a.yml:3: bad value");
	assert_int_equal(dr_error_prefix(&err, "config: "), -1);
	assert_string_equal(err.msg, "config: a.yml:3: bad value");
	errno = ENOENT;
	dr_error_errno(&err, "open %s", "/nope");
	assert_string_equal(err.msg, "open /nope: No such file or directory");
	assert_int_equal(dr_error_set(NULL, "ignored"), -1);
}

static void
test_buf_cap(void **state)
{
	struct buf b = BUF_INIT(8);

	assert_int_equal(buf_adds(&b, "12345"), 0);
	assert_int_equal(buf_addf(&b, "%d", 678), 0);
	assert_string_equal(b.data, "12345678");
	/* Past the cap nothing is appended and the contents stay as they were. */
	assert_int_equal(buf_addc(&b, '9'), -1);
	assert_int_equal(buf_addf(&b, "%s", "x"), -1);
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "12345678");
	_cleanup_free_ char *s = buf_steal(&b);
	assert_string_equal(s, "12345678");
	assert_null(b.data);
}

static void
test_strings(void **state)
{
	char s[] = "  \tword \n", small[4];
	long long v;

	assert_string_equal(str_trim(s), "word");
	assert_true(str_has_prefix("drover", "dro"));
	assert_false(str_has_suffix("a", "abc"));
	assert_int_equal(str_copy(small, "abcdef", sizeof small), 6);
	assert_string_equal(small, "abc");
	assert_int_equal(str_to_ll("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(str_to_ll("420", 0, 100, &v), -1);
	assert_int_equal(str_to_ll("4x", 0, 100, &v), -1);
	assert_true(str_equal_secret("token", "token"));
	assert_false(str_equal_secret("token", "tokex"));
	assert_false(str_equal_secret("token", "tok"));
}

static void
test_base64(void **state)
{
	static const unsigned char bin[] = {0x00, 0xff, 0x10, 'a'};
	unsigned char *d;
	size_t n = 99;
	char *e;

	e = base64_encode(bin, sizeof bin);
	assert_string_equal(e, "AP8QYQ==");
	d = base64_decode(e, strlen(e), &n);
	assert_non_null(d);
	assert_int_equal(n, sizeof bin);
	assert_memory_equal(d, bin, sizeof bin);
	free(d);
	free(e);
	e = base64_encode("", 0);
	assert_string_equal(e, "");
	free(e);
	/* white space between groups is skipped; padding of one and two */
	d = base64_decode("aGVs\nbG8g d29y\tbGQ=", 19, &n);
	assert_non_null(d);
	assert_int_equal(n, 11);
	assert_string_equal((char *)d, "hello world");
	free(d);
	d = base64_decode("YWI=", 4, &n);
	assert_int_equal(n, 2);
	free(d);
	assert_null(base64_decode("YWI", 3, &n));	/* not a multiple of 4 */
	assert_null(base64_decode("YW-_", 4, &n));	/* URL-safe alphabet */
	assert_null(base64_decode("Y===", 4, &n));	/* padding where data goes */
}

static void
test_files(void **state)
{
	char dir[] = "/tmp/drover-test-XXXXXX";
	struct dr_error err;
	char *data = NULL;
	size_t len;

	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *path = xasprintf("%s/f", dir);
	assert_int_equal(file_write_atomic(path, "hello", 5, 0600, &err), 0);
	assert_int_equal(file_read(path, 100, &data, &len, &err), 0);
	assert_int_equal(len, 5);
	assert_string_equal(data, "hello");
	free(data);
	assert_int_equal(file_read(path, 4, &data, &len, &err), -1);
	assert_non_null(strstr(err.msg, "larger than the limit"));
	unlink(path);
	assert_int_equal(file_read(path, 4, &data, &len, &err), -1);
	assert_non_null(strstr(err.msg, "No such file"));
	rmdir(dir);
}

/* Libraries opened on first use: symbols resolve; a missing library or symbol is an
 * error naming it, given again on every later call. */
DLIB_DECLARE(sqlite3_libversion_number);
static void *sym_drover_no_such_symbol;

static void
test_dlib(void **state)
{
	static const struct dlib_sym good_syms[] = {DLIB_SYM(sqlite3_libversion_number)};
	static const struct dlib_sym bad_syms[] = {DLIB_SYM(drover_no_such_symbol)};
	static struct dlib good = DLIB_INIT("libsqlite3.so.0", "libsqlite3-0", good_syms);
	static struct dlib missing = DLIB_INIT("libdrover-missing.so.9", "drover-missing", good_syms);
	static struct dlib bad = DLIB_INIT("libsqlite3.so.0", "libsqlite3-0", bad_syms);
	struct dr_error err;

	assert_int_equal(dlib_load(&good, &err), 0);
	assert_int_equal(sym_sqlite3_libversion_number(), sqlite3_libversion_number());
	assert_int_equal(dlib_load(&good, &err), 0);
	assert_int_equal(dlib_load(&missing, &err), -1);
	assert_non_null(strstr(err.msg, "cannot load libdrover-missing.so.9"));
	assert_non_null(strstr(err.msg, "install drover-missing"));
	assert_int_equal(dlib_load(&missing, &err), -1);
	assert_non_null(strstr(err.msg, "libdrover-missing.so.9"));
	assert_int_equal(dlib_load(&bad, &err), -1);
	assert_string_equal(err.msg, "libsqlite3.so.0: no symbol drover_no_such_symbol");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_dlib),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
