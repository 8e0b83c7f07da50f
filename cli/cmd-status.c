/* cmd-status.c - drover status, login and admin backup: the appliance itself. */
#define LOG_COMPONENT "cli"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"

#define CLI_PASSWORD_MAX 1024

/* drover status */
int
cmd_status(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *st = NULL;
	const char *key;
	json_t *kinds, *states, *n;
	int r;

	if (argc != 1)
		return cli_usage(cli_cmd_find("status", NULL));
	if ((r = cli_api(cli, "GET", "/api/v2/status", NULL, &st)) != 0)
		return r;
	if (cli->json) {
		cli_print_json(st);
		return 0;
	}
	printf("server   %s\nversion  %s\nuptime   %llds\nstore    %s\n", cli->server,
	    json_string_value(json_object_get(st, "version")),
	    (long long)json_integer_value(json_object_get(st, "uptime")),
	    json_string_value(json_object_get(st, "store")));
	kinds = json_object_get(st, "jobs");
	json_object_foreach(kinds, key, states)
	{
		const char *state;
		printf("jobs     %s:", key);
		json_object_foreach(states, state, n)
		    printf(" %s=%lld", state, (long long)json_integer_value(n));
		putchar('\n');
	}
	return 0;
}

/* Read a password from the terminal without echo. */
static int
cli_password_prompt(const char *prompt, char *buf, size_t size)
{
	struct termios old, quiet;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	ssize_t n;
	size_t len = 0;
	char c;

	if (fd < 0)
		return cli_fail("no terminal to ask for the password: use --password-file, "
		                "DROVER_PASSWORD or standard input");
	(void)!write(fd, prompt, strlen(prompt));
	tcgetattr(fd, &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fd, TCSAFLUSH, &quiet);
	while ((n = read(fd, &c, 1)) == 1 && c != '\n' && len + 1 < size)
		buf[len++] = c;
	buf[len] = '\0';
	tcsetattr(fd, TCSAFLUSH, &old);
	(void)!write(fd, "\n", 1);
	close(fd);
	return 0;
}

/* The first line of standard input (a pipe or a file), without its newline. */
static int
cli_password_stdin(char *buf, size_t size)
{
	size_t len;

	if (fgets(buf, (int)size, stdin) == NULL)
		return cli_fail("standard input: no password");
	len = strcspn(buf, "\r\n");
	if (buf[len] == '\0' && len + 1 == size)
		return cli_fail("standard input: password longer than %zu characters", size - 2);
	buf[len] = '\0';
	return 0;
}

/*
 * A password: from --password-file, else $DROVER_PASSWORD (kept for scripts), else the
 * terminal without echo when standard input is one, else the first line of standard
 * input. 0 or the exit code.
 */
int
cli_password_read(const char *pwfile, const char *prompt, char *buf, size_t size)
{
	const char *env = getenv("DROVER_PASSWORD");
	struct dr_error err;
	char *data = NULL;

	if (pwfile != NULL) {
		if (file_read(pwfile, CLI_PASSWORD_MAX, &data, NULL, &err) < 0)
			return cli_fail("%s", err.msg);
		str_copy(buf, str_trim(data), size);
		explicit_bzero(data, strlen(data));
		free(data);
		return 0;
	}
	if (env != NULL) {
		str_copy(buf, env, size);
		return 0;
	}
	if (isatty(STDIN_FILENO))
		return cli_password_prompt(prompt, buf, size);
	return cli_password_stdin(buf, size);
}

/* drover login [--server URL] [--user NAME] [--password-file FILE]: get an API token. */
int
cmd_login(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"user", required_argument, NULL, 'u'},
	    {"password-file", required_argument, NULL, 'P'},
	    {"server", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	const char *user = "admin", *pwfile = NULL;
	_cleanup_json_ json_t *body = NULL, *answer = NULL;
	char password[CLI_PASSWORD_MAX + 2], host[256];
	int c, r;

	while ((c = getopt_long(argc, argv, "u:s:", opts, NULL)) != -1) {
		if (c == 'u')
			user = optarg;
		else if (c == 'P')
			pwfile = optarg;
		else if (c == 's')
			cli->server = optarg;
		else
			return cli_usage(cli_cmd_find("login", NULL));
	}
	if (optind != argc)
		return cli_usage(cli_cmd_find("login", NULL));
	if (cli_password_read(pwfile, "Password: ", password, sizeof password) != 0)
		return 1;
	if (gethostname(host, sizeof host) < 0)
		str_copy(host, "unknown", sizeof host);
	body = json_pack(
	    "{s:s, s:s, s:s+}", "user", user, "password", password, "name", "drover-cli@", host);
	explicit_bzero(password, sizeof password);
	cli->token = NULL;
	if ((r = cli_api(cli, "POST", "/api/v2/tokens", body, &answer)) != 0)
		return r;
	if (json_string_value(json_object_get(answer, "token")) == NULL)
		return cli_fail("%s: the answer carries no token", cli->server);
	if (cli_config_save(cli->server, json_string_value(json_object_get(answer, "token"))) != 0)
		return 1;
	printf("logged in to %s as %s\n", cli->server, user);
	return 0;
}

struct backup_file {
	FILE *f;
};

static int
backup_write(void *ctx, const char *data, size_t len)
{
	struct backup_file *b = ctx;

	return fwrite(data, 1, len, b->f) == len ? 0 : -1;
}

/* drover admin backup FILE: a consistent copy of the live database, made by droverd. */
int
cmd_admin_backup(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *url = NULL, *tmp = NULL;
	struct http_client_opts o = {
	    .connect_timeout_ms = 5000,
	    .bearer_token = cli->token,
	    .ca_file = getenv("DROVER_CA_FILE"),
	};
	struct backup_file b;
	struct dr_error err;
	long status = 0;
	int r;

	if (argc != 2)
		return cli_usage(cli_cmd_find("admin", "backup"));
	url = xasprintf("%s/api/v2/admin/backup", cli->server);
	tmp = xasprintf("%s.part", argv[1]);
	b.f = fopen(tmp, "wxe");
	if (b.f == NULL)
		return cli_fail("%s: %s", tmp, strerror(errno));
	r = http_stream(url, &o, backup_write, &b, &status, &err);
	if (fclose(b.f) != 0 && r == 0)
		r = dr_error_errno(&err, "%s", tmp);
	if (r == 0 && status != 200)
		r = dr_error_set(&err, "GET %s: %ld", url, status);
	if (r == 0 && rename(tmp, argv[1]) < 0)
		r = dr_error_errno(&err, "%s", argv[1]);
	if (r != 0) {
		unlink(tmp);
		return cli_fail("%s", err.msg);
	}
	printf("backup written to %s\n", argv[1]);
	return 0;
}
