#!/bin/sh
# jobs_patch_dnf.sh - the dnf path of patching, end to end: sshd test nodes made rpm hosts
# (in each node's own overlay: dpkg-query hidden, rpm's database at /var/lib/rpm, a yum
# .repo pointing at droverd's publication), hello 1.0-1 (built with rpmbuild) installed
# with dnf through a remote job, which collects the rpm profile; a sync brings hello 1.1-1
# with the updateinfo erratum DRV-2024:0001; applicability marks the nodes; a patch run in
# batches of one applies it with dnf; the profiles show 1.1-1 and nothing applies any more.
. "$top_srcdir/tests/lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
for c in sshd ssh ip unshare python3 curl nginx rpmbuild rpm dnf createrepo_c modifyrepo_c; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip_all "needs $c"
done
. "$top_srcdir/tests/lib/nodes.sh"
. "$top_srcdir/tests/lib/droverd.sh"
. "$top_srcdir/tests/lib/repos.sh"
T=$TAP_TMP
export DROVER_CONFIG=$T/cli.yml

nodes_up 2 || { echo "Bail out! nodes_up failed"; exit 1; }
trap 'nginx_stop; droverd_stop KILL; nodes_down; rm -rf "$T"' EXIT
for p in droverd drover; do
	printf '#!/bin/sh\nexec ip netns exec %s %s/%s "$@"\n' "$NODES_HUB" "$top_builddir" "$p" >"$T/$p"
	chmod +x "$T/$p"
done
DROVERD=$T/droverd
DROVER=$T/drover
nginx() { exec ip netns exec "$NODES_HUB" /usr/sbin/nginx "$@"; }
curl() { ip netns exec "$NODES_HUB" /usr/bin/curl "$@"; }
nssh() {
	i=$1
	shift
	nodes_exec ssh -q -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" \
		-o StrictHostKeyChecking=yes root@"$(nodes_addr "$i")" "$@"
}
items() {
	"$DROVER" --json job show "$1" | python3 -c 'import json,sys
for i in sorted(json.load(sys.stdin)["items"], key=lambda i: i["item"]):
    print(i["item"], i["state"])'
}
profile() { # profile HOST PYTHON-SUBSCRIPT
	curl -s -H "Authorization: Bearer $(sed -n 's/^token: "\(.*\)"/\1/p' "$DROVER_CONFIG")" \
		"$DROVERD_URL/api/v2/hosts/$1/package_profile" |
		python3 -c "import json,sys; print(json.load(sys.stdin)$2)"
}

www=$T/www
ok "fixture: hello-1.0 and world-1.0 (rpmbuild, createrepo_c)" yum_fixture "$www/el" 1
ok "nginx serves the upstream" nginx_start "$www"
ok "droverd starts" droverd_start "$T/state" --listen 198.18.0.1:0
ok "login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
"$DROVER" product create --name el >/dev/null
ok "yum repository" "$DROVER" repo create --product el --name el-base --type yum \
	--url "$NGINX_URL/el/"
ok "sync version 1" "$DROVER" repo sync el-base --wait
lib=$DROVERD_URL/content/Library/default/el-base

# The nodes become rpm hosts, in their own overlay only.
pub=$("$DROVER" settings ssh-key)
for i in 1 2; do
	echo "$pub" | nssh $i 'cat >>.ssh/authorized_keys'
	nssh $i "set -e
		rm -f /usr/bin/dpkg-query
		mkdir -p /etc/rpm /var/lib/rpm /etc/yum.repos.d
		echo '%_dbpath /var/lib/rpm' >/etc/rpm/macros.dbpath
		rpm --initdb
		printf '[drover]\nname=drover el-base\nbaseurl=$lib/\nenabled=1\ngpgcheck=0\nmetadata_expire=0\n' >/etc/yum.repos.d/drover.repo
		printf '[main]\ninstall_weak_deps=False\ntsflags=nodocs\n' >/etc/dnf/dnf.conf
		mkdir -p /etc/dnf/vars && echo 12 >/etc/dnf/vars/releasever"
	"$DROVER" host create --name node$i --ip "$(nodes_addr $i)" --mac "52:54:00:00:02:0$i" \
		-p content_view=default -p lifecycle_environment=Library >/dev/null
	"$DROVER" host update node$i --ssh-host-key \
		"$(cut -d' ' -f1,2 "$NODES_DIR/node$i/seed/etc/ssh/drover_host_ed25519_key.pub")" >/dev/null
done

"$DROVER" job run --command 'dnf -q -y install hello && cat /usr/share/hello/version' \
	--search 'name ~ node' --follow >"$T/install.out" 2>&1
is "a remote job installs hello with dnf from droverd's publication" "$?" 0
is "1.0-1 on both nodes" "$(grep -c ': 1.0-1$' "$T/install.out")" 2
is "the job collected node1's rpm profile" "$(profile node1 '["format"]')" yum
like "hello 1.0-1 is in it" "$(profile node1 '["packages"]')" "'name': 'hello', 'version': '1.0', 'arch': 'noarch', 'release': '1'"
is "nothing applies yet" "$(profile node1 '["applicable_count"]')" 0

ok "fixture: hello-1.1 with the updateinfo erratum DRV-2024:0001" yum_fixture "$www/el" 2
out=$("$DROVER" repo sync el-base --wait 2>&1)
like "the sync brings the erratum" "$out" '1 errat'
is "applicability marks node1" "$(profile node1 '["applicable_count"]')" 1
is "with the erratum" "$(profile node1 '["applicable"]["applicable"][0]')" DRV-2024:0001

"$DROVER" patch run --search 'name ~ node' --batch-size 1 --type security --reboot never \
	--follow >"$T/patch.out" 2>&1
is "the patch run succeeds" "$?" 0
like "it applies with dnf" "$(cat "$T/patch.out")" "node1: applying 1 errata: dnf -q -y upgrade 'hello'"
like "in batches of one" "$(cat "$T/patch.out")" "batch: hosts 2-2 of 2"
pid=$("$DROVER" --json job list --kind patch_run | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["id"])')
is "both nodes patched" "$(items "$pid")" "node1 success
node2 success"
like "job show gives the versions before and after" "$("$DROVER" job show "$pid")" "node2: hello 1.0-1 -> 1.1-1"
is "hello 1.1-1 is installed on node2" "$(nssh 2 cat /usr/share/hello/version)" 1.1-1
is "rpm says so" "$(nssh 2 rpm -q hello)" hello-1.1-1.noarch
is "the profile was updated" "$(profile node2 '["packages"]' | grep -o "'name': 'hello', 'version': '1.1'")" \
	"'name': 'hello', 'version': '1.1'"
is "the erratum no longer applies" "$(profile node2 '["applicable_count"]')" 0
done_testing
