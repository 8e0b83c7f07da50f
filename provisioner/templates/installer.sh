#!/bin/sh
# installer.sh OUTDIR [KERNEL_VERSION] - Drover's installer for the image provision method,
# made from this machine's Debian packages: OUTDIR/vmlinuz (linux-image-amd64) and
# OUTDIR/initrd.img, a gzip'd cpio of busybox-static, sfdisk (fdisk), blkid, mke2fs, e2fsck,
# resize2fs and tune2fs (e2fsprogs), mkfs.vfat and fatlabel (dosfstools), zstd, GNU tar with
# their libraries, and the kernel's modules for common disks, NICs, ext4, vfat and efivarfs.
# Its /init brings the network up with DHCP, fetches url= from the kernel command line
# (the host's provision template) and runs it. Without url= but with drover_discovery=URL
# drover_mac=MAC (provisioner/discovery.c prov_discovery_cmdline) it is the discovery image:
# it posts the machine's facts as JSON to URL and powers off. droverd runs this as the
# installer_build job.
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
trap 'rm -rf "$w" "$out/initrd.img.new.$$" "$out/vmlinuz.new.$$"' EXIT
mkdir -p "$w/bin" "$w/sbin" "$w/etc" "$w/proc" "$w/sys" "$w/dev" "$w/tmp" "$w/run" \
	"$w/target" "$w/lib/drover-modules"
cp "$bb" "$w/bin/busybox"
# Programs busybox lacks or does too little of, with the libraries they link.
for p in sfdisk blkid mke2fs e2fsck resize2fs tune2fs mkfs.vfat fatlabel zstd tar; do
	f=$(command -v "$p") || {
		case $p in mkfs.vfat | fatlabel) pkg=dosfstools ;; sfdisk) pkg=fdisk ;; zstd | tar) pkg=$p ;;
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
	igb ixgbe r8169 tg3 bnx2 ext4 vfat efivarfs nls_cp437 nls_ascii nls_utf8 nls_iso8859-1"
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
# Discovery. Every value read from the machine (DMI strings, disk models) is the machine's
# to choose: js keeps printable ASCII only, at most 128 bytes, and escapes \ and ".
js() {
	printf '"%s"' "$(printf '%s' "$1" | tr -cd ' -~' | head -c 128 |
		sed 's/^ *//; s/ *$//; s/[\\"]/\\&/g')"
}
# A file's contents as a JSON string, null when it is unreadable or blank.
jf() {
	v=$(head -c 512 "$1" 2>/dev/null | tr -cd ' -~' | sed 's/^ *//; s/ *$//')
	if [ -n "$v" ]; then js "$v"; else printf null; fi
}
# A decimal number, null when it is not one.
jn() { case $1 in '' | *[!0-9]*) printf null ;; *) printf '%s' "$1" ;; esac; }
# The facts of this machine as one JSON object on stdout; $1 is the NIC that has the network.
facts() {
	[ -n "${mac:-}" ] || mac=$(cat "/sys/class/net/$1/address" 2>/dev/null)
	printf '{"mac": %s' "$(js "$mac")"
	printf ', "cpus": %s' "$(jn "$(grep -c '^processor' /proc/cpuinfo)")"
	printf ', "cpu_model": %s' "$(js "$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -1)")"
	kb=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)
	printf ', "memory_mb": %s' "$(jn "$((${kb:-0} / 1024))")"
	sb=null
	if [ -d /sys/firmware/efi ]; then
		printf ', "firmware": "uefi"'
		mount -t efivarfs efivarfs /sys/firmware/efi/efivars 2>/dev/null
		# 4 bytes of attributes, then the value: 1 when Secure Boot is on (read through a
		# pipe: efivarfs files cannot seek).
		case $(cat /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c \
			2>/dev/null | od -An -tu1 -j4 -N1 | tr -d ' ') in
		1) sb=true ;;
		0) sb=false ;;
		*) # No such variable (firmware without Secure Boot), or no efivarfs.
			if dmesg | grep -q 'secureboot: Secure boot enabled'; then
				sb=true
			elif dmesg | grep -q 'secureboot: Secure boot disabled' ||
				grep -q ' efivarfs ' /proc/mounts; then
				sb=false
			fi ;;
		esac
	else
		printf ', "firmware": "bios"'
		sb=false
	fi
	printf ', "secure_boot": %s' "$sb"
	d=/sys/class/dmi/id
	printf ', "manufacturer": %s, "product": %s, "serial": %s' "$(jf $d/sys_vendor)" \
		"$(jf $d/product_name)" "$(jf $d/product_serial)"
	printf ', "bios_vendor": %s, "bios_version": %s' "$(jf $d/bios_vendor)" \
		"$(jf $d/bios_version)"
	printf ', "disks": ['
	sep=
	for b in /sys/block/*; do
		n=${b##*/}
		case $n in loop* | ram* | zram* | sr* | fd* | dm-* | md*) continue ;; esac
		sectors=$(cat "$b/size" 2>/dev/null)
		serial=$(cat "$b/serial" "$b/device/serial" 2>/dev/null | head -1)
		[ -z "$serial" ] && [ -r "$b/device/vpd_pg80" ] &&
			serial=$(tail -c +5 "$b/device/vpd_pg80" | tr -cd ' -~')
		printf '%s{"name": %s, "size_bytes": %s, "model": %s, "serial": %s, "rotational": %s}' \
			"$sep" "$(js "$n")" "$(jn "$((${sectors:-0} * 512))")" "$(jf "$b/device/model")" \
			"$(if [ -n "$serial" ]; then js "$serial"; else printf null; fi)" \
			"$([ "$(cat "$b/queue/rotational" 2>/dev/null)" = 1 ] && echo true || echo false)"
		sep=', '
	done
	printf '], "nics": ['
	sep=
	for n in /sys/class/net/*; do
		i=${n##*/}
		[ "$i" = lo ] && continue
		printf '%s{"name": %s, "mac": %s, "link": %s, "speed_mbps": %s, "ip": %s}' "$sep" \
			"$(js "$i")" "$(jf "$n/address")" \
			"$([ "$(cat "$n/carrier" 2>/dev/null)" = 1 ] && echo true || echo false)" \
			"$(jn "$(cat "$n/speed" 2>/dev/null)")" \
			"$(a=$(ip -4 -o addr show dev "$i" | sed -n 's/.* inet \([0-9.]*\).*/\1/p' | head -1)
			if [ -n "$a" ]; then js "$a"; else printf null; fi)"
		sep=', '
	done
	printf ']}\n'
}
# Post the facts to $disc: five tries, a little longer apart each time.
discover() {
	if [ -z "$1" ]; then
		echo "drover-discovery: no network"
		return 1
	fi
	# Every NIC up, so that its link (carrier) shows.
	for n in /sys/class/net/*; do ip link set "${n##*/}" up 2>/dev/null; done
	sleep 2
	facts "$1" >/tmp/facts
	echo "drover-discovery: facts: $(cat /tmp/facts)"
	t=1
	while [ $t -le 5 ]; do
		if wget -q -O /tmp/answer --header 'Content-Type: application/json' \
			--post-file /tmp/facts "$disc"; then
			echo "drover-discovery: posted the facts of $mac to $disc, powering off"
			return 0
		fi
		echo "drover-discovery: posting to $disc failed (try $t of 5)"
		sleep $((t * 10))
		t=$((t + 1))
	done
	return 1
}
for a in $(cat /proc/cmdline); do
	case $a in
	url=*) url=${a#url=} ;;
	drover_mac=*) mac=${a#drover_mac=} ;;
	drover_discovery=*) disc=${a#drover_discovery=} ;;
	esac
done
[ -n "${url:-}" ] && disc=""
# DHCP on the NIC with the MAC iPXE booted from, else on each NIC in turn.
up=
for n in /sys/class/net/*; do
	i=${n##*/}
	[ "$i" = lo ] && continue
	[ -n "${mac:-}" ] && [ "$(cat "$n/address")" != "$mac" ] && continue
	ip link set "$i" up
	if udhcpc -i "$i" -n -q -t 10 -s /tmp/dhcp.sh; then up=$i; break; fi
done
if [ -n "${disc:-}" ]; then
	discover "$up"
	sleep 5
	poweroff -f
fi
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
# Each build's own temporary names (two builds may run at once); the last one's files win.
(cd "$w" && find . | cpio -o -H newc 2>/dev/null | gzip -6) >"$out/initrd.img.new.$$"
cp "/boot/vmlinuz-$kver" "$out/vmlinuz.new.$$"
mv "$out/initrd.img.new.$$" "$out/initrd.img"
mv "$out/vmlinuz.new.$$" "$out/vmlinuz"
echo "installer: kernel $kver, $(wc -l <"$w/etc/modules") modules," \
	"initrd $(wc -c <"$out/initrd.img") bytes in $out"
