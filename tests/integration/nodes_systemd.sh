#!/bin/sh
# nodes_systemd.sh - the systemd test nodes of tests/lib/nodes.sh (NODES_INIT=systemd):
# systemd is PID 1 of each node, systemctl works over SSH, a service really starts and
# stops inside one node only, and the machine's sysctls stay untouched.
. "$top_srcdir/tests/lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
[ -x /lib/systemd/systemd ] || skip_all "needs systemd (the systemd package)"
for c in sshd ssh ip unshare; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip_all "needs $c"
done
NODES_INIT=systemd
. "$top_srcdir/tests/lib/nodes.sh"

nodes_up 2 || { echo "Bail out! nodes_up failed"; exit 1; }
echo "# two systemd nodes up in ${NODES_START_MS} ms"

on() { # on I COMMAND: run COMMAND on node I over SSH
	i=$1
	shift
	nodes_exec ssh -o BatchMode=yes -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" \
		-o StrictHostKeyChecking=yes -i "$NODES_KEY" "root@$(nodes_addr "$i")" "$@"
}

is "PID 1 of node1 is systemd" "$(on 1 cat /proc/1/comm)" systemd
is "node1 has its own host name" "$(on 1 hostname)" node1
# running or degraded: the target is reached and the manager starts nothing more
like "node1's manager reached its target" "$(on 1 systemctl is-system-running --wait 2>&1)" \
	'^(running|degraded)$'
is "node2's sshd is a unit" "$(on 2 systemctl is-active drover-sshd.service)" active
is "udev stays off" "$(on 1 systemctl is-active systemd-udevd.service 2>&1)" inactive

# A service of our own: start it, check it runs in node1 only, stop it.
ok "systemctl start a unit on node1" on 1 'printf "[Service]\nExecStart=/bin/sleep 300\n" \
	>/etc/systemd/system/drtest.service && systemctl daemon-reload &&
	systemctl start drtest.service'
is "it is active" "$(on 1 systemctl is-active drtest.service)" active
pid=$(on 1 systemctl show -p MainPID --value drtest.service)
ok "it has a main PID in the node ($pid)" test "${pid:-0}" -gt 1
is "node2 does not run it" "$(on 2 systemctl is-active drtest.service 2>&1)" inactive
ok "the unit file stays in node1's overlay" test ! -e /etc/systemd/system/drtest.service
ok "systemctl stop" on 1 systemctl stop drtest.service
is "it is inactive" "$(on 1 systemctl is-active drtest.service 2>&1)" inactive

# A sysctl of node1's network namespace stays there.
before=$(cat /proc/sys/net/ipv4/ip_forward)
ok "node1 sets ip_forward" on 1 sysctl -qw net.ipv4.ip_forward=1
is "node1 forwards" "$(on 1 cat /proc/sys/net/ipv4/ip_forward)" 1
is "the machine's ip_forward is unchanged" "$(cat /proc/sys/net/ipv4/ip_forward)" "$before"

done_testing
