#!/bin/sh
# rawdisk.sh build ROOTDIR OUT - a raw disk image of the root file system tree ROOTDIR (what
#   mmdebstrap made), with no loop device: GPT with an EFI system partition (FAT32, empty:
#   the installer puts GRUB there on UEFI hosts) and an ext4 root file system made by
#   mkfs.ext4 -d at its offset in the file (without 64bit: extlinux boots it on BIOS hosts);
#   written zstd-compressed to OUT.
# rawdisk.sh import SRC OUT - an operator's disk image (raw, raw.xz or raw.zst; qcow2 is
#   converted with qemu-img) as zstd-compressed raw in OUT.
# droverd runs this in the image_build job; OUT is a .part file it renames when it is done.
set -eu
PATH=$PATH:/usr/sbin:/sbin
esp_mib=256
die() {
	echo "rawdisk: $*" >&2
	exit 1
}
need() {
	command -v "$1" >/dev/null 2>&1 || die "$1 is not installed (install $2)"
}
# hex FILE N: the first N bytes of FILE (or stdin with -) as hex.
hex() {
	if [ "$1" = - ]; then head -c "$2"; else head -c "$2" "$1"; fi | od -An -tx1 | tr -d ' \n'
}
need zstd zstd
case ${1:-} in
build)
	[ $# -eq 3 ] || die "usage: rawdisk.sh build ROOTDIR OUT"
	dir=$2 out=$3
	need sfdisk fdisk
	need mkfs.ext4 e2fsprogs
	need mkfs.vfat dosfstools
	[ -d "$dir/boot" ] || die "$dir is not a root file system (no /boot)"
	raw=$out.raw
	trap 'rm -f "$raw"' EXIT
	# The root file system: what the tree holds and a quarter more (at least 256 MiB
	# free); the installer grows it to the disk.
	used=$(du -smx "$dir" | cut -f1)
	root_mib=$((used + used / 4 + 256))
	total=$((1 + esp_mib + root_mib + 1))
	rm -f "$raw"
	truncate -s "${total}M" "$raw"
	printf 'label: gpt\nstart=2048, size=%dMiB, type=U, name=EFI\ntype=L, name=root\n' \
		"$esp_mib" | sfdisk -q "$raw"
	# mkfs.vfat writes a file system the size of its file: made apart, copied in.
	rm -f "$raw.esp"
	mkfs.vfat -C -F 32 -n EFI "$raw.esp" $((esp_mib * 1024)) >/dev/null
	dd if="$raw.esp" of="$raw" bs=1M seek=1 conv=notrunc status=none
	rm -f "$raw.esp"
	start=$(sfdisk -d "$raw" | sed -n 's/.*2 : start= *\([0-9]*\),.*/\1/p')
	size=$(sfdisk -d "$raw" | sed -n 's/.*2 : start=.*size= *\([0-9]*\),.*/\1/p')
	[ -n "$start" ] && [ -n "$size" ] || die "sfdisk made no second partition"
	mkfs.ext4 -q -F -O ^64bit -L root -d "$dir" -E offset=$((start * 512)) "$raw" \
		$((size / 2))k
	zstd -q -T0 -3 -f "$raw" -o "$out"
	;;
import)
	[ $# -eq 3 ] || die "usage: rawdisk.sh import SRC OUT"
	src=$2 out=$3
	case $(hex "$src" 6) in
	fd377a585a00) dec="xz -dc" ;;
	28b52ffd*) dec="zstd -dc" ;;
	*) dec=cat ;;
	esac
	# SIGPIPE from head ends the decompressor early: only its first bytes matter here.
	magic=$($dec <"$src" 2>/dev/null | hex - 4 || true)
	raw=$out.raw
	trap 'rm -f "$raw"' EXIT
	if [ "$magic" = 514649fb ]; then
		command -v qemu-img >/dev/null 2>&1 ||
			die "the image is qcow2: install qemu-utils (qemu-img converts it) or give a raw image"
		if [ "$dec" != cat ]; then
			$dec <"$src" >"$raw.qcow2"
			src=$raw.qcow2
		fi
		qemu-img convert -f qcow2 -O raw "$src" "$raw"
		rm -f "$raw.qcow2"
		zstd -q -T0 -3 -f --rm "$raw" -o "$out"
	else
		# A disk: an MBR (protective, for GPT) with its boot signature at 510.
		sig=$($dec <"$src" 2>/dev/null | head -c 512 | tail -c 2 | od -An -tx1 | tr -d ' \n' ||
			true)
		[ "$sig" = 55aa ] ||
			die "not a raw disk image (no partition table in its first sector; raw, raw.xz, raw.zst or qcow2)"
		if [ "$dec" = "zstd -dc" ]; then
			cp "$src" "$out"
		else
			$dec <"$src" | zstd -q -T0 -3 -f -o "$out"
		fi
	fi
	;;
*)
	die "usage: rawdisk.sh build ROOTDIR OUT | import SRC OUT"
	;;
esac
