/* config.c - droverd's configuration: a YAML file checked against one table of keys. */
#define LOG_COMPONENT "config"
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

enum config_type {
	CONFIG_STRING, /* char * */
	CONFIG_BOOL, /* bool */
	CONFIG_INT, /* int, within min..max */
	CONFIG_SIZE, /* size_t: 512, "16K", "16M", "1G" */
	CONFIG_DURATION, /* int seconds: 30, "30s", "5m", "1h", "1d" */
	CONFIG_LIST, /* char *, comma list; a sequence of names in the file */
	CONFIG_ENUM, /* int, one of choices */
};

struct config_choice {
	const char *name;
	int value;
};

/* One configuration key. check validates a string value (NULL: any string). */
struct config_key {
	const char *name;
	enum config_type type;
	size_t offset;
	const char *def; /* the default, as it would be written in the file */
	long long min, max;
	bool reloadable;
	const struct config_choice *choices;
	int (*check)(const char *value, char *why, size_t size);
};

static const struct config_choice config_log_levels[] = {
    {"error", LOG_ERR},
    {"warning", LOG_WARNING},
    {"info", LOG_INFO},
    {"debug", LOG_DEBUG},
    {NULL, 0},
};

static int config_check_addr(const char *value, char *why, size_t size);
static int config_check_url(const char *value, char *why, size_t size);
static int config_check_path(const char *value, char *why, size_t size);
static int config_check_path_or_empty(const char *value, char *why, size_t size);

#define K(name, type, field, def, min, max, reload, choices, check)                               \
	{                                                                                         \
		name, type, offsetof(struct config, field), def, min, max, reload, choices, check \
	}
#define KB 1024LL
#define MB (1024LL * 1024)
#define GB (1024LL * 1024 * 1024)

/* Every key droverd reads. droverd.yml lists the same keys with the same defaults. */
static const struct config_key config_keys[] = {
    K("listen", CONFIG_STRING, listen, "127.0.0.1:8080", 0, 0, false, NULL, config_check_addr),
    K("state_dir", CONFIG_STRING, state_dir, "/var/lib/drover", 0, 0, false, NULL,
        config_check_path),
    K("url", CONFIG_STRING, url, "", 0, 0, false, NULL, config_check_url),
    K("log.level", CONFIG_ENUM, log_level, "info", 0, 0, true, config_log_levels, NULL),
    K("log.syslog", CONFIG_BOOL, log_syslog, "false", 0, 0, false, NULL, NULL),
    K("log.debug", CONFIG_LIST, log_debug, "", 0, 0, true, NULL, NULL),
    K("http.threads", CONFIG_INT, http_threads, "4", 1, 256, false, NULL, NULL),
    K("http.max_connections", CONFIG_INT, http_max_connections, "512", 1, 65536, false, NULL,
        NULL),
    K("http.max_body", CONFIG_SIZE, http_max_body, "16M", 1 * KB, 4 * GB, false, NULL, NULL),
    K("http.max_header", CONFIG_SIZE, http_max_header, "16K", 1 * KB, 1 * MB, false, NULL, NULL),
    K("http.timeout", CONFIG_DURATION, http_timeout, "30", 1, 3600, false, NULL, NULL),
    K("http.tls_cert", CONFIG_STRING, tls_cert, "", 0, 0, false, NULL, NULL),
    K("http.tls_key", CONFIG_STRING, tls_key, "", 0, 0, false, NULL, NULL),
    K("jobs.workers", CONFIG_INT, job_workers, "4", 1, 256, false, NULL, NULL),
    K("jobs.shutdown_grace", CONFIG_DURATION, job_shutdown_grace, "10", 0, 3600, false, NULL,
        NULL),
    K("jobs.default_timeout", CONFIG_DURATION, job_default_timeout, "3600", 1, 7 * 86400, true,
        NULL, NULL),
    K("proxy", CONFIG_STRING, proxy, "", 0, 0, true, NULL, config_check_url),
    K("tftp.listen", CONFIG_STRING, tftp_listen, "", 0, 0, false, NULL, NULL),
    K("tftp.root", CONFIG_STRING, tftp_root, "", 0, 0, false, NULL, NULL),
    K("dhcp.dnsmasq_pidfile", CONFIG_STRING, dnsmasq_pidfile, "", 0, 0, false, NULL, NULL),
    K("dhcp.dnsmasq_command", CONFIG_STRING, dnsmasq_command, "", 0, 0, false, NULL, NULL),
    K("playbooks.dir", CONFIG_STRING, playbooks_dir, "", 0, 0, false, NULL, NULL),
    K("tftp.bootfiles_from", CONFIG_STRING, tftp_bootfiles_from, "", 0, 0, false, NULL,
        config_check_path_or_empty),
};

#undef K

/* A listen address: HOST:PORT or [V6]:PORT with a port of 1..65535. */
static int
config_check_addr(const char *value, char *why, size_t size)
{
	const char *colon;
	long long port;

	if (value[0] == '[') {
		colon = strstr(value, "]:");
		if (colon == NULL || colon == value + 1 || strchr(value + 1, '[') != NULL) {
			str_copy(why, "expected [IPV6]:PORT", size);
			return -1;
		}
		colon++;
	} else {
		colon = strrchr(value, ':');
		if (colon == NULL || colon == value ||
		    memchr(value, ':', (size_t)(colon - value))) {
			str_copy(why, "expected ADDRESS:PORT (an IPv6 address in brackets)", size);
			return -1;
		}
	}
	if (str_to_ll(colon + 1, 1, 65535, &port) < 0) {
		str_copy(why, "the port must be a number from 1 to 65535", size);
		return -1;
	}
	return 0;
}

/* A URL we can hand to libcurl, or "" for none. */
static int
config_check_url(const char *value, char *why, size_t size)
{
	if (*value == '\0' || str_has_prefix(value, "http://") ||
	    str_has_prefix(value, "https://"))
		return 0;
	str_copy(why, "expected an http:// or https:// URL", size);
	return -1;
}

/* An absolute directory. */
static int
config_check_path(const char *value, char *why, size_t size)
{
	if (value[0] == '/')
		return 0;
	str_copy(why, "expected an absolute path", size);
	return -1;
}

/* An absolute path, or "" for none. */
static int
config_check_path_or_empty(const char *value, char *why, size_t size)
{
	return *value == '\0' ? 0 : config_check_path(value, why, size);
}

/* A number followed by one of the unit letters in units (scales[i] for units[i]). */
static int
config_parse_units(const char *s, const char *units, const long long *scales, long long *ret)
{
	char digits[32];
	size_t n = 0;
	const char *u;
	long long v;

	while (isdigit((unsigned char)s[n]))
		n++;
	if (n == 0 || n >= sizeof digits)
		return -1;
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (str_to_ll(digits, 0, LLONG_MAX, &v) < 0)
		return -1;
	if (s[n] == '\0') {
		*ret = v;
		return 0;
	}
	if (s[n + 1] != '\0' || (u = strchr(units, toupper((unsigned char)s[n]))) == NULL)
		return -1;
	if (v > LLONG_MAX / scales[u - units])
		return -1;
	*ret = v * scales[u - units];
	return 0;
}

/* Read one value of key k from node into cfg; why says what is wrong. */
static int
config_set(
    const struct config_key *k, const json_t *node, struct config *cfg, char *why, size_t size)
{
	static const long long size_scales[] = {KB, MB, GB};
	static const long long time_scales[] = {1, 60, 3600, 86400};
	char *field = (char *)cfg + k->offset;
	const struct config_choice *c;
	struct buf list = BUF_INIT(4096);
	const json_t *item;
	long long v = 0;
	size_t i;

	switch (k->type) {
	case CONFIG_STRING:
		if (!json_is_string(node)) {
			str_copy(why, "expected a string", size);
			return -1;
		}
		if (k->check != NULL && k->check(json_string_value(node), why, size) < 0)
			return -1;
		free(*(char **)field);
		*(char **)field = xstrdup(json_string_value(node));
		return 0;
	case CONFIG_BOOL:
		if (!json_is_boolean(node)) {
			str_copy(why, "expected true or false", size);
			return -1;
		}
		*(bool *)field = json_is_true(node);
		return 0;
	case CONFIG_INT:
	case CONFIG_SIZE:
	case CONFIG_DURATION:
		if (json_is_integer(node))
			v = json_integer_value(node);
		else if (!json_is_string(node) || k->type == CONFIG_INT ||
		    config_parse_units(json_string_value(node),
		        k->type == CONFIG_SIZE ? "KMG" : "SMHD",
		        k->type == CONFIG_SIZE ? size_scales : time_scales, &v) < 0) {
			str_copy(why,
			    k->type == CONFIG_INT ? "expected an integer"
			        : k->type == CONFIG_SIZE
			        ? "expected a size (512, 16K, 16M, 1G)"
			        : "expected a duration (30, 30s, 5m, 1h, 1d)",
			    size);
			return -1;
		}
		if (v < k->min || v > k->max) {
			snprintf(
			    why, size, "%lld is out of range (%lld to %lld)", v, k->min, k->max);
			return -1;
		}
		if (k->type == CONFIG_SIZE)
			*(size_t *)field = (size_t)v;
		else
			*(int *)field = (int)v;
		return 0;
	case CONFIG_LIST:
		if (json_is_string(node) && *json_string_value(node) == '\0')
			node = NULL;
		else if (!json_is_array(node)) {
			str_copy(why, "expected a list of names", size);
			return -1;
		}
		json_array_foreach(node, i, item)
		{
			const char *s = json_string_value(item);
			if (s == NULL || *s == '\0' ||
			    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(s) ||
			    buf_addf(&list, "%s%s", i ? "," : "", s) < 0) {
				str_copy(
				    why, "expected a list of names (a-z, 0-9, _ and -)", size);
				buf_free(&list);
				return -1;
			}
		}
		free(*(char **)field);
		*(char **)field = buf_steal(&list);
		return 0;
	case CONFIG_ENUM:
		for (c = k->choices; json_is_string(node) && c->name != NULL; c++) {
			if (strcmp(c->name, json_string_value(node)) == 0) {
				*(int *)field = c->value;
				return 0;
			}
		}
		snprintf(why, size, "expected one of");
		for (c = k->choices; c->name != NULL; c++)
			snprintf(why + strlen(why), size - strlen(why), "%s %s",
			    c == k->choices ? "" : ",", c->name);
		return -1;
	}
	return -1;
}

/* Fill cfg with the defaults of the table. */
void
config_defaults(struct config *cfg)
{
	char why[256];
	size_t i;

	memset(cfg, 0, sizeof *cfg);
	for (i = 0; i < nitems(config_keys); i++) {
		const struct config_key *k = &config_keys[i];
		json_t *def;

		/* Defaults go through the parser the file does, so both read the same way. */
		if (k->type == CONFIG_LIST)
			def = json_string("");
		else if (yaml_load_string(k->name, k->def, strlen(k->def), 0, &def, NULL, NULL) <
		    0)
			fatalx("config: default of %s does not parse", k->name);
		if (k->type == CONFIG_STRING && !json_is_string(def)) {
			json_decref(def);
			def = json_string(k->def);
		}
		if (config_set(k, def, cfg, why, sizeof why) < 0)
			fatalx("config: default of %s: %s", k->name, why);
		json_decref(def);
	}
}

/* Free the strings of a configuration. */
void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < nitems(config_keys); i++) {
		enum config_type t = config_keys[i].type;
		if (t == CONFIG_STRING || t == CONFIG_LIST) {
			char **field = (char **)((char *)cfg + config_keys[i].offset);
			free(*field);
			*field = NULL;
		}
	}
}

/* The key named name, or NULL. */
static const struct config_key *
config_key_find(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(config_keys); i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

/* True when some key is under the section name ("http" for "http.threads"). */
static bool
config_is_section(const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < nitems(config_keys); i++)
		if (strncmp(config_keys[i].name, name, n) == 0 && config_keys[i].name[n] == '.')
			return true;
	return false;
}

/* Apply the mapping obj (the section prefix, "" at the top) onto cfg. */
static int
config_apply(const struct yaml_src *src, const json_t *obj, const char *prefix, struct config *cfg,
    struct dr_error *err)
{
	const struct config_key *k;
	const char *key;
	json_t *val;
	char where[512], why[256];
	unsigned line, col;

	json_object_foreach((json_t *)obj, key, val)
	{
		_cleanup_free_ char *name = xasprintf("%s%s%s", prefix, *prefix ? "." : "", key);

		if ((k = config_key_find(name)) != NULL) {
			if (config_set(k, val, cfg, why, sizeof why) == 0)
				continue;
			if (yaml_src_find(src, val, NULL, &line, &col))
				yaml_src_where(src, val, where, sizeof where);
			else
				yaml_src_where_key(src, obj, key, where, sizeof where);
			return dr_error_set(err, "%s: %s: %s", where, name, why);
		}
		yaml_src_where_key(src, obj, key, where, sizeof where);
		if (!config_is_section(name))
			return dr_error_set(err, "%s: unknown key '%s'", where, name);
		if (json_is_null(val))
			continue;
		if (!json_is_object(val))
			return dr_error_set(
			    err, "%s: %s: expected a mapping of settings", where, name);
		if (config_apply(src, val, name, cfg, err) < 0)
			return -1;
	}
	return 0;
}

/* The defaults with the file on top. */
int
config_load(const char *path, struct config *cfg, struct dr_error *err)
{
	struct yaml_src *src = NULL;
	struct config tmp;
	json_t *doc = NULL;
	char where[512];
	int rc = -1;

	if (yaml_load_file(path, 0, &doc, &src, err) < 0)
		return -1;
	config_defaults(&tmp);
	if (!json_is_null(doc) && !json_is_object(doc)) {
		dr_error_set(err, "%s: expected a mapping of settings",
		    yaml_src_where(src, doc, where, sizeof where));
		goto out;
	}
	if (json_is_object(doc) && config_apply(src, doc, "", &tmp, err) < 0)
		goto out;
	*cfg = tmp;
	memset(&tmp, 0, sizeof tmp);
	rc = 0;
out:
	config_free(&tmp);
	json_decref(doc);
	yaml_src_free(src);
	return rc;
}

/* True when key k holds the same value in a and b. */
static bool
config_key_equal(const struct config_key *k, const struct config *a, const struct config *b)
{
	const char *fa = (const char *)a + k->offset, *fb = (const char *)b + k->offset;

	switch (k->type) {
	case CONFIG_STRING:
	case CONFIG_LIST:
		return strcmp(*(char *const *)fa, *(char *const *)fb) == 0;
	case CONFIG_BOOL:
		return *(const bool *)fa == *(const bool *)fb;
	case CONFIG_SIZE:
		return *(const size_t *)fa == *(const size_t *)fb;
	case CONFIG_INT:
	case CONFIG_DURATION:
	case CONFIG_ENUM:
		return *(const int *)fa == *(const int *)fb;
	}
	return false;
}

/* Move key k's value from src into dst (strings change hands). */
static void
config_key_move(const struct config_key *k, struct config *dst, struct config *src)
{
	char *fd = (char *)dst + k->offset, *fs = (char *)src + k->offset;

	switch (k->type) {
	case CONFIG_STRING:
	case CONFIG_LIST:
		free(*(char **)fd);
		*(char **)fd = *(char **)fs;
		*(char **)fs = NULL;
		return;
	case CONFIG_BOOL:
		*(bool *)fd = *(bool *)fs;
		return;
	case CONFIG_SIZE:
		*(size_t *)fd = *(size_t *)fs;
		return;
	case CONFIG_INT:
	case CONFIG_DURATION:
	case CONFIG_ENUM:
		*(int *)fd = *(int *)fs;
		return;
	}
}

/* Re-read the file; apply reloadable keys, list the others that changed. */
int
config_reload(const char *path, struct config *cfg, char **ret_restart, struct dr_error *err)
{
	struct buf restart = BUF_INIT(0);
	struct config fresh;
	size_t i;
	int applied = 0;

	if (config_load(path, &fresh, err) < 0)
		return -1;
	for (i = 0; i < nitems(config_keys); i++) {
		const struct config_key *k = &config_keys[i];

		if (config_key_equal(k, cfg, &fresh))
			continue;
		if (k->reloadable) {
			config_key_move(k, cfg, &fresh);
			applied++;
		} else {
			buf_addf(&restart, "%s%s", restart.len ? "," : "", k->name);
		}
	}
	config_free(&fresh);
	if (ret_restart != NULL)
		*ret_restart = restart.len ? buf_steal(&restart) : NULL;
	buf_free(&restart);
	return applied;
}

/* The text a size is best written as: "16M" when it is a whole number of units. */
static json_t *
config_size_json(size_t v)
{
	static const struct {
		long long scale;
		char unit;
	} units[] = {{GB, 'G'}, {MB, 'M'}, {KB, 'K'}};
	size_t i;

	for (i = 0; i < nitems(units); i++)
		if (v > 0 && v % (size_t)units[i].scale == 0)
			return json_sprintf("%zu%c", v / (size_t)units[i].scale, units[i].unit);
	return json_integer((json_int_t)v);
}

/* Append the effective configuration as YAML, in the table's order. */
int
config_dump(const struct config *cfg, struct buf *out)
{
	_cleanup_json_ json_t *root = json_object();
	const struct config_choice *c;
	size_t i;

	for (i = 0; i < nitems(config_keys); i++) {
		const struct config_key *k = &config_keys[i];
		const char *field = (const char *)cfg + k->offset, *dot = strchr(k->name, '.');
		json_t *parent = root, *v = NULL;
		_cleanup_free_ char *section = NULL;

		if (dot != NULL) {
			section = xstrndup(k->name, (size_t)(dot - k->name));
			parent = json_object_get(root, section);
			if (parent == NULL) {
				parent = json_object();
				json_object_set_new(root, section, parent);
			}
		}
		switch (k->type) {
		case CONFIG_STRING:
			v = json_string(*(char *const *)field);
			break;
		case CONFIG_LIST: {
			_cleanup_free_ char *copy = xstrdup(*(char *const *)field);
			char *save = NULL, *name;
			v = json_array();
			for (name = strtok_r(copy, ",", &save); name != NULL;
			     name = strtok_r(NULL, ",", &save))
				json_array_append_new(v, json_string(name));
			break;
		}
		case CONFIG_BOOL:
			v = json_boolean(*(const bool *)field);
			break;
		case CONFIG_SIZE:
			v = config_size_json(*(const size_t *)field);
			break;
		case CONFIG_INT:
		case CONFIG_DURATION:
			v = json_integer(*(const int *)field);
			break;
		case CONFIG_ENUM:
			for (c = k->choices; c->name != NULL; c++)
				if (c->value == *(const int *)field)
					v = json_string(c->name);
			break;
		}
		if (v == NULL)
			v = json_null();
		json_object_set_new(parent, dot != NULL ? dot + 1 : k->name, v);
	}
	return yaml_dump(root, 2, false, out);
}
