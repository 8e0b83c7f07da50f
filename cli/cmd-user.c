/* cmd-user.c - drover user|role|token|audit: the people who use droverd and their rights. */
#define LOG_COMPONENT "cli"
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define CLI_PASSWORD_BUF 1026

static const struct cli_column user_columns[] = {
    {"ID", "id", 0},
    {"LOGIN", "login", 0},
    {"ROLE", "role", 0},
    {"CREATED", "created_at", CLI_COL_TIME},
    {"LAST LOGIN", "last_login_at", CLI_COL_TIME},
};

static const struct cli_column role_columns[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"BUILTIN", "builtin", 0},
    {"DESCRIPTION", "description", 0},
};

static const struct cli_column perm_columns[] = {
    {"RESOURCE", "resource", 0},
    {"ACTION", "action", 0},
    {"SEARCH", "search", 0},
};

static const struct cli_column token_columns[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"USER", "user", 0},
    {"CREATED", "created_at", CLI_COL_TIME},
    {"EXPIRES", "expires_at", CLI_COL_TIME},
};

static const struct cli_column audit_columns[] = {
    {"ID", "id", 0},
    {"AT", "at", CLI_COL_TIME},
    {"USER", "user", 0},
    {"FROM", "remote", 0},
    {"SUMMARY", "summary", 0},
};

/*
 * The id of the object named by arg: digits are an id, anything else the value of
 * field (login, name) looked up through the list's search. 0 or the exit code.
 */
static int
cli_resolve(struct cli *cli, const char *list, const char *field, const char *arg, long long *ret)
{
	_cleanup_json_ json_t *answer = NULL;
	_cleanup_free_ char *q = NULL, *path = NULL, *search = NULL;
	json_t *row;
	int r;

	if (str_to_ll(arg, 1, INT64_MAX, ret) == 0)
		return 0;
	if (strchr(arg, '"') != NULL || strchr(arg, '\\') != NULL)
		return cli_fail("'%s' is not a valid name", arg);
	search = xasprintf("%s = \"%s\"", field, arg);
	q = cli_urlencode(search);
	path = xasprintf("%s?search=%s&per_page=2", list, q);
	if ((r = cli_api(cli, "GET", path, NULL, &answer)) != 0)
		return r;
	row = json_array_get(json_object_get(answer, "results"), 0);
	if (row == NULL)
		return cli_fail("no %s '%s'", list + strlen("/api/v2/"), arg);
	*ret = json_integer_value(json_object_get(row, "id"));
	return 0;
}

/* GET a list and print it as a table. */
static int
cli_list(struct cli *cli, const char *path, const struct cli_column *cols, size_t ncols)
{
	_cleanup_json_ json_t *answer = NULL;
	int r;

	if ((r = cli_api(cli, "GET", path, NULL, &answer)) != 0)
		return r;
	if (cli->json)
		cli_print_json(answer);
	else
		cli_table(cols, ncols, json_object_get(answer, "results"));
	return 0;
}

/* Print one object (or its JSON). */
static void
cli_show(struct cli *cli, const json_t *obj, const struct cli_column *cols, size_t ncols)
{
	if (cli->json)
		cli_print_json(obj);
	else
		cli_record(cols, ncols, obj);
}

/* drover user create --login NAME --role ROLE [--password-file FILE] */
int
cmd_user_create(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"login", required_argument, NULL, 'l'},
	    {"role", required_argument, NULL, 'r'},
	    {"password-file", required_argument, NULL, 'P'},
	    {NULL, 0, NULL, 0},
	};
	const char *login = NULL, *role = NULL, *pwfile = NULL;
	_cleanup_json_ json_t *body = NULL, *user = NULL;
	char password[CLI_PASSWORD_BUF];
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'l')
			login = optarg;
		else if (c == 'r')
			role = optarg;
		else if (c == 'P')
			pwfile = optarg;
		else
			return cli_usage(cli_cmd_find("user", "create"));
	}
	if (optind != argc || login == NULL || role == NULL)
		return cli_usage(cli_cmd_find("user", "create"));
	if (cli_password_read(pwfile, "New user's password: ", password, sizeof password) != 0)
		return 1;
	body = json_pack("{s:s, s:s, s:s}", "login", login, "role", role, "password", password);
	explicit_bzero(password, sizeof password);
	if ((r = cli_api(cli, "POST", "/api/v2/users", body, &user)) != 0)
		return r;
	cli_show(cli, user, user_columns, nitems(user_columns));
	return 0;
}

/* drover user list [--search QUERY] */
int
cmd_user_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"search", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	_cleanup_free_ char *path = NULL, *q = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 's')
			return cli_usage(cli_cmd_find("user", "list"));
		free(q);
		q = cli_urlencode(optarg);
	}
	if (optind != argc)
		return cli_usage(cli_cmd_find("user", "list"));
	path = xasprintf(
	    "/api/v2/users?per_page=1000%s%s", q != NULL ? "&search=" : "", q != NULL ? q : "");
	return cli_list(cli, path, user_columns, nitems(user_columns));
}

/* drover user show LOGIN|ID */
int
cmd_user_show(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *user = NULL;
	_cleanup_free_ char *path = NULL;
	long long id;
	int r;

	if (argc != 2)
		return cli_usage(cli_cmd_find("user", "show"));
	if ((r = cli_resolve(cli, "/api/v2/users", "login", argv[1], &id)) != 0)
		return r;
	path = xasprintf("/api/v2/users/%lld", id);
	if ((r = cli_api(cli, "GET", path, NULL, &user)) != 0)
		return r;
	cli_show(cli, user, user_columns, nitems(user_columns));
	return 0;
}

/* drover user update LOGIN|ID [--role ROLE] [--password] [--password-file FILE] */
int
cmd_user_update(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"role", required_argument, NULL, 'r'},
	    {"password", no_argument, NULL, 'p'},
	    {"password-file", required_argument, NULL, 'P'},
	    {NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_t *body = json_object(), *user = NULL;
	_cleanup_free_ char *path = NULL;
	const char *pwfile = NULL;
	char password[CLI_PASSWORD_BUF];
	bool new_password = false;
	long long id;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'r')
			json_object_set_new(body, "role", json_string(optarg));
		else if (c == 'p')
			new_password = true;
		else if (c == 'P')
			pwfile = optarg, new_password = true;
		else
			return cli_usage(cli_cmd_find("user", "update"));
	}
	if (optind + 1 != argc || (json_object_size(body) == 0 && !new_password))
		return cli_usage(cli_cmd_find("user", "update"));
	if ((r = cli_resolve(cli, "/api/v2/users", "login", argv[optind], &id)) != 0)
		return r;
	if (new_password) {
		if (cli_password_read(pwfile, "New password: ", password, sizeof password) != 0)
			return 1;
		json_object_set_new(body, "password", json_string(password));
		explicit_bzero(password, sizeof password);
	}
	path = xasprintf("/api/v2/users/%lld", id);
	if ((r = cli_api(cli, "PUT", path, body, &user)) != 0)
		return r;
	cli_show(cli, user, user_columns, nitems(user_columns));
	return 0;
}

/* drover user delete LOGIN|ID */
int
cmd_user_delete(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *path = NULL;
	long long id;
	int r;

	if (argc != 2)
		return cli_usage(cli_cmd_find("user", "delete"));
	if ((r = cli_resolve(cli, "/api/v2/users", "login", argv[1], &id)) != 0)
		return r;
	path = xasprintf("/api/v2/users/%lld", id);
	if ((r = cli_api(cli, "DELETE", path, NULL, NULL)) != 0)
		return r;
	printf("user %s deleted\n", argv[1]);
	return 0;
}

/* "RESOURCE ACTION [SEARCH…]" as a permission object. */
static json_t *
cli_permission(const char *arg)
{
	_cleanup_free_ char *copy = xstrdup(arg);
	char *rest = str_trim(copy), *res, *act;

	res = strsep(&rest, " \t");
	while (rest != NULL && (*rest == ' ' || *rest == '\t'))
		rest++;
	act = rest != NULL ? strsep(&rest, " \t") : NULL;
	if (act == NULL || *act == '\0')
		return NULL;
	return json_pack("{s:s, s:s, s:s}", "resource", res, "action", act, "search",
	    rest != NULL ? str_trim(rest) : "");
}

/* Options shared by role create and update; 0, or the exit code. */
static int
cli_role_options(int argc, char **argv, json_t *body, const struct cli_cmd *cmd)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"description", required_argument, NULL, 'd'},
	    {"permission", required_argument, NULL, 'p'},
	    {NULL, 0, NULL, 0},
	};
	json_t *perms = NULL, *perm;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			json_object_set_new(body, "name", json_string(optarg));
			break;
		case 'd':
			json_object_set_new(body, "description", json_string(optarg));
			break;
		case 'p':
			if ((perm = cli_permission(optarg)) == NULL)
				return cli_fail("--permission '%s': expected 'RESOURCE ACTION "
				                "[SEARCH]'",
				    optarg);
			if (perms == NULL) {
				perms = json_array();
				json_object_set_new(body, "permissions", perms);
			}
			json_array_append_new(perms, perm);
			break;
		default:
			return cli_usage(cmd);
		}
	}
	return 0;
}

/* Print a role and its permissions. */
static void
cli_role_print(struct cli *cli, const json_t *role)
{
	if (cli->json) {
		cli_print_json(role);
		return;
	}
	cli_record(role_columns, nitems(role_columns), role);
	putchar('\n');
	cli_table(perm_columns, nitems(perm_columns), json_object_get(role, "permissions"));
}

/* drover role create --name NAME [--description TEXT] --permission '…'... */
int
cmd_role_create(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *body = json_object(), *role = NULL;
	int r;

	if ((r = cli_role_options(argc, argv, body, cli_cmd_find("role", "create"))) != 0)
		return r;
	if (optind != argc || json_object_get(body, "name") == NULL)
		return cli_usage(cli_cmd_find("role", "create"));
	if (json_object_get(body, "permissions") == NULL)
		json_object_set_new(body, "permissions", json_array());
	if ((r = cli_api(cli, "POST", "/api/v2/roles", body, &role)) != 0)
		return r;
	cli_role_print(cli, role);
	return 0;
}

/* drover role list */
int
cmd_role_list(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *answer = NULL;
	json_t *role;
	size_t i;
	int r;

	if (argc != 1)
		return cli_usage(cli_cmd_find("role", "list"));
	if ((r = cli_api(cli, "GET", "/api/v2/roles?per_page=1000", NULL, &answer)) != 0)
		return r;
	if (cli->json) {
		cli_print_json(answer);
		return 0;
	}
	json_array_foreach(json_object_get(answer, "results"), i, role)
	{
		json_t *perm;
		size_t j;
		struct buf b = BUF_INIT(0);

		json_array_foreach(json_object_get(role, "permissions"), j, perm)
		{
			const char *s = json_string_value(json_object_get(perm, "search"));

			buf_addf(&b, "%s%s:%s%s%s", j > 0 ? ", " : "",
			    json_string_value(json_object_get(perm, "resource")),
			    json_string_value(json_object_get(perm, "action")),
			    s != NULL && *s != '\0' ? " where " : "", s != NULL ? s : "");
		}
		json_object_set_new(role, "perms", json_string(b.data != NULL ? b.data : ""));
		buf_free(&b);
	}
	{
		static const struct cli_column cols[] = {
		    {"ID", "id", 0},
		    {"NAME", "name", 0},
		    {"BUILTIN", "builtin", 0},
		    {"PERMISSIONS", "perms", 0},
		};
		cli_table(cols, nitems(cols), json_object_get(answer, "results"));
	}
	return 0;
}

/* drover role show NAME|ID */
int
cmd_role_show(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *role = NULL;
	_cleanup_free_ char *path = NULL;
	long long id;
	int r;

	if (argc != 2)
		return cli_usage(cli_cmd_find("role", "show"));
	if ((r = cli_resolve(cli, "/api/v2/roles", "name", argv[1], &id)) != 0)
		return r;
	path = xasprintf("/api/v2/roles/%lld", id);
	if ((r = cli_api(cli, "GET", path, NULL, &role)) != 0)
		return r;
	cli_role_print(cli, role);
	return 0;
}

/* drover role update NAME|ID [--name N] [--description T] [--permission '…']... */
int
cmd_role_update(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *body = json_object(), *role = NULL;
	_cleanup_free_ char *path = NULL;
	long long id;
	int r;

	if ((r = cli_role_options(argc, argv, body, cli_cmd_find("role", "update"))) != 0)
		return r;
	if (optind + 1 != argc || json_object_size(body) == 0)
		return cli_usage(cli_cmd_find("role", "update"));
	if ((r = cli_resolve(cli, "/api/v2/roles", "name", argv[optind], &id)) != 0)
		return r;
	path = xasprintf("/api/v2/roles/%lld", id);
	if ((r = cli_api(cli, "PUT", path, body, &role)) != 0)
		return r;
	cli_role_print(cli, role);
	return 0;
}

/* drover role delete NAME|ID */
int
cmd_role_delete(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *path = NULL;
	long long id;
	int r;

	if (argc != 2)
		return cli_usage(cli_cmd_find("role", "delete"));
	if ((r = cli_resolve(cli, "/api/v2/roles", "name", argv[1], &id)) != 0)
		return r;
	path = xasprintf("/api/v2/roles/%lld", id);
	if ((r = cli_api(cli, "DELETE", path, NULL, NULL)) != 0)
		return r;
	printf("role %s deleted\n", argv[1]);
	return 0;
}

/* drover token create --name NAME [--expires-in S] [--user NAME] [--password-file F] */
int
cmd_token_create(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"expires-in", required_argument, NULL, 'e'},
	    {"user", required_argument, NULL, 'u'},
	    {"password-file", required_argument, NULL, 'P'},
	    {NULL, 0, NULL, 0},
	};
	const char *name = NULL, *user = "admin", *pwfile = NULL;
	_cleanup_json_ json_t *body = NULL, *answer = NULL;
	char password[CLI_PASSWORD_BUF];
	long long ttl = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			name = optarg;
		else if (c == 'e' && str_to_ll(optarg, 0, INT64_MAX, &ttl) < 0)
			return cli_fail("--expires-in %s: expected seconds", optarg);
		else if (c == 'u')
			user = optarg;
		else if (c == 'P')
			pwfile = optarg;
		else if (c != 'e')
			return cli_usage(cli_cmd_find("token", "create"));
	}
	if (optind != argc || name == NULL)
		return cli_usage(cli_cmd_find("token", "create"));
	if (cli_password_read(pwfile, "Password: ", password, sizeof password) != 0)
		return 1;
	body = json_pack("{s:s, s:s, s:s, s:I}", "user", user, "password", password, "name", name,
	    "expires_in", (json_int_t)ttl);
	explicit_bzero(password, sizeof password);
	if ((r = cli_api(cli, "POST", "/api/v2/tokens", body, &answer)) != 0)
		return r;
	if (cli->json)
		cli_print_json(answer);
	else
		printf("%s\n", json_string_value(json_object_get(answer, "token")));
	return 0;
}

/* drover token list */
int
cmd_token_list(struct cli *cli, int argc, char **argv)
{
	if (argc != 1)
		return cli_usage(cli_cmd_find("token", "list"));
	return cli_list(cli, "/api/v2/tokens?per_page=1000", token_columns, nitems(token_columns));
}

/* drover token delete ID */
int
cmd_token_delete(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *path = NULL;
	long long id;
	int r;

	if (argc != 2)
		return cli_usage(cli_cmd_find("token", "delete"));
	if ((r = cli_id_arg(argv[1], &id)) != 0)
		return r;
	path = xasprintf("/api/v2/tokens/%lld", id);
	if ((r = cli_api(cli, "DELETE", path, NULL, NULL)) != 0)
		return r;
	printf("token %lld revoked\n", id);
	return 0;
}

/* drover audit list [--search QUERY] [--page N] [--per-page N] */
int
cmd_audit_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"search", required_argument, NULL, 's'},
	    {"page", required_argument, NULL, 'p'},
	    {"per-page", required_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0},
	};
	struct buf path = BUF_INIT(8192);
	int c, r;

	buf_adds(&path, "/api/v2/audits?");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		_cleanup_free_ char *v = NULL;

		if (c == '?') {
			buf_free(&path);
			return cli_usage(cli_cmd_find("audit", "list"));
		}
		v = cli_urlencode(optarg);
		buf_addf(&path, "%s=%s&", c == 's' ? "search" : c == 'p' ? "page" : "per_page", v);
	}
	r = cli_list(cli, path.data, audit_columns, nitems(audit_columns));
	buf_free(&path);
	return r;
}
