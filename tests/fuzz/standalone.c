/* standalone.c - run a libFuzzer target over files without libFuzzer: the corpus test. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char **argv)
{
	struct dr_error err;
	char *data;
	size_t len;
	int i;

	for (i = 1; i < argc; i++) {
		if (file_read(argv[i], 1 << 20, &data, &len, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		LLVMFuzzerTestOneInput((const uint8_t *)data, len);
		free(data);
		printf("ok %d - %s\n", i, argv[i]);
	}
	printf("1..%d\n", argc - 1);
	return 0;
}
