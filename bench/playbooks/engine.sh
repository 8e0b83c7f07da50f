#!/bin/sh
# engine.sh - `drover play` against ansible-playbook (pipelining on, forks = hosts) on the
# 4-operation play (add a user, touch a file with mode 0777, copy a file, shell echo), each
# on freshly started SSH test nodes, first run. Root only (test nodes in namespaces).
#   sudo ./bench/playbooks/engine.sh [HOSTS...]      (default: 1 5 20)
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
top_builddir=${top_builddir:-$top_srcdir/build}
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/nodes.sh"
w=$TAP_TMP
echo hello >"$w/f.txt"
cat >"$w/four.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - user: name=benchuser
    - file: path=/tmp/bench-touched state=touch mode=0777
    - copy: src=f.txt dest=/tmp/bench-copied
    - shell: echo hello
P
for n in ${*:-1 5 20}; do
	line="hosts=$n"
	for tool in drover ansible-playbook; do
		nodes_up "$n" >/dev/null || exit 1
		inv=$w/inv
		{
			cat "$NODES_INVENTORY"
			printf '[nodes:vars]\nansible_user=root\nansible_ssh_private_key_file=%s\n' "$NODES_KEY"
			printf 'ansible_ssh_known_hosts_file=%s\n' "$NODES_KNOWN_HOSTS"
		} >"$inv"
		t0=$(date +%s%N)
		if [ "$tool" = drover ]; then
			nodes_exec "$top_builddir/drover" play -i "$inv" "$w/four.yml" >"$w/out" 2>&1
		else
			nodes_exec env ANSIBLE_PIPELINING=1 ANSIBLE_FORKS="$n" ansible-playbook \
				-i "$NODES_INVENTORY" --private-key "$NODES_KEY" -u root "$w/four.yml" \
				>"$w/out" 2>&1
		fi
		rc=$?
		t1=$(date +%s%N)
		line="$line $tool=$(((t1 - t0) / 1000000))ms(rc=$rc)"
		nodes_down
	done
	echo "$line"
done
