/*
 * pxe.h - network boot: the TFTP server, the boot loaders placed in its root, and the
 * DHCP adapter (dnsmasq host files and configuration). Knows nothing of hosts: the
 * provisioner hands it MACs, names and addresses, and answers for generated files.
 */
#ifndef DROVER_PXE_H
#define DROVER_PXE_H

#include "core/core.h"

/* tftp.c */

/*
 * A read-only TFTP server (RFC 1350) with options (RFC 2347): blksize (2348), timeout and
 * tsize (2349), windowsize (7440). One thread serves every transfer (each on its own UDP
 * port, as RFC 1350's transfer identifiers want). Paths are resolved beneath the root
 * (openat2 RESOLVE_BENEATH: no "..", no absolute symlinks out); write requests are refused;
 * sessions, per-client sessions and retransmits are bounded. A window goes out as one UDP
 * GSO datagram where the path takes it (else with one sendmmsg), its blocks read with one
 * preadv; a send the kernel refuses counts as a lost packet.
 */
#define PXE_TFTP_SESSIONS_MAX 512
#define PXE_TFTP_PER_CLIENT_MAX 32
#define PXE_TFTP_BLKSIZE_MAX 65464
#define PXE_TFTP_WINDOW_MAX 64
#define PXE_TFTP_FILE_MAX (4ULL << 30)

struct pxe_tftp_opts {
	const char *listen; /* "ADDR:PORT", "[V6]:PORT", "ADDR" (port 69); port 0 = ephemeral */
	const char *root; /* directory served */
	int max_sessions; /* 0 = 256 */
	int timeout_ms; /* retransmit after; 0 = 1000 (a client's timeout option wins) */
	int retries; /* retransmits before a session is dropped; 0 = 5 */
};

/*
 * A generator answers for files that exist only for one host (pxelinux.cfg/01-<mac>):
 * return 1 with *ret_data (caller frees) and *ret_len, 0 when the path is not one it
 * makes (the file system is tried), -1 for "not found".
 */
typedef int (*pxe_tftp_generator)(void *ctx, const char *path, char **ret_data, size_t *ret_len);

/* Start the server thread. Errors name the address or the root. */
int pxe_tftp_start(const struct pxe_tftp_opts *o, struct dr_error *err);
/* The bound UDP port, -1 when not running. */
int pxe_tftp_port(void);
/* Stop the thread and end every transfer. */
void pxe_tftp_stop(void);
/* Set the generator (before start, or NULL to remove). */
void pxe_tftp_set_generator(pxe_tftp_generator fn, void *ctx);
/* Counters since start: {"sessions", "completed", "failed", "bytes", "refused"}. */
json_t *pxe_tftp_stats(void);

/* bootfiles.c */

/* The Debian files placed in the TFTP root: {source path, name in root}. */
struct pxe_bootfile {
	const char *source;
	const char *name;
	const char *package;
};
/* Copy the boot loaders that are installed (ipxe, pxelinux, syslinux-common, grub-efi-
 * amd64-signed, shim-signed) into root; returns how many are in place. Missing packages
 * are listed in *ret_missing (caller frees; NULL when none). */
int pxe_bootfiles_setup(const char *root, char **ret_missing, struct dr_error *err);
/* The boot-file table, for `drover pxe` and tests. */
const struct pxe_bootfile *pxe_bootfiles(size_t *ret_n);
/* Resolve rel beneath root and open it read-only (no escape); -1 with errno set. */
int pxe_bootfiles_open(const char *root, const char *rel);
/*
 * Where the boot loaders come from. Each file is taken from the first of: from (a tree
 * holding the packages' files at their installed paths; or a directory of .debs, which
 * are unpacked into <work>/root), <work>/root (left by an earlier download or unpacking),
 * and "/" (the installed packages). Packages are never installed: shim-signed's and
 * grub-efi-amd64-signed's maintainer scripts would act on this machine's boot loader.
 */
struct pxe_bootfiles_opts {
	const char *root; /* the TFTP root */
	const char *work; /* <state_dir>/bootfiles-src: debs/ and root/; NULL = none */
	const char *from; /* a directory of .debs or an unpacked tree; NULL = none */
	bool download; /* apt-get download the packages not installed into <work>/debs, unpack */
	struct job *job; /* NULL, or the job whose output apt-get's goes into (and that
			  * cancelling stops); then the download may take PXE_BOOTFILE_DOWNLOAD_S */
};
#define PXE_BOOTFILE_DOWNLOAD_S 900 /* apt-get download's limit in a job */
/* Place the boot loaders as o says, and grub/grub.cfg (Debian's grubnetx64 reads it; it
 * hands over to grub.cfg-01-<mac>). Each file is checked against the MD5 its package's
 * md5sums lists (a mismatch is an error naming the file). Returns how many are in place;
 * *ret_report {name: {package, source, md5, md5sums: "verified"|"not listed"}} and
 * *ret_missing (packages none of the sources has) are the caller's. One runs at a time:
 * with a job it waits for the one running, without it fails with PXE_BOOTFILES_BUSY. */
#define PXE_BOOTFILES_BUSY (-2)
int pxe_bootfiles_install(const struct pxe_bootfiles_opts *o, json_t **ret_report,
    char **ret_missing, struct dr_error *err);
/* Unpack (dpkg-deb -x, and the md5sums under var/lib/dpkg/info) the .debs in debs whose
 * packages hold boot loaders into dest, replaced as a whole; two versions of one package
 * are an error. Nothing is done when dest was unpacked from the same .debs (names, sizes
 * and modification times). */
int pxe_bootfiles_unpack(const char *debs, const char *dest, struct dr_error *err);
/* apt-get download the boot loaders' packages that are not installed into dir (the .debs
 * there before are removed); apt verifies them against the signed archive it is
 * configured with. Returns 0 (also when nothing needed downloading). With a job (NULL:
 * none), apt-get's output goes into it, cancelling it stops apt-get, and the limit is
 * PXE_BOOTFILE_DOWNLOAD_S instead of 50 s. */
int pxe_bootfiles_download(const char *dir, struct job *job, struct dr_error *err);

/* dnsmasq.c */

/*
 * The dnsmasq adapter: droverd writes a configuration file and a host file for a dnsmasq
 * the operator runs (conf-file=<dir>/dnsmasq.conf); reservations change with build mode
 * and dnsmasq re-reads them on SIGHUP (sent when a pid file is configured).
 */
/* A subnet droverd knows: its own DHCP range (tagged drover-s<id>) and boot loaders. */
struct pxe_dnsmasq_subnet {
	long long id;
	const char *name;
	const char *network, *mask; /* 198.18.0.0, 255.255.255.0 */
	const char *from, *to; /* the dynamic range; both NULL = reservations only */
	/* The subnet's pxe_loader (Foreman's names): what BIOS, UEFI PXE (client arch 7/9)
	 * and UEFI HTTP (arch 16) clients get before iPXE runs; NULL = the default. */
	const char *loader;
	/* What the subnet's clients are told, each NULL or 0 = left to dnsmasq: the router
	 * (option 3; dnsmasq's default is its own address), name servers (option 6), MTU
	 * (option 26) and DNS domain (option 15). */
	const char *gateway, *dns_primary, *dns_secondary;
	int mtu;
	const char *domain;
};

struct pxe_dnsmasq_opts {
	const char *dir; /* where dnsmasq.conf and dhcp-hosts go */
	const char *http_url; /* droverd's URL as hosts reach it ("http://198.18.0.1:8080") */
	const char *tftp_server; /* next-server address; NULL = the DHCP server itself */
	const char
	    *proxy_network; /* proxyDHCP for this network ("198.18.0.0"); NULL = full DHCP */
	const char *pidfile; /* dnsmasq's pid file for reloads; NULL = none */
	const struct pxe_dnsmasq_subnet *subnets; /* each with its own boot mode */
	size_t nsubnets;
};
/* One reservation. */
struct pxe_dnsmasq_host {
	const char *mac;
	const char *ip; /* may be NULL */
	const char *name;
	bool build; /* tagged for network boot */
};
/* Write <dir>/dnsmasq.conf for o (atomically); -1 with err naming a subnet whose loader
 * is unknown. dnsmasq reads it at start only (SIGHUP re-reads the reservations). */
int pxe_dnsmasq_write_conf(const struct pxe_dnsmasq_opts *o, struct dr_error *err);
/* Run dnsmasq as droverd's child: COMMAND (words separated by blanks, no quoting) with
 * --keep-in-foreground --conf-file=<dir>/dnsmasq.conf added, supervised (started again
 * when it ends) until pxe_dnsmasq_stop(); -1 with err if it cannot be started. */
int pxe_dnsmasq_run(const char *command, const char *dir, struct dr_error *err);
/* Make droverd's own dnsmasq re-read its files: restart it (new ranges) or SIGHUP (new
 * reservations). false when droverd runs none. */
bool pxe_dnsmasq_reload(bool restart);
void pxe_dnsmasq_stop(void);
/* Write <dir>/dhcp-hosts with these reservations (atomically), then signal dnsmasq (ours,
 * or the one of o->pidfile). */
int pxe_dnsmasq_write_hosts(const struct pxe_dnsmasq_opts *o, const struct pxe_dnsmasq_host *hosts,
    size_t n, struct dr_error *err);

#endif /* DROVER_PXE_H */
