/*
 * metrics.c - Prometheus metrics in the text exposition format 0.0.4.
 *
 * The route table is fixed once the server starts, so the HTTP series are preallocated
 * per route: a counter per status code (100..599) and a latency histogram, all relaxed
 * atomics, so recording a request takes no lock. Other subsystems register collectors
 * that append their own families at render time.
 */
#define LOG_COMPONENT "metrics"
#include "config.h"

#include "webui/webui.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define STATUS_MIN 100
#define STATUS_COUNT 500 /* 100..599 */
#define COLLECTORS_MAX 64
#define RENDER_MAX (16 * 1024 * 1024)

/* Prometheus' default buckets, in seconds; +Inf is the total count. */
static const double bucket_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKETS nitems(bucket_bounds)

struct route_metrics {
	char *name;
	atomic_uint_least64_t by_status[STATUS_COUNT];
	atomic_uint_least64_t buckets[NBUCKETS]; /* not cumulative; summed at render */
	atomic_uint_least64_t count;
	atomic_uint_least64_t sum_us;
};

static struct route_metrics *route_metrics;
static size_t nroute_metrics;
static atomic_int_least64_t inflight;

static pthread_mutex_t collectors_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*collectors[COLLECTORS_MAX])(struct buf *out);
static size_t ncollectors;

/* Register a collector called at every render. */
void
metrics_collector_add(void (*collect)(struct buf *out))
{
	pthread_mutex_lock(&collectors_lock);
	if (ncollectors == COLLECTORS_MAX)
		fatalx("more than %d metrics collectors", COLLECTORS_MAX);
	collectors[ncollectors++] = collect;
	pthread_mutex_unlock(&collectors_lock);
}

/* Preallocate the per-route series; called while the server is stopped. */
void
metrics_http_setup(const char *const *route_names, size_t n)
{
	for (size_t i = 0; i < nroute_metrics; i++)
		free(route_metrics[i].name);
	free(route_metrics);
	route_metrics = xcalloc(n, sizeof *route_metrics);
	for (size_t i = 0; i < n; i++)
		route_metrics[i].name = xstrdup(route_names[i]);
	nroute_metrics = n;
	atomic_store(&inflight, 0);
}

/* Record one finished request. */
void
metrics_http_observe(size_t route, int status, int64_t usec)
{
	struct route_metrics *m;
	double seconds = (double)usec / 1e6;

	if (route >= nroute_metrics)
		return;
	m = &route_metrics[route];
	if (status >= STATUS_MIN && status < STATUS_MIN + STATUS_COUNT)
		atomic_fetch_add_explicit(
		    &m->by_status[status - STATUS_MIN], 1, memory_order_relaxed);
	for (size_t b = 0; b < NBUCKETS; b++)
		if (seconds <= bucket_bounds[b]) {
			atomic_fetch_add_explicit(&m->buckets[b], 1, memory_order_relaxed);
			break;
		}
	atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->sum_us, usec > 0 ? (uint64_t)usec : 0, memory_order_relaxed);
}

void
metrics_http_inflight(int delta)
{
	atomic_fetch_add_explicit(&inflight, delta, memory_order_relaxed);
}

/* Label values escape backslash, double quote and newline (format 0.0.4). */
int
metrics_label_escape(struct buf *out, const char *value)
{
	for (const char *p = value; *p != '\0'; p++) {
		int rc;

		switch (*p) {
		case '\\':
			rc = buf_add(out, "\\\\", 2);
			break;
		case '"':
			rc = buf_add(out, "\\\"", 2);
			break;
		case '\n':
			rc = buf_add(out, "\\n", 2);
			break;
		default:
			rc = buf_addc(out, *p);
			break;
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* The HTTP request counter and latency histogram families. */
static int
metrics_render_http(struct buf *out)
{
	int rc = 0;

	rc |= buf_adds(out,
	    "# HELP drover_http_requests_total HTTP requests by route and status code.\n"
	    "# TYPE drover_http_requests_total counter\n");
	for (size_t i = 0; i < nroute_metrics; i++) {
		struct route_metrics *m = &route_metrics[i];

		for (int s = 0; s < STATUS_COUNT; s++) {
			uint64_t v = atomic_load_explicit(&m->by_status[s], memory_order_relaxed);

			if (v == 0)
				continue;
			rc |= buf_adds(out, "drover_http_requests_total{route=\"");
			rc |= metrics_label_escape(out, m->name);
			rc |= buf_addf(
			    out, "\",code=\"%d\"} %llu\n", s + STATUS_MIN, (unsigned long long)v);
		}
	}
	rc |= buf_adds(out,
	    "# HELP drover_http_request_duration_seconds Time from request headers to the end "
	    "of the response.\n"
	    "# TYPE drover_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i < nroute_metrics; i++) {
		struct route_metrics *m = &route_metrics[i];
		uint64_t count = atomic_load_explicit(&m->count, memory_order_relaxed), cum = 0;

		if (count == 0)
			continue;
		for (size_t b = 0; b < NBUCKETS; b++) {
			cum += atomic_load_explicit(&m->buckets[b], memory_order_relaxed);
			rc |=
			    buf_adds(out, "drover_http_request_duration_seconds_bucket{route=\"");
			rc |= metrics_label_escape(out, m->name);
			rc |= buf_addf(out, "\",le=\"%g\"} %llu\n", bucket_bounds[b],
			    (unsigned long long)cum);
		}
		/* count is read first, so concurrent updates can only make +Inf look low;
		 * keep the histogram monotonic. */
		if (count < cum)
			count = cum;
		rc |= buf_adds(out, "drover_http_request_duration_seconds_bucket{route=\"");
		rc |= metrics_label_escape(out, m->name);
		rc |= buf_addf(out, "\",le=\"+Inf\"} %llu\n", (unsigned long long)count);
		rc |= buf_adds(out, "drover_http_request_duration_seconds_sum{route=\"");
		rc |= metrics_label_escape(out, m->name);
		rc |= buf_addf(out, "\"} %.6f\n",
		    (double)atomic_load_explicit(&m->sum_us, memory_order_relaxed) / 1e6);
		rc |= buf_adds(out, "drover_http_request_duration_seconds_count{route=\"");
		rc |= metrics_label_escape(out, m->name);
		rc |= buf_addf(out, "\"} %llu\n", (unsigned long long)count);
	}
	rc |= buf_addf(out,
	    "# HELP drover_http_requests_in_flight HTTP requests being served.\n"
	    "# TYPE drover_http_requests_in_flight gauge\n"
	    "drover_http_requests_in_flight %lld\n",
	    (long long)atomic_load_explicit(&inflight, memory_order_relaxed));
	return rc != 0 ? -1 : 0;
}

/* Count the entries of /proc/self/fd. */
static int
metrics_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory stream's own descriptor */
}

/* Process start as Unix time: boot time plus the start tick from /proc/self/stat. */
static double
metrics_start_time(void)
{
	char line[256], *stat = NULL, *p;
	unsigned long long starttime = 0;
	double btime = 0;
	FILE *f;

	if ((f = fopen("/proc/stat", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "btime %lf", &btime) == 1)
			break;
	fclose(f);
	if (file_read("/proc/self/stat", 4096, &stat, NULL, NULL) < 0)
		return 0;
	/* Field 22; skip past the command name, which may hold spaces. */
	if ((p = strrchr(stat, ')')) != NULL) {
		p += 2;
		for (int field = 3; field < 22 && p != NULL; field++) {
			p = strchr(p, ' ');
			if (p != NULL)
				p++;
		}
		if (p != NULL)
			starttime = strtoull(p, NULL, 10);
	}
	free(stat);
	return btime + (double)starttime / (double)sysconf(_SC_CLK_TCK);
}

/* Process metrics, in the names the Prometheus client libraries use. */
static int
metrics_render_process(struct buf *out)
{
	static double start_time;
	long pagesize = sysconf(_SC_PAGESIZE);
	unsigned long long size = 0, resident = 0;
	struct rusage ru;
	struct rlimit rl;
	struct timespec now;
	int rc = 0;
	FILE *f;

	if (start_time == 0)
		start_time = metrics_start_time();
	if ((f = fopen("/proc/self/statm", "re")) != NULL) {
		if (fscanf(f, "%llu %llu", &size, &resident) != 2)
			size = resident = 0;
		fclose(f);
	}
	getrusage(RUSAGE_SELF, &ru);
	clock_gettime(CLOCK_REALTIME, &now);
	rc |= buf_addf(out,
	    "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
	    "# TYPE process_resident_memory_bytes gauge\n"
	    "process_resident_memory_bytes %llu\n"
	    "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
	    "# TYPE process_virtual_memory_bytes gauge\n"
	    "process_virtual_memory_bytes %llu\n"
	    "# HELP process_cpu_seconds_total User and system CPU time spent in seconds.\n"
	    "# TYPE process_cpu_seconds_total counter\n"
	    "process_cpu_seconds_total %.6f\n"
	    "# HELP process_open_fds Number of open file descriptors.\n"
	    "# TYPE process_open_fds gauge\n"
	    "process_open_fds %d\n",
	    resident * (unsigned long long)pagesize, size * (unsigned long long)pagesize,
	    (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	        (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
	    metrics_open_fds());
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		rc |= buf_addf(out,
		    "# HELP process_max_fds Maximum number of open file descriptors.\n"
		    "# TYPE process_max_fds gauge\n"
		    "process_max_fds %llu\n",
		    (unsigned long long)rl.rlim_cur);
	rc |= buf_addf(out,
	    "# HELP process_start_time_seconds Start time of the process since unix epoch in "
	    "seconds.\n"
	    "# TYPE process_start_time_seconds gauge\n"
	    "process_start_time_seconds %.2f\n"
	    "# HELP drover_uptime_seconds Seconds since the process started.\n"
	    "# TYPE drover_uptime_seconds gauge\n"
	    "drover_uptime_seconds %.2f\n",
	    start_time,
	    start_time > 0 ? (double)now.tv_sec + (double)now.tv_nsec / 1e9 - start_time : 0);
	return rc != 0 ? -1 : 0;
}

/* Everything: HTTP series, process series, then the collectors in registration order. */
int
metrics_render(struct buf *out)
{
	size_t n;
	int rc = 0;

	rc |= metrics_render_http(out);
	rc |= metrics_render_process(out);
	pthread_mutex_lock(&collectors_lock);
	n = ncollectors;
	pthread_mutex_unlock(&collectors_lock);
	for (size_t i = 0; i < n; i++)
		collectors[i](out);
	return rc != 0 ? -1 : 0;
}

/* GET /metrics */
int
metrics_handler(struct http_request *req, struct http_response *resp)
{
	struct buf out = BUF_INIT(RENDER_MAX);

	if (metrics_render(&out) < 0) {
		buf_free(&out);
		http_reply_error(resp, 500, "metrics: output larger than %d bytes", RENDER_MAX);
		return 0;
	}
	http_reply_text(resp, 200, "text/plain; version=0.0.4; charset=utf-8",
	    out.data != NULL ? out.data : "", out.len);
	buf_free(&out);
	return 0;
}
