/* tftp.c - a read-only TFTP server (RFC 1350, 2347, 2348, 2349, 7440) on its own thread. */
#define LOG_COMPONENT "tftp"
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pxe/pxe.h"

enum { TFTP_RRQ = 1, TFTP_WRQ, TFTP_DATA, TFTP_ACK, TFTP_ERROR, TFTP_OACK };
enum {
	TFTP_E_UNDEF = 0,
	TFTP_E_NOTFOUND = 1,
	TFTP_E_ACCESS = 2,
	TFTP_E_ILLEGAL = 4,
	TFTP_E_TID = 5,
	TFTP_E_OPTION = 8,
};
#define TFTP_PATH_MAX 512
#define TFTP_PACKET_MAX (PXE_TFTP_BLKSIZE_MAX + 4)
/* A window is sent in chunks of at most this many bytes (a UDP datagram's payload, the
 * most one GSO send takes) and packets (the kernel's UDP_MAX_SEGMENTS). */
#define TFTP_CHUNK_BYTES 65507
#define TFTP_CHUNK_PACKETS 64
/* The read-ahead of a session whose windows are smaller than this. */
#define TFTP_READAHEAD (32 * 1024)

/* One transfer. */
struct tftp_session {
	int fd; /* its own socket: the server's transfer identifier */
	struct sockaddr_storage peer;
	socklen_t peerlen;
	int file_fd; /* -1 when served from mem */
	char *mem;
	uint64_t size;
	char *ra; /* read-ahead of the file: ra_len bytes from ra_off */
	uint64_t ra_off;
	size_t ra_len;
	bool gso; /* windows go out as UDP GSO datagrams until the path refuses one */
	unsigned blksize, window;
	int timeout_ms;
	uint64_t acked, sent, last_block;
	uint64_t resent_for; /* the window start a duplicate ACK had sent again, plus one */
	char *oack; /* pending option acknowledgement, resent until ACK 0 */
	size_t oacklen;
	int retries;
	int64_t deadline_us;
	char path[TFTP_PATH_MAX];
};

static struct {
	pthread_t thread;
	bool running;
	int fd;
	int stop_pipe[2];
	int port;
	char *root;
	int max_sessions, timeout_ms, retries;
	struct sockaddr_storage local;
	socklen_t locallen;
	struct tftp_session **sessions;
	int nsessions;
	pxe_tftp_generator gen;
	void *gen_ctx;
	atomic_uint_fast64_t st_sessions, st_completed, st_failed, st_bytes, st_refused;
} tftp = {.fd = -1, .stop_pipe = {-1, -1}, .port = -1};

/* Set the generator of per-host files. */
void
pxe_tftp_set_generator(pxe_tftp_generator fn, void *ctx)
{
	tftp.gen = fn;
	tftp.gen_ctx = ctx;
}

/* Counters since start. */
json_t *
pxe_tftp_stats(void)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "sessions", (json_int_t)tftp.st_sessions,
	    "completed", (json_int_t)tftp.st_completed, "failed", (json_int_t)tftp.st_failed,
	    "bytes", (json_int_t)tftp.st_bytes, "refused", (json_int_t)tftp.st_refused);
}

/* The bound port. */
int
pxe_tftp_port(void)
{
	return tftp.running ? tftp.port : -1;
}

/* Parse "ADDR:PORT", "[V6]:PORT", ":PORT" or "ADDR" (port 69). */
static int
tftp_addr_parse(
    const char *listen, struct sockaddr_storage *ss, socklen_t *len, struct dr_error *err)
{
	char host[INET6_ADDRSTRLEN + 2] = "";
	const char *portp = NULL;
	long long port = 69;
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (listen[0] == '[') {
		const char *end = strchr(listen, ']');
		if (end == NULL || (size_t)(end - listen - 1) >= sizeof host)
			return dr_error_set(err, "tftp listen '%s': expected [IPV6]:PORT", listen);
		memcpy(host, listen + 1, (size_t)(end - listen - 1));
		if (end[1] == ':')
			portp = end + 2;
		else if (end[1] != '\0')
			return dr_error_set(err, "tftp listen '%s': expected [IPV6]:PORT", listen);
	} else {
		const char *colon = strrchr(listen, ':');
		size_t hl = colon != NULL ? (size_t)(colon - listen) : strlen(listen);
		if (hl >= sizeof host)
			return dr_error_set(err, "tftp listen '%s': address too long", listen);
		memcpy(host, listen, hl);
		host[hl] = '\0';
		if (colon != NULL)
			portp = colon + 1;
	}
	if (portp != NULL && str_to_ll(portp, 0, 65535, &port) < 0)
		return dr_error_set(err, "tftp listen '%s': bad port", listen);
	if (strchr(host, ':') != NULL) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return dr_error_set(err, "tftp listen '%s': bad IPv6 address", listen);
		*len = sizeof *in6;
	} else {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		if (host[0] == '\0')
			in4->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
			return dr_error_set(err, "tftp listen '%s': bad IPv4 address", listen);
		*len = sizeof *in4;
	}
	return 0;
}

/* Send an ERROR packet from fd to peer. */
static void
tftp_send_error(
    int fd, const struct sockaddr_storage *peer, socklen_t len, int code, const char *msg)
{
	unsigned char pkt[256];
	size_t n = strlen(msg);

	if (n > sizeof pkt - 5)
		n = sizeof pkt - 5;
	pkt[0] = 0;
	pkt[1] = TFTP_ERROR;
	pkt[2] = (unsigned char)(code >> 8);
	pkt[3] = (unsigned char)code;
	memcpy(pkt + 4, msg, n);
	pkt[4 + n] = 0;
	(void)sendto(fd, pkt, n + 5, 0, (const struct sockaddr *)peer, len);
}

static void
tftp_session_free(struct tftp_session *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->file_fd >= 0)
		close(s->file_fd);
	free(s->mem);
	free(s->ra);
	free(s->oack);
	free(s);
}

/* Fill buf with data packets first..first+n-1 of s, each its 4-byte header then its
 * block, back to back: one preadv(2) puts the file's blocks between the headers. Returns
 * the bytes filled (the last packet may be short), -1 on a read error or a file that
 * shrank under the transfer. */
static ssize_t
tftp_window_fill(struct tftp_session *s, unsigned char *buf, uint64_t first, unsigned n)
{
	struct iovec iov[TFTP_CHUNK_PACKETS];
	uint64_t off = (first - 1) * s->blksize, b;
	size_t want = 0, pos = 0;
	unsigned i;

	for (i = 0, b = first; i < n; i++, b++) {
		uint64_t o = (b - 1) * s->blksize;
		size_t len = 0;
		if (o < s->size)
			len = s->size - o < s->blksize ? (size_t)(s->size - o) : s->blksize;
		buf[pos] = 0;
		buf[pos + 1] = TFTP_DATA;
		buf[pos + 2] = (unsigned char)((b >> 8) & 0xff);
		buf[pos + 3] = (unsigned char)(b & 0xff);
		iov[i] = (struct iovec){.iov_base = buf + pos + 4, .iov_len = len};
		want += len;
		pos += len + 4;
	}
	if (want > 0 && s->file_fd >= 0 && want > TFTP_READAHEAD) {
		ssize_t r = preadv(s->file_fd, iov, (int)n, (off_t)off);
		if (r < 0 || (size_t)r != want)
			return -1;
	} else if (want > 0) {
		const char *src;
		if (s->file_fd < 0) {
			src = s->mem + off;
		} else {
			/* Small windows (lock-step above all) from a read-ahead buffer: one
			 * read for many blocks. */
			if (off < s->ra_off || off + want > s->ra_off + s->ra_len) {
				size_t l = s->size - off < TFTP_READAHEAD ? (size_t)(s->size - off)
				                                          : TFTP_READAHEAD;
				ssize_t r;
				if (s->ra == NULL)
					s->ra = xmalloc(TFTP_READAHEAD);
				r = pread(s->file_fd, s->ra, l, (off_t)off);
				if (r < 0 || (size_t)r < want) {
					s->ra_len = 0;
					return -1;
				}
				s->ra_off = off;
				s->ra_len = (size_t)r;
			}
			src = s->ra + (off - s->ra_off);
		}
		for (i = 0; i < n; i++)
			memcpy(iov[i].iov_base, src + (size_t)i * s->blksize, iov[i].iov_len);
	}
	tftp.st_bytes += want;
	return (ssize_t)pos;
}

/* Send n packets of pktlen bytes (the last possibly shorter), back to back in buf: as one
 * UDP GSO datagram the kernel cuts into packets (one trip through the stack, one wakeup
 * of the receiver) where the path takes it, else with one sendmmsg(2). A packet the
 * kernel would not send (a full buffer, a local firewall's EPERM, no route) counts as
 * lost on the way: the retransmission timer and its bounded retries deal with it. */
static void
tftp_chunk_send(struct tftp_session *s, unsigned char *buf, size_t len, size_t pktlen)
{
	struct mmsghdr msg[TFTP_CHUNK_PACKETS];
	struct iovec iov[TFTP_CHUNK_PACKETS];
	unsigned i, n = (unsigned)((len + pktlen - 1) / pktlen);
	int sent;

	if (n == 1) {
		/* sendmmsg(2) would yield the CPU after the packet (cond_resched): the woken
		 * receiver then preempts us on every lock-step block. */
		(void)sendto(s->fd, buf, len, 0, (struct sockaddr *)&s->peer, s->peerlen);
		return;
	}
	if (s->gso) {
		union {
			char buf[CMSG_SPACE(sizeof(uint16_t))];
			struct cmsghdr align;
		} ctl;
		struct iovec one = {.iov_base = buf, .iov_len = len};
		struct msghdr m = {.msg_name = &s->peer,
		    .msg_namelen = s->peerlen,
		    .msg_iov = &one,
		    .msg_iovlen = 1,
		    .msg_control = ctl.buf,
		    .msg_controllen = sizeof ctl.buf};
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		uint16_t seg = (uint16_t)pktlen;

		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof seg);
		memcpy(CMSG_DATA(c), &seg, sizeof seg);
		if (sendmsg(s->fd, &m, 0) >= 0)
			return;
		if (errno != EINVAL && errno != EIO && errno != EMSGSIZE && errno != EOPNOTSUPP &&
		    errno != ENOPROTOOPT)
			return;
		s->gso = false; /* the path (MTU, device) does not take it: packet by packet */
	}
	for (i = 0; i < n; i++) {
		size_t l = i + 1 < n ? pktlen : len - (size_t)i * pktlen;
		iov[i] = (struct iovec){.iov_base = buf + (size_t)i * pktlen, .iov_len = l};
		msg[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &s->peer,
		                              .msg_namelen = s->peerlen,
		                              .msg_iov = &iov[i],
		                              .msg_iovlen = 1}};
	}
	for (i = 0; i < n;) {
		sent = sendmmsg(s->fd, msg + i, n - i, 0);
		i += sent > 0 ? (unsigned)sent : 1; /* on failure, msg[i] is lost */
	}
}

/* Send the window after the last acknowledged block, in chunks of at most
 * TFTP_CHUNK_BYTES: two system calls for each, whatever the window. */
static int
tftp_send_window(struct tftp_session *s)
{
	static __thread unsigned char
	    buf[TFTP_CHUNK_BYTES > TFTP_PACKET_MAX ? TFTP_CHUNK_BYTES : TFTP_PACKET_MAX];
	size_t pktlen = s->blksize + 4;
	unsigned per = (unsigned)(TFTP_CHUNK_BYTES / pktlen);
	uint64_t b = s->acked + 1, end = s->acked + s->window;

	if (end > s->last_block)
		end = s->last_block;
	if (per == 0)
		per = 1;
	if (per > TFTP_CHUNK_PACKETS)
		per = TFTP_CHUNK_PACKETS;
	while (b <= end) {
		unsigned n = end - b + 1 < per ? (unsigned)(end - b + 1) : per;
		ssize_t len = tftp_window_fill(s, buf, b, n);
		if (len < 0)
			return -1;
		tftp_chunk_send(s, buf, (size_t)len, pktlen);
		b += n;
		s->sent = b - 1;
	}
	s->deadline_us = time_mono_us() + (int64_t)s->timeout_ms * 1000;
	return 0;
}

/* Clean a request path: no leading '/', backslashes as '/', no ".." component. */
static int
tftp_path_clean(const char *in, char *out, size_t size)
{
	const char *p = in;
	size_t o = 0;

	while (*p == '/' || *p == '\\')
		p++;
	if (*p == '\0' || strlen(p) >= size)
		return -1;
	for (; *p != '\0'; p++)
		out[o++] = *p == '\\' ? '/' : *p;
	out[o] = '\0';
	/* Every component is checked, "a/../../b" as well as "..". */
	for (p = out; p != NULL; p = strchr(p, '/') != NULL ? strchr(p, '/') + 1 : NULL) {
		if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
			return -1;
	}
	return 0;
}

/* Number of sessions of a client address (ports ignored). */
static int
tftp_client_sessions(const struct sockaddr_storage *peer)
{
	int i, n = 0;

	for (i = 0; i < tftp.nsessions; i++) {
		const struct sockaddr_storage *o = &tftp.sessions[i]->peer;
		if (o->ss_family != peer->ss_family)
			continue;
		if (peer->ss_family == AF_INET &&
		    ((const struct sockaddr_in *)o)->sin_addr.s_addr ==
		        ((const struct sockaddr_in *)peer)->sin_addr.s_addr)
			n++;
		else if (peer->ss_family == AF_INET6 &&
		    memcmp(&((const struct sockaddr_in6 *)o)->sin6_addr,
		        &((const struct sockaddr_in6 *)peer)->sin6_addr, 16) == 0)
			n++;
	}
	return n;
}

/* Handle a read request arriving on the listening socket. */
static void
tftp_request(
    const unsigned char *pkt, size_t len, const struct sockaddr_storage *peer, socklen_t peerlen)
{
	const char *fields[2 + 2 * 8];
	size_t nf = 0, pos = 2, i;
	struct tftp_session *s;
	struct buf oack = BUF_INIT(512);
	struct sockaddr_storage local;
	socklen_t locallen = tftp.locallen;
	char clean[TFTP_PATH_MAX];
	uint16_t op = (uint16_t)(pkt[0] << 8 | pkt[1]);
	struct stat st;
	int r;

	if (op == TFTP_WRQ) {
		tftp.st_refused++;
		tftp_send_error(tftp.fd, peer, peerlen, TFTP_E_ACCESS, "read-only server");
		return;
	}
	if (op != TFTP_RRQ) {
		tftp_send_error(tftp.fd, peer, peerlen, TFTP_E_ILLEGAL, "expected a read request");
		return;
	}
	/* NUL-terminated strings: filename, mode, then option/value pairs. */
	while (pos < len && nf < nitems(fields)) {
		const unsigned char *end = memchr(pkt + pos, 0, len - pos);
		if (end == NULL)
			break;
		fields[nf++] = (const char *)pkt + pos;
		pos = (size_t)(end - pkt) + 1;
	}
	if (nf < 2 ||
	    (strcasecmp(fields[1], "octet") != 0 && strcasecmp(fields[1], "netascii") != 0)) {
		tftp_send_error(tftp.fd, peer, peerlen, TFTP_E_ILLEGAL, "malformed read request");
		return;
	}
	if (tftp.nsessions >= tftp.max_sessions ||
	    tftp_client_sessions(peer) >= PXE_TFTP_PER_CLIENT_MAX) {
		tftp.st_refused++;
		tftp_send_error(tftp.fd, peer, peerlen, TFTP_E_UNDEF, "too many transfers, retry");
		return;
	}
	if (tftp_path_clean(fields[0], clean, sizeof clean) < 0) {
		tftp.st_refused++;
		log_warnx("refused path '%.100s'", fields[0]);
		tftp_send_error(tftp.fd, peer, peerlen, TFTP_E_ACCESS, "access violation");
		return;
	}
	s = xcalloc(1, sizeof *s);
	s->fd = -1;
	s->file_fd = -1;
	s->blksize = 512;
	s->window = 1;
	s->gso = true;
	s->timeout_ms = tftp.timeout_ms;
	memcpy(&s->peer, peer, peerlen);
	s->peerlen = peerlen;
	str_copy(s->path, clean, sizeof s->path);

	r = 0;
	if (tftp.gen != NULL) {
		size_t mlen = 0;
		r = tftp.gen(tftp.gen_ctx, clean, &s->mem, &mlen);
		s->size = mlen;
	}
	if (r < 0) {
		tftp_send_error(tftp.fd, peer, peerlen, TFTP_E_NOTFOUND, "file not found");
		goto fail;
	}
	if (r == 0) {
		s->file_fd = pxe_bootfiles_open(tftp.root, clean);
		if (s->file_fd < 0) {
			int code = errno == ENOENT ? TFTP_E_NOTFOUND : TFTP_E_ACCESS;
			if (errno == EXDEV || errno == ELOOP)
				log_warnx("refused path '%.100s' leaving the root", clean);
			tftp_send_error(tftp.fd, peer, peerlen, code,
			    code == TFTP_E_NOTFOUND ? "file not found" : "access violation");
			goto fail;
		}
		if (fstat(s->file_fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    (uint64_t)st.st_size > PXE_TFTP_FILE_MAX) {
			tftp_send_error(tftp.fd, peer, peerlen, TFTP_E_ACCESS,
			    "not a regular file of a size TFTP can send");
			goto fail;
		}
		s->size = (uint64_t)st.st_size;
		(void)posix_fadvise(s->file_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	}

	for (i = 2; i + 1 < nf; i += 2) {
		const char *name = fields[i], *val = fields[i + 1];
		long long v;

		if (strcasecmp(name, "blksize") == 0 && str_to_ll(val, 8, 65535, &v) == 0) {
			s->blksize = v > PXE_TFTP_BLKSIZE_MAX ? PXE_TFTP_BLKSIZE_MAX : (unsigned)v;
			buf_addf(&oack, "blksize%c%u%c", 0, s->blksize, 0);
		} else if (strcasecmp(name, "tsize") == 0 && s->size > 0) {
			/* Not acknowledged for an empty file: curl takes tsize 0 for an error,
			 * and RFC 2349 lets a server leave the option out. */
			buf_addf(&oack, "tsize%c%llu%c", 0, (unsigned long long)s->size, 0);
		} else if (strcasecmp(name, "timeout") == 0 && str_to_ll(val, 1, 255, &v) == 0) {
			s->timeout_ms = (int)v * 1000;
			buf_addf(&oack, "timeout%c%lld%c", 0, v, 0);
		} else if (strcasecmp(name, "windowsize") == 0 &&
		    str_to_ll(val, 1, 65535, &v) == 0) {
			s->window = v > PXE_TFTP_WINDOW_MAX ? PXE_TFTP_WINDOW_MAX : (unsigned)v;
			buf_addf(&oack, "windowsize%c%u%c", 0, s->window, 0);
		}
	}
	s->last_block = s->size / s->blksize + 1;
	if (s->last_block > (PXE_TFTP_FILE_MAX / 8) + 1) {
		tftp_send_error(tftp.fd, peer, peerlen, TFTP_E_ACCESS, "file too large");
		goto fail;
	}

	/* A new socket on the listening address: the transfer's own identifier. */
	memcpy(&local, &tftp.local, tftp.locallen);
	if (local.ss_family == AF_INET)
		((struct sockaddr_in *)&local)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&local)->sin6_port = 0;
	s->fd = socket(local.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&local, locallen) < 0) {
		log_warn("transfer socket");
		tftp_send_error(tftp.fd, peer, peerlen, TFTP_E_UNDEF, "server busy");
		goto fail;
	}
	if (oack.len > 0) {
		s->oacklen = oack.len + 2;
		s->oack = xmalloc(s->oacklen);
		s->oack[0] = 0;
		s->oack[1] = TFTP_OACK;
		memcpy(s->oack + 2, oack.data, oack.len);
		(void)sendto(
		    s->fd, s->oack, s->oacklen, 0, (struct sockaddr *)&s->peer, s->peerlen);
		s->deadline_us = time_mono_us() + (int64_t)s->timeout_ms * 1000;
	} else if (tftp_send_window(s) < 0) {
		goto fail;
	}
	buf_free(&oack);
	tftp.sessions[tftp.nsessions++] = s;
	tftp.st_sessions++;
	log_debug("RRQ %s (%llu bytes, blksize %u, window %u)", clean, (unsigned long long)s->size,
	    s->blksize, s->window);
	return;
fail:
	buf_free(&oack);
	tftp.st_failed++;
	tftp_session_free(s);
}

/* A packet for session s; returns 1 when the session is over. */
static int
tftp_session_packet(struct tftp_session *s, const unsigned char *pkt, size_t len)
{
	uint16_t op, w;
	uint64_t abs;

	if (len < 4)
		return 0;
	op = (uint16_t)(pkt[0] << 8 | pkt[1]);
	w = (uint16_t)(pkt[2] << 8 | pkt[3]);
	if (op == TFTP_ERROR) {
		tftp.st_failed++;
		return 1;
	}
	if (op != TFTP_ACK) {
		tftp_send_error(s->fd, &s->peer, s->peerlen, TFTP_E_ILLEGAL, "expected an ACK");
		tftp.st_failed++;
		return 1;
	}
	if (s->oack != NULL) {
		if (w != 0)
			return 0;
		free(s->oack);
		s->oack = NULL;
		s->retries = 0;
		return tftp_send_window(s) < 0;
	}
	/* The absolute block the 16-bit number stands for, at or below the last sent. */
	abs = s->sent - (uint16_t)((uint16_t)s->sent - w);
	if (abs == s->acked && s->window > 1 && s->resent_for != s->acked + 1) {
		/* The receiver saw a gap at the window's first block (RFC 7440: it then
		 * acknowledges the last block it got in order): the window again, at once, but
		 * once for each window start, so duplicated ACKs cannot double the traffic. */
		s->resent_for = s->acked + 1;
		return tftp_send_window(s) < 0;
	}
	if (abs <= s->acked || abs > s->sent)
		return 0; /* an old or duplicate ACK: never answered (Sorcerer's Apprentice) */
	s->acked = abs;
	s->retries = 0;
	if (s->acked >= s->last_block) {
		tftp.st_completed++;
		return 1;
	}
	/* A whole window acknowledged, or part of it (RFC 7440: the receiver acknowledges
	 * the last block it got in order): the next window starts after it. */
	return tftp_send_window(s) < 0;
}

/* A session's deadline passed: retransmit, or give up. Returns 1 when over. */
static int
tftp_session_timeout(struct tftp_session *s)
{
	if (++s->retries > tftp.retries) {
		log_debug("transfer of %s timed out", s->path);
		tftp.st_failed++;
		return 1;
	}
	if (s->oack != NULL) {
		(void)sendto(
		    s->fd, s->oack, s->oacklen, 0, (struct sockaddr *)&s->peer, s->peerlen);
		s->deadline_us = time_mono_us() + (int64_t)s->timeout_ms * 1000;
		return 0;
	}
	return tftp_send_window(s) < 0;
}

static void
tftp_session_remove(int i)
{
	tftp_session_free(tftp.sessions[i]);
	tftp.sessions[i] = tftp.sessions[--tftp.nsessions];
}

static void *
tftp_thread(void *arg)
{
	static unsigned char pkt[TFTP_PACKET_MAX];
	struct pollfd *pfd = xcalloc((size_t)tftp.max_sessions + 2, sizeof *pfd);
	struct sockaddr_storage peer;
	socklen_t peerlen;
	ssize_t n;
	int i, timeout;

	for (;;) {
		int64_t now = time_mono_us(), next = now + 1000000;
		int ns = tftp.nsessions;

		pfd[0] = (struct pollfd){.fd = tftp.stop_pipe[0], .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = tftp.fd, .events = POLLIN};
		for (i = 0; i < ns; i++) {
			pfd[i + 2] = (struct pollfd){.fd = tftp.sessions[i]->fd, .events = POLLIN};
			if (tftp.sessions[i]->deadline_us < next)
				next = tftp.sessions[i]->deadline_us;
		}
		timeout = next > now ? (int)((next - now + 999) / 1000) : 0;
		if (poll(pfd, (nfds_t)ns + 2, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents != 0)
			break;
		/* Sessions first, by index from the end, so removal does not skip one. */
		for (i = ns; i-- > 0;) {
			struct tftp_session *s = tftp.sessions[i];
			int over = 0;

			if (pfd[i + 2].revents & POLLIN) {
				peerlen = sizeof peer;
				n = recvfrom(
				    s->fd, pkt, sizeof pkt, 0, (struct sockaddr *)&peer, &peerlen);
				if (n >= 0 &&
				    (peerlen != s->peerlen ||
				        memcmp(&peer, &s->peer, peerlen) != 0)) {
					tftp_send_error(s->fd, &peer, peerlen, TFTP_E_TID,
					    "unknown transfer ID");
				} else if (n >= 0) {
					over = tftp_session_packet(s, pkt, (size_t)n);
				}
			}
			if (!over && time_mono_us() >= s->deadline_us)
				over = tftp_session_timeout(s);
			if (over)
				tftp_session_remove(i);
		}
		if (pfd[1].revents & POLLIN) {
			int burst;
			/* A bounded burst of new requests per turn keeps transfers moving. */
			for (burst = 0; burst < 64; burst++) {
				peerlen = sizeof peer;
				n = recvfrom(tftp.fd, pkt, sizeof pkt - 1, 0,
				    (struct sockaddr *)&peer, &peerlen);
				if (n < 0)
					break;
				if (n < 4)
					continue;
				pkt[n] = 0;
				tftp_request(pkt, (size_t)n, &peer, peerlen);
			}
		}
	}
	free(pfd);
	return NULL;
}

/* Start the server thread. */
int
pxe_tftp_start(const struct pxe_tftp_opts *o, struct dr_error *err)
{
	struct stat st;
	int one = 1;

	if (tftp.running)
		return dr_error_set(err, "tftp: already running");
	if (o->root == NULL || stat(o->root, &st) < 0 || !S_ISDIR(st.st_mode))
		return dr_error_set(
		    err, "tftp root %s: not a directory", o->root != NULL ? o->root : "(none)");
	if (tftp_addr_parse(o->listen, &tftp.local, &tftp.locallen, err) < 0)
		return -1;
	tftp.fd = socket(tftp.local.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (tftp.fd < 0)
		return dr_error_errno(err, "tftp %s: socket", o->listen);
	setsockopt(tftp.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(tftp.fd, (struct sockaddr *)&tftp.local, tftp.locallen) < 0) {
		dr_error_errno(err, "tftp %s: bind", o->listen);
		goto fail;
	}
	if (getsockname(tftp.fd, (struct sockaddr *)&tftp.local, &tftp.locallen) < 0) {
		dr_error_errno(err, "tftp %s: getsockname", o->listen);
		goto fail;
	}
	tftp.port = ntohs(tftp.local.ss_family == AF_INET
	        ? ((struct sockaddr_in *)&tftp.local)->sin_port
	        : ((struct sockaddr_in6 *)&tftp.local)->sin6_port);
	if (pipe2(tftp.stop_pipe, O_CLOEXEC) < 0) {
		dr_error_errno(err, "tftp: pipe");
		goto fail;
	}
	tftp.root = xstrdup(o->root);
	tftp.max_sessions = o->max_sessions > 0 && o->max_sessions <= PXE_TFTP_SESSIONS_MAX
	    ? o->max_sessions
	    : 256;
	tftp.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 1000;
	tftp.retries = o->retries > 0 ? o->retries : 5;
	tftp.sessions = xcalloc((size_t)tftp.max_sessions, sizeof *tftp.sessions);
	tftp.nsessions = 0;
	tftp.st_sessions = tftp.st_completed = tftp.st_failed = tftp.st_bytes = 0;
	tftp.st_refused = 0;
	if (pthread_create(&tftp.thread, NULL, tftp_thread, NULL) != 0) {
		dr_error_set(err, "tftp: cannot start its thread");
		goto fail;
	}
	tftp.running = true;
	return 0;
fail:
	close(tftp.fd);
	tftp.fd = -1;
	if (tftp.stop_pipe[0] >= 0) {
		close(tftp.stop_pipe[0]);
		close(tftp.stop_pipe[1]);
		tftp.stop_pipe[0] = tftp.stop_pipe[1] = -1;
	}
	free(tftp.root);
	tftp.root = NULL;
	free(tftp.sessions);
	tftp.sessions = NULL;
	return -1;
}

/* Stop the thread and end every transfer. */
void
pxe_tftp_stop(void)
{
	if (!tftp.running)
		return;
	(void)write(tftp.stop_pipe[1], "x", 1);
	pthread_join(tftp.thread, NULL);
	while (tftp.nsessions > 0)
		tftp_session_remove(tftp.nsessions - 1);
	free(tftp.sessions);
	tftp.sessions = NULL;
	close(tftp.fd);
	close(tftp.stop_pipe[0]);
	close(tftp.stop_pipe[1]);
	tftp.fd = tftp.stop_pipe[0] = tftp.stop_pipe[1] = -1;
	free(tftp.root);
	tftp.root = NULL;
	tftp.running = false;
	tftp.port = -1;
}
