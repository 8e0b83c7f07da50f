/*
 * job.c - droverd's `playbook` job kind: the same engine as `drover play`, its JSON events
 * streamed as the job's output, each host's recap as a job item.
 *
 * Params: playbook (a path on the droverd host) or playbook_yaml (the playbook's text);
 * inventory (a path, a comma list, or "droverd:" for droverd's own hosts and hostgroups)
 * or inventory_text (INI, or YAML when it parses as a mapping); extra_vars (object), limit, tags,
 * skip_tags (strings), check, diff (booleans), forks (integer). Operators can run anything a
 * playbook can: commands run as droverd's user on its own host with `connection: local`, and as
 * the inventory's users elsewhere.
 */
#include "config.h"

#define LOG_COMPONENT "playbooks"
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "playbooks/playbooks.h"

#define PLAYBOOK_JOB_TEXT_MAX (4u << 20) /* inline playbook or inventory text */

struct playbook_job {
	struct job *job;
	volatile int cancel;
	json_t *recap;
};

/* Each event: one JSON line of output; the recap also becomes items and the result. */
static void
playbook_job_event(void *ctx, const json_t *ev)
{
	struct playbook_job *pj = ctx;
	char *line = json_dumps(ev, JSON_COMPACT | JSON_ENCODE_ANY);

	if (line) {
		job_printf(pj->job, "%s\n", line);
		free(line);
	}
	if (strcmp(json_string_value(json_object_get(ev, "event")), "recap") == 0) {
		const char *h;
		json_t *s;
		json_object_foreach(json_object_get(ev, "hosts"), h, s)
		{
			const char *state = json_integer_value(json_object_get(s, "unreachable"))
			    ? "unreachable"
			    : json_integer_value(json_object_get(s, "failed"))  ? "failed"
			    : json_integer_value(json_object_get(s, "changed")) ? "changed"
			                                                        : "ok";
			job_item_set(pj->job, h, state, s);
		}
		json_decref(pj->recap);
		pj->recap = json_incref(json_object_get(ev, "hosts"));
	}
	if (job_cancelled(pj->job))
		pj->cancel = 1;
}

static int
playbook_job_rm(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

/* A text param written to dir/name; NULL when absent. */
static char *
playbook_job_file(
    const json_t *params, const char *key, const char *dir, const char *name, struct dr_error *err)
{
	const json_t *v = json_object_get(params, key);
	char *path;

	if (!v)
		return NULL;
	if (!json_is_string(v) || json_string_length(v) > PLAYBOOK_JOB_TEXT_MAX) {
		dr_error_set(
		    err, "%s: expected text of at most %u bytes", key, PLAYBOOK_JOB_TEXT_MAX);
		return NULL;
	}
	path = xasprintf("%s/%s", dir, name);
	if (file_write_atomic(path, json_string_value(v), json_string_length(v), 0600, err) < 0) {
		free(path);
		return NULL;
	}
	return path;
}

/* Run the job. */
static int
playbook_job_run(struct job *job, struct dr_error *err)
{
	const json_t *params = job_params(job);
	struct playbook_job pj = {.job = job};
	struct play_opts o = {.event = playbook_job_event, .event_ctx = &pj, .cancel = &pj.cancel};
	struct inventory inv;
	struct playbook *pb = NULL;
	char tmpl[] = "/tmp/drover-playbook-XXXXXX";
	char *dir = NULL, *pbpath = NULL, *invpath = NULL;
	json_t *extra = json_object();
	int rc = -1, prc;

	inventory_init(&inv);
	vars_init();
	if (!json_is_object(params)) {
		dr_error_set(err, "params: expected an object");
		goto out;
	}
	static const char *const strs[] = {"playbook", "inventory", "limit", "tags", "skip_tags"};
	for (size_t i = 0; i < nitems(strs); i++) {
		const json_t *v = json_object_get(params, strs[i]);
		if (v && !json_is_string(v)) {
			dr_error_set(err, "params.%s: expected a string", strs[i]);
			goto out;
		}
	}
	if (!(dir = mkdtemp(tmpl))) {
		dr_error_errno(err, "temporary directory");
		goto out;
	}
	pbpath = playbook_job_file(params, "playbook_yaml", dir, "playbook.yml", err);
	if (!pbpath && err->msg[0])
		goto out;
	if (!pbpath && json_is_string(json_object_get(params, "playbook")))
		pbpath = xstrdup(json_string_value(json_object_get(params, "playbook")));
	if (!pbpath) {
		dr_error_set(
		    err, "params: playbook (a path) or playbook_yaml (its text) is required");
		goto out;
	}
	if (json_object_get(params, "inventory_text")) {
		const char *t = json_string_value(json_object_get(params, "inventory_text"));
		json_t *probe = NULL;
		bool yaml = t &&
		    yaml_load_string("inventory", t, strlen(t), 0, &probe, NULL, NULL) == 0 &&
		    json_is_object(probe);
		json_decref(probe);
		invpath = playbook_job_file(
		    params, "inventory_text", dir, yaml ? "inventory.yml" : "inventory", err);
		if (!invpath)
			goto out;
	} else if (json_is_string(json_object_get(params, "inventory")))
		invpath = xstrdup(json_string_value(json_object_get(params, "inventory")));
	if (!invpath) {
		dr_error_set(err,
		    "params: inventory (a path or a comma list) or inventory_text is required");
		goto out;
	}
	if (json_is_object(json_object_get(params, "extra_vars")))
		json_object_update(extra, json_object_get(params, "extra_vars"));
	o.extra_vars = extra;
	o.limit = json_string_value(json_object_get(params, "limit"));
	o.tags = json_string_value(json_object_get(params, "tags"));
	o.skip_tags = json_string_value(json_object_get(params, "skip_tags"));
	o.check = json_is_true(json_object_get(params, "check"));
	o.diff = json_is_true(json_object_get(params, "diff"));
	o.forks = (int)json_integer_value(json_object_get(params, "forks"));
	if (playbook_load(pbpath, NULL, &pb, err) < 0)
		goto out;
	if (strcmp(invpath, INVENTORY_DROVERD_SOURCE) == 0) {
		/* droverd's own hosts and hostgroups */
		json_t *doc = NULL;
		if (inventory_droverd_export(&doc, err) < 0)
			goto out;
		int lr = inventory_doc_load(&inv, "droverd", doc, err);
		json_decref(doc);
		if (lr < 0)
			goto out;
	} else if (inventory_load(&inv, invpath, err) < 0)
		goto out;
	if (inventory_vars_load(&inv, playbook_dir(pb), err) < 0)
		goto out;
	prc = play_run(pb, &inv, &o, err);
	job_result_set(
	    job, json_pack("{s:i,s:O}", "rc", prc, "recap", pj.recap ? pj.recap : json_null()));
	if (pj.cancel)
		rc = dr_error_set(err, "cancelled");
	else if (prc == PLAY_RC_OK)
		rc = 0;
	else if (prc == PLAY_RC_FAILED || prc == PLAY_RC_UNREACHABLE)
		dr_error_set(err, "the playbook %s (exit code %d)",
		    prc == PLAY_RC_FAILED ? "failed on a host" : "could not reach a host", prc);
out:
	playbook_free(pb);
	inventory_free(&inv);
	json_decref(extra);
	json_decref(pj.recap);
	if (dir)
		nftw(dir, playbook_job_rm, 8, FTW_DEPTH | FTW_PHYS);
	free(pbpath);
	free(invpath);
	return rc;
}

static const struct job_kind playbook_job_kind = {
    .name = "playbook",
    .run = playbook_job_run,
};

/* Register the playbook job kind (droverd, before the store opens). Ansible's filters go
 * into the template engine's table now, while droverd has one thread: registering them
 * from a job thread would grow the table under an HTTP thread rendering a page. */
void
playbook_job_register(void)
{
	job_kind_register(&playbook_job_kind);
	vars_init();
}
