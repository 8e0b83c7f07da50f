#!/bin/sh
# prov_postinstall.sh - the post-install playbook (host parameter post_install_playbook) on
# a real sshd test node: `built` from the installer records the node's host key and queues
# a playbook job that waits for the node's sshd from droverd, then runs the operator's
# playbook on that host alone through droverd's inventory (the host's parameters, SSH
# checked against the recorded key); a host whose installer posted another key is refused;
# a relative path is logged and queues nothing. The same after a real install and reboot:
# tests/e2e/pxe_image.sh.
. "$top_srcdir/tests/lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
for c in sshd ssh ssh-keygen ip unshare python3 curl; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip_all "needs $c"
done
. "$top_srcdir/tests/lib/nodes.sh"
. "$top_srcdir/tests/lib/droverd.sh"
T=$TAP_TMP
export DROVER_CONFIG=$T/cli.yml

nodes_up 1 || { echo "Bail out! nodes_up failed"; exit 1; }
trap 'droverd_stop KILL; nodes_down; rm -rf "$T"' EXIT
nodes_hub_drover "$T"
ok "droverd starts" droverd_start "$T/state"
ok "login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
U=$DROVERD_URL
key=$(cut -d' ' -f1,2 "$NODES_DIR/node1/seed/etc/ssh/drover_host_ed25519_key.pub")

cat >"$T/post.yml" <<'PB'
- hosts: all
  gather_facts: false
  tasks:
    - command: hostname
      register: hn
    - assert:
        that:
          - hn.stdout == 'node1'
          - drover_post_install
    - copy:
        dest: /root/post-install
        content: "{{ inventory_hostname }} at {{ ansible_host }}\n"
PB
ok "a host whose post-install playbook is set" "$DROVER" host create --name node1 \
	--ip "$(nodes_addr 1)" --mac 52:54:00:00:01:01 -p ansible_user=root \
	-p "ansible_ssh_private_key_file=$NODES_KEY" -p "post_install_playbook=$T/post.yml"

# built: as the finish template posts it, with the token of the host's build.
built() {
	"$DROVER" host build node1 >/dev/null || return 1
	tok=$("$DROVER" template preview --host node1 --kind finish 2>&1 |
		sed -n 's/.*built?token=\([0-9a-f]*\).*/\1/p' | head -1)
	[ -n "$tok" ] || return 1
	nodes_exec curl -sf -o /dev/null -X POST --data-binary "$1" "$U/unattended/built?token=$tok"
}
# last_playbook_job: the id of the newest playbook job (waits up to 10 s for one).
last_playbook_job() {
	i=0
	while [ $i -lt 100 ]; do
		id=$("$DROVER" --json job list --kind playbook 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)["results"]
print(max(j["id"] for j in r) if r else "")')
		[ -n "$id" ] && [ "$id" != "${1:-}" ] && { echo "$id"; return 0; }
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
ok "the installer posts built with the node's host key" built "$key"
job=$(last_playbook_job)
ok "a playbook job is queued" test -n "$job"
"$DROVER" job follow "$job" >"$T/job1" 2>&1
ok "it succeeds" test $? -eq 0
like "waiting for sshd, then the operator's playbook, on that host alone" \
	"$(tr -d '\n' <"$T/job1")" \
	'"play":"wait for the installed system.s sshd".*"delegate":"localhost","action":"wait_for".*"recap","hosts":\{"node1":\{"ok":4,"changed":2,"unreachable":0,"failed":0'
is "it ran on the node" "$(nodes_ssh 1 cat /root/post-install)" "node1 at $(nodes_addr 1)"
like "owned by the installer" "$("$DROVER" --json job show "$job" | tr -d ' \n')" \
	'"owner":"\(installer\)"'

# Another key than the node's: the playbook refuses the node.
ssh-keygen -q -t ed25519 -N '' -f "$T/other"
ok "an installer that posts another key" built "$(cut -d' ' -f1,2 "$T/other.pub")"
job2=$(last_playbook_job "$job")
"$DROVER" job follow "$job2" >"$T/job2" 2>&1
ok "its post-install playbook fails" test $? -ne 0
like "the node unreachable: its key is not the recorded one" "$(cat "$T/job2")" \
	'[Hh]ost key|HOST KEY|mismatch'

# The package profile: post_install_profile queues a remote-execution job whose play waits
# for sshd; remote execution collects the profile with droverd's own key, which the
# operator authorized on the node (the installed system's authorized_keys, as the seeded
# snippet writes it).
"$DROVER" settings ssh-key | nodes_exec ssh -q -i "$NODES_KEY" \
	-o UserKnownHostsFile="$NODES_KNOWN_HOSTS" -o StrictHostKeyChecking=yes \
	root@"$(nodes_addr 1)" 'cat >>.ssh/authorized_keys'
ok "a host whose package profile is uploaded after built" "$DROVER" host update node1 \
	-p post_install_playbook= -p post_install_profile=true
last_rx_job() {
	"$DROVER" --json job list --kind remote_execution 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)["results"]
print(max(j["id"] for j in r) if r else "")'
}
ok "built" built "$key"
i=0
until rx=$(last_rx_job) && [ -n "$rx" ] || [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
ok "a remote-execution job is queued" test -n "$rx"
[ -n "$rx" ] || grep -i "post-install\|built" "$T/droverd.log" | tail -5 | sed 's/^/# /'
"$DROVER" job follow "$rx" >"$T/job3" 2>&1
ok "it succeeds" test $? -eq 0
like "waiting for sshd first, on node1 alone" "$(tr -d '\n' <"$T/job3")" 'TASK \[wait_for\]node1: ok.*1 host: 1 success'
token=$(sed -n 's/^token: *//p' "$DROVER_CONFIG" | tr -d '"')
prof=$(nodes_exec curl -sf -H "Authorization: Bearer $token" "$U/api/v2/hosts/node1/package_profile")
is "node1's package profile is stored, dpkg's" \
	"$(echo "$prof" | python3 -c 'import json,sys; print(json.load(sys.stdin)["format"])' 2>&1)" apt
n=$(dpkg-query -W -f='${db:Status-Abbrev}\n' | grep -c '^ii')
is "with every installed package" \
	"$(echo "$prof" | python3 -c 'import json,sys; print(json.load(sys.stdin)["package_count"])' 2>&1)" "$n"
"$DROVER" host packages node1 >"$T/packages" 2>&1
like "drover host packages lists them, dpkg's versions" "$(cat "$T/packages")" \
	"^dpkg +$(dpkg-query -W -f='${Version}' dpkg | sed 's/[.+]/\\&/g') +amd64$"
is "one a line under a header" "$(tail -n +2 "$T/packages" | grep -c .)" "$n"
ok "a host with no profile" "$DROVER" host create --name bare --mac 52:54:00:00:01:02
"$DROVER" host packages bare >"$T/nopk" 2>&1
is "drover host packages fails for it" "$?" 1
like "saying so" "$(cat "$T/nopk")" "404 no package profile collected from host 'bare' yet"
ok "no playbook job this time (post_install_playbook is empty)" \
	test "$(last_playbook_job "$job2" 2>/dev/null)" = ""
ok "post_install_profile off again" "$DROVER" host update node1 -p post_install_profile=false

ok "a relative playbook path" "$DROVER" host update node1 -p post_install_playbook=post.yml
ok "built" built "$key"
sleep 0.5
like "is logged" "$(cat "$T/droverd.log")" \
	"post-install playbook post.yml: post_install_playbook: 'post.yml' is not an absolute path"
done_testing
