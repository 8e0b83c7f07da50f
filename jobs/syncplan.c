/*
 * syncplan.c - sync plans (Katello's): a named plan that syncs a set of repositories (given
 * directly or by product) on an interval, and the scheduled content-view publish + promote.
 * Each plan owns one row of core's schedules (kind "sync_plan"); the plan's job syncs every
 * repository in one job, one item per repository, a failure not stopping the others.
 */
#define LOG_COMPONENT "jobs"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobs/jobs_int.h"
#include "repos/repos.h"

#define SYNCPLAN_REPOS_MAX 10000
#define SYNCPLAN_DESC_MAX 4096

/* The intervals and how a start time becomes a cron line ("" = the custom line). */
static const struct {
	const char *name, *fmt;
} syncplan_intervals[] = {
    {"hourly", "%d * * * *"},
    {"daily", "%d %d * * *"},
    {"weekly", "%d %d * * %d"},
    {"custom", ""},
};

/* The schedule's name for a plan. */
static char *
syncplan_schedule_name(const char *plan)
{
	return xasprintf("sync_plan/%s", plan);
}

/* The cron line for interval from start (read in tz), or the custom line. */
static char *
syncplan_cron(
    const char *interval, const char *custom, time_t start, const char *tz, struct dr_error *err)
{
	char local[64];
	int y, mo, d, h, mi;
	struct tm tm = {0};

	if (strcmp(interval, "custom") == 0)
		return xstrdup(custom);
	if (tz_format(tz, start, local, sizeof(local), err) < 0)
		return NULL;
	if (sscanf(local, "%d-%d-%dT%d:%d", &y, &mo, &d, &h, &mi) != 5) {
		dr_error_set(err, "cannot read the local time '%s'", local);
		return NULL;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = 12;
	(void)timegm(&tm); /* fills tm_wday */
	if (strcmp(interval, "hourly") == 0)
		return xasprintf("%d * * * *", mi);
	if (strcmp(interval, "daily") == 0)
		return xasprintf("%d %d * * *", mi, h);
	return xasprintf("%d %d * * %d", mi, h, tm.tm_wday);
}

/* A list of repository or product references (names or ids) as ids; bad ones go to
 * invalid under field. */
static json_t *
syncplan_refs(const json_t *v, const char *field, bool product, json_t *invalid)
{
	json_t *ids = json_array(), *x;
	size_t i;

	if (v == NULL || json_is_null(v))
		return ids;
	if (!json_is_array(v) || json_array_size(v) > SYNCPLAN_REPOS_MAX) {
		json_object_set_new(
		    invalid, field, json_string("expected a list of names or ids"));
		return ids;
	}
	json_array_foreach(v, i, x)
	{
		_cleanup_free_ char *key = json_is_integer(x)
		    ? xasprintf("%lld", (long long)json_integer_value(x))
		    : json_is_string(x) ? xstrdup(json_string_value(x))
		                        : NULL;
		_cleanup_json_ json_t *row = key == NULL ? NULL
		    : product                            ? repo_product_get(key)
		                                         : repo_get(key);
		if (row == NULL) {
			json_object_set_new(invalid, field,
			    key == NULL ? json_string("expected names or ids")
			                : json_sprintf("no %s '%s'",
			                      product ? "product" : "repository", key));
			break;
		}
		json_array_append(ids, json_object_get(row, "id"));
	}
	return ids;
}

/* The first of several spellings of a field in body. */
static const json_t *
syncplan_field(const json_t *body, const char *a, const char *b, const char **ret_name)
{
	const json_t *v = json_object_get(body, a);

	*ret_name = a;
	if (v == NULL && b != NULL && (v = json_object_get(body, b)) != NULL)
		*ret_name = b;
	return v;
}

/*
 * Check a plan body (over old, a plan's stored row, for updates) and normalize it into
 * {name, description, interval, cron, tz, start_at, repositories: [ids], products: [ids]}.
 * Each bad field gets a message in invalid.
 */
static json_t *
syncplan_check(const json_t *body, const json_t *old, json_t *invalid)
{
	static const char *const known[] = {"name", "description", "interval", "cron_expression",
	    "cron", "sync_date", "start", "time_zone", "tz", "repository_ids", "repositories",
	    "product_ids", "products", "enabled"};
	const char *fn, *k, *interval = NULL, *cron = NULL, *tz;
	const json_t *v;
	json_t *out = json_object(), *x;
	struct dr_error err;
	time_t start = time(NULL);
	size_t i;
	bool ok;

	json_object_foreach((json_t *)body, k, x)
	{
		ok = false;
		for (i = 0; i < nitems(known); i++)
			ok |= strcmp(k, known[i]) == 0;
		if (!ok)
			json_object_set_new(invalid, k, json_string("unknown field"));
	}
	v = json_object_get(body, "name");
	if (v == NULL && old != NULL)
		v = json_object_get(old, "name");
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > SCHEDULE_NAME_MAX - 16 || strchr(json_string_value(v), '/'))
		json_object_set_new(invalid, "name",
		    json_string("a name of 1 to 112 characters without '/' is required"));
	else
		json_object_set(out, "name", (json_t *)v);
	v = json_object_get(body, "description");
	if (v == NULL)
		v = old ? json_object_get(old, "description") : NULL;
	if (v != NULL && (!json_is_string(v) || json_string_length(v) > SYNCPLAN_DESC_MAX))
		json_object_set_new(invalid, "description", json_string("expected text"));
	json_object_set_new(
	    out, "description", json_string(json_is_string(v) ? json_string_value(v) : ""));

	v = syncplan_field(body, "time_zone", "tz", &fn);
	if (v == NULL && old != NULL)
		v = json_object_get(old, "tz");
	tz = v == NULL ? "UTC" : json_string_value(v);
	if (tz == NULL || tz_check(tz, &err) < 0) {
		json_object_set_new(
		    invalid, fn, json_string(tz ? err.msg : "expected a zone name"));
		tz = "UTC";
	}
	json_object_set_new(out, "tz", json_string(tz));

	v = syncplan_field(body, "sync_date", "start", &fn);
	if (v != NULL) {
		if (!json_is_string(v) ||
		    tz_parse_time(json_string_value(v), tz, &start, &err) < 0)
			json_object_set_new(invalid, fn,
			    json_string(json_is_string(v) ? err.msg : "expected ISO-8601 time"));
	} else if (old != NULL)
		start = json_integer_value(json_object_get(old, "start_at"));
	json_object_set_new(out, "start_at", json_integer(start));

	v = json_object_get(body, "interval");
	if (v == NULL && old != NULL)
		v = json_object_get(old, "interval");
	for (i = 0; json_is_string(v) && i < nitems(syncplan_intervals); i++)
		if (strcmp(json_string_value(v), syncplan_intervals[i].name) == 0)
			interval = syncplan_intervals[i].name;
	if (interval == NULL)
		json_object_set_new(
		    invalid, "interval", json_string("expected hourly, daily, weekly or custom"));
	v = syncplan_field(body, "cron_expression", "cron", &fn);
	if (v == NULL && old != NULL && interval != NULL && strcmp(interval, "custom") == 0)
		v = json_object_get(old, "cron");
	if (interval != NULL && strcmp(interval, "custom") == 0) {
		struct cron *c = NULL;
		if (!json_is_string(v))
			json_object_set_new(invalid, "cron_expression",
			    json_string("a cron line is required with interval custom"));
		else if (cron_parse(json_string_value(v), &c, &err) < 0)
			json_object_set_new(invalid, fn, json_string(err.msg));
		else
			cron = json_string_value(v);
		cron_free(c);
	} else if (v != NULL && json_object_get(body, "cron_expression") != NULL &&
	    !json_is_null(v) && json_string_length(v) > 0)
		json_object_set_new(invalid, fn, json_string("only with interval custom"));
	if (interval != NULL && (cron != NULL || strcmp(interval, "custom") != 0)) {
		char *line = syncplan_cron(interval, cron, start, tz, &err);
		if (line == NULL)
			json_object_set_new(invalid, "sync_date", json_string(err.msg));
		else
			json_object_set_new(out, "cron", json_string(line));
		free(line);
	}
	json_object_set_new(out, "interval", json_string(interval ? interval : ""));

	v = syncplan_field(body, "repository_ids", "repositories", &fn);
	json_object_set_new(out, "repositories",
	    v != NULL || old == NULL ? syncplan_refs(v, fn, false, invalid)
	                             : json_incref(json_object_get(old, "repositories")));
	v = syncplan_field(body, "product_ids", "products", &fn);
	json_object_set_new(out, "products",
	    v != NULL || old == NULL ? syncplan_refs(v, fn, true, invalid)
	                             : json_incref(json_object_get(old, "products")));
	if (json_array_size(json_object_get(out, "repositories")) == 0 &&
	    json_array_size(json_object_get(out, "products")) == 0 &&
	    json_object_get(invalid, "repository_ids") == NULL &&
	    json_object_get(invalid, "product_ids") == NULL)
		json_object_set_new(invalid, "repository_ids",
		    json_string("a plan needs at least one repository or product"));
	v = json_object_get(body, "enabled");
	if (v != NULL && !json_is_boolean(v))
		json_object_set_new(invalid, "enabled", json_string("expected true or false"));
	return out;
}

/* The stored row of a plan (by id or name), JSON columns decoded; NULL when none. */
static json_t *
syncplan_row(const char *id_or_name)
{
	struct dr_error err;
	long long id = -1;
	json_t *row;

	(void)str_to_ll(id_or_name, 1, INT64_MAX, &id);
	row = store_query_one(&err,
	    "SELECT id, name, description, interval, cron, tz, start_at,"
	    " repositories AS repositories_json, products AS products_json, schedule_id,"
	    " created_at, updated_at FROM jobs_sync_plans WHERE id = ? OR name = ?",
	    "[Is]", (json_int_t)id, id_or_name);
	return row;
}

/* The repositories a plan syncs now: its own and its products' current ones, by id. */
static json_t *
syncplan_repos(const json_t *plan)
{
	json_t *out = json_array(), *x, *r;
	size_t i, j;

	json_array_foreach(json_object_get(plan, "repositories"), i, x) json_array_append(out, x);
	json_array_foreach(json_object_get(plan, "products"), i, x)
	{
		_cleanup_free_ char *key = xasprintf("%lld", (long long)json_integer_value(x));
		_cleanup_json_ json_t *p = repo_product_get(key), *repos = NULL;
		struct dr_error err;
		if (p == NULL ||
		    repo_list(json_string_value(json_object_get(p, "name")), &repos, &err) < 0)
			continue;
		json_array_foreach(repos, j, r)
		{
			bool seen = false;
			size_t k;
			json_t *y;
			json_array_foreach(out, k, y) seen |=
			    json_integer_value(y) == json_integer_value(json_object_get(r, "id"));
			if (!seen)
				json_array_append(out, json_object_get(r, "id"));
		}
	}
	return out;
}

/* A plan as the API shows it (Katello's fields plus ours); plan is the stored row. */
static json_t *
syncplan_present(json_t *plan)
{
	_cleanup_json_ json_t *sched = NULL, *ids = syncplan_repos(plan), *jobs = NULL;
	_cleanup_json_ json_t *filter = NULL;
	json_t *repos = json_array(), *x;
	char local[64];
	int64_t total;
	size_t i;

	json_array_foreach(ids, i, x)
	{
		_cleanup_free_ char *key = xasprintf("%lld", (long long)json_integer_value(x));
		_cleanup_json_ json_t *r = repo_get(key);
		if (r != NULL)
			json_array_append_new(repos,
			    json_pack("{s:O, s:O, s:O?, s:O?}", "id", json_object_get(r, "id"),
			        "name", json_object_get(r, "name"), "last_sync_state",
			        json_object_get(r, "last_sync_state"), "last_sync_at",
			        json_object_get(r, "last_sync_at")));
	}
	json_object_set_new(
	    plan, "repository_ids", json_incref(json_object_get(plan, "repositories")));
	json_object_set_new(plan, "product_ids", json_incref(json_object_get(plan, "products")));
	json_object_set_new(plan, "repositories", repos);
	json_object_del(plan, "products");
	json_object_set(plan, "cron_expression", json_object_get(plan, "cron"));
	json_object_set(plan, "time_zone", json_object_get(plan, "tz"));
	if (tz_format(json_string_value(json_object_get(plan, "tz")),
	        (time_t)json_integer_value(json_object_get(plan, "start_at")), local,
	        sizeof(local), NULL) == 0)
		json_object_set_new(plan, "sync_date", json_string(local));
	sched = schedule_get(json_integer_value(json_object_get(plan, "schedule_id")));
	json_object_set_new(plan, "enabled",
	    json_boolean(sched != NULL && json_is_true(json_object_get(sched, "enabled"))));
	json_object_set_new(plan, "next_runs",
	    sched ? json_incref(json_object_get(sched, "next_runs_local")) : json_array());
	json_object_set(plan, "next_sync",
	    json_array_size(json_object_get(plan, "next_runs"))
	        ? json_array_get(json_object_get(plan, "next_runs"), 0)
	        : json_null());
	filter = json_pack("{s:s}", "kind", "sync_plan");
	json_object_set_new(plan, "last_job", json_null());
	if (sched != NULL) {
		json_object_set(filter, "schedule_id", json_object_get(plan, "schedule_id"));
		if (job_list(filter, 1, 0, &jobs, &total, NULL) == 0 && json_array_size(jobs) > 0)
			json_object_set(plan, "last_job", json_array_get(jobs, 0));
	}
	return plan;
}

/* A plan by id or name as the API shows it, or NULL. */
json_t *
jobs_syncplan_get(const char *id_or_name)
{
	json_t *row = syncplan_row(id_or_name);

	return row ? syncplan_present(row) : NULL;
}

/* Every plan by name as the API shows it. */
int
jobs_syncplan_list(json_t **ret, struct dr_error *err)
{
	json_t *rows, *x;
	size_t i;

	if (store_queryf(&rows, err,
	        "SELECT id, name, description, interval, cron, tz, start_at,"
	        " repositories AS repositories_json, products AS products_json, schedule_id,"
	        " created_at, updated_at FROM jobs_sync_plans ORDER BY name",
	        NULL) < 0)
		return -1;
	json_array_foreach(rows, i, x) syncplan_present(x);
	*ret = rows;
	return 0;
}

/* The schedule spec of a (normalized) plan stored as id. */
static json_t *
syncplan_schedule_spec(const json_t *plan, int64_t id, bool enabled, const char *owner)
{
	_cleanup_free_ char *name =
	    syncplan_schedule_name(json_string_value(json_object_get(plan, "name")));

	return json_pack("{s:s, s:O, s:O, s:O, s:s, s:{s:I}, s:s, s:b, s:s?}", "name", name,
	    "cron", json_object_get(plan, "cron"), "tz", json_object_get(plan, "tz"), "start_at",
	    json_object_get(plan, "start_at"), "kind", "sync_plan", "params", "sync_plan_id",
	    (json_int_t)id, "misfire", "run_once", "enabled", enabled, "owner", owner);
}

/*
 * Create (old_id 0) or update a plan from body as user: -422 with invalid filled, -404,
 * -409 (name taken) or -1; *ret the plan as shown.
 */
int
jobs_syncplan_save(const char *id_or_name, const json_t *body, const char *user,
    const char *remote, json_t *invalid, json_t **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *old = NULL, *plan = NULL, *spec = NULL, *before = NULL;
	_cleanup_json_ json_t *clash = NULL, *oldsched = NULL;
	_cleanup_free_ char *rj = NULL, *pj = NULL;
	int64_t id = 0, sid = 0;
	bool enabled = true;

	*ret = NULL;
	if (id_or_name != NULL) {
		if ((old = syncplan_row(id_or_name)) == NULL) {
			dr_error_set(err, "no sync plan '%s'", id_or_name);
			return -404;
		}
		id = json_integer_value(json_object_get(old, "id"));
		oldsched = schedule_get(json_integer_value(json_object_get(old, "schedule_id")));
		enabled = oldsched == NULL || json_is_true(json_object_get(oldsched, "enabled"));
		before = jobs_syncplan_get(id_or_name);
	}
	if (json_is_boolean(json_object_get(body, "enabled")))
		enabled = json_is_true(json_object_get(body, "enabled"));
	plan = syncplan_check(body, old, invalid);
	if (json_object_size(invalid) > 0) {
		dr_error_set(err, "invalid sync plan");
		return -422;
	}
	clash = store_query_one(err, "SELECT id FROM jobs_sync_plans WHERE name = ? AND id <> ?",
	    "[OI]", json_object_get(plan, "name"), (json_int_t)id);
	if (clash != NULL) {
		json_object_set_new(invalid, "name", json_string("has already been taken"));
		dr_error_set(err, "invalid sync plan");
		return -422;
	}
	rj = json_dumps(json_object_get(plan, "repositories"), JSON_COMPACT);
	pj = json_dumps(json_object_get(plan, "products"), JSON_COMPACT);
	if (store_begin(err) < 0)
		return -1;
	if (id == 0 &&
	    store_execf(NULL, &id, err,
	        "INSERT INTO jobs_sync_plans (name, description, interval, cron, tz, start_at,"
	        " repositories, products, created_at, updated_at)"
	        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	        "[OOOOOOssII]", json_object_get(plan, "name"),
	        json_object_get(plan, "description"), json_object_get(plan, "interval"),
	        json_object_get(plan, "cron"), json_object_get(plan, "tz"),
	        json_object_get(plan, "start_at"), rj, pj, (json_int_t)time(NULL),
	        (json_int_t)time(NULL)) < 0)
		goto fail;
	/* The schedule is made again: core's schedules have no update, and a new line must
	 * not keep the old next run. */
	if (old != NULL && oldsched != NULL &&
	    schedule_delete(json_integer_value(json_object_get(old, "schedule_id")), err) < 0)
		goto fail;
	spec = syncplan_schedule_spec(plan, id, enabled, user);
	if (schedule_create(spec, &sid, err) < 0) {
		/* The line was checked already: a refusal is about the schedule's name. */
		json_object_set_new(invalid, strstr(err->msg, "name") ? "name" : "cron_expression",
		    json_string(err->msg));
		store_rollback();
		return -422;
	}
	if (store_execf(NULL, NULL, err,
	        "UPDATE jobs_sync_plans SET name = ?, description = ?, interval = ?, cron = ?,"
	        " tz = ?, start_at = ?, repositories = ?, products = ?, schedule_id = ?,"
	        " updated_at = ? WHERE id = ?",
	        "[OOOOOOssIII]", json_object_get(plan, "name"),
	        json_object_get(plan, "description"), json_object_get(plan, "interval"),
	        json_object_get(plan, "cron"), json_object_get(plan, "tz"),
	        json_object_get(plan, "start_at"), rj, pj, (json_int_t)sid, (json_int_t)time(NULL),
	        (json_int_t)id) < 0 ||
	    store_commit(err) < 0)
		goto fail;
	{
		_cleanup_free_ char *idtext = xasprintf("%lld", (long long)id);
		*ret = jobs_syncplan_get(idtext);
		store_audit(user, remote, old ? "update" : "create", "sync_plan",
		    json_string_value(json_object_get(plan, "name")), before, *ret, NULL);
	}
	return 0;
fail:
	store_rollback();
	return -1;
}

/* Delete a plan and its schedule (its jobs stay). -404 when there is none. */
int
jobs_syncplan_delete(
    const char *id_or_name, const char *user, const char *remote, struct dr_error *err)
{
	_cleanup_json_ json_t *before = jobs_syncplan_get(id_or_name), *sched = NULL;
	int64_t sid;

	if (before == NULL) {
		dr_error_set(err, "no sync plan '%s'", id_or_name);
		return -404;
	}
	sid = json_integer_value(json_object_get(before, "schedule_id"));
	if (store_begin(err) < 0)
		return -1;
	sched = schedule_get(sid);
	if ((sched != NULL && schedule_delete(sid, err) < 0) ||
	    store_execf(NULL, NULL, err, "DELETE FROM jobs_sync_plans WHERE id = ?", "[O]",
	        json_object_get(before, "id")) < 0 ||
	    store_commit(err) < 0) {
		store_rollback();
		return -1;
	}
	store_audit(user, remote, "delete", "sync_plan",
	    json_string_value(json_object_get(before, "name")), before, NULL, NULL);
	return 0;
}

/* Enable or disable a plan's schedule. */
int
jobs_syncplan_enable(const char *id_or_name, bool on, const char *user, const char *remote,
    json_t **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *plan = syncplan_row(id_or_name);

	*ret = NULL;
	if (plan == NULL) {
		dr_error_set(err, "no sync plan '%s'", id_or_name);
		return -404;
	}
	if (schedule_set_enabled(
	        json_integer_value(json_object_get(plan, "schedule_id")), on, err) < 0)
		return -409;
	*ret = jobs_syncplan_get(id_or_name);
	store_audit(user, remote, on ? "enable" : "disable", "sync_plan",
	    json_string_value(json_object_get(plan, "name")), NULL, NULL, NULL);
	return 0;
}

/* Queue the plan's job now; *ret_id the job. */
int
jobs_syncplan_run_now(
    const char *id_or_name, const char *user, int64_t *ret_id, struct dr_error *err)
{
	_cleanup_json_ json_t *plan = syncplan_row(id_or_name), *params = NULL;

	if (plan == NULL) {
		dr_error_set(err, "no sync plan '%s'", id_or_name);
		return -404;
	}
	params = json_pack("{s:O}", "sync_plan_id", json_object_get(plan, "id"));
	return job_submit("sync_plan", params, user, 0, ret_id, err);
}

/* The sync_plan job: params {"sync_plan_id"}; syncs each repository, one item each. */
static int
syncplan_run(struct job *job, struct dr_error *err)
{
	const json_t *pid = json_object_get(job_params(job), "sync_plan_id");
	_cleanup_free_ char *key = xasprintf("%lld", (long long)json_integer_value(pid));
	_cleanup_json_ json_t *plan = syncplan_row(key), *ids = NULL, *failed = json_array();
	json_t *x;
	size_t i, ok = 0;

	if (plan == NULL)
		return dr_error_set(err, "no sync plan %s (deleted?)", key);
	ids = syncplan_repos(plan);
	job_printf(job, "sync plan %s: %zu repositories\n",
	    json_string_value(json_object_get(plan, "name")), json_array_size(ids));
	json_array_foreach(ids, i, x)
	{
		_cleanup_free_ char *rk = xasprintf("%lld", (long long)json_integer_value(x));
		_cleanup_json_ json_t *repo = repo_get(rk), *result = NULL;
		struct dr_error e;
		const char *name = repo ? json_string_value(json_object_get(repo, "name")) : rk;

		if (job_cancelled(job)) {
			job_item_set(job, name, "cancelled", NULL);
			continue;
		}
		job_item_set(job, name, "running", NULL);
		job_printf(job, "== %s\n", name);
		if (repo == NULL || repo_sync_one(job, rk, &result, &e) < 0) {
			const char *msg = repo ? e.msg : "the repository was deleted";
			_cleanup_json_ json_t *d =
			    json_pack("{s:O, s:s}", "repository_id", x, "error", msg);
			job_printf(job, "%s: failed: %s\n", name, msg);
			job_item_set(job, name, "failed", d);
			json_array_append_new(failed, json_string(name));
			continue;
		}
		json_object_set(result, "repository_id", x);
		job_item_set(job, name, "success", result);
		ok++;
	}
	job_result_set(job,
	    json_pack("{s:O, s:O, s:I, s:I, s:O}", "sync_plan", json_object_get(plan, "name"),
	        "sync_plan_id", pid, "repositories", (json_int_t)json_array_size(ids), "succeeded",
	        (json_int_t)ok, "failed", failed));
	if (job_cancelled(job))
		return dr_error_set(err, "cancelled");
	if (json_array_size(failed) > 0) {
		_cleanup_free_ char *names = json_dumps(failed, JSON_COMPACT);
		return dr_error_set(err, "%zu of %zu repositories failed: %s",
		    json_array_size(failed), json_array_size(ids), names);
	}
	return 0;
}

/*
 * The content_view_publish_promote job: params {"content_view", "description"?,
 * "environments": [names] or "A,B", "force"?}: publish, then promote the new version to
 * each environment in order. Items: "publish", then each environment.
 */
static int
syncplan_cv_run(struct job *job, struct dr_error *err)
{
	const json_t *p = job_params(job);
	const json_t *envs = json_object_get(p, "environments");
	_cleanup_json_ json_t *result = NULL, *list = json_array(), *promoted = json_array();
	json_t *x;
	size_t i;

	if (json_is_string(envs)) {
		_cleanup_free_ char *copy = xstrdup(json_string_value(envs));
		char *save = NULL, *t;
		for (t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
			json_array_append_new(list, json_string(t));
	} else if (json_is_array(envs))
		json_array_extend(list, (json_t *)envs);
	else if (envs != NULL)
		return dr_error_set(err, "params: \"environments\": expected names");
	job_item_set(job, "publish", "running", NULL);
	if (repo_cv_publish(job, p, &result, err) < 0) {
		_cleanup_json_ json_t *d = json_pack("{s:s}", "error", err->msg);
		job_item_set(job, "publish", "failed", d);
		return -1;
	}
	job_item_set(job, "publish", "success", result);
	json_array_foreach(list, i, x)
	{
		_cleanup_json_ json_t *pp = json_pack("{s:O, s:O, s:O, s:b}", "content_view",
		    json_object_get(p, "content_view"), "version",
		    json_object_get(result, "version"), "to", x, "force",
		    json_is_true(json_object_get(p, "force")));
		const char *env = json_string_value(x);
		if (env == NULL)
			return dr_error_set(err, "params: \"environments\": expected names");
		job_item_set(job, env, "running", NULL);
		if (repo_cv_promote(job, pp, err) < 0) {
			_cleanup_json_ json_t *d = json_pack("{s:s}", "error", err->msg);
			job_item_set(job, env, "failed", d);
			for (i++; i < json_array_size(list); i++)
				if (json_is_string(json_array_get(list, i)))
					job_item_set(job,
					    json_string_value(json_array_get(list, i)), "skipped",
					    NULL);
			return dr_error_prefix(err, "promote to %s: ", env);
		}
		job_item_set(job, env, "success", NULL);
		json_array_append(promoted, x);
	}
	json_object_set(result, "promoted_to", promoted);
	job_result_set(job, TAKE_PTR(result));
	return 0;
}

static const struct job_kind syncplan_kinds[] = {
    {"sync_plan", syncplan_run, 0},
    {"content_view_publish_promote", syncplan_cv_run, 0},
};

/* Register the job kinds; before store_open. */
void
jobs_syncplan_register(void)
{
	size_t i;

	for (i = 0; i < nitems(syncplan_kinds); i++)
		job_kind_register(&syncplan_kinds[i]);
}
