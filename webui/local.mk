libdrover_a_SOURCES += \
	webui/webui.h \
	webui/auth.c \
	webui/api.c
