/*
 * cvss.c - unit tests for CVSS v3 base scores and CVSS v4.0 scores: vectors
 * with published scores (NVD/FIRST examples, FIRST's v4.0 reference
 * calculator), scope changes, zero impact, threat and environmental
 * metrics, and malformed vectors. The v4.0 scores are also compared with an
 * independent implementation on tens of thousands of vectors by
 * tests/integration/test_cvss.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
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

static const struct {
	const char *vector;
	double score;
	const char *rating;
} known4[] = {
	/* the FIRST specification's and calculator's default example */
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3, "CRITICAL"},
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 10.0, "CRITICAL"},
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N", 6.9, "MEDIUM"},
	/* a denial of service advisory (CSAF, cvss_v4 baseScore 8.7) */
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N", 8.7, "HIGH"},
	/* the reference calculator's documented CVSS-BTE example */
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:L/SC:N/SI:N/SA:N/E:A/MAV:A", 8.7, "HIGH"},
	/* no impact anywhere scores 0 whatever the rest */
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0.0, "NONE"},
	/* modified metrics replace the base ones: MVC/MVI/MVA:N leave no impact */
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/MVC:N/MVI:N/MVA:N", 0.0,
	 "NONE"},
	/* E:U lowers the score (EQ5=2); supplemental metrics change nothing */
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U", 8.1, "HIGH"},
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/S:P/AU:Y/R:I/V:C/RE:H/"
	 "U:Amber",
	 9.3, "CRITICAL"},
	/* MSI:S (safety) is EQ4=0, above any base subsequent-system impact */
	{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/MSI:S", 10.0, "CRITICAL"},
	{"CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.5, "HIGH"},
	{"CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", 1.0, "LOW"},
};

static void test_v4_vectors_score_as_the_reference_calculator(void **state)
{
	for (size_t i = 0; i < sizeof(known4) / sizeof(known4[0]); i++) {
		double s = -1, t = -1;

		assert_int_equal(berth_vulndb_cvss4_score(known4[i].vector, &s), 0);
		if (fabs(s - known4[i].score) > 1e-9)
			fail_msg("%s scored %.1f, want %.1f", known4[i].vector, s, known4[i].score);
		assert_string_equal(berth_vulndb_cvss_rating(s), known4[i].rating);
		assert_int_equal(berth_vulndb_cvss_score(known4[i].vector, &t), 0);
		assert_true(s == t);
	}
}

static void test_malformed_v4_vectors_are_einvalid(void **state)
{
	static const char *const bad[] = {
		"",
		"CVSS:4.0",
		"CVSS:4.0/",
		"CVSS:4.1/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
		/* a base metric missing, out of order, repeated, not defined */
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N",
		"CVSS:4.0/AC:L/AV:N/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
		"CVSS:4.0/AV:N/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
		"CVSS:4.0/AV:X/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
		/* optional metrics out of order or repeated */
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/CR:H/E:A",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A/E:A",
		/* unknown metrics and values, empty parts, trailing slash */
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/XX:Y",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:S/SI:N/SA:N",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/U:Blue",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:NN",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/",
		"CVSS:4.0/AV:N//AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/:N",
	};
	char huge[2048];
	double s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (berth_vulndb_cvss4_score(bad[i], &s) != BERTH_EINVALID)
			fail_msg("'%s' accepted", bad[i]);
	}
	assert_int_equal(berth_vulndb_cvss4_score(NULL, &s), BERTH_EINVALID);
	/* a vector past the size cap is refused before it is read */
	snprintf(huge, sizeof(huge), "%s", known4[0].vector);
	for (size_t n = strlen(huge); n + 5 < sizeof(huge); n += 4)
		memcpy(huge + n, "/E:A", 5);
	assert_int_equal(berth_vulndb_cvss4_score(huge, &s), BERTH_EINVALID);
	/* the dispatcher sends v3 and unknown prefixes to the v3 parser */
	assert_int_equal(berth_vulndb_cvss_score(known[0].vector, &s), 0);
	assert_true(fabs(s - known[0].score) < 1e-9);
	assert_int_equal(berth_vulndb_cvss_score("CVSS:2.0/AV:N", &s), BERTH_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_vectors_score_as_published),
		cmocka_unit_test(test_malformed_vectors_are_einvalid),
		cmocka_unit_test(test_v4_vectors_score_as_the_reference_calculator),
		cmocka_unit_test(test_malformed_v4_vectors_are_einvalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
