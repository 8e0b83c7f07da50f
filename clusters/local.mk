# Clusters: the model, REST and the cluster_deploy job (clusters/), `drover cluster`
# (cli/cmd-cluster.c), and the site playbooks and roles they run, installed under
# $(pkgdatadir)/playbooks.
libdrover_a_SOURCES += clusters/clusters.h clusters/cluster.c clusters/api.c
drover_SOURCES += cli/cmd-cluster.c
nobase_dist_pkgdata_DATA = playbooks/cluster.yml playbooks/maintenance.yml \
	playbooks/roles/base/defaults/main.yml \
	playbooks/roles/base/handlers/main.yml \
	playbooks/roles/base/tasks/firewall.yml \
	playbooks/roles/base/tasks/firewalld.yml \
	playbooks/roles/base/tasks/main.yml \
	playbooks/roles/base/tasks/modules.yml \
	playbooks/roles/base/tasks/selinux.yml \
	playbooks/roles/base/templates/chrony.conf.j2 \
	playbooks/roles/base/templates/drover-cluster.nft.j2 \
	playbooks/roles/base/templates/timesyncd.conf.j2 \
	playbooks/roles/container_runtime/defaults/main.yml \
	playbooks/roles/container_runtime/handlers/main.yml \
	playbooks/roles/container_runtime/tasks/main.yml \
	playbooks/roles/container_runtime/tasks/containerd.yml \
	playbooks/roles/container_runtime/templates/config.toml.j2 \
	playbooks/roles/container_runtime/templates/hosts.toml.j2 \
	playbooks/roles/kubernetes_common/defaults/main.yml \
	playbooks/roles/kubernetes_common/tasks/main.yml \
	playbooks/roles/kubernetes_common/tasks/kubeadm.yml \
	playbooks/roles/kubernetes_common/tasks/k3s.yml \
	playbooks/roles/kubernetes_common/templates/registries.yaml.j2 \
	playbooks/roles/kubernetes_control_plane/defaults/main.yml \
	playbooks/roles/kubernetes_worker/defaults/main.yml \
	playbooks/roles/kubernetes_control_plane/meta/main.yml \
	playbooks/roles/kubernetes_control_plane/tasks/main.yml \
	playbooks/roles/kubernetes_control_plane/tasks/kubeadm.yml \
	playbooks/roles/kubernetes_control_plane/tasks/k3s.yml \
	playbooks/roles/kubernetes_control_plane/templates/kubeadm-config.yaml.j2 \
	playbooks/roles/kubernetes_control_plane/templates/k3s.service.j2 \
	playbooks/roles/kubernetes_control_plane/templates/k3s-server.yaml.j2 \
	playbooks/roles/kubernetes_worker/meta/main.yml \
	playbooks/roles/kubernetes_worker/tasks/main.yml \
	playbooks/roles/kubernetes_worker/tasks/kubeadm.yml \
	playbooks/roles/kubernetes_worker/tasks/k3s.yml \
	playbooks/roles/kubernetes_worker/templates/k3s.service.j2 \
	playbooks/roles/kubernetes_worker/templates/k3s-agent.yaml.j2 \
	playbooks/roles/kubernetes_worker/templates/k3s-agent.env.j2 \
	playbooks/roles/mesh/defaults/main.yml \
	playbooks/roles/mesh/tasks/istio.yml \
	playbooks/roles/mesh/tasks/linkerd.yml \
	playbooks/roles/mesh/tasks/main.yml \
	playbooks/roles/node_maintenance/defaults/main.yml \
	playbooks/roles/node_maintenance/tasks/main.yml
INTEGRATION_TESTS += tests/integration/cluster_api.sh tests/integration/cluster.sh \
	tests/integration/cluster_drover.sh tests/integration/cluster_firewalld.sh \
	tests/integration/cluster_k3s.sh tests/integration/cluster_redhat.sh
webui_asset_files += webui/templates/clusters.html webui/templates/cluster.html
