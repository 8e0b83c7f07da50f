/*
 * zread.c - read metadata files that may be compressed (gzip, xz, bzip2, zstd), by their
 * magic bytes rather than their name, with a hard cap on the decompressed size so that a
 * small hostile file cannot expand without bound; and gzip for what we publish.
 */
#define LOG_COMPONENT "repos"
#include "config.h"

#include <bzlib.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "repos/repos.h"

#define ZREAD_IN 65536

enum zread_format { ZREAD_PLAIN, ZREAD_GZIP, ZREAD_XZ, ZREAD_BZIP2, ZREAD_ZSTD };

struct repo_zread {
	int fd;
	char *name;
	enum zread_format format;
	uint64_t max_out;
	uint64_t total_out;
	unsigned char in[ZREAD_IN];
	size_t in_pos, in_len;
	bool in_eof, out_eof;
	z_stream gz;
	lzma_stream xz;
	bz_stream bz;
	ZSTD_DStream *zstd;
	bool zstd_frame_end;
	char error[DR_ERROR_MAX];
};

static const char *const zread_names[] = {"plain", "gzip", "xz", "bzip2", "zstd"};

/* Fill the input buffer when it is empty; -1 on a read error. */
static int
zread_fill(struct repo_zread *z)
{
	ssize_t n;

	if (z->in_pos < z->in_len || z->in_eof)
		return 0;
	do
		n = read(z->fd, z->in, sizeof z->in);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(z->error, sizeof z->error, "%s: %s", z->name, strerror(errno));
		return -1;
	}
	z->in_pos = 0;
	z->in_len = (size_t)n;
	if (n == 0)
		z->in_eof = true;
	return 0;
}

/* Open path for reading, decompressing by its magic bytes; errors name the file. */
int
repo_zread_open(const char *path, const char *name, uint64_t max_out, struct repo_zread **ret,
    struct dr_error *err)
{
	struct repo_zread *z = xcalloc(1, sizeof *z);
	static const unsigned char xz_magic[] = {0xfd, '7', 'z', 'X', 'Z', 0};
	int rc = 0;

	z->name = xstrdup(name != NULL ? name : path);
	z->max_out = max_out;
	z->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (z->fd < 0) {
		dr_error_errno(err, "%s", z->name);
		free(z->name);
		free(z);
		return -1;
	}
	if (zread_fill(z) < 0) {
		dr_error_set(err, "%s", z->error);
		repo_zread_close(z);
		return -1;
	}
	if (z->in_len >= 2 && z->in[0] == 0x1f && z->in[1] == 0x8b) {
		z->format = ZREAD_GZIP;
		rc = inflateInit2(&z->gz, 15 + 32) == Z_OK ? 0 : -1;
	} else if (z->in_len >= 6 && memcmp(z->in, xz_magic, 6) == 0) {
		z->format = ZREAD_XZ;
		rc =
		    lzma_stream_decoder(&z->xz, 256u << 20, LZMA_CONCATENATED) == LZMA_OK ? 0 : -1;
	} else if (z->in_len >= 3 && memcmp(z->in, "BZh", 3) == 0) {
		z->format = ZREAD_BZIP2;
		rc = BZ2_bzDecompressInit(&z->bz, 0, 0) == BZ_OK ? 0 : -1;
	} else if (z->in_len >= 4 && z->in[0] == 0x28 && z->in[1] == 0xb5 && z->in[2] == 0x2f &&
	    z->in[3] == 0xfd) {
		z->format = ZREAD_ZSTD;
		z->zstd = ZSTD_createDStream();
		rc = z->zstd != NULL && !ZSTD_isError(ZSTD_initDStream(z->zstd)) ? 0 : -1;
	}
	if (rc < 0) {
		dr_error_set(
		    err, "%s: cannot start the %s decoder", z->name, zread_names[z->format]);
		repo_zread_close(z);
		return -1;
	}
	*ret = z;
	return 0;
}

/* Decompress into out; the count of bytes, 0 at the end, -1 on error. */
static ssize_t
zread_step(struct repo_zread *z, unsigned char *out, size_t max)
{
	size_t produced = 0;

	while (produced == 0 && !z->out_eof) {
		if (zread_fill(z) < 0)
			return -1;
		size_t avail = z->in_len - z->in_pos;
		unsigned char *in = z->in + z->in_pos;

		switch (z->format) {
		case ZREAD_PLAIN:
			if (avail == 0) {
				z->out_eof = true;
				break;
			}
			produced = avail < max ? avail : max;
			memcpy(out, in, produced);
			z->in_pos += produced;
			break;
		case ZREAD_GZIP: {
			int r;
			z->gz.next_in = in;
			z->gz.avail_in = (uInt)avail;
			z->gz.next_out = out;
			z->gz.avail_out = (uInt)max;
			r = inflate(&z->gz, Z_NO_FLUSH);
			z->in_pos += avail - z->gz.avail_in;
			produced = max - z->gz.avail_out;
			if (r == Z_STREAM_END) {
				/* Concatenated gzip members continue; trailing data ends it. */
				if (zread_fill(z) < 0)
					return -1;
				if (z->in_pos < z->in_len && z->in[z->in_pos] == 0x1f)
					inflateReset(&z->gz);
				else
					z->out_eof = true;
			} else if (r != Z_OK && r != Z_BUF_ERROR) {
				snprintf(z->error, sizeof z->error, "%s: corrupt gzip data: %s",
				    z->name, z->gz.msg != NULL ? z->gz.msg : "error");
				return -1;
			} else if (produced == 0 && avail == 0 && z->in_eof) {
				snprintf(
				    z->error, sizeof z->error, "%s: truncated gzip data", z->name);
				return -1;
			}
			break;
		}
		case ZREAD_XZ: {
			lzma_ret r;
			z->xz.next_in = in;
			z->xz.avail_in = avail;
			z->xz.next_out = out;
			z->xz.avail_out = max;
			r = lzma_code(&z->xz, z->in_eof ? LZMA_FINISH : LZMA_RUN);
			z->in_pos += avail - z->xz.avail_in;
			produced = max - z->xz.avail_out;
			if (r == LZMA_STREAM_END) {
				z->out_eof = true;
			} else if (r != LZMA_OK && !(r == LZMA_BUF_ERROR && produced > 0)) {
				snprintf(z->error, sizeof z->error, "%s: corrupt xz data (%d)",
				    z->name, (int)r);
				return -1;
			}
			break;
		}
		case ZREAD_BZIP2: {
			int r;
			z->bz.next_in = (char *)in;
			z->bz.avail_in = (unsigned)avail;
			z->bz.next_out = (char *)out;
			z->bz.avail_out = (unsigned)max;
			r = BZ2_bzDecompress(&z->bz);
			z->in_pos += avail - z->bz.avail_in;
			produced = max - z->bz.avail_out;
			if (r == BZ_STREAM_END) {
				z->out_eof = true;
			} else if (r != BZ_OK) {
				snprintf(z->error, sizeof z->error, "%s: corrupt bzip2 data (%d)",
				    z->name, r);
				return -1;
			} else if (produced == 0 && avail == 0 && z->in_eof) {
				snprintf(z->error, sizeof z->error, "%s: truncated bzip2 data",
				    z->name);
				return -1;
			}
			break;
		}
		case ZREAD_ZSTD: {
			ZSTD_inBuffer ib = {in, avail, 0};
			ZSTD_outBuffer ob = {out, max, 0};
			size_t r = ZSTD_decompressStream(z->zstd, &ob, &ib);
			z->in_pos += ib.pos;
			produced = ob.pos;
			if (ZSTD_isError(r)) {
				snprintf(z->error, sizeof z->error, "%s: corrupt zstd data: %s",
				    z->name, ZSTD_getErrorName(r));
				return -1;
			}
			/* 0 means a frame just ended: a clean end if no input follows. */
			if (avail > 0 || produced > 0)
				z->zstd_frame_end = r == 0;
			if (z->zstd_frame_end && avail == 0 && z->in_eof && produced == 0)
				z->out_eof = true;
			else if (produced == 0 && avail == 0 && z->in_eof) {
				snprintf(
				    z->error, sizeof z->error, "%s: truncated zstd data", z->name);
				return -1;
			}
			break;
		}
		}
	}
	return (ssize_t)produced;
}

/* Read up to max decompressed bytes; 0 at the end, -1 on error (repo_zread_error says). */
ssize_t
repo_zread_read(struct repo_zread *z, void *buf, size_t max)
{
	ssize_t n;

	if (z->error[0] != '\0')
		return -1;
	n = zread_step(z, buf, max);
	if (n < 0)
		return -1;
	z->total_out += (uint64_t)n;
	if (z->max_out > 0 && z->total_out > z->max_out) {
		snprintf(z->error, sizeof z->error,
		    "%s: decompresses to more than the limit of %llu bytes", z->name,
		    (unsigned long long)z->max_out);
		return -1;
	}
	return n;
}

/* The last error, "" when none. */
const char *
repo_zread_error(const struct repo_zread *z)
{
	return z->error;
}

/* Close and free (NULL is fine). */
void
repo_zread_close(struct repo_zread *z)
{
	if (z == NULL)
		return;
	if (z->format == ZREAD_GZIP)
		inflateEnd(&z->gz);
	else if (z->format == ZREAD_XZ)
		lzma_end(&z->xz);
	else if (z->format == ZREAD_BZIP2)
		BZ2_bzDecompressEnd(&z->bz);
	ZSTD_freeDStream(z->zstd);
	if (z->fd >= 0)
		close(z->fd);
	free(z->name);
	free(z);
}

/* Read a whole (possibly compressed) file into out, at most max decompressed bytes. */
int
repo_zread_file(
    const char *path, const char *name, uint64_t max, struct buf *out, struct dr_error *err)
{
	struct repo_zread *z;
	char chunk[65536];
	ssize_t n;

	if (repo_zread_open(path, name, max, &z, err) < 0)
		return -1;
	while ((n = repo_zread_read(z, chunk, sizeof chunk)) > 0) {
		if (buf_add(out, chunk, (size_t)n) < 0) {
			dr_error_set(err, "%s: larger than the limit of %zu bytes",
			    name != NULL ? name : path, out->max);
			repo_zread_close(z);
			return -1;
		}
	}
	if (n < 0)
		dr_error_set(err, "%s", repo_zread_error(z));
	repo_zread_close(z);
	return n < 0 ? -1 : 0;
}

/* The decompressed-size cap for a metadata file (see repos.h). */
uint64_t
repo_zread_limit(uint64_t compressed, int64_t open_size)
{
	uint64_t cap = compressed * REPO_META_RATIO;

	if (cap < REPO_META_FLOOR)
		cap = REPO_META_FLOOR;
	if (cap > REPO_META_MAX)
		cap = REPO_META_MAX;
	if (open_size > 0 && (uint64_t)open_size < cap)
		cap = (uint64_t)open_size;
	return cap;
}

/* gzip data onto out (level 6, what createrepo_c uses). */
int
repo_zread_gzip(const void *data, size_t len, struct buf *out, struct dr_error *err)
{
	z_stream s = {0};
	unsigned char chunk[65536];
	int r;

	if (deflateInit2(&s, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return dr_error_set(err, "gzip: cannot start the encoder");
	s.next_in = (unsigned char *)data;
	s.avail_in = (uInt)len;
	do {
		s.next_out = chunk;
		s.avail_out = sizeof chunk;
		r = deflate(&s, Z_FINISH);
		if (r == Z_STREAM_ERROR || buf_add(out, chunk, sizeof chunk - s.avail_out) < 0) {
			deflateEnd(&s);
			return dr_error_set(err, "gzip: output over its limit");
		}
	} while (r != Z_STREAM_END);
	deflateEnd(&s);
	return 0;
}
