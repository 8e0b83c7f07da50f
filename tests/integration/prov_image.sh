#!/bin/sh
# prov_image.sh - OS images through the API and `drover image` on a real droverd: bad
# input named by field (422), roles (a viewer lists but may not create or delete), the
# audit trail, a build whose mirror does not answer ending "failed" with mmdebstrap's
# reason, rebuild refused while one runs, delete refused while a host uses the image, the
# image route refusing what is not an image. The successful build, served with Range and
# checked by its SHA-256 on a real install, is tests/e2e/pxe_image.sh.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
. "$top_srcdir/tests/lib/image.sh"
command -v curl >/dev/null || skip_all "curl is not installed"

state=$TAP_TMP/state
ok "droverd starts" droverd_start "$state"
ok "admin logs in" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
admin=$(sed -n 's/^token: "\(.*\)"/\1/p' "$DROVER_CONFIG")
code() {
	if [ -n "${4:-}" ]; then
		curl -s -o "$TAP_TMP/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $3" \
			-H 'Content-Type: application/json' -d "$4" "$DROVERD_URL$2"
	else
		curl -s -o "$TAP_TMP/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $3" \
			"$DROVERD_URL$2"
	fi
}

# --- bad input, each named by its field
for bad in '{"name":"a/b"}:name' '{"name":"x","mirror":"ftp://m/debian"}:mirror' \
	'{"name":"x","mirror":"http://m/debian ] [trusted=yes"}:mirror' \
	'{"name":"x","suite":"--help"}:suite' '{"name":"x","packages":"vim;rm -rf /"}:packages' \
	'{"name":"x","packages":"-oDebug=1"}:packages' '{"name":"x","exclude":"usr/share"}:exclude' \
	'{"name":"x","format":"qcow2"}:format' '{"name":"x","status":"ready"}:status'; do
	body=${bad%:*}
	field=${bad##*:}
	is "refused: $body" "$(code POST /api/v2/images "$admin" "$body")" 422
	like "naming $field" "$(cat "$TAP_TMP/body")" "\"message\":\"$field: "
done
is "not JSON is a 400" "$(code POST /api/v2/images "$admin" '{"name":')" 400
like "drover image create says why" "$("$DROVER" image create 'bad name' 2>&1)" \
	"name: ' ' is not allowed"
is "nothing was created" "$(code GET /api/v2/images "$admin")" 200
like "the list is empty" "$(cat "$TAP_TMP/body")" '"total":0,'

# --- a build whose mirror does not answer (nothing listens on 127.0.0.1:9)
if command -v mmdebstrap >/dev/null; then
	out=$("$DROVER" image create broken --mirror http://127.0.0.1:9/debian --trusted 2>&1)
	like "drover image create queues the build" "$out" \
		'image broken: build queued as job [0-9]+'
	job=$(echo "$out" | sed -n 's/.* as job \([0-9]*\) .*/\1/p')
	"$DROVER" job follow "$job" >"$TAP_TMP/follow" 2>&1
	ok "the job fails" test $? -ne 0
	like "its output is mmdebstrap's" "$(cat "$TAP_TMP/follow")" 'mmdebstrap'
	like "the image is failed" "$("$DROVER" image list 2>&1)" 'broken +bookworm +failed'
	like "with the reason" "$("$DROVER" image show broken 2>&1)" '"error": "mmdebstrap failed'
	is "nothing is served for it" "$(curl -s -o /dev/null -w '%{http_code}' \
		"$DROVERD_URL/images/broken.tar")" 404
	is "an image cannot be renamed" "$(code PUT /api/v2/images/broken "$admin" \
		'{"name":"other"}')" 422
	is "its other fields can change" "$(code PUT /api/v2/images/broken "$admin" \
		'{"comment":"mirror down","name":"broken"}')" 200
	ok "it can be built again" "$DROVER" image build broken
	like "but not twice at once" "$("$DROVER" image build broken 2>&1)" \
		'a build is already (queued|building)'
	"$DROVER" job follow "$((job + 1))" >/dev/null 2>&1
	ok "a host may use it" "$DROVER" host create --name h1 --mac 52:54:00:00:00:11 \
		--provision-method image --image broken
	like "the host shows it" "$("$DROVER" host show h1 2>&1)" '"image_name": "broken"'
	like "delete is refused while the host uses it" "$("$DROVER" image delete broken 2>&1)" \
		'409 image broken is used by host h1'
	ok "the host goes" "$DROVER" host delete h1
	like "then the image goes" "$("$DROVER" image delete broken 2>&1)" 'image broken deleted'
	like "audited" "$("$DROVER" --json audit list 2>&1 | tr -d ' \n')" '"resource":"image"'
else
	echo "# build part skipped: mmdebstrap is not installed"
fi

# --- a mirror signed by a key Debian's keyring lacks (a private mirror, a Drover content
# view): --gpg-key, armored or binary, checked with gpgme; a wrong key or none fails the
# build naming the key; the right one builds, and is the image's trusted.gpg.d/<name>.gpg.
if command -v mmdebstrap >/dev/null && command -v gpg >/dev/null &&
	command -v apt-ftparchive >/dev/null && image_debs_present "$IMAGE_DEB_CACHE"; then
	export GNUPGHOME=$TAP_TMP/gnupg
	mkdir -p -m 700 "$GNUPGHOME"
	for u in mirror other; do
		gpg --batch --passphrase '' --quick-gen-key "$u <$u@example.org>" ed25519 sign \
			never 2>/dev/null
	done
	gpg --armor --export mirror@example.org >"$TAP_TMP/mirror.asc"
	gpg --export other@example.org >"$TAP_TMP/other.gpg"
	gpg --armor --export-secret-keys mirror@example.org >"$TAP_TMP/secret.asc"
	fpr() { gpg --with-colons --fingerprint "$1" | awk -F: '$1 == "fpr" { print $10; exit }'; }
	mfpr=$(fpr mirror@example.org)
	ofpr=$(fpr other@example.org)
	ok "a bookworm repository signed with a throwaway key" \
		sh -c ". '$top_srcdir/tests/lib/image.sh'; image_repo_build '$TAP_TMP/mrepo' >/dev/null &&
			image_repo_sign '$TAP_TMP/mrepo' mirror@example.org"
	# copy://: mmdebstrap's apt copies the .debs (a file:// mirror's are not seen from
	# the chroot).
	mirror=copy://$TAP_TMP/mrepo/debian
	head -c 3000 /dev/urandom >"$TAP_TMP/junk.key"
	like "a key file that is no key is refused" \
		"$("$DROVER" image create k1 --mirror "$mirror" --gpg-key "$TAP_TMP/junk.key" 2>&1)" \
		'gpg_key: not an OpenPGP public key'
	like "a secret key is refused" \
		"$("$DROVER" image create k1 --mirror "$mirror" --gpg-key "$TAP_TMP/secret.asc" 2>&1)" \
		'gpg_key: an armored block that is not a public key'
	head -c 70000 /dev/zero | tr '\0' A >"$TAP_TMP/big.key"
	is "an oversized gpg_key is a 422" "$(code POST /api/v2/images "$admin" \
		"{\"name\":\"k1\",\"gpg_key\":\"$(cat "$TAP_TMP/big.key")\"}")" 422
	like "naming gpg_key" "$(cat "$TAP_TMP/body")" '"message":"gpg_key: '
	excl=/usr/share/doc/*,/usr/share/man/*,/usr/share/locale/*,/lib/modules/*
	"$DROVER" image create wrongkey --mirror "$mirror" --gpg-key "$TAP_TMP/other.gpg" \
		--exclude "$excl" --follow >"$TAP_TMP/wrongkey" 2>&1
	ok "a build trusting the wrong (binary) key fails" test $? -ne 0
	like "naming the key it trusted" "$("$DROVER" image show wrongkey 2>&1)" \
		"\"error\": \"image wrongkey: the mirror $mirror is not signed by the image's gpg_key $ofpr nor a Debian archive key"
	like "the image shows the key's fingerprint" "$("$DROVER" image show wrongkey 2>&1)" \
		"\"gpg_fingerprints\": \"$ofpr\""
	"$DROVER" image create nokey --mirror "$mirror" --exclude "$excl" --follow >/dev/null 2>&1
	ok "a build with no key (and not --trusted) fails" test $? -ne 0
	like "saying to give one" "$("$DROVER" image show nokey 2>&1)" \
		'is not signed by a Debian archive key; give its key with gpg_key'
	t0=$(date +%s)
	# apt by name: the test repository has the .debs' own priorities (apt's is important),
	# not the archive's overrides that make minbase hold it.
	# file:/// as an operator writes it (droverd has mmdebstrap copy the .debs in).
	"$DROVER" image create signed --mirror "file://$TAP_TMP/mrepo/debian" \
		--gpg-key "$TAP_TMP/mirror.asc" \
		--packages apt --exclude "$excl" --follow >"$TAP_TMP/signed" 2>&1
	rc=$?
	ok "with the right (armored) key it builds ($(($(date +%s) - t0)) s)" test $rc -eq 0
	[ $rc -eq 0 ] || "$DROVER" image show signed 2>&1 | tail -20 | sed "s/^/# /"
	curl -s -o "$TAP_TMP/signed.tar" "$DROVERD_URL/images/signed.tar"
	tar -x -f "$TAP_TMP/signed.tar" -C "$TAP_TMP" ./etc/apt/trusted.gpg.d/signed.gpg \
		./etc/apt/sources.list 2>/dev/null
	like "the key is the image's /etc/apt/trusted.gpg.d/signed.gpg" \
		"$(gpg --show-keys --with-colons "$TAP_TMP/etc/apt/trusted.gpg.d/signed.gpg" 2>&1)" \
		"fpr:+$mfpr:"
	ok "as a binary keyring (apt reads a .gpg file as one)" \
		sh -c "test -s '$TAP_TMP/etc/apt/trusted.gpg.d/signed.gpg' &&
			! grep -q 'BEGIN PGP' '$TAP_TMP/etc/apt/trusted.gpg.d/signed.gpg'"
	like "its sources.list names the mirror, not trusted=yes" \
		"$(cat "$TAP_TMP/etc/apt/sources.list")" "^deb $mirror bookworm main"

	# --- user_data in an image install: the part of the host's rendered provision
	# template that handles it, run against this real image unpacked as the target (the
	# rest of the template partitions disks: tests/e2e/pxe_image.sh runs it whole).
	tree=$TAP_TMP/tree
	mkdir -p "$tree" "$TAP_TMP/bin"
	tar -x -p --numeric-owner -f "$TAP_TMP/signed.tar" -C "$tree"
	ln -sf "$(command -v busybox)" "$TAP_TMP/bin/wget" # the installer's wget
	ok "an image host" "$DROVER" host create --name ud1 --mac 52:54:00:00:00:21 \
		--provision-method image --image signed
	ok "in build mode" "$DROVER" host build ud1
	# user_data_run: the rendered user_data part, /target being the unpacked image.
	user_data_run() {
		"$DROVER" template preview --host ud1 --kind provision >"$TAP_TMP/provision" &&
			sed -n '/^# --- user_data/,/^# --- end of user_data/p' "$TAP_TMP/provision" |
			sed "s|/target|$tree|g" >"$TAP_TMP/ud.sh" &&
			[ -s "$TAP_TMP/ud.sh" ] || return 9
		mkdir -p "$tree/run"
		(
			log=$TAP_TMP/ud.log
			fail() { echo "FAIL: $*"; exit 1; }
			step() { echo "drover: $*"; }
			in_target() { chroot "$tree" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
				HOME=/root "$@"; }
			PATH=$TAP_TMP/bin:$PATH
			. "$TAP_TMP/ud.sh"
		)
	}
	: >"$TAP_TMP/ud.log"
	out=$(user_data_run 2>&1)
	ok "no user_data template: the install goes on" test $? -eq 0
	like "saying so in the installer log" "$(cat "$TAP_TMP/ud.log")" \
		'no user_data template for ud1'
	printf '#!/bin/sh\necho "{{ host.name }} $(cat /etc/debian_version)" > /etc/drover-ud\n' \
		>"$TAP_TMP/ud.tmpl"
	ok "a #! user_data template for Debian 12" "$DROVER" template create --name ud-script \
		--kind user_data --template-file "$TAP_TMP/ud.tmpl" --operatingsystem 'Debian 12'
	out=$(user_data_run 2>&1)
	ok "an image without cloud-init runs it" test $? -eq 0
	like "in the installed system" "$out" 'a script, run in the installed system'
	like "rendered for the host, run in the image's root" "$(cat "$tree/etc/drover-ud" 2>&1)" \
		"^ud1 12"
	ok "no seed is left for a cloud-init that is not there" \
		test ! -e "$tree/var/lib/cloud/seed/nocloud/user-data"
	printf '#cloud-config\npackages: [vim]\n' >"$TAP_TMP/ud.tmpl"
	"$DROVER" template delete ud-script >/dev/null 2>&1
	ok "a #cloud-config one" "$DROVER" template create --name ud-cc --kind user_data \
		--template-file "$TAP_TMP/ud.tmpl" --operatingsystem 'Debian 12'
	out=$(user_data_run 2>&1)
	ok "fails the install of an image without cloud-init" test $? -ne 0
	like "saying why and what to do" "$out" \
		"FAIL: user_data is #cloud-config but image signed has no cloud-init \\(/usr/bin/cloud-init\\) to apply it: build the image with --packages cloud-init"
	# The same image with cloud-init, installed by its packages (apt in the image's root,
	# /dev and /proc bound in a mount namespace of its own): a NoCloud seed that the image's
	# own cloud-init reads back and validates.
	if image_cloudinit_debs_present "$IMAGE_CLOUDINIT_CACHE"; then
		mkdir -p "$tree/tmp/ci"
		cp "$IMAGE_CLOUDINIT_CACHE"/*.deb "$tree/tmp/ci/"
		unshare --mount --propagation private sh -c "mount --bind /dev '$tree/dev' &&
			mount -t proc proc '$tree/proc' &&
			chroot '$tree' /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
				DEBIAN_FRONTEND=noninteractive sh -c 'apt-get install -y -q /tmp/ci/*.deb'" \
			>"$TAP_TMP/ci-install" 2>&1
		rc=$?
		ok "cloud-init installs in the image" test $rc -eq 0 -a -x "$tree/usr/bin/cloud-init"
		[ $rc -eq 0 ] || grep -Ev "^ *python3-|^Selecting|^Preparing|^Unpacking|^Setting up|^\(Reading" "$TAP_TMP/ci-install" | tail -30 | sed "s/^/# /"
		in_tree() { chroot "$tree" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
		rm -rf "$tree/tmp/ci"
		out=$(user_data_run 2>&1)
		ok "its #cloud-config is seeded" test $? -eq 0
		like "for cloud-init" "$out" 'user_data: a NoCloud seed for cloud-init'
		seed=$tree/var/lib/cloud/seed/nocloud
		is "user-data: the rendered template" "$(cat "$seed/user-data")" \
			"$(printf '#cloud-config\npackages: [vim]')"
		hid=$("$DROVER" --json host show ud1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
		is "meta-data, as the image's cloud-init reads it (NoCloud's read_seeded)" \
			"$(in_tree python3 -c '
from cloudinit import util
md, ud, vd = util.read_seeded("/var/lib/cloud/seed/nocloud/")
print(md["instance-id"], md["local-hostname"], ud.decode().splitlines()[0])' 2>&1)" \
			"drover-$hid ud1 #cloud-config"
		like "valid cloud-config for it" \
			"$(in_tree cloud-init schema --config-file \
				/var/lib/cloud/seed/nocloud/user-data 2>&1)" 'Valid cloud-config'
		like "only NoCloud probed" "$(cat "$tree/etc/cloud/cloud.cfg.d/90-drover.cfg")" \
			'^datasource_list: \[ NoCloud, None \]$'
		like "keeping the host keys built reported (none added), Drover's network, C.UTF-8" \
			"$(in_tree python3 -c 'import yaml; c = yaml.safe_load(open("/etc/cloud/cloud.cfg.d/90-drover.cfg")); print(c["ssh_deletekeys"], c["ssh_genkeytypes"], c["network"], c["locale"])' 2>&1)" \
			"^False \[\] \{'config': 'disabled'\} C\.UTF-8$"
		ok "nothing ran it now: cloud-init applies it at first boot" \
			test ! -e "$tree/var/lib/cloud/instance"
	else
		skip "the cloud-init seed" "no cloud-init packages in $IMAGE_CLOUDINIT_CACHE (tests/run-all downloads them)"
	fi
	"$DROVER" template delete ud-cc >/dev/null 2>&1
	"$DROVER" host delete ud1 >/dev/null 2>&1
	rm -rf "$tree"
	for i in wrongkey nokey signed; do "$DROVER" image delete "$i" >/dev/null 2>&1; done
	# The keyring directories these builds used (their job logs name them) are gone.
	kd=$(sed -n 's/.* (keyring \(.*\))$/\1/p' "$TAP_TMP/wrongkey" "$TAP_TMP/signed")
	is "the builds named their keyring directories" "$(echo "$kd" | grep -c '^/tmp/drover-image-keys-')" 2
	left=
	for k in $kd; do [ -e "$k" ] && left="$left $k"; done
	is "no keyring directory is left behind" "$left" ""
	unset GNUPGHOME
else
	echo "# gpg_key part skipped: mmdebstrap, gpg, apt-ftparchive or the image packages missing"
fi

# --- raw disk images imported from a file an operator gives: raw, xz, zstd and qcow2 (made
# here: an 8 MiB GPT disk), served as <name>.raw.zst; what is not a disk is refused, a
# wrong source_sha256 fails the build.
if command -v sfdisk >/dev/null && command -v zstd >/dev/null && command -v xz >/dev/null &&
	command -v qemu-img >/dev/null; then
	src=$TAP_TMP/src
	mkdir -p "$src"
	truncate -s 8M "$src/disk.raw"
	printf 'label: gpt\n,,L\n' | sfdisk -q "$src/disk.raw"
	printf 'drover-raw-test' | dd of="$src/disk.raw" bs=1 seek=2000000 conv=notrunc status=none
	xz -k "$src/disk.raw"
	zstd -q "$src/disk.raw" -o "$src/disk.raw.zst"
	qemu-img convert -f raw -O qcow2 "$src/disk.raw" "$src/disk.qcow2"
	head -c 1048576 /dev/urandom >"$src/junk.raw"
	want=$(sha256sum <"$src/disk.raw" | cut -d' ' -f1)
	for f in disk.raw disk.raw.xz disk.raw.zst disk.qcow2; do
		n=imp-$(echo "$f" | tr . -)
		out=$("$DROVER" image create "$n" --url "file://$src/$f" --follow 2>&1)
		ok "drover image create $n --url file://.../$f builds it" test $? -eq 0
		like "$n is a ready raw image" "$("$DROVER" image list 2>&1)" \
			"$n .* ready +[0-9]+ +[0-9a-f]{64} .* raw"
		curl -s -o "$TAP_TMP/$n.zst" "$DROVERD_URL/images/$n.raw.zst"
		is "served as /images/$n.raw.zst: the same disk" \
			"$(zstd -dc "$TAP_TMP/$n.zst" | sha256sum | cut -d' ' -f1)" "$want"
		"$DROVER" --json image show "$n" >"$TAP_TMP/$n.json"
		is "with the SHA-256 of the served file in the image" \
			"$(tr -d ' \n' <"$TAP_TMP/$n.json" | sed -n 's/.*"sha256":"\([0-9a-f]*\)".*/\1/p')" \
			"$(sha256sum <"$TAP_TMP/$n.zst" | cut -d' ' -f1)"
	done
	like "its URL" "$(cat "$TAP_TMP/imp-disk-raw.json")" \
		"\"url\": \"$DROVERD_URL/images/imp-disk-raw.raw.zst\""
	"$DROVER" image create junk --url "file://$src/junk.raw" --follow >"$TAP_TMP/junk" 2>&1
	ok "a file that is not a disk image fails" test $? -ne 0
	like "saying so" "$("$DROVER" image show junk 2>&1)" 'not a raw disk image'
	"$DROVER" image create badsum --url "file://$src/disk.raw" \
		--sha256 0000000000000000000000000000000000000000000000000000000000000000 \
		--follow >/dev/null 2>&1
	ok "a wrong --sha256 fails" test $? -ne 0
	like "naming both checksums" "$("$DROVER" image show badsum 2>&1)" \
		"has SHA-256 $want, not 0000"
	"$DROVER" image create goodsum --url "file://$src/disk.raw" --sha256 "$want" \
		--follow >/dev/null 2>&1
	ok "the right --sha256 builds" test $? -eq 0
	is "a tar format with a source URL is a 422" "$(code POST /api/v2/images "$admin" \
		"{\"name\":\"t\",\"format\":\"tar\",\"source_url\":\"file://$src/disk.raw\"}")" 422
	like "naming format" "$(cat "$TAP_TMP/body")" '"message":"format: an image imported'
	is "the source's checksum is 64 hex digits" "$(code POST /api/v2/images "$admin" \
		"{\"name\":\"t\",\"source_url\":\"http://127.0.0.1:9/a.raw\",\"source_sha256\":\"x\"}")" 422
	"$DROVER" image create unreachable --url http://127.0.0.1:9/disk.raw --follow \
		>/dev/null 2>&1
	ok "an unreachable source URL fails the build" test $? -ne 0
	like "naming it" "$("$DROVER" image show unreachable 2>&1)" \
		'"error": "source_url: .*127\.0\.0\.1:9/disk\.raw'
	like "image delete removes a raw image" "$("$DROVER" image delete imp-disk-raw 2>&1)" \
		'image imp-disk-raw deleted'
	is "and its file" "$(curl -s -o /dev/null -w '%{http_code}' \
		"$DROVERD_URL/images/imp-disk-raw.raw.zst")" 404
else
	echo "# raw import part skipped: sfdisk, zstd, xz or qemu-img is not installed"
fi

# --- roles
printf 'viewer-pass-1\n' | "$DROVER" user create --login vera --role viewer >/dev/null 2>&1
vera=$(curl -s -d '{"user":"vera","password":"viewer-pass-1"}' "$DROVERD_URL/api/v2/tokens" |
	sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
is "a viewer lists images" "$(code GET /api/v2/images "$vera")" 200
is "but may not create one" "$(code POST /api/v2/images "$vera" '{"name":"v"}')" 403
is "nor build one" "$(code POST /api/v2/images/1/build "$vera")" 403
is "nor delete one" "$(code DELETE /api/v2/images/1 "$vera")" 403
is "no login: 401" "$(curl -s -o /dev/null -w '%{http_code}' "$DROVERD_URL/api/v2/images")" 401

# --- the served files: only <name>.tar and <name>.raw.zst beneath the images directory
for p in '..%2Fdrover.db' 'drover.db' '..%2F..%2Fetc%2Fpasswd' 'x.tar.part' 'x.raw.zst.part' \
	'x.src.part' 'x.raw'; do
	is "GET /images/$p is a 404" "$(curl -s -o /dev/null -w '%{http_code}' \
		"$DROVERD_URL/images/$p")" 404
done
ok "droverd still serves" curl -sf -o /dev/null "$DROVERD_URL/api/v2/status"
droverd_stop
ok "no sanitizer report in droverd's log" sh -c \
	"! grep -q 'runtime error\|Sanitizer' '$TAP_TMP/droverd.log'"
done_testing
