#!/bin/sh
# play_hostconf.sh - cron, mount, timezone and modprobe on SSH test nodes, next to
# ansible-playbook (ansible.posix.mount and community.general.timezone when the
# collections are installed). Mounts are real: each node has its own mount namespace.
# modprobe: whether a module can be loaded depends on the kernel the tests run on; the
# test loads one that is there (built in or loadable) and checks that a missing one fails
# naming it, and writes the persistent files.
. "$top_srcdir/tests/lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
for c in sshd ssh ip unshare crontab mountpoint; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip_all "needs $c"
done
. "$top_srcdir/tests/lib/nodes.sh"
. "$top_srcdir/tests/lib/playcmp.sh"
DROVER=$top_builddir/drover
T=$TAP_TMP

nodes_up 2 || { echo "Bail out! nodes_up failed"; exit 1; }
playcmp_init
has_collection() { ansible-doc "$1" >/dev/null 2>&1; }

# --- cron ------------------------------------------------------------------------------
for i in 1 2; do
	on "$i" 'printf "# a job of someone else\n5 * * * * /bin/true\n" | crontab -'
done
cat >"$T/cron.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: a job in root's crontab
      cron:
        name: backup
        minute: "30"
        hour: "2"
        job: /usr/local/bin/backup
    - name: a variable at the top
      cron:
        name: MAILTO
        env: true
        job: ops@example.org
    - name: a job in a cron.d file
      cron:
        name: rotate
        special_time: daily
        user: nobody
        cron_file: drover-test
        job: /usr/bin/rotate
    - name: a disabled job
      cron: name=off minute=*/5 job=/bin/off disabled=yes
P
drv "$T/cron.yml" --check --diff
like "cron: --diff shows the new job" "$(cat "$T/play.out")" '^\+30 2 \* \* \* /usr/local/bin/backup$'
cycle "cron" "$T/cron.yml"
is "root's crontab" "$(on 1 crontab -l)" 'MAILTO="ops@example.org"
# a job of someone else
5 * * * * /bin/true
#Ansible: backup
30 2 * * * /usr/local/bin/backup
#Ansible: off
#*/5 * * * * /bin/off'
is "the cron.d file" "$(on 1 cat /etc/cron.d/drover-test)" '#Ansible: rotate
@daily nobody /usr/bin/rotate'
$have_ansible && is "ansible-playbook wrote the same crontab" "$(on 2 crontab -l)" "$(on 1 crontab -l)"

cat >"$T/cron_change.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: the backup moves to 3
      cron: name=backup minute=0 hour=3 job=/usr/local/bin/backup
    - name: the cron.d job goes, and its file with it
      cron: name=rotate cron_file=drover-test state=absent
    - name: the variable goes
      cron: name=MAILTO env=yes state=absent
P
cycle "cron edits" "$T/cron_change.yml"
ok "the empty cron.d file is removed" on 1 '! test -e /etc/cron.d/drover-test'
like "the job changed in place" "$(on 1 crontab -l)" '^0 3 \* \* \* /usr/local/bin/backup$'

cat >"$T/cron_bad.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: special time and fields
      cron: name=x special_time=hourly minute=5 job=/bin/x
P
drv "$T/cron_bad.yml"
like "cron: special_time with fields is refused" "$(cat "$T/play.out")" \
	'You must specify time and date fields or special time'

# --- mount -------------------------------------------------------------------------------
cat >"$T/mount.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: a tmpfs mounted and in fstab
      ansible.posix.mount:
        path: /mnt/drover test
        src: tmpfs
        fstype: tmpfs
        opts: size=2m
        state: mounted
    - name: an entry only
      mount: path=/mnt/later src=/dev/null fstype=none opts=bind state=present
P
for i in 1 2; do on "$i" 'touch /etc/fstab'; done
if has_collection ansible.posix.mount; then :; else have_ansible_saved=$have_ansible; have_ansible=false; fi
drv "$T/mount.yml" --check --diff
like "mount: --diff shows the fstab line" "$(cat "$T/play.out")" \
	'^\+tmpfs /mnt/drover\\040test tmpfs size=2m 0 0$'
ok "check mode mounted nothing" on 1 '! mountpoint -q "/mnt/drover test"'
cycle "mount" "$T/mount.yml"
like "the tmpfs is mounted on node1" "$(on 1 'findmnt -n -o FSTYPE,OPTIONS "/mnt/drover test"')" \
	'^tmpfs .*size=2048k'
ok "the machine has no such mount" sh -c '! mountpoint -q "/mnt/drover test"'
cat >"$T/mount_opts.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: new options are applied with a remount
      mount: path="/mnt/drover test" src=tmpfs fstype=tmpfs opts=size=4m state=mounted
P
cycle "mount new options" "$T/mount_opts.yml"
like "remounted with the new size" "$(on 1 'findmnt -n -o OPTIONS "/mnt/drover test"')" 'size=4096k'
cat >"$T/mount_off.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: unmounted, the entry stays
      mount: path="/mnt/drover test" state=unmounted
    - name: the other entry goes
      mount: path=/mnt/later state=absent
P
cycle "mount unmounted and absent" "$T/mount_off.yml"
ok "unmounted" on 1 '! mountpoint -q "/mnt/drover test"'
is "fstab keeps the first entry only" "$(on 1 grep -v '^#' /etc/fstab)" \
	'tmpfs /mnt/drover\040test tmpfs size=4m 0 0'
[ -n "${have_ansible_saved:-}" ] && have_ansible=$have_ansible_saved

# --- timezone ----------------------------------------------------------------------------
cat >"$T/tz.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: the zone
      community.general.timezone:
        name: Pacific/Auckland
P
for i in 1 2; do on "$i" 'ln -sfn /usr/share/zoneinfo/Etc/UTC /etc/localtime; echo Etc/UTC >/etc/timezone'; done
if has_collection community.general.timezone; then :; else have_ansible_saved=$have_ansible; have_ansible=false; fi
drv "$T/tz.yml" --check --diff
like "timezone: --diff names the zones" "$(cat "$T/play.out")" 'Pacific/Auckland'
cycle "timezone" "$T/tz.yml"
is "the node's zone" "$(on 1 'readlink /etc/localtime; cat /etc/timezone; date +%Z')" \
	"/usr/share/zoneinfo/Pacific/Auckland
Pacific/Auckland
$(TZ=Pacific/Auckland date +%Z)"
[ -n "${have_ansible_saved:-}" ] && have_ansible=$have_ansible_saved
cat >"$T/tz_bad.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: a zone that does not exist
      timezone: name=Mars/Olympus_Mons
P
drv "$T/tz_bad.yml"
like "timezone: an unknown zone is named" "$(cat "$T/play.out")" \
	'given timezone \\"Mars/Olympus_Mons\\" is not available'

# --- modprobe ----------------------------------------------------------------------------
# A module this kernel has: built in (in /sys/module without /proc/modules) or loadable.
present=
for mod in overlay loop tun bridge; do
	if [ -d "/sys/module/$mod" ]; then present=$mod; break; fi
done
if [ -n "$present" ]; then
	cat >"$T/modprobe.yml" <<P
- hosts: nodes
  gather_facts: false
  tasks:
    - name: a module the kernel has
      community.general.modprobe:
        name: $present
        persistent: present
        params: ""
P
	saved=$have_ansible
	have_ansible=false # community.general.modprobe needs /proc/modules
	cycle "modprobe of a present module, persistent" "$T/modprobe.yml"
	have_ansible=$saved
	is "loaded at boot" "$(on 1 cat /etc/modules-load.d/$present.conf)" "$present"
fi
cat >"$T/modprobe_bad.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: a module nobody has
      modprobe: name=drover_no_such_module
P
drv "$T/modprobe_bad.yml"
is "modprobe: a missing module fails" "$rc" 2
like "modprobe: the error names it" "$(cat "$T/play.out")" 'drover_no_such_module'
cat >"$T/modprobe_off.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: not loaded at boot any more
      modprobe: name=drover_gone state=absent persistent=absent
P
on 1 'echo drover_gone >/etc/modules-load.d/drover_gone.conf; echo "options drover_gone x=1" >/etc/modprobe.d/drover_gone.conf'
drv "$T/modprobe_off.yml"
is "modprobe persistent=absent: changed" "$(recap changed)" 1
is "the lines are commented out" "$(on 1 'cat /etc/modules-load.d/drover_gone.conf /etc/modprobe.d/drover_gone.conf')" \
	"#drover_gone
#options drover_gone x=1"
drv "$T/modprobe_off.yml"
is "modprobe persistent=absent: second run changed=0" "$(recap changed)" 0
done_testing
