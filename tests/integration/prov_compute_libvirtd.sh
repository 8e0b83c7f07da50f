#!/bin/sh
# prov_compute_libvirtd.sh - images and networks of a real libvirtd: a session daemon of
# its own (as nobody, everything under the test's directory, so the machine's libvirt
# configuration is never touched) with a directory pool holding a qcow2 image made by
# qemu-img and a NAT network defined by the test. Listed through the API and the CLI; a VM
# made with them gets an overlay of the image on that network; unknown names are refused.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (to run libvirtd as another user)"
for t in libvirtd virsh qemu-img qemu-system-x86_64 setpriv curl; do
	command -v $t >/dev/null || skip_all "$t is not installed"
done

lv=$TAP_TMP/lv
mkdir -p "$lv/cfg" "$lv/run" "$lv/cache" "$lv/home" "$lv/pool"
chmod -R 777 "$lv"
chmod 755 "$TAP_TMP"
LVPID=
trap 'droverd_stop; [ -n "$LVPID" ] && kill "$LVPID" 2>/dev/null && wait "$LVPID"; rm -rf "$TAP_TMP"' EXIT
setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$lv/home" \
	XDG_CONFIG_HOME="$lv/cfg" XDG_RUNTIME_DIR="$lv/run" XDG_CACHE_HOME="$lv/cache" \
	libvirtd >"$lv/log" 2>&1 &
LVPID=$!
i=0
until [ -S "$lv/run/libvirt/libvirt-sock" ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
ok "a session libvirtd runs" test -S "$lv/run/libvirt/libvirt-sock"
URI="qemu:///session?socket=$lv/run/libvirt/libvirt-sock"
v() { virsh -q -c "$URI" "$@"; }
ok "a pool with an image" sh -c "virsh -q -c '$URI' pool-define-as images dir --target '$lv/pool' >/dev/null &&
	virsh -q -c '$URI' pool-start images >/dev/null &&
	virsh -q -c '$URI' vol-create-as images base.qcow2 64M --format qcow2 >/dev/null"
cat >"$lv/net.xml" <<'XML'
<network><name>labnet</name><bridge name='virbr77'/><forward mode='nat'/>
<ip address='198.18.77.1' netmask='255.255.255.0'><dhcp>
<range start='198.18.77.10' end='198.18.77.20'/></dhcp></ip></network>
XML
ok "a network" v net-define "$lv/net.xml"

ok "droverd starts" droverd_start "$TAP_TMP/state"
ok "drover login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
ok "a compute resource on it" "$DROVER" compute-resource create --name lv --provider libvirt \
	--url "$URI"
like "its images" "$("$DROVER" compute-resource images lv 2>&1)" \
	"images/base\\.qcow2 +qcow2 +67108864 +$lv/pool/base\\.qcow2"
like "its networks" "$("$DROVER" compute-resource networks lv 2>&1)" \
	'labnet +virbr77 +false +nat +198\.18\.77\.10 +198\.18\.77\.20'
like "through the API" "$("$DROVER" --json compute-resource networks lv | tr -d ' \n')" \
	'"total":1,.*"name":"labnet"'
ok "a VM host from the image on the network" "$DROVER" host create --name vm1 \
	--compute-resource lv --compute-attributes \
	'{"image": "images/base.qcow2", "pool": "images", "network": "labnet", "disk_gb": 1, "memory_mb": 128}'
like "its disk is an overlay of the image" "$(qemu-img info "$lv/pool/vm1-disk0.qcow2" 2>&1)" \
	"backing file: $lv/pool/base\\.qcow2"
like "as large as asked" "$(qemu-img info "$lv/pool/vm1-disk0.qcow2" 2>&1)" 'virtual size: 1 GiB'
xml=$(v dumpxml vm1 | tr -d '\n')
like "the VM boots from its disk first" "$xml" "<boot dev='hd'/> *<boot dev='network'/>"
like "on the network" "$xml" "<interface type='network'>.*<source network='labnet'"
like "an unknown image is refused naming the attribute" \
	"$("$DROVER" host create --name vm2 --compute-resource lv --compute-attributes \
		'{"image": "images/nope.qcow2", "pool": "images", "network": "labnet"}' 2>&1)" \
	"422 compute_attributes.image: qemu:///session.*: no volume 'nope.qcow2' in pool 'images'"
like "an unknown network too" \
	"$("$DROVER" host create --name vm2 --compute-resource lv --compute-attributes \
		'{"pool": "images", "network": "nonet"}' 2>&1)" \
	"422 compute_attributes.network: qemu:///session.*: no network 'nonet'"
ok "deleting the host" "$DROVER" host delete vm1
is "removes the VM" "$(v list --all --name | grep -c vm1)" 0
ok "and its overlay" test ! -e "$lv/pool/vm1-disk0.qcow2"
ok "but not the image" test -e "$lv/pool/base.qcow2"
done_testing
