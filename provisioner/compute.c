/* compute.c - compute resources: VMs for hosts on libvirt (a backend vtable chosen by the
 * resource's provider), created with network boot first, powered and destroyed. */
#define LOG_COMPONENT "compute"
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "provisioner/provisioner.h"

#define COMPUTE_CONNS_MAX 16

/* Open connections by URI: libvirt connections are thread-safe, and test:/// keeps its
 * state only while a connection stays open. */
static struct {
	char *uri;
	virConnectPtr conn;
} compute_conns[COMPUTE_CONNS_MAX];
static pthread_mutex_t compute_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t compute_once = PTHREAD_ONCE_INIT;

/* libvirt prints errors on stderr by default; we report them ourselves. */
static void
compute_silence(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;
}

static void
compute_init_once(void)
{
	virInitialize();
	virSetErrorFunc(NULL, compute_silence);
}

/* The last libvirt error, for messages. */
static const char *
compute_virt_error(void)
{
	const char *m = virGetLastErrorMessage();

	return m != NULL ? m : "unknown libvirt error";
}

/* A connection to uri, opened once. */
static virConnectPtr
compute_conn(const char *uri, struct dr_error *err)
{
	virConnectPtr c = NULL;
	size_t i;

	pthread_once(&compute_once, compute_init_once);
	pthread_mutex_lock(&compute_lock);
	for (i = 0; i < COMPUTE_CONNS_MAX && compute_conns[i].uri != NULL; i++) {
		if (strcmp(compute_conns[i].uri, uri) == 0) {
			if (virConnectIsAlive(compute_conns[i].conn) == 1) {
				c = compute_conns[i].conn;
				goto out;
			}
			virConnectClose(compute_conns[i].conn);
			compute_conns[i].conn = NULL;
			break;
		}
	}
	if (i == COMPUTE_CONNS_MAX) {
		dr_error_set(err, "%s: too many compute resources open", uri);
		goto out;
	}
	if ((c = virConnectOpen(uri)) == NULL) {
		dr_error_set(err, "%s: %s", uri, compute_virt_error());
		goto out;
	}
	if (compute_conns[i].uri == NULL)
		compute_conns[i].uri = xstrdup(uri);
	compute_conns[i].conn = c;
out:
	pthread_mutex_unlock(&compute_lock);
	return c;
}

/* Close every connection (shutdown and tests). */
void
prov_compute_close(void)
{
	size_t i;

	pthread_mutex_lock(&compute_lock);
	for (i = 0; i < COMPUTE_CONNS_MAX; i++) {
		if (compute_conns[i].conn != NULL)
			virConnectClose(compute_conns[i].conn);
		free(compute_conns[i].uri);
		compute_conns[i].uri = NULL;
		compute_conns[i].conn = NULL;
	}
	pthread_mutex_unlock(&compute_lock);
}

/* XML-escape s onto b. */
static void
compute_xml_add(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<':
			buf_adds(b, "&lt;");
			break;
		case '>':
			buf_adds(b, "&gt;");
			break;
		case '&':
			buf_adds(b, "&amp;");
			break;
		case '"':
			buf_adds(b, "&quot;");
			break;
		case '\'':
			buf_adds(b, "&apos;");
			break;
		default:
			buf_addc(b, *s);
		}
	}
}

/* An integer attribute within bounds, or its default; -1 with err when out of bounds. */
static int
compute_attr_int(const json_t *attrs, const char *key, long long def, long long min, long long max,
    long long *ret, struct dr_error *err)
{
	json_t *v = json_object_get(attrs, key);
	long long n = def;

	if (v != NULL && json_is_integer(v))
		n = json_integer_value(v);
	else if (v != NULL &&
	    (!json_is_string(v) || str_to_ll(json_string_value(v), min, max, &n) < 0))
		return dr_error_set(err,
		    "compute_attributes.%s: expected a number from %lld to %lld", key, min, max);
	if (n < min || n > max)
		return dr_error_set(err,
		    "compute_attributes.%s: expected a number from %lld to %lld", key, min, max);
	*ret = n;
	return 0;
}

/* A string attribute or its default. */
static const char *
compute_attr_str(const json_t *attrs, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(attrs, key));

	return s != NULL && *s != '\0' ? s : def;
}

/* Create the VM of a host: a volume in a pool, a NIC on a network or bridge with the
 * host's MAC (or one libvirt picks, returned in *ret_mac), boot from network then disk. */
static int
compute_libvirt_create(const json_t *cr, const json_t *host, char **ret_mac, struct dr_error *err)
{
	const char *uri = json_string_value(json_object_get(cr, "url"));
	const char *name = json_string_value(json_object_get(host, "name"));
	const json_t *attrs = json_object_get(host, "compute_attributes");
	const char *mac = json_string_value(
	    json_object_get(json_array_get(json_object_get(host, "interfaces"), 0), "mac"));
	const char *pool_name = compute_attr_str(attrs, "pool", "default");
	const char *network = compute_attr_str(attrs, "network", "default");
	const char *bridge = compute_attr_str(attrs, "bridge", NULL);
	const char *firmware = compute_attr_str(attrs, "firmware", "bios");
	const char *model = compute_attr_str(attrs, "nic_model", "virtio");
	struct buf x = BUF_INIT(64 * 1024);
	virStoragePoolPtr pool = NULL;
	virStorageVolPtr vol = NULL;
	virDomainPtr dom = NULL;
	virConnectPtr c;
	long long cpus, mem, disk;
	char *path = NULL, *xml = NULL;
	int rc = -1;

	if (compute_attr_int(attrs, "cpus", 1, 1, 256, &cpus, err) < 0 ||
	    compute_attr_int(attrs, "memory_mb", 1024, 64, 4 * 1024 * 1024, &mem, err) < 0 ||
	    compute_attr_int(attrs, "disk_gb", 10, 0, 64 * 1024, &disk, err) < 0)
		return -1;
	if (strcmp(firmware, "bios") != 0 && strcmp(firmware, "uefi") != 0)
		return dr_error_set(err, "compute_attributes.firmware: expected bios or uefi");
	if ((c = compute_conn(uri, err)) == NULL)
		return -1;
	if ((dom = virDomainLookupByName(c, name)) != NULL) {
		dr_error_set(err, "%s: a VM named %s already exists", uri, name);
		goto out;
	}
	/* disk_gb 0: a diskless machine that only boots from the network. */
	if (disk > 0 && (pool = virStoragePoolLookupByName(c, pool_name)) == NULL) {
		dr_error_set(err, "compute_attributes.pool: %s: %s", uri, compute_virt_error());
		goto out;
	}
	if (disk > 0) {
		buf_adds(&x, "<volume><name>");
		compute_xml_add(&x, name);
		buf_addf(&x,
		    "-disk0.qcow2</name><capacity unit='G'>%lld</capacity>"
		    "<target><format type='qcow2'/></target></volume>",
		    disk);
		if ((vol = virStorageVolCreateXML(pool, x.data, 0)) == NULL) {
			dr_error_set(
			    err, "%s: volume for %s: %s", uri, name, compute_virt_error());
			goto out;
		}
		path = virStorageVolGetPath(vol);
	}
	buf_reset(&x);
	buf_adds(&x, "<domain type='");
	compute_xml_add(&x,
	    compute_attr_str(
	        attrs, "domain_type", str_has_prefix(uri, "test:") ? "test" : "qemu"));
	buf_adds(&x, "'><name>");
	compute_xml_add(&x, name);
	buf_addf(&x, "</name><memory unit='MiB'>%lld</memory><vcpu>%lld</vcpu>", mem, cpus);
	/* ACPI, or neither a guest's poweroff nor virDomainShutdown reach the machine. */
	buf_addf(&x,
	    "<os%s><type arch='x86_64'>hvm</type><boot dev='network'/>"
	    "<boot dev='hd'/></os><features><acpi/><apic/></features>",
	    strcmp(firmware, "uefi") == 0 ? " firmware='efi'" : "");
	buf_adds(&x, "<devices>");
	if (path != NULL) {
		buf_adds(&x,
		    "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
		    "<source file='");
		compute_xml_add(&x, path);
		buf_adds(&x, "'/><target dev='vda' bus='virtio'/></disk>");
	}
	if (bridge != NULL) {
		buf_adds(&x, "<interface type='bridge'><source bridge='");
		compute_xml_add(&x, bridge);
	} else {
		buf_adds(&x, "<interface type='network'><source network='");
		compute_xml_add(&x, network);
	}
	buf_adds(&x, "'/>");
	if (mac != NULL) {
		buf_adds(&x, "<mac address='");
		compute_xml_add(&x, mac);
		buf_adds(&x, "'/>");
	}
	buf_adds(&x, "<model type='");
	compute_xml_add(&x, model);
	buf_adds(&x, "'/></interface>");
	/* The serial console goes to a file when asked (tests read it), else a pty. */
	if (compute_attr_str(attrs, "console_log", NULL) != NULL) {
		buf_adds(&x, "<serial type='file'><source path='");
		compute_xml_add(&x, compute_attr_str(attrs, "console_log", NULL));
		buf_adds(&x, "'/></serial>");
	} else {
		buf_adds(&x, "<serial type='pty'/><console type='pty'/>");
	}
	buf_adds(&x, "</devices></domain>");
	if ((dom = virDomainDefineXML(c, x.data)) == NULL) {
		dr_error_set(err, "%s: define VM %s: %s", uri, name, compute_virt_error());
		virStorageVolDelete(vol, 0);
		goto out;
	}
	/* The MAC libvirt chose when the host had none. */
	if (ret_mac != NULL && (xml = virDomainGetXMLDesc(dom, 0)) != NULL) {
		const char *m = strstr(xml, "<mac address='");
		*ret_mac = m != NULL ? xstrndup(m + 14, 17) : NULL;
	}
	rc = 0;
out:
	free(xml);
	free(path);
	buf_free(&x);
	if (dom != NULL)
		virDomainFree(dom);
	if (vol != NULL)
		virStorageVolFree(vol);
	if (pool != NULL)
		virStoragePoolFree(pool);
	return rc;
}

/* Delete the VM with its volumes. */
static int
compute_libvirt_destroy(const json_t *cr, const char *name, struct dr_error *err)
{
	const char *uri = json_string_value(json_object_get(cr, "url"));
	virConnectPtr c = compute_conn(uri, err);
	virDomainPtr dom;
	char *xml, *p;
	int rc = 0;

	if (c == NULL)
		return -1;
	if ((dom = virDomainLookupByName(c, name)) == NULL)
		return 0; /* already gone */
	if (virDomainIsActive(dom) == 1)
		virDomainDestroy(dom);
	/* Every file-backed disk that is a storage volume goes with it. */
	xml = virDomainGetXMLDesc(dom, 0);
	for (p = xml; p != NULL && (p = strstr(p, "<source file='")) != NULL;) {
		char *end = strchr(p + 14, '\'');
		_cleanup_free_ char *file = NULL;
		virStorageVolPtr vol;

		if (end == NULL)
			break;
		file = xstrndup(p + 14, (size_t)(end - p - 14));
		if ((vol = virStorageVolLookupByPath(c, file)) != NULL) {
			virStorageVolDelete(vol, 0);
			virStorageVolFree(vol);
		}
		p = end;
	}
	free(xml);
	if (virDomainUndefineFlags(dom, VIR_DOMAIN_UNDEFINE_NVRAM) < 0 &&
	    virDomainUndefine(dom) < 0) {
		dr_error_set(err, "%s: undefine %s: %s", uri, name, compute_virt_error());
		rc = -1;
	}
	virDomainFree(dom);
	return rc;
}

/* on, off (hard), soft (ACPI), cycle (hard reset), status. *ret_state: "on" or "off". */
static int
compute_libvirt_power(
    const json_t *cr, const char *name, const char *action, char **ret_state, struct dr_error *err)
{
	const char *uri = json_string_value(json_object_get(cr, "url"));
	virConnectPtr c = compute_conn(uri, err);
	virDomainPtr dom;
	int active, r = 0;

	if (c == NULL)
		return -1;
	if ((dom = virDomainLookupByName(c, name)) == NULL)
		return dr_error_set(err, "%s: no VM %s", uri, name);
	active = virDomainIsActive(dom);
	if (strcmp(action, "on") == 0 && active != 1)
		r = virDomainCreate(dom);
	else if (strcmp(action, "off") == 0 && active == 1)
		r = virDomainDestroy(dom);
	else if (strcmp(action, "soft") == 0 && active == 1)
		r = virDomainShutdown(dom);
	else if (strcmp(action, "cycle") == 0)
		r = active == 1 ? (virDomainDestroy(dom) < 0 ? -1 : virDomainCreate(dom))
		                : virDomainCreate(dom);
	if (r < 0) {
		dr_error_set(err, "%s: power %s %s: %s", uri, action, name, compute_virt_error());
		virDomainFree(dom);
		return -1;
	}
	if (ret_state != NULL)
		*ret_state = xstrdup(virDomainIsActive(dom) == 1 ? "on" : "off");
	virDomainFree(dom);
	return 0;
}

/* The hypervisor's VMs, by name: [{name, state, vcpus, memory_mb}], at most
 * PROV_COMPUTE_VMS_MAX. */
static int
compute_libvirt_vms(const json_t *cr, json_t **ret, struct dr_error *err)
{
	const char *uri = json_string_value(json_object_get(cr, "url"));
	virConnectPtr c = compute_conn(uri, err);
	virDomainPtr *doms = NULL;
	json_t *out;
	int n, i;

	if (c == NULL)
		return -1;
	if ((n = virConnectListAllDomains(c, &doms, 0)) < 0)
		return dr_error_set(err, "%s: listing VMs: %s", uri, compute_virt_error());
	out = json_array();
	for (i = 0; i < n; i++) {
		virDomainInfo info;

		if (i < PROV_COMPUTE_VMS_MAX && virDomainGetInfo(doms[i], &info) == 0)
			json_array_append_new(out,
			    json_pack("{s:s, s:s, s:i, s:I}", "name", virDomainGetName(doms[i]),
			        "state", virDomainIsActive(doms[i]) == 1 ? "on" : "off", "vcpus",
			        (int)info.nrVirtCpu, "memory_mb",
			        (json_int_t)(info.maxMem / 1024)));
		virDomainFree(doms[i]);
	}
	free(doms);
	*ret = out;
	return 0;
}

static const struct prov_compute_backend compute_backends[] = {
    {"libvirt", compute_libvirt_create, compute_libvirt_destroy, compute_libvirt_power,
        compute_libvirt_vms},
};

/* The backend of a compute resource (by its provider). */
const struct prov_compute_backend *
prov_compute_backend(const json_t *cr)
{
	const char *p = json_string_value(json_object_get(cr, "provider"));
	size_t i;

	for (i = 0; p != NULL && i < nitems(compute_backends); i++)
		if (strcmp(compute_backends[i].name, p) == 0)
			return &compute_backends[i];
	return NULL;
}

/* The compute resource of a host (its own, or its hostgroup chain's), or NULL. */
json_t *
prov_compute_of(const json_t *host)
{
	_cleanup_json_ json_t *r = NULL;
	json_t *cr;

	if (prov_host_resolve(host, &r, NULL) < 0)
		return NULL;
	cr = json_object_get(r, "compute_resource");
	return json_is_object(cr) ? json_incref(cr) : NULL;
}
