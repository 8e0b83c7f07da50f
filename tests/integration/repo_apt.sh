#!/bin/sh
# repo_apt.sh - Debian repositories end to end: debs built with dpkg-deb, indexed with
# apt-ftparchive and signed with a throwaway gpg key, served by nginx; a real droverd
# syncs them (verifying the signature) and republishes them signed with its own key, and
# real apt-get in an isolated root installs and upgrades from the publication.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
. "$top_srcdir/tests/lib/repos.sh"
for t in dpkg-deb apt-ftparchive apt-get dpkg gpg gpgconf nginx curl xz python3; do
	command -v $t >/dev/null || skip_all "$t is not installed"
done
export GNUPGHOME=$TAP_TMP/gnupg
trap 'gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null; nginx_stop; droverd_stop KILL; gpgconf --homedir "$TAP_TMP/state/gnupg" --kill all 2>/dev/null; rm -rf "$TAP_TMP"' EXIT
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
	--quick-gen-key 'Upstream <up@example.org>' ed25519 sign never 2>/dev/null
gpg --batch --quiet --armor --export up@example.org >"$TAP_TMP/up.asc"
gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
	--quick-gen-key 'Other <other@example.org>' ed25519 sign never 2>/dev/null
gpg --batch --quiet --armor --export other@example.org >"$TAP_TMP/other.asc"

www=$TAP_TMP/www
ok "fixture: signed revision 1 (hello 1.0-1, world 1.0-1)" apt_fixture "$www/deb" 1 \
	up@example.org
nginx_start "$www"
like "nginx serves InRelease" "$(curl -s "$NGINX_URL/deb/dists/bookworm/InRelease")" \
	'BEGIN PGP SIGNED MESSAGE'
ok "droverd starts" droverd_start "$TAP_TMP/state"
ok "login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
ok "product create" "$DROVER" product create --name debian
ok "repo create (apt, with the upstream key)" "$DROVER" repo create --product debian \
	--name bookworm-main --type apt --url "$NGINX_URL/deb" --distribution bookworm \
	--components main --architectures amd64 --gpg-key "$TAP_TMP/up.asc"
out=$("$DROVER" repo create --product debian --name nodist --type apt --url "$NGINX_URL/deb" 2>&1)
like "an apt repository needs a distribution" "$out" 'needs a distribution'

out=$("$DROVER" repo sync bookworm-main --wait 2>&1)
is "sync succeeds" "$?" 0
like "InRelease's signature is verified" "$out" 'InRelease: good signature'
like "both debs are downloaded" "$out" 'downloaded 2/2 packages'
like "version 1 is made" "$out" 'new version 1: 2 packages'
out=$("$DROVER" repo sync bookworm-main --wait 2>&1)
like "unchanged upstream: no work" "$out" 'upstream metadata unchanged'

lib=$DROVERD_URL/content/Library/default/bookworm-main
curl -s "$DROVERD_URL/content/drover.gpg" >"$TAP_TMP/drover.asc"
like "Drover's publishing key is public" "$(cat "$TAP_TMP/drover.asc")" \
	'BEGIN PGP PUBLIC KEY BLOCK'
like "the publication's InRelease is signed" "$(curl -s "$lib/dists/bookworm/InRelease")" \
	'Origin: Drover'
sha=$(curl -s "$lib/dists/bookworm/Release" | sed -n 's/^ \([0-9a-f]\{64\}\) .* main\/binary-amd64\/Packages.gz$/\1/p')
is "by-hash serves the Packages.gz the Release lists" \
	"$(curl -s "$lib/dists/bookworm/main/binary-amd64/by-hash/SHA256/$sha" | sha256sum | cut -c1-64)" \
	"$sha"
crel=$(curl -s "$lib/dists/bookworm/main/binary-amd64/Release")
like "each index directory has its own Release (the Debian installer reads it)" "$crel" \
	'Component: main'
is "and the suite's Release lists it with its checksum" \
	"$(curl -s "$lib/dists/bookworm/Release" |
		sed -n 's/^ \([0-9a-f]\{64\}\) .* main\/binary-amd64\/Release$/\1/p')" \
	"$(printf '%s\n' "$crel" | sha256sum | cut -c1-64)"
ok "gpgv accepts Release.gpg with Drover's key" sh -c "
	gpg --batch --quiet --dearmor <'$TAP_TMP/drover.asc' >'$TAP_TMP/drover.gpg' &&
	curl -s '$lib/dists/bookworm/Release' >'$TAP_TMP/R' &&
	curl -s '$lib/dists/bookworm/Release.gpg' >'$TAP_TMP/R.gpg' &&
	gpgv --keyring '$TAP_TMP/drover.gpg' '$TAP_TMP/R.gpg' '$TAP_TMP/R'"

opts=$(apt_opts "$TAP_TMP/root" "$lib" "$TAP_TMP/drover.asc")
# shellcheck disable=SC2086
ok "apt-get update against droverd (signature checked)" apt-get $opts update
# Byte ranges on the publication (webui's file replies): curl -r, and apt-get resuming a
# partial .deb with Range + If-Range (the partial file's time is the Last-Modified apt saw).
deb=$(curl -s "$lib/dists/bookworm/main/binary-amd64/Packages" | sed -n 's/^Filename: //p' |
	grep '/world_' | head -1)
curl -s -D "$TAP_TMP/deb.h" -o "$TAP_TMP/world.deb" "$lib/$deb"
is "curl -r 10-19 on a published .deb: those 10 bytes" \
	"$(curl -s -r 10-19 "$lib/$deb" | od -An -tx1)" \
	"$(head -c 20 "$TAP_TMP/world.deb" | tail -c 10 | od -An -tx1)"
n206() { curl -s "$DROVERD_URL/metrics" | sed -n 's/^drover_http_requests_total{route="content",code="206"} //p'; }
before206=$(n206)
head -c 100 "$TAP_TMP/world.deb" >"$TAP_TMP/root/var/cache/apt/archives/partial/$(basename "$deb")"
touch -d "$(sed -n 's/^Last-Modified: \(.*\)\r$/\1/p' "$TAP_TMP/deb.h")" \
	"$TAP_TMP/root/var/cache/apt/archives/partial/$(basename "$deb")"
# shellcheck disable=SC2086
ok "apt-get install world (and hello) from droverd" apt-get $opts install world
is "apt-get resumed the partial .deb with a range (one more 206)" "$(n206)" \
	"$((${before206:-0} + 1))"
is "hello 1.0-1 is installed in the root" \
	"$(cat "$TAP_TMP/root/usr/share/hello/version")" 1.0-1

# Advisories in OSV (as Debian publishes DSA/DLA): one for hello, one for a package the
# repository does not carry.
cat >"$www/osv.json" <<'EOF'
[{"id": "DSA-0001-1", "summary": "hello security update", "details": "A flaw in hello.",
  "published": "2024-03-01T10:00:00Z", "modified": "2024-03-02T10:00:00Z",
  "aliases": ["CVE-2024-0002"],
  "references": [{"type": "ADVISORY", "url": "https://security.example.org/DSA-0001-1"}],
  "affected": [{"package": {"ecosystem": "Debian:12", "name": "hello"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.1-1"}]}],
                "ecosystem_specific": {"urgency": "high"}}]},
 {"id": "DSA-0002-1", "summary": "elsewhere",
  "affected": [{"package": {"ecosystem": "Debian:12", "name": "nothere"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": "2.0-1"}]}]}]}]
EOF
ok "repo update --errata-url (OSV)" "$DROVER" repo update bookworm-main \
	--errata-url "$NGINX_URL/osv.json"
ok "fixture: revision 2 (hello 1.1-1)" apt_fixture "$www/deb" 2 up@example.org
out=$("$DROVER" repo sync bookworm-main --wait 2>&1)
like "revision 2 makes version 2 with the new deb only downloaded" "$out" \
	'downloaded 1/1.*'
like "version 2 holds three packages and the advisory for hello" "$out" \
	'new version 2: 3 packages, 1 errata'
like "only the advisory for a carried package applies" "$out" '1 advisories apply'
like "erratum list shows the DSA with its urgency" "$("$DROVER" erratum list)" \
	'DSA-0001-1 +security +high'
like "erratum show maps the source to its binary and the fixed version" \
	"$("$DROVER" erratum show DSA-0001-1)" 'hello-1.1-1.all'
like "erratum list --cve finds it by its alias" \
	"$("$DROVER" erratum list --cve CVE-2024-0002)" 'DSA-0001-1'
token=$(sed -n 's/^token: "\(.*\)"/\1/p' "$DROVER_CONFIG")
dpkg_profile() {
	dpkg-query --admindir="$TAP_TMP/root/var/lib/dpkg" -W \
		-f '${Package} ${Version} ${Architecture}\n' |
		python3 -c 'import sys, json; print(json.dumps({"repository": "bookworm-main", "profile": [dict(zip(("name", "version", "arch"), l.split())) for l in sys.stdin]}))'
}
out=$(curl -s -H "Authorization: Bearer $token" -d "$(dpkg_profile)" \
	"$DROVERD_URL/api/v2/errata/applicable")
like "the DSA applies to the root with hello 1.0-1 (Debian version rules)" "$out" \
	'"erratum_id": *"DSA-0001-1"'
like "and is installable" "$out" '"installable": *true'
# shellcheck disable=SC2086
ok "apt-get update sees the new version" apt-get $opts update
# shellcheck disable=SC2086
ok "apt-get upgrade installs it" apt-get $opts upgrade
is "hello 1.1-1 is installed" "$(cat "$TAP_TMP/root/usr/share/hello/version")" 1.1-1
out=$(curl -s -H "Authorization: Bearer $token" -d "$(dpkg_profile)" \
	"$DROVERD_URL/api/v2/errata/applicable")
like "after the upgrade the DSA no longer applies" "$out" '"total": *0'

# Content views and promotion work the same for apt.
ok "environment Test" "$DROVER" lifecycle-environment create --name Test --prior Library
ok "content view" "$DROVER" content-view create --name deb-cv --repos bookworm-main \
	--filters '[{"type":"package","patterns":["hello"]}]'
ok "publish" "$DROVER" content-view publish deb-cv --wait
ok "promote 1.0 to Test" "$DROVER" content-view promote deb-cv --version 1.0 --to Test \
	--wait
packages=$(curl -s "$DROVERD_URL/content/Test/deb-cv/bookworm-main/dists/bookworm/main/binary-amd64/Packages")
like "the content view's Packages has hello" "$packages" '^Package: hello'
is "and not world (include filter)" "$(printf '%s\n' "$packages" | grep -c 'Package: world')" 0
opts2=$(apt_opts "$TAP_TMP/root2" "$DROVERD_URL/content/Test/deb-cv/bookworm-main" \
	"$TAP_TMP/drover.asc")
# shellcheck disable=SC2086
ok "apt-get update from Test/deb-cv" apt-get $opts2 update
# shellcheck disable=SC2086
ok "apt-get install hello from Test/deb-cv" apt-get $opts2 install hello

# mirror_complete: upstream's signed InRelease as-is; clients trust upstream's key.
ok "repo create mirror_complete" "$DROVER" repo create --product debian --name mirror-deb \
	--type apt --url "$NGINX_URL/deb" --distribution bookworm --components main \
	--architectures amd64 --gpg-key "$TAP_TMP/up.asc" --mirroring-policy mirror_complete
ok "sync mirror_complete" "$DROVER" repo sync mirror-deb --wait
curl -s "$DROVERD_URL/content/Library/default/mirror-deb/dists/bookworm/InRelease" \
	>"$TAP_TMP/m"
ok "InRelease is upstream's byte for byte" cmp "$www/deb/dists/bookworm/InRelease" \
	"$TAP_TMP/m"
opts3=$(apt_opts "$TAP_TMP/root3" "$DROVERD_URL/content/Library/default/mirror-deb" \
	"$TAP_TMP/up.asc")
# shellcheck disable=SC2086
ok "apt-get update with upstream's key against the mirror" apt-get $opts3 update
# shellcheck disable=SC2086
ok "apt-get install from the mirror" apt-get $opts3 install world

# Release + Release.gpg without InRelease.
cp -r "$www/deb" "$www/noinrel"
rm "$www/noinrel/dists/bookworm/InRelease"
ok "repo create on a Release-only upstream" "$DROVER" repo create --product debian \
	--name noinrel --type apt --url "$NGINX_URL/noinrel" --distribution bookworm \
	--gpg-key "$TAP_TMP/up.asc"
out=$("$DROVER" repo sync noinrel --wait 2>&1)
like "Release.gpg is verified when there is no InRelease" "$out" 'Release: good signature'

# Hostile upstreams: each fails the sync with a clear error; version 2 stays served.
resign() { # resign DIR: re-index and re-sign after changing Packages
	d=$1/dists/bookworm
	rm -f "$d/main/binary-amd64/Packages.gz" "$d/main/binary-amd64/Packages.xz"
	gzip -9k "$d/main/binary-amd64/Packages"
	xz -k "$d/main/binary-amd64/Packages"
	rm -f "$d/Release" "$d/InRelease" "$d/Release.gpg"
	apt-ftparchive -o APT::FTPArchive::Release::Codename=bookworm release "$d" >"$TAP_TMP/R"
	mv "$TAP_TMP/R" "$d/Release"
	gpg --batch --quiet --yes --local-user up@example.org --clearsign -o "$d/InRelease" \
		"$d/Release"
}
sync_at() {
	"$DROVER" repo update bookworm-main --url "$1" >/dev/null
	"$DROVER" repo sync bookworm-main --wait 2>&1
}
before=$(curl -s "$lib/dists/bookworm/Release")

rm -rf "$www/otherkey" && cp -r "$www/deb" "$www/otherkey"
gpg --batch --quiet --yes --local-user other@example.org --clearsign \
	-o "$www/otherkey/dists/bookworm/InRelease" "$www/otherkey/dists/bookworm/Release"
out=$(sync_at "$NGINX_URL/otherkey")
like "InRelease signed by another key is refused" "$out" 'not signed by the repository'

rm -rf "$www/tampered" && cp -r "$www/deb" "$www/tampered"
sed -i 's/^Suite: bookworm/Suite: evil/' "$www/tampered/dists/bookworm/InRelease"
out=$(sync_at "$NGINX_URL/tampered")
like "a tampered InRelease has a BAD signature" "$out" 'BAD signature'

rm -rf "$www/badidx" && cp -r "$www/deb" "$www/badidx"
printf 'Package: evil\n\n' | xz >"$www/badidx/dists/bookworm/main/binary-amd64/Packages.xz"
out=$(sync_at "$NGINX_URL/badidx")
like "a Packages file that is not what Release lists is refused" "$out" \
	'Packages.xz.*(SHA-256 mismatch|larger than the limit)'

rm -rf "$www/dotdot" && cp -r "$www/deb" "$www/dotdot"
sed -i 's|^Filename: pool/main/hello_1.0-1_all.deb|Filename: ../../../etc/passwd|' \
	"$www/dotdot/dists/bookworm/main/binary-amd64/Packages"
resign "$www/dotdot"
out=$(sync_at "$NGINX_URL/dotdot")
like "a Filename with ../ is refused" "$out" 'escapes the repository'

rm -rf "$www/abs" && cp -r "$www/deb" "$www/abs"
sed -i 's|^Filename: pool/main/hello_1.0-1_all.deb|Filename: /etc/passwd|' \
	"$www/abs/dists/bookworm/main/binary-amd64/Packages"
resign "$www/abs"
out=$(sync_at "$NGINX_URL/abs")
like "an absolute Filename is refused" "$out" 'not relative to the repository'

out=$(sync_at "$NGINX_URL/nothing-here")
like "a missing distribution fails naming the URL" "$out" 'nothing-here/dists/bookworm/Release'
is "version 2 is still served" "$(curl -s "$lib/dists/bookworm/Release")" "$before"
like "droverd is healthy" "$(curl -s "$DROVERD_URL/api/v2/status")" '"store": *"ok"'

# OSV advisories as Debian and OSV publish them in bulk: a zip archive, one JSON file per
# advisory (members that are not .json are skipped); hostile archives fail naming the
# archive and the member, and the errata already stored stay.
python3 - "$www" <<'PY'
import json, sys, zipfile
www = sys.argv[1]
adv = json.load(open(www + "/osv.json"))
with zipfile.ZipFile(www + "/osv.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for a in adv:
        z.writestr("debian/%s.json" % a["id"], json.dumps(a))
    z.writestr("README", "not an advisory")
with zipfile.ZipFile(www + "/bad.zip", "w") as z:
    z.writestr("DSA-9.json", "{not json")
with zipfile.ZipFile(www + "/bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("DSA-10.json", b" " * (65 << 20))
open(www + "/notzip.zip", "w").write("plain text")
PY
ok "repo update --errata-url with a zip archive" "$DROVER" repo update bookworm-main \
	--url "$NGINX_URL/deb" --errata-url "$NGINX_URL/osv.zip"
out=$("$DROVER" repo sync bookworm-main --wait 2>&1)
like "the archive's advisory for a carried package applies" "$out" '1 advisories apply'
"$DROVER" repo update bookworm-main --errata-url "$NGINX_URL/bad.zip" >/dev/null
like "a member that is not JSON fails naming archive, member, line and column" \
	"$("$DROVER" repo sync bookworm-main --wait 2>&1)" 'bad.zip:DSA-9.json:1:[0-9]+: not JSON'
"$DROVER" repo update bookworm-main --errata-url "$NGINX_URL/bomb.zip" >/dev/null
like "a member inflating past 64 MiB stops there" \
	"$("$DROVER" repo sync bookworm-main --wait 2>&1)" 'bomb.zip:DSA-10.json: larger than'
"$DROVER" repo update bookworm-main --errata-url "$NGINX_URL/notzip.zip" >/dev/null
like "a file that is no zip archive is named" \
	"$("$DROVER" repo sync bookworm-main --wait 2>&1)" 'notzip.zip: not a zip archive'
like "the erratum from before is still there" "$("$DROVER" erratum list)" 'DSA-0001-1'

# Applicability by Debian version rules, with a profile taken from the root.
profile=$(dpkg-query --admindir="$TAP_TMP/root/var/lib/dpkg" -W \
	-f '${Package} ${Version} ${Architecture}\n' |
	python3 -c 'import sys, json; print(json.dumps([dict(zip(("name", "version", "arch"), l.split())) for l in sys.stdin]))')
like "the root's profile lists hello 1.1-1" "$profile" '"name": "hello", "version": "1.1-1"'

droverd_stop
is "stopping droverd leaves no gpg-agent of its own" \
	"$(pgrep -f "gpg-agent --homedir $TAP_TMP/state/gnupg" | wc -l)" 0
done_testing
