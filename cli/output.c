/* output.c - what verbs print: tables fitted to the terminal, or JSON with --json. */
#define LOG_COMPONENT "cli"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/cli.h"

#define CLI_CELL_MAX 256

/* Print a JSON value for --json: indented, one document. */
void
cli_print_json(const json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
}

/* Render one cell as text: strings as they are, times as ISO-8601, the rest as JSON. */
static void
cli_cell(const json_t *v, const struct cli_column *col, char *out, size_t size)
{
	char *s;

	if (v == NULL || json_is_null(v)) {
		str_copy(out, "-", size);
	} else if (json_is_string(v)) {
		str_copy(out, json_string_value(v), size);
	} else if ((col->flags & CLI_COL_TIME) && json_is_integer(v)) {
		time_t t = (time_t)json_integer_value(v);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	} else {
		s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		str_copy(out, s != NULL ? s : "?", size);
		free(s);
	}
	/* One row per line: no control characters from the server reach the terminal. */
	for (s = out; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static int
cli_terminal_width(void)
{
	struct winsize ws;

	if (!isatty(STDOUT_FILENO))
		return 0;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/*
 * Print rows (a JSON array of objects) as a table. On a terminal the widest columns
 * are cut (with "~") until the table fits; into a pipe nothing is cut.
 */
void
cli_table(const struct cli_column *cols, size_t ncols, const json_t *rows)
{
	size_t nrows = json_array_size(rows), r, c, total;
	int term = cli_terminal_width();
	char(*cells)[CLI_CELL_MAX];
	size_t *width;

	cells = xcalloc((nrows + 1) * ncols, CLI_CELL_MAX);
	width = xcalloc(ncols, sizeof *width);
	for (c = 0; c < ncols; c++) {
		str_copy(cells[c], cols[c].title, CLI_CELL_MAX);
		width[c] = strlen(cols[c].title);
	}
	for (r = 0; r < nrows; r++) {
		json_t *row = json_array_get(rows, r);
		for (c = 0; c < ncols; c++) {
			char *cell = cells[(r + 1) * ncols + c];
			cli_cell(json_object_get(row, cols[c].key), &cols[c], cell,
			    CLI_CELL_MAX);
			if (strlen(cell) > width[c])
				width[c] = strlen(cell);
		}
	}
	for (;;) {
		size_t widest = 0;
		for (total = 0, c = 0; c < ncols; c++) {
			total += width[c] + (c + 1 < ncols ? 2 : 0);
			if (width[c] > width[widest])
				widest = c;
		}
		if (term == 0 || total <= (size_t)term || width[widest] <= 8)
			break;
		width[widest]--;
	}
	for (r = 0; r <= nrows; r++) {
		for (c = 0; c < ncols; c++) {
			char *cell = cells[r * ncols + c];
			if (strlen(cell) > width[c]) {
				cell[width[c] - 1] = '~';
				cell[width[c]] = '\0';
			}
			if (c + 1 < ncols)
				printf("%-*s  ", (int)width[c], cell);
			else
				printf("%s\n", cell);
		}
	}
	free(width);
	free(cells);
}

/* Print one object as "key: value" lines, in the order of cols. */
void
cli_record(const struct cli_column *cols, size_t ncols, const json_t *obj)
{
	char cell[CLI_CELL_MAX];
	size_t c, w = 0;

	for (c = 0; c < ncols; c++)
		if (strlen(cols[c].title) > w)
			w = strlen(cols[c].title);
	for (c = 0; c < ncols; c++) {
		cli_cell(json_object_get(obj, cols[c].key), &cols[c], cell, sizeof cell);
		printf("%-*s  %s\n", (int)w + 1, cols[c].title, cell);
	}
}

/* A page of a list answer (Foreman's shape) as a table; when the search matched more
 * than the page holds, say so on stderr, so that a pipe reads only the rows. */
void
cli_table_page(const struct cli_column *cols, size_t ncols, const json_t *answer)
{
	const json_t *rows = json_object_get(answer, "results");
	json_int_t sub = json_integer_value(json_object_get(answer, "subtotal"));
	json_int_t page = json_integer_value(json_object_get(answer, "page"));

	cli_table(cols, ncols, rows);
	if (sub > (json_int_t)json_array_size(rows))
		fprintf(stderr, "page %lld: %zu of %lld shown (--page N, --per-page N up to %d)\n",
		    (long long)page, json_array_size(rows), (long long)sub, 1000);
}
