/* discovery.c - machines nobody described: an unknown MAC that network-boots gets the
 * discovery image (from iPXE's script, or GRUB's grub.cfg-discovery), which posts its
 * facts; discovered hosts are listed and turned into hosts (and built) by hand. */
#define LOG_COMPONENT "discovery"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provisioner/provisioner.h"
#include "pxe/pxe.h"

static int prov_discovery_rules_apply(
    const char *mac, const json_t *facts, const char *remote, struct dr_error *err);

/* Validate and store the facts a discovery image posted (an object with at least "mac"). */
int
prov_discovery_facts(const json_t *facts, const char *remote, struct dr_error *err)
{
	_cleanup_json_ json_t *known = NULL, *row = NULL;
	_cleanup_free_ char *text = NULL;
	const char *mac = json_string_value(json_object_get(facts, "mac"));
	json_int_t now = (json_int_t)time(NULL);
	char norm[18];

	if (!json_is_object(facts)) {
		dr_error_set(err, "facts: expected a JSON object");
		return PROV_E_INVALID;
	}
	if (mac == NULL || prov_mac_normalise(mac, norm) < 0) {
		dr_error_set(err, "mac: expected the MAC address the machine booted from");
		return PROV_E_INVALID;
	}
	text = json_dumps(facts, JSON_COMPACT);
	if (text == NULL || strlen(text) > PROV_FACTS_MAX) {
		dr_error_set(err, "facts: larger than %d bytes", PROV_FACTS_MAX);
		return PROV_E_INVALID;
	}
	if ((known = prov_host_find_mac(norm)) != NULL) {
		dr_error_set(err, "mac: %s belongs to host %s", norm,
		    json_string_value(json_object_get(known, "name")));
		return PROV_E_CONFLICT;
	}
	row = store_query_one(NULL, "SELECT mac FROM prov_discovered WHERE mac = ?", "[s]", norm);
	if (row != NULL) {
		if (store_execf(NULL, NULL, err,
		        "UPDATE prov_discovered SET facts = ?, ip = ?, last_seen = ? WHERE mac = "
		        "?",
		        "[ss?Is]", text, remote, now, norm) < 0)
			return PROV_E_STORE;
	} else {
		_cleanup_json_ json_t *count =
		    store_query_one(NULL, "SELECT count(*) AS n FROM prov_discovered", NULL);
		if (json_integer_value(json_object_get(count, "n")) >= PROV_DISCOVERED_MAX) {
			dr_error_set(err, "discovery: %d machines are waiting already",
			    PROV_DISCOVERED_MAX);
			return PROV_E_CONFLICT;
		}
		if (store_execf(NULL, NULL, err,
		        "INSERT INTO prov_discovered (mac, facts, ip, first_seen, last_seen)"
		        " VALUES (?, ?, ?, ?, ?)",
		        "[sss?II]", norm, text, remote, now, now) < 0)
			return PROV_E_STORE;
		store_audit(
		    "(discovery)", remote, "discover", "discovered_host", norm, NULL, facts, NULL);
	}
	return prov_discovery_rules_apply(norm, facts, remote, err) < 0 ? PROV_E_STORE : 0;
}

/*
 * Discovery rules, by priority (lowest first), then name: the first enabled rule whose
 * search (a Jinja expression over the facts, "cpus >= 4 and memory_mb >= 8192") is true
 * and that made fewer than max_count hosts (0: no limit) provisions the machine into its
 * hostgroup, named by its hostname template (default "host-{{ mac | replace(':', '') }}").
 * Returns 1 when a rule took the machine, 0 when none did.
 */
static int
prov_discovery_rules_apply(
    const char *mac, const json_t *facts, const char *remote, struct dr_error *err)
{
	const struct prov_resource *rr = prov_resource_find("discovery_rule");
	_cleanup_json_ json_t *rules = NULL, *vars = json_deep_copy(facts);
	struct template_opts lenient = {.lenient = true};
	int64_t total = 0, sub = 0;
	size_t i, best_i;
	json_t *rule;

	json_object_set_new(vars, "mac", json_string(mac));
	if (prov_resource_list(rr, NULL, INT32_MAX, 0, &rules, &total, &sub, err) < 0)
		return -1;
	for (;;) {
		/* The next rule by priority (rules are few: a selection each round is enough). */
		long long bestp = -1;
		best_i = SIZE_MAX;
		json_array_foreach(rules, i, rule)
		{
			long long p = json_integer_value(json_object_get(rule, "priority"));
			if (json_is_null(rule))
				continue;
			if (best_i == SIZE_MAX || p < bestp) {
				best_i = i;
				bestp = p;
			}
		}
		if (best_i == SIZE_MAX)
			return 0;
		rule = json_incref(json_array_get(rules, best_i));
		json_array_set_new(rules, best_i, json_null());
		{
			_cleanup_json_ json_t *r = rule, *match = NULL, *spec = NULL, *set = NULL;
			_cleanup_free_ char *name = NULL;
			const char *hn = json_string_value(json_object_get(r, "hostname"));
			long long max = json_integer_value(json_object_get(r, "max_count"));
			long long count = json_integer_value(json_object_get(r, "hosts_count"));
			struct dr_error e;
			int64_t id;

			if (json_is_false(json_object_get(r, "enabled")) ||
			    (max > 0 && count >= max))
				continue;
			if (template_eval("search",
			        json_string_value(json_object_get(r, "search")), &lenient, vars,
			        &match, &e) < 0 ||
			    !template_truthy(match))
				continue;
			if (template_render_string("hostname",
			        hn != NULL ? hn : "host-{{ mac | replace(':', '') }}", &lenient,
			        vars, &name, &e) < 0) {
				log_warnx("discovery rule %s: %s",
				    json_string_value(json_object_get(r, "name")), e.msg);
				continue;
			}
			spec = json_pack("{s:s, s:O}", "name", name, "hostgroup_id",
			    json_object_get(r, "hostgroup_id"));
			if (prov_discovery_provision(mac, spec, "(discovery)", remote, &id, &e) <
			    0) {
				log_warnx("discovery rule %s for %s: %s",
				    json_string_value(json_object_get(r, "name")), mac, e.msg);
				continue;
			}
			set = json_pack("{s:I}", "hosts_count", (json_int_t)(count + 1));
			prov_resource_set_internal(rr,
			    json_integer_value(json_object_get(r, "id")), set, "(discovery)",
			    remote, "apply", &e);
			log_info("discovery rule %s: %s is host %s",
			    json_string_value(json_object_get(r, "name")), mac, name);
			return 1;
		}
	}
}

/* Every discovered machine, oldest first. Caller frees. */
int
prov_discovery_list(json_t **ret, struct dr_error *err)
{
	return store_queryf(ret, err,
	           "SELECT mac, facts AS facts_json, ip, first_seen, last_seen FROM "
	           "prov_discovered"
	           " ORDER BY first_seen, mac",
	           NULL) < 0
	    ? PROV_E_STORE
	    : 0;
}

/* Forget a discovered machine. */
int
prov_discovery_delete(const char *mac, const char *user, const char *remote, struct dr_error *err)
{
	char norm[18];
	int64_t n = 0;

	if (prov_mac_normalise(mac, norm) < 0) {
		dr_error_set(err, "mac: '%s' is not a MAC address", mac);
		return PROV_E_INVALID;
	}
	if (store_execf(&n, NULL, err, "DELETE FROM prov_discovered WHERE mac = ?", "[s]", norm) <
	    0)
		return PROV_E_STORE;
	if (n == 0) {
		dr_error_set(err, "no discovered host %s", norm);
		return PROV_E_NOTFOUND;
	}
	store_audit(user, remote, "delete", "discovered_host", norm, NULL, NULL, NULL);
	return 0;
}

/* Make a host of a discovered machine: spec holds the host's fields (name required); the
 * machine's MAC becomes its provisioning interface and its facts a parameter; then build. */
int
prov_discovery_provision(const char *mac, const json_t *spec, const char *user, const char *remote,
    int64_t *ret_id, struct dr_error *err)
{
	_cleanup_json_ json_t *row = NULL, *in = NULL;
	char norm[18];
	int64_t id;
	int r;

	if (prov_mac_normalise(mac, norm) < 0) {
		dr_error_set(err, "mac: '%s' is not a MAC address", mac);
		return PROV_E_INVALID;
	}
	row = store_query_one(NULL,
	    "SELECT mac, facts AS facts_json FROM prov_discovered"
	    " WHERE mac = ?",
	    "[s]", norm);
	if (row == NULL) {
		dr_error_set(err, "no discovered host %s", norm);
		return PROV_E_NOTFOUND;
	}
	if (!json_is_object(spec)) {
		dr_error_set(err, "expected the new host's fields as an object");
		return PROV_E_INVALID;
	}
	in = json_deep_copy(spec);
	if (json_object_get(in, "interfaces") == NULL)
		json_object_set_new(in, "interfaces", json_pack("[{s:s}]", "mac", norm));
	if ((r = prov_host_create(in, user, remote, &id, err)) < 0)
		return r;
	store_execf(NULL, NULL, NULL, "DELETE FROM prov_discovered WHERE mac = ?", "[s]", norm);
	if ((r = prov_host_build_boot(
	         json_string_value(json_object_get(in, "name")), 0, false, user, remote, err)) < 0)
		return r;
	if (ret_id != NULL)
		*ret_id = id;
	return 0;
}

/* Discovery is on while a discovery image is in the TFTP root. */
bool
prov_discovery_on(void)
{
	const char *root = prov_tftp_root();
	int fd;

	if (root == NULL || (fd = pxe_bootfiles_open(root, "discovery/vmlinuz")) < 0)
		return false;
	close(fd);
	return true;
}

/* The discovery image's files and the installer's they are made of, in the TFTP root. */
static const char *const prov_discovery_files[][2] = {
    {"discovery/initrd.img", "drover-installer/initrd.img"},
    {"discovery/vmlinuz", "drover-installer/vmlinuz"},
};

/* Which discovery image is in the TFTP root: the installer's when both files are its
 * (hard links to the installer's current files). */
enum prov_discovery_image
prov_discovery_image(void)
{
	const char *root = prov_tftp_root();
	struct stat a, b;
	size_t i;
	int dfd;

	if (root == NULL || !prov_discovery_on())
		return PROV_DISCOVERY_OFF;
	if ((dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return PROV_DISCOVERY_OWN;
	for (i = 0; i < nitems(prov_discovery_files); i++)
		if (fstatat(dfd, prov_discovery_files[i][0], &a, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fstatat(dfd, prov_discovery_files[i][1], &b, AT_SYMLINK_NOFOLLOW) < 0 ||
		    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
			break;
	close(dfd);
	return i == nitems(prov_discovery_files) ? PROV_DISCOVERY_INSTALLER : PROV_DISCOVERY_OWN;
}

/* Discovery on (Drover's installer as its image) or off. The initrd is placed before
 * and removed after the kernel, whose presence turns discovery on. */
int
prov_discovery_image_set(bool on, struct dr_error *err)
{
	const char *root = prov_tftp_root();
	size_t i;
	int dfd, r = 0;

	if (root == NULL)
		return dr_error_set(err, "discovery: no TFTP root is configured");
	if ((dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return dr_error_set(err, "%s: %s", root, strerror(errno));
	if (!on) {
		for (i = nitems(prov_discovery_files); i-- > 0 && r == 0;)
			if (unlinkat(dfd, prov_discovery_files[i][0], 0) < 0 && errno != ENOENT)
				r = dr_error_set(err, "%s/%s: %s", root,
				    prov_discovery_files[i][0], strerror(errno));
		/* The directory goes too when nothing else of the operator's is in it. */
		if (r == 0)
			(void)unlinkat(dfd, "discovery", AT_REMOVEDIR);
		close(dfd);
		return r;
	}
	if (mkdirat(dfd, "discovery", 0755) < 0 && errno != EEXIST) {
		r = dr_error_set(err, "%s/discovery: %s", root, strerror(errno));
		close(dfd);
		return r;
	}
	for (i = 0; i < nitems(prov_discovery_files) && r == 0; i++) {
		_cleanup_free_ char *tmp = xasprintf("%s.new", prov_discovery_files[i][0]);

		unlinkat(dfd, tmp, 0);
		if (linkat(dfd, prov_discovery_files[i][1], dfd, tmp, 0) < 0)
			r = dr_error_set(err, "%s/%s: linking %s: %s", root, tmp,
			    prov_discovery_files[i][1], strerror(errno));
		else if (renameat(dfd, tmp, dfd, prov_discovery_files[i][0]) < 0) {
			r = dr_error_set(
			    err, "%s/%s: %s", root, prov_discovery_files[i][0], strerror(errno));
			unlinkat(dfd, tmp, 0);
		}
	}
	close(dfd);
	return r;
}

/* What the discovery image's kernel is told: where to post the facts, and its MAC. */
char *
prov_discovery_cmdline(const char *mac)
{
	return xasprintf("console=ttyS0 drover_discovery=%s/unattended/discovery drover_mac=%s",
	    prov_render_url(), mac);
}

/*
 * grub/grub.cfg-discovery for the TFTP server: when discovery is on, what Debian's signed
 * GRUB sources for a MAC with no host (pxe/bootfiles.c's grub.cfg): boot the discovery
 * kernel (under Secure Boot, a kernel signed by Debian, which shim lets GRUB boot) and
 * initramfs with the arguments iPXE gives it, the MAC GRUB booted from among them. 1 with
 * *ret (caller frees), 0 when discovery is off.
 */
int
prov_discovery_grub_cfg(char **ret, size_t *ret_len)
{
	_cleanup_free_ char *cmdline = NULL;

	if (!prov_discovery_on())
		return 0;
	cmdline = prov_discovery_cmdline("$net_default_mac");
	*ret = xasprintf("# Drover: discovery of a machine with no host (sourced by grub.cfg)\n"
	                 "echo \"Drover: $net_default_mac is unknown: booting the discovery "
	                 "image\"\n"
	                 "linux /discovery/vmlinuz %s\n"
	                 "initrd /discovery/initrd.img\n"
	                 "boot\n",
	    cmdline);
	*ret_len = strlen(*ret);
	return 1;
}
