/*
 * drift.c - drift reports: the playbooks assigned to a host (its parameter `playbooks`, a
 * comma list of library playbooks, inherited from hostgroups like any parameter) run in
 * check mode with diffs; a host where a task would change has drifted, and what would
 * change (task and diff) is stored with it.
 */
#define LOG_COMPONENT "jobs"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs_int.h"
#include "playbooks/playbooks.h"

/* True when the comma list has name. */
static bool
drift_list_has(const char *list, const char *name)
{
	_cleanup_free_ char *copy = xstrdup(list ? list : "");
	char *save = NULL;

	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save))
		if (strcmp(str_trim(w), name) == 0)
			return true;
	return false;
}

/* The job: for each assigned playbook, a check run on the hosts it is assigned to. */
static int
drift_run(struct job *job, struct dr_error *err)
{
	const json_t *p = job_params(job);
	struct jobs_run rx = {.job = job, .params = p, .check = true, .step = true};
	_cleanup_json_ json_t *all = NULL, *names = json_object(), *sel = NULL;
	char tmpl[] = "/tmp/drover-drift-XXXXXX";
	size_t i, total;
	json_t *t;
	int rc = -1;

	pthread_mutex_init(&rx.lock, NULL);
	pthread_mutex_init(&rx.store_lock, NULL);
	rx.pb_errors = json_object();
	rx.changes = json_object();
	vars_init();
	if (!json_is_object(p)) {
		dr_error_set(err, "params: expected an object");
		goto out;
	}
	if (jobs_run_settings(p, &rx, err) < 0)
		goto out;
	/* Every host with playbooks assigned, unless the params choose some. */
	sel = json_deep_copy(p);
	if (!json_object_get(sel, "search") && !json_object_get(sel, "hostgroup") &&
	    !json_object_get(sel, "hosts"))
		json_object_set_new(sel, "search", json_string("not null? playbooks"));
	if (jobs_targets_select(sel, &all, err) < 0)
		goto out;
	rx.targets = json_array();
	json_array_foreach(all, i, t)
	{
		const char *pbs = jobs_run_str(t, "playbooks");
		if (pbs == NULL || *pbs == '\0')
			continue;
		json_array_append(rx.targets, t);
		_cleanup_free_ char *copy = xstrdup(pbs);
		char *save = NULL;
		for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save))
			json_object_set_new(names, str_trim(w), json_true());
	}
	if ((total = json_array_size(rx.targets)) == 0) {
		dr_error_set(err, "no selected host has playbooks assigned (parameter playbooks)");
		goto out;
	}
	if (mkdtemp(tmpl) == NULL) {
		dr_error_errno(err, "temporary directory");
		goto out;
	}
	rx.dir = xstrdup(tmpl);
	if (jobs_run_known_hosts(&rx, err) < 0)
		goto out;
	json_array_foreach(rx.targets, i, t)
	{
		_cleanup_json_ json_t *d = jobs_run_item(t);
		job_item_set(job, jobs_run_str(t, "name"), "pending", d);
	}
	job_printf(job, "drift check of %zu host%s\n", total, total == 1 ? "" : "s");
	const char *name;
	json_t *x;
	json_object_foreach(names, name, x)
	{
		_cleanup_json_ json_t *pb = jobs_library_get(name, 0);
		_cleanup_json_ json_t *saved = rx.targets, *subset = json_array();
		_cleanup_free_ char *path = xasprintf("%s/%s.yml", rx.dir, name);
		if (pb == NULL) {
			json_array_foreach(
			    saved, i, t) if (drift_list_has(jobs_run_str(t, "playbooks"), name))
			    json_object_set_new(rx.pb_errors, jobs_run_str(t, "name"),
			        json_sprintf("no playbook '%s' in the library", name));
			rx.targets = NULL;
			continue;
		}
		if (file_write_atomic(path, jobs_run_str(pb, "content"),
		        strlen(jobs_run_str(pb, "content")), 0600, err) < 0) {
			rx.targets = NULL;
			goto out;
		}
		json_array_foreach(saved, i, t) if (drift_list_has(jobs_run_str(t, "playbooks"),
		                                        name)) json_array_append(subset, t);
		job_printf(job, "playbook %s (version %lld) on %zu host%s, check mode\n", name,
		    (long long)json_integer_value(json_object_get(pb, "version")),
		    json_array_size(subset), json_array_size(subset) == 1 ? "" : "s");
		rx.targets = subset;
		int r = jobs_run_playbook(&rx, path, 0, json_array_size(subset), err);
		rx.targets = TAKE_PTR(saved);
		if (r < 0)
			goto out;
		if (job_cancelled(job))
			break;
	}
	/* Each host: drifted, in sync, or failed (with what failed). */
	size_t ndrift = 0, nfail = 0;
	json_array_foreach(rx.targets, i, t)
	{
		const char *h = jobs_run_str(t, "name");
		const json_t *ch = json_object_get(rx.changes, h);
		const json_t *fail = json_object_get(rx.pb_errors, h);
		_cleanup_json_ json_t *data = jobs_run_item(t);
		const char *state = fail ? "failed" : ch ? "drifted" : "in_sync";
		json_object_set_new(
		    data, "changes", ch ? json_incref((json_t *)ch) : json_array());
		if (fail)
			json_object_set(data, "error", (json_t *)fail);
		job_item_set(job, h, state, data);
		job_printf(job, "%s: %s\n", h, state);
		if (fail) {
			nfail++;
			continue;
		}
		if (ch)
			ndrift++;
		if (store_execf(NULL, NULL, err,
		        "INSERT INTO jobs_drift (host_id, drifted, changes, checked_at, job_id)"
		        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (host_id) DO UPDATE SET"
		        " drifted = excluded.drifted, changes = excluded.changes,"
		        " checked_at = excluded.checked_at, job_id = excluded.job_id",
		        "[O i O I I]", json_object_get(t, "id"), ch != NULL,
		        json_object_get(data, "changes"), (json_int_t)time(NULL),
		        (json_int_t)job_id(job)) < 0)
			goto out;
	}
	job_result_set(job,
	    json_pack("{s:I, s:I, s:I}", "hosts", (json_int_t)total, "drifted", (json_int_t)ndrift,
	        "failed", (json_int_t)nfail));
	job_printf(job, "%zu host%s: %zu drifted, %zu in sync, %zu failed\n", total,
	    total == 1 ? "" : "s", ndrift, total - ndrift - nfail, nfail);
	if (job_cancelled(job))
		dr_error_set(err, "cancelled");
	else if (nfail > 0)
		dr_error_set(err, "%zu of %zu hosts could not be checked", nfail, total);
	else
		rc = 0;
out:
	if (rx.dir != NULL) {
		nftw(rx.dir, jobs_run_rm, 8, FTW_DEPTH | FTW_PHYS);
		free(rx.dir);
	}
	free(rx.known_hosts);
	free(rx.task);
	json_decref(rx.targets);
	json_decref(rx.pb_errors);
	json_decref(rx.changes);
	pthread_mutex_destroy(&rx.lock);
	pthread_mutex_destroy(&rx.store_lock);
	return rc;
}

static const struct job_kind drift_kind = {
    .name = "drift_check",
    .run = drift_run,
};

/* Register the drift_check job kind. */
void
jobs_drift_register(void)
{
	job_kind_register(&drift_kind);
}

/* The drift report of a host, or NULL when it was never checked. Caller frees. */
json_t *
jobs_drift_get(int64_t host_id)
{
	json_t *d = store_query_one(NULL,
	    "SELECT d.host_id AS host_id, f.name AS name, d.drifted AS drifted,"
	    " d.changes AS changes_json, d.checked_at AS checked_at, d.job_id AS job_id"
	    " FROM jobs_drift d JOIN jobs_host_facets f ON f.host_id = d.host_id"
	    " WHERE d.host_id = ?",
	    "[I]", (json_int_t)host_id);

	if (d != NULL)
		json_object_set_new(
		    d, "drifted", json_boolean(json_integer_value(json_object_get(d, "drifted"))));
	return d;
}

/* Every checked host with whether it drifted, drifted first. */
int
jobs_drift_list(json_t **ret, struct dr_error *err)
{
	json_t *rows = NULL, *r;
	size_t i;

	if (store_queryf(&rows, err,
	        "SELECT d.host_id AS host_id, f.name AS name, d.drifted AS drifted,"
	        " d.checked_at AS checked_at, d.job_id AS job_id"
	        " FROM jobs_drift d JOIN jobs_host_facets f ON f.host_id = d.host_id"
	        " ORDER BY d.drifted DESC, f.name",
	        NULL) < 0)
		return -1;
	json_array_foreach(rows, i, r) json_object_set_new(
	    r, "drifted", json_boolean(json_integer_value(json_object_get(r, "drifted"))));
	*ret = rows;
	return 0;
}
