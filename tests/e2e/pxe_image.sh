#!/bin/sh
# pxe_image.sh - the image provision method end to end, as root: droverd builds Drover's
# installer (`drover pxe setup`) and a Debian 12 image with mmdebstrap from a repository the
# test serves with nginx in its own network namespace (the .debs tests/run-all downloaded;
# no Internet). A qemu VM (TCG, iPXE ROM on a tap device) PXE-boots the installer, which
# partitions its disk, writes the image, installs extlinux, runs the finish template and
# posts built with the new SSH host keys. At its next boot iPXE picks the local disk, the
# installed Debian starts sshd, and `drover play` runs a playbook on it that verifies the
# host key droverd recorded (and refuses a wrong one). The repository is signed with a
# throwaway key the image trusts by --gpg-key; a #! user_data runs in each installed system;
# vm1's post-install playbook (queued by built, waiting for sshd from droverd) checks both
# (apt-get update on the installed host). Prints the time of each phase.
# Run time on 2 cores under TCG: about 10 minutes when the machine is otherwise idle (image
# build ~6 min, PXE + install ~1.5 min, reboot to sshd ~40 s); 19 min at a load of 24.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/image.sh"
: "${top_builddir:?}"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespace, tap device, mmdebstrap)"
once_per_run
for c in qemu-system-x86_64 dnsmasq busybox ip ssh-keygen curl cpio gzip mmdebstrap gpg python3 \
	apt-ftparchive nginx sfdisk mke2fs modprobe mkfs.vfat zstd blkid resize2fs; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || [ -x "/sbin/$c" ] ||
		skip_all "$c is not installed"
done
image_debs_present "$IMAGE_DEB_CACHE" ||
	skip_all "no image packages in $IMAGE_DEB_CACHE (tests/run-all downloads them)"
kver=$(ls /lib/modules | sort -V | tail -1)
[ -r "/boot/vmlinuz-$kver" ] || skip_all "no Debian kernel in /boot (linux-image-amd64)"

ns=drover-pxei-$$
d=$TAP_TMP
state=$d/state
root=$d/tftp
U=http://198.18.0.1:8080
MAC=52:54:00:12:35:01
IP=198.18.0.31
DROVERD_PID=
DNSMASQ_PID=
QEMU_PID=
NGINX_PID=
cleanup() {
	for p in $QEMU_PID $DNSMASQ_PID $DROVERD_PID $NGINX_PID; do
		kill "$p" 2>/dev/null
	done
	for p in $QEMU_PID $DNSMASQ_PID $DROVERD_PID $NGINX_PID; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$p" 2>/dev/null
	done
	ip netns del "$ns" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$TAP_TMP"
}
trap cleanup EXIT INT TERM
nsx() { ip netns exec "$ns" "$@"; }
T0=$(date +%s)
: >"$d/phases"
# phase NAME: seconds since the test started, printed at the end.
phase() { echo "$1 $(($(date +%s) - T0))" >>"$d/phases"; }

ip netns add "$ns" || skip_all "cannot create a network namespace"
nsx ip link set lo up
nsx ip link add br0 type bridge
nsx ip tuntap add dev tap0 mode tap
nsx ip link set tap0 master br0
nsx ip addr add 198.18.0.1/24 dev br0
nsx ip addr add fd00:d0:2::1/64 dev br0 nodad
nsx ip link set tap0 up
nsx ip link set br0 up
ok "test network is up" nsx ip -4 addr show br0

# --- the Debian repository mmdebstrap builds from, served by nginx in the namespace.
like "repository of the image's packages" "$(image_repo_build "$d/repo" 2>&1; echo rc=$?)" 'rc=0$'
# Signed with a throwaway key Debian's keyring lacks: image deb12 trusts it by --gpg-key.
export GNUPGHOME=$d/gnupg
mkdir -p -m 700 "$GNUPGHOME"
gpg --batch --passphrase '' --quick-gen-key 'E2E mirror <mirror@example.org>' ed25519 sign \
	never 2>/dev/null
gpg --export mirror@example.org >"$d/mirror.gpg"
ok "signed with a throwaway key" image_repo_sign "$d/repo" mirror@example.org
image_repo_serve "$d/repo" "$ns" 198.18.0.1:8081
NGINX_PID=$IMAGE_NGINX_PID
ok "nginx serves it" nsx curl -sf -o /dev/null http://198.18.0.1:8081/debian/dists/bookworm/Release

# --- droverd in the namespace.
printf 'tftp:\n  root: %s\n' "$root" >"$d/droverd.yml"
DROVER_ADMIN_PASSWORD=e2e-password ip netns exec "$ns" "$top_builddir/droverd" \
	--config "$d/droverd.yml" --listen 198.18.0.1:8080 --tftp-listen 198.18.0.1:69 \
	--state-dir "$state" >"$d/droverd.log" 2>&1 &
DROVERD_PID=$!
i=0
until grep -q ' ready in ' "$d/droverd.log" 2>/dev/null || [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
ok "droverd is ready in the namespace" grep -q ' ready in ' "$d/droverd.log"
export DROVER_CONFIG="$d/cli.yml" DROVER_SERVER=$U
ok "drover login" nsx env DROVER_PASSWORD=e2e-password "$top_builddir/drover" login
drover() { nsx "$top_builddir/drover" "$@"; }
phase start

# --- Drover's installer: built by droverd from this machine's Debian packages.
job=$(drover --json pxe setup | tr -d ' \n' | sed -n 's/.*"installer_job":\([0-9]*\).*/\1/p')
ok "drover pxe setup queues the installer build" test -n "$job"
ok "which succeeds" drover job follow "$job"
ok "the installer's kernel and initramfs are in the TFTP root" \
	test -s "$root/drover-installer/vmlinuz" -a -s "$root/drover-installer/initrd.img"
like "pxe status lists it" "$(drover --json pxe status | tr -d ' \n')" \
	'"drover-installer/initrd.img":\{"present":true'
phase installer_built

# --- the image: mmdebstrap as a droverd job, from the namespace's repository only.
excl=/usr/share/doc/*,/usr/share/man/*,/usr/share/locale/*
for m in drivers/gpu drivers/media drivers/net/wireless drivers/infiniband sound \
	drivers/staging drivers/bluetooth drivers/iio drivers/isdn; do
	excl="$excl,/lib/modules/*/kernel/$m/*"
done
# apt by name: the repository has the .debs' own priorities (apt's: important), not the
# archive's overrides that put it in minbase; vm1's post-install playbook runs apt-get.
drover image create deb12 --suite bookworm --mirror http://198.18.0.1:8081/debian \
	--gpg-key "$d/mirror.gpg" --packages apt --exclude "$excl" --follow >"$d/image.log" 2>&1
ok "drover image create deb12 builds it" test $? -eq 0
phase image_built
like "drover image list shows it ready" "$(drover image list 2>&1)" \
	'deb12 +bookworm +ready +[0-9]+ +[0-9a-f]{64}'
drover --json image show deb12 >"$d/image.json"
sha=$(tr -d ' \n' <"$d/image.json" | sed -n 's/.*"sha256":"\([0-9a-f]*\)".*/\1/p')
size=$(tr -d ' \n' <"$d/image.json" | sed -n 's/.*"size":\([0-9]*\).*/\1/p')
echo "# image: $size bytes"
like "its URL is droverd's" "$(cat "$d/image.json")" "\"url\": \"$U/images/deb12.tar\""
is "served with Range" "$(nsx curl -s -r 1024-2047 -o "$d/range" -w '%{http_code}' \
	"$U/images/deb12.tar")" 206
is "1024 bytes of it" "$(wc -c <"$d/range")" 1024
like "with its checksum in a header" "$(nsx curl -sI "$U/images/deb12.tar")" \
	"X-Checksum-Sha256: $sha"
is "the whole file has that SHA-256" "$(nsx curl -s "$U/images/deb12.tar" | sha256sum |
	cut -d' ' -f1)" "$sha"
nsx curl -s "$U/images/deb12.tar" | tar -t >"$d/image.list" 2>/dev/null
like "it holds a kernel" "$(cat "$d/image.list")" '\./boot/vmlinuz-6'
like "sshd" "$(cat "$d/image.list")" '\./usr/sbin/sshd'
like "and extlinux's MBR code" "$(cat "$d/image.list")" 'EXTLINUX/mbr\.bin'
ok "but no SSH host key (each host makes its own)" sh -c "! grep -q 'ssh_host_.*_key' '$d/image.list'"
like "and the mirror's key for its apt" "$(cat "$d/image.list")" '\./etc/apt/trusted\.gpg\.d/deb12\.gpg'

# --- the host: Debian 12 (seeded) installed by the image method.
ssh-keygen -q -t ed25519 -N '' -C e2e -f "$d/id"
# The subnet's pxe_loader "iPXE Chain UEFI" gives UEFI clients snponly.efi (by TFTP and by
# HTTP boot), which returns to the firmware on exit; BIOS VMs' iPXE ROM asks droverd at once.
ok "a subnet booting UEFI through snponly.efi" drover subnet create --name e2e \
	--network 198.18.0.0 --mask 255.255.255.0 --from 198.18.0.100 --to 198.18.0.200 \
	--pxe-loader 'iPXE Chain UEFI'
# A #! user_data for Debian 12 (the images have no cloud-init: run in the installed system)
# and, for vm1, a post-install playbook droverd runs once it is up: user_data ran, and the
# installed apt trusts the mirror through the image's key.
# The raw image (vm1's second install) has cloud-init: its user_data is #cloud-config,
# applied at first boot from the NoCloud seed the installer writes.
cat >"$d/user-data.tmpl" <<'EOF'
{% if image.name == 'deb12raw' %}#cloud-config
write_files:
  - path: /etc/drover-cloud-init
    content: "{{ host.name }} written by cloud-init\n"
runcmd:
  - [sh, -c, "hostname > /root/runcmd-hostname"]
{% else %}#!/bin/sh
echo {{ host.name }} > /etc/drover-user-data
{% endif %}
EOF
ok "a user_data template" drover template create --name e2e-user-data --kind user_data \
	--template-file "$d/user-data.tmpl" --operatingsystem "Debian 12"
cat >"$d/post.yml" <<'EOF'
- hosts: all
  gather_facts: false
  tasks:
    - command: cat /etc/drover-user-data
      register: ud
    - assert:
        that:
          - ud.stdout == inventory_hostname
    - name: apt trusts the mirror through /etc/apt/trusted.gpg.d/deb12.gpg
      command: apt-get update
EOF
# vm1 also uploads its package profile after built (remote execution, droverd's own key,
# which its authorized_keys lists beside the test's).
ok "host with the image method" drover host create --name vm1 --mac "$MAC" --ip "$IP" \
	--operatingsystem "Debian 12" --provision-method image --image deb12 \
	-p "ssh_authorized_keys=$(cat "$d/id.pub"; drover settings ssh-key)" -p ansible_user=root \
	-p "ansible_ssh_private_key_file=$d/id" -p "post_install_playbook=$d/post.yml" \
	-p post_install_profile=true
like "its iPXE script boots Drover's installer" \
	"$(drover template preview --host vm1 --kind iPXE 2>&1)" \
	"kernel $U/pxe/files/drover-installer/vmlinuz .*url=$U/unattended/provision"
like "its provision script writes the image" \
	"$(drover template preview --host vm1 --kind provision 2>&1)" \
	"Image install of vm1.*"
ok "drover host build vm1" drover host build vm1
phase build

# dnsmasq reads the subnet's range, boot lines and reservations from droverd's files at
# start (it is started again for hosts built later: it is not droverd's child here).
dnsmasq_start() {
	ip netns exec "$ns" /usr/sbin/dnsmasq -d --port=0 --user=root --interface=br0 \
		--bind-interfaces --conf-file="$state/pxe/dnsmasq.conf" --enable-ra \
		--dhcp-range=fd00:d0:2::,ra-only --dhcp-leasefile="$d/leases" --log-dhcp \
		>>"$d/dnsmasq.log" 2>&1 &
	DNSMASQ_PID=$!
	sleep 0.5
}
dnsmasq_restart() {
	kill "$DNSMASQ_PID"
	wait "$DNSMASQ_PID" 2>/dev/null
	dnsmasq_start
}
: >"$d/dnsmasq.log"
dnsmasq_start
ok "dnsmasq runs" kill -0 "$DNSMASQ_PID"

# vm ARGS...: the VM with its disk and NIC, serial console to $d/console.log (appended).
vm() {
	ip netns exec "$ns" qemu-system-x86_64 -accel tcg -m 768 -nodefaults -display none \
		-chardev "file,id=s0,path=$d/console.log,append=on" -serial chardev:s0 \
		-drive if=virtio,format=raw,file="$d/disk.img" \
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
		-device e1000,netdev=n0,mac="$MAC" "$@" >>"$d/qemu.log" 2>&1 &
	QEMU_PID=$!
}
truncate -s 3G "$d/disk.img"
: >"$d/console.log"
# The first boot: PXE, the installer, the image; it reboots when done (-no-reboot: exits).
vm -boot n -no-reboot
seen() { grep -q "^$1 " "$d/phases" || phase "$1"; }
i=0
while kill -0 "$QEMU_PID" 2>/dev/null && [ $i -lt 9000 ]; do
	grep -q 'drover-installer: up' "$d/console.log" && seen installer_up
	grep -q 'drover: writing' "$d/console.log" && seen image_writing
	grep -q 'drover: installing the boot loader' "$d/console.log" && seen boot_loader
	grep -q 'host vm1 built' "$d/droverd.log" && seen built
	sleep 0.1
	i=$((i + 1))
done
grep -q 'host vm1 built' "$d/droverd.log" && seen built
seen install_vm_exited
ok "the VM installed itself and rebooted within 900 s" sh -c "! kill -0 $QEMU_PID 2>/dev/null"
like "the installer reported each step" "$(tr -d '\r' <"$d/console.log" | tr '\n' ' ')" \
	'drover: writing .*drover: installing the boot loader.*drover-installer: installed'
like "vm1 is installed" "$(drover host list 2>&1)" 'vm1 +- +Debian 12 +installed +false'
drover host known-hosts vm1 >"$d/kh" 2>&1
like "its new ed25519 host key is recorded" "$(cat "$d/kh")" "^vm1,$IP ssh-ed25519 "
like "iPXE now boots it from its disk" "$(nsx curl -s "$U/unattended/iPXE?mac=$MAC")" 'sanboot'

# --- the second boot: iPXE hands over to the disk; extlinux, Debian, sshd.
boots=$(grep -c "bootfile-name.*/unattended/iPXE" "$d/dnsmasq.log")
vm -boot n
i=0
until nsx sh -c "echo | busybox nc -w 1 $IP 22" 2>/dev/null | grep -q SSH-2.0 ||
	[ $i -ge 600 ] || ! kill -0 "$QEMU_PID" 2>/dev/null; do
	sleep 1
	i=$((i + 1))
done
phase sshd_up
like "the installed system's sshd answers" \
	"$(nsx sh -c "echo | busybox nc -w 2 $IP 22" 2>&1)" 'SSH-2\.0-OpenSSH'
ok "it network-booted first (iPXE asked droverd, which said sanboot)" \
	test "$(grep -c "bootfile-name.*/unattended/iPXE" "$d/dnsmasq.log")" -gt "$boots"
like "into Debian 12" "$(cat "$d/console.log")" 'Debian GNU/Linux 12'

# --- the post-install playbook droverd queued at built: it waited for sshd, then ran on
# vm1 through the host key droverd recorded.
pjob=$(drover --json job list --kind playbook | python3 -c '
import json, sys
r = json.load(sys.stdin)["results"]
print(min(j["id"] for j in r) if r else "")')
ok "built queued the post-install playbook" test -n "$pjob"
drover job follow "$pjob" >"$d/post.log" 2>&1
ok "which succeeds on vm1" test $? -eq 0
like "user_data ran in it, and its apt trusts the mirror" "$(tr -d '\n' <"$d/post.log")" \
	'"recap","hosts":\{"vm1":\{"ok":4,"changed":[0-9]+,"unreachable":0,"failed":0'
phase post_install_playbook

# --- the package profile droverd queued at built (post_install_profile): its play waited
# for sshd too, then remote execution stored vm1's dpkg list.
# vm_ssh IP KNOWN_HOSTS CMD...: CMD on the VM as root, its host key checked against the file.
vm_ssh() {
	h=$1 k=$2
	shift 2
	nsx ssh -q -i "$d/id" -o UserKnownHostsFile="$k" -o StrictHostKeyChecking=yes \
		-o BatchMode=yes -o ConnectTimeout=20 "root@$h" "$@"
}
rjob=$(drover --json job list --kind remote_execution | python3 -c '
import json, sys
r = json.load(sys.stdin)["results"]
print(min(j["id"] for j in r) if r else "")')
ok "built queued the package-profile upload" test -n "$rjob"
drover job follow "$rjob" >"$d/profile-job.log" 2>&1
ok "which succeeds on vm1" test $? -eq 0
drover host packages vm1 >"$d/packages" 2>&1
v=$(vm_ssh "$IP" "$d/kh" "dpkg-query -W -f='\${Version}' openssh-server" 2>&1)
like "drover host packages vm1 lists openssh-server at the version dpkg gives in vm1 ($v)" \
	"$(cat "$d/packages")" "^openssh-server +$(printf '%s' "$v" | sed 's/[.+]/\\&/g') +amd64$"
is "and as many packages as dpkg has installed there" "$(tail -n +2 "$d/packages" | grep -c .)" \
	"$(vm_ssh "$IP" "$d/kh" "dpkg-query -W -f='\${db:Status-Abbrev}\\n'" | grep -c '^[ih]i')"
phase package_profile

# --- a playbook on it, verifying the recorded host key.
cat >"$d/inventory" <<EOF
vm1 ansible_host=$IP ansible_user=root ansible_ssh_private_key_file=$d/id ansible_ssh_known_hosts_file=$d/kh
EOF
cat >"$d/check.yml" <<'EOF'
- hosts: vm1
  gather_facts: false
  tasks:
    - name: its hostname
      command: cat /etc/hostname
      register: hn
    - name: what Drover named it
      assert:
        that:
          - hn.stdout == 'vm1'
    - name: its root file system, on the disk the installer partitioned
      command: grep ' / ' /proc/mounts
      register: rootfs
    - assert:
        that:
          - "'/dev/vda1' in rootfs.stdout"
    - name: the certificate the finish template fetched
      command: test -s /etc/drover/host.crt
EOF
nsx "$top_builddir/drover" play "$d/check.yml" -i "$d/inventory" >"$d/play.log" 2>&1
ok "drover play runs the playbook on it" test $? -eq 0
like "with every task ok" "$(cat "$d/play.log")" 'vm1 +: ok=5 +changed=[0-9]+ +unreachable=0 +failed=0'
phase playbook
ssh-keygen -q -t ed25519 -N '' -C other -f "$d/other"
echo "$IP $(cut -d' ' -f1,2 "$d/other.pub")" >"$d/kh-wrong"
sed "s|$d/kh\$|$d/kh-wrong|" "$d/inventory" >"$d/inventory-wrong"
nsx "$top_builddir/drover" play "$d/check.yml" -i "$d/inventory-wrong" >"$d/play2.log" 2>&1
is "a wrong recorded key: the host is unreachable (exit 4)" "$?" 4
like "because its key does not match" "$(cat "$d/play2.log")" '[Hh]ost key|mismatch|changed'

# --- UEFI: a second VM under OVMF (virtio-net with no iPXE option ROM, so the firmware's
# own PXE asks and gets snponly.efi). The installer sees /sys/firmware/efi and makes a GPT
# disk with an EFI system partition and GRUB at EFI/BOOT/BOOTX64.EFI; at the next boot
# iPXE exits with an error back to the firmware, which tries its next boot options (PXE
# over IPv6, HTTP boot: iPXE again, which exits again) and then boots the disk.
ovmf=/usr/share/OVMF/OVMF_CODE_4M.fd
if [ ! -r "$ovmf" ] || [ ! -r /usr/share/OVMF/OVMF_VARS_4M.fd ]; then
	skip "the UEFI VM" "$ovmf missing (ovmf package)"
else
	kill "$QEMU_PID" 2>/dev/null
	wait "$QEMU_PID" 2>/dev/null
	MAC2=52:54:00:12:35:02
	IP2=198.18.0.32
	ok "a second host, to install under UEFI" drover host create --name vm2 --mac "$MAC2" \
		--ip "$IP2" --operatingsystem "Debian 12" --provision-method image --image deb12 \
		-p "ssh_authorized_keys=$(cat "$d/id.pub")"
	like "whose iPXE answer, once installed, leaves UEFI to the firmware" \
		"$(nsx curl -s "$U/unattended/iPXE?mac=$MAC2")" 'iseq \$\{platform\} efi && exit 1'
	ok "drover host build vm2" drover host build vm2
	dnsmasq_restart
	ok "dnsmasq runs with vm2's reservation" kill -0 "$DNSMASQ_PID"
	phase uefi_build
	cp /usr/share/OVMF/OVMF_VARS_4M.fd "$d/vars2.fd"
	truncate -s 3G "$d/disk2.img"
	: >"$d/console2.log"
	# vm_uefi N MAC ARGS...: OVMF VM N (disk$N.img, vars$N.fd, console$N.log), booting
	# the network first, then its disk.
	vm_uefi() {
		n=$1 mac=$2
		shift 2
		ip netns exec "$ns" qemu-system-x86_64 -accel tcg -m 768 -nodefaults -display none \
			-chardev "file,id=s0,path=$d/console$n.log,append=on" -serial chardev:s0 \
			-drive if=pflash,format=raw,readonly=on,file="$ovmf" \
			-drive if=pflash,format=raw,file="$d/vars$n.fd" \
			-drive if=none,id=d0,format=raw,file="$d/disk$n.img" \
			-device virtio-blk-pci,drive=d0,bootindex=2 \
			-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
			-device virtio-net-pci,netdev=n0,mac="$mac",romfile=,bootindex=1 \
			"$@" >>"$d/qemu.log" 2>&1 &
		QEMU_PID=$!
	}
	vm_uefi 2 "$MAC2" -no-reboot
	i=0
	while kill -0 "$QEMU_PID" 2>/dev/null && [ $i -lt 9000 ]; do
		grep -q 'drover-installer: up' "$d/console2.log" && seen uefi_installer_up
		grep -q 'drover: writing' "$d/console2.log" && seen uefi_image_writing
		grep -q 'drover: installing the boot loader' "$d/console2.log" && seen uefi_boot_loader
		grep -q 'host vm2 built' "$d/droverd.log" && seen uefi_built
		sleep 0.1
		i=$((i + 1))
	done
	grep -q 'host vm2 built' "$d/droverd.log" && seen uefi_built
	seen uefi_install_vm_exited
	ok "the UEFI VM installed itself and rebooted within 900 s" \
		sh -c "! kill -0 $QEMU_PID 2>/dev/null"
	like "the installer chose UEFI: GPT and GRUB" \
		"$(tr -d '\r' <"$d/console2.log" | tr '\n' ' ')" \
		'drover: partitioning /dev/vda \(uefi\).*installing the boot loader \(GRUB, UEFI\).*drover-installer: installed'
	like "vm2 is installed" "$(drover host list 2>&1)" 'vm2 +- +Debian 12 +installed +false'
	sfdisk -d "$d/disk2.img" >"$d/disk2.sfdisk" 2>&1
	like "its disk is GPT" "$(cat "$d/disk2.sfdisk")" 'label: gpt'
	like "with an EFI system partition first" "$(cat "$d/disk2.sfdisk")" \
		'disk2\.img1 : .*type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B'
	drover host known-hosts vm2 >"$d/kh2" 2>&1
	like "its new ed25519 host key is recorded" "$(cat "$d/kh2")" "^vm2,$IP2 ssh-ed25519 "

	# The second boot: OVMF's PXE, iPXE asks droverd and exits, OVMF boots the disk:
	# GRUB, Debian, sshd.
	boots=$(grep -c "bootfile-name.*/unattended/iPXE" "$d/dnsmasq.log")
	vm_uefi 2 "$MAC2"
	i=0
	until nsx sh -c "echo | busybox nc -w 1 $IP2 22" 2>/dev/null | grep -q SSH-2.0 ||
		[ $i -ge 600 ] || ! kill -0 "$QEMU_PID" 2>/dev/null; do
		sleep 1
		i=$((i + 1))
	done
	phase uefi_sshd_up
	like "the UEFI-installed system's sshd answers" \
		"$(nsx sh -c "echo | busybox nc -w 2 $IP2 22" 2>&1)" 'SSH-2\.0-OpenSSH'
	ok "it network-booted first (iPXE asked droverd, which said exit)" \
		test "$(grep -c "bootfile-name.*/unattended/iPXE" "$d/dnsmasq.log")" -gt "$boots"
	like "iPXE returned to the firmware, which went on to the disk" \
		"$(tr -d '\r' <"$d/console2.log")" 'BdsDxe: failed to start Boot[0-9A-F]+ "UEFI PXEv4'
	like "OVMF booted the disk's removable-media loader" "$(tr -d '\r' <"$d/console2.log")" \
		'BdsDxe: starting Boot[0-9A-F]+ "UEFI Misc Device"'
	like "then GRUB booted it from the disk" "$(tr -d '\r' <"$d/console2.log")" \
		'Debian GNU/Linux \(vm2'
	cat >"$d/inventory2" <<EOF
vm2 ansible_host=$IP2 ansible_user=root ansible_ssh_private_key_file=$d/id ansible_ssh_known_hosts_file=$d/kh2
EOF
	cat >"$d/check2.yml" <<'EOF'
- hosts: vm2
  gather_facts: false
  tasks:
    - name: booted by UEFI
      command: test -d /sys/firmware/efi
    - name: its root file system, the second GPT partition
      command: grep ' / ' /proc/mounts
      register: rootfs
    - assert:
        that:
          - "'/dev/vda2' in rootfs.stdout"
    - name: the EFI system partition, mounted from fstab
      command: grep ' /boot/efi vfat ' /proc/mounts
    - name: with GRUB at the removable-media path
      command: test -s /boot/efi/EFI/BOOT/BOOTX64.EFI
EOF
	nsx "$top_builddir/drover" play "$d/check2.yml" -i "$d/inventory2" >"$d/play3.log" 2>&1
	ok "drover play verifies the UEFI install on it (recorded host key)" test $? -eq 0
	like "with every task ok" "$(cat "$d/play3.log")" \
		'vm2 +: ok=5 +changed=[0-9]+ +unreachable=0 +failed=0'
	phase uefi_playbook
fi

# --- raw disk images: one droverd builds (GPT, an empty EFI system partition, ext4 made by
# mkfs.ext4 -d: no loop device) installed on vm1 again under BIOS (streamed, checked,
# grown, extlinux behind the GPT MBR code); then vm2's installed UEFI disk as an operator's
# qcow2 "golden image", imported, installed on a third, UEFI, VM with its own GRUB.
kill "$QEMU_PID" 2>/dev/null
wait "$QEMU_PID" 2>/dev/null
# With cloud-init, when tests/run-all fetched its packages: vm1's first boot of it applies
# the #cloud-config user_data from the NoCloud seed.
ci=
image_cloudinit_debs_present "$IMAGE_CLOUDINIT_CACHE" && ci=cloud-init
drover image create deb12raw --format raw --suite bookworm ${ci:+--packages "$ci"} \
	--mirror http://198.18.0.1:8081/debian --trusted --exclude "$excl" --follow \
	>"$d/image-raw.log" 2>&1
ok "drover image create deb12raw --format raw builds it" test $? -eq 0
phase raw_image_built
like "a ready raw image" "$(drover image list 2>&1)" 'deb12raw +bookworm +ready .* raw'
nsx curl -s -o "$d/deb12raw.zst" "$U/images/deb12raw.raw.zst"
is "served at /images/deb12raw.raw.zst with the SHA-256 droverd gives" \
	"$(sha256sum <"$d/deb12raw.zst" | cut -d' ' -f1)" \
	"$(drover --json image show deb12raw | tr -d ' \n' | sed -n 's/.*"sha256":"\([0-9a-f]*\)".*/\1/p')"
zstd -dc "$d/deb12raw.zst" >"$d/deb12raw.raw"
sfdisk -d "$d/deb12raw.raw" >"$d/deb12raw.sfdisk" 2>&1
like "a GPT disk: the EFI system partition, then root" "$(tr '\n' ' ' <"$d/deb12raw.sfdisk")" \
	'label: gpt.*raw1 : .*type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B.*raw2 : .*type=0FC63DAF'
echo "# raw image: $(wc -c <"$d/deb12raw.zst") bytes compressed, $(wc -c <"$d/deb12raw.raw") raw"
rm -f "$d/deb12raw.raw" "$d/deb12raw.zst"

ok "vm1 takes the raw image (no post-install jobs this time)" drover host update vm1 \
	--image deb12raw -p post_install_playbook= -p post_install_profile=false
ok "drover host build vm1 again" drover host build vm1
: >"$d/console.log"
vm -boot n -no-reboot
i=0
while kill -0 "$QEMU_PID" 2>/dev/null && [ $i -lt 9000 ]; do
	sleep 0.1
	i=$((i + 1))
done
phase raw_install_vm_exited
ok "vm1 wrote the raw image and rebooted within 900 s" sh -c "! kill -0 $QEMU_PID 2>/dev/null"
like "streamed onto the disk, grown, extlinux behind the GPT MBR" \
	"$(tr -d '\r' <"$d/console.log" | tr '\n' ' ')" \
	'drover: writing .*/images/deb12raw\.raw\.zst to /dev/vda \(bios\).*drover: growing /dev/vda2.*installing the boot loader \(extlinux, BIOS\).*drover-installer: installed'
like "vm1 is installed again" "$(drover host list 2>&1)" 'vm1 +- +Debian 12 +installed +false'
drover host known-hosts vm1 >"$d/kh" 2>&1
vm -boot n
i=0
until nsx sh -c "echo | busybox nc -w 1 $IP 22" 2>/dev/null | grep -q SSH-2.0 ||
	[ $i -ge 600 ] || ! kill -0 "$QEMU_PID" 2>/dev/null; do
	sleep 1
	i=$((i + 1))
done
phase raw_sshd_up
if [ -n "$ci" ]; then
	like "the installer seeded cloud-init with the #cloud-config user_data" \
		"$(tr -d '\r' <"$d/console.log")" 'user_data: a NoCloud seed for cloud-init'
	# cloud-init's first boot: over SSH checked against the key built recorded, which
	# cloud-init (ssh module, init stage, before sshd) must have kept.
	vm_ssh "$IP" "$d/kh" 'timeout 900 cloud-init status --wait --long' >"$d/ci-status" 2>&1
	phase cloud_init_done
	like "cloud-init ran to completion (cloud-init status)" "$(cat "$d/ci-status")" \
		'^status: done$'
	like "from Drover's NoCloud seed" "$(cat "$d/ci-status")" \
		'DataSourceNoCloud \[seed=/var/lib/cloud/seed/nocloud\]'
	is "with no errors in any stage (result.json)" "$(vm_ssh "$IP" "$d/kh" \
		"python3 -c 'import json; print(json.load(open(\"/run/cloud-init/result.json\"))[\"v1\"][\"errors\"])'" 2>&1)" \
		"[]"
	is "write_files wrote its file" "$(vm_ssh "$IP" "$d/kh" cat /etc/drover-cloud-init 2>&1)" \
		"vm1 written by cloud-init"
	is "runcmd ran its command" "$(vm_ssh "$IP" "$d/kh" cat /root/runcmd-hostname 2>&1)" vm1
	is "the host key is still the one built recorded" \
		"$(vm_ssh "$IP" "$d/kh" cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub 2>&1)" \
		"$(grep ' ssh-ed25519 ' "$d/kh" | cut -d' ' -f2,3)"
else
	skip "cloud-init's first boot" "no cloud-init packages in $IMAGE_CLOUDINIT_CACHE (tests/run-all downloads them)"
fi
cat >"$d/check-raw.yml" <<'EOF'
- hosts: vm1
  gather_facts: false
  tasks:
    - name: its root file system, the raw image's second partition
      command: grep ' / ' /proc/mounts
      register: rootfs
    - assert:
        that:
          - "'/dev/vda2' in rootfs.stdout"
    - name: grown to the 3 GiB disk (the image's is under 2 GiB)
      shell: test "$(df -k --output=size / | tail -1)" -gt 2500000
    - name: its hostname
      command: cat /etc/hostname
      register: hn
    - assert:
        that:
          - hn.stdout == 'vm1'
EOF
nsx "$top_builddir/drover" play "$d/check-raw.yml" -i "$d/inventory" >"$d/play4.log" 2>&1
ok "drover play checks the raw install (its new recorded host key)" test $? -eq 0
like "with every task ok" "$(cat "$d/play4.log")" \
	'vm1 +: ok=5 +changed=[0-9]+ +unreachable=0 +failed=0'
phase raw_playbook

if [ -r "$ovmf" ] && [ -s "$d/disk2.img" ] && command -v qemu-img >/dev/null; then
	kill "$QEMU_PID" 2>/dev/null
	wait "$QEMU_PID" 2>/dev/null
	# vm2's disk as an operator's golden image (qcow2, converted back by droverd).
	qemu-img convert -f raw -O qcow2 "$d/disk2.img" "$d/golden.qcow2"
	drover image create golden --url "file://$d/golden.qcow2" --follow >"$d/image-golden.log" 2>&1
	ok "drover image create golden --url file://.../golden.qcow2 imports it" test $? -eq 0
	like "as a raw image" "$(drover image list 2>&1)" 'golden .* ready .* raw'
	MAC3=52:54:00:12:35:03
	IP3=198.18.0.33
	ok "a third host, UEFI, with the imported image" drover host create --name vm3 \
		--mac "$MAC3" --ip "$IP3" --operatingsystem "Debian 12" --provision-method image \
		--image golden -p "ssh_authorized_keys=$(cat "$d/id.pub")"
	ok "drover host build vm3" drover host build vm3
	dnsmasq_restart
	cp /usr/share/OVMF/OVMF_VARS_4M.fd "$d/vars3.fd"
	truncate -s 4G "$d/disk3.img"
	: >"$d/console3.log"
	vm_uefi 3 "$MAC3" -no-reboot
	i=0
	while kill -0 "$QEMU_PID" 2>/dev/null && [ $i -lt 9000 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	phase golden_install_vm_exited
	ok "vm3 wrote the imported image and rebooted within 900 s" \
		sh -c "! kill -0 $QEMU_PID 2>/dev/null"
	like "grown, its own boot loader kept" "$(tr -d '\r' <"$d/console3.log" | tr '\n' ' ')" \
		'drover: writing .*/images/golden\.raw\.zst to /dev/vda \(uefi\).*drover: growing /dev/vda2.*drover: running the finish template.*drover-installer: installed'
	like "vm3 is installed" "$(drover host list 2>&1)" 'vm3 +- +Debian 12 +installed +false'
	drover host known-hosts vm3 >"$d/kh3" 2>&1
	ok "with a host key of its own, not vm2's" \
		test "$(cut -d' ' -f2- "$d/kh3")" != "$(cut -d' ' -f2- "$d/kh2")"
	vm_uefi 3 "$MAC3"
	i=0
	until nsx sh -c "echo | busybox nc -w 1 $IP3 22" 2>/dev/null | grep -q SSH-2.0 ||
		[ $i -ge 600 ] || ! kill -0 "$QEMU_PID" 2>/dev/null; do
		sleep 1
		i=$((i + 1))
	done
	phase golden_sshd_up
	cat >"$d/inventory3" <<EOF
vm3 ansible_host=$IP3 ansible_user=root ansible_ssh_private_key_file=$d/id ansible_ssh_known_hosts_file=$d/kh3
EOF
	cat >"$d/check3.yml" <<'EOF'
- hosts: vm3
  gather_facts: false
  tasks:
    - name: its hostname
      command: cat /etc/hostname
      register: hn
    - assert:
        that:
          - hn.stdout == 'vm3'
    - name: booted by UEFI from its disk
      command: test -d /sys/firmware/efi
    - name: root grown to the 4 GiB disk
      shell: test "$(df -k --output=size / | tail -1)" -gt 3000000
EOF
	nsx "$top_builddir/drover" play "$d/check3.yml" -i "$d/inventory3" >"$d/play5.log" 2>&1
	ok "drover play checks vm3 (its own recorded host key)" test $? -eq 0
	like "with every task ok" "$(cat "$d/play5.log")" \
		'vm3 +: ok=4 +changed=[0-9]+ +unreachable=0 +failed=0'
	phase golden_playbook
else
	skip "the imported golden image on a UEFI VM" "no OVMF, UEFI disk or qemu-img"
fi

echo "# phases (s since start): $(tr '\n' ' ' <"$d/phases")"
if [ "$tap_failed" -ne 0 ]; then
	echo "# --- console"; tail -40 "$d/console.log" | sed 's/^/# /'
	echo "# --- image build"; tail -15 "$d/image.log" | sed 's/^/# /'
	echo "# --- droverd"; tail -15 "$d/droverd.log" | sed 's/^/# /'
	echo "# --- dnsmasq"; tail -8 "$d/dnsmasq.log" | sed 's/^/# /'
	echo "# --- play"; cat "$d/play.log" 2>/dev/null | tail -15 | sed 's/^/# /'
	[ -f "$d/console2.log" ] && { echo "# --- UEFI console"; tail -40 "$d/console2.log" | sed 's/^/# /'; }
	[ -f "$d/play3.log" ] && { echo "# --- UEFI play"; tail -15 "$d/play3.log" | sed 's/^/# /'; }
	for f in console3.log image-raw.log image-golden.log play4.log play5.log ci-status \
		profile-job.log packages; do
		[ -f "$d/$f" ] && { echo "# --- $f"; tail -25 "$d/$f" | sed 's/^/# /'; }
	done
	echo "# --- qemu"; tail -5 "$d/qemu.log" | sed 's/^/# /'
fi
done_testing
