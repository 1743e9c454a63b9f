/*
 * cvss.c - unit tests for CVSS v3 base scores: vectors with published
 * scores (NVD/FIRST examples), scope changes, zero impact, and malformed
 * vectors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "berth/vulndb.h"

static const struct {
	const char *vector;
	double score;
	const char *rating;
} known[] = {
	/* CVE-2021-44228 (Log4Shell) */
	{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0, "CRITICAL"},
	/* CVE-2014-0160 (Heartbleed), NVD v3 */
	{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5, "HIGH"},
	/* CVE-2023-32681 (requests) */
	{"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N", 6.1, "MEDIUM"},
	/* CVE-2021-23337 (lodash) */
	{"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2, "HIGH"},
	{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL"},
	{"CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8, "HIGH"},
	{"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6, "LOW"},
	{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0, "NONE"},
	/* temporal metrics are accepted and do not change the base score */
	{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N/E:P/RL:O/RC:C", 7.5, "HIGH"},
};

static void test_known_vectors_score_as_published(void **state)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		double s = -1;

		assert_int_equal(berth_vulndb_cvss3_score(known[i].vector, &s), 0);
		if (fabs(s - known[i].score) > 1e-9)
			fail_msg("%s scored %.1f, want %.1f", known[i].vector, s, known[i].score);
		assert_string_equal(berth_vulndb_cvss_rating(s), known[i].rating);
	}
}

static void test_malformed_vectors_are_einvalid(void **state)
{
	static const char *const bad[] = {
		"",
		"AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
		"CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:HH",
		"CVSS:3.1/AV:N//AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
	};
	double s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (berth_vulndb_cvss3_score(bad[i], &s) != BERTH_EINVALID)
			fail_msg("'%s' accepted", bad[i]);
	}
	assert_int_equal(berth_vulndb_cvss3_score(NULL, &s), BERTH_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_vectors_score_as_published),
		cmocka_unit_test(test_malformed_vectors_are_einvalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
