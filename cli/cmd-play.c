/* cmd-play.c - `drover play`: run Ansible playbooks against hosts, without a server. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "playbooks/playbooks.h"

/* Exit codes for bad input, as ansible-playbook's (option errors 5, parse errors 4). */
#define CMD_PLAY_RC_OPTIONS 5
#define CMD_PLAY_RC_PARSE 4

/* Read the become password (-K) from the terminal without echo, or a line of stdin. */
static char *
cmd_play_ask_pass(void)
{
	struct termios old, quiet;
	char buf[1024];
	bool tty = isatty(0) && tcgetattr(0, &old) == 0;

	fputs("BECOME password: ", stderr);
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSAFLUSH, &quiet);
	}
	if (!fgets(buf, sizeof buf, stdin))
		buf[0] = '\0';
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	return xstrdup(buf);
}

/* True when the environment variable is set to an Ansible true value. */
static bool
cmd_play_env_true(const char *name)
{
	const char *v = getenv(name);

	return v &&
	    (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0 ||
	        strcmp(v, "1") == 0);
}

int
cmd_play(struct cli *cli, int argc, char **argv)
{
	enum {
		O_SKIP_TAGS = 256,
		O_SYNTAX,
		O_LIST_TASKS,
		O_LIST_HOSTS,
		O_START_AT,
		O_ROLES_PATH,
		O_ACCEPT_NEW,
		O_JSON
	};
	static const struct option opts[] = {
	    {"inventory", required_argument, NULL, 'i'},
	    {"limit", required_argument, NULL, 'l'},
	    {"tags", required_argument, NULL, 't'},
	    {"skip-tags", required_argument, NULL, O_SKIP_TAGS},
	    {"extra-vars", required_argument, NULL, 'e'},
	    {"forks", required_argument, NULL, 'f'},
	    {"check", no_argument, NULL, 'C'},
	    {"diff", no_argument, NULL, 'D'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"json", no_argument, NULL, O_JSON},
	    {"syntax-check", no_argument, NULL, O_SYNTAX},
	    {"list-tasks", no_argument, NULL, O_LIST_TASKS},
	    {"list-hosts", no_argument, NULL, O_LIST_HOSTS},
	    {"start-at-task", required_argument, NULL, O_START_AT},
	    {"roles-path", required_argument, NULL, O_ROLES_PATH},
	    {"ask-become-pass", no_argument, NULL, 'K'},
	    {"ssh-accept-new", no_argument, NULL, O_ACCEPT_NEW},
	    {"connection", required_argument, NULL, 'c'},
	    {"user", required_argument, NULL, 'u'},
	    {NULL, 0, NULL, 0},
	};
	const struct cli_cmd *self = cli_cmd_find("play", NULL);
	struct play_opts po = {0};
	struct play_output out = {.fp = stdout, .json = cli->json};
	struct playbook_opts pbo = {0};
	struct inventory inv;
	struct playbook *pb = NULL;
	struct dr_error err = {{0}};
	_cleanup_json_ json_t *extra = json_object(), *sources = json_array();
	_cleanup_free_ char *become_pw = NULL;
	bool syntax = false, list_tasks = false, list_hosts = false, ask = false;
	bool not_found = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "i:l:t:e:f:CDvKc:u:", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			json_array_append_new(sources, json_string(optarg));
			break;
		case 'l':
			po.limit = optarg;
			break;
		case 't':
			po.tags = optarg;
			break;
		case O_SKIP_TAGS:
			po.skip_tags = optarg;
			break;
		case 'e':
			if (vars_extra_parse(extra, optarg, &err) < 0) {
				fprintf(stderr, "ERROR! %s\n", err.msg);
				return CMD_PLAY_RC_OPTIONS;
			}
			break;
		case 'f': {
			long long n;
			if (str_to_ll(optarg, 1, 10000, &n) < 0) {
				fprintf(
				    stderr, "ERROR! -f %s: expected a number of forks\n", optarg);
				return CMD_PLAY_RC_OPTIONS;
			}
			po.forks = (int)n;
			break;
		}
		case 'C':
			po.check = true;
			break;
		case 'D':
			po.diff = true;
			break;
		case 'v':
			po.verbosity++;
			break;
		case O_JSON:
			out.json = true;
			break;
		case O_SYNTAX:
			syntax = true;
			break;
		case O_LIST_TASKS:
			list_tasks = true;
			break;
		case O_LIST_HOSTS:
			list_hosts = true;
			break;
		case O_START_AT:
			po.start_at_task = optarg;
			break;
		case O_ROLES_PATH:
			pbo.roles_path = optarg;
			break;
		case 'K':
			ask = true;
			break;
		case O_ACCEPT_NEW:
			po.accept_new_host_key = true;
			break;
		case 'c':
			po.connection = optarg;
			break;
		case 'u':
			po.user = optarg;
			break;
		default:
			cli_usage(self);
			return CMD_PLAY_RC_OPTIONS;
		}
	}
	if (optind + 1 != argc) {
		cli_usage(self);
		return CMD_PLAY_RC_OPTIONS;
	}
	if (!pbo.roles_path)
		pbo.roles_path = getenv("ANSIBLE_ROLES_PATH");
	out.verbosity = po.verbosity;
	out.diff = po.diff;
	po.extra_vars = extra;
	po.event = play_output_event;
	po.event_ctx = &out;
	vars_init();
	pbo.not_found = &not_found;
	if (playbook_load(argv[optind], &pbo, &pb, &err) < 0) {
		fprintf(stderr, "ERROR! %s\n", err.msg);
		return not_found ? PLAY_RC_ERROR : CMD_PLAY_RC_PARSE;
	}
	if (syntax) {
		printf("\nplaybook: %s\n", argv[optind]);
		playbook_free(pb);
		return 0;
	}
	inventory_init(&inv);
	if (json_array_size(sources) == 0)
		json_array_append_new(sources, json_string("/etc/ansible/hosts"));
	for (size_t i = 0; i < json_array_size(sources); i++) {
		const char *s = json_string_value(json_array_get(sources, i));
		if (strcmp(s, INVENTORY_DROVERD_SOURCE) == 0) {
			/* droverd's hosts and hostgroups, from the server in the user config */
			json_t *doc = NULL;
			int lr;
			if (cli_config_load(cli) != 0 ||
			    cli_api(cli, "GET", "/api/v2/inventory", NULL, &doc) != 0) {
				inventory_free(&inv);
				playbook_free(pb);
				return PLAY_RC_ERROR;
			}
			lr = inventory_doc_load(&inv, "droverd", doc, &err);
			json_decref(doc);
			if (lr < 0) {
				fprintf(stderr, "ERROR! droverd's inventory: %s\n", err.msg);
				inventory_free(&inv);
				playbook_free(pb);
				return PLAY_RC_ERROR;
			}
			continue;
		}
		if (inventory_load(&inv, s, &err) < 0) {
			/* the default inventory may be missing: an empty inventory, as Ansible's
			 */
			if (i == 0 && json_array_size(sources) == 1 &&
			    strcmp(s, "/etc/ansible/hosts") == 0 && access(s, F_OK) != 0)
				continue;
			/* as ansible-playbook: a source that does not parse is a warning (the
			 * play then matches no hosts), an error (exit 1) only with
			 * ANSIBLE_INVENTORY_UNPARSED_FAILED */
			if (cmd_play_env_true("ANSIBLE_INVENTORY_UNPARSED_FAILED")) {
				fprintf(stderr, "ERROR! %s\n", err.msg);
				inventory_free(&inv);
				playbook_free(pb);
				return PLAY_RC_ERROR;
			}
			fprintf(stderr,
			    "[WARNING]: Unable to parse %s as an inventory source: %s\n", s,
			    err.msg);
			continue;
		}
	}
	if (inventory_vars_load(&inv, playbook_dir(pb), &err) < 0) {
		fprintf(stderr, "ERROR! %s\n", err.msg);
		inventory_free(&inv);
		playbook_free(pb);
		return CMD_PLAY_RC_PARSE;
	}
	if (ask)
		po.become_password = become_pw = cmd_play_ask_pass();
	if (list_hosts || list_tasks) {
		if (!out.json)
			printf("\nplaybook: %s\n", argv[optind]);
		rc =
		    play_list(pb, &inv, &po, list_hosts, list_tasks, &err) < 0 ? PLAY_RC_ERROR : 0;
	} else
		rc = play_run(pb, &inv, &po, &err);
	if (rc == PLAY_RC_ERROR || rc == PLAY_RC_PARSE)
		fprintf(stderr, "ERROR! %s\n", err.msg);
	inventory_free(&inv);
	playbook_free(pb);
	return rc;
}
