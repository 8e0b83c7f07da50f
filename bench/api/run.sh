#!/bin/sh
# bench/api/run.sh - the REST API and UI under load: 10,000 hosts (seed-hosts.sql: NICs,
# BMCs, hostgroups, subnets, parameters) and 10,000 jobs in the store; wrk on
# GET /api/v2/hosts?per_page=100, on searches, on one host and on the jobs list; page
# render times of the hosts list and a host page (when the UI has them), the jobs list,
# a job page and the dashboard; the list while hosts are written, and without the answer
# cache and the kept rows (DROVER_API_NO_CACHE). Run from the top of a built tree:
#   apt-get install -y wrk sqlite3 && ./bench/api/run.sh [BUILD_DIR]
# Load is bounded: each wrk run lasts DURATION seconds (default 10) on 127.0.0.1 only.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
duration=${DURATION:-10}
rows=${ROWS:-10000}
command -v wrk >/dev/null || { echo "bench: apt-get install wrk" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "bench: apt-get install sqlite3" >&2; exit 1; }
[ -x "$build/droverd" ] || { echo "bench: build first (no $build/droverd)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/drover-bench.XXXXXX)
. "$top/bench/lib/droverd.sh"
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# The schema comes from droverd itself; then stop it and fill the store offline.
bench_droverd_start
kill $pid; wait $pid 2>/dev/null || true
pid=
now=$(date +%s)
sqlite3 "$tmp/state/drover.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
INSERT INTO jobs (kind, state, params, owner, created_at, started_at, finished_at, timeout,
	result, error)
SELECT CASE i % 4 WHEN 0 THEN 'repo_sync' WHEN 1 THEN 'host_build' WHEN 2 THEN 'playbook'
	ELSE 'patch_run' END,
	CASE WHEN i % 17 = 0 THEN 'failed' ELSE 'succeeded' END,
	'{"host":"node' || i || '.example.com","hostgroup":"k8s","repos":["base","updates"]}',
	CASE i % 3 WHEN 0 THEN 'admin' WHEN 1 THEN 'ops' ELSE 'ci' END,
	$now - i * 60, $now - i * 60 + 1, $now - i * 60 + 30, 0, '{"changed":3,"ok":12}',
	CASE WHEN i % 17 = 0 THEN 'host unreachable' ELSE NULL END
FROM n;
CREATE TABLE bench_n (rows INTEGER);
INSERT INTO bench_n VALUES ($rows);
.read $top/bench/api/seed-hosts.sql
DROP TABLE bench_n;
SQL
bench_droverd_start
token=$(curl -s -d '{"user":"admin","password":"bench-password-1"}' "$url/api/v2/tokens" |
	sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
rss() { awk '/VmRSS/ { print int($2 / 1024) " MB" }' "/proc/$pid/status"; }

# cpu: droverd's user + system time so far, in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }

# wrk_run PATH: requests/s and p99 of an authenticated GET, and droverd's CPU time per
# request (the figure that other load on the machine disturbs least).
wrk_run() {
	c0=$(cpu)
	wrk -t2 -c16 -d"${duration}s" --latency -H "Authorization: Bearer $token" "$url$1" \
		>"$tmp/wrk" 2>&1
	c1=$(cpu)
	rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$tmp/wrk")
	p99=$(sed -n 's/^ *99% *\([0-9.]*[mu]*s\).*/\1/p' "$tmp/wrk")
	n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$tmp/wrk")
	printf '%s req/s, p99 %s, droverd CPU %s ms a request' "${rps%.*}" "$p99" \
		"$(awk -v c="$((c1 - c0))" -v n="$n" -v hz="$(getconf CLK_TCK)" \
			'BEGIN { printf "%.3f", n ? c * 1000 / hz / n : 0 }')"
}

# Page render times: the median of 21 GETs with a session, as curl sees them.
jar=$tmp/jar
curl -s -c "$jar" -b "$jar" "$url/login" -o "$tmp/login.html"
lt=$(sed -n 's/.*name="login_token" value="\([0-9a-f]*\)".*/\1/p' "$tmp/login.html")
curl -s -c "$jar" -b "$jar" -o /dev/null --data-urlencode user=admin \
	--data-urlencode password=bench-password-1 --data-urlencode "login_token=$lt" "$url/login"
page_ms() {
	for i in $(seq 21); do
		curl -s -b "$jar" -o /dev/null -w '%{time_total}\n' "$url$1"
	done | sort -n | sed -n 11p | awk '{ printf "%.1f ms", $1 * 1000 }'
}
mid=$((rows / 2))

q() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }
search1=$(q 'hostgroup = web-2 and status = installed')
search2=$(q 'name ~ node012 or mac = 52:54:00:00:27:0f')
# ms_one PATH: the median time of 21 single GETs with the token (one request at a time).
ms_one() {
	for i in $(seq 21); do
		curl -s -H "Authorization: Bearer $token" -o /dev/null -w '%{time_total}\n' "$url$1"
	done | sort -n | sed -n 11p | awk '{ printf "%.1f ms", $1 * 1000 }'
}
# ui_page PATH: page_ms when the UI has the page, else says so.
ui_page() {
	c=$(curl -s -b "$jar" -o /dev/null -w '%{http_code}' "$url$1")
	if [ "$c" = 200 ]; then page_ms "$1"; else echo "no such page ($c)"; fi
}
host=node$(printf %05d $mid).dc$((1 + mid % 2)).example.com
# The UI's host page is by id (/ui/hosts/:id); the API finds a host by name too.
hostid=$(curl -s -H "Authorization: Bearer $token" "$url/api/v2/hosts/$host" |
	sed -n 's/.*"id":\([0-9]*\),"name":.*/\1/p')

# hosts_api LABEL: the host list figures, as droverd answers them now.
hosts_api() {
	echo "| \`GET /api/v2/hosts?per_page=100\`, wrk -t2 -c16 ${duration} s$1 | $(wrk_run '/api/v2/hosts?per_page=100') |"
	echo "| the same, one request at a time (median of 21)$1 | $(ms_one '/api/v2/hosts?per_page=100') |"
	echo "| \`search=hostgroup = web-2 and status = installed\` (median of 21)$1 | $(ms_one "/api/v2/hosts?per_page=100&search=$search1") |"
	echo "| \`search=name ~ node012 or mac = 52:54:00:00:27:0f\` (median of 21)$1 | $(ms_one "/api/v2/hosts?per_page=100&search=$search2") |"
	echo "| the first search under wrk$1 | $(wrk_run "/api/v2/hosts?per_page=100&search=$search1") |"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| figure ($rows hosts, $rows jobs in the store) | measured |"
echo "|---|---|"
hosts_api ""
echo "| \`GET /api/v2/hosts/$host\` | $(wrk_run "/api/v2/hosts/$host") |"
echo "| hosts page \`/ui/hosts?per_page=100\` (median of 21) | $(ui_page '/ui/hosts?per_page=100') |"
echo "| hosts page with the first search | $(ui_page "/ui/hosts?per_page=100&search=$search1") |"
echo "| a host page \`/ui/hosts/$hostid\` ($host) | $(ui_page "/ui/hosts/$hostid") |"
echo "| \`GET /api/v2/jobs?per_page=100\`, wrk -t2 -c16 ${duration} s | $(wrk_run '/api/v2/jobs?per_page=100') |"
echo "| \`GET /api/v2/jobs/$mid\` | $(wrk_run "/api/v2/jobs/$mid") |"
echo "| jobs page \`/ui/jobs?per_page=100\` (median of 21) | $(page_ms '/ui/jobs?per_page=100') |"
echo "| a job page \`/ui/jobs/$mid\` | $(page_ms "/ui/jobs/$mid") |"
echo "| dashboard \`/\` | $(page_ms '/') |"
# A busy appliance: hosts of the first page updated (as facts uploads and jobs do) about
# 20 times a second while wrk reads the list; each write empties the answer cache.
writer() {
	i=0
	while [ -f "$tmp/writing" ]; do
		i=$((i + 1))
		n=$((1 + i % 100))
		curl -s -o /dev/null -X PUT -H "Authorization: Bearer $token" \
			-H 'Content-Type: application/json' -d "{\"comment\":\"write $i\"}" \
			"$url/api/v2/hosts/node$(printf %05d $n).dc$((1 + n % 2)).example.com"
		sleep 0.05
	done
	echo "$i" >"$tmp/writes"
}
: >"$tmp/writing"
writer &
wpid=$!
w=$(wrk_run '/api/v2/hosts?per_page=100')
rm -f "$tmp/writing"
wait "$wpid"
echo "| the list while first-page hosts are written, $(cat "$tmp/writes") writes in ${duration} s | $w |"
echo "| RSS after the load | $(rss) |"
# Again without the answer cache: every list is answered afresh, as right after a write
# (the rows of hosts that did not change are kept: api.c, json_stamp).
restart() {
	kill "$pid"; wait "$pid" 2>/dev/null || true
	export DROVER_API_NO_CACHE=$1
	bench_droverd_start
	token=$(curl -s -d '{"user":"admin","password":"bench-password-1"}' "$url/api/v2/tokens" |
		sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
}
restart 1
hosts_api " (no answer cache)"
# And with no row kept: every page rendered by SQLite (the first read of each page).
restart all
echo "| \`GET /api/v2/hosts?per_page=100\` (no answer cache, no rows kept) | $(wrk_run '/api/v2/hosts?per_page=100') |"
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
