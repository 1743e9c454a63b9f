/*
 * go.c - unit tests for the go version order (golang.org/x/mod/semver: v prefix, shorthands,
 * +incompatible, pseudo-versions). The integration test test_version_* checks the same order
 * against the ecosystem's own implementation on thousands of pairs; these are the cases that name
 * the rules.
 */
#include "vcase.h"

static const vcase cases[] = {
	{"v1", "v1.0.0", 0},
	{"v1.2", "v1.2.0", 0},
	{"v2.0.0+incompatible", "v2.0.0", 0},
	{"v0.0.0-20191109021931-daa7c04131f5", "v0.0.0-20200101000000-000000000000", -1},
	{"v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.3", 1},
	{"v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.4", -1},
	{"v99999999999999999999.0.0", "v1.0.0", 1},
};

static const char *const invalid[] = {
	"", "1.2.3", "v", "v1.2-pre", "v01.0.0", "v1.0.0-", "V1.0.0",
};

static void test_orders_follow_the_rules(void **state)
{
	check_cases(BERTH_VERSION_GO, cases, N(cases));
}

static void test_malformed_versions_are_einvalid(void **state)
{
	check_invalid(BERTH_VERSION_GO, "v1.0.0", invalid, N(invalid));
}

static void test_overlong_version_is_etoobig(void **state)
{
	char big[BERTH_VERSION_MAX + 2];
	int c;

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(berth_version_compare(BERTH_VERSION_GO, big, "v1.0.0", &c), BERTH_ETOOBIG);
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
