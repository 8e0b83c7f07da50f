/* cmd-host.c - drover host|hostgroup|subnet|domain|os|medium|ptable|template|
 * compute-resource|architecture|parameter list|show|create|update|delete, host build,
 * host known-hosts and template preview. One table maps each CLI resource to its REST
 * collection and the columns its list shows. */
#define LOG_COMPONENT "cli"
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_column host_cols[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"HOSTGROUP", "hostgroup_name", 0},
    {"OS", "operatingsystem_name", 0},
    {"STATUS", "status", 0},
    {"BUILD", "build", 0},
    {"INSTALLED", "installed_at", CLI_COL_TIME},
};
static const struct cli_column hostgroup_cols[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"PARENT", "parent_name", 0},
    {"OS", "operatingsystem_name", 0},
    {"MEDIUM", "medium_name", 0},
};
static const struct cli_column subnet_cols[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"NETWORK", "network", 0},
    {"MASK", "mask", 0},
    {"GATEWAY", "gateway", 0},
    {"BOOT MODE", "boot_mode", 0},
};
static const struct cli_column name_cols[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
};
static const struct cli_column os_cols[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"FAMILY", "family", 0},
    {"MAJOR", "major", 0},
    {"MINOR", "minor", 0},
    {"RELEASE", "release_name", 0},
};
static const struct cli_column medium_cols[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"FAMILY", "os_family", 0},
    {"PATH", "path", 0},
};
static const struct cli_column ptable_cols[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"FAMILY", "os_family", 0},
};
static const struct cli_column template_cols[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"KIND", "kind", 0},
    {"OPERATING SYSTEMS", "operatingsystem_names", 0},
};
static const struct cli_column compute_cols[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"PROVIDER", "provider", 0},
    {"URL", "url", 0},
};
static const struct cli_column parameter_cols[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"VALUE", "value", 0},
};

static const struct cli_column rule_cols[] = {
    {"ID", "id", 0},
    {"NAME", "name", 0},
    {"SEARCH", "search", 0},
    {"HOSTGROUP", "hostgroup_name", 0},
    {"PRIORITY", "priority", 0},
    {"MAX", "max_count", 0},
    {"HOSTS", "hosts_count", 0},
};

/* A CLI resource: its word, its REST collection, its list columns. */
static const struct cli_resource {
	const char *word;
	const char *plural;
	const struct cli_column *cols;
	size_t ncols;
} cli_resources[] = {
    {"host", "hosts", host_cols, nitems(host_cols)},
    {"hostgroup", "hostgroups", hostgroup_cols, nitems(hostgroup_cols)},
    {"subnet", "subnets", subnet_cols, nitems(subnet_cols)},
    {"domain", "domains", name_cols, nitems(name_cols)},
    {"os", "operatingsystems", os_cols, nitems(os_cols)},
    {"medium", "media", medium_cols, nitems(medium_cols)},
    {"ptable", "ptables", ptable_cols, nitems(ptable_cols)},
    {"template", "provisioning_templates", template_cols, nitems(template_cols)},
    {"compute-resource", "compute_resources", compute_cols, nitems(compute_cols)},
    {"architecture", "architectures", name_cols, nitems(name_cols)},
    {"parameter", "common_parameters", parameter_cols, nitems(parameter_cols)},
    {"discovery-rule", "discovery_rules", rule_cols, nitems(rule_cols)},
};

/* The table entry for the resource word the verb was called under. */
static const struct cli_resource *
cli_resource_of(const char *word)
{
	size_t i;

	for (i = 0; i < nitems(cli_resources); i++)
		if (strcmp(cli_resources[i].word, word) == 0)
			return &cli_resources[i];
	return NULL;
}

/* The resource word: argv[-1] is the resource (drover.c shifts it off). */
static const struct cli_resource *
cli_resource_arg(char **argv)
{
	return cli_resource_of(argv[-1]);
}

/* NAME as a path segment; caller frees. */
static char *
cli_obj_path(const struct cli_resource *r, const char *name, const char *suffix)
{
	_cleanup_free_ char *enc = cli_urlencode(name);

	return xasprintf("/api/v2/%s/%s%s", r->plural, enc, suffix != NULL ? suffix : "");
}

/* Where cli_field_set collects -p K=V until the request is made (not a field name). */
#define CLI_PARAM_SET " -p"

/* Turn the collected -p K=V into the object's parameters: on top of base's (the object's
 * stored parameters when updating, so one -p changes one parameter), or of a --parameters
 * JSON given beside them. */
static void
cli_params_apply(json_t *obj, const json_t *base)
{
	json_t *set = json_object_get(obj, CLI_PARAM_SET), *params;

	if (set == NULL)
		return;
	if ((params = json_object_get(obj, "parameters")) == NULL) {
		params = json_is_object(base) ? json_deep_copy(base) : json_object();
		json_object_set_new(obj, "parameters", params);
	}
	json_object_update(params, set);
	json_object_del(obj, CLI_PARAM_SET);
}

/* Where cli_field_set collects --mac and --ip until the request is made. */
#define CLI_NIC_SET " nic"

/* Turn the collected --mac/--ip into the provisioning interface: of base's interfaces (the
 * host's stored ones when updating, so --ip alone changes its address and keeps its MAC
 * and other interfaces), of an --interfaces JSON given beside them, or a new one. */
static void
cli_nic_apply(json_t *obj, const json_t *base)
{
	json_t *set = json_object_get(obj, CLI_NIC_SET), *ifs, *nic = NULL, *n;
	size_t i;

	if (set == NULL)
		return;
	if ((ifs = json_object_get(obj, "interfaces")) == NULL) {
		ifs = json_is_array(base) ? json_deep_copy(base) : json_array();
		json_object_set_new(obj, "interfaces", ifs);
	}
	json_array_foreach(ifs, i, n)
	{
		if (json_is_true(json_object_get(n, "provision"))) {
			nic = n;
			break;
		}
	}
	if (nic == NULL && (nic = json_array_get(ifs, 0)) == NULL) {
		nic = json_object();
		json_array_append_new(ifs, nic);
	}
	json_object_update(nic, set);
	json_object_del(obj, CLI_NIC_SET);
}

/* One --option VALUE into the object: '-' becomes '_', --X-file PATH reads X from a
 * file, values starting with '[' or '{' are JSON, --param K=V adds a parameter, and for
 * hosts --mac/--ip describe the provisioning interface. */
static int
cli_field_set(const struct cli_resource *r, json_t *obj, const char *opt, const char *val)
{
	_cleanup_free_ char *key = xstrdup(opt), *text = NULL;
	json_t *v;
	char *p;

	for (p = key; *p != '\0'; p++)
		if (*p == '-')
			*p = '_';
	if (strcmp(key, "param") == 0 || strcmp(key, "p") == 0) {
		/* Kept apart from a whole --parameters JSON: update merges these (below). */
		json_t *params = json_object_get(obj, CLI_PARAM_SET);
		if (params == NULL) {
			params = json_object();
			json_object_set_new(obj, CLI_PARAM_SET, params);
		}
		return cli_param_set(params, val);
	}
	if (strcmp(r->word, "host") == 0 && (strcmp(key, "mac") == 0 || strcmp(key, "ip") == 0)) {
		/* Kept apart like -p: update changes the stored interface (below). */
		json_t *nic = json_object_get(obj, CLI_NIC_SET);
		if (nic == NULL) {
			nic = json_object();
			json_object_set_new(obj, CLI_NIC_SET, nic);
		}
		json_object_set_new(nic, key, json_string(val));
		return 0;
	}
	if (str_has_suffix(key, "_file")) {
		struct dr_error err;
		key[strlen(key) - 5] = '\0';
		if (file_read(val, 4u << 20, &text, NULL, &err) < 0)
			return cli_fail("--%s: %s", opt, err.msg);
		json_object_set_new(obj, key, json_string(text));
		return 0;
	}
	if (val[0] == '[' || val[0] == '{') {
		json_error_t jerr;
		if ((v = json_loads(val, 0, &jerr)) == NULL)
			return cli_fail("--%s: %s (column %d)", opt, jerr.text, jerr.column);
		json_object_set_new(obj, key, v);
		return 0;
	}
	json_object_set_new(obj, key, json_string(val));
	return 0;
}

/* Parse "--opt VALUE" / "--opt=VALUE" pairs from argv[first..]; the one positional
 * argument (NAME) goes to *ret_name when ret_name is not NULL. */
static int
cli_fields_parse(const struct cli_resource *r, int argc, char **argv, int first, json_t *obj,
    const char **ret_name)
{
	int i;

	for (i = first; i < argc; i++) {
		const char *a = argv[i], *eq;
		_cleanup_free_ char *opt = NULL;

		if (strcmp(a, "-p") == 0 && i + 1 < argc) {
			if (cli_field_set(r, obj, "param", argv[++i]) != 0)
				return 1;
			continue;
		}
		if (!str_has_prefix(a, "--") || a[2] == '\0') {
			if (ret_name != NULL && *ret_name == NULL) {
				*ret_name = a;
				continue;
			}
			return cli_fail("unexpected argument '%s'", a);
		}
		if ((eq = strchr(a, '=')) != NULL) {
			opt = xstrndup(a + 2, (size_t)(eq - a - 2));
			if (cli_field_set(r, obj, opt, eq + 1) != 0)
				return 1;
			continue;
		}
		if (i + 1 >= argc)
			return cli_fail("%s needs a value", a);
		if (cli_field_set(r, obj, a + 2, argv[++i]) != 0)
			return 1;
	}
	return 0;
}

/* Print one object: JSON, or the list columns followed by the other fields. */
static void
cli_obj_print(struct cli *cli, const struct cli_resource *r, const json_t *obj)
{
	if (cli->json) {
		cli_print_json(obj);
		return;
	}
	cli_record(r->cols, r->ncols, obj);
}

/* drover RESOURCE list [--search S] [--page N] [--per-page N] */
int
cmd_resource_list(struct cli *cli, int argc, char **argv)
{
	const struct cli_resource *r = cli_resource_arg(argv);
	_cleanup_json_ json_t *answer = NULL, *opts = json_object();
	struct buf path = BUF_INIT(0);
	const char *key;
	json_t *v;
	int rc;

	if (cli_fields_parse(r, argc, argv, 1, opts, NULL) != 0)
		return cli_usage(cli_cmd_find(r->word, "list"));
	buf_addf(&path, "/api/v2/%s?", r->plural);
	json_object_foreach(opts, key, v)
	{
		_cleanup_free_ char *enc = NULL;
		if (strcmp(key, "search") != 0 && strcmp(key, "page") != 0 &&
		    strcmp(key, "per_page") != 0) {
			buf_free(&path);
			return cli_usage(cli_cmd_find(r->word, "list"));
		}
		enc = cli_urlencode(json_string_value(v));
		buf_addf(&path, "%s=%s&", key, enc);
	}
	rc = cli_api(cli, "GET", path.data, NULL, &answer);
	buf_free(&path);
	if (rc != 0)
		return rc;
	if (cli->json)
		cli_print_json(answer);
	else
		cli_table_page(r->cols, r->ncols, answer);
	return 0;
}

/* drover RESOURCE show NAME */
int
cmd_resource_show(struct cli *cli, int argc, char **argv)
{
	const struct cli_resource *r = cli_resource_arg(argv);
	_cleanup_json_ json_t *obj = NULL;
	_cleanup_free_ char *path = NULL;
	int rc;

	if (argc != 2)
		return cli_usage(cli_cmd_find(r->word, "show"));
	path = cli_obj_path(r, argv[1], NULL);
	if ((rc = cli_api(cli, "GET", path, NULL, &obj)) != 0)
		return rc;
	/* Everything the object holds: show is for reading one thing whole. */
	cli_print_json(obj);
	return 0;
}

/* drover RESOURCE create --name N [--FIELD VALUE]... */
int
cmd_resource_create(struct cli *cli, int argc, char **argv)
{
	const struct cli_resource *r = cli_resource_arg(argv);
	_cleanup_json_ json_t *obj = json_object(), *answer = NULL;
	_cleanup_free_ char *path = xasprintf("/api/v2/%s", r->plural);
	int rc;

	if (argc < 2 || cli_fields_parse(r, argc, argv, 1, obj, NULL) != 0)
		return cli_usage(cli_cmd_find(r->word, "create"));
	cli_params_apply(obj, NULL);
	cli_nic_apply(obj, NULL);
	if ((rc = cli_api(cli, "POST", path, obj, &answer)) != 0)
		return rc;
	cli_obj_print(cli, r, answer);
	return 0;
}

/* drover RESOURCE update NAME [--FIELD VALUE]... */
int
cmd_resource_update(struct cli *cli, int argc, char **argv)
{
	const struct cli_resource *r = cli_resource_arg(argv);
	_cleanup_json_ json_t *obj = json_object(), *answer = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *ssh = json_object();
	const char *name = NULL;
	int rc;

	/* --ssh-host-key and --ssh-accept-new go to the host's SSH settings (jobs/). */
	if (strcmp(r->word, "host") == 0 && cli_host_ssh_args(argc, argv, ssh, &argc) != 0)
		return 1;
	if (json_object_size(ssh) > 0 && argc == 2 && argv[1][0] != '-')
		return cli_host_ssh_put(cli, argv[1], ssh);
	if (cli_fields_parse(r, argc, argv, 1, obj, &name) != 0 || name == NULL ||
	    json_object_size(obj) == 0)
		return cli_usage(cli_cmd_find(r->word, "update"));
	path = cli_obj_path(r, name, NULL);
	if (json_object_get(obj, CLI_PARAM_SET) != NULL ||
	    json_object_get(obj, CLI_NIC_SET) != NULL) {
		_cleanup_json_ json_t *cur = NULL;

		if ((rc = cli_api(cli, "GET", path, NULL, &cur)) != 0)
			return rc;
		cli_params_apply(obj, json_object_get(cur, "parameters"));
		cli_nic_apply(obj, json_object_get(cur, "interfaces"));
	}
	if ((rc = cli_api(cli, "PUT", path, obj, &answer)) != 0)
		return rc;
	if (json_object_size(ssh) > 0 && (rc = cli_host_ssh_put(cli, name, ssh)) != 0)
		return rc;
	cli_obj_print(cli, r, answer);
	return 0;
}

/* drover RESOURCE delete NAME */
int
cmd_resource_delete(struct cli *cli, int argc, char **argv)
{
	const struct cli_resource *r = cli_resource_arg(argv);
	_cleanup_json_ json_t *answer = NULL;
	_cleanup_free_ char *path = NULL;
	int rc;

	if (argc != 2)
		return cli_usage(cli_cmd_find(r->word, "delete"));
	path = cli_obj_path(r, argv[1], NULL);
	if ((rc = cli_api(cli, "DELETE", path, NULL, &answer)) != 0)
		return rc;
	if (cli->json)
		cli_print_json(answer);
	else
		printf("%s %s deleted\n", r->word, argv[1]);
	return 0;
}

/* drover host build NAME [--cancel] [--ttl SECONDS] [--reboot] */
int
cmd_host_build(struct cli *cli, int argc, char **argv)
{
	const struct cli_resource *r = cli_resource_of("host");
	_cleanup_json_ json_t *answer = NULL, *body = json_object();
	_cleanup_free_ char *path = NULL;
	const char *name = NULL;
	bool cancel = false;
	long long ttl;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--cancel") == 0) {
			cancel = true;
		} else if (strcmp(argv[i], "--reboot") == 0) {
			json_object_set_new(body, "reboot", json_true());
		} else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc) {
			if (str_to_ll(argv[++i], 60, 30 * 86400, &ttl) < 0)
				return cli_fail("--ttl %s: seconds from 60 to 30 days", argv[i]);
			json_object_set_new(body, "ttl", json_integer(ttl));
		} else if (name == NULL && argv[i][0] != '-') {
			name = argv[i];
		} else {
			return cli_usage(cli_cmd_find("host", "build"));
		}
	}
	if (name == NULL)
		return cli_usage(cli_cmd_find("host", "build"));
	path = cli_obj_path(r, name, "/build");
	if ((rc = cli_api(cli, cancel ? "DELETE" : "POST", path, cancel ? NULL : body, &answer)) !=
	    0)
		return rc;
	if (cli->json)
		cli_print_json(answer);
	else
		printf("host %s: %s\n", name,
		    cancel ? "build cancelled"
		           : "in build mode; it installs at its next network boot");
	return 0;
}

/* Collects a text answer. */
static int
cli_text_collect(void *ctx, const char *data, size_t len)
{
	return buf_add(ctx, data, len) < 0;
}

/* GET a text resource from droverd and print it. */
static int
cli_text_get(struct cli *cli, const char *path)
{
	struct http_client_opts o = {
	    .connect_timeout_ms = 5000,
	    .timeout_ms = 60000,
	    .bearer_token = cli->token,
	    .ca_file = getenv("DROVER_CA_FILE"),
	};
	_cleanup_free_ char *url = xasprintf("%s%s", cli->server, path);
	struct buf out = BUF_INIT(64u << 20);
	struct dr_error err;
	long status = 0;

	if (http_stream(url, &o, cli_text_collect, &out, &status, &err) < 0) {
		buf_free(&out);
		return cli_fail("%s", err.msg);
	}
	if (out.len > 0)
		fwrite(out.data, 1, out.len, stdout);
	buf_free(&out);
	return 0;
}

/* drover template preview --host H --kind K [--template NAME] */
int
cmd_template_preview(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *opts = json_object();
	_cleanup_free_ char *hpath = NULL, *path = NULL, *tenc = NULL, *kenc = NULL;
	const char *host, *kind, *tpl;

	if (cli_fields_parse(cli_resource_of("template"), argc, argv, 1, opts, NULL) != 0)
		return cli_usage(cli_cmd_find("template", "preview"));
	host = json_string_value(json_object_get(opts, "host"));
	kind = json_string_value(json_object_get(opts, "kind"));
	tpl = json_string_value(json_object_get(opts, "template"));
	if (host == NULL || (kind == NULL && tpl == NULL) ||
	    json_object_size(opts) != (size_t)(1 + (kind != NULL) + (tpl != NULL)))
		return cli_usage(cli_cmd_find("template", "preview"));
	kenc = cli_urlencode(kind != NULL ? kind : "any");
	hpath = cli_obj_path(cli_resource_of("host"), host, NULL);
	if (tpl != NULL) {
		tenc = cli_urlencode(tpl);
		path = xasprintf("%s/templates/%s?template=%s", hpath, kenc, tenc);
	} else {
		path = xasprintf("%s/templates/%s", hpath, kenc);
	}
	return cli_text_get(cli, path);
}

/* drover host known-hosts NAME: the SSH host keys recorded when it was built. */
int
cmd_host_known_hosts(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *path = NULL;

	if (argc != 2)
		return cli_usage(cli_cmd_find("host", "known-hosts"));
	path = cli_obj_path(cli_resource_of("host"), argv[1], "/known_hosts");
	return cli_text_get(cli, path);
}

static const struct cli_column host_package_cols[] = {
    {"NAME", "name", 0},
    {"VERSION", "version", 0},
    {"ARCH", "arch", 0},
};

/* drover host packages NAME: the host's last package profile, one package a line. */
int
cmd_host_packages(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *answer = NULL;
	_cleanup_free_ char *path = NULL;
	int rc;

	if (argc != 2)
		return cli_usage(cli_cmd_find("host", "packages"));
	path = cli_obj_path(cli_resource_of("host"), argv[1], "/package_profile");
	if ((rc = cli_api(cli, "GET", path, NULL, &answer)) != 0)
		return rc;
	if (cli->json) {
		cli_print_json(answer);
		return 0;
	}
	cli_table(
	    host_package_cols, nitems(host_package_cols), json_object_get(answer, "packages"));
	return 0;
}

static const struct cli_column compute_image_cols[] = {
    {"IMAGE", "id", 0},
    {"FORMAT", "format", 0},
    {"CAPACITY", "capacity", 0},
    {"PATH", "path", 0},
};
static const struct cli_column compute_network_cols[] = {
    {"NAME", "name", 0},
    {"BRIDGE", "bridge", 0},
    {"ACTIVE", "active", 0},
    {"FORWARD", "forward_mode", 0},
    {"DHCP START", "dhcp_start", 0},
    {"DHCP END", "dhcp_end", 0},
};

/* drover compute-resource images|networks NAME: what the hypervisor offers now for
 * compute_attributes.image and .network. */
int
cmd_compute_resource_list(struct cli *cli, int argc, char **argv)
{
	bool images = strcmp(argv[0], "images") == 0;
	_cleanup_json_ json_t *answer = NULL;
	_cleanup_free_ char *path = NULL;
	int rc;

	if (argc != 2)
		return cli_usage(cli_cmd_find("compute-resource", argv[0]));
	path = cli_obj_path(
	    cli_resource_of("compute-resource"), argv[1], images ? "/images" : "/networks");
	if ((rc = cli_api(cli, "GET", path, NULL, &answer)) != 0)
		return rc;
	if (cli->json)
		cli_print_json(answer);
	else if (images)
		cli_table(compute_image_cols, nitems(compute_image_cols),
		    json_object_get(answer, "results"));
	else
		cli_table(compute_network_cols, nitems(compute_network_cols),
		    json_object_get(answer, "results"));
	return 0;
}

/* drover host power NAME on|off|soft|cycle|status|pxe: a host_power job, followed. */
int
cmd_host_power(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *job = NULL, *body = NULL;
	_cleanup_free_ char *path = NULL, *idtext = NULL;
	char *fargv[3];
	int rc;

	if (argc != 3)
		return cli_usage(cli_cmd_find("host", "power"));
	body = json_pack("{s:s}", "power_action", argv[2]);
	path = cli_obj_path(cli_resource_of("host"), argv[1], "/power");
	if ((rc = cli_api(cli, "POST", path, body, &job)) != 0)
		return rc;
	if (cli->json) {
		cli_print_json(job);
		return 0;
	}
	idtext = xasprintf("%lld", (long long)json_integer_value(json_object_get(job, "id")));
	fargv[0] = (char *)"follow";
	fargv[1] = idtext;
	fargv[2] = NULL;
	return cmd_job_follow(cli, 2, fargv);
}

static const struct cli_column discovered_cols[] = {
    {"MAC", "mac", 0},
    {"IP", "ip", 0},
    {"CPUS", "cpus", 0},
    {"MEMORY MB", "memory_mb", 0},
    {"FIRST SEEN", "first_seen", CLI_COL_TIME},
    {"LAST SEEN", "last_seen", CLI_COL_TIME},
};

/* drover discovered list [--search S] */
int
cmd_discovered_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "search", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_json_ json_t *answer = NULL;
	_cleanup_free_ char *path = NULL, *enc = NULL;
	int rc, c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 's')
			return cli_usage(cli_cmd_find("discovered", "list"));
		free(enc);
		enc = cli_urlencode(optarg);
	}
	if (optind != argc)
		return cli_usage(cli_cmd_find("discovered", "list"));
	path = xasprintf(
	    "/api/v2/discovered_hosts%s%s", enc != NULL ? "?search=" : "", enc != NULL ? enc : "");
	if ((rc = cli_api(cli, "GET", path, NULL, &answer)) != 0)
		return rc;
	if (cli->json)
		cli_print_json(answer);
	else
		cli_table(
		    discovered_cols, nitems(discovered_cols), json_object_get(answer, "results"));
	return 0;
}

/* drover discovered show MAC: the machine and every fact it posted. */
int
cmd_discovered_show(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *answer = NULL;
	_cleanup_free_ char *path = NULL, *enc = NULL, *search = NULL;
	json_t *row;
	int rc;

	if (argc != 2 || strchr(argv[1], '"') != NULL)
		return cli_usage(cli_cmd_find("discovered", "show"));
	search = xasprintf("mac = \"%s\"", argv[1]);
	for (char *p = search; *p != '\0'; p++) /* as droverd stores MACs */
		*p = *p == '-' ? ':' : (char)tolower((unsigned char)*p);
	enc = cli_urlencode(search);
	path = xasprintf("/api/v2/discovered_hosts?search=%s", enc);
	if ((rc = cli_api(cli, "GET", path, NULL, &answer)) != 0)
		return rc;
	if ((row = json_array_get(json_object_get(answer, "results"), 0)) == NULL)
		return cli_fail("no discovered host %s", argv[1]);
	cli_print_json(row);
	return 0;
}

/* drover discovered delete MAC */
int
cmd_discovered_delete(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *path = NULL, *enc = NULL;

	if (argc != 2)
		return cli_usage(cli_cmd_find("discovered", "delete"));
	enc = cli_urlencode(argv[1]);
	path = xasprintf("/api/v2/discovered_hosts/%s", enc);
	return cli_api(cli, "DELETE", path, NULL, NULL);
}

/* drover discovered provision MAC --name N [--FIELD VALUE]... */
int
cmd_discovered_provision(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *obj = json_object(), *answer = NULL;
	_cleanup_free_ char *path = NULL, *enc = NULL;
	const char *mac = NULL;
	int rc;

	if (cli_fields_parse(cli_resource_of("host"), argc, argv, 1, obj, &mac) != 0 ||
	    mac == NULL)
		return cli_usage(cli_cmd_find("discovered", "provision"));
	cli_params_apply(obj, NULL);
	cli_nic_apply(obj, NULL);
	enc = cli_urlencode(mac);
	path = xasprintf("/api/v2/discovered_hosts/%s/provision", enc);
	if ((rc = cli_api(cli, "POST", path, obj, &answer)) != 0)
		return rc;
	cli_obj_print(cli, cli_resource_of("host"), answer);
	return 0;
}

/* Print the PXE state: root, boot files, TFTP counters, discovery (want_discovery: setup
 * --discovery asked for it). */
static void
cli_pxe_print(const json_t *p, bool want_discovery)
{
	long long job = (long long)json_integer_value(json_object_get(p, "installer_job"));
	const char *name, *disc;
	json_t *f;

	printf("%-24s %s\n", "TFTP ROOT", json_string_value(json_object_get(p, "root")));
	json_object_foreach(json_object_get(p, "files"), name, f)
	{
		const char *src = json_string_value(json_object_get(f, "source"));
		const char *md5 = json_string_value(json_object_get(f, "md5sums"));

		printf("%-24s %s (%s)", name,
		    json_is_true(json_object_get(f, "present")) ? "present" : "missing",
		    json_string_value(json_object_get(f, "package")));
		if (src != NULL)
			printf(" from %s, md5sums %s", src, md5 != NULL ? md5 : "?");
		printf("\n");
	}
	if (json_string_value(json_object_get(p, "missing_packages")) != NULL)
		printf("%-24s %s\n", "INSTALL",
		    json_string_value(json_object_get(p, "missing_packages")));
	disc = json_string_value(json_object_get(p, "discovery"));
	if (disc != NULL && want_discovery && job > 0 && strcmp(disc, "installer") != 0)
		printf("%-24s on once job %lld has built the installer\n", "DISCOVERY", job);
	else if (disc != NULL)
		printf("%-24s %s\n", "DISCOVERY",
		    strcmp(disc, "installer") == 0
		        ? "on: Drover's installer is the discovery image"
		        : strcmp(disc, "own") == 0 ? "on: the operator's image in discovery/"
		                                   : "off (drover pxe setup --discovery)");
	if (job > 0)
		printf("%-24s job %lld (drover job follow %lld)\n", "INSTALLER BUILD", job, job);
}

/* A download is a pxe_setup job (*p): follow it (its output on stderr, unless --json),
 * then *p is its result, the PXE state. Non-zero when the job fails, with its error. */
static int
cli_pxe_job_wait(struct cli *cli, json_t **p)
{
	long long id = (long long)json_integer_value(json_object_get(*p, "id"));
	_cleanup_free_ char *path = xasprintf("/api/v2/jobs/%lld", id);
	json_t *job = NULL, *result;
	int rc;

	if (id <= 0)
		return cli_fail("pxe setup: the answer names no job");
	if (!cli->json)
		fprintf(stderr, "pxe setup: job %lld downloads the boot loaders' packages\n", id);
	/* The job's output is progress (stderr); what is printed after is the state. */
	if ((rc = cli_job_follow_id(cli, id, stderr)) != 0)
		return rc;
	if ((rc = cli_api(cli, "GET", path, NULL, &job)) != 0)
		return rc;
	result = json_object_get(job, "result");
	if (!json_is_object(result)) {
		json_decref(job);
		return cli_fail("pxe setup: job %lld left no result", id);
	}
	json_decref(*p);
	*p = json_incref(result);
	json_decref(job);
	return 0;
}

/* drover pxe status | drover pxe setup [--from DIR] [--download [--no-wait]]
 * [--discovery|--no-discovery]; a download is a job, waited for unless --no-wait. */
int
cmd_pxe(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "download", no_argument, NULL, 'd' },
		{ "discovery", no_argument, NULL, 'D' },
		{ "no-discovery", no_argument, NULL, 'N' },
		{ "no-wait", no_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_json_ json_t *p = NULL, *body = NULL;
	bool setup = strcmp(argv[0], "setup") == 0, wait = true;
	int rc, c;

	if (setup) {
		body = json_object();
		while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
			char abs[PATH_MAX];

			if (c == '?')
				return cli_usage(cli_cmd_find("pxe", "setup"));
			if (c == 'd') {
				json_object_set_new(body, "download", json_true());
				continue;
			}
			if (c == 'W') {
				wait = false;
				continue;
			}
			if (c == 'D' || c == 'N') {
				json_object_set_new(body, "discovery", json_boolean(c == 'D'));
				continue;
			}
			/* droverd reads the directory; a relative one is this shell's. */
			if (optarg[0] != '/' && realpath(optarg, abs) == NULL)
				return cli_fail("--from %s: no such directory here (give droverd's "
						"absolute path)", optarg);
			json_object_set_new(body, "from", json_string(optarg[0] == '/' ? optarg : abs));
		}
		if (optind != argc)
			return cli_usage(cli_cmd_find("pxe", "setup"));
	} else if (argc != 1) {
		return cli_usage(cli_cmd_find("pxe", argv[0]));
	}
	if ((rc = cli_api(cli, setup ? "POST" : "GET",
	         setup ? "/api/v2/admin/pxe/setup" : "/api/v2/pxe", body, &p)) != 0)
		return rc;
	if (setup && json_is_true(json_object_get(body, "download"))) {
		long long id = (long long)json_integer_value(json_object_get(p, "id"));

		if (!wait) {
			if (cli->json)
				cli_print_json(p);
			else
				printf("pxe setup: queued as job %lld (drover job follow %lld)\n", id,
				    id);
			return 0;
		}
		if ((rc = cli_pxe_job_wait(cli, &p)) != 0)
			return rc;
	}
	if (cli->json)
		cli_print_json(p);
	else
		cli_pxe_print(p, json_is_true(json_object_get(body, "discovery")));
	return 0;
}
