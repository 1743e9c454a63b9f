/*
 * cron.c - the schedules of replication rules: 5-field cron and Harbor's
 * 6-field form with seconds, in UTC.
 *
 * A schedule is a bit set per field. The next firing time is found the way
 * robfig/cron (Harbor's scheduler) does it: advance the first field that
 * does not match to its next value, resetting the smaller ones, until every
 * field matches; bounded to five years so an impossible date ends.
 */
#include "berth/replicate.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FIELDS_MAX 6
#define SEARCH_YEARS 5

typedef struct field_def {
	const char *name;
	int min, max;
	const char *const *names; /* names for min.. (NULL: numbers only) */
} field_def;

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL",
					  "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const day_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL};

static const field_def defs[FIELDS_MAX] = {
	{"second", 0, 59, NULL},       {"minute", 0, 59, NULL},
	{"hour", 0, 23, NULL},	       {"day-of-month", 1, 31, NULL},
	{"month", 1, 12, month_names}, {"day-of-week", 0, 7, day_names},
};

/* One value: a number or a name of the field. -1 if neither. */
static int value(const field_def *f, const char *s, size_t len)
{
	int v = 0;

	if (len == 0)
		return -1;
	if (isdigit((unsigned char)s[0])) {
		for (size_t i = 0; i < len; i++) {
			if (!isdigit((unsigned char)s[i]) || v > 1000)
				return -1;
			v = v * 10 + (s[i] - '0');
		}
		return v >= f->min && v <= f->max ? v : -1;
	}
	if (!f->names || len != 3)
		return -1;
	for (int i = 0; f->names[i]; i++)
		if (strncasecmp(f->names[i], s, 3) == 0)
			return i + f->min;
	return -1;
}

/* One comma-separated part: `*`, `?`, N, A-B, with an optional /STEP. */
static int part(const field_def *f, const char *s, size_t len, uint64_t *bits, int *any)
{
	const char *slash = memchr(s, '/', len), *dash;
	size_t rlen = slash ? (size_t)(slash - s) : len;
	int lo, hi, step = 1;

	if (slash) {
		const field_def steps = {"step", 1, f->max, NULL};

		if ((step = value(&steps, slash + 1, len - rlen - 1)) < 1)
			return -1;
	}
	if (rlen == 1 && (s[0] == '*' || s[0] == '?')) {
		if (s[0] == '?' && strcmp(f->name, "day-of-month") &&
		    strcmp(f->name, "day-of-week"))
			return -1; /* '?' only in the day fields */
		lo = f->min;
		hi = f->max == 7 ? 6 : f->max;
		if (!slash)
			*any = 1;
	} else if ((dash = memchr(s, '-', rlen))) {
		if ((lo = value(f, s, (size_t)(dash - s))) < 0 ||
		    (hi = value(f, dash + 1, rlen - (size_t)(dash - s) - 1)) < 0 || hi < lo)
			return -1;
	} else {
		if ((lo = value(f, s, rlen)) < 0)
			return -1;
		/* "N/STEP" runs from N to the field's end, as in Vixie cron. */
		hi = slash ? f->max : lo;
	}
	for (int v = lo; v <= hi; v += step)
		*bits |= 1ULL << (f->max == 7 && v == 7 ? 0 : v);
	return 0;
}

static int field(const field_def *f, const char *s, size_t len, uint64_t *bits, int *any)
{
	size_t start = 0;

	*bits = 0;
	*any = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != ',')
			continue;
		if (part(f, s + start, i - start, bits, any) < 0)
			return berth_error_set(BERTH_EINVALID, "cron: bad %s field '%.*s'", f->name,
					       (int)len, s);
		start = i + 1;
	}
	return 0;
}

int berth_cron_parse(berth_cron *out, const char *expr)
{
	const char *starts[FIELDS_MAX + 1];
	size_t lens[FIELDS_MAX + 1], n = 0;
	uint64_t bits[FIELDS_MAX];
	int any[FIELDS_MAX] = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	if (!expr || strlen(expr) > BERTH_REPLICATE_CRON_MAX)
		return berth_error_set(BERTH_EINVALID, "cron: missing or longer than %d bytes",
				       BERTH_REPLICATE_CRON_MAX);
	for (const char *p = expr; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (n == FIELDS_MAX)
			return berth_error_set(BERTH_EINVALID,
					       "cron: expected 5 or 6 fields, got more");
		starts[n] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		lens[n] = (size_t)(p - starts[n]);
		n++;
	}
	if (n != 5 && n != 6)
		return berth_error_set(BERTH_EINVALID, "cron: expected 5 or 6 fields, got %zu", n);
	bits[0] = 1; /* 5 fields: second 0 */
	for (size_t i = 0; i < n; i++) {
		size_t fi = i + (n == 5 ? 1 : 0);

		if ((rc = field(&defs[fi], starts[i], lens[i], &bits[fi], &any[fi])) < 0)
			return rc;
	}
	out->seconds = bits[0];
	out->minutes = bits[1];
	out->hours = (uint32_t)bits[2];
	out->mdays = (uint32_t)bits[3];
	out->months = (uint16_t)bits[4];
	out->wdays = (uint8_t)bits[5];
	out->dom_any = any[3];
	out->dow_any = any[5];
	return 0;
}

static int day_matches(const berth_cron *c, const struct tm *t)
{
	int dom = (c->mdays >> t->tm_mday) & 1, dow = (c->wdays >> t->tm_wday) & 1;

	if (c->dom_any || c->dow_any)
		return dom && dow;
	return dom || dow;
}

int berth_cron_next(const berth_cron *c, time_t after, time_t *out)
{
	struct tm t;
	time_t cur = after + 1;
	int limit_year;

	if (!gmtime_r(&cur, &t))
		return berth_error_set(BERTH_EINVALID, "cron: time out of range");
	limit_year = t.tm_year + SEARCH_YEARS;
	while (t.tm_year <= limit_year) {
		if (!((c->months >> (t.tm_mon + 1)) & 1)) {
			t.tm_mon++;
			t.tm_mday = 1;
			t.tm_hour = t.tm_min = t.tm_sec = 0;
		} else if (!day_matches(c, &t)) {
			t.tm_mday++;
			t.tm_hour = t.tm_min = t.tm_sec = 0;
		} else if (!((c->hours >> t.tm_hour) & 1)) {
			t.tm_hour++;
			t.tm_min = t.tm_sec = 0;
		} else if (!((c->minutes >> t.tm_min) & 1)) {
			t.tm_min++;
			t.tm_sec = 0;
		} else if (!((c->seconds >> t.tm_sec) & 1)) {
			t.tm_sec++;
		} else {
			*out = timegm(&t);
			return 0;
		}
		/* Normalise the field that overflowed (and fill in the weekday). */
		cur = timegm(&t);
		if (!gmtime_r(&cur, &t))
			return berth_error_set(BERTH_EINVALID, "cron: time out of range");
	}
	return berth_error_set(BERTH_ENOTFOUND, "cron: never fires within %d years", SEARCH_YEARS);
}
