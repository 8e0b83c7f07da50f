#!/bin/sh
# cluster_drover.sh - cluster.sh again with `drover play` in place of ansible-playbook:
# the same roles and playbooks, the same checks (deploy, changed=0 re-run, check mode,
# the PDB-stopped maintenance, Linkerd, droverd's cluster deploy).
CLUSTER_PLAY="$top_builddir/drover play"
export CLUSTER_PLAY
exec bash "$top_srcdir/tests/integration/cluster.sh"
