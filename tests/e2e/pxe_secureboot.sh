#!/bin/sh
# pxe_secureboot.sh - UEFI Secure Boot end to end, as root: OVMF's Secure Boot build with
# Microsoft's keys enrolled (q35, SMM) PXE-boots on a subnet whose pxe_loader is "Grub2
# UEFI SecureBoot". dnsmasq (configured from droverd's subnet) hands out shimx64.efi;
# droverd's TFTP serves Debian's signed shim (Microsoft's UEFI CA), shim loads Debian's
# signed grubnetx64 as grubx64.efi, GRUB reads grub/grub.cfg, which hands over to
# grub.cfg-01-<mac> that droverd makes for the host, and boots Debian's signed kernel
# (shim verifies it) with Drover's installer initramfs; the installer fetches the host's
# provision script from droverd, which posts built. The boot loaders come from .debs
# (`drover pxe setup --from`; never installed on this machine). Then the same VM is shown
# an unsigned kernel (GRUB refuses it through shim) and an unsigned EFI binary (the
# firmware refuses it). Prints the time of each boot phase.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/secboot.sh"
: "${top_builddir:?}"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespace, tap device)"
once_per_run
for c in qemu-system-x86_64 dnsmasq busybox ip curl cpio gzip sfdisk mke2fs modprobe \
	dpkg-deb sbverify sbattach ssh-keygen; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || [ -x "/sbin/$c" ] ||
		skip_all "$c is not installed"
done
code=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd
vars=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
[ -r "$code" ] && [ -r "$vars" ] || skip_all "no Secure Boot OVMF ($code, $vars: ovmf package)"
secboot_debs_present "$SECBOOT_DEB_CACHE" ||
	skip_all "no signed shim/GRUB .debs in $SECBOOT_DEB_CACHE (tests/run-all's dependency step downloads them)"
kver=$(ls /lib/modules | sort -V | tail -1)
kernel=/boot/vmlinuz-$kver
[ -r "$kernel" ] || skip_all "no Debian kernel in /boot (linux-image-amd64)"
sbverify --list "$kernel" 2>/dev/null | grep -q 'Debian Secure Boot Signer' ||
	skip_all "$kernel is not signed by Debian"

ns=drover-pxesb-$$
d=$TAP_TMP
state=$d/state
root=$d/tftp
U=http://198.18.0.1:8080
MAC=52:54:00:12:36:01
IP=198.18.0.41
DROVERD_PID=
DNSMASQ_PID=
QEMU_PID=
cleanup() {
	for p in $QEMU_PID $DNSMASQ_PID $DROVERD_PID; do
		kill "$p" 2>/dev/null
	done
	for p in $QEMU_PID $DNSMASQ_PID $DROVERD_PID; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$p" 2>/dev/null
	done
	ip netns del "$ns" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$TAP_TMP"
}
trap cleanup EXIT INT TERM
nsx() { ip netns exec "$ns" "$@"; }

ip netns add "$ns" || skip_all "cannot create a network namespace"
nsx ip link set lo up
nsx ip link add br0 type bridge
nsx ip tuntap add dev tap0 mode tap
nsx ip link set tap0 master br0
nsx ip addr add 198.18.0.1/24 dev br0
nsx ip link set tap0 up
nsx ip link set br0 up
ok "test network is up" nsx ip -4 addr show br0

# --- droverd in the namespace, TFTP and HTTP on the bridge address.
printf 'tftp:\n  root: %s\nlog:\n  debug: [tftp]\n' "$root" >"$d/droverd.yml"
DROVER_ADMIN_PASSWORD=e2e-password ip netns exec "$ns" "$top_builddir/droverd" \
	--config "$d/droverd.yml" --listen 198.18.0.1:8080 --tftp-listen 198.18.0.1:69 \
	--state-dir "$state" >"$d/droverd.log" 2>&1 &
DROVERD_PID=$!
i=0
until grep -q ' ready in ' "$d/droverd.log" 2>/dev/null || [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
ok "droverd is ready in the namespace" grep -q ' ready in ' "$d/droverd.log"
export DROVER_CONFIG="$d/cli.yml" DROVER_SERVER=$U
ok "drover login" nsx env DROVER_PASSWORD=e2e-password "$top_builddir/drover" login
drover() { nsx "$top_builddir/drover" "$@"; }

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

# The host's provision script (the installer runs it): reports what the firmware says of
# Secure Boot, then posts built with a test key.
ssh-keygen -q -t ed25519 -N '' -C sb -f "$d/hostkey"
cat >"$d/provision.tmpl" <<T
#!/bin/sh
echo "drover-sb: provisioning {{ host.name }}"
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
echo "drover-sb: lockdown \$(cat /sys/kernel/security/lockdown)"
echo '$(cat "$d/hostkey.pub")' > /tmp/keys
wget -q -O /dev/null --header 'Content-Type: text/plain' --post-file /tmp/keys '{{ drover_url("built") }}'
T
ok "the test's provision script" drover template create --name "SB provision" --kind provision \
	--template-file "$d/provision.tmpl"
ok "a subnet booting UEFI clients through the signed shim" drover subnet create --name sb \
	--network 198.18.0.0 --mask 255.255.255.0 --from 198.18.0.100 --to 198.18.0.200 \
	--pxe-loader 'Grub2 UEFI SecureBoot'
ok "a host of the image method (Drover's installer)" drover host create --name sb1 \
	--mac "$MAC" --ip "$IP" --operatingsystem "Debian 12" --provision-method image \
	-p "image_template=SB provision"
ok "drover host build sb1" drover host build sb1
gc=grub/grub.cfg-01-$(echo "$MAC" | tr ':' '-')
like "its grub.cfg-01-<mac> boots the installer's signed kernel from the TFTP root" \
	"$(nsx curl -sf "tftp://198.18.0.1/$gc")" 'linux /drover-installer/vmlinuz .url=http'

# dnsmasq (DHCP only) with droverd's configuration.
start_dnsmasq() {
	ip netns exec "$ns" /usr/sbin/dnsmasq -d --port=0 --user=root --interface=br0 \
		--bind-interfaces --conf-file="$state/pxe/dnsmasq.conf" \
		--dhcp-leasefile="$d/leases" --log-dhcp >>"$d/dnsmasq.log" 2>&1 &
	DNSMASQ_PID=$!
	sleep 0.5
}
start_dnsmasq
ok "dnsmasq runs" kill -0 "$DNSMASQ_PID"

# vm CONSOLE: the Secure Boot VM (Microsoft's keys in a fresh copy of the variables),
# network boot from virtio-net without an iPXE option ROM, serial console to CONSOLE.
vm() {
	cp "$vars" "$d/vars.fd"
	: >"$1"
	ip netns exec "$ns" qemu-system-x86_64 -accel tcg -m 768 -nodefaults -display none \
		-no-reboot -machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on \
		-drive if=pflash,format=raw,unit=0,readonly=on,file="$code" \
		-drive if=pflash,format=raw,unit=1,file="$d/vars.fd" \
		-serial "file:$1" \
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
		-device virtio-net-pci,netdev=n0,mac="$MAC",romfile=,bootindex=1 \
		>>"$d/qemu.log" 2>&1 &
	QEMU_PID=$!
}
# vm_stop: end the VM (it waits at a prompt after a refusal).
vm_stop() {
	kill "$QEMU_PID" 2>/dev/null
	i=0
	while kill -0 "$QEMU_PID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	kill -9 "$QEMU_PID" 2>/dev/null
	QEMU_PID=
}
# wait_console CONSOLE PATTERN SECONDS: until the console shows PATTERN or the VM ends.
wait_console() {
	i=0
	while [ $i -lt $(($3 * 10)) ]; do
		tr -d '\r' <"$1" 2>/dev/null | grep -aqE "$2" && return 0
		kill -0 "$QEMU_PID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	tr -d '\r' <"$1" 2>/dev/null | grep -aqE "$2"
}

# --- the signed chain: shim, GRUB, kernel, installer, built.
: >"$d/phases"
: >"$d/console.log"
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
	echo "$c" | grep -aq 'drover-sb: provisioning' && seen provision
	grep -q 'host sb1 built' "$d/droverd.now" && seen built
	return 0
}
i=0
while kill -0 "$QEMU_PID" 2>/dev/null && [ $i -lt 6000 ]; do
	phases_poll
	sleep 0.1
	i=$((i + 1))
done
phases_poll
echo "# Secure Boot VM ran for $(($(date +%s) - t0)) s"
echo "# phases (ms after power-on): $(tr '\n' ' ' <"$d/phases")"
is "every phase was seen, in order: DHCP, shim, GRUB, grub.cfg-01-<mac>, kernel, initrd, Linux, installer, provision, built" \
	"$(cut -d' ' -f1 "$d/phases" | tr '\n' ' ')" \
	"dhcp shim grub grub_cfg kernel initrd linux installer provision built "
ok "the VM installed and rebooted within 600 s" sh -c "! kill -0 $QEMU_PID 2>/dev/null"
QEMU_PID=
like "OVMF asked as a UEFI client and got shimx64.efi" "$(cat "$d/dnsmasq.log")" \
	'bootfile-name +shimx64\.efi'
like "GRUB read grub/grub.cfg (its prefix is /grub)" "$(cat "$d/droverd.log")" 'RRQ grub/grub\.cfg '
con=$(tr -d '\r' <"$d/console.log")
like "the kernel reports Secure Boot enabled" "$con" 'secureboot: Secure boot enabled'
like "the EFI stub saw it on" "$con" 'EFI stub: UEFI Secure Boot is enabled'
like "so the running kernel is locked down (integrity), as it is only under Secure Boot" \
	"$con" 'drover-sb: lockdown none \[integrity\] confidentiality'
like "shim fetched GRUB from droverd" "$con" 'Fetching Netboot Image grubx64\.efi'
like "the installer ran the host's provision script" "$con" 'drover-sb: provisioning sb1'
like "sb1 is installed" "$(drover host list 2>&1)" 'sb1 +- +Debian 12 +installed +false'
ok "with its key" grep -qF "$(cut -d' ' -f2 "$d/hostkey.pub")" \
	"$(drover host known-hosts sb1 >"$d/kh" 2>&1; echo "$d/kh")"
like "its grub.cfg-01-<mac> now leaves for the firmware's next boot option (the disk)" \
	"$(nsx curl -sf "tftp://198.18.0.1/$gc" | tr '\n' ' ')" "menuentry 'Local disk' \{ +exit +\}"

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
	--default-template "SB unsigned,SB provision,Drover iPXE"
ok "sb1 on that OS" drover host update sb1 --operatingsystem Unsigned --provision-method build
ok "in build again" drover host build sb1
t1=$(date +%s)
vm "$d/console2.log"
ok "GRUB refuses the unsigned kernel" wait_console "$d/console2.log" \
	'error: bad shim signature' 300
echo "# refusal after $(($(date +%s) - t1)) s"
vm_stop
ok "GRUB had fetched it" grep -q 'RRQ test/vmlinuz-unsigned' "$d/droverd.log"
ok "and it never started" sh -c "! tr -d '\r' <'$d/console2.log' | grep -aq 'Linux version'"

# --- an unsigned EFI binary: the firmware refuses iPXE's snponly.efi (not signed).
ok "the subnet hands out snponly.efi" drover subnet update sb --pxe-loader 'iPXE Chain UEFI'
kill "$DNSMASQ_PID"
wait "$DNSMASQ_PID" 2>/dev/null
: >"$d/dnsmasq.log"
start_dnsmasq
ok "dnsmasq restarted with it" kill -0 "$DNSMASQ_PID"
t1=$(date +%s)
vm "$d/console3.log"
ok "OVMF refuses to run it" wait_console "$d/console3.log" \
	'BdsDxe: failed to load Boot[0-9]+ "UEFI PXEv4 .*: Access Denied' 300
sleep 1
echo "# refusal after $(($(date +%s) - t1)) s"
vm_stop
like "dnsmasq handed out snponly.efi" "$(cat "$d/dnsmasq.log")" 'bootfile-name +snponly\.efi'
like "after fetching it" "$(tr -d '\r' <"$d/console3.log")" \
	'NBP filename is snponly\.efi'
ok "no iPXE ever ran" sh -c "! tr -d '\r' <'$d/console3.log' | grep -aq 'iPXE'"

if [ "$tap_failed" -ne 0 ]; then
	for c in "$d"/console*.log; do echo "# --- $c"; tr -d '\r' <"$c" | tail -25 | sed 's/^/# /'; done
	echo "# --- dnsmasq"; tail -15 "$d/dnsmasq.log" | sed 's/^/# /'
	echo "# --- droverd"; tail -25 "$d/droverd.log" | sed 's/^/# /'
	echo "# --- qemu"; tail -5 "$d/qemu.log" | sed 's/^/# /'
fi
done_testing
