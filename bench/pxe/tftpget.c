/* tftpget.c - a lean TFTP read client for benchmarks (RFC 1350, 2347-2349, 7440). */
/*
 * tftpget [-b BLKSIZE] [-w WINDOWSIZE] [-T] [-t TIMEOUT_MS] [-r RETRIES] [-o FILE]
 *         [-c SOURCE] [-n BYTES] HOST PORT NAME
 *
 * Sends one RRQ (octet) with the options asked for, takes the server's OACK (or plain
 * DATA 1 from a server without options: then 512-byte blocks, lock-step), acknowledges
 * every windowsize-th block and the last one, and acknowledges the last block it got in
 * order at once when a block comes out of order and again on each timeout (RFC 7440).
 * Blocks go to FILE (-o) or nowhere; the byte count is checked against tsize (-T), against
 * -n BYTES, and against SOURCE (-c), whose SHA-256 must equal the received data's.
 * On success it prints one line:
 *   bytes=N ms=T MBps=R blksize=B windowsize=W acks=A reacks=E timeouts=O
 * and exits 0; on failure it says why on stderr and exits 1 (2 for usage).
 * Packets are taken with recvmmsg(2) in batches, so a window costs about one receive
 * call and one send: the client should not be what bounds the transfer.
 * Build: cc -O2 -o tftpget tftpget.c -lcrypto
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

enum { OP_RRQ = 1, OP_WRQ, OP_DATA, OP_ACK, OP_ERROR, OP_OACK };
#define BLKSIZE_MAX 65464
#define BATCH 64
#define OUTBUF (1 << 20)

static struct {
	int fd;
	struct sockaddr_storage server; /* the request's address, then the transfer's */
	socklen_t serverlen;
	int locked; /* the server's transfer identifier (its port) is known */
	unsigned blksize, window;
	uint64_t tsize;
	int have_tsize;
	uint64_t next; /* the next block wanted, absolute */
	uint64_t acked; /* the last block acknowledged */
	uint64_t reacked_for; /* next when the last out-of-order re-ACK was sent */
	uint64_t bytes;
	unsigned long acks, reacks, timeouts;
	int out_fd;
	unsigned char *outbuf;
	size_t outlen;
	EVP_MD_CTX *sha;
} c = {.fd = -1, .out_fd = -1};

/* Print a message and exit 1. */
static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("tftpget: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Monotonic time in microseconds. */
static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Parse a whole decimal number in [lo, hi] or exit with usage. */
static unsigned long long
number(const char *s, unsigned long long lo, unsigned long long hi, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "tftpget: %s '%s': expected a number from %llu to %llu\n", what, s,
		    lo, hi);
		exit(2);
	}
	return v;
}

/* Send an ACK for block n (its low 16 bits) to the server. */
static void
send_ack(uint64_t n)
{
	unsigned char pkt[4] = {0, OP_ACK, (unsigned char)(n >> 8), (unsigned char)n};

	if (sendto(c.fd, pkt, sizeof pkt, 0, (struct sockaddr *)&c.server, c.serverlen) < 0)
		die("send ACK %" PRIu64 ": %s", n, strerror(errno));
	c.acks++;
}

/* Tell a stranger that it is not our transfer (RFC 1350 error 5). */
static void
send_tid_error(const struct sockaddr_storage *to, socklen_t len)
{
	static const unsigned char pkt[] = "\0\5\0\5unknown transfer ID";

	(void)sendto(c.fd, pkt, sizeof pkt, 0, (const struct sockaddr *)to, len);
}

/* Write out what is buffered. */
static void
flush_out(void)
{
	size_t off = 0;

	while (off < c.outlen) {
		ssize_t w = write(c.out_fd, c.outbuf + off, c.outlen - off);
		if (w < 0 && errno != EINTR)
			die("write: %s", strerror(errno));
		if (w > 0)
			off += (size_t)w;
	}
	c.outlen = 0;
}

/* Take the payload of an in-order block. */
static void
consume(const unsigned char *data, size_t len)
{
	c.bytes += len;
	if (c.have_tsize && c.bytes > c.tsize)
		die("received %" PRIu64 " bytes, more than the tsize of %" PRIu64, c.bytes,
		    c.tsize);
	if (c.sha != NULL && EVP_DigestUpdate(c.sha, data, len) != 1)
		die("SHA-256 update failed");
	if (c.out_fd >= 0) {
		if (c.outlen + len > OUTBUF)
			flush_out();
		memcpy(c.outbuf + c.outlen, data, len);
		c.outlen += len;
	}
}

/* Parse an OACK: the options the server took; exits on one it had no right to add. */
static void
parse_oack(const unsigned char *p, size_t len, unsigned want_blk, unsigned want_win)
{
	const char *f[32];
	size_t nf = 0, pos = 2, i;
	char copy[1024];

	if (len > sizeof copy)
		die("OACK of %zu bytes: too long", len);
	memcpy(copy, p, len);
	while (pos < len && nf < 32) {
		char *end = memchr(copy + pos, 0, len - pos);
		if (end == NULL)
			die("OACK: an option not NUL-terminated");
		f[nf++] = copy + pos;
		pos = (size_t)(end - copy) + 1;
	}
	if (nf % 2 != 0)
		die("OACK: option '%s' without a value", f[nf - 1]);
	for (i = 0; i < nf; i += 2) {
		if (strcasecmp(f[i], "blksize") == 0)
			c.blksize = (unsigned)number(f[i + 1], 8, want_blk, "OACK blksize");
		else if (strcasecmp(f[i], "windowsize") == 0 && want_win > 0)
			c.window = (unsigned)number(f[i + 1], 1, want_win, "OACK windowsize");
		else if (strcasecmp(f[i], "tsize") == 0) {
			c.tsize = number(f[i + 1], 0, UINT64_MAX, "OACK tsize");
			c.have_tsize = 1;
		} else if (strcasecmp(f[i], "timeout") != 0)
			die("OACK: option '%s' was not asked for", f[i]);
	}
}

/* Handle one packet from the server; returns 1 when the transfer is complete. */
static int
handle(const unsigned char *p, size_t len, unsigned want_blk, unsigned want_win)
{
	uint16_t op, b;

	if (len < 4)
		die("a packet of %zu bytes from the server", len);
	op = (uint16_t)(p[0] << 8 | p[1]);
	b = (uint16_t)(p[2] << 8 | p[3]);
	if (op == OP_ERROR) {
		char msg[512];
		size_t n = len - 4 < sizeof msg - 1 ? len - 4 : sizeof msg - 1;
		memcpy(msg, p + 4, n);
		msg[n] = '\0';
		die("server error %u: %s", b, msg);
	}
	if (op == OP_OACK) {
		if (c.next != 1 || c.bytes != 0)
			return 0; /* a late duplicate */
		if (c.acked == 0 && c.acks == 0)
			parse_oack(p, len, want_blk, want_win);
		send_ack(0); /* again for a repeated OACK: ours was lost */
		return 0;
	}
	if (op != OP_DATA)
		die("unexpected opcode %u from the server", op);
	if (len - 4 > c.blksize)
		die("block %u of %zu bytes, over the blksize %u", b, len - 4, c.blksize);
	if (b != (uint16_t)c.next) {
		/* Out of order or a duplicate: say once where we are (RFC 7440 section 4). */
		if (c.reacked_for != c.next) {
			c.reacked_for = c.next;
			c.reacks++;
			send_ack(c.next - 1);
			c.acked = c.next - 1;
		}
		return 0;
	}
	consume(p + 4, len - 4);
	c.next++;
	if (len - 4 < c.blksize) {
		send_ack(c.next - 1);
		return 1;
	}
	if (c.next - 1 - c.acked >= c.window) {
		send_ack(c.next - 1);
		c.acked = c.next - 1;
	}
	return 0;
}

/* Hash a file with SHA-256 into md (32 bytes); returns its size. */
static uint64_t
sha256_file(const char *path, unsigned char *md)
{
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	unsigned char *buf = malloc(OUTBUF);
	uint64_t size = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	if (x == NULL || buf == NULL || EVP_DigestInit_ex(x, EVP_sha256(), NULL) != 1)
		die("SHA-256 init failed");
	while ((r = read(fd, buf, OUTBUF)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("%s: %s", path, strerror(errno));
		EVP_DigestUpdate(x, buf, (size_t)r);
		size += (uint64_t)r;
	}
	EVP_DigestFinal_ex(x, md, NULL);
	EVP_MD_CTX_free(x);
	free(buf);
	close(fd);
	return size;
}

static void
usage(void)
{
	fputs("usage: tftpget [-b BLKSIZE] [-w WINDOWSIZE] [-T] [-t TIMEOUT_MS] [-r RETRIES]\n"
	      "               [-o FILE] [-c SOURCE] [-n BYTES] HOST PORT NAME\n",
	    stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	unsigned want_blk = 0, want_win = 0, retries_max = 5;
	int want_tsize = 0, timeout_ms = 1000, opt, retries = 0, done = 0;
	const char *out = NULL, *source = NULL;
	long long expect = -1;
	unsigned char rrq[600], md[32], want_md[32];
	size_t rrqlen;
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *ai;
	struct timeval tv;
	static unsigned char bufs[BATCH][BLKSIZE_MAX + 4];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage from[BATCH];
	int64_t t0, t1, progress;
	int rc, i;

	while ((opt = getopt(argc, argv, "b:w:Tt:r:o:c:n:")) != -1) {
		switch (opt) {
		case 'b':
			want_blk = (unsigned)number(optarg, 8, BLKSIZE_MAX, "-b");
			break;
		case 'w':
			want_win = (unsigned)number(optarg, 1, 65535, "-w");
			break;
		case 'T':
			want_tsize = 1;
			break;
		case 't':
			timeout_ms = (int)number(optarg, 1, 255000, "-t");
			break;
		case 'r':
			retries_max = (unsigned)number(optarg, 0, 100, "-r");
			break;
		case 'o':
			out = optarg;
			break;
		case 'c':
			source = optarg;
			break;
		case 'n':
			expect = (long long)number(optarg, 0, INT64_MAX, "-n");
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 3)
		usage();
	if (strlen(argv[optind + 2]) > 400)
		die("file name '%.40s...' too long", argv[optind + 2]);
	if ((rc = getaddrinfo(argv[optind], argv[optind + 1], &hints, &ai)) != 0)
		die("%s port %s: %s", argv[optind], argv[optind + 1], gai_strerror(rc));
	memcpy(&c.server, ai->ai_addr, ai->ai_addrlen);
	c.serverlen = ai->ai_addrlen;
	c.fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	freeaddrinfo(ai);
	if (c.fd < 0)
		die("socket: %s", strerror(errno));
	/* recvmmsg blocks for the first packet at most this long. */
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	rc = 4 << 20;
	setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rc, sizeof rc);
	if (out != NULL) {
		c.out_fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (c.out_fd < 0)
			die("%s: %s", out, strerror(errno));
		if ((c.outbuf = malloc(OUTBUF)) == NULL)
			die("out of memory");
	}
	if (source != NULL) {
		uint64_t size = sha256_file(source, want_md);
		if (expect >= 0 && (uint64_t)expect != size)
			die("-n %lld but %s has %" PRIu64 " bytes", expect, source, size);
		expect = (long long)size;
		c.sha = EVP_MD_CTX_new();
		if (c.sha == NULL || EVP_DigestInit_ex(c.sha, EVP_sha256(), NULL) != 1)
			die("SHA-256 init failed");
	}

	rrqlen = (size_t)snprintf(
	             (char *)rrq + 2, sizeof rrq - 2, "%s%coctet%c", argv[optind + 2], 0, 0) +
	    2;
	if (want_blk > 0)
		rrqlen += (size_t)snprintf(
		    (char *)rrq + rrqlen, sizeof rrq - rrqlen, "blksize%c%u%c", 0, want_blk, 0);
	if (want_tsize)
		rrqlen += (size_t)snprintf(
		    (char *)rrq + rrqlen, sizeof rrq - rrqlen, "tsize%c0%c", 0, 0);
	if (want_win > 0)
		rrqlen += (size_t)snprintf(
		    (char *)rrq + rrqlen, sizeof rrq - rrqlen, "windowsize%c%u%c", 0, want_win, 0);
	rrq[0] = 0;
	rrq[1] = OP_RRQ;
	c.blksize = 512; /* until an OACK says otherwise */
	c.window = 1;
	c.next = 1;

	for (i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = sizeof bufs[i]};
		msgs[i].msg_hdr = (struct msghdr){.msg_name = &from[i],
		    .msg_namelen = sizeof from[i],
		    .msg_iov = &iov[i],
		    .msg_iovlen = 1};
	}
	t0 = now_us();
	if (sendto(c.fd, rrq, rrqlen, 0, (struct sockaddr *)&c.server, c.serverlen) < 0)
		die("send RRQ: %s", strerror(errno));
	progress = t0;
	while (!done) {
		int n;
		uint64_t before = c.next;

		for (i = 0; i < BATCH; i++)
			msgs[i].msg_hdr.msg_namelen = sizeof from[i];
		n = recvmmsg(c.fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			die("receive: %s", strerror(errno));
		for (i = 0; i < n && !done; i++) {
			struct sockaddr_storage *f = &from[i];
			socklen_t fl = msgs[i].msg_hdr.msg_namelen;
			if (!c.locked) {
				/* The first answer names the transfer's port; the address must
				 * be the one asked. */
				if (f->ss_family != c.server.ss_family ||
				    (f->ss_family == AF_INET &&
				        ((struct sockaddr_in *)f)->sin_addr.s_addr !=
				            ((struct sockaddr_in *)&c.server)->sin_addr.s_addr))
					continue;
				memcpy(&c.server, f, fl);
				c.serverlen = fl;
				c.locked = 1;
			} else if (fl != c.serverlen || memcmp(f, &c.server, fl) != 0) {
				send_tid_error(f, fl);
				continue;
			}
			done = handle(bufs[i], msgs[i].msg_len, want_blk, want_win);
		}
		if (done)
			break;
		if (c.next != before || (n > 0 && c.locked && c.next == 1)) {
			progress = now_us();
			retries = 0;
			continue;
		}
		if (now_us() - progress < (int64_t)timeout_ms * 1000)
			continue;
		/* Nothing new for a whole timeout: ask again, a bounded number of times. */
		if ((unsigned)++retries > retries_max)
			die("no block %" PRIu64 " after %u retries of %d ms (%" PRIu64
			    " bytes received)",
			    c.next, retries_max, timeout_ms, c.bytes);
		c.timeouts++;
		progress = now_us();
		if (!c.locked) {
			if (sendto(c.fd, rrq, rrqlen, 0, (struct sockaddr *)&c.server,
			        c.serverlen) < 0)
				die("send RRQ: %s", strerror(errno));
		} else {
			send_ack(c.next - 1);
			c.acked = c.next - 1;
		}
	}
	t1 = now_us();
	if (c.out_fd >= 0) {
		flush_out();
		if (close(c.out_fd) < 0)
			die("%s: %s", out, strerror(errno));
	}
	if (c.have_tsize && c.bytes != c.tsize)
		die("received %" PRIu64 " bytes, tsize said %" PRIu64, c.bytes, c.tsize);
	if (expect >= 0 && c.bytes != (uint64_t)expect)
		die("received %" PRIu64 " bytes, expected %lld", c.bytes, expect);
	if (c.sha != NULL) {
		EVP_DigestFinal_ex(c.sha, md, NULL);
		if (memcmp(md, want_md, sizeof md) != 0)
			die("SHA-256 of the %" PRIu64 " bytes received differs from %s's", c.bytes,
			    source);
	}
	printf("bytes=%" PRIu64 " ms=%.3f MBps=%.1f blksize=%u windowsize=%u acks=%lu "
	       "reacks=%lu timeouts=%lu\n",
	    c.bytes, (double)(t1 - t0) / 1000.0,
	    t1 > t0 ? (double)c.bytes / (double)(t1 - t0) : 0.0, c.blksize, c.window, c.acks,
	    c.reacks, c.timeouts);
	return 0;
}
