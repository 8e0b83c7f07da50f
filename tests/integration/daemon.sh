#!/bin/sh
# daemon.sh - a real droverd on loopback, driven with drover and curl: login, status,
# jobs (run, follow, cancel, fail), metrics, limits, backup, crash recovery, bad input.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
command -v curl >/dev/null || skip_all "curl is not installed"
command -v sqlite3 >/dev/null || skip_all "sqlite3 is not installed"

state=$TAP_TMP/state

like "droverd --version" "$("$DROVERD" --version)" '^droverd [0-9]'
ok "droverd starts and logs its URL" droverd_start "$state"
like "first start seeds the admin user" "$(cat "$TAP_TMP/droverd.log")" \
	"created user 'admin'"
is "the admin password file is private" "$(stat -c %a "$state/admin-password")" 600
like "status is public and healthy" "$(curl -sf "$DROVERD_URL/api/v2/status")" \
	'"store": *"ok"'
is "the API refuses a call without a token" \
	"$(curl -s -o /dev/null -w '%{http_code}' "$DROVERD_URL/api/v2/jobs")" 401
is "a wrong token is refused" "$(curl -s -o /dev/null -w '%{http_code}' \
	-H 'Authorization: Bearer drv_nope' "$DROVERD_URL/api/v2/jobs")" 401
is "login with a wrong password fails" \
	"$(DROVER_PASSWORD=wrong-password "$DROVER" login >/dev/null 2>&1; echo $?)" 1
ok "drover login stores a token" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
is "the CLI config is private" "$(stat -c %a "$DROVER_CONFIG")" 600
like "drover status" "$("$DROVER" status 2>&1)" '^server +http://127\.0\.0\.1:[0-9]+'

out=$("$DROVER" job run noop --follow 2>&1)
is "job run noop --follow exits 0" "$?" 0
like "its output is printed" "$out" '.'
out=$("$DROVER" job run sleep -p seconds=1 -p lines=3 --follow 2>&1)
like "a sleep job's lines arrive through follow" "$out" '(.*\n?){3}'
out=$("$DROVER" job run sleep -p seconds=0 -p fail=true --follow 2>&1)
is "a failed job makes follow exit 1" "$?" 1
like "and says why" "$out" 'job [0-9]+ failed'

id=$("$DROVER" --json job run sleep -p seconds=30 | sed -n 's/^  "id": \([0-9]*\).*/\1/p')
like "job run prints the job as JSON" "$id" '^[0-9]+$'
sleep 0.5
"$DROVER" job cancel "$id" >/dev/null 2>&1
i=0
while [ $i -lt 50 ]; do
	st=$("$DROVER" --json job show "$id" | sed -n 's/^  "state": "\(.*\)".*/\1/p')
	[ "$st" = cancelled ] && break
	sleep 0.1
	i=$((i + 1))
done
is "a running job is cancelled" "$st" cancelled
like "job list shows the jobs" "$("$DROVER" job list 2>&1)" 'noop +succeeded'
like "job list --json is Foreman's list shape" "$("$DROVER" --json job list)" \
	'"per_page": 20'
is "an unknown kind is refused with 422" "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer $(sed -n 's/^token: "\(.*\)"/\1/p' "$DROVER_CONFIG")" \
	-d '{"kind":"no-such-kind"}' "$DROVERD_URL/api/v2/jobs")" 422

token=$(sed -n 's/^token: "\(.*\)"/\1/p' "$DROVER_CONFIG")
body=$(curl -s -H "Authorization: Bearer $token" -d '{"kind": "noop",' \
	"$DROVERD_URL/api/v2/jobs")
like "a malformed JSON body is a 400 naming line and column" "$body" 'request body:1:[0-9]+:'
head -c 20000000 /dev/zero | tr '\0' 'a' >"$TAP_TMP/big"
is "a body over the cap is refused with 413" "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer $token" --data-binary @"$TAP_TMP/big" \
	"$DROVERD_URL/api/v2/jobs")" 413
like "and droverd keeps serving" "$(curl -sf "$DROVERD_URL/api/v2/status")" '"ok"'
like "metrics count requests by route and status" "$(curl -sf "$DROVERD_URL/metrics")" \
	'route="status".*code="200"'

like "metrics count jobs by kind and state" "$(curl -sf "$DROVERD_URL/metrics")" \
	'drover_jobs\{kind="noop",state="succeeded"\} [1-9]'

out=$("$DROVER" schedule create --name bad --cron '61 * * * *' --kind noop 2>&1)
like "a schedule with a bad cron line is refused, naming the field" "$out" \
	'cron.*minute 61'
out=$("$DROVER" --json schedule create --name nightly --cron '30 2 * * *' \
	--tz Europe/Berlin --kind noop -p note=x)
sid=$(printf '%s\n' "$out" | sed -n 's/^  "id": \([0-9]*\).*/\1/p')
like "drover schedule create" "$sid" '^[0-9]+$'
like "schedule show lists the next fire times in the zone" \
	"$("$DROVER" schedule show "$sid")" 'T02:30:00\+0[12]:00'
like "schedule list" "$("$DROVER" schedule list)" 'nightly +30 2 \* \* \*'
like "schedule disable" "$("$DROVER" schedule disable "$sid")" 'disabled'
ok "schedule delete" "$DROVER" schedule delete "$sid"
is "a deleted schedule is gone" "$("$DROVER" schedule show "$sid" >/dev/null 2>&1; echo $?)" 1

ok "drover admin backup writes a copy" "$DROVER" admin backup "$TAP_TMP/backup.db"
is "the backup passes integrity_check" \
	"$(sqlite3 "$TAP_TMP/backup.db" 'PRAGMA integrity_check')" ok

# kill -9 while a job runs: the next start marks it interrupted, the store is intact.
id=$("$DROVER" --json job run sleep -p seconds=60 | sed -n 's/^  "id": \([0-9]*\).*/\1/p')
sleep 0.5
droverd_stop KILL
is "after kill -9 the database passes integrity_check" \
	"$(sqlite3 "$state/drover.db" 'PRAGMA integrity_check')" ok
droverd_start "$state"
like "the job that was running is interrupted" "$("$DROVER" --json job show "$id")" \
	'"state": "interrupted"'
droverd_stop

printf '# droverd\nhttp:\n  threads: lots\n' >"$TAP_TMP/bad.yml"
out=$("$DROVERD" --config "$TAP_TMP/bad.yml" --state-dir "$state" 2>&1)
like "a bad config value stops the start, naming file:line" "$out" 'bad\.yml:3'
printf 'log:\n  level: info\nlisten_typo: 1\n' >"$TAP_TMP/bad2.yml"
like "an unknown config key stops the start, naming file:line" \
	"$("$DROVERD" --config "$TAP_TMP/bad2.yml" --state-dir "$state" 2>&1)" 'bad2\.yml:3'

mkdir -p "$TAP_TMP/corrupt"
head -c 65536 /dev/urandom >"$TAP_TMP/corrupt/drover.db"
like "a corrupt database file is refused, naming it" \
	"$("$DROVERD" --listen 127.0.0.1:0 --state-dir "$TAP_TMP/corrupt" 2>&1)" \
	'corrupt/drover\.db'
(
	echo 'BEGIN EXCLUSIVE; INSERT INTO api_tokens SELECT * FROM api_tokens WHERE 0;'
	sleep 9
) | sqlite3 "$state/drover.db" &
locker=$!
sleep 0.5
like "a locked database is refused, naming it" \
	"$("$DROVERD" --listen 127.0.0.1:0 --state-dir "$state" 2>&1)" 'drover\.db.*locked'
kill $locker 2>/dev/null
wait $locker 2>/dev/null

# SIGHUP reloads the log level from the config file.
printf 'log:\n  level: info\n' >"$TAP_TMP/reload.yml"
droverd_start "$state" --config "$TAP_TMP/reload.yml"
printf 'log:\n  level: debug\nhttp:\n  threads: 2\n' >"$TAP_TMP/reload.yml"
kill -HUP "$DROVERD_PID"
sleep 0.5
like "SIGHUP reloads the configuration and names keys needing a restart" \
	"$(cat "$TAP_TMP/droverd.log")" 'reloaded.*|restart: http.threads'
droverd_stop
like "droverd --backup works offline" \
	"$("$DROVERD" --state-dir "$state" --backup "$TAP_TMP/offline.db" 2>&1)" 'backup written'

done_testing
