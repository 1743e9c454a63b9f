/*
 * rpm.c - unit tests for the rpm version order (rpmvercmp: ~ and ^, epochs, releases, separators).
 * The integration test test_version_* checks the same order against the
 * ecosystem's own implementation on thousands of pairs; these are the cases
 * that name the rules.
 */
#include "vcase.h"

static const vcase cases[] = {
	{"1.0~rc1", "1.0", -1},
	{"1.0^git1", "1.0", 1},
	{"1.0^git1", "1.0.1", -1},
	{"1.0~rc1^x", "1.0~rc1", 1},
	{"1:1.0", "2.0", 1},
	{"1.0-1", "1.0-2", -1},
	{"1.0", "1.0-1", -1},
	{"1.0a", "1.0", 1},
	{"1.0", "1.0.a", -1},
	{"1.01", "1.1", 0},
	{"1.0_1", "1.0.1", 0},
	{"1.0a", "1.0.1", -1},
	{"3.0.7-25.el9_3", "3.0.7-25.el9", 1},
};

static const char *const invalid[] = {
	"",
	"1.0 1",
	"1.0\t",
	"\x7f",
};

static void test_orders_follow_the_rules(void **state)
{
	check_cases(BERTH_VERSION_RPM, cases, N(cases));
}

static void test_malformed_versions_are_einvalid(void **state)
{
	check_invalid(BERTH_VERSION_RPM, "1.0.0", invalid, N(invalid));
}

static void test_overlong_version_is_etoobig(void **state)
{
	char big[BERTH_VERSION_MAX + 2];
	int c;

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(berth_version_compare(BERTH_VERSION_RPM, big, "1.0.0", &c), BERTH_ETOOBIG);
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
