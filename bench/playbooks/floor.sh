#!/bin/sh
# floor.sh [HOSTS...] - the issue's "floor" for the 4-operation play (pyinfra's benchmark:
# add a user, touch a file with mode 0777, copy a file, shell echo), next to the same four
# operations through our SSH backend (bench/playbooks/transport.c), on 1, 5, 20 and 50
# test nodes (tests/lib/nodes.sh; root only).
#
# Floor: one OpenSSH connection per host kept open (ControlMaster), then one `ssh` command
# per task through it (the copy is `ssh host 'cat >file' <file`), hosts in parallel, linear
# strategy (every host finishes a task before the next task starts). Ours: one thread and
# one libssh session per host, the same barrier between tasks, the copy over SFTP.
# "connect" is until every host is connected and authenticated; "4 tasks" the rest.
# Each figure is the median of REPS runs (default 3); every run uses a fresh user name.
#
#   sudo ./bench/playbooks/floor.sh            # 1 5 20 50
#   BUILD=build-rel REPS=5 ./bench/playbooks/floor.sh 1 5
set -u
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
top=$(cd "$(dirname "$0")/../.." && pwd)

# --floor N SUFFIX KEY KNOWN_HOSTS COPY_FILE ADDR...: one floor run, inside the hub.
if [ "${1:-}" = "--floor" ]; then
	shift
	suffix=$1 key=$2 kh=$3 copy=$4 dir=$5
	shift 5
	o="-o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$kh -i $key -T"
	ms() { echo $(($(date +%s%N) / 1000000)); }
	t0=$(ms)
	masters=
	for a in "$@"; do
		# shellcheck disable=SC2086
		ssh $o -o ControlMaster=yes -o ControlPath="$dir/cm-$suffix-$a" -N "root@$a" &
		masters="$masters $!"
	done
	for a in "$@"; do
		i=0
		while [ ! -S "$dir/cm-$suffix-$a" ] && [ "$i" -lt 2000 ]; do
			sleep 0.002
			i=$((i + 1))
		done
	done
	t1=$(ms)
	# task CMD [STDIN_FILE]: run CMD on every host through its master, wait for all.
	task() {
		pids=
		for a in "$@"; do :; done
		for a in $hosts; do
			# shellcheck disable=SC2086
			ssh $o -o ControlMaster=no -o ControlPath="$dir/cm-$suffix-$a" "root@$a" \
				"$1" <"${2:-/dev/null}" >/dev/null &
			pids="$pids $!"
		done
		for p in $pids; do
			wait "$p" || echo "floor: task failed: $1" >&2
		done
	}
	hosts="$*"
	task "id bench_$suffix >/dev/null 2>&1 || useradd -m bench_$suffix"
	task "touch /tmp/bench_$suffix && chmod 0777 /tmp/bench_$suffix"
	task "cat >/tmp/bench_$suffix.copy && chmod 0644 /tmp/bench_$suffix.copy" "$copy"
	task "echo hello"
	t2=$(ms)
	for p in $masters; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	echo "$((t1 - t0)) $((t2 - t1)) $((t2 - t0))"
	exit 0
fi

[ "$(id -u)" -eq 0 ] || { echo "floor.sh: needs root (network namespaces)" >&2; exit 1; }
build=${BUILD:-$top/build}
reps=${REPS:-3}
counts=${*:-1 5 20 50}
max=0
for n in $counts; do [ "$n" -gt "$max" ] && max=$n; done
[ -f "$build/libdrover.a" ] || { echo "floor.sh: build first ($build/libdrover.a)" >&2; exit 1; }

. "$top/tests/lib/nodes.sh"
nodes_up "$max" || exit 1
echo "$max nodes up in $NODES_START_MS ms"

libs=$(pkg-config --libs jansson libssh yaml-0.1 libcrypto libpcre2-8 sqlite3 libcurl \
	libmicrohttpd libxcrypt)
cc -O2 -std=gnu11 -pthread -I"$top" -I"$build" "$top/bench/playbooks/transport.c" \
	"$build/libdrover.a" $libs -lm -o "$NODES_DIR/transport" || exit 1
head -c 3000 /usr/share/common-licenses/GPL-3 >"$NODES_DIR/copy.txt" 2>/dev/null ||
	seq 1 600 >"$NODES_DIR/copy.txt"

# median FILE COLUMN: the line whose COLUMN is the median.
median() {
	sort -n -k"$2" "$1" | awk -v n="$(wc -l <"$1")" 'NR == int((n + 1) / 2)'
}

printf '\n| hosts | floor connect | floor 4 tasks | floor total | ours connect | ours 4 tasks'
printf ' | ours total | ours facts | ours max RSS |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
run=0
for n in $counts; do
	addrs=
	i=1
	while [ "$i" -le "$n" ]; do
		addrs="$addrs $(nodes_addr "$i")"
		i=$((i + 1))
	done
	: >"$NODES_DIR/floor.txt"
	: >"$NODES_DIR/ours.txt"
	r=0
	while [ "$r" -lt "$reps" ]; do
		run=$((run + 1))
		# shellcheck disable=SC2086
		nodes_exec sh "$self" --floor "f$run" "$NODES_KEY" "$NODES_KNOWN_HOSTS" \
			"$NODES_DIR/copy.txt" "$NODES_DIR" $addrs >>"$NODES_DIR/floor.txt"
		# shellcheck disable=SC2086
		line=$(nodes_exec /usr/bin/time -f '%M' -o "$NODES_DIR/rss" "$NODES_DIR/transport" \
			"$NODES_KEY" "$NODES_KNOWN_HOSTS" "$NODES_DIR/copy.txt" "o$run" $addrs)
		echo "$line $(cat "$NODES_DIR/rss")" >>"$NODES_DIR/ours.txt"
		r=$((r + 1))
	done
	f=$(median "$NODES_DIR/floor.txt" 3)
	o=$(median "$NODES_DIR/ours.txt" 3)
	set -- $f
	fc=$1 ft=$2 ftot=$3
	set -- $o
	printf '| %s | %s ms | %s ms | %s ms | %s ms | %s ms | %s ms | %s ms | %s MB |\n' "$n" \
		"$fc" "$ft" "$ftot" "$1" "$2" "$3" "$4" "$(($6 / 1024))"
	[ "$5" -eq 0 ] || echo "  (ours: $5 failures)"
done
