/* mem.c - allocation that cannot fail, string and file helpers. */
#define LOG_COMPONENT "core"
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/core.h"

/* malloc that never returns NULL. */
void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		fatal("malloc %zu", size);
	return p;
}

/* calloc that never returns NULL. */
void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		fatal("calloc %zu x %zu", n, size);
	return p;
}

/* realloc that never returns NULL. */
void *
xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);

	if (q == NULL)
		fatal("realloc %zu", size);
	return q;
}

/* reallocarray that never returns NULL and checks n * size for overflow. */
void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		fatalx("reallocarray %zu x %zu overflows", n, size);
	return xrealloc(p, n * size);
}

/* strdup that never returns NULL. */
char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal("strdup");
	return p;
}

/* strndup that never returns NULL. */
char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		fatal("strndup");
	return p;
}

/* vasprintf that never fails; caller frees. */
char *
xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		fatal("vasprintf");
	return s;
}

/* asprintf that never fails; caller frees. */
char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

/* Destructor for _cleanup_free_. */
void
freep(void *p)
{
	free(*(void **)p);
}

/* True when s starts with prefix. */
bool
str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* True when s ends with suffix. */
bool
str_has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

/* strlcpy: glibc 2.36 has none. */
size_t
str_copy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

/* Trim white space on both ends, in place. */
char *
str_trim(char *s)
{
	char *start = s, *end;

	while (*start == ' ' || *start == '\t' || *start == '\n' || *start == '\r')
		start++;
	end = start + strlen(start);
	while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' ||
	    end[-1] == '\r'))
		end--;
	*end = '\0';
	if (start != s)
		memmove(s, start, (size_t)(end - start) + 1);
	return s;
}

/* Whole-string decimal parse with bounds. */
int
str_to_ll(const char *s, long long min, long long max, long long *ret)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*ret = v;
	return 0;
}

/* Compare secrets without an early exit, so timing does not leak the prefix. */
bool
str_equal_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* Read a whole file, refusing one larger than max. */
int
file_read(const char *path, size_t max, char **ret, size_t *ret_len, struct dr_error *err)
{
	struct buf b = BUF_INIT(max);
	char chunk[65536];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dr_error_errno(err, "%s", path);
	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			dr_error_errno(err, "%s", path);
			goto fail;
		}
		if (n == 0)
			break;
		if (buf_add(&b, chunk, (size_t)n) < 0) {
			dr_error_set(err, "%s: larger than the limit of %zu bytes", path, max);
			goto fail;
		}
	}
	close(fd);
	if (ret_len != NULL)
		*ret_len = b.len;
	*ret = buf_steal(&b);
	return 0;
fail:
	close(fd);
	buf_free(&b);
	return -1;
}

/* Create dir and each missing parent with mode; existing ones are kept as they are. */
int
file_mkdirs(const char *dir, int mode, struct dr_error *err)
{
	_cleanup_free_ char *p = xstrdup(dir);
	char *s;

	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST)
			return dr_error_errno(err, "%s", p);
		*s = '/';
	}
	if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST)
		return dr_error_errno(err, "%s", p);
	return 0;
}

/* Replace path's contents so that a reader sees either the old or the new file. */
int
file_write_atomic(const char *path, const void *data, size_t len, int mode,
    struct dr_error *err)
{
	/* unique per thread and call: threads of one process may write the same path */
	static _Atomic unsigned seq;
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%ld.%ld.%u", path, (long)getpid(),
	    (long)gettid(), seq++);
	const char *p = data;
	ssize_t n;
	int fd;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return dr_error_errno(err, "%s", tmp);
	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		dr_error_errno(err, "%s", path);
		unlink(tmp);
		return -1;
	}
	return 0;
fail:
	dr_error_errno(err, "%s", tmp);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

/* Monotonic microseconds, for durations. */
int64_t
time_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Base64 of n bytes (EVP_EncodeBlock: one line, padded). */
char *
base64_encode(const void *p, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* Decode base64 text, skipping white space; NULL when it is not base64. */
unsigned char *
base64_decode(const char *s, size_t n, size_t *ret_len)
{
	_cleanup_free_ char *clean = xmalloc(n + 1);
	unsigned char *out;
	size_t m = 0;
	int len;

	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			clean[m++] = s[i];
	clean[m] = '\0';
	if (m % 4 != 0 || m > INT_MAX ||
	    strspn(clean,
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	        "0123456789+/=") != m)
		return NULL;
	/* '=' only as the padding of the last group: one or two of them at the end. */
	if (m > 0 && (strcspn(clean, "=") < m - 2 || (clean[m - 2] == '=' && clean[m - 1] != '=')))
		return NULL;
	out = xmalloc(m / 4 * 3 + 1);
	if ((len = EVP_DecodeBlock(out, (unsigned char *)clean, (int)m)) < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	for (size_t i = m; i > 0 && clean[i - 1] == '=' && len > 0; i--)
		len--;
	out[len] = '\0';
	*ret_len = (size_t)len;
	return out;
}
