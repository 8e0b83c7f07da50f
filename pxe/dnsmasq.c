/* dnsmasq.c - the DHCP adapter: configuration and reservations for the operator's dnsmasq. */
#define LOG_COMPONENT "pxe"
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pxe/pxe.h"

/* Write <dir>/dnsmasq.conf: boot files by client kind, iPXE chained to droverd over HTTP. */
int
pxe_dnsmasq_write_conf(const struct pxe_dnsmasq_opts *o, struct dr_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/dnsmasq.conf", o->dir);
	const char *ts = o->tftp_server != NULL ? o->tftp_server : "";
	struct buf b = BUF_INIT(64 * 1024);
	int r;

	if (mkdir(o->dir, 0755) < 0 && errno != EEXIST)
		return dr_error_errno(err, "%s", o->dir);
	buf_addf(&b,
	    "# Written by droverd; include it with conf-file=%s.\n"
	    "dhcp-hostsfile=%s/dhcp-hosts\n"
	    "# iPXE (built in or chained) identifies itself with option 175.\n"
	    "dhcp-match=set:ipxe,175\n"
	    "dhcp-match=set:efi64,option:client-arch,7\n"
	    "dhcp-match=set:efi64,option:client-arch,9\n"
	    "dhcp-match=set:efi-http,option:client-arch,16\n"
	    "dhcp-boot=tag:ipxe,%s/unattended/iPXE\n"
	    "dhcp-option-force=tag:efi-http,60,HTTPClient\n"
	    "dhcp-boot=tag:efi-http,%s/unattended/iPXE\n"
	    "dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi,,%s\n"
	    "dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe,,%s\n",
	    path, o->dir, o->http_url, o->http_url, ts, ts);
	if (o->proxy_network != NULL)
		buf_addf(&b,
		    "# proxyDHCP: another server hands out addresses; we add the boot options.\n"
		    "dhcp-range=%s,proxy\n"
		    "pxe-service=tag:!ipxe,X86PC,\"Drover\",undionly.kpxe,%s\n"
		    "pxe-service=tag:!ipxe,X86-64_EFI,\"Drover\",ipxe.efi,%s\n",
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
	if (o->pidfile != NULL && *o->pidfile != '\0') {
		_cleanup_free_ char *text = NULL;
		long long pid;

		if (file_read(o->pidfile, 64, &text, NULL, NULL) == 0 &&
		    str_to_ll(str_trim(text), 2, INT32_MAX, &pid) == 0)
			kill((pid_t)pid, SIGHUP);
	}
	return 0;
}
