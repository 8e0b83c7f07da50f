#!/bin/sh
# bench/pxe/run.sh - TFTP throughput on loopback: the same 64 MB file to the same client
# (atftp, blksize 1468) from dnsmasq's TFTP server and from droverd's, then droverd with
# windowsize 16 (RFC 7440; dnsmasq has no windowsize). Best of RUNS (default 3) each.
# dnsmasq's TFTP listens on port 69 only, so everything runs in a network namespace of its
# own (root). Then CLIENTS (default 200) simultaneous clients (curl's tftp://, each from
# its own 127.0.x.y address, as PXE clients come from their own addresses) fetch a 4 MB
# initrd from each server: wall time, aggregate MB/s, failed or corrupt copies.
#   apt-get install -y atftp dnsmasq-base curl && ./bench/pxe/run.sh [BUILD_DIR]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
runs=${RUNS:-3}
clients=${CLIENTS:-200}
command -v atftp >/dev/null || { echo "bench: apt-get install atftp" >&2; exit 1; }
[ -x /usr/sbin/dnsmasq ] || { echo "bench: apt-get install dnsmasq-base" >&2; exit 1; }
[ -x "$build/droverd" ] || { echo "bench: build first (no $build/droverd)" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (network namespace)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/drover-bench-pxe.XXXXXX)
ns=drover-bench-$$
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/root"
head -c $((64 << 20)) /dev/urandom >"$tmp/root/kernel"
head -c $((4 << 20)) /dev/urandom >"$tmp/root/initrd"
printf 'tftp:\n  root: %s\n' "$tmp/root" >"$tmp/droverd.yml"

ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
port_d=1069
port_m=69
DROVER_ADMIN_PASSWORD=bench-password-1 ip netns exec "$ns" "$build/droverd" --config "$tmp/droverd.yml" \
	--listen 127.0.0.1:0 --state-dir "$tmp/state" --tftp-listen "127.0.0.1:$port_d" \
	>"$tmp/droverd.log" 2>&1 &
pids="$pids $!"
ip netns exec "$ns" /usr/sbin/dnsmasq -d --port=0 --enable-tftp --tftp-root="$tmp/root" --tftp-max=512 \
	--listen-address=127.0.0.1 --bind-interfaces --user=root \
	>"$tmp/dnsmasq.log" 2>&1 &
pids="$pids $!"
sleep 1

# best SERVER_PORT OPTIONS...: the best time in ms of RUNS downloads.
best() {
	port=$1
	shift
	b=
	i=0
	while [ $i -lt "$runs" ]; do
		rm -f "$tmp/out"
		t0=$(date +%s%N)
		ip netns exec "$ns" atftp "$@" -g -r kernel -l "$tmp/out" 127.0.0.1 "$port" >/dev/null 2>&1
		t1=$(date +%s%N)
		cmp -s "$tmp/out" "$tmp/root/kernel" || { echo "bench: bad copy from $port" >&2; exit 1; }
		ms=$(((t1 - t0) / 1000000))
		[ -z "$b" ] || [ "$ms" -lt "$b" ] && b=$ms
		i=$((i + 1))
	done
	echo "$b"
}
m=$(best "$port_m" --option "blksize 1468")
d=$(best "$port_d" --option "blksize 1468")
w=$(best "$port_d" --option "blksize 1468" --option "windowsize 16")
mb=64
printf '| server | 64 MB, blksize 1468 | MB/s |\n|---|---|---|\n'
printf '| dnsmasq %s | %d ms | %d |\n' "$(/usr/sbin/dnsmasq -v | sed -n '1s/.*version \([^ ]*\).*/\1/p')" "$m" $((mb * 1000 / m))
printf '| droverd | %d ms | %d |\n' "$d" $((mb * 1000 / d))
printf '| droverd, windowsize 16 | %d ms | %d |\n' "$w" $((mb * 1000 / w))
printf '\ndroverd / dnsmasq: %s x; with windowsize 16: %s x\n' \
	"$(echo "scale=2; $m / $d" | bc)" "$(echo "scale=2; $m / $w" | bc)"

# many PORT: CLIENTS simultaneous curl tftp:// downloads of the initrd; prints
# "MS FAILED": the wall time and how many copies are missing or differ.
many() {
	rm -rf "$tmp/many"
	mkdir -p "$tmp/many"
	t0=$(date +%s%N)
	ip netns exec "$ns" sh -c '
		i=0
		while [ $i -lt "$1" ]; do
			curl -s --tftp-blksize 1468 --interface "127.0.$((i / 250 + 1)).$((i % 250 + 1))" \
				-o "$2/many/$i" "tftp://127.0.0.1:$3/initrd" &
			i=$((i + 1))
		done
		wait' sh "$clients" "$tmp" "$1"
	t1=$(date +%s%N)
	want=$(sha256sum <"$tmp/root/initrd")
	bad=0
	i=0
	while [ $i -lt "$clients" ]; do
		[ "$(sha256sum <"$tmp/many/$i" 2>/dev/null)" = "$want" ] || bad=$((bad + 1))
		i=$((i + 1))
	done
	echo "$(((t1 - t0) / 1000000)) $bad"
}
set -- $(many "$port_m")
mm=$1 mbad=$2
set -- $(many "$port_d")
dm=$1 dbad=$2
total=$((clients * 4))
printf '\n| %d simultaneous clients, 4 MB each | wall | aggregate MB/s | failed copies |\n' "$clients"
printf '|---|---|---|---|\n'
printf '| dnsmasq | %d ms | %d | %d |\n' "$mm" $((total * 1000 / mm)) "$mbad"
printf '| droverd | %d ms | %d | %d |\n' "$dm" $((total * 1000 / dm)) "$dbad"
