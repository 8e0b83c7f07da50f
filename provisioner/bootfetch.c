/* bootfetch.c - the boot_files_fetch job: an OS's installer kernel and initrd fetched from
 * its medium into the TFTP root, verified against the medium's own checksum list (Debian's
 * SHA256SUMS, a Red Hat tree's .treeinfo) or checksums given to the job. Hosts then boot
 * from droverd's copies. */
#define LOG_COMPONENT "provisioner"
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provisioner/provisioner.h"

#define BOOTFETCH_LIST_MAX (4u << 20) /* SHA256SUMS, .treeinfo */
#define BOOTFETCH_FILE_MAX (2048ULL << 20) /* one kernel or initrd */

/* Fetch url into path (at most max bytes), then read it back. Caller frees *ret. */
static int
bootfetch_text(const char *url, const char *path, char **ret, struct dr_error *err)
{
	struct http_download d = {.url = url, .dest_path = path, .max_size = BOOTFETCH_LIST_MAX};
	struct http_client_opts o = {.retries = 2};
	int r;

	unlink(path);
	if (http_download_many(&d, 1, 1, &o, err) < 0)
		return -1;
	r = file_read(path, BOOTFETCH_LIST_MAX, ret, NULL, err);
	unlink(path);
	return r;
}

/* The SHA-256 of rel in a SHA256SUMS text ("<hex>  ./rel"); NULL when not listed. */
static char *
bootfetch_sums_find(const char *sums, const char *rel)
{
	const char *line = sums;

	while (line != NULL && *line != '\0') {
		const char *end = strchr(line, '\n');
		size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
		char hex[65], name[1024];

		if (len < sizeof name && sscanf(line, "%64[0-9a-f] %1023s", hex, name) == 2 &&
		    strlen(hex) == 64) {
			const char *n = str_has_prefix(name, "./") ? name + 2 : name;
			if (strcmp(n, rel) == 0)
				return xstrdup(hex);
		}
		line = end != NULL ? end + 1 : NULL;
	}
	return NULL;
}

/* The sha256 of rel in a .treeinfo's [checksums] section ("rel = sha256:<hex>"). */
static char *
bootfetch_treeinfo_find(const char *treeinfo, const char *rel)
{
	const char *line = treeinfo;
	bool in = false;

	while (line != NULL && *line != '\0') {
		const char *end = strchr(line, '\n');
		size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
		_cleanup_free_ char *l = xstrndup(line, len);
		char *eq;

		str_trim(l);
		if (l[0] == '[')
			in = strcmp(l, "[checksums]") == 0;
		else if (in && (eq = strchr(l, '=')) != NULL) {
			char *v = str_trim(eq + 1);
			*eq = '\0';
			if (strcmp(str_trim(l), rel) == 0 && str_has_prefix(v, "sha256:") &&
			    strlen(v + 7) == 64)
				return xstrdup(v + 7);
		}
		line = end != NULL ? end + 1 : NULL;
	}
	return NULL;
}

/* rel of url below base ("base/x/y" -> "x/y"), or NULL. */
static const char *
bootfetch_rel(const char *url, const char *base)
{
	size_t n = strlen(base);

	return strncmp(url, base, n) == 0 && url[n] == '/' ? url + n + 1 : NULL;
}

/* The job: params {"operatingsystem", "medium", "architecture"?, "kernel_sha256"?,
 * "initrd_sha256"?}. */
static int
bootfetch_run(struct job *job, struct dr_error *err)
{
	const json_t *p = job_params(job);
	const char *osname = json_string_value(json_object_get(p, "operatingsystem"));
	const char *mname = json_string_value(json_object_get(p, "medium"));
	const char *arch = json_string_value(json_object_get(p, "architecture"));
	_cleanup_json_ json_t *os = NULL, *medium = NULL, *boot = NULL;
	_cleanup_free_ char *dir = NULL, *list = NULL, *tmp = NULL, *ksum = NULL, *isum = NULL;
	_cleanup_free_ char *kdst = NULL, *idst = NULL;
	const char *kurl, *iurl, *base;
	struct http_download d[2];
	struct http_client_opts o = {.retries = 2};

	if (osname == NULL || mname == NULL)
		return dr_error_set(
		    err, "boot_files_fetch: expected params {operatingsystem, medium}");
	if (arch == NULL)
		arch = "x86_64";
	if (prov_tftp_root() == NULL)
		return dr_error_set(err, "boot_files_fetch: no TFTP root is configured");
	if ((os = prov_resource_get(prov_resource_find("operatingsystem"), osname)) == NULL)
		return dr_error_set(err, "operatingsystem: no operatingsystem '%s'", osname);
	if ((medium = prov_resource_get(prov_resource_find("medium"), mname)) == NULL)
		return dr_error_set(err, "medium: no medium '%s'", mname);
	boot = prov_render_boot(os, medium, arch);
	kurl = json_string_value(json_object_get(json_object_get(boot, "source"), "kernel"));
	iurl = json_string_value(json_object_get(json_object_get(boot, "source"), "initrd"));
	dir = xasprintf(
	    "%s/%s", prov_tftp_root(), json_string_value(json_object_get(boot, "cache")));
	if (file_mkdirs(dir, 0755, err) < 0)
		return -1;
	tmp = xasprintf("%s/.list", dir);
	ksum = json_string_value(json_object_get(p, "kernel_sha256")) != NULL
	    ? xstrdup(json_string_value(json_object_get(p, "kernel_sha256")))
	    : NULL;
	isum = json_string_value(json_object_get(p, "initrd_sha256")) != NULL
	    ? xstrdup(json_string_value(json_object_get(p, "initrd_sha256")))
	    : NULL;
	if (ksum == NULL && (base = json_string_value(json_object_get(boot, "images"))) != NULL) {
		_cleanup_free_ char *url = xasprintf("%s/SHA256SUMS", base);
		job_printf(job, "checksums from %s\n", url);
		if (bootfetch_text(url, tmp, &list, err) < 0)
			return -1;
		if (bootfetch_rel(kurl, base) != NULL)
			ksum = bootfetch_sums_find(list, bootfetch_rel(kurl, base));
		if (bootfetch_rel(iurl, base) != NULL)
			isum = bootfetch_sums_find(list, bootfetch_rel(iurl, base));
	} else if (ksum == NULL && json_object_get(boot, "treeinfo") != NULL) {
		const char *url = json_string_value(json_object_get(boot, "treeinfo"));
		_cleanup_free_ char *tree = xstrndup(url, strlen(url) - strlen("/.treeinfo"));
		job_printf(job, "checksums from %s\n", url);
		if (bootfetch_text(url, tmp, &list, err) < 0)
			return -1;
		if (bootfetch_rel(kurl, tree) != NULL)
			ksum = bootfetch_treeinfo_find(list, bootfetch_rel(kurl, tree));
		if (bootfetch_rel(iurl, tree) != NULL)
			isum = bootfetch_treeinfo_find(list, bootfetch_rel(iurl, tree));
	}
	if (ksum == NULL || isum == NULL)
		return dr_error_set(err,
		    "%s: no SHA-256 for the %s (give kernel_sha256 and "
		    "initrd_sha256)",
		    ksum == NULL ? kurl : iurl, ksum == NULL ? "kernel" : "initrd");
	kdst = xasprintf("%s/linux", dir);
	idst = xasprintf("%s/initrd", dir);
	memset(d, 0, sizeof d);
	d[0] = (struct http_download){
	    .url = kurl, .dest_path = kdst, .sha256 = ksum, .max_size = BOOTFETCH_FILE_MAX};
	d[1] = (struct http_download){
	    .url = iurl, .dest_path = idst, .sha256 = isum, .max_size = BOOTFETCH_FILE_MAX};
	job_printf(job, "fetching %s\nfetching %s\n", kurl, iurl);
	/* A failed verification leaves no file: a host never boots half a kernel. */
	unlink(kdst);
	unlink(idst);
	if (http_download_many(d, 2, 2, &o, err) < 0) {
		unlink(kdst);
		unlink(idst);
		return -1;
	}
	job_printf(job, "%s %s: kernel and initrd verified and cached in %s\n", osname, arch,
	    json_string_value(json_object_get(boot, "cache")));
	job_result_set(job,
	    json_pack("{s:O, s:s, s:s}", "cache", json_object_get(boot, "cache"), "kernel_sha256",
	        ksum, "initrd_sha256", isum));
	return 0;
}

static const struct job_kind bootfetch_kind = {"boot_files_fetch", bootfetch_run, 3600};

/* Register the boot_files_fetch job kind. */
void
prov_bootfetch_register(void)
{
	job_kind_register(&bootfetch_kind);
}
