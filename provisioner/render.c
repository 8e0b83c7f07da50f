/* render.c - provisioning templates rendered with core's engine in a host's context. */
#define LOG_COMPONENT "provisioner"
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provisioner/provisioner.h"
#include "pxe/pxe.h"

static pthread_mutex_t prov_url_lock = PTHREAD_MUTEX_INITIALIZER;
static char *prov_url;

/*
 * Templates call drover_url('provision'); the engine has no host-bound functions, so every
 * template is compiled behind this one-line macro reading the context's drover.urls. It
 * adds no line, so line numbers in errors stay those of the template.
 */
#define PROV_PRELUDE                                                                              \
	"{%- macro drover_url(kind) -%}{{ drover.urls[kind] | default(drover.url ~ "              \
	"'/unattended/' ~ kind) }}{%- endmacro -%}"

/* Where installers reach droverd. */
void
prov_render_set_url(const char *url)
{
	size_t len;

	pthread_mutex_lock(&prov_url_lock);
	free(prov_url);
	prov_url = xstrdup(url != NULL ? url : "http://localhost");
	len = strlen(prov_url);
	while (len > 0 && prov_url[len - 1] == '/')
		prov_url[--len] = '\0';
	pthread_mutex_unlock(&prov_url_lock);
}

/* The public URL (valid until the next prov_render_set_url, which runs at start). */
const char *
prov_render_url(void)
{
	return prov_url != NULL ? prov_url : "http://localhost";
}

/* The host's template of kind. */
json_t *
prov_render_find_template(const json_t *resolved, const char *kind, struct dr_error *err)
{
	const struct prov_resource *t = prov_resource_find("provisioning_template");
	const json_t *os = json_object_get(resolved, "os");
	json_int_t os_id = json_integer_value(json_object_get(os, "id"));
	_cleanup_json_ json_t *rows = NULL;
	json_t *id, *row;
	size_t i, j;

	if (!json_is_object(os)) {
		dr_error_set(err, "host %s: no operating system, so no %s template",
		    json_string_value(json_object_get(json_object_get(resolved, "host"), "name")),
		    kind);
		return NULL;
	}
	/* The image method runs Drover's installer: its provision template is the one the
	 * parameter image_template names, else "Drover image". */
	if (strcmp(kind, "provision") == 0 &&
	    strcmp(json_string_value(json_object_get(resolved, "provision_method")), "image") ==
	        0) {
		const char *name = json_string_value(
		    json_object_get(json_object_get(resolved, "parameters"), "image_template"));
		json_t *tpl;

		name = name != NULL ? name : "Drover image";
		if ((tpl = prov_resource_get(t, name)) == NULL)
			dr_error_set(
			    err, "no provisioning template '%s' for the image method", name);
		return tpl;
	}
	json_array_foreach(json_object_get(os, "default_template_ids"), i, id)
	{
		json_t *tpl = prov_resource_get_id(t, json_integer_value(id));
		if (tpl != NULL &&
		    strcmp(json_string_value(json_object_get(tpl, "kind")), kind) == 0)
			return tpl;
		json_decref(tpl);
	}
	if (store_queryf(&rows, err,
	        "SELECT id, name, data AS data_json FROM prov_provisioning_templates"
	        " ORDER BY name",
	        NULL) < 0)
		return NULL;
	json_array_foreach(rows, i, row)
	{
		json_t *data = json_object_get(row, "data");
		if (strcmp(json_string_value(json_object_get(data, "kind")), kind) != 0)
			continue;
		json_array_foreach(json_object_get(data, "operatingsystem_ids"), j,
		    id) if (json_integer_value(id) == os_id) return prov_resource_get_id(t,
		    json_integer_value(json_object_get(row, "id")));
	}
	dr_error_set(err, "operatingsystem %s: no %s template (associate one or set a default)",
	    json_string_value(json_object_get(os, "name")), kind);
	return NULL;
}

/* {% include 'name' %}: another provisioning template (a snippet) by name. */
static int
prov_render_load(
    void *ctx, const char *name, char **ret_text, char **ret_name, struct dr_error *err)
{
	_cleanup_json_ json_t *tpl =
	    prov_resource_get(prov_resource_find("provisioning_template"), name);

	if (tpl == NULL)
		return dr_error_set(err, "no provisioning template '%s' to include", name);
	*ret_text = xstrdup(json_string_value(json_object_get(tpl, "template")));
	*ret_name = xstrdup(name);
	return 0;
}

/* Replace $major, $minor, $arch, $debarch (amd64, arm64), $release and $version in a
 * medium path. */
static char *
prov_render_medium_path(const char *path, const json_t *os, const char *arch, const char *debarch)
{
	struct buf out = BUF_INIT(8192);
	char major[32];
	const char *minor = json_string_value(json_object_get(os, "minor"));
	const char *release = json_string_value(json_object_get(os, "release_name"));
	const char *p;

	snprintf(major, sizeof major, "%lld",
	    (long long)json_integer_value(json_object_get(os, "major")));
	for (p = path; *p != '\0'; p++) {
		if (*p != '$') {
			buf_addc(&out, *p);
		} else if (str_has_prefix(p, "$major")) {
			buf_adds(&out, major);
			p += 5;
		} else if (str_has_prefix(p, "$minor")) {
			buf_adds(&out, minor != NULL ? minor : "");
			p += 5;
		} else if (str_has_prefix(p, "$debarch")) {
			buf_adds(&out, debarch);
			p += 7;
		} else if (str_has_prefix(p, "$arch")) {
			buf_adds(&out, arch);
			p += 4;
		} else if (str_has_prefix(p, "$release")) {
			buf_adds(&out, release != NULL ? release : "");
			p += 7;
		} else if (str_has_prefix(p, "$version")) {
			buf_addf(&out, "%s%s%s", major, minor != NULL && *minor ? "." : "",
			    minor != NULL ? minor : "");
			p += 7;
		} else {
			buf_addc(&out, *p);
		}
	}
	return buf_steal(&out);
}

/* A medium-relative path or an absolute URL. */
static json_t *
prov_render_join(const char *base, const char *rel)
{
	if (str_has_prefix(rel, "http://") || str_has_prefix(rel, "https://") ||
	    str_has_prefix(rel, "tftp://"))
		return json_string(rel);
	return json_sprintf("%s/%s", base, rel);
}

/*
 * Where an OS's installer kernel and initrd are on a medium: {"kernel", "initrd", "source"
 * (the medium URLs), "cache" (the directory under the TFTP root they are fetched to)}.
 * When the fetch job has put them there, kernel and initrd point at droverd's copies.
 * Caller frees; {} without a medium.
 */
json_t *
prov_render_boot(const json_t *os, const json_t *medium, const char *archname)
{
	const char *darch = strcmp(archname, "x86_64") == 0 ? "amd64"
	    : strcmp(archname, "aarch64") == 0              ? "arm64"
	                                                    : archname;
	const char *family = json_string_value(json_object_get(os, "family"));
	const char *kp, *ip;
	_cleanup_free_ char *path = NULL, *slug = NULL;
	json_t *boot = json_object();
	char *p;

	if (!json_is_object(medium) || !json_is_object(os))
		return boot;
	path = prov_render_medium_path(
	    json_string_value(json_object_get(medium, "path")), os, archname, darch);
	kp = json_string_value(json_object_get(medium, "kernel_path"));
	ip = json_string_value(json_object_get(medium, "initrd_path"));
	if (kp != NULL && ip != NULL) {
		_cleanup_free_ char *k = prov_render_medium_path(kp, os, archname, darch);
		_cleanup_free_ char *i = prov_render_medium_path(ip, os, archname, darch);
		json_object_set_new(boot, "kernel", prov_render_join(path, k));
		json_object_set_new(boot, "initrd", prov_render_join(path, i));
	} else if (family != NULL && strcmp(family, "Debian") == 0) {
		const char *rel = json_string_value(json_object_get(os, "release_name"));
		json_object_set_new(boot, "images",
		    json_sprintf("%s/dists/%s/main/installer-%s/current/images", path,
		        rel != NULL ? rel : "stable", darch));
		json_object_set_new(boot, "kernel",
		    json_sprintf("%s/netboot/debian-installer/%s/linux",
		        json_string_value(json_object_get(boot, "images")), darch));
		json_object_set_new(boot, "initrd",
		    json_sprintf("%s/netboot/debian-installer/%s/initrd.gz",
		        json_string_value(json_object_get(boot, "images")), darch));
	} else {
		json_object_set_new(boot, "treeinfo", json_sprintf("%s/.treeinfo", path));
		json_object_set_new(
		    boot, "kernel", json_sprintf("%s/images/pxeboot/vmlinuz", path));
		json_object_set_new(
		    boot, "initrd", json_sprintf("%s/images/pxeboot/initrd.img", path));
	}
	json_object_set(boot, "source",
	    json_pack("{s:O, s:O}", "kernel", json_object_get(boot, "kernel"), "initrd",
	        json_object_get(boot, "initrd")));
	json_decref(json_object_get(boot, "source"));
	/* boot/<os>-<medium id>-<arch>, in file-name-safe characters. */
	slug = xasprintf("%s-%lld-%s", json_string_value(json_object_get(os, "name")),
	    (long long)json_integer_value(json_object_get(medium, "id")), archname);
	for (p = slug; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		        (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
			*p = '_';
	json_object_set_new(boot, "cache", json_sprintf("boot/%s", slug));
	if (prov_tftp_root() != NULL) {
		_cleanup_free_ char *kf = xasprintf("boot/%s/linux", slug);
		_cleanup_free_ char *inf = xasprintf("boot/%s/initrd", slug);
		int a = pxe_bootfiles_open(prov_tftp_root(), kf);
		int b = pxe_bootfiles_open(prov_tftp_root(), inf);
		if (a >= 0 && b >= 0) {
			json_object_set_new(boot, "kernel",
			    json_sprintf("%s/pxe/files/%s", prov_render_url(), kf));
			json_object_set_new(boot, "initrd",
			    json_sprintf("%s/pxe/files/%s", prov_render_url(), inf));
			json_object_set_new(boot, "cached", json_true());
		}
		if (a >= 0)
			close(a);
		if (b >= 0)
			close(b);
	}
	return boot;
}

/* The template context of a host. */
int
prov_render_context(const json_t *host, json_t **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *r = NULL, *ctx = json_object(), *shown = NULL, *urls = NULL;
	_cleanup_free_ char *token = NULL, *path = NULL;
	const struct prov_resource *hres = prov_resource_find("host");
	json_t *os, *medium, *arch, *nic, *domain, *subnet, *boot;
	const char *archname, *darch, *ip;
	static const char *const kinds[] = {"iPXE", "PXELinux", "PXEGrub2", "provision", "finish",
	    "user_data", "built", "failed", "script", "certificate"};
	size_t i;

	if (prov_host_resolve(host, &r, err) < 0)
		return -1;
	os = json_object_get(r, "os");
	medium = json_object_get(r, "medium");
	arch = json_object_get(r, "architecture");
	nic = json_object_get(r, "interface");
	domain = json_object_get(r, "domain");
	archname =
	    json_is_object(arch) ? json_string_value(json_object_get(arch, "name")) : "x86_64";
	darch = strcmp(archname, "x86_64") == 0 ? "amd64"
	    : strcmp(archname, "aarch64") == 0  ? "arm64"
	                                        : archname;

	shown = prov_resource_present(hres, host);
	json_object_del(shown, "failed_log");
	if (json_is_object(nic)) {
		json_object_set(shown, "mac", json_object_get(nic, "mac"));
		json_object_set(shown, "ip", json_object_get(nic, "ip"));
	}
	json_object_set_new(shown, "shortname", json_copy(json_object_get(host, "name")));
	json_object_set_new(shown, "fqdn",
	    json_is_object(domain)
	        ? json_sprintf("%s.%s", json_string_value(json_object_get(host, "name")),
	              json_string_value(json_object_get(domain, "name")))
	        : json_copy(json_object_get(host, "name")));
	json_object_set(ctx, "host", shown);
	json_object_set_new(ctx, "interfaces",
	    json_deep_copy(json_object_get(shown, "interfaces") != NULL
	            ? json_object_get(shown, "interfaces")
	            : json_array()));
	json_object_set(ctx, "interface", nic);
	json_object_set(ctx, "hostgroup", json_object_get(r, "hostgroup"));
	json_object_set(ctx, "os", os);
	json_object_set(ctx, "architecture", arch);
	json_object_set(ctx, "domain", domain);
	/* The subnet, with its mask as a prefix length (networkd and netplan want one). */
	subnet = json_object_get(r, "subnet");
	if (json_is_object(subnet)) {
		const char *mask = json_string_value(json_object_get(subnet, "mask"));
		int prefix = mask != NULL ? prov_netmask_prefix(mask) : -1;

		subnet = json_deep_copy(subnet);
		if (prefix >= 0)
			json_object_set_new(subnet, "prefix", json_integer(prefix));
		json_object_set_new(ctx, "subnet", subnet);
	} else {
		json_object_set_new(ctx, "subnet", json_null());
	}
	json_object_set(ctx, "ptable", json_object_get(r, "ptable"));
	json_object_set(ctx, "parameters", json_object_get(r, "parameters"));
	json_object_set(ctx, "provision_method", json_object_get(r, "provision_method"));
	/* The host's content repositories: filled once content views exist (repos/). */
	json_object_set_new(ctx, "repositories", json_array());
	json_object_set_new(
	    ctx, "arch", json_pack("{s:s, s:s}", "name", archname, "debian", darch));

	if (json_is_object(medium)) {
		json_t *m = json_deep_copy(medium);
		path = prov_render_medium_path(
		    json_string_value(json_object_get(medium, "path")), os, archname, darch);
		json_object_set_new(m, "path", json_string(path));
		json_object_set_new(ctx, "medium", m);
	} else {
		json_object_set_new(ctx, "medium", json_null());
	}
	boot = prov_render_boot(os, medium, archname);
	json_object_set_new(ctx, "boot", boot);
	/* The image method: the host's image and Drover's installer that writes it. */
	json_object_set(ctx, "image", json_object_get(r, "image"));
	json_object_set_new(ctx, "installer",
	    json_pack("{s:s+, s:s+}", "kernel", prov_render_url(),
	        "/pxe/files/drover-installer/vmlinuz", "initrd", prov_render_url(),
	        "/pxe/files/drover-installer/initrd.img"));

	token = prov_host_token(json_integer_value(json_object_get(host, "id")), time(NULL));
	urls = json_object();
	for (i = 0; i < nitems(kinds); i++)
		json_object_set_new(urls, kinds[i],
		    json_sprintf("%s/unattended/%s%s%s", prov_render_url(), kinds[i],
		        token != NULL ? "?token=" : "", token != NULL ? token : ""));
	ip = json_string_value(json_object_get(nic, "ip"));
	json_object_set_new(ctx, "drover",
	    json_pack("{s:s, s:s?, s:O, s:s?}", "url", prov_render_url(), "token", token, "urls",
	        urls, "ip", ip));
	*ret = TAKE_PTR(ctx);
	return 0;
}

/* Compile and render one template's text in ctx. */
static int
prov_render_text(
    const char *name, const char *text, const json_t *ctx, char **ret, struct dr_error *err)
{
	struct template_opts opts = {
	    .trim_blocks = true,
	    .lstrip_blocks = true,
	    .load = prov_render_load,
	};
	_cleanup_free_ char *full = xasprintf("%s%s", PROV_PRELUDE, text);
	struct template *t = NULL;
	int r;

	if (template_compile(name, full, &opts, &t, err) < 0)
		return -1;
	r = template_render(t, ctx, ret, NULL, err);
	template_free(t);
	return r;
}

/* Render the host's template of kind (or the one named). */
int
prov_render_host(
    const json_t *host, const char *kind, const char *name, char **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *tpl = NULL, *resolved = NULL;

	if (name != NULL) {
		tpl = prov_resource_get(prov_resource_find("provisioning_template"), name);
		if (tpl == NULL)
			return dr_error_set(err, "no provisioning template '%s'", name);
	} else {
		if (prov_host_resolve(host, &resolved, err) < 0)
			return -1;
		if ((tpl = prov_render_find_template(resolved, kind, err)) == NULL)
			return -1;
	}
	return prov_render_host_text(host, json_string_value(json_object_get(tpl, "name")),
	    json_string_value(json_object_get(tpl, "template")), ret, err);
}

/* Render text (a template called name) in the host's context: previews of edits. */
int
prov_render_host_text(
    const json_t *host, const char *name, const char *text, char **ret, struct dr_error *err)
{
	_cleanup_json_ json_t *ctx = NULL;
	_cleanup_free_ char *layout = NULL;
	json_t *ptable;

	if (prov_render_context(host, &ctx, err) < 0)
		return -1;
	/* The partition table is itself a template, rendered first in the same context. */
	ptable = json_object_get(ctx, "ptable");
	if (json_is_object(ptable)) {
		_cleanup_free_ char *pname =
		    xasprintf("ptable %s", json_string_value(json_object_get(ptable, "name")));
		if (prov_render_text(pname, json_string_value(json_object_get(ptable, "layout")),
		        ctx, &layout, err) < 0)
			return -1;
		json_object_set_new(ptable, "rendered", json_string(layout));
	}
	return prov_render_text(name, text, ctx, ret, err);
}
