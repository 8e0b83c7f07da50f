libdrover_a_SOURCES += \
	core/core.h \
	core/error.c \
	core/log.c \
	core/mem.c \
	core/buf.c

# yaml and config
libdrover_a_SOURCES += core/yaml.c core/config.c

# template engine
libdrover_a_SOURCES += \
	core/template_int.h \
	core/template.c \
	core/template_filters.c \
	core/template_value.c

# cron
libdrover_a_SOURCES += core/cron.c core/tz.c

# store, jobs, scheduler
libdrover_a_SOURCES += core/store.c core/job.c core/schedule.c

# HTTP client
libdrover_a_SOURCES += core/http.c

# credentials encrypted at rest
libdrover_a_SOURCES += core/secret.c

# helper programs
libdrover_a_SOURCES += core/proc.c

# libraries loaded on first use
libdrover_a_SOURCES += core/dlib.c
