#!/bin/bash
# cluster.sh - the cluster roles (playbooks/cluster.yml, playbooks/maintenance.yml) on
# systemd test nodes, run by Debian's ansible-playbook (and by `drover play` with
# CLUSTER_PLAY='drover play', as cluster_drover.sh does): Debian's containerd and runc
# really installed from a repository served in the test network and really running;
# kubeadm, kubelet, kubectl, istioctl and linkerd are stand-ins (tests/lib/k8s-standin) that record their calls and keep the
# cluster's state in a small API on the first control plane. Full deploy with Istio and
# Drover's CA, a second run with changed=0, check mode adding a node, a rolling
# maintenance stopped by a PodDisruptionBudget, reboot-if-required (the nodes really
# reboot: tests/lib/nodes.sh).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/nodes.sh"
nodes_require_systemd nginx dpkg-deb apt-ftparchive ansible-playbook python3 openssl
. "$top_srcdir/tests/lib/cluster.sh"
cluster_debs_present "$CLUSTER_DEB_CACHE" ||
	skip_all "the .debs of containerd, runc and $CLUSTER_BASE_PACKAGES are not all in $CLUSTER_DEB_CACHE (tests/run-all's dependency step downloads them)"
python3 -c 'import yaml' 2>/dev/null || skip_all "needs python3-yaml"
. "$top_srcdir/tests/lib/droverd.sh"

W=$TAP_TMP

# recap LOG: "ok changed unreachable failed" summed over every host of an ansible recap
recap() {
	sed -n 's/.* : ok=\([0-9]*\) *changed=\([0-9]*\) *unreachable=\([0-9]*\) *failed=\([0-9]*\).*/\1 \2 \3 \4/p' "$1" |
		awk '{o+=$1; c+=$2; u+=$3; f+=$4} END {print o, c, u, f}'
}
pkgver() { nodes_ssh "$1" "dpkg-query -W -f='\${Version}\n' $2"; }
changed_of() { recap "$1" | cut -d' ' -f2; }
failed_of() { recap "$1" | awk '{print $3 + $4}'; }

machine_ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)
machine_swaps=$(wc -l </proc/swaps)

ok "four systemd nodes up" nodes_up 4 || { echo "Bail out! nodes_up failed"; exit 1; }
# (after nodes_up, which sets its own trap) CLUSTER_KEEP=DIR keeps the playbook logs
trap 'cluster_repo_stop; droverd_stop; nodes_down; [ -n "${CLUSTER_KEEP:-}" ] &&
	mkdir -p "$CLUSTER_KEEP" && cp "$W"/*.log "$CLUSTER_KEEP/"; rm -rf "$TAP_TMP"' EXIT
echo "# nodes up in ${NODES_START_MS} ms"
ok "the package repository builds (Debian's containerd/runc + stand-ins)" cluster_repo_build "$W/www"
ok "nginx serves it in the test network" cluster_repo_serve "$W/www"

# The test kernel has no loadable modules; a stand-in modprobe on every node records any
# call with its caller (and fails as modprobe does here), so nothing can reach the
# machine's kernel. Kubernetes tools this machine may have (a google-cloud-sdk kubectl
# package, binaries in /usr/local/bin) are removed inside the nodes' overlays, so the
# stand-ins the roles install are what runs.
for i in 1 2 3 4; do
	nodes_standin_modprobe "$i"
	nodes_purge "$i" kubeadm kubelet kubectl istioctl linkerd
done

# droverd (and its CLI) run in the hub namespace, where the nodes are reachable: the
# cluster_deploy job below connects to them. Drover's CA gives the mesh its intermediate.
nodes_hub_drover "$W"
printf 'playbooks:\n  dir: %s\n' "$(cd "$top_srcdir/playbooks" && pwd)" >"$W/droverd.yml"
ok "droverd starts" droverd_start "$W/state" --config "$W/droverd.yml"
ok "drover login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
ok "drover ca intermediate for Istio" "$DROVER" ca intermediate --cluster c1 --mesh istio --out "$W/istio"

# node1, node2: control planes; node3: a worker; node4 joins later.
inv() {
	{
		echo "[kube_control_plane]"
		echo "node1 ansible_host=$(nodes_addr 1)"
		echo "node2 ansible_host=$(nodes_addr 2)"
		echo "[kube_worker]"
		for i in "$@"; do echo "node$i ansible_host=$(nodes_addr "$i")"; done
		sed -n '/^\[nodes:vars\]/,$p' "$NODES_INVENTORY" | sed 's/^\[nodes:vars\]/[all:vars]/'
		echo "ansible_ssh_known_hosts_file=$NODES_KNOWN_HOSTS" # drover play's name for it
	} >"$W/inventory.ini"
}
inv 3
cat >"$W/vars.yml" <<EOF
base_apt_sources: ["deb [trusted=yes] $CLUSTER_REPO_URL ./"]
base_apt_sources_exclusive: true
base_firewall: nftables
container_runtime_registry_mirrors:
  docker.io: ["http://198.18.0.1:5000"]
mesh: istio
drover_cluster: c1
mesh_ca_dir: $W/istio
node_maintenance_ready_delay: 1
node_maintenance_ready_retries: 20
node_maintenance_drain_timeout: 5s
EOF

PLAY=${CLUSTER_PLAY:-ansible-playbook}
play() { # play LOG PLAYBOOK ARGS...: run the playbook from the hub namespace
	log=$1 pb=$2
	shift 2
	case $pb in /*) ;; *) pb=$top_srcdir/playbooks/$pb ;; esac
	ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 ANSIBLE_HOST_KEY_CHECKING=True \
		ANSIBLE_PIPELINING=True nodes_exec $PLAY -i "$W/inventory.ini" -e @"$W/vars.yml" "$@" \
		"$pb" >"$log" 2>&1
}

play "$W/deploy.log" cluster.yml
rc=$?
is "deploy: exit code 0" "$rc" 0
[ "$rc" = 0 ] || grep -B2 -A8 -E '^(fatal|failed):' "$W/deploy.log" | head -60 | sed 's/^/# /'
is "deploy: no host failed" "$(failed_of "$W/deploy.log")" 0

for i in 1 2 3; do
	is "node$i: containerd active" "$(nodes_ssh "$i" systemctl is-active containerd)" active
done
like "containerd is Debian's, installed by apt" "$(nodes_ssh 3 "dpkg-query -W -f='\${Version} \${Status} ' containerd runc")" \
	'~ds1.*install ok installed.*install ok installed'
ok "containerd answers on its socket" nodes_ssh 3 ctr --address /run/containerd/containerd.sock version
ok "runc runs" nodes_ssh 3 runc --version
like "config.toml: SystemdCgroup" "$(nodes_ssh 1 cat /etc/containerd/config.toml)" 'SystemdCgroup = true'
like "containerd loaded its CRI plugin" \
	"$(nodes_ssh 1 ctr --address /run/containerd/containerd.sock plugins ls 2>&1 | grep 'grpc.v1 *cri')" ' ok *$'
like "registry mirror" "$(nodes_ssh 2 cat /etc/containerd/certs.d/docker.io/hosts.toml)" 'host."http://198.18.0.1:5000"'
is "ip_forward in the nodes" "$(nodes_ssh 3 cat /proc/sys/net/ipv4/ip_forward)" 1
is "the machine's ip_forward is unchanged" "$(cat /proc/sys/net/ipv4/ip_forward)" "$machine_ip_forward"
is "the machine's swaps are unchanged" "$(wc -l </proc/swaps)" "$machine_swaps"
is "the roles never ran modprobe (the kernel has every module built in)" \
	"$(for i in 1 2 3; do nodes_ssh "$i" cat /var/log/drover-modprobe.log 2>/dev/null; done |
		grep -v '(by containerd)$')" ""
like "nftables accepts the cluster's ports (in the node's network namespace)" \
	"$(nodes_ssh 2 nft list table inet drover_cluster)" 'tcp dport \{ 22, .*6443, 10250, 10257, 10259, 30000-32767 \} accept'
like "modules-load.d lists the modules" "$(nodes_ssh 1 cat /etc/modules-load.d/drover-cluster.conf)" br_netfilter

nodes_out=$(nodes_ssh 1 kubectl get nodes)
echo "$nodes_out" | sed 's/^/# /'
is "three nodes Ready" "$(echo "$nodes_out" | grep -c ' Ready ')" 3
like "node2 joined as a control plane" "$(echo "$nodes_out" | grep node2)" control-plane
calls() { for i in 1 2 3 4; do nodes_ssh "$i" cat /var/log/drover-standin/calls.log 2>/dev/null; done; }
c=$(calls)
is "kubeadm init ran once" "$(echo "$c" | grep -c 'kubeadm init --config')" 1
is "join tokens made twice: once for the control planes, once for the workers" \
	"$(echo "$c" | grep -c 'kubeadm token create --print-join-command')" 2
is "two joins" "$(echo "$c" | grep -c 'kubeadm join')" 2
is "one control-plane join, with the certificate key" \
	"$(echo "$c" | grep 'kubeadm join' | grep -c -- '--control-plane --certificate-key [0-9a-f]\{64\}')" 1
tok_cp=$(nodes_ssh 2 cat /var/log/drover-standin/calls.log | grep 'kubeadm join' | sed 's/.*--token \([^ ]*\).*/\1/')
like "the control plane joined with a token made by kubeadm on node1" \
	"$(nodes_ssh 1 cat /var/log/drover-standin/calls.log | grep -c 'kubeadm token create') $tok_cp" '^2 [0-9a-f]{6}\.[0-9a-f]{16}$'
is "istioctl install ran once, on the first control plane" \
	"$(calls | grep -c 'istioctl install') $(nodes_ssh 1 cat /var/log/drover-standin/calls.log | grep -c 'istioctl install')" "1 1"
nodes_ssh 1 kubectl -n istio-system get secret cacerts -o json >"$W/cacerts.json"
python3 -c 'import json,base64,sys; d=json.load(open(sys.argv[1]))["data"]; open(sys.argv[2],"wb").write(base64.b64decode(d["ca-cert.pem"]))' \
	"$W/cacerts.json" "$W/cacerts-ca-cert.pem"
ok "the cacerts secret holds Drover's intermediate" cmp "$W/cacerts-ca-cert.pem" "$W/istio/ca-cert.pem"
ok "which chains to Drover's root (openssl verify)" \
	openssl verify -CAfile "$W/istio/root-cert.pem" "$W/cacerts-ca-cert.pem"
like "istiod uses the plugged-in CA" "$(nodes_ssh 1 kubectl -n istio-system get deployment istiod -o json)" 'plugged-in'

play "$W/second.log" cluster.yml
is "second run: exit code 0" "$?" 0 ||
	grep -E -A3 '^(fatal|failed|FAILED|ERROR)|UNREACHABLE' "$W/second.log" | sed 's/^/# /' | head -40
is "second run: changed=0" "$(changed_of "$W/second.log")" 0 ||
	grep -B3 '^changed:' "$W/second.log" | sed 's/^/# /' | head -40
is "no new token on the second run" "$(calls | grep -c 'kubeadm token create')" 2

# Check mode with a new worker: it would change things, and changes nothing. node4 comes
# as Drover installs hosts: its apt sources already point at the repository (in check mode
# the sources the role would write are not there to resolve the packages from).
ok "node4's apt sources point at the repository" nodes_ssh 4 "rm -f /etc/apt/sources.list.d/* &&
	echo 'deb [trusted=yes] $CLUSTER_REPO_URL ./' >/etc/apt/sources.list.d/drover.list &&
	: >/etc/apt/sources.list && apt-get -qq update"
inv 3 4
play "$W/check.log" cluster.yml --check -l node4
rc=$?
is "check mode: exit code 0" "$rc" 0
[ "$rc" = 0 ] || grep -B2 -A8 -E '^(fatal|failed):' "$W/check.log" | head -40 | sed 's/^/# /'
like "check mode: node4 would change" "$(grep '^node4 ' "$W/check.log")" 'changed=[1-9]'
ok "check mode installed nothing on node4" nodes_ssh 4 '! dpkg-query -W containerd >/dev/null 2>&1 && ! test -e /etc/containerd/config.toml'
is "check mode made no token" "$(calls | grep -c 'kubeadm token create')" 2

play "$W/grow.log" cluster.yml -l node4
rc=$?
is "node4 joins: exit code 0" "$rc" 0
[ "$rc" = 0 ] || grep -B2 -A8 -E '^(fatal|failed):' "$W/grow.log" | head -40 | sed 's/^/# /'
is "four nodes Ready" "$(nodes_ssh 1 kubectl get nodes | grep -c ' Ready ')" 4
is "one more token, made on node1 for node4" \
	"$(nodes_ssh 1 cat /var/log/drover-standin/calls.log | grep -c 'kubeadm token create')" 3
is "node4 joined with it" "$(nodes_ssh 4 cat /var/log/drover-standin/calls.log | grep -c 'kubeadm join')" 1

# Rolling maintenance: a package update for every node (drover-standin-common: the
# Kubernetes packages themselves are held, as the role holds them), a pod on node3 and a
# pod on node4 guarded by a PDB. Workers first, in inventory order: node3 passes, node4's
# drain is refused, the control planes are not touched.
CLUSTER_STANDIN_VERSION=1.30.3-1 cluster_standin_deb "$W/www/debian" drover-standin-common \
	"python3, python3-yaml, openssl" standin.py:usr/lib/drover-standin/standin.py \
	apiserver.py:usr/lib/drover-standin/apiserver.py
(cd "$W/www/debian" && apt-ftparchive packages . >Packages && rm -f Packages.gz && gzip -9k Packages &&
	apt-ftparchive release . >Release)
nodes_ssh 1 "kubectl run web --image=nginx --overrides='{\"spec\":{\"nodeName\":\"node4\"}}'" >/dev/null
nodes_ssh 1 "kubectl run cache --image=redis --overrides='{\"spec\":{\"nodeName\":\"node3\"}}'" >/dev/null
nodes_ssh 1 kubectl create poddisruptionbudget web --selector=run=web --min-available=1 >/dev/null
ok "a pod on node3" nodes_ssh 1 kubectl get pod cache -o name
ok "a pod on node4 guarded by a PDB" nodes_ssh 1 kubectl get pdb web -o name

play "$W/maint.log" maintenance.yml
rc=$?
is "maintenance stops with a failure (exit 2)" "$rc" 2
like "the failure names the PDB" "$(grep -A2 'fatal: \[node4' "$W/maint.log")" "disruption budget"
like "node3 was patched" "$(pkgver 3 drover-standin-common)" '^1\.30\.3-1$'
is "node3's pod was evicted" "$(nodes_ssh 1 kubectl get pod cache -o name 2>&1 | grep -c 'NotFound')" 1
is "node3 uncordoned" "$(nodes_ssh 1 kubectl get nodes | grep '^node3 ' | awk '{print $2}')" Ready
is "node4 not patched" "$(pkgver 4 drover-standin-common)" "1.30.2-1"
is "node4 uncordoned after the refused drain" "$(nodes_ssh 1 kubectl get nodes | grep '^node4 ' | awk '{print $2}')" Ready
ok "node4's pod still runs" nodes_ssh 1 kubectl get pod web -o name
is "the control planes were never cordoned (the rollout stopped)" \
	"$(calls | grep -c 'kubectl .*cordon node[12]')" 0
is "node1 not patched" "$(pkgver 1 drover-standin-common)" "1.30.2-1"

nodes_ssh 1 kubectl delete pdb web >/dev/null
play "$W/maint2.log" maintenance.yml
rc=$?
is "with the PDB gone, maintenance completes" "$rc" 0
[ "$rc" = 0 ] || grep -B2 -A8 -E '^(fatal|failed):' "$W/maint2.log" | head -40 | sed 's/^/# /'
is "every node patched" "$(for i in 1 2 3 4; do pkgver "$i" drover-standin-common; done | sort -u)" 1.30.3-1
boots() { for i in 1 2 3 4; do nodes_boot_id "$i"; done | tr '\n' ' '; }
kubelet_starts() { nodes_ssh "$1" cat /var/log/drover-standin/calls.log | grep -c '^[0-9]* kubelet *$'; }
boots0=$(boots)
play "$W/maint3.log" maintenance.yml
is "maintenance again: changed=0 (nothing to patch)" "$(changed_of "$W/maint3.log")" 0
[ "$(changed_of "$W/maint3.log")" = 0 ] ||
	grep -B3 -E '^changed:' "$W/maint3.log" | head -30 | sed 's/^/# /'
is "no /var/run/reboot-required: no node rebooted" "$(boots)" "$boots0"

# Reboot if required: a worker (node3) and the control plane serving the API (node1)
# report a pending reboot; the rollout reboots them one at a time, waits for them to be
# Ready again (node1's API server comes back from its disk) and uncordons them.
ks3=$(kubelet_starts 3)
flag() { nodes_ssh 1 touch /var/run/reboot-required && nodes_ssh 3 touch /var/run/reboot-required; }
ok "node1 and node3 need a reboot" flag
t0=$(date +%s)
play "$W/reboot.log" maintenance.yml
rc=$?
is "maintenance with pending reboots: exit code 0" "$rc" 0
[ "$rc" = 0 ] || grep -B2 -A8 -E '^(fatal|failed):' "$W/reboot.log" | head -40 | sed 's/^/# /'
echo "# two nodes rebooted by the rollout in $(($(date +%s) - t0)) s"
set -- $boots0
b=$(boots)
set -- "$@" $b
ok "node1 and node3 rebooted (new boot ids), node2 and node4 did not" \
	test "$1" != "$5" -a "$2" = "$6" -a "$3" != "$7" -a "$4" = "$8"
is "the reboot flags are gone with the old /run" \
	"$(nodes_ssh 1 ls /var/run/reboot-required 2>/dev/null; nodes_ssh 3 ls /var/run/reboot-required 2>/dev/null)" ""
is "node3: containerd and kubelet running again" "$(nodes_ssh 3 systemctl is-active containerd kubelet | tr '\n' ' ')" "active active "
is "node3's kubelet started once more (at boot)" "$(kubelet_starts 3)" "$((ks3 + 1))"
is "node1: the API server came back" "$(nodes_ssh 1 systemctl is-active drover-standin-apiserver)" active
nodes_now=$(nodes_ssh 1 kubectl get nodes)
echo "$nodes_now" | sed 's/^/# /'
is "node1 and node3 Ready and uncordoned" \
	"$(echo "$nodes_now" | awk '$1 == "node1" || $1 == "node3" {print $1, $2}' | tr '\n' ' ')" "node1 Ready node3 Ready "
# the stand-ins' calls log "<epoch seconds> <tool> <args>": node1's kubectl calls for
# node3, node3's kubelet starts
verbs=$(nodes_ssh 1 cat /var/log/drover-standin/calls.log |
	sed -n 's/^\([0-9]*\) kubectl .* \(cordon\|uncordon\|drain\) node3\( .*\)*$/\1 \2/p' | tail -3)
up3=$(nodes_ssh 3 cat /var/log/drover-standin/calls.log | grep '^[0-9]* kubelet *$' | tail -1 | cut -d' ' -f1)
is "node3: cordon, drain, uncordon" "$(echo "$verbs" | cut -d' ' -f2 | tr '\n' ' ')" "cordon drain uncordon "
ok "drained before its kubelet came back, uncordoned after" \
	test "$(echo "$verbs" | sed -n 2p | cut -d' ' -f1)" -le "${up3:-0}" -a \
	"$(echo "$verbs" | sed -n 3p | cut -d' ' -f1)" -ge "${up3:-0}"

# Linkerd with Drover's trust anchor and issuer, installed through node1.
ok "drover ca intermediate for Linkerd" "$DROVER" ca intermediate --cluster c1 --mesh linkerd \
	--out "$W/linkerd"
printf -- '- hosts: kube_control_plane:kube_worker\n  gather_facts: false\n  roles: [mesh]\n' \
	>"$W/mesh-only.yml"
export ANSIBLE_ROLES_PATH="$top_srcdir/playbooks/roles"
play "$W/linkerd.log" "$W/mesh-only.yml" -e mesh=linkerd -e mesh_ca_dir="$W/linkerd"
rc=$?
is "linkerd: exit code 0" "$rc" 0
[ "$rc" = 0 ] || grep -B2 -A8 -E '^(fatal|failed):' "$W/linkerd.log" | head -40 | sed 's/^/# /'
nodes_ssh 1 kubectl -n linkerd get secret linkerd-identity-issuer -o json >"$W/issuer.json"
python3 -c 'import json,base64,sys; d=json.load(open(sys.argv[1]))["data"]; open(sys.argv[2],"wb").write(base64.b64decode(d["tls.crt"]))' \
	"$W/issuer.json" "$W/issuer-from-cluster.crt"
ok "Linkerd's issuer secret holds Drover's issuer" cmp "$W/issuer-from-cluster.crt" "$W/linkerd/issuer.crt"
ok "which chains to the trust anchors given to linkerd (openssl verify)" \
	openssl verify -CAfile "$W/linkerd/ca.crt" "$W/issuer-from-cluster.crt"
like "the issuer is ECDSA P-256, as Linkerd requires" \
	"$(openssl x509 -in "$W/issuer-from-cluster.crt" -noout -text)" 'prime256v1|P-256'
is "linkerd install --crds once, linkerd install once" \
	"$(calls | grep -c 'linkerd install --crds') $(calls | grep 'linkerd install' | grep -c -- '--identity-issuer-certificate-file')" "1 1"
play "$W/linkerd2.log" "$W/mesh-only.yml" -e mesh=linkerd -e mesh_ca_dir="$W/linkerd"
is "linkerd again: changed=0" "$(changed_of "$W/linkerd2.log")" 0

# droverd deploys the same cluster as a job, with the engine of `drover play`: hosts and
# hostgroups in droverd, the inventory built from them, the mesh CA from droverd's CA.
if ! "$top_builddir/drover" play --syntax-check -i "$W/inventory.ini" \
	"$top_srcdir/playbooks/cluster.yml" >"$W/syntax.log" 2>&1; then
	echo "# SKIP droverd's cluster deploy: drover play cannot load cluster.yml yet: $(tail -1 "$W/syntax.log")"
	done_testing
	exit
fi
"$DROVER" hostgroup create --name k8s-cp >/dev/null
"$DROVER" hostgroup create --name k8s-workers >/dev/null
for i in 1 2 3 4; do
	hg=k8s-workers
	[ "$i" -le 2 ] && hg=k8s-cp
	ok "host node$i in $hg" "$DROVER" host create --name "node$i" --hostgroup "$hg" \
		--mac "52:54:00:00:01:0$i" --ip "$(nodes_addr "$i")" -p ansible_user=root \
		-p "ansible_ssh_private_key_file=$NODES_KEY" -p "ansible_ssh_known_hosts_file=$NODES_KNOWN_HOSTS"
done
ok "cluster c1" "$DROVER" cluster create c1 --control-plane k8s-cp --workers k8s-workers \
	--mesh istio --version kubernetes=1.30.2 \
	--var "base_apt_sources=[\"deb [trusted=yes] $CLUSTER_REPO_URL ./\"]" \
	--var base_apt_sources_exclusive=true \
	--var 'container_runtime_registry_mirrors={"docker.io": ["http://198.18.0.1:5000"]}'
"$DROVER" cluster deploy c1 --follow >"$W/droverd-deploy.log" 2>&1
is "drover cluster deploy c1 --follow: the job succeeds" "$?" 0 ||
	grep -a '"failed":true' "$W/droverd-deploy.log" | head -5 | cut -c1-400 | sed 's/^/# /'
like "its recap: nothing changed (ansible-playbook deployed it already)" \
	"$(grep -a '"event":"recap"' "$W/droverd-deploy.log")" '"changed":0'
ok "no recap with a change" sh -c "! grep -a '\"event\":\"recap\"' '$W/droverd-deploy.log' | grep -q '\"changed\":[1-9]'"
out=$("$DROVER" cluster show c1 | tr -s ' ')
like "the cluster is deployed" "$out" 'STATE deployed'
like "its members are deployed" "$(echo "$out" | tr '\n' '|')" \
	'node1 control-plane deployed.*node2 control-plane deployed.*node3 worker deployed.*node4 worker deployed'
is "still one istioctl install" "$(calls | grep -c 'istioctl install')" 1

done_testing
