/* cmd-job.c - drover job list|show|run|follow|cancel. */
#define LOG_COMPONENT "cli"
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_column job_columns[] = {
	{ "ID", "id", 0 },
	{ "KIND", "kind", 0 },
	{ "STATE", "state", 0 },
	{ "OWNER", "owner", 0 },
	{ "CREATED", "created_at", CLI_COL_TIME },
	{ "FINISHED", "finished_at", CLI_COL_TIME },
	{ "ERROR", "error", 0 },
};

static const struct cli_column job_item_columns[] = {
	{ "ITEM", "item", 0 },
	{ "STATE", "state", 0 },
	{ "DATA", "data", 0 },
};

/* drover job list [--state S] [--kind K] [--page N] [--per-page N] */
int
cmd_job_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "kind", required_argument, NULL, 'k' },
		{ "page", required_argument, NULL, 'p' },
		{ "per-page", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_json_ json_t *answer = NULL;
	struct buf path = BUF_INIT(4096);
	int c, r;

	buf_adds(&path, "/api/v2/jobs?");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		_cleanup_free_ char *v = NULL;
		if (c == '?') {
			buf_free(&path);
			return cli_usage(cli_cmd_find("job", "list"));
		}
		v = cli_urlencode(optarg);
		buf_addf(&path, "%s=%s&",
		    c == 's' ? "state" : c == 'k' ? "kind" : c == 'p' ? "page" : "per_page", v);
	}
	r = cli_api(cli, "GET", path.data, NULL, &answer);
	buf_free(&path);
	if (r != 0)
		return r;
	if (cli->json) {
		cli_print_json(answer);
		return 0;
	}
	cli_table(job_columns, nitems(job_columns), json_object_get(answer, "results"));
	if (json_integer_value(json_object_get(answer, "subtotal")) >
	    (json_int_t)json_array_size(json_object_get(answer, "results")))
		fprintf(stderr, "(page %lld of %lld jobs; --page for more)\n",
		    (long long)json_integer_value(json_object_get(answer, "page")),
		    (long long)json_integer_value(json_object_get(answer, "subtotal")));
	return 0;
}

/* drover job show ID */
int
cmd_job_show(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *job = NULL;
	_cleanup_free_ char *path = NULL;
	json_t *items;
	long long id;
	int r;

	if (argc != 2)
		return cli_usage(cli_cmd_find("job", "show"));
	if (cli_id_arg(argv[1], &id) != 0)
		return 1;
	path = xasprintf("/api/v2/jobs/%lld", id);
	if ((r = cli_api(cli, "GET", path, NULL, &job)) != 0)
		return r;
	if (cli->json) {
		cli_print_json(job);
		return 0;
	}
	cli_record(job_columns, nitems(job_columns), job);
	if (json_is_string(json_object_get(job, "kind")) &&
	    (strcmp(json_string_value(json_object_get(job, "kind")), "remote_execution") == 0 ||
	        strcmp(json_string_value(json_object_get(job, "kind")), "patch_run") == 0)) {
		cli_remote_show(job);
		return 0;
	}
	items = json_object_get(job, "items");
	if (json_array_size(items) > 0) {
		putchar('\n');
		cli_table(job_item_columns, nitems(job_item_columns), items);
	}
	return 0;
}

struct job_follow {
	FILE *out;
	bool failed_write;
};

static int
job_follow_data(void *ctx, const char *data, size_t len)
{
	struct job_follow *f = ctx;

	if (fwrite(data, 1, len, f->out) != len)
		f->failed_write = true;
	fflush(f->out);
	return f->failed_write ? -1 : 0;
}

/* Stream a job's output to out until it ends; the exit code says how it ended. */
static int
job_follow(struct cli *cli, long long id, FILE *out)
{
	_cleanup_free_ char *path = xasprintf("/api/v2/jobs/%lld/output?follow=true", id);
	_cleanup_free_ char *url = xasprintf("%s%s", cli->server, path);
	_cleanup_free_ char *show = xasprintf("/api/v2/jobs/%lld", id);
	struct http_client_opts o = {
		.connect_timeout_ms = 5000,
		.bearer_token = cli->token,
		.ca_file = getenv("DROVER_CA_FILE"),
	};
	struct job_follow f = { out, false };
	_cleanup_json_ json_t *job = NULL;
	struct dr_error err;
	const char *state;
	long status = 0;
	int r;

	if (http_stream(url, &o, job_follow_data, &f, &status, &err) < 0)
		return cli_fail("%s", err.msg);
	if (status != 200)
		return cli_fail("GET %s: %ld", path, status);
	if ((r = cli_api(cli, "GET", show, NULL, &job)) != 0)
		return r;
	state = json_string_value(json_object_get(job, "state"));
	if (state == NULL || strcmp(state, "succeeded") != 0) {
		const char *why = json_string_value(json_object_get(job, "error"));
		return cli_fail("job %lld %s%s%s", id, state != NULL ? state : "ended",
		    why != NULL ? ": " : "", why != NULL ? why : "");
	}
	return 0;
}

/* Follow job id, its output to out (for other verbs that start jobs). */
int
cli_job_follow_id(struct cli *cli, long long id, FILE *out)
{
	return job_follow(cli, id, out);
}

/* drover job follow ID */
int
cmd_job_follow(struct cli *cli, int argc, char **argv)
{
	long long id;

	if (argc != 2)
		return cli_usage(cli_cmd_find("job", "follow"));
	if (cli_id_arg(argv[1], &id) != 0)
		return 1;
	return job_follow(cli, id, stdout);
}

/* drover job cancel ID */
int
cmd_job_cancel(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *job = NULL;
	_cleanup_free_ char *path = NULL;
	long long id;
	int r;

	if (argc != 2)
		return cli_usage(cli_cmd_find("job", "cancel"));
	if (cli_id_arg(argv[1], &id) != 0)
		return 1;
	path = xasprintf("/api/v2/jobs/%lld/cancel", id);
	if ((r = cli_api(cli, "POST", path, NULL, &job)) != 0)
		return r;
	if (cli->json)
		cli_print_json(job);
	else
		printf("job %lld: %s\n", id, json_string_value(json_object_get(job, "state")));
	return 0;
}

/* drover job run KIND [-p k=v]... [--params JSON] [--timeout S] [--follow] */
int
cmd_job_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "param", required_argument, NULL, 'p' },
		{ "params", required_argument, NULL, 'P' },
		{ "timeout", required_argument, NULL, 't' },
		{ "follow", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_json_ json_t *params = json_object(), *body = NULL, *job = NULL;
	long long timeout = 0;
	bool follow = false;
	int c, r;

	if (cli_remote_wanted(argc, argv))
		return cmd_remote_run(cli, argc, argv);
	while ((c = getopt_long(argc, argv, "p:f", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (cli_param_set(params, optarg) != 0)
				return 1;
			break;
		case 'P':
			if (cli_params_merge(params, optarg) != 0)
				return 1;
			break;
		case 't':
			if (str_to_ll(optarg, 1, 86400 * 30, &timeout) < 0)
				return cli_fail("--timeout %s: seconds from 1 to 2592000", optarg);
			break;
		case 'f':
			follow = true;
			break;
		default:
			return cli_usage(cli_cmd_find("job", "run"));
		}
	}
	if (optind + 1 != argc)
		return cli_usage(cli_cmd_find("job", "run"));
	body = json_pack("{s:s, s:O}", "kind", argv[optind], "params", params);
	if (timeout > 0)
		json_object_set_new(body, "timeout", json_integer(timeout));
	if ((r = cli_api(cli, "POST", "/api/v2/jobs", body, &job)) != 0)
		return r;
	if (follow)
		return job_follow(
		    cli, (long long)json_integer_value(json_object_get(job, "id")), stdout);
	if (cli->json)
		cli_print_json(job);
	else
		printf("job %lld queued\n", (long long)json_integer_value(json_object_get(job, "id")));
	return 0;
}
