#!/bin/sh
# api_hosts.sh - hosts and the other provisioning and content lists through the API
# framework on a real droverd: the search language over hosts (hostgroup, MAC, IP, status),
# order and paging, a custom role limited to one hostgroup seeing only its hosts (404 on
# the others for show, update, build and power, 403 for what it may not do at all),
# lists answered again after a write, ETags, and the same framework on repos lists; hosts
# searched by what jobs learnt about them (installed packages, applicable errata), their
# packages and errata as lists, and bulk actions within the caller's role filter.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
command -v curl >/dev/null || skip_all "curl is not installed"
command -v sqlite3 >/dev/null || skip_all "sqlite3 is not installed"

state=$TAP_TMP/state
ok "droverd starts" droverd_start "$state"
ok "admin logs in" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
admin=$(sed -n 's/^token: "\(.*\)"/\1/p' "$DROVER_CONFIG")

# code METHOD PATH TOKEN [BODY]: the HTTP status of one API call; the body in $TAP_TMP/body.
code() {
	if [ -n "${4:-}" ]; then
		curl -s -o "$TAP_TMP/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $3" \
			-H 'Content-Type: application/json' -d "$4" "$DROVERD_URL$2"
	else
		curl -s -o "$TAP_TMP/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $3" \
			"$DROVERD_URL$2"
	fi
}
# get PATH TOKEN: the body of a GET.
get() { curl -s -H "Authorization: Bearer $2" "$DROVERD_URL$1"; }
token() {
	curl -s -d "{\"user\":\"$1\",\"password\":\"$2\"}" "$DROVERD_URL/api/v2/tokens" |
		sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
q() { printf '%s' "$1" | sed 's/ /%20/g; s/=/%3D/g; s/~/%7E/g; s/\^/%5E/g; s/,/%2C/g'; }

is "hostgroup web" "$(code POST /api/v2/hostgroups "$admin" '{"name":"web","parent":"base"}')" 201
is "hostgroup db" "$(code POST /api/v2/hostgroups "$admin" '{"name":"db","parent":"base"}')" 201
for h in w1:web:1 w2:web:2 d1:db:3 d2:db:4; do
	n=${h%%:*}; g=${h#*:}; g=${g%%:*}; m=${h##*:}
	code POST /api/v2/hosts "$admin" "{\"name\":\"$n\",\"hostgroup\":\"$g\",
		\"interfaces\":[{\"mac\":\"52:54:00:aa:00:0$m\",\"ip\":\"198.18.20.$m\"}]}" >/dev/null
done
like "four hosts" "$(get '/api/v2/hosts' "$admin")" '"total":4,"subtotal":4,'

# --- search, order, paging
like "hostgroup = web" "$(get "/api/v2/hosts?search=$(q 'hostgroup = web')" "$admin")" \
	'"subtotal":2,.*"name":"w1".*"name":"w2"'
like "by MAC" "$(get "/api/v2/hosts?search=$(q 'mac = 52:54:00:aa:00:03')" "$admin")" \
	'"subtotal":1,.*"name":"d1"'
like "by IP prefix" "$(get "/api/v2/hosts?search=$(q 'ip ~ 198.18.20.*')" "$admin")" \
	'"subtotal":4,'
like "mac != X excludes the host that has X" \
	"$(get "/api/v2/hosts?search=$(q 'mac != 52:54:00:aa:00:03')" "$admin")" '"subtotal":3,'
like "a list of hostgroups" "$(get "/api/v2/hosts?search=$(q 'hostgroup ^ (db, nope) and status = new')" \
	"$admin")" '"subtotal":2,'
like "order by name desc" "$(get "/api/v2/hosts?order=$(q 'name desc')&per_page=1" "$admin")" \
	'"per_page":1,.*"results":\[\{.*"name":"w2"'
like "page 2" "$(get '/api/v2/hosts?per_page=3&page=2' "$admin")" '"page":2,"per_page":3,.*"name":"w2"'
is "an unknown field is a 422" "$(code GET "/api/v2/hosts?search=$(q 'colour = red')" "$admin")" 422
like "naming the field and the known ones" "$(cat "$TAP_TMP/body")" \
	'"fields":\{"search":"search: column 1: unknown field .colour. \(known: id, name,'
is "a bad order is a 422" "$(code GET "/api/v2/hosts?order=$(q 'mac sideways')" "$admin")" 422
is "per_page over the cap is a 422" "$(code GET '/api/v2/hosts?per_page=5000' "$admin")" 422
like "other provisioning lists take the language" \
	"$(get "/api/v2/subnets?search=$(q 'name ~ x')" "$admin")" '"total":0,"subtotal":0,'
like "discovered hosts are a list too" "$(get '/api/v2/discovered_hosts' "$admin")" \
	'"total":0,"subtotal":0,"page":1,"per_page":20,"search":null,"results":\[\]'

# --- the answer follows writes and carries an ETag
get '/api/v2/hosts' "$admin" >/dev/null
is "a fifth host" "$(code POST /api/v2/hosts "$admin" '{"name":"w3","hostgroup":"web"}')" 201
like "the list shows it at once" "$(get '/api/v2/hosts' "$admin")" '"total":5,.*"name":"w3"'
is "renaming a hostgroup" "$(code PUT /api/v2/hostgroups/db "$admin" '{"name":"database"}')" 200
like "shows in the host list" "$(get "/api/v2/hosts?search=$(q 'name = d1')" "$admin")" \
	'"hostgroup_name":"database"'
etag=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $admin" "$DROVERD_URL/api/v2/hosts" |
	sed -n 's/^[Ee][Tt][Aa][Gg]: *\([^\r]*\).*/\1/p')
like "lists have an ETag" "$etag" '^".+"$'
is "If-None-Match gives a 304" "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer $admin" -H "If-None-Match: $etag" "$DROVERD_URL/api/v2/hosts")" 304
code DELETE /api/v2/hosts/w3 "$admin" >/dev/null
is "after a change the old ETag no longer matches" "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer $admin" -H "If-None-Match: $etag" "$DROVERD_URL/api/v2/hosts")" 200

# --- a role limited to hostgroup web
is "a role for the web hosts" "$(code POST /api/v2/roles "$admin" '{"name":"webops",
	"permissions":[{"resource":"hosts","action":"view","search":"hostgroup = web"},
	{"resource":"hosts","action":"edit","search":"hostgroup = web"},
	{"resource":"hosts","action":"build","search":"hostgroup = web"}]}')" 201
is "a filter with an unknown host field is refused" "$(code POST /api/v2/roles "$admin" \
	'{"name":"bad","permissions":[{"resource":"hosts","action":"view","search":"rack = 1"}]}')" 422
printf 'webops-pass-1\n' | "$DROVER" user create --login wendy --role webops >/dev/null 2>&1
wendy=$(token wendy webops-pass-1)
list=$(get '/api/v2/hosts?per_page=100' "$wendy")
like "the filtered role lists the web hosts" "$list" '"total":2,"subtotal":2,.*"name":"w1".*"name":"w2"'
is "and no other" "$(printf '%s' "$list" | grep -c '"name":"d[12]"')" 0
like "its searches stay inside the filter" \
	"$(get "/api/v2/hosts?search=$(q 'name ~ d')" "$wendy")" '"total":2,"subtotal":0,'
is "it sees w1" "$(code GET /api/v2/hosts/w1 "$wendy")" 200
like "with its hostgroup by name" "$(cat "$TAP_TMP/body")" '"hostgroup_name":"web"'
is "d1 is hidden from it (404)" "$(code GET /api/v2/hosts/d1 "$wendy")" 404
like "as if absent" "$(cat "$TAP_TMP/body")" "no host 'd1'"
id=$(get "/api/v2/hosts?search=$(q 'name = d1')" "$admin" | sed -n 's/.*"id":\([0-9]*\),"name":"d1".*/\1/p')
is "by id too" "$(code GET "/api/v2/hosts/$id" "$wendy")" 404
is "it edits w1" "$(code PUT /api/v2/hosts/w1 "$wendy" '{"comment":"web host"}')" 200
is "it cannot edit d1" "$(code PUT /api/v2/hosts/d1 "$wendy" '{"comment":"mine now"}')" 404
is "d1 is unchanged" "$(get /api/v2/hosts/d1 "$admin" | grep -c 'mine now')" 0
is "it cannot build d1" "$(code POST /api/v2/hosts/d1/build "$wendy")" 404
is "it cannot preview d1's templates" "$(code GET /api/v2/hosts/d1/templates/provision "$wendy")" 404
is "it cannot delete w1 (no such permission)" "$(code DELETE /api/v2/hosts/w1 "$wendy")" 403
is "it cannot power w1 (no such permission)" "$(code POST /api/v2/hosts/w1/power "$wendy" \
	'{"power_action":"status"}')" 403
is "it cannot list hostgroups" "$(code GET /api/v2/hostgroups "$wendy")" 403
is "it cannot create hosts" "$(code POST /api/v2/hosts "$wendy" '{"name":"x1"}')" 403
is "moving d2 into web" "$(code PUT /api/v2/hosts/d2 "$admin" '{"hostgroup":"web"}')" 200
like "puts d2 in its list" "$(get '/api/v2/hosts' "$wendy")" '"total":3,.*"name":"d2"'

# --- what jobs learnt about hosts: package profiles and applicable errata, stored as
# jobs/profile.c stores them (the collection itself is tested in jobs_remote.sh), with the
# errata as repos stores them.
db=$state/drover.db
sqlite3 "$db" <<'SQL'
INSERT INTO repo_errata (erratum_id, digest, type, severity, title, issued_at, updated_at, data)
VALUES ('DSA-5001-1', 'a1', 'security', 'Critical', 'openssl security update', 1764000000,
	1764000000, '{"references":[{"type":"cve","id":"CVE-2026-0001"}]}'),
	('DLA-7002-1', 'b2', 'bugfix', NULL, 'bash bug fix', 1764100000, 1764100000, '{}'),
	('RHEA-2026:3', 'c3', 'enhancement', NULL, 'nginx enhancement', 1764200000, 1764200000, '{}');
INSERT INTO jobs_host_profiles (host_id, format, packages, package_count, reboot_required,
	applicable, applicable_count, installable_count, content_ids, fingerprint, collected_at,
	job_id)
SELECT id, 'apt', '[{"name":"bash","version":"5.1-2","arch":"amd64"},
	{"name":"openssl","version":"3.0.1-1","arch":"amd64"},
	{"name":"zlib1g","version":"1:1.2.13","arch":"amd64"}]', 3, 1,
	'{"applicable":["DSA-5001-1","DLA-7002-1"],"installable":["DSA-5001-1"]}', 2, 1, '[]',
	'', 1764300000, NULL FROM prov_hosts WHERE name = 'w1';
INSERT INTO jobs_host_profiles (host_id, format, packages, package_count, reboot_required,
	applicable, applicable_count, installable_count, content_ids, fingerprint, collected_at,
	job_id)
SELECT id, 'yum', '[{"name":"nginx","epoch":"1","version":"1.20.1","release":"14.el9",
	"arch":"x86_64"}]', 1, 0, '{"applicable":["RHEA-2026:3"],"installable":[]}', 1, 0, '[]',
	'', 1764300000, NULL FROM prov_hosts WHERE name = 'd1';
SQL
like "installed = bash" "$(get "/api/v2/hosts?search=$(q 'installed = bash')" "$admin")" \
	'"subtotal":1,.*"name":"w1"'
like "installed ~ a pattern" "$(get "/api/v2/hosts?search=$(q 'installed ~ ngin')" "$admin")" \
	'"subtotal":1,.*"name":"d1"'
like "installed != bash: every host without it" \
	"$(get "/api/v2/hosts?search=$(q 'installed != bash')" "$admin")" '"subtotal":3,'
like "errata.security > 0" "$(get "/api/v2/hosts?search=$(q 'errata.security > 0')" "$admin")" \
	'"subtotal":1,.*"name":"w1"'
like "errata.enhancement > 0" \
	"$(get "/api/v2/hosts?search=$(q 'errata.enhancement > 0')" "$admin")" '"subtotal":1,.*"name":"d1"'
like "errata.bugfix = 1" "$(get "/api/v2/hosts?search=$(q 'errata.bugfix = 1')" "$admin")" \
	'"subtotal":1,.*"name":"w1"'
like "errata.total = 0: hosts without a profile too" \
	"$(get "/api/v2/hosts?search=$(q 'errata.total = 0')" "$admin")" '"subtotal":2,'
like "ordered by errata" "$(get "/api/v2/hosts?order=$(q 'errata.total desc')&per_page=2" "$admin")" \
	'"results":\[\{.*"name":"w1".*"name":"d1"'
like "reboot_required" "$(get "/api/v2/hosts?search=$(q 'reboot_required = true')" "$admin")" \
	'"subtotal":1,.*"name":"w1"'
is "a role filtered by errata is accepted" "$(code POST /api/v2/roles "$admin" '{"name":"patchers",
	"permissions":[{"resource":"hosts","action":"view","search":"errata.security > 0"}]}')" 201
like "w1's packages" "$(get /api/v2/hosts/w1/packages "$admin")" \
	'"total":3,"subtotal":3,"page":1,"per_page":20,"search":null,"results":\[\{.*"name":"bash".*"nvra":"bash-5.1-2.amd64".*"name":"openssl".*"name":"zlib1g"'
like "searched and paged" \
	"$(get "/api/v2/hosts/w1/packages?search=$(q 'name ~ l')&per_page=1&page=2" "$admin")" \
	'"total":3,"subtotal":2,"page":2,"per_page":1,.*"results":\[\{[^]]*"name":"zlib1g"'
like "rpm packages with epoch and release" "$(get /api/v2/hosts/d1/packages "$admin")" \
	'"nvrea":"nginx-1:1.20.1-14.el9.x86_64"'
like "no profile: no packages" "$(get /api/v2/hosts/w2/packages "$admin")" '"total":0,'
is "a bad package search is a 422" \
	"$(code GET "/api/v2/hosts/w1/packages?search=$(q 'colour = red')" "$admin")" 422
like "w1's errata, newest first" "$(get /api/v2/hosts/w1/errata "$admin")" \
	'"total":2,.*"errata_id":"DLA-7002-1".*"type":"bugfix".*"installable":false.*"errata_id":"DSA-5001-1".*"type":"security","severity":"Critical"'
like "by type" "$(get "/api/v2/hosts/w1/errata?search=$(q 'type = security')" "$admin")" \
	'"subtotal":1,.*"installable":true'
is "an unknown host's errata: 404" "$(code GET /api/v2/hosts/nope/errata "$admin")" 404
is "the filtered role sees w1's packages" "$(code GET /api/v2/hosts/w1/packages "$wendy")" 200
is "not d1's (404)" "$(code GET /api/v2/hosts/d1/packages "$wendy")" 404
is "nor its errata (404)" "$(code GET /api/v2/hosts/d1/errata "$wendy")" 404
like "its errata search stays inside its filter" \
	"$(get "/api/v2/hosts?search=$(q 'errata.total > 0')" "$wendy")" '"subtotal":1,.*"name":"w1"'
like "a host's errata by CVE" \
	"$(get "/api/v2/hosts/w1/errata?search=$(q 'cve = CVE-2026-0001')" "$admin")" \
	'"subtotal":1,.*"errata_id":"DSA-5001-1"'
like "hosts an erratum applies to" \
	"$(get "/api/v2/hosts?search=$(q 'applicable_erratum = DLA-7002-1')" "$admin")" \
	'"subtotal":1,.*"name":"w1"'
like "hosts that can install it" \
	"$(get "/api/v2/hosts?search=$(q 'installable_erratum = DSA-5001-1')" "$admin")" \
	'"subtotal":1,.*"name":"w1"'
like "none can install RHEA-2026:3" \
	"$(get "/api/v2/hosts?search=$(q 'installable_erratum = "RHEA-2026:3"')" "$admin")" \
	'"subtotal":0,'
out=$("$DROVER" erratum list --host w1)
like "drover erratum list --host: the host's errata" "$out" 'DLA-7002-1 +bugfix'
like "with whether its content can install each" "$out" 'DSA-5001-1 +security +Critical +[-0-9T:Z]+ +true +openssl'
is "two rows and a header" "$(echo "$out" | wc -l)" 3
like "--type" "$("$DROVER" erratum list --host w1 --type security)" 'DSA-5001-1'
is "only that type" "$("$DROVER" erratum list --host w1 --type security | grep -c DLA)" 0
like "--cve" "$("$DROVER" --json erratum list --host w1 --cve CVE-2026-0001 | tr -d ' \n')" \
	'"subtotal":1,.*"errata_id":"DSA-5001-1"'
is "--installable" "$("$DROVER" erratum list --host w1 --installable | awk 'NR > 1 { print $1 }')" \
	DSA-5001-1
like "--since" "$("$DROVER" erratum list --host w1 --since 2025-11-25T00:00:00Z)" 'DLA-7002-1'
is "--since: only newer ones" \
	"$("$DROVER" erratum list --host w1 --since 2025-11-25T00:00:00Z | grep -c DSA)" 0
out=$("$DROVER" erratum list --host nope 2>&1)
is "an unknown host fails" $? 1
like "naming it" "$out" "no host 'nope'"
like "--installable needs --host" "$("$DROVER" erratum list --installable 2>&1)" 'only with --host'
like "--repository is not for a host" "$("$DROVER" erratum list --host w1 --repository r 2>&1)" \
	'not with --host'
like "a quote in a value is refused" "$("$DROVER" erratum list --host w1 --type 'a"b' 2>&1)" \
	"--type: 'a\"b' has a quote"
out=$("$DROVER" erratum show DSA-5001-1)
like "drover erratum show: the hosts it applies to" "$out" 'hosts \(1\):'
like "and whether each can install it" "$out" 'w1 +true'
like "not installable on w1" "$("$DROVER" erratum show DLA-7002-1 --host w1)" \
	'w1: applicable, not installable from its content'
like "installable on w1" "$("$DROVER" erratum show DSA-5001-1 --host w1)" \
	'w1: applicable, installable from its content'
like "not applicable to w2" "$("$DROVER" erratum show DSA-5001-1 --host w2)" \
	'w2: not applicable'
like "as JSON with its hosts" "$("$DROVER" --json erratum show DSA-5001-1 | tr -d ' \n')" \
	'"hosts":\[\{"id":[0-9]+,"name":"w1","installable":true\}\]'
get "/api/v2/hosts?search=$(q 'errata.security > 0')" "$admin" >/dev/null
sqlite3 "$db" "UPDATE jobs_host_profiles SET applicable = '{\"applicable\":[\"DSA-5001-1\"],
	\"installable\":[]}' WHERE host_id = (SELECT id FROM prov_hosts WHERE name = 'd1')"
like "a new profile shows in the next answer (the cache follows the store)" \
	"$(get "/api/v2/hosts?search=$(q 'errata.security > 0')" "$admin")" '"subtotal":2,'

# --- bulk actions: each host within the caller's filter for the action
hid() { sqlite3 "$db" "SELECT id FROM prov_hosts WHERE name = '$1'"; }
is "the filtered role moves hosts in bulk" "$(code POST /api/v2/hosts/bulk/hostgroup "$wendy" \
	"{\"ids\":[\"w1\",$(hid d1)],\"hostgroup\":\"web\"}")" 200
like "w1 done, d1 refused as if absent" "$(cat "$TAP_TMP/body")" \
	'"action":"hostgroup","results":\[\{"id":[0-9]+,"name":"w1","status":"ok"\},\{"id":[0-9]+,"status":"not_found","error":"no such host, or not within your role.s filter"\}\]'
like "d1 stayed in its hostgroup" "$(get /api/v2/hosts/d1 "$admin")" '"hostgroup_name":"database"'
is "a search in bulk" "$(code POST /api/v2/hosts/bulk/hostgroup "$wendy" \
	'{"search":"name ~ d","hostgroup":"web"}')" 200
like "finds only the hosts it may touch" "$(cat "$TAP_TMP/body")" \
	'"results":\[\{"id":[0-9]+,"name":"d2","status":"ok"\}\]'
is "it may not delete in bulk (403)" \
	"$(code POST /api/v2/hosts/bulk/delete "$wendy" '{"ids":["w1"]}')" 403
is "it may not power in bulk (403)" "$(code POST /api/v2/hosts/bulk/power "$wendy" \
	'{"ids":["w1"],"power_action":"status"}')" 403
is "ids and search together: 422" "$(code POST /api/v2/hosts/bulk/build "$admin" \
	'{"ids":["w1"],"search":"name = w1"}')" 422
is "a bad power action: 422" "$(code POST /api/v2/hosts/bulk/power "$admin" \
	'{"ids":["w1"],"power_action":"explode"}')" 422
like "naming the field" "$(cat "$TAP_TMP/body")" '"fields":\{"power_action":'
is "an unknown hostgroup: 422" "$(code POST /api/v2/hosts/bulk/hostgroup "$admin" \
	'{"ids":["w1"],"hostgroup":"nope"}')" 422
is "a bad search: 422" "$(code POST /api/v2/hosts/bulk/build "$admin" '{"search":"colour = red"}')" 422
is "power in bulk" "$(code POST /api/v2/hosts/bulk/power "$admin" \
	'{"search":"name ^ (w1, w2)","power_action":"status"}')" 200
like "a power job per host" "$(cat "$TAP_TMP/body")" \
	'"name":"w1","status":"ok","job_id":[0-9]+\},\{[^}]*"name":"w2","status":"ok","job_id":[0-9]+'
is "run a command in bulk" "$(code POST /api/v2/hosts/bulk/run "$admin" \
	'{"search":"hostgroup = web","command":"uptime"}')" 200
job=$(sed -n 's/.*"job_id":\([0-9]*\).*/\1/p' "$TAP_TMP/body" | head -1)
like "one remote execution job" "$(get "/api/v2/jobs/$job" "$admin")" \
	'"kind":"remote_execution".*"command":"uptime"'
like "on the web hosts" "$(get "/api/v2/jobs/$job" "$admin")" \
	"\"hosts\":\\[$(hid d2),$(hid w1),$(hid w2)\\]"
is "a run without a command: 422" "$(code POST /api/v2/hosts/bulk/run "$admin" '{"ids":["w1"]}')" 422
is "apply errata in bulk" "$(code POST /api/v2/hosts/bulk/errata "$admin" \
	'{"search":"errata.security > 0","errata":{"types":["security"]}}')" 200
like "one patch run" "$(cat "$TAP_TMP/body")" '"job":\{.*"kind":"patch_run"'
like "bulk actions are audited" \
	"$(get "/api/v2/audits?search=$(q 'action = bulk_errata')" "$admin")" '"subtotal":1,'
get /api/v2/hosts "$admin" >/dev/null
is "delete in bulk" "$(code POST /api/v2/hosts/bulk/delete "$admin" '{"ids":["d2","gone"]}')" 200
like "d2 deleted, gone not found" "$(cat "$TAP_TMP/body")" \
	'"name":"d2","status":"ok"\},\{"id":"gone","status":"not_found"'
like "the list follows at once" "$(get /api/v2/hosts "$admin")" '"total":3,'

# --- content lists go through the same framework
is "a product" "$(code POST /api/v2/products "$admin" '{"name":"Debian"}')" 201
is "another" "$(code POST /api/v2/products "$admin" '{"name":"Rocky"}')" 201
like "products search" "$(get "/api/v2/products?search=$(q 'name ~ deb')" "$admin")" \
	'"total":2,"subtotal":1,.*"name":"Debian"'
is "a bad product search is a 422" "$(code GET "/api/v2/products?search=$(q 'nope = 1')" "$admin")" 422
like "environments list" "$(get '/api/v2/lifecycle_environments' "$admin")" '"total":[0-9]+,"subtotal"'
like "errata search" "$(get "/api/v2/errata?search=$(q 'severity = Critical')" "$admin")" \
	'"total":3,"subtotal":1,.*"erratum_id":"DSA-5001-1"'
droverd_stop
is "droverd stopped cleanly: no sanitizer reports in its log" \
	"$(grep -c 'Sanitizer\|runtime error' "$TAP_TMP/droverd.log")" 0
done_testing
