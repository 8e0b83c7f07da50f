/* yaml.c - YAML (libyaml) into json_t with a source map, and PyYAML-compatible dumping. */
#define LOG_COMPONENT "yaml"
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <strings.h>

#include <yaml.h>

#include "core/core.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

/* One place in the source map: a node (key NULL) or a key of a mapping node. */
struct yaml_loc {
	const void *node;
	char *key;
	unsigned line, col;
};

struct yaml_src {
	char *name;
	json_t *root;
	struct yaml_loc *slots; /* open addressing, cap is a power of two */
	size_t n, cap;
};

/* Mix a node pointer and an optional key into a slot index. */
static size_t
src_hash(const void *node, const char *key)
{
	uint64_t h = (uint64_t)(uintptr_t)node * 0x9E3779B97F4A7C15ull;

	for (; key != NULL && *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 0x100000001B3ull;
	return (size_t)(h ^ (h >> 29));
}

/* The slot holding (node, key), or the empty slot where it would go. */
static struct yaml_loc *
src_slot(const struct yaml_src *src, const void *node, const char *key)
{
	size_t mask = src->cap - 1, i = src_hash(node, key) & mask;
	struct yaml_loc *l;

	for (;; i = (i + 1) & mask) {
		l = &src->slots[i];
		if (l->node == NULL)
			return l;
		if (l->node != node)
			continue;
		if (key == NULL ? l->key == NULL : l->key != NULL && strcmp(l->key, key) == 0)
			return l;
	}
}

/* Double the table and re-insert every entry. */
static void
src_grow(struct yaml_src *src)
{
	struct yaml_loc *old = src->slots, *l;
	size_t oldcap = src->cap, i;

	src->cap = oldcap ? oldcap * 2 : 256;
	src->slots = xcalloc(src->cap, sizeof *src->slots);
	for (i = 0; i < oldcap; i++) {
		if (old[i].node == NULL)
			continue;
		l = src_slot(src, old[i].node, old[i].key);
		*l = old[i];
	}
	free(old);
}

/* Record where node (or node's key) starts. Singletons have no place of their own. */
static void
src_put(struct yaml_src *src, const json_t *node, const char *key, unsigned line, unsigned col)
{
	struct yaml_loc *l;

	if (key == NULL && (json_is_true(node) || json_is_false(node) || json_is_null(node)))
		return;
	if ((src->n + 1) * 2 > src->cap)
		src_grow(src);
	l = src_slot(src, node, key);
	if (l->node == NULL) {
		l->node = node;
		l->key = key != NULL ? xstrdup(key) : NULL;
		src->n++;
	}
	l->line = line;
	l->col = col;
}

/* Copy the place of (from, key) to (to, key), when known. */
static void
src_copy(struct yaml_src *src, const json_t *from, const json_t *to, const char *key)
{
	unsigned line, col;

	if (yaml_src_find(src, from, key, &line, &col))
		src_put(src, to, key, line, col);
}

/* Find where a node or a key of a mapping starts. */
bool
yaml_src_find(const struct yaml_src *src, const json_t *node, const char *key, unsigned *ret_line,
    unsigned *ret_col)
{
	const struct yaml_loc *l;

	if (src == NULL || src->cap == 0 || node == NULL)
		return false;
	l = src_slot(src, node, key);
	if (l->node == NULL)
		return false;
	*ret_line = l->line;
	*ret_col = l->col;
	return true;
}

/* "name:line:col" for node, or the name alone. */
const char *
yaml_src_where(const struct yaml_src *src, const json_t *node, char *buf, size_t size)
{
	unsigned line, col;

	if (src == NULL)
		str_copy(buf, "(unknown)", size);
	else if (yaml_src_find(src, node, NULL, &line, &col))
		snprintf(buf, size, "%s:%u:%u", src->name, line, col);
	else
		str_copy(buf, src->name, size);
	return buf;
}

/* "name:line:col" for a key of a mapping, falling back to the mapping's place. */
const char *
yaml_src_where_key(
    const struct yaml_src *src, const json_t *obj, const char *key, char *buf, size_t size)
{
	unsigned line, col;

	if (src != NULL && key != NULL && yaml_src_find(src, obj, key, &line, &col)) {
		snprintf(buf, size, "%s:%u:%u", src->name, line, col);
		return buf;
	}
	return yaml_src_where(src, obj, buf, size);
}

/* Free a source map and drop its reference to the document. */
void
yaml_src_free(struct yaml_src *src)
{
	size_t i;

	if (src == NULL)
		return;
	for (i = 0; i < src->cap; i++)
		free(src->slots[i].key);
	free(src->slots);
	json_decref(src->root);
	free(src->name);
	free(src);
}

/*
 * Implicit resolution of plain scalars: PyYAML's Resolver regexes (resolver.py), in its
 * order, as POSIX extended regexes. The first that matches decides the type; the loader
 * and the dumper share them, so what we dump as a plain scalar loads back as the same type.
 */
enum yaml_kind {
	KIND_STR,
	KIND_BOOL,
	KIND_FLOAT,
	KIND_INT,
	KIND_MERGE,
	KIND_NULL,
	KIND_TIMESTAMP,
	KIND_VALUE,
};

static const struct {
	enum yaml_kind kind;
	const char *re;
} yaml_resolvers[] = {
    {KIND_BOOL,
        "^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|"
        "OFF)$"},
    {KIND_FLOAT,
        "^([-+]?([0-9][0-9_]*)\\.[0-9_]*([eE][-+][0-9]+)?"
        "|\\.[0-9][0-9_]*([eE][-+][0-9]+)?"
        "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*"
        "|[-+]?\\.(inf|Inf|INF)"
        "|\\.(nan|NaN|NAN))$"},
    {KIND_INT,
        "^([-+]?0b[0-1_]+"
        "|[-+]?0[0-7_]+"
        "|[-+]?(0|[1-9][0-9_]*)"
        "|[-+]?0x[0-9a-fA-F_]+"
        "|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$"},
    {KIND_MERGE, "^<<$"},
    {KIND_NULL, "^(~|null|Null|NULL|)$"},
    {KIND_TIMESTAMP,
        "^([0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
        "|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
        "([Tt]|[ \t]+)[0-9][0-9]?"
        ":[0-9][0-9]:[0-9][0-9](\\.[0-9]*)?"
        "([ \t]*(Z|[-+][0-9][0-9]?(:[0-9][0-9])?))?)$"},
    {KIND_VALUE, "^=$"},
};

static regex_t yaml_resolver_re[nitems(yaml_resolvers)];
static pthread_once_t yaml_resolver_once = PTHREAD_ONCE_INIT;

/* Compile the resolver table once per process. */
static void
yaml_resolver_init(void)
{
	size_t i;

	for (i = 0; i < nitems(yaml_resolvers); i++)
		if (regcomp(&yaml_resolver_re[i], yaml_resolvers[i].re, REG_EXTENDED | REG_NOSUB))
			fatalx("yaml: resolver %zu does not compile", i);
}

/* The type PyYAML gives a plain scalar with this text. */
static enum yaml_kind
yaml_resolve(const char *s, size_t len)
{
	size_t i;

	if (strlen(s) != len)
		return KIND_STR;
	pthread_once(&yaml_resolver_once, yaml_resolver_init);
	for (i = 0; i < nitems(yaml_resolvers); i++)
		if (regexec(&yaml_resolver_re[i], s, 0, NULL, 0) == 0)
			return yaml_resolvers[i].kind;
	return KIND_STR;
}

/*
 * Python's repr() of a float: the shortest digits that read back to the same double, fixed
 * notation when the decimal point falls within 16 places, otherwise "1e+16" style.
 */
static void
yaml_float_repr(double d, char *out, size_t size)
{
	char tmp[64], digits[32], *p;
	int prec, ndig = 0, exp, decpt, i;
	struct buf b = BUF_INIT(0);

	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	p = tmp;
	if (*p == '-') {
		buf_addc(&b, '-');
		p++;
	}
	for (; *p != 'e' && *p != '\0'; p++)
		if (isdigit((unsigned char)*p) && ndig < (int)sizeof digits - 1)
			digits[ndig++] = *p;
	exp = *p == 'e' ? atoi(p + 1) : 0;
	while (ndig > 1 && digits[ndig - 1] == '0')
		ndig--;
	digits[ndig] = '\0';
	decpt = exp + 1;
	if (decpt > -4 && decpt <= 16) {
		if (decpt <= 0) {
			buf_adds(&b, "0.");
			for (i = decpt; i < 0; i++)
				buf_addc(&b, '0');
			buf_adds(&b, digits);
		} else if (decpt >= ndig) {
			buf_adds(&b, digits);
			for (i = ndig; i < decpt; i++)
				buf_addc(&b, '0');
			buf_adds(&b, ".0");
		} else {
			buf_add(&b, digits, (size_t)decpt);
			buf_addc(&b, '.');
			buf_adds(&b, digits + decpt);
		}
	} else {
		buf_addc(&b, digits[0]);
		if (ndig > 1)
			buf_addf(&b, ".%s", digits + 1);
		buf_addf(&b, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
	}
	str_copy(out, b.data, size);
	buf_free(&b);
}

/* One anchor of the current document. */
struct yaml_anchor {
	json_t *node;
	size_t nodes; /* nodes in it, aliases expanded */
	unsigned height; /* levels of nesting in it */
};

/* A sequence or mapping being built. */
struct yaml_frame {
	json_t *node;
	char *anchor;
	char *key; /* mapping: the key waiting for its value */
	unsigned key_line, key_col;
	bool key_is_merge;
	json_t *merges; /* mappings to merge, lowest precedence first */
	size_t nodes;
	unsigned height;
	yaml_mark_t mark;
};

struct yaml_loader {
	const char *name;
	unsigned flags;
	yaml_parser_t parser;
	struct yaml_src *src;
	struct yaml_frame *stack;
	size_t depth;
	json_t *anchor_index; /* name -> index into anchors */
	struct yaml_anchor *anchors;
	size_t nanchors;
	size_t alias_nodes;
	json_t *docs;
	json_t *doc;
	struct dr_error *err;
};

/* Set err to "name:line:col: message". */
static int DR_PRINTF(3, 4)
    yaml_fail(struct yaml_loader *ld, yaml_mark_t mark, const char *fmt, ...)
{
	char msg[DR_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return dr_error_set(
	    ld->err, "%s:%zu:%zu: %s", ld->name, mark.line + 1, mark.column + 1, msg);
}

/* Turn libyaml's parser error into ours. */
static int
yaml_fail_parser(struct yaml_loader *ld)
{
	yaml_parser_t *p = &ld->parser;
	const char *problem = p->problem ? p->problem : "cannot parse";

	if (p->error == YAML_MEMORY_ERROR)
		fatalx("yaml: out of memory");
	if (p->error == YAML_READER_ERROR)
		return dr_error_set(
		    ld->err, "%s: %s at byte %zu", ld->name, problem, p->problem_offset);
	if (p->context != NULL)
		return yaml_fail(ld, p->problem_mark, "%s (%s at line %zu, column %zu)", problem,
		    p->context, p->context_mark.line + 1, p->context_mark.column + 1);
	return yaml_fail(ld, p->problem_mark, "%s", problem);
}

/* Python's str() of a scalar, for a mapping key that is not a string; caller frees. */
static char *
yaml_key_text(const json_t *v)
{
	char num[64];

	switch (json_typeof(v)) {
	case JSON_STRING:
		return xstrdup(json_string_value(v));
	case JSON_INTEGER:
		return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		yaml_float_repr(json_real_value(v), num, sizeof num);
		return xstrdup(num);
	case JSON_TRUE:
		return xstrdup("True");
	case JSON_FALSE:
		return xstrdup("False");
	case JSON_NULL:
		return xstrdup("None");
	default:
		return NULL;
	}
}

/* PyYAML's construct_yaml_int; -1 on text it would refuse or a value past 64 bits. */
static int
yaml_construct_int(const char *text, long long *ret)
{
	char *s = xstrdup(text), *d = s, *p, *part, *end;
	long long v = 0, sign = 1, n;
	int base = 10, rc = -1;

	for (p = s; *p != '\0'; p++)
		if (*p != '_')
			*d++ = *p;
	*d = '\0';
	p = s;
	if (*p == '-' || *p == '+')
		sign = *p++ == '-' ? -1 : 1;
	if (strcmp(p, "0") == 0) {
		rc = 0;
		goto out;
	}
	if (strchr(p, ':') != NULL) {
		for (part = strtok(p, ":"); part != NULL; part = strtok(NULL, ":")) {
			if (str_to_ll(part, 0, LLONG_MAX, &n) < 0 || v > (LLONG_MAX - n) / 60)
				goto out;
			v = v * 60 + n;
		}
		rc = 0;
		goto out;
	}
	if (str_has_prefix(p, "0b"))
		base = 2, p += 2;
	else if (str_has_prefix(p, "0x"))
		base = 16, p += 2;
	else if (*p == '0')
		base = 8;
	if (*p == '\0' || *p == '-' || *p == '+' || isspace((unsigned char)*p))
		goto out;
	errno = 0;
	v = strtoll(p, &end, base);
	if (errno == 0 && *end == '\0')
		rc = 0;
out:
	if (rc == 0)
		*ret = sign * v;
	free(s);
	return rc;
}

/* PyYAML's construct_yaml_float; -1 on junk. *ret may be infinite or NaN. */
static int
yaml_construct_float(const char *text, double *ret)
{
	char *s = xstrdup(text), *d = s, *p, *part, *end;
	double v = 0, sign = 1;
	int rc = -1;

	for (p = s; *p != '\0'; p++)
		if (*p != '_')
			*d++ = (char)tolower((unsigned char)*p);
	*d = '\0';
	p = s;
	if (*p == '-' || *p == '+')
		sign = *p++ == '-' ? -1 : 1;
	if (strcmp(p, ".inf") == 0) {
		v = INFINITY;
	} else if (strcmp(p, ".nan") == 0) {
		v = NAN;
	} else if (strchr(p, ':') != NULL) {
		for (part = strtok(p, ":"); part != NULL; part = strtok(NULL, ":")) {
			double n = strtod(part, &end);
			if (*end != '\0' || end == part)
				goto out;
			v = v * 60 + n;
		}
	} else {
		if (*p == '\0' || isspace((unsigned char)*p) || *p == '-' || *p == '+')
			goto out;
		v = strtod(p, &end);
		if (*end != '\0')
			goto out;
	}
	rc = 0;
	*ret = sign * v;
out:
	free(s);
	return rc;
}

/* The tag of a scalar or collection event, NULL when it has none or the non-specific "!". */
static const char *
yaml_event_tag(const unsigned char *tag)
{
	if (tag == NULL || strcmp((const char *)tag, "!") == 0)
		return NULL;
	return (const char *)tag;
}

/* Refuse tags we cannot honour; 0 when tag is fine for a node of this sort. */
static int
yaml_check_special_tag(struct yaml_loader *ld, const char *tag, yaml_mark_t mark)
{
	if (strcmp(tag, "!vault") == 0 || strcmp(tag, "!vault-encrypted") == 0)
		return yaml_fail(ld, mark, "vault-encrypted values are not supported");
	return yaml_fail(ld, mark, "could not determine a constructor for the tag '%s'", tag);
}

/* Build the json_t for a scalar event. *ret_merge says it is the merge key "<<". */
static int
yaml_scalar(struct yaml_loader *ld, yaml_event_t *ev, json_t **ret, bool *ret_merge)
{
	const char *text = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = yaml_event_tag(ev->data.scalar.tag);
	enum yaml_kind kind = KIND_STR;
	long long iv;
	double dv;

	*ret_merge = false;
	if (tag == NULL && ev->data.scalar.plain_implicit)
		kind = yaml_resolve(text, len);
	else if (tag == NULL || strcmp(tag, TAG_PREFIX "str") == 0 || strcmp(tag, "!unsafe") == 0)
		kind = KIND_STR;
	else if (strcmp(tag, TAG_PREFIX "int") == 0)
		kind = KIND_INT;
	else if (strcmp(tag, TAG_PREFIX "float") == 0)
		kind = KIND_FLOAT;
	else if (strcmp(tag, TAG_PREFIX "bool") == 0)
		kind = KIND_BOOL;
	else if (strcmp(tag, TAG_PREFIX "null") == 0)
		kind = KIND_NULL;
	else if (strcmp(tag, TAG_PREFIX "timestamp") == 0)
		kind = KIND_TIMESTAMP;
	else
		return yaml_check_special_tag(ld, tag, ev->start_mark);

	switch (kind) {
	case KIND_BOOL:
		if (strcasecmp(text, "yes") == 0 || strcasecmp(text, "true") == 0 ||
		    strcasecmp(text, "on") == 0)
			*ret = json_true();
		else if (strcasecmp(text, "no") == 0 || strcasecmp(text, "false") == 0 ||
		    strcasecmp(text, "off") == 0)
			*ret = json_false();
		else
			return yaml_fail(ld, ev->start_mark, "'%s' is not a boolean", text);
		return 0;
	case KIND_NULL:
		*ret = json_null();
		return 0;
	case KIND_INT:
		if (yaml_resolve(text, len) != KIND_INT || yaml_construct_int(text, &iv) < 0)
			return yaml_fail(ld, ev->start_mark,
			    "'%s' is not an integer (or does not fit in 64 bits)", text);
		*ret = json_integer(iv);
		return 0;
	case KIND_FLOAT:
		if (yaml_construct_float(text, &dv) < 0)
			return yaml_fail(ld, ev->start_mark, "'%s' is not a number", text);
		/* JSON has no infinity or NaN: such values stay the text they were. */
		*ret = isfinite(dv) ? json_real(dv) : json_stringn(text, len);
		return 0;
	case KIND_MERGE:
		*ret_merge = true;
		break;
	case KIND_STR:
	case KIND_TIMESTAMP:
	case KIND_VALUE:
		break;
	}
	*ret = json_stringn(text, len);
	if (*ret == NULL)
		return yaml_fail(ld, ev->start_mark, "scalar is not valid UTF-8");
	return 0;
}

/* Copy an anchored node for an alias, with its places. */
static json_t *
yaml_copy(struct yaml_src *src, json_t *v)
{
	json_t *c, *val;
	const char *key;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		c = json_object();
		json_object_foreach(v, key, val)
		{
			json_object_set_new(c, key, yaml_copy(src, val));
			src_copy(src, v, c, key);
		}
		break;
	case JSON_ARRAY:
		c = json_array();
		json_array_foreach(v, i, val) json_array_append_new(c, yaml_copy(src, val));
		break;
	case JSON_STRING:
		c = json_stringn(json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		c = json_integer(json_integer_value(v));
		break;
	case JSON_REAL:
		c = json_real(json_real_value(v));
		break;
	default:
		return json_incref(v);
	}
	if (c == NULL)
		fatalx("yaml: out of memory");
	src_copy(src, v, c, NULL);
	return c;
}

/* Remember an anchor of the current document (a later definition replaces it). */
static void
yaml_anchor_add(
    struct yaml_loader *ld, const char *name, json_t *node, size_t nodes, unsigned height)
{
	struct yaml_anchor *a;

	ld->anchors = xreallocarray(ld->anchors, ld->nanchors + 1, sizeof *ld->anchors);
	a = &ld->anchors[ld->nanchors];
	a->node = json_incref(node);
	a->nodes = nodes;
	a->height = height;
	json_object_set_new(ld->anchor_index, name, json_integer((json_int_t)ld->nanchors));
	ld->nanchors++;
}

/* Forget the anchors of the previous document. */
static void
yaml_anchors_clear(struct yaml_loader *ld)
{
	size_t i;

	for (i = 0; i < ld->nanchors; i++)
		json_decref(ld->anchors[i].node);
	free(ld->anchors);
	ld->anchors = NULL;
	ld->nanchors = 0;
	json_object_clear(ld->anchor_index);
}

/* Fold a "<<" value into the pending merges of mapping frame f. */
static int
yaml_merge_add(struct yaml_loader *ld, struct yaml_frame *f, json_t *value, yaml_mark_t mark)
{
	json_t *m;
	size_t i;

	if (f->merges == NULL)
		f->merges = json_array();
	if (json_is_object(value))
		return json_array_append(f->merges, value);
	if (!json_is_array(value))
		return yaml_fail(ld, mark,
		    "expected a mapping or list of mappings for merging, but found %s",
		    json_is_string(value) ? "a string" : "a scalar");
	json_array_foreach(value, i, m) if (!json_is_object(m)) return yaml_fail(
	    ld, mark, "expected a mapping for merging, but found a list item that is not");
	/* Earlier mappings in the list win, so they are applied last. */
	for (i = json_array_size(value); i > 0; i--)
		json_array_append(f->merges, json_array_get(value, i - 1));
	return 0;
}

/*
 * Apply a mapping's merges as PyYAML's flatten_mapping does: merged keys come first, in the
 * order merged, and explicit keys win. The object keeps its pointer (the source map knows
 * it); merged keys take their places from the mapping they came from.
 */
static void
yaml_merge_apply(struct yaml_loader *ld, struct yaml_frame *f)
{
	json_t *tmp = json_object(), *m, *val;
	const char *key;
	size_t i;

	json_array_foreach(f->merges, i, m)
	{
		json_object_foreach(m, key, val)
		{
			json_object_set(tmp, key, val);
			if (json_object_get(f->node, key) == NULL)
				src_copy(ld->src, m, f->node, key);
		}
	}
	json_object_update(tmp, f->node);
	json_object_clear(f->node);
	json_object_update(f->node, tmp);
	json_decref(tmp);
}

/* Attach a finished node (reference stolen) to its parent or make it the document root. */
static int
yaml_attach(struct yaml_loader *ld, json_t *node, size_t nodes, unsigned height,
    const char *anchor, bool is_merge, yaml_mark_t mark)
{
	struct yaml_frame *f;
	int rc = 0;

	if (anchor != NULL)
		yaml_anchor_add(ld, anchor, node, nodes, height);
	if (ld->depth == 0) {
		json_decref(ld->doc);
		ld->doc = node;
		return 0;
	}
	f = &ld->stack[ld->depth - 1];
	f->nodes += nodes;
	if (height + 1 > f->height)
		f->height = height + 1;
	if (json_is_array(f->node)) {
		json_array_append_new(f->node, node);
		return 0;
	}
	if (f->key == NULL) {
		f->key = yaml_key_text(node);
		if (f->key == NULL) {
			json_decref(node);
			return yaml_fail(ld, mark, "a mapping key must be a scalar");
		}
		if (json_is_string(node) && strlen(f->key) != json_string_length(node)) {
			json_decref(node);
			free(f->key);
			f->key = NULL;
			return yaml_fail(ld, mark, "a mapping key may not contain a NUL byte");
		}
		f->key_line = (unsigned)mark.line + 1;
		f->key_col = (unsigned)mark.column + 1;
		f->key_is_merge = is_merge;
		json_decref(node);
		return 0;
	}
	if (f->key_is_merge)
		rc = yaml_merge_add(ld, f, node, mark);
	else if (json_object_set(f->node, f->key, node) == 0)
		src_put(ld->src, f->node, f->key, f->key_line, f->key_col);
	json_decref(node);
	free(f->key);
	f->key = NULL;
	return rc;
}

/* Start a sequence or mapping. */
static int
yaml_push(struct yaml_loader *ld, yaml_event_t *ev, json_t *node, const unsigned char *anchor,
    const unsigned char *tag_text)
{
	const char *tag = yaml_event_tag(tag_text);
	const char *want = json_is_array(node) ? TAG_PREFIX "seq" : TAG_PREFIX "map";
	struct yaml_frame *f;

	if (tag != NULL && strcmp(tag, want) != 0 && strcmp(tag, "!unsafe") != 0) {
		json_decref(node);
		return yaml_check_special_tag(ld, tag, ev->start_mark);
	}
	if (ld->depth >= YAML_MAX_DEPTH) {
		json_decref(node);
		return yaml_fail(ld, ev->start_mark, "nested deeper than the limit of %d levels",
		    YAML_MAX_DEPTH);
	}
	f = &ld->stack[ld->depth++];
	memset(f, 0, sizeof *f);
	f->node = node;
	f->anchor = anchor != NULL ? xstrdup((const char *)anchor) : NULL;
	f->nodes = 1;
	f->height = 1;
	f->mark = ev->start_mark;
	src_put(ld->src, node, NULL, (unsigned)ev->start_mark.line + 1,
	    (unsigned)ev->start_mark.column + 1);
	return 0;
}

/* Finish the innermost sequence or mapping and attach it. */
static int
yaml_pop(struct yaml_loader *ld)
{
	struct yaml_frame f = ld->stack[--ld->depth];
	int rc;

	if (f.merges != NULL)
		yaml_merge_apply(ld, &f);
	rc = yaml_attach(ld, f.node, f.nodes, f.height, f.anchor, false, f.mark);
	json_decref(f.merges);
	free(f.anchor);
	free(f.key);
	return rc;
}

/* Expand an alias: a copy of the anchored node, counted against the alias limit. */
static int
yaml_alias(struct yaml_loader *ld, yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	json_t *idx = json_object_get(ld->anchor_index, name);
	struct yaml_anchor *a;
	size_t i;

	if (idx == NULL) {
		for (i = 0; i < ld->depth; i++)
			if (ld->stack[i].anchor != NULL && strcmp(ld->stack[i].anchor, name) == 0)
				return yaml_fail(ld, ev->start_mark,
				    "alias '%s' refers to a node that contains it", name);
		return yaml_fail(ld, ev->start_mark, "found undefined alias '%s'", name);
	}
	a = &ld->anchors[json_integer_value(idx)];
	if (a->nodes > YAML_MAX_ALIAS_NODES - ld->alias_nodes)
		return yaml_fail(ld, ev->start_mark,
		    "aliases expand to more than the limit of %d nodes", YAML_MAX_ALIAS_NODES);
	ld->alias_nodes += a->nodes;
	if (ld->depth + a->height > YAML_MAX_DEPTH)
		return yaml_fail(ld, ev->start_mark,
		    "alias '%s' nests deeper than the limit of %d levels", name, YAML_MAX_DEPTH);
	return yaml_attach(
	    ld, yaml_copy(ld->src, a->node), a->nodes, a->height, NULL, false, ev->start_mark);
}

/* Handle one parser event; 1 at the end of the stream. */
static int
yaml_event(struct yaml_loader *ld, yaml_event_t *ev)
{
	json_t *node;
	bool is_merge;

	switch (ev->type) {
	case YAML_STREAM_START_EVENT:
	case YAML_NO_EVENT:
		return 0;
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (json_array_size(ld->docs) > 0 && !(ld->flags & YAML_MULTI))
			return yaml_fail(ld, ev->start_mark,
			    "expected a single document, but found another document");
		yaml_anchors_clear(ld);
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		json_array_append_new(ld->docs, ld->doc != NULL ? ld->doc : json_null());
		ld->doc = NULL;
		return 0;
	case YAML_ALIAS_EVENT:
		return yaml_alias(ld, ev);
	case YAML_SCALAR_EVENT:
		if (yaml_scalar(ld, ev, &node, &is_merge) < 0)
			return -1;
		src_put(ld->src, node, NULL, (unsigned)ev->start_mark.line + 1,
		    (unsigned)ev->start_mark.column + 1);
		return yaml_attach(ld, node, 1, 0, (const char *)ev->data.scalar.anchor, is_merge,
		    ev->start_mark);
	case YAML_SEQUENCE_START_EVENT:
		return yaml_push(ld, ev, json_array(), ev->data.sequence_start.anchor,
		    ev->data.sequence_start.tag);
	case YAML_MAPPING_START_EVENT:
		return yaml_push(ld, ev, json_object(), ev->data.mapping_start.anchor,
		    ev->data.mapping_start.tag);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return yaml_pop(ld);
	}
	return 0;
}

/* Load text into a value (one document, or all of them with YAML_MULTI). */
int
yaml_load_string(const char *name, const char *text, size_t len, unsigned flags, json_t **ret,
    struct yaml_src **ret_src, struct dr_error *err)
{
	struct yaml_loader ld = {.name = name, .flags = flags, .err = err};
	yaml_event_t ev;
	json_t *result = NULL;
	int rc = -1, done = 0;
	size_t i;

	if (len > YAML_MAX_BYTES)
		return dr_error_set(err, "%s: %zu bytes is larger than the limit of %u bytes",
		    name, len, YAML_MAX_BYTES);
	if (!yaml_parser_initialize(&ld.parser))
		fatalx("yaml: out of memory");
	yaml_parser_set_input_string(&ld.parser, (const unsigned char *)text, len);
	ld.src = xcalloc(1, sizeof *ld.src);
	ld.src->name = xstrdup(name);
	ld.stack = xcalloc(YAML_MAX_DEPTH, sizeof *ld.stack);
	ld.anchor_index = json_object();
	ld.docs = json_array();
	while (!done) {
		if (!yaml_parser_parse(&ld.parser, &ev)) {
			yaml_fail_parser(&ld);
			goto out;
		}
		done = yaml_event(&ld, &ev);
		yaml_event_delete(&ev);
		if (done < 0)
			goto out;
	}
	if (flags & YAML_MULTI)
		result = json_incref(ld.docs);
	else if (json_array_size(ld.docs) > 0)
		result = json_incref(json_array_get(ld.docs, 0));
	else
		result = json_null();
	rc = 0;
	*ret = result;
	if (ret_src != NULL) {
		ld.src->root = json_incref(result);
		*ret_src = TAKE_PTR(ld.src);
	}
out:
	for (i = 0; i < ld.depth; i++) {
		json_decref(ld.stack[i].node);
		json_decref(ld.stack[i].merges);
		free(ld.stack[i].anchor);
		free(ld.stack[i].key);
	}
	free(ld.stack);
	yaml_anchors_clear(&ld);
	json_decref(ld.anchor_index);
	json_decref(ld.docs);
	json_decref(ld.doc);
	yaml_src_free(ld.src);
	yaml_parser_delete(&ld.parser);
	return rc;
}

/* Load a file of at most YAML_MAX_BYTES. */
int
yaml_load_file(const char *path, unsigned flags, json_t **ret, struct yaml_src **ret_src,
    struct dr_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (file_read(path, YAML_MAX_BYTES, &text, &len, err) < 0)
		return -1;
	return yaml_load_string(path, text, len, flags, ret, ret_src, err);
}

/*
 * libyaml's emitter escapes characters outside the Basic Multilingual Plane ("\U0001F600")
 * where PyYAML with allow_unicode writes them as they are. We hand libyaml a private-use
 * character (U+E000..U+F8FF, not otherwise in the value) in place of each such character,
 * which it treats the same way, and swap them back in its output.
 */
#define PUA_FIRST 0xE000u
#define PUA_LAST 0xF8FFu

struct yaml_dumper {
	yaml_emitter_t emitter;
	struct buf *out;
	bool full;
	bool empty_key; /* the value has a "" key somewhere */
	uint32_t *astral; /* the astral characters of the value */
	uint32_t *pua; /* pua[i] stands in for astral[i] */
	size_t nsubst;
	unsigned char pua_used[(PUA_LAST - PUA_FIRST + 1 + 7) / 8];
};

/* Decode one UTF-8 character at s (valid UTF-8, as jansson keeps it); returns its length. */
static size_t
utf8_decode(const unsigned char *s, uint32_t *ret)
{
	if (s[0] < 0x80) {
		*ret = s[0];
		return 1;
	}
	if (s[0] < 0xE0) {
		*ret = (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
		return 2;
	}
	if (s[0] < 0xF0) {
		*ret =
		    (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
		return 3;
	}
	*ret = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
	    (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
	return 4;
}

/* Append the UTF-8 encoding of c. */
static void
utf8_add(struct buf *b, uint32_t c)
{
	char e[4];

	if (c < 0x10000) {
		e[0] = (char)(0xE0 | c >> 12);
		e[1] = (char)(0x80 | (c >> 6 & 0x3F));
		e[2] = (char)(0x80 | (c & 0x3F));
		buf_add(b, e, 3);
		return;
	}
	e[0] = (char)(0xF0 | c >> 18);
	e[1] = (char)(0x80 | (c >> 12 & 0x3F));
	e[2] = (char)(0x80 | (c >> 6 & 0x3F));
	e[3] = (char)(0x80 | (c & 0x3F));
	buf_add(b, e, 4);
}

/* Note the astral and private-use characters of one string. */
static void
yaml_dump_scan_text(struct yaml_dumper *d, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, j;
	uint32_t c;

	while (i < len) {
		i += utf8_decode(s + i, &c);
		if (c >= PUA_FIRST && c <= PUA_LAST)
			d->pua_used[(c - PUA_FIRST) / 8] |=
			    (unsigned char)(1u << (c - PUA_FIRST) % 8);
		if (c < 0x10000)
			continue;
		for (j = 0; j < d->nsubst && d->astral[j] != c; j++)
			;
		if (j == d->nsubst) {
			d->astral = xreallocarray(d->astral, d->nsubst + 1, sizeof *d->astral);
			d->astral[d->nsubst++] = c;
		}
	}
}

/* Walk the value for what the dump must work around. */
static void
yaml_dump_scan(struct yaml_dumper *d, const json_t *v)
{
	const char *key;
	json_t *val;
	size_t i;

	if (json_is_string(v))
		yaml_dump_scan_text(d, json_string_value(v), json_string_length(v));
	json_object_foreach((json_t *)v, key, val)
	{
		if (*key == '\0')
			d->empty_key = true;
		yaml_dump_scan_text(d, key, strlen(key));
		yaml_dump_scan(d, val);
	}
	json_array_foreach(v, i, val) yaml_dump_scan(d, val);
}

/* Pick a private-use stand-in for each astral character; false when there are too few. */
static bool
yaml_dump_plan(struct yaml_dumper *d)
{
	uint32_t c = PUA_FIRST;
	size_t i;

	d->pua = xcalloc(d->nsubst + 1, sizeof *d->pua);
	for (i = 0; i < d->nsubst; i++, c++) {
		while (c <= PUA_LAST &&
		    d->pua_used[(c - PUA_FIRST) / 8] & (1u << (c - PUA_FIRST) % 8))
			c++;
		if (c > PUA_LAST) {
			d->nsubst = 0;
			return false;
		}
		d->pua[i] = c;
	}
	return true;
}

/* Swap characters of text from one table to the other; caller frees. */
static char *
yaml_dump_swap(const struct yaml_dumper *d, const char *text, size_t len, const uint32_t *from,
    const uint32_t *to, size_t *ret_len)
{
	const unsigned char *s = (const unsigned char *)text;
	struct buf b = BUF_INIT(0);
	size_t i = 0, n, j;
	uint32_t c;

	buf_add(&b, "", 0);
	while (i < len) {
		n = utf8_decode(s + i, &c);
		for (j = 0; j < d->nsubst && from[j] != c; j++)
			;
		if (j < d->nsubst)
			utf8_add(&b, to[j]);
		else
			buf_add(&b, text + i, n);
		i += n;
	}
	*ret_len = b.len;
	return buf_steal(&b);
}

/* libyaml's output handler: collect into a buffer of our own (capped as the caller's). */
static int
yaml_dump_write(void *data, unsigned char *buffer, size_t size)
{
	struct yaml_dumper *d = data;

	if (buf_add(d->out, buffer, size) < 0) {
		d->full = true;
		return 0;
	}
	return 1;
}

/* Emit one scalar; plain_ok says the text resolves back to tag. */
static int
yaml_dump_scalar(struct yaml_dumper *d, const char *tag, const char *text, size_t len,
    bool plain_ok, bool quoted_ok)
{
	_cleanup_free_ char *swapped = NULL;
	yaml_event_t ev;

	if (d->nsubst > 0) {
		swapped = yaml_dump_swap(d, text, len, d->astral, d->pua, &len);
		text = swapped;
	}
	if (!yaml_scalar_event_initialize(&ev, NULL, (yaml_char_t *)tag, (yaml_char_t *)text,
	        (int)len, plain_ok, quoted_ok, YAML_ANY_SCALAR_STYLE))
		return -1;
	return yaml_emitter_emit(&d->emitter, &ev) ? 0 : -1;
}

/*
 * PyYAML never writes an empty key as a simple key: it writes "? ''" and the value after
 * ": " on the next line. libyaml writes "'': value"; rewrite such lines (the value being a
 * scalar or an empty collection, the only case where the rest of the text agrees).
 */
static void
yaml_dump_fix_empty_keys(struct buf *b)
{
	struct buf fixed = BUF_INIT(0);
	const char *line = b->data, *end, *p;

	while (line != NULL && *line != '\0') {
		end = strchr(line, '\n');
		end = end != NULL ? end + 1 : line + strlen(line);
		for (p = line; *p == ' ' || (p[0] == '-' && p[1] == ' '); p += *p == ' ' ? 1 : 2)
			;
		if (str_has_prefix(p, "'': ")) {
			buf_add(&fixed, line, (size_t)(p - line));
			buf_adds(&fixed, "? ''\n");
			buf_addf(&fixed, "%*s: ", (int)(p - line), "");
			buf_add(&fixed, p + 4, (size_t)(end - p - 4));
		} else {
			buf_add(&fixed, line, (size_t)(end - line));
		}
		line = end;
	}
	buf_free(b);
	*b = fixed;
}

/* qsort comparator for key strings, in code point order as Python sorts. */
static int
yaml_key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Emit v and everything under it, as PyYAML's SafeRepresenter would represent it. */
static int
yaml_dump_node(struct yaml_dumper *d, const json_t *v, bool sort_keys)
{
	yaml_event_t ev;
	const char *key, **keys;
	json_t *val;
	char num[64];
	size_t i, n;
	int rc = 0;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (!yaml_mapping_start_event_initialize(
		        &ev, NULL, (yaml_char_t *)TAG_PREFIX "map", 1, YAML_BLOCK_MAPPING_STYLE) ||
		    !yaml_emitter_emit(&d->emitter, &ev))
			return -1;
		n = json_object_size(v);
		keys = xcalloc(n + 1, sizeof *keys);
		i = 0;
		json_object_foreach((json_t *)v, key, val) keys[i++] = key;
		if (sort_keys)
			qsort(keys, n, sizeof *keys, yaml_key_cmp);
		for (i = 0; i < n && rc == 0; i++) {
			rc = yaml_dump_scalar(d, TAG_PREFIX "str", keys[i], strlen(keys[i]),
			    yaml_resolve(keys[i], strlen(keys[i])) == KIND_STR, true);
			if (rc == 0)
				rc = yaml_dump_node(d, json_object_get(v, keys[i]), sort_keys);
		}
		free(keys);
		if (rc < 0 || !yaml_mapping_end_event_initialize(&ev) ||
		    !yaml_emitter_emit(&d->emitter, &ev))
			return -1;
		return 0;
	case JSON_ARRAY:
		if (!yaml_sequence_start_event_initialize(&ev, NULL,
		        (yaml_char_t *)TAG_PREFIX "seq", 1, YAML_BLOCK_SEQUENCE_STYLE) ||
		    !yaml_emitter_emit(&d->emitter, &ev))
			return -1;
		json_array_foreach(v, i, val) if (yaml_dump_node(d, val, sort_keys) < 0) return -1;
		if (!yaml_sequence_end_event_initialize(&ev) ||
		    !yaml_emitter_emit(&d->emitter, &ev))
			return -1;
		return 0;
	case JSON_STRING:
		return yaml_dump_scalar(d, TAG_PREFIX "str", json_string_value(v),
		    json_string_length(v),
		    yaml_resolve(json_string_value(v), json_string_length(v)) == KIND_STR, true);
	case JSON_INTEGER:
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return yaml_dump_scalar(d, TAG_PREFIX "int", num, strlen(num), true, false);
	case JSON_REAL:
		/* represent_float: repr() lower-cased, with ".0" added before a bare exponent. */
		yaml_float_repr(json_real_value(v), num, sizeof num);
		if (strchr(num, '.') == NULL && (key = strchr(num, 'e')) != NULL) {
			char tmp[64];
			snprintf(tmp, sizeof tmp, "%.*s.0%s", (int)(key - num), num, key);
			str_copy(num, tmp, sizeof num);
		}
		return yaml_dump_scalar(d, TAG_PREFIX "float", num, strlen(num), true, false);
	case JSON_TRUE:
		return yaml_dump_scalar(d, TAG_PREFIX "bool", "true", 4, true, false);
	case JSON_FALSE:
		return yaml_dump_scalar(d, TAG_PREFIX "bool", "false", 5, true, false);
	case JSON_NULL:
		return yaml_dump_scalar(d, TAG_PREFIX "null", "null", 4, true, false);
	}
	return -1;
}

/*
 * Dump through libyaml's emitter, the C twin of PyYAML's: we feed it the events PyYAML's
 * serializer would, with the implicit flags its resolver computes, so it picks the same
 * scalar styles, indentation and line folding (80 columns). Where the two differ (astral
 * characters, empty keys, the "..." after a plain scalar at the root) we mend the text.
 * Known remaining difference: a key of exactly 128 characters, or of fewer characters but
 * 128 or more bytes, is written as a simple key by one and a "? " key by the other.
 */
int
yaml_dump(const json_t *v, int indent, bool sort_keys, struct buf *out)
{
	struct buf text = BUF_INIT(0);
	struct yaml_dumper d = {.out = &text};
	_cleanup_free_ char *back = NULL;
	size_t len;
	yaml_event_t ev;
	int rc = -1;

	text.max = out->max ? out->max - out->len : 0;
	if (out->max != 0 && out->len >= out->max)
		return -1;
	yaml_dump_scan(&d, v);
	if (d.nsubst > 0)
		yaml_dump_plan(&d);
	if (!yaml_emitter_initialize(&d.emitter))
		fatalx("yaml: out of memory");
	yaml_emitter_set_output(&d.emitter, yaml_dump_write, &d);
	yaml_emitter_set_unicode(&d.emitter, 1);
	yaml_emitter_set_indent(&d.emitter, indent);
	yaml_emitter_set_width(&d.emitter, 80);
	yaml_emitter_set_break(&d.emitter, YAML_LN_BREAK);
	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
	    !yaml_emitter_emit(&d.emitter, &ev))
		goto out;
	if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
	    !yaml_emitter_emit(&d.emitter, &ev))
		goto out;
	if (yaml_dump_node(&d, v, sort_keys) < 0)
		goto out;
	if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(&d.emitter, &ev))
		goto out;
	if (!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(&d.emitter, &ev))
		goto out;
	if (d.full)
		goto out;
	/* PyYAML ends a document whose root is a plain scalar with "...". */
	if (!json_is_object(v) && !json_is_array(v) && text.len > 0 && text.data[0] != '\'' &&
	    text.data[0] != '"')
		buf_adds(&text, "...\n");
	if (d.empty_key)
		yaml_dump_fix_empty_keys(&text);
	if (d.nsubst > 0) {
		back = yaml_dump_swap(&d, text.data, text.len, d.pua, d.astral, &len);
		rc = buf_add(out, back, len);
	} else {
		rc = buf_add(out, text.data, text.len);
	}
out:
	yaml_emitter_delete(&d.emitter);
	buf_free(&text);
	free(d.astral);
	free(d.pua);
	return rc;
}
