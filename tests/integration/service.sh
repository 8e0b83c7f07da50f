#!/bin/sh
# service.sh - droverd as the service manager sees it: readiness through NOTIFY_SOCKET,
# HTTPS from the configured certificate, --print-config, and the installed default config.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
command -v openssl >/dev/null || skip_all "openssl is not installed"
command -v python3 >/dev/null || skip_all "python3 is not installed"

# Readiness: a datagram socket like systemd's receives READY=1 once droverd serves.
python3 - "$TAP_TMP/notify" >"$TAP_TMP/notified" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(15)
try:
    print(s.recv(256).decode())
except socket.timeout:
    print("timeout")
PY
listener=$!
i=0
while [ ! -S "$TAP_TMP/notify" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
NOTIFY_SOCKET=$TAP_TMP/notify droverd_start "$TAP_TMP/state"
wait $listener
is "droverd tells the service manager READY=1" "$(cat "$TAP_TMP/notified")" "READY=1"
droverd_stop

# HTTPS: a certificate made here; the CLI trusts it through DROVER_CA_FILE.
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -days 1 \
	-keyout "$TAP_TMP/key.pem" -out "$TAP_TMP/cert.pem" >/dev/null 2>&1
printf 'http:\n  tls_cert: %s\n  tls_key: %s\n' "$TAP_TMP/cert.pem" "$TAP_TMP/key.pem" \
	>"$TAP_TMP/tls.yml"
ok "droverd starts with TLS" droverd_start "$TAP_TMP/state" --config "$TAP_TMP/tls.yml"
like "it logs an https URL" "$DROVERD_URL" '^https://'
ok "login over HTTPS with the CA file" env DROVER_CA_FILE="$TAP_TMP/cert.pem" \
	DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
like "drover status over HTTPS" \
	"$(DROVER_CA_FILE="$TAP_TMP/cert.pem" "$DROVER" status 2>&1)" '^server +https://'
like "an untrusted certificate is refused" "$("$DROVER" status 2>&1)" \
	'[Cc]ertificate|SSL'
droverd_stop
printf 'http:\n  tls_cert: /nonexistent/cert.pem\n  tls_key: %s\n' "$TAP_TMP/key.pem" \
	>"$TAP_TMP/badtls.yml"
like "a missing certificate stops the start, naming the file" \
	"$("$DROVERD" --config "$TAP_TMP/badtls.yml" --listen 127.0.0.1:0 \
		--state-dir "$TAP_TMP/state" 2>&1)" '/nonexistent/cert\.pem'

like "--print-config prints the effective configuration" \
	"$("$DROVERD" --print-config --listen 127.0.0.1:9999)" 'listen: .?127\.0\.0\.1:9999'
is "the shipped default configuration starts droverd's defaults" \
	"$("$DROVERD" --config "$top_srcdir/daemon/droverd.yml" --print-config)" \
	"$("$DROVERD" --print-config)"
done_testing
