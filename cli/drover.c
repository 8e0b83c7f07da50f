/* drover.c - the drover command: global options and the verb table. */
#define LOG_COMPONENT "cli"
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_cmd cli_cmds[] = {
	{ NULL, "status", cmd_status, CLI_REMOTE, "status",
	    "Show droverd's version, uptime, store and job counts." },
	{ NULL, "login", cmd_login, CLI_REMOTE,
	    "login [--user NAME] [--password-file FILE]",
	    "Get an API token from droverd and keep it in the user config." },
	{ "job", "list", cmd_job_list, CLI_REMOTE,
	    "job list [--state S] [--kind K] [--page N] [--per-page N]", "List jobs." },
	{ "job", "show", cmd_job_show, CLI_REMOTE, "job show ID",
	    "Show a job with its per-item results." },
	{ "job", "run", cmd_job_run, CLI_REMOTE,
	    "job run KIND [-p KEY=VALUE]... [--params JSON] [--timeout S] [--follow]",
	    "Queue a job (and follow its output)." },
	{ "job", "follow", cmd_job_follow, CLI_REMOTE, "job follow ID",
	    "Print a job's output as it comes; exit 0 only if it succeeded." },
	{ "job", "cancel", cmd_job_cancel, CLI_REMOTE, "job cancel ID", "Cancel a job." },
	{ "schedule", "create", cmd_schedule_create, CLI_REMOTE,
	    "schedule create --name N --cron LINE --kind K [--tz ZONE] [-p KEY=VALUE]... "
	    "[--params JSON] [--start TIME] [--end TIME] [--max-iterations N] "
	    "[--misfire run_once|skip] [--disabled]",
	    "Run a job of a kind on a cron schedule in a time zone." },
	{ "schedule", "list", cmd_schedule_list, CLI_REMOTE, "schedule list", "List schedules." },
	{ "schedule", "show", cmd_schedule_show, CLI_REMOTE, "schedule show ID",
	    "Show a schedule and its next fire times." },
	{ "schedule", "delete", cmd_schedule_change, CLI_REMOTE, "schedule delete ID",
	    "Delete a schedule." },
	{ "schedule", "enable", cmd_schedule_change, CLI_REMOTE, "schedule enable ID",
	    "Enable a schedule (missed times are not run)." },
	{ "schedule", "disable", cmd_schedule_change, CLI_REMOTE, "schedule disable ID",
	    "Disable a schedule." },
	{ "admin", "backup", cmd_admin_backup, CLI_REMOTE, "admin backup FILE",
	    "Save a consistent copy of droverd's database to FILE." },
	{ "template", "render", cmd_template_render, 0,
	    "template render FILE [-e k=v] [-e @vars.yml|@vars.json] [--lenient]",
	    "Render a Jinja2 template locally and print the result." },
	{ "cron", "next", cmd_cron_next, 0,
	    "cron next 'LINE' [--tz ZONE] [--from ISO-8601-TIME] [-n N]",
	    "Print the next fire times of a cron line." },
	{ NULL, "play", cmd_play, 0,
	    "play PLAYBOOK [-i INVENTORY]... [-l LIMIT] [-t TAGS] [--skip-tags TAGS] "
	    "[-e k=v|@file|JSON]... [-f FORKS] [-C|--check] [-D|--diff] [-v...] [--json] "
	    "[--syntax-check] [--list-tasks] [--list-hosts] [--start-at-task NAME] "
	    "[--roles-path P] [-K] [--ssh-accept-new] [-c CONNECTION] [-u USER]",
	    "Run an Ansible playbook against the hosts of an inventory (no server needed)." },
};

/* Print a verb's usage on stderr; returns the exit code for bad arguments. */
int
cli_usage(const struct cli_cmd *cmd)
{
	fprintf(stderr, "usage: drover %s\n", cmd->usage);
	return 1;
}

/* Print an error and return exit code 1. */
int
cli_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("drover: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Find a verb in the table. */
const struct cli_cmd *
cli_cmd_find(const char *resource, const char *verb)
{
	size_t i;

	for (i = 0; i < nitems(cli_cmds); i++) {
		const struct cli_cmd *c = &cli_cmds[i];

		if (c->resource == NULL && strcmp(c->verb, resource) == 0)
			return c;
		if (c->resource != NULL && strcmp(c->resource, resource) == 0 && verb != NULL &&
		    strcmp(c->verb, verb) == 0)
			return c;
	}
	return NULL;
}

/* Every "resource verb" pair, one per line: what the bash completion offers. */
static void
cli_commands(void)
{
	size_t i;

	for (i = 0; i < nitems(cli_cmds); i++)
		printf("%s%s%s\n", cli_cmds[i].resource != NULL ? cli_cmds[i].resource : "",
		    cli_cmds[i].resource != NULL ? " " : "", cli_cmds[i].verb);
}

/* For `drover RESOURCE [--help]`: list the resource's verbs; -1 if no such resource. */
static int
cli_resource_help(const char *resource, const char *arg)
{
	FILE *f = arg != NULL && strcmp(arg, "--help") == 0 ? stdout : stderr;
	size_t i;
	int found = -1;

	for (i = 0; i < nitems(cli_cmds); i++) {
		if (cli_cmds[i].resource == NULL || strcmp(cli_cmds[i].resource, resource) != 0)
			continue;
		if (found < 0)
			fprintf(f, "usage:\n");
		fprintf(f, "  drover %-56s %s\n", cli_cmds[i].usage, cli_cmds[i].help);
		found = 0;
	}
	return found;
}

static void
cli_help(FILE *f)
{
	size_t i;

	fputs("usage: drover [--server URL] [--json] <resource> <verb> [ARGS]\n\n", f);
	for (i = 0; i < nitems(cli_cmds); i++)
		fprintf(f, "  %-60s %s\n", cli_cmds[i].usage, cli_cmds[i].help);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "commands", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli = { 0 };
	const struct cli_cmd *cmd;
	int c, r;

	log_init("drover", false, LOG_WARNING);
	/* Global options stop at the first word: the rest belong to the verb. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			cli.server = optarg;
			break;
		case 'j':
			cli.json = true;
			break;
		case 'h':
			cli_help(stdout);
			return 0;
		case 'V':
			printf("drover %s\n", PACKAGE_VERSION);
			return 0;
		case 'C':
			cli_commands();
			return 0;
		default:
			cli_help(stderr);
			return 1;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		cli_help(stderr);
		return 1;
	}
	cmd = cli_cmd_find(argv[0], argc > 1 ? argv[1] : NULL);
	if (cmd == NULL && cli_resource_help(argv[0], argc > 1 ? argv[1] : NULL) == 0)
		return argc > 1 && strcmp(argv[1], "--help") == 0 ? 0 : 1;
	if (cmd == NULL)
		return cli_fail("unknown command '%s%s%s' (see drover --help)", argv[0],
		    argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
	if (cmd->resource != NULL) {
		argc--;
		argv++;
	}
	for (c = 1; c < argc; c++) {
		if (strcmp(argv[c], "--help") == 0) {
			printf("usage: drover %s\n\n%s\n", cmd->usage, cmd->help);
			return 0;
		}
	}
	if ((cmd->flags & CLI_REMOTE) && (r = cli_config_load(&cli)) != 0)
		return r;
	/* Verbs parse their own options; 0 makes glibc forget the "+" mode used above. */
	optind = 0;
	r = cmd->run(&cli, argc, argv);
	json_decref(cli.config);
	return r;
}
