/*
 * pool.c - the content-addressed pool: <state_dir>/pool/sha256/ab/cdef…, one copy of each
 * file across every repository and version. Files enter it only whole and verified: they
 * are written (or downloaded) beside their final name (a .part, or an unnamed O_TMPFILE
 * file in the shard for small downloads), made durable (fsync, or one syncfs for a round
 * of downloads) and renamed or linked in, so a crash leaves either nothing or the
 * complete file. pool/tmp holds work files of running syncs.
 */
#define LOG_COMPONENT "repos"
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "repos/repos.h"

static char *pool_dir;
/* Shard directories known to exist, held open (fd + 1; 0: not yet) so that a pool file
 * is reached from its shard instead of by its whole path. */
static int pool_shard_fds[256];

static int pool_shard_fd(const char *sha256, bool make);

/*
 * Mark dir as the top of a directory hierarchy (chattr +T) where the file system knows
 * the hint (ext2/3/4). Its subdirectories, the 256 shards, are then spread over the
 * disk's block groups by the Orlov allocator instead of sharing the group of the state
 * directory, and so are the files created in them: ext4 looks for a free inode in the
 * directory's group and, without a journal, steps over every inode deleted there in the
 * last minutes, which made creating 20,000 package files cost more CPU than anything
 * else in a sync on a busy /var. Best effort: other file systems ignore it.
 */
static void
pool_topdir_mark(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), flags = 0;

	if (fd < 0)
		return;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && !(flags & FS_TOPDIR_FL)) {
		flags |= FS_TOPDIR_FL;
		(void)ioctl(fd, FS_IOC_SETFLAGS, &flags);
	}
	close(fd);
}

/* Create the pool's directories under state_dir. */
int
repo_pool_init(const char *state_dir, struct dr_error *err)
{
	const char *subs[] = {"", "/sha256", "/tmp"};
	size_t i;

	free(pool_dir);
	pool_dir = xasprintf("%s/pool", state_dir);
	for (i = 0; i < nitems(pool_shard_fds); i++) {
		if (pool_shard_fds[i] > 0)
			close(pool_shard_fds[i] - 1);
		pool_shard_fds[i] = 0;
	}
	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return dr_error_errno(err, "%s", state_dir);
	for (i = 0; i < nitems(subs); i++) {
		_cleanup_free_ char *p = xasprintf("%s%s", pool_dir, subs[i]);
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return dr_error_errno(err, "%s", p);
	}
	{
		_cleanup_free_ char *shards = xasprintf("%s/sha256", pool_dir);
		pool_topdir_mark(shards);
	}
	return 0;
}

/* The pool directory ("<state_dir>/pool"), NULL before repo_pool_init. */
const char *
repo_pool_dir(void)
{
	return pool_dir;
}

/* True when s is a lower-case hex SHA-256. */
bool
repo_pool_valid(const char *sha256)
{
	size_t i;

	if (sha256 == NULL || strlen(sha256) != 64)
		return false;
	for (i = 0; i < 64; i++)
		if (!strchr("0123456789abcdef", sha256[i]))
			return false;
	return true;
}

/* The path of a pool file (which need not exist); caller frees. */
char *
repo_pool_path(const char *sha256)
{
	return xasprintf("%s/sha256/%.2s/%s", pool_dir, sha256, sha256 + 2);
}

/*
 * Where a download of a pool file waits until it is durable: beside its final name in
 * the same shard directory (tag keeps concurrent syncs apart), so that entering the pool
 * is a rename within one directory. The name ends in .part: it is not a pool file (the
 * sweep keeps it for an hour, then removes it). Caller frees.
 */
char *
repo_pool_stage_path(const char *sha256, const char *tag)
{
	return xasprintf("%s/sha256/%.2s/%s-%s.part", pool_dir, sha256, sha256 + 2, tag);
}

/* The shard directory a pool file goes in ("<pool>/sha256/ab"); caller frees. */
char *
repo_pool_shard_path(const char *sha256)
{
	return xasprintf("%s/sha256/%.2s", pool_dir, sha256);
}

/*
 * True when the pool's file system makes unnamed files (O_TMPFILE): a download can then
 * be written without a name and linked into the pool once durable, one directory entry
 * per file instead of a .part created, looked up and renamed.
 */
bool
repo_pool_unnamed_ok(void)
{
	_cleanup_free_ char *d = xasprintf("%s/sha256", pool_dir);
	int fd = open(d, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * Give a verified, durable unnamed file (open as fd, made in its shard) its pool name.
 * A file already there (another sync's copy of the same content) is kept. The name
 * becomes durable with the next repo_pool_sync.
 */
int
repo_pool_link(int fd, const char *sha256, struct dr_error *err)
{
	_cleanup_free_ char *dest = NULL;
	char proc[64];
	int dir;

	if (!repo_pool_valid(sha256))
		return dr_error_set(err, "'%s' is not a SHA-256", sha256);
	if ((dir = pool_shard_fd(sha256, true)) >= 0) {
		/* Without the capability AT_EMPTY_PATH asks for, /proc names the open file. */
		if (linkat(fd, "", dir, sha256 + 2, AT_EMPTY_PATH) == 0 || errno == EEXIST)
			return 0;
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, proc, dir, sha256 + 2, AT_SYMLINK_FOLLOW) == 0 ||
		    errno == EEXIST)
			return 0;
	}
	dest = repo_pool_path(sha256);
	return dr_error_errno(err, "%s", dest);
}

/* The hex digit's value (sha256 is valid). */
static unsigned
pool_hex(char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
}

/*
 * The open directory of a valid key's shard, made first when make says so (shards
 * stay, once open they are kept); -1 with errno when it is not there.
 */
static int
pool_shard_fd(const char *sha256, bool make)
{
	unsigned shard = pool_hex(sha256[0]) << 4 | pool_hex(sha256[1]);
	int fd = __atomic_load_n(&pool_shard_fds[shard], __ATOMIC_ACQUIRE), expected = 0;
	_cleanup_free_ char *d = NULL;

	if (fd > 0)
		return fd - 1;
	d = repo_pool_shard_path(sha256);
	if (make && mkdir(d, 0755) < 0 && errno != EEXIST)
		return -1;
	if ((fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	/* Another thread may have opened it meanwhile: one of the two is kept. */
	if (!__atomic_compare_exchange_n(&pool_shard_fds[shard], &expected, fd + 1, false,
	        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		close(fd);
		return expected - 1;
	}
	return fd;
}

/* Make the directory a pool file goes in (once per shard and process: shards stay). */
int
repo_pool_prepare(const char *sha256, struct dr_error *err)
{
	if (!repo_pool_valid(sha256))
		return dr_error_set(err, "'%s' is not a SHA-256", sha256);
	if (pool_shard_fd(sha256, true) < 0) {
		_cleanup_free_ char *d = repo_pool_shard_path(sha256);
		return dr_error_errno(err, "%s", d);
	}
	return 0;
}

/* True when the pool holds the file. */
bool
repo_pool_has(const char *sha256)
{
	int fd;

	if (!repo_pool_valid(sha256) || (fd = pool_shard_fd(sha256, false)) < 0)
		return false;
	return faccessat(fd, sha256 + 2, F_OK, 0) == 0;
}

/* A unique path in pool/tmp for work files; caller frees. */
char *
repo_pool_tmp_path(const char *tag)
{
	static unsigned long counter;

	return xasprintf("%s/tmp/%s-%ld-%lld-%lu", pool_dir, tag, (long)getpid(),
	    (long long)time_mono_us(), __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
}

/* Hex digest of data under algo ("sha256", "sha1", "sha512", "md5"); false if unknown. */
static bool
pool_digest_init(const char *algo, EVP_MD_CTX **ret)
{
	const EVP_MD *md;
	EVP_MD_CTX *c;

	if (strcmp(algo, "sha") == 0)
		algo = "sha1";
	md = EVP_get_digestbyname(algo);
	if (md == NULL)
		return false;
	c = EVP_MD_CTX_new();
	if (c == NULL || EVP_DigestInit_ex(c, md, NULL) != 1)
		fatalx("EVP_DigestInit_ex(%s) failed", algo);
	*ret = c;
	return true;
}

static void
pool_digest_final(EVP_MD_CTX *c, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	EVP_DigestFinal_ex(c, md, &n);
	EVP_MD_CTX_free(c);
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[2 * n] = '\0';
}

/* Hex digest of bytes into hex (at least 129 bytes); -1 on an unknown algorithm. */
int
repo_pool_digest(const char *algo, const void *data, size_t len, char *hex, struct dr_error *err)
{
	EVP_MD_CTX *c;

	if (!pool_digest_init(algo, &c))
		return dr_error_set(err, "unknown checksum type '%s'", algo);
	EVP_DigestUpdate(c, data, len);
	pool_digest_final(c, hex);
	return 0;
}

/* Hex digest of a file (hex holds at least 129 bytes); *ret_size may be NULL. */
int
repo_pool_digest_file(
    const char *algo, const char *path, char *hex, uint64_t *ret_size, struct dr_error *err)
{
	char chunk[65536];
	uint64_t size = 0;
	EVP_MD_CTX *c;
	ssize_t n;
	int fd;

	/* Opened first: callers ask about files that often do not exist. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return dr_error_errno(err, "%s", path);
	if (!pool_digest_init(algo, &c)) {
		close(fd);
		return dr_error_set(err, "unknown checksum type '%s'", algo);
	}
	while ((n = read(fd, chunk, sizeof chunk)) > 0) {
		EVP_DigestUpdate(c, chunk, (size_t)n);
		size += (uint64_t)n;
	}
	close(fd);
	if (n < 0) {
		EVP_MD_CTX_free(c);
		return dr_error_errno(err, "%s", path);
	}
	pool_digest_final(c, hex);
	if (ret_size != NULL)
		*ret_size = size;
	return 0;
}

/* Store bytes in the pool (atomically); ret_sha256 receives the key. */
int
repo_pool_add(const void *data, size_t len, char ret_sha256[65], struct dr_error *err)
{
	char hex[129];
	_cleanup_free_ char *path = NULL;

	repo_pool_digest("sha256", data, len, hex, NULL);
	if (repo_pool_prepare(hex, err) < 0)
		return -1;
	path = repo_pool_path(hex);
	if (access(path, F_OK) != 0 && file_write_atomic(path, data, len, 0644, err) < 0)
		return -1;
	memcpy(ret_sha256, hex, 65);
	return 0;
}

/* Move a finished file (on the pool's file system) into the pool under its SHA-256. */
int
repo_pool_adopt(const char *path, char ret_sha256[65], uint64_t *ret_size, struct dr_error *err)
{
	_cleanup_free_ char *dest = NULL;
	char hex[129];

	if (repo_pool_digest_file("sha256", path, hex, ret_size, err) < 0 ||
	    repo_pool_prepare(hex, err) < 0)
		return -1;
	dest = repo_pool_path(hex);
	if (rename(path, dest) < 0)
		return dr_error_errno(err, "%s", dest);
	memcpy(ret_sha256, hex, 65);
	return 0;
}

/* Make everything written to the pool's file system durable (one syncfs). */
int
repo_pool_sync(struct dr_error *err)
{
	int fd = open(pool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return dr_error_errno(err, "%s", pool_dir);
	if (syncfs(fd) < 0) {
		dr_error_errno(err, "syncfs %s", pool_dir);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* The size of a pool file, -1 when it is missing. */
int64_t
repo_pool_size(const char *sha256)
{
	_cleanup_free_ char *p = NULL;
	struct stat st;

	if (!repo_pool_valid(sha256))
		return -1;
	p = repo_pool_path(sha256);
	return stat(p, &st) == 0 ? (int64_t)st.st_size : -1;
}

/*
 * Remove pool files for which keep(sha256) says false, and work files in pool/tmp older
 * than an hour (a sync that died). Returns the files removed; *ret_bytes their size.
 */
int
repo_pool_sweep(bool (*keep)(void *ctx, const char *sha256), void *ctx, uint64_t *ret_bytes,
    struct dr_error *err)
{
	_cleanup_free_ char *top = xasprintf("%s/sha256", pool_dir);
	struct dirent *de, *fe;
	uint64_t bytes = 0;
	int removed = 0;
	DIR *d, *f;

	if ((d = opendir(top)) == NULL)
		return dr_error_errno(err, "%s", top);
	while ((de = readdir(d)) != NULL) {
		_cleanup_free_ char *sub = NULL;
		if (strlen(de->d_name) != 2)
			continue;
		sub = xasprintf("%s/%s", top, de->d_name);
		if ((f = opendir(sub)) == NULL)
			continue;
		while ((fe = readdir(f)) != NULL) {
			_cleanup_free_ char *sha = NULL, *p = NULL;
			struct stat st;
			if (fe->d_name[0] == '.')
				continue;
			p = xasprintf("%s/%s", sub, fe->d_name);
			sha = xasprintf("%s%s", de->d_name, fe->d_name);
			if (repo_pool_valid(sha) && keep(ctx, sha))
				continue;
			/* A .part of a running download is kept unless it is old. */
			if (!repo_pool_valid(sha) && stat(p, &st) == 0 &&
			    st.st_mtime > time(NULL) - 3600)
				continue;
			if (stat(p, &st) == 0 && unlink(p) == 0) {
				bytes += (uint64_t)st.st_size;
				removed++;
			}
		}
		closedir(f);
	}
	closedir(d);
	*ret_bytes = bytes;
	return removed;
}
