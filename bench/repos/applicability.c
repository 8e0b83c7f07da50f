/*
 * applicability.c - errata applicability at scale: HOSTS hosts sharing PROFILES distinct
 * package profiles of PACKAGES packages, against ERRATA errata in one repository version,
 * through repos/errata.c as droverd runs it (a real store in a temporary directory).
 * A profile's hash is computed when it is uploaded, so it is timed apart.
 *
 *   applicability [HOSTS] [PROFILES] [PACKAGES] [ERRATA]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/core.h"
#include "repos/repos.h"

#define NAMES 3000

int
main(int argc, char **argv)
{
	int hosts = argc > 1 ? atoi(argv[1]) : 10000, nprof = argc > 2 ? atoi(argv[2]) : 2000;
	int npkg = argc > 3 ? atoi(argv[3]) : 800, nerr = argc > 4 ? atoi(argv[4]) : 5000;
	char dir[] = "/tmp/drover-applicability-XXXXXX", (*hashes)[65];
	json_t **profiles, *cache = json_object(), *ids = json_pack("[i]", 1);
	struct repo_applicability *a;
	struct dr_error err;
	struct rusage ru;
	int64_t t0, t1, t2, t3, applicable = 0, vid;
	int i, k;

	log_init("bench", false, LOG_WARNING);
	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp");
	repos_register();
	if (store_open(dir, &err) < 0 || store_begin(&err) < 0)
		fatalx("%s", err.msg);
	store_execf(NULL, NULL, &err,
	    "INSERT INTO repo_products (name, created_at, updated_at) VALUES ('b', 0, 0)", NULL);
	store_execf(NULL, NULL, &err,
	    "INSERT INTO repo_repositories (product_id, name, type, url, download_policy,"
	    " mirroring_policy, created_at, updated_at) VALUES (1, 'r', 'yum', 'http://x/',"
	    " 'immediate', 'additive', 0, 0)",
	    NULL);
	store_execf(NULL, &vid, &err,
	    "INSERT INTO repo_versions (repository_id, number, content_digest, package_count,"
	    " erratum_count, size, created_at) VALUES (1, 1, 'x', 0, 0, 0, 0)",
	    NULL);
	/* Erratum e fixes pkg(e % NAMES) at 2.(e / NAMES)-1; the content has 2.1-1 of each. */
	for (i = 0; i < nerr; i++) {
		_cleanup_free_ char *name = xasprintf("pkg%04d", i % NAMES);
		_cleanup_free_ char *id = xasprintf("BENCH-%05d", i);
		_cleanup_free_ char *ver = xasprintf("2.%d", i / NAMES);
		_cleanup_json_ json_t *data =
		    json_pack("{s:[{s:s, s:s, s:s, s:s, s:s}]}", "packages", "name", name, "epoch",
		        "0", "version", ver, "release", "1", "arch", "x86_64");
		_cleanup_free_ char *text = json_dumps(data, JSON_COMPACT);
		int64_t eid;

		if (store_execf(NULL, &eid, &err,
		        "INSERT INTO repo_errata (erratum_id, digest, type, severity, title,"
		        " issued_at, updated_at, data) VALUES (?, ?, 'security', 'Important', ?, "
		        "0,"
		        " 0, ?)",
		        "[ssss]", id, id, id, text) < 0 ||
		    store_execf(NULL, NULL, &err,
		        "INSERT INTO repo_version_errata (version_id, erratum_id) VALUES (?, ?)",
		        "[II]", (json_int_t)vid, (json_int_t)eid) < 0)
			fatalx("%s", err.msg);
	}
	for (i = 0; i < NAMES; i++) {
		_cleanup_free_ char *name = xasprintf("pkg%04d", i);
		_cleanup_free_ char *sum = xasprintf("%064d", i);
		int64_t uid;

		if (store_execf(NULL, &uid, &err,
		        "INSERT INTO repo_units (type, checksum_type, checksum, location, name, "
		        "epoch,"
		        " version, release, arch, size, meta) VALUES ('rpm', 'sha256', ?, ?, ?, "
		        "'0',"
		        " '2.1', '1', 'x86_64', 1, '')",
		        "[sss]", sum, name, name) < 0 ||
		    store_execf(NULL, NULL, &err,
		        "INSERT INTO repo_version_units (version_id, unit_id) VALUES (?, ?)",
		        "[II]", (json_int_t)vid, (json_int_t)uid) < 0)
			fatalx("%s", err.msg);
	}
	if (store_commit(&err) < 0)
		fatalx("%s", err.msg);

	/* Profiles: PACKAGES distinct names each; one in ten older than the fixes. */
	profiles = xcalloc((size_t)nprof, sizeof *profiles);
	hashes = xcalloc((size_t)nprof, sizeof *hashes);
	for (i = 0; i < nprof; i++) {
		profiles[i] = json_array();
		for (k = 0; k < npkg; k++) {
			char name[16], ver[16];
			snprintf(name, sizeof name, "pkg%04d", (i * 7 + k * 13) % NAMES);
			snprintf(ver, sizeof ver, (i + k) % 10 == 0 ? "1.%d" : "3.0", (i + k) % 3);
			json_array_append_new(profiles[i],
			    json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", name, "epoch", "0",
			        "version", ver, "release", "1", "arch", "x86_64"));
		}
	}
	t0 = time_mono_us();
	for (i = 0; i < nprof; i++)
		repo_applicability_profile_hash(profiles[i], hashes[i]);
	t1 = time_mono_us();
	if (repo_applicability_load(ids, "yum", &a, &err) < 0)
		fatalx("%s", err.msg);
	t2 = time_mono_us();
	for (i = 0; i < hosts; i++) {
		int p = i % nprof;
		json_t *r = json_object_get(cache, hashes[p]);

		if (r == NULL) {
			if (repo_applicability_eval(a, profiles[p], true, &r, &err) < 0)
				fatalx("%s", err.msg);
			json_object_set_new(cache, hashes[p], r);
		}
		applicable += (int64_t)json_array_size(json_object_get(r, "applicable"));
	}
	t3 = time_mono_us();
	getrusage(RUSAGE_SELF, &ru);
	printf("hosts %d, distinct profiles %d of %d packages, errata %d\n", hosts, nprof, npkg,
	    nerr);
	printf("hashing the profiles at upload: %.2f s\n", (double)(t1 - t0) / 1e6);
	printf("loading the content: %.2f s\n", (double)(t2 - t1) / 1e6);
	printf("applicability for every host: %.2f s (%lld applicable host-erratum pairs)\n",
	    (double)(t3 - t2) / 1e6, (long long)applicable);
	printf("peak RSS: %ld MB\n", ru.ru_maxrss / 1024);
	repo_applicability_free(a);
	for (i = 0; i < nprof; i++)
		json_decref(profiles[i]);
	free(profiles);
	free(hashes);
	json_decref(cache);
	json_decref(ids);
	store_close();
	{
		_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return 0;
}
