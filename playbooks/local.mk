# transport and facts (play-ssh)
libdrover_a_SOURCES += playbooks/playbooks.h playbooks/conn_ssh.c playbooks/facts.c
