#!/bin/sh
# prov_dhcp_boot.sh - subnet boot modes through a real dnsmasq: droverd writes
# dnsmasq.conf from its subnets; dnsmasq serves DHCP on a veth in a test namespace; busybox
# udhcpc in a second namespace asks as a BIOS PXE client, a UEFI PXE client (client arch
# 7), a UEFI HTTP boot client (arch 16) and iPXE (option 175), and the test checks the
# boot file each one is given for each pxe_loader.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
[ -x /usr/sbin/dnsmasq ] || skip_all "dnsmasq is not installed"
command -v busybox >/dev/null || skip_all "busybox is not installed"

srv=drover-dhcp-s-$$
cli=drover-dhcp-c-$$
DNSMASQ_PID=
cleanup() {
	[ -n "$DNSMASQ_PID" ] && kill "$DNSMASQ_PID" 2>/dev/null
	droverd_stop
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
	rm -rf "$TAP_TMP"
}
trap cleanup EXIT
ip netns add "$srv" || skip_all "cannot create a network namespace"
ip netns add "$cli"
ip netns exec "$srv" ip link set lo up
ip netns exec "$srv" ip link add v0 type veth peer name v1
ip netns exec "$srv" ip link set v1 netns "$cli"
ip netns exec "$srv" ip addr add 198.18.2.1/24 dev v0
ip netns exec "$srv" ip link set v0 up
ip netns exec "$cli" ip link set v1 up

ok "droverd starts" droverd_start "$TAP_TMP/state"
ok "drover login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
ok "a subnet with a DHCP range" "$DROVER" subnet create --name lab --network 198.18.2.0 \
	--mask 255.255.255.0 --from 198.18.2.100 --to 198.18.2.200 --pxe-loader 'iPXE Chain BIOS'
conf=$TAP_TMP/state/pxe/dnsmasq.conf
like "dnsmasq.conf has the subnet's range and tag" "$(cat "$conf")" \
	'dhcp-range=set:drover-s[0-9]+,198\.18\.2\.100,198\.18\.2\.200,255\.255\.255\.0'
like "an unknown loader is refused naming the field" \
	"$("$DROVER" subnet update lab --pxe-loader Floppy 2>&1)" '422 pxe_loader'

cat >"$TAP_TMP/script" <<'S'
#!/bin/sh
[ "$1" = bound ] && echo "boot_file=${boot_file:-} bootfile=${bootfile:-} siaddr=${siaddr:-}"
exit 0
S
chmod +x "$TAP_TMP/script"
# dhcp KIND: the boot file a client of that kind gets (bios, uefi, http, ipxe).
dhcp() {
	case $1 in
	bios) x="-x 93:0000" ;;
	uefi) x="-x 93:0007" ;;
	http) x="-x 93:0010" ;;
	ipxe) x="-x 175:0101" ;;
	esac
	# shellcheck disable=SC2086
	ip netns exec "$cli" busybox udhcpc -i v1 -n -q -f -t 3 -T 1 -s "$TAP_TMP/script" \
		-O 67 $x 2>/dev/null | sed -n 's/.*boot_file=\([^ ]*\) bootfile=\([^ ]*\).*/\1\2/p' |
		head -1
}
# start_dnsmasq: (re)start dnsmasq on droverd's current configuration.
start_dnsmasq() {
	if [ -n "$DNSMASQ_PID" ]; then
		kill "$DNSMASQ_PID"
		wait "$DNSMASQ_PID" 2>/dev/null
	fi
	ip netns exec "$srv" /usr/sbin/dnsmasq -k --port=0 --user=root --interface=v0 \
		--bind-interfaces --conf-file="$conf" --dhcp-leasefile="$TAP_TMP/leases" \
		--log-dhcp --log-facility="$TAP_TMP/dnsmasq.log" &
	DNSMASQ_PID=$!
	n=$((n + 1))
	i=0
	# Ready when this start logged its DHCP range (the log accumulates over restarts).
	while [ "$(grep -c 'DHCP, IP range' "$TAP_TMP/dnsmasq.log" 2>/dev/null)" -lt "$n" ] &&
		[ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep 0.2
	kill -0 "$DNSMASQ_PID"
}
n=0
U=$DROVERD_URL
ok "dnsmasq starts on droverd's configuration" start_dnsmasq
# Warm up: on the fresh veth udhcpc misses the answers to its very first exchange
# (dnsmasq logs its OFFER); every exchange after it is answered.
dhcp bios >/dev/null
is "iPXE Chain BIOS: a BIOS client gets undionly.kpxe" "$(dhcp bios)" undionly.kpxe
is "a UEFI PXE client gets snponly.efi" "$(dhcp uefi)" snponly.efi
is "a UEFI HTTP client gets ipxe.efi by URL" "$(dhcp http)" "$U/pxe/files/ipxe.efi"
is "iPXE gets droverd's script" "$(dhcp ipxe)" "$U/unattended/iPXE"
# What a client is told besides its boot file: router, name servers, MTU and domain.
cat >"$TAP_TMP/net-script" <<'S'
#!/bin/sh
[ "$1" = bound ] && echo "router=${router:-} dns=${dns:-} mtu=${mtu:-} domain=${domain:-}"
exit 0
S
chmod +x "$TAP_TMP/net-script"
net() {
	ip netns exec "$cli" busybox udhcpc -i v1 -n -q -f -t 3 -T 1 -s "$TAP_TMP/net-script" \
		-O router -O dns -O mtu -O domain 2>/dev/null | grep '^router=' | head -1
}
ok "a domain" "$DROVER" domain create --name lab.example
ok "the subnet's gateway, name servers, MTU and domain" "$DROVER" subnet update lab \
	--gateway 198.18.2.254 --dns-primary 198.18.2.53 --dns-secondary 198.18.2.54 --mtu 1400 \
	--domain lab.example
like "dnsmasq.conf gives them to the subnet's tag" "$(cat "$conf")" \
	'dhcp-option=tag:drover-s[0-9]+,option:dns-server,198\.18\.2\.53,198\.18\.2\.54'
ok "dnsmasq restarts on them" start_dnsmasq
is "a client gets the subnet's router, name servers, MTU and domain" "$(net)" \
	"router=198.18.2.254 dns=198.18.2.53 198.18.2.54 mtu=1400 domain=lab.example"

# check LOADER BIOS UEFI HTTP IPXE: the files for each kind of client under LOADER.
check() {
	"$DROVER" subnet update lab --pxe-loader "$1" >/dev/null && start_dnsmasq
	is "$1: BIOS" "$(dhcp bios)" "$2"
	is "$1: UEFI PXE" "$(dhcp uefi)" "$3"
	is "$1: UEFI HTTP" "$(dhcp http)" "$4"
	is "$1: iPXE" "$(dhcp ipxe)" "$5"
}
check 'iPXE Chain UEFI' undionly.kpxe snponly.efi "$U/pxe/files/snponly.efi" "$U/unattended/iPXE"
check 'Grub2 UEFI' undionly.kpxe grubx64.efi "$U/pxe/files/grubx64.efi" "$U/unattended/iPXE"
check 'Grub2 UEFI SecureBoot' undionly.kpxe shimx64.efi "$U/pxe/files/shimx64.efi" \
	"$U/unattended/iPXE"
check 'PXELinux BIOS' pxelinux.0 snponly.efi "$U/pxe/files/ipxe.efi" "$U/unattended/iPXE"
check 'iPXE Embedded' '' '' '' "$U/unattended/iPXE"
check None '' '' '' ''
like "and the client still gets an address from the subnet's range" \
	"$(grep -c 'DHCPACK(v0) 198\.18\.2\.1[0-9][0-9]' "$TAP_TMP/dnsmasq.log")" '^[1-9]'
ok "deleting the subnet takes its range out" sh -c "'$DROVER' subnet delete lab >/dev/null &&
	! grep -q 198.18.2.100 '$conf'"

# droverd's own dnsmasq (dhcp.dnsmasq_command): restarted by droverd when a subnet changes,
# started again when it dies, stopped with droverd.
kill "$DNSMASQ_PID"
wait "$DNSMASQ_PID" 2>/dev/null
DNSMASQ_PID=
droverd_stop
log2=$TAP_TMP/dnsmasq2.log
pidf=$TAP_TMP/dnsmasq2.pid
cat >"$TAP_TMP/droverd.yml" <<EOF
dhcp:
  dnsmasq_command: ip netns exec $srv dnsmasq --port=0 --user=root --interface=v0 --bind-interfaces --dhcp-leasefile=$TAP_TMP/leases2 --pid-file=$pidf --log-dhcp --log-facility=$log2
EOF
ok "droverd starts with dhcp.dnsmasq_command" droverd_start "$TAP_TMP/state" --config "$TAP_TMP/droverd.yml"
U=$DROVERD_URL
# ranges N: wait until dnsmasq logged its range N times (each start logs it once).
ranges() {
	i=0
	while [ "$(grep -c 'DHCP, IP range' "$log2" 2>/dev/null)" -lt "$1" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(grep -c 'DHCP, IP range' "$log2" 2>/dev/null)" -ge "$1" ]
}
# started N: wait until droverd's dnsmasq wrote a pid file that is not N.
started() {
	i=0
	while { [ ! -s "$pidf" ] || [ "$(cat "$pidf")" = "$1" ]; } && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -0 "$(cat "$pidf")" 2>/dev/null
}
ok "droverd's dnsmasq runs (no subnet yet: no range)" started none
first=$(cat "$pidf")
"$DROVER" subnet create --name lab2 --network 198.18.2.0 --mask 255.255.255.0 \
	--from 198.18.2.150 --to 198.18.2.160 --pxe-loader 'iPXE Chain BIOS' >/dev/null
ok "a new subnet: droverd restarted dnsmasq, which serves its range" ranges 1
like "droverd logged the restart" "$(cat "$TAP_TMP/droverd.log")" \
	"dnsmasq \(pid $first\) restarted for the new subnets"
dhcp bios >/dev/null
is "a BIOS client gets undionly.kpxe" "$(dhcp bios)" undionly.kpxe
like "with an address from the new range" "$(grep 'DHCPACK(v0)' "$log2" | tail -1)" \
	'198\.18\.2\.1(5[0-9]|60)'
"$DROVER" subnet update lab2 --pxe-loader 'PXELinux BIOS' >/dev/null
ok "a changed loader: restarted again" ranges 2
is "and a BIOS client gets pxelinux.0 with no restart by hand" "$(dhcp bios)" pxelinux.0
p=$(cat "$pidf")
kill -KILL "$p"
ok "dnsmasq killed: droverd starts it again" ranges 3
like "and says why" "$(cat "$TAP_TMP/droverd.log")" \
	"dnsmasq \(pid $p\) was killed by signal 9; starting it again"
is "the restarted dnsmasq answers" "$(dhcp bios)" pxelinux.0
p=$(cat "$pidf")
droverd_stop
ok "droverd's stop ends its dnsmasq" sh -c "! kill -0 $p 2>/dev/null"
printf 'dhcp:\n  dnsmasq_command: /nonexistent/dnsmasq --port=0\n' >"$TAP_TMP/bad.yml"
droverd_start "$TAP_TMP/state" --config "$TAP_TMP/bad.yml"
like "a dnsmasq_command that cannot run stops droverd's start, naming the key" \
	"$(cat "$TAP_TMP/droverd.log")" "dhcp.dnsmasq_command: cannot run /nonexistent/dnsmasq"
droverd_stop
done_testing
