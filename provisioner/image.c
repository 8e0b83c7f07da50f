/*
 * image.c - OS images for the image provision method: root file-system tarballs built
 * from Debian packages with mmdebstrap (a job, into <state>/images), served to installers
 * over HTTP with Range and a known SHA-256; and Drover's installer initramfs (a job that
 * runs the embedded installer.sh over the machine's own Debian packages).
 */
#define LOG_COMPONENT "provisioner"
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "provisioner/provisioner.h"
#include "pxe/pxe.h"
#include "repos/repos.h"

extern const char *const prov_seed_texts[][2];
extern const size_t prov_seed_ntexts;

/*
 * What every image holds besides the packages asked for: a kernel with its initramfs
 * generator (linux-image-amd64 is Debian's signed kernel), systemd as init with udev
 * (networkd waits for udev to own a link), an SSH server, and both boot loaders the image
 * template installs: extlinux for BIOS (one partition, no GRUB configuration to generate
 * offline) and GRUB for UEFI (grub-install from grub2-common, its x86_64-efi modules,
 * dosfstools for the EFI system partition), with the Secure Boot chain grub-install
 * --uefi-secure-boot places: shim signed by Microsoft's UEFI CA (shim-signed) and GRUB
 * signed by Debian (grub-efi-amd64-signed).
 */
static const char prov_image_base[] = "linux-image-amd64,initramfs-tools,systemd-sysv,udev,"
                                      "openssh-server,extlinux,grub-efi-amd64-bin,"
                                      "grub-efi-amd64-signed,shim-signed,grub2-common,"
                                      "dosfstools";

/* Run inside the new root before it is packed: no host keys, no machine id shared by
 * every host installed from the image (the installer makes both per host). */
static const char *const prov_image_hooks[] = {
    "--customize-hook=rm -f \"$1\"/etc/ssh/ssh_host_*_key \"$1\"/etc/ssh/ssh_host_*_key.pub",
    "--customize-hook=: > \"$1\"/etc/machine-id; rm -f \"$1\"/var/lib/dbus/machine-id",
};

#define PROV_IMAGE_ARGS_MAX 128
#define PROV_IMAGE_LOG_TAIL 2048 /* bytes of a failed build's output kept in "error" */
#define PROV_IMAGE_SOURCE_MAX (64ULL << 30) /* an imported disk image, as downloaded */

static char *prov_image_dir_path;

/* Where images are kept: <state>/images (made on first use); NULL without a state dir. */
int
prov_image_init(const char *state_dir, struct dr_error *err)
{
	free(prov_image_dir_path);
	prov_image_dir_path = NULL;
	if (state_dir == NULL)
		return 0;
	prov_image_dir_path = xasprintf("%s/images", state_dir);
	if (mkdir(prov_image_dir_path, 0755) < 0 && errno != EEXIST)
		return dr_error_errno(err, "images directory %s", prov_image_dir_path);
	return 0;
}

/* The images directory, or NULL. */
const char *
prov_image_dir(void)
{
	return prov_image_dir_path;
}

/* Whether s is a list of words of allowed characters, separated by commas or blanks;
 * first (may be NULL) the characters a word may start with. */
static bool
prov_image_words_ok(const char *s, const char *allowed, const char *first)
{
	bool start = true;

	for (; *s != '\0'; s++) {
		if (*s == ',' || *s == ' ') {
			start = true;
			continue;
		}
		if (start && first != NULL && strchr(first, *s) == NULL)
			return false;
		if (!isalnum((unsigned char)*s) && strchr(allowed, *s) == NULL)
			return false;
		start = false;
	}
	return true;
}

/* The bytes of an image's gpg_key: an armored key as it is, else base64 of binary
 * packets decoded; NULL (err set) when it is neither. Caller frees. */
static char *
prov_image_key_bytes(const char *key, size_t *ret_len, struct dr_error *err)
{
	unsigned char *out;

	if (strstr(key, "-----BEGIN PGP PUBLIC KEY BLOCK-----") != NULL) {
		*ret_len = strlen(key);
		return xstrdup(key);
	}
	if (strstr(key, "-----BEGIN PGP") != NULL) {
		dr_error_set(err, "gpg_key: an armored block that is not a public key");
		return NULL;
	}
	if ((out = base64_decode(key, strlen(key), ret_len)) == NULL || *ret_len == 0) {
		free(out);
		dr_error_set(err,
		    "gpg_key: neither an armored public key (-----BEGIN PGP PUBLIC KEY "
		    "BLOCK-----) nor base64 of a binary one");
		return NULL;
	}
	return (char *)out;
}

/* Read the image's gpg_key with gpgme: its binary keyring and fingerprints. */
static int
prov_image_key_read(
    const char *key, char **ret_bin, size_t *ret_len, char **ret_fprs, struct dr_error *err)
{
	_cleanup_free_ char *bytes = NULL;
	size_t len = 0;

	if ((bytes = prov_image_key_bytes(key, &len, err)) == NULL)
		return -1;
	return repo_sign_key_read(bytes, len, "gpg_key", ret_bin, ret_len, ret_fprs, err);
}

/* Whole-object checks: names that are file names, and no argument mmdebstrap would read
 * as something else (an option, a second sources line). */
int
prov_image_check(json_t *obj, struct dr_error *err)
{
	const char *name = json_string_value(json_object_get(obj, "name"));
	const char *suite = json_string_value(json_object_get(obj, "suite"));
	const char *mirror = json_string_value(json_object_get(obj, "mirror"));
	const char *comps = json_string_value(json_object_get(obj, "components"));
	const char *pkgs = json_string_value(json_object_get(obj, "packages"));
	const char *excl = json_string_value(json_object_get(obj, "exclude"));
	const char *format = json_string_value(json_object_get(obj, "format"));
	const char *src = json_string_value(json_object_get(obj, "source_url"));
	const char *srcsum = json_string_value(json_object_get(obj, "source_sha256"));
	const char *key = json_string_value(json_object_get(obj, "gpg_key"));
	const char *p;

	if (name == NULL || !isalnum((unsigned char)name[0]) || strlen(name) > 64)
		return dr_error_set(err,
		    "name: an image name starts with a letter or digit and "
		    "has at most 64 characters");
	for (p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL)
			return dr_error_set(err,
			    "name: '%c' is not allowed (letters, digits, "
			    "'.', '_', '-')",
			    *p);
	if (suite != NULL &&
	    (suite[0] == '\0' || suite[0] == '-' || !prov_image_words_ok(suite, ".-", NULL) ||
	        strchr(suite, ',') || strchr(suite, ' ')))
		return dr_error_set(
		    err, "suite: '%s' is not a suite name (bookworm, stable)", suite);
	if (mirror != NULL) {
		if (!str_has_prefix(mirror, "http://") && !str_has_prefix(mirror, "https://") &&
		    !str_has_prefix(mirror, "file:///") && !str_has_prefix(mirror, "copy:///"))
			return dr_error_set(err,
			    "mirror: '%s' is not an http://, https://, file:/// or copy:/// URL",
			    mirror);
		for (p = mirror; *p != '\0'; p++)
			if (isspace((unsigned char)*p) || !isprint((unsigned char)*p) ||
			    *p == '[' || *p == ']' || *p == '\'' || *p == '"')
				return dr_error_set(err,
				    "mirror: character %d is not allowed in a "
				    "URL here",
				    (int)(p - mirror) + 1);
	}
	if (comps != NULL && !prov_image_words_ok(comps, "-", NULL))
		return dr_error_set(err,
		    "components: '%s' is not a list of components (main "
		    "contrib)",
		    comps);
	if (pkgs != NULL &&
	    !prov_image_words_ok(pkgs, "+.-:",
	        "abcdefghijklmnopqrstuvwxyz"
	        "0123456789"))
		return dr_error_set(err,
		    "packages: '%s' is not a list of Debian package names (a,b or 'a b')", pkgs);
	if (src != NULL) {
		if (!str_has_prefix(src, "http://") && !str_has_prefix(src, "https://") &&
		    !str_has_prefix(src, "file:///"))
			return dr_error_set(err,
			    "source_url: '%s' is not an http://, https:// or file:/// URL", src);
		for (p = src; *p != '\0'; p++)
			if (isspace((unsigned char)*p) || !isprint((unsigned char)*p))
				return dr_error_set(err,
				    "source_url: character %d is not allowed in a URL here",
				    (int)(p - src) + 1);
		if (format != NULL && strcmp(format, "raw") != 0)
			return dr_error_set(err,
			    "format: an image imported from source_url is a raw disk image "
			    "(format raw), not %s",
			    format);
	}
	if (srcsum != NULL) {
		if (src == NULL)
			return dr_error_set(
			    err, "source_sha256: only an image with a source_url has one");
		if (strlen(srcsum) != 64 || strspn(srcsum, "0123456789abcdef") != 64)
			return dr_error_set(
			    err, "source_sha256: '%s' is not 64 lower-case hex digits", srcsum);
	}
	if (key != NULL && *key == '\0') {
		json_object_del(obj, "gpg_key");
		json_object_del(obj, "gpg_fingerprints");
	} else if (key != NULL) {
		_cleanup_free_ char *bin = NULL, *fprs = NULL;
		size_t len;

		if (prov_image_key_read(key, &bin, &len, &fprs, err) < 0)
			return -1;
		json_object_set_new(obj, "gpg_fingerprints", json_string(fprs));
	}
	if (excl != NULL) {
		bool start = true;

		for (p = excl; *p != '\0'; p++) {
			if (*p == ',') {
				start = true;
				continue;
			}
			if ((start && *p != '/') || isspace((unsigned char)*p) ||
			    !isprint((unsigned char)*p))
				return dr_error_set(err,
				    "exclude: '%s' is not a list of absolute path globs "
				    "(/usr/share/doc/*,...)",
				    excl);
			start = false;
		}
	}
	return 0;
}

/* Set the image's build state (read-only fields); logs nothing, audited as Drover. */
static void
prov_image_state(int64_t id, json_t *set, const char *action)
{
	struct dr_error err;

	if (prov_resource_set_internal(
	        prov_resource_find("image"), id, set, "(droverd)", NULL, action, &err) < 0)
		log_warnx("image %lld: %s", (long long)id, err.msg);
	json_decref(set);
}

/* Run argv in the job (its output into the job's, a cancel stops it); the end of the
 * output in *tail. */
static int
prov_image_spawn(struct job *job, const char *const *argv, struct buf *tail, struct dr_error *err)
{
	const struct proc_opts o = {.job = job, .tail = tail, .tail_max = PROV_IMAGE_LOG_TAIL};

	return proc_run(argv, &o, err) < 0 ? -1 : 0;
}

/* The SHA-256 of a file as hex, and its size. */
static int
prov_image_sha256(const char *path, char hex[65], off_t *ret_size, struct dr_error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx;
	char chunk[65536];
	off_t size = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return dr_error_errno(err, "%s", path);
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		fatalx("EVP_DigestInit_ex(sha256) failed");
	while ((r = read(fd, chunk, sizeof chunk)) > 0) {
		EVP_DigestUpdate(ctx, chunk, (size_t)r);
		size += r;
	}
	close(fd);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (r < 0)
		return dr_error_errno(err, "%s", path);
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	*ret_size = size;
	return 0;
}

/* Split a comma/blank list into argv-owned strings appended to list (prefix each). */
static void
prov_image_list_add(json_t *list, const char *s, const char *prefix)
{
	_cleanup_free_ char *copy = xstrdup(s != NULL ? s : "");
	char *save = NULL, *w;

	for (w = strtok_r(copy, ", ", &save); w != NULL; w = strtok_r(NULL, ", ", &save))
		json_array_append_new(list, json_sprintf("%s%s", prefix, w));
}

/* The file name suffix of an image's served file: a tarball or a compressed raw disk. */
static const char *
prov_image_suffix(const json_t *img)
{
	const char *format = json_string_value(json_object_get(img, "format"));

	return format != NULL && strcmp(format, "raw") == 0 ? ".raw.zst" : ".tar";
}

/* The embedded script called name (installer.sh, rawdisk.sh). */
static const char *
prov_image_script(const char *name)
{
	for (size_t i = 0; i < prov_seed_ntexts; i++)
		if (strcmp(prov_seed_texts[i][0], name) == 0)
			return prov_seed_texts[i][1];
	fatalx("%s is missing from the build", name);
}

/* Run the embedded rawdisk.sh with a mode and two paths. */
static int
prov_image_rawdisk(struct job *job, const char *mode, const char *in, const char *out,
    struct buf *tail, struct dr_error *err)
{
	const char *argv[] = {
	    "sh", "-c", prov_image_script("rawdisk.sh"), "rawdisk.sh", mode, in, out, NULL};

	return prov_image_spawn(job, argv, tail, err);
}

/* rm -rf path (a build's scratch tree). */
static void
prov_image_rmtree(struct job *job, const char *path)
{
	const char *argv[] = {"rm", "-rf", "--", path, NULL};
	struct buf tail = BUF_INIT(0);
	struct dr_error err;

	if (prov_image_spawn(job, argv, &tail, &err) < 0)
		log_warnx("%s", err.msg);
	buf_free(&tail);
}

/*
 * The keyring directory mmdebstrap's apt trusts for an image with a gpg_key: the machine's
 * own trusted parts (Debian's archive keys) and <name>.gpg, the image's key as a binary
 * keyring (apt reads .gpg and .asc files there). A new directory in /tmp, readable by all:
 * apt verifies as the _apt user, who may not enter droverd's state directory.
 */
static int
prov_image_keys_make(const json_t *img, char **ret_dir, struct dr_error *err)
{
	char tmpl[] = "/tmp/drover-image-keys-XXXXXX";
	const char *dir;
	const char *name = json_string_value(json_object_get(img, "name"));
	const char *key = json_string_value(json_object_get(img, "gpg_key"));
	_cleanup_free_ char *bin = NULL, *fprs = NULL, *path = NULL;
	const char *parts = "/etc/apt/trusted.gpg.d";
	struct dirent *de;
	size_t len = 0;
	DIR *d;

	if (prov_image_key_read(key, &bin, &len, &fprs, err) < 0)
		return dr_error_prefix(err, "image %s", name);
	if (mkdtemp(tmpl) == NULL)
		return dr_error_errno(err, "image %s: %s", name, tmpl);
	*ret_dir = xstrdup(tmpl);
	dir = *ret_dir;
	if (chmod(dir, 0755) < 0)
		return dr_error_errno(err, "%s", dir);
	if ((d = opendir(parts)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			_cleanup_free_ char *from = NULL, *to = NULL, *data = NULL;
			size_t n = 0;

			if (!str_has_suffix(de->d_name, ".gpg") &&
			    !str_has_suffix(de->d_name, ".asc"))
				continue;
			from = xasprintf("%s/%s", parts, de->d_name);
			to = xasprintf("%s/%s", dir, de->d_name);
			if (file_read(from, 1 << 20, &data, &n, err) < 0 ||
			    file_write_atomic(to, data, n, 0644, err) < 0) {
				closedir(d);
				return -1;
			}
		}
		closedir(d);
	}
	path = xasprintf("%s/%s.gpg", dir, name);
	return file_write_atomic(path, bin, len, 0644, err);
}

/* mmdebstrap the image into out: a tarball (--format=tar) or a directory tree; keys, when
 * not NULL, the keyring directory of its gpg_key (installed as trusted.gpg.d/<name>.gpg). */
static int
prov_image_mmdebstrap(struct job *job, const json_t *img, const char *format, const char *out,
    const char *keys, struct buf *tail, struct dr_error *err)
{
	_cleanup_json_ json_t *args = json_array();
	_cleanup_free_ char *include = NULL, *source = NULL, *fmt = NULL;
	const char *argv[PROV_IMAGE_ARGS_MAX + 1];
	char why[sizeof err->msg];
	const char *name = json_string_value(json_object_get(img, "name"));
	const char *suite = json_string_value(json_object_get(img, "suite"));
	const char *mirror = json_string_value(json_object_get(img, "mirror"));
	const char *comps = json_string_value(json_object_get(img, "components"));
	const char *pkgs = json_string_value(json_object_get(img, "packages"));
	size_t i, n = 0;
	json_t *a;

	suite = suite != NULL ? suite : "bookworm";
	mirror = mirror != NULL ? mirror : "http://deb.debian.org/debian";
	include = xasprintf("--include=%s%s%s", prov_image_base, pkgs != NULL ? "," : "",
	    pkgs != NULL ? pkgs : "");
	for (char *p = include; *p != '\0'; p++)
		if (*p == ' ')
			*p = ',';
	/* One sources.list line: components and, for unsigned repositories, trusted=yes. */
	{
		_cleanup_json_ json_t *cl = json_array();
		struct buf c = BUF_INIT(0);
		prov_image_list_add(cl, comps != NULL ? comps : "main", "");
		json_array_foreach(cl, i, a) buf_addf(&c, " %s", json_string_value(a));
		/* A file:/// mirror is on droverd's machine, which mmdebstrap's chroot cannot
		 * see: copy:// has mmdebstrap copy its .debs in. */
		source = xasprintf("deb %s%s%s %s%s",
		    json_is_true(json_object_get(img, "trusted")) ? "[trusted=yes] " : "",
		    str_has_prefix(mirror, "file:///") ? "copy://" : "",
		    mirror + (str_has_prefix(mirror, "file:///") ? strlen("file://") : 0), suite,
		    c.data);
		buf_free(&c);
	}
	fmt = xasprintf("--format=%s", format);
	json_array_append_new(args, json_string("mmdebstrap"));
	json_array_append_new(args, json_string("--variant=minbase"));
	json_array_append_new(args, json_string(fmt));
	json_array_append_new(args, json_string(include));
	for (i = 0; i < nitems(prov_image_hooks); i++)
		json_array_append_new(args, json_string(prov_image_hooks[i]));
	prov_image_list_add(
	    args, json_string_value(json_object_get(img, "exclude")), "--dpkgopt=path-exclude=");
	if (keys != NULL) {
		/* apt of mmdebstrap trusts the directory; the image's own apt the key. */
		if (strchr(keys, '\'') != NULL)
			return dr_error_set(
			    err, "image %s: %s has a quote in its path", name, keys);
		json_array_append_new(args, json_sprintf("--keyring=%s", keys));
		json_array_append_new(args,
		    json_sprintf("--customize-hook=mkdir -p \"$1\"/etc/apt/trusted.gpg.d && "
		                 "cp '%s/%s.gpg' \"$1\"/etc/apt/trusted.gpg.d/%s.gpg",
		        keys, name, name));
	}
	json_array_append_new(args, json_string(suite));
	json_array_append_new(args, json_string(out));
	json_array_append_new(args, json_string(source));
	json_array_foreach(args, i, a)
	{
		if (n >= PROV_IMAGE_ARGS_MAX)
			return dr_error_set(
			    err, "image %s: more than %d arguments", name, PROV_IMAGE_ARGS_MAX);
		argv[n++] = json_string_value(a);
	}
	argv[n] = NULL;
	if (keys != NULL)
		job_printf(job,
		    "image %s: mmdebstrap %s from %s trusting gpg_key %s (keyring %s)\n", name,
		    suite, source, json_string_value(json_object_get(img, "gpg_fingerprints")),
		    keys);
	else
		job_printf(job, "image %s: mmdebstrap %s from %s\n", name, suite, source);
	if (prov_image_spawn(job, argv, tail, err) == 0)
		return 0;
	snprintf(why, sizeof why, "%s", err->msg);
	/* apt's words for a mirror no trusted key signs, said in terms of the image. */
	if (tail->data != NULL &&
	    (strstr(tail->data, "NO_PUBKEY") != NULL ||
	        strstr(tail->data, "is not signed") != NULL ||
	        strstr(tail->data, "EXPKEYSIG") != NULL || strstr(tail->data, "BADSIG") != NULL))
		return dr_error_set(err, "image %s: the mirror %s is not signed by %s%s%s (%s)",
		    name, mirror, keys != NULL ? "the image's gpg_key " : "a Debian archive key",
		    keys != NULL ? json_string_value(json_object_get(img, "gpg_fingerprints"))
		                 : "",
		    keys != NULL ? " nor a Debian archive key" : "; give its key with gpg_key",
		    why);
	return -1;
}

/*
 * The operator's disk image of source_url, checked against source_sha256 when given: a
 * file:/// path is read where it is (*ret_src is that path), anything else is downloaded
 * to src (*ret_src = src).
 */
static int
prov_image_fetch(struct job *job, const json_t *img, const char *src, const char **ret_src,
    struct dr_error *err)
{
	const char *url = json_string_value(json_object_get(img, "source_url"));
	const char *want = json_string_value(json_object_get(img, "source_sha256"));
	struct http_download d = {
	    .url = url,
	    .dest_path = src,
	    .sha256 = json_string_value(json_object_get(img, "source_sha256")),
	    .max_size = PROV_IMAGE_SOURCE_MAX,
	};
	struct http_client_opts o = {.retries = 2};

	if (str_has_prefix(url, "file:///")) {
		char hex[65];
		off_t size;

		*ret_src = url + strlen("file://");
		if (prov_image_sha256(*ret_src, hex, &size, err) < 0)
			return dr_error_set(err, "source_url: %s", err->msg);
		if (want != NULL && strcmp(hex, want) != 0)
			return dr_error_set(
			    err, "source_url: %s has SHA-256 %s, not %s", url, hex, want);
		return 0;
	}
	*ret_src = src;
	job_printf(
	    job, "image %s: fetching %s\n", json_string_value(json_object_get(img, "name")), url);
	if (http_download_many(&d, 1, 1, &o, err) < 0)
		return dr_error_set(
		    err, "source_url: %s", d.error[0] != '\0' ? d.error : err->msg);
	return 0;
}

/*
 * The image_build job, into <name><suffix>.part, then checksummed and renamed: a tarball
 * from mmdebstrap; a raw disk made of an mmdebstrap tree (rawdisk.sh build); or an
 * operator's disk image fetched from source_url (rawdisk.sh import).
 */
static int
prov_image_build_run(struct job *job, struct dr_error *err)
{
	const struct prov_resource *res = prov_resource_find("image");
	json_int_t id = json_integer_value(json_object_get(job_params(job), "image"));
	_cleanup_json_ json_t *img = NULL;
	_cleanup_free_ char *part = NULL, *final = NULL, *scratch = NULL, *other = NULL;
	_cleanup_free_ char *keys = NULL;
	const char *name, *suffix;
	struct buf tail = BUF_INIT(0);
	bool raw, imported;
	char hex[65];
	off_t size = 0;
	int r;

	if ((img = prov_resource_get_id(res, id)) == NULL)
		return dr_error_set(err, "image %lld: no such image", (long long)id);
	if (prov_image_dir() == NULL)
		return dr_error_set(
		    err, "image %lld: droverd has no state directory", (long long)id);
	name = json_string_value(json_object_get(img, "name"));
	suffix = prov_image_suffix(img);
	raw = strcmp(suffix, ".tar") != 0;
	imported = json_object_get(img, "source_url") != NULL;
	part = xasprintf("%s/%s%s.part", prov_image_dir(), name, suffix);
	final = xasprintf("%s/%s%s", prov_image_dir(), name, suffix);
	scratch = xasprintf("%s/%s.%s.part", prov_image_dir(), name, imported ? "src" : "root");

	prov_image_state(id,
	    json_pack("{s:s, s:I, s:n}", "status", "building", "job_id", (json_int_t)job_id(job),
	        "error"),
	    "build");
	unlink(part);
	r = 0;
	if (!imported && json_object_get(img, "gpg_key") != NULL) {
		r = prov_image_keys_make(img, &keys, err);
	}
	if (r == 0 && imported) {
		const char *src = scratch;

		r = prov_image_fetch(job, img, scratch, &src, err);
		if (r == 0)
			r = prov_image_rawdisk(job, "import", src, part, &tail, err);
		unlink(scratch);
	} else if (r == 0 && raw) {
		prov_image_rmtree(job, scratch);
		r = prov_image_mmdebstrap(job, img, "directory", scratch, keys, &tail, err);
		if (r == 0) {
			job_printf(job, "image %s: making a raw disk image of it\n", name);
			r = prov_image_rawdisk(job, "build", scratch, part, &tail, err);
		}
		prov_image_rmtree(job, scratch);
	} else if (r == 0)
		r = prov_image_mmdebstrap(job, img, "tar", part, keys, &tail, err);
	if (keys != NULL)
		prov_image_rmtree(job, keys);
	if (r == 0)
		r = prov_image_sha256(part, hex, &size, err);
	if (r == 0 && size == 0)
		r = dr_error_set(err, "image %s: the build wrote nothing", name);
	if (r == 0 && rename(part, final) < 0)
		r = dr_error_errno(err, "%s", final);
	if (r < 0) {
		unlink(part);
		prov_image_state(id,
		    json_pack("{s:s, s:s++}", "status", "failed", "error", err->msg, "\n",
		        tail.data != NULL ? tail.data : ""),
		    "build_failed");
		buf_free(&tail);
		return -1;
	}
	buf_free(&tail);
	/* A rebuild in the other format leaves no stale file behind. */
	other = xasprintf("%s/%s%s", prov_image_dir(), name, raw ? ".tar" : ".raw.zst");
	unlink(other);
	prov_image_state(id,
	    json_pack("{s:s, s:s, s:I, s:I, s:s+++}", "status", "ready", "sha256", hex, "size",
	        (json_int_t)size, "built_at", (json_int_t)time(NULL), "url", prov_render_url(),
	        "/images/", name, suffix),
	    "built");
	job_printf(job, "image %s: %lld bytes, sha256 %s\n", name, (long long)size, hex);
	job_result_set(job,
	    json_pack("{s:s, s:s, s:I}", "image", name, "sha256", hex, "size", (json_int_t)size));
	return 0;
}

/* Whether the image's build job is queued or running (a droverd restart ends it). */
static bool
prov_image_busy(const json_t *img)
{
	const char *status = json_string_value(json_object_get(img, "status"));
	_cleanup_json_ json_t *job = NULL;
	const char *state;

	if (status == NULL || (strcmp(status, "queued") != 0 && strcmp(status, "building") != 0))
		return false;
	job = job_get(json_integer_value(json_object_get(img, "job_id")));
	state = json_string_value(json_object_get(job, "state"));
	return state != NULL && (strcmp(state, "queued") == 0 || strcmp(state, "running") == 0);
}

/* Create an image and start building it: defaults filled in, then the image_build job. */
int
prov_image_create(
    const json_t *in, const char *user, const char *remote, int64_t *ret_id, struct dr_error *err)
{
	const struct prov_resource *res = prov_resource_find("image");
	_cleanup_json_ json_t *obj = json_deep_copy(in);
	int64_t id;
	int r;

	if (prov_image_dir() == NULL) {
		dr_error_set(err, "images: droverd has no state directory to keep them in");
		return PROV_E_CONFLICT;
	}
	if (json_object_get(obj, "source_url") == NULL && json_object_get(obj, "suite") == NULL)
		json_object_set_new(obj, "suite", json_string("bookworm"));
	if (json_object_get(obj, "source_url") == NULL && json_object_get(obj, "mirror") == NULL)
		json_object_set_new(obj, "mirror", json_string("http://deb.debian.org/debian"));
	if (json_object_get(obj, "format") == NULL)
		json_object_set_new(obj, "format",
		    json_string(json_object_get(obj, "source_url") != NULL ? "raw" : "tar"));
	if ((r = prov_resource_create(res, obj, user, remote, &id, err)) < 0)
		return r;
	if ((r = prov_image_rebuild(id, user, err)) < 0)
		return r;
	if (ret_id != NULL)
		*ret_id = id;
	return 0;
}

/* Queue a (re)build of image id; refused while one runs. */
int
prov_image_rebuild(int64_t id, const char *user, struct dr_error *err)
{
	_cleanup_json_ json_t *img = prov_resource_get_id(prov_resource_find("image"), id);
	const char *status;
	int64_t job = 0;

	if (img == NULL) {
		dr_error_set(err, "no image %lld", (long long)id);
		return PROV_E_NOTFOUND;
	}
	status = json_string_value(json_object_get(img, "status"));
	if (prov_image_busy(img)) {
		dr_error_set(err, "image %s: a build is already %s (job %lld)",
		    json_string_value(json_object_get(img, "name")), status,
		    (long long)json_integer_value(json_object_get(img, "job_id")));
		return PROV_E_CONFLICT;
	}
	_cleanup_json_ json_t *params = json_pack("{s:I}", "image", (json_int_t)id);

	if (job_submit("image_build", params, user, 0, &job, err) < 0)
		return PROV_E_STORE;
	prov_image_state(id,
	    json_pack("{s:s, s:I}", "status", "queued", "job_id", (json_int_t)job),
	    "build_queued");
	return 0;
}

/* Delete an image and its file; refused while it builds or a host uses it. */
int
prov_image_delete(
    const char *id_or_name, const char *user, const char *remote, struct dr_error *err)
{
	const struct prov_resource *res = prov_resource_find("image");
	_cleanup_json_ json_t *img = prov_resource_get(res, id_or_name);
	_cleanup_free_ char *file = NULL;
	int r;

	if (img == NULL) {
		dr_error_set(err, "no image '%s'", id_or_name);
		return PROV_E_NOTFOUND;
	}
	if (prov_image_busy(img)) {
		dr_error_set(err, "image %s: being built by job %lld (cancel it first)",
		    json_string_value(json_object_get(img, "name")),
		    (long long)json_integer_value(json_object_get(img, "job_id")));
		return PROV_E_CONFLICT;
	}
	if ((r = prov_resource_delete(res, id_or_name, user, remote, err)) < 0)
		return r;
	if (prov_image_dir() != NULL) {
		static const char *const suffixes[] = {".tar", ".raw.zst"};

		for (size_t i = 0; i < nitems(suffixes); i++) {
			free(file);
			file = xasprintf("%s/%s%s", prov_image_dir(),
			    json_string_value(json_object_get(img, "name")), suffixes[i]);
			if (unlink(file) < 0 && errno != ENOENT)
				log_warn("image %s", file);
		}
	}
	return 0;
}

/* Open a served image file (<name>.tar or <name>.raw.zst) beneath the images directory;
 * -1 with errno. */
int
prov_image_open(const char *file)
{
	if (prov_image_dir() == NULL ||
	    (!str_has_suffix(file, ".tar") && !str_has_suffix(file, ".raw.zst")) ||
	    strchr(file, '/')) {
		errno = ENOENT;
		return -1;
	}
	return pxe_bootfiles_open(prov_image_dir(), file);
}

/* The installer_build job: Drover's installer kernel and initramfs into
 * <tftp root>/drover-installer/ from this machine's Debian packages; then the discovery
 * image too when the parameter discovery is true, or when it is absent and the discovery
 * image was the installer's already. */
static int
prov_image_installer_run(struct job *job, struct dr_error *err)
{
	const char *kver = json_string_value(json_object_get(job_params(job), "kernel_version"));
	json_t *disc = json_object_get(job_params(job), "discovery");
	_cleanup_free_ char *out = NULL;
	struct buf tail = BUF_INIT(0);
	const char *argv[] = {
	    "sh", "-c", prov_image_script("installer.sh"), "installer.sh", NULL, kver, NULL};
	bool discovery;
	int r;

	if (prov_tftp_root() == NULL)
		return dr_error_set(err, "installer: no TFTP root is configured");
	discovery =
	    disc != NULL ? json_is_true(disc) : prov_discovery_image() == PROV_DISCOVERY_INSTALLER;
	out = xasprintf("%s/drover-installer", prov_tftp_root());
	argv[4] = out;
	r = prov_image_spawn(job, argv, &tail, err);
	buf_free(&tail);
	if (r < 0)
		return -1;
	if (discovery && prov_discovery_image_set(true, err) < 0)
		return -1;
	job_result_set(job,
	    json_pack("{s:s+, s:s+, s:b}", "kernel", prov_render_url(),
	        "/pxe/files/drover-installer/vmlinuz", "initrd", prov_render_url(),
	        "/pxe/files/drover-installer/initrd.img", "discovery", discovery));
	return 0;
}

/* Start an installer build; *ret_job its job id. discovery 1 makes it the discovery image
 * too, 0 does not, -1 keeps it the discovery image if it was. */
int
prov_image_installer_build(const char *user, int discovery, int64_t *ret_job, struct dr_error *err)
{
	if (prov_tftp_root() == NULL) {
		dr_error_set(err, "installer: no TFTP root is configured");
		return PROV_E_CONFLICT;
	}
	_cleanup_json_ json_t *params = json_object();

	if (discovery >= 0)
		json_object_set_new(params, "discovery", json_boolean(discovery));

	if (job_submit("installer_build", params, user, 0, ret_job, err) < 0)
		return PROV_E_STORE;
	return 0;
}

static const struct job_kind prov_image_build_kind = {"image_build", prov_image_build_run, 7200};
static const struct job_kind prov_image_installer_kind = {
    "installer_build", prov_image_installer_run, 600};

/* Register the image_build and installer_build job kinds. */
void
prov_image_register(void)
{
	job_kind_register(&prov_image_build_kind);
	job_kind_register(&prov_image_installer_kind);
}
