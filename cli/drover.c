/* drover.c - the drover command: global options and the verb table. */
#define LOG_COMPONENT "cli"
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_cmd cli_cmds[] = {
	{ NULL, "status", cmd_status, CLI_REMOTE, "status",
	    "Show droverd's version, uptime, store and job counts." },
	{ NULL, "login", cmd_login, CLI_REMOTE,
	    "login [--server URL] [--user NAME] [--password-file FILE]",
	    "Get an API token from droverd and keep it in the user config." },
	{ "job", "list", cmd_job_list, CLI_REMOTE,
	    "job list [--state S] [--kind K] [--page N] [--per-page N]", "List jobs." },
	{ "job", "show", cmd_job_show, CLI_REMOTE, "job show ID",
	    "Show a job with its per-item results." },
	{ "job", "run", cmd_job_run, CLI_REMOTE,
	    "job run KIND [-p KEY=VALUE]... [--params JSON] [--timeout S] [--follow]\n"
	    "       drover job run --command CMD|--playbook NAME[@V]|FILE|git+URL//PATH[@REF]\n"
	    "       [--credential GIT_CREDENTIAL]"
	    "       --search Q|--hostgroup HG|"
	    "--hosts A,B [--concurrency N] [--batch-size N] [--max-fail-percent P] [--timeout S] "
	    "[--become] [--become-user U] [--become-method sudo|su] [--follow]",
	    "Queue a job (and follow its output); with --command or --playbook, run it on hosts "
	    "over SSH." },
	{ "job", "follow", cmd_job_follow, CLI_REMOTE, "job follow ID",
	    "Print a job's output as it comes; exit 0 only if it succeeded." },
	{ "job", "cancel", cmd_job_cancel, CLI_REMOTE, "job cancel ID", "Cancel a job." },
	{ "schedule", "create", cmd_schedule_create, CLI_REMOTE,
	    "schedule create --name N --cron LINE --kind K [--tz ZONE] [-p KEY=VALUE]... "
	    "[--params JSON] [--start TIME] [--end TIME] [--max-iterations N] "
	    "[--misfire run_once|skip] [--disabled]",
	    "Run a job of a kind on a cron schedule in a time zone." },
	{ "schedule", "list", cmd_schedule_list, CLI_REMOTE, "schedule list", "List schedules." },
	{ "schedule", "show", cmd_schedule_show, CLI_REMOTE, "schedule show ID",
	    "Show a schedule and its next fire times." },
	{ "schedule", "delete", cmd_schedule_change, CLI_REMOTE, "schedule delete ID",
	    "Delete a schedule." },
	{ "schedule", "enable", cmd_schedule_change, CLI_REMOTE, "schedule enable ID",
	    "Enable a schedule (missed times are not run)." },
	{ "schedule", "disable", cmd_schedule_change, CLI_REMOTE, "schedule disable ID",
	    "Disable a schedule." },
	{ "admin", "backup", cmd_admin_backup, CLI_REMOTE, "admin backup FILE",
	    "Save a consistent copy of droverd's database to FILE." },
	{ "template", "render", cmd_template_render, 0,
	    "template render FILE [-e k=v] [-e @vars.yml|@vars.json] [--lenient]",
	    "Render a Jinja2 template locally and print the result." },
	{ "cron", "next", cmd_cron_next, 0,
	    "cron next 'LINE' [--tz ZONE] [--from ISO-8601-TIME] [-n N]",
	    "Print the next fire times of a cron line." },
	{ "user", "create", cmd_user_create, CLI_REMOTE,
	    "user create --login NAME --role ROLE [--password-file FILE]",
	    "Create a user; the password is read like drover login's." },
	{ "user", "list", cmd_user_list, CLI_REMOTE, "user list [--search QUERY]", "List users." },
	{ "user", "show", cmd_user_show, CLI_REMOTE, "user show LOGIN|ID", "Show a user." },
	{ "user", "update", cmd_user_update, CLI_REMOTE,
	    "user update LOGIN|ID [--role ROLE] [--password] [--password-file FILE]",
	    "Change a user's role or password." },
	{ "user", "delete", cmd_user_delete, CLI_REMOTE, "user delete LOGIN|ID",
	    "Delete a user and their tokens." },
	{ "role", "create", cmd_role_create, CLI_REMOTE,
	    "role create --name NAME [--description TEXT] --permission 'RESOURCE ACTION "
	    "[SEARCH]'...",
	    "Create a custom role from permissions (a search limits them to matching objects)." },
	{ "role", "list", cmd_role_list, CLI_REMOTE, "role list", "List roles and permissions." },
	{ "role", "show", cmd_role_show, CLI_REMOTE, "role show NAME|ID", "Show a role." },
	{ "role", "update", cmd_role_update, CLI_REMOTE,
	    "role update NAME|ID [--name NAME] [--description TEXT] [--permission '…']...",
	    "Change a custom role (--permission replaces the whole set)." },
	{ "role", "delete", cmd_role_delete, CLI_REMOTE, "role delete NAME|ID",
	    "Delete a custom role no user has." },
	{ "token", "create", cmd_token_create, CLI_REMOTE,
	    "token create --name NAME [--expires-in SECONDS] [--user NAME] [--password-file F]",
	    "Get a new API token for a user (password as for login); prints it once." },
	{ "token", "list", cmd_token_list, CLI_REMOTE, "token list",
	    "List your API tokens (everyone's for admins)." },
	{ "token", "delete", cmd_token_delete, CLI_REMOTE, "token delete ID",
	    "Revoke an API token." },
	{ "audit", "list", cmd_audit_list, CLI_REMOTE,
	    "audit list [--search QUERY] [--page N] [--per-page N]",
	    "Show the audit log: who changed what, when, from where." },
	{ "ca", "show", cmd_ca_show, CLI_REMOTE, "ca show --root | --bundle | SERIAL [--out PREFIX]",
	    "Print the root certificate, the trust bundle (old + new roots during a rotation) "
	    "or one certificate (--out: write PREFIX.crt with its chain)." },
	{ "ca", "issue", cmd_ca_issue, CLI_REMOTE,
	    "ca issue --host FQDN [--dns NAME]... [--ip ADDR]... [--days N] [--public-key FILE | "
	    "--csr FILE] --out PREFIX",
	    "Issue a host identity certificate: PREFIX.crt (with the chain) and PREFIX.key "
	    "(unless the host keeps its key: --public-key or --csr)." },
	{ "ca", "list", cmd_ca_list, CLI_REMOTE,
	    "ca list [--kind root|intermediate|leaf] [--host H] [--cluster C] [--state S] "
	    "[--page N]",
	    "List the CA's certificates." },
	{ "ca", "revoke", cmd_ca_revoke, CLI_REMOTE, "ca revoke SERIAL [--reason R]",
	    "Revoke a certificate (RFC 5280 reason name); the CRL lists it at once." },
	{ "ca", "crl", cmd_ca_crl, CLI_REMOTE, "ca crl",
	    "Print the CRLs of every trusted issuer (PEM)." },
	{ "ca", "rotate", cmd_ca_rotate, CLI_REMOTE, "ca rotate [--complete]",
	    "Start a root rotation (bundle = old + new roots), or complete it." },
	{ "ca", "intermediate", cmd_ca_intermediate, CLI_REMOTE,
	    "ca intermediate --cluster NAME --mesh istio|linkerd --out DIR",
	    "Write a cluster's mesh CA files (Istio cacerts or Linkerd issuer) into DIR." },
	{ "product", "create", cmd_content_create, CLI_REMOTE,
	    "product create --name N [--description D]", "Create a product." },
	{ "product", "list", cmd_content_list, CLI_REMOTE, "product list [--search S] [--page N] [--per-page N]", "List products." },
	{ "product", "show", cmd_content_show, CLI_REMOTE, "product show NAME", "Show a product." },
	{ "product", "update", cmd_content_update, CLI_REMOTE,
	    "product update NAME [--name N] [--description D]", "Change a product." },
	{ "product", "delete", cmd_content_show, CLI_REMOTE, "product delete NAME",
	    "Delete a product without repositories." },
	{ "repo", "create", cmd_content_create, CLI_REMOTE,
	    "repo create --product P --name N --type yum|apt --url URL [--distribution D] "
	    "[--components C,..] [--architectures A,..] [--gpg-key FILE] "
	    "[--download-policy immediate|on_demand] [--mirroring-policy additive|mirror_complete] "
	    "[--include PAT,..] [--exclude PAT,..] [--retain N] [--errata-url URL|DIR] "
	    "[--concurrency N] [--bandwidth-limit BYTES/s]",
	    "Create a repository." },
	{ "repo", "list", cmd_content_list, CLI_REMOTE, "repo list [--product P] [--search S] [--page N] [--per-page N]",
	    "List repositories." },
	{ "repo", "show", cmd_content_show, CLI_REMOTE, "repo show NAME",
	    "Show a repository and its versions." },
	{ "repo", "update", cmd_content_update, CLI_REMOTE,
	    "repo update NAME [repo create options]", "Change a repository." },
	{ "repo", "delete", cmd_content_show, CLI_REMOTE, "repo delete NAME",
	    "Delete a repository and its versions." },
	{ "repo", "sync", cmd_repo_sync, CLI_REMOTE, "repo sync NAME [--wait]",
	    "Sync a repository from upstream (a job)." },
	{ "content-view", "create", cmd_content_create, CLI_REMOTE,
	    "content-view create --name N --repos R,.. [--description D] [--filters JSON]",
	    "Create a content view." },
	{ "content-view", "list", cmd_content_list, CLI_REMOTE, "content-view list [--search S] [--page N] [--per-page N]",
	    "List content views." },
	{ "content-view", "show", cmd_content_show, CLI_REMOTE, "content-view show NAME",
	    "Show a content view, its versions and environments." },
	{ "content-view", "update", cmd_content_update, CLI_REMOTE,
	    "content-view update NAME [--repos R,..] [--filters JSON] [--description D]",
	    "Change what the next publish uses." },
	{ "content-view", "delete", cmd_content_show, CLI_REMOTE, "content-view delete NAME",
	    "Delete a content view." },
	{ "content-view", "publish", cmd_cv_job, CLI_REMOTE,
	    "content-view publish NAME [--description D] [--wait]",
	    "Publish a new version of a content view into Library (a job)." },
	{ "content-view", "promote", cmd_cv_job, CLI_REMOTE,
	    "content-view promote NAME --version V --to ENV [--force] [--wait]",
	    "Promote a content view version to an environment (a job)." },
	{ "lifecycle-environment", "create", cmd_content_create, CLI_REMOTE,
	    "lifecycle-environment create --name N --prior ENV [--description D]",
	    "Add an environment to the path after ENV." },
	{ "lifecycle-environment", "list", cmd_content_list, CLI_REMOTE,
	    "lifecycle-environment list [--search S] [--page N] [--per-page N]",
	    "List lifecycle environments." },
	{ "lifecycle-environment", "show", cmd_content_show, CLI_REMOTE,
	    "lifecycle-environment show NAME", "Show an environment." },
	{ "lifecycle-environment", "delete", cmd_content_show, CLI_REMOTE,
	    "lifecycle-environment delete NAME", "Delete the last environment of a path." },
	{ "erratum", "list", cmd_erratum_list, CLI_REMOTE,
	    "erratum list [--host H [--installable]] [--type T] [--severity S] [--cve CVE] "
	    "[--repository R] [--search S] [--since DATE] [--until DATE] [--page N] [--per-page N]",
	    "List errata, or those applicable to host H (whether its content can install each)." },
	{ "erratum", "show", cmd_erratum_show, CLI_REMOTE, "erratum show ID [--host H]",
	    "Show an erratum with its references, packages and the hosts it applies to." },
	/* Provisioning: the same five verbs for every resource of the model (cmd-host.c). */
#define CLI_RESOURCE_VERBS(word, fields, what)                                          \
	{ word, "list", cmd_resource_list, CLI_REMOTE,                                  \
	    word " list [--search 'FIELD=VALUE and ...'] [--page N] [--per-page N]",      \
	    "List " what "." },                                                            \
	    { word, "show", cmd_resource_show, CLI_REMOTE, word " show NAME",              \
		"Show one of the " what " with every field." },                             \
	    { word, "create", cmd_resource_create, CLI_REMOTE,                             \
		word " create --name NAME " fields " [--FIELD VALUE]...",                    \
		"Create one of the " what " (--X-file PATH reads field X from a file)." },  \
	    { word, "update", cmd_resource_update, CLI_REMOTE,                             \
		word " update NAME [--FIELD VALUE]...", "Change fields of one of the " what "." }, \
	    { word, "delete", cmd_resource_delete, CLI_REMOTE, word " delete NAME",        \
		"Delete one of the " what " (refused while in use)." }
	CLI_RESOURCE_VERBS("host",
	    "[--mac MAC] [--ip IP] [--hostgroup HG] [--operatingsystem OS] [-p K=V]", "hosts"),
	{ "host", "build", cmd_host_build, CLI_REMOTE,
	    "host build NAME [--ttl SECONDS] [--reboot] [--cancel]",
	    "Put a host in build mode: it installs at its next network boot." },
	{ "host", "power", cmd_host_power, CLI_REMOTE,
	    "host power NAME on|off|soft|cycle|status|pxe",
	    "Power a host through its VM's compute resource or its BMC (Redfish, IPMI)." },
	{ "host", "known-hosts", cmd_host_known_hosts, CLI_REMOTE, "host known-hosts NAME",
	    "Print the SSH host keys a host reported when it was built (known_hosts lines)." },
	CLI_RESOURCE_VERBS("hostgroup",
	    "[--parent HG] [--operatingsystem OS] [--medium M] [--ptable P] [-p K=V]",
	    "hostgroups"),
	CLI_RESOURCE_VERBS("subnet", "--network IP --mask IP [--gateway IP] [--from IP --to IP]",
	    "subnets"),
	CLI_RESOURCE_VERBS("domain", "[-p K=V]", "domains"),
	CLI_RESOURCE_VERBS("os",
	    "--family Debian|Redhat --major N [--release-name R] [--default-template T,...]",
	    "operating systems"),
	CLI_RESOURCE_VERBS("medium", "--path URL [--os-family F]", "installation media"),
	CLI_RESOURCE_VERBS("ptable", "--layout-file FILE [--os-family F]", "partition tables"),
	CLI_RESOURCE_VERBS("template", "--kind KIND --template-file FILE [--operatingsystem OS,...]",
	    "provisioning templates"),
	{ "template", "preview", cmd_template_preview, CLI_REMOTE,
	    "template preview --host NAME --kind KIND [--template NAME]",
	    "Render a host's provisioning template as its installer would get it." },
	CLI_RESOURCE_VERBS("compute-resource", "--provider libvirt --url URI",
	    "compute resources"),
	CLI_RESOURCE_VERBS("architecture", "", "architectures"),
	CLI_RESOURCE_VERBS("parameter", "--value VALUE", "global parameters"),
	CLI_RESOURCE_VERBS("discovery-rule",
	    "--search 'cpus >= 4 and memory_mb >= 8192' --hostgroup HG [--hostname TEMPLATE] "
	    "[--priority N] [--max-count N]",
	    "discovery rules"),
	{ "discovered", "list", cmd_discovered_list, CLI_REMOTE, "discovered list [--search S]",
	    "List machines that network-booted unknown and posted their facts (search: mac, "
	    "ip, cpus, memory_mb, cpu_model, firmware, secure_boot, manufacturer, product, "
	    "serial, disks, disk_gb, first_seen, last_seen)." },
	{ "discovered", "provision", cmd_discovered_provision, CLI_REMOTE,
	    "discovered provision MAC --name NAME [--hostgroup HG] [--FIELD VALUE]...",
	    "Make a host of a discovered machine and build it." },
	{ "discovered", "delete", cmd_discovered_delete, CLI_REMOTE, "discovered delete MAC",
	    "Forget a discovered machine." },
	{ "pxe", "status", cmd_pxe, CLI_REMOTE, "pxe status",
	    "The TFTP root, which boot loaders are in it, TFTP counters." },
	{ "pxe", "setup", cmd_pxe, CLI_REMOTE,
	    "pxe setup [--from DIR] [--download [--no-wait]] [--discovery|--no-discovery]",
	    "Place the boot loaders of Debian's packages in the TFTP root (admin): installed "
	    "ones, a directory of .debs or files unpacked from them (--from, on droverd's "
	    "machine), or .debs apt-get downloads (--download: a pxe_setup job, followed "
	    "unless --no-wait); never installs them. Builds "
	    "Drover's installer, and with --discovery makes it the discovery image too "
	    "(unknown machines that network-boot post their facts); --no-discovery removes "
	    "the discovery image." },
#undef CLI_RESOURCE_VERBS
	{ NULL, "play", cmd_play, 0,
	    "play PLAYBOOK [-i INVENTORY]... [-l LIMIT] [-t TAGS] [--skip-tags TAGS] "
	    "[-e k=v|@file|JSON]... [-f FORKS] [-C|--check] [-D|--diff] [-v...] [--json] "
	    "[--syntax-check] [--list-tasks] [--list-hosts] [--start-at-task NAME] "
	    "[--roles-path P] [-K] [--ssh-accept-new] [-c CONNECTION] [-u USER]",
	    "Run an Ansible playbook against the hosts of an inventory (no server needed)." },
	/* Remote execution, the playbook library, droverd's SSH key (cmd-remote.c). */
	{ "job", "rerun", cmd_job_rerun, CLI_REMOTE, "job rerun ID [--all] [--follow]",
	    "Run a remote job again on the hosts where it failed (--all: every host)." },
	{ "settings", "ssh-key", cmd_settings_ssh_key, CLI_REMOTE, "settings ssh-key",
	    "Print droverd's SSH public key, to authorize on hosts (authorized_keys)." },
	{ "playbook", "upload", cmd_playbook, CLI_REMOTE, "playbook upload NAME FILE",
	    "Add FILE as the next version of playbook NAME in droverd's library." },
	{ "playbook", "list", cmd_playbook, CLI_REMOTE, "playbook list",
	    "List the library's playbooks with their latest versions." },
	{ "playbook", "show", cmd_playbook, CLI_REMOTE, "playbook show NAME[@VERSION]",
	    "Show a library playbook (the latest version, or VERSION) and its versions." },
	{ "patch", "run", cmd_patch_run, CLI_REMOTE,
	    "patch run --search Q|--hostgroup HG|--hosts A,B [--errata ID,..] [--type T,..] "
	    "[--severity S,..] [--cve CVE,..] [--batch-size N|--batch-percent P] "
	    "[--max-fail-percent P] [--concurrency N] [--window-cron LINE --window-duration MIN "
	    "[--window-tz ZONE]] [--pre PLAYBOOK] [--post PLAYBOOK] "
	    "[--reboot never|if-needed|always] [--reboot-command CMD] [--reboot-timeout S] "
	    "[--become [--become-method sudo|su]] [--timeout S] "
	    "[--cron LINE --name NAME [--tz ZONE]] [--follow]",
	    "Apply errata to hosts in batches (now, or on a schedule with --cron)." },
	{ "drift", "check", cmd_drift, CLI_REMOTE,
	    "drift check [--search Q|--hostgroup HG] [--follow]",
	    "Run each host's assigned playbooks (parameter playbooks) in check mode." },
	{ "drift", "list", cmd_drift, CLI_REMOTE, "drift list",
	    "Hosts checked for drift, drifted first." },
	{ "drift", "show", cmd_drift, CLI_REMOTE, "drift show HOST",
	    "What would change on a host: each task and its diff." },
	{ "cluster", "create", cmd_cluster_create, CLI_REMOTE,
	    "cluster create NAME --control-plane HOSTGROUP [--workers HOSTGROUP] "
	    "[--kind kubeadm|k3s] [--mesh istio|linkerd|none] [--version NAME=VERSION]... "
	    "[--var KEY=VALUE]...",
	    "Create a Kubernetes cluster from the hosts of hostgroups." },
	{ "cluster", "list", cmd_cluster_list, CLI_REMOTE, "cluster list [--search QUERY]",
	    "List clusters." },
	{ "cluster", "show", cmd_cluster_show, CLI_REMOTE, "cluster show NAME",
	    "Show a cluster and its members with their state." },
	{ "cluster", "update", cmd_cluster_update, CLI_REMOTE,
	    "cluster update NAME [options of create]", "Change a cluster." },
	{ "cluster", "delete", cmd_cluster_delete, CLI_REMOTE, "cluster delete NAME",
	    "Delete a cluster (its hosts are left as they are)." },
	{ "cluster", "deploy", cmd_cluster_deploy, CLI_REMOTE,
	    "cluster deploy NAME [--check] [-l LIMIT] [--follow]",
	    "Run playbooks/cluster.yml against the cluster's hosts as a job." },
	/* OS images for the image provision method (cmd-image.c). */
	{ "image", "create", cmd_image_create, CLI_REMOTE,
	    "image create NAME [--suite bookworm] [--mirror URL] [--components main,...] "
	    "[--packages a,b] [--exclude GLOB,...] [--format tar|raw] [--trusted] "
	    "[--gpg-key FILE] [--url URL [--sha256 HEX]] [--follow]",
	    "Build an OS image from Debian packages with mmdebstrap, a root tarball or a raw "
	    "disk image (--format raw), or import a raw disk image from --url (a droverd "
	    "job). --gpg-key: the public key (armored or binary) the mirror is signed with, "
	    "trusted besides Debian's and installed as /etc/apt/trusted.gpg.d/NAME.gpg." },
	{ "image", "list", cmd_image_list, CLI_REMOTE, "image list [--search S]",
	    "List images with their state, size and SHA-256." },
	{ "image", "show", cmd_image_show, CLI_REMOTE, "image show NAME",
	    "Show an image (its URL, checksum, build job, last error)." },
	{ "image", "build", cmd_image_build, CLI_REMOTE, "image build NAME [--follow]",
	    "Build an image again." },
	{ "image", "delete", cmd_image_show, CLI_REMOTE, "image delete NAME",
	    "Delete an image and its file (refused while building or in use)." },
	{ "sync-plan", "create", cmd_syncplan_save, CLI_REMOTE,
	    "sync-plan create NAME --interval hourly|daily|weekly|custom [--cron EXPR] "
	    "[--start DATETIME] [--time-zone TZ] [--description TEXT] "
	    "(--repository R|--product P)... [--disabled]",
	    "Sync repositories on an interval starting at --start (Katello's sync plans)." },
	{ "sync-plan", "list", cmd_syncplan_list, CLI_REMOTE, "sync-plan list",
	    "List sync plans with their next sync." },
	{ "sync-plan", "show", cmd_syncplan_act, CLI_REMOTE, "sync-plan show NAME",
	    "Show a sync plan, its repositories and next runs." },
	{ "sync-plan", "update", cmd_syncplan_save, CLI_REMOTE,
	    "sync-plan update NAME [--name NEW] [options of create] [--enabled|--disabled]",
	    "Change a sync plan (--repository/--product replace the lists)." },
	{ "sync-plan", "delete", cmd_syncplan_act, CLI_REMOTE, "sync-plan delete NAME",
	    "Delete a sync plan and its schedule." },
	{ "sync-plan", "enable", cmd_syncplan_act, CLI_REMOTE, "sync-plan enable NAME",
	    "Enable a sync plan." },
	{ "sync-plan", "disable", cmd_syncplan_act, CLI_REMOTE, "sync-plan disable NAME",
	    "Disable a sync plan." },
	{ "sync-plan", "sync", cmd_syncplan_act, CLI_REMOTE, "sync-plan sync NAME [--follow]",
	    "Run a sync plan now." },	{ "compute-resource", "images", cmd_compute_resource_list, CLI_REMOTE,
	    "compute-resource images NAME",
	    "List the storage volumes a compute resource offers as compute_attributes.image." },
	{ "compute-resource", "networks", cmd_compute_resource_list, CLI_REMOTE,
	    "compute-resource networks NAME",
	    "List the virtual networks a compute resource offers as compute_attributes.network." },
	{ "git-credential", "create", cmd_gitcred_save, CLI_REMOTE,
	    "git-credential create --name N --username U --token-file FILE|-",
	    "Store a user name and token for private https:// git playbook repositories "
	    "(encrypted; never shown again)." },
	{ "git-credential", "update", cmd_gitcred_save, CLI_REMOTE,
	    "git-credential update NAME [--name NEW] --username U --token-file FILE|-",
	    "Replace a git credential's user name and token." },
	{ "git-credential", "list", cmd_gitcred_list, CLI_REMOTE, "git-credential list",
	    "List git credentials (names only)." },
	{ "git-credential", "show", cmd_gitcred_act, CLI_REMOTE, "git-credential show NAME",
	    "Show a git credential's name, times and the schedules using it." },
	{ "git-credential", "delete", cmd_gitcred_act, CLI_REMOTE, "git-credential delete NAME",
	    "Delete a git credential no schedule uses." },
	{ "host", "packages", cmd_host_packages, CLI_REMOTE, "host packages NAME",
	    "List the packages of a host's last collected package profile (name, version, "
	    "arch)." },
	{ "discovered", "show", cmd_discovered_show, CLI_REMOTE, "discovered show MAC",
	    "Show a discovered machine with all the facts it posted." },
};

/* Print a verb's usage on stderr; returns the exit code for bad arguments. */
int
cli_usage(const struct cli_cmd *cmd)
{
	fprintf(stderr, "usage: drover %s\n", cmd->usage);
	return 1;
}

/* Print an error and return exit code 1. */
int
cli_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("drover: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Find a verb in the table. */
const struct cli_cmd *
cli_cmd_find(const char *resource, const char *verb)
{
	size_t i;

	for (i = 0; i < nitems(cli_cmds); i++) {
		const struct cli_cmd *c = &cli_cmds[i];

		if (c->resource == NULL && strcmp(c->verb, resource) == 0)
			return c;
		if (c->resource != NULL && strcmp(c->resource, resource) == 0 && verb != NULL &&
		    strcmp(c->verb, verb) == 0)
			return c;
	}
	return NULL;
}

/* Every "resource verb" pair, one per line: what the bash completion offers. */
static void
cli_commands(void)
{
	size_t i;

	for (i = 0; i < nitems(cli_cmds); i++)
		printf("%s%s%s\n", cli_cmds[i].resource != NULL ? cli_cmds[i].resource : "",
		    cli_cmds[i].resource != NULL ? " " : "", cli_cmds[i].verb);
}

/* For `drover RESOURCE [--help]`: list the resource's verbs; -1 if no such resource. */
static int
cli_resource_help(const char *resource, const char *arg)
{
	FILE *f = arg != NULL && strcmp(arg, "--help") == 0 ? stdout : stderr;
	size_t i;
	int found = -1;

	for (i = 0; i < nitems(cli_cmds); i++) {
		if (cli_cmds[i].resource == NULL || strcmp(cli_cmds[i].resource, resource) != 0)
			continue;
		if (found < 0)
			fprintf(f, "usage:\n");
		fprintf(f, "  drover %-56s %s\n", cli_cmds[i].usage, cli_cmds[i].help);
		found = 0;
	}
	return found;
}

static void
cli_help(FILE *f)
{
	size_t i;

	fputs("usage: drover [--server URL] [--json] <resource> <verb> [ARGS]\n\n", f);
	for (i = 0; i < nitems(cli_cmds); i++)
		fprintf(f, "  %-60s %s\n", cli_cmds[i].usage, cli_cmds[i].help);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "commands", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli = { 0 };
	const struct cli_cmd *cmd;
	int c, r;

	log_init("drover", false, LOG_WARNING);
	/* Global options stop at the first word: the rest belong to the verb. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			cli.server = optarg;
			break;
		case 'j':
			cli.json = true;
			break;
		case 'h':
			cli_help(stdout);
			return 0;
		case 'V':
			printf("drover %s\n", PACKAGE_VERSION);
			return 0;
		case 'C':
			cli_commands();
			return 0;
		default:
			cli_help(stderr);
			return 1;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		cli_help(stderr);
		return 1;
	}
	cmd = cli_cmd_find(argv[0], argc > 1 ? argv[1] : NULL);
	if (cmd == NULL && cli_resource_help(argv[0], argc > 1 ? argv[1] : NULL) == 0)
		return argc > 1 && strcmp(argv[1], "--help") == 0 ? 0 : 1;
	if (cmd == NULL)
		return cli_fail("unknown command '%s%s%s' (see drover --help)", argv[0],
		    argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
	if (cmd->resource != NULL) {
		argc--;
		argv++;
	}
	for (c = 1; c < argc; c++) {
		if (strcmp(argv[c], "--help") == 0) {
			printf("usage: drover %s\n\n%s\n", cmd->usage, cmd->help);
			return 0;
		}
	}
	if ((cmd->flags & CLI_REMOTE) && (r = cli_config_load(&cli)) != 0)
		return r;
	/* Verbs parse their own options; 0 makes glibc forget the "+" mode used above. */
	optind = 0;
	r = cmd->run(&cli, argc, argv);
	json_decref(cli.config);
	return r;
}
