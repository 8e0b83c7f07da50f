# ui.sh - the web UI through curl for integration tests: log in through the form, fetch
# pages and post forms with the session cookie and its CSRF token. Needs $TAP_TMP and
# $DROVERD_URL (tests/lib/droverd.sh).
UI_JAR=$TAP_TMP/ui-jar

# ui_login USER PASSWORD [NEXT]: log in through the form; prints the response headers.
ui_login() {
	rm -f "$UI_JAR"
	curl -s -k -c "$UI_JAR" -b "$UI_JAR" "$DROVERD_URL/login" -o "$TAP_TMP/login.html"
	lt=$(sed -n 's/.*name="login_token" value="\([0-9a-f]*\)".*/\1/p' "$TAP_TMP/login.html")
	curl -s -k -c "$UI_JAR" -b "$UI_JAR" -D - -o "$TAP_TMP/after-login.html" \
		--data-urlencode "user=$1" --data-urlencode "password=$2" \
		--data-urlencode "login_token=$lt" --data-urlencode "next=${3:-/}" \
		"$DROVERD_URL/login"
}
# ui_page PATH: GET a page with the session; prints the status, the body goes to
# $TAP_TMP/page.html.
ui_page() {
	curl -s -k -b "$UI_JAR" -o "$TAP_TMP/page.html" -w '%{http_code}' "$DROVERD_URL$1"
}
# ui_csrf: the CSRF token of the last page.
ui_csrf() {
	sed -n 's/.*name="csrf_token" value="\([0-9a-f]*\)".*/\1/p' "$TAP_TMP/page.html" | head -1
}
# ui_post PATH NAME=VALUE...: a form post with the session; prints the status and the
# redirect target ("303 /ui/hosts/1"), the body goes to $TAP_TMP/post.html.
ui_post() {
	p=$1
	shift
	for d in "$@"; do set -- "$@" --data-urlencode "$d"; shift; done
	curl -s -k -b "$UI_JAR" -o "$TAP_TMP/post.html" -w '%{http_code} %{redirect_url}' "$@" \
		"$DROVERD_URL$p" | sed "s| $DROVERD_URL| |; s/ *$//"
}
# ui_text FILE: the text of a page without tags, one line.
ui_text() {
	sed 's/<[^>]*>/ /g' "$1" | tr -s ' \n\t' ' '
}
# ui_flat FILE: a page on one line (grep -E patterns can then span elements).
ui_flat() {
	tr -s '\n\t' '  ' <"$1"
}
# unlike DESCRIPTION GOT PATTERN: ok when GOT does not match PATTERN (grep -E).
unlike() {
	if printf '%s\n' "$2" | grep -qE -- "$3"; then
		tap_n=$((tap_n + 1))
		echo "not ok $tap_n - $1"
		printf '%s\n' "$2" | grep -E -- "$3" | head -5 | sed 's/^/# matched: /'
		tap_failed=$((tap_failed + 1))
	else
		tap_n=$((tap_n + 1))
		echo "ok $tap_n - $1"
	fi
}
