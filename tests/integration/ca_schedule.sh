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

ok "droverd starts" droverd_start "$TAP_TMP/state"
ok "drover login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
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

done_testing
