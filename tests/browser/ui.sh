#!/bin/sh
# ui.sh - browser test of the web UI: a real droverd and Debian's chromium driven by
# playwright-core (npm, pinned by package-lock.json; `npm ci` when node_modules is
# missing). Screenshots are kept in $top_builddir/tests/browser/screenshots/. A yum
# fixture served by nginx (tests/lib/repos.sh) is what a repository syncs from the page.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
[ -x /usr/bin/chromium ] || skip_all "chromium is not installed (apt-get install chromium)"
command -v node >/dev/null || skip_all "node is not installed (apt-get install nodejs npm)"

src=$top_srcdir/tests/browser
bdir=$top_builddir/tests/browser
mkdir -p "$bdir/screenshots"
if [ -d "$src/node_modules/playwright-core" ]; then
	modules=$src/node_modules
else
	modules=$bdir/node_modules
	if [ ! -d "$modules/playwright-core" ]; then
		cp "$src/package.json" "$src/package-lock.json" "$bdir/" 2>/dev/null
		chmod u+w "$bdir/package.json" "$bdir/package-lock.json" 2>/dev/null
		(cd "$bdir" && npm ci --no-audit --no-fund >"$TAP_TMP/npm.log" 2>&1) ||
			skip_all "npm ci failed (no registry?): $(tail -1 "$TAP_TMP/npm.log")"
	fi
fi

# A yum repository served by nginx for the "sync from the page" part (skipped without
# the tools to build one).
. "$top_srcdir/tests/lib/repos.sh"
trap 'nginx_stop; droverd_stop KILL; [ -n "${KEEP_TMP:-}" ] || rm -rf "$TAP_TMP"' EXIT
REPO_URL=
have=yes
for t in rpmbuild createrepo_c modifyrepo_c nginx; do command -v $t >/dev/null || have=no; done
if [ $have = yes ] && yum_fixture "$TAP_TMP/www/yum" 2 >"$TAP_TMP/fixture.log" 2>&1 &&
	nginx_start "$TAP_TMP/www"; then
	REPO_URL=$NGINX_URL/yum
fi
droverd_start "$TAP_TMP/state" || { echo "not ok 1 - droverd starts"; exit 1; }
DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login >/dev/null
printf 'viewer-pass-1\n' | "$DROVER" user create --login viewer1 --role viewer >/dev/null
# A discovered machine whose facts carry markup (the browser must show it as text).
curl -s -o /dev/null -H 'Content-Type: application/json' --data-binary '{"mac": "52:54:00:b0:00:01",
	"cpus": 2, "memory_mb": 4096, "firmware": "uefi", "secure_boot": true,
	"manufacturer": "Evil & Co", "product": "<script>window.__pwned = 1</script>",
	"disks": [{"name": "sda", "size_bytes": 4294967296,
		"model": "<img src=x onerror=\"window.__pwned = 2\">", "rotational": true}],
	"nics": [{"name": "eth0", "mac": "52:54:00:b0:00:01", "link": true},
		{"name": "eth1\"><svg onload=\"window.__pwned = 3\">", "mac": "52:54:00:b0:00:02"}]}' \
	"$DROVERD_URL/unattended/discovery"
DROVERD_URL=$DROVERD_URL ADMIN_PASSWORD=$ADMIN_PASSWORD NODE_MODULES=$modules REPO_URL=$REPO_URL \
	SHOTS=$bdir/screenshots TMPDIR=$TAP_TMP timeout 300 node "$src/ui.cjs" |
	sed '/^1\.\.[0-9]*$/d' >"$TAP_TMP/browser.tap"
cat "$TAP_TMP/browser.tap"
tap_n=$(grep -c '^\(not \)\?ok ' "$TAP_TMP/browser.tap")
tap_failed=$(grep -c '^not ok ' "$TAP_TMP/browser.tap")
[ "$tap_n" -gt 0 ] || { tap_n=1; tap_failed=1; echo "not ok 1 - the browser run printed results"; }
droverd_stop
is "droverd stopped cleanly: no sanitizer reports in its log" \
	"$(grep -c 'Sanitizer\|runtime error' "$TAP_TMP/droverd.log")" 0
done_testing
