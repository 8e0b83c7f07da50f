# provisioner/: hosts and their model, build flow, unattended endpoints.
PROV_TEMPLATES = \
	provisioner/templates/autoinstall.tmpl \
	provisioner/templates/finish.tmpl \
	provisioner/templates/image.tmpl \
	provisioner/templates/installer.sh \
	provisioner/templates/ipxe.tmpl \
	provisioner/templates/kickstart.tmpl \
	provisioner/templates/preseed.tmpl \
	provisioner/templates/ptable_kickstart.tmpl \
	provisioner/templates/ptable_preseed.tmpl \
	provisioner/templates/pxegrub2.tmpl \
	provisioner/templates/pxelinux.tmpl \
	provisioner/templates/rawdisk.sh \
	provisioner/templates/snippet_built.tmpl \
	provisioner/templates/snippet_host_certificate.tmpl \
	provisioner/templates/snippet_ntp.tmpl \
	provisioner/templates/snippet_repositories.tmpl \
	provisioner/templates/snippet_ssh_keys.tmpl

libdrover_a_SOURCES += \
	provisioner/provisioner.h \
	provisioner/provisioner.c \
	provisioner/resource.c \
	provisioner/host.c \
	provisioner/render.c \
	provisioner/boot.c \
	provisioner/compute.c \
	provisioner/power.c \
	provisioner/discovery.c \
	provisioner/pxesetup.c \
	provisioner/bootfetch.c \
	provisioner/hostcert.c \
	provisioner/image.c \
	provisioner/api.c \
	provisioner/content.c \
	provisioner/bulk.c \
	provisioner/ui.c
nodist_libdrover_a_SOURCES += provisioner/templates.c
BUILT_SOURCES += provisioner/templates.c
CLEANFILES += provisioner/templates.c
EXTRA_DIST += provisioner/embed.sh $(PROV_TEMPLATES)

provisioner/templates.c: $(PROV_TEMPLATES) provisioner/embed.sh
	$(AM_V_GEN)$(MKDIR_P) provisioner && \
		$(SHELL) $(srcdir)/provisioner/embed.sh $@ $(PROV_TEMPLATES:%=$(srcdir)/%)
