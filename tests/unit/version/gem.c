/*
 * gem.c - unit tests for the gem version order (Gem::Version: prereleases, trailing zeros, - as
 * .pre.). The integration test test_version_* checks the same order against the ecosystem's own
 * implementation on thousands of pairs; these are the cases that name the rules.
 */
#include "vcase.h"

static const vcase cases[] = {
	{"1.0.a", "1.0", -1},	{"1.0.a", "1.0.b", -1}, {"1.0.rc1", "1.0", -1},
	{"1.0", "1.0.0.0", 0},	{"1.0.1", "1.0.a", 1},	{"1.0-1", "1.0.pre.1", 0},
	{"1.0.A", "1.0.a", -1}, {"1.01", "1.1", 0},	{"7.1.0.beta1", "7.1.0.rc2", -1},
	{"", "0", 0},		{" 1.0", "1.0", 0},
};

static const char *const invalid[] = {
	"a", "1.", "1..0", "1.0-", "1_0", "v1.0",
};

static void test_orders_follow_the_rules(void **state)
{
	check_cases(BERTH_VERSION_GEM, cases, N(cases));
}

static void test_malformed_versions_are_einvalid(void **state)
{
	check_invalid(BERTH_VERSION_GEM, "1.0.0", invalid, N(invalid));
}

static void test_overlong_version_is_etoobig(void **state)
{
	char big[BERTH_VERSION_MAX + 2];
	int c;

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(berth_version_compare(BERTH_VERSION_GEM, big, "1.0.0", &c), BERTH_ETOOBIG);
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
