/* drover.c - the drover command: global options and the verb table. */
#define LOG_COMPONENT "cli"
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_cmd cli_cmds[] = {
	{ "template", "render", cmd_template_render,
	    "template render FILE [-e k=v] [-e @vars.yml|@vars.json] [--lenient]",
	    "Render a Jinja2 template locally and print the result." },
	{ "cron", "next", cmd_cron_next,
	    "cron next 'LINE' [--tz ZONE] [--from ISO-8601-TIME] [-n N]",
	    "Print the next fire times of a cron line." },
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
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli = { .prog = "drover" };
	const struct cli_cmd *cmd;
	int c;

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
	if (cmd == NULL)
		return cli_fail("unknown command '%s%s%s' (see drover --help)", argv[0],
		    argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
	if (cmd->resource != NULL) {
		argc--;
		argv++;
	}
	optind = 1; /* verbs parse their own options with getopt */
	return cmd->run(&cli, argc, argv);
}
