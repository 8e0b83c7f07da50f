/* cmd-template.c - `drover template render`: render a Jinja2 template locally. */
#include "config.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define CMD_TEMPLATE_MAX_FILE (4u << 20)

/* Includes resolve against the directory of the template being rendered. */
static int
cmd_template_load(
    void *ctx, const char *name, char **ret_text, char **ret_name, struct dr_error *err)
{
	const char *dir = ctx;
	_cleanup_free_ char *path = NULL;
	char *text;
	size_t len;

	if (name[0] == '/' || strstr(name, "..") != NULL)
		path = xstrdup(name);
	else
		path = xasprintf("%s/%s", dir, name);
	if (file_read(path, CMD_TEMPLATE_MAX_FILE, &text, &len, err) < 0)
		return -1;
	if (strlen(text) != len) {
		free(text);
		return dr_error_set(err, "%s: contains a NUL byte", path);
	}
	*ret_text = text;
	*ret_name = TAKE_PTR(path);
	return 0;
}

/* Merge one -e argument (k=v, @file.json, or a JSON object) into vars. */
static int
cmd_template_extra_vars(json_t *vars, const char *arg, struct dr_error *err)
{
	json_error_t je;
	json_t *v = NULL;

	if (arg[0] == '@') {
		const char *path = arg + 1;
		if (str_has_suffix(path, ".json")) {
			v = json_load_file(path, 0, &je);
			if (!v)
				return dr_error_set(err, "%s:%d: %s", path, je.line, je.text);
		} else if (yaml_load_file(path, 0, &v, NULL, err) < 0)
			return -1;
	} else if (arg[0] == '{') {
		/* JSON is YAML: one parser for both, as ansible's -e does. */
		if (yaml_load_string("-e", arg, strlen(arg), 0, &v, NULL, err) < 0)
			return -1;
	} else {
		const char *eq = strchr(arg, '=');
		if (!eq || eq == arg)
			return dr_error_set(
			    err, "-e %s: expected key=value, @file or a JSON object", arg);
		_cleanup_free_ char *key = xstrndup(arg, (size_t)(eq - arg));
		json_object_set_new(vars, key, json_string(eq + 1));
		return 0;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		return dr_error_set(err, "-e %s: not a mapping of variables", arg);
	}
	json_object_update(vars, v);
	json_decref(v);
	return 0;
}

int
cmd_template_render(struct cli *cli, int argc, char **argv)
{
	struct template_opts opts = {0};
	struct dr_error err;
	const char *file = NULL;
	_cleanup_json_ json_t *vars = json_object();
	_cleanup_free_ char *text = NULL, *out = NULL, *dir = NULL;
	struct template *t;
	size_t len;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-e") == 0 || strcmp(argv[i], "--extra-vars") == 0) {
			if (++i == argc)
				return cli_usage(cli_cmd_find("template", "render"));
			if (cmd_template_extra_vars(vars, argv[i], &err) < 0)
				return cli_fail("%s", err.msg);
		} else if (strcmp(argv[i], "--lenient") == 0)
			opts.lenient = true;
		else if (strcmp(argv[i], "--trim-blocks") == 0)
			opts.trim_blocks = true;
		else if (strcmp(argv[i], "--lstrip-blocks") == 0)
			opts.lstrip_blocks = true;
		else if (strcmp(argv[i], "--autoescape") == 0)
			opts.autoescape = true;
		else if (argv[i][0] == '-' || file)
			return cli_usage(cli_cmd_find("template", "render"));
		else
			file = argv[i];
	}
	if (!file)
		return cli_usage(cli_cmd_find("template", "render"));
	if (file_read(file, CMD_TEMPLATE_MAX_FILE, &text, &len, &err) < 0)
		return cli_fail("%s", err.msg);
	if (strlen(text) != len)
		return cli_fail("%s: contains a NUL byte", file);
	_cleanup_free_ char *copy = xstrdup(file);
	dir = xstrdup(dirname(copy));
	opts.load = cmd_template_load;
	opts.load_ctx = dir;
	if (template_compile(file, text, &opts, &t, &err) < 0)
		return cli_fail("%s", err.msg);
	int r = template_render(t, vars, &out, &len, &err);
	template_free(t);
	if (r < 0)
		return cli_fail("%s", err.msg);
	if (fwrite(out, 1, len, stdout) != len || fflush(stdout) != 0)
		return cli_fail("writing output failed");
	return 0;
}
