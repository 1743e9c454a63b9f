/*
 * affected.c - unit tests for the affected-range evaluation the matcher
 * uses (OSV's events: introduced, fixed, last_affected, limit), scheme
 * names and OSV ecosystem mapping.
 */
#include "vcase.h"

static int aff(berth_version_scheme s, const char *v, const berth_version_event *e, size_t n)
{
	int a = 9;

	if (berth_version_affected(s, v, e, n, &a) != 0)
		fail_msg("'%s' refused: %s", v, berth_error_last());
	return a;
}

static void test_introduced_fixed_is_half_open(void **state)
{
	int a;

	assert_int_equal(berth_version_in_range(BERTH_VERSION_DEB, "3.0.11-1~deb12u1", "0",
						"3.0.11-1~deb12u2", &a),
			 0);
	assert_int_equal(a, 1);
	assert_int_equal(berth_version_in_range(BERTH_VERSION_DEB, "3.0.11-1~deb12u2", NULL,
						"3.0.11-1~deb12u2", &a),
			 0);
	assert_int_equal(a, 0);
	assert_int_equal(berth_version_in_range(BERTH_VERSION_PEP440, "2.0", "1.0", NULL, &a), 0);
	assert_int_equal(a, 1);
	assert_int_equal(berth_version_in_range(BERTH_VERSION_PEP440, "0.9", "1.0", NULL, &a), 0);
	assert_int_equal(a, 0);
}

static void test_events_are_sorted_before_the_walk(void **state)
{
	/* Two ranges in one event list, given out of order. */
	const berth_version_event ev[] = {
		{BERTH_VERSION_FIXED, "2.5.0"},
		{BERTH_VERSION_INTRODUCED, "2.0.0"},
		{BERTH_VERSION_FIXED, "1.2.0"},
		{BERTH_VERSION_INTRODUCED, "0"},
	};

	assert_int_equal(aff(BERTH_VERSION_SEMVER, "1.1.9", ev, N(ev)), 1);
	assert_int_equal(aff(BERTH_VERSION_SEMVER, "1.2.0", ev, N(ev)), 0);
	assert_int_equal(aff(BERTH_VERSION_SEMVER, "1.9.0", ev, N(ev)), 0);
	assert_int_equal(aff(BERTH_VERSION_SEMVER, "2.0.0", ev, N(ev)), 1);
	assert_int_equal(aff(BERTH_VERSION_SEMVER, "2.5.0", ev, N(ev)), 0);
}

static void test_last_affected_and_limit(void **state)
{
	const berth_version_event la[] = {
		{BERTH_VERSION_INTRODUCED, "1.0"},
		{BERTH_VERSION_LAST_AFFECTED, "1.4"},
	};
	const berth_version_event lim[] = {
		{BERTH_VERSION_INTRODUCED, "0"},
		{BERTH_VERSION_LIMIT, "2.0"},
	};

	assert_int_equal(aff(BERTH_VERSION_PEP440, "1.4", la, N(la)), 1);
	assert_int_equal(aff(BERTH_VERSION_PEP440, "1.4.1", la, N(la)), 0);
	assert_int_equal(aff(BERTH_VERSION_PEP440, "1.9", lim, N(lim)), 1);
	assert_int_equal(aff(BERTH_VERSION_PEP440, "2.0", lim, N(lim)), 0);
}

static void test_invalid_event_version_is_einvalid(void **state)
{
	const berth_version_event ev[] = {{BERTH_VERSION_INTRODUCED, "0"},
					  {BERTH_VERSION_FIXED, "not-a-version"}};
	int a;

	assert_int_equal(berth_version_affected(BERTH_VERSION_PEP440, "1.0", ev, N(ev), &a),
			 BERTH_EINVALID);
	assert_int_equal(berth_version_affected(BERTH_VERSION_PEP440, "x", ev, 0, &a),
			 BERTH_EINVALID);
}

static void test_scheme_names_and_ecosystems(void **state)
{
	berth_version_scheme s;

	assert_int_equal(berth_version_scheme_parse("DPKG", &s), 0);
	assert_int_equal(s, BERTH_VERSION_DEB);
	assert_int_equal(berth_version_scheme_parse("pypi", &s), 0);
	assert_int_equal(s, BERTH_VERSION_PEP440);
	assert_int_equal(berth_version_scheme_parse("cobol", &s), BERTH_ENOTFOUND);
	assert_string_equal(berth_version_scheme_name(BERTH_VERSION_NUGET), "nuget");
	assert_int_equal(berth_version_scheme_for_ecosystem("Debian:12", &s), 0);
	assert_int_equal(s, BERTH_VERSION_DEB);
	assert_int_equal(berth_version_scheme_for_ecosystem("crates.io", &s), 0);
	assert_int_equal(s, BERTH_VERSION_SEMVER);
	assert_int_equal(berth_version_scheme_for_ecosystem("Alpine:v3.19", &s), 0);
	assert_int_equal(s, BERTH_VERSION_APK);
	assert_int_equal(berth_version_scheme_for_ecosystem("GIT", &s), BERTH_ENOTFOUND);
}

static void test_go_pseudo_versions_are_recognised(void **state)
{
	assert_true(berth_version_go_is_pseudo("v0.0.0-20191109021931-daa7c04131f5"));
	assert_true(berth_version_go_is_pseudo("v1.2.4-0.20191109021931-daa7c04131f5"));
	assert_true(berth_version_go_is_pseudo(
		"v1.2.3-pre.0.20191109021931-daa7c04131f5+incompatible"));
	assert_false(berth_version_go_is_pseudo("v1.2.3"));
	assert_false(berth_version_go_is_pseudo("v1.2.3-pre"));
	assert_false(berth_version_go_is_pseudo("1.2.3"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_introduced_fixed_is_half_open),
		cmocka_unit_test(test_events_are_sorted_before_the_walk),
		cmocka_unit_test(test_last_affected_and_limit),
		cmocka_unit_test(test_invalid_event_version_is_einvalid),
		cmocka_unit_test(test_scheme_names_and_ecosystems),
		cmocka_unit_test(test_go_pseudo_versions_are_recognised),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
