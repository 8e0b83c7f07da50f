/*
 * inventory.c - hosts and groups from INI and YAML files, directories and comma lists;
 * group_vars/ and host_vars/; host patterns.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <dirent.h>
#include <fnmatch.h>
#include <limits.h>
#include <unistd.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "playbooks/playbooks.h"

#define INVENTORY_MAX_FILE (16u << 20)
#define INVENTORY_MAX_DEPTH 64

/* The group object called name, created when missing. */
static json_t *
inventory_group(struct inventory *inv, const char *name)
{
	json_t *g = json_object_get(inv->groups, name);

	if (!g) {
		g = json_pack("{s:[],s:[],s:{}}", "hosts", "children", "vars");
		json_object_set_new(inv->groups, name, g);
	}
	return g;
}

/* True when array a holds string s. */
static bool
inventory_has(const json_t *a, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v) if (strcmp(json_string_value(v), s) == 0) return true;
	return false;
}

/* Append s to array a unless it is there. */
static void
inventory_add_unique(json_t *a, const char *s)
{
	if (!inventory_has(a, s))
		json_array_append_new(a, json_string(s));
}

void
inventory_init(struct inventory *inv)
{
	inv->hosts = json_object();
	inv->groups = json_object();
	inv->vars_dirs = json_array();
	inventory_group(inv, "all");
	inventory_group(inv, "ungrouped");
}

void
inventory_free(struct inventory *inv)
{
	json_decref(inv->hosts);
	json_decref(inv->groups);
	json_decref(inv->vars_dirs);
	inv->hosts = inv->groups = inv->vars_dirs = NULL;
}

/* Add a host to a group. */
void
inventory_host_add(struct inventory *inv, const char *host, const char *group)
{
	if (!json_object_get(inv->hosts, host))
		json_object_set_new(inv->hosts, host, json_pack("{s:{}}", "vars"));
	if (group && strcmp(group, "all") != 0 && strcmp(group, "ungrouped") != 0) {
		inventory_group(inv, group);
		inventory_add_unique(json_object_get(inventory_group(inv, group), "hosts"), host);
	}
}

/* Make child a child group of parent. */
static void
inventory_child_add(struct inventory *inv, const char *parent, const char *child)
{
	inventory_group(inv, child);
	if (strcmp(child, "all") != 0)
		inventory_add_unique(
		    json_object_get(inventory_group(inv, parent), "children"), child);
}

/*
 * Expand one range pattern: web[01:20].example, db-[a:f], x[1:9:2]. Appends the names to
 * out; -1 with err on a bad range or too many hosts.
 */
static int
inventory_expand(const char *pat, json_t *out, const char *where, struct dr_error *err)
{
	const char *lb = strchr(pat, '['), *rb = lb ? strchr(lb, ']') : NULL;
	char a[64], b[64];
	long long step = 1;

	if (!lb || !rb || !memchr(lb, ':', (size_t)(rb - lb))) {
		json_array_append_new(out, json_string(pat));
		return 0;
	}
	_cleanup_free_ char *inner = xstrndup(lb + 1, (size_t)(rb - lb - 1));
	_cleanup_free_ char *head = xstrndup(pat, (size_t)(lb - pat));
	char *c1 = strchr(inner, ':'), *c2;
	*c1 = '\0';
	c2 = strchr(c1 + 1, ':');
	if (c2) {
		*c2 = '\0';
		if (str_to_ll(c2 + 1, 1, INVENTORY_MAX_RANGE, &step) < 0)
			return dr_error_set(err, "%s: bad step in host range '%s'", where, pat);
	}
	str_copy(a, inner, sizeof a);
	str_copy(b, c1 + 1, sizeof b);
	if (!*a)
		str_copy(a, "0", sizeof a);
	if (isalpha((unsigned char)a[0]) || isalpha((unsigned char)b[0])) {
		if (strlen(a) != 1 || strlen(b) != 1 || a[0] > b[0])
			return dr_error_set(err, "%s: bad alphabetic host range '%s'", where, pat);
		for (char ch = a[0]; ch <= b[0]; ch = (char)(ch + step)) {
			_cleanup_free_ char *n = xasprintf("%s%c%s", head, ch, rb + 1);
			if (inventory_expand(n, out, where, err) < 0)
				return -1;
		}
		return 0;
	}
	long long lo, hi;
	if (str_to_ll(a, 0, 1000000000, &lo) < 0 || str_to_ll(b, 0, 1000000000, &hi) < 0 ||
	    lo > hi)
		return dr_error_set(err, "%s: bad host range '%s'", where, pat);
	if ((hi - lo) / step + 1 > INVENTORY_MAX_RANGE)
		return dr_error_set(err, "%s: host range '%s' expands to more than %d hosts",
		    where, pat, INVENTORY_MAX_RANGE);
	int width = (strlen(a) > 1 && a[0] == '0') ? (int)strlen(a) : 0;
	for (long long i = lo; i <= hi; i += step) {
		_cleanup_free_ char *n = xasprintf("%s%0*lld%s", head, width, i, rb + 1);
		if (inventory_expand(n, out, where, err) < 0)
			return -1;
	}
	return 0;
}

/* A value from an INI file, typed as Ansible's literal_eval would. */
static json_t *
inventory_ini_value(const char *s)
{
	json_t *v;
	json_error_t je;
	long long n;
	size_t len = strlen(s);

	if (strcmp(s, "True") == 0)
		return json_true();
	if (strcmp(s, "False") == 0)
		return json_false();
	if (strcmp(s, "None") == 0)
		return json_null();
	if (str_to_ll(s, LLONG_MIN, LLONG_MAX, &n) == 0 && !(s[0] == '0' && s[1]))
		return json_integer(n);
	if (len && (s[0] == '[' || s[0] == '{' || isdigit((unsigned char)s[0]) || s[0] == '-') &&
	    (v = json_loads(s, JSON_DECODE_ANY, &je)) != NULL && !json_is_string(v))
		return v;
	return json_string(s);
}

/* Parse an INI inventory. */
static int
inventory_ini_load(struct inventory *inv, const char *path, const char *text, struct dr_error *err)
{
	enum { SEC_HOSTS, SEC_VARS, SEC_CHILDREN } kind = SEC_HOSTS;
	_cleanup_free_ char *copy = xstrdup(text);
	char group[256] = "ungrouped", where[1024];
	char *save = NULL, *line;
	unsigned lineno = 0;
	char *next = copy;

	while ((line = next) != NULL) {
		char *nl = strchr(line, '\n');
		next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		snprintf(where, sizeof where, "%s:%u", path, lineno);
		str_trim(line);
		if (!*line || *line == '#' || *line == ';')
			continue;
		if (*line == '[') {
			char *rb = strchr(line, ']'), *colon;
			if (!rb)
				return dr_error_set(err, "%s: section header without ']'", where);
			*rb = '\0';
			colon = strchr(line + 1, ':');
			kind = SEC_HOSTS;
			if (colon) {
				*colon = '\0';
				if (strcmp(colon + 1, "vars") == 0)
					kind = SEC_VARS;
				else if (strcmp(colon + 1, "children") == 0)
					kind = SEC_CHILDREN;
				else
					return dr_error_set(err,
					    "%s: unknown section type ':%s' (expected :vars or "
					    ":children)",
					    where, colon + 1);
			}
			str_trim(line + 1);
			if (!line[1] || strlen(line + 1) >= sizeof group)
				return dr_error_set(err, "%s: bad group name", where);
			str_copy(group, line + 1, sizeof group);
			inventory_group(inv, group);
			continue;
		}
		if (kind == SEC_CHILDREN) {
			if (strcmp(line, group) == 0)
				return dr_error_set(
				    err, "%s: group %s cannot be its own child", where, group);
			inventory_child_add(inv, group, line);
			continue;
		}
		if (kind == SEC_VARS) {
			char *eq = strchr(line, '=');
			if (!eq)
				return dr_error_set(
				    err, "%s: expected key=value in [%s:vars]", where, group);
			*eq = '\0';
			char *k = str_trim(line), *v = str_trim(eq + 1);
			size_t vl = strlen(v);
			if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
				v[vl - 1] = '\0';
				v++;
				json_object_set_new(
				    json_object_get(inventory_group(inv, group), "vars"), k,
				    json_string(v));
			} else
				json_object_set_new(
				    json_object_get(inventory_group(inv, group), "vars"), k,
				    inventory_ini_value(v));
			continue;
		}
		json_t *words, *names = json_array();
		if (conn_split(line, &words, err) < 0 && dr_error_prefix(err, "%s: ", where)) {
			json_decref(names);
			return -1;
		}
		if (json_array_size(words) == 0) {
			json_decref(words);
			json_decref(names);
			continue;
		}
		if (inventory_expand(
		        json_string_value(json_array_get(words, 0)), names, where, err) < 0) {
			json_decref(words);
			json_decref(names);
			return -1;
		}
		json_t *hvars = json_object();
		for (size_t i = 1; i < json_array_size(words); i++) {
			const char *kv = json_string_value(json_array_get(words, i));
			const char *eq = strchr(kv, '=');
			if (!eq || eq == kv) {
				json_decref(words);
				json_decref(names);
				json_decref(hvars);
				return dr_error_set(err,
				    "%s: expected key=value after the host name, got '%s'", where,
				    kv);
			}
			_cleanup_free_ char *k = xstrndup(kv, (size_t)(eq - kv));
			json_object_set_new(hvars, k, inventory_ini_value(eq + 1));
		}
		size_t i;
		json_t *n;
		json_array_foreach(names, i, n)
		{
			const char *h = json_string_value(n);
			if (json_object_size(inv->hosts) >= INVENTORY_MAX_HOSTS) {
				json_decref(words);
				json_decref(names);
				json_decref(hvars);
				return dr_error_set(
				    err, "%s: more than %d hosts", where, INVENTORY_MAX_HOSTS);
			}
			inventory_host_add(inv, h, group);
			json_object_update(
			    json_object_get(json_object_get(inv->hosts, h), "vars"), hvars);
		}
		json_decref(words);
		json_decref(names);
		json_decref(hvars);
	}
	(void)save;
	return 0;
}

/* One YAML group {hosts, vars, children} under name. */
static int
inventory_yaml_group(struct inventory *inv, const char *name, const json_t *g,
    const struct yaml_src *src, int depth, struct dr_error *err)
{
	char where[1024];
	const char *k;
	json_t *v;

	if (depth > INVENTORY_MAX_DEPTH)
		return dr_error_set(err, "%s: groups nested too deeply",
		    yaml_src_where(src, g, where, sizeof where));
	inventory_group(inv, name);
	if (json_is_null(g))
		return 0;
	if (!json_is_object(g))
		return dr_error_set(err,
		    "%s: group %s: expected a mapping with hosts, vars, children",
		    yaml_src_where(src, g, where, sizeof where), name);
	json_object_foreach((json_t *)g, k, v)
	{
		if (strcmp(k, "hosts") == 0) {
			const char *h;
			json_t *hv;
			if (json_is_null(v))
				continue;
			if (!json_is_object(v))
				return dr_error_set(err,
				    "%s: hosts: expected a mapping of host names",
				    yaml_src_where(src, v, where, sizeof where));
			json_object_foreach(v, h, hv)
			{
				json_t *names = json_array();
				size_t i;
				json_t *n;
				yaml_src_where_key(src, v, h, where, sizeof where);
				if (!json_is_null(hv) && !json_is_object(hv)) {
					json_decref(names);
					return dr_error_set(err,
					    "%s: host %s: expected a mapping of variables", where,
					    h);
				}
				if (inventory_expand(h, names, where, err) < 0) {
					json_decref(names);
					return -1;
				}
				json_array_foreach(names, i, n)
				{
					inventory_host_add(inv, json_string_value(n), name);
					if (json_is_object(hv))
						json_object_update(
						    json_object_get(json_object_get(inv->hosts,
						                        json_string_value(n)),
						        "vars"),
						    hv);
				}
				json_decref(names);
			}
		} else if (strcmp(k, "vars") == 0) {
			if (json_is_null(v))
				continue;
			if (!json_is_object(v))
				return dr_error_set(err, "%s: vars: expected a mapping",
				    yaml_src_where(src, v, where, sizeof where));
			json_object_update(json_object_get(inventory_group(inv, name), "vars"), v);
		} else if (strcmp(k, "children") == 0) {
			const char *c;
			json_t *cv;
			if (json_is_null(v))
				continue;
			if (!json_is_object(v))
				return dr_error_set(err,
				    "%s: children: expected a mapping of groups",
				    yaml_src_where(src, v, where, sizeof where));
			json_object_foreach(v, c, cv)
			{
				if (strcmp(c, name) == 0)
					return dr_error_set(err,
					    "%s: group %s cannot be its own child",
					    yaml_src_where_key(src, v, c, where, sizeof where), c);
				inventory_child_add(inv, name, c);
				if (inventory_yaml_group(inv, c, cv, src, depth + 1, err) < 0)
					return -1;
			}
		} else
			return dr_error_set(err,
			    "%s: group %s: unknown key '%s' (expected hosts, vars or children)",
			    yaml_src_where_key(src, g, k, where, sizeof where), name, k);
	}
	return 0;
}

/* A YAML inventory document: top-level keys are groups (usually just `all`). */
static int
inventory_yaml_doc(struct inventory *inv, const char *name, const json_t *doc,
    const struct yaml_src *src, struct dr_error *err)
{
	const char *k;
	json_t *v;
	int r = 0;

	if (!json_is_null(doc) && !json_is_object(doc))
		return dr_error_set(err, "%s: expected a mapping of groups", name);
	if (json_is_object(doc))
		json_object_foreach((json_t *)doc, k, v)
		{
			if ((r = inventory_yaml_group(inv, k, v, src, 0, err)) < 0)
				break;
			if (strcmp(k, "all") != 0 && strcmp(k, "ungrouped") != 0)
				inventory_child_add(inv, "all", k);
		}
	return r;
}

/* A YAML inventory: top-level keys are groups (usually just `all`). */
static int
inventory_yaml_load(struct inventory *inv, const char *path, struct dr_error *err)
{
	json_t *doc;
	struct yaml_src *src;
	int r;

	if (yaml_load_file(path, 0, &doc, &src, err) < 0)
		return -1;
	r = inventory_yaml_doc(inv, path, doc, src, err);
	json_decref(doc);
	yaml_src_free(src);
	return r;
}

/* Add an inventory document that did not come from a file (droverd's). */
int
inventory_doc_load(
    struct inventory *inv, const char *name, const json_t *doc, struct dr_error *err)
{
	return inventory_yaml_doc(inv, name, doc, NULL, err);
}

/* Files a directory source skips, as Ansible's inventory_ignore_extensions. */
static bool
inventory_ignored(const char *name)
{
	static const char *const exts[] = {".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md",
	    ".txt", ".rst", ".orig", ".cfg", ".retry"};

	if (name[0] == '.' || strcmp(name, "group_vars") == 0 || strcmp(name, "host_vars") == 0)
		return true;
	for (size_t i = 0; i < nitems(exts); i++)
		if (str_has_suffix(name, exts[i]))
			return true;
	return false;
}

static int inventory_load_path(
    struct inventory *inv, const char *path, int depth, struct dr_error *err);

/* Every file of a directory in name order. */
static int
inventory_dir_load(struct inventory *inv, const char *dir, int depth, struct dr_error *err)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort), r = 0;

	if (n < 0)
		return dr_error_errno(err, "%s", dir);
	for (int i = 0; i < n; i++) {
		if (r == 0 && !inventory_ignored(list[i]->d_name)) {
			_cleanup_free_ char *p = xasprintf("%s/%s", dir, list[i]->d_name);
			r = inventory_load_path(inv, p, depth + 1, err);
		}
		free(list[i]);
	}
	free(list);
	return r;
}

/* A file or directory source. */
static int
inventory_load_path(struct inventory *inv, const char *path, int depth, struct dr_error *err)
{
	struct stat st;
	char *text;
	size_t len;
	int r;

	if (depth > 8)
		return dr_error_set(err, "%s: directories nested too deeply", path);
	if (stat(path, &st) < 0)
		return dr_error_errno(err, "inventory %s", path);
	if (S_ISDIR(st.st_mode))
		return inventory_dir_load(inv, path, depth, err);
	if (str_has_suffix(path, ".yml") || str_has_suffix(path, ".yaml") ||
	    str_has_suffix(path, ".json"))
		return inventory_yaml_load(inv, path, err);
	if (file_read(path, INVENTORY_MAX_FILE, &text, &len, err) < 0)
		return -1;
	if (access(path, X_OK) == 0 && str_has_prefix(text, "#!")) {
		free(text);
		return dr_error_set(
		    err, "%s: executable (script) inventories are not supported", path);
	}
	r = inventory_ini_load(inv, path, text, err);
	free(text);
	return r;
}

/* Add a source. */
int
inventory_load(struct inventory *inv, const char *source, struct dr_error *err)
{
	struct stat st;

	if (stat(source, &st) < 0 && strchr(source, ',')) {
		_cleanup_free_ char *copy = xstrdup(source);
		char *save = NULL;
		for (char *h = strtok_r(copy, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
			str_trim(h);
			if (*h)
				inventory_host_add(inv, h, NULL);
		}
		return 0;
	}
	if (inventory_load_path(inv, source, 0, err) < 0)
		return -1;
	if (S_ISDIR(st.st_mode))
		json_array_append_new(inv->vars_dirs, json_string(source));
	else {
		_cleanup_free_ char *d = xstrdup(source);
		char *slash = strrchr(d, '/');
		if (slash)
			*slash = '\0';
		json_array_append_new(inv->vars_dirs, json_string(slash ? (*d ? d : "/") : "."));
	}
	return 0;
}

/* Merge one variables file (YAML/JSON) or directory of them into into. */
static int
inventory_vars_read(const char *path, json_t *into, struct dr_error *err)
{
	struct stat st;
	json_t *v;

	if (stat(path, &st) < 0)
		return 0;
	if (S_ISDIR(st.st_mode)) {
		struct dirent **list;
		int n = scandir(path, &list, NULL, alphasort), r = 0;
		if (n < 0)
			return dr_error_errno(err, "%s", path);
		for (int i = 0; i < n; i++) {
			const char *nm = list[i]->d_name;
			if (r == 0 && nm[0] != '.' && !inventory_ignored(nm)) {
				_cleanup_free_ char *p = xasprintf("%s/%s", path, nm);
				r = inventory_vars_read(p, into, err);
			}
			free(list[i]);
		}
		free(list);
		return r;
	}
	if (vars_file_load(path, &v, err) < 0)
		return -1;
	json_object_update(into, v);
	json_decref(v);
	return 0;
}

/* dir/<kind>/<name>{,.yml,.yaml,.json} (file or directory) into obj[key]. */
static int
inventory_vars_named(
    const char *dir, const char *kind, const char *name, json_t *obj, struct dr_error *err)
{
	static const char *const exts[] = {"", ".yml", ".yaml", ".json"};
	json_t *dv = json_object_get(obj, "dir_vars");

	if (!dv) {
		dv = json_object();
		json_object_set_new(obj, "dir_vars", dv);
	}
	for (size_t i = 0; i < nitems(exts); i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s/%s%s", dir, kind, name, exts[i]);
		if (inventory_vars_read(p, dv, err) < 0)
			return -1;
	}
	return 0;
}

/* group_vars/ and host_vars/ beside every source, then beside the playbook. */
int
inventory_vars_load(struct inventory *inv, const char *playbook_dir, struct dr_error *err)
{
	json_t *dirs = json_copy(inv->vars_dirs);
	size_t i;
	json_t *d;
	int r = 0;

	if (playbook_dir)
		json_array_append_new(dirs, json_string(playbook_dir));
	json_array_foreach(dirs, i, d)
	{
		const char *dir = json_string_value(d), *name;
		json_t *o;
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			if (strcmp(json_string_value(json_array_get(dirs, j)), dir) == 0)
				dup = true;
		if (dup)
			continue;
		json_object_foreach(inv->groups, name, o)
		{
			if ((r = inventory_vars_named(dir, "group_vars", name, o, err)) < 0)
				goto out;
		}
		json_object_foreach(inv->hosts, name, o)
		{
			if ((r = inventory_vars_named(dir, "host_vars", name, o, err)) < 0)
				goto out;
		}
	}
out:
	json_decref(dirs);
	return r;
}

/* Hosts of a group and its children, deduplicated, into out. */
static void
inventory_group_hosts(const struct inventory *inv, const char *name, json_t *out, int depth)
{
	json_t *g = json_object_get(inv->groups, name);
	size_t i;
	json_t *v;

	if (!g || depth > INVENTORY_MAX_DEPTH)
		return;
	if (strcmp(name, "all") == 0) {
		const char *h;
		json_object_foreach(inv->hosts, h, v) inventory_add_unique(out, h);
		return;
	}
	if (strcmp(name, "ungrouped") == 0) {
		json_t *gs = inventory_groups(inv);
		json_t *ung = json_object_get(gs, "ungrouped");
		json_array_foreach(ung, i, v) inventory_add_unique(out, json_string_value(v));
		json_decref(gs);
		return;
	}
	json_array_foreach(json_object_get(g, "hosts"), i, v)
	    inventory_add_unique(out, json_string_value(v));
	json_array_foreach(json_object_get(g, "children"), i, v)
	    inventory_group_hosts(inv, json_string_value(v), out, depth + 1);
}

/* Direct groups of host plus their ancestors, as an object name -> depth. */
static void
inventory_host_groups(const struct inventory *inv, const char *host, json_t *out)
{
	const char *name;
	json_t *g;
	bool changed = true;
	int rounds = 0;

	json_object_foreach(inv->groups, name, g)
	{
		if (inventory_has(json_object_get(g, "hosts"), host))
			json_object_set_new(out, name, json_integer(0));
	}
	/* Parents of groups already in, until nothing changes. */
	while (changed && rounds++ < INVENTORY_MAX_DEPTH) {
		changed = false;
		json_object_foreach(inv->groups, name, g)
		{
			size_t i;
			json_t *c;
			if (json_object_get(out, name))
				continue;
			json_array_foreach(json_object_get(g, "children"), i, c)
			{
				if (json_object_get(out, json_string_value(c))) {
					json_object_set_new(out, name, json_integer(0));
					changed = true;
					break;
				}
			}
		}
	}
}

/* A group's depth: the longest chain of parents up to all. */
static int
inventory_group_depth(const struct inventory *inv, const char *name, int depth)
{
	const char *p;
	json_t *g;
	int best = 0;

	if (strcmp(name, "all") == 0 || depth > INVENTORY_MAX_DEPTH)
		return 0;
	json_object_foreach(inv->groups, p, g)
	{
		if (inventory_has(json_object_get(g, "children"), name)) {
			int d = inventory_group_depth(inv, p, depth + 1) + 1;
			if (d > best)
				best = d;
		}
	}
	return best ? best : 1;
}

struct inventory_gd {
	const char *name;
	int depth;
};

static int
inventory_gd_cmp(const void *a, const void *b)
{
	const struct inventory_gd *x = a, *y = b;

	if (x->depth != y->depth)
		return x->depth - y->depth;
	return strcmp(x->name, y->name);
}

/* qsort order of names. */
static int
inventory_name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A host's merged inventory variables. */
json_t *
inventory_host_vars(const struct inventory *inv, const char *host)
{
	json_t *vars = json_object(), *mine = json_object(), *names = json_array();
	json_t *h = json_object_get(inv->hosts, host);
	const char *name;
	json_t *v;
	size_t n = 0, i;
	struct inventory_gd *gd;
	_cleanup_free_ char *shortname = xstrdup(host);

	inventory_host_groups(inv, host, mine);
	gd = xcalloc(json_object_size(mine) + 1, sizeof *gd);
	gd[n++] = (struct inventory_gd){"all", 0};
	json_object_foreach(mine, name, v)
	{
		if (strcmp(name, "all") == 0)
			continue;
		gd[n++] = (struct inventory_gd){name, inventory_group_depth(inv, name, 0)};
	}
	qsort(gd, n, sizeof *gd, inventory_gd_cmp);
	for (i = 0; i < n; i++) {
		json_t *g = json_object_get(inv->groups, gd[i].name);
		json_object_update(vars, json_object_get(g, "vars"));
		if (json_object_get(g, "dir_vars"))
			json_object_update(vars, json_object_get(g, "dir_vars"));
		if (strcmp(gd[i].name, "all") != 0 && strcmp(gd[i].name, "ungrouped") != 0)
			json_array_append_new(names, json_string(gd[i].name));
	}
	if (json_array_size(names) == 0 && json_object_get(inv->groups, "ungrouped")) {
		json_t *g = json_object_get(inv->groups, "ungrouped");
		json_object_update(vars, json_object_get(g, "vars"));
		if (json_object_get(g, "dir_vars"))
			json_object_update(vars, json_object_get(g, "dir_vars"));
	}
	free(gd);
	if (h) {
		json_object_update(vars, json_object_get(h, "vars"));
		if (json_object_get(h, "dir_vars"))
			json_object_update(vars, json_object_get(h, "dir_vars"));
	}
	/* group_names is sorted, as Ansible's. */
	{
		size_t cnt = json_array_size(names);
		const char **arr = xcalloc(cnt + 1, sizeof *arr);
		for (i = 0; i < cnt; i++)
			arr[i] = json_string_value(json_array_get(names, i));
		qsort(arr, cnt, sizeof *arr, inventory_name_cmp);
		json_t *sorted = json_array();
		for (i = 0; i < cnt; i++)
			json_array_append_new(sorted, json_string(arr[i]));
		free(arr);
		json_object_set_new(vars, "group_names", sorted);
	}
	json_decref(names);
	json_decref(mine);
	char *dot = strchr(shortname, '.');
	if (dot)
		*dot = '\0';
	json_object_set_new(vars, "inventory_hostname", json_string(host));
	json_object_set_new(vars, "inventory_hostname_short", json_string(shortname));
	return vars;
}

/* {group: [hosts]} with all and ungrouped. */
json_t *
inventory_groups(const struct inventory *inv)
{
	json_t *out = json_object(), *grouped = json_object(), *ung = json_array();
	const char *name;
	json_t *g, *v;
	size_t i;

	json_object_foreach(inv->groups, name, g)
	{
		json_t *hosts = json_array();
		if (strcmp(name, "ungrouped") == 0 || strcmp(name, "all") == 0) {
			json_decref(hosts);
			continue;
		}
		inventory_group_hosts(inv, name, hosts, 0);
		json_array_foreach(hosts, i, v)
		    json_object_set(grouped, json_string_value(v), json_true());
		json_object_set_new(out, name, hosts);
	}
	json_array_foreach(json_object_get(json_object_get(inv->groups, "ungrouped"), "hosts"), i,
	    v) inventory_add_unique(ung, json_string_value(v));
	json_object_foreach(inv->hosts, name, v)
	{
		if (!json_object_get(grouped, name))
			inventory_add_unique(ung, name);
	}
	json_t *all = json_array();
	json_object_foreach(inv->hosts, name, v) json_array_append_new(all, json_string(name));
	json_object_set_new(out, "all", all);
	json_object_set_new(out, "ungrouped", ung);
	json_decref(grouped);
	return out;
}

/* Apply a [i] or [a:b] subscript to list (in place). */
static int
inventory_subscript(json_t **list, const char *sub, const char *pattern, struct dr_error *err)
{
	long long n = (long long)json_array_size(*list), a, b;
	_cleanup_free_ char *s = xstrdup(sub);
	char *colon = strchr(s, ':');
	json_t *out = json_array();

	if (colon) {
		*colon = '\0';
		if ((*s && str_to_ll(s, -n - 1000000, 1000000, &a) < 0) ||
		    (colon[1] && str_to_ll(colon + 1, -n - 1000000, 1000000, &b) < 0)) {
			json_decref(out);
			return dr_error_set(err, "host pattern '%s': bad subscript", pattern);
		}
		if (!*s)
			a = 0;
		if (!colon[1])
			b = n - 1;
		if (a < 0)
			a += n;
		if (b < 0)
			b += n;
		/* Ansible's [a:b] includes b. */
		for (long long i = a < 0 ? 0 : a; i <= b && i < n; i++)
			json_array_append(out, json_array_get(*list, (size_t)i));
	} else {
		if (str_to_ll(s, -1000000, 1000000, &a) < 0) {
			json_decref(out);
			return dr_error_set(err, "host pattern '%s': bad subscript", pattern);
		}
		if (a < 0)
			a += n;
		if (a >= 0 && a < n)
			json_array_append(out, json_array_get(*list, (size_t)a));
	}
	json_decref(*list);
	*list = out;
	return 0;
}

/* Hosts one term names (no prefix). */
static int
inventory_term(const struct inventory *inv, const char *term, json_t **ret, struct dr_error *err)
{
	json_t *out = json_array(), *v;
	const char *name;
	_cleanup_free_ char *t = xstrdup(term);
	char *sub = NULL;
	size_t tl = strlen(t);

	if (t[0] != '~' && tl > 2 && t[tl - 1] == ']' && strchr(t, '[')) {
		char *lb = strrchr(t, '[');
		/* a subscript, unless it is a range like web[01:03] that names hosts */
		*lb = '\0';
		t[tl - 1] = '\0';
		sub = lb + 1;
		if (!json_object_get(inv->groups, t) && !json_object_get(inv->hosts, t) &&
		    strcmp(t, "all") != 0 && strcmp(t, "*") != 0 && !strpbrk(t, "*?")) {
			*lb = '[';
			t[tl - 1] = ']';
			sub = NULL;
		}
	}
	if (strcmp(t, "all") == 0 || strcmp(t, "*") == 0)
		inventory_group_hosts(inv, "all", out, 0);
	else if (t[0] == '~') {
		int ec;
		PCRE2_SIZE off;
		pcre2_code *re =
		    pcre2_compile((PCRE2_SPTR)(t + 1), PCRE2_ZERO_TERMINATED, 0, &ec, &off, NULL);
		if (!re) {
			json_decref(out);
			return dr_error_set(
			    err, "host pattern '%s': bad regular expression", term);
		}
		pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
		json_object_foreach(inv->groups, name, v)
		{
			if (pcre2_match(re, (PCRE2_SPTR)name, strlen(name), 0, PCRE2_ANCHORED, md,
			        NULL) >= 0)
				inventory_group_hosts(inv, name, out, 0);
		}
		json_object_foreach(inv->hosts, name, v)
		{
			if (pcre2_match(re, (PCRE2_SPTR)name, strlen(name), 0, PCRE2_ANCHORED, md,
			        NULL) >= 0)
				inventory_add_unique(out, name);
		}
		pcre2_match_data_free(md);
		pcre2_code_free(re);
	} else if (strpbrk(t, "*?[")) {
		json_object_foreach(inv->groups, name, v)
		{
			if (fnmatch(t, name, 0) == 0)
				inventory_group_hosts(inv, name, out, 0);
		}
		json_object_foreach(inv->hosts, name, v)
		{
			if (fnmatch(t, name, 0) == 0)
				inventory_add_unique(out, name);
		}
		if (json_array_size(out) == 0 && strchr(t, '[')) {
			/* a host range written as a pattern */
			json_t *names = json_array();
			size_t i;
			if (inventory_expand(t, names, "host pattern", err) == 0)
				json_array_foreach(names, i,
				    v) if (json_object_get(inv->hosts, json_string_value(v)))
				    inventory_add_unique(out, json_string_value(v));
			json_decref(names);
		}
	} else if (json_object_get(inv->groups, t))
		inventory_group_hosts(inv, t, out, 0);
	else if (json_object_get(inv->hosts, t))
		inventory_add_unique(out, t);
	if (sub && inventory_subscript(&out, sub, term, err) < 0) {
		json_decref(out);
		return -1;
	}
	*ret = out;
	return 0;
}

/* Hosts a pattern names. */
int
inventory_match(
    const struct inventory *inv, const char *pattern, json_t **ret, struct dr_error *err)
{
	_cleanup_free_ char *p = xstrdup(pattern);
	json_t *terms = json_array(), *result = json_array(), *and = NULL, *not = json_array();
	bool has_union = false;
	char sep = strchr(p, ',') ? ',' : ':';
	size_t i;
	json_t *v;
	int r = 0;

	/* Split on the separator, but not inside [..] (subscripts, ranges). */
	{
		int depth = 0;
		char *start = p;
		for (char *c = p;; c++) {
			if (*c == '[')
				depth++;
			else if (*c == ']')
				depth--;
			if (*c == '\0' || (*c == sep && depth == 0)) {
				char hold = *c;
				*c = '\0';
				str_trim(start);
				if (*start)
					json_array_append_new(terms, json_string(start));
				if (!hold)
					break;
				start = c + 1;
			}
		}
	}
	json_array_foreach(terms, i, v)
	{
		const char *t = json_string_value(v);
		json_t *hosts = NULL;
		char kind = (*t == '&' || *t == '!') ? *t : 0;
		if ((r = inventory_term(inv, kind ? t + 1 : t, &hosts, err)) < 0)
			goto out;
		if (kind == '&') {
			if (!and)
				and = json_copy(hosts);
			else {
				json_t *keep = json_array();
				size_t j;
				json_t *h;
				json_array_foreach(
				    and, j, h) if (inventory_has(hosts, json_string_value(h)))
				    json_array_append(keep, h);
				json_decref(and);
				and = keep;
			}
		} else if (kind == '!') {
			size_t j;
			json_t *h;
			json_array_foreach(hosts, j, h)
			    inventory_add_unique(not, json_string_value(h));
		} else {
			size_t j;
			json_t *h;
			has_union = true;
			json_array_foreach(hosts, j, h)
			    inventory_add_unique(result, json_string_value(h));
		}
		json_decref(hosts);
	}
	if (!has_union && (and || json_array_size(not )))
		inventory_group_hosts(inv, "all", result, 0);
	{
		json_t *final = json_array();
		json_array_foreach(result, i, v)
		{
			const char *h = json_string_value(v);
			if (and&&!inventory_has(and, h))
				continue;
			if (inventory_has(not, h))
				continue;
			json_array_append(final, v);
		}
		*ret = final;
	}
out:
	json_decref(terms);
	json_decref(result);
	json_decref(and);
	json_decref(not );
	return r;
}
