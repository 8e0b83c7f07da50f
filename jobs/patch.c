/*
 * patch.c - patch runs: the chosen errata applied to the hosts of a selection in batches,
 * inside a maintenance window, with pre and post playbooks around each batch, a reboot
 * policy with a wait for the host to return, and a stop once failures pass a threshold.
 * Per host: the profile before, the package manager run through the command path
 * (apt-get or dnf), the profile after, which errata were applied and each package's
 * version before and after.
 */
#define LOG_COMPONENT "jobs"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobs/jobs_int.h"
#include "playbooks/playbooks.h"
#include "repos/repos.h"

#define PATCH_REBOOT_COMMAND "systemctl reboot || shutdown -r now || reboot"
#define PATCH_REBOOT_TIMEOUT 600
#define PATCH_TIMEOUT_DEFAULT 3600 /* seconds for one host's package manager run */
#define PATCH_WINDOW_MAX (7 * 24 * 60) /* minutes */

/* What a patch run is given besides the run's settings. */
struct patch {
	const json_t *errata; /* {ids, types, severities, cves} or NULL: all installable */
	const char *reboot; /* never, if_needed, always */
	const char *reboot_command;
	int reboot_timeout;
	struct cron *window;
	const char *window_tz;
	int window_minutes;
	int batch_percent;
	char *pre_path, *post_path;
};

/* True when list (an array of strings, or absent) is absent or holds s. */
static bool
patch_list_has(const json_t *list, const char *s)
{
	size_t i;
	json_t *v;

	if (!json_is_array(list))
		return true;
	json_array_foreach(list, i, v) if (s != NULL && json_is_string(v) &&
	    strcasecmp(json_string_value(v), s) == 0) return true;
	return false;
}

/* Does erratum e (an applicability result) match the run's errata selection? */
static bool
patch_erratum_wanted(const struct patch *pt, const json_t *e)
{
	const json_t *sel = pt->errata, *cves = json_object_get(sel, "cves");
	const char *id = jobs_run_str(e, "erratum_id");

	if (!json_is_true(json_object_get(e, "installable")))
		return false;
	if (!patch_list_has(json_object_get(sel, "ids"), id) ||
	    !patch_list_has(json_object_get(sel, "types"), jobs_run_str(e, "type")) ||
	    !patch_list_has(json_object_get(sel, "severities"), jobs_run_str(e, "severity")))
		return false;
	if (json_is_array(cves)) {
		_cleanup_json_ json_t *full = repo_erratum_get(id);
		_cleanup_free_ char *text = full ? json_dumps(full, JSON_COMPACT) : NULL;
		size_t i;
		json_t *c;
		json_array_foreach(cves, i, c)
		{
			_cleanup_free_ char *needle =
			    xasprintf("\"%s\"", json_string_value(c) ? json_string_value(c) : "");
			if (text != NULL && strstr(text, needle) != NULL)
				return true;
		}
		return false;
	}
	return true;
}

/* The applicable errata of a profile against the host's content (full results). */
static int
patch_applicable(const json_t *target, const json_t *profile, json_t **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *row = store_query_one(err,
	    "SELECT content_view, lifecycle_environment FROM jobs_host_facets WHERE host_id = ?",
	    "[O]", json_object_get(target, "id"));
	const char *cv = jobs_run_str(row, "content_view");
	const char *env = jobs_run_str(row, "lifecycle_environment");
	const char *type = strcmp(jobs_run_str(profile, "format"), "apt") == 0 ? "apt" : "yum";
	if (cv == NULL || env == NULL)
		return dr_error_set(err,
		    "no content bound: set the host parameters content_view and "
		    "lifecycle_environment");
	const char *ctype;
	_cleanup_json_ json_t *ids = NULL;
	if (jobs_content_versions(cv, env, &ids, &ctype, err) < 0)
		return -1;
	if (json_array_size(ids) == 0)
		return dr_error_set(err, "content view %s has no content in %s", cv, env);
	return repo_errata_applicable(json_object_get(profile, "packages"), ids, type, ret, err);
}

/* Collect a profile over c, store it, and return it parsed. */
static int
patch_profile(
    struct jobs_run *rx, struct conn *c, const json_t *t, json_t **ret, struct dr_error *err)
{
	struct conn_result res = {0};
	int r = -1;

	if (conn_exec(c, "/bin/sh -s", jobs_profile_script(), strlen(jobs_profile_script()), 120,
	        &res, err) < 0)
		return -1;
	if (res.status != 0)
		dr_error_set(err, "the profile script exited with %d", res.status);
	else if (jobs_profile_parse(res.out, res.out_len, ret, err) == 0 &&
	    jobs_profile_store(
	        json_integer_value(json_object_get(t, "id")), job_id(rx->job), *ret, err) == 0)
		r = 0;
	conn_result_free(&res);
	return r;
}

/* name -> "version" (with epoch and release as the format spells them). */
static json_t *
patch_versions(const json_t *profile)
{
	json_t *out = json_object(), *p;
	size_t i;

	json_array_foreach(json_object_get(profile, "packages"), i, p)
	{
		const char *e = jobs_run_str(p, "epoch"), *rel = jobs_run_str(p, "release");
		char *v = xasprintf("%s%s%s%s%s", e ? e : "", e ? ":" : "",
		    jobs_run_str(p, "version"), rel ? "-" : "", rel ? rel : "");
		json_object_set_new(out, jobs_run_str(p, "name"), json_string(v));
		free(v);
	}
	return out;
}

/* Reboot the host and wait until it answers again (a new connection in *c). */
static int
patch_reboot(struct jobs_run *rx, const struct patch *pt, const json_t *t, struct conn **c,
    struct dr_error *err)
{
	const char *name = jobs_run_str(t, "name");
	struct conn_result res = {0};
	int64_t deadline = time_mono_us() + (int64_t)pt->reboot_timeout * 1000000;

	job_printf(rx->job, "%s: rebooting\n", name);
	/* The connection may drop under the command: its result does not matter. */
	(void)conn_exec(*c, pt->reboot_command, NULL, 0, 30, &res, NULL);
	conn_result_free(&res);
	conn_close(*c);
	*c = NULL;
	sleep(2);
	while (time_mono_us() < deadline) {
		if (job_cancelled(rx->job))
			return dr_error_set(err, "cancelled while waiting for the reboot");
		if (jobs_run_connect(rx, t, c, err) == 0) {
			job_printf(rx->job, "%s: back after the reboot\n", name);
			return 0;
		}
		sleep(3);
	}
	return dr_error_set(
	    err, "host %s did not come back within %d s of the reboot", name, pt->reboot_timeout);
}

/* Patch one host. */
static void
patch_host(struct jobs_run *rx, const json_t *t)
{
	const struct patch *pt = rx->ctx;
	const char *name = jobs_run_str(t, "name");
	_cleanup_json_ json_t *data = jobs_run_item(t), *before = NULL, *after = NULL;
	_cleanup_json_ json_t *app = NULL, *app_after = NULL, *wanted = json_array();
	_cleanup_json_ json_t *names = json_object(), *vb = NULL, *va = NULL;
	struct conn_result res = {0};
	struct conn *c = NULL;
	struct dr_error err = {{0}};
	const char *state = "failed";
	struct buf cmd = BUF_INIT(JOBS_COMMAND_MAX);
	size_t i, k;
	json_t *e, *p;

	json_object_set_new(data, "started_at", json_integer(time(NULL)));
	jobs_run_item_set(rx, name, "running", data);
	if (json_object_get(rx->pb_errors, name)) {
		json_object_set(data, "error", json_object_get(rx->pb_errors, name));
		goto out;
	}
	if (jobs_run_connect(rx, t, &c, &err) < 0) {
		state = "unreachable";
		goto fail;
	}
	if (patch_profile(rx, c, t, &before, &err) < 0 ||
	    patch_applicable(t, before, &app, &err) < 0)
		goto fail;
	json_array_foreach(app, i, e)
	{
		if (!patch_erratum_wanted(pt, e))
			continue;
		json_array_append(wanted, json_object_get(e, "erratum_id"));
		json_array_foreach(json_object_get(e, "packages"), k, p)
		    json_object_set_new(names, jobs_run_str(p, "name"), json_true());
	}
	json_object_set(data, "errata", wanted);
	if (json_array_size(wanted) == 0) {
		job_printf(rx->job, "%s: no selected erratum applies\n", name);
		json_object_set_new(data, "errata_applied", json_array());
		state = "success";
		goto reboot;
	}
	conn_become_set(c,
	    &(struct conn_become){
	        .enabled = rx->become, .method = rx->become_method, .user = "root"});
	if (strcmp(jobs_run_str(before, "format"), "apt") == 0)
		buf_adds(&cmd,
		    "apt-get -q update && DEBIAN_FRONTEND=noninteractive apt-get -q -y"
		    " -o Dpkg::Options::=--force-confold install --only-upgrade");
	else
		buf_adds(&cmd, "dnf -q -y upgrade");
	const char *pkg;
	json_t *x;
	json_object_foreach(names, pkg, x)
	{
		_cleanup_free_ char *q = conn_quote(pkg);
		if (buf_addf(&cmd, " %s", q) < 0) {
			dr_error_set(&err, "too many packages for one command");
			goto fail;
		}
	}
	job_printf(
	    rx->job, "%s: applying %zu errata: %s\n", name, json_array_size(wanted), cmd.data);
	if (conn_exec(c, cmd.data, NULL, 0, rx->timeout, &res, &err) < 0)
		goto fail;
	jobs_run_output(rx, name, res.out, res.out_len);
	jobs_run_output(rx, name, res.err, res.err_len);
	json_object_set_new(data, "exit_status", json_integer(res.status));
	json_object_set_new(data, "stdout", jobs_run_capped(res.out, res.out_len));
	json_object_set_new(data, "stderr", jobs_run_capped(res.err, res.err_len));
	conn_become_set(c, NULL);
	if (patch_profile(rx, c, t, &after, &err) < 0 ||
	    patch_applicable(t, after, &app_after, &err) < 0)
		goto fail;
	/* Applied: wanted errata that no longer apply. */
	json_t *applied = json_array(), *still = json_array();
	json_array_foreach(wanted, i, e)
	{
		bool left = false;
		json_array_foreach(app_after, k, p) left |=
		    json_equal(json_object_get(p, "erratum_id"), e);
		json_array_append(left ? still : applied, e);
	}
	json_object_set_new(data, "errata_applied", applied);
	json_object_set_new(data, "errata_failed", still);
	vb = patch_versions(before);
	va = patch_versions(after);
	json_t *pkgs = json_array();
	json_object_foreach(names, pkg, x) json_array_append_new(pkgs,
	    json_pack("{s:s, s:O?, s:O?}", "name", pkg, "before", json_object_get(vb, pkg),
	        "after", json_object_get(va, pkg)));
	json_object_set_new(data, "packages", pkgs);
	json_object_set_new(data, "reboot_required",
	    json_boolean(json_is_true(json_object_get(after, "reboot_required"))));
	if (res.status != 0 || json_array_size(still) > 0) {
		dr_error_set(&err, "%s%zu of %zu errata not applied",
		    res.status != 0 ? "the package manager failed; " : "", json_array_size(still),
		    json_array_size(wanted));
		goto fail;
	}
	state = "success";
reboot:
	if (strcmp(pt->reboot, "always") == 0 ||
	    (strcmp(pt->reboot, "if_needed") == 0 &&
	        json_is_true(json_object_get(after ? after : before, "reboot_required")))) {
		if (patch_reboot(rx, pt, t, &c, &err) < 0) {
			state = "failed";
			goto fail;
		}
		json_object_set_new(data, "rebooted", json_true());
		jobs_run_profile(rx, c, t);
	} else
		json_object_set_new(data, "rebooted", json_false());
	goto out;
fail:
	json_object_set_new(data, "error", json_string(err.msg));
	jobs_run_output(rx, name, err.msg, strlen(err.msg));
out:
	buf_free(&cmd);
	conn_result_free(&res);
	conn_close(c);
	json_object_set_new(data, "finished_at", json_integer(time(NULL)));
	jobs_run_item_set(rx, name, state, data);
	pthread_mutex_lock(&rx->lock);
	if (strcmp(state, "success") == 0)
		rx->ok++;
	else if (strcmp(state, "unreachable") == 0)
		rx->unreachable++;
	else
		rx->failed++;
	size_t done = rx->ok + rx->failed + rx->unreachable;
	pthread_mutex_unlock(&rx->lock);
	job_printf(rx->job, "%s: %s [%zu/%zu]\n", name, state, done, json_array_size(rx->targets));
}

/* Wait for the maintenance window; 0 inside it, -1 when cancelled. */
static int
patch_window_wait(struct jobs_run *rx, const struct patch *pt, struct dr_error *err)
{
	bool said = false;

	for (;;) {
		time_t now = time(NULL), start;
		if (cron_next(pt->window, pt->window_tz, now - (time_t)pt->window_minutes * 60,
		        &start, err) < 0)
			return -1;
		if (start <= now)
			return 0;
		if (!said) {
			char when[64] = "";
			tz_format(pt->window_tz, start, when, sizeof when, NULL);
			job_printf(rx->job, "waiting for the maintenance window (%s)\n", when);
			said = true;
		}
		if (job_cancelled(rx->job))
			return dr_error_set(err, "cancelled");
		sleep(start - now > 5 ? 5 : (unsigned)(start - now));
	}
}

/* A library playbook (NAME or NAME@VERSION) written to dir/file. */
static int
patch_step_file(
    const json_t *v, const char *what, const char *dir, char **ret, struct dr_error *err)
{
	const char *name = json_string_value(v);
	_cleanup_free_ char *copy = NULL, *path = NULL;
	_cleanup_json_ json_t *pb = NULL;
	long long ver = 0;
	char *at;

	if (v == NULL)
		return 0;
	if (name == NULL)
		return dr_error_set(err, "%s: expected a library playbook NAME[@VERSION]", what);
	copy = xstrdup(name);
	if ((at = strchr(copy, '@')) != NULL) {
		*at++ = '\0';
		if (str_to_ll(at, 1, INT64_MAX, &ver) < 0)
			return dr_error_set(err, "%s: bad version in '%s'", what, name);
	}
	if ((pb = jobs_library_get(copy, ver)) == NULL)
		return dr_error_set(err, "%s: no playbook '%s' in the library", what, name);
	path = xasprintf("%s/%s.yml", dir, what);
	if (file_write_atomic(path, jobs_run_str(pb, "content"),
	        strlen(jobs_run_str(pb, "content")), 0600, err) < 0)
		return -1;
	*ret = TAKE_PTR(path);
	return 0;
}

/* Check the patch-specific params into pt (window parsed: pt->window to free). */
static int
patch_settings(const json_t *p, struct patch *pt, struct dr_error *err)
{
	const json_t *errata = json_object_get(p, "errata"), *w = json_object_get(p, "window");
	const json_t *bp = json_object_get(p, "batch_percent");
	static const char *const lists[] = {"ids", "types", "severities", "cves"};

	if (errata != NULL && !json_is_object(errata))
		return dr_error_set(err, "errata: expected {ids, types, severities, cves}");
	for (size_t i = 0; i < nitems(lists); i++) {
		const json_t *l = json_object_get(errata, lists[i]);
		size_t k;
		json_t *x;
		if (l == NULL)
			continue;
		if (!json_is_array(l) || json_array_size(l) > 10000)
			return dr_error_set(err, "errata.%s: expected a list of text", lists[i]);
		json_array_foreach(l, k, x) if (!json_is_string(x)) return dr_error_set(
		    err, "errata.%s[%zu]: expected text", lists[i], k);
	}
	pt->errata = errata;
	pt->reboot = jobs_run_str(p, "reboot") ? jobs_run_str(p, "reboot") : "never";
	if (strcmp(pt->reboot, "never") != 0 && strcmp(pt->reboot, "if_needed") != 0 &&
	    strcmp(pt->reboot, "always") != 0)
		return dr_error_set(err, "reboot: expected never, if_needed or always");
	pt->reboot_command = jobs_run_str(p, "reboot_command") ? jobs_run_str(p, "reboot_command")
	                                                       : PATCH_REBOOT_COMMAND;
	pt->reboot_timeout = PATCH_REBOOT_TIMEOUT;
	if (json_object_get(p, "reboot_timeout")) {
		json_int_t v = json_integer_value(json_object_get(p, "reboot_timeout"));
		if (!json_is_integer(json_object_get(p, "reboot_timeout")) || v < 10 || v > 86400)
			return dr_error_set(
			    err, "reboot_timeout: expected seconds from 10 to 86400");
		pt->reboot_timeout = (int)v;
	}
	if (bp != NULL) {
		if (!json_is_integer(bp) || json_integer_value(bp) < 1 ||
		    json_integer_value(bp) > 100)
			return dr_error_set(
			    err, "batch_percent: expected an integer from 1 to 100");
		pt->batch_percent = (int)json_integer_value(bp);
	}
	if (w != NULL) {
		const json_t *d = json_object_get(w, "duration");
		pt->window_tz = jobs_run_str(w, "tz") ? jobs_run_str(w, "tz") : "UTC";
		if (!json_is_object(w) || jobs_run_str(w, "cron") == NULL)
			return dr_error_set(
			    err, "window: expected {cron, tz, duration (minutes)}");
		if (!json_is_integer(d) || json_integer_value(d) < 1 ||
		    json_integer_value(d) > PATCH_WINDOW_MAX)
			return dr_error_set(err, "window.duration: expected minutes from 1 to %d",
			    PATCH_WINDOW_MAX);
		pt->window_minutes = (int)json_integer_value(d);
		if (tz_check(pt->window_tz, err) < 0)
			return dr_error_prefix(err, "window.tz: ");
		if (cron_parse(jobs_run_str(w, "cron"), &pt->window, err) < 0)
			return dr_error_prefix(err, "window.cron: ");
	}
	for (const char *const *k = (const char *const[]){"pre", "post", NULL}; *k; k++) {
		const json_t *v = json_object_get(p, *k);
		if (v != NULL && !json_is_string(v))
			return dr_error_set(
			    err, "%s: expected a library playbook NAME[@VERSION]", *k);
	}
	return 0;
}

/* The job. */
static int
patch_run(struct job *job, struct dr_error *err)
{
	const json_t *p = job_params(job);
	struct jobs_run rx = {.job = job, .params = p, .host_fn = patch_host};
	struct patch pt = {0};
	char tmpl[] = "/tmp/drover-patch-XXXXXX";
	size_t total, from, bsize;
	int rc = -1;

	pthread_mutex_init(&rx.lock, NULL);
	pthread_mutex_init(&rx.store_lock, NULL);
	rx.pb_errors = json_object();
	rx.ctx = &pt;
	vars_init();
	if (!json_is_object(p)) {
		dr_error_set(err, "params: expected an object");
		goto out;
	}
	if (jobs_run_settings(p, &rx, err) < 0 || patch_settings(p, &pt, err) < 0)
		goto out;
	if (rx.timeout == 0)
		rx.timeout = PATCH_TIMEOUT_DEFAULT;
	/* Hosts are chosen when the run starts: a scheduled run patches today's hosts. */
	if (jobs_targets_select(p, &rx.targets, err) < 0)
		goto out;
	if ((total = json_array_size(rx.targets)) == 0) {
		dr_error_set(err, "no host matches the selection");
		goto out;
	}
	if (mkdtemp(tmpl) == NULL) {
		dr_error_errno(err, "temporary directory");
		goto out;
	}
	rx.dir = xstrdup(tmpl);
	if (jobs_run_known_hosts(&rx, err) < 0 ||
	    patch_step_file(json_object_get(p, "pre"), "pre", rx.dir, &pt.pre_path, err) < 0 ||
	    patch_step_file(json_object_get(p, "post"), "post", rx.dir, &pt.post_path, err) < 0)
		goto out;
	bsize = rx.batch_size > 0 ? (size_t)rx.batch_size : total;
	if (pt.batch_percent > 0)
		bsize = (total * (size_t)pt.batch_percent + 99) / 100;
	for (size_t i = 0; i < total; i++) {
		_cleanup_json_ json_t *d = jobs_run_item(json_array_get(rx.targets, i));
		job_item_set(
		    job, jobs_run_str(json_array_get(rx.targets, i), "name"), "pending", d);
	}
	job_printf(job, "patch run on %zu host%s in batches of %zu (reboot: %s)\n", total,
	    total == 1 ? "" : "s", bsize, pt.reboot);
	for (from = 0; from < total && !rx.cancel && !job_cancelled(job);) {
		size_t to = from + bsize < total ? from + bsize : total;
		if (pt.window != NULL && patch_window_wait(&rx, &pt, err) < 0)
			goto out;
		job_printf(job, "batch: hosts %zu-%zu of %zu\n", from + 1, to, total);
		if (pt.pre_path != NULL) {
			job_printf(job, "pre step (%s)\n", jobs_run_str(p, "pre"));
			rx.step = true;
			if (jobs_run_playbook(&rx, pt.pre_path, from, to, err) < 0)
				goto out;
			rx.step = false;
		}
		jobs_run_pool(&rx, from, to);
		if (pt.post_path != NULL) {
			/* Hosts that failed to patch get no post step (they are not uncordoned).
			 */
			for (size_t i = from; i < to; i++) {
				const json_t *t = json_array_get(rx.targets, i);
				_cleanup_json_ json_t *it = job_get(job_id(job));
				size_t k;
				json_t *x;
				json_array_foreach(json_object_get(it, "items"), k,
				    x) if (strcmp(jobs_run_str(x, "item"),
				               jobs_run_str(t, "name")) == 0 &&
				    strcmp(jobs_run_str(x, "state"), "success") != 0 &&
				    !json_object_get(rx.pb_errors, jobs_run_str(t, "name")))
				    json_object_set_new(rx.pb_errors, jobs_run_str(t, "name"),
				        json_string("not patched"));
			}
			job_printf(job, "post step (%s)\n", jobs_run_str(p, "post"));
			rx.step = true;
			size_t before = json_object_size(rx.pb_errors);
			if (jobs_run_playbook(&rx, pt.post_path, from, to, err) < 0)
				goto out;
			rx.step = false;
			/* A host whose post step failed is failed. */
			if (json_object_size(rx.pb_errors) > before) {
				for (size_t i = from; i < to; i++) {
					const json_t *t = json_array_get(rx.targets, i);
					const char *n = jobs_run_str(t, "name");
					_cleanup_json_ json_t *job1 = job_get(job_id(job));
					size_t k;
					json_t *x;
					json_array_foreach(json_object_get(job1, "items"), k,
					    x) if (strcmp(jobs_run_str(x, "item"), n) == 0 &&
					    strcmp(jobs_run_str(x, "state"), "success") == 0 &&
					    json_object_get(rx.pb_errors, n))
					{
						json_t *d =
						    json_deep_copy(json_object_get(x, "data"));
						json_object_set(
						    d, "error", json_object_get(rx.pb_errors, n));
						job_item_set(job, n, "failed", d);
						json_decref(d);
						rx.ok--;
						rx.failed++;
					}
				}
			}
		}
		from = to;
		jobs_run_threshold(&rx, from, total);
	}
	rc = jobs_run_finish(&rx, total, err);
out:
	if (rx.dir != NULL) {
		nftw(rx.dir, jobs_run_rm, 8, FTW_DEPTH | FTW_PHYS);
		free(rx.dir);
	}
	cron_free(pt.window);
	free(pt.pre_path);
	free(pt.post_path);
	free(rx.known_hosts);
	free(rx.task);
	json_decref(rx.targets);
	json_decref(rx.pb_errors);
	pthread_mutex_destroy(&rx.lock);
	pthread_mutex_destroy(&rx.store_lock);
	return rc;
}

/* A run may wait days for its window: the daemon's default job timeout must not end it. */
static const struct job_kind patch_kind = {
    .name = "patch_run",
    .run = patch_run,
    .timeout = 8 * 86400,
};

/* Register the patch_run job kind. */
void
jobs_patch_register(void)
{
	job_kind_register(&patch_kind);
}

/* Check a patch run request (the selection is resolved when the run starts). */
int
jobs_patch_params(const json_t *body, json_t **ret, json_t *invalid, struct dr_error *err)
{
	static const char *const keys[] = {"errata", "search", "hostgroup", "hosts", "batch_size",
	    "batch_percent", "concurrency", "max_fail_percent", "timeout", "become", "become_user",
	    "become_method", "window", "pre", "post", "reboot", "reboot_command",
	    "reboot_timeout"};
	struct jobs_run probe = {0};
	struct patch pt = {0};
	_cleanup_json_ json_t *targets = NULL;
	const char *k;
	json_t *v, *p;

	json_object_foreach((json_t *)body, k, v)
	{
		bool known = false;
		for (size_t i = 0; i < nitems(keys); i++)
			known |= strcmp(k, keys[i]) == 0;
		if (!known && strcmp(k, "schedule") != 0)
			json_object_set_new(invalid, k, json_string("unknown field"));
	}
	if (json_object_size(invalid) > 0)
		return dr_error_set(err, "unknown fields");
	if (jobs_run_settings(body, &probe, err) < 0 || patch_settings(body, &pt, err) < 0) {
		char field[64];
		cron_free(pt.window);
		snprintf(field, sizeof field, "%.*s", (int)strcspn(err->msg, ":"), err->msg);
		json_object_set_new(invalid, field,
		    json_string(strchr(err->msg, ':') ? strchr(err->msg, ':') + 2 : err->msg));
		return -1;
	}
	cron_free(pt.window);
	for (const char *const *s = (const char *const[]){"pre", "post", NULL}; *s; s++) {
		const char *name = jobs_run_str(body, *s);
		_cleanup_free_ char *copy = name ? xstrdup(name) : NULL;
		if (copy == NULL)
			continue;
		copy[strcspn(copy, "@")] = '\0';
		_cleanup_json_ json_t *pb = jobs_library_get(copy, 0);
		if (pb == NULL) {
			json_object_set_new(
			    invalid, *s, json_string("no such playbook in the library"));
			return dr_error_set(err, "%s: no playbook '%s' in the library", *s, name);
		}
	}
	if (jobs_targets_select(body, &targets, err) < 0) {
		json_object_set_new(invalid, json_object_get(body, "search") ? "search" : "hosts",
		    json_string(err->msg));
		return -1;
	}
	if (json_array_size(targets) == 0 && !json_object_get(body, "schedule")) {
		json_object_set_new(invalid, json_object_get(body, "search") ? "search" : "hosts",
		    json_string("matches no host"));
		return dr_error_set(err, "the selection matches no host");
	}
	p = json_deep_copy(body);
	json_object_del(p, "schedule");
	*ret = p;
	return 0;
}
