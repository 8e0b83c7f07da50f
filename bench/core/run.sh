#!/bin/sh
# bench/core/run.sh - the foundation's figures: droverd ready time and idle RSS,
# /api/v2/status throughput with wrk (keep-alive, loopback), and the template engine
# against python3-jinja2 (bench/core/template/run.sh). Run from the top of a built tree:
#   apt-get install -y wrk python3-jinja2 && ./bench/core/run.sh [BUILD_DIR]
# Load is bounded: wrk runs for DURATION seconds (default 10) on 127.0.0.1 only.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
duration=${DURATION:-10}
command -v wrk >/dev/null || { echo "bench: apt-get install wrk" >&2; exit 1; }
[ -x "$build/droverd" ] || { echo "bench: build first (no $build/droverd)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/drover-bench.XXXXXX)
. "$top/bench/lib/droverd.sh"
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# Ready time: from exec to the first 200 from /api/v2/status, measured by a poll loop
# (upper bound), and as droverd reports it (module start-up alone).
start=$(date +%s%N)
bench_droverd_start
until curl -sf -o /dev/null "$url/api/v2/status"; do :; done
ready_ms=$(( ($(date +%s%N) - start) / 1000000 ))
self_ms=$(sed -n 's/.* ready in \([0-9.]*\) ms.*/\1/p' "$tmp/log")
sleep 2
rss_kb=$(awk '/^VmRSS/ { print $2 }' /proc/$pid/status)

# Restart on the now-initialised state: the ready time of an ordinary start.
kill $pid; wait $pid 2>/dev/null || true
start=$(date +%s%N)
bench_droverd_start
until curl -sf -o /dev/null "$url/api/v2/status"; do :; done
ready2_ms=$(( ($(date +%s%N) - start) / 1000000 ))
sleep 2
rss2_kb=$(awk '/^VmRSS/ { print $2 }' /proc/$pid/status)

wrk -t2 -c64 -d"${duration}s" --latency "$url/api/v2/status" >"$tmp/wrk" 2>&1
rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$tmp/wrk")
p99=$(awk '$1 == "99%" { print $2 }' "$tmp/wrk")
rss3_kb=$(awk '/^VmRSS/ { print $2 }' /proc/$pid/status)

echo "| figure | measured | goal |"
echo "|---|---|---|"
echo "| ready, first start (exec to first 200 from /api/v2/status) | ${ready_ms} ms (droverd: ${self_ms} ms) | < 200 ms |"
echo "| ready, later start | ${ready2_ms} ms | < 200 ms |"
echo "| idle RSS after first start / later start | $((rss_kb / 1024)) MB / $((rss2_kb / 1024)) MB | < 20 MB |"
echo "| /api/v2/status, wrk -t2 -c64 ${duration}s keep-alive | ${rps} req/s (p99 ${p99}) | >= 20,000 |"
echo "| RSS after the load | $((rss3_kb / 1024)) MB | |"
if [ -x "$top/bench/core/template/run.sh" ]; then
	"$top/bench/core/template/run.sh" "$build"
fi
