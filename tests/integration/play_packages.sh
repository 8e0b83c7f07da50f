#!/bin/sh
# play_packages.sh - the package modules against real package managers on SSH test nodes
# (tests/lib/nodes.sh: each node's / is an overlay, so apt and dpkg change only the node):
# apt installs, upgrades and removes tiny debs from a fixture repository that nginx serves
# from the hub namespace; each playbook runs in check mode first (it must predict the real
# run and change nothing), then for real, then again (changed=0); ansible-playbook runs
# the same playbooks on another node and its task lines and recap must be ours.
. "$top_srcdir/tests/lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
for c in sshd ssh ip unshare nginx dpkg-deb apt-ftparchive apt-get; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip_all "needs $c"
done
. "$top_srcdir/tests/lib/repos.sh"
. "$top_srcdir/tests/lib/nodes.sh"
. "$top_srcdir/tests/lib/playcmp.sh"
DROVER=$top_builddir/drover
T=$TAP_TMP
HUB_NGINX=

nodes_up 2 || { echo "Bail out! nodes_up failed"; exit 1; }
trap '[ -n "$HUB_NGINX" ] && kill "$HUB_NGINX" 2>/dev/null; nodes_down; rm -rf "$T"' EXIT

# nginx in the hub namespace, on the bridge address the nodes route to
www=$T/www
mkdir -p "$www" "$T/nginx"
apt_fixture "$www/apt" 1 || { echo "Bail out! apt fixture"; exit 1; }
deb_build solo 2.0 "$www/debs" || { echo "Bail out! deb"; exit 1; }
cat >"$T/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 64; }
http {
	access_log $T/nginx/access.log;
	client_body_temp_path $T/nginx;
	proxy_temp_path $T/nginx;
	fastcgi_temp_path $T/nginx;
	uwsgi_temp_path $T/nginx;
	scgi_temp_path $T/nginx;
	server { listen 198.18.0.1:8089; root $www; }
}
EOF
nodes_exec nginx -c "$T/nginx.conf" -e "$T/nginx/error.log" >/dev/null 2>&1 &
HUB_NGINX=$!
repo_url=http://198.18.0.1:8089/apt

PLAY_ARGS="-e repo_url=$repo_url"
playcmp_init
# The nodes see the machine's apt sources; they have no way out, so only ours stay.
for i in 1 2; do
	on "$i" 'rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*; mkdir -p /root/debs'
done
for i in 1 2; do
	nodes_exec scp -q -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" \
		"$www/debs/solo_2.0_all.deb" root@"$(nodes_addr "$i")":/root/debs/
done

cat >"$T/apt_setup.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: the fixture repository
      copy:
        dest: /etc/apt/sources.list.d/drover-test.list
        content: "deb [trusted=yes] {{ repo_url }} bookworm main\n"
    - name: update the cache
      apt:
        update_cache: true
P
drv "$T/apt_setup.yml"
is "apt update_cache: exit 0" "$rc" 0
is "apt update_cache: the cache changed" "$(recap changed)" 2
like "hello is known to apt" "$(on 1 apt-cache policy hello)" 'Candidate: 1.0-1'
$have_ansible && ans "$T/apt_setup.yml" && same "apt update_cache"

cat >"$T/apt_cache.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: a fresh cache is left alone
      apt:
        update_cache: true
        cache_valid_time: 3600
P
drv "$T/apt_cache.yml"
is "apt cache_valid_time: a fresh cache is ok" "$(recap changed)/$(recap ok)" 0/1

cat >"$T/apt.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: hello pinned to a version
      apt: name=hello=1.0-1 state=present
    - name: world, a list without recommends
      apt:
        name: [world, hello]
        install_recommends: false
    - name: a .deb file on the host
      apt:
        deb: /root/debs/solo_2.0_all.deb
P
cycle "apt install" "$T/apt.yml"
is "hello and world installed on the node" \
	"$(on 1 "dpkg-query -W -f='\${Package} \${Version} \${db:Status-Status}\n' hello world solo")" \
	"hello 1.0-1 installed
solo 2.0 installed
world 1.0-1 installed"
ok "the machine itself has no hello" sh -c '! dpkg-query -W hello >/dev/null 2>&1'

# revision 2 of the repository: hello 1.1-1
apt_fixture "$www/apt" 2 || { echo "Bail out! apt fixture 2"; exit 1; }
cat >"$T/apt_latest.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: hello at its latest
      apt: name=hello state=latest
P
sleep 1.1
cat >"$T/apt_refresh.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: refresh when older than a second
      apt: update_cache=yes cache_valid_time=1
P
drv "$T/apt_refresh.yml"
is "apt cache_valid_time: a stale cache is refreshed" "$(recap changed)" 1
like "hello 1.1-1 is the candidate now" "$(on 1 apt-cache policy hello)" 'Candidate: 1.1-1'
$have_ansible && ans "$T/apt_refresh.yml"
drv "$T/apt_latest.yml" --check --diff
like "--diff of state=latest shows the upgrade" "$(cat "$T/play.out")" \
	'The following packages will be upgraded:'
like "--diff names the package" "$(cat "$T/play.out")" '^  hello$'
cycle "apt latest" "$T/apt_latest.yml"
is "hello upgraded to 1.1-1" "$(on 1 "dpkg-query -W -f='\${Version}' hello")" 1.1-1

cat >"$T/apt_absent.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: world goes, purged
      apt: name=world state=absent purge=true
    - name: solo goes, through package
      package:
        name: solo
        state: absent
P
cycle "apt absent" "$T/apt_absent.yml"
is "world purged and solo removed" \
	"$(on 1 'for p in world solo hello; do dpkg-query -W -f="\${db:Status-Status}\n" $p 2>/dev/null || echo gone; done')" \
	"gone
gone
installed"

cat >"$T/apt_bad.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: a package no repository has
      apt: name=no-such-package-drover
P
drv "$T/apt_bad.yml"
is "apt: a missing package fails the host" "$rc" 2
like "apt: the error names the package" "$(cat "$T/play.out")" \
	"No package matching 'no-such-package-drover' is available"
cat >"$T/apt_badarg.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: a bad state
      apt: name=hello state=sideways
P
drv "$T/apt_badarg.yml"
like "apt: a bad choice names the argument" "$(cat "$T/play.out")" \
	'value of state must be one of: .*got: sideways'
ok "apt: a bad choice fails" test "$rc" -ne 0

done_testing
