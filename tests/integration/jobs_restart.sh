#!/bin/sh
# jobs_restart.sh - droverd killed in the middle of a scheduled remote job: after the restart
# the interrupted job is reported as such, nothing runs twice (the minute that fired is
# not fired again) and nothing is lost (the next minute runs and succeeds).
. "$top_srcdir/tests/lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
for c in sshd ssh ip unshare python3; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip_all "needs $c"
done
. "$top_srcdir/tests/lib/nodes.sh"
. "$top_srcdir/tests/lib/droverd.sh"
T=$TAP_TMP
export DROVER_CONFIG=$T/cli.yml

nodes_up 1 || { echo "Bail out! nodes_up failed"; exit 1; }
trap 'droverd_stop KILL; nodes_down; rm -rf "$T"' EXIT
for p in droverd drover; do
	printf '#!/bin/sh\nexec ip netns exec %s %s/%s "$@"\n' "$NODES_HUB" "$top_builddir" "$p" >"$T/$p"
	chmod +x "$T/$p"
done
DROVERD=$T/droverd
DROVER=$T/drover
jobs() { # jobs: "id state" of the schedule's jobs, oldest first
	"$DROVER" --json job list --kind remote_execution | python3 -c 'import json,sys
for j in reversed(json.load(sys.stdin)["results"]): print(j["id"], j["state"])'
}

ok "droverd starts" droverd_start "$T/state"
ok "login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
"$DROVER" settings ssh-key | nodes_exec ssh -q -i "$NODES_KEY" \
	-o UserKnownHostsFile="$NODES_KNOWN_HOSTS" root@"$(nodes_addr 1)" 'cat >>.ssh/authorized_keys'
"$DROVER" host create --name node1 --ip "$(nodes_addr 1)" --mac 52:54:00:00:02:01 >/dev/null
"$DROVER" host update node1 --ssh-host-key \
	"$(cut -d' ' -f1,2 "$NODES_DIR/node1/seed/etc/ssh/drover_host_ed25519_key.pub")" >/dev/null
ok "a remote command scheduled every minute" "$DROVER" schedule create --name every-minute \
	--cron '* * * * *' --kind remote_execution \
	--params '{"command": "sleep 8; echo finished", "hosts": ["node1"]}'

# Wait (at most 70 s) for the first run, then kill droverd while it runs.
i=0
while [ $i -lt 140 ] && ! jobs | grep -q running; do sleep 0.5; i=$((i + 1)); done
first=$(jobs | sed -n 's/ running$//p')
ok "the schedule started a job" [ -n "$first" ]
droverd_stop KILL
ok "droverd restarts" droverd_start "$T/state"
is "the killed job is reported interrupted" "$(jobs)" "$first interrupted"
sleep 2
is "the minute that fired is not run again" "$(jobs | wc -l)" 1

# The next minute runs to the end.
i=0
while [ $i -lt 150 ] && [ "$(jobs | wc -l)" -lt 2 ]; do sleep 0.5; i=$((i + 1)); done
second=$(jobs | sed -n '2s/ .*//p')
ok "the next minute started a job" [ -n "$second" ]
out=$("$DROVER" job follow "$second" 2>&1)
is "it succeeds" "$?" 0
like "on node1" "$out" "node1: finished"
"$DROVER" schedule disable "$("$DROVER" --json schedule list | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["id"])')" >/dev/null
is "one job per minute, none twice" "$(jobs | awk '{print $2}' | tr '\n' ' ')" "interrupted succeeded "
droverd_stop
done_testing
