/* auth.c - users, roles and API tokens: who may call which route. */
#define LOG_COMPONENT "auth"
#include "config.h"

#include <crypt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "webui/webui.h"

#define AUTH_TOKEN_BYTES 32
#define AUTH_NAME_MAX 64
#define AUTH_PASSWORD_MAX 1024

static const struct store_migration auth_migrations[] = {
	{ "auth", 1,
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
	    " expires_at INTEGER);" },
};

/* Roles in rank order: each may do what the ones before it may. */
static const char *const auth_roles[] = { "viewer", "operator", "admin" };

/*
 * Which role a request needs, first match wins. Reading is for everyone signed in,
 * changing things is for operators, and the appliance itself (users, backups) for admins.
 */
static const struct auth_rule {
	const char *method; /* NULL: any */
	const char *prefix;
	const char *role;
} auth_rules[] = {
	{ NULL, "/api/v2/admin/", "admin" },
	{ NULL, "/api/v2/users", "admin" },
	{ "GET", "/", "viewer" },
	{ "HEAD", "/", "viewer" },
	{ "POST", "/api/v2/tokens", "viewer" },
	{ NULL, "/", "operator" },
};

/* Register the auth tables; before store_open. */
void
auth_register(void)
{
	store_register(auth_migrations, nitems(auth_migrations));
}

static int
auth_role_rank(const char *role)
{
	size_t i;

	for (i = 0; i < nitems(auth_roles); i++)
		if (strcmp(role, auth_roles[i]) == 0)
			return (int)i;
	return -1;
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
	bool ok = h != NULL && h[0] != '*' && str_equal_secret(h, hash);

	free(cd);
	return ok;
}

/* Create a local user. */
int
auth_user_create(const char *name, const char *password, const char *role,
    struct dr_error *err)
{
	_cleanup_free_ char *hash = NULL;
	_cleanup_json_ json_t *params = NULL;
	size_t i;

	if (*name == '\0' || strlen(name) > AUTH_NAME_MAX)
		return dr_error_set(err, "user name must have 1 to %d characters", AUTH_NAME_MAX);
	for (i = 0; name[i] != '\0'; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@",
			name[i]))
			return dr_error_set(err, "user name '%s': only letters, digits and ._-@",
			    name);
	if (strlen(password) < 8 || strlen(password) > AUTH_PASSWORD_MAX)
		return dr_error_set(err, "password must have 8 to %d characters",
		    AUTH_PASSWORD_MAX);
	if (auth_role_rank(role) < 0)
		return dr_error_set(err, "role '%s' is not one of viewer, operator, admin", role);
	if (auth_password_hash(password, &hash, err) < 0)
		return -1;
	params = json_pack("[sssI]", name, hash, role, (json_int_t)time(NULL));
	return store_exec("INSERT INTO users (name, password_hash, role, created_at)"
			  " VALUES (?, ?, ?, ?)",
	    params, NULL, NULL, err);
}

/* Check a user's password; on success *ret_role (static string) names the role. */
int
auth_password_check(const char *name, const char *password, const char **ret_role)
{
	_cleanup_json_ json_t *rows = NULL;
	_cleanup_json_ json_t *params = json_pack("[s]", name);
	const char *hash, *role;
	struct dr_error err;
	json_t *row;
	int rank;

	if (strlen(password) > AUTH_PASSWORD_MAX)
		return -1;
	if (store_query("SELECT password_hash, role FROM users WHERE name = ?", params, &rows,
		&err) < 0) {
		log_warnx("password check for %s: %s", name, err.msg);
		return -1;
	}
	row = json_array_get(rows, 0);
	if (row == NULL) {
		/* Spend the same time as for a real user, so names cannot be probed. */
		auth_password_matches(password, "$y$j9T$AAAAAAAAAAAAAAAAAAAAA.$"
						"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
		return -1;
	}
	hash = json_string_value(json_object_get(row, "password_hash"));
	role = json_string_value(json_object_get(row, "role"));
	if (hash == NULL || role == NULL || !auth_password_matches(password, hash))
		return -1;
	rank = auth_role_rank(role);
	if (rank < 0)
		return -1;
	*ret_role = auth_roles[rank];
	return 0;
}

/* Make an API token for a user; *ret_token is shown once and never stored. */
int
auth_token_create(const char *user, const char *name, int64_t ttl, char **ret_token,
    struct dr_error *err)
{
	unsigned char raw[AUTH_TOKEN_BYTES];
	char hex[2 * AUTH_TOKEN_BYTES + 1], hash[65];
	_cleanup_json_ json_t *params = NULL;
	_cleanup_free_ char *token = NULL;
	time_t now = time(NULL);
	int64_t changes = 0;

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

static int
auth_bearer(const char *token, const char **ret_user, const char **ret_role, json_t **keep)
{
	_cleanup_json_ json_t *params = NULL;
	json_t *rows = NULL, *row;
	struct dr_error err;
	char hash[65];

	auth_token_hash(token, hash);
	params = json_pack("[sI]", hash, (json_int_t)time(NULL));
	if (store_query("SELECT users.name AS name, users.role AS role FROM api_tokens"
			" JOIN users ON users.id = api_tokens.user_id"
			" WHERE token_hash = ? AND (expires_at IS NULL OR expires_at > ?)",
		params, &rows, &err) < 0) {
		log_warnx("token lookup: %s", err.msg);
		return -1;
	}
	row = json_array_get(rows, 0);
	if (row == NULL) {
		json_decref(rows);
		return -1;
	}
	*ret_user = json_string_value(json_object_get(row, "name"));
	*ret_role = json_string_value(json_object_get(row, "role"));
	*keep = rows;
	return 0;
}

/* The route hook: authenticate the bearer token, then authorise by role. */
int
auth_check(struct http_request *req)
{
	const char *header = http_request_header(req, "Authorization");
	const char *method = http_request_method(req), *path = http_request_path(req);
	const char *user = NULL, *role = NULL;
	_cleanup_json_ json_t *keep = NULL;
	size_t i;

	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return 401;
	if (auth_bearer(header + 7, &user, &role, &keep) < 0 || user == NULL || role == NULL)
		return 401;
	http_request_set_user(req, user, role);
	for (i = 0; i < nitems(auth_rules); i++) {
		const struct auth_rule *r = &auth_rules[i];
		if (r->method != NULL && strcmp(r->method, method) != 0)
			continue;
		if (!str_has_prefix(path, r->prefix))
			continue;
		return auth_role_rank(role) >= auth_role_rank(r->role) ? 0 : 403;
	}
	return 403;
}

/*
 * First start: with no user at all, create "admin" with the password from
 * $DROVER_ADMIN_PASSWORD or a random one, written to <state_dir>/admin-password (0600)
 * and shown once in the log, as installers of Foreman and Katello do.
 */
int
auth_init(const char *state_dir, struct dr_error *err)
{
	static const char alphabet[] =
	    "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
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
	log_info("first start: created user 'admin' with password '%s' (also in %s)", password,
	    path);
	return 0;
}
