#!/bin/sh
# pxe_netinstall.sh - the network-install provision method end to end with Debian's own
# installer, as root: a bookworm mirror the test builds from the files tests/run-all
# downloaded (tests/lib/netinstall.sh: the netboot installer, the udebs its anna fetches, the
# .debs of a minimal install), signed by a throwaway key and served by nginx in the test's
# network namespace (no Internet). droverd has a medium on that mirror; its boot_files_fetch
# job fetches the installer's kernel and initrd from the medium, checked against the
# mirror's SHA256SUMS. A host on the seeded Debian 12 with provision method build: a qemu VM
# (TCG, BIOS, qemu's iPXE ROM) PXE-boots, iPXE loads d-i with the rendered preseed's URL,
# d-i installs from the mirror unattended, its late_command runs the finish template, which
# posts built with the new host keys; at the next boot iPXE boots the disk, sshd answers
# and SSH with the host key droverd recorded works.
# The installer logs to a syslog listener of the test (log_host=): the phases are read from
# it, from dnsmasq's, droverd's and nginx's logs, and printed with their times.
# When the registry did not give every udeb the installer needs (tests/run-all lists them
# in $NETINSTALL_CACHE/udeb.missing), the mirror holds the others and the test checks the
# boot up to the installer reading them from the mirror; the install itself is skipped,
# naming what is missing.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/debconf.sh"
. "$top_srcdir/tests/lib/image.sh"
. "$top_srcdir/tests/lib/netinstall.sh"
. "$top_srcdir/tests/lib/pxe_vm.sh"
: "${top_builddir:?}"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespace, tap device)"
once_per_run
m=$(pxe_vm_missing qemu-system-x86_64 dnsmasq busybox ip ssh-keygen ssh curl gzip gpg python3 \
	apt-ftparchive nginx sha256sum) && skip_all "$m is not installed"
netinstall_present "$NETINSTALL_CACHE" ||
	skip_all "no installer packages in $NETINSTALL_CACHE (tests/run-all downloads them)"

d=$TAP_TMP
PXE_DIR=$d
MAC=52:54:00:12:36:01
IP=198.18.0.41
MIRROR=http://$PXE_ADDR:8081/debian
NGINX_PID=
SYSLOG_PID=
PXE_VM_PIDVARS="$PXE_VM_PIDVARS NGINX_PID SYSLOG_PID"
missing=$(tr '\n' ' ' <"$NETINSTALL_CACHE/udeb.missing" 2>/dev/null)
full=yes
[ -z "$missing" ] || full=

pxe_vm_net drover-pxen fd00:d0:3: || skip_all "cannot create a network namespace"
root=$PXE_ROOT
ok "test network is up" nsx ip -4 addr show br0

# --- the mirror, signed by a throwaway key, served by nginx in the namespace.
like "bookworm mirror of the installer's files" \
	"$(netinstall_mirror_build "$d/repo" 2>&1; echo rc=$?)" 'rc=0$'
export GNUPGHOME=$d/gnupg
mkdir -p -m 700 "$GNUPGHOME"
gpg --batch --passphrase '' --quick-gen-key 'E2E mirror <mirror@example.org>' ed25519 sign \
	never 2>/dev/null
ok "signed with a throwaway key" image_repo_sign "$d/repo" mirror@example.org
ok "nginx serves it" image_repo_serve "$d/repo" "$PXE_NS" "$PXE_ADDR:8081"
NGINX_PID=$IMAGE_NGINX_PID
access=$d/repo/nginx/access.log

# --- the installer's syslog (d-i sends it to log_host once its network is up).
ip netns exec "$PXE_NS" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 514))
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).rstrip(b"\n") + b"\n")
' "$PXE_ADDR" "$d/di.log" >/dev/null 2>&1 &
SYSLOG_PID=$!
: >"$d/di.log"

# --- droverd: a medium on the mirror, the installer's kernel and initrd fetched from it.
ok "droverd is ready in the namespace, drover logged in" pxe_vm_droverd
ok "a medium on the mirror" drover medium create --name e2e-mirror --path "$MIRROR" \
	--os-family Debian
out=$(drover job run boot_files_fetch -p operatingsystem='Debian 12' -p medium=e2e-mirror \
	--follow 2>&1)
is "boot_files_fetch fetches d-i's kernel and initrd from it" "$?" 0
like "checked against the mirror's SHA256SUMS" "$out" \
	"checksums from $MIRROR/dists/bookworm/main/installer-amd64/current/images/SHA256SUMS"
ok "the initrd cached is the netboot one, byte for byte" cmp "$NETINSTALL_CACHE/netboot/initrd.gz" \
	"$(ls "$root"/boot/Debian_12-*-x86_64/initrd)"

# --- the host: seeded Debian 12, provision method build (the hostgroup base's), the
# test's key for root. The test-only parameters: the installer accepts the throwaway key's
# signature (mirror_allow_unauthenticated: d-i takes no other key for its mirror), no
# security/updates services (no Internet), the ssh-server task only (time), serial console
# and syslog to the test.
ssh-keygen -q -t ed25519 -N '' -C e2e -f "$d/id"
ok "host vm1 on Debian 12 from the mirror" drover host create --name vm1 --mac "$MAC" \
	--ip "$IP" --operatingsystem "Debian 12" --medium e2e-mirror --provision-method build \
	-p "ssh_authorized_keys=$(cat "$d/id.pub")" -p mirror_allow_unauthenticated=true \
	-p apt_services= -p tasks=ssh-server \
	-p "kernel_args=console=ttyS0,115200 log_host=$PXE_ADDR"
like "its provision method is build (network install)" \
	"$(drover host show vm1 2>&1 | tr -d '\n ')" '"provision_method":"build"'
like "its iPXE script boots the cached d-i with the preseed's URL" \
	"$(drover template preview --host vm1 --kind iPXE 2>&1)" \
	"kernel $U/pxe/files/boot/Debian_12-[0-9]+-x86_64/linux initrd=initrd.gz auto=true priority=critical url=$U/unattended/provision"
drover template preview --host vm1 --kind provision >"$d/preseed.cfg" 2>&1
like "its preseed points at the mirror" "$(cat "$d/preseed.cfg")" \
	"mirror/http/hostname string $PXE_ADDR:8081"
like "and lets d-i take the throwaway key's signature" "$(cat "$d/preseed.cfg")" \
	'debian-installer/allow_unauthenticated boolean true'
if command -v debconf-set-selections >/dev/null; then
	ok "debconf-set-selections accepts it" debconf_check "$d/preseed.cfg"
fi
ok "drover host build vm1" drover host build vm1
# The subnet gives the VM its gateway and a name server (none answers there: d-i only ever
# meets addresses here): without one from DHCP, netcfg stops to ask for one before the
# preseed is loaded. dnsmasq reads them from droverd's dnsmasq.conf. Its boot mode is
# Static: once the preseed is read, d-i configures vm1's address itself.
ok "a Static subnet with a range, gateway and name server" drover subnet create --name e2e \
	--network 198.18.0.0 --mask 255.255.255.0 --from 198.18.0.100 --to 198.18.0.200 \
	--gateway "$PXE_ADDR" --dns-primary "$PXE_ADDR" --pxe-loader 'iPXE Chain BIOS' \
	--boot-mode Static
ok "vm1 on it" drover host update vm1 --subnet e2e
ok "dnsmasq runs" pxe_vm_dnsmasq "$d/dnsmasq.log"

# --- the install boot; phases in ms after power-on, polled every 0.1 s.
: >"$d/phases"
# pxe_files_gets: how many GETs droverd answered under /pxe/files/ (kernels, initrds).
pxe_files_gets() {
	nsx curl -s "$U/metrics" | awk '/^drover_http_requests_total\{route="pxe_files"/ \
		{ n += $2 } END { print n + 0 }'
}
gets0=$(pxe_files_gets)
# seen NAME: record phase NAME now, unless it was seen before.
seen() { grep -q "^$1 " "$d/phases" || echo "$1 $((($(date +%s%N) - t0n) / 1000000))" >>"$d/phases"; }
install_poll() {
	grep -q "DHCPACK(br0) [0-9.]* $MAC" "$d/dnsmasq.log" && seen dhcp
	[ "$(pxe_files_gets)" -ge $((gets0 + 2)) ] && seen kernel_initrd
	[ -s "$d/di.log" ] && seen di_network
	grep -q 'successfully loaded preseed file' "$d/di.log" && seen preseed
	grep -q 'GET /debian/dists/bookworm/Release' "$access" && seen mirror
	grep -q 'GET /debian/pool/main/[^ ]*\.udeb' "$access" && seen udebs
	grep -q 'GET /debian/pool/main/[^ ]*\.deb ' "$access" && seen base_system
	grep -q 'GET /debian/pool/main/linux-image-[^ ]*\.deb ' "$access" && seen kernel_deb
	grep -q 'host vm1 built' "$d/droverd.log" && seen built
	return 0
}
truncate -s 4G "$d/disk.img"
: >"$d/console.log"
# vm ARGS...: the BIOS VM, its disk, the e1000 NIC with qemu's iPXE ROM, serial to
# console.log (appended).
vm() {
	pxe_vm_qemu -m 1024 -chardev "file,id=s0,path=$d/console.log,append=on" \
		-serial chardev:s0 -drive if=virtio,format=raw,file="$d/disk.img" \
		-device e1000,netdev=n0,mac="$MAC" "$@"
}
# From here on the mirror's log has the VM's requests only.
: >"$access"
t0n=$(date +%s%N)
vm -boot n -no-reboot
if [ -n "$full" ]; then
	ok "d-i installs and reboots within ${NETINSTALL_TIMEOUT:-3600} s" \
		pxe_vm_wait_exit "${NETINSTALL_TIMEOUT:-3600}" install_poll
	pxe_vm_phases "every phase was seen, in order" \
		"dhcp kernel_initrd di_network preseed mirror udebs base_system kernel_deb built "
else
	# The mirror lacks udebs: the install cannot go past anna. Wait until it fetched
	# udebs and then nothing for 30 s (900 s at most), then end the VM.
	i=0 q=0 last=0
	while [ $i -lt 9000 ] && [ $q -lt 300 ] && kill -0 "$QEMU_PID" 2>/dev/null; do
		install_poll
		c=$(wc -l <"$access")
		if grep -q '^udebs ' "$d/phases" && [ "$c" -eq "$last" ]; then
			q=$((q + 1))
		else
			q=0
		fi
		last=$c
		sleep 0.1
		i=$((i + 1))
	done
	install_poll
	pxe_vm_stop
	echo "# udebs fetched: $(grep -c 'GET /debian/pool/main/[^ ]*\.udeb' "$access")" \
		"of the $(grep -c '^Package:' \
		"$d/repo/debian/dists/bookworm/main/debian-installer/binary-amd64/Packages") the mirror lists"
	pxe_vm_phases "the phases up to the udebs were seen, in order" \
		"dhcp kernel_initrd di_network preseed mirror udebs "
fi
like "dnsmasq handed iPXE droverd's URL" "$(cat "$d/dnsmasq.log")" \
	"bootfile-name +$U/unattended/iPXE"
like "and the subnet's name server" "$(cat "$d/dnsmasq.log")" "dns-server +$PXE_ADDR"
like "d-i read the preseed droverd rendered for vm1" "$(cat "$d/di.log")" \
	"successfully loaded preseed file from $U/unattended/provision"
# The subnet's boot mode is Static: the preseed's early_command runs netcfg again, which
# takes the address from the preseed and writes it for the installed system.
like "d-i ran netcfg again from the preseed (Static subnet)" "$(cat "$d/di.log")" \
	'running preseed command preseed/early_command: kill-all-dhcp; netcfg'
like "which checked the gateway from vm1's own address" "$(cat "$d/di.log")" \
	"netcfg\[[0-9]+\]: ARPING $PXE_ADDR from $IP "
like "and wrote a static stanza for the installed system" "$(cat "$d/di.log")" \
	'netcfg\[[0-9]+\]: DEBUG: Writing static IPv4 stanza for '
like "and took the mirror from it" "$(cat "$access")" \
	'GET /debian/dists/bookworm/Release '
like "its anna fetched the udebs' Packages" "$(cat "$access")" \
	'GET /debian/dists/bookworm/main/debian-installer/binary-amd64/Packages[^ ]* HTTP/1\.1" 200'
like "and udebs" "$(cat "$access")" 'GET /debian/pool/main/[^ ]*\.udeb HTTP/1\.1" 200'

if [ -z "$full" ]; then
	skip "the install from the mirror, built, the disk boot, SSH with the recorded key" \
		"the registry lacks $(echo "$missing" | wc -w) udebs d-i needs: $missing"
else
	like "vm1 is installed" "$(drover host list 2>&1)" 'vm1 +- +Debian 12 +installed +false'
	drover host known-hosts vm1 >"$d/kh" 2>&1
	like "its new ed25519 host key is recorded" "$(cat "$d/kh")" "^vm1,$IP ssh-ed25519 "
	like "iPXE now boots it from its disk" "$(nsx curl -s "$U/unattended/iPXE?mac=$MAC")" \
		'sanboot'
	vm -boot n
	pxe_vm_wait_ssh "$IP" 900
	seen sshd
	like "the installed system's sshd answers" \
		"$(nsx sh -c "echo | busybox nc -w 2 $IP 22" 2>&1)" 'SSH-2\.0-OpenSSH'
	is "SSH with the recorded host key: Debian 12 installed by d-i" \
		"$(pxe_vm_ssh "$IP" "$d/kh" "$d/id" 'cut -d. -f1 /etc/debian_version; test -f /var/log/installer/syslog && echo d-i' 2>&1 | tr '\n' ' ')" \
		"12 d-i "
	like "the finish script ran in it" \
		"$(pxe_vm_ssh "$IP" "$d/kh" "$d/id" 'cat /root/drover-finish.log' 2>&1)" '.'
	echo "# phases (ms after power-on): $(tr '\n' ' ' <"$d/phases")"
fi

if [ "$tap_failed" -ne 0 ]; then
	pxe_vm_tails "$d/console.log" "$d/di.log" "$d/dnsmasq.log" "$d/droverd.log" "$access" \
		"$d/qemu.log"
fi
done_testing
