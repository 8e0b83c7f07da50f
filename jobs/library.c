/* library.c - the playbook library: named playbooks with numbered, immutable versions. */
#define LOG_COMPONENT "jobs"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobs/jobs.h"
#include "playbooks/playbooks.h"

/* Check that text loads as a playbook: written to a private file and loaded. */
int
jobs_library_check(const char *what, const char *text, struct dr_error *err)
{
	char dir[] = "/tmp/drover-pbcheck-XXXXXX";
	_cleanup_free_ char *path = NULL;
	struct playbook *pb = NULL;
	int r;

	if (strlen(text) > JOBS_PLAYBOOK_MAX)
		return dr_error_set(err, "%s: larger than %d bytes", what, JOBS_PLAYBOOK_MAX);
	if (mkdtemp(dir) == NULL)
		return dr_error_errno(err, "temporary directory");
	path = xasprintf("%s/%s", dir, what);
	r = file_write_atomic(path, text, strlen(text), 0600, err);
	if (r == 0)
		r = playbook_load(path, NULL, &pb, err);
	playbook_free(pb);
	(void)unlink(path);
	(void)rmdir(dir);
	return r;
}

/* A playbook name: letters, digits, '.', '_', '-', at most JOBS_PLAYBOOK_NAME_MAX. */
static bool
jobs_library_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	return n > 0 && n <= JOBS_PLAYBOOK_NAME_MAX && name[0] != '.' && name[0] != '-' &&
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* Add a version. */
int
jobs_library_add(const char *name, const char *text, const char *user, json_t **ret,
    json_t *invalid, struct dr_error *err)
{
	_cleanup_json_ json_t *last = NULL;
	int64_t version;

	if (!jobs_library_name_ok(name)) {
		json_object_set_new(invalid, "name",
		    json_string("expected letters, digits, '.', '_' and '-' (at most 128)"));
		return dr_error_set(err, "name: not a playbook name");
	}
	if (text == NULL) {
		json_object_set_new(
		    invalid, "content", json_string("the playbook's YAML is required"));
		return dr_error_set(err, "content: required");
	}
	if (jobs_library_check(name, text, err) < 0) {
		json_object_set_new(invalid, "content", json_string(err->msg));
		return -1;
	}
	if (store_begin(err) < 0)
		return -1;
	last = store_query_one(err,
	    "SELECT version, content FROM jobs_playbooks WHERE name = ?"
	    " ORDER BY version DESC LIMIT 1",
	    "[s]", name);
	if (last == NULL && err->msg[0]) {
		store_rollback();
		return -1;
	}
	version = last ? json_integer_value(json_object_get(last, "version")) : 0;
	if (last == NULL ||
	    strcmp(json_string_value(json_object_get(last, "content")), text) != 0) {
		version++;
		if (store_execf(NULL, NULL, err,
		        "INSERT INTO jobs_playbooks (name, version, content, created_at, "
		        "created_by)"
		        " VALUES (?, ?, ?, ?, ?)",
		        "[sIsIs]", name, (json_int_t)version, text, (json_int_t)time(NULL),
		        user ? user : "") < 0) {
			store_rollback();
			return -1;
		}
	}
	if (store_commit(err) < 0)
		return -1;
	if (ret != NULL)
		*ret = jobs_library_get(name, version);
	return 0;
}

/* Every playbook with its latest version. */
int
jobs_library_list(json_t **ret, struct dr_error *err)
{
	return store_queryf(ret, err,
	    "SELECT p.name AS name, p.version AS version, p.created_at AS created_at,"
	    " p.created_by AS created_by FROM jobs_playbooks p WHERE p.version ="
	    " (SELECT MAX(version) FROM jobs_playbooks q WHERE q.name = p.name) ORDER BY p.name",
	    NULL);
}

/* A version (0 = latest) with its text. */
json_t *
jobs_library_get(const char *name, int64_t version)
{
	if (version > 0)
		return store_query_one(NULL,
		    "SELECT name, version, content, created_at, created_by FROM jobs_playbooks"
		    " WHERE name = ? AND version = ?",
		    "[sI]", name, (json_int_t)version);
	return store_query_one(NULL,
	    "SELECT name, version, content, created_at, created_by FROM jobs_playbooks"
	    " WHERE name = ? ORDER BY version DESC LIMIT 1",
	    "[s]", name);
}

/* The versions of a playbook, newest first. */
json_t *
jobs_library_versions(const char *name)
{
	json_t *rows = NULL;

	if (store_queryf(&rows, NULL,
	        "SELECT version, created_at, created_by FROM jobs_playbooks WHERE name = ?"
	        " ORDER BY version DESC",
	        "[s]", name) < 0)
		return NULL;
	if (json_array_size(rows) == 0) {
		json_decref(rows);
		return NULL;
	}
	return rows;
}
