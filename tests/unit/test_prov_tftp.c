/* test_prov_tftp.c - the TFTP server (pxe/tftp.c) packet by packet over loopback: option
 * negotiation, block sequence and rollover, windows, retransmission, errors, transfer
 * identifiers, generated files and paths that try to leave the root. */
#include "tests/unit/unit.h"

#include "pxe/pxe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

static char *root;
static int sock = -1;
static struct sockaddr_in server;

/* A generated file for "gen/hello"; "gen/missing" is refused. */
static int
gen(void *ctx, const char *path, char **ret, size_t *ret_len)
{
	(void)ctx;
	if (strcmp(path, "gen/hello") == 0) {
		*ret = xstrdup("hello from the generator\n");
		*ret_len = strlen(*ret);
		return 1;
	}
	return strcmp(path, "gen/missing") == 0 ? -1 : 0;
}

static void
write_file(const char *name, size_t size)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", root, name);
	_cleanup_free_ char *data = xmalloc(size + 1);
	size_t i;

	for (i = 0; i < size; i++)
		data[i] = (char)(i * 7 + i / 511);
	assert_int_equal(file_write_atomic(path, data, size, 0644, NULL), 0);
}

static int
setup(void **state)
{
	struct pxe_tftp_opts o = {.listen = "127.0.0.1:0", .timeout_ms = 200, .retries = 2};
	struct dr_error err;

	root = unit_dir_make("tftp");
	write_file("small", 700);
	write_file("exact", 1024);
	write_file("big", 512 * 70000 + 3); /* more than 65535 blocks of 512: rollover */
	o.root = root;
	pxe_tftp_set_generator(gen, NULL);
	if (pxe_tftp_start(&o, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	memset(&server, 0, sizeof server);
	server.sin_family = AF_INET;
	server.sin_port = htons((uint16_t)pxe_tftp_port());
	server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	*state = NULL;
	return sock < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	pxe_tftp_stop();
	close(sock);
	unit_dir_remove(root);
	(void)state;
	return 0;
}

/* Send a read request with options (name, value, name, value, ..., NULL). */
static void
rrq(const char *file, ...)
{
	unsigned char pkt[512];
	size_t n = 2;
	const char *s;
	va_list ap;

	pkt[0] = 0;
	pkt[1] = 1;
	n += (size_t)sprintf((char *)pkt + n, "%s", file) + 1;
	n += (size_t)sprintf((char *)pkt + n, "octet") + 1;
	va_start(ap, file);
	while ((s = va_arg(ap, const char *)) != NULL)
		n += (size_t)sprintf((char *)pkt + n, "%s", s) + 1;
	va_end(ap);
	assert_true(sendto(sock, pkt, n, 0, (struct sockaddr *)&server, sizeof server) > 0);
}

/* Receive one packet within ms; its length, or -1 on timeout. from gets the sender. */
static ssize_t
recv_pkt(unsigned char *buf, size_t size, struct sockaddr_in *from, int ms)
{
	struct pollfd p = {.fd = sock, .events = POLLIN};
	socklen_t len = sizeof *from;

	if (poll(&p, 1, ms) <= 0)
		return -1;
	return recvfrom(sock, buf, size, 0, (struct sockaddr *)from, &len);
}

static void
ack(const struct sockaddr_in *to, uint16_t block)
{
	unsigned char pkt[4] = {0, 4, (unsigned char)(block >> 8), (unsigned char)block};

	sendto(sock, pkt, 4, 0, (const struct sockaddr *)to, sizeof *to);
}

/* End a transfer with an ERROR and drop what it still had in flight. */
static void
abandon(const struct sockaddr_in *to)
{
	unsigned char pkt[] = "\0\5\0\0stop";
	unsigned char buf[2048];
	struct sockaddr_in from;

	sendto(sock, pkt, sizeof pkt, 0, (const struct sockaddr *)to, sizeof *to);
	while (recv_pkt(buf, sizeof buf, &from, 300) > 0)
		;
}

static uint16_t
op(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint16_t
num(const unsigned char *p)
{
	return (uint16_t)(p[2] << 8 | p[3]);
}

static void
test_plain_transfer(void **state)
{
	unsigned char buf[1024];
	struct sockaddr_in from;
	ssize_t n;

	rrq("small", NULL);
	n = recv_pkt(buf, sizeof buf, &from, 2000);
	assert_int_equal(n, 4 + 512);
	assert_int_equal(op(buf), 3);
	assert_int_equal(num(buf), 1);
	/* The transfer comes from a new port: its own identifier. */
	assert_int_not_equal(from.sin_port, server.sin_port);
	ack(&from, 1);
	n = recv_pkt(buf, sizeof buf, &from, 2000);
	assert_int_equal(n, 4 + 188);
	assert_int_equal(num(buf), 2);
	ack(&from, 2);
	assert_int_equal(recv_pkt(buf, sizeof buf, &from, 300), -1); /* done */
	(void)state;
}

static void
test_options_and_exact_multiple(void **state)
{
	unsigned char buf[2048];
	struct sockaddr_in from;
	ssize_t n;

	rrq("exact", "blksize", "1024", "tsize", "0", "timeout", "3", "windowsize", "4", "unknown",
	    "x", NULL);
	n = recv_pkt(buf, sizeof buf, &from, 2000);
	assert_int_equal(op(buf), 6); /* OACK with each option we took, unknown ones left out */
	{
		const char want[] = "blksize\0"
		                    "1024\0tsize\0"
		                    "1024\0timeout\0"
		                    "3\0windowsize\0"
		                    "4";
		assert_int_equal(n, 2 + (ssize_t)sizeof want);
		assert_memory_equal(buf + 2, want, sizeof want);
	}
	ack(&from, 0);
	n = recv_pkt(buf, sizeof buf, &from, 2000);
	assert_int_equal(n, 4 + 1024);
	assert_int_equal(num(buf), 1);
	/* 1024 bytes at blksize 1024: an empty second block ends the transfer. */
	n = recv_pkt(buf, sizeof buf, &from, 2000);
	assert_int_equal(n, 4);
	assert_int_equal(num(buf), 2);
	ack(&from, 2);
	(void)state;
}

static void
test_window_and_retransmit(void **state)
{
	unsigned char buf[1024];
	struct sockaddr_in from;
	int i;

	rrq("big", "windowsize", "8", NULL);
	assert_true(recv_pkt(buf, sizeof buf, &from, 2000) > 0);
	assert_int_equal(op(buf), 6);
	ack(&from, 0);
	for (i = 1; i <= 8; i++) {
		assert_int_equal(recv_pkt(buf, sizeof buf, &from, 2000), 516);
		assert_int_equal(num(buf), i);
	}
	/* No more until acknowledged. */
	assert_int_equal(recv_pkt(buf, sizeof buf, &from, 100), -1);
	/* Blocks 6-8 lost: ACK 5 brings the window 6-13 at once. */
	ack(&from, 5);
	for (i = 6; i <= 13; i++) {
		assert_int_equal(recv_pkt(buf, sizeof buf, &from, 2000), 516);
		assert_int_equal(num(buf), i);
	}
	/* Block 6 lost: the receiver acknowledges 5 again, which brings 6-13 at once (RFC
	 * 7440), but only once: a duplicate of that ACK brings nothing. */
	ack(&from, 5);
	for (i = 6; i <= 13; i++) {
		assert_int_equal(recv_pkt(buf, sizeof buf, &from, 2000), 516);
		assert_int_equal(num(buf), i);
	}
	ack(&from, 5);
	assert_int_equal(recv_pkt(buf, sizeof buf, &from, 100), -1);
	/* An old ACK changes nothing; no ACK at all brings the unacknowledged window again. */
	ack(&from, 3);
	assert_int_equal(recv_pkt(buf, sizeof buf, &from, 2000), 516);
	assert_int_equal(num(buf), 6);
	abandon(&from);
	(void)state;
}

static void
test_rollover(void **state)
{
	unsigned char buf[1024];
	struct sockaddr_in from;
	uint32_t expect = 1, got = 0;
	ssize_t n;

	rrq("big", NULL);
	for (;;) {
		n = recv_pkt(buf, sizeof buf, &from, 2000);
		assert_true(n >= 4);
		assert_int_equal(num(buf), (uint16_t)expect);
		got += (uint32_t)(n - 4);
		ack(&from, num(buf));
		if (n < 516)
			break;
		expect++;
	}
	assert_int_equal(got, 512 * 70000 + 3);
	assert_true(expect > 65536);
	(void)state;
}

static void
test_errors(void **state)
{
	unsigned char buf[600], wrq[] = "\0\2file\0octet\0";
	struct sockaddr_in from, other;
	int s2;

	rrq("nope", NULL);
	assert_true(recv_pkt(buf, sizeof buf, &from, 2000) > 4);
	assert_int_equal(op(buf), 5);
	assert_int_equal(num(buf), 1); /* file not found */
	rrq("../etc/passwd", NULL);
	assert_true(recv_pkt(buf, sizeof buf, &from, 2000) > 4);
	assert_int_equal(num(buf), 2); /* access violation */
	rrq("a/../../x", NULL);
	assert_true(recv_pkt(buf, sizeof buf, &from, 2000) > 4);
	assert_int_equal(num(buf), 2);
	sendto(sock, wrq, sizeof wrq - 1, 0, (struct sockaddr *)&server, sizeof server);
	assert_true(recv_pkt(buf, sizeof buf, &from, 2000) > 4);
	assert_int_equal(num(buf), 2); /* read-only */
	rrq("gen/missing", NULL);
	assert_true(recv_pkt(buf, sizeof buf, &from, 2000) > 4);
	assert_int_equal(num(buf), 1);
	/* A packet from another port to a transfer gets "unknown transfer ID". */
	rrq("small", NULL);
	assert_true(recv_pkt(buf, sizeof buf, &from, 2000) > 4);
	s2 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	{
		unsigned char a[4] = {0, 4, 0, 1};
		struct pollfd p = {.fd = s2, .events = POLLIN};
		socklen_t len = sizeof other;
		sendto(s2, a, 4, 0, (struct sockaddr *)&from, sizeof from);
		assert_int_equal(poll(&p, 1, 2000), 1);
		assert_true(recvfrom(s2, buf, sizeof buf, 0, (struct sockaddr *)&other, &len) > 4);
		assert_int_equal(op(buf), 5);
		assert_int_equal(num(buf), 5);
	}
	close(s2);
	abandon(&from);
	(void)state;
}

static void
test_generated_and_give_up(void **state)
{
	unsigned char buf[600];
	struct sockaddr_in from;
	_cleanup_json_ json_t *st = NULL;
	int sent = 0;

	rrq("/gen/hello", NULL);
	assert_int_equal(recv_pkt(buf, sizeof buf, &from, 2000),
	    4 + (ssize_t)strlen("hello from the generator\n"));
	assert_memory_equal(buf + 4, "hello from the generator\n", 25);
	/* Never acknowledged: resent `retries` times (2), then dropped. */
	while (recv_pkt(buf, sizeof buf, &from, 1000) > 0)
		sent++;
	assert_int_equal(sent, 2);
	st = pxe_tftp_stats();
	assert_true(json_integer_value(json_object_get(st, "failed")) >= 1);
	(void)state;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_transfer),
	    cmocka_unit_test(test_options_and_exact_multiple),
	    cmocka_unit_test(test_window_and_retransmit),
	    cmocka_unit_test(test_rollover),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_generated_and_give_up),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
