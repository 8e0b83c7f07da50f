#!/bin/sh
# nodes_systemd.sh - the systemd test nodes of tests/lib/nodes.sh (NODES_INIT=systemd):
# systemd is PID 1 of each node, systemctl works over SSH, a service really starts and
# stops inside one node only, and the machine's sysctls stay untouched. A node reboots
# (systemctl reboot, shutdown -r) with its disk kept, /run and /tmp fresh, a new boot id
# and the units it enabled started again; poweroff ends it; nodes_down ends everything.
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

# Reboot: state on the node's disk, in /run and /tmp, an enabled unit and a started one.
ok "node1 enables a unit, writes its disk, /run and /tmp" on 1 'printf "[Service]\nExecStart=/bin/sleep 300\n[Install]\nWantedBy=multi-user.target\n" \
	>/etc/systemd/system/drboot.service && systemctl daemon-reload &&
	systemctl enable --now drboot.service 2>/dev/null && systemctl start drtest.service &&
	echo kept >/root/disk.txt && touch /run/gone /tmp/gone'
b1=$(nodes_boot_id 1)
b2=$(nodes_boot_id 2)
# back_from I OLD_BOOT_ID: wait (bounded: 30 s) until node I answers with another boot id
back_from() {
	n=0
	while [ "$n" -lt 60 ]; do
		b=$(nodes_boot_id "$1" 2>/dev/null)
		[ -n "$b" ] && [ "$b" != "$2" ] && return 0
		n=$((n + 1))
		sleep 0.5
	done
	return 1
}
t0=$(date +%s%N)
on 1 systemctl reboot
ok "systemctl reboot: node1 comes back with a new boot id" back_from 1 "$b1"
echo "# node1 rebooted in $((($(date +%s%N) - t0) / 1000000)) ms"
is "PID 1 is systemd again" "$(on 1 cat /proc/1/comm)" systemd
like "its manager reached its target" "$(on 1 systemctl is-system-running --wait 2>&1)" '^(running|degraded)$'
is "the disk survived the reboot" "$(on 1 cat /root/disk.txt)" kept
is "/run and /tmp are fresh" "$(on 1 'ls /run/gone /tmp/gone 2>/dev/null | wc -l')" 0
is "the unit node1 enabled started at boot" "$(on 1 systemctl is-active drboot.service)" active
is "the unit it only started did not" "$(on 1 systemctl is-active drtest.service 2>&1)" inactive
is "node2 did not reboot" "$(nodes_boot_id 2)" "$b2"
is "node1's console shows the second boot" \
	"$(grep -a -c '^drover-node: boot [0-9]*$' "$NODES_DIR/node1/sshd.log")" 2
b1=$(nodes_boot_id 1)
on 2 shutdown -r now 2>/dev/null
ok "shutdown -r now: node2 comes back with a new boot id" back_from 2 "$b2"
is "node1 did not reboot" "$(nodes_boot_id 1)" "$b1"

# poweroff ends the node: its unshare exits, the other node stays up.
p2=$(cat "$NODES_DIR/node2/pid")
on 2 systemctl poweroff
n=0
while kill -0 "$p2" 2>/dev/null && [ "$n" -lt 150 ]; do
	n=$((n + 1))
	sleep 0.1
done
ok "systemctl poweroff: node2 ends" sh -c "! kill -0 $p2 2>/dev/null"
like "its console says halt (SIGINT), not reboot" "$(tail -1 "$NODES_DIR/node2/sshd.log")" \
	'boot 2 ended \(exit status 130\)'
is "node2 has no process left" "$(ip netns pids "$(nodes_ns 2)" | wc -l)" 0
is "node1 still answers" "$(nodes_boot_id 1)" "$b1"

# nodes_down ends node1 (rebooted once) and everything it ran.
pids=$(ip netns pids "$(nodes_ns 1)")
ok "node1 runs processes ($(echo $pids | wc -w))" test -n "$pids"
nodes_down
left=
for q in $pids; do kill -0 "$q" 2>/dev/null && left="$left $q"; done
is "nodes_down: none of them is left" "$left" ""
is "nodes_down: the namespaces are gone" "$(ip netns list | grep -c "^drnode-$NODES_TAG-")" 0

done_testing
