#!/bin/sh
# play_ssh.sh - `drover play` over SSH against real sshd test nodes (tests/lib/nodes.sh):
# facts, every file module idempotent over SFTP, become with su, the same recap as
# ansible-playbook over OpenSSH, an unreachable host and a node killed mid-run.
. "$top_srcdir/tests/lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
for c in sshd ssh ip unshare; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip_all "needs $c"
done
. "$top_srcdir/tests/lib/nodes.sh"
DROVER=$top_builddir/drover
F=$top_srcdir/tests/fixtures/play
T=$TAP_TMP # (nodes.sh uses $d itself)

nodes_up 3 || { echo "Bail out! nodes_up failed"; exit 1; }
inv=$T/inventory
{
	cat "$NODES_INVENTORY"
	printf 'ansible_user=root\nansible_ssh_private_key_file=%s\nansible_ssh_known_hosts_file=%s\n' \
		"$NODES_KEY" "$NODES_KNOWN_HOSTS"
	printf '[gone]\nghost ansible_host=198.18.3.254 ansible_user=root ansible_ssh_private_key_file=%s\n' \
		"$NODES_KEY"
} >"$inv"
# the [nodes:vars] lines above belong to the group nodes: write them as such
sed -i 's/^ansible_user=root$/[nodes:vars]\nansible_user=root/' "$inv"

run() {
	nodes_exec "$DROVER" play -i "$inv" "$@" >"$T/play.out" 2>&1
	rc=$?
}
recap() {
	grep -E "^$1 +: ok=" "$T/play.out" | tail -1 | sed -E "s/.* $2=([0-9]+).*/\1/"
}

cat >"$T/facts.yml" <<'P'
- hosts: nodes
  tasks:
    - copy: content="{{ ansible_hostname }} {{ ansible_default_ipv4.address }}\n" dest=/tmp/who
    - command: cat /tmp/who
      register: who
      changed_when: false
    - assert:
        that: who.stdout == inventory_hostname + ' ' + ansible_host
    - command: id -un
      become: true
      become_method: su
      become_user: nobody
      register: id
      changed_when: false
    - assert:
        that: id.stdout == 'nobody'
    - name: a file written as the become user
      copy: content="mine\n" dest=/tmp/nobody-file mode=0640
      become: true
      become_method: su
      become_user: nobody
    - stat: path=/tmp/nobody-file
      register: nf
    - assert:
        that: [nf.stat.pw_name == 'nobody', nf.stat.mode == '0640']
P
run "$T/facts.yml"
is "facts, copy over SFTP, become su: exit 0" "$rc" 0
is "every node ran" "$(grep -c '^node[123] .*failed=0' "$T/play.out")" 3

cd "$F" || exit 1
for i in 1 2 3; do
	nodes_exec ssh -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" \
		root@"$(nodes_addr "$i")" mkdir -p /tmp/m
done
run modules.yml -e d=/tmp/m -e target=nodes
is "file modules over SSH: exit 0" "$rc" 0
is "file modules over SSH: first run changes" "$(recap node2 changed)" 13
run modules.yml -e d=/tmp/m -e target=nodes
is "file modules over SSH: second run changed=0" "$(recap node2 changed)" 0
run modules_after.yml -e d=/tmp/m -e target=nodes
is "edits over SSH: exit 0" "$rc" 0
is "fetch from three nodes" "$(cat /tmp/m/fetched/node1/tmp/m/c2 /tmp/m/fetched/node3/tmp/m/c2 2>&1)" \
	"hello
hello"
rm -rf /tmp/m
run modules_after.yml -e d=/tmp/m -e target=nodes --skip-tags verify
is "edits over SSH: second run changed=0" "$(recap node1 changed)" 0

if command -v ansible-playbook >/dev/null 2>&1; then
	for i in 1 2 3; do
		nodes_exec ssh -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" \
			root@"$(nodes_addr "$i")" 'rm -rf /tmp/a /tmp/b && mkdir -p /tmp/a /tmp/b'
	done
	nodes_exec env ANSIBLE_NOCOLOR=1 ANSIBLE_HOST_KEY_CHECKING=True \
		ansible-playbook -i "$NODES_INVENTORY" modules.yml -e d=/tmp/a -e target=nodes \
		--private-key "$NODES_KEY" -u root >"$T/ansible.out" 2>&1
	arc=$?
	run modules.yml -e d=/tmp/b -e target=nodes
	drc=$rc
	is "same exit code as ansible-playbook over SSH" "$drc" "$arc"
	is "same recap as ansible-playbook over SSH" \
		"$(grep -E '^node[0-9] +: ok=' "$T/play.out" | sort)" \
		"$(grep -E '^node[0-9] +: ok=' "$T/ansible.out" | sort)"
fi

# user, group, sysctl, hostname, wait_for: drover on node1, ansible-playbook on node2
counts() { grep -E "^$1 +: ok=" "$2" | tail -1 | sed -E 's/^[^:]*: //; s/ +/ /g'; }
run system.yml -l node1 --skip-tags hostname
is "system modules: exit 0" "$rc" 0
cp "$T/play.out" "$T/system.first"
run system.yml -l node1 --skip-tags hostname
is "system modules: second run changed=0" "$(recap node1 changed)" 0
run system.yml -l node1 --tags hostname
is "hostname: changed" "$(recap node1 changed)" 1
is "hostname set" "$(nodes_exec ssh -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" \
	root@"$(nodes_addr 1)" 'hostname; cat /etc/hostname')" "node1x
node1x"
is "user and groups" "$(nodes_exec ssh -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" \
	root@"$(nodes_addr 1)" 'id druser')" "uid=4321(druser) gid=4321(drgrp) groups=4321(drgrp),100(users)"
if command -v ansible-playbook >/dev/null 2>&1; then
	nodes_exec env ANSIBLE_NOCOLOR=1 ansible-playbook -i "$NODES_INVENTORY" system.yml -l node2 \
		--private-key "$NODES_KEY" -u root --skip-tags hostname >"$T/ansible.out" 2>&1
	is "system modules: the same first-run recap as ansible-playbook" \
		"$(counts node1 "$T/system.first")" "$(counts node2 "$T/ansible.out")"
fi

# file state=touch, copy with owner/mode, user present twice: drover on node1 and node3
# (check mode first), ansible-playbook on node2 — the same recaps, first and second run,
# and the same modes and owners on disk.
cat >"$T/touch.yml" <<'P'
- hosts: "{{ target }}"
  gather_facts: false
  tasks:
    - file: path=/tmp/t state=directory
    - file: path=/tmp/t/new state=touch mode=0777
    - file: path=/tmp/t/sym state=touch mode=u=rw,g=r,o=
    - file: path=/tmp/t/owned state=touch owner=nobody group=nogroup mode=0600
    - file: path=/tmp/t/keep state=touch mode=0644 modification_time=preserve access_time=preserve
    - copy: content="x\n" dest=/tmp/t/c1 mode=0640 owner=nobody
    - copy: content="y\n" dest=/tmp/t/c2
    - user: name=tuser state=present
    - user: name=tuser state=present
P
on() { nodes_exec ssh -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" root@"$(nodes_addr "$1")" "$2"; }
run "$T/touch.yml" -e target=node3 --check
is "touch: check mode exit 0" "$rc" 0
is "check mode wrote nothing" "$(on 3 'ls /tmp/t 2>&1 | grep -c "No such"; id tuser 2>&1 | grep -c "no such"')" "1
1"
check_counts=$(counts node3 "$T/play.out")
like "touch: check mode predicts every task (the second user too: nothing exists yet)" \
	"$check_counts" 'ok=9 changed=9 '
run "$T/touch.yml" -e target=node1
is "touch: exit 0" "$rc" 0
first=$(counts node1 "$T/play.out")
like "touch: the first run changes all but the repeated user" "$first" 'ok=9 changed=8 '
run "$T/touch.yml" -e target=node1
second=$(counts node1 "$T/play.out")
like "touch: the second run changes only the touches that set times" "$second" 'ok=9 changed=3 '
if command -v ansible-playbook >/dev/null 2>&1; then
	for k in 0 1 2; do
		[ "$k" -eq 0 ] && c=--check || c=
		nodes_exec env ANSIBLE_NOCOLOR=1 ansible-playbook -i "$NODES_INVENTORY" "$T/touch.yml" \
			-e target=node2 --private-key "$NODES_KEY" -u root $c >"$T/ansible.out" 2>&1
		eval "a$k=\$(counts node2 \"\$T/ansible.out\")"
	done
	is "touch: the same check-mode recap as ansible-playbook --check" "$check_counts" "$a0"
	is "touch: the same first-run recap as ansible-playbook" "$first" "$a1"
	is "touch: the same second-run recap as ansible-playbook" "$second" "$a2"
	is "touch: the same modes and owners as ansible-playbook" \
		"$(on 1 'cd /tmp/t && stat -c "%n %a %U %G" *')" "$(on 2 'cd /tmp/t && stat -c "%n %a %U %G" *')"
fi

cat >"$T/unreach.yml" <<'P'
- hosts: all
  gather_facts: false
  tasks:
    - command: "true"
P
run "$T/unreach.yml"
is "an unreachable host: exit 4" "$rc" 4
like "reported as UNREACHABLE" "$(cat "$T/play.out")" 'fatal: \[ghost\]: UNREACHABLE!'
is "the other hosts ran" "$(recap node1 changed)" 1

cat >"$T/kill.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - command: "true"
    - command: sleep 3
      when: inventory_hostname == 'node3'
    - command: "true"
P
( sleep 1.5; nodes_kill 3 ) &
killer=$!
run "$T/kill.yml"
wait "$killer"
is "a node killed mid-run: exit 4" "$rc" 4
is "the killed node is unreachable" "$(recap node3 unreachable)" 1
is "the others finish" "$(recap node1 changed)" 2
done_testing
