/*
 * cmd-repo.c - drover product|repo|content-view|lifecycle-environment|erratum: the
 * content verbs. Long operations (sync, publish, promote) are jobs; --wait follows the
 * job's output and exits 0 only when it succeeded.
 */
#define LOG_COMPONENT "cli"
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static const struct cli_column product_columns[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"REPOSITORIES", "repository_count", 0},
    {"DESCRIPTION", "description", 0},
};

static const struct cli_column repo_columns[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"PRODUCT", "product", 0},
    {"TYPE", "type", 0},
    {"URL", "url", 0},
    {"VERSION", "latest_version", 0},
    {"LAST SYNC", "last_sync_at", CLI_COL_TIME},
    {"STATE", "last_sync_state", 0},
};

static const struct cli_column repo_detail_columns[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"PRODUCT", "product", 0},
    {"TYPE", "type", 0},
    {"URL", "url", 0},
    {"DISTRIBUTION", "distribution", 0},
    {"COMPONENTS", "components", 0},
    {"ARCHITECTURES", "architectures", 0},
    {"DOWNLOAD POLICY", "download_policy", 0},
    {"MIRRORING POLICY", "mirroring_policy", 0},
    {"ERRATA URL", "errata_url", 0},
    {"INCLUDE", "include", 0},
    {"EXCLUDE", "exclude", 0},
    {"RETAIN VERSIONS", "retain_versions", 0},
    {"CONCURRENCY", "download_concurrency", 0},
    {"BANDWIDTH LIMIT", "bandwidth_limit", 0},
    {"LATEST VERSION", "latest_version", 0},
    {"DISK USE", "disk_use", 0},
    {"LAST SYNC", "last_sync_at", CLI_COL_TIME},
    {"SYNC STATE", "last_sync_state", 0},
    {"SYNC ERROR", "last_sync_error", 0},
};

static const struct cli_column version_columns[] = {
    {"VERSION", "number", 0},
    {"PACKAGES", "package_count", 0},
    {"ERRATA", "erratum_count", 0},
    {"SIZE", "size", 0},
    {"METADATA", "metadata_size", 0},
    {"CREATED", "created_at", CLI_COL_TIME},
};

static const struct cli_column cv_columns[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"REPOSITORIES", "repositories", 0},
    {"LATEST", "latest_major", 0},
    {"DESCRIPTION", "description", 0},
};

static const struct cli_column cv_version_columns[] = {
    {"VERSION", "version", 0},
    {"CREATED", "created_at", CLI_COL_TIME},
    {"DESCRIPTION", "description", 0},
};

static const struct cli_column cv_env_columns[] = {
    {"ENVIRONMENT", "environment", 0},
    {"VERSION", "version", 0},
    {"PROMOTED", "promoted_at", CLI_COL_TIME},
};

static const struct cli_column env_columns[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"PRIOR", "prior", 0},
    {"DESCRIPTION", "description", 0},
};

static const struct cli_column erratum_columns[] = {
    {"ID", "erratum_id", 0},
    {"TYPE", "type", 0},
    {"SEVERITY", "severity", 0},
    {"ISSUED", "issued_at", CLI_COL_TIME},
    {"TITLE", "title", 0},
};

/* A host's applicable errata (GET /api/v2/hosts/:id/errata). */
static const struct cli_column host_erratum_columns[] = {
    {"ID", "errata_id", 0},
    {"TYPE", "type", 0},
    {"SEVERITY", "severity", 0},
    {"ISSUED", "issued", CLI_COL_TIME},
    {"INSTALLABLE", "installable", 0},
    {"TITLE", "title", 0},
};

/* The hosts an erratum applies to. */
static const struct cli_column erratum_host_columns[] = {
    {"HOST", "name", 0},
    {"INSTALLABLE", "installable", 0},
};

static const struct cli_column erratum_detail_columns[] = {
    {"ID", "erratum_id", 0},
    {"TYPE", "type", 0},
    {"SEVERITY", "severity", 0},
    {"TITLE", "title", 0},
    {"ISSUED", "issued", 0},
    {"UPDATED", "updated", 0},
    {"REBOOT SUGGESTED", "reboot_suggested", 0},
    {"RELEASE", "release", 0},
    {"DESCRIPTION", "description", 0},
    {"SOLUTION", "solution", 0},
};

struct repo_follow {
	struct buf line;
	bool tty;
	bool bar_shown;
};

/*
 * One line of a job's output. On a terminal the sync's "downloaded X/Y packages, M MB,
 * T s" lines become one progress bar (files, bytes, rate, ETA) redrawn in place.
 */
static void
repo_follow_line(struct repo_follow *f, const char *line)
{
	unsigned long done, total;
	double mb, secs;

	if (f->tty &&
	    sscanf(line, "downloaded %lu/%lu packages, %lf MB, %lf s", &done, &total, &mb,
	        &secs) == 4 &&
	    total > 0) {
		char bar[31];
		int fill = (int)(30.0 * (double)done / (double)total);
		double rate = secs > 0 ? mb / secs : 0;
		double eta = done > 0 ? secs * (double)(total - done) / (double)done : 0;

		memset(bar, '#', (size_t)fill);
		memset(bar + fill, '.', (size_t)(30 - fill));
		bar[30] = '\0';
		printf("\r[%s] %lu/%lu files  %.1f MB  %.1f MB/s  ETA %.0f s ", bar, done, total,
		    mb, rate, eta);
		f->bar_shown = true;
		fflush(stdout);
		return;
	}
	if (f->bar_shown) {
		putchar('\n');
		f->bar_shown = false;
	}
	puts(line);
	fflush(stdout);
}

static int
repo_follow_data(void *ctx, const char *data, size_t len)
{
	struct repo_follow *f = ctx;
	size_t i;

	for (i = 0; i < len; i++) {
		if (data[i] != '\n') {
			if (buf_addc(&f->line, data[i]) < 0)
				buf_reset(&f->line);
			continue;
		}
		repo_follow_line(f, f->line.data != NULL ? f->line.data : "");
		buf_reset(&f->line);
	}
	return 0;
}

/* Follow a job's output as it streams; 0 when it succeeded, else 1. */
static int
repo_job_wait(struct cli *cli, const json_t *job)
{
	long long id = json_integer_value(json_object_get(job, "id"));
	_cleanup_free_ char *url =
	    xasprintf("%s/api/v2/jobs/%lld/output?follow=true", cli->server, id);
	_cleanup_free_ char *show = xasprintf("/api/v2/jobs/%lld", id);
	struct http_client_opts o = {
	    .connect_timeout_ms = 5000,
	    .bearer_token = cli->token,
	    .ca_file = getenv("DROVER_CA_FILE"),
	};
	struct repo_follow f = {BUF_INIT(65536), isatty(STDOUT_FILENO) == 1, false};
	_cleanup_json_ json_t *end = NULL;
	const char *state, *why;
	struct dr_error err;
	long status = 0;
	int r;

	r = http_stream(url, &o, repo_follow_data, &f, &status, &err);
	if (f.line.len > 0)
		repo_follow_line(&f, f.line.data);
	if (f.bar_shown)
		putchar('\n');
	buf_free(&f.line);
	if (r < 0)
		return cli_fail("%s", err.msg);
	if ((r = cli_api(cli, "GET", show, NULL, &end)) != 0)
		return r;
	state = json_string_value(json_object_get(end, "state"));
	if (state != NULL && strcmp(state, "succeeded") == 0)
		return 0;
	why = json_string_value(json_object_get(end, "error"));
	return cli_fail(
	    "job %lld %s%s%s", id, state ? state : "ended", why ? ": " : "", why ? why : "");
}

/* Print a submitted job, or wait for it. */
static int
repo_job_done(struct cli *cli, const json_t *job, bool wait)
{
	if (wait)
		return repo_job_wait(cli, job);
	if (cli->json)
		cli_print_json(job);
	else
		printf("job %lld queued\n",
		    (long long)json_integer_value(json_object_get(job, "id")));
	return 0;
}

/* "a,b" → ["a", "b"] */
static json_t *
repo_split(const char *s)
{
	json_t *a = json_array();
	_cleanup_free_ char *copy = xstrdup(s);
	char *save = NULL, *tok;

	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		if (*str_trim(tok) != '\0')
			json_array_append_new(a, json_string(tok));
	return a;
}

/* The resource path for a CLI resource name. */
static const char *
repo_api_path(const char *resource)
{
	if (strcmp(resource, "product") == 0)
		return "/api/v2/products";
	if (strcmp(resource, "repo") == 0)
		return "/api/v2/repositories";
	if (strcmp(resource, "content-view") == 0)
		return "/api/v2/content_views";
	return "/api/v2/lifecycle_environments";
}

/* Options of create and update, as JSON fields. */
static const struct option repo_opts[] = {
    {"name", required_argument, NULL, 'n'},
    {"description", required_argument, NULL, 'D'},
    {"product", required_argument, NULL, 'P'},
    {"type", required_argument, NULL, 't'},
    {"url", required_argument, NULL, 'u'},
    {"distribution", required_argument, NULL, 'd'},
    {"components", required_argument, NULL, 'c'},
    {"architectures", required_argument, NULL, 'a'},
    {"gpg-key", required_argument, NULL, 'g'},
    {"download-policy", required_argument, NULL, 'p'},
    {"mirroring-policy", required_argument, NULL, 'm'},
    {"include", required_argument, NULL, 'i'},
    {"exclude", required_argument, NULL, 'x'},
    {"retain", required_argument, NULL, 'r'},
    {"repos", required_argument, NULL, 'R'},
    {"prior", required_argument, NULL, 'Q'},
    {"filters", required_argument, NULL, 'F'},
    {"errata-url", required_argument, NULL, 'E'},
    {"concurrency", required_argument, NULL, 'C'},
    {"bandwidth-limit", required_argument, NULL, 'B'},
    {NULL, 0, NULL, 0},
};

/* Parse create/update options into body; 0 or an exit code. */
static int
repo_body(int argc, char **argv, const struct cli_cmd *cmd, json_t *body)
{
	int c;

	while ((c = getopt_long(argc, argv, "", repo_opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			json_object_set_new(body, "name", json_string(optarg));
			break;
		case 'D':
			json_object_set_new(body, "description", json_string(optarg));
			break;
		case 'P':
			json_object_set_new(body, "product", json_string(optarg));
			break;
		case 't':
			json_object_set_new(body, "type", json_string(optarg));
			break;
		case 'u':
			json_object_set_new(body, "url", json_string(optarg));
			break;
		case 'd':
			json_object_set_new(body, "distribution", json_string(optarg));
			break;
		case 'c':
			json_object_set_new(body, "components", repo_split(optarg));
			break;
		case 'a':
			json_object_set_new(body, "architectures", repo_split(optarg));
			break;
		case 'g': {
			char *key = NULL;
			struct dr_error err;
			if (file_read(optarg, 1u << 20, &key, NULL, &err) < 0)
				return cli_fail("%s", err.msg);
			json_object_set_new(body, "gpg_key", json_string(key));
			free(key);
			break;
		}
		case 'p':
			json_object_set_new(body, "download_policy", json_string(optarg));
			break;
		case 'm':
			json_object_set_new(body, "mirroring_policy", json_string(optarg));
			break;
		case 'i':
			json_object_set_new(body, "include", repo_split(optarg));
			break;
		case 'x':
			json_object_set_new(body, "exclude", repo_split(optarg));
			break;
		case 'r': {
			long long n;
			if (str_to_ll(optarg, 0, 100000, &n) < 0)
				return cli_fail("--retain %s: a number from 0 (all)", optarg);
			json_object_set_new(body, "retain_versions", json_integer(n));
			break;
		}
		case 'C': {
			long long n;
			if (str_to_ll(optarg, 1, 64, &n) < 0)
				return cli_fail("--concurrency %s: a number from 1 to 64", optarg);
			json_object_set_new(body, "download_concurrency", json_integer(n));
			break;
		}
		case 'B': {
			char *end = NULL;
			long long n = strtoll(optarg, &end, 10), mul = 1;
			if (end != NULL && (*end == 'k' || *end == 'K'))
				mul = 1024, end++;
			else if (end != NULL && (*end == 'm' || *end == 'M'))
				mul = 1024 * 1024, end++;
			if (end == optarg || *end != '\0' || n < 0 || n > (1LL << 30))
				return cli_fail(
				    "--bandwidth-limit %s: bytes per second (k, M), 0 for "
				    "none",
				    optarg);
			json_object_set_new(body, "bandwidth_limit", json_integer(n * mul));
			break;
		}
		case 'E':
			json_object_set_new(body, "errata_url", json_string(optarg));
			break;
		case 'R':
			json_object_set_new(body, "repositories", repo_split(optarg));
			break;
		case 'Q':
			json_object_set_new(body, "prior", json_string(optarg));
			break;
		case 'F': {
			json_error_t je;
			json_t *f = json_loads(optarg, 0, &je);
			if (f == NULL)
				return cli_fail("--filters: %s", je.text);
			json_object_set_new(body, "filters", f);
			break;
		}
		default:
			return cli_usage(cmd);
		}
	}
	return 0;
}

/* Print one object of a resource. */
static void
repo_print(struct cli *cli, const char *resource, const json_t *o)
{
	if (cli->json) {
		cli_print_json(o);
	} else if (strcmp(resource, "product") == 0) {
		cli_record(product_columns, nitems(product_columns), o);
	} else if (strcmp(resource, "repo") == 0) {
		cli_record(repo_detail_columns, nitems(repo_detail_columns), o);
		if (json_array_size(json_object_get(o, "versions")) > 0) {
			putchar('\n');
			cli_table(version_columns, nitems(version_columns),
			    json_object_get(o, "versions"));
		}
	} else if (strcmp(resource, "content-view") == 0) {
		cli_record(cv_columns, nitems(cv_columns), o);
		if (json_array_size(json_object_get(o, "versions")) > 0) {
			putchar('\n');
			cli_table(cv_version_columns, nitems(cv_version_columns),
			    json_object_get(o, "versions"));
		}
		if (json_array_size(json_object_get(o, "environments")) > 0) {
			putchar('\n');
			cli_table(cv_env_columns, nitems(cv_env_columns),
			    json_object_get(o, "environments"));
		}
	} else {
		cli_record(env_columns, nitems(env_columns), o);
	}
}

/* drover product|repo|content-view|lifecycle-environment create OPTIONS */
int
cmd_content_create(struct cli *cli, int argc, char **argv)
{
	const char *resource = argv[-1];
	const struct cli_cmd *cmd = cli_cmd_find(resource, "create");
	_cleanup_json_ json_t *body = json_object(), *answer = NULL;
	int r;

	if ((r = repo_body(argc, argv, cmd, body)) != 0)
		return r;
	if (optind != argc)
		return cli_usage(cmd);
	if ((r = cli_api(cli, "POST", repo_api_path(resource), body, &answer)) != 0)
		return r;
	if (cli->json)
		cli_print_json(answer);
	else
		printf("%s %s created\n", resource,
		    json_string_value(json_object_get(answer, "name")));
	return 0;
}

/* drover RESOURCE update NAME OPTIONS */
int
cmd_content_update(struct cli *cli, int argc, char **argv)
{
	const char *resource = argv[-1];
	const struct cli_cmd *cmd = cli_cmd_find(resource, "update");
	_cleanup_json_ json_t *body = json_object(), *answer = NULL;
	_cleanup_free_ char *path = NULL, *name = NULL;
	int r;

	if ((r = repo_body(argc, argv, cmd, body)) != 0)
		return r;
	if (optind + 1 != argc)
		return cli_usage(cmd);
	name = cli_urlencode(argv[optind]);
	path = xasprintf("%s/%s", repo_api_path(resource), name);
	if ((r = cli_api(cli, "PUT", path, body, &answer)) != 0)
		return r;
	repo_print(cli, resource, answer);
	return 0;
}

/* drover RESOURCE list [--product P] */
int
cmd_content_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"product", required_argument, NULL, 0},
	    {"search", required_argument, NULL, 0},
	    {"page", required_argument, NULL, 0},
	    {"per-page", required_argument, NULL, 0},
	    {NULL, 0, NULL, 0},
	};
	const char *resource = argv[-1];
	_cleanup_json_ json_t *answer = NULL;
	struct buf path = BUF_INIT(0);
	int c, idx, r;

	buf_addf(&path, "%s?", repo_api_path(resource));
	while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		_cleanup_free_ char *v = NULL;
		if (c != 0 || (idx == 0 && strcmp(resource, "repo") != 0)) {
			buf_free(&path);
			return cli_usage(cli_cmd_find(resource, "list"));
		}
		v = cli_urlencode(optarg);
		buf_addf(&path, "%s=%s&", idx == 3 ? "per_page" : opts[idx].name, v);
	}
	if (optind != argc) {
		buf_free(&path);
		return cli_usage(cli_cmd_find(resource, "list"));
	}
	r = cli_api(cli, "GET", path.data, NULL, &answer);
	buf_free(&path);
	if (r != 0)
		return r;
	if (cli->json) {
		cli_print_json(answer);
		return 0;
	}
	if (strcmp(resource, "product") == 0)
		cli_table_page(product_columns, nitems(product_columns), answer);
	else if (strcmp(resource, "repo") == 0)
		cli_table_page(repo_columns, nitems(repo_columns), answer);
	else if (strcmp(resource, "content-view") == 0)
		cli_table_page(cv_columns, nitems(cv_columns), answer);
	else
		cli_table_page(env_columns, nitems(env_columns), answer);
	return 0;
}

/* drover RESOURCE show|delete NAME */
int
cmd_content_show(struct cli *cli, int argc, char **argv)
{
	const char *resource = argv[-1];
	bool del = strcmp(argv[0], "delete") == 0;
	_cleanup_json_ json_t *answer = NULL;
	_cleanup_free_ char *path = NULL, *name = NULL;
	int r;

	if (argc != 2)
		return cli_usage(cli_cmd_find(resource, argv[0]));
	name = cli_urlencode(argv[1]);
	path = xasprintf("%s/%s", repo_api_path(resource), name);
	if ((r = cli_api(cli, del ? "DELETE" : "GET", path, NULL, &answer)) != 0)
		return r;
	if (del && !cli->json)
		printf("%s %s deleted\n", resource, argv[1]);
	else
		repo_print(cli, resource, answer);
	return 0;
}

/* drover repo sync NAME [--wait] */
int
cmd_repo_sync(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"wait", no_argument, NULL, 'w'},
	    {NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_t *job = NULL;
	_cleanup_free_ char *path = NULL, *name = NULL;
	bool wait = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "w", opts, NULL)) != -1) {
		if (c != 'w')
			return cli_usage(cli_cmd_find("repo", "sync"));
		wait = true;
	}
	if (optind + 1 != argc)
		return cli_usage(cli_cmd_find("repo", "sync"));
	name = cli_urlencode(argv[optind]);
	path = xasprintf("/api/v2/repositories/%s/sync", name);
	if ((r = cli_api(cli, "POST", path, NULL, &job)) != 0)
		return r;
	return repo_job_done(cli, job, wait);
}

/* drover content-view publish NAME [--description D] [--wait];
 * drover content-view promote NAME --version V --to ENV [--force] [--wait] */
int
cmd_cv_job(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"wait", no_argument, NULL, 'w'},
	    {"version", required_argument, NULL, 'v'},
	    {"to", required_argument, NULL, 't'},
	    {"force", no_argument, NULL, 'f'},
	    {"description", required_argument, NULL, 'D'},
	    {NULL, 0, NULL, 0},
	};
	bool publish = strcmp(argv[0], "publish") == 0, wait = false;
	const struct cli_cmd *cmd = cli_cmd_find("content-view", argv[0]);
	_cleanup_json_ json_t *job = NULL, *body = json_object();
	_cleanup_free_ char *path = NULL, *name = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "w", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			wait = true;
			break;
		case 'v':
			json_object_set_new(body, "version", json_string(optarg));
			break;
		case 't':
			json_object_set_new(body, "to", json_string(optarg));
			break;
		case 'f':
			json_object_set_new(body, "force", json_true());
			break;
		case 'D':
			json_object_set_new(body, "description", json_string(optarg));
			break;
		default:
			return cli_usage(cmd);
		}
	}
	if (optind + 1 != argc)
		return cli_usage(cmd);
	name = cli_urlencode(argv[optind]);
	path = xasprintf("/api/v2/content_views/%s/%s", name, publish ? "publish" : "promote");
	if ((r = cli_api(cli, "POST", path, body, &job)) != 0)
		return r;
	return repo_job_done(cli, job, wait);
}

/* 0 when v can go between the search language's double quotes; else says so (what names
 * the value) and returns the exit code. */
static int
erratum_search_quotable(const char *what, const char *v)
{
	if (strpbrk(v, "\"\\") == NULL)
		return 0;
	return cli_fail("%s: '%s' has a quote or a backslash", what, v);
}

/* The search over a host's errata that the list filters make, or NULL (after saying why)
 * for a value the search language cannot quote. */
static char *
erratum_host_search(const char *keys[], const char *values[], size_t n)
{
	static const struct {
		const char *key, *before, *after;
	} map[] = {
	    {"type", "type = \"", "\""},
	    {"severity", "severity = \"", "\""},
	    {"cve", "cve = \"", "\""},
	    {"since", "issued >= \"", "\""},
	    {"until", "issued <= \"", "\""},
	    {"search", "(", ")"},
	    {"installable", "installable = ", ""},
	};
	struct buf q = BUF_INIT(0);
	size_t i, k;

	for (i = 0; i < n; i++)
		for (k = 0; k < nitems(map); k++) {
			if (strcmp(keys[i], map[k].key) != 0)
				continue;
			if (strcmp(keys[i], "search") != 0) {
				_cleanup_free_ char *what = xasprintf("--%s", keys[i]);

				if (erratum_search_quotable(what, values[i]) != 0) {
					buf_free(&q);
					return NULL;
				}
			}
			if (q.len > 0)
				buf_adds(&q, " and ");
			buf_adds(&q, map[k].before);
			buf_adds(&q, values[i]);
			buf_adds(&q, map[k].after);
		}
	return buf_steal(&q);
}

/* drover erratum list [--host H [--installable]] [--type T] [--severity S] [--cve C]
 * [--repository R] [--search S] [--since DATE] [--until DATE] [--page N] [--per-page N]:
 * every erratum, or those applicable to host H (a search over its errata). */
int
cmd_erratum_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"type", required_argument, NULL, 0},
	    {"severity", required_argument, NULL, 0},
	    {"cve", required_argument, NULL, 0},
	    {"repository", required_argument, NULL, 0},
	    {"search", required_argument, NULL, 0},
	    {"since", required_argument, NULL, 0},
	    {"until", required_argument, NULL, 0},
	    {"page", required_argument, NULL, 0},
	    {"per_page", required_argument, NULL, 0},
	    {"per-page", required_argument, NULL, 0},
	    {"host", required_argument, NULL, 0},
	    {"installable", no_argument, NULL, 0},
	    {NULL, 0, NULL, 0},
	};
	const struct cli_cmd *cmd = cli_cmd_find("erratum", "list");
	const char *keys[nitems(opts)], *values[nitems(opts)], *host = NULL;
	_cleanup_json_ json_t *answer = NULL;
	_cleanup_free_ char *search = NULL;
	struct buf path = BUF_INIT(0);
	size_t n = 0, i;
	int c, idx, r;

	while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		if (c != 0 || n == nitems(keys))
			return cli_usage(cmd);
		if (strcmp(opts[idx].name, "host") == 0)
			host = optarg;
		keys[n] = strcmp(opts[idx].name, "per-page") == 0 ? "per_page" : opts[idx].name;
		values[n++] = optarg != NULL ? optarg : "true";
	}
	if (optind != argc)
		return cli_usage(cmd);
	if (host == NULL) {
		buf_adds(&path, "/api/v2/errata?");
		for (i = 0; i < n; i++) {
			_cleanup_free_ char *v = cli_urlencode(values[i]);

			if (strcmp(keys[i], "installable") == 0) {
				buf_free(&path);
				return cli_fail("--installable: only with --host");
			}
			buf_addf(&path, "%s=%s&", keys[i], v);
		}
	} else {
		_cleanup_free_ char *h = cli_urlencode(host), *q = NULL;

		for (i = 0; i < n; i++)
			if (strcmp(keys[i], "repository") == 0)
				return cli_fail("--repository: not with --host (the host's errata "
				                "come from the content it is bound to)");
		if ((search = erratum_host_search(keys, values, n)) == NULL)
			return 1;
		q = cli_urlencode(search);
		buf_addf(&path, "/api/v2/hosts/%s/errata?search=%s", h, q);
		for (i = 0; i < n; i++)
			if (strcmp(keys[i], "page") == 0 || strcmp(keys[i], "per_page") == 0) {
				_cleanup_free_ char *v = cli_urlencode(values[i]);

				buf_addf(&path, "&%s=%s", keys[i], v);
			}
	}
	r = cli_api(cli, "GET", path.data, NULL, &answer);
	buf_free(&path);
	if (r != 0)
		return r;
	if (cli->json)
		cli_print_json(answer);
	else if (host != NULL)
		cli_table_page(host_erratum_columns, nitems(host_erratum_columns), answer);
	else
		cli_table_page(erratum_columns, nitems(erratum_columns), answer);
	return 0;
}

/* Reduce the hosts an erratum applies to (rows of the hosts list) to {id, name,
 * installable}, installable when the erratum is among the host's installable errata. */
static void
erratum_hosts_installable(struct cli *cli, const char *id, json_t *rows)
{
	_cleanup_json_ json_t *answer = NULL;
	_cleanup_free_ char *search = xasprintf("installable_erratum = \"%s\"", id), *path = NULL;
	_cleanup_free_ char *q = cli_urlencode(search);
	json_t *inst = NULL, *row, *h;
	size_t i, k;

	path = xasprintf("/api/v2/hosts?search=%s&per_page=1000", q);
	if (json_array_size(rows) > 0 && cli_api(cli, "GET", path, NULL, &answer) == 0)
		inst = json_object_get(answer, "results");
	json_array_foreach(rows, i, row)
	{
		bool yes = false;

		json_array_foreach(inst, k, h) yes = yes || json_equal(json_object_get(h, "id"),
		                                                json_object_get(row, "id"));
		json_array_set_new(rows, i,
		    json_pack("{s:O, s:O, s:b}", "id", json_object_get(row, "id"), "name",
		        json_object_get(row, "name"), "installable", yes));
	}
}

/* drover erratum show ID [--host H]: the erratum, and the hosts it applies to (or
 * whether it applies to H) with whether their content can install it. */
int
cmd_erratum_show(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *e = NULL;
	_cleanup_free_ char *path = NULL, *id = NULL;
	size_t i;
	json_t *p;
	int r;

	static const struct option opts[] = {
	    {"host", required_argument, NULL, 'H'},
	    {NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_t *hosts = NULL;
	_cleanup_free_ char *search = NULL, *q = NULL;
	const char *host = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'H')
			return cli_usage(cli_cmd_find("erratum", "show"));
		host = optarg;
	}
	if (optind + 1 != argc)
		return cli_usage(cli_cmd_find("erratum", "show"));
	if ((r = erratum_search_quotable("erratum", argv[optind])) != 0 ||
	    (host != NULL && (r = erratum_search_quotable("--host", host)) != 0))
		return r;
	id = cli_urlencode(argv[optind]);
	path = xasprintf("/api/v2/errata/%s", id);
	if ((r = cli_api(cli, "GET", path, NULL, &e)) != 0)
		return r;
	/* The hosts: a search over the hosts' applicable errata. */
	search = host != NULL ? xasprintf("applicable_erratum = \"%s\" and name = \"%s\"",
	                            argv[optind], host)
	                      : xasprintf("applicable_erratum = \"%s\"", argv[optind]);
	q = cli_urlencode(search);
	free(path);
	path = xasprintf("/api/v2/hosts?search=%s&per_page=1000&order=name", q);
	if ((r = cli_api(cli, "GET", path, NULL, &hosts)) != 0)
		return r;
	erratum_hosts_installable(cli, argv[optind], json_object_get(hosts, "results"));
	json_object_set(e, "hosts", json_object_get(hosts, "results"));
	if (cli->json) {
		cli_print_json(e);
		return 0;
	}
	cli_record(erratum_detail_columns, nitems(erratum_detail_columns), e);
	printf("\nreferences:\n");
	json_array_foreach(json_object_get(e, "references"), i, p)
	    printf("  %s %s %s\n", json_string_value(json_object_get(p, "type")),
	        json_string_value(json_object_get(p, "id")),
	        json_string_value(json_object_get(p, "href")));
	printf("packages:\n");
	json_array_foreach(json_object_get(e, "packages"), i, p)
	    printf("  %s-%s%s%s-%s.%s\n", json_string_value(json_object_get(p, "name")),
	        strcmp(json_string_value(json_object_get(p, "epoch")), "0") != 0
	            ? json_string_value(json_object_get(p, "epoch"))
	            : "",
	        strcmp(json_string_value(json_object_get(p, "epoch")), "0") != 0 ? ":" : "",
	        json_string_value(json_object_get(p, "version")),
	        json_string_value(json_object_get(p, "release")),
	        json_string_value(json_object_get(p, "arch")));
	if (host != NULL)
		printf("\n%s: %s\n", host,
		    json_array_size(json_object_get(e, "hosts")) == 0
		        ? "not applicable (or no package profile)"
		        : json_is_true(json_object_get(
		              json_array_get(json_object_get(e, "hosts"), 0), "installable"))
		        ? "applicable, installable from its content"
		        : "applicable, not installable from its content");
	else {
		printf("\nhosts (%zu):\n", json_array_size(json_object_get(e, "hosts")));
		cli_table(erratum_host_columns, nitems(erratum_host_columns),
		    json_object_get(e, "hosts"));
	}
	return 0;
}
