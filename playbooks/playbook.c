/*
 * playbook.c - load playbooks, task files and roles into checked, normalized JSON, with
 * errors naming file:line:column and what was expected.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "playbooks/playbooks.h"

#define PLAYBOOK_MAX_DEPTH 32 /* nesting of imports, blocks and role dependencies */

struct playbook {
	char *path;
	char *dir;
	char *roles_path;
	json_t *plays;
	struct yaml_src **srcs; /* kept for the life of the playbook: tasks cite places */
	size_t nsrcs;
	pthread_mutex_t lock; /* run-time includes from several host threads */
	bool not_found; /* the load failed on a file or role that does not exist */
};

/* Loading state: the file being read. */
struct pb_load {
	struct playbook *pb;
	const struct yaml_src *src;
	const char *file;
	const char *dir; /* directory of the file */
	const json_t *role; /* the role whose files these are, or NULL */
	json_t *handlers; /* where import_role puts a role's handlers (the play's list) */
	int depth;
};

/* Keywords a play, a block and a task accept. */
static const char *const pb_play_keys[] = {"name", "hosts", "gather_facts", "gather_subset",
    "gather_timeout", "vars", "vars_files", "roles", "pre_tasks", "tasks", "post_tasks",
    "handlers", "serial", "strategy", "any_errors_fatal", "max_fail_percentage", "force_handlers",
    "become", "become_user", "become_method", "become_flags", "become_exe", "remote_user", "port",
    "connection", "environment", "no_log", "ignore_errors", "ignore_unreachable", "check_mode",
    "diff", "tags", "order", "throttle", "timeout", "module_defaults", "collections", "debugger",
    "run_once", "fact_path", "vars_prompt"};
static const char *const pb_block_keys[] = {"block", "rescue", "always", "name", "when", "tags",
    "become", "become_user", "become_method", "become_flags", "become_exe", "ignore_errors",
    "ignore_unreachable", "environment", "vars", "delegate_to", "delegate_facts", "run_once",
    "no_log", "check_mode", "diff", "any_errors_fatal", "throttle", "timeout", "module_defaults",
    "collections", "remote_user", "connection", "port", "debugger", "notify"};
static const char *const pb_task_keys[] = {"name", "action", "local_action", "args", "when",
    "loop", "loop_control", "register", "changed_when", "failed_when", "until", "retries", "delay",
    "notify", "listen", "ignore_errors", "ignore_unreachable", "tags", "delegate_to",
    "delegate_facts", "run_once", "become", "become_user", "become_method", "become_flags",
    "become_exe", "check_mode", "diff", "no_log", "environment", "vars", "throttle", "timeout",
    "async", "poll", "any_errors_fatal", "remote_user", "connection", "port", "collections",
    "debugger", "module_defaults"};
static const char *const pb_with[] = {"items", "dict", "fileglob", "sequence", "together",
    "subelements", "nested", "list", "indexed_items", "flattened", "random_choice"};

/* Actions the executor itself handles (not in the module table). */
static const char *const pb_actions[] = {"include_tasks", "import_tasks", "include_role",
    "import_role", "meta", "import_playbook", "include"};

/* Collection names that map onto our short names. */
static const struct {
	const char *fqcn;
	const char *ours;
} pb_fqcn[] = {
    {"ansible.posix.sysctl", "sysctl"},
    {"ansible.posix.mount", "mount"},
    {"ansible.posix.authorized_key", "authorized_key"},
    {"ansible.posix.synchronize", "synchronize"},
    {"community.general.modprobe", "modprobe"},
    {"community.general.timezone", "timezone"},
    {"community.general.ufw", "ufw"},
    {"community.general.git_config", "git_config"},
    {"community.crypto.openssh_keypair", "openssh_keypair"},
    {"ansible.builtin.systemd_service", "systemd"},
    {"ansible.builtin.yum", "dnf"},
    {"ansible.builtin.include", "include"},
};

static bool
pb_in(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* Our module name for an action name. */
const char *
playbook_action_name(const char *name)
{
	const char *short_name = name;

	for (size_t i = 0; i < nitems(pb_fqcn); i++)
		if (strcmp(pb_fqcn[i].fqcn, name) == 0)
			short_name = pb_fqcn[i].ours;
	if (str_has_prefix(name, "ansible.builtin."))
		short_name = name + strlen("ansible.builtin.");
	else if (str_has_prefix(name, "ansible.legacy."))
		short_name = name + strlen("ansible.legacy.");
	if (strcmp(short_name, "systemd_service") == 0)
		short_name = "systemd";
	else if (strcmp(short_name, "yum") == 0)
		short_name = "dnf";
	for (size_t i = 0; i < nitems(pb_actions); i++)
		if (strcmp(pb_actions[i], short_name) == 0)
			return pb_actions[i];
	const struct module *m = module_find(short_name);
	return m ? m->name : NULL;
}

/* "file:line:col" of node, or of key in node when key is given. */
static const char *
pb_where(const struct pb_load *l, const json_t *node, const char *key, char *buf, size_t size)
{
	if (key)
		return yaml_src_where_key(l->src, node, key, buf, size);
	return yaml_src_where(l->src, node, buf, size);
}

static int pb_tasks(
    struct pb_load *l, const json_t *list, const char *what, json_t **ret, struct dr_error *err);

/* Resolve a file named in a task or play: absolute, role/<sub>, relative to the file. */
static char *
pb_file(const struct pb_load *l, const char *name, const char *sub)
{
	struct stat st;
	const char *role_path =
	    l->role ? json_string_value(json_object_get(l->role, "path")) : NULL;

	if (name[0] == '/')
		return xstrdup(name);
	if (role_path) {
		char *p = xasprintf("%s/%s/%s", role_path, sub, name);
		if (stat(p, &st) == 0)
			return p;
		free(p);
	}
	char *p = xasprintf("%s/%s", l->dir, name);
	if (stat(p, &st) == 0 || !l->pb)
		return p;
	free(p);
	return xasprintf("%s/%s", l->pb->dir, name);
}

/* Keep a source map alive for the playbook's life. */
static void
pb_keep(struct playbook *pb, struct yaml_src *src)
{
	pb->srcs = xreallocarray(pb->srcs, pb->nsrcs + 1, sizeof *pb->srcs);
	pb->srcs[pb->nsrcs++] = src;
}

/* Check simple keyword value types. */
static int
pb_check_keyword(const struct pb_load *l, const json_t *obj, const char *k, const json_t *v,
    struct dr_error *err)
{
	char w[1024];
	static const char *const bools[] = {"become", "ignore_errors", "ignore_unreachable",
	    "no_log", "run_once", "delegate_facts", "any_errors_fatal", "force_handlers",
	    "check_mode", "diff"};
	static const char *const strs[] = {"register", "delegate_to", "become_user",
	    "become_method", "name", "remote_user", "connection", "strategy", "listen"};
	static const char *const objs[] = {"vars", "loop_control", "args", "module_defaults"};
	static const char *const ints[] = {
	    "retries", "delay", "throttle", "timeout", "async", "poll", "port"};

	if (pb_in(bools, nitems(bools), k) && !json_is_boolean(v) && !json_is_string(v))
		return dr_error_set(
		    err, "%s: %s: expected a boolean", pb_where(l, obj, k, w, sizeof w), k);
	if (pb_in(strs, nitems(strs), k) && !json_is_string(v) &&
	    !(strcmp(k, "listen") == 0 && json_is_array(v)) &&
	    !(strcmp(k, "name") == 0 && (json_is_integer(v) || json_is_real(v))))
		return dr_error_set(
		    err, "%s: %s: expected a string", pb_where(l, obj, k, w, sizeof w), k);
	if (pb_in(objs, nitems(objs), k) && !json_is_object(v) && !json_is_null(v))
		return dr_error_set(
		    err, "%s: %s: expected a mapping", pb_where(l, obj, k, w, sizeof w), k);
	if (pb_in(ints, nitems(ints), k) && !json_is_integer(v) && !json_is_string(v))
		return dr_error_set(
		    err, "%s: %s: expected an integer", pb_where(l, obj, k, w, sizeof w), k);
	if ((strcmp(k, "tags") == 0 || strcmp(k, "notify") == 0) && !json_is_string(v) &&
	    !json_is_array(v) && !json_is_integer(v))
		return dr_error_set(err, "%s: %s: expected a string or a list",
		    pb_where(l, obj, k, w, sizeof w), k);
	if (strcmp(k, "register") == 0) {
		const char *s = json_string_value(v);
		bool ok = *s && (isalpha((unsigned char)*s) || *s == '_');
		for (; *s && ok; s++)
			if (!isalnum((unsigned char)*s) && *s != '_')
				ok = false;
		if (!ok)
			return dr_error_set(err, "%s: register: '%s' is not a valid variable name",
			    pb_where(l, obj, k, w, sizeof w), json_string_value(v));
	}
	if (strcmp(k, "loop") == 0 && !json_is_array(v) && !json_is_string(v))
		return dr_error_set(err, "%s: loop: expected a list or a template string",
		    pb_where(l, obj, k, w, sizeof w));
	return 0;
}

/* A role directory for name, or NULL. */
static char *
pb_role_find(const struct pb_load *l, const char *name)
{
	struct stat st;
	json_t *cands = json_array();
	char *found = NULL;
	size_t i;
	json_t *c;

	if (strchr(name, '/')) {
		json_array_append_new(cands, json_string(name));
		json_array_append_new(
		    cands, json_string_nocheck(xasprintf("%s/%s", l->dir, name)));
	} else {
		char *t;
		/* a role collection name ns.coll.role: its last part */
		const char *base = strrchr(name, '.') ? strrchr(name, '.') + 1 : name;
		if (l->role) {
			const char *rp = json_string_value(json_object_get(l->role, "path"));
			t = xasprintf("%s/../%s", rp, base);
			json_array_append_new(cands, json_string(t));
			free(t);
		}
		t = xasprintf("%s/roles/%s", l->dir, base);
		json_array_append_new(cands, json_string(t));
		free(t);
		t = xasprintf("%s/roles/%s", l->pb->dir, base);
		json_array_append_new(cands, json_string(t));
		free(t);
		if (l->pb->roles_path) {
			_cleanup_free_ char *rp = xstrdup(l->pb->roles_path);
			char *save = NULL;
			for (char *d = strtok_r(rp, ":", &save); d;
			     d = strtok_r(NULL, ":", &save)) {
				t = xasprintf("%s/%s", d, base);
				json_array_append_new(cands, json_string(t));
				free(t);
			}
		}
		t = xasprintf("%s/%s", l->pb->dir, base);
		json_array_append_new(cands, json_string(t));
		free(t);
	}
	json_array_foreach(cands, i, c)
	{
		if (json_string_value(c) && stat(json_string_value(c), &st) == 0 &&
		    S_ISDIR(st.st_mode)) {
			found = realpath(json_string_value(c), NULL);
			break;
		}
	}
	json_decref(cands);
	return found;
}

/* dir/main.yml, main.yaml or main (or the named file) of a role part; NULL when absent. */
static char *
pb_role_part(const char *role_path, const char *part, const char *file)
{
	static const char *const exts[] = {"", ".yml", ".yaml", ".json"};
	struct stat st;

	for (size_t i = 0; i < nitems(exts); i++) {
		char *p = xasprintf("%s/%s/%s%s", role_path, part, file ? file : "main", exts[i]);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
			return p;
		free(p);
	}
	return NULL;
}

/* Load a YAML file with its source kept by the playbook. */
static int
pb_yaml(struct playbook *pb, const char *path, json_t **ret, const struct yaml_src **ret_src,
    struct dr_error *err)
{
	struct yaml_src *src;

	if (yaml_load_file(path, 0, ret, &src, err) < 0) {
		if (access(path, F_OK) < 0)
			pb->not_found = true;
		return -1;
	}
	pb_keep(pb, src);
	*ret_src = src;
	return 0;
}

/* Load a role and its dependencies, appending blocks to *blocks and handlers to *handlers. */
static int
pb_role(struct pb_load *l, const char *name, const json_t *entry, const char *tasks_from,
    json_t *blocks, json_t *handlers, json_t *seen, struct dr_error *err)
{
	char w[1024];
	_cleanup_free_ char *path = pb_role_find(l, name);
	json_t *role, *params = json_object(), *kw = json_object(), *v;
	const char *k;
	int r = -1;

	if (!path) {
		dr_error_set(err,
		    "%s: the role '%s' was not found (looked in roles/ beside the "
		    "playbook and the roles path)",
		    pb_where(l, entry ? entry : json_null(), NULL, w, sizeof w), name);
		l->pb->not_found = true;
		json_decref(params);
		json_decref(kw);
		return -1;
	}
	if (l->depth > PLAYBOOK_MAX_DEPTH) {
		json_decref(params);
		json_decref(kw);
		return dr_error_set(
		    err, "role %s: dependencies nest deeper than %d", name, PLAYBOOK_MAX_DEPTH);
	}
	if (entry && json_is_object(entry))
		json_object_foreach((json_t *)entry, k, v)
		{
			if (strcmp(k, "role") == 0 || strcmp(k, "name") == 0)
				continue;
			if (strcmp(k, "vars") == 0 && json_is_object(v))
				json_object_update(params, v);
			else if (pb_in(pb_block_keys, nitems(pb_block_keys), k)) {
				if (pb_check_keyword(l, entry, k, v, err) < 0)
					goto out;
				json_object_set(kw, k, v);
			} else
				json_object_set(params, k, v);
		}
	role = json_pack("{s:s,s:s,s:{},s:{},s:O}", "name", strrchr(path, '/') + 1, "path", path,
	    "defaults", "vars", "params", params);
	json_t *roles_block = NULL;
	/* meta: dependencies and allow_duplicates */
	{
		_cleanup_free_ char *mp = pb_role_part(path, "meta", NULL);
		bool allow_dup = false;
		json_t *meta = NULL;
		const struct yaml_src *msrc = NULL;
		if (mp && pb_yaml(l->pb, mp, &meta, &msrc, err) < 0) {
			json_decref(role);
			goto out;
		}
		if (meta && json_is_object(meta))
			allow_dup = json_is_true(json_object_get(meta, "allow_duplicates"));
		/* Run once per play with the same parameters unless allow_duplicates. */
		_cleanup_free_ char *ptext = json_dumps(params, JSON_SORT_KEYS | JSON_COMPACT);
		_cleanup_free_ char *key =
		    xasprintf("%s|%s|%s", path, ptext ? ptext : "", tasks_from ? tasks_from : "");
		if (!allow_dup && seen && json_object_get(seen, key)) {
			json_decref(meta);
			json_decref(role);
			r = 0;
			goto out;
		}
		if (seen)
			json_object_set(seen, key, json_true());
		json_t *deps =
		    meta && json_is_object(meta) ? json_object_get(meta, "dependencies") : NULL;
		if (deps && !json_is_array(deps) && !json_is_null(deps)) {
			dr_error_set(err, "%s: dependencies: expected a list of roles",
			    yaml_src_where(msrc, deps, w, sizeof w));
			json_decref(meta);
			json_decref(role);
			goto out;
		}
		size_t i;
		json_t *d;
		json_array_foreach(deps, i, d)
		{
			struct pb_load sub = *l;
			const char *dn = json_is_string(d) ? json_string_value(d)
			    : json_is_object(d) ? json_string_value(json_object_get(d, "role"))
			                        : NULL;
			if (!dn && json_is_object(d))
				dn = json_string_value(json_object_get(d, "name"));
			sub.src = msrc;
			sub.role = role;
			sub.depth = l->depth + 1;
			if (!dn) {
				dr_error_set(err, "%s: a dependency needs a role name",
				    yaml_src_where(msrc, d, w, sizeof w));
				json_decref(meta);
				json_decref(role);
				goto out;
			}
			if (pb_role(&sub, dn, json_is_object(d) ? d : NULL, NULL, blocks, handlers,
			        seen, err) < 0) {
				json_decref(meta);
				json_decref(role);
				goto out;
			}
		}
		json_decref(meta);
	}
	/* defaults and vars */
	static const char *const varparts[] = {"defaults", "vars"};
	for (size_t i = 0; i < nitems(varparts); i++) {
		_cleanup_free_ char *p = pb_role_part(path, varparts[i], NULL);
		json_t *vv;
		if (p) {
			if (vars_file_load(p, &vv, err) < 0) {
				json_decref(role);
				goto out;
			}
			json_object_set_new(role, varparts[i], vv);
		}
	}
	/* tasks */
	{
		_cleanup_free_ char *tp = pb_role_part(path, "tasks", tasks_from);
		json_t *tasks = json_array();
		if (tasks_from && !tp) {
			dr_error_set(err, "role %s: tasks_from: %s not found in %s/tasks", name,
			    tasks_from, path);
			json_decref(tasks);
			json_decref(role);
			goto out;
		}
		if (tp) {
			json_t *doc;
			struct pb_load sub = *l;
			_cleanup_free_ char *tdir = xstrdup(tp);
			*strrchr(tdir, '/') = '\0';
			json_decref(tasks);
			if (pb_yaml(l->pb, tp, &doc, &sub.src, err) < 0) {
				json_decref(role);
				goto out;
			}
			sub.file = tp;
			sub.dir = tdir;
			sub.role = role;
			sub.depth = l->depth + 1;
			r = pb_tasks(&sub, doc, "tasks", &tasks, err);
			json_decref(doc);
			if (r < 0) {
				json_decref(role);
				goto out;
			}
			r = -1;
		}
		roles_block = json_pack(
		    "{s:o,s:[],s:[],s:O}", "block", tasks, "rescue", "always", "__role", role);
		json_object_update(roles_block, kw);
		json_object_set_new(roles_block, "__where",
		    json_string(pb_where(l, entry ? entry : json_null(), NULL, w, sizeof w)));
		json_array_append_new(blocks, roles_block);
	}
	/* handlers */
	{
		_cleanup_free_ char *hp = pb_role_part(path, "handlers", NULL);
		if (hp && handlers) {
			json_t *doc, *hs;
			struct pb_load sub = *l;
			_cleanup_free_ char *hdir = xstrdup(hp);
			*strrchr(hdir, '/') = '\0';
			if (pb_yaml(l->pb, hp, &doc, &sub.src, err) < 0) {
				json_decref(role);
				goto out;
			}
			sub.file = hp;
			sub.dir = hdir;
			sub.role = role;
			r = pb_tasks(&sub, doc, "handlers", &hs, err);
			json_decref(doc);
			if (r < 0) {
				json_decref(role);
				goto out;
			}
			r = -1;
			size_t i;
			json_t *h;
			json_array_foreach(hs, i, h) json_object_set(h, "__role", role);
			json_array_extend(handlers, hs);
			json_decref(hs);
		}
	}
	json_decref(role);
	r = 0;
out:
	json_decref(params);
	json_decref(kw);
	return r;
}

/* A task file loaded for import_tasks / include_tasks. */
static int
pb_task_file(struct pb_load *l, const char *file, json_t **ret, struct dr_error *err)
{
	_cleanup_free_ char *path = pb_file(l, file, "tasks");
	_cleanup_free_ char *dir = xstrdup(path);
	struct pb_load sub = *l;
	json_t *doc;
	int r;

	if (l->depth > PLAYBOOK_MAX_DEPTH)
		return dr_error_set(
		    err, "%s: task files nest deeper than %d", path, PLAYBOOK_MAX_DEPTH);
	*strrchr(dir, '/') = '\0';
	if (pb_yaml(l->pb, path, &doc, &sub.src, err) < 0)
		return -1;
	sub.file = path;
	sub.dir = dir;
	sub.depth = l->depth + 1;
	r = pb_tasks(&sub, doc, "tasks", ret, err);
	json_decref(doc);
	return r;
}

/* One task or block. */
static int
pb_task(struct pb_load *l, const json_t *t, json_t **ret, struct dr_error *err)
{
	char w[1024];
	const char *k, *action = NULL, *action_key = NULL;
	json_t *v, *out, *args = NULL;

	if (!json_is_object(t))
		return dr_error_set(err, "%s: expected a task (a mapping), got %s",
		    pb_where(l, t, NULL, w, sizeof w),
		    json_is_string(t)      ? "a string"
		        : json_is_array(t) ? "a list"
		                           : "a scalar");
	out = json_object();
	json_object_set_new(out, "__where", json_string(pb_where(l, t, NULL, w, sizeof w)));
	json_object_set_new(out, "__dir", json_string(l->dir));
	if (json_object_get(t, "block")) {
		json_object_foreach((json_t *)t, k, v)
		{
			if (!pb_in(pb_block_keys, nitems(pb_block_keys), k)) {
				dr_error_set(err, "%s: '%s' is not a valid keyword for a block",
				    pb_where(l, t, k, w, sizeof w), k);
				goto fail;
			}
			if (strcmp(k, "block") == 0 || strcmp(k, "rescue") == 0 ||
			    strcmp(k, "always") == 0) {
				json_t *list;
				if (!json_is_array(v) && !json_is_null(v)) {
					dr_error_set(err, "%s: %s: expected a list of tasks",
					    pb_where(l, t, k, w, sizeof w), k);
					goto fail;
				}
				if (pb_tasks(l, v, k, &list, err) < 0)
					goto fail;
				json_object_set_new(out, k, list);
				continue;
			}
			if (pb_check_keyword(l, t, k, v, err) < 0)
				goto fail;
			json_object_set(out, k, v);
		}
		if (!json_object_get(out, "rescue"))
			json_object_set_new(out, "rescue", json_array());
		if (!json_object_get(out, "always"))
			json_object_set_new(out, "always", json_array());
		*ret = out;
		return 0;
	}
	json_object_foreach((json_t *)t, k, v)
	{
		if (pb_in(pb_task_keys, nitems(pb_task_keys), k)) {
			if (pb_check_keyword(l, t, k, v, err) < 0)
				goto fail;
			if (strcmp(k, "action") == 0 || strcmp(k, "local_action") == 0) {
				if (action) {
					dr_error_set(err,
					    "%s: conflicting action statements: %s, %s",
					    pb_where(l, t, k, w, sizeof w), action_key, k);
					goto fail;
				}
				action_key = k;
				if (strcmp(k, "local_action") == 0)
					json_object_set_new(
					    out, "delegate_to", json_string("localhost"));
				if (json_is_string(v)) {
					const char *s = json_string_value(v);
					size_t n = strcspn(s, " \t");
					_cleanup_free_ char *mod = xstrndup(s, n);
					const char *ours = playbook_action_name(mod);
					if (!ours) {
						dr_error_set(err,
						    "%s: couldn't resolve module/action '%s'",
						    pb_where(l, t, k, w, sizeof w), mod);
						goto fail;
					}
					action = ours;
					const struct module *m = module_find(ours);
					if (vars_kv_parse(s + n,
					        m && (m->flags & MODULE_FREE_FORM), &args,
					        err) < 0) {
						dr_error_prefix(
						    err, "%s: ", pb_where(l, t, k, w, sizeof w));
						goto fail;
					}
				} else if (json_is_object(v) &&
				    json_is_string(json_object_get(v, "module"))) {
					const char *ours = playbook_action_name(
					    json_string_value(json_object_get(v, "module")));
					if (!ours) {
						dr_error_set(err,
						    "%s: couldn't resolve module/action '%s'",
						    pb_where(l, t, k, w, sizeof w),
						    json_string_value(
						        json_object_get(v, "module")));
						goto fail;
					}
					action = ours;
					args = json_copy(v);
					json_object_del(args, "module");
				} else {
					dr_error_set(err,
					    "%s: %s: expected a module name with arguments",
					    pb_where(l, t, k, w, sizeof w), k);
					goto fail;
				}
				continue;
			}
			json_object_set(out, k, v);
			continue;
		}
		if (str_has_prefix(k, "with_")) {
			if (!pb_in(pb_with, nitems(pb_with), k + 5)) {
				dr_error_set(err,
				    "%s: unknown loop '%s' (expected with_items, with_dict, "
				    "with_fileglob, with_sequence, with_together, "
				    "with_subelements or with_nested)",
				    pb_where(l, t, k, w, sizeof w), k);
				goto fail;
			}
			if (json_object_get(out, "loop") || json_object_get(t, "loop")) {
				dr_error_set(err, "%s: a task has one loop: %s and loop",
				    pb_where(l, t, k, w, sizeof w), k);
				goto fail;
			}
			json_object_set(out, "loop", v);
			json_object_set_new(out, "loop_with", json_string(k + 5));
			continue;
		}
		const char *ours = playbook_action_name(k);
		if (!ours) {
			if (strchr(k, '.'))
				dr_error_set(err, "%s: couldn't resolve module/action '%s'",
				    pb_where(l, t, k, w, sizeof w), k);
			else
				dr_error_set(err,
				    "%s: '%s' is not a valid task keyword or module name",
				    pb_where(l, t, k, w, sizeof w), k);
			goto fail;
		}
		if (action) {
			dr_error_set(err, "%s: conflicting action statements: %s, %s",
			    pb_where(l, t, k, w, sizeof w), action_key, k);
			goto fail;
		}
		action = ours;
		action_key = k;
		const struct module *m = module_find(ours);
		if (json_is_null(v))
			args = json_object();
		else if (json_is_object(v))
			args = json_copy(v);
		else if (json_is_string(v) || json_is_integer(v) || json_is_boolean(v)) {
			const char *s = json_is_string(v) ? json_string_value(v) : NULL;
			_cleanup_free_ char *txt = s ? xstrdup(s) : json_dumps(v, JSON_ENCODE_ANY);
			if (strcmp(ours, "include_tasks") == 0 ||
			    strcmp(ours, "import_tasks") == 0 ||
			    strcmp(ours, "include_vars") == 0 ||
			    strcmp(ours, "import_playbook") == 0 || strcmp(ours, "include") == 0) {
				args = json_pack("{s:s}", "_raw_params", txt);
				if (!strchr(txt, '=') || strstr(txt, "{{")) {
					json_object_set_new(args, "file", json_string(txt));
					json_object_del(args, "_raw_params");
				} else {
					json_decref(args);
					if (vars_kv_parse(txt, false, &args, err) < 0) {
						dr_error_prefix(
						    err, "%s: ", pb_where(l, t, k, w, sizeof w));
						goto fail;
					}
				}
			} else if (strcmp(ours, "meta") == 0 ||
			    (m && (m->flags & MODULE_FREE_FORM))) {
				if (strcmp(ours, "meta") == 0)
					args = json_pack("{s:s}", "_raw_params", txt);
				else if (vars_kv_parse(txt, true, &args, err) < 0) {
					dr_error_prefix(
					    err, "%s: ", pb_where(l, t, k, w, sizeof w));
					goto fail;
				}
			} else if (vars_kv_parse(txt, false, &args, err) < 0) {
				dr_error_prefix(
				    err, "%s: %s: ", pb_where(l, t, k, w, sizeof w), k);
				goto fail;
			}
		} else {
			dr_error_set(err, "%s: %s: expected a mapping of arguments or k=v text",
			    pb_where(l, t, k, w, sizeof w), k);
			goto fail;
		}
	}
	if (!action) {
		dr_error_set(err, "%s: no module/action detected in task (keys: %s)",
		    pb_where(l, t, NULL, w, sizeof w),
		    json_object_size(t) ? json_object_iter_key(json_object_iter((json_t *)t))
		                        : "none");
		goto fail;
	}
	if (json_is_object(json_object_get(t, "args"))) {
		json_t *merged = json_copy(json_object_get(t, "args"));
		json_object_update(merged, args);
		json_decref(args);
		args = merged;
		json_object_del(out, "args");
	}
	json_object_set_new(out, "action", json_string(action));
	json_object_set_new(out, "args", args);
	args = NULL;
	/* import_tasks / import_role: expanded now, into a block carrying the task's keywords. */
	if (strcmp(action, "import_tasks") == 0) {
		const char *file =
		    json_string_value(json_object_get(json_object_get(out, "args"), "file"));
		json_t *tasks;
		if (!file || strstr(file, "{{")) {
			if (!file) {
				dr_error_set(err, "%s: import_tasks needs a file name",
				    pb_where(l, t, NULL, w, sizeof w));
				goto fail;
			}
		}
		if (pb_task_file(l, file, &tasks, err) < 0) {
			dr_error_prefix(
			    err, "%s: import_tasks: ", pb_where(l, t, NULL, w, sizeof w));
			goto fail;
		}
		json_object_set_new(out, "block", tasks);
		json_object_set_new(out, "rescue", json_array());
		json_object_set_new(out, "always", json_array());
		json_object_set_new(out, "__import", json_string(file));
		json_object_del(out, "action");
		json_object_del(out, "args");
	} else if (strcmp(action, "import_role") == 0) {
		json_t *a = json_object_get(out, "args"), *blocks = json_array();
		const char *rn = json_string_value(json_object_get(a, "name"));
		if (!rn) {
			dr_error_set(
			    err, "%s: import_role needs name", pb_where(l, t, NULL, w, sizeof w));
			json_decref(blocks);
			goto fail;
		}
		json_t *entry = json_object_get(a, "vars") ? json_copy(json_object_get(a, "vars"))
		                                           : json_object();
		if (pb_role(l, rn, entry, json_string_value(json_object_get(a, "tasks_from")),
		        blocks, l->handlers, NULL, err) < 0) {
			json_decref(entry);
			json_decref(blocks);
			goto fail;
		}
		json_decref(entry);
		json_object_set_new(out, "block", blocks);
		json_object_set_new(out, "rescue", json_array());
		json_object_set_new(out, "always", json_array());
		json_object_set_new(out, "__import_role", json_string(rn));
		json_object_del(out, "action");
		json_object_del(out, "args");
	} else if (strcmp(action, "include") == 0) {
		dr_error_set(err,
		    "%s: 'include' was removed from Ansible: use include_tasks or "
		    "import_tasks",
		    pb_where(l, t, NULL, w, sizeof w));
		goto fail;
	} else if (strcmp(action, "import_playbook") == 0) {
		dr_error_set(err, "%s: import_playbook is only valid at the playbook level",
		    pb_where(l, t, NULL, w, sizeof w));
		goto fail;
	} else {
		const struct module *m = module_find(action);
		/* Argument names are checked now when no template decides them. */
		if (m && !(m->flags & MODULE_RAW_ARGS)) {
			json_t *a = json_object_get(out, "args"), *checked;
			bool templated = false;
			const char *ak;
			json_t *av;
			json_object_foreach(a, ak, av) if (strstr(ak, "{{")) templated = true;
			if (!templated) {
				json_t *probe = json_object();
				json_object_foreach(a, ak, av)
				    json_object_set_new(probe, ak, json_null());
				struct dr_error e2 = {{0}};
				int rc = module_args_check(m, probe, &checked, &e2);
				json_decref(probe);
				if (rc == 0)
					json_decref(checked);
				else if (strstr(e2.msg, "unsupported parameter")) {
					dr_error_set(err, "%s: %s: %s",
					    pb_where(l, t, action_key, w, sizeof w), action,
					    e2.msg);
					goto fail;
				}
			}
		}
		if (l->role)
			json_object_set(out, "__role", (json_t *)l->role);
	}
	*ret = out;
	return 0;
fail:
	json_decref(args);
	json_decref(out);
	return -1;
}

/* A list of tasks (null is an empty list). */
static int
pb_tasks(
    struct pb_load *l, const json_t *list, const char *what, json_t **ret, struct dr_error *err)
{
	char w[1024];
	json_t *out = json_array(), *t, *n = NULL;
	size_t i;

	if (json_is_null(list)) {
		*ret = out;
		return 0;
	}
	if (!json_is_array(list)) {
		json_decref(out);
		return dr_error_set(err, "%s: %s: expected a list of tasks",
		    pb_where(l, list, NULL, w, sizeof w), what);
	}
	json_array_foreach(list, i, t)
	{
		if (pb_task(l, t, &n, err) < 0) {
			json_decref(out);
			return -1;
		}
		if (strcmp(what, "handlers") == 0 && !json_object_get(n, "block") &&
		    !json_object_get(n, "name") && !json_object_get(n, "listen")) {
			json_decref(n);
			json_decref(out);
			return dr_error_set(err, "%s: a handler needs a name or listen",
			    pb_where(l, t, NULL, w, sizeof w));
		}
		json_array_append_new(out, n);
	}
	*ret = out;
	return 0;
}

/* One play. */
static int
pb_play(struct pb_load *outer, const json_t *p, json_t *plays, struct dr_error *err)
{
	char w[1024];
	const char *k;
	json_t *v, *play, *handlers = json_array(), *seen = json_object();
	struct pb_load pl = *outer, *l = &pl;

	pl.handlers = handlers;

	if (!json_is_object(p)) {
		json_decref(handlers);
		json_decref(seen);
		return dr_error_set(err, "%s: expected a play (a mapping with hosts and tasks)",
		    pb_where(l, p, NULL, w, sizeof w));
	}
	if (json_object_get(p, "import_playbook")) {
		json_t *f = json_object_get(p, "import_playbook");
		json_t *doc;
		struct pb_load sub = *l;
		json_decref(handlers);
		json_decref(seen);
		json_object_foreach((json_t *)p, k, v)
		{
			if (strcmp(k, "import_playbook") != 0 && strcmp(k, "vars") != 0 &&
			    strcmp(k, "when") != 0 && strcmp(k, "tags") != 0 &&
			    strcmp(k, "name") != 0)
				return dr_error_set(err,
				    "%s: '%s' is not valid with import_playbook",
				    pb_where(l, p, k, w, sizeof w), k);
		}
		if (!json_is_string(f))
			return dr_error_set(err, "%s: import_playbook: expected a file name",
			    pb_where(l, p, "import_playbook", w, sizeof w));
		if (l->depth > PLAYBOOK_MAX_DEPTH)
			return dr_error_set(err, "%s: playbooks import each other too deeply",
			    pb_where(l, p, NULL, w, sizeof w));
		_cleanup_free_ char *path = json_string_value(f)[0] == '/'
		    ? xstrdup(json_string_value(f))
		    : xasprintf("%s/%s", l->dir, json_string_value(f));
		_cleanup_free_ char *dir = xstrdup(path);
		*strrchr(dir, '/') = '\0';
		if (pb_yaml(l->pb, path, &doc, &sub.src, err) < 0)
			return dr_error_prefix(
			    err, "%s: import_playbook: ", pb_where(l, p, NULL, w, sizeof w));
		sub.file = path;
		sub.dir = dir;
		sub.depth = l->depth + 1;
		if (!json_is_array(doc)) {
			json_decref(doc);
			return dr_error_set(err, "%s: a playbook must be a list of plays", path);
		}
		size_t i, before = json_array_size(plays);
		json_t *pp;
		json_array_foreach(doc, i, pp)
		{
			if (pb_play(&sub, pp, plays, err) < 0) {
				json_decref(doc);
				return -1;
			}
		}
		json_decref(doc);
		for (i = before; i < json_array_size(plays); i++) {
			json_t *np = json_array_get(plays, i);
			if (json_is_object(json_object_get(p, "vars"))) {
				json_t *pv = json_object_get(np, "vars");
				if (!json_is_object(pv)) {
					pv = json_object();
					json_object_set_new(np, "vars", pv);
				}
				json_t *merged = json_copy(json_object_get(p, "vars"));
				json_object_update(merged, pv);
				json_object_set_new(np, "vars", merged);
			}
			if (json_object_get(p, "when"))
				json_object_set(np, "__import_when", json_object_get(p, "when"));
		}
		return 0;
	}
	play = json_object();
	json_object_set_new(play, "__where", json_string(pb_where(l, p, NULL, w, sizeof w)));
	json_object_set_new(play, "__dir", json_string(l->dir));
	json_object_foreach((json_t *)p, k, v)
	{
		if (!pb_in(pb_play_keys, nitems(pb_play_keys), k)) {
			dr_error_set(err, "%s: '%s' is not a valid attribute for a play",
			    pb_where(l, p, k, w, sizeof w), k);
			goto fail;
		}
		if (strcmp(k, "vars_prompt") == 0 && !json_is_null(v) && json_array_size(v) > 0) {
			dr_error_set(err,
			    "%s: vars_prompt is not supported: pass the values with -e",
			    pb_where(l, p, k, w, sizeof w));
			goto fail;
		}
		if (strcmp(k, "pre_tasks") == 0 || strcmp(k, "tasks") == 0 ||
		    strcmp(k, "post_tasks") == 0 || strcmp(k, "handlers") == 0) {
			json_t *list;
			if (pb_tasks(l, v, k, &list, err) < 0)
				goto fail;
			if (strcmp(k, "handlers") == 0)
				json_object_set(play, "__own_handlers", list);
			else
				json_object_set(play, k, list);
			json_decref(list);
			continue;
		}
		if (strcmp(k, "roles") == 0)
			continue;
		if (strcmp(k, "hosts") == 0 && !json_is_string(v) && !json_is_array(v)) {
			dr_error_set(err, "%s: hosts: expected a pattern or a list of patterns",
			    pb_where(l, p, k, w, sizeof w));
			goto fail;
		}
		if (strcmp(k, "vars_files") == 0 && !json_is_string(v) && !json_is_array(v) &&
		    !json_is_null(v)) {
			dr_error_set(err, "%s: vars_files: expected a list of files",
			    pb_where(l, p, k, w, sizeof w));
			goto fail;
		}
		if (strcmp(k, "serial") == 0 && !json_is_integer(v) && !json_is_string(v) &&
		    !json_is_array(v)) {
			dr_error_set(err, "%s: serial: expected a number, a percentage or a list",
			    pb_where(l, p, k, w, sizeof w));
			goto fail;
		}
		if (strcmp(k, "strategy") == 0 && json_is_string(v) &&
		    strcmp(json_string_value(v), "linear") != 0 &&
		    strcmp(json_string_value(v), "free") != 0 &&
		    !strstr(json_string_value(v), "{{")) {
			dr_error_set(err, "%s: strategy: '%s' is not supported (linear, free)",
			    pb_where(l, p, k, w, sizeof w), json_string_value(v));
			goto fail;
		}
		if (pb_check_keyword(l, p, k, v, err) < 0)
			goto fail;
		json_object_set(play, k, v);
	}
	if (!json_object_get(play, "hosts")) {
		dr_error_set(err, "%s: the field 'hosts' is required but was not set",
		    pb_where(l, p, NULL, w, sizeof w));
		goto fail;
	}
	/* roles: blocks run between pre_tasks and tasks */
	{
		json_t *roles = json_object_get(p, "roles"), *blocks = json_array(), *r;
		size_t i;
		if (roles && !json_is_array(roles) && !json_is_null(roles)) {
			json_decref(blocks);
			dr_error_set(err, "%s: roles: expected a list",
			    pb_where(l, p, "roles", w, sizeof w));
			goto fail;
		}
		json_array_foreach(roles, i, r)
		{
			const char *rn = json_is_string(r) ? json_string_value(r)
			    : json_is_object(r) ? json_string_value(json_object_get(r, "role"))
			                        : NULL;
			if (!rn && json_is_object(r))
				rn = json_string_value(json_object_get(r, "name"));
			if (!rn) {
				json_decref(blocks);
				dr_error_set(err, "%s: a role entry needs a name (role: NAME)",
				    pb_where(l, r, NULL, w, sizeof w));
				goto fail;
			}
			if (pb_role(l, rn, json_is_object(r) ? r : NULL, NULL, blocks, handlers,
			        seen, err) < 0) {
				json_decref(blocks);
				goto fail;
			}
		}
		json_object_set_new(play, "roles", blocks);
	}
	/* Roles' handlers first, then the play's own, as Ansible orders them. */
	if (json_object_get(play, "__own_handlers")) {
		json_array_extend(handlers, json_object_get(play, "__own_handlers"));
		json_object_del(play, "__own_handlers");
	}
	json_object_set_new(play, "handlers", handlers);
	json_decref(seen);
	json_array_append_new(plays, play);
	return 0;
fail:
	json_decref(handlers);
	json_decref(seen);
	json_decref(play);
	return -1;
}

/* Load a playbook. */
int
playbook_load(
    const char *path, const struct playbook_opts *o, struct playbook **ret, struct dr_error *err)
{
	struct playbook *pb = xcalloc(1, sizeof *pb);
	struct pb_load l = {.pb = pb};
	json_t *doc, *p;
	size_t i;
	char *real = realpath(path, NULL);

	if (!real) {
		free(pb);
		if (o && o->not_found)
			*o->not_found = true;
		return dr_error_errno(err, "%s", path);
	}
	pthread_mutex_init(&pb->lock, NULL);
	pb->path = real;
	pb->dir = xstrdup(real);
	*strrchr(pb->dir, '/') = '\0';
	if (!*pb->dir) {
		free(pb->dir);
		pb->dir = xstrdup("/");
	}
	pb->roles_path = o && o->roles_path ? xstrdup(o->roles_path) : NULL;
	pb->plays = json_array();
	if (pb_yaml(pb, path, &doc, &l.src, err) < 0) {
		if (o && o->not_found)
			*o->not_found = pb->not_found;
		playbook_free(pb);
		return -1;
	}
	l.file = path;
	l.dir = pb->dir;
	if (!json_is_array(doc)) {
		char w[1024];
		dr_error_set(err, "%s: a playbook must be a list of plays",
		    yaml_src_where(l.src, doc, w, sizeof w));
		json_decref(doc);
		playbook_free(pb);
		return -1;
	}
	json_array_foreach(doc, i, p)
	{
		if (pb_play(&l, p, pb->plays, err) < 0) {
			if (o && o->not_found)
				*o->not_found = pb->not_found;
			json_decref(doc);
			playbook_free(pb);
			return -1;
		}
	}
	json_decref(doc);
	*ret = pb;
	return 0;
}

void
playbook_free(struct playbook *pb)
{
	if (!pb)
		return;
	for (size_t i = 0; i < pb->nsrcs; i++)
		yaml_src_free(pb->srcs[i]);
	free(pb->srcs);
	json_decref(pb->plays);
	pthread_mutex_destroy(&pb->lock);
	free(pb->path);
	free(pb->dir);
	free(pb->roles_path);
	free(pb);
}

const json_t *
playbook_plays(const struct playbook *pb)
{
	return pb->plays;
}

const char *
playbook_dir(const struct playbook *pb)
{
	return pb->dir;
}

/* include_tasks at run time. */
int
playbook_tasks_load(
    struct playbook *pb, const char *file, const json_t *role, json_t **ret, struct dr_error *err)
{
	struct pb_load l = {.pb = pb, .dir = pb->dir, .role = role};
	int r;

	pthread_mutex_lock(&pb->lock);
	r = pb_task_file(&l, file, ret, err);
	pthread_mutex_unlock(&pb->lock);
	return r;
}

/* include_role at run time. */
int
playbook_role_load(struct playbook *pb, const char *name, const json_t *params,
    const char *tasks_from, json_t **ret_block, json_t **ret_handlers, struct dr_error *err)
{
	struct pb_load l = {.pb = pb, .dir = pb->dir};
	json_t *blocks = json_array(), *handlers = json_array();
	int r;

	pthread_mutex_lock(&pb->lock);
	r = pb_role(&l, name, params, tasks_from, blocks, handlers, NULL, err);
	pthread_mutex_unlock(&pb->lock);
	if (r < 0) {
		json_decref(blocks);
		json_decref(handlers);
		return -1;
	}
	*ret_block = json_pack("{s:o,s:[],s:[]}", "block", blocks, "rescue", "always");
	*ret_handlers = handlers;
	return 0;
}
