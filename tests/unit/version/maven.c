/*
 * maven.c - unit tests for the maven version order (ComparableVersion: qualifiers, aliases, list
 * items, null trimming). The integration test test_version_* checks the same order against the
 * ecosystem's own implementation on thousands of pairs; these are the cases
 * that name the rules.
 */
#include "vcase.h"

static const vcase cases[] = {
	{"1.0-alpha1", "1.0", -1},
	{"1.0-SNAPSHOT", "1.0", -1},
	{"1.0-rc1", "1.0-SNAPSHOT", -1},
	{"1.0", "1.0-sp", -1},
	{"1.0-sp", "1.0-xyz", -1},
	{"1.0-ga", "1.0", 0},
	{"1.0.Final", "1.0", 0},
	{"1.0-cr1", "1.0-rc1", 0},
	{"1.0a1", "1.0-alpha-1", 0},
	{"1.0-1", "1.0.1", -1},
	{"1.0.0.0", "1", 0},
	{"1-0.1", "1.0.1", -1},
	{"1.0-alpha", "1.0-beta", -1},
	{"1.0-m1", "1.0-rc1", -1},
	{"1.0.sp", "1.0", 1},
	{"9999999999", "999999999", 1},
};

static const char *const invalid[] = {
	"",
	"1 0",
	"1.0\n",
};

static void test_orders_follow_the_rules(void **state)
{
	check_cases(BERTH_VERSION_MAVEN, cases, N(cases));
}

static void test_malformed_versions_are_einvalid(void **state)
{
	check_invalid(BERTH_VERSION_MAVEN, "1.0.0", invalid, N(invalid));
}

static void test_overlong_version_is_etoobig(void **state)
{
	char big[BERTH_VERSION_MAX + 2];
	int c;

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(berth_version_compare(BERTH_VERSION_MAVEN, big, "1.0.0", &c),
			 BERTH_ETOOBIG);
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
