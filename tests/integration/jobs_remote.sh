#!/bin/sh
# jobs_remote.sh - remote execution through droverd on real sshd test nodes: droverd's own
# ed25519 key authorized on the nodes, host keys recorded with drover host update (and
# learnt with accept-new), commands and library playbooks by search and hostgroup, batches,
# the failure threshold, timeouts, become, per-host results, re-runs of the failed hosts,
# and the package profile collected at the end of each job.
. "$top_srcdir/tests/lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
for c in sshd ssh ip unshare python3 curl; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip_all "needs $c"
done
. "$top_srcdir/tests/lib/nodes.sh"
. "$top_srcdir/tests/lib/droverd.sh"
T=$TAP_TMP
export DROVER_CONFIG=$T/cli.yml
isnt() { ok "$1" [ "$2" != "$3" ]; }

nodes_up 4 || { echo "Bail out! nodes_up failed"; exit 1; }
trap 'droverd_stop KILL; nodes_down; rm -rf "$T"' EXIT

# droverd and the CLI run in the hub namespace, the only place the nodes are reachable.
cat >"$T/droverd" <<EOF
#!/bin/sh
exec ip netns exec $NODES_HUB $top_builddir/droverd "\$@"
EOF
cat >"$T/drover" <<EOF
#!/bin/sh
exec ip netns exec $NODES_HUB $top_builddir/drover "\$@"
EOF
chmod +x "$T/droverd" "$T/drover"
DROVERD=$T/droverd
DROVER=$T/drover

t0=$(date +%s%N)
ok "droverd starts" droverd_start "$T/state"
is "its SSH key is made at first start, readable by droverd only" \
	"$(stat -c %a "$T/state/ssh/id_ed25519")" 600
ok "login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
pub=$("$DROVER" settings ssh-key)
like "drover settings ssh-key prints the public key" "$pub" '^ssh-ed25519 AAAA[^ ]+ drover@'
is "the same key as the .pub in the state directory" "$pub" "$(cat "$T/state/ssh/id_ed25519.pub")"

# The operator authorizes droverd's key on each node (with the nodes' own admin key).
i=1
while [ $i -le 4 ]; do
	echo "$pub" | nodes_exec ssh -q -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" \
		-o StrictHostKeyChecking=yes root@"$(nodes_addr $i)" 'cat >>.ssh/authorized_keys'
	i=$((i + 1))
done
key() { cut -d' ' -f1,2 "$NODES_DIR/node$1/seed/etc/ssh/drover_host_ed25519_key.pub"; }

"$DROVER" hostgroup create --name web >/dev/null
i=1
while [ $i -le 4 ]; do
	hg=
	[ $i -le 2 ] && hg="--hostgroup web"
	# shellcheck disable=SC2086
	"$DROVER" host create --name node$i --ip "$(nodes_addr $i)" \
		--mac "52:54:00:00:00:0$i" $hg >/dev/null || echo "# host create node$i failed"
	i=$((i + 1))
done

jobid() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
items() { # items JOB: "host state" lines, sorted
	"$DROVER" --json job show "$1" | python3 -c 'import json,sys
for i in sorted(json.load(sys.stdin)["items"], key=lambda i: i["item"]):
    print(i["item"], i["state"])'
}

# No host key recorded: refused without connecting, the message says what to do.
out=$("$DROVER" job run --command 'true' --hosts node1 --follow 2>&1)
isnt "a host without a recorded key fails" "$?" 0
like "saying how to record it" "$out" "no SSH host key recorded; record it with drover host update node1"

ok "record node1's key" "$DROVER" host update node1 --ssh-host-key "$(key 1)"
ok "record node2's key" "$DROVER" host update node2 --ssh-host-key "$(key 2)"
ok "record a wrong key for node3 (node1's)" "$DROVER" host update node3 --ssh-host-key "$(key 1)"
out=$("$DROVER" host update node3 --ssh-host-key 'ssh-ed25519 not-base64!' 2>&1)
isnt "a malformed key is refused" "$?" 0
like "naming the field" "$out" "ssh_host_key: line 1 is not an OpenSSH public key"
is "drover host known-hosts shows the recorded key" "$("$DROVER" host known-hosts node1)" \
	"node1,$(nodes_addr 1) $(key 1)"

out=$("$DROVER" job run --command 'echo "hello from $(hostname)"' --search 'name ^ (node1, node2, node3)' --follow 2>&1)
isnt "a job with a host offering another key fails" "$?" 0
like "node1 ran the command" "$out" "node1: hello from node1"
like "node2 ran the command" "$out" "node2: hello from node2"
like "node3's changed key is refused" "$out" "node3: .*HOST KEY CHANGED"
like "with per-host progress" "$out" "node2: success \[[0-9]/3\]"
like "and a summary" "$out" "3 hosts: 2 success, 0 failed, 1 unreachable"
id=$("$DROVER" --json job list --kind remote_execution | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["id"])')
is "each host's state is a job item" "$(items "$id")" "node1 success
node2 success
node3 unreachable"
show=$("$DROVER" job show "$id")
like "job show prints each host's output" "$show" "== node2 \\(success\\) =="
like "under its heading" "$(echo "$show" | grep -A1 '== node2')" "^hello from node2$"

ok "record node3's right key" "$DROVER" host update node3 --ssh-host-key "$(key 3)"
out=$("$DROVER" --json job rerun "$id")
rid=$(echo "$out" | jobid)
"$DROVER" job follow "$rid" >"$T/rerun.out" 2>&1
is "the re-run of the failed hosts succeeds" "$?" 0
is "and ran on node3 only" "$(items "$rid")" "node3 success"

# accept-new: off by default, then the key node4 offers is learnt and recorded.
out=$("$DROVER" host update node4 --ssh-accept-new on)
like "accept-new is a per-host setting" "$out" "accept-new on"
out=$("$DROVER" job run --command 'hostname' --hosts node4 --follow 2>&1)
is "a job on an accept-new host succeeds" "$?" 0
like "saying the key was learnt" "$out" "node4: host key learnt and recorded"
is "the learnt key is node4's" "$("$DROVER" --json host show node4 | python3 -c 'import json,sys; print(json.load(sys.stdin)["ssh_host_keys"].strip())')" "$(key 4)"

# Hostgroup, become, timeout.
out=$("$DROVER" job run --command 'id -un' --hostgroup web --become-user nobody --become-method su --follow 2>&1)
is "become: the command runs as another user" "$?" 0
like "node1 answered as nobody" "$out" "node1: nobody"
is "--hostgroup selects the group's hosts" "$(echo "$out" | grep -c ': nobody$')" 2
s=$(date +%s)
out=$("$DROVER" job run --command 'sleep 30' --hosts node1 --timeout 2 --follow 2>&1)
isnt "a command past its timeout fails" "$?" 0
ok "and ends at the timeout" [ $(($(date +%s) - s)) -lt 15 ]

# Batches and the failure threshold: node1 (first by name) fails, the rest never start.
out=$("$DROVER" --json job run --command 'test "$(hostname)" != node1' --search 'name ~ node' \
	--batch-size 1 --max-fail-percent 0)
tid=$(echo "$out" | jobid)
"$DROVER" job follow "$tid" >"$T/threshold.out" 2>&1
isnt "a run past its failure threshold fails" "$?" 0
like "it says why it stopped" "$(cat "$T/threshold.out")" "stopping: 1 of 1 hosts failed, more than the 0% allowed"
is "the later batches are skipped" "$(items "$tid")" "node1 failed
node2 skipped
node3 skipped
node4 skipped"
out=$("$DROVER" --json job show "$tid")
like "the failed host's exit status is kept" "$out" '"exit_status": 1'

# The command and the profile share one round trip: what the command prints, its status,
# its shell (root's login shell, bash) and its stdin are as if it ran alone.
out=$("$DROVER" --json job run --command 'printf "one\ntwo"; echo err >&2; [[ -n x ]] && read -r l; exit 3' --hosts node2)
wid=$(echo "$out" | jobid)
"$DROVER" job follow "$wid" >"$T/wrap.out" 2>&1
item() { "$DROVER" --json job show "$1" | python3 -c 'import json,sys
d = [i["data"] for i in json.load(sys.stdin)["items"]][0]
print(json.dumps([d.get("exit_status"), d.get("stdout"), d.get("stderr")]))'; }
is "stdout without its last newline, stderr, bash syntax, an empty stdin, the exit status" \
	"$(item "$wid")" '[3, "one\ntwo", "err\n"]'
is "the profile's lines are not the command's output" \
	"$(grep -cE 'fingerprint|unchanged|drover-[0-9a-f]{32}|format' "$T/wrap.out")" 0
out=$("$DROVER" --json job run --command 'printf "\ndrover-0123 0\nformat\tnone\n"; exit 5' --hosts node2)
wid=$(echo "$out" | jobid)
"$DROVER" job follow "$wid" >/dev/null 2>&1
is "a forged marker line is the command's output" "$(item "$wid")" '[5, "\ndrover-0123 0\nformat\tnone\n", ""]'

# Bad requests are refused naming the field.
out=$("$DROVER" job run --command 'true' --search 'name = nosuch' 2>&1)
like "a search matching no host is refused" "$out" "matches no host"
out=$("$DROVER" job run --command 'true' --search 'nosuchfield = 1' 2>&1)
like "a bad search names the problem" "$out" "search"
out=$("$DROVER" job run --playbook nosuch --hosts node1 2>&1)
like "an unknown library playbook is refused" "$out" "no such playbook"

# The playbook library: versions, then a run by name and a run from a file.
cat >"$T/site.yml" <<'P'
- hosts: all
  gather_facts: false
  tasks:
    - copy: content="managed by drover\n" dest=/tmp/drover-managed
    - command: cat /tmp/drover-managed
      register: r
      changed_when: false
P
out=$("$DROVER" playbook upload site "$T/site.yml")
is "upload makes version 1" "$out" "playbook site version 1"
is "the same text makes no new version" "$("$DROVER" playbook upload site "$T/site.yml")" "playbook site version 1"
printf '    - debug: msg=v2\n' >>"$T/site.yml"
is "a changed text makes version 2" "$("$DROVER" playbook upload site "$T/site.yml")" "playbook site version 2"
like "playbook list shows the latest version" "$("$DROVER" playbook list)" "site +2"
like "playbook show NAME@1 shows version 1" "$("$DROVER" playbook show site@1)" "command: cat /tmp/drover-managed"
printf -- '- hosts: all\n  taskz: []\n' >"$T/bad.yml"
out=$("$DROVER" playbook upload bad "$T/bad.yml" 2>&1)
like "a playbook that does not load is refused with file:line" "$out" "bad:2:3: 'taskz' is not a valid attribute"
out=$("$DROVER" job run --playbook site@1 --hostgroup web --follow 2>&1)
is "a library playbook runs on the hostgroup" "$?" 0
like "its task results are per host" "$out" "node2: changed"
is "the file is on the node" "$(nodes_exec ssh -q -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" root@"$(nodes_addr 2)" cat /tmp/drover-managed)" "managed by drover"
out=$("$DROVER" job run --playbook "$T/site.yml" --hosts node3 --follow 2>&1)
is "a playbook from a file runs" "$?" 0
like "and its debug task shows" "$out" "node3: ok: v2"

# Package profiles, collected at the end of each job on the host.
token=$(sed -n 's/^token: *//p' "$DROVER_CONFIG" | tr -d '"')
prof=$(nodes_exec curl -sf -H "Authorization: Bearer $token" "$DROVERD_URL/api/v2/hosts/node1/package_profile")
is "node1's profile is dpkg's" "$(echo "$prof" | python3 -c 'import json,sys; print(json.load(sys.stdin)["format"])')" apt
n=$(dpkg-query -W -f='${db:Status-Abbrev}\n' | grep -c '^ii')
is "with every installed package" "$(echo "$prof" | python3 -c 'import json,sys; print(json.load(sys.stdin)["package_count"])')" "$n"
like "and whether a reboot is needed" "$prof" '"reboot_required": *false'

# Drift: node1 and node2 are assigned the motd playbook; node2's file changes behind its back.
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
ok "converge node1 and node2 with their playbook" "$DROVER" job run --playbook motd --hosts node1,node2 --follow
nodes_exec ssh -q -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" root@"$(nodes_addr 2)" \
	'echo tampered >/etc/drover-motd'
out=$("$DROVER" drift check --follow 2>&1)
is "a drift check runs on the hosts with playbooks" "$?" 0
like "node2 drifted" "$out" "node2: drifted"
like "node1 is in sync" "$out" "node1: in_sync"
like "only they were checked" "$out" "2 hosts: 1 drifted, 1 in sync, 0 failed"
is "the check changed nothing" "$(nodes_exec ssh -q -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" root@"$(nodes_addr 2)" cat /etc/drover-motd)" tampered
like "drift list shows node2 drifted" "$("$DROVER" drift list)" "node2 +true"
out=$("$DROVER" drift show node2)
like "drift show names the task" "$out" "TASK \[the message of the day\] would change"
like "with the diff: what is there" "$out" "^-tampered$"
like "and what the playbook wants" "$out" "^\+managed by drover$"
n2=$("$DROVER" --json host show node2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
is "the search language knows drifted hosts" "$("$DROVER" --json job run --command true --search 'drifted = true' | python3 -c 'import json,sys; print(json.load(sys.stdin)["params"]["hosts"])')" "[$n2]"

droverd_stop
t1=$(date +%s%N)
echo "# took $(((t1 - t0) / 1000000)) ms"
done_testing
