libdrover_a_SOURCES += \
	webui/webui.h
libdrover_a_SOURCES += \
	webui/server.c \
	webui/metrics.c
