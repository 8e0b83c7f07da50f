/* cmd-cron.c - drover cron verbs: print the fire times of a cron line. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/cli.h"

#define CRON_NEXT_MAX 1000

/* drover cron next 'LINE' [--tz ZONE] [--from TIME] [-n N] */
int
cmd_cron_next(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tz", required_argument, NULL, 'z' },
		{ "from", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *tz = NULL, *from = NULL;
	char zone[256], when[64];
	struct cron *c = NULL;
	struct dr_error err;
	long long count = 5, i;
	json_t *out = NULL;
	time_t t;
	int ch, rc = 1;

	/*
	 * optind = 0 makes glibc re-read the option string: drover's own "+" (stop at the
	 * first word) would otherwise persist, and options could not follow the line.
	 */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (ch) {
		case 'z':
			tz = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 'n':
			if (str_to_ll(optarg, 1, CRON_NEXT_MAX, &count) < 0)
				return cli_fail("-n %s: expected a count from 1 to %d", optarg,
				    CRON_NEXT_MAX);
			break;
		default:
			return cli_usage(cli_cmd_find("cron", "next"));
		}
	}
	if (argc - optind != 1)
		return cli_usage(cli_cmd_find("cron", "next"));
	if (tz == NULL) {
		tz_default(zone, sizeof zone);
		tz = zone;
	}
	if (tz_check(tz, &err) < 0)
		return cli_fail("%s", err.msg);
	if (from == NULL)
		t = time(NULL);
	else if (tz_parse_time(from, tz, &t, &err) < 0)
		return cli_fail("--from: %s", err.msg);
	if (cron_parse(argv[optind], &c, &err) < 0)
		return cli_fail("%s", err.msg);
	if (cli->json)
		out = json_array();
	for (i = 0; i < count; i++) {
		if (cron_next(c, tz, t, &t, &err) < 0 ||
		    tz_format(tz, t, when, sizeof when, &err) < 0) {
			cli_fail("%s", err.msg);
			goto out;
		}
		if (out != NULL)
			json_array_append_new(out, json_string(when));
		else
			printf("%s\n", when);
	}
	if (out != NULL) {
		char *s = json_dumps(out, JSON_INDENT(2));

		if (s == NULL) {
			cli_fail("out of memory");
			goto out;
		}
		printf("%s\n", s);
		free(s);
	}
	rc = fflush(stdout) == 0 ? 0 : cli_fail("writing the output failed");
out:
	json_decref(out);
	cron_free(c);
	return rc;
}
