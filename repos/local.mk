# content: products, repositories, sync, pool, versions, content views, errata, publication
libdrover_a_SOURCES += \
	repos/repos.h \
	repos/repos.c \
	repos/zread.c \
	repos/pool.c \
	repos/rpmmd.c \
	repos/deb.c \
	repos/sign.c \
	repos/repo.c \
	repos/sync.c \
	repos/yum.c \
	repos/apt.c \
	repos/osv.c \
	repos/version.c \
	repos/cv.c \
	repos/errata.c \
	repos/content.c \
	repos/api.c \
	repos/ui.c
