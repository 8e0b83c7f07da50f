/* resource.c - the provisioning model as one declarative table of resources and fields,
 * with validation, storage as JSON documents, references and audited writes. */
#define LOG_COMPONENT "provisioner"
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provisioner/provisioner.h"

#define F(n, t, fl, a)                                                                            \
	{                                                                                         \
		n, t, fl, a, 0, 0                                                                 \
	}
#define S(n, fl, max)                                                                             \
	{                                                                                         \
		n, PROV_STRING, fl, NULL, 0, max                                                  \
	}
#define I(n, fl, lo, hi)                                                                          \
	{                                                                                         \
		n, PROV_INT, fl, NULL, lo, hi                                                     \
	}
#define NAME S("name", PROV_REQUIRED | PROV_SEARCH, PROV_NAME_MAX)
#define TEXT(n, fl)                                                                               \
	{                                                                                         \
		n, PROV_TEXT, fl, NULL, 0, PROV_TEXT_MAX                                          \
	}
#define FAMILIES "Debian|Redhat"

static const struct prov_field common_parameter_fields[] = {
    NAME,
    S("value", 0, 64 * 1024),
};

static const struct prov_field domain_fields[] = {
    NAME,
    S("fullname", 0, PROV_NAME_MAX),
    F("parameters", PROV_PARAMS, 0, NULL),
    TEXT("comment", 0),
};

static const struct prov_field architecture_fields[] = {
    NAME,
};

static const struct prov_field subnet_fields[] = {
    NAME,
    F("network", PROV_IP, PROV_REQUIRED | PROV_SEARCH, NULL),
    F("mask", PROV_IP, PROV_REQUIRED, NULL),
    F("gateway", PROV_IP, 0, NULL),
    F("dns_primary", PROV_IP, 0, NULL),
    F("dns_secondary", PROV_IP, 0, NULL),
    F("from", PROV_IP, 0, NULL),
    F("to", PROV_IP, 0, NULL),
    F("boot_mode", PROV_ENUM, 0, "DHCP|Static"),
    F("pxe_loader", PROV_ENUM, 0,
        "None|PXELinux BIOS|PXELinux UEFI|Grub2 UEFI|Grub2 UEFI SecureBoot|Grub2 UEFI HTTP|"
        "iPXE Embedded|iPXE Chain BIOS|iPXE Chain UEFI|iPXE UEFI HTTP"),
    I("mtu", 0, 576, 65535),
    I("vlanid", 0, 0, 4095),
    F("domain", PROV_REF, 0, "domain"),
    F("parameters", PROV_PARAMS, 0, NULL),
};

static const struct prov_field medium_fields[] = {
    NAME,
    S("path", PROV_REQUIRED, 1024),
    F("os_family", PROV_ENUM, PROV_SEARCH, FAMILIES),
    S("kernel_path", 0, 1024),
    S("initrd_path", 0, 1024),
    S("image_url", 0, 1024),
};

static const struct prov_field ptable_fields[] = {
    NAME,
    F("os_family", PROV_ENUM, PROV_SEARCH, FAMILIES),
    TEXT("layout", PROV_REQUIRED),
};

static const struct prov_field template_fields[] = {
    NAME,
    F("kind", PROV_ENUM, PROV_REQUIRED | PROV_SEARCH, PROV_TEMPLATE_KINDS),
    TEXT("template", PROV_REQUIRED),
    F("operatingsystem", PROV_REFS, 0, "operatingsystem"),
    F("locked", PROV_BOOL, 0, NULL),
    TEXT("description", 0),
};

static const struct prov_field os_fields[] = {
    NAME,
    F("family", PROV_ENUM, PROV_REQUIRED | PROV_SEARCH, FAMILIES),
    I("major", PROV_REQUIRED | PROV_SEARCH, 0, 1000),
    S("minor", 0, 32),
    S("release_name", PROV_SEARCH, 64),
    F("architecture", PROV_REFS, 0, "architecture"),
    F("medium", PROV_REFS, 0, "medium"),
    F("ptable", PROV_REFS, 0, "ptable"),
    F("default_template", PROV_REFS, 0, "provisioning_template"),
    F("parameters", PROV_PARAMS, 0, NULL),
};

static const struct prov_field compute_resource_fields[] = {
    NAME,
    F("provider", PROV_ENUM, PROV_REQUIRED | PROV_SEARCH, "libvirt"),
    S("url", PROV_REQUIRED, 1024),
    TEXT("comment", 0),
};

/* An OS image built with mmdebstrap (image.c); build state written by Drover only. */
static const struct prov_field image_fields[] = {
    NAME,
    S("suite", PROV_SEARCH, 64),
    S("mirror", 0, 1024),
    S("components", 0, 256),
    S("packages", 0, 4096),
    S("exclude", 0, 4096),
    F("format", PROV_ENUM, PROV_SEARCH, "tar|raw"),
    F("trusted", PROV_BOOL, 0, NULL),
    /* A raw disk image imported from here instead of built (raw, .xz, .zst or qcow2). */
    S("source_url", 0, 2048),
    S("source_sha256", 0, 64),
    TEXT("comment", 0),
    /* OpenPGP public key(s) the mirror is signed with: armored, or base64 of binary. */
    {"gpg_key", PROV_TEXT, 0, NULL, 0, PROV_IMAGE_KEY_MAX},
    S("gpg_fingerprints", PROV_READONLY, 1024),
    S("status", PROV_READONLY | PROV_SEARCH, 32),
    S("sha256", PROV_READONLY, 64),
    I("size", PROV_READONLY, 0, INT64_MAX),
    I("job_id", PROV_READONLY, 0, INT64_MAX),
    I("built_at", PROV_READONLY, 0, INT64_MAX),
    S("url", PROV_READONLY, 2048),
    TEXT("error", PROV_READONLY),
};

static const struct prov_field hostgroup_fields[] = {
    NAME,
    F("parent", PROV_REF, PROV_SEARCH, "hostgroup"),
    F("operatingsystem", PROV_REF, PROV_SEARCH, "operatingsystem"),
    F("architecture", PROV_REF, 0, "architecture"),
    F("medium", PROV_REF, 0, "medium"),
    F("ptable", PROV_REF, 0, "ptable"),
    F("domain", PROV_REF, 0, "domain"),
    F("subnet", PROV_REF, 0, "subnet"),
    F("compute_resource", PROV_REF, 0, "compute_resource"),
    F("provision_method", PROV_ENUM, 0, "build|image"),
    F("parameters", PROV_PARAMS, 0, NULL),
    TEXT("comment", 0),
    F("image", PROV_REF, 0, "image"),
};

static const struct prov_field host_fields[] = {
    NAME,
    F("domain", PROV_REF, PROV_SEARCH, "domain"),
    F("hostgroup", PROV_REF, PROV_SEARCH, "hostgroup"),
    F("operatingsystem", PROV_REF, PROV_SEARCH, "operatingsystem"),
    F("architecture", PROV_REF, 0, "architecture"),
    F("medium", PROV_REF, 0, "medium"),
    F("ptable", PROV_REF, 0, "ptable"),
    F("subnet", PROV_REF, 0, "subnet"),
    F("compute_resource", PROV_REF, PROV_SEARCH, "compute_resource"),
    F("compute_attributes", PROV_OBJECT, 0, NULL),
    F("provision_method", PROV_ENUM, 0, "build|image"),
    S("owner", PROV_SEARCH, PROV_NAME_MAX),
    F("parameters", PROV_PARAMS, 0, NULL),
    TEXT("comment", 0),
    F("interfaces", PROV_INTERFACES, 0, NULL),
    F("image", PROV_REF, 0, "image"),
    /* Build state, written by Drover only. */
    F("build", PROV_BOOL, PROV_READONLY | PROV_SEARCH, NULL),
    S("status", PROV_READONLY | PROV_SEARCH, 32),
    I("build_started_at", PROV_READONLY, 0, INT64_MAX),
    I("installed_at", PROV_READONLY, 0, INT64_MAX),
    I("failed_at", PROV_READONLY, 0, INT64_MAX),
    I("token_expires_at", PROV_READONLY, 0, INT64_MAX),
    TEXT("ssh_host_keys", PROV_READONLY),
    TEXT("failed_log", PROV_READONLY),
};

static const struct prov_field discovery_rule_fields[] = {
    NAME,
    S("search", PROV_REQUIRED, 1024),
    F("hostgroup", PROV_REF, PROV_REQUIRED | PROV_SEARCH, "hostgroup"),
    S("hostname", 0, PROV_NAME_MAX),
    I("priority", 0, 0, 1000000),
    I("max_count", 0, 0, 1000000),
    F("enabled", PROV_BOOL, PROV_SEARCH, NULL),
    I("hosts_count", PROV_READONLY, 0, INT64_MAX),
};

static int prov_host_check(json_t *obj, struct dr_error *err);
static int prov_subnet_check(json_t *obj, struct dr_error *err);
static int prov_discovery_rule_check(json_t *obj, struct dr_error *err);
static int prov_hostgroup_check(json_t *obj, struct dr_error *err);
static int prov_os_check(json_t *obj, struct dr_error *err);

#define R(n, p, f, c)                                                                             \
	{                                                                                         \
		n, p, "prov_" p, f, nitems(f), c                                                  \
	}
/* Order matters for deletion checks only in that every resource is scanned. */
static const struct prov_resource prov_resources[] = {
    R("common_parameter", "common_parameters", common_parameter_fields, NULL),
    R("domain", "domains", domain_fields, NULL),
    R("architecture", "architectures", architecture_fields, NULL),
    R("subnet", "subnets", subnet_fields, prov_subnet_check),
    R("medium", "media", medium_fields, NULL),
    R("ptable", "ptables", ptable_fields, NULL),
    R("provisioning_template", "provisioning_templates", template_fields, NULL),
    R("operatingsystem", "operatingsystems", os_fields, prov_os_check),
    R("compute_resource", "compute_resources", compute_resource_fields, NULL),
    R("image", "images", image_fields, prov_image_check),
    R("hostgroup", "hostgroups", hostgroup_fields, prov_hostgroup_check),
    R("host", "hosts", host_fields, prov_host_check),
    R("discovery_rule", "discovery_rules", discovery_rule_fields, prov_discovery_rule_check),
};
#undef R

/* The resource called name or plural, or NULL. */
const struct prov_resource *
prov_resource_find(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(prov_resources); i++)
		if (strcmp(prov_resources[i].name, name) == 0 ||
		    strcmp(prov_resources[i].plural, name) == 0)
			return &prov_resources[i];
	return NULL;
}

/* Every resource. */
const struct prov_resource *
prov_resource_all(size_t *ret_n)
{
	*ret_n = nitems(prov_resources);
	return prov_resources;
}

/* A field of res by name, or NULL. */
const struct prov_field *
prov_resource_field(const struct prov_resource *res, const char *name)
{
	size_t i;

	for (i = 0; i < res->nfields; i++)
		if (strcmp(res->fields[i].name, name) == 0)
			return &res->fields[i];
	return NULL;
}

/* Normalise a MAC address to lower-case colon form. */
int
prov_mac_normalise(const char *in, char out[18])
{
	size_t i, o = 0;

	if (in == NULL || strlen(in) != 17)
		return -1;
	for (i = 0; i < 17; i++) {
		if (i % 3 == 2) {
			if (in[i] != ':' && in[i] != '-')
				return -1;
			out[o++] = ':';
		} else {
			if (!isxdigit((unsigned char)in[i]))
				return -1;
			out[o++] = (char)tolower((unsigned char)in[i]);
		}
	}
	out[o] = '\0';
	return 0;
}

/* A stored row {id, name, data} as one object: data's fields plus id and name. */
static json_t *
prov_row_object(json_t *row)
{
	json_t *data = json_object_get(row, "data");
	json_t *obj = json_is_object(data) ? json_deep_copy(data) : json_object();

	json_object_set(obj, "id", json_object_get(row, "id"));
	json_object_set(obj, "name", json_object_get(row, "name"));
	json_object_set(obj, "created_at", json_object_get(row, "created_at"));
	json_object_set(obj, "updated_at", json_object_get(row, "updated_at"));
	return obj;
}

/* The stored object by id. */
json_t *
prov_resource_get_id(const struct prov_resource *res, int64_t id)
{
	_cleanup_free_ char *sql = xasprintf("SELECT id, name, data AS data_json, created_at,"
	                                     " updated_at FROM %s WHERE id = ?",
	    res->table);
	_cleanup_json_ json_t *row = store_query_one(NULL, sql, "[I]", (json_int_t)id);

	return row != NULL ? prov_row_object(row) : NULL;
}

/* The stored object by numeric id or by name. */
json_t *
prov_resource_get(const struct prov_resource *res, const char *id_or_name)
{
	_cleanup_free_ char *sql = NULL;
	_cleanup_json_ json_t *row = NULL;
	long long id;

	if (id_or_name == NULL)
		return NULL;
	if (str_to_ll(id_or_name, 1, INT64_MAX, &id) == 0)
		return prov_resource_get_id(res, id);
	sql = xasprintf("SELECT id, name, data AS data_json, created_at, updated_at FROM %s"
	                " WHERE name = ?",
	    res->table);
	row = store_query_one(NULL, sql, "[s]", id_or_name);
	return row != NULL ? prov_row_object(row) : NULL;
}

/* The name of the object id of resource ref, or NULL (caller frees). */
static char *
prov_ref_name(const char *ref, json_int_t id)
{
	const struct prov_resource *r = prov_resource_find(ref);
	_cleanup_free_ char *sql = NULL;
	_cleanup_json_ json_t *row = NULL;

	if (r == NULL)
		return NULL;
	sql = xasprintf("SELECT name FROM %s WHERE id = ?", r->table);
	row = store_query_one(NULL, sql, "[I]", id);
	return row != NULL ? xstrdup(json_string_value(json_object_get(row, "name"))) : NULL;
}

/* Add "<field>_name" beside each reference. */
static void
prov_present_refs(const struct prov_field *f, json_t *obj)
{
	_cleanup_free_ char *idkey = NULL, *namekey = NULL;
	json_t *v, *names, *id;
	size_t i;

	if (f->type == PROV_REF) {
		idkey = xasprintf("%s_id", f->name);
		namekey = xasprintf("%s_name", f->name);
		v = json_object_get(obj, idkey);
		if (json_is_integer(v)) {
			char *n = prov_ref_name(f->arg, json_integer_value(v));
			json_object_set_new(
			    obj, namekey, n != NULL ? json_string(n) : json_null());
			free(n);
		}
	} else if (f->type == PROV_REFS) {
		idkey = xasprintf("%s_ids", f->name);
		namekey = xasprintf("%s_names", f->name);
		v = json_object_get(obj, idkey);
		if (!json_is_array(v))
			return;
		names = json_array();
		json_array_foreach(v, i, id)
		{
			char *n = prov_ref_name(f->arg, json_integer_value(id));
			json_array_append_new(names, n != NULL ? json_string(n) : json_null());
			free(n);
		}
		json_object_set_new(obj, namekey, names);
	}
}

/* An object as the API shows it. */
json_t *
prov_resource_present(const struct prov_resource *res, const json_t *stored)
{
	json_t *obj = json_deep_copy(stored), *ifs, *nic;
	size_t i;

	for (i = 0; i < res->nfields; i++) {
		const struct prov_field *f = &res->fields[i];
		if (f->flags & PROV_SECRET)
			json_object_del(obj, f->name);
		prov_present_refs(f, obj);
	}
	ifs = json_object_get(obj, "interfaces");
	json_array_foreach(ifs, i, nic)
	{
		json_t *sid = json_object_get(nic, "subnet_id");
		json_object_del(nic, "password");
		if (json_is_integer(sid)) {
			char *n = prov_ref_name("subnet", json_integer_value(sid));
			json_object_set_new(
			    nic, "subnet_name", n != NULL ? json_string(n) : json_null());
			free(n);
		}
	}
	return obj;
}

/* True when obj matches every filter entry (searchable fields, compared as text). */
static bool
prov_filter_match(const struct prov_resource *res, const json_t *obj, const json_t *filter)
{
	const char *key;
	json_t *want;

	json_object_foreach((json_t *)filter, key, want)
	{
		json_t *have = json_object_get(obj, key);
		_cleanup_free_ char *text = NULL;

		if (json_is_string(have))
			text = xstrdup(json_string_value(have));
		else if (json_is_integer(have))
			text = xasprintf("%lld", (long long)json_integer_value(have));
		else if (json_is_boolean(have))
			text = xstrdup(json_is_true(have) ? "true" : "false");
		else if (have == NULL && strcmp(json_string_value(want), "") == 0)
			continue;
		if (text == NULL || strcmp(text, json_string_value(want)) != 0)
			return false;
	}
	return true;
}

/* A page of presented objects, by name. */
int
prov_resource_list(const struct prov_resource *res, const json_t *filter, int limit, int offset,
    json_t **ret_rows, int64_t *ret_total, int64_t *ret_subtotal, struct dr_error *err)
{
	_cleanup_free_ char *sql = xasprintf("SELECT id, name, data AS data_json, created_at,"
	                                     " updated_at FROM %s ORDER BY name",
	    res->table);
	_cleanup_json_ json_t *rows = NULL;
	json_t *out = json_array(), *row;
	int64_t matched = 0;
	size_t i;

	if (store_query(sql, NULL, &rows, err) < 0) {
		json_decref(out);
		return PROV_E_STORE;
	}
	json_array_foreach(rows, i, row)
	{
		_cleanup_json_ json_t *obj = prov_row_object(row), *shown = NULL;

		shown = prov_resource_present(res, obj);
		if (filter != NULL && !prov_filter_match(res, shown, filter))
			continue;
		if (matched >= offset && (int64_t)json_array_size(out) < limit)
			json_array_append(out, shown);
		matched++;
	}
	*ret_rows = out;
	*ret_total = (int64_t)json_array_size(rows);
	*ret_subtotal = matched;
	return 0;
}

/* The id of the object of resource ref named or numbered by v; -1 with err when none. */
static int
prov_ref_lookup(
    const char *field, const char *ref, const json_t *v, json_int_t *ret, struct dr_error *err)
{
	const struct prov_resource *r = prov_resource_find(ref);
	_cleanup_json_ json_t *obj = NULL;
	_cleanup_free_ char *key = NULL;

	if (json_is_integer(v))
		key = xasprintf("%lld", (long long)json_integer_value(v));
	else if (json_is_string(v))
		key = xstrdup(json_string_value(v));
	else
		return dr_error_set(err, "%s: expected the name or id of a %s", field, ref);
	if ((obj = prov_resource_get(r, key)) == NULL)
		return dr_error_set(err, "%s: no %s '%s'", field, ref, key);
	*ret = json_integer_value(json_object_get(obj, "id"));
	return 0;
}

/* Check a one-line string of at most max bytes. */
static int
prov_check_string(
    const char *where, const json_t *v, long long max, bool one_line, struct dr_error *err)
{
	const char *s;

	if (!json_is_string(v))
		return dr_error_set(err, "%s: expected a string", where);
	s = json_string_value(v);
	if ((long long)json_string_length(v) > max)
		return dr_error_set(err, "%s: longer than %lld bytes", where, max);
	if (one_line && strpbrk(s, "\r\n") != NULL)
		return dr_error_set(err, "%s: must be one line", where);
	return 0;
}

/* Check an IP address; *ret is a new reference to the normalised text. */
static int
prov_check_ip(const char *where, const json_t *v, json_t **ret, struct dr_error *err)
{
	unsigned char addr[16];
	char text[INET6_ADDRSTRLEN];
	int af;

	if (!json_is_string(v))
		return dr_error_set(err, "%s: expected an IP address", where);
	af = strchr(json_string_value(v), ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(af, json_string_value(v), addr) != 1)
		return dr_error_set(
		    err, "%s: '%s' is not an IP address", where, json_string_value(v));
	inet_ntop(af, addr, text, sizeof text);
	*ret = json_string(text);
	return 0;
}

/* Check parameters: an object of scalars with sane names. */
static int
prov_check_params(const char *where, const json_t *v, struct dr_error *err)
{
	const char *k;
	json_t *p;

	if (!json_is_object(v))
		return dr_error_set(err, "%s: expected an object of name: value", where);
	if (json_object_size(v) > PROV_PARAMS_MAX)
		return dr_error_set(err, "%s: more than %d parameters", where, PROV_PARAMS_MAX);
	json_object_foreach((json_t *)v, k, p)
	{
		if (*k == '\0' || strlen(k) > PROV_NAME_MAX || strpbrk(k, " \t\r\n") != NULL)
			return dr_error_set(err, "%s: bad parameter name '%s'", where, k);
		if (json_is_object(p) || json_is_array(p))
			return dr_error_set(
			    err, "%s.%s: expected a string, number or boolean", where, k);
		if (json_is_string(p) && json_string_length(p) > 64 * 1024)
			return dr_error_set(err, "%s.%s: longer than 64 KiB", where, k);
	}
	return 0;
}

/* Check a host's interfaces and return their normalised form. */
static int
prov_check_interfaces(const json_t *v, json_t **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *out = json_array();
	size_t i, j, nprimary = 0, nprovision = 0;
	json_t *nic;

	if (!json_is_array(v))
		return dr_error_set(err, "interfaces: expected a list");
	if (json_array_size(v) > PROV_INTERFACES_MAX)
		return dr_error_set(err, "interfaces: more than %d", PROV_INTERFACES_MAX);
	json_array_foreach(v, i, nic)
	{
		json_t *o = json_object(), *val;
		const char *k;
		char mac[18];

		json_array_append_new(out, o);
		if (!json_is_object(nic))
			return dr_error_set(err, "interfaces[%zu]: expected an object", i);
		json_object_foreach(nic, k, val)
		{
			char where[64];
			snprintf(where, sizeof where, "interfaces[%zu].%s", i, k);
			if (strcmp(k, "mac") == 0) {
				if (!json_is_string(val) ||
				    prov_mac_normalise(json_string_value(val), mac) < 0)
					return dr_error_set(err,
					    "%s: expected a MAC address like 52:54:00:12:34:56",
					    where);
				json_object_set_new(o, "mac", json_string(mac));
			} else if (strcmp(k, "ip") == 0 || strcmp(k, "ip6") == 0) {
				json_t *ip;
				if (prov_check_ip(where, val, &ip, err) < 0)
					return -1;
				json_object_set_new(o, k, ip);
			} else if (strcmp(k, "primary") == 0 || strcmp(k, "provision") == 0 ||
			    strcmp(k, "managed") == 0) {
				if (!json_is_boolean(val))
					return dr_error_set(
					    err, "%s: expected true or false", where);
				json_object_set(o, k, val);
			} else if (strcmp(k, "type") == 0) {
				if (!json_is_string(val) ||
				    (strcmp(json_string_value(val), "interface") != 0 &&
				        strcmp(json_string_value(val), "bmc") != 0))
					return dr_error_set(
					    err, "%s: expected interface or bmc", where);
				json_object_set(o, k, val);
			} else if (strcmp(k, "provider") == 0) {
				if (!json_is_string(val) ||
				    (strcmp(json_string_value(val), "redfish") != 0 &&
				        strcmp(json_string_value(val), "ipmi") != 0))
					return dr_error_set(
					    err, "%s: expected redfish or ipmi", where);
				json_object_set(o, k, val);
			} else if (strcmp(k, "subnet") == 0 || strcmp(k, "subnet_id") == 0) {
				json_int_t id;
				if (prov_ref_lookup(where, "subnet", val, &id, err) < 0)
					return -1;
				json_object_set_new(o, "subnet_id", json_integer(id));
			} else if (strcmp(k, "password") == 0) {
				char *sealed;
				if (prov_check_string(where, val, PROV_NAME_MAX, true, err) < 0)
					return -1;
				/* Stored encrypted; a sealed value (from the store) stays. */
				sealed = secret_is_sealed(json_string_value(val))
				    ? xstrdup(json_string_value(val))
				    : secret_seal(json_string_value(val));
				if (sealed == NULL)
					return dr_error_set(err, "%s: cannot be encrypted", where);
				json_object_set_new(o, k, json_string(sealed));
				free(sealed);
			} else if (strcmp(k, "name") == 0 || strcmp(k, "identifier") == 0 ||
			    strcmp(k, "username") == 0 || strcmp(k, "url") == 0) {
				if (prov_check_string(where, val, PROV_NAME_MAX, true, err) < 0)
					return -1;
				json_object_set(o, k, val);
			} else if (strcmp(k, "subnet_name") == 0) {
				continue; /* shown by the API; harmless when sent back */
			} else {
				return dr_error_set(err, "%s: unknown interface field", where);
			}
		}
		if (json_object_get(o, "type") == NULL)
			json_object_set_new(o, "type", json_string("interface"));
		if (json_object_get(o, "mac") == NULL &&
		    strcmp(json_string_value(json_object_get(o, "type")), "interface") == 0)
			return dr_error_set(err, "interfaces[%zu].mac: required", i);
		nprimary += json_is_true(json_object_get(o, "primary"));
		nprovision += json_is_true(json_object_get(o, "provision"));
		for (j = 0; j < i; j++) {
			json_t *a = json_object_get(json_array_get(out, j), "mac");
			json_t *b = json_object_get(o, "mac");
			if (a != NULL && b != NULL && json_equal(a, b))
				return dr_error_set(err,
				    "interfaces[%zu].mac: %s is also "
				    "interfaces[%zu]",
				    i, json_string_value(b), j);
		}
	}
	if (nprimary > 1 || nprovision > 1)
		return dr_error_set(err, "interfaces: more than one %s interface",
		    nprimary > 1 ? "primary" : "provision");
	/* The first NIC is primary and provisioning unless another one is. */
	json_array_foreach(out, i, nic)
	{
		if (strcmp(json_string_value(json_object_get(nic, "type")), "interface") != 0)
			continue;
		if (nprimary == 0) {
			json_object_set_new(nic, "primary", json_true());
			nprimary = 1;
		}
		if (nprovision == 0) {
			json_object_set_new(nic, "provision", json_true());
			nprovision = 1;
		}
		break;
	}
	*ret = TAKE_PTR(out);
	return 0;
}

/* Validate one client-given field and store it into obj under its stored key. */
static int
prov_field_apply(const struct prov_resource *res, const struct prov_field *f, const char *key,
    const json_t *v, json_t *obj, struct dr_error *err)
{
	_cleanup_free_ char *skey = NULL;
	const char *stored = f->name;
	json_t *nv = NULL, *e;
	json_int_t id;
	long long n;
	size_t i;

	if (f->type == PROV_REF)
		stored = skey = xasprintf("%s_id", f->name);
	else if (f->type == PROV_REFS)
		stored = skey = xasprintf("%s_ids", f->name);
	if (json_is_null(v)) {
		if (f->flags & PROV_REQUIRED)
			return dr_error_set(err, "%s: required", key);
		json_object_del(obj, stored);
		return 0;
	}
	switch (f->type) {
	case PROV_STRING:
	case PROV_TEXT:
		if (prov_check_string(key, v, f->max, f->type == PROV_STRING, err) < 0)
			return -1;
		if ((f->flags & PROV_REQUIRED) && json_string_length(v) == 0)
			return dr_error_set(err, "%s: must not be empty", key);
		nv = json_copy((json_t *)v);
		break;
	case PROV_INT:
		if (json_is_string(v) && str_to_ll(json_string_value(v), f->min, f->max, &n) == 0)
			nv = json_integer(n);
		else if (json_is_integer(v) && json_integer_value(v) >= f->min &&
		    json_integer_value(v) <= f->max)
			nv = json_integer(json_integer_value(v));
		else
			return dr_error_set(
			    err, "%s: expected a number from %lld to %lld", key, f->min, f->max);
		break;
	case PROV_BOOL:
		if (json_is_boolean(v))
			nv = json_copy((json_t *)v);
		else if (json_is_string(v) &&
		    (strcmp(json_string_value(v), "true") == 0 ||
		        strcmp(json_string_value(v), "false") == 0))
			nv = json_boolean(strcmp(json_string_value(v), "true") == 0);
		else
			return dr_error_set(err, "%s: expected true or false", key);
		break;
	case PROV_ENUM: {
		const char *c = f->arg, *bar;
		size_t len;
		bool found = false;

		if (!json_is_string(v))
			return dr_error_set(err, "%s: expected one of %s", key, f->arg);
		for (; c != NULL && !found; c = bar != NULL ? bar + 1 : NULL) {
			bar = strchr(c, '|');
			len = bar != NULL ? (size_t)(bar - c) : strlen(c);
			found = strlen(json_string_value(v)) == len &&
			    strncmp(c, json_string_value(v), len) == 0;
		}
		if (!found)
			return dr_error_set(
			    err, "%s: '%s' is not one of %s", key, json_string_value(v), f->arg);
		nv = json_copy((json_t *)v);
		break;
	}
	case PROV_REF:
		/* "" (drover ... --subnet '') takes the reference away, as null does. */
		if (!(f->flags & PROV_REQUIRED) && json_is_string(v) && json_string_length(v) == 0) {
			json_object_del(obj, stored);
			return 0;
		}
		if (prov_ref_lookup(key, f->arg, v, &id, err) < 0)
			return -1;
		nv = json_integer(id);
		break;
	case PROV_REFS:
		if (json_is_string(v)) {
			/* "a,b" from the command line: a list of names. */
			_cleanup_free_ char *copy = xstrdup(json_string_value(v));
			_cleanup_json_ json_t *list = json_array();
			char *tok, *save = NULL;

			for (tok = strtok_r(copy, ",", &save); tok != NULL;
			     tok = strtok_r(NULL, ",", &save))
				json_array_append_new(list, json_string(str_trim(tok)));
			return prov_field_apply(res, f, key, list, obj, err);
		}
		if (!json_is_array(v))
			return dr_error_set(err, "%s: expected a list of %s names", key, f->arg);
		nv = json_array();
		json_array_foreach(v, i, e)
		{
			char where[128];
			snprintf(where, sizeof where, "%s[%zu]", key, i);
			if (prov_ref_lookup(where, f->arg, e, &id, err) < 0) {
				json_decref(nv);
				return -1;
			}
			json_array_append_new(nv, json_integer(id));
		}
		break;
	case PROV_PARAMS:
		if (prov_check_params(key, v, err) < 0)
			return -1;
		nv = json_deep_copy(v);
		break;
	case PROV_OBJECT:
		if (!json_is_object(v))
			return dr_error_set(err, "%s: expected an object", key);
		nv = json_deep_copy(v);
		break;
	case PROV_IP:
		if (prov_check_ip(key, v, &nv, err) < 0)
			return -1;
		break;
	case PROV_MAC: {
		char mac[18];
		if (!json_is_string(v) || prov_mac_normalise(json_string_value(v), mac) < 0)
			return dr_error_set(err, "%s: expected a MAC address", key);
		nv = json_string(mac);
		break;
	}
	case PROV_INTERFACES: {
		json_t *oldifs = json_object_get(obj, "interfaces"), *nic, *o;
		size_t j;

		if (prov_check_interfaces(v, &nv, err) < 0)
			return -1;
		/* Passwords are never shown, so an update that resends a BMC without one keeps
		 * the stored one (same address). */
		json_array_foreach(nv, i, nic)
		{
			if (json_object_get(nic, "password") != NULL)
				continue;
			json_array_foreach(oldifs, j, o)
			{
				json_t *pw = json_object_get(o, "password");
				if (pw != NULL &&
				    json_equal(json_object_get(o, "type"),
				        json_object_get(nic, "type")) &&
				    (json_equal(
				         json_object_get(o, "url"), json_object_get(nic, "url")) ||
				        json_equal(json_object_get(o, "ip"),
				            json_object_get(nic, "ip")))) {
					json_object_set(nic, "password", pw);
					break;
				}
			}
		}
		break;
	}
	}
	(void)res;
	json_object_set_new(obj, stored, nv);
	return 0;
}

/* The field a client key names: the field itself, or <ref>_id / <ref>_ids / *_name(s). */
static const struct prov_field *
prov_field_for_key(const struct prov_resource *res, const char *key, bool *ret_shown)
{
	const struct prov_field *f = prov_resource_field(res, key);
	static const char *const suffixes[] = {"_ids", "_id", "_names", "_name"};
	size_t i, len = strlen(key), sl;
	char base[PROV_NAME_MAX + 1];

	*ret_shown = false;
	if (f != NULL)
		return f;
	for (i = 0; i < nitems(suffixes); i++) {
		sl = strlen(suffixes[i]);
		if (len <= sl || len - sl >= sizeof base || !str_has_suffix(key, suffixes[i]))
			continue;
		memcpy(base, key, len - sl);
		base[len - sl] = '\0';
		f = prov_resource_field(res, base);
		if (f == NULL || (f->type != PROV_REF && f->type != PROV_REFS))
			continue;
		/* *_name and *_names are what the API shows; sending them back changes nothing. */
		*ret_shown = i >= 2;
		return f;
	}
	return NULL;
}

/* Apply a client's fields to obj (a stored object or {}), then check the whole. */
static int
prov_validate(const struct prov_resource *res, const json_t *in, json_t *obj, bool create,
    struct dr_error *err)
{
	const char *key;
	json_t *v;
	size_t i;

	if (!json_is_object(in))
		return dr_error_set(err, "%s: expected a JSON object", res->name);
	json_object_foreach((json_t *)in, key, v)
	{
		const struct prov_field *f;
		bool shown;

		if (strcmp(key, "id") == 0 || strcmp(key, "created_at") == 0 ||
		    strcmp(key, "updated_at") == 0)
			continue;
		if ((f = prov_field_for_key(res, key, &shown)) == NULL)
			return dr_error_set(err, "%s: unknown field of a %s", key, res->name);
		if (shown)
			continue;
		if (f->flags & PROV_READONLY)
			return dr_error_set(err, "%s: set by Drover, not by clients", key);
		if (prov_field_apply(res, f, key, v, obj, err) < 0)
			return -1;
	}
	if (create) {
		for (i = 0; i < res->nfields; i++) {
			const struct prov_field *f = &res->fields[i];
			_cleanup_free_ char *k = f->type == PROV_REF ? xasprintf("%s_id", f->name)
			    : f->type == PROV_REFS                   ? xasprintf("%s_ids", f->name)
			                                             : xstrdup(f->name);
			if ((f->flags & PROV_REQUIRED) && json_object_get(obj, k) == NULL)
				return dr_error_set(err, "%s: required", f->name);
		}
	}
	if (strcmp(res->name, "host") == 0 || strcmp(res->name, "hostgroup") == 0 ||
	    strcmp(res->name, "domain") == 0) {
		const char *name = json_string_value(json_object_get(obj, "name"));
		for (; name != NULL && *name != '\0'; name++)
			if (!isalnum((unsigned char)*name) && *name != '-' && *name != '.' &&
			    *name != '_')
				return dr_error_set(err,
				    "name: only letters, digits, '-', '_' and '.' are allowed");
	}
	return res->check != NULL ? res->check(obj, err) : 0;
}

/* The prefix length of netmask mask ("255.255.255.0" -> 24, "ffff:ffff::" -> 32), or -1
 * when it is not an address or its one bits are not contiguous. */
int
prov_netmask_prefix(const char *mask)
{
	int af = strchr(mask, ':') != NULL ? AF_INET6 : AF_INET;
	int len = af == AF_INET ? 4 : 16, bits = 0, i, b;
	unsigned char a[16];
	bool ended = false;

	if (inet_pton(af, mask, a) != 1)
		return -1;
	for (i = 0; i < len; i++)
		for (b = 7; b >= 0; b--) {
			if (!(a[i] >> b & 1))
				ended = true;
			else if (ended)
				return -1;
			else
				bits++;
		}
	return bits;
}

/* A subnet's mask is a netmask, its network has no host bits, and its gateway and DHCP
 * range lie inside it (from before to). */
static int
prov_subnet_check(json_t *obj, struct dr_error *err)
{
	static const char *const inside[] = {"gateway", "from", "to"};
	const char *net = json_string_value(json_object_get(obj, "network"));
	const char *mask = json_string_value(json_object_get(obj, "mask"));
	const char *from = json_string_value(json_object_get(obj, "from"));
	const char *to = json_string_value(json_object_get(obj, "to"));
	unsigned char n[16], m[16], a[16], z[16];
	int af, len, prefix, i;
	size_t k;

	if (net == NULL || mask == NULL)
		return 0;
	af = strchr(net, ':') != NULL ? AF_INET6 : AF_INET;
	len = af == AF_INET ? 4 : 16;
	if ((strchr(mask, ':') != NULL) != (af == AF_INET6) ||
	    (prefix = prov_netmask_prefix(mask)) < 0)
		return dr_error_set(err, "mask: '%s' is not a netmask for %s", mask, net);
	inet_pton(af, net, n);
	inet_pton(af, mask, m);
	for (i = 0; i < len; i++)
		if (n[i] & ~m[i])
			return dr_error_set(err, "network: %s has host bits set under mask %s", net,
			    mask);
	for (k = 0; k < nitems(inside); k++) {
		const char *v = json_string_value(json_object_get(obj, inside[k]));

		if (v == NULL)
			continue;
		if ((strchr(v, ':') != NULL) != (af == AF_INET6) || inet_pton(af, v, a) != 1)
			return dr_error_set(err, "%s: %s is not in %s/%d", inside[k], v, net, prefix);
		for (i = 0; i < len; i++)
			if ((a[i] & m[i]) != n[i])
				return dr_error_set(
				    err, "%s: %s is not in %s/%d", inside[k], v, net, prefix);
	}
	if ((from == NULL) != (to == NULL))
		return dr_error_set(err, "%s: the DHCP range needs both from and to",
		    from == NULL ? "from" : "to");
	if (from != NULL && inet_pton(af, from, a) == 1 && inet_pton(af, to, z) == 1 &&
	    memcmp(a, z, (size_t)len) > 0)
		return dr_error_set(err, "from: %s comes after to %s", from, to);
	return 0;
}

/* A host's interfaces must not hold a MAC another host has. */
static int
prov_host_check(json_t *obj, struct dr_error *err)
{
	json_t *nic;
	size_t i;

	json_array_foreach(json_object_get(obj, "interfaces"), i, nic)
	{
		const char *mac = json_string_value(json_object_get(nic, "mac"));
		_cleanup_json_ json_t *row = NULL;
		json_t *id = json_object_get(obj, "id");

		if (mac == NULL)
			continue;
		row = store_query_one(NULL,
		    "SELECT h.name AS name FROM prov_interfaces i JOIN prov_hosts h"
		    " ON h.id = i.host_id WHERE i.mac = ? AND i.host_id <> ?",
		    "[sI]", mac, (json_int_t)(id != NULL ? json_integer_value(id) : 0));
		if (row != NULL)
			return dr_error_set(err, "interfaces[%zu].mac: %s belongs to host %s", i,
			    mac, json_string_value(json_object_get(row, "name")));
	}
	return 0;
}

/* A hostgroup must not be its own ancestor. */
static int
prov_hostgroup_check(json_t *obj, struct dr_error *err)
{
	const struct prov_resource *hg = prov_resource_find("hostgroup");
	json_int_t self = json_integer_value(json_object_get(obj, "id"));
	json_t *p = json_object_get(obj, "parent_id");
	json_int_t parent = json_is_integer(p) ? json_integer_value(p) : 0;
	int depth = 0;

	while (parent != 0) {
		_cleanup_json_ json_t *up = NULL;

		if (self != 0 && parent == self)
			return dr_error_set(err, "parent: a hostgroup cannot be its own ancestor");
		if (++depth > PROV_HOSTGROUP_DEPTH)
			return dr_error_set(
			    err, "parent: nested deeper than %d", PROV_HOSTGROUP_DEPTH);
		if ((up = prov_resource_get_id(hg, parent)) == NULL)
			break;
		p = json_object_get(up, "parent_id");
		parent = json_is_integer(p) ? json_integer_value(p) : 0;
	}
	return 0;
}

/* A rule's search must be an expression and its hostname a template the engine accepts. */
static int
prov_discovery_rule_check(json_t *obj, struct dr_error *err)
{
	_cleanup_json_ json_t *facts = json_pack("{s:s, s:i, s:i}", "mac", "52:54:00:00:00:00",
	                          "cpus", 1, "memory_mb", 1024),
	                      *v = NULL;
	struct template_opts lenient = {.lenient = true};
	const char *hn = json_string_value(json_object_get(obj, "hostname"));
	char *out = NULL;

	if (template_eval("search", json_string_value(json_object_get(obj, "search")), &lenient,
	        facts, &v, err) < 0)
		return dr_error_prefix(err, "search");
	if (hn != NULL) {
		if (template_render_string("hostname", hn, &lenient, facts, &out, err) < 0)
			return dr_error_prefix(err, "hostname");
		free(out);
	}
	return 0;
}

/* An operating system has at most one default template of each kind. */
static int
prov_os_check(json_t *obj, struct dr_error *err)
{
	const struct prov_resource *t = prov_resource_find("provisioning_template");
	_cleanup_json_ json_t *kinds = json_object();
	json_t *id;
	size_t i;

	json_array_foreach(json_object_get(obj, "default_template_ids"), i, id)
	{
		_cleanup_json_ json_t *tpl = prov_resource_get_id(t, json_integer_value(id));
		const char *kind = json_string_value(json_object_get(tpl, "kind"));

		if (kind == NULL)
			continue;
		if (json_object_get(kinds, kind) != NULL)
			return dr_error_set(err,
			    "default_template[%zu]: a second default template of kind %s", i,
			    kind);
		json_object_set_new(kinds, kind, json_true());
	}
	return 0;
}

/* Rewrite the MAC/IP index of a host (inside the caller's transaction). */
static int
prov_interfaces_index(int64_t host_id, const json_t *obj, struct dr_error *err)
{
	json_t *nic;
	size_t i;

	if (store_execf(NULL, NULL, err, "DELETE FROM prov_interfaces WHERE host_id = ?", "[I]",
	        (json_int_t)host_id) < 0)
		return -1;
	json_array_foreach(json_object_get(obj, "interfaces"), i, nic)
	{
		const char *mac = json_string_value(json_object_get(nic, "mac"));
		if (mac == NULL)
			continue;
		if (store_execf(NULL, NULL, err,
		        "INSERT INTO prov_interfaces (mac, host_id, ip) VALUES (?, ?, ?)",
		        "[sIs?]", mac, (json_int_t)host_id,
		        json_string_value(json_object_get(nic, "ip"))) < 0)
			return -1;
	}
	return 0;
}

/* The stored document: obj without id, name and times. */
static json_t *
prov_document(const json_t *obj)
{
	json_t *doc = json_deep_copy(obj);

	json_object_del(doc, "id");
	json_object_del(doc, "name");
	json_object_del(doc, "created_at");
	json_object_del(doc, "updated_at");
	return doc;
}

/* Write obj (insert when id is 0) with its index and an audit row, in one transaction. */
static int
prov_write(const struct prov_resource *res, int64_t id, const json_t *obj, const char *user,
    const char *remote, const char *action, const json_t *before, int64_t *ret_id,
    struct dr_error *err)
{
	_cleanup_json_ json_t *doc = prov_document(obj), *after = NULL, *shown = NULL;
	_cleanup_free_ char *sql = NULL;
	const char *name = json_string_value(json_object_get(obj, "name"));
	json_int_t now = (json_int_t)time(NULL);
	int64_t newid = id;

	if (store_begin(err) < 0)
		return PROV_E_STORE;
	sql = xasprintf("SELECT id FROM %s WHERE name = ? AND id <> ?", res->table);
	if ((after = store_query_one(NULL, sql, "[sI]", name, (json_int_t)id)) != NULL) {
		store_rollback();
		dr_error_set(err, "name: a %s named '%s' already exists", res->name, name);
		return PROV_E_CONFLICT;
	}
	free(sql);
	if (id == 0) {
		sql = xasprintf("INSERT INTO %s (name, data, created_at, updated_at)"
		                " VALUES (?, ?, ?, ?)",
		    res->table);
		if (store_execf(NULL, &newid, err, sql, "[sOII]", name, doc, now, now) < 0)
			goto fail;
	} else {
		sql = xasprintf(
		    "UPDATE %s SET name = ?, data = ?, updated_at = ? WHERE id = ?", res->table);
		if (store_execf(NULL, NULL, err, sql, "[sOII]", name, doc, now, (json_int_t)id) <
		    0)
			goto fail;
	}
	if (strcmp(res->name, "host") == 0 && prov_interfaces_index(newid, obj, err) < 0)
		goto fail;
	after = prov_resource_get_id(res, newid);
	shown = prov_resource_present(res, after);
	if (store_audit(user, remote, action, res->name, name, before, shown, err) < 0)
		goto fail;
	if (store_commit(err) < 0)
		return PROV_E_STORE;
	if (strcmp(res->name, "host") == 0)
		provisioner_boot_changed(after);
	else if (strcmp(res->name, "subnet") == 0)
		prov_boot_subnets_changed();
	if (ret_id != NULL)
		*ret_id = newid;
	return 0;
fail:
	store_rollback();
	return PROV_E_STORE;
}

/* Validate and create. */
int
prov_resource_create(const struct prov_resource *res, const json_t *in, const char *user,
    const char *remote, int64_t *ret_id, struct dr_error *err)
{
	_cleanup_json_ json_t *obj = json_object();

	if (prov_validate(res, in, obj, true, err) < 0)
		return PROV_E_INVALID;
	if (strcmp(res->name, "host") == 0) {
		json_object_set_new(obj, "build", json_false());
		json_object_set_new(obj, "status", json_string("new"));
		/* A host with neither hostgroup nor OS gets the seeded defaults. */
		if (json_object_get(obj, "hostgroup_id") == NULL &&
		    json_object_get(obj, "operatingsystem_id") == NULL) {
			_cleanup_json_ json_t *base =
			    prov_resource_get(prov_resource_find("hostgroup"), "base");
			if (base != NULL)
				json_object_set(obj, "hostgroup_id", json_object_get(base, "id"));
		}
	}
	return prov_write(res, 0, obj, user, remote, "create", NULL, ret_id, err);
}

/* Merge in's fields into the object and validate the result. */
int
prov_resource_update(const struct prov_resource *res, const char *id_or_name, const json_t *in,
    const char *user, const char *remote, int64_t *ret_id, struct dr_error *err)
{
	_cleanup_json_ json_t *obj = prov_resource_get(res, id_or_name), *before = NULL;

	if (obj == NULL) {
		dr_error_set(err, "no %s '%s'", res->name, id_or_name);
		return PROV_E_NOTFOUND;
	}
	before = prov_resource_present(res, obj);
	if (prov_validate(res, in, obj, false, err) < 0)
		return PROV_E_INVALID;
	return prov_write(res, json_integer_value(json_object_get(obj, "id")), obj, user, remote,
	    "update", before, ret_id, err);
}

/* Store read-only fields (build state) of an object. */
int
prov_resource_set_internal(const struct prov_resource *res, int64_t id, const json_t *set,
    const char *user, const char *remote, const char *action, struct dr_error *err)
{
	_cleanup_json_ json_t *obj = prov_resource_get_id(res, id), *before = NULL;
	const char *k;
	json_t *v;

	if (obj == NULL) {
		dr_error_set(err, "no %s %lld", res->name, (long long)id);
		return PROV_E_NOTFOUND;
	}
	before = prov_resource_present(res, obj);
	json_object_foreach((json_t *)set, k, v)
	{
		if (json_is_null(v))
			json_object_del(obj, k);
		else
			json_object_set(obj, k, v);
	}
	return prov_write(res, id, obj, user, remote, action, before, NULL, err);
}

/* The first object (any resource) that refers to id of resource res; its description. */
static char *
prov_referrer(const struct prov_resource *res, json_int_t id)
{
	size_t r, i, k;

	for (r = 0; r < nitems(prov_resources); r++) {
		const struct prov_resource *o = &prov_resources[r];
		_cleanup_free_ char *sql =
		    xasprintf("SELECT id, name, data AS data_json FROM %s", o->table);
		_cleanup_json_ json_t *rows = NULL;
		json_t *row;

		if (store_query(sql, NULL, &rows, NULL) < 0)
			continue;
		json_array_foreach(rows, k, row)
		{
			json_t *data = json_object_get(row, "data"), *nic, *e;
			const char *name = json_string_value(json_object_get(row, "name"));
			size_t j;

			for (i = 0; i < o->nfields; i++) {
				const struct prov_field *f = &o->fields[i];
				_cleanup_free_ char *key = NULL;
				if (f->arg == NULL || strcmp(f->arg, res->name) != 0)
					continue;
				if (f->type == PROV_REF) {
					key = xasprintf("%s_id", f->name);
					if (json_integer_value(json_object_get(data, key)) == id)
						return xasprintf("%s %s", o->name, name);
				} else if (f->type == PROV_REFS) {
					key = xasprintf("%s_ids", f->name);
					json_array_foreach(json_object_get(data, key), j,
					    e) if (json_integer_value(e) ==
					    id) return xasprintf("%s %s", o->name, name);
				}
			}
			if (strcmp(res->name, "subnet") == 0)
				json_array_foreach(json_object_get(data, "interfaces"), j,
				    nic) if (json_integer_value(json_object_get(nic,
				                 "subnet_id")) == id) return xasprintf("%s %s",
				    o->name, name);
		}
	}
	return NULL;
}

/* Delete, unless something refers to it. */
int
prov_resource_delete(const struct prov_resource *res, const char *id_or_name, const char *user,
    const char *remote, struct dr_error *err)
{
	_cleanup_json_ json_t *obj = prov_resource_get(res, id_or_name), *before = NULL;
	_cleanup_free_ char *by = NULL, *sql = NULL;
	json_int_t id;

	if (obj == NULL) {
		dr_error_set(err, "no %s '%s'", res->name, id_or_name);
		return PROV_E_NOTFOUND;
	}
	id = json_integer_value(json_object_get(obj, "id"));
	if ((by = prov_referrer(res, id)) != NULL) {
		dr_error_set(err, "%s %s is used by %s", res->name,
		    json_string_value(json_object_get(obj, "name")), by);
		return PROV_E_CONFLICT;
	}
	before = prov_resource_present(res, obj);
	if (store_begin(err) < 0)
		return PROV_E_STORE;
	sql = xasprintf("DELETE FROM %s WHERE id = ?", res->table);
	if (store_execf(NULL, NULL, err, sql, "[I]", id) < 0 ||
	    (strcmp(res->name, "host") == 0 &&
	        (store_execf(NULL, NULL, err, "DELETE FROM prov_interfaces WHERE host_id = ?",
	             "[I]", id) < 0 ||
	            store_execf(NULL, NULL, err, "DELETE FROM prov_tokens WHERE host_id = ?",
	                "[I]", id) < 0)) ||
	    store_audit(user, remote, "delete", res->name,
	        json_string_value(json_object_get(obj, "name")), before, NULL, err) < 0) {
		store_rollback();
		return PROV_E_STORE;
	}
	if (store_commit(err) < 0)
		return PROV_E_STORE;
	if (strcmp(res->name, "host") == 0)
		provisioner_boot_changed(obj);
	else if (strcmp(res->name, "subnet") == 0)
		prov_boot_subnets_changed();
	return 0;
}
