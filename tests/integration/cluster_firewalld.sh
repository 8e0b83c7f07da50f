#!/bin/bash
# cluster_firewalld.sh - the base role's firewalld branch (base_firewall: firewalld, the
# RedHat family's firewall) on two systemd test nodes with Debian's firewalld really
# installed and running in each node's network namespace: check mode changes nothing, the
# cluster's ports open (node1 by ansible-playbook, node2 by drover play), a port the role
# does not open stays closed to the network, a second run changes nothing, the ports stay
# open across a reboot (permanent configuration, firewalld enabled), a port removed by hand
# is opened again.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/nodes.sh"
nodes_require_systemd nginx dpkg-deb apt-ftparchive ansible-playbook python3 curl
. "$top_srcdir/tests/lib/cluster.sh"
cluster_firewalld_debs_present "$CLUSTER_DEB_CACHE" ||
	skip_all "firewalld's .debs are not in $CLUSTER_DEB_CACHE (tests/run-all's dependency step downloads them)"

W=$TAP_TMP
recap() { # recap LOG HOST: "changed failed+unreachable" of HOST in an ansible recap
	sed -n "s/^$2 *: ok=[0-9]* *changed=\([0-9]*\) *unreachable=\([0-9]*\) *failed=\([0-9]*\).*/\1 \2 \3/p" "$1" |
		awk '{print $1, $2 + $3}'
}
# reach I PORT: what a client in the hub gets from node I's PORT ("200" or "000")
reach() { nodes_exec curl -s -m 3 -o /dev/null -w '%{http_code}' "http://$(nodes_addr "$1"):$2/"; }
listen() { # listen I PORT...: a web server on each PORT of node I (a transient unit)
	i=$1
	shift
	for p in "$@"; do
		nodes_ssh "$i" "systemctl stop drtest-$p 2>/dev/null; systemd-run -q --unit=drtest-$p -p WorkingDirectory=/tmp python3 -m http.server $p"
	done
	sleep 1
}
machine_rules() { iptables-save 2>/dev/null | grep -v '^#'; }

machine_before=$(machine_rules)
ok "two systemd nodes up" nodes_up 2 || { echo "Bail out! nodes_up failed"; exit 1; }
trap 'cluster_repo_stop; nodes_down; [ -n "${CLUSTER_KEEP:-}" ] && mkdir -p "$CLUSTER_KEEP" &&
	cp "$W"/*.log "$CLUSTER_KEEP/"; rm -rf "$TAP_TMP"' EXIT  # CLUSTER_KEEP=DIR keeps the logs
ok "the package repository builds" cluster_repo_build "$W/www"
ok "nginx serves it in the test network" cluster_repo_serve "$W/www"
# firewalld runs /sbin/modprobe and /sbin/rmmod: stand-ins in the nodes' overlays (which
# record the call and fail, as on a kernel without the module) keep the machine's kernel
# out of it.
for i in 1 2; do
	nodes_ssh "$i" 'for t in modprobe rmmod; do printf "#!/bin/sh\necho \"$t \$*\" >>/var/log/drover-modprobe.log\nexit 1\n" >/usr/sbin/$t.new && chmod 755 /usr/sbin/$t.new && mv /usr/sbin/$t.new /usr/sbin/$t; done'
	listen "$i" 6443 7000
done
is "before the role: both ports answer (no firewall)" "$(reach 1 6443) $(reach 1 7000)" "200 200"

{
	echo "[nodes]"
	for i in 1 2; do echo "node$i ansible_host=$(nodes_addr "$i")"; done
	sed -n '/^\[nodes:vars\]/,$p' "$NODES_INVENTORY"
	echo "ansible_ssh_known_hosts_file=$NODES_KNOWN_HOSTS"
} >"$W/inventory.ini"
cat >"$W/vars.yml" <<EOF
base_apt_sources: ["deb [trusted=yes] $CLUSTER_REPO_URL ./"]
base_apt_sources_exclusive: true
base_packages: []
base_firewall: firewalld
EOF
printf -- '- hosts: nodes\n  roles: [base]\n' >"$W/site.yml"
export ANSIBLE_ROLES_PATH="$top_srcdir/playbooks/roles"
play() { # play TOOL LOG ARGS...: TOOL is ansible-playbook or drover
	tool=$1 log=$2
	shift 2
	[ "$tool" = drover ] && tool="$top_builddir/drover play"
	ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 ANSIBLE_PIPELINING=True nodes_exec $tool \
		-i "$W/inventory.ini" -e @"$W/vars.yml" "$@" "$W/site.yml" >"$log" 2>&1
}

# As Drover installs hosts, their apt sources already point at the repository (in check
# mode the sources the role would write are not there to find firewalld in).
for i in 1 2; do
	nodes_ssh "$i" "rm -f /etc/apt/sources.list.d/* && : >/etc/apt/sources.list &&
		echo 'deb [trusted=yes] $CLUSTER_REPO_URL ./' >/etc/apt/sources.list.d/drover.list &&
		apt-get -qq update"
done
play ansible-playbook "$W/check.log" --check
is "check mode: exit code 0" "$?" 0 || grep -A5 -E '^(fatal|failed)' "$W/check.log" | head -20 | sed 's/^/# /'
like "check mode: node1 would change" "$(recap "$W/check.log" node1)" '^[1-9][0-9]* 0$'
ok "check mode installed nothing" nodes_ssh 1 'test ! -e /usr/sbin/firewalld &&
	! dpkg-query -W -f="\${Status}" firewalld 2>/dev/null | grep -q "ok installed"'
is "both ports still answer" "$(reach 1 6443) $(reach 1 7000)" "200 200"

play ansible-playbook "$W/node1.log" -l node1
is "ansible-playbook on node1: exit code 0" "$?" 0 ||
	grep -A8 -E '^(fatal|failed)' "$W/node1.log" | head -30 | sed 's/^/# /'
play drover "$W/node2.log" -l node2
is "drover play on node2: exit code 0" "$?" 0 ||
	grep -A8 -E '^(fatal|failed)' "$W/node2.log" | head -30 | sed 's/^/# /'
for i in 1 2; do
	is "node$i: firewalld active" "$(nodes_ssh "$i" systemctl is-active firewalld)" active
	like "node$i: the cluster's ports are open" "$(nodes_ssh "$i" firewall-cmd --list-ports)" \
		'^22/tcp .*6443/tcp .*10250/tcp .*30000-32767/tcp 8472/udp$'
	like "node$i: and permanently" "$(nodes_ssh "$i" firewall-cmd --permanent --list-ports)" '6443/tcp'
	is "node$i: the network reaches 6443, not 7000" "$(reach "$i" 6443) $(reach "$i" 7000)" "200 000"
done

play ansible-playbook "$W/again1.log" -l node1
is "ansible-playbook again: changed=0" "$(recap "$W/again1.log" node1)" "0 0"
play drover "$W/again2.log" -l node2
is "drover play again: changed=0" "$(recap "$W/again2.log" node2)" "0 0"
play drover "$W/check2.log" --check
is "check mode on both, now: changed=0" "$(recap "$W/check2.log" node1; recap "$W/check2.log" node2)" "0 0
0 0"

# A reboot: firewalld (enabled) comes back with the permanent configuration.
b=$(nodes_boot_id 1)
nodes_ssh 1 systemctl reboot
n=0
while [ "$n" -lt 60 ]; do
	b2=$(nodes_boot_id 1 2>/dev/null)
	[ -n "$b2" ] && [ "$b2" != "$b" ] && break
	n=$((n + 1))
	sleep 0.5
done
ok "node1 rebooted" test -n "$b2" -a "$b2" != "$b"
nodes_ssh 1 systemctl is-active --wait firewalld >/dev/null 2>&1
n=0
while [ "$(nodes_ssh 1 firewall-cmd --state 2>/dev/null)" != running ] && [ "$n" -lt 30 ]; do
	n=$((n + 1))
	sleep 0.5
done
is "after the reboot: firewalld running" "$(nodes_ssh 1 firewall-cmd --state 2>&1)" running
listen 1 6443 7000
is "after the reboot: 6443 reached, 7000 not" "$(reach 1 6443) $(reach 1 7000)" "200 000"

# Drift: a port closed by hand in the running firewall is opened again.
nodes_ssh 2 firewall-cmd --remove-port=6443/tcp >/dev/null
is "6443 closed by hand on node2" "$(reach 2 6443)" 000
play drover "$W/drift.log" -l node2
is "drover play reopens it: changed=1" "$(recap "$W/drift.log" node2)" "1 0"
is "6443 reached again" "$(reach 2 6443)" 200

nodes_ssh 1 cat /var/log/drover-modprobe.log 2>/dev/null | sort | uniq -c | sed 's/^/# modprobe calls on node1 (systemd'"'"'s modprobe@ units, firewalld): /'
is "the machine's own firewall is unchanged" "$(machine_rules)" "$machine_before"

done_testing
