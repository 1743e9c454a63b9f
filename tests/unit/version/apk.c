/*
 * apk.c - unit tests for the apk version order (apk: suffixes, letters, revisions, leading zeros).
 * The integration test test_version_* checks the same order against the
 * ecosystem's own implementation on thousands of pairs; these are the cases
 * that name the rules.
 */
#include "vcase.h"

static const vcase cases[] = {
	{"1.0_rc1", "1.0", -1},	    {"1.0_p1", "1.0", 1},	   {"1.0-r1", "1.0_p1", -1},
	{"1.0a", "1.0_p9", 1},	    {"1.0_alpha", "1.0_beta", -1}, {"1.0_pre", "1.0_rc", -1},
	{"1.0_cvs", "1.0_git", -1}, {"1.0-r0", "1.0", 0},	   {"1.05", "1.1", -1},
	{"1.5", "1.50", -1},	    {"1.0", "1.0.0", -1},	   {"3.1.4-r5", "3.1.4-r10", -1},
};

static const char *const invalid[] = {
	"", "a", "1.0_x", "1.0-r", "1..0", "v1", "1.0A",
};

static void test_orders_follow_the_rules(void **state)
{
	check_cases(BERTH_VERSION_APK, cases, N(cases));
}

static void test_malformed_versions_are_einvalid(void **state)
{
	check_invalid(BERTH_VERSION_APK, "1.0.0", invalid, N(invalid));
}

static void test_overlong_version_is_etoobig(void **state)
{
	char big[BERTH_VERSION_MAX + 2];
	int c;

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(berth_version_compare(BERTH_VERSION_APK, big, "1.0.0", &c), BERTH_ETOOBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_orders_follow_the_rules),
		cmocka_unit_test(test_malformed_versions_are_einvalid),
		cmocka_unit_test(test_overlong_version_is_etoobig),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
