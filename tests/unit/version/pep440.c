/*
 * pep440.c - unit tests for the pep440 version order (PEP 440: dev < pre < release < post, locals,
 * epochs, normalisation). The integration test test_version_* checks the same order against the
 * ecosystem's own implementation on thousands of pairs; these are the cases
 * that name the rules.
 */
#include "vcase.h"

static const vcase cases[] = {
	{"1.0.dev1", "1.0a1", -1},   {"1.0a1", "1.0b1", -1},
	{"1.0rc1", "1.0", -1},	     {"1.0", "1.0.post1", -1},
	{"1.0", "1.0+local", -1},    {"1.0+1", "1.0+a", 1},
	{"1.0+a.1", "1.0+a", 1},     {"1!0.1", "2.0", 1},
	{"1.0", "1.0.0", 0},	     {"v1.0ALPHA1", "1.0a1", 0},
	{"1.0-1", "1.0.post1", 0},   {"1.0c1", "1.0rc1", 0},
	{"1.0a1.dev1", "1.0a1", -1}, {"1.0.post1.dev1", "1.0.post1", -1},
	{" 1.0 ", "1.0", 0},	     {"1.0+01", "1.0+1", 0},
};

static const char *const invalid[] = {
	"", "x", "1.0+", "1..0", "1.0a1a", "a1.0",
};

static void test_orders_follow_the_rules(void **state)
{
	check_cases(BERTH_VERSION_PEP440, cases, N(cases));
}

static void test_malformed_versions_are_einvalid(void **state)
{
	check_invalid(BERTH_VERSION_PEP440, "1.0.0", invalid, N(invalid));
}

static void test_overlong_version_is_etoobig(void **state)
{
	char big[BERTH_VERSION_MAX + 2];
	int c;

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(berth_version_compare(BERTH_VERSION_PEP440, big, "1.0.0", &c),
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
