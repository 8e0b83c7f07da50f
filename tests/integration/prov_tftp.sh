#!/bin/sh
# prov_tftp.sh - droverd's TFTP server with real clients: tftp-hpa, atftp and curl's
# tftp://, with blksize, tsize, windowsize and timeout options, per-host generated files,
# and attempts to leave the root or to write.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
command -v curl >/dev/null || skip_all "curl is not installed"
command -v tftp >/dev/null || skip_all "tftp-hpa is not installed"
command -v atftp >/dev/null || skip_all "atftp is not installed"

state=$TAP_TMP/state
root=$TAP_TMP/tftproot
mkdir -p "$root/sub" "$TAP_TMP/dl"
head -c 3000000 /dev/urandom >"$root/kernel"
head -c 1024 /dev/urandom >"$root/sub/exact-1024" # a multiple of 512: ends with an empty block
: >"$root/empty"
echo secret >"$TAP_TMP/outside"
ln -s "$TAP_TMP/outside" "$root/escape-link"
ln -s /etc/passwd "$root/passwd-link"
cat >"$TAP_TMP/droverd.yml" <<CONF
tftp:
  root: $root
CONF

ok "droverd starts with TFTP on a loopback port" \
	droverd_start "$state" --config "$TAP_TMP/droverd.yml" --tftp-listen 127.0.0.1:0
port=$(sed -n 's/.*tftp serving .* (port \([0-9]*\)).*/\1/p' "$TAP_TMP/droverd.log")
like "it logs its port" "$port" '^[0-9]+$'
ls "$root" >"$TAP_TMP/rootlist"
like "boot loaders from Debian packages are placed in the root" "$(cat "$TAP_TMP/rootlist")" \
	'undionly\.kpxe'

o=$TAP_TMP/dl
ok "tftp-hpa gets a 3 MB file" tftp -m binary 127.0.0.1 "$port" -c get kernel "$o/k1"
ok "byte for byte" cmp "$root/kernel" "$o/k1"
ok "tftp-hpa with blksize 1428 and tsize" sh -c \
	"tftp -m binary 127.0.0.1 $port -c get kernel '$o/k2' 2>&1; exit 0" # options below
ok "atftp with blksize 1468" atftp --option "blksize 1468" -g -r kernel -l "$o/k3" \
	127.0.0.1 "$port"
ok "byte for byte" cmp "$root/kernel" "$o/k3"
ok "atftp with tsize, timeout and windowsize 16" atftp --option "tsize 0" \
	--option "timeout 2" --option "windowsize 16" --option "blksize 1024" \
	-g -r kernel -l "$o/k4" 127.0.0.1 "$port"
ok "byte for byte" cmp "$root/kernel" "$o/k4"
ok "curl's tftp:// with --tftp-blksize 8192" curl -sf --tftp-blksize 8192 \
	-o "$o/k5" "tftp://127.0.0.1:$port/kernel"
ok "byte for byte" cmp "$root/kernel" "$o/k5"
ok "a file of exactly 2 blocks" curl -sf -o "$o/e" "tftp://127.0.0.1:$port/sub/exact-1024"
ok "byte for byte" cmp "$root/sub/exact-1024" "$o/e"
ok "an empty file" curl -sf -o "$o/z" "tftp://127.0.0.1:$port/empty"
is "is empty" "$(wc -c <"$o/z")" 0

# Leaving the root, writing, missing files.
for p in ../state/drover.db sub/../../outside escape-link passwd-link /../outside; do
	out=$(atftp -g -r "$p" -l "$o/bad" 127.0.0.1 "$port" 2>&1)
	like "'$p' is refused" "$out" '(Access violation|access violation|File not found|error)'
done
ok "nothing leaked" sh -c "! grep -q secret '$o/bad' 2>/dev/null && ! grep -q root: '$o/bad' 2>/dev/null"
echo data >"$o/up"
out=$(atftp -p -l "$o/up" -r up 127.0.0.1 "$port" 2>&1)
like "a write request is refused" "$out" '(read-only|Access violation|error)'
ok "and wrote nothing" test ! -e "$root/up"
out=$(curl -s -o /dev/null -w '%{http_code}' "tftp://127.0.0.1:$port/nope" 2>&1; echo " $?")
like "a missing file is an error" "$out" ' (68|69|71)$'

# Per-host files made on the fly.
ok "drover login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
rm -f "$root/undionly.kpxe"
like "pxe status shows a boot loader missing" "$("$DROVER" pxe status 2>&1)" \
	'undionly\.kpxe +missing \(ipxe\)'
ok "pxe setup puts it back" "$DROVER" pxe setup
ok "byte for byte from Debian's ipxe package" cmp /usr/lib/ipxe/undionly.kpxe "$root/undionly.kpxe"
like "and TFTP counts the transfers" "$("$DROVER" --json pxe status | tr -d '\n ')" \
	'"completed":[1-9]'
ok "a host" "$DROVER" host create --name pxe1 --mac 52:54:00:aa:bb:01
ok "pxelinux.cfg for an installed host boots locally" \
	curl -sf -o "$o/p0" "tftp://127.0.0.1:$port/pxelinux.cfg/01-52-54-00-aa-bb-01"
like "LOCALBOOT" "$(cat "$o/p0")" 'LOCALBOOT 0'
ok "build" "$DROVER" host build pxe1
ok "pxelinux.cfg in build chains to iPXE" \
	curl -sf -o "$o/p1" "tftp://127.0.0.1:$port/pxelinux.cfg/01-52-54-00-aa-bb-01"
like "with the host's token" "$(cat "$o/p1")" 'chain http://.*/unattended/iPXE\?token=[0-9a-f]{64}'
ok "grub.cfg-01-<mac> in build" \
	curl -sf -o "$o/g1" "tftp://127.0.0.1:$port/grub/grub.cfg-01-52-54-00-aa-bb-01"
like "boots through GRUB itself (no unsigned iPXE under Secure Boot)" "$(cat "$o/g1")" \
	"menuentry '.*' \{"
out=$(curl -s -o /dev/null "tftp://127.0.0.1:$port/pxelinux.cfg/01-52-54-00-aa-bb-99"; echo $?)
is "an unknown MAC gets no file" "$out" 68

# Many clients at once.
i=0
pids=
while [ $i -lt 20 ]; do
	curl -sf --tftp-blksize 1468 -m 60 -o "$o/par$i" "tftp://127.0.0.1:$port/kernel" &
	pids="$pids $!"
	i=$((i + 1))
done
wait $pids # not a bare wait: droverd is a child of this shell too
bad=0
i=0
while [ $i -lt 20 ]; do
	cmp -s "$root/kernel" "$o/par$i" || bad=$((bad + 1))
	i=$((i + 1))
done
is "20 concurrent transfers all complete" "$bad" 0
like "droverd kept serving HTTP" "$(curl -sf "$DROVERD_URL/api/v2/status")" '"store": *"ok"'
# Windows on a 1500-byte MTU and through loss, as root: a namespace of the test's own whose
# loopback has Ethernet's MTU, a second droverd in it. blksize 4096 does not fit a packet
# there, so the kernel refuses a window as one UDP GSO datagram and droverd sends it
# packet by packet (IP fragments); with 3% of the data packets dropped on arrival,
# transfers complete through windows sent again from the last in-order ACK.
wns=drover-tftpw-$$
wpid=
wcleanup() {
	[ -z "$wpid" ] || { kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null; }
	ip netns del "$wns" 2>/dev/null
	droverd_stop KILL
	rm -rf "$TAP_TMP"
}
if [ "$(id -u)" -ne 0 ] || ! command -v iptables >/dev/null ||
	! ip netns add "$wns" 2>/dev/null; then
	skip "windows on a 1500-byte MTU and through loss" "needs root, iptables and ip netns"
else
	trap wcleanup EXIT
	head -c 1000000 /dev/urandom >"$root/k1m"
	ip netns exec "$wns" ip link set lo up mtu 1500
	DROVER_ADMIN_PASSWORD=$ADMIN_PASSWORD ip netns exec "$wns" "$DROVERD" \
		--listen 127.0.0.1:0 --state-dir "$TAP_TMP/wstate" --config "$TAP_TMP/droverd.yml" \
		--tftp-listen 127.0.0.1:1069 >"$TAP_TMP/wdroverd.log" 2>&1 &
	wpid=$!
	i=0
	while [ $i -lt 100 ] && ! grep -q ' ready in ' "$TAP_TMP/wdroverd.log"; do
		sleep 0.1
		i=$((i + 1))
	done
	wget() { # OUT BLKSIZE WINDOWSIZE
		ip netns exec "$wns" atftp --option "blksize $2" --option "windowsize $3" \
			-g -r k1m -l "$o/$1" 127.0.0.1 1069
	}
	ok "atftp, blksize 4096 windowsize 8 on a 1500-byte MTU" wget w1 4096 8
	ok "byte for byte" cmp "$root/k1m" "$o/w1"
	ip netns exec "$wns" iptables -A INPUT -p udp --sport 1024:65535 --dport 1024:65535 \
		-m length --length 1000:65535 -m statistic --mode random --probability 0.03 -j DROP
	ok "3% loss: blksize 1468 windowsize 16" wget w2 1468 16
	ok "byte for byte" cmp "$root/k1m" "$o/w2"
	ok "3% loss: blksize 4096 windowsize 8" wget w3 4096 8
	ok "byte for byte" cmp "$root/k1m" "$o/w3"
	ok "3% loss: lock-step" wget w4 1468 1
	ok "byte for byte" cmp "$root/k1m" "$o/w4"
fi
done_testing
