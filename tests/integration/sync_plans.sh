#!/bin/sh
# sync_plans.sh - sync plans against real repositories: a yum and an apt fixture served by
# nginx, a plan over both (one by product) plus a broken one; the plan's job syncs each
# repository with its own result and a failure does not stop the others; the plan fires
# from core's scheduler; validation names the field; RBAC; audit; and the scheduled
# content-view publish + promote.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
. "$top_srcdir/tests/lib/repos.sh"
for t in rpmbuild createrepo_c modifyrepo_c nginx curl dpkg-deb apt-ftparchive python3; do
	command -v $t >/dev/null || skip_all "$t is not installed"
done
trap 'nginx_stop; droverd_stop KILL; rm -rf "$TAP_TMP"' EXIT

www=$TAP_TMP/www
ok "fixture: yum revision 1" yum_fixture "$www/yum" 1
ok "fixture: apt revision 1" apt_fixture "$www/deb" 1
nginx_start "$www"
ok "droverd starts" droverd_start "$TAP_TMP/state"
ok "login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
token=$(sed -n 's/^token: "\(.*\)"/\1/p' "$DROVER_CONFIG")
# code METHOD PATH TOKEN [BODY]: the HTTP status; the body lands in $TAP_TMP/body.
code() {
	curl -s -o "$TAP_TMP/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $3" \
		-H 'Content-Type: application/json' ${4:+-d "$4"} "$DROVERD_URL$2"
}
# wait_job ID: until the job ends (bounded); prints its JSON.
wait_job() {
	i=0
	while [ $i -lt 120 ]; do
		"$DROVER" --json job show "$1" >"$TAP_TMP/job" 2>/dev/null
		grep -Eq '^  "state": *"(succeeded|failed|cancelled|interrupted)"' "$TAP_TMP/job" && break
		sleep 0.5
		i=$((i + 1))
	done
	cat "$TAP_TMP/job"
}

"$DROVER" product create --name el >/dev/null
"$DROVER" product create --name debian >/dev/null
ok "repo create yum" "$DROVER" repo create --product el --name hello-yum --type yum \
	--url "$NGINX_URL/yum"
ok "repo create apt" "$DROVER" repo create --product debian --name hello-deb --type apt \
	--url "$NGINX_URL/deb" --distribution bookworm --components main --architectures amd64
ok "repo create (an upstream that is not there)" "$DROVER" repo create --product el \
	--name gone-yum --type yum --url "$NGINX_URL/nothing-here"

# Validation: each bad field is named.
out=$("$DROVER" sync-plan create p1 --interval fortnightly --repository hello-yum 2>&1)
like "an unknown interval is refused naming the field" "$out" 'interval: expected hourly'
out=$("$DROVER" sync-plan create p1 --interval custom --repository hello-yum 2>&1)
like "custom needs a cron line" "$out" 'cron_expression: a cron line is required'
out=$("$DROVER" sync-plan create p1 --interval custom --cron '61 * * * *' --repository hello-yum 2>&1)
like "a bad cron line is refused naming the field" "$out" 'cron_expression: .*61'
out=$("$DROVER" sync-plan create p1 --interval daily --repository nope 2>&1)
like "an unknown repository is refused" "$out" "repository_ids: no repository 'nope'"
out=$("$DROVER" sync-plan create p1 --interval daily --time-zone Mars/Olympus --repository hello-yum 2>&1)
like "an unknown zone is refused" "$out" 'time_zone: .*Mars/Olympus'
out=$("$DROVER" sync-plan create p1 --interval daily 2>&1)
like "a plan needs repositories" "$out" 'at least one repository or product'
is "a body that is not JSON is a 400" "$(code POST /api/v2/sync_plans "$token" '{')" 400
is "an unknown field is a 422" "$(code POST /api/v2/sync_plans "$token" \
	'{"name":"x","interval":"daily","repository_ids":["hello-yum"],"colour":1}')" 422
like "naming it" "$(cat "$TAP_TMP/body")" '"colour":"unknown field"'

# A daily plan: its cron line comes from the start time in its zone.
out=$("$DROVER" sync-plan create nightly --interval daily --start '2026-01-05 02:30' \
	--time-zone Europe/Berlin --repository hello-yum --product debian 2>&1)
is "sync-plan create" "$?" 0
like "daily at the start's local time" "$out" 'CRON +30 2 \* \* \*'
like "its next runs are listed in its zone" "$out" 'NEXT RUNS +20[0-9-]+T02:30:00\+0[12]:00'
like "the product's repositories are in it" "$out" 'hello-deb'
out=$("$DROVER" sync-plan create nightly --interval daily --repository hello-yum 2>&1)
like "a second plan of that name is refused" "$out" 'name: has already been taken'
like "sync-plan list" "$("$DROVER" sync-plan list)" 'nightly +daily'
like "it owns a schedule in core's scheduler" "$("$DROVER" schedule list)" \
	'sync_plan/nightly +30 2 \* \* \* +Europe/Berlin +sync_plan +true'
out=$("$DROVER" sync-plan update nightly --interval weekly 2>&1)
like "update to weekly keeps the start (a Monday)" "$out" '30 2 \* \* 1'
is "and the schedule follows, one of it" "$("$DROVER" schedule list | grep -c sync_plan/)" 1
out=$("$DROVER" sync-plan disable nightly 2>&1)
like "disable" "$out" 'ENABLED +false'
like "the schedule is disabled" "$("$DROVER" schedule list)" 'sync_plan/nightly.* false'
like "enable" "$("$DROVER" sync-plan enable nightly 2>&1)" 'ENABLED +true'

# Run it now: both repositories are synced, one item each.
out=$("$DROVER" sync-plan sync nightly --follow 2>&1)
is "sync-plan sync --follow succeeds" "$?" 0
like "it syncs the yum repository" "$out" 'new version 1: 2 packages'
id=$("$DROVER" --json job list --kind sync_plan | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
job=$(wait_job "$id")
like "the job has an item per repository" "$job" '"item": *"hello-deb"'
like "with its result" "$job" '"packages": *2'
is "the published yum repository is served" \
	"$(curl -s -o /dev/null -w '%{http_code}' "$DROVERD_URL/content/Library/default/hello-yum/repodata/repomd.xml")" 200

# A failing repository does not stop the others.
"$DROVER" sync-plan update nightly --repository gone-yum --repository hello-yum >/dev/null
ok "the update replaces the repositories" sh -c "'$DROVER' sync-plan show nightly | grep -q gone-yum"
"$DROVER" sync-plan sync nightly >/dev/null 2>&1
id=$("$DROVER" --json job list --kind sync_plan | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
job=$(wait_job "$id")
like "the job fails" "$job" '^  "state": *"failed"'
like "naming the repository that failed" "$job" '1 of 3 repositories failed: \[\\"gone-yum\\"\]'
like "the others still succeed" "$(printf '%s' "$job" | tr -d '\n ')" \
	'"item":"hello-deb","state":"success"'
like "gone-yum's item has its error" "$(printf '%s' "$job" | tr -d '\n')" \
	'"item": *"gone-yum", *"state": *"failed".*"error"'

# The scheduler fires it: a custom every-minute plan.
ok "a custom every-minute plan" "$DROVER" sync-plan create minutely --interval custom \
	--cron '* * * * *' --repository hello-yum
sid=$("$DROVER" --json schedule list | tr -d '\n ' | sed -n 's/.*"id":\([0-9]*\),"name":"sync_plan\/minutely".*/\1/p')
i=0
while [ $i -lt 75 ] && ! "$DROVER" --json job list --kind sync_plan | grep -q "\"schedule_id\": *$sid\b"; do
	sleep 1
	i=$((i + 1))
done
ok "the scheduler ran the plan within a minute" test $i -lt 75
like "show names its last job" "$("$DROVER" --json sync-plan show minutely)" '"last_job": *\{'
"$DROVER" sync-plan disable minutely >/dev/null

# RBAC: a viewer sees plans and cannot change them; audit has the changes.
printf 'viewer-pass-1\n' | "$DROVER" user create --login vera --role viewer >/dev/null 2>&1
viewer=$(curl -s -d '{"user":"vera","password":"viewer-pass-1","expires_in":0}' \
	"$DROVERD_URL/api/v2/tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
is "a viewer lists plans" "$(code GET /api/v2/sync_plans "$viewer")" 200
is "a viewer cannot create one" "$(code POST /api/v2/sync_plans "$viewer" \
	'{"name":"v","interval":"daily","repository_ids":["hello-yum"]}')" 403
is "nor run one" "$(code POST /api/v2/sync_plans/nightly/sync "$viewer")" 403
is "nor delete one" "$(code DELETE /api/v2/sync_plans/nightly "$viewer")" 403
is "Katello's wrapped body works" "$(code PUT /api/v2/sync_plans/minutely "$token" \
	'{"sync_plan":{"description":"every minute"}}')" 200
is "an unknown plan is a 404" "$(code GET /api/v2/sync_plans/nope "$token")" 404
like "audit records the changes" "$("$DROVER" --json audit list 2>/dev/null || curl -s -H "Authorization: Bearer $token" "$DROVERD_URL/api/v2/audits?search=resource%3Dsync_plan")" 'sync_plan'

# Content-view publish + promote as one scheduled kind.
"$DROVER" lifecycle-environment create --name Dev --prior Library >/dev/null
"$DROVER" lifecycle-environment create --name Prod --prior Dev >/dev/null
"$DROVER" content-view create --name base --repos hello-yum >/dev/null
out=$("$DROVER" schedule create --name cv-nightly --cron '0 3 * * *' \
	--kind content_view_publish_promote --params '{"content_view":"base","environments":["Dev","Prod"]}' 2>&1)
like "a publish + promote schedule is accepted" "$out" 'content_view_publish_promote'
jid=$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	-d '{"kind":"content_view_publish_promote","params":{"content_view":"base","environments":"Dev,Prod"}}' \
	"$DROVERD_URL/api/v2/jobs" | sed -n 's/^{"id": *\([0-9]*\).*/\1/p;s/^{.*"id":\([0-9]*\).*/\1/p' | head -1)
job=$(wait_job "$jid")
like "publish + promote succeeds" "$job" '^  "state": *"succeeded"'
like "the new version is promoted to both" "$(printf '%s' "$job" | tr -d '\n ')" '"promoted_to":\["Dev","Prod"\]'
like "Prod serves it" "$(curl -s -o /dev/null -w '%{http_code}' "$DROVERD_URL/content/Prod/base/hello-yum/repodata/repomd.xml")" 200

ok "sync-plan delete" "$DROVER" sync-plan delete nightly
is "its schedule is gone" "$("$DROVER" schedule list | grep -c sync_plan/nightly)" 0
is "the plan is gone" "$(code GET /api/v2/sync_plans/nightly "$token")" 404
droverd_stop
is "droverd stopped cleanly, no sanitizer report in its log" \
	"$(grep -c 'Sanitizer\|runtime error' "$TAP_TMP/droverd.log")" 0
done_testing
