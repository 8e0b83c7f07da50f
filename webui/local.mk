libdrover_a_SOURCES += \
	webui/webui.h
