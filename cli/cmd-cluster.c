/* cmd-cluster.c - drover cluster create|list|show|update|delete|deploy. */
#define LOG_COMPONENT "cli"
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_column cluster_columns[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"KIND", "kind", 0},
    {"MESH", "mesh", 0},
    {"STATE", "state", 0},
    {"LAST JOB", "last_job_id", 0},
    {"UPDATED", "updated_at", CLI_COL_TIME},
};

static const struct cli_column cluster_record_columns[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"KIND", "kind", 0},
    {"MESH", "mesh", 0},
    {"CONTROL PLANES", "control_plane_hostgroup_name", 0},
    {"WORKERS", "worker_hostgroup_name", 0},
    {"VERSIONS", "versions", 0},
    {"VARS", "vars", 0},
    {"STATE", "state", 0},
    {"LAST JOB", "last_job_id", 0},
    {"CREATED", "created_at", CLI_COL_TIME},
    {"UPDATED", "updated_at", CLI_COL_TIME},
};

static const struct cli_column member_columns[] = {
    {"HOST", "host", 0},
    {"ROLE", "role", 0},
    {"STATE", "state", 0},
    {"JOB", "job_id", 0},
    {"UPDATED", "updated_at", CLI_COL_TIME},
};

/* KEY=VALUE into obj (JSON literals keep their type); 0 or exit code. */
static int
cluster_kv(json_t *obj, const char *arg, const char *what)
{
	if (strchr(arg, '=') == NULL || arg[0] == '=')
		return cli_fail("cluster: %s '%s': expected KEY=VALUE", what, arg);
	return cli_param_set(obj, arg);
}

/* The body of create/update from the options; 0 or exit code. */
static int
cluster_body(const char *verb, int argc, char **argv, json_t *body)
{
	static const struct option opts[] = {
	    {"kind", required_argument, NULL, 'k'},
	    {"mesh", required_argument, NULL, 'm'},
	    {"control-plane", required_argument, NULL, 'c'},
	    {"workers", required_argument, NULL, 'w'},
	    {"version", required_argument, NULL, 'v'},
	    {"var", required_argument, NULL, 'e'},
	    {NULL, 0, NULL, 0},
	};
	json_t *versions = json_object(), *vars = json_object();
	int c, r = 0;

	while (r == 0 && (c = getopt_long(argc, argv, "e:", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			json_object_set_new(body, "kind", json_string(optarg));
			break;
		case 'm':
			json_object_set_new(body, "mesh", json_string(optarg));
			break;
		case 'c':
			json_object_set_new(body, "control_plane_hostgroup", json_string(optarg));
			break;
		case 'w':
			json_object_set_new(body, "worker_hostgroup", json_string(optarg));
			break;
		case 'v':
			if (strchr(optarg, '=') == NULL)
				r = cli_fail(
				    "cluster: --version '%s': expected NAME=VERSION", optarg);
			else {
				char *eq = strchr(optarg, '=');
				_cleanup_free_ char *k = xstrndup(optarg, (size_t)(eq - optarg));
				json_object_set_new(versions, k, json_string(eq + 1));
			}
			break;
		case 'e':
			r = cluster_kv(vars, optarg, "--var");
			break;
		default:
			r = cli_usage(cli_cmd_find("cluster", verb));
		}
	}
	if (json_object_size(versions) > 0)
		json_object_set(body, "versions", versions);
	if (json_object_size(vars) > 0)
		json_object_set(body, "vars", vars);
	json_decref(versions);
	json_decref(vars);
	return r;
}

/* Print a cluster with its members. */
static void
cluster_print(struct cli *cli, const json_t *c)
{
	if (cli->json) {
		cli_print_json(c);
		return;
	}
	cli_record(cluster_record_columns, nitems(cluster_record_columns), c);
	if (json_array_size(json_object_get(c, "members")) > 0) {
		putchar('\n');
		cli_table(member_columns, nitems(member_columns), json_object_get(c, "members"));
	}
}

/* drover cluster create NAME --control-plane HG [--workers HG] [--kind K] [--mesh M]
 * [--version NAME=V]... [--var KEY=VALUE]... */
int
cmd_cluster_create(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *body = json_object(), *answer = NULL;
	int r;

	if (argc < 2 || argv[1][0] == '-')
		return cli_usage(cli_cmd_find("cluster", "create"));
	json_object_set_new(body, "name", json_string(argv[1]));
	if ((r = cluster_body("create", argc - 1, argv + 1, body)) != 0)
		return r;
	if (optind != argc - 1)
		return cli_usage(cli_cmd_find("cluster", "create"));
	if ((r = cli_api(cli, "POST", "/api/v2/clusters", body, &answer)) != 0)
		return r;
	cluster_print(cli, answer);
	return 0;
}

/* drover cluster update NAME [options of create] */
int
cmd_cluster_update(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *body = json_object(), *answer = NULL;
	_cleanup_free_ char *path = NULL, *name = NULL;
	int r;

	if (argc < 2 || argv[1][0] == '-')
		return cli_usage(cli_cmd_find("cluster", "update"));
	if ((r = cluster_body("update", argc - 1, argv + 1, body)) != 0)
		return r;
	if (optind != argc - 1)
		return cli_usage(cli_cmd_find("cluster", "update"));
	name = cli_urlencode(argv[1]);
	path = xasprintf("/api/v2/clusters/%s", name);
	if ((r = cli_api(cli, "PUT", path, body, &answer)) != 0)
		return r;
	cluster_print(cli, answer);
	return 0;
}

/* drover cluster list [--search Q] */
int
cmd_cluster_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"search", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_t *answer = NULL;
	_cleanup_free_ char *path = NULL, *q = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 's')
			return cli_usage(cli_cmd_find("cluster", "list"));
		free(q);
		q = cli_urlencode(optarg);
	}
	if (optind != argc)
		return cli_usage(cli_cmd_find("cluster", "list"));
	path = xasprintf("/api/v2/clusters?per_page=1000%s%s", q ? "&search=" : "", q ? q : "");
	if ((r = cli_api(cli, "GET", path, NULL, &answer)) != 0)
		return r;
	if (cli->json)
		cli_print_json(answer);
	else
		cli_table(
		    cluster_columns, nitems(cluster_columns), json_object_get(answer, "results"));
	return 0;
}

/* drover cluster show NAME */
int
cmd_cluster_show(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *answer = NULL;
	_cleanup_free_ char *path = NULL, *name = NULL;
	int r;

	if (argc != 2)
		return cli_usage(cli_cmd_find("cluster", "show"));
	name = cli_urlencode(argv[1]);
	path = xasprintf("/api/v2/clusters/%s", name);
	if ((r = cli_api(cli, "GET", path, NULL, &answer)) != 0)
		return r;
	cluster_print(cli, answer);
	return 0;
}

/* drover cluster delete NAME */
int
cmd_cluster_delete(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *answer = NULL;
	_cleanup_free_ char *path = NULL, *name = NULL;
	int r;

	if (argc != 2)
		return cli_usage(cli_cmd_find("cluster", "delete"));
	name = cli_urlencode(argv[1]);
	path = xasprintf("/api/v2/clusters/%s", name);
	if ((r = cli_api(cli, "DELETE", path, NULL, &answer)) != 0)
		return r;
	if (cli->json)
		cli_print_json(answer);
	else
		printf("deleted cluster %s\n", argv[1]);
	return 0;
}

/* drover cluster deploy NAME [--check] [-l LIMIT] [--follow] */
int
cmd_cluster_deploy(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"check", no_argument, NULL, 'C'},
	    {"limit", required_argument, NULL, 'l'},
	    {"follow", no_argument, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_t *body = json_object(), *answer = NULL;
	_cleanup_free_ char *path = NULL, *name = NULL, *idtext = NULL;
	bool follow = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "Cl:", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			json_object_set_new(body, "check", json_true());
			break;
		case 'l':
			json_object_set_new(body, "limit", json_string(optarg));
			break;
		case 'f':
			follow = true;
			break;
		default:
			return cli_usage(cli_cmd_find("cluster", "deploy"));
		}
	}
	if (optind != argc - 1)
		return cli_usage(cli_cmd_find("cluster", "deploy"));
	name = cli_urlencode(argv[optind]);
	path = xasprintf("/api/v2/clusters/%s/deploy", name);
	if ((r = cli_api(cli, "POST", path, body, &answer)) != 0)
		return r;
	idtext =
	    xasprintf("%lld", (long long)json_integer_value(json_object_get(answer, "job_id")));
	if (!follow) {
		if (cli->json)
			cli_print_json(answer);
		else
			printf("job %s\n", idtext);
		return 0;
	}
	{
		char *fargv[] = {(char *)"follow", idtext, NULL};
		return cmd_job_follow(cli, 2, fargv);
	}
}
