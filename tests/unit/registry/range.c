/*
 * range.c - unit tests for the HTTP Range and Content-Range parsers
 * (berth_http_range_parse, berth_http_content_range_parse): every accepted
 * form, clamping, suffix ranges, unsatisfiable vs malformed, overflow and
 * whitespace/sign tricks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "berth/registry.h"

static void range_ok(const char *s, uint64_t size, uint64_t want_start, uint64_t want_end)
{
	uint64_t a = 12345, b = 12345;
	int rc = berth_http_range_parse(s, size, &a, &b);

	if (rc != 0)
		fail_msg("'%s' size %llu gave %d (%s)", s, (unsigned long long)size, rc,
			 berth_error_last());
	assert_int_equal(a, want_start);
	assert_int_equal(b, want_end);
}

static void range_rc(const char *s, uint64_t size, int want)
{
	uint64_t a = 0, b = 0;
	int rc = berth_http_range_parse(s, size, &a, &b);

	if (rc != want)
		fail_msg("'%s' size %llu gave %d, want %d", s, (unsigned long long)size, rc, want);
}

static void test_range_forms(void **state)
{
	range_ok("bytes=0-0", 10, 0, 0);
	range_ok("bytes=0-9", 10, 0, 9);
	range_ok("bytes=2-5", 10, 2, 5);
	range_ok("bytes=3-", 10, 3, 9);
	range_ok("bytes=-4", 10, 6, 9);
	range_ok("bytes=9-9", 10, 9, 9);
	range_ok("Bytes=1-2", 10, 1, 2); /* unit is case-insensitive */
	range_ok("bytes=0-", 1, 0, 0);
}

static void test_range_clamping(void **state)
{
	range_ok("bytes=5-100", 10, 5, 9);
	range_ok("bytes=0-18446744073709551615", 10, 0, 9);
	range_ok("bytes=0-99999999999999999999999999", 10, 0, 9); /* end overflows: clamp */
	range_ok("bytes=-100", 10, 0, 9);			  /* suffix longer than size */
	range_ok("bytes=-99999999999999999999999999", 10, 0, 9);
	range_ok("bytes=18446744073709551614-", UINT64_MAX, UINT64_MAX - 1, UINT64_MAX - 1);
}

static void test_range_unsatisfiable(void **state)
{
	range_rc("bytes=10-", 10, BERTH_ERANGE);
	range_rc("bytes=10-20", 10, BERTH_ERANGE);
	range_rc("bytes=0-", 0, BERTH_ERANGE);
	range_rc("bytes=-5", 0, BERTH_ERANGE);
	range_rc("bytes=-0", 10, BERTH_ERANGE);
	range_rc("bytes=99999999999999999999999-", 10, BERTH_ERANGE);
}

static void test_range_malformed(void **state)
{
	static const char *bad[] = {
		"",
		"bytes=",
		"bytes=-",
		"bytes=5",
		"bytes=a-b",
		"bytes=5-3",
		"bytes=0-1,3-4",
		"bytes=0-1,",
		"bytes= 0-1",
		"bytes=0 -1",
		"bytes=0-1 ",
		"bytes=+1-2",
		"bytes=1-+2",
		"bytes=--1",
		"bytes=1--2",
		"items=0-1",
		"bytes:0-1",
		"bytes 0-1",
		"0-1",
		"bytes=0x1-2",
		"bytes=1-2-3",
		"bytes=-1-2",
		"bytes=\t0-1",
		"bytes=99999999999999999999999-1",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		range_rc(bad[i], 100, BERTH_EINVALID);
	range_rc(NULL, 100, BERTH_EINVALID);
}

static void test_range_too_long(void **state)
{
	char s[400];

	/* Leading zeros make a syntactically fine but absurdly long header. */
	memcpy(s, "bytes=", 6);
	memset(s + 6, '0', 300);
	memcpy(s + 306, "1-2", 4);
	range_rc(s, 100, BERTH_EINVALID);
	/* A modest number of leading zeros is still fine. */
	range_ok("bytes=0001-0002", 100, 1, 2);
}

static void crange_ok(const char *s, uint64_t want_start, uint64_t want_end)
{
	uint64_t a = 777, b = 777;
	int rc = berth_http_content_range_parse(s, &a, &b);

	if (rc != 0)
		fail_msg("'%s' gave %d (%s)", s, rc, berth_error_last());
	assert_int_equal(a, want_start);
	assert_int_equal(b, want_end);
}

static void test_content_range_forms(void **state)
{
	crange_ok("0-0", 0, 0);
	crange_ok("0-99", 0, 99);
	crange_ok("100-199", 100, 199);
	crange_ok("bytes 5-10", 5, 10);
	crange_ok("bytes 5-10/11", 5, 10);
	crange_ok("bytes 5-10/*", 5, 10);
	crange_ok("18446744073709551614-18446744073709551615", UINT64_MAX - 1, UINT64_MAX);
}

static void test_content_range_malformed(void **state)
{
	static const char *bad[] = {
		"",
		"-",
		"5-",
		"-5",
		"10-5",
		"a-b",
		"bytes",
		"bytes ",
		"bytes=0-1",
		"bytes  0-1",
		" 0-1",
		"0-1 ",
		"+0-1",
		"0-+1",
		"0 - 1",
		"0-1/",
		"bytes 0-1/x",
		"bytes 0-10/10",
		"bytes 0-1/*x",
		"0-1-2",
		"18446744073709551616-18446744073709551617",
		"0-18446744073709551616",
		"bytes 0-1/18446744073709551616",
		"0x0-1",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t a = 0, b = 0;
		int rc = berth_http_content_range_parse(bad[i], &a, &b);

		if (rc != BERTH_EINVALID)
			fail_msg("'%s' gave %d, want EINVALID", bad[i], rc);
	}
	{
		uint64_t a, b;

		assert_int_equal(berth_http_content_range_parse(NULL, &a, &b), BERTH_EINVALID);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_forms),
		cmocka_unit_test(test_range_clamping),
		cmocka_unit_test(test_range_unsatisfiable),
		cmocka_unit_test(test_range_malformed),
		cmocka_unit_test(test_range_too_long),
		cmocka_unit_test(test_content_range_forms),
		cmocka_unit_test(test_content_range_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
