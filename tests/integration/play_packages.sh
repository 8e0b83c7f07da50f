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
playcmp_init
trap '[ -n "$HUB_NGINX" ] && kill "$HUB_NGINX" 2>/dev/null; gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null; nodes_down; rm -rf "$T"' EXIT

# nginx in the hub namespace, on the bridge address the nodes route to
www=$T/www
mkdir -p "$www" "$T/nginx"
export GNUPGHOME=$T/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
	--quick-gen-key 'Upstream <up@example.org>' ed25519 sign never 2>/dev/null
gpg --batch --quiet --armor --export up@example.org >"$T/up.asc"
fpr=$(gpg --batch --with-colons --fingerprint up@example.org | awk -F: '$1=="fpr"{print $10; exit}')
apt_fixture "$www/apt" 1 up@example.org || { echo "Bail out! apt fixture"; exit 1; }
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

PLAY_ARGS="-e repo_url=$repo_url -e key_file=$T/up.asc -e key_id=$fpr"
# The nodes see the machine's apt sources; they have no way out, so only ours stay.
for i in 1 2; do
	on "$i" 'rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*; mkdir -p /root/debs'
	# as on an rpm-based host
	on "$i" 'mkdir -p /etc/yum.repos.d'
done
for i in 1 2; do
	nodes_exec scp -q -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" \
		"$www/debs/solo_2.0_all.deb" root@"$(nodes_addr "$i")":/root/debs/
done

cat >"$T/apt_setup.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: the fixture's signing key in a keyring of its own
      apt_key:
        data: "{{ lookup('file', key_file) }}"
        keyring: /etc/apt/keyrings/drover-test.gpg
    - name: the fixture repository, signed-by that keyring
      apt_repository:
        repo: "deb [signed-by=/etc/apt/keyrings/drover-test.gpg] {{ repo_url }} bookworm main"
        filename: drover-test
P
drv "$T/apt_setup.yml" --check --diff
is "apt_key and apt_repository: check mode exit 0" "$rc" 0
like "--diff shows the new sources file" "$(cat "$T/play.out")" \
	'^\+deb \[signed-by=/etc/apt/keyrings/drover-test.gpg\] http://198.18.0.1:8089/apt bookworm main$'
ok "check mode wrote no sources file" on 1 '! test -e /etc/apt/sources.list.d/drover-test.list'
cycle "apt_key and apt_repository" "$T/apt_setup.yml"
is "the sources file" "$(on 1 cat /etc/apt/sources.list.d/drover-test.list)" \
	"deb [signed-by=/etc/apt/keyrings/drover-test.gpg] $repo_url bookworm main"
like "the keyring holds the key" "$(on 1 'GNUPGHOME=$(mktemp -d) gpg --show-keys --with-colons /etc/apt/keyrings/drover-test.gpg')" \
	"fpr:+$fpr:"
like "apt verified the signed repository and knows hello" "$(on 1 apt-cache policy hello)" \
	'Candidate: 1.0-1'

cat >"$T/apt_key_id.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: the same key by its long id is already there
      apt_key:
        id: "{{ key_id[-16:] }}"
        keyring: /etc/apt/keyrings/drover-test.gpg
P
drv "$T/apt_key_id.yml"
is "apt_key by id: present, ok" "$rc/$(recap changed)" 0/0
$have_ansible && ans "$T/apt_key_id.yml" && same "apt_key by id"

cat >"$T/apt_setup_bad.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: not a source line
      apt_repository:
        repo: "http://example.org/ bookworm main"
P
drv "$T/apt_setup_bad.yml"
like "apt_repository: a bad line is refused" "$(cat "$T/play.out")" \
	'Invalid repository string: http://example.org/ bookworm main'

cat >"$T/apt_update.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: update the cache
      apt:
        update_cache: true
P
drv "$T/apt_update.yml"
is "apt update_cache: exit 0" "$rc" 0
$have_ansible && ans "$T/apt_update.yml" && same "apt update_cache"

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
deb_build world 1.1-1 "$www/apt/pool/main" hello || { echo "Bail out! deb"; exit 1; }
apt_fixture "$www/apt" 2 up@example.org || { echo "Bail out! apt fixture 2"; exit 1; }
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
is "world was not named: still 1.0-1" "$(on 1 "dpkg-query -W -f='\${Version}' world")" 1.0-1

cat >"$T/apt_upgrade.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: everything upgradable is upgraded
      apt:
        upgrade: dist
P
cycle "apt upgrade=dist" "$T/apt_upgrade.yml"
is "world upgraded to 1.1-1" "$(on 1 "dpkg-query -W -f='\${Version}' world")" 1.1-1

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

cat >"$T/apt_glob.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: a version pattern
      apt: name=world=1.0* allow_downgrade=yes
P
drv "$T/apt_glob.yml"
is "apt name=world=1.0*: installed" "$rc/$(recap changed)" 0/1
is "the newest version the pattern matches" "$(on 1 "dpkg-query -W -f='\${Version}' world")" 1.0-1
drv "$T/apt_glob.yml"
is "apt name=world=1.0*: second run changed=0" "$(recap changed)" 0

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

# --- dnf and yum_repository: real dnf against the node's own root -----------------------
if command -v dnf >/dev/null 2>&1 && command -v rpmbuild >/dev/null 2>&1 &&
	command -v createrepo_c >/dev/null 2>&1; then
	yum_fixture "$www/yum" 1 || { echo "Bail out! yum fixture"; exit 1; }
	cat >"$T/yum_repo.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: the fixture rpm-md repository
      yum_repository:
        name: drover-test
        description: drover test packages
        baseurl: "{{ repo_url | replace('/apt', '/yum') }}"
        gpgcheck: false
        metadata_expire: "0"
P
	drv "$T/yum_repo.yml" --check --diff
	like "yum_repository: --diff shows the section" "$(cat "$T/play.out")" '^\+\[drover-test\]$'
	cycle "yum_repository" "$T/yum_repo.yml"
	is "the .repo file is ConfigParser's" "$(on 1 cat /etc/yum.repos.d/drover-test.repo)" \
		"[drover-test]
baseurl = http://198.18.0.1:8089/yum
gpgcheck = 0
metadata_expire = 0
name = drover test packages"

	# Debian's dnf cannot guess a release version and keeps no rpm keys: both are given.
	cat >"$T/dnf.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: hello from the fixture
      dnf:
        name: hello
        state: present
        releasever: "12"
        disable_gpg_check: true
    - name: world and hello, through yum
      yum:
        name: [world, hello]
        releasever: "12"
        disable_gpg_check: true
        use_backend: dnf # ansible cannot tell on a host whose pkg_mgr is apt
P
	cycle "dnf install" "$T/dnf.yml"
	is "rpm says both are installed on the node" \
		"$(on 1 rpm -q hello world)" "hello-1.0-1.noarch
world-1.0-1.noarch"
	ok "and the machine's rpm database knows nothing of them" sh -c '! rpm -q hello'

	yum_fixture "$www/yum" 2 || { echo "Bail out! yum fixture 2"; exit 1; }
	cat >"$T/dnf_latest.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: hello at its latest
      dnf:
        name: hello
        state: latest
        releasever: "12"
        disable_gpg_check: true
        update_cache: true
P
	cycle "dnf latest" "$T/dnf_latest.yml"
	is "hello 1.1 on the node" "$(on 1 cat /usr/share/hello/version)" 1.1-1

	cat >"$T/dnf_absent.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: world goes
      dnf: name=world state=absent releasever=12
P
	cycle "dnf absent" "$T/dnf_absent.yml"
	ok "world is gone" on 1 '! rpm -q world'

	cat >"$T/dnf_bad.yml" <<'P'
- hosts: nodes
  gather_facts: false
  tasks:
    - name: a package no repository has
      dnf: name=no-such-package-drover releasever=12 disable_gpg_check=true
P
	drv "$T/dnf_bad.yml"
	is "dnf: a missing package fails" "$rc" 2
	like "dnf: the failure names the package" "$(cat "$T/play.out")" \
		'"failures": \["No package no-such-package-drover available."\]'
	like "dnf: with ansible-core's message" "$(cat "$T/play.out")" \
		'"msg": "Failed to install some of the specified packages"'
	drv "$T/dnf_bad.yml" --check
	is "dnf: check mode fails on it too" "$rc" 2
else
	echo "# dnf, rpmbuild or createrepo_c missing: dnf not tested"
fi

done_testing
