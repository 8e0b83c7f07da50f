/*
 * search.c - the search language of list endpoints, compiled to portable SQL.
 *
 *   name ~ web and hostgroup = k8s and status = installed
 *   errata.security > 0 or not (kind ^ (sync, publish))
 *   null? finished_at   set? owner   web  (a bare word: the resource's default fields)
 *
 * Operators: = != ~ (like; '*' is a wildcard, without one the value may appear
 * anywhere) !~ < > <= >= ^ (in a parenthesised list) !^ (not in); null? and set? test
 * for a missing value. Terms are joined with and (also '&', or nothing at all), or
 * ('|'), not ('!') and parentheses. Values are bare words or quoted ("..." or '...',
 * with backslash escapes).
 *
 * Each resource declares its fields (name, SQL column or subquery, type); the compiler
 * emits a boolean SQL expression with '?' placeholders and appends the values to a
 * params array, so nothing from the query is ever spliced into SQL text. Comparisons
 * against NULL follow what people mean: "owner != bob" includes jobs without an owner, and
 * so does "not owner = bob" (an unknown comparison counts as false before "not").
 */
#define LOG_COMPONENT "search"
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "webui/webui.h"

enum tok_kind {
	TOK_END,
	TOK_WORD, /* bare word */
	TOK_STRING, /* quoted */
	TOK_OP, /* = != ~ !~ < > <= >= ^ !^ */
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_COMMA,
	TOK_AND,
	TOK_OR,
	TOK_NOT,
	TOK_NULL, /* null? */
	TOK_SET, /* set? */
};

struct tok {
	enum tok_kind kind;
	char *text; /* word, string or operator */
	size_t col; /* 1-based column in the query */
};

struct parser {
	const char *q;
	size_t pos;
	struct tok tok; /* current token */
	const struct search_field *fields;
	size_t nfields;
	struct buf *out;
	json_t *params;
	struct dr_error *err;
	int depth;
	int terms;
};

/* Characters of a bare word: enough for host names, paths, versions and times. */
static bool
search_word_char(char c)
{
	return c != '\0' &&
	    (isalnum((unsigned char)c) || strchr("_.:/@*+-?%#", c) != NULL ||
	        (unsigned char)c >= 0x80);
}

static int search_fail(struct parser *p, size_t col, const char *fmt, ...) DR_PRINTF(3, 4);

/* Set the error as "search: column N: message". */
static int
search_fail(struct parser *p, size_t col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return dr_error_set(p->err, "search: column %zu: %s", col, msg);
}

/* Read the next token into p->tok. */
static int
search_next(struct parser *p)
{
	const char *q = p->q;
	struct buf b = BUF_INIT(SEARCH_QUERY_MAX);
	size_t start;
	char quote;

	free(p->tok.text);
	p->tok.text = NULL;
	while (q[p->pos] == ' ' || q[p->pos] == '\t' || q[p->pos] == '\n' || q[p->pos] == '\r')
		p->pos++;
	start = p->pos;
	p->tok.col = start + 1;
	if (q[start] == '\0') {
		p->tok.kind = TOK_END;
		return 0;
	}
	switch (q[start]) {
	case '(':
		p->tok.kind = TOK_LPAREN;
		p->pos++;
		return 0;
	case ')':
		p->tok.kind = TOK_RPAREN;
		p->pos++;
		return 0;
	case ',':
		p->tok.kind = TOK_COMMA;
		p->pos++;
		return 0;
	case '&':
		p->tok.kind = TOK_AND;
		p->pos += q[start + 1] == '&' ? 2 : 1;
		return 0;
	case '|':
		p->tok.kind = TOK_OR;
		p->pos += q[start + 1] == '|' ? 2 : 1;
		return 0;
	case '=':
	case '~':
	case '^':
		p->tok.kind = TOK_OP;
		p->tok.text = xstrndup(q + start, 1);
		p->pos++;
		return 0;
	case '<':
	case '>':
		p->tok.kind = TOK_OP;
		p->pos += q[start + 1] == '=' ? 2 : 1;
		p->tok.text = xstrndup(q + start, p->pos - start);
		return 0;
	case '!':
		if (q[start + 1] == '=' || q[start + 1] == '~' || q[start + 1] == '^') {
			p->tok.kind = TOK_OP;
			p->tok.text = xstrndup(q + start, 2);
			p->pos += 2;
		} else {
			p->tok.kind = TOK_NOT;
			p->pos++;
		}
		return 0;
	case '"':
	case '\'':
		quote = q[start];
		p->pos++;
		for (;;) {
			char c = q[p->pos];

			if (c == '\0') {
				buf_free(&b);
				return search_fail(p, start + 1, "unterminated quoted value");
			}
			p->pos++;
			if (c == quote)
				break;
			if (c == '\\' && q[p->pos] != '\0')
				c = q[p->pos++];
			buf_addc(&b, c);
		}
		p->tok.kind = TOK_STRING;
		p->tok.text = buf_steal(&b);
		return 0;
	default:
		break;
	}
	if (!search_word_char(q[start]))
		return search_fail(p, start + 1, "unexpected character '%c'", q[start]);
	while (search_word_char(q[p->pos]))
		p->pos++;
	p->tok.text = xstrndup(q + start, p->pos - start);
	p->tok.kind = TOK_WORD;
	if (strcasecmp(p->tok.text, "and") == 0)
		p->tok.kind = TOK_AND;
	else if (strcasecmp(p->tok.text, "or") == 0)
		p->tok.kind = TOK_OR;
	else if (strcasecmp(p->tok.text, "not") == 0)
		p->tok.kind = TOK_NOT;
	else if (strcasecmp(p->tok.text, "null?") == 0)
		p->tok.kind = TOK_NULL;
	else if (strcasecmp(p->tok.text, "set?") == 0)
		p->tok.kind = TOK_SET;
	return 0;
}

/* The field called name, or NULL. */
static const struct search_field *
search_field_find(const struct search_field *fields, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}

/* "name, kind, state" for messages. */
static void
search_field_names(const struct search_field *fields, size_t n, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && len + 1 < size; i++)
		len += (size_t)snprintf(
		    out + len, size - len, "%s%s", i > 0 ? ", " : "", fields[i].name);
}

/* A field named by the current token, or an error naming the known ones. */
static const struct search_field *
search_field_token(struct parser *p)
{
	const struct search_field *f;
	char names[512];

	if (p->tok.kind != TOK_WORD) {
		search_fail(p, p->tok.col, "expected a field name");
		return NULL;
	}
	f = search_field_find(p->fields, p->nfields, p->tok.text);
	if (f == NULL) {
		search_field_names(p->fields, p->nfields, names, sizeof names);
		search_fail(p, p->tok.col, "unknown field '%s' (known: %s)", p->tok.text, names);
	}
	return f;
}

/* Bind one value of field f's type onto params. */
static int
search_bind(struct parser *p, const struct search_field *f, const char *v, size_t col)
{
	long long n;
	time_t t;
	struct dr_error terr;

	switch (f->type) {
	case SEARCH_TEXT:
		json_array_append_new(p->params, json_string(v));
		return 0;
	case SEARCH_INT:
		if (str_to_ll(v, INT64_MIN, INT64_MAX, &n) < 0)
			return search_fail(p, col, "%s: '%s' is not a whole number", f->name, v);
		json_array_append_new(p->params, json_integer(n));
		return 0;
	case SEARCH_TIME:
		if (str_to_ll(v, INT64_MIN, INT64_MAX, &n) == 0) {
			json_array_append_new(p->params, json_integer(n));
			return 0;
		}
		if (tz_parse_time(v, "UTC", &t, &terr) < 0)
			return search_fail(p, col,
			    "%s: '%s' is neither Unix seconds nor an ISO-8601 time", f->name, v);
		json_array_append_new(p->params, json_integer(t));
		return 0;
	case SEARCH_BOOL:
		if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0)
			json_array_append_new(p->params, json_integer(1));
		else if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 ||
		    strcmp(v, "0") == 0)
			json_array_append_new(p->params, json_integer(0));
		else
			return search_fail(p, col, "%s: '%s' is not true or false", f->name, v);
		return 0;
	}
	return search_fail(p, col, "%s: unknown field type", f->name);
}

/* A LIKE pattern: '*' is the wildcard, or the value may appear anywhere. */
static char *
search_like_pattern(const char *v)
{
	struct buf b = BUF_INIT(0);
	bool star = strchr(v, '*') != NULL;

	if (!star)
		buf_addc(&b, '%');
	for (; *v != '\0'; v++) {
		if (*v == '%' || *v == '_' || *v == '\\')
			buf_addc(&b, '\\');
		buf_addc(&b, *v == '*' ? '%' : *v);
	}
	if (!star)
		buf_addc(&b, '%');
	return buf_steal(&b);
}

/* The condition of field op value onto out, with the value current (a list's ')'
 * current at the end); op is not negated for a multi-valued field. */
static int
search_condition(struct parser *p, const struct search_field *f, const char *op, size_t opcol)
{
	size_t n = 0;
	bool negate = op[0] == '!';

	if (strcmp(op, "^") == 0 || strcmp(op, "!^") == 0) {
		if (p->tok.kind != TOK_LPAREN)
			return search_fail(p, p->tok.col, "expected '(' after '%s'", op);
		buf_addf(
		    p->out, negate ? "(%s IS NULL OR %s NOT IN (" : "(%s IN (", f->sql, f->sql);
		for (;;) {
			if (search_next(p) < 0)
				return -1;
			if (p->tok.kind != TOK_WORD && p->tok.kind != TOK_STRING)
				return search_fail(p, p->tok.col, "expected a value in the list");
			if (++n > SEARCH_LIST_MAX)
				return search_fail(p, p->tok.col, "more than %d values in a list",
				    SEARCH_LIST_MAX);
			if (search_bind(p, f, p->tok.text, p->tok.col) < 0)
				return -1;
			buf_adds(p->out, n > 1 ? ", ?" : "?");
			if (search_next(p) < 0)
				return -1;
			if (p->tok.kind == TOK_RPAREN)
				break;
			if (p->tok.kind != TOK_COMMA)
				return search_fail(
				    p, p->tok.col, "expected ',' or ')' in the list");
		}
		buf_adds(p->out, "))");
		return 0;
	}
	if (p->tok.kind != TOK_WORD && p->tok.kind != TOK_STRING)
		return search_fail(p, p->tok.col, "expected a value after '%s'", op);
	if (strcmp(op, "~") == 0 || strcmp(op, "!~") == 0) {
		_cleanup_free_ char *pattern = NULL;

		if (f->type != SEARCH_TEXT)
			return search_fail(
			    p, opcol, "%s is not text: '%s' does not apply", f->name, op);
		pattern = search_like_pattern(p->tok.text);
		json_array_append_new(p->params, json_string(pattern));
		if (negate)
			buf_addf(p->out,
			    "(%s IS NULL OR NOT (LOWER(%s) LIKE LOWER(?) ESCAPE '\\'))", f->sql,
			    f->sql);
		else
			buf_addf(p->out, "(LOWER(%s) LIKE LOWER(?) ESCAPE '\\')", f->sql);
		return 0;
	}
	if (f->type == SEARCH_BOOL && strcmp(op, "=") != 0 && strcmp(op, "!=") != 0)
		return search_fail(p, opcol, "%s is true or false: only = and != apply", f->name);
	if (search_bind(p, f, p->tok.text, p->tok.col) < 0)
		return -1;
	if (strcmp(op, "!=") == 0)
		buf_addf(p->out, "(%s IS NULL OR %s <> ?)", f->sql, f->sql);
	else
		buf_addf(p->out, "(%s %s ?)", f->sql, op);
	return 0;
}

/* field op value, with the field already read and the operator current. */
static int
search_comparison(struct parser *p, const struct search_field *f)
{
	_cleanup_free_ char *op = xstrdup(p->tok.text);
	size_t opcol = p->tok.col;

	if (search_next(p) < 0)
		return -1;
	if (f->multi == NULL) {
		if (search_condition(p, f, op, opcol) < 0)
			return -1;
		return search_next(p);
	}
	/* Any value matches; a negation: no value matches the positive operator. */
	if (f->in_expr != NULL && op[0] == '!')
		buf_addf(p->out, "(%s IS NULL OR %s NOT IN (SELECT %s %s AND ", f->in_expr,
		    f->in_expr, f->in_col, f->multi);
	else if (f->in_expr != NULL)
		buf_addf(p->out, "(%s IN (SELECT %s %s AND ", f->in_expr, f->in_col, f->multi);
	else
		buf_addf(
		    p->out, "(%sEXISTS (SELECT 1 %s AND ", op[0] == '!' ? "NOT " : "", f->multi);
	if (search_condition(p, f, op[0] == '!' ? op + 1 : op, opcol) < 0)
		return -1;
	buf_adds(p->out, "))");
	return search_next(p);
}

/* A bare value: like-match on every default field. */
static int
search_bare(struct parser *p)
{
	_cleanup_free_ char *pattern = NULL;
	size_t i, n = 0;

	for (i = 0; i < p->nfields; i++) {
		if (!(p->fields[i].flags & SEARCH_DEFAULT))
			continue;
		if (pattern == NULL)
			pattern = search_like_pattern(p->tok.text);
		buf_adds(p->out, n++ == 0 ? "(" : " OR ");
		if (p->fields[i].in_expr != NULL)
			buf_addf(p->out,
			    "%s IN (SELECT %s %s AND LOWER(%s) LIKE LOWER(?) ESCAPE '\\')",
			    p->fields[i].in_expr, p->fields[i].in_col, p->fields[i].multi,
			    p->fields[i].sql);
		else if (p->fields[i].multi != NULL)
			buf_addf(p->out,
			    "EXISTS (SELECT 1 %s AND LOWER(%s) LIKE LOWER(?) ESCAPE '\\')",
			    p->fields[i].multi, p->fields[i].sql);
		else
			buf_addf(p->out, "LOWER(%s) LIKE LOWER(?) ESCAPE '\\'", p->fields[i].sql);
		json_array_append_new(p->params, json_string(pattern));
	}
	if (n == 0)
		return search_fail(
		    p, p->tok.col, "'%s': expected a field name and an operator", p->tok.text);
	buf_adds(p->out, ")");
	return search_next(p);
}

static int search_or(struct parser *p);

/* primary := ( expr ) | null? field | set? field | field op value | value */
static int
search_primary(struct parser *p)
{
	const struct search_field *f;
	enum tok_kind k = p->tok.kind;

	if (++p->terms > SEARCH_TERMS_MAX)
		return search_fail(p, p->tok.col, "more than %d terms", SEARCH_TERMS_MAX);
	if (k == TOK_LPAREN) {
		size_t col = p->tok.col;

		if (search_next(p) < 0)
			return -1;
		buf_addc(p->out, '(');
		if (search_or(p) < 0)
			return -1;
		if (p->tok.kind != TOK_RPAREN)
			return search_fail(
			    p, p->tok.col, "expected ')' to close the '(' at column %zu", col);
		buf_addc(p->out, ')');
		return search_next(p);
	}
	if (k == TOK_NULL || k == TOK_SET) {
		if (search_next(p) < 0 || (f = search_field_token(p)) == NULL)
			return -1;
		if (f->in_expr != NULL && k == TOK_SET)
			buf_addf(p->out, "(%s IN (SELECT %s %s AND %s IS NOT NULL))", f->in_expr,
			    f->in_col, f->multi, f->sql);
		else if (f->in_expr != NULL)
			buf_addf(p->out,
			    "(%s IS NULL OR %s NOT IN (SELECT %s %s AND %s IS NOT NULL))",
			    f->in_expr, f->in_expr, f->in_col, f->multi, f->sql);
		else if (f->multi != NULL)
			buf_addf(p->out, "(%sEXISTS (SELECT 1 %s AND %s IS NOT NULL))",
			    k == TOK_SET ? "" : "NOT ", f->multi, f->sql);
		else
			buf_addf(p->out, "(%s IS %sNULL)", f->sql, k == TOK_SET ? "NOT " : "");
		return search_next(p);
	}
	if (k == TOK_STRING)
		return search_bare(p);
	if (k != TOK_WORD)
		return search_fail(
		    p, p->tok.col, p->tok.kind == TOK_END ? "unexpected end" : "expected a term");
	/* A word followed by an operator is a field; otherwise it is a bare value. */
	{
		const char *q = p->q;
		size_t i = p->pos;
		bool op;

		while (q[i] == ' ' || q[i] == '\t')
			i++;
		op = q[i] != '\0' &&
		    (strchr("=~^<>", q[i]) != NULL ||
		        (q[i] == '!' && q[i + 1] != '\0' && strchr("=~^", q[i + 1]) != NULL));
		if (!op)
			return search_bare(p);
	}
	if ((f = search_field_token(p)) == NULL || search_next(p) < 0)
		return -1;
	return search_comparison(p, f);
}

/* not := (not | !) not | primary */
static int
search_not(struct parser *p)
{
	int r;

	if (p->tok.kind != TOK_NOT)
		return search_primary(p);
	if (++p->depth > SEARCH_DEPTH_MAX)
		return search_fail(p, p->tok.col, "nested more than %d deep", SEARCH_DEPTH_MAX);
	if (search_next(p) < 0)
		return -1;
	buf_adds(p->out, "(NOT COALESCE(");
	r = search_not(p);
	buf_adds(p->out, ", 0))");
	p->depth--;
	return r;
}

/* and := not ((and | &)? not)* */
static int
search_and(struct parser *p)
{
	if (search_not(p) < 0)
		return -1;
	for (;;) {
		if (p->tok.kind == TOK_AND) {
			if (search_next(p) < 0)
				return -1;
		} else if (p->tok.kind == TOK_END || p->tok.kind == TOK_OR ||
		    p->tok.kind == TOK_RPAREN) {
			return 0;
		}
		buf_adds(p->out, " AND ");
		if (search_not(p) < 0)
			return -1;
	}
}

/* or := and ((or | '|') and)* */
static int
search_or(struct parser *p)
{
	if (++p->depth > SEARCH_DEPTH_MAX)
		return search_fail(p, p->tok.col, "nested more than %d deep", SEARCH_DEPTH_MAX);
	if (search_and(p) < 0)
		return -1;
	while (p->tok.kind == TOK_OR) {
		if (search_next(p) < 0)
			return -1;
		buf_adds(p->out, " OR ");
		if (search_and(p) < 0)
			return -1;
	}
	p->depth--;
	return 0;
}

/* Compile a query to a SQL condition on out, its values appended to params. */
int
search_compile(const char *query, const struct search_field *fields, size_t nfields,
    struct buf *out, json_t *params, struct dr_error *err)
{
	struct parser p = {.q = query, .fields = fields, .nfields = nfields, .err = err};
	struct buf sql = BUF_INIT(SEARCH_SQL_MAX);
	_cleanup_json_ json_t *values = json_array();
	int r;

	if (strlen(query) > SEARCH_QUERY_MAX)
		return dr_error_set(err, "search: longer than %d characters", SEARCH_QUERY_MAX);
	p.out = &sql;
	p.params = values;
	r = search_next(&p);
	if (r == 0 && p.tok.kind == TOK_END) {
		buf_adds(&sql, "1 = 1");
	} else if (r == 0) {
		buf_addc(&sql, '(');
		r = search_or(&p);
		if (r == 0 && p.tok.kind != TOK_END)
			r = search_fail(&p, p.tok.col,
			    p.tok.kind == TOK_RPAREN ? "')' without '('" : "unexpected text");
		buf_addc(&sql, ')');
	}
	free(p.tok.text);
	if (r == 0 && sql.len + 1 >= SEARCH_SQL_MAX)
		r = dr_error_set(err, "search: too complex");
	if (r == 0 && buf_add(out, sql.data, sql.len) < 0)
		r = dr_error_set(err, "search: too complex");
	if (r == 0)
		json_array_extend(params, values);
	buf_free(&sql);
	return r;
}

/* "field [asc|desc][, field …]" to an ORDER BY list on out. */
int
search_order(const char *order, const struct search_field *fields, size_t nfields, struct buf *out,
    struct dr_error *err)
{
	_cleanup_free_ char *copy = NULL;
	char *p, *item, names[512];
	size_t n = 0;

	if (strlen(order) > SEARCH_QUERY_MAX)
		return dr_error_set(err, "order: too long");
	copy = xstrdup(order);
	p = copy;
	while ((item = strsep(&p, ",")) != NULL) {
		char *name = strtok_r(item, " \t", &item), *dir = strtok_r(NULL, " \t", &item);
		const struct search_field *f;

		if (name == NULL)
			return dr_error_set(err, "order: expected 'field [asc|desc]'");
		if (strtok_r(NULL, " \t", &item) != NULL ||
		    (dir != NULL && strcasecmp(dir, "asc") != 0 && strcasecmp(dir, "desc") != 0))
			return dr_error_set(
			    err, "order: '%s': expected 'field [asc|desc]'", order);
		f = search_field_find(fields, nfields, name);
		if (f == NULL) {
			search_field_names(fields, nfields, names, sizeof names);
			return dr_error_set(
			    err, "order: unknown field '%s' (known: %s)", name, names);
		}
		if (++n > 4)
			return dr_error_set(err, "order: at most 4 fields");
		buf_adds(out, n > 1 ? ", " : "");
		if (f->in_expr != NULL)
			buf_addf(out, "(SELECT min(%s) %s AND %s = %s)", f->sql, f->multi,
			    f->in_col, f->in_expr);
		else if (f->multi != NULL)
			buf_addf(out, "(SELECT min(%s) %s)", f->sql, f->multi);
		else
			buf_adds(out, f->sql);
		buf_addf(out, " %s", dir != NULL && strcasecmp(dir, "desc") == 0 ? "DESC" : "ASC");
	}
	return 0;
}
