/*
 * profile.c - package profiles: what a host has installed (dpkg or rpm) and whether it
 * waits for a reboot, collected in one round trip at the end of every job on the host,
 * stored, and evaluated against the content the host is bound to (its parameters
 * content_view and lifecycle_environment) with the repos subsystem's applicability.
 */
#define LOG_COMPONENT "jobs"
#include "config.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"
#include "playbooks/playbooks.h"
#include "repos/repos.h"

/*
 * The packages, then whether a reboot is wanted. The package database's fingerprint (mtime
 * and size) comes first: when it equals the one stored ($known, set before the script),
 * the package list is not printed again, so a job on many hosts pays for one stat instead
 * of a full listing. dpkg: the four fields of dpkg's status file that matter, as they are
 * (one grep, ~1.5 ms, where dpkg-query spends ~11 ms of CPU parsing every field of every
 * package); droverd keeps what dpkg-query -W would list (jobs_profile_parse). While dpkg's
 * journal (updates/) holds entries not yet folded into the status file, dpkg-query reads
 * both and lists the packages itself. $dpkg_dir is dpkg's admin directory (a test sets it).
 */
static const char jobs_profile_sh[] =
    "if command -v dpkg-query >/dev/null 2>&1; then\n"
    "  : \"${dpkg_dir:=/var/lib/dpkg}\"\n"
    "  fp=$(stat -c %Y.%s \"$dpkg_dir/status\" 2>/dev/null)\n"
    "  printf 'format\tapt\nfingerprint\t%s\n' \"$fp\"\n"
    "  if [ -n \"$fp\" ] && [ \"$fp\" = \"$known\" ]; then echo unchanged; else\n"
    "  journal=; for u in \"$dpkg_dir\"/updates/[0-9]*; do [ -e \"$u\" ] && journal=1; break;"
    " done\n"
    "  if [ -n \"$journal\" ]; then\n"
    "  dpkg-query --admindir=\"$dpkg_dir\" -W -f='dpkg\\t${db:Status-Abbrev}\\t${Package}\\t"
    "${Version}\\t${Architecture}\\n' 2>/dev/null\n"
    "  else LC_ALL=C grep -E '^(Package|Status|Version|Architecture):' \"$dpkg_dir/status\";"
    " fi; fi\n"
    "elif command -v rpm >/dev/null 2>&1; then\n"
    "  fp=$(stat -c %Y.%s /var/lib/rpm/rpmdb.sqlite /var/lib/rpm/Packages 2>/dev/null |"
    " tr '\\n' ' ')\n"
    "  printf 'format\tyum\nfingerprint\t%s\n' \"$fp\"\n"
    "  if [ -n \"$fp\" ] && [ \"$fp\" = \"$known\" ]; then echo unchanged; else\n"
    "  rpm -qa --qf 'pkg\\t%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n'; fi\n"
    "else\n"
    "  printf 'format\tnone\n'\n"
    "fi\n"
    "if [ -e /var/run/reboot-required ]; then printf 'reboot\t1\n'\n"
    "elif command -v needs-restarting >/dev/null 2>&1 && ! needs-restarting -r >/dev/null"
    " 2>&1; then printf 'reboot\t1\n'\n"
    "else printf 'reboot\t0\n'; fi\n";

/* The script (with no fingerprint known: always the full list). */
const char *
jobs_profile_script(void)
{
	return jobs_profile_sh;
}

/* The script told the stored fingerprint (unchanged: only the fingerprint is printed). */
char *
jobs_profile_script_known(const char *fingerprint)
{
	_cleanup_free_ char *known = conn_quote(fingerprint != NULL ? fingerprint : "");
	return xasprintf("known=%s\n%s", known, jobs_profile_sh);
}

/* One stanza of dpkg's status file, as the script's grep prints it. */
struct jobs_dpkg_stanza {
	const char *name, *status, *version, *arch;
};

/* The fields of dpkg's status file the script prints, and where each goes. */
static const struct {
	const char *prefix;
	size_t off;
} jobs_dpkg_fields[] = {
    {"Package:", offsetof(struct jobs_dpkg_stanza, name)},
    {"Status:", offsetof(struct jobs_dpkg_stanza, status)},
    {"Version:", offsetof(struct jobs_dpkg_stanza, version)},
    {"Architecture:", offsetof(struct jobs_dpkg_stanza, arch)},
};

/*
 * Whether dpkg-query -W -f='${db:Status-Abbrev}' would start with "ii" or "hi": the
 * selection (first word of Status) is install or hold and the state (third word) is
 * installed, whatever the error flag (second word) says.
 */
static bool
jobs_dpkg_installed(const char *status)
{
	char want[16], flag[16], state[32];

	if (status == NULL || sscanf(status, "%15s %15s %31s", want, flag, state) != 3)
		return false;
	return (strcmp(want, "install") == 0 || strcmp(want, "hold") == 0) &&
	    strcmp(state, "installed") == 0;
}

/* Append a finished stanza to pkgs when dpkg-query would list it as installed; -1 (err set)
 * past the cap. */
static int
jobs_dpkg_stanza_end(struct jobs_dpkg_stanza *s, json_t *pkgs, struct dr_error *err)
{
	if (s->name != NULL && *s->name && s->version != NULL && *s->version &&
	    jobs_dpkg_installed(s->status)) {
		if (json_array_size(pkgs) >= JOBS_PROFILE_PACKAGES_MAX)
			return dr_error_set(
			    err, "profile: more than %d packages", JOBS_PROFILE_PACKAGES_MAX);
		json_t *p = json_object(), *name = json_string(s->name),
		       *version = json_string(s->version),
		       *arch = json_string(s->arch != NULL ? s->arch : "");
		if (name == NULL || version == NULL || arch == NULL) {
			json_decref(name);
			json_decref(version);
			json_decref(arch);
			json_decref(p);
			return dr_error_set(
			    err, "profile: package %.64s is not UTF-8 text", s->name);
		}
		json_object_set_new_nocheck(p, "name", name);
		json_object_set_new_nocheck(p, "version", version);
		json_object_set_new_nocheck(p, "arch", arch);
		json_array_append_new(pkgs, p);
	}
	memset(s, 0, sizeof *s);
	return 0;
}

/*
 * A line of dpkg's status file ("Field: value"): 1 when it is one of the four fields
 * (its value, trimmed as dpkg-query prints it, recorded in s; a new Package starts a
 * stanza), 0 when it is not, -1 (err set) past the package cap.
 */
static int
jobs_dpkg_line(char *line, struct jobs_dpkg_stanza *s, json_t *pkgs, struct dr_error *err)
{
	for (size_t i = 0; i < nitems(jobs_dpkg_fields); i++) {
		size_t pl = strlen(jobs_dpkg_fields[i].prefix);
		if (strncmp(line, jobs_dpkg_fields[i].prefix, pl) != 0)
			continue;
		if (i == 0 && jobs_dpkg_stanza_end(s, pkgs, err) < 0)
			return -1;
		*(const char **)((char *)s + jobs_dpkg_fields[i].off) = str_trim(line + pl);
		return 1;
	}
	return 0;
}

static int jobs_profile_parse_text(
    const char *text, size_t len, json_t **ret, struct dr_error *err);

/*
 * Package listings parsed lately, most recent first: hosts installed from one image list
 * the same packages, and a job on hundreds of them then parses that listing once. An
 * entry is the listing's exact text (compared whole, so no host can pass its listing
 * off as another's) and its parsed packages, which are shared read-only (host threads
 * take references at once: jansson's reference counts are atomic, JSON_HAVE_ATOMIC_BUILTINS).
 */
#if !(JSON_HAVE_ATOMIC_BUILTINS || JSON_HAVE_SYNC_BUILTINS)
#error "shared parsed profiles need jansson's atomic reference counts (jansson >= 2.11)"
#endif
#define JOBS_PROFILE_SHARED_MAX 4
#define JOBS_PROFILE_SHARED_MIN 4096 /* smaller listings are parsed every time */
struct jobs_profile_listing {
	char *text;
	size_t len;
	json_t *packages;
};
static struct jobs_profile_listing jobs_profile_shared[JOBS_PROFILE_SHARED_MAX];
static pthread_mutex_t jobs_profile_shared_lock = PTHREAD_MUTEX_INITIALIZER;

/* The parsed packages of a listing seen lately (a new reference), or NULL. */
static json_t *
jobs_profile_shared_find(const char *text, size_t len)
{
	json_t *found = NULL;

	pthread_mutex_lock(&jobs_profile_shared_lock);
	for (size_t i = 0; i < JOBS_PROFILE_SHARED_MAX && found == NULL; i++) {
		if (jobs_profile_shared[i].len != len ||
		    memcmp(jobs_profile_shared[i].text, text, len) != 0)
			continue;
		found = json_incref(jobs_profile_shared[i].packages);
		if (i > 0) { /* to the front */
			struct jobs_profile_listing e = jobs_profile_shared[i];
			memmove(&jobs_profile_shared[1], &jobs_profile_shared[0],
			    i * sizeof jobs_profile_shared[0]);
			jobs_profile_shared[0] = e;
		}
	}
	pthread_mutex_unlock(&jobs_profile_shared_lock);
	return found;
}

/* Remember a listing's parsed packages, dropping the least recent one. */
static void
jobs_profile_shared_add(const char *text, size_t len, json_t *packages)
{
	const size_t last = JOBS_PROFILE_SHARED_MAX - 1;

	pthread_mutex_lock(&jobs_profile_shared_lock);
	free(jobs_profile_shared[last].text);
	json_decref(jobs_profile_shared[last].packages);
	memmove(&jobs_profile_shared[1], &jobs_profile_shared[0],
	    last * sizeof jobs_profile_shared[0]);
	jobs_profile_shared[0].text = xmalloc(len);
	memcpy(jobs_profile_shared[0].text, text, len);
	jobs_profile_shared[0].len = len;
	jobs_profile_shared[0].packages = json_incref(packages);
	pthread_mutex_unlock(&jobs_profile_shared_lock);
}

/*
 * Parse the script's output. The package lines (between the fingerprint line and the
 * reboot line) are looked up among the listings parsed lately first; the packages
 * array of the result may then be shared and must not be changed.
 */
int
jobs_profile_parse(const char *text, size_t len, json_t **ret, struct dr_error *err)
{
	const char *end = text + len, *from, *to = NULL, *p;
	json_t *pkgs;

	/* "format\t…\nfingerprint\t…\n" PACKAGES "reboot\t…\n" */
	from = memchr(text, '\n', len);
	from = from != NULL ? memchr(from + 1, '\n', (size_t)(end - from - 1)) : NULL;
	for (p = from; p != NULL && p + 1 < end; p = memchr(p + 1, '\n', (size_t)(end - p - 1)))
		if ((size_t)(end - p - 1) >= 7 && memcmp(p + 1, "reboot\t", 7) == 0)
			to = p + 1;
	if (from == NULL || to == NULL || (size_t)(to - from - 1) < JOBS_PROFILE_SHARED_MIN ||
	    !str_has_prefix(text, "format\t"))
		return jobs_profile_parse_text(text, len, ret, err);
	from++;
	if ((pkgs = jobs_profile_shared_find(from, (size_t)(to - from))) != NULL) {
		/* Only the header and the reboot line are left to read. */
		struct buf rest = BUF_INIT(0);
		buf_add(&rest, text, (size_t)(from - text));
		buf_add(&rest, to, (size_t)(end - to));
		int r = jobs_profile_parse_text(rest.data, rest.len, ret, err);
		buf_free(&rest);
		if (r == 0)
			json_object_set(*ret, "packages", pkgs);
		json_decref(pkgs);
		return r;
	}
	if (jobs_profile_parse_text(text, len, ret, err) < 0)
		return -1;
	if ((pkgs = json_object_get(*ret, "packages")) != NULL)
		jobs_profile_shared_add(from, (size_t)(to - from), pkgs);
	return 0;
}

/* Parse the script's output, all of it. */
static int
jobs_profile_parse_text(const char *text, size_t len, json_t **ret, struct dr_error *err)
{
	_cleanup_free_ char *copy = xstrndup(text, len);
	_cleanup_json_ json_t *pkgs = json_array();
	struct jobs_dpkg_stanza st = {0};
	const char *format = NULL, *fp = "";
	char *line, *save = NULL;
	int reboot = -1, n = 0, r;
	bool unchanged = false;

	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[6] = {0};
		int nf = 0;
		n++;
		if (*line >= 'A' && *line <= 'Z') {
			if ((r = jobs_dpkg_line(line, &st, pkgs, err)) < 0)
				return -1;
			if (r == 1)
				continue;
		} else if (st.name != NULL && jobs_dpkg_stanza_end(&st, pkgs, err) < 0)
			return -1;
		for (char *p = line; nf < 6; nf++) {
			f[nf] = p;
			char *tab = strchr(p, '\t');
			if (tab == NULL) {
				nf++;
				break;
			}
			*tab = '\0';
			p = tab + 1;
		}
		if (strcmp(f[0], "format") == 0 && nf == 2) {
			format = strcmp(f[1], "apt") == 0 ? "apt"
			    : strcmp(f[1], "yum") == 0    ? "yum"
			                                  : "none";
		} else if (strcmp(f[0], "fingerprint") == 0 && nf == 2) {
			fp = f[1];
		} else if (strcmp(f[0], "unchanged") == 0 && nf == 1) {
			unchanged = true;
		} else if (strcmp(f[0], "reboot") == 0 && nf == 2) {
			reboot = strcmp(f[1], "1") == 0;
		} else if ((strcmp(f[0], "pkg") == 0 && nf == 6 && *f[1] && *f[3]) ||
		    (strcmp(f[0], "dpkg") == 0 && nf == 5 && *f[2] && *f[3])) {
			bool deb = f[0][0] == 'd';
			if (deb && strncmp(f[1], "ii", 2) != 0 && strncmp(f[1], "hi", 2) != 0)
				continue; /* removed, config-files only, half-installed */
			if (json_array_size(pkgs) >= JOBS_PROFILE_PACKAGES_MAX)
				return dr_error_set(err, "profile: more than %d packages",
				    JOBS_PROFILE_PACKAGES_MAX);
			json_t *p = deb ? json_pack("{s:s, s:s, s:s}", "name", f[2], "version",
			                      f[3], "arch", f[4])
			                : json_pack("{s:s, s:s, s:s}", "name", f[1], "version",
			                      f[3], "arch", f[5]);
			if (!deb && *f[2] && strcmp(f[2], "0") != 0)
				json_object_set_new(p, "epoch", json_string(f[2]));
			if (!deb && *f[4])
				json_object_set_new(p, "release", json_string(f[4]));
			json_array_append_new(pkgs, p);
		} else {
			return dr_error_set(
			    err, "profile: line %d is not what the script prints", n);
		}
	}
	if (jobs_dpkg_stanza_end(&st, pkgs, err) < 0)
		return -1;
	if (format == NULL || reboot < 0)
		return dr_error_set(err, "profile: the script's output is incomplete");
	*ret = json_pack("{s:s, s:s, s:b, s:b}", "format", format, "fingerprint", fp,
	    "reboot_required", reboot, "unchanged", unchanged);
	if (!unchanged)
		json_object_set(*ret, "packages", pkgs);
	return 0;
}

/* Collect over c and store. */
int
jobs_profile_collect(struct conn *c, int64_t host_id, int64_t job_id, struct dr_error *err)
{
	struct conn_result res = {0};
	_cleanup_json_ json_t *profile = NULL;
	int r = -1;

	_cleanup_json_ json_t *had =
	    store_query_one(NULL, "SELECT fingerprint FROM jobs_host_profiles WHERE host_id = ?",
	        "[I]", (json_int_t)host_id);
	_cleanup_free_ char *script =
	    jobs_profile_script_known(json_string_value(json_object_get(had, "fingerprint")));
	if (conn_exec(c, "/bin/sh -s", script, strlen(script), 120, &res, err) < 0)
		return -1;
	if (res.status != 0) {
		dr_error_set(
		    err, "the profile script exited with %d: %.200s", res.status, res.err);
		goto out;
	}
	if (res.out_len > JOBS_PROFILE_MAX) {
		dr_error_set(err, "profile: more than %u bytes", JOBS_PROFILE_MAX);
		goto out;
	}
	if (jobs_profile_parse(res.out, res.out_len, &profile, err) < 0)
		goto out;
	r = jobs_profile_store(host_id, job_id, profile, err);
out:
	conn_result_free(&res);
	return r;
}

/* The repository versions served for content view cv in environment env (both may be
 * NULL: none; "default" in "Library" is every repository's latest version, as the
 * publication serves it), with the format to compare versions by. */
int
jobs_content_versions(
    const char *cv, const char *env, json_t **ret, const char **ret_type, struct dr_error *err)
{
	_cleanup_json_ json_t *rows = NULL;
	json_t *ids = json_array(), *row;
	size_t i;
	int r = 0;

	*ret_type = "yum";
	if (cv != NULL && env != NULL && strcmp(cv, "default") == 0 && strcmp(env, "Library") == 0)
		r = store_queryf(&rows, err,
		    "SELECT r.latest_version_id AS id, r.type AS type FROM repo_repositories r"
		    " WHERE r.latest_version_id IS NOT NULL ORDER BY r.latest_version_id",
		    NULL);
	else if (cv != NULL && env != NULL)
		r = store_queryf(&rows, err,
		    "SELECT v.id AS id, r.type AS type FROM repo_versions v"
		    " JOIN repo_cv_environments ce ON ce.cv_version_id = v.cv_version_id"
		    " JOIN repo_content_views c ON c.id = ce.content_view_id"
		    " JOIN repo_lifecycle_environments e ON e.id = ce.environment_id"
		    " JOIN repo_repositories r ON r.id = v.repository_id"
		    " WHERE c.name = ? AND e.name = ? ORDER BY v.id",
		    "[ss]", cv, env);
	if (r < 0) {
		json_decref(ids);
		return -1;
	}
	json_array_foreach(rows, i, row)
	{
		if (json_integer_value(json_object_get(row, "id")) <= 0)
			continue;
		json_array_append(ids, json_object_get(row, "id"));
		if (strcmp(json_string_value(json_object_get(row, "type")), "apt") == 0)
			*ret_type = "apt";
	}
	*ret = ids;
	return 0;
}

/* One content's evaluation state during a refresh. */
struct jobs_content {
	char *key;
	char *ids_text;
	json_t *ids;
	const char *type;
	struct repo_applicability *a;
	json_t *cache; /* profile hash -> brief result */
};

/*
 * Recompute the applicable errata of stored profiles whose content (the repository versions
 * their host's content view and environment serve) changed since they were evaluated, or
 * of every profile of host_ids (an array; NULL: all hosts, only those changed). A content
 * is loaded once and each distinct package set evaluated once.
 */
int
jobs_applicability_refresh(const json_t *host_ids, struct dr_error *err)
{
	_cleanup_json_ json_t *rows = NULL, *params = json_array();
	struct jobs_content *cs = NULL;
	struct buf sql = BUF_INIT(0);
	size_t ncs = 0, i, k;
	json_t *row;
	int r = -1;

	buf_adds(&sql,
	    "SELECT f.host_id AS host_id, f.content_view AS cv,"
	    " f.lifecycle_environment AS env, p.content_ids AS content_ids"
	    " FROM jobs_host_facets f JOIN jobs_host_profiles p"
	    " ON p.host_id = f.host_id");
	if (host_ids != NULL) {
		buf_adds(&sql, " WHERE f.host_id IN (-1");
		json_array_foreach(host_ids, i, row)
		{
			buf_adds(&sql, ", ?");
			json_array_append(params, row);
		}
		buf_adds(&sql, ")");
	}
	if (store_query(sql.data, params, &rows, err) < 0)
		goto out;
	json_array_foreach(rows, i, row)
	{
		const char *cv = json_string_value(json_object_get(row, "cv"));
		const char *env = json_string_value(json_object_get(row, "env"));
		const char *had = json_string_value(json_object_get(row, "content_ids"));
		_cleanup_free_ char *key = xasprintf("%s\n%s", cv ? cv : "", env ? env : "");
		int64_t hid = json_integer_value(json_object_get(row, "host_id"));
		struct jobs_content *c = NULL;

		for (k = 0; k < ncs && c == NULL; k++)
			if (strcmp(cs[k].key, key) == 0)
				c = &cs[k];
		if (c == NULL) {
			cs = xreallocarray(cs, ncs + 1, sizeof *cs);
			c = &cs[ncs++];
			memset(c, 0, sizeof *c);
			c->key = xstrdup(key);
			if (jobs_content_versions(cv, env, &c->ids, &c->type, err) < 0)
				goto out;
			c->ids_text = json_dumps(c->ids, JSON_COMPACT);
			c->cache = json_object();
		}
		if (host_ids == NULL && had != NULL && strcmp(had, c->ids_text) == 0)
			continue;
		json_t *brief = NULL;
		if (json_array_size(c->ids) > 0) {
			_cleanup_json_ json_t *p = store_query_one(err,
			    "SELECT packages AS packages_json FROM jobs_host_profiles"
			    " WHERE host_id = ?",
			    "[I]", (json_int_t)hid);
			const json_t *pkgs = json_object_get(p, "packages");
			char hash[65];
			if (p == NULL)
				goto out;
			if (c->a == NULL &&
			    repo_applicability_load(c->ids, c->type, &c->a, err) < 0)
				goto out;
			repo_applicability_profile_hash(pkgs, hash);
			if ((brief = json_object_get(c->cache, hash)) == NULL) {
				if (repo_applicability_eval(c->a, pkgs, true, &brief, err) < 0)
					goto out;
				json_object_set_new(c->cache, hash, brief);
			}
		}
		if (store_execf(NULL, NULL, err,
		        "UPDATE jobs_host_profiles SET applicable = ?, applicable_count = ?,"
		        " installable_count = ?, content_ids = ? WHERE host_id = ?",
		        "[O? I I s I]", brief,
		        (json_int_t)json_array_size(json_object_get(brief, "applicable")),
		        (json_int_t)json_array_size(json_object_get(brief, "installable")),
		        c->ids_text, (json_int_t)hid) < 0)
			goto out;
	}
	r = 0;
out:
	for (k = 0; k < ncs; k++) {
		free(cs[k].key);
		free(cs[k].ids_text);
		json_decref(cs[k].ids);
		json_decref(cs[k].cache);
		repo_applicability_free(cs[k].a);
	}
	free(cs);
	buf_free(&sql);
	return r;
}

/*
 * Store a profile and recompute the host's applicable errata. Writers are serialised here:
 * a job on hundreds of hosts finishes them at nearly the same moment, and queueing on a
 * mutex is fairer and cheaper than hundreds of connections polling SQLite's write lock.
 */
static pthread_mutex_t jobs_profile_lock = PTHREAD_MUTEX_INITIALIZER;
/* What storing several profiles shares; with jobs_profile_lock held. */
struct jobs_profile_text {
	const json_t *packages; /* the packages array stored last, and its JSON text */
	char *text; /* (hosts sharing a parsed listing share its text too) */
	json_t *refresh; /* host ids whose applicability is recomputed after the batch, in one
	                    pass (one content lookup); NULL: at once */
};
static int jobs_profile_store_locked(int64_t host_id, int64_t job_id, const json_t *profile,
    struct jobs_profile_text *last, struct dr_error *err);

int
jobs_profile_store(int64_t host_id, int64_t job_id, const json_t *profile, struct dr_error *err)
{
	struct jobs_profile_text last = {0};

	pthread_mutex_lock(&jobs_profile_lock);
	int r = jobs_profile_store_locked(host_id, job_id, profile, &last, err);
	free(last.text);
	pthread_mutex_unlock(&jobs_profile_lock);
	return r;
}

/* After a sync, publish or promote: re-evaluate the profiles whose content changed (the
 * hosts list, its errata search and host pages then show it without a job on the host). */
int
jobs_applicability_changed(struct dr_error *err)
{
	int r;

	if (jobs_targets_refresh(err) < 0)
		return -1;
	pthread_mutex_lock(&jobs_profile_lock);
	r = jobs_applicability_refresh(NULL, err);
	pthread_mutex_unlock(&jobs_profile_lock);
	return r;
}

/*
 * Store many profiles ([{host_id, profile}]) in one transaction; a host's failure goes to
 * errors (host id text -> message) and the others are stored. The mutex is taken before
 * the write lock, as jobs_profile_store does.
 */
int
jobs_profile_store_many(const json_t *list, int64_t job_id, json_t *errors, struct dr_error *err)
{
	struct jobs_profile_text last = {.refresh = json_array()};
	struct dr_error e;
	size_t i;
	json_t *x;
	int r = 0;

	pthread_mutex_lock(&jobs_profile_lock);
	bool tx = store_begin(err) == 0;
	json_array_foreach(list, i, x)
	{
		int64_t id = json_integer_value(json_object_get(x, "host_id"));
		if (jobs_profile_store_locked(
		        id, job_id, json_object_get(x, "profile"), &last, &e) < 0) {
			char key[32];
			snprintf(key, sizeof key, "%lld", (long long)id);
			json_object_set_new(errors, key, json_string(e.msg));
		}
	}
	if (json_array_size(last.refresh) > 0 && jobs_applicability_refresh(last.refresh, &e) < 0)
		json_array_foreach(last.refresh, i, x)
		{
			char key[32];
			snprintf(key, sizeof key, "%lld", (long long)json_integer_value(x));
			json_object_set_new(errors, key, json_string(e.msg));
		}
	if (tx && store_commit(err) < 0)
		r = -1;
	pthread_mutex_unlock(&jobs_profile_lock);
	free(last.text);
	json_decref(last.refresh);
	return r;
}

/* jobs_profile_store with the lock held. */
static int
jobs_profile_store_locked(int64_t host_id, int64_t job_id, const json_t *profile,
    struct jobs_profile_text *last, struct dr_error *err)
{
	const json_t *pkgs = json_object_get(profile, "packages");
	_cleanup_json_ json_t *ids = json_pack("[I]", (json_int_t)host_id);

	if (json_is_true(json_object_get(profile, "unchanged"))) {
		int64_t n = 0;
		if (store_execf(&n, NULL, err,
		        "UPDATE jobs_host_profiles SET reboot_required = ?, collected_at = ?,"
		        " job_id = ? WHERE host_id = ?",
		        "[i I I I]", json_is_true(json_object_get(profile, "reboot_required")),
		        (json_int_t)time(NULL), (json_int_t)job_id, (json_int_t)host_id) < 0)
			return -1;
		if (n == 1)
			return 0;
		return dr_error_set(err, "profile: the host said unchanged, but none is stored");
	}
	if (pkgs != last->packages || last->text == NULL) {
		free(last->text);
		last->packages = pkgs;
		last->text =
		    json_dumps(pkgs != NULL ? pkgs : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
		if (last->text == NULL)
			fatalx("json_dumps failed");
	}
	if (store_execf(NULL, NULL, err,
	        "INSERT INTO jobs_host_profiles (host_id, format, packages, package_count,"
	        " reboot_required, applicable, applicable_count, installable_count, content_ids,"
	        " fingerprint, collected_at, job_id)"
	        " VALUES (?, ?, ?, ?, ?, NULL, 0, 0, NULL, ?, ?, ?)"
	        " ON CONFLICT (host_id) DO UPDATE SET format = excluded.format,"
	        " packages = excluded.packages, package_count = excluded.package_count,"
	        " reboot_required = excluded.reboot_required,"
	        " fingerprint = excluded.fingerprint,"
	        " collected_at = excluded.collected_at, job_id = excluded.job_id",
	        "[I s s I i s I I]", (json_int_t)host_id,
	        json_string_value(json_object_get(profile, "format")), last->text,
	        (json_int_t)json_array_size(pkgs),
	        json_is_true(json_object_get(profile, "reboot_required")),
	        json_string_value(json_object_get(profile, "fingerprint")) ?: "",
	        (json_int_t)time(NULL), (json_int_t)job_id) < 0)
		return -1;
	if (last->refresh != NULL) {
		json_array_append_new(last->refresh, json_integer(host_id));
		return 0;
	}
	return jobs_applicability_refresh(ids, err);
}

/* The stored profile of a host. */
json_t *
jobs_profile_get(int64_t host_id)
{
	json_t *p = store_query_one(NULL,
	    "SELECT host_id, format, packages AS packages_json, package_count, reboot_required,"
	    " applicable AS applicable_json, applicable_count, installable_count, collected_at,"
	    " job_id FROM jobs_host_profiles WHERE host_id = ?",
	    "[I]", (json_int_t)host_id);

	if (p != NULL) {
		json_object_set_new(p, "reboot_required",
		    json_boolean(json_integer_value(json_object_get(p, "reboot_required"))));
		if (json_is_null(json_object_get(p, "applicable")))
			json_object_set_new(p, "applicable",
			    json_pack("{s:[], s:[]}", "applicable", "installable"));
	}
	return p;
}
