/*
 * transport.c - the SSH backend's own cost for the 4-operation play (pyinfra's benchmark:
 * add a user, touch a file with mode 0777, copy a file, shell echo) on N hosts at once,
 * linear strategy: every host finishes a task before any starts the next. One thread and
 * one SSH session per host, as the executor will run them.
 *
 *   transport KEY KNOWN_HOSTS COPY_FILE SUFFIX ADDR...
 *
 * Prints one line: "connect_ms tasks_ms total_ms facts_ms failures".
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbooks/playbooks.h"

static const char *key, *known_hosts, *suffix;
static char *copy_data;
static size_t copy_len;
static pthread_barrier_t barrier;
static int64_t t_start, t_connected, t_tasks, t_facts;
static int failures;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void
failed(const char *what, const struct dr_error *err)
{
	pthread_mutex_lock(&lock);
	failures++;
	fprintf(stderr, "%s: %s\n", what, err->msg);
	pthread_mutex_unlock(&lock);
}

/* Wait for every host; the last to arrive records the time in *t. */
static int64_t t_steps[8];
static int n_steps;

static void
step(int64_t *t)
{
	if (pthread_barrier_wait(&barrier) == PTHREAD_BARRIER_SERIAL_THREAD) {
		*t = time_mono_us();
		if (n_steps < 8)
			t_steps[n_steps++] = *t;
	}
	pthread_barrier_wait(&barrier);
}

static void
run(void *c, const char *cmd)
{
	struct conn_result r = {0};
	struct dr_error err = {{0}};

	if (conn_backend_ssh.exec(c, cmd, NULL, 0, 60, &r, &err) < 0)
		failed(cmd, &err);
	else if (r.status != 0) {
		snprintf(err.msg, sizeof(err.msg), "exit %d: %s", r.status, r.err);
		failed(cmd, &err);
	}
	free(r.out);
	free(r.err);
}

static void *
host_main(void *arg)
{
	struct conn_opts o = {.host = arg,
	    .address = arg,
	    .user = "root",
	    .private_key_file = key,
	    .known_hosts_file = known_hosts};
	struct dr_error err = {{0}};
	void *c = NULL;
	json_t *facts = NULL;
	char *cmd;

	if (conn_backend_ssh.open(&o, &c, &err) < 0)
		failed("open", &err);
	step(&t_connected);
	if (c != NULL) {
		cmd = xasprintf(
		    "id bench_%s >/dev/null 2>&1 || useradd -m bench_%s", suffix, suffix);
		run(c, cmd);
		free(cmd);
	}
	step(&t_tasks);
	if (c != NULL) {
		cmd = xasprintf("touch /tmp/bench_%s && chmod 0777 /tmp/bench_%s", suffix, suffix);
		run(c, cmd);
		free(cmd);
	}
	step(&t_tasks);
	if (c != NULL) {
		cmd = xasprintf("/tmp/bench_%s.copy", suffix);
		if (conn_backend_ssh.put(c, cmd, copy_data, copy_len, 0644, &err) < 0)
			failed("put", &err);
		free(cmd);
	}
	step(&t_tasks);
	if (c != NULL)
		run(c, "echo hello");
	step(&t_tasks);
	if (c != NULL && facts_gather(&conn_backend_ssh, c, NULL, &facts, &err) < 0)
		failed("facts", &err);
	json_decref(facts);
	step(&t_facts);
	if (c != NULL)
		conn_backend_ssh.close(c);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct dr_error err = {{0}};
	int n = argc - 5;
	pthread_t *th;

	if (n < 1) {
		fprintf(stderr, "usage: transport KEY KNOWN_HOSTS COPY_FILE SUFFIX ADDR...\n");
		return 2;
	}
	key = argv[1];
	known_hosts = argv[2];
	suffix = argv[4];
	if (file_read(argv[3], 64u << 20, &copy_data, &copy_len, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	th = xcalloc((size_t)n, sizeof(*th));
	pthread_barrier_init(&barrier, NULL, (unsigned)n);
	t_start = time_mono_us();
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, host_main, argv[5 + i]);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	printf("%.0f %.0f %.0f %.0f %d\n", (t_connected - t_start) / 1e3,
	    (t_tasks - t_connected) / 1e3, (t_tasks - t_start) / 1e3, (t_facts - t_tasks) / 1e3,
	    failures);
	if (getenv("BENCH_STEPS") != NULL) {
		fprintf(stderr, "steps (ms):");
		for (int i = 0; i < n_steps; i++)
			fprintf(
			    stderr, " %.1f", (t_steps[i] - (i ? t_steps[i - 1] : t_start)) / 1e3);
		fprintf(stderr, "\n");
	}
	free(th);
	free(copy_data);
	return failures > 0;
}
