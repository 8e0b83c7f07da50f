#!/bin/sh
# ca.sh - the CA of a real droverd, checked with openssl: root, host certificates (chain,
# SANs, a real TLS handshake), revocation and CRLs, Istio and Linkerd intermediates,
# renewal by the ca_renew job, root rotation, persistence across restarts, the KEK file,
# bad input.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
command -v openssl >/dev/null || skip_all "openssl is not installed"
command -v curl >/dev/null || skip_all "curl is not installed"
command -v sqlite3 >/dev/null || skip_all "sqlite3 is not installed"

state=$TAP_TMP/state
cd "$TAP_TMP" || exit 1

# serial FILE: the certificate's serial as droverd writes it.
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
# ncerts FILE: how many certificates a PEM file holds.
ncerts() { grep -c 'BEGIN CERTIFICATE' "$1"; }
# crl_text FILE: openssl's text of every CRL in a PEM file (openssl crl reads one).
crl_text() {
	awk '/BEGIN X509 CRL/ { n++ } { print > ("crl-part-" n ".pem") }' "$1"
	for f in crl-part-*.pem; do openssl crl -in "$f" -noout -text 2>&1; done
	rm -f crl-part-*.pem
}
# pubkey FILE: the public key of a certificate (or, with -k, of a private key).
pubkey() {
	if [ "$1" = -k ]; then openssl pkey -in "$2" -pubout; else
		openssl x509 -in "$1" -noout -pubkey; fi
}

ok "droverd starts" droverd_start "$state"
like "first start creates the CA root" "$(cat "$TAP_TMP/droverd.log")" 'created the CA root'
is "the key-encryption key is private" "$(stat -c %a "$state/ca-kek")" 600
ok "drover login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login

# The root.
"$DROVER" ca show --root >root.pem
is "ca show --root prints one certificate" "$(ncerts root.pem)" 1
root_text=$(openssl x509 -in root.pem -noout -text)
like "the root is a CA" "$root_text" 'CA:TRUE'
like "the root key is ECDSA P-256" "$root_text" 'NIST CURVE: P-256'
like "the root signs certificates and CRLs" "$root_text" 'Certificate Sign, CRL Sign'
is "the public /ca/root.pem is the same" "$(curl -sf "$DROVERD_URL/ca/root.pem")" \
	"$(cat root.pem)"
key_col=$(sqlite3 "$state/drover.db" \
	"SELECT key_pem FROM ca_certificates WHERE kind = 'root'")
like "the stored root key is encrypted PKCS#8" "$key_col" 'BEGIN ENCRYPTED PRIVATE KEY'
printf '%s\n' "$key_col" >stored.key
is "it does not open without the KEK" \
	"$(openssl pkey -in stored.key -passin pass:guess >/dev/null 2>&1; echo $?)" 1
ok "it opens with the KEK" openssl pkey -in stored.key -passin "file:$state/ca-kek" -noout

# Host identity certificates.
ok "ca issue" "$DROVER" ca issue --host n1.example.test --ip 198.18.1.5 \
	--ip 2001:db8::5 --days 30 --out n1
is "the key file is 0600" "$(stat -c %a n1.key)" 600
is "n1.crt holds the leaf and its chain" "$(ncerts n1.crt)" 2
ok "openssl verify -CAfile root.pem -untrusted n1.crt n1.crt" \
	openssl verify -CAfile root.pem -untrusted n1.crt n1.crt
text=$(openssl x509 -in n1.crt -noout -text)
like "SANs: the FQDN and both addresses" "$text" \
	'DNS:n1.example.test, IP Address:198.18.1.5, IP Address:2001:DB8:0:0:0:0:0:5'
like "serverAuth and clientAuth" "$text" \
	'TLS Web Server Authentication, TLS Web Client Authentication'
like "not a CA" "$text" 'CA:FALSE'
is "the key belongs to the certificate" "$(pubkey -k n1.key)" "$(pubkey n1.crt)"
days_left=$(( ($(date -d "$(openssl x509 -in n1.crt -noout -enddate | cut -d= -f2)" +%s) \
	- $(date +%s)) / 86400 ))
like "--days 30 is honoured" "$days_left" '^(29|30)$'

# A real TLS handshake with the issued pair, the client checking name and chain.
port=$(free_port)
openssl s_server -quiet -accept "127.0.0.1:$port" -cert n1.crt -cert_chain n1.crt -key n1.key \
	-naccept 1 >/dev/null 2>&1 </dev/null &
srv=$!
i=0
until out=$(echo | openssl s_client -connect "127.0.0.1:$port" -CAfile root.pem \
	-verify_hostname n1.example.test -verify_return_error 2>&1); do
	i=$((i + 1))
	[ $i -ge 30 ] && break
	sleep 0.1
done
kill "$srv" 2>/dev/null
wait "$srv" 2>/dev/null
like "a TLS client verifies n1.example.test against the root" "$out" \
	'Verify return code: 0 \(ok\)'

# A host that keeps its key: a CSR, and no key travels.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout host-side.key \
	-subj /CN=ignored -out own.csr 2>/dev/null
ok "ca issue --csr" "$DROVER" ca issue --host own.example.test --csr own.csr --out own
ok "writes no key file" test ! -e own.key
is "the certificate is for the host's own key" "$(pubkey -k host-side.key)" \
	"$(pubkey own.crt)"
like "and names the requested host, not the CSR's subject" \
	"$(openssl x509 -in own.crt -noout -subject)" 'CN *= *own.example.test'

# Revocation and the CRL.
ok "a second host" "$DROVER" ca issue --host n2.example.test --out n2
s1=$(serial n1.crt)
ok "ca revoke" "$DROVER" ca revoke "$s1" --reason keyCompromise
"$DROVER" ca crl >crl.pem
crl_text=$(crl_text crl.pem)
like "the CRL lists the serial" "$crl_text" "Serial Number: $s1"
like "with its reason" "$crl_text" 'Key Compromise'
like "and a nextUpdate" "$crl_text" 'Next Update: [A-Z]'
out=$(openssl verify -crl_check -CAfile root.pem -CRLfile crl.pem -untrusted n1.crt \
	n1.crt 2>&1)
like "openssl verify -crl_check fails for the revoked certificate" "$out" \
	'certificate revoked'
ok "and passes for another" openssl verify -crl_check_all -CAfile root.pem -CRLfile crl.pem \
	-untrusted n2.crt n2.crt
curl -sf "$DROVERD_URL/ca/crl.pem" >public-crl.pem
like "the CRL is public at /ca/crl.pem" "$(crl_text public-crl.pem)" "Serial Number: $s1"
like "ca list shows it revoked" "$("$DROVER" ca list --kind leaf)" "$s1 +leaf +host +revoked"
out=$("$DROVER" ca revoke "$s1" 2>&1)
like "revoking twice is refused" "$out" '409 certificate .* is already revoked'

# Mesh intermediates.
ok "ca intermediate --mesh istio" "$DROVER" ca intermediate --cluster c1 --mesh istio \
	--out istio
is "Istio's cacerts files" "$(ls istio | tr '\n' ' ')" \
	'ca-cert.pem ca-key.pem cert-chain.pem root-cert.pem '
is "ca-key.pem is 0600" "$(stat -c %a istio/ca-key.pem)" 600
ok "ca-cert.pem verifies against root-cert.pem" \
	openssl verify -CAfile istio/root-cert.pem istio/ca-cert.pem
like "it is a CA with pathlen 0" "$(openssl x509 -in istio/ca-cert.pem -noout -text)" \
	'CA:TRUE, pathlen:0'
is "cert-chain.pem is the intermediate and the root" "$(ncerts istio/cert-chain.pem)" 2
is "ca-key.pem matches ca-cert.pem" "$(pubkey -k istio/ca-key.pem)" \
	"$(pubkey istio/ca-cert.pem)"
# What istiod does with cacerts: sign a workload certificate with it.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout wl.key \
	-subj /O=workload -out wl.csr 2>/dev/null
openssl x509 -req -in wl.csr -CA istio/ca-cert.pem -CAkey istio/ca-key.pem \
	-CAcreateserial -days 1 -out wl.crt 2>/dev/null
ok "a workload certificate signed with ca-key.pem verifies up to the root" \
	openssl verify -CAfile istio/root-cert.pem -untrusted istio/cert-chain.pem wl.crt
out=$("$DROVER" --json ca intermediate --cluster c1 --mesh istio --out istio2)
is "asking again gives the same intermediate" "$(serial istio2/ca-cert.pem)" \
	"$(serial istio/ca-cert.pem)"
ok "ca intermediate --mesh linkerd" "$DROVER" ca intermediate --cluster c1 \
	--mesh linkerd --out linkerd
is "Linkerd's issuer files" "$(ls linkerd | tr '\n' ' ')" 'ca.crt issuer.crt issuer.key '
ok "issuer.crt verifies against the trust anchor" \
	openssl verify -CAfile linkerd/ca.crt linkerd/issuer.crt
text=$(openssl x509 -in linkerd/issuer.crt -noout -text)
like "the issuer is ECDSA P-256" "$text" 'NIST CURVE: P-256'
like "named identity.linkerd.cluster.local" "$text" 'CN *= *identity.linkerd.cluster.local'
like "with pathlen 0" "$text" 'CA:TRUE, pathlen:0'

istio_serial=$(serial istio/ca-cert.pem)
out=$("$DROVER" --json ca list; "$DROVER" --json ca show "$istio_serial"
	"$DROVER" --json ca show --root; curl -sf "$DROVERD_URL/ca/bundle.pem")
like "ca show SERIAL shows an intermediate" "$out" "\"serial\": \"$istio_serial\""
is "but no listing or show gives a private key away" \
	"$(printf '%s\n' "$out" | grep -c 'PRIVATE KEY')" 0

# Renewal by the ca_renew job.
ok "a short-lived certificate" "$DROVER" ca issue --host short.example.test --days 1 \
	--out short
s_short=$(serial short.crt)
out=$("$DROVER" job run ca_renew -p days=30 --follow 2>&1)
is "job run ca_renew succeeds" "$?" 0
like "it renews the short-lived certificate" "$out" "renewed leaf .*short.example.test.*$s_short"
like "and leaves the 90-day ones alone" "$out" '^1 certificate renewed' 
list=$("$DROVER" --json ca list --host short.example.test)
new=$(printf '%s\n' "$list" | sed -n 's/^ *"superseded_by": "\([0-9A-F]*\)".*/\1/p')
like "the old one records its successor" "$new" '^[0-9A-F]{20,}$'
ok "ca show SERIAL --out fetches the renewed certificate" "$DROVER" ca show "$new" \
	--out renewed
ok "the renewed certificate verifies" openssl verify -CAfile root.pem \
	-untrusted renewed.crt renewed.crt
is "it keeps the host's key" "$(pubkey renewed.crt)" "$(pubkey short.crt)"
end_new=$(date -d "$(openssl x509 -in renewed.crt -noout -enddate | cut -d= -f2)" +%s)
ok "and keeps its one-day length, counted from now" test "$end_new" -ge \
	$(($(date +%s) + 86400 - 120))
out=$("$DROVER" job run ca_renew -p days=0 --follow 2>&1)
like "nothing has expired" "$out" '^0 certificates renewed'
ok "a daily schedule for ca_renew" "$DROVER" schedule create --name ca-renew \
	--kind ca_renew --cron '@daily' -p days=30

# Rotation.
old_root=$(serial root.pem)
ok "ca rotate" "$DROVER" ca rotate
"$DROVER" ca show --root >root2.pem
"$DROVER" ca show --bundle >bundle.pem
ok "a new root" test "$(serial root2.pem)" != "$old_root"
is "the bundle holds both roots" "$(ncerts bundle.pem)" 2
like "the public bundle too" "$(curl -sf "$DROVERD_URL/ca/bundle.pem" | grep -c BEGIN)" '^2$'
ok "a host certificate issued now" "$DROVER" ca issue --host n3.example.test --out n3
ok "verifies against the new root" openssl verify -CAfile root2.pem -untrusted n3.crt n3.crt
is "and not against the old one" "$(openssl verify -CAfile root.pem -untrusted n3.crt \
	n3.crt >/dev/null 2>&1; echo $?)" 2
ok "an old leaf still verifies against the bundle" openssl verify -CAfile bundle.pem \
	-untrusted n2.crt n2.crt
ok "istio's root-cert.pem carries both roots now" sh -c \
	"'$DROVER' ca intermediate --cluster c2 --mesh istio --out istio3 >/dev/null &&
	 test \$(grep -c BEGIN istio3/root-cert.pem) = 2"
out=$("$DROVER" ca rotate 2>&1)
like "a second rotation waits for the first" "$out" '409 a rotation is in progress'
out=$("$DROVER" job run ca_renew -p reissue_previous=true --follow 2>&1)
like "ca_renew reissue_previous moves the old root's certificates" "$out" \
	'renewed leaf .*n2.example.test'
n2_new=$("$DROVER" --json ca list --host n2.example.test --state valid |
	sed -n 's/^ *"serial": "\([0-9A-F]*\)".*/\1/p' | head -1)
"$DROVER" ca show "$n2_new" --out n2new >/dev/null
ok "and n2's new certificate verifies against the new root" \
	openssl verify -CAfile root2.pem -untrusted n2new.crt n2new.crt
ok "ca rotate --complete" "$DROVER" ca rotate --complete
"$DROVER" ca show --bundle >bundle2.pem
is "the bundle is the new root alone" "$(cat bundle2.pem)" "$(cat root2.pem)"
like "the old root is retired, kept in history" "$("$DROVER" ca list --kind root)" \
	"$old_root +root +root +retired"
out=$("$DROVER" ca rotate --complete 2>&1)
like "completing twice is refused" "$out" 'no rotation is in progress'

# Persistence.
droverd_stop
ok "droverd restarts" droverd_start "$state"
is "the root survives a restart" "$("$DROVER" ca show --root)" "$(cat root2.pem)"
unlike_created=$(grep -c 'created the CA root' "$TAP_TMP/droverd.log")
is "and is not created again" "$unlike_created" 0
droverd_stop
mv "$state/ca-kek" "$state/ca-kek.saved"
droverd_start "$state"
like "without the KEK droverd refuses to start, naming the file" \
	"$(cat "$TAP_TMP/droverd.log")" 'ca-kek is missing, but the store holds CA keys'
droverd_stop
openssl rand -hex 32 >"$state/ca-kek"
chmod 600 "$state/ca-kek"
droverd_start "$state"
like "a wrong KEK fails cleanly" "$(cat "$TAP_TMP/droverd.log")" \
	'does not decrypt with the key-encryption key'
droverd_stop
mv "$state/ca-kek.saved" "$state/ca-kek"
chmod 644 "$state/ca-kek"
droverd_start "$state"
like "a KEK others can read is refused" "$(cat "$TAP_TMP/droverd.log")" \
	'mode 644 lets other users read'
droverd_stop
chmod 600 "$state/ca-kek"
ok "with the right KEK it starts again" droverd_start "$state"

# With a public URL configured, certificates name their CRL and openssl fetches it.
droverd_stop
cport=$(free_port)
printf 'url: "http://127.0.0.1:%s/"\n' "$cport" >"$TAP_TMP/droverd.yml"
ok "droverd starts with a public url" droverd_start "$state" \
	--config "$TAP_TMP/droverd.yml" --listen "127.0.0.1:$cport"
ok "a certificate issued now" "$DROVER" ca issue --host n5.example.test --out n5
like "names its issuer's CRL" "$(openssl x509 -in n5.crt -noout -text)" \
	"URI:http://127.0.0.1:$cport/ca/crl/[0-9a-f]{40}\.crl"
ok "openssl verify -crl_download -crl_check fetches the CRL and passes" \
	openssl verify -crl_download -crl_check -CAfile root2.pem -untrusted n5.crt n5.crt
ok "ca revoke n5" "$DROVER" ca revoke "$(serial n5.crt)" --reason superseded
out=$(openssl verify -crl_download -crl_check -CAfile root2.pem -untrusted n5.crt \
	n5.crt 2>&1)
like "and after revocation the downloaded CRL makes it fail" "$out" 'certificate revoked'
is "an unknown CRL is a 404" "$(curl -s -o /dev/null -w '%{http_code}' \
	"$DROVERD_URL/ca/crl/00ff.crl")" 404

metrics=$(curl -sf "$DROVERD_URL/metrics")
like "metrics count certificates by kind and state" "$metrics" \
	'drover_ca_certificates\{kind="leaf",state="revoked"\} [1-9]'
like "and say when the first leaf in use expires" "$metrics" \
	'drover_ca_expiry_seconds\{kind="leaf"\} [1-9][0-9]+'

# Bad input.
out=$("$DROVER" ca revoke 0123456789ABCDEF 2>&1)
like "an unknown serial" "$out" '404 no certificate with serial 0123456789ABCDEF'
out=$("$DROVER" ca revoke not-hex 2>&1)
like "a serial that is not hex" "$out" "404 serial 'not-hex': expected hex digits"
out=$("$DROVER" ca issue --host n9.example.test --ip 300.1.1.1 --out bad 2>&1)
like "a bad IP" "$out" "422 ips\\[0\\]: '300.1.1.1' is not an IP address"
out=$("$DROVER" ca issue --ip 198.18.1.9 --out bad 2>&1)
like "a missing --host" "$out" '--host FQDN is required'
out=$("$DROVER" ca issue --host 'bad_host!' --out bad 2>&1)
like "a host that is not a DNS name" "$out" "422 host: 'bad_host!' is not a DNS name"
out=$("$DROVER" ca issue --host n9.example.test --days 5000 --out bad 2>&1)
like "too many days" "$out" 'days: 5000 is not within 1..825'
ok "and nothing was written" test ! -e bad.crt -a ! -e bad.key
out=$("$DROVER" ca intermediate --cluster c1 --mesh consul --out x 2>&1)
like "an unknown mesh" "$out" "mesh: 'consul' is not one of istio, linkerd"
out=$("$DROVER" ca intermediate --cluster '../x' --mesh istio --out x 2>&1)
like "a bad cluster name" "$out" "cluster: '../x' is not a cluster name"
out=$("$DROVER" ca revoke "$(serial n2.crt)" --reason because 2>&1)
like "an unknown reason" "$out" "reason: 'because' is not one of"
out=$("$DROVER" job run ca_renew -p days=-1 --follow 2>&1)
like "ca_renew with bad params fails, naming the field" "$out" 'params.days'
is "issuing needs a login" "$(curl -s -o /dev/null -w '%{http_code}' \
	-d '{"host":"x.example.test"}' "$DROVERD_URL/api/v2/admin/ca/certificates")" 401
token=$(sed -n 's/^token: "\(.*\)"/\1/p' "$DROVER_CONFIG")
is "a body that is not an object is a 422" "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer $token" -d '[1]' \
	"$DROVERD_URL/api/v2/admin/ca/certificates")" 422
like "droverd keeps serving" "$(curl -sf "$DROVERD_URL/api/v2/status")" '"ok"'

# Only admins hold the CA: an operator may read it but not issue, revoke or rotate.
printf 'operator-pass-1\n' | "$DROVER" user create --login otto --role operator >/dev/null 2>&1
optoken=$(curl -s -d '{"user":"otto","password":"operator-pass-1"}' \
	"$DROVERD_URL/api/v2/tokens" | sed -n 's/.*"token": *"\([^"]*\)".*/\1/p')
like "an operator gets a token" "$optoken" '^drv_'
is "an operator may list certificates" "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer $optoken" "$DROVERD_URL/api/v2/ca/certificates")" 200
is "an operator may not issue certificates" "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer $optoken" -d '{"host":"x.example.test"}' \
	"$DROVERD_URL/api/v2/admin/ca/certificates")" 403
is "an operator may not rotate the root" "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer $optoken" -d '{}' "$DROVERD_URL/api/v2/admin/ca/rotate")" 403

audit=$(sqlite3 "$state/drover.db" \
	"SELECT DISTINCT action || ' ' || resource FROM audits ORDER BY 1" | tr '\n' ',')
like "every CA write is audited" "$audit" \
	'create ca_intermediate.*create ca_root.*issue certificate.*renew certificate.*revoke certificate.*rotate ca_root.*rotate_complete ca_root'

done_testing
