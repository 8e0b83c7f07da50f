/*
 * test_cron.c - cron lines and their fire times in IANA zones.
 *
 * The expected fire times in next_cases were computed independently of this code, by a
 * brute-force minute loop over python3's zoneinfo, and the 2026 transitions checked with
 * zdump -v. The zone reader is also checked against glibc's localtime_r (TZ set in a
 * forked child, never in this process).
 */
#include "tests/unit/unit.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#define NEXT_MAX 8

struct next_case {
	const char *line, *tz, *from;
	const char *want[NEXT_MAX + 1]; /* NULL-terminated */
};

static const struct next_case next_cases[] = {
	/* syntax: star, steps, ranges with steps, lists, N/S */
	{ "* * * * *", "UTC", "2026-01-01T00:00:00Z", {
	    "2026-01-01T00:01:00+00:00",
	    "2026-01-01T00:02:00+00:00",
	    "2026-01-01T00:03:00+00:00",
	} },
	{ "*/15 * * * *", "UTC", "2026-01-01T00:07:00Z", {
	    "2026-01-01T00:15:00+00:00",
	    "2026-01-01T00:30:00+00:00",
	    "2026-01-01T00:45:00+00:00",
	    "2026-01-01T01:00:00+00:00",
	    "2026-01-01T01:15:00+00:00",
	} },
	{ "10-50/20 * * * *", "UTC", "2026-01-01T00:00:00Z", {
	    "2026-01-01T00:10:00+00:00",
	    "2026-01-01T00:30:00+00:00",
	    "2026-01-01T00:50:00+00:00",
	    "2026-01-01T01:10:00+00:00",
	} },
	{ "1,5 * * * *", "UTC", "2026-01-01T00:03:00Z", {
	    "2026-01-01T00:05:00+00:00",
	    "2026-01-01T01:01:00+00:00",
	    "2026-01-01T01:05:00+00:00",
	    "2026-01-01T02:01:00+00:00",
	} },
	{ "5/15 * * * *", "UTC", "2026-01-01T00:00:00Z", {
	    "2026-01-01T00:05:00+00:00",
	    "2026-01-01T00:20:00+00:00",
	    "2026-01-01T00:35:00+00:00",
	    "2026-01-01T00:50:00+00:00",
	    "2026-01-01T01:05:00+00:00",
	} },
	{ "0 9-17/4 * * *", "UTC", "2026-01-01T00:00:00Z", {
	    "2026-01-01T09:00:00+00:00",
	    "2026-01-01T13:00:00+00:00",
	    "2026-01-01T17:00:00+00:00",
	    "2026-01-02T09:00:00+00:00",
	} },
	/* day and month names (any case, in ranges, with steps), Sunday as 0 and 7 */
	{ "30 8 * * MON-FRI", "UTC", "2026-01-02T09:00:00Z", {
	    "2026-01-05T08:30:00+00:00",
	    "2026-01-06T08:30:00+00:00",
	    "2026-01-07T08:30:00+00:00",
	} },
	{ "0 0 * * mon,Wed", "UTC", "2026-01-01T00:00:00Z", {
	    "2026-01-05T00:00:00+00:00",
	    "2026-01-07T00:00:00+00:00",
	    "2026-01-12T00:00:00+00:00",
	    "2026-01-14T00:00:00+00:00",
	} },
	{ "0 0 * * SAT-SUN", "UTC", "2026-01-01T00:00:00Z", {
	    "2026-01-03T00:00:00+00:00",
	    "2026-01-04T00:00:00+00:00",
	    "2026-01-10T00:00:00+00:00",
	    "2026-01-11T00:00:00+00:00",
	} },
	{ "0 0 * * 7", "UTC", "2026-01-01T00:00:00Z", {
	    "2026-01-04T00:00:00+00:00",
	    "2026-01-11T00:00:00+00:00",
	} },
	{ "0 0 * * 0", "UTC", "2026-01-01T00:00:00Z", {
	    "2026-01-04T00:00:00+00:00",
	    "2026-01-11T00:00:00+00:00",
	} },
	{ "0 0 * JAN,jul *", "UTC", "2026-01-30T12:00:00Z", {
	    "2026-01-31T00:00:00+00:00",
	    "2026-07-01T00:00:00+00:00",
	    "2026-07-02T00:00:00+00:00",
	} },
	{ "0 12 1 Feb-Apr *", "UTC", "2026-01-01T00:00:00Z", {
	    "2026-02-01T12:00:00+00:00",
	    "2026-03-01T12:00:00+00:00",
	    "2026-04-01T12:00:00+00:00",
	    "2027-02-01T12:00:00+00:00",
	} },
	{ "0 0 1 JAN-DEC/3 *", "UTC", "2026-01-01T00:00:00Z", {
	    "2026-04-01T00:00:00+00:00",
	    "2026-07-01T00:00:00+00:00",
	    "2026-10-01T00:00:00+00:00",
	    "2027-01-01T00:00:00+00:00",
	} },
	/* Vixie's day rule: both restricted means OR; a day field starting with '*' means AND */
	{ "0 0 13 * FRI", "UTC", "2026-01-01T00:00:00Z", {
	    "2026-01-02T00:00:00+00:00",
	    "2026-01-09T00:00:00+00:00",
	    "2026-01-13T00:00:00+00:00",
	    "2026-01-16T00:00:00+00:00",
	    "2026-01-23T00:00:00+00:00",
	} },
	{ "0 0 */10 * MON", "UTC", "2026-01-01T00:00:00Z", {
	    "2026-05-11T00:00:00+00:00",
	    "2026-06-01T00:00:00+00:00",
	    "2026-08-31T00:00:00+00:00",
	} },
	{ "0 0 1,15 * *", "UTC", "2026-01-20T00:00:00Z", {
	    "2026-02-01T00:00:00+00:00",
	    "2026-02-15T00:00:00+00:00",
	    "2026-03-01T00:00:00+00:00",
	} },
	/* macros */
	{ "@hourly", "UTC", "2026-01-01T00:30:00Z", {
	    "2026-01-01T01:00:00+00:00",
	    "2026-01-01T02:00:00+00:00",
	} },
	{ "@daily", "UTC", "2026-01-01T00:00:00Z", {
	    "2026-01-02T00:00:00+00:00",
	    "2026-01-03T00:00:00+00:00",
	} },
	{ "@midnight", "UTC", "2026-06-30T23:00:00Z", {
	    "2026-07-01T00:00:00+00:00",
	    "2026-07-02T00:00:00+00:00",
	} },
	{ "@weekly", "UTC", "2026-01-01T00:00:00Z", {
	    "2026-01-04T00:00:00+00:00",
	    "2026-01-11T00:00:00+00:00",
	} },
	{ "@monthly", "UTC", "2026-01-31T00:00:00Z", {
	    "2026-02-01T00:00:00+00:00",
	    "2026-03-01T00:00:00+00:00",
	} },
	{ "@yearly", "UTC", "2026-01-01T00:00:00Z", {
	    "2027-01-01T00:00:00+00:00",
	    "2028-01-01T00:00:00+00:00",
	} },
	{ "@annually", "UTC", "2026-05-05T00:00:00Z", {
	    "2027-01-01T00:00:00+00:00",
	} },
	/* leap day (2100 is not a leap year) and the year boundary */
	{ "0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", {
	    "2028-02-29T00:00:00+00:00",
	    "2032-02-29T00:00:00+00:00",
	    "2036-02-29T00:00:00+00:00",
	} },
	{ "0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", {
	    "2104-02-29T00:00:00+00:00",
	} },
	{ "59 23 31 12 *", "UTC", "2026-12-31T23:59:00Z", {
	    "2027-12-31T23:59:00+00:00",
	    "2028-12-31T23:59:00+00:00",
	} },
	{ "*/20 * * * *", "UTC", "2026-12-31T23:30:00Z", {
	    "2026-12-31T23:40:00+00:00",
	    "2027-01-01T00:00:00+00:00",
	    "2027-01-01T00:20:00+00:00",
	} },
	/* Europe/Berlin spring forward 2026-03-29 01:00 UTC: fixed-time once after the gap */
	{ "30 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z", {
	    "2026-03-28T02:30:00+01:00",
	    "2026-03-29T03:00:00+02:00",
	    "2026-03-30T02:30:00+02:00",
	} },
	{ "0,30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", {
	    "2026-03-29T03:00:00+02:00",
	    "2026-03-30T02:00:00+02:00",
	    "2026-03-30T02:30:00+02:00",
	} },
	{ "0,30 2,3 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", {
	    "2026-03-29T03:00:00+02:00",
	    "2026-03-29T03:30:00+02:00",
	    "2026-03-30T02:00:00+02:00",
	    "2026-03-30T02:30:00+02:00",
	} },
	/* wildcard lines follow real time through the gap */
	{ "*/30 * * * *", "Europe/Berlin", "2026-03-29T00:15:00Z", {
	    "2026-03-29T01:30:00+01:00",
	    "2026-03-29T03:00:00+02:00",
	    "2026-03-29T03:30:00+02:00",
	    "2026-03-29T04:00:00+02:00",
	} },
	{ "@hourly", "Europe/Berlin", "2026-03-28T23:30:00Z", {
	    "2026-03-29T01:00:00+01:00",
	    "2026-03-29T03:00:00+02:00",
	    "2026-03-29T04:00:00+02:00",
	} },
	/* Europe/Berlin fall back 2026-10-25 01:00 UTC: fixed once, wildcard in both hours */
	{ "30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", {
	    "2026-10-25T02:30:00+02:00",
	    "2026-10-26T02:30:00+01:00",
	    "2026-10-27T02:30:00+01:00",
	} },
	{ "15 * * * *", "Europe/Berlin", "2026-10-24T23:00:00Z", {
	    "2026-10-25T01:15:00+02:00",
	    "2026-10-25T02:15:00+02:00",
	    "2026-10-25T02:15:00+01:00",
	    "2026-10-25T03:15:00+01:00",
	} },
	/* America/New_York: spring forward 2026-03-08 07:00 UTC, fall back 2026-11-01 06:00 UTC */
	{ "30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", {
	    "2026-03-08T03:00:00-04:00",
	    "2026-03-09T02:30:00-04:00",
	    "2026-03-10T02:30:00-04:00",
	} },
	{ "0,30 * * * *", "America/New_York", "2026-03-08T06:15:00Z", {
	    "2026-03-08T01:30:00-05:00",
	    "2026-03-08T03:00:00-04:00",
	    "2026-03-08T03:30:00-04:00",
	    "2026-03-08T04:00:00-04:00",
	} },
	{ "30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", {
	    "2026-11-01T01:30:00-04:00",
	    "2026-11-02T01:30:00-05:00",
	    "2026-11-03T01:30:00-05:00",
	} },
	{ "*/20 1 * * *", "America/New_York", "2026-11-01T04:00:00Z", {
	    "2026-11-01T01:00:00-04:00",
	    "2026-11-01T01:20:00-04:00",
	    "2026-11-01T01:40:00-04:00",
	    "2026-11-01T01:00:00-05:00",
	    "2026-11-01T01:20:00-05:00",
	    "2026-11-01T01:40:00-05:00",
	    "2026-11-02T01:00:00-05:00",
	} },
	/* Australia/Lord_Howe: 30-minute DST (04-05 15:00 UTC back, 10-03 15:30 UTC forward) */
	{ "15 2 * * *", "Australia/Lord_Howe", "2026-10-02T12:00:00Z", {
	    "2026-10-03T02:15:00+10:30",
	    "2026-10-04T02:30:00+11:00",
	    "2026-10-05T02:15:00+11:00",
	} },
	{ "*/15 * * * *", "Australia/Lord_Howe", "2026-10-03T15:00:00Z", {
	    "2026-10-04T01:45:00+10:30",
	    "2026-10-04T02:30:00+11:00",
	    "2026-10-04T02:45:00+11:00",
	    "2026-10-04T03:00:00+11:00",
	} },
	{ "45 1 * * *", "Australia/Lord_Howe", "2026-04-03T12:00:00Z", {
	    "2026-04-04T01:45:00+11:00",
	    "2026-04-05T01:45:00+11:00",
	    "2026-04-06T01:45:00+10:30",
	} },
	{ "*/15 1 * * *", "Australia/Lord_Howe", "2026-04-04T14:00:00Z", {
	    "2026-04-05T01:15:00+11:00",
	    "2026-04-05T01:30:00+11:00",
	    "2026-04-05T01:45:00+11:00",
	    "2026-04-05T01:30:00+10:30",
	    "2026-04-05T01:45:00+10:30",
	    "2026-04-06T01:00:00+10:30",
	    "2026-04-06T01:15:00+10:30",
	    "2026-04-06T01:30:00+10:30",
	} },
	/* Asia/Kolkata: a non-hour offset */
	{ "0 9 * * *", "Asia/Kolkata", "2026-01-01T00:00:00Z", {
	    "2026-01-01T09:00:00+05:30",
	    "2026-01-02T09:00:00+05:30",
	} },
	/* beyond the last TZif transition: the footer's POSIX rule */
	{ "30 2 * * *", "Europe/Berlin", "2040-03-23T12:00:00Z", {
	    "2040-03-24T02:30:00+01:00",
	    "2040-03-25T03:00:00+02:00",
	    "2040-03-26T02:30:00+02:00",
	} },
	{ "30 1 * * *", "America/New_York", "2040-11-03T12:00:00Z", {
	    "2040-11-04T01:30:00-04:00",
	    "2040-11-05T01:30:00-05:00",
	} },
	{ "*/30 1 * * *", "America/New_York", "2040-11-04T04:00:00Z", {
	    "2040-11-04T01:00:00-04:00",
	    "2040-11-04T01:30:00-04:00",
	    "2040-11-04T01:00:00-05:00",
	    "2040-11-04T01:30:00-05:00",
	    "2040-11-05T01:00:00-05:00",
	} },
	{ "0 12 * * *", "Australia/Lord_Howe", "2045-04-01T00:00:00Z", {
	    "2045-04-01T12:00:00+11:00",
	    "2045-04-02T12:00:00+10:30",
	    "2045-04-03T12:00:00+10:30",
	} },
	/* no DST any more; a zone file for UTC */
	{ "0 0 * * *", "America/Sao_Paulo", "2026-01-01T00:00:00Z", {
	    "2026-01-01T00:00:00-03:00",
	    "2026-01-02T00:00:00-03:00",
	} },
	{ "0 0 1 1 *", "Etc/UTC", "2026-06-01T00:00:00Z", {
	    "2027-01-01T00:00:00+00:00",
	} },
};

/* Each row: the next N fire times, formatted in the row's zone. */
static void
test_next_table(void **state)
{
	struct dr_error err;
	char buf[64];
	size_t i, j;

	for (i = 0; i < nitems(next_cases); i++) {
		const struct next_case *nc = &next_cases[i];
		struct cron *c = NULL;
		time_t t;

		print_message("# '%s' in %s from %s\n", nc->line, nc->tz, nc->from);
		if (cron_parse(nc->line, &c, &err) < 0)
			fail_msg("%s", err.msg);
		assert_int_equal(tz_parse_time(nc->from, "UTC", &t, &err), 0);
		for (j = 0; nc->want[j] != NULL; j++) {
			if (cron_next(c, nc->tz, t, &t, &err) < 0)
				fail_msg("%s", err.msg);
			assert_int_equal(tz_format(nc->tz, t, buf, sizeof buf, &err), 0);
			assert_string_equal(buf, nc->want[j]);
		}
		cron_free(c);
	}
}

static const struct {
	const char *line, *msg;
} parse_errors[] = {
	{ "61 * * * *", "cron line '61 * * * *': minute 61 is out of range 0-59" },
	{ "* 24 * * *", "cron line '* 24 * * *': hour 24 is out of range 0-23" },
	{ "* * 0 * *", "cron line '* * 0 * *': day-of-month 0 is out of range 1-31" },
	{ "* * 32 * *", "cron line '* * 32 * *': day-of-month 32 is out of range 1-31" },
	{ "* * * 13 *", "cron line '* * * 13 *': month 13 is out of range 1-12" },
	{ "* * * * 8", "cron line '* * * * 8': day-of-week 8 is out of range 0-7" },
	{ "0-99999999999 * * * *",
	    "cron line '0-99999999999 * * * *': minute 99999999999 is out of range 0-59" },
	{ "* * * *",
	    "cron line '* * * *': expected 5 fields (minute hour day-of-month month "
	    "day-of-week), got 4" },
	{ "* * * * * /bin/true",
	    "cron line '* * * * * /bin/true': expected 5 fields (minute hour day-of-month "
	    "month day-of-week), got more than 5" },
	{ "   ",
	    "cron line '': expected 5 fields (minute hour day-of-month month day-of-week), "
	    "got 0" },
	{ "5-1 * * * *", "cron line '5-1 * * * *': minute range 5-1 is reversed" },
	{ "* * * DEC-JAN *", "cron line '* * * DEC-JAN *': month range DEC-JAN is reversed" },
	{ "*/0 * * * *", "cron line '*/0 * * * *': minute step 0 is out of range 1-60" },
	{ "* */25 * * *", "cron line '* */25 * * *': hour step 25 is out of range 1-24" },
	{ "*/ * * * *", "cron line '*/ * * * *': minute step in '*/' is missing" },
	{ "*/x * * * *", "cron line '*/x * * * *': minute step 'x' is not a number" },
	{ "1,,2 * * * *", "cron line '1,,2 * * * *': minute list '1,,2' has an empty element" },
	{ "* * * * 1,", "cron line '* * * * 1,': day-of-week list '1,' has an empty element" },
	{ "x * * * *", "cron line 'x * * * *': minute 'x' is not a number" },
	{ "MON * * * *", "cron line 'MON * * * *': minute 'MON' is not a number" },
	{ "* * * FOO *",
	    "cron line '* * * FOO *': month 'FOO' is not a number or a name (JAN-DEC)" },
	{ "* * * * MON-",
	    "cron line '* * * * MON-': day-of-week '' is not a number or a name (SUN-SAT)" },
	{ "* * * * MONDAY",
	    "cron line '* * * * MONDAY': day-of-week 'MONDAY' is not a number or a name "
	    "(SUN-SAT)" },
	{ "1-2-3 * * * *", "cron line '1-2-3 * * * *': minute '2-3' is not a number" },
	{ "@reboot",
	    "cron line '@reboot': unknown macro (use @hourly, @daily, @midnight, @weekly, "
	    "@monthly, @yearly or @annually)" },
	{ "0 0 30 2 *", "cron line '0 0 30 2 *' never fires" },
	{ "0 0 31 4,6,9,11 *", "cron line '0 0 31 4,6,9,11 *' never fires" },
};

/* Each bad line fails with a message naming the field and the token. */
static void
test_parse_errors(void **state)
{
	struct dr_error err;
	struct cron *c;
	size_t i;

	for (i = 0; i < nitems(parse_errors); i++) {
		c = (struct cron *)&err; /* must stay untouched on failure */
		dr_error_clear(&err);
		assert_int_equal(cron_parse(parse_errors[i].line, &c, &err), -1);
		assert_string_equal(err.msg, parse_errors[i].msg);
		assert_ptr_equal(c, (struct cron *)&err);
	}
}

/* What parses, and what a parsed line keeps. */
static void
test_parse_ok(void **state)
{
	static const char *const good[] = { "0 0 30 2 MON", "*/60 */24 */31 */12 */8",
		"0-59/59 0-23 1-31 JAN-DEC SUN-SAT", "0 0 * * 1-7", "  15\t3 * * *  ",
		"@DAILY" };
	char line[2000];
	struct dr_error err;
	struct cron *c;
	size_t i;

	for (i = 0; i < nitems(good); i++) {
		if (cron_parse(good[i], &c, &err) < 0)
			fail_msg("'%s': %s", good[i], err.msg);
		cron_free(c);
	}
	assert_int_equal(cron_parse("  15\t3 * * *  ", &c, &err), 0);
	assert_string_equal(cron_line(c), "15\t3 * * *");
	cron_free(c);
	cron_free(NULL);
	memset(line, '*', sizeof line - 1);
	line[sizeof line - 1] = '\0';
	assert_int_equal(cron_parse(line, &c, &err), -1);
	assert_non_null(strstr(err.msg, "is longer than 1024 bytes"));
}

/* Feb 30 with a weekday fires on that weekday (OR rule), and 1-7 covers Sunday. */
static void
test_next_day_rules(void **state)
{
	struct dr_error err;
	struct cron *c;
	time_t t;
	char buf[64];

	assert_int_equal(cron_parse("0 0 30 2 MON", &c, &err), 0);
	assert_int_equal(tz_parse_time("2026-01-01T00:00:00Z", "UTC", &t, &err), 0);
	assert_int_equal(cron_next(c, "", t, &t, &err), 0);
	assert_int_equal(tz_format("", t, buf, sizeof buf, &err), 0);
	assert_string_equal(buf, "2026-02-02T00:00:00+00:00");
	cron_free(c);
}

/* Zone names: unknown, escaping the database, and malformed ones are refused. */
static void
test_zone_errors(void **state)
{
	static const struct {
		const char *tz, *msg;
	} cases[] = {
		{ "Mars/Olympus_Mons", "unknown time zone 'Mars/Olympus_Mons'" },
		{ "Europe", "unknown time zone 'Europe'" },
		{ "../../etc/passwd",
		    "time zone name '../../etc/passwd' is not a zone of the tz database" },
		{ "/usr/share/zoneinfo/UTC",
		    "time zone name '/usr/share/zoneinfo/UTC' is not a zone of the tz database" },
		{ "Europe/Berlin;rm", "time zone name 'Europe/Berlin;rm' has a bad character" },
		{ "zone.tab", "time zone 'zone.tab': not a valid TZif file" },
	};
	struct dr_error err;
	struct cron *c;
	time_t t = 0, r = 12345;
	char buf[64];
	size_t i;

	assert_int_equal(cron_parse("@hourly", &c, &err), 0);
	for (i = 0; i < nitems(cases); i++) {
		assert_int_equal(tz_check(cases[i].tz, &err), -1);
		assert_string_equal(err.msg, cases[i].msg);
		assert_int_equal(cron_next(c, cases[i].tz, t, &r, &err), -1);
		assert_true(str_has_prefix(err.msg, "cron line '@hourly': "));
		assert_string_equal(err.msg + strlen("cron line '@hourly': "), cases[i].msg);
		assert_int_equal(r, 12345);
		assert_int_equal(tz_format(cases[i].tz, t, buf, sizeof buf, &err), -1);
	}
	assert_int_equal(tz_check("", &err), 0);
	assert_int_equal(tz_check("UTC", &err), 0);
	assert_int_equal(tz_check("America/Argentina/Buenos_Aires", &err), 0);
	/* Years outside 1-9999 are refused rather than wrapped. */
	assert_int_equal(cron_next(c, "UTC", (time_t)400000000000LL, &r, &err), -1);
	assert_non_null(strstr(err.msg, "outside years 1-9999"));
	cron_free(c);
}

/* ISO-8601 input with Z, with an offset, and local in a zone (gap and overlap). */
static void
test_time_parse_format(void **state)
{
	static const struct {
		const char *in, *tz, *out; /* out formatted in tz */
	} cases[] = {
		{ "2026-03-29T01:30:00Z", "Europe/Berlin", "2026-03-29T03:30:00+02:00" },
		{ "2026-03-29T03:30:00+02:00", "UTC", "2026-03-29T01:30:00+00:00" },
		{ "2026-03-29T03:30-0530", "Asia/Kolkata", "2026-03-29T14:30:00+05:30" },
		{ "2026-03-29 12:00", "Asia/Kolkata", "2026-03-29T12:00:00+05:30" },
		{ "2026-07-01", "America/New_York", "2026-07-01T00:00:00-04:00" },
		/* The earlier of the two 01:30s in New York's fall back. */
		{ "2026-11-01T01:30:00", "America/New_York", "2026-11-01T01:30:00-04:00" },
		{ "2026-03-29T03:00:00", "Europe/Berlin", "2026-03-29T03:00:00+02:00" },
		{ "2050-07-01T12:00:00", "Europe/Berlin", "2050-07-01T12:00:00+02:00" },
		/* Local mean time before standard time: offsets with seconds. */
		{ "1850-01-01T00:00:00Z", "Europe/Berlin", "1850-01-01T00:53:28+00:53:28" },
	};
	static const struct {
		const char *in, *tz, *msg;
	} bad[] = {
		{ "2026-02-30T00:00:00Z", "UTC", "time '2026-02-30T00:00:00Z' is not ISO-8601" },
		{ "2026-03-29T24:00:00Z", "UTC", "time '2026-03-29T24:00:00Z' is not ISO-8601" },
		{ "2026-03-29T01:30:00Zjunk", "UTC", "time '2026-03-29T01:30:00Zjunk' is not" },
		{ "yesterday", "UTC", "time 'yesterday' is not ISO-8601" },
		{ "2026-03-29T02:30:00", "Europe/Berlin",
		    "time '2026-03-29T02:30:00' does not exist in time zone 'Europe/Berlin' "
		    "(skipped by a clock change)" },
		{ "2026-03-29T02:30:00", "Nowhere/Land", "unknown time zone 'Nowhere/Land'" },
	};
	struct dr_error err;
	char buf[64];
	time_t t;
	size_t i;

	for (i = 0; i < nitems(cases); i++) {
		if (tz_parse_time(cases[i].in, cases[i].tz, &t, &err) < 0)
			fail_msg("%s: %s", cases[i].in, err.msg);
		assert_int_equal(tz_format(cases[i].tz, t, buf, sizeof buf, &err), 0);
		assert_string_equal(buf, cases[i].out);
	}
	for (i = 0; i < nitems(bad); i++) {
		assert_int_equal(tz_parse_time(bad[i].in, bad[i].tz, &t, &err), -1);
		assert_true(str_has_prefix(err.msg, bad[i].msg));
	}
	assert_int_equal(tz_format("UTC", 0, buf, 10, &err), -1);
	assert_string_equal(err.msg, "time buffer of 10 bytes is too small");
	assert_int_equal(tz_format("Europe/Berlin", (time_t)INT64_MAX, buf, sizeof buf, &err),
	    -1);
	assert_string_equal(err.msg, "time 9223372036854775807 is outside years 0-9999");
}

static const char *const oracle_zones[] = { "Europe/Berlin", "America/New_York",
	"Australia/Lord_Howe", "Asia/Kolkata", "America/Sao_Paulo", "Africa/Casablanca",
	"Pacific/Apia", "America/St_Johns", "Asia/Tehran", "Europe/Dublin", "Antarctica/Troll",
	"Pacific/Chatham", "America/Santiago", "Asia/Gaza", "Europe/London", "UTC" };

/*
 * In a child (so TZ never changes in this process), compare our offsets with glibc's for
 * instants from 1901 to 2150, dense around transitions; returns the mismatch count.
 */
static int
oracle_child(void)
{
	const int64_t from = -2174342400LL, to = 5680281600LL; /* 1901 .. 2150 */
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	struct dr_error err;
	const struct tz_zone *z;
	struct tz_span sp;
	int bad = 0, k;
	size_t i;
	int64_t t;
	struct tm tm;
	time_t tt;

	for (i = 0; i < nitems(oracle_zones); i++) {
		setenv("TZ", oracle_zones[i], 1);
		tzset();
		if (tz_zone_get(oracle_zones[i], &z, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		for (k = 0; k < 4000; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			t = from + (int64_t)(x % (uint64_t)(to - from));
			/* Also either side of the transition nearest t. */
			tz_zone_span(z, t, &sp);
			for (int d = -1; d <= 1; d++) {
				int64_t u;

				if (d != 0 && sp.start == INT64_MIN)
					continue;
				u = d == 0 ? t : d < 0 ? sp.start - 1 : sp.start;
				tt = (time_t)u;
				localtime_r(&tt, &tm);
				if (tm.tm_gmtoff != tz_zone_offset(z, u) && bad++ < 10)
					fprintf(stderr, "# %s at %lld: glibc %ld, ours %d\n",
					    oracle_zones[i], (long long)u, tm.tm_gmtoff,
					    tz_zone_offset(z, u));
			}
		}
	}
	return bad > 100 ? 100 : bad;
}

/* Our TZif reader agrees with glibc's, including the footer rule decades ahead. */
static void
test_zone_offsets_glibc(void **state)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(oracle_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

struct thread_arg {
	const char *tz;
	time_t last; /* the 300th fire time */
	int rc;
};

/* Walk 300 fire times of an hourly line. */
static void *
thread_walk(void *p)
{
	struct thread_arg *a = p;
	struct dr_error err;
	struct cron *c;
	time_t t = 1774000000; /* 2026-03-20 */
	int i;

	a->rc = cron_parse("7 */3 * * *", &c, &err);
	for (i = 0; i < 300 && a->rc == 0; i++)
		a->rc = cron_next(c, a->tz, t, &t, &err);
	a->last = t;
	cron_free(c);
	return NULL;
}

/* Zones load and compute concurrently (this is what TZ/tzset could not do). */
static void
test_threads(void **state)
{
	struct thread_arg args[8], solo;
	pthread_t th[8];
	size_t i;

	tz_shutdown(); /* start with an empty cache so the threads race to load */
	for (i = 0; i < nitems(args); i++) {
		args[i] = (struct thread_arg){ .tz = oracle_zones[i % 4] };
		assert_int_equal(pthread_create(&th[i], NULL, thread_walk, &args[i]), 0);
	}
	for (i = 0; i < nitems(args); i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (i = 0; i < nitems(args); i++) {
		solo = (struct thread_arg){ .tz = args[i].tz };
		thread_walk(&solo);
		assert_int_equal(args[i].rc, 0);
		assert_int_equal(args[i].last, solo.last);
	}
}

/* A rare line far from its next fire is found quickly (jumps, not a minute loop). */
static void
test_next_is_fast(void **state)
{
	struct dr_error err;
	struct cron *c;
	int64_t start;
	time_t t = 0;
	int i;

	assert_int_equal(cron_parse("59 23 29 2 *", &c, &err), 0);
	start = time_mono_us();
	for (i = 0; i < 100; i++)
		assert_int_equal(cron_next(c, "Europe/Berlin", t, &t, &err), 0);
	/* the 100th leap day from 1970 is 2380-02-29 (2100, 2200 and 2300 are not leap). */
	char buf[64];
	assert_int_equal(tz_format("Europe/Berlin", t, buf, sizeof buf, &err), 0);
	assert_string_equal(buf, "2380-02-29T23:59:00+01:00");
	assert_true(time_mono_us() - start < 2000000);
	cron_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_table),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_next_day_rules),
		cmocka_unit_test(test_zone_errors),
		cmocka_unit_test(test_time_parse_format),
		cmocka_unit_test(test_zone_offsets_glibc),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_next_is_fast),
	};
	int rc;

	rc = cmocka_run_group_tests(tests, NULL, NULL);
	tz_shutdown();
	return rc;
}
