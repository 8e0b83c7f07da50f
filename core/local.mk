libdrover_a_SOURCES += \
	core/core.h \
	core/error.c \
	core/log.c \
	core/mem.c \
	core/buf.c

# yaml and config

# template engine

# cron
libdrover_a_SOURCES += core/cron.c core/tz.c

# store, jobs, scheduler
libdrover_a_SOURCES += core/store.c core/job.c core/schedule.c

# HTTP client
