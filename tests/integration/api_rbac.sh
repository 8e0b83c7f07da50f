#!/bin/sh
# api_rbac.sh - users, roles and permissions through a real droverd: drover user create
# with the password on stdin, viewer/operator/admin rights, a custom role filtered by a
# search, expired tokens, login throttling, lists (search, order, paging, 422, ETag),
# audits and the OpenAPI document.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
command -v curl >/dev/null || skip_all "curl is not installed"

state=$TAP_TMP/state
ok "droverd starts" droverd_start "$state"
ok "admin logs in" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
admin=$(sed -n 's/^token: "\(.*\)"/\1/p' "$DROVER_CONFIG")

# code METHOD PATH TOKEN [BODY]: the HTTP status of one API call.
code() {
	if [ -n "${4:-}" ]; then
		curl -s -o "$TAP_TMP/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $3" \
			-H 'Content-Type: application/json' -d "$4" "$DROVERD_URL$2"
	else
		curl -s -o "$TAP_TMP/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $3" \
			"$DROVERD_URL$2"
	fi
}
# token USER PASSWORD [EXPIRES_IN]: a bearer token for a user.
token() {
	curl -s -d "{\"user\":\"$1\",\"password\":\"$2\",\"expires_in\":${3:-0}}" \
		"$DROVERD_URL/api/v2/tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}

# drover user create reads the password from stdin when it is not a terminal.
out=$(printf 'viewer-pass-1\n' | "$DROVER" user create --login vera --role viewer 2>&1)
like "drover user create reads the password from stdin" "$out" 'vera'
printf 'operator-pass-1\n' | "$DROVER" user create --login otto --role operator >/dev/null 2>&1
like "user list shows them" "$("$DROVER" user list)" 'otto +operator'
like "a bad login is refused naming the field" \
	"$(printf 'whatever-pass\n' | "$DROVER" user create --login 'bad name' --role viewer 2>&1)" \
	'422.*invalid user'
is "a duplicate login is a conflict" \
	"$(code POST /api/v2/users "$admin" '{"login":"vera","password":"abcdefgh1","role":"viewer"}')" 409
is "a short password is a 422" \
	"$(code POST /api/v2/users "$admin" '{"login":"x1","password":"short","role":"viewer"}')" 422
like "with a message per field" "$(cat "$TAP_TMP/body")" '"fields":\{"password":"must have 8'
is "an unknown role is a 422" \
	"$(code POST /api/v2/users "$admin" '{"login":"x2","password":"abcdefgh1","role":"nope"}')" 422

viewer=$(token vera viewer-pass-1)
operator=$(token otto operator-pass-1)
like "drover login --server --user reads the password from stdin" \
	"$(printf 'viewer-pass-1\n' | DROVER_CONFIG=$TAP_TMP/vera.yml "$DROVER" login \
		--server "$DROVERD_URL" --user vera 2>&1)" 'logged in .* as vera'

if command -v script >/dev/null; then
	# On a terminal the password is asked for without echo (script(1) provides the pty).
	out=$( (sleep 1; printf 'viewer-pass-1\n') | DROVER_CONFIG=$TAP_TMP/tty.yml script -qec \
		"'$DROVER' login --server '$DROVERD_URL' --user vera" /dev/null 2>&1)
	like "drover login asks on the terminal" "$out" 'Password:'
	is "without echoing the password" "$(printf '%s' "$out" | grep -c 'viewer-pass-1')" 0
	like "and logs in" "$out" 'logged in .* as vera'
fi

# Viewer: reads, never writes.
is "viewer lists jobs" "$(code GET /api/v2/jobs "$viewer")" 200
is "viewer cannot run a job" "$(code POST /api/v2/jobs "$viewer" '{"kind":"noop"}')" 403
like "the refusal names the permission" "$(cat "$TAP_TMP/body")" 'lacks the permission jobs:create'
is "viewer cannot create a schedule" "$(code POST /api/v2/schedules "$viewer" \
	'{"name":"v","cron":"* * * * *","kind":"noop"}')" 403
is "viewer cannot list users" "$(code GET /api/v2/users "$viewer")" 403
is "viewer cannot back up" "$(code GET /api/v2/admin/backup "$viewer")" 403
is "viewer manages own tokens" "$(code GET /api/v2/tokens "$viewer")" 200
like "the CLI gets the same answer" \
	"$(DROVER_TOKEN=$viewer "$DROVER" job run noop 2>&1)" '403'

# Operator: runs things, does not manage people.
is "operator runs a job" "$(code POST /api/v2/jobs "$operator" '{"kind":"noop"}')" 201
is "operator creates a schedule" "$(code POST /api/v2/schedules "$operator" \
	'{"name":"op-sched","cron":"0 3 * * *","kind":"noop"}')" 201
is "operator cannot list users" "$(code GET /api/v2/users "$operator")" 403
is "operator cannot create users" "$(code POST /api/v2/users "$operator" \
	'{"login":"evil","password":"abcdefgh1","role":"admin"}')" 403
is "operator cannot create roles" "$(code POST /api/v2/roles "$operator" \
	'{"name":"r","permissions":[]}')" 403
is "operator cannot back up" "$(code GET /api/v2/admin/backup "$operator")" 403

# A custom role limited by a search: sees and cancels only sleep jobs.
out=$("$DROVER" role create --name sleepers --description 'only sleep jobs' \
	--permission 'jobs view kind = sleep' --permission 'jobs cancel kind = sleep' 2>&1)
like "drover role create with filtered permissions" "$out" 'kind = sleep'
is "a filter on a resource without fields is refused" "$(code POST /api/v2/roles "$admin" \
	'{"name":"r2","permissions":[{"resource":"nothing","action":"view","search":"a = b"}]}')" 422
is "a filter with a bad field is refused" "$(code POST /api/v2/roles "$admin" \
	'{"name":"r3","permissions":[{"resource":"jobs","action":"view","search":"color = red"}]}')" 422
like "naming the permission and the field" "$(cat "$TAP_TMP/body")" \
	'permissions\[0\]\.search.*unknown field .color'
is "a filter on create is refused" "$(code POST /api/v2/roles "$admin" \
	'{"name":"r4","permissions":[{"resource":"jobs","action":"create","search":"kind = x"}]}')" 422
printf 'sleeper-pass-1\n' | "$DROVER" user create --login sam --role sleepers >/dev/null 2>&1
sam=$(token sam sleeper-pass-1)
sid=$(curl -s -H "Authorization: Bearer $admin" -d '{"kind":"sleep","params":{"seconds":30}}' \
	"$DROVERD_URL/api/v2/jobs" | sed -n 's/^{"id":\([0-9]*\).*/\1/p')
nid=$(curl -s -H "Authorization: Bearer $admin" -d '{"kind":"noop"}' \
	"$DROVERD_URL/api/v2/jobs" | sed -n 's/^{"id":\([0-9]*\).*/\1/p')
list=$(curl -s -H "Authorization: Bearer $sam" "$DROVERD_URL/api/v2/jobs?per_page=1000")
like "the filtered role lists sleep jobs" "$list" "\"id\":$sid,\"kind\":\"sleep\""
is "and only sleep jobs" "$(printf '%s' "$list" | grep -c '"kind":"noop"')" 0
is "a noop job is hidden from it (404)" "$(code GET "/api/v2/jobs/$nid" "$sam")" 404
is "its sleep job is visible" "$(code GET "/api/v2/jobs/$sid" "$sam")" 200
is "it cannot cancel a noop job" "$(code POST "/api/v2/jobs/$nid/cancel" "$sam")" 404
is "it cancels the sleep job" "$(code POST "/api/v2/jobs/$sid/cancel" "$sam")" 200
is "it cannot run jobs" "$(code POST /api/v2/jobs "$sam" '{"kind":"sleep"}')" 403
is "it cannot see schedules" "$(code GET /api/v2/schedules "$sam")" 403
like "/api/v2/me lists its scoped permissions" \
	"$(curl -s -H "Authorization: Bearer $sam" "$DROVERD_URL/api/v2/me")" \
	'"jobs":\[\{"action":"view","search":"\(kind = sleep\)"\}'
is "a role in use cannot be deleted" "$(code DELETE \
	"/api/v2/roles/$("$DROVER" --json role show sleepers | sed -n 's/^  "id": \([0-9]*\).*/\1/p')" \
	"$admin")" 409
is "a built-in role cannot be changed" "$(code PUT /api/v2/roles/1 "$admin" '{"description":"x"}')" 409
ok "drover user update changes the role" "$DROVER" user update sam --role viewer
ok "drover role delete" "$DROVER" role delete sleepers
is "the last admin cannot be demoted" "$(code PUT /api/v2/users/1 "$admin" '{"role":"viewer"}')" 409
is "an unknown user is a 404" "$(code GET /api/v2/users/999 "$admin")" 404

# Tokens: expiry, listing, revocation.
# Expiry is in whole seconds: 3 s leaves a slow (sanitizer) build time to use it once.
short=$(token vera viewer-pass-1 3)
is "a fresh short-lived token works" "$(code GET /api/v2/jobs "$short")" 200
sleep 4
is "an expired token is refused with 401" "$(code GET /api/v2/jobs "$short")" 401
like "drover token list shows the caller's tokens" "$(DROVER_TOKEN=$viewer "$DROVER" token list)" \
	'vera'
is "a viewer does not see the admin's tokens" \
	"$(DROVER_TOKEN=$viewer "$DROVER" token list | grep -c admin)" 0
tid=$(curl -s -H "Authorization: Bearer $viewer" "$DROVERD_URL/api/v2/tokens?per_page=1" |
	sed -n 's/.*"results":\[{"id":\([0-9]*\).*/\1/p')
is "a viewer cannot revoke the admin's token" "$(code DELETE /api/v2/tokens/1 "$viewer")" 404
ok "drover token delete revokes a token" env DROVER_TOKEN=$viewer "$DROVER" token delete "$tid"

# Lists: search, order, paging, errors, ETags.
for i in 1 2 3; do code POST /api/v2/jobs "$admin" '{"kind":"noop"}' >/dev/null; done
like "search with and/or/not/in" "$(curl -s -H "Authorization: Bearer $admin" \
	"$DROVERD_URL/api/v2/jobs?search=kind%20%5E%20(noop%2C%20x)%20and%20not%20owner%20%3D%20nobody")" \
	'"subtotal":[4-9]'
like "total ignores the search, subtotal does not" "$(curl -s -H "Authorization: Bearer $admin" \
	"$DROVERD_URL/api/v2/jobs?search=kind%20%3D%20sleep")" '"total":[0-9]+,"subtotal":1,'
like "order by a field" "$(curl -s -H "Authorization: Bearer $admin" \
	"$DROVERD_URL/api/v2/jobs?order=id%20asc&per_page=1")" '"results":\[\{"id":1,'
is "a bad search is a 422" "$(code GET '/api/v2/jobs?search=kind%20%3D' "$admin")" 422
like "naming the column" "$(cat "$TAP_TMP/body")" '"fields":\{"search":"search: column 7: expected a value'
is "an unknown order field is a 422" "$(code GET '/api/v2/jobs?order=color' "$admin")" 422
is "per_page over the cap is a 422" "$(code GET '/api/v2/jobs?per_page=100000' "$admin")" 422
is "paging works" "$(curl -s -H "Authorization: Bearer $admin" \
	"$DROVERD_URL/api/v2/jobs?per_page=2&page=2" | grep -o '"page":2,"per_page":2')" \
	'"page":2,"per_page":2'
etag=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $admin" "$DROVERD_URL/api/v2/users" |
	sed -n 's/^ETag: *\([^[:space:]]*\).*/\1/Ip')
like "GET answers carry an ETag" "$etag" '^"[0-9a-f]{32}"$'
is "If-None-Match gives 304" "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" \
	-H "Authorization: Bearer $admin" "$DROVERD_URL/api/v2/users")" 304
is "schedule with a bad cron is a 422 naming the field" \
	"$(code POST /api/v2/schedules "$admin" '{"name":"b","cron":"61 * * * *","kind":"noop"}')" 422
like "the field is cron" "$(cat "$TAP_TMP/body")" '"fields":\{"cron":'
is "a duplicate schedule name is a 409" "$(code POST /api/v2/schedules "$admin" \
	'{"name":"op-sched","cron":"0 3 * * *","kind":"noop"}')" 409
is "cancelling a finished job is a 409" "$(code POST "/api/v2/jobs/$nid/cancel" "$admin")" 409

# Audits: who, when, from where, what, before/after.
audits=$(curl -s -H "Authorization: Bearer $admin" \
	"$DROVERD_URL/api/v2/audits?search=resource%20%3D%20users%20and%20action%20%3D%20update")
like "the audit log records who changed a user, from where" "$audits" \
	'"user":"admin","remote":"127.0.0.1","action":"update","resource":"users","resource_id":"sam"'
like "with the before and after" "$audits" '"before":\{[^}]*"role":"sleepers".*"after":\{[^}]*"role":"viewer"'
is "viewers may read the audit log" "$(code GET /api/v2/audits "$viewer")" 200

# Login throttling: per user, then per address.
for i in 1 2 3 4 5; do
	curl -s -o /dev/null -d '{"user":"otto","password":"wrong-wrong"}' "$DROVERD_URL/api/v2/tokens"
done
is "after 5 failures the right password must wait (429)" \
	"$(curl -s -o "$TAP_TMP/body" -w '%{http_code}' -d '{"user":"otto","password":"operator-pass-1"}' \
		"$DROVERD_URL/api/v2/tokens")" 429
like "saying how long" "$(cat "$TAP_TMP/body")" 'try again in [0-9]+ s'
sleep 3
is "after the delay the right password works" \
	"$(curl -s -o /dev/null -w '%{http_code}' -d '{"user":"otto","password":"operator-pass-1"}' \
		"$DROVERD_URL/api/v2/tokens")" 201
like "the refusal is logged" "$(cat "$TAP_TMP/droverd.log")" "login for 'otto' from 127.0.0.1 refused"
like "failed logins are audited" "$(DROVER_TOKEN=$admin "$DROVER" audit list --search 'action = login_failed')" \
	'login_failed'

# Per address: 20 failures from one address, whatever the names, hold every login back.
for i in $(seq 1 20); do
	curl -s -o /dev/null -d "{\"user\":\"nobody$i\",\"password\":\"wrong-wrong\"}" \
		"$DROVERD_URL/api/v2/tokens"
done
is "after 20 failures from an address even the admin must wait (429)" \
	"$(curl -s -o /dev/null -w '%{http_code}' -d "{\"user\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" \
		"$DROVERD_URL/api/v2/tokens")" 429
is "existing tokens keep working meanwhile" "$(code GET /api/v2/jobs "$admin")" 200

# OpenAPI from the route table.
spec=$(curl -sf "$DROVERD_URL/api/v2/openapi.json")
like "openapi.json is an OpenAPI 3 document" "$spec" '"openapi": "3.0.3"'
like "it lists routes with their permission" "$spec" '"x-permission": "jobs:cancel"'
like "lists take search and per_page" "$spec" '"name": "per_page"'
like "path parameters are typed" "$spec" '"/api/v2/jobs/\{id\}/cancel"'
if command -v python3 >/dev/null; then
	ok "openapi.json parses as JSON with every path under /api" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert all(p.startswith("/api/") for p in d["paths"]), d["paths"].keys()
assert "get" in d["paths"]["/api/v2/audits"]
' /dev/stdin <<EOF
$spec
EOF
fi

# The users the admin made are shown, and deleted.
ok "drover user delete" "$DROVER" user delete vera
is "a deleted user's tokens stop working" "$(code GET /api/v2/jobs "$viewer")" 401
is "the admin cannot delete itself" "$(code DELETE /api/v2/users/1 "$admin")" 409
droverd_stop
is "droverd stopped cleanly: no sanitizer reports in its log" \
	"$(grep -c 'Sanitizer\|runtime error' "$TAP_TMP/droverd.log")" 0

done_testing
