#!/bin/sh
# installer.sh OUTDIR [KERNEL_VERSION] - Drover's installer for the image provision method,
# made from this machine's Debian packages: OUTDIR/vmlinuz (linux-image-amd64) and
# OUTDIR/initrd.img, a gzip'd cpio of busybox-static, sfdisk (fdisk), blkid, mke2fs, e2fsck and
# resize2fs (e2fsprogs), mkfs.vfat (dosfstools), zstd, GNU tar with their libraries, and the
# kernel's modules for common disks, NICs, ext4 and vfat.
# Its /init brings the network up with DHCP, fetches url= from the kernel command line
# (the host's provision template) and runs it. droverd runs this as the installer_build job.
set -eu
out=$1
kver=${2:-}
PATH=$PATH:/usr/sbin:/sbin
if [ -z "$kver" ]; then
	for k in $(ls /lib/modules 2>/dev/null | sort -V); do
		[ -r "/boot/vmlinuz-$k" ] && kver=$k
	done
fi
[ -n "$kver" ] && [ -r "/boot/vmlinuz-$kver" ] ||
	{ echo "installer: no kernel in /boot (install linux-image-amd64)"; exit 1; }
bb=$(command -v busybox) || { echo "installer: busybox-static is not installed"; exit 1; }
if ldd "$bb" >/dev/null 2>&1; then
	echo "installer: $bb is not static (install busybox-static)"
	exit 1
fi
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
mkdir -p "$w/bin" "$w/sbin" "$w/etc" "$w/proc" "$w/sys" "$w/dev" "$w/tmp" "$w/run" \
	"$w/target" "$w/lib/drover-modules"
cp "$bb" "$w/bin/busybox"
# Programs busybox lacks or does too little of, with the libraries they link.
for p in sfdisk blkid mke2fs e2fsck resize2fs mkfs.vfat zstd tar; do
	f=$(command -v "$p") || {
		case $p in mkfs.vfat) pkg=dosfstools ;; sfdisk) pkg=fdisk ;; zstd | tar) pkg=$p ;;
		blkid) pkg=util-linux ;;
		*) pkg=e2fsprogs ;; esac
		echo "installer: $p is not installed (install $pkg)"
		exit 1
	}
	cp -L "$f" "$w/sbin/$p"
	ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
		while read -r lib; do
			mkdir -p "$w$(dirname "$lib")"
			cp -L "$lib" "$w$lib"
		done
done
ln -s mke2fs "$w/sbin/mkfs.ext4"
[ -r /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$w/etc/"
# Modules in load order (modprobe resolves the dependencies; built-in ones are skipped).
mods="virtio_pci virtio_blk virtio_scsi virtio_net ahci ata_piix sd_mod nvme e1000 e1000e
	igb ixgbe r8169 tg3 bnx2 ext4 vfat nls_cp437 nls_ascii nls_utf8 nls_iso8859-1"
: >"$w/etc/modules"
for m in $mods; do
	modprobe -S "$kver" --show-depends "$m" 2>/dev/null | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
	b=$(basename "$ko")
	case $ko in
	*.xz) xz -dc "$ko" >"$w/lib/drover-modules/${b%.xz}"; b=${b%.xz} ;;
	*.zst) zstd -qdc "$ko" >"$w/lib/drover-modules/${b%.zst}"; b=${b%.zst} ;;
	*) cp "$ko" "$w/lib/drover-modules/$b" ;;
	esac
	echo "$b" >>"$w/etc/modules"
done
cat >"$w/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "drover-installer: up"
while read -r m; do insmod "/lib/drover-modules/$m" 2>/dev/null; done < /etc/modules
ip link set lo up
cat > /tmp/dhcp.sh <<'S'
#!/bin/sh
[ "$1" = bound ] || exit 0
ip addr add "$ip/${mask:-24}" dev "$interface"
[ -n "${router:-}" ] && ip route add default via "${router%% *}"
: > /etc/resolv.conf
for d in ${dns:-}; do echo "nameserver $d" >> /etc/resolv.conf; done
exit 0
S
chmod +x /tmp/dhcp.sh
for a in $(cat /proc/cmdline); do
	case $a in
	url=*) url=${a#url=} ;;
	drover_mac=*) mac=${a#drover_mac=} ;;
	esac
done
# DHCP on the NIC with the MAC iPXE booted from, else on each NIC in turn.
up=
for n in /sys/class/net/*; do
	i=${n##*/}
	[ "$i" = lo ] && continue
	[ -n "${mac:-}" ] && [ "$(cat "$n/address")" != "$mac" ] && continue
	ip link set "$i" up
	if udhcpc -i "$i" -n -q -t 10 -s /tmp/dhcp.sh; then up=$i; break; fi
done
if [ -z "$up" ]; then
	echo "drover-installer: no network"
elif [ -z "${url:-}" ]; then
	echo "drover-installer: no url= on the kernel command line"
else
	echo "drover-installer: provision from $url"
	if wget -q -O /tmp/provision "$url" && sh /tmp/provision; then
		echo "drover-installer: installed, rebooting"
		sync
		reboot -f
	fi
	echo "drover-installer: provisioning failed"
fi
sleep 5
poweroff -f
INIT
chmod 755 "$w/init"
mkdir -p "$out"
(cd "$w" && find . | cpio -o -H newc 2>/dev/null | gzip -6) >"$out/initrd.img.new"
cp "/boot/vmlinuz-$kver" "$out/vmlinuz.new"
mv "$out/initrd.img.new" "$out/initrd.img"
mv "$out/vmlinuz.new" "$out/vmlinuz"
echo "installer: kernel $kver, $(wc -l <"$w/etc/modules") modules," \
	"initrd $(wc -c <"$out/initrd.img") bytes in $out"
