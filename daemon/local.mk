sbin_PROGRAMS += droverd
droverd_SOURCES = daemon/droverd.c
droverd_LDADD = $(DROVER_LIBS)

# The unit, the system user and the default configuration.
systemdsystemunit_DATA = daemon/droverd.service
sysusersdir = $(prefix)/lib/sysusers.d
sysusers_DATA = daemon/drover.conf
droverconfdir = $(sysconfdir)/drover
CLEANFILES += daemon/droverd.service daemon/drover.conf
EXTRA_DIST += daemon/droverd.service.in daemon/drover.sysusers

daemon/droverd.service: daemon/droverd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) daemon && sed -e 's|@sbindir[@]|$(sbindir)|g' \
		-e 's|@sysconfdir[@]|$(sysconfdir)|g' $(srcdir)/daemon/droverd.service.in > $@
daemon/drover.conf: daemon/drover.sysusers
	$(AM_V_GEN)$(MKDIR_P) daemon && cp $(srcdir)/daemon/drover.sysusers $@

# The default configuration is installed once and never overwritten.
install-data-local:
	$(MKDIR_P) $(DESTDIR)$(droverconfdir)
	test -f $(DESTDIR)$(droverconfdir)/droverd.yml || \
		$(INSTALL_DATA) $(srcdir)/daemon/droverd.yml $(DESTDIR)$(droverconfdir)/droverd.yml
uninstall-local:
	rm -f $(DESTDIR)$(droverconfdir)/droverd.yml


dist_man_MANS += docs/droverd.8 docs/drover.1
bashcompletiondir = $(datadir)/bash-completion/completions
dist_bashcompletion_DATA = cli/completion/drover
