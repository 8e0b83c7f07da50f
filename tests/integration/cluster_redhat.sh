#!/bin/bash
# cluster_redhat.sh - the RedHat branches of the cluster roles in check mode with `drover
# play --check --diff`, on a systemd test node that claims to be Rocky Linux 9 (its
# /etc/os-release, /etc/redhat-release, /etc/selinux/config; no /etc/debian_version), so
# the facts say os_family RedHat and pkg_mgr dnf. Its packages come from an rpm-md
# repository the test serves (empty noarch rpms under the RedHat names, built with
# rpmbuild), which the node's real dnf (Debian's) resolves with --assumeno. No RPM-based
# node can be built here: what runs is the task selection, the templates, the module
# arguments and dnf's resolution, never a real install, setenforce, chronyd, containerd.io.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/nodes.sh"
nodes_require_systemd nginx dnf rpm rpmbuild createrepo_c
. "$top_srcdir/tests/lib/repos.sh"
. "$top_srcdir/tests/lib/cluster.sh"

W=$TAP_TMP
# status LOG TASK: the status words (ok, changed, skipping, fatal) of TASK's host lines
status() {
	awk -v t="$2" 'index($0, "TASK [") == 1 { cur = (index($0, " : " t "]") > 0) ; next }
		cur && /^(ok|changed|skipping|fatal|failed):/ { sub(/:.*/, ""); print }' "$1" |
		sort -u | tr '\n' ' ' | sed 's/ $//'
}

ok "a systemd node up" nodes_up 1 || { echo "Bail out! nodes_up failed"; exit 1; }
trap 'cluster_repo_stop; nodes_down; [ -n "${CLUSTER_KEEP:-}" ] &&
	mkdir -p "$CLUSTER_KEEP" && cp "$W"/*.log "$CLUSTER_KEEP/"; rm -rf "$TAP_TMP"' EXIT

# The packages the RedHat branches name, as empty rpms in an rpm-md repository.
pkgs="conntrack-tools socat ethtool iptables-nft nftables chrony container-selinux
	containerd.io kubeadm kubelet kubectl python3-dnf-plugin-versionlock k3s-selinux"
built=0
for p in $pkgs; do rpm_build "$p" 1.0 1 "$W/www/el9" >/dev/null 2>&1 && built=$((built + 1)); done
is "the RedHat packages build as rpms" "$built" 13
ok "an rpm-md repository of them" createrepo_c --quiet "$W/www/el9"
ok "the stand-in k3s binary" cluster_k3s_build "$W/www/k3s"
mkdir -p "$W/www/debian" && : >"$W/www/debian/Release" # what cluster_repo_serve waits for
ok "nginx serves it in the test network" cluster_repo_serve "$W/www"
EL9=http://198.18.0.1:8080/el9

# node1 claims to be Rocky Linux 9.4; dnf reads the test repository (as a kickstart would
# have configured it: in check mode the roles write no .repo file). Debian's dnf keeps no
# rpm keys: gpgcheck is off in the node's dnf.conf.
ok "node1 claims to be Rocky Linux 9" nodes_ssh 1 "rm -f /etc/debian_version /usr/bin/apt-get /usr/bin/apt &&
	cat >/etc/os-release <<'EOF'
NAME=\"Rocky Linux\"
VERSION=\"9.4 (Blue Onyx)\"
ID=\"rocky\"
ID_LIKE=\"rhel centos fedora\"
VERSION_ID=\"9.4\"
PLATFORM_ID=\"platform:el9\"
PRETTY_NAME=\"Rocky Linux 9.4 (Blue Onyx)\"
EOF
	echo 'Rocky Linux release 9.4 (Blue Onyx)' >/etc/redhat-release &&
	mkdir -p /etc/selinux /etc/yum.repos.d /etc/dnf &&
	printf 'SELINUX=enforcing\nSELINUXTYPE=targeted\n' >/etc/selinux/config &&
	printf '[main]\ngpgcheck=0\nbest=True\n' >/etc/dnf/dnf.conf &&
	printf '[drover-el9]\nname=drover el9\nbaseurl=$EL9\ngpgcheck=0\nmetadata_expire=0\n' \
		>/etc/yum.repos.d/drover-el9.repo && rpm -qa | wc -l"
printf -- '- hosts: all\n  gather_facts: true\n  tasks:\n    - debug: msg="{{ ansible_os_family }} {{ ansible_distribution }} {{ ansible_distribution_major_version }} {{ ansible_pkg_mgr }}"\n' >"$W/facts.yml"
{
	echo "[kube_control_plane]"
	echo "node1 ansible_host=$(nodes_addr 1)"
	echo "[kube_worker]"
	sed -n '/^\[nodes:vars\]/,$p' "$NODES_INVENTORY" | sed 's/^\[nodes:vars\]/[all:vars]/'
	echo "ansible_ssh_known_hosts_file=$NODES_KNOWN_HOSTS"
} >"$W/inventory.ini"
play() { # play LOG ARGS...: drover play from the hub namespace
	log=$1
	shift
	nodes_exec "$top_builddir/drover" play -i "$W/inventory.ini" "$@" >"$log" 2>&1
}
play "$W/facts.log" "$W/facts.yml"
like "the facts say RedHat, Rocky 9, dnf" "$(cat "$W/facts.log")" '"RedHat Rocky 9 dnf"'

cat >"$W/vars.yml" <<EOF
mesh: none
base_firewall: nftables
base_ntp_servers: [198.18.0.1]
base_time_sync: always # the test node is a container (systemd-detect-virt): chrony anyway
base_yum_repositories:
  - {name: drover-k8s, baseurl: "$EL9", gpgcheck: false}
container_runtime_docker_repo_url: "$EL9"
container_runtime_docker_repo_gpgkey: "$EL9/gpg"
EOF
play "$W/check.log" -e @"$W/vars.yml" --check --diff "$top_srcdir/playbooks/cluster.yml"
rc=$?
is "drover play --check on Rocky: exit code 0" "$rc" 0
[ "$rc" = 0 ] || grep -B2 -A6 -E '^(fatal|failed)' "$W/check.log" | head -40 | sed 's/^/# /'
c=$(cat "$W/check.log")

# base
is "apt sources: not on RedHat" "$(status "$W/check.log" "Drover's apt sources")" skipping
is "Drover's dnf repositories" "$(status "$W/check.log" "Drover's dnf repositories")" changed
like "the .repo file it would write" "$c" '\+baseurl = http://198\.18\.0\.1:8080/el9'
is "base packages: apt skipped" "$(status "$W/check.log" "Base packages (apt)")" skipping
is "base packages: dnf would install" "$(status "$W/check.log" "Base packages (dnf)")" changed
is "SELinux permissive at boot" "$(status "$W/check.log" "SELinux mode at boot (/etc/selinux/config)")" changed
like "its diff" "$c" '\+SELINUX=permissive'
is "no container-selinux when permissive" "$(status "$W/check.log" "container-selinux (enforcing)")" skipping
is "SELinux now: a node without SELinux is left alone" "$(status "$W/check.log" "SELinux mode now")" ok
is "chrony would be installed" "$(status "$W/check.log" "chrony (dnf)")" changed
is "chrony.conf with the servers" "$(status "$W/check.log" "Time sync servers (chrony.conf)")" changed
like "its diff: the server" "$c" '\+server 198\.18\.0\.1 iburst'
is "timesyncd: not on RedHat" "$(status "$W/check.log" "Time sync servers")" skipping
is "chronyd is not started before it is installed" "$(status "$W/check.log" "Time sync running")" skipping
like "timesyncd's directory: not on RedHat" "$(status "$W/check.log" "Time sync directory")" skipping
is "nftables from dnf" "$(status "$W/check.log" "nftables (dnf)")" changed
like "the ruleset at boot: /etc/sysconfig/nftables.conf" \
	"$(grep -A3 'The ruleset loads the cluster ports at boot' "$W/check.log")" 'sysconfig/nftables\.conf'
# container_runtime
is "Docker's repository for containerd.io" "$(status "$W/check.log" "Docker's repository (containerd.io)")" changed
like "its .repo section" "$c" '\+\[docker-ce-stable\]'
is "containerd.io from dnf" "$(status "$W/check.log" "containerd and runc (dnf)")" changed
like "config.toml runs containerd.io's runc" "$c" 'BinaryName = "/usr/bin/runc"'
# kubernetes
is "kube packages from dnf" "$(status "$W/check.log" "Kubernetes packages (dnf)")" changed
is "no apt-mark hold on RedHat" "$(status "$W/check.log" "Kubernetes packages held at their version")" skipping
is "the versionlock plugin would be installed" "$(status "$W/check.log" "dnf's versionlock plugin")" changed
is "versionlock waits for its plugin" \
	"$(status "$W/check.log" "Kubernetes packages locked at their version (dnf versionlock)")" skipping
ok "check mode installed nothing" nodes_ssh 1 'test "$(rpm -qa | wc -l)" = 0 &&
	! test -e /etc/sysconfig/nftables.conf && ! test -e /etc/chrony.conf &&
	! test -e /etc/yum.repos.d/docker-ce-stable.repo && grep -q SELINUX=enforcing /etc/selinux/config'

play "$W/enforcing.log" -e @"$W/vars.yml" -e base_selinux=enforcing --check --diff \
	"$top_srcdir/playbooks/cluster.yml"
is "enforcing: exit code 0" "$?" 0
is "enforcing: container-selinux would be installed" \
	"$(status "$W/enforcing.log" "container-selinux (enforcing)")" changed
is "enforcing: /etc/selinux/config already says so" \
	"$(status "$W/enforcing.log" "SELinux mode at boot (/etc/selinux/config)")" ok

# k3s on Rocky with SELinux enforcing: k3s-selinux, no containerd.io (k3s runs its own).
play "$W/k3s.log" -e @"$W/vars.yml" -e kubernetes_kind=k3s -e base_selinux=enforcing \
	-e k3s_binary_url=http://198.18.0.1:8080/k3s/k3s \
	-e k3s_binary_checksum=sha256:http://198.18.0.1:8080/k3s/sha256sum-amd64.txt \
	--check --diff "$top_srcdir/playbooks/cluster.yml"
rc=$?
is "k3s on Rocky, check mode: exit code 0" "$rc" 0
[ "$rc" = 0 ] || grep -B2 -A6 -E '^(fatal|failed)' "$W/k3s.log" | head -30 | sed 's/^/# /'
is "k3s: k3s-selinux would be installed" \
	"$(status "$W/k3s.log" "k3s's SELinux policy (RedHat family, enforcing)")" changed
is "k3s: no containerd.io" "$(status "$W/k3s.log" "containerd and runc")" skipping
is "k3s: the binary would be downloaded" "$(status "$W/k3s.log" "k3s binary")" changed
like "k3s: config.yaml with selinux: true" "$(cat "$W/k3s.log")" '\+selinux: true'
is "k3s: no server started in check mode" \
	"$(status "$W/k3s.log" "First server running (restarted when its binary or configuration changed)")" skipping

# A package the repository lacks fails in check mode too (dnf really resolves).
play "$W/missing.log" -e @"$W/vars.yml" -e '{"base_packages": ["no-such-package-el9"]}' --check \
	"$top_srcdir/playbooks/cluster.yml"
is "a package dnf cannot find fails the check" "$?" 2
like "naming it" "$(cat "$W/missing.log")" 'no-such-package-el9'

done_testing
