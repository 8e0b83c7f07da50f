/* boot.c - what a host boots: per-MAC PXELinux and GRUB2 files for the TFTP server, and
 * the DHCP reservations handed to dnsmasq. */
#define LOG_COMPONENT "provisioner"
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provisioner/provisioner.h"
#include "pxe/pxe.h"

static struct pxe_dnsmasq_opts prov_dhcp;
static bool prov_dhcp_on;
static pthread_mutex_t prov_dhcp_lock = PTHREAD_MUTEX_INITIALIZER;
/* Each host's reservations as dnsmasq has them, by host id ("12": [{mac, ip, name,
 * build}]), so that a change to one host reads that host only. */
static json_t *prov_dhcp_hosts;

/* Configure the DHCP files (called once at start). */
int
prov_boot_setup(const struct provisioner_opts *o, struct dr_error *err)
{
	if (o->dhcp_dir == NULL)
		return 0;
	prov_dhcp.dir = xstrdup(o->dhcp_dir);
	prov_dhcp.http_url = xstrdup(prov_render_url());
	prov_dhcp.pidfile = o->dnsmasq_pidfile != NULL ? xstrdup(o->dnsmasq_pidfile) : NULL;
	prov_dhcp_on = true;
	if (prov_boot_write_conf(err) < 0)
		return -1;
	provisioner_boot_changed(NULL);
	if (o->dnsmasq_command != NULL &&
	    pxe_dnsmasq_run(o->dnsmasq_command, o->dhcp_dir, err) < 0)
		return -1;
	return 0;
}

void
provisioner_stop(void)
{
	pxe_dnsmasq_stop();
	pthread_mutex_lock(&prov_dhcp_lock);
	json_decref(prov_dhcp_hosts);
	prov_dhcp_hosts = NULL;
	pthread_mutex_unlock(&prov_dhcp_lock);
}

/* Rewrite dnsmasq.conf with every subnet's range and boot loaders. */
int
prov_boot_write_conf(struct dr_error *err)
{
	_cleanup_json_ json_t *rows = NULL;
	struct pxe_dnsmasq_subnet *subnets = NULL;
	size_t n = 0, i;
	json_t *row;
	int r = -1;

	if (!prov_dhcp_on)
		return 0;
	pthread_mutex_lock(&prov_dhcp_lock);
	if (store_queryf(&rows, err,
	        "SELECT s.id, s.name, s.data AS data_json, d.name AS domain "
	        "FROM prov_subnets s LEFT JOIN prov_domains d "
	        "ON d.id = json_extract(s.data, '$.domain_id') ORDER BY s.id",
	        NULL) < 0)
		goto out;
	subnets = xcalloc(json_array_size(rows) + 1, sizeof *subnets);
	json_array_foreach(rows, i, row)
	{
		const json_t *d = json_object_get(row, "data");

		subnets[n++] = (struct pxe_dnsmasq_subnet){
		    .id = json_integer_value(json_object_get(row, "id")),
		    .name = json_string_value(json_object_get(row, "name")),
		    .network = json_string_value(json_object_get(d, "network")),
		    .mask = json_string_value(json_object_get(d, "mask")),
		    .from = json_string_value(json_object_get(d, "from")),
		    .to = json_string_value(json_object_get(d, "to")),
		    .loader = json_string_value(json_object_get(d, "pxe_loader")),
		    .gateway = json_string_value(json_object_get(d, "gateway")),
		    .dns_primary = json_string_value(json_object_get(d, "dns_primary")),
		    .dns_secondary = json_string_value(json_object_get(d, "dns_secondary")),
		    .mtu = (int)json_integer_value(json_object_get(d, "mtu")),
		    .domain = json_string_value(json_object_get(row, "domain")),
		};
	}
	prov_dhcp.subnets = subnets;
	prov_dhcp.nsubnets = n;
	r = pxe_dnsmasq_write_conf(&prov_dhcp, err);
	prov_dhcp.subnets = NULL;
	prov_dhcp.nsubnets = 0;
out:
	pthread_mutex_unlock(&prov_dhcp_lock);
	free(subnets);
	return r;
}

/* A subnet was created, changed or deleted: rewrite dnsmasq.conf, which dnsmasq reads at
 * start only: droverd's own dnsmasq is restarted; another one needs the operator to. */
void
prov_boot_subnets_changed(void)
{
	struct dr_error err;

	if (!prov_dhcp_on)
		return;
	if (prov_boot_write_conf(&err) < 0)
		log_warnx("dnsmasq.conf: %s", err.msg);
	else if (!pxe_dnsmasq_reload(true))
		log_info("%s/dnsmasq.conf rewritten for the subnets: restart dnsmasq to apply it",
		    prov_dhcp.dir);
}

/* Host row's reservations: one per interface with a MAC. */
static json_t *
prov_boot_host_entries(const json_t *row)
{
	const json_t *data = json_object_get(row, "data");
	json_t *list = json_array(), *nic;
	size_t i;

	json_array_foreach(json_object_get(data, "interfaces"), i, nic)
	{
		if (!json_is_string(json_object_get(nic, "mac")))
			continue;
		json_array_append_new(list,
		    json_pack("{s:O, s:O?, s:O, s:b}", "mac", json_object_get(nic, "mac"), "ip",
		        json_object_get(nic, "ip"), "name", json_object_get(row, "name"), "build",
		        json_is_true(json_object_get(data, "build"))));
	}
	return list;
}

/* Write dhcp-hosts from prov_dhcp_hosts (locked). */
static void
prov_boot_write_hosts(void)
{
	struct pxe_dnsmasq_host *hosts = NULL;
	struct dr_error err;
	const char *key;
	size_t n = 0, i;
	json_t *list, *e;

	json_object_foreach(prov_dhcp_hosts, key, list)
	{
		json_array_foreach(list, i, e)
		{
			hosts = xreallocarray(hosts, n + 1, sizeof *hosts);
			hosts[n++] = (struct pxe_dnsmasq_host){
			    .mac = json_string_value(json_object_get(e, "mac")),
			    .ip = json_string_value(json_object_get(e, "ip")),
			    .name = json_string_value(json_object_get(e, "name")),
			    .build = json_is_true(json_object_get(e, "build")),
			};
		}
	}
	if (pxe_dnsmasq_write_hosts(&prov_dhcp, hosts, n, &err) < 0)
		log_warnx("dhcp reservations: %s", err.msg);
	free(hosts);
}

/*
 * A host was created, changed or deleted (changed: the host, its id is what counts), or
 * NULL: every host. The reservations are rewritten, and dnsmasq told, only when that
 * host's reservations differ from what dnsmasq has.
 */
void
provisioner_boot_changed(const json_t *changed)
{
	json_int_t id = json_integer_value(json_object_get(changed, "id"));
	_cleanup_json_ json_t *rows = NULL;
	struct dr_error err;
	size_t i;
	json_t *row;

	if (!prov_dhcp_on)
		return;
	pthread_mutex_lock(&prov_dhcp_lock);
	if (changed == NULL || prov_dhcp_hosts == NULL) {
		if (store_queryf(&rows, &err,
		        "SELECT id, name, data AS data_json FROM prov_hosts ORDER BY id",
		        NULL) < 0) {
			log_warnx("dhcp reservations: %s", err.msg);
			goto out;
		}
		json_decref(prov_dhcp_hosts);
		prov_dhcp_hosts = json_object();
		json_array_foreach(rows, i, row)
		{
			char key[24];
			snprintf(key, sizeof key, "%lld",
			    (long long)json_integer_value(json_object_get(row, "id")));
			json_object_set_new(prov_dhcp_hosts, key, prov_boot_host_entries(row));
		}
	} else {
		_cleanup_json_ json_t *now = NULL;
		char key[24];

		snprintf(key, sizeof key, "%lld", (long long)id);
		if (store_queryf(&rows, &err,
		        "SELECT id, name, data AS data_json FROM prov_hosts WHERE id = ?", "[I]",
		        id) < 0) {
			log_warnx("dhcp reservations: %s", err.msg);
			goto out;
		}
		now = json_array_size(rows) > 0 ? prov_boot_host_entries(json_array_get(rows, 0))
		                                : json_array();
		if (json_equal(now, json_object_get(prov_dhcp_hosts, key)) ||
		    (json_array_size(now) == 0 && json_object_get(prov_dhcp_hosts, key) == NULL))
			goto out;
		if (json_array_size(rows) > 0)
			json_object_set(prov_dhcp_hosts, key, now);
		else
			json_object_del(prov_dhcp_hosts, key);
	}
	prov_boot_write_hosts();
out:
	pthread_mutex_unlock(&prov_dhcp_lock);
}

/* The MAC in "01-52-54-00-12-34-56" (ARP type 1 prefix), or -1. */
static int
prov_boot_mac(const char *s, char mac[18])
{
	char colon[18];
	size_t i;

	if (!str_has_prefix(s, "01-") || strlen(s) != 20)
		return -1;
	for (i = 0; i < 17; i++)
		colon[i] = s[3 + i] == '-' ? ':' : s[3 + i];
	colon[17] = '\0';
	return prov_mac_normalise(colon, mac);
}

/*
 * GRUB's local boot (installed, or not building): the first disk's own UEFI boot loader,
 * chainloaded (the firmware checks its signature: under Secure Boot shim, signed by
 * Microsoft's UEFI CA), at the removable-media path Drover's image installs use, else
 * where Debian's, Ubuntu's and the EL distributions' installers put shim or GRUB. With
 * none, back to the firmware (GRUB's exit reports success, after which firmware may show
 * its menu rather than try its next boot option).
 */
static const char prov_boot_grub_local[] =
    "set default=0\n"
    "set timeout=0\n"
    "menuentry 'Local disk' {\n"
    "  for f in /EFI/BOOT/BOOTX64.EFI /EFI/debian/shimx64.efi /EFI/ubuntu/shimx64.efi "
    "/EFI/rocky/shimx64.efi /EFI/almalinux/shimx64.efi /EFI/redhat/shimx64.efi "
    "/EFI/debian/grubx64.efi; do\n"
    "    if search --no-floppy --file --set=root \"$f\"; then\n"
    "      echo \"Drover: booting the local disk's $f\"\n"
    "      chainloader \"$f\"\n"
    "      boot\n"
    "    fi\n"
    "  done\n"
    "  exit\n"
    "}\n";

/* A per-MAC boot file for the TFTP server. */
int
provisioner_boot_file(const char *path, char **ret, size_t *ret_len)
{
	_cleanup_json_ json_t *host = NULL;
	const char *kind, *rest;
	struct dr_error err;
	char mac[18];
	char *out = NULL;

	if (str_has_prefix(path, "pxelinux.cfg/")) {
		kind = "PXELinux";
		rest = path + strlen("pxelinux.cfg/");
	} else if (str_has_prefix(path, "grub/grub.cfg-")) {
		kind = "PXEGrub2";
		rest = path + strlen("grub/grub.cfg-");
	} else if (str_has_prefix(path, "grub.cfg-")) {
		kind = "PXEGrub2";
		rest = path + strlen("grub.cfg-");
	} else {
		return 0;
	}
	if (prov_boot_mac(rest, mac) < 0)
		return 0;
	if ((host = prov_host_find_mac(mac)) == NULL)
		return -1;
	if (!json_is_true(json_object_get(host, "build"))) {
		/* Installed (or not building): boot the local disk. */
		out = xstrdup(strcmp(kind, "PXELinux") == 0
		        ? "DEFAULT local\nLABEL local\n  LOCALBOOT 0\n"
		        : prov_boot_grub_local);
	} else if (prov_render_host(host, kind, NULL, &out, &err) < 0) {
		log_warnx("tftp %s: %s", path, err.msg);
		return -1;
	}
	*ret_len = strlen(out);
	*ret = out;
	return 1;
}
