#!/bin/sh
# engine.sh - `drover play` against ansible-playbook (pipelining on, forks = hosts) on the
# 4-operation play (add a user, touch a file with mode 0777, copy a file, shell echo), each
# on freshly started SSH test nodes, first run. Root only (test nodes in namespaces).
#   sudo ./bench/playbooks/engine.sh [HOSTS...]      (default: 1 5 20)
#   TOOLS=drover REPS=5 ./bench/playbooks/engine.sh 5   (one tool, each figure REPS times)
#   TOOLS="drover ansible-playbook ansible-mitogen" ...  (Mitogen's strategy too)
# Each figure: wall time, the tool's CPU (user+sys, with its children) and the CPU the
# nodes' sshd and all they started used in the run (all of it on the same 2 cores).
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
# nodes_cpu: CPU ticks (user+sys, own and reaped children) of every process the nodes run
nodes_cpu() {
	ps -e -o pid=,ppid= | awk -v roots="$NODES_PIDS" '
	BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) root[r[i]] = 1 }
	{ par[$1] = $2; pids[NR] = $1 }
	END {
		t = 0
		for (k = 1; k <= NR; k++) {
			p = pids[k]; q = p
			while (q > 1 && !(q in root)) q = par[q]
			if (!(q in root) || (p in root)) continue
			f = "/proc/" p "/stat"
			if ((getline line < f) > 0) {
				sub(/.*\) /, "", line); split(line, a, " ")
				t += a[12] + a[13] + a[14] + a[15]
			}
			close(f)
		}
		print t
	}'
}

for n in ${*:-1 5 20}; do
	line="hosts=$n"
	for tool in ${TOOLS:-drover ansible-playbook}; do
		rep=0
		while [ "$rep" -lt "${REPS:-1}" ]; do
			rep=$((rep + 1))
			nodes_up "$n" >/dev/null || exit 1
			inv=$w/inv
			{
				cat "$NODES_INVENTORY"
				printf '[nodes:vars]\nansible_user=root\nansible_ssh_private_key_file=%s\n' \
					"$NODES_KEY"
				printf 'ansible_ssh_known_hosts_file=%s\n' "$NODES_KNOWN_HOSTS"
			} >"$inv"
			c0=$(nodes_cpu)
			t0=$(date +%s%N)
			if [ "$tool" = drover ]; then
				nodes_exec /usr/bin/time -f '%U %S' -o "$w/time" \
					"$top_builddir/drover" play -i "$inv" "$w/four.yml" >"$w/out" 2>&1
			else
				# ansible-mitogen (Debian's ansible-mitogen): the same run with
				# Mitogen's strategy, which keeps one Python interpreter per host.
				strategy=
				[ "$tool" = ansible-mitogen ] && strategy=mitogen_linear
				nodes_exec /usr/bin/time -f '%U %S' -o "$w/time" \
					env ANSIBLE_PIPELINING=1 ANSIBLE_FORKS="$n" \
					${strategy:+ANSIBLE_STRATEGY=$strategy} ansible-playbook \
					-i "$NODES_INVENTORY" --private-key "$NODES_KEY" -u root \
					"$w/four.yml" >"$w/out" 2>&1
			fi
			rc=$?
			t1=$(date +%s%N)
			sleep 0.3 # the sessions end and are reaped
			c1=$(nodes_cpu)
			cpu=$(awk '{printf "%d", ($1 + $2) * 1000}' "$w/time")
			line="$line $tool=$(((t1 - t0) / 1000000))ms(rc=$rc,cpu=${cpu}ms,nodes_cpu=$(((c1 - c0) * 1000 / $(getconf CLK_TCK)))ms)"
			nodes_down
		done
	done
	echo "$line load=$(cut -d' ' -f1-3 /proc/loadavg)"
done
