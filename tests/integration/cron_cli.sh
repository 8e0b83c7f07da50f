#!/bin/sh
# cron_cli.sh - `drover cron next` end to end: output lines, --json, and failures.
# Expected times come from python3's zoneinfo (see tests/unit/test_cron.c).
: "${top_builddir:?top_builddir must be set}"
drover="$top_builddir/drover"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0

echo "1..9"

# check DESCRIPTION EXPECTED-FILE: compares $tmp/out with the expected text
check() {
	n=$((n + 1))
	if cmp -s "$tmp/out" "$2"; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		sed 's/^/# got: /' "$tmp/out"
		sed 's/^/# want: /' "$2"
		fails=$((fails + 1))
	fi
}

cat >"$tmp/want" <<'X'
2026-03-28T02:30:00+01:00
2026-03-29T03:00:00+02:00
2026-03-30T02:30:00+02:00
X
"$drover" cron next '30 2 * * *' --tz Europe/Berlin --from 2026-03-27T12:00:00Z -n 3 \
	>"$tmp/out" 2>&1
check "spring forward in Europe/Berlin fires once after the gap" "$tmp/want"

cat >"$tmp/want" <<'X'
2026-11-01T01:00:00-04:00
2026-11-01T01:30:00-04:00
2026-11-01T01:00:00-05:00
2026-11-01T01:30:00-05:00
2026-11-02T01:00:00-05:00
X
"$drover" cron next '*/30 1 * * *' --from 2026-11-01T04:00:00Z --tz America/New_York \
	>"$tmp/out" 2>&1
check "fall back in America/New_York, default count 5, options after the line" "$tmp/want"

cat >"$tmp/want" <<'X'
[
  "2028-02-29T00:00:00+00:00",
  "2032-02-29T00:00:00+00:00"
]
X
"$drover" --json cron next '0 0 29 2 *' --tz UTC --from 2026-01-01T00:00:00Z -n 2 \
	>"$tmp/out" 2>&1
check "--json prints an array of strings" "$tmp/want"

cat >"$tmp/want" <<'X'
2026-01-01T09:00:00+05:30
X
TZ=Asia/Kolkata "$drover" cron next '0 9 * * *' --from 2025-12-31T12:00:00 -n 1 \
	>"$tmp/out" 2>&1
check "zone from TZ; --from without offset is local time" "$tmp/want"

echo "drover: cron line '61 * * * *': minute 61 is out of range 0-59" >"$tmp/want"
"$drover" cron next '61 * * * *' --tz UTC >"$tmp/stdout" 2>"$tmp/out"
rc=$?
check "a bad line: message on stderr" "$tmp/want"
n=$((n + 1))
if [ "$rc" -eq 1 ] && [ ! -s "$tmp/stdout" ]; then
	echo "ok $n - a bad line exits 1 with nothing on stdout"
else
	echo "not ok $n - a bad line exits 1 with nothing on stdout (exit $rc)"
	fails=$((fails + 1))
fi

echo "drover: unknown time zone 'Mars/Olympus_Mons'" >"$tmp/want"
"$drover" cron next '@daily' --tz Mars/Olympus_Mons >/dev/null 2>"$tmp/out"
check "an unknown zone is named" "$tmp/want"

echo "drover: -n 1001: expected a count from 1 to 1000" >"$tmp/want"
"$drover" cron next '@daily' -n 1001 >/dev/null 2>"$tmp/out"
check "-n is capped at 1000" "$tmp/want"

"$drover" cron next '* * * * *' --tz UTC -n 1000 >"$tmp/out" 2>&1
n=$((n + 1))
if [ "$(wc -l <"$tmp/out")" -eq 1000 ] && [ "$(sort -u "$tmp/out" | wc -l)" -eq 1000 ]; then
	echo "ok $n - 1000 distinct times from now"
else
	echo "not ok $n - 1000 distinct times from now"
	fails=$((fails + 1))
fi

[ "$fails" -eq 0 ]
