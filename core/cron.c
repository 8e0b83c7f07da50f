/*
 * cron.c - cron lines and their fire times in a time zone.
 *
 * A line parses into one bit set per field. The next fire time is found by walking the
 * zone's spans of constant UTC offset (tz.c): inside a span local time is UTC plus a
 * constant, so we look for the first matching local minute with a calendar walk that jumps
 * by month, day, hour and minute, and convert back. The clock-change rules (see core.h)
 * only act at the start of a span: a gap (the offset grows) and an overlap (it shrinks).
 */
#define LOG_COMPONENT "cron"
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"

#define CRON_LINE_MAX 1024
#define CRON_QUOTE "%.200s" /* how much of a line an error message quotes */
/* One Gregorian cycle: a line that fires at all fires within it. */
#define CRON_SEARCH_SECS (146097LL * 86400)

enum { CRON_MIN, CRON_HOUR, CRON_DOM, CRON_MON, CRON_DOW, CRON_NFIELDS };

struct cron_field {
	const char *name;
	int min, max;
	const char *const *names; /* three-letter names for min..min+n-1, or NULL */
	const char *name_hint;
};

static const char *const cron_month_names[] = { "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
	"JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL };
static const char *const cron_day_names[] = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT",
	NULL };

static const struct cron_field cron_fields[CRON_NFIELDS] = {
	[CRON_MIN] = { "minute", 0, 59, NULL, NULL },
	[CRON_HOUR] = { "hour", 0, 23, NULL, NULL },
	[CRON_DOM] = { "day-of-month", 1, 31, NULL, NULL },
	[CRON_MON] = { "month", 1, 12, cron_month_names, "JAN-DEC" },
	[CRON_DOW] = { "day-of-week", 0, 7, cron_day_names, "SUN-SAT" },
};

static const struct {
	const char *name;
	const char *line;
} cron_macros[] = {
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

struct cron {
	char *line;
	uint64_t bits[CRON_NFIELDS]; /* bit v set when value v matches; Sunday is bit 0 */
	bool star[CRON_NFIELDS];     /* the field starts with '*' */
	bool fixed_time;             /* neither minute nor hour starts with '*' */
};

/* Parse one value: a number or, where the field has them, a three-letter name. */
static int
cron_value_parse(const struct cron *c, const struct cron_field *f, const char *tok,
    size_t len, int *ret, struct dr_error *err)
{
	size_t i;
	int v = 0;

	if (len > 0 && isdigit((unsigned char)tok[0])) {
		for (i = 0; i < len; i++) {
			if (!isdigit((unsigned char)tok[i]))
				goto bad;
			if (v < 100000)
				v = v * 10 + (tok[i] - '0');
		}
		if (v < f->min || v > f->max)
			return dr_error_set(err,
			    "cron line '" CRON_QUOTE "': %s %.*s is out of range %d-%d", c->line,
			    f->name, (int)len, tok, f->min, f->max);
		*ret = v;
		return 0;
	}
	if (f->names != NULL && len == 3)
		for (i = 0; f->names[i] != NULL; i++)
			if (strncasecmp(tok, f->names[i], 3) == 0) {
				*ret = f->min + (int)i;
				return 0;
			}
bad:
	if (f->names != NULL)
		return dr_error_set(err,
		    "cron line '" CRON_QUOTE "': %s '%.*s' is not a number or a name (%s)",
		    c->line, f->name, (int)len, tok, f->name_hint);
	return dr_error_set(err, "cron line '" CRON_QUOTE "': %s '%.*s' is not a number",
	    c->line, f->name, (int)len, tok);
}

/* Parse one list element: "*", "N", "N-M", each optionally "/STEP"; sets bits. */
static int
cron_element_parse(struct cron *c, int field, const char *tok, size_t len,
    struct dr_error *err)
{
	const struct cron_field *f = &cron_fields[field];
	const char *slash = memchr(tok, '/', len), *dash;
	size_t rlen = slash != NULL ? (size_t)(slash - tok) : len;
	int lo, hi, step = 1, v;
	size_t i;

	if (rlen == 1 && tok[0] == '*') {
		lo = f->min;
		hi = f->max;
	} else {
		dash = memchr(tok, '-', rlen);
		if (cron_value_parse(c, f, tok, dash != NULL ? (size_t)(dash - tok) : rlen, &lo,
			err) < 0)
			return -1;
		hi = lo;
		if (dash != NULL) {
			if (cron_value_parse(c, f, dash + 1, rlen - (size_t)(dash + 1 - tok), &hi,
				err) < 0)
				return -1;
			/* FRI-SUN: Sunday as the end of a range is day 7. */
			if (field == CRON_DOW && hi == 0 && lo > 0)
				hi = 7;
			if (hi < lo)
				return dr_error_set(err,
				    "cron line '" CRON_QUOTE "': %s range %.*s is reversed",
				    c->line, f->name, (int)rlen, tok);
		} else if (slash != NULL) {
			hi = f->max; /* N/S means N-max/S */
		}
	}
	if (slash != NULL) {
		const char *s = slash + 1;
		size_t slen = len - rlen - 1;

		step = 0;
		if (slen == 0)
			return dr_error_set(err,
			    "cron line '" CRON_QUOTE "': %s step in '%.*s' is missing", c->line,
			    f->name, (int)len, tok);
		for (i = 0; i < slen; i++) {
			if (!isdigit((unsigned char)s[i]))
				return dr_error_set(err,
				    "cron line '" CRON_QUOTE "': %s step '%.*s' is not a number",
				    c->line, f->name, (int)slen, s);
			if (step < 100000)
				step = step * 10 + (s[i] - '0');
		}
		if (step < 1 || step > f->max - f->min + 1)
			return dr_error_set(err,
			    "cron line '" CRON_QUOTE "': %s step %.*s is out of range 1-%d",
			    c->line, f->name, (int)slen, s, f->max - f->min + 1);
	}
	for (v = lo; v <= hi; v += step)
		c->bits[field] |= UINT64_C(1) << (field == CRON_DOW && v == 7 ? 0 : v);
	return 0;
}

/* Parse a comma-separated field. */
static int
cron_field_parse(struct cron *c, int field, const char *tok, size_t len,
    struct dr_error *err)
{
	const char *p = tok, *end = tok + len, *comma;

	c->star[field] = tok[0] == '*';
	for (;;) {
		comma = memchr(p, ',', (size_t)(end - p));
		if (comma == NULL)
			comma = end;
		if (comma == p)
			return dr_error_set(err,
			    "cron line '" CRON_QUOTE "': %s list '%.*s' has an empty element",
			    c->line, cron_fields[field].name, (int)len, tok);
		if (cron_element_parse(c, field, p, (size_t)(comma - p), err) < 0)
			return -1;
		if (comma == end)
			return 0;
		p = comma + 1;
	}
}

/*
 * Whether some date matches at all: with the AND rule a day-of-month must exist in some
 * chosen month (Feb 30 never does). Every date falls on every weekday within 400 years.
 */
static bool
cron_can_fire(const struct cron *c)
{
	static const int max_days[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int m, d;

	if (!c->star[CRON_DOM] && !c->star[CRON_DOW])
		return true;
	for (m = 1; m <= 12; m++)
		for (d = 1; d <= max_days[m - 1]; d++)
			if ((c->bits[CRON_MON] >> m & 1) && (c->bits[CRON_DOM] >> d & 1))
				return true;
	return false;
}

/* Parse a cron line. */
int
cron_parse(const char *line, struct cron **ret, struct dr_error *err)
{
	const char *tok[CRON_NFIELDS + 1], *p, *text;
	size_t len[CRON_NFIELDS + 1], n = 0, i;
	struct cron *c;

	if (strnlen(line, CRON_LINE_MAX + 1) > CRON_LINE_MAX)
		return dr_error_set(err, "cron line '%.40s...' is longer than %d bytes", line,
		    CRON_LINE_MAX);
	c = xcalloc(1, sizeof *c);
	c->line = xstrdup(line);
	str_trim(c->line);
	text = c->line;
	if (text[0] == '@') {
		for (i = 0; i < nitems(cron_macros); i++)
			if (strcasecmp(text, cron_macros[i].name) == 0)
				break;
		if (i == nitems(cron_macros)) {
			dr_error_set(err,
			    "cron line '" CRON_QUOTE "': unknown macro (use @hourly, @daily, "
			    "@midnight, @weekly, @monthly, @yearly or @annually)",
			    c->line);
			goto fail;
		}
		text = cron_macros[i].line;
	}
	for (p = text; n <= CRON_NFIELDS;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		tok[n] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		len[n] = (size_t)(p - tok[n]);
		n++;
	}
	if (n != CRON_NFIELDS) {
		dr_error_set(err,
		    "cron line '" CRON_QUOTE "': expected 5 fields (minute hour "
		    "day-of-month month day-of-week), got %s%zu",
		    c->line, n > CRON_NFIELDS ? "more than " : "", n > CRON_NFIELDS ? n - 1 : n);
		goto fail;
	}
	for (i = 0; i < CRON_NFIELDS; i++)
		if (cron_field_parse(c, (int)i, tok[i], len[i], err) < 0)
			goto fail;
	c->fixed_time = !c->star[CRON_MIN] && !c->star[CRON_HOUR];
	if (!cron_can_fire(c)) {
		dr_error_set(err, "cron line '" CRON_QUOTE "' never fires", c->line);
		goto fail;
	}
	*ret = c;
	return 0;
fail:
	cron_free(c);
	return -1;
}

/* Free a parsed line. */
void
cron_free(struct cron *c)
{
	if (c == NULL)
		return;
	free(c->line);
	free(c);
}

/* The line as given. */
const char *
cron_line(const struct cron *c)
{
	return c->line;
}

/* The lowest set bit at or above v, or -1. */
static int
cron_bit_next(uint64_t bits, int v)
{
	if (v > 63)
		return -1;
	bits &= ~UINT64_C(0) << v;
	return bits == 0 ? -1 : __builtin_ctzll(bits);
}

/* Whether a date matches the day fields (Vixie's OR rule when both are restricted). */
static bool
cron_day_matches(const struct cron *c, int64_t days, int d)
{
	bool dom = c->bits[CRON_DOM] >> d & 1;
	bool dow = c->bits[CRON_DOW] >> tz_weekday(days) & 1;

	if (!c->star[CRON_DOM] && !c->star[CRON_DOW])
		return dom || dow;
	return dom && dow;
}

/*
 * The first matching local minute L with lo <= L < hi (local seconds since the epoch, as
 * if UTC); -1 when there is none. Jumps a whole month, day or hour when that field does
 * not match.
 */
static int
cron_local_next(const struct cron *c, int64_t lo, int64_t hi, int64_t *ret)
{
	int64_t days, y, secs, cur;
	int m, d, h, mi, v;

	lo = (lo + 59) - ((lo + 59) % 60 + 60) % 60; /* round up to a minute */
	days = lo >= 0 ? lo / 86400 : -((-lo + 86399) / 86400);
	secs = lo - days * 86400;
	tz_civil_from_days(days, &y, &m, &d);
	h = (int)(secs / 3600);
	mi = (int)(secs / 60 % 60);
	for (;;) {
		days = tz_days_from_civil(y, m, d);
		cur = days * 86400 + h * 3600 + mi * 60;
		if (cur >= hi)
			return -1;
		if (d > tz_month_days(y, m) || !(c->bits[CRON_MON] >> m & 1)) {
			/* Next month, first day. */
			if (++m > 12) {
				m = 1;
				y++;
			}
			d = 1;
			h = mi = 0;
			continue;
		}
		if (!cron_day_matches(c, days, d)) {
			d++;
			h = mi = 0;
			continue;
		}
		v = cron_bit_next(c->bits[CRON_HOUR], h);
		if (v < 0) {
			d++;
			h = mi = 0;
			continue;
		}
		if (v != h) {
			h = v;
			mi = 0;
		}
		v = cron_bit_next(c->bits[CRON_MIN], mi);
		if (v < 0) {
			h++;
			mi = 0;
			if (h > 23) {
				d++;
				h = 0;
			}
			continue;
		}
		mi = v;
		cur = days * 86400 + h * 3600 + mi * 60;
		if (cur >= hi)
			return -1;
		*ret = cur;
		return 0;
	}
}

/*
 * Walk the zone's spans from after + 1. In each span [start, end) with offset off:
 *  - a fixed-time line whose time falls in the gap at the span's start (the local times
 *    [start + prev_off, start + off) that never happen) fires at start;
 *  - a fixed-time line skips the local times repeated at the span's start (those before
 *    start + prev_off, which already happened in the previous span);
 *  - otherwise the first matching local minute in the span wins.
 */
int
cron_next(const struct cron *c, const char *tz, time_t after, time_t *ret,
    struct dr_error *err)
{
	const struct tz_zone *z;
	struct tz_span sp;
	int64_t t, limit, lo, hi, local;

	if (tz_zone_get(tz, &z, err) < 0)
		return dr_error_prefix(err, "cron line '" CRON_QUOTE "': ", c->line);
	/* Keep every local time within years 1-9999. */
	if ((int64_t)after < tz_days_from_civil(1, 1, 2) * 86400 ||
	    (int64_t)after > tz_days_from_civil(9999, 1, 1) * 86400)
		return dr_error_set(err, "cron line '" CRON_QUOTE "': start time %lld is outside "
		    "years 1-9999", c->line, (long long)after);
	t = (int64_t)after + 1;
	limit = t + CRON_SEARCH_SECS;
	for (;;) {
		tz_zone_span(z, t, &sp);
		if (c->fixed_time && sp.start == t && sp.off > sp.prev_off &&
		    cron_local_next(c, sp.start + sp.prev_off, sp.start + sp.off, &local) == 0) {
			*ret = (time_t)t;
			return 0;
		}
		lo = t + sp.off;
		if (c->fixed_time && sp.prev_off > sp.off && lo < sp.start + sp.prev_off)
			lo = sp.start + sp.prev_off;
		hi = (sp.end < limit ? sp.end : limit) + sp.off;
		if (cron_local_next(c, lo, hi, &local) == 0) {
			*ret = (time_t)(local - sp.off);
			return 0;
		}
		if (sp.end >= limit)
			break;
		t = sp.end;
	}
	return dr_error_set(err, "cron line '" CRON_QUOTE "' never fires", c->line);
}
