# repos.sh - fixtures for the content tests: tiny rpms (rpmbuild) in rpm-md repositories
# (createrepo_c, modifyrepo_c with an updateinfo), tiny debs (dpkg-deb) in an apt
# repository (apt-ftparchive), a throwaway gpg key, and nginx on loopback serving them.
# Source tap.sh first.

NGINX_PID=
NGINX_URL=

# rpm_build NAME VERSION RELEASE OUTDIR [REQUIRES]: a noarch rpm holding /usr/share/NAME/VERSION.
rpm_build() {
	name=$1 version=$2 release=$3 out=$4 requires=${5:-}
	top=$TAP_TMP/rpmbuild
	mkdir -p "$top/SPECS" "$out"
	{
		echo "Name: $name"
		echo "Version: $version"
		echo "Release: $release"
		echo "Summary: drover test package $name"
		echo "License: MIT"
		echo "BuildArch: noarch"
		[ -n "$requires" ] && echo "Requires: $requires"
		echo "%description"
		echo "A package for drover's tests."
		echo "%install"
		echo "mkdir -p %{buildroot}/usr/share/$name"
		echo "echo $version-$release > %{buildroot}/usr/share/$name/version"
		echo "%files"
		echo "/usr/share/$name"
	} >"$top/SPECS/$name.spec"
	rpmbuild --quiet --define "_topdir $top" --define "_rpmdir $out" \
		--define '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm' \
		--define '_binary_payload w2.xzdio' -bb "$top/SPECS/$name.spec" >/dev/null 2>&1
}

# updateinfo_write FILE ID PKG VERSION RELEASE [TYPE] [SEVERITY]: one erratum fixing PKG.
updateinfo_write() {
	cat >"$1" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="security@example.org" status="stable" type="${6:-security}" version="1">
    <id>$2</id>
    <title>$3 update fixes a flaw</title>
    <issued date="2024-03-01 10:00:00"/>
    <updated date="2024-03-02 10:00:00"/>
    <severity>${7:-Important}</severity>
    <release>Drover Test 1</release>
    <description>An update for $3 that fixes CVE-2024-0001.</description>
    <solution>Update the package.</solution>
    <reboot_suggested>True</reboot_suggested>
    <references>
      <reference href="https://cve.example.org/CVE-2024-0001" id="CVE-2024-0001" type="cve" title="CVE-2024-0001"/>
      <reference href="https://bugs.example.org/1" id="1" type="bugzilla" title="bug 1"/>
    </references>
    <pkglist>
      <collection short="test">
        <name>test</name>
        <package name="$3" version="$4" release="$5" epoch="0" arch="noarch" src="$3-$4-$5.src.rpm">
          <filename>$3-$4-$5.noarch.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
</updates>
EOF
}

# yum_fixture DIR REVISION: revision 1 holds hello-1.0 and world-1.0 (requires hello);
# revision 2 adds hello-1.1 with erratum DRV-2024:0001.
yum_fixture() {
	dir=$1
	mkdir -p "$dir"
	# A package is built once: a rebuild would be a different file (build time).
	[ -f "$dir/hello-1.0-1.noarch.rpm" ] || rpm_build hello 1.0 1 "$dir" || return 1
	[ -f "$dir/world-1.0-1.noarch.rpm" ] || rpm_build world 1.0 1 "$dir" hello || return 1
	if [ "$2" -ge 2 ] && [ ! -f "$dir/hello-1.1-1.noarch.rpm" ]; then
		rpm_build hello 1.1 1 "$dir" || return 1
	fi
	createrepo_c --quiet --no-database --update "$dir" >/dev/null || return 1
	if [ "$2" -ge 2 ]; then
		updateinfo_write "$TAP_TMP/updateinfo.xml" DRV-2024:0001 hello 1.1 1
		modifyrepo_c --compress-type=xz --mdtype=updateinfo "$TAP_TMP/updateinfo.xml" \
			"$dir/repodata" >/dev/null || return 1
		cat >"$TAP_TMP/comps.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<comps><group><id>drover-tests</id><name>Drover tests</name>
<packagelist><packagereq type="default">hello</packagereq></packagelist></group></comps>
EOF
		modifyrepo_c --compress-type=bz2 --mdtype=group "$TAP_TMP/comps.xml" \
			"$dir/repodata" >/dev/null || return 1
	fi
}

# nginx_start ROOT: serve ROOT on a free loopback port; sets NGINX_URL. Another process
# may take the port between choosing and binding it, so the server is asked for a marker
# only this start wrote, and a taken port is tried again with another.
nginx_start() {
	root=$1
	conf=$TAP_TMP/nginx.conf
	marker=.nginx-$$-$(date +%s%N)
	mkdir -p "$TAP_TMP/nginx"
	echo "$marker" >"$root/$marker"
	for attempt in 1 2 3 4 5; do
		port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		cat >"$conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $TAP_TMP/nginx/nginx.pid;
error_log $TAP_TMP/nginx/error.log;
events { worker_connections 256; }
http {
	access_log $TAP_TMP/nginx/access.log;
	client_body_temp_path $TAP_TMP/nginx;
	proxy_temp_path $TAP_TMP/nginx;
	fastcgi_temp_path $TAP_TMP/nginx;
	uwsgi_temp_path $TAP_TMP/nginx;
	scgi_temp_path $TAP_TMP/nginx;
	server {
		listen 127.0.0.1:$port;
		root $root;
		location /status500/ { return 500; }
		location /slow/ { alias $root/; limit_rate 512k; }
	}
}
EOF
		nginx -c "$conf" -e "$TAP_TMP/nginx/error.log" >/dev/null 2>&1 &
		NGINX_PID=$!
		i=0
		while [ $i -lt 50 ]; do
			[ "$(curl -s "http://127.0.0.1:$port/$marker")" = "$marker" ] && break
			kill -0 "$NGINX_PID" 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		if [ "$(curl -s "http://127.0.0.1:$port/$marker")" = "$marker" ]; then
			NGINX_URL=http://127.0.0.1:$port
			return 0
		fi
		nginx_stop
	done
	return 1
}

nginx_stop() {
	[ -n "$NGINX_PID" ] || return 0
	kill "$NGINX_PID" 2>/dev/null
	wait "$NGINX_PID" 2>/dev/null
	NGINX_PID=
}

# dnf_root DIR URL: an isolated dnf configuration pointing at URL; prints the dnf options.
dnf_opts() {
	root=$1 url=$2
	mkdir -p "$root/repos" "$root/cache" "$root/root"
	cat >"$root/repos/drover.repo" <<EOF
[drover]
name=drover test
baseurl=$url
enabled=1
gpgcheck=0
metadata_expire=0
EOF
	echo "--installroot=$root/root --releasever=12 --setopt=reposdir=$root/repos" \
		"--setopt=cachedir=$root/cache --setopt=install_weak_deps=False" \
		"--setopt=tsflags=nodocs --disableplugin=* -y -q"
}

# deb_build NAME VERSION OUTDIR [DEPENDS]: an arch-all deb holding /usr/share/NAME/version.
deb_build() {
	name=$1 version=$2 out=$3 depends=${4:-}
	d=$TAP_TMP/debbuild/$name-$version
	rm -rf "$d"
	mkdir -p "$d/DEBIAN" "$d/usr/share/$name" "$out"
	echo "$version" >"$d/usr/share/$name/version"
	{
		echo "Package: $name"
		echo "Version: $version"
		echo "Architecture: all"
		echo "Maintainer: Drover Tests <tests@example.org>"
		[ -n "$depends" ] && echo "Depends: $depends"
		echo "Description: drover test package $name"
	} >"$d/DEBIAN/control"
	dpkg-deb --root-owner-group -Zxz --build "$d" "$out/${name}_${version}_all.deb" >/dev/null
}

# apt_fixture DIR REVISION [GPG-KEY-ID]: dists/bookworm/main/binary-amd64 with hello 1.0-1
# and world 1.0-1 (depends on hello); revision 2 adds hello 1.1-1. Signed InRelease and
# Release.gpg when a key is given (GNUPGHOME must hold it).
apt_fixture() {
	dir=$1 rev=$2 key=${3:-}
	pool=$dir/pool/main
	mkdir -p "$pool" "$dir/dists/bookworm/main/binary-amd64"
	[ -f "$pool/hello_1.0-1_all.deb" ] || deb_build hello 1.0-1 "$pool" || return 1
	[ -f "$pool/world_1.0-1_all.deb" ] || deb_build world 1.0-1 "$pool" hello || return 1
	if [ "$rev" -ge 2 ] && [ ! -f "$pool/hello_1.1-1_all.deb" ]; then
		deb_build hello 1.1-1 "$pool" || return 1
	fi
	(cd "$dir" && apt-ftparchive packages pool >dists/bookworm/main/binary-amd64/Packages) ||
		return 1
	rm -f "$dir/dists/bookworm/main/binary-amd64/Packages."*
	gzip -9k "$dir/dists/bookworm/main/binary-amd64/Packages"
	xz -k "$dir/dists/bookworm/main/binary-amd64/Packages"
	rm -f "$dir/dists/bookworm/Release" "$dir/dists/bookworm/InRelease" \
		"$dir/dists/bookworm/Release.gpg"
	apt-ftparchive -o APT::FTPArchive::Release::Codename=bookworm \
		-o APT::FTPArchive::Release::Suite=bookworm \
		-o APT::FTPArchive::Release::Architectures=amd64 \
		-o APT::FTPArchive::Release::Components=main \
		release "$dir/dists/bookworm" >"$TAP_TMP/Release" || return 1
	mv "$TAP_TMP/Release" "$dir/dists/bookworm/Release"
	if [ -n "$key" ]; then
		gpg --batch --quiet --yes --local-user "$key" --clearsign \
			-o "$dir/dists/bookworm/InRelease" "$dir/dists/bookworm/Release" || return 1
		gpg --batch --quiet --yes --local-user "$key" --armor --detach-sign \
			-o "$dir/dists/bookworm/Release.gpg" "$dir/dists/bookworm/Release" || return 1
	fi
}

# apt_opts DIR URL KEYFILE: an isolated apt and dpkg root using only URL; prints options.
apt_opts() {
	root=$1 url=$2 keyfile=$3
	mkdir -p "$root/etc/apt/sources.list.d" "$root/etc/apt/preferences.d" \
		"$root/var/lib/apt/lists/partial" "$root/var/cache/apt/archives/partial" \
		"$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/log"
	touch "$root/var/lib/dpkg/status"
	echo "deb [signed-by=$keyfile] $url bookworm main" >"$root/etc/apt/sources.list"
	echo "-o Dir=$root -o Dir::State::status=$root/var/lib/dpkg/status" \
		"-o Dir::Etc::SourceList=$root/etc/apt/sources.list" \
		"-o Dir::Etc::SourceParts=$root/etc/apt/sources.list.d" \
		"-o Dir::Etc::Parts=$root/etc/apt/apt.conf.d" \
		"-o Dir::Etc::PreferencesParts=$root/etc/apt/preferences.d" \
		"-o Dir::Log=$root/var/log -o APT::Architecture=amd64" \
		"-o APT::Architectures::=amd64 -o Debug::NoLocking=1" \
		"-o DPkg::Options::=--root=$root -o DPkg::Options::=--force-not-root" \
		"-o DPkg::Options::=--force-bad-path -o DPkg::Options::=--log=$root/var/log/dpkg.log" \
		"-o Dpkg::Use-Pty=0 -o APT::Sandbox::User=root -q -y"
}
