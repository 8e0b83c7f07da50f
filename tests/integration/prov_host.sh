#!/bin/sh
# prov_host.sh - the provisioning model and the unattended flow on a real droverd: a host
# created with a name and a MAC gets the seeded defaults, builds, and curl plays the
# installer (iPXE script, preseed, finish script, built callback with SSH host keys).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/debconf.sh"
. "$top_srcdir/tests/lib/droverd.sh"
command -v curl >/dev/null || skip_all "curl is not installed"
command -v ssh-keygen >/dev/null || skip_all "ssh-keygen (openssh-client) is not installed"

state=$TAP_TMP/state
ok "droverd starts" droverd_start "$state"
ok "drover login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
U=$DROVERD_URL
MAC=52:54:00:12:34:56

# --- model, seeded defaults, CLI
like "seeded operating systems" "$("$DROVER" os list 2>&1)" \
	'Debian 12.*bookworm'
like "Ubuntu, Rocky and Alma are seeded too" "$("$DROVER" --json os list 2>&1 | tr -d '\n')" \
	'AlmaLinux 9.*Rocky 9.*Ubuntu 24\.04'
ok "host create with a name and a MAC" "$DROVER" host create --name n1 --mac "$MAC" \
	--ip 198.18.10.21
like "it got the seeded hostgroup" "$("$DROVER" host list 2>&1)" 'n1 +base +- +new'
out=$("$DROVER" host create --name n2 --mac 52:54:00:zz:34:56 2>&1)
is "a malformed MAC is refused" "$?" 1
like "with a 422 naming the field" "$out" '422 interfaces\[0\]\.mac: expected a MAC'
like "a MAC of another host is refused" \
	"$("$DROVER" host create --name n2 --mac 52-54-00-12-34-56 2>&1)" \
	'422 interfaces\[0\]\.mac: 52:54:00:12:34:56 belongs to host n1'
like "an unknown hostgroup is named" \
	"$("$DROVER" host create --name n2 --hostgroup nope 2>&1)" "422 hostgroup: no hostgroup 'nope'"
like "an unknown field is named" \
	"$("$DROVER" host create --name n2 --colour red 2>&1)" '422 colour: unknown field of a host'
like "build state cannot be set by clients" \
	"$("$DROVER" host update n1 --status installed 2>&1)" '422 status: set by Drover'
like "a duplicate name is a conflict" \
	"$("$DROVER" host create --name n1 2>&1)" "409 name: a host named 'n1' already exists"
ok "nested hostgroups" sh -c "'$DROVER' hostgroup create --name web --parent base \
	-p role=web -p ntp_server=ntp.example.test >/dev/null"
ok "a domain with a parameter" "$DROVER" domain create --name example.test -p role=domain
ok "a global parameter" "$DROVER" parameter create --name role --value global
ok "host joins hostgroup web and the domain" "$DROVER" host update n1 --hostgroup web \
	--domain example.test
like "the parameter of the nearest hostgroup wins over domain and global" \
	"$("$DROVER" template preview --host n1 --template drover_ntp 2>&1)" \
	'server ntp\.example\.test iburst'
like "search by a searchable field" "$("$DROVER" host list --search 'hostgroup=web' 2>&1)" 'n1'
is "search with no match" "$("$DROVER" --json host list --search 'hostgroup=base' | \
	sed -n 's/^  "subtotal": \([0-9]*\).*/\1/p')" 0
like "search on a field that is not searchable is a 422" \
	"$("$DROVER" host list --search 'parameters=x' 2>&1)" \
	"422 search: column 1: unknown field 'parameters' \\(known: id, name,"
like "search by MAC, IP and the inherited operating system" \
	"$("$DROVER" host list --search "mac = $MAC and ip = 198.18.10.21 and os = 'Debian 12'" 2>&1)" 'n1'
like "a bare word matches names" "$("$DROVER" --json host list --search 'n1' | tr -d '\n ')" \
	'"subtotal":1,.*"name":"n1"'
like "the host shows its references by name and its interfaces" \
	"$("$DROVER" --json host show n1 | tr -d '\n ')" \
	'"hostgroup_name":"web".*"domain_name":"example.test"|"domain_name":"example.test".*"hostgroup_name":"web"'
like "lists of other resources search too" \
	"$("$DROVER" --json os list --search 'family = Redhat and major >= 9' | tr -d '\n ')" \
	'"subtotal":2,'
like "references in lists search by name" \
	"$("$DROVER" --json hostgroup list --search 'parent = base' | tr -d '\n ')" \
	'"subtotal":1,.*"parent_name":"base"'
like "and lists of references too" \
	"$("$DROVER" --json os list --search "default_template = 'Kickstart default'" | tr -d '\n ')" \
	'"subtotal":2,.*"default_template_names":\[[^]]*"Kickstartdefault"' 
like "a hostgroup in use cannot be deleted" "$("$DROVER" hostgroup delete web 2>&1)" \
	'409 hostgroup web is used by host n1'
like "a hostgroup cannot become its own ancestor" \
	"$("$DROVER" hostgroup update base --parent web 2>&1)" 'own ancestor'
count=$(sqlite3 "$state/drover.db" "SELECT count(*) FROM audits WHERE resource='host'" 2>/dev/null)
is "host create and update are audited" "${count:-0}" 2

# --- templates
pv=$("$DROVER" template preview --host n1 --kind provision 2>&1)
like "preview renders the seeded preseed for the host" "$pv" \
	'netcfg/get_hostname string n1'
like "with the medium of the hostgroup chain" "$pv" 'mirror/http/hostname string deb\.debian\.org'
like "and the partition table rendered in" "$pv" 'partman-auto/choose_recipe select atomic'
printf '%s\n' "$pv" >"$TAP_TMP/preseed.cfg"
if command -v debconf-set-selections >/dev/null; then
	ok "debconf-set-selections accepts the preseed" debconf_check \
		"$TAP_TMP/preseed.cfg"
fi
like "kickstart renders for a Rocky host" "$("$DROVER" host create --name r1 \
	--mac 52:54:00:00:00:09 --operatingsystem 'Rocky 9' --medium 'Rocky mirror' \
	--ptable 'Kickstart default' >/dev/null && \
	"$DROVER" template preview --host r1 --kind provision 2>&1)" \
	'url --url=http://dl\.rockylinux\.org/pub/rocky/9/BaseOS/x86_64/os'
"$DROVER" template preview --host r1 --kind provision >"$TAP_TMP/ks.cfg" 2>&1
if command -v ksvalidator >/dev/null; then
	ok "ksvalidator (pykickstart) accepts the kickstart for RHEL 9" ksvalidator -v RHEL9 \
		"$TAP_TMP/ks.cfg"
fi
# A subnet whose boot mode is Static: each provision template gives the host its address,
# the subnet's gateway and name servers itself.
ok "a Static subnet" "$DROVER" subnet create --name st --network 198.18.10.0 \
	--mask 255.255.255.0 --gateway 198.18.10.1 --dns-primary 198.18.10.53 \
	--dns-secondary 198.18.10.54 --boot-mode Static
like "a mask that is not a netmask is refused" \
	"$("$DROVER" subnet create --name bad --network 198.18.11.0 --mask 255.0.255.0 2>&1)" \
	"422 mask: '255\.0\.255\.0' is not a netmask for 198\.18\.11\.0"
like "a network with host bits is refused" \
	"$("$DROVER" subnet create --name bad --network 198.18.11.1 --mask 255.255.255.0 2>&1)" \
	"422 network: 198\.18\.11\.1 has host bits set"
like "a gateway outside the subnet is refused" \
	"$("$DROVER" subnet update st --gateway 198.18.11.1 2>&1)" \
	'422 gateway: 198\.18\.11\.1 is not in 198\.18\.10\.0/24'
like "a range backwards is refused" "$("$DROVER" subnet update st --from 198.18.10.200 \
	--to 198.18.10.100 2>&1)" '422 from: 198\.18\.10\.200 comes after to 198\.18\.10\.100'
ok "n1 joins it" "$DROVER" host update n1 --subnet st
pv=$("$DROVER" template preview --host n1 --kind provision 2>&1)
like "the preseed configures n1's address" "$pv" \
	'netcfg/get_ipaddress string 198\.18\.10\.21$'
like "the subnet's mask" "$pv" 'netcfg/get_netmask string 255\.255\.255\.0$'
like "its gateway" "$pv" 'netcfg/get_gateway string 198\.18\.10\.1$'
like "and its name servers" "$pv" 'netcfg/get_nameservers string 198\.18\.10\.53 198\.18\.10\.54$'
like "netcfg runs again to take them (the preseed came over DHCP's network)" "$pv" \
	'preseed/early_command string kill-all-dhcp; netcfg'
printf '%s\n' "$pv" >"$TAP_TMP/preseed-static.cfg"
if command -v debconf-set-selections >/dev/null; then
	ok "debconf-set-selections accepts it" debconf_check "$TAP_TMP/preseed-static.cfg"
fi
ok "r1 on it too, --ip alone changes its address" "$DROVER" host update r1 --subnet st \
	--ip 198.18.10.22
like "and keeps its MAC" "$("$DROVER" host show r1 2>&1 | tr -d '\n ')" \
	'"mac":"52:54:00:00:00:09"'
like "the kickstart's network is static" \
	"$("$DROVER" template preview --host r1 --kind provision 2>&1)" \
	'network --device=52:54:00:00:00:09 --bootproto=static --ip=198\.18\.10\.22 --netmask=255\.255\.255\.0 --gateway=198\.18\.10\.1 --nameserver=198\.18\.10\.53,198\.18\.10\.54'
ok "an Ubuntu host on it" "$DROVER" host create --name u1 --mac 52:54:00:00:00:0a \
	--operatingsystem 'Ubuntu 24.04' --ip 198.18.10.23 --subnet st
is "its autoinstall's netplan has the address, route and name servers" \
	"$("$DROVER" template preview --host u1 --kind user_data 2>&1 | python3 -c '
import sys, yaml
e = yaml.safe_load(sys.stdin)["autoinstall"]["network"]["ethernets"]["drover0"]
print(e["match"]["macaddress"], e["addresses"], e["routes"][0]["via"],
      e["nameservers"]["addresses"])' 2>&1)" \
	"52:54:00:00:00:0a ['198.18.10.23/24'] 198.18.10.1 ['198.18.10.53', '198.18.10.54']"
ok "a Static subnet with neither gateway nor name servers" "$DROVER" subnet create \
	--name st2 --network 198.18.10.0 --mask 255.255.255.0 --boot-mode Static
ok "n1, r1 and u1 on it" sh -c "'$DROVER' host update n1 --subnet st2 &&
	'$DROVER' host update r1 --subnet st2 && '$DROVER' host update u1 --subnet st2"
like "the preseed says there is no default route" \
	"$("$DROVER" template preview --host n1 --kind provision 2>&1)" \
	'netcfg/no_default_route boolean true'
like "the kickstart has the address alone" \
	"$("$DROVER" template preview --host r1 --kind provision 2>&1)" \
	'--ip=198\.18\.10\.22 --netmask=255\.255\.255\.0 --hostname=r1$'
is "the netplan too" "$("$DROVER" template preview --host u1 --kind user_data 2>&1 |
	python3 -c 'import sys, yaml; print(yaml.safe_load(sys.stdin)["autoinstall"]["network"])' 2>&1)" \
	"{'version': 2, 'ethernets': {'drover0': {'match': {'macaddress': '52:54:00:00:00:0a'}, 'addresses': ['198.18.10.23/24']}}}"
ok "u1 deleted" "$DROVER" host delete u1
ok "n1 and r1 leave the subnet" sh -c "'$DROVER' host update n1 --subnet '' &&
	'$DROVER' host update r1 --subnet ''"
like "and get DHCP again" "$("$DROVER" template preview --host r1 --kind provision 2>&1)" \
	'network --bootproto=dhcp'
printf '#!ipxe\n{%% if x %%}\n' >"$TAP_TMP/bad.tmpl"
ok "a template with a syntax error can be stored" "$DROVER" template create --name broken \
	--kind snippet --template-file "$TAP_TMP/bad.tmpl"
like "but its preview names template and line" \
	"$("$DROVER" template preview --host n1 --template broken 2>&1)" 'broken:[0-9]+'

# --- build and the unattended flow, curl as the installer
is "provision is refused before build" \
	"$(curl -s -o /dev/null -w '%{http_code}' "$U/unattended/provision?mac=$MAC")" 409
like "iPXE for a host not in build boots the local disk" \
	"$(curl -s "$U/unattended/iPXE?mac=$MAC")" 'sanboot'
ok "drover host build n1" "$DROVER" host build n1
like "n1 is building" "$("$DROVER" host list 2>&1)" 'n1 +web +- +building +true'
ipxe=$(curl -s "$U/unattended/iPXE?mac=$MAC")
like "iPXE script by MAC boots the Debian installer" "$ipxe" \
	'kernel http://deb\.debian\.org/debian/dists/bookworm/main/installer-amd64/.*/linux .*auto=true'
like "iPXE without a MAC asks again with it" "$(curl -s "$U/unattended/iPXE")" \
	'chain .*/unattended/iPXE\?mac=\$\{netX/mac\}'
tok=$(printf '%s\n' "$ipxe" | grep -o 'token=[0-9a-f]*' | head -1 | cut -d= -f2)
like "the iPXE script carries the one-time token" "$tok" '^[0-9a-f]{64}$'
like "provision by token" "$(curl -s "$U/unattended/provision?token=$tok")" \
	"late_command string wget -q -O /target/root/drover-finish.sh '$U/unattended/finish\?token=$tok' && in-target sh "
fin=$(curl -s "$U/unattended/finish?token=$tok")
like "finish script posts the host keys to built" "$fin" "unattended/built\?token=$tok"
is "an unknown token is a 404" \
	"$(curl -s -o /dev/null -w '%{http_code}' "$U/unattended/provision?token=$(printf '%064d' 0)")" 404
is "built without a token is refused" \
	"$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/unattended/built?mac=$MAC")" 404
is "garbage instead of keys is a 422" "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
	--data-binary 'hello world' "$U/unattended/built?token=$tok")" 422
head -c 300000 /dev/zero | tr '\0' a >"$TAP_TMP/biglog"
is "an oversized failure log is refused" "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
	--data-binary @"$TAP_TMP/biglog" "$U/unattended/failed?token=$tok")" 422

ok "post-install jobs for hosts of hostgroup web" "$DROVER" hostgroup update web \
	-p post_install_jobs=noop
# The installer runs the finish script in a fake root with its own host keys.
mkdir -p "$TAP_TMP/etc/ssh"
ssh-keygen -q -t ed25519 -N '' -f "$TAP_TMP/etc/ssh/ssh_host_ed25519_key"
ssh-keygen -q -t rsa -b 2048 -N '' -f "$TAP_TMP/etc/ssh/ssh_host_rsa_key"
printf '%s\n' "$fin" | sed "s|/etc/ssh/|$TAP_TMP/etc/ssh/|; s|/tmp/drover-host-keys|$TAP_TMP/keys|g" \
	>"$TAP_TMP/finish.sh"
ok "the finish script reports built" env DROVER_TARGET="$TAP_TMP" sh "$TAP_TMP/finish.sh"
like "n1 is installed" "$("$DROVER" host list 2>&1)" 'n1 +web +- +installed +false'
i=0
until "$DROVER" job list --kind noop 2>/dev/null | grep -q succeeded || [ $i -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
like "its post-install job ran" "$("$DROVER" --json job list --kind noop 2>&1 | tr -d '\n ')" \
	'"host":"n1".*"owner":"\(installer\)"'
ok "hostgroup parameters can be replaced" "$DROVER" hostgroup update web \
	--parameters '{"role": "web", "ntp_server": "ntp.example.test"}'
ok "update -p changes one parameter" "$DROVER" hostgroup update web -p role=frontend -p tier=2
like "and keeps the others" "$("$DROVER" --json hostgroup show web | tr -d ' \n')" \
	'"parameters":\{"role":"frontend","ntp_server":"ntp.example.test","tier":2\}'
ok "--parameters replaces them all, -p beside it adds to that" "$DROVER" hostgroup update web \
	--parameters '{"role": "web"}' -p ntp_server=ntp.example.test
like "as given" "$("$DROVER" --json hostgroup show web | tr -d ' \n')" \
	'"parameters":\{"role":"web","ntp_server":"ntp.example.test"\}'
like "updating an unknown hostgroup's parameter names it" \
	"$("$DROVER" hostgroup update nope -p role=x 2>&1)" "nope"
kh=$("$DROVER" host known-hosts n1 2>&1)
printf '%s\n' "$kh" >"$TAP_TMP/kh"
ok "its ed25519 key is recorded for SSH" grep -qxF \
	"n1,n1.example.test,198.18.10.21 $(cut -d' ' -f1,2 "$TAP_TMP/etc/ssh/ssh_host_ed25519_key.pub")" \
	"$TAP_TMP/kh"
ok "and its RSA key" grep -qF "$(cut -d' ' -f1,2 "$TAP_TMP/etc/ssh/ssh_host_rsa_key.pub")" \
	"$TAP_TMP/kh"
is "the token is gone after built" \
	"$(curl -s -o /dev/null -w '%{http_code}' "$U/unattended/provision?token=$tok")" 404
like "iPXE now boots the local disk" "$(curl -s "$U/unattended/iPXE?mac=$MAC")" 'sanboot'
like "DHCP reservations are written for dnsmasq" "$(cat "$state/pxe/dhcp-hosts")" \
	'^52:54:00:12:34:56,198\.18\.10\.21,n1$'
like "dnsmasq.conf chains iPXE to droverd" "$(cat "$state/pxe/dnsmasq.conf")" \
	"dhcp-boot=tag:!drover-subnet,tag:ipxe,$U/unattended/iPXE"
if [ -x /usr/sbin/dnsmasq ]; then
	ok "dnsmasq --test accepts the configuration and the reservations" \
		/usr/sbin/dnsmasq --test --conf-file="$state/pxe/dnsmasq.conf"
fi

# --- failure path
ok "build again" "$DROVER" host build n1
tok=$(curl -s "$U/unattended/iPXE?mac=$MAC" | grep -o 'token=[0-9a-f]*' | head -1 | cut -d= -f2)
like "the build reservation is tagged" "$(cat "$state/pxe/dhcp-hosts")" \
	'^52:54:00:12:34:56,set:drover-build,198\.18\.10\.21,n1$'
ok "failed stores the installer log" curl -sf -X POST --data-binary 'partman: no disk' \
	"$U/unattended/failed?token=$tok"
like "the host is failed with its log" "$("$DROVER" host show n1 2>&1)" \
	'"failed_log": "partman: no disk"'
ok "build --cancel" "$DROVER" host build n1 --cancel
is "the cancelled token is dead" \
	"$(curl -s -o /dev/null -w '%{http_code}' "$U/unattended/provision?token=$tok")" 404
like "cancel takes the build tag off the reservation" "$(cat "$state/pxe/dhcp-hosts")" \
	'^52:54:00:12:34:56,198\.18\.10\.21,n1$'
# --- discovery
is "facts with a malformed MAC are refused" "$(curl -s -o /dev/null -w '%{http_code}' \
	-H 'Content-Type: application/json' -d '{"mac": "nope"}' "$U/unattended/discovery")" 422
is "facts for a known host's MAC are a conflict" "$(curl -s -o /dev/null -w '%{http_code}' \
	-d "{\"mac\": \"$MAC\"}" "$U/unattended/discovery")" 409
is "facts that are not JSON are a 400" "$(curl -s -o /dev/null -w '%{http_code}' \
	-d 'cpus=4' "$U/unattended/discovery")" 400
head -c 70000 /dev/zero | tr '\0' a | sed 's/^/{"mac": "52:54:00:00:00:77", "x": "/; s/$/"}/' \
	>"$TAP_TMP/bigfacts"
is "oversized facts are refused" "$(curl -s -o /dev/null -w '%{http_code}' \
	--data-binary @"$TAP_TMP/bigfacts" "$U/unattended/discovery")" 413
ok "an unknown machine posts its facts" curl -sf \
	-d '{"mac": "52:54:00:00:00:77", "cpus": 4, "memory_mb": 2048}' "$U/unattended/discovery"
like "discovered list" "$("$DROVER" discovered list 2>&1)" '52:54:00:00:00:77 +127\.0\.0\.1 +4 +2048'
like "provision needs a name" \
	"$("$DROVER" discovered provision 52:54:00:00:00:77 --hostgroup base 2>&1)" '422 name: required'
ok "discovered provision makes a host and builds it" "$DROVER" discovered provision \
	52:54:00:00:00:77 --name d1 --hostgroup web
like "d1 is building with the discovered MAC" "$("$DROVER" host show d1 2>&1 | tr -d '\n ')" \
	'"mac":"52:54:00:00:00:77".*"status":"building"'
like "and has its build reservation" "$(cat "$state/pxe/dhcp-hosts")" \
	'^52:54:00:00:00:77,set:drover-build,d1$'
like "a rule with a broken search is refused" "$("$DROVER" discovery-rule create --name bad \
	--search 'cpus >=' --hostgroup web 2>&1)" '422 search'
ok "a discovery rule for big machines" "$DROVER" discovery-rule create --name big \
	--search 'cpus >= 8 and memory_mb >= 4096' --hostgroup web --max-count 1 \
	--hostname "big-{{ mac | replace(':', '') }}"
ok "a small machine is only discovered" curl -sf \
	-d '{"mac": "52:54:00:00:00:81", "cpus": 2, "memory_mb": 2048}' "$U/unattended/discovery"
ok "a big machine is taken by the rule" curl -sf \
	-d '{"mac": "52:54:00:00:00:82", "cpus": 16, "memory_mb": 65536}' "$U/unattended/discovery"
like "into a building host named by the rule" "$("$DROVER" host list 2>&1)" \
	'big-525400000082 +web +- +building'
ok "a second big machine waits: max count reached" curl -sf \
	-d '{"mac": "52:54:00:00:00:83", "cpus": 16, "memory_mb": 65536}' "$U/unattended/discovery"
out=$("$DROVER" discovered list 2>&1)
like "the small and the second big one are listed" "$out" '52:54:00:00:00:81'
like "(the second)" "$out" '52:54:00:00:00:83'
like "the rule counts its host" "$("$DROVER" discovery-rule list 2>&1)" 'big .* 1 +1 *$'
like "an unknown discovered MAC is a 404" "$("$DROVER" discovered delete 52:54:00:00:00:78 2>&1)" \
	'404 no discovered host'

ok "host delete" "$DROVER" host delete d1
is "its reservation is gone, the others stay" \
	"$(grep -c -e '00:00:77' -e '^52:54:00:12:34:56,198\.18\.10\.21,n1$' "$state/pxe/dhcp-hosts")" 1
ok "host delete r1" "$DROVER" host delete r1
like "droverd kept serving" "$(curl -sf "$U/api/v2/status")" '"store": *"ok"'
done_testing
