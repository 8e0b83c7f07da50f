/*
 * template_value.c - Python's view of json_t values for the template engine: str(),
 * repr(), json.dumps, ==, ordering and `in`, so output matches what Ansible prints.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/template_int.h"

/* A float the way Python's repr() prints it: shortest digits that read back the same. */
int
tval_float(struct buf *b, double d)
{
	char tmp[64], digits[32];
	int p, exp, nd = 0;

	if (isnan(d))
		return buf_adds(b, "nan");
	if (isinf(d))
		return buf_adds(b, d < 0 ? "-inf" : "inf");
	if (d == 0)
		return buf_adds(b, signbit(d) ? "-0.0" : "0.0");
	for (p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof tmp, "%.*e", p - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	const char *s = tmp;
	if (*s == '-') {
		if (buf_addc(b, '-') < 0)
			return -1;
		s++;
	}
	for (; *s != 'e'; s++)
		if (*s != '.')
			digits[nd++] = *s;
	digits[nd] = '\0';
	exp = atoi(s + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		digits[--nd] = '\0';
	if (exp < -4 || exp >= 16) {
		if (buf_addc(b, digits[0]) < 0)
			return -1;
		if (nd > 1 && (buf_addc(b, '.') < 0 || buf_adds(b, digits + 1) < 0))
			return -1;
		return buf_addf(b, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
	}
	if (exp < 0) {
		if (buf_adds(b, "0.") < 0)
			return -1;
		for (int i = 0; i < -exp - 1; i++)
			if (buf_addc(b, '0') < 0)
				return -1;
		return buf_adds(b, digits);
	}
	if (exp >= nd - 1) {
		if (buf_adds(b, digits) < 0)
			return -1;
		for (int i = 0; i < exp - (nd - 1); i++)
			if (buf_addc(b, '0') < 0)
				return -1;
		return buf_adds(b, ".0");
	}
	if (buf_add(b, digits, (size_t)exp + 1) < 0 || buf_addc(b, '.') < 0)
		return -1;
	return buf_adds(b, digits + exp + 1);
}

/* A Python string literal: single quotes unless the text holds ' and no ". */
static int
tval_repr_string(struct buf *b, const char *s, size_t n)
{
	char q = memchr(s, '\'', n) && !memchr(s, '"', n) ? '"' : '\'';

	if (buf_addc(b, q) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int r;
		if (c == '\\' || c == (unsigned char)q)
			r = buf_addf(b, "\\%c", c);
		else if (c == '\n')
			r = buf_adds(b, "\\n");
		else if (c == '\r')
			r = buf_adds(b, "\\r");
		else if (c == '\t')
			r = buf_adds(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			r = buf_addf(b, "\\x%02x", c);
		else
			r = buf_addc(b, (char)c);
		if (r < 0)
			return -1;
	}
	return buf_addc(b, q);
}

/* Python's repr() of a value. */
int
tval_repr(struct buf *b, const json_t *v)
{
	size_t i;
	const char *k;
	json_t *x;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return tval_repr_string(b, json_string_value(v), json_string_length(v));
	case JSON_ARRAY:
		if (buf_addc(b, '[') < 0)
			return -1;
		json_array_foreach(v, i, x)
		{
			if (i > 0 && buf_adds(b, ", ") < 0)
				return -1;
			if (tval_repr(b, x) < 0)
				return -1;
		}
		return buf_addc(b, ']');
	case JSON_OBJECT:
		if (buf_addc(b, '{') < 0)
			return -1;
		i = 0;
		json_object_foreach((json_t *)v, k, x)
		{
			if (i++ > 0 && buf_adds(b, ", ") < 0)
				return -1;
			if (tval_repr_string(b, k, strlen(k)) < 0 || buf_adds(b, ": ") < 0 ||
			    tval_repr(b, x) < 0)
				return -1;
		}
		return buf_addc(b, '}');
	default:
		return tval_str(b, v);
	}
}

/* Python's str() of a value. */
int
tval_str(struct buf *b, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return buf_add(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return buf_addf(b, "%lld", (long long)json_integer_value(v));
	case JSON_REAL:
		return tval_float(b, json_real_value(v));
	case JSON_TRUE:
		return buf_adds(b, "True");
	case JSON_FALSE:
		return buf_adds(b, "False");
	case JSON_NULL:
		return buf_adds(b, "None");
	default:
		return tval_repr(b, v);
	}
}

/* str(v) as a new string; caller frees. */
char *
tval_strdup(const json_t *v)
{
	struct buf b = BUF_INIT(0);

	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	tval_str(&b, v);
	return buf_steal(&b);
}

/* A JSON string as Python's json.dumps writes it (ensure_ascii). */
static int
tval_json_string(struct buf *b, const char *s, size_t n)
{
	if (buf_addc(b, '"') < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int r = 0;
		if (c == '"' || c == '\\')
			r = buf_addf(b, "\\%c", c);
		else if (c == '\n')
			r = buf_adds(b, "\\n");
		else if (c == '\r')
			r = buf_adds(b, "\\r");
		else if (c == '\t')
			r = buf_adds(b, "\\t");
		else if (c == '\b')
			r = buf_adds(b, "\\b");
		else if (c == '\f')
			r = buf_adds(b, "\\f");
		else if (c < 0x20 || c == 0x7f)
			r = buf_addf(b, "\\u%04x", c);
		else if (c < 0x80)
			r = buf_addc(b, (char)c);
		else {
			/* Decode one UTF-8 sequence (jansson validated it) to \uXXXX. */
			unsigned cp;
			int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
			cp = c & (0x3f >> more);
			for (int j = 0; j < more && i + 1 < n; j++)
				cp = (cp << 6) | ((unsigned char)s[++i] & 0x3f);
			if (cp >= 0x10000) {
				cp -= 0x10000;
				r = buf_addf(b, "\\u%04x\\u%04x", 0xd800 + (cp >> 10),
				    0xdc00 + (cp & 0x3ff));
			} else
				r = buf_addf(b, "\\u%04x", cp);
		}
		if (r < 0)
			return -1;
	}
	return buf_addc(b, '"');
}

/* Newline and indentation for a pretty-printed level. */
static int
tval_json_indent(struct buf *b, int indent, int depth)
{
	if (indent < 0)
		return 0;
	if (buf_addc(b, '\n') < 0)
		return -1;
	for (int i = 0; i < indent * depth; i++)
		if (buf_addc(b, ' ') < 0)
			return -1;
	return 0;
}

static int
tval_key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Python's json.dumps. */
int
tval_json(struct buf *b, const json_t *v, int indent, bool sort_keys, int depth)
{
	size_t i, n;
	json_t *x;
	const char *sep = indent < 0 ? ", " : ",";

	if (depth > 200)
		return -1;
	switch (json_typeof(v)) {
	case JSON_STRING:
		return tval_json_string(b, json_string_value(v), json_string_length(v));
	case JSON_TRUE:
		return buf_adds(b, "true");
	case JSON_FALSE:
		return buf_adds(b, "false");
	case JSON_NULL:
		return buf_adds(b, "null");
	case JSON_REAL:
		if (isnan(json_real_value(v)))
			return buf_adds(b, "NaN");
		if (isinf(json_real_value(v)))
			return buf_adds(b, json_real_value(v) < 0 ? "-Infinity" : "Infinity");
		return tval_float(b, json_real_value(v));
	case JSON_INTEGER:
		return tval_str(b, v);
	case JSON_ARRAY:
		n = json_array_size(v);
		if (n == 0)
			return buf_adds(b, "[]");
		if (buf_addc(b, '[') < 0)
			return -1;
		json_array_foreach(v, i, x)
		{
			if (i > 0 && buf_adds(b, sep) < 0)
				return -1;
			if (tval_json_indent(b, indent, depth + 1) < 0 ||
			    tval_json(b, x, indent, sort_keys, depth + 1) < 0)
				return -1;
		}
		if (tval_json_indent(b, indent, depth) < 0)
			return -1;
		return buf_addc(b, ']');
	case JSON_OBJECT: {
		n = json_object_size(v);
		if (n == 0)
			return buf_adds(b, "{}");
		const char **keys = xcalloc(n, sizeof *keys);
		const char *k;
		int r = -1;
		i = 0;
		json_object_foreach((json_t *)v, k, x) keys[i++] = k;
		if (sort_keys)
			qsort(keys, n, sizeof *keys, tval_key_cmp);
		if (buf_addc(b, '{') < 0)
			goto out;
		for (i = 0; i < n; i++) {
			if (i > 0 && buf_adds(b, sep) < 0)
				goto out;
			if (tval_json_indent(b, indent, depth + 1) < 0 ||
			    tval_json_string(b, keys[i], strlen(keys[i])) < 0 ||
			    buf_adds(b, ": ") < 0 ||
			    tval_json(
			        b, json_object_get(v, keys[i]), indent, sort_keys, depth + 1) < 0)
				goto out;
		}
		if (tval_json_indent(b, indent, depth) < 0)
			goto out;
		r = buf_addc(b, '}');
	out:
		free(keys);
		return r;
	}
	}
	return -1;
}

/* A number (bool counts, as in Python) as a double. */
bool
tval_number(const json_t *v, double *ret)
{
	if (json_is_integer(v))
		*ret = (double)json_integer_value(v);
	else if (json_is_real(v))
		*ret = json_real_value(v);
	else if (json_is_boolean(v))
		*ret = json_is_true(v);
	else
		return false;
	return true;
}

/* An integer (bool counts) as long long. */
bool
tval_int(const json_t *v, long long *ret)
{
	if (json_is_integer(v))
		*ret = json_integer_value(v);
	else if (json_is_boolean(v))
		*ret = json_is_true(v);
	else
		return false;
	return true;
}

/* Python's type name, for error messages. */
const char *
tval_type(const json_t *v)
{
	static const char *const names[] = {
	    [JSON_OBJECT] = "dict",
	    [JSON_ARRAY] = "list",
	    [JSON_STRING] = "str",
	    [JSON_INTEGER] = "int",
	    [JSON_REAL] = "float",
	    [JSON_TRUE] = "bool",
	    [JSON_FALSE] = "bool",
	    [JSON_NULL] = "NoneType",
	};
	return v ? names[json_typeof(v)] : "Undefined";
}

/* Python ==. */
bool
tval_equal(const json_t *a, const json_t *b)
{
	double x, y;
	long long i, j;

	if (tval_int(a, &i) && tval_int(b, &j))
		return i == j;
	if (tval_number(a, &x) && tval_number(b, &y))
		return x == y;
	if (json_typeof(a) != json_typeof(b))
		return false;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (size_t k = 0; k < json_array_size(a); k++)
			if (!tval_equal(json_array_get(a, k), json_array_get(b, k)))
				return false;
		return true;
	}
	if (json_is_object(a)) {
		const char *k;
		json_t *v;
		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_foreach((json_t *)a, k, v)
		{
			json_t *w = json_object_get(b, k);
			if (!w || !tval_equal(v, w))
				return false;
		}
		return true;
	}
	return json_equal((json_t *)a, (json_t *)b);
}

/* Python ordering of two values. */
int
tval_compare(const json_t *a, const json_t *b, int *ret, struct dr_error *err)
{
	double x, y;
	long long i, j;

	if (tval_int(a, &i) && tval_int(b, &j)) {
		*ret = (i > j) - (i < j);
		return 0;
	}
	if (tval_number(a, &x) && tval_number(b, &y)) {
		*ret = (x > y) - (x < y);
		return 0;
	}
	if (json_is_string(a) && json_is_string(b)) {
		int c = strcmp(json_string_value(a), json_string_value(b));
		*ret = (c > 0) - (c < 0);
		return 0;
	}
	if (json_is_array(a) && json_is_array(b)) {
		size_t na = json_array_size(a), nb = json_array_size(b);
		for (size_t k = 0; k < na && k < nb; k++) {
			json_t *p = json_array_get(a, k), *q = json_array_get(b, k);
			if (tval_equal(p, q))
				continue;
			return tval_compare(p, q, ret, err);
		}
		*ret = (na > nb) - (na < nb);
		return 0;
	}
	return dr_error_set(err, "'<' not supported between instances of '%s' and '%s'",
	    tval_type(a), tval_type(b));
}

/* Code points in a UTF-8 string. */
size_t
utf8_len(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			c++;
	return c;
}

/* Byte offset of code point i (n when past the end). */
size_t
utf8_offset(const char *s, size_t n, size_t i)
{
	size_t at = 0;

	for (size_t k = 0; k < n; k++) {
		if (((unsigned char)s[k] & 0xc0) == 0x80)
			continue;
		if (at++ == i)
			return k;
	}
	return n;
}

/* json_stringn of a buf's contents, freeing the buf. */
json_t *
tval_from_buf(struct buf *b)
{
	json_t *j = json_stringn_nocheck(b->data ? b->data : "", b->len);

	buf_free(b);
	return j;
}

/* Python `x in container`. */
int
tval_contains(const json_t *c, const json_t *x, bool *ret, struct dr_error *err)
{
	size_t i;
	json_t *v;

	switch (json_typeof(c)) {
	case JSON_STRING:
		if (!json_is_string(x))
			return dr_error_set(err,
			    "'in <string>' requires string as left operand, not %s", tval_type(x));
		*ret = memmem(json_string_value(c), json_string_length(c), json_string_value(x),
		           json_string_length(x)) != NULL;
		return 0;
	case JSON_ARRAY:
		*ret = false;
		json_array_foreach(c, i, v) if (tval_equal(v, x))
		{
			*ret = true;
			break;
		}
		return 0;
	case JSON_OBJECT:
		*ret = json_is_string(x) && json_object_get(c, json_string_value(x));
		return 0;
	default:
		return dr_error_set(err, "argument of type '%s' is not iterable", tval_type(c));
	}
}

/* What a for loop walks over. New reference. */
json_t *
tval_iter_list(const json_t *v, struct dr_error *err)
{
	json_t *l, *x;
	const char *k;

	switch (json_typeof(v)) {
	case JSON_ARRAY:
		return json_incref((json_t *)v);
	case JSON_OBJECT:
		l = json_array();
		json_object_foreach((json_t *)v, k, x) json_array_append_new(l, json_string(k));
		return l;
	case JSON_STRING: {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v), i = 0;
		l = json_array();
		while (i < n) {
			size_t j = i + 1;
			while (j < n && ((unsigned char)s[j] & 0xc0) == 0x80)
				j++;
			json_array_append_new(l, json_stringn(s + i, j - i));
			i = j;
		}
		return l;
	}
	default:
		dr_error_set(err, "'%s' object is not iterable", tval_type(v));
		return NULL;
	}
}

/* Python "fmt" % args: %s %r %d %i %f %e %g %x %o %% with flags, width, precision. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
int
tval_percent_format(struct buf *b, const char *fmt, const json_t *args, struct dr_error *err)
{
	size_t argi = 0, nargs = json_is_array(args) ? json_array_size(args) : 1;

	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			if (buf_addc(b, *p) < 0)
				return dr_error_set(err, "output too large");
			continue;
		}
		if (p[1] == '%') {
			buf_addc(b, '%');
			p++;
			continue;
		}
		char spec[32];
		size_t sl = 0;
		spec[sl++] = '%';
		p++;
		while (*p && strchr("-+ 0#", *p) && sl < 10)
			spec[sl++] = *p++;
		while (*p && ((*p >= '0' && *p <= '9') || *p == '.') && sl < 20)
			spec[sl++] = *p++;
		if (!*p)
			return dr_error_set(err, "incomplete format");
		const json_t *a = json_is_array(args) ? json_array_get(args, argi) : args;
		if (argi++ >= nargs || !a)
			return dr_error_set(err, "not enough arguments for format string");
		char conv = *p;
		double d;
		long long ll;
		int r;
		switch (conv) {
		case 's':
		case 'r': {
			struct buf s = BUF_INIT(0);
			if (conv == 's')
				tval_str(&s, a);
			else
				tval_repr(&s, a);
			spec[sl++] = 's';
			spec[sl] = '\0';
			r = buf_addf(b, spec, s.data ? s.data : "");
			buf_free(&s);
			break;
		}
		case 'd':
		case 'i':
		case 'x':
		case 'X':
		case 'o':
			if (!tval_number(a, &d))
				return dr_error_set(err,
				    "%%%c format: a number is required, not %s", conv,
				    tval_type(a));
			ll = tval_int(a, &ll) ? ll : (long long)d;
			spec[sl++] = 'l';
			spec[sl++] = 'l';
			spec[sl++] = conv == 'i' ? 'd' : conv;
			spec[sl] = '\0';
			r = buf_addf(b, spec, ll);
			break;
		case 'f':
		case 'F':
		case 'e':
		case 'E':
		case 'g':
		case 'G':
			if (!tval_number(a, &d))
				return dr_error_set(
				    err, "must be real number, not %s", tval_type(a));
			spec[sl++] = conv;
			spec[sl] = '\0';
			r = buf_addf(b, spec, d);
			break;
		default:
			return dr_error_set(err, "unsupported format character '%c'", conv);
		}
		if (r < 0)
			return dr_error_set(err, "output too large");
	}
	if (json_is_array(args) && argi < nargs)
		return dr_error_set(err, "not all arguments converted during string formatting");
	return 0;
}
#pragma GCC diagnostic pop
