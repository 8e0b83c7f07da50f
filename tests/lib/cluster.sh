# cluster.sh - the package repository the cluster tests give their nodes. Source it.
#
#   cluster_debs_present DIR whether DIR has them all
#   cluster_firewalld_debs_present DIR  whether DIR has firewalld (cluster_firewalld.sh)
#   cluster_debs_fetch DIR   (tests/run-all's dependency step; the only step with network)
#                            Debian's containerd and runc, the base role's packages and
#                            firewalld, with whatever they need that this machine lacks,
#                            into DIR
#   cluster_repo_build DIR   DIR/debian: those .debs plus the stand-in Kubernetes packages
#                            (tests/lib/k8s-standin, built with dpkg-deb) as a flat apt
#                            repository (apt-ftparchive; trusted=yes, unsigned)
#   cluster_k3s_build DIR    DIR/k3s: the stand-in k3s "binary" and its sha256sum file
#   cluster_repo_serve DIR   nginx in the test nodes' hub namespace on 198.18.0.1:8080
#                            serving DIR; sets CLUSTER_REPO_URL, CLUSTER_NGINX_PID
#   cluster_repo_stop
#
# Stand-in packages (Kubernetes and the meshes are not packaged in Debian): kubeadm,
# kubelet (with kubelet.service), kubectl, istioctl, linkerd and drover-standin-common
# (standin.py, apiserver.py). They record every call in /var/log/drover-standin/calls.log
# on the node that ran them and keep the cluster's state in apiserver.py, which `kubeadm
# init` starts as a systemd unit on the first control plane (see standin.py).

CLUSTER_DEB_CACHE=${CLUSTER_DEB_CACHE:-/var/cache/drover-tests/debs}
CLUSTER_BASE_PACKAGES="conntrack socat ethtool iptables nftables"
CLUSTER_STANDIN_VERSION=1.30.2-1

cluster_debs_fetch() {
	d=$1
	mkdir -p "$d" || return 1
	# apt's _apt user must be able to write there
	chown _apt "$d" 2>/dev/null
	(cd "$d" && apt-get download -q containerd runc) || return 1
	apt-get install -q -y --download-only -o Dir::Cache::archives="$d/" \
		containerd runc $CLUSTER_BASE_PACKAGES >/dev/null || return 1
	apt-get install -q -y --no-install-recommends --download-only \
		-o Dir::Cache::archives="$d/" firewalld >/dev/null || return 1
	rm -rf "$d/partial" "$d/lock"
}

# cluster_firewalld_debs_present DIR: whether DIR has firewalld and its Python module.
cluster_firewalld_debs_present() {
	ls "$1"/firewalld_*.deb "$1"/python3-firewall_*.deb >/dev/null 2>&1
}

# cluster_debs_present DIR: whether DIR has a .deb of each package the test needs.
cluster_debs_present() {
	for p in containerd runc $CLUSTER_BASE_PACKAGES; do
		[ "$p" = iptables ] && continue # installed with Debian's base system
		ls "$1/${p}_"*.deb >/dev/null 2>&1 || return 1
	done
}

# cluster_standin_deb OUT NAME DEPENDS FILE:DEST...: build one stand-in package.
cluster_standin_deb() {
	out=$1 name=$2 deps=$3
	shift 3
	src=$top_srcdir/tests/lib/k8s-standin
	r=$(mktemp -d)
	mkdir -p "$r/DEBIAN"
	{
		echo "Package: $name"
		echo "Version: $CLUSTER_STANDIN_VERSION"
		echo "Architecture: all"
		echo "Maintainer: Drover tests <tests@drover.test>"
		[ -n "$deps" ] && echo "Depends: $deps"
		echo "Description: stand-in $name for Drover's cluster tests (not Kubernetes)"
		echo " Records its calls and answers like the real tool; see tests/lib/k8s-standin."
	} >"$r/DEBIAN/control"
	for f in "$@"; do
		mkdir -p "$r/$(dirname "${f#*:}")"
		install -m 0755 "$src/${f%%:*}" "$r/${f#*:}"
	done
	if [ "$name" = kubelet ]; then
		chmod 0644 "$r/lib/systemd/system/kubelet.service"
		printf '#!/bin/sh\nsystemctl daemon-reload >/dev/null 2>&1 || true\n' >"$r/DEBIAN/postinst"
		chmod 0755 "$r/DEBIAN/postinst"
	fi
	dpkg-deb --root-owner-group -Zgzip -b "$r" "$out/${name}_${CLUSTER_STANDIN_VERSION}_all.deb" \
		>/dev/null
	rc=$?
	rm -rf "$r"
	return $rc
}

cluster_repo_build() {
	repo=$1/debian
	mkdir -p "$repo" || return 1
	cp "$CLUSTER_DEB_CACHE"/*.deb "$repo/" || return 1
	c=drover-standin-common
	cluster_standin_deb "$repo" $c "python3, python3-yaml, openssl" \
		standin.py:usr/lib/drover-standin/standin.py \
		apiserver.py:usr/lib/drover-standin/apiserver.py || return 1
	cluster_standin_deb "$repo" kubeadm "$c, kubelet" kubeadm:usr/bin/kubeadm || return 1
	cluster_standin_deb "$repo" kubelet "$c" kubelet:usr/bin/kubelet \
		kubelet.service:lib/systemd/system/kubelet.service || return 1
	cluster_standin_deb "$repo" kubectl "$c" kubectl:usr/bin/kubectl || return 1
	cluster_standin_deb "$repo" istioctl "$c" istioctl:usr/bin/istioctl || return 1
	cluster_standin_deb "$repo" linkerd "$c" linkerd:usr/bin/linkerd || return 1
	(cd "$repo" && apt-ftparchive packages . >Packages && gzip -9k Packages &&
		apt-ftparchive release . >Release) || return 1
}

# cluster_k3s_build DIR: DIR/k3s, the stand-in k3s as one executable file (a Python zipapp
# of k3s.py, standin.py, apiserver.py and kubectl; k3s is one binary, not a package), and
# DIR/sha256sum-amd64.txt naming it, as k3s's releases publish them.
cluster_k3s_build() {
	out=$1
	src=$top_srcdir/tests/lib/k8s-standin
	z=$(mktemp -d)
	mkdir -p "$out" || return 1
	cp "$src/k3s.py" "$z/__main__.py" && cp "$src/standin.py" "$src/apiserver.py" "$z/" &&
		cp "$src/kubectl" "$z/kubectl.py" &&
		python3 -m zipapp "$z" -o "$out/k3s" -p /usr/bin/python3 && chmod 755 "$out/k3s" &&
		(cd "$out" && sha256sum k3s >sha256sum-amd64.txt)
	rc=$?
	rm -rf "$z"
	return $rc
}

cluster_repo_serve() {
	root=$1
	mkdir -p "$root/.nginx"
	cat >"$root/.nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $root/.nginx/nginx.pid;
error_log $root/.nginx/error.log;
events { worker_connections 256; }
http {
	access_log $root/.nginx/access.log;
	client_body_temp_path $root/.nginx;
	proxy_temp_path $root/.nginx;
	fastcgi_temp_path $root/.nginx;
	uwsgi_temp_path $root/.nginx;
	scgi_temp_path $root/.nginx;
	server { listen 198.18.0.1:8080; root $root; }
}
EOF
	nodes_exec nginx -c "$root/.nginx/nginx.conf" -e "$root/.nginx/error.log" >/dev/null 2>&1 &
	CLUSTER_NGINX_PID=$!
	CLUSTER_REPO_URL=http://198.18.0.1:8080/debian
	i=0
	while [ $i -lt 50 ]; do
		nodes_exec curl -sf "$CLUSTER_REPO_URL/Release" >/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	cat "$root/.nginx/error.log" >&2
	return 1
}

cluster_repo_stop() {
	[ -n "${CLUSTER_NGINX_PID:-}" ] || return 0
	kill "$CLUSTER_NGINX_PID" 2>/dev/null
	wait "$CLUSTER_NGINX_PID" 2>/dev/null
	CLUSTER_NGINX_PID=
}
