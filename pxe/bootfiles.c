/* bootfiles.c - boot loaders from Debian packages in the TFTP root, and confined opens. */
#define LOG_COMPONENT "pxe"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pxe/pxe.h"

#define PXE_BOOTFILE_MAX (64u << 20)

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
};

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

/* Copy src to dst unless dst already holds a file of the same size. */
static int
pxe_bootfile_copy(const char *src, const char *dst, struct dr_error *err)
{
	_cleanup_free_ char *data = NULL;
	struct stat a, b;
	size_t len;

	if (stat(src, &a) < 0)
		return 1;
	if (stat(dst, &b) == 0 && a.st_size == b.st_size)
		return 0;
	if (file_read(src, PXE_BOOTFILE_MAX, &data, &len, err) < 0 ||
	    file_write_atomic(dst, data, len, 0644, err) < 0)
		return -1;
	return 0;
}

/* Copy the installed boot loaders into root. */
int
pxe_bootfiles_setup(const char *root, char **ret_missing, struct dr_error *err)
{
	struct buf missing = BUF_INIT(4096);
	size_t i;
	int placed = 0, r;

	if (mkdir(root, 0755) < 0 && errno != EEXIST)
		return dr_error_errno(err, "tftp root %s", root);
	for (i = 0; i < nitems(pxe_bootfile_table); i++) {
		const struct pxe_bootfile *b = &pxe_bootfile_table[i];
		_cleanup_free_ char *dst = xasprintf("%s/%s", root, b->name);

		r = pxe_bootfile_copy(b->source, dst, err);
		if (r < 0) {
			buf_free(&missing);
			return -1;
		}
		if (r == 0)
			placed++;
		else if (missing.data == NULL || strstr(missing.data, b->package) == NULL)
			buf_addf(&missing, "%s%s", missing.len > 0 ? " " : "", b->package);
	}
	if (ret_missing != NULL)
		*ret_missing = missing.len > 0 ? buf_steal(&missing) : NULL;
	buf_free(&missing);
	return placed;
}
