/*
 * deb.c - unit tests for the deb version order (dpkg order (Debian Policy 5.6.12): epochs, ~ before
 * the end, letters before other characters, revisions). The integration test test_version_* checks
 * the same order against the ecosystem's own implementation on thousands of pairs; these are the
 * cases that name the rules.
 */
#include "vcase.h"

static const vcase cases[] = {
	{"1.0~rc1", "1.0", -1},
	{"1.0", "1.0+b1", -1},
	{"1:0.9", "2.0", 1},
	{"1.0-1", "1.0-1.1", -1},
	{"1.0a", "1.0+", -1},
	{"1.0~~", "1.0~", -1},
	{"1.010", "1.10", 0},
	{"0:1.0", "1.0", 0},
	{"2.36-9+deb12u4", "2.36-9+deb12u10", -1},
	{"3.0.11-1~deb12u2", "3.0.11-1", -1},
	{"1.2.13.dfsg-1", "1.2.13-1", 1},
	{"7.88.1-10+deb12u5", "7.88.1-10", 1},
	{"1.0-0", "1.0", 0},
	{"+1:1", "1:1", 0},
};

static const char *const invalid[] = {
	"", "1:", "a:1", "1.0-", "1 0", ":1", "-1:1",
};

static void test_orders_follow_the_rules(void **state)
{
	check_cases(BERTH_VERSION_DEB, cases, N(cases));
}

static void test_malformed_versions_are_einvalid(void **state)
{
	check_invalid(BERTH_VERSION_DEB, "1.0.0", invalid, N(invalid));
}

static void test_overlong_version_is_etoobig(void **state)
{
	char big[BERTH_VERSION_MAX + 2];
	int c;

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(berth_version_compare(BERTH_VERSION_DEB, big, "1.0.0", &c), BERTH_ETOOBIG);
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
