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
# (apt-get update on the installed host), and its package profile, uploaded after built
# (post_install_profile), is what dpkg says in it (`drover host packages`). The raw image
# carries cloud-init: vm1's first boot of it applies a #cloud-config user_data from the
# NoCloud seed (checked over SSH with the recorded host key, which cloud-init kept).
# The scaffolding (namespace, droverd, dnsmasq, qemu, waits) is tests/lib/pxe_vm.sh.
# Prints the time of each phase.
# Run time on 2 cores under TCG: about 10 minutes when the machine is otherwise idle (image
# build ~6 min, PXE + install ~1.5 min, reboot to sshd ~40 s); 19 min at a load of 24.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/image.sh"
. "$top_srcdir/tests/lib/pxe_vm.sh"
: "${top_builddir:?}"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespace, tap device, mmdebstrap)"
once_per_run
m=$(pxe_vm_missing qemu-system-x86_64 dnsmasq busybox ip ssh-keygen curl cpio gzip mmdebstrap \
	gpg python3 apt-ftparchive nginx sfdisk mke2fs modprobe mkfs.vfat zstd blkid resize2fs) &&
	skip_all "$m is not installed"
image_debs_present "$IMAGE_DEB_CACHE" ||
	skip_all "no image packages in $IMAGE_DEB_CACHE (tests/run-all downloads them)"
kver=$(ls /lib/modules | sort -V | tail -1)
[ -r "/boot/vmlinuz-$kver" ] || skip_all "no Debian kernel in /boot (linux-image-amd64)"

d=$TAP_TMP
PXE_DIR=$d
MAC=52:54:00:12:35:01
IP=198.18.0.31
NGINX_PID=
PXE_VM_PIDVARS="$PXE_VM_PIDVARS NGINX_PID"
T0=$(date +%s)
: >"$d/phases"
# phase NAME: seconds since the test started, printed at the end.
phase() { echo "$1 $(($(date +%s) - T0))" >>"$d/phases"; }
# seen NAME: phase NAME, unless it was seen before.
seen() { grep -q "^$1 " "$d/phases" || phase "$1"; }

pxe_vm_net drover-pxei fd00:d0:2: || skip_all "cannot create a network namespace"
state=$PXE_STATE
root=$PXE_ROOT
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
image_repo_serve "$d/repo" "$PXE_NS" 198.18.0.1:8081
NGINX_PID=$IMAGE_NGINX_PID
ok "nginx serves it" nsx curl -sf -o /dev/null http://198.18.0.1:8081/debian/dists/bookworm/Release

# --- droverd in the namespace.
ok "droverd is ready in the namespace, drover logged in" pxe_vm_droverd
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
# Its boot mode is Static: vm1, on it, gets its address from its own configuration, not
# from DHCP (vm2 and vm3 are on no subnet: DHCP).
ok "a subnet booting UEFI through snponly.efi" drover subnet create --name e2e \
	--network 198.18.0.0 --mask 255.255.255.0 --from 198.18.0.100 --to 198.18.0.200 \
	--pxe-loader 'iPXE Chain UEFI' --boot-mode Static
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
	--subnet e2e --operatingsystem "Debian 12" --provision-method image --image deb12 \
	-p "ssh_authorized_keys=$(cat "$d/id.pub"; drover settings ssh-key)" -p ansible_user=root \
	-p "ansible_ssh_private_key_file=$d/id" -p "post_install_playbook=$d/post.yml" \
	-p post_install_profile=true
like "its subnet is Static: the installed system gets vm1's address itself" \
	"$(drover template preview --host vm1 --kind provision 2>&1 | tr '\n' ' ')" \
	"MACAddress=$MAC +\[Network\] Address=$IP/24 "
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
: >"$d/dnsmasq.log"
ok "dnsmasq runs" pxe_vm_dnsmasq "$d/dnsmasq.log"
dnsmasq_restart() {
	pxe_vm_dnsmasq_stop
	pxe_vm_dnsmasq "$d/dnsmasq.log"
}

# vm ARGS...: the BIOS VM with its disk and e1000 NIC (qemu's iPXE ROM), serial console
# to $d/console.log (appended).
vm() {
	pxe_vm_qemu -m 768 -chardev "file,id=s0,path=$d/console.log,append=on" \
		-serial chardev:s0 -drive if=virtio,format=raw,file="$d/disk.img" \
		-device e1000,netdev=n0,mac="$MAC" "$@"
}
# vm_uefi N MAC ARGS...: OVMF VM N (disk$N.img, vars$N.fd, console$N.log), booting the
# network first (virtio-net with no iPXE option ROM: the firmware's own PXE), then its disk.
vm_uefi() {
	n=$1 mac=$2
	shift 2
	pxe_vm_qemu -m 768 -chardev "file,id=s0,path=$d/console$n.log,append=on" \
		-serial chardev:s0 -drive if=pflash,format=raw,readonly=on,file="$ovmf" \
		-drive if=pflash,format=raw,file="$d/vars$n.fd" \
		-drive if=none,id=d0,format=raw,file="$d/disk$n.img" \
		-device virtio-blk-pci,drive=d0,bootindex=2 \
		-device virtio-net-pci,netdev=n0,mac="$mac",romfile=,bootindex=1 "$@"
}
# install_wait HOST CONSOLE PREFIX: the install boot of HOST's VM (started with -no-reboot:
# it ends when the installer reboots), 900 s at most; the phases the console and droverd's
# log show from now on are named PREFIX<phase>. 0 if the VM ended.
install_wait() {
	l0=$(wc -l <"$d/droverd.log")
	pxe_vm_wait_exit 900 install_phases "$@"
	r=$?
	seen "${3}install_vm_exited"
	return $r
}
# install_phases HOST CONSOLE PREFIX: one poll of install_wait.
install_phases() {
	grep -q 'drover-installer: up' "$2" && seen "${3}installer_up"
	grep -q 'drover: writing' "$2" && seen "${3}image_writing"
	grep -q 'drover: installing the boot loader' "$2" && seen "${3}boot_loader"
	tail -n +$((l0 + 1)) "$d/droverd.log" | grep -q "host $1 built" && seen "${3}built"
	return 0
}
ovmf=/usr/share/OVMF/OVMF_CODE_4M.fd
truncate -s 3G "$d/disk.img"
: >"$d/console.log"
# The first boot: PXE, the installer, the image; it reboots when done (-no-reboot: exits).
vm -boot n -no-reboot
ok "the VM installed itself and rebooted within 900 s" install_wait vm1 "$d/console.log" ""
like "the installer reported each step" "$(tr -d '\r' <"$d/console.log" | tr '\n' ' ')" \
	'drover: writing .*drover: installing the boot loader.*drover-installer: installed'
like "vm1 is installed" "$(drover host list 2>&1)" 'vm1 +- +Debian 12 +installed +false'
drover host known-hosts vm1 >"$d/kh" 2>&1
like "its new ed25519 host key is recorded" "$(cat "$d/kh")" "^vm1,$IP ssh-ed25519 "
like "iPXE now boots it from its disk" "$(nsx curl -s "$U/unattended/iPXE?mac=$MAC")" 'sanboot'

# --- the second boot: iPXE hands over to the disk; extlinux, Debian, sshd.
# disk_boot IP PHASE HOW VM...: the installed VM's next boot (VM... starts it): its sshd
# answers at IP within 600 s (phase PHASE), after it network-booted (iPXE asked droverd,
# which said HOW).
disk_boot() {
	ip=$1 ph=$2 how=$3
	shift 3
	b=$(grep -c "bootfile-name.*/unattended/iPXE" "$d/dnsmasq.log")
	"$@"
	pxe_vm_wait_ssh "$ip" 600
	phase "$ph"
	like "the installed system's sshd answers" \
		"$(nsx sh -c "echo | busybox nc -w 2 $ip 22" 2>&1)" 'SSH-2\.0-OpenSSH'
	ok "it network-booted first (iPXE asked droverd, which said $how)" \
		test "$(grep -c "bootfile-name.*/unattended/iPXE" "$d/dnsmasq.log")" -gt "$b"
}
disk_boot "$IP" sshd_up sanboot vm -boot n
like "into Debian 12" "$(cat "$d/console.log")" 'Debian GNU/Linux 12'

# --- the post-install playbook droverd queued at built: it waited for sshd, then ran on
# vm1 through the host key droverd recorded.
# built_job KIND LOG DESC: the first job of KIND (the one built queued) succeeds, its
# output in LOG.
built_job() {
	j=$(drover --json job list --kind "$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)["results"]
print(min(j["id"] for j in r) if r else "")')
	ok "$3" test -n "$j"
	drover job follow "${j:-0}" >"$2" 2>&1
	ok "which succeeds on vm1" test $? -eq 0
}
built_job playbook "$d/post.log" "built queued the post-install playbook"
like "user_data ran in it, and its apt trusts the mirror" "$(tr -d '\n' <"$d/post.log")" \
	'"recap","hosts":\{"vm1":\{"ok":4,"changed":[0-9]+,"unreachable":0,"failed":0'
phase post_install_playbook

# --- the package profile droverd queued at built (post_install_profile): its play waited
# for sshd too, then remote execution stored vm1's dpkg list.
# vm1_ssh CMD...: CMD on vm1 as root, its host key checked against the one recorded.
vm1_ssh() { pxe_vm_ssh "$IP" "$d/kh" "$d/id" "$@"; }
built_job remote_execution "$d/profile-job.log" "built queued the package-profile upload"
drover host packages vm1 >"$d/packages" 2>&1
v=$(vm1_ssh "dpkg-query -W -f='\${Version}' openssh-server" 2>&1)
like "drover host packages vm1 lists openssh-server at the version dpkg gives in vm1 ($v)" \
	"$(cat "$d/packages")" "^openssh-server +$(printf '%s' "$v" | sed 's/[.+]/\\&/g') +amd64$"
is "and as many packages as dpkg has installed there" "$(tail -n +2 "$d/packages" | grep -c .)" \
	"$(vm1_ssh "dpkg-query -W -f='\${db:Status-Abbrev}\\n'" | grep -c '^[ih]i')"
phase package_profile
# The Static subnet: networkd's only file in vm1 gives its address and no DHCP, so the
# address SSH reached vm1 at is the one that file set.
net=$(vm1_ssh 'cat /etc/systemd/network/*.network' 2>&1)
like "vm1's network file has its address from the Static subnet" "$net" "^Address=$IP/24$"
ok "and no DHCP" sh -c "! printf '%s\n' '$net' | grep -q '^DHCP='"

# --- a playbook on it, verifying the recorded host key.
# check_play HOST IP KNOWN_HOSTS PLAYBOOK OKS DESC: drover play runs PLAYBOOK on HOST at IP
# as root (its host key checked against KNOWN_HOSTS: inventory $d/inventory-HOST), each of
# its OKS tasks ok; the output in PLAYBOOK.log.
check_play() {
	echo "$1 ansible_host=$2 ansible_user=root ansible_ssh_private_key_file=$d/id" \
		"ansible_ssh_known_hosts_file=$3" >"$d/inventory-$1"
	nsx "$top_builddir/drover" play "$4" -i "$d/inventory-$1" >"$4.log" 2>&1
	ok "$6" test $? -eq 0
	like "with every task ok" "$(cat "$4.log")" \
		"$1 +: ok=$5 +changed=[0-9]+ +unreachable=0 +failed=0"
}
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
check_play vm1 "$IP" "$d/kh" "$d/check.yml" 5 "drover play runs the playbook on it"
phase playbook
ssh-keygen -q -t ed25519 -N '' -C other -f "$d/other"
echo "$IP $(cut -d' ' -f1,2 "$d/other.pub")" >"$d/kh-wrong"
sed "s|$d/kh\$|$d/kh-wrong|" "$d/inventory-vm1" >"$d/inventory-wrong"
nsx "$top_builddir/drover" play "$d/check.yml" -i "$d/inventory-wrong" >"$d/play2.log" 2>&1
is "a wrong recorded key: the host is unreachable (exit 4)" "$?" 4
like "because its key does not match" "$(cat "$d/play2.log")" '[Hh]ost key|mismatch|changed'

# --- UEFI: a second VM under OVMF (virtio-net with no iPXE option ROM, so the firmware's
# own PXE asks and gets snponly.efi). The installer sees /sys/firmware/efi and makes a GPT
# disk with an EFI system partition and GRUB at EFI/BOOT/BOOTX64.EFI; at the next boot
# iPXE exits with an error back to the firmware, which tries its next boot options (PXE
# over IPv6, HTTP boot: iPXE again, which exits again) and then boots the disk.
if [ ! -r "$ovmf" ] || [ ! -r /usr/share/OVMF/OVMF_VARS_4M.fd ]; then
	skip "the UEFI VM" "$ovmf missing (ovmf package)"
else
	pxe_vm_stop
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
	vm_uefi 2 "$MAC2" -no-reboot
	ok "the UEFI VM installed itself and rebooted within 900 s" \
		install_wait vm2 "$d/console2.log" uefi_
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
	disk_boot "$IP2" uefi_sshd_up exit vm_uefi 2 "$MAC2"
	like "iPXE returned to the firmware, which went on to the disk" \
		"$(tr -d '\r' <"$d/console2.log")" 'BdsDxe: failed to start Boot[0-9A-F]+ "UEFI PXEv4'
	like "OVMF booted the disk's removable-media loader" "$(tr -d '\r' <"$d/console2.log")" \
		'BdsDxe: starting Boot[0-9A-F]+ "UEFI Misc Device"'
	like "then GRUB booted it from the disk" "$(tr -d '\r' <"$d/console2.log")" \
		'Debian GNU/Linux \(vm2'
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
	check_play vm2 "$IP2" "$d/kh2" "$d/check2.yml" 5 \
		"drover play verifies the UEFI install on it (recorded host key)"
	phase uefi_playbook
fi

# --- raw disk images: one droverd builds (GPT, an empty EFI system partition, ext4 made by
# mkfs.ext4 -d: no loop device) installed on vm1 again under BIOS (streamed, checked,
# grown, extlinux behind the GPT MBR code); then vm2's installed UEFI disk as an operator's
# qcow2 "golden image", imported, installed on a third, UEFI, VM with its own GRUB.
pxe_vm_stop
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

# (-p replaces the host's parameters: all of them, without the post-install jobs.)
ok "vm1 takes the raw image (no post-install jobs this time)" drover host update vm1 \
	--image deb12raw -p "ssh_authorized_keys=$(cat "$d/id.pub")" -p ansible_user=root
ok "drover host build vm1 again" drover host build vm1
: >"$d/console.log"
vm -boot n -no-reboot
ok "vm1 wrote the raw image and rebooted within 900 s" install_wait vm1 "$d/console.log" raw_
like "streamed onto the disk, grown, extlinux behind the GPT MBR" \
	"$(tr -d '\r' <"$d/console.log" | tr '\n' ' ')" \
	'drover: writing .*/images/deb12raw\.raw\.zst to /dev/vda \(bios\).*drover: growing /dev/vda2.*installing the boot loader \(extlinux, BIOS\).*drover-installer: installed'
like "vm1 is installed again" "$(drover host list 2>&1)" 'vm1 +- +Debian 12 +installed +false'
drover host known-hosts vm1 >"$d/kh" 2>&1
disk_boot "$IP" raw_sshd_up sanboot vm -boot n
if [ -n "$ci" ]; then
	like "the installer seeded cloud-init with the #cloud-config user_data" \
		"$(tr -d '\r' <"$d/console.log")" 'user_data: a NoCloud seed for cloud-init'
	# cloud-init's first boot: over SSH checked against the key built recorded, which
	# cloud-init (ssh module, init stage, before sshd) must have kept.
	vm1_ssh 'timeout 900 cloud-init status --wait --long' >"$d/ci-status" 2>&1
	phase cloud_init_done
	like "cloud-init ran to completion (cloud-init status)" "$(cat "$d/ci-status")" \
		'^status: done$'
	like "from Drover's NoCloud seed" "$(cat "$d/ci-status")" \
		'DataSourceNoCloud \[seed=/var/lib/cloud/seed/nocloud\]'
	is "with no errors in any stage (result.json)" "$(vm1_ssh \
		"python3 -c 'import json; print(json.load(open(\"/run/cloud-init/result.json\"))[\"v1\"][\"errors\"])'" 2>&1)" \
		"[]"
	is "write_files wrote its file" "$(vm1_ssh cat /etc/drover-cloud-init 2>&1)" \
		"vm1 written by cloud-init"
	is "runcmd ran its command" "$(vm1_ssh cat /root/runcmd-hostname 2>&1)" vm1
	is "the host keys are still those built recorded, and no other (a fresh SSH connection)" \
		"$(vm1_ssh 'cat /etc/ssh/ssh_host_*_key.pub' 2>&1 | cut -d' ' -f1,2 | sort)" \
		"$(cut -d' ' -f2,3 "$d/kh" | sort)"
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
check_play vm1 "$IP" "$d/kh" "$d/check-raw.yml" 5 \
	"drover play checks the raw install (its new recorded host key)"
phase raw_playbook

if [ -r "$ovmf" ] && [ -s "$d/disk2.img" ] && command -v qemu-img >/dev/null; then
	pxe_vm_stop
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
	ok "vm3 wrote the imported image and rebooted within 900 s" \
		install_wait vm3 "$d/console3.log" golden_
	like "grown, its own boot loader kept" "$(tr -d '\r' <"$d/console3.log" | tr '\n' ' ')" \
		'drover: writing .*/images/golden\.raw\.zst to /dev/vda \(uefi\).*drover: growing /dev/vda2.*drover: running the finish template.*drover-installer: installed'
	like "vm3 is installed" "$(drover host list 2>&1)" 'vm3 +- +Debian 12 +installed +false'
	drover host known-hosts vm3 >"$d/kh3" 2>&1
	ok "with a host key of its own, not vm2's" \
		test "$(cut -d' ' -f2- "$d/kh3")" != "$(cut -d' ' -f2- "$d/kh2")"
	disk_boot "$IP3" golden_sshd_up exit vm_uefi 3 "$MAC3"
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
	check_play vm3 "$IP3" "$d/kh3" "$d/check3.yml" 4 "drover play checks vm3 (its own recorded host key)"
	phase golden_playbook
else
	skip "the imported golden image on a UEFI VM" "no OVMF, UEFI disk or qemu-img"
fi

echo "# phases (s since start): $(tr '\n' ' ' <"$d/phases")"
if [ "$tap_failed" -ne 0 ]; then
	pxe_vm_tails "$d/console.log" "$d/image.log" "$d/droverd.log" "$d/dnsmasq.log" \
		"$d/check.yml.log" "$d/play2.log" "$d/console2.log" "$d/check2.yml.log" \
		"$d/console3.log" "$d/image-raw.log" "$d/image-golden.log" "$d/check-raw.yml.log" \
		"$d/check3.yml.log" "$d/ci-status" \
		"$d/profile-job.log" "$d/packages" "$d/qemu.log"
fi
done_testing
