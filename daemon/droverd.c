/* droverd.c - the Drover daemon: options, module start-up order, signals, shutdown. */
#define LOG_COMPONENT "droverd"
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/core.h"
#include "provisioner/ca.h"
#include "repos/repos.h"
#include "webui/webui.h"
#include "provisioner/provisioner.h"
#include "pxe/pxe.h"
#include "playbooks/playbooks.h"
#include "jobs/jobs.h"
#include "clusters/clusters.h"

#define DROVERD_DEFAULT_CONFIG DROVER_SYSCONFDIR "/droverd.yml"

static struct config droverd_cfg;
static const char *droverd_config_path;

static int
droverd_store_start(struct config *cfg, struct dr_error *err)
{
	job_init();
	job_output_listen(http_stream_wake);
	schedule_init();
	auth_register();
	ca_register();
	repos_register();
	provisioner_register();
	playbook_job_register();
	jobs_register();
	clusters_register();
	cluster_playbooks_dir_set(cfg->playbooks_dir);
	return store_open(cfg->state_dir, err);
}

static int
droverd_auth_start(struct config *cfg, struct dr_error *err)
{
	return auth_init(cfg->state_dir, err);
}

/* The CA: its key-encryption key and, on first start, its root. */
static int
droverd_ca_start(struct config *cfg, struct dr_error *err)
{
	int r = ca_init(cfg->state_dir, err);

	if (r >= 0 && ca_crl_url_set(cfg->url, err) < 0)
		return -1;
	if (r > 0)
		log_info("created the CA root (key encrypted under %s/%s)", cfg->state_dir,
		    CA_KEK_FILE);
	if (r >= 0) {
		struct dr_error serr;
		char tz[64];
		int64_t sid;

		tz_default(tz, sizeof tz);
		if (ca_renew_schedule_seed(tz, &sid, &serr) < 0)
			log_warnx("the default host certificate renewal schedule: %s", serr.msg);
		else if (sid > 0)
			log_info("created schedule %lld (%s): host certificates renewed daily (%s)",
			    (long long)sid, CA_RENEW_SCHEDULE, tz);
	}
	return r < 0 ? -1 : 0;
}

/* Settings other modules read while running; at start and again on SIGHUP. */
static void
droverd_apply_runtime(const struct config *cfg)
{
	log_set_level(cfg->log_level);
	log_set_debug(cfg->log_debug);
	job_default_timeout_set(cfg->job_default_timeout);
	http_client_set_proxy(cfg->proxy);
}

static int
droverd_jobs_start(struct config *cfg, struct dr_error *err)
{
	return jobs_start(cfg->job_workers, err);
}

static void
droverd_jobs_stop(void)
{
	jobs_stop(droverd_cfg.job_shutdown_grace);
}

static int
droverd_schedule_start(struct config *cfg, struct dr_error *err)
{
	return schedule_start(err);
}

static int
droverd_http_start(struct config *cfg, struct dr_error *err)
{
	struct http_server_opts o = {
		.listen = cfg->listen,
		.threads = cfg->http_threads,
		.max_connections = cfg->http_max_connections,
		.max_body = cfg->http_max_body,
		.max_header = cfg->http_max_header,
		.timeout = cfg->http_timeout,
		.tls_cert = *cfg->tls_cert != '\0' ? cfg->tls_cert : NULL,
		.tls_key = *cfg->tls_key != '\0' ? cfg->tls_key : NULL,
	};

	api_init();
	api_settings_set(cfg);
	ca_api_init();
	repos_api_init();
	provisioner_api_init();
	playbooks_api_init();
	prov_ui_init();
	repos_ui_init();
	prov_hostcert_api_init();
	jobs_api_init();
	clusters_api_init();
	return http_server_start(&o, err);
}

/* droverd's SSH identity (made at first start). */
static int
droverd_remote_start(struct config *cfg, struct dr_error *err)
{
	return jobs_init(cfg->state_dir, err);
}

static int
droverd_repos_start(struct config *cfg, struct dr_error *err)
{
	return repos_start(cfg->state_dir, err);
}

static char *droverd_url(const struct config *cfg);

/* The TFTP root: configured, or <state_dir>/tftp. Caller frees. */
static char *
droverd_tftp_root(const struct config *cfg)
{
	return *cfg->tftp_root != '\0' ? xstrdup(cfg->tftp_root)
					: xasprintf("%s/tftp", cfg->state_dir);
}

static int
droverd_provisioner_start(struct config *cfg, struct dr_error *err)
{
	_cleanup_free_ char *url = droverd_url(cfg), *root = droverd_tftp_root(cfg);
	_cleanup_free_ char *dhcp = xasprintf("%s/pxe", cfg->state_dir);
	struct provisioner_opts o = {
		.url = url,
		.tftp_root = root,
		.dhcp_dir = dhcp,
		.dnsmasq_pidfile = *cfg->dnsmasq_pidfile != '\0' ? cfg->dnsmasq_pidfile : NULL,
		.dnsmasq_command = *cfg->dnsmasq_command != '\0' ? cfg->dnsmasq_command : NULL,
		.state_dir = cfg->state_dir,
		.bootfiles_from = *cfg->tftp_bootfiles_from != '\0' ? cfg->tftp_bootfiles_from
								    : NULL,
	};

	return provisioner_init(&o, err);
}

static int
droverd_tftp_start(struct config *cfg, struct dr_error *err)
{
	_cleanup_free_ char *root = droverd_tftp_root(cfg), *missing = NULL;
	_cleanup_free_ char *work = xasprintf("%s/bootfiles-src", cfg->state_dir);
	struct pxe_tftp_opts o = { .listen = cfg->tftp_listen, .root = root };
	struct pxe_bootfiles_opts b = { .root = root, .work = work,
		.from = *cfg->tftp_bootfiles_from != '\0' ? cfg->tftp_bootfiles_from : NULL };
	int n;

	if (*cfg->tftp_listen == '\0')
		return 0;
	if ((n = pxe_bootfiles_install(&b, NULL, &missing, err)) < 0) {
		if (b.from != NULL)
			dr_error_prefix(err, "tftp.bootfiles_from: ");
		return -1;
	}
	if (missing != NULL)
		log_warnx("boot loaders missing from %s; install: %s", root, missing);
	if (pxe_tftp_start(&o, err) < 0)
		return -1;
	log_info("tftp serving %s on %s (port %d)", root, cfg->tftp_listen, pxe_tftp_port());
	return 0;
}

/* Modules in dependency order; stopped in reverse. */
static const struct droverd_module {
	const char *name;
	int (*start)(struct config *cfg, struct dr_error *err);
	void (*stop)(void);
} droverd_modules[] = {
	{ "store", droverd_store_start, store_close },
	{ "auth", droverd_auth_start, NULL },
	/* Before jobs: a ca_renew job left queued needs the key-encryption key. */
	{ "ca", droverd_ca_start, ca_shutdown },
	{ "repos", droverd_repos_start, repos_stop },
	/* Before jobs: a remote job left queued needs droverd's SSH key. */
	{ "remote", droverd_remote_start, NULL },
	{ "jobs", droverd_jobs_start, droverd_jobs_stop },
	{ "scheduler", droverd_schedule_start, schedule_stop },
	{ "http", droverd_http_start, http_server_stop },
	{ "provisioner", droverd_provisioner_start, provisioner_stop },
	{ "tftp", droverd_tftp_start, pxe_tftp_stop },
};

/* Tell systemd we are ready, without libsystemd: one datagram to $NOTIFY_SOCKET. */
static void
droverd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof sun.sun_path)
		return;
	str_copy(sun.sun_path, path, sizeof sun.sun_path);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, len) < 0)
		log_warn("notify %s", path);
	close(fd);
}

static void
droverd_reload(void)
{
	struct dr_error err;
	char *restart = NULL;

	if (droverd_config_path == NULL) {
		log_info("SIGHUP: no configuration file to reload");
		return;
	}
	droverd_notify("RELOADING=1");
	if (config_reload(droverd_config_path, &droverd_cfg, &restart, &err) < 0) {
		log_warnx("reload failed, keeping the running configuration: %s", err.msg);
	} else {
		droverd_apply_runtime(&droverd_cfg);
		api_settings_set(&droverd_cfg);
		log_info("configuration reloaded from %s", droverd_config_path);
		if (restart != NULL && *restart != '\0')
			log_warnx("changed keys that take effect only after a restart: %s",
			    restart);
	}
	free(restart);
	droverd_notify("READY=1");
}

/* The URL people use: the configured public one, or the listen address with the bound port. */
static char *
droverd_url(const struct config *cfg)
{
	const char *colon = strrchr(cfg->listen, ':');
	int hostlen = colon != NULL ? (int)(colon - cfg->listen) : 0;

	if (cfg->url != NULL && *cfg->url != '\0')
		return xstrdup(cfg->url);
	return xasprintf("%s://%.*s:%d/", *cfg->tls_cert != '\0' ? "https" : "http", hostlen,
	    hostlen > 0 ? cfg->listen : "localhost", http_server_port());
}

static void
droverd_usage(FILE *f)
{
	fprintf(f, "usage: droverd [--config FILE] [--listen ADDR:PORT] [--state-dir DIR]\n"
		   "               [--tftp-listen ADDR[:PORT]] [--backup FILE] [--print-config]\n"
		   "               [--version]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "backup", required_argument, NULL, 'b' },
		{ "print-config", no_argument, NULL, 'p' },
		{ "tftp-listen", required_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = NULL, *state_dir = NULL, *backup = NULL, *tftp_listen = NULL;
	bool print_config = false;
	struct dr_error err;
	sigset_t sigs;
	size_t started, i;
	int64_t t0 = time_mono_us();
	char *url;
	int c, sig;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			droverd_config_path = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 's':
			state_dir = optarg;
			break;
		case 'b':
			backup = optarg;
			break;
		case 'p':
			print_config = true;
			break;
		case 't':
			tftp_listen = optarg;
			break;
		case 'V':
			printf("droverd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			droverd_usage(stdout);
			return 0;
		default:
			droverd_usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		droverd_usage(stderr);
		return 1;
	}
	log_init("droverd", false, LOG_INFO);
	if (droverd_config_path == NULL && access(DROVERD_DEFAULT_CONFIG, R_OK) == 0)
		droverd_config_path = DROVERD_DEFAULT_CONFIG;
	if (droverd_config_path == NULL)
		config_defaults(&droverd_cfg);
	else if (config_load(droverd_config_path, &droverd_cfg, &err) < 0)
		fatalx("%s", err.msg);
	if (listen != NULL) {
		free(droverd_cfg.listen);
		droverd_cfg.listen = xstrdup(listen);
	}
	if (state_dir != NULL) {
		free(droverd_cfg.state_dir);
		droverd_cfg.state_dir = xstrdup(state_dir);
	}
	if (tftp_listen != NULL) {
		free(droverd_cfg.tftp_listen);
		droverd_cfg.tftp_listen = xstrdup(tftp_listen);
	}
	if (print_config) {
		struct buf out = BUF_INIT(0);
		config_dump(&droverd_cfg, &out);
		fputs(out.data, stdout);
		buf_free(&out);
		config_free(&droverd_cfg);
		return 0;
	}
	log_init("droverd", droverd_cfg.log_syslog, droverd_cfg.log_level);
	droverd_apply_runtime(&droverd_cfg);

	if (backup != NULL) {
		if (droverd_store_start(&droverd_cfg, &err) < 0 || store_backup(backup, &err) < 0)
			fatalx("backup: %s", err.msg);
		store_close();
		printf("backup written to %s\n", backup);
		config_free(&droverd_cfg);
		return 0;
	}

	/* Every thread started below inherits this mask; signals are taken by sigwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (started = 0; started < nitems(droverd_modules); started++) {
		const struct droverd_module *m = &droverd_modules[started];
		int64_t tm = time_mono_us();
		if (m->start(&droverd_cfg, &err) < 0) {
			log_errx("%s: %s", m->name, err.msg);
			break;
		}
		log_debug("%s started in %.1f ms", m->name,
		    (double)(time_mono_us() - tm) / 1000.0);
	}
	if (started < nitems(droverd_modules)) {
		for (i = started; i-- > 0;)
			if (droverd_modules[i].stop != NULL)
				droverd_modules[i].stop();
		config_free(&droverd_cfg);
		return 1;
	}

	url = droverd_url(&droverd_cfg);
	log_info("droverd %s ready in %.1f ms at %s (state in %s)", PACKAGE_VERSION,
	    (double)(time_mono_us() - t0) / 1000.0, url, droverd_cfg.state_dir);
	free(url);
	droverd_notify("READY=1");

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			droverd_reload();
			continue;
		}
		log_info("%s: stopping", strsignal(sig));
		break;
	}
	droverd_notify("STOPPING=1");
	for (i = nitems(droverd_modules); i-- > 0;)
		if (droverd_modules[i].stop != NULL)
			droverd_modules[i].stop();
	config_free(&droverd_cfg);
	log_info("stopped");
	return 0;
}
