/*
 * vars.c - templating of playbook values through core's Jinja engine, made lazy: a string
 * that names another variable whose value holds {{ }} gets that value rendered first. Also
 * Ansible's extra filters, tests and lookups, conditionals, and the k=v argument syntax.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "playbooks/playbooks.h"

#define VARS_FILE_MAX (16u << 20)
#define VARS_LOOKUP_MAX (16u << 20)

/* What one rendering resolves: the variables, values already rendered, names in progress. */
struct vars_ctx {
	const json_t *vars;
	json_t *resolved; /* name -> rendered value */
	json_t *resolving; /* name -> true while it is being rendered */
	int depth;
};

/* The variables lookups see (set while a template renders on this thread). */
static __thread struct vars_ctx *vars_current;

static int vars_ctx_value(struct vars_ctx *c, const json_t *v, json_t **ret, struct dr_error *err);

/* True when a value holds a string with template markers somewhere inside. */
static bool
vars_needs(const json_t *v, int depth)
{
	if (depth > 64)
		return false;
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		return strstr(s, "{{") || strstr(s, "{%");
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) if (vars_needs(x, depth + 1)) return true;
	}
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x) if (vars_needs(x, depth + 1)) return true;
	}
	return false;
}

/* Names an expression text refers to (identifiers outside quotes, not after a dot). */
static void
vars_names(const char *s, size_t n, json_t *out)
{
	for (size_t i = 0; i < n;) {
		char ch = s[i];
		if (ch == '\'' || ch == '"') {
			size_t j = i + 1;
			while (j < n && s[j] != ch) {
				if (s[j] == '\\')
					j++;
				j++;
			}
			i = j + 1;
			continue;
		}
		if (isalpha((unsigned char)ch) || ch == '_') {
			size_t j = i;
			while (j < n && (isalnum((unsigned char)s[j]) || s[j] == '_'))
				j++;
			size_t k = i;
			while (k > 0 && isspace((unsigned char)s[k - 1]))
				k--;
			if (k == 0 || s[k - 1] != '.') {
				_cleanup_free_ char *name = xstrndup(s + i, j - i);
				json_object_set(out, name, json_true());
			}
			i = j;
			continue;
		}
		i++;
	}
}

/* Names inside the {{ }} and {% %} of a template text. */
static void
vars_template_names(const char *s, json_t *out)
{
	const char *p = s;

	while ((p = strchr(p, '{')) != NULL) {
		const char *end;
		if (p[1] == '{')
			end = strstr(p + 2, "}}");
		else if (p[1] == '%')
			end = strstr(p + 2, "%}");
		else {
			p++;
			continue;
		}
		if (!end)
			end = p + strlen(p);
		vars_names(p + 2, (size_t)(end - p - 2), out);
		p = *end ? end + 2 : end;
	}
}

/*
 * The object to render with: vars, with each referenced variable whose value holds a
 * template replaced by its rendered value. *ret is a new reference (vars itself when no
 * variable needed rendering).
 */
static int
vars_ctx_scope(struct vars_ctx *c, json_t *names, json_t **ret, struct dr_error *err)
{
	const char *name;
	json_t *t, *scope = NULL;

	json_object_foreach(names, name, t)
	{
		json_t *v = json_object_get(c->vars, name), *r;
		if (!v || !vars_needs(v, 0))
			continue;
		r = json_object_get(c->resolved, name);
		if (r)
			json_incref(r);
		else {
			if (json_object_get(c->resolving, name)) {
				json_decref(scope);
				return dr_error_set(
				    err, "recursive loop detected in template for '%s'", name);
			}
			if (c->depth >= VARS_MAX_DEPTH) {
				json_decref(scope);
				return dr_error_set(err, "variables nest deeper than %d at '%s'",
				    VARS_MAX_DEPTH, name);
			}
			json_object_set(c->resolving, name, json_true());
			c->depth++;
			int rc = vars_ctx_value(c, v, &r, err);
			c->depth--;
			json_object_del(c->resolving, name);
			if (rc < 0) {
				json_decref(scope);
				return -1;
			}
			json_object_set(c->resolved, name, r);
		}
		if (!scope)
			scope = json_copy((json_t *)c->vars);
		json_object_set_new(scope, name, r);
	}
	*ret = scope ? scope : json_incref((json_t *)c->vars);
	return 0;
}

/* A Python literal (what ast.literal_eval accepts) parsed with the expression engine. */
static json_t *
vars_literal(const char *s)
{
	json_t *v = NULL;

	if (template_eval("literal", s, NULL, NULL, &v, NULL) < 0)
		return NULL;
	return v;
}

/* Ansible's result conversion: "[..]", "{..}", "True", "False" become values. */
static json_t *
vars_convert(char *text)
{
	json_t *v;

	if ((text[0] == '[' || text[0] == '{' || strcmp(text, "True") == 0 ||
	        strcmp(text, "False") == 0) &&
	    (v = vars_literal(text)) != NULL) {
		free(text);
		return v;
	}
	v = json_string(text);
	if (!v)
		v = json_stringn(text, strlen(text));
	free(text);
	return v ? v : json_string("");
}

/* A Python str() of a scalar for the single-expression case. */
static char *
vars_scalar_text(const json_t *v)
{
	char *out = NULL;
	json_t *ctx = json_pack("{s:O}", "v", v);

	if (template_render_string("str", "{{ v }}", NULL, ctx, &out, NULL) < 0)
		out = xstrdup("");
	json_decref(ctx);
	return out;
}

/*
 * Ansible's STRING_TYPE_FILTERS: a template that is one expression ending in one of these
 * filters gives text that is never converted to a list, dict or bool.
 */
static const char *const vars_string_filters[] = {
    "string", "to_json", "to_nice_json", "to_yaml", "to_nice_yaml", "ppretty", "json"};

/* Whether expression text (one "{{ }}" body) ends in a string-type filter at the top level. */
static bool
vars_string_filtered(const char *e, size_t n)
{
	size_t i, depth = 0, pipe = SIZE_MAX, open_end = SIZE_MAX;
	char q = 0;

	while (n > 0 && isspace((unsigned char)*e))
		e++, n--;
	while (n > 0 && isspace((unsigned char)e[n - 1]))
		n--;
	for (i = 0; i < n; i++) {
		char ch = e[i];
		if (q) {
			if (ch == '\\' && i + 1 < n)
				i++;
			else if (ch == q)
				q = 0;
		} else if (ch == '\'' || ch == '"') {
			q = ch;
		} else if (ch == '(' || ch == '[' || ch == '{') {
			depth++;
		} else if ((ch == ')' || ch == ']' || ch == '}') && depth > 0) {
			if (--depth == 0 && e[0] == '(' && open_end == SIZE_MAX)
				open_end = i;
		} else if (ch == '|' && depth == 0) {
			pipe = i;
		}
	}
	/* "(x | to_json)": the parentheses are no node of their own */
	if (n > 2 && e[0] == '(' && open_end == n - 1)
		return vars_string_filtered(e + 1, n - 2);
	if (pipe == SIZE_MAX)
		return false;
	const char *p = e + pipe + 1, *end = e + n;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n'))
		p++;
	const char *name = p;
	while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
		p++;
	size_t len = (size_t)(p - name);
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n'))
		p++;
	/* the filter's arguments, if any, must close the expression */
	if (p < end && *p == '(') {
		depth = 0;
		q = 0;
		for (; p < end; p++) {
			if (q) {
				if (*p == '\\' && p + 1 < end)
					p++;
				else if (*p == q)
					q = 0;
			} else if (*p == '\'' || *p == '"') {
				q = *p;
			} else if (*p == '(') {
				depth++;
			} else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n'))
			p++;
	}
	if (p != end)
		return false;
	for (i = 0; i < sizeof vars_string_filters / sizeof *vars_string_filters; i++)
		if (strlen(vars_string_filters[i]) == len &&
		    strncmp(vars_string_filters[i], name, len) == 0)
			return true;
	return false;
}

/* The number of newlines ending s. */
static size_t
vars_newlines_end(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && s[len - 1 - n] == '\n')
		n++;
	return n;
}

/*
 * Render one string as Ansible's Templar does: Jinja drops one trailing newline of the
 * template, the result is converted ("[..]", "{..}", "True", "False" become values unless
 * the template is one expression ending in a string-type filter), and a text result gets
 * back the trailing newlines the template had.
 */
static int
vars_ctx_string(struct vars_ctx *c, const char *s, json_t **ret, struct dr_error *err)
{
	json_t *names, *scope;
	struct vars_ctx *saved = vars_current;
	size_t full = strlen(s), len = full;
	const char *a, *b;
	int r;

	if (!strstr(s, "{{") && !strstr(s, "{%")) {
		*ret = json_string(s);
		return 0;
	}
	names = json_object();
	vars_template_names(s, names);
	r = vars_ctx_scope(c, names, &scope, err);
	json_decref(names);
	if (r < 0)
		return -1;
	vars_current = c;
	if (len > 0 && s[len - 1] == '\n')
		len--;
	a = s;
	b = s + len;
	_cleanup_free_ char *body = xstrndup(s, len);
	/* A whole "{{ expr }}": evaluate, keeping lists, dicts and booleans. */
	if (len > 4 && a[0] == '{' && a[1] == '{' && b[-1] == '}' && b[-2] == '}' &&
	    !strstr(body + 2, "{{") && strstr(body + 2, "}}") == body + len - 2 &&
	    !strstr(body, "{%")) {
		_cleanup_free_ char *expr = xstrndup(a + 2, len - 4);
		json_t *v;
		r = template_eval("template", expr, NULL, scope, &v, err);
		if (r == 0) {
			if (json_is_array(v) || json_is_object(v) || json_is_boolean(v))
				*ret = v;
			else if (json_is_null(v)) {
				json_decref(v);
				*ret = json_string("");
			} else if (json_is_string(v)) {
				if (vars_string_filtered(expr, len - 4))
					*ret = json_incref(v);
				else
					*ret = vars_convert(xstrdup(json_string_value(v)));
				json_decref(v);
			} else {
				char *t = vars_scalar_text(v);
				*ret = json_string(t);
				free(t);
				json_decref(v);
			}
		}
	} else {
		char *out;
		r = template_render_string("template", body, NULL, scope, &out, err);
		if (r == 0)
			*ret = vars_convert(out);
	}
	if (r == 0 && json_is_string(*ret)) {
		const char *t = json_string_value(*ret);
		size_t tl = json_string_length(*ret);
		size_t want = vars_newlines_end(s, full), have = vars_newlines_end(t, tl);
		if (want > have) {
			struct buf nb = BUF_INIT(0);
			buf_add(&nb, t, tl);
			for (; have < want; have++)
				buf_adds(&nb, "\n");
			json_decref(*ret);
			*ret = json_stringn(nb.data, nb.len);
			buf_free(&nb);
		}
	}
	vars_current = saved;
	json_decref(scope);
	return r;
}

/* Render every string in a value. */
static int
vars_ctx_value(struct vars_ctx *c, const json_t *v, json_t **ret, struct dr_error *err)
{
	if (json_is_string(v))
		return vars_ctx_string(c, json_string_value(v), ret, err);
	if (json_is_array(v)) {
		json_t *out = json_array(), *x, *r;
		size_t i;
		json_array_foreach(v, i, x)
		{
			if (vars_ctx_value(c, x, &r, err) < 0) {
				json_decref(out);
				return -1;
			}
			json_array_append_new(out, r);
		}
		*ret = out;
		return 0;
	}
	if (json_is_object(v)) {
		json_t *out = json_object(), *x, *r;
		const char *k;
		json_object_foreach((json_t *)v, k, x)
		{
			json_t *kv;
			if (vars_ctx_value(c, x, &r, err) < 0) {
				json_decref(out);
				return -1;
			}
			if ((strstr(k, "{{")) && vars_ctx_string(c, k, &kv, err) == 0 &&
			    json_is_string(kv)) {
				json_object_set_new(out, json_string_value(kv), r);
				json_decref(kv);
			} else
				json_object_set_new(out, k, r);
		}
		*ret = out;
		return 0;
	}
	*ret = json_incref((json_t *)v);
	return 0;
}

/* Template every string in value. */
int
vars_template(const json_t *vars, const json_t *value, json_t **ret, struct dr_error *err)
{
	struct vars_ctx c = {.vars = vars, .resolved = json_object(), .resolving = json_object()};
	int r = vars_ctx_value(&c, value, ret, err);

	json_decref(c.resolved);
	json_decref(c.resolving);
	return r;
}

/* Template a string to a string. */
int
vars_template_str(const json_t *vars, const char *text, char **ret, struct dr_error *err)
{
	json_t *s = json_string(text), *v;
	int r = vars_template(vars, s, &v, err);

	json_decref(s);
	if (r < 0)
		return -1;
	if (json_is_string(v))
		*ret = xstrdup(json_string_value(v));
	else
		*ret = vars_scalar_text(v);
	json_decref(v);
	return 0;
}

/* Evaluate one condition expression. */
static int
vars_cond_one(struct vars_ctx *c, const char *expr, bool *ret, struct dr_error *err)
{
	_cleanup_free_ char *text = NULL;
	json_t *names, *scope, *v;
	struct vars_ctx *saved = vars_current;
	int r, hops = 0;

	text = xstrdup(expr);
	for (;;) {
		/* {{ }} in a condition is templated first, as Ansible (with a warning) does. */
		if (strstr(text, "{{") || strstr(text, "{%")) {
			json_t *t;
			if (vars_ctx_string(c, text, &t, err) < 0)
				return -1;
			if (json_is_boolean(t)) {
				*ret = json_is_true(t);
				json_decref(t);
				return 0;
			}
			free(text);
			text = json_is_string(t) ? xstrdup(json_string_value(t))
			                         : vars_scalar_text(t);
			json_decref(t);
		}
		str_trim(text);
		/* A bare variable name holding a string is that string's expression. */
		json_t *bare = json_object_get(c->vars, text);
		bool ident = *text && (isalpha((unsigned char)*text) || *text == '_');
		for (const char *p = text; *p && ident; p++)
			if (!isalnum((unsigned char)*p) && *p != '_')
				ident = false;
		if (ident && bare && json_is_string(bare) && hops++ < 8) {
			free(text);
			text = xstrdup(json_string_value(bare));
			if (!*text) {
				*ret = false;
				return 0;
			}
			continue;
		}
		break;
	}
	if (!*text) {
		*ret = false;
		return 0;
	}
	names = json_object();
	vars_names(text, strlen(text), names);
	r = vars_ctx_scope(c, names, &scope, err);
	json_decref(names);
	if (r < 0)
		return -1;
	vars_current = c;
	r = template_eval("conditional", text, NULL, scope, &v, err);
	vars_current = saved;
	json_decref(scope);
	if (r < 0)
		return dr_error_prefix(err, "the conditional check '%s' failed: ", expr);
	*ret = template_truthy(v);
	json_decref(v);
	return 0;
}

/* A when/changed_when/failed_when condition. */
int
vars_cond(const json_t *vars, const json_t *cond, bool *ret, struct dr_error *err)
{
	struct vars_ctx c = {.vars = vars, .resolved = json_object(), .resolving = json_object()};
	int r = 0;

	*ret = true;
	if (!cond || json_is_null(cond))
		goto out;
	if (json_is_boolean(cond)) {
		*ret = json_is_true(cond);
		goto out;
	}
	if (json_is_integer(cond) || json_is_real(cond)) {
		*ret = template_truthy(cond);
		goto out;
	}
	if (json_is_string(cond)) {
		r = vars_cond_one(&c, json_string_value(cond), ret, err);
		goto out;
	}
	if (json_is_array(cond)) {
		size_t i;
		json_t *x;
		json_array_foreach(cond, i, x)
		{
			bool b;
			if ((r = vars_cond(vars, x, &b, err)) < 0)
				goto out;
			if (!b) {
				*ret = false;
				goto out;
			}
		}
		goto out;
	}
	r = dr_error_set(err, "a condition must be a string, a boolean or a list");
out:
	json_decref(c.resolved);
	json_decref(c.resolving);
	return r;
}

void
vars_merge(json_t *dst, const json_t *src)
{
	if (json_is_object(src))
		json_object_update(dst, (json_t *)src);
}

/* Template includes relative to the directory of the including file. */
static int
vars_include_load(
    void *ctx, const char *name, char **ret_text, char **ret_name, struct dr_error *err)
{
	const char *dir = ctx;
	_cleanup_free_ char *path = name[0] == '/' ? xstrdup(name) : xasprintf("%s/%s", dir, name);
	char *text;
	size_t len;

	if (file_read(path, VARS_FILE_MAX, &text, &len, err) < 0)
		return -1;
	*ret_text = text;
	*ret_name = TAKE_PTR(path);
	return 0;
}

/* Render a template file's text with Ansible's options. */
int
vars_render_file(const json_t *vars, const char *name, const char *text, const char *dir,
    char **ret, struct dr_error *err)
{
	struct template_opts o = {
	    .trim_blocks = true, .load = vars_include_load, .load_ctx = (void *)dir};
	struct vars_ctx c = {.vars = vars, .resolved = json_object(), .resolving = json_object()};
	struct vars_ctx *saved = vars_current;
	json_t *names = json_object(), *scope;
	int r;

	vars_template_names(text, names);
	r = vars_ctx_scope(&c, names, &scope, err);
	json_decref(names);
	if (r == 0) {
		vars_current = &c;
		r = template_render_string(name, text, &o, scope, ret, err);
		vars_current = saved;
		json_decref(scope);
	}
	json_decref(c.resolved);
	json_decref(c.resolving);
	return r;
}

/* A variables file: a mapping (or empty). */
int
vars_file_load(const char *path, json_t **ret, struct dr_error *err)
{
	json_t *v;
	struct yaml_src *src;
	char where[1024];

	if (yaml_load_file(path, 0, &v, &src, err) < 0)
		return -1;
	if (json_is_null(v)) {
		json_decref(v);
		v = json_object();
	}
	if (!json_is_object(v)) {
		dr_error_set(err, "%s: expected a mapping of variables",
		    yaml_src_where(src, v, where, sizeof where));
		json_decref(v);
		yaml_src_free(src);
		return -1;
	}
	yaml_src_free(src);
	*ret = v;
	return 0;
}

/* The command modules' own keys in free-form text. */
static const char *const vars_free_form_keys[] = {"chdir", "creates", "removes", "executable",
    "warn", "stdin", "stdin_add_newline", "strip_empty_ends", "argv", "cmd"};

/* Python's escape sequences in a k=v value (\n, \t, \\, \xhh, \uXXXX), as parse_kv. */
static char *
vars_unescape(const char *s)
{
	struct buf b = BUF_INIT(0);

	for (const char *p = s; *p; p++) {
		if (*p != '\\' || !p[1]) {
			buf_addc(&b, *p);
			continue;
		}
		p++;
		switch (*p) {
		case 'n':
			buf_addc(&b, '\n');
			break;
		case 't':
			buf_addc(&b, '\t');
			break;
		case 'r':
			buf_addc(&b, '\r');
			break;
		case 'a':
			buf_addc(&b, '\a');
			break;
		case 'b':
			buf_addc(&b, '\b');
			break;
		case 'f':
			buf_addc(&b, '\f');
			break;
		case 'v':
			buf_addc(&b, '\v');
			break;
		case '\\':
		case '\'':
		case '"':
			buf_addc(&b, *p);
			break;
		case 'x':
		case 'u': {
			int want = *p == 'x' ? 2 : 4;
			unsigned cp = 0;
			int k;
			for (k = 0; k < want && isxdigit((unsigned char)p[1 + k]); k++)
				cp = cp * 16 +
				    (unsigned)(isdigit((unsigned char)p[1 + k])
				            ? p[1 + k] - '0'
				            : (tolower((unsigned char)p[1 + k]) - 'a' + 10));
			if (k < want) {
				buf_addc(&b, '\\');
				buf_addc(&b, *p);
				break;
			}
			p += want;
			if (cp < 0x80)
				buf_addc(&b, (char)cp);
			else if (cp < 0x800) {
				buf_addc(&b, (char)(0xc0 | (cp >> 6)));
				buf_addc(&b, (char)(0x80 | (cp & 0x3f)));
			} else {
				buf_addc(&b, (char)(0xe0 | (cp >> 12)));
				buf_addc(&b, (char)(0x80 | ((cp >> 6) & 0x3f)));
				buf_addc(&b, (char)(0x80 | (cp & 0x3f)));
			}
			break;
		}
		default:
			buf_addc(&b, '\\');
			buf_addc(&b, *p);
		}
	}
	return buf_steal(&b);
}

/* k=v parsing with quotes and {{ }} kept whole. */
int
vars_kv_parse(const char *text, bool free_form, json_t **ret, struct dr_error *err)
{
	json_t *out = json_object();
	struct buf raw = BUF_INIT(0), word = BUF_INIT(0);
	const char *p = text, *start;

	while (*p) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		start = p;
		char q = 0;
		int depth = 0;
		buf_reset(&word);
		for (; *p; p++) {
			if (q) {
				if (*p == '\\' && p[1] == q) {
					buf_addc(&word, *++p);
					continue;
				}
				if (*p == q) {
					q = 0;
					continue;
				}
				buf_addc(&word, *p);
				continue;
			}
			if ((*p == '{' && (p[1] == '{' || p[1] == '%'))) {
				depth++;
				buf_add(&word, p, 2);
				p++;
				continue;
			}
			if ((*p == '}' || *p == '%') && p[1] == '}' && depth > 0) {
				depth--;
				buf_add(&word, p, 2);
				p++;
				continue;
			}
			if (depth == 0 && isspace((unsigned char)*p))
				break;
			if (depth == 0 && (*p == '"' || *p == '\'')) {
				q = *p;
				continue;
			}
			buf_addc(&word, *p);
		}
		if (q) {
			buf_free(&raw);
			buf_free(&word);
			json_decref(out);
			return dr_error_set(err, "unbalanced quotes in '%s'", text);
		}
		const char *w = word.data ? word.data : "";
		const char *eq = strchr(w, '=');
		bool is_kv = eq && eq != w;
		if (is_kv) {
			for (const char *c = w; c < eq; c++)
				if (!isalnum((unsigned char)*c) && *c != '_')
					is_kv = false;
		}
		if (is_kv && free_form) {
			bool known = false;
			for (size_t i = 0; i < nitems(vars_free_form_keys); i++)
				if (strncmp(w, vars_free_form_keys[i], (size_t)(eq - w)) == 0 &&
				    strlen(vars_free_form_keys[i]) == (size_t)(eq - w))
					known = true;
			is_kv = known;
		}
		if (is_kv) {
			_cleanup_free_ char *k = xstrndup(w, (size_t)(eq - w));
			_cleanup_free_ char *val = vars_unescape(eq + 1);
			json_object_set_new(out, k, json_string(val));
		} else if (free_form) {
			if (raw.len)
				buf_addc(&raw, ' ');
			buf_add(&raw, start, (size_t)(p - start));
		} else {
			dr_error_set(err, "expected key=value, got '%s'", w);
			buf_free(&raw);
			buf_free(&word);
			json_decref(out);
			return -1;
		}
	}
	if (raw.len)
		json_object_set_new(out, "_raw_params", json_string(raw.data));
	buf_free(&raw);
	buf_free(&word);
	*ret = out;
	return 0;
}

/* -e k=v, -e @file, -e '{"json": 1}'. */
int
vars_extra_parse(json_t *vars, const char *arg, struct dr_error *err)
{
	json_t *v = NULL;

	while (isspace((unsigned char)*arg))
		arg++;
	if (arg[0] == '@') {
		if (vars_file_load(arg + 1, &v, err) < 0)
			return -1;
	} else if (arg[0] == '{' || arg[0] == '[') {
		if (yaml_load_string("-e", arg, strlen(arg), 0, &v, NULL, err) < 0)
			return -1;
		if (!json_is_object(v)) {
			json_decref(v);
			return dr_error_set(err, "-e %s: expected a mapping", arg);
		}
	} else if (vars_kv_parse(arg, false, &v, err) < 0)
		return dr_error_prefix(err, "-e: ");
	json_object_update(vars, v);
	json_decref(v);
	return 0;
}

/* --- Ansible's tests --------------------------------------------------------------- */

/* A registered result: failed (or rc != 0 when failed is absent). */
static bool
vars_result_failed(const json_t *r)
{
	json_t *f = json_object_get(r, "failed");
	return f ? template_truthy(f) : false;
}

static int
vars_t_failed(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	if (!json_is_object(in))
		return dr_error_set(err, "the 'failed' test expects a dictionary");
	*ret = vars_result_failed(in);
	return 0;
}

static int
vars_t_succeeded(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	if (!json_is_object(in))
		return dr_error_set(err, "the 'succeeded' test expects a dictionary");
	*ret = !vars_result_failed(in);
	return 0;
}

static int
vars_t_changed(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	json_t *c, *results;
	size_t i;

	if (!json_is_object(in))
		return dr_error_set(err, "the 'changed' test expects a dictionary");
	c = json_object_get(in, "changed");
	*ret = c && template_truthy(c);
	results = json_object_get(in, "results");
	if (!c && json_is_array(results))
		json_array_foreach(results, i, c) if (json_is_object(c) &&
		    (json_object_get(c, "changed") &&
		        template_truthy(json_object_get(c, "changed")))) *ret = true;
	return 0;
}

static int
vars_t_skipped(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	if (!json_is_object(in))
		return dr_error_set(err, "the 'skipped' test expects a dictionary");
	*ret = (json_object_get(in, "skipped") && template_truthy(json_object_get(in, "skipped")));
	return 0;
}

static int
vars_t_finished(const json_t *in, const struct template_args *a, bool *ret, struct dr_error *err)
{
	json_t *f = json_is_object(in) ? json_object_get(in, "finished") : NULL;
	*ret = !f || template_truthy(f);
	return 0;
}

/* --- ipaddr basics ------------------------------------------------------------------ */

/* Parse "addr" or "addr/prefix"; family 4 or 6, 0 when not an address. */
static int
vars_ip_parse(const char *s, unsigned char *addr, int *ret_prefix)
{
	char buf[128];
	char *slash;
	int fam = 0;
	long long pfx = -1;

	str_copy(buf, s, sizeof buf);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1)
		fam = 4;
	else if (inet_pton(AF_INET6, buf, addr) == 1)
		fam = 6;
	if (!fam)
		return 0;
	if (slash && str_to_ll(slash + 1, 0, fam == 4 ? 32 : 128, &pfx) < 0)
		return 0;
	*ret_prefix = pfx < 0 ? (fam == 4 ? 32 : 128) : (int)pfx;
	return fam;
}

/* ipaddr / ipv4 / ipv6 with no query, 'address', 'network', 'netmask', 'prefix'. */
static int
vars_ipfilter(const json_t *in, const struct template_args *a, json_t **ret, int want)
{
	json_t *q = template_arg(a, 0, "query");
	const char *query = q && json_is_string(q) ? json_string_value(q) : "";
	unsigned char addr[16] = {0};
	int prefix = 0, fam;
	char out[128];

	if (json_is_array(in)) {
		json_t *list = json_array(), *x, *r;
		size_t i;
		json_array_foreach(in, i, x)
		{
			if (vars_ipfilter(x, a, &r, want) == 0 && !json_is_false(r))
				json_array_append_new(list, r);
			else
				json_decref(r);
		}
		*ret = list;
		return 0;
	}
	if (!json_is_string(in) || !(fam = vars_ip_parse(json_string_value(in), addr, &prefix)) ||
	    (want && fam != want)) {
		*ret = json_false();
		return 0;
	}
	int bytes = fam == 4 ? 4 : 16;
	if (!*query) {
		*ret = json_incref((json_t *)in);
		return 0;
	}
	if (strcmp(query, "address") == 0) {
		inet_ntop(fam == 4 ? AF_INET : AF_INET6, addr, out, sizeof out);
		*ret = json_string(out);
		return 0;
	}
	if (strcmp(query, "prefix") == 0) {
		*ret = json_integer(prefix);
		return 0;
	}
	unsigned char mask[16] = {0};
	for (int i = 0; i < bytes; i++) {
		int bits = prefix - i * 8;
		mask[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (unsigned char)(0xff << (8 - bits));
	}
	if (strcmp(query, "netmask") == 0) {
		inet_ntop(fam == 4 ? AF_INET : AF_INET6, mask, out, sizeof out);
		*ret = json_string(out);
		return 0;
	}
	if (strcmp(query, "network") == 0 || strcmp(query, "net") == 0 ||
	    strcmp(query, "subnet") == 0) {
		for (int i = 0; i < bytes; i++)
			addr[i] &= mask[i];
		inet_ntop(fam == 4 ? AF_INET : AF_INET6, addr, out, sizeof out);
		if (strcmp(query, "network") == 0)
			*ret = json_string(out);
		else {
			char *s = xasprintf("%s/%d", out, prefix);
			*ret = json_string(s);
			free(s);
		}
		return 0;
	}
	*ret = json_false();
	return 0;
}

static int
vars_f_ipaddr(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return vars_ipfilter(in, a, ret, 0);
}

static int
vars_f_ipv4(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return vars_ipfilter(in, a, ret, 4);
}

static int
vars_f_ipv6(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	return vars_ipfilter(in, a, ret, 6);
}

/* --- lookups ------------------------------------------------------------------------ */

/* A path relative to the role's or playbook's files/ (or templates/), as lookups search. */
static char *
vars_lookup_path(const char *name, const char *sub)
{
	const json_t *v = vars_current ? vars_current->vars : NULL;
	const char *role = json_string_value(json_object_get(v, "role_path"));
	const char *pb = json_string_value(json_object_get(v, "playbook_dir"));
	const char *bases[] = {role, role, pb, pb};
	const char *subs[] = {sub, "", sub, ""};
	struct stat st;

	if (name[0] == '/')
		return xstrdup(name);
	for (size_t i = 0; i < nitems(bases); i++) {
		if (!bases[i])
			continue;
		char *p = *subs[i] ? xasprintf("%s/%s/%s", bases[i], subs[i], name)
		                   : xasprintf("%s/%s", bases[i], name);
		if (stat(p, &st) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/* Run a command on the controller, capturing stdout. */
static int
vars_pipe(const char *cmd, char **ret, struct dr_error *err)
{
	struct conn_opts o = {.host = "localhost"};
	void *st;
	struct conn_result r = {0};

	if (conn_backend_local.open(&o, &st, err) < 0)
		return -1;
	if (conn_backend_local.exec(st, cmd, NULL, 0, 0, &r, err) < 0) {
		conn_backend_local.close(st);
		return -1;
	}
	conn_backend_local.close(st);
	if (r.status != 0) {
		dr_error_set(err, "lookup_plugin.pipe(%s) returned %d", cmd, r.status);
		conn_result_free(&r);
		return -1;
	}
	*ret = r.out;
	free(r.err);
	return 0;
}

/* password lookup: "path chars=ascii_letters,digits length=20"; stored in path. */
static int
vars_lookup_password(const char *term, json_t **ret, struct dr_error *err)
{
	json_t *kv = NULL;
	_cleanup_free_ char *copy = xstrdup(term);
	char *sp = strchr(copy, ' ');
	long long length = 20;
	struct buf chars = BUF_INIT(0);
	char *text = NULL;
	size_t len;

	if (sp) {
		*sp = '\0';
		if (vars_kv_parse(sp + 1, false, &kv, err) < 0)
			return -1;
	}
	const char *path = copy;
	if (kv && json_object_get(kv, "length") &&
	    str_to_ll(json_string_value(json_object_get(kv, "length")), 1, 4096, &length) < 0) {
		json_decref(kv);
		return dr_error_set(err, "password lookup: bad length");
	}
	if (strcmp(path, "/dev/null") != 0 && file_read(path, 65536, &text, &len, NULL) == 0) {
		char *nl = strchr(text, ' ');
		if (nl)
			*nl = '\0';
		str_trim(text);
		*ret = json_string(text);
		free(text);
		json_decref(kv);
		return 0;
	}
	const char *cs = kv && json_object_get(kv, "chars")
	    ? json_string_value(json_object_get(kv, "chars"))
	    : "ascii_letters,digits,.,:-_";
	_cleanup_free_ char *csc = xstrdup(cs);
	char *save = NULL;
	for (char *t = strtok_r(csc, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "ascii_letters") == 0)
			buf_adds(&chars, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
		else if (strcmp(t, "ascii_lowercase") == 0)
			buf_adds(&chars, "abcdefghijklmnopqrstuvwxyz");
		else if (strcmp(t, "ascii_uppercase") == 0)
			buf_adds(&chars, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
		else if (strcmp(t, "digits") == 0)
			buf_adds(&chars, "0123456789");
		else if (strcmp(t, "hexdigits") == 0)
			buf_adds(&chars, "0123456789abcdefABCDEF");
		else if (strcmp(t, "punctuation") == 0)
			buf_adds(&chars, "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~");
		else
			buf_adds(&chars, t);
	}
	json_decref(kv);
	unsigned char rnd[4096];
	FILE *f = fopen("/dev/urandom", "r");
	if (!f || fread(rnd, 1, (size_t)length, f) != (size_t)length) {
		if (f)
			fclose(f);
		buf_free(&chars);
		return dr_error_errno(err, "password lookup: /dev/urandom");
	}
	fclose(f);
	_cleanup_free_ char *pw = xmalloc((size_t)length + 1);
	for (long long i = 0; i < length; i++)
		pw[i] = chars.data[rnd[i] % chars.len];
	pw[length] = '\0';
	buf_free(&chars);
	if (strcmp(path, "/dev/null") != 0) {
		_cleanup_free_ char *line = xasprintf("%s\n", pw);
		_cleanup_free_ char *dir = xstrdup(path);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			mkdir(dir, 0700);
		}
		if (file_write_atomic(path, line, strlen(line), 0600, err) < 0)
			return -1;
	}
	*ret = json_string(pw);
	return 0;
}

/* Results of one lookup as a list. */
static int
vars_lookup_run(
    const char *name, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *out = json_array();
	size_t i;

	if (strcmp(name, "first_found") == 0) {
		json_t *files = json_array(), *paths = json_array();
		for (i = 1; i < a->npos; i++) {
			json_t *t = a->pos[i];
			if (json_is_string(t))
				json_array_append(files, t);
			else if (json_is_array(t))
				json_array_extend(files, t);
			else if (json_is_object(t)) {
				json_t *f = json_object_get(t, "files"),
				       *p = json_object_get(t, "paths");
				if (json_is_array(f))
					json_array_extend(files, f);
				else if (json_is_string(f))
					json_array_append(files, f);
				if (json_is_array(p))
					json_array_extend(paths, p);
				else if (json_is_string(p))
					json_array_append(paths, p);
			}
		}
		json_t *fv = NULL, *pv = NULL;
		for (size_t k = 0; k < a->nkw; k++) {
			if (strcmp(a->kw_names[k], "files") == 0)
				fv = a->kw[k];
			if (strcmp(a->kw_names[k], "paths") == 0)
				pv = a->kw[k];
		}
		if (json_is_array(fv))
			json_array_extend(files, fv);
		if (json_is_array(pv))
			json_array_extend(paths, pv);
		json_t *f;
		json_array_foreach(files, i, f)
		{
			const char *fn = json_string_value(f);
			char *p = NULL;
			struct stat st;
			if (!fn)
				continue;
			if (json_array_size(paths)) {
				size_t j;
				json_t *d;
				json_array_foreach(paths, j, d)
				{
					char *c = xasprintf("%s/%s", json_string_value(d), fn);
					if (!p && stat(c, &st) == 0)
						p = c;
					else
						free(c);
				}
			} else
				p = vars_lookup_path(fn, "files");
			if (p) {
				json_array_append_new(out, json_string(p));
				free(p);
				break;
			}
		}
		json_decref(files);
		json_decref(paths);
		bool skip = false;
		for (size_t k = 0; k < a->nkw; k++)
			if (strcmp(a->kw_names[k], "skip") == 0)
				skip = template_truthy(a->kw[k]);
		if (json_array_size(out) == 0 && !skip) {
			json_decref(out);
			return dr_error_set(err, "first_found: no file was found");
		}
		*ret = out;
		return 0;
	}
	for (i = 1; i < a->npos; i++) {
		json_t *term = a->pos[i];
		const char *t = json_string_value(term);
		if (strcmp(name, "vars") == 0) {
			json_t *v = t && vars_current ? json_object_get(vars_current->vars, t)
			                              : NULL,
			       *r;
			if (!v) {
				json_decref(out);
				return dr_error_set(
				    err, "No variable found with this name: %s", t ? t : "?");
			}
			if (vars_ctx_value(vars_current, v, &r, err) < 0) {
				json_decref(out);
				return -1;
			}
			json_array_append_new(out, r);
			continue;
		}
		if (!t) {
			json_decref(out);
			return dr_error_set(err, "lookup %s: terms must be strings", name);
		}
		if (strcmp(name, "env") == 0) {
			const char *e = getenv(t);
			json_array_append_new(out, json_string(e ? e : ""));
		} else if (strcmp(name, "file") == 0 || strcmp(name, "template") == 0) {
			_cleanup_free_ char *p =
			    vars_lookup_path(t, strcmp(name, "file") == 0 ? "files" : "templates");
			char *text;
			size_t len;
			if (!p) {
				json_decref(out);
				return dr_error_set(err, "could not locate file in lookup: %s", t);
			}
			if (file_read(p, VARS_LOOKUP_MAX, &text, &len, err) < 0) {
				json_decref(out);
				return -1;
			}
			if (strcmp(name, "template") == 0) {
				char *r;
				_cleanup_free_ char *dir = xstrdup(p);
				*strrchr(dir, '/') = '\0';
				int rc = vars_render_file(vars_current ? vars_current->vars : NULL,
				    p, text, dir, &r, err);
				free(text);
				if (rc < 0) {
					json_decref(out);
					return -1;
				}
				text = r;
			} else {
				size_t l = strlen(text);
				while (l && text[l - 1] == '\n')
					text[--l] = '\0';
			}
			json_array_append_new(out, json_string(text));
			free(text);
		} else if (strcmp(name, "pipe") == 0 || strcmp(name, "lines") == 0) {
			char *o;
			if (vars_pipe(t, &o, err) < 0) {
				json_decref(out);
				return -1;
			}
			if (strcmp(name, "pipe") == 0) {
				size_t l = strlen(o);
				while (l && (o[l - 1] == '\n' || o[l - 1] == ' '))
					o[--l] = '\0';
				json_array_append_new(out, json_string(o));
			} else {
				char *save = NULL;
				for (char *ln = strtok_r(o, "\n", &save); ln;
				     ln = strtok_r(NULL, "\n", &save))
					json_array_append_new(out, json_string(ln));
			}
			free(o);
		} else if (strcmp(name, "fileglob") == 0) {
			glob_t g;
			_cleanup_free_ char *pat = NULL;
			if (t[0] != '/') {
				const char *dir = strchr(t, '/') ? NULL : "files";
				char *base = NULL;
				const json_t *v = vars_current ? vars_current->vars : NULL;
				const char *pb =
				    json_string_value(json_object_get(v, "playbook_dir"));
				const char *role =
				    json_string_value(json_object_get(v, "role_path"));
				base = xstrdup(role ? role : pb ? pb : ".");
				pat = dir ? xasprintf("%s/%s/%s", base, dir, t)
				          : xasprintf("%s/%s", base, t);
				free(base);
			} else
				pat = xstrdup(t);
			if (glob(pat, 0, NULL, &g) == 0) {
				for (size_t k = 0; k < g.gl_pathc; k++) {
					struct stat st;
					if (stat(g.gl_pathv[k], &st) == 0 && S_ISREG(st.st_mode))
						json_array_append_new(
						    out, json_string(g.gl_pathv[k]));
				}
				globfree(&g);
			}
		} else if (strcmp(name, "password") == 0) {
			json_t *pw = NULL;
			if (vars_lookup_password(t, &pw, err) < 0) {
				json_decref(out);
				return -1;
			}
			json_array_append_new(out, pw);
		} else {
			json_decref(out);
			return dr_error_set(err, "lookup plugin '%s' not found", name);
		}
	}
	*ret = out;
	return 0;
}

/* lookup(): several results joined with commas, one result as itself (wantlist=True: list). */
static int
vars_g_lookup(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	json_t *list;
	bool wantlist = false;

	if (a->npos < 1 || !json_is_string(a->pos[0]))
		return dr_error_set(err, "lookup() needs the plugin name");
	for (size_t k = 0; k < a->nkw; k++)
		if (strcmp(a->kw_names[k], "wantlist") == 0)
			wantlist = template_truthy(a->kw[k]);
	if (vars_lookup_run(json_string_value(a->pos[0]), a, &list, err) < 0)
		return -1;
	if (wantlist) {
		*ret = list;
		return 0;
	}
	if (json_array_size(list) == 1 && strcmp(json_string_value(a->pos[0]), "fileglob") != 0) {
		*ret = json_incref(json_array_get(list, 0));
		json_decref(list);
		return 0;
	}
	struct buf b = BUF_INIT(0);
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x)
	{
		if (i)
			buf_addc(&b, ',');
		if (json_is_string(x))
			buf_adds(&b, json_string_value(x));
		else {
			char *s = vars_scalar_text(x);
			buf_adds(&b, s);
			free(s);
		}
	}
	json_decref(list);
	*ret = json_string(b.data ? b.data : "");
	buf_free(&b);
	return 0;
}

/* query()/q(): always a list. */
static int
vars_g_query(const json_t *in, const struct template_args *a, json_t **ret, struct dr_error *err)
{
	if (a->npos < 1 || !json_is_string(a->pos[0]))
		return dr_error_set(err, "query() needs the plugin name");
	return vars_lookup_run(json_string_value(a->pos[0]), a, ret, err);
}

static pthread_once_t vars_once = PTHREAD_ONCE_INIT;

static void
vars_register(void)
{
	static const struct {
		const char *name;
		template_test_fn fn;
	} tests[] = {
	    {"failed", vars_t_failed},
	    {"failure", vars_t_failed},
	    {"succeeded", vars_t_succeeded},
	    {"success", vars_t_succeeded},
	    {"successful", vars_t_succeeded},
	    {"changed", vars_t_changed},
	    {"change", vars_t_changed},
	    {"skipped", vars_t_skipped},
	    {"skip", vars_t_skipped},
	    {"finished", vars_t_finished},
	};
	static const struct {
		const char *name;
		template_filter_fn fn;
	} filters[] = {
	    {"ipaddr", vars_f_ipaddr},
	    {"ansible.utils.ipaddr", vars_f_ipaddr},
	    {"ipv4", vars_f_ipv4},
	    {"ipv6", vars_f_ipv6},
	};

	for (size_t i = 0; i < nitems(tests); i++)
		template_test_register(tests[i].name, tests[i].fn, false);
	for (size_t i = 0; i < nitems(filters); i++)
		template_filter_register(filters[i].name, filters[i].fn, false);
	template_global_register("lookup", vars_g_lookup);
	template_global_register("query", vars_g_query);
	template_global_register("q", vars_g_query);
}

/* Register Ansible's filters, tests and lookups (once). */
void
vars_init(void)
{
	pthread_once(&vars_once, vars_register);
}
