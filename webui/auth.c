/*
 * auth.c - users, roles and permissions, sessions, API tokens, login throttling: who may
 * call which route.
 *
 * RBAC. A permission is an action on a resource ("jobs" x "cancel"), optionally limited
 * by a search filter in the resource's search language ("kind = noop"): the caller then
 * sees and changes only the objects matching it. Every route declares (or derives from
 * its path and method, see struct http_route) the permission it needs, and auth_check()
 * decides before the handler runs, so the UI, the CLI and any other client always get
 * the same answer. The built-in roles are code, not rows, so that resources added later
 * by other subsystems are covered at once:
 *   admin     everything;
 *   operator  every action on every resource except the appliance's own (users, roles,
 *             backup);
 *   viewer    "view" on every resource except those.
 * Custom roles are sets of rows in role_permissions; "*" matches any resource or action,
 * but never the appliance's own resources, which must be named. Everybody may manage
 * their own API tokens (resource "tokens").
 */
#define LOG_COMPONENT "auth"
#include "config.h"

#include <crypt.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "webui/webui.h"

#define AUTH_TOKEN_BYTES 32
#define AUTH_PASSWORD_MAX 1024
#define AUTH_THROTTLE_SLOTS 1024
#define AUTH_THROTTLE_WINDOW 900 /* failures older than this are forgotten */
#define AUTH_THROTTLE_USER_FREE 5 /* failures per user before the delays start */
#define AUTH_THROTTLE_ADDR_FREE 20 /* failures per address before the delays start */
#define AUTH_THROTTLE_MAX_DELAY 900

static const struct store_migration auth_migrations[] = {
    {"auth", 1,
        "CREATE TABLE users ("
        " id INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL UNIQUE,"
        " password_hash TEXT NOT NULL,"
        " role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),"
        " created_at INTEGER NOT NULL);"
        "CREATE TABLE api_tokens ("
        " id INTEGER PRIMARY KEY,"
        " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        " name TEXT NOT NULL,"
        " token_hash TEXT NOT NULL UNIQUE,"
        " created_at INTEGER NOT NULL,"
        " expires_at INTEGER);"},
    /*
     * Custom roles: users.role now references roles(name), so the CHECK goes. SQLite
     * cannot drop a constraint, so users and api_tokens are copied into new tables and
     * renamed (the rename rewrites api_tokens' reference to users).
     */
    {"auth", 2,
        "CREATE TABLE roles ("
        " id INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL UNIQUE,"
        " description TEXT NOT NULL DEFAULT '',"
        " builtin INTEGER NOT NULL DEFAULT 0,"
        " created_at INTEGER NOT NULL);"
        "INSERT INTO roles (name, description, builtin, created_at) VALUES"
        " ('admin', 'Everything, including users, roles and backups.', 1, 0),"
        " ('operator', 'Every action except on users, roles and backups.', 1, 0),"
        " ('viewer', 'Reads everything except users, roles and backups; changes nothing.',"
        "  1, 0);"
        "CREATE TABLE role_permissions ("
        " role_id INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,"
        " resource TEXT NOT NULL,"
        " action TEXT NOT NULL,"
        " search TEXT NOT NULL DEFAULT '',"
        " PRIMARY KEY (role_id, resource, action, search));"
        "CREATE TABLE users_v2 ("
        " id INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL UNIQUE,"
        " password_hash TEXT NOT NULL,"
        " role TEXT NOT NULL REFERENCES roles(name) ON UPDATE CASCADE,"
        " created_at INTEGER NOT NULL,"
        " updated_at INTEGER,"
        " last_login_at INTEGER);"
        "INSERT INTO users_v2 (id, name, password_hash, role, created_at)"
        " SELECT id, name, password_hash, role, created_at FROM users;"
        "CREATE TABLE api_tokens_v2 ("
        " id INTEGER PRIMARY KEY,"
        " user_id INTEGER NOT NULL REFERENCES users_v2(id) ON DELETE CASCADE,"
        " name TEXT NOT NULL,"
        " token_hash TEXT NOT NULL UNIQUE,"
        " created_at INTEGER NOT NULL,"
        " expires_at INTEGER);"
        "INSERT INTO api_tokens_v2 SELECT id, user_id, name, token_hash, created_at,"
        " expires_at FROM api_tokens;"
        "DROP TABLE api_tokens;"
        "DROP TABLE users;"
        "ALTER TABLE users_v2 RENAME TO users;"
        "ALTER TABLE api_tokens_v2 RENAME TO api_tokens;"
        "CREATE INDEX api_tokens_user ON api_tokens (user_id);"
        "CREATE TABLE sessions ("
        " id INTEGER PRIMARY KEY,"
        " id_hash TEXT NOT NULL UNIQUE,"
        " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        " csrf TEXT NOT NULL,"
        " remote TEXT,"
        " created_at INTEGER NOT NULL,"
        " seen_at INTEGER NOT NULL,"
        " expires_at INTEGER NOT NULL);"
        "CREATE INDEX sessions_user ON sessions (user_id);"},
};

/* The built-in roles, in rank order. */
static const char *const auth_builtin_roles[] = {"viewer", "operator", "admin"};

/* Resources a "*" never covers: the appliance's own. */
static const char *const auth_admin_resources[] = {"users", "roles", "backup", "ca_admin"};

/* Failed logins per key ("u:NAME" or "a:ADDRESS"), in a fixed table. */
struct auth_throttle_slot {
	char key[96];
	int failures;
	time_t last;
};
static struct auth_throttle_slot auth_throttle[AUTH_THROTTLE_SLOTS];
static pthread_mutex_t auth_throttle_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t (*auth_clock)(void);

/* Register the auth tables; before store_open. */
void
auth_register(void)
{
	store_register(auth_migrations, nitems(auth_migrations));
}

static time_t
auth_now(void)
{
	return auth_clock != NULL ? auth_clock() : time(NULL);
}

/* The clock sessions, tokens and throttling read (NULL restores time()). For tests. */
void
auth_clock_set(time_t (*now)(void))
{
	auth_clock = now;
}

/* True for admin, operator and viewer. */
bool
auth_role_builtin(const char *role)
{
	for (size_t i = 0; i < nitems(auth_builtin_roles); i++)
		if (strcmp(role, auth_builtin_roles[i]) == 0)
			return true;
	return false;
}

static bool
auth_admin_resource(const char *resource)
{
	for (size_t i = 0; i < nitems(auth_admin_resources); i++)
		if (strcmp(resource, auth_admin_resources[i]) == 0)
			return true;
	return false;
}

/* Random bytes from the kernel; failure here is a broken invariant. */
static void
auth_random(void *p, size_t n)
{
	if (getrandom(p, n, 0) != (ssize_t)n)
		fatal("getrandom");
}

static void
auth_hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* A random secret as hex: session ids, CSRF tokens. out has 2n+1 bytes. */
void
auth_random_hex(char *out, size_t nbytes)
{
	unsigned char raw[64];

	if (nbytes > sizeof raw)
		fatalx("auth_random_hex: %zu bytes asked", nbytes);
	auth_random(raw, nbytes);
	auth_hex(raw, nbytes, out);
}

/* Tokens are long random strings, so a plain SHA-256 is the right hash at rest. */
static void
auth_token_hash(const char *token, char out[65])
{
	unsigned char md[32];
	unsigned int len = sizeof md;

	if (EVP_Digest(token, strlen(token), md, &len, EVP_sha256(), NULL) != 1)
		fatalx("EVP_Digest sha256 failed");
	auth_hex(md, sizeof md, out);
}

/* Hash a password with the system's preferred crypt method (yescrypt on Debian 12). */
static int
auth_password_hash(const char *password, char **ret, struct dr_error *err)
{
	struct crypt_data *cd = xcalloc(1, sizeof *cd);
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	char *h;

	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt) == NULL) {
		free(cd);
		return dr_error_errno(err, "crypt_gensalt");
	}
	h = crypt_r(password, salt, cd);
	if (h == NULL || h[0] == '*') {
		free(cd);
		return dr_error_set(err, "crypt failed");
	}
	*ret = xstrdup(h);
	free(cd);
	return 0;
}

static bool
auth_password_matches(const char *password, const char *hash)
{
	struct crypt_data *cd = xcalloc(1, sizeof *cd);
	const char *h = crypt_r(password, hash, cd);
	bool ok =
	    h != NULL && h[0] != '*' && strlen(h) == strlen(hash) && str_equal_secret(h, hash);

	free(cd);
	return ok;
}

/* Note a field error into invalid (may be NULL) and err; returns -1. */
static int auth_invalid(json_t *invalid, struct dr_error *err, const char *field, const char *fmt,
    ...) DR_PRINTF(4, 5);

static int
auth_invalid(json_t *invalid, struct dr_error *err, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (invalid != NULL && json_object_get(invalid, field) == NULL)
		json_object_set_new(invalid, field, json_string(msg));
	return dr_error_set(err, "%s: %s", field, msg);
}

/* A name of users and roles: 1 to AUTH_NAME_MAX of letters, digits and ._-@ */
int
auth_name_check(const char *field, const char *name, json_t *invalid, struct dr_error *err)
{
	if (name == NULL || *name == '\0' || strlen(name) > AUTH_NAME_MAX)
		return auth_invalid(
		    invalid, err, field, "must have 1 to %d characters", AUTH_NAME_MAX);
	for (size_t i = 0; name[i] != '\0'; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@",
		        name[i]))
			return auth_invalid(
			    invalid, err, field, "only letters, digits and . _ - @ are allowed");
	return 0;
}

static int
auth_password_valid(const char *password, json_t *invalid, struct dr_error *err)
{
	if (password == NULL || strlen(password) < 8 || strlen(password) > AUTH_PASSWORD_MAX)
		return auth_invalid(
		    invalid, err, "password", "must have 8 to %d characters", AUTH_PASSWORD_MAX);
	return 0;
}

/* Whether a role of that name exists. */
static bool
auth_role_exists(const char *role)
{
	_cleanup_json_ json_t *row = NULL;
	struct dr_error err;

	row = store_query_one(&err, "SELECT id FROM roles WHERE name = ?", "[s]", role);
	return row != NULL;
}

/* Create a local user; invalid (may be NULL) gets a message per bad field. */
int
auth_user_create(const char *name, const char *password, const char *role, struct dr_error *err)
{
	return auth_user_add(name, password, role, NULL, NULL, err);
}

/* As auth_user_create, with per-field messages and the new id. */
int
auth_user_add(const char *name, const char *password, const char *role, int64_t *ret_id,
    json_t *invalid, struct dr_error *err)
{
	_cleanup_free_ char *hash = NULL;
	_cleanup_json_ json_t *dup = NULL;
	int bad = 0;

	bad |= auth_name_check("login", name, invalid, err);
	bad |= auth_password_valid(password, invalid, err);
	if (role == NULL || !auth_role_exists(role))
		bad |=
		    auth_invalid(invalid, err, "role", "no role '%s'", role != NULL ? role : "");
	if (bad)
		return -1;
	dup = store_query_one(err, "SELECT id FROM users WHERE name = ?", "[s]", name);
	if (dup != NULL)
		return dr_error_set(err, "login: a user '%s' already exists", name);
	if (auth_password_hash(password, &hash, err) < 0)
		return -1;
	return store_execf(NULL, ret_id, err,
	    "INSERT INTO users (name, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
	    "[sssI]", name, hash, role, (json_int_t)auth_now());
}

/* Change a user's password and/or role (either may be NULL). */
int
auth_user_update(
    int64_t id, const char *password, const char *role, json_t *invalid, struct dr_error *err)
{
	_cleanup_free_ char *hash = NULL;
	_cleanup_json_ json_t *user = NULL;
	int bad = 0;

	if (password != NULL)
		bad |= auth_password_valid(password, invalid, err);
	if (role != NULL && !auth_role_exists(role))
		bad |= auth_invalid(invalid, err, "role", "no role '%s'", role);
	if (bad)
		return -1;
	user = store_query_one(
	    err, "SELECT name, role FROM users WHERE id = ?", "[I]", (json_int_t)id);
	if (user == NULL)
		return dr_error_set(err, "no user %lld", (long long)id);
	if (role != NULL && strcmp(role, "admin") != 0 &&
	    strcmp(json_string_value(json_object_get(user, "role")), "admin") == 0 &&
	    auth_admins_count() <= 1)
		return dr_error_set(err, "role: the last admin must stay an admin");
	if (password != NULL && auth_password_hash(password, &hash, err) < 0)
		return -1;
	if (store_begin(err) < 0)
		return -1;
	if ((hash != NULL &&
	        store_execf(NULL, NULL, err, "UPDATE users SET password_hash = ? WHERE id = ?",
	            "[sI]", hash, (json_int_t)id) < 0) ||
	    (role != NULL &&
	        store_execf(NULL, NULL, err, "UPDATE users SET role = ? WHERE id = ?", "[sI]",
	            role, (json_int_t)id) < 0) ||
	    store_execf(NULL, NULL, err, "UPDATE users SET updated_at = ? WHERE id = ?", "[II]",
	        (json_int_t)auth_now(), (json_int_t)id) < 0 ||
	    /* A new password ends the user's sessions. */
	    (hash != NULL &&
	        store_execf(NULL, NULL, err, "DELETE FROM sessions WHERE user_id = ?", "[I]",
	            (json_int_t)id) < 0)) {
		store_rollback();
		return -1;
	}
	return store_commit(err);
}

/* The number of users with the admin role. */
int
auth_admins_count(void)
{
	_cleanup_json_ json_t *row = NULL;
	struct dr_error err;

	row = store_query_one(&err, "SELECT count(*) AS n FROM users WHERE role = 'admin'", NULL);
	return row != NULL ? (int)json_integer_value(json_object_get(row, "n")) : 0;
}

/* Delete a user (their tokens and sessions go too); the last admin stays. */
int
auth_user_delete(int64_t id, struct dr_error *err)
{
	_cleanup_json_ json_t *user = NULL;

	user = store_query_one(err, "SELECT role FROM users WHERE id = ?", "[I]", (json_int_t)id);
	if (user == NULL)
		return dr_error_set(err, "no user %lld", (long long)id);
	if (strcmp(json_string_value(json_object_get(user, "role")), "admin") == 0 &&
	    auth_admins_count() <= 1)
		return dr_error_set(err, "the last admin cannot be deleted");
	return store_execf(
	    NULL, NULL, err, "DELETE FROM users WHERE id = ?", "[I]", (json_int_t)id);
}

/* Check a user's password; on success *ret_role (static string) names the role. */
int
auth_password_check(const char *name, const char *password, const char **ret_role)
{
	_cleanup_json_ json_t *row = NULL;
	const char *hash, *role;
	struct dr_error err;
	static __thread char role_buf[AUTH_NAME_MAX + 1];

	if (strlen(password) > AUTH_PASSWORD_MAX || strlen(name) > AUTH_NAME_MAX)
		return -1;
	row = store_query_one(
	    &err, "SELECT password_hash, role FROM users WHERE name = ?", "[s]", name);
	if (row == NULL) {
		/* Spend the same time as for a real user, so names cannot be probed. */
		auth_password_matches(password,
		    "$y$j9T$AAAAAAAAAAAAAAAAAAAAA.$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
		return -1;
	}
	hash = json_string_value(json_object_get(row, "password_hash"));
	role = json_string_value(json_object_get(row, "role"));
	if (hash == NULL || role == NULL || !auth_password_matches(password, hash))
		return -1;
	str_copy(role_buf, role, sizeof role_buf);
	*ret_role = role_buf;
	store_execf(NULL, NULL, &err, "UPDATE users SET last_login_at = ? WHERE name = ?", "[Is]",
	    (json_int_t)auth_now(), name);
	return 0;
}

/* The slot for key (a free or the stalest one when absent and create). */
static struct auth_throttle_slot *
auth_throttle_slot(const char *key, bool create, time_t now)
{
	struct auth_throttle_slot *stale = &auth_throttle[0];

	for (size_t i = 0; i < AUTH_THROTTLE_SLOTS; i++) {
		struct auth_throttle_slot *s = &auth_throttle[i];

		if (s->key[0] != '\0' && now - s->last > AUTH_THROTTLE_WINDOW)
			s->key[0] = '\0';
		if (s->key[0] != '\0' && strcmp(s->key, key) == 0)
			return s;
		if (s->key[0] == '\0' || s->last < stale->last)
			stale = s;
	}
	if (!create)
		return NULL;
	str_copy(stale->key, key, sizeof stale->key);
	stale->failures = 0;
	stale->last = now;
	return stale;
}

/* Seconds key must still wait: 2^(failures - free) after the last failure, capped. */
static int
auth_throttle_wait(const char *key, int free_failures, time_t now)
{
	struct auth_throttle_slot *s = auth_throttle_slot(key, false, now);
	int64_t delay;
	int over;

	if (s == NULL || s->failures < free_failures)
		return 0;
	over = s->failures - free_failures;
	/* Seconds tick at once: the first delay is 2 s so that it is never 0 in effect. */
	delay = over >= 10 ? AUTH_THROTTLE_MAX_DELAY : (int64_t)2 << over;
	if (delay > AUTH_THROTTLE_MAX_DELAY)
		delay = AUTH_THROTTLE_MAX_DELAY;
	return s->last + delay > now ? (int)(s->last + delay - now) : 0;
}

/*
 * Login throttling, per user name and per client address: after AUTH_THROTTLE_USER_FREE
 * failures for a name (AUTH_THROTTLE_ADDR_FREE from an address) every further attempt
 * must wait 2, 4, 8, ... seconds (at most AUTH_THROTTLE_MAX_DELAY) after the last
 * failure; the password is not even checked meanwhile. Returns the seconds to wait.
 */
int
auth_login_throttled(const char *user, const char *remote)
{
	char ukey[96], akey[96];
	time_t now = auth_now();
	int a, b;

	snprintf(ukey, sizeof ukey, "u:%s", user);
	snprintf(akey, sizeof akey, "a:%s", remote);
	pthread_mutex_lock(&auth_throttle_lock);
	a = auth_throttle_wait(ukey, AUTH_THROTTLE_USER_FREE, now);
	b = auth_throttle_wait(akey, AUTH_THROTTLE_ADDR_FREE, now);
	pthread_mutex_unlock(&auth_throttle_lock);
	return a > b ? a : b;
}

/* Record the outcome of a login attempt. Success forgets the name's failures only. */
void
auth_login_record(const char *user, const char *remote, bool success)
{
	char ukey[96], akey[96];
	struct auth_throttle_slot *s;
	time_t now = auth_now();

	snprintf(ukey, sizeof ukey, "u:%s", user);
	snprintf(akey, sizeof akey, "a:%s", remote);
	pthread_mutex_lock(&auth_throttle_lock);
	if (success) {
		if ((s = auth_throttle_slot(ukey, false, now)) != NULL)
			s->key[0] = '\0';
	} else {
		s = auth_throttle_slot(ukey, true, now);
		s->failures++;
		s->last = now;
		s = auth_throttle_slot(akey, true, now);
		s->failures++;
		s->last = now;
	}
	pthread_mutex_unlock(&auth_throttle_lock);
}

/* Forget every failure (tests). */
void
auth_login_reset(void)
{
	pthread_mutex_lock(&auth_throttle_lock);
	memset(auth_throttle, 0, sizeof auth_throttle);
	pthread_mutex_unlock(&auth_throttle_lock);
}

/*
 * Log in with a password, throttled: 0 and the role, or the HTTP status to answer
 * (401 wrong, 429 wait *ret_wait seconds). Failures are logged and audited.
 */
int
auth_login(const char *user, const char *password, const char *remote, const char **ret_role,
    int *ret_wait)
{
	int wait = auth_login_throttled(user, remote);

	*ret_wait = wait;
	if (wait > 0) {
		log_warnx(
		    "login for '%s' from %s refused: throttled for %d s", user, remote, wait);
		return 429;
	}
	if (auth_password_check(user, password, ret_role) < 0) {
		auth_login_record(user, remote, false);
		log_warnx("failed login for '%s' from %s", user, remote);
		store_audit(NULL, remote, "login_failed", "users", user, NULL, NULL, NULL);
		return 401;
	}
	auth_login_record(user, remote, true);
	return 0;
}

/* Make an API token for a user; *ret_token is shown once and never stored. */
int
auth_token_create(
    const char *user, const char *name, int64_t ttl, char **ret_token, struct dr_error *err)
{
	unsigned char raw[AUTH_TOKEN_BYTES];
	char hex[2 * AUTH_TOKEN_BYTES + 1], hash[65];
	_cleanup_json_ json_t *params = NULL;
	_cleanup_free_ char *token = NULL;
	time_t now = auth_now();
	int64_t changes = 0;

	if (name == NULL || *name == '\0' || strlen(name) > 128)
		return dr_error_set(err, "name: must have 1 to 128 characters");
	if (ttl < 0 || ttl > 10 * 366 * 86400LL)
		return dr_error_set(err, "expires_in: must be 0 (never) to ten years in seconds");
	auth_random(raw, sizeof raw);
	auth_hex(raw, sizeof raw, hex);
	token = xasprintf("drv_%s", hex);
	auth_token_hash(token, hash);
	params = json_pack("[ssIos]", name, hash, (json_int_t)now,
	    ttl > 0 ? json_integer((json_int_t)(now + ttl)) : json_null(), user);
	/* The user is looked up in the same statement, so a token never outlives a race. */
	if (store_exec("INSERT INTO api_tokens (name, token_hash, created_at, expires_at, user_id)"
	               " SELECT ?, ?, ?, ?, id FROM users WHERE name = ?",
	        params, &changes, NULL, err) < 0)
		return -1;
	if (changes != 1)
		return dr_error_set(err, "no user '%s'", user);
	*ret_token = TAKE_PTR(token);
	return 0;
}

/* Start a UI session; *ret_cookie is the session id for the cookie (caller frees). */
int
auth_session_create(const char *user, const char *remote, char **ret_cookie, struct dr_error *err)
{
	char id[2 * 32 + 1], csrf[2 * 32 + 1], hash[65];
	time_t now = auth_now();
	int64_t changes = 0;

	auth_random_hex(id, 32);
	auth_random_hex(csrf, 32);
	auth_token_hash(id, hash);
	if (store_execf(NULL, NULL, err,
	        "DELETE FROM sessions WHERE expires_at <= ? OR seen_at <= ?", "[II]",
	        (json_int_t)now, (json_int_t)(now - AUTH_SESSION_IDLE)) < 0)
		return -1;
	if (store_execf(&changes, NULL, err,
	        "INSERT INTO sessions (id_hash, user_id, csrf, remote, created_at, seen_at,"
	        " expires_at) SELECT ?, id, ?, ?, ?, ?, ? FROM users WHERE name = ?",
	        "[sssIIIs]", hash, csrf, remote, (json_int_t)now, (json_int_t)now,
	        (json_int_t)(now + AUTH_SESSION_MAX), user) < 0)
		return -1;
	if (changes != 1)
		return dr_error_set(err, "no user '%s'", user);
	*ret_cookie = xstrdup(id);
	return 0;
}

/* End the session whose cookie value is id (nothing when there is none). */
void
auth_session_delete(const char *id)
{
	struct dr_error err;
	char hash[65];

	if (id == NULL || strlen(id) > 128)
		return;
	auth_token_hash(id, hash);
	if (store_execf(NULL, NULL, &err, "DELETE FROM sessions WHERE id_hash = ?", "[s]", hash) <
	    0)
		log_warnx("ending a session: %s", err.msg);
}

void
auth_principal_free(struct auth_principal *p)
{
	if (p == NULL)
		return;
	free(p->user);
	free(p->role);
	free(p->csrf);
	free(p->scope);
	free(p->denied);
	json_decref(p->perms);
	free(p);
}

static void
auth_principal_freep(void *p)
{
	auth_principal_free(p);
}

/* Build a principal from a row {user_id, name, role[, session_id, csrf, seen_at]}. */
static struct auth_principal *
auth_principal_new(const json_t *row)
{
	struct auth_principal *p = xcalloc(1, sizeof *p);
	struct dr_error err;
	const char *csrf = json_string_value(json_object_get(row, "csrf"));

	p->user_id = json_integer_value(json_object_get(row, "user_id"));
	p->user = xstrdup(json_string_value(json_object_get(row, "name")));
	p->role = xstrdup(json_string_value(json_object_get(row, "role")));
	p->csrf = csrf != NULL ? xstrdup(csrf) : NULL;
	p->session_id = json_integer_value(json_object_get(row, "session_id"));
	if (!auth_role_builtin(p->role) &&
	    store_queryf(&p->perms, &err,
	        "SELECT resource, action, search FROM role_permissions"
	        " JOIN roles ON roles.id = role_permissions.role_id WHERE roles.name = ?",
	        "[s]", p->role) < 0) {
		log_warnx("permissions of role %s: %s", p->role, err.msg);
		p->perms = json_array();
	}
	return p;
}

/* The principal of a bearer token, NULL when it is unknown or expired. */
static struct auth_principal *
auth_bearer(const char *token)
{
	_cleanup_json_ json_t *row = NULL;
	struct dr_error err;
	char hash[65];

	if (strlen(token) > 256)
		return NULL;
	auth_token_hash(token, hash);
	row = store_query_one(&err,
	    "SELECT users.id AS user_id, users.name AS name, users.role AS role FROM api_tokens"
	    " JOIN users ON users.id = api_tokens.user_id"
	    " WHERE token_hash = ? AND (expires_at IS NULL OR expires_at > ?)",
	    "[sI]", hash, (json_int_t)auth_now());
	if (row == NULL) {
		if (err.msg[0] != '\0')
			log_warnx("token lookup: %s", err.msg);
		return NULL;
	}
	return auth_principal_new(row);
}

/* The principal of a session cookie, NULL when unknown, idle too long or expired. */
static struct auth_principal *
auth_session(const char *id)
{
	_cleanup_json_ json_t *row = NULL;
	time_t now = auth_now();
	struct dr_error err;
	char hash[65];

	if (strlen(id) > 128)
		return NULL;
	auth_token_hash(id, hash);
	row = store_query_one(&err,
	    "SELECT users.id AS user_id, users.name AS name, users.role AS role,"
	    " sessions.id AS session_id, csrf, seen_at FROM sessions"
	    " JOIN users ON users.id = sessions.user_id"
	    " WHERE id_hash = ? AND expires_at > ? AND seen_at > ?",
	    "[sII]", hash, (json_int_t)now, (json_int_t)(now - AUTH_SESSION_IDLE));
	if (row == NULL)
		return NULL;
	/* Sliding idle timeout, written at most once a minute. */
	if (json_integer_value(json_object_get(row, "seen_at")) < now - 60)
		store_execf(NULL, NULL, &err, "UPDATE sessions SET seen_at = ? WHERE id_hash = ?",
		    "[Is]", (json_int_t)now, hash);
	return auth_principal_new(row);
}

/*
 * Whether p may do action on resource. *ret_scope (may be NULL; caller frees) is NULL
 * when every object is allowed, or a search ("(a) or (b)") the objects must match.
 */
bool
auth_allowed(
    const struct auth_principal *p, const char *resource, const char *action, char **ret_scope)
{
	struct buf scope = BUF_INIT(SEARCH_QUERY_MAX);
	bool admin_resource = auth_admin_resource(resource), allowed = false;
	size_t i;
	json_t *perm;

	if (ret_scope != NULL)
		*ret_scope = NULL;
	if (strcmp(resource, "tokens") == 0) /* everybody's own */
		return true;
	if (strcmp(p->role, "admin") == 0)
		return true;
	if (strcmp(p->role, "operator") == 0)
		return !admin_resource;
	if (strcmp(p->role, "viewer") == 0)
		return !admin_resource && strcmp(action, "view") == 0;
	json_array_foreach(p->perms, i, perm)
	{
		const char *r = json_string_value(json_object_get(perm, "resource"));
		const char *a = json_string_value(json_object_get(perm, "action"));
		const char *s = json_string_value(json_object_get(perm, "search"));

		if (r == NULL || a == NULL)
			continue;
		if (!(strcmp(r, resource) == 0 || (strcmp(r, "*") == 0 && !admin_resource)))
			continue;
		if (strcmp(a, action) != 0 && strcmp(a, "*") != 0)
			continue;
		if (s == NULL || *s == '\0') {
			buf_free(&scope);
			return true;
		}
		/* A filter limits existing objects: it never grants making new ones. */
		if (strcmp(action, "create") == 0)
			continue;
		if (buf_addf(&scope, "%s(%s)", allowed ? " or " : "", s) < 0) {
			buf_free(&scope);
			return false; /* too many filters to combine: refuse, never widen */
		}
		allowed = true;
	}
	if (allowed && ret_scope != NULL)
		*ret_scope = buf_steal(&scope);
	buf_free(&scope);
	return allowed;
}

/*
 * The permission a route needs: declared, or derived from the pattern and method
 * (see struct http_route). false when the route needs no permission beyond a login.
 */
bool
auth_route_permission(
    const struct http_route *r, char *resource, size_t rsize, char *action, size_t asize)
{
	const char *p = r->pattern, *m = r->method, *last, *seg;
	size_t n;

	if (str_has_prefix(p, "/api/v2/"))
		p += 8;
	else if (str_has_prefix(p, "/ui/"))
		p += 4;
	else
		p = NULL;
	if (r->resource != NULL && *r->resource == '\0')
		return false; /* declared: a login is enough */
	if (r->resource != NULL) {
		str_copy(resource, r->resource, rsize);
	} else {
		if (p == NULL || *p == '\0' || *p == ':')
			return false;
		n = strcspn(p, "/");
		snprintf(resource, rsize, "%.*s", (int)n, p);
	}
	if (r->action != NULL) {
		str_copy(action, r->action, asize);
		return true;
	}
	last = strrchr(r->pattern, '/');
	seg = last != NULL ? last + 1 : r->pattern;
	if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
		str_copy(action, "view", asize);
	else if (strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0)
		str_copy(action, "edit", asize);
	else if (strcmp(m, "DELETE") == 0)
		str_copy(action, "delete", asize);
	else if (strcmp(m, "POST") == 0 && last != NULL && last > r->pattern && *seg != ':' &&
	    last[-1] != '\0' && strstr(r->pattern, "/:") != NULL &&
	    strstr(r->pattern, "/:") < last)
		str_copy(action, seg, asize);
	else
		str_copy(action, "create", asize);
	return true;
}

/* The route hook: who is calling (bearer token or session cookie), and may they? */
int
auth_check(struct http_request *req)
{
	const char *header = http_request_header(req, "Authorization");
	const char *cookie = http_request_cookie(req, AUTH_SESSION_COOKIE);
	const struct http_route *route = http_request_route_def(req);
	struct auth_principal *p = NULL;
	char resource[64], action[64];

	if (header != NULL && strncasecmp(header, "Bearer ", 7) == 0)
		p = auth_bearer(header + 7);
	else if (header == NULL && cookie != NULL)
		p = auth_session(cookie);
	if (p == NULL)
		return 401;
	http_request_set_user(req, p->user, p->role);
	http_request_set_principal(req, p, auth_principal_freep);
	if (route == NULL ||
	    !auth_route_permission(route, resource, sizeof resource, action, sizeof action))
		return 0;
	if (!auth_allowed(p, resource, action, &p->scope)) {
		p->denied = xasprintf("%s:%s", resource, action);
		return 403;
	}
	return 0;
}

/* After the body: a state-changing request in a session must carry the CSRF token. */
int
auth_check_body(struct http_request *req)
{
	struct auth_principal *p = http_request_principal(req);
	const char *method = http_request_method(req);
	const char *given = http_request_header(req, "X-CSRF-Token");
	_cleanup_json_ json_t *form = NULL;

	if (p == NULL || p->session_id == 0 || strcmp(method, "GET") == 0 ||
	    strcmp(method, "HEAD") == 0)
		return 0;
	if (given == NULL && http_request_form(req, &form, NULL) == 0)
		given = json_string_value(json_object_get(form, "csrf_token"));
	if (given == NULL || p->csrf == NULL || strlen(given) != strlen(p->csrf) ||
	    !str_equal_secret(given, p->csrf)) {
		log_warnx("%s %s by %s from %s: missing or wrong CSRF token", method,
		    http_request_path(req), p->user, http_request_remote(req));
		free(p->denied);
		p->denied = xstrdup("csrf");
		return 403;
	}
	return 0;
}

/*
 * First start: with no user at all, create "admin" with the password from
 * $DROVER_ADMIN_PASSWORD or a random one, written to <state_dir>/admin-password (0600)
 * and shown once in the log, as installers of Foreman and Katello do.
 */
int
auth_init(const char *state_dir, struct dr_error *err)
{
	static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
	_cleanup_json_ json_t *rows = NULL;
	_cleanup_free_ char *path = NULL;
	const char *given = getenv("DROVER_ADMIN_PASSWORD");
	unsigned char raw[20];
	char password[sizeof raw + 1];
	size_t i;

	if (store_query("SELECT count(*) AS n FROM users", NULL, &rows, err) < 0)
		return -1;
	if (json_integer_value(json_object_get(json_array_get(rows, 0), "n")) > 0)
		return 0;
	if (given != NULL && *given != '\0') {
		str_copy(password, given, sizeof password);
		if (strlen(given) >= sizeof password)
			return dr_error_set(err, "DROVER_ADMIN_PASSWORD: at most %zu characters",
			    sizeof password - 1);
	} else {
		auth_random(raw, sizeof raw);
		for (i = 0; i < sizeof raw; i++)
			password[i] = alphabet[raw[i] % (sizeof alphabet - 1)];
		password[sizeof raw] = '\0';
	}
	if (auth_user_create("admin", password, "admin", err) < 0)
		return dr_error_prefix(err, "seeding the admin user: ");
	path = xasprintf("%s/admin-password", state_dir);
	if (file_write_atomic(path, password, strlen(password), 0600, err) < 0)
		return -1;
	log_info(
	    "first start: created user 'admin' with password '%s' (also in %s)", password, path);
	return 0;
}
