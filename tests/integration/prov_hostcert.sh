#!/bin/sh
# prov_hostcert.sh - a host's identity certificate issued while it installs: the seeded
# finish script (run by sh in a fake target root, as the installer would) asks droverd's CA
# with its build token, with a key it made (openssl) and without openssl (the CA makes the
# key); openssl checks chain, SANs and key; a rebuild supersedes the old certificate; the
# ca_renew job renews it and the daily script on the host fetches the renewal; bad input.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
command -v curl >/dev/null || skip_all "curl is not installed"
command -v openssl >/dev/null || skip_all "openssl is not installed"

# unlike DESCRIPTION GOT PATTERN: the opposite of like.
unlike() {
	if printf '%s\n' "$2" | grep -qE -- "$3"; then ok "$1" false; else ok "$1" true; fi
}

state=$TAP_TMP/state
ok "droverd starts" droverd_start "$state"
ok "drover login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
U=$DROVERD_URL
cd "$TAP_TMP" || exit 1
curl -sf "$U/ca/root.pem" >root.pem

ok "a domain" "$DROVER" domain create --name example.test
ok "a host with a domain, an address and a BMC" "$DROVER" host create --name n1 \
	--domain example.test --interfaces '[{"mac": "52:54:00:12:34:56", "ip": "198.18.10.21"},
	{"mac": "52:54:00:12:34:57", "ip": "198.18.10.22"},
	{"type": "bmc", "mac": "52:54:00:12:34:58", "ip": "198.18.99.9", "provider": "ipmi"}]'

# token: the host's build token, from the iPXE script.
token() {
	curl -s "$U/unattended/iPXE?mac=52:54:00:12:34:56" | grep -o 'token=[0-9a-f]*' |
		head -1 | cut -d= -f2
}
is "certificate without a token is a 404" "$(curl -s -o /dev/null -w '%{http_code}' \
	-X POST "$U/unattended/certificate")" 404
ok "drover host build n1" "$DROVER" host build n1
tok=$(token)
is "an unknown token is a 404" "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
	"$U/unattended/certificate?token=$(printf '%064d' 0)")" 404
is "a body that is no PEM key or request is a 422" "$(curl -s -o /dev/null -w '%{http_code}' \
	-X POST --data-binary 'hello' "$U/unattended/certificate?token=$tok")" 422
like "naming the body" "$(curl -s -X POST --data-binary 'hello' \
	"$U/unattended/certificate?token=$tok")" 'request body: expected a PEM certificate request'
printf -- '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' >bad.csr
is "a broken CSR is a 422" "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
	--data-binary @bad.csr "$U/unattended/certificate?token=$tok")" 422
head -c 20000 /dev/zero | tr '\0' a >big.csr
is "an oversized body is a 413" "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
	--data-binary @big.csr "$U/unattended/certificate?token=$tok")" 413

# The finish script in a fake target root, with openssl: the key is made on the host.
fin=$(curl -s "$U/unattended/finish?token=$tok")
like "the finish script asks for the host certificate with the token" "$fin" \
	"unattended/certificate\?token=$tok"
mkdir -p target/etc/ssh target/etc/cron.daily
ssh-keygen -q -t ed25519 -N '' -f target/etc/ssh/ssh_host_ed25519_key 2>/dev/null ||
	touch target/etc/ssh/ssh_host_ed25519_key.pub
printf '%s\n' "$fin" | sed "s|/etc/ssh/|$TAP_TMP/target/etc/ssh/|; s|/tmp/drover-host-keys|$TAP_TMP/keys|g" \
	>finish.sh
ok "the finish script runs" env DROVER_TARGET="$TAP_TMP/target" sh finish.sh
C=target/etc/drover
ok "it wrote host.crt, host.key and ca-bundle.pem" test -s $C/host.crt -a -s $C/host.key \
	-a -s $C/ca-bundle.pem
is "host.key is 0600" "$(stat -c %a $C/host.key)" 600
ok "openssl verify: host.crt chains to droverd's root" openssl verify -CAfile root.pem \
	-untrusted $C/host.crt $C/host.crt
ok "and to the bundle it fetched" openssl verify -CAfile $C/ca-bundle.pem -untrusted $C/host.crt \
	$C/host.crt
text=$(openssl x509 -in $C/host.crt -noout -text)
like "SAN: the FQDN and the addresses of its interfaces" "$text" \
	'DNS:n1\.example\.test, IP Address:198\.18\.10\.21, IP Address:198\.18\.10\.22'
unlike "not the BMC's address" "$text" '198\.18\.99\.9'
like "subject CN is the FQDN" "$(openssl x509 -in $C/host.crt -noout -subject)" 'CN ?= ?n1\.example\.test'
is "the certificate is over the key made on the host" \
	"$(openssl x509 -in $C/host.crt -noout -pubkey)" "$(openssl pkey -in $C/host.key -pubout)"
serial1=$(openssl x509 -in $C/host.crt -noout -serial | cut -d= -f2)
like "the CA lists it for the host" "$("$DROVER" ca list --host n1.example.test 2>&1)" "$serial1"
like "the issue is audited as the host" "$("$DROVER" audit list 2>&1)" 'n1 .*issue +certificate'
ok "the daily renewal script is installed" test -x target/etc/cron.daily/drover-host-certificate
like "then it reported built" "$("$DROVER" host list 2>&1)" 'n1 .*installed'
is "after built the token no longer issues" "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
	"$U/unattended/certificate?token=$tok")" 404
like "the current certificate is public by FQDN" "$(curl -sf "$U/ca/hosts/n1.example.test.pem")" \
	'BEGIN CERTIFICATE'
is "an unknown host has none" "$(curl -s -o /dev/null -w '%{http_code}' \
	"$U/ca/hosts/nope.example.test.pem")" 404

# Renewal by ca_renew, fetched by the daily script.
like "ca_renew renews the host certificate" \
	"$("$DROVER" job run ca_renew -p days=100 --follow 2>&1)" "renewed leaf .*n1\.example\.test"
ok "the daily script fetches the renewal" env DROVER_TARGET="$TAP_TMP/target" \
	sh target/etc/cron.daily/drover-host-certificate
serial2=$(openssl x509 -in $C/host.crt -noout -serial | cut -d= -f2)
ok "host.crt is a new certificate" test "$serial1" != "$serial2"
is "over the same key" "$(openssl x509 -in $C/host.crt -noout -pubkey)" \
	"$(openssl pkey -in $C/host.key -pubout)"
ok "it verifies" openssl verify -CAfile root.pem -untrusted $C/host.crt $C/host.crt
cp $C/host.crt before.crt
ok "a second run changes nothing" env DROVER_TARGET="$TAP_TMP/target" \
	sh target/etc/cron.daily/drover-host-certificate
ok "(same file)" cmp -s before.crt $C/host.crt

# A rebuild without openssl: the CA makes the key; the old certificate is superseded.
mkdir -p bin
for t in sh curl sed rm mkdir chmod cat grep cmp mv cut head tr; do
	ln -sf "$(command -v $t)" bin/$t
done
ok "build n1 again" "$DROVER" host build n1
tok=$(token)
ok "the JSON form for tooling" sh -c "curl -sf -X POST '$U/unattended/certificate?token=$tok&format=json' |
	grep -q '\"key\"'"
rm -rf target/etc/drover
curl -s "$U/unattended/finish?token=$tok" |
	sed "s|/etc/ssh/|$TAP_TMP/target/etc/ssh/|; s|/tmp/drover-host-keys|$TAP_TMP/keys|g" >finish2.sh
ok "the finish script runs without openssl" env PATH="$TAP_TMP/bin" \
	DROVER_TARGET="$TAP_TMP/target" sh finish2.sh
ok "host.key came from the CA" grep -q 'BEGIN PRIVATE KEY' $C/host.key
unlike "host.crt holds no key" "$(cat $C/host.crt)" 'PRIVATE KEY'
is "host.crt is the certificate and its chain" "$(grep -c 'BEGIN CERTIFICATE' $C/host.crt)" 2
is "the certificate is over that key" "$(openssl x509 -in $C/host.crt -noout -pubkey)" \
	"$(openssl pkey -in $C/host.key -pubout)"
like "the earlier certificate is revoked as superseded" \
	"$("$DROVER" --json ca list --host n1.example.test --state revoked 2>&1 | tr -d '\n ')" \
	"\"serial\":\"$serial2\".*\"reason\":\"superseded\""
curl -sf "$U/ca/crl.pem" | awk '/BEGIN X509 CRL/ { n++ } { print > ("crl-" n ".pem") }'
like "and in the hosts intermediate's CRL" "$(for f in crl-*.pem; do
	openssl crl -in "$f" -noout -text; done 2>&1 | tr -d ':')" "$serial2"
is "the host's parameter host_certificate=false drops the snippet" \
	"$("$DROVER" host update n1 -p host_certificate=false >/dev/null &&
	"$DROVER" template preview --host n1 --kind finish | grep -c 'unattended/certificate')" 0

done_testing
