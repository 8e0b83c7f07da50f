#!/bin/sh
# ca_schedule.sh - host certificates renewed by droverd's scheduler, observed firing: a
# schedule of the ca_renew job every minute (cron has minute resolution: the test waits
# for the next minute boundary, 60 s at most), a host certificate close to expiry really
# renewed by the job the schedule enqueued, the new one checked with openssl and served at
# /ca/hosts/<fqdn>.pem (what installed hosts fetch), the old serial superseded; a
# certificate not due and a revoked one left alone.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
command -v openssl >/dev/null || skip_all "openssl is not installed"
command -v curl >/dev/null || skip_all "curl is not installed"
command -v python3 >/dev/null || skip_all "python3 is not installed"

cd "$TAP_TMP" || exit 1
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
pubkey() { openssl x509 -in "$1" -noout -pubkey; }
enddate() { date -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s; }
# jget EXPR: evaluate a Python expression over the JSON on stdin (bound to j)
jget() { python3 -c 'import json,sys; j=json.load(sys.stdin); v=eval(sys.argv[1]); print("" if v is None else v)' "$1"; }

# The default renewal schedule droverd seeds itself, in the server's time zone (TZ here).
export TZ=Europe/Berlin
ok "droverd starts" droverd_start "$TAP_TMP/state"
ok "drover login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
# seeded: the default schedule's field K (schedule list), "" when there is none
seeded() { "$DROVER" --json schedule list | jget "([s.get('$1') for s in j.get('results', j) if s['name'] == 'ca-renew-hosts'] + [''])[0]"; }
nsched() { "$DROVER" --json schedule list | jget "len([s for s in j.get('results', j) if s['kind'] == 'ca_renew'])"; }
restart() { droverd_stop && droverd_start "$TAP_TMP/state"; }
like "droverd seeded a ca_renew schedule at first start" "$("$DROVER" schedule list)" 'ca-renew-hosts'
is "of the ca_renew job" "$(seeded kind)" ca_renew
like "daily, at a minute between 01:00 and 04:59 (jitter)" "$(seeded cron)" '^[1-5]?[0-9] [1-4] \* \* \*$'
is "in the server's time zone" "$(seeded tz)" Europe/Berlin
is "renewing what expires within 30 days" "$(seeded params | tr -d ' ')" "{'days':30}"
is "enabled" "$(seeded enabled)" True
nr=$(seeded next_run_at)
ok "its next run is within a day" test "$nr" -gt "$(date +%s)" -a "$nr" -le $(($(date +%s) + 86400))
like "droverd's log says so" "$(cat "$TAP_TMP/droverd.log")" 'created schedule [0-9]+ \(ca-renew-hosts\).*Europe/Berlin'
seed_id=$(seeded id)
seed_cron=$(seeded cron)
ok "the admin disables it" "$DROVER" schedule disable "$seed_id"
ok "droverd restarts" restart
is "a restart makes no second one" "$(nsched)" 1
is "and leaves it disabled" "$(seeded enabled) $(seeded id) $(seeded cron)" "False $seed_id $seed_cron"
unset TZ
"$DROVER" ca show --root >root.pem

# Three host certificates: one close to expiry (a day left, inside the 30-day window),
# one not due, one close to expiry but revoked.
ok "a host certificate with a day left" "$DROVER" ca issue --host near.example.test \
	--ip 198.18.7.1 --days 1 --out near
ok "one with 90 days left" "$DROVER" ca issue --host far.example.test --days 90 --out far
ok "one with a day left, revoked" "$DROVER" ca issue --host gone.example.test --days 1 --out gone
ok "ca revoke" "$DROVER" ca revoke "$(serial gone.crt)" --reason superseded
s_near=$(serial near.crt)
s_far=$(serial far.crt)
s_gone=$(serial gone.crt)

# Not in the last seconds of a minute: the checks below read the schedule before it fires.
[ "$(date +%S | sed 's/^0//')" -lt 50 ] || sleep $((61 - $(date +%S | sed 's/^0//')))
ok "a schedule of ca_renew every minute" "$DROVER" schedule create --name ca-renew \
	--kind ca_renew --cron '* * * * *' -p days=30
sched=$("$DROVER" --json schedule list)
sid=$(echo "$sched" | jget '[s["id"] for s in j.get("results", j) if s["name"] == "ca-renew"][0]')
next=$(echo "$sched" | jget '[s["next_run_at"] for s in j.get("results", j) if s["name"] == "ca-renew"][0]')
ok "its next run is the next minute boundary" test -n "$next" -a $((next % 60)) = 0 -a \
	"$next" -gt "$(date +%s)"
is "no ca_renew job yet" "$("$DROVER" --json job list --kind ca_renew | jget 'len(j["results"])')" 0
echo "# waiting $((next - $(date +%s))) s for the schedule to fire"

# The job the scheduler enqueues, finished (bounded: the fire time + 60 s).
job=
while [ "$(date +%s)" -lt $((next + 60)) ]; do
	job=$("$DROVER" --json job list --kind ca_renew |
		jget '[x["id"] for x in j["results"] if x["state"] in ("succeeded", "failed")][:1]')
	[ "$job" != "[]" ] && break
	sleep 1
done
job=$(echo "$job" | tr -d '[]')
ok "the schedule fired: a ca_renew job ran" test -n "$job"
"$DROVER" --json job show "$job" >job.json
is "the job succeeded" "$(jget 'j["state"]' <job.json)" succeeded
is "it is the schedule's" "$(jget 'j["schedule_id"]' <job.json)" "$sid"
ok "it ran at the fire time" test "$(jget 'int(j["started_at"])' <job.json)" -ge "$next"
out=$("$DROVER" job show "$job" 2>&1; "$DROVER" job follow "$job" 2>&1)
like "it renewed the certificate close to expiry" "$out" "renewed leaf .*near\.example\.test.*$s_near"
like "only that one" "$out" '1 certificate renewed'
is "the result says so" "$(jget 'j["result"]["renewed"]' <job.json)" 1

# The old row is superseded by the new one; the host fetches the new one.
near=$("$DROVER" --json ca list --host near.example.test)
s_new=$(echo "$near" | jget "[c.get('superseded_by') for c in (j.get('results', j)) if c['serial'] == '$s_near'][0]")
like "the old serial records its successor" "$s_new" '^[0-9A-F]{20,}$'
is "the old serial's state is renewed" \
	"$(echo "$near" | jget "[c['state'] for c in (j.get('results', j)) if c['serial'] == '$s_near'][0]")" renewed
is "the new one is valid" \
	"$(echo "$near" | jget "[c['state'] for c in (j.get('results', j)) if c['serial'] == '$s_new'][0]")" valid
ok "/ca/hosts/near.example.test.pem serves the renewed certificate" \
	curl -sf -o fetched.pem "$DROVERD_URL/ca/hosts/near.example.test.pem"
is "its serial is the successor's" "$(serial fetched.pem)" "$s_new"
ok "openssl verify: the renewed certificate chains to the root" \
	openssl verify -CAfile root.pem -untrusted fetched.pem fetched.pem
is "it keeps the host's key (the host's near.key goes on working)" "$(pubkey fetched.pem)" "$(pubkey near.crt)"
ok "and the key matches it" sh -c "test \"\$(openssl pkey -in near.key -pubout)\" = \"\$(openssl x509 -in fetched.pem -noout -pubkey)\""
like "the same names" "$(openssl x509 -in fetched.pem -noout -ext subjectAltName)" \
	'DNS:near\.example\.test.*IP Address:198\.18\.7\.1'
end_new=$(enddate fetched.pem)
ok "a day of validity again, counted from the renewal" test "$end_new" -gt "$(enddate near.crt)" -a \
	"$end_new" -ge $(($(jget 'int(j["started_at"])' <job.json) + 86400 - 600))
# every CRL of /ca/crl.pem (one per issuer; openssl crl reads the first only)
curl -sf "$DROVERD_URL/ca/crl.pem" >crl.pem
crl=$(awk '/BEGIN X509 CRL/ { n++ } { print > ("crl-part-" n ".pem") }' crl.pem &&
	for f in crl-part-*.pem; do openssl crl -in "$f" -noout -text 2>&1; done)
is "/ca/crl.pem holds the root's and the hosts intermediate's CRLs" "$(ls crl-part-*.pem | wc -l)" 2
like "the revoked one is on the CRL" "$crl" "Serial Number: $s_gone"
ok "the superseded one is not (renewal is not revocation: it stays valid until it expires)" \
	sh -c "! echo '$crl' | grep -q 'Serial Number: $s_near'"
ok "openssl verify -crl_check: the old certificate still verifies" \
	openssl verify -crl_check -CAfile root.pem -CRLfile crl.pem -untrusted near.crt near.crt
is "the revoked one does not" "$(openssl verify -crl_check -CAfile root.pem -CRLfile crl.pem \
	-untrusted gone.crt gone.crt 2>&1 | grep -c 'certificate revoked')" 1

# What the schedule left alone.
far=$("$DROVER" --json ca list --host far.example.test)
is "the 90-day certificate is not renewed" \
	"$(echo "$far" | jget "[(c['serial'], c['state']) for c in (j.get('results', j))]")" "[('$s_far', 'valid')]"
gone=$("$DROVER" --json ca list --host gone.example.test)
is "the revoked one is not renewed" \
	"$(echo "$gone" | jget "[(c['serial'], c['state']) for c in (j.get('results', j))]")" "[('$s_gone', 'revoked')]"

sched=$("$DROVER" --json schedule show "$sid")
is "the schedule counts one run" "$(echo "$sched" | jget 'j["iterations"]')" 1
ok "and moved on to the next minute" test "$(echo "$sched" | jget 'j["next_run_at"]')" -ge $((next + 60))
like "the audit names the scheduled job as the renewer" \
	"$("$DROVER" audit list --search "action=renew" 2>&1)" "job $job"
ok "schedule disable" "$DROVER" schedule disable "$sid"

# An admin's deletion sticks; a store from before the default schedule (an upgrade) gets
# it, unless it has a ca_renew schedule of its own.
ok "the admin deletes the default schedule" "$DROVER" schedule delete "$seed_id"
ok "and the test's" "$DROVER" schedule delete "$sid"
ok "droverd restarts" restart
is "no ca_renew schedule is made again" "$(nsched)" 0
droverd_stop
ok "the store made as before the default schedule (ca migration 1 only)" \
	sqlite3 "$TAP_TMP/state/drover.db" "DROP TABLE ca_settings;
	DELETE FROM schema_migrations WHERE component = 'ca' AND version = 2"
ok "droverd starts on it (upgrade)" droverd_start "$TAP_TMP/state"
is "the upgrade seeded the default schedule" "$(nsched) $(seeded kind)" "1 ca_renew"
is "in the machine's zone now (TZ unset)" "$(seeded tz)" \
	"$(cat /etc/timezone 2>/dev/null || echo UTC)"
ok "the admin replaces it with a weekly one" sh -c "'$DROVER' schedule delete $(seeded id) &&
	'$DROVER' schedule create --name weekly-renew --kind ca_renew --cron '0 3 * * 0' -p days=40"
droverd_stop
ok "the store made as before the default schedule again, with the admin's schedule" \
	sqlite3 "$TAP_TMP/state/drover.db" "DROP TABLE ca_settings;
	DELETE FROM schema_migrations WHERE component = 'ca' AND version = 2"
ok "droverd starts on it" droverd_start "$TAP_TMP/state"
is "an upgrade keeps the admin's ca_renew schedule and adds none" \
	"$(nsched) $(seeded kind)" "1 "
is "the setting remembers the schedule found" \
	"$(sqlite3 "$TAP_TMP/state/drover.db" "SELECT value FROM ca_settings WHERE key = 'renew_schedule'")" \
	"found $("$DROVER" --json schedule list | jget "[s['id'] for s in j.get('results', j) if s['name'] == 'weekly-renew'][0]")"
droverd_stop
is "droverd stopped cleanly: no sanitizer reports in its log" \
	"$(grep -c 'Sanitizer\|runtime error' "$TAP_TMP/droverd.log")" 0

done_testing
