/* rest.c - the CLI's user config and its calls to droverd's REST API. */
#define LOG_COMPONENT "cli"
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli/cli.h"

#define CLI_DEFAULT_SERVER "http://127.0.0.1:8080"

/* Where the user's config lives: $DROVER_CONFIG, else $XDG_CONFIG_HOME or ~/.config. */
char *
cli_config_path(void)
{
	const char *p = getenv("DROVER_CONFIG"), *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");

	if (p != NULL && *p != '\0')
		return xstrdup(p);
	if (xdg != NULL && *xdg != '\0')
		return xasprintf("%s/drover/cli.yml", xdg);
	return xasprintf("%s/.config/drover/cli.yml", home != NULL ? home : ".");
}

/*
 * Fill server and token: --server and the environment ($DROVER_SERVER, $DROVER_TOKEN)
 * win over the config file, which wins over the default server.
 */
int
cli_config_load(struct cli *cli)
{
	_cleanup_free_ char *path = cli_config_path();
	const char *env_server = getenv("DROVER_SERVER"), *env_token = getenv("DROVER_TOKEN");
	struct dr_error err;
	json_t *cfg = NULL;

	if (access(path, R_OK) == 0) {
		if (yaml_load_file(path, 0, &cfg, NULL, &err) < 0)
			return cli_fail("%s", err.msg);
		if (cfg != NULL && !json_is_object(cfg) && !json_is_null(cfg)) {
			json_decref(cfg);
			return cli_fail("%s: expected a mapping with server and token", path);
		}
		cli->config = cfg;
	}
	if (cli->server == NULL && env_server != NULL && *env_server != '\0')
		cli->server = env_server;
	if (cli->server == NULL)
		cli->server = json_string_value(json_object_get(cli->config, "server"));
	if (cli->server == NULL)
		cli->server = CLI_DEFAULT_SERVER;
	if (env_token != NULL && *env_token != '\0')
		cli->token = env_token;
	else
		cli->token = json_string_value(json_object_get(cli->config, "token"));
	return 0;
}

/* Save server and token for later commands (mode 0600: the token is a secret). */
int
cli_config_save(const char *server, const char *token)
{
	_cleanup_free_ char *path = cli_config_path();
	_cleanup_free_ char *text = NULL;
	struct dr_error err;
	char *slash;

	slash = strrchr(path, '/');
	if (slash != NULL) {
		*slash = '\0';
		/* ~/.config may be missing on a fresh account. */
		_cleanup_free_ char *parent = xstrdup(path);
		char *p2 = strrchr(parent, '/');
		if (p2 != NULL) {
			*p2 = '\0';
			if (*parent != '\0')
				mkdir(parent, 0700);
		}
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return cli_fail("%s: %s", path, strerror(errno));
		*slash = '/';
	}
	text = xasprintf("# drover CLI configuration, written by drover login\n"
			 "server: \"%s\"\ntoken: \"%s\"\n",
	    server, token);
	if (file_write_atomic(path, text, strlen(text), 0600, &err) < 0)
		return cli_fail("%s", err.msg);
	return 0;
}

/*
 * One REST call: METHOD path (under the server URL) with an optional JSON body. On a
 * 2xx answer *ret (may be NULL) gets the body; otherwise the API's error message is
 * printed and 1 returned, so verbs can `return cli_api(...)`.
 */
int
cli_api(struct cli *cli, const char *method, const char *path, const json_t *body,
    json_t **ret)
{
	_cleanup_free_ char *url = NULL;
	struct http_client_opts o = {
		.connect_timeout_ms = 5000,
		.timeout_ms = 120000,
		.retries = 2,
		.bearer_token = cli->token,
		.max_response = 256u << 20,
		.ca_file = getenv("DROVER_CA_FILE"),
	};
	json_t *answer = NULL;
	struct dr_error err;
	long status = 0;
	const char *msg;

	url = xasprintf("%s%s", cli->server, path);
	if (http_json(method, url, body, &o, &status, &answer, &err) < 0)
		return cli_fail("%s", err.msg);
	if (status < 200 || status > 299) {
		msg = json_string_value(json_object_get(json_object_get(answer, "error"),
		    "message"));
		if (status == 401 && cli->token == NULL)
			cli_fail("%s: not logged in (run drover login)", cli->server);
		else
			cli_fail("%s %s: %ld %s", method, path, status,
			    msg != NULL ? msg : "request failed");
		json_decref(answer);
		return 1;
	}
	if (ret != NULL)
		*ret = answer;
	else
		json_decref(answer);
	return 0;
}

/* Percent-encode a query value; caller frees. */
char *
cli_urlencode(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *r;

	if (e == NULL)
		fatalx("curl_easy_escape failed");
	r = xstrdup(e);
	curl_free(e);
	return r;
}

/* -p KEY=VALUE: numbers, booleans and JSON literals keep their type, the rest is a string. */
int
cli_param_set(json_t *params, const char *arg)
{
	const char *eq = strchr(arg, '=');
	_cleanup_free_ char *key = NULL;
	json_t *v;

	if (eq == NULL || eq == arg)
		return cli_fail("-p %s: expected KEY=VALUE", arg);
	key = xstrndup(arg, (size_t)(eq - arg));
	v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
	json_object_set_new(params, key, v != NULL ? v : json_string(eq + 1));
	return 0;
}

/* --params JSON: merge a JSON object into params. */
int
cli_params_merge(json_t *params, const char *text)
{
	json_error_t jerr;
	json_t *more = json_loads(text, 0, &jerr);

	if (!json_is_object(more)) {
		json_decref(more);
		return cli_fail("--params: a JSON object is needed (%s)",
		    more == NULL ? jerr.text : "not an object");
	}
	json_object_update(params, more);
	json_decref(more);
	return 0;
}

/* An id argument: digits only, so it can go into a URL as it is. */
int
cli_id_arg(const char *s, long long *ret)
{
	if (str_to_ll(s, 1, INT64_MAX, ret) < 0)
		return cli_fail("'%s' is not an id", s);
	return 0;
}
