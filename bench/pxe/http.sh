#!/bin/sh
# bench/pxe/http.sh - HTTP boot-file throughput on loopback: CLIENTS (default 200)
# simultaneous curl clients, one GET each, fetch the same SIZE_MB (default 50) MB random
# initrd from droverd's /pxe/files/ (served from its TFTP root) and from nginx (sendfile on,
# the same file). ROUNDS (default 3) rounds each, alternating droverd and nginx; every
# status must be 200 and every size exact, one copy per round is checked with sha256, and
# one Range request per server is compared byte for byte. Prints best and median wall time,
# aggregate MB/s and droverd/nginx (aggregate throughput ratio) with the load average.
#   apt-get install -y nginx-light curl && ./bench/pxe/http.sh [BUILD_DIR]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
rounds=${ROUNDS:-3}
clients=${CLIENTS:-200}
size_mb=${SIZE_MB:-50}
[ -x "$build/droverd" ] || { echo "bench: build first (no $build/droverd)" >&2; exit 1; }
[ -x /usr/sbin/nginx ] || { echo "bench: apt-get install nginx-light" >&2; exit 1; }
command -v curl >/dev/null || { echo "bench: apt-get install curl" >&2; exit 1; }
command -v bc >/dev/null || { echo "bench: apt-get install bc" >&2; exit 1; }

tmp=$(mktemp -d /tmp/drover-bench-http.XXXXXX)
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || :; done
	for p in $pids; do wait "$p" 2>/dev/null || :; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
chmod 755 "$tmp"
mkdir -p "$tmp/root/bench" "$tmp/nginx"
f=$tmp/root/bench/initrd.img
head -c $((size_mb << 20)) /dev/urandom >"$f"
size=$(stat -c %s "$f")
want=$(sha256sum <"$f" | cut -d' ' -f1)

# droverd: its TFTP root is $tmp/root, /pxe/files/bench/initrd.img is the file above. The
# TFTP port is a free one on loopback (this bench does not use it).
printf 'tftp:\n  root: %s\n' "$tmp/root" >"$tmp/droverd.yml"
: >"$tmp/droverd.log"
DROVER_ADMIN_PASSWORD=bench-password-1 "$build/droverd" --config "$tmp/droverd.yml" \
	--listen 127.0.0.1:0 --tftp-listen 127.0.0.1:0 --state-dir "$tmp/state" \
	>"$tmp/droverd.log" 2>&1 &
pids="$pids $!"
dpid=$!
durl=
i=0
while [ -z "$durl" ] && [ $i -lt 300 ]; do
	durl=$(sed -n 's|.* ready in .* at \(http://[^ ]*\)/ .*|\1|p' "$tmp/droverd.log")
	kill -0 $dpid 2>/dev/null || { cat "$tmp/droverd.log" >&2; exit 1; }
	[ -n "$durl" ] || sleep 0.1
	i=$((i + 1))
done
[ -n "$durl" ] || { echo "bench: droverd did not get ready" >&2; cat "$tmp/droverd.log" >&2; exit 1; }

# nginx in the foreground as our child (its master; workers as many as cores, as Debian's
# nginx.conf has it), on a free port, the same file.
nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	client_body_temp_path $tmp/nginx/body;
	proxy_temp_path $tmp/nginx/proxy;
	fastcgi_temp_path $tmp/nginx/fastcgi;
	uwsgi_temp_path $tmp/nginx/uwsgi;
	scgi_temp_path $tmp/nginx/scgi;
	server {
		listen 127.0.0.1:$nport;
		location /pxe/files/ { alias $tmp/root/; }
	}
}
EOF
/usr/sbin/nginx -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" >"$tmp/nginx/out.log" 2>&1 &
pids="$pids $!"
nurl=http://127.0.0.1:$nport
i=0
until curl -sf -o /dev/null "$nurl/pxe/files/bench/initrd.img" -r 0-0 || [ $i -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
curl -sf -o /dev/null -r 0-0 "$nurl/pxe/files/bench/initrd.img" ||
	{ echo "bench: nginx did not start" >&2; cat "$tmp/nginx/"*.log >&2; exit 1; }

# range URL: bytes 1000000-1999999 (and the last 4096) must equal the file's.
range() {
	curl -sf -r 1000000-1999999 -o "$tmp/r1" "$1/pxe/files/bench/initrd.img" &&
		tail -c +1000001 "$f" | head -c 1000000 | cmp -s - "$tmp/r1" &&
		curl -sf -r -4096 -o "$tmp/r2" "$1/pxe/files/bench/initrd.img" &&
		tail -c 4096 "$f" | cmp -s - "$tmp/r2"
}
range "$durl" || { echo "bench: droverd's Range reply differs" >&2; exit 1; }
range "$nurl" || { echo "bench: nginx's Range reply differs" >&2; exit 1; }
echo "Range requests (bytes=1000000-1999999 and bytes=-4096): droverd and nginx both exact"

# many URL: CLIENTS simultaneous single-GET curl clients; prints the wall time in ms,
# exits non-zero naming the first client with a wrong status or size. Client 0 keeps its
# bytes, checked with sha256.
many() {
	rm -rf "$tmp/many"
	mkdir -p "$tmp/many"
	t0=$(date +%s%N)
	curl -s -o "$tmp/many/copy" -w '%{http_code} %{size_download}\n' \
		"$1/pxe/files/bench/initrd.img" >"$tmp/many/0" &
	i=1
	while [ $i -lt "$clients" ]; do
		curl -s -o /dev/null -w '%{http_code} %{size_download}\n' \
			"$1/pxe/files/bench/initrd.img" >"$tmp/many/$i" &
		i=$((i + 1))
	done
	wait # (a subshell: its children are the curls only)
	t1=$(date +%s%N)
	i=0
	while [ $i -lt "$clients" ]; do
		[ "$(cat "$tmp/many/$i")" = "200 $size" ] || {
			echo "bench: $1 client $i: '$(cat "$tmp/many/$i")', want '200 $size'" >&2
			return 1
		}
		i=$((i + 1))
	done
	[ "$(sha256sum <"$tmp/many/copy" | cut -d' ' -f1)" = "$want" ] ||
		{ echo "bench: $1: client 0's copy differs (sha256)" >&2; return 1; }
	echo $(((t1 - t0) / 1000000))
}
load0=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$tmp/t.droverd"
: >"$tmp/t.nginx"
r=0
while [ $r -lt "$rounds" ]; do
	ms=$(many "$durl") || exit 1
	echo "$ms" >>"$tmp/t.droverd"
	echo "round $((r + 1)): droverd $ms ms (load $(cut -d' ' -f1 /proc/loadavg))"
	ms=$(many "$nurl") || exit 1
	echo "$ms" >>"$tmp/t.nginx"
	echo "round $((r + 1)): nginx $ms ms (load $(cut -d' ' -f1 /proc/loadavg))"
	r=$((r + 1))
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
kill -0 $dpid || { echo "bench: droverd died" >&2; exit 1; }

best() { sort -n "$1" | head -1; }
median() { sort -n "$1" | sed -n "$((($(wc -l <"$1") + 1) / 2))p"; }
total=$((clients * size_mb))
mbs() { echo $((total * 1000 / $1)); }
db=$(best "$tmp/t.droverd") dm=$(median "$tmp/t.droverd")
nb=$(best "$tmp/t.nginx") nm=$(median "$tmp/t.nginx")
printf '\n| %d clients x %d MB, %d rounds | best wall | median wall | aggregate MB/s (best, median) |\n' \
	"$clients" "$size_mb" "$rounds"
printf '|---|---|---|---|\n'
printf '| droverd | %d ms | %d ms | %d, %d |\n' "$db" "$dm" "$(mbs "$db")" "$(mbs "$dm")"
printf '| nginx %s (sendfile) | %d ms | %d ms | %d, %d |\n' \
	"$(/usr/sbin/nginx -v 2>&1 | sed 's|.*nginx/||')" "$nb" "$nm" "$(mbs "$nb")" "$(mbs "$nm")"
printf '\ndroverd/nginx aggregate: best %s, median %s (goal >= 0.8); every status 200, every size %d\n' \
	"$(echo "scale=2; $nb / $db" | bc)" "$(echo "scale=2; $nm / $dm" | bc)" "$size"
printf 'load average before: %s, after: %s\n' "$load0" "$load1"
