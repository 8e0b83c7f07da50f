#!/bin/sh
# play_inventory.sh - droverd's hosts and hostgroups as the inventory: `drover play -i
# droverd:` and a playbook job with "inventory": "droverd:", against real sshd test nodes;
# hostgroups are groups (nested), parameters are host variables, the primary interface's
# address is ansible_host, and the SSH host key recorded at install time is what the
# connection verifies (a changed key is refused).
. "$top_srcdir/tests/lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
for c in sshd ssh ip unshare curl ssh-keygen; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip_all "needs $c"
done
. "$top_srcdir/tests/lib/droverd.sh"
. "$top_srcdir/tests/lib/nodes.sh"
T=$TAP_TMP

nodes_up 2 || { echo "Bail out! nodes_up failed"; exit 1; }
trap 'droverd_stop KILL; nodes_down; rm -rf "$TAP_TMP"' EXIT
# droverd runs in the hub namespace: the nodes are reachable only from there
cat >"$T/droverd-hub" <<EOF
#!/bin/sh
exec ip netns exec $NODES_HUB $top_builddir/droverd "\$@"
EOF
chmod +x "$T/droverd-hub"
DROVERD=$T/droverd-hub
ok "droverd starts in the hub" droverd_start "$T/state"
U=$DROVERD_URL
D() { nodes_exec "$DROVER" "$@"; }
ok "drover login" nodes_exec env DROVER_PASSWORD="$ADMIN_PASSWORD" "$DROVER" login
# no known_hosts of our own: only the recorded keys can vouch for the nodes
export HOME="$T/home"
mkdir -p "$HOME"

ok "base carries the SSH settings" D hostgroup update base -p ansible_user=root \
	-p "ansible_ssh_private_key_file=$NODES_KEY" -p role=base
ok "hostgroup web under base" D hostgroup create --name web --parent base -p role=web
ok "node1 in web" D host create --name node1 --mac 52:54:00:00:01:01 --ip "$(nodes_addr 1)" \
	--hostgroup web -p greeting=hello
ok "node2 in base" D host create --name node2 --mac 52:54:00:00:01:02 --ip "$(nodes_addr 2)" \
	--hostgroup base
# record each node's host key as its installer would: build, then the built callback
record() {
	D host build "$1" >/dev/null || return 1
	tok=$(nodes_exec curl -s "$U/unattended/iPXE?mac=$2" | grep -o 'token=[0-9a-f]*' |
		head -1 | cut -d= -f2)
	[ -n "$tok" ] || return 1
	nodes_exec curl -sf -X POST --data-binary @"$3" "$U/unattended/built?token=$tok" >/dev/null
}
ok "node1's key recorded" record node1 52:54:00:00:01:01 \
	"$NODES_DIR/node1/seed/etc/ssh/drover_host_ed25519_key.pub"
ok "node2's key recorded" record node2 52:54:00:00:01:02 \
	"$NODES_DIR/node2/seed/etc/ssh/drover_host_ed25519_key.pub"

inv=$(D --json host list >/dev/null; nodes_exec curl -s -H "Authorization: Bearer $(sed -n 's/^token: *//p' "$DROVER_CONFIG" | tr -d '"')" "$U/api/v2/inventory")
like "the inventory: hostgroups nested, hosts with their variables" "$inv" \
	'"base".*"children".*"web".*"node1".*"ansible_host": *"198\.18\.1\.1"'
like "the recorded key is a host variable" "$inv" '"drover_host_key": *"ssh-ed25519 '

cat >"$T/site.yml" <<'P'
- hosts: web
  gather_facts: false
  tasks:
    - command: hostname
      register: h
      changed_when: false
    - assert:
        that:
          - inventory_hostname == 'node1'
          - h.stdout == 'node1'
          - greeting == 'hello'
          - role == 'web'
          - ansible_host == '198.18.1.1'
          - "'base' in group_names and 'web' in group_names"
- hosts: base
  gather_facts: false
  tasks:
    - command: cat /etc/hostname
      register: n
      changed_when: false
    - assert:
        that: [n.stdout == inventory_hostname]
P
D play -i droverd: "$T/site.yml" >"$T/play.out" 2>&1
rc=$?
is "drover play -i droverd: exit 0" "$rc" 0
[ "$rc" -eq 0 ] || grep -E "fatal|ERROR" "$T/play.out" | head -5 | sed 's/^/# /'
is "base has both hosts (web is its child)" "$(grep -cE '^node[12] +: ok=[1-9].*failed=0' "$T/play.out")" 2
ok "nothing was learnt into a known_hosts file" test ! -e "$HOME/.ssh/known_hosts"

# a playbook job with the same inventory
pb=$(sed 's/"/\\"/g' "$T/site.yml" | awk '{printf "%s\\n", $0}')
D job run playbook --params "{\"playbook_yaml\": \"$pb\", \"inventory\": \"droverd:\"}" \
	--follow >"$T/job.out" 2>&1
is "a playbook job on droverd's inventory succeeds" "$?" 0
like "its recap has both hosts, none failed" "$(grep '"event": *"recap"' "$T/job.out")" \
	'"node1": *\{[^}]*"failed": *0.*"node2": *\{[^}]*"failed": *0'

# another key recorded for node2: refused, as a reinstalled host would be
ssh-keygen -q -t ed25519 -N '' -f "$T/other"
ok "node2 rebuilt with another key" record node2 52:54:00:00:01:02 "$T/other.pub"
D play -i droverd: "$T/site.yml" >"$T/play.out" 2>&1
is "a changed host key: exit 4" "$?" 4
like "refused, naming the host" "$(cat "$T/play.out")" 'node2.*HOST KEY CHANGED'
is "node1 still ran" "$(grep -cE '^node1 +: ok=[1-9].*unreachable=0' "$T/play.out")" 1
done_testing
