#!/bin/sh
# prov_bootfetch.sh - the boot_files_fetch job against mirrors the test serves (python3's
# http.server over a Debian-shaped and a Red Hat-shaped tree): kernel and initrd verified
# against SHA256SUMS / .treeinfo and cached in the TFTP root; iPXE then boots droverd's
# copies; a wrong checksum leaves nothing behind.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
command -v python3 >/dev/null || skip_all "python3 is not installed"
command -v sha256sum >/dev/null || skip_all "sha256sum is not installed"

m=$TAP_TMP/mirror
img=$m/debian/dists/bookworm/main/installer-amd64/current/images
mkdir -p "$img/netboot/debian-installer/amd64" "$m/rocky/9/BaseOS/x86_64/os/images/pxeboot"
head -c 300000 /dev/urandom >"$img/netboot/debian-installer/amd64/linux"
head -c 500000 /dev/urandom >"$img/netboot/debian-installer/amd64/initrd.gz"
(cd "$img" && sha256sum ./netboot/debian-installer/amd64/linux \
	./netboot/debian-installer/amd64/initrd.gz >SHA256SUMS)
r=$m/rocky/9/BaseOS/x86_64/os
head -c 200000 /dev/urandom >"$r/images/pxeboot/vmlinuz"
head -c 400000 /dev/urandom >"$r/images/pxeboot/initrd.img"
printf '[general]\nname = Rocky 9\n[checksums]\nimages/pxeboot/vmlinuz = sha256:%s\nimages/pxeboot/initrd.img = sha256:%s\n' \
	"$(sha256sum "$r/images/pxeboot/vmlinuz" | cut -d' ' -f1)" \
	"$(sha256sum "$r/images/pxeboot/initrd.img" | cut -d' ' -f1)" >"$r/.treeinfo"

# Port 0: the kernel picks a free port, which the server prints ("… port N …").
python3 -u -m http.server -b 127.0.0.1 -d "$m" 0 >"$TAP_TMP/http.out" 2>&1 &
HTTP_PID=$!
trap 'kill $HTTP_PID 2>/dev/null; droverd_stop KILL; rm -rf "$TAP_TMP"' EXIT
i=0
port=
until [ -n "$port" ] || [ $i -ge 50 ]; do
	sleep 0.1
	port=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$TAP_TMP/http.out")
	i=$((i + 1))
done

ok "droverd starts" droverd_start "$TAP_TMP/state"
ok "drover login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
ok "a Debian medium on the local mirror" "$DROVER" medium create --name local-debian \
	--path "http://127.0.0.1:$port/debian" --os-family Debian
ok "a Rocky medium on the local mirror" "$DROVER" medium create --name local-rocky \
	--path "http://127.0.0.1:$port/rocky/\$major/BaseOS/\$arch/os" --os-family Redhat
ok "host on Debian 12 from that medium" "$DROVER" host create --name f1 \
	--mac 52:54:00:00:20:01 --medium local-debian
ok "build f1" "$DROVER" host build f1
like "before the fetch iPXE boots from the mirror" \
	"$(curl -s "$DROVERD_URL/unattended/iPXE?mac=52:54:00:00:20:01")" \
	"kernel http://127\.0\.0\.1:$port/debian/dists/bookworm/"
out=$("$DROVER" job run boot_files_fetch -p operatingsystem='Debian 12' -p medium=local-debian \
	--follow 2>&1)
is "boot_files_fetch for Debian 12 succeeds" "$?" 0
like "verified against SHA256SUMS" "$out" 'checksums from .*/current/images/SHA256SUMS'
cache=$TAP_TMP/state/tftp/boot/Debian_12-$(sqlite3 "$TAP_TMP/state/drover.db" \
	"SELECT id FROM prov_media WHERE name='local-debian'" 2>/dev/null || echo 5)-x86_64
ok "the kernel is cached byte for byte" cmp "$img/netboot/debian-installer/amd64/linux" \
	"$cache/linux"
ok "and the initrd" cmp "$img/netboot/debian-installer/amd64/initrd.gz" "$cache/initrd"
like "iPXE now boots droverd's copies" \
	"$(curl -s "$DROVERD_URL/unattended/iPXE?mac=52:54:00:00:20:01")" \
	"kernel $DROVERD_URL/pxe/files/boot/Debian_12-[0-9]+-x86_64/linux "
ok "which droverd serves over HTTP" sh -c "curl -sf \
	'$DROVERD_URL/pxe/files/$(basename "$(dirname "$cache")")/$(basename "$cache")/linux' | \
	cmp - '$cache/linux'"
out=$("$DROVER" job run boot_files_fetch -p operatingsystem='Rocky 9' -p medium=local-rocky \
	--follow 2>&1)
is "boot_files_fetch for Rocky 9 (.treeinfo) succeeds" "$?" 0
like "verified against .treeinfo" "$out" 'checksums from .*/rocky/9/BaseOS/x86_64/os/\.treeinfo'
# A tampered mirror: the kernel no longer matches its checksum.
head -c 1000 /dev/urandom >>"$r/images/pxeboot/vmlinuz"
rm -rf "$TAP_TMP"/state/tftp/boot/Rocky_9-*
out=$("$DROVER" job run boot_files_fetch -p operatingsystem='Rocky 9' -p medium=local-rocky \
	--follow 2>&1)
is "a kernel that does not match fails the job" "$?" 1
like "naming the file" "$out" 'vmlinuz'
ok "and nothing is cached" sh -c "! ls '$TAP_TMP'/state/tftp/boot/Rocky_9-*/linux 2>/dev/null"
out=$("$DROVER" job run boot_files_fetch -p operatingsystem='Debian 12' -p medium=nope \
	--follow 2>&1)
like "an unknown medium is named" "$out" "no medium 'nope'"
done_testing
