#!/bin/sh
# mixed.sh [HOSTS...] - issue 8's 30-task mixed play (bench/playbooks/mixed/site.yml: file,
# copy, template, lineinfile, blockinfile, replace, command, shell, user, group, stat,
# assert, set_fact, authorized_key, debug; facts gathered) with `drover play` and
# ansible-playbook side by side, in one run, on freshly started test nodes (1 5 20 50 by
# default), and the floor: the first run and the idempotent re-run, their ratio, and the load average
# (the machine is shared: figures move with it). When `drover play` has the apt module
# (issue 8's play-pkg branch), mixed/apt.yml is imported too (a package from a local
# repository served from the hub; 34 tasks then), for both tools alike.
# Root only (test nodes in network namespaces).
#   sudo ./bench/playbooks/mixed.sh 1 5 20
#   BUILD=build-rel ./bench/playbooks/mixed.sh 50
#   TOOLS="drover floor" ./bench/playbooks/mixed.sh 20   (some tools only; the others "-")
# The floor (mixed_floor.sh): one ControlMaster connection per host, one `ssh` command per
# task doing the task's work directly, hosts in parallel (the issue's definition). After
# each tool's re-run, node1's end state (files under /opt/bench with modes and owners,
# the user, its key, the package, the apt sources) is compared between the tools.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$top/build}
[ "$(id -u)" -eq 0 ] || { echo "mixed.sh: needs root (network namespaces)" >&2; exit 1; }
[ -x "$build/drover" ] || { echo "mixed.sh: build first ($build/drover)" >&2; exit 1; }
command -v ansible-playbook >/dev/null || { echo "mixed.sh: needs ansible-playbook" >&2; exit 1; }
top_srcdir=$top
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/nodes.sh"
w=$TAP_TMP
cp -r "$top/bench/playbooks/mixed" "$w/play"
ssh-keygen -q -t ed25519 -N '' -C bench -f "$w/userkey"
port=8080

# apt: only when drover knows the module (both tools then run the same play)
printf -- '- hosts: all\n  gather_facts: false\n  tasks:\n    - apt: name=x\n' >"$w/probe.yml"
with_apt=0
if "$build/drover" play --syntax-check -i localhost, "$w/probe.yml" >/dev/null 2>&1; then
	with_apt=1
	printf '    - import_tasks: apt.yml\n' >>"$w/play/site.yml"
	# a real package in a flat repository
	p=$w/pkg/drover-bench-hello
	mkdir -p "$p/DEBIAN" "$p/usr/share/drover-bench" "$w/repo"
	printf 'Package: drover-bench-hello\nVersion: 1.0\nArchitecture: all\n' >"$p/DEBIAN/control"
	printf 'Maintainer: bench <bench@drover.test>\nDescription: benchmark package\n' \
		>>"$p/DEBIAN/control"
	echo hello >"$p/usr/share/drover-bench/hello"
	dpkg-deb -b "$p" "$w/repo/drover-bench-hello_1.0_all.deb" >/dev/null || exit 1
	(cd "$w/repo" && dpkg-scanpackages . /dev/null 2>/dev/null >Packages) || exit 1
fi
ntasks=$(grep -c '^    - name:' "$w/play/site.yml")
[ "$with_apt" -eq 1 ] && ntasks=$((ntasks + $(grep -c '^- name:' "$w/play/apt.yml")))

# run TOOL N: one play; prints milliseconds, the changed count of node1 and the exit code
run() {
	t0=$(date +%s%N)
	if [ "$1" = drover ]; then
		nodes_exec "$build/drover" play -i "$inv" "$w/play/site.yml" $vars >"$w/out" 2>&1
	elif [ "$1" = floor ]; then
		# shellcheck disable=SC2086
		nodes_exec sh "$top/bench/playbooks/mixed_floor.sh" "$w/floor" "$NODES_KEY" \
			"$NODES_KNOWN_HOSTS" "$w/play" "http://198.18.0.1:$port/" "$w/userkey.pub" \
			$addrs >"$w/out" 2>&1
	else
		nodes_exec env ANSIBLE_PIPELINING=1 ANSIBLE_FORKS="$2" ANSIBLE_NOCOLOR=1 \
			ANSIBLE_HOST_KEY_CHECKING=True ansible-playbook -i "$NODES_INVENTORY" \
			--private-key "$NODES_KEY" -u root "$w/play/site.yml" $vars >"$w/out" 2>&1
	fi
	rc=$?
	t1=$(date +%s%N)
	if [ "$1" = floor ]; then
		set -- $(tail -n 1 "$w/out")
		ch=${2:-?}
		[ "${3:-1}" = 0 ] || rc=1
	else
		ch=$(grep -E '^node1 +: ok=' "$w/out" | sed -E 's/.* changed=([0-9]+).*/\1/')
	fi
	echo "$(((t1 - t0) / 1000000)) ${ch:-?} $rc"
	[ "$rc" -eq 0 ] || grep -E 'fatal|ERROR|failed' "$w/out" | head -3 >&2
}

# state FILE: node1's end state (no times: they differ by run)
state() {
	nodes_exec ssh -o BatchMode=yes -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" -i "$NODES_KEY" \
		-T "root@$(nodes_addr 1)" '
		cd /opt/bench && find . -printf "%p %y %m %u %g %l\n" | LC_ALL=C sort
		for f in $(find . -type f | LC_ALL=C sort); do echo "== $f"; cat "$f"; done
		getent passwd benchuser | cut -d: -f1,6,7; id -nG benchuser; getent group benchgrp
		stat -c "%n %a %U %G" /home/benchuser/.ssh /home/benchuser/.ssh/authorized_keys
		cat /home/benchuser/.ssh/authorized_keys
		dpkg-query -W -f="\${Package} \${Version} \${db:Status-Status}\n" drover-bench-hello
		ls /etc/apt/sources.list.d; cat /etc/apt/sources.list /etc/apt/sources.list.d/*' \
		>"$1" 2>&1
}

# ratio A B: A/B to one decimal, "-" when either is missing
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN{printf (a+0 && b+0) ? sprintf("%.1fx", a/b) : "-"}'
}

tools=${TOOLS:-drover ansible floor}
echo "mixed play: $ntasks tasks (apt: $([ "$with_apt" -eq 1 ] && echo yes || echo no)), facts gathered; $(nproc) cores"
printf '\n| hosts | run | drover | ansible-playbook | floor | ansible/drover | ansible/floor | drover/floor | changed (drover; ansible; floor) | load avg |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
for n in ${*:-1 5 20 50}; do
	for t in drover ansible floor; do
		eval "${t}_first=- ${t}_again=- ${t}_ch1=- ${t}_ch2=- ${t}_rc=0/0"
	done
	load1=$(cut -d' ' -f1-3 /proc/loadavg)
	for tool in $tools; do
		nodes_up "$n" >/dev/null || exit 1
		addrs=
		i=1
		while [ "$i" -le "$n" ]; do
			addrs="$addrs $(nodes_addr "$i")"
			i=$((i + 1))
		done
		httpd=
		if [ "$with_apt" -eq 1 ]; then
			nodes_exec python3 "$top/tests/lib/httpd.py" 198.18.0.1 "$port" "$w/repo" \
				>"$w/httpd.log" 2>&1 &
			httpd=$!
			sleep 0.5
		fi
		inv=$w/inv
		{
			cat "$NODES_INVENTORY"
			printf 'ansible_ssh_known_hosts_file=%s\n' "$NODES_KNOWN_HOSTS"
		} >"$inv"
		vars="-e bench_repo=http://198.18.0.1:$port/ -e @$w/keyvars.yml"
		printf 'bench_key: "%s"\n' "$(cat "$w/userkey.pub")" >"$w/keyvars.yml"
		set -- $(run "$tool" "$n")
		first=$1 ch1=$2 rc1=$3
		set -- $(run "$tool" "$n")
		again=$1 ch2=$2 rc2=$3
		state "$w/state-$tool"
		[ -n "$httpd" ] && kill "$httpd" 2>/dev/null && wait "$httpd" 2>/dev/null
		nodes_down
		eval "${tool}_first=$first ${tool}_again=$again ${tool}_ch1=$ch1 ${tool}_ch2=$ch2 ${tool}_rc=$rc1/$rc2"
	done
	load2=$(cut -d' ' -f1-3 /proc/loadavg)
	printf '| %s | first | %s ms | %s ms | %s ms | %s | %s | %s | %s; %s; %s | %s |\n' "$n" \
		"$drover_first" "$ansible_first" "$floor_first" \
		"$(ratio "$ansible_first" "$drover_first")" "$(ratio "$ansible_first" "$floor_first")" \
		"$(ratio "$drover_first" "$floor_first")" "$drover_ch1" "$ansible_ch1" "$floor_ch1" "$load1"
	printf '| %s | re-run | %s ms | %s ms | %s ms | %s | %s | %s | %s; %s; %s | %s |\n' "$n" \
		"$drover_again" "$ansible_again" "$floor_again" \
		"$(ratio "$ansible_again" "$drover_again")" "$(ratio "$ansible_again" "$floor_again")" \
		"$(ratio "$drover_again" "$floor_again")" "$drover_ch2" "$ansible_ch2" "$floor_ch2" "$load2"
	[ "$drover_rc" = 0/0 ] && [ "$ansible_rc" = 0/0 ] && [ "$floor_rc" = 0/0 ] ||
		echo "  (exit codes: drover $drover_rc, ansible $ansible_rc, floor $floor_rc)"
	ref=
	for tool in $tools; do
		if [ -z "$ref" ]; then
			ref=$tool
		elif ! diff -u "$w/state-$ref" "$w/state-$tool" >"$w/state.diff"; then
			echo "  (node1's end state differs, $ref vs $tool:)"
			sed 's/^/    /' "$w/state.diff" | head -30
		fi
	done
	[ -n "${KEEP_STATE:-}" ] && cp "$w"/state-* "$KEEP_STATE/" 2>/dev/null
done
