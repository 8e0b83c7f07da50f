/* cmd-image.c - drover image create|list|show|build|delete: OS images for the image
 * provision method, built by droverd with mmdebstrap. */
#define LOG_COMPONENT "cli"
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_column image_cols[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"SUITE", "suite", 0},
    {"STATUS", "status", 0},
    {"SIZE", "size", 0},
    {"SHA256", "sha256", 0},
    {"BUILT", "built_at", CLI_COL_TIME},
    {"FORMAT", "format", 0},
};

/* The image's path; caller frees. */
static char *
cli_image_path(const char *name, const char *suffix)
{
	_cleanup_free_ char *enc = cli_urlencode(name);

	return xasprintf("/api/v2/images/%s%s", enc, suffix);
}

/* After a build was queued: follow its job (--follow) or say which it is. */
static int
cli_image_started(struct cli *cli, const json_t *img, bool follow)
{
	long long job = json_integer_value(json_object_get(img, "job_id"));

	if (follow && job > 0) {
		int rc = cli_job_follow_id(cli, job, stdout);
		return rc;
	}
	if (cli->json)
		cli_print_json(img);
	else
		printf("image %s: build queued as job %lld (drover job follow %lld)\n",
		    json_string_value(json_object_get(img, "name")), job, job);
	return 0;
}

/* The key in file as the API's gpg_key: an armored key as it is, a binary one in base64. */
static int
cli_image_key(const char *file, json_t *body)
{
	_cleanup_free_ char *data = NULL, *b64 = NULL;
	struct dr_error err;
	size_t len = 0;

	if (file_read(file, 64 * 1024, &data, &len, &err) < 0)
		return cli_fail("--gpg-key: %s", err.msg);
	if (memmem(data, len, "-----BEGIN PGP", 14) != NULL) {
		json_object_set_new(body, "gpg_key", json_string(data));
		return 0;
	}
	b64 = base64_encode(data, len);
	json_object_set_new(body, "gpg_key", json_string(b64));
	return 0;
}

/* drover image create NAME [--suite S] [--mirror URL] [--components C] [--packages a,b]
 * [--exclude GLOB,...] [--format tar|raw] [--trusted] [--gpg-key FILE]
 * [--url URL [--sha256 HEX]] [--comment C] [--follow] */
int
cmd_image_create(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"suite", required_argument, NULL, 's'},
	    {"mirror", required_argument, NULL, 'm'},
	    {"components", required_argument, NULL, 'c'},
	    {"packages", required_argument, NULL, 'p'},
	    {"exclude", required_argument, NULL, 'x'},
	    {"format", required_argument, NULL, 'f'},
	    {"trusted", no_argument, NULL, 't'},
	    {"url", required_argument, NULL, 'u'},
	    {"sha256", required_argument, NULL, 'S'},
	    {"gpg-key", required_argument, NULL, 'g'},
	    {"comment", required_argument, NULL, 'C'},
	    {"follow", no_argument, NULL, 'F'},
	    {NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_t *body = json_object(), *answer = NULL;
	bool follow = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char *key = NULL;

		switch (c) {
		case 's':
			key = "suite";
			break;
		case 'm':
			key = "mirror";
			break;
		case 'c':
			key = "components";
			break;
		case 'p':
			key = "packages";
			break;
		case 'x':
			key = "exclude";
			break;
		case 'f':
			key = "format";
			break;
		case 'C':
			key = "comment";
			break;
		case 'u':
			key = "source_url";
			break;
		case 'S':
			key = "source_sha256";
			break;
		case 't':
			json_object_set_new(body, "trusted", json_true());
			break;
		case 'g':
			if ((rc = cli_image_key(optarg, body)) != 0)
				return rc;
			break;
		case 'F':
			follow = true;
			break;
		default:
			return cli_usage(cli_cmd_find("image", "create"));
		}
		if (key != NULL)
			json_object_set_new(body, key, json_string(optarg));
	}
	if (optind != argc - 1)
		return cli_usage(cli_cmd_find("image", "create"));
	json_object_set_new(body, "name", json_string(argv[optind]));
	if ((rc = cli_api(cli, "POST", "/api/v2/images", body, &answer)) != 0)
		return rc;
	return cli_image_started(cli, answer, follow);
}

/* drover image build NAME [--follow] */
int
cmd_image_build(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *answer = NULL;
	_cleanup_free_ char *path = NULL;
	bool follow = argc == 3 && strcmp(argv[2], "--follow") == 0;
	int rc;

	if (argc != 2 && !follow)
		return cli_usage(cli_cmd_find("image", "build"));
	path = cli_image_path(argv[1], "/build");
	if ((rc = cli_api(cli, "POST", path, NULL, &answer)) != 0)
		return rc;
	return cli_image_started(cli, answer, follow);
}

/* drover image list [--search S] */
int
cmd_image_list(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *answer = NULL;
	_cleanup_free_ char *path = NULL, *enc = NULL;
	int rc;

	if (argc == 3 && strcmp(argv[1], "--search") == 0) {
		enc = cli_urlencode(argv[2]);
		path = xasprintf("/api/v2/images?search=%s", enc);
	} else if (argc == 1) {
		path = xstrdup("/api/v2/images");
	} else {
		return cli_usage(cli_cmd_find("image", "list"));
	}
	if ((rc = cli_api(cli, "GET", path, NULL, &answer)) != 0)
		return rc;
	if (cli->json)
		cli_print_json(answer);
	else
		cli_table_page(image_cols, nitems(image_cols), answer);
	return 0;
}

/* drover image show NAME | delete NAME */
int
cmd_image_show(struct cli *cli, int argc, char **argv)
{
	bool del = strcmp(argv[0], "delete") == 0;
	_cleanup_json_ json_t *answer = NULL;
	_cleanup_free_ char *path = NULL;
	int rc;

	if (argc != 2)
		return cli_usage(cli_cmd_find("image", argv[0]));
	path = cli_image_path(argv[1], "");
	if ((rc = cli_api(cli, del ? "DELETE" : "GET", path, NULL, &answer)) != 0)
		return rc;
	if (del && !cli->json)
		printf("image %s deleted\n", argv[1]);
	else
		cli_print_json(answer);
	return 0;
}
