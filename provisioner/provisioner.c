/* provisioner.c - the provisioner's tables, start-up and seeded defaults. */
#define LOG_COMPONENT "provisioner"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "provisioner/provisioner.h"
#include "pxe/pxe.h"

/* templates.c, generated from provisioner/templates/ by embed.sh. */
extern const char *const prov_seed_texts[][2];
extern const size_t prov_seed_ntexts;

#define PROV_TABLE(t)                                                                             \
	"CREATE TABLE " t " (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"                  \
	" data TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"

/*
 * The names of a table's rows are shown in other objects' JSON ("hostgroup_name"): any
 * row added, removed or renamed moves prov_names_version, which is part of the stamp
 * by which lists keep rows' texts in memory (api.c). It starts at a random number, so
 * that two databases opened in turn by one process (tests) do not share stamps.
 */
#define PROV_NAMES_TRIGGERS(t)                                                                    \
	"CREATE TRIGGER " t "_names_insert AFTER INSERT ON " t                                    \
	" BEGIN UPDATE prov_names_version SET n = n + 1; END;"                                    \
	"CREATE TRIGGER " t "_names_delete AFTER DELETE ON " t                                    \
	" BEGIN UPDATE prov_names_version SET n = n + 1; END;"                                    \
	"CREATE TRIGGER " t "_names_update AFTER UPDATE OF id, name ON " t                        \
	" WHEN OLD.id IS NOT NEW.id OR OLD.name IS NOT NEW.name"                                  \
	" BEGIN UPDATE prov_names_version SET n = n + 1; END;"

/* One table per resource (PROV_TABLE), the MAC/IP index and the build tokens. */
/* clang-format off */
static const struct store_migration prov_migrations[] = {
	{ "provisioner", 1,
	    PROV_TABLE("prov_common_parameters")
	    PROV_TABLE("prov_domains")
	    PROV_TABLE("prov_architectures")
	    PROV_TABLE("prov_subnets")
	    PROV_TABLE("prov_media")
	    PROV_TABLE("prov_ptables")
	    PROV_TABLE("prov_provisioning_templates")
	    PROV_TABLE("prov_operatingsystems")
	    PROV_TABLE("prov_compute_resources")
	    PROV_TABLE("prov_hostgroups")
	    PROV_TABLE("prov_hosts")
	    "CREATE TABLE prov_interfaces (mac TEXT PRIMARY KEY, host_id INTEGER NOT NULL,"
	    " ip TEXT);"
	    "CREATE INDEX prov_interfaces_host ON prov_interfaces (host_id);"
	    "CREATE INDEX prov_interfaces_ip ON prov_interfaces (ip);"
	    "CREATE TABLE prov_tokens (token TEXT PRIMARY KEY, host_id INTEGER NOT NULL,"
	    " expires_at INTEGER NOT NULL);"
	    "CREATE INDEX prov_tokens_host ON prov_tokens (host_id);" },
	{ "provisioner", 2,
	    "CREATE TABLE prov_discovered (mac TEXT PRIMARY KEY, facts TEXT NOT NULL, ip TEXT,"
	    " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL);" },
	{ "provisioner", 3, PROV_TABLE("prov_discovery_rules") },
	/* What host lists search by most, as indexed columns (computed from the document,
	 * never written): webui's search compiles "hostgroup = web" to an IN on them. */
	{ "provisioner", 4,
	    "ALTER TABLE prov_hosts ADD COLUMN hostgroup_id INTEGER"
	    " GENERATED ALWAYS AS (json_extract(data, '$.hostgroup_id')) VIRTUAL;"
	    "ALTER TABLE prov_hosts ADD COLUMN domain_id INTEGER"
	    " GENERATED ALWAYS AS (json_extract(data, '$.domain_id')) VIRTUAL;"
	    "ALTER TABLE prov_hosts ADD COLUMN operatingsystem_id INTEGER"
	    " GENERATED ALWAYS AS (json_extract(data, '$.operatingsystem_id')) VIRTUAL;"
	    "CREATE INDEX prov_hosts_hostgroup ON prov_hosts (hostgroup_id);"
	    "CREATE INDEX prov_hosts_domain ON prov_hosts (domain_id);"
	    "CREATE INDEX prov_hosts_os ON prov_hosts (operatingsystem_id);" },
	{ "provisioner", 5, PROV_TABLE("prov_images") },
	/* The tables that references point to (prov_names_tables[]). */
	{ "provisioner", 6,
	    "CREATE TABLE prov_names_version (n INTEGER NOT NULL);"
	    "INSERT INTO prov_names_version VALUES (random() / 4);"
	    PROV_NAMES_TRIGGERS("prov_domains")
	    PROV_NAMES_TRIGGERS("prov_architectures")
	    PROV_NAMES_TRIGGERS("prov_subnets")
	    PROV_NAMES_TRIGGERS("prov_media")
	    PROV_NAMES_TRIGGERS("prov_ptables")
	    PROV_NAMES_TRIGGERS("prov_provisioning_templates")
	    PROV_NAMES_TRIGGERS("prov_operatingsystems")
	    PROV_NAMES_TRIGGERS("prov_compute_resources")
	    PROV_NAMES_TRIGGERS("prov_hostgroups")
	    PROV_NAMES_TRIGGERS("prov_images") },
	/* The SHA-256 of the text each seeded template was last given by Drover: a template
	 * whose text still has it was never changed by an operator and follows releases. */
	{ "provisioner", 7,
	    "CREATE TABLE prov_seeded (name TEXT PRIMARY KEY, sha256 TEXT NOT NULL);" },
};
/* clang-format on */

/* The tables with PROV_NAMES_TRIGGERS (migration 6), NULL-terminated. */
const char *const prov_names_tables[] = {"prov_domains", "prov_architectures", "prov_subnets",
    "prov_media", "prov_ptables", "prov_provisioning_templates", "prov_operatingsystems",
    "prov_compute_resources", "prov_hostgroups", "prov_images", NULL};

/* Register the tables; before store_open. */
void
provisioner_register(void)
{
	store_register(prov_migrations, nitems(prov_migrations));
	prov_power_register();
	prov_bootfetch_register();
	prov_image_register();
	prov_pxe_register();
}

/* The seeded text called name (a file of provisioner/templates/). */
static const char *
prov_seed_text(const char *name)
{
	size_t i;

	for (i = 0; i < prov_seed_ntexts; i++)
		if (strcmp(prov_seed_texts[i][0], name) == 0)
			return prov_seed_texts[i][1];
	fatalx("seeded template %s is missing from the build", name);
}

/* Create one seeded object from a json_pack format. */
static int
prov_seed_one(const char *resource, json_t *obj, struct dr_error *err)
{
	int r = prov_resource_create(prov_resource_find(resource), obj, "(seed)", NULL, NULL, err);

	if (r < 0)
		dr_error_prefix(err, "seeding %s %s", resource,
		    json_string_value(json_object_get(obj, "name")));
	json_decref(obj);
	return r < 0 ? -1 : 0;
}

/* The locked templates Drover seeds: name, kind, file in provisioner/templates/. */
static const struct prov_seed_template {
	const char *name, *kind, *file;
} prov_seed_templates[] = {
    {"drover_built", "snippet", "snippet_built"},
    {"drover_ssh_keys", "snippet", "snippet_ssh_keys"},
    {"drover_repositories", "snippet", "snippet_repositories"},
    {"drover_ntp", "snippet", "snippet_ntp"},
    {"drover_host_certificate", "snippet", "snippet_host_certificate"},
    {"Drover iPXE", "iPXE", "ipxe"},
    {"Drover PXELinux", "PXELinux", "pxelinux"},
    {"Drover PXEGrub2", "PXEGrub2", "pxegrub2"},
    {"Drover finish", "finish", "finish"},
    {"Preseed default", "provision", "preseed"},
    {"Kickstart default", "provision", "kickstart"},
    {"Autoinstall default", "user_data", "autoinstall"},
    {"Drover image", "provision", "image"},
};

/* The SHA-256 of seeded texts of earlier releases, for stores seeded before prov_seeded
 * recorded them: {file, sha256 of its text then}. */
static const char *const prov_seed_earlier[][2] = {
    {"ipxe", "b89a8d7a4a5e917daebe324f955a06fe94f527edab05f698252293f2f1dc156a"},
    {"finish", "6dab3b87e0db9f259f1cabd67a9afed6a3949a15c984669df5815e1e8b0f5300"},
    {"image", "156870055723af5d22c623d18be208f7e87b2cd4366d0e80a229819f2c970558"},
    {"pxegrub2", "4e2885ba286fcdd514a3dda5acc67eeff9a6b0b6df258e639d506bd8f8f694af"},
};

/* The SHA-256 of text in hex. */
static void
prov_seed_sha256(const char *text, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL) != 1)
		fatalx("EVP_Digest(sha256) failed");
	for (i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* Record that the seeded template name now has the text whose hash is hex. */
static int
prov_seed_record(const char *name, const char *hex, struct dr_error *err)
{
	return store_execf(NULL, NULL, err,
	    "INSERT INTO prov_seeded (name, sha256) VALUES (?, ?)"
	    " ON CONFLICT (name) DO UPDATE SET sha256 = excluded.sha256",
	    "[s, s]", name, hex);
}

/* Whether text (hash hex) is what Drover seeded template t with: the recorded hash, or a
 * text of an earlier release. */
static bool
prov_seed_pristine(const struct prov_seed_template *t, const char *hex)
{
	_cleanup_json_ json_t *row =
	    store_query_one(NULL, "SELECT sha256 FROM prov_seeded WHERE name = ?", "[s]", t->name);
	const char *rec = json_string_value(json_object_get(row, "sha256"));
	size_t i;

	if (rec != NULL)
		return strcmp(rec, hex) == 0;
	for (i = 0; i < nitems(prov_seed_earlier); i++)
		if (strcmp(prov_seed_earlier[i][0], t->file) == 0 &&
		    strcmp(prov_seed_earlier[i][1], hex) == 0)
			return true;
	return false;
}

/* Bring the seeded, locked templates of an existing store to this release's text when
 * the store still has what Drover seeded (an operator's change is kept, and logged). */
static int
prov_seed_update(struct dr_error *err)
{
	const struct prov_resource *res = prov_resource_find("provisioning_template");
	size_t i;

	for (i = 0; i < nitems(prov_seed_templates); i++) {
		const struct prov_seed_template *t = &prov_seed_templates[i];
		const char *text = prov_seed_text(t->file), *cur;
		_cleanup_json_ json_t *tpl = prov_resource_get(res, t->name), *in = NULL;
		char hex[65], curhex[65];

		if (tpl == NULL)
			continue; /* deleted by an operator, or not seeded yet */
		cur = json_string_value(json_object_get(tpl, "template"));
		prov_seed_sha256(text, hex);
		if (cur != NULL && strcmp(cur, text) == 0) {
			if (prov_seed_record(t->name, hex, err) < 0)
				return -1;
			continue;
		}
		prov_seed_sha256(cur != NULL ? cur : "", curhex);
		if (!json_is_true(json_object_get(tpl, "locked")) ||
		    !prov_seed_pristine(t, curhex)) {
			log_info(
			    "template %s differs from the text Drover seeded it with: kept as "
			    "it is (this release's text: provisioner/templates/%s.tmpl)",
			    t->name, t->file);
			continue;
		}
		in = json_pack("{s:s}", "template", text);
		if (prov_resource_update(res, t->name, in, "(seed)", NULL, NULL, err) < 0) {
			dr_error_prefix(err, "updating seeded template %s", t->name);
			return -1;
		}
		if (prov_seed_record(t->name, hex, err) < 0)
			return -1;
		log_info("template %s updated to this release's text", t->name);
	}
	return 0;
}

/* Seed the working defaults on an empty store. */
int
prov_resource_seed(struct dr_error *err)
{
	const struct prov_seed_template *templates = prov_seed_templates;
	_cleanup_json_ json_t *any = NULL;
	const char *boot[] = {"Drover iPXE", "Drover PXELinux", "Drover PXEGrub2"};
	size_t i;

	any = store_query_one(err, "SELECT id FROM prov_architectures", NULL);
	if (any != NULL)
		return 0;
	if (err != NULL && err->msg[0] != '\0')
		return -1;
	if (prov_seed_one("architecture", json_pack("{s:s}", "name", "x86_64"), err) < 0 ||
	    prov_seed_one("architecture", json_pack("{s:s}", "name", "aarch64"), err) < 0)
		return -1;
	for (i = 0; i < nitems(prov_seed_templates); i++) {
		char hex[65];

		if (strcmp(templates[i].file, "image") == 0)
			continue; /* prov_image_seed, with its description */
		prov_seed_sha256(prov_seed_text(templates[i].file), hex);
		if (prov_seed_record(templates[i].name, hex, err) < 0)
			return -1;
		if (prov_seed_one("provisioning_template",
		        json_pack("{s:s, s:s, s:s, s:b}", "name", templates[i].name, "kind",
		            templates[i].kind, "template", prov_seed_text(templates[i].file),
		            "locked", 1),
		        err) < 0)
			return -1;
	}
	if (prov_seed_one("ptable",
	        json_pack("{s:s, s:s, s:s}", "name", "Preseed default", "os_family", "Debian",
	            "layout", prov_seed_text("ptable_preseed")),
	        err) < 0 ||
	    prov_seed_one("ptable",
	        json_pack("{s:s, s:s, s:s}", "name", "Kickstart default", "os_family", "Redhat",
	            "layout", prov_seed_text("ptable_kickstart")),
	        err) < 0)
		return -1;
	if (prov_seed_one("medium",
	        json_pack("{s:s, s:s, s:s}", "name", "Debian mirror", "path",
	            "http://deb.debian.org/debian", "os_family", "Debian"),
	        err) < 0 ||
	    prov_seed_one("medium",
	        json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", "Ubuntu 24.04 netboot", "path",
	            "http://releases.ubuntu.com/$version", "os_family", "Debian", "kernel_path",
	            "netboot/$debarch/linux", "initrd_path", "netboot/$debarch/initrd"),
	        err) < 0 ||
	    prov_seed_one("medium",
	        json_pack("{s:s, s:s, s:s}", "name", "Rocky mirror", "path",
	            "http://dl.rockylinux.org/pub/rocky/$major/BaseOS/$arch/os", "os_family",
	            "Redhat"),
	        err) < 0 ||
	    prov_seed_one("medium",
	        json_pack("{s:s, s:s, s:s}", "name", "AlmaLinux mirror", "path",
	            "http://repo.almalinux.org/almalinux/$major/BaseOS/$arch/os", "os_family",
	            "Redhat"),
	        err) < 0)
		return -1;
	if (prov_seed_one("operatingsystem",
	        json_pack("{s:s, s:s, s:i, s:s, s:[ss], s:[s], s:[s], s:[sssss]}", "name",
	            "Debian 12", "family", "Debian", "major", 12, "release_name", "bookworm",
	            "architecture", "x86_64", "aarch64", "medium", "Debian mirror", "ptable",
	            "Preseed default", "default_template", boot[0], boot[1], boot[2],
	            "Preseed default", "Drover finish"),
	        err) < 0 ||
	    prov_seed_one("operatingsystem",
	        json_pack("{s:s, s:s, s:i, s:s, s:s, s:[ss], s:[s], s:[sssss], s:{s:s, s:s}}",
	            "name", "Ubuntu 24.04", "family", "Debian", "major", 24, "minor", "04",
	            "release_name", "noble", "architecture", "x86_64", "aarch64", "medium",
	            "Ubuntu 24.04 netboot", "default_template", boot[0], boot[1], boot[2],
	            "Autoinstall default", "Drover finish", "parameters", "installer",
	            "autoinstall", "iso_url",
	            "http://releases.ubuntu.com/24.04/ubuntu-24.04-live-server-amd64.iso"),
	        err) < 0 ||
	    prov_seed_one("operatingsystem",
	        json_pack("{s:s, s:s, s:i, s:s, s:[ss], s:[s], s:[s], s:[sssss]}", "name",
	            "Rocky 9", "family", "Redhat", "major", 9, "release_name", "Blue Onyx",
	            "architecture", "x86_64", "aarch64", "medium", "Rocky mirror", "ptable",
	            "Kickstart default", "default_template", boot[0], boot[1], boot[2],
	            "Kickstart default", "Drover finish"),
	        err) < 0 ||
	    prov_seed_one("operatingsystem",
	        json_pack("{s:s, s:s, s:i, s:s, s:[ss], s:[s], s:[s], s:[sssss]}", "name",
	            "AlmaLinux 9", "family", "Redhat", "major", 9, "release_name",
	            "Seafoam Ocelot", "architecture", "x86_64", "aarch64", "medium",
	            "AlmaLinux mirror", "ptable", "Kickstart default", "default_template", boot[0],
	            boot[1], boot[2], "Kickstart default", "Drover finish"),
	        err) < 0)
		return -1;
	if (prov_seed_one("hostgroup",
	        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", "base", "operatingsystem",
	            "Debian 12", "architecture", "x86_64", "medium", "Debian mirror", "ptable",
	            "Preseed default", "provision_method", "build"),
	        err) < 0)
		return -1;
	return 0;
}

/* The image method's provision template, added to stores seeded before it existed. */
static int
prov_image_seed(struct dr_error *err)
{
	_cleanup_json_ json_t *tpl =
	    prov_resource_get(prov_resource_find("provisioning_template"), "Drover image");

	char hex[65];

	if (tpl != NULL)
		return 0;
	prov_seed_sha256(prov_seed_text("image"), hex);
	if (prov_seed_record("Drover image", hex, err) < 0)
		return -1;
	return prov_seed_one("provisioning_template",
	    json_pack("{s:s, s:s, s:s, s:b, s:s}", "name", "Drover image", "kind", "provision",
	        "template", prov_seed_text("image"), "locked", 1, "description",
	        "Drover's installer: partition, write the host's image, boot loader, finish"),
	    err);
}

static char *prov_tftp_root_dir;
static char *prov_bootfiles_work, *prov_bootfiles_from;

/* The boot-loader sources of `drover pxe setup`. */
void
prov_bootfiles_opts(struct pxe_bootfiles_opts *o)
{
	*o = (struct pxe_bootfiles_opts){
	    .root = prov_tftp_root_dir, .work = prov_bootfiles_work, .from = prov_bootfiles_from};
}

/* The TFTP root (boot files), NULL when none is configured. */
const char *
prov_tftp_root(void)
{
	return prov_tftp_root_dir;
}

/* The TFTP server's generator: per-MAC boot configurations, GRUB's discovery one. */
static int
prov_tftp_generate(void *ctx, const char *path, char **ret_data, size_t *ret_len)
{
	if (strcmp(path, "grub/grub.cfg-discovery") == 0)
		return prov_discovery_grub_cfg(ret_data, ret_len);
	return provisioner_boot_file(path, ret_data, ret_len);
}

/* After store_open: seed, write the DHCP files, answer for per-host TFTP files. */
int
provisioner_init(const struct provisioner_opts *o, struct dr_error *err)
{
	dr_error_clear(err);
	prov_render_set_url(o->url);
	free(prov_tftp_root_dir);
	prov_tftp_root_dir = o->tftp_root != NULL ? xstrdup(o->tftp_root) : NULL;
	free(prov_bootfiles_work);
	prov_bootfiles_work =
	    o->state_dir != NULL ? xasprintf("%s/bootfiles-src", o->state_dir) : NULL;
	free(prov_bootfiles_from);
	prov_bootfiles_from = o->bootfiles_from != NULL ? xstrdup(o->bootfiles_from) : NULL;
	if (secret_init(o->state_dir, err) < 0 || prov_resource_seed(err) < 0 ||
	    prov_seed_update(err) < 0 || prov_image_seed(err) < 0 ||
	    prov_image_init(o->state_dir, err) < 0)
		return -1;
	pxe_tftp_set_generator(prov_tftp_generate, NULL);
	return prov_boot_setup(o, err);
}
