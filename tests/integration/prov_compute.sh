#!/bin/sh
# prov_compute.sh - a compute resource's images and networks, read from the hypervisor
# live (libvirt's test driver, given a node file with two pools, an image volume and two
# networks): listed through the API in Foreman's shape and through the CLI, a VM made from
# them, unknown names refused naming the attribute, a viewer can list and not create, an
# unreachable hypervisor explained while the daemon keeps serving, and the UI's page and
# host form.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
. "$top_srcdir/tests/lib/ui.sh"
command -v curl >/dev/null || skip_all "curl is not installed"
[ -e /usr/lib/x86_64-linux-gnu/libvirt.so.0 ] || ldconfig -p | grep -q 'libvirt\.so\.0' ||
	skip_all "libvirt0 is not installed"

cat >"$TAP_TMP/node.xml" <<'XML'
<node>
  <network>
    <name>lab-net</name>
    <bridge name='virbr9'/>
    <forward mode='nat'/>
    <ip address='198.18.9.1' netmask='255.255.255.0'>
      <dhcp><range start='198.18.9.100' end='198.18.9.199'/></dhcp>
    </ip>
  </network>
  <network><name>isolated</name><bridge name='virbr8'/></network>
  <pool type='dir'>
    <name>images</name>
    <capacity unit='G'>100</capacity><allocation unit='G'>2</allocation>
    <available unit='G'>98</available>
    <target><path>/images</path></target>
    <volume type='file'>
      <name>debian12.qcow2</name>
      <capacity unit='G'>2</capacity><allocation unit='G'>1</allocation>
      <target><format type='qcow2'/></target>
    </volume>
  </pool>
  <pool type='dir'>
    <name>vms</name>
    <capacity unit='G'>100</capacity><allocation unit='G'>0</allocation>
    <available unit='G'>100</available>
    <target><path>/vms</path></target>
  </pool>
</node>
XML

ok "droverd starts" droverd_start "$TAP_TMP/state"
ok "drover login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
U=$DROVERD_URL
# code METHOD PATH TOKEN [BODY]: the status; the body goes to $TAP_TMP/body.
code() {
	curl -s -o "$TAP_TMP/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $3" \
		-H 'Content-Type: application/json' ${4:+-d "$4"} "$U$2"
}
token() {
	curl -s -d "{\"user\":\"$1\",\"password\":\"$2\",\"expires_in\":0}" \
		"$U/api/v2/tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
admin=$(token admin "$ADMIN_PASSWORD")

ok "a compute resource on the node" "$DROVER" compute-resource create --name node \
	--provider libvirt --url "test://$TAP_TMP/node.xml"
like "drover compute-resource images lists the volumes" \
	"$("$DROVER" compute-resource images node 2>&1)" \
	'images/debian12\.qcow2 +qcow2 +2147483648 +/images/debian12\.qcow2'
out=$("$DROVER" compute-resource networks node 2>&1)
like "drover compute-resource networks lists the networks with their DHCP range" "$out" \
	'lab-net +virbr9 +true +nat +198\.18\.9\.100 +198\.18\.9\.199'
like "and an isolated one" "$out" 'isolated +virbr8 +true +isolated'
is "GET /api/v2/compute_resources/:id/images" \
	"$(code GET /api/v2/compute_resources/node/images "$admin")" 200
like "in Foreman's list shape" "$(tr -d '\n ' <"$TAP_TMP/body")" \
	'"total":1,.*"results":\[\{.*"name":"debian12.qcow2".*"pool":"images"'
is "GET /api/v2/compute_resources/:id/networks" \
	"$(code GET /api/v2/compute_resources/node/networks "$admin")" 200
like "with bridge, state, forward mode" "$(tr -d '\n ' <"$TAP_TMP/body")" \
	'"total":2,.*"bridge":"virbr9".*"forward_mode":"nat"'
is "an unknown compute resource is a 404" \
	"$(code GET /api/v2/compute_resources/nope/images "$admin")" 404

# A VM from the image on a network.
ok "host create with an image and a network" "$DROVER" host create --name vm1 \
	--compute-resource node --compute-attributes \
	'{"image": "images/debian12.qcow2", "pool": "vms", "network": "lab-net", "disk_gb": 4}'
like "its disk is a new volume in the pool, as large as asked" \
	"$("$DROVER" compute-resource images node 2>&1)" \
	'vms/vm1-disk0\.qcow2 +qcow2 +4294967296'
like "an unknown image is a 422 naming the attribute" \
	"$("$DROVER" host create --name vm2 --compute-resource node --compute-attributes \
		'{"image": "images/nope", "pool": "vms"}' 2>&1)" \
	"422 compute_attributes.image: test://.*: no volume 'nope' in pool 'images'"
like "an unknown network too" \
	"$("$DROVER" host create --name vm2 --compute-resource node --compute-attributes \
		'{"network": "no-net", "pool": "vms"}' 2>&1)" \
	"422 compute_attributes.network: test://.*: no network 'no-net'"
is "and no host is left behind" "$(code GET /api/v2/hosts/vm2 "$admin")" 404

# A viewer lists, cannot create.
printf 'viewer-pass-1\n' | "$DROVER" user create --login vera --role viewer >/dev/null 2>&1
viewer=$(token vera viewer-pass-1)
is "a viewer lists images" "$(code GET /api/v2/compute_resources/node/images "$viewer")" 200
is "and networks" "$(code GET /api/v2/compute_resources/node/networks "$viewer")" 200
is "but cannot create a VM host" "$(code POST /api/v2/hosts "$viewer" \
	'{"name": "vm3", "compute_resource": "node", "compute_attributes": {"pool": "vms"}}')" 403

# An unreachable hypervisor.
ok "a compute resource that cannot be reached" "$DROVER" compute-resource create --name gone \
	--provider libvirt --url qemu+tcp://127.0.0.1:9/system
is "its images are a 502" "$(code GET /api/v2/compute_resources/gone/images "$admin")" 502
like "saying why" "$(cat "$TAP_TMP/body")" \
	'compute resource gone: qemu\+tcp://127\.0\.0\.1:9/system: .*'
like "the CLI says so too" "$("$DROVER" compute-resource networks gone 2>&1)" \
	'502.*compute resource gone: qemu\+tcp://127\.0\.0\.1:9/system: '
is "and the daemon keeps serving" "$(code GET /api/v2/compute_resources/node/networks "$admin")" 200

# The UI: the compute resource page and the host form.
ui_login admin "$ADMIN_PASSWORD" >/dev/null
# id PATH: the id of the object at an API path.
id() {
	code GET "$1" "$admin" >/dev/null
	tr -d '\n ' <"$TAP_TMP/body" | sed -n 's/.*"id":\([0-9]*\),"name".*/\1/p'
}
is "the compute resource page" "$(ui_page "/ui/compute_resources/$(id /api/v2/compute_resources/node)")" 200
like "lists the images" "$(ui_text "$TAP_TMP/page.html")" \
	'Images Image Pool Format Size \(MiB\) Path debian12\.qcow2 images qcow2 2048 /images/debian12\.qcow2'
like "and the networks" "$(ui_text "$TAP_TMP/page.html")" \
	'lab-net virbr9 active nat 198\.18\.9\.100 – 198\.18\.9\.199'
is "the unreachable one's page renders" "$(ui_page "/ui/compute_resources/$(id /api/v2/compute_resources/gone)")" 200
like "explaining" "$(ui_flat "$TAP_TMP/page.html")" 'role="alert">qemu\+tcp://127\.0\.0\.1:9/system'
is "the host form" "$(ui_page "/ui/hosts/$(id /api/v2/hosts/vm1)/edit")" 200
like "offers the images, the host's chosen" "$(ui_flat "$TAP_TMP/page.html")" \
	'<option value="images/debian12.qcow2" selected>'
like "and the networks" "$(ui_flat "$TAP_TMP/page.html")" \
	'name="compute_network".*<option value="isolated">isolated</option>'
token=$(ui_csrf)
out=$(ui_post "/ui/hosts/$(id /api/v2/hosts/vm1)/edit" name=vm1 compute_resource=node compute_image= \
	compute_network=isolated "csrf_token=$token")
like "the form changes the network and drops the image" "$out" '^303 /ui/hosts/[0-9]+$'
code GET /api/v2/hosts/vm1 "$admin" >/dev/null
like "keeping the other attributes" "$(tr -d '\n ' <"$TAP_TMP/body")" \
	'"compute_attributes":\{[^}]*"network":"isolated"'
unlike "without the image" "$(tr -d '\n ' <"$TAP_TMP/body")" '"image":"images/'

droverd_stop
done_testing
