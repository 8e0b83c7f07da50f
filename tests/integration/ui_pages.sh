#!/bin/sh
# ui_pages.sh - the provisioning and content pages through curl against a real droverd:
# subnets and hosts made through their forms (errors beside the field that caused them),
# the host page with its interfaces, parameters, build and power actions, the hosts
# search box (the search language), a template preview for a host, discovered hosts
# provisioned from the page, repositories, content views and errata pages, the dashboard
# widgets, RBAC (buttons per permission, refusals) and, with 10,000 hosts in the store,
# the hosts page and a host page under 20 ms; errata counts and a host's packages and
# errata; bulk actions from the hosts list; the repository edit form and content view
# filters.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
. "$top_srcdir/tests/lib/ui.sh"
for t in curl sqlite3 python3; do
	command -v $t >/dev/null || skip_all "$t is not installed"
done

state=$TAP_TMP/state
ok "droverd starts" droverd_start "$state"
ok "admin logs in (CLI)" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
ui_login admin "$ADMIN_PASSWORD" >/dev/null

for p in /ui/hosts /ui/hosts/new /ui/hostgroups /ui/subnets /ui/subnets/new /ui/domains \
	/ui/operatingsystems /ui/media /ui/ptables /ui/provisioning_templates \
	/ui/compute_resources /ui/architectures /ui/common_parameters /ui/discovery_rules \
	/ui/discovered_hosts /ui/repositories /ui/content_views /ui/errata; do
	is "page $p renders" "$(ui_page "$p")" 200
done
ui_page / >/dev/null
like "the navigation has the new pages" "$(ui_flat "$TAP_TMP/page.html")" \
	'href="/ui/hosts".*href="/ui/subnets".*href="/ui/repositories"'
token=$(ui_csrf)

# Subnets: a bad mask is explained beside the mask field; the form keeps what was typed.
is "a subnet with a bad mask is refused (422)" "$(ui_post /ui/subnets name=lab \
	network=198.18.10.0 mask=255.255.0.300 "csrf_token=$token")" 422
like "the message sits under the mask field" "$(ui_flat "$TAP_TMP/post.html")" \
	'<p class="error" id="e-mask">mask: '
like "and the name typed is kept" "$(ui_flat "$TAP_TMP/post.html")" 'id="f-name" name="name" value="lab"'
is "several missing fields are all marked at once" "$(ui_post /ui/subnets "csrf_token=$token")" 422
like "name and network each get a message" "$(ui_flat "$TAP_TMP/post.html")" \
	'id="e-name">required.*id="e-network">required'
is "a subnet made through the form" "$(ui_post /ui/subnets name=lab network=198.18.10.0 \
	mask=255.255.255.0 gateway=198.18.10.1 boot_mode=DHCP "parameters=ntp=ntp.example.test
rack = r1" "csrf_token=$token")" "303 /ui/subnets/1"
like "is what the API shows" "$("$DROVER" --json subnet show lab | tr -d ' \n')" \
	'"gateway":"198.18.10.1".*"parameters":\{"ntp":"ntp.example.test","rack":"r1"\}'
is "a parameters line without = is refused" "$(ui_post /ui/subnets/1/edit name=lab \
	network=198.18.10.0 mask=255.255.255.0 'parameters=oops' "csrf_token=$token")" 422
like "naming the line" "$(ui_flat "$TAP_TMP/post.html")" 'id="e-parameters">line 1: expected name=value'
is "an edit clears a field left empty" "$(ui_post /ui/subnets/1/edit name=lab \
	network=198.18.10.0 mask=255.255.255.0 parameters=ntp=ntp.example.test \
	"csrf_token=$token")" "303 /ui/subnets/1"
unlike "the gateway is gone" "$("$DROVER" --json subnet show lab)" 'gateway'

# Hosts: the form with an interface; a bad MAC is shown beside that interface's field.
is "a host with a bad MAC is refused (422)" "$(ui_post /ui/hosts name=web1 hostgroup=base \
	if0_type=interface if0_mac=52:54:00:zz if0_ip=198.18.10.21 if0_subnet=lab \
	"csrf_token=$token")" 422
like "the message sits under that MAC field" "$(ui_flat "$TAP_TMP/post.html")" \
	'id="e-if0_mac">interfaces\[0\].mac: expected a MAC address'
like "the address typed is kept" "$(ui_flat "$TAP_TMP/post.html")" 'name="if0_ip" value="198.18.10.21"'
is "an unknown hostgroup is refused beside its field" "$(ui_post /ui/hosts name=web1 \
	hostgroup=nope if0_type=interface if0_mac=52:54:00:00:10:21 "csrf_token=$token")" 422
like "naming it" "$(ui_flat "$TAP_TMP/post.html")" "id=\"e-hostgroup\">hostgroup: no hostgroup &#39;nope&#39;"
x='<script>alert(1)</script>'
is "a host made through the form" "$(ui_post /ui/hosts name=web1 hostgroup=base \
	"comment=$x" "parameters=role=$x" if0_type=interface if0_mac=52:54:00:00:10:21 \
	if0_ip=198.18.10.21 if0_subnet=lab if1_type=bmc if1_provider=redfish \
	if1_url=https://198.18.10.121 if1_username=root if1_password=bmc-secret \
	if2_type=interface "csrf_token=$token")" "303 /ui/hosts/1"
like "the API shows both interfaces" "$("$DROVER" --json host show web1 | tr -d ' \n')" \
	'"mac":"52:54:00:00:10:21".*"type":"bmc","provider":"redfish"'
is "the host page renders" "$(ui_page /ui/hosts/1)" 200
h=$(ui_text "$TAP_TMP/page.html")
like "with its interface and subnet" "$h" '52:54:00:00:10:21 198.18.10.21 lab'
like "its own parameters" "$h" 'role &lt;script&gt;alert\(1\)&lt;/script&gt; host'
like "and those it inherits from its subnet" "$h" 'ntp ntp.example.test inherited'
is "no raw payload on the host page" "$(grep -c '<script>alert' "$TAP_TMP/page.html")" 0
unlike "the BMC password is never shown" "$(ui_flat "$TAP_TMP/page.html")" 'bmc-secret|enc:v1'
like "status new, not in build mode" "$h" 'Status new Build mode no'
like "build, power, edit and delete are offered" "$(ui_flat "$TAP_TMP/page.html")" \
	'action="/ui/hosts/1/build".*action="/ui/hosts/1/power".*href="/ui/hosts/1/edit".*action="/ui/hosts/1/delete"'
is "the edit form renders with the stored values" "$(ui_page /ui/hosts/1/edit)" 200
like "the interfaces come back as rows" "$(ui_flat "$TAP_TMP/page.html")" \
	'name="if0_mac" value="52:54:00:00:10:21".*name="if1_url" value="https://198.18.10.121"'
is "an edit from the form keeps the BMC password it does not show" "$(ui_post /ui/hosts/1/edit \
	name=web1 hostgroup=base owner=ops if0_type=interface if0_mac=52:54:00:00:10:21 \
	if0_ip=198.18.10.21 if0_subnet=lab if1_type=bmc if1_provider=redfish \
	if1_url=https://198.18.10.121 if1_username=root "csrf_token=$token")" "303 /ui/hosts/1"
is "the password is still stored" "$(sqlite3 "$state/drover.db" \
	"SELECT data FROM prov_hosts WHERE name = 'web1'" 2>/dev/null | grep -c '"password":"enc:v1:')" 1

is "build from the page" "$(ui_post /ui/hosts/1/build "csrf_token=$token")" "303 /ui/hosts/1"
ui_page /ui/hosts/1 >/dev/null
like "the host is building, with its token's expiry" "$(ui_text "$TAP_TMP/page.html")" \
	'Status building Build mode yes \(token until'
like "and offers to cancel" "$(ui_flat "$TAP_TMP/page.html")" 'action="/ui/hosts/1/cancel_build"'
is "the host's provision template as a page" "$(ui_page /ui/hosts/1/templates/provision)" 200
like "is the preseed for web1" "$(ui_flat "$TAP_TMP/page.html")" 'netcfg/get_hostname string web1'
is "cancel the build" "$(ui_post /ui/hosts/1/cancel_build "csrf_token=$token")" "303 /ui/hosts/1"
like "the host left build mode" "$("$DROVER" --json host show web1 | tr -d ' \n')" '"build":false'
out=$(ui_post /ui/hosts/1/power power_action=status "csrf_token=$token")
like "a power action is a job, followed on its page" "$out" '^303 /ui/jobs/[0-9]+$'
is "an unknown power action is refused" "$(ui_post /ui/hosts/1/power power_action=explode \
	"csrf_token=$token")" 422
sleep 2
ui_page /ui/hosts/1 >/dev/null
like "the host page lists the power job" "$(ui_flat "$TAP_TMP/page.html")" \
	"href=\"${out#303 }\""

# The hosts list: search language, bad searches explained, paging.
is "a second host from the API" "$("$DROVER" host create --name db1 --hostgroup base \
	--mac 52:54:00:00:10:22 --ip 198.18.10.22 >/dev/null 2>&1; echo $?)" 0
ui_page "/ui/hosts?search=owner%20%3D%20ops" >/dev/null
like "search owner = ops finds web1" "$(ui_flat "$TAP_TMP/page.html")" 'href="/ui/hosts/1">web1'
unlike "and not db1" "$(ui_flat "$TAP_TMP/page.html")" '>db1<'
ui_page "/ui/hosts?search=ip%20%3D%20198.18.10.22" >/dev/null
like "search by an interface address" "$(ui_text "$TAP_TMP/page.html")" 'db1 new'
ui_page "/ui/hosts?search=db" >/dev/null
like "a bare word matches names" "$(ui_flat "$TAP_TMP/page.html")" '>db1<'
ui_page "/ui/hosts?search=colour%20%3D%20red" >/dev/null
like "an unknown field is explained under the box" "$(ui_flat "$TAP_TMP/page.html")" \
	'role="alert">search: column 1: unknown field &#39;colour&#39;'
ui_page "/ui/hosts?per_page=1&page=2" >/dev/null
like "paging: page 2 of 2 at one per page" "$(ui_text "$TAP_TMP/page.html")" '2 in all · page 2 of 2'

# What jobs learnt about a host (a package profile, stored as jobs/profile.c stores it, and
# errata as repos stores them): counts in the list, errata and packages on its page.
sqlite3 "$state/drover.db" <<'SQL'
INSERT INTO repo_errata (erratum_id, digest, type, severity, title, issued_at, updated_at, data)
VALUES ('DSA-5001-1', 'a1', 'security', 'Critical', 'openssl security update', 1764000000,
	1764000000, '{}'),
	('DLA-7002-1', 'b2', 'bugfix', NULL, 'bash bug fix', 1764100000, 1764100000, '{}');
INSERT INTO jobs_host_profiles (host_id, format, packages, package_count, reboot_required,
	applicable, applicable_count, installable_count, content_ids, fingerprint, collected_at,
	job_id)
SELECT id, 'apt', '[{"name":"bash","version":"5.1-2","arch":"amd64"},
	{"name":"openssl","version":"3.0.1-1","arch":"amd64"}]', 2, 1,
	'{"applicable":["DSA-5001-1","DLA-7002-1"],"installable":["DSA-5001-1"]}', 2, 1, '[]',
	'', 1764300000, NULL FROM prov_hosts WHERE name = 'web1';
SQL
ui_page /ui/hosts >/dev/null
like "the hosts list counts web1's errata" "$(ui_flat "$TAP_TMP/page.html")" \
	'href="/ui/hosts/1#h-errata" class="errata-count">2</a> <small>\(1 security\)'
ui_page "/ui/hosts?search=errata.security%20%3E%200" >/dev/null
like "and searches by them" "$(ui_text "$TAP_TMP/page.html")" 'web1 .* 1 in all'
ui_page /ui/hosts/1 >/dev/null
like "the host page lists its applicable errata, linked" "$(ui_flat "$TAP_TMP/page.html")" \
	'id="host-errata".*href="/ui/errata/DLA-7002-1">DLA-7002-1</a>.*href="/ui/errata/DSA-5001-1">DSA-5001-1</a></td><td data-label="Type">security</td><td data-label="Severity">Critical'
like "which are installable, and that a reboot is pending" "$(ui_text "$TAP_TMP/page.html")" \
	'2 applicable, 1 installable from the host.s content; a reboot is pending'
like "and its installed packages" "$(ui_flat "$TAP_TMP/page.html")" \
	'id="host-packages".*<td data-label="Name">bash</td><td data-label="Version">5.1-2</td>.*>openssl<'
ui_page /ui/hosts/2 >/dev/null
like "a host without a profile says so" "$(ui_text "$TAP_TMP/page.html")" 'No package profile yet'

# Bulk actions from the hosts list: select, confirm with the action's fields, results.
ui_page /ui/hosts >/dev/null
token=$(ui_csrf)
like "the list offers a selection per host" "$(ui_flat "$TAP_TMP/page.html")" \
	'<form id="bulk".*name="ids" value="2".*name="ids" value="1"'
"$DROVER" hostgroup create --name rack7 --parent base >/dev/null 2>&1
is "selecting two hosts to move" "$(ui_post /ui/hosts/bulk action=hostgroup ids=1 ids=2 \
	"csrf_token=$token")" 200
like "the confirmation names them and offers the hostgroups" "$(ui_flat "$TAP_TMP/post.html")" \
	'Change host group on 2 hosts.*>web1<.*>db1<.*<option value="rack7"'
is "moving them" "$(ui_post /ui/hosts/bulk/hostgroup ids=1 ids=2 hostgroup=rack7 \
	"csrf_token=$token")" 200
like "a result per host" "$(ui_text "$TAP_TMP/post.html")" 'web1 ok db1 ok'
like "both moved" "$("$DROVER" --json host list --search 'hostgroup = rack7' | tr -d ' \n')" \
	'"subtotal":2'
"$DROVER" host update web1 --hostgroup base >/dev/null 2>&1
"$DROVER" host update db1 --hostgroup base >/dev/null 2>&1
is "all hosts matching a search" "$(ui_post /ui/hosts/bulk action=power all=1 'search=name = db1' \
	ids=1 "csrf_token=$token")" 200
like "confirms the search, not the ticked host" "$(ui_flat "$TAP_TMP/post.html")" \
	'Power on 1 host<.*All hosts matching <code>name = db1</code>.*>db1<'
unlike "web1 is not in it" "$(ui_flat "$TAP_TMP/post.html")" '>web1<'
is "a bad power action is explained beside the field" "$(ui_post /ui/hosts/bulk/power all=1 \
	'search=name = db1' power_action=explode "csrf_token=$token")" 422
like "under the select" "$(ui_flat "$TAP_TMP/post.html")" 'id="e-power_action">expected on, off'
is "power in bulk" "$(ui_post /ui/hosts/bulk/power all=1 'search=name = db1' power_action=status \
	"csrf_token=$token")" 200
like "links each host's power job" "$(ui_flat "$TAP_TMP/post.html")" \
	'>db1</a>.*>ok<.*href="/ui/jobs/[0-9]+">job #'
like "a command in bulk is one job, followed on its page" "$(ui_post /ui/hosts/bulk/run ids=1 \
	ids=2 command=uptime "csrf_token=$token")" '^303 /ui/jobs/[0-9]+$'
out=$(ui_post /ui/hosts/bulk/errata ids=1 types=security "csrf_token=$token")
like "applying errata in bulk is a patch run" "$out" '^303 /ui/jobs/[0-9]+$'
like "with the types ticked" "$("$DROVER" --json job show "${out##*/}" | tr -d ' \n')" \
	'"kind":"patch_run".*"types":\["security"\]'
is "nothing selected is refused" "$(ui_post /ui/hosts/bulk action=delete "csrf_token=$token")" 422

# Templates: the editor previews the text being edited, for a chosen host, unsaved.
tid=$(sqlite3 "$state/drover.db" "SELECT id FROM prov_provisioning_templates WHERE name = 'drover_ntp'")
is "the template page renders" "$(ui_page "/ui/provisioning_templates/$tid")" 200
like "with the editor and a preview form" "$(ui_flat "$TAP_TMP/page.html")" \
	"<textarea id=\"f-template\".*formaction=\"/ui/provisioning_templates/$tid/preview\""
is "preview of an edit for web1" "$(ui_post "/ui/provisioning_templates/$tid/preview" \
	name=drover_ntp kind=snippet host=web1 \
	'template=host={{ host.name }} ip={{ host.ip }}' \
	"csrf_token=$token")" 200
like "is rendered in web1's context" "$(ui_flat "$TAP_TMP/post.html")" \
	'id="preview" tabindex="0">host=web1 ip=198.18.10.21'
like "the edited text stays in the editor" "$(ui_flat "$TAP_TMP/post.html")" 'host={{ host.name }}'
unlike "and was not saved" "$("$DROVER" --json template show drover_ntp)" 'host=\{\{'
ui_post "/ui/provisioning_templates/$tid/preview" host=web1 'template={{ x | nosuchfilter }}' \
	"csrf_token=$token" >/dev/null
like "a broken template is explained" "$(ui_flat "$TAP_TMP/post.html")" \
	'id="preview-error">drover_ntp:1: no filter named &#39;nosuchfilter&#39;'
ui_post "/ui/provisioning_templates/$tid/preview" host=nohost 'template=x' \
	"csrf_token=$token" >/dev/null
like "an unknown host is explained" "$(ui_flat "$TAP_TMP/post.html")" "no host &#39;nohost&#39;"

# Compute resources: the VMs on a libvirt hypervisor (libvirt's test:/// driver).
out=$(ui_post /ui/compute_resources name=lv provider=libvirt url=test:///default "csrf_token=$token")
like "a compute resource through the form" "$out" '^303 /ui/compute_resources/[0-9]+$'
is "its page renders" "$(ui_page "${out#303 }")" 200
like "listing the hypervisor's VMs with their power state" "$(ui_text "$TAP_TMP/page.html")" \
	'Virtual machines Name Power CPUs Memory \(MiB\) test on [0-9]+ [0-9]+'
out=$(ui_post /ui/compute_resources name=gone provider=libvirt url=qemu+tcp://127.0.0.1:9/system \
	"csrf_token=$token")
ui_page "${out#303 }" >/dev/null
like "an unreachable hypervisor is explained on the page" "$(ui_flat "$TAP_TMP/page.html")" \
	'role="alert">qemu\+tcp://127.0.0.1:9/system: '

# Discovered hosts: provisioned from the page.
curl -sf -d '{"mac": "52:54:00:00:00:77", "cpus": 4, "memory_mb": 2048}' \
	"$DROVERD_URL/unattended/discovery" >/dev/null
is "the discovered hosts page" "$(ui_page /ui/discovered_hosts)" 200
like "lists the machine with its facts" "$(ui_text "$TAP_TMP/page.html")" '52:54:00:00:00:77 127.0.0.1 4 2048'
# A machine's facts are its own strings: hostile ones are shown, escaped.
cat >"$TAP_TMP/facts.json" <<'JSON'
{"mac": "52:54:00:00:00:78", "cpus": 8, "memory_mb": 16384,
 "cpu_model": "Xeon <b>bold</b>", "firmware": "uefi", "secure_boot": true,
 "manufacturer": "Evil & \"Co\"", "product": "<script>alert(1)</script>", "serial": "S'1",
 "disks": [{"name": "sda", "size_bytes": 1073741824, "model": "<img src=x onerror=alert(2)>",
            "serial": "D<1>", "rotational": true},
           {"name": "nvme0n1", "size_bytes": 3221225472, "model": "NVMe", "serial": null,
            "rotational": false},
           "not a disk", {"name": {"x": "</td>"}, "size_bytes": "huge"}],
 "nics": [{"name": "eth0", "mac": "52:54:00:00:00:78", "link": true, "speed_mbps": 1000,
           "ip": "198.18.0.78"},
          {"name": "eth1\"><svg onload=alert(3)>", "mac": "52:54:00:00:00:79", "link": false,
           "speed_mbps": null, "ip": null}]}
JSON
is "a machine with hostile facts is discovered" "$(curl -s -o /dev/null -w '%{http_code}' \
	--data-binary @"$TAP_TMP/facts.json" "$DROVERD_URL/unattended/discovery")" 200
is "the page still answers" "$(ui_page /ui/discovered_hosts)" 200
flat=$(ui_flat "$TAP_TMP/page.html")
like "its row: firmware, Secure Boot, machine, disks' total GiB, NIC count" \
	"$(ui_text "$TAP_TMP/page.html")" \
	'52:54:00:00:00:78 127.0.0.1 8 16384 uefi on Evil &amp; &#34;Co&#34; &lt;script&gt;alert\(1\)&lt;/script&gt; 4\.0 2 '
unlike "no script element from the product name" "$flat" '<script>alert'
unlike "no img element from a disk model" "$flat" '<img src=x'
unlike "no svg element from a NIC name" "$flat" '<svg onload'
like "the details: CPU model, escaped" "$flat" 'CPU model</dt><dd>Xeon &lt;b&gt;bold&lt;/b&gt;</dd>'
like "every disk: name, size, model, serial, rotational" "$flat" \
	'<td data-label="Name">sda</td><td data-label="Size \(GiB\)">1\.0</td><td data-label="Model">&lt;img src=x onerror=alert\(2\)&gt;</td><td data-label="Serial">D&lt;1&gt;</td><td data-label="Rotational">yes</td>'
like "an SSD" "$flat" '<td data-label="Name">nvme0n1</td><td data-label="Size \(GiB\)">3\.0</td><td data-label="Model">NVMe</td><td data-label="Serial"></td><td data-label="Rotational">no</td>'
like "a disk with a non-text name shows it as JSON, escaped" "$flat" \
	'<td data-label="Name">\{&#34;x&#34;:&#34;&lt;/td&gt;&#34;\}</td><td data-label="Size \(GiB\)"></td>'
like "every NIC: name, MAC, link, speed, address" "$flat" \
	'<td data-label="Name">eth0</td><td data-label="MAC"><code>52:54:00:00:00:78</code></td><td data-label="Link">yes</td><td data-label="Speed \(Mb/s\)">1000</td><td data-label="Address">198\.18\.0\.78</td>'
like "a hostile NIC name, escaped" "$flat" \
	'<td data-label="Name">eth1&#34;&gt;&lt;svg onload=alert\(3\)&gt;</td><td data-label="MAC"><code>52:54:00:00:00:79</code></td><td data-label="Link">no</td>'
ok "(forgotten again)" "$DROVER" discovered delete 52:54:00:00:00:78
is "provision without a name is refused" "$(ui_post /ui/discovered_hosts/52:54:00:00:00:77/provision \
	hostgroup=base "csrf_token=$token")" 422
like "saying why beside that machine" "$(ui_flat "$TAP_TMP/post.html")" 'role="alert">name: required'
out=$(ui_post /ui/discovered_hosts/52:54:00:00:00:77/provision name=d1 hostgroup=base "csrf_token=$token")
like "provision from the page makes a host" "$out" '^303 /ui/hosts/[0-9]+$'
like "d1 is building with the discovered MAC" "$("$DROVER" --json host show d1 | tr -d ' \n')" \
	'"mac":"52:54:00:00:00:77".*"status":"building"'

# Content pages: products and repositories, content views, environments, errata.
is "a repository without a product is refused" "$(ui_post /ui/repositories name=r1 type=yum \
	url=http://127.0.0.1:9/x product=nope "csrf_token=$token")" 422
like "beside the product field" "$(ui_flat "$TAP_TMP/post.html")" "id=\"e-product\">no product &#39;nope&#39;"
is "a product from the page" "$(ui_post /ui/products name=test "csrf_token=$token")" "303 /ui/repositories"
is "an apt repository without a distribution is refused" "$(ui_post /ui/repositories name=r2 \
	type=apt url=http://127.0.0.1:9/x product=test "csrf_token=$token")" 422
like "beside the distribution field" "$(ui_flat "$TAP_TMP/post.html")" 'id="e-distribution">'
out=$(ui_post /ui/repositories name=r1 type=yum url=http://127.0.0.1:9/x product=test \
	"csrf_token=$token")
like "a repository from the page" "$out" '^303 /ui/repositories/[0-9]+$'
rid=${out##*/}
out=$(ui_post "/ui/repositories/$rid/sync" "csrf_token=$token")
like "sync now is a job, followed on its page" "$out" '^303 /ui/jobs/[0-9]+$'
"$DROVER" job follow "${out##*/}" >/dev/null 2>&1
ui_page "/ui/repositories/$rid" >/dev/null
like "the repository page shows the failed sync and why" "$(ui_text "$TAP_TMP/page.html")" \
	'Last sync failed .* Error .*127.0.0.1'
like "and links the sync job" "$(ui_flat "$TAP_TMP/page.html")" "href=\"/ui/jobs/${out##*/}\""
# The repository edit form: stored values shown, errors beside the field, lists per line.
is "the repository edit form" "$(ui_page "/ui/repositories/$rid/edit")" 200
like "shows the stored URL" "$(ui_flat "$TAP_TMP/page.html")" 'id="r-url" name="url" value="http://127.0.0.1:9/x"'
is "a bad URL is refused" "$(ui_post "/ui/repositories/$rid/edit" url=ftp://x/y "csrf_token=$token")" 422
like "beside the URL field" "$(ui_flat "$TAP_TMP/post.html")" 'id="e-url">url &#39;ftp://x/y&#39;: expected http'
is "a bad number is refused" "$(ui_post "/ui/repositories/$rid/edit" retain_versions=many \
	"csrf_token=$token")" 422
like "beside its field" "$(ui_flat "$TAP_TMP/post.html")" 'id="e-retain_versions">retain_versions: expected a number'
is "an edit from the form" "$(ui_post "/ui/repositories/$rid/edit" url=http://127.0.0.1:9/y \
	retain_versions=3 download_policy=on_demand "exclude=kernel*
firmware-*" "csrf_token=$token")" "303 /ui/repositories/$rid"
like "is what the API shows" "$("$DROVER" --json repo show r1 | tr -d ' \n')" \
	'"url":"http://127.0.0.1:9/y".*"download_policy":"on_demand".*"exclude":\["kernel\*","firmware-\*"\].*"retain_versions":3'
like "and is audited with before and after" "$(curl -s -b "$UI_JAR" \
	"$DROVERD_URL/api/v2/audits?search=resource%20%3D%20repository%20and%20action%20%3D%20update")" \
	'"subtotal":1,.*"before":\{.*"url":"http://127.0.0.1:9/x".*"after":\{.*"url":"http://127.0.0.1:9/y"'
# Clearing: an empty field clears an optional one; a required one is refused beside it.
key="-----BEGIN PGP PUBLIC KEY BLOCK-----
mDMEZ0000BYJKwYBBAHaRw8BAQdA
-----END PGP PUBLIC KEY BLOCK-----"
is "a GPG key, include patterns and an errata source from the form" \
	"$(ui_post "/ui/repositories/$rid/edit" "gpg_key=$key" "include=hello*" \
		errata_url=https://127.0.0.1:9/osv.zip "csrf_token=$token")" "303 /ui/repositories/$rid"
like "are stored" "$("$DROVER" --json repo show r1 | tr -d ' \n')" '"include":\["hello\*"\]'
is "the form with those fields emptied" "$(ui_post "/ui/repositories/$rid/edit" gpg_key= \
	include= exclude= errata_url= retain_versions= "csrf_token=$token")" "303 /ui/repositories/$rid"
out=$("$DROVER" --json repo show r1 | tr -d ' \n')
like "clears the patterns" "$out" '"include":\[\],.*"exclude":\[\]|"exclude":\[\],.*"include":\[\]'
unlike "and the GPG key" "$out" 'BEGIN PGP'
unlike "and the errata source" "$out" 'osv\.zip'
like "retain_versions back to 0 (all), the URL kept" "$out" '"url":"http://127.0.0.1:9/y".*"retain_versions":0'
is "an emptied URL is refused" "$(ui_post "/ui/repositories/$rid/edit" url= "csrf_token=$token")" 422
like "beside the URL field" "$(ui_flat "$TAP_TMP/post.html")" 'id="e-url">url: required, it cannot be cleared'
# The API: null clears, "" too for strings; required fields still 422.
bearer=$(sed -n 's/^token: "\(.*\)"/\1/p' "$DROVER_CONFIG")
apiput() {
	curl -s -o "$TAP_TMP/put.json" -w '%{http_code}' -X PUT -H "Authorization: Bearer $bearer" \
		-H 'Content-Type: application/json' -d "$2" "$DROVERD_URL$1"
}
is "PUT sets them again" "$(apiput "/api/v2/repositories/$rid" \
	'{"include": ["a*"], "exclude": ["b*"], "errata_url": "https://127.0.0.1:9/e.zip", "bandwidth_limit": 1000}')" 200
is "PUT with null clears" "$(apiput "/api/v2/repositories/$rid" \
	'{"include": null, "exclude": null, "bandwidth_limit": null}')" 200
like "the patterns and the limit" "$(tr -d ' \n' <"$TAP_TMP/put.json")" '"include":\[\],.*"exclude":\[\].*"bandwidth_limit":0|"bandwidth_limit":0.*"include":\[\],.*"exclude":\[\]'
like "leaving the rest" "$(tr -d ' \n' <"$TAP_TMP/put.json")" '"errata_url":"https://127.0.0.1:9/e.zip"'
is "PUT with \"\" clears a string" "$(apiput "/api/v2/repositories/$rid" '{"errata_url": ""}')" 200
unlike "the errata source is gone" "$(cat "$TAP_TMP/put.json")" 'e\.zip'
is "PUT with a null name is a 422" "$(apiput "/api/v2/repositories/$rid" '{"name": null}')" 422
like "naming the field" "$(cat "$TAP_TMP/put.json")" 'name: required, it cannot be cleared'
is "as is an empty URL" "$(apiput "/api/v2/repositories/$rid" '{"url": ""}')" 422
is "an environment from the page" "$(ui_post /ui/lifecycle_environments name=Prod prior=Library \
	"csrf_token=$token")" "303 /ui/content_views"
is "a content view from the page" "$(ui_post /ui/content_views name=cv1 repositories=r1 \
	"csrf_token=$token")" "303 /ui/content_views"
is "a content view with a bad name is refused" "$(ui_post /ui/content_views 'name=a b' \
	"csrf_token=$token")" 422
like "beside the name" "$(ui_flat "$TAP_TMP/post.html")" 'id="e-name">content view'
cvid=$(sqlite3 "$state/drover.db" "SELECT id FROM repo_content_views WHERE name = 'cv1'")
like "publish from the page is a job" "$(ui_post "/ui/content_views/$cvid/publish" \
	"csrf_token=$token")" '^303 /ui/jobs/[0-9]+$'
is "promote needs a version and an environment" "$(ui_post "/ui/content_views/$cvid/promote" \
	"csrf_token=$token")" 422
# Content view filters from the page.
is "an erratum filter from the page" "$(ui_post "/ui/content_views/$cvid/filters" type=erratum \
	mode=include types=security types=bugfix severities=Critical since=2026-01-01 \
	"csrf_token=$token")" "303 /ui/content_views"
is "a package filter" "$(ui_post "/ui/content_views/$cvid/filters" type=package mode=exclude \
	"patterns=kernel*, firmware-*" "csrf_token=$token")" "303 /ui/content_views"
like "both are what the next publish uses" "$("$DROVER" --json content-view show cv1 2>/dev/null |
	tr -d ' \n' || curl -s -b "$UI_JAR" "$DROVERD_URL/api/v2/content_views/cv1")" \
	'"filters":\[\{"type":"erratum","exclude":false,"types":\["security","bugfix"\],"severities":\["Critical"\],"since":1767225600\},\{"type":"package","exclude":true,"patterns":\["kernel\*","firmware-\*"\]\}\]'
ui_page /ui/content_views >/dev/null
like "the page lists them" "$(ui_text "$TAP_TMP/page.html")" \
	'Include only errata of type security, bugfix of severity Critical issued from 2026-01-01.*Exclude packages matching kernel\*, firmware-\*'
is "a bad date is refused" "$(ui_post "/ui/content_views/$cvid/filters" type=erratum since=yesterday \
	"csrf_token=$token")" 422
like "and explained in the view's section" "$(ui_flat "$TAP_TMP/post.html")" \
	"id=\"e-filter-$cvid\">since: expected a date"
is "a package filter without patterns is refused" "$(ui_post "/ui/content_views/$cvid/filters" \
	type=package "csrf_token=$token")" 422
is "removing the first filter" "$(ui_post "/ui/content_views/$cvid/filters/0/delete" \
	"csrf_token=$token")" "303 /ui/content_views"
like "leaves the other" "$(curl -s -b "$UI_JAR" "$DROVERD_URL/api/v2/content_views/cv1" | tr -d ' \n')" \
	'"filters":\[\{"type":"package","exclude":true'
is "an unknown filter is a 404" "$(ui_post "/ui/content_views/$cvid/filters/5/delete" \
	"csrf_token=$token")" 404
is "the view's description from the page" "$(ui_post "/ui/content_views/$cvid/edit" \
	"description=web servers" repositories=r1 "csrf_token=$token")" "303 /ui/content_views"
like "is saved" "$(curl -s -b "$UI_JAR" "$DROVERD_URL/api/v2/content_views/cv1" | tr -d '\n')" \
	'"description": *"web servers"'
is "an emptied description from the page" "$(ui_post "/ui/content_views/$cvid/edit" \
	description= repositories=r1 "csrf_token=$token")" "303 /ui/content_views"
like "clears it" "$(curl -s -b "$UI_JAR" "$DROVERD_URL/api/v2/content_views/cv1" | tr -d '\n')" \
	'"description": *""'
is "PUT description null on a content view" "$(apiput /api/v2/content_views/cv1 \
	'{"description": null, "filters": null}')" 200
like "clears it and the filters" "$(tr -d ' \n' <"$TAP_TMP/put.json")" \
	'"description":"".*"filters":\[\]|"filters":\[\].*"description":""'
is "the errata page filters by type and severity" \
	"$(ui_page '/ui/errata?type=security&severity=Critical')" 200
like "keeping the filter" "$(ui_flat "$TAP_TMP/page.html")" '<option value="security" selected>'
is "an unknown erratum is a 404" "$(ui_page /ui/errata/NOPE-1)" 404

# The dashboard: hosts by status, errata, repositories.
ui_page / >/dev/null
like "the dashboard shows hosts by status" "$(ui_flat "$TAP_TMP/page.html")" \
	'aria-label="Hosts by status".*href="/ui/hosts\?search=status%20%3D%20'
like "and the repositories needing attention" "$(ui_text "$TAP_TMP/page.html")" 'r1 failed'

# RBAC as people see it: a viewer gets the pages without forms, and is refused posts.
printf 'viewer-pass-3\n' | "$DROVER" user create --login vera --role viewer >/dev/null
ui_login vera viewer-pass-3 >/dev/null
is "a viewer sees the host page" "$(ui_page /ui/hosts/1)" 200
is "without build, power, edit or delete" \
	"$(grep -c 'action="/ui/hosts/1/build"\|action="/ui/hosts/1/power"\|/ui/hosts/1/edit\|action="/ui/hosts/1/delete"' \
		"$TAP_TMP/page.html")" 0
vtoken=$(ui_csrf)
is "the new host form is refused to a viewer (403)" "$(ui_page /ui/hosts/new)" 403
is "a viewer's host post is refused (403)" "$(ui_post /ui/hosts name=v1 "csrf_token=$vtoken")" 403
is "a viewer's build is refused (403)" "$(ui_post /ui/hosts/1/build "csrf_token=$vtoken")" 403
like "naming the permission" "$(ui_flat "$TAP_TMP/post.html")" 'lacks the permission hosts:build'
is "a viewer's sync is refused (403)" "$(ui_post "/ui/repositories/$rid/sync" "csrf_token=$vtoken")" 403
ui_page /ui/hosts >/dev/null
is "a viewer gets no bulk actions" "$(grep -c 'id="bulk"' "$TAP_TMP/page.html")" 0
is "a viewer's bulk delete is refused (403)" "$(ui_post /ui/hosts/bulk/delete ids=1 "csrf_token=$vtoken")" 403
is "a viewer's bulk confirmation for delete is refused (403)" \
	"$(ui_post /ui/hosts/bulk action=delete ids=1 "csrf_token=$vtoken")" 403
ui_page /ui/subnets >/dev/null
is "the subnets list offers a viewer no New or Delete" \
	"$(grep -c 'href="/ui/subnets/new"\|/delete"' "$TAP_TMP/page.html")" 0
ui_page /ui/subnets/1 >/dev/null
like "the subnet form is read-only for a viewer" "$(ui_flat "$TAP_TMP/page.html")" 'id="f-name" name="name" value="lab" autocomplete="off" readonly'
unlike "without a Save button" "$(ui_flat "$TAP_TMP/page.html")" '>Save<'
ui_page /ui/repositories >/dev/null
unlike "the repositories page offers a viewer no Sync or forms" "$(ui_flat "$TAP_TMP/page.html")" \
	'Sync now|action="/ui/repositories"|action="/ui/products"'
# A role limited to one hostgroup sees only those hosts, in the list and by id.
"$DROVER" hostgroup create --name web --parent base >/dev/null 2>&1
"$DROVER" host update db1 --hostgroup web >/dev/null 2>&1
"$DROVER" role create --name webviewer --permission 'hosts view hostgroup = web' >/dev/null
printf 'web-pass-1\n' | "$DROVER" user create --login wendy --role webviewer >/dev/null
ui_login wendy web-pass-1 >/dev/null
ui_page /ui/hosts >/dev/null
like "a filtered role lists its hosts" "$(ui_flat "$TAP_TMP/page.html")" '>db1<'
unlike "and not the others" "$(ui_flat "$TAP_TMP/page.html")" '>web1<'
is "another host's page is a 404 for it" "$(ui_page /ui/hosts/1)" 404
ui_page / >/dev/null
like "its dashboard counts only its hosts" "$(ui_text "$TAP_TMP/page.html")" 'Hosts by status \(1\)'

# 10,000 hosts: the hosts page and a host page stay under 20 ms (best of 10; the machine
# is shared, so a slow sample is not a regression, ten are).
# The rows go straight into the running droverd's store (WAL: it keeps serving).
python3 - "$state/drover.db" <<'EOF'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=60)
d = json.loads(db.execute("SELECT data FROM prov_hosts WHERE name = 'web1'").fetchone()[0])
rows, ifs = [], []
for i in range(10000):
    x = dict(d, name='node%05d' % i, status=('new', 'installed', 'failed')[i % 3], build=False)
    mac = '52:54:01:%02x:%02x:%02x' % (i >> 16 & 255, i >> 8 & 255, i & 255)
    ip = '198.19.%d.%d' % (i // 250, i % 250 + 1)
    x['interfaces'] = [{'type': 'interface', 'mac': mac, 'ip': ip, 'primary': True,
                        'provision': True, 'subnet_id': 1}]
    x['parameters'] = {'rack': 'r%d' % (i % 40)}
    rows.append((x['name'], json.dumps(x), 1764000000, 1764000000 + i))
    ifs.append((mac, ip, x['name']))
db.executemany("INSERT INTO prov_hosts (name, data, created_at, updated_at)"
               " VALUES (?, ?, ?, ?)", rows)
db.executemany("INSERT INTO prov_interfaces (mac, host_id, ip)"
               " SELECT ?, id, ? FROM prov_hosts WHERE name = ?", ifs)
db.commit()
EOF
like "10,000 more hosts are in the store" \
	"$(sqlite3 "$state/drover.db" "SELECT count(*) FROM prov_hosts")" '^100[0-9][0-9]$'
ui_login admin "$ADMIN_PASSWORD" >/dev/null
hid=$(sqlite3 "$state/drover.db" "SELECT id FROM prov_hosts WHERE name = 'node05000'")
# best PATH: the shortest of 10 full answers (a status other than 200 counts as 9 s).
best() {
	for i in 1 2 3 4 5 6 7 8 9 10; do
		curl -s -b "$UI_JAR" -o "$TAP_TMP/timed.html" -w '%{http_code} %{time_total}\n' \
			"$DROVERD_URL$1"
	done | awk '{ print ($1 == 200 ? $2 : 9) }' | sort -n | head -1
}
# The goal is for the plain build; AddressSanitizer makes droverd several times slower.
goal=20
ldd "$DROVERD" 2>/dev/null | grep -q libasan && goal=100
for p in /ui/hosts "/ui/hosts?page=300" "/ui/hosts/$hid" /ui/hosts/1 \
	"/ui/hosts?search=errata.security%20%3E%200" "/ui/hosts?search=installed%20%3D%20bash" \
	"/ui/hosts?search=name%20%3D%20node04242"; do
	t=$(best "$p")
	ok "$p renders in < $goal ms with 10,000 hosts (best of 10: ${t}s)" \
		awk -v t="$t" -v goal="$goal" 'BEGIN { exit !(t * 1000 < goal) }'
done
like "the timed page was the hosts list" "$(ui_flat "$TAP_TMP/timed.html")" '>node04242<.*1 in all'
ui_page "/ui/hosts?search=node0424" >/dev/null
like "a search over them finds node04242" "$(ui_flat "$TAP_TMP/page.html")" '>node04242<'
droverd_stop
is "droverd stopped cleanly: no sanitizer reports in its log" \
	"$(grep -c 'Sanitizer\|runtime error' "$TAP_TMP/droverd.log")" 0
done_testing
