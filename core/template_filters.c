/*
 * template_filters.c - the built-in Jinja2 and Ansible filters, tests and the Python
 * methods templates call on strings, dicts and lists, as declarative tables.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <openssl/evp.h>
#include <pcre2.h>

#include "core/template_int.h"

#define ARG(i, name) template_arg(a, (i), (name))
#define FAIL(...) return dr_error_set(err, __VA_ARGS__)

/* An argument as a bool (Python truth), with a default when absent. */
static bool
arg_bool(const struct template_args *a, size_t i, const char *name, bool def)
{
	json_t *v = ARG(i, name);

	return v ? template_truthy(v) : def;
}

/* An integer argument with a default. */
static long long
arg_int(const struct template_args *a, size_t i, const char *name, long long def)
{
	json_t *v = ARG(i, name);
	long long r;
	double d;

	if (v && tval_int(v, &r))
		return r;
	if (v && tval_number(v, &d))
		return (long long)d;
	return def;
}

/* A string argument (borrowed) or def. */
static const char *
arg_str(const struct template_args *a, size_t i, const char *name, const char *def)
{
	json_t *v = ARG(i, name);

	return json_is_string(v) ? json_string_value(v) : def;
}

static json_t *
str_new(const char *s, size_t n)
{
	return json_stringn_nocheck(s, n);
}

/* HTML-escape like markupsafe. */
int
template_html_escape(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r;
		switch (s[i]) {
		case '&':
			r = buf_adds(b, "&amp;");
			break;
		case '<':
			r = buf_adds(b, "&lt;");
			break;
		case '>':
			r = buf_adds(b, "&gt;");
			break;
		case '"':
			r = buf_adds(b, "&#34;");
			break;
		case '\'':
			r = buf_adds(b, "&#39;");
			break;
		default:
			r = buf_addc(b, s[i]);
		}
		if (r < 0)
			return -1;
	}
	return 0;
}

/* str() of the input when it is not a string already. */
struct strview {
	const char *s;
	size_t n;
	char *owned;
};

static void
sv_get(struct strview *v, const json_t *in)
{
	if (json_is_string(in)) {
		v->s = json_string_value(in);
		v->n = json_string_length(in);
		v->owned = NULL;
	} else {
		v->owned = tval_strdup(in);
		v->s = v->owned;
		v->n = strlen(v->owned);
	}
}

/* Regex helpers (PCRE2: Python's \d, \w, lookarounds and non-greedy all work). */
static pcre2_code *
regex_compile(const char *pat, uint32_t flags, struct dr_error *err)
{
	int ec;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
	    flags | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec, &off, NULL);

	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ec, msg, sizeof msg);
		dr_error_set(err, "bad regular expression '%s' at offset %zu: %s", pat,
		    (size_t)off, (char *)msg);
	}
	return re;
}

static uint32_t
regex_flags(const struct template_args *a, size_t icase_i, size_t mline_i)
{
	return (arg_bool(a, icase_i, "ignorecase", false) ? PCRE2_CASELESS : 0) |
	    (arg_bool(a, mline_i, "multiline", false) ? PCRE2_MULTILINE : 0);
}

/* Search s from offset; 1 on match, 0 none, -1 error. ov from md. */
static int
regex_exec(pcre2_code *re, pcre2_match_data *md, const char *s, size_t n, size_t off,
    uint32_t opts, struct dr_error *err)
{
	int rc = pcre2_match(re, (PCRE2_SPTR)s, n, off, opts, md, NULL);

	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0)
		return dr_error_set(err, "regular expression match failed (%d)", rc);
	return 1;
}

/* Group g (number or name) of the last match as a new string; None if it did not take part. */
static json_t *
regex_group(pcre2_code *re, pcre2_match_data *md, const char *s, const char *name, long g)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

	if (name) {
		g = pcre2_substring_number_from_name(re, (PCRE2_SPTR)name);
		if (g < 0)
			return NULL;
	}
	if ((uint32_t)g >= pcre2_get_ovector_count(md))
		return NULL;
	if (ov[2 * g] == PCRE2_UNSET)
		return json_null();
	return str_new(s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
}

/* Python re.sub replacement template: \1, \g<1>, \g<name>, \n, \\. */
static int
regex_expand(struct buf *b, pcre2_code *re, pcre2_match_data *md, const char *s, const char *rep,
    struct dr_error *err)
{
	for (const char *p = rep; *p; p++) {
		if (*p != '\\' || !p[1]) {
			buf_addc(b, *p);
			continue;
		}
		p++;
		json_t *g = NULL;
		if (isdigit((unsigned char)*p)) {
			long n = *p - '0';
			if (isdigit((unsigned char)p[1]))
				n = n * 10 + (*++p - '0');
			g = regex_group(re, md, s, NULL, n);
			if (!g)
				FAIL("invalid group reference %ld", n);
		} else if (*p == 'g' && p[1] == '<') {
			const char *end = strchr(p, '>');
			if (!end)
				FAIL("missing '>' in group reference");
			char name[64];
			str_copy(name, p + 2,
			    (size_t)(end - p - 1) < sizeof name ? (size_t)(end - p - 1)
			                                        : sizeof name);
			char *e;
			long n = strtol(name, &e, 10);
			g = regex_group(re, md, s, *e ? name : NULL, n);
			if (!g)
				FAIL("unknown group name '%s'", name);
			p = end;
		} else {
			static const char esc[][2] = {{'n', '\n'}, {'t', '\t'}, {'r', '\r'},
			    {'\\', '\\'}, {'a', '\a'}, {'f', '\f'}, {'v', '\v'}};
			size_t i;
			for (i = 0; i < nitems(esc) && esc[i][0] != *p; i++)
				;
			if (i < nitems(esc))
				buf_addc(b, esc[i][1]);
			else {
				buf_addc(b, '\\');
				buf_addc(b, *p);
			}
			continue;
		}
		if (json_is_string(g))
			buf_add(b, json_string_value(g), json_string_length(g));
		json_decref(g);
	}
	return 0;
}

/* re.sub over the whole string, count 0 meaning all. */
static int
regex_sub(const char *s, size_t n, const char *pat, const char *rep, uint32_t flags, long count,
    json_t **ret, struct dr_error *err)
{
	pcre2_code *re = regex_compile(pat, flags, err);
	struct buf b = BUF_INIT(TEMPLATE_MAX_OUTPUT);
	size_t off = 0, last = 0;
	long done = 0;
	int r = -1;

	if (!re)
		return -1;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	while (off <= n && (count == 0 || done < count)) {
		int m = regex_exec(re, md, s, n, off, 0, err);
		if (m < 0)
			goto out;
		if (m == 0)
			break;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		buf_add(&b, s + last, ov[0] - last);
		if (regex_expand(&b, re, md, s, rep, err) < 0)
			goto out;
		last = ov[1];
		done++;
		if (ov[1] == ov[0]) {
			/* An empty match: copy one character and move on, as Python does. */
			if (ov[1] >= n)
				break;
			size_t next = ov[1] + 1;
			while (next < n && ((unsigned char)s[next] & 0xc0) == 0x80)
				next++;
			buf_add(&b, s + ov[1], next - ov[1]);
			last = off = next;
		} else
			off = ov[1];
	}
	if (last < n)
		buf_add(&b, s + last, n - last);
	*ret = tval_from_buf(&b);
	r = 0;
out:
	if (r < 0)
		buf_free(&b);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return r;
}

/* Filters */

static int
f_default(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *def = ARG(0, "default_value");

	if (!in || (arg_bool(a, 1, "boolean", false) && !template_truthy(in)))
		*ret = a->npos > 0 || template_arg(a, SIZE_MAX, "default_value")
		    ? (def ? json_incref(def) : NULL)
		    : json_string("");
	else
		*ret = json_incref((json_t *)in);
	return 0;
}

static int
f_length(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	size_t n;

	if (json_is_string(in))
		n = utf8_len(json_string_value(in), json_string_length(in));
	else if (json_is_array(in))
		n = json_array_size(in);
	else if (json_is_object(in))
		n = json_object_size(in);
	else
		FAIL("object of type '%s' has no len()", tval_type(in));
	*ret = json_integer((json_int_t)n);
	return 0;
}

static int
f_bool(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	static const char *const yes[] = {"yes", "on", "1", "true"};
	double d;
	bool v = false;

	if (json_is_boolean(in))
		v = json_is_true(in);
	else if (json_is_string(in)) {
		for (size_t i = 0; i < nitems(yes); i++)
			if (strcasecmp(json_string_value(in), yes[i]) == 0)
				v = true;
	} else if (tval_number(in, &d))
		v = d == 1;
	*ret = json_boolean(v);
	return 0;
}

static int
f_int(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	long long base = arg_int(a, 1, "base", 10), i;
	double d;
	json_t *def = ARG(0, "default");

	if (tval_int(in, &i)) {
		*ret = json_integer(i);
		return 0;
	}
	if (json_is_real(in)) {
		*ret = json_integer((json_int_t)json_real_value(in));
		return 0;
	}
	if (json_is_string(in)) {
		char buf[128], *e;
		str_copy(buf, json_string_value(in), sizeof buf);
		str_trim(buf);
		const char *p = buf;
		if (base == 16 && (strncasecmp(p, "0x", 2) == 0))
			p += 2;
		errno = 0;
		i = strtoll(p, &e, (int)base);
		if (*p && !*e && errno == 0) {
			*ret = json_integer(i);
			return 0;
		}
		d = strtod(buf, &e);
		if (base == 10 && *buf && !*e && isfinite(d)) {
			*ret = json_integer((json_int_t)d);
			return 0;
		}
	}
	*ret = def ? json_incref(def) : json_integer(0);
	return 0;
}

static int
f_float(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	double d;
	json_t *def = ARG(0, "default");

	if (tval_number(in, &d)) {
		*ret = json_real(d);
		return 0;
	}
	if (json_is_string(in)) {
		char buf[128], *e;
		str_copy(buf, json_string_value(in), sizeof buf);
		str_trim(buf);
		d = strtod(buf, &e);
		if (*buf && !*e) {
			*ret = json_real(d);
			return 0;
		}
	}
	*ret = def ? json_incref(def) : json_real(0);
	return 0;
}

static int
f_string(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	char *s = tval_strdup(in);

	*ret = json_string(s);
	free(s);
	return 0;
}

/* Case mapping over ASCII letters (non-ASCII text passes through unchanged). */
enum casemode { CASE_LOWER, CASE_UPPER, CASE_CAPITALIZE, CASE_TITLE };

static json_t *
str_case(const json_t *in, enum casemode mode)
{
	struct strview v;
	sv_get(&v, in);
	char *s = xstrndup(v.s, v.n);
	bool start = true;

	for (size_t i = 0; i < v.n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (mode) {
		case CASE_LOWER:
			s[i] = (char)tolower(c);
			break;
		case CASE_UPPER:
			s[i] = (char)toupper(c);
			break;
		case CASE_CAPITALIZE:
			s[i] = (char)(i == 0 ? toupper(c) : tolower(c));
			break;
		case CASE_TITLE:
			/* Jinja: a word starts after white space, '-', '(', '{', '[' or '<'. */
			if (isspace(c) || strchr("-({[<", c)) {
				start = true;
				continue;
			}
			s[i] = (char)(start ? toupper(c) : tolower(c));
			start = false;
		}
	}
	json_t *r = str_new(s, v.n);
	free(s);
	free(v.owned);
	return r;
}

static int
f_lower(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	*ret = str_case(in, CASE_LOWER);
	return 0;
}

static int
f_upper(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	*ret = str_case(in, CASE_UPPER);
	return 0;
}

static int
f_capitalize(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	*ret = str_case(in, CASE_CAPITALIZE);
	return 0;
}

static int
f_title(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	*ret = str_case(in, CASE_TITLE);
	return 0;
}

/* Python str.strip/lstrip/rstrip with optional characters. */
static json_t *
str_strip(const char *s, size_t n, const char *chars, bool left, bool right)
{
	size_t i = 0, j = n;

	if (left)
		while (
		    i < j && (chars ? strchr(chars, s[i]) != NULL : isspace((unsigned char)s[i])))
			i++;
	if (right)
		while (j > i &&
		    (chars ? strchr(chars, s[j - 1]) != NULL : isspace((unsigned char)s[j - 1])))
			j--;
	return str_new(s + i, j - i);
}

static int
f_trim(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	struct strview v;

	sv_get(&v, in);
	*ret = str_strip(v.s, v.n, arg_str(a, 0, "chars", NULL), true, true);
	free(v.owned);
	return 0;
}

/* Python str.replace(old, new, count). */
static json_t *
str_replace(const char *s, size_t n, const char *old, const char *new, long long count)
{
	struct buf b = BUF_INIT(0);
	size_t ol = strlen(old), i = 0;
	long long done = 0;

	while (i <= n) {
		const char *hit = NULL;
		if (count < 0 || done < count) {
			if (ol == 0)
				hit = s + i;
			else
				hit = memmem(s + i, n - i, old, ol);
		}
		if (!hit) {
			buf_add(&b, s + i, n - i);
			break;
		}
		buf_add(&b, s + i, (size_t)(hit - s) - i);
		buf_adds(&b, new);
		done++;
		if (ol == 0) {
			if (i < n)
				buf_addc(&b, s[i]);
			i++;
		} else
			i = (size_t)(hit - s) + ol;
	}
	return tval_from_buf(&b);
}

static int
f_replace(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	struct strview v;
	const char *old = arg_str(a, 0, "old", NULL), *new = arg_str(a, 1, "new", NULL);

	if (!old || !new)
		FAIL("replace needs old and new strings");
	sv_get(&v, in);
	*ret = str_replace(v.s, v.n, old, new, arg_int(a, 2, "count", -1));
	free(v.owned);
	return 0;
}

static int
f_regex_replace(
    const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	struct strview v;
	const char *pat = arg_str(a, 0, "pattern", ""), *rep = arg_str(a, 1, "replacement", "");
	int r;

	sv_get(&v, in);
	r = regex_sub(
	    v.s, v.n, pat, rep, regex_flags(a, 2, 3), arg_int(a, 4, "count", 0), ret, err);
	free(v.owned);
	return r;
}

static int
f_regex_search(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	struct strview v;
	const char *pat = arg_str(a, 0, "regex", NULL);
	int r = -1;

	if (!pat)
		FAIL("regex_search needs a pattern");
	pcre2_code *re = regex_compile(pat, regex_flags(a, SIZE_MAX, SIZE_MAX), err);
	if (!re)
		return -1;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	sv_get(&v, in);
	int m = regex_exec(re, md, v.s, v.n, 0, 0, err);
	if (m < 0)
		goto out;
	if (m == 0) {
		*ret = json_null();
		r = 0;
		goto out;
	}
	if (a->npos <= 1) {
		*ret = regex_group(re, md, v.s, NULL, 0);
		r = 0;
		goto out;
	}
	json_t *l = json_array();
	for (size_t i = 1; i < a->npos; i++) {
		const char *g = json_string_value(a->pos[i]);
		json_t *x = NULL;
		if (g && strncmp(g, "\\g<", 3) == 0) {
			char name[64];
			str_copy(name, g + 3, sizeof name);
			name[strcspn(name, ">")] = '\0';
			x = regex_group(re, md, v.s, name, 0);
		} else if (g && g[0] == '\\' && isdigit((unsigned char)g[1]))
			x = regex_group(re, md, v.s, NULL, strtol(g + 1, NULL, 10));
		else {
			json_decref(l);
			dr_error_set(err, "Unknown argument");
			goto out;
		}
		if (!x) {
			json_decref(l);
			dr_error_set(err, "no such group %s", g);
			goto out;
		}
		json_array_append_new(l, x);
	}
	*ret = l;
	r = 0;
out:
	free(v.owned);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return r;
}

static int
f_regex_findall(
    const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	struct strview v;
	const char *pat = arg_str(a, 0, "regex", "");
	int r = -1;

	pcre2_code *re = regex_compile(pat, regex_flags(a, 2, 1), err);
	if (!re)
		return -1;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	uint32_t ngroups;
	pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &ngroups);
	sv_get(&v, in);
	json_t *l = json_array();
	size_t off = 0;
	while (off <= v.n) {
		int m = regex_exec(re, md, v.s, v.n, off, 0, err);
		if (m < 0) {
			json_decref(l);
			goto out;
		}
		if (m == 0)
			break;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		/* Python: the whole match, the one group, or a tuple of all groups. */
		if (ngroups == 0)
			json_array_append_new(l, regex_group(re, md, v.s, NULL, 0));
		else if (ngroups == 1) {
			json_t *g = regex_group(re, md, v.s, NULL, 1);
			json_array_append_new(l, json_is_null(g) ? json_string("") : g);
			if (json_is_null(g))
				json_decref(g);
		} else {
			json_t *t = json_array();
			for (uint32_t k = 1; k <= ngroups; k++) {
				json_t *g = regex_group(re, md, v.s, NULL, k);
				json_array_append_new(t, json_is_null(g) ? json_string("") : g);
				if (json_is_null(g))
					json_decref(g);
			}
			json_array_append_new(l, t);
		}
		off = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
	}
	*ret = l;
	r = 0;
out:
	free(v.owned);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return r;
}

static int
f_regex_escape(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	struct strview v;
	struct buf b = BUF_INIT(0);

	sv_get(&v, in);
	/* Python 3.7+ re.escape: only the characters special in a pattern. */
	for (size_t i = 0; i < v.n; i++) {
		if (strchr("()[]{}?*+-|^$\\.&~# \t\n\r\v\f", v.s[i]) && v.s[i])
			buf_addc(&b, '\\');
		buf_addc(&b, v.s[i]);
	}
	free(v.owned);
	*ret = tval_from_buf(&b);
	return 0;
}

/* The value of attribute path "a.b.0" in an item (borrowed), or NULL. */
static json_t *
attr_get(const json_t *item, const char *path)
{
	char part[256];
	json_t *v = (json_t *)item;

	while (v && *path) {
		size_t n = strcspn(path, ".");
		str_copy(part, path, n + 1 < sizeof part ? n + 1 : sizeof part);
		path += n + (path[n] == '.');
		if (json_is_object(v))
			v = json_object_get(v, part);
		else if (json_is_array(v) && isdigit((unsigned char)part[0]))
			v = json_array_get(v, strtoul(part, NULL, 10));
		else
			v = NULL;
	}
	return v;
}

/* The items of a sequence input (list; dict keys; string chars). New reference. */
static json_t *
seq_of(const json_t *in, struct dr_error *err)
{
	return tval_iter_list(in, err);
}

static int
f_join(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	const char *sep = arg_str(a, 0, "d", "");
	const char *attr = arg_str(a, 1, "attribute", NULL);
	json_t *l = seq_of(in, err), *x;
	struct buf b = BUF_INIT(TEMPLATE_MAX_OUTPUT);
	size_t i;

	if (!l)
		return -1;
	json_array_foreach(l, i, x)
	{
		if (i > 0)
			buf_adds(&b, sep);
		if (attr)
			x = attr_get(x, attr);
		if (x)
			tval_str(&b, x);
	}
	json_decref(l);
	*ret = tval_from_buf(&b);
	return 0;
}

/* Python str.split(sep=None, maxsplit=-1). */
static json_t *
str_split(const char *s, size_t n, const char *sep, long long max, bool from_right)
{
	json_t *l = json_array();
	size_t i = 0;
	long long done = 0;

	if (from_right && max >= 0) {
		/* rsplit: split from the end, then the rest stays whole. */
		size_t j = n, sl = sep ? strlen(sep) : 0;
		json_t *rev = json_array();
		while (done < max) {
			size_t k;
			if (sep) {
				const char *hit = NULL;
				for (k = j; k >= sl && k > 0; k--)
					if (memcmp(s + k - sl, sep, sl) == 0) {
						hit = s + k - sl;
						break;
					}
				if (!hit)
					break;
				json_array_insert_new(rev, 0, str_new(hit + sl, j - k));
				j = (size_t)(hit - s);
			} else {
				while (j > 0 && isspace((unsigned char)s[j - 1]))
					j--;
				k = j;
				while (k > 0 && !isspace((unsigned char)s[k - 1]))
					k--;
				if (k == 0)
					break;
				json_array_insert_new(rev, 0, str_new(s + k, j - k));
				j = k;
			}
			done++;
		}
		if (!sep)
			while (j > 0 && isspace((unsigned char)s[j - 1]))
				j--;
		if (sep || j > 0)
			json_array_append_new(l, str_new(s, j));
		json_array_extend(l, rev);
		json_decref(rev);
		return l;
	}
	if (!sep) {
		for (;;) {
			while (i < n && isspace((unsigned char)s[i]))
				i++;
			if (i >= n)
				break;
			if (max >= 0 && done >= max) {
				size_t j = n;
				while (j > i && isspace((unsigned char)s[j - 1]))
					j--;
				json_array_append_new(l, str_new(s + i, j - i));
				break;
			}
			size_t j = i;
			while (j < n && !isspace((unsigned char)s[j]))
				j++;
			json_array_append_new(l, str_new(s + i, j - i));
			done++;
			i = j;
		}
		return l;
	}
	size_t sl = strlen(sep);
	for (;;) {
		const char *hit =
		    (max < 0 || done < max) && sl ? memmem(s + i, n - i, sep, sl) : NULL;
		if (!hit) {
			json_array_append_new(l, str_new(s + i, n - i));
			break;
		}
		json_array_append_new(l, str_new(s + i, (size_t)(hit - s) - i));
		i = (size_t)(hit - s) + sl;
		done++;
	}
	return l;
}

static int
f_split(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	struct strview v;
	const char *sep = arg_str(a, 0, "seperator", arg_str(a, SIZE_MAX, "separator", NULL));

	if (sep && !*sep)
		FAIL("empty separator");
	sv_get(&v, in);
	*ret = str_split(v.s, v.n, sep, arg_int(a, 1, "maxsplit", -1), false);
	free(v.owned);
	return 0;
}

static int
f_first(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *l = seq_of(in, err);

	if (!l)
		return -1;
	*ret = json_array_size(l) ? json_incref(json_array_get(l, 0)) : NULL;
	json_decref(l);
	if (!*ret)
		FAIL("No first item, sequence was empty.");
	return 0;
}

static int
f_last(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *l = seq_of(in, err);

	if (!l)
		return -1;
	size_t n = json_array_size(l);
	*ret = n ? json_incref(json_array_get(l, n - 1)) : NULL;
	json_decref(l);
	if (!*ret)
		FAIL("No last item, sequence was empty.");
	return 0;
}

/* Sort key: lowercased strings unless case-sensitive, the attribute when given. */
struct sortitem {
	json_t *key, *item;
};

struct sortctx {
	bool reverse;
	struct dr_error *err;
	bool failed;
};

static int
sort_cmp(const struct sortitem *x, const struct sortitem *y, struct sortctx *sc)
{
	int c = 0;

	if (!sc->failed && tval_compare(x->key, y->key, &c, sc->err) < 0)
		sc->failed = true;
	return sc->reverse ? -c : c;
}

/* Stable merge sort (Python's sort is stable). */
static void
sort_merge(struct sortitem *v, struct sortitem *tmp, size_t n, struct sortctx *sc)
{
	if (n < 2)
		return;
	size_t h = n / 2, i = 0, j = h, k = 0;
	sort_merge(v, tmp, h, sc);
	sort_merge(v + h, tmp, n - h, sc);
	while (i < h && j < n)
		tmp[k++] = sort_cmp(&v[j], &v[i], sc) < 0 ? v[j++] : v[i++];
	while (i < h)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof *v);
}

static json_t *
sort_key(const json_t *item, const char *attr, bool case_sensitive)
{
	json_t *k = attr ? attr_get(item, attr) : (json_t *)item;

	if (!k)
		return json_null();
	if (!case_sensitive && json_is_string(k))
		return str_case(k, CASE_LOWER);
	return json_incref(k);
}

/* Sort list l (borrowed) into a new list. */
static int
sort_list(const json_t *l, const char *attr, bool case_sensitive, bool reverse, json_t **ret,
    struct dr_error *err)
{
	size_t n = json_array_size(l);
	struct sortitem *v = xcalloc(n + 1, sizeof *v), *tmp = xcalloc(n + 1, sizeof *v);
	struct sortctx sc = {.reverse = reverse, .err = err};

	for (size_t i = 0; i < n; i++) {
		v[i].item = json_array_get(l, i);
		v[i].key = sort_key(v[i].item, attr, case_sensitive);
	}
	sort_merge(v, tmp, n, &sc);
	json_t *r = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append(r, v[i].item);
		json_decref(v[i].key);
	}
	free(v);
	free(tmp);
	if (sc.failed) {
		json_decref(r);
		return -1;
	}
	*ret = r;
	return 0;
}

static int
f_sort(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *l = seq_of(in, err);
	int r;

	if (!l)
		return -1;
	r = sort_list(l, arg_str(a, 2, "attribute", NULL), arg_bool(a, 1, "case_sensitive", false),
	    arg_bool(a, 0, "reverse", false), ret, err);
	json_decref(l);
	return r;
}

static int
f_unique(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *l = seq_of(in, err), *seen, *r, *x;
	const char *attr = arg_str(a, 1, "attribute", NULL);
	bool cs = arg_bool(a, 0, "case_sensitive", false);
	size_t i;

	if (!l)
		return -1;
	seen = json_array();
	r = json_array();
	json_array_foreach(l, i, x)
	{
		json_t *k = sort_key(x, attr, cs);
		bool dup = false;
		tval_contains(seen, k, &dup, NULL);
		if (!dup) {
			json_array_append(r, x);
			json_array_append(seen, k);
		}
		json_decref(k);
	}
	json_decref(seen);
	json_decref(l);
	*ret = r;
	return 0;
}

static int
f_reverse(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	if (json_is_string(in)) {
		const char *s = json_string_value(in);
		size_t n = json_string_length(in);
		struct buf b = BUF_INIT(0);
		size_t end = n;
		while (end > 0) {
			size_t st = end - 1;
			while (st > 0 && ((unsigned char)s[st] & 0xc0) == 0x80)
				st--;
			buf_add(&b, s + st, end - st);
			end = st;
		}
		*ret = tval_from_buf(&b);
		return 0;
	}
	json_t *l = seq_of(in, err), *r = json_array();
	if (!l) {
		json_decref(r);
		return -1;
	}
	for (size_t i = json_array_size(l); i-- > 0;)
		json_array_append(r, json_array_get(l, i));
	json_decref(l);
	*ret = r;
	return 0;
}

static int
f_list(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *l = seq_of(in, err);

	if (!l)
		return -1;
	*ret = json_is_array(in) ? json_copy(l) : l;
	if (json_is_array(in))
		json_decref(l);
	return 0;
}

/* Call another filter by name with args shifted past its name (map, select). */
static int
call_filter_by_name(const char *name, const json_t *in, const struct template_args *a, size_t skip,
    json_t **ret, struct dr_error *err)
{
	const struct template_filter *f = template_filter_find(name);
	struct template_args sub = {
	    a->npos > skip ? a->npos - skip : 0, a->pos + skip, a->nkw, a->kw_names, a->kw};

	if (!f)
		FAIL("no filter named '%s'", name);
	return f->fn(in, &sub, ret, err);
}

static int
call_test_by_name(const char *name, const json_t *in, const struct template_args *a, size_t skip,
    bool *ret, struct dr_error *err)
{
	struct template_args sub = {
	    a->npos > skip ? a->npos - skip : 0, a->pos + skip, 0, NULL, NULL};
	static const char *const aliases[][2] = {
	    {"==", "eq"}, {"!=", "ne"}, {"<", "lt"}, {">", "gt"}, {"<=", "le"}, {">=", "ge"}};

	for (size_t i = 0; i < nitems(aliases); i++)
		if (strcmp(name, aliases[i][0]) == 0)
			name = aliases[i][1];
	const struct template_test *t = template_test_find(name);
	if (!t)
		FAIL("no test named '%s'", name);
	return t->fn(in, &sub, ret, err);
}

static int
f_map(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	const char *attr = arg_str(a, SIZE_MAX, "attribute", NULL);
	json_t *def = ARG(SIZE_MAX, "default");
	json_t *l = seq_of(in, err), *r, *x;
	size_t i;

	if (!l)
		return -1;
	r = json_array();
	json_array_foreach(l, i, x)
	{
		json_t *y = NULL;
		if (attr) {
			y = attr_get(x, attr);
			if (!y && !def) {
				dr_error_set(
				    err, "'%s object' has no attribute '%s'", tval_type(x), attr);
				goto fail;
			}
			json_array_append(r, y ? y : def);
			continue;
		}
		if (!json_is_string(ARG(0, NULL))) {
			dr_error_set(err, "map needs a filter name or attribute=");
			goto fail;
		}
		struct template_args sub = *a;
		sub.nkw = 0;
		if (call_filter_by_name(json_string_value(a->pos[0]), x, &sub, 1, &y, err) < 0)
			goto fail;
		json_array_append_new(r, y ? y : json_null());
	}
	json_decref(l);
	*ret = r;
	return 0;
fail:
	json_decref(l);
	json_decref(r);
	return -1;
}

/* select/reject/selectattr/rejectattr share one walk. */
static int
select_common(const json_t *in, const struct template_args *a, bool want, bool by_attr,
    json_t **ret, struct dr_error *err)
{
	json_t *l = seq_of(in, err), *r, *x;
	size_t i, skip = by_attr ? 1 : 0;
	const char *attr = by_attr ? arg_str(a, 0, NULL, NULL) : NULL;

	if (!l)
		return -1;
	if (by_attr && !attr) {
		json_decref(l);
		FAIL("missing attribute name");
	}
	const char *test = a->npos > skip ? json_string_value(a->pos[skip]) : NULL;
	r = json_array();
	json_array_foreach(l, i, x)
	{
		json_t *v = by_attr ? attr_get(x, attr) : x;
		bool t;
		if (!test)
			t = v && template_truthy(v);
		else if (!v && strcmp(test, "defined") == 0)
			t = false;
		else if (!v && strcmp(test, "undefined") == 0)
			t = true;
		else if (!v) {
			dr_error_set(err, "'%s object' has no attribute '%s'", tval_type(x), attr);
			goto fail;
		} else if (call_test_by_name(test, v, a, skip + 1, &t, err) < 0)
			goto fail;
		if (t == want)
			json_array_append(r, x);
	}
	json_decref(l);
	*ret = r;
	return 0;
fail:
	json_decref(l);
	json_decref(r);
	return -1;
}

static int
f_select(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return select_common(in, a, true, false, ret, err);
}

static int
f_reject(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return select_common(in, a, false, false, ret, err);
}

static int
f_selectattr(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return select_common(in, a, true, true, ret, err);
}

static int
f_rejectattr(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return select_common(in, a, false, true, ret, err);
}

/* Ansible's merge_hash: high wins; recursive merges nested dicts; list_merge for lists. */
static void
merge_into(json_t *dst, const json_t *src, bool recursive, const char *list_merge)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)src, k, v)
	{
		json_t *old = json_object_get(dst, k);
		if (recursive && json_is_object(old) && json_is_object(v)) {
			json_t *m = json_deep_copy(old);
			merge_into(m, v, recursive, list_merge);
			json_object_set_new(dst, k, m);
		} else if (json_is_array(old) && json_is_array(v) &&
		    strcmp(list_merge, "replace")) {
			json_t *m;
			if (strcmp(list_merge, "append") == 0 ||
			    strcmp(list_merge, "append_rp") == 0) {
				m = json_copy(old);
				json_array_extend(m, v);
			} else if (strcmp(list_merge, "prepend") == 0 ||
			    strcmp(list_merge, "prepend_rp") == 0) {
				m = json_copy(v);
				json_array_extend(m, old);
			} else
				m = json_copy(old); /* keep */
			json_object_set_new(dst, k, m);
		} else
			json_object_set(dst, k, v);
	}
}

static int
f_combine(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	bool recursive = arg_bool(a, SIZE_MAX, "recursive", false);
	const char *lm = arg_str(a, SIZE_MAX, "list_merge", "replace");
	json_t *all = json_array();

	for (size_t i = 0; i < a->nkw; i++)
		if (strcmp(a->kw_names[i], "recursive") && strcmp(a->kw_names[i], "list_merge")) {
			json_decref(all);
			FAIL("'recursive' and 'list_merge' are the only valid keyword arguments");
		}
	/* [d1, d2] | combine flattens one level, as Ansible does. */
	for (size_t i = 0; i <= a->npos; i++) {
		const json_t *t = i == 0 ? in : a->pos[i - 1];
		if (json_is_array(t))
			json_array_extend(all, (json_t *)t);
		else
			json_array_append(all, (json_t *)t);
	}
	json_t *r = json_object(), *d;
	size_t i;
	json_array_foreach(all, i, d)
	{
		if (!json_is_object(d)) {
			json_decref(all);
			json_decref(r);
			FAIL("failed to combine variables, expected dicts but got a '%s'",
			    tval_type(d));
		}
		merge_into(r, d, recursive, lm);
	}
	json_decref(all);
	*ret = r;
	return 0;
}

static int
f_dict2items(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	const char *kn = arg_str(a, 0, "key_name", "key"),
	           *vn = arg_str(a, 1, "value_name", "value");
	const char *k;
	json_t *v, *r;

	if (!json_is_object(in))
		FAIL("dict2items requires a dictionary, got %s instead.", tval_type(in));
	r = json_array();
	json_object_foreach((json_t *)in, k, v)
	    json_array_append_new(r, json_pack("{s:s,s:O}", kn, k, vn, v));
	*ret = r;
	return 0;
}

static int
f_items2dict(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	const char *kn = arg_str(a, 0, "key_name", "key"),
	           *vn = arg_str(a, 1, "value_name", "value");
	json_t *r, *x;
	size_t i;

	if (!json_is_array(in))
		FAIL("items2dict requires a list, got %s instead.", tval_type(in));
	r = json_object();
	json_array_foreach(in, i, x)
	{
		json_t *k = json_object_get(x, kn), *v = json_object_get(x, vn);
		if (!k || !v) {
			json_decref(r);
			FAIL("items2dict requires each item to have '%s' and '%s' keys", kn, vn);
		}
		char *ks = tval_strdup(k);
		json_object_set(r, ks, v);
		free(ks);
	}
	*ret = r;
	return 0;
}

static int
f_ternary(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *t = ARG(0, "true_val"), *f = ARG(1, "false_val"), *n = ARG(2, "none_val");

	if (!t || !f)
		FAIL("ternary needs true and false values");
	if (json_is_null(in) && n)
		*ret = json_incref(n);
	else
		*ret = json_incref(template_truthy(in) ? t : f);
	return 0;
}

static int
f_to_json(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	struct buf b = BUF_INIT(TEMPLATE_MAX_OUTPUT);
	json_t *ind = ARG(SIZE_MAX, "indent");

	if (tval_json(&b, in, ind ? (int)json_integer_value(ind) : -1,
	        arg_bool(a, SIZE_MAX, "sort_keys", false), 0) < 0) {
		buf_free(&b);
		FAIL("value too large or nested too deeply");
	}
	*ret = tval_from_buf(&b);
	return 0;
}

static int
f_to_nice_json(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	struct buf b = BUF_INIT(TEMPLATE_MAX_OUTPUT);

	if (tval_json(&b, in, (int)arg_int(a, 0, "indent", 4), arg_bool(a, 1, "sort_keys", true),
	        0) < 0) {
		buf_free(&b);
		FAIL("value too large or nested too deeply");
	}
	*ret = tval_from_buf(&b);
	return 0;
}

static int
f_from_json(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_error_t je;

	if (!json_is_string(in))
		FAIL("from_json expects a string, got %s", tval_type(in));
	json_t *v = json_loadb(
	    json_string_value(in), json_string_length(in), JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (!v)
		FAIL("invalid JSON at line %d: %s", je.line, je.text);
	*ret = v;
	return 0;
}

/* PyYAML's dump as Ansible calls it: keys sorted, block style (see yaml_dump). */
static int
yaml_filter(const json_t *in, int indent, json_t **ret, struct dr_error *err)
{
	struct buf b = BUF_INIT(TEMPLATE_MAX_OUTPUT);

	if (yaml_dump(in, indent, true, &b) < 0) {
		buf_free(&b);
		FAIL("value too large for YAML output");
	}
	*ret = tval_from_buf(&b);
	return 0;
}

static int
f_to_yaml(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return yaml_filter(in, (int)arg_int(a, SIZE_MAX, "indent", 2), ret, err);
}

static int
f_to_nice_yaml(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return yaml_filter(in, (int)arg_int(a, 0, "indent", 4), ret, err);
}

static int
from_yaml_common(const json_t *in, unsigned flags, json_t **ret, struct dr_error *err)
{
	if (!json_is_string(in)) {
		*ret = json_incref((json_t *)in);
		return 0;
	}
	return yaml_load_string(
	    "from_yaml", json_string_value(in), json_string_length(in), flags, ret, NULL, err);
}

static int
f_from_yaml(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return from_yaml_common(in, 0, ret, err);
}

static int
f_from_yaml_all(
    const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return from_yaml_common(in, YAML_MULTI, ret, err);
}

static int
f_b64encode(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	struct strview v;

	sv_get(&v, in);
	char *out = base64_encode(v.s, v.n);
	*ret = str_new(out, strlen(out));
	free(out);
	free(v.owned);
	return 0;
}

static int
f_b64decode(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	struct strview v;
	unsigned char *out;
	size_t len = 0;

	sv_get(&v, in);
	out = base64_decode(v.s, v.n, &len);
	free(v.owned);
	if (out == NULL)
		FAIL("invalid base64 data");
	*ret = json_stringn((char *)out, len);
	free(out);
	if (!*ret)
		FAIL("decoded data is not UTF-8 text");
	return 0;
}

static int
f_basename(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	struct strview v;

	sv_get(&v, in);
	const char *s = memrchr(v.s, '/', v.n);
	*ret = s ? str_new(s + 1, v.n - (size_t)(s + 1 - v.s)) : str_new(v.s, v.n);
	free(v.owned);
	return 0;
}

static int
f_dirname(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	struct strview v;

	sv_get(&v, in);
	const char *s = memrchr(v.s, '/', v.n);
	size_t n = s ? (size_t)(s - v.s) + 1 : 0;
	/* Python: strip trailing slashes from the head unless it is all slashes. */
	size_t k = n;
	while (k > 0 && v.s[k - 1] == '/')
		k--;
	*ret = str_new(v.s, k > 0 ? k : n);
	free(v.owned);
	return 0;
}

static int
f_quote(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	struct strview v;
	bool safe = true;

	sv_get(&v, in);
	for (size_t i = 0; i < v.n; i++)
		if (!isalnum((unsigned char)v.s[i]) && !strchr("@%+=:,./-_", v.s[i]))
			safe = false;
	if (v.n == 0)
		*ret = json_string("''");
	else if (safe)
		*ret = str_new(v.s, v.n);
	else {
		struct buf b = BUF_INIT(0);
		buf_addc(&b, '\'');
		for (size_t i = 0; i < v.n; i++)
			if (v.s[i] == '\'')
				buf_adds(&b, "'\"'\"'");
			else
				buf_addc(&b, v.s[i]);
		buf_addc(&b, '\'');
		*ret = tval_from_buf(&b);
	}
	free(v.owned);
	return 0;
}

static int
f_mandatory(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	if (!in) {
		const char *msg = arg_str(a, 0, "msg", NULL);
		FAIL("%s", msg ? msg : "Mandatory variable not defined.");
	}
	*ret = json_incref((json_t *)in);
	return 0;
}

static int
f_hash(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	const char *type = arg_str(a, 0, "hashtype", "sha1");
	const EVP_MD *md = EVP_get_digestbyname(type);
	unsigned char dg[EVP_MAX_MD_SIZE];
	unsigned int n;
	struct strview v;

	if (!md)
		FAIL("unsupported hash type %s", type);
	sv_get(&v, in);
	EVP_Digest(v.s, v.n, dg, &n, md, NULL);
	free(v.owned);
	struct buf b = BUF_INIT(0);
	for (unsigned i = 0; i < n; i++)
		buf_addf(&b, "%02x", dg[i]);
	*ret = tval_from_buf(&b);
	return 0;
}

/* splitmix64: a seeded generator (outputs differ from Python's Random, the ranges agree). */
static uint64_t
rand_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int
f_random(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *seed = ARG(SIZE_MAX, "seed");
	uint64_t state;
	long long end;

	if (seed) {
		char *s = tval_strdup(seed);
		state = 1469598103934665603ULL;
		for (const char *p = s; *p; p++)
			state = (state ^ (unsigned char)*p) * 1099511628211ULL;
		free(s);
	} else {
		FILE *f = fopen("/dev/urandom", "r");
		if (!f || fread(&state, sizeof state, 1, f) != 1)
			state = (uint64_t)time_mono_us();
		if (f)
			fclose(f);
	}
	if (tval_int(in, &end) && !json_is_boolean(in)) {
		long long start = arg_int(a, 0, "start", 0), step = arg_int(a, 1, "step", 1);
		if (step <= 0 || end <= start)
			FAIL("empty range for randrange()");
		long long count = (end - start + step - 1) / step;
		*ret =
		    json_integer(start + (long long)(rand_next(&state) % (uint64_t)count) * step);
		return 0;
	}
	if (json_is_array(in) || json_is_string(in) || json_is_object(in)) {
		json_t *l = seq_of(in, err);
		if (!json_array_size(l)) {
			json_decref(l);
			FAIL("Cannot choose from an empty sequence");
		}
		*ret = json_incref(json_array_get(l, rand_next(&state) % json_array_size(l)));
		json_decref(l);
		return 0;
	}
	FAIL("random can only be used on sequences and integers");
}

static void
flatten_into(json_t *r, const json_t *l, long long levels, bool skip_nulls)
{
	size_t i;
	json_t *x;

	json_array_foreach(l, i, x)
	{
		if (skip_nulls &&
		    (json_is_null(x) ||
		        (json_is_string(x) &&
		            (strcmp(json_string_value(x), "None") == 0 ||
		                strcmp(json_string_value(x), "null") == 0))))
			continue;
		if (json_is_array(x) && levels != 0)
			flatten_into(r, x, levels < 0 ? -1 : levels - 1, skip_nulls);
		else
			json_array_append(r, x);
	}
}

static int
f_flatten(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *lv = ARG(0, "levels");

	if (!json_is_array(in))
		FAIL("flatten expects a list");
	*ret = json_array();
	flatten_into(*ret, in, lv && !json_is_null(lv) ? arg_int(a, 0, "levels", -1) : -1,
	    arg_bool(a, 1, "skip_nulls", true));
	return 0;
}

static int
minmax(const json_t *in, const struct template_args *a, bool want_max, json_t **ret,
    struct dr_error *err)
{
	const char *attr = arg_str(a, SIZE_MAX, "attribute", NULL);
	json_t *l = seq_of(in, err), *best = NULL, *bk = NULL, *x;
	bool cs = arg_bool(a, SIZE_MAX, "case_sensitive", false);
	size_t i;

	if (!l)
		return -1;
	json_array_foreach(l, i, x)
	{
		json_t *k = sort_key(x, attr, cs);
		int c = 0;
		if (bk && tval_compare(k, bk, &c, err) < 0) {
			json_decref(k);
			json_decref(bk);
			json_decref(l);
			return -1;
		}
		if (!bk || (want_max ? c > 0 : c < 0)) {
			json_decref(bk);
			bk = k;
			best = x;
		} else
			json_decref(k);
	}
	json_decref(bk);
	*ret = best ? json_incref(best) : NULL;
	json_decref(l);
	if (!*ret)
		FAIL("No aggregated item, sequence was empty.");
	return 0;
}

static int
f_min(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return minmax(in, a, false, ret, err);
}

static int
f_max(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return minmax(in, a, true, ret, err);
}

static int
f_sum(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	const char *attr = arg_str(a, 0, "attribute", NULL);
	json_t *start = ARG(1, "start");
	json_t *l = seq_of(in, err), *x;
	long long is = 0, v;
	double ds = 0, d;
	bool real = false;
	size_t i;

	if (!l)
		return -1;
	if (start && !tval_number(start, &d)) {
		json_decref(l);
		FAIL("sum start must be a number");
	}
	if (start && json_is_real(start))
		real = true, ds = json_real_value(start);
	else if (start)
		tval_int(start, &is);
	json_array_foreach(l, i, x)
	{
		if (attr)
			x = attr_get(x, attr);
		if (x && tval_int(x, &v) && !real) {
			if (__builtin_add_overflow(is, v, &is)) {
				json_decref(l);
				FAIL("integer overflow");
			}
		} else if (x && tval_number(x, &d)) {
			if (!real)
				ds = (double)is;
			real = true;
			ds += d;
		} else {
			json_decref(l);
			FAIL("unsupported operand type(s) for +: 'int' and '%s'", tval_type(x));
		}
	}
	json_decref(l);
	*ret = real ? json_real(ds) : json_integer(is);
	return 0;
}

static int
f_round(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	long long prec = arg_int(a, 0, "precision", 0);
	const char *method = arg_str(a, 1, "method", "common");
	double d, m;

	if (!tval_number(in, &d))
		FAIL("round expects a number");
	/* Python's round() keeps an int an int. */
	if (json_is_integer(in) && strcmp(method, "common") == 0 && prec >= 0) {
		*ret = json_incref((json_t *)in);
		return 0;
	}
	m = pow(10, (double)prec);
	if (strcmp(method, "common") == 0)
		d = round(d * m) / m;
	else if (strcmp(method, "ceil") == 0)
		d = ceil(d * m) / m;
	else if (strcmp(method, "floor") == 0)
		d = floor(d * m) / m;
	else
		FAIL("method must be common, ceil or floor");
	*ret = json_real(d);
	return 0;
}

static int
f_abs(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	long long i;
	double d;

	if (tval_int(in, &i) && i != LLONG_MIN)
		*ret = json_integer(i < 0 ? -i : i);
	else if (tval_number(in, &d))
		*ret = json_real(fabs(d));
	else
		FAIL("bad operand type for abs(): '%s'", tval_type(in));
	return 0;
}

static int
f_indent(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *w = ARG(0, "width");
	bool first = arg_bool(a, 1, "first", false), blank = arg_bool(a, 2, "blank", false);
	struct strview v;
	struct buf b = BUF_INIT(TEMPLATE_MAX_OUTPUT);
	char *pad;

	if (json_is_string(w))
		pad = xstrdup(json_string_value(w));
	else {
		long long n = arg_int(a, 0, "width", 4);
		n = n < 0 ? 0 : n > 1024 ? 1024 : n;
		pad = xmalloc((size_t)n + 1);
		memset(pad, ' ', (size_t)n);
		pad[n] = '\0';
	}
	sv_get(&v, in);
	/* Jinja: every line but the first (unless first=), blank lines only with blank=. */
	size_t i = 0;
	bool line0 = true;
	while (i <= v.n) {
		const char *nl = memchr(v.s + i, '\n', v.n - i);
		size_t e = nl ? (size_t)(nl - v.s) : v.n;
		bool empty = e == i;
		if ((!line0 || first) && (!empty || blank))
			buf_adds(&b, pad);
		buf_add(&b, v.s + i, e - i);
		if (!nl)
			break;
		buf_addc(&b, '\n');
		i = e + 1;
		line0 = false;
	}
	free(pad);
	free(v.owned);
	*ret = tval_from_buf(&b);
	return 0;
}

static int
f_center(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	long long w = arg_int(a, 0, "width", 80);
	struct strview v;
	struct buf b = BUF_INIT(TEMPLATE_MAX_OUTPUT);

	sv_get(&v, in);
	long long len = (long long)utf8_len(v.s, v.n);
	if (w > 1 << 20)
		w = 1 << 20;
	long long pad = w - len, left = pad > 0 ? pad / 2 + (pad & w & 1) : 0;
	for (long long i = 0; i < left; i++)
		buf_addc(&b, ' ');
	buf_add(&b, v.s, v.n);
	for (long long i = 0; i < pad - left; i++)
		buf_addc(&b, ' ');
	free(v.owned);
	*ret = tval_from_buf(&b);
	return 0;
}

static int
f_wordcount(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	struct strview v;
	long long n = 0;
	bool inword = false;

	sv_get(&v, in);
	for (size_t i = 0; i < v.n; i++) {
		unsigned char c = (unsigned char)v.s[i];
		bool w = isalnum(c) || c == '_' || c >= 0x80;
		if (w && !inword)
			n++;
		inword = w;
	}
	free(v.owned);
	*ret = json_integer(n);
	return 0;
}

static int
f_truncate(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	long long len = arg_int(a, 0, "length", 255), leeway = arg_int(a, 3, "leeway", 5);
	bool killwords = arg_bool(a, 1, "killwords", false);
	const char *end = arg_str(a, 2, "end", "...");
	struct strview v;

	sv_get(&v, in);
	size_t cps = utf8_len(v.s, v.n), el = utf8_len(end, strlen(end));
	if ((long long)cps <= len + leeway) {
		*ret = str_new(v.s, v.n);
		free(v.owned);
		return 0;
	}
	size_t keep = len > (long long)el ? (size_t)len - el : 0;
	size_t off = utf8_offset(v.s, v.n, keep);
	struct buf b = BUF_INIT(0);
	if (killwords)
		buf_add(&b, v.s, off);
	else {
		/* Drop the last (partial) word: Jinja's s[:length-len(end)].rsplit(' ', 1)[0]. */
		const char *sp = memrchr(v.s, ' ', off);
		buf_add(&b, v.s, sp ? (size_t)(sp - v.s) : off);
	}
	buf_adds(&b, end);
	free(v.owned);
	*ret = tval_from_buf(&b);
	return 0;
}

static int
f_format(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	struct buf b = BUF_INIT(TEMPLATE_MAX_OUTPUT);
	json_t *args = json_array();

	if (!json_is_string(in)) {
		json_decref(args);
		FAIL("format expects a string");
	}
	for (size_t i = 0; i < a->npos; i++)
		json_array_append(args, a->pos[i]);
	int r = tval_percent_format(&b, json_string_value(in), args, err);
	json_decref(args);
	if (r < 0) {
		buf_free(&b);
		return -1;
	}
	*ret = tval_from_buf(&b);
	return 0;
}

static int
f_dictsort(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	bool cs = arg_bool(a, 0, "case_sensitive", false);
	const char *by = arg_str(a, 1, "by", "key");
	bool rev = arg_bool(a, 2, "reverse", false);
	const char *k;
	json_t *v, *pairs;
	int r;

	if (!json_is_object(in))
		FAIL("dictsort expects a dict");
	pairs = json_array();
	json_object_foreach((json_t *)in, k, v)
	    json_array_append_new(pairs, json_pack("[sO]", k, v));
	r = sort_list(pairs, strcmp(by, "value") == 0 ? "1" : "0", cs, rev, ret, err);
	json_decref(pairs);
	return r;
}

static int
f_batch(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	long long n = arg_int(a, 0, "linecount", 0);
	json_t *fill = ARG(1, "fill_with");
	json_t *l = seq_of(in, err), *r, *cur = NULL, *x;
	size_t i;

	if (!l)
		return -1;
	if (n <= 0) {
		json_decref(l);
		FAIL("batch size must be positive");
	}
	r = json_array();
	json_array_foreach(l, i, x)
	{
		if (!cur)
			cur = json_array();
		json_array_append(cur, x);
		if ((long long)json_array_size(cur) == n) {
			json_array_append_new(r, cur);
			cur = NULL;
		}
	}
	if (cur) {
		while (fill && !json_is_null(fill) && (long long)json_array_size(cur) < n)
			json_array_append(cur, fill);
		json_array_append_new(r, cur);
	}
	json_decref(l);
	*ret = r;
	return 0;
}

static int
f_slice(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	long long slices = arg_int(a, 0, "slices", 0);
	json_t *fill = ARG(1, "fill_with");
	json_t *l = seq_of(in, err), *r;

	if (!l)
		return -1;
	if (slices <= 0) {
		json_decref(l);
		FAIL("slices must be positive");
	}
	size_t n = json_array_size(l), per = n / (size_t)slices, extra = n % (size_t)slices;
	size_t off = 0;
	r = json_array();
	for (long long s = 0; s < slices; s++) {
		size_t start = (size_t)s * per + ((size_t)s < extra ? (size_t)s : extra);
		size_t end = start + per + ((size_t)s < extra);
		json_t *part = json_array();
		for (size_t i = start; i < end; i++)
			json_array_append(part, json_array_get(l, i));
		if (fill && !json_is_null(fill) && (size_t)s >= extra && extra)
			json_array_append(part, fill);
		json_array_append_new(r, part);
		off = end;
	}
	(void)off;
	json_decref(l);
	*ret = r;
	return 0;
}

static int
f_zip(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *lists[16];
	size_t n = 0, len = SIZE_MAX;

	if (a->npos + 1 > nitems(lists))
		FAIL("too many lists");
	for (size_t i = 0; i <= a->npos; i++) {
		if (!(lists[n] = seq_of(i == 0 ? in : a->pos[i - 1], err))) {
			while (n > 0)
				json_decref(lists[--n]);
			return -1;
		}
		if (json_array_size(lists[n]) < len)
			len = json_array_size(lists[n]);
		n++;
	}
	json_t *r = json_array();
	for (size_t k = 0; k < len; k++) {
		json_t *t = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append(t, json_array_get(lists[i], k));
		json_array_append_new(r, t);
	}
	while (n > 0)
		json_decref(lists[--n]);
	*ret = r;
	return 0;
}

static int
f_product(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *r = json_array();

	json_array_append_new(r, json_array());
	for (size_t i = 0; i <= a->npos; i++) {
		json_t *l = seq_of(i == 0 ? in : a->pos[i - 1], err), *next, *p, *x;
		size_t j, k;
		if (!l) {
			json_decref(r);
			return -1;
		}
		if (json_array_size(r) * json_array_size(l) > 1000000) {
			json_decref(l);
			json_decref(r);
			FAIL("product too large");
		}
		next = json_array();
		json_array_foreach(r, j, p) json_array_foreach(l, k, x)
		{
			json_t *t = json_copy(p);
			json_array_append(t, x);
			json_array_append_new(next, t);
		}
		json_decref(l);
		json_decref(r);
		r = next;
	}
	*ret = r;
	return 0;
}

/* Jinja's url_quote: "/" safe in a path; in a query nothing is, and space is "+". */
static void
url_quote(struct buf *b, const char *s, bool slash_safe)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || strchr("_.-~", c) || (slash_safe && c == '/'))
			buf_addc(b, (char)c);
		else if (c == ' ' && !slash_safe)
			buf_addc(b, '+');
		else
			buf_addf(b, "%%%02X", c);
	}
}

static int
f_urlencode(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	struct buf b = BUF_INIT(TEMPLATE_MAX_OUTPUT);

	if (json_is_object(in)) {
		const char *k;
		json_t *v;
		size_t i = 0;
		json_object_foreach((json_t *)in, k, v)
		{
			char *vs = tval_strdup(v);
			if (i++)
				buf_addc(&b, '&');
			url_quote(&b, k, false);
			buf_addc(&b, '=');
			url_quote(&b, vs, false);
			free(vs);
		}
	} else {
		char *s = tval_strdup(in);
		url_quote(&b, s, true);
		free(s);
	}
	*ret = tval_from_buf(&b);
	return 0;
}

/* Ansible set-like filters keep first-seen order for lists. */
static int
setop(const json_t *x, const json_t *y, int op, json_t **ret, struct dr_error *err)
{
	json_t *r = json_array(), *v;
	size_t i;
	bool in;

	if (!json_is_array(x) || !json_is_array(y)) {
		json_decref(r);
		FAIL("expects two lists");
	}
	for (int pass = 0; pass < (op == 0 || op == 3 ? 2 : 1); pass++) {
		const json_t *src = pass ? y : x, *other = pass ? x : y;
		json_array_foreach(src, i, v)
		{
			bool dup;
			tval_contains(r, v, &dup, NULL);
			tval_contains(other, v, &in, NULL);
			if (dup)
				continue;
			if (op == 0 || (op == 1 && in) || (op == 2 && !in) || (op == 3 && !in))
				json_array_append(r, v);
		}
	}
	*ret = r;
	return 0;
}

static int
f_union(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return setop(in, ARG(0, NULL), 0, ret, err);
}

static int
f_intersect(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return setop(in, ARG(0, NULL), 1, ret, err);
}

static int
f_difference(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return setop(in, ARG(0, NULL), 2, ret, err);
}

static int
f_symmetric_difference(
    const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return setop(in, ARG(0, NULL), 3, ret, err);
}

static int
f_type_debug(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	static const char *const names[] = {[JSON_OBJECT] = "dict",
	    [JSON_ARRAY] = "list",
	    [JSON_STRING] = "str",
	    [JSON_INTEGER] = "int",
	    [JSON_REAL] = "float",
	    [JSON_TRUE] = "bool",
	    [JSON_FALSE] = "bool",
	    [JSON_NULL] = "NoneType"};
	*ret = json_string(names[json_typeof(in)]);
	return 0;
}

static int
f_attr(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	const char *name = arg_str(a, 0, NULL, "");
	json_t *v = json_is_object(in) ? json_object_get(in, name) : NULL;

	*ret = v ? json_incref(v) : json_null();
	return 0;
}

static int
f_pprint(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	struct buf b = BUF_INIT(TEMPLATE_MAX_OUTPUT);

	tval_repr(&b, in);
	*ret = tval_from_buf(&b);
	return 0;
}

/* The built-in filters, by name. */
static const struct template_filter filters[] = {
    {"abs", f_abs, false},
    {"attr", f_attr, false},
    {"b64decode", f_b64decode, false},
    {"b64encode", f_b64encode, false},
    {"basename", f_basename, false},
    {"batch", f_batch, false},
    {"bool", f_bool, false},
    {"capitalize", f_capitalize, false},
    {"center", f_center, false},
    {"combine", f_combine, false},
    {"count", f_length, false},
    {"d", f_default, true},
    {"default", f_default, true},
    {"dict2items", f_dict2items, false},
    {"dictsort", f_dictsort, false},
    {"difference", f_difference, false},
    {"dirname", f_dirname, false},
    {"first", f_first, false},
    {"flatten", f_flatten, false},
    {"float", f_float, false},
    {"format", f_format, false},
    {"from_json", f_from_json, false},
    {"from_yaml", f_from_yaml, false},
    {"from_yaml_all", f_from_yaml_all, false},
    {"hash", f_hash, false},
    {"indent", f_indent, false},
    {"int", f_int, false},
    {"intersect", f_intersect, false},
    {"items2dict", f_items2dict, false},
    {"join", f_join, false},
    {"last", f_last, false},
    {"length", f_length, false},
    {"list", f_list, false},
    {"lower", f_lower, false},
    {"mandatory", f_mandatory, true},
    {"map", f_map, false},
    {"max", f_max, false},
    {"min", f_min, false},
    {"pprint", f_pprint, false},
    {"product", f_product, false},
    {"quote", f_quote, false},
    {"random", f_random, false},
    {"regex_escape", f_regex_escape, false},
    {"regex_findall", f_regex_findall, false},
    {"regex_replace", f_regex_replace, false},
    {"regex_search", f_regex_search, false},
    {"reject", f_reject, false},
    {"rejectattr", f_rejectattr, false},
    {"replace", f_replace, false},
    {"reverse", f_reverse, false},
    {"round", f_round, false},
    {"select", f_select, false},
    {"selectattr", f_selectattr, false},
    {"slice", f_slice, false},
    {"sort", f_sort, false},
    {"split", f_split, false},
    {"string", f_string, false},
    {"sum", f_sum, false},
    {"symmetric_difference", f_symmetric_difference, false},
    {"ternary", f_ternary, false},
    {"title", f_title, false},
    {"to_json", f_to_json, false},
    {"to_nice_json", f_to_nice_json, false},
    {"to_nice_yaml", f_to_nice_yaml, false},
    {"to_yaml", f_to_yaml, false},
    {"tojson", f_to_json, false},
    {"trim", f_trim, false},
    {"truncate", f_truncate, false},
    {"type_debug", f_type_debug, false},
    {"union", f_union, false},
    {"unique", f_unique, false},
    {"upper", f_upper, false},
    {"urlencode", f_urlencode, false},
    {"wordcount", f_wordcount, false},
    {"zip", f_zip, false},
};

static int
filter_cmp(const void *key, const void *ent)
{
	return strcmp(key, ((const struct template_filter *)ent)->name);
}

/* A built-in filter by name (the table is sorted). */
const struct template_filter *
template_filter_find(const char *name)
{
	return bsearch(name, filters, nitems(filters), sizeof filters[0], filter_cmp);
}

/* Tests */

static int
t_defined(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	*ret = in != NULL;
	return 0;
}

static int
t_undefined(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	*ret = in == NULL;
	return 0;
}

static int
t_none(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	*ret = json_is_null(in);
	return 0;
}

static int
t_string(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	*ret = json_is_string(in);
	return 0;
}

static int
t_number(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	*ret = json_is_number(in) || json_is_boolean(in);
	return 0;
}

static int
t_integer(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	*ret = json_is_integer(in);
	return 0;
}

static int
t_float(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	*ret = json_is_real(in);
	return 0;
}

static int
t_mapping(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	*ret = json_is_object(in);
	return 0;
}

static int
t_sequence(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	*ret = json_is_array(in) || json_is_string(in) || json_is_object(in);
	return 0;
}

static int
t_boolean(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	*ret = json_is_boolean(in);
	return 0;
}

static int
t_true(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	*ret = json_is_true(in);
	return 0;
}

static int
t_false(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	*ret = json_is_false(in);
	return 0;
}

static int
need_arg(const struct template_args *a, json_t **ret, struct dr_error *err)
{
	if (!(*ret = ARG(0, NULL)))
		FAIL("missing argument");
	return 0;
}

static int
t_eq(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	json_t *o;

	if (need_arg(a, &o, err) < 0)
		return -1;
	*ret = tval_equal(in, o);
	return 0;
}

static int
t_ne(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	json_t *o;

	if (need_arg(a, &o, err) < 0)
		return -1;
	*ret = !tval_equal(in, o);
	return 0;
}

static int
order_test(const json_t *in, const struct template_args *a, int want_lo, int want_hi, bool *ret,
    struct dr_error *err)
{
	json_t *o;
	int c;

	if (need_arg(a, &o, err) < 0 || tval_compare(in, o, &c, err) < 0)
		return -1;
	*ret = c >= want_lo && c <= want_hi;
	return 0;
}

static int
t_lt(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	return order_test(in, a, -1, -1, ret, err);
}

static int
t_le(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	return order_test(in, a, -1, 0, ret, err);
}

static int
t_gt(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	return order_test(in, a, 1, 1, ret, err);
}

static int
t_ge(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	return order_test(in, a, 0, 1, ret, err);
}

static int
t_in(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	json_t *o;

	if (need_arg(a, &o, err) < 0)
		return -1;
	return tval_contains(o, in, ret, err);
}

static int
t_contains(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	json_t *o;

	if (need_arg(a, &o, err) < 0)
		return -1;
	return tval_contains(in, o, ret, err);
}

static int
t_divisibleby(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	long long x, y;
	double dx, dy;

	if (tval_int(in, &x) && tval_int(ARG(0, NULL), &y) && y != 0)
		*ret = x % y == 0;
	else if (tval_number(in, &dx) && tval_number(ARG(0, NULL), &dy) && dy != 0)
		*ret = fmod(dx, dy) == 0;
	else
		FAIL("divisibleby needs two numbers (and a divisor other than zero)");
	return 0;
}

static int
t_even(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	long long x;

	if (!tval_int(in, &x))
		FAIL("even needs an integer");
	*ret = x % 2 == 0;
	return 0;
}

static int
t_odd(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	long long x;

	if (!tval_int(in, &x))
		FAIL("odd needs an integer");
	*ret = x % 2 != 0;
	return 0;
}

static int
t_lower(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	const char *s = json_string_value(in);
	bool cased = false;

	*ret = s != NULL;
	for (; s && *s; s++) {
		if (isupper((unsigned char)*s))
			*ret = false;
		cased |= isalpha((unsigned char)*s) != 0;
	}
	*ret = *ret && cased;
	return 0;
}

static int
t_upper(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	const char *s = json_string_value(in);
	bool cased = false;

	*ret = s != NULL;
	for (; s && *s; s++) {
		if (islower((unsigned char)*s))
			*ret = false;
		cased |= isalpha((unsigned char)*s) != 0;
	}
	*ret = *ret && cased;
	return 0;
}

/* Ansible's match/search/regex tests. */
static int
regex_test(const json_t *in, const struct template_args *a, bool anchored, bool *ret,
    struct dr_error *err)
{
	const char *pat = arg_str(a, 0, "pattern", NULL);
	const char *type = arg_str(a, SIZE_MAX, "match_type", NULL);
	struct strview v;

	if (!pat)
		FAIL("missing pattern");
	if (type)
		anchored = strcmp(type, "match") == 0;
	pcre2_code *re = regex_compile(pat, regex_flags(a, 1, 2), err);
	if (!re)
		return -1;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	sv_get(&v, in);
	int m = regex_exec(re, md, v.s, v.n, 0, anchored ? PCRE2_ANCHORED : 0, err);
	free(v.owned);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	if (m < 0)
		return -1;
	*ret = m == 1;
	return 0;
}

static int
t_match(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	return regex_test(in, a, true, ret, err);
}

static int
t_search(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	return regex_test(in, a, false, ret, err);
}

/*
 * distutils' LooseVersion: the version split into runs of digits (compared as numbers)
 * and runs of letters (as strings), dots dropped. Python 3 cannot order an int against a
 * str and Ansible then fails; we order numbers before strings instead.
 */
static json_t *
version_loose(const char *s)
{
	json_t *l = json_array();

	while (*s) {
		size_t n;
		if (isdigit((unsigned char)*s)) {
			n = strspn(s, "0123456789");
			char num[32];
			str_copy(num, s, n + 1 < sizeof num ? n + 1 : sizeof num);
			json_array_append_new(l, json_integer(strtoll(num, NULL, 10)));
		} else if (*s == '.') {
			n = 1;
		} else {
			n = 0;
			while (s[n] && !isdigit((unsigned char)s[n]) && s[n] != '.')
				n++;
			json_array_append_new(l, str_new(s, n));
		}
		s += n;
	}
	return l;
}

/* distutils' StrictVersion: N.N[.N][(a|b)N]; -1 when it does not parse. */
static int
version_strict(const char *s, long long v[5])
{
	char tail[8] = "";
	int n = 0, c = 0;

	v[2] = 0;
	v[3] = 'z'; /* no pre-release sorts after any */
	v[4] = 0;
	if (sscanf(s, "%lld.%lld%n", &v[0], &v[1], &n) != 2)
		return -1;
	s += n;
	if (*s == '.' && sscanf(s, ".%lld%n", &v[2], &c) == 1)
		s += c;
	if (*s == 'a' || *s == 'b') {
		v[3] = *s;
		if (sscanf(s + 1, "%lld%n", &v[4], &c) != 1)
			return -1;
		s += 1 + c;
	}
	(void)tail;
	return *s ? -1 : 0;
}

static int
version_cmp_lists(const json_t *x, const json_t *y)
{
	size_t nx = json_array_size(x), ny = json_array_size(y);

	for (size_t i = 0; i < nx && i < ny; i++) {
		json_t *p = json_array_get(x, i), *q = json_array_get(y, i);
		int c;
		if (json_is_integer(p) != json_is_integer(q))
			return json_is_integer(p) ? -1 : 1;
		if (tval_compare(p, q, &c, NULL) == 0 && c)
			return c;
	}
	return (nx > ny) - (nx < ny);
}

static int
t_version(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	static const struct {
		const char *name;
		int lo, hi;
		bool ne;
	} ops[] = {{"==", 0, 0, false}, {"=", 0, 0, false}, {"eq", 0, 0, false},
	    {"<", -1, -1, false}, {"lt", -1, -1, false}, {"<=", -1, 0, false},
	    {"le", -1, 0, false}, {">", 1, 1, false}, {"gt", 1, 1, false}, {">=", 0, 1, false},
	    {"ge", 0, 1, false}, {"!=", 0, 0, true}, {"<>", 0, 0, true}, {"ne", 0, 0, true}};
	const char *op = arg_str(a, 1, "operator", "eq");
	const char *type = arg_str(a, 3, "version_type", NULL);
	bool strict = arg_bool(a, 2, "strict", false) || (type && strcmp(type, "strict") == 0);
	json_t *other = ARG(0, "version");
	size_t i;
	int c;

	for (i = 0; i < nitems(ops) && strcmp(ops[i].name, op); i++)
		;
	if (i == nitems(ops))
		FAIL("Invalid operator type (%s)", op);
	if (!other)
		FAIL("Version comparison failed: no version to compare to");
	if (type && strcmp(type, "loose") && strcmp(type, "strict"))
		FAIL("version_type %s is not supported", type);
	char *x = tval_strdup(in), *y = tval_strdup(other);
	if (strict) {
		long long vx[5], vy[5];
		if (version_strict(x, vx) < 0 || version_strict(y, vy) < 0) {
			dr_error_set(err, "Version comparison failed: invalid version number '%s'",
			    version_strict(x, vx) < 0 ? x : y);
			free(x);
			free(y);
			return -1;
		}
		c = 0;
		for (int k = 0; k < 5 && !c; k++)
			c = (vx[k] > vy[k]) - (vx[k] < vy[k]);
	} else {
		json_t *lx = version_loose(x), *ly = version_loose(y);
		c = version_cmp_lists(lx, ly);
		json_decref(lx);
		json_decref(ly);
	}
	free(x);
	free(y);
	*ret = ops[i].ne ? c != 0 : c >= ops[i].lo && c <= ops[i].hi;
	return 0;
}

static int
t_iterable(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	*ret = json_is_array(in) || json_is_string(in) || json_is_object(in);
	return 0;
}

static int
t_truthy(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	*ret = template_truthy(in);
	return 0;
}

static int
t_falsy(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	*ret = !template_truthy(in);
	return 0;
}

static int
t_any(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	size_t i;
	json_t *x;

	*ret = false;
	json_array_foreach(in, i, x) *ret |= template_truthy(x);
	return 0;
}

static int
t_all(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	size_t i;
	json_t *x;

	*ret = true;
	json_array_foreach(in, i, x) *ret &= template_truthy(x);
	return 0;
}

static int
t_subset(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	json_t *o = ARG(0, NULL), *x;
	size_t i;

	if (!json_is_array(in) || !json_is_array(o))
		FAIL("subset needs two lists");
	*ret = true;
	json_array_foreach(in, i, x)
	{
		bool has;
		tval_contains(o, x, &has, NULL);
		*ret &= has;
	}
	return 0;
}

static int
t_superset(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	json_t *o = ARG(0, NULL);
	struct template_args sub = {1, (json_t *const *)&in, 0, NULL, NULL};

	if (!o)
		FAIL("superset needs a list");
	return t_subset(o, &sub, ret, err);
}

static int
t_sameas(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	json_t *o = ARG(0, NULL);

	/* Only the singletons (None, True, False) are the same object in Python. */
	*ret = o && (json_is_null(in) || json_is_boolean(in)) && json_typeof(in) == json_typeof(o);
	return 0;
}

/* The built-in tests, by name (sorted). */
static const struct template_test tests[] = {
    {"all", t_all, false},
    {"any", t_any, false},
    {"boolean", t_boolean, false},
    {"contains", t_contains, false},
    {"defined", t_defined, true},
    {"divisibleby", t_divisibleby, false},
    {"eq", t_eq, false},
    {"equalto", t_eq, false},
    {"even", t_even, false},
    {"false", t_false, false},
    {"falsy", t_falsy, false},
    {"float", t_float, false},
    {"ge", t_ge, false},
    {"greaterthan", t_gt, false},
    {"gt", t_gt, false},
    {"in", t_in, false},
    {"integer", t_integer, false},
    {"issubset", t_subset, false},
    {"issuperset", t_superset, false},
    {"iterable", t_iterable, false},
    {"le", t_le, false},
    {"lessthan", t_lt, false},
    {"lower", t_lower, false},
    {"lt", t_lt, false},
    {"mapping", t_mapping, false},
    {"match", t_match, false},
    {"ne", t_ne, false},
    {"none", t_none, false},
    {"number", t_number, false},
    {"odd", t_odd, false},
    {"regex", t_search, false},
    {"sameas", t_sameas, false},
    {"search", t_search, false},
    {"sequence", t_sequence, false},
    {"string", t_string, false},
    {"subset", t_subset, false},
    {"superset", t_superset, false},
    {"true", t_true, false},
    {"truthy", t_truthy, false},
    {"undefined", t_undefined, true},
    {"upper", t_upper, false},
    {"version", t_version, false},
    {"version_compare", t_version, false},
};

static int
test_cmp(const void *key, const void *ent)
{
	return strcmp(key, ((const struct template_test *)ent)->name);
}

/* A built-in test by name. */
const struct template_test *
template_test_find(const char *name)
{
	return bsearch(name, tests, nitems(tests), sizeof tests[0], test_cmp);
}

/* Methods: Python's str/dict/list methods templates call, and the global functions. */
typedef int (*method_fn)(
    const json_t *obj, const struct template_args *a, json_t **ret, struct dr_error *err);

static int
m_split(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *sep = ARG(0, "sep");

	if (json_is_string(sep) && !json_string_length(sep))
		FAIL("empty separator");
	*ret = str_split(json_string_value(o), json_string_length(o),
	    json_is_string(sep) ? json_string_value(sep) : NULL, arg_int(a, 1, "maxsplit", -1),
	    false);
	return 0;
}

static int
m_rsplit(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *sep = ARG(0, "sep");

	*ret = str_split(json_string_value(o), json_string_length(o),
	    json_is_string(sep) ? json_string_value(sep) : NULL, arg_int(a, 1, "maxsplit", -1),
	    true);
	return 0;
}

static int
m_strip_common(const json_t *o, const struct template_args *a, bool l, bool r, json_t **ret)
{
	json_t *chars = ARG(0, "chars");

	*ret = str_strip(json_string_value(o), json_string_length(o),
	    json_is_string(chars) ? json_string_value(chars) : NULL, l, r);
	return 0;
}

static int
m_strip(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return m_strip_common(o, a, true, true, ret);
}

static int
m_lstrip(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return m_strip_common(o, a, true, false, ret);
}

static int
m_rstrip(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return m_strip_common(o, a, false, true, ret);
}

/* startswith/endswith with a string or a list of strings. */
static int
m_affix(
    const json_t *o, const struct template_args *a, bool end, json_t **ret, struct dr_error *err)
{
	json_t *p = ARG(0, NULL), *x;
	const char *s = json_string_value(o);
	size_t n = json_string_length(o), i;
	bool hit = false;

	if (!p)
		FAIL("missing argument");
	json_t *list = json_is_array(p) ? json_incref(p) : json_pack("[O]", p);
	json_array_foreach(list, i, x)
	{
		if (!json_is_string(x)) {
			json_decref(list);
			FAIL("expected a string, not %s", tval_type(x));
		}
		size_t k = json_string_length(x);
		if (k <= n && memcmp(end ? s + n - k : s, json_string_value(x), k) == 0)
			hit = true;
	}
	json_decref(list);
	*ret = json_boolean(hit);
	return 0;
}

static int
m_startswith(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return m_affix(o, a, false, ret, err);
}

static int
m_endswith(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return m_affix(o, a, true, ret, err);
}

static int
m_replace(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	const char *old = arg_str(a, 0, NULL, NULL), *new = arg_str(a, 1, NULL, NULL);

	if (!old || !new)
		FAIL("replace() needs two strings");
	*ret = str_replace(
	    json_string_value(o), json_string_length(o), old, new, arg_int(a, 2, "count", -1));
	return 0;
}

static int
m_join(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *l = ARG(0, NULL), *x, *items;
	struct buf b = BUF_INIT(TEMPLATE_MAX_OUTPUT);
	size_t i;

	if (!l || !(items = seq_of(l, err)))
		FAIL("join() needs an iterable");
	json_array_foreach(items, i, x)
	{
		if (!json_is_string(x)) {
			json_decref(items);
			buf_free(&b);
			FAIL(
			    "sequence item %zu: expected str instance, %s found", i, tval_type(x));
		}
		if (i)
			buf_add(&b, json_string_value(o), json_string_length(o));
		buf_add(&b, json_string_value(x), json_string_length(x));
	}
	json_decref(items);
	*ret = tval_from_buf(&b);
	return 0;
}

static int
m_lower(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	*ret = str_case(o, CASE_LOWER);
	return 0;
}

static int
m_upper(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	*ret = str_case(o, CASE_UPPER);
	return 0;
}

static int
m_capitalize(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	*ret = str_case(o, CASE_CAPITALIZE);
	return 0;
}

static int
m_find(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	const char *sub = arg_str(a, 0, NULL, NULL), *s = json_string_value(o);

	if (!sub)
		FAIL("find() needs a string");
	const char *hit = memmem(s, json_string_length(o), sub, strlen(sub));
	*ret = json_integer(hit ? (json_int_t)utf8_len(s, (size_t)(hit - s)) : -1);
	return 0;
}

static int
m_str_count(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	const char *sub = arg_str(a, 0, NULL, NULL), *s = json_string_value(o);
	size_t n = json_string_length(o), k, i = 0;
	long long c = 0;

	if (!sub)
		FAIL("count() needs a string");
	k = strlen(sub);
	if (k == 0)
		c = (long long)utf8_len(s, n) + 1;
	else
		for (const char *h; (h = memmem(s + i, n - i, sub, k)); i = (size_t)(h - s) + k)
			c++;
	*ret = json_integer(c);
	return 0;
}

/* Python's "{} {0} {name}".format(...) for plain fields (no format specs). */
static int
m_format(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	struct buf b = BUF_INIT(TEMPLATE_MAX_OUTPUT);
	size_t auto_i = 0;

	for (const char *p = json_string_value(o); *p; p++) {
		if ((*p == '{' && p[1] == '{') || (*p == '}' && p[1] == '}')) {
			buf_addc(&b, *p++);
			continue;
		}
		if (*p != '{') {
			buf_addc(&b, *p);
			continue;
		}
		const char *end = strchr(p, '}');
		if (!end) {
			buf_free(&b);
			FAIL("Single '{' encountered in format string");
		}
		char field[64];
		str_copy(field, p + 1,
		    (size_t)(end - p) < sizeof field ? (size_t)(end - p) : sizeof field);
		field[strcspn(field, ":!")] = '\0';
		json_t *v;
		if (!field[0])
			v = ARG(auto_i++, NULL);
		else if (isdigit((unsigned char)field[0]))
			v = ARG(strtoul(field, NULL, 10), NULL);
		else
			v = template_arg(a, SIZE_MAX, field);
		if (!v) {
			buf_free(&b);
			FAIL("format field '%s' has no value", field);
		}
		tval_str(&b, v);
		p = end;
	}
	*ret = tval_from_buf(&b);
	return 0;
}

static int
m_isdigit(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	const char *s = json_string_value(o);
	bool ok = *s != '\0';

	for (; *s; s++)
		ok &= isdigit((unsigned char)*s) != 0;
	*ret = json_boolean(ok);
	return 0;
}

static int
m_items(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	const char *k;
	json_t *v, *r = json_array();

	json_object_foreach((json_t *)o, k, v) json_array_append_new(r, json_pack("[sO]", k, v));
	*ret = r;
	return 0;
}

static int
m_keys(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	*ret = tval_iter_list(o, err);
	return 0;
}

static int
m_values(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	const char *k;
	json_t *v, *r = json_array();

	json_object_foreach((json_t *)o, k, v) json_array_append(r, v);
	*ret = r;
	return 0;
}

static int
m_get(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *k = ARG(0, NULL), *d = ARG(1, NULL), *v = NULL;

	if (json_is_string(k))
		v = json_object_get(o, json_string_value(k));
	*ret = json_incref(v ? v : d ? d : json_null());
	return 0;
}

static int
m_copy(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	*ret = json_copy((json_t *)o);
	return 0;
}

static int
m_index(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *x = ARG(0, NULL), *v;
	size_t i;

	json_array_foreach(o, i, v) if (x && tval_equal(v, x))
	{
		*ret = json_integer((json_int_t)i);
		return 0;
	}
	FAIL("value is not in list");
}

static int
m_list_count(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *x = ARG(0, NULL), *v;
	size_t i;
	long long c = 0;

	json_array_foreach(o, i, v) c += x && tval_equal(v, x);
	*ret = json_integer(c);
	return 0;
}

static int
g_range(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	long long start = 0, stop, step = 1;

	if (a->npos == 1)
		stop = arg_int(a, 0, NULL, 0);
	else {
		start = arg_int(a, 0, NULL, 0);
		stop = arg_int(a, 1, NULL, 0);
		step = arg_int(a, 2, NULL, 1);
	}
	if (a->npos == 0 || step == 0)
		FAIL("range() needs a stop and a step other than 0");
	long long count =
	    step > 0 ? (stop - start + step - 1) / step : (start - stop - step - 1) / -step;
	if (count > 1000000)
		FAIL("range too big (%lld items)", count);
	json_t *r = json_array();
	for (long long i = 0; i < count; i++)
		json_array_append_new(r, json_integer(start + i * step));
	*ret = r;
	return 0;
}

static int
g_dict(const json_t *o, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *r = a->npos && json_is_object(a->pos[0]) ? json_copy(a->pos[0]) : json_object();

	if (a->npos && json_is_array(a->pos[0])) {
		size_t i;
		json_t *p;
		json_array_foreach(a->pos[0], i, p)
		{
			char *k = tval_strdup(json_array_get(p, 0));
			json_object_set(r, k, json_array_get(p, 1));
			free(k);
		}
	}
	for (size_t i = 0; i < a->nkw; i++)
		json_object_set(r, a->kw_names[i], a->kw[i]);
	*ret = r;
	return 0;
}

static const struct {
	json_type type; /* JSON_NULL here means a global function */
	const char *name;
	method_fn fn;
} methods[] = {
    {JSON_STRING, "split", m_split},
    {JSON_STRING, "rsplit", m_rsplit},
    {JSON_STRING, "strip", m_strip},
    {JSON_STRING, "lstrip", m_lstrip},
    {JSON_STRING, "rstrip", m_rstrip},
    {JSON_STRING, "lower", m_lower},
    {JSON_STRING, "upper", m_upper},
    {JSON_STRING, "capitalize", m_capitalize},
    {JSON_STRING, "startswith", m_startswith},
    {JSON_STRING, "endswith", m_endswith},
    {JSON_STRING, "replace", m_replace},
    {JSON_STRING, "join", m_join},
    {JSON_STRING, "find", m_find},
    {JSON_STRING, "count", m_str_count},
    {JSON_STRING, "format", m_format},
    {JSON_STRING, "isdigit", m_isdigit},
    {JSON_OBJECT, "items", m_items},
    {JSON_OBJECT, "keys", m_keys},
    {JSON_OBJECT, "values", m_values},
    {JSON_OBJECT, "get", m_get},
    {JSON_OBJECT, "copy", m_copy},
    {JSON_ARRAY, "index", m_index},
    {JSON_ARRAY, "count", m_list_count},
    {JSON_ARRAY, "copy", m_copy},
    {JSON_NULL, "range", g_range},
    {JSON_NULL, "dict", g_dict},
};

/* Call a method on obj (NULL: a global function). */
int
template_method_call(const json_t *obj, const char *name, const struct template_args *args,
    json_t **ret, struct dr_error *err)
{
	json_type type = obj ? json_typeof(obj) : JSON_NULL;

	if (obj && json_is_null(obj))
		return 1;
	for (size_t i = 0; i < nitems(methods); i++)
		if (methods[i].type == type && strcmp(methods[i].name, name) == 0)
			return methods[i].fn(obj, args, ret, err) < 0 ? -1 : 0;
	return 1;
}
