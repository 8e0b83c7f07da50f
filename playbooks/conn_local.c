/*
 * conn_local.c - the local backend (ansible_connection=local, delegate_to: localhost):
 * /bin/sh -c in a child process with pipes for stdin, stdout and stderr.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "playbooks/playbooks.h"

struct conn_local {
	char *host;
};

/* Nothing to connect: remember the name for messages. */
static int
conn_local_open(const struct conn_opts *o, void **ret_state, struct dr_error *err)
{
	struct conn_local *l = xcalloc(1, sizeof *l);

	l->host = xstrdup(o->host ? o->host : "localhost");
	*ret_state = l;
	return 0;
}

/* Append what fd has to b; -1 when the cap is passed, 1 at end of file. */
static int
conn_local_drain(int fd, struct buf *b)
{
	char chunk[16384];
	ssize_t n = read(fd, chunk, sizeof chunk);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : 1;
	if (n == 0)
		return 1;
	return buf_add(b, chunk, (size_t)n) < 0 ? -1 : 0;
}

/* fork + exec /bin/sh -c cmd; feed stdin, collect stdout/stderr under a cap and a timeout. */
static int
conn_local_exec(void *state, const char *cmd, const char *in, size_t in_len, int timeout_s,
    struct conn_result *ret, struct dr_error *err)
{
	struct conn_local *l = state;
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
	struct buf out = BUF_INIT(CONN_OUTPUT_MAX), errb = BUF_INIT(CONN_OUTPUT_MAX);
	size_t written = 0;
	bool out_open = true, err_open = true, killed = false, overflow = false;
	int64_t deadline = timeout_s > 0 ? time_mono_us() + (int64_t)timeout_s * 1000000 : 0;
	int status;
	pid_t pid;

	if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 ||
	    pipe2(perr, O_CLOEXEC) < 0) {
		dr_error_errno(err, "host %s: pipe", l->host);
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		dr_error_errno(err, "host %s: fork", l->host);
		goto fail;
	}
	if (pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		setsid();
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	pin[0] = pout[1] = perr[1] = -1;
	fcntl(pin[1], F_SETFL, O_NONBLOCK);
	if (in_len == 0) {
		close(pin[1]);
		pin[1] = -1;
	}
	while (out_open || err_open || pin[1] >= 0) {
		struct pollfd pf[3];
		int n = 0, wait_ms = -1, r;

		if (out_open)
			pf[n++] = (struct pollfd){.fd = pout[0], .events = POLLIN};
		if (err_open)
			pf[n++] = (struct pollfd){.fd = perr[0], .events = POLLIN};
		if (pin[1] >= 0)
			pf[n++] = (struct pollfd){.fd = pin[1], .events = POLLOUT};
		if (deadline) {
			int64_t left = deadline - time_mono_us();
			if (left <= 0) {
				kill(-pid, SIGKILL);
				killed = true;
				break;
			}
			wait_ms = (int)(left / 1000) + 1;
		}
		r = poll(pf, (nfds_t)n, wait_ms);
		if (r < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n && r > 0; i++) {
			if (pf[i].revents == 0)
				continue;
			if (pf[i].fd == pin[1]) {
				ssize_t w = write(pin[1], in + written, in_len - written);
				if (w > 0)
					written += (size_t)w;
				if (w < 0 && errno != EAGAIN && errno != EINTR)
					written = in_len;
				if (written >= in_len) {
					close(pin[1]);
					pin[1] = -1;
				}
				continue;
			}
			int d = conn_local_drain(pf[i].fd, pf[i].fd == pout[0] ? &out : &errb);
			if (d < 0) {
				overflow = true;
				kill(-pid, SIGKILL);
			}
			if (d != 0) {
				if (pf[i].fd == pout[0])
					out_open = false;
				else
					err_open = false;
			}
		}
		if (overflow)
			break;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (overflow) {
		dr_error_set(
		    err, "host %s: command output passed %u bytes", l->host, CONN_OUTPUT_MAX);
		goto fail;
	}
	if (killed) {
		dr_error_set(err, "host %s: command timed out after %d s", l->host, timeout_s);
		goto fail;
	}
	for (int i = 0; i < 2; i++)
		close(i ? pout[0] : perr[0]);
	if (pin[1] >= 0)
		close(pin[1]);
	ret->status = WIFEXITED(status) ? WEXITSTATUS(status)
	    : WIFSIGNALED(status)       ? 128 + WTERMSIG(status)
	                                : -1;
	ret->out_len = out.len;
	ret->out = buf_steal(&out);
	ret->err_len = errb.len;
	ret->err = buf_steal(&errb);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
		if (perr[i] >= 0)
			close(perr[i]);
	}
	buf_free(&out);
	buf_free(&errb);
	return -1;
}

/* Atomic write through core's helper. */
static int
conn_local_put(
    void *state, const char *path, const void *data, size_t len, int mode, struct dr_error *err)
{
	struct conn_local *l = state;

	if (file_write_atomic(path, data, len, mode, err) < 0)
		return dr_error_prefix(err, "host %s: ", l->host);
	return 0;
}

/* Read a file under a cap. */
static int
conn_local_get(void *state, const char *path, size_t max, struct buf *out, struct dr_error *err)
{
	struct conn_local *l = state;
	char *data;
	size_t len;

	if (file_read(path, max, &data, &len, err) < 0)
		return dr_error_prefix(err, "host %s: ", l->host);
	if (buf_add(out, data, len) < 0) {
		free(data);
		return dr_error_set(err, "host %s: %s: larger than %zu bytes", l->host, path, max);
	}
	free(data);
	return 0;
}

static void
conn_local_close(void *state)
{
	struct conn_local *l = state;

	if (!l)
		return;
	free(l->host);
	free(l);
}

const struct conn_backend conn_backend_local = {
    .name = "local",
    .open = conn_local_open,
    .exec = conn_local_exec,
    .put = conn_local_put,
    .get = conn_local_get,
    .close = conn_local_close,
};
