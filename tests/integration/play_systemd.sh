#!/bin/sh
# play_systemd.sh - systemd and service under a live systemd: test nodes whose PID 1 is
# systemd (NODES_INIT=systemd, tests/lib/nodes.sh), so units really start, stop, restart
# and reload, and daemon_reload picks up a new unit file; drover on node1 next to
# ansible-playbook on node2 (tests/lib/playcmp.sh). play_services.sh covers the nodes
# without a service manager.
. "$top_srcdir/tests/lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
[ -x /lib/systemd/systemd ] || skip_all "needs systemd (the systemd package)"
for c in sshd ssh ip unshare; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip_all "needs $c"
done
NODES_INIT=systemd
. "$top_srcdir/tests/lib/nodes.sh"
. "$top_srcdir/tests/lib/playcmp.sh"
DROVER=$top_builddir/drover

nodes_up 2 || { echo "Bail out! nodes_up failed"; exit 1; }
playcmp_init
for i in 1 2; do
	on "$i" systemctl is-system-running --wait >/dev/null 2>&1
	on "$i" 'printf "[Unit]\nDescription=drover test\n[Service]\nExecStart=/bin/sleep 1000\nExecReload=/bin/true\n[Install]\nWantedBy=multi-user.target\n" >/etc/systemd/system/drlive.service'
done

cat >"$T/start.yml" <<'P'
- hosts: nodes
  tasks:
    - name: a new unit, started and enabled
      systemd:
        name: drlive
        state: started
        enabled: true
        daemon_reload: true
P
cycle "systemd started, enabled, daemon_reload" "$T/start.yml"
is "the unit runs on node1" "$(on 1 systemctl is-active drlive.service)" active
is "and is enabled" "$(on 1 systemctl is-enabled drlive.service)" enabled

cat >"$T/restart.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - systemd: name=drlive state=restarted
    - systemd: name=drlive state=reloaded
P
pid1=$(on 1 systemctl show -p MainPID --value drlive.service)
drv "$T/restart.yml"
is "restarted and reloaded: both changed" "$(recap changed)" 2
$have_ansible && ans "$T/restart.yml" && same "restarted and reloaded"
pid2=$(on 1 systemctl show -p MainPID --value drlive.service)
ok "the restart made a new process ($pid1 -> $pid2)" test "$pid1" != "$pid2" -a "${pid2:-0}" -gt 1

# service picks systemd from the service_mgr fact on these nodes
cat >"$T/stop.yml" <<'P'
- hosts: nodes
  tasks:
    - name: stopped and disabled through service
      service:
        name: drlive
        state: stopped
        enabled: false
P
cycle "service stopped and disabled (systemd underneath)" "$T/stop.yml"
is "the unit is stopped on node1" "$(on 1 systemctl is-active drlive.service)" inactive
is "and disabled" "$(on 1 systemctl is-enabled drlive.service)" disabled

cat >"$T/missing.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - systemd: name=drnothere state=started
P
drv "$T/missing.yml"
is "starting a unit that does not exist fails" "$rc" 2
like "naming it" "$(cat "$T/play.out")" 'drnothere'
$have_ansible && ans "$T/missing.yml" && same "a missing unit"

done_testing
