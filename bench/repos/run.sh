#!/bin/sh
# run.sh - repository sync side by side, one run on one machine: droverd against
# `dnf reposync` (rpm-md), `aptly mirror update` and debmirror (apt; the ratio is to the
# faster of the two) and the floor, curl fetching the same
# file list with the same concurrency (8). Upstreams are generated (gen.py) and served by
# nginx on loopback. Prints a table (wall and CPU seconds, the load average) and, on
# stderr, the phase lines of drover's sync jobs; needs nginx, curl, bc, dnf-plugins-core,
# aptly, debmirror. Each timed step starts after a sync (NO_SYNC=1: without it, as before
# 2026-11-26 17:00).
#
#   ./bench/repos/run.sh [BUILD_DIR] [SMALL_COUNT] [BIG_COUNT]
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
small=${2:-20000}
big=${3:-500}
work=$(mktemp -d /tmp/drover-bench-repos.XXXXXX)
TAP_TMP=$work
. "$top/tests/lib/repos.sh"
DROVERD_PID=
cleanup() {
	[ -n "$DROVERD_PID" ] && kill "$DROVERD_PID" 2>/dev/null && wait "$DROVERD_PID" 2>/dev/null
	nginx_stop
	rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

echo "generating upstreams: $small x 2 KiB (yum, apt), $big x 4 MiB (yum)" >&2
python3 "$top/tests/lib/repogen.py" yum "$work/www/small" "$small" 2048
python3 "$top/tests/lib/repogen.py" apt "$work/www/apt" "$small" 2048
python3 "$top/tests/lib/repogen.py" yum "$work/www/big" "$big" 4194304
nginx_start "$work/www"

DROVER_ADMIN_PASSWORD=bench-secret-1 "$build/droverd" --listen 127.0.0.1:0 \
	--state-dir "$work/state" >"$work/droverd.log" 2>&1 &
DROVERD_PID=$!
for i in $(seq 50); do
	url=$(sed -n 's|.* ready in .* at \(http://[^ ]*\)/ .*|\1|p' "$work/droverd.log")
	[ -n "$url" ] && break
	sleep 0.1
done
export DROVER_SERVER=$url DROVER_CONFIG=$work/cli.yml
# A first start makes the publishing key (RSA 3072, seconds of CPU in gpg-agent) on a
# background thread: let it finish, so it does not run during the first timed sync.
curl -sf "$url/content/drover.gpg" >/dev/null
DROVER_PASSWORD=bench-secret-1 "$build/drover" login >/dev/null
d() { "$build/drover" "$@" >/dev/null; }
d product create --name bench
d repo create --product bench --name small --type yum --url "$NGINX_URL/small"
d repo create --product bench --name big --type yum --url "$NGINX_URL/big"
d repo create --product bench --name apt --type apt --url "$NGINX_URL/apt" \
	--distribution bookworm --components main --architectures amd64

# CPU seconds (user + sys) of droverd, and of this shell's reaped children (the peers).
dcpu() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$DROVERD_PID/stat"; }
ccpu() { awk '{ printf "%.2f", ($16 + $17) / 100 }' "/proc/$$/stat"; }

timed() { # timed VAR COMMAND...: run in this shell; VAR = wall seconds, VAR_cpu = CPU seconds
	var=$1
	shift
	# Every step starts with nothing left to write back: a syncfs (drover's durable pool)
	# writes back all its file system holds, and the steps before would otherwise leave it
	# gigabytes (the big files reposync and the floor fetched) that the peers, which do not
	# flush, never pay for. NO_SYNC=1 measures the old way.
	[ -n "${NO_SYNC:-}" ] || sync
	d0=$(dcpu)
	c0=$(ccpu)
	t0=$(now)
	"$@" >"$work/out" 2>&1 || { echo "$var failed:" >&2; tail -5 "$work/out" >&2; }
	t1=$(now)
	eval "$var=$(secs "$t0" "$t1")"
	eval "${var}_cpu=$(echo "$(dcpu) - $d0 + $(ccpu) - $c0" | bc)"
}

dsync() { # dsync NAME: drover repo sync, its job log kept for the end
	"$build/drover" repo sync "$1" --wait >"$work/sync-$1.log" 2>&1
}

floor() { # floor NAME DIR: curl, 8 parallel transfers, every package of the repository
	mkdir -p "$work/floor-$1"
	find "$work/www/$2" -name '*.rpm' -o -name '*.deb' | sed "s|^$work/www/||" |
		awk -v u="$NGINX_URL" -v o="$work/floor-$1" '{ n++; printf "url = \"%s/%s\"\noutput = \"%s/%d\"\n", u, $0, o, n }' \
			>"$work/floor-$1.cfg"
	curl -s -Z --parallel-max 8 -K "$work/floor-$1.cfg"
}

reposync() { # reposync NAME: dnf reposync of the whole repository
	dnf -q --releasever=12 --setopt=reposdir=/dev/null --setopt=cachedir="$work/dnfcache-$1" \
		--repofrompath="$1,$NGINX_URL/$1" --repo="$1" reposync -p "$work/reposync"
}

aptly_sync() {
	cat >"$work/aptly.conf" <<EOF
{ "rootDir": "$work/aptly", "downloadConcurrency": 8, "gpgDisableVerify": true }
EOF
	aptly -config="$work/aptly.conf" -architectures=amd64 mirror create -ignore-signatures \
		bench "$NGINX_URL/apt" bookworm main >/dev/null &&
		aptly -config="$work/aptly.conf" mirror update -ignore-signatures bench
}

debmirror_sync() { # debmirror over HTTP: the same dist, section and arch, no sources
	debmirror --method=http --host="${NGINX_URL#http://}" --root=apt --dist=bookworm \
		--section=main --arch=amd64 --nosource --ignore-release-gpg --no-check-gpg \
		--rsync-extra=none --diff=none "$work/debmirror"
}

rss() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$DROVERD_PID/status"; }

load0=$(cut -d' ' -f1-3 /proc/loadavg)
timed s_drover dsync small
timed s_noop d repo sync small --wait
rss_small=$(rss)
timed s_reposync reposync small
timed s_floor floor small small
d content-view create --name cv --repos small
timed s_publish d content-view publish cv --wait
d lifecycle-environment create --name Dev --prior Library
timed s_promote d content-view promote cv --version 1.0 --to Dev --wait
timed b_drover dsync big
timed b_reposync reposync big
timed b_floor floor big big
timed a_drover dsync apt
timed a_aptly aptly_sync
timed a_debmirror debmirror_sync
timed a_floor floor apt apt
rss_end=$(rss)
load1=$(cut -d' ' -f1-3 /proc/loadavg)

ratio() { echo "scale=2; $1 / $2" | bc; }
# The apt peers' ratio is to the faster one.
if [ "$(echo "$a_debmirror < $a_aptly" | bc)" = 1 ]; then a_peer=$a_debmirror; else a_peer=$a_aptly; fi
cat <<EOF
load average before / after: $load0 / $load1; wall seconds (CPU seconds, user + sys: droverd's for drover)

| sync | drover | peer | floor (curl -Z, 8) | peer / drover | drover / floor |
|---|---|---|---|---|---|
| rpm-md, $small x 2 KiB | ${s_drover} (${s_drover_cpu}) | dnf reposync ${s_reposync} (${s_reposync_cpu}) | ${s_floor} (${s_floor_cpu}) | $(ratio "$s_reposync" "$s_drover") | $(ratio "$s_drover" "$s_floor") |
| rpm-md, $big x 4 MiB | ${b_drover} (${b_drover_cpu}) | dnf reposync ${b_reposync} (${b_reposync_cpu}) | ${b_floor} (${b_floor_cpu}) | $(ratio "$b_reposync" "$b_drover") | $(ratio "$b_drover" "$b_floor") |
| apt, $small x 2 KiB | ${a_drover} (${a_drover_cpu}) | aptly mirror update ${a_aptly} (${a_aptly_cpu}), debmirror ${a_debmirror} (${a_debmirror_cpu}) | ${a_floor} (${a_floor_cpu}) | $(ratio "$a_peer" "$a_drover") | $(ratio "$a_drover" "$a_floor") |

| figure | measured | goal |
|---|---|---|
| no-op re-sync of $small packages (drover repo sync --wait, whole CLI round trip) | ${s_noop} s | < 0.5 s |
| content-view publish of $small packages (job, whole CLI round trip) | ${s_publish} s | < 1 s |
| content-view promote (job, whole CLI round trip) | ${s_promote} s | < 1 s |
| droverd peak RSS after the $small-package sync | $((rss_small / 1024)) MB | < 100 MB |
| droverd peak RSS at the end | $((rss_end / 1024)) MB | |
EOF
for r in small big apt; do # the phase lines of drover's sync jobs
	grep -v '^downloaded [0-9]*/' "$work/sync-$r.log" | sed "s/^/$r: /" >&2
done
