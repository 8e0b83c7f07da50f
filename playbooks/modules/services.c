/*
 * modules/services.c - systemd (systemd_service) and service: unit files enabled and
 * masked with systemctl (which works on the unit files itself when no manager runs, as in
 * a chroot or a container), running state from the manager; service dispatches on the
 * service_mgr fact and drives SysV init scripts (service, update-rc.d) elsewhere.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbooks/playbooks.h"

/* Run cmd; fills *r (caller frees); -1 only when it could not run at all. */
static int
svc_exec(struct module_ctx *m, const char *cmd, struct conn_result *r, struct dr_error *err)
{
	memset(r, 0, sizeof *r);
	return module_exec(m, cmd, NULL, 0, r, err);
}

/* `systemctl show` output (Key=Value lines) as an object. */
static json_t *
svc_show_parse(const char *text)
{
	json_t *o = json_object();
	_cleanup_free_ char *t = xstrdup(text);
	char *save = NULL;

	for (char *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(l, '=');
		if (!eq)
			continue;
		*eq = '\0';
		json_object_set_new(o, l, json_string(eq + 1));
	}
	return o;
}

/* The systemctl command for the module's scope and flags. */
static char *
svc_systemctl(const struct module_ctx *m)
{
	const char *scope = module_str(m, "scope");

	return xasprintf("SYSTEMD_PAGER= LC_ALL=C systemctl%s%s%s",
	    scope && strcmp(scope, "user") == 0         ? " --user"
	        : scope && strcmp(scope, "global") == 0 ? " --global"
	                                                : "",
	    module_bool(m, "no_block") ? " --no-block" : "",
	    module_bool(m, "force") ? " --force" : "");
}

/* Run `systemctl ARGS 'unit'`; *ret_out gets trimmed stdout+stderr; returns the status. */
static int
svc_systemctl_run(struct module_ctx *m, const char *sc, const char *verb, const char *unit,
    char **ret_out, struct dr_error *err)
{
	_cleanup_free_ char *q = unit ? conn_quote(unit) : xstrdup("");
	_cleanup_free_ char *cmd = xasprintf("%s %s %s", sc, verb, q);
	struct conn_result r;

	if (svc_exec(m, cmd, &r, err) < 0)
		return -1;
	int st = r.status;
	if (ret_out)
		*ret_out = xasprintf(
		    "%s%s%s", str_trim(r.out), *r.out && *r.err ? "\n" : "", str_trim(r.err));
	conn_result_free(&r);
	return st;
}

/* systemd: daemon_reload, masked, enabled, then state, in ansible-core's order. */
static int
svc_systemd(struct module_ctx *m, struct dr_error *err)
{
	const char *unit = module_str(m, "name"), *state = module_str(m, "state");
	const json_t *enabled = json_object_get(m->args, "enabled");
	const json_t *masked = json_object_get(m->args, "masked");
	_cleanup_free_ char *sc = svc_systemctl(m), *out = NULL;
	_cleanup_json_ json_t *status = json_object();
	bool changed = false, found = false;
	int st;

	if ((state || json_is_boolean(enabled) || json_is_boolean(masked)) && !unit)
		return dr_error_set(err, "name is required when state, enabled or masked is set");
	if (module_bool(m, "daemon_reload") && !m->check) {
		st = svc_systemctl_run(m, sc, "daemon-reload", NULL, &out, err);
		if (st < 0)
			return -1;
		if (st != 0)
			return dr_error_set(err, "failure %d during daemon-reload: %s", st, out);
		free(out);
		out = NULL;
	}
	if (module_bool(m, "daemon_reexec") && !m->check) {
		st = svc_systemctl_run(m, sc, "daemon-reexec", NULL, &out, err);
		if (st < 0)
			return -1;
		if (st != 0)
			return dr_error_set(err, "failure %d during daemon-reexec: %s", st, out);
		free(out);
		out = NULL;
	}
	if (!unit) {
		json_object_set_new(m->result, "changed", json_false());
		return 0;
	}
	json_object_set_new(m->result, "name", json_string(unit));
	/* what the manager knows of the unit; without a manager, the unit files */
	_cleanup_free_ char *q = conn_quote(unit);
	_cleanup_free_ char *show = xasprintf("%s show %s", sc, q);
	struct conn_result r;
	if (svc_exec(m, show, &r, err) < 0)
		return -1;
	if (r.status == 0 && *r.out) {
		json_decref(status);
		status = svc_show_parse(r.out);
		const char *load = json_string_value(json_object_get(status, "LoadState"));
		found = load && strcmp(load, "not-found") != 0;
		const char *lerr = json_string_value(json_object_get(status, "LoadError"));
		if (found && strcmp(load, "masked") != 0 && lerr && *lerr) {
			conn_result_free(&r);
			return dr_error_set(err, "Error loading unit file '%s': %s", unit, lerr);
		}
	} else {
		char *ie = NULL;
		st = svc_systemctl_run(m, sc, "is-enabled", unit, &ie, err);
		if (st < 0) {
			conn_result_free(&r);
			return -1;
		}
		static const char *const states[] = {"enabled", "enabled-runtime", "linked",
		    "linked-runtime", "masked", "masked-runtime", "static", "indirect", "disabled",
		    "generated", "transient", "alias"};
		for (size_t i = 0; i < nitems(states); i++)
			if (strcmp(ie, states[i]) == 0)
				found = true;
		free(ie);
		if (!found && svc_systemctl_run(m, sc, "list-unit-files", unit, NULL, err) == 0)
			found = true;
	}
	conn_result_free(&r);
	/* an init script counts as found (systemd's sysv generator runs it) */
	if (!found) {
		_cleanup_free_ char *base = xstrdup(unit);
		if (str_has_suffix(base, ".service"))
			base[strlen(base) - strlen(".service")] = '\0';
		_cleanup_free_ char *qb = conn_quote(base);
		_cleanup_free_ char *t = xasprintf("test -x /etc/init.d/%s", qb);
		if (svc_exec(m, t, &r, err) < 0)
			return -1;
		found = r.status == 0;
		conn_result_free(&r);
	}
	if (json_is_boolean(masked)) {
		char *ie = NULL;
		if (svc_systemctl_run(m, sc, "is-enabled", unit, &ie, err) < 0)
			return -1;
		bool is_masked = strcmp(ie, "masked") == 0 || strcmp(ie, "masked-runtime") == 0;
		free(ie);
		if (is_masked != json_is_true(masked)) {
			const char *action = json_is_true(masked) ? "mask" : "unmask";
			changed = true;
			if (!m->check) {
				st = svc_systemctl_run(m, sc, action, unit, &out, err);
				if (st < 0)
					return -1;
				if (st != 0) {
					if (!found)
						return dr_error_set(err,
						    "Could not find the requested service %s: "
						    "host",
						    unit);
					return dr_error_set(
					    err, "Unable to %s service %s: %s", action, unit, out);
				}
				free(out);
				out = NULL;
			}
		}
	}
	if (json_is_boolean(enabled)) {
		if (!found)
			return dr_error_set(
			    err, "Could not find the requested service %s: host", unit);
		_cleanup_free_ char *ie = NULL;
		_cleanup_free_ char *verb = xasprintf("is-enabled -l");
		st = svc_systemctl_run(m, sc, verb, unit, &ie, err);
		if (st < 0)
			return -1;
		bool is = st == 0 && strcmp(ie, "indirect") != 0 && strcmp(ie, "alias") != 0;
		json_object_set_new(m->result, "enabled", json_boolean(is));
		if (is != json_is_true(enabled)) {
			const char *action = json_is_true(enabled) ? "enable" : "disable";
			changed = true;
			if (!m->check) {
				st = svc_systemctl_run(m, sc, action, unit, &out, err);
				if (st < 0)
					return -1;
				if (st != 0)
					return dr_error_set(
					    err, "Unable to %s service %s: %s", action, unit, out);
				free(out);
				out = NULL;
			}
			json_object_set_new(
			    m->result, "enabled", json_boolean(json_is_true(enabled)));
		}
	}
	if (state) {
		if (!found)
			return dr_error_set(
			    err, "Could not find the requested service %s: host", unit);
		const char *as = json_string_value(json_object_get(status, "ActiveState"));
		if (!as) {
			json_object_set(m->result, "status", status);
			return dr_error_set(err, "Service is in unknown state");
		}
		bool running = strcmp(as, "active") == 0 || strcmp(as, "activating") == 0;
		const char *action = NULL;
		json_object_set_new(m->result, "state", json_string(state));
		if (strcmp(state, "started") == 0) {
			if (!running)
				action = "start";
		} else if (strcmp(state, "stopped") == 0) {
			if (running || strcmp(as, "deactivating") == 0)
				action = "stop";
		} else {
			action = !running                     ? "start"
			    : strcmp(state, "restarted") == 0 ? "restart"
			                                      : "reload";
			json_object_set_new(m->result, "state", json_string("started"));
		}
		if (action) {
			changed = true;
			if (!m->check) {
				st = svc_systemctl_run(m, sc, action, unit, &out, err);
				if (st < 0)
					return -1;
				if (st != 0)
					return dr_error_set(
					    err, "Unable to %s service %s: %s", action, unit, out);
			}
		}
	}
	json_object_set(m->result, "status", status);
	json_object_set_new(m->result, "changed", json_boolean(changed));
	return 0;
}

static const struct module_arg svc_systemd_args[] = {
    {"name", MT_STR, false, NULL, NULL, "service|unit"},
    {"state", MT_STR, false, NULL, "reloaded|restarted|started|stopped", NULL},
    {"enabled", MT_BOOL, false, NULL, NULL, NULL},
    {"force", MT_BOOL, false, NULL, NULL, NULL},
    {"masked", MT_BOOL, false, NULL, NULL, NULL},
    {"daemon_reload", MT_BOOL, false, "no", NULL, "daemon-reload"},
    {"daemon_reexec", MT_BOOL, false, "no", NULL, "daemon-reexec"},
    {"scope", MT_STR, false, "system", "system|user|global", NULL},
    {"no_block", MT_BOOL, false, "no", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/*
 * Whether a SysV service runs, as ansible-core's LinuxService decides it from
 * `service NAME status`: LSB codes 1-4 (and 69) mean stopped, 0 running; otherwise a
 * one-line answer is read for "stop"/"run"/"start".
 */
static int
svc_sysv_running(
    struct module_ctx *m, const char *name, const char *pattern, bool *ret, struct dr_error *err)
{
	struct conn_result r;
	_cleanup_free_ char *cmd = NULL;

	if (pattern) {
		_cleanup_free_ char *qp = conn_quote(pattern);
		cmd = xasprintf("ps auxww | grep -v grep | grep -v \"$$\" | grep -q -E -- %s", qp);
		if (svc_exec(m, cmd, &r, err) < 0)
			return -1;
		*ret = r.status == 0;
		conn_result_free(&r);
		return 0;
	}
	_cleanup_free_ char *qn = conn_quote(name);
	cmd = xasprintf("LC_ALL=C service %s status", qn);
	if (svc_exec(m, cmd, &r, err) < 0)
		return -1;
	int st = r.status;
	if (st == 0)
		*ret = true;
	else if ((st >= 1 && st <= 4) || st == 69)
		*ret = false;
	else {
		_cleanup_free_ char *lower = xstrdup(r.out);
		for (char *p = lower; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		*ret = !strstr(lower, "stop") && strstr(lower, "run") && !strstr(lower, "not ");
	}
	conn_result_free(&r);
	return 0;
}

/* service for hosts without systemd: init scripts through `service`, enabled through
 * update-rc.d (its S links in /etc/rc?.d) or chkconfig. */
static int
svc_sysv(struct module_ctx *m, struct dr_error *err)
{
	const char *name = module_str(m, "name"), *state = module_str(m, "state");
	const char *args = module_str(m, "arguments"), *pattern = module_str(m, "pattern");
	const json_t *enabled = json_object_get(m->args, "enabled");
	_cleanup_free_ char *qn = conn_quote(name), *qa = conn_quote(args ? args : "");
	struct conn_result r;
	bool changed = false, running = false;

	json_object_set_new(m->result, "name", json_string(name));
	if (!state && !json_is_boolean(enabled))
		return dr_error_set(err, "Neither argument state nor enabled was given");
	_cleanup_free_ char *exists = xasprintf("test -x /etc/init.d/%s", qn);
	if (svc_exec(m, exists, &r, err) < 0)
		return -1;
	int st = r.status;
	conn_result_free(&r);
	if (st != 0)
		return dr_error_set(err, "Could not find the requested service %s: host", name);
	if (json_is_boolean(enabled)) {
		_cleanup_free_ char *chk = xasprintf(
		    "if command -v update-rc.d >/dev/null; then set -- /etc/rc?.d/S??%s; "
		    "[ -e \"$1\" ] && echo enabled; set -- /etc/rc?.d/K??%s; [ -e \"$1\" ] && "
		    "echo klinks; echo update-rc.d; elif command -v chkconfig >/dev/null; then "
		    "chkconfig --list %s 2>/dev/null | grep -q ':on' && echo enabled; "
		    "echo chkconfig; else echo none; fi",
		    qn, qn, qn);
		if (svc_exec(m, chk, &r, err) < 0)
			return -1;
		bool is = strstr(r.out, "enabled\n") != NULL,
		     klinks = strstr(r.out, "klinks") != NULL;
		const char *tool = strstr(r.out, "update-rc.d") ? "update-rc.d"
		    : strstr(r.out, "chkconfig")                ? "chkconfig"
		                                                : NULL;
		conn_result_free(&r);
		if (!tool)
			return dr_error_set(err, "no service or tool found for: %s", name);
		if (is != json_is_true(enabled)) {
			changed = true;
			bool on = json_is_true(enabled);
			_cleanup_free_ char *c = strcmp(tool, "chkconfig") == 0
			    ? xasprintf("chkconfig %s %s", qn, on ? "on" : "off")
			    : on && !klinks
			    ? xasprintf("update-rc.d %s defaults && update-rc.d %s enable", qn, qn)
			    : xasprintf("update-rc.d %s %s", qn, on ? "enable" : "disable");
			if (!m->check) {
				if (svc_exec(m, c, &r, err) < 0)
					return -1;
				if (r.status != 0) {
					dr_error_set(err, "Error when trying to %s %s: rc=%d %s",
					    on ? "enable" : "disable", name, r.status,
					    str_trim(r.err));
					conn_result_free(&r);
					return -1;
				}
				conn_result_free(&r);
			}
		}
		json_object_set_new(m->result, "enabled", json_boolean(json_is_true(enabled)));
	}
	if (state) {
		const char *action = NULL;
		bool restart = strcmp(state, "restarted") == 0;
		if (svc_sysv_running(m, name, pattern, &running, err) < 0)
			return -1;
		if (strcmp(state, "started") == 0 && !running)
			action = "start";
		else if (strcmp(state, "stopped") == 0 && running)
			action = "stop";
		else if (strcmp(state, "restarted") == 0)
			action = "restart";
		else if (strcmp(state, "reloaded") == 0)
			action = running ? "reload" : "start";
		json_object_set_new(m->result, "state", json_string(state));
		if (action) {
			changed = true;
			long long sleep_s = module_int(m, "sleep");
			_cleanup_free_ char *c = restart && sleep_s > 0
			    ? xasprintf("service %s stop %s; sleep %lld; service %s start %s", qn,
			          qa, sleep_s, qn, qa)
			    : xasprintf("service %s %s %s", qn, action, qa);
			if (!m->check) {
				if (svc_exec(m, c, &r, err) < 0)
					return -1;
				if (r.status != 0) {
					dr_error_set(err, "Unable to %s service %s: %s", action,
					    name, *r.err ? str_trim(r.err) : str_trim(r.out));
					conn_result_free(&r);
					return -1;
				}
				conn_result_free(&r);
			}
		}
	}
	json_object_set_new(m->result, "changed", json_boolean(changed));
	return 0;
}

static const struct module_arg svc_service_args[] = {
    {"name", MT_STR, true, NULL, NULL, NULL},
    {"state", MT_STR, false, NULL, "reloaded|restarted|started|stopped", NULL},
    {"enabled", MT_BOOL, false, NULL, NULL, NULL},
    {"sleep", MT_INT, false, NULL, NULL, NULL},
    {"pattern", MT_STR, false, NULL, NULL, NULL},
    {"arguments", MT_STR, false, "", NULL, "args"},
    {"runlevel", MT_STR, false, "default", NULL, NULL},
    {"use", MT_STR, false, "auto", NULL, NULL},
    {NULL, 0, false, NULL, NULL, NULL},
};

/* service: systemd where the service_mgr fact (or `use`) says so, SysV scripts elsewhere. */
static int
svc_service(struct module_ctx *m, struct dr_error *err)
{
	const char *use = module_str(m, "use");
	const char *mgr = use && strcmp(use, "auto") != 0 ? use : NULL;

	if (!mgr)
		mgr = json_string_value(
		    json_object_get(json_object_get(m->vars, "ansible_facts"), "service_mgr"));
	if (!mgr)
		mgr = json_string_value(json_object_get(m->vars, "ansible_service_mgr"));
	bool systemd = mgr && strcmp(mgr, "systemd") == 0;
	if (!mgr) {
		/* no facts: what ansible-core's service_mgr collector looks at first */
		struct conn_result r;
		if (svc_exec(m, "test -d /run/systemd/system && command -v systemctl", &r, err) <
		    0)
			return -1;
		systemd = r.status == 0;
		conn_result_free(&r);
	}
	if (!systemd)
		return svc_sysv(m, err);
	const struct module *sd = module_find("systemd");
	json_t *a = json_pack("{s:O}", "name", json_object_get(m->args, "name"));
	if (module_str(m, "state"))
		json_object_set(a, "state", json_object_get(m->args, "state"));
	if (json_is_boolean(json_object_get(m->args, "enabled")))
		json_object_set(a, "enabled", json_object_get(m->args, "enabled"));
	json_t *checked = NULL;
	int rc = module_args_check(sd, a, &checked, err);
	json_decref(a);
	if (rc < 0)
		return -1;
	struct module_ctx sub = *m;
	sub.args = checked;
	rc = sd->run(&sub, err);
	json_decref(checked);
	return rc;
}

const struct module modules_services[] = {
    {"systemd", svc_systemd_args, svc_systemd, 0},
    {"service", svc_service_args, svc_service, 0},
};
const size_t modules_services_n = nitems(modules_services);
