/* bench.c - compile + render bench.tmpl N times with our engine; prints microseconds each. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int
main(int argc, char **argv)
{
	struct dr_error err;
	char *text, *out = NULL;
	size_t len;
	json_error_t je;
	int n = argc > 3 ? atoi(argv[3]) : 1000;

	if (argc < 3 || file_read(argv[1], 1 << 22, &text, &len, &err) < 0) {
		fprintf(stderr, "usage: bench TEMPLATE VARS.json [N]\n");
		return 1;
	}
	json_t *vars = json_load_file(argv[2], 0, &je);
	struct template_opts opts = {.trim_blocks = true};
	int64_t t0 = time_mono_us();
	for (int i = 0; i < n; i++) {
		struct template *t;
		free(out);
		if (template_compile("bench.tmpl", text, &opts, &t, &err) < 0 ||
		    template_render(t, vars, &out, &len, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		template_free(t);
	}
	int64_t t1 = time_mono_us();
	fwrite(out, 1, len, stderr);
	printf("%.1f\n", (double)(t1 - t0) / n);
	free(out);
	free(text);
	json_decref(vars);
	return 0;
}
