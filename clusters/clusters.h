/*
 * clusters.h - Kubernetes clusters droverd deploys with the shipped roles: a name, a kind
 * (kubeadm; k3s is recorded but the roles refuse it), a service mesh (istio, linkerd,
 * none), the hostgroups whose hosts are its control planes and workers, versions and
 * extra variables. `cluster_deploy` jobs run playbooks/cluster.yml against those hosts
 * (the inventory built here from the hosts, their resolved parameters and recorded SSH
 * host keys; the mesh's intermediate from the CA) and record each member's state.
 */
#ifndef DROVER_CLUSTERS_H
#define DROVER_CLUSTERS_H

#include "core/core.h"

/* cluster.c */

#define CLUSTER_NAME_MAX 63
#define CLUSTER_VARS_MAX (64 * 1024) /* bytes of a cluster's extra variables, as JSON */
#define CLUSTER_VERSION_MAX 64
#define CLUSTER_HOSTS_MAX 10000 /* hosts of one hostgroup a deploy takes */

/* Status codes (negated HTTP statuses) returned by the functions below on failure. */
#define CLUSTER_E_INVALID (-422)
#define CLUSTER_E_CONFLICT (-409)
#define CLUSTER_E_NOTFOUND (-404)
#define CLUSTER_E_STORE (-500)

/* Register the tables and the cluster_deploy job kind; before store_open. */
void clusters_register(void);
/* Where cluster.yml and roles/ are (playbooks.dir; default the installed copy). */
void cluster_playbooks_dir_set(const char *dir);
const char *cluster_playbooks_dir(void);
/*
 * Create from {"name", "kind"?, "mesh"?, "control_plane_hostgroup", "worker_hostgroup"?,
 * "versions"? {"kubernetes", "istio", "linkerd", "containerd"}, "vars"? {…}}; hostgroups
 * by name or id. 0 and *ret_id, or a CLUSTER_E_* code with err naming the field.
 */
int cluster_create(
    const json_t *in, const char *user, const char *remote, int64_t *ret_id, struct dr_error *err);
/* Merge in's fields into the cluster (by id or name) and validate again. */
int cluster_update(const char *id_or_name, const json_t *in, const char *user, const char *remote,
    struct dr_error *err);
/* Delete a cluster and its member rows (refused while a deploy runs). */
int cluster_delete(
    const char *id_or_name, const char *user, const char *remote, struct dr_error *err);
/* The cluster as the API shows it, with "members": every host of its hostgroups and each
 * one's role and state (pending before its first deploy); NULL when none. Caller frees. */
json_t *cluster_get(const char *id_or_name);
/* Start a cluster_deploy job (params {"cluster", "check"?, "limit"?}); *ret_job_id. */
int cluster_deploy(const char *id_or_name, bool check, const char *limit, const char *user,
    const char *remote, int64_t *ret_job_id, struct dr_error *err);
/* The inventory of a cluster (YAML-as-JSON: groups kube_control_plane and kube_worker, each
 * host with ansible_host and its resolved parameters). Caller frees. */
int cluster_inventory(
    const json_t *cluster, const char *known_hosts_path, json_t **ret, struct dr_error *err);

/* api.c */

/* Add the /api/v2/clusters routes; droverd, before the server starts. */
void clusters_api_init(void);

#endif
