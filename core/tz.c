/*
 * tz.c - named IANA time zones read from the system's tz database, without TZ/tzset.
 *
 * The daemon is multi-threaded, so converting in a zone must not touch the process-wide
 * TZ variable. We read the zone's TZif file (RFC 8536) ourselves: the 64-bit data block
 * of version 2+ files (the 32-bit block of version 1 files) and the POSIX TZ footer that
 * describes every time after the last transition listed. Parsed zones are immutable and
 * cached for the life of the process (until tz_shutdown()), so a pointer handed out by
 * tz_zone_get() stays valid without reference counting; the cache is bounded by the
 * number of files in the database, because only names that load are cached.
 */
#define LOG_COMPONENT "tz"
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"

#define TZ_DIR "/usr/share/zoneinfo"
#define TZ_NAME_MAX 255
#define TZ_FILE_MAX (512 * 1024) /* the largest zone in tzdata is a few KiB */
#define TZ_CACHE_MAX 4096
#define TZ_TRANS_MAX 20000
#define TZ_TIME_MAX INT64_C(1000000000000000) /* ~31 million years */
#define TZ_OFF_MAX (26 * 3600) /* RFC 8536: -2^31 < utoff, in practice within +-26h */

/* One rule date of a POSIX TZ string: Jn, n or Mm.w.d, plus the local time of day. */
struct tz_rule_date {
	char kind; /* 'J' (1-365, no Feb 29), 'D' (0-365) or 'M' */
	int n, mon, week, wday;
	int32_t secs; /* time of day, may be negative or past 24h (RFC 8536) */
};

/* The TZ footer: standard offset and, when the zone has DST, its offset and rules. */
struct tz_rule {
	int32_t std_off, dst_off; /* seconds east of UTC */
	bool has_dst;
	struct tz_rule_date start, end;
};

struct tz_zone {
	char *name;
	size_t ntrans;
	int64_t *trans;     /* transition instants, ascending */
	uint8_t *trans_type; /* index into type_off */
	size_t ntypes;
	int32_t *type_off;
	bool has_footer;
	struct tz_rule footer;
};

static int32_t tz_utc_off = 0;
static uint8_t tz_utc_type = 0;
static struct tz_zone tz_utc = {
	.name = (char *)"UTC",
	.ntrans = 0,
	.trans = NULL,
	.trans_type = &tz_utc_type,
	.ntypes = 1,
	.type_off = &tz_utc_off,
	.has_footer = false,
};

static pthread_mutex_t tz_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tz_zone **tz_cache;
static size_t tz_cache_len;

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
int64_t
tz_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The Gregorian date of a day count since 1970-01-01. */
void
tz_civil_from_days(int64_t z, int64_t *ret_y, int *ret_m, int *ret_d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*ret_d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*ret_m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*ret_y = yoe + era * 400 + (*ret_m <= 2);
}

/* Day of the week (0 = Sunday) of a day count since 1970-01-01 (a Thursday). */
int
tz_weekday(int64_t days)
{
	int64_t w = (days + 4) % 7;

	return (int)(w < 0 ? w + 7 : w);
}

/* Whether y is a Gregorian leap year. */
static bool
tz_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Number of days in month m of year y. */
int
tz_month_days(int64_t y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && tz_leap(y) ? 29 : days[m - 1];
}

/* Floor division for seconds to days. */
static int64_t
tz_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Parse [+-]hh[:mm[:ss]] with hours up to max_h; advances *p. */
static int
tz_rule_parse_time(const char **p, int max_h, int32_t *ret)
{
	const char *s = *p;
	int sign = 1, h = 0, m = 0, sec = 0, n = 0;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	while (*s >= '0' && *s <= '9' && n < 3) {
		h = h * 10 + (*s++ - '0');
		n++;
	}
	if (n == 0 || h > max_h)
		return -1;
	if (*s == ':') {
		s++;
		if (!(s[0] >= '0' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9'))
			return -1;
		m = (s[0] - '0') * 10 + (s[1] - '0');
		s += 2;
		if (*s == ':') {
			s++;
			if (!(s[0] >= '0' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9'))
				return -1;
			sec = (s[0] - '0') * 10 + (s[1] - '0');
			s += 2;
		}
	}
	*p = s;
	*ret = sign * (h * 3600 + m * 60 + sec);
	return 0;
}

/* Skip a zone abbreviation: alphabetic, or <...> quoted; advances *p. */
static int
tz_rule_parse_name(const char **p)
{
	const char *s = *p;
	size_t n = 0;

	if (*s == '<') {
		for (s++; *s != '>' && *s != '\0'; s++)
			n++;
		if (*s != '>' || n < 3)
			return -1;
		s++;
	} else {
		for (; (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'); s++)
			n++;
		if (n < 3)
			return -1;
	}
	*p = s;
	return 0;
}

/* Read a decimal number within [min, max]; advances *p. */
static int
tz_rule_parse_num(const char **p, int min, int max, int *ret)
{
	const char *s = *p;
	int v = 0, n = 0;

	while (*s >= '0' && *s <= '9' && n < 4) {
		v = v * 10 + (*s++ - '0');
		n++;
	}
	if (n == 0 || v < min || v > max)
		return -1;
	*p = s;
	*ret = v;
	return 0;
}

/* Parse one ",date[/time]" of a POSIX TZ rule. */
static int
tz_rule_parse_date(const char **p, struct tz_rule_date *d)
{
	const char *s = *p;

	d->secs = 2 * 3600;
	if (*s == 'J') {
		s++;
		d->kind = 'J';
		if (tz_rule_parse_num(&s, 1, 365, &d->n) < 0)
			return -1;
	} else if (*s == 'M') {
		s++;
		d->kind = 'M';
		if (tz_rule_parse_num(&s, 1, 12, &d->mon) < 0 || *s++ != '.' ||
		    tz_rule_parse_num(&s, 1, 5, &d->week) < 0 || *s++ != '.' ||
		    tz_rule_parse_num(&s, 0, 6, &d->wday) < 0)
			return -1;
	} else {
		d->kind = 'D';
		if (tz_rule_parse_num(&s, 0, 365, &d->n) < 0)
			return -1;
	}
	if (*s == '/') {
		s++;
		if (tz_rule_parse_time(&s, 167, &d->secs) < 0)
			return -1;
	}
	*p = s;
	return 0;
}

/*
 * Parse a POSIX TZ string as found in a TZif footer, e.g. "CET-1CEST,M3.5.0,M10.5.0/3".
 * POSIX offsets count west of Greenwich; we store seconds east.
 */
static int
tz_rule_parse(const char *s, struct tz_rule *r)
{
	int32_t off;

	memset(r, 0, sizeof *r);
	if (tz_rule_parse_name(&s) < 0 || tz_rule_parse_time(&s, 24, &off) < 0)
		return -1;
	r->std_off = -off;
	if (*s == '\0')
		return 0;
	if (tz_rule_parse_name(&s) < 0)
		return -1;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*s != ',' && *s != '\0') {
		if (tz_rule_parse_time(&s, 24, &off) < 0)
			return -1;
		r->dst_off = -off;
	}
	if (*s == '\0') {
		/* No rule: the US rules, as glibc assumes. */
		r->start = (struct tz_rule_date){ 'M', 0, 3, 2, 0, 7200 };
		r->end = (struct tz_rule_date){ 'M', 0, 11, 1, 0, 7200 };
		return 0;
	}
	if (*s++ != ',' || tz_rule_parse_date(&s, &r->start) < 0 || *s++ != ',' ||
	    tz_rule_parse_date(&s, &r->end) < 0 || *s != '\0')
		return -1;
	return 0;
}

/* Local seconds (since the epoch, as if UTC) at which a rule date falls in year y. */
static int64_t
tz_rule_date_local(const struct tz_rule_date *d, int64_t y)
{
	int64_t days;
	int mday;

	switch (d->kind) {
	case 'J':
		days = tz_days_from_civil(y, 1, 1) + d->n - 1 + (tz_leap(y) && d->n >= 60);
		break;
	case 'D':
		days = tz_days_from_civil(y, 1, 1) + d->n;
		break;
	default:
		days = tz_days_from_civil(y, d->mon, 1);
		mday = 1 + (d->wday - tz_weekday(days) + 7) % 7 + (d->week - 1) * 7;
		while (mday > tz_month_days(y, d->mon))
			mday -= 7;
		days += mday - 1;
		break;
	}
	return days * 86400 + d->secs;
}

struct tz_rule_trans {
	int64_t t;
	int32_t off; /* offset from t on */
	bool to_dst;
};

/* Order transitions by time; at equal times the end of DST first (DST all year). */
static int
tz_rule_trans_cmp(const void *a, const void *b)
{
	const struct tz_rule_trans *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return (int)x->to_dst - (int)y->to_dst;
}

/*
 * The footer's transitions around t: the last one at or before t (its instant, the offset
 * before it and the offset it sets) and the first one after t.
 */
static void
tz_rule_around(const struct tz_rule *r, int64_t t, int64_t *prev_t, int32_t *prev_off,
    int32_t *off, int64_t *next_t)
{
	struct tz_rule_trans tr[8];
	int64_t y, yy;
	int m, d;
	size_t i, n = 0;

	/* Far outside any calendar we print, keep the arithmetic from overflowing. */
	if (t > TZ_TIME_MAX)
		t = TZ_TIME_MAX;
	if (t < -TZ_TIME_MAX)
		t = -TZ_TIME_MAX;
	tz_civil_from_days(tz_floor_div(t, 86400), &y, &m, &d);
	for (yy = y - 2; yy <= y + 1; yy++) {
		/* The start is given in standard time, the end in daylight time. */
		tr[n++] = (struct tz_rule_trans){ tz_rule_date_local(&r->start, yy) - r->std_off,
			r->dst_off, true };
		tr[n++] = (struct tz_rule_trans){ tz_rule_date_local(&r->end, yy) - r->dst_off,
			r->std_off, false };
	}
	qsort(tr, n, sizeof tr[0], tz_rule_trans_cmp);
	for (i = n; i-- > 1;)
		if (tr[i].t <= t)
			break;
	/* i >= 1: two years back always precede t. */
	*prev_t = tr[i].t;
	*prev_off = tr[i - 1].off;
	*off = tr[i].off;
	*next_t = i + 1 < n ? tr[i + 1].t : INT64_MAX;
}

/* The span of constant offset in zone z that contains instant t. */
void
tz_zone_span(const struct tz_zone *z, int64_t t, struct tz_span *ret)
{
	size_t n = z->ntrans, lo, hi, mid;
	int64_t pt, nt;
	int32_t po, o;

	if (n == 0 && !z->has_footer) {
		*ret = (struct tz_span){ INT64_MIN, INT64_MAX, z->type_off[0], z->type_off[0] };
		return;
	}
	if (!z->has_footer || (n > 0 && t < z->trans[n - 1])) {
		/* lo = the number of transitions at or before t */
		lo = 0;
		hi = n;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (z->trans[mid] <= t)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == 0) {
			*ret = (struct tz_span){ INT64_MIN, z->trans[0], z->type_off[0],
				z->type_off[0] };
			return;
		}
		ret->start = z->trans[lo - 1];
		ret->off = z->type_off[z->trans_type[lo - 1]];
		ret->prev_off = lo >= 2 ? z->type_off[z->trans_type[lo - 2]] : z->type_off[0];
		/* With a footer, t < trans[n - 1] here, so lo < n. */
		ret->end = lo < n ? z->trans[lo] : INT64_MAX;
		return;
	}
	/* After the last listed transition (or none listed): the footer rule. */
	if (!z->footer.has_dst) {
		ret->off = z->footer.std_off;
		ret->end = INT64_MAX;
		ret->start = n > 0 ? z->trans[n - 1] : INT64_MIN;
		ret->prev_off = n >= 2 ? z->type_off[z->trans_type[n - 2]] :
		    n == 1 ? z->type_off[0] : ret->off;
		return;
	}
	tz_rule_around(&z->footer, t, &pt, &po, &o, &nt);
	ret->off = o;
	ret->end = nt;
	if (n > 0 && pt <= z->trans[n - 1]) {
		ret->start = z->trans[n - 1];
		ret->prev_off = n >= 2 ? z->type_off[z->trans_type[n - 2]] : z->type_off[0];
	} else {
		ret->start = pt;
		ret->prev_off = po;
	}
}

/* Read a big-endian signed integer of width bytes. */
static int64_t
tz_be(const unsigned char *p, size_t width)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < width; i++)
		v = v << 8 | p[i];
	if (width == 4)
		return (int32_t)(uint32_t)v;
	return (int64_t)v;
}

struct tz_header {
	unsigned version;
	size_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

/* Parse a 44-byte TZif header. */
static int
tz_header_parse(const unsigned char *p, size_t len, struct tz_header *h)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	h->version = p[4] == 0 ? 1 : (unsigned)(p[4] - '0');
	h->isutcnt = (size_t)(uint32_t)tz_be(p + 20, 4);
	h->isstdcnt = (size_t)(uint32_t)tz_be(p + 24, 4);
	h->leapcnt = (size_t)(uint32_t)tz_be(p + 28, 4);
	h->timecnt = (size_t)(uint32_t)tz_be(p + 32, 4);
	h->typecnt = (size_t)(uint32_t)tz_be(p + 36, 4);
	h->charcnt = (size_t)(uint32_t)tz_be(p + 40, 4);
	if (h->timecnt > TZ_TRANS_MAX || h->typecnt == 0 || h->typecnt > 256 ||
	    h->charcnt > 65536 || h->leapcnt > 65536 ||
	    (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
	    (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
		return -1;
	return 0;
}

/* Size of a data block whose times are width bytes wide. */
static size_t
tz_block_size(const struct tz_header *h, size_t width)
{
	return h->timecnt * width + h->timecnt + h->typecnt * 6 + h->charcnt +
	    h->leapcnt * (width + 4) + h->isstdcnt + h->isutcnt;
}

/* Free a zone (not the built-in UTC). */
static void
tz_zone_free(struct tz_zone *z)
{
	if (z == NULL || z == &tz_utc)
		return;
	free(z->name);
	free(z->trans);
	free(z->trans_type);
	free(z->type_off);
	free(z);
}

/* Parse TZif data into a zone; the message names the zone. */
static int
tz_zone_parse(const char *name, const unsigned char *data, size_t len, struct tz_zone **ret,
    struct dr_error *err)
{
	struct tz_header h;
	const unsigned char *p = data, *end = data + len, *nl;
	size_t width = 4, i;
	struct tz_zone *z;
	char footer[256];

	if (tz_header_parse(p, len, &h) < 0)
		return dr_error_set(err, "time zone '%s': not a valid TZif file", name);
	if (h.version >= 2) {
		/* Skip the 32-bit block: the 64-bit one follows with its own header. */
		p += 44 + tz_block_size(&h, 4);
		if (p > end || tz_header_parse(p, (size_t)(end - p), &h) < 0)
			return dr_error_set(err, "time zone '%s': truncated TZif file", name);
		width = 8;
	}
	p += 44;
	if ((size_t)(end - p) < tz_block_size(&h, width))
		return dr_error_set(err, "time zone '%s': truncated TZif file", name);
	if (h.leapcnt > 0)
		return dr_error_set(err,
		    "time zone '%s' counts leap seconds, which is not supported", name);
	z = xcalloc(1, sizeof *z);
	z->name = xstrdup(name);
	z->ntrans = h.timecnt;
	z->trans = xcalloc(h.timecnt, sizeof *z->trans);
	z->trans_type = xcalloc(h.timecnt, 1);
	z->ntypes = h.typecnt;
	z->type_off = xcalloc(h.typecnt, sizeof *z->type_off);
	for (i = 0; i < h.timecnt; i++) {
		z->trans[i] = tz_be(p + i * width, width);
		if (i > 0 && z->trans[i] <= z->trans[i - 1])
			goto bad;
	}
	p += h.timecnt * width;
	for (i = 0; i < h.timecnt; i++) {
		z->trans_type[i] = p[i];
		if (p[i] >= h.typecnt)
			goto bad;
	}
	p += h.timecnt;
	for (i = 0; i < h.typecnt; i++) {
		int64_t off = tz_be(p + i * 6, 4);

		if (off < -TZ_OFF_MAX || off > TZ_OFF_MAX)
			goto bad;
		z->type_off[i] = (int32_t)off;
	}
	p += h.typecnt * 6 + h.charcnt + h.leapcnt * (width + 4) + h.isstdcnt + h.isutcnt;
	if (width == 8 && p < end && *p == '\n') {
		p++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || (size_t)(nl - p) >= sizeof footer)
			goto bad;
		memcpy(footer, p, (size_t)(nl - p));
		footer[nl - p] = '\0';
		if (footer[0] != '\0') {
			if (tz_rule_parse(footer, &z->footer) < 0 ||
			    z->footer.std_off < -TZ_OFF_MAX || z->footer.std_off > TZ_OFF_MAX ||
			    z->footer.dst_off < -TZ_OFF_MAX || z->footer.dst_off > TZ_OFF_MAX) {
				tz_zone_free(z);
				return dr_error_set(err,
				    "time zone '%s': unsupported TZ rule '%s'", name, footer);
			}
			z->has_footer = true;
		}
	}
	*ret = z;
	return 0;
bad:
	tz_zone_free(z);
	return dr_error_set(err, "time zone '%s': corrupt TZif data", name);
}

/* Check the shape of a zone name: a relative path inside the tz database. */
static int
tz_name_check(const char *name, struct dr_error *err)
{
	const char *s;

	if (strlen(name) > TZ_NAME_MAX)
		return dr_error_set(err, "time zone name '%.40s...' is too long", name);
	if (name[0] == '/' || strstr(name, "..") != NULL)
		return dr_error_set(err, "time zone name '%s' is not a zone of the tz database",
		    name);
	for (s = name; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
			(*s >= '0' && *s <= '9') || strchr("/_+-.", *s) != NULL))
			return dr_error_set(err, "time zone name '%s' has a bad character", name);
	return 0;
}

/* Load a zone from the database directory (TZDIR, as glibc, or the system's). */
static int
tz_zone_load(const char *name, struct tz_zone **ret, struct dr_error *err)
{
	const char *dir = getenv("TZDIR");
	_cleanup_free_ char *path = NULL, *data = NULL;
	struct dr_error ferr;
	struct stat st;
	size_t len;

	if (dir == NULL || dir[0] == '\0')
		dir = TZ_DIR;
	path = xasprintf("%s/%s", dir, name);
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return dr_error_set(err, "unknown time zone '%s'", name);
	if (file_read(path, TZ_FILE_MAX, &data, &len, &ferr) < 0)
		return dr_error_set(err, "time zone '%s': %s", name, ferr.msg);
	return tz_zone_parse(name, (const unsigned char *)data, len, ret, err);
}

/* Find a zone by name, loading and caching it on first use. */
int
tz_zone_get(const char *name, const struct tz_zone **ret, struct dr_error *err)
{
	struct tz_zone *z = NULL;
	size_t i;

	if (name == NULL || name[0] == '\0' || strcmp(name, "UTC") == 0) {
		*ret = &tz_utc;
		return 0;
	}
	if (tz_name_check(name, err) < 0)
		return -1;
	pthread_mutex_lock(&tz_cache_lock);
	for (i = 0; i < tz_cache_len; i++)
		if (strcmp(tz_cache[i]->name, name) == 0) {
			*ret = tz_cache[i];
			pthread_mutex_unlock(&tz_cache_lock);
			return 0;
		}
	pthread_mutex_unlock(&tz_cache_lock);
	/* Read the file without the lock; a racing thread's copy wins. */
	if (tz_zone_load(name, &z, err) < 0)
		return -1;
	pthread_mutex_lock(&tz_cache_lock);
	for (i = 0; i < tz_cache_len; i++)
		if (strcmp(tz_cache[i]->name, name) == 0)
			break;
	if (i < tz_cache_len) {
		tz_zone_free(z);
		z = tz_cache[i];
	} else if (tz_cache_len >= TZ_CACHE_MAX) {
		pthread_mutex_unlock(&tz_cache_lock);
		tz_zone_free(z);
		return dr_error_set(err, "time zone '%s': too many zones in use", name);
	} else {
		tz_cache = xreallocarray(tz_cache, tz_cache_len + 1, sizeof *tz_cache);
		tz_cache[tz_cache_len++] = z;
	}
	pthread_mutex_unlock(&tz_cache_lock);
	*ret = z;
	return 0;
}

/* Free the zone cache at shutdown, when no other thread uses zones. */
void
tz_shutdown(void)
{
	size_t i;

	pthread_mutex_lock(&tz_cache_lock);
	for (i = 0; i < tz_cache_len; i++)
		tz_zone_free(tz_cache[i]);
	free(tz_cache);
	tz_cache = NULL;
	tz_cache_len = 0;
	pthread_mutex_unlock(&tz_cache_lock);
}

/* Check that a zone name exists in the database. */
int
tz_check(const char *tz, struct dr_error *err)
{
	const struct tz_zone *z;

	return tz_zone_get(tz, &z, err);
}

/* The UTC offset of zone z at instant t, in seconds east. */
int32_t
tz_zone_offset(const struct tz_zone *z, int64_t t)
{
	struct tz_span sp;

	tz_zone_span(z, t, &sp);
	return sp.off;
}

/*
 * The instant at which local time `local` (seconds since the epoch as if UTC) occurs in z:
 * the earlier one when it occurs twice; -1 when it does not exist (a DST gap). Every
 * offset is within 26 hours, so the candidates are the spans that meet that window.
 */
int
tz_zone_local_to_utc(const struct tz_zone *z, int64_t local, int64_t *ret)
{
	struct tz_span sp;
	int64_t t = local - TZ_OFF_MAX, c;

	while (t <= local + TZ_OFF_MAX) {
		tz_zone_span(z, t, &sp);
		c = local - sp.off;
		if (c >= sp.start && c < sp.end) {
			*ret = c;
			return 0;
		}
		if (sp.end == INT64_MAX)
			break;
		t = sp.end;
	}
	return -1;
}

/* Format t as ISO-8601 local time with the zone's offset. */
int
tz_format(const char *tz, time_t t, char *buf, size_t size, struct dr_error *err)
{
	const struct tz_zone *z;
	int64_t local, days, y;
	int32_t off, aoff;
	int m, d, secs, n;

	if (tz_zone_get(tz, &z, err) < 0)
		return -1;
	/* Years 0-9999 only, checked before any arithmetic on t. */
	if ((int64_t)t < tz_days_from_civil(0, 1, 2) * 86400 ||
	    (int64_t)t > tz_days_from_civil(9999, 12, 30) * 86400)
		return dr_error_set(err, "time %lld is outside years 0-9999", (long long)t);
	off = tz_zone_offset(z, t);
	local = (int64_t)t + off;
	days = tz_floor_div(local, 86400);
	secs = (int)(local - days * 86400);
	tz_civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		return dr_error_set(err, "time %lld is outside years 0-9999", (long long)t);
	aoff = off < 0 ? -off : off;
	if (aoff % 60 != 0)
		n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d:%02d", (int)y,
		    m, d, secs / 3600, secs / 60 % 60, secs % 60, off < 0 ? '-' : '+',
		    aoff / 3600, aoff / 60 % 60, aoff % 60);
	else
		n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", (int)y, m, d,
		    secs / 3600, secs / 60 % 60, secs % 60, off < 0 ? '-' : '+', aoff / 3600,
		    aoff / 60 % 60);
	if (n < 0 || (size_t)n >= size)
		return dr_error_set(err, "time buffer of %zu bytes is too small", size);
	return 0;
}

/* Read exactly n digits as a number within [min, max]; advances *p. */
static int
tz_parse_digits(const char **p, int n, int min, int max, int *ret)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*p += n;
	*ret = v;
	return 0;
}

/*
 * Parse "YYYY-MM-DD[(T| )hh:mm[:ss]][Z|(+|-)hh[:]mm]". Without an offset the time is local
 * in tz: the earlier instant when it occurs twice, an error when a DST change skips it.
 */
int
tz_parse_time(const char *s, const char *tz, time_t *ret, struct dr_error *err)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, oh, om, sign;
	int64_t local, t;
	const struct tz_zone *z;

	if (tz_parse_digits(&p, 4, 0, 9999, &y) < 0 || *p++ != '-' ||
	    tz_parse_digits(&p, 2, 1, 12, &mo) < 0 || *p++ != '-' ||
	    tz_parse_digits(&p, 2, 1, tz_month_days(y, mo), &d) < 0)
		goto bad;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (tz_parse_digits(&p, 2, 0, 23, &h) < 0 || *p++ != ':' ||
		    tz_parse_digits(&p, 2, 0, 59, &mi) < 0)
			goto bad;
		if (*p == ':') {
			p++;
			if (tz_parse_digits(&p, 2, 0, 59, &sec) < 0)
				goto bad;
		}
	}
	local = tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	if (*p == 'Z' || *p == 'z') {
		if (p[1] != '\0')
			goto bad;
		*ret = (time_t)local;
		return 0;
	}
	if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (tz_parse_digits(&p, 2, 0, 23, &oh) < 0)
			goto bad;
		if (*p == ':')
			p++;
		if (tz_parse_digits(&p, 2, 0, 59, &om) < 0 || *p != '\0')
			goto bad;
		*ret = (time_t)(local - sign * (oh * 3600 + om * 60));
		return 0;
	}
	if (*p != '\0')
		goto bad;
	if (tz_zone_get(tz, &z, err) < 0)
		return -1;
	if (tz_zone_local_to_utc(z, local, &t) < 0)
		return dr_error_set(err,
		    "time '%s' does not exist in time zone '%s' (skipped by a clock change)", s,
		    z->name);
	*ret = (time_t)t;
	return 0;
bad:
	return dr_error_set(err,
	    "time '%.64s' is not ISO-8601 (YYYY-MM-DDThh:mm[:ss] with Z, +hh:mm or none)", s);
}

/*
 * The zone this machine runs in, for tools: TZ (without a leading ':'), else
 * /etc/timezone, else the name /etc/localtime links to inside a zoneinfo directory, else
 * "UTC". Writes at most size bytes.
 */
void
tz_default(char *buf, size_t size)
{
	const char *env = getenv("TZ");
	char link[PATH_MAX], *data = NULL, *p;
	ssize_t n;

	if (env != NULL && env[0] != '\0') {
		env += env[0] == ':';
		/* TZ=/usr/share/zoneinfo/Europe/Berlin names a file: use its zone name. */
		p = strstr(env, "zoneinfo/");
		if (env[0] == '/' && p != NULL)
			env = p + 9;
		str_copy(buf, env, size);
		return;
	}
	if (file_read("/etc/timezone", 4096, &data, NULL, NULL) == 0) {
		p = str_trim(data);
		if (p[0] != '\0' && tz_check(p, NULL) == 0) {
			str_copy(buf, p, size);
			free(data);
			return;
		}
		free(data);
	}
	n = readlink("/etc/localtime", link, sizeof link - 1);
	if (n > 0) {
		link[n] = '\0';
		p = strstr(link, "zoneinfo/");
		if (p != NULL && tz_check(p + 9, NULL) == 0) {
			str_copy(buf, p + 9, size);
			return;
		}
	}
	str_copy(buf, "UTC", size);
}
