sbin_PROGRAMS += droverd
droverd_SOURCES = daemon/droverd.c
droverd_LDADD = $(DROVER_LIBS)
