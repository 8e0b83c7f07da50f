/*
 * provisioner.h - hosts and what describes them (hostgroups, subnets, domains, operating
 * systems, architectures, media, partition tables, provisioning templates, parameters),
 * the build flow with its one-time tokens, and the unattended endpoints installers call.
 *
 * Every resource is one row of a declarative table (resource.c): its fields, their types,
 * which are required and which are searchable. Objects are stored as JSON documents in one
 * table per resource; references between resources are stored by id ("hostgroup_id") and
 * shown with the name beside it ("hostgroup_name"), as Foreman's API does.
 */
#ifndef DROVER_PROVISIONER_H
#define DROVER_PROVISIONER_H

#include "core/core.h"

/* resource.c */

enum prov_field_type {
	PROV_STRING, /* one line, at most max bytes */
	PROV_TEXT, /* several lines (templates, comments) */
	PROV_INT, /* integer in [min, max] */
	PROV_BOOL, /* true/false */
	PROV_ENUM, /* one of choices ("a|b|c") */
	PROV_REF, /* the name or id of another resource; stored as <name>_id */
	PROV_REFS, /* a list of names or ids of another resource; stored as <name>_ids */
	PROV_PARAMS, /* {"name": scalar}: parameters */
	PROV_OBJECT, /* any JSON object (compute attributes) */
	PROV_IP, /* an IPv4 or IPv6 address */
	PROV_MAC, /* 52:54:00:12:34:56, stored lower case */
	PROV_INTERFACES, /* a host's NICs and BMCs */
};

#define PROV_REQUIRED 0x1 /* must be given on create */
#define PROV_SEARCH 0x2 /* searchable (search=field=value, and later the search language) */
#define PROV_READONLY 0x4 /* set by Drover, never by a client */
#define PROV_SECRET 0x8 /* never shown in API answers */

/* One field of a resource. */
struct prov_field {
	const char *name;
	enum prov_field_type type;
	unsigned flags;
	const char *arg; /* PROV_REF(S): the resource; PROV_ENUM: "a|b|c" */
	long long min, max; /* PROV_INT bounds; PROV_STRING/TEXT: max is the byte cap */
};

/* A resource: names, table, fields, and an optional whole-object check. */
struct prov_resource {
	const char *name; /* "host": CLI, audit and error messages */
	const char *plural; /* "hosts": the REST path /api/v2/hosts */
	const char *table; /* "prov_hosts" */
	const struct prov_field *fields;
	size_t nfields;
	/* Checks across fields after each field was validated; -1 with err naming the field. */
	int (*check)(json_t *obj, struct dr_error *err);
};

/* Status codes returned (negated) by the functions below on failure. */
#define PROV_E_INVALID (-422)
#define PROV_E_CONFLICT (-409)
#define PROV_E_NOTFOUND (-404)
#define PROV_E_STORE (-500)

#define PROV_NAME_MAX 255
#define PROV_TEXT_MAX (1u << 20)
#define PROV_PARAMS_MAX 256 /* parameters per object */
#define PROV_INTERFACES_MAX 32 /* interfaces per host */
#define PROV_HOSTGROUP_DEPTH 16

/* The resource called name or plural ("host", "hosts"), or NULL. */
const struct prov_resource *prov_resource_find(const char *name);
/* Every resource, for the API and the CLI; *ret_n set to the count. */
const struct prov_resource *prov_resource_all(size_t *ret_n);
/* A field of res by name, or NULL. */
const struct prov_field *prov_resource_field(const struct prov_resource *res, const char *name);
/*
 * A page of objects as shown in the API, by name. filter (may be NULL) maps searchable
 * field names to the value they must equal. *ret_total counts every object, *ret_subtotal
 * those matching. Caller frees *ret_rows.
 */
int prov_resource_list(const struct prov_resource *res, const json_t *filter, int limit,
    int offset, json_t **ret_rows, int64_t *ret_total, int64_t *ret_subtotal,
    struct dr_error *err);
/* The stored object (with id, name and the *_id references) by id or name; NULL when there
 * is none. Caller frees. */
json_t *prov_resource_get(const struct prov_resource *res, const char *id_or_name);
/* As prov_resource_get by id. */
json_t *prov_resource_get_id(const struct prov_resource *res, int64_t id);
/* An object as the API shows it: references with their names, secrets removed. Caller frees. */
json_t *prov_resource_present(const struct prov_resource *res, const json_t *obj);
/* Validate and create; audited as user from remote. 0 and *ret_id, or a PROV_E_* code with
 * err naming the field ("interfaces[0].mac: ..."). */
int prov_resource_create(const struct prov_resource *res, const json_t *in, const char *user,
    const char *remote, int64_t *ret_id, struct dr_error *err);
/* Merge in's fields into the object and validate the result; 0 or a PROV_E_* code. */
int prov_resource_update(const struct prov_resource *res, const char *id_or_name, const json_t *in,
    const char *user, const char *remote, int64_t *ret_id, struct dr_error *err);
/* Delete (refused with PROV_E_CONFLICT while another object refers to it). */
int prov_resource_delete(const struct prov_resource *res, const char *id_or_name, const char *user,
    const char *remote, struct dr_error *err);
/* Store an object's read-only fields (build state) without validation; audited. */
int prov_resource_set_internal(const struct prov_resource *res, int64_t id, const json_t *set,
    const char *user, const char *remote, const char *action, struct dr_error *err);
/* The prefix length of a netmask ("255.255.255.0" -> 24; IPv6 too), or -1 when it is not
 * one. */
int prov_netmask_prefix(const char *mask);
/* Normalise a MAC address ("52-54-00-AB-CD-EF" -> "52:54:00:ab:cd:ef"); -1 when invalid. */
int prov_mac_normalise(const char *in, char out[18]);
/* Seed the working defaults (architectures, operating systems, media, partition tables,
 * templates, the "base" hostgroup) when the store holds none. */
int prov_resource_seed(struct dr_error *err);

/* host.c */

/*
 * A host with everything it inherits resolved: hostgroup chain (nearest wins) for the
 * operating system, architecture, medium, partition table, domain and subnet; parameters
 * merged global < domain < subnet < operating system < hostgroup (root first) < host.
 * Returned as {"host", "hostgroup", "os", "architecture", "medium", "ptable", "domain",
 * "subnet", "parameters", "interface" (the provisioning one)}; caller frees.
 */
int prov_host_resolve(const json_t *host, json_t **ret, struct dr_error *err);
/* The host that owns the interface with this MAC / IP; NULL when none. Caller frees. */
json_t *prov_host_find_mac(const char *mac);
json_t *prov_host_find_ip(const char *ip);
/* The host whose unexpired build token this is; NULL when none. Caller frees. */
json_t *prov_host_find_token(const char *token, time_t now);
/* The host's unexpired build token, or NULL. Caller frees. */
char *prov_host_token(int64_t host_id, time_t now);
/* Put a host in build mode: a new random token valid for ttl seconds, status "building",
 * boot configuration written. *ret_token (may be NULL) caller-freed. */
int prov_host_build(const char *id_or_name, int ttl, const char *user, const char *remote,
    char **ret_token, struct dr_error *err);
/* Leave build mode without installing (cancel). */
int prov_host_build_cancel(
    const char *id_or_name, const char *user, const char *remote, struct dr_error *err);
/* The installer reported success: store the SSH host keys (OpenSSH public key lines),
 * drop the token, status "installed", boot from the local disk. */
int prov_host_built(int64_t id, const char *keys, const char *remote, struct dr_error *err);
/* The installer reported failure: keep the log (capped at PROV_FAILED_LOG_MAX). */
int prov_host_failed(
    int64_t id, const char *log, size_t len, const char *remote, struct dr_error *err);
#define PROV_FAILED_LOG_MAX (256 * 1024)
#define PROV_HOST_KEYS_MAX (64 * 1024)
#define PROV_TOKEN_TTL_DEFAULT (6 * 3600)
/*
 * The host's recorded SSH host keys as known_hosts lines ("n1.example.test,198.18.10.21
 * ssh-ed25519 AAAA..."), for the playbook engine to verify hosts without trusting on
 * first use. 0 with *ret (caller frees; "" when none recorded), PROV_E_NOTFOUND.
 */
int provisioner_known_hosts(const char *host_name, char **ret, struct dr_error *err);

/* render.c */

/* Template kinds, as in Foreman. */
#define PROV_TEMPLATE_KINDS "iPXE|PXELinux|PXEGrub2|provision|finish|user_data|script|snippet"
/* Where droverd is reached by installers (the public URL, ending without '/'). */
void prov_render_set_url(const char *url);
const char *prov_render_url(void);
/* The host's template of kind: the OS default, else the first template of that kind
 * associated with the OS; NULL (err set) when none. Caller frees. */
json_t *prov_render_find_template(const json_t *resolved, const char *kind, struct dr_error *err);
/* Render the host's template of kind (or the template named, when name is set) in its
 * context. *ret caller-freed. */
int prov_render_host(
    const json_t *host, const char *kind, const char *name, char **ret, struct dr_error *err);
/* Render text as the template called name in the host's context (a preview of an
 * unsaved edit). *ret caller-freed. */
int prov_render_host_text(
    const json_t *host, const char *name, const char *text, char **ret, struct dr_error *err);
/* Where the installer kernel and initrd of os are on medium for an architecture:
 * {"kernel", "initrd", "source": {kernel, initrd}, "cache": "boot/<os>-<medium>-<arch>",
 * "cached"?, "images"? (Debian: where SHA256SUMS is), "treeinfo"? (Red Hat)}. Caller frees. */
json_t *prov_render_boot(const json_t *os, const json_t *medium, const char *archname);
/* The template context of a host (for previews and tests). Caller frees. */
int prov_render_context(const json_t *host, json_t **ret, struct dr_error *err);

/* compute.c */

/* A compute resource provider (libvirt). */
struct prov_compute_backend {
	const char *name;
	/* Create the host's VM (network boot first); *ret_mac: the NIC's MAC (caller frees). */
	int (*vm_create)(
	    const json_t *cr, const json_t *host, char **ret_mac, struct dr_error *err);
	/* Delete the VM named name with its volumes (absent is fine). */
	int (*vm_destroy)(const json_t *cr, const char *name, struct dr_error *err);
	/* on, off, soft, cycle, status; *ret_state "on"/"off" (caller frees). */
	int (*power)(const json_t *cr, const char *name, const char *action, char **ret_state,
	    struct dr_error *err);
	/* The VMs on the hypervisor: [{name, state "on"/"off", vcpus, memory_mb}], at most
	 * PROV_COMPUTE_VMS_MAX (caller frees *ret). */
	int (*vms)(const json_t *cr, json_t **ret, struct dr_error *err);
	/* Volumes usable as compute_attributes.image: [{id "POOL/VOLUME", name, pool, path,
	 * capacity, allocation, format}], at most PROV_COMPUTE_VMS_MAX (caller frees). */
	int (*images)(const json_t *cr, json_t **ret, struct dr_error *err);
	/* Networks usable as compute_attributes.network: [{name, bridge, active,
	 * forward_mode, dhcp_start, dhcp_end}], at most PROV_COMPUTE_VMS_MAX. */
	int (*networks)(const json_t *cr, json_t **ret, struct dr_error *err);
};
#define PROV_COMPUTE_VMS_MAX 1000
/* The backend of a compute resource object, or NULL. */
const struct prov_compute_backend *prov_compute_backend(const json_t *cr);
/* The compute resource a host uses (its own or its hostgroup chain's), or NULL. */
json_t *prov_compute_of(const json_t *host);
/* Close the hypervisor connections (shutdown, tests). */
void prov_compute_close(void);

/* power.c */

/* A BMC protocol: on, off, soft, cycle, status, pxe (set a one-time network boot only);
 * every action ends with the power state in *ret_state (caller frees). */
struct prov_bmc_backend {
	const char *name; /* the interface's provider: "redfish", "ipmi" */
	int (*power)(
	    const json_t *bmc, const char *action, char **ret_state, struct dr_error *err);
};
/* Power a host through its compute resource or BMC. 0 with *ret_state, or PROV_E_*. */
int prov_power(const char *host_name, const char *action, char **ret_state, struct dr_error *err);
/* Register the host_power job kind ({"host", "action"}). */
void prov_power_register(void);
/* Create a host and, on a compute resource, its VM (the host is removed if that fails). */
int prov_host_create(
    const json_t *in, const char *user, const char *remote, int64_t *ret_id, struct dr_error *err);
/* Delete a host and its VM. */
int prov_host_delete(
    const char *id_or_name, const char *user, const char *remote, struct dr_error *err);
/* Build mode, then the power step (VMs always, bare metal when reboot): a failed power
 * step cancels the build. */
int prov_host_build_boot(const char *id_or_name, int ttl, bool reboot, const char *user,
    const char *remote, struct dr_error *err);

/* pxesetup.c */

/* Check `drover pxe setup`'s parameters {from?, download?, discovery?}; invalid gets
 * {field: why}; -1 when one is wrong. */
int prov_pxe_setup_check(const json_t *params, json_t *invalid);
/* The PXE state (GET /api/v2/pxe): root, files (with report's sources), missing_packages,
 * installer_job, discovery, tftp. */
json_t *prov_pxe_state(const json_t *report, const char *missing, int64_t installer_job);
/* Place the boot loaders as params say, switch discovery off when asked, queue the
 * installer build (for user); job: the pxe_setup job doing it, or NULL. 0 with *ret_state,
 * or PROV_E_INVALID (a source failed), PROV_E_CONFLICT (another setup runs), PROV_E_STORE. */
int prov_pxe_setup(const json_t *params, const char *user, struct job *job, json_t **ret_state,
    struct dr_error *err);
/* Register the pxe_setup job kind (a setup that downloads). */
void prov_pxe_register(void);

/* bootfetch.c */

/* Register the boot_files_fetch job kind ({"operatingsystem", "medium", "architecture"?,
 * "kernel_sha256"?, "initrd_sha256"?}). */
void prov_bootfetch_register(void);

/* image.c */

/* The largest gpg_key of an image (armored, or base64 of the binary packets). */
#define PROV_IMAGE_KEY_MAX (64 * 1024)

/* Set the images directory (<state_dir>/images, made here; NULL: no images). */
int prov_image_init(const char *state_dir, struct dr_error *err);
/* The images directory, or NULL. */
const char *prov_image_dir(void);
/* The image resource's whole-object check (names, suite, mirror URL, package lists). */
int prov_image_check(json_t *obj, struct dr_error *err);
/* Create an image ({"name", "suite"?, "mirror"?, "components"?, "packages"?, "exclude"?,
 * "trusted"?, "format"?, "gpg_key"?}) and queue its image_build job (mmdebstrap).
 * 0 or PROV_E_*. */
int prov_image_create(
    const json_t *in, const char *user, const char *remote, int64_t *ret_id, struct dr_error *err);
/* Queue a rebuild; PROV_E_CONFLICT while a build is queued or running. */
int prov_image_rebuild(int64_t id, const char *user, struct dr_error *err);
/* Delete an image with its file; PROV_E_CONFLICT while building or used by a host. */
int prov_image_delete(
    const char *id_or_name, const char *user, const char *remote, struct dr_error *err);
/* Open <name>.tar beneath the images directory (what GET /images/<name>.tar serves);
 * -1 with errno. */
int prov_image_open(const char *file);
/* Queue the installer_build job (Drover's installer kernel and initramfs into
 * <tftp root>/drover-installer/); *ret_job its id. discovery 1: the installer becomes the
 * discovery image too; 0: it does not; -1: it stays the discovery image if it was. */
int prov_image_installer_build(
    const char *user, int discovery, int64_t *ret_job, struct dr_error *err);
/* Register the image_build and installer_build job kinds. */
void prov_image_register(void);

/* discovery.c */

#define PROV_FACTS_MAX (64 * 1024)
#define PROV_DISCOVERED_MAX 10000
/* Store the facts a discovery image posted ({"mac", "cpus", "memory_mb", ...}). */
int prov_discovery_facts(const json_t *facts, const char *remote, struct dr_error *err);
/* Every discovered machine [{mac, facts, ip, first_seen, last_seen}]. Caller frees. */
int prov_discovery_list(json_t **ret, struct dr_error *err);
/* Forget a discovered machine. */
int prov_discovery_delete(
    const char *mac, const char *user, const char *remote, struct dr_error *err);
/* Create a host from a discovered machine (spec: the host's fields) and build it. */
int prov_discovery_provision(const char *mac, const json_t *spec, const char *user,
    const char *remote, int64_t *ret_id, struct dr_error *err);
/* grub/grub.cfg-discovery (GRUB boots the discovery image for an unknown MAC): 1 with
 * *ret (caller frees), 0 when discovery is off (no discovery/vmlinuz in the TFTP root). */
int prov_discovery_grub_cfg(char **ret, size_t *ret_len);
/* Whether discovery is on: a discovery image (discovery/vmlinuz) in the TFTP root. */
bool prov_discovery_on(void);
/* The discovery kernel's arguments for mac (a MAC, or a boot loader's variable naming
 * it); caller frees. */
char *prov_discovery_cmdline(const char *mac);
/* Which discovery image is in the TFTP root. */
enum prov_discovery_image {
	PROV_DISCOVERY_OFF, /* none: discovery is off */
	PROV_DISCOVERY_INSTALLER, /* Drover's installer (drover-installer/'s files) */
	PROV_DISCOVERY_OWN, /* the operator's own image */
};
enum prov_discovery_image prov_discovery_image(void);
/* Turn discovery on with Drover's installer as its image (hard links to
 * drover-installer/vmlinuz and initrd.img, each replaced atomically), or off (the
 * discovery image removed, whichever it is). */
int prov_discovery_image_set(bool on, struct dr_error *err);

/* hostcert.c */

/*
 * Issue a host's identity certificate over key_pem (a PEM CSR or public key; NULL: the CA
 * makes the key): SANs the FQDN and the addresses of its interfaces (not BMCs), validity
 * the parameter host_certificate_days or the CA's default; the host's earlier valid
 * certificates are revoked as superseded; audited. *ret (caller frees) as ca_host_issue.
 * Negative CA_ERR_* codes as ca_host_issue.
 */
int prov_hostcert_issue(const json_t *host, const char *key_pem, const char *remote, json_t **ret,
    struct dr_error *err);
/* Install POST /unattended/certificate and GET /ca/hosts/<fqdn>.pem. */
void prov_hostcert_api_init(void);

/* api.c */

/* Install the provisioning and unattended routes; before http_server_start. */
void provisioner_api_init(void);
/* The list framework's resource for a provisioning resource ("hosts"), with its search
 * fields and JSON (struct api_resource, webui.h), for pages; NULL when unknown. */
struct api_resource;
const struct api_resource *provisioner_api_resource(const char *plural);

/* content.c */

/*
 * A host's packages and applicable errata, as the jobs subsystem collects and evaluates
 * them: search fields of the hosts list, /api/v2/hosts/:id/packages and /errata, and rows
 * for the host pages.
 */
struct search_field;
/* The hosts list's search fields over them ("installed", "errata.security", …). */
const struct search_field *prov_content_host_fields(size_t *ret_n);
/* Install the routes (called by provisioner_api_init). */
void prov_content_api_init(void);
/* {"profile": summary or null, "errata": [...], "packages": [the first npackages]} of a
 * host, for its page; "error" when they could not be read. Caller frees. */
json_t *prov_content_page(int64_t host_id, long long npackages);
/* Set "errata": {total, security, bugfix, enhancement} on each row (with "id") of a page
 * of hosts that has a profile. */
void prov_content_counts(json_t *rows);

/* bulk.c */

/*
 * One action on many hosts, for POST /api/v2/hosts/bulk/<action> and the hosts page:
 * the hosts are {"ids": [...]} or {"search": "..."}, each within the caller's role filter
 * for the action (others are not touched and are reported as not found, so that hidden
 * hosts stay hidden). build, power, hostgroup and delete answer a result per host;
 * run (a command or a library playbook) and errata (a patch run) one job for them all.
 */
#define PROV_BULK_MAX 10000 /* hosts in one bulk action */
struct http_request;
/* Do action with body's arguments as the caller of req; the HTTP status, with *ret the
 * answer ({"action", "results": [{id, name, status, error?, job_id?}], "job"?}) or err
 * (and invalid, per field) saying why not. */
int prov_bulk_run(struct http_request *req, const char *action, const json_t *body,
    json_t *invalid, json_t **ret, struct dr_error *err);
/* The bulk actions: name, permission (resource, action), and a label for pages. */
struct prov_bulk_action {
	const char *name;
	const char *resource;
	const char *action;
	const char *label;
};
const struct prov_bulk_action *prov_bulk_actions(size_t *ret_n);
/* Install the routes (called by provisioner_api_init). */
void prov_bulk_api_init(void);

/* ui.c */

/* Install the provisioner's pages (hosts, discovered hosts, one per resource), their
 * navigation, the dashboard's hosts widget and, for resources nobody registered yet,
 * search fields (api_resource) made from the resource table; after provisioner_api_init. */
void prov_ui_init(void);

/* provisioner.c */

/* Register the tables and job kinds; before store_open. */
void provisioner_register(void);
/* The tables whose rows' names other objects show, NULL-terminated: each has triggers
 * that move prov_names_version when a row is added, removed or renamed. */
extern const char *const prov_names_tables[];
/* Where the provisioner publishes boot data. */
struct provisioner_opts {
	const char *url; /* droverd's URL as installers reach it */
	const char *tftp_root; /* boot files, also served at /pxe/files/ over HTTP */
	const char *dhcp_dir; /* dnsmasq.conf and dhcp-hosts go here; NULL = none */
	const char *dnsmasq_pidfile; /* signalled after reservations change; NULL = none */
	const char *dnsmasq_command; /* a dnsmasq droverd runs itself (pxe_dnsmasq_run) */
	const char *state_dir; /* holds secret.key; NULL = a key for this process */
	const char *bootfiles_from; /* tftp.bootfiles_from: .debs or a tree; NULL = none */
};
/* After store_open: seed the defaults, write the DHCP files, install the TFTP generator
 * of per-host boot configurations. */
int provisioner_init(const struct provisioner_opts *o, struct dr_error *err);
/* At droverd's stop: end the dnsmasq it runs, if any. */
void provisioner_stop(void);

/* A host was created, changed or deleted (NULL: any host): rewrite the DHCP reservations
 * when its own differ (per-MAC TFTP files are generated when asked for). */
void provisioner_boot_changed(const json_t *host);
/* The TFTP root given to provisioner_init, or NULL. */
const char *prov_tftp_root(void);
/* How `drover pxe setup` places boot loaders: the TFTP root, <state_dir>/bootfiles-src
 * and tftp.bootfiles_from (from and download are the caller's to set). */
struct pxe_bootfiles_opts;
void prov_bootfiles_opts(struct pxe_bootfiles_opts *o);
/* Rewrite dnsmasq.conf from the subnets (their ranges and pxe_loader boot modes). */
int prov_boot_write_conf(struct dr_error *err);
/* After a subnet was written: rewrite dnsmasq.conf, logging a failure. */
void prov_boot_subnets_changed(void);
/* Set up the DHCP files from o (boot.c; called by provisioner_init). */
int prov_boot_setup(const struct provisioner_opts *o, struct dr_error *err);
/* The boot configuration file for a TFTP path (pxelinux.cfg/01-<mac>,
 * grub.cfg-01-<mac>): 1 with *ret (caller frees), 0 when path is no such file, -1 when
 * the MAC is unknown. */
int provisioner_boot_file(const char *path, char **ret, size_t *ret_len);

#endif /* DROVER_PROVISIONER_H */
