#!/bin/sh
# cluster_api.sh - clusters in droverd: create/list/show/update/delete through `drover
# cluster` and REST, validation with 422s naming the field, members from the hostgroups,
# RBAC (a viewer cannot deploy), audit; the deploy job's refusal of a cluster with no hosts.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
state=$TAP_TMP/state
trap 'droverd_stop; rm -rf "$TAP_TMP"' EXIT

pbdir=$(cd "$top_srcdir/playbooks" && pwd)
printf 'playbooks:\n  dir: %s\n' "$pbdir" >"$TAP_TMP/droverd.yml"
ok "droverd starts" droverd_start "$state" --config "$TAP_TMP/droverd.yml"
ok "drover login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login

ok "hostgroup k8s-cp" "$DROVER" hostgroup create --name k8s-cp
ok "hostgroup k8s-workers" "$DROVER" hostgroup create --name k8s-workers
ok "empty hostgroup" "$DROVER" hostgroup create --name empty
ok "host cp1" "$DROVER" host create --name cp1 --hostgroup k8s-cp --mac 52:54:00:00:00:01 --ip 198.18.1.1
ok "host w1" "$DROVER" host create --name w1 --hostgroup k8s-workers --mac 52:54:00:00:00:02 --ip 198.18.1.2
ok "host w2" "$DROVER" host create --name w2 --hostgroup k8s-workers --mac 52:54:00:00:00:03 --ip 198.18.1.3

ok "cluster create" "$DROVER" cluster create c1 --control-plane k8s-cp --workers k8s-workers \
	--mesh istio --version kubernetes=1.30.2 --var kubernetes_pod_subnet=10.250.0.0/16
out=$("$DROVER" cluster show c1)
like "show: kind defaults to kubeadm" "$out" 'KIND +kubeadm'
like "show: the hostgroups by name" "$out" 'CONTROL PLANES +k8s-cp'
like "show: members with roles, pending before a deploy" "$(echo "$out" | tr -s ' ' | tr '\n' '|')" \
	'cp1 control-plane pending.*w1 worker pending.*w2 worker pending'
json=$("$DROVER" --json cluster show c1)
like "show --json: versions" "$json" '"kubernetes": "1.30.2"'
like "show --json: vars" "$json" '"kubernetes_pod_subnet": "10.250.0.0/16"'
like "list" "$("$DROVER" cluster list)" 'c1 +kubeadm +istio +new'
like "list with a search" "$("$DROVER" --json cluster list --search 'mesh = istio')" '"subtotal": 1'
like "search on an unknown field is a 422" "$("$DROVER" cluster list --search 'colour = red' 2>&1)" '422'

# Validation: each refusal names the field.
like "a name that is not a DNS label" \
	"$("$DROVER" cluster create 'C_1' --control-plane k8s-cp 2>&1)" '422 name: expected'
like "an unknown mesh" "$("$DROVER" cluster create c2 --control-plane k8s-cp --mesh consul 2>&1)" \
	'422 mesh: expected istio, linkerd or none'
like "an unknown kind" "$("$DROVER" cluster create c2 --control-plane k8s-cp --kind rke 2>&1)" \
	'422 kind: expected kubeadm or k3s'
like "the control-plane hostgroup is required" "$("$DROVER" cluster create c2 2>&1)" \
	'422 control_plane_hostgroup: required'
like "an unknown hostgroup is named" \
	"$("$DROVER" cluster create c2 --control-plane nope 2>&1)" "422 control_plane_hostgroup: no hostgroup 'nope'"
like "an unknown version key" \
	"$("$DROVER" cluster create c2 --control-plane k8s-cp --version helm=3 2>&1)" '422 versions.helm: unknown'
like "a malformed version" \
	"$("$DROVER" cluster create c2 --control-plane k8s-cp --version 'kubernetes=1.30; rm' 2>&1)" \
	'422 versions.kubernetes: expected a version'
like "a duplicate name is a conflict" "$("$DROVER" cluster create c1 --control-plane k8s-cp 2>&1)" \
	"409 name: a cluster 'c1' exists"
# token USER PASSWORD: a bearer token for a user.
token() {
	curl -s -d "{\"user\":\"$1\",\"password\":\"$2\",\"expires_in\":0}" \
		"$DROVERD_URL/api/v2/tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
auth="Authorization: Bearer $(token admin "$ADMIN_PASSWORD")"
code=$(curl -s -o "$TAP_TMP/body" -w '%{http_code}' -H "$auth" -H 'Content-Type: application/json' \
	-d '{"name": "c3", "control_plane_hostgroup": "k8s-cp", "colour": "red"}' "$DROVERD_URL/api/v2/clusters")
is "an unknown field is a 422" "$code" 422
like "naming it" "$(cat "$TAP_TMP/body")" '"colour"'
code=$(curl -s -o "$TAP_TMP/body" -w '%{http_code}' -H "$auth" -H 'Content-Type: application/json' \
	-d '[1,2]' "$DROVERD_URL/api/v2/clusters")
is "a body that is not an object is a 422" "$code" 422
code=$(curl -s -o "$TAP_TMP/body" -w '%{http_code}' -H "$auth" -H 'Content-Type: application/json' \
	-d '{"name": "c3", "control_plane_hostgroup": "k8s-cp", "vars": "x"}' "$DROVERD_URL/api/v2/clusters")
is "vars must be an object" "$code" 422
big=$(head -c 70000 /dev/zero | tr '\0' a)
printf '{"name": "c3", "control_plane_hostgroup": "k8s-cp", "vars": {"x": "%s"}}' "$big" >"$TAP_TMP/big.json"
code=$(curl -s -o "$TAP_TMP/body" -w '%{http_code}' -H "$auth" -H 'Content-Type: application/json' \
	--data-binary @"$TAP_TMP/big.json" "$DROVERD_URL/api/v2/clusters")
is "vars over 64 KiB are refused" "$code" 422
code=$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" "$DROVERD_URL/api/v2/clusters/nope")
is "an unknown cluster is a 404" "$code" 404

ok "update: the mesh" "$DROVER" cluster update c1 --mesh linkerd
like "updated" "$("$DROVER" cluster show c1)" 'MESH +linkerd'
like "update validates too" "$("$DROVER" cluster update c1 --mesh consul 2>&1)" '422 mesh'

# Deploy with no hosts is refused; a deploy of c1 is a cluster_deploy job.
ok "cluster empty" "$DROVER" cluster create empty1 --control-plane empty
like "deploying a cluster without hosts is a conflict" "$("$DROVER" cluster deploy empty1 2>&1)" \
	"409 cluster 'empty1': its hostgroups have no hosts"
out=$("$DROVER" --json cluster deploy c1 --check)
like "deploy --check answers with a job" "$out" '"job_id": [0-9]'
jid=$(echo "$out" | sed -n 's/.*"job_id": \([0-9]*\).*/\1/p')
i=0
while [ $i -lt 100 ]; do
	st=$("$DROVER" --json job show "$jid" | sed -n 's/^  "state": "\(.*\)",*$/\1/p')
	case $st in succeeded|failed|cancelled) break ;; esac
	sleep 0.1
	i=$((i + 1))
done
like "the job is a cluster_deploy" "$("$DROVER" --json job show "$jid")" '"kind": "cluster_deploy"'
is "it ends (the hosts are unreachable here)" "$st" failed
like "it ran the cluster playbook" "$("$DROVER" job follow "$jid" 2>&1)" \
	"\"event\":\"cluster\",\"cluster\":\"c1\",\"playbook\":\"$pbdir/cluster.yml\""
like "a check run leaves the members pending" "$("$DROVER" cluster show c1 | tr -s ' ')" 'w1 worker pending'

# RBAC: a viewer sees clusters and cannot change or deploy them.
ok "a viewer" sh -c "printf 'viewer-secret-1\n' | '$DROVER' user create --login viewer1 --role viewer >/dev/null"
vt=$(token viewer1 viewer-secret-1)
is "the viewer lists clusters" "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $vt" \
	"$DROVERD_URL/api/v2/clusters")" 200
is "the viewer cannot deploy" "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
	-H "Authorization: Bearer $vt" "$DROVERD_URL/api/v2/clusters/c1/deploy")" 403
is "the viewer cannot delete" "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE \
	-H "Authorization: Bearer $vt" "$DROVERD_URL/api/v2/clusters/c1")" 403

# The UI pages: the list, a cluster with its members, Deploy only for who may deploy.
page=$(curl -s -H "$auth" "$DROVERD_URL/ui/clusters")
like "UI: the list links the cluster" "$page" 'href="/ui/clusters/[0-9]*">c1<'
page=$(curl -s -H "$auth" "$DROVERD_URL/ui/clusters/c1")
like "UI: the members and their state" "$(echo "$page" | tr -d '\n')" \
	'cp1</td><td data-label="Role">control-plane</td>.*pending.*w2</td>'
like "UI: an admin gets the Deploy button" "$page" 'action="/ui/clusters/[0-9]*/deploy"'
page=$(curl -s -H "Authorization: Bearer $vt" "$DROVERD_URL/ui/clusters/c1")
like "UI: a viewer sees the cluster" "$page" 'control-plane'
is "UI: without the Deploy button" "$(echo "$page" | grep -c '/deploy')" 0
like "UI: the navigation has Clusters" "$(curl -s -H "$auth" "$DROVERD_URL/ui/clusters")" 'href="/ui/clusters"'

ok "delete" "$DROVER" cluster delete empty1
like "deleted" "$("$DROVER" cluster show empty1 2>&1)" '404'
count=$(sqlite3 "$state/drover.db" "SELECT group_concat(action) FROM audits WHERE resource='cluster'" 2>/dev/null)
like "creates, updates, deploys and deletes are audited" "$count" 'create.*update.*deploy_check.*delete'
droverd_stop
is "droverd stopped cleanly: no sanitizer reports in its log" \
	"$(grep -c 'Sanitizer\|runtime error' "$TAP_TMP/droverd.log")" 0

done_testing
