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

#endif /* DROVER_UNIT_H */
