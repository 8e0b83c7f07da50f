#!/bin/sh
# ui_jobs.sh - the sync plan pages through curl against a real droverd: the list with next
# runs, the create and edit forms (errors beside the field, values escaped), enable,
# disable, sync now, delete; CSRF on every form; buttons and posts by role.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
command -v curl >/dev/null || skip_all "curl is not installed"
trap 'droverd_stop KILL; rm -rf "$TAP_TMP"' EXIT

jar=$TAP_TMP/jar
ok "droverd starts" droverd_start "$TAP_TMP/state"
ok "admin logs in (CLI)" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login

# ui_login USER PASSWORD: log in through the form.
ui_login() {
	rm -f "$jar"
	curl -s -c "$jar" -b "$jar" "$DROVERD_URL/login" -o "$TAP_TMP/login.html"
	lt=$(sed -n 's/.*name="login_token" value="\([0-9a-f]*\)".*/\1/p' "$TAP_TMP/login.html")
	curl -s -c "$jar" -b "$jar" -o /dev/null --data-urlencode "user=$1" \
		--data-urlencode "password=$2" --data-urlencode "login_token=$lt" \
		--data-urlencode "next=/" "$DROVERD_URL/login"
}
# page PATH: GET with the session into $TAP_TMP/page.html; prints the status.
page() {
	curl -s -b "$jar" -o "$TAP_TMP/page.html" -w '%{http_code}' "$DROVERD_URL$1"
}
csrf() {
	sed -n 's/.*name="csrf_token" value="\([0-9a-f]*\)".*/\1/p' "$TAP_TMP/page.html" | head -1
}
# post PATH DATA...: a form post; prints "STATUS LOCATION".
post() {
	p=$1
	shift
	for d in "$@"; do set -- "$@" --data-urlencode "$d"; shift; done
	curl -s -b "$jar" -o "$TAP_TMP/post.html" -w '%{http_code} %{redirect_url}' "$@" \
		"$DROVERD_URL$p"
}

"$DROVER" product create --name el >/dev/null
ok "a repository to plan" "$DROVER" repo create --product el --name base-yum --type yum \
	--url http://127.0.0.1:9/nothing
rid=$("$DROVER" --json repo show base-yum | sed -n 's/^  "id": *\([0-9]*\).*/\1/p' | head -1)

ui_login admin "$ADMIN_PASSWORD"
is "the sync plans page" "$(page /ui/sync_plans)" 200
like "is in the navigation" "$(cat "$TAP_TMP/page.html")" 'href="/ui/sync_plans"'
like "an admin gets the create form" "$(cat "$TAP_TMP/page.html")" 'New sync plan'
like "listing the repositories to choose" "$(cat "$TAP_TMP/page.html")" \
	"name=\"repository_ids\" value=\"$rid\""
tok=$(csrf)

like "a form post without the CSRF token is refused" \
	"$(post /ui/sync_plans name=p interval=daily repository_ids=$rid)" '^403'
like "nor with a wrong one" \
	"$(post /ui/sync_plans csrf_token=00ff name=p interval=daily repository_ids=$rid)" '^403'
is "no plan was made" "$("$DROVER" sync-plan list | grep -c ' p ')" 0

like "a bad interval is a 422" \
	"$(post /ui/sync_plans csrf_token=$tok name=p interval=monthly repository_ids=$rid)" '^422'
like "with the message beside the field" "$(cat "$TAP_TMP/post.html")" \
	'aria-invalid="true" aria-describedby="e-interval".*|id="e-interval">expected hourly'
like "and the typed values kept" "$(cat "$TAP_TMP/post.html")" 'id="s-name" name="name" value="p"'
like "a plan without repositories is refused" \
	"$(post /ui/sync_plans csrf_token=$tok name=p interval=daily)" '^422'
like "saying so" "$(cat "$TAP_TMP/post.html")" 'at least one repository or product'

out=$(post /ui/sync_plans csrf_token=$tok name=nightly interval=daily \
	'sync_date=2026-01-05 02:30' time_zone=Europe/Berlin repository_ids=$rid \
	'description=<script>alert(1)</script>')
like "create redirects to the plan" "$out" '^303 .*/ui/sync_plans/[0-9]+$'
pid=${out##*/}
is "the plan's page" "$(page /ui/sync_plans/$pid)" 200
like "shows its cron line and zone" "$(cat "$TAP_TMP/page.html")" '<code>30 2 \* \* \*</code>, Europe/Berlin'
like "and its next runs in its zone" "$(cat "$TAP_TMP/page.html")" '<time>20[0-9-]+T02:30:00\+0[12]:00</time>'
like "its description escaped" "$(cat "$TAP_TMP/page.html")" '&lt;script&gt;alert\(1\)&lt;/script&gt;'
is "never raw" "$(grep -c '<script>alert' "$TAP_TMP/page.html")" 0

like "edit: hourly" "$(post /ui/sync_plans/$pid csrf_token=$tok interval=hourly lists=1 \
	repository_ids=$rid)" "^303 .*/ui/sync_plans/$pid\$"
like "the plan is hourly now" "$("$DROVER" sync-plan show nightly)" 'CRON +30 \* \* \* \*'
like "an edit with a bad zone is a 422" \
	"$(post /ui/sync_plans/$pid csrf_token=$tok time_zone=Nowhere/Land)" '^422'

page /ui/sync_plans >/dev/null
like "the list shows the plan's next sync" "$(cat "$TAP_TMP/page.html")" \
	"href=\"/ui/sync_plans/$pid\">nightly</a>"
like "and a Disable button" "$(cat "$TAP_TMP/page.html")" "/ui/sync_plans/$pid/disable"
like "disable" "$(post /ui/sync_plans/$pid/disable csrf_token=$tok)" '^303 .*/ui/sync_plans$'
like "the plan is disabled" "$("$DROVER" sync-plan show nightly)" 'ENABLED +false'
page /ui/sync_plans >/dev/null
like "the button is Enable now" "$(cat "$TAP_TMP/page.html")" "/ui/sync_plans/$pid/enable"
like "enable" "$(post /ui/sync_plans/$pid/enable csrf_token=$tok)" '^303'
like "the plan is enabled" "$("$DROVER" sync-plan show nightly)" 'ENABLED +true'
like "sync now goes to the job's page" "$(post /ui/sync_plans/$pid/sync csrf_token=$tok)" \
	'^303 .*/ui/jobs/[0-9]+$'
like "disable without CSRF is refused" "$(post /ui/sync_plans/$pid/disable x=1)" '^403'

# Job invocations: a command on a host whose SSH port refuses (loopback port 1).
ok "a host to run on" "$DROVER" host create --name far1 --ip 127.0.0.1 --mac 52:54:00:00:01:01 \
	--param remote_execution_ssh_port=1
"$DROVER" job run --command 'echo <b>hi</b>' --hosts far1 --follow >/dev/null 2>&1
jid=$("$DROVER" --json job list --kind remote_execution | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
like "the job ran" "$jid" '^[0-9]+$'
is "the invocations page" "$(page /ui/job_invocations)" 200
like "lists it" "$(cat "$TAP_TMP/page.html")" "href=\"/ui/job_invocations/$jid\""
like "in the navigation" "$(cat "$TAP_TMP/page.html")" 'href="/ui/drift"'
is "its page" "$(page /ui/job_invocations/$jid)" 200
like "shows the host unreachable with why" "$(tr -d '\n' <"$TAP_TMP/page.html")" \
	'far1 <small>127.0.0.1</small>.*state-unreachable.*class="error">host far1: no SSH host key recorded'
like "and the command escaped" "$(cat "$TAP_TMP/page.html")" '<code>echo &lt;b&gt;hi&lt;/b&gt;</code>'
like "offers a rerun of the failed hosts" "$(cat "$TAP_TMP/page.html")" 'Rerun on the 1 failed hosts'
tok=$(csrf)
like "rerun without CSRF is refused" "$(post /ui/job_invocations/$jid/rerun x=1)" '^403'
out=$(post /ui/job_invocations/$jid/rerun csrf_token=$tok)
like "rerun goes to the new invocation" "$out" '^303 .*/ui/job_invocations/[0-9]+$'
new=${out##*/}
like "a new job" "$new" '^[0-9]+$'
like "that re-runs the first" "$("$DROVER" --json job show "$new")" "\"rerun_of\": *$jid"
is "a job of another kind is not an invocation" "$(page /ui/job_invocations/1)" 404

# The invocations list: GET /api/v2/job_invocations in Foreman's shape, search and paging,
# and the page on top of it.
api() { curl -s -H "Authorization: Bearer $(sed -n 's/^token: "\(.*\)"/\1/p' "$DROVER_CONFIG")" \
	"$DROVERD_URL/api/v2/$1"; }
like "the API lists the invocations, newest first" "$(api job_invocations)" \
	"^\{\"total\":2,\"subtotal\":2,\"page\":1,\"per_page\":20,\"search\":null,\"results\":\[\{\"id\":$new,"
like "with host and failed counts and the command" "$(api "job_invocations?search=id%20%3D%20$jid")" \
	'"host_count":1,"failed_count":1,"command":"echo <b>hi</b>"'
like "searching by command" "$(api 'job_invocations?search=command%20~%20hi')" '"subtotal":2'
like "by failures and owner" "$(api 'job_invocations?search=failed_count%20%3E%200%20and%20owner%20%3D%20admin')" \
	'"subtotal":2'
like "a search that matches none" "$(api 'job_invocations?search=failed_count%20%3D%200')" \
	'"total":2,"subtotal":0'
like "paged" "$(api 'job_invocations?per_page=1&page=2&order=id%20ASC')" \
	"\"page\":2,\"per_page\":1,.*\"results\":\[\{\"id\":$new,"
like "a bad search is a 422 naming the field" "$(api 'job_invocations?search=colour%20%3D%20red')" \
	'"status":422.*colour'
like "only invocations: other kinds are not listed" "$(api 'job_invocations?search=kind%20%3D%20sync')" \
	'"subtotal":0'
is "the page with a search and a page size" \
	"$(page '/ui/job_invocations?search=failed_count%20%3E%200&per_page=1')" 200
like "shows the counts and the command" "$(tr -d '\n' <"$TAP_TMP/page.html")" \
	'<td data-label="Ran"><code>echo &lt;b&gt;hi&lt;/b&gt;</code></td>.*<td data-label="Hosts">1</td><td data-label="Failed">1</td>'
like "and pages" "$(cat "$TAP_TMP/page.html")" '2 in all · page 1 of 2'
like "with a next link keeping the search" "$(cat "$TAP_TMP/page.html")" \
	'href="\?search=failed_count%20%3E%200&amp;page=2&amp;per_page=1" rel="next"'
is "a bad search on the page" "$(page '/ui/job_invocations?search=colour%20%3D%20red')" 200
like "says why" "$(cat "$TAP_TMP/page.html")" 'class="error" role="alert">.*colour'
like "an admin gets the Run job and New patch run links" "$(page /ui/job_invocations >/dev/null;
	cat "$TAP_TMP/page.html")" 'href="/ui/job_invocations/new".*href="/ui/patch_runs/new"'

# The Run job form: the API's checks, each message beside its field, values kept.
is "the run job form" "$(page /ui/job_invocations/new)" 200
like "offers the library playbooks" "$(cat "$TAP_TMP/page.html")" 'name="playbook"'
tok=$(csrf)
like "without CSRF it is refused" "$(post /ui/job_invocations command=true search=far1)" '^403'
like "nothing to run is a 422" "$(post /ui/job_invocations csrf_token=$tok search=far1)" '^422'
like "saying so beside the command" "$(cat "$TAP_TMP/post.html")" \
	'aria-describedby="e-command".*|id="e-command">give one of command'
like "bad numbers are refused by the API's checks" "$(post /ui/job_invocations csrf_token=$tok \
	command=uptime search=far1 concurrency=lots max_fail_percent=101)" '^422'
like "each beside its field" "$(cat "$TAP_TMP/post.html")" \
	'id="e-concurrency">concurrency: expected an integer from 1 to 200|id="e-concurrency">expected an integer from 1 to 200'
like "the typed command is kept" "$(cat "$TAP_TMP/post.html")" '>uptime</textarea>'
like "a become method that is not sudo or su" "$(post /ui/job_invocations csrf_token=$tok \
	command=uptime search=far1 become_method=doas)" '^422'
like "is refused beside its field" "$(cat "$TAP_TMP/post.html")" 'id="e-become_method">expected sudo or su'
like "a search matching no host" "$(post /ui/job_invocations csrf_token=$tok command=uptime \
	'search=name = nothing')" '^422'
like "says so beside the search" "$(cat "$TAP_TMP/post.html")" 'id="e-search">matches no host'
like "a bad git URL" "$(post /ui/job_invocations csrf_token=$tok git=ftp://x search=far1)" '^422'
like "is explained beside the git field" "$(cat "$TAP_TMP/post.html")" 'id="e-git">'
like "a library playbook that does not exist" "$(post /ui/job_invocations csrf_token=$tok \
	playbook=nope search=far1)" '^422'
like "beside the playbook" "$(cat "$TAP_TMP/post.html")" 'id="e-playbook">no such playbook'
out=$(post /ui/job_invocations csrf_token=$tok command=uptime search='name = far1' concurrency=3 \
	batch_size=1 max_fail_percent=50 timeout=30 become=1 become_user=ops become_method=su)
like "a good form starts the job and goes to its page" "$out" '^303 .*/ui/job_invocations/[0-9]+$'
rj=${out##*/}
like "a remote execution job with the form's settings" "$("$DROVER" --json job show "$rj")" \
	'"command": "uptime"'
like "all of them" "$("$DROVER" --json job show "$rj" | tr -d ' \n')" \
	'"batch_size":1,"max_fail_percent":50,"timeout":30,"become":true,"become_user":"ops","become_method":"su".*"hosts":\[[0-9]+\]'
like "audited as the API audits" "$("$DROVER" --json audit list 2>/dev/null || api audits)" \
	'job_invocation'

# The New patch run form.
is "the new patch run form" "$(page /ui/patch_runs/new)" 200
like "with the reboot policies" "$(cat "$TAP_TMP/page.html")" '<option value="if_needed"'
like "a bad reboot policy and window" "$(post /ui/patch_runs csrf_token=$tok search=far1 \
	reboot=sometimes)" '^422'
like "beside the reboot field" "$(cat "$TAP_TMP/post.html")" 'id="e-reboot">expected never, if_needed or always'
like "a bad window" "$(post /ui/patch_runs csrf_token=$tok search=far1 'window_cron=61 * * * *' \
	window_duration=60)" '^422'
like "beside the window's cron line" "$(cat "$TAP_TMP/post.html")" 'id="e-window_cron">'
like "a pre step that is not in the library" "$(post /ui/patch_runs csrf_token=$tok search=far1 pre=nope)" '^422'
out=$(post /ui/patch_runs csrf_token=$tok 'search=name = far1' errata_types=security \
	errata_severities=Critical errata_severities=Important 'errata_cves=CVE-2026-0001, CVE-2026-0002' \
	batch_percent=50 'window_cron=0 2 * * 6' window_tz=Europe/Berlin window_duration=120 \
	reboot=if_needed max_fail_percent=10)
like "a good patch form starts the run and goes to its page" "$out" '^303 .*/ui/job_invocations/[0-9]+$'
pj=${out##*/}
like "a patch run with the form's errata, batches, window and reboot" \
	"$("$DROVER" --json job show "$pj" | tr -d ' \n')" \
	'"kind":"patch_run".*"errata":\{"cves":\["CVE-2026-0001","CVE-2026-0002"\],"types":\["security"\],"severities":\["Critical","Important"\]\}'
like "window and policy" "$("$DROVER" --json job show "$pj" | tr -d ' \n')" \
	'"batch_percent":50,"window":\{"cron":"02\*\*6","tz":"Europe/Berlin","duration":120\},"reboot":"if_needed"'
is "its page" "$(page /ui/job_invocations/$pj)" 200

# Drift: nothing checked yet; check now submits a drift check.
is "the drift page" "$(page /ui/drift)" 200
like "says no host was checked" "$(cat "$TAP_TMP/page.html")" 'No host has been checked'
like "an admin can check now" "$(cat "$TAP_TMP/page.html")" 'action="/ui/drift/check"'
like "check now goes to the drift job" "$(post /ui/drift/check csrf_token=$(csrf))" \
	'^303 .*/ui/job_invocations/[0-9]+$'

# A viewer sees plans and gets no forms; posts are refused.
printf 'viewer-pass-1\n' | "$DROVER" user create --login vera --role viewer >/dev/null 2>&1
ui_login vera viewer-pass-1
is "a viewer sees the page" "$(page /ui/sync_plans)" 200
like "with the plan" "$(cat "$TAP_TMP/page.html")" 'nightly'
is "but no create form" "$(grep -c 'New sync plan' "$TAP_TMP/page.html")" 0
is "nor action buttons" "$(grep -c "/ui/sync_plans/$pid/disable\|/sync\"\|/delete\"" "$TAP_TMP/page.html")" 0
vtok=$(csrf)
like "a viewer's create post is refused" \
	"$(post /ui/sync_plans csrf_token=$vtok name=v interval=daily repository_ids=$rid)" '^403'
like "so is a viewer's delete" "$(post /ui/sync_plans/$pid/delete csrf_token=$vtok)" '^403'
page /ui/job_invocations/$jid >/dev/null
is "a viewer gets no rerun button" "$(grep -c 'Rerun on' "$TAP_TMP/page.html")" 0
like "nor may rerun" "$(post /ui/job_invocations/$jid/rerun csrf_token=$vtok)" '^403'
is "a viewer gets no run job form" "$(page /ui/job_invocations/new)" 403
like "nor may post one" "$(post /ui/job_invocations csrf_token=$vtok command=true search=far1)" '^403'
like "nor a patch run" "$(post /ui/patch_runs csrf_token=$vtok search=far1)" '^403'
page /ui/drift >/dev/null
is "nor a check now button" "$(grep -c 'drift/check' "$TAP_TMP/page.html")" 0
like "nor may check" "$(post /ui/drift/check csrf_token=$vtok)" '^403'

ui_login admin "$ADMIN_PASSWORD"
page /ui/sync_plans >/dev/null
tok=$(csrf)
like "delete" "$(post /ui/sync_plans/$pid/delete csrf_token=$tok)" '^303 .*/ui/sync_plans$'
is "the plan is gone" "$(page /ui/sync_plans/$pid)" 404
droverd_stop
is "droverd stopped cleanly, no sanitizer report in its log" \
	"$(grep -c 'Sanitizer\|runtime error' "$TAP_TMP/droverd.log")" 0
done_testing
