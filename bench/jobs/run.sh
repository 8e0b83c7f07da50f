#!/bin/sh
# bench/jobs/run.sh - the jobs issue's figures:
#   1. a command on N sshd test nodes (default 200) through the API, end to end (POST
#      /api/v2/job_invocations, then follow until the job ended): the first run (full
#      package profiles collected) and a later one (profiles unchanged: one stat a host);
#   2. the scheduler's CPU with 10,000 schedules (droverd's CPU time over 60 s, idle
#      otherwise).
# Usage: sudo [SKIP_SCHEDULER=1] ./bench/jobs/run.sh [BUILD_DIR] [HOSTS]   (root: test nodes)
set -u
build=$(cd "${1:-build}" && pwd)
n=${2:-200}
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/drover-bench-jobs.XXXXXX)
TAP_TMP=$tmp
. "$top/tests/lib/nodes.sh"

# --- 2. scheduler CPU (no nodes needed; SKIP_SCHEDULER=1 skips it) ----------------------
. "$top/bench/lib/droverd.sh"
if [ -z "${SKIP_SCHEDULER:-}" ]; then
bench_droverd_start
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
token=$(DROVER_SERVER=$url DROVER_CONFIG=$tmp/cli.yml DROVER_PASSWORD=bench-password-1 \
	"$build/drover" login >/dev/null && sed -n 's/^token: "\(.*\)"/\1/p' "$tmp/cli.yml")
python3 - "$url" "$token" <<'EOF'
import http.client, json, random, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port)
random.seed(1)
t0 = time.time()
for i in range(10000):
    body = json.dumps({"name": "s%05d" % i, "kind": "noop", "tz": "Europe/Paris",
                       "cron": "%d %d * * *" % (random.randrange(60), random.randrange(24))})
    c.request("POST", "/api/v2/schedules", body, {"Authorization": "Bearer " + sys.argv[2],
              "Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    assert r.status == 201, r.status
print("10,000 schedules created in %.1f s" % (time.time() - t0))
EOF
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
sleep 2
a=$(ticks)
sleep 60
b=$(ticks)
echo "scheduler with 10,000 schedules: droverd used $(((b - a) * 1000 / hz)) ms of CPU in 60 s" \
	"($(echo "scale=3; ($b - $a) * 100 / $hz / 60" | bc) % of one core)"
kill $pid
wait $pid 2>/dev/null
rm -rf "$tmp/state"
fi

# --- 1. a command on N hosts ------------------------------------------------------------
nodes_up "$n" || exit 1
echo "nodes: $n up in $NODES_START_MS ms"
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; nodes_down; rm -rf "$tmp"' EXIT
: >"$tmp/log"
DROVER_ADMIN_PASSWORD=bench-password-1 ip netns exec "$NODES_HUB" "$build/droverd" \
	--listen 127.0.0.1:0 --state-dir "$tmp/state" >"$tmp/log" 2>&1 &
pid=$!
url=
while [ -z "$url" ]; do
	url=$(sed -n 's|.* ready in .* at \(http://[^ ]*\)/ .*|\1|p' "$tmp/log")
	kill -0 $pid 2>/dev/null || { cat "$tmp/log"; exit 1; }
done
export DROVER_SERVER=$url DROVER_CONFIG=$tmp/cli.yml
hub() { ip netns exec "$NODES_HUB" "$@"; }
DROVER_PASSWORD=bench-password-1 hub "$build/drover" login >/dev/null
pub=$(hub "$build/drover" settings ssh-key)
token=$(sed -n 's/^token: "\(.*\)"/\1/p' "$tmp/cli.yml")
i=1
while [ $i -le "$n" ]; do
	echo "$i $(nodes_addr $i)"
	i=$((i + 1))
done | xargs -P 16 -n 2 sh -c 'echo "$0" | ip netns exec '"$NODES_HUB"' ssh -q -i '"$NODES_KEY"' \
	-o UserKnownHostsFile='"$NODES_KNOWN_HOSTS"' root@"$2" "cat >>.ssh/authorized_keys"' "$pub"
hub python3 - "$url" "$token" "$n" "$NODES_DIR" <<'EOF'
import http.client, json, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1]); n = int(sys.argv[3])
c = http.client.HTTPConnection(u.hostname, u.port)
h = {"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"}
for i in range(1, n + 1):
    addr = "198.18.%d.%d" % (1 + (i - 1) // 250, 1 + (i - 1) % 250)
    c.request("POST", "/api/v2/hosts", json.dumps({"name": "node%d" % i,
        "interfaces": [{"ip": addr, "mac": "52:54:01:%02x:%02x:%02x" % (i >> 16, (i >> 8) & 255, i & 255)}]}), h)
    r = c.getresponse(); r.read(); assert r.status == 201, (r.status, i)
    key = " ".join(open("%s/node%d/seed/etc/ssh/drover_host_ed25519_key.pub" % (sys.argv[4], i)).read().split()[:2])
    c.request("PUT", "/api/v2/hosts/node%d/ssh" % i, json.dumps({"ssh_host_key": key}), h)
    r = c.getresponse(); r.read(); assert r.status == 200, (r.status, i)
EOF
# CPU (ticks, with reaped children) of droverd and of the nodes' sshd listeners, which
# account for every session on the nodes.
dticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
nticks() { # the sshd grandchildren of our unshare children: one ps, one awk
	ps -e -o pid=,ppid=,comm= | awk -v top=$$ '
		{ parent[$1] = $2; comm[$1] = $3 }
		END { for (p in comm) if (comm[p] == "sshd" && comm[parent[parent[p]]] == "unshare" &&
			parent[parent[parent[p]]] == top) print "/proc/" p "/stat" }' |
		xargs cat 2>/dev/null | awk '{s += $14 + $15 + $16 + $17} END {print s + 0}'
}
hz=$(getconf CLK_TCK)
run() {
	d0=$(dticks); n0=$(nticks)
	t0=$(date +%s%N)
	hub "$build/drover" job run --command true --search 'name ~ node' --concurrency 200 \
		--follow >"$tmp/run.out" 2>&1 || { tail -5 "$tmp/run.out"; }
	t1=$(date +%s%N)
	d1=$(dticks); n1=$(nticks)
	echo "$1: $(tail -1 "$tmp/run.out") in $(((t1 - t0) / 1000000)) ms;" \
		"CPU: droverd $(((d1 - d0) * 1000 / hz)) ms, nodes' sshd $(((n1 - n0) * 1000 / hz)) ms;" \
		"load $(cut -d' ' -f1-3 /proc/loadavg)"
}
run "command on $n hosts, first run (full package profiles)"
run "command on $n hosts, second run (profiles unchanged)"
run "command on $n hosts, third run"
