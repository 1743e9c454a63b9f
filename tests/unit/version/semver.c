/*
 * semver.c - unit tests for the semver version order (SemVer 2 as node-semver reads it).
 * The integration test test_version_* checks the same order against the
 * ecosystem's own implementation on thousands of pairs; these are the cases
 * that name the rules.
 */
#include "vcase.h"

static const vcase cases[] = {
	{"1.0.0-alpha", "1.0.0-alpha.1", -1},
	{"1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
	{"1.0.0-beta.2", "1.0.0-beta.11", -1},
	{"1.0.0-rc.1", "1.0.0", -1},
	{"1.0.0+a", "1.0.0+b", 0},
	{"v1.2.3", "1.2.3", 0},
	{"1.10.0", "1.9.0", 1},
	{"1.0.0-1", "1.0.0-a", -1},
	{"1.0.0-B", "1.0.0-a", -1},
};

static const char *const invalid[] = {
	"", "1", "1.0", "01.0.0", "1.0.0-01", "1.0.0-", "9007199254740992.0.0",
};

static void test_orders_follow_the_rules(void **state)
{
	check_cases(BERTH_VERSION_SEMVER, cases, N(cases));
}

static void test_malformed_versions_are_einvalid(void **state)
{
	check_invalid(BERTH_VERSION_SEMVER, "1.0.0", invalid, N(invalid));
}

static void test_overlong_version_is_etoobig(void **state)
{
	char big[BERTH_VERSION_MAX + 2];
	int c;

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(berth_version_compare(BERTH_VERSION_SEMVER, big, "1.0.0", &c),
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
