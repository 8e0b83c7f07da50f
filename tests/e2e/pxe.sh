#!/bin/sh
# pxe.sh - end to end, as root: a qemu VM (TCG) with its iPXE ROM on a tap device in a
# network namespace, DHCP from dnsmasq configured by droverd's adapter, droverd's TFTP and
# HTTP in the namespace. The VM PXE-boots Debian's kernel and an initramfs built here with
# busybox; its /init fetches /unattended/provision, runs it, and the script posts
# /unattended/built with the VM's SSH host keys. The host must end installed, keys stored.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/pxe_vm.sh"
: "${top_builddir:?}"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespace, tap device)"
m=$(pxe_vm_missing qemu-system-x86_64 dnsmasq busybox ip ssh-keygen curl cpio gzip) &&
	skip_all "$m is not installed"
kver=$(ls /lib/modules | sort -V | tail -1)
kernel=/boot/vmlinuz-$kver
e1000=/lib/modules/$kver/kernel/drivers/net/ethernet/intel/e1000/e1000.ko
[ -r "$kernel" ] && [ -r "$e1000" ] || skip_all "no Debian kernel with e1000 (linux-image-amd64)"
ldd "$(command -v busybox)" 2>&1 | grep -q 'not a dynamic' ||
	skip_all "busybox is not static: install busybox-static"

d=$TAP_TMP
PXE_DIR=$d
MAC=52:54:00:12:34:56
LIBVIRTD_PID=
PXE_VM_PIDVARS="$PXE_VM_PIDVARS LIBVIRTD_PID"

# --- the network: a bridge with the VM's tap, IPv4 from 198.18.0.0/15, an IPv6 ULA with
# router advertisements.
pxe_vm_net drover-pxe fd00:d0:1: || skip_all "cannot create a network namespace"
state=$PXE_STATE
root=$PXE_ROOT
ok "test network is up" nsx ip -4 addr show br0

# --- the initramfs: busybox, the e1000 and virtio-net drivers, host keys made here, /init.
mkdir -p "$root/test" "$root/discovery"
ok "test initramfs built" pxe_vm_test_initrd "$kver" "$d/initrd.img"
cp "$kernel" "$root/test/vmlinuz"
cp "$d/initrd.img" "$root/test/initrd.img"
# The same image serves as the discovery image.
ln "$root/test/vmlinuz" "$root/discovery/vmlinuz"
ln "$root/test/initrd.img" "$root/discovery/initrd.img"

# --- droverd in the namespace, TFTP and HTTP on the bridge address.
ok "droverd is ready in the namespace, drover logged in" \
	pxe_vm_droverd "$(printf 'log:\n  debug: [tftp]\n')"

# A test OS whose installer is the initramfs above: its provision template is the script
# /init runs; it reports built with the VM's keys.
cat >"$d/provision.tmpl" <<'T'
#!/bin/sh
echo "provisioning {{ host.name }} ({{ os.name }})"
{% include 'drover_host_certificate' %}
echo "{{ host.name }} host certificate: $(grep -c 'BEGIN CERTIFICATE' /etc/drover/host.crt)"
cat /etc/ssh/ssh_host_*_key.pub > /tmp/keys
wget -q -O /dev/null --header 'Content-Type: text/plain' --post-file /tmp/keys '{{ drover_url("built") }}'
T
ok "test OS (iPXE and provision templates, medium served by droverd)" \
	pxe_vm_test_os TestOS "$d/provision.tmpl"
ok "host with the VM's MAC" drover host create --name vm1 --mac "$MAC" --ip 198.18.0.21 \
	--operatingsystem TestOS --medium "TestOS medium"
ok "drover host build vm1" drover host build vm1
like "DHCP reservation for the build" "$(cat "$state/pxe/dhcp-hosts")" \
	"^$MAC,set:drover-build,198\.18\.0\.21,vm1\$"

# --- dnsmasq: DHCP (and RAs) only, with droverd's configuration.
ok "dnsmasq runs" pxe_vm_dnsmasq "$d/dnsmasq.log" \
	--dhcp-range=198.18.0.100,198.18.0.200,255.255.255.0

# --- the VM: network boot only, serial console to a file. run_vm MAC CONSOLE
run_vm() {
	t0=$(date +%s)
	pxe_vm_qemu -m 384 -no-reboot -serial "file:$2" -boot n \
		-drive if=virtio,format=raw,file="$d/disk.img" -device e1000,netdev=n0,mac="$1"
	pxe_vm_wait_exit 180
	r=$?
	echo "# VM $1 ran for $(($(date +%s) - t0)) s"
	return $r
}
truncate -s 64M "$d/disk.img"
ok "the VM boots, installs and powers itself off within 180 s" run_vm "$MAC" "$d/console.log"
like "dnsmasq handed iPXE droverd's URL" "$(cat "$d/dnsmasq.log")" \
	"bootfile-name +$U/unattended/iPXE"
like "the initramfs ran the provision script" "$(cat "$d/console.log")" 'provisioning vm1 \(TestOS\)'
like "vm1 is installed" "$(drover host list 2>&1)" 'vm1 +- +TestOS +installed +false'
like "the VM got its identity certificate (busybox: the CA made the key)" \
	"$(cat "$d/console.log")" 'vm1 host certificate: 2'
like "droverd's CA lists it for vm1" "$(drover ca list --host vm1 2>&1)" 'leaf .*vm1'
drover host known-hosts vm1 >"$d/kh" 2>&1
ok "its ed25519 host key is stored" grep -qF \
	"$(cut -d' ' -f1,2 "$d/ssh_host_ed25519_key.pub")" "$d/kh"
ok "its ECDSA host key too" grep -qF "$(cut -d' ' -f1,2 "$d/ssh_host_ecdsa_key.pub")" "$d/kh"
like "as known_hosts lines with name and address" "$(head -1 "$d/kh")" '^vm1,198\.18\.0\.21 '
like "iPXE now boots it from its disk" \
	"$(nsx curl -s "$U/unattended/iPXE?mac=$MAC")" 'sanboot'

# --- discovery: an unknown machine boots the discovery image and posts its facts; made a
# host, it installs at its next boot.
MAC2=52:54:00:12:34:99
ok "an unknown VM boots and powers off" run_vm "$MAC2" "$d/console2.log"
like "it ran the discovery image" "$(cat "$d/console2.log")" 'drover-test-init: discovered'
like "it is listed with its facts" "$(drover discovered list 2>&1)" \
	"$MAC2 +198\.18\.0\.[0-9]+ +1 +3[0-9][0-9] "
ok "drover discovered provision" drover discovered provision "$MAC2" --name vm2 \
	--operatingsystem TestOS --medium "TestOS medium"
like "vm2 is building" "$(drover host list 2>&1)" 'vm2 +- +TestOS +building +true'
is "and no longer discovered" "$(drover --json discovered list | tr -d ' \n' | \
	sed -n 's/.*"total":\([0-9]*\).*/\1/p')" 0
ok "the machine boots again and installs" run_vm "$MAC2" "$d/console3.log"
like "vm2 is installed" "$(drover host list 2>&1)" 'vm2 +- +TestOS +installed +false'
ok "with its keys" grep -qF "$(cut -d' ' -f2 "$d/ssh_host_ed25519_key.pub")" \
	"$(drover host known-hosts vm2 >"$d/kh2" 2>&1; echo "$d/kh2")"

# --- a VM made by droverd through libvirtd + qemu: created with network boot first on the
# test bridge, started by `host build`, installed, deleted with the host. libvirtd runs in
# the namespace with a private socket; its qemu.conf must let qemu run as root without a
# security driver (tests/run-all sets that up).
if ! command -v libvirtd >/dev/null; then
	echo "# libvirtd part skipped: libvirt-daemon-system is not installed"
elif ! grep -q '^security_driver *= *"none"' /etc/libvirt/qemu.conf 2>/dev/null; then
	echo "# libvirtd part skipped: /etc/libvirt/qemu.conf needs user = \"root\" and" \
		"security_driver = \"none\" (tests/run-all sets them)"
else
	mkdir -p "$d/lv"
	printf 'unix_sock_dir = "%s"\nauth_unix_rw = "none"\n' "$d/lv" >"$d/lv/libvirtd.conf"
	ip netns exec "$PXE_NS" libvirtd -f "$d/lv/libvirtd.conf" -p "$d/lv/pid" >"$d/lv/log" 2>&1 &
	LIBVIRTD_PID=$!
	i=0
	until [ -S "$d/lv/libvirt-sock" ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
	ok "libvirtd runs in the namespace" test -S "$d/lv/libvirt-sock"
	ok "a libvirt compute resource" drover compute-resource create --name lab \
		--provider libvirt --url "qemu:///system?socket=$d/lv/libvirt-sock"
	ok "host create on it makes the VM" drover host create --name vm3 --compute-resource lab \
		--operatingsystem TestOS --medium "TestOS medium" --compute-attributes \
		"{\"disk_gb\": 0, \"bridge\": \"br0\", \"nic_model\": \"e1000\", \
		\"memory_mb\": 384, \"console_log\": \"$d/console4.log\"}"
	like "with the MAC libvirt gave it" "$(drover host show vm3 2>&1 | tr -d '\n ')" \
		'"mac":"52:54:00:'
	like "powered off" "$(drover host power vm3 status 2>&1)" 'host vm3: power is off'
	ok "drover host build vm3 starts it" drover host build vm3
	i=0
	[ "$tap_failed" -eq 0 ] || i=180
	until drover host list 2>/dev/null | grep -q 'vm3 .* installed' || [ $i -ge 180 ]; do
		sleep 1
		i=$((i + 1))
	done
	echo "# libvirt VM installed after $i s"
	like "vm3 installed itself" "$(drover host list 2>&1)" 'vm3 +- +TestOS +installed +false'
	like "its console shows the provision script" "$(cat "$d/console4.log" 2>&1)" \
		'provisioning vm3'
	i=0
	until drover host power vm3 status 2>/dev/null | grep -q 'is off' || [ $i -ge 30 ]; do
		sleep 1
		i=$((i + 1))
	done
	like "and powered itself off" "$(drover host power vm3 status 2>&1)" 'power is off'
	ok "host delete removes the VM" drover host delete vm3
	ok "a new host of that name can have a VM again" drover host create --name vm3 \
		--compute-resource lab --compute-attributes '{"disk_gb": 0, "bridge": "br0"}'
	ok "and go" drover host delete vm3
fi

# --- UEFI: OVMF's own PXE client (client arch 7; virtio-net without qemu's iPXE option
# ROM, so that the firmware's PXE asks, not iPXE) on a subnet whose pxe_loader is
# "iPXE Chain UEFI": dnsmasq, configured from droverd's subnet, gives it snponly.efi by
# TFTP; iPXE (option 175) then gets /unattended/iPXE and boots the same kernel and
# initramfs over HTTP.
ovmf=/usr/share/OVMF/OVMF_CODE_4M.fd
if [ ! -r "$ovmf" ]; then
	echo "# UEFI part skipped: $ovmf missing (ovmf package)"
else
	ok "a subnet booting UEFI through snponly.efi" drover subnet create --name e2e \
		--network 198.18.0.0 --mask 255.255.255.0 --from 198.18.0.100 --to 198.18.0.200 \
		--pxe-loader 'iPXE Chain UEFI'
	# dnsmasq reads the subnet's range and boot lines from droverd's file at start.
	pxe_vm_dnsmasq_stop
	ok "dnsmasq restarted on droverd's subnet" pxe_vm_dnsmasq "$d/dnsmasq-uefi.log"
	MAC4=52:54:00:12:34:44
	ok "a UEFI host" drover host create --name vm4 --mac "$MAC4" --ip 198.18.0.24 \
		--operatingsystem TestOS --medium "TestOS medium"
	ok "drover host build vm4" drover host build vm4
	cp /usr/share/OVMF/OVMF_VARS_4M.fd "$d/vars.fd"
	truncate -s 64M "$d/disk4.img"
	t0=$(date +%s)
	t0n=$(date +%s%N)
	pxe_vm_qemu -m 512 -no-reboot -serial "file:$d/console5.log" \
		-drive if=pflash,format=raw,readonly=on,file="$ovmf" \
		-drive if=pflash,format=raw,file="$d/vars.fd" \
		-drive if=virtio,format=raw,file="$d/disk4.img" \
		-device virtio-net-pci,netdev=n0,mac="$MAC4",romfile=,bootindex=1
	# Per phase, the first moment (ms after power-on) each is seen, polled every 0.1 s.
	: >"$d/phases"
	# pxe_files_gets: how many GETs droverd answered under /pxe/files/ (kernels, initrds).
	pxe_files_gets() {
		nsx curl -s "$U/metrics" | awk '/^drover_http_requests_total\{route="pxe_files"/ \
			{ n += $2 } END { print n + 0 }'
	}
	gets0=$(pxe_files_gets)
	phases_poll() {
		now=$((($(date +%s%N) - t0n) / 1000000))
		seen() { grep -q "^$1 " "$d/phases" || echo "$1 $now" >>"$d/phases"; }
		grep -q "DHCPACK(br0) [0-9.]* $MAC4" "$d/dnsmasq-uefi.log" && seen dhcp
		grep -q 'RRQ snponly\.efi' "$d/droverd.log" && seen tftp
		[ "$(grep -c "DHCPACK(br0) [0-9.]* $MAC4" "$d/dnsmasq-uefi.log")" -ge 2 ] && seen ipxe_dhcp
		[ "$(pxe_files_gets)" -gt "$gets0" ] && seen kernel_http
		grep -q 'drover-test-init: up' "$d/console5.log" 2>/dev/null && seen init
		grep -q 'host vm4 built' "$d/droverd.log" && seen built
		return 0
	}
	pxe_vm_wait_exit 600 phases_poll
	echo "# UEFI VM ran for $(($(date +%s) - t0)) s"
	pxe_vm_phases "every phase was seen, in order: DHCP, TFTP, iPXE's DHCP, kernel over HTTP, init, built" \
		"dhcp tftp ipxe_dhcp kernel_http init built "
	ok "the UEFI VM installs and powers itself off within 600 s" \
		sh -c "! kill -0 $QEMU_PID 2>/dev/null"
	like "OVMF asked as a UEFI client and got snponly.efi" "$(cat "$d/dnsmasq-uefi.log")" \
		'bootfile-name +snponly\.efi'
	like "which droverd's TFTP served" "$(cat "$d/droverd.log")" 'snponly\.efi'
	like "iPXE then got droverd's script" "$(cat "$d/dnsmasq-uefi.log")" \
		"bootfile-name +$U/unattended/iPXE"
	like "the initramfs ran the provision script" "$(cat "$d/console5.log")" \
		'provisioning vm4 \(TestOS\)'
	like "vm4 is installed" "$(drover host list 2>&1)" 'vm4 +- +TestOS +installed +false'
fi

if [ "$tap_failed" -ne 0 ]; then
	pxe_vm_tails "$d"/console*.log "$d/dnsmasq.log" "$d/dnsmasq-uefi.log" "$d/droverd.log" \
		"$d/qemu.log"
	[ -f "$d/lv/log" ] && { echo "# --- libvirtd"; grep -v 'dmidecode\|DMI\|DBus' "$d/lv/log" | tail -10 | sed 's/^/# /'; }
fi
done_testing
