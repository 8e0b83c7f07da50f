#!/bin/sh
# repo_yum.sh - rpm-md end to end: rpms built with rpmbuild in a createrepo_c repository
# with an updateinfo, served by nginx; a real droverd syncs it, and real dnf in an
# isolated installroot installs from droverd's publication. Then a second upstream
# revision (an update and its erratum), content views and environments, errata and
# applicability, GPG signatures, and hostile upstreams.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
. "$top_srcdir/tests/lib/repos.sh"
for t in rpmbuild createrepo_c modifyrepo_c dnf nginx curl gpg python3; do
	command -v $t >/dev/null || skip_all "$t is not installed"
done
trap 'gpgconf --homedir "$TAP_TMP/gnupg" --kill all 2>/dev/null; nginx_stop; droverd_stop KILL; gpgconf --homedir "$TAP_TMP/state/gnupg" --kill all 2>/dev/null; rm -rf "$TAP_TMP"' EXIT

www=$TAP_TMP/www
ok "fixture: revision 1 (hello-1.0, world-1.0)" yum_fixture "$www/yum" 1
nginx_start "$www"
like "nginx serves the fixture" "$(curl -s "$NGINX_URL/yum/repodata/repomd.xml")" '<repomd'
ok "droverd starts" droverd_start "$TAP_TMP/state"
ok "login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
token=$(sed -n 's/^token: "\(.*\)"/\1/p' "$DROVER_CONFIG")
api() { curl -s -H "Authorization: Bearer $token" "$@"; }

ok "product create" "$DROVER" product create --name test --description 'drover tests'
out=$("$DROVER" product create --name test 2>&1)
like "a second product of that name is refused" "$out" "already exists"
ok "repo create" "$DROVER" repo create --product test --name hello-yum --type yum \
	--url "$NGINX_URL/yum"
out=$("$DROVER" repo create --product test --name bad --type zip --url "$NGINX_URL/x" 2>&1)
like "an unknown type is refused naming it" "$out" "type 'zip'"
out=$("$DROVER" repo create --product nope --name bad --type yum --url "$NGINX_URL/x" 2>&1)
like "an unknown product is refused" "$out" "no product 'nope'"
like "repo list" "$("$DROVER" repo list)" 'hello-yum +test +yum'
"$DROVER" product create --name other >/dev/null
out=$("$DROVER" product list --per-page 1 2>&1)
like "product list pages and says that more matched" "$out" 'page 1: 1 of 2 shown'
like "product list --search" "$("$DROVER" product list --search 'name = other' | tail -n +2)" '^[0-9]+ +other +0'

out=$("$DROVER" repo sync hello-yum --wait 2>&1)
is "first sync succeeds" "$?" 0
like "it downloads both packages" "$out" 'downloaded 2/2 packages'
like "and makes version 1" "$out" 'new version 1: 2 packages'
ls "$TAP_TMP/state/pool/sha256/"*/* >/dev/null 2>&1
is "the pool holds files by SHA-256" "$?" 0
sha=$(sha256sum "$www/yum/hello-1.0-1.noarch.rpm" | cut -c1-64)
ok "hello-1.0's rpm is in the pool under its SHA-256" \
	cmp "$www/yum/hello-1.0-1.noarch.rpm" \
	"$TAP_TMP/state/pool/sha256/$(echo "$sha" | cut -c1-2)/$(echo "$sha" | cut -c3-)"

out=$("$DROVER" repo sync hello-yum --wait 2>&1)
like "a second sync of unchanged upstream does no work" "$out" 'upstream metadata unchanged'
is "and makes no new version" \
	"$("$DROVER" --json repo show hello-yum | grep -c '"number"')" 1

lib=$DROVERD_URL/content/Library/default/hello-yum
is "published repomd.xml is public" \
	"$(curl -s -o /dev/null -w '%{http_code}' "$lib/repodata/repomd.xml")" 200
is "a path outside the publication is a 404" \
	"$(curl -s -o /dev/null -w '%{http_code}' "$lib/../../../drover.db")" 404
is "an unknown repository is a 404" \
	"$(curl -s -o /dev/null -w '%{http_code}' \
		"$DROVERD_URL/content/Library/default/nope/repodata/repomd.xml")" 404

etag=$(curl -s -D - -o /dev/null "$lib/repodata/repomd.xml" | sed -n 's/^[Ee][Tt]ag: *\(.*\)\r$/\1/p')
like "published files carry their checksum as ETag" "$etag" '^"[0-9a-f]{64}"$'
is "If-None-Match with it answers 304" \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$lib/repodata/repomd.xml")" 304
modified=$(curl -s -D - -o /dev/null "$lib/repodata/repomd.xml" | sed -n 's/^[Ll]ast-[Mm]odified: *\(.*\)\r$/\1/p')
like "published files carry Last-Modified" "$modified" 'GMT$'
is "If-Modified-Since with it answers 304" \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "If-Modified-Since: $modified" "$lib/repodata/repomd.xml")" 304
is "an older If-Modified-Since gets the file" \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT" "$lib/repodata/repomd.xml")" 200
is "HEAD answers too" "$(curl -s -I -o /dev/null -w '%{http_code}' "$lib/repodata/repomd.xml")" 200
opts=$(dnf_opts "$TAP_TMP/dnf" "$lib/")
# shellcheck disable=SC2086
ok "dnf installs world (and its dependency hello) from droverd" dnf $opts install world
is "hello 1.0 is installed in the root" \
	"$(cat "$TAP_TMP/dnf/root/usr/share/hello/version")" 1.0-1

# Hosts whose package profile (stored as jobs/profile.c stores it) has hello-1.0: one on
# Library's default content, one on content view base in Dev. Their errata counts follow
# syncs and promotions without a job on the host.
hostprof() {
	"$DROVER" host create --name "$1" -p "content_view=$2" -p "lifecycle_environment=$3" \
		>/dev/null &&
	sqlite3 "$TAP_TMP/state/drover.db" "INSERT INTO jobs_host_profiles (host_id, format,
		packages, package_count, reboot_required, applicable, applicable_count,
		installable_count, content_ids, fingerprint, collected_at, job_id)
		SELECT id, 'yum', '[{\"name\":\"hello\",\"epoch\":\"0\",\"version\":\"1.0\",
		\"release\":\"1\",\"arch\":\"noarch\"}]', 1, 0, NULL, 0, 0, '[]', '', 0, NULL
		FROM prov_hosts WHERE name = '$1'"
}
q() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }
ok "a host on Library with hello-1.0" hostprof lib1 default Library
ok "a host on base in Dev with hello-1.0" hostprof dev1 base Dev
is "before revision 2 no host has a security erratum" \
	"$(api "$DROVERD_URL/api/v2/hosts?search=$(q 'errata.security > 0')" | tr -d ' \n' |
		sed -n 's/.*"subtotal":\([0-9]*\).*/\1/p')" 0
# Revision 2: hello-1.1 and erratum DRV-2024:0001.
ok "fixture: revision 2 (hello-1.1 + updateinfo)" yum_fixture "$www/yum" 2
out=$("$DROVER" repo sync hello-yum --wait 2>&1)
like "the sync of revision 2 downloads only the new package" "$out" 'downloaded 1/1'
like "and makes version 2 with the erratum" "$out" 'new version 2: 3 packages, 1 errata'
like "the sync re-evaluates hosts' applicable errata" "$out" "hosts' applicable errata re-evaluated"
like "the Library host now has the security erratum, without a job on it" \
	"$(api "$DROVERD_URL/api/v2/hosts?search=$(q 'errata.security > 0')" | tr -d ' \n')" \
	'"subtotal":1,.*"name":"lib1"'
like "erratum list" "$("$DROVER" erratum list)" 'DRV-2024:0001 +security +Important'
like "erratum list --type security" "$("$DROVER" erratum list --type security)" \
	'DRV-2024:0001'
is "erratum list --severity Low is empty" \
	"$("$DROVER" --json erratum list --severity Low | grep -c DRV-2024)" 0
like "erratum list --cve" "$("$DROVER" erratum list --cve CVE-2024-0001)" 'DRV-2024:0001'
out=$("$DROVER" erratum show DRV-2024:0001)
like "erratum show lists the CVE reference" "$out" 'cve CVE-2024-0001'
like "and the fixed package" "$out" 'hello-1.1-1.noarch'
like "and reboot_suggested" "$out" 'REBOOT SUGGESTED +true'
like "updateinfo is published with the erratum" \
	"$(curl -s "$lib/repodata/repomd.xml")" 'type="updateinfo"'
group=$(curl -s "$lib/repodata/repomd.xml" | grep -o 'repodata/[^"]*comps[^"]*')
like "comps (group) metadata is carried into the publication" "$group" 'comps'
like "and served" "$(curl -s "$lib/$group" | bzcat)" \
	'<id>drover-tests</id>'

# Applicability: the installroot's package profile.
profile() {
	rpm --root "$TAP_TMP/dnf/root" -qa \
		--qf '%{NAME} %{EPOCHNUM} %{VERSION} %{RELEASE} %{ARCH}\n' |
		python3 -c 'import sys, json; print(json.dumps({"repository": "hello-yum", "profile": [dict(zip(("name", "epoch", "version", "release", "arch"), l.split())) for l in sys.stdin]}))'
}
out=$(api -d "$(profile)" "$DROVERD_URL/api/v2/errata/applicable")
like "the erratum applies to the root with hello-1.0" "$out" '"erratum_id": *"DRV-2024:0001"'
like "and is installable from the repository" "$out" '"installable": *true'
many=$(profile | python3 -c 'import sys, json; b = json.load(sys.stdin); p = b.pop("profile"); b["profiles"] = [p, list(reversed(p)), [{"name": "hello", "epoch": "0", "version": "1.1", "release": "1", "arch": "noarch"}]]; print(json.dumps(b))')
out=$(api -d "$many" "$DROVERD_URL/api/v2/errata/applicable")
like "many profiles: the same package set in any order is evaluated once" "$out" \
	'"distinct_profiles": *2'
like "and each host gets its answer" "$(printf '%s' "$out" | python3 -c 'import sys, json; r = json.load(sys.stdin)["results"]; print([x["errata"]["installable"] for x in r])')" \
	"^\[\['DRV-2024:0001'\], \['DRV-2024:0001'\], \[\]\]$"
# shellcheck disable=SC2086
ok "dnf upgrade takes hello-1.1 from droverd" dnf $opts --refresh upgrade
is "hello 1.1 is installed" "$(cat "$TAP_TMP/dnf/root/usr/share/hello/version")" 1.1-1
out=$(api -d "$(profile)" "$DROVERD_URL/api/v2/errata/applicable")
like "after the upgrade nothing applies" "$out" '"total": *0'

# Lifecycle environments and content views.
ok "lifecycle-environment create Dev" "$DROVER" lifecycle-environment create --name Dev \
	--prior Library
ok "lifecycle-environment create Prod" "$DROVER" lifecycle-environment create --name Prod \
	--prior Dev
out=$("$DROVER" lifecycle-environment create --name Other --prior Library 2>&1)
like "a path is a chain" "$out" "already follows"
ok "content-view create" "$DROVER" content-view create --name base --repos hello-yum \
	--filters '[{"type":"package","exclude":true,"patterns":["world"]}]'
out=$("$DROVER" content-view publish base --wait 2>&1)
is "content-view publish" "$?" 0
like "makes version 1.0" "$out" 'version 1.0 published'
out=$("$DROVER" content-view promote base --version 1.0 --to Prod --wait 2>&1)
like "promotion skips no environment" "$out" 'not in Dev'
is "dev1 has no errata while Dev serves nothing of base" \
	"$(api "$DROVERD_URL/api/v2/hosts?search=$(q 'errata.total > 0 and name = dev1')" |
		tr -d ' \n' | sed -n 's/.*"subtotal":\([0-9]*\).*/\1/p')" 0
ok "content-view promote 1.0 to Dev" "$DROVER" content-view promote base --version 1.0 \
	--to Dev --wait
like "after the promotion dev1's errata count shows in the hosts list" \
	"$(api "$DROVERD_URL/api/v2/hosts?search=$(q 'errata.security > 0')" | tr -d ' \n')" \
	'"subtotal":2,.*"name":"dev1"'
like "and on its errata" "$(api "$DROVERD_URL/api/v2/hosts/dev1/errata" | tr -d ' \n')" \
	'DRV-2024:0001'
is "no job ran on either host: only syncs, publishes and promotions ran" \
	"$(api "$DROVERD_URL/api/v2/jobs?search=$(q 'kind != repo_sync and kind != content_view_publish and kind != content_view_promote')" |
		tr -d ' \n' | sed -n 's/.*"subtotal":\([0-9]*\).*/\1/p')" 0
dev=$DROVERD_URL/content/Dev/base/hello-yum
is "Dev/base serves repomd.xml" \
	"$(curl -s -o /dev/null -w '%{http_code}' "$dev/repodata/repomd.xml")" 200
is "Prod/base serves nothing yet" \
	"$(curl -s -o /dev/null -w '%{http_code}' \
		"$DROVERD_URL/content/Prod/base/hello-yum/repodata/repomd.xml")" 404
primary=$(curl -s "$dev/repodata/repomd.xml" | grep -o 'repodata/[0-9a-f]*-primary.xml.gz')
like "the filter left world out of the content view" \
	"$(curl -s "$dev/$primary" | zcat | grep '<name>')" '^[^w]*$'
opts2=$(dnf_opts "$TAP_TMP/dnf2" "$dev/")
# shellcheck disable=SC2086
ok "dnf installs hello from Dev/base" dnf $opts2 install hello
is "it gets hello-1.1" "$(cat "$TAP_TMP/dnf2/root/usr/share/hello/version")" 1.1-1
like "content-view show lists where each version is" \
	"$("$DROVER" content-view show base)" 'Dev +1\.0'

ok "content-view with an erratum filter" "$DROVER" content-view create --name nosec \
	--repos hello-yum --filters '[{"type":"erratum","exclude":true,"types":["security"]}]'
ok "publish it" "$DROVER" content-view publish nosec --wait
nosec=$DROVERD_URL/content/Library/nosec/hello-yum
primary=$(curl -s "$nosec/repodata/repomd.xml" | grep -o 'repodata/[0-9a-f]*-primary.xml.gz')
out=$(curl -s "$nosec/$primary" | zcat)
like "excluding the security erratum keeps hello 1.0" "$out" 'ver="1.0"'
is "and leaves out hello 1.1, the erratum's fix" \
	"$(printf '%s\n' "$out" | grep -c 'ver="1.1"')" 0
updateinfo=$(curl -s "$nosec/repodata/repomd.xml" | grep -o 'repodata/[0-9a-f]*-updateinfo.xml.gz')
is "and the erratum itself" "$(curl -s "$nosec/$updateinfo" | zcat | grep -c DRV-2024)" 0

# A content view without filters shares the repository version's metadata (no rewrite).
ok "content-view without filters" "$DROVER" content-view create --name whole --repos hello-yum
ok "publish it" "$DROVER" content-view publish whole --wait
is "its repomd.xml is the repository version's" \
	"$(curl -s "$DROVERD_URL/content/Library/whole/hello-yum/repodata/repomd.xml" | sha256sum)" \
	"$(curl -s "$lib/repodata/repomd.xml" | sha256sum)"
primary=$(curl -s "$DROVERD_URL/content/Library/whole/hello-yum/repodata/repomd.xml" |
	grep -o 'repodata/[0-9a-f]*-primary.xml.gz')
like "and serves its primary, with both versions of hello" \
	"$(curl -s "$DROVERD_URL/content/Library/whole/hello-yum/$primary" | zcat |
		grep -o 'ver="1\.[01]"' | sort -u | tr '\n' ' ')" 'ver="1.0" ver="1.1"'

# Mirror complete: upstream metadata served as-is.
ok "repo create mirror_complete" "$DROVER" repo create --product test --name mirror-yum \
	--type yum --url "$NGINX_URL/yum" --mirroring-policy mirror_complete
ok "sync mirror_complete" "$DROVER" repo sync mirror-yum --wait
ok "repomd.xml is upstream's byte for byte" cmp "$www/yum/repodata/repomd.xml" \
	"$(curl -s -o "$TAP_TMP/m.xml" "$DROVERD_URL/content/Library/default/mirror-yum/repodata/repomd.xml" && echo "$TAP_TMP/m.xml")"

# Include patterns.
ok "repo create with --include" "$DROVER" repo create --product test --name only-hello \
	--type yum --url "$NGINX_URL/yum" --include 'hell*'
out=$("$DROVER" repo sync only-hello --wait 2>&1)
like "include keeps hello, leaves world out" "$out" '1 packages left out'

# GPG: a signed repomd.xml.
export GNUPGHOME=$TAP_TMP/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
	--quick-gen-key 'Upstream <up@example.org>' ed25519 sign never 2>/dev/null
gpg --batch --quiet --armor --export up@example.org >"$TAP_TMP/up.asc"
gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
	--quick-gen-key 'Other <other@example.org>' ed25519 sign never 2>/dev/null
gpg --batch --quiet --armor --export other@example.org >"$TAP_TMP/other.asc"
cp -r "$www/yum" "$www/signed"
gpg --batch --quiet --yes --local-user up@example.org --armor --detach-sign \
	"$www/signed/repodata/repomd.xml"
ok "repo create with a GPG key" "$DROVER" repo create --product test --name signed \
	--type yum --url "$NGINX_URL/signed" --gpg-key "$TAP_TMP/up.asc"
out=$("$DROVER" repo sync signed --wait 2>&1)
like "a good signature is accepted" "$out" 'good signature'
ok "repo create with another key" "$DROVER" repo create --product test --name signed-other \
	--type yum --url "$NGINX_URL/signed" --gpg-key "$TAP_TMP/other.asc"
out=$("$DROVER" repo sync signed-other --wait 2>&1)
like "a signature by another key fails the sync" "$out" 'not signed by the repository'
sed -i 's|<revision>|<revision>9|' "$www/signed/repodata/repomd.xml"
"$DROVER" repo update signed --url "$NGINX_URL/signed" >/dev/null
out=$("$DROVER" repo sync signed --wait 2>&1)
like "a tampered repomd.xml fails with a BAD signature" "$out" 'BAD signature'
is "the signed repository keeps serving version 1" \
	"$(curl -s -o /dev/null -w '%{http_code}' \
		"$DROVERD_URL/content/Library/default/signed/repodata/repomd.xml")" 200
unset GNUPGHOME

# Hostile upstreams. Each copy is the good repository with one thing broken; the
# repository hello-yum points at it, the sync fails, and version 2 keeps being served.
# repomd_set DIR TYPE FILE: put FILE in as metadata TYPE with honest checksums.
repomd_set() {
	python3 - "$@" <<'EOF'
import hashlib, gzip, os, re, sys
d, t, f = sys.argv[1:4]
declared = sys.argv[4] if len(sys.argv) > 4 else None
raw = open(f, 'rb').read()
gz = gzip.compress(raw) if not f.endswith('.gz') else raw
s = hashlib.sha256(gz).hexdigest()
name = 'repodata/%s-%s.xml.gz' % (s, t)
open(os.path.join(d, name), 'wb').write(gz)
p = os.path.join(d, 'repodata/repomd.xml')
x = open(p).read()
block = ('<data type="%s">\n    <checksum type="sha256">%s</checksum>\n'
         '    <location href="%s"/>\n    <size>%d</size>\n%s  </data>') % (
    t, s, name, len(gz), '    <open-size>%s</open-size>\n' % declared if declared else '')
x = re.sub(r'<data type="%s">.*?</data>' % t, lambda m: block, x, flags=re.S)
open(p, 'w').write(x)
EOF
}
hostile() { # hostile NAME: a fresh copy of the good repository
	rm -rf "$www/$1"
	cp -r "$www/yum" "$www/$1"
}
sync_at() { # sync_at URL: point hello-yum at URL and sync; prints the output
	"$DROVER" repo update hello-yum --url "$1" >/dev/null
	"$DROVER" repo sync hello-yum --wait 2>&1
}
served() {
	curl -s -o /dev/null -w '%{http_code}' "$lib/repodata/repomd.xml"
}
before=$(curl -s "$lib/repodata/repomd.xml")

hostile badsum
rpm_build hello 1.2 1 "$www/badsum"
createrepo_c --quiet --no-database --update "$www/badsum" >/dev/null
flip() { # flip FILE: change its last byte, keeping its size
	python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[-1] ^= 1; open(p, "wb").write(b)' "$1"
}
flip "$www/badsum/hello-1.2-1.noarch.rpm"
out=$(sync_at "$NGINX_URL/badsum")
like "a package with a wrong checksum fails the sync, naming it" "$out" \
	'hello-1\.2-1\.noarch\.rpm.*SHA-256 mismatch'

hostile badmeta
primary=$(ls "$www/badmeta/repodata/"*-primary.xml.gz)
flip "$primary"
out=$(sync_at "$NGINX_URL/badmeta")
like "metadata with a wrong checksum fails, naming the file" "$out" \
	'primary\.xml\.gz.*SHA-256 mismatch'

hostile dotdot
zcat "$(ls "$www/dotdot/repodata/"*-primary.xml.gz)" |
	sed 's|href="hello-1.0-1.noarch.rpm"|href="../../etc/passwd"|' >"$TAP_TMP/p.xml"
repomd_set "$www/dotdot" primary "$TAP_TMP/p.xml"
out=$(sync_at "$NGINX_URL/dotdot")
like "a location href with ../ is refused" "$out" "escapes the repository"

hostile abs
zcat "$(ls "$www/abs/repodata/"*-primary.xml.gz)" |
	sed 's|href="hello-1.0-1.noarch.rpm"|href="/etc/passwd"|' >"$TAP_TMP/p.xml"
repomd_set "$www/abs" primary "$TAP_TMP/p.xml"
out=$(sync_at "$NGINX_URL/abs")
like "an absolute location href is refused" "$out" "not relative to the repository"

hostile entity
{
	echo '<?xml version="1.0"?>'
	echo '<!DOCTYPE metadata [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
	echo '<metadata xmlns="http://linux.duke.edu/metadata/common" packages="0">&b;</metadata>'
} >"$TAP_TMP/p.xml"
repomd_set "$www/entity" primary "$TAP_TMP/p.xml"
out=$(sync_at "$NGINX_URL/entity")
like "a DOCTYPE (entity expansion) is refused" "$out" "DOCTYPE is not allowed"

hostile bomb
python3 -c '
import gzip, sys
with gzip.open(sys.argv[1], "wb", 9) as f:
    f.write(b"<?xml version=\"1.0\"?><metadata>")
    f.write(b"<x/>" * (4 << 20))
    f.write(b"</metadata>")
' "$TAP_TMP/bomb.xml.gz"
repomd_set "$www/bomb" primary "$TAP_TMP/bomb.xml.gz" 2000
out=$(sync_at "$NGINX_URL/bomb")
like "metadata expanding past its declared open-size stops there" "$out" \
	"decompresses to more than the limit of 2000 bytes"

hostile garbage
echo 'this is not XML <' >"$www/garbage/repodata/repomd.xml"
out=$(sync_at "$NGINX_URL/garbage")
like "a garbage repomd.xml fails naming it and the line" "$out" 'repomd\.xml:[0-9]+: '

hostile truncated
primary=$(ls "$www/truncated/repodata/"*-primary.xml.gz)
head -c 300 "$primary" >"$TAP_TMP/t.xml.gz"
repomd_set "$www/truncated" primary "$TAP_TMP/t.xml.gz"
out=$(sync_at "$NGINX_URL/truncated")
like "a truncated (but checksummed) primary.xml.gz fails clearly" "$out" \
	'primary\.xml\.gz.*(truncated|Premature end|EndTag|expected)'

out=$(sync_at "$NGINX_URL/status500")
like "an upstream answering 500 fails clearly" "$out" 'status500/repodata/repomd.xml: HTTP 500'
out=$(sync_at "http://127.0.0.1:1/yum")
like "an unreachable upstream fails naming the URL" "$out" '127\.0\.0\.1:1/yum/repodata/repomd\.xml'
like "the repository records the failure" "$("$DROVER" repo show hello-yum)" \
	'SYNC STATE +failed'
is "after all that, version 2 is still served" "$(curl -s "$lib/repodata/repomd.xml")" "$before"
is "and no version was made" \
	"$("$DROVER" --json repo show hello-yum | grep -c '"number"')" 2
like "droverd is still healthy" "$(curl -s "$DROVERD_URL/api/v2/status")" '"store": *"ok"'
metrics=$(curl -s "$DROVERD_URL/metrics")
like "metrics: packages per repository" "$metrics" 'drover_repo_packages\{repository="hello-yum"\} 3'
like "metrics: the failed last sync" "$metrics" \
	'drover_repo_last_sync_success\{repository="hello-yum"\} 0'
like "repo show reports the disk the repository's versions use" \
	"$("$DROVER" repo show hello-yum)" 'DISK USE +[1-9][0-9]+'


# Retention and orphan cleanup.
"$DROVER" repo update hello-yum --url "$NGINX_URL/yum" --retain 1 >/dev/null
rpm_build hello 1.3 1 "$www/yum" && createrepo_c --quiet --no-database --update "$www/yum" >/dev/null
out=$("$DROVER" repo sync hello-yum --wait 2>&1)
like "a new upstream revision makes version 3" "$out" 'new version 3'
is "retention 1 keeps only the latest version" \
	"$("$DROVER" --json repo show hello-yum | grep -c '"number"')" 1
mkdir -p "$TAP_TMP/state/pool/sha256/00"
echo stray >"$TAP_TMP/state/pool/sha256/00/$(printf '%062d' 0)"
job=$(api -X POST "$DROVERD_URL/api/v2/content/orphans/remove" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
sleep 1
out=$("$DROVER" job follow "$job" 2>&1)
like "orphan cleanup ran" "$out" "removed [0-9]+ units"
ok "it removed the stray pool file" test ! -e "$TAP_TMP/state/pool/sha256/00/$(printf '%062d' 0)"
rm -rf "$TAP_TMP/dnf3"
opts3=$(dnf_opts "$TAP_TMP/dnf3" "$lib/")
# shellcheck disable=SC2086
ok "dnf still installs from the publication after cleanup" dnf $opts3 install world

done_testing
