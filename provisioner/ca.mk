# The certificate authority (issue 7): its own file list, so that it merges apart from
# provisioner/local.mk.
libdrover_a_SOURCES += provisioner/ca.h provisioner/ca.c provisioner/ca_api.c
drover_SOURCES += cli/cmd-ca.c
