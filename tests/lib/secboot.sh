# secboot.sh - the signed boot loaders the Secure Boot tests place with `drover pxe setup
# --from`. Source it.
#
#   secboot_debs_fetch DIR    (tests/run-all's dependency step; the only step with network)
#                             apt-get download of shim-signed, shim-helpers-amd64-signed and
#                             grub-efi-amd64-signed: apt checks them against the signed
#                             archive. Never installed: their maintainer scripts run
#                             grub-install against this machine's own boot loader.
#   secboot_debs_present DIR  whether DIR has one .deb of each

SECBOOT_DEB_CACHE=${SECBOOT_DEB_CACHE:-/var/cache/drover-tests/secboot-debs}
SECBOOT_PACKAGES="shim-signed shim-helpers-amd64-signed grub-efi-amd64-signed"

secboot_debs_fetch() {
	mkdir -p "$1" || return 1
	rm -f "$1"/*.deb
	(cd "$1" && apt-get download -q $SECBOOT_PACKAGES) || return 1
	secboot_debs_present "$1"
}

secboot_debs_present() {
	for p in $SECBOOT_PACKAGES; do
		[ "$(ls "$1/${p}_"*.deb 2>/dev/null | wc -l)" -eq 1 ] || return 1
	done
}
