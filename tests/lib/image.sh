# image.sh - the Debian repository the image tests build their OS images from. Source it.
#
#   image_debs_fetch DIR     (tests/run-all's dependency step; the only step with network)
#                            every .deb a minbase bookworm image with IMAGE_PACKAGES needs,
#                            collected by one mmdebstrap run against the machine's mirror
#   image_debs_present DIR   whether DIR has them
#   image_repo_build DIR     DIR/debian: those .debs (and cloud-init's, when
#                            IMAGE_CLOUDINIT_CACHE has them) as a bookworm repository with
#                            dists/ (apt-ftparchive; unsigned, so images use it with --trusted)
#   image_repo_sign DIR KEY  signs it with KEY of $GNUPGHOME (images then use --gpg-key)
#   image_repo_serve DIR NS ADDR:PORT  nginx in namespace NS serving DIR at ADDR:PORT
#   image_cloudinit_debs_fetch DIR    cloud-init and the .debs it needs beyond those above
#                                     (tests/run-all's dependency step), for an image
#                                     with cloud-init (tests/integration/prov_image.sh)
#   image_cloudinit_debs_present DIR  whether DIR has them
#
# The packages are those droverd puts in every image (provisioner/image.c) plus none: the
# image tests build with no --packages.

IMAGE_DEB_CACHE=${IMAGE_DEB_CACHE:-/var/cache/drover-tests/image-debs}
IMAGE_CLOUDINIT_CACHE=${IMAGE_CLOUDINIT_CACHE:-/var/cache/drover-tests/image-debs-cloud-init}
IMAGE_PACKAGES="linux-image-amd64,initramfs-tools,systemd-sysv,udev,openssh-server,extlinux,grub-efi-amd64-bin,grub2-common,dosfstools,grub-efi-amd64-signed,shim-signed"

image_debs_fetch() {
	d=$1
	mkdir -p "$d" || return 1
	mmdebstrap --variant=minbase --include="$IMAGE_PACKAGES" --skip=essential/unlink \
		--setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
		--customize-hook="sync-out /var/cache/apt/archives $d" \
		bookworm /dev/null || return 1
	rm -rf "$d/partial" "$d/lock"
}

# image_debs_present DIR: whether DIR has a .deb of each package named above.
image_debs_present() {
	for p in $(echo "$IMAGE_PACKAGES" | tr ',' ' ') systemd openssh-client; do
		[ "$p" = linux-image-amd64 ] && p=linux-image-6
		ls "$1/${p}"*.deb >/dev/null 2>&1 || return 1
	done
}

image_repo_build() {
	r=$1/debian
	mkdir -p "$r/pool/main" "$r/dists/bookworm/main/binary-amd64" || return 1
	for f in "$IMAGE_DEB_CACHE"/*.deb "$IMAGE_CLOUDINIT_CACHE"/*.deb; do
		[ -e "$f" ] || continue
		ln "$f" "$r/pool/main/" 2>/dev/null || cp "$f" "$r/pool/main/" || return 1
	done
	(cd "$r" && apt-ftparchive packages pool >dists/bookworm/main/binary-amd64/Packages &&
		gzip -9k dists/bookworm/main/binary-amd64/Packages &&
		apt-ftparchive -o APT::FTPArchive::Release::Suite=bookworm \
			-o APT::FTPArchive::Release::Codename=bookworm \
			-o APT::FTPArchive::Release::Components=main \
			-o APT::FTPArchive::Release::Architectures=amd64 \
			release dists/bookworm >Release.tmp &&
		mv Release.tmp dists/bookworm/Release) 2>&1
}

# image_repo_serve DIR NS ADDR:PORT: nginx in network namespace NS serving DIR (which
# image_repo_build filled: the mirror is http://ADDR:PORT/debian), in the foreground as a
# child of the caller (its PID in IMAGE_NGINX_PID, for the caller to stop); returns once
# the repository's Release answers, 1 if it does not within 5 s.
image_repo_serve() {
	mkdir -p "$1/nginx" || return 1
	cat >"$1/nginx/nginx.conf" <<NGINX
daemon off;
master_process off;
worker_processes 1;
pid $1/nginx/nginx.pid;
error_log $1/nginx/error.log;
events { worker_connections 64; }
http {
	access_log $1/nginx/access.log;
	client_body_temp_path $1/nginx;
	proxy_temp_path $1/nginx;
	fastcgi_temp_path $1/nginx;
	uwsgi_temp_path $1/nginx;
	scgi_temp_path $1/nginx;
	server { listen $3; root $1; }
}
NGINX
	ip netns exec "$2" nginx -c "$1/nginx/nginx.conf" -e "$1/nginx/error.log" \
		>/dev/null 2>&1 &
	IMAGE_NGINX_PID=$!
	i=0
	until ip netns exec "$2" curl -sf -o /dev/null "http://$3/debian/dists/bookworm/Release"; do
		[ $i -ge 50 ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# image_repo_sign DIR KEY: sign DIR/debian's Release (InRelease and Release.gpg) with the
# key KEY of $GNUPGHOME, so images built from it need that key (--gpg-key), not --trusted.
image_repo_sign() {
	rel=$1/debian/dists/bookworm
	rm -f "$rel/InRelease" "$rel/Release.gpg"
	gpg --batch --quiet --yes --local-user "$2" --clearsign -o "$rel/InRelease" \
		"$rel/Release" &&
		gpg --batch --quiet --yes --local-user "$2" --armor --detach-sign \
			-o "$rel/Release.gpg" "$rel/Release"
}

image_cloudinit_debs_fetch() {
	d=$1
	t=$(mktemp -d) || return 1
	mmdebstrap --variant=minbase --include=cloud-init --skip=essential/unlink \
		--setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
		--customize-hook="sync-out /var/cache/apt/archives $t" \
		bookworm /dev/null || { rm -rf "$t"; return 1; }
	# Only what the image packages do not already hold; DIR appears whole or not at all.
	rm -rf "$d.part"
	mkdir -p "$d.part" || return 1
	for f in "$t"/*.deb; do
		[ -e "$IMAGE_DEB_CACHE/${f##*/}" ] || cp "$f" "$d.part/" || return 1
	done
	rm -rf "$t" "$d"
	mv "$d.part" "$d"
}

image_cloudinit_debs_present() {
	ls "$1"/cloud-init_*.deb >/dev/null 2>&1
}
