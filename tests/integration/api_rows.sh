#!/bin/sh
# api_rows.sh - the rows of host lists that droverd keeps in memory across writes (api.c,
# json_stamp) never show a stale host: after updates within the same second, renames of
# the hostgroups and subnets they show, a host deleted and another made under its id,
# writes by another process (sqlite3) to a host and to a hostgroup's name, and in the
# rendered pages as in the API; both with the answer cache and without it.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
command -v curl >/dev/null || skip_all "curl is not installed"
command -v sqlite3 >/dev/null || skip_all "sqlite3 is not installed"

# code METHOD PATH [BODY]: the HTTP status of one admin API call.
code() {
	curl -s -o "$TAP_TMP/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $admin" \
		-H 'Content-Type: application/json' ${3:+-d "$3"} "$DROVERD_URL$2"
}
# get PATH: the body of an admin GET.
get() { curl -s -H "Authorization: Bearer $admin" "$DROVERD_URL$1"; }

# rows_check LABEL: the whole scenario against the running droverd.
rows_check() {
	l=$1
	ok "$l: admin logs in" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
	admin=$(sed -n 's/^token: "\(.*\)"/\1/p' "$DROVER_CONFIG")
	is "$l: a subnet" "$(code POST /api/v2/subnets '{"name":"lan","network":"198.18.30.0",
		"mask":"255.255.255.0"}')" 201
	is "$l: a hostgroup" "$(code POST /api/v2/hostgroups '{"name":"web"}')" 201
	for n in 1 2 3; do
		code POST /api/v2/hosts "{\"name\":\"h$n\",\"hostgroup\":\"web\",\"comment\":\"c0\",
			\"interfaces\":[{\"mac\":\"52:54:00:bb:00:0$n\",\"ip\":\"198.18.30.$n\",
			\"subnet\":\"lan\"}]}" >/dev/null
	done
	like "$l: three hosts" "$(get /api/v2/hosts)" '"total":3,"subtotal":3,'
	# Several updates in one second: updated_at does not move, the rows must.
	for c in c1 c2 c3; do
		code PUT /api/v2/hosts/h2 "{\"comment\":\"$c\"}" >/dev/null
		like "$l: the list shows comment $c at once" "$(get /api/v2/hosts)" \
			"\"comment\":\"$c\",.*\"name\":\"h2\""
	done
	is "$l: renaming the hostgroup" "$(code PUT /api/v2/hostgroups/web '{"name":"www"}')" 200
	like "$l: every row shows the new hostgroup name" "$(get /api/v2/hosts)" \
		'"hostgroup_name":"www".*"hostgroup_name":"www".*"hostgroup_name":"www"'
	is "$l: none the old" "$(get /api/v2/hosts | grep -c '"hostgroup_name":"web"')" 0
	is "$l: renaming the subnet" "$(code PUT /api/v2/subnets/lan '{"name":"lan2"}')" 200
	like "$l: the interfaces show the new subnet name" "$(get /api/v2/hosts)" \
		'"subnet_name":"lan2".*"subnet_name":"lan2".*"subnet_name":"lan2"'
	# The last host deleted and another made: it may get the same id.
	id3=$(get /api/v2/hosts/h3 | sed -n 's/.*"id":\([0-9]*\),"name".*/\1/p')
	is "$l: deleting h3" "$(code DELETE /api/v2/hosts/h3)" 200
	is "$l: a host in its place" "$(code POST /api/v2/hosts '{"name":"h9","comment":"new"}')" \
		201
	list=$(get /api/v2/hosts)
	like "$l: the list shows the new host" "$list" '"comment":"new",.*"name":"h9"'
	is "$l: and not the old one" "$(printf '%s' "$list" | grep -c '"name":"h3"')" 0
	is "$l: under the same id" \
		"$(get /api/v2/hosts/h9 | sed -n 's/.*"id":\([0-9]*\),"name".*/\1/p')" "$id3"
	# Writes by another process: the stamps are read from the database.
	sqlite3 "$state/drover.db" "PRAGMA busy_timeout = 5000;
		UPDATE prov_hosts SET data = json_set(data, '$.comment', 'by sqlite')
		WHERE name = 'h1'; UPDATE prov_hostgroups SET name = 'w3' WHERE name = 'www'"
	list=$(get /api/v2/hosts)
	like "$l: a document changed by sqlite3 shows" "$list" '"comment":"by sqlite",.*"name":"h1"'
	like "$l: a name changed by sqlite3 shows" "$list" \
		'"hostgroup_name":"w3".*"hostgroup_name":"w3"'
	# Paging and order over kept rows.
	like "$l: page 2 of 1" "$(get '/api/v2/hosts?per_page=1&page=2')" \
		'"page":2,"per_page":1,.*"results":\[\{"hostgroup_id":[0-9]+,"comment":"c3",.*"name":"h2".*\]\}$'
	like "$l: name desc" "$(get '/api/v2/hosts?order=name%20desc')" \
		'"name":"h9".*"name":"h2".*"name":"h1"'
	# The hosts page renders from the same rows.
	jar=$TAP_TMP/jar
	rm -f "$jar"
	curl -s -c "$jar" -b "$jar" "$DROVERD_URL/login" -o "$TAP_TMP/login.html"
	lt=$(sed -n 's/.*name="login_token" value="\([0-9a-f]*\)".*/\1/p' "$TAP_TMP/login.html")
	curl -s -c "$jar" -b "$jar" -o /dev/null --data-urlencode user=admin \
		--data-urlencode "password=$ADMIN_PASSWORD" --data-urlencode "login_token=$lt" \
		"$DROVERD_URL/login"
	like "$l: the hosts page shows the new hostgroup name" \
		"$(curl -s -b "$jar" "$DROVERD_URL/ui/hosts")" '>w3<'
}

state=$TAP_TMP/state
ok "droverd starts" droverd_start "$state"
rows_check "cached"
droverd_stop
rm -rf "$state"
export DROVER_API_NO_CACHE=1
ok "droverd starts without the answer cache" droverd_start "$state"
rows_check "uncached"
droverd_stop
done_testing
