/*
 * pxesetup.c - `drover pxe setup`: Debian's boot loaders placed in the TFTP root (from the
 * installed packages, a directory of .debs or an unpacked tree, or .debs apt-get
 * downloads), the discovery image switched off when asked, and Drover's installer build
 * queued. The API does it at once from local files; a download runs as a pxe_setup job
 * (apt-get may take minutes). Both go through prov_pxe_setup.
 */
#define LOG_COMPONENT "provisioner"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provisioner/provisioner.h"
#include "pxe/pxe.h"

static const char *const prov_pxe_discovery_names[] = {
    [PROV_DISCOVERY_OFF] = "off",
    [PROV_DISCOVERY_INSTALLER] = "installer",
    [PROV_DISCOVERY_OWN] = "own",
};

/* Check a setup's parameters {from?, download?, discovery?}; invalid gets {field: why}. */
int
prov_pxe_setup_check(const json_t *params, json_t *invalid)
{
	json_t *v;

	if (params == NULL)
		return 0;
	if (!json_is_object(params)) {
		json_object_set_new(invalid, "body", json_string("a JSON object"));
		return -1;
	}
	if ((v = json_object_get(params, "from")) != NULL &&
	    (!json_is_string(v) || json_string_value(v)[0] != '/'))
		json_object_set_new(invalid, "from", json_string("an absolute directory path"));
	if ((v = json_object_get(params, "download")) != NULL && !json_is_boolean(v))
		json_object_set_new(invalid, "download", json_string("true or false"));
	if ((v = json_object_get(params, "discovery")) != NULL && !json_is_boolean(v))
		json_object_set_new(invalid, "discovery", json_string("true or false"));
	return json_object_size(invalid) > 0 ? -1 : 0;
}

/* The pxe_setup kind's check: the same, as one message. */
static int
prov_pxe_setup_kind_check(const json_t *params, struct dr_error *err)
{
	_cleanup_json_ json_t *invalid = json_object();
	const char *field;
	struct buf b = BUF_INIT(0);
	json_t *why;

	if (prov_pxe_setup_check(params, invalid) == 0)
		return 0;
	json_object_foreach(invalid, field, why)
	    buf_addf(&b, "%s%s: %s", b.len > 0 ? "; " : "", field, json_string_value(why));
	dr_error_set(err, "pxe_setup: %s", b.data);
	buf_free(&b);
	return -1;
}

/* The PXE state: the root, which boot files are in it (with where report says each came
 * from), missing packages, the installer job, discovery, TFTP counters. */
json_t *
prov_pxe_state(const json_t *report, const char *missing, int64_t installer_job)
{
	const struct pxe_bootfile *b;
	json_t *files = json_object();
	size_t n, i;
	int fd;

	b = pxe_bootfiles(&n);
	for (i = 0; i < n; i++) {
		json_t *placed_from = json_object_get(report, b[i].name);

		fd = pxe_bootfiles_open(prov_tftp_root(), b[i].name);
		json_object_set_new(files, b[i].name,
		    json_pack("{s:b, s:s}", "present", fd >= 0, "package", b[i].package));
		if (placed_from != NULL)
			json_object_update(json_object_get(files, b[i].name), placed_from);
		if (fd >= 0)
			close(fd);
	}
	fd = pxe_bootfiles_open(prov_tftp_root(), "drover-installer/initrd.img");
	json_object_set_new(files, "drover-installer/initrd.img",
	    json_pack("{s:b, s:s}", "present", fd >= 0, "package",
	        "busybox-static e2fsprogs fdisk tar linux-image-amd64"));
	if (fd >= 0)
		close(fd);
	return json_pack("{s:s, s:o, s:o, s:s?, s:o?, s:s}", "root", prov_tftp_root(), "files",
	    files, "tftp", pxe_tftp_stats(), "missing_packages", missing, "installer_job",
	    installer_job > 0 ? json_integer(installer_job) : NULL, "discovery",
	    prov_pxe_discovery_names[prov_discovery_image()]);
}

/*
 * Set up PXE as params (checked) say, for user; job is the pxe_setup job doing it, or
 * NULL. 0 with *ret_state (prov_pxe_state's; caller frees), PROV_E_INVALID when the
 * boot files' sources fail (err names the directory, file, package or apt-get's reason),
 * PROV_E_CONFLICT when another setup is running, PROV_E_STORE otherwise.
 */
int
prov_pxe_setup(const json_t *params, const char *user, struct job *job, json_t **ret_state,
    struct dr_error *err)
{
	_cleanup_free_ char *missing = NULL;
	_cleanup_json_ json_t *report = NULL;
	json_t *disc = json_object_get(params, "discovery");
	struct pxe_bootfiles_opts bo;
	int64_t installer_job = 0;
	int placed, discovery = disc != NULL ? json_is_true(disc) : -1;

	if (prov_tftp_root() == NULL) {
		dr_error_set(err, "no TFTP root is configured");
		return PROV_E_CONFLICT;
	}
	prov_bootfiles_opts(&bo);
	if (json_is_string(json_object_get(params, "from")))
		bo.from = json_string_value(json_object_get(params, "from"));
	bo.download = json_is_true(json_object_get(params, "download"));
	bo.job = job;
	if ((placed = pxe_bootfiles_install(&bo, &report, &missing, err)) < 0)
		return placed == PXE_BOOTFILES_BUSY ? PROV_E_CONFLICT : PROV_E_INVALID;
	if (job != NULL) {
		job_printf(job, "%d boot files in %s\n", placed, bo.root);
		if (missing != NULL)
			job_printf(job, "not found in any source: %s\n", missing);
	}
	if (discovery == 0 && prov_discovery_image_set(false, err) < 0)
		return PROV_E_STORE;
	/* Drover's installer (the image method, and the discovery image when asked) is built
	 * from Debian packages too. */
	if (prov_image_installer_build(user, discovery, &installer_job, err) < 0)
		return PROV_E_STORE;
	if (job != NULL)
		job_printf(job, "installer build queued as job %lld\n", (long long)installer_job);
	*ret_state = prov_pxe_state(report, missing, installer_job);
	return 0;
}

/* The pxe_setup job: prov_pxe_setup with its parameters, as its owner; the result is the
 * PXE state. */
static int
prov_pxe_setup_run(struct job *job, struct dr_error *err)
{
	_cleanup_json_ json_t *self = job_get(job_id(job));
	const char *owner = json_string_value(json_object_get(self, "owner"));
	json_t *state = NULL;

	if (prov_pxe_setup_kind_check(job_params(job), err) < 0)
		return -1;
	if (prov_pxe_setup(job_params(job), owner, job, &state, err) < 0)
		return -1;
	job_result_set(job, state);
	return 0;
}

static const struct job_kind prov_pxe_setup_kind = {
    "pxe_setup", prov_pxe_setup_run, PXE_BOOTFILE_DOWNLOAD_S + 300, prov_pxe_setup_kind_check};

/* Register the pxe_setup job kind. */
void
prov_pxe_register(void)
{
	job_kind_register(&prov_pxe_setup_kind);
}
