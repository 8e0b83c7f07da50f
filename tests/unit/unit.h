/* unit.h - what every cmocka unit test includes. */
#ifndef DROVER_UNIT_H
#define DROVER_UNIT_H

#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <unistd.h>

#include "core/core.h"

/*
 * Skip a whole test binary with a reason. cmocka 1.1.5 prints "not ok # SKIP" for skip(),
 * which automake's TAP driver counts as a failure, so skipping is done per binary.
 */
#define UNIT_SKIP_ALL(reason)                                                            \
	do {                                                                             \
		printf("1..0 # SKIP %s\n", reason);                                      \
		return 0;                                                                \
	} while (0)

/* A fresh directory /tmp/drover-TAG-XXXXXX for one test; unit_dir_remove frees it. */
static inline char *
unit_dir_make(const char *tag)
{
	char *dir = xasprintf("/tmp/drover-%s-XXXXXX", tag);

	assert_non_null(mkdtemp(dir));
	return dir;
}

/* Remove a test directory and the files in it (one level deep), and free its name. */
static inline void
unit_dir_remove(char *dir)
{
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			_cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(dir);
	free(dir);
}

#endif /* DROVER_UNIT_H */
