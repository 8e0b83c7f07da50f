/* power.c - power for hosts: their VM's compute resource, or their BMC over Redfish or
 * IPMI (backends in a table); the host_power job kind; and the orchestration of create,
 * build and delete with rollback when a later step fails. */
#define LOG_COMPONENT "power"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "provisioner/provisioner.h"

extern char **environ;

#define POWER_OUTPUT_MAX 8192
#define POWER_IPMI_TIMEOUT_MS 20000
#define POWER_SETTLE_MS 10000 /* how long a BMC may take to reach the state asked for */
#define POWER_SETTLE_POLL_MS 500

/* The host's BMC interface (borrowed), or NULL. */
static const json_t *
power_bmc(const json_t *host)
{
	json_t *nic;
	size_t i;

	json_array_foreach(json_object_get(host, "interfaces"), i,
	    nic) if (json_is_string(json_object_get(nic, "type")) &&
	    strcmp(json_string_value(json_object_get(nic, "type")), "bmc") == 0) return nic;
	return NULL;
}

/* A Redfish base URL for a BMC: its url, or https://<ip>. The error messages name it
 * without credentials. */
static char *
power_redfish_base(const json_t *bmc)
{
	const char *url = json_string_value(json_object_get(bmc, "url"));
	const char *ip = json_string_value(json_object_get(bmc, "ip"));
	size_t len;
	char *b;

	b = url != NULL ? xstrdup(url) : xasprintf("https://%s", ip != NULL ? ip : "");
	len = strlen(b);
	while (len > 0 && b[len - 1] == '/')
		b[--len] = '\0';
	return b;
}

/* Percent-encoded copy of s (for userinfo in a URL). Caller frees. */
static char *
curl_escape_dup(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *r = xstrdup(e != NULL ? e : "");

	curl_free(e);
	return r;
}

/* base with user:password@ put in, for libcurl's basic authentication. */
static char *
power_redfish_auth_url(const char *base, const json_t *bmc, const char *path)
{
	const char *user = json_string_value(json_object_get(bmc, "username"));
	_cleanup_free_ char *pass =
	    secret_open(json_string_value(json_object_get(bmc, "password")));
	const char *sep = strstr(base, "://");
	char *eu, *ep, *r;

	if (user == NULL || sep == NULL)
		return xasprintf("%s%s", base, path);
	eu = curl_escape_dup(user);
	ep = curl_escape_dup(pass != NULL ? pass : "");
	r = xasprintf("%.*s%s:%s@%s%s", (int)(sep + 3 - base), base, eu, ep, sep + 3, path);
	free(eu);
	free(ep);
	return r;
}

/* One Redfish call; errors name base+path, never the credentials. */
static int
power_redfish_call(const char *base, const json_t *bmc, const char *method, const char *path,
    const json_t *body, json_t **ret, struct dr_error *err)
{
	_cleanup_free_ char *url = power_redfish_auth_url(base, bmc, path);
	struct http_client_opts o = {.connect_timeout_ms = 5000,
	    .timeout_ms = 30000,
	    .retries = 1,
	    .max_response = 1u << 20};
	struct dr_error e;
	long status = 0;

	if (http_json(method, url, body, &o, &status, ret, &e) < 0)
		return dr_error_set(err, "redfish %s%s: %s %s", base, path, method,
		    strstr(e.msg, "@") != NULL ? "failed (connection or TLS error)" : e.msg);
	if (status < 200 || status > 299) {
		if (ret != NULL) {
			json_decref(*ret);
			*ret = NULL;
		}
		return dr_error_set(
		    err, "redfish %s%s: %s answered %ld", base, path, method, status);
	}
	return 0;
}

/* The first system's path (/redfish/v1/Systems/<id>). Caller frees. */
static char *
power_redfish_system(const char *base, const json_t *bmc, struct dr_error *err)
{
	_cleanup_json_ json_t *sys = NULL;
	const char *id;

	if (power_redfish_call(base, bmc, "GET", "/redfish/v1/Systems", NULL, &sys, err) < 0)
		return NULL;
	id = json_string_value(
	    json_object_get(json_array_get(json_object_get(sys, "Members"), 0), "@odata.id"));
	if (id == NULL || !str_has_prefix(id, "/redfish/v1/Systems/")) {
		dr_error_set(err, "redfish %s: no system listed in /redfish/v1/Systems", base);
		return NULL;
	}
	return xstrdup(id);
}

/* Redfish: ComputerSystem.Reset, PowerState, one-time PXE boot. */
static int
power_redfish(const json_t *bmc, const char *action, char **ret_state, struct dr_error *err)
{
	static const struct {
		const char *action, *reset;
	} resets[] = {
	    {"on", "On"},
	    {"off", "ForceOff"},
	    {"soft", "GracefulShutdown"},
	    {"cycle", "ForceRestart"},
	};
	_cleanup_free_ char *base = power_redfish_base(bmc), *sys = NULL, *path = NULL;
	_cleanup_json_ json_t *state = NULL, *body = NULL;
	const char *ps;
	size_t i;

	if ((sys = power_redfish_system(base, bmc, err)) == NULL)
		return -1;
	if (strcmp(action, "pxe") == 0) {
		body = json_pack("{s:{s:s, s:s}}", "Boot", "BootSourceOverrideTarget", "Pxe",
		    "BootSourceOverrideEnabled", "Once");
		if (power_redfish_call(base, bmc, "PATCH", sys, body, NULL, err) < 0)
			return -1;
	}
	for (i = 0; i < nitems(resets); i++) {
		if (strcmp(resets[i].action, action) != 0)
			continue;
		body = json_pack("{s:s}", "ResetType", resets[i].reset);
		path = xasprintf("%s/Actions/ComputerSystem.Reset", sys);
		if (power_redfish_call(base, bmc, "POST", path, body, NULL, err) < 0)
			return -1;
	}
	if (power_redfish_call(base, bmc, "GET", sys, NULL, &state, err) < 0)
		return -1;
	ps = json_string_value(json_object_get(state, "PowerState"));
	if (ps == NULL)
		return dr_error_set(err, "redfish %s%s: no PowerState", base, sys);
	*ret_state = xstrdup(strcmp(ps, "On") == 0 ? "on" : strcmp(ps, "Off") == 0 ? "off" : ps);
	return 0;
}

/* Run ipmitool with args (no shell; the password goes through the environment), the
 * output in out (capped), bounded in time. */
static int
power_ipmitool(const json_t *bmc, const char *const *cmd, struct buf *out, struct dr_error *err)
{
	const char *ip = json_string_value(json_object_get(bmc, "ip"));
	const char *user = json_string_value(json_object_get(bmc, "username"));
	_cleanup_free_ char *pass =
	    secret_open(json_string_value(json_object_get(bmc, "password")));
	const char *port = NULL, *iface = "lanplus";
	const char *argv[24];
	_cleanup_free_ char *envpass = NULL, *portbuf = NULL, *host = NULL;
	char *envp[2];
	posix_spawn_file_actions_t fa;
	int fds[2], status = 0, n = 0;
	int64_t deadline;
	pid_t pid;
	size_t i;

	/* A url "ipmi://host[:port]" (IPMI 2.0, RMCP+) or "ipmi+lan://host[:port]" (IPMI 1.5,
	 * for older BMCs) wins over the ip. */
	if (json_string_value(json_object_get(bmc, "url")) != NULL) {
		const char *u = json_string_value(json_object_get(bmc, "url"));
		const char *h = u;
		if (str_has_prefix(u, "ipmi+lan://")) {
			iface = "lan";
			h = u + 11;
		} else if (str_has_prefix(u, "ipmi://")) {
			h = u + 7;
		}
		const char *colon = strrchr(h, ':');
		host = colon != NULL ? xstrndup(h, (size_t)(colon - h)) : xstrdup(h);
		if (colon != NULL)
			port = portbuf = xstrdup(colon + 1);
		ip = host;
	}
	if (ip == NULL)
		return dr_error_set(err, "ipmi: the BMC interface has neither ip nor url");
	argv[n++] = "ipmitool";
	argv[n++] = "-I";
	argv[n++] = iface;
	argv[n++] = "-H";
	argv[n++] = ip;
	if (port != NULL) {
		argv[n++] = "-p";
		argv[n++] = port;
	}
	argv[n++] = "-U";
	argv[n++] = user != NULL ? user : "";
	argv[n++] = "-E";
	argv[n++] = "-R";
	argv[n++] = "2";
	argv[n++] = "-N";
	argv[n++] = "2";
	for (i = 0; cmd[i] != NULL && n < (int)nitems(argv) - 1; i++)
		argv[n++] = cmd[i];
	argv[n] = NULL;
	envpass = xasprintf("IPMI_PASSWORD=%s", pass != NULL ? pass : "");
	envp[0] = envpass;
	envp[1] = NULL;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return dr_error_errno(err, "ipmi %s: pipe", ip);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	if (posix_spawnp(&pid, "ipmitool", &fa, NULL, (char *const *)argv, envp) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(fds[0]);
		close(fds[1]);
		return dr_error_set(err,
		    "ipmi %s: cannot run ipmitool (install the ipmitool "
		    "package)",
		    ip);
	}
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	deadline = time_mono_us() + POWER_IPMI_TIMEOUT_MS * 1000LL;
	for (;;) {
		struct pollfd p = {.fd = fds[0], .events = POLLIN};
		char chunk[1024];
		int64_t left = (deadline - time_mono_us()) / 1000;
		ssize_t r;

		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		if ((r = read(fds[0], chunk, sizeof chunk)) <= 0)
			break;
		if (out->len + (size_t)r < POWER_OUTPUT_MAX)
			buf_add(out, chunk, (size_t)r);
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return dr_error_set(err, "ipmi %s: ipmitool %s failed: %s", ip, cmd[0],
		    out->data != NULL ? str_trim(out->data) : "no output");
	return 0;
}

/* IPMI: chassis power and bootdev. */
static int
power_ipmi(const json_t *bmc, const char *action, char **ret_state, struct dr_error *err)
{
	static const struct {
		const char *action, *arg;
	} cmds[] = {
	    {"on", "on"},
	    {"off", "off"},
	    {"soft", "soft"},
	    {"cycle", "cycle"},
	};
	const char *status_cmd[] = {"chassis", "power", "status", NULL};
	struct buf out = BUF_INIT(POWER_OUTPUT_MAX);
	const char *want, *state;
	int64_t deadline;
	size_t i;

	if (strcmp(action, "pxe") == 0) {
		const char *boot[] = {"chassis", "bootdev", "pxe", NULL};
		if (power_ipmitool(bmc, boot, &out, err) < 0)
			goto fail;
		/* ipmitool exits 0 when the BMC refuses the boot parameters. */
		if (out.data != NULL && strstr(out.data, " failed") != NULL) {
			const char *where = json_string_value(json_object_get(bmc, "url"));

			dr_error_set(err, "ipmi %s: the BMC refused chassis bootdev pxe: %s",
			    where != NULL ? where : json_string_value(json_object_get(bmc, "ip")),
			    str_trim(out.data));
			goto fail;
		}
		buf_reset(&out);
	}
	for (i = 0; i < nitems(cmds); i++) {
		const char *c[] = {"chassis", "power", cmds[i].arg, NULL};
		if (strcmp(cmds[i].action, action) != 0)
			continue;
		if (power_ipmitool(bmc, c, &out, err) < 0)
			goto fail;
		buf_reset(&out);
	}
	/* BMCs switch power asynchronously: after on, off or cycle, ask again (bounded) until
	 * the state is the one asked for, so that the answer says what the machine does. */
	want = strcmp(action, "off") == 0                               ? "off"
	    : strcmp(action, "on") == 0 || strcmp(action, "cycle") == 0 ? "on"
	                                                                : NULL;
	deadline = time_mono_us() + POWER_SETTLE_MS * 1000LL;
	for (;;) {
		if (power_ipmitool(bmc, status_cmd, &out, err) < 0)
			goto fail;
		/* "Chassis Power is on" */
		state = out.data != NULL && strstr(out.data, "is on") != NULL ? "on"
		    : out.data != NULL && strstr(out.data, "is off") != NULL  ? "off"
		                                                              : "unknown";
		if (want == NULL || strcmp(state, want) == 0 || time_mono_us() >= deadline)
			break;
		buf_reset(&out);
		usleep(POWER_SETTLE_POLL_MS * 1000);
	}
	*ret_state = xstrdup(state);
	buf_free(&out);
	return 0;
fail:
	buf_free(&out);
	return -1;
}

static const struct prov_bmc_backend power_bmc_backends[] = {
    {"redfish", power_redfish},
    {"ipmi", power_ipmi},
};

/* Power a host: on, off, soft, cycle, status, or pxe (next boot from the network, then
 * cycle). *ret_state is "on" or "off" afterwards (caller frees). */
int
prov_power(const char *host_name, const char *action, char **ret_state, struct dr_error *err)
{
	static const char *const actions[] = {"on", "off", "soft", "cycle", "status", "pxe"};
	_cleanup_json_ json_t *host = prov_resource_get(prov_resource_find("host"), host_name);
	_cleanup_json_ json_t *cr = NULL;
	const json_t *bmc;
	const char *provider;
	bool known = false;
	size_t i;

	for (i = 0; i < nitems(actions); i++)
		known |= strcmp(actions[i], action) == 0;
	if (!known) {
		dr_error_set(err,
		    "power_action: '%s' is not one of on, off, soft, cycle, status, pxe", action);
		return PROV_E_INVALID;
	}
	if (host == NULL) {
		dr_error_set(err, "no host '%s'", host_name);
		return PROV_E_NOTFOUND;
	}
	if ((cr = prov_compute_of(host)) != NULL) {
		const struct prov_compute_backend *b = prov_compute_backend(cr);
		if (b == NULL) {
			dr_error_set(err, "compute resource %s: unknown provider",
			    json_string_value(json_object_get(cr, "name")));
			return PROV_E_INVALID;
		}
		/* A VM always boots from the network first: pxe is a cycle. */
		return b->power(cr, host_name, strcmp(action, "pxe") == 0 ? "cycle" : action,
		           ret_state, err) < 0
		    ? PROV_E_STORE
		    : 0;
	}
	if ((bmc = power_bmc(host)) == NULL) {
		dr_error_set(
		    err, "host %s has neither a compute resource nor a BMC interface", host_name);
		return PROV_E_INVALID;
	}
	provider = json_string_value(json_object_get(bmc, "provider"));
	for (i = 0; i < nitems(power_bmc_backends); i++) {
		const struct prov_bmc_backend *b = &power_bmc_backends[i];
		_cleanup_free_ char *before = NULL;

		if (strcmp(b->name, provider != NULL ? provider : "ipmi") != 0)
			continue;
		if (strcmp(action, "pxe") != 0)
			return b->power(bmc, action, ret_state, err) < 0 ? PROV_E_STORE : 0;
		/* One-time network boot, then on (when off) or a restart. */
		if (b->power(bmc, "pxe", &before, err) < 0)
			return PROV_E_STORE;
		return b->power(bmc, strcmp(before, "off") == 0 ? "on" : "cycle", ret_state, err) <
		        0
		    ? PROV_E_STORE
		    : 0;
	}
	dr_error_set(
	    err, "host %s: BMC provider '%s' is not redfish or ipmi", host_name, provider);
	return PROV_E_INVALID;
}

/* The host_power job: params {"host", "action"}. */
static int
power_job_run(struct job *job, struct dr_error *err)
{
	const json_t *p = job_params(job);
	const char *host = json_string_value(json_object_get(p, "host"));
	const char *action = json_string_value(json_object_get(p, "action"));
	_cleanup_free_ char *state = NULL;

	if (host == NULL || action == NULL)
		return dr_error_set(err, "host_power: expected params {host, action}");
	job_printf(job, "host %s: power %s\n", host, action);
	if (prov_power(host, action, &state, err) < 0) {
		job_item_set(job, host, "failed", NULL);
		return -1;
	}
	job_printf(job, "host %s: power is %s\n", host, state);
	{
		json_t *data = json_pack("{s:s, s:s}", "action", action, "state", state);
		job_item_set(job, host, "ok", data);
		json_decref(data);
	}
	job_result_set(
	    job, json_pack("{s:s, s:s, s:s}", "host", host, "action", action, "state", state));
	return 0;
}

static const struct job_kind power_job_kind = {"host_power", power_job_run, 300};

/* Register the host_power job kind. */
void
prov_power_register(void)
{
	job_kind_register(&power_job_kind);
}

/* Create a host; a VM on its compute resource too. The host is removed again when the VM
 * cannot be made. */
int
prov_host_create(
    const json_t *in, const char *user, const char *remote, int64_t *ret_id, struct dr_error *err)
{
	const struct prov_resource *res = prov_resource_find("host");
	_cleanup_json_ json_t *host = NULL, *cr = NULL;
	_cleanup_free_ char *mac = NULL, *idtext = NULL;
	const struct prov_compute_backend *b;
	int64_t id;
	int r;

	if ((r = prov_resource_create(res, in, user, remote, &id, err)) < 0)
		return r;
	host = prov_resource_get_id(res, id);
	if ((cr = prov_compute_of(host)) == NULL)
		goto done;
	idtext = xasprintf("%lld", (long long)id);
	if ((b = prov_compute_backend(cr)) == NULL || b->vm_create(cr, host, &mac, err) < 0) {
		struct dr_error ignored;
		if (b == NULL)
			dr_error_set(err, "compute_resource: unknown provider");
		prov_resource_delete(res, idtext, user, remote, &ignored);
		return PROV_E_INVALID;
	}
	if (mac != NULL && json_array_size(json_object_get(host, "interfaces")) == 0) {
		/* The MAC the hypervisor chose is the host's provisioning interface. */
		_cleanup_json_ json_t *set = json_pack("{s:[{s:s}]}", "interfaces", "mac", mac);
		if ((r = prov_resource_update(res, idtext, set, user, remote, NULL, err)) < 0) {
			struct dr_error ignored;
			b->vm_destroy(
			    cr, json_string_value(json_object_get(host, "name")), &ignored);
			prov_resource_delete(res, idtext, user, remote, &ignored);
			return r;
		}
	}
done:
	if (ret_id != NULL)
		*ret_id = id;
	return 0;
}

/* Delete a host; its VM and the VM's volumes first. */
int
prov_host_delete(
    const char *id_or_name, const char *user, const char *remote, struct dr_error *err)
{
	const struct prov_resource *res = prov_resource_find("host");
	_cleanup_json_ json_t *host = prov_resource_get(res, id_or_name), *cr = NULL;
	const struct prov_compute_backend *b;

	if (host == NULL) {
		dr_error_set(err, "no host '%s'", id_or_name);
		return PROV_E_NOTFOUND;
	}
	if ((cr = prov_compute_of(host)) != NULL && (b = prov_compute_backend(cr)) != NULL &&
	    b->vm_destroy(cr, json_string_value(json_object_get(host, "name")), err) < 0)
		return PROV_E_STORE;
	return prov_resource_delete(res, id_or_name, user, remote, err);
}

/* Build a host; a VM is power-cycled into its network boot, and a bare-metal host with
 * reboot set gets a one-time PXE boot through its BMC. A failed power step cancels the
 * build again. */
int
prov_host_build_boot(const char *id_or_name, int ttl, bool reboot, const char *user,
    const char *remote, struct dr_error *err)
{
	_cleanup_json_ json_t *host = prov_resource_get(prov_resource_find("host"), id_or_name);
	_cleanup_json_ json_t *cr = NULL;
	_cleanup_free_ char *state = NULL;
	const char *name;
	int r;

	if (host == NULL) {
		dr_error_set(err, "no host '%s'", id_or_name);
		return PROV_E_NOTFOUND;
	}
	name = json_string_value(json_object_get(host, "name"));
	if ((r = prov_host_build(id_or_name, ttl, user, remote, NULL, err)) < 0)
		return r;
	cr = prov_compute_of(host);
	if (cr == NULL && !reboot)
		return 0;
	if ((r = prov_power(name, "pxe", &state, err)) < 0) {
		struct dr_error ignored;
		dr_error_prefix(err, "host %s stays out of build mode", name);
		prov_host_build_cancel(id_or_name, user, remote, &ignored);
		return r;
	}
	return 0;
}
