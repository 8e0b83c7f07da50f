#!/bin/sh
# mixed.sh [HOSTS...] - issue 8's 30-task mixed play (bench/playbooks/mixed/site.yml: file,
# copy, template, lineinfile, blockinfile, replace, command, shell, user, group, stat,
# assert, set_fact, authorized_key, debug; facts gathered) with `drover play` and
# ansible-playbook side by side, in one run, on freshly started test nodes (1 5 20 50 by
# default): the first run and the idempotent re-run, their ratio, and the load average
# (the machine is shared: figures move with it). When `drover play` has the apt module
# (issue 8's play-pkg branch), mixed/apt.yml is imported too (a package from a local
# repository served from the hub; 34 tasks then), for both tools alike.
# Root only (test nodes in network namespaces).
#   sudo ./bench/playbooks/mixed.sh 1 5 20
#   BUILD=build-rel ./bench/playbooks/mixed.sh 50
#   TOOLS=drover ./bench/playbooks/mixed.sh 20      (one tool only; the other's columns "-")
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

# run TOOL N: one play; prints milliseconds and the recap's changed count of node1
run() {
	t0=$(date +%s%N)
	if [ "$1" = drover ]; then
		nodes_exec "$build/drover" play -i "$inv" "$w/play/site.yml" $vars >"$w/out" 2>&1
	else
		nodes_exec env ANSIBLE_PIPELINING=1 ANSIBLE_FORKS="$2" ANSIBLE_NOCOLOR=1 \
			ANSIBLE_HOST_KEY_CHECKING=True ansible-playbook -i "$NODES_INVENTORY" \
			--private-key "$NODES_KEY" -u root "$w/play/site.yml" $vars >"$w/out" 2>&1
	fi
	rc=$?
	t1=$(date +%s%N)
	ch=$(grep -E '^node1 +: ok=' "$w/out" | sed -E 's/.* changed=([0-9]+).*/\1/')
	echo "$(((t1 - t0) / 1000000)) ${ch:-?} $rc"
	[ "$rc" -eq 0 ] || grep -E 'fatal|ERROR' "$w/out" | head -3 >&2
}

echo "mixed play: $ntasks tasks (apt: $([ "$with_apt" -eq 1 ] && echo yes || echo no)), facts gathered; $(nproc) cores"
printf '\n| hosts | drover 1st | ansible 1st | ratio | drover re-run | ansible re-run | ratio | changed 1st/re-run (drover; ansible) | load avg |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
for n in ${*:-1 5 20 50}; do
	drover_first=- drover_again=- drover_ch=- drover_rc=0/0
	ansible_first=- ansible_again=- ansible_ch=- ansible_rc=0/0
	for tool in ${TOOLS:-drover ansible}; do
		nodes_up "$n" >/dev/null || exit 1
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
		[ -n "$httpd" ] && kill "$httpd" 2>/dev/null && wait "$httpd" 2>/dev/null
		nodes_down
		eval "${tool}_first=$first ${tool}_again=$again ${tool}_ch=$ch1/$ch2 ${tool}_rc=$rc1/$rc2"
	done
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	printf '| %s | %s ms | %s ms | %sx | %s ms | %s ms | %sx | %s; %s | %s |\n' "$n" \
		"$drover_first" "$ansible_first" \
		"$(awk -v a="$ansible_first" -v d="$drover_first" 'BEGIN{printf (a+0 && d+0) ? sprintf("%.1f", a/d) : "-"}')" \
		"$drover_again" "$ansible_again" \
		"$(awk -v a="$ansible_again" -v d="$drover_again" 'BEGIN{printf (a+0 && d+0) ? sprintf("%.1f", a/d) : "-"}')" \
		"$drover_ch" "$ansible_ch" "$load"
	[ "$drover_rc" = 0/0 ] && [ "$ansible_rc" = 0/0 ] ||
		echo "  (exit codes: drover $drover_rc, ansible $ansible_rc)"
done
