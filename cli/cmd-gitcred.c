/* cmd-gitcred.c - drover git-credential create|update|list|show|delete: the user name and
 * token with which droverd fetches playbooks from a private https:// git repository. The
 * token is read from a file (or standard input), never from the command line. */
#define LOG_COMPONENT "cli"
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define GITCRED_TOKEN_MAX 4096

static const struct cli_column gitcred_columns[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"CREATED", "created_at", CLI_COL_TIME},
    {"BY", "created_by", 0},
    {"UPDATED", "updated_at", CLI_COL_TIME},
    {"UPDATED BY", "updated_by", 0},
};

/* /api/v2/git_credentials/ID of the credential called name (or with that id): names
 * made from a repository URL have slashes, which a path segment cannot carry, so the id
 * is looked up. NULL (after saying why) when there is none. */
static char *
gitcred_path(struct cli *cli, const char *name)
{
	_cleanup_json_ json_t *answer = NULL;
	_cleanup_free_ char *search = NULL, *q = NULL, *path = NULL;
	json_t *row;

	if (strspn(name, "0123456789") == strlen(name) && *name != '\0')
		return xasprintf("/api/v2/git_credentials/%s", name);
	search = xasprintf("name = \"%s\"", name);
	q = cli_urlencode(search);
	path = xasprintf("/api/v2/git_credentials?search=%s&per_page=1", q);
	if (cli_api(cli, "GET", path, NULL, &answer) != 0)
		return NULL;
	row = json_array_get(json_object_get(answer, "results"), 0);
	if (!json_is_integer(json_object_get(row, "id"))) {
		cli_fail("no git credential '%s'", name);
		return NULL;
	}
	return xasprintf("/api/v2/git_credentials/%lld",
	    (long long)json_integer_value(json_object_get(row, "id")));
}

/* The token from file ("-": standard input), its surrounding blanks trimmed; 0 or an exit
 * code. Caller bzeroes and frees *ret. */
static int
gitcred_token_read(const char *file, char **ret)
{
	struct dr_error err;
	char *data = NULL;

	if (strcmp(file, "-") == 0) {
		struct buf b = BUF_INIT(GITCRED_TOKEN_MAX + 2);
		char chunk[1024];
		size_t n;
		while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
			if (buf_add(&b, chunk, n) < 0) {
				buf_free(&b);
				return cli_fail("standard input: a token is at most %d bytes",
				    GITCRED_TOKEN_MAX);
			}
		data = b.data ? buf_steal(&b) : xstrdup("");
	} else if (file_read(file, GITCRED_TOKEN_MAX + 2, &data, NULL, &err) < 0)
		return cli_fail("%s", err.msg);
	*ret = data;
	{
		char *t = str_trim(data);
		memmove(data, t, strlen(t) + 1);
	}
	if (*data == '\0') {
		free(data);
		return cli_fail("%s: no token in it", file);
	}
	return 0;
}

/*
 * drover git-credential create --name N --username U --token-file F|-
 * drover git-credential update NAME [--name NEW] --username U --token-file F|-
 */
int
cmd_gitcred_save(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"username", required_argument, NULL, 'u'},
	    {"token-file", required_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	bool create = strcmp(argv[0], "create") == 0;
	_cleanup_json_ json_t *body = json_object(), *out = NULL;
	_cleanup_free_ char *path = NULL;
	const char *tokfile = NULL;
	char *token = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			json_object_set_new(body, "name", json_string(optarg));
		else if (c == 'u')
			json_object_set_new(body, "username", json_string(optarg));
		else if (c == 't')
			tokfile = optarg;
		else
			return cli_usage(cli_cmd_find("git-credential", argv[0]));
	}
	if (optind != argc - (create ? 0 : 1) || tokfile == NULL ||
	    json_object_get(body, "username") == NULL ||
	    (create && json_object_get(body, "name") == NULL))
		return cli_usage(cli_cmd_find("git-credential", argv[0]));
	if ((r = gitcred_token_read(tokfile, &token)) != 0)
		return r;
	json_object_set_new(body, "password", json_string(token));
	explicit_bzero(token, strlen(token));
	free(token);
	if (create)
		r = cli_api(cli, "POST", "/api/v2/git_credentials", body, &out);
	else {
		if ((path = gitcred_path(cli, argv[optind])) == NULL)
			return 1;
		r = cli_api(cli, "PUT", path, body, &out);
	}
	if (r != 0)
		return r;
	if (cli->json)
		cli_print_json(out);
	else
		cli_record(gitcred_columns, nitems(gitcred_columns), out);
	return 0;
}

/* drover git-credential list */
int
cmd_gitcred_list(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *answer = NULL;
	int r;

	if (argc != 1)
		return cli_usage(cli_cmd_find("git-credential", "list"));
	if ((r = cli_api(cli, "GET", "/api/v2/git_credentials", NULL, &answer)) != 0)
		return r;
	if (cli->json)
		cli_print_json(answer);
	else
		cli_table(
		    gitcred_columns, nitems(gitcred_columns), json_object_get(answer, "results"));
	return 0;
}

/* drover git-credential show|delete NAME */
int
cmd_gitcred_act(struct cli *cli, int argc, char **argv)
{
	bool del = strcmp(argv[0], "delete") == 0;
	_cleanup_json_ json_t *out = NULL;
	_cleanup_free_ char *path = NULL;
	size_t i;
	json_t *x;
	int r;

	if (argc != 2)
		return cli_usage(cli_cmd_find("git-credential", argv[0]));
	if ((path = gitcred_path(cli, argv[1])) == NULL)
		return 1;
	if ((r = cli_api(cli, del ? "DELETE" : "GET", path, NULL, &out)) != 0)
		return r;
	if (cli->json)
		cli_print_json(out);
	else if (del)
		printf("git credential %s deleted\n", argv[1]);
	else {
		cli_record(gitcred_columns, nitems(gitcred_columns), out);
		json_array_foreach(json_object_get(out, "schedules"), i, x) printf("%-10s  %s\n",
		    i == 0 ? "SCHEDULES" : "", json_string_value(json_object_get(x, "name")));
	}
	return 0;
}
