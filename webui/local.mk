libdrover_a_SOURCES += \
	webui/webui.h \
	webui/server.c \
	webui/metrics.c \
	webui/auth.c \
	webui/api.c
