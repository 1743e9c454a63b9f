/*
 * npm_range.c - unit tests for npm range satisfaction (node-semver's Range):
 * carets, tildes, X-ranges, hyphens, unions, the prerelease rule, and
 * malformed ranges.
 */
#include "vcase.h"

typedef struct rcase {
	const char *version, *range;
	int want;
} rcase;

static const rcase cases[] = {
	{"1.2.3", "^1.2.3", 1},
	{"1.9.9", "^1.2.3", 1},
	{"2.0.0", "^1.2.3", 0},
	{"0.2.9", "^0.2.3", 1},
	{"0.3.0", "^0.2.3", 0},
	{"0.0.3", "^0.0.3", 1},
	{"0.0.4", "^0.0.3", 0},
	{"1.2.9", "~1.2.3", 1},
	{"1.3.0", "~1.2.3", 0},
	{"1.9.0", "~1", 1},
	{"1.2.0", "1.x", 1},
	{"2.0.0", "1.x", 0},
	{"1.2.5", "1.2.*", 1},
	{"2.3.4", "1.2.3 - 2.3.4", 1},
	{"2.3.5", "1.2.3 - 2.3.4", 0},
	{"2.3.9", "1.2.3 - 2.3", 1},
	{"2.4.0", "1.2.3 - 2.3", 0},
	{"1.5.0", ">=1.0.0 <2.0.0", 1},
	{"1.5.0", ">= 1.0.0 < 2.0.0", 1},
	{"3.0.0", "^1 || ^2", 0},
	{"2.1.0", "^1 || ^2", 1},
	{"1.2.3-beta.3", "^1.2.3-beta.2", 1},
	{"1.2.4-beta", "^1.2.3-beta.2", 0}, /* prerelease of another tuple */
	{"1.0.0-beta", "*", 0},
	{"1.0.0-beta", "* || 1.0.0-beta", 0}, /* "*" in a union makes it "*" */
	{"1.0.0-beta", "1.0.0-beta || 2", 1},
	{"0.0.0", ">=0.0.0", 1},
	{"1.2.3", "", 1},
	{"1.2.3", ">*", 0},
	{"1.2.3", "<0.0.0-0", 0},
	{"1.3.0", "<=1.2.x", 0},
	{"1.2.9", "<=1.2.x", 1},
	{"1.3.0", ">1.2", 1},
	{"1.2.9", ">1.2", 0},
	{"v1.2.3", "=1.2.3", 1},
};

static const char *const bad_ranges[] = {">=1.2.3<2", "1.2.3.4",  "^01.2",  "~a",
					 ">>1",	      "1.2-beta", ">=1.x.0"};

static void test_ranges_follow_node_semver(void **state)
{
	for (size_t i = 0; i < N(cases); i++) {
		int got = 9;

		if (berth_version_npm_satisfies(cases[i].version, cases[i].range, &got) != 0)
			fail_msg("'%s' in '%s' refused: %s", cases[i].version, cases[i].range,
				 berth_error_last());
		if (got != cases[i].want)
			fail_msg("'%s' in '%s' = %d, want %d", cases[i].version, cases[i].range,
				 got, cases[i].want);
	}
}

static void test_malformed_ranges_are_einvalid(void **state)
{
	for (size_t i = 0; i < N(bad_ranges); i++) {
		int got = 9;

		if (berth_version_npm_satisfies("1.2.3", bad_ranges[i], &got) != BERTH_EINVALID)
			fail_msg("'%s' accepted", bad_ranges[i]);
		assert_non_null(strstr(berth_error_last(), "invalid npm range"));
	}
}

static void test_malformed_version_is_einvalid(void **state)
{
	int got;

	assert_int_equal(berth_version_npm_satisfies("1.2", "*", &got), BERTH_EINVALID);
	assert_int_equal(berth_version_npm_satisfies("1.2.3", NULL, &got), BERTH_EINVALID);
}

static void test_overlong_range_is_etoobig(void **state)
{
	static char big[BERTH_VERSION_RANGE_MAX + 8];
	int got;

	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(berth_version_npm_satisfies("1.0.0", big, &got), BERTH_ETOOBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges_follow_node_semver),
		cmocka_unit_test(test_malformed_ranges_are_einvalid),
		cmocka_unit_test(test_malformed_version_is_einvalid),
		cmocka_unit_test(test_overlong_range_is_etoobig),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
