/*
 * glob.c - unit tests for the filter globs of replication rules
 * (berth_replicate_glob_match): Harbor's doublestar syntax, the `**` path
 * elements that match no element, braces, escapes, and the caps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "berth/replicate.h"

static int m(const char *pattern, const char *s)
{
	return berth_replicate_glob_match(pattern, s);
}

static void double_star_matches_every_depth_under_apps(void **state)
{
	(void)state;
	assert_int_equal(m("apps/**", "apps/web"), 1);
	assert_int_equal(m("apps/**", "apps/team/web"), 1);
	assert_int_equal(m("apps/**", "apps"), 1); /* the element may be empty */
	assert_int_equal(m("apps/**", "appsx/web"), 0);
	assert_int_equal(m("apps/**", "other/apps/web"), 0);
	assert_int_equal(m("apps/**", "library/busybox"), 0);
}

static void single_star_stays_within_one_element(void **state)
{
	(void)state;
	assert_int_equal(m("apps/*", "apps/web"), 1);
	assert_int_equal(m("apps/*", "apps/team/web"), 0);
	assert_int_equal(m("*", "busybox"), 1);
	assert_int_equal(m("*", "library/busybox"), 0);
	assert_int_equal(m("v1.*", "v1.2.3"), 1);
	assert_int_equal(m("*-rc", "1.0-rc"), 1);
	assert_int_equal(m("*-rc", "1.0-rc1"), 0);
}

static void double_star_element_in_the_middle_may_be_empty(void **state)
{
	(void)state;
	assert_int_equal(m("a/**/b", "a/b"), 1);
	assert_int_equal(m("a/**/b", "a/x/b"), 1);
	assert_int_equal(m("a/**/b", "a/x/y/b"), 1);
	assert_int_equal(m("a/**/b", "a/xb"), 0);
	assert_int_equal(m("**/web", "web"), 1);
	assert_int_equal(m("**/web", "x/y/web"), 1);
	assert_int_equal(m("a/**/b/**/c", "a/b/c"), 1);
	assert_int_equal(m("a/**/b/**/c", "a/x/b/c"), 1);
	assert_int_equal(m("a/**/b/**/c", "a/b/y/c"), 1);
}

static void question_mark_is_one_character_but_slash(void **state)
{
	(void)state;
	assert_int_equal(m("v?", "v1"), 1);
	assert_int_equal(m("v?", "v12"), 0);
	assert_int_equal(m("v?", "v"), 0);
	assert_int_equal(m("a?b", "a/b"), 0);
}

static void braces_give_alternatives_and_nest(void **state)
{
	(void)state;
	assert_int_equal(m("{apps,libs}/**", "libs/x"), 1);
	assert_int_equal(m("{apps,libs}/**", "tools/x"), 0);
	assert_int_equal(m("v{1,2{a,b}}", "v2b"), 1);
	assert_int_equal(m("v{1,2{a,b}}", "v2"), 0);
	assert_int_equal(m("x{,y}", "x"), 1);
	assert_int_equal(m("x{,y}", "xy"), 1);
}

static void escapes_make_literals(void **state)
{
	(void)state;
	assert_int_equal(m("a\\*", "a*"), 1);
	assert_int_equal(m("a\\*", "ab"), 0);
	assert_int_equal(m("\\{a\\}", "{a}"), 1);
}

static void bad_patterns_are_errors(void **state)
{
	char big[BERTH_REPLICATE_PATTERN_MAX + 2];
	char many[200] = "";

	(void)state;
	assert_int_equal(m("{a,b", "a"), BERTH_EINVALID);
	assert_int_equal(m("a}", "a"), BERTH_EINVALID);
	assert_int_equal(m("a\\", "a"), BERTH_EINVALID);
	assert_int_equal(m("a\tb", "a"), BERTH_EINVALID);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(m(big, "a"), BERTH_EINVALID);
	/* 2^7 = 128 alternatives: beyond the cap. */
	for (int i = 0; i < 7; i++)
		strcat(many, "{a,b}");
	assert_int_equal(m(many, "a"), BERTH_EINVALID);
}

static void hostile_stars_stay_linear(void **state)
{
	char s[4097];

	(void)state;
	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	/* Backtracking matchers take exponential time on this; ours does not. */
	assert_int_equal(m("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", s), 0);
	assert_int_equal(m("**a**a**a**a**a**a**a**a**a**a**b", s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(double_star_matches_every_depth_under_apps),
		cmocka_unit_test(single_star_stays_within_one_element),
		cmocka_unit_test(double_star_element_in_the_middle_may_be_empty),
		cmocka_unit_test(question_mark_is_one_character_but_slash),
		cmocka_unit_test(braces_give_alternatives_and_nest),
		cmocka_unit_test(escapes_make_literals),
		cmocka_unit_test(bad_patterns_are_errors),
		cmocka_unit_test(hostile_stars_stay_linear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
