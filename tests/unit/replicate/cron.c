/*
 * cron.c - unit tests for replication schedules (berth_cron_parse,
 * berth_cron_next): 5-field cron and Harbor's 6 fields with seconds, UTC,
 * names, ranges, steps, the day-of-month/day-of-week rule, and errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "berth/replicate.h"

/* Seconds since the epoch of a UTC date. */
static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm t = {.tm_year = y - 1900,
		       .tm_mon = mo - 1,
		       .tm_mday = d,
		       .tm_hour = h,
		       .tm_min = mi,
		       .tm_sec = s};

	return timegm(&t);
}

static time_t next(const char *expr, time_t after)
{
	berth_cron c;
	time_t out = 0;

	assert_int_equal(berth_cron_parse(&c, expr), 0);
	assert_int_equal(berth_cron_next(&c, after, &out), 0);
	return out;
}

static void brief_nightly_fires_at_midnight_utc(void **state)
{
	(void)state;
	assert_true(next("0 0 * * *", utc(2026, 12, 6, 3, 14, 0)) == utc(2026, 12, 7, 0, 0, 0));
	/* Strictly after: at midnight itself, the next is a day later. */
	assert_true(next("0 0 * * *", utc(2026, 12, 7, 0, 0, 0)) == utc(2026, 12, 8, 0, 0, 0));
	/* Across a year. */
	assert_true(next("0 0 * * *", utc(2026, 12, 31, 23, 59, 59)) == utc(2027, 1, 1, 0, 0, 0));
}

static void six_fields_have_seconds_first(void **state)
{
	(void)state;
	/* Harbor's default schedule form: "0 0 0 * * *" is daily at midnight. */
	assert_true(next("0 0 0 * * *", utc(2026, 3, 1, 12, 0, 0)) == utc(2026, 3, 2, 0, 0, 0));
	assert_true(next("*/15 * * * * *", utc(2026, 3, 1, 12, 0, 1)) ==
		    utc(2026, 3, 1, 12, 0, 15));
	assert_true(next("30 5 * * * *", utc(2026, 3, 1, 12, 5, 30)) == utc(2026, 3, 1, 13, 5, 30));
}

static void ranges_steps_lists_and_names(void **state)
{
	(void)state;
	assert_true(next("*/10 * * * *", utc(2026, 1, 1, 0, 1, 0)) == utc(2026, 1, 1, 0, 10, 0));
	assert_true(next("0 9-17/4 * * *", utc(2026, 1, 1, 10, 0, 0)) == utc(2026, 1, 1, 13, 0, 0));
	assert_true(next("0 0 1,15 * *", utc(2026, 1, 2, 0, 0, 0)) == utc(2026, 1, 15, 0, 0, 0));
	/* 2026-01-05 is a Monday. */
	assert_true(next("0 0 * * MON", utc(2026, 1, 1, 0, 0, 0)) == utc(2026, 1, 5, 0, 0, 0));
	assert_true(next("0 0 1 FEB *", utc(2026, 1, 1, 0, 0, 0)) == utc(2026, 2, 1, 0, 0, 0));
	/* 7 is Sunday too: 2026-01-04. */
	assert_true(next("0 0 * * 7", utc(2026, 1, 1, 0, 0, 0)) == utc(2026, 1, 4, 0, 0, 0));
	assert_true(next("0 0 ? * SUN", utc(2026, 1, 1, 0, 0, 0)) == utc(2026, 1, 4, 0, 0, 0));
}

static void restricted_day_fields_match_either(void **state)
{
	(void)state;
	/* Vixie cron: the 13th or any Friday (2026-01-02 is a Friday). */
	assert_true(next("0 0 13 * FRI", utc(2026, 1, 1, 0, 0, 0)) == utc(2026, 1, 2, 0, 0, 0));
	assert_true(next("0 0 13 * FRI", utc(2026, 1, 12, 0, 0, 0)) == utc(2026, 1, 13, 0, 0, 0));
}

static void leap_day_and_impossible_dates(void **state)
{
	berth_cron c;
	time_t out;

	(void)state;
	assert_true(next("0 0 29 2 *", utc(2026, 1, 1, 0, 0, 0)) == utc(2028, 2, 29, 0, 0, 0));
	assert_int_equal(berth_cron_parse(&c, "0 0 30 2 *"), 0);
	assert_int_equal(berth_cron_next(&c, utc(2026, 1, 1, 0, 0, 0), &out), BERTH_ENOTFOUND);
}

static void bad_expressions_are_errors(void **state)
{
	static const char *const bad[] = {
		"",
		"* * * *",
		"* * * * * * *",
		"60 * * * *",
		"* 24 * * *",
		"* * 0 * *",
		"* * * 13 *",
		"* * * * 8",
		"5-1 * * * *",
		"*/0 * * * *",
		"a * * * *",
		"* * * FOO *",
		"1,,2 * * * *",
		"? * * * *",
		"* * * ? *",
		"-1 * * * *",
		"99999999999 * * * *",
	};
	berth_cron c;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (berth_cron_parse(&c, bad[i]) != BERTH_EINVALID)
			fail_msg("accepted '%s'", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(brief_nightly_fires_at_midnight_utc),
		cmocka_unit_test(six_fields_have_seconds_first),
		cmocka_unit_test(ranges_steps_lists_and_names),
		cmocka_unit_test(restricted_day_fields_match_either),
		cmocka_unit_test(leap_day_and_impossible_dates),
		cmocka_unit_test(bad_expressions_are_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
