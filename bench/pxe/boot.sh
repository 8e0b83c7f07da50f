#!/bin/sh
# bench/pxe/boot.sh - what PXE adds to an install: the end-to-end VM of tests/e2e/pxe.sh
# (qemu TCG, e1000 with qemu's iPXE ROM on a tap in a network namespace, dnsmasq DHCP
# only with droverd's configuration, droverd's HTTP, Debian's kernel and the test
# initramfs whose /init runs the provision script that posts built: all of it
# tests/lib/pxe_vm.sh, which tests/e2e/pxe.sh uses too) booted two ways, ROUNDS (default 2) times each, alternating:
#   pxe:    -boot n: DHCP, iPXE, /unattended/iPXE, kernel + initrd over HTTP, Linux, built
#   direct: -kernel K -initrd I -append ARGS, ARGS being the kernel line of the iPXE
#           script droverd renders for the host (so the same provision URL and token)
# Before each boot the host is put in build mode (`drover host build`); the time runs from
# qemu's start to droverd logging "host vm1 built". Phases (ms after qemu's start, polled
# every 0.1 s): discover and dhcp (the first DHCPDISCOVER from and DHCPACK to the VM: iPXE's, or booted directly, Linux's), ipxe (droverd served /unattended/iPXE),
# kernel and initrd (the first and second GET under /pxe/files/ began), linux (/init's first line on the serial
# console), installer (droverd served the provision script), built.
# DNSMASQ_OPTS adds options to dnsmasq's command line (an experiment: with
# "--dhcp-option=encap:175,176,1b", iPXE's no-pxedhcp, iPXE does not wait for ProxyDHCP
# offers).
#   root; apt-get install -y qemu-system-x86 ipxe-qemu dnsmasq-base busybox-static
#   linux-image-amd64 curl cpio && ./bench/pxe/boot.sh [BUILD_DIR]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
rounds=${ROUNDS:-2}
vm_timeout=${VM_TIMEOUT:-300}
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (network namespace, tap)" >&2; exit 1; }
[ -x "$build/droverd" ] && [ -x "$build/drover" ] || { echo "bench: build first ($build)" >&2; exit 1; }
for c in qemu-system-x86_64 busybox curl cpio gzip bc; do
	command -v "$c" >/dev/null || { echo "bench: $c is not installed" >&2; exit 1; }
done
[ -x /usr/sbin/dnsmasq ] || { echo "bench: apt-get install dnsmasq-base" >&2; exit 1; }
kver=$(ls /lib/modules | sort -V | tail -1)
kernel=/boot/vmlinuz-$kver
e1000=/lib/modules/$kver/kernel/drivers/net/ethernet/intel/e1000/e1000.ko
[ -r "$kernel" ] && [ -r "$e1000" ] || { echo "bench: no Debian kernel with e1000" >&2; exit 1; }

top_builddir=$build
PXE_DIR=$(mktemp -d /tmp/drover-bench-boot.XXXXXX)
PXE_VM_PASSWORD=bench-password-1
. "$top/tests/lib/pxe_vm.sh"
d=$PXE_DIR
MAC=52:54:00:12:34:56

# The network of tests/e2e/pxe.sh (the IPv6 RAs spare iPXE its ~16 s IPv6 wait).
pxe_vm_net drover-bench-boot fd00:d0:1:
root=$PXE_ROOT
mkdir -p "$root/test"
pxe_vm_test_initrd "$kver" "$root/test/initrd.img"
cp "$kernel" "$root/test/vmlinuz"
pxe_vm_droverd >/dev/null || exit 1
cat >"$d/provision.tmpl" <<'T'
#!/bin/sh
echo "provisioning {{ host.name }} ({{ os.name }})"
cat /etc/ssh/ssh_host_*_key.pub > /tmp/keys
wget -q -O /dev/null --header 'Content-Type: text/plain' --post-file /tmp/keys '{{ drover_url("built") }}'
T
{
	pxe_vm_test_os BenchOS "$d/provision.tmpl"
	drover host create --name vm1 --mac "$MAC" --ip 198.18.0.21 --operatingsystem BenchOS \
		--medium "BenchOS medium"
	drover host build vm1
} >"$d/setup.log" 2>&1 || { cat "$d/setup.log" >&2; exit 1; }
# shellcheck disable=SC2086 # DNSMASQ_OPTS: words
pxe_vm_dnsmasq "$d/dnsmasq.log" --dhcp-range=198.18.0.100,198.18.0.200,255.255.255.0 \
	${DNSMASQ_OPTS:-} || { cat "$d/dnsmasq.log" >&2; exit 1; }

# route_gets ROUTE: GETs droverd answered on that route so far (its /metrics).
route_gets() {
	nsx curl -s "$U/metrics" | awk -v r="route=\"$1\"" 'index($0, "drover_http_requests_total{") == 1 &&
		index($0, r) { n += $NF } END { print n + 0 }'
}

# boot MODE N: one install; appends "MODE ms phase=ms..." to $d/results.
boot() {
	mode=$1
	round=$2
	drover host build vm1 >/dev/null
	truncate -s 0 "$d/disk.img"
	truncate -s 64M "$d/disk.img"
	con=$d/console-$mode-$round.log
	: >"$con"
	if [ "$mode" = direct ]; then
		# The kernel line iPXE would run, without "kernel URL".
		args=$(nsx curl -sf "$U/unattended/iPXE?mac=$MAC" | sed -n 's/^kernel [^ ]* //p')
		case $args in *url=http*) ;; *) echo "bench: no kernel line in droverd's iPXE script" >&2; exit 1 ;; esac
		set -- -kernel "$root/test/vmlinuz" -initrd "$root/test/initrd.img" -append "$args"
	else
		set -- -boot n
	fi
	dl0=$(wc -l <"$d/dnsmasq.log")
	built0=$(grep -c 'host vm1 built' "$d/droverd.log") || :
	u0=$(route_gets unattended)
	f0=$(route_gets pxe_files)
	: >"$d/phases"
	t0=$(date +%s%N)
	pxe_vm_qemu -m 384 -no-reboot -serial "file:$con" \
		-drive if=virtio,format=raw,file="$d/disk.img" -device e1000,netdev=n0,mac="$MAC" "$@"
	# installer: in PXE mode the iPXE script is the first /unattended/ GET, the provision
	# script the second; booted directly, the provision script is the first.
	ui=1
	[ "$mode" = pxe ] || ui=0
	i=0
	while [ $i -lt $((vm_timeout * 10)) ]; do
		now=$((($(date +%s%N) - t0) / 1000000))
		seen() { grep -q "^$1=" "$d/phases" || echo "$1=$now" >>"$d/phases"; }
		tail -n +$((dl0 + 1)) "$d/dnsmasq.log" >"$d/dl"
		grep -q "DHCPDISCOVER(br0) $MAC" "$d/dl" && seen discover
		grep -q "DHCPACK(br0) [0-9.]* $MAC" "$d/dl" && seen dhcp
		u=$(($(route_gets unattended) - u0))
		[ "$mode" = pxe ] && [ $u -ge 1 ] && seen ipxe
		f=$(($(route_gets pxe_files) - f0))
		[ $f -ge 1 ] && seen kernel
		[ $f -ge 2 ] && seen initrd
		grep -q 'drover-test-init: up' "$con" && seen linux
		[ $u -ge $((ui + 1)) ] && seen installer
		if [ "$(grep -c 'host vm1 built' "$d/droverd.log")" -gt "$built0" ]; then
			seen built
			break
		fi
		kill -0 "$QEMU_PID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	grep -q '^built=' "$d/phases" || {
		echo "bench: $mode round $round: no built within ${vm_timeout} s" >&2
		tail -20 "$con" >&2
		exit 1
	}
	pxe_vm_wait_exit 10 || :
	pxe_vm_stop
	line="$mode $(sed -n 's/^built=//p' "$d/phases") $(tr '\n' ' ' <"$d/phases")load=$(cut -d' ' -f1 /proc/loadavg)"
	echo "$line" >>"$d/results"
	echo "round $round: $line"
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$d/results"
r=1
while [ $r -le "$rounds" ]; do
	boot pxe $r
	boot direct $r
	r=$((r + 1))
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
built_times() { # MODE: "best mean" of the built times
	awk -v m="$1" '$1 == m { print $2 }' "$d/results" | sort -n |
		awk 'NR == 1 { b = $1 } { s += $1 } END { printf "%d %d\n", b, s / NR }'
}
set -- $(built_times pxe) $(built_times direct)
printf '\n| qemu start to built, %d rounds | best | mean |\n|---|---|---|\n' "$rounds"
printf '| PXE (DHCP, iPXE, kernel + initrd over HTTP) | %d ms | %d ms |\n' "$1" "$2"
printf '| direct -kernel/-initrd, same kernel args | %d ms | %d ms |\n' "$3" "$4"
printf '| PXE minus direct | %d ms | %d ms |\n' $(($1 - $3)) $(($2 - $4))
printf '\nload average before: %s, after: %s\n' "$load0" "$load1"
