#!/bin/sh
# api_hosts.sh - hosts and the other provisioning and content lists through the API
# framework on a real droverd: the search language over hosts (hostgroup, MAC, IP, status),
# order and paging, a custom role limited to one hostgroup seeing only its hosts (404 on
# the others for show, update, build and power, 403 for what it may not do at all),
# lists answered again after a write, ETags, and the same framework on repos lists.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
command -v curl >/dev/null || skip_all "curl is not installed"

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

# --- content lists go through the same framework
is "a product" "$(code POST /api/v2/products "$admin" '{"name":"Debian"}')" 201
is "another" "$(code POST /api/v2/products "$admin" '{"name":"Rocky"}')" 201
like "products search" "$(get "/api/v2/products?search=$(q 'name ~ deb')" "$admin")" \
	'"total":2,"subtotal":1,.*"name":"Debian"'
is "a bad product search is a 422" "$(code GET "/api/v2/products?search=$(q 'nope = 1')" "$admin")" 422
like "environments list" "$(get '/api/v2/lifecycle_environments' "$admin")" '"total":[0-9]+,"subtotal"'
like "errata search" "$(get "/api/v2/errata?search=$(q 'severity = Critical')" "$admin")" \
	'"total":0,"subtotal":0,'
droverd_stop
is "droverd stopped cleanly: no sanitizer reports in its log" \
	"$(grep -c 'Sanitizer\|runtime error' "$TAP_TMP/droverd.log")" 0
done_testing
