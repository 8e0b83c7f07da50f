bin_PROGRAMS += drover
drover_SOURCES = cli/drover.c cli/cli.h \
	cli/rest.c \
	cli/output.c \
	cli/cmd-status.c \
	cli/cmd-job.c \
	cli/cmd-schedule.c \
	cli/cmd-template.c \
	cli/cmd-cron.c \
	cli/cmd-user.c \
	cli/cmd-repo.c \
	cli/cmd-host.c \
	cli/cmd-play.c \
	cli/cmd-remote.c \
	cli/cmd-image.c \
	cli/cmd-syncplan.c \
	cli/cmd-gitcred.c
drover_LDADD = $(DROVER_LIBS)
