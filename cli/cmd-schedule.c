/* cmd-schedule.c - drover schedule create|list|show|delete|enable|disable. */
#define LOG_COMPONENT "cli"
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_column schedule_columns[] = {
	{ "ID", "id", 0 },
	{ "NAME", "name", 0 },
	{ "CRON", "cron", 0 },
	{ "TZ", "tz", 0 },
	{ "KIND", "kind", 0 },
	{ "ENABLED", "enabled", 0 },
	{ "RUNS", "iterations", 0 },
	{ "NEXT", "next_run_at", CLI_COL_TIME },
	{ "LAST", "last_run_at", CLI_COL_TIME },
};

/*
 * drover schedule create --name N --cron LINE --kind K [--tz Z] [-p K=V]... [--params JSON]
 * [--start TIME] [--end TIME] [--max-iterations N] [--misfire run_once|skip] [--disabled]
 */
int
cmd_schedule_create(struct cli *cli, int argc, char **argv)
{
	/* Options that are plain string fields of the spec, by their long name. */
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 0 },
		{ "cron", required_argument, NULL, 0 },
		{ "kind", required_argument, NULL, 0 },
		{ "tz", required_argument, NULL, 0 },
		{ "start", required_argument, NULL, 0 },
		{ "end", required_argument, NULL, 0 },
		{ "misfire", required_argument, NULL, 0 },
		{ "max-iterations", required_argument, NULL, 'm' },
		{ "param", required_argument, NULL, 'p' },
		{ "params", required_argument, NULL, 'P' },
		{ "disabled", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const fields[] = { "name", "cron", "kind", "tz", "start_at", "end_at",
		"misfire" };
	_cleanup_json_ json_t *spec = json_object(), *params = json_object(), *s = NULL;
	long long max;
	int c, idx, r;

	while ((c = getopt_long(argc, argv, "p:", opts, &idx)) != -1) {
		switch (c) {
		case 0:
			json_object_set_new(spec, fields[idx], json_string(optarg));
			break;
		case 'm':
			if (str_to_ll(optarg, 1, INT32_MAX, &max) < 0)
				return cli_fail("--max-iterations %s: a number from 1", optarg);
			json_object_set_new(spec, "max_iterations", json_integer(max));
			break;
		case 'p':
			if (cli_param_set(params, optarg) != 0)
				return 1;
			break;
		case 'P':
			if (cli_params_merge(params, optarg) != 0)
				return 1;
			break;
		case 'd':
			json_object_set_new(spec, "enabled", json_false());
			break;
		default:
			return cli_usage(cli_cmd_find("schedule", "create"));
		}
	}
	if (optind != argc)
		return cli_usage(cli_cmd_find("schedule", "create"));
	json_object_set(spec, "params", params);
	if ((r = cli_api(cli, "POST", "/api/v2/schedules", spec, &s)) != 0)
		return r;
	if (cli->json)
		cli_print_json(s);
	else
		cli_record(schedule_columns, nitems(schedule_columns), s);
	return 0;
}

/* drover schedule list */
int
cmd_schedule_list(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *answer = NULL;
	int r;

	if (argc != 1)
		return cli_usage(cli_cmd_find("schedule", "list"));
	if ((r = cli_api(cli, "GET", "/api/v2/schedules?per_page=1000", NULL, &answer)) != 0)
		return r;
	if (cli->json)
		cli_print_json(answer);
	else
		cli_table(schedule_columns, nitems(schedule_columns),
		    json_object_get(answer, "results"));
	return 0;
}

/* drover schedule show ID: the schedule and its next fire times in its zone. */
int
cmd_schedule_show(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *s = NULL;
	_cleanup_free_ char *path = NULL;
	long long id;
	size_t i;
	json_t *t;
	int r;

	if (argc != 2)
		return cli_usage(cli_cmd_find("schedule", "show"));
	if (cli_id_arg(argv[1], &id) != 0)
		return 1;
	path = xasprintf("/api/v2/schedules/%lld", id);
	if ((r = cli_api(cli, "GET", path, NULL, &s)) != 0)
		return r;
	if (cli->json) {
		cli_print_json(s);
		return 0;
	}
	cli_record(schedule_columns, nitems(schedule_columns), s);
	json_array_foreach(json_object_get(s, "next_runs_local"), i, t)
		printf("%-*s  %s\n", 8, i == 0 ? "NEXT RUNS" : "", json_string_value(t));
	return 0;
}

/* drover schedule delete|enable|disable ID */
int
cmd_schedule_change(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *s = NULL;
	_cleanup_free_ char *path = NULL;
	bool del = strcmp(argv[0], "delete") == 0;
	long long id;
	int r;

	if (argc != 2)
		return cli_usage(cli_cmd_find("schedule", argv[0]));
	if (cli_id_arg(argv[1], &id) != 0)
		return 1;
	path = del ? xasprintf("/api/v2/schedules/%lld", id)
		   : xasprintf("/api/v2/schedules/%lld/%s", id, argv[0]);
	if ((r = cli_api(cli, del ? "DELETE" : "POST", path, NULL, &s)) != 0)
		return r;
	if (cli->json)
		cli_print_json(s);
	else
		printf("schedule %lld (%s) %sd\n", id,
		    json_string_value(json_object_get(s, "name")), argv[0]);
	return 0;
}
