/* dnsmasq.c - the DHCP adapter: configuration and reservations for the operator's dnsmasq. */
#define LOG_COMPONENT "pxe"
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pxe/pxe.h"

/*
 * What each subnet pxe_loader hands out before iPXE runs: to BIOS PXE clients, to UEFI
 * PXE clients (client arch 7 and 9) by TFTP, and to UEFI HTTP boot clients (arch 16) as a
 * URL under /pxe/files/. NULL: that kind of client gets nothing on such a subnet. Once iPXE
 * runs (option 175) every loader but None leads to droverd's /unattended/iPXE. UEFI PXE
 * clients get snponly.efi, not ipxe.efi: Debian's ipxe.efi hangs OVMF when an installed
 * host's script exits back to the firmware to boot its disk.
 */
static const struct {
	const char *loader, *bios, *efi, *http;
	bool ipxe;
} pxe_dnsmasq_loaders[] = {
    {"None", NULL, NULL, NULL, false},
    {"PXELinux BIOS", "pxelinux.0", "snponly.efi", "ipxe.efi", true},
    {"PXELinux UEFI", "undionly.kpxe", "syslinux.efi", "ipxe.efi", true},
    {"Grub2 UEFI", "undionly.kpxe", "grubx64.efi", "grubx64.efi", true},
    /* Secure Boot: Debian's signed shim loads Debian's signed GRUB (grubx64.efi beside
     * it), which reads grub/grub.cfg-01-<mac>. */
    {"Grub2 UEFI SecureBoot", "undionly.kpxe", "shimx64.efi", "shimx64.efi", true},
    {"Grub2 UEFI HTTP", "undionly.kpxe", "grubx64.efi", "grubx64.efi", true},
    {"iPXE Embedded", NULL, NULL, NULL, true},
    {"iPXE Chain BIOS", "undionly.kpxe", "snponly.efi", "ipxe.efi", true},
    /* snponly.efi drives the NIC through the firmware's own driver (any NIC UEFI knows). */
    {"iPXE Chain UEFI", "undionly.kpxe", "snponly.efi", "snponly.efi", true},
    {"iPXE UEFI HTTP", "undionly.kpxe", "snponly.efi", "ipxe.efi", true},
};

/* One subnet's range, tag and boot lines. */
static int
pxe_dnsmasq_subnet_lines(const struct pxe_dnsmasq_opts *o, const struct pxe_dnsmasq_subnet *sn,
    struct buf *b, struct dr_error *err)
{
	const char *ts = o->tftp_server != NULL ? o->tftp_server : "";
	const char *loader = sn->loader != NULL ? sn->loader : "iPXE Chain BIOS";
	char tag[32];
	size_t i;

	for (i = 0; i < nitems(pxe_dnsmasq_loaders); i++)
		if (strcmp(pxe_dnsmasq_loaders[i].loader, loader) == 0)
			break;
	if (i == nitems(pxe_dnsmasq_loaders))
		return dr_error_set(
		    err, "subnet %s: pxe_loader '%s' is not known", sn->name, loader);
	/* Every string here was validated by the provisioner (addresses, names). */
	snprintf(tag, sizeof tag, "drover-s%lld", sn->id);
	buf_addf(b, "# Subnet %s (%s/%s): %s\n", sn->name, sn->network, sn->mask, loader);
	if (sn->from != NULL && sn->to != NULL)
		buf_addf(b, "dhcp-range=set:%s,%s,%s,%s\n", tag, sn->from, sn->to, sn->mask);
	else
		buf_addf(b, "dhcp-range=set:%s,%s,static,%s\n", tag, sn->network, sn->mask);
	buf_addf(b, "tag-if=set:drover-subnet,tag:%s\n", tag);
	if (sn->gateway != NULL)
		buf_addf(b, "dhcp-option=tag:%s,option:router,%s\n", tag, sn->gateway);
	if (sn->dns_primary != NULL || sn->dns_secondary != NULL) {
		buf_addf(b, "dhcp-option=tag:%s,option:dns-server", tag);
		if (sn->dns_primary != NULL)
			buf_addf(b, ",%s", sn->dns_primary);
		if (sn->dns_secondary != NULL)
			buf_addf(b, ",%s", sn->dns_secondary);
		buf_adds(b, "\n");
	}
	if (sn->mtu > 0)
		buf_addf(b, "dhcp-option=tag:%s,option:mtu,%d\n", tag, sn->mtu);
	if (sn->domain != NULL)
		buf_addf(b, "dhcp-option=tag:%s,option:domain-name,%s\n", tag, sn->domain);
	if (pxe_dnsmasq_loaders[i].ipxe)
		buf_addf(b, "dhcp-boot=tag:%s,tag:ipxe,%s/unattended/iPXE\n", tag, o->http_url);
	if (pxe_dnsmasq_loaders[i].http != NULL)
		buf_addf(b,
		    "dhcp-option-force=tag:%s,tag:!ipxe,tag:efi-http,60,HTTPClient\n"
		    "dhcp-boot=tag:%s,tag:!ipxe,tag:efi-http,%s/pxe/files/%s\n",
		    tag, tag, o->http_url, pxe_dnsmasq_loaders[i].http);
	if (pxe_dnsmasq_loaders[i].efi != NULL)
		buf_addf(b, "dhcp-boot=tag:%s,tag:!ipxe,tag:efi64,%s,,%s\n", tag,
		    pxe_dnsmasq_loaders[i].efi, ts);
	if (pxe_dnsmasq_loaders[i].bios != NULL)
		buf_addf(b, "dhcp-boot=tag:%s,tag:!ipxe,tag:!efi64,tag:!efi-http,%s,,%s\n", tag,
		    pxe_dnsmasq_loaders[i].bios, ts);
	return 0;
}

/* Write <dir>/dnsmasq.conf: boot files by subnet and client kind, iPXE chained to droverd
 * over HTTP. */
int
pxe_dnsmasq_write_conf(const struct pxe_dnsmasq_opts *o, struct dr_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/dnsmasq.conf", o->dir);
	const char *ts = o->tftp_server != NULL ? o->tftp_server : "";
	struct buf b = BUF_INIT(64 * 1024);
	size_t i;
	int r;

	if (mkdir(o->dir, 0755) < 0 && errno != EEXIST)
		return dr_error_errno(err, "%s", o->dir);
	buf_addf(&b,
	    "# Written by droverd; include it with conf-file=%s.\n"
	    "dhcp-hostsfile=%s/dhcp-hosts\n"
	    "# iPXE (built in or chained) identifies itself with option 175.\n"
	    "dhcp-match=set:ipxe,175\n"
	    "# iPXE's no-pxedhcp (175.176): no ProxyDHCP offers to wait for (about 3 s a boot).\n"
	    "dhcp-option=tag:ipxe,encap:175,176,1b\n"
	    "dhcp-match=set:efi64,option:client-arch,7\n"
	    "dhcp-match=set:efi64,option:client-arch,9\n"
	    "dhcp-match=set:efi-http,option:client-arch,16\n",
	    path, o->dir);
	for (i = 0; i < o->nsubnets; i++)
		if (pxe_dnsmasq_subnet_lines(o, &o->subnets[i], &b, err) < 0) {
			buf_free(&b);
			return -1;
		}
	buf_addf(&b,
	    "# Clients of networks droverd has no subnet for.\n"
	    "dhcp-boot=tag:!drover-subnet,tag:ipxe,%s/unattended/iPXE\n"
	    "dhcp-option-force=tag:!drover-subnet,tag:!ipxe,tag:efi-http,60,HTTPClient\n"
	    "dhcp-boot=tag:!drover-subnet,tag:!ipxe,tag:efi-http,%s/pxe/files/ipxe.efi\n"
	    "dhcp-boot=tag:!drover-subnet,tag:!ipxe,tag:efi64,snponly.efi,,%s\n"
	    "dhcp-boot=tag:!drover-subnet,tag:!ipxe,tag:!efi64,tag:!efi-http,undionly.kpxe,,%s\n",
	    o->http_url, o->http_url, ts, ts);
	if (o->proxy_network != NULL)
		buf_addf(&b,
		    "# proxyDHCP: another server hands out addresses; we add the boot options.\n"
		    "dhcp-range=%s,proxy\n"
		    "pxe-service=tag:!ipxe,X86PC,\"Drover\",undionly.kpxe,%s\n"
		    "pxe-service=tag:!ipxe,X86-64_EFI,\"Drover\",snponly.efi,%s\n",
		    o->proxy_network, ts, ts);
	r = file_write_atomic(path, b.data, b.len, 0644, err);
	buf_free(&b);
	return r;
}

/* Write <dir>/dhcp-hosts and ask dnsmasq to re-read it. */
int
pxe_dnsmasq_write_hosts(const struct pxe_dnsmasq_opts *o, const struct pxe_dnsmasq_host *hosts,
    size_t n, struct dr_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/dhcp-hosts", o->dir);
	struct buf b = BUF_INIT(0);
	size_t i;
	int r;

	if (mkdir(o->dir, 0755) < 0 && errno != EEXIST)
		return dr_error_errno(err, "%s", o->dir);
	buf_adds(&b, "");
	for (i = 0; i < n; i++) {
		/* Names and MACs were validated by the provisioner; keep the file parseable. */
		if (strpbrk(hosts[i].name, ", \n") != NULL)
			continue;
		buf_adds(&b, hosts[i].mac);
		if (hosts[i].build)
			buf_adds(&b, ",set:drover-build");
		if (hosts[i].ip != NULL)
			buf_addf(&b, ",%s", hosts[i].ip);
		buf_addf(&b, ",%s\n", hosts[i].name);
	}
	r = file_write_atomic(path, b.data, b.len, 0644, err);
	buf_free(&b);
	if (r < 0)
		return -1;
	if (!pxe_dnsmasq_reload(false) && o->pidfile != NULL && *o->pidfile != '\0') {
		_cleanup_free_ char *text = NULL;
		long long pid;

		if (file_read(o->pidfile, 64, &text, NULL, NULL) == 0 &&
		    str_to_ll(str_trim(text), 2, INT32_MAX, &pid) == 0)
			kill((pid_t)pid, SIGHUP);
	}
	return 0;
}

/*
 * droverd's own dnsmasq (dhcp.dnsmasq_command): a child in the foreground on
 * <dir>/dnsmasq.conf, restarted when the subnets change (dnsmasq reads its ranges only at
 * start), sent SIGHUP when the reservations change, started again after a delay that grows
 * from 1 s to 60 s when it ends by itself, and stopped with droverd.
 */
#define PXE_DNSMASQ_DELAY_MAX 60

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	char **argv;
	pid_t pid; /* 0 while none runs */
	bool on, stopping, restart;
} pxe_dnsmasq_child = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* Start dnsmasq with default signal handling (droverd's threads block the signals it
 * takes with sigwait). */
static int
pxe_dnsmasq_spawn(pid_t *pid, struct dr_error *err)
{
	posix_spawnattr_t a;
	sigset_t none, all;
	int r;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&a);
	posix_spawnattr_setflags(&a, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&a, &none);
	posix_spawnattr_setsigdefault(&a, &all);
	r = posix_spawnp(
	    pid, pxe_dnsmasq_child.argv[0], NULL, &a, pxe_dnsmasq_child.argv, environ);
	posix_spawnattr_destroy(&a);
	if (r != 0)
		return dr_error_set(err, "dhcp.dnsmasq_command: cannot run %s: %s",
		    pxe_dnsmasq_child.argv[0], strerror(r));
	return 0;
}

/* Wait (the lock held) up to SECONDS or until droverd stops. */
static void
pxe_dnsmasq_sleep(unsigned seconds)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	while (!pxe_dnsmasq_child.stopping &&
	    pthread_cond_timedwait(&pxe_dnsmasq_child.cond, &pxe_dnsmasq_child.lock, &until) == 0)
		;
}

/* The supervisor: reap dnsmasq, start it again. */
static void *
pxe_dnsmasq_supervise(void *arg)
{
	unsigned delay = 1;
	struct dr_error err;
	int status;
	pid_t pid;

	(void)arg;
	pthread_mutex_lock(&pxe_dnsmasq_child.lock);
	while (!pxe_dnsmasq_child.stopping) {
		int64_t started = time_mono_us();

		pid = pxe_dnsmasq_child.pid;
		pthread_mutex_unlock(&pxe_dnsmasq_child.lock);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		pthread_mutex_lock(&pxe_dnsmasq_child.lock);
		pxe_dnsmasq_child.pid = 0;
		if (pxe_dnsmasq_child.stopping)
			break;
		if (pxe_dnsmasq_child.restart) {
			delay = 1;
			log_info("dnsmasq (pid %d) restarted for the new subnets", (int)pid);
		} else {
			if (time_mono_us() - started > PXE_DNSMASQ_DELAY_MAX * 1000000LL)
				delay = 1;
			if (WIFSIGNALED(status))
				log_warnx("dnsmasq (pid %d) was killed by signal %d; starting it "
				          "again in %u s",
				    (int)pid, WTERMSIG(status), delay);
			else
				log_warnx("dnsmasq (pid %d) exited with status %d; starting it "
				          "again in %u s",
				    (int)pid, WEXITSTATUS(status), delay);
			pxe_dnsmasq_sleep(delay);
			delay =
			    delay * 2 < PXE_DNSMASQ_DELAY_MAX ? delay * 2 : PXE_DNSMASQ_DELAY_MAX;
			if (pxe_dnsmasq_child.stopping)
				break;
		}
		pxe_dnsmasq_child.restart = false;
		while (pxe_dnsmasq_spawn(&pxe_dnsmasq_child.pid, &err) < 0) {
			log_warnx("%s; trying again in %u s", err.msg, delay);
			pxe_dnsmasq_sleep(delay);
			if (pxe_dnsmasq_child.stopping)
				goto out;
		}
	}
out:
	pthread_mutex_unlock(&pxe_dnsmasq_child.lock);
	return NULL;
}

/* Free the command line dnsmasq is started with. */
static void
pxe_dnsmasq_argv_free(void)
{
	for (size_t i = 0; pxe_dnsmasq_child.argv != NULL && pxe_dnsmasq_child.argv[i] != NULL;
	     i++)
		free(pxe_dnsmasq_child.argv[i]);
	free(pxe_dnsmasq_child.argv);
	pxe_dnsmasq_child.argv = NULL;
}

int
pxe_dnsmasq_run(const char *command, const char *dir, struct dr_error *err)
{
	_cleanup_free_ char *words = xstrdup(command);
	char *save = NULL, *w;
	size_t n = 0;

	if (pxe_dnsmasq_child.on)
		return dr_error_set(err, "dhcp.dnsmasq_command: dnsmasq already runs");
	pxe_dnsmasq_child.argv = xcalloc(strlen(command) / 2 + 4, sizeof(char *));
	for (w = strtok_r(words, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save))
		pxe_dnsmasq_child.argv[n++] = xstrdup(w);
	if (n == 0) {
		pxe_dnsmasq_argv_free();
		return dr_error_set(err, "dhcp.dnsmasq_command: empty");
	}
	pxe_dnsmasq_child.argv[n++] = xstrdup("--keep-in-foreground");
	pxe_dnsmasq_child.argv[n++] = xasprintf("--conf-file=%s/dnsmasq.conf", dir);
	if (pxe_dnsmasq_spawn(&pxe_dnsmasq_child.pid, err) < 0)
		goto fail;
	pxe_dnsmasq_child.on = true;
	if (pthread_create(&pxe_dnsmasq_child.thread, NULL, pxe_dnsmasq_supervise, NULL) != 0) {
		kill(pxe_dnsmasq_child.pid, SIGTERM);
		waitpid(pxe_dnsmasq_child.pid, NULL, 0);
		pxe_dnsmasq_child.on = false;
		dr_error_set(err, "dhcp.dnsmasq_command: cannot start a thread");
		goto fail;
	}
	log_info("dnsmasq (pid %d) runs on %s/dnsmasq.conf", (int)pxe_dnsmasq_child.pid, dir);
	return 0;
fail:
	pxe_dnsmasq_argv_free();
	return -1;
}

bool
pxe_dnsmasq_reload(bool restart)
{
	if (!pxe_dnsmasq_child.on)
		return false;
	pthread_mutex_lock(&pxe_dnsmasq_child.lock);
	if (restart)
		pxe_dnsmasq_child.restart = true;
	/* None running (between two starts): the next one reads the new files. */
	if (pxe_dnsmasq_child.pid > 0)
		kill(pxe_dnsmasq_child.pid, restart ? SIGTERM : SIGHUP);
	pthread_mutex_unlock(&pxe_dnsmasq_child.lock);
	return true;
}

void
pxe_dnsmasq_stop(void)
{
	if (!pxe_dnsmasq_child.on)
		return;
	pthread_mutex_lock(&pxe_dnsmasq_child.lock);
	pxe_dnsmasq_child.stopping = true;
	if (pxe_dnsmasq_child.pid > 0)
		kill(pxe_dnsmasq_child.pid, SIGTERM);
	pthread_cond_broadcast(&pxe_dnsmasq_child.cond);
	pthread_mutex_unlock(&pxe_dnsmasq_child.lock);
	pthread_join(pxe_dnsmasq_child.thread, NULL);
	pxe_dnsmasq_argv_free();
	pxe_dnsmasq_child.on = false;
	pxe_dnsmasq_child.stopping = false;
}
