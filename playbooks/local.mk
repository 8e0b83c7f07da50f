# The playbook engine: `drover play` and droverd's playbook jobs.
# engine and modules (play-engine)
libdrover_a_SOURCES += playbooks/playbooks.h \
	playbooks/conn.c \
	playbooks/conn_local.c \
	playbooks/inventory.c \
	playbooks/playbook.c \
	playbooks/vars.c \
	playbooks/executor.c \
	playbooks/output.c \
	playbooks/job.c \
	playbooks/modules/common.c \
	playbooks/modules/control.c \
	playbooks/modules/command.c \
	playbooks/modules/files.c \
	playbooks/modules/system.c
# transport and facts (play-ssh)
libdrover_a_SOURCES += playbooks/conn_ssh.c playbooks/facts.c
# package, service and system modules (play-pkg)
libdrover_a_SOURCES += playbooks/modules/packages.c playbooks/modules/services.c \
	playbooks/modules/sources.c playbooks/modules/hostconf.c
# get_url, uri, unarchive, known_hosts, git, reboot (play-net)
libdrover_a_SOURCES += playbooks/modules/net.c playbooks/modules/archive.c \
	playbooks/modules/remote.c playbooks/modules/async.c playbooks/inventory_droverd.c
