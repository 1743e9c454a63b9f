/*
 * composer.c - unit tests for the composer version order (composer normalize + version_compare).
 * The integration test test_version_* checks the same order against the
 * ecosystem's own implementation on thousands of pairs; these are the cases
 * that name the rules.
 */
#include "vcase.h"

static const vcase cases[] = {
	{"1.0.0-beta2", "1.0.0", -1},	  {"1.0.0-alpha", "1.0.0-beta", -1},
	{"1.0.0-RC1", "1.0.0", -1},	  {"1.0.0", "1.0.0-patch1", -1},
	{"1.0.0-dev", "1.0.0-alpha", -1}, {"v1.0", "1.0.0.0", 0},
	{"1.0.0-b2", "1.0.0-beta2", 0},	  {"1.0.0-pl1", "1.0.0-patch1", 0},
	{"1.x-dev", "1.0.0", 1},	  {"1.x-dev", "2.0.0", -1},
	{"1.0.0+build", "1.0.0", 0},	  {"1.0.0@beta", "1.0.0", 0},
	{"2023.01.01", "2023.1.1", 0},	  {"1.0.0-stable", "1.0.0", 0},
};

static const char *const invalid[] = {
	"", "abc", "dev-main", "master", "1.0.0-gamma", "1.2.3.4.5.6",
};

static void test_orders_follow_the_rules(void **state)
{
	check_cases(BERTH_VERSION_COMPOSER, cases, N(cases));
}

static void test_malformed_versions_are_einvalid(void **state)
{
	check_invalid(BERTH_VERSION_COMPOSER, "1.0.0", invalid, N(invalid));
}

static void test_overlong_version_is_etoobig(void **state)
{
	char big[BERTH_VERSION_MAX + 2];
	int c;

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(berth_version_compare(BERTH_VERSION_COMPOSER, big, "1.0.0", &c),
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
