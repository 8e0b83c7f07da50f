/* jobs.c - the jobs subsystem's tables, job kinds and start-up. */
#define LOG_COMPONENT "jobs"
#include "config.h"

#include "jobs/jobs_int.h"
#include "repos/repos.h"

/* clang-format off */
static const struct store_migration jobs_migrations[] = {
	{ "jobs", 1,
	    /* What jobs know about each provisioner host (targets.c). */
	    "CREATE TABLE jobs_host_facets (host_id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
	    " hostgroup TEXT, hostgroups TEXT NOT NULL, os TEXT, ip TEXT, address TEXT NOT NULL,"
	    " port INTEGER NOT NULL, ssh_user TEXT NOT NULL, host_keys TEXT NOT NULL,"
	    " accept_new INTEGER NOT NULL DEFAULT 0, content_view TEXT,"
	    " lifecycle_environment TEXT, playbooks TEXT, updated_at INTEGER NOT NULL,"
	    " synced_at INTEGER NOT NULL);"
	    "CREATE INDEX jobs_host_facets_name ON jobs_host_facets (name);"
	    /* The playbook library (library.c). */
	    "CREATE TABLE jobs_playbooks (id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
	    " version INTEGER NOT NULL, content TEXT NOT NULL, created_at INTEGER NOT NULL,"
	    " created_by TEXT NOT NULL, UNIQUE (name, version));"
	    /* Package profiles and their applicable errata (profile.c). */
	    "CREATE TABLE jobs_host_profiles (host_id INTEGER PRIMARY KEY, format TEXT NOT NULL,"
	    " packages TEXT NOT NULL, package_count INTEGER NOT NULL,"
	    " reboot_required INTEGER NOT NULL, applicable TEXT,"
	    " applicable_count INTEGER NOT NULL, installable_count INTEGER NOT NULL,"
	    " content_ids TEXT, fingerprint TEXT, collected_at INTEGER NOT NULL, job_id INTEGER);"
	    /* Drift reports: the last check-mode run of a host's playbooks. */
	    "CREATE TABLE jobs_drift (host_id INTEGER PRIMARY KEY, drifted INTEGER NOT NULL,"
	    " changes TEXT, checked_at INTEGER NOT NULL, job_id INTEGER);" },
	{ "jobs", 2,
	    /* Sync plans (syncplan.c); each owns the schedule schedule_id. */
	    "CREATE TABLE jobs_sync_plans (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	    " description TEXT NOT NULL DEFAULT '', interval TEXT NOT NULL, cron TEXT NOT NULL,"
	    " tz TEXT NOT NULL, start_at INTEGER NOT NULL, repositories TEXT NOT NULL,"
	    " products TEXT NOT NULL, schedule_id INTEGER, created_at INTEGER NOT NULL,"
	    " updated_at INTEGER NOT NULL);" },
	{ "jobs", 3,
	    /* Git credentials (gitcred.c): username and password sealed (core/secret.c). */
	    "CREATE TABLE jobs_git_credentials (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	    " username TEXT NOT NULL, password TEXT NOT NULL, created_at INTEGER NOT NULL,"
	    " created_by TEXT NOT NULL, updated_at INTEGER NOT NULL,"
	    " updated_by TEXT NOT NULL);" },
};
/* clang-format on */

/* Register the tables and job kinds; before store_open. */
void
jobs_register(void)
{
	store_register(jobs_migrations, nitems(jobs_migrations));
	jobs_remote_register();
	jobs_patch_register();
	jobs_drift_register();
	jobs_syncplan_register();
	repos_content_hook_set(jobs_applicability_changed);
}

/* After store_open: the secret key (git credentials), credentials older versions kept in
 * params moved into it, droverd's SSH identity. */
int
jobs_init(const char *state_dir, struct dr_error *err)
{
	jobs_git_init(state_dir);
	if (secret_init(state_dir, err) < 0 || jobs_gitcred_upgrade(err) < 0)
		return -1;
	return jobs_identity_init(state_dir, err);
}
