#!/bin/sh
# pxe_secureboot.sh - UEFI Secure Boot end to end, as root: OVMF's Secure Boot build with
# Microsoft's keys enrolled (q35, SMM) PXE-boots on a subnet whose pxe_loader is "Grub2
# UEFI SecureBoot". dnsmasq (configured from droverd's subnet) hands out shimx64.efi;
# droverd's TFTP serves Debian's signed shim (Microsoft's UEFI CA), shim loads Debian's
# signed grubnetx64 as grubx64.efi, GRUB reads grub/grub.cfg, which hands over to
# grub.cfg-01-<mac> that droverd makes for the host. The boot loaders come from .debs
# (`drover pxe setup --from`; never installed on this machine).
# First the VM is shown an unsigned kernel (GRUB refuses it through shim) and an unsigned
# EFI binary (the firmware refuses it), while droverd builds a Debian 12 image with
# mmdebstrap from the .debs tests/run-all downloaded (tests/lib/image.sh), and a second VM,
# with a MAC droverd has no host for, gets grub.cfg-discovery: GRUB boots the discovery
# image (the signed kernel) under Secure Boot, which posts its facts. Then the first VM
# boots Debian's signed kernel with Drover's installer initramfs, which writes that image
# with the signed boot chain on the disk's EFI system partition (shim, Debian's signed
# GRUB, its grub.cfg at /EFI/debian) and posts built; then the same VM, Secure Boot still
# enforced, boots its disk through shim and GRUB into the installed Debian, whose sshd
# answers; over SSH: the kernel says Secure Boot is on, and the ESP's binaries carry
# Microsoft's and Debian's signatures. Prints the time of each boot phase.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/secboot.sh"
. "$top_srcdir/tests/lib/image.sh"
. "$top_srcdir/tests/lib/pxe_vm.sh"
: "${top_builddir:?}"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespace, tap device)"
once_per_run
m=$(pxe_vm_missing qemu-system-x86_64 dnsmasq busybox ip curl cpio gzip sfdisk mke2fs \
	modprobe dpkg-deb sbverify sbattach ssh-keygen ssh mmdebstrap apt-ftparchive nginx \
	mkfs.vfat zstd blkid) && skip_all "$m is not installed"
code=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd
vars=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
[ -r "$code" ] && [ -r "$vars" ] || skip_all "no Secure Boot OVMF ($code, $vars: ovmf package)"
secboot_debs_present "$SECBOOT_DEB_CACHE" ||
	skip_all "no signed shim/GRUB .debs in $SECBOOT_DEB_CACHE (tests/run-all's dependency step downloads them)"
image_debs_present "$IMAGE_DEB_CACHE" ||
	skip_all "no image packages in $IMAGE_DEB_CACHE (tests/run-all downloads them)"
kver=$(ls /lib/modules | sort -V | tail -1)
kernel=/boot/vmlinuz-$kver
[ -r "$kernel" ] || skip_all "no Debian kernel in /boot (linux-image-amd64)"
sbverify --list "$kernel" 2>/dev/null | grep -q 'Debian Secure Boot Signer' ||
	skip_all "$kernel is not signed by Debian"

d=$TAP_TMP
PXE_DIR=$d
MAC=52:54:00:12:36:01
IP=198.18.0.41
IMAGE_PID=
NGINX_PID=
PXE_VM_PIDVARS="$PXE_VM_PIDVARS IMAGE_PID NGINX_PID"

pxe_vm_net drover-pxesb || skip_all "cannot create a network namespace"
state=$PXE_STATE
root=$PXE_ROOT
ok "test network is up" nsx ip -4 addr show br0

# --- droverd in the namespace, TFTP and HTTP on the bridge address.
ok "droverd is ready in the namespace, drover logged in" \
	pxe_vm_droverd "$(printf 'log:\n  debug: [tftp]\n')"

# --- the signed boot loaders from the .debs (unpacked by droverd), and the installer.
drover --json pxe setup --from "$SECBOOT_DEB_CACHE" >"$d/setup.json" 2>&1
ok "drover pxe setup --from the signed packages' .debs" grep -q '"installer_job"' "$d/setup.json"
like "shimx64.efi placed, checked against shim-signed's md5sums" \
	"$(tr -d ' \n' <"$d/setup.json")" '"shimx64.efi":\{[^}]*"md5sums":"verified"'
like "grubx64.efi (grubnetx64) too" "$(tr -d ' \n' <"$d/setup.json")" \
	'"grubx64.efi":\{[^}]*"md5sums":"verified"'
like "shim is signed by Microsoft's UEFI CA" "$(sbverify --list "$root/shimx64.efi" 2>&1)" \
	'Microsoft Corporation UEFI CA 2011'
job=$(tr -d ' \n' <"$d/setup.json" | sed -n 's/.*"installer_job":\([0-9]*\).*/\1/p')
ok "the installer build succeeds" drover job follow "$job"
like "the installer's kernel is Debian's signed one" \
	"$(sbverify --list "$root/drover-installer/vmlinuz" 2>&1)" 'Debian Secure Boot Signer'

# --- the image, built while the VM is shown unsigned binaries: mmdebstrap as a droverd job,
# from a repository of the .debs tests/run-all downloaded, served by nginx in the namespace.
like "repository of the image's packages" "$(image_repo_build "$d/repo" 2>&1; echo rc=$?)" 'rc=0$'
image_repo_serve "$d/repo" "$PXE_NS" 198.18.0.1:8081
NGINX_PID=$IMAGE_NGINX_PID
ok "nginx serves it" nsx curl -sf -o /dev/null http://198.18.0.1:8081/debian/dists/bookworm/Release
excl=/usr/share/doc/*,/usr/share/man/*,/usr/share/locale/*
for m in drivers/gpu drivers/media drivers/net/wireless drivers/infiniband sound \
	drivers/staging drivers/bluetooth drivers/iio drivers/isdn; do
	excl="$excl,/lib/modules/*/kernel/$m/*"
done
ti=$(date +%s)
drover image create sbimg --suite bookworm --mirror http://198.18.0.1:8081/debian --trusted \
	--exclude "$excl" --follow >"$d/image.log" 2>&1 &
IMAGE_PID=$!

ok "a subnet booting UEFI clients through the signed shim" drover subnet create --name sb \
	--network 198.18.0.0 --mask 255.255.255.0 --from 198.18.0.100 --to 198.18.0.200 \
	--pxe-loader 'Grub2 UEFI SecureBoot'

# restart_dnsmasq: dnsmasq (DHCP only) started again to read droverd's configuration, with
# an empty log.
restart_dnsmasq() {
	pxe_vm_dnsmasq_stop
	: >"$d/dnsmasq.log"
	pxe_vm_dnsmasq "$d/dnsmasq.log"
}

# vm CONSOLE [MAC]: the Secure Boot VM (Microsoft's keys in a fresh copy of the variables),
# network boot from virtio-net (MAC, default $MAC) without an iPXE option ROM, then its
# disk; serial console to CONSOLE.
vm() {
	cp "$vars" "$d/vars.fd"
	: >"$1"
	pxe_vm_qemu -m 768 -no-reboot -machine q35,smm=on \
		-global driver=cfi.pflash01,property=secure,value=on \
		-drive if=pflash,format=raw,unit=0,readonly=on,file="$code" \
		-drive if=pflash,format=raw,unit=1,file="$d/vars.fd" -serial "file:$1" \
		-device virtio-net-pci,netdev=n0,mac="${2:-$MAC}",romfile=,bootindex=1 \
		-drive if=none,id=d0,format=raw,file="$d/disk.img" \
		-device virtio-blk-pci,drive=d0,bootindex=2
}
truncate -s 3G "$d/disk.img"
# --- an unsigned kernel: GRUB asks shim to verify it and refuses to boot it.
mkdir -p "$root/test"
cp "$kernel" "$root/test/vmlinuz-unsigned"
sbattach --remove "$root/test/vmlinuz-unsigned" >/dev/null 2>&1
ok "a copy of the kernel without its signature" \
	sh -c "! sbverify --list '$root/test/vmlinuz-unsigned' 2>&1 | grep -q 'Debian Secure Boot'"
cat >"$d/unsigned.tmpl" <<'T'
set default=0
set timeout=0
menuentry 'unsigned kernel' {
  linux /test/vmlinuz-unsigned console=ttyS0,115200
  initrd /drover-installer/initrd.img
}
T
ok "a PXEGrub2 template booting it" drover template create --name "SB unsigned" \
	--kind PXEGrub2 --template-file "$d/unsigned.tmpl"
ok "an OS with that template" drover os create --name Unsigned --family Debian --major 12 \
	--default-template "SB unsigned,Drover iPXE"
ssh-keygen -q -t ed25519 -N '' -C sb -f "$d/id"
ok "a host sb1 on that OS" drover host create --name sb1 --mac "$MAC" --ip "$IP" \
	--operatingsystem Unsigned --provision-method build \
	-p "ssh_authorized_keys=$(cat "$d/id.pub")"
ok "in build" drover host build sb1
ok "dnsmasq runs" pxe_vm_dnsmasq "$d/dnsmasq.log"
t1=$(date +%s)
vm "$d/console2.log"
ok "GRUB refuses the unsigned kernel" pxe_vm_wait_console "$d/console2.log" \
	'error: bad shim signature' 300
echo "# refusal after $(($(date +%s) - t1)) s"
pxe_vm_stop
ok "GRUB had fetched it" grep -q 'RRQ test/vmlinuz-unsigned' "$d/droverd.log"
ok "and it never started" sh -c "! tr -d '\r' <'$d/console2.log' | grep -aq 'Linux version'"

# --- an unsigned EFI binary: the firmware refuses iPXE's snponly.efi (not signed).
ok "the subnet hands out snponly.efi" drover subnet update sb --pxe-loader 'iPXE Chain UEFI'
restart_dnsmasq
ok "dnsmasq restarted with it" kill -0 "$DNSMASQ_PID"
t1=$(date +%s)
vm "$d/console3.log"
ok "OVMF refuses to run it" pxe_vm_wait_console "$d/console3.log" \
	'BdsDxe: failed to load Boot[0-9]+ "UEFI PXEv4 .*: Access Denied' 300
sleep 1
echo "# refusal after $(($(date +%s) - t1)) s"
pxe_vm_stop
like "dnsmasq handed out snponly.efi" "$(cat "$d/dnsmasq.log")" 'bootfile-name +snponly\.efi'
like "after fetching it" "$(tr -d '\r' <"$d/console3.log")" \
	'NBP filename is snponly\.efi'
ok "no iPXE ever ran" sh -c "! tr -d '\r' <'$d/console3.log' | grep -aq 'iPXE'"
ok "the subnet hands out shimx64.efi again" drover subnet update sb \
	--pxe-loader 'Grub2 UEFI SecureBoot'
restart_dnsmasq

# --- discovery through GRUB: a machine with no host gets grub.cfg-discovery, which boots
# the discovery image: Drover's installer (Debian's signed kernel and the installer's
# initramfs), made the discovery image by `drover pxe setup --discovery`; its /init posts
# the machine's facts and powers off. Then `--no-discovery` turns discovery off again.
drover --json pxe setup --from "$SECBOOT_DEB_CACHE" --discovery >"$d/setup2.json" 2>&1
job=$(tr -d ' \n' <"$d/setup2.json" | sed -n 's/.*"installer_job":\([0-9]*\).*/\1/p')
ok "drover pxe setup --discovery: the installer build makes it the discovery image" \
	drover job follow "$job"
ok "discovery/vmlinuz is the installer's signed kernel" \
	test "$root/discovery/vmlinuz" -ef "$root/drover-installer/vmlinuz"
ok "discovery/initrd.img is the installer's initramfs" \
	test "$root/discovery/initrd.img" -ef "$root/drover-installer/initrd.img"
like "drover pxe status says so" "$(drover pxe status 2>&1)" \
	"DISCOVERY +on: Drover's installer is the discovery image"
like "GRUB's discovery configuration is served" \
	"$(nsx curl -sf "tftp://198.18.0.1/grub/grub.cfg-discovery")" 'linux /discovery/vmlinuz '
MAC2=52:54:00:12:36:02
t1=$(date +%s)
vm "$d/console5.log" "$MAC2"
ok "an unknown VM boots the discovery image under Secure Boot, posts its facts" pxe_vm_wait_console \
	"$d/console5.log" "drover-discovery: posted the facts of $MAC2" 300
ok "and powers off" pxe_vm_wait_exit 10
echo "# discovery: power-on to facts posted $(($(date +%s) - t1)) s"
pxe_vm_stop
con=$(tr -d '\r' <"$d/console5.log")
like "GRUB said why" "$con" "Drover: $MAC2 is unknown: booting the discovery image"
like "its kernel says Secure Boot is on" "$con" 'secureboot: Secure boot enabled'
ok "GRUB fetched grub.cfg-discovery" grep -q 'RRQ grub/grub\.cfg-discovery' "$d/droverd.log"
echo "# $(printf '%s\n' "$con" | grep -a 'drover-discovery: facts:' | head -1)"
like "it is listed with its facts" "$(drover discovered list 2>&1)" \
	"$MAC2 +198\.18\.0\.[0-9]+ +1 +[0-9]+ "
# fact EXPR: a Python expression over f, the facts the VM posted (drover discovered show).
drover discovered show "$MAC2" >"$d/discovered.json" 2>&1
fact() {
	python3 -c 'import json, sys
f = json.load(open(sys.argv[1]))["facts"]
print(eval(sys.argv[2]))' "$d/discovered.json" "$1" 2>&1
}
is "the MAC it booted from" "$(fact 'f["mac"]')" "$MAC2"
is "1 CPU (qemu's default)" "$(fact 'f["cpus"]')" 1
like "and its model" "$(fact 'f["cpu_model"]')" '[A-Za-z]'
is "memory: a little under qemu's -m 768" "$(fact '600 <= f["memory_mb"] <= 768')" True
is "the virtio disk: vda, 3 GiB" \
	"$(fact '[(x["name"], x["size_bytes"]) for x in f["disks"]]')" "[('vda', 3221225472)]"
is "its NIC: MAC and link up" \
	"$(fact '[(x["mac"], x["link"]) for x in f["nics"]]')" "[('$MAC2', True)]"
is "firmware UEFI" "$(fact 'f["firmware"]')" uefi
is "Secure Boot on" "$(fact 'f["secure_boot"]')" True
is "manufacturer from DMI" "$(fact 'f["manufacturer"]')" QEMU
like "product from DMI" "$(fact 'f["product"]')" 'Q35'
like "searchable by the new facts" \
	"$(drover --json discovered list --search 'firmware = uefi and secure_boot = true and disk_gb >= 3' 2>&1 | tr -d ' \n')" \
	"\"mac\":\"$MAC2\""
drover --json pxe setup --from "$SECBOOT_DEB_CACHE" --no-discovery >"$d/setup3.json" 2>&1
ok "drover pxe setup --no-discovery" grep -q '"discovery": *"off"' "$d/setup3.json"
ok "removes the discovery image" test ! -e "$root/discovery/vmlinuz"
job=$(tr -d ' \n' <"$d/setup3.json" | sed -n 's/.*"installer_job":\([0-9]*\).*/\1/p')
ok "(its installer build)" drover job follow "$job"

# --- the image.
wait "$IMAGE_PID"
ok "drover image create sbimg builds it" test $? -eq 0
IMAGE_PID=
echo "# image built in $(($(date +%s) - ti)) s (alongside the two refusals and discovery)"
like "drover image list shows it ready" "$(drover image list 2>&1)" 'sbimg +bookworm +ready'
nsx curl -s "$U/images/sbimg.tar" | tar -t >"$d/image.list" 2>/dev/null
like "it holds the signed shim" "$(cat "$d/image.list")" '\./usr/lib/shim/shimx64\.efi\.signed'
like "and Debian's signed GRUB" "$(cat "$d/image.list")" \
	'\./usr/lib/grub/x86_64-efi-signed/grubx64\.efi\.signed'

# --- the signed chain: shim, GRUB, kernel, installer, the image, built.
ok "sb1 on Debian 12 with the image method and that image" drover host update sb1 \
	--operatingsystem "Debian 12" --provision-method image --image sbimg
ok "drover host build sb1" drover host build sb1
gc=grub/grub.cfg-01-$(echo "$MAC" | tr ':' '-')
like "its grub.cfg-01-<mac> boots the installer's signed kernel from the TFTP root" \
	"$(nsx curl -sf "tftp://198.18.0.1/$gc")" 'linux /drover-installer/vmlinuz .url=http'
: >"$d/phases"
# Only what droverd logs from now on (the test fetched grub.cfg-01-<mac> itself above).
l0=$(wc -l <"$d/droverd.log")
t0n=$(date +%s%N)
t0=$(date +%s)
vm "$d/console.log"
phases_poll() {
	now=$((($(date +%s%N) - t0n) / 1000000))
	seen() { grep -q "^$1 " "$d/phases" || echo "$1 $now" >>"$d/phases"; }
	c=$(tr -d '\r' <"$d/console.log" 2>/dev/null)
	tail -n +$((l0 + 1)) "$d/droverd.log" >"$d/droverd.now"
	grep -q "DHCPACK(br0) [0-9.]* $MAC" "$d/dnsmasq.log" && seen dhcp
	grep -q 'RRQ shimx64\.efi' "$d/droverd.now" && seen shim
	grep -q 'RRQ grubx64\.efi' "$d/droverd.now" && seen grub
	grep -q "RRQ $gc" "$d/droverd.now" && seen grub_cfg
	grep -q 'RRQ drover-installer/vmlinuz' "$d/droverd.now" && seen kernel
	grep -q 'RRQ drover-installer/initrd.img' "$d/droverd.now" && seen initrd
	echo "$c" | grep -aq 'Linux version' && seen linux
	echo "$c" | grep -aq 'drover-installer: up' && seen installer
	echo "$c" | grep -aq 'drover: writing' && seen image
	echo "$c" | grep -aq 'drover: installing the boot loader' && seen boot_loader
	grep -q 'host sb1 built' "$d/droverd.now" && seen built
	return 0
}
pxe_vm_wait_exit 900 phases_poll
echo "# Secure Boot install VM ran for $(($(date +%s) - t0)) s"
pxe_vm_phases "every phase was seen, in order: DHCP, shim, GRUB, grub.cfg-01-<mac>, kernel, initrd, Linux, installer, image, boot loader, built" \
	"dhcp shim grub grub_cfg kernel initrd linux installer image boot_loader built "
ok "the VM installed and rebooted within 900 s" sh -c "! kill -0 $QEMU_PID 2>/dev/null"
QEMU_PID=
like "OVMF asked as a UEFI client and got shimx64.efi" "$(cat "$d/dnsmasq.log")" \
	'bootfile-name +shimx64\.efi'
like "GRUB read grub/grub.cfg (its prefix is /grub)" "$(cat "$d/droverd.log")" 'RRQ grub/grub\.cfg '
con=$(tr -d '\r' <"$d/console.log")
like "the kernel reports Secure Boot enabled" "$con" 'secureboot: Secure boot enabled'
like "the EFI stub saw it on" "$con" 'EFI stub: UEFI Secure Boot is enabled'
like "shim fetched GRUB from droverd" "$con" 'Fetching Netboot Image grubx64\.efi'
like "the installer put the signed chain on the disk" "$con" \
	'drover: boot loader: shim and GRUB signed for Secure Boot'
like "sb1 is installed" "$(drover host list 2>&1)" 'sb1 +- +Debian 12 +installed +false'
drover host known-hosts sb1 >"$d/kh" 2>&1
like "with its new host key" "$(cat "$d/kh")" "^sb1,$IP ssh-ed25519 "
like "its grub.cfg-01-<mac> now chainloads the disk's boot loader" \
	"$(nsx curl -sf "tftp://198.18.0.1/$gc" | tr '\n' ' ')" \
	"menuentry 'Local disk' \\{ +for f in /EFI/BOOT/BOOTX64\\.EFI .* chainloader "

# --- the same VM, Secure Boot still enforced: PXE (shim, GRUB from droverd), which
# chainloads the disk's shim; shim and GRUB from the disk, Debian, sshd.
t1=$(date +%s)
vm "$d/console4.log"
pxe_vm_wait_ssh "$IP" 600
echo "# power-on to sshd of the installed system: $(($(date +%s) - t1)) s"
like "the installed system's sshd answers" \
	"$(nsx sh -c "echo | busybox nc -w 2 $IP 22" 2>&1)" 'SSH-2\.0-OpenSSH'
con=$(tr -d '\r' <"$d/console4.log")
like "it network-booted first: GRUB from droverd chainloaded the disk's shim" "$con" \
	"Drover: booting the local disk's /EFI/BOOT/BOOTX64\\.EFI"
like "GRUB booted the installed system from the disk" "$con" 'Debian GNU/Linux \(sb1'
like "whose kernel reports Secure Boot enabled" "$con" 'secureboot: Secure boot enabled'
sshx() { pxe_vm_ssh "$IP" "$d/kh" "$d/id" "$@"; }
mkdir -p "$d/esp"
sshx 'mount -t securityfs securityfs /sys/kernel/security 2>/dev/null; cat /sys/kernel/security/lockdown' \
	>"$d/lockdown" 2>&1
like "over SSH (the recorded host key): the kernel is locked down, as it is only under Secure Boot" \
	"$(cat "$d/lockdown")" 'none \[integrity\] confidentiality'
like "mokutil says Secure Boot is on" "$(sshx mokutil --sb-state 2>&1)" 'SecureBoot enabled'
for f in BOOT/BOOTX64.EFI BOOT/grubx64.efi BOOT/mmx64.efi debian/grub.cfg BOOT/grub.cfg; do
	sshx cat "/boot/efi/EFI/$f" >"$d/esp/$(echo "$f" | tr / _)" 2>/dev/null
done
like "EFI/BOOT/BOOTX64.EFI is shim, signed by Microsoft's UEFI CA" \
	"$(sbverify --list "$d/esp/BOOT_BOOTX64.EFI" 2>&1)" 'Microsoft Corporation UEFI CA 2011'
like "EFI/BOOT/grubx64.efi is GRUB signed by Debian" \
	"$(sbverify --list "$d/esp/BOOT_grubx64.efi" 2>&1)" 'Debian Secure Boot Signer'
like "whose prefix is /EFI/debian" "$(tr -c '[:print:]' '\n' <"$d/esp/BOOT_grubx64.efi")" \
	'^/EFI/debian$'
like "where its grub.cfg finds the root file system and its /boot/grub/grub.cfg" \
	"$(tr '\n' ' ' <"$d/esp/debian_grub.cfg")" \
	"search.fs_uuid [0-9a-f-]+ root .*configfile \\\$prefix/grub.cfg"
ok "MokManager is there too" test -s "$d/esp/BOOT_mmx64.efi"
pxe_vm_stop

if [ "$tap_failed" -ne 0 ]; then
	pxe_vm_tails "$d"/console*.log "$d/image.log" "$d/dnsmasq.log" "$d/droverd.log" "$d/qemu.log"
fi
done_testing
