/*
 * template_int.h - what the template engine's files share (not part of core.h: nothing
 * outside core/template*.c may depend on the engine's inner shape).
 */
#ifndef DROVER_TEMPLATE_INT_H
#define DROVER_TEMPLATE_INT_H

#include "core/core.h"

/* Python's str() of a value appended to b: strings raw, None as "None". */
int tval_str(struct buf *b, const json_t *v);
/* Python's repr() of a value appended to b. */
int tval_repr(struct buf *b, const json_t *v);
/* A float the way Python prints it (shortest round-trip, "1.0", "1e+20"). */
int tval_float(struct buf *b, double d);
/* Python's json.dumps: indent < 0 is one line with ", " and ": "; sort_keys as Python. */
int tval_json(struct buf *b, const json_t *v, int indent, bool sort_keys, int depth);
/* str(v) as a new string; caller frees. */
char *tval_strdup(const json_t *v);
/* Python ==, with bool as int and 1 == 1.0. */
bool tval_equal(const json_t *a, const json_t *b);
/* Python ordering: -1/0/1 in *ret, -1 with err when the types do not compare. */
int tval_compare(const json_t *a, const json_t *b, int *ret, struct dr_error *err);
/* Python's type name ("str", "int", "list", "dict", "NoneType"). */
const char *tval_type(const json_t *v);
/* A number as a double; false when v is not a number or bool. */
bool tval_number(const json_t *v, double *ret);
/* An integer (or bool); false otherwise. */
bool tval_int(const json_t *v, long long *ret);
/* Code points in a UTF-8 string, and the byte offset of code point i. */
size_t utf8_len(const char *s, size_t n);
size_t utf8_offset(const char *s, size_t n, size_t i);
/* json_stringn of a buf's contents; b is freed. */
json_t *tval_from_buf(struct buf *b);
/* `x in container` as Python does it; -1 with err for a container that is not one. */
int tval_contains(const json_t *container, const json_t *x, bool *ret, struct dr_error *err);
/* The sequence a value iterates over (list: itself, dict: keys, str: characters). */
json_t *tval_iter_list(const json_t *v, struct dr_error *err);
/* Python's "%s %d" % args formatting. */
int tval_percent_format(struct buf *b, const char *fmt, const json_t *args, struct dr_error *err);

/* template_filters.c */
struct template_filter {
	const char *name;
	template_filter_fn fn;
	bool undefined_ok;
};
struct template_test {
	const char *name;
	template_test_fn fn;
	bool undefined_ok;
};
const struct template_filter *template_filter_find(const char *name);
const struct template_test *template_test_find(const char *name);
/* Python-style method call on a value (`s.split(',')`, `d.get(k, x)`): 0 and *ret, 1 when
 * no such method exists for that type, -1 with err on failure. */
int template_method_call(const json_t *obj, const char *name, const struct template_args *args,
    json_t **ret, struct dr_error *err);
/* HTML-escape s into b (& < > " '). */
int template_html_escape(struct buf *b, const char *s, size_t n);

#endif /* DROVER_TEMPLATE_INT_H */
