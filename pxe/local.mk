# pxe/: TFTP server, boot loaders, DHCP adapter.
libdrover_a_SOURCES += \
	pxe/pxe.h \
	pxe/tftp.c \
	pxe/bootfiles.c \
	pxe/dnsmasq.c
