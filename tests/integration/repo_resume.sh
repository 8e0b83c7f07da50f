#!/bin/sh
# repo_resume.sh - kill -9 of droverd in the middle of a sync: the previous version stays
# served throughout and after the restart, nothing half-written is in the pool, the job
# and the repository say the sync was interrupted, and the next sync resumes and finishes.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
. "$top_srcdir/tests/lib/repos.sh"
for t in nginx curl python3 sha256sum; do
	command -v $t >/dev/null || skip_all "$t is not installed"
done
trap 'nginx_stop; droverd_stop KILL; gpgconf --homedir "$TAP_TMP/state/gnupg" --kill all 2>/dev/null; rm -rf "$TAP_TMP"' EXIT

www=$TAP_TMP/www
python3 "$top_srcdir/tests/lib/repogen.py" yum "$www/v1" 5 4096
python3 "$top_srcdir/tests/lib/repogen.py" yum "$www/v2" 48 262144
nginx_start "$www"
ok "droverd starts" droverd_start "$TAP_TMP/state"
ok "login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
"$DROVER" product create --name p >/dev/null
"$DROVER" repo create --product p --name r --type yum --url "$NGINX_URL/v1" >/dev/null
ok "version 1 from a small upstream" "$DROVER" repo sync r --wait
lib=$DROVERD_URL/content/Library/default/r
v1=$(curl -s "$lib/repodata/repomd.xml")
like "version 1 is served" "$v1" '<repomd'

# 48 x 256 KiB through nginx at 512 KiB/s per connection: a few seconds.
"$DROVER" repo update r --url "$NGINX_URL/slow/v2" >/dev/null
job=$("$DROVER" --json repo sync r | sed -n 's/^  "id": \([0-9]*\),*$/\1/p')
like "a slow sync is queued" "$job" '^[0-9]+$'
i=0
while [ $i -lt 100 ]; do
	parts=$(find "$TAP_TMP/state/pool" -name '*.part' | wc -l)
	[ "$parts" -gt 0 ] && break
	sleep 0.1
	i=$((i + 1))
done
sleep 0.5
is "version 1 is served while the sync runs" "$(curl -s "$lib/repodata/repomd.xml")" "$v1"
out=$("$DROVER" repo sync r --wait 2>&1)
like "a second sync of the same repository is refused while one runs" "$out" \
	'another sync of it is running'

droverd_stop KILL
ok "droverd was killed mid-download (partial files exist)" \
	test "$(find "$TAP_TMP/state/pool" -name '*.part' | wc -l)" -gt 0

ok "droverd starts again" droverd_start "$TAP_TMP/state"
lib=$DROVERD_URL/content/Library/default/r
like "the killed job is marked interrupted" "$("$DROVER" job show "$job")" \
	'STATE +interrupted'
like "so is the repository's sync" "$("$DROVER" repo show r)" 'SYNC STATE +interrupted'
is "version 1 is still served after the restart" "$(curl -s "$lib/repodata/repomd.xml")" \
	"$v1"
bad=0
for f in $(find "$TAP_TMP/state/pool/sha256" -type f ! -name '*.part'); do
	name=$(basename "$(dirname "$f")")$(basename "$f")
	[ "$(sha256sum "$f" | cut -c1-64)" = "$name" ] || bad=$((bad + 1))
done
is "every file in the pool matches its name" "$bad" 0

"$DROVER" repo update r --url "$NGINX_URL/v2" >/dev/null
out=$("$DROVER" repo sync r --wait 2>&1)
is "the next sync succeeds" "$?" 0
like "and makes version 2" "$out" 'new version 2: 48 packages'
like "files of 256 KiB are fetched on one thread" "$out" 'downloads: .* on 1 thread '
like "what the killed sync downloaded is reused" "$out" \
	'[0-9]+ packages an interrupted sync had downloaded were reused'
partial=$(grep -c ' 206 ' "$TAP_TMP/nginx/access.log")
ok "and partial files are resumed with Range requests" test "$partial" -gt 0
is "no partial file is left" "$(find "$TAP_TMP/state/pool/sha256" -name '*.part' | wc -l)" 0
is "version 2 is served" \
	"$(curl -s "$lib/repodata/repomd.xml" | grep -c '<data type="primary">')" 1
ok "a package of version 2 is served whole" sh -c \
	"curl -s '$lib/Packages/0/pkg00000-1.0-1.noarch.rpm' | cmp - '$www/v2/Packages/0/pkg00000-1.0-1.noarch.rpm'"

# A bandwidth limit: 4 x 4 MiB at 4 MiB/s, 4 transfers of 1 MiB/s each. libcurl lets a
# transfer read what is already waiting (about 1.6 MB on loopback) before it throttles,
# so this takes about 2.5 s rather than 4; unlimited, a fraction of a second.
python3 "$top_srcdir/tests/lib/repogen.py" yum "$www/bw" 4 4194304
"$DROVER" repo create --product p --name bw --type yum --url "$NGINX_URL/bw" \
	--bandwidth-limit 4M --concurrency 4 >/dev/null
like "repo show has the limit" "$("$DROVER" repo show bw)" 'BANDWIDTH LIMIT +4194304'
t0=$(date +%s%N)
out=$("$DROVER" repo sync bw --wait 2>&1)
is "a limited sync succeeds" "$?" 0
t1=$(date +%s%N)
like "big files are fetched on two threads" "$out" 'downloads: 4 packages, .* on 2 threads'
ms=$(((t1 - t0) / 1000000))
ok "and is held back by the limit (${ms} ms for 16 MiB at 4 MiB/s)" test "$ms" -ge 1800

# Orphan cleanup waits for a running sync: the units and files the sync is adding belong
# to no version yet, and would otherwise be taken.
python3 "$top_srcdir/tests/lib/repogen.py" yum "$www/bw2" 4 4194304
"$DROVER" repo create --product p --name bw2 --type yum --url "$NGINX_URL/bw2" \
	--bandwidth-limit 4M --concurrency 4 >/dev/null
sjob=$("$DROVER" --json repo sync bw2 | sed -n 's/^  "id": \([0-9]*\),*$/\1/p')
i=0
until "$DROVER" job show "$sjob" 2>/dev/null | grep -q 'running' || [ $i -ge 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
ojob=$(curl -s -X POST -H "Authorization: Bearer $(sed -n 's/^token: "\(.*\)"/\1/p' "$DROVER_CONFIG")" \
	"$DROVERD_URL/api/v2/content/orphans/remove" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
out=$("$DROVER" job follow "$ojob" 2>&1)
like "orphan cleanup started during a sync waits for it" "$out" \
	'waiting for the running syncs and publications to end'
like "and then runs" "$out" 'removed [0-9]+ units'
out=$("$DROVER" job follow "$sjob" 2>&1)
like "the sync it waited for succeeded" "$out" 'new version 1: 4 packages'
ok "and its packages are served whole" sh -c \
	"curl -s '$DROVERD_URL/content/Library/default/bw2/Packages/3/pkg00003-1.0-1.noarch.rpm' | cmp - '$www/bw2/Packages/3/pkg00003-1.0-1.noarch.rpm'"

# Big files are fetched on two threads, each with half the connections: a wrong checksum
# in the second thread's share fails the sync naming the package, nothing enters the pool
# under its name, and once upstream is right the sync takes all of them.
python3 "$top_srcdir/tests/lib/repogen.py" yum "$www/big" 6 1048576
f=$www/big/Packages/5/pkg00005-1.0-1.noarch.rpm
cp "$f" "$TAP_TMP/pkg00005.rpm"
printf 'x' | dd of="$f" bs=1 seek=1000 conv=notrunc 2>/dev/null
"$DROVER" repo create --product p --name big --type yum --url "$NGINX_URL/big" >/dev/null
out=$("$DROVER" repo sync big --wait 2>&1)
like "a wrong checksum in the second fetch thread's share fails the sync, naming it" \
	"$out" 'pkg00005-1.0-1.noarch.rpm.*SHA-256 mismatch'
sha=$(sha256sum "$TAP_TMP/pkg00005.rpm" | cut -c1-64)
ok "and the package is not in the pool" \
	test ! -e "$TAP_TMP/state/pool/sha256/$(echo "$sha" | cut -c1-2)/$(echo "$sha" | cut -c3-)"
cp "$TAP_TMP/pkg00005.rpm" "$f"
out=$("$DROVER" repo sync big --wait 2>&1)
like "with upstream right again the sync takes every package" "$out" 'new version 1: 6 packages'
like "the files the failed sync fetched whole are reused" "$out" \
	'5 packages an interrupted sync had downloaded were reused'
bad=0
for f in $(find "$TAP_TMP/state/pool/sha256" -type f ! -name '*.part'); do
	name=$(basename "$(dirname "$f")")$(basename "$f")
	[ "$(sha256sum "$f" | cut -c1-64)" = "$name" ] || bad=$((bad + 1))
done
is "every file in the pool still matches its name" "$bad" 0

# Small packages (up to 128 KiB) are written into unnamed files (O_TMPFILE) in the pool's
# shards, held open until their round is durable and then linked in: a kill -9 leaves no
# trace of them, and the next sync fetches them again. 160 x 64 KiB through the slow
# location: about 2.5 s.
python3 "$top_srcdir/tests/lib/repogen.py" yum "$www/small" 160 65536
parts0=$(find "$TAP_TMP/state/pool" -name '*.part' | wc -l)
"$DROVER" repo create --product p --name small --type yum --url "$NGINX_URL/slow/small" >/dev/null
job=$("$DROVER" --json repo sync small | sed -n 's/^  "id": \([0-9]*\),*$/\1/p')
held=0
i=0
while [ $i -lt 200 ]; do
	held=$(ls -l "/proc/$DROVERD_PID/fd" 2>/dev/null | grep -c '/pool/sha256/[0-9a-f][0-9a-f]/#[0-9]* (deleted)')
	[ "$held" -gt 0 ] && break
	sleep 0.05
	i=$((i + 1))
done
ok "small packages download into unnamed files in the pool's shards ($held open)" \
	test "$held" -gt 0
droverd_stop KILL
is "a kill -9 leaves no named partial file of them" \
	"$(find "$TAP_TMP/state/pool" -name '*.part' | wc -l)" "$parts0"
ok "droverd starts after the kill" droverd_start "$TAP_TMP/state"
"$DROVER" repo update small --url "$NGINX_URL/small" >/dev/null
out=$("$DROVER" repo sync small --wait 2>&1)
like "the next sync takes every small package" "$out" 'new version 1: 160 packages'
bad=0
for f in $(find "$TAP_TMP/state/pool/sha256" -type f ! -name '*.part'); do
	name=$(basename "$(dirname "$f")")$(basename "$f")
	[ "$(sha256sum "$f" | cut -c1-64)" = "$name" ] || bad=$((bad + 1))
done
is "every file in the pool matches its name after that kill too" "$bad" 0
ok "a package of it is served whole" sh -c \
	"curl -sf '$DROVERD_URL/content/Library/default/small/Packages/7/pkg00007-1.0-1.noarch.rpm' | cmp - '$www/small/Packages/7/pkg00007-1.0-1.noarch.rpm'"

# on_demand: metadata only; a package is fetched, verified and stored on first request.
python3 "$top_srcdir/tests/lib/repogen.py" yum "$www/od" 3 8192
"$DROVER" repo create --product p --name od --type yum --url "$NGINX_URL/od" \
	--download-policy on_demand >/dev/null
out=$("$DROVER" repo sync od --wait 2>&1)
like "an on_demand sync makes a version" "$out" 'new version 1: 3 packages'
is "and downloads no package" "$(printf '%s\n' "$out" | grep -c downloading)" 0
f=$www/od/Packages/1/pkg00001-1.0-1.noarch.rpm
sha=$(sha256sum "$f" | cut -c1-64)
pooled=$TAP_TMP/state/pool/sha256/$(echo "$sha" | cut -c1-2)/$(echo "$sha" | cut -c3-)
ok "the package is not in the pool yet" test ! -e "$pooled"
ok "the first request fetches it from upstream, whole" sh -c \
	"curl -sf '$DROVERD_URL/content/Library/default/od/Packages/1/pkg00001-1.0-1.noarch.rpm' | cmp - '$f'"
ok "and stores it in the pool" cmp "$pooled" "$f"
mv "$f" "$f.gone"
ok "the next request is served from the pool" sh -c \
	"curl -sf '$DROVERD_URL/content/Library/default/od/Packages/1/pkg00001-1.0-1.noarch.rpm' | cmp - '$f.gone'"
printf 'x' | dd of="$www/od/Packages/2/pkg00002-1.0-1.noarch.rpm" bs=1 seek=100 conv=notrunc 2>/dev/null
is "a package upstream changed under its checksum is refused, not served" \
	"$(curl -s -o /dev/null -w '%{http_code}' "$DROVERD_URL/content/Library/default/od/Packages/2/pkg00002-1.0-1.noarch.rpm")" 502
done_testing
