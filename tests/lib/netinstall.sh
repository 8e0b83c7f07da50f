# netinstall.sh - the Debian mirror tests/e2e/pxe_netinstall.sh installs from with Debian's
# own installer (d-i). Source it.
#
#   netinstall_fetch DIR     (tests/run-all's dependency step; the only step with network)
#                            with apt-get under an APT_CONFIG of its own (sources main and
#                            main/debian-installer of bookworm): the netboot installer
#                            (debian-installer-12-netboot-amd64), the udebs its anna fetches
#                            (tests/lib/netinstall_pick.py), the .debs a minimal install
#                            needs, and the archive's Packages indexes they came from
#   netinstall_present DIR   whether DIR has them
#   netinstall_mirror_build DIR  DIR/debian: a bookworm mirror of those files as d-i reads
#                            one: dists/bookworm/Release (its Packages checksums),
#                            main/binary-amd64 and main/debian-installer/binary-amd64
#                            Packages (the archive's own stanzas: debootstrap and tasksel
#                            choose by their priorities), pool/main, and the netboot kernel
#                            and initrd under main/installer-amd64/current/images with
#                            their SHA256SUMS (what droverd's boot_files_fetch verifies).
#                            Sign it with image_repo_sign (tests/lib/image.sh); serve it
#                            with image_repo_serve.

NETINSTALL_CACHE=${NETINSTALL_CACHE:-/var/cache/drover-tests/netinstall}
# Beyond debootstrap's required + important: what base-installer, pkgsel (the preseed's
# tasks and pkgsel/include), grub-installer, localechooser, console-setup and hw-detect
# install in the target.
NETINSTALL_DEBS="linux-image-amd64 initramfs-tools zstd grub-pc os-prober openssh-server
task-ssh-server task-english tasksel tasksel-data locales console-setup keyboard-configuration
kbd discover laptop-detect pciutils usbutils curl ca-certificates wget busybox eatmydata
popularity-contest installation-report"
# udebs of priority optional some components may anna-install (LVM partitioning).
NETINSTALL_UDEBS_EXTRA="partman-lvm partman-auto-lvm lvm2-udeb lvmcfg-utils"

# netinstall_apt DIR ARGS...: apt-get with the APT_CONFIG below DIR/apt.
netinstall_apt() {
	a=$1/apt
	shift
	APT_CONFIG=$a/apt.conf apt-get -q "$@"
}

netinstall_fetch() {
	d=$1
	p=$d.part
	rm -rf "$p"
	a=$p/apt
	mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/prefs" "$p/udeb" "$p/netboot" ||
		return 1
	: >"$a/status"
	echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main main/debian-installer' \
		>"$a/sources.list"
	cat >"$a/apt.conf" <<APT
Dir::State "$a";
Dir::State::Lists "$a/lists";
Dir::State::status "$a/status";
Dir::Cache "$a/cache";
Dir::Etc::SourceList "$a/sources.list";
Dir::Etc::SourceParts "$a/none";
Dir::Etc::Preferences "$a/none";
Dir::Etc::PreferencesParts "$a/prefs";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
Acquire::Languages "none";
APT::Sandbox::User "root";
APT
	netinstall_apt "$p" update >"$p/update.log" 2>&1 || return 1
	/usr/lib/apt/apt-helper cat-file "$a"/lists/*_main_binary-amd64_Packages* \
		>"$p/deb.Packages" &&
		/usr/lib/apt/apt-helper cat-file "$a"/lists/*_main_debian-installer_binary-amd64_Packages* \
			>"$p/udeb.Packages" || return 1
	# The installer; its initrd's kernel and installed udebs decide the udebs to fetch.
	(cd "$p/netboot" && netinstall_apt "$p" download debian-installer-12-netboot-amd64) \
		>/dev/null || return 1
	t=$p/netboot/x
	mkdir -p "$t/initrd" && dpkg-deb -x "$p"/netboot/*.deb "$t" || return 1
	img=$t/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64
	cp "$img/linux" "$img/initrd.gz" "$p/netboot/" || return 1
	(cd "$t/initrd" && zcat "$p/netboot/initrd.gz" | cpio -id --quiet 2>/dev/null)
	kver=$(ls "$t/initrd/lib/modules") || return 1
	echo "$kver" >"$p/netboot/kver"
	python3 "$top_srcdir/tests/lib/netinstall_pick.py" udebs "$p/udeb.Packages" \
		"$t/initrd/var/lib/dpkg/status" "$kver" $NETINSTALL_UDEBS_EXTRA >"$p/udeb.wanted" ||
		return 1
	rm -rf "$t"
	# apt-get download fetches what it can: a udeb the registry does not hold (it answers
	# 404 for many) is listed in udeb.missing, and the test says which.
	# shellcheck disable=SC2046 # a list of names
	(cd "$p/udeb" && netinstall_apt "$p" download $(cat "$p/udeb.wanted")) \
		>"$p/udeb.log" 2>&1
	netinstall_missing "$p/udeb.wanted" "$p/udeb" udeb >"$p/udeb.missing"
	# debootstrap's set (priority required and important) and the rest, with what they
	# depend on, resolved from nothing installed.
	awk '/^Package:/ { p = $2 } /^Priority: (required|important)$/ { print p }' \
		"$p/deb.Packages" | sort -u >"$p/deb.wanted"
	# shellcheck disable=SC2046,SC2086 # lists of names
	netinstall_apt "$p" install -d -y --no-install-recommends $(cat "$p/deb.wanted") \
		$NETINSTALL_DEBS >"$p/deb.log" 2>&1
	mv "$a/cache/archives" "$p/deb" && rm -rf "$p/deb/partial" "$p/deb/lock" "$a" || return 1
	ls "$p"/deb/*.deb >/dev/null 2>&1 || return 1
	rm -rf "$d"
	mv "$p" "$d"
}

# netinstall_missing WANTED DIR EXT: the names in WANTED with no DIR/<name>_*.EXT.
netinstall_missing() {
	while read -r n; do
		ls "$2/${n}_"*".$3" >/dev/null 2>&1 || echo "$n"
	done <"$1"
}

netinstall_present() {
	[ -s "$1/netboot/linux" ] && [ -s "$1/netboot/initrd.gz" ] && [ -s "$1/deb.Packages" ] &&
		[ -s "$1/udeb.Packages" ] && ls "$1"/udeb/base-installer_*.udeb >/dev/null 2>&1 &&
		ls "$1"/deb/openssh-server_*.deb "$1"/deb/grub-pc_*.deb >/dev/null 2>&1
}

netinstall_mirror_build() {
	r=$1/debian
	c=$NETINSTALL_CACHE
	rel=$r/dists/bookworm
	nb=$rel/main/installer-amd64/current/images
	mkdir -p "$r/pool/main" "$rel/main/binary-amd64" "$rel/main/debian-installer/binary-amd64" \
		"$nb/netboot/debian-installer/amd64" || return 1
	# As the archive names them: no epoch (apt-get download writes it as N%3a).
	for f in "$c"/deb/*.deb "$c"/udeb/*.udeb; do
		b=$(echo "${f##*/}" | sed 's/_[0-9]*%3a/_/')
		ln "$f" "$r/pool/main/$b" 2>/dev/null || cp "$f" "$r/pool/main/$b" || return 1
	done
	# The udebs whose dependencies the others and the initrd's satisfy (all of them when the
	# registry gave every one).
	t=$1/initrd
	mkdir -p "$t" && (cd "$t" && zcat "$c/netboot/initrd.gz" |
		cpio -id --quiet var/lib/dpkg/status 2>/dev/null)
	python3 "$top_srcdir/tests/lib/netinstall_pick.py" index "$c/deb.Packages" "$c/deb" \
		>"$rel/main/binary-amd64/Packages" &&
		python3 "$top_srcdir/tests/lib/netinstall_pick.py" index "$c/udeb.Packages" \
			"$c/udeb" "$t/var/lib/dpkg/status" \
			>"$rel/main/debian-installer/binary-amd64/Packages" || return 1
	rm -rf "$t"
	gzip -9k "$rel/main/binary-amd64/Packages" "$rel/main/debian-installer/binary-amd64/Packages"
	# choose-mirror reads the architecture from the component's own Release.
	printf 'Archive: bookworm\nComponent: main\nArchitecture: amd64\n' \
		>"$rel/main/binary-amd64/Release"
	cp "$c/netboot/linux" "$c/netboot/initrd.gz" "$nb/netboot/debian-installer/amd64/" &&
		(cd "$nb" && sha256sum ./netboot/debian-installer/amd64/linux \
			./netboot/debian-installer/amd64/initrd.gz >SHA256SUMS) || return 1
	(cd "$r" && apt-ftparchive -o APT::FTPArchive::Release::Suite=bookworm \
		-o APT::FTPArchive::Release::Codename=bookworm \
		-o APT::FTPArchive::Release::Components=main \
		-o APT::FTPArchive::Release::Architectures=amd64 \
		release dists/bookworm >Release.tmp && mv Release.tmp dists/bookworm/Release) 2>&1
}
