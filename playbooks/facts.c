/*
 * facts.c - Ansible's facts in one round trip.
 *
 * facts_gather() sends one POSIX shell script (on stdin of `/bin/sh -s`) that prints what
 * the facts need in sections ("@@name" lines followed by the section's lines), using shell
 * built-ins where it can and a handful of commands (uname, id, date, ip, stat). The
 * parser turns that into Ansible's fact names, computed the way ansible-core's setup
 * module computes them for the facts we know (see the comments on each), and returns them
 * WITHOUT the "ansible_" prefix, like Ansible's `ansible_facts`. The executor exposes both
 * forms: `ansible_facts.distribution` and the top-level `ansible_distribution`.
 */
#define LOG_COMPONENT "facts"
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "playbooks/playbooks.h"

#define FACTS_TIMEOUT 60 /* seconds the script may take */

/*
 * The script. Sections: os-release, debian_version, redhat-release, uname, hostname, id,
 * passwd, env (NUL and newline swapped, so a value may hold newlines), date, meminfo,
 * cpuinfo, nproc, net (per interface from /sys), addr (`ip -o addr`), route4/route6 (`ip
 * route get` to Ansible's probe addresses), mounts, statfs, uuids, pkg (package managers
 * present), init (/proc/1/comm and what service_mgr looks at), virt.
 */
static const char facts_script[] =
    "exec 2>/dev/null\n"
    "LC_ALL=C; export LC_ALL\n"
    "s() { echo \"@@$1\"; }\n"
    "p() { [ -r \"$1\" ] && while IFS= read -r l || [ -n \"$l\" ]; do printf '%s\\n' \"$l\"; done "
    "<\"$1\"; }\n"
    "s os-release; p /etc/os-release || p /usr/lib/os-release\n"
    "s debian_version; p /etc/debian_version\n"
    "s redhat-release; p /etc/redhat-release\n"
    "s uname; set -- $(uname -snrm); printf '%s\\n' \"$1\" \"$2\" \"$3\"; uname -v; echo \"$4\"\n"
    "s hostname; hostname -f || uname -n\n"
    "s id; i=$(id); u=${i#uid=}; u=${u%%[(\\ ]*}; n=${i%%)*}; n=${n#*\\(};"
    " case $n in uid=*) n=$u;; esac; g=${i#* gid=}; g=${g%%[(\\ ]*}; eu=$u; eg=$g;"
    " case $i in *euid=*) eu=${i#* euid=}; eu=${eu%%[(\\ ]*};; esac;"
    " case $i in *egid=*) eg=${i#* egid=}; eg=${eg%%[(\\ ]*};; esac;"
    " printf '%s\\n' \"$eu\" \"$eg\" \"$n\" \"$u\" \"$g\"\n"
    "s passwd; getent passwd \"$u\" || while IFS= read -r l; do case $l in \"$n:\"*) echo "
    "\"$l\";; esac; done </etc/passwd\n"
    "s env; env -0 | tr '\\n\\000' '\\001\\n'; echo\n"
    "s date; date -f - '+%Y %m %d %H %M %S %N %s %z %Z %A %w %W %j' <<'E' ||\n"
    "now\n2000-01-01\n2000-07-01\nE\n"
    " date '+%Y %m %d %H %M %S 0 %s %z %Z %A %w %W %j'\n"
    "s meminfo; while read -r k v u; do echo \"$k $v\"; done </proc/meminfo\n"
    "s cpuinfo; grep -E '^(processor|vendor_id|model name|physical id|cpu cores|siblings)' "
    "/proc/cpuinfo\n"
    "s nproc; nproc\n"
    "s net; for d in /sys/class/net/*; do n=${d##*/}; a=; m=; f=; t=; sp=;"
    " read -r a <\"$d/address\"; read -r m <\"$d/mtu\"; read -r f <\"$d/flags\";"
    " read -r t <\"$d/type\"; read -r sp <\"$d/speed\"; echo \"$n ${a:--} ${m:--} ${f:--} ${t:--} "
    "${sp:--}\"; done\n"
    "s addr; ip -o addr show\n"
    "s route4; ip -4 route get 8.8.8.8\n"
    "s route6; ip -6 route get 2404:6800:400a:800::1012\n"
    "s mounts; cat /proc/mounts\n"
    "s statfs; set --; while read -r dev mp rest; do case $dev in /*) set -- \"$@\" \"$(printf "
    "'%b' \"$mp\")\";; esac; done </proc/mounts;"
    " [ $# -gt 0 ] && stat -f -c '%n|%s|%S|%b|%f|%a|%c|%d' \"$@\"\n"
    "s uuids; [ -d /dev/disk/by-uuid ] && ls -l /dev/disk/by-uuid\n"
    "s pkg; for p in /usr/bin/apt-get /usr/bin/dnf5 /usr/bin/dnf /usr/bin/yum /usr/bin/zypper "
    "/sbin/apk /usr/bin/pacman /usr/bin/emerge /usr/sbin/pkg /usr/bin/xbps-install; do [ -x "
    "\"$p\" ] && echo \"$p\"; done\n"
    "s init; read -r c </proc/1/comm && echo \"comm $c\";"
    " for p in /run/systemd/system /dev/.run/systemd /dev/.systemd /sbin/openrc /etc/init.d "
    "/etc/init; do [ -e \"$p\" ] && echo \"exists $p\"; done;"
    " [ -L /sbin/init ] && echo \"init_link $(readlink -f /sbin/init)\";"
    " command -v systemctl >/dev/null && echo has_systemctl; command -v initctl >/dev/null && "
    "echo has_initctl\n"
    "s virt; while IFS= read -r l; do case $l in *docker*|*lxc*|*containerd*|*machine.slice*)"
    " echo \"cgroup $l\";; esac; done </proc/1/cgroup;"
    " [ -r /proc/1/environ ] && tr '\\000' '\\n' </proc/1/environ | grep '^container=' | sed "
    "'s/^/environ /';"
    " for p in /proc/vz /proc/lve /.dockerenv /run/.containerenv /proc/xen /dev/kvm; do [ -e "
    "\"$p\" ] && echo \"exists $p\"; done;"
    " read -r x </run/systemd/container && echo \"systemd_container $x\";"
    " for f in product_name sys_vendor bios_vendor; do read -r x </sys/devices/virtual/dmi/id/$f "
    "&& echo \"dmi_$f $x\"; done;"
    " grep -qw hypervisor /proc/cpuinfo && echo hypervisor_flag\n"
    "s end\n";

/* The script facts_gather sends (for tests and the benchmark). */
const char *
facts_script_text(void)
{
	return facts_script;
}

/* One section of the script's output: lines [start, end). */
struct facts_section {
	const char *name;
	const char *start, *end;
};

#define FACTS_SECTIONS_MAX 32

struct facts_out {
	struct facts_section sec[FACTS_SECTIONS_MAX];
	size_t n;
};

/* Split the output into sections. */
static void
facts_split(const char *text, size_t len, struct facts_out *fo)
{
	const char *p = text, *end = text + len;

	fo->n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;

		if (le - p > 2 && p[0] == '@' && p[1] == '@' && fo->n < FACTS_SECTIONS_MAX) {
			if (fo->n > 0)
				fo->sec[fo->n - 1].end = p;
			fo->sec[fo->n].name = p + 2;
			fo->sec[fo->n].start = nl != NULL ? nl + 1 : end;
			fo->sec[fo->n].end = end;
			fo->n++;
		}
		p = nl != NULL ? nl + 1 : end;
	}
}

/* The text of section name (NUL-terminated copy, caller frees), or NULL. */
static char *
facts_section(const struct facts_out *fo, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < fo->n; i++) {
		const char *s = fo->sec[i].name;

		if (strncmp(s, name, nl) == 0 && s[nl] == '\n')
			return xstrndup(
			    fo->sec[i].start, (size_t)(fo->sec[i].end - fo->sec[i].start));
	}
	return NULL;
}

/* Next line of *p (modified in place); NULL at the end. */
static char *
facts_line(char **p)
{
	char *s = *p, *nl;

	if (s == NULL || *s == '\0')
		return NULL;
	nl = strchr(s, '\n');
	if (nl != NULL) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = s + strlen(s);
	}
	return s;
}

/* Remove shell quoting from an os-release value ("x", 'x', or bare). */
static char *
facts_unquote(char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v[n - 1] = '\0';
		v++;
		/* backslash escapes inside double quotes */
		for (char *r = v, *w = v;; r++) {
			if (*r == '\\' && r[1] != '\0')
				r++;
			*w++ = *r;
			if (*r == '\0')
				break;
		}
	}
	return v;
}

/* os-release IDs to Ansible's distribution names and families. */
static const struct {
	const char *id;
	const char *name;
	const char *family;
} facts_distros[] = {
    {"debian", "Debian", "Debian"},
    {"ubuntu", "Ubuntu", "Debian"},
    {"raspbian", "Debian", "Debian"},
    {"linuxmint", "Linux Mint", "Debian"},
    {"kali", "Kali", "Debian"},
    {"devuan", "Devuan", "Debian"},
    {"pop", "Pop!_OS", "Debian"},
    {"rhel", "RedHat", "RedHat"},
    {"centos", "CentOS", "RedHat"},
    {"fedora", "Fedora", "RedHat"},
    {"rocky", "Rocky", "RedHat"},
    {"almalinux", "AlmaLinux", "RedHat"},
    {"ol", "OracleLinux", "RedHat"},
    {"amzn", "Amazon", "RedHat"},
    {"scientific", "Scientific", "RedHat"},
    {"cloudlinux", "CloudLinux", "RedHat"},
    {"virtuozzo", "Virtuozzo", "RedHat"},
    {"euleros", "EulerOS", "RedHat"},
    {"sles", "SLES", "Suse"},
    {"sles_sap", "SLES_SAP", "Suse"},
    {"opensuse", "openSUSE", "Suse"},
    {"opensuse-leap", "openSUSE Leap", "Suse"},
    {"opensuse-tumbleweed", "openSUSE Tumbleweed", "Suse"},
    {"arch", "Archlinux", "Archlinux"},
    {"manjaro", "Manjaro", "Archlinux"},
    {"alpine", "Alpine", "Alpine"},
    {"gentoo", "Gentoo", "Gentoo"},
    {"void", "Void", "Void"},
};

/* Package managers by the binary that shows them, in Ansible's order of preference. */
static const struct {
	const char *path;
	const char *name;
} facts_pkg_mgrs[] = {
    {"/usr/bin/apt-get", "apt"},
    {"/usr/bin/dnf5", "dnf5"},
    {"/usr/bin/dnf", "dnf"},
    {"/usr/bin/yum", "yum"},
    {"/usr/bin/zypper", "zypper"},
    {"/sbin/apk", "apk"},
    {"/usr/bin/pacman", "pacman"},
    {"/usr/bin/emerge", "portage"},
    {"/usr/sbin/pkg", "pkgng"},
    {"/usr/bin/xbps-install", "xbps"},
};

static void
facts_set_str(json_t *f, const char *k, const char *v)
{
	json_object_set_new(f, k, json_string(v != NULL ? v : ""));
}

/* distribution, its version, release and family; pkg_mgr. */
static void
facts_parse_os(const struct facts_out *fo, json_t *f)
{
	_cleanup_free_ char *osr = facts_section(fo, "os-release");
	_cleanup_free_ char *deb = facts_section(fo, "debian_version");
	_cleanup_free_ char *pkg = facts_section(fo, "pkg");
	_cleanup_free_ char *rh = facts_section(fo, "redhat-release");
	_cleanup_free_ char *rh_release = NULL;
	const char *id = "", *version_id = "", *codename = "", *name = "";
	const char *dist = NULL, *family = NULL;
	char *p = osr, *l;
	_cleanup_free_ char *version = NULL;

	while ((l = facts_line(&p)) != NULL) {
		char *eq = strchr(l, '=');

		if (eq == NULL)
			continue;
		*eq = '\0';
		if (strcmp(l, "ID") == 0)
			id = facts_unquote(eq + 1);
		else if (strcmp(l, "VERSION_ID") == 0)
			version_id = facts_unquote(eq + 1);
		else if (strcmp(l, "VERSION_CODENAME") == 0)
			codename = facts_unquote(eq + 1);
		else if (strcmp(l, "NAME") == 0)
			name = facts_unquote(eq + 1);
	}
	for (size_t i = 0; i < nitems(facts_distros); i++)
		if (strcmp(facts_distros[i].id, id) == 0) {
			dist = facts_distros[i].name;
			family = facts_distros[i].family;
			break;
		}
	if (dist == NULL) {
		/* Ansible falls back to NAME and takes the family as the name. */
		dist = *name != '\0' ? name : "NA";
		family = dist;
	}
	version = xstrdup(version_id);
	/* Debian: the point release comes from /etc/debian_version ("12.11"). */
	if (strcmp(id, "debian") == 0 && deb != NULL) {
		str_trim(deb);
		if (isdigit((unsigned char)deb[0])) {
			free(version);
			version = xstrdup(deb);
		} else if (*version == '\0') {
			/* testing/sid: "trixie/sid" */
			free(version);
			version = xstrdup(deb);
		}
	}
	/* RedHat family: "CentOS Linux release 7.9.2009 (Core)" gives 7.9 and "Core". */
	if (rh != NULL && strcmp(family, "RedHat") == 0) {
		const char *rel = strstr(rh, "release ");
		const char *open = strchr(rh, '('),
		           *close = open != NULL ? strchr(open, ')') : NULL;

		if (rel != NULL && isdigit((unsigned char)rel[8])) {
			size_t n = strspn(rel + 8, "0123456789.");
			const char *dot = memchr(rel + 8, '.', n);
			const char *dot2 = dot != NULL
			    ? memchr(dot + 1, '.', n - (size_t)(dot + 1 - (rel + 8)))
			    : NULL;

			if (dot2 != NULL)
				n = (size_t)(dot2 - (rel + 8));
			if (strlen(version) < n) {
				free(version);
				version = xstrndup(rel + 8, n);
			}
		}
		if (open != NULL && close != NULL && *codename == '\0')
			codename = rh_release = xstrndup(open + 1, (size_t)(close - open - 1));
	}
	facts_set_str(f, "distribution", dist);
	facts_set_str(f, "distribution_version", *version != '\0' ? version : "NA");
	{
		size_t maj = strcspn(version, ".");
		_cleanup_free_ char *major = xstrndup(version, maj);

		facts_set_str(f, "distribution_major_version", *major != '\0' ? major : "NA");
		if (version[maj] == '.')
			facts_set_str(f, "distribution_minor_version", version + maj + 1);
	}
	facts_set_str(f, "distribution_release", *codename != '\0' ? codename : "NA");
	facts_set_str(f, "os_family", family);

	const char *mgr = "unknown";
	p = pkg;
	while ((l = facts_line(&p)) != NULL) {
		for (size_t i = 0; i < nitems(facts_pkg_mgrs); i++)
			if (strcmp(facts_pkg_mgrs[i].path, l) == 0) {
				/* The first present in the table wins; a RedHat with dnf over yum.
				 */
				size_t cur = nitems(facts_pkg_mgrs);

				for (size_t j = 0; j < nitems(facts_pkg_mgrs); j++)
					if (strcmp(facts_pkg_mgrs[j].name, mgr) == 0)
						cur = j;
				if (i < cur)
					mgr = facts_pkg_mgrs[i].name;
			}
	}
	facts_set_str(f, "pkg_mgr", mgr);
}

/* system, nodename, kernel, kernel_version, machine, architecture; hostname, fqdn, domain. */
static void
facts_parse_uname(const struct facts_out *fo, json_t *f)
{
	_cleanup_free_ char *u = facts_section(fo, "uname");
	_cleanup_free_ char *h = facts_section(fo, "hostname");
	static const char *const keys[] = {
	    "system", "nodename", "kernel", "kernel_version", "machine"};
	char *p = u, *l;
	size_t i = 0;
	const char *nodename = "";

	while ((l = facts_line(&p)) != NULL && i < nitems(keys)) {
		facts_set_str(f, keys[i], l);
		if (i == 1)
			nodename = json_string_value(json_object_get(f, "nodename"));
		i++;
	}
	const char *machine = json_string_value(json_object_get(f, "machine"));
	if (machine != NULL) {
		/* Ansible: i?86 -> i386; everything else as uname says. */
		if (strlen(machine) == 4 && machine[0] == 'i' && strcmp(machine + 2, "86") == 0)
			facts_set_str(f, "architecture", "i386");
		else
			facts_set_str(f, "architecture", machine);
		facts_set_str(f, "userspace_architecture", machine);
	}
	_cleanup_free_ char *host = xstrndup(nodename, strcspn(nodename, "."));
	facts_set_str(f, "hostname", host);
	p = h;
	if ((l = facts_line(&p)) != NULL && *l != '\0') {
		const char *dot = strchr(l, '.');

		facts_set_str(f, "fqdn", l);
		facts_set_str(f, "domain", dot != NULL ? dot + 1 : "");
	} else {
		facts_set_str(f, "fqdn", nodename);
		facts_set_str(f, "domain", "");
	}
}

/* user_id, user_uid, user_gid, effective/real ids, user_dir, user_shell, user_gecos, env. */
static void
facts_parse_user(const struct facts_out *fo, json_t *f)
{
	_cleanup_free_ char *id = facts_section(fo, "id");
	_cleanup_free_ char *pw = facts_section(fo, "passwd");
	_cleanup_free_ char *env = facts_section(fo, "env");
	static const char *const keys[] = {
	    "effective_user_id", "effective_group_id", "user_id", "real_user_id", "real_group_id"};
	char *p = id, *l;
	size_t i = 0;

	while ((l = facts_line(&p)) != NULL && i < nitems(keys)) {
		long long n;

		if (i == 2)
			facts_set_str(f, keys[i], l);
		else if (str_to_ll(l, 0, 0xffffffffLL, &n) == 0)
			json_object_set_new(f, keys[i], json_integer(n));
		i++;
	}
	/* Ansible's user_uid/gid are the real ids. */
	json_object_set(f, "user_uid", json_object_get(f, "real_user_id"));
	json_object_set(f, "user_gid", json_object_get(f, "real_group_id"));
	p = pw;
	if ((l = facts_line(&p)) != NULL) {
		/* name:x:uid:gid:gecos:dir:shell */
		char *fld[7] = {0};
		size_t n = 0;

		for (char *s = l; n < 7; n++) {
			fld[n] = s;
			s = strchr(s, ':');
			if (s == NULL) {
				n++;
				break;
			}
			*s++ = '\0';
		}
		if (n == 7) {
			facts_set_str(f, "user_gecos", fld[4]);
			facts_set_str(f, "user_dir", fld[5]);
			facts_set_str(f, "user_shell", fld[6]);
		}
	}
	json_t *e = json_object();
	p = env;
	while ((l = facts_line(&p)) != NULL) {
		char *eq = strchr(l, '=');

		if (eq == NULL || eq == l)
			continue;
		*eq = '\0';
		for (char *c = eq + 1; *c != '\0'; c++)
			if (*c == '\001')
				*c = '\n';
		facts_set_str(e, l, eq + 1);
	}
	json_object_set_new(f, "env", e);
}

/* date_time, as Ansible's date_time collector lays it out. */
static void
facts_parse_date(const struct facts_out *fo, json_t *f)
{
	_cleanup_free_ char *d = facts_section(fo, "date");
	char *p = d, *l;
	char fld[3][14][24];
	size_t nlines = 0;

	while ((l = facts_line(&p)) != NULL && nlines < 3) {
		size_t n = 0;

		for (char *tok = strtok(l, " "); tok != NULL && n < 14; tok = strtok(NULL, " "))
			str_copy(fld[nlines][n++], tok, sizeof(fld[0][0]));
		if (n != 14)
			return;
		nlines++;
	}
	if (nlines == 0)
		return;
	/* Y m d H M S N s z Z A w W j */
	char(*now)[24] = fld[0];
	long long epoch;
	char usec[7] = "000000";
	time_t t;
	struct tm tm;
	char buf[256];
	json_t *dt = json_object();

	if (str_to_ll(now[7], 0, INT64_MAX, &epoch) < 0) {
		json_decref(dt);
		return;
	}
	if (isdigit((unsigned char)now[6][0]) && strlen(now[6]) >= 6)
		memcpy(usec, now[6], 6);
	t = (time_t)epoch;
	gmtime_r(&t, &tm);
	facts_set_str(dt, "year", now[0]);
	facts_set_str(dt, "month", now[1]);
	facts_set_str(dt, "day", now[2]);
	facts_set_str(dt, "hour", now[3]);
	facts_set_str(dt, "minute", now[4]);
	facts_set_str(dt, "second", now[5]);
	facts_set_str(dt, "epoch", now[7]);
	facts_set_str(dt, "epoch_int", now[7]);
	snprintf(buf, sizeof(buf), "%s-%s-%s", now[0], now[1], now[2]);
	facts_set_str(dt, "date", buf);
	snprintf(buf, sizeof(buf), "%s:%s:%s", now[3], now[4], now[5]);
	facts_set_str(dt, "time", buf);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	facts_set_str(dt, "iso8601", buf);
	strftime(buf, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%sZ", usec);
	facts_set_str(dt, "iso8601_micro", buf);
	snprintf(buf, sizeof(buf), "%s%s%sT%s%s%s%s", now[0], now[1], now[2], now[3], now[4],
	    now[5], usec);
	facts_set_str(dt, "iso8601_basic", buf);
	snprintf(
	    buf, sizeof(buf), "%s%s%sT%s%s%s", now[0], now[1], now[2], now[3], now[4], now[5]);
	facts_set_str(dt, "iso8601_basic_short", buf);
	facts_set_str(dt, "tz", now[9]);
	facts_set_str(dt, "tz_offset", now[8]);
	facts_set_str(dt, "weekday", now[10]);
	facts_set_str(dt, "weekday_number", now[11]);
	facts_set_str(dt, "weeknumber", now[12]);
	/* tz_dst is Python's time.tzname[1]: the summer name, or the zone's one name. */
	if (nlines == 3) {
		const char *dst = fld[2][9];

		if (strcmp(fld[1][8], fld[2][8]) > 0) /* southern hemisphere: January is DST */
			dst = fld[1][9];
		facts_set_str(dt, "tz_dst", dst);
	} else {
		facts_set_str(dt, "tz_dst", now[9]);
	}
	json_object_set_new(f, "date_time", dt);
}

/* memtotal_mb, memfree_mb, swaptotal_mb, swapfree_mb, memory_mb; processor facts. */
static void
facts_parse_hw(const struct facts_out *fo, json_t *f)
{
	_cleanup_free_ char *mem = facts_section(fo, "meminfo");
	_cleanup_free_ char *cpu = facts_section(fo, "cpuinfo");
	_cleanup_free_ char *np = facts_section(fo, "nproc");
	long long memtotal = 0, memfree = 0, swaptotal = 0, swapfree = 0, buffers = 0, cached = 0,
	          swapcached = 0;
	char *p = mem, *l;

	while ((l = facts_line(&p)) != NULL) {
		char key[64];
		long long v;

		if (sscanf(l, "%63s %lld", key, &v) != 2)
			continue;
		if (strcmp(key, "MemTotal:") == 0)
			memtotal = v / 1024;
		else if (strcmp(key, "MemFree:") == 0)
			memfree = v / 1024;
		else if (strcmp(key, "SwapTotal:") == 0)
			swaptotal = v / 1024;
		else if (strcmp(key, "SwapFree:") == 0)
			swapfree = v / 1024;
		else if (strcmp(key, "Buffers:") == 0)
			buffers = v / 1024;
		else if (strcmp(key, "Cached:") == 0)
			cached = v / 1024;
		else if (strcmp(key, "SwapCached:") == 0)
			swapcached = v / 1024;
	}
	if (mem != NULL && memtotal > 0) {
		json_object_set_new(f, "memtotal_mb", json_integer(memtotal));
		json_object_set_new(f, "memfree_mb", json_integer(memfree));
		json_object_set_new(f, "swaptotal_mb", json_integer(swaptotal));
		json_object_set_new(f, "swapfree_mb", json_integer(swapfree));
		json_object_set_new(f, "memory_mb",
		    json_pack("{s:{s:I,s:I,s:I},s:{s:I,s:I},s:{s:I,s:I,s:I,s:I}}", "real", "total",
		        (json_int_t)memtotal, "free", (json_int_t)memfree, "used",
		        (json_int_t)(memtotal - memfree), "nocache", "free",
		        (json_int_t)(memfree + buffers + cached), "used",
		        (json_int_t)(memtotal - memfree - buffers - cached), "swap", "total",
		        (json_int_t)swaptotal, "free", (json_int_t)swapfree, "used",
		        (json_int_t)(swaptotal - swapfree), "cached", (json_int_t)swapcached));
	}

	/* Ansible: vcpus = "processor" entries; count = distinct physical ids (1 without);
	 * cores per socket from "cpu cores"; processor = [index, vendor, model, …]. */
	json_t *proc = json_array();
	long long vcpus = 0, cores = 0, siblings = 0;
	char physical[64][16];
	size_t nphys = 0;

	p = cpu;
	while ((l = facts_line(&p)) != NULL) {
		char *colon = strchr(l, ':');
		char *k = l, *v;

		if (colon == NULL)
			continue;
		*colon = '\0';
		v = str_trim(colon + 1);
		str_trim(k);
		if (strcmp(k, "processor") == 0) {
			vcpus++;
			json_array_append_new(proc, json_string(v));
		} else if (strcmp(k, "vendor_id") == 0 || strcmp(k, "model name") == 0) {
			json_array_append_new(proc, json_string(v));
		} else if (strcmp(k, "physical id") == 0) {
			bool seen = false;

			for (size_t i = 0; i < nphys; i++)
				seen = seen || strcmp(physical[i], v) == 0;
			if (!seen && nphys < nitems(physical))
				str_copy(physical[nphys++], v, sizeof(physical[0]));
		} else if (strcmp(k, "cpu cores") == 0) {
			str_to_ll(v, 0, 1 << 20, &cores);
		} else if (strcmp(k, "siblings") == 0) {
			str_to_ll(v, 0, 1 << 20, &siblings);
		}
	}
	if (cpu != NULL && vcpus > 0) {
		long long count = nphys > 0 ? (long long)nphys : 1;
		long long nproc = vcpus;

		json_object_set_new(f, "processor", proc);
		proc = NULL;
		json_object_set_new(f, "processor_count", json_integer(count));
		json_object_set_new(f, "processor_cores", json_integer(cores > 0 ? cores : 1));
		json_object_set_new(f, "processor_threads_per_core",
		    json_integer(cores > 0 && siblings >= cores ? siblings / cores : 1));
		json_object_set_new(f, "processor_vcpus",
		    json_integer(cores > 0 && siblings >= cores
		            ? (siblings / cores) * cores * count
		            : vcpus));
		if (np != NULL && str_to_ll(str_trim(np), 1, 1 << 20, &nproc) < 0)
			nproc = vcpus;
		json_object_set_new(f, "processor_nproc", json_integer(nproc));
	}
	json_decref(proc);
}

/* One interface from the "net" section. */
struct facts_if {
	char name[64];
	char mac[64];
	long long mtu, flags, type, speed;
};

/* Dotted netmask of an IPv4 prefix length. */
static void
facts_netmask(int prefix, char *buf, size_t size)
{
	uint32_t m = prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
	struct in_addr a = {.s_addr = htonl(m)};

	inet_ntop(AF_INET, &a, buf, (socklen_t)size);
}

/* Network address of addr/prefix. */
static void
facts_network(const char *addr, int prefix, char *buf, size_t size)
{
	struct in_addr a;
	uint32_t m = prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);

	if (inet_pton(AF_INET, addr, &a) != 1) {
		str_copy(buf, "", size);
		return;
	}
	a.s_addr = htonl(ntohl(a.s_addr) & m);
	inet_ntop(AF_INET, &a, buf, (socklen_t)size);
}

/* The interface fact's key: Ansible replaces '-' and ':' by '_'. */
static char *
facts_if_key(const char *name)
{
	char *k = xstrdup(name);

	for (char *c = k; *c != '\0'; c++)
		if (*c == '-' || *c == ':' || *c == '.')
			*c = '_';
	return k;
}

/* Parse `ip route get` output: "X via GW dev IF src ADDR …". */
static void
facts_route(const char *text, char *gw, char *dev, char *src, size_t size)
{
	_cleanup_free_ char *copy = xstrdup(text != NULL ? text : "");
	char *save = NULL, *prev = NULL;

	gw[0] = dev[0] = src[0] = '\0';
	for (char *t = strtok_r(copy, " \n", &save); t != NULL; t = strtok_r(NULL, " \n", &save)) {
		if (prev != NULL && strcmp(prev, "via") == 0)
			str_copy(gw, t, size);
		else if (prev != NULL && strcmp(prev, "dev") == 0)
			str_copy(dev, t, size);
		else if (prev != NULL && strcmp(prev, "src") == 0)
			str_copy(src, t, size);
		prev = t;
	}
}

/* interfaces, per-interface facts, all_ipv4/ipv6_addresses, default_ipv4/ipv6. */
static void
facts_parse_net(const struct facts_out *fo, json_t *f)
{
	_cleanup_free_ char *net = facts_section(fo, "net");
	_cleanup_free_ char *addr = facts_section(fo, "addr");
	_cleanup_free_ char *r4 = facts_section(fo, "route4");
	_cleanup_free_ char *r6 = facts_section(fo, "route6");
	json_t *ifs = json_array(), *all4 = json_array(), *all6 = json_array();
	json_t *byname = json_object();
	char *p = net, *l;

	while ((l = facts_line(&p)) != NULL) {
		struct facts_if i = {0};
		char flags[32], type[32], speed[32], mtu[32];

		if (sscanf(l, "%63s %63s %31s %31s %31s %31s", i.name, i.mac, mtu, flags, type,
		        speed) != 6)
			continue;
		i.mtu = strtoll(mtu, NULL, 10);
		i.flags = strtoll(flags, NULL, 16);
		i.type = strtoll(type, NULL, 10);
		json_t *o = json_object();
		facts_set_str(o, "device", i.name);
		json_object_set_new(o, "active", json_boolean(i.flags & 0x1)); /* IFF_UP */
		json_object_set_new(o, "promisc", json_boolean(i.flags & 0x100));
		if (i.mtu > 0)
			json_object_set_new(o, "mtu", json_integer(i.mtu));
		if (i.type == 772)
			facts_set_str(o, "type", "loopback");
		else if (i.type == 1)
			facts_set_str(o, "type", "ether");
		else if (i.type == 32)
			facts_set_str(o, "type", "infiniband");
		else
			facts_set_str(o, "type", "unknown");
		if (i.type != 772 && strcmp(i.mac, "-") != 0 && strlen(i.mac) == 17)
			facts_set_str(o, "macaddress", i.mac);
		if (strcmp(speed, "-") != 0 && speed[0] != '-' && i.type != 772)
			json_object_set_new(o, "speed", json_integer(strtoll(speed, NULL, 10)));
		json_array_append_new(ifs, json_string(i.name));
		json_object_set_new(byname, i.name, o);
	}

	/* "2: eth0    inet 198.18.1.1/16 brd 198.18.255.255 scope global eth0\ …" */
	p = addr;
	while ((l = facts_line(&p)) != NULL) {
		char *save = NULL, *tok[64];
		size_t n = 0;

		for (char *t = strtok_r(l, " \t\\", &save); t != NULL && n < nitems(tok);
		     t = strtok_r(NULL, " \t\\", &save))
			tok[n++] = t;
		if (n < 4)
			continue;
		char *dev = tok[1];
		char *at = strchr(dev, '@');
		if (at != NULL)
			*at = '\0';
		json_t *o = json_object_get(byname, dev);
		char *slash = strchr(tok[3], '/');
		int prefix =
		    slash != NULL ? atoi(slash + 1) : (strcmp(tok[2], "inet") == 0 ? 32 : 128);
		const char *brd = "", *scope = "", *label = NULL;
		bool secondary = false;

		if (o == NULL)
			continue;
		if (slash != NULL)
			*slash = '\0';
		for (size_t k = 4; k + 1 < n; k++) {
			if (strcmp(tok[k], "brd") == 0)
				brd = tok[k + 1];
			else if (strcmp(tok[k], "scope") == 0)
				scope = tok[k + 1];
		}
		for (size_t k = 4; k < n; k++)
			if (strcmp(tok[k], "secondary") == 0)
				secondary = true;
		if (strcmp(tok[2], "inet") == 0) {
			char mask[INET_ADDRSTRLEN], netw[INET_ADDRSTRLEN], pfx[8];
			json_t *a;

			/* the label is the last token before valid_lft, when it is an alias */
			for (size_t k = 4; k < n; k++)
				if (strcmp(tok[k], "valid_lft") == 0 && k > 0 &&
				    strchr(tok[k - 1], ':') != NULL)
					label = tok[k - 1];
			facts_netmask(prefix, mask, sizeof(mask));
			facts_network(tok[3], prefix, netw, sizeof(netw));
			snprintf(pfx, sizeof(pfx), "%d", prefix);
			a = json_pack("{s:s,s:s,s:s,s:s,s:s}", "address", tok[3], "broadcast", brd,
			    "netmask", mask, "network", netw, "prefix", pfx);
			if (label != NULL) {
				/* An alias (eth0:1) is its own interface fact in Ansible. */
				json_t *alias = json_object_get(byname, label);

				if (alias == NULL) {
					alias = json_deep_copy(o);
					json_object_del(alias, "ipv4");
					json_object_del(alias, "ipv4_secondaries");
					json_object_del(alias, "ipv6");
					facts_set_str(alias, "device", label);
					json_object_set_new(byname, label, alias);
					json_array_append_new(ifs, json_string(label));
				}
				json_object_set(alias, "ipv4", a);
			}
			if (!secondary && json_object_get(o, "ipv4") == NULL) {
				json_object_set(o, "ipv4", a);
			} else {
				json_t *sec = json_object_get(o, "ipv4_secondaries");

				if (sec == NULL) {
					sec = json_array();
					json_object_set_new(o, "ipv4_secondaries", sec);
				}
				json_array_append(sec, a);
			}
			json_decref(a);
			if (strncmp(tok[3], "127.", 4) != 0)
				json_array_append_new(all4, json_string(tok[3]));
		} else if (strcmp(tok[2], "inet6") == 0) {
			char pfx[8];
			json_t *list = json_object_get(o, "ipv6");

			snprintf(pfx, sizeof(pfx), "%d", prefix);
			if (list == NULL) {
				list = json_array();
				json_object_set_new(o, "ipv6", list);
			}
			json_array_append_new(list,
			    json_pack("{s:s,s:s,s:s}", "address", tok[3], "prefix", pfx, "scope",
			        scope));
			if (strcmp(tok[3], "::1") != 0)
				json_array_append_new(all6, json_string(tok[3]));
		}
	}

	/* default_ipv4/ipv6: the interface's facts for the address the route would use. */
	for (int v6 = 0; v6 <= 1; v6++) {
		char gw[64], dev[64], src[64];
		json_t *d = json_object();
		json_t *o;

		facts_route(v6 ? r6 : r4, gw, dev, src, sizeof(gw));
		o = *dev != '\0' ? json_object_get(byname, dev) : NULL;
		if (o != NULL && *src != '\0') {
			facts_set_str(d, "interface", dev);
			facts_set_str(d, "address", src);
			if (*gw != '\0')
				facts_set_str(d, "gateway", gw);
			facts_set_str(d, "alias", dev);
			json_t *cand = json_object_get(o, v6 ? "ipv6" : "ipv4");
			json_t *match = NULL;

			if (v6) {
				size_t k;
				json_t *e;

				json_array_foreach(cand, k,
				    e) if (strcmp(json_string_value(json_object_get(e, "address")),
				               src) == 0) match = e;
			} else {
				match = cand;
			}
			if (match != NULL)
				json_object_update(d, match);
			facts_set_str(d, "address", src);
			static const char *const copy[] = {"macaddress", "mtu", "type"};
			for (size_t k = 0; k < nitems(copy); k++)
				if (json_object_get(o, copy[k]) != NULL)
					json_object_set(d, copy[k], json_object_get(o, copy[k]));
		}
		json_object_set_new(f, v6 ? "default_ipv6" : "default_ipv4", d);
	}

	const char *name;
	json_t *o;
	json_object_foreach(byname, name, o)
	{
		_cleanup_free_ char *k = facts_if_key(name);

		json_object_set(f, k, o);
	}
	json_decref(byname);
	json_object_set_new(f, "interfaces", ifs);
	json_object_set_new(f, "all_ipv4_addresses", all4);
	json_object_set_new(f, "all_ipv6_addresses", all6);
}

/* mounts: Ansible lists mounts of real devices (starting with '/') with statvfs sizes. */
static void
facts_parse_mounts(const struct facts_out *fo, json_t *f)
{
	_cleanup_free_ char *m = facts_section(fo, "mounts");
	_cleanup_free_ char *sf = facts_section(fo, "statfs");
	_cleanup_free_ char *uu = facts_section(fo, "uuids");
	json_t *list = json_array();
	char *p = m, *l;

	while ((l = facts_line(&p)) != NULL) {
		char dev[512], mp[512], fstype[64], opts[1024];
		int dump = 0, pass = 0;

		if (sscanf(l, "%511s %511s %63s %1023s %d %d", dev, mp, fstype, opts, &dump,
		        &pass) < 4)
			continue;
		if ((dev[0] != '/' && strstr(dev, ":/") == NULL) || strcmp(fstype, "none") == 0)
			continue;
		/* /proc/mounts escapes space, tab, newline and backslash as \ooo */
		for (char *r = mp, *w = mp;; r++, w++) {
			if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' &&
			    r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
				*w = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
				r += 3;
			} else {
				*w = *r;
			}
			if (*r == '\0')
				break;
		}
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:s}", "mount", mp, "device", dev,
		    "fstype", fstype, "options", opts, "dump", dump, "passno", pass, "uuid",
		    "N/A");
		/* statfs lines: "MOUNT|bsize|frsize|blocks|bfree|bavail|files|ffree" */
		char *q = sf, *sl;
		_cleanup_free_ char *sfc = sf != NULL ? xstrdup(sf) : NULL;
		q = sfc;
		while ((sl = facts_line(&q)) != NULL) {
			char *bar = strrchr(sl, '|');
			long long v[7];
			int k = 6;

			/* fields from the right, so a '|' in the mount point is harmless */
			while (bar != NULL && k >= 0) {
				v[k--] = strtoll(bar + 1, NULL, 10);
				*bar = '\0';
				bar = k >= 0 ? strrchr(sl, '|') : NULL;
			}
			if (k != -1 || strcmp(sl, mp) != 0)
				continue;
			json_object_set_new(o, "block_size", json_integer(v[0]));
			json_object_set_new(o, "block_total", json_integer(v[2]));
			json_object_set_new(o, "block_available", json_integer(v[4]));
			json_object_set_new(o, "block_used", json_integer(v[2] - v[3]));
			json_object_set_new(o, "size_total", json_integer(v[1] * v[2]));
			json_object_set_new(o, "size_available", json_integer(v[1] * v[4]));
			json_object_set_new(o, "inode_total", json_integer(v[5]));
			json_object_set_new(o, "inode_available", json_integer(v[6]));
			json_object_set_new(o, "inode_used", json_integer(v[5] - v[6]));
			break;
		}
		/* uuids: `ls -l` lines "… UUID -> ../../vda1" */
		char *u = uu;
		_cleanup_free_ char *uuc = uu != NULL ? xstrdup(uu) : NULL;
		u = uuc;
		while ((sl = facts_line(&u)) != NULL) {
			char *arrow = strstr(sl, " -> ");
			const char *base = strrchr(dev, '/');

			if (arrow == NULL || base == NULL)
				continue;
			const char *target = strrchr(arrow + 4, '/');
			target = target != NULL ? target + 1 : arrow + 4;
			if (strcmp(target, base + 1) != 0)
				continue;
			*arrow = '\0';
			char *sp = strrchr(sl, ' ');
			facts_set_str(o, "uuid", sp != NULL ? sp + 1 : sl);
			break;
		}
		json_array_append_new(list, o);
	}
	json_object_set_new(f, "mounts", list);
}

/* service_mgr as ansible-core's ServiceMgrFactCollector decides it on Linux. */
static void
facts_parse_service_mgr(const struct facts_out *fo, json_t *f)
{
	_cleanup_free_ char *s = facts_section(fo, "init");
	char *p = s, *l;
	char comm[64] = "";
	bool run_systemd = false, openrc = false, initd = false, etc_init = false;
	bool systemctl = false, initctl = false, init_systemd = false;

	while ((l = facts_line(&p)) != NULL) {
		if (str_has_prefix(l, "comm "))
			str_copy(comm, l + 5, sizeof(comm));
		else if (strcmp(l, "exists /run/systemd/system") == 0 ||
		    strcmp(l, "exists /dev/.run/systemd") == 0 ||
		    strcmp(l, "exists /dev/.systemd") == 0)
			run_systemd = true;
		else if (strcmp(l, "exists /sbin/openrc") == 0)
			openrc = true;
		else if (strcmp(l, "exists /etc/init.d") == 0)
			initd = true;
		else if (strcmp(l, "exists /etc/init") == 0)
			etc_init = true;
		else if (strcmp(l, "has_systemctl") == 0)
			systemctl = true;
		else if (strcmp(l, "has_initctl") == 0)
			initctl = true;
		else if (str_has_prefix(l, "init_link ") && str_has_suffix(l, "systemd"))
			init_systemd = true;
	}
	str_trim(comm);
	/* "init" cannot be trusted; a name ending in "sh" is a shell in a container. */
	if (*comm != '\0' && strcmp(comm, "init") != 0 && !str_has_suffix(comm, "sh"))
		facts_set_str(f, "service_mgr", comm);
	else if (systemctl && run_systemd)
		facts_set_str(f, "service_mgr", "systemd");
	else if (initctl && etc_init)
		facts_set_str(f, "service_mgr", "upstart");
	else if (openrc)
		facts_set_str(f, "service_mgr", "openrc");
	else if (systemctl && init_systemd)
		facts_set_str(f, "service_mgr", "systemd");
	else if (initd)
		facts_set_str(f, "service_mgr", "sysvinit");
	else
		facts_set_str(f, "service_mgr", "service");
}

/* DMI product names, vendors and CPU names that name a hypervisor (Ansible's tables). */
static const struct {
	const char *prefix; /* "product_name KVM" etc. */
	const char *type;
} facts_virt_hints[] = {
    {"dmi_product_name KVM", "kvm"},
    {"dmi_product_name Bochs", "kvm"},
    {"dmi_product_name AHV", "kvm"},
    {"dmi_product_name OpenStack", "openstack"},
    {"dmi_product_name RHEV Hypervisor", "RHEV"},
    {"dmi_product_name VMware", "VMware"},
    {"dmi_product_name VirtualBox", "virtualbox"},
    {"dmi_product_name HVM domU", "xen"},
    {"dmi_product_name Parallels", "parallels"},
    {"dmi_product_name Virtual Machine", "VirtualPC"},
    {"dmi_bios_vendor Xen", "xen"},
    {"dmi_bios_vendor innotek GmbH", "virtualbox"},
    {"dmi_bios_vendor Amazon EC2", "kvm"},
    {"dmi_sys_vendor QEMU", "kvm"},
    {"dmi_sys_vendor Amazon EC2", "kvm"},
    {"dmi_sys_vendor oVirt", "oVirt"},
    {"dmi_sys_vendor Microsoft Corporation", "VirtualPC"},
    {"dmi_sys_vendor Parallels Software International Inc.", "parallels"},
    {"dmi_sys_vendor OpenStack Foundation", "openstack"},
    {"cpu model name\t: QEMU Virtual CPU", "kvm"},
    {"cpu model name\t: Common KVM processor", "kvm"},
    {"cpu vendor_id\t: User Mode Linux", "uml"},
};

/* virtualization_type and virtualization_role, in ansible-core's LinuxVirtual order. */
static void
facts_parse_virt(const struct facts_out *fo, json_t *f)
{
	_cleanup_free_ char *virt = facts_section(fo, "virt");
	_cleanup_free_ char *cpu = facts_section(fo, "cpuinfo");
	_cleanup_free_ char *s = NULL;
	char type[64] = "", role[16] = "NA";
	struct buf all = BUF_INIT(0);
	char *p, *l;

	/* the virt section, then the first CPU's vendor and model as "cpu …" lines */
	buf_adds(&all, virt != NULL ? virt : "");
	p = cpu;
	for (int seen = 0; (l = facts_line(&p)) != NULL && seen < 2;)
		if (str_has_prefix(l, "vendor_id") || str_has_prefix(l, "model name")) {
			buf_addf(&all, "cpu %s\n", l);
			seen++;
		}
	s = buf_steal(&all);
	p = s;
	bool kvm_dev = false, hv_flag = false;

	while ((l = facts_line(&p)) != NULL && *type == '\0') {
		const char *t = NULL;

		if (str_has_prefix(l, "cgroup ")) {
			if (strstr(l, "/docker") != NULL)
				t = "docker";
			else if (strstr(l, "/lxc/") != NULL || strstr(l, "machine-lxc") != NULL)
				t = "lxc";
			else if (strstr(l, "/system.slice/containerd.service") != NULL)
				t = "containerd";
		} else if (str_has_prefix(l, "environ container=")) {
			t = l + strlen("environ container=");
			if (strcmp(t, "oci") == 0)
				t = "podman";
		} else if (strcmp(l, "exists /proc/vz") == 0) {
			t = "openvz";
		} else if (str_has_prefix(l, "systemd_container ")) {
			t = "container";
		} else if (strcmp(l, "exists /.dockerenv") == 0) {
			t = "docker";
		} else if (strcmp(l, "exists /run/.containerenv") == 0) {
			t = "podman";
		} else if (strcmp(l, "exists /proc/xen") == 0) {
			t = "xen";
		} else if (strcmp(l, "exists /dev/kvm") == 0) {
			kvm_dev = true;
		} else if (strcmp(l, "hypervisor_flag") == 0) {
			hv_flag = true;
		} else {
			for (size_t i = 0; i < nitems(facts_virt_hints); i++)
				if (str_has_prefix(l, facts_virt_hints[i].prefix)) {
					t = facts_virt_hints[i].type;
					break;
				}
		}
		if (t != NULL) {
			str_copy(type, t, sizeof(type));
			str_copy(role, "guest", sizeof(role));
		}
	}
	if (*type == '\0' && hv_flag) {
		str_copy(type, "NA", sizeof(type)); /* a guest of a hypervisor we cannot name */
		str_copy(role, "guest", sizeof(role));
	} else if (*type == '\0' && kvm_dev) {
		str_copy(type, "kvm", sizeof(type));
		str_copy(role, "host", sizeof(role));
	} else if (*type == '\0') {
		str_copy(type, "NA", sizeof(type));
	}
	facts_set_str(f, "virtualization_type", type);
	facts_set_str(f, "virtualization_role", role);
}

/* Parse the facts script's output into facts without the ansible_ prefix. */
int
facts_parse(const char *text, size_t len, json_t **ret, struct dr_error *err)
{
	struct facts_out fo;
	json_t *f;

	facts_split(text, len, &fo);
	if (fo.n == 0 || strncmp(fo.sec[fo.n - 1].name, "end\n", 4) != 0)
		return dr_error_set(err, "the facts script's output is incomplete");
	f = json_object();
	facts_parse_os(&fo, f);
	facts_parse_uname(&fo, f);
	facts_parse_user(&fo, f);
	facts_parse_date(&fo, f);
	facts_parse_hw(&fo, f);
	facts_parse_net(&fo, f);
	facts_parse_mounts(&fo, f);
	facts_parse_service_mgr(&fo, f);
	facts_parse_virt(&fo, f);
	json_object_set_new(f, "gather_subset", json_pack("[s]", "all"));
	*ret = f;
	return 0;
}

/* Gather facts from a connected host in one round trip. */
int
facts_gather(const struct conn_backend *b, void *state, const char *subset, json_t **ret,
    struct dr_error *err)
{
	struct conn_result r = {0};
	int rc;

	if (b->exec(state, "/bin/sh -s", facts_script, sizeof(facts_script) - 1, FACTS_TIMEOUT, &r,
	        err) < 0)
		return -1;
	rc = facts_parse(r.out, r.out_len, ret, err);
	if (rc == 0 && subset != NULL && *subset != '\0')
		json_object_set_new(*ret, "gather_subset", json_pack("[s]", subset));
	free(r.out);
	free(r.err);
	return rc;
}
