/* cmd-ca.c - drover ca show|issue|list|revoke|crl|rotate|intermediate. */
#define LOG_COMPONENT "cli"
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"

#define CA_CLI_LIST_MAX 64 /* --dns / --ip given on one command line */
#define CA_CLI_FILE_MAX (64 << 10)

static const struct cli_column ca_columns[] = {
    {"SERIAL", "serial", 0},
    {"KIND", "kind", 0},
    {"PURPOSE", "purpose", 0},
    {"STATE", "state", 0},
    {"SUBJECT", "subject", 0},
    {"CLUSTER", "cluster", 0},
    {"NOT AFTER", "not_after", CLI_COL_TIME},
};

/* Write one file, private ones 0600; 0 or the exit code. */
static int
ca_cli_write(const char *path, const char *text, bool private)
{
	struct dr_error err;

	if (text == NULL)
		return cli_fail("%s: the server sent no content for it", path);
	if (file_write_atomic(path, text, strlen(text), private ? 0600 : 0644, &err) < 0)
		return cli_fail("%s", err.msg);
	return 0;
}

/*
 * drover ca show --root | --bundle | SERIAL [--out PREFIX]: with --out, PREFIX.crt gets
 * the certificate and its chain (how a host picks up a renewed certificate).
 */
int
cmd_ca_show(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"root", no_argument, NULL, 'r'},
	    {"bundle", no_argument, NULL, 'b'},
	    {"out", required_argument, NULL, 'o'},
	    {NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_t *answer = NULL;
	_cleanup_free_ char *path = NULL, *serial = NULL, *crt = NULL, *pem = NULL;
	const char *what = NULL, *out = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			what = "certificate";
			break;
		case 'b':
			what = "bundle";
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return cli_usage(cli_cmd_find("ca", "show"));
		}
	}
	if ((what == NULL) == (optind == argc) || argc - optind > 1 ||
	    (out != NULL && what != NULL))
		return cli_usage(cli_cmd_find("ca", "show"));
	if (what != NULL) {
		path = xstrdup("/api/v2/ca/root");
	} else {
		serial = cli_urlencode(argv[optind]);
		path = xasprintf("/api/v2/ca/certificates/%s", serial);
		what = "certificate";
	}
	if ((r = cli_api(cli, "GET", path, NULL, &answer)) != 0)
		return r;
	if (out != NULL) {
		crt = xasprintf("%s.crt", out);
		pem = xasprintf("%s%s", json_string_value(json_object_get(answer, "certificate")),
		    json_string_value(json_object_get(answer, "chain")));
		if (ca_cli_write(crt, pem, false) != 0)
			return 1;
	}
	if (cli->json) {
		cli_print_json(answer);
		return 0;
	}
	if (out != NULL) {
		printf("wrote %s\n", crt);
		return 0;
	}
	if (serial != NULL)
		cli_record(ca_columns, nitems(ca_columns), answer);
	fputs(json_string_value(json_object_get(answer, what)), stdout);
	return 0;
}

/* Append a --dns or --ip value, within the cap. */
static int
ca_cli_push(json_t *list, const char *opt, const char *value)
{
	if (json_array_size(list) >= CA_CLI_LIST_MAX)
		return cli_fail("--%s: at most %d", opt, CA_CLI_LIST_MAX);
	json_array_append_new(list, json_string(value));
	return 0;
}

/*
 * drover ca issue --host FQDN [--dns NAME]... [--ip ADDR]... [--days N]
 * [--public-key FILE | --csr FILE] --out PREFIX: PREFIX.crt (certificate + chain) and,
 * when the CA made the key, PREFIX.key.
 */
int
cmd_ca_issue(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"host", required_argument, NULL, 'H'},
	    {"dns", required_argument, NULL, 'd'},
	    {"ip", required_argument, NULL, 'i'},
	    {"days", required_argument, NULL, 'D'},
	    {"public-key", required_argument, NULL, 'k'},
	    {"csr", required_argument, NULL, 'c'},
	    {"out", required_argument, NULL, 'o'},
	    {NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_t *body = json_object(), *dns = json_array(), *ips = json_array();
	_cleanup_json_ json_t *cert = NULL;
	_cleanup_free_ char *crt_path = NULL, *key_path = NULL, *pem = NULL, *pub = NULL;
	const char *out = NULL, *key, *pub_field = NULL;
	struct dr_error err;
	long long days;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			json_object_set_new(body, "host", json_string(optarg));
			break;
		case 'd':
			if (ca_cli_push(dns, "dns", optarg) != 0)
				return 1;
			break;
		case 'i':
			if (ca_cli_push(ips, "ip", optarg) != 0)
				return 1;
			break;
		case 'D':
			if (str_to_ll(optarg, 1, 100000, &days) < 0)
				return cli_fail("--days %s: expected a number of days", optarg);
			json_object_set_new(body, "days", json_integer(days));
			break;
		case 'k':
		case 'c':
			free(pub);
			pub = NULL;
			if (file_read(optarg, CA_CLI_FILE_MAX, &pub, NULL, &err) < 0)
				return cli_fail(
				    "--%s: %s", c == 'k' ? "public-key" : "csr", err.msg);
			pub_field = c == 'k' ? "public_key" : "csr";
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return cli_usage(cli_cmd_find("ca", "issue"));
		}
	}
	if (optind != argc)
		return cli_usage(cli_cmd_find("ca", "issue"));
	if (json_object_get(body, "host") == NULL)
		return cli_fail("ca issue: --host FQDN is required");
	if (out == NULL && !cli->json)
		return cli_fail("ca issue: --out PREFIX is required (or --json to print it all)");
	json_object_set(body, "dns", dns);
	json_object_set(body, "ips", ips);
	if (pub != NULL)
		json_object_set_new(body, pub_field, json_string(pub));
	if ((r = cli_api(cli, "POST", "/api/v2/admin/ca/certificates", body, &cert)) != 0)
		return r;
	if (out == NULL) {
		cli_print_json(cert);
		return 0;
	}
	crt_path = xasprintf("%s.crt", out);
	pem = xasprintf("%s%s", json_string_value(json_object_get(cert, "certificate")),
	    json_string_value(json_object_get(cert, "chain")));
	if (ca_cli_write(crt_path, pem, false) != 0)
		return 1;
	if ((key = json_string_value(json_object_get(cert, "key"))) != NULL) {
		key_path = xasprintf("%s.key", out);
		if (ca_cli_write(key_path, key, true) != 0)
			return 1;
	}
	if (cli->json) {
		json_object_del(cert, "key");
		cli_print_json(cert);
	} else {
		time_t until = (time_t)json_integer_value(json_object_get(cert, "not_after"));
		char when[32];
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&until));
		printf("certificate %s for %s, valid until %s\n",
		    json_string_value(json_object_get(cert, "serial")),
		    json_string_value(json_object_get(cert, "host")), when);
		printf("wrote %s%s%s\n", crt_path, key_path != NULL ? " and " : "",
		    key_path != NULL ? key_path : "");
	}
	return 0;
}

/* drover ca list [--kind K] [--host H] [--cluster C] [--state S] [--page N], 1000 a page */
int
cmd_ca_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"kind", required_argument, NULL, 0},
	    {"host", required_argument, NULL, 0},
	    {"cluster", required_argument, NULL, 0},
	    {"state", required_argument, NULL, 0},
	    {"page", required_argument, NULL, 0},
	    {NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_t *answer = NULL;
	struct buf path = BUF_INIT(4096);
	size_t shown;
	json_int_t total;
	int c, idx, r;

	buf_adds(&path, "/api/v2/ca/certificates?per_page=1000");
	while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		if (c != 0) {
			buf_free(&path);
			return cli_usage(cli_cmd_find("ca", "list"));
		}
		_cleanup_free_ char *v = cli_urlencode(optarg);
		if (buf_addf(&path, "&%s=%s", opts[idx].name, v) < 0) {
			buf_free(&path);
			return cli_fail("ca list: options too long");
		}
	}
	if (optind != argc) {
		buf_free(&path);
		return cli_usage(cli_cmd_find("ca", "list"));
	}
	r = cli_api(cli, "GET", path.data, NULL, &answer);
	buf_free(&path);
	if (r != 0)
		return r;
	if (cli->json) {
		cli_print_json(answer);
		return 0;
	}
	cli_table(ca_columns, nitems(ca_columns), json_object_get(answer, "results"));
	shown = json_array_size(json_object_get(answer, "results"));
	total = json_integer_value(json_object_get(answer, "total"));
	if ((json_int_t)shown < total)
		fprintf(stderr, "(%zu of %lld shown, page %lld: see --page)\n", shown,
		    (long long)total,
		    (long long)json_integer_value(json_object_get(answer, "page")));
	return 0;
}

/* drover ca revoke SERIAL [--reason R] */
int
cmd_ca_revoke(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, 'r'},
	    {NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_t *body = json_object(), *row = NULL;
	_cleanup_free_ char *path = NULL, *serial = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r')
			return cli_usage(cli_cmd_find("ca", "revoke"));
		json_object_set_new(body, "reason", json_string(optarg));
	}
	if (argc - optind != 1)
		return cli_usage(cli_cmd_find("ca", "revoke"));
	serial = cli_urlencode(argv[optind]);
	path = xasprintf("/api/v2/admin/ca/certificates/%s/revoke", serial);
	if ((r = cli_api(cli, "POST", path, body, &row)) != 0)
		return r;
	if (cli->json)
		cli_print_json(row);
	else
		printf("certificate %s (%s) revoked: %s\n",
		    json_string_value(json_object_get(row, "serial")),
		    json_string_value(json_object_get(row, "subject")),
		    json_string_value(json_object_get(row, "reason")));
	return 0;
}

/* drover ca crl: the CRLs of every trusted issuer, as PEM. */
int
cmd_ca_crl(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *answer = NULL;
	int r;

	if (argc != 1)
		return cli_usage(cli_cmd_find("ca", "crl"));
	if ((r = cli_api(cli, "GET", "/api/v2/ca/crl", NULL, &answer)) != 0)
		return r;
	if (cli->json)
		cli_print_json(answer);
	else
		fputs(json_string_value(json_object_get(answer, "pem")), stdout);
	return 0;
}

/* drover ca rotate [--complete] */
int
cmd_ca_rotate(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"complete", no_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_t *answer = NULL;
	bool complete = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'c')
			return cli_usage(cli_cmd_find("ca", "rotate"));
		complete = true;
	}
	if (optind != argc)
		return cli_usage(cli_cmd_find("ca", "rotate"));
	r = cli_api(cli, "POST",
	    complete ? "/api/v2/admin/ca/rotate/complete" : "/api/v2/admin/ca/rotate", NULL,
	    &answer);
	if (r != 0)
		return r;
	if (cli->json) {
		cli_print_json(answer);
	} else if (complete) {
		printf("rotation complete: root %s retired; %s is the only trusted root\n",
		    json_string_value(
		        json_object_get(json_object_get(answer, "retired"), "serial")),
		    json_string_value(json_object_get(json_object_get(answer, "root"), "serial")));
	} else {
		printf(
		    "rotation started: new root %s issues from now on; the trust bundle holds it "
		    "and the previous root %s until drover ca rotate --complete\n",
		    json_string_value(json_object_get(json_object_get(answer, "root"), "serial")),
		    json_string_value(
		        json_object_get(json_object_get(answer, "previous"), "serial")));
	}
	return 0;
}

/* drover ca intermediate --cluster NAME --mesh istio|linkerd --out DIR */
int
cmd_ca_intermediate(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"cluster", required_argument, NULL, 'c'},
	    {"mesh", required_argument, NULL, 'm'},
	    {"out", required_argument, NULL, 'o'},
	    {NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_t *body = json_object(), *answer = NULL;
	const char *out = NULL, *name;
	json_t *content;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			json_object_set_new(body, "cluster", json_string(optarg));
			break;
		case 'm':
			json_object_set_new(body, "mesh", json_string(optarg));
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return cli_usage(cli_cmd_find("ca", "intermediate"));
		}
	}
	if (optind != argc)
		return cli_usage(cli_cmd_find("ca", "intermediate"));
	if (json_object_get(body, "cluster") == NULL || json_object_get(body, "mesh") == NULL)
		return cli_fail("ca intermediate: --cluster NAME and --mesh istio|linkerd are "
		                "required");
	if (out == NULL)
		return cli_fail("ca intermediate: --out DIR is required");
	if ((r = cli_api(cli, "POST", "/api/v2/admin/ca/intermediates", body, &answer)) != 0)
		return r;
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return cli_fail("%s: %s", out, strerror(errno));
	json_object_foreach(json_object_get(answer, "files"), name, content)
	{
		_cleanup_free_ char *path = NULL;
		/* Names come from the server: accept plain file names only. */
		if (strchr(name, '/') != NULL || name[0] == '.' || name[0] == '\0')
			return cli_fail("the server sent a bad file name '%s'", name);
		path = xasprintf("%s/%s", out, name);
		if (ca_cli_write(path, json_string_value(content),
		        str_has_suffix(name, ".key") || str_has_suffix(name, "-key.pem")) != 0)
			return 1;
		if (!cli->json)
			printf("wrote %s\n", path);
	}
	if (cli->json) {
		json_object_del(answer, "files");
		cli_print_json(answer);
	}
	return 0;
}
