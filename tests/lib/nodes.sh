# nodes.sh - SSH test nodes for integration tests and benchmarks. Source it (root only).
#
#   nodes_up N        bring up N nodes; sets the variables below and an EXIT trap
#   nodes_down        stop every node and delete the namespaces (the trap calls it)
#   nodes_exec CMD…   run CMD in the hub namespace, the only place the nodes are reachable
#   nodes_addr I      the address of node I (1-based)
#   nodes_kill I      kill node I at once (sshd and every session on it)
#   nodes_boot_id I   node I's current boot id (`reboot` on a node gives it a new one)
#   nodes_ssh I CMD…  run CMD on node I over SSH as root (from the hub, host key checked)
#   nodes_require_systemd CMD…   skip the test unless systemd nodes can run here
#   nodes_standin_modprobe I     a recording, failing modprobe on node I
#   nodes_purge I NAME…          packages and /usr/local binaries NAME… gone from node I
#   nodes_hub_drover DIR         droverd and drover ($DROVERD, $DROVER) run in the hub
#
# Layout. Everything lives in network namespaces this file creates; the machine's own
# interfaces, addresses and routes are never touched:
#
#   hub namespace drhub-<tag>: bridge br0 with 198.18.0.1/16; the test's client side
#     (our C drivers, ssh, ansible) runs here through nodes_exec.
#   node namespace drnode-<tag>-<i>: eth0 198.18.<1 + (i-1)/250>.<1 + (i-1)%250>/16, the
#     other end of its veth enslaved to br0 in the hub, default route via 198.18.0.1.
#
# Each node's sshd runs under `unshare --mount --uts --pid --fork --kill-child` in its
# network namespace: a mount namespace where an overlay over / (lower: the machine's /,
# upper: a tmpfs that dies with the node) is the root, so the node may apt/dpkg/write files
# without touching the machine; its own hostname (node<i>); a PID namespace whose init is
# `sshd -D`, which reaps the node's sessions (this machine's PID 1 does not reap). The
# overlay's upper starts with: the node's own ed25519 host key, an sshd config bound to the
# node's address, root's authorized key (the test's client key, $NODES_KEY), root's password
# ($NODES_PASSWORD) in /etc/shadow, and empty .bashrc/.profile (root's real ones may run slow
# tools on every login).
#
# With NODES_INIT=systemd (set before nodes_up), each node boots systemd instead: PID 1 of
# the node's PID namespace is /lib/systemd/systemd (told it runs in a container), started
# into drover-node.target, which wants only journald, D-Bus and the node's sshd (a
# drover-sshd.service); /sys is read-only so udev stays off, and the units that would
# touch the machine's kernel (sysctl, modules-load, modprobe@, binfmt) are masked.
# systemctl then works on the node, so services (containerd…) really start. Slower to
# boot (~1 s).
# `systemctl reboot`, `reboot`, `shutdown -r` on a systemd node reboot it as a machine
# would: systemd stops its units and calls reboot(2), which ends the boot's PID namespace;
# the node boots again with the same disk (the overlay's upper dir is kept), a fresh /run
# and /tmp, and a new boot id; the units the node enabled for multi-user.target start
# again. `systemctl poweroff`/`halt` end the node. The node's console (every boot) is
# $NODES_DIR/node<i>/sshd.log.
#
# The unshare process is our child and sshd is its: nodes_down sends sshd SIGTERM by PID
# (the PID namespace goes with it), waits for unshare (SIGKILL after 3 s), then deletes
# the namespaces (which deletes the veths); a systemd node instead gets SIGKILL on the init
# of its current boot, and boots no more. Namespaces left behind by a run killed with
# SIGKILL are found by their tag's dead PID and removed by the next nodes_up.
#
# After nodes_up:
#   NODES_N, NODES_DIR (a private directory), NODES_HUB (hub namespace),
#   NODES_KEY (client private key), NODES_KNOWN_HOSTS (the nodes' host keys),
#   NODES_INVENTORY (INI: group [nodes], node<i> ansible_host=…), NODES_PASSWORD,
#   NODES_START_MS (how long nodes_up took), ANSIBLE_SSH_CONTROL_PATH_DIR (exported: a
#   directory of this run's own, so ansible never reuses another run's ControlMaster).

NODES_N=0
NODES_INIT=${NODES_INIT:-sshd}
NODES_TAG=$$
NODES_HUB=drhub-$NODES_TAG
NODES_PASSWORD=drover-node-pw
NODES_DIR=
NODES_PIDS=

nodes_addr() {
	echo "198.18.$((1 + ($1 - 1) / 250)).$((1 + ($1 - 1) % 250))"
}

nodes_ns() {
	echo "drnode-$NODES_TAG-$1"
}

nodes_exec() {
	ip netns exec "$NODES_HUB" "$@"
}

# nodes_netns_delete NAME: kill whatever still runs in a namespace, then delete it.
nodes_netns_delete() {
	for p in $(ip netns pids "$1" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
	ip netns delete "$1" 2>/dev/null
}

# nodes_reap_stale: remove namespaces of earlier runs whose shell is gone.
nodes_reap_stale() {
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^dr(hub|node)-'); do
		tag=${ns#drhub-}
		tag=${tag#drnode-}
		tag=${tag%%-*}
		[ "$tag" = "$NODES_TAG" ] && continue
		kill -0 "$tag" 2>/dev/null && continue
		nodes_netns_delete "$ns"
	done
}

# The script each node runs inside its namespaces: $1 = node directory, $2 = hostname.
nodes_node_script='
set -e
d=$1
mount --make-rprivate /
mount -t tmpfs -o mode=0755,size=512m tmpfs "$d/t"
mkdir "$d/t/upper" "$d/t/work" "$d/t/root"
cp -a "$d/seed/." "$d/t/upper/"
r=$d/t/root
mount -t overlay overlay -o "lowerdir=/,upperdir=$d/t/upper,workdir=$d/t/work" "$r"
mount -t proc proc "$r/proc"
mount -t sysfs sysfs "$r/sys"
mount --rbind /dev "$r/dev"
mount -t tmpfs -o mode=0755 tmpfs "$r/run"
mkdir -p "$r/run/sshd"
mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
hostname "$2"
# PID 1 is the shell under the name drover-init: a comm ending in "sh" would make the
# service_mgr fact of Ansible (and ours) guess systemd from /sbin/init.
exec chroot "$r" /etc/drover/drover-init /etc/drover/boot
'

# The script of a systemd node ($1 = node directory, $2 = hostname), in the node's own
# mount and UTS namespaces but not yet a PID namespace: the overlay (the node's disk) is
# mounted once here and outlives each boot. Every boot is a PID namespace of its own (and a
# mount namespace inheriting the disk): its init gets a fresh /proc, /run and /tmp and a
# new boot id, then becomes systemd. systemd's reboot(2) in a PID namespace ends its init
# with SIGHUP (reboot) or SIGINT (halt, poweroff); unshare passes that on as exit status
# 129 or 130: 129 boots again, anything else (or the file "down" in the node directory,
# which nodes_down and nodes_kill create) ends the node.
nodes_systemd_script='
set -e
d=$1
mount --make-rprivate /
mount -t tmpfs -o mode=0755,size=512m tmpfs "$d/t"
mkdir "$d/t/upper" "$d/t/work" "$d/t/root"
cp -a "$d/seed/." "$d/t/upper/"
r=$d/t/root
mount -t overlay overlay -o "lowerdir=/,upperdir=$d/t/upper,workdir=$d/t/work" "$r"
mount -t sysfs -o ro sysfs "$r/sys"
mount --rbind /dev "$r/dev"
hostname "$2"
set +e
boot=0
while :; do
	boot=$((boot + 1))
	echo "drover-node: boot $boot"
	unshare --mount --pid --fork --kill-child=KILL sh -c "$nodes_systemd_boot" boot "$d" &
	wait $!
	rc=$?
	echo "drover-node: boot $boot ended (exit status $rc)"
	[ "$rc" = 129 ] && [ ! -e "$d/down" ] || exit 0
done
'

# One boot of a systemd node: PID 1 of a new PID namespace, in a mount namespace of its
# own (what it mounts goes with the boot). The units the node itself enabled for
# multi-user.target (symlinks in the overlay's upper dir, not the machine's) are wanted
# by drover-node.target, so they start again at boot as on a real machine.
nodes_systemd_boot='
set -e
d=$1
r=$d/t/root
mount -t proc proc "$r/proc"
mount -t tmpfs -o mode=0755 tmpfs "$r/run"
mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
mkdir -p "$r/run/sshd" "$r/run/drover" "$r/run/systemd/system/drover-node.target.d"
cat /proc/sys/kernel/random/uuid >"$r/run/drover/boot_id"
mount --bind "$r/run/drover/boot_id" "$r/proc/sys/kernel/random/boot_id"
{
	echo "[Unit]"
	for l in "$d/t/upper/etc/systemd/system/multi-user.target.wants/"*; do
		[ -L "$l" ] && echo "Wants=${l##*/}"
	done
} >"$r/run/systemd/system/drover-node.target.d/enabled.conf"
exec chroot "$r" env container=drover-node /lib/systemd/systemd --unit=drover-node.target
'

# PID 1 of a node (inside its root): each "boot" gives the node a new boot id (a file
# bound over /proc/sys/kernel/random/boot_id, which is what Ansible's reboot and ours
# compare) and starts sshd. `reboot` and `shutdown -r` on the node (the wrapper below, in
# the overlay) end sshd; everything else on the node is killed, as by a real reboot, and
# the loop boots again. Any other end of sshd (SIGTERM from nodes_down) ends the node.
nodes_boot_script='
trap "kill -TERM \$sshd 2>/dev/null; wait \$sshd; exit 0" TERM INT HUP
mkdir -p /run/drover
while :; do
	cat /proc/sys/kernel/random/uuid >/run/drover/boot_id
	umount /proc/sys/kernel/random/boot_id 2>/dev/null
	mount --bind /run/drover/boot_id /proc/sys/kernel/random/boot_id
	rm -f /run/drover/reboot
	/usr/sbin/sshd -D -e -f /etc/ssh/drover_sshd_config &
	sshd=$!
	echo "$sshd" >/run/drover/sshd.pid
	wait "$sshd"
	[ -f /run/drover/reboot ] || exit 0
	kill -KILL -1 2>/dev/null
	sleep 0.2
done
'

# reboot, shutdown (-r) on a node: ask PID 1 for a new boot, a second from now (the
# command returns first, as a real shutdown does); shutdown -c cancels nothing.
nodes_reboot_script='#!/bin/sh
case " $* " in *" -c "*) exit 0 ;; esac
if [ "${0##*/}" = shutdown ]; then
	case " $* " in *" -r "*|*" --reboot "*) ;; *) touch /run/drover/halt ;; esac
fi
[ -f /run/drover/halt ] || touch /run/drover/reboot
setsid sh -c "sleep 1; kill -TERM \$(cat /run/drover/sshd.pid)" </dev/null >/dev/null 2>&1 &
exit 0
'

# nodes_seed I: prepare node I's directory and the files its overlay starts with.
nodes_seed() {
	i=$1
	addr=$(nodes_addr "$i")
	d=$NODES_DIR/node$i
	s=$d/seed
	mkdir -p "$d/t" "$s/etc/ssh" "$s/root/.ssh"
	chmod 0755 "$s" "$s/etc" "$s/etc/ssh"
	chmod 0700 "$s/root" "$s/root/.ssh"
	ssh-keygen -q -t ed25519 -N '' -C "node$i" -f "$s/etc/ssh/drover_host_ed25519_key"
	cat >"$s/etc/ssh/drover_sshd_config" <<EOF
ListenAddress $addr
Port 22
HostKey /etc/ssh/drover_host_ed25519_key
PermitRootLogin yes
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
AuthorizedKeysFile .ssh/authorized_keys
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
PidFile none
MaxSessions 100
MaxStartups 200
LogLevel INFO
Subsystem sftp internal-sftp
EOF
	mkdir -p "$s/etc/drover" "$s/usr/sbin"
	printf '%s' "$nodes_boot_script" >"$s/etc/drover/boot"
	ln -s /bin/sh "$s/etc/drover/drover-init"
	if [ "$NODES_INIT" != systemd ]; then # systemd nodes reboot with systemd's own reboot
		printf '%s' "$nodes_reboot_script" >"$s/usr/sbin/reboot"
		cp "$s/usr/sbin/reboot" "$s/usr/sbin/shutdown"
		chmod 0755 "$s/usr/sbin/reboot" "$s/usr/sbin/shutdown"
	fi
	chmod 0755 "$s/etc/drover" "$s/usr" "$s/usr/sbin"
	cp "$NODES_DIR/id_ed25519.pub" "$s/root/.ssh/authorized_keys"
	[ "$NODES_INIT" = systemd ] && nodes_seed_systemd "$s"
	: >"$s/root/.bashrc"
	: >"$s/root/.profile"
	echo "node$i" >"$s/etc/hostname"
	printf '127.0.0.1\tlocalhost\n%s\tnode%s.drover.test node%s\n' "$addr" "$i" "$i" \
		>"$s/etc/hosts"
	cp "$NODES_DIR/shadow" "$s/etc/shadow"
	chmod 0640 "$s/etc/shadow"
	chown root:shadow "$s/etc/shadow" 2>/dev/null || true
	printf '%s %s\n' "$addr" "$(cut -d' ' -f1,2 "$s/etc/ssh/drover_host_ed25519_key.pub")" \
		>>"$NODES_KNOWN_HOSTS"
}

# nodes_seed_systemd SEED: the units of a systemd node (see the top of this file).
nodes_seed_systemd() {
	u=$1/etc/systemd/system
	mkdir -p "$u"
	cat >"$u/drover-node.target" <<EOF
[Unit]
Description=Drover test node (tests/lib/nodes.sh)
Wants=drover-sshd.service dbus.socket systemd-journald.socket
AllowIsolate=yes
EOF
	cat >"$u/drover-sshd.service" <<EOF
[Unit]
Description=sshd of a Drover test node

[Service]
ExecStart=/usr/sbin/sshd -D -e -f /etc/ssh/drover_sshd_config
KillMode=process
EOF
	for m in systemd-sysctl.service systemd-modules-load.service systemd-binfmt.service \
		proc-sys-fs-binfmt_misc.automount systemd-udevd.service systemd-udev-trigger.service \
		systemd-udev-settle.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
		systemd-timesyncd.service getty.target console-getty.service modprobe@.service; do
		ln -sf /dev/null "$u/$m"
	done
}

# nodes_up N: bring up N nodes and wait until every sshd listens.
nodes_up() {
	n=$1
	t0=$(date +%s%N)
	[ "$(id -u)" -eq 0 ] || { echo "nodes_up: needs root" >&2; return 1; }
	nodes_reap_stale
	NODES_DIR=$(mktemp -d /tmp/drover-nodes.XXXXXX)
	NODES_KEY=$NODES_DIR/id_ed25519
	NODES_KNOWN_HOSTS=$NODES_DIR/known_hosts
	NODES_INVENTORY=$NODES_DIR/inventory.ini
	trap 'nodes_down; [ -n "${TAP_TMP:-}" ] && rm -rf "$TAP_TMP"' EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	ssh-keygen -q -t ed25519 -N '' -C drover-test -f "$NODES_KEY" || return 1
	hash=$(openssl passwd -6 "$NODES_PASSWORD") || return 1
	sed "s|^root:[^:]*:|root:$hash:|" /etc/shadow >"$NODES_DIR/shadow"
	: >"$NODES_KNOWN_HOSTS"
	# Ansible's ControlMaster sockets are keyed by address: one directory per run, so
	# that a master left from another run's node1 is never reused for ours.
	ANSIBLE_SSH_CONTROL_PATH_DIR=$NODES_DIR/ansible-cp
	export ANSIBLE_SSH_CONTROL_PATH_DIR

	ip netns add "$NODES_HUB" || return 1
	ip -n "$NODES_HUB" link set lo up
	ip -n "$NODES_HUB" link add br0 type bridge
	ip -n "$NODES_HUB" addr add 198.18.0.1/16 dev br0
	ip -n "$NODES_HUB" link set br0 up

	{
		echo "[nodes]"
		i=1
		while [ "$i" -le "$n" ]; do
			echo "node$i ansible_host=$(nodes_addr "$i")"
			i=$((i + 1))
		done
		echo
		echo "[nodes:vars]"
		echo "ansible_user=root"
		echo "ansible_ssh_private_key_file=$NODES_KEY"
		printf "ansible_ssh_common_args='-o UserKnownHostsFile=%s %s'\n" \
			"$NODES_KNOWN_HOSTS" "-o StrictHostKeyChecking=yes"
	} >"$NODES_INVENTORY"

	i=1
	while [ "$i" -le "$n" ]; do
		ns=$(nodes_ns "$i")
		addr=$(nodes_addr "$i")
		nodes_seed "$i" || return 1
		ip netns add "$ns" || return 1
		NODES_N=$i
		ip -n "$NODES_HUB" link add "v$i" type veth peer name eth0 netns "$ns" || return 1
		ip -n "$NODES_HUB" link set "v$i" master br0 up
		ip -n "$ns" link set lo up
		ip -n "$ns" addr add "$addr/16" dev eth0
		ip -n "$ns" link set eth0 up
		ip -n "$ns" route add default via 198.18.0.1
		if [ "$NODES_INIT" = systemd ]; then
			ip netns exec "$ns" env nodes_systemd_boot="$nodes_systemd_boot" \
				unshare --mount --uts --fork --kill-child=KILL \
				sh -c "$nodes_systemd_script" node "$NODES_DIR/node$i" "node$i" \
				</dev/null >"$NODES_DIR/node$i/sshd.log" 2>&1 &
		else
			ip netns exec "$ns" unshare --mount --uts --pid --fork --kill-child=TERM \
				sh -c "$nodes_node_script" node "$NODES_DIR/node$i" "node$i" \
				</dev/null >"$NODES_DIR/node$i/sshd.log" 2>&1 &
		fi
		NODES_PIDS="$NODES_PIDS $!"
		echo "$!" >"$NODES_DIR/node$i/pid"
		i=$((i + 1))
	done

	# Ready when every sshd said it listens (bounded: 30 s).
	tries=0
	i=1
	while [ "$i" -le "$n" ]; do
		if grep -q "Server listening" "$NODES_DIR/node$i/sshd.log" 2>/dev/null ||
			{ [ "$NODES_INIT" = systemd ] && nodes_exec timeout 1 bash -c \
				"</dev/tcp/$(nodes_addr "$i")/22" 2>/dev/null; }; then
			i=$((i + 1))
			continue
		fi
		if ! kill -0 "$(cat "$NODES_DIR/node$i/pid")" 2>/dev/null || [ "$tries" -ge 3000 ]; then
			echo "nodes_up: node$i did not start:" >&2
			sed 's/^/  /' "$NODES_DIR/node$i/sshd.log" >&2
			return 1
		fi
		tries=$((tries + 1))
		sleep 0.01
	done
	NODES_START_MS=$((($(date +%s%N) - t0) / 1000000))
	return 0
}

# nodes_boot_id I: the boot id node I reports (changes with every reboot on the node).
nodes_boot_id() {
	nodes_exec ssh -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" \
		-o BatchMode=yes root@"$(nodes_addr "$1")" cat /proc/sys/kernel/random/boot_id
}

# nodes_systemd_stop I: a systemd node boots no more, and its running boot ends at once
# (SIGKILL to the init of the boot's PID namespace: every process of the boot goes with it).
# Found by its network namespace and its PID 1 inside its own PID namespace, never by a
# PID file a recycled PID could make point elsewhere.
nodes_systemd_stop() {
	: >"$NODES_DIR/node$1/down"
	for q in $(ip netns pids "$(nodes_ns "$1")" 2>/dev/null); do
		grep -qE '^NSpid:[[:space:]]+[0-9]+([[:space:]]+[0-9]+)*[[:space:]]+1$' \
			"/proc/$q/status" 2>/dev/null && kill -KILL "$q" 2>/dev/null
	done
}

# nodes_kill I: node I dies at once, as a machine losing power would.
nodes_kill() {
	[ "$NODES_INIT" = systemd ] && nodes_systemd_stop "$1"
	p=$(cat "$NODES_DIR/node$1/pid" 2>/dev/null) || return 1
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	# The PID namespace's init goes with its unshare parent; the namespace's last
	# processes are killed here in case the parent death signal raced.
	for q in $(ip netns pids "$(nodes_ns "$1")" 2>/dev/null); do
		kill -KILL "$q" 2>/dev/null
	done
	return 0
}

# nodes_ssh I COMMAND...: run COMMAND on node I over SSH as root, from the hub, with the
# nodes' client key and their host keys checked (after nodes_up).
nodes_ssh() {
	nodes_ssh_i=$1
	shift
	nodes_exec ssh -o BatchMode=yes -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" \
		-o StrictHostKeyChecking=yes -i "$NODES_KEY" "root@$(nodes_addr "$nodes_ssh_i")" "$@"
}

# nodes_require_systemd COMMAND...: the preamble of a test on systemd nodes: skip it
# (tap.sh's skip_all) unless it runs as root with systemd installed and sshd, ssh, ip,
# unshare and every COMMAND found (on PATH or in /usr/sbin); then nodes_up boots systemd.
nodes_require_systemd() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
	[ -x /lib/systemd/systemd ] || skip_all "needs systemd (the systemd package)"
	for c in sshd ssh ip unshare "$@"; do
		command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip_all "needs $c"
	done
	NODES_INIT=systemd
}

# nodes_standin_modprobe I: the test kernel has no loadable modules; a stand-in modprobe
# in node I's /usr/local/sbin records each call with its caller in
# /var/log/drover-modprobe.log and fails as modprobe does here, so nothing run on the node
# can reach the machine's kernel.
nodes_standin_modprobe() {
	nodes_ssh "$1" 'mkdir -p /usr/local/sbin && cat >/usr/local/sbin/modprobe && chmod 755 /usr/local/sbin/modprobe' <<'EOF'
#!/bin/sh
echo "modprobe $* (by $(cat /proc/$PPID/comm))" >>/var/log/drover-modprobe.log
echo "modprobe: FATAL: Module $* not found (stand-in modprobe of Drover's tests)" >&2
exit 1
EOF
}

# nodes_purge I NAME...: tools this machine may have (a package, binaries in /usr/local)
# removed inside node I's overlay, so that what a test installs there is what runs.
nodes_purge() {
	nodes_purge_i=$1
	shift
	nodes_ssh "$nodes_purge_i" "for p in $*; do"'
		dpkg-query -W "$p" >/dev/null 2>&1 && dpkg --purge --force-depends "$p" >/dev/null 2>&1
		for d in /usr/local/bin /usr/local/sbin; do rm -f "$d/$p"; done
	done; true'
}

# nodes_hub_drover DIR: droverd and its CLI run in the hub namespace, where the nodes are
# reachable: DIR/droverd-hub and DIR/drover-hub run them there, and DROVERD and DROVER
# (droverd.sh's) name these scripts.
nodes_hub_drover() {
	for nodes_t in droverd drover; do
		printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NODES_HUB" \
			"$top_builddir/$nodes_t" >"$1/$nodes_t-hub"
		chmod 755 "$1/$nodes_t-hub"
	done
	DROVERD=$1/droverd-hub
	DROVER=$1/drover-hub
}

# nodes_down: stop every node and remove the namespaces and the directory.
nodes_down() {
	# SIGTERM the init of each node's PID namespace (the boot loop) so that
	# unshare reaps it and exits; SIGKILL what is still there after 3 s (unshare ignores
	# SIGTERM; killed, its --kill-child=TERM still stops sshd).
	# A systemd node (systemd takes SIGTERM as "re-execute") is stopped by
	# nodes_systemd_stop, again while we wait in case it was between two boots.
	i=0
	for p in $NODES_PIDS; do
		i=$((i + 1))
		if [ "$NODES_INIT" = systemd ]; then
			nodes_systemd_stop "$i"
			continue
		fi
		for c in $(pgrep -P "$p" 2>/dev/null); do
			kill -TERM "$c" 2>/dev/null
		done
	done
	tries=0
	i=0
	for p in $NODES_PIDS; do
		i=$((i + 1))
		while kill -0 "$p" 2>/dev/null && [ "$tries" -lt 300 ]; do
			[ "$NODES_INIT" = systemd ] && [ $((tries % 20)) = 19 ] && nodes_systemd_stop "$i"
			tries=$((tries + 1))
			sleep 0.01
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	NODES_PIDS=
	i=1
	while [ "$i" -le "$NODES_N" ]; do
		nodes_netns_delete "$(nodes_ns "$i")"
		i=$((i + 1))
	done
	NODES_N=0
	nodes_netns_delete "$NODES_HUB"
	if [ -n "$NODES_DIR" ] && [ -d "$NODES_DIR" ]; then
		rm -rf "$NODES_DIR"
	fi
	NODES_DIR=
	return 0
}
