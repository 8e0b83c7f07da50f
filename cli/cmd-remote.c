/*
 * cmd-remote.c - remote execution from the command line: drover job run --command|
 * --playbook on hosts, job rerun, per-host results in job show, the playbook library,
 * droverd's SSH key and a host's SSH settings.
 */
#define LOG_COMPONENT "cli"
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

/* True when a job run's arguments ask for remote execution rather than a job kind. */
bool
cli_remote_wanted(int argc, char **argv)
{
	static const char *const opts[] = {
	    "--command", "--playbook", "--search", "--hostgroup", "--hosts"};

	for (int i = 1; i < argc; i++)
		for (size_t k = 0; k < nitems(opts); k++)
			if (strncmp(argv[i], opts[k], strlen(opts[k])) == 0 &&
			    (argv[i][strlen(opts[k])] == '\0' || argv[i][strlen(opts[k])] == '='))
				return true;
	return false;
}

/* drover job run --command CMD|--playbook NAME[@V]|FILE|git+URL//PATH[@REF] [--credential C] --search Q|
 * --hostgroup HG|--hosts A,B [--concurrency N] [--batch-size N] [--max-fail-percent P] [--timeout S] [--become]
 * [--become-user U] [--follow] */
int
cmd_remote_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"command", required_argument, NULL, 'c'},
	    {"playbook", required_argument, NULL, 'P'},
	    {"search", required_argument, NULL, 's'},
	    {"hostgroup", required_argument, NULL, 'g'},
	    {"hosts", required_argument, NULL, 'H'},
	    {"concurrency", required_argument, NULL, 'n'},
	    {"batch-size", required_argument, NULL, 'b'},
	    {"max-fail-percent", required_argument, NULL, 'm'},
	    {"timeout", required_argument, NULL, 't'},
	    {"become", no_argument, NULL, 'B'},
	    {"become-user", required_argument, NULL, 'u'},
	    {"become-method", required_argument, NULL, 'M'},
	    {"follow", no_argument, NULL, 'f'},
	    {"credential", required_argument, NULL, 'C'},
	    {NULL, 0, NULL, 0},
	};
	static const struct {
		int opt;
		const char *key;
		long long min, max;
	} ints[] = {
	    {'n', "concurrency", 1, 200},
	    {'b', "batch_size", 0, 100000},
	    {'m', "max_fail_percent", 0, 100},
	    {'t', "timeout", 0, 7 * 86400},
	};
	_cleanup_json_ json_t *body = json_object(), *job = NULL;
	bool follow = false;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		size_t k;
		for (k = 0; k < nitems(ints); k++)
			if (ints[k].opt == c)
				break;
		if (k < nitems(ints)) {
			long long v;
			if (str_to_ll(optarg, ints[k].min, ints[k].max, &v) < 0)
				return cli_fail("--%s %s: a number from %lld to %lld", ints[k].key,
				    optarg, ints[k].min, ints[k].max);
			json_object_set_new(body, ints[k].key, json_integer(v));
			continue;
		}
		switch (c) {
		case 'c':
			json_object_set_new(body, "command", json_string(optarg));
			break;
		case 'P': {
			struct stat st;
			if (stat(optarg, &st) == 0 && S_ISREG(st.st_mode)) {
				char *text = NULL;
				struct dr_error err;
				if (file_read(optarg, 1 << 20, &text, NULL, &err) < 0)
					return cli_fail("%s", err.msg);
				json_object_set_new(body, "playbook_yaml", json_string(text));
				free(text);
			} else
				json_object_set_new(body, "playbook", json_string(optarg));
			break;
		}
		case 's':
			json_object_set_new(body, "search", json_string(optarg));
			break;
		case 'C':
			json_object_set_new(body, "credential", json_string(optarg));
			break;
		case 'g':
			json_object_set_new(body, "hostgroup", json_string(optarg));
			break;
		case 'H': {
			_cleanup_free_ char *copy = xstrdup(optarg);
			json_t *hosts = json_array();
			char *save = NULL;
			for (char *h = strtok_r(copy, ",", &save); h;
			     h = strtok_r(NULL, ",", &save))
				json_array_append_new(hosts, json_string(h));
			json_object_set_new(body, "hosts", hosts);
			break;
		}
		case 'B':
			json_object_set_new(body, "become", json_true());
			break;
		case 'u':
			json_object_set_new(body, "become_user", json_string(optarg));
			json_object_set_new(body, "become", json_true());
			break;
		case 'M':
			json_object_set_new(body, "become_method", json_string(optarg));
			json_object_set_new(body, "become", json_true());
			break;
		case 'f':
			follow = true;
			break;
		default:
			return cli_usage(cli_cmd_find("job", "run"));
		}
	}
	if (optind != argc)
		return cli_usage(cli_cmd_find("job", "run"));
	if ((r = cli_api(cli, "POST", "/api/v2/job_invocations", body, &job)) != 0)
		return r;
	return cli_job_started(cli, job, follow);
}

/* What job run and job rerun print for a new job (or follow it). */
int
cli_job_started(struct cli *cli, const json_t *job, bool follow)
{
	long long id = (long long)json_integer_value(json_object_get(job, "id"));

	if (follow)
		return cli_job_follow_id(cli, id, stdout);
	const json_t *hosts = json_object_get(json_object_get(job, "params"), "hosts");
	if (cli->json)
		cli_print_json(job);
	else if (json_is_array(hosts))
		printf("job %lld queued on %zu host%s\n", id, json_array_size(hosts),
		    json_array_size(hosts) == 1 ? "" : "s");
	else
		printf("job %lld queued\n", id);
	return 0;
}

/* drover job rerun ID [--all] [--follow]: again on the failed hosts (or all). */
int
cmd_job_rerun(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"all", no_argument, NULL, 'a'},
	    {"follow", no_argument, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_t *job = NULL, *body = json_object();
	_cleanup_free_ char *path = NULL;
	bool follow = false;
	long long id;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (c == 'a')
			json_object_set_new(body, "failed_only", json_false());
		else if (c == 'f')
			follow = true;
		else
			return cli_usage(cli_cmd_find("job", "rerun"));
	}
	if (optind + 1 != argc)
		return cli_usage(cli_cmd_find("job", "rerun"));
	if (cli_id_arg(argv[optind], &id) != 0)
		return 1;
	path = xasprintf("/api/v2/job_invocations/%lld/rerun", id);
	if ((r = cli_api(cli, "POST", path, body, &job)) != 0)
		return r;
	return cli_job_started(cli, job, follow);
}

/* The per-host part of drover job show for a remote job: a table, then each host's
 * output. */
void
cli_remote_show(const json_t *job)
{
	static const struct cli_column cols[] = {
	    {"HOST", "item", 0},
	    {"STATE", "state", 0},
	    {"EXIT", "exit_status", 0},
	    {"ERROR", "error", 0},
	};
	_cleanup_json_ json_t *rows = json_array();
	const json_t *it;
	size_t i;

	json_array_foreach(json_object_get(job, "items"), i, it)
	{
		const json_t *d = json_object_get(it, "data");
		json_t *row = json_pack("{s:O, s:O}", "item", json_object_get(it, "item"), "state",
		    json_object_get(it, "state"));
		if (json_object_get(d, "exit_status"))
			json_object_set(row, "exit_status", json_object_get(d, "exit_status"));
		if (json_object_get(d, "error"))
			json_object_set(row, "error", json_object_get(d, "error"));
		if (json_is_array(json_object_get(d, "errata_applied"))) {
			struct buf b = BUF_INIT(4096);
			size_t k;
			json_t *e;
			json_array_foreach(json_object_get(d, "errata_applied"), k, e)
			    buf_addf(&b, "%s%s", k ? "," : "", json_string_value(e));
			json_object_set_new(row, "applied", json_string(b.data ? b.data : "-"));
			buf_free(&b);
			json_object_set_new(row, "rebooted",
			    json_string(
			        json_is_true(json_object_get(d, "rebooted")) ? "yes" : "no"));
		}
		json_array_append_new(rows, row);
	}
	putchar('\n');
	if (strcmp(json_string_value(json_object_get(job, "kind")), "patch_run") == 0) {
		static const struct cli_column pcols[] = {
		    {"HOST", "item", 0},
		    {"STATE", "state", 0},
		    {"APPLIED", "applied", 0},
		    {"REBOOTED", "rebooted", 0},
		    {"ERROR", "error", 0},
		};
		cli_table(pcols, nitems(pcols), rows);
		json_array_foreach(json_object_get(job, "items"), i, it)
		{
			const json_t *pk;
			size_t k;
			json_array_foreach(
			    json_object_get(json_object_get(it, "data"), "packages"), k, pk)
			{
				const char *b = json_string_value(json_object_get(pk, "before"));
				const char *a = json_string_value(json_object_get(pk, "after"));
				printf("%s: %s %s -> %s\n",
				    json_string_value(json_object_get(it, "item")),
				    json_string_value(json_object_get(pk, "name")),
				    b ? b : "(none)", a ? a : "(none)");
			}
		}
		return;
	}
	cli_table(cols, nitems(cols), rows);
	json_array_foreach(json_object_get(job, "items"), i, it)
	{
		const json_t *d = json_object_get(it, "data");
		const char *out = json_string_value(json_object_get(d, "stdout"));
		const char *err = json_string_value(json_object_get(d, "stderr"));
		if ((out == NULL || *out == '\0') && (err == NULL || *err == '\0'))
			continue;
		printf("\n== %s (%s) ==\n", json_string_value(json_object_get(it, "item")),
		    json_string_value(json_object_get(it, "state")));
		if (out != NULL && *out != '\0')
			printf("%s%s", out, out[strlen(out) - 1] == '\n' ? "" : "\n");
		if (err != NULL && *err != '\0')
			printf("%s%s", err, err[strlen(err) - 1] == '\n' ? "" : "\n");
	}
}

/* A comma list as a JSON array of strings. */
static json_t *
cli_comma_list(const char *s)
{
	_cleanup_free_ char *copy = xstrdup(s);
	json_t *out = json_array();
	char *save = NULL;

	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save))
		json_array_append_new(out, json_string(str_trim(w)));
	return out;
}

/* drover patch run: see the usage in drover.c. */
int
cmd_patch_run(struct cli *cli, int argc, char **argv)
{
	enum {
		O_ERRATA = 256,
		O_TYPE,
		O_SEV,
		O_CVE,
		O_SEARCH,
		O_HG,
		O_HOSTS,
		O_BATCH,
		O_BPCT,
		O_CONC,
		O_MAXF,
		O_TIMEOUT,
		O_WCRON,
		O_WDUR,
		O_WTZ,
		O_PRE,
		O_POST,
		O_REBOOT,
		O_RCMD,
		O_RTIME,
		O_CRON,
		O_NAME,
		O_TZ,
		O_FOLLOW,
		O_BECOME,
		O_BMETHOD
	};
	static const struct option opts[] = {
	    {"errata", required_argument, NULL, O_ERRATA},
	    {"type", required_argument, NULL, O_TYPE},
	    {"severity", required_argument, NULL, O_SEV},
	    {"cve", required_argument, NULL, O_CVE},
	    {"search", required_argument, NULL, O_SEARCH},
	    {"hostgroup", required_argument, NULL, O_HG},
	    {"hosts", required_argument, NULL, O_HOSTS},
	    {"batch-size", required_argument, NULL, O_BATCH},
	    {"batch-percent", required_argument, NULL, O_BPCT},
	    {"concurrency", required_argument, NULL, O_CONC},
	    {"max-fail-percent", required_argument, NULL, O_MAXF},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"window-cron", required_argument, NULL, O_WCRON},
	    {"window-duration", required_argument, NULL, O_WDUR},
	    {"window-tz", required_argument, NULL, O_WTZ},
	    {"pre", required_argument, NULL, O_PRE},
	    {"post", required_argument, NULL, O_POST},
	    {"reboot", required_argument, NULL, O_REBOOT},
	    {"reboot-command", required_argument, NULL, O_RCMD},
	    {"reboot-timeout", required_argument, NULL, O_RTIME},
	    {"cron", required_argument, NULL, O_CRON},
	    {"name", required_argument, NULL, O_NAME},
	    {"tz", required_argument, NULL, O_TZ},
	    {"become", no_argument, NULL, O_BECOME},
	    {"become-method", required_argument, NULL, O_BMETHOD},
	    {"follow", no_argument, NULL, O_FOLLOW},
	    {NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_t *body = json_object(), *errata = json_object(),
	                      *window = json_object();
	_cleanup_json_ json_t *sched = json_object(), *answer = NULL;
	bool follow = false;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		long long v;
		const char *ikey = c == O_BATCH ? "batch_size"
		    : c == O_BPCT               ? "batch_percent"
		    : c == O_CONC               ? "concurrency"
		    : c == O_MAXF               ? "max_fail_percent"
		    : c == O_TIMEOUT            ? "timeout"
		    : c == O_RTIME              ? "reboot_timeout"
		                                : NULL;
		if (ikey != NULL) {
			if (str_to_ll(optarg, 0, 7 * 86400, &v) < 0)
				return cli_fail("--%s %s: expected a number", ikey, optarg);
			json_object_set_new(body, ikey, json_integer(v));
			continue;
		}
		switch (c) {
		case O_ERRATA:
			json_object_set_new(errata, "ids", cli_comma_list(optarg));
			break;
		case O_TYPE:
			json_object_set_new(errata, "types", cli_comma_list(optarg));
			break;
		case O_SEV:
			json_object_set_new(errata, "severities", cli_comma_list(optarg));
			break;
		case O_CVE:
			json_object_set_new(errata, "cves", cli_comma_list(optarg));
			break;
		case O_SEARCH:
			json_object_set_new(body, "search", json_string(optarg));
			break;
		case O_HG:
			json_object_set_new(body, "hostgroup", json_string(optarg));
			break;
		case O_HOSTS:
			json_object_set_new(body, "hosts", cli_comma_list(optarg));
			break;
		case O_WCRON:
			json_object_set_new(window, "cron", json_string(optarg));
			break;
		case O_WDUR:
			if (str_to_ll(optarg, 1, 7 * 24 * 60, &v) < 0)
				return cli_fail("--window-duration %s: minutes", optarg);
			json_object_set_new(window, "duration", json_integer(v));
			break;
		case O_WTZ:
			json_object_set_new(window, "tz", json_string(optarg));
			break;
		case O_PRE:
			json_object_set_new(body, "pre", json_string(optarg));
			break;
		case O_POST:
			json_object_set_new(body, "post", json_string(optarg));
			break;
		case O_REBOOT: {
			_cleanup_free_ char *p = xstrdup(optarg);
			for (char *q = p; *q; q++)
				if (*q == '-')
					*q = '_';
			json_object_set_new(body, "reboot", json_string(p));
			break;
		}
		case O_RCMD:
			json_object_set_new(body, "reboot_command", json_string(optarg));
			break;
		case O_CRON:
			json_object_set_new(sched, "cron", json_string(optarg));
			break;
		case O_NAME:
			json_object_set_new(sched, "name", json_string(optarg));
			break;
		case O_TZ:
			json_object_set_new(sched, "tz", json_string(optarg));
			break;
		case O_BECOME:
			json_object_set_new(body, "become", json_true());
			break;
		case O_BMETHOD:
			json_object_set_new(body, "become", json_true());
			json_object_set_new(body, "become_method", json_string(optarg));
			break;
		case O_FOLLOW:
			follow = true;
			break;
		default:
			return cli_usage(cli_cmd_find("patch", "run"));
		}
	}
	if (optind != argc)
		return cli_usage(cli_cmd_find("patch", "run"));
	if (json_object_size(errata) > 0)
		json_object_set(body, "errata", errata);
	if (json_object_size(window) > 0)
		json_object_set(body, "window", window);
	if (json_object_size(sched) > 0) {
		if (json_object_get(sched, "cron") == NULL ||
		    json_object_get(sched, "name") == NULL)
			return cli_fail("a scheduled patch run needs --cron LINE and --name NAME");
		json_object_set(body, "schedule", sched);
	}
	if ((r = cli_api(cli, "POST", "/api/v2/patch_runs", body, &answer)) != 0)
		return r;
	if (json_object_size(sched) > 0) {
		if (cli->json)
			cli_print_json(answer);
		else
			printf("schedule %lld (%s) created\n",
			    (long long)json_integer_value(json_object_get(answer, "id")),
			    json_string_value(json_object_get(answer, "name")));
		return 0;
	}
	if (follow)
		return cli_job_follow_id(
		    cli, (long long)json_integer_value(json_object_get(answer, "id")), stdout);
	if (cli->json)
		cli_print_json(answer);
	else
		printf("patch run job %lld queued\n",
		    (long long)json_integer_value(json_object_get(answer, "id")));
	return 0;
}

/* drover settings ssh-key: droverd's public key, to put in authorized_keys. */
int
cmd_settings_ssh_key(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *answer = NULL;
	int r;

	if (argc != 1)
		return cli_usage(cli_cmd_find("settings", "ssh-key"));
	if ((r = cli_api(cli, "GET", "/api/v2/settings/ssh_key", NULL, &answer)) != 0)
		return r;
	if (cli->json)
		cli_print_json(answer);
	else
		printf("%s\n", json_string_value(json_object_get(answer, "public_key")));
	return 0;
}

/* Take --ssh-host-key KEY and --ssh-accept-new on|off out of a host update's arguments
 * into body; *ret_argc is what is left. 0 or an exit code. */
int
cli_host_ssh_args(int argc, char **argv, json_t *body, int *ret_argc)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if ((strcmp(a, "--ssh-host-key") == 0 || strcmp(a, "--ssh-accept-new") == 0) &&
		    i + 1 < argc) {
			const char *v = argv[++i];
			if (a[6] == 'h') {
				json_object_set_new(body, "ssh_host_key", json_string(v));
			} else if (strcmp(v, "on") == 0 || strcmp(v, "true") == 0 ||
			    strcmp(v, "yes") == 0) {
				json_object_set_new(body, "ssh_accept_new", json_true());
			} else if (strcmp(v, "off") == 0 || strcmp(v, "false") == 0 ||
			    strcmp(v, "no") == 0) {
				json_object_set_new(body, "ssh_accept_new", json_false());
			} else {
				return cli_fail("--ssh-accept-new %s: on or off", v);
			}
			continue;
		}
		argv[n++] = argv[i];
	}
	argv[n] = NULL;
	*ret_argc = n;
	return 0;
}

/* Send a host's SSH settings (after cli_host_ssh_args). */
int
cli_host_ssh_put(struct cli *cli, const char *host, const json_t *body)
{
	_cleanup_free_ char *enc = cli_urlencode(host);
	_cleanup_free_ char *path = xasprintf("/api/v2/hosts/%s/ssh", enc);
	_cleanup_json_ json_t *answer = NULL;
	int r;

	if ((r = cli_api(cli, "PUT", path, body, &answer)) != 0)
		return r;
	if (cli->json)
		cli_print_json(answer);
	else
		printf("host %s: %s SSH host key%s recorded, accept-new %s\n", host,
		    *json_string_value(json_object_get(answer, "ssh_host_keys")) ? "an" : "no", "",
		    json_is_true(json_object_get(answer, "ssh_accept_new")) ? "on" : "off");
	return 0;
}

static const struct cli_column playbook_columns[] = {
    {"NAME", "name", 0},
    {"VERSION", "version", 0},
    {"CREATED", "created_at", CLI_COL_TIME},
    {"BY", "created_by", 0},
};

/* drover playbook upload NAME FILE | list | show NAME[@VERSION] */
int
cmd_playbook(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *answer = NULL;
	int r;

	if (strcmp(argv[0], "upload") == 0) {
		char *text = NULL;
		struct dr_error err;
		if (argc != 3)
			return cli_usage(cli_cmd_find("playbook", "upload"));
		if (file_read(argv[2], 1 << 20, &text, NULL, &err) < 0)
			return cli_fail("%s", err.msg);
		_cleanup_json_ json_t *body =
		    json_pack("{s:s, s:s}", "name", argv[1], "content", text);
		free(text);
		if ((r = cli_api(cli, "POST", "/api/v2/playbooks", body, &answer)) != 0)
			return r;
		if (cli->json)
			cli_print_json(answer);
		else
			printf("playbook %s version %lld\n", argv[1],
			    (long long)json_integer_value(json_object_get(answer, "version")));
		return 0;
	}
	if (strcmp(argv[0], "list") == 0) {
		if (argc != 1)
			return cli_usage(cli_cmd_find("playbook", "list"));
		if ((r = cli_api(cli, "GET", "/api/v2/playbooks", NULL, &answer)) != 0)
			return r;
		if (cli->json)
			cli_print_json(answer);
		else
			cli_table(playbook_columns, nitems(playbook_columns),
			    json_object_get(answer, "results"));
		return 0;
	}
	if (argc != 2)
		return cli_usage(cli_cmd_find("playbook", "show"));
	_cleanup_free_ char *copy = xstrdup(argv[1]);
	char *at = strchr(copy, '@');
	if (at != NULL)
		*at++ = '\0';
	_cleanup_free_ char *enc = cli_urlencode(copy), *venc = at ? cli_urlencode(at) : NULL;
	_cleanup_free_ char *path = at ? xasprintf("/api/v2/playbooks/%s/versions/%s", enc, venc)
	                               : xasprintf("/api/v2/playbooks/%s", enc);
	if ((r = cli_api(cli, "GET", path, NULL, &answer)) != 0)
		return r;
	if (cli->json) {
		cli_print_json(answer);
		return 0;
	}
	cli_record(playbook_columns, nitems(playbook_columns), answer);
	printf("\n%s", json_string_value(json_object_get(answer, "content")));
	return 0;
}

static const struct cli_column drift_columns[] = {
    {"HOST", "name", 0},
    {"DRIFTED", "drifted", 0},
    {"CHECKED", "checked_at", CLI_COL_TIME},
    {"JOB", "job_id", 0},
};

/* drover drift list | show HOST | check [--search Q|--hostgroup HG] [--follow] */
int
cmd_drift(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *answer = NULL;
	int r;

	if (strcmp(argv[0], "list") == 0) {
		if (argc != 1)
			return cli_usage(cli_cmd_find("drift", "list"));
		if ((r = cli_api(cli, "GET", "/api/v2/drift", NULL, &answer)) != 0)
			return r;
		if (cli->json)
			cli_print_json(answer);
		else
			cli_table(drift_columns, nitems(drift_columns),
			    json_object_get(answer, "results"));
		return 0;
	}
	if (strcmp(argv[0], "show") == 0) {
		if (argc != 2)
			return cli_usage(cli_cmd_find("drift", "show"));
		_cleanup_free_ char *enc = cli_urlencode(argv[1]);
		_cleanup_free_ char *path = xasprintf("/api/v2/hosts/%s/drift", enc);
		if ((r = cli_api(cli, "GET", path, NULL, &answer)) != 0)
			return r;
		if (cli->json) {
			cli_print_json(answer);
			return 0;
		}
		cli_record(drift_columns, nitems(drift_columns), answer);
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(answer, "changes"), i, c)
		{
			const json_t *d = json_object_get(c, "diff");
			printf("\nTASK [%s] would change\n",
			    json_string_value(json_object_get(c, "task")));
			if (json_is_object(d)) {
				const char *h =
				    json_string_value(json_object_get(d, "before_header"));
				printf("--- before%s%s\n+++ after%s%s\n", h ? ": " : "",
				    h ? h : "", h ? ": " : "", h ? h : "");
				for (int side = 0; side < 2; side++) {
					_cleanup_free_ char *text = xstrdup(
					    json_string_value(
					        json_object_get(d, side ? "after" : "before"))
					        ?: "");
					char *save = NULL;
					for (char *l = strtok_r(text, "\n", &save); l;
					     l = strtok_r(NULL, "\n", &save))
						printf("%c%s\n", side ? '+' : '-', l);
				}
			}
		}
		return 0;
	}
	static const struct option opts[] = {
	    {"search", required_argument, NULL, 's'},
	    {"hostgroup", required_argument, NULL, 'g'},
	    {"follow", no_argument, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_t *params = json_object();
	bool follow = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (c == 's')
			json_object_set_new(params, "search", json_string(optarg));
		else if (c == 'g')
			json_object_set_new(params, "hostgroup", json_string(optarg));
		else if (c == 'f')
			follow = true;
		else
			return cli_usage(cli_cmd_find("drift", "check"));
	}
	if (optind != argc)
		return cli_usage(cli_cmd_find("drift", "check"));
	_cleanup_json_ json_t *body =
	    json_pack("{s:s, s:O}", "kind", "drift_check", "params", params);
	if ((r = cli_api(cli, "POST", "/api/v2/jobs", body, &answer)) != 0)
		return r;
	return cli_job_started(cli, answer, follow);
}
