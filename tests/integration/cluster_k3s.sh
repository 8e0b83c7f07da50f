#!/bin/bash
# cluster_k3s.sh - a k3s cluster deployed by droverd (`drover cluster create --kind k3s`,
# `drover cluster deploy`, the engine of `drover play`) on systemd test nodes, then the same
# playbook through Debian's ansible-playbook: the k3s binary downloaded from where the test
# serves it (as Drover mirrors it) with its sha256 checked, `k3s server` on the first
# control plane with embedded etcd, its token read once and handed to the second server
# and the agents, k3s.service / k3s-agent.service really started by systemd, no
# distribution containerd (k3s runs its own), a second run with changed=0, check mode for a
# new worker, its real join. k3s is not packaged in Debian: the k3s binary is a stand-in
# (tests/lib/k8s-standin/k3s.py, built into one executable by cluster_k3s_build) that
# records its calls and answers like k3s (see the README's cluster section).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/nodes.sh"
nodes_require_systemd nginx dpkg-deb apt-ftparchive ansible-playbook python3 openssl
. "$top_srcdir/tests/lib/cluster.sh"
cluster_debs_present "$CLUSTER_DEB_CACHE" ||
	skip_all "the .debs of $CLUSTER_BASE_PACKAGES are not all in $CLUSTER_DEB_CACHE (tests/run-all's dependency step downloads them)"
python3 -c 'import yaml' 2>/dev/null || skip_all "needs python3-yaml"
. "$top_srcdir/tests/lib/droverd.sh"

W=$TAP_TMP

calls() { for i in 1 2 3 4 5; do nodes_ssh "$i" cat /var/log/drover-standin/calls.log 2>/dev/null; done; }
# recap LOG: "ok changed unreachable failed" summed over every host of an ansible recap
recap() {
	sed -n 's/.* : ok=\([0-9]*\) *changed=\([0-9]*\) *unreachable=\([0-9]*\) *failed=\([0-9]*\).*/\1 \2 \3 \4/p' "$1" |
		awk '{o+=$1; c+=$2; u+=$3; f+=$4} END {print o, c, u, f}'
}
# jrecap LOG: "changed failed+unreachable" summed over the recap events of a job's log
jrecap() {
	grep -a '"event":"recap"' "$1" | python3 -c 'import json,sys
c = f = 0
for line in sys.stdin:
    for h in json.loads(line).get("hosts", {}).values():
        c += h.get("changed", 0); f += h.get("failed", 0) + h.get("unreachable", 0)
print(c, f)'
}

ok "five systemd nodes up" nodes_up 5 || { echo "Bail out! nodes_up failed"; exit 1; }
trap 'cluster_repo_stop; droverd_stop; nodes_down; [ -n "${CLUSTER_KEEP:-}" ] &&
	mkdir -p "$CLUSTER_KEEP" && cp "$W"/*.log "$CLUSTER_KEEP/"; rm -rf "$TAP_TMP"' EXIT
ok "the package repository builds" cluster_repo_build "$W/www"
ok "the stand-in k3s binary and its sha256sum file" cluster_k3s_build "$W/www/k3s"
ok "nginx serves them in the test network" cluster_repo_serve "$W/www"
K3S_URL_BASE=http://198.18.0.1:8080/k3s

# As cluster.sh: a stand-in modprobe (the test kernel has no loadable modules), and the
# machine's own kubectl removed inside the nodes' overlays; the nodes' apt sources point
# at the test repository (base_apt_sources below does it too; node5 is checked before).
for i in 1 2 3 4 5; do
	nodes_standin_modprobe "$i"
	nodes_purge "$i" kubeadm kubelet kubectl k3s crictl ctr containerd
done

nodes_hub_drover "$W"
printf 'playbooks:\n  dir: %s\n' "$(cd "$top_srcdir/playbooks" && pwd)" >"$W/droverd.yml"
ok "droverd starts" droverd_start "$W/state" --config "$W/droverd.yml"
ok "drover login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
"$DROVER" hostgroup create --name k3s-servers >/dev/null
"$DROVER" hostgroup create --name k3s-agents >/dev/null
# node1-3: servers (embedded etcd: HA), node4: an agent; node5 joins later.
for i in 1 2 3 4; do
	hg=k3s-agents
	[ "$i" -le 3 ] && hg=k3s-servers
	ok "host node$i in $hg" "$DROVER" host create --name "node$i" --hostgroup "$hg" \
		--mac "52:54:00:00:03:0$i" --ip "$(nodes_addr "$i")" -p ansible_user=root \
		-p "ansible_ssh_private_key_file=$NODES_KEY" -p "ansible_ssh_known_hosts_file=$NODES_KNOWN_HOSTS"
done
# (`cluster update --var` replaces the variables: the update below passes them all again)
vars=(--var "base_apt_sources=[\"deb [trusted=yes] $CLUSTER_REPO_URL ./\"]"
	--var base_apt_sources_exclusive=true
	--var "k3s_binary_url=$K3S_URL_BASE/k3s"
	--var "k3s_binary_checksum=sha256:$K3S_URL_BASE/sha256sum-amd64.txt"
	--var 'container_runtime_registry_mirrors={"docker.io": ["http://198.18.0.1:5000"]}')
ok "drover cluster create --kind k3s" "$DROVER" cluster create k1 --kind k3s \
	--control-plane k3s-servers --workers k3s-agents --mesh none --version kubernetes=1.30.2 \
	"${vars[@]}"
like "its kind is k3s" "$("$DROVER" cluster show k1)" 'KIND +k3s'

"$DROVER" cluster deploy k1 --follow >"$W/deploy.log" 2>&1
rc=$?
is "drover cluster deploy k1: the job succeeds" "$rc" 0
[ "$rc" = 0 ] || grep -a '"failed":true' "$W/deploy.log" | head -5 | cut -c1-600 | sed 's/^/# /'
like "members deployed" "$("$DROVER" cluster show k1 | tr -s ' ' | tr '\n' '|')" \
	'node1 control-plane deployed.*node2 control-plane deployed.*node3 control-plane deployed.*node4 worker deployed'

is "k3s.service active on the servers" \
	"$(for i in 1 2 3; do nodes_ssh $i systemctl is-active k3s; done | tr '\n' ' ')" "active active active "
is "k3s-agent.service active on the agent" "$(nodes_ssh 4 systemctl is-active k3s-agent)" active
is "and enabled (started at boot)" "$(nodes_ssh 4 systemctl is-enabled k3s-agent)" enabled
like "the binary is the one served, checked against its sha256" \
	"$(nodes_ssh 3 sha256sum /usr/local/bin/k3s)" "^$(cut -d' ' -f1 "$W/www/k3s/sha256sum-amd64.txt") "
like "k3s --version" "$(nodes_ssh 2 k3s --version)" '^k3s version v1\.30\.2\+k3s1'
is "kubectl is k3s (a link, k3s is multi-call)" "$(nodes_ssh 1 readlink /usr/local/bin/kubectl)" /usr/local/bin/k3s
ok "no distribution containerd on any node (k3s runs its own)" sh -c \
	"! { $(for i in 1 2 3 4; do printf '%s; ' "on $i dpkg-query -W containerd 2>/dev/null"; done) } | grep -q ."
cfg1=$(nodes_ssh 1 cat /etc/rancher/k3s/config.yaml)
like "node1's config.yaml: cluster-init" "$cfg1" 'cluster-init: true'
ok "node1's config.yaml: no server, no token" sh -c "! echo '$cfg1' | grep -qE '^(server|token):'"
tok=$(nodes_ssh 1 cat /var/lib/rancher/k3s/server/node-token)
like "node1 wrote its token" "$tok" '^K10[0-9a-f]{64}::server:[0-9a-f]{32}$'
cfg2=$(nodes_ssh 2 cat /etc/rancher/k3s/config.yaml)
like "node2 joins node1's API" "$cfg2" "server: https://$(nodes_addr 1):6443"
like "with node1's token" "$cfg2" "token: $tok"
is "config.yaml is root's only" "$(nodes_ssh 2 stat -c %a /etc/rancher/k3s/config.yaml)" 600
env3=$(nodes_ssh 4 cat /etc/systemd/system/k3s-agent.service.env)
like "the agent: K3S_URL" "$env3" "K3S_URL=https://$(nodes_addr 1):6443"
like "the agent: K3S_TOKEN, node1's" "$env3" "K3S_TOKEN=$tok"
is "the agent's env file is root's only" "$(nodes_ssh 4 stat -c %a /etc/systemd/system/k3s-agent.service.env)" 600
like "registry mirrors for k3s's containerd" "$(nodes_ssh 4 cat /etc/rancher/k3s/registries.yaml | tr '\n' ' ')" \
	'docker.io.*endpoint:.*http://198.18.0.1:5000'
is "the kubeconfig k3s wrote, root's only" "$(nodes_ssh 1 stat -c %a /etc/rancher/k3s/k3s.yaml)" 600
ok "root's kubeconfig is k3s's" nodes_ssh 1 cmp /root/.kube/config /etc/rancher/k3s/k3s.yaml

nodes_out=$(nodes_ssh 1 kubectl get nodes)
echo "$nodes_out" | sed 's/^/# /'
is "four nodes Ready" "$(echo "$nodes_out" | grep -c ' Ready ')" 4
like "node2 and node3 are control planes" "$(echo "$nodes_out" | grep -E 'node[23]' | tr '\n' ' ')" \
	'node2 .*control-plane.*node3 .*control-plane'
like "node4 a worker" "$(echo "$nodes_out" | grep node4)" '<none>'
like "k3s kubectl answers too" "$(nodes_ssh 2 k3s kubectl get nodes -o name | tr '\n' ' ')" \
	'node/node1 node/node2 node/node3 node/node4'
c=$(calls)
servers() { nodes_ssh "$1" "grep -c 'k3s server' /var/log/drover-standin/calls.log"; }
is "k3s server started once on each server" "$(servers 1) $(servers 2) $(servers 3)" "1 1 1"
is "k3s agent started once, on node4" "$(echo "$c" | grep -c 'k3s agent')" 1
# etcd takes one learner at a time (the stand-in refuses a second, as etcd does): both
# joined, so the servers joined one at a time (throttle: 1 with Type=notify units)
is "no server was refused as a second etcd learner" \
	"$(for i in 2 3; do nodes_ssh $i journalctl -u k3s --no-pager 2>/dev/null; done | grep -c 'too many learner')" 0
is "the roles ran modprobe nowhere (base found the modules built in)" \
	"$(for i in 1 2 3 4; do nodes_ssh "$i" cat /var/log/drover-modprobe.log 2>/dev/null; done)" ""

"$DROVER" cluster deploy k1 --follow >"$W/second.log" 2>&1
is "second deploy: the job succeeds" "$?" 0
is "second deploy: changed=0, nothing failed" "$(jrecap "$W/second.log")" "0 0" ||
	grep -a '"changed":true' "$W/second.log" | cut -c1-300 | head -10 | sed 's/^/# /'
is "no service restarted" "$(calls | grep -c 'k3s \(server\|agent\)')" 4

# The same playbook through Debian's ansible-playbook, on what droverd deployed.
{
	echo "[kube_control_plane]"
	echo "node1 ansible_host=$(nodes_addr 1)"
	echo "node2 ansible_host=$(nodes_addr 2)"
	echo "node3 ansible_host=$(nodes_addr 3)"
	echo "[kube_worker]"
	echo "node4 ansible_host=$(nodes_addr 4)"
	sed -n '/^\[nodes:vars\]/,$p' "$NODES_INVENTORY" | sed 's/^\[nodes:vars\]/[all:vars]/'
} >"$W/inventory.ini"
cat >"$W/vars.yml" <<EOF
kubernetes_kind: k3s
mesh: none
base_apt_sources: ["deb [trusted=yes] $CLUSTER_REPO_URL ./"]
base_apt_sources_exclusive: true
k3s_binary_url: $K3S_URL_BASE/k3s
k3s_binary_checksum: sha256:$K3S_URL_BASE/sha256sum-amd64.txt
container_runtime_registry_mirrors:
  docker.io: ["http://198.18.0.1:5000"]
EOF
ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_PIPELINING=True \
	nodes_exec ansible-playbook -i "$W/inventory.ini" -e @"$W/vars.yml" \
	"$top_srcdir/playbooks/cluster.yml" >"$W/ansible.log" 2>&1
rc=$?
is "ansible-playbook on the same cluster: exit code 0" "$rc" 0
[ "$rc" = 0 ] || grep -B2 -A8 -E '^(fatal|failed):' "$W/ansible.log" | head -40 | sed 's/^/# /'
is "ansible-playbook: changed=0 (the roles agree with droverd's run)" \
	"$(recap "$W/ansible.log" | cut -d' ' -f2)" 0 ||
	grep -B3 '^changed:' "$W/ansible.log" | sed 's/^/# /' | head -30

# Check mode with a new agent: it would change things, and changes nothing.
ok "host node5 in k3s-agents" "$DROVER" host create --name node5 --hostgroup k3s-agents \
	--mac 52:54:00:00:03:05 --ip "$(nodes_addr 5)" -p ansible_user=root \
	-p "ansible_ssh_private_key_file=$NODES_KEY" -p "ansible_ssh_known_hosts_file=$NODES_KNOWN_HOSTS"
ok "node5's apt sources point at the repository" nodes_ssh 5 "rm -f /etc/apt/sources.list.d/* &&
	echo 'deb [trusted=yes] $CLUSTER_REPO_URL ./' >/etc/apt/sources.list.d/drover.list &&
	: >/etc/apt/sources.list && apt-get -qq update"
"$DROVER" cluster deploy k1 --check -l node5 --follow >"$W/check.log" 2>&1
rc=$?
is "check mode: the job succeeds" "$rc" 0
[ "$rc" = 0 ] || grep -a '"failed":true' "$W/check.log" | head -5 | cut -c1-600 | sed 's/^/# /'
like "check mode: node5 would change" "$(jrecap "$W/check.log")" '^[1-9][0-9]* 0$'
ok "check mode wrote nothing on node5" nodes_ssh 5 '! test -e /usr/local/bin/k3s && ! test -e /etc/rancher/k3s/config.yaml && ! test -e /etc/systemd/system/k3s-agent.service'
is "check mode started no agent" "$(calls | grep -c 'k3s agent')" 1

"$DROVER" cluster deploy k1 -l node5 --follow >"$W/grow.log" 2>&1
rc=$?
is "node5 joins: the job succeeds" "$rc" 0
[ "$rc" = 0 ] || grep -a '"failed":true' "$W/grow.log" | head -5 | cut -c1-600 | sed 's/^/# /'
is "five nodes Ready" "$(nodes_ssh 1 kubectl get nodes | grep -c ' Ready ')" 5
like "node5 joined with node1's token" "$(nodes_ssh 5 cat /etc/systemd/system/k3s-agent.service.env)" "K3S_TOKEN=$tok"
like "the member is deployed" "$("$DROVER" cluster show k1 | tr -s ' ')" 'node5 worker deployed'

# A configuration change restarts the servers (one at a time for the joining ones).
ok "cluster update: a k3s server setting" "$DROVER" cluster update k1 \
	"${vars[@]}" --var 'k3s_server_config={"disable": ["traefik"]}'
"$DROVER" cluster deploy k1 --follow >"$W/change.log" 2>&1
is "deploy with the change: the job succeeds" "$?" 0
like "node2's config.yaml has it" "$(nodes_ssh 2 cat /etc/rancher/k3s/config.yaml)" 'disable: \["traefik"\]'
is "the servers restarted, no agent" "$(servers 1) $(servers 2) $(servers 3) $(calls | grep -c 'k3s agent')" "2 2 2 2"
is "five nodes Ready after the restarts" "$(nodes_ssh 1 kubectl get nodes | grep -c ' Ready ')" 5

droverd_stop
is "droverd stopped cleanly: no sanitizer reports in its log" \
	"$(grep -c 'Sanitizer\|runtime error' "$TAP_TMP/droverd.log")" 0

done_testing
