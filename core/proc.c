/* proc.c - run a helper program: its own process group, its output captured, bounded. */
#define LOG_COMPONENT "core"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core.h"

#define PROC_KILL_GRACE_US (10 * 1000000LL) /* after SIGTERM, before SIGKILL */

extern char **environ;

/* Keep the last max bytes of b (0: all of it). */
static void
proc_tail_trim(struct buf *b, size_t max)
{
	if (max == 0 || b->len <= max)
		return;
	memmove(b->data, b->data + b->len - max, max);
	b->len = max;
	b->data[max] = '\0';
}

/* Start argv with stdin from /dev/null and stdout/stderr into *ret_fd. */
static int
proc_spawn(
    const char *const *argv, const char *cwd, pid_t *ret_pid, int *ret_fd, struct dr_error *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none;
	int fds[2], rc;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return dr_error_errno(err, "%s: pipe", argv[0]);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	if (cwd != NULL)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	rc = posix_spawnp(ret_pid, argv[0], &fa, &attr, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		errno = rc;
		return dr_error_errno(err, "cannot run %s", argv[0]);
	}
	*ret_fd = fds[0];
	return 0;
}

int
proc_run(const char *const *argv, const struct proc_opts *o, struct dr_error *err)
{
	int64_t deadline = o->timeout_s > 0 ? time_mono_us() + (int64_t)o->timeout_s * 1000000 : 0;
	int64_t term_at = 0;
	bool timed_out = false, cancelled = false;
	int fd = -1, status = 0;
	pid_t pid;

	if (proc_spawn(argv, o->cwd, &pid, &fd, err) < 0)
		return -1;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char chunk[4096];
		ssize_t r;

		if (deadline != 0 && !timed_out && time_mono_us() > deadline) {
			kill(-pid, SIGKILL);
			timed_out = true;
		}
		if (o->job != NULL && !cancelled && job_cancelled(o->job)) {
			kill(-pid, SIGTERM);
			cancelled = true;
			term_at = time_mono_us();
		} else if (cancelled && time_mono_us() - term_at > PROC_KILL_GRACE_US) {
			/* One that cleans up on SIGTERM had its time; one that hangs is killed. */
			kill(-pid, SIGKILL);
		}
		if (poll(&p, 1, 500) <= 0)
			continue;
		if ((r = read(fd, chunk, sizeof chunk)) <= 0)
			break;
		if (o->job != NULL)
			job_write(o->job, chunk, (size_t)r);
		if (o->tail != NULL) {
			if (buf_add(o->tail, chunk, (size_t)r) < 0) {
				/* At the buffer's cap: keep the end, where the reason for a
				 * failure is. */
				proc_tail_trim(o->tail, o->tail->len / 2);
				buf_add(o->tail, chunk, (size_t)r);
			}
			proc_tail_trim(o->tail, o->tail_max);
		}
	}
	close(fd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		return dr_error_set(err, "%s: no answer within %d s", argv[0], o->timeout_s);
	if (cancelled)
		return dr_error_set(err, "%s: cancelled", argv[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		dr_error_set(err, "%s failed (%s %d)", argv[0],
		    WIFEXITED(status) ? "exit status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return PROC_FAILED;
	}
	return 0;
}
