# pxe_vm.sh - the scaffolding of the VM tests (tests/e2e/pxe*.sh, bench/pxe/boot.sh): a
# network namespace with a bridge and the VM's tap, droverd's TFTP and HTTP on the bridge
# address, dnsmasq (DHCP only) with droverd's configuration, qemu under TCG on the tap, and
# the waits on a VM. Set PXE_DIR (the test's scratch directory, removed at exit unless
# KEEP is set) before pxe_vm_net; everything else is derived:
#
#   PXE_NS          the namespace          PXE_STATE  droverd's state directory
#   PXE_ROOT        droverd's TFTP root    U          droverd's URL (http://198.18.0.1:8080)
#   QEMU_PID DNSMASQ_PID DROVERD_PID   the processes pxe_vm_cleanup stops, with those whose
#                   variables' names the caller adds to PXE_VM_PIDVARS (nginx, libvirtd...)
#
# Daemons are started with ip netns exec itself (not through nsx): $! must be their PID,
# not a subshell's. Works under set -eu (bench/pxe/boot.sh) and without.

PXE_ADDR=198.18.0.1
U=http://$PXE_ADDR:8080
PXE_VM_PASSWORD=${PXE_VM_PASSWORD:-e2e-password}
PXE_VM_PIDVARS="QEMU_PID DNSMASQ_PID DROVERD_PID"
PXE_DNSMASQ_RA=
QEMU_PID=
DNSMASQ_PID=
DROVERD_PID=

# pxe_vm_missing CMD...: print the first command that is not installed (1 if none is missing).
pxe_vm_missing() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || [ -x "/sbin/$c" ] ||
			{ echo "$c"; return 0; }
	done
	return 1
}

# pxe_vm_kill PID...: stop the processes (TERM, 5 s, KILL) and reap them.
pxe_vm_kill() {
	for p in "$@"; do
		kill "$p" 2>/dev/null || :
	done
	for p in "$@"; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$p" 2>/dev/null || :
		wait "$p" 2>/dev/null || :
	done
}

# pxe_vm_cleanup: stop every process named in PXE_VM_PIDVARS, remove the namespace and
# PXE_DIR (kept when KEEP is set). The EXIT trap pxe_vm_net sets.
pxe_vm_cleanup() {
	pids=
	for v in $PXE_VM_PIDVARS; do
		eval "pids=\"\$pids \${$v:-}\""
	done
	# shellcheck disable=SC2086 # a list of PIDs
	pxe_vm_kill $pids
	[ -z "${PXE_NS:-}" ] || ip netns del "$PXE_NS" 2>/dev/null || :
	[ -n "${KEEP:-}" ] || rm -rf "$PXE_DIR"
}

# nsx CMD...: CMD in the test's namespace.
nsx() { ip netns exec "$PXE_NS" "$@"; }

# drover ARGS...: the CLI in the namespace, logged in by pxe_vm_droverd.
drover() { nsx "$top_builddir/drover" "$@"; }

# pxe_vm_net NAME [IPV6_PREFIX]: namespace NAME-<pid> with bridge br0 (198.18.0.1/24) and
# the VM's tap0 on it, and the EXIT trap that undoes it all; with IPV6_PREFIX (fd00:d0:1:)
# also PREFIX:1/64, whose router advertisements pxe_vm_dnsmasq sends (without them iPXE
# waits ~16 s for IPv6 configuration).
pxe_vm_net() {
	: "${PXE_DIR:?set PXE_DIR first}"
	PXE_NS=$1-$$
	PXE_STATE=$PXE_DIR/state
	PXE_ROOT=$PXE_DIR/tftp
	trap pxe_vm_cleanup EXIT
	trap 'exit 1' INT TERM
	ip netns add "$PXE_NS" || { PXE_NS=; return 1; }
	nsx ip link set lo up &&
		nsx ip link add br0 type bridge &&
		nsx ip tuntap add dev tap0 mode tap &&
		nsx ip link set tap0 master br0 &&
		nsx ip addr add "$PXE_ADDR/24" dev br0 || return 1
	if [ -n "${2:-}" ]; then
		nsx ip addr add "${2}:1/64" dev br0 nodad || return 1
		PXE_DNSMASQ_RA="--enable-ra --dhcp-range=${2}:,ra-only"
	fi
	nsx ip link set tap0 up && nsx ip link set br0 up
}

# pxe_vm_droverd [YAML]: droverd in the namespace (HTTP and TFTP on the bridge address,
# TFTP root PXE_ROOT, YAML appended to its configuration), logging to PXE_DIR/droverd.log;
# waits 10 s at most for it to be ready, then logs the CLI in (DROVER_CONFIG, DROVER_SERVER).
pxe_vm_droverd() {
	printf 'tftp:\n  root: %s\n%s' "$PXE_ROOT" "${1:-}" >"$PXE_DIR/droverd.yml"
	: >"$PXE_DIR/droverd.log"
	DROVER_ADMIN_PASSWORD=$PXE_VM_PASSWORD ip netns exec "$PXE_NS" "$top_builddir/droverd" \
		--config "$PXE_DIR/droverd.yml" --listen "$PXE_ADDR:8080" \
		--tftp-listen "$PXE_ADDR:69" --state-dir "$PXE_STATE" >"$PXE_DIR/droverd.log" 2>&1 &
	DROVERD_PID=$!
	i=0
	until grep -q ' ready in ' "$PXE_DIR/droverd.log" 2>/dev/null || [ $i -ge 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q ' ready in ' "$PXE_DIR/droverd.log" || { cat "$PXE_DIR/droverd.log"; return 1; }
	export DROVER_CONFIG="$PXE_DIR/cli.yml" DROVER_SERVER=$U
	nsx env DROVER_PASSWORD="$PXE_VM_PASSWORD" "$top_builddir/drover" login
}

# pxe_vm_dnsmasq LOG [ARGS...]: dnsmasq for DHCP only (and the router advertisements
# pxe_vm_net asked for) on br0 with droverd's configuration, which it reads at start (the
# subnet's range and boot lines, the reservations): start it again after droverd's
# changes (pxe_vm_dnsmasq_stop). Appends to LOG; 0 if it still runs after 0.5 s.
pxe_vm_dnsmasq() {
	l=$1
	shift
	# shellcheck disable=SC2086 # PXE_DNSMASQ_RA is two words
	ip netns exec "$PXE_NS" /usr/sbin/dnsmasq -d --port=0 --user=root --interface=br0 \
		--bind-interfaces --conf-file="$PXE_STATE/pxe/dnsmasq.conf" $PXE_DNSMASQ_RA \
		--dhcp-leasefile="$PXE_DIR/leases" --log-dhcp "$@" >>"$l" 2>&1 &
	DNSMASQ_PID=$!
	sleep 0.5
	kill -0 "$DNSMASQ_PID"
}

# pxe_vm_dnsmasq_stop: stop it (pxe_vm_dnsmasq starts it again).
pxe_vm_dnsmasq_stop() {
	[ -z "$DNSMASQ_PID" ] || pxe_vm_kill "$DNSMASQ_PID"
	DNSMASQ_PID=
}

# pxe_vm_qemu ARGS...: a qemu VM under TCG, no display, its NIC's backend n0 the tap
# (ARGS: -m, the console, disks, "-device MODEL,netdev=n0,mac=..."); QEMU_PID, output
# appended to PXE_DIR/qemu.log.
pxe_vm_qemu() {
	ip netns exec "$PXE_NS" qemu-system-x86_64 -accel tcg -nodefaults -display none \
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no "$@" \
		>>"$PXE_DIR/qemu.log" 2>&1 &
	QEMU_PID=$!
}

# pxe_vm_wait_exit SECONDS [POLL...]: until the VM ends, running POLL every 0.1 s (and once
# more after: the VM may log its last step and end between two polls); 0 if it ended.
pxe_vm_wait_exit() {
	n=$(($1 * 10))
	shift
	i=0
	while kill -0 "$QEMU_PID" 2>/dev/null && [ $i -lt $n ]; do
		[ $# -eq 0 ] || "$@" || :
		sleep 0.1
		i=$((i + 1))
	done
	[ $# -eq 0 ] || "$@" || :
	! kill -0 "$QEMU_PID" 2>/dev/null
}

# pxe_vm_wait_console CONSOLE PATTERN SECONDS: until the console shows PATTERN (an ERE,
# carriage returns ignored) or the VM ends; 0 if it showed it.
pxe_vm_wait_console() {
	i=0
	while [ $i -lt $(($3 * 10)) ]; do
		tr -d '\r' <"$1" 2>/dev/null | grep -aqE "$2" && return 0
		kill -0 "$QEMU_PID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	tr -d '\r' <"$1" 2>/dev/null | grep -aqE "$2"
}

# pxe_vm_wait_ssh IP SECONDS: until sshd answers on IP:22 with its banner or the VM ends;
# 0 if it answered.
pxe_vm_wait_ssh() {
	i=0
	until nsx sh -c "echo | busybox nc -w 1 $1 22" 2>/dev/null | grep -q SSH-2.0; do
		[ $i -lt "$2" ] && kill -0 "$QEMU_PID" 2>/dev/null || return 1
		sleep 1
		i=$((i + 1))
	done
}

# pxe_vm_stop: end the VM (TERM, 5 s, KILL), e.g. one waiting at a prompt.
pxe_vm_stop() {
	[ -z "$QEMU_PID" ] || pxe_vm_kill "$QEMU_PID"
	QEMU_PID=
}

# pxe_vm_ssh IP KNOWN_HOSTS KEY CMD...: CMD as root on the VM over SSH, its host key checked
# against KNOWN_HOSTS (what `drover host known-hosts` recorded).
pxe_vm_ssh() {
	h=$1 k=$2 id=$3
	shift 3
	nsx ssh -q -i "$id" -o UserKnownHostsFile="$k" -o StrictHostKeyChecking=yes \
		-o BatchMode=yes -o ConnectTimeout=20 "root@$h" "$@"
}

# pxe_vm_test_initrd KVER OUT: the test OS's initramfs (busybox, e1000 and virtio-net
# drivers of kernel KVER, ed25519 and ECDSA host keys made here, beside OUT as
# ssh_host_*_key), whose /init gets an address by DHCP and fetches and runs the provision
# script named by url= on the kernel's line (which posts built), or with drover_discovery=
# posts the machine's facts; then it powers off.
pxe_vm_test_initrd() {
	ir=$(dirname "$2")/initramfs
	k=$(dirname "$2")
	mkdir -p "$ir/bin" "$ir/etc/ssh" "$ir/proc" "$ir/sys" "$ir/dev" "$ir/tmp" "$ir/lib" || return 1
	cp "$(command -v busybox)" "$ir/bin/busybox" || return 1
	for m in e1000 virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
		failover net_failover virtio_net; do
		f=$(modinfo -k "$1" -n "$m" 2>/dev/null) && [ -f "$f" ] && cp "$f" "$ir/lib/$m.ko"
	done
	[ -f "$ir/lib/e1000.ko" ] || return 1
	rm -f "$k/ssh_host_ed25519_key" "$k/ssh_host_ecdsa_key"
	ssh-keygen -q -t ed25519 -N '' -C vm -f "$k/ssh_host_ed25519_key" &&
		ssh-keygen -q -t ecdsa -N '' -C vm -f "$k/ssh_host_ecdsa_key" || return 1
	cp "$k"/ssh_host_*_key.pub "$ir/etc/ssh/"
	cat >"$ir/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "drover-test-init: up"
for m in e1000 virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
	failover net_failover virtio_net; do
	[ -f /lib/$m.ko ] && insmod /lib/$m.ko
done
ip link set lo up
ip link set eth0 up
cat > /tmp/dhcp.sh <<'S'
#!/bin/sh
[ "$1" = bound ] || exit 0
ip addr add "$ip/${mask:-24}" dev "$interface"
[ -n "$router" ] && ip route add default via "$router"
exit 0
S
chmod +x /tmp/dhcp.sh
udhcpc -i eth0 -n -q -t 10 -s /tmp/dhcp.sh
for a in $(cat /proc/cmdline); do
	case $a in
	url=*) url=${a#url=} ;;
	drover_discovery=*) disc=${a#drover_discovery=} ;;
	drover_mac=*) mac=${a#drover_mac=} ;;
	esac
done
if [ -n "$disc" ]; then
	# Discovery: post this machine's facts, then power off.
	cpus=$(grep -c ^processor /proc/cpuinfo)
	mem=$(( $(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) / 1024 ))
	disks=$(ls /sys/block | grep -v '^loop' | sed 's/.*/"&"/' | tr '\n' ',' | sed 's/,$//')
	printf '{"mac": "%s", "cpus": %s, "memory_mb": %s, "disks": [%s]}' "$mac" "$cpus" \
		"$mem" "$disks" > /tmp/facts
	wget -q -O /dev/null --header 'Content-Type: application/json' --post-file /tmp/facts \
		"$disc" && echo "drover-test-init: discovered"
	poweroff -f
fi
echo "drover-test-init: provision from $url"
if wget -q -O /tmp/provision "$url"; then
	sh /tmp/provision && echo "drover-test-init: provisioned"
else
	echo "drover-test-init: provision download failed"
fi
poweroff -f
INIT
	chmod +x "$ir/init"
	(cd "$ir" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$2"
}

# pxe_vm_test_os NAME PROVISION_TEMPLATE_FILE: OS NAME whose installer is the test
# initramfs: an iPXE template "NAME iPXE" booting PXE_ROOT/test/{vmlinuz,initrd.img} (medium
# "NAME medium", served by droverd) with the provision URL, and the provision template
# "NAME provision" from the file (the script /init runs).
pxe_vm_test_os() {
	cat >"$PXE_DIR/ipxe.tmpl" <<'T'
#!ipxe
kernel {{ boot.kernel }} initrd=initrd.img console=ttyS0 panic=-1 url={{ drover_url('provision') }}
initrd --name initrd.img {{ boot.initrd }}
boot
T
	drover template create --name "$1 iPXE" --kind iPXE --template-file "$PXE_DIR/ipxe.tmpl" &&
		drover template create --name "$1 provision" --kind provision --template-file "$2" &&
		drover medium create --name "$1 medium" --path "$U/pxe/files/test" \
			--kernel-path vmlinuz --initrd-path initrd.img &&
		drover os create --name "$1" --family Debian --major 1 \
			--default-template "$1 iPXE,$1 provision" --medium "$1 medium"
}

# pxe_vm_phases DESC EXPECTED: print PXE_DIR/phases ("NAME MS" lines, MS after power-on)
# as a TAP comment and check that the phases seen were EXPECTED ("NAME NAME ", in order).
pxe_vm_phases() {
	echo "# phases (ms after power-on): $(tr '\n' ' ' <"$PXE_DIR/phases")"
	is "$1" "$(cut -d' ' -f1 "$PXE_DIR/phases" | tr '\n' ' ')" "$2"
}

# pxe_vm_tails FILE...: the last lines of each file that exists, as TAP comments (for a
# failed run).
pxe_vm_tails() {
	for f in "$@"; do
		[ -f "$f" ] || continue
		echo "# --- ${f##*/}"
		tr -d '\r' <"$f" | tail -25 | sed 's/^/# /'
	done
}
