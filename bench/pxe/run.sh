#!/bin/sh
# bench/pxe/run.sh - TFTP throughput on loopback: the same 64 MB file to the same client
# (bench/pxe/tftpget.c, a lean client that acknowledges every windowsize-th block and
# takes packets in batches, so that the client does not bound the transfer) from
# dnsmasq's TFTP server, from tftpd-hpa and from droverd, all with blksize 1468; droverd
# also with windowsize 4, 8, 16, 32 and 64 (RFC 7440). dnsmasq and tftpd-hpa are asked for
# windowsize 16 too: they leave it out of their OACK and run lock-step, as a PXE client
# then gets them. Best of RUNS (default 3) each; the ratios are dnsmasq's time over each
# other's. Before timing, the client is checked against tftp-hpa and atftp: the same
# bytes from each server. dnsmasq's TFTP listens on port 69 only, so everything runs in a
# network namespace of its own (root). Then CLIENTS (default 200) simultaneous clients
# (curl's tftp://, each from its own 127.0.x.y address, as PXE clients come from their
# own addresses) fetch a 4 MB initrd from each server: wall time, aggregate MB/s, failed
# or corrupt copies.
#   apt-get install -y atftp tftp-hpa tftpd-hpa dnsmasq-base curl bc libssl-dev &&
#   ./bench/pxe/run.sh [BUILD_DIR]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
runs=${RUNS:-3}
clients=${CLIENTS:-200}
windows=${WINDOWS:-4 8 16 32 64}
command -v atftp >/dev/null || { echo "bench: apt-get install atftp" >&2; exit 1; }
command -v tftp >/dev/null || { echo "bench: apt-get install tftp-hpa" >&2; exit 1; }
command -v bc >/dev/null || { echo "bench: apt-get install bc" >&2; exit 1; }
[ -x /usr/sbin/in.tftpd ] || { echo "bench: apt-get install tftpd-hpa" >&2; exit 1; }
[ -x /usr/sbin/dnsmasq ] || { echo "bench: apt-get install dnsmasq-base" >&2; exit 1; }
[ -x "$build/droverd" ] || { echo "bench: build first (no $build/droverd)" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (network namespace)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/drover-bench-pxe.XXXXXX)
ns=drover-bench-$$
pids=
cleanup() { # (set -e holds here too: a server already gone must not stop the cleanup)
	for p in $pids; do kill "$p" 2>/dev/null || :; done
	ip netns del "$ns" 2>/dev/null || :
	rm -rf "$tmp"
}
trap cleanup EXIT
cc -O2 -Wall -Wextra -Werror -std=gnu11 -o "$tmp/tftpget" "$top/bench/pxe/tftpget.c" -lcrypto ||
	{ echo "bench: cannot build tftpget (apt-get install libssl-dev)" >&2; exit 1; }
get=$tmp/tftpget
mkdir -p "$tmp/root"
chmod 755 "$tmp" "$tmp/root"
head -c $((64 << 20)) /dev/urandom >"$tmp/root/kernel"
head -c $((4 << 20)) /dev/urandom >"$tmp/root/initrd"
printf 'tftp:\n  root: %s\n' "$tmp/root" >"$tmp/droverd.yml"

ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
port_d=1069
port_m=69
port_h=1070
DROVER_ADMIN_PASSWORD=bench-password-1 ip netns exec "$ns" "$build/droverd" --config "$tmp/droverd.yml" \
	--listen 127.0.0.1:0 --state-dir "$tmp/state" --tftp-listen "127.0.0.1:$port_d" \
	>"$tmp/droverd.log" 2>&1 &
pids="$pids $!"
ip netns exec "$ns" /usr/sbin/dnsmasq -d --port=0 --enable-tftp --tftp-root="$tmp/root" --tftp-max=512 \
	--listen-address=127.0.0.1 --bind-interfaces --user=root \
	>"$tmp/dnsmasq.log" 2>&1 &
pids="$pids $!"
ip netns exec "$ns" /usr/sbin/in.tftpd -l -L -a ":$port_h" -u root -s "$tmp/root" \
	>"$tmp/tftpd.log" 2>&1 &
pids="$pids $!"
# (tftpd-hpa on every address of the namespace, which has only lo: with only loopback,
# getaddrinfo's AI_ADDRCONFIG makes it refuse 127.0.0.1.)
sleep 1
n=$(ip netns exec "$ns" ss -uln | grep -cE ":($port_d|$port_m|$port_h) ") || :
[ "$n" -ge 3 ] || { echo "bench: a server did not start" >&2; ip netns exec "$ns" ss -uln >&2; cat "$tmp"/*.log >&2; exit 1; }
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# The client against the reference clients: the same bytes from every server.
k=$tmp/root/kernel
in_ns() { ip netns exec "$ns" "$@"; }
for port in $port_m $port_h $port_d; do
	in_ns "$get" -b 1468 -w 16 -T -c "$k" -o "$tmp/v1" 127.0.0.1 "$port" kernel >/dev/null
	in_ns atftp --option "blksize 1468" -g -r kernel -l "$tmp/v2" 127.0.0.1 "$port" >/dev/null 2>&1
	in_ns tftp -m binary 127.0.0.1 "$port" -c get initrd "$tmp/v3"
	in_ns "$get" -c "$tmp/root/initrd" 127.0.0.1 "$port" initrd >/dev/null
	cmp "$tmp/v1" "$k" && cmp "$tmp/v2" "$k" && cmp "$tmp/v3" "$tmp/root/initrd" ||
		{ echo "bench: copies from port $port differ" >&2; exit 1; }
done
in_ns atftp --option "blksize 1468" --option "windowsize 16" -g -r kernel -l "$tmp/v2" \
	127.0.0.1 "$port_d" >/dev/null 2>&1
cmp "$tmp/v2" "$k" || { echo "bench: atftp's windowsize 16 copy differs" >&2; exit 1; }
rm -f "$tmp"/v[123]

# best PORT TFTPGET-OPTIONS...: "MS WINDOW" for the best of RUNS downloads (tftpget's own
# clock, from the request to the last ACK) and the windowsize the server agreed to.
best() {
	port=$1
	shift
	b=
	i=0
	while [ $i -lt "$runs" ]; do
		line=$(in_ns "$get" "$@" -T -n $((64 << 20)) 127.0.0.1 "$port" kernel) ||
			{ echo "bench: tftpget from port $port $* failed" >&2; exit 1; }
		ms=$(echo "$line" | sed 's/.* ms=\([0-9.]*\) .*/\1/')
		win=$(echo "$line" | sed 's/.* windowsize=\([0-9]*\) .*/\1/')
		[ -z "$b" ] || [ "$(echo "$ms < $b" | bc)" -eq 1 ] && b=$ms
		i=$((i + 1))
	done
	echo "$b $win"
}
row() { # NAME MS WINDOW
	printf '| %s | %s | %.1f ms | %d | %.2fx |\n' "$1" "$3" "$2" \
		"$(echo "64000 / $2" | bc)" "$(echo "scale=3; $m / $2" | bc)"
}
set -- $(best "$port_m" -b 1468 -w 16)
m=$1 mw=$2
set -- $(best "$port_h" -b 1468 -w 16)
h=$1 hw=$2
set -- $(best "$port_d" -b 1468)
d=$1
printf '| server (64 MB, blksize 1468, tftpget) | windowsize agreed | best of %d | MB/s | vs dnsmasq |\n' "$runs"
printf '|---|---|---|---|---|\n'
row "dnsmasq $(/usr/sbin/dnsmasq -v | sed -n '1s/.*version \([^ ]*\).*/\1/p') (asked for 16)" "$m" "$mw"
row "tftpd-hpa $(dpkg-query -W -f '${Version}' tftpd-hpa 2>/dev/null) (asked for 16)" "$h" "$hw"
row "droverd" "$d" 1
for w in $windows; do
	set -- $(best "$port_d" -b 1468 -w "$w")
	row "droverd, windowsize $w" "$1" "$2"
done
printf '\nload average before: %s, after: %s\n' "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)"

[ "$clients" -gt 0 ] || exit 0
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
total=$((clients * 4))
printf '\n| %d simultaneous clients, 4 MB each | wall | aggregate MB/s | failed copies |\n' "$clients"
printf '|---|---|---|---|\n'
for s in "dnsmasq $port_m" "tftpd-hpa $port_h" "droverd $port_d"; do
	set -- $s
	set -- "$1" $(many "$2")
	printf '| %s | %d ms | %d | %d |\n' "$1" "$2" $((total * 1000 / $2)) "$3"
done
