/* droverd.c - the Drover daemon: start-up order, signals, shutdown. */
#define LOG_COMPONENT "droverd"
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "webui/webui.h"

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("droverd %s\n", PACKAGE_VERSION);
		return 0;
	}
	log_init("droverd", false, LOG_INFO);
	fatalx("droverd: not assembled in this revision");
}
