#!/bin/sh
# ab.sh - A/B of drover's own sync between two builds, interleaved, on one generated
# upstream: for a change to the sync path on a machine too busy for one-shot wall times.
# Each run starts a droverd of its build on a copy of one prepared state directory (key
# made, repositories created, pool empty), syncs one repository, and prints the wall
# seconds of the sync, droverd's CPU seconds (user + sys) and the load average; the job's
# phase lines go to stderr.
#
#   ./bench/repos/ab.sh BUILD_A BUILD_B KIND COUNT SIZE [RUNS]
#     KIND yum or apt; SIZE bytes per package; RUNS pairs (3)
#   PERF=FILE records a perf profile of the first run (PERF_OPTS, default -a -g; evaluated, so it may name $DROVERD_PID).
#   DIRTY=MB writes MB of another file just before each sync and does not flush it: the
#   state run.sh's syncs start in (the tools before them leave gigabytes not yet written
#   back, and a syncfs writes back everything of its file system).
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
a=$1 b=$2 kind=$3 count=$4 size=$5 runs=${6:-3}
work=$(mktemp -d /tmp/drover-bench-ab.XXXXXX)
TAP_TMP=$work
. "$top/tests/lib/repos.sh"
DROVERD_PID=
cleanup() {
	[ -n "$DROVERD_PID" ] && kill "$DROVERD_PID" 2>/dev/null && wait "$DROVERD_PID" 2>/dev/null
	nginx_stop
	rm -rf "$work"
}
trap cleanup EXIT

python3 "$top/tests/lib/repogen.py" "$kind" "$work/www/up" "$count" "$size"
nginx_start "$work/www"

start() { # start BUILD STATE: droverd in the background; sets DROVERD_PID, url
	rm -f "$work/droverd.log" # not the last run's address: the new one writes it
	DROVER_ADMIN_PASSWORD=bench-secret-1 "$1/droverd" --listen 127.0.0.1:0 \
		--state-dir "$2" >"$work/droverd.log" 2>&1 &
	DROVERD_PID=$!
	url=
	for i in $(seq 100); do
		url=$(sed -n 's|.* ready in .* at \(http://[^ ]*\)/ .*|\1|p' "$work/droverd.log" 2>/dev/null || true)
		[ -n "$url" ] && break
		sleep 0.1
	done
	export DROVER_SERVER=$url DROVER_CONFIG=$work/cli.yml
}
stop() {
	kill "$DROVERD_PID"
	wait "$DROVERD_PID" 2>/dev/null || true
	DROVERD_PID=
}

start "$a" "$work/template"
curl -sf "$url/content/drover.gpg" >/dev/null
DROVER_PASSWORD=bench-secret-1 "$a/drover" login >/dev/null
"$a/drover" product create --name bench >/dev/null
if [ "$kind" = apt ]; then
	"$a/drover" repo create --product bench --name up --type apt --url "$NGINX_URL/up" \
		--distribution bookworm --components main --architectures amd64 >/dev/null
else
	"$a/drover" repo create --product bench --name up --type yum --url "$NGINX_URL/up" >/dev/null
fi
stop

dcpu() { awk '{ printf "%.2f %.2f", $14 / 100, $15 / 100 }' "/proc/$DROVERD_PID/stat"; }
one() { # one LABEL BUILD
	# Each run on a copy of its own, all removed at the end: ext4 without a journal steps
	# over every inode deleted in the last 5 seconds, or 5 minutes while its inode table
	# block is not written back (and a new inode in that block dirties it), when it
	# creates one, so removing the last run's pool would slow this run's file creation
	# more with every run.
	runno=$((runno + 1))
	state=$work/state-$runno
	cp -a "$work/template" "$state"
	sync
	if [ -n "${DIRTY:-}" ]; then
		dd if=/dev/zero of="$work/dirty" bs=1M count="$DIRTY" status=none
	fi
	start "$2" "$state"
	l=$(cut -d' ' -f1 /proc/loadavg)
	set -- "$@" $(dcpu)
	t0=$(date +%s.%N)
	if [ -n "${PERF:-}" ]; then # PERF=FILE: a system-wide profile of the first run
		eval "exec perf record -q ${PERF_OPTS:--a -g} -o \"\$PERF\"" >/dev/null 2>&1 &
		perf_pid=$!
		sleep 0.5
	fi
	"$2/drover" repo sync up --wait >"$work/sync.log" 2>&1 || { tail -n 3 "$work/sync.log" "$work/droverd.log" >&2; }
	if [ -n "${PERF:-}" ]; then
		kill -INT "$perf_pid"
		wait "$perf_pid" || true
		PERF=
	fi
	t1=$(date +%s.%N)
	set -- "$@" $(dcpu)
	stop
	rm -f "$work/dirty"
	printf '%s wall %.2f cpu %.2f (user %.2f sys %.2f) load %s\n' "$1" "$(echo "$t1 - $t0" | bc)" \
		"$(echo "$5 + $6 - $3 - $4" | bc)" "$(echo "$5 - $3" | bc)" "$(echo "$6 - $4" | bc)" "$l"
	grep -v '^downloaded [0-9]*/' "$work/sync.log" | sed "s/^/$1: /" >&2
}
runno=0
for i in $(seq "$runs"); do
	one A "$a"
	one B "$b"
done
