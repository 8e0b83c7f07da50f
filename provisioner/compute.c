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
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "provisioner/provisioner.h"

#define COMPUTE_CONNS_MAX 16

/* libvirt.so.0 is opened on first use (core/dlib.c): a daemon without such resources never
 * maps it. */
DLIB_DECLARE(virConnectClose);
DLIB_DECLARE(virConnectIsAlive);
DLIB_DECLARE(virConnectOpen);
DLIB_DECLARE(virDomainCreate);
DLIB_DECLARE(virDomainDefineXML);
DLIB_DECLARE(virDomainDestroy);
DLIB_DECLARE(virDomainFree);
DLIB_DECLARE(virDomainGetXMLDesc);
DLIB_DECLARE(virDomainIsActive);
DLIB_DECLARE(virDomainLookupByName);
DLIB_DECLARE(virDomainShutdown);
DLIB_DECLARE(virDomainUndefine);
DLIB_DECLARE(virDomainUndefineFlags);
DLIB_DECLARE(virGetLastErrorMessage);
DLIB_DECLARE(virInitialize);
DLIB_DECLARE(virSetErrorFunc);
DLIB_DECLARE(virStoragePoolFree);
DLIB_DECLARE(virStoragePoolLookupByName);
DLIB_DECLARE(virStorageVolCreateXML);
DLIB_DECLARE(virStorageVolDelete);
DLIB_DECLARE(virStorageVolFree);
DLIB_DECLARE(virStorageVolGetPath);
DLIB_DECLARE(virStorageVolLookupByPath);
DLIB_DECLARE(virConnectListAllDomains);
DLIB_DECLARE(virDomainGetInfo);
DLIB_DECLARE(virDomainGetName);
DLIB_DECLARE(virConnectListAllNetworks);
DLIB_DECLARE(virConnectListAllStoragePools);
DLIB_DECLARE(virNetworkFree);
DLIB_DECLARE(virNetworkGetBridgeName);
DLIB_DECLARE(virNetworkGetName);
DLIB_DECLARE(virNetworkGetXMLDesc);
DLIB_DECLARE(virNetworkIsActive);
DLIB_DECLARE(virNetworkLookupByName);
DLIB_DECLARE(virStoragePoolGetName);
DLIB_DECLARE(virStoragePoolIsActive);
DLIB_DECLARE(virStoragePoolListAllVolumes);
DLIB_DECLARE(virStorageVolGetInfo);
DLIB_DECLARE(virStorageVolGetName);
DLIB_DECLARE(virStorageVolGetXMLDesc);
DLIB_DECLARE(virStorageVolLookupByName);
static const struct dlib_sym compute_libvirt_syms[] = {
	DLIB_SYM(virConnectClose),
	DLIB_SYM(virConnectIsAlive),
	DLIB_SYM(virConnectOpen),
	DLIB_SYM(virDomainCreate),
	DLIB_SYM(virDomainDefineXML),
	DLIB_SYM(virDomainDestroy),
	DLIB_SYM(virDomainFree),
	DLIB_SYM(virDomainGetXMLDesc),
	DLIB_SYM(virDomainIsActive),
	DLIB_SYM(virDomainLookupByName),
	DLIB_SYM(virDomainShutdown),
	DLIB_SYM(virDomainUndefine),
	DLIB_SYM(virDomainUndefineFlags),
	DLIB_SYM(virGetLastErrorMessage),
	DLIB_SYM(virInitialize),
	DLIB_SYM(virSetErrorFunc),
	DLIB_SYM(virStoragePoolFree),
	DLIB_SYM(virStoragePoolLookupByName),
	DLIB_SYM(virStorageVolCreateXML),
	DLIB_SYM(virStorageVolDelete),
	DLIB_SYM(virStorageVolFree),
	DLIB_SYM(virStorageVolGetPath),
	DLIB_SYM(virStorageVolLookupByPath),
	DLIB_SYM(virConnectListAllDomains),
	DLIB_SYM(virDomainGetInfo),
	DLIB_SYM(virDomainGetName),
	DLIB_SYM(virConnectListAllNetworks),
	DLIB_SYM(virConnectListAllStoragePools),
	DLIB_SYM(virNetworkFree),
	DLIB_SYM(virNetworkGetBridgeName),
	DLIB_SYM(virNetworkGetName),
	DLIB_SYM(virNetworkGetXMLDesc),
	DLIB_SYM(virNetworkIsActive),
	DLIB_SYM(virNetworkLookupByName),
	DLIB_SYM(virStoragePoolGetName),
	DLIB_SYM(virStoragePoolIsActive),
	DLIB_SYM(virStoragePoolListAllVolumes),
	DLIB_SYM(virStorageVolGetInfo),
	DLIB_SYM(virStorageVolGetName),
	DLIB_SYM(virStorageVolGetXMLDesc),
	DLIB_SYM(virStorageVolLookupByName),
};
static struct dlib compute_libvirt = DLIB_INIT("libvirt.so.0", "libvirt0", compute_libvirt_syms);

/* libxml2 reads the XML libvirt describes networks and volumes in. */
DLIB_DECLARE(xmlFreeDoc);
DLIB_DECLARE(xmlReadMemory);
DLIB_DECLARE(xmlXPathEvalExpression);
DLIB_DECLARE(xmlXPathFreeContext);
DLIB_DECLARE(xmlXPathFreeObject);
DLIB_DECLARE(xmlXPathNewContext);
static const struct dlib_sym compute_xml_syms[] = {
	DLIB_SYM(xmlFreeDoc),
	DLIB_SYM(xmlReadMemory),
	DLIB_SYM(xmlXPathEvalExpression),
	DLIB_SYM(xmlXPathFreeContext),
	DLIB_SYM(xmlXPathFreeObject),
	DLIB_SYM(xmlXPathNewContext),
};
static struct dlib compute_xml = DLIB_INIT("libxml2.so.2", "libxml2", compute_xml_syms);

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
	sym_virInitialize();
	sym_virSetErrorFunc(NULL, compute_silence);
}

/* The last libvirt error, for messages. */
static const char *
compute_virt_error(void)
{
	const char *m = sym_virGetLastErrorMessage();

	return m != NULL ? m : "unknown libvirt error";
}

/* A connection to uri, opened once. */
static virConnectPtr
compute_conn(const char *uri, struct dr_error *err)
{
	virConnectPtr c = NULL;
	size_t i;

	if (dlib_load(&compute_libvirt, err) < 0)
		return NULL;
	pthread_once(&compute_once, compute_init_once);
	pthread_mutex_lock(&compute_lock);
	for (i = 0; i < COMPUTE_CONNS_MAX && compute_conns[i].uri != NULL; i++) {
		if (strcmp(compute_conns[i].uri, uri) == 0) {
			if (sym_virConnectIsAlive(compute_conns[i].conn) == 1) {
				c = compute_conns[i].conn;
				goto out;
			}
			sym_virConnectClose(compute_conns[i].conn);
			compute_conns[i].conn = NULL;
			break;
		}
	}
	if (i == COMPUTE_CONNS_MAX) {
		dr_error_set(err, "%s: too many compute resources open", uri);
		goto out;
	}
	if ((c = sym_virConnectOpen(uri)) == NULL) {
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
			sym_virConnectClose(compute_conns[i].conn);
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

static virStorageVolPtr compute_image_lookup(virConnectPtr c, const char *uri, const char *image,
    const char *pool_name, struct dr_error *err);
static int compute_xml_strings(
    const char *xml, const char *const *exprs, size_t n, char **out, struct dr_error *err);

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
	const char *image = compute_attr_str(attrs, "image", NULL);
	struct buf x = BUF_INIT(64 * 1024);
	virStorageVolPtr ivol = NULL;
	char *ipath = NULL, *ixml = NULL, *ifmt[1] = {NULL};
	unsigned long long icap = 0;
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
	if ((dom = sym_virDomainLookupByName(c, name)) != NULL) {
		dr_error_set(err, "%s: a VM named %s already exists", uri, name);
		goto out;
	}
	/* An image: the VM's disk is a copy-on-write overlay backed by that volume, as large
	 * as disk_gb or the image, and the VM boots from it first. */
	if (image != NULL) {
		static const char *const exprs[] = {"string(/volume/target/format/@type)"};
		virStorageVolInfo info;

		if ((ivol = compute_image_lookup(c, uri, image, pool_name, err)) == NULL)
			goto out;
		if (sym_virStorageVolGetInfo(ivol, &info) < 0 ||
		    (ipath = sym_virStorageVolGetPath(ivol)) == NULL) {
			dr_error_set(
			    err, "compute_attributes.image: %s: %s", uri, compute_virt_error());
			goto out;
		}
		ixml = sym_virStorageVolGetXMLDesc(ivol, 0);
		if (compute_xml_strings(ixml, exprs, 1, ifmt, err) < 0)
			goto out;
		if (**ifmt == '\0') {
			free(ifmt[0]);
			ifmt[0] = xstrdup("raw");
		}
		icap = info.capacity;
		if (disk == 0)
			disk = (long long)((icap + (1ULL << 30) - 1) >> 30);
	}
	/* A network by name must exist (a bridge is the host's business). */
	if (bridge == NULL) {
		virNetworkPtr net = sym_virNetworkLookupByName(c, network);

		if (net == NULL) {
			dr_error_set(
			    err, "compute_attributes.network: %s: no network '%s'", uri, network);
			goto out;
		}
		sym_virNetworkFree(net);
	}
	/* disk_gb 0: a diskless machine that only boots from the network. */
	if (disk > 0 && (pool = sym_virStoragePoolLookupByName(c, pool_name)) == NULL) {
		dr_error_set(err, "compute_attributes.pool: %s: %s", uri, compute_virt_error());
		goto out;
	}
	if (disk > 0) {
		unsigned long long cap = (unsigned long long)disk << 30;

		buf_adds(&x, "<volume><name>");
		compute_xml_add(&x, name);
		buf_addf(&x,
		    "-disk0.qcow2</name><capacity unit='bytes'>%llu</capacity>"
		    "<target><format type='qcow2'/></target>",
		    cap > icap ? cap : icap);
		if (ipath != NULL) {
			buf_adds(&x, "<backingStore><path>");
			compute_xml_add(&x, ipath);
			buf_adds(&x, "</path><format type='");
			compute_xml_add(&x, ifmt[0]);
			buf_adds(&x, "'/></backingStore>");
		}
		buf_adds(&x, "</volume>");
		if ((vol = sym_virStorageVolCreateXML(pool, x.data, 0)) == NULL) {
			dr_error_set(
			    err, "%s: volume for %s: %s", uri, name, compute_virt_error());
			goto out;
		}
		path = sym_virStorageVolGetPath(vol);
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
	    "<os%s><type arch='x86_64'>hvm</type>%s</os><features><acpi/><apic/></features>",
	    strcmp(firmware, "uefi") == 0 ? " firmware='efi'" : "",
	    image != NULL ? "<boot dev='hd'/><boot dev='network'/>"
	                  : "<boot dev='network'/><boot dev='hd'/>");
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
	if ((dom = sym_virDomainDefineXML(c, x.data)) == NULL) {
		dr_error_set(err, "%s: define VM %s: %s", uri, name, compute_virt_error());
		sym_virStorageVolDelete(vol, 0);
		goto out;
	}
	/* The MAC libvirt chose when the host had none. */
	if (ret_mac != NULL && (xml = sym_virDomainGetXMLDesc(dom, 0)) != NULL) {
		const char *m = strstr(xml, "<mac address='");
		*ret_mac = m != NULL ? xstrndup(m + 14, 17) : NULL;
	}
	rc = 0;
out:
	free(xml);
	free(path);
	free(ipath);
	free(ixml);
	free(ifmt[0]);
	buf_free(&x);
	if (ivol != NULL)
		sym_virStorageVolFree(ivol);
	if (dom != NULL)
		sym_virDomainFree(dom);
	if (vol != NULL)
		sym_virStorageVolFree(vol);
	if (pool != NULL)
		sym_virStoragePoolFree(pool);
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
	if ((dom = sym_virDomainLookupByName(c, name)) == NULL)
		return 0; /* already gone */
	if (sym_virDomainIsActive(dom) == 1)
		sym_virDomainDestroy(dom);
	/* Every file-backed disk that is a storage volume goes with it. */
	xml = sym_virDomainGetXMLDesc(dom, 0);
	for (p = xml; p != NULL && (p = strstr(p, "<source file='")) != NULL;) {
		char *end = strchr(p + 14, '\'');
		_cleanup_free_ char *file = NULL;
		virStorageVolPtr vol;

		if (end == NULL)
			break;
		file = xstrndup(p + 14, (size_t)(end - p - 14));
		if ((vol = sym_virStorageVolLookupByPath(c, file)) != NULL) {
			sym_virStorageVolDelete(vol, 0);
			sym_virStorageVolFree(vol);
		}
		p = end;
	}
	free(xml);
	if (sym_virDomainUndefineFlags(dom, VIR_DOMAIN_UNDEFINE_NVRAM) < 0 &&
	    sym_virDomainUndefine(dom) < 0) {
		dr_error_set(err, "%s: undefine %s: %s", uri, name, compute_virt_error());
		rc = -1;
	}
	sym_virDomainFree(dom);
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
	if ((dom = sym_virDomainLookupByName(c, name)) == NULL)
		return dr_error_set(err, "%s: no VM %s", uri, name);
	active = sym_virDomainIsActive(dom);
	if (strcmp(action, "on") == 0 && active != 1)
		r = sym_virDomainCreate(dom);
	else if (strcmp(action, "off") == 0 && active == 1)
		r = sym_virDomainDestroy(dom);
	else if (strcmp(action, "soft") == 0 && active == 1)
		r = sym_virDomainShutdown(dom);
	else if (strcmp(action, "cycle") == 0)
		r = active == 1 ? (sym_virDomainDestroy(dom) < 0 ? -1 : sym_virDomainCreate(dom))
		                : sym_virDomainCreate(dom);
	if (r < 0) {
		dr_error_set(err, "%s: power %s %s: %s", uri, action, name, compute_virt_error());
		sym_virDomainFree(dom);
		return -1;
	}
	if (ret_state != NULL)
		*ret_state = xstrdup(sym_virDomainIsActive(dom) == 1 ? "on" : "off");
	sym_virDomainFree(dom);
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
	if ((n = sym_virConnectListAllDomains(c, &doms, 0)) < 0)
		return dr_error_set(err, "%s: listing VMs: %s", uri, compute_virt_error());
	out = json_array();
	for (i = 0; i < n; i++) {
		virDomainInfo info;

		if (i < PROV_COMPUTE_VMS_MAX && sym_virDomainGetInfo(doms[i], &info) == 0)
			json_array_append_new(out,
			    json_pack("{s:s, s:s, s:i, s:I}", "name", sym_virDomainGetName(doms[i]),
			        "state", sym_virDomainIsActive(doms[i]) == 1 ? "on" : "off", "vcpus",
			        (int)info.nrVirtCpu, "memory_mb", (json_int_t)(info.maxMem / 1024)));
		sym_virDomainFree(doms[i]);
	}
	free(doms);
	*ret = out;
	return 0;
}

/* Evaluate the XPath string() expressions exprs[0..n) over xml into out[] (xstrdup'd, ""
 * when absent); -1 with err when the XML does not parse. */
static int
compute_xml_strings(
    const char *xml, const char *const *exprs, size_t n, char **out, struct dr_error *err)
{
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
	size_t i;

	if (dlib_load(&compute_xml, err) < 0)
		return -1;
	if (xml == NULL ||
	    (doc = sym_xmlReadMemory(xml, (int)strlen(xml), "libvirt.xml", NULL,
	         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)) == NULL)
		return dr_error_set(err, "libvirt returned XML that does not parse");
	if ((ctx = sym_xmlXPathNewContext(doc)) == NULL) {
		sym_xmlFreeDoc(doc);
		return dr_error_set(err, "out of memory reading libvirt's XML");
	}
	for (i = 0; i < n; i++) {
		xmlXPathObjectPtr o = sym_xmlXPathEvalExpression((const xmlChar *)exprs[i], ctx);

		out[i] = xstrdup(o != NULL && o->type == XPATH_STRING && o->stringval != NULL
		        ? (const char *)o->stringval
		        : "");
		if (o != NULL)
			sym_xmlXPathFreeObject(o);
	}
	sym_xmlXPathFreeContext(ctx);
	sym_xmlFreeDoc(doc);
	return 0;
}

/* The volume an image attribute names: "POOL/VOLUME", an absolute path, or a volume in
 * pool_name. NULL with err naming compute_attributes.image when there is none. */
static virStorageVolPtr
compute_image_lookup(virConnectPtr c, const char *uri, const char *image, const char *pool_name,
    struct dr_error *err)
{
	_cleanup_free_ char *pname = NULL;
	const char *vname = image, *slash = strchr(image, '/');
	virStoragePoolPtr pool;
	virStorageVolPtr vol;

	if (image[0] == '/') {
		if ((vol = sym_virStorageVolLookupByPath(c, image)) == NULL)
			dr_error_set(err, "compute_attributes.image: %s: no storage volume at %s",
			    uri, image);
		return vol;
	}
	if (slash != NULL) {
		pname = xstrndup(image, (size_t)(slash - image));
		pool_name = pname;
		vname = slash + 1;
	}
	if ((pool = sym_virStoragePoolLookupByName(c, pool_name)) == NULL) {
		dr_error_set(
		    err, "compute_attributes.image: %s: no storage pool '%s'", uri, pool_name);
		return NULL;
	}
	if ((vol = sym_virStorageVolLookupByName(pool, vname)) == NULL)
		dr_error_set(err, "compute_attributes.image: %s: no volume '%s' in pool '%s'", uri,
		    vname, pool_name);
	sym_virStoragePoolFree(pool);
	return vol;
}

/* qsort comparator: list entries by their "id" (images) or else "name" (networks). */
static int
compute_entry_cmp(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *key = json_object_get(x, "id") != NULL ? "id" : "name";

	return strcmp(json_string_value(json_object_get(x, key)),
	    json_string_value(json_object_get(y, key)));
}

/* A list as libvirt gave it, in a stable order (libvirt's follows its hash tables). */
static json_t *
compute_sorted(json_t *list)
{
	size_t n = json_array_size(list), i;
	json_t **items = xcalloc(n + 1, sizeof *items), *out = json_array();

	for (i = 0; i < n; i++)
		items[i] = json_array_get(list, i);
	qsort(items, n, sizeof *items, compute_entry_cmp);
	for (i = 0; i < n; i++)
		json_array_append(out, items[i]);
	free(items);
	json_decref(list);
	return out;
}

/* The volumes usable as images, by pool and name: [{name, pool, path, capacity, format}] (a
 * name of "POOL/VOLUME" is what compute_attributes.image takes), at most
 * PROV_COMPUTE_VMS_MAX; inactive pools have no volumes to list. */
static int
compute_libvirt_images(const json_t *cr, json_t **ret, struct dr_error *err)
{
	static const char *const exprs[] = {"string(/volume/target/format/@type)"};
	const char *uri = json_string_value(json_object_get(cr, "url"));
	virConnectPtr c = compute_conn(uri, err);
	virStoragePoolPtr *pools = NULL;
	json_t *out;
	int np, p;

	if (c == NULL)
		return -1;
	if ((np = sym_virConnectListAllStoragePools(c, &pools, 0)) < 0)
		return dr_error_set(
		    err, "%s: listing storage pools: %s", uri, compute_virt_error());
	out = json_array();
	for (p = 0; p < np; p++) {
		virStorageVolPtr *vols = NULL;
		const char *pname = sym_virStoragePoolGetName(pools[p]);
		int nv, v;

		nv = sym_virStoragePoolIsActive(pools[p]) == 1
		    ? sym_virStoragePoolListAllVolumes(pools[p], &vols, 0)
		    : 0;
		for (v = 0; v < nv; v++) {
			virStorageVolInfo info;
			char *path, *xml, *fmt[1] = {NULL};

			if (json_array_size(out) < PROV_COMPUTE_VMS_MAX &&
			    sym_virStorageVolGetInfo(vols[v], &info) == 0 &&
			    info.type != VIR_STORAGE_VOL_DIR) {
				path = sym_virStorageVolGetPath(vols[v]);
				xml = sym_virStorageVolGetXMLDesc(vols[v], 0);
				if (compute_xml_strings(xml, exprs, 1, fmt, NULL) < 0)
					fmt[0] = xstrdup("");
				json_array_append_new(out,
				    json_pack("{s:s, s:s, s:s?, s:I, s:I, s:s, s:s++}", "name",
				        sym_virStorageVolGetName(vols[v]), "pool", pname, "path",
				        path, "capacity", (json_int_t)info.capacity, "allocation",
				        (json_int_t)info.allocation, "format", fmt[0], "id", pname,
				        "/", sym_virStorageVolGetName(vols[v])));
				free(fmt[0]);
				free(xml);
				free(path);
			}
			sym_virStorageVolFree(vols[v]);
		}
		free(vols);
		sym_virStoragePoolFree(pools[p]);
	}
	free(pools);
	*ret = compute_sorted(out);
	return 0;
}

/* The virtual networks: [{name, bridge, active, forward_mode, dhcp_start, dhcp_end}] (the
 * name is what compute_attributes.network takes), at most PROV_COMPUTE_VMS_MAX. */
static int
compute_libvirt_networks(const json_t *cr, json_t **ret, struct dr_error *err)
{
	static const char *const exprs[] = {
	    "string(/network/forward/@mode)",
	    "string(count(/network/forward))",
	    "string(/network/ip/dhcp/range/@start)",
	    "string(/network/ip/dhcp/range/@end)",
	};
	const char *uri = json_string_value(json_object_get(cr, "url"));
	virConnectPtr c = compute_conn(uri, err);
	virNetworkPtr *nets = NULL;
	json_t *out;
	int n, i;

	if (c == NULL)
		return -1;
	if ((n = sym_virConnectListAllNetworks(c, &nets, 0)) < 0)
		return dr_error_set(err, "%s: listing networks: %s", uri, compute_virt_error());
	out = json_array();
	for (i = 0; i < n; i++) {
		char *v[nitems(exprs)] = {NULL}, *xml, *bridge;
		const char *mode;
		size_t k;

		if (json_array_size(out) >= PROV_COMPUTE_VMS_MAX) {
			sym_virNetworkFree(nets[i]);
			continue;
		}
		xml = sym_virNetworkGetXMLDesc(nets[i], 0);
		if (compute_xml_strings(xml, exprs, nitems(exprs), v, NULL) < 0)
			for (k = 0; k < nitems(exprs); k++)
				v[k] = xstrdup("");
		/* No <forward>: an isolated network; <forward> without a mode: NAT. */
		mode = strcmp(v[1], "0") == 0 ? "isolated" : *v[0] != '\0' ? v[0] : "nat";
		bridge = sym_virNetworkGetBridgeName(nets[i]);
		json_array_append_new(out,
		    json_pack("{s:s, s:s?, s:b, s:s, s:s?, s:s?}", "name",
		        sym_virNetworkGetName(nets[i]), "bridge", bridge, "active",
		        sym_virNetworkIsActive(nets[i]) == 1, "forward_mode", mode, "dhcp_start",
		        *v[2] != '\0' ? v[2] : NULL, "dhcp_end", *v[3] != '\0' ? v[3] : NULL));
		for (k = 0; k < nitems(exprs); k++)
			free(v[k]);
		free(bridge);
		free(xml);
		sym_virNetworkFree(nets[i]);
	}
	free(nets);
	*ret = compute_sorted(out);
	return 0;
}

static const struct prov_compute_backend compute_backends[] = {
    {"libvirt", compute_libvirt_create, compute_libvirt_destroy, compute_libvirt_power,
        compute_libvirt_vms, compute_libvirt_images, compute_libvirt_networks},
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
