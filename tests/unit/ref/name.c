/*
 * name.c - unit tests for the repository-name and tag grammars
 * (berth_ref_name_valid, berth_ref_tag_valid): every separator form, the
 * 255/128 length limits and the usual malformed shapes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "berth/ref.h"

static int name_ok(const char *s)
{
	return berth_ref_name_valid(s, strlen(s));
}

static int tag_ok(const char *s)
{
	return berth_ref_tag_valid(s, strlen(s));
}

static void test_valid_names(void **state)
{
	static const char *good[] = {
		"a",
		"a/b",
		"a__b",
		"a---b",
		"a_b",
		"a.b",
		"a-b",
		"0",
		"library/alpine",
		"a/b/c/d",
		"a1.b2-c3__d4/e_5",
		"x--y.z_w__v/q",
		"9/8/7",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!name_ok(good[i]))
			fail_msg("'%s' should be a valid name", good[i]);
	}
}

static void test_invalid_names(void **state)
{
	static const char *bad[] = {
		"",	 "A",	 "a//b", "-a",	 "a-",	 "a.",	 ".a",	 "_a",	 "a_",
		"a___b", "a..b", "a._b", "a_.b", "a-.b", "/a",	 "a/",	 "a/-b", "a/B",
		"a b",	 "a:b",	 "a@b",	 "aB",	 "a/.b", "a/b_", "a\tb", "ä",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (name_ok(bad[i]))
			fail_msg("'%s' should be an invalid name", bad[i]);
	}
}

static void test_name_length_limit(void **state)
{
	char s[300];

	memset(s, 'a', sizeof(s));
	assert_true(berth_ref_name_valid(s, 255));
	assert_false(berth_ref_name_valid(s, 256));
	/* 255 with separators too */
	for (size_t i = 1; i < 255; i += 2)
		s[i] = '/';
	assert_true(berth_ref_name_valid(s, 255));
	assert_false(berth_ref_name_valid(s, 254)); /* ends in '/' */
}

static void test_name_length_is_explicit(void **state)
{
	/* Only len bytes count: "a/" is invalid but its prefix "a" is fine. */
	assert_true(berth_ref_name_valid("a/", 1));
	assert_false(berth_ref_name_valid("a/", 2));
	assert_false(berth_ref_name_valid("a\0b", 3));
	assert_false(berth_ref_name_valid(NULL, 0));
}

static void test_valid_tags(void **state)
{
	static const char *good[] = {"latest", "1.0", "v1.2.3-rc.1", "_x", "A", "a_B-c.D", "0"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!tag_ok(good[i]))
			fail_msg("'%s' should be a valid tag", good[i]);
	}
}

static void test_invalid_tags(void **state)
{
	static const char *bad[] = {"", ".a", "-a", "a/b", "a:b", "a@b", "a b", "a+b", "ü"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tag_ok(bad[i]))
			fail_msg("'%s' should be an invalid tag", bad[i]);
	}
}

static void test_tag_length_limit(void **state)
{
	char s[200];

	memset(s, 'x', sizeof(s));
	assert_true(berth_ref_tag_valid(s, 128));
	assert_false(berth_ref_tag_valid(s, 129));
	assert_true(berth_ref_tag_valid(s, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_names),
		cmocka_unit_test(test_invalid_names),
		cmocka_unit_test(test_name_length_limit),
		cmocka_unit_test(test_name_length_is_explicit),
		cmocka_unit_test(test_valid_tags),
		cmocka_unit_test(test_invalid_tags),
		cmocka_unit_test(test_tag_length_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
