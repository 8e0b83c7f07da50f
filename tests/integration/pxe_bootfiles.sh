#!/bin/sh
# pxe_bootfiles.sh - `drover pxe setup --from|--download`: Debian's signed shim and GRUB
# (shim-signed, shim-helpers-amd64-signed, grub-efi-amd64-signed) from .debs that droverd
# unpacks, never installs; each file checked against its package's md5sums (a changed
# file is refused); GRUB's grub/grub.cfg and each host's grub.cfg-01-<mac> over TFTP, for a
# host in build (Drover's installer, kernel and initrd from the TFTP root) and an installed
# one (the disk's boot loader chainloaded), grub.cfg-discovery for a MAC
# with no host while a discovery image is in the TFTP root. --download runs apt-get
# download against a repository made here from the same .debs (APT_CONFIG), never the
# Internet.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
. "$top_srcdir/tests/lib/secboot.sh"
for c in curl dpkg-deb apt-get apt-ftparchive tar; do
	command -v "$c" >/dev/null || skip_all "$c is not installed"
done
secboot_debs_present "$SECBOOT_DEB_CACHE" ||
	skip_all "no signed shim/GRUB .debs in $SECBOOT_DEB_CACHE (tests/run-all's dependency step downloads them)"

state=$TAP_TMP/state
root=$TAP_TMP/tftproot
debs=$TAP_TMP/debs
o=$TAP_TMP/dl
mkdir -p "$debs" "$o"
cp "$SECBOOT_DEB_CACHE"/*.deb "$debs/"
# deb_file DEB PATH: a file of a package, as Debian shipped it.
deb_file() { dpkg-deb --fsys-tarfile "$1" | tar -xO ".$2"; }
shim_deb=$(ls "$debs"/shim-signed_*.deb)
grub_deb=$(ls "$debs"/grub-efi-amd64-signed_*.deb)
printf 'tftp:\n  root: %s\n' "$root" >"$TAP_TMP/droverd.yml"

ok "droverd starts with TFTP on a loopback port" \
	droverd_start "$state" --config "$TAP_TMP/droverd.yml" --tftp-listen 127.0.0.1:0
port=$(sed -n 's/.*tftp serving .* (port \([0-9]*\)).*/\1/p' "$TAP_TMP/droverd.log")
ok "drover login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
if dpkg-query -W -f='${Status}' shim-signed 2>/dev/null | grep -q 'ok installed'; then
	skip "shimx64.efi is missing before setup" "shim-signed is installed on this machine"
else
	like "shimx64.efi is missing before setup" "$("$DROVER" pxe status 2>&1)" \
		'shimx64\.efi +missing \(shim-signed\)'
fi

# --- .debs unpacked.
out=$("$DROVER" pxe setup --from "$debs" 2>&1)
ok "drover pxe setup --from DIR-of-debs" test $? -eq 0
like "shim from the unpacked package, its MD5 as its md5sums lists" "$out" \
	"shimx64\.efi +present \(shim-signed\) from $state/bootfiles-src/root/usr/lib/shim/shimx64\.efi\.signed, md5sums verified"
like "signed GRUB (grubnetx64) as grubx64.efi" "$out" \
	'grubx64\.efi +present \(grub-efi-amd64-signed\) from .*/grubnetx64\.efi\.signed, md5sums verified'
like "MokManager next to shim" "$out" 'mmx64\.efi +present \(shim-helpers-amd64-signed\)'
deb_file "$shim_deb" /usr/lib/shim/shimx64.efi.signed >"$o/shim.deb"
deb_file "$grub_deb" /usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed >"$o/grub.deb"
ok "shimx64.efi is byte for byte the file in the .deb" cmp "$o/shim.deb" "$root/shimx64.efi"
ok "grubx64.efi too" cmp "$o/grub.deb" "$root/grubx64.efi"
if command -v sbverify >/dev/null; then
	like "shim carries Microsoft's UEFI CA signature" "$(sbverify --list "$root/shimx64.efi" 2>&1)" \
		'Microsoft Corporation UEFI CA 2011'
	like "GRUB carries Debian's" "$(sbverify --list "$root/grubx64.efi" 2>&1)" \
		'Debian Secure Boot Signer .* grub2'
else
	skip "shim carries Microsoft's UEFI CA signature" "sbsigntool is not installed"
	skip "GRUB carries Debian's" "sbsigntool is not installed"
fi
ok "nothing was installed" sh -c "! dpkg-query -W -f='\${Status}' shim-signed 2>/dev/null | grep -q 'ok installed'"
ok "grub/grub.cfg over TFTP" curl -sf -o "$o/grub.cfg" "tftp://127.0.0.1:$port/grub/grub.cfg"
like "hands over to the per-MAC file" "$(cat "$o/grub.cfg")" \
	'configfile "\$prefix/grub\.cfg-01-\$m1-\$m2-\$m3-\$m4-\$m5-\$m6"'
like "and, for a MAC with no host, sources grub.cfg-discovery, then goes on" \
	"$(tr '\n' ' ' <"$o/grub.cfg")" \
	'grub\.cfg-01-[^ ]*" source "\$prefix/grub\.cfg-discovery" echo .* exit $'

# --- a restart places the same files from what setup unpacked (<state>/bootfiles-src).
rm -f "$root/shimx64.efi"
droverd_stop
ok "droverd starts again" \
	droverd_start "$state" --config "$TAP_TMP/droverd.yml" --tftp-listen 127.0.0.1:0
port=$(sed -n 's/.*tftp serving .* (port \([0-9]*\)).*/\1/p' "$TAP_TMP/droverd.log")
ok "and puts shimx64.efi back at start" cmp "$o/shim.deb" "$root/shimx64.efi"

# --- tftp.bootfiles_from: the same at every start, from the configuration.
droverd_stop
rm -rf "$state/bootfiles-src" "$root/shimx64.efi"
printf 'tftp:\n  root: %s\n  bootfiles_from: %s\n' "$root" "$debs" >"$TAP_TMP/from.yml"
ok "droverd starts with tftp.bootfiles_from naming the .debs" \
	droverd_start "$state" --config "$TAP_TMP/from.yml" --tftp-listen 127.0.0.1:0
ok "and unpacked them and placed shimx64.efi at start" cmp "$o/shim.deb" "$root/shimx64.efi"
ino=$(stat -c %i "$state/bootfiles-src/root")
droverd_stop
ok "droverd starts again with the same .debs" \
	droverd_start "$state" --config "$TAP_TMP/from.yml" --tftp-listen 127.0.0.1:0
is "without unpacking them again" "$(stat -c %i "$state/bootfiles-src/root")" "$ino"
droverd_stop
printf 'tftp:\n  root: %s\n  bootfiles_from: %s\n' "$root" debs >"$TAP_TMP/from.yml"
ok "a relative tftp.bootfiles_from stops the start" \
	sh -c "! '$DROVERD' --config '$TAP_TMP/from.yml' --state-dir '$state' --listen 127.0.0.1:0 \
		--tftp-listen 127.0.0.1:0 >'$TAP_TMP/bad.log' 2>&1"
like "naming the key" "$(cat "$TAP_TMP/bad.log")" 'tftp\.bootfiles_from.*absolute path'
printf 'tftp:\n  root: %s\n  bootfiles_from: /nonexistent/debs\n' "$root" >"$TAP_TMP/from.yml"
ok "a missing one too" \
	sh -c "! '$DROVERD' --config '$TAP_TMP/from.yml' --state-dir '$state' --listen 127.0.0.1:0 \
		--tftp-listen 127.0.0.1:0 >'$TAP_TMP/bad.log' 2>&1"
like "naming the key and the directory" "$(cat "$TAP_TMP/bad.log")" \
	'tftp\.bootfiles_from: boot files from /nonexistent/debs: No such file'
ok "droverd starts again without it" \
	droverd_start "$state" --config "$TAP_TMP/droverd.yml" --tftp-listen 127.0.0.1:0
port=$(sed -n 's/.*tftp serving .* (port \([0-9]*\)).*/\1/p' "$TAP_TMP/droverd.log")

# --- an unpacked tree.
cp -a "$state/bootfiles-src/root" "$TAP_TMP/tree"
ok "--from an unpacked tree" "$DROVER" pxe setup --from "$TAP_TMP/tree"
like "files from that tree" "$("$DROVER" pxe setup --from "$TAP_TMP/tree" 2>&1)" \
	"shimx64\.efi +present .* from $TAP_TMP/tree/usr/lib/shim/shimx64\.efi\.signed, md5sums verified"
cp "$TAP_TMP/tree/usr/lib/shim/shimx64.efi.signed" "$o/shim.mod"
printf 'X' | dd of="$o/shim.mod" bs=1 seek=4096 conv=notrunc 2>/dev/null
cp "$o/shim.mod" "$TAP_TMP/tree/usr/lib/shim/shimx64.efi.signed"
out=$("$DROVER" pxe setup --from "$TAP_TMP/tree" 2>&1)
ok "a changed shimx64.efi.signed is refused" test $? -ne 0
like "naming the file and its package's md5sums" "$out" \
	"$TAP_TMP/tree/usr/lib/shim/shimx64\.efi\.signed: MD5 [0-9a-f]{32}, but package shim-signed lists [0-9a-f]{32}: not the file Debian shipped"
ok "the TFTP root keeps Debian's" cmp "$o/shim.deb" "$root/shimx64.efi"
rm -f "$TAP_TMP"/tree/var/lib/dpkg/info/*.md5sums
like "a tree without md5sums is used, and says so" \
	"$("$DROVER" pxe setup --from "$TAP_TMP/tree" 2>&1)" 'shimx64\.efi +present .* md5sums not listed'
cp "$o/shim.deb" "$TAP_TMP/tree/usr/lib/shim/shimx64.efi.signed"
ok "(put back)" "$DROVER" pxe setup --from "$TAP_TMP/tree"

# --- bad sources.
like "a missing directory" "$("$DROVER" pxe setup --from /nonexistent/debs 2>&1)" \
	'boot files from /nonexistent/debs: No such file'
like "a file, not a directory" "$("$DROVER" pxe setup --from "$shim_deb" 2>&1)" \
	'not a directory'
like "a relative path that is not here" "$("$DROVER" pxe setup --from no/such/dir 2>&1)" \
	'--from no/such/dir: no such directory here'
cp "$shim_deb" "$debs/shim-signed_0.1_amd64.deb"
like "two versions of one package" "$("$DROVER" pxe setup --from "$debs" 2>&1)" \
	'two versions of shim-signed'
rm "$debs/shim-signed_0.1_amd64.deb"
echo 'not a package' >"$debs/broken_1_amd64.deb"
like "a .deb dpkg-deb cannot read is named" "$("$DROVER" pxe setup --from "$debs" 2>&1)" \
	"$debs/broken_1_amd64\.deb: dpkg-deb failed"
rm "$debs/broken_1_amd64.deb"
like "droverd kept serving" "$(curl -sf "$DROVERD_URL/api/v2/status")" '"store": *"ok"'

# --- per-host GRUB configurations (TFTP generates them).
mac=52:54:00:5b:00:01
ok "a host of the image method" "$DROVER" host create --name sb1 --mac $mac \
	--provision-method image
ok "installed: grub.cfg-01-<mac> over TFTP" \
	curl -sf -o "$o/g0" "tftp://127.0.0.1:$port/grub/grub.cfg-01-52-54-00-5b-00-01"
like "chainloads the disk's boot loader, the removable-media path first" \
	"$(tr '\n' ' ' <"$o/g0")" \
	"menuentry 'Local disk' \\{ +for f in /EFI/BOOT/BOOTX64\\.EFI .*search --no-floppy --file --set=root \"\\\$f\"; then .* chainloader \"\\\$f\" +boot "
like "else leaves GRUB for the firmware's next boot option" "$(tr '\n' ' ' <"$o/g0")" \
	"done +exit +\\} $"
ok "drover host build sb1" "$DROVER" host build sb1
ok "in build: grub.cfg-01-<mac>" \
	curl -sf -o "$o/g1" "tftp://127.0.0.1:$port/grub/grub.cfg-01-52-54-00-5b-00-01"
like "boots Drover's installer kernel from the TFTP root with the provision URL" "$(cat "$o/g1")" \
	"linux /drover-installer/vmlinuz 'url=http://[^']*/unattended/provision\?token=[0-9a-f]{64}' drover_mac=$mac"
like "and its initramfs" "$(cat "$o/g1")" 'initrd /drover-installer/initrd\.img'
ok "no chain to the unsigned ipxe.efi" sh -c "! grep -q chainloader '$o/g1'"
like "the same as template preview" "$("$DROVER" template preview --host sb1 --kind PXEGrub2 2>&1)" \
	"linux /drover-installer/vmlinuz"
ok "the MAC in capitals finds it too (GRUB prints lower case; firmware may not)" \
	curl -sf -o "$o/g2" "tftp://127.0.0.1:$port/grub/grub.cfg-01-52-54-00-5B-00-01"
ok "cancel the build" "$DROVER" host build sb1 --cancel
ok "grub.cfg-01-<mac> again" \
	curl -sf -o "$o/g3" "tftp://127.0.0.1:$port/grub/grub.cfg-01-52-54-00-5b-00-01"
like "local disk again" "$(cat "$o/g3")" 'exit'
ok "a network-install host (Debian 12 from the Debian mirror)" "$DROVER" host create --name sb2 \
	--mac 52:54:00:5b:00:02
ok "in build" "$DROVER" host build sb2
like "its kernel is not in the TFTP root: GRUB says so and goes on" \
	"$(curl -sf "tftp://127.0.0.1:$port/grub/grub.cfg-01-52-54-00-5b-00-02" | tr '\n' ' ')" \
	"echo 'Debian 12: GRUB reads kernels from the TFTP root only; http://deb\.debian\.org/.*/linux is not there \(run the boot_files_fetch job.* exit"
out=$(curl -s -o /dev/null "tftp://127.0.0.1:$port/grub/grub.cfg-01-52-54-00-5b-00-99"; echo $?)
is "an unknown MAC gets no file (GRUB then tries the next boot option)" "$out" 68
# --- discovery through GRUB: grub.cfg-discovery exists while a discovery image does.
out=$(curl -s -o /dev/null "tftp://127.0.0.1:$port/grub/grub.cfg-discovery"; echo $?)
is "no discovery image: no grub.cfg-discovery (GRUB goes on to the next boot option)" "$out" 68
mkdir -p "$root/discovery"
deb_file "$shim_deb" /usr/lib/shim/shimx64.efi.signed >"$root/discovery/vmlinuz"
: >"$root/discovery/initrd.img"
ok "with one in the TFTP root: grub.cfg-discovery over TFTP" \
	curl -sf -o "$o/gd" "tftp://127.0.0.1:$port/grub/grub.cfg-discovery"
like "it boots the discovery kernel with the URL to post facts to and the MAC GRUB booted from" \
	"$(cat "$o/gd")" \
	'^linux /discovery/vmlinuz console=ttyS0 drover_discovery=http://[^ ]+/unattended/discovery drover_mac=\$net_default_mac$'
like "its initramfs, then boots at once (sourced: no menu)" "$(tr '\n' ' ' <"$o/gd")" \
	'initrd /discovery/initrd\.img boot $'
like "the same arguments as iPXE's discovery script" \
	"$(curl -sf "$DROVERD_URL/unattended/iPXE?mac=52:54:00:5b:00:99")" \
	"kernel .*/discovery/vmlinuz initrd=initrd.img console=ttyS0 drover_discovery=$(sed -n 's/.*drover_discovery=\([^ ]*\) .*/\1/p' "$o/gd") drover_mac=52:54:00:5b:00:99"
ok "a known MAC still gets its own file" \
	curl -sf -o "$o/g4" "tftp://127.0.0.1:$port/grub/grub.cfg-01-52-54-00-5b-00-01"
rm -rf "$root/discovery"
out=$(curl -s -o /dev/null "tftp://127.0.0.1:$port/grub/grub.cfg-discovery"; echo $?)
is "discovery image gone: grub.cfg-discovery gone" "$out" 68

# --- --download: apt-get download against a repository made here (APT_CONFIG), the
# packages not installed on this machine, unpacked like --from.
r=$TAP_TMP/repo
mkdir -p "$r/pool" "$r/apt/lists/partial" "$r/apt/cache/archives/partial"
cp "$SECBOOT_DEB_CACHE"/*.deb "$r/pool/"
(cd "$r" && apt-ftparchive packages pool >Packages 2>/dev/null)
cat >"$r/apt.conf" <<CONF
Dir::Etc::SourceList "$r/sources.list";
Dir::Etc::SourceParts "$r/none";
Dir::State::Lists "$r/apt/lists";
Dir::Cache "$r/apt/cache";
Dir::State::status "/var/lib/dpkg/status";
APT::Sandbox::User "root";
CONF
echo "deb [trusted=yes] file:$r ./" >"$r/sources.list"
ok "apt-get update on the test repository" env APT_CONFIG="$r/apt.conf" apt-get -q update
droverd_stop
rm -rf "$state/bootfiles-src" "$root/shimx64.efi" "$root/grubx64.efi"
APT_CONFIG=$r/apt.conf
export APT_CONFIG
ok "droverd starts (apt configured with the test repository)" \
	droverd_start "$state" --config "$TAP_TMP/droverd.yml" --tftp-listen 127.0.0.1:0
unset APT_CONFIG
out=$("$DROVER" pxe setup --download 2>"$o/progress")
ok "drover pxe setup --download (a pxe_setup job, waited for)" test $? -eq 0
like "it says which job downloads" "$(cat "$o/progress")" 'job [0-9]+ downloads the boot loaders'
like "and shows the job's output: apt-get download of the packages not installed" \
	"$(cat "$o/progress")" 'apt-get download into .*/bootfiles-src/debs: .*shim-signed'
like "then the state, as without --download: shim from the downloaded package" "$out" \
	"shimx64\.efi +present .* from $state/bootfiles-src/root/.*md5sums verified"
like "and the installer build it queued" "$out" 'INSTALLER BUILD +job [0-9]+'
ok "the .debs apt-get downloaded are kept" sh -c "ls '$state'/bootfiles-src/debs/shim-signed_*.deb"
ok "shimx64.efi is Debian's" cmp "$o/shim.deb" "$root/shimx64.efi"
ok "grubx64.efi is Debian's" cmp "$o/grub.deb" "$root/grubx64.efi"

# The route: 202 with the job and its Location, as the other routes that queue jobs.
tok=$(sed -n 's/^token: "\(.*\)"/\1/p' "$DROVER_CONFIG")
code=$(curl -s -D "$o/h" -o "$o/job.json" -w '%{http_code}' -X POST \
	-H 'Content-Type: application/json' -H "Authorization: Bearer $tok" \
	-d '{"download": true}' "$DROVERD_URL/api/v2/admin/pxe/setup")
is "POST /api/v2/admin/pxe/setup {download: true} answers 202" "$code" 202
job=$(tr -d ' \n' <"$o/job.json" | sed -n 's/^{"id":\([0-9]*\),.*/\1/p; s/.*[{,]"id":\([0-9]*\)[,}].*/\1/p' | head -1)
like "with the job" "$(cat "$o/job.json")" '"kind": *"pxe_setup"'
like "and its Location" "$(tr -d '\r' <"$o/h")" "^Location: /api/v2/jobs/$job\$"
ok "the job succeeds" "$DROVER" job follow "$job"
like "its result is the PXE state" "$("$DROVER" --json job show "$job" | tr -d ' \n')" \
	'"result":\{.*"shimx64.efi":\{[^}]*"present":true'
code=$(curl -s -o "$o/bad.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	-H "Authorization: Bearer $tok" -d '{"download": "yes"}' "$DROVERD_URL/api/v2/admin/pxe/setup")
is "download must be true or false" "$code" 422
like "naming the field" "$(cat "$o/bad.json")" '"download"'
like "drover job run pxe_setup checks its parameters the same way" \
	"$("$DROVER" job run pxe_setup --params '{"from": "relative"}' 2>&1)" \
	'from: an absolute directory path'

out=$("$DROVER" pxe setup --download --no-wait 2>&1)
like "--no-wait: the job queued, not waited for" "$out" \
	'pxe setup: queued as job [0-9]+ \(drover job follow [0-9]+\)'
ok "(it succeeds)" "$DROVER" job follow "$(printf '%s\n' "$out" | sed -n 's/.*queued as job \([0-9]*\).*/\1/p')"
"$DROVER" --json pxe setup --download >"$o/state.json" 2>"$o/progress"
ok "--json: the job's result on stdout" test $? -eq 0
like "(the state, files and all)" "$(tr -d ' \n' <"$o/state.json")" \
	'^\{.*"files":\{.*"shimx64.efi":\{.*"discovery":"[a-z]+".*\}$'
like "the job's output on stderr" "$(cat "$o/progress")" 'apt-get download into'

# --- failures: each a failed job whose error names the input; droverd keeps serving.
rm -f "$r/pool"/grub-efi-amd64-signed_*.deb
(cd "$r" && apt-ftparchive packages pool >Packages 2>/dev/null)
env APT_CONFIG="$r/apt.conf" apt-get -q update >/dev/null 2>&1
out=$("$DROVER" pxe setup --download 2>&1)
ok "a package apt cannot find: drover exits non-zero" test $? -ne 0
like "with the job's error, naming apt-get's reason" "$out" \
	'job [0-9]+ failed: .*apt-get failed .*grub-efi-amd64-signed'
ok "the files placed before stay" cmp "$o/grub.deb" "$root/grubx64.efi"
cp "$SECBOOT_DEB_CACHE"/grub-efi-amd64-signed_*.deb "$r/pool/"

# The repository over HTTP on loopback (busybox httpd), as a mirror would be.
hport=$(free_port)
busybox httpd -f -p "127.0.0.1:$hport" -h "$r" &
httpd=$!
trap 'kill "$httpd" 2>/dev/null; droverd_stop KILL; rm -rf "$TAP_TMP"' EXIT
i=0
until curl -sf -o /dev/null "http://127.0.0.1:$hport/Packages" || [ $i -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
(cd "$r" && apt-ftparchive packages pool >Packages 2>/dev/null)
echo "deb [trusted=yes] http://127.0.0.1:$hport/ ./" >"$r/sources.list"
ok "apt-get update from the loopback mirror" env APT_CONFIG="$r/apt.conf" apt-get -q update
rm -rf "$state/bootfiles-src/debs"
ok "drover pxe setup --download from it" "$DROVER" pxe setup --download
shim_pool=$(ls "$r/pool"/shim-signed_*.deb)
cp "$shim_pool" "$o/shim-pool.deb"
printf 'XXXX' | dd of="$shim_pool" bs=1 seek=2000 conv=notrunc 2>/dev/null
out=$("$DROVER" pxe setup --download 2>&1)
ok "a .deb that is not what the index lists fails" test $? -ne 0
like "naming its URL and the checksum mismatch" "$out" \
	"job [0-9]+ failed: .*Failed to fetch http://127\.0\.0\.1:$hport/pool/shim-signed_[^ ]*\.deb +Hash Sum mismatch"
cp "$o/shim-pool.deb" "$shim_pool"
kill "$httpd"
wait "$httpd" 2>/dev/null
out=$("$DROVER" pxe setup --download 2>&1)
ok "an unreachable mirror fails" test $? -ne 0
like "naming the URL apt could not fetch" "$out" \
	"job [0-9]+ failed: .*Failed to fetch http://127\.0\.0\.1:$hport/pool/[^ ]*\.deb +Could not connect"
like "droverd kept serving" "$("$DROVER" pxe status 2>&1)" 'shimx64\.efi +present'
ok "and Debian's files stayed" cmp "$o/shim.deb" "$root/shimx64.efi"
done_testing
