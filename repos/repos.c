/*
 * repos.c - the content subsystem's tables, job kinds and start-up: products,
 * repositories, content units (packages, errata), immutable repository versions with the
 * metadata files published for each, content views, lifecycle environments.
 */
#define LOG_COMPONENT "repos"
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "repos/repos.h"

/*
 * Units are shared across repositories and versions: a package is keyed by its checksum
 * and location (the path it is published at), an erratum by its id and the digest of its
 * text. A version lists its units; its published metadata files are rows pointing into
 * the pool. Nothing in a version changes after it is made.
 */
static const struct store_migration repos_migrations[] = {
    {"repos", 1,
        "CREATE TABLE repo_products ("
        " id INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL UNIQUE,"
        " description TEXT NOT NULL DEFAULT '',"
        " created_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL);"
        "CREATE TABLE repo_repositories ("
        " id INTEGER PRIMARY KEY,"
        " product_id INTEGER NOT NULL REFERENCES repo_products(id),"
        " name TEXT NOT NULL UNIQUE,"
        " type TEXT NOT NULL,"
        " url TEXT NOT NULL,"
        " distribution TEXT,"
        " components TEXT,"
        " architectures TEXT,"
        " gpg_key TEXT,"
        " errata_url TEXT,"
        " download_policy TEXT NOT NULL,"
        " mirroring_policy TEXT NOT NULL,"
        " include_patterns TEXT NOT NULL DEFAULT '[]',"
        " exclude_patterns TEXT NOT NULL DEFAULT '[]',"
        " retain_versions INTEGER NOT NULL DEFAULT 0,"
        " download_concurrency INTEGER NOT NULL DEFAULT 8,"
        " bandwidth_limit INTEGER NOT NULL DEFAULT 0,"
        " upstream_checksum TEXT,"
        " latest_version_id INTEGER,"
        " last_sync_at INTEGER,"
        " last_sync_state TEXT,"
        " last_sync_error TEXT,"
        " created_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL);"
        "CREATE TABLE repo_units ("
        " id INTEGER PRIMARY KEY,"
        " type TEXT NOT NULL,"
        " checksum_type TEXT NOT NULL,"
        " checksum TEXT NOT NULL,"
        " location TEXT NOT NULL,"
        " sha256 TEXT,"
        " name TEXT NOT NULL,"
        " epoch TEXT NOT NULL,"
        " version TEXT NOT NULL,"
        " release TEXT NOT NULL,"
        " arch TEXT NOT NULL,"
        " size INTEGER NOT NULL,"
        " source TEXT,"
        " component TEXT,"
        " meta TEXT NOT NULL,"
        " filelists TEXT,"
        " other TEXT,"
        " UNIQUE (type, checksum, location));"
        "CREATE INDEX repo_units_location ON repo_units (location);"
        "CREATE INDEX repo_units_sha256 ON repo_units (sha256);"
        "CREATE TABLE repo_errata ("
        " id INTEGER PRIMARY KEY,"
        " erratum_id TEXT NOT NULL,"
        " digest TEXT NOT NULL,"
        " type TEXT NOT NULL,"
        " severity TEXT,"
        " title TEXT,"
        " issued_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL,"
        " data TEXT NOT NULL,"
        " xml TEXT,"
        " UNIQUE (erratum_id, digest));"
        "CREATE TABLE repo_versions ("
        " id INTEGER PRIMARY KEY,"
        " repository_id INTEGER NOT NULL REFERENCES repo_repositories(id) ON DELETE CASCADE,"
        " number INTEGER NOT NULL,"
        " cv_version_id INTEGER,"
        " upstream_checksum TEXT,"
        " content_digest TEXT NOT NULL,"
        " package_count INTEGER NOT NULL,"
        " erratum_count INTEGER NOT NULL,"
        " size INTEGER NOT NULL,"
        " created_at INTEGER NOT NULL);"
        "CREATE INDEX repo_versions_repository ON repo_versions (repository_id);"
        "CREATE TABLE repo_version_units ("
        " version_id INTEGER NOT NULL REFERENCES repo_versions(id) ON DELETE CASCADE,"
        " unit_id INTEGER NOT NULL REFERENCES repo_units(id),"
        " PRIMARY KEY (version_id, unit_id));"
        "CREATE INDEX repo_version_units_unit ON repo_version_units (unit_id);"
        "CREATE TABLE repo_version_errata ("
        " version_id INTEGER NOT NULL REFERENCES repo_versions(id) ON DELETE CASCADE,"
        " erratum_id INTEGER NOT NULL REFERENCES repo_errata(id),"
        " PRIMARY KEY (version_id, erratum_id));"
        "CREATE TABLE repo_version_upstream ("
        " version_id INTEGER NOT NULL REFERENCES repo_versions(id) ON DELETE CASCADE,"
        " path TEXT NOT NULL,"
        " type TEXT NOT NULL,"
        " sha256 TEXT NOT NULL,"
        " size INTEGER NOT NULL,"
        " data TEXT,"
        " PRIMARY KEY (version_id, path));"
        "CREATE TABLE repo_version_files ("
        " version_id INTEGER NOT NULL REFERENCES repo_versions(id) ON DELETE CASCADE,"
        " path TEXT NOT NULL,"
        " sha256 TEXT NOT NULL,"
        " size INTEGER NOT NULL,"
        " PRIMARY KEY (version_id, path));"
        "CREATE TABLE repo_lifecycle_environments ("
        " id INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL UNIQUE,"
        " prior_id INTEGER REFERENCES repo_lifecycle_environments(id),"
        " description TEXT NOT NULL DEFAULT '',"
        " created_at INTEGER NOT NULL);"
        "CREATE TABLE repo_content_views ("
        " id INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL UNIQUE,"
        " description TEXT NOT NULL DEFAULT '',"
        " repositories TEXT NOT NULL DEFAULT '[]',"
        " filters TEXT NOT NULL DEFAULT '[]',"
        " created_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL);"
        "CREATE TABLE repo_cv_versions ("
        " id INTEGER PRIMARY KEY,"
        " content_view_id INTEGER NOT NULL REFERENCES repo_content_views(id) ON DELETE "
        "CASCADE,"
        " major INTEGER NOT NULL,"
        " minor INTEGER NOT NULL,"
        " description TEXT NOT NULL DEFAULT '',"
        " created_at INTEGER NOT NULL,"
        " UNIQUE (content_view_id, major, minor));"
        "CREATE TABLE repo_cv_environments ("
        " content_view_id INTEGER NOT NULL REFERENCES repo_content_views(id) ON DELETE "
        "CASCADE,"
        " environment_id INTEGER NOT NULL REFERENCES repo_lifecycle_environments(id),"
        " cv_version_id INTEGER NOT NULL REFERENCES repo_cv_versions(id),"
        " promoted_at INTEGER NOT NULL,"
        " PRIMARY KEY (content_view_id, environment_id));"
        "INSERT INTO repo_lifecycle_environments (name, prior_id, description, created_at)"
        " VALUES ('Library', NULL, 'where every sync and publish lands', 0);"},
    /* An rpm's filelists and other fragments in tables of their own: a sync adds them
     * with one insert each instead of rewriting the unit's row (and its primary XML)
     * twice. */
    {"repos", 2,
        "CREATE TABLE repo_unit_filelists ("
        " unit_id INTEGER PRIMARY KEY REFERENCES repo_units(id) ON DELETE CASCADE,"
        " xml TEXT NOT NULL);"
        "CREATE TABLE repo_unit_other ("
        " unit_id INTEGER PRIMARY KEY REFERENCES repo_units(id) ON DELETE CASCADE,"
        " xml TEXT NOT NULL);"
        "INSERT INTO repo_unit_filelists (unit_id, xml)"
        " SELECT id, filelists FROM repo_units WHERE filelists IS NOT NULL;"
        "INSERT INTO repo_unit_other (unit_id, xml)"
        " SELECT id, other FROM repo_units WHERE other IS NOT NULL;"
        "ALTER TABLE repo_units DROP COLUMN filelists;"
        "ALTER TABLE repo_units DROP COLUMN other;"},
};

static const struct job_kind repos_job_kinds[] = {
    {"repo_sync", repo_sync_run, 0},
    {"content_view_publish", repo_cv_publish_run, 0},
    {"content_view_promote", repo_cv_promote_run, 0},
    {"repo_orphans_remove", repo_orphans_run, 0},
};

static int (*repos_content_hook)(struct dr_error *err);

/* Set the hook run when what environments serve changed. */
void
repos_content_hook_set(int (*hook)(struct dr_error *err))
{
	repos_content_hook = hook;
}

/* Run the content hook inside job: the content is there either way, so a failure is only
 * reported. */
void
repos_content_changed(struct job *job)
{
	struct dr_error err;
	int64_t t0 = time_mono_us();

	if (repos_content_hook == NULL)
		return;
	dr_error_clear(&err);
	if (repos_content_hook(&err) < 0)
		job_printf(
		    job, "warning: hosts' applicable errata not re-evaluated: %s\n", err.msg);
	else
		job_printf(job, "hosts' applicable errata re-evaluated in %.3f s\n",
		    (double)(time_mono_us() - t0) / 1e6);
}

static pthread_rwlock_t repos_content_rw = PTHREAD_RWLOCK_INITIALIZER;

void
repos_content_lock(struct job *job, bool exclusive)
{
	if (!exclusive)
		pthread_rwlock_rdlock(&repos_content_rw);
	else if (pthread_rwlock_trywrlock(&repos_content_rw) != 0) {
		job_printf(job, "waiting for the running syncs and publications to end\n");
		pthread_rwlock_wrlock(&repos_content_rw);
	}
}

void
repos_content_unlock(void)
{
	pthread_rwlock_unlock(&repos_content_rw);
}

/* Register the tables and job kinds; before store_open. */
void
repos_register(void)
{
	size_t i;

	store_register(repos_migrations, nitems(repos_migrations));
	for (i = 0; i < nitems(repos_job_kinds); i++)
		job_kind_register(&repos_job_kinds[i]);
}

/* Make the pool and the publishing key under state_dir; after store_open. */
int
repos_start(const char *state_dir, struct dr_error *err)
{
	int64_t n = 0;

	if (repo_pool_init(state_dir, err) < 0)
		return -1;
	/* A sync that was running when the daemon died did not finish: say so (its job is
	 * marked interrupted by the queue; the next sync resumes from the pool). */
	if (store_exec("UPDATE repo_repositories SET last_sync_state = 'interrupted'"
	               " WHERE last_sync_state = 'running'",
	        NULL, &n, NULL, err) < 0)
		return -1;
	if (n > 0)
		log_warnx("%lld repository syncs were interrupted", (long long)n);
	return repo_sign_init(state_dir, err);
}

/* Stop what repos_start started (the signing agent). */
void
repos_stop(void)
{
	repo_sign_shutdown();
}

/* The registered formats, chosen by a repository's type. */
static const struct repo_format *const repo_formats[] = {
    &repo_yum_format,
    &repo_apt_format,
};

/* The format called type, or NULL. */
const struct repo_format *
repo_format_find(const char *type)
{
	size_t i;

	for (i = 0; type != NULL && i < nitems(repo_formats); i++)
		if (strcmp(repo_formats[i]->type, type) == 0)
			return repo_formats[i];
	return NULL;
}
