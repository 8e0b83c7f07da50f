/*
 * bootfiles.c - boot loaders from Debian packages in the TFTP root, and confined opens.
 * The files come from the installed packages, or from .debs that are unpacked (never
 * installed: shim-signed's and grub-efi-amd64-signed's maintainer scripts act on the
 * machine's own boot loader), fetched with apt-get download when asked. Each file is
 * checked against its package's md5sums before it is placed.
 */
#define LOG_COMPONENT "pxe"
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pxe/pxe.h"

#define PXE_BOOTFILE_MAX (64u << 20)
#define PXE_BOOTFILE_MD5SUMS_MAX (4u << 20)
#define PXE_BOOTFILE_OUTPUT_MAX (64u << 10)
#define PXE_BOOTFILE_DEBS_MAX 64
#define PXE_BOOTFILE_STAMP ".drover-debs" /* in an unpacked tree: what it was made from */
#define PXE_BOOTFILE_STAMP_MAX (64u << 10)

/* Where Debian's packages put each boot loader, and its name in the TFTP root. */
static const struct pxe_bootfile pxe_bootfile_table[] = {
    {"/usr/lib/ipxe/undionly.kpxe", "undionly.kpxe", "ipxe"},
    {"/usr/lib/ipxe/ipxe.efi", "ipxe.efi", "ipxe"},
    {"/usr/lib/ipxe/ipxe.lkrn", "ipxe.lkrn", "ipxe"},
    {"/usr/lib/ipxe/snponly.efi", "snponly.efi", "ipxe"},
    {"/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi", "syslinux.efi", "syslinux-efi"},
    {"/usr/lib/syslinux/modules/efi64/ldlinux.e64", "ldlinux.e64", "syslinux-common"},
    {"/usr/lib/PXELINUX/pxelinux.0", "pxelinux.0", "pxelinux"},
    {"/usr/lib/PXELINUX/lpxelinux.0", "lpxelinux.0", "pxelinux"},
    {"/usr/lib/syslinux/modules/bios/ldlinux.c32", "ldlinux.c32", "syslinux-common"},
    {"/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed", "grubx64.efi",
        "grub-efi-amd64-signed"},
    {"/usr/lib/shim/shimx64.efi.signed", "shimx64.efi", "shim-signed"},
    /* shim starts MokManager when a key enrolment is pending; it sits next to shim. */
    {"/usr/lib/shim/mmx64.efi.signed", "mmx64.efi", "shim-helpers-amd64-signed"},
};

/*
 * Debian's signed grubnetx64 has the prefix /grub (on the TFTP server it came from) and
 * an embedded configuration that sources $prefix/grub.cfg, without looking for a per-MAC
 * file itself. This one turns GRUB's net_default_mac (52:54:00:12:34:56) into the name of
 * the file droverd makes for each host, grub.cfg-01-52-54-00-12-34-56, and hands over to
 * it. A machine droverd has no host for gets grub.cfg-discovery, which droverd serves
 * when discovery is on (a discovery image in the TFTP root): it boots that image at once
 * (sourced, so its commands run here, with $net_default_mac at hand); else, or when the
 * image does not boot, the machine goes on to the firmware's next boot option.
 */
static const char pxe_bootfiles_grub_cfg[] =
    "# Drover: GRUB's per-host configuration is grub.cfg-01-<mac> next to this file.\n"
    "regexp --set=1:m1 --set=2:m2 --set=3:m3 --set=4:m4 --set=5:m5 --set=6:m6 "
    "'^([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):"
    "([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})$' \"$net_default_mac\"\n"
    "configfile \"$prefix/grub.cfg-01-$m1-$m2-$m3-$m4-$m5-$m6\"\n"
    "source \"$prefix/grub.cfg-discovery\"\n"
    "echo \"Drover has no boot configuration for $net_default_mac: trying the next boot "
    "option\"\n"
    "sleep 3\n"
    "exit\n";

/* One boot-files installation at a time (API, jobs and start share the work directory). */
static pthread_mutex_t pxe_bootfiles_lock = PTHREAD_MUTEX_INITIALIZER;

/* The boot-file table. */
const struct pxe_bootfile *
pxe_bootfiles(size_t *ret_n)
{
	*ret_n = nitems(pxe_bootfile_table);
	return pxe_bootfile_table;
}

/* Open rel beneath root: openat2 with RESOLVE_BENEATH refuses "..", absolute symlinks
 * and anything else that would leave the root (EXDEV). */
int
pxe_bootfiles_open(const char *root, const char *rel)
{
	struct open_how how = {
	    .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int dfd, fd, saved;

	dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof how);
	saved = errno;
	close(dfd);
	errno = saved;
	return fd;
}

/* Remove one entry of a tree (nftw callback, depth first). */
static int
pxe_bootfiles_rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* Remove a directory tree; a missing one is fine. */
static int
pxe_bootfiles_rmtree(const char *dir, struct dr_error *err)
{
	if (access(dir, F_OK) < 0 && errno == ENOENT)
		return 0;
	if (nftw(dir, pxe_bootfiles_rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		return dr_error_errno(err, "removing %s", dir);
	return 0;
}

/*
 * Run argv in cwd; its output (the last PXE_BOOTFILE_OUTPUT_MAX bytes) in *out, and in
 * job's output when job is not NULL (cancelling the job stops it). Killed after
 * timeout_s. 0 when it exits 0; -1 with err naming the command and, when it failed, its
 * errors (apt's "E: " lines) or else its last line of output.
 */
static int
pxe_bootfiles_run(const char *cwd, const char *const *argv, int timeout_s, struct job *job,
    struct buf *out, struct dr_error *err)
{
	const struct proc_opts o = {.cwd = cwd,
	    .timeout_s = timeout_s,
	    .job = job,
	    .tail = out,
	    .tail_max = PXE_BOOTFILE_OUTPUT_MAX};
	_cleanup_free_ char *text = NULL, *msg = NULL;
	struct buf errors = BUF_INIT(0);
	const char *tail = "";
	char *line, *save = NULL;
	int r = proc_run(argv, &o, err);

	if (r != PROC_FAILED)
		return r;
	/* apt's errors ("E: Failed to fetch <url>  Hash Sum mismatch") name the URL; the
	 * lines after them do not. Those, else the last line. */
	text = xstrdup(out->data != NULL ? out->data : "");
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		line = str_trim(line);
		if (str_has_prefix(line, "E: "))
			buf_addf(&errors, "%s%s", errors.len > 0 ? "; " : "", line + 3);
		if (*line != '\0')
			tail = line;
	}
	if (errors.len > 0 || *tail != '\0') {
		msg = xstrdup(err->msg);
		dr_error_set(err, "%s: %s", msg, errors.len > 0 ? errors.data : tail);
	}
	buf_free(&errors);
	return -1;
}

/* Whether pkg is one whose files the table names. */
static bool
pxe_bootfiles_wanted(const char *pkg)
{
	size_t i;

	for (i = 0; i < nitems(pxe_bootfile_table); i++)
		if (strcmp(pxe_bootfile_table[i].package, pkg) == 0)
			return true;
	return false;
}

/* The .debs in dir, sorted by name; caller frees with json_decref. */
static int
pxe_bootfiles_debs(const char *dir, json_t **ret, struct dr_error *err)
{
	struct dirent **list = NULL;
	json_t *debs = json_array();
	int n, i;

	if ((n = scandir(dir, &list, NULL, alphasort)) < 0) {
		json_decref(debs);
		return dr_error_errno(err, "%s", dir);
	}
	for (i = 0; i < n; i++) {
		if (str_has_suffix(list[i]->d_name, ".deb") && list[i]->d_name[0] != '.')
			json_array_append_new(debs, json_sprintf("%s/%s", dir, list[i]->d_name));
		free(list[i]);
	}
	free(list);
	*ret = debs;
	return 0;
}

/* What an unpacked tree was made from: each .deb's path, size and modification time;
 * NULL when one cannot be read. */
static char *
pxe_bootfiles_stamp(const json_t *files)
{
	struct buf b = BUF_INIT(0);
	const json_t *f;
	struct stat st;
	size_t i;

	json_array_foreach(files, i, f)
	{
		if (stat(json_string_value(f), &st) < 0) {
			buf_free(&b);
			return NULL;
		}
		buf_addf(&b, "%s %lld %lld.%09ld\n", json_string_value(f), (long long)st.st_size,
		    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	}
	return buf_steal(&b);
}

/* Unpack the .debs of the table's packages found in debs into dest (made afresh), unless
 * dest's stamp says it was made from these. */
int
pxe_bootfiles_unpack(const char *debs, const char *dest, struct dr_error *err)
{
	_cleanup_json_ json_t *files = NULL, *pkgs = json_object();
	_cleanup_free_ char *tmp = xasprintf("%s.new", dest);
	_cleanup_free_ char *info = xasprintf("%s/var/lib/dpkg/info", tmp);
	_cleanup_free_ char *stamp = NULL, *old = NULL, *stamp_path = NULL;
	struct dr_error ignored;
	size_t i, len;
	json_t *f;

	if (pxe_bootfiles_debs(debs, &files, err) < 0)
		return -1;
	if (json_array_size(files) > PXE_BOOTFILE_DEBS_MAX)
		return dr_error_set(
		    err, "%s: more than %d .deb files", debs, PXE_BOOTFILE_DEBS_MAX);
	stamp = pxe_bootfiles_stamp(files);
	stamp_path = xasprintf("%s/" PXE_BOOTFILE_STAMP, dest);
	if (stamp != NULL &&
	    file_read(stamp_path, PXE_BOOTFILE_STAMP_MAX, &old, &len, &ignored) == 0 &&
	    strcmp(old, stamp) == 0)
		return 0;
	if (pxe_bootfiles_rmtree(tmp, err) < 0 || file_mkdirs(info, 0755, err) < 0)
		return -1;
	json_array_foreach(files, i, f)
	{
		const char *deb = json_string_value(f);
		_cleanup_free_ char *ctl = NULL, *md5 = NULL, *md5dst = NULL;
		struct buf out = BUF_INIT(PXE_BOOTFILE_OUTPUT_MAX);
		char pkg[128] = "", ver[128] = "";
		const char *const field[] = {"dpkg-deb", "-f", deb, "Package", "Version", NULL};
		const char *const x[] = {"dpkg-deb", "-x", deb, tmp, NULL};
		char *line, *save = NULL;
		int r;

		r = pxe_bootfiles_run(NULL, field, 60, NULL, &out, err);
		for (line = strtok_r(out.data != NULL ? out.data : "", "\n", &save);
		     r == 0 && line != NULL; line = strtok_r(NULL, "\n", &save)) {
			if (str_has_prefix(line, "Package: "))
				str_copy(pkg, line + 9, sizeof pkg);
			else if (str_has_prefix(line, "Version: "))
				str_copy(ver, line + 9, sizeof ver);
		}
		buf_free(&out);
		if (r < 0) {
			dr_error_prefix(err, "%s: ", deb);
			return -1;
		}
		if (*pkg == '\0' || !pxe_bootfiles_wanted(pkg))
			continue;
		if (json_object_get(pkgs, pkg) != NULL)
			return dr_error_set(err, "%s: two versions of %s (%s and %s): keep one",
			    debs, pkg, json_string_value(json_object_get(pkgs, pkg)), ver);
		/* The files, and the package's md5sums where dpkg keeps them, so that the
		 * files are checked the same way as an installed package's. */
		ctl = xasprintf("%s/.control-%s", tmp, pkg);
		{
			const char *const e[] = {"dpkg-deb", "-e", deb, ctl, NULL};
			out = BUF_INIT(PXE_BOOTFILE_OUTPUT_MAX);
			r = pxe_bootfiles_run(NULL, x, 120, NULL, &out, err);
			if (r == 0)
				r = pxe_bootfiles_run(NULL, e, 60, NULL, &out, err);
			buf_free(&out);
		}
		if (r < 0) {
			dr_error_prefix(err, "%s: ", deb);
			return -1;
		}
		md5 = xasprintf("%s/md5sums", ctl);
		md5dst = xasprintf("%s/%s.md5sums", info, pkg);
		if (rename(md5, md5dst) < 0)
			return dr_error_errno(err, "%s: no md5sums in the package", deb);
		if (pxe_bootfiles_rmtree(ctl, err) < 0)
			return -1;
		json_object_set_new(pkgs, pkg, json_string(ver));
	}
	if (stamp != NULL) {
		_cleanup_free_ char *p = xasprintf("%s/" PXE_BOOTFILE_STAMP, tmp);

		if (file_write_atomic(p, stamp, strlen(stamp), 0644, err) < 0)
			return -1;
	}
	if (pxe_bootfiles_rmtree(dest, err) < 0)
		return -1;
	if (rename(tmp, dest) < 0)
		return dr_error_errno(err, "%s", dest);
	return 0;
}

/* Whether every file the table takes from pkg is on this machine (pkg is installed). */
static bool
pxe_bootfiles_installed(const char *pkg)
{
	size_t i;

	for (i = 0; i < nitems(pxe_bootfile_table); i++)
		if (strcmp(pxe_bootfile_table[i].package, pkg) == 0 &&
		    access(pxe_bootfile_table[i].source, R_OK) < 0)
			return false;
	return true;
}

/* Fetch the table's packages that are not installed (the candidate versions apt knows)
 * into dir; 0 when every one is installed. */
int
pxe_bootfiles_download(const char *dir, struct job *job, struct dr_error *err)
{
	_cleanup_json_ json_t *old = NULL;
	const char *argv[4 + nitems(pxe_bootfile_table)];
	struct buf out = BUF_INIT(PXE_BOOTFILE_OUTPUT_MAX);
	size_t i, n = 0, j;
	json_t *f;
	int r;

	if (file_mkdirs(dir, 0755, err) < 0 || pxe_bootfiles_debs(dir, &old, err) < 0)
		return -1;
	/* A fresh set: an older version left here would be a second one. */
	json_array_foreach(old, j, f)
	{
		if (unlink(json_string_value(f)) < 0)
			return dr_error_errno(err, "%s", json_string_value(f));
	}
	argv[n++] = "apt-get";
	argv[n++] = "download";
	argv[n++] = "-q";
	for (i = 0; i < nitems(pxe_bootfile_table); i++) {
		for (j = 3; j < n; j++)
			if (strcmp(argv[j], pxe_bootfile_table[i].package) == 0)
				break;
		if (j == n && !pxe_bootfiles_installed(pxe_bootfile_table[i].package))
			argv[n++] = pxe_bootfile_table[i].package;
	}
	argv[n] = NULL;
	if (n == 3) {
		if (job != NULL)
			job_printf(
			    job, "every boot-loader package is installed: nothing to download\n");
		return 0;
	}
	if (job != NULL) {
		job_printf(job, "apt-get download into %s:", dir);
		for (j = 3; j < n; j++)
			job_printf(job, " %s", argv[j]);
		job_printf(job, "\n");
	}
	/* Without a job: within the CLI's 60 s. */
	r = pxe_bootfiles_run(
	    dir, argv, job != NULL ? PXE_BOOTFILE_DOWNLOAD_S : 50, job, &out, err);
	buf_free(&out);
	return r;
}

/* The MD5 of data as hex. */
static void
pxe_bootfiles_md5(const char *data, size_t len, char hex[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL) != 1)
		fatalx("EVP_Digest(md5) failed");
	for (i = 0; i < mdlen && i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/*
 * The MD5 the package's md5sums (in source/var/lib/dpkg/info, as dpkg keeps them, or
 * as pxe_bootfiles_unpack leaves them) lists for path: 1 with hex, 0 when there is no
 * list or the path is not in it.
 */
static int
pxe_bootfiles_listed_md5(const char *source, const struct pxe_bootfile *b, char hex[33])
{
	static const char *const arch[] = {"", ":amd64"};
	const char *rel = b->source + 1;
	size_t i, rl = strlen(rel);

	for (i = 0; i < nitems(arch); i++) {
		_cleanup_free_ char *path = xasprintf("%s/var/lib/dpkg/info/%s%s.md5sums",
		    strcmp(source, "/") == 0 ? "" : source, b->package, arch[i]);
		_cleanup_free_ char *text = NULL;
		struct dr_error ignored;
		char *line, *save = NULL;
		size_t len;

		if (file_read(path, PXE_BOOTFILE_MD5SUMS_MAX, &text, &len, &ignored) < 0)
			continue;
		for (line = strtok_r(text, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			/* "<md5>  usr/lib/shim/shimx64.efi.signed" */
			if (strlen(line) == 34 + rl && line[32] == ' ' && line[33] == ' ' &&
			    strcmp(line + 34, rel) == 0) {
				memcpy(hex, line, 32);
				hex[32] = '\0';
				return 1;
			}
		}
	}
	return 0;
}

/*
 * Place one table entry from the first source that has it: checked against its package's
 * md5sums (a mismatch is an error: the file is not what Debian shipped), written when the
 * root's copy differs. 1 placed (or already there), 0 no source has it, -1 error.
 */
static int
pxe_bootfiles_place(const char *root, const char *const *sources, const struct pxe_bootfile *b,
    json_t *report, struct dr_error *err)
{
	_cleanup_free_ char *data = NULL, *old = NULL, *src = NULL, *dst = NULL;
	size_t len, oldlen, i;
	char got[33], want[33];
	struct dr_error ignored;
	int listed = 0;

	for (i = 0; sources[i] != NULL; i++) {
		free(src);
		src = strcmp(sources[i], "/") == 0 ? xstrdup(b->source)
		                                   : xasprintf("%s%s", sources[i], b->source);
		if (access(src, R_OK) == 0)
			break;
	}
	if (sources[i] == NULL)
		return 0;
	if (file_read(src, PXE_BOOTFILE_MAX, &data, &len, err) < 0)
		return -1;
	pxe_bootfiles_md5(data, len, got);
	if ((listed = pxe_bootfiles_listed_md5(sources[i], b, want)) == 1 &&
	    strcmp(got, want) != 0)
		return dr_error_set(err,
		    "%s: MD5 %s, but package %s lists %s: not the file Debian shipped", src, got,
		    b->package, want);
	dst = xasprintf("%s/%s", root, b->name);
	if (file_read(dst, PXE_BOOTFILE_MAX, &old, &oldlen, &ignored) < 0 || oldlen != len ||
	    memcmp(old, data, len) != 0) {
		if (file_write_atomic(dst, data, len, 0644, err) < 0)
			return -1;
	}
	if (report != NULL)
		json_object_set_new(report, b->name,
		    json_pack("{s:s, s:s, s:s, s:s}", "package", b->package, "source", src, "md5",
		        got, "md5sums", listed == 1 ? "verified" : "not listed"));
	return 1;
}

/* Place the boot loaders and GRUB's per-MAC hand-over in root. */
static int
pxe_bootfiles_place_all(const char *root, const char *const *sources, json_t *report,
    char **ret_missing, struct dr_error *err)
{
	_cleanup_free_ char *grub = xasprintf("%s/grub", root);
	_cleanup_free_ char *cfg = xasprintf("%s/grub/grub.cfg", root), *old = NULL;
	struct buf missing = BUF_INIT(4096);
	struct dr_error ignored;
	size_t i, oldlen;
	int placed = 0, r;

	if (file_mkdirs(root, 0755, err) < 0)
		return -1;
	for (i = 0; i < nitems(pxe_bootfile_table); i++) {
		const struct pxe_bootfile *b = &pxe_bootfile_table[i];

		r = pxe_bootfiles_place(root, sources, b, report, err);
		if (r < 0) {
			buf_free(&missing);
			return -1;
		}
		if (r == 1)
			placed++;
		else if (missing.data == NULL || strstr(missing.data, b->package) == NULL)
			buf_addf(&missing, "%s%s", missing.len > 0 ? " " : "", b->package);
	}
	if (file_mkdirs(grub, 0755, err) < 0 ||
	    ((file_read(cfg, PXE_BOOTFILE_MAX, &old, &oldlen, &ignored) < 0 ||
	         strcmp(old, pxe_bootfiles_grub_cfg) != 0) &&
	        file_write_atomic(
	            cfg, pxe_bootfiles_grub_cfg, strlen(pxe_bootfiles_grub_cfg), 0644, err) < 0)) {
		buf_free(&missing);
		return -1;
	}
	if (ret_missing != NULL)
		*ret_missing = missing.len > 0 ? buf_steal(&missing) : NULL;
	buf_free(&missing);
	return placed;
}

/* Whether dir holds a .deb. */
static bool
pxe_bootfiles_has_debs(const char *dir)
{
	_cleanup_json_ json_t *debs = NULL;
	struct dr_error ignored;

	return pxe_bootfiles_debs(dir, &debs, &ignored) == 0 && json_array_size(debs) > 0;
}

/* The sources, the download and the unpacking of o, then the files placed. */
static int
pxe_bootfiles_install_locked(
    const struct pxe_bootfiles_opts *o, json_t *report, char **ret_missing, struct dr_error *err)
{
	_cleanup_free_ char *debs = NULL, *tree = NULL;
	const char *sources[4];
	size_t n = 0;
	struct stat st;

	if (o->work != NULL) {
		debs = xasprintf("%s/debs", o->work);
		tree = xasprintf("%s/root", o->work);
	}
	if ((o->download || (o->from != NULL && pxe_bootfiles_has_debs(o->from))) &&
	    o->work == NULL)
		return dr_error_set(err, "no work directory to unpack packages in");
	if (o->download) {
		if (pxe_bootfiles_download(debs, o->job, err) < 0 ||
		    pxe_bootfiles_unpack(debs, tree, err) < 0)
			return -1;
	}
	if (o->from != NULL) {
		if (stat(o->from, &st) < 0)
			return dr_error_errno(err, "boot files from %s", o->from);
		if (!S_ISDIR(st.st_mode))
			return dr_error_set(err,
			    "boot files from %s: not a directory (of .debs, or an unpacked tree)",
			    o->from);
		if (pxe_bootfiles_has_debs(o->from)) {
			if (pxe_bootfiles_unpack(o->from, tree, err) < 0)
				return -1;
		} else {
			sources[n++] = o->from;
		}
	}
	if (tree != NULL && stat(tree, &st) == 0 && S_ISDIR(st.st_mode))
		sources[n++] = tree;
	sources[n++] = "/";
	sources[n] = NULL;
	return pxe_bootfiles_place_all(o->root, sources, report, ret_missing, err);
}

/* Place the boot loaders as o says. */
int
pxe_bootfiles_install(const struct pxe_bootfiles_opts *o, json_t **ret_report, char **ret_missing,
    struct dr_error *err)
{
	_cleanup_json_ json_t *report = json_object();
	int r;

	if (ret_missing != NULL)
		*ret_missing = NULL;
	if (o->job != NULL) {
		pthread_mutex_lock(&pxe_bootfiles_lock);
	} else if (pthread_mutex_trylock(&pxe_bootfiles_lock) != 0) {
		/* A request does not wait for a download's minutes. */
		dr_error_set(
		    err, "boot files for %s: another setup is running (a pxe_setup job)", o->root);
		return PXE_BOOTFILES_BUSY;
	}
	r = pxe_bootfiles_install_locked(o, report, ret_missing, err);
	pthread_mutex_unlock(&pxe_bootfiles_lock);
	if (r >= 0 && ret_report != NULL)
		*ret_report = json_incref(report);
	return r;
}

/* Copy the installed boot loaders into root. */
int
pxe_bootfiles_setup(const char *root, char **ret_missing, struct dr_error *err)
{
	struct pxe_bootfiles_opts o = {.root = root};

	return pxe_bootfiles_install(&o, NULL, ret_missing, err);
}
