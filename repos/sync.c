/*
 * sync.c - the repo_sync job: the format reads upstream metadata into a content set,
 * packages are downloaded into the pool (verified while they stream), and a new immutable
 * version is made only when the content differs from the latest one. Until the last
 * step the latest version stays what is served, so a failed or killed sync changes
 * nothing a client sees; files already in the pool make the next sync quicker.
 */
#define LOG_COMPONENT "repos"
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "repos/repos.h"

#define SYNC_BATCH 2000 /* packages per download round at most */
#define SYNC_BATCH_MIN 500 /* and at least, until every package is known */
#define SYNC_TAIL 250 /* the smallest of the last rounds */
#define SYNC_ROUND_BYTES (256ull << 20) /* and no more bytes than this (but one package) */
/* A round's transfers are shared among this many threads, each with its part of the
 * connections: creating files, writing them and hashing them (SHA-256 while they stream)
 * is CPU work in the thread that receives them, and one thread is one core. */
#define SYNC_LANES 2
/* Small files gain nothing from a second lane (measured: the per-file cost is in the
 * file system and the server, and two threads only contend): lanes are for rounds whose
 * files average this much. */
#define SYNC_LANE_BYTES (512u << 10)
/* Packages up to this size are downloaded into unnamed files (O_TMPFILE) held open until
 * their round is durable, then linked into the pool: one directory entry each instead of
 * a .part created, looked up and renamed (measured: about a tenth of a sync's CPU with
 * 20,000 small packages). A kill -9 loses them (the next sync fetches them again, which
 * costs little at this size); bigger ones keep a named .part that a later sync resumes. */
#define SYNC_UNNAMED_MAX (128u << 10)
/* Open files kept free for everything else of the daemon. */
#define SYNC_FD_SPARE 1024

/* Unnamed files held open by all syncs, against the limit on open files. */
static size_t sync_unnamed_open;
static pthread_mutex_t sync_unnamed_lock = PTHREAD_MUTEX_INITIALIZER;

static void sync_fetch_push(struct repo_sync *s, int64_t unit_id, const struct repo_pkg *p);

/* CPU time of the calling thread in microseconds: what a phase cost on a busy machine. */
int64_t
repo_sync_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Join base and rel with exactly one slash; caller frees. */
char *
repo_url_join(const char *base, const char *rel)
{
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	while (*rel == '/')
		rel++;
	return xasprintf("%.*s/%s", (int)n, base, rel);
}

static struct http_client_opts
sync_http_opts(void)
{
	struct http_client_opts o = {
	    .connect_timeout_ms = 10000,
	    .low_speed_time_s = 30,
	    .retries = 3,
	    .retry_base_ms = 200,
	    .retry_max_ms = 5000,
	};
	return o;
}

/* Fetch one file into the work directory. */
int
repo_sync_fetch(struct repo_sync *s, const char *url, uint64_t max, const char *sha256,
    char **ret_path, struct dr_error *err)
{
	static unsigned long n;
	struct http_client_opts o = sync_http_opts();
	char *path = xasprintf("%s/f%lu", s->workdir, ++n);
	struct http_download d = {
	    .url = url,
	    .dest_path = path,
	    .sha256 = sha256,
	    .max_size = max,
	};

	if (http_download_many(&d, 1, 1, &o, err) < 0) {
		dr_error_set(err, "%s", d.error[0] != '\0' ? d.error : err->msg);
		free(path);
		return -1;
	}
	*ret_path = path;
	return 0;
}

static void
sync_push(int64_t **a, size_t *n, size_t *cap, int64_t v)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		*a = xreallocarray(*a, *cap, sizeof **a);
	}
	(*a)[(*n)++] = v;
}

/* Upsert a package unit and add it to the new version. */
int
repo_sync_unit_add(struct repo_sync *s, const char *type, const struct repo_pkg *p,
    int64_t *ret_id, struct dr_error *err)
{
	_cleanup_json_ json_t *row = NULL;
	const char *sha = strcmp(p->checksum_type, "sha256") == 0 ? p->checksum : NULL;
	int64_t id, changes = 0;

	if (sha != NULL && !repo_pool_valid(sha))
		return dr_error_set(
		    err, "package %s: checksum '%s' is not a SHA-256", p->name, p->checksum);
	/* Most units are new on a first sync, already known on later ones: try the insert,
	 * and look the row up only when it was there. */
	if (store_execf(&changes, &id, err,
	        "INSERT INTO repo_units (type, checksum_type, checksum, location, sha256,"
	        " name, epoch, version, release, arch, size, source, component, meta)"
	        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	        " ON CONFLICT (type, checksum, location) DO NOTHING",
	        "[sssss?sssssIs?s?s]", type, p->checksum_type, p->checksum, p->location, sha,
	        p->name, p->epoch, p->version, p->release, p->arch,
	        (json_int_t)(p->size >= 0 ? p->size : 0), p->source, p->component, p->meta) < 0)
		return -1;
	if (changes == 0) {
		row = store_query_one(err,
		    "SELECT id, sha256 FROM repo_units WHERE type = ? AND checksum = ? AND"
		    " location = ?",
		    "[sss]", type, p->checksum, p->location);
		if (row == NULL)
			return err->msg[0] != '\0'
			    ? -1
			    : dr_error_set(err, "unit %s vanished", p->name);
		id = json_integer_value(json_object_get(row, "id"));
	}
	sync_push(&s->units, &s->nunits, &s->units_cap, id);
	json_object_set_new(s->locations, p->location, json_true());
	if (ret_id != NULL)
		*ret_id = id;
	/* Whatever is not in the pool yet is downloaded while the metadata is read. */
	{
		const char *have =
		    row != NULL ? json_string_value(json_object_get(row, "sha256")) : sha;
		char key[32];

		snprintf(key, sizeof key, "%lld", (long long)id);
		if ((have == NULL || !repo_pool_has(have)) &&
		    json_object_get(s->queued, key) == NULL) {
			json_object_set_new(s->queued, key, json_true());
			sync_fetch_push(s, id, p);
		}
	}
	return 0;
}

/* Upsert an erratum (keyed by id and the digest of its text) into the new version. */
int
repo_sync_erratum_add(struct repo_sync *s, json_t *e, struct dr_error *err)
{
	_cleanup_json_ json_t *row = NULL, *data = json_deep_copy(e);
	_cleanup_free_ char *text = NULL;
	const char *xml = json_string_value(json_object_get(e, "xml"));
	const char *eid = json_string_value(json_object_get(e, "erratum_id"));
	char digest[129];
	int64_t id;

	json_object_del(data, "xml");
	text = json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS);
	repo_pool_digest("sha256", text, strlen(text), digest, NULL);
	row = store_query_one(err,
	    "SELECT id FROM repo_errata WHERE erratum_id = ? AND digest = ?", "[ss]", eid, digest);
	if (row == NULL && err->msg[0] != '\0')
		return -1;
	if (row != NULL)
		id = json_integer_value(json_object_get(row, "id"));
	else if (store_execf(NULL, &id, err,
	             "INSERT INTO repo_errata (erratum_id, digest, type, severity, title,"
	             " issued_at, updated_at, data, xml) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	             "[ssss?s?IIss?]", eid, digest, json_string_value(json_object_get(e, "type")),
	             json_string_value(json_object_get(e, "severity")),
	             json_string_value(json_object_get(e, "title")),
	             (json_int_t)json_integer_value(json_object_get(e, "issued_at")),
	             (json_int_t)json_integer_value(json_object_get(e, "updated_at")), text,
	             xml) < 0)
		return -1;
	sync_push(&s->errata, &s->nerrata, &s->errata_cap, id);
	return 0;
}

/* Carry an upstream metadata file into the pool; it is recorded with the version. */
int
repo_sync_upstream_add(struct repo_sync *s, const char *path, const char *rel, const char *type,
    const json_t *data, struct dr_error *err)
{
	char sha[65];
	uint64_t size;

	if (repo_pool_adopt(path, sha, &size, err) < 0)
		return -1;
	json_array_append_new(s->upstream,
	    json_pack("{s:s, s:s, s:s, s:I, s:O?}", "path", rel, "type", type, "sha256", sha,
	        "size", (json_int_t)size, "data", data));
	return 0;
}

/* A package to download, as the fetch thread sees it (its own copies). */
struct sync_dl {
	char *url, *location, *checksum_type, *checksum;
	int64_t unit_id, size;
};

/* A unit's pool key, learned when its file entered the pool. */
struct sync_key {
	int64_t unit_id;
	char sha256[65];
};

/*
 * The fetch thread of a sync and what it shares with the job thread: the formats append
 * packages while they read metadata (lock, cond), the thread takes them in rounds and
 * downloads them meanwhile. Everything below "results" belongs to the thread until it
 * is joined.
 */
struct sync_fetch {
	struct repo_sync *s;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct sync_dl *items;
	size_t n, cap, taken;
	bool closed; /* no more packages */
	bool stop; /* the sync failed: take nothing more */
	bool progress; /* the job thread only waits: the thread may print progress */
	pthread_t thread;
	/* results */
	int r;
	struct dr_error err;
	struct sync_key *keys; /* pool keys of units whose checksum is not a SHA-256 */
	size_t nkeys, keys_cap;
	size_t done, reused, printed;
	int lanes; /* the most fetch threads a round had */
	uint64_t bytes;
	int64_t t0, fetch_us, wait_us, sync_us, move_us;
	/* settings */
	bool leftovers; /* the last sync did not succeed: it may have left files to reuse */
	bool unnamed; /* small packages go into unnamed files (see SYNC_UNNAMED_MAX) */
	int concurrency;
	struct http_client_opts o;
	char *dldir, *tag;
};

/* One round of downloads: what it fetches, where to, and how the fetch went. */
struct sync_batch {
	struct sync_dl *items;
	size_t n;
	struct http_download *d;
	struct http_download *todo; /* the ones not reused, fetched on the round's thread */
	size_t *index, m;
	char **paths;
	size_t reused;
	size_t unnamed; /* open files reserved for unnamed downloads */
	const struct sync_fetch *f;
	int r;
	struct dr_error err;
	struct sync_lane {
		struct sync_batch *b;
		size_t from, to; /* its share of todo */
		int concurrency;
		int r;
		struct dr_error err;
		pthread_t thread;
		int64_t fetch_us;
	} lanes[SYNC_LANES];
	int nlanes;
	bool running;
	int64_t fetch_us;
};

/*
 * Reserve n open files for a round's unnamed downloads, within the process's limit
 * (raised to what two rounds need when the hard limit allows). False: use names.
 */
static bool
sync_unnamed_reserve(size_t n)
{
	struct rlimit rl;
	bool ok = false;

	pthread_mutex_lock(&sync_unnamed_lock);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rlim_t need = (rlim_t)(sync_unnamed_open + n + SYNC_FD_SPARE);

		if (rl.rlim_cur < need && rl.rlim_cur < 2 * SYNC_BATCH + SYNC_FD_SPARE &&
		    rl.rlim_max >= 2 * SYNC_BATCH + SYNC_FD_SPARE) {
			rl.rlim_cur = 2 * SYNC_BATCH + SYNC_FD_SPARE;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need) {
			sync_unnamed_open += n;
			ok = true;
		}
	}
	pthread_mutex_unlock(&sync_unnamed_lock);
	return ok;
}

/* Whether a package goes into an unnamed file (when its round has them). */
static bool
sync_dl_unnamed(const struct sync_dl *dl)
{
	return dl->size > 0 && dl->size <= SYNC_UNNAMED_MAX &&
	    strcmp(dl->checksum_type, "sha256") == 0;
}

static void
sync_batch_free(struct sync_batch *b)
{
	size_t i;

	for (i = 0; b->d != NULL && i < b->n; i++)
		if (b->d[i].unnamed && b->d[i].fd >= 0)
			close(b->d[i].fd);
	if (b->unnamed > 0) {
		pthread_mutex_lock(&sync_unnamed_lock);
		sync_unnamed_open -= b->unnamed;
		pthread_mutex_unlock(&sync_unnamed_lock);
	}
	for (i = 0; b->paths != NULL && i < b->n; i++)
		free(b->paths[i]);
	free(b->paths);
	free(b->items);
	free(b->d);
	free(b->todo);
	free(b->index);
	memset(b, 0, sizeof *b);
}

/*
 * Take the next round from what the formats have queued: up to SYNC_BATCH packages or
 * SYNC_ROUND_BYTES, and at least SYNC_BATCH_MIN packages unless the list is complete
 * (fewer rounds, fewer flushes).
 * block waits for them; false when there is nothing (more) to take.
 */
static bool
sync_batch_take(struct sync_fetch *f, struct sync_batch *b, bool block)
{
	size_t avail, k, limit;
	uint64_t bytes;

	pthread_mutex_lock(&f->lock);
	for (;;) {
		avail = f->n - f->taken;
		if (f->stop || f->closed || avail >= SYNC_BATCH_MIN || !block)
			break;
		pthread_cond_wait(&f->cond, &f->lock);
	}
	if (f->stop || avail == 0 || (avail < SYNC_BATCH_MIN && !f->closed)) {
		pthread_mutex_unlock(&f->lock);
		return false;
	}
	/* Once every package is known, rounds halve towards the end: the last round's flush
	 * and moves are the only ones no transfer overlaps, so it is kept small. */
	limit = SYNC_BATCH;
	if (f->closed && avail < 2 * SYNC_BATCH)
		limit = avail / 2 > SYNC_TAIL ? avail / 2 : SYNC_TAIL;
	/* Big packages make small rounds: each round's flush overlaps the next's transfers. */
	for (k = 0, bytes = 0; k < avail && k < limit; k++) {
		int64_t size = f->items[f->taken + k].size;

		if (k > 0 && bytes + (uint64_t)(size > 0 ? size : 0) > SYNC_ROUND_BYTES)
			break;
		bytes += (uint64_t)(size > 0 ? size : 0);
	}
	b->items = xreallocarray(NULL, k, sizeof *b->items);
	memcpy(b->items, f->items + f->taken, k * sizeof *b->items);
	b->n = k;
	f->taken += k;
	pthread_cond_broadcast(&f->cond); /* the job thread may wait for the last round */
	pthread_mutex_unlock(&f->lock);
	return true;
}

/*
 * Name each file of the round: a SHA-256 package waits beside its pool name (a rename in
 * one directory makes it a pool file), others in the repository's download directory
 * until their own checksum is checked. Each is written in place under that name (one
 * rename per file, into the pool). After a sync that did not succeed, a file it finished
 * but did not move into the pool is kept when it still hashes right (it was never
 * synced, so it is checked, not trusted); a partial one is resumed.
 */
static int
sync_batch_prepare(const struct sync_fetch *f, struct sync_batch *b, struct dr_error *err)
{
	size_t i;

	b->f = f;
	b->d = xcalloc(b->n, sizeof *b->d);
	b->todo = xcalloc(b->n, sizeof *b->todo);
	b->index = xcalloc(b->n, sizeof *b->index);
	b->paths = xcalloc(b->n, sizeof *b->paths);
	if (f->unnamed) {
		size_t small = 0;

		for (i = 0; i < b->n; i++)
			small += sync_dl_unnamed(&b->items[i]);
		if (small > 0 && sync_unnamed_reserve(small))
			b->unnamed = small;
	}
	for (i = 0; i < b->n; i++) {
		const struct sync_dl *dl = &b->items[i];
		char hex[129];

		b->d[i].fd = -1;
		if (b->unnamed > 0 && sync_dl_unnamed(dl)) {
			if (repo_pool_prepare(dl->checksum, err) < 0)
				return -1;
			b->paths[i] = repo_pool_shard_path(dl->checksum);
			b->d[i].sha256 = dl->checksum;
			b->d[i].unnamed = true;
		} else if (strcmp(dl->checksum_type, "sha256") == 0) {
			if (repo_pool_prepare(dl->checksum, err) < 0)
				return -1;
			b->paths[i] = repo_pool_stage_path(dl->checksum, f->tag);
			b->d[i].sha256 = dl->checksum;
		} else {
			b->paths[i] =
			    xasprintf("%s/%s-%s", f->dldir, dl->checksum_type, dl->checksum);
		}
		b->d[i].url = dl->url;
		b->d[i].dest_path = b->paths[i];
		b->d[i].max_size = dl->size > 0 ? (uint64_t)dl->size : REPO_PACKAGE_MAX;
		b->d[i].no_sync = true;
		b->d[i].in_place = !b->d[i].unnamed;
		if (f->leftovers && !b->d[i].unnamed &&
		    repo_pool_digest_file(dl->checksum_type, b->paths[i], hex, NULL, NULL) == 0 &&
		    strcasecmp(hex, dl->checksum) == 0) {
			b->d[i].result = 0;
			b->reused++;
			continue;
		}
		b->index[b->m] = i;
		b->todo[b->m++] = b->d[i];
	}
	return 0;
}

/* One lane's share of a round's transfers, on its own thread. */
static void *
sync_lane_fetch(void *arg)
{
	struct sync_lane *l = arg;
	struct sync_batch *b = l->b;
	int64_t t = time_mono_us();

	l->r = l->to > l->from ? http_download_many(b->todo + l->from, l->to - l->from,
	                             l->concurrency, &b->f->o, &l->err)
	                       : 0;
	l->fetch_us = time_mono_us() - t;
	return NULL;
}

/*
 * Start a round's transfers: the files to fetch are dealt to the lanes in runs of about
 * equal bytes (so that the lanes finish together), and the connections too
 * (concurrency in all, as with one lane).
 */
static void
sync_batch_start(struct sync_batch *b)
{
	int lanes = SYNC_LANES, i;
	uint64_t bytes = 0, sum = 0;
	size_t j;

	for (j = 0; j < b->m; j++)
		bytes += b->todo[j].max_size;
	if (b->m == 0 || bytes / b->m < SYNC_LANE_BYTES)
		lanes = 1;
	if (lanes > b->f->concurrency)
		lanes = b->f->concurrency;
	if ((size_t)lanes > b->m)
		lanes = b->m > 0 ? (int)b->m : 1;
	b->nlanes = lanes;
	for (i = 0, j = 0; i < lanes; i++) {
		struct sync_lane *l = &b->lanes[i];
		/* This lane's share ends near this many bytes, and leaves a file for each
		 * lane after it; the last lane takes the rest. */
		uint64_t end = bytes * (uint64_t)(i + 1) / (uint64_t)lanes;
		size_t room = b->m - (size_t)(lanes - 1 - i);

		l->b = b;
		l->from = j;
		if (i == lanes - 1)
			j = b->m;
		else
			do
				sum += b->todo[j++].max_size;
			while (j < room && sum + b->todo[j].max_size / 2 <= end);
		l->to = j;
		l->concurrency =
		    b->f->concurrency * (i + 1) / lanes - b->f->concurrency * i / lanes;
		l->r = 0;
		if (pthread_create(&l->thread, NULL, sync_lane_fetch, l) != 0)
			fatalx("pthread_create failed");
	}
	b->running = true;
}

static void
sync_batch_wait(struct sync_fetch *f, struct sync_batch *b)
{
	int64_t t = time_mono_us();
	size_t i;
	int k;

	if (!b->running)
		return;
	b->r = 0;
	b->fetch_us = 0;
	for (k = 0; k < b->nlanes; k++) {
		struct sync_lane *l = &b->lanes[k];

		pthread_join(l->thread, NULL);
		if (l->r < 0 && b->r == 0) {
			b->r = -1;
			b->err = l->err;
		}
		if (l->fetch_us > b->fetch_us)
			b->fetch_us = l->fetch_us;
	}
	b->running = false;
	if (b->nlanes > f->lanes)
		f->lanes = b->nlanes;
	for (i = 0; i < b->m; i++)
		b->d[b->index[i]] = b->todo[i];
	f->wait_us += time_mono_us() - t;
	f->fetch_us += b->fetch_us;
	f->reused += b->reused;
}

/*
 * A fetched round enters the pool: one syncfs makes its data durable, then each file is
 * renamed to its pool name. The renames become durable with the next round's syncfs, and
 * the last round's with the one the fetch thread ends with: before any version refers to
 * them. Checksums other than SHA-256 are checked here; their units learn their keys when
 * the job thread joins.
 */
static int
sync_batch_store(struct sync_fetch *f, struct sync_batch *b, struct dr_error *err)
{
	int64_t t = time_mono_us();
	size_t i;

	if (b->r < 0) {
		for (i = 0; i < b->n; i++)
			if (b->d[i].result != 0)
				return dr_error_set(
				    err, "package %s: %s", b->items[i].location, b->d[i].error);
		return dr_error_set(err, "%s", b->err.msg);
	}
	if (repo_pool_sync(err) < 0)
		return -1;
	f->sync_us += time_mono_us() - t;
	t = time_mono_us();
	for (i = 0; i < b->n; i++) {
		const struct sync_dl *dl = &b->items[i];
		struct sync_key *k;
		char hex[129];
		uint64_t size;

		if (b->d[i].unnamed) {
			if (repo_pool_link(b->d[i].fd, dl->checksum, err) < 0)
				return -1;
			close(b->d[i].fd);
			b->d[i].fd = -1;
			f->bytes += (uint64_t)(dl->size > 0 ? dl->size : 0);
			continue;
		}
		if (b->d[i].sha256 != NULL) {
			_cleanup_free_ char *dest = repo_pool_path(dl->checksum);

			if (rename(b->paths[i], dest) < 0)
				return dr_error_errno(err, "%s", dest);
			f->bytes += (uint64_t)(dl->size > 0 ? dl->size : 0);
			continue;
		}
		if (repo_pool_digest_file(dl->checksum_type, b->paths[i], hex, NULL, err) < 0)
			return -1;
		if (strcasecmp(hex, dl->checksum) != 0)
			return dr_error_set(err, "package %s: %s mismatch: expected %s, got %s",
			    dl->location, dl->checksum_type, dl->checksum, hex);
		if (f->nkeys == f->keys_cap) {
			f->keys_cap = f->keys_cap ? 2 * f->keys_cap : 64;
			f->keys = xreallocarray(f->keys, f->keys_cap, sizeof *f->keys);
		}
		k = &f->keys[f->nkeys];
		if (repo_pool_adopt(b->paths[i], k->sha256, &size, err) < 0)
			return -1;
		k->unit_id = dl->unit_id;
		f->nkeys++;
		f->bytes += size;
	}
	f->move_us += time_mono_us() - t;
	return 0;
}

/* The progress line (the CLI draws its bar from it). */
static void
sync_fetch_progress(struct sync_fetch *f)
{
	job_printf(f->s->job, "downloaded %zu/%zu packages, %.1f MB, %.1f s\n", f->done, f->n,
	    (double)f->bytes / 1e6, (double)(time_mono_us() - f->t0) / 1e6);
	f->printed = f->done;
}

/*
 * The fetch thread: download what the pool lacks while the metadata is still being
 * read, in rounds of up to SYNC_BATCH. Files are verified while they stream but not
 * fsynced one by one: one syncfs per round makes a whole round durable before its files
 * are renamed into the pool, so the pool never holds a file whose data a crash could
 * lose (a .part left by a crash is resumed by the next sync). One flush per round
 * instead of one per file is what makes small packages fast; and while a round is
 * flushed and moved, the next one is already downloading.
 */
static void *
sync_fetch_main(void *arg)
{
	struct sync_fetch *f = arg;
	struct sync_batch b[2];
	int cur = 0, i;
	int64_t t;

	memset(b, 0, sizeof b);
	if (!sync_batch_take(f, &b[0], true))
		goto out;
	if (sync_batch_prepare(f, &b[0], &f->err) < 0)
		goto fail;
	sync_batch_start(&b[0]);
	for (;;) {
		struct sync_batch *this = &b[cur], *after = &b[!cur];

		sync_batch_wait(f, this);
		if (job_cancelled(f->s->job)) {
			dr_error_set(&f->err, "cancelled");
			goto fail;
		}
		/* The next round downloads while this one is flushed and moved. */
		if (this->r == 0 && sync_batch_take(f, after, false)) {
			if (sync_batch_prepare(f, after, &f->err) < 0)
				goto fail;
			sync_batch_start(after);
		}
		if (sync_batch_store(f, this, &f->err) < 0)
			goto fail;
		f->done += this->n;
		sync_batch_free(this);
		if (__atomic_load_n(&f->progress, __ATOMIC_ACQUIRE))
			sync_fetch_progress(f);
		if (!after->running) {
			if (!sync_batch_take(f, after, true))
				break;
			if (sync_batch_prepare(f, after, &f->err) < 0)
				goto fail;
			sync_batch_start(after);
		}
		cur = !cur;
	}
	t = time_mono_us();
	if (repo_pool_sync(&f->err) < 0)
		goto fail;
	f->sync_us += time_mono_us() - t;
out:
	return NULL;
fail:
	f->r = -1;
	pthread_mutex_lock(&f->lock);
	f->stop = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	for (i = 0; i < 2; i++) {
		sync_batch_wait(f, &b[i]);
		sync_batch_free(&b[i]);
	}
	return NULL;
}

/* Queue a package for the fetch thread (a no-op for on_demand repositories). */
static void
sync_fetch_push(struct repo_sync *s, int64_t unit_id, const struct repo_pkg *p)
{
	struct sync_fetch *f = s->fetch;
	struct sync_dl *dl;

	if (f == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	if (f->closed) {
		pthread_mutex_unlock(&f->lock);
		return;
	}
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 1024;
		f->items = xreallocarray(f->items, f->cap, sizeof *f->items);
	}
	dl = &f->items[f->n++];
	dl->url = repo_url_join(json_string_value(json_object_get(s->repo, "url")), p->location);
	dl->location = xstrdup(p->location);
	dl->checksum_type = xstrdup(p->checksum_type);
	dl->checksum = xstrdup(p->checksum);
	dl->unit_id = unit_id;
	dl->size = p->size;
	if (f->n - f->taken >= SYNC_BATCH_MIN)
		pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

/* Start the fetch thread of a sync that downloads packages. */
static void
sync_fetch_start(struct repo_sync *s)
{
	struct sync_fetch *f = xcalloc(1, sizeof *f);
	long long repo_id = (long long)json_integer_value(json_object_get(s->repo, "id"));
	json_int_t limit = json_integer_value(json_object_get(s->repo, "bandwidth_limit"));

	f->s = s;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->concurrency = (int)json_integer_value(json_object_get(s->repo, "download_concurrency"));
	if (f->concurrency < 1 || f->concurrency > 64)
		f->concurrency = REPO_DOWNLOAD_CONCURRENCY;
	f->o = sync_http_opts();
	/* The repository's limit is for the whole sync: each transfer gets its share. */
	if (limit > 0)
		f->o.max_recv_bytes_per_s =
		    limit / f->concurrency > 0 ? limit / f->concurrency : 1;
	/* A sync that succeeded moved every file it fetched into the pool, and one that
	 * never ran fetched none: only after another end is each name worth a look. */
	{
		const char *last = json_string_value(json_object_get(s->repo, "last_sync_state"));
		f->leftovers = last != NULL && strcmp(last, "succeeded") != 0;
	}
	/* After a sync that did not succeed, the named files it left are looked for. */
	f->unnamed = !f->leftovers && repo_pool_unnamed_ok();
	f->dldir = xasprintf("%s/tmp/dl-%lld", repo_pool_dir(), repo_id);
	f->tag = xasprintf("r%lld", repo_id);
	f->t0 = time_mono_us();
	if (mkdir(f->dldir, 0700) < 0 && errno != EEXIST) {
		f->r = dr_error_errno(&f->err, "%s", f->dldir);
		f->closed = true; /* nothing is queued: the error is reported at the end */
	}
	if (pthread_create(&f->thread, NULL, sync_fetch_main, f) != 0)
		fatalx("pthread_create failed");
	s->fetch = f;
}

/* For formats: every package is known; the last round may start. */
void
repo_sync_downloads_close(struct repo_sync *s)
{
	struct sync_fetch *f = s->fetch;
	size_t n;

	if (f == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	n = f->n;
	if (!f->closed && n > 0)
		job_printf(s->job, "downloading %zu packages\n", n);
	f->closed = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

/*
 * Wait until the fetch thread has taken its last round (every package is known and
 * started), or stopped: what is left of the downloads is small from here, so the job
 * thread's own work then overlaps it without slowing the bulk of the transfers.
 */
static void
sync_fetch_wait_last_round(struct repo_sync *s)
{
	struct sync_fetch *f = s->fetch;

	if (f == NULL)
		return;
	repo_sync_downloads_close(s);
	pthread_mutex_lock(&f->lock);
	while (!f->stop && f->taken < f->n)
		pthread_cond_wait(&f->cond, &f->lock);
	pthread_mutex_unlock(&f->lock);
}

/*
 * Wait for the fetch thread (failed: tell it to take nothing more first), record the
 * pool keys it learned, and free it. -1 with err when the downloads failed.
 */
static int
sync_fetch_finish(struct repo_sync *s, bool failed, struct dr_error *err)
{
	struct sync_fetch *f = s->fetch;
	size_t i;
	int r;

	if (f == NULL)
		return 0;
	repo_sync_downloads_close(s);
	pthread_mutex_lock(&f->lock);
	f->stop = f->stop || failed;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	__atomic_store_n(&f->progress, true, __ATOMIC_RELEASE);
	pthread_join(f->thread, NULL);
	s->fetch = NULL;
	s->bytes_downloaded += f->bytes;
	r = f->r;
	if (r < 0 && !failed)
		dr_error_set(err, "%s", f->err.msg);
	if (r == 0 && !failed && f->n > 0) {
		/* Rounds that ended while the metadata was read were not printed. */
		if (f->printed != f->done)
			sync_fetch_progress(f);
		job_printf(s->job,
		    "downloads: %zu packages, %.1f MB in %.2f s on %d thread%s (transfers %.2f s,"
		    " waited for them %.2f s; syncfs %.2f s, into the pool %.2f s)\n",
		    f->n, (double)f->bytes / 1e6, (double)(time_mono_us() - f->t0) / 1e6, f->lanes,
		    f->lanes == 1 ? "" : "s", (double)f->fetch_us / 1e6, (double)f->wait_us / 1e6,
		    (double)f->sync_us / 1e6, (double)f->move_us / 1e6);
		if (f->reused > 0)
			job_printf(s->job,
			    "%zu packages an interrupted sync had downloaded were reused\n",
			    f->reused);
	}
	if (r == 0 && !failed && f->nkeys > 0) {
		if (store_begin(err) < 0)
			r = -1;
		for (i = 0; r == 0 && i < f->nkeys; i++)
			if (store_execf(NULL, NULL, err,
			        "UPDATE repo_units SET sha256 = ? WHERE id = ?", "[sI]",
			        f->keys[i].sha256, (json_int_t)f->keys[i].unit_id) < 0) {
				store_rollback();
				r = -1;
			}
		if (r == 0 && store_commit(err) < 0)
			r = -1;
	}
	for (i = 0; i < f->n; i++) {
		free(f->items[i].url);
		free(f->items[i].location);
		free(f->items[i].checksum_type);
		free(f->items[i].checksum);
	}
	free(f->items);
	free(f->keys);
	free(f->dldir);
	free(f->tag);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f);
	return r;
}

static int
sync_id_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort and drop duplicates. */
static void
sync_ids_unique(int64_t *a, size_t *n)
{
	size_t i, j = 0;

	if (*n == 0)
		return;
	qsort(a, *n, sizeof *a, sync_id_cmp);
	for (i = 0; i < *n; i++)
		if (j == 0 || a[j - 1] != a[i])
			a[j++] = a[i];
	*n = j;
}

/* The digest that says whether two versions hold the same content. */
static void
sync_content_digest(struct repo_sync *s, bool mirror_complete, char digest[129])
{
	struct buf b = BUF_INIT(0);
	size_t i;
	json_t *f;

	for (i = 0; i < s->nunits; i++)
		buf_addf(&b, "u%lld\n", (long long)s->units[i]);
	for (i = 0; i < s->nerrata; i++)
		buf_addf(&b, "e%lld\n", (long long)s->errata[i]);
	json_array_foreach(s->upstream, i, f)
	{
		const char *type = json_string_value(json_object_get(f, "type"));
		/* The index files (repomd.xml, Release) change with every run of the tool
		 * that writes them; what they list is what matters, unless served as-is. */
		if (!mirror_complete &&
		    (strcmp(type, "repomd") == 0 || strcmp(type, "index") == 0))
			continue;
		buf_addf(&b, "f%s %s\n", json_string_value(json_object_get(f, "path")),
		    json_string_value(json_object_get(f, "sha256")));
	}
	repo_pool_digest("sha256", b.data != NULL ? b.data : "", b.len, digest, NULL);
	buf_free(&b);
}

/* Add the previous version's units and errata (additive mirroring). */
static int
sync_add_previous(struct repo_sync *s, int64_t version_id, struct dr_error *err)
{
	_cleanup_json_ json_t *units = NULL, *errata = NULL;
	size_t i;
	json_t *r;

	if (store_queryf(&units, err,
	        "SELECT vu.unit_id, u.location FROM repo_version_units vu JOIN repo_units u"
	        " ON u.id = vu.unit_id WHERE vu.version_id = ? LIMIT 900000",
	        "[I]", (json_int_t)version_id) < 0 ||
	    store_queryf(&errata, err,
	        "SELECT erratum_id FROM repo_version_errata WHERE version_id = ? LIMIT 900000",
	        "[I]", (json_int_t)version_id) < 0)
		return -1;
	/* What upstream now has at a path replaces what was there before. */
	json_array_foreach(units, i, r)
	{
		if (json_object_get(
		        s->locations, json_string_value(json_object_get(r, "location"))) != NULL)
			continue;
		sync_push(&s->units, &s->nunits, &s->units_cap,
		    json_integer_value(json_object_get(r, "unit_id")));
	}
	json_array_foreach(errata, i, r)
	{
		sync_push(&s->errata, &s->nerrata, &s->errata_cap,
		    json_integer_value(json_object_get(r, "erratum_id")));
	}
	return 0;
}

/* Insert the version's units, errata and upstream files under vid. */
static int
sync_version_rows(struct repo_sync *s, int64_t vid, struct dr_error *err)
{
	size_t i;
	json_t *f;

	for (i = 0; i < s->nunits; i++)
		if (store_execf(NULL, NULL, err,
		        "INSERT INTO repo_version_units (version_id, unit_id) VALUES (?, ?)",
		        "[II]", (json_int_t)vid, (json_int_t)s->units[i]) < 0)
			return -1;
	for (i = 0; i < s->nerrata; i++)
		if (store_execf(NULL, NULL, err,
		        "INSERT INTO repo_version_errata (version_id, erratum_id) VALUES (?, ?)",
		        "[II]", (json_int_t)vid, (json_int_t)s->errata[i]) < 0)
			return -1;
	json_array_foreach(s->upstream, i, f)
	{
		_cleanup_free_ char *data = json_object_get(f, "data") != NULL
		    ? json_dumps(json_object_get(f, "data"), JSON_COMPACT)
		    : NULL;
		if (store_execf(NULL, NULL, err,
		        "INSERT INTO repo_version_upstream (version_id, path, type, sha256, size,"
		        " data) VALUES (?, ?, ?, ?, ?, ?)",
		        "[IsssIs?]", (json_int_t)vid,
		        json_string_value(json_object_get(f, "path")),
		        json_string_value(json_object_get(f, "type")),
		        json_string_value(json_object_get(f, "sha256")),
		        json_integer_value(json_object_get(f, "size")), data) < 0)
			return -1;
	}
	return 0;
}

/*
 * The tables a publication reads and writes, made TEMP on the job thread's own
 * connection while it is staged: SQLite resolves an unqualified name in temp first, so
 * the format's publish reads the staged rows and records its files here, and nothing
 * else sees them. Dropped by their qualified names, never main's.
 */
static const char *const sync_stage_create[] = {
    "CREATE TEMP TABLE repo_version_units (version_id INTEGER NOT NULL,"
    " unit_id INTEGER NOT NULL, PRIMARY KEY (version_id, unit_id))",
    "CREATE TEMP TABLE repo_version_errata (version_id INTEGER NOT NULL,"
    " erratum_id INTEGER NOT NULL, PRIMARY KEY (version_id, erratum_id))",
    "CREATE TEMP TABLE repo_version_upstream (version_id INTEGER NOT NULL, path TEXT NOT NULL,"
    " type TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, data TEXT,"
    " PRIMARY KEY (version_id, path))",
    "CREATE TEMP TABLE repo_version_files (version_id INTEGER NOT NULL, path TEXT NOT NULL,"
    " sha256 TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (version_id, path))",
};
static const char *const sync_stage_drop[] = {
    "DROP TABLE IF EXISTS temp.repo_version_units",
    "DROP TABLE IF EXISTS temp.repo_version_errata",
    "DROP TABLE IF EXISTS temp.repo_version_upstream",
    "DROP TABLE IF EXISTS temp.repo_version_files",
};

static void
sync_stage_tables_drop(void)
{
	struct dr_error e;
	size_t i;

	for (i = 0; i < nitems(sync_stage_drop); i++)
		if (store_exec(sync_stage_drop[i], NULL, NULL, NULL, &e) < 0)
			log_warnx("%s: %s", sync_stage_drop[i], e.msg);
}

/*
 * Make the new version's publication while the last downloads still run, before the
 * version exists: the format publishes the staged rows (version id 0), its files go
 * into the pool (content-addressed: unreferenced until the version is recorded) and
 * their paths into *ret_files ([{path, sha256, size}]), which sync_version_create
 * records with the version. Nothing a client sees changes here. Not for mirror_complete
 * (its publish serves upstream's files, and looks the version itself up).
 */
static int
sync_publish_stage(
    struct repo_sync *s, const struct repo_format *fmt, json_t **ret_files, struct dr_error *err)
{
	size_t i;
	int r = -1;

	sync_stage_tables_drop();
	for (i = 0; i < nitems(sync_stage_create); i++)
		if (store_exec(sync_stage_create[i], NULL, NULL, NULL, err) < 0)
			goto out;
	if (store_begin(err) < 0)
		goto out;
	if (sync_version_rows(s, 0, err) < 0 || store_commit(err) < 0) {
		store_rollback();
		goto out;
	}
	if (fmt->publish(s->repo, 0, err) < 0 ||
	    store_query("SELECT path, sha256, size FROM temp.repo_version_files", NULL, ret_files,
	        err) < 0)
		goto out;
	r = 0;
out:
	sync_stage_tables_drop();
	return r;
}

/*
 * Make the new version (units, errata, upstream files, and the publication staged in
 * files when not NULL) in one transaction.
 */
static int
sync_version_create(struct repo_sync *s, const char *digest, const json_t *files, int64_t *ret_id,
    struct dr_error *err)
{
	int64_t repo_id = json_integer_value(json_object_get(s->repo, "id")), vid;
	_cleanup_json_ json_t *row = NULL;
	size_t i;
	json_t *f;

	if (store_begin(err) < 0)
		return -1;
	row = store_query_one(err,
	    "SELECT COALESCE(MAX(number), 0) + 1 AS n FROM repo_versions WHERE repository_id = ? "
	    "AND cv_version_id IS NULL",
	    "[I]", (json_int_t)repo_id);
	if (row == NULL)
		goto fail;
	if (store_execf(NULL, &vid, err,
	        "INSERT INTO repo_versions (repository_id, number, upstream_checksum,"
	        " content_digest, package_count, erratum_count, size, created_at)"
	        " VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
	        "[IIs?sIII]", (json_int_t)repo_id, json_integer_value(json_object_get(row, "n")),
	        s->upstream_checksum, digest, (json_int_t)s->nunits, (json_int_t)s->nerrata,
	        (json_int_t)time(NULL)) < 0)
		goto fail;
	if (sync_version_rows(s, vid, err) < 0)
		goto fail;
	json_array_foreach(files, i, f)
	{
		if (store_execf(NULL, NULL, err,
		        "INSERT INTO repo_version_files (version_id, path, sha256, size)"
		        " VALUES (?, ?, ?, ?)",
		        "[IssI]", (json_int_t)vid, json_string_value(json_object_get(f, "path")),
		        json_string_value(json_object_get(f, "sha256")),
		        (json_int_t)json_integer_value(json_object_get(f, "size"))) < 0)
			goto fail;
	}
	if (store_execf(NULL, NULL, err,
	        "UPDATE repo_versions SET size = (SELECT COALESCE(SUM(u.size), 0) FROM repo_units "
	        "u"
	        " JOIN repo_version_units vu ON vu.unit_id = u.id WHERE vu.version_id = ?)"
	        " WHERE id = ?",
	        "[II]", (json_int_t)vid, (json_int_t)vid) < 0)
		goto fail;
	if (store_commit(err) < 0)
		goto fail;
	*ret_id = vid;
	return 0;
fail:
	store_rollback();
	return -1;
}

static int
sync_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

/* Record how the sync ended on the repository. */
static void
sync_record(int64_t repo_id, const char *state, const char *error)
{
	struct dr_error err;

	if (store_execf(NULL, NULL, &err,
	        "UPDATE repo_repositories SET last_sync_at = ?, last_sync_state = ?,"
	        " last_sync_error = ? WHERE id = ?",
	        "[Iss?I]", (json_int_t)time(NULL), state, error, (json_int_t)repo_id) < 0)
		log_warnx("repository %lld: %s", (long long)repo_id, err.msg);
}

/* The body of the job; s is filled, the caller frees it. */
static int
sync_do(struct repo_sync *s, json_t **ret_result, struct dr_error *err)
{
	const struct repo_format *fmt =
	    repo_format_find(json_string_value(json_object_get(s->repo, "type")));
	const char *name = json_string_value(json_object_get(s->repo, "name"));
	const char *policy = json_string_value(json_object_get(s->repo, "mirroring_policy"));
	const char *dlpolicy = json_string_value(json_object_get(s->repo, "download_policy"));
	bool mirror = strcmp(policy, "mirror_complete") == 0;
	int64_t repo_id = json_integer_value(json_object_get(s->repo, "id"));
	int64_t latest = json_integer_value(json_object_get(s->repo, "latest_version_id"));
	_cleanup_json_ json_t *prev = NULL, *files = NULL;
	char digest[129];
	int64_t vid = 0, t0 = time_mono_us(), c0 = repo_sync_cpu_us(), tp = 0, cp = 0;
	bool changed = false, staged = false;
	int r;

	job_printf(s->job, "syncing %s from %s\n", name,
	    json_string_value(json_object_get(s->repo, "url")));
	if (strcmp(dlpolicy, "on_demand") != 0)
		sync_fetch_start(s);
	/* While the metadata is read, SQLite's checkpoints are rare (measured: 68 fdatasyncs
	 * in the job thread of a 20,000-package rpm-md sync waited behind the downloads'
	 * syncfs, and primary.xml was read at a third of its CPU pace; 10 after). The rest is
	 * checkpointed as soon as the metadata is read, while the last downloads run. */
	store_bulk(true);
	r = fmt->sync(s, err);
	store_bulk(false);
	if (r == 0)
		job_printf(s->job,
		    "metadata read: %zu packages, %zu errata (%.2f s, CPU %.2f s)\n", s->nunits,
		    s->nerrata, (double)(time_mono_us() - t0) / 1e6,
		    (double)(repo_sync_cpu_us() - c0) / 1e6);
	/* What the new version holds is known now: it is compared with the latest, and its
	 * publication made, while the last downloads run. */
	if (r == 0) {
		if (!mirror && latest > 0 && sync_add_previous(s, latest, err) < 0)
			r = -1;
		sync_ids_unique(s->units, &s->nunits);
		sync_ids_unique(s->errata, &s->nerrata);
		sync_content_digest(s, mirror, digest);
		if (r == 0 && latest > 0)
			prev = store_query_one(err,
			    "SELECT content_digest FROM repo_versions WHERE id = ?", "[I]",
			    (json_int_t)latest);
		changed = r == 0 &&
		    (prev == NULL ||
		        strcmp(json_string_value(json_object_get(prev, "content_digest")),
		            digest) != 0);
	}
	if (changed && !mirror) {
		sync_fetch_wait_last_round(s);
		tp = time_mono_us();
		cp = repo_sync_cpu_us();
		staged = sync_publish_stage(s, fmt, &files, err) == 0;
		if (!staged)
			r = -1;
		else
			job_printf(s->job, "publication made at %.2f s in %.2f s (CPU %.2f s)\n",
			    (double)(time_mono_us() - t0) / 1e6,
			    (double)(time_mono_us() - tp) / 1e6,
			    (double)(repo_sync_cpu_us() - cp) / 1e6);
	}
	if (sync_fetch_finish(s, r < 0, err) < 0 && r >= 0)
		r = -1;
	if (r < 0)
		return dr_error_prefix(err, "repository %s: ", name);
	if (r == 1) {
		job_printf(s->job, "upstream metadata unchanged: nothing to do\n");
		*ret_result = json_pack(
		    "{s:b, s:I}", "new_version", false, "version_id", (json_int_t)latest);
		return 0;
	}
	job_printf(s->job, "downloads done at %.2f s\n", (double)(time_mono_us() - t0) / 1e6);
	if (!changed) {
		job_printf(s->job, "content unchanged: no new version\n");
		vid = latest;
	} else {
		int64_t tv = time_mono_us();

		if (sync_version_create(s, digest, staged ? files : NULL, &vid, err) < 0)
			return dr_error_prefix(err, "repository %s: ", name);
		tp = time_mono_us();
		cp = repo_sync_cpu_us();
		if (!staged && fmt->publish(s->repo, vid, err) < 0)
			return dr_error_prefix(err, "repository %s: ", name);
		job_printf(s->job,
		    "version recorded in %.2f s, published in %.2f s (CPU %.2f s)\n",
		    (double)(tp - tv) / 1e6, (double)(time_mono_us() - tp) / 1e6,
		    (double)(repo_sync_cpu_us() - cp) / 1e6);
	}
	if (store_execf(NULL, NULL, err,
	        "UPDATE repo_repositories SET latest_version_id = ?, upstream_checksum = ?"
	        " WHERE id = ?",
	        "[Is?I]", (json_int_t)vid, s->upstream_checksum, (json_int_t)repo_id) < 0)
		return -1;
	if (vid != latest) {
		_cleanup_json_ json_t *v = repo_version_get(vid);
		job_printf(s->job, "new version %lld: %zu packages, %zu errata\n",
		    (long long)json_integer_value(json_object_get(v, "number")), s->nunits,
		    s->nerrata);
		if (repo_version_retain(repo_id, err) < 0)
			job_printf(s->job, "warning: retention: %s\n", err->msg);
	}
	*ret_result = json_pack("{s:b, s:I, s:I, s:I, s:I, s:f}", "new_version", vid != latest,
	    "version_id", (json_int_t)vid, "packages", (json_int_t)s->nunits, "errata",
	    (json_int_t)s->nerrata, "bytes_downloaded", (json_int_t)s->bytes_downloaded, "seconds",
	    (double)(time_mono_us() - t0) / 1e6);
	return 0;
}

/* The repo_sync job: params {"repository": name or id}. */
int
repo_sync_run(struct job *job, struct dr_error *err)
{
	const char *which = json_string_value(json_object_get(job_params(job), "repository"));
	_cleanup_free_ char *idtext = NULL;
	json_t *result = NULL;

	if (which == NULL && json_is_integer(json_object_get(job_params(job), "repository")))
		which = idtext = xasprintf("%lld",
		    (long long)json_integer_value(json_object_get(job_params(job), "repository")));
	if (which == NULL)
		return dr_error_set(err, "params: \"repository\" (name or id) is required");
	if (repo_sync_one(job, which, &result, err) < 0)
		return -1;
	job_result_set(job, result);
	return 0;
}

/* Sync one repository (name or id) inside job; *ret_result as repo_sync's result. */
int
repo_sync_one(struct job *job, const char *which, json_t **ret_result, struct dr_error *err)
{
	struct repo_sync s = {.job = job};
	json_t *result = NULL;
	int64_t repo_id, claimed = 0;
	int r;

	*ret_result = NULL;
	if ((s.repo = repo_get(which)) == NULL)
		return dr_error_set(err, "no repository '%s'", which);
	repo_id = json_integer_value(json_object_get(s.repo, "id"));
	if (repo_pool_dir() == NULL) {
		json_decref(s.repo);
		return dr_error_set(err, "the content pool is not set up");
	}
	s.workdir = repo_pool_tmp_path("sync");
	if (mkdir(s.workdir, 0700) < 0) {
		dr_error_errno(err, "%s", s.workdir);
		free(s.workdir);
		json_decref(s.repo);
		return -1;
	}
	s.upstream = json_array();
	s.queued = json_object();
	s.locations = json_object();
	s.sources = json_object();
	/* One sync per repository at a time: two would share downloads and race for the
	 * version number. Claiming is one conditional update. */
	if (store_execf(&claimed, NULL, err,
	        "UPDATE repo_repositories SET last_sync_state = 'running', last_sync_error = NULL"
	        " WHERE id = ? AND (last_sync_state IS NULL OR last_sync_state <> 'running')",
	        "[I]", (json_int_t)repo_id) < 0)
		r = -1;
	else if (claimed == 0)
		r = dr_error_set(err, "repository %s: another sync of it is running",
		    json_string_value(json_object_get(s.repo, "name")));
	else {
		repos_content_lock(job, false);
		r = sync_do(&s, &result, err);
		repos_content_unlock();
		sync_record(repo_id, r == 0 ? "succeeded" : "failed", r == 0 ? NULL : err->msg);
	}
	if (r == 0) {
		*ret_result = result;
		repos_content_changed(job);
	}
	nftw(s.workdir, sync_rm, 16, FTW_DEPTH | FTW_PHYS);
	free(s.workdir);
	free(s.units);
	free(s.errata);
	free(s.upstream_checksum);
	json_decref(s.upstream);
	json_decref(s.queued);
	json_decref(s.locations);
	json_decref(s.sources);
	json_decref(s.repo);
	return r;
}
