#!/bin/sh
# ui_jobs_nodes.sh - the job invocation and drift pages with real sshd test nodes: a
# command's per-host output and exit status, a failing host and the rerun of the failed
# one, and a host whose file changed behind its playbook's back shown drifted with its
# diff after "Check now" in the UI.
. "$top_srcdir/tests/lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
for c in sshd ssh ip unshare python3 curl; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip_all "needs $c"
done
. "$top_srcdir/tests/lib/nodes.sh"
. "$top_srcdir/tests/lib/droverd.sh"
T=$TAP_TMP
export DROVER_CONFIG=$T/cli.yml
nodes_up 2 || { echo "Bail out! nodes_up failed"; exit 1; }
trap 'droverd_stop KILL; nodes_down; rm -rf "$T"' EXIT

# droverd, the CLI and curl run in the hub namespace, the only place the nodes are reachable.
for b in droverd drover; do
	printf '#!/bin/sh\nexec ip netns exec %s %s/%s "$@"\n' "$NODES_HUB" "$top_builddir" $b >"$T/$b"
	chmod +x "$T/$b"
done
DROVERD=$T/droverd
DROVER=$T/drover
hcurl() { ip netns exec "$NODES_HUB" curl "$@"; }

ok "droverd starts" droverd_start "$T/state"
ok "login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
pub=$("$DROVER" settings ssh-key)
for i in 1 2; do
	echo "$pub" | nodes_exec ssh -q -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" \
		-o StrictHostKeyChecking=yes root@"$(nodes_addr $i)" 'cat >>.ssh/authorized_keys'
	"$DROVER" host create --name node$i --ip "$(nodes_addr $i)" --mac "52:54:00:00:02:0$i" \
		>/dev/null
	"$DROVER" host update node$i --ssh-host-key \
		"$(cut -d' ' -f1,2 "$NODES_DIR/node$i/seed/etc/ssh/drover_host_ed25519_key.pub")" >/dev/null
done

jar=$T/jar
hcurl -s -c "$jar" -b "$jar" "$DROVERD_URL/login" -o "$T/login.html"
lt=$(sed -n 's/.*name="login_token" value="\([0-9a-f]*\)".*/\1/p' "$T/login.html")
hcurl -s -c "$jar" -b "$jar" -o /dev/null --data-urlencode user=admin \
	--data-urlencode "password=$ADMIN_PASSWORD" --data-urlencode "login_token=$lt" "$DROVERD_URL/login"
page() { hcurl -s -b "$jar" -o "$T/page.html" -w '%{http_code}' "$DROVERD_URL$1"; }
csrf() { sed -n 's/.*name="csrf_token" value="\([0-9a-f]*\)".*/\1/p' "$T/page.html" | head -1; }
post() {
	p=$1
	shift
	for d in "$@"; do set -- "$@" --data-urlencode "$d"; shift; done
	hcurl -s -b "$jar" -o "$T/post.html" -w '%{http_code} %{redirect_url}' "$@" "$DROVERD_URL$p"
}
lastjob() { "$DROVER" --json job list --kind "$1" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1; }

# node2 fails the command (a file only node1 has).
nodes_exec ssh -q -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" root@"$(nodes_addr 1)" \
	'echo ready >/tmp/ui-flag'
"$DROVER" job run --command 'cat /tmp/ui-flag && hostname' --hosts node1,node2 --follow >/dev/null 2>&1
jid=$(lastjob remote_execution)
is "the invocation's page" "$(page /ui/job_invocations/$jid)" 200
flat=$(tr -d '\n' <"$T/page.html")
like "node1 succeeded with its output" "$flat" \
	'node1 <small>[0-9.]+</small></td> *<td data-label="State"><span class="state state-success">.*<pre class="output">ready'
like "node2 failed with exit status 1" "$flat" \
	'node2 <small>[0-9.]+</small></td> *<td data-label="State"><span class="state state-failed">failed</span>.*<td data-label="Exit">1</td>'
like "and its stderr" "$flat" '<pre class="output error">cat: /tmp/ui-flag: No such file'
like "a rerun of the one failed host is offered" "$flat" 'Rerun on the 1 failed hosts'
out=$(post /ui/job_invocations/$jid/rerun csrf_token=$(csrf))
like "rerun" "$out" '^303 .*/ui/job_invocations/[0-9]+$'
new=${out##*/}
i=0
while [ $i -lt 60 ] && "$DROVER" --json job show "$new" | grep -Eq '^  "state": *"(queued|running)"'; do
	sleep 0.5
	i=$((i + 1))
done
page /ui/job_invocations/$new >/dev/null
like "the rerun ran on node2 only" "$(tr -d '\n' <"$T/page.html")" '<td data-label="Host">node2 '
is "not on node1" "$(grep -c 'data-label="Host">node1 ' "$T/page.html")" 0

# Drift from the UI: node2's file changed behind its playbook's back.
cat >"$T/motd.yml" <<'P'
- hosts: all
  gather_facts: false
  tasks:
    - name: the message of the day
      copy: content="managed by drover\n" dest=/etc/drover-motd
P
"$DROVER" playbook upload motd "$T/motd.yml" >/dev/null
"$DROVER" host update node1 -p playbooks=motd >/dev/null
"$DROVER" host update node2 -p playbooks=motd >/dev/null
ok "converge both" "$DROVER" job run --playbook motd --hosts node1,node2 --follow
nodes_exec ssh -q -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" root@"$(nodes_addr 2)" \
	'echo tampered >/etc/drover-motd'
page /ui/drift >/dev/null
out=$(post /ui/drift/check csrf_token=$(csrf))
like "check now" "$out" '^303 .*/ui/job_invocations/[0-9]+$'
did=${out##*/}
i=0
while [ $i -lt 120 ] && "$DROVER" --json job show "$did" | grep -Eq '^  "state": *"(queued|running)"'; do
	sleep 0.5
	i=$((i + 1))
done
is "the drift page" "$(page /ui/drift)" 200
flat=$(tr -d '\n' <"$T/page.html")
like "node2 is drifted" "$flat" 'node2</td> *<td data-label="State"><span class="state state-failed">drifted'
like "node1 is in sync" "$flat" 'node1</td> *<td data-label="State"><span class="state state-succeeded">in sync'
like "with the task that would change" "$flat" '<p>the message of the day</p>'
like "and its diff" "$flat" 'tampered'
page /ui/job_invocations/$did >/dev/null
like "the drift run's page shows the change per host" "$(tr -d '\n' <"$T/page.html")" \
	'node2 .*state-drifted.*the message of the day'

# The Run job form starts a job that really runs on the nodes; its page follows the output
# live while it runs.
waitjob() {
	i=0
	while [ $i -lt 120 ] && "$DROVER" --json job show "$1" | grep -Eq '^  "state": *"(queued|running)"'; do
		sleep 0.5
		i=$((i + 1))
	done
}
page /ui/job_invocations/new >/dev/null
out=$(post /ui/job_invocations csrf_token=$(csrf) 'command=sleep 2; echo form-ran-on-$(hostname)' \
	'search=name ~ node' concurrency=2)
like "the run job form starts a command" "$out" '^303 .*/ui/job_invocations/[0-9]+$'
fj=${out##*/}
page /ui/job_invocations/$fj >/dev/null
like "its page follows the output live while it runs" "$(cat "$T/page.html")" \
	"data-events=\"/ui/jobs/$fj/events\?offset=0\""
hcurl -s -N -b "$jar" --max-time 20 "$DROVERD_URL/ui/jobs/$fj/events?offset=0" >"$T/events.txt"
like "the live stream carries each host's output" "$(cat "$T/events.txt")" 'data: node1: form-ran-on-'
like "and the job's end" "$(cat "$T/events.txt")" 'event: end'
waitjob "$fj"
is "the run's page" "$(page /ui/job_invocations/$fj)" 200
flat=$(tr -d '\n' <"$T/page.html")
like "node1 succeeded with the command's output" "$flat" \
	'node1 <small>[0-9.]+</small></td> *<td data-label="State"><span class="state state-success">.*<pre class="output">form-ran-on-'
like "so did node2" "$flat" 'node2 <small>[0-9.]+</small></td> *<td data-label="State"><span class="state state-success">'
is "no live output once it ended" "$(grep -c 'data-events=' "$T/page.html")" 0
page /ui/job_invocations/new >/dev/null
out=$(post /ui/job_invocations csrf_token=$(csrf) playbook=motd 'search=name = node2')
like "the form runs a library playbook" "$out" '^303 .*/ui/job_invocations/[0-9]+$'
waitjob "${out##*/}"
like "which converges node2 again" "$(nodes_exec ssh -q -i "$NODES_KEY" \
	-o UserKnownHostsFile="$NODES_KNOWN_HOSTS" root@"$(nodes_addr 2)" cat /etc/drover-motd)" \
	'^managed by drover$'
page "/ui/job_invocations?search=command%20~%20form-ran" >/dev/null
like "the list finds the form's command run" "$(cat "$T/page.html")" "href=\"/ui/job_invocations/$fj\""

droverd_stop
is "droverd stopped cleanly, no sanitizer report in its log" \
	"$(grep -c 'Sanitizer\|runtime error' "$TAP_TMP/droverd.log")" 0
done_testing
