/*
 * gitcred.c - git credentials: a name for a user name and a password or token with which
 * droverd fetches playbooks from a private https:// repository. Both are sealed with
 * core's secret key (secret.c) and never shown: the API shows a credential's name and
 * times, the job's params name it ({playbook_git: {url, path, ref, credential}}), and only
 * git.c opens it, for the fetch. A URL with user:password@ given to the API becomes a
 * credential named after the URL without them (the same repository and user name: the
 * newest token wins).
 */
#define LOG_COMPONENT "jobs"
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "jobs/jobs.h"
#include "webui/webui.h"

#define GITCRED_COLUMNS "id, name, created_at, created_by, updated_at, updated_by"

/* A name: printable, no blank or quote, at most JOBS_GITCRED_NAME_MAX bytes. */
static bool
gitcred_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > JOBS_GITCRED_NAME_MAX || strspn(s, "0123456789") == n)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '"' || *s == '\'' || *s == '\\' ||
		    *s == 0x7f)
			return false;
	return true;
}

/* The row of a credential by id or name (secrets left out), or NULL. */
static json_t *
gitcred_row(const char *id_or_name)
{
	struct dr_error err;
	long long id = 0;

	if (id_or_name == NULL)
		return NULL;
	if (str_to_ll(id_or_name, 1, INT64_MAX, &id) == 0)
		return store_query_one(&err,
		    "SELECT " GITCRED_COLUMNS " FROM jobs_git_credentials WHERE id = ?", "[I]",
		    (json_int_t)id);
	return store_query_one(&err,
	    "SELECT " GITCRED_COLUMNS " FROM jobs_git_credentials WHERE name = ?", "[s]",
	    id_or_name);
}

/* The schedules whose params name credential name, as [{id, name}]. */
static json_t *
gitcred_users(const char *name)
{
	json_t *rows = NULL;
	struct dr_error err;

	if (store_queryf(&rows, &err,
	        "SELECT id, name FROM schedules WHERE kind = 'remote_execution'"
	        " AND json_extract(params, '$.playbook_git.credential') = ? ORDER BY name",
	        "[s]", name) < 0)
		return json_array();
	return rows;
}

/* A credential as the API shows it, with the schedules that use it. Caller frees. */
json_t *
jobs_gitcred_get(const char *id_or_name)
{
	json_t *row = gitcred_row(id_or_name);

	if (row != NULL)
		json_object_set_new(row, "schedules",
		    gitcred_users(json_string_value(json_object_get(row, "name"))));
	return row;
}

/* One of username, password: text of 1..SECRET_MAX bytes without NUL or line breaks (a
 * credential helper's line could not carry them). */
static const char *
gitcred_field(const json_t *body, const char *k, json_t *invalid)
{
	const json_t *v = json_object_get(body, k);
	const char *s = json_string_value(v);

	if (s == NULL || *s == '\0' || json_string_length(v) > SECRET_MAX ||
	    strlen(s) != json_string_length(v) || strpbrk(s, "\r\n") != NULL) {
		json_object_set_new(invalid, k,
		    json_string("expected text of at most 4096 bytes without line breaks"));
		return NULL;
	}
	return s;
}

/*
 * Create (id_or_name NULL) or change a credential from body {name, username, password}
 * (a change may leave out name; username and password are always given again) as user
 * from remote: 0 created, 1 changed; -422 with invalid filled, -404, -409 (name taken)
 * or -1. *ret (may be NULL): the credential as shown.
 */
int
jobs_gitcred_save(const char *id_or_name, const json_t *body, const char *user, const char *remote,
    json_t *invalid, json_t **ret, struct dr_error *err)
{
	static const char *const keys[] = {"name", "username", "password"};
	_cleanup_json_ json_t *before = NULL, *after = NULL;
	_cleanup_free_ char *suser = NULL, *spass = NULL;
	const char *name, *username, *password, *k;
	json_int_t now = (json_int_t)time(NULL);
	json_t *v;
	int64_t id = 0;

	if (id_or_name != NULL && (before = gitcred_row(id_or_name)) == NULL) {
		dr_error_set(err, "no git credential '%s'", id_or_name);
		return -404;
	}
	json_object_foreach((json_t *)body, k, v)
	{
		bool known = false;
		for (size_t i = 0; i < nitems(keys); i++)
			known |= strcmp(k, keys[i]) == 0;
		if (!known)
			json_object_set_new(invalid, k, json_string("unknown field"));
	}
	name = json_string_value(json_object_get(body, "name"));
	if (name == NULL && before != NULL)
		name = json_string_value(json_object_get(before, "name"));
	if (name == NULL || !gitcred_name_ok(name))
		json_object_set_new(invalid, "name",
		    json_string("expected a name of at most 255 bytes without blanks or quotes "
		                "(not only digits)"));
	username = gitcred_field(body, "username", invalid);
	password = gitcred_field(body, "password", invalid);
	if (json_object_size(invalid) > 0) {
		dr_error_set(err, "invalid git credential");
		return -422;
	}
	suser = secret_seal(username);
	spass = secret_seal(password);
	if (suser == NULL || spass == NULL)
		return dr_error_set(err, "git credential %s: cannot be encrypted", name);
	if (before == NULL) {
		_cleanup_json_ json_t *dup = gitcred_row(name);
		if (dup != NULL) {
			dr_error_set(err, "a git credential named '%s' already exists", name);
			return -409;
		}
		if (store_execf(NULL, &id, err,
		        "INSERT INTO jobs_git_credentials (name, username, password, created_at,"
		        " created_by, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
		        "[sssIsIs]", name, suser, spass, now, user, now, user) < 0)
			return -1;
	} else {
		id = json_integer_value(json_object_get(before, "id"));
		if (strcmp(name, json_string_value(json_object_get(before, "name"))) != 0) {
			_cleanup_json_ json_t *dup = gitcred_row(name);
			if (dup != NULL) {
				dr_error_set(
				    err, "a git credential named '%s' already exists", name);
				return -409;
			}
			_cleanup_json_ json_t *cur = jobs_gitcred_get(id_or_name);
			json_t *uses = json_object_get(cur, "schedules");
			if (json_array_size(uses) > 0) {
				dr_error_set(err,
				    "git credential '%s' is used by schedule '%s': it keeps its "
				    "name",
				    json_string_value(json_object_get(before, "name")),
				    json_string_value(
				        json_object_get(json_array_get(uses, 0), "name")));
				return -409;
			}
		}
		if (store_execf(NULL, NULL, err,
		        "UPDATE jobs_git_credentials SET name = ?, username = ?, password = ?,"
		        " updated_at = ?, updated_by = ? WHERE id = ?",
		        "[sssIsI]", name, suser, spass, now, user, (json_int_t)id) < 0)
			return -1;
	}
	{
		char idtext[32];
		snprintf(idtext, sizeof idtext, "%lld", (long long)id);
		after = jobs_gitcred_get(idtext);
	}
	/* the audit records that the secret changed, never what it is */
	store_audit(user, remote, before ? "update" : "create", "git_credential", name, before,
	    after, NULL);
	if (ret != NULL)
		*ret = json_incref(after);
	return before ? 1 : 0;
}

/* Create or change credential name with user name and password (from a URL given to the
 * API): as jobs_gitcred_save, without a body to check. */
int
jobs_gitcred_put(const char *name, const char *username, const char *password, const char *user,
    const char *remote, struct dr_error *err)
{
	_cleanup_json_ json_t *body =
	    json_pack("{s:s, s:s, s:s}", "name", name, "username", username, "password", password);
	_cleanup_json_ json_t *invalid = json_object(), *old = gitcred_row(name);
	int r = jobs_gitcred_save(old ? name : NULL, body, user, remote, invalid, NULL, err);

	/* the body held the secret: clear jansson's copy before it is freed */
	OPENSSL_cleanse(
	    (char *)json_string_value(json_object_get(body, "password")), strlen(password));
	if (r == -422) {
		const char *k;
		json_t *v;
		json_object_foreach(invalid, k, v)
		{
			dr_error_set(
			    err, "git credential %s: %s: %s", name, k, json_string_value(v));
			break;
		}
	}
	return r < 0 ? -1 : 0;
}

/* Delete a credential: -404, -409 while a schedule names it, or 0. */
int
jobs_gitcred_delete(
    const char *id_or_name, const char *user, const char *remote, struct dr_error *err)
{
	_cleanup_json_ json_t *before = jobs_gitcred_get(id_or_name);
	json_t *uses;

	if (before == NULL) {
		dr_error_set(err, "no git credential '%s'", id_or_name);
		return -404;
	}
	uses = json_object_get(before, "schedules");
	if (json_array_size(uses) > 0) {
		dr_error_set(err, "git credential '%s' is used by schedule '%s'",
		    json_string_value(json_object_get(before, "name")),
		    json_string_value(json_object_get(json_array_get(uses, 0), "name")));
		return -409;
	}
	if (store_execf(NULL, NULL, err, "DELETE FROM jobs_git_credentials WHERE id = ?", "[O]",
	        json_object_get(before, "id")) < 0)
		return -1;
	store_audit(user, remote, "delete", "git_credential",
	    json_string_value(json_object_get(before, "name")), before, NULL, NULL);
	return 0;
}

/* Whether a credential called name exists. */
bool
jobs_gitcred_exists(const char *name)
{
	_cleanup_json_ json_t *row = gitcred_row(name);

	return row != NULL;
}

/* The user name and password of credential name, decrypted (caller cleanses and frees
 * both). For git.c's fetch only. */
int
jobs_gitcred_open(const char *name, char **ret_user, char **ret_password, struct dr_error *err)
{
	_cleanup_json_ json_t *row = NULL;
	char *u, *p;

	row = store_query_one(err,
	    "SELECT username, password FROM jobs_git_credentials WHERE name = ?", "[s]", name);
	if (row == NULL)
		return dr_error_set(err, "no git credential '%s' (it was deleted?)", name);
	u = secret_open(json_string_value(json_object_get(row, "username")));
	p = secret_open(json_string_value(json_object_get(row, "password")));
	OPENSSL_cleanse((char *)json_string_value(json_object_get(row, "password")),
	    strlen(json_string_value(json_object_get(row, "password"))));
	if (u == NULL || p == NULL) {
		free(u);
		free(p);
		return dr_error_set(err,
		    "git credential '%s' does not decrypt with this state directory's secret.key",
		    name);
	}
	*ret_user = u;
	*ret_password = p;
	return 0;
}

static const struct search_field gitcred_fields[] = {
    {"id", "id", SEARCH_INT},
    {"name", "name", SEARCH_TEXT, SEARCH_DEFAULT},
    {"created_by", "created_by", SEARCH_TEXT},
    {"updated_by", "updated_by", SEARCH_TEXT},
    {"created_at", "created_at", SEARCH_TIME},
    {"updated_at", "updated_at", SEARCH_TIME},
};

/* The list: names and times, never the user name or the secret. */
const struct api_resource jobs_gitcred_resource = {
    .name = "git_credentials",
    .select = GITCRED_COLUMNS,
    .from = "jobs_git_credentials",
    .id_sql = "id",
    .order = "name",
    .fields = gitcred_fields,
    .nfields = nitems(gitcred_fields),
};

/* params with playbook_git's https:// user information moved into a credential: 1 when
 * params changed, 0 when there was none, -1 on error. */
static int
gitcred_params_upgrade(json_t *params, struct dr_error *err)
{
	json_t *git = json_object_get(params, "playbook_git");
	const char *url = json_string_value(json_object_get(git, "url"));
	char *clean = NULL, *user = NULL, *pass = NULL;
	int r;

	if (url == NULL || jobs_git_userinfo(url, &clean, &user, &pass, err) <= 0)
		return 0;
	r = jobs_gitcred_put(clean, user, pass, "(upgrade)", NULL, err);
	secret_free(pass);
	free(user);
	if (r == 0) {
		json_object_set_new(git, "credential", json_string(clean));
		json_object_set_new(git, "url", json_string(clean));
		json_object_set_new(params, "playbook_name",
		    json_sprintf("git+%s//%s@%s", clean,
		        json_string_value(json_object_get(git, "path")),
		        json_string_value(json_object_get(git, "ref"))));
	}
	free(clean);
	return r < 0 ? -1 : 1;
}

/* text with the USER:PASSWORD of every https URL turned into "***"; NULL when none has one. */
static char *
gitcred_scrub(const char *text)
{
	struct buf b = BUF_INIT(0);
	const char *p = text, *u;
	bool hit = false;

	while ((u = strstr(p, "https://")) != NULL) {
		const char *host = u + 8;
		size_t end = strcspn(host, "/\"\\ ");
		const char *at = memchr(host, '@', end);
		buf_add(&b, p, (size_t)(host - p));
		if (at != NULL && memchr(host, ':', (size_t)(at - host)) != NULL) {
			buf_adds(&b, "***");
			p = at;
			hit = true;
		} else
			p = host;
	}
	buf_adds(&b, p);
	if (!hit) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* Move credentials out of params and audit rows older versions stored. */
int
jobs_gitcred_upgrade(struct dr_error *err)
{
	static const char *const tables[] = {"jobs", "schedules"};
	_cleanup_json_ json_t *rows = NULL;
	json_t *row;
	size_t i, t;
	int n = 0;

	for (t = 0; t < nitems(tables); t++) {
		_cleanup_free_ char *sql = xasprintf(
		    "SELECT id, params AS params_json FROM %s WHERE kind = 'remote_execution'"
		    " AND json_extract(params, '$.playbook_git.url') LIKE 'https://%%@%%'",
		    tables[t]);
		_cleanup_free_ char *upd =
		    xasprintf("UPDATE %s SET params = ? WHERE id = ?", tables[t]);
		json_decref(rows);
		rows = NULL;
		if (store_query(sql, NULL, &rows, err) < 0)
			return -1;
		json_array_foreach(rows, i, row)
		{
			json_t *params = json_object_get(row, "params");
			int r = gitcred_params_upgrade(params, err);
			if (r < 0)
				return dr_error_prefix(err, "%s %lld: ", tables[t],
				    (long long)json_integer_value(json_object_get(row, "id")));
			if (r > 0 &&
			    store_execf(NULL, NULL, err, upd, "[OO]", params,
			        json_object_get(row, "id")) < 0)
				return -1;
			n += r;
		}
	}
	json_decref(rows);
	rows = NULL;
	if (store_queryf(&rows, err,
	        "SELECT id, before, after FROM audits WHERE before LIKE '%https://%@%'"
	        " OR after LIKE '%https://%@%'",
	        NULL) < 0)
		return -1;
	json_array_foreach(rows, i, row)
	{
		_cleanup_free_ char *before =
		    gitcred_scrub(json_string_value(json_object_get(row, "before")) ?: "");
		_cleanup_free_ char *after =
		    gitcred_scrub(json_string_value(json_object_get(row, "after")) ?: "");
		if ((before != NULL || after != NULL) &&
		    store_execf(NULL, NULL, err,
		        "UPDATE audits SET before = coalesce(?, before), after = coalesce(?, "
		        "after)"
		        " WHERE id = ?",
		        "[s?s?O]", before, after, json_object_get(row, "id")) < 0)
			return -1;
	}
	if (n > 0)
		log_info("moved the credentials of %d git URLs into git credentials", n);
	return 0;
}
