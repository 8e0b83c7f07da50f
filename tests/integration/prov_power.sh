#!/bin/sh
# prov_power.sh - drover host power and build --reboot against BMCs the test starts: a
# Redfish endpoint (tests/fixtures/prov/redfish.py) and OpenIPMI's ipmi_sim driven by
# ipmitool.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
command -v python3 >/dev/null || skip_all "python3 is not installed"

python3 "$top_srcdir/tests/fixtures/prov/redfish.py" "$TAP_TMP/rf.port" "$TAP_TMP/rf.log" &
RF_PID=$!
SIM_PID=
trap 'kill $RF_PID $SIM_PID 2>/dev/null; droverd_stop KILL; rm -rf "$TAP_TMP"' EXIT
i=0
while [ ! -s "$TAP_TMP/rf.port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
rf=http://127.0.0.1:$(cat "$TAP_TMP/rf.port")

ok "droverd starts" droverd_start "$TAP_TMP/state"
ok "drover login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
ok "a bare-metal host with a Redfish BMC" "$DROVER" host create --name bm1 --interfaces \
	"[{\"mac\": \"52:54:00:00:10:01\"}, {\"type\": \"bmc\", \"provider\": \"redfish\", \
	\"url\": \"$rf\", \"username\": \"root\", \"password\": \"bmc-secret\"}]"
ok "the BMC password is never shown" sh -c "! '$DROVER' host show bm1 | grep -q bmc-secret"
if command -v sqlite3 >/dev/null; then
	ok "and is encrypted at rest" sh -c "sqlite3 '$TAP_TMP/state/drover.db' \
		'SELECT data FROM prov_hosts' | grep -q 'enc:v1:' && ! sqlite3 \
		'$TAP_TMP/state/drover.db' 'SELECT data FROM prov_hosts' | grep -q bmc-secret"
fi
ok "the key is private" test "$(stat -c %a "$TAP_TMP/state/secret.key")" = 600
like "power status" "$("$DROVER" host power bm1 status 2>&1)" 'host bm1: power is off'
like "power on" "$("$DROVER" host power bm1 on 2>&1)" 'host bm1: power is on'
ok "an update that resends the interfaces without the password" "$DROVER" host update bm1 \
	--interfaces "[{\"mac\": \"52:54:00:00:10:01\"}, {\"type\": \"bmc\", \
	\"provider\": \"redfish\", \"url\": \"$rf\", \"username\": \"root\"}]"
like "keeps it: power off still works" "$("$DROVER" host power bm1 off 2>&1)" \
	'host bm1: power is off'
like "the BMC saw On then ForceOff" "$(tr '\n' ' ' <"$TAP_TMP/rf.log")" \
	'reset On reset ForceOff'
out=$("$DROVER" host power bm1 dance 2>&1)
like "an unknown action is a 422" "$out" "422 power_action: 'dance'"
ok "build --reboot" "$DROVER" host build bm1 --reboot
like "sets a one-time PXE boot, then powers on" "$(tail -2 "$TAP_TMP/rf.log" | tr '\n' ' ')" \
	'boot Pxe Once reset On'
like "bm1 is building" "$("$DROVER" host list 2>&1)" 'bm1 .* building +true'

ok "a host whose BMC has a wrong password" "$DROVER" host create --name bm2 --interfaces \
	"[{\"mac\": \"52:54:00:00:10:02\"}, {\"type\": \"bmc\", \"provider\": \"redfish\", \
	\"url\": \"$rf\", \"username\": \"root\", \"password\": \"wrong-one\"}]"
out=$("$DROVER" host power bm2 on 2>&1)
is "its power job fails" "$?" 1
like "naming the BMC and the answer" "$out" "redfish $rf/redfish/v1/Systems: GET answered 401"
ok "without the password" sh -c "! printf '%s' '$out' | grep -q wrong-one"
out=$("$DROVER" host build bm2 --reboot 2>&1)
like "build --reboot that cannot power fails" "$out" 'stays out of build mode'
like "and bm2 is not left building" "$("$DROVER" host list 2>&1)" 'bm2 .* new +false'
out=$("$DROVER" host power bm1x on 2>&1)
like "an unknown host is a 404" "$out" "404 no host 'bm1x'"

# IPMI against OpenIPMI's simulator, IPMI 2.0 (RMCP+, ipmitool -I lanplus) and 1.5 LAN.
# The simulated machine is ipmi_sim's startcmd: power on starts it, off kills it, cycle
# restarts it, so the test sees what the BMC did to the "machine", not only what it says.
if command -v ipmi_sim >/dev/null && command -v ipmitool >/dev/null; then
	port=$(free_port)
	vmport=$(free_port)
	mkdir -p "$TAP_TMP/sim"
	cat >"$TAP_TMP/sim/machine" <<'M'
#!/bin/sh
echo $$ >"$(dirname "$0")/machine.pid"
exec sleep 300
M
	chmod +x "$TAP_TMP/sim/machine"
	cat >"$TAP_TMP/sim/lan.conf" <<CONF
name "drovertest"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 $port
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  serial 15 127.0.0.1 $vmport codec VM
  startcmd "$TAP_TMP/sim/machine"
  startnow false
  poweroff_wait 0
  kill_wait 1
  user 2 true "drover" "bmc-secret" admin 10 none md2 md5 straight
CONF
	printf 'mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02\nmc_enable 0x20\n' \
		>"$TAP_TMP/sim/sim.emu"
	# ipmi_sim reads commands on its standard input: keep it open, bounded.
	sleep 120 | ipmi_sim -n -c "$TAP_TMP/sim/lan.conf" -f "$TAP_TMP/sim/sim.emu" \
		-s "$TAP_TMP/sim" >"$TAP_TMP/sim/log" 2>&1 &
	SIM_PID=$!
	trap 'kill $RF_PID $SIM_PID $(cat "$TAP_TMP/sim/machine.pid" 2>/dev/null) 2>/dev/null
		droverd_stop KILL; rm -rf "$TAP_TMP"' EXIT
	sleep 1
	# machine: "up PID" when the simulated machine runs, else "down".
	machine() {
		p=$(cat "$TAP_TMP/sim/machine.pid" 2>/dev/null)
		if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then echo "up $p"; else echo down; fi
	}
	ok "a host with an IPMI 2.0 BMC (ipmi://, RMCP+)" "$DROVER" host create --name bm5 \
		--interfaces "[{\"mac\": \"52:54:00:00:10:05\"}, {\"type\": \"bmc\", \"provider\": \"ipmi\",
		\"url\": \"ipmi://127.0.0.1:$port\", \"username\": \"drover\",
		\"password\": \"bmc-secret\"}]"
	like "status: off" "$("$DROVER" host power bm5 status 2>&1)" 'host bm5: power is off'
	is "the machine is not running" "$(machine)" down
	like "power on" "$("$DROVER" host power bm5 on 2>&1)" 'host bm5: power is on'
	m1=$(machine)
	like "the BMC started the machine" "$m1" '^up '
	like "status: on" "$("$DROVER" host power bm5 status 2>&1)" 'host bm5: power is on'
	like "power cycle" "$("$DROVER" host power bm5 cycle 2>&1)" 'host bm5: power is on'
	m2=$(machine)
	like "the machine runs again" "$m2" '^up '
	ok "as a new process (it was reset)" test "$m1" != "$m2"
	token=$(sed -n 's/^token: *"*\([^"]*\)"*$/\1/p' "$DROVER_CONFIG")
	job=$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		-d '{"power_action": "off"}' "$DROVERD_URL/api/v2/hosts/bm5/power")
	like "POST /api/v2/hosts/bm5/power {power_action: off} queues a host_power job" "$job" \
		'"kind": *"host_power"'
	i=0
	while [ "$(machine)" != down ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	is "power off stopped the machine" "$(machine)" down
	like "status: off" "$("$DROVER" host power bm5 status 2>&1)" 'host bm5: power is off'
	out=$("$DROVER" host power bm5 soft 2>&1 | tr '\n' ' ')
	like "soft off, which the simulator has no ACPI for, fails naming the BMC's answer" \
		"$out" 'ipmitool chassis failed: .*Soft failed'
	out=$("$DROVER" host power bm5 pxe 2>&1 | tr '\n' ' ')
	like "a one-time PXE boot the BMC refuses fails (ipmitool itself exits 0)" "$out" \
		'refused chassis bootdev pxe: .*Boot Parameter .* failed'
	ok "a host with an IPMI 1.5 BMC (ipmi+lan://)" "$DROVER" host create --name bm3 --interfaces \
		"[{\"mac\": \"52:54:00:00:10:03\"}, {\"type\": \"bmc\", \"provider\": \"ipmi\", \
		\"url\": \"ipmi+lan://127.0.0.1:$port\", \"username\": \"drover\", \
		\"password\": \"bmc-secret\"}]"
	like "power status through ipmitool -I lan" "$("$DROVER" host power bm3 status 2>&1)" \
		'host bm3: power is off'
	like "power on through -I lan" "$("$DROVER" host power bm3 on 2>&1)" 'host bm3: power is on'
	like "(the same machine)" "$(machine)" '^up '
	like "power off through -I lan" "$("$DROVER" host power bm3 off 2>&1)" 'host bm3: power is off'
	ok "a host with a wrong IPMI password" "$DROVER" host create --name bm4 --interfaces \
		"[{\"mac\": \"52:54:00:00:10:04\"}, {\"type\": \"bmc\", \"provider\": \"ipmi\", \
		\"url\": \"ipmi://127.0.0.1:$port\", \"username\": \"drover\", \
		\"password\": \"nope\"}]"
	out=$("$DROVER" host power bm4 status 2>&1)
	like "fails naming ipmitool's error" "$out" 'ipmi 127\.0\.0\.1: ipmitool chassis failed'
else
	echo "# ipmi_sim or ipmitool missing: IPMI not tested"
fi
done_testing
