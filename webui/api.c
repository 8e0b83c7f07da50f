/*
 * api.c - the REST API framework (lists with search, paging and permission scopes;
 * validation errors; OpenAPI) and the foundation's resources: status, tokens, jobs,
 * schedules, users, roles, audits, settings, backup.
 */
#define LOG_COMPONENT "api"
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "webui/webui.h"

#define API_OUTPUT_CHUNK 65536
#define API_RESOURCES_MAX 128
#define API_PERMISSIONS_MAX 256
#define API_PAGE_MAX 1000000

static time_t api_started;
static const struct api_resource *api_resources[API_RESOURCES_MAX];
static size_t api_nresources;
static pthread_mutex_t api_settings_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *api_settings;

/* Searchable fields of the foundation's resources. */
static const struct search_field api_job_fields[] = {
    {"id", "jobs.id", SEARCH_INT},
    {"kind", "jobs.kind", SEARCH_TEXT, SEARCH_DEFAULT},
    {"state", "jobs.state", SEARCH_TEXT, SEARCH_DEFAULT},
    {"owner", "jobs.owner", SEARCH_TEXT, SEARCH_DEFAULT},
    {"error", "jobs.error", SEARCH_TEXT},
    {"schedule_id", "jobs.schedule_id", SEARCH_INT},
    {"created_at", "jobs.created_at", SEARCH_TIME},
    {"started_at", "jobs.started_at", SEARCH_TIME},
    {"finished_at", "jobs.finished_at", SEARCH_TIME},
};

const struct api_resource api_jobs_resource = {
    .name = "jobs",
    .select = "jobs.id AS id, kind, state, params AS params_json, owner, created_at,"
              " started_at, finished_at, timeout, result AS result_json, error, schedule_id",
    .from = "jobs",
    .id_sql = "jobs.id",
    .order = "jobs.id DESC",
    .fields = api_job_fields,
    .nfields = nitems(api_job_fields),
};

/* Schedules come back with enabled as a boolean. */
static void
api_schedule_present(json_t *row)
{
	json_object_set_new(row, "enabled",
	    json_boolean(json_integer_value(json_object_get(row, "enabled")) != 0));
}

static const struct search_field api_schedule_fields[] = {
    {"id", "schedules.id", SEARCH_INT},
    {"name", "schedules.name", SEARCH_TEXT, SEARCH_DEFAULT},
    {"kind", "schedules.kind", SEARCH_TEXT, SEARCH_DEFAULT},
    {"cron", "schedules.cron", SEARCH_TEXT},
    {"tz", "schedules.tz", SEARCH_TEXT},
    {"owner", "schedules.owner", SEARCH_TEXT},
    {"enabled", "schedules.enabled", SEARCH_BOOL},
    {"iterations", "schedules.iterations", SEARCH_INT},
    {"next_run_at", "schedules.next_run_at", SEARCH_TIME},
    {"last_run_at", "schedules.last_run_at", SEARCH_TIME},
    {"created_at", "schedules.created_at", SEARCH_TIME},
};

const struct api_resource api_schedules_resource = {
    .name = "schedules",
    .select = "id, name, cron, tz, start_at, end_at, max_iterations, iterations, misfire,"
              " enabled, kind, params AS params_json, owner, next_run_at, last_run_at,"
              " created_at",
    .from = "schedules",
    .id_sql = "schedules.id",
    .order = "schedules.name ASC",
    .fields = api_schedule_fields,
    .nfields = nitems(api_schedule_fields),
    .present = api_schedule_present,
};

static const struct search_field api_user_fields[] = {
    {"id", "users.id", SEARCH_INT},
    {"login", "users.name", SEARCH_TEXT, SEARCH_DEFAULT},
    {"role", "users.role", SEARCH_TEXT, SEARCH_DEFAULT},
    {"created_at", "users.created_at", SEARCH_TIME},
    {"last_login_at", "users.last_login_at", SEARCH_TIME},
};

const struct api_resource api_users_resource = {
    .name = "users",
    .select = "id, name AS login, role, created_at, updated_at, last_login_at",
    .from = "users",
    .id_sql = "users.id",
    .order = "users.name ASC",
    .fields = api_user_fields,
    .nfields = nitems(api_user_fields),
};

static void api_role_present(json_t *row);

static const struct search_field api_role_fields[] = {
    {"id", "roles.id", SEARCH_INT},
    {"name", "roles.name", SEARCH_TEXT, SEARCH_DEFAULT},
    {"description", "roles.description", SEARCH_TEXT, SEARCH_DEFAULT},
    {"builtin", "roles.builtin", SEARCH_BOOL},
};

const struct api_resource api_roles_resource = {
    .name = "roles",
    .select = "id, name, description, builtin, created_at",
    .from = "roles",
    .id_sql = "roles.id",
    .order = "roles.builtin DESC, roles.name ASC",
    .fields = api_role_fields,
    .nfields = nitems(api_role_fields),
    .present = api_role_present,
};

static const struct search_field api_audit_fields[] = {
    {"id", "audits.id", SEARCH_INT},
    {"at", "audits.at", SEARCH_TIME},
    {"user", "audits.\"user\"", SEARCH_TEXT, SEARCH_DEFAULT},
    {"remote", "audits.remote", SEARCH_TEXT},
    {"action", "audits.action", SEARCH_TEXT, SEARCH_DEFAULT},
    {"resource", "audits.resource", SEARCH_TEXT, SEARCH_DEFAULT},
    {"resource_id", "audits.resource_id", SEARCH_TEXT, SEARCH_DEFAULT},
    {"summary", "audits.summary", SEARCH_TEXT},
};

const struct api_resource api_audits_resource = {
    .name = "audits",
    .select = "id, at, \"user\" AS \"user\", remote, action, resource, resource_id, summary,"
              " before AS before_json, after AS after_json",
    .from = "audits",
    .id_sql = "audits.id",
    .order = "audits.id DESC",
    .fields = api_audit_fields,
    .nfields = nitems(api_audit_fields),
};

static const struct search_field api_token_fields[] = {
    {"id", "api_tokens.id", SEARCH_INT},
    {"name", "api_tokens.name", SEARCH_TEXT, SEARCH_DEFAULT},
    {"user", "users.name", SEARCH_TEXT, SEARCH_DEFAULT},
    {"created_at", "api_tokens.created_at", SEARCH_TIME},
    {"expires_at", "api_tokens.expires_at", SEARCH_TIME},
};

const struct api_resource api_tokens_resource = {
    .name = "tokens",
    .select = "api_tokens.id AS id, api_tokens.name AS name, users.name AS \"user\","
              " api_tokens.created_at AS created_at, api_tokens.expires_at AS expires_at",
    .from = "api_tokens JOIN users ON users.id = api_tokens.user_id",
    .id_sql = "api_tokens.id",
    .order = "api_tokens.id DESC",
    .fields = api_token_fields,
    .nfields = nitems(api_token_fields),
};

/* Make a resource's searchable fields known. */
void
api_resource_register(const struct api_resource *r)
{
	for (size_t i = 0; i < api_nresources; i++)
		if (api_resources[i] == r)
			return;
	if (api_nresources == API_RESOURCES_MAX)
		fatalx("api_resource_register %s: more than %d resources", r->name,
		    API_RESOURCES_MAX);
	api_resources[api_nresources++] = r;
}

/* The registered resource called name. */
const struct api_resource *
api_resource_find(const char *name)
{
	for (size_t i = 0; i < api_nresources; i++)
		if (strcmp(api_resources[i]->name, name) == 0)
			return api_resources[i];
	return NULL;
}

/* 422 with a message per field. */
void
api_reply_invalid(struct http_response *resp, json_t *fields, const char *message)
{
	http_reply_json(resp, 422,
	    json_pack("{s:{s:i, s:s, s:o}}", "error", "status", 422, "message", message, "fields",
	        fields != NULL ? fields : json_object()));
}

/* One bad field as a 422. */
static void
api_reply_field(struct http_response *resp, const char *field, const char *message)
{
	api_reply_invalid(resp, json_pack("{s:s}", field, message), message);
}

/* Page and per_page from the query, within bounds; a bad value is a 422. */
static int
api_paging(struct http_request *req, struct http_response *resp, long long *ret_page,
    long long *ret_per_page)
{
	const char *page = http_request_query(req, "page");
	const char *per = http_request_query(req, "per_page");

	*ret_page = 1;
	*ret_per_page = API_PER_PAGE_DEFAULT;
	if (page != NULL && str_to_ll(page, 1, API_PAGE_MAX, ret_page) < 0) {
		api_reply_field(resp, "page", "page: expected a number from 1");
		return -1;
	}
	if (per != NULL && str_to_ll(per, 1, API_PER_PAGE_MAX, ret_per_page) < 0) {
		char msg[128];

		snprintf(
		    msg, sizeof msg, "per_page: expected a number from 1 to %d", API_PER_PAGE_MAX);
		api_reply_field(resp, "per_page", msg);
		return -1;
	}
	return 0;
}

/* A list in Foreman's shape; rows is stolen. */
void
api_reply_list(struct http_response *resp, json_t *rows, int64_t total, int64_t subtotal,
    long long page, long long per_page, const char *search)
{
	http_reply_json(resp, 200,
	    json_pack("{s:I, s:I, s:I, s:I, s:s?, s:o}", "total", (json_int_t)total, "subtotal",
	        (json_int_t)subtotal, "page", (json_int_t)page, "per_page", (json_int_t)per_page,
	        "search", search, "results", rows));
}

/*
 * WHERE conditions for a list: the scope, an extra condition, then the search; nothing
 * when there are none, so that SQLite counts a whole table from its b-tree's pages.
 */
static int
api_where(const struct api_resource *r, const char *scope, const char *extra,
    const json_t *extra_params, const char *search, struct buf *where, json_t *params,
    int *ret_bad, struct dr_error *err)
{
	buf_adds(where,
	    scope != NULL || extra != NULL || (search != NULL && *search != '\0') ? " WHERE 1 = 1"
	                                                                          : "");
	if (scope != NULL) {
		buf_adds(where, " AND ");
		if (search_compile(scope, r->fields, r->nfields, where, params, err) < 0) {
			*ret_bad = 500;
			return dr_error_prefix(err, "the role's filter on %s: ", r->name);
		}
	}
	if (extra != NULL) {
		buf_addf(where, " AND (%s)", extra);
		json_array_extend(params, (json_t *)extra_params);
	}
	if (search != NULL && *search != '\0') {
		buf_adds(where, " AND ");
		if (search_compile(search, r->fields, r->nfields, where, params, err) < 0) {
			*ret_bad = 422;
			return -1;
		}
	}
	return 0;
}

/*
 * Answers of lists kept per thread, for as long as the store has not changed. Each MHD
 * thread has its own SQLite connection (core/store.c); on it, "PRAGMA data_version"
 * moves when another connection commits and total_changes() when this one writes, so
 * the pair names a state of the data. A list asked again in the same state (the same
 * resource, query, caller's scope) is answered from memory: the usual case for pages
 * that are reloaded and CLIs that poll. Any write anywhere empties it.
 */
#define API_CACHE_ENTRIES 8
#define API_CACHE_BODY_MAX (512 * 1024)

struct api_cache_entry {
	char *key;
	int64_t version, changes;
	char *body;
	size_t len;
	uint64_t used;
};

/* A count of a list's rows (for paging through a search: the count does not move). */
#define API_COUNT_ENTRIES 16

struct api_count_entry {
	char *key; /* FROM, WHERE and the values bound */
	int64_t version, changes, n;
	uint64_t used;
};

struct api_cache {
	struct api_cache_entry e[API_CACHE_ENTRIES];
	struct api_count_entry counts[API_COUNT_ENTRIES];
	uint64_t clock;
};

static pthread_key_t api_cache_key;
static pthread_once_t api_cache_once = PTHREAD_ONCE_INIT;
static bool api_cache_off, api_rows_off;

/* A thread's cache, freed when the thread ends. */
static void
api_cache_free(void *p)
{
	struct api_cache *c = p;

	for (size_t i = 0; c != NULL && i < API_CACHE_ENTRIES; i++) {
		free(c->e[i].key);
		free(c->e[i].body);
	}
	for (size_t i = 0; c != NULL && i < API_COUNT_ENTRIES; i++)
		free(c->counts[i].key);
	free(c);
}

static void
api_cache_key_make(void)
{
	if (pthread_key_create(&api_cache_key, api_cache_free) != 0)
		fatalx("pthread_key_create failed");
	/* For benchmarks: "1" turns off the answers and counts, "all" the rows too. */
	api_cache_off = getenv("DROVER_API_NO_CACHE") != NULL;
	api_rows_off = api_cache_off && strcmp(getenv("DROVER_API_NO_CACHE"), "all") == 0;
}

/* The state of the data as this thread's connection sees it; -1 when unknown. */
static int
api_cache_version(int64_t *ret_version, int64_t *ret_changes)
{
	_cleanup_json_ json_t *row = store_query_one(
	    NULL, "SELECT data_version AS v, total_changes() AS c FROM pragma_data_version", NULL);

	if (row == NULL)
		return -1;
	*ret_version = json_integer_value(json_object_get(row, "v"));
	*ret_changes = json_integer_value(json_object_get(row, "c"));
	return 0;
}

/* This thread's cache, made on first use. */
static struct api_cache *
api_cache_mine(void)
{
	struct api_cache *c;

	pthread_once(&api_cache_once, api_cache_key_make);
	if ((c = pthread_getspecific(api_cache_key)) == NULL) {
		c = xcalloc(1, sizeof *c);
		if (pthread_setspecific(api_cache_key, c) != 0)
			fatalx("pthread_setspecific failed");
	}
	return c;
}

/* count(*) of FROM … WHERE … with params, from this thread's cache when the store has
 * not changed since it was counted. */
static int
api_count(const char *from, const char *where, const json_t *params, int64_t *ret_n,
    struct dr_error *err)
{
	_cleanup_free_ char *sql = xasprintf("SELECT count(*) AS n FROM %s%s", from, where);
	_cleanup_free_ char *p = json_dumps(params, JSON_COMPACT), *key = NULL;
	_cleanup_json_ json_t *rows = NULL;
	struct api_count_entry *victim = NULL;
	struct api_cache *c = api_cache_mine();
	int64_t version, changes;
	bool cached = !api_cache_off && api_cache_version(&version, &changes) == 0;
	size_t i;

	key = xasprintf("%s\n%s", sql, p != NULL ? p : "");
	for (i = 0; cached && i < API_COUNT_ENTRIES; i++) {
		struct api_count_entry *e = &c->counts[i];

		if (e->key != NULL && e->version == version && e->changes == changes &&
		    strcmp(e->key, key) == 0) {
			e->used = ++c->clock;
			*ret_n = e->n;
			return 0;
		}
		/* The victim: a slot of an older state, else the least recently used. */
		if (e->key == NULL || e->version != version || e->changes != changes)
			victim = e;
		else if (victim == NULL ||
		    (victim->version == version && victim->changes == changes &&
		        victim->key != NULL && e->used < victim->used))
			victim = e;
	}
	if (store_query(sql, params, &rows, err) < 0)
		return -1;
	*ret_n = json_integer_value(json_object_get(json_array_get(rows, 0), "n"));
	if (cached && victim != NULL) {
		free(victim->key);
		victim->key = TAKE_PTR(key);
		victim->version = version;
		victim->changes = changes;
		victim->n = *ret_n;
		victim->used = ++c->clock;
	}
	return 0;
}

/* This thread's cache entry for key in the current state, or NULL. */
static struct api_cache_entry *
api_cache_get(const char *key, int64_t version, int64_t changes)
{
	struct api_cache *c;

	pthread_once(&api_cache_once, api_cache_key_make);
	if (api_cache_off || (c = pthread_getspecific(api_cache_key)) == NULL)
		return NULL;
	for (size_t i = 0; i < API_CACHE_ENTRIES; i++) {
		struct api_cache_entry *e = &c->e[i];

		if (e->key != NULL && e->version == version && e->changes == changes &&
		    strcmp(e->key, key) == 0) {
			e->used = ++c->clock;
			return e;
		}
	}
	return NULL;
}

/* Keep body (copied) for key in this state, in place of the least recently used. */
static void
api_cache_put(const char *key, int64_t version, int64_t changes, const char *body, size_t len)
{
	struct api_cache *c;
	struct api_cache_entry *victim = NULL;

	pthread_once(&api_cache_once, api_cache_key_make);
	if (api_cache_off || len > API_CACHE_BODY_MAX)
		return;
	c = api_cache_mine();
	for (size_t i = 0; i < API_CACHE_ENTRIES; i++) {
		struct api_cache_entry *e = &c->e[i];

		/* Entries of an older state are of no more use. */
		if (e->key == NULL || e->version != version || e->changes != changes) {
			victim = e;
			break;
		}
		if (victim == NULL || e->used < victim->used)
			victim = e;
	}
	free(victim->key);
	free(victim->body);
	victim->key = xstrdup(key);
	victim->version = version;
	victim->changes = changes;
	victim->body = xmalloc(len + 1);
	memcpy(victim->body, body, len);
	victim->body[len] = '\0';
	victim->len = len;
	victim->used = ++c->clock;
}

/* A list in Foreman's shape around results, a JSON array as text. */
static void
api_reply_list_text(struct http_response *resp, const struct buf *results, int64_t total,
    int64_t subtotal, long long page, long long per_page, const char *search, struct buf *ret_body)
{
	struct buf out = BUF_INIT(0);
	_cleanup_json_ json_t *s = search != NULL ? json_string(search) : json_null();
	_cleanup_free_ char *stext = NULL;

	if (s == NULL) /* not UTF-8: shown as null, as jansson's packing would refuse it */
		s = json_null();
	stext = json_dumps(s, JSON_ENCODE_ANY | JSON_COMPACT);
	buf_addf(&out,
	    "{\"total\":%lld,\"subtotal\":%lld,\"page\":%lld,\"per_page\":%lld,"
	    "\"search\":%s,\"results\":",
	    (long long)total, (long long)subtotal, page, per_page, stext);
	buf_add(&out, results->data, results->len);
	buf_addc(&out, '}');
	http_reply_text(resp, 200, "application/json", out.data, out.len);
	*ret_body = out;
}

/*
 * Rows of lists as JSON texts (api_resource.json_stamp), shared by the threads and kept
 * across writes: a row is found by its resource, id and stamp, and the stamp moves
 * whenever the row's text may. A write to one host thus costs the next page one row's
 * rendering, not a hundred. Past API_ROWS_BYTES the whole table is let go.
 */
#define API_ROWS_BYTES (64 * 1024 * 1024)
#define API_ROWS_BUCKETS_MIN 1024

struct api_row {
	const struct api_resource *r;
	int64_t id;
	char *stamp, *json;
	size_t slen, jlen;
	struct api_row *next;
};

static struct {
	pthread_mutex_t lock;
	struct api_row **bucket;
	size_t nbuckets, n, bytes;
} api_rows = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The bucket of (r, id) in a table of n buckets (n a power of two). */
static size_t
api_rows_slot(const struct api_resource *r, int64_t id, size_t n)
{
	uint64_t h = ((uint64_t)(uintptr_t)r >> 4) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)id;

	h *= 0xbf58476d1ce4e5b9ULL;
	return (size_t)(h ^ (h >> 31)) & (n - 1);
}

/* Forget every row; api_rows.lock held. */
static void
api_rows_clear(void)
{
	for (size_t i = 0; i < api_rows.nbuckets; i++)
		while (api_rows.bucket[i] != NULL) {
			struct api_row *e = api_rows.bucket[i];

			api_rows.bucket[i] = e->next;
			free(e->stamp);
			free(e->json);
			free(e);
		}
	api_rows.n = api_rows.bytes = 0;
}

/* The row (r, id) whatever its stamp; api_rows.lock held. */
static struct api_row *
api_rows_find(const struct api_resource *r, int64_t id)
{
	struct api_row *e;

	if (api_rows.nbuckets == 0)
		return NULL;
	for (e = api_rows.bucket[api_rows_slot(r, id, api_rows.nbuckets)]; e != NULL; e = e->next)
		if (e->r == r && e->id == id)
			return e;
	return NULL;
}

/* Keep json as the text of (r, id) at stamp; api_rows.lock held. */
static void
api_rows_put(const struct api_resource *r, int64_t id, const char *stamp, size_t slen,
    const char *json, size_t jlen)
{
	struct api_row *e = api_rows_find(r, id);
	size_t i;

	if (e != NULL) {
		api_rows.bytes -= e->slen + e->jlen;
		free(e->stamp);
		free(e->json);
	} else {
		if (api_rows.bytes + slen + jlen + sizeof *e > API_ROWS_BYTES)
			api_rows_clear();
		if (api_rows.n >= api_rows.nbuckets) { /* grow: twice the buckets, rehashed */
			size_t nb =
			    api_rows.nbuckets != 0 ? api_rows.nbuckets * 2 : API_ROWS_BUCKETS_MIN;
			struct api_row **b = xcalloc(nb, sizeof *b);

			for (i = 0; i < api_rows.nbuckets; i++)
				while (api_rows.bucket[i] != NULL) {
					struct api_row *m = api_rows.bucket[i];
					size_t k = api_rows_slot(m->r, m->id, nb);

					api_rows.bucket[i] = m->next;
					m->next = b[k];
					b[k] = m;
				}
			free(api_rows.bucket);
			api_rows.bucket = b;
			api_rows.nbuckets = nb;
		}
		e = xcalloc(1, sizeof *e);
		e->r = r;
		e->id = id;
		i = api_rows_slot(r, id, api_rows.nbuckets);
		e->next = api_rows.bucket[i];
		api_rows.bucket[i] = e;
		api_rows.n++;
		api_rows.bytes += sizeof *e;
	}
	e->stamp = xmalloc(slen + 1);
	memcpy(e->stamp, stamp, slen + 1);
	e->slen = slen;
	e->json = xmalloc(jlen + 1);
	memcpy(e->json, json, jlen + 1);
	e->jlen = jlen;
	api_rows.bytes += slen + jlen;
}

/* A page being made of rows' texts: an array's elements on text, or parsed onto rows. */
struct api_page {
	const struct api_resource *r;
	struct buf *text;
	json_t *rows;
	size_t n; /* rows so far */
	bool keep; /* keep the rows rendered */
};

/* Add one row's text to a page. */
static void
api_page_add(struct api_page *pg, const char *j, size_t len)
{
	json_t *v;

	if (pg->text != NULL) {
		buf_adds(pg->text, pg->n > 0 ? "," : "[");
		buf_add(pg->text, j, len);
	} else if ((v = json_loadb(j, len, 0, NULL)) != NULL) {
		json_array_append_new(pg->rows, v);
	}
	pg->n++;
}

/* A row id as text (from store_each) as a number; 0 when it is none. */
static int64_t
api_page_id(const char *s)
{
	long long id;

	return s != NULL && str_to_ll(s, 1, INT64_MAX, &id) == 0 ? (int64_t)id : 0;
}

/* store_each: a row of ids and stamps added from the kept rows; -2 when it is not kept. */
static int
api_page_kept_row(void *arg, size_t n, const char *const *texts, const size_t *lens)
{
	struct api_page *pg = arg;
	struct api_row *e;
	int rc = -2;

	if (n != 2 || texts[1] == NULL)
		return -2;
	pthread_mutex_lock(&api_rows.lock);
	if ((e = api_rows_find(pg->r, api_page_id(texts[0]))) != NULL && e->slen == lens[1] &&
	    memcmp(e->stamp, texts[1], lens[1]) == 0) {
		api_page_add(pg, e->json, e->jlen);
		rc = 0;
	}
	pthread_mutex_unlock(&api_rows.lock);
	return rc;
}

/* store_each: a rendered row (text, id, stamp) added, and kept when pg->keep. */
static int
api_page_rendered_row(void *arg, size_t n, const char *const *texts, const size_t *lens)
{
	struct api_page *pg = arg;

	if (n < 1 || texts[0] == NULL)
		return 0;
	api_page_add(pg, texts[0], lens[0]);
	if (pg->keep && n == 3 && texts[2] != NULL) {
		pthread_mutex_lock(&api_rows.lock);
		api_rows_put(pg->r, api_page_id(texts[1]), texts[2], lens[2], texts[0], lens[0]);
		pthread_mutex_unlock(&api_rows.lock);
	}
	return 0;
}

/*
 * One page of r as JSON texts (r->json), joined into an array on text, or parsed into
 * rows when text is NULL. With r->json_stamp, the page's ids and stamps are read first
 * and the page made of the kept rows when all of them are kept at their stamps; else it
 * is rendered by SQLite, and its rows kept.
 */
static int
api_page_json(const struct api_resource *r, const char *where, const char *orderby,
    const json_t *params, long long page, long long per_page, struct buf *text, json_t *rows,
    struct dr_error *err)
{
	struct api_page pg = {r, text, rows, 0, false};
	size_t start = text != NULL ? text->len : 0;
	_cleanup_free_ char *stamp = NULL, *sql = NULL;
	int rc;

	pthread_once(&api_cache_once, api_cache_key_make);
	pg.keep = r->json_stamp != NULL && !api_rows_off;
	if (pg.keep)
		stamp = xasprintf(", %s AS id, %s AS s", r->id_sql, r->json_stamp);
	if (pg.keep) {
		sql = xasprintf("SELECT %s AS id, %s AS s FROM %s%s ORDER BY %s LIMIT %lld"
		                " OFFSET %lld",
		    r->id_sql, r->json_stamp, r->from, where, orderby, per_page,
		    (page - 1) * per_page);
		if ((rc = store_each(sql, params, api_page_kept_row, &pg, err)) == 0)
			goto done;
		if (rc != -2)
			return -1;
		/* A row is not kept: start again. */
		if (text != NULL && text->data != NULL) {
			text->len = start;
			text->data[start] = '\0';
		}
		if (rows != NULL)
			json_array_clear(rows);
		pg.n = 0;
		free(sql);
	}
	/* The page is materialised first so that json_columns are computed once a row. */
	sql = xasprintf("WITH page AS MATERIALIZED (SELECT %s.*%s FROM %s%s"
	                " ORDER BY %s LIMIT %lld OFFSET %lld)"
	                " SELECT %s AS j%s FROM page AS %s ORDER BY %s",
	    r->from, r->json_columns != NULL ? r->json_columns : "", r->from, where, orderby,
	    per_page, (page - 1) * per_page, r->json, pg.keep ? stamp : "", r->from, orderby);
	if (store_each(sql, params, api_page_rendered_row, &pg, err) < 0)
		return -1;
done:
	if (text != NULL)
		buf_adds(text, pg.n > 0 ? "]" : "[]");
	return 0;
}

/* The list query with counts: total ignores the search, subtotal does not. The page comes
 * as rows, or as text when text is set and r has a json expression. */
static int
api_list_run(const struct api_resource *r, const char *search, const char *scope,
    const char *extra, const json_t *extra_params, const char *order, long long page,
    long long per_page, json_t **ret_rows, struct buf *text, int64_t *ret_total,
    int64_t *ret_subtotal, int *ret_bad, struct dr_error *err)
{
	struct buf where = BUF_INIT(SEARCH_SQL_MAX * 2), orderby = BUF_INIT(4096);
	_cleanup_json_ json_t *params = json_array(), *rows = NULL;
	_cleanup_free_ char *sql = NULL;
	bool searching = search != NULL && *search != '\0';
	size_t i;
	json_t *row;
	int rc = -1;

	*ret_bad = 500;
	if (order != NULL && *order != '\0') {
		if (search_order(order, r->fields, r->nfields, &orderby, err) < 0) {
			*ret_bad = 422;
			goto out;
		}
		buf_addf(&orderby, ", %s", r->id_sql);
	} else {
		buf_adds(&orderby, r->order);
	}
	if (api_where(r, scope, extra, extra_params, search, &where, params, ret_bad, err) < 0)
		goto out;
	if (r->json != NULL) {
		rows = json_array();
		if (api_page_json(r, where.data, orderby.data, params, page, per_page, text,
		        text != NULL ? NULL : rows, err) < 0)
			goto out;
	} else {
		sql = xasprintf("SELECT %s FROM %s%s ORDER BY %s LIMIT %lld OFFSET %lld",
		    r->select, r->from, where.data, orderby.data, per_page, (page - 1) * per_page);
		if (store_query(sql, params, &rows, err) < 0)
			goto out;
	}
	if (api_count(r->from, where.data, params, ret_subtotal, err) < 0)
		goto out;
	*ret_total = *ret_subtotal;
	if (searching) {
		/* The total without the search, within the scope. */
		json_decref(params);
		params = json_array();
		buf_reset(&where);
		if (api_where(r, scope, extra, extra_params, NULL, &where, params, ret_bad, err) <
		    0)
			goto out;
		if (api_count(r->from, where.data, params, ret_total, err) < 0)
			goto out;
	}
	if (r->present != NULL && r->json == NULL)
		json_array_foreach(rows, i, row) r->present(row);
	*ret_rows = TAKE_PTR(rows);
	rc = 0;
out:
	buf_free(&where);
	buf_free(&orderby);
	return rc;
}

/* Rows of r for pages: search and scope, ordered, one page. */
int
api_list_query(const struct api_resource *r, const char *search, const char *scope,
    const char *order, long long page, long long per_page, json_t **ret_rows, int64_t *ret_total,
    struct dr_error *err)
{
	int64_t subtotal;
	int bad;

	return api_list_run(r, search, scope, NULL, NULL, order, page, per_page, ret_rows, NULL,
	    &subtotal, ret_total, &bad, err);
}

/* Rows of r for pages, within a trusted condition (one object's rows). */
int
api_list_query_extra(const struct api_resource *r, const char *extra, const json_t *extra_params,
    const char *search, const char *scope, const char *order, long long page, long long per_page,
    json_t **ret_rows, int64_t *ret_total, struct dr_error *err)
{
	int64_t subtotal;
	int bad;

	return api_list_run(r, search, scope, extra, extra_params, order, page, per_page, ret_rows,
	    NULL, &subtotal, ret_total, &bad, err);
}

/* The caller's scope for the route: NULL when every object is allowed. */
static const char *
api_scope(struct http_request *req)
{
	struct auth_principal *p = http_request_principal(req);

	return p != NULL ? p->scope : NULL;
}

/* Answer GET on a list. */
int
api_list(struct http_request *req, struct http_response *resp, const struct api_resource *r,
    const char *extra, const json_t *extra_params)
{
	const char *search = http_request_query(req, "search");
	const char *order = http_request_query(req, "order");
	const char *scope = r->nested ? NULL : api_scope(req);
	long long page, per_page;
	int64_t total = 0, subtotal = 0, version = 0, changes = 0;
	json_t *rows = NULL;
	struct buf text = BUF_INIT(0), body = BUF_INIT(0);
	_cleanup_free_ char *key = NULL, *xp = NULL;
	struct api_cache_entry *hit;
	struct dr_error err;
	int bad;

	if (api_paging(req, resp, &page, &per_page) < 0)
		return 0;
	if (api_cache_version(&version, &changes) == 0) {
		xp = extra_params != NULL ? json_dumps(extra_params, JSON_COMPACT) : NULL;
		key = xasprintf("%s\n%s\n%s\n%lld\n%lld\n%s\n%s\n%s", r->name,
		    search != NULL ? search : "", order != NULL ? order : "", page, per_page,
		    scope != NULL ? scope : "", extra != NULL ? extra : "", xp != NULL ? xp : "");
		if ((hit = api_cache_get(key, version, changes)) != NULL) {
			http_reply_text(resp, 200, "application/json", hit->body, hit->len);
			return 0;
		}
	}
	if (api_list_run(r, search, scope, extra, extra_params, order, page, per_page, &rows,
	        r->json != NULL ? &text : NULL, &total, &subtotal, &bad, &err) < 0) {
		if (bad == 422)
			api_reply_field(
			    resp, str_has_prefix(err.msg, "order") ? "order" : "search", err.msg);
		else
			http_reply_error(resp, 500, "%s", err.msg);
		buf_free(&text);
		return 0;
	}
	if (r->json != NULL) {
		api_reply_list_text(resp, &text, total, subtotal, page, per_page, search, &body);
		if (key != NULL)
			api_cache_put(key, version, changes, body.data, body.len);
		buf_free(&body);
		json_decref(rows);
	} else {
		/* As api_reply_list(), keeping the text for the cache. */
		_cleanup_json_ json_t *list = json_pack("{s:I, s:I, s:I, s:I, s:s?, s:o}", "total",
		    (json_int_t)total, "subtotal", (json_int_t)subtotal, "page", (json_int_t)page,
		    "per_page", (json_int_t)per_page, "search", search, "results", rows);
		_cleanup_free_ char *dumped =
		    list != NULL ? json_dumps(list, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

		if (dumped == NULL) {
			http_reply_error(resp, 500, "the list could not be encoded");
		} else {
			http_reply_text(resp, 200, "application/json", dumped, strlen(dumped));
			if (key != NULL)
				api_cache_put(key, version, changes, dumped, strlen(dumped));
		}
	}
	buf_free(&text);
	return 0;
}

/* Whether object id of r matches the caller's scope for this route. */
bool
api_in_scope(struct http_request *req, const struct api_resource *r, int64_t id)
{
	const char *scope = api_scope(req);
	struct buf where = BUF_INIT(SEARCH_SQL_MAX);
	_cleanup_json_ json_t *params = json_array(), *rows = NULL;
	_cleanup_free_ char *sql = NULL;
	struct dr_error err;
	bool ok = false;

	if (scope == NULL)
		return true;
	json_array_append_new(params, json_integer(id));
	if (search_compile(scope, r->fields, r->nfields, &where, params, &err) < 0) {
		log_warnx("the role filter on %s: %s", r->name, err.msg);
		buf_free(&where);
		return false;
	}
	sql = xasprintf(
	    "SELECT 1 AS ok FROM %s WHERE %s = ? AND %s", r->from, r->id_sql, where.data);
	buf_free(&where);
	if (store_query(sql, params, &rows, &err) < 0)
		log_warnx("scope check on %s %lld: %s", r->name, (long long)id, err.msg);
	else
		ok = json_array_size(rows) > 0;
	return ok;
}

/* GET one object of r as its JSON text, within the caller's scope. */
int
api_show(struct http_request *req, struct http_response *resp, const struct api_resource *r,
    int64_t id, const char *what, const char *label)
{
	_cleanup_free_ char *sql = xasprintf("WITH one AS MATERIALIZED (SELECT %s.*%s FROM %s"
	                                     " WHERE %s = ?) SELECT %s AS j FROM one AS %s",
	    r->from, r->json_columns != NULL ? r->json_columns : "", r->from, r->id_sql, r->json,
	    r->from);
	_cleanup_json_ json_t *row = NULL;
	struct dr_error err;
	const char *j;

	if (!api_in_scope(req, r, id)) {
		/* Out of scope looks like absent: names of hidden objects do not leak. */
		http_reply_error(resp, 404, "no %s '%s'", what, label);
		return 0;
	}
	err.msg[0] = '\0';
	row = store_query_one(&err, sql, "[I]", (json_int_t)id);
	if (row == NULL && err.msg[0] != '\0') {
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	if ((j = json_string_value(json_object_get(row, "j"))) == NULL) {
		http_reply_error(resp, 404, "no %s '%s'", what, label);
		return 0;
	}
	http_reply_text(resp, 200, "application/json", j, strlen(j));
	return 0;
}

/* An :id path segment as a positive integer; a bad one is a 404. */
static int
api_id(struct http_request *req, struct http_response *resp, int64_t *ret)
{
	long long v;

	if (str_to_ll(http_request_param(req, "id"), 1, INT64_MAX, &v) < 0) {
		http_reply_error(resp, 404, "no such id '%s'", http_request_param(req, "id"));
		return -1;
	}
	*ret = v;
	return 0;
}

/* The :id of a resource the caller may see through this route, else a 404. */
static int
api_scoped_id(struct http_request *req, struct http_response *resp, const struct api_resource *r,
    int64_t *ret)
{
	if (api_id(req, resp, ret) < 0)
		return -1;
	if (!api_in_scope(req, r, *ret)) {
		/* Out of scope looks like absent: names of hidden objects do not leak. */
		http_reply_error(resp, 404, "no %s %lld", r->name, (long long)*ret);
		return -1;
	}
	return 0;
}

/* The JSON body as an object, else a 400/422 reply. */
static int
api_body(struct http_request *req, struct http_response *resp, json_t **ret)
{
	struct dr_error err;
	json_t *body;

	if (http_request_json(req, &body, &err) < 0) {
		http_reply_error(resp, 400, "%s", err.msg);
		return -1;
	}
	if (!json_is_object(body)) {
		json_decref(body);
		api_reply_invalid(resp, NULL, "request body: expected a JSON object");
		return -1;
	}
	*ret = body;
	return 0;
}

/* GET /api/v2/status: health for people and monitors. */
static int
api_status(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *rows = NULL;
	struct dr_error err;
	bool store_ok = store_query("SELECT 1 AS ok", NULL, &rows, &err) == 0;

	http_reply_json(resp, store_ok ? 200 : 503,
	    json_pack("{s:s, s:I, s:s, s:o}", "version", PACKAGE_VERSION, "uptime",
	        (json_int_t)(time(NULL) - api_started), "store", store_ok ? "ok" : err.msg, "jobs",
	        job_counts()));
	return 0;
}

/* POST /api/v2/tokens {user, password, name?, expires_in?}: log in, get a bearer token. */
static int
api_token_create(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL;
	_cleanup_free_ char *token = NULL;
	const char *user = NULL, *password = NULL, *name = "api", *role;
	json_int_t ttl = 0;
	struct dr_error err;
	char retry[32];
	int status, wait;

	if (api_body(req, resp, &body) < 0)
		return 0;
	if (json_unpack_ex(body, NULL, 0, "{s:s, s:s, s?:s, s?:I}", "user", &user, "password",
	        &password, "name", &name, "expires_in", &ttl) < 0) {
		api_reply_invalid(resp, NULL,
		    "expected {\"user\": string, \"password\": string, \"name\": string, "
		    "\"expires_in\": seconds}");
		return 0;
	}
	status = auth_login(user, password, http_request_remote(req), &role, &wait);
	if (status == 429) {
		snprintf(retry, sizeof retry, "%d", wait);
		http_reply_error(resp, 429, "too many failed logins: try again in %d s", wait);
		http_reply_header(resp, "Retry-After", retry);
		return 0;
	}
	if (status != 0) {
		http_reply_error(resp, 401, "wrong user name or password");
		return 0;
	}
	if (auth_token_create(user, name, ttl, &token, &err) < 0) {
		api_reply_field(
		    resp, str_has_prefix(err.msg, "name") ? "name" : "expires_in", err.msg);
		return 0;
	}
	store_audit(user, http_request_remote(req), "create", "tokens", name, NULL, NULL, NULL);
	http_reply_json(resp, 201,
	    json_pack(
	        "{s:s, s:s, s:s, s:s}", "token", token, "user", user, "role", role, "name", name));
	return 0;
}

/* Whether the caller manages every user's tokens (an admin) or only their own. */
static bool
api_tokens_all(struct http_request *req)
{
	struct auth_principal *p = http_request_principal(req);

	return p != NULL && auth_allowed(p, "users", "edit", NULL);
}

/* GET /api/v2/tokens: the caller's tokens (every user's for admins). */
static int
api_tokens_list(struct http_request *req, struct http_response *resp)
{
	struct auth_principal *p = http_request_principal(req);
	_cleanup_json_ json_t *params = json_pack("[I]", (json_int_t)p->user_id);

	if (api_tokens_all(req))
		return api_list(req, resp, &api_tokens_resource, NULL, NULL);
	return api_list(req, resp, &api_tokens_resource, "api_tokens.user_id = ?", params);
}

/* DELETE /api/v2/tokens/:id */
static int
api_token_delete(struct http_request *req, struct http_response *resp)
{
	struct auth_principal *p = http_request_principal(req);
	_cleanup_json_ json_t *before = NULL;
	struct dr_error err;
	int64_t id;

	if (api_id(req, resp, &id) < 0)
		return 0;
	before = store_query_one(&err,
	    "SELECT api_tokens.id AS id, api_tokens.name AS name, users.name AS \"user\","
	    " api_tokens.user_id AS user_id, api_tokens.created_at AS created_at,"
	    " api_tokens.expires_at AS expires_at FROM api_tokens"
	    " JOIN users ON users.id = api_tokens.user_id WHERE api_tokens.id = ?",
	    "[I]", (json_int_t)id);
	if (before == NULL ||
	    (json_integer_value(json_object_get(before, "user_id")) != p->user_id &&
	        !api_tokens_all(req))) {
		http_reply_error(resp, 404, "no token %lld", (long long)id);
		return 0;
	}
	if (store_execf(NULL, NULL, &err, "DELETE FROM api_tokens WHERE id = ?", "[I]",
	        (json_int_t)id) < 0) {
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	json_object_del(before, "user_id");
	store_audit(p->user, http_request_remote(req), "delete", "tokens",
	    json_string_value(json_object_get(before, "name")), before, NULL, NULL);
	http_reply_json(resp, 200, TAKE_PTR(before));
	return 0;
}

/* GET /api/v2/jobs?search=&order=&state=&kind=&page=&per_page= */
static int
api_jobs_list(struct http_request *req, struct http_response *resp)
{
	static const char *const keys[] = {"state", "kind", "owner"};
	_cleanup_json_ json_t *params = json_array();
	struct buf extra = BUF_INIT(1024);
	size_t i;
	int r;

	/* The filters the first CLI used, kept beside search=. */
	for (i = 0; i < nitems(keys); i++) {
		const char *v = http_request_query(req, keys[i]);

		if (v == NULL)
			continue;
		buf_addf(&extra, "%sjobs.%s = ?", extra.len > 0 ? " AND " : "", keys[i]);
		json_array_append_new(params, json_string(v));
	}
	r = api_list(req, resp, &api_jobs_resource, extra.data, params);
	buf_free(&extra);
	return r;
}

/* GET /api/v2/jobs/:id */
static int
api_job_show(struct http_request *req, struct http_response *resp)
{
	json_t *job;
	int64_t id;

	if (api_scoped_id(req, resp, &api_jobs_resource, &id) < 0)
		return 0;
	job = job_get(id);
	if (job == NULL)
		http_reply_error(resp, 404, "no job %lld", (long long)id);
	else
		http_reply_json(resp, 200, job);
	return 0;
}

/* POST /api/v2/jobs {kind, params?, timeout?} */
static int
api_job_create(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL;
	json_t *params = NULL;
	const char *kind = NULL;
	json_int_t timeout = 0;
	struct dr_error err;
	int64_t id;

	if (api_body(req, resp, &body) < 0)
		return 0;
	if (json_unpack_ex(body, NULL, 0, "{s:s, s?:o, s?:I}", "kind", &kind, "params", &params,
	        "timeout", &timeout) < 0 ||
	    (params != NULL && !json_is_object(params)) || timeout < 0 || timeout > INT32_MAX) {
		api_reply_invalid(resp, NULL,
		    "expected {\"kind\": string, \"params\": object, \"timeout\": seconds}");
		return 0;
	}
	if (job_submit(kind, params, http_request_user(req), (int)timeout, &id, &err) < 0) {
		api_reply_field(resp, "kind", err.msg);
		return 0;
	}
	store_audit(http_request_user(req), http_request_remote(req), "create", "jobs", kind, NULL,
	    body, NULL);
	http_reply_json(resp, 201, job_get(id));
	return 0;
}

/* POST /api/v2/jobs/:id/cancel */
static int
api_job_cancel(struct http_request *req, struct http_response *resp)
{
	struct dr_error err;
	int64_t id;
	char sid[32];

	if (api_scoped_id(req, resp, &api_jobs_resource, &id) < 0)
		return 0;
	if (job_cancel(id, &err) < 0) {
		json_t *job = job_get(id);
		http_reply_error(resp, job != NULL ? 409 : 404, "%s", err.msg);
		json_decref(job);
		return 0;
	}
	snprintf(sid, sizeof sid, "%lld", (long long)id);
	store_audit(http_request_user(req), http_request_remote(req), "cancel", "jobs", sid, NULL,
	    NULL, NULL);
	http_reply_json(resp, 200, job_get(id));
	return 0;
}

struct api_follow {
	int64_t id;
	int64_t offset;
};

/* Stream reader for a followed job: never blocks; 0 parks the connection until a tick. */
static ssize_t
api_follow_read(void *ctx, uint64_t pos, char *out, size_t max)
{
	struct api_follow *f = ctx;
	struct buf b = BUF_INIT(max);
	struct dr_error err;
	bool finished = false;
	int64_t next = f->offset;
	ssize_t n;

	if (job_output_read(f->id, f->offset, max, &b, &next, &finished, &err) < 0) {
		buf_free(&b);
		return HTTP_STREAM_ERROR;
	}
	n = (ssize_t)b.len;
	if (n > 0)
		memcpy(out, b.data, b.len);
	buf_free(&b);
	f->offset = next;
	if (n == 0 && finished)
		return HTTP_STREAM_END;
	return n;
}

/* GET /api/v2/jobs/:id/output?offset=N[&follow=true] */
static int
api_job_output(struct http_request *req, struct http_response *resp)
{
	const char *off = http_request_query(req, "offset");
	const char *follow = http_request_query(req, "follow");
	struct buf b = BUF_INIT(API_OUTPUT_CHUNK);
	_cleanup_json_ json_t *job = NULL;
	struct api_follow *f;
	long long offset = 0;
	struct dr_error err;
	bool finished = false;
	int64_t id, next = 0;

	if (api_scoped_id(req, resp, &api_jobs_resource, &id) < 0)
		return 0;
	if (off != NULL && str_to_ll(off, 0, INT64_MAX, &offset) < 0) {
		api_reply_field(resp, "offset", "offset: expected a number from 0");
		return 0;
	}
	if ((job = job_get(id)) == NULL) {
		http_reply_error(resp, 404, "no job %lld", (long long)id);
		return 0;
	}
	if (follow != NULL && strcmp(follow, "true") == 0) {
		f = xcalloc(1, sizeof *f);
		f->id = id;
		f->offset = offset;
		http_reply_stream(resp, "text/plain; charset=utf-8", api_follow_read, f, free);
		return 0;
	}
	if (job_output_read(id, offset, API_OUTPUT_CHUNK, &b, &next, &finished, &err) < 0) {
		buf_free(&b);
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	http_reply_json(resp, 200,
	    json_pack("{s:s%, s:I, s:b}", "output", b.data != NULL ? b.data : "", b.len,
	        "next_offset", (json_int_t)next, "finished", finished));
	buf_free(&b);
	return 0;
}

/* GET /api/v2/admin/backup: a consistent copy of the live database, streamed. */
static int
api_backup(struct http_request *req, struct http_response *resp)
{
	_cleanup_free_ char *path = NULL;
	struct dr_error err;
	struct stat st;
	int fd;

	path = xasprintf(
	    "%s.backup-%ld-%lld", store_path(), (long)getpid(), (long long)time_mono_us());
	if (store_backup(path, &err) < 0) {
		http_reply_error(resp, 500, "%s", err.msg);
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	/* The open descriptor keeps the file alive while it is sent. */
	unlink(path);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		http_reply_error(resp, 500, "backup %s: cannot read it back", path);
		return 0;
	}
	store_audit(http_request_user(req), http_request_remote(req), "backup", "store", NULL,
	    NULL, NULL, NULL);
	http_reply_header(resp, "Content-Disposition", "attachment; filename=\"drover.db\"");
	http_reply_file(resp, 200, "application/vnd.sqlite3", fd, st.st_size);
	return 0;
}

/* GET /api/v2/schedules */
static int
api_schedules_list(struct http_request *req, struct http_response *resp)
{
	return api_list(req, resp, &api_schedules_resource, NULL, NULL);
}

/* The field a schedule error is about: the spec's errors start with the field name. */
static void
api_reply_schedule_error(struct http_response *resp, const char *msg)
{
	static const char *const fields[] = {"name", "cron", "tz", "kind", "params", "start_at",
	    "end_at", "max_iterations", "misfire", "enabled", "owner"};
	const char *field = "schedule";
	size_t i, n;

	for (i = 0; i < nitems(fields); i++) {
		n = strlen(fields[i]);
		if (strstr(msg, fields[i]) == msg && (msg[n] == ':' || msg[n] == ' '))
			field = fields[i];
	}
	if (strcmp(field, "schedule") == 0 && strstr(msg, "cron line") != NULL)
		field = "cron";
	api_reply_field(resp, field, msg);
}

/* Create a schedule from a spec for the caller; the HTTP status (201 or an error). */
int
api_schedule_add(struct http_request *req, json_t *spec, int64_t *ret_id, struct dr_error *err)
{
	if (json_object_get(spec, "owner") == NULL)
		json_object_set_new(spec, "owner", json_string(http_request_user(req)));
	if (schedule_create(spec, ret_id, err) < 0)
		return strstr(err->msg, "already") != NULL ? 409 : 422;
	store_audit(http_request_user(req), http_request_remote(req), "create", "schedules",
	    json_string_value(json_object_get(spec, "name")), NULL, spec, NULL);
	return 201;
}

/* POST /api/v2/schedules {name, cron, tz?, kind, params?, start_at?, end_at?, …} */
static int
api_schedule_create(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL;
	struct dr_error err;
	int64_t id;
	int status;

	if (api_body(req, resp, &body) < 0)
		return 0;
	status = api_schedule_add(req, body, &id, &err);
	if (status == 409)
		http_reply_error(resp, 409, "%s", err.msg);
	else if (status != 201)
		api_reply_schedule_error(resp, err.msg);
	else
		http_reply_json(resp, 201, schedule_get(id));
	return 0;
}

/* GET /api/v2/schedules/:id */
static int
api_schedule_show(struct http_request *req, struct http_response *resp)
{
	json_t *s;
	int64_t id;

	if (api_scoped_id(req, resp, &api_schedules_resource, &id) < 0)
		return 0;
	if ((s = schedule_get(id)) == NULL)
		http_reply_error(resp, 404, "no schedule %lld", (long long)id);
	else
		http_reply_json(resp, 200, s);
	return 0;
}

/* Delete, enable or disable a schedule; the HTTP status, err says why not. */
int
api_schedule_act(
    struct http_request *req, int64_t id, const char *action, json_t **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *before = NULL, *after = NULL;
	int r;

	if ((before = schedule_get(id)) == NULL) {
		dr_error_set(err, "no schedule %lld", (long long)id);
		return 404;
	}
	if (strcmp(action, "delete") == 0)
		r = schedule_delete(id, err);
	else
		r = schedule_set_enabled(id, strcmp(action, "enable") == 0, err);
	if (r < 0)
		return 409;
	if (strcmp(action, "delete") != 0)
		after = json_pack("{s:b}", "enabled", strcmp(action, "enable") == 0);
	store_audit(http_request_user(req), http_request_remote(req), action, "schedules",
	    json_string_value(json_object_get(before, "name")), before, after, NULL);
	if (ret != NULL)
		*ret = strcmp(action, "delete") == 0 ? TAKE_PTR(before) : schedule_get(id);
	return 200;
}

/* DELETE /api/v2/schedules/:id, POST …/enable, POST …/disable */
static int
api_schedule_change(struct http_request *req, struct http_response *resp)
{
	const char *path = http_request_path(req), *action;
	struct dr_error err;
	json_t *answer = NULL;
	int64_t id;
	int status;

	if (api_scoped_id(req, resp, &api_schedules_resource, &id) < 0)
		return 0;
	if (strcmp(http_request_method(req), "DELETE") == 0)
		action = "delete";
	else
		action = str_has_suffix(path, "/enable") ? "enable" : "disable";
	status = api_schedule_act(req, id, action, &answer, &err);
	if (status != 200)
		http_reply_error(resp, status, "%s", err.msg);
	else
		http_reply_json(resp, 200, answer);
	return 0;
}

/* Check a user body; invalid gets a message per field. */
int
api_user_spec_check(const json_t *body, bool partial, json_t *invalid)
{
	static const char *const known[] = {"login", "password", "role"};
	const char *key;
	json_t *v;
	int bad = 0;

	if (!json_is_object(body)) {
		json_object_set_new(invalid, "body", json_string("expected a JSON object"));
		return -1;
	}
	json_object_foreach((json_t *)body, key, v)
	{
		bool found = false;

		for (size_t i = 0; i < nitems(known); i++)
			found |= strcmp(key, known[i]) == 0;
		if (!found && strlen(key) <= 64) {
			json_object_set_new(invalid, key, json_string("unknown field"));
			bad = -1;
		} else if (found && !json_is_string(v)) {
			json_object_set_new(invalid, key, json_string("must be a string"));
			bad = -1;
		}
	}
	if (!partial) {
		for (size_t i = 0; i < nitems(known); i++)
			if (json_object_get(body, known[i]) == NULL &&
			    json_object_get(invalid, known[i]) == NULL) {
				json_object_set_new(invalid, known[i], json_string("is required"));
				bad = -1;
			}
	} else if (json_object_get(body, "login") != NULL &&
	    json_object_get(invalid, "login") == NULL) {
		json_object_set_new(invalid, "login", json_string("cannot be changed"));
		bad = -1;
	}
	return bad;
}

/* A user as the API shows it (no password hash), or NULL. */
static json_t *
api_user_get(int64_t id)
{
	struct dr_error err;

	return store_query_one(&err,
	    "SELECT id, name AS login, role, created_at, updated_at, last_login_at FROM users"
	    " WHERE id = ?",
	    "[I]", (json_int_t)id);
}

/* GET /api/v2/users */
static int
api_users_list(struct http_request *req, struct http_response *resp)
{
	return api_list(req, resp, &api_users_resource, NULL, NULL);
}

/* GET /api/v2/users/:id */
static int
api_user_show(struct http_request *req, struct http_response *resp)
{
	json_t *u;
	int64_t id;

	if (api_scoped_id(req, resp, &api_users_resource, &id) < 0)
		return 0;
	if ((u = api_user_get(id)) == NULL)
		http_reply_error(resp, 404, "no user %lld", (long long)id);
	else
		http_reply_json(resp, 200, u);
	return 0;
}

/* Create a user from a body: the HTTP status; *ret the user, or invalid filled. */
int
api_user_add(struct http_request *req, const json_t *body, json_t *invalid, json_t **ret,
    struct dr_error *err)
{
	const char *login = json_string_value(json_object_get(body, "login"));
	int64_t id;

	if (api_user_spec_check(body, false, invalid) < 0) {
		dr_error_set(err, "invalid user");
		return 422;
	}
	if (auth_user_add(login, json_string_value(json_object_get(body, "password")),
	        json_string_value(json_object_get(body, "role")), &id, invalid, err) < 0)
		return json_object_size(invalid) > 0 ? 422 : 409;
	*ret = api_user_get(id);
	store_audit(http_request_user(req), http_request_remote(req), "create", "users", login,
	    NULL, *ret, NULL);
	return 201;
}

/* POST /api/v2/users {login, password, role} */
static int
api_user_create(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL;
	json_t *invalid = json_object(), *user = NULL;
	struct dr_error err;
	int status;

	if (api_body(req, resp, &body) < 0) {
		json_decref(invalid);
		return 0;
	}
	status = api_user_add(req, body, invalid, &user, &err);
	if (status == 422) {
		api_reply_invalid(resp, invalid, "invalid user");
		return 0;
	}
	json_decref(invalid);
	if (status != 201)
		http_reply_error(resp, status, "%s", err.msg);
	else
		http_reply_json(resp, 201, user);
	return 0;
}

/* Update a user (password, role): the HTTP status. */
int
api_user_change(struct http_request *req, int64_t id, const json_t *body, json_t *invalid,
    json_t **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *before = api_user_get(id);

	if (before == NULL) {
		dr_error_set(err, "no user %lld", (long long)id);
		return 404;
	}
	if (api_user_spec_check(body, true, invalid) < 0) {
		dr_error_set(err, "invalid user");
		return 422;
	}
	if (auth_user_update(id, json_string_value(json_object_get(body, "password")),
	        json_string_value(json_object_get(body, "role")), invalid, err) < 0)
		return json_object_size(invalid) > 0 ? 422 : 409;
	*ret = api_user_get(id);
	store_audit(http_request_user(req), http_request_remote(req),
	    json_object_get(body, "password") != NULL ? "update_password" : "update", "users",
	    json_string_value(json_object_get(before, "login")), before, *ret, NULL);
	return 200;
}

/* PUT /api/v2/users/:id {password?, role?} */
static int
api_user_update(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL;
	json_t *invalid = json_object(), *user = NULL;
	struct dr_error err;
	int64_t id;
	int status;

	if (api_scoped_id(req, resp, &api_users_resource, &id) < 0 ||
	    api_body(req, resp, &body) < 0) {
		json_decref(invalid);
		return 0;
	}
	status = api_user_change(req, id, body, invalid, &user, &err);
	if (status == 422) {
		api_reply_invalid(resp, invalid, "invalid user");
		return 0;
	}
	json_decref(invalid);
	if (status != 200)
		http_reply_error(resp, status, "%s", err.msg);
	else
		http_reply_json(resp, 200, user);
	return 0;
}

/* Delete a user: the HTTP status. */
int
api_user_remove(struct http_request *req, int64_t id, struct dr_error *err)
{
	_cleanup_json_ json_t *before = api_user_get(id);
	struct auth_principal *p = http_request_principal(req);

	if (before == NULL) {
		dr_error_set(err, "no user %lld", (long long)id);
		return 404;
	}
	if (p != NULL && p->user_id == id) {
		dr_error_set(err, "you cannot delete yourself");
		return 409;
	}
	if (auth_user_delete(id, err) < 0)
		return 409;
	store_audit(http_request_user(req), http_request_remote(req), "delete", "users",
	    json_string_value(json_object_get(before, "login")), before, NULL, NULL);
	return 200;
}

/*
 * A DELETE answered with the object as it was: scope check, then remove() says the status
 * (200, or 404/409/500 with err set).
 */
static int
api_delete_reply(struct http_request *req, struct http_response *resp,
    const struct api_resource *res, json_t *(*get)(int64_t id),
    int (*remove)(struct http_request *req, int64_t id, struct dr_error *err))
{
	struct dr_error err;
	json_t *before;
	int64_t id;
	int status;

	if (api_scoped_id(req, resp, res, &id) < 0)
		return 0;
	before = get(id);
	status = remove(req, id, &err);
	if (status != 200) {
		json_decref(before);
		http_reply_error(resp, status, "%s", err.msg);
	} else {
		http_reply_json(resp, 200, before);
	}
	return 0;
}

/* DELETE /api/v2/users/:id */
static int
api_user_delete(struct http_request *req, struct http_response *resp)
{
	return api_delete_reply(req, resp, &api_users_resource, api_user_get, api_user_remove);
}

/* A word of a permission: a resource or an action name, or "*". */
static bool
api_perm_word(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 64)
		return false;
	if (strcmp(s, "*") == 0)
		return true;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(s);
}

/* Check a role body; invalid gets a message per field ("permissions[2].search"). */
int
api_role_spec_check(const json_t *body, bool partial, json_t *invalid)
{
	json_t *name, *desc, *perms, *perm;
	struct dr_error err;
	char field[64];
	size_t i;
	int bad = 0;

	if (!json_is_object(body)) {
		json_object_set_new(invalid, "body", json_string("expected a JSON object"));
		return -1;
	}
	name = json_object_get(body, "name");
	desc = json_object_get(body, "description");
	perms = json_object_get(body, "permissions");
	if (name != NULL || !partial) {
		if (!json_is_string(name))
			bad |= auth_name_check("name", NULL, invalid, &err);
		else if (auth_name_check("name", json_string_value(name), invalid, &err) < 0)
			bad = -1;
		else if (auth_role_builtin(json_string_value(name))) {
			json_object_set_new(invalid, "name", json_string("is a built-in role"));
			bad = -1;
		}
	}
	if (desc != NULL && (!json_is_string(desc) || json_string_length(desc) > 1024)) {
		json_object_set_new(invalid, "description",
		    json_string("must be a string of at most 1024 characters"));
		bad = -1;
	}
	if (perms == NULL && partial)
		return bad;
	if (!json_is_array(perms) || json_array_size(perms) > API_PERMISSIONS_MAX) {
		snprintf(field, sizeof field, "must be a list of at most %d permissions",
		    API_PERMISSIONS_MAX);
		json_object_set_new(invalid, "permissions", json_string(field));
		return -1;
	}
	json_array_foreach(perms, i, perm)
	{
		json_t *res = json_object_get(perm, "resource");
		json_t *act = json_object_get(perm, "action");
		json_t *srch = json_object_get(perm, "search");
		const struct api_resource *r;
		const char *s;

		snprintf(field, sizeof field, "permissions[%zu]", i);
		if (!json_is_object(perm) || !api_perm_word(json_string_value(res)) ||
		    !api_perm_word(json_string_value(act))) {
			json_object_set_new(invalid, field,
			    json_string("expected {\"resource\": name or \"*\", \"action\": "
			                "name or \"*\", \"search\": filter}"));
			bad = -1;
			continue;
		}
		if (srch == NULL || json_is_null(srch))
			continue;
		snprintf(field, sizeof field, "permissions[%zu].search", i);
		s = json_string_value(srch);
		if (s == NULL) {
			json_object_set_new(invalid, field, json_string("must be a string"));
			bad = -1;
			continue;
		}
		if (*s == '\0')
			continue;
		if (strcmp(json_string_value(act), "create") == 0) {
			json_object_set_new(invalid, field,
			    json_string("a filter limits existing objects; it cannot apply to "
			                "create"));
			bad = -1;
			continue;
		}
		r = api_resource_find(json_string_value(res));
		if (r == NULL) {
			json_object_set_new(invalid, field,
			    json_string("this resource has no searchable fields to filter on"));
			bad = -1;
			continue;
		}
		{
			struct buf sql = BUF_INIT(SEARCH_SQL_MAX);
			_cleanup_json_ json_t *params = json_array();

			if (search_compile(s, r->fields, r->nfields, &sql, params, &err) < 0) {
				json_object_set_new(invalid, field, json_string(err.msg));
				bad = -1;
			}
			buf_free(&sql);
		}
	}
	return bad;
}

/* A built-in role's permissions, as rows would show them. */
static json_t *
api_builtin_perms(const char *role)
{
	if (strcmp(role, "admin") == 0)
		return json_pack(
		    "[{s:s, s:s, s:s}]", "resource", "*", "action", "*", "search", "");
	if (strcmp(role, "operator") == 0)
		return json_pack(
		    "[{s:s, s:s, s:s}]", "resource", "*", "action", "*", "search", "");
	return json_pack("[{s:s, s:s, s:s}]", "resource", "*", "action", "view", "search", "");
}

/* Roles come with their permissions. */
static void
api_role_present(json_t *row)
{
	const char *name = json_string_value(json_object_get(row, "name"));
	bool builtin = json_integer_value(json_object_get(row, "builtin")) != 0;
	struct dr_error err;
	json_t *perms = NULL;

	json_object_set_new(row, "builtin", json_boolean(builtin));
	if (builtin)
		perms = api_builtin_perms(name);
	else if (store_queryf(&perms, &err,
	             "SELECT resource, action, search FROM role_permissions WHERE role_id = ?"
	             " ORDER BY resource, action, search",
	             "[I]", json_integer_value(json_object_get(row, "id"))) < 0)
		perms = json_array();
	json_object_set_new(row, "permissions", perms);
}

/* A role with its permissions, or NULL. */
static json_t *
api_role_get(int64_t id)
{
	struct dr_error err;
	json_t *row = store_query_one(&err,
	    "SELECT id, name, description, builtin, created_at FROM roles WHERE id = ?", "[I]",
	    (json_int_t)id);

	if (row != NULL)
		api_role_present(row);
	return row;
}

/* Write a role's permissions (in the caller's transaction). */
static int
api_role_perms_write(int64_t id, const json_t *perms, struct dr_error *err)
{
	size_t i;
	json_t *perm;

	if (store_execf(NULL, NULL, err, "DELETE FROM role_permissions WHERE role_id = ?", "[I]",
	        (json_int_t)id) < 0)
		return -1;
	json_array_foreach(perms, i, perm)
	{
		const char *s = json_string_value(json_object_get(perm, "search"));

		if (store_execf(NULL, NULL, err,
		        "INSERT INTO role_permissions (role_id, resource, action, search)"
		        " SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM role_permissions"
		        " WHERE role_id = ? AND resource = ? AND action = ? AND search = ?)",
		        "[IsssIsss]", (json_int_t)id,
		        json_string_value(json_object_get(perm, "resource")),
		        json_string_value(json_object_get(perm, "action")), s != NULL ? s : "",
		        (json_int_t)id, json_string_value(json_object_get(perm, "resource")),
		        json_string_value(json_object_get(perm, "action")),
		        s != NULL ? s : "") < 0)
			return -1;
	}
	return 0;
}

/* Create or update (id > 0) a role from a body: the HTTP status. */
int
api_role_save(struct http_request *req, int64_t id, const json_t *body, json_t *invalid,
    json_t **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *before = NULL, *dup = NULL;
	const char *name = json_string_value(json_object_get(body, "name"));
	const char *desc = json_string_value(json_object_get(body, "description"));
	json_t *perms = json_object_get(body, "permissions");

	if (id > 0) {
		if ((before = api_role_get(id)) == NULL) {
			dr_error_set(err, "no role %lld", (long long)id);
			return 404;
		}
		if (json_is_true(json_object_get(before, "builtin"))) {
			dr_error_set(err, "role %s is built in and cannot be changed",
			    json_string_value(json_object_get(before, "name")));
			return 409;
		}
	}
	if (api_role_spec_check(body, id > 0, invalid) < 0) {
		dr_error_set(err, "invalid role");
		return 422;
	}
	if (name != NULL) {
		dup = store_query_one(err, "SELECT id FROM roles WHERE name = ? AND id <> ?",
		    "[sI]", name, (json_int_t)id);
		if (dup != NULL) {
			dr_error_set(err, "a role '%s' already exists", name);
			return 409;
		}
	}
	if (store_begin(err) < 0)
		return 500;
	if (id == 0) {
		if (store_execf(NULL, &id, err,
		        "INSERT INTO roles (name, description, builtin, created_at)"
		        " VALUES (?, ?, 0, ?)",
		        "[ssI]", name, desc != NULL ? desc : "", (json_int_t)time(NULL)) < 0)
			goto fail;
	} else if ((name != NULL &&
	               store_execf(NULL, NULL, err, "UPDATE roles SET name = ? WHERE id = ?",
	                   "[sI]", name, (json_int_t)id) < 0) ||
	    (desc != NULL &&
	        store_execf(NULL, NULL, err, "UPDATE roles SET description = ? WHERE id = ?",
	            "[sI]", desc, (json_int_t)id) < 0)) {
		goto fail;
	}
	if (perms != NULL && api_role_perms_write(id, perms, err) < 0)
		goto fail;
	if (store_commit(err) < 0)
		return 500;
	*ret = api_role_get(id);
	store_audit(http_request_user(req), http_request_remote(req),
	    before != NULL ? "update" : "create", "roles",
	    json_string_value(json_object_get(*ret, "name")), before, *ret, NULL);
	return before != NULL ? 200 : 201;
fail:
	store_rollback();
	return 500;
}

/* GET /api/v2/roles */
static int
api_roles_list(struct http_request *req, struct http_response *resp)
{
	return api_list(req, resp, &api_roles_resource, NULL, NULL);
}

/* GET /api/v2/roles/:id */
static int
api_role_show(struct http_request *req, struct http_response *resp)
{
	json_t *r;
	int64_t id;

	if (api_scoped_id(req, resp, &api_roles_resource, &id) < 0)
		return 0;
	if ((r = api_role_get(id)) == NULL)
		http_reply_error(resp, 404, "no role %lld", (long long)id);
	else
		http_reply_json(resp, 200, r);
	return 0;
}

/* POST /api/v2/roles and PUT /api/v2/roles/:id */
static int
api_role_write(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *body = NULL;
	json_t *invalid = json_object(), *role = NULL;
	bool update = strcmp(http_request_method(req), "PUT") == 0;
	struct dr_error err;
	int64_t id = 0;
	int status;

	if ((update && api_scoped_id(req, resp, &api_roles_resource, &id) < 0) ||
	    api_body(req, resp, &body) < 0) {
		json_decref(invalid);
		return 0;
	}
	status = api_role_save(req, id, body, invalid, &role, &err);
	if (status == 422) {
		api_reply_invalid(resp, invalid, "invalid role");
		return 0;
	}
	json_decref(invalid);
	if (status >= 300)
		http_reply_error(resp, status, "%s", err.msg);
	else
		http_reply_json(resp, status, role);
	return 0;
}

/* Delete a role: the HTTP status (409 while users have it, or for a built-in one). */
int
api_role_remove(struct http_request *req, int64_t id, struct dr_error *err)
{
	_cleanup_json_ json_t *before = api_role_get(id), *used = NULL;

	if (before == NULL) {
		dr_error_set(err, "no role %lld", (long long)id);
		return 404;
	}
	if (json_is_true(json_object_get(before, "builtin"))) {
		dr_error_set(err, "role %s is built in and cannot be deleted",
		    json_string_value(json_object_get(before, "name")));
		return 409;
	}
	used = store_query_one(err, "SELECT count(*) AS n FROM users WHERE role = ?", "[s]",
	    json_string_value(json_object_get(before, "name")));
	if (used != NULL && json_integer_value(json_object_get(used, "n")) > 0) {
		dr_error_set(err, "role %s is given to %lld user(s)",
		    json_string_value(json_object_get(before, "name")),
		    (long long)json_integer_value(json_object_get(used, "n")));
		return 409;
	}
	if (store_execf(NULL, NULL, err, "DELETE FROM roles WHERE id = ?", "[I]", (json_int_t)id) <
	    0)
		return 500;
	store_audit(http_request_user(req), http_request_remote(req), "delete", "roles",
	    json_string_value(json_object_get(before, "name")), before, NULL, NULL);
	return 200;
}

/* DELETE /api/v2/roles/:id */
static int
api_role_delete(struct http_request *req, struct http_response *resp)
{
	return api_delete_reply(req, resp, &api_roles_resource, api_role_get, api_role_remove);
}

/* GET /api/v2/audits */
static int
api_audits_list(struct http_request *req, struct http_response *resp)
{
	return api_list(req, resp, &api_audits_resource, NULL, NULL);
}

/* GET /api/v2/audits/:id */
static int
api_audit_show(struct http_request *req, struct http_response *resp)
{
	struct dr_error err;
	json_t *row;
	int64_t id;

	if (api_scoped_id(req, resp, &api_audits_resource, &id) < 0)
		return 0;
	row = store_query_one(&err,
	    "SELECT id, at, \"user\" AS \"user\", remote, action, resource, resource_id, summary,"
	    " before AS before_json, after AS after_json FROM audits WHERE id = ?",
	    "[I]", (json_int_t)id);
	if (row == NULL)
		http_reply_error(resp, 404, "no audit %lld", (long long)id);
	else
		http_reply_json(resp, 200, row);
	return 0;
}

/* Keep the configuration to show, with a proxy's credentials hidden. */
void
api_settings_set(const struct config *cfg)
{
	struct buf out = BUF_INIT(1 << 20);
	struct dr_error err;
	json_t *v = NULL, *proxy;
	const char *p, *at, *scheme;

	config_dump(cfg, &out);
	if (yaml_load_string(
	        "settings", out.data != NULL ? out.data : "", out.len, 0, &v, NULL, &err) < 0 ||
	    !json_is_object(v)) {
		json_decref(v);
		v = json_object();
	}
	buf_free(&out);
	proxy = json_object_get(v, "proxy");
	if ((p = json_string_value(proxy)) != NULL && (at = strchr(p, '@')) != NULL) {
		scheme = strstr(p, "://");
		json_object_set_new(v, "proxy",
		    json_sprintf("%.*s***%s", scheme != NULL ? (int)(scheme - p + 3) : 0, p, at));
	}
	pthread_mutex_lock(&api_settings_lock);
	json_decref(api_settings);
	api_settings = v;
	pthread_mutex_unlock(&api_settings_lock);
}

/* The settings as shown (a new reference). */
json_t *
api_settings_get(void)
{
	json_t *v;

	pthread_mutex_lock(&api_settings_lock);
	v = api_settings != NULL ? json_deep_copy(api_settings) : json_object();
	pthread_mutex_unlock(&api_settings_lock);
	return v;
}

/* GET /api/v2/settings: the running configuration, read-only. */
static int
api_settings_show(struct http_request *req, struct http_response *resp)
{
	http_reply_json(resp, 200, api_settings_get());
	return 0;
}

/* {resource: [actions]} over every route that needs a permission. */
json_t *
api_permissions(void)
{
	json_t *all = json_object();
	char res[64], act[64];

	for (size_t i = 0; i < http_routes_count(); i++) {
		const struct http_route *r = http_routes_get(i);
		json_t *list, *a;
		size_t j;
		bool seen = false;

		if ((r->flags & HTTP_PUBLIC) ||
		    !auth_route_permission(r, res, sizeof res, act, sizeof act))
			continue;
		if ((list = json_object_get(all, res)) == NULL) {
			list = json_array();
			json_object_set_new(all, res, list);
		}
		json_array_foreach(list, j, a) seen |= strcmp(json_string_value(a), act) == 0;
		if (!seen)
			json_array_append_new(list, json_string(act));
	}
	return all;
}

/* GET /api/v2/permissions: what roles can grant, from the route table. */
static int
api_permissions_show(struct http_request *req, struct http_response *resp)
{
	json_t *perms = api_permissions(), *out = json_object(), *fields;
	const char *name;
	json_t *actions;

	json_object_foreach(perms, name, actions)
	{
		const struct api_resource *r = api_resource_find(name);

		fields = json_array();
		for (size_t i = 0; r != NULL && i < r->nfields; i++)
			json_array_append_new(fields, json_string(r->fields[i].name));
		json_object_set_new(out, name,
		    json_pack("{s:O, s:o}", "actions", actions, "search_fields", fields));
	}
	json_decref(perms);
	http_reply_json(resp, 200, out);
	return 0;
}

/* GET /api/v2/me: the caller, their role and what they may do. */
static int
api_me(struct http_request *req, struct http_response *resp)
{
	struct auth_principal *p = http_request_principal(req);
	json_t *perms = api_permissions(), *allowed = json_object();
	const char *name;
	json_t *actions, *a;
	size_t i;

	json_object_foreach(perms, name, actions)
	{
		json_t *list = json_array();

		json_array_foreach(actions, i, a)
		{
			char *scope = NULL;

			if (auth_allowed(p, name, json_string_value(a), &scope))
				json_array_append_new(
				    list, json_pack("{s:O, s:s?}", "action", a, "search", scope));
			free(scope);
		}
		if (json_array_size(list) > 0)
			json_object_set_new(allowed, name, list);
		else
			json_decref(list);
	}
	json_decref(perms);
	http_reply_json(resp, 200,
	    json_pack("{s:I, s:s, s:s, s:o}", "id", (json_int_t)p->user_id, "login", p->user,
	        "role", p->role, "permissions", allowed));
	return 0;
}

/* drover_jobs{kind,state} for /metrics. */
static void
api_metrics_jobs(struct buf *out)
{
	_cleanup_json_ json_t *counts = job_counts();
	const char *kind, *state;
	json_t *states, *n;

	buf_adds(out,
	    "# HELP drover_jobs Jobs in the store by kind and state.\n"
	    "# TYPE drover_jobs gauge\n");
	json_object_foreach(counts, kind, states)
	{
		json_object_foreach(states, state, n)
		{
			buf_adds(out, "drover_jobs{kind=\"");
			metrics_label_escape(out, kind);
			buf_adds(out, "\",state=\"");
			metrics_label_escape(out, state);
			buf_addf(out, "\"} %lld\n", (long long)json_integer_value(n));
		}
	}
}

static const struct http_route api_routes[] = {
    {"GET", "/api/v2/status", api_status, HTTP_PUBLIC, "status", NULL, NULL,
        "Health: version, uptime, store and job counts"},
    {"GET", "/metrics", metrics_handler, HTTP_PUBLIC, "metrics", NULL, NULL, "Prometheus metrics"},
    {"GET", "/api/v2/openapi.json", api_openapi, HTTP_PUBLIC, "openapi", NULL, NULL,
        "This document"},
    {"POST", "/api/v2/tokens", api_token_create, HTTP_PUBLIC, "tokens", "tokens", "create",
        "Log in with a password and get an API token"},
    {"GET", "/api/v2/tokens", api_tokens_list, HTTP_LIST, "tokens", NULL, NULL,
        "Your API tokens (every user's for admins)"},
    {"DELETE", "/api/v2/tokens/:id", api_token_delete, 0, "token", NULL, NULL,
        "Revoke an API token"},
    {"GET", "/api/v2/me", api_me, 0, "me", "", NULL, "The caller: login, role and permissions"},
    {"GET", "/api/v2/permissions", api_permissions_show, 0, "permissions", "roles", "view",
        "Resources, their actions and searchable fields, for roles"},
    {"GET", "/api/v2/jobs", api_jobs_list, HTTP_LIST, "jobs", NULL, NULL, "List jobs"},
    {"POST", "/api/v2/jobs", api_job_create, 0, "jobs", NULL, NULL,
        "Queue a job {kind, params, timeout}"},
    {"GET", "/api/v2/jobs/:id", api_job_show, 0, "job", NULL, NULL,
        "A job with its per-item results"},
    {"POST", "/api/v2/jobs/:id/cancel", api_job_cancel, 0, "job_cancel", NULL, NULL,
        "Cancel a queued or running job"},
    {"GET", "/api/v2/jobs/:id/output", api_job_output, 0, "job_output", "jobs", "view",
        "A job's output from a byte offset; follow=true streams it"},
    {"GET", "/api/v2/schedules", api_schedules_list, HTTP_LIST, "schedules", NULL, NULL,
        "List schedules"},
    {"POST", "/api/v2/schedules", api_schedule_create, 0, "schedules", NULL, NULL,
        "Create a schedule {name, cron, tz, kind, params, …}"},
    {"GET", "/api/v2/schedules/:id", api_schedule_show, 0, "schedule", NULL, NULL,
        "A schedule and its next fire times"},
    {"DELETE", "/api/v2/schedules/:id", api_schedule_change, 0, "schedule", NULL, NULL,
        "Delete a schedule"},
    {"POST", "/api/v2/schedules/:id/enable", api_schedule_change, 0, "schedule_enable", NULL, NULL,
        "Enable a schedule"},
    {"POST", "/api/v2/schedules/:id/disable", api_schedule_change, 0, "schedule_enable", NULL,
        NULL, "Disable a schedule"},
    {"GET", "/api/v2/users", api_users_list, HTTP_LIST, "users", NULL, NULL, "List users"},
    {"POST", "/api/v2/users", api_user_create, 0, "users", NULL, NULL,
        "Create a user {login, password, role}"},
    {"GET", "/api/v2/users/:id", api_user_show, 0, "user", NULL, NULL, "A user"},
    {"PUT", "/api/v2/users/:id", api_user_update, 0, "user", NULL, NULL,
        "Change a user's password or role"},
    {"DELETE", "/api/v2/users/:id", api_user_delete, 0, "user", NULL, NULL,
        "Delete a user and their tokens"},
    {"GET", "/api/v2/roles", api_roles_list, HTTP_LIST, "roles", NULL, NULL,
        "List roles with their permissions"},
    {"POST", "/api/v2/roles", api_role_write, 0, "roles", NULL, NULL,
        "Create a role {name, description, permissions: [{resource, action, search}]}"},
    {"GET", "/api/v2/roles/:id", api_role_show, 0, "role", NULL, NULL, "A role"},
    {"PUT", "/api/v2/roles/:id", api_role_write, 0, "role", NULL, NULL, "Change a custom role"},
    {"DELETE", "/api/v2/roles/:id", api_role_delete, 0, "role", NULL, NULL,
        "Delete a custom role no user has"},
    {"GET", "/api/v2/audits", api_audits_list, HTTP_LIST, "audits", NULL, NULL,
        "The audit log: who changed what, when, from where"},
    {"GET", "/api/v2/audits/:id", api_audit_show, 0, "audit", NULL, NULL,
        "One audit record with before and after"},
    {"GET", "/api/v2/settings", api_settings_show, 0, "settings", NULL, NULL,
        "The running configuration (read-only)"},
    {"GET", "/api/v2/admin/backup", api_backup, 0, "backup", "backup", "view",
        "A consistent copy of the database"},
};

/* Install the API routes, the foundation's resources and the auth hooks. */
void
api_init(void)
{
	static const struct http_auth_ops ops = {
	    .check = auth_check,
	    .check_body = auth_check_body,
	    .refuse = ui_refuse,
	};

	api_started = time(NULL);
	api_resource_register(&api_jobs_resource);
	api_resource_register(&api_schedules_resource);
	api_resource_register(&api_users_resource);
	api_resource_register(&api_roles_resource);
	api_resource_register(&api_audits_resource);
	api_resource_register(&api_tokens_resource);
	http_routes_add(api_routes, nitems(api_routes));
	metrics_collector_add(api_metrics_jobs);
	http_set_auth_ops(&ops);
	ui_init();
}
