#!/bin/sh
# play_services.sh - service and systemd on SSH test nodes, next to ansible-playbook.
#
# What is real here: the nodes run no systemd (sshd is PID 1 of each node's PID
# namespace), exactly the case of a container or chroot. So:
# - service (service_mgr is not systemd) starts, stops and restarts a real daemon through
#   its LSB init script and `service`, and enables it with update-rc.d (real rc?.d links);
# - systemd enables, disables, masks and unmasks real unit files with the real systemctl,
#   which edits the unit symlinks itself when no manager runs;
# - systemd state= and daemon_reload need a running manager: on the nodes both fail, and
#   the test checks that they fail as ansible-core's do. Units under a live systemd:
#   play_systemd.sh (systemd test nodes).
. "$top_srcdir/tests/lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
for c in sshd ssh ip unshare systemctl start-stop-daemon update-rc.d service; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip_all "needs $c"
done
. "$top_srcdir/tests/lib/nodes.sh"
. "$top_srcdir/tests/lib/playcmp.sh"
DROVER=$top_builddir/drover
T=$TAP_TMP

nodes_up 2 || { echo "Bail out! nodes_up failed"; exit 1; }
playcmp_init

# An LSB init script for a daemon (sleep, daemonized by start-stop-daemon) and two units.
for i in 1 2; do
	on "$i" 'cat >/etc/init.d/drtestd <<"E"
#!/bin/sh
### BEGIN INIT INFO
# Provides:          drtestd
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: drover test daemon
### END INIT INFO
P=/run/drtestd.pid
case "$1" in
start) start-stop-daemon --start --quiet --background --make-pidfile --pidfile $P \
	--exec /bin/sleep -- 1000 ;;
stop) start-stop-daemon --stop --quiet --oknodo --remove-pidfile --pidfile $P --exec /bin/sleep ;;
restart|force-reload|reload) $0 stop; $0 start ;;
status) start-stop-daemon --status --pidfile $P --exec /bin/sleep ;;
*) echo "usage: $0 start|stop|restart|status"; exit 2 ;;
esac
E
chmod 755 /etc/init.d/drtestd
for u in drunit drmask; do printf "[Unit]\nDescription=%s\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n" $u >/lib/systemd/system/$u.service; done
cp /lib/systemd/system/drunit.service /etc/systemd/system/dretc.service'
done

cat >"$T/service.yml" <<'P'
- hosts: nodes
  tasks:
    - name: the daemon runs
      service:
        name: drtestd
        state: started
    - name: and starts at boot
      service: name=drtestd enabled=yes
P
cycle "service started and enabled" "$T/service.yml"
like "the daemon runs on node1" "$(on 1 'service drtestd status; echo rc=$?')" 'rc=0'
ok "update-rc.d made its start link" on 1 'ls /etc/rc2.d/S01drtestd'

cat >"$T/service_stop.yml" <<'P'
- hosts: nodes
  tasks:
    - name: the daemon stops
      service: name=drtestd state=stopped
    - name: and does not start at boot
      service:
        name: drtestd
        enabled: false
P
cycle "service stopped and disabled" "$T/service_stop.yml"
like "the daemon is stopped" "$(on 1 'service drtestd status; echo rc=$?')" 'rc=[1-4]'
ok "its start link is gone" on 1 '! ls /etc/rc2.d/S??drtestd'

cat >"$T/service_restart.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - service: name=drtestd state=started
      register: s
    - command: cat /run/drtestd.pid
      register: before
      changed_when: false
    - name: restarted always changes
      service: name=drtestd state=restarted
    - command: cat /run/drtestd.pid
      register: after
      changed_when: false
    - assert:
        that: before.stdout != after.stdout
P
drv "$T/service_restart.yml"
is "service restarted: exit 0" "$rc" 0
is "service restarted: a new process" "$(recap changed)" 2
$have_ansible && ans "$T/service_restart.yml" && same "service restarted"

cat >"$T/systemd.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: a unit enabled
      systemd:
        name: drunit.service
        enabled: true
    - name: a unit masked
      ansible.builtin.systemd_service:
        name: drmask
        masked: yes
P
cycle "systemd enabled and masked" "$T/systemd.yml"
is "the unit's WantedBy link" \
	"$(on 1 readlink /etc/systemd/system/multi-user.target.wants/drunit.service)" \
	/lib/systemd/system/drunit.service
is "the mask link" "$(on 1 readlink /etc/systemd/system/drmask.service)" /dev/null
is "systemctl agrees" "$(on 1 systemctl is-enabled drunit drmask)" "enabled
masked"

cat >"$T/systemd_off.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: disabled and unmasked again
      systemd: name=drunit enabled=no
    - systemd: name=drmask masked=no
P
cycle "systemd disabled and unmasked" "$T/systemd_off.yml"
is "systemctl agrees" "$(on 1 systemctl is-enabled drunit drmask)" "disabled
disabled"

cat >"$T/systemd_state.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: no manager runs on the node
      systemd: name=drunit state=started
P
drv "$T/systemd_state.yml"
is "systemd state= without a running manager fails" "$rc" 2
like "it says the state is unknown" "$(cat "$T/play.out")" 'Service is in unknown state'
$have_ansible && ans "$T/systemd_state.yml" && same "systemd state= without a manager"

cat >"$T/systemd_missing.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: a unit that does not exist
      systemd: name=no-such-unit-drover enabled=yes
P
drv "$T/systemd_missing.yml"
like "a missing unit is named" "$(cat "$T/play.out")" \
	'Could not find the requested service no-such-unit-drover: host'
$have_ansible && ans "$T/systemd_missing.yml" && same "systemd on a missing unit"

cat >"$T/systemd_mask_etc.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: a unit file in /etc cannot be masked
      systemd: name=dretc masked=yes
P
drv "$T/systemd_mask_etc.yml"
is "masking a unit whose file is in /etc fails (ansible-core reports changed)" "$rc" 2
like "with systemctl's reason" "$(cat "$T/play.out")" 'Unable to mask service dretc: .*already exists'

cat >"$T/service_bad.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: a bad state
      service: name=drtestd state=running-ish
P
drv "$T/service_bad.yml"
like "service: a bad choice names the argument" "$(cat "$T/play.out")" \
	'value of state must be one of: reloaded, ?restarted, ?started, ?stopped, got: running-ish'
done_testing
