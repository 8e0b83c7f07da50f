/*
 * template.c - a Jinja2 subset over json_t: lexer, parser to a tree, and the renderer.
 *
 * The source is lexed once into one token stream (text, tag delimiters and expression
 * tokens, as Jinja's own lexer does), parsed into statement and expression nodes held in
 * an arena, and the tree is walked per render. Variables are looked up in a stack of
 * local bindings and then in the caller's json_t without copying; values carry a
 * reference. A compiled template is never written to while rendering.
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/template_int.h"

/* Arena: nodes live as long as the template and are freed at once. */
struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct arena {
	struct arena_chunk *head;
};

/* Zeroed memory from the arena. */
static void *
arena_alloc(struct arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (!a->head || a->head->size - a->head->used < n) {
		size_t size = n > 16384 ? n : 16384;
		struct arena_chunk *c = xmalloc(sizeof *c + size);
		c->next = a->head;
		c->used = 0;
		c->size = size;
		a->head = c;
	}
	void *p = (char *)a->head->data + a->head->used;
	a->head->used += n;
	memset(p, 0, n);
	return p;
}

static char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void
arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_chunk *n = a->head->next;
		free(a->head);
		a->head = n;
	}
}

/* Tokens */
enum tok_type {
	T_EOF,
	T_TEXT,
	T_VBEGIN,
	T_VEND,
	T_BBEGIN,
	T_BEND,
	T_NAME,
	T_INT,
	T_FLOAT,
	T_STR,
	T_OP
};

struct token {
	enum tok_type type;
	int line;
	const char *s; /* text, name, string (unescaped, arena) or operator */
	size_t n;
	long long i;
	double d;
};

/* Expression nodes */
enum eop {
	E_LIT,
	E_NAME,
	E_ATTR,
	E_ITEM,
	E_SLICE,
	E_LIST,
	E_DICT,
	E_ADD,
	E_SUB,
	E_MUL,
	E_DIV,
	E_FLOORDIV,
	E_MOD,
	E_POW,
	E_CONCAT,
	E_NEG,
	E_POS,
	E_NOT,
	E_AND,
	E_OR,
	E_EQ,
	E_NE,
	E_LT,
	E_LE,
	E_GT,
	E_GE,
	E_IN,
	E_NOTIN,
	E_COND,
	E_FILTER,
	E_TEST,
	E_CALL
};

enum special { SP_NONE, SP_SAFE, SP_ESCAPE };

struct enode {
	enum eop op;
	int line;
	struct enode *a, *b, *c;
	json_t *lit;
	const char *name;
	struct enode **items; /* list/dict (key, value pairs), call/filter/test args */
	const char **kw; /* keyword name per arg, NULL for positional */
	size_t nitems;
	const struct template_filter *filter;
	const struct template_test *test;
	enum special special;
	bool negate;
};

/* Statement nodes */
enum skind { S_TEXT, S_OUTPUT, S_IF, S_FOR, S_SET, S_SETBLOCK, S_INCLUDE, S_MACRO, S_FILTERBLOCK };

struct snode {
	enum skind kind;
	int line;
	struct snode *next;
	const char *text;
	size_t len;
	struct enode *expr, *cond;
	struct snode *body, *else_body;
	const char **targets;
	size_t ntargets;
	const char *name;
	const char **params;
	struct enode **defaults;
	size_t nparams;
	bool ignore_missing;
	bool elif; /* S_IF: else_body is the next {% elif %}, not an {% else %} body */
};

struct template
{
	char *name;
	char *source;
	struct template_opts opts;
	struct arena arena;
	struct snode *root;
	struct enode *expr; /* template_eval: a bare expression */
	json_t **lits;
	size_t nlits, caplits;
};

/* Registry of filters and tests added at start-up by other subsystems. */
static struct template_filter *extra_filters;
static size_t n_extra_filters;
static struct template_test *extra_tests;
static size_t n_extra_tests;

/* Add a filter (replaces one of the same name). */
void
template_filter_register(const char *name, template_filter_fn fn, bool undefined_ok)
{
	for (size_t i = 0; i < n_extra_filters; i++)
		if (strcmp(extra_filters[i].name, name) == 0) {
			extra_filters[i].fn = fn;
			extra_filters[i].undefined_ok = undefined_ok;
			return;
		}
	extra_filters = xreallocarray(extra_filters, n_extra_filters + 1, sizeof *extra_filters);
	extra_filters[n_extra_filters++] =
	    (struct template_filter){xstrdup(name), fn, undefined_ok};
}

/* Add a test (replaces one of the same name). */
void
template_test_register(const char *name, template_test_fn fn, bool undefined_ok)
{
	for (size_t i = 0; i < n_extra_tests; i++)
		if (strcmp(extra_tests[i].name, name) == 0) {
			extra_tests[i].fn = fn;
			extra_tests[i].undefined_ok = undefined_ok;
			return;
		}
	extra_tests = xreallocarray(extra_tests, n_extra_tests + 1, sizeof *extra_tests);
	extra_tests[n_extra_tests++] = (struct template_test){xstrdup(name), fn, undefined_ok};
}

/* Global functions added by other subsystems (Ansible's lookup()/query()). */
static struct template_filter *extra_globals;
static size_t n_extra_globals;

/* Add a global function (replaces one of the same name). */
void
template_global_register(const char *name, template_filter_fn fn)
{
	for (size_t i = 0; i < n_extra_globals; i++)
		if (strcmp(extra_globals[i].name, name) == 0) {
			extra_globals[i].fn = fn;
			return;
		}
	extra_globals = xreallocarray(extra_globals, n_extra_globals + 1, sizeof *extra_globals);
	extra_globals[n_extra_globals++] = (struct template_filter){xstrdup(name), fn, true};
}

static const struct template_filter *
filter_lookup(const char *name)
{
	for (size_t i = 0; i < n_extra_filters; i++)
		if (strcmp(extra_filters[i].name, name) == 0)
			return &extra_filters[i];
	return template_filter_find(name);
}

static const struct template_test *
test_lookup(const char *name)
{
	for (size_t i = 0; i < n_extra_tests; i++)
		if (strcmp(extra_tests[i].name, name) == 0)
			return &extra_tests[i];
	return template_test_find(name);
}

/* Keyword `name`, else positional `index`, else NULL. */
json_t *
template_arg(const struct template_args *args, size_t index, const char *name)
{
	if (name)
		for (size_t i = 0; i < args->nkw; i++)
			if (strcmp(args->kw_names[i], name) == 0)
				return args->kw[i];
	return index < args->npos ? args->pos[index] : NULL;
}

/* Lexer */
struct lexer {
	const char *src, *name;
	size_t len, pos;
	int line;
	const struct template_opts *opts;
	struct arena *arena;
	struct token *toks;
	size_t ntoks, cap;
	bool strip_next, trim_nl;
	struct dr_error *err;
};

static struct token *
lex_push(struct lexer *lx, enum tok_type type, const char *s, size_t n, int line)
{
	if (lx->ntoks == lx->cap) {
		lx->cap = lx->cap ? lx->cap * 2 : 256;
		lx->toks = xreallocarray(lx->toks, lx->cap, sizeof *lx->toks);
	}
	struct token *t = &lx->toks[lx->ntoks++];
	*t = (struct token){.type = type, .s = s, .n = n, .line = line};
	return t;
}

static int
count_lines(const char *s, size_t n)
{
	int c = 0;

	for (size_t i = 0; i < n; i++)
		c += s[i] == '\n';
	return c;
}

/* Emit text [start, end) applying the pending whitespace control; end may be cut first. */
static void
lex_text(struct lexer *lx, size_t start, size_t end)
{
	int line = lx->line;

	lx->line += count_lines(lx->src + start, end - start);
	if (lx->strip_next)
		while (start < end && isspace((unsigned char)lx->src[start])) {
			line += lx->src[start] == '\n';
			start++;
		}
	else if (lx->trim_nl) {
		if (start < end && lx->src[start] == '\n')
			start++, line++;
		else if (end - start >= 2 && lx->src[start] == '\r' && lx->src[start + 1] == '\n')
			start += 2, line++;
	}
	lx->strip_next = lx->trim_nl = false;
	if (end > start)
		lex_push(lx, T_TEXT, lx->src + start, end - start, line);
}

/* Unescape a Python string literal body into the arena. */
static const char *
lex_unescape(struct lexer *lx, const char *s, size_t n, size_t *ret_len)
{
	char *out = arena_alloc(lx->arena, n * 2 + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\' || i + 1 == n) {
			*o++ = s[i];
			continue;
		}
		char c = s[++i];
		unsigned cp = 0;
		int hex = 0;
		switch (c) {
		case 'n':
			*o++ = '\n';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case '0':
			*o++ = '\0';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case '\'':
			*o++ = '\'';
			break;
		case '"':
			*o++ = '"';
			break;
		case 'x':
			hex = 2;
			break;
		case 'u':
			hex = 4;
			break;
		default:
			*o++ = '\\';
			*o++ = c;
		}
		if (!hex)
			continue;
		for (int k = 0; k < hex && i + 1 < n && isxdigit((unsigned char)s[i + 1]); k++) {
			char h = s[++i];
			cp = cp * 16 +
			    (unsigned)(isdigit((unsigned char)h) ? h - '0'
			                                         : tolower(h) - 'a' + 10);
		}
		if (cp < 0x80)
			*o++ = (char)cp;
		else if (cp < 0x800) {
			*o++ = (char)(0xc0 | (cp >> 6));
			*o++ = (char)(0x80 | (cp & 0x3f));
		} else {
			*o++ = (char)(0xe0 | (cp >> 12));
			*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
			*o++ = (char)(0x80 | (cp & 0x3f));
		}
	}
	*o = '\0';
	*ret_len = (size_t)(o - out);
	return out;
}

static const char *const lex_ops[] = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%",
    "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|"};

/* Lex expression tokens up to the closing delimiter (`}}` or `%}`). */
static int
lex_expr(struct lexer *lx, char close)
{
	const char *s = lx->src;
	int depth = 0;

	for (;;) {
		size_t p = lx->pos;
		while (p < lx->len && isspace((unsigned char)s[p])) {
			lx->line += s[p] == '\n';
			p++;
		}
		lx->pos = p;
		if (p >= lx->len)
			return dr_error_set(lx->err,
			    "%s:%d: unexpected end of template, expected '%c}'", lx->name,
			    lx->line, close);
		/* The closing delimiter, with - or + whitespace control. */
		size_t q = p;
		char ctl = 0;
		if ((s[q] == '-' || s[q] == '+') && q + 2 < lx->len + 1 && s[q + 1] == close &&
		    s[q + 2] == '}')
			ctl = s[q++];
		if (depth == 0 && q + 1 < lx->len + 1 && s[q] == close && s[q + 1] == '}') {
			lx->pos = q + 2;
			lex_push(lx, close == '%' ? T_BEND : T_VEND, s + p, 0, lx->line);
			if (ctl == '-')
				lx->strip_next = true;
			else if (close == '%' && ctl != '+' && lx->opts->trim_blocks)
				lx->trim_nl = true;
			return 0;
		}
		char c = s[p];
		if (isalpha((unsigned char)c) || c == '_') {
			while (p < lx->len && (isalnum((unsigned char)s[p]) || s[p] == '_'))
				p++;
			lex_push(lx, T_NAME, arena_strndup(lx->arena, s + lx->pos, p - lx->pos),
			    p - lx->pos, lx->line);
		} else if (isdigit((unsigned char)c)) {
			bool is_float = false;
			while (p < lx->len && (isdigit((unsigned char)s[p]) || s[p] == '_'))
				p++;
			if (p + 1 < lx->len && s[p] == '.' && isdigit((unsigned char)s[p + 1])) {
				is_float = true;
				p++;
				while (p < lx->len && isdigit((unsigned char)s[p]))
					p++;
			}
			if (p < lx->len && (s[p] == 'e' || s[p] == 'E')) {
				size_t e = p + 1;
				if (e < lx->len && (s[e] == '+' || s[e] == '-'))
					e++;
				if (e < lx->len && isdigit((unsigned char)s[e])) {
					is_float = true;
					p = e;
					while (p < lx->len && isdigit((unsigned char)s[p]))
						p++;
				}
			}
			char num[64];
			size_t k = 0;
			for (size_t i = lx->pos; i < p && k < sizeof num - 1; i++)
				if (s[i] != '_')
					num[k++] = s[i];
			num[k] = '\0';
			struct token *t = lex_push(
			    lx, is_float ? T_FLOAT : T_INT, s + lx->pos, p - lx->pos, lx->line);
			if (is_float)
				t->d = strtod(num, NULL);
			else if (str_to_ll(num, LLONG_MIN, LLONG_MAX, &t->i) < 0)
				return dr_error_set(lx->err, "%s:%d: integer %s too large",
				    lx->name, lx->line, num);
		} else if (c == '\'' || c == '"') {
			size_t start = ++p;
			int line = lx->line;
			while (p < lx->len && s[p] != c) {
				if (s[p] == '\\' && p + 1 < lx->len)
					p++;
				lx->line += s[p] == '\n';
				p++;
			}
			if (p >= lx->len)
				return dr_error_set(
				    lx->err, "%s:%d: unterminated string", lx->name, line);
			size_t n;
			const char *str = lex_unescape(lx, s + start, p - start, &n);
			lex_push(lx, T_STR, str, n, line);
			p++;
		} else {
			size_t i;
			for (i = 0; i < nitems(lex_ops); i++)
				if (strncmp(s + p, lex_ops[i], strlen(lex_ops[i])) == 0)
					break;
			if (i == nitems(lex_ops))
				return dr_error_set(lx->err, "%s:%d: unexpected character '%c'",
				    lx->name, lx->line, c);
			p += strlen(lex_ops[i]);
			depth += strchr("([{", c) ? 1 : strchr(")]}", c) ? -1 : 0;
			if (depth < 0)
				depth = 0;
			lex_push(lx, T_OP, lex_ops[i], strlen(lex_ops[i]), lx->line);
		}
		lx->pos = p;
	}
}

/* Find `{% endraw %}` after a `{% raw %}` tag; emit its contents as text. */
static int
lex_raw(struct lexer *lx, int line)
{
	const char *s = lx->src;

	for (size_t p = lx->pos; p + 1 < lx->len; p++) {
		if (s[p] != '{' || s[p + 1] != '%')
			continue;
		size_t q = p + 2;
		bool strip_before = q < lx->len && s[q] == '-';
		if (q < lx->len && (s[q] == '-' || s[q] == '+'))
			q++;
		while (q < lx->len && isspace((unsigned char)s[q]))
			q++;
		if (strncmp(s + q, "endraw", 6) != 0)
			continue;
		q += 6;
		while (q < lx->len && isspace((unsigned char)s[q]))
			q++;
		char ctl = 0;
		if (q < lx->len && (s[q] == '-' || s[q] == '+'))
			ctl = s[q++];
		if (q + 1 >= lx->len || s[q] != '%' || s[q + 1] != '}')
			continue;
		size_t end = p;
		if (strip_before)
			while (end > lx->pos && isspace((unsigned char)s[end - 1]))
				end--;
		lex_text(lx, lx->pos, end);
		lx->line += count_lines(s + end, q + 2 - end);
		lx->pos = q + 2;
		lx->strip_next = ctl == '-';
		lx->trim_nl = ctl != '-' && ctl != '+' && lx->opts->trim_blocks;
		return 0;
	}
	return dr_error_set(
	    lx->err, "%s:%d: missing {%% endraw %%} for {%% raw %%}", lx->name, line);
}

/* Split the source into text and tag tokens. */
static int
lex_all(struct lexer *lx)
{
	const char *s = lx->src;

	while (lx->pos < lx->len) {
		const char *tag = NULL;
		for (size_t p = lx->pos; p + 1 < lx->len; p++)
			if (s[p] == '{' &&
			    (s[p + 1] == '{' || s[p + 1] == '%' || s[p + 1] == '#')) {
				tag = s + p;
				break;
			}
		if (!tag) {
			lex_text(lx, lx->pos, lx->len);
			lx->pos = lx->len;
			break;
		}
		size_t ts = (size_t)(tag - s), te = ts;
		char kind = tag[1], ctl = ts + 2 < lx->len ? tag[2] : 0;
		if (ctl == '-')
			while (te > lx->pos && isspace((unsigned char)s[te - 1]))
				te--;
		else if (ctl != '+' && kind != '{' && lx->opts->lstrip_blocks) {
			size_t b = te;
			while (b > lx->pos && (s[b - 1] == ' ' || s[b - 1] == '\t'))
				b--;
			if (b == 0 || s[b - 1] == '\n')
				te = b;
		}
		/* lex_text counts lines only in what it emits; count the cut-off part too. */
		lex_text(lx, lx->pos, te);
		lx->line += count_lines(s + te, ts - te);
		lx->pos = ts + 2 + (ctl == '-' || ctl == '+');
		int line = lx->line;
		if (kind == '#') {
			const char *end = NULL;
			for (size_t p = lx->pos; p + 1 < lx->len; p++)
				if (s[p] == '#' && s[p + 1] == '}') {
					end = s + p;
					break;
				}
			if (!end)
				return dr_error_set(
				    lx->err, "%s:%d: unterminated comment", lx->name, line);
			size_t e = (size_t)(end - s);
			lx->line += count_lines(s + lx->pos, e - lx->pos);
			bool dash = e > lx->pos && s[e - 1] == '-';
			lx->pos = e + 2;
			lx->strip_next = dash;
			lx->trim_nl = !dash && lx->opts->trim_blocks;
			continue;
		}
		size_t first = lx->ntoks;
		lex_push(lx, kind == '{' ? T_VBEGIN : T_BBEGIN, tag, 0, line);
		if (lex_expr(lx, kind == '{' ? '}' : '%') < 0)
			return -1;
		if (kind == '%' && lx->ntoks == first + 3 && lx->toks[first + 1].type == T_NAME &&
		    strcmp(lx->toks[first + 1].s, "raw") == 0) {
			lx->ntoks = first;
			if (lex_raw(lx, line) < 0)
				return -1;
		}
	}
	lex_push(lx, T_EOF, "", 0, lx->line);
	return 0;
}

/* Parser */
struct parser {
	struct template *t;
	struct token *toks;
	size_t pos;
	int depth;
	struct dr_error *err;
};

static struct token *
peek(struct parser *p)
{
	return &p->toks[p->pos];
}

static bool
tok_op(const struct token *t, const char *op)
{
	return t->type == T_OP && strcmp(t->s, op) == 0;
}

static bool
tok_name(const struct token *t, const char *name)
{
	return t->type == T_NAME && strcmp(t->s, name) == 0;
}

static const char *
tok_desc(const struct token *t)
{
	static const char *const names[] = {[T_EOF] = "end of template",
	    [T_TEXT] = "text",
	    [T_VBEGIN] = "'{{'",
	    [T_VEND] = "'}}'",
	    [T_BBEGIN] = "'{%'",
	    [T_BEND] = "'%}'",
	    [T_NAME] = "name",
	    [T_INT] = "integer",
	    [T_FLOAT] = "float",
	    [T_STR] = "string",
	    [T_OP] = "operator"};
	return t->type == T_OP || t->type == T_NAME ? t->s : names[t->type];
}

static int
perr(struct parser *p, const struct token *t, const char *what)
{
	return dr_error_set(p->err, "%s:%d: syntax error: expected %s, got %s%s%s", p->t->name,
	    t->line, what, t->type == T_OP || t->type == T_NAME ? "'" : "", tok_desc(t),
	    t->type == T_OP || t->type == T_NAME ? "'" : "");
}

static int
expect_op(struct parser *p, const char *op)
{
	if (!tok_op(peek(p), op)) {
		char what[16];
		snprintf(what, sizeof what, "'%s'", op);
		return perr(p, peek(p), what);
	}
	p->pos++;
	return 0;
}

static struct enode *
enode_new(struct parser *p, enum eop op, int line)
{
	struct enode *e = arena_alloc(&p->t->arena, sizeof *e);

	e->op = op;
	e->line = line;
	return e;
}

/* Keep a literal alive as long as the template. */
static struct enode *
enode_lit(struct parser *p, json_t *v, int line)
{
	struct template *t = p->t;
	struct enode *e = enode_new(p, E_LIT, line);

	if (t->nlits == t->caplits) {
		t->caplits = t->caplits ? t->caplits * 2 : 32;
		t->lits = xreallocarray(t->lits, t->caplits, sizeof *t->lits);
	}
	t->lits[t->nlits++] = v;
	e->lit = v;
	return e;
}

static struct enode *parse_expr(struct parser *p, bool with_cond);
static struct enode *parse_or(struct parser *p);
static struct enode *parse_unary(struct parser *p, bool with_filter);

/* Arguments in parentheses: positional then keyword (name=value). */
static int
parse_args(struct parser *p, struct enode *e)
{
	struct enode *items[64];
	const char *kw[64];
	size_t n = 0;

	if (expect_op(p, "(") < 0)
		return -1;
	while (!tok_op(peek(p), ")")) {
		if (n > 0 && expect_op(p, ",") < 0)
			return -1;
		if (tok_op(peek(p), ")"))
			break;
		if (n == nitems(items))
			return dr_error_set(
			    p->err, "%s:%d: too many arguments", p->t->name, peek(p)->line);
		kw[n] = NULL;
		if (peek(p)->type == T_NAME && tok_op(&p->toks[p->pos + 1], "=")) {
			kw[n] = peek(p)->s;
			p->pos += 2;
		}
		if (!(items[n] = parse_expr(p, true)))
			return -1;
		n++;
	}
	p->pos++;
	e->nitems = n;
	e->items = arena_alloc(&p->t->arena, n * sizeof *e->items + 1);
	e->kw = arena_alloc(&p->t->arena, n * sizeof *e->kw + 1);
	memcpy(e->items, items, n * sizeof *items);
	memcpy(e->kw, kw, n * sizeof *kw);
	return 0;
}

/* A list, tuple or dict literal's items up to the closing bracket. */
static struct enode *
parse_seq(struct parser *p, enum eop op, const char *close, int line)
{
	struct enode *e = enode_new(p, op, line);
	struct enode **items = NULL;
	size_t n = 0, cap = 0;

	while (!tok_op(peek(p), close)) {
		if (n > 0 && expect_op(p, ",") < 0)
			goto fail;
		if (tok_op(peek(p), close))
			break;
		for (int k = 0; k < (op == E_DICT ? 2 : 1); k++) {
			if (k == 1 && expect_op(p, ":") < 0)
				goto fail;
			if (n + 1 >= cap) {
				cap = cap ? cap * 2 : 8;
				items = xreallocarray(items, cap, sizeof *items);
			}
			if (!(items[n++] = parse_expr(p, true)))
				goto fail;
		}
	}
	p->pos++;
	e->items = arena_alloc(&p->t->arena, n * sizeof *items + 1);
	if (n)
		memcpy(e->items, items, n * sizeof *items);
	e->nitems = n;
	free(items);
	return e;
fail:
	free(items);
	return NULL;
}

/* Literals, names, parenthesised expressions, list/dict literals. */
static struct enode *
parse_primary(struct parser *p)
{
	struct token *t = peek(p);
	struct enode *e;

	switch (t->type) {
	case T_NAME: {
		static const struct {
			const char *name;
			int v;
		} consts[] = {{"true", 1}, {"True", 1}, {"false", 0}, {"False", 0}, {"none", 2},
		    {"None", 2}};
		p->pos++;
		for (size_t i = 0; i < nitems(consts); i++)
			if (strcmp(t->s, consts[i].name) == 0)
				return enode_lit(p,
				    consts[i].v == 2 ? json_null() : json_boolean(consts[i].v),
				    t->line);
		e = enode_new(p, E_NAME, t->line);
		e->name = t->s;
		return e;
	}
	case T_INT:
		p->pos++;
		return enode_lit(p, json_integer(t->i), t->line);
	case T_FLOAT:
		p->pos++;
		return enode_lit(p, json_real(t->d), t->line);
	case T_STR: {
		/* Adjacent string literals concatenate, as in Python. */
		struct buf b = BUF_INIT(0);
		while (peek(p)->type == T_STR) {
			buf_add(&b, peek(p)->s, peek(p)->n);
			p->pos++;
		}
		return enode_lit(p, tval_from_buf(&b), t->line);
	}
	case T_OP:
		if (tok_op(t, "(")) {
			p->pos++;
			if (tok_op(peek(p), ")")) {
				p->pos++;
				return parse_seq(p, E_LIST, ")", t->line);
			}
			if (!(e = parse_expr(p, true)))
				return NULL;
			if (tok_op(peek(p), ",")) {
				/* A tuple: reparse as a list from its first item. */
				struct enode *rest;
				p->pos++;
				if (!(rest = parse_seq(p, E_LIST, ")", t->line)))
					return NULL;
				struct enode **items =
				    arena_alloc(&p->t->arena, (rest->nitems + 1) * sizeof *items);
				items[0] = e;
				if (rest->nitems)
					memcpy(
					    items + 1, rest->items, rest->nitems * sizeof *items);
				rest->items = items;
				rest->nitems++;
				return rest;
			}
			if (expect_op(p, ")") < 0)
				return NULL;
			return e;
		}
		if (tok_op(t, "[")) {
			p->pos++;
			return parse_seq(p, E_LIST, "]", t->line);
		}
		if (tok_op(t, "{")) {
			p->pos++;
			return parse_seq(p, E_DICT, "}", t->line);
		}
		break;
	default:
		break;
	}
	perr(p, t, "an expression");
	return NULL;
}

/* `| name(args)` after an expression. */
static struct enode *
parse_filter(struct parser *p, struct enode *in)
{
	struct token *t = peek(p);

	if (t->type != T_NAME) {
		perr(p, t, "a filter name");
		return NULL;
	}
	p->pos++;
	struct enode *e = enode_new(p, E_FILTER, t->line);
	e->a = in;
	e->name = t->s;
	if (strcmp(t->s, "safe") == 0)
		e->special = SP_SAFE;
	else if (strcmp(t->s, "escape") == 0 || strcmp(t->s, "e") == 0)
		e->special = SP_ESCAPE;
	else if (!(e->filter = filter_lookup(t->s))) {
		dr_error_set(p->err, "%s:%d: no filter named '%s'", p->t->name, t->line, t->s);
		return NULL;
	}
	if (tok_op(peek(p), "(") && parse_args(p, e) < 0)
		return NULL;
	return e;
}

/* `is [not] name [arg | (args)]` after an expression. */
static struct enode *
parse_test(struct parser *p, struct enode *in)
{
	struct enode *e = enode_new(p, E_TEST, peek(p)->line);
	struct token *t;

	e->a = in;
	if (tok_name(peek(p), "not")) {
		e->negate = true;
		p->pos++;
	}
	t = peek(p);
	if (t->type == T_NAME || tok_op(t, "==") || tok_op(t, "!=") || tok_op(t, "<") ||
	    tok_op(t, ">") || tok_op(t, "<=") || tok_op(t, ">=")) {
		static const char *const aliases[][2] = {{"==", "eq"}, {"!=", "ne"}, {"<", "lt"},
		    {">", "gt"}, {"<=", "le"}, {">=", "ge"}};
		const char *name = t->s;
		for (size_t i = 0; i < nitems(aliases); i++)
			if (strcmp(name, aliases[i][0]) == 0)
				name = aliases[i][1];
		p->pos++;
		e->name = name;
		if (!(e->test = test_lookup(name))) {
			dr_error_set(
			    p->err, "%s:%d: no test named '%s'", p->t->name, t->line, name);
			return NULL;
		}
	} else {
		perr(p, t, "a test name");
		return NULL;
	}
	t = peek(p);
	if (tok_op(t, "(")) {
		if (parse_args(p, e) < 0)
			return NULL;
	} else if ((t->type == T_NAME && strcmp(t->s, "else") && strcmp(t->s, "or") &&
	               strcmp(t->s, "and") && strcmp(t->s, "if") && strcmp(t->s, "is") &&
	               strcmp(t->s, "in") && strcmp(t->s, "not")) ||
	    t->type == T_STR || t->type == T_INT || t->type == T_FLOAT || tok_op(t, "[") ||
	    tok_op(t, "{")) {
		struct enode *arg = parse_unary(p, false);
		if (!arg)
			return NULL;
		e->nitems = 1;
		e->items = arena_alloc(&p->t->arena, sizeof *e->items);
		e->kw = arena_alloc(&p->t->arena, sizeof *e->kw);
		e->items[0] = arg;
	}
	return e;
}

/* Attribute, subscript, slice and call suffixes; then filters and tests. */
static struct enode *
parse_postfix(struct parser *p, struct enode *e, bool with_filter)
{
	for (;;) {
		struct token *t = peek(p);
		if (tok_op(t, ".")) {
			p->pos++;
			t = peek(p);
			if (t->type == T_NAME) {
				struct enode *a = enode_new(p, E_ATTR, t->line);
				a->a = e;
				a->name = t->s;
				e = a;
			} else if (t->type == T_INT) {
				struct enode *a = enode_new(p, E_ITEM, t->line);
				a->a = e;
				a->b = enode_lit(p, json_integer(t->i), t->line);
				e = a;
			} else {
				perr(p, t, "an attribute name");
				return NULL;
			}
			p->pos++;
		} else if (tok_op(t, "[")) {
			struct enode *idx[3] = {NULL, NULL, NULL};
			int parts = 0;
			p->pos++;
			for (;;) {
				if (!tok_op(peek(p), ":") && !tok_op(peek(p), "]") &&
				    !(idx[parts] = parse_expr(p, true)))
					return NULL;
				if (tok_op(peek(p), ":") && parts < 2) {
					p->pos++;
					parts++;
					continue;
				}
				break;
			}
			if (expect_op(p, "]") < 0)
				return NULL;
			struct enode *a = enode_new(p, parts ? E_SLICE : E_ITEM, t->line);
			a->a = e;
			a->b = idx[0];
			if (parts) {
				a->c = idx[1];
				a->items = arena_alloc(&p->t->arena, sizeof *a->items);
				a->items[0] = idx[2];
			} else if (!idx[0]) {
				perr(p, t, "an index");
				return NULL;
			}
			e = a;
		} else if (tok_op(t, "(")) {
			struct enode *a = enode_new(p, E_CALL, t->line);
			a->a = e;
			if (parse_args(p, a) < 0)
				return NULL;
			e = a;
		} else if (with_filter && tok_op(t, "|")) {
			p->pos++;
			if (!(e = parse_filter(p, e)))
				return NULL;
		} else if (with_filter && tok_name(t, "is")) {
			p->pos++;
			if (!(e = parse_test(p, e)))
				return NULL;
		} else
			return e;
	}
}

static struct enode *
parse_unary(struct parser *p, bool with_filter)
{
	struct token *t = peek(p);

	if (++p->depth > TEMPLATE_MAX_NEST) {
		dr_error_set(p->err, "%s:%d: expression nested too deeply", p->t->name, t->line);
		return NULL;
	}
	struct enode *e;
	if (tok_op(t, "-") || tok_op(t, "+")) {
		p->pos++;
		struct enode *x = parse_unary(p, false);
		if (!x)
			return NULL;
		e = enode_new(p, t->s[0] == '-' ? E_NEG : E_POS, t->line);
		e->a = x;
		e = with_filter ? parse_postfix(p, e, true) : e;
	} else {
		e = parse_primary(p);
		if (e)
			e = parse_postfix(p, e, with_filter);
	}
	p->depth--;
	return e;
}

static struct enode *
binop(struct parser *p, enum eop op, struct enode *a, struct enode *b, int line)
{
	struct enode *e = enode_new(p, op, line);

	e->a = a;
	e->b = b;
	return e;
}

static struct enode *
parse_pow(struct parser *p)
{
	struct enode *e = parse_unary(p, true);

	while (e && tok_op(peek(p), "**")) {
		int line = peek(p)->line;
		p->pos++;
		struct enode *r = parse_unary(p, true);
		e = r ? binop(p, E_POW, e, r, line) : NULL;
	}
	return e;
}

static struct enode *
parse_math2(struct parser *p)
{
	static const struct {
		const char *op;
		enum eop e;
	} ops[] = {{"*", E_MUL}, {"/", E_DIV}, {"//", E_FLOORDIV}, {"%", E_MOD}};
	struct enode *e = parse_pow(p);

	while (e) {
		size_t i;
		for (i = 0; i < nitems(ops) && !tok_op(peek(p), ops[i].op); i++)
			;
		if (i == nitems(ops))
			break;
		int line = peek(p)->line;
		p->pos++;
		struct enode *r = parse_pow(p);
		e = r ? binop(p, ops[i].e, e, r, line) : NULL;
	}
	return e;
}

static struct enode *
parse_concat(struct parser *p)
{
	struct enode *e = parse_math2(p);

	while (e && tok_op(peek(p), "~")) {
		int line = peek(p)->line;
		p->pos++;
		struct enode *r = parse_math2(p);
		e = r ? binop(p, E_CONCAT, e, r, line) : NULL;
	}
	return e;
}

static struct enode *
parse_math1(struct parser *p)
{
	struct enode *e = parse_concat(p);

	while (e && (tok_op(peek(p), "+") || tok_op(peek(p), "-"))) {
		struct token *t = peek(p);
		p->pos++;
		struct enode *r = parse_concat(p);
		e = r ? binop(p, t->s[0] == '+' ? E_ADD : E_SUB, e, r, t->line) : NULL;
	}
	return e;
}

static struct enode *
parse_compare(struct parser *p)
{
	static const struct {
		const char *op;
		enum eop e;
	} ops[] = {
	    {"==", E_EQ}, {"!=", E_NE}, {"<", E_LT}, {"<=", E_LE}, {">", E_GT}, {">=", E_GE}};
	struct enode *e = parse_math1(p);

	while (e) {
		struct token *t = peek(p);
		enum eop op;
		size_t i;
		for (i = 0; i < nitems(ops) && !tok_op(t, ops[i].op); i++)
			;
		if (i < nitems(ops)) {
			op = ops[i].e;
			p->pos++;
		} else if (tok_name(t, "in")) {
			op = E_IN;
			p->pos++;
		} else if (tok_name(t, "not") && tok_name(&p->toks[p->pos + 1], "in")) {
			op = E_NOTIN;
			p->pos += 2;
		} else
			break;
		struct enode *r = parse_math1(p);
		e = r ? binop(p, op, e, r, t->line) : NULL;
	}
	return e;
}

static struct enode *
parse_not(struct parser *p)
{
	struct token *t = peek(p);

	if (tok_name(t, "not")) {
		p->pos++;
		struct enode *x = parse_not(p);
		if (!x)
			return NULL;
		struct enode *e = enode_new(p, E_NOT, t->line);
		e->a = x;
		return e;
	}
	return parse_compare(p);
}

static struct enode *
parse_and(struct parser *p)
{
	struct enode *e = parse_not(p);

	while (e && tok_name(peek(p), "and")) {
		int line = peek(p)->line;
		p->pos++;
		struct enode *r = parse_not(p);
		e = r ? binop(p, E_AND, e, r, line) : NULL;
	}
	return e;
}

static struct enode *
parse_or(struct parser *p)
{
	struct enode *e = parse_and(p);

	while (e && tok_name(peek(p), "or")) {
		int line = peek(p)->line;
		p->pos++;
		struct enode *r = parse_and(p);
		e = r ? binop(p, E_OR, e, r, line) : NULL;
	}
	return e;
}

/* A full expression; with_cond allows `x if c else y`. */
static struct enode *
parse_expr(struct parser *p, bool with_cond)
{
	struct enode *e = parse_or(p);

	while (e && with_cond && tok_name(peek(p), "if")) {
		struct enode *c = enode_new(p, E_COND, peek(p)->line);
		p->pos++;
		c->a = e;
		if (!(c->b = parse_or(p)))
			return NULL;
		if (tok_name(peek(p), "else")) {
			p->pos++;
			if (!(c->c = parse_expr(p, true)))
				return NULL;
		}
		e = c;
	}
	return e;
}

/* An expression, or a bare tuple `a, b` (for `{% set a, b = ... %}` right sides). */
static struct enode *
parse_tuple_expr(struct parser *p)
{
	int line = peek(p)->line;
	struct enode *e = parse_expr(p, true);

	if (!e || !tok_op(peek(p), ","))
		return e;
	struct enode *l = enode_new(p, E_LIST, line);
	struct enode *items[64];
	size_t n = 0;
	items[n++] = e;
	while (tok_op(peek(p), ",") && n < nitems(items)) {
		p->pos++;
		if (!(items[n++] = parse_expr(p, true)))
			return NULL;
	}
	l->items = arena_alloc(&p->t->arena, n * sizeof *items);
	memcpy(l->items, items, n * sizeof *items);
	l->nitems = n;
	return l;
}

static int
expect_bend(struct parser *p)
{
	if (peek(p)->type != T_BEND)
		return perr(p, peek(p), "end of statement '%}'");
	p->pos++;
	return 0;
}

/* Names separated by commas: loop and set targets. */
static int
parse_targets(struct parser *p, struct snode *s)
{
	const char *names[16];
	size_t n = 0;
	bool paren = tok_op(peek(p), "(");

	if (paren)
		p->pos++;
	do {
		if (n > 0)
			p->pos++;
		if (peek(p)->type != T_NAME)
			return perr(p, peek(p), "a variable name");
		if (n == nitems(names))
			return dr_error_set(
			    p->err, "%s:%d: too many names", p->t->name, peek(p)->line);
		names[n++] = peek(p)->s;
		p->pos++;
	} while (tok_op(peek(p), ","));
	if (paren && expect_op(p, ")") < 0)
		return -1;
	s->targets = arena_alloc(&p->t->arena, n * sizeof *names);
	memcpy(s->targets, names, n * sizeof *names);
	s->ntargets = n;
	return 0;
}

static struct snode *parse_body(struct parser *p, const char *const *ends, const char **which);

static struct snode *
snode_new(struct parser *p, enum skind kind, int line)
{
	struct snode *s = arena_alloc(&p->t->arena, sizeof *s);

	s->kind = kind;
	s->line = line;
	return s;
}

/* Consume `{% name %}` that ends a block. */
static int
parse_end(struct parser *p)
{
	p->pos++; /* the name; parse_body stopped before it */
	return expect_bend(p);
}

static struct snode *
parse_if(struct parser *p, int line)
{
	static const char *const ends[] = {"elif", "else", "endif", NULL};
	struct snode *s = snode_new(p, S_IF, line);
	const char *which;

	if (!(s->expr = parse_expr(p, true)) || expect_bend(p) < 0)
		return NULL;
	if (!(s->body = parse_body(p, ends, &which)) && p->err->msg[0])
		return NULL;
	if (strcmp(which, "elif") == 0) {
		int l = peek(p)->line;
		p->pos++;
		if (!(s->else_body = parse_if(p, l)))
			return NULL;
		s->elif = true;
		return s;
	}
	if (strcmp(which, "else") == 0) {
		static const char *const end_only[] = {"endif", NULL};
		if (parse_end(p) < 0)
			return NULL;
		if (!(s->else_body = parse_body(p, end_only, &which)) && p->err->msg[0])
			return NULL;
	}
	return parse_end(p) < 0 ? NULL : s;
}

static struct snode *
parse_for(struct parser *p, int line)
{
	static const char *const ends[] = {"else", "endfor", NULL};
	static const char *const end_only[] = {"endfor", NULL};
	struct snode *s = snode_new(p, S_FOR, line);
	const char *which;

	if (parse_targets(p, s) < 0)
		return NULL;
	if (!tok_name(peek(p), "in")) {
		perr(p, peek(p), "'in'");
		return NULL;
	}
	p->pos++;
	if (!(s->expr = parse_expr(p, false)))
		return NULL;
	if (tok_name(peek(p), "if")) {
		p->pos++;
		if (!(s->cond = parse_expr(p, false)))
			return NULL;
	}
	if (tok_name(peek(p), "recursive")) {
		dr_error_set(
		    p->err, "%s:%d: recursive loops are not supported", p->t->name, peek(p)->line);
		return NULL;
	}
	if (expect_bend(p) < 0)
		return NULL;
	if (!(s->body = parse_body(p, ends, &which)) && p->err->msg[0])
		return NULL;
	if (strcmp(which, "else") == 0) {
		if (parse_end(p) < 0)
			return NULL;
		if (!(s->else_body = parse_body(p, end_only, &which)) && p->err->msg[0])
			return NULL;
	}
	return parse_end(p) < 0 ? NULL : s;
}

static struct snode *
parse_set(struct parser *p, int line)
{
	static const char *const ends[] = {"endset", NULL};
	struct snode *s = snode_new(p, S_SET, line);
	const char *which;

	if (parse_targets(p, s) < 0)
		return NULL;
	if (tok_op(peek(p), "=")) {
		p->pos++;
		if (!(s->expr = parse_tuple_expr(p)) || expect_bend(p) < 0)
			return NULL;
		return s;
	}
	s->kind = S_SETBLOCK;
	if (s->ntargets != 1) {
		perr(p, peek(p), "'='");
		return NULL;
	}
	/* `{% set x | filter %}` applies a filter to the captured block. */
	struct enode *chain = NULL;
	while (tok_op(peek(p), "|")) {
		p->pos++;
		if (!(chain = parse_filter(p, chain)))
			return NULL;
	}
	s->expr = chain;
	if (expect_bend(p) < 0)
		return NULL;
	if (!(s->body = parse_body(p, ends, &which)) && p->err->msg[0])
		return NULL;
	return parse_end(p) < 0 ? NULL : s;
}

static struct snode *
parse_macro(struct parser *p, int line)
{
	static const char *const ends[] = {"endmacro", NULL};
	struct snode *s = snode_new(p, S_MACRO, line);
	const char *which, *params[64];
	struct enode *defaults[64];
	size_t n = 0;

	if (peek(p)->type != T_NAME) {
		perr(p, peek(p), "a macro name");
		return NULL;
	}
	s->name = peek(p)->s;
	p->pos++;
	if (expect_op(p, "(") < 0)
		return NULL;
	while (!tok_op(peek(p), ")")) {
		if (n > 0 && expect_op(p, ",") < 0)
			return NULL;
		if (peek(p)->type != T_NAME || n == nitems(params)) {
			perr(p, peek(p), "a parameter name");
			return NULL;
		}
		params[n] = peek(p)->s;
		defaults[n] = NULL;
		p->pos++;
		if (tok_op(peek(p), "=")) {
			p->pos++;
			if (!(defaults[n] = parse_expr(p, true)))
				return NULL;
		}
		n++;
	}
	p->pos++;
	if (expect_bend(p) < 0)
		return NULL;
	s->params = arena_alloc(&p->t->arena, n * sizeof *params + 1);
	s->defaults = arena_alloc(&p->t->arena, n * sizeof *defaults + 1);
	memcpy(s->params, params, n * sizeof *params);
	memcpy(s->defaults, defaults, n * sizeof *defaults);
	s->nparams = n;
	if (!(s->body = parse_body(p, ends, &which)) && p->err->msg[0])
		return NULL;
	return parse_end(p) < 0 ? NULL : s;
}

static struct snode *
parse_include(struct parser *p, int line)
{
	struct snode *s = snode_new(p, S_INCLUDE, line);

	if (!(s->expr = parse_expr(p, true)))
		return NULL;
	if (tok_name(peek(p), "ignore") && tok_name(&p->toks[p->pos + 1], "missing")) {
		s->ignore_missing = true;
		p->pos += 2;
	}
	if ((tok_name(peek(p), "with") || tok_name(peek(p), "without")) &&
	    tok_name(&p->toks[p->pos + 1], "context"))
		p->pos += 2;
	return expect_bend(p) < 0 ? NULL : s;
}

static struct snode *
parse_filterblock(struct parser *p, int line)
{
	static const char *const ends[] = {"endfilter", NULL};
	struct snode *s = snode_new(p, S_FILTERBLOCK, line);
	const char *which;
	struct enode *chain = NULL;

	do {
		if (chain)
			p->pos++;
		if (!(chain = parse_filter(p, chain)))
			return NULL;
	} while (tok_op(peek(p), "|"));
	s->expr = chain;
	if (expect_bend(p) < 0)
		return NULL;
	if (!(s->body = parse_body(p, ends, &which)) && p->err->msg[0])
		return NULL;
	return parse_end(p) < 0 ? NULL : s;
}

/* The statements a block tag may start. */
static const struct {
	const char *name;
	struct snode *(*parse)(struct parser *p, int line);
} statements[] = {
    {"if", parse_if},
    {"for", parse_for},
    {"set", parse_set},
    {"macro", parse_macro},
    {"include", parse_include},
    {"filter", parse_filterblock},
};

/*
 * Statements until a block tag whose name is in ends (left unconsumed, *which names it) or
 * the end of the template (ends must be NULL then). Returns the first node or NULL
 * (also for an empty body: callers check p->err).
 */
static struct snode *
parse_body(struct parser *p, const char *const *ends, const char **which)
{
	struct snode *head = NULL, **tail = &head;
	int start_line = peek(p)->line;

	if (++p->depth > TEMPLATE_MAX_NEST) {
		dr_error_set(p->err, "%s:%d: blocks nested too deeply", p->t->name, start_line);
		return NULL;
	}
	for (;;) {
		struct token *t = peek(p);
		struct snode *s = NULL;
		if (t->type == T_EOF) {
			if (ends) {
				/* Name the closing tag the innermost block needs. */
				const char *last = ends[0];
				for (size_t i = 0; ends[i]; i++)
					last = ends[i];
				dr_error_set(p->err,
				    "%s:%d: unexpected end of template, expected '%s'", p->t->name,
				    t->line, last);
				return NULL;
			}
			break;
		}
		if (t->type == T_TEXT) {
			s = snode_new(p, S_TEXT, t->line);
			s->text = t->s;
			s->len = t->n;
			p->pos++;
		} else if (t->type == T_VBEGIN) {
			p->pos++;
			s = snode_new(p, S_OUTPUT, t->line);
			if (!(s->expr = parse_expr(p, true)))
				return NULL;
			if (peek(p)->type != T_VEND) {
				perr(p, peek(p), "end of print statement '}}'");
				return NULL;
			}
			p->pos++;
		} else if (t->type == T_BBEGIN) {
			struct token *n = &p->toks[p->pos + 1];
			if (n->type != T_NAME) {
				perr(p, n, "a statement name");
				return NULL;
			}
			for (size_t i = 0; ends && ends[i]; i++)
				if (strcmp(n->s, ends[i]) == 0) {
					*which = ends[i];
					p->pos++;
					p->depth--;
					return head;
				}
			size_t i;
			for (i = 0; i < nitems(statements); i++)
				if (strcmp(n->s, statements[i].name) == 0)
					break;
			if (i == nitems(statements)) {
				if (ends)
					dr_error_set(p->err,
					    "%s:%d: syntax error: unexpected '%s', expected '%s'",
					    p->t->name, n->line, n->s, ends[0]);
				else
					dr_error_set(p->err,
					    "%s:%d: syntax error: unknown tag '%s'", p->t->name,
					    n->line, n->s);
				return NULL;
			}
			p->pos += 2;
			if (!(s = statements[i].parse(p, n->line)))
				return NULL;
		} else {
			perr(p, t, "text or a tag");
			return NULL;
		}
		*tail = s;
		tail = &s->next;
	}
	p->depth--;
	return head;
}

/* Free a compiled template (NULL is fine). */
void
template_free(struct template *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nlits; i++)
		json_decref(t->lits[i]);
	free(t->lits);
	arena_free(&t->arena);
	free(t->source);
	free(t->name);
	free(t);
}

/* Lex and parse; expr_only parses one bare expression instead of a template. */
static int
template_build(const char *name, const char *text, const struct template_opts *opts,
    bool expr_only, struct template **ret, struct dr_error *err)
{
	struct dr_error local;
	struct template *t = xcalloc(1, sizeof *t);
	struct lexer lx = {0};
	struct parser p = {0};
	size_t len = strlen(text);
	int r = -1;

	if (!err)
		err = &local;
	err->msg[0] = '\0';
	if (len > TEMPLATE_MAX_SOURCE) {
		dr_error_set(err, "%s: template larger than %u bytes", name, TEMPLATE_MAX_SOURCE);
		goto out;
	}
	t->name = xstrdup(name);
	if (opts)
		t->opts = *opts;
	if (expr_only) {
		t->source = xasprintf("{{ %s }}", text);
		len += 6;
	} else
		t->source = xstrndup(text, len);
	lx = (struct lexer){.src = t->source,
	    .name = t->name,
	    .len = len,
	    .line = 1,
	    .opts = &t->opts,
	    .arena = &t->arena,
	    .err = err};
	if (lex_all(&lx) < 0)
		goto out;
	p = (struct parser){.t = t, .toks = lx.toks, .err = err};
	if (expr_only) {
		p.pos = 1;
		if (!(t->expr = parse_expr(&p, true)))
			goto out;
		if (peek(&p)->type != T_VEND) {
			perr(&p, peek(&p), "end of expression");
			goto out;
		}
	} else {
		t->root = parse_body(&p, NULL, NULL);
		if (err->msg[0])
			goto out;
	}
	*ret = t;
	t = NULL;
	r = 0;
out:
	free(lx.toks);
	template_free(t);
	return r;
}

/* Compile a template. */
int
template_compile(const char *name, const char *text, const struct template_opts *opts,
    struct template **ret, struct dr_error *err)
{
	return template_build(name, text, opts, false, ret, err);
}

/* Rendering */
enum vkind { VK_JSON, VK_UNDEF, VK_MACRO, VK_LOOP };

struct tval {
	json_t *j; /* owned reference for VK_JSON */
	enum vkind kind;
	bool safe;
	const void *p; /* VK_MACRO: snode; VK_LOOP: loop state; VK_UNDEF: enode */
	const char *owner; /* VK_UNDEF: type of the object that lacked the attribute */
	const char *key; /* VK_UNDEF: the missing key (for items) */
};

struct binding {
	const char *name;
	struct tval v;
};

struct loop_state {
	size_t index0, length;
	json_t *list;
};

struct include_cache {
	struct include_cache *next;
	struct template *t;
	char *name;
};

struct rctx {
	const struct template *root;
	const char *tname;
	const json_t *vars;
	struct buf *out;
	struct binding *binds;
	size_t nbinds, capbinds;
	size_t frame; /* first binding of the current frame */
	size_t hide_lo, hide_hi; /* bindings a macro body cannot see */
	uint64_t loops, max_loop;
	int includes, calls;
	struct include_cache *cache;
	struct dr_error *err;
	bool lenient, autoescape;
};

static void
tval_clear(struct tval *v)
{
	if (v->kind == VK_JSON)
		json_decref(v->j);
	v->j = NULL;
	v->kind = VK_UNDEF;
}

static int rerr(struct rctx *c, int line, const char *fmt, ...) DR_PRINTF(3, 4);

/* An error at name:line. */
static int
rerr(struct rctx *c, int line, const char *fmt, ...)
{
	char msg[DR_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return dr_error_set(c->err, "%s:%d: %s", c->tname, line, msg);
}

/* The error for using an undefined value. */
static int
undef_err(struct rctx *c, const struct tval *v, int line)
{
	const struct enode *e = v->p;

	if (e && e->op == E_NAME)
		return rerr(c, line, "'%s' is undefined", e->name);
	if (e && e->op == E_ATTR)
		return rerr(c, line, "'%s object' has no attribute '%s'", v->owner, e->name);
	if (v->key)
		return rerr(c, line, "'%s object' has no attribute '%s'", v->owner, v->key);
	if (e && e->op == E_ITEM)
		return rerr(c, line, "'%s object' has no element at that index", v->owner);
	return rerr(c, line, "value is undefined");
}

static void
set_json(struct tval *v, json_t *j)
{
	*v = (struct tval){.j = j, .kind = VK_JSON};
}

static void
set_undef(struct tval *v, const struct enode *e, const char *owner, const char *key)
{
	*v = (struct tval){.kind = VK_UNDEF, .p = e, .owner = owner, .key = key};
}

/* Bind name in the current frame (replacing a binding there); takes v. */
static void
scope_set(struct rctx *c, const char *name, struct tval *v)
{
	for (size_t i = c->frame; i < c->nbinds; i++)
		if (strcmp(c->binds[i].name, name) == 0) {
			tval_clear(&c->binds[i].v);
			c->binds[i].v = *v;
			return;
		}
	if (c->nbinds == c->capbinds) {
		c->capbinds = c->capbinds ? c->capbinds * 2 : 32;
		c->binds = xreallocarray(c->binds, c->capbinds, sizeof *c->binds);
	}
	c->binds[c->nbinds++] = (struct binding){name, *v};
}

/* Drop bindings back to n. */
static void
scope_pop(struct rctx *c, size_t n)
{
	while (c->nbinds > n)
		tval_clear(&c->binds[--c->nbinds].v);
}

static const struct tval *
scope_get(const struct rctx *c, const char *name)
{
	for (size_t i = c->nbinds; i-- > 0;) {
		if (i >= c->hide_lo && i < c->hide_hi)
			continue;
		if (strcmp(c->binds[i].name, name) == 0)
			return &c->binds[i].v;
	}
	return NULL;
}

static int eval(struct rctx *c, const struct enode *e, struct tval *out);
static int exec_body(struct rctx *c, const struct snode *s);

/* Evaluate to JSON; undefined is an error (or null when lenient). */
static int
eval_json(struct rctx *c, const struct enode *e, struct tval *out)
{
	if (eval(c, e, out) < 0)
		return -1;
	if (out->kind == VK_JSON)
		return 0;
	if (out->kind == VK_UNDEF) {
		if (c->lenient) {
			set_json(out, json_string(""));
			return 0;
		}
		return undef_err(c, out, e->line);
	}
	tval_clear(out);
	return rerr(c, e->line, "a macro or loop cannot be used as a value here");
}

/* Truth of a value; undefined is an error unless lenient. */
static int
eval_bool(struct rctx *c, const struct enode *e, bool *ret)
{
	struct tval v;

	if (eval(c, e, &v) < 0)
		return -1;
	if (v.kind == VK_UNDEF) {
		if (!c->lenient)
			return undef_err(c, &v, e->line);
		*ret = false;
		return 0;
	}
	*ret = v.kind == VK_JSON ? template_truthy(v.j) : true;
	tval_clear(&v);
	return 0;
}

/* Python truth. */
bool
template_truthy(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return false;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_OBJECT:
		return json_object_size(v) > 0;
	default:
		return true;
	}
}

/* Evaluated arguments of a call, filter or test. */
struct evargs {
	json_t *vals[64];
	const char *names[64];
	size_t n;
	struct template_args a;
};

static void
evargs_free(struct evargs *ev)
{
	for (size_t i = 0; i < ev->n; i++)
		json_decref(ev->vals[i]);
	ev->n = 0;
}

/* Evaluate e's arguments: positional first, then keyword. Undefined passes as NULL when
 * undef_ok, else fails. */
static int
eval_args(struct rctx *c, const struct enode *e, bool undef_ok, struct evargs *ev)
{
	size_t npos = 0;
	json_t *kwv[64];
	size_t nkw = 0;

	ev->n = 0;
	for (size_t i = 0; i < e->nitems; i++) {
		struct tval v;
		if (eval(c, e->items[i], &v) < 0)
			goto fail;
		if (v.kind == VK_UNDEF && (undef_ok || c->lenient))
			v.j = undef_ok ? NULL : json_string("");
		else if (v.kind != VK_JSON) {
			if (v.kind == VK_UNDEF)
				undef_err(c, &v, e->items[i]->line);
			else
				rerr(c, e->items[i]->line, "a macro cannot be an argument");
			goto fail;
		}
		if (e->kw[i]) {
			ev->names[nkw] = e->kw[i];
			kwv[nkw++] = v.j;
		} else
			ev->vals[npos++] = v.j;
		ev->n = npos;
		for (size_t k = 0; k < nkw; k++)
			ev->vals[npos + k] = kwv[k];
		ev->n = npos + nkw;
	}
	ev->a = (struct template_args){.npos = npos,
	    .pos = ev->vals,
	    .nkw = nkw,
	    .kw_names = ev->names,
	    .kw = ev->vals + npos};
	return 0;
fail:
	for (size_t k = 0; k < nkw; k++)
		json_decref(kwv[k]);
	for (size_t k = 0; k < npos; k++)
		json_decref(ev->vals[k]);
	ev->n = 0;
	return -1;
}

static int
arith_err(struct rctx *c, const struct enode *e, const char *op, const json_t *a, const json_t *b)
{
	return rerr(c, e->line, "unsupported operand type(s) for %s: '%s' and '%s'", op,
	    tval_type(a), tval_type(b));
}

/* Repeat a string or list n times (Python's * on sequences). */
static json_t *
seq_repeat(const json_t *s, long long n, size_t max)
{
	if (n < 0)
		n = 0;
	if (json_is_string(s)) {
		size_t len = json_string_length(s);
		if (len && (size_t)n > max / len)
			return NULL;
		struct buf b = BUF_INIT(0);
		for (long long i = 0; i < n; i++)
			buf_add(&b, json_string_value(s), len);
		return tval_from_buf(&b);
	}
	size_t len = json_array_size(s);
	if (len && (size_t)n > max / len / 8)
		return NULL;
	json_t *l = json_array();
	for (long long i = 0; i < n; i++)
		json_array_extend(l, (json_t *)s);
	return l;
}

/* Binary arithmetic with Python's rules. New reference or NULL with the error set. */
static json_t *
eval_arith(struct rctx *c, const struct enode *e, const json_t *a, const json_t *b)
{
	long long x, y, r;
	double dx, dy;
	bool ints = tval_int(a, &x) && tval_int(b, &y);
	bool nums = tval_number(a, &dx) && tval_number(b, &dy);
	static const char *const opname[] = {[E_ADD] = "+",
	    [E_SUB] = "-",
	    [E_MUL] = "*",
	    [E_DIV] = "/",
	    [E_FLOORDIV] = "//",
	    [E_MOD] = "%",
	    [E_POW] = "**"};

	switch (e->op) {
	case E_ADD:
		if (ints && !__builtin_add_overflow(x, y, &r))
			return json_integer(r);
		if (nums)
			return json_real(dx + dy);
		if (json_is_string(a) && json_is_string(b)) {
			struct buf s = BUF_INIT(0);
			buf_add(&s, json_string_value(a), json_string_length(a));
			buf_add(&s, json_string_value(b), json_string_length(b));
			return tval_from_buf(&s);
		}
		if (json_is_array(a) && json_is_array(b)) {
			json_t *l = json_copy((json_t *)a);
			json_array_extend(l, (json_t *)b);
			return l;
		}
		break;
	case E_SUB:
		if (ints && !__builtin_sub_overflow(x, y, &r))
			return json_integer(r);
		if (nums)
			return json_real(dx - dy);
		break;
	case E_MUL:
		if (ints && !__builtin_mul_overflow(x, y, &r))
			return json_integer(r);
		if (nums)
			return json_real(dx * dy);
		if ((json_is_string(a) || json_is_array(a)) && tval_int(b, &y)) {
			json_t *v = seq_repeat(a, y, TEMPLATE_MAX_OUTPUT);
			if (!v)
				rerr(c, e->line, "repeated sequence too large");
			return v;
		}
		if ((json_is_string(b) || json_is_array(b)) && tval_int(a, &x)) {
			json_t *v = seq_repeat(b, x, TEMPLATE_MAX_OUTPUT);
			if (!v)
				rerr(c, e->line, "repeated sequence too large");
			return v;
		}
		break;
	case E_DIV:
		if (nums) {
			if (dy == 0) {
				rerr(c, e->line, "division by zero");
				return NULL;
			}
			return json_real(ints ? (double)x / (double)y : dx / dy);
		}
		break;
	case E_FLOORDIV:
	case E_MOD:
		if (nums) {
			if (dy == 0) {
				rerr(c, e->line, "integer division or modulo by zero");
				return NULL;
			}
			if (ints && !(x == LLONG_MIN && y == -1)) {
				long long q = x / y, m = x % y;
				if (m != 0 && ((m < 0) != (y < 0))) {
					q--;
					m += y;
				}
				return json_integer(e->op == E_MOD ? m : q);
			}
			double q = floor(dx / dy), m = fmod(dx, dy);
			if (m != 0 && ((m < 0) != (dy < 0)))
				m += dy;
			return json_real(e->op == E_MOD ? m : q);
		}
		if (e->op == E_MOD && json_is_string(a)) {
			struct buf s = BUF_INIT(c->out->max);
			if (tval_percent_format(&s, json_string_value(a), b, c->err) < 0) {
				buf_free(&s);
				rerr(c, e->line, "%s", c->err->msg);
				return NULL;
			}
			return tval_from_buf(&s);
		}
		break;
	case E_POW:
		if (ints && y >= 0) {
			long long acc = 1, base = x, ex = y;
			bool over = false;
			while (ex > 0 && !over) {
				if (ex & 1)
					over |= __builtin_mul_overflow(acc, base, &acc);
				ex >>= 1;
				if (ex)
					over |= __builtin_mul_overflow(base, base, &base);
			}
			if (!over)
				return json_integer(acc);
		}
		if (nums)
			return json_real(pow(dx, dy));
		break;
	default:
		break;
	}
	arith_err(c, e, opname[e->op], a, b);
	return NULL;
}

/* Python's index normalisation for a[i]. */
static bool
index_norm(long long i, size_t n, size_t *ret)
{
	if (i < 0)
		i += (long long)n;
	if (i < 0 || (size_t)i >= n)
		return false;
	*ret = (size_t)i;
	return true;
}

/* The attributes of `loop`. */
static int
loop_attr(struct rctx *c, const struct enode *e, const struct loop_state *ls, struct tval *out)
{
	size_t i = ls->index0, n = ls->length;

	if (strcmp(e->name, "index") == 0)
		set_json(out, json_integer((json_int_t)i + 1));
	else if (strcmp(e->name, "index0") == 0)
		set_json(out, json_integer((json_int_t)i));
	else if (strcmp(e->name, "revindex") == 0)
		set_json(out, json_integer((json_int_t)(n - i)));
	else if (strcmp(e->name, "revindex0") == 0)
		set_json(out, json_integer((json_int_t)(n - i - 1)));
	else if (strcmp(e->name, "first") == 0)
		set_json(out, json_boolean(i == 0));
	else if (strcmp(e->name, "last") == 0)
		set_json(out, json_boolean(i + 1 == n));
	else if (strcmp(e->name, "length") == 0)
		set_json(out, json_integer((json_int_t)n));
	else if (strcmp(e->name, "depth") == 0)
		set_json(out, json_integer(1));
	else if (strcmp(e->name, "depth0") == 0)
		set_json(out, json_integer(0));
	else if (strcmp(e->name, "previtem") == 0 && i > 0)
		set_json(out, json_incref(json_array_get(ls->list, i - 1)));
	else if (strcmp(e->name, "nextitem") == 0 && i + 1 < n)
		set_json(out, json_incref(json_array_get(ls->list, i + 1)));
	else
		set_undef(out, e, "LoopContext", NULL);
	return 0;
}

/* a.b: dict key, or loop attribute. */
static int
eval_attr(struct rctx *c, const struct enode *e, struct tval *out)
{
	struct tval o;

	if (eval(c, e->a, &o) < 0)
		return -1;
	if (o.kind == VK_LOOP)
		return loop_attr(c, e, o.p, out);
	if (o.kind == VK_UNDEF) {
		if (c->lenient) {
			set_undef(out, e, "Undefined", NULL);
			return 0;
		}
		return undef_err(c, &o, e->line);
	}
	if (o.kind != VK_JSON) {
		tval_clear(&o);
		return rerr(c, e->line, "a macro has no attribute '%s'", e->name);
	}
	json_t *v = json_is_object(o.j) ? json_object_get(o.j, e->name) : NULL;
	if (v)
		set_json(out, json_incref(v));
	else
		set_undef(out, e, tval_type(o.j), NULL);
	tval_clear(&o);
	return 0;
}

/* a[i]: dict key, list or string index. */
static int
eval_item(struct rctx *c, const struct enode *e, struct tval *out)
{
	struct tval o, k;
	long long i;
	size_t at;

	if (eval(c, e->a, &o) < 0)
		return -1;
	if (o.kind == VK_UNDEF) {
		if (c->lenient) {
			set_undef(out, e, "Undefined", NULL);
			return 0;
		}
		return undef_err(c, &o, e->line);
	}
	if (o.kind == VK_LOOP) {
		struct enode fake = *e;
		if (eval_json(c, e->b, &k) < 0)
			return -1;
		fake.name = json_is_string(k.j) ? json_string_value(k.j) : "";
		int r = loop_attr(c, &fake, o.p, out);
		if (out->kind == VK_UNDEF)
			out->p = NULL;
		tval_clear(&k);
		return r;
	}
	if (o.kind != VK_JSON || eval_json(c, e->b, &k) < 0) {
		tval_clear(&o);
		return -1;
	}
	json_t *v = NULL;
	if (json_is_object(o.j) && json_is_string(k.j))
		v = json_object_get(o.j, json_string_value(k.j));
	else if (json_is_array(o.j) && tval_int(k.j, &i)) {
		if (index_norm(i, json_array_size(o.j), &at))
			v = json_array_get(o.j, at);
	} else if (json_is_string(o.j) && tval_int(k.j, &i)) {
		const char *s = json_string_value(o.j);
		size_t n = json_string_length(o.j);
		if (index_norm(i, utf8_len(s, n), &at)) {
			size_t b0 = utf8_offset(s, n, at), b1 = utf8_offset(s, n, at + 1);
			set_json(out, json_stringn(s + b0, b1 - b0));
			goto done;
		}
	}
	if (v)
		set_json(out, json_incref(v));
	else {
		set_undef(out, e, tval_type(o.j),
		    json_is_string(k.j) ? json_string_value(e->b->lit ? e->b->lit : k.j) : NULL);
		if (!e->b->lit)
			out->key = NULL;
	}
done:
	tval_clear(&o);
	tval_clear(&k);
	return 0;
}

/* Python slice indices for length n. */
static void
slice_bounds(const json_t *start, const json_t *stop, long long step, size_t n, long long *ret_a,
    long long *ret_b)
{
	long long a, b, len = (long long)n;

	if (step > 0) {
		a = 0;
		b = len;
	} else {
		a = len - 1;
		b = -1;
	}
	long long v;
	if (start && tval_int(start, &v)) {
		if (v < 0)
			v += len;
		a = step > 0 ? (v < 0            ? 0
		                       : v > len ? len
		                                 : v)
		             : (v < 0             ? -1
		                       : v >= len ? len - 1
		                                  : v);
	}
	if (stop && tval_int(stop, &v)) {
		if (v < 0)
			v += len;
		b = step > 0 ? (v < 0            ? 0
		                       : v > len ? len
		                                 : v)
		             : (v < -1            ? -1
		                       : v >= len ? len - 1
		                                  : v);
	}
	*ret_a = a;
	*ret_b = b;
}

/* a[x:y:z] on lists and strings. */
static int
eval_slice(struct rctx *c, const struct enode *e, struct tval *out)
{
	struct tval o, parts[3] = {{0}};
	const struct enode *nodes[3] = {e->b, e->c, e->items[0]};
	long long step = 1, a, b;
	int r = -1;

	if (eval_json(c, e->a, &o) < 0)
		return -1;
	for (int i = 0; i < 3; i++)
		if (nodes[i] && eval_json(c, nodes[i], &parts[i]) < 0)
			goto out;
	if (parts[2].j && (!tval_int(parts[2].j, &step) || step == 0)) {
		rerr(c, e->line, "slice step cannot be zero");
		goto out;
	}
	if (json_is_array(o.j)) {
		json_t *l = json_array();
		slice_bounds(parts[0].j, parts[1].j, step, json_array_size(o.j), &a, &b);
		for (long long i = a; step > 0 ? i < b : i > b; i += step)
			json_array_append(l, json_array_get(o.j, (size_t)i));
		set_json(out, l);
	} else if (json_is_string(o.j)) {
		const char *s = json_string_value(o.j);
		size_t n = json_string_length(o.j), cps = utf8_len(s, n);
		struct buf sb = BUF_INIT(0);
		slice_bounds(parts[0].j, parts[1].j, step, cps, &a, &b);
		for (long long i = a; step > 0 ? i < b : i > b; i += step) {
			size_t b0 = utf8_offset(s, n, (size_t)i),
			       b1 = utf8_offset(s, n, (size_t)i + 1);
			buf_add(&sb, s + b0, b1 - b0);
		}
		set_json(out, tval_from_buf(&sb));
	} else {
		rerr(c, e->line, "'%s' object is not subscriptable", tval_type(o.j));
		goto out;
	}
	r = 0;
out:
	tval_clear(&o);
	for (int i = 0; i < 3; i++)
		if (parts[i].kind == VK_JSON)
			tval_clear(&parts[i]);
	return r;
}

/* Apply a filter node to an already evaluated input (consumed). */
static int
apply_filter(struct rctx *c, const struct enode *e, struct tval *in, struct tval *out)
{
	struct evargs ev;

	if (e->special == SP_SAFE || e->special == SP_ESCAPE) {
		if (in->kind == VK_UNDEF) {
			if (!c->lenient)
				return undef_err(c, in, e->line);
			set_json(in, json_string(""));
		}
		if (e->special == SP_ESCAPE && !in->safe) {
			struct buf b = BUF_INIT(0);
			char *s = tval_strdup(in->j);
			template_html_escape(&b, s, strlen(s));
			free(s);
			tval_clear(in);
			set_json(in, tval_from_buf(&b));
		} else if (!json_is_string(in->j)) {
			json_t *s = json_string(tval_strdup(in->j));
			tval_clear(in);
			set_json(in, s);
		}
		*out = *in;
		out->safe = true;
		return 0;
	}
	if (in->kind == VK_UNDEF && !e->filter->undefined_ok) {
		if (!c->lenient)
			return undef_err(c, in, e->line);
		set_json(in, json_string(""));
	}
	if (in->kind != VK_JSON && in->kind != VK_UNDEF) {
		tval_clear(in);
		return rerr(c, e->line, "filter '%s' cannot take a macro", e->name);
	}
	if (eval_args(c, e, e->filter->undefined_ok, &ev) < 0) {
		tval_clear(in);
		return -1;
	}
	json_t *res = NULL;
	struct dr_error ferr = {{0}};
	int r = e->filter->fn(in->kind == VK_JSON ? in->j : NULL, &ev.a, &res, &ferr);
	evargs_free(&ev);
	if (r < 0) {
		tval_clear(in);
		return rerr(c, e->line, "filter '%s': %s", e->name, ferr.msg);
	}
	if (!res)
		*out = *in; /* default(undefined) passes the input through */
	else {
		tval_clear(in);
		set_json(out, res);
	}
	return 0;
}

static int call_macro(
    struct rctx *c, const struct enode *e, const struct snode *m, struct tval *out);

/* A call: method on a value, macro, loop.cycle or a global function. */
static int
eval_call(struct rctx *c, const struct enode *e, struct tval *out)
{
	const struct enode *f = e->a;
	struct evargs ev;
	struct tval o;
	json_t *res = NULL;
	struct dr_error ferr = {{0}};
	int r;

	if (f->op == E_ATTR) {
		if (eval(c, f->a, &o) < 0)
			return -1;
		if (o.kind == VK_LOOP && strcmp(f->name, "cycle") == 0) {
			const struct loop_state *ls = o.p;
			if (eval_args(c, e, false, &ev) < 0)
				return -1;
			if (ev.a.npos == 0) {
				evargs_free(&ev);
				return rerr(c, e->line, "no items for cycling given");
			}
			set_json(out, json_incref(ev.a.pos[ls->index0 % ev.a.npos]));
			evargs_free(&ev);
			return 0;
		}
		if (o.kind == VK_UNDEF) {
			if (c->lenient) {
				set_undef(out, e, "Undefined", NULL);
				return 0;
			}
			return undef_err(c, &o, e->line);
		}
		if (o.kind != VK_JSON) {
			tval_clear(&o);
			return rerr(c, e->line, "no method '%s' here", f->name);
		}
		if (json_is_object(o.j)) {
			json_t *m = json_object_get(o.j, f->name);
			(void)m;
		}
		if (eval_args(c, e, false, &ev) < 0) {
			tval_clear(&o);
			return -1;
		}
		r = template_method_call(o.j, f->name, &ev.a, &res, &ferr);
		evargs_free(&ev);
		if (r == 1)
			rerr(c, e->line, "'%s object' has no attribute '%s'", tval_type(o.j),
			    f->name);
		else if (r < 0)
			rerr(c, e->line, "%s(): %s", f->name, ferr.msg);
		tval_clear(&o);
		if (r != 0)
			return -1;
		set_json(out, res);
		return 0;
	}
	if (f->op == E_NAME) {
		const struct tval *b = scope_get(c, f->name);
		if (b && b->kind == VK_MACRO)
			return call_macro(c, e, b->p, out);
		if (!b && (!c->vars || !json_object_get(c->vars, f->name))) {
			for (size_t g = 0; g < n_extra_globals; g++) {
				if (strcmp(extra_globals[g].name, f->name) != 0)
					continue;
				if (eval_args(c, e, false, &ev) < 0)
					return -1;
				r = extra_globals[g].fn(NULL, &ev.a, &res, &ferr);
				evargs_free(&ev);
				if (r < 0)
					return rerr(c, e->line, "%s(): %s", f->name, ferr.msg);
				set_json(out, res);
				return 0;
			}
			static const char *const globals[] = {
			    "range", "dict", "lookup", "query", "q", "namespace"};
			size_t i;
			for (i = 0; i < nitems(globals); i++)
				if (strcmp(f->name, globals[i]) == 0)
					break;
			if (i < nitems(globals)) {
				if (eval_args(c, e, false, &ev) < 0)
					return -1;
				r = template_method_call(NULL, f->name, &ev.a, &res, &ferr);
				evargs_free(&ev);
				if (r == 1)
					return rerr(c, e->line, "'%s' is undefined", f->name);
				if (r < 0)
					return rerr(c, e->line, "%s(): %s", f->name, ferr.msg);
				set_json(out, res);
				return 0;
			}
			return rerr(c, e->line, "'%s' is undefined", f->name);
		}
		return rerr(c, e->line, "'%s' is not callable", f->name);
	}
	return rerr(c, e->line, "this expression is not callable");
}

/* Capture what exec_body writes into a string. */
static int
exec_capture(struct rctx *c, const struct snode *body, json_t **ret)
{
	struct buf b = BUF_INIT(c->out->max ? c->out->max - c->out->len + 1 : 0);
	struct buf *saved = c->out;
	int r;

	c->out = &b;
	r = exec_body(c, body);
	c->out = saved;
	if (r < 0) {
		buf_free(&b);
		return -1;
	}
	*ret = tval_from_buf(&b);
	return 0;
}

/* Call a macro: bind parameters in a fresh frame that hides the caller's locals. */
static int
call_macro(struct rctx *c, const struct enode *e, const struct snode *m, struct tval *out)
{
	struct evargs ev;
	size_t saved_frame = c->frame, saved_lo = c->hide_lo, saved_hi = c->hide_hi;
	size_t base = c->nbinds;
	json_t *res = NULL;
	int r = -1;

	if (c->calls >= TEMPLATE_MAX_CALL)
		return rerr(c, e->line, "macro calls nested deeper than %d", TEMPLATE_MAX_CALL);
	if (eval_args(c, e, false, &ev) < 0)
		return -1;
	if (ev.a.npos > m->nparams) {
		evargs_free(&ev);
		return rerr(c, e->line, "macro '%s' takes not more than %zu argument(s)", m->name,
		    m->nparams);
	}
	for (size_t k = 0; k < ev.a.nkw; k++) {
		size_t i;
		for (i = 0; i < m->nparams && strcmp(m->params[i], ev.a.kw_names[k]); i++)
			;
		if (i == m->nparams) {
			evargs_free(&ev);
			return rerr(c, e->line, "macro '%s' takes no keyword argument '%s'",
			    m->name, ev.a.kw_names[k]);
		}
	}
	/* Hide everything the caller bound after the template's top level. */
	if (c->hide_hi == 0) {
		c->hide_lo = c->frame == 0 ? base : c->frame;
		c->hide_hi = base;
	}
	c->frame = base;
	c->calls++;
	for (size_t i = 0; i < m->nparams; i++) {
		struct tval v;
		json_t *a =
		    i < ev.a.npos ? ev.a.pos[i] : template_arg(&ev.a, SIZE_MAX, m->params[i]);
		if (a)
			set_json(&v, json_incref(a));
		else if (m->defaults[i]) {
			if (eval(c, m->defaults[i], &v) < 0)
				goto out;
		} else
			set_undef(&v, NULL, NULL, NULL);
		scope_set(c, m->params[i], &v);
	}
	if (exec_capture(c, m->body, &res) < 0)
		goto out;
	set_json(out, res);
	out->safe = true;
	r = 0;
out:
	c->calls--;
	evargs_free(&ev);
	scope_pop(c, base);
	c->frame = saved_frame;
	c->hide_lo = saved_lo;
	c->hide_hi = saved_hi;
	return r;
}

/* Evaluate an expression to *out (a new reference). */
static int
eval(struct rctx *c, const struct enode *e, struct tval *out)
{
	struct tval a, b;
	bool t;
	int cmp;

	switch (e->op) {
	case E_LIT:
		set_json(out, json_incref(e->lit));
		return 0;
	case E_NAME: {
		const struct tval *v = scope_get(c, e->name);
		if (v) {
			*out = *v;
			if (v->kind == VK_JSON)
				json_incref(v->j);
			return 0;
		}
		json_t *j = c->vars ? json_object_get(c->vars, e->name) : NULL;
		if (j)
			set_json(out, json_incref(j));
		else
			set_undef(out, e, NULL, NULL);
		return 0;
	}
	case E_ATTR:
		return eval_attr(c, e, out);
	case E_ITEM:
		return eval_item(c, e, out);
	case E_SLICE:
		return eval_slice(c, e, out);
	case E_LIST:
	case E_DICT: {
		json_t *r = e->op == E_LIST ? json_array() : json_object();
		for (size_t i = 0; i < e->nitems; i++) {
			if (eval_json(c, e->items[i], &a) < 0) {
				json_decref(r);
				return -1;
			}
			if (e->op == E_LIST) {
				json_array_append_new(r, a.j);
				continue;
			}
			if (eval_json(c, e->items[++i], &b) < 0) {
				tval_clear(&a);
				json_decref(r);
				return -1;
			}
			char *k = tval_strdup(a.j);
			json_object_set_new(r, k, b.j);
			free(k);
			tval_clear(&a);
		}
		set_json(out, r);
		return 0;
	}
	case E_ADD:
	case E_SUB:
	case E_MUL:
	case E_DIV:
	case E_FLOORDIV:
	case E_MOD:
	case E_POW:
	case E_CONCAT:
	case E_EQ:
	case E_NE:
	case E_LT:
	case E_LE:
	case E_GT:
	case E_GE:
	case E_IN:
	case E_NOTIN: {
		json_t *r = NULL;
		if (eval_json(c, e->a, &a) < 0)
			return -1;
		if (eval_json(c, e->b, &b) < 0) {
			tval_clear(&a);
			return -1;
		}
		switch (e->op) {
		case E_CONCAT: {
			struct buf s = BUF_INIT(0);
			tval_str(&s, a.j);
			tval_str(&s, b.j);
			r = tval_from_buf(&s);
			break;
		}
		case E_EQ:
			r = json_boolean(tval_equal(a.j, b.j));
			break;
		case E_NE:
			r = json_boolean(!tval_equal(a.j, b.j));
			break;
		case E_LT:
		case E_LE:
		case E_GT:
		case E_GE:
			if (tval_compare(a.j, b.j, &cmp, c->err) < 0) {
				rerr(c, e->line, "%s", c->err->msg);
				break;
			}
			r = json_boolean(e->op == E_LT ? cmp < 0
			        : e->op == E_LE        ? cmp <= 0
			        : e->op == E_GT        ? cmp > 0
			                               : cmp >= 0);
			break;
		case E_IN:
		case E_NOTIN:
			if (tval_contains(b.j, a.j, &t, c->err) < 0) {
				rerr(c, e->line, "%s", c->err->msg);
				break;
			}
			r = json_boolean(e->op == E_IN ? t : !t);
			break;
		default:
			r = eval_arith(c, e, a.j, b.j);
		}
		tval_clear(&a);
		tval_clear(&b);
		if (!r)
			return -1;
		set_json(out, r);
		return 0;
	}
	case E_NEG:
	case E_POS: {
		long long i;
		double d;
		if (eval_json(c, e->a, &a) < 0)
			return -1;
		json_t *r = NULL;
		if (tval_int(a.j, &i) && i != LLONG_MIN)
			r = json_integer(e->op == E_NEG ? -i : i);
		else if (tval_number(a.j, &d))
			r = json_real(e->op == E_NEG ? -d : d);
		else
			rerr(c, e->line, "bad operand type for unary %c: '%s'",
			    e->op == E_NEG ? '-' : '+', tval_type(a.j));
		tval_clear(&a);
		if (!r)
			return -1;
		set_json(out, r);
		return 0;
	}
	case E_NOT:
		if (eval_bool(c, e->a, &t) < 0)
			return -1;
		set_json(out, json_boolean(!t));
		return 0;
	case E_AND:
	case E_OR:
		/* Python returns the deciding operand, not a bool. */
		if (eval(c, e->a, &a) < 0)
			return -1;
		if (a.kind == VK_UNDEF && !c->lenient)
			return undef_err(c, &a, e->line);
		t = a.kind == VK_JSON ? template_truthy(a.j) : a.kind != VK_UNDEF;
		if ((e->op == E_AND) != t) {
			*out = a;
			return 0;
		}
		tval_clear(&a);
		return eval(c, e->b, out);
	case E_COND:
		if (eval_bool(c, e->b, &t) < 0)
			return -1;
		if (t)
			return eval(c, e->a, out);
		if (e->c)
			return eval(c, e->c, out);
		set_undef(out, e, NULL, NULL);
		if (!c->lenient)
			set_json(out, json_string("")); /* Jinja: an empty Undefined */
		return 0;
	case E_FILTER:
		if (eval(c, e->a, &a) < 0)
			return -1;
		return apply_filter(c, e, &a, out);
	case E_TEST: {
		struct evargs ev;
		struct dr_error ferr = {{0}};
		if (eval(c, e->a, &a) < 0)
			return -1;
		if (a.kind == VK_UNDEF && !e->test->undefined_ok) {
			if (!c->lenient)
				return undef_err(c, &a, e->line);
			set_json(&a, json_string(""));
		}
		if (a.kind == VK_MACRO || a.kind == VK_LOOP) {
			/* Callables: defined, and nothing else we test for. */
			tval_clear(&a);
			set_json(&a, json_true());
		}
		if (eval_args(c, e, false, &ev) < 0) {
			tval_clear(&a);
			return -1;
		}
		int r = e->test->fn(a.kind == VK_JSON ? a.j : NULL, &ev.a, &t, &ferr);
		evargs_free(&ev);
		tval_clear(&a);
		if (r < 0)
			return rerr(c, e->line, "test '%s': %s", e->name, ferr.msg);
		set_json(out, json_boolean(e->negate ? !t : t));
		return 0;
	}
	case E_CALL:
		return eval_call(c, e, out);
	}
	return rerr(c, e->line, "bad expression");
}

/* Write a value as `{{ }}` does: None as "", escaped in autoescape mode unless safe. */
static int
emit_value(struct rctx *c, const struct tval *v, int line)
{
	int r;

	if (v->kind == VK_UNDEF) {
		if (c->lenient)
			return 0;
		return undef_err(c, v, line);
	}
	if (v->kind != VK_JSON)
		return rerr(c, line, "a macro or loop cannot be printed");
	if (json_is_null(v->j))
		return 0;
	if (json_is_string(v->j) && !(c->autoescape && !v->safe))
		r = buf_add(c->out, json_string_value(v->j), json_string_length(v->j));
	else if (c->autoescape && !v->safe) {
		char *s = tval_strdup(v->j);
		r = template_html_escape(c->out, s, strlen(s));
		free(s);
	} else
		r = tval_str(c->out, v->j);
	if (r < 0)
		return rerr(c, line, "output larger than %zu bytes", c->out->max);
	return 0;
}

/* Bind loop targets to one item (unpacking lists for `for a, b in ...`). */
static int
bind_targets(struct rctx *c, const struct snode *s, json_t *item)
{
	struct tval v;

	if (s->ntargets == 1) {
		set_json(&v, json_incref(item));
		scope_set(c, s->targets[0], &v);
		return 0;
	}
	if (!json_is_array(item) || json_array_size(item) != s->ntargets)
		return rerr(
		    c, s->line, "cannot unpack %s into %zu names", tval_type(item), s->ntargets);
	for (size_t i = 0; i < s->ntargets; i++) {
		set_json(&v, json_incref(json_array_get(item, i)));
		scope_set(c, s->targets[i], &v);
	}
	return 0;
}

static int
exec_for(struct rctx *c, const struct snode *s)
{
	struct tval it;
	json_t *list;
	size_t saved_frame = c->frame, base = c->nbinds;
	int r = -1;

	if (eval(c, s->expr, &it) < 0)
		return -1;
	if (it.kind == VK_UNDEF) {
		if (!c->lenient)
			return undef_err(c, &it, s->line);
		list = json_array();
	} else if (it.kind != VK_JSON) {
		tval_clear(&it);
		return rerr(c, s->line, "a macro is not iterable");
	} else if (!(list = tval_iter_list(it.j, c->err))) {
		tval_clear(&it);
		return rerr(c, s->line, "%s", c->err->msg);
	}
	tval_clear(&it);
	c->frame = base;
	if (s->cond) {
		/* `for x in xs if cond`: filter first so loop.length counts what is kept. */
		json_t *kept = json_array(), *item;
		size_t i;
		bool keep;
		json_array_foreach(list, i, item)
		{
			if (bind_targets(c, s, item) < 0 || eval_bool(c, s->cond, &keep) < 0) {
				json_decref(kept);
				goto out;
			}
			if (keep)
				json_array_append(kept, item);
		}
		scope_pop(c, base);
		json_decref(list);
		list = kept;
	}
	struct loop_state ls = {.length = json_array_size(list), .list = list};
	struct tval lv = {.kind = VK_LOOP, .p = &ls};
	scope_set(c, "loop", &lv);
	for (ls.index0 = 0; ls.index0 < ls.length; ls.index0++) {
		if (++c->loops > c->max_loop) {
			rerr(c, s->line, "more than %llu loop iterations",
			    (unsigned long long)c->max_loop);
			goto out;
		}
		if (bind_targets(c, s, json_array_get(list, ls.index0)) < 0 ||
		    exec_body(c, s->body) < 0)
			goto out;
	}
	if (ls.length == 0 && s->else_body) {
		scope_pop(c, base);
		if (exec_body(c, s->else_body) < 0)
			goto out;
	}
	r = 0;
out:
	scope_pop(c, base);
	c->frame = saved_frame;
	json_decref(list);
	return r;
}

/* Assign a value to set targets (unpacking a list across several names). */
static int
exec_assign(struct rctx *c, const struct snode *s, struct tval *v)
{
	if (s->ntargets == 1) {
		scope_set(c, s->targets[0], v);
		return 0;
	}
	int r = v->kind == VK_JSON ? bind_targets(c, s, v->j)
	                           : rerr(c, s->line, "cannot unpack this value");
	tval_clear(v);
	return r;
}

/* Find, compile (once per render) and run an included template. */
static int
exec_include(struct rctx *c, const struct snode *s)
{
	struct tval n;
	const struct template *t = NULL;
	char *text = NULL, *found = NULL;
	struct dr_error lerr;
	int r = -1;

	if (eval_json(c, s->expr, &n) < 0)
		return -1;
	if (!json_is_string(n.j)) {
		tval_clear(&n);
		return rerr(c, s->line, "include expects a template name");
	}
	const char *name = json_string_value(n.j);
	if (c->includes >= TEMPLATE_MAX_INCLUDE) {
		rerr(c, s->line, "includes nested deeper than %d (including '%s')",
		    TEMPLATE_MAX_INCLUDE, name);
		goto out;
	}
	for (struct include_cache *ic = c->cache; ic; ic = ic->next)
		if (strcmp(ic->name, name) == 0)
			t = ic->t;
	if (!t) {
		const struct template_opts *o = &c->root->opts;
		struct template *nt;
		if (!o->load) {
			if (s->ignore_missing)
				r = 0;
			else
				rerr(c, s->line, "cannot include '%s': no template loader", name);
			goto out;
		}
		if (o->load(o->load_ctx, name, &text, &found, &lerr) < 0) {
			if (s->ignore_missing)
				r = 0;
			else
				rerr(c, s->line, "cannot include '%s': %s", name, lerr.msg);
			goto out;
		}
		if (template_compile(found, text, o, &nt, c->err) < 0)
			goto out;
		struct include_cache *ic = xcalloc(1, sizeof *ic);
		ic->t = nt;
		ic->name = xstrdup(name);
		ic->next = c->cache;
		c->cache = ic;
		t = nt;
	}
	const char *saved_name = c->tname;
	size_t saved_frame = c->frame, base = c->nbinds;
	c->tname = t->name;
	c->frame = base;
	c->includes++;
	r = exec_body(c, t->root);
	c->includes--;
	scope_pop(c, base);
	c->frame = saved_frame;
	c->tname = saved_name;
out:
	free(text);
	free(found);
	tval_clear(&n);
	return r;
}

/* Run a statement list. */
static int
exec_body(struct rctx *c, const struct snode *s)
{
	struct tval v;
	bool t;

	for (; s; s = s->next) {
		switch (s->kind) {
		case S_TEXT:
			if (buf_add(c->out, s->text, s->len) < 0)
				return rerr(
				    c, s->line, "output larger than %zu bytes", c->out->max);
			break;
		case S_OUTPUT: {
			if (eval(c, s->expr, &v) < 0)
				return -1;
			int r = emit_value(c, &v, s->line);
			tval_clear(&v);
			if (r < 0)
				return -1;
			break;
		}
		case S_IF: {
			/* An else body may itself start with an if: only elif links chain. */
			const struct snode *b = s;
			for (;;) {
				if (eval_bool(c, b->expr, &t) < 0)
					return -1;
				if (t) {
					if (exec_body(c, b->body) < 0)
						return -1;
					break;
				}
				if (b->elif) {
					b = b->else_body;
					continue;
				}
				if (b->else_body && exec_body(c, b->else_body) < 0)
					return -1;
				break;
			}
			break;
		}
		case S_FOR:
			if (exec_for(c, s) < 0)
				return -1;
			break;
		case S_SET:
			if (eval(c, s->expr, &v) < 0 || exec_assign(c, s, &v) < 0)
				return -1;
			break;
		case S_SETBLOCK:
		case S_FILTERBLOCK: {
			json_t *j;
			if (exec_capture(c, s->body, &j) < 0)
				return -1;
			set_json(&v, j);
			v.safe = c->autoescape;
			if (s->expr) {
				/* Run the filter chain with the captured text as its innermost
				 * input. */
				const struct enode *chain[32];
				size_t n = 0;
				for (const struct enode *f = s->expr; f && n < nitems(chain);
				     f = f->a)
					chain[n++] = f;
				while (n-- > 0) {
					struct tval o;
					if (apply_filter(c, chain[n], &v, &o) < 0)
						return -1;
					v = o;
				}
			}
			if (s->kind == S_SETBLOCK) {
				scope_set(c, s->targets[0], &v);
				break;
			}
			int r = emit_value(c, &v, s->line);
			tval_clear(&v);
			if (r < 0)
				return -1;
			break;
		}
		case S_INCLUDE:
			if (exec_include(c, s) < 0)
				return -1;
			break;
		case S_MACRO:
			v = (struct tval){.kind = VK_MACRO, .p = s};
			scope_set(c, s->name, &v);
			break;
		}
	}
	return 0;
}

static void
rctx_init(struct rctx *c, const struct template *t, const json_t *vars, struct buf *out,
    struct dr_error *err)
{
	*c = (struct rctx){.root = t,
	    .tname = t->name,
	    .vars = json_is_object(vars) ? vars : NULL,
	    .out = out,
	    .err = err,
	    .lenient = t->opts.lenient,
	    .autoescape = t->opts.autoescape,
	    .max_loop = t->opts.max_loop ? t->opts.max_loop : TEMPLATE_MAX_LOOP};
}

static void
rctx_free(struct rctx *c)
{
	scope_pop(c, 0);
	free(c->binds);
	while (c->cache) {
		struct include_cache *n = c->cache->next;
		template_free(c->cache->t);
		free(c->cache->name);
		free(c->cache);
		c->cache = n;
	}
}

/* Render a compiled template. */
int
template_render(const struct template *t, const json_t *vars, char **ret, size_t *ret_len,
    struct dr_error *err)
{
	struct dr_error local;
	struct buf out = BUF_INIT(t->opts.max_output ? t->opts.max_output : TEMPLATE_MAX_OUTPUT);
	struct rctx c;
	int r;

	if (!err)
		err = &local;
	rctx_init(&c, t, vars, &out, err);
	r = exec_body(&c, t->root);
	rctx_free(&c);
	if (r < 0) {
		buf_free(&out);
		return -1;
	}
	if (ret_len)
		*ret_len = out.len;
	*ret = buf_steal(&out);
	return 0;
}

/* Compile and render a one-off string. */
int
template_render_string(const char *name, const char *text, const struct template_opts *opts,
    const json_t *vars, char **ret, struct dr_error *err)
{
	struct template *t;
	int r;

	if (template_compile(name, text, opts, &t, err) < 0)
		return -1;
	r = template_render(t, vars, ret, NULL, err);
	template_free(t);
	return r;
}

/* Evaluate a bare expression to a value. */
int
template_eval(const char *name, const char *expr, const struct template_opts *opts,
    const json_t *vars, json_t **ret, struct dr_error *err)
{
	struct dr_error local;
	struct template *t;
	struct buf out = BUF_INIT(TEMPLATE_MAX_OUTPUT);
	struct rctx c;
	struct tval v;
	int r;

	if (!err)
		err = &local;
	if (template_build(name, expr, opts, true, &t, err) < 0)
		return -1;
	rctx_init(&c, t, vars, &out, err);
	r = eval_json(&c, t->expr, &v);
	rctx_free(&c);
	buf_free(&out);
	template_free(t);
	if (r < 0)
		return -1;
	*ret = v.j;
	return 0;
}
