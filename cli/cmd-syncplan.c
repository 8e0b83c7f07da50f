/* cmd-syncplan.c - drover sync-plan create|list|show|update|delete|enable|disable|sync. */
#define LOG_COMPONENT "cli"
#include "config.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_column syncplan_columns[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"INTERVAL", "interval", 0},
    {"CRON", "cron_expression", 0},
    {"TZ", "time_zone", 0},
    {"ENABLED", "enabled", 0},
    {"NEXT SYNC", "next_sync", 0},
};

/* /api/v2/sync_plans/NAME[suffix] with NAME escaped. */
static char *
syncplan_path(const char *name, const char *suffix)
{
	char *esc = curl_easy_escape(NULL, name, 0);
	char *path = xasprintf("/api/v2/sync_plans/%s%s", esc ? esc : "", suffix);

	curl_free(esc);
	return path;
}

/* Print a plan: its fields, repositories and next runs. */
static void
syncplan_print(struct cli *cli, const json_t *plan)
{
	size_t i;
	json_t *x;

	if (cli->json) {
		cli_print_json(plan);
		return;
	}
	cli_record(syncplan_columns, nitems(syncplan_columns), plan);
	json_array_foreach(json_object_get(plan, "repositories"), i, x) printf("%-10s  %s (%s)\n",
	    i == 0 ? "REPOS" : "", json_string_value(json_object_get(x, "name")),
	    json_string_value(json_object_get(x, "last_sync_state"))
	        ? json_string_value(json_object_get(x, "last_sync_state"))
	        : "never synced");
	json_array_foreach(json_object_get(plan, "next_runs"), i, x)
	    printf("%-10s  %s\n", i == 0 ? "NEXT RUNS" : "", json_string_value(x));
}

/*
 * drover sync-plan create NAME --interval I [--cron EXPR] [--start TIME] [--time-zone TZ]
 * [--description TEXT] [--repository R]... [--product P]... [--disabled]; update takes the
 * same options, each optional (--repository/--product replace the lists).
 */
int
cmd_syncplan_save(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"interval", required_argument, NULL, 'i'},
	    {"cron", required_argument, NULL, 'c'},
	    {"start", required_argument, NULL, 's'},
	    {"time-zone", required_argument, NULL, 'z'},
	    {"description", required_argument, NULL, 'd'},
	    {"repository", required_argument, NULL, 'r'},
	    {"product", required_argument, NULL, 'p'},
	    {"name", required_argument, NULL, 'n'},
	    {"disabled", no_argument, NULL, 'D'},
	    {"enabled", no_argument, NULL, 'E'},
	    {NULL, 0, NULL, 0},
	};
	bool create = strcmp(argv[0], "create") == 0;
	_cleanup_json_ json_t *body = json_object(), *out = NULL;
	_cleanup_free_ char *path = NULL;
	const char *key = NULL;
	json_t *list;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			json_object_set_new(body, "interval", json_string(optarg));
			break;
		case 'c':
			json_object_set_new(body, "cron_expression", json_string(optarg));
			break;
		case 's':
			json_object_set_new(body, "sync_date", json_string(optarg));
			break;
		case 'z':
			json_object_set_new(body, "time_zone", json_string(optarg));
			break;
		case 'd':
			json_object_set_new(body, "description", json_string(optarg));
			break;
		case 'n':
			json_object_set_new(body, "name", json_string(optarg));
			break;
		case 'r':
		case 'p':
			key = c == 'r' ? "repository_ids" : "product_ids";
			if ((list = json_object_get(body, key)) == NULL)
				json_object_set_new(body, key, list = json_array());
			json_array_append_new(list, json_string(optarg));
			break;
		case 'D':
		case 'E':
			json_object_set_new(body, "enabled", json_boolean(c == 'E'));
			break;
		default:
			return cli_usage(cli_cmd_find("sync-plan", argv[0]));
		}
	}
	if (optind != argc - 1)
		return cli_usage(cli_cmd_find("sync-plan", argv[0]));
	if (create) {
		json_object_set_new(body, "name", json_string(argv[optind]));
		r = cli_api(cli, "POST", "/api/v2/sync_plans", body, &out);
	} else {
		path = syncplan_path(argv[optind], "");
		r = cli_api(cli, "PUT", path, body, &out);
	}
	if (r != 0)
		return r;
	syncplan_print(cli, out);
	return 0;
}

/* drover sync-plan list */
int
cmd_syncplan_list(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *answer = NULL;
	int r;

	if (argc != 1)
		return cli_usage(cli_cmd_find("sync-plan", "list"));
	if ((r = cli_api(cli, "GET", "/api/v2/sync_plans", NULL, &answer)) != 0)
		return r;
	if (cli->json)
		cli_print_json(answer);
	else
		cli_table(syncplan_columns, nitems(syncplan_columns),
		    json_object_get(answer, "results"));
	return 0;
}

/* drover sync-plan show|delete|enable|disable|sync NAME [--follow] */
int
cmd_syncplan_act(struct cli *cli, int argc, char **argv)
{
	const char *verb = argv[0];
	_cleanup_json_ json_t *out = NULL;
	_cleanup_free_ char *path = NULL;
	bool follow = argc == 3 && strcmp(argv[2], "--follow") == 0 && strcmp(verb, "sync") == 0;
	int r;

	if (argc != 2 && !follow)
		return cli_usage(cli_cmd_find("sync-plan", verb));
	if (strcmp(verb, "show") == 0 || strcmp(verb, "delete") == 0)
		path = syncplan_path(argv[1], "");
	else if (strcmp(verb, "sync") == 0)
		path = syncplan_path(argv[1], "/sync");
	else
		path =
		    syncplan_path(argv[1], strcmp(verb, "enable") == 0 ? "/enable" : "/disable");
	r = cli_api(cli,
	    strcmp(verb, "show") == 0         ? "GET"
	        : strcmp(verb, "delete") == 0 ? "DELETE"
	        : strcmp(verb, "sync") == 0   ? "POST"
	                                      : "PUT",
	    path, NULL, &out);
	if (r != 0)
		return r;
	if (strcmp(verb, "sync") == 0)
		return cli_job_started(cli, out, follow);
	if (strcmp(verb, "delete") == 0) {
		if (cli->json)
			cli_print_json(out);
		else
			printf("sync plan %s deleted\n", argv[1]);
		return 0;
	}
	syncplan_print(cli, out);
	return 0;
}
