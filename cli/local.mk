bin_PROGRAMS += drover
drover_SOURCES = cli/drover.c cli/cli.h \
	cli/cmd-template.c \
	cli/cmd-cron.c
drover_LDADD = $(DROVER_LIBS)
