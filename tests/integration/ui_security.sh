#!/bin/sh
# ui_security.sh - the web UI through curl against a real droverd: login with the
# double-submit login token, session cookie flags (Secure under TLS), security headers,
# CSRF on every form post, throttled UI logins, logout, redirects that stay on the site,
# and XSS payloads in every field a user controls never coming back unescaped.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
command -v curl >/dev/null || skip_all "curl is not installed"
command -v openssl >/dev/null || skip_all "openssl is not installed"

state=$TAP_TMP/state
jar=$TAP_TMP/jar
ok "droverd starts" droverd_start "$state"
ok "admin logs in (CLI)" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
admin=$(sed -n 's/^token: "\(.*\)"/\1/p' "$DROVER_CONFIG")

# ui_login USER PASSWORD [CURL_ARGS]: log in through the form; prints the response headers.
ui_login() {
	rm -f "$jar"
	curl -s -k -c "$jar" -b "$jar" "$DROVERD_URL/login" -o "$TAP_TMP/login.html"
	lt=$(sed -n 's/.*name="login_token" value="\([0-9a-f]*\)".*/\1/p' "$TAP_TMP/login.html")
	curl -s -k -c "$jar" -b "$jar" -D - -o "$TAP_TMP/after-login.html" \
		--data-urlencode "user=$1" --data-urlencode "password=$2" \
		--data-urlencode "login_token=$lt" --data-urlencode "next=${3:-/}" \
		"$DROVERD_URL/login"
}
# page PATH: GET a page with the session; the body goes to $TAP_TMP/page.html.
page() {
	curl -s -k -b "$jar" -o "$TAP_TMP/page.html" -w '%{http_code}' "$DROVERD_URL$1"
}
# csrf: the CSRF token of the last page.
csrf() {
	sed -n 's/.*name="csrf_token" value="\([0-9a-f]*\)".*/\1/p' "$TAP_TMP/page.html" | head -1
}
# post PATH DATA...: a form post with the session; prints the status.
post() {
	p=$1
	shift
	for d in "$@"; do set -- "$@" --data-urlencode "$d"; shift; done
	curl -s -k -b "$jar" -o "$TAP_TMP/post.html" -w '%{http_code}' "$@" "$DROVERD_URL$p"
}

is "pages need a login: / redirects to /login" \
	"$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$DROVERD_URL/")" \
	"303 $DROVERD_URL/login"
like "and a deeper page comes back after login" \
	"$(curl -s -o /dev/null -w '%{redirect_url}' "$DROVERD_URL/ui/jobs")" '/login\?next=/ui/jobs$'
headers=$(curl -s -D - -o /dev/null "$DROVERD_URL/login")
like "CSP forbids inline script" "$headers" "Content-Security-Policy: default-src 'self'; script-src 'self';"
like "frames are denied" "$headers" 'X-Frame-Options: DENY'
like "nosniff" "$headers" 'X-Content-Type-Options: nosniff'
like "no referrer" "$headers" 'Referrer-Policy: no-referrer'
is "the pages carry no inline script" \
	"$(curl -s "$DROVERD_URL/login" | grep -c '<script>\|<script [^s]\|onclick=\|style=')" 0

# The login form needs its token (login CSRF).
is "a login post without the login token is refused" \
	"$(curl -s -o /dev/null -w '%{http_code}' -d 'user=admin&password=x' "$DROVERD_URL/login")" 403
h=$(ui_login admin "$ADMIN_PASSWORD" /ui/jobs)
like "a good login redirects to next" "$h" 'Location: /ui/jobs'
like "the session cookie is HttpOnly and SameSite=Strict" "$h" \
	'Set-Cookie: drover_session=[0-9a-f]{64}; Path=/; HttpOnly; SameSite=Strict; Max-Age=[0-9]+'
is "without TLS it is not marked Secure" "$(printf '%s' "$h" | grep -c 'Secure')" 0
h=$(ui_login admin "$ADMIN_PASSWORD" //evil.example/x)
like "next never leaves the site" "$h" 'Location: /
'
is "the dashboard renders" "$(page /)" 200
like "with the job chart as inline SVG" "$(cat "$TAP_TMP/page.html")" '<svg class="chart"'
like "and the navigation" "$(cat "$TAP_TMP/page.html")" 'href="/ui/schedules"'
for p in /ui/jobs /ui/schedules /ui/users /ui/roles /ui/tokens /ui/audits /ui/settings; do
	is "page $p renders" "$(page "$p")" 200
done
like "static files are served from the binary" \
	"$(curl -s -D - -o /dev/null "$DROVERD_URL/static/app.css")" 'Content-Type: text/css'

# CSRF: every state-changing form post needs the session's token.
page /ui/schedules >/dev/null
token=$(csrf)
is "a form post without the CSRF token is refused (403)" \
	"$(post /ui/jobs kind=noop)" 403
like "and says why" "$(cat "$TAP_TMP/post.html")" 'CSRF'
is "a wrong CSRF token is refused" "$(post /ui/jobs kind=noop csrf_token=0000)" 403
is "an API call with the session cookie but no token is refused" \
	"$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" -H 'Content-Type: application/json' \
		-d '{"kind":"noop"}' "$DROVERD_URL/api/v2/jobs")" 403
is "with the X-CSRF-Token header it works" \
	"$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" -H "X-CSRF-Token: $token" \
		-H 'Content-Type: application/json' -d '{"kind":"noop"}' "$DROVERD_URL/api/v2/jobs")" 201
is "a form post with the token runs a job (redirect)" "$(post /ui/jobs kind=noop "csrf_token=$token")" 303

# XSS: payloads in every field people control come back escaped.
x='<script>alert(1)</script>'
y='"><img src=x onerror=alert(2)>'
is "a schedule with a payload in its name" "$(post /ui/schedules "name=$x" 'cron=0 4 * * *' \
	tz=UTC kind=noop "params={\"note\": \"$x\"}" "csrf_token=$token")" 303
is "a schedule form error echoes the input" "$(post /ui/schedules "name=a$y" "cron=$x" \
	tz=UTC kind=noop "csrf_token=$token")" 422
cp "$TAP_TMP/post.html" "$TAP_TMP/form-error.html"
post /ui/roles "name=xssrole" "description=$x$y" "permissions=jobs view kind = \"$y\"" \
	"csrf_token=$token" >/dev/null
post /ui/tokens "name=$x$y" expires_in_days=1 "csrf_token=$token" >/dev/null
cp "$TAP_TMP/post.html" "$TAP_TMP/token.html"
curl -s -H "Authorization: Bearer $admin" -d "{\"kind\":\"sleep\",\"params\":{\"seconds\":0,\"x\":\"$x\"}}" \
	"$DROVERD_URL/api/v2/jobs" >/dev/null
jid=$(curl -s -H "Authorization: Bearer $admin" "$DROVERD_URL/api/v2/jobs?per_page=1" |
	sed -n 's/.*"results":\[{"id":\([0-9]*\).*/\1/p')
sleep 0.5
: >"$TAP_TMP/all.html"
for p in /ui/schedules /ui/roles /ui/tokens /ui/audits "/ui/jobs/$jid" \
	"/ui/jobs?search=$(printf '%s' "$y" | sed 's/ /%20/g; s/"/%22/g; s/</%3C/g; s/>/%3E/g')" \
	"/ui/audits?search=summary%20~%20%22$(printf '%s' "$x" | sed 's/</%3C/g; s/>/%3E/g')%22"; do
	page "$p" >/dev/null
	cat "$TAP_TMP/page.html" >>"$TAP_TMP/all.html"
done
cat "$TAP_TMP/form-error.html" "$TAP_TMP/token.html" >>"$TAP_TMP/all.html"
curl -s "$DROVERD_URL/login?next=$(printf '%s' "$y" | sed 's/ /%20/g; s/"/%22/g; s/</%3C/g; s/>/%3E/g')" \
	>>"$TAP_TMP/all.html"
like "the payloads reached the pages (escaped)" "$(cat "$TAP_TMP/all.html")" '&lt;script&gt;alert\(1\)'
is "no page holds the raw <script> payload" "$(grep -c '<script>alert' "$TAP_TMP/all.html")" 0
is "no page holds a raw attribute breakout" "$(grep -c '"><img' "$TAP_TMP/all.html")" 0

# The provisioning and content forms: CSRF on each, payloads in names come back escaped.
page /ui/hosts >/dev/null
token=$(csrf)
for f in /ui/hosts /ui/subnets /ui/hostgroups /ui/domains /ui/provisioning_templates \
	/ui/repositories /ui/products /ui/content_views /ui/lifecycle_environments; do
	is "POST $f without the CSRF token is refused (403)" "$(post "$f" name=csrf-test)" 403
done
is "a hostgroup with payloads in its comment and parameters, through the form" \
	"$(post /ui/hostgroups name=xssgroup "comment=$x$y" "parameters=k=$x$y" "csrf_token=$token")" 303
is "a host in it, through the form" "$(post /ui/hosts name=xss1 hostgroup=xssgroup \
	"comment=$x$y" "owner=$y" if0_type=interface if0_mac=52:54:00:00:99:01 "csrf_token=$token")" 303
hid=$(curl -s -H "Authorization: Bearer $admin" "$DROVERD_URL/api/v2/hosts/xss1" |
	sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
for a in build cancel_build power delete; do
	is "POST /ui/hosts/$hid/$a without the CSRF token is refused (403)" \
		"$(post "/ui/hosts/$hid/$a" power_action=status)" 403
done
is "a template preview without the CSRF token is refused (403)" \
	"$(post /ui/provisioning_templates/1/preview host=xss1 template=x)" 403
for a in build power hostgroup delete run errata; do
	is "POST /ui/hosts/bulk/$a without the CSRF token is refused (403)" \
		"$(post "/ui/hosts/bulk/$a" "ids=$hid" power_action=status hostgroup=xssgroup \
			command=true)" 403
done
for f in /ui/repositories/1/edit /ui/content_views/1/filters /ui/content_views/1/filters/0/delete \
	/ui/content_views/1/edit; do
	is "POST $f without the CSRF token is refused (403)" "$(post "$f" type=package patterns=x)" 403
done
is "the bulk confirmation without the CSRF token is refused (403)" \
	"$(post /ui/hosts/bulk action=delete "ids=$hid")" 403
like "xss1 is still there" "$(curl -s -H "Authorization: Bearer $admin" \
	"$DROVERD_URL/api/v2/hosts/xss1")" '"name": *"xss1"'
is "a bulk confirmation for a search holding payloads" "$(post /ui/hosts/bulk action=build all=1 \
	"search=name = \"$x$y\" or name = xss1" "csrf_token=$token")" 200
cp "$TAP_TMP/post.html" "$TAP_TMP/bulk.html"
is "a host form error echoes a payload" "$(post /ui/hosts "name=$y" "hostgroup=$x" \
	"if0_mac=$y" if0_type=interface "csrf_token=$token")" 422
cp "$TAP_TMP/post.html" "$TAP_TMP/host-error.html"
: >"$TAP_TMP/prov.html"
gid=$(curl -s -H "Authorization: Bearer $admin" "$DROVERD_URL/api/v2/hostgroups/xssgroup" |
	sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
for p in /ui/hostgroups "/ui/hostgroups/$gid" /ui/hosts "/ui/hosts/$hid" "/ui/hosts/$hid/edit" "/ui/hosts/$hid/templates/provision" \
	"/ui/hosts?search=$(printf '%s' "$y" | sed 's/ /%20/g; s/"/%22/g; s/</%3C/g; s/>/%3E/g')"; do
	is "page $p renders" "$(page "$p")" 200
	cat "$TAP_TMP/page.html" >>"$TAP_TMP/prov.html"
done
cat "$TAP_TMP/host-error.html" "$TAP_TMP/bulk.html" >>"$TAP_TMP/prov.html"
like "the payloads reached the provisioning pages (escaped)" "$(cat "$TAP_TMP/prov.html")" \
	'&lt;script&gt;alert\(1\)'
is "no provisioning page holds the raw <script> payload" "$(grep -c '<script>alert' "$TAP_TMP/prov.html")" 0
is "no provisioning page holds a raw attribute breakout" "$(grep -c '"><img' "$TAP_TMP/prov.html")" 0

# The run forms (job invocations, patch runs): CSRF, payloads echoed escaped in errors, in
# the run's page and in the list's search box.
page /ui/job_invocations/new >/dev/null
token=$(csrf)
is "POST /ui/job_invocations without the CSRF token is refused (403)" \
	"$(post /ui/job_invocations command=true search=xss1)" 403
is "POST /ui/patch_runs without the CSRF token is refused (403)" \
	"$(post /ui/patch_runs search=xss1)" 403
is "nor with a wrong one" "$(post /ui/job_invocations command=true search=xss1 csrf_token=00ff)" 403
is "a run form error echoes payloads" "$(post /ui/job_invocations "command=$x$y" "search=$y" \
	"become_user=$x" "csrf_token=$token")" 422
cp "$TAP_TMP/post.html" "$TAP_TMP/jobs.html"
is "a patch form error echoes payloads" "$(post /ui/patch_runs "errata_cves=$x$y" \
	"window_cron=$y" "reboot=$x" search=xss1 "csrf_token=$token")" 422
cat "$TAP_TMP/post.html" >>"$TAP_TMP/jobs.html"
is "a run with payloads in its command starts (redirect)" \
	"$(post /ui/job_invocations "command=echo '$x$y'" "search=name = xss1" "csrf_token=$token")" 303
jid=$(curl -s -H "Authorization: Bearer $admin" "$DROVERD_URL/api/v2/job_invocations?per_page=1" |
	sed -n 's/.*"results":\[{"id":\([0-9]*\).*/\1/p')
for p in "/ui/job_invocations/$jid" /ui/job_invocations \
	"/ui/job_invocations?search=$(printf '%s' "$y" | sed 's/ /%20/g; s/"/%22/g; s/</%3C/g; s/>/%3E/g')"; do
	is "page $p renders" "$(page "$p")" 200
	cat "$TAP_TMP/page.html" >>"$TAP_TMP/jobs.html"
done
like "the payloads reached the run pages (escaped)" "$(cat "$TAP_TMP/jobs.html")" \
	'&lt;script&gt;alert\(1\)'
is "no run page holds the raw <script> payload" "$(grep -c '<script>alert' "$TAP_TMP/jobs.html")" 0
is "no run page holds a raw attribute breakout" "$(grep -c '"><img' "$TAP_TMP/jobs.html")" 0

# Editing from the pages: a role's permissions, a user's role and password.
page /ui/roles >/dev/null
token=$(csrf)
"$DROVER" role create --name editable --permission 'jobs view' >/dev/null
rid=$(curl -s -H "Authorization: Bearer $admin" "$DROVERD_URL/api/v2/roles?search=name%20%3D%20editable" |
	sed -n 's/.*"results":\[{"id":\([0-9]*\).*/\1/p')
is "a role edited on its page" "$(post "/ui/roles/$rid/edit" description=edited \
	"permissions=jobs view kind = sleep
schedules view" "csrf_token=$token")" 303
like "has the new permissions" "$(curl -s -H "Authorization: Bearer $admin" "$DROVERD_URL/api/v2/roles/$rid")" \
	'"permissions":\[\{"resource":"jobs","action":"view","search":"kind = sleep"\},\{"resource":"schedules"'
is "a bad filter is refused on the page" "$(post "/ui/roles/$rid/edit" \
	"permissions=jobs view colour = red" "csrf_token=$token")" 422
printf 'editor-pass-1\n' | "$DROVER" user create --login ed --role viewer >/dev/null
uid=$(curl -s -H "Authorization: Bearer $admin" "$DROVERD_URL/api/v2/users?search=login%20%3D%20ed" |
	sed -n 's/.*"results":\[{"id":\([0-9]*\).*/\1/p')
is "a user's role and password changed on the users page" \
	"$(post "/ui/users/$uid/edit" role=operator password=editor-pass-2 "csrf_token=$token")" 303
like "the new password works, with the new role" \
	"$(curl -s -d '{"user":"ed","password":"editor-pass-2"}' "$DROVERD_URL/api/v2/tokens")" \
	'"role":"operator"'

# Roles as people see them: a viewer meets the denial.
printf 'viewer-pass-2\n' | "$DROVER" user create --login vic --role viewer >/dev/null
ui_login vic viewer-pass-2 >/dev/null
is "a viewer sees jobs" "$(page /ui/jobs)" 200
is "without the run form" "$(grep -c 'method="post" action="/ui/jobs"' "$TAP_TMP/page.html")" 0
like "and no Users entry in the navigation" "$(grep -c 'href="/ui/users"' "$TAP_TMP/page.html")" '^0$'
is "the users page is refused (403)" "$(page /ui/users)" 403
like "with a page saying why" "$(cat "$TAP_TMP/page.html")" 'lacks the permission users:view'
token=$(csrf)
is "a viewer's form post with a valid CSRF token is still refused (403)" \
	"$(post /ui/jobs kind=noop "csrf_token=$token")" 403
for f in /ui/hosts /ui/subnets /ui/repositories /ui/content_views; do
	is "a viewer's POST $f with a valid CSRF token is refused (403)" \
		"$(post "$f" name=v "csrf_token=$token")" 403
done
is "a viewer's build with a valid CSRF token is refused (403)" \
	"$(post "/ui/hosts/$hid/build" "csrf_token=$token")" 403
like "naming the permission" "$(cat "$TAP_TMP/post.html")" 'lacks the permission hosts:build'
is "a viewer's power action is refused (403)" \
	"$(post "/ui/hosts/$hid/power" power_action=on "csrf_token=$token")" 403
is "a viewer gets the new host form refused (403)" "$(page /ui/hosts/new)" 403
is "a viewer gets the run job form refused (403)" "$(page /ui/job_invocations/new)" 403
is "and the new patch run form (403)" "$(page /ui/patch_runs/new)" 403
is "a viewer sees the job invocations" "$(page /ui/job_invocations)" 200
is "without the Run job and New patch run links" \
	"$(grep -c 'href="/ui/job_invocations/new"\|href="/ui/patch_runs/new"' "$TAP_TMP/page.html")" 0
token=$(csrf)
is "a viewer's run post with a valid CSRF token is refused (403)" \
	"$(post /ui/job_invocations command=true search=xss1 "csrf_token=$token")" 403
is "so is a viewer's patch run post (403)" \
	"$(post /ui/patch_runs search=xss1 "csrf_token=$token")" 403

# Logout ends the session on the server.
page / >/dev/null
token=$(csrf)
cp "$jar" "$TAP_TMP/oldjar"
is "logout needs the CSRF token too" "$(post /logout x=1)" 403
is "logout redirects to the login page" "$(post /logout "csrf_token=$token")" 303
is "the old session cookie no longer works" \
	"$(curl -s -o /dev/null -w '%{http_code}' -b "$TAP_TMP/oldjar" "$DROVERD_URL/ui/jobs")" 303

# Throttled UI logins.
for i in 1 2 3 4 5; do ui_login vic wrong-password >/dev/null; done
like "after 5 failures the form says to wait" "$(ui_login vic viewer-pass-2)" 'HTTP/1.1 429'
like "with Retry-After" "$(ui_login vic viewer-pass-2)" 'Retry-After: [0-9]+'
droverd_stop
is "droverd stopped cleanly: no sanitizer reports in its log" \
	"$(grep -c 'Sanitizer\|runtime error' "$TAP_TMP/droverd.log")" 0

# Under TLS the session cookie is Secure.
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -days 1 \
	-keyout "$TAP_TMP/key.pem" -out "$TAP_TMP/cert.pem" >/dev/null 2>&1
printf 'http:\n  tls_cert: %s\n  tls_key: %s\n' "$TAP_TMP/cert.pem" "$TAP_TMP/key.pem" \
	>"$TAP_TMP/tls.yml"
ok "droverd starts with TLS" droverd_start "$state" --config "$TAP_TMP/tls.yml"
like "under TLS the session cookie is Secure" "$(ui_login admin "$ADMIN_PASSWORD")" \
	'Set-Cookie: drover_session=[0-9a-f]{64}; .*SameSite=Strict; Max-Age=[0-9]+; Secure'
like "and HSTS is sent" "$(curl -s -k -D - -o /dev/null "$DROVERD_URL/login")" \
	'Strict-Transport-Security: max-age='
droverd_stop

done_testing
