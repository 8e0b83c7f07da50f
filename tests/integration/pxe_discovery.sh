#!/bin/sh
# pxe_discovery.sh - Drover's installer as the discovery image: `drover pxe setup
# --discovery` has the installer_build job place discovery/vmlinuz and discovery/initrd.img
# as hard links to the installer it built (grub.cfg-discovery and iPXE's discovery script
# then boot it); a plain `drover pxe setup` refreshes them with the rebuilt installer and
# leaves an operator's own image alone; `--no-discovery` removes either. The installer's
# /init (from the built initramfs) turns hostile DMI strings into valid JSON. The VM that
# boots it and posts its facts is tests/e2e/pxe_secureboot.sh.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
for c in curl cpio gzip busybox modprobe python3; do
	command -v "$c" >/dev/null || [ -x "/sbin/$c" ] || [ -x "/usr/sbin/$c" ] ||
		skip_all "$c is not installed"
done
ls /boot/vmlinuz-* >/dev/null 2>&1 || skip_all "no Debian kernel in /boot (linux-image-amd64)"
ldd "$(command -v busybox)" >/dev/null 2>&1 && skip_all "busybox is not static (busybox-static)"

state=$TAP_TMP/state
root=$TAP_TMP/tftproot
o=$TAP_TMP/w
mkdir -p "$o"
printf 'tftp:\n  root: %s\n' "$root" >"$TAP_TMP/droverd.yml"
# setup ARGS...: drover pxe setup ARGS, then follow the installer job it queued.
setup() {
	"$DROVER" --json pxe setup "$@" >"$o/setup.json" 2>&1 || return 1
	job=$(tr -d ' \n' <"$o/setup.json" | sed -n 's/.*"installer_job":\([0-9]*\).*/\1/p')
	[ -n "$job" ] && "$DROVER" job follow "$job" >"$o/job.log" 2>&1
}
# same A B: A and B are one file (a hard link).
same() { [ "$(stat -c %d:%i "$1")" = "$(stat -c %d:%i "$2")" ]; }
tftp_code() { curl -s -o "$o/tftp" "tftp://127.0.0.1:$port/$1"; echo $?; }

ok "droverd starts with TFTP on a loopback port" \
	droverd_start "$state" --config "$TAP_TMP/droverd.yml" --tftp-listen 127.0.0.1:0
port=$(sed -n 's/.*tftp serving .* (port \([0-9]*\)).*/\1/p' "$TAP_TMP/droverd.log")
ok "drover login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
like "discovery is off at first" "$("$DROVER" pxe status 2>&1)" \
	'DISCOVERY +off \(drover pxe setup --discovery\)'
is "no grub.cfg-discovery" "$(tftp_code grub/grub.cfg-discovery)" 68

# --- --discovery: the installer job places its kernel and initramfs as the discovery image.
ok "drover pxe setup --discovery builds the installer" setup --discovery
like "its job says it made the discovery image" "$("$DROVER" --json job show "$job" 2>&1 | tr -d ' \n')" \
	'"discovery":true'
ok "discovery/vmlinuz is the installer's kernel (a hard link)" \
	same "$root/discovery/vmlinuz" "$root/drover-installer/vmlinuz"
ok "discovery/initrd.img is the installer's initramfs" \
	same "$root/discovery/initrd.img" "$root/drover-installer/initrd.img"
ok "no temporary file is left" sh -c "! ls '$root/discovery' | grep -q new"
like "pxe status says so" "$("$DROVER" pxe status 2>&1)" \
	"DISCOVERY +on: Drover's installer is the discovery image"
is "the API too" "$("$DROVER" --json pxe status | tr -d ' \n' |
	sed -n 's/.*"discovery":"\([a-z]*\)".*/\1/p')" installer
ok "GRUB's grub.cfg-discovery is served" test "$(tftp_code grub/grub.cfg-discovery)" -eq 0
like "booting it" "$(cat "$o/tftp")" 'linux /discovery/vmlinuz console=ttyS0 drover_discovery=http://'
like "iPXE's script for an unknown MAC boots it too" \
	"$(curl -sf "$DROVERD_URL/unattended/iPXE?mac=52:54:00:5d:00:01")" \
	'kernel .*/discovery/vmlinuz .*drover_discovery=http://[^ ]*/unattended/discovery drover_mac=52:54:00:5d:00:01'
ok "the kernel over TFTP is the installer's" sh -c \
	"curl -sf -o '$o/k' 'tftp://127.0.0.1:$port/discovery/vmlinuz' && cmp '$o/k' '$root/drover-installer/vmlinuz'"

# --- the initramfs' /init: discovery without url=, the facts' JSON made safely.
mkdir -p "$o/initrd"
(cd "$o/initrd" && gzip -dc "$root/discovery/initrd.img" | cpio -id init etc/modules 2>/dev/null)
like "its /init reads drover_discovery= from the kernel command line" \
	"$(cat "$o/initrd/init")" 'drover_discovery=\*\) disc='
like "its modules include efivarfs (the Secure Boot state)" "$(cat "$o/initrd/etc/modules")" \
	'efivarfs\.ko'
sed -n '/^# Discovery. Every value/,/^# Post the facts/p' "$o/initrd/init" >"$o/facts.sh"
like "the facts' functions are there" "$(cat "$o/facts.sh")" '^facts\(\) \{'
mkdir -p "$o/bin"
for a in sh tr head sed cat printf; do ln -sf "$(command -v busybox)" "$o/bin/$a"; done
printf 'Evil"}, "mac": "x\\\001\n\351tail  ' >"$o/hostile"
head -c 3000 /dev/zero | tr '\0' 'A' >"$o/long"
cat >"$o/t.sh" <<EOF
. "$o/facts.sh"
printf '{"a": %s, "b": %s, "c": %s, "d": %s, "e": %s}' "\$(jf "$o/hostile")" "\$(jf "$o/none")" \
	"\$(jn 12x)" "\$(jn 2048)" "\$(jf "$o/long")"
EOF
bb=$(command -v busybox)
PATH=$o/bin "$bb" sh "$o/t.sh" >"$o/hostile.json"
is "a hostile DMI string stays one JSON string (quotes, backslashes escaped; control characters, non-ASCII dropped; 128 bytes at most); missing file, non-number: null" \
	"$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' "$o/hostile.json" 2>&1)" \
	'{"a": "Evil\"}, \"mac\": \"x\\tail", "b": null, "c": null, "d": 2048, "e": "'"$(head -c 128 "$o/long")"'"}'

# --- a plain setup rebuilds the installer and keeps it the discovery image.
ino=$(stat -c %i "$root/discovery/initrd.img")
ok "drover pxe setup (no flag) rebuilds the installer" setup
ok "the discovery image follows the new installer" \
	same "$root/discovery/initrd.img" "$root/drover-installer/initrd.img"
isnt_ino=$(stat -c %i "$root/discovery/initrd.img")
ok "(a new file, not the old one)" test "$ino" != "$isnt_ino"

# --- --no-discovery removes it at once.
"$DROVER" pxe setup --no-discovery >"$o/no.txt" 2>&1
ok "drover pxe setup --no-discovery" test $? -eq 0
like "answers that discovery is off" "$(cat "$o/no.txt")" 'DISCOVERY +off'
ok "discovery/ is gone" test ! -e "$root/discovery"
is "so is grub.cfg-discovery" "$(tftp_code grub/grub.cfg-discovery)" 68
"$DROVER" job follow "$(sed -n 's/^INSTALLER BUILD *job \([0-9]*\).*/\1/p' "$o/no.txt")" >/dev/null 2>&1
ok "and its installer build leaves it off" test ! -e "$root/discovery"

# --- an operator's own image is left as it is without a flag.
mkdir -p "$root/discovery"
echo "operator's kernel" >"$root/discovery/vmlinuz"
echo "operator's initrd" >"$root/discovery/initrd.img"
like "pxe status: the operator's image" "$("$DROVER" pxe status 2>&1)" \
	"DISCOVERY +on: the operator's image in discovery/"
ok "drover pxe setup (no flag)" setup
is "keeps the operator's kernel" "$(cat "$root/discovery/vmlinuz")" "operator's kernel"
is "and initrd" "$(cat "$root/discovery/initrd.img")" "operator's initrd"
ok "--discovery replaces it with the installer" setup --discovery
ok "(the installer's kernel)" same "$root/discovery/vmlinuz" "$root/drover-installer/vmlinuz"
echo "operator's kernel" >"$root/discovery/vmlinuz.new"
echo keep >"$root/discovery/README"
ok "--no-discovery with other files of the operator's in discovery/" \
	"$DROVER" --json pxe setup --no-discovery
ok "removes the image" test ! -e "$root/discovery/vmlinuz" -a ! -e "$root/discovery/initrd.img"
is "keeps the rest" "$(cat "$root/discovery/README")" keep
"$DROVER" job follow "$(tr -d ' \n' <"$TAP_TMP/out" | sed -n 's/.*"installer_job":\([0-9]*\).*/\1/p')" \
	>/dev/null 2>&1

out=$("$DROVER" pxe setup --discovery 2>&1)
like "drover pxe setup --discovery answers when discovery will be on" "$out" \
	'DISCOVERY +on once job [0-9]+ has built the installer'
ok "its job builds the installer" \
	"$DROVER" job follow "$(printf '%s\n' "$out" | sed -n 's/^INSTALLER BUILD *job \([0-9]*\).*/\1/p')"
like "and then it is" "$("$DROVER" pxe status 2>&1)" "DISCOVERY +on: Drover's installer"

# --- the facts the image posts: drover discovered show and list --search.
post() {
	curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary "$1" "$DROVERD_URL/unattended/discovery"
}
is "facts posted (as the image does)" "$(post '{"mac": "52:54:00:5d:00:0a", "cpus": 2,
	"cpu_model": "QEMU Virtual CPU", "memory_mb": 2048, "firmware": "uefi", "secure_boot": true,
	"manufacturer": "QEMU", "product": "Standard PC (Q35 + ICH9, 2009)", "serial": null,
	"disks": [{"name": "vda", "size_bytes": 3221225472, "model": null, "serial": "d1",
	"rotational": true}, {"name": "vdb", "size_bytes": 1073741824}],
	"nics": [{"name": "eth0", "mac": "52:54:00:5d:00:0a", "link": true}]}')" 200
is "and another machine's" "$(post '{"mac": "52:54:00:5d:00:0b", "cpus": 1, "memory_mb": 512,
	"firmware": "bios", "secure_boot": false, "manufacturer": "Evil\"Corp", "disks": []}')" 200
like "drover discovered show MAC: every fact" "$("$DROVER" discovered show 52-54-00-5D-00-0A 2>&1 | tr -d ' \n')" \
	'"facts":\{.*"disks":\[\{"name":"vda","size_bytes":3221225472'
like "an unknown MAC fails, naming it" \
	"$("$DROVER" discovered show 52:54:00:5d:00:99 2>&1 | tr '\n' ' ')" \
	'no discovered host 52:54:00:5d:00:99.*'
ok "(exit status)" sh -c "! '$DROVER' discovered show 52:54:00:5d:00:99 >/dev/null 2>&1"
search() { "$DROVER" discovered list --search "$1" 2>&1 | awk 'NR > 1 { print $1 }' | tr '\n' ' '; }
is "search firmware" "$(search 'firmware = uefi')" "52:54:00:5d:00:0a "
is "search secure_boot" "$(search 'secure_boot = false')" "52:54:00:5d:00:0b "
is "search disk_gb (the disks' total)" "$(search 'disk_gb >= 4')" "52:54:00:5d:00:0a "
is "search disks (how many)" "$(search 'disks = 0')" "52:54:00:5d:00:0b "
is "search product" "$(search 'product ~ Q35')" "52:54:00:5d:00:0a "
is "search a manufacturer with a quote" "$(search 'manufacturer ~ Corp')" "52:54:00:5d:00:0b "
like "a bad search is refused" "$("$DROVER" discovered list --search 'nosuch = 1' 2>&1)" 'nosuch'

# --- bad input.
like "an unknown flag is refused" "$("$DROVER" pxe setup --discovery --bogus 2>&1)" \
	'[Uu]sage|unrecognized'
tok=$(sed -n 's/^token: "\(.*\)"/\1/p' "$DROVER_CONFIG")
code=$(curl -s -o "$o/bad.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	-H "Authorization: Bearer $tok" -d '{"discovery": "yes"}' "$DROVERD_URL/api/v2/admin/pxe/setup")
is "discovery must be true or false" "$code" 422
like "naming the field" "$(cat "$o/bad.json")" '"discovery"'
like "droverd kept serving" "$(curl -sf "$DROVERD_URL/api/v2/status")" '"store": *"ok"'
done_testing
