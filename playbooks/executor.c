/*
 * executor.c - run plays: hosts, serial batches, the linear and free strategies, tasks with
 * their loops and conditions, blocks, handlers, includes, roles, and the recap.
 *
 * Every host gets one worker thread for the whole run, which opens the host's connection on
 * first use and keeps it: SSH sessions stay with one thread. In the linear strategy the main
 * thread walks the task tree and hands each task to the workers of the hosts still in the
 * play, waiting for all before the next; in the free strategy each worker walks the tree
 * for its own host.
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "playbooks/playbooks.h"

#define PX_MAX_DEPTH 64 /* include and block nesting at run time */
#define PX_MAX_LOOP 100000 /* items one loop may have */
#define PX_MAX_RETRIES 10000

struct px_run;

/* A connection to a host some task was delegated to. */
struct px_delegate {
	char *name;
	struct conn *conn;
};

/* One host of the run: its variables, connection and worker thread. */
struct px_host {
	char *name;
	struct px_run *run;
	json_t *inv_vars; /* inventory variables */
	json_t *facts; /* ansible_facts */
	json_t *host_vars; /* set_fact, include_vars, register */
	json_t *notified; /* handler name -> true */
	struct conn *conn;
	bool conn_tried;
	struct px_delegate *delegates;
	size_t ndelegates;
	bool failed, unreachable, ended;
	bool failed_ever;
	json_t *failed_task; /* for rescue: ansible_failed_task / _result */
	json_t *failed_result;
	/* what the last task did here (written by the worker, read by the walker) */
	int last_st;
	json_t *last_result;
	json_t *last_includes; /* include_tasks/include_role: [{"args", "vars"}] */
	int ok, changed, nfailed, skipped, rescued, ignored, nunreachable;
	/* the worker */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void (*job)(struct px_host *h, void *arg);
	void *job_arg;
	bool busy, quit;
};

/* What a task inherits from the blocks, roles and includes around it. */
struct px_chain {
	const struct px_chain *up;
	const json_t *obj; /* the block or include task (keywords, vars) */
	const json_t *role; /* set when this link enters a role */
	const json_t *params; /* include / role parameters */
	const json_t *item_vars; /* loop variables of an include */
	char section; /* for a block: 'b'lock, 'r'escue or 'a'lways */
};

/* The play being run. */
struct px_play {
	const json_t *play;
	json_t *hosts; /* all hosts of the play (names) */
	json_t *batch; /* hosts of the current serial batch */
	json_t *vars; /* play vars + vars_files (raw) */
	json_t *handlers; /* handler tasks (run-time include_role adds) */
	const char *strategy;
	bool force_handlers, any_errors_fatal;
	double max_fail_pct; /* < 0: unset */
	bool end_play;
	bool uses_hostvars;
	bool started_task; /* --start-at-task found */
};

struct px_run {
	struct playbook *pb;
	struct inventory *inv;
	const struct play_opts *o;
	struct px_host **hosts; /* every host that took part, by name order of first use */
	size_t nhosts;
	pthread_mutex_t lock; /* events, stats, host table */
	sem_t forks;
	json_t *groups;
	json_t *tags, *skip_tags;
	bool start_found;
	struct px_play *play;
	bool fatal_error; /* an error in input found at run time (undefined variable in hosts) */
	struct dr_error err;
};

static int px_list(struct px_run *r, struct px_play *pp, const json_t *tasks, json_t *hosts,
    const struct px_chain *ch, int depth);

/* --- events ------------------------------------------------------------------------ */

/* Send an event (steals ev). */
static void
px_event(struct px_run *r, json_t *ev)
{
	pthread_mutex_lock(&r->lock);
	if (r->o->event)
		r->o->event(r->o->event_ctx, ev);
	pthread_mutex_unlock(&r->lock);
	json_decref(ev);
}

static void px_warn(struct px_run *r, const char *fmt, ...) DR_PRINTF(2, 3);

static void
px_warn(struct px_run *r, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	px_event(r, json_pack("{s:s,s:s}", "event", "warning", "msg", msg));
	free(msg);
}

/* --- hosts and workers --------------------------------------------------------------- */

/* The worker: run jobs until told to quit. */
static void *
px_worker(void *arg)
{
	struct px_host *h = arg;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (!h->job && !h->quit)
			pthread_cond_wait(&h->cond, &h->lock);
		if (h->quit && !h->job)
			break;
		void (*job)(struct px_host *, void *) = h->job;
		void *ja = h->job_arg;
		pthread_mutex_unlock(&h->lock);
		sem_wait(&h->run->forks);
		job(h, ja);
		sem_post(&h->run->forks);
		pthread_mutex_lock(&h->lock);
		h->job = NULL;
		h->busy = false;
		pthread_cond_broadcast(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
	/* The connection belongs to this thread: close it here. */
	conn_close(h->conn);
	h->conn = NULL;
	for (size_t i = 0; i < h->ndelegates; i++)
		conn_close(h->delegates[i].conn);
	return NULL;
}

/* The host called name (created on first use). */
static struct px_host *
px_host_get(struct px_run *r, const char *name)
{
	struct px_host *h;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->nhosts; i++)
		if (strcmp(r->hosts[i]->name, name) == 0) {
			h = r->hosts[i];
			pthread_mutex_unlock(&r->lock);
			return h;
		}
	h = xcalloc(1, sizeof *h);
	h->name = xstrdup(name);
	h->run = r;
	if (json_object_get(r->inv->hosts, name))
		h->inv_vars = inventory_host_vars(r->inv, name);
	else {
		/* the implicit localhost */
		h->inv_vars = inventory_host_vars(r->inv, name);
		json_object_set_new(h->inv_vars, "ansible_connection", json_string("local"));
	}
	h->facts = json_object();
	h->host_vars = json_object();
	h->notified = json_object();
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	r->hosts = xreallocarray(r->hosts, r->nhosts + 1, sizeof *r->hosts);
	r->hosts[r->nhosts++] = h;
	pthread_mutex_unlock(&r->lock);
	return h;
}

static struct px_host *
px_host_find(struct px_run *r, const char *name)
{
	for (size_t i = 0; i < r->nhosts; i++)
		if (strcmp(r->hosts[i]->name, name) == 0)
			return r->hosts[i];
	return NULL;
}

/* Give a job to a host's worker (starting it on first use). */
static void
px_host_post(struct px_host *h, void (*job)(struct px_host *, void *), void *arg)
{
	pthread_mutex_lock(&h->lock);
	if (!h->started) {
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setstacksize(&at, 1u << 20);
		if (pthread_create(&h->thread, &at, px_worker, h) != 0)
			fatal("pthread_create");
		pthread_attr_destroy(&at);
		h->started = true;
	}
	while (h->busy)
		pthread_cond_wait(&h->cond, &h->lock);
	h->job = job;
	h->job_arg = arg;
	h->busy = true;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

/* Wait for a host's job to finish. */
static void
px_host_wait(struct px_host *h)
{
	pthread_mutex_lock(&h->lock);
	while (h->busy)
		pthread_cond_wait(&h->cond, &h->lock);
	pthread_mutex_unlock(&h->lock);
}

/* Stop every worker (closing its connections) and free the hosts. */
static void
px_hosts_free(struct px_run *r)
{
	for (size_t i = 0; i < r->nhosts; i++) {
		struct px_host *h = r->hosts[i];
		if (h->started) {
			pthread_mutex_lock(&h->lock);
			h->quit = true;
			pthread_cond_broadcast(&h->cond);
			pthread_mutex_unlock(&h->lock);
			pthread_join(h->thread, NULL);
		} else {
			conn_close(h->conn);
			for (size_t j = 0; j < h->ndelegates; j++)
				conn_close(h->delegates[j].conn);
		}
		for (size_t j = 0; j < h->ndelegates; j++)
			free(h->delegates[j].name);
		free(h->delegates);
		json_decref(h->inv_vars);
		json_decref(h->facts);
		json_decref(h->host_vars);
		json_decref(h->notified);
		json_decref(h->failed_task);
		json_decref(h->failed_result);
		json_decref(h->last_result);
		json_decref(h->last_includes);
		pthread_mutex_destroy(&h->lock);
		pthread_cond_destroy(&h->cond);
		free(h->name);
		free(h);
	}
	free(r->hosts);
	r->hosts = NULL;
	r->nhosts = 0;
}

/* Hosts of a list still running (not failed, unreachable or ended). */
static json_t *
px_active(struct px_run *r, const json_t *hosts)
{
	json_t *out = json_array(), *v;
	size_t i;

	json_array_foreach(hosts, i, v)
	{
		struct px_host *h = px_host_find(r, json_string_value(v));
		/* a host not met yet (a later serial batch) has not failed */
		if (!h || (!h->failed && !h->unreachable && !h->ended))
			json_array_append(out, v);
	}
	return out;
}

/* --- keywords through the chain ------------------------------------------------------ */

/* The innermost value of a keyword: task, then blocks outwards, then the play. */
static const json_t *
px_kw(const struct px_play *pp, const struct px_chain *ch, const json_t *task, const char *k)
{
	const json_t *v;

	if (task && (v = json_object_get(task, k)) != NULL)
		return v;
	for (; ch; ch = ch->up)
		if (ch->obj && (v = json_object_get(ch->obj, k)) != NULL)
			return v;
	return pp ? json_object_get(pp->play, k) : NULL;
}

/*
 * The when of every block around a task, outermost first (Ansible adds them to the
 * task's own; they hold in the block's rescue and always sections too). *ret_ok is false
 * at the first that is; *ret_cond is that condition (for false_condition).
 */
static int
px_chain_when(const json_t *vars, const struct px_chain *ch, bool *ret_ok,
    const json_t **ret_cond, struct dr_error *err)
{
	const json_t *w;

	*ret_ok = true;
	for (; ch; ch = ch->up) {
		if (!ch->obj || !json_object_get(ch->obj, "block") ||
		    (w = json_object_get(ch->obj, "when")) == NULL)
			continue;
		if (vars_cond(vars, w, ret_ok, err) < 0)
			return -1;
		if (!*ret_ok) {
			*ret_cond = w;
			return 0;
		}
	}
	return 0;
}

/* The role the task runs in (innermost), or NULL. */
static const json_t *
px_role(const struct px_chain *ch, const json_t *task)
{
	const json_t *r = task ? json_object_get(task, "__role") : NULL;

	if (r)
		return r;
	for (; ch; ch = ch->up) {
		if (ch->role)
			return ch->role;
		if (ch->obj && (r = json_object_get(ch->obj, "__role")) != NULL)
			return r;
	}
	return NULL;
}

/* Tags of a task with those it inherits. */
static json_t *
px_tags(const struct px_play *pp, const struct px_chain *ch, const json_t *task)
{
	json_t *out = json_array();
	const json_t *objs[PX_MAX_DEPTH + 2];
	size_t n = 0;

	if (task)
		objs[n++] = task;
	for (; ch && n < PX_MAX_DEPTH; ch = ch->up)
		if (ch->obj)
			objs[n++] = ch->obj;
	if (pp)
		objs[n++] = pp->play;
	for (size_t i = 0; i < n; i++) {
		const json_t *t = json_object_get(objs[i], "tags");
		size_t j;
		json_t *x;
		if (json_is_string(t)) {
			_cleanup_free_ char *s = xstrdup(json_string_value(t));
			char *save = NULL;
			for (char *p = strtok_r(s, ",", &save); p; p = strtok_r(NULL, ",", &save))
				json_array_append_new(out, json_string(str_trim(p)));
		} else if (json_is_integer(t)) {
			char *s = xasprintf("%lld", (long long)json_integer_value(t));
			json_array_append_new(out, json_string(s));
			free(s);
		} else
			json_array_foreach(t, j, x)
			{
				if (json_is_string(x))
					json_array_append(out, x);
				else if (json_is_integer(x)) {
					char *s =
					    xasprintf("%lld", (long long)json_integer_value(x));
					json_array_append_new(out, json_string(s));
					free(s);
				}
			}
	}
	return out;
}

static bool
px_has(const json_t *a, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(
	    a, i, v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return true;
	return false;
}

/* Whether --tags/--skip-tags select a task with these tags (Ansible's evaluate_tags). */
static bool
px_tags_match(const struct px_run *r, const json_t *tags)
{
	size_t i;
	json_t *t;
	bool run = false;

	if (r->tags) {
		if (px_has(tags, "always") && !px_has(r->skip_tags, "always"))
			run = true;
		json_array_foreach(tags, i, t) if (px_has(r->tags, json_string_value(t))) run =
		    true;
		if (px_has(r->tags, "all") && !px_has(tags, "never"))
			run = true;
		if (px_has(r->tags, "tagged") && json_array_size(tags) && !px_has(tags, "never"))
			run = true;
		if (px_has(r->tags, "untagged") && json_array_size(tags) == 0)
			run = true;
	} else
		run = !px_has(tags, "never");
	if (run && r->skip_tags) {
		json_array_foreach(tags, i, t) if (px_has(r->skip_tags, json_string_value(t)) &&
		    !(strcmp(json_string_value(t), "always") == 0 && r->tags &&
		        px_has(r->tags, "always"))) run = false;
		if (px_has(r->skip_tags, "all") && !px_has(tags, "always"))
			run = false;
		if (px_has(r->skip_tags, "tagged") && json_array_size(tags))
			run = false;
		if (px_has(r->skip_tags, "untagged") && json_array_size(tags) == 0)
			run = false;
	}
	return run;
}

/* --- variables ------------------------------------------------------------------------ */

/* Copy src's keys over dst (NULL and non-objects ignored). */
static void
px_merge(json_t *dst, const json_t *src)
{
	if (json_is_object(src))
		json_object_update(dst, (json_t *)src);
}

/* hostvars: every host's inventory vars, facts and set facts. */
static json_t *
px_hostvars(struct px_run *r)
{
	json_t *hv = json_object();
	const char *name;
	json_t *v;

	json_object_foreach(r->inv->hosts, name, v)
	{
		struct px_host *h = px_host_find(r, name);
		json_t *one = h ? json_copy(h->inv_vars) : inventory_host_vars(r->inv, name);
		if (h) {
			const char *k;
			json_t *f;
			json_object_foreach(h->facts, k, f)
			{
				_cleanup_free_ char *fk = xasprintf("ansible_%s", k);
				json_object_set(one, fk, f);
			}
			json_object_set(one, "ansible_facts", h->facts);
			px_merge(one, h->host_vars);
		}
		px_merge(one, r->o->extra_vars);
		json_object_set_new(hv, name, one);
	}
	return hv;
}

/*
 * The variables a task sees on a host, in Ansible's precedence order: role defaults,
 * inventory, facts, play vars/vars_files, role vars, block vars, task vars, set_fact/
 * register/include_vars, role and include params, extra vars; then magic variables.
 */
static json_t *
px_vars(struct px_run *r, struct px_play *pp, const struct px_chain *ch, const json_t *task,
    struct px_host *h)
{
	json_t *v = json_object();
	const struct px_chain *links[PX_MAX_DEPTH + 1];
	size_t n = 0;
	const json_t *role = px_role(ch, task);
	const char *k;
	json_t *x;

	for (const struct px_chain *c = ch; c && n < PX_MAX_DEPTH; c = c->up)
		links[n++] = c;
	/* role defaults, outer roles first */
	for (size_t i = n; i-- > 0;) {
		const json_t *rl = links[i]->role ? links[i]->role
		    : links[i]->obj               ? json_object_get(links[i]->obj, "__role")
		                                  : NULL;
		if (rl)
			px_merge(v, json_object_get(rl, "defaults"));
	}
	if (role)
		px_merge(v, json_object_get(role, "defaults"));
	px_merge(v, h->inv_vars);
	json_object_foreach(h->facts, k, x)
	{
		_cleanup_free_ char *fk = xasprintf("ansible_%s", k);
		json_object_set(v, fk, x);
	}
	json_object_set(v, "ansible_facts", h->facts);
	if (pp)
		px_merge(v, pp->vars);
	for (size_t i = n; i-- > 0;) {
		const json_t *rl = links[i]->role ? links[i]->role
		    : links[i]->obj               ? json_object_get(links[i]->obj, "__role")
		                                  : NULL;
		if (rl)
			px_merge(v, json_object_get(rl, "vars"));
	}
	if (role)
		px_merge(v, json_object_get(role, "vars"));
	for (size_t i = n; i-- > 0;)
		if (links[i]->obj && !json_object_get(links[i]->obj, "action"))
			px_merge(v, json_object_get(links[i]->obj, "vars"));
	if (task)
		px_merge(v, json_object_get(task, "vars"));
	px_merge(v, h->host_vars);
	for (size_t i = n; i-- > 0;) {
		const json_t *rl = links[i]->role ? links[i]->role
		    : links[i]->obj               ? json_object_get(links[i]->obj, "__role")
		                                  : NULL;
		if (rl)
			px_merge(v, json_object_get(rl, "params"));
		px_merge(v, links[i]->params);
		if (links[i]->obj && json_object_get(links[i]->obj, "action"))
			px_merge(v, json_object_get(links[i]->obj, "vars"));
		px_merge(v, links[i]->item_vars);
	}
	if (role)
		px_merge(v, json_object_get(role, "params"));
	px_merge(v, r->o->extra_vars);
	/* magic variables */
	json_object_set(v, "groups", r->groups);
	if (pp) {
		json_t *active = px_active(r, pp->hosts);
		json_object_set(v, "ansible_play_hosts_all", pp->hosts);
		json_object_set(v, "ansible_play_hosts", active);
		json_object_set_new(v, "play_hosts", active);
		json_object_set_new(v, "ansible_play_batch", px_active(r, pp->batch));
		json_object_set(v, "ansible_play_name",
		    json_object_get(pp->play, "name") ? json_object_get(pp->play, "name")
		                                      : json_object_get(pp->play, "hosts"));
	}
	json_object_set_new(v, "inventory_hostname", json_string(h->name));
	json_object_set_new(v, "omit", json_string(VARS_OMIT));
	json_object_set_new(v, "ansible_check_mode", json_boolean(r->o->check));
	json_object_set_new(v, "ansible_diff_mode", json_boolean(r->o->diff));
	json_object_set_new(v, "ansible_verbosity", json_integer(r->o->verbosity));
	json_object_set_new(v, "playbook_dir", json_string(playbook_dir(r->pb)));
	json_object_set_new(v, "ansible_version",
	    json_pack("{s:s,s:s,s:i,s:i,s:i}", "string", "2.14.0", "full", "2.14.0", "major", 2,
	        "minor", 14, "revision", 0));
	json_object_set_new(
	    v, "ansible_run_tags", r->tags ? json_copy(r->tags) : json_pack("[s]", "all"));
	json_object_set_new(
	    v, "ansible_skip_tags", r->skip_tags ? json_copy(r->skip_tags) : json_array());
	if (role) {
		json_object_set(v, "role_path", json_object_get(role, "path"));
		json_object_set(v, "role_name", json_object_get(role, "name"));
		json_object_set(v, "ansible_role_name", json_object_get(role, "name"));
	}
	if (h->failed_task) {
		json_object_set(v, "ansible_failed_task", h->failed_task);
		json_object_set(v, "ansible_failed_result", h->failed_result);
	}
	if (pp && pp->uses_hostvars)
		json_object_set_new(v, "hostvars", px_hostvars(r));
	else if (task) {
		char *dump = json_dumps(task, JSON_COMPACT);
		if (dump && strstr(dump, "hostvars"))
			json_object_set_new(v, "hostvars", px_hostvars(r));
		free(dump);
	}
	return v;
}

/* A templated string keyword, or NULL (caller frees). */
static char *
px_kw_str(const json_t *vars, const json_t *kw, struct dr_error *err, bool *failed)
{
	char *s;

	if (!kw || json_is_null(kw))
		return NULL;
	if (json_is_string(kw)) {
		if (vars_template_str(vars, json_string_value(kw), &s, err) < 0) {
			*failed = true;
			return NULL;
		}
		return s;
	}
	if (json_is_integer(kw))
		return xasprintf("%lld", (long long)json_integer_value(kw));
	return NULL;
}

/* A templated boolean keyword (default def). */
static bool
px_kw_bool(const json_t *vars, const json_t *kw, bool def)
{
	bool b;

	if (!kw || json_is_null(kw))
		return def;
	if (json_is_boolean(kw))
		return json_is_true(kw);
	if (vars_cond(vars, kw, &b, NULL) < 0)
		return def;
	return b;
}

/* A templated integer keyword (default def). */
static long long
px_kw_int(const json_t *vars, const json_t *kw, long long def)
{
	long long n;

	if (!kw || json_is_null(kw))
		return def;
	if (json_is_integer(kw))
		return json_integer_value(kw);
	if (json_is_string(kw)) {
		_cleanup_free_ char *s = NULL;
		if (vars_template_str(vars, json_string_value(kw), &s, NULL) == 0 &&
		    str_to_ll(str_trim(s), LLONG_MIN, LLONG_MAX, &n) == 0)
			return n;
	}
	return def;
}

/* --- connections ---------------------------------------------------------------------- */

/* Connection options for a host from its variables. */
static int
px_conn_open(struct px_run *r, const char *name, const json_t *vars, const struct px_play *pp,
    const struct px_chain *ch, const json_t *task, struct conn **ret, struct dr_error *err)
{
	bool f = false;
	_cleanup_free_ char *addr = NULL, *user = NULL, *pw = NULL, *key = NULL, *type = NULL;
	_cleanup_free_ char *port = NULL;
	struct conn_opts o = {.host = name};
	const json_t *x;

	addr = px_kw_str(vars, json_object_get(vars, "ansible_host"), err, &f);
	if (!addr)
		addr = px_kw_str(vars, json_object_get(vars, "ansible_ssh_host"), err, &f);
	user = px_kw_str(vars, json_object_get(vars, "ansible_user"), err, &f);
	if (!user)
		user = px_kw_str(vars, json_object_get(vars, "ansible_ssh_user"), err, &f);
	if (!user && (x = px_kw(pp, ch, task, "remote_user")) != NULL)
		user = px_kw_str(vars, x, err, &f);
	if (!user && r->o->user)
		user = xstrdup(r->o->user);
	pw = px_kw_str(vars, json_object_get(vars, "ansible_password"), err, &f);
	if (!pw)
		pw = px_kw_str(vars, json_object_get(vars, "ansible_ssh_pass"), err, &f);
	key = px_kw_str(vars, json_object_get(vars, "ansible_ssh_private_key_file"), err, &f);
	if (!key)
		key = px_kw_str(vars, json_object_get(vars, "ansible_private_key_file"), err, &f);
	type = px_kw_str(vars, json_object_get(vars, "ansible_connection"), err, &f);
	if (!type && (x = px_kw(pp, ch, task, "connection")) != NULL)
		type = px_kw_str(vars, x, err, &f);
	if (!type)
		type = xstrdup(r->o->connection ? r->o->connection : "ssh");
	port = px_kw_str(vars, json_object_get(vars, "ansible_port"), err, &f);
	if (!port)
		port = px_kw_str(vars, json_object_get(vars, "ansible_ssh_port"), err, &f);
	if (!port && (x = px_kw(pp, ch, task, "port")) != NULL)
		port = px_kw_str(vars, x, err, &f);
	if (f)
		return -1;
	if (strcmp(type, "paramiko") == 0 || strcmp(type, "smart") == 0)
		strcpy(type, "ssh");
	o.address = addr ? addr : name;
	o.user = user;
	o.password = pw;
	o.private_key_file = key;
	o.accept_new_host_key = r->o->accept_new_host_key;
	if (port) {
		long long p;
		if (str_to_ll(port, 1, 65535, &p) < 0)
			return dr_error_set(
			    err, "host %s: ansible_port '%s' is not a port number", name, port);
		o.port = (int)p;
	}
	o.known_hosts_file =
	    json_string_value(json_object_get(vars, "ansible_ssh_known_hosts_file"));
	o.host_key = json_string_value(json_object_get(vars, "drover_host_key"));
	return conn_open(type, &o, ret, err);
}

/* The connection a task uses on h (delegate_to: another host's), opened on first use. */
static int
px_conn(struct px_run *r, struct px_host *h, const char *delegate, const json_t *vars,
    const struct px_play *pp, const struct px_chain *ch, const json_t *task, struct conn **ret,
    struct dr_error *err)
{
	if (!delegate || strcmp(delegate, h->name) == 0) {
		if (!h->conn) {
			if (h->conn_tried)
				return dr_error_set(err, "host %s: not connected", h->name);
			h->conn_tried = true;
			if (px_conn_open(r, h->name, vars, pp, ch, task, &h->conn, err) < 0)
				return -1;
		}
		*ret = h->conn;
		return 0;
	}
	for (size_t i = 0; i < h->ndelegates; i++)
		if (strcmp(h->delegates[i].name, delegate) == 0) {
			*ret = h->delegates[i].conn;
			return 0;
		}
	/* The delegate's own connection variables (inventory), or local for localhost. */
	json_t *dv;
	if (json_object_get(r->inv->hosts, delegate))
		dv = inventory_host_vars(r->inv, delegate);
	else {
		dv = json_object();
		if (strcmp(delegate, "localhost") == 0 || strcmp(delegate, "127.0.0.1") == 0)
			json_object_set_new(dv, "ansible_connection", json_string("local"));
	}
	px_merge(dv, r->o->extra_vars);
	struct conn *c;
	int rc = px_conn_open(r, delegate, dv, pp, ch, NULL, &c, err);
	json_decref(dv);
	if (rc < 0)
		return -1;
	h->delegates = xreallocarray(h->delegates, h->ndelegates + 1, sizeof *h->delegates);
	h->delegates[h->ndelegates++] = (struct px_delegate){xstrdup(delegate), c};
	*ret = c;
	return 0;
}

/* --- one action on one host ----------------------------------------------------------- */

/* What running an action produced on a host. */
enum px_status { PX_OK, PX_CHANGED, PX_FAILED, PX_SKIPPED, PX_UNREACHABLE };

/* Become settings from keywords and connection variables (variables win). */
static void
px_become(struct px_run *r, const struct px_play *pp, const struct px_chain *ch,
    const json_t *task, const json_t *vars, struct conn_become *b, char **owned)
{
	bool f = false;
	const json_t *x;

	b->enabled = px_kw_bool(vars, px_kw(pp, ch, task, "become"), false);
	if ((x = json_object_get(vars, "ansible_become")) != NULL)
		b->enabled = px_kw_bool(vars, x, b->enabled);
	owned[0] = px_kw_str(vars, json_object_get(vars, "ansible_become_user"), NULL, &f);
	if (!owned[0])
		owned[0] = px_kw_str(vars, px_kw(pp, ch, task, "become_user"), NULL, &f);
	owned[1] = px_kw_str(vars, json_object_get(vars, "ansible_become_method"), NULL, &f);
	if (!owned[1])
		owned[1] = px_kw_str(vars, px_kw(pp, ch, task, "become_method"), NULL, &f);
	owned[2] = px_kw_str(vars, json_object_get(vars, "ansible_become_password"), NULL, &f);
	if (!owned[2])
		owned[2] = px_kw_str(vars, json_object_get(vars, "ansible_become_pass"), NULL, &f);
	if (!owned[2] && r->o->become_password)
		owned[2] = xstrdup(r->o->become_password);
	owned[3] = px_kw_str(vars, json_object_get(vars, "ansible_become_flags"), NULL, &f);
	if (!owned[3])
		owned[3] = px_kw_str(vars, px_kw(pp, ch, task, "become_flags"), NULL, &f);
	b->user = owned[0];
	b->method = owned[1];
	b->password = owned[2];
	b->flags = owned[3];
}

/* Remove arguments equal to omit (recursively in mappings). */
static void
px_omit(json_t *args)
{
	const char *k;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(args, tmp, k, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), VARS_OMIT) == 0)
			json_object_del(args, k);
	}
}

/* module_defaults for this action from the chain. */
static void
px_module_defaults(const struct px_play *pp, const struct px_chain *ch, const json_t *task,
    const char *action, json_t *args)
{
	const json_t *md = px_kw(pp, ch, task, "module_defaults");
	const char *k;
	json_t *v;

	if (!json_is_object(md))
		return;
	json_object_foreach((json_t *)md, k, v)
	{
		const char *ours = playbook_action_name(k);
		if (ours && strcmp(ours, action) == 0 && json_is_object(v)) {
			const char *ak;
			json_t *av;
			json_object_foreach(v, ak, av) if (!json_object_get(args, ak))
			    json_object_set(args, ak, av);
		}
	}
}

/*
 * Run the task's module once on h with vars (loop item already in vars). Fills *ret with
 * the result object; returns the status.
 */
static enum px_status
px_action(struct px_run *r, struct px_play *pp, const struct px_chain *ch, const json_t *task,
    struct px_host *h, json_t *vars, json_t **ret)
{
	const char *action = json_string_value(json_object_get(task, "action"));
	const struct module *m = module_find(action);
	json_t *result = json_object(), *args = NULL, *checked = NULL;
	struct dr_error err = {{0}};
	struct module_ctx mc = {0};
	struct conn *c = NULL;
	_cleanup_free_ char *delegate = NULL, *async_jid = NULL, *async_file = NULL;
	char *owned[4] = {0};
	struct conn_become b = {0};
	enum px_status st = PX_OK;
	bool f = false;

	*ret = result;
	if (!m) {
		json_object_set_new(result, "msg", json_pack("s", "unknown module"));
		json_object_set_new(result, "failed", json_true());
		return PX_FAILED;
	}
	/* arguments */
	if (m->flags & MODULE_RAW_ARGS) {
		args = json_copy(json_object_get(task, "args"));
		/* only the names are fixed; templating happens inside (debug var, assert that) */
		if (strcmp(action, "debug") == 0 &&
		    json_is_string(json_object_get(args, "verbosity"))) {
			json_t *t;
			if (vars_template(vars, json_object_get(args, "verbosity"), &t, &err) == 0)
				json_object_set_new(args, "verbosity", t);
		}
	} else if (vars_template(vars, json_object_get(task, "args"), &args, &err) < 0)
		goto fail;
	if (!json_is_object(args)) {
		dr_error_set(&err, "module arguments must be a mapping");
		goto fail;
	}
	px_omit(args);
	px_module_defaults(pp, ch, task, action, args);
	if (module_args_check(m, args, &checked, &err) < 0) {
		dr_error_prefix(&err, "%s: ", action);
		goto fail;
	}
	/* delegate_to and the connection */
	delegate = px_kw_str(vars, px_kw(NULL, ch, task, "delegate_to"), &err, &f);
	if (f)
		goto fail;
	if (!(m->flags & MODULE_CONTROLLER) || strcmp(action, "include_vars") == 0) {
		if (!(m->flags & MODULE_CONTROLLER)) {
			if (px_conn(r, h, delegate, vars, pp, ch, task, &c, &err) < 0) {
				st = PX_UNREACHABLE;
				goto fail;
			}
			px_become(r, pp, ch, task, vars, &b, owned);
			conn_become_set(c, &b);
			json_t *env = NULL;
			const json_t *ek = px_kw(pp, ch, task, "environment");
			if (ek) {
				json_t *merged = json_object();
				if (json_is_array(ek)) {
					size_t i;
					json_t *e;
					json_array_foreach(ek, i, e) px_merge(merged, e);
				} else
					px_merge(merged, ek);
				if (vars_template(vars, merged, &env, &err) < 0) {
					json_decref(merged);
					goto fail;
				}
				json_decref(merged);
			}
			conn_env_set(c, env);
			json_decref(env);
		}
	}
	mc.conn = c;
	mc.args = checked;
	mc.vars = vars;
	mc.result = result;
	mc.check = px_kw_bool(vars, px_kw(pp, ch, task, "check_mode"), r->o->check);
	mc.diff = px_kw_bool(vars, px_kw(pp, ch, task, "diff"), r->o->diff);
	mc.timeout = (int)px_kw_int(vars, px_kw(pp, ch, task, "timeout"), 0);
	if (json_object_get(task, "async")) {
		long long a = px_kw_int(vars, json_object_get(task, "async"), 0);
		long long poll = px_kw_int(vars, json_object_get(task, "poll"), 15);
		/* Ansible's action plugins without async support refuse it */
		static const char *const no_async[] = {"assemble", "assert", "copy", "debug",
		    "fail", "fetch", "include_vars", "pause", "raw", "script", "set_fact",
		    "template", "unarchive", "wait_for_connection", "group_by", "add_host"};
		for (size_t i = 0; a > 0 && i < nitems(no_async); i++)
			if (strcmp(action, no_async[i]) == 0) {
				dr_error_set(&err, "async is not supported for this task.");
				goto fail;
			}
		if (a > 0 && poll == 0 && c && !mc.check) {
			/* a background job in ~/.ansible_async, as Ansible's (modules/async.c) */
			_cleanup_free_ char *dir = NULL;
			if (async_dir(&mc, &dir, &err) < 0)
				goto fail;
			static _Atomic unsigned px_async_seq;
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			async_jid = xasprintf("j%lld%06u.%d",
			    (long long)(ts.tv_sec % 1000000) * 1000 + ts.tv_nsec / 1000000,
			    px_async_seq++ % 1000000, (int)getpid());
			async_file = xasprintf("%s/%s", dir, async_jid);
			mc.async_jid = async_jid;
			if (strcmp(action, "command") == 0 || strcmp(action, "shell") == 0)
				mc.async_file = async_file;
		} else if (a > 0 && (mc.timeout == 0 || a < mc.timeout))
			mc.timeout = (int)a;
	}
	mc.host = h->name;
	mc.playbook_dir = playbook_dir(r->pb);
	mc.role_path = json_string_value(json_object_get(px_role(ch, task), "path"));
	mc.verbosity = r->o->verbosity;
	if (async_jid && !mc.async_file) {
		/* not a command: run now, record the final result as the job's */
		struct dr_error jerr = {{0}};
		int jr = m->run(&mc, &jerr);
		if (c && conn_broken(c)) {
			err = jerr;
			st = PX_UNREACHABLE;
			goto fail;
		}
		json_object_set_new(result, "failed", json_boolean(jr < 0));
		if (jr < 0)
			json_object_set_new(result, "msg", json_string(jerr.msg));
		mc.async_file = async_file;
		if (async_job_finish(&mc, result, &err) < 0)
			goto fail;
	} else if (m->run(&mc, &err) < 0) {
		if (c && conn_broken(c))
			st = PX_UNREACHABLE;
		goto fail;
	}
	if (!json_object_get(result, "changed"))
		json_object_set_new(result, "changed", json_false());
	if ((json_object_get(result, "skipped") &&
	        template_truthy(json_object_get(result, "skipped"))))
		st = PX_SKIPPED;
	else
		st = json_is_true(json_object_get(result, "changed")) ? PX_CHANGED : PX_OK;
	json_object_set_new(result, "failed", json_false());
	goto out;
fail:
	if (st != PX_UNREACHABLE)
		st = PX_FAILED;
	if (!json_object_get(result, "changed"))
		json_object_set_new(result, "changed", json_false());
	json_object_set_new(result, "msg", json_string(err.msg));
	if (st == PX_UNREACHABLE)
		json_object_set_new(result, "unreachable", json_true());
	else
		json_object_set_new(result, "failed", json_true());
out:
	if (c) {
		conn_become_set(c, NULL);
		conn_env_set(c, NULL);
	}
	for (int i = 0; i < 4; i++)
		free(owned[i]);
	json_decref(args);
	json_decref(checked);
	return st;
}

/* --- loops ------------------------------------------------------------------------------ */

/* Flatten a list up to depth levels into out. */
static void
px_flatten(const json_t *v, json_t *out, int depth)
{
	size_t i;
	json_t *x;

	json_array_foreach(v, i, x)
	{
		if (json_is_array(x) && depth > 0)
			px_flatten(x, out, depth - 1);
		else
			json_array_append(out, x);
	}
}

/* with_sequence's "start=1 end=10 stride=2 format=web%02d" or "count=5". */
static int
px_sequence(const json_t *term, json_t **ret, struct dr_error *err)
{
	json_t *kv = NULL;
	long long start = 1, end = 0, stride = 1, count = -1;
	const char *fmt = "%d";
	const char *t = json_string_value(term);

	if (json_is_object(term))
		kv = json_incref((json_t *)term);
	else if (!t)
		return dr_error_set(err, "with_sequence: expected a string");
	else if (strchr(t, '='))
		vars_kv_parse(t, false, &kv, NULL);
	else {
		/* shortcut form: [start-]end[/stride][:format] */
		kv = json_object();
		_cleanup_free_ char *s = xstrdup(t);
		char *colon = strchr(s, ':'), *slash, *dash;
		if (colon) {
			*colon = '\0';
			json_object_set_new(kv, "format", json_string(colon + 1));
		}
		if ((slash = strchr(s, '/')) != NULL) {
			*slash = '\0';
			json_object_set_new(kv, "stride", json_string(slash + 1));
		}
		if ((dash = strchr(s + 1, '-')) != NULL) {
			*dash = '\0';
			json_object_set_new(kv, "start", json_string(s));
			json_object_set_new(kv, "end", json_string(dash + 1));
		} else
			json_object_set_new(kv, "end", json_string(s));
	}
	if (!kv)
		return dr_error_set(err, "with_sequence: cannot parse '%s'", t);
	const char *k;
	json_t *v;
	json_object_foreach(kv, k, v)
	{
		long long n = 0;
		const char *s = json_string_value(v);
		if (strcmp(k, "format") == 0) {
			fmt = s;
			continue;
		}
		if (json_is_integer(v))
			n = json_integer_value(v);
		else if (!s || str_to_ll(s, LLONG_MIN / 4, LLONG_MAX / 4, &n) < 0) {
			json_decref(kv);
			return dr_error_set(err, "with_sequence: %s is not a number", k);
		}
		if (strcmp(k, "start") == 0)
			start = n;
		else if (strcmp(k, "end") == 0)
			end = n;
		else if (strcmp(k, "stride") == 0)
			stride = n;
		else if (strcmp(k, "count") == 0)
			count = n;
	}
	if (count >= 0)
		end = start + (count - 1) * stride;
	if (stride == 0 || (end - start) / stride > PX_MAX_LOOP) {
		json_decref(kv);
		return dr_error_set(err, "with_sequence: bad stride or too many items");
	}
	json_t *out = json_array();
	/* the format is Python's % formatting, as with_sequence's */
	json_t *ctx = json_pack("{s:s}", "f", fmt);
	for (long long i = start; stride > 0 ? i <= end : i >= end; i += stride) {
		json_t *num = NULL;
		json_object_set_new(ctx, "i", json_integer(i));
		if (template_eval("with_sequence", "f % i", NULL, ctx, &num, err) < 0) {
			json_decref(ctx);
			json_decref(out);
			json_decref(kv);
			return -1;
		}
		json_array_append_new(out, num);
	}
	json_decref(ctx);
	json_decref(kv);
	*ret = out;
	return 0;
}

/* The items a task loops over. */
static int
px_loop_items(const json_t *task, const json_t *vars, json_t **ret, struct dr_error *err)
{
	const char *with = json_string_value(json_object_get(task, "loop_with"));
	json_t *raw = json_object_get(task, "loop"), *v, *out;
	size_t i;
	json_t *x;

	if (vars_template(vars, raw, &v, err) < 0)
		return -1;
	if (!with) {
		if (!json_is_array(v)) {
			_cleanup_free_ char *s = json_dumps(v, JSON_ENCODE_ANY);
			json_decref(v);
			return dr_error_set(err,
			    "Invalid data passed to 'loop', it requires a list, got "
			    "this instead: %s. Hint: If you passed a list/dict of "
			    "just one element, try adding wantlist=True to your "
			    "lookup invocation or use q/query instead of lookup.",
			    s ? s : "?");
		}
		*ret = v;
		return 0;
	}
	out = json_array();
	if (strcmp(with, "items") == 0 || strcmp(with, "list") == 0) {
		if (!json_is_array(v))
			json_array_append(out, v);
		else if (strcmp(with, "items") == 0)
			px_flatten(v, out, 1);
		else
			json_array_extend(out, v);
	} else if (strcmp(with, "flattened") == 0) {
		if (json_is_array(v))
			px_flatten(v, out, 64);
		else
			json_array_append(out, v);
	} else if (strcmp(with, "indexed_items") == 0) {
		json_array_foreach(v, i, x)
		    json_array_append_new(out, json_pack("[IO]", (json_int_t)i, x));
	} else if (strcmp(with, "dict") == 0) {
		const char *k;
		if (!json_is_object(v)) {
			json_decref(v);
			json_decref(out);
			return dr_error_set(err, "with_dict expects a dict");
		}
		json_object_foreach(v, k, x)
		    json_array_append_new(out, json_pack("{s:s,s:O}", "key", k, "value", x));
	} else if (strcmp(with, "fileglob") == 0) {
		json_t *terms = json_is_array(v) ? json_incref(v) : json_pack("[O]", v);
		json_array_foreach(terms, i, x)
		{
			json_t *ctx = json_copy((json_t *)vars), *res = NULL;
			json_object_set(ctx, "__t", x);
			if (template_eval("with_fileglob", "query('fileglob', __t)", NULL, ctx,
			        &res, err) < 0) {
				json_decref(ctx);
				json_decref(terms);
				json_decref(v);
				json_decref(out);
				return -1;
			}
			json_array_extend(out, res);
			json_decref(res);
			json_decref(ctx);
		}
		json_decref(terms);
	} else if (strcmp(with, "sequence") == 0) {
		json_t *terms = json_is_array(v) ? json_incref(v) : json_pack("[O]", v);
		json_array_foreach(terms, i, x)
		{
			json_t *seq = NULL;
			if (px_sequence(x, &seq, err) < 0) {
				json_decref(terms);
				json_decref(v);
				json_decref(out);
				return -1;
			}
			json_array_extend(out, seq);
			json_decref(seq);
		}
		json_decref(terms);
	} else if (strcmp(with, "together") == 0) {
		size_t longest = 0;
		json_array_foreach(v, i, x) if (json_array_size(x) > longest) longest =
		    json_array_size(x);
		for (size_t j = 0; j < longest; j++) {
			json_t *row = json_array();
			json_array_foreach(v, i, x)
			{
				json_t *e = json_array_get(x, j);
				json_array_append(row, e ? e : json_null());
			}
			json_array_append_new(out, row);
		}
	} else if (strcmp(with, "nested") == 0) {
		json_t *acc = json_pack("[[]]");
		json_array_foreach(v, i, x)
		{
			json_t *next = json_array(), *pre, *e;
			size_t a, b;
			json_t *lst = json_is_array(x) ? x : NULL;
			json_array_foreach(acc, a, pre)
			{
				json_array_foreach(lst, b, e)
				{
					json_t *row = json_copy(pre);
					json_array_append(row, e);
					json_array_append_new(next, row);
				}
			}
			json_decref(acc);
			acc = next;
			if (json_array_size(acc) > PX_MAX_LOOP)
				break;
		}
		json_array_extend(out, acc);
		json_decref(acc);
	} else if (strcmp(with, "subelements") == 0) {
		json_t *list = json_array_get(v, 0), *key = json_array_get(v, 1),
		       *flags = json_array_get(v, 2), *e;
		bool skip =
		    json_is_object(flags) && json_is_true(json_object_get(flags, "skip_missing"));
		if (!json_is_string(key)) {
			json_decref(v);
			json_decref(out);
			return dr_error_set(err, "with_subelements: expected [list, 'subkey']");
		}
		if (json_is_object(list)) {
			json_t *vals = json_array();
			const char *k;
			json_object_foreach(list, k, e) json_array_append(vals, e);
			list = vals;
		} else
			json_incref(list);
		json_array_foreach(list, i, e)
		{
			json_t *sub = json_object_get(e, json_string_value(key)), *s;
			size_t j;
			if (!sub) {
				if (skip)
					continue;
				json_decref(list);
				json_decref(v);
				json_decref(out);
				return dr_error_set(err,
				    "could not find '%s' key in iterated item",
				    json_string_value(key));
			}
			json_array_foreach(sub, j, s)
			    json_array_append_new(out, json_pack("[OO]", e, s));
		}
		json_decref(list);
	} else if (strcmp(with, "random_choice") == 0) {
		if (json_array_size(v))
			json_array_append(
			    out, json_array_get(v, (size_t)rand() % json_array_size(v)));
	}
	json_decref(v);
	if (json_array_size(out) > PX_MAX_LOOP) {
		json_decref(out);
		return dr_error_set(err, "a loop has more than %d items", PX_MAX_LOOP);
	}
	*ret = out;
	return 0;
}

/* --- one task on one host ------------------------------------------------------------- */

static const char *const px_status_names[] = {[PX_OK] = "ok",
    [PX_CHANGED] = "changed",
    [PX_FAILED] = "failed",
    [PX_SKIPPED] = "skipped",
    [PX_UNREACHABLE] = "unreachable"};

/* The result a user sees: censored under no_log. */
static json_t *
px_shown(const json_t *result, bool no_log)
{
	if (!no_log)
		return json_incref((json_t *)result);
	json_t *c = json_pack("{s:s}", "censored",
	    "the output has been hidden due to the fact that 'no_log: true' was specified for "
	    "this result");
	if (json_object_get(result, "changed"))
		json_object_set(c, "changed", json_object_get(result, "changed"));
	return c;
}

/* The task's display name. */
static char *
px_task_name(const json_t *task, const json_t *vars)
{
	const json_t *n = json_object_get(task, "name");
	const json_t *role = json_object_get(task, "__role");
	char *name = NULL;

	if (json_is_string(n)) {
		if (!vars || vars_template_str(vars, json_string_value(n), &name, NULL) < 0)
			name = xstrdup(json_string_value(n));
	} else if (json_is_integer(n))
		name = xasprintf("%lld", (long long)json_integer_value(n));
	else
		name = xstrdup(json_string_value(json_object_get(task, "action"))
		        ? json_string_value(json_object_get(task, "action"))
		        : "block");
	if (role) {
		char *full =
		    xasprintf("%s : %s", json_string_value(json_object_get(role, "name")), name);
		free(name);
		name = full;
	}
	return name;
}

/* A host_result event. */
static void
px_emit(struct px_run *r, struct px_host *h, const json_t *task, const char *status,
    const json_t *result, const json_t *item_label, bool no_log, bool ignored,
    const char *delegate)
{
	json_t *ev = json_pack("{s:s,s:s,s:s,s:o}", "event", "host_result", "host", h->name,
	    "status", status, "result", px_shown(result, no_log));

	if (item_label)
		json_object_set_new(ev, "item",
		    no_log ? json_string("(censored due to no_log)")
		           : json_incref((json_t *)item_label));
	if (ignored)
		json_object_set_new(ev, "ignored", json_true());
	if (delegate && strcmp(delegate, h->name) != 0)
		json_object_set_new(ev, "delegate", json_string(delegate));
	json_object_set(ev, "action", json_object_get(task, "action"));
	px_event(r, ev);
}

/*
 * The module run with retries (until), changed_when and failed_when, for one item (vars
 * hold the item). *ret is the result; returns the status.
 */
static enum px_status
px_attempts(struct px_run *r, struct px_play *pp, const struct px_chain *ch, const json_t *task,
    struct px_host *h, json_t *vars, json_t **ret)
{
	const json_t *until = json_object_get(task, "until");
	const char *reg = json_string_value(json_object_get(task, "register"));
	long long retries = 1, delay = 0;
	enum px_status st = PX_OK;
	json_t *result = NULL;
	struct dr_error err = {{0}};

	if (until) {
		retries = px_kw_int(vars, json_object_get(task, "retries"), 3);
		retries = retries <= 0 ? 1 : retries + 1;
		if (retries > PX_MAX_RETRIES)
			retries = PX_MAX_RETRIES;
		delay = px_kw_int(vars, json_object_get(task, "delay"), 5);
	}
	for (long long attempt = 1; attempt <= retries; attempt++) {
		json_decref(result);
		st = px_action(r, pp, ch, task, h, vars, &result);
		if (st == PX_UNREACHABLE || st == PX_SKIPPED)
			break;
		json_t *cw = json_object_get(task, "changed_when"),
		       *fw = json_object_get(task, "failed_when");
		if (cw || fw || until) {
			json_t *ev = json_copy(vars);
			bool b;
			if (reg)
				json_object_set(ev, reg, result);
			/* the result's keys are visible too, as Ansible's task vars */
			if (cw) {
				if (vars_cond(ev, cw, &b, &err) < 0) {
					json_object_set_new(result, "msg", json_string(err.msg));
					json_object_set_new(result, "failed", json_true());
					json_decref(ev);
					st = PX_FAILED;
					break;
				}
				json_object_set_new(result, "changed", json_boolean(b));
				if (st != PX_FAILED)
					st = b ? PX_CHANGED : PX_OK;
				if (reg)
					json_object_set(ev, reg, result);
			}
			if (fw) {
				if (vars_cond(ev, fw, &b, &err) < 0) {
					json_object_set_new(result, "msg", json_string(err.msg));
					json_object_set_new(result, "failed", json_true());
					json_decref(ev);
					st = PX_FAILED;
					break;
				}
				json_object_set_new(result, "failed_when_result", json_boolean(b));
				json_object_set_new(result, "failed", json_boolean(b));
				if (b)
					st = PX_FAILED;
				else
					st = json_is_true(json_object_get(result, "changed"))
					    ? PX_CHANGED
					    : PX_OK;
				if (reg)
					json_object_set(ev, reg, result);
			}
			if (until) {
				json_object_set_new(result, "attempts", json_integer(attempt));
				if (reg)
					json_object_set(ev, reg, result);
				if (vars_cond(ev, until, &b, &err) < 0) {
					json_object_set_new(result, "msg", json_string(err.msg));
					json_object_set_new(result, "failed", json_true());
					json_decref(ev);
					st = PX_FAILED;
					break;
				}
				if (!b && st != PX_FAILED && attempt == retries) {
					st = PX_FAILED;
					json_object_set_new(result, "failed", json_true());
					json_object_set_new(
					    result, "msg", json_string("Failed after retries"));
				}
				json_decref(ev);
				if (b)
					break;
				if (attempt < retries) {
					_cleanup_free_ char *name = px_task_name(task, vars);
					px_event(r,
					    json_pack("{s:s,s:s,s:s,s:I}", "event", "retry",
					        "host", h->name, "task", name, "left",
					        (json_int_t)(retries - attempt)));
					for (long long i = 0; i < delay * 10; i++)
						usleep(100000);
				} else if (!b) {
					st = PX_FAILED;
					json_object_set_new(result, "failed", json_true());
				}
				continue;
			}
			json_decref(ev);
		}
		break;
	}
	*ret = result;
	return st;
}

/* Notify the task's handlers on h. Returns -1 (err set) for a handler that does not exist. */
static int
px_notify(struct px_run *r, struct px_play *pp, const json_t *task, struct px_host *h,
    const json_t *vars, struct dr_error *err)
{
	const json_t *n = json_object_get(task, "notify");
	json_t *names = json_is_array(n) ? json_incref((json_t *)n)
	    : n                          ? json_pack("[O]", n)
	                                 : json_array();
	size_t i, j;
	json_t *x, *hd;

	json_array_foreach(names, i, x)
	{
		_cleanup_free_ char *name = NULL;
		bool found = false;
		if (!json_is_string(x) ||
		    vars_template_str(vars, json_string_value(x), &name, err) < 0)
			continue;
		pthread_mutex_lock(&r->lock);
		json_array_foreach(pp->handlers, j, hd)
		{
			_cleanup_free_ char *hn = NULL;
			const json_t *l = json_object_get(hd, "listen");
			const json_t *nm = json_object_get(hd, "name");
			const json_t *role = json_object_get(hd, "__role");
			if (json_is_string(nm) && strcmp(json_string_value(nm), name) == 0)
				found = true;
			/* a role's handler also answers to "role : name" */
			if (json_is_string(nm) && role) {
				hn = xasprintf("%s : %s",
				    json_string_value(json_object_get(role, "name")),
				    json_string_value(nm));
				if (strcmp(hn, name) == 0)
					found = true;
			}
			if ((json_is_string(l) && strcmp(json_string_value(l), name) == 0) ||
			    (json_is_array(l) && px_has(l, name)))
				found = true;
		}
		if (found)
			json_object_set_new(h->notified, name, json_true());
		pthread_mutex_unlock(&r->lock);
		if (!found) {
			json_decref(names);
			return dr_error_set(err,
			    "The requested handler '%s' was not found in either the "
			    "main handlers list nor in the listening handlers list",
			    name);
		}
	}
	json_decref(names);
	return 0;
}

/* Strip what only the executor uses before a result is registered. */
static json_t *
px_registered(const json_t *result)
{
	return json_incref((json_t *)result);
}

/* Put facts a result carries where they belong (set_fact/include_vars: host vars). */
static void
px_apply_facts(struct px_run *r, const json_t *task, struct px_host *h, const json_t *result,
    const char *delegate, const json_t *vars)
{
	const json_t *facts = json_object_get(result, "ansible_facts");
	const char *action = json_string_value(json_object_get(task, "action"));
	struct px_host *target = h;

	if (!json_is_object(facts))
		return;
	if (delegate && px_kw_bool(vars, json_object_get(task, "delegate_facts"), false))
		target = px_host_get(r, delegate);
	pthread_mutex_lock(&r->lock);
	if (strcmp(action, "set_fact") == 0 || strcmp(action, "include_vars") == 0)
		json_object_update(target->host_vars, (json_t *)facts);
	else
		json_object_update(target->facts, (json_t *)facts);
	pthread_mutex_unlock(&r->lock);
}

/* Loop variables for one item. */
static void
px_item_vars(json_t *vars, const json_t *task, const json_t *items, size_t i, const json_t *lvars)
{
	const json_t *lc = json_object_get(task, "loop_control");
	const char *lv = json_string_value(json_object_get(lc, "loop_var"));
	const char *iv = json_string_value(json_object_get(lc, "index_var"));
	size_t n = json_array_size(items);
	json_t *item = json_array_get(items, i);

	if (!lv)
		lv = "item";
	json_object_set(vars, lv, item);
	json_object_set_new(vars, "ansible_loop_var", json_string(lv));
	if (iv)
		json_object_set_new(vars, iv, json_integer((json_int_t)i));
	if (json_is_true(json_object_get(lc, "extended")) ||
	    (json_is_string(json_object_get(lc, "extended")) &&
	        px_kw_bool(lvars, json_object_get(lc, "extended"), false))) {
		json_t *al = json_pack("{s:I,s:I,s:I,s:I,s:b,s:b,s:I,s:O}", "index",
		    (json_int_t)i + 1, "index0", (json_int_t)i, "revindex", (json_int_t)(n - i),
		    "revindex0", (json_int_t)(n - i - 1), "first", i == 0, "last", i + 1 == n,
		    "length", (json_int_t)n, "allitems", items);
		if (i > 0)
			json_object_set(al, "previtem", json_array_get(items, i - 1));
		if (i + 1 < n)
			json_object_set(al, "nextitem", json_array_get(items, i + 1));
		json_object_set_new(vars, "ansible_loop", al);
	}
}

/* include_tasks / include_role on a host: collect what to include. */
static enum px_status
px_include_host(struct px_run *r, struct px_play *pp, const struct px_chain *ch,
    const json_t *task, struct px_host *h, json_t *vars, json_t **ret)
{
	json_t *items = NULL, *incs = json_array();
	struct dr_error err = {{0}};
	size_t n = 1;

	if (json_object_get(task, "loop")) {
		if (px_loop_items(task, vars, &items, &err) < 0)
			goto fail;
		n = json_array_size(items);
	}
	for (size_t i = 0; i < n; i++) {
		json_t *iv = json_copy(vars), *args, *item_vars = json_object();
		bool ok = true;
		if (items) {
			px_item_vars(iv, task, items, i, vars);
			const json_t *lc = json_object_get(task, "loop_control");
			const char *lv = json_string_value(json_object_get(lc, "loop_var"));
			json_object_set(item_vars, lv ? lv : "item", json_array_get(items, i));
			if (json_object_get(lc, "index_var"))
				json_object_set_new(item_vars,
				    json_string_value(json_object_get(lc, "index_var")),
				    json_integer((json_int_t)i));
			if (json_object_get(iv, "ansible_loop"))
				json_object_set(item_vars, "ansible_loop",
				    json_object_get(iv, "ansible_loop"));
			if (vars_cond(iv, json_object_get(task, "when"), &ok, &err) < 0) {
				json_decref(iv);
				json_decref(item_vars);
				goto fail;
			}
		}
		if (!ok) {
			json_decref(iv);
			json_decref(item_vars);
			continue;
		}
		if (vars_template(iv, json_object_get(task, "args"), &args, &err) < 0) {
			json_decref(iv);
			json_decref(item_vars);
			goto fail;
		}
		json_array_append_new(
		    incs, json_pack("{s:o,s:o}", "args", args, "vars", item_vars));
		json_decref(iv);
	}
	json_decref(items);
	h->last_includes = incs;
	*ret = json_pack("{s:b}", "changed", 0);
	return PX_OK;
fail:
	json_decref(items);
	json_decref(incs);
	*ret = json_pack("{s:b,s:b,s:s}", "changed", 0, "failed", 1, "msg", err.msg);
	return PX_FAILED;
}

/* Everything about one task on one host: when, loop, module, register, notify, events. */
static void
px_task_host(struct px_run *r, struct px_play *pp, const struct px_chain *ch, const json_t *task,
    struct px_host *h)
{
	json_t *vars = px_vars(r, pp, ch, task, h), *result = NULL, *items = NULL;
	const char *action = json_string_value(json_object_get(task, "action"));
	const char *reg = json_string_value(json_object_get(task, "register"));
	bool no_log = px_kw_bool(vars, px_kw(pp, ch, task, "no_log"), false);
	bool ignore = px_kw_bool(vars, px_kw(pp, ch, task, "ignore_errors"), false);
	bool ignore_unreach = px_kw_bool(vars, px_kw(pp, ch, task, "ignore_unreachable"), false);
	struct dr_error err = {{0}};
	enum px_status st = PX_OK;
	bool f = false;
	_cleanup_free_ char *delegate =
	    px_kw_str(vars, px_kw(NULL, ch, task, "delegate_to"), &err, &f);
	bool is_include =
	    strcmp(action, "include_tasks") == 0 || strcmp(action, "include_role") == 0;

	json_decref(h->last_result);
	h->last_result = NULL;
	json_decref(h->last_includes);
	h->last_includes = NULL;
	if (f) {
		result = json_pack("{s:b,s:b,s:s}", "changed", 0, "failed", 1, "msg", err.msg);
		st = PX_FAILED;
		goto done;
	}
	/* the blocks' when, then the task's (for a loop: per item) */
	{
		const json_t *w = NULL;
		bool ok;
		if (px_chain_when(vars, ch, &ok, &w, &err) < 0) {
			result =
			    json_pack("{s:b,s:b,s:s}", "changed", 0, "failed", 1, "msg", err.msg);
			st = PX_FAILED;
			goto done;
		}
		if (!ok) {
			result = json_pack("{s:b,s:b,s:s}", "changed", 0, "skipped", 1,
			    "skip_reason", "Conditional result was False");
			if (json_is_string(w))
				json_object_set(result, "false_condition", (json_t *)w);
			st = PX_SKIPPED;
			goto done;
		}
	}
	if (!json_object_get(task, "loop") || is_include) {
		bool ok;
		if (vars_cond(vars, px_kw(NULL, NULL, task, "when"), &ok, &err) < 0) {
			result =
			    json_pack("{s:b,s:b,s:s}", "changed", 0, "failed", 1, "msg", err.msg);
			st = PX_FAILED;
			goto done;
		}
		if (!ok) {
			const json_t *w = json_object_get(task, "when");
			result = json_pack("{s:b,s:b,s:s}", "changed", 0, "skipped", 1,
			    "skip_reason", "Conditional result was False");
			if (json_is_string(w))
				json_object_set(result, "false_condition", (json_t *)w);
			st = PX_SKIPPED;
			goto done;
		}
	}
	if (is_include) {
		st = px_include_host(r, pp, ch, task, h, vars, &result);
		if (st == PX_OK) {
			h->last_st = st;
			h->last_result = result;
			json_decref(vars);
			return;
		}
		goto done;
	}
	if (json_object_get(task, "loop")) {
		json_t *results = json_array();
		bool any_changed = false, any_failed = false, all_skipped = true,
		     unreachable = false;
		const json_t *lc = json_object_get(task, "loop_control");
		long long pause = px_kw_int(vars, json_object_get(lc, "pause"), 0);
		if (px_loop_items(task, vars, &items, &err) < 0) {
			json_decref(results);
			result =
			    json_pack("{s:b,s:b,s:s}", "changed", 0, "failed", 1, "msg", err.msg);
			st = PX_FAILED;
			goto done;
		}
		for (size_t i = 0; i < json_array_size(items); i++) {
			json_t *iv = json_copy(vars), *ir = NULL, *label = NULL;
			enum px_status ist;
			bool ok;
			const char *lv = json_string_value(json_object_get(lc, "loop_var"));
			px_item_vars(iv, task, items, i, vars);
			if (json_object_get(lc, "label"))
				vars_template(iv, json_object_get(lc, "label"), &label, NULL);
			if (!label)
				label = json_incref(json_array_get(items, i));
			if (vars_cond(iv, json_object_get(task, "when"), &ok, &err) < 0) {
				ir = json_pack(
				    "{s:b,s:b,s:s}", "changed", 0, "failed", 1, "msg", err.msg);
				ist = PX_FAILED;
			} else if (!ok) {
				ir = json_pack("{s:b,s:b,s:s}", "changed", 0, "skipped", 1,
				    "skip_reason", "Conditional result was False");
				if (json_is_string(json_object_get(task, "when")))
					json_object_set(
					    ir, "false_condition", json_object_get(task, "when"));
				ist = PX_SKIPPED;
			} else
				ist = px_attempts(r, pp, ch, task, h, iv, &ir);
			json_object_set(ir, lv ? lv : "item", json_array_get(items, i));
			json_object_set_new(ir, "ansible_loop_var", json_string(lv ? lv : "item"));
			if (json_object_get(lc, "index_var"))
				json_object_set_new(ir,
				    json_string_value(json_object_get(lc, "index_var")),
				    json_integer((json_int_t)i));
			if (ist != PX_SKIPPED)
				all_skipped = false;
			if (ist == PX_CHANGED ||
			    (ist == PX_FAILED && json_is_true(json_object_get(ir, "changed"))))
				any_changed = true;
			if (ist == PX_FAILED)
				any_failed = true;
			if (ist == PX_UNREACHABLE)
				unreachable = true;
			px_apply_facts(r, task, h, ir, delegate, iv);
			px_emit(r, h, task, px_status_names[ist], ir, label, no_log,
			    ist == PX_FAILED && ignore, delegate);
			json_decref(label);
			json_array_append_new(results, ir);
			json_decref(iv);
			if (unreachable)
				break;
			if (pause > 0 && i + 1 < json_array_size(items))
				for (long long k = 0; k < pause * 10; k++)
					usleep(100000);
		}
		result = json_pack("{s:o,s:b,s:s}", "results", results, "changed", any_changed,
		    "msg", any_failed ? "One or more items failed" : "All items completed");
		if (any_failed)
			json_object_set_new(result, "failed", json_true());
		else
			json_object_set_new(result, "failed", json_false());
		if (all_skipped) {
			json_object_set_new(result, "skipped", json_true());
			if (json_array_size(items) == 0)
				json_object_set_new(
				    result, "skipped_reason", json_string("No items in the list"));
		}
		st = unreachable  ? PX_UNREACHABLE
		    : any_failed  ? PX_FAILED
		    : all_skipped ? PX_SKIPPED
		    : any_changed ? PX_CHANGED
		                  : PX_OK;
		/* the per-item lines were shown; a skipped loop also gets its summary line */
		h->last_st = st;
		if (st == PX_SKIPPED)
			px_emit(r, h, task, "skipped", result, NULL, no_log, false, delegate);
		goto record;
	}
	st = px_attempts(r, pp, ch, task, h, vars, &result);
	px_apply_facts(r, task, h, result, delegate, vars);
done:
	h->last_st = st;
	if (st == PX_UNREACHABLE && ignore_unreach) {
		json_object_set_new(
		    result, "skip_reason", json_string("Host unreachable (ignored)"));
	}
	px_emit(r, h, task, px_status_names[st], result, NULL, no_log, st == PX_FAILED && ignore,
	    delegate);
record:
	if (reg) {
		pthread_mutex_lock(&r->lock);
		json_object_set_new(h->host_vars, reg, px_registered(result));
		pthread_mutex_unlock(&r->lock);
	}
	if ((st == PX_CHANGED ||
	        (json_object_get(task, "loop") &&
	            json_is_true(json_object_get(result, "changed")))) &&
	    json_object_get(task, "notify")) {
		if (px_notify(r, pp, task, h, vars, &err) < 0) {
			json_object_set_new(result, "msg", json_string(err.msg));
			json_object_set_new(result, "failed", json_true());
			st = PX_FAILED;
			px_emit(r, h, task, "failed", result, NULL, false, false, NULL);
		}
	}
	if (st == PX_FAILED && ignore)
		h->last_st = -1; /* ignored */
	else if (st == PX_UNREACHABLE && ignore_unreach)
		h->last_st = -2;
	else
		h->last_st = st;
	h->last_result = result;
	json_decref(items);
	json_decref(vars);
}

/* --- the walk ----------------------------------------------------------------------------- */

/* The host this thread runs the whole play for (free strategy), or NULL. */
static __thread struct px_host *px_inline;

struct px_job {
	struct px_run *r;
	struct px_play *pp;
	const struct px_chain *ch;
	const json_t *task;
};

static void
px_job_task(struct px_host *h, void *arg)
{
	struct px_job *j = arg;

	px_task_host(j->r, j->pp, j->ch, j->task, h);
}

/* True when a failure here would be rescued by an enclosing block. */
static bool
px_rescuable(const struct px_chain *ch)
{
	for (; ch; ch = ch->up)
		if (ch->section == 'b' && json_array_size(json_object_get(ch->obj, "rescue")) > 0)
			return true;
	return false;
}

/* Count a host's outcome of the last task and take failed hosts out of the play. */
static void
px_account(struct px_run *r, const struct px_chain *ch, const json_t *task, struct px_host *h)
{
	bool changed = json_is_true(json_object_get(h->last_result, "changed"));

	pthread_mutex_lock(&r->lock);
	switch (h->last_st) {
	case PX_OK:
		h->ok++;
		break;
	case PX_CHANGED:
		h->ok++;
		h->changed++;
		break;
	case PX_SKIPPED:
		h->skipped++;
		break;
	case PX_FAILED:
		if (!px_rescuable(ch))
			h->nfailed++;
		h->failed = true;
		h->failed_ever = true;
		json_decref(h->failed_task);
		json_decref(h->failed_result);
		h->failed_task = json_copy((json_t *)task);
		json_object_del(h->failed_task, "__role");
		h->failed_result = json_incref(h->last_result);
		break;
	case PX_UNREACHABLE:
		h->nunreachable++;
		h->unreachable = true;
		break;
	case -1: /* ignored failure */
		h->ok++;
		h->ignored++;
		if (changed)
			h->changed++;
		break;
	case -2: /* ignored unreachable */
		h->skipped++;
		break;
	}
	pthread_mutex_unlock(&r->lock);
}

/* Run a task on hosts (in parallel, throttle at a time) and account for the outcomes. */
static void
px_dispatch(struct px_run *r, struct px_play *pp, const struct px_chain *ch, const json_t *task,
    const json_t *hosts)
{
	struct px_job j = {r, pp, ch, task};
	size_t n = json_array_size(hosts), i, start;
	long long throttle = 0;
	const json_t *t = px_kw(pp, ch, task, "throttle");

	if (px_inline) {
		px_task_host(r, pp, ch, task, px_inline);
		px_account(r, ch, task, px_inline);
		return;
	}
	if (t && json_is_integer(t))
		throttle = json_integer_value(t);
	if (throttle <= 0 || (size_t)throttle > n)
		throttle = (long long)n;
	for (start = 0; start < n; start += (size_t)throttle) {
		size_t end = start + (size_t)throttle < n ? start + (size_t)throttle : n;
		for (i = start; i < end; i++)
			px_host_post(px_host_get(r, json_string_value(json_array_get(hosts, i))),
			    px_job_task, &j);
		for (i = start; i < end; i++)
			px_host_wait(px_host_get(r, json_string_value(json_array_get(hosts, i))));
	}
	for (i = 0; i < n; i++) {
		struct px_host *h = px_host_get(r, json_string_value(json_array_get(hosts, i)));
		px_account(r, ch, task, h);
	}
}

/* A task_start event. */
static void
px_task_start(struct px_run *r, const struct px_chain *ch, const json_t *task, bool handler,
    const json_t *hosts)
{
	_cleanup_free_ char *name = NULL;
	json_t *vars = NULL;

	/* names with {{ }} render with the first host's variables, as Ansible's header */
	if (json_is_string(json_object_get(task, "name")) &&
	    strstr(json_string_value(json_object_get(task, "name")), "{{") &&
	    json_array_size(hosts)) {
		struct px_host *h = px_host_get(r, json_string_value(json_array_get(hosts, 0)));
		vars = px_vars(r, r->play, ch, task, h);
	}
	name = px_task_name(task, vars);
	json_decref(vars);
	px_event(r,
	    json_pack("{s:s,s:s,s:s,s:b}", "event", handler ? "handler_start" : "task_start",
	        "task", name, "where",
	        json_string_value(json_object_get(task, "__where"))
	            ? json_string_value(json_object_get(task, "__where"))
	            : "",
	        "handler", handler));
}

/* After a task: any_errors_fatal and max_fail_percentage end the play for everyone. */
static void
px_check_fatal(struct px_run *r, struct px_play *pp, const struct px_chain *ch, const json_t *task,
    const json_t *hosts)
{
	size_t i, failed = 0;
	json_t *v;
	bool aef = px_kw_bool(NULL, px_kw(pp, ch, task, "any_errors_fatal"), false);

	json_array_foreach(hosts, i, v)
	{
		struct px_host *h = px_host_find(r, json_string_value(v));
		if (h && (h->last_st == PX_FAILED || h->last_st == PX_UNREACHABLE) &&
		    !(h->last_st == PX_FAILED && px_rescuable(ch)))
			failed++;
	}
	if (failed && aef) {
		pp->end_play = true;
		px_event(r,
		    json_pack("{s:s,s:s}", "event", "abort", "msg",
		        "any_errors_fatal: a host failed, ending the play"));
		return;
	}
	if (pp->max_fail_pct >= 0 && json_array_size(pp->batch)) {
		size_t bf = 0;
		json_array_foreach(pp->batch, i, v)
		{
			struct px_host *h = px_host_find(r, json_string_value(v));
			/* a failure a rescue section will handle does not count (yet) */
			if (h && (h->failed || h->unreachable) &&
			    !(h->last_st == PX_FAILED && px_rescuable(ch)))
				bf++;
		}
		double pct = 100.0 * (double)bf / (double)json_array_size(pp->batch);
		if (pct > pp->max_fail_pct) {
			pp->end_play = true;
			px_event(r,
			    json_pack("{s:s,s:s}", "event", "abort", "msg",
			        "max_fail_percentage exceeded, ending the play"));
		}
	}
}

static int px_block(struct px_run *r, struct px_play *pp, const json_t *b, json_t *hosts,
    const struct px_chain *ch, int depth);

/* Run the play's handlers that hosts notified, in definition order. */
static void
px_flush(struct px_run *r, struct px_play *pp, const json_t *hosts)
{
	size_t i, k;
	json_t *hd, *v;

	for (int round = 0; round < 16; round++) {
		bool any = false;
		for (i = 0; i < json_array_size(pp->handlers); i++) {
			hd = json_array_get(pp->handlers, i);
			json_t *run = json_array();
			const json_t *nm = json_object_get(hd, "name"),
			             *l = json_object_get(hd, "listen");
			const json_t *role = json_object_get(hd, "__role");
			_cleanup_free_ char *full = NULL;
			if (json_is_string(nm) && role)
				full = xasprintf("%s : %s",
				    json_string_value(json_object_get(role, "name")),
				    json_string_value(nm));
			json_array_foreach(hosts, k, v)
			{
				struct px_host *h = px_host_find(r, json_string_value(v));
				bool hit = false;
				if (!h || h->unreachable || h->ended ||
				    (h->failed && !pp->force_handlers))
					continue;
				pthread_mutex_lock(&r->lock);
				if (json_is_string(nm) &&
				    json_object_get(h->notified, json_string_value(nm))) {
					hit = true;
					json_object_del(h->notified, json_string_value(nm));
				}
				if (full && json_object_get(h->notified, full)) {
					hit = true;
					json_object_del(h->notified, full);
				}
				if (json_is_string(l) &&
				    json_object_get(h->notified, json_string_value(l)))
					hit = true;
				if (json_is_array(l)) {
					size_t q;
					json_t *t;
					json_array_foreach(l, q, t) if (json_is_string(t) &&
					    json_object_get(h->notified, json_string_value(t)))
					    hit = true;
				}
				pthread_mutex_unlock(&r->lock);
				if (hit)
					json_array_append(run, v);
			}
			if (json_array_size(run)) {
				any = true;
				if (json_object_get(hd, "block"))
					px_block(r, pp, hd, run, NULL, 0);
				else {
					struct px_chain rc = {.role = role};
					px_task_start(r, &rc, hd, true, run);
					/* a failed host whose handler runs under force_handlers */
					json_array_foreach(run, k, v)
					{
						struct px_host *h =
						    px_host_find(r, json_string_value(v));
						if (h)
							h->failed =
							    h->failed && !pp->force_handlers;
					}
					px_dispatch(r, pp, &rc, hd, run);
				}
			}
			json_decref(run);
		}
		/* listen topics are consumed once every handler had its chance */
		json_array_foreach(hosts, k, v)
		{
			struct px_host *h = px_host_find(r, json_string_value(v));
			if (!h)
				continue;
			pthread_mutex_lock(&r->lock);
			json_t *left = json_object();
			const char *key;
			json_t *x;
			json_object_foreach(h->notified, key, x)
			{
				bool is_name = false;
				for (size_t q = 0; q < json_array_size(pp->handlers); q++) {
					const json_t *nm = json_object_get(
					    json_array_get(pp->handlers, q), "name");
					if (json_is_string(nm) &&
					    strcmp(json_string_value(nm), key) == 0)
						is_name = true;
				}
				if (is_name)
					json_object_set(left, key, x);
			}
			json_decref(h->notified);
			h->notified = left;
			pthread_mutex_unlock(&r->lock);
		}
		if (!any)
			break;
		/* handlers notified by handlers run in a further round */
		bool pending = false;
		json_array_foreach(hosts, k, v)
		{
			struct px_host *h = px_host_find(r, json_string_value(v));
			if (h && json_object_size(h->notified))
				pending = true;
		}
		if (!pending)
			break;
	}
}

/* meta: flush_handlers, end_play, end_host, clear_host_errors, noop, … */
static void
px_meta(struct px_run *r, struct px_play *pp, const struct px_chain *ch, const json_t *task,
    json_t *hosts)
{
	const char *what =
	    json_string_value(json_object_get(json_object_get(task, "args"), "_raw_params"));
	json_t *yes = json_array(), *v;
	size_t i;

	if (!what)
		what = "noop";
	json_array_foreach(hosts, i, v)
	{
		struct px_host *h = px_host_get(r, json_string_value(v));
		json_t *vars = px_vars(r, pp, ch, task, h);
		bool ok = true;
		const json_t *w = NULL;
		struct dr_error err = {{0}};
		if (px_chain_when(vars, ch, &ok, &w, &err) < 0 ||
		    (ok && vars_cond(vars, px_kw(NULL, NULL, task, "when"), &ok, &err) < 0)) {
			px_emit(r, h, task, "failed",
			    json_pack("{s:b,s:s}", "failed", 1, "msg", err.msg), NULL, false,
			    false, NULL);
			h->failed = true;
			h->nfailed++;
			ok = false;
		}
		if (ok)
			json_array_append(yes, v);
		json_decref(vars);
	}
	if (strcmp(what, "flush_handlers") == 0)
		px_flush(r, pp, yes);
	else if (strcmp(what, "end_play") == 0) {
		if (json_array_size(yes))
			pp->end_play = true;
	} else if (strcmp(what, "end_host") == 0 || strcmp(what, "end_batch") == 0) {
		json_array_foreach(yes, i, v) px_host_get(r, json_string_value(v))->ended = true;
		if (strcmp(what, "end_batch") == 0 && json_array_size(yes))
			pp->end_play = true;
	} else if (strcmp(what, "clear_host_errors") == 0) {
		for (size_t k = 0; k < r->nhosts; k++)
			if (px_has(pp->hosts, r->hosts[k]->name))
				r->hosts[k]->failed = false;
	} else if (strcmp(what, "clear_facts") == 0) {
		json_array_foreach(yes, i, v)
		{
			struct px_host *h = px_host_get(r, json_string_value(v));
			json_object_clear(h->facts);
		}
	} else if (strcmp(what, "noop") != 0 && strcmp(what, "refresh_inventory") != 0 &&
	    strcmp(what, "reset_connection") != 0 && strcmp(what, "end_role") != 0) {
		json_array_foreach(yes, i, v)
		{
			struct px_host *h = px_host_get(r, json_string_value(v));
			char *msg = xasprintf("invalid meta action requested: %s", what);
			json_t *res = json_pack("{s:b,s:s}", "failed", 1, "msg", msg);
			free(msg);
			px_emit(r, h, task, "failed", res, NULL, false, false, NULL);
			json_decref(res);
			h->failed = true;
			h->nfailed++;
		}
	}
	json_decref(yes);
}

/* include_tasks / include_role: ask each host what it includes, then run the groups. */
static int
px_include(struct px_run *r, struct px_play *pp, const struct px_chain *ch, const json_t *task,
    json_t *hosts, int depth)
{
	const char *action = json_string_value(json_object_get(task, "action"));
	json_t *groups = json_array(); /* [{"args", "vars", "hosts": []}] */
	size_t i, k;
	json_t *v, *g;

	px_dispatch(r, pp, ch, task, hosts);
	json_array_foreach(hosts, i, v)
	{
		struct px_host *h = px_host_get(r, json_string_value(v));
		json_t *inc;
		if (h->last_st != PX_OK || !h->last_includes)
			continue;
		/* include_role is not a result of its own in the recap, include_tasks is */
		if (strcmp(action, "include_role") == 0)
			h->ok--;
		json_array_foreach(h->last_includes, k, inc)
		{
			json_t *found = NULL;
			size_t q;
			json_array_foreach(groups, q, g) if (json_equal(json_object_get(g, "args"),
			                                         json_object_get(inc, "args")) &&
			    json_equal(json_object_get(g, "vars"), json_object_get(inc, "vars")))
			    found = g;
			if (!found) {
				found = json_pack("{s:O,s:O,s:[]}", "args",
				    json_object_get(inc, "args"), "vars",
				    json_object_get(inc, "vars"), "hosts");
				json_array_append_new(groups, found);
			}
			json_array_append(json_object_get(found, "hosts"), v);
		}
	}
	json_array_foreach(groups, i, g)
	{
		json_t *args = json_object_get(g, "args"), *gh = json_object_get(g, "hosts");
		struct dr_error err = {{0}};
		json_t *tasks = NULL, *handlers = NULL, *block = NULL;
		struct px_chain link = {
		    .up = ch, .obj = task, .item_vars = json_object_get(g, "vars")};
		int rc;
		if (strcmp(action, "include_tasks") == 0) {
			const char *file = json_string_value(json_object_get(args, "file"));
			if (!file)
				file = json_string_value(json_object_get(args, "_raw_params"));
			if (!file)
				rc = dr_error_set(&err, "include_tasks needs a file");
			else
				rc = playbook_tasks_load(
				    r->pb, file, px_role(ch, task), &tasks, &err);
			/* include_tasks with apply: keywords for the included tasks */
			if (rc == 0 && json_is_object(json_object_get(args, "apply"))) {
				block = json_pack(
				    "{s:O,s:[],s:[]}", "block", tasks, "rescue", "always");
				json_object_update(block, json_object_get(args, "apply"));
				json_decref(tasks);
				tasks = json_pack("[o]", block);
				block = NULL;
			}
		} else {
			const char *name = json_string_value(json_object_get(args, "name"));
			json_t *params = json_object_get(args, "vars")
			    ? json_copy(json_object_get(args, "vars"))
			    : json_object();
			if (!name)
				rc = dr_error_set(&err, "include_role needs name");
			else
				rc = playbook_role_load(r->pb, name, params,
				    json_string_value(json_object_get(args, "tasks_from")), &block,
				    &handlers, &err);
			json_decref(params);
			if (rc == 0) {
				tasks = json_pack("[O]", block);
				pthread_mutex_lock(&r->lock);
				json_array_extend(pp->handlers, handlers);
				pthread_mutex_unlock(&r->lock);
			}
		}
		if (rc < 0) {
			json_array_foreach(gh, k, v)
			{
				struct px_host *h = px_host_get(r, json_string_value(v));
				json_t *res = json_pack("{s:b,s:s}", "failed", 1, "msg", err.msg);
				px_emit(r, h, task, "failed", res, NULL, false, false, NULL);
				json_decref(res);
				h->failed = true;
				h->nfailed++;
			}
		} else {
			if (strcmp(action, "include_tasks") == 0) {
				json_t *f = json_object_get(args, "file")
				    ? json_object_get(args, "file")
				    : json_object_get(args, "_raw_params");
				px_event(r,
				    json_pack("{s:s,s:O,s:O}", "event", "included", "hosts", gh,
				        "file", f ? f : json_null()));
			}
			px_list(r, pp, tasks, gh, &link, depth + 1);
		}
		json_decref(tasks);
		json_decref(handlers);
		json_decref(block);
	}
	json_decref(groups);
	return 0;
}

/* A block: block tasks; hosts that failed run rescue; everyone who entered runs always. */
static int
px_block(struct px_run *r, struct px_play *pp, const json_t *b, json_t *hosts,
    const struct px_chain *ch, int depth)
{
	json_t *entered = json_copy(hosts), *failed = json_array(), *v;
	struct px_chain link = {.up = ch, .obj = b, .section = 'b'};
	size_t i;

	if (depth > PX_MAX_DEPTH)
		return 0;
	if (json_object_get(b, "__role"))
		link.role = json_object_get(b, "__role");
	px_list(r, pp, json_object_get(b, "block"), hosts, &link, depth + 1);
	json_array_foreach(entered, i, v)
	{
		struct px_host *h = px_host_find(r, json_string_value(v));
		if (h && h->failed && !h->unreachable)
			json_array_append(failed, v);
	}
	if (json_array_size(json_object_get(b, "rescue")) && json_array_size(failed) &&
	    !pp->end_play) {
		link.section = 'r';
		/* As Ansible counts: rescued when the failure enters the rescue section, whatever
		 * the rescue then does (a failing rescue adds failed=1 too). */
		json_array_foreach(failed, i, v)
		{
			struct px_host *h = px_host_get(r, json_string_value(v));
			h->failed = false;
			h->rescued++;
		}
		px_list(r, pp, json_object_get(b, "rescue"), failed, &link, depth + 1);
	}
	if (json_array_size(json_object_get(b, "always"))) {
		/* hosts that failed (and were not rescued) still run always */
		json_t *still = json_array();
		link.section = 'a';
		json_array_foreach(entered, i, v)
		{
			struct px_host *h = px_host_get(r, json_string_value(v));
			if (h->failed && !h->unreachable && !h->ended) {
				json_array_append(still, v);
				h->failed = false;
			}
		}
		json_t *run = px_active(r, entered);
		px_list(r, pp, json_object_get(b, "always"), run, &link, depth + 1);
		json_decref(run);
		json_array_foreach(still, i, v) px_host_get(r, json_string_value(v))->failed =
		    true;
		json_decref(still);
	}
	json_decref(entered);
	json_decref(failed);
	return 0;
}

/* A list of tasks and blocks on the hosts still active. */
static int
px_list(struct px_run *r, struct px_play *pp, const json_t *tasks, json_t *hosts,
    const struct px_chain *ch, int depth)
{
	size_t i;
	json_t *t;

	if (depth > PX_MAX_DEPTH) {
		px_warn(r, "includes nest deeper than %d: not run", PX_MAX_DEPTH);
		return 0;
	}
	json_array_foreach(tasks, i, t)
	{
		json_t *active;
		if (pp->end_play || (r->o->cancel && *r->o->cancel))
			break;
		active = px_active(r, hosts);
		if (json_array_size(active) == 0) {
			json_decref(active);
			break;
		}
		if (json_object_get(t, "block")) {
			/* a block's when applies to each of its tasks (inherited through the
			 * chain) */
			px_block(r, pp, t, active, ch, depth);
			json_decref(active);
			continue;
		}
		json_t *tags = px_tags(pp, ch, t);
		bool selected = px_tags_match(r, tags);
		json_decref(tags);
		const char *action = json_string_value(json_object_get(t, "action"));
		if (!selected) {
			json_decref(active);
			continue;
		}
		if (r->o->start_at_task && !r->start_found) {
			_cleanup_free_ char *name = px_task_name(t, NULL);
			const char *plain = json_string_value(json_object_get(t, "name"));
			if (strcmp(name, r->o->start_at_task) != 0 &&
			    !(plain && strcmp(plain, r->o->start_at_task) == 0)) {
				json_decref(active);
				continue;
			}
			r->start_found = true;
		}
		if (strcmp(action, "meta") == 0) {
			px_meta(r, pp, ch, t, active);
			json_decref(active);
			continue;
		}
		/* run_once: the first host runs; every host gets the result */
		bool run_once = px_kw_bool(NULL, px_kw(pp, ch, t, "run_once"), false);
		json_t *targets =
		    run_once ? json_pack("[O]", json_array_get(active, 0)) : json_incref(active);
		if (!px_inline ||
		    px_inline == px_host_find(r, json_string_value(json_array_get(active, 0))))
			px_task_start(r, ch, t, false, targets);
		if (strcmp(action, "include_tasks") == 0 || strcmp(action, "include_role") == 0)
			px_include(r, pp, ch, t, targets, depth);
		else {
			px_dispatch(r, pp, ch, t, targets);
			if (run_once) {
				struct px_host *first =
				    px_host_get(r, json_string_value(json_array_get(targets, 0)));
				const char *reg =
				    json_string_value(json_object_get(t, "register"));
				size_t k;
				json_t *hv;
				json_array_foreach(active, k, hv)
				{
					struct px_host *h = px_host_get(r, json_string_value(hv));
					if (h == first)
						continue;
					pthread_mutex_lock(&r->lock);
					if (reg && first->last_result)
						json_object_set(
						    h->host_vars, reg, first->last_result);
					const json_t *facts =
					    json_object_get(first->last_result, "ansible_facts");
					if (json_is_object(facts) &&
					    (strcmp(action, "set_fact") == 0 ||
					        strcmp(action, "include_vars") == 0))
						json_object_update(h->host_vars, (json_t *)facts);
					json_object_update(h->notified, first->notified);
					pthread_mutex_unlock(&r->lock);
				}
			}
		}
		px_check_fatal(r, pp, ch, t, targets);
		json_decref(targets);
		json_decref(active);
	}
	return 0;
}

/* --- plays --------------------------------------------------------------------------------- */

struct px_free_job {
	struct px_run *r;
	struct px_play *pp;
};

/* The sections of a play for some hosts, with handler flushes between them. */
static void
px_sections(struct px_run *r, struct px_play *pp, json_t *hosts)
{
	static const char *const sections[] = {"pre_tasks", "roles", "tasks", "post_tasks"};

	for (size_t s = 0; s < nitems(sections) && !pp->end_play; s++) {
		const json_t *list = json_object_get(pp->play, sections[s]);
		json_t *active;
		if (list)
			px_list(r, pp, list, hosts, NULL, 0);
		if (s == 1) /* roles and tasks flush together */
			continue;
		active = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(hosts, i, v)
		{
			struct px_host *h = px_host_find(r, json_string_value(v));
			if (h && json_object_size(h->notified) && !h->unreachable &&
			    (!h->failed || pp->force_handlers))
				json_array_append(active, v);
		}
		if (json_array_size(active) && !pp->end_play)
			px_flush(r, pp, active);
		json_decref(active);
	}
}

/* Free strategy: one host walks the whole play on its own thread. */
static void
px_job_free(struct px_host *h, void *arg)
{
	struct px_free_job *j = arg;
	json_t *me = json_pack("[s]", h->name);

	px_inline = h;
	px_sections(j->r, j->pp, me);
	px_inline = NULL;
	json_decref(me);
}

/* Batches for serial: an int, a percentage, or a list of them (the last repeats). */
static json_t *
px_batches(const json_t *serial, const json_t *hosts, const json_t *vars)
{
	json_t *out = json_array(), *sizes;
	size_t n = json_array_size(hosts), pos = 0, idx = 0;

	if (!serial || json_is_null(serial)) {
		json_array_append_new(out, json_copy((json_t *)hosts));
		return out;
	}
	sizes = json_is_array(serial) ? json_incref((json_t *)serial) : json_pack("[O]", serial);
	while (pos < n) {
		const json_t *sv = json_array_get(
		    sizes, idx < json_array_size(sizes) ? idx : json_array_size(sizes) - 1);
		long long size = 0;
		if (json_is_integer(sv))
			size = json_integer_value(sv);
		else if (json_is_string(sv)) {
			_cleanup_free_ char *s = NULL;
			if (vars_template_str(vars, json_string_value(sv), &s, NULL) == 0) {
				size_t l = strlen(s);
				if (l && s[l - 1] == '%') {
					s[l - 1] = '\0';
					long long pct;
					if (str_to_ll(str_trim(s), 0, 100, &pct) == 0)
						size =
						    (long long)((double)n * (double)pct / 100.0);
					if (size < 1)
						size = 1;
				} else if (str_to_ll(str_trim(s), 0, LLONG_MAX, &size) < 0)
					size = 0;
			}
		}
		if (size <= 0)
			size = (long long)n;
		json_t *b = json_array();
		for (long long i = 0; i < size && pos < n; i++)
			json_array_append(b, json_array_get(hosts, pos++));
		json_array_append_new(out, b);
		idx++;
	}
	json_decref(sizes);
	return out;
}

/* Compare names for `order: sorted`. */
static int
px_name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The play's hosts, after --limit and order. */
static int
px_play_hosts(
    struct px_run *r, const json_t *play, const json_t *vars, json_t **ret, struct dr_error *err)
{
	const json_t *hk = json_object_get(play, "hosts");
	_cleanup_free_ char *pattern = NULL;
	json_t *hosts = NULL;

	if (json_is_array(hk)) {
		struct buf b = BUF_INIT(0);
		size_t i;
		json_t *v;
		json_array_foreach(hk, i, v)
		{
			if (i)
				buf_addc(&b, ',');
			buf_adds(&b, json_is_string(v) ? json_string_value(v) : "");
		}
		pattern = buf_steal(&b);
	} else
		pattern = xstrdup(json_string_value(hk));
	if (strstr(pattern, "{{")) {
		char *t;
		if (vars_template_str(vars, pattern, &t, err) < 0)
			return dr_error_prefix(err,
			    "%s: hosts: ", json_string_value(json_object_get(play, "__where")));
		free(pattern);
		pattern = t;
	}
	if (inventory_match(r->inv, pattern, &hosts, err) < 0)
		return -1;
	/* the implicit localhost */
	if (json_array_size(hosts) == 0 &&
	    (strcmp(pattern, "localhost") == 0 || strcmp(pattern, "127.0.0.1") == 0))
		json_array_append_new(hosts, json_string(pattern));
	if (r->o->limit) {
		json_t *lim = NULL, *out = json_array(), *v;
		size_t i;
		_cleanup_free_ char *lp = NULL;
		if (r->o->limit[0] == '@') {
			char *text;
			size_t len;
			if (file_read(r->o->limit + 1, 1u << 20, &text, &len, err) < 0) {
				json_decref(hosts);
				json_decref(out);
				return -1;
			}
			for (char *p = text; *p; p++)
				if (*p == '\n')
					*p = ',';
			lp = text;
		} else
			lp = xstrdup(r->o->limit);
		if (inventory_match(r->inv, lp, &lim, err) < 0) {
			json_decref(hosts);
			json_decref(out);
			return -1;
		}
		json_array_foreach(hosts, i, v) if (px_has(lim, json_string_value(v)))
		    json_array_append(out, v);
		json_decref(lim);
		json_decref(hosts);
		hosts = out;
	}
	const char *order = json_string_value(json_object_get(play, "order"));
	if (order && strcmp(order, "inventory") != 0) {
		size_t n = json_array_size(hosts);
		const char **names = xcalloc(n + 1, sizeof *names);
		for (size_t i = 0; i < n; i++)
			names[i] = json_string_value(json_array_get(hosts, i));
		if (strcmp(order, "sorted") == 0 || strcmp(order, "reverse_sorted") == 0)
			qsort(names, n, sizeof *names, px_name_cmp);
		if (strcmp(order, "shuffle") == 0)
			for (size_t i = n; i > 1; i--) {
				size_t j = (size_t)rand() % i;
				const char *t = names[i - 1];
				names[i - 1] = names[j];
				names[j] = t;
			}
		json_t *out = json_array();
		bool rev = strcmp(order, "reverse_sorted") == 0 ||
		    strcmp(order, "reverse_inventory") == 0;
		for (size_t i = 0; i < n; i++)
			json_array_append_new(out, json_string(names[rev ? n - 1 - i : i]));
		free(names);
		json_decref(hosts);
		hosts = out;
	}
	*ret = hosts;
	return 0;
}

/* Play vars and vars_files (a list entry that is a list: the first file that exists). */
static int
px_play_vars(struct px_run *r, const json_t *play, json_t **ret, struct dr_error *err)
{
	json_t *vars = json_object(), *vf = json_object_get(play, "vars_files"), *ctx, *f;
	size_t i;

	px_merge(vars, json_object_get(play, "vars"));
	if (!vf || json_is_null(vf)) {
		*ret = vars;
		return 0;
	}
	ctx = json_copy(vars);
	px_merge(ctx, r->o->extra_vars);
	json_object_set_new(ctx, "playbook_dir", json_string(playbook_dir(r->pb)));
	json_t *list = json_is_array(vf) ? json_incref(vf) : json_pack("[O]", vf);
	json_array_foreach(list, i, f)
	{
		json_t *cands = json_is_array(f) ? json_incref(f) : json_pack("[O]", f), *c;
		size_t k;
		bool loaded = false;
		json_array_foreach(cands, k, c)
		{
			char *name = NULL;
			json_t *v;
			if (!json_is_string(c) ||
			    vars_template_str(ctx, json_string_value(c), &name, err) < 0) {
				json_decref(cands);
				json_decref(list);
				json_decref(ctx);
				json_decref(vars);
				return dr_error_prefix(err, "vars_files: ");
			}
			_cleanup_free_ char *path = name[0] == '/'
			    ? xstrdup(name)
			    : xasprintf("%s/%s", json_string_value(json_object_get(play, "__dir")),
			          name);
			free(name);
			if (access(path, R_OK) != 0 && json_array_size(cands) > 1 &&
			    k + 1 < json_array_size(cands))
				continue;
			if (vars_file_load(path, &v, err) < 0) {
				json_decref(cands);
				json_decref(list);
				json_decref(ctx);
				json_decref(vars);
				return -1;
			}
			json_object_update(vars, v);
			json_decref(v);
			loaded = true;
			break;
		}
		(void)loaded;
		json_decref(cands);
	}
	json_decref(list);
	json_decref(ctx);
	*ret = vars;
	return 0;
}

/* A comma list as an array (NULL for NULL). */
static json_t *
px_csv(const char *s)
{
	json_t *a;
	_cleanup_free_ char *c = NULL;
	char *save = NULL;

	if (!s)
		return NULL;
	a = json_array();
	c = xstrdup(s);
	for (char *t = strtok_r(c, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (*str_trim(t))
			json_array_append_new(a, json_string(t));
	return a;
}

/* One play. */
static int
px_play(struct px_run *r, const json_t *play, struct dr_error *err)
{
	struct px_play pp = {.play = play, .max_fail_pct = -1};
	json_t *ctx = json_object(), *batches = NULL, *b;
	size_t i;
	int rc = 0;
	const json_t *x;

	px_merge(ctx, json_object_get(play, "vars"));
	px_merge(ctx, r->o->extra_vars);
	json_object_set(ctx, "groups", r->groups);
	if (json_object_get(play, "__import_when")) {
		bool ok = true;
		if (vars_cond(ctx, json_object_get(play, "__import_when"), &ok, err) < 0) {
			json_decref(ctx);
			return -1;
		}
		if (!ok) {
			json_decref(ctx);
			return 0;
		}
	}
	if (px_play_hosts(r, play, ctx, &pp.hosts, err) < 0 ||
	    px_play_vars(r, play, &pp.vars, err) < 0) {
		json_decref(pp.hosts);
		json_decref(ctx);
		return -1;
	}
	pp.handlers = json_copy(json_object_get(play, "handlers"));
	if (!pp.handlers)
		pp.handlers = json_array();
	{
		char *dump = json_dumps(play, JSON_COMPACT);
		pp.uses_hostvars = dump && strstr(dump, "hostvars");
		free(dump);
	}
	pp.force_handlers = px_kw_bool(ctx, json_object_get(play, "force_handlers"), false);
	pp.any_errors_fatal = px_kw_bool(ctx, json_object_get(play, "any_errors_fatal"), false);
	if ((x = json_object_get(play, "max_fail_percentage")) != NULL)
		pp.max_fail_pct =
		    json_is_number(x) ? json_number_value(x) : (double)px_kw_int(ctx, x, -1);
	_cleanup_free_ char *strategy = NULL;
	bool f = false;
	strategy = px_kw_str(ctx, json_object_get(play, "strategy"), err, &f);
	pp.strategy = strategy ? strategy : "linear";
	r->play = &pp;
	const json_t *nm = json_object_get(play, "name");
	json_t *hk = json_object_get(play, "hosts");
	_cleanup_free_ char *hosts_text =
	    json_is_string(hk) ? xstrdup(json_string_value(hk)) : json_dumps(hk, JSON_COMPACT);
	if (json_array_size(pp.hosts) == 0) {
		px_event(r,
		    json_pack("{s:s,s:s}", "event", "play_start", "play",
		        json_is_string(nm) ? json_string_value(nm) : hosts_text));
		px_event(r,
		    json_pack(
		        "{s:s,s:s}", "event", "no_hosts", "msg", "skipping: no hosts matched"));
		goto out;
	}
	batches = px_batches(json_object_get(play, "serial"), pp.hosts, ctx);
	json_array_foreach(batches, i, b)
	{
		json_t *active;
		_cleanup_free_ char *pname = NULL;
		if (json_is_string(nm) &&
		    vars_template_str(ctx, json_string_value(nm), &pname, NULL) < 0)
			pname = xstrdup(json_string_value(nm));
		pp.batch = b;
		for (size_t k = 0; k < json_array_size(b); k++)
			px_host_get(r, json_string_value(json_array_get(b, k)));
		px_event(r,
		    json_pack(
		        "{s:s,s:s}", "event", "play_start", "play", pname ? pname : hosts_text));
		active = px_active(r, b);
		if (json_array_size(active) == 0) {
			json_decref(active);
			break;
		}
		json_t *always = json_pack("[s]", "always");
		bool gather = px_kw_bool(ctx, json_object_get(play, "gather_facts"), true) &&
		    px_tags_match(r, always);
		json_decref(always);
		if (gather) {
			/* Gathering Facts: a setup task of its own, tagged always as Ansible's */
			json_t *gt = json_pack("{s:s,s:s,s:{},s:s,s:[s]}", "name",
			    "Gathering Facts", "action", "setup", "args", "__where",
			    json_string_value(json_object_get(play, "__where")), "tags", "always");
			const json_t *gs = json_object_get(play, "gather_subset");
			if (gs)
				json_object_set(
				    json_object_get(gt, "args"), "gather_subset", (json_t *)gs);
			px_task_start(r, NULL, gt, false, active);
			px_dispatch(r, &pp, NULL, gt, active);
			px_check_fatal(r, &pp, NULL, gt, active);
			json_decref(gt);
		}
		if (strcmp(pp.strategy, "free") == 0) {
			struct px_free_job fj = {r, &pp};
			size_t k;
			json_t *v;
			json_array_foreach(active, k, v)
			    px_host_post(px_host_get(r, json_string_value(v)), px_job_free, &fj);
			json_array_foreach(active, k, v)
			    px_host_wait(px_host_get(r, json_string_value(v)));
		} else
			px_sections(r, &pp, active);
		json_decref(active);
		/* a batch where every host failed ends the play */
		active = px_active(r, b);
		bool all_failed = json_array_size(active) == 0;
		json_decref(active);
		if (pp.end_play || (all_failed && json_object_get(play, "serial")))
			break;
		if (r->o->cancel && *r->o->cancel)
			break;
	}
out:
	/* hosts that ended with end_host come back for the next play */
	for (size_t k = 0; k < r->nhosts; k++)
		r->hosts[k]->ended = false;
	r->play = NULL;
	json_decref(batches);
	json_decref(pp.hosts);
	json_decref(pp.vars);
	json_decref(pp.handlers);
	json_decref(ctx);
	return rc;
}

/* Run every play. */
int
play_run(
    struct playbook *pb, struct inventory *inv, const struct play_opts *o, struct dr_error *err)
{
	struct px_run r = {.pb = pb, .inv = inv, .o = o};
	const json_t *plays = playbook_plays(pb), *p;
	size_t i;
	int rc = PLAY_RC_OK, forks = o->forks;
	json_t *recap;

	vars_init();
	if (forks <= 0)
		forks = PLAY_FORKS_MAX;
	pthread_mutex_init(&r.lock, NULL);
	sem_init(&r.forks, 0, (unsigned)forks);
	r.groups = inventory_groups(inv);
	r.tags = px_csv(o->tags);
	r.skip_tags = px_csv(o->skip_tags);
	json_array_foreach(plays, i, p)
	{
		if (px_play(&r, p, err) < 0) {
			rc = PLAY_RC_ERROR;
			break;
		}
		if (o->cancel && *o->cancel)
			break;
	}
	recap = json_object();
	for (i = 0; i < r.nhosts; i++) {
		struct px_host *h = r.hosts[i];
		json_object_set_new(recap, h->name,
		    json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i}", "ok", h->ok, "changed", h->changed,
		        "unreachable", h->nunreachable, "failed", h->nfailed, "skipped",
		        h->skipped, "rescued", h->rescued, "ignored", h->ignored));
		if (rc == PLAY_RC_OK || rc == PLAY_RC_FAILED) {
			if (h->nunreachable)
				rc = PLAY_RC_UNREACHABLE;
			else if (h->nfailed && rc == PLAY_RC_OK)
				rc = PLAY_RC_FAILED;
		}
	}
	if (rc != PLAY_RC_ERROR || r.nhosts)
		px_event(&r, json_pack("{s:s,s:O}", "event", "recap", "hosts", recap));
	json_decref(recap);
	px_hosts_free(&r);
	json_decref(r.groups);
	json_decref(r.tags);
	json_decref(r.skip_tags);
	sem_destroy(&r.forks);
	pthread_mutex_destroy(&r.lock);
	return rc;
}

/* Names of the tasks of a list (blocks flattened), for --list-tasks. */
static void
px_list_names(
    const struct px_run *r, const json_t *tasks, const struct px_chain *ch, json_t *out, int depth)
{
	size_t i;
	json_t *t;

	if (depth > PX_MAX_DEPTH)
		return;
	json_array_foreach(tasks, i, t)
	{
		if (json_object_get(t, "block")) {
			struct px_chain link = {.up = ch, .obj = t};
			static const char *const parts[] = {"block", "rescue", "always"};
			for (size_t k = 0; k < nitems(parts); k++)
				px_list_names(
				    r, json_object_get(t, parts[k]), &link, out, depth + 1);
			continue;
		}
		json_t *tags = px_tags(NULL, ch, t);
		if (px_tags_match(r, tags)) {
			char *name = px_task_name(t, NULL);
			json_array_append_new(
			    out, json_pack("{s:s,s:O}", "name", name, "tags", tags));
			free(name);
		}
		json_decref(tags);
	}
}

/* --list-hosts and --list-tasks. */
int
play_list(struct playbook *pb, struct inventory *inv, const struct play_opts *o, bool hosts,
    bool tasks, struct dr_error *err)
{
	struct px_run r = {.pb = pb, .inv = inv, .o = o};
	const json_t *plays = playbook_plays(pb), *p;
	size_t i;
	int rc = 0;

	vars_init();
	pthread_mutex_init(&r.lock, NULL);
	r.tags = px_csv(o->tags);
	r.skip_tags = px_csv(o->skip_tags);
	json_array_foreach(plays, i, p)
	{
		json_t *ctx = json_object(), *hl = NULL, *tl = json_array();
		px_merge(ctx, json_object_get(p, "vars"));
		px_merge(ctx, o->extra_vars);
		if (px_play_hosts(&r, p, ctx, &hl, err) < 0) {
			json_decref(ctx);
			json_decref(tl);
			rc = -1;
			break;
		}
		static const char *const sections[] = {
		    "pre_tasks", "roles", "tasks", "post_tasks"};
		for (size_t s = 0; s < nitems(sections); s++)
			px_list_names(&r, json_object_get(p, sections[s]), NULL, tl, 0);
		const json_t *nm = json_object_get(p, "name");
		json_t *ev = json_pack("{s:s,s:I,s:O,s:O}", "event", "list", "play",
		    (json_int_t)i + 1, "pattern", json_object_get(p, "hosts"), "name",
		    nm ? nm : json_object_get(p, "hosts"));
		if (hosts)
			json_object_set(ev, "hosts", hl);
		if (tasks)
			json_object_set(ev, "tasks", tl);
		px_event(&r, ev);
		json_decref(hl);
		json_decref(tl);
		json_decref(ctx);
	}
	json_decref(r.tags);
	json_decref(r.skip_tags);
	pthread_mutex_destroy(&r.lock);
	return rc;
}
