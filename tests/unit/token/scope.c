/*
 * scope.c - unit tests for action lists and token scopes
 * (berth_token_actions_parse/format, berth_token_scope_parse/format): the
 * accepted forms, "*", unsupported resource types, malformed shapes, and
 * format -> parse round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "berth/token.h"
#include "util/buf.h"

static int parse(const char *s, berth_scope *out)
{
	return berth_token_scope_parse(s, strlen(s), out);
}

static void test_actions_parse(void **state)
{
	static const struct {
		const char *s;
		unsigned bits;
	} good[] = {
		{"pull", BERTH_ACTION_PULL},
		{"push", BERTH_ACTION_PUSH},
		{"delete", BERTH_ACTION_DELETE},
		{"pull,push", BERTH_ACTION_PULL | BERTH_ACTION_PUSH},
		{"push,pull,pull", BERTH_ACTION_PULL | BERTH_ACTION_PUSH},
		{"*", BERTH_ACTION_PULL | BERTH_ACTION_PUSH | BERTH_ACTION_DELETE},
	};
	static const char *bad[] = {"",		 ",",	       "pull,", ",pull", "Pull", "admin",
				    "pull push", "pull,,push", "**",	"pul",	 "pulll"};
	unsigned bits;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(berth_token_actions_parse(good[i].s, strlen(good[i].s), &bits), 0);
		assert_int_equal(bits, good[i].bits);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (berth_token_actions_parse(bad[i], strlen(bad[i]), &bits) != BERTH_EINVALID)
			fail_msg("'%s' should be refused", bad[i]);
	}
	/* Length is explicit: bytes after len are not read. */
	assert_int_equal(berth_token_actions_parse("pullXX", 4, &bits), 0);
	assert_int_equal(bits, BERTH_ACTION_PULL);
}

static void test_actions_format(void **state)
{
	berth_buf b = BERTH_BUF_INIT(0);

	assert_int_equal(berth_token_actions_format(BERTH_ACTION_DELETE | BERTH_ACTION_PULL, &b),
			 0);
	assert_string_equal(b.ptr, "pull,delete");
	berth_buf_reset(&b);
	assert_int_equal(berth_token_actions_format(7, &b), 0);
	assert_string_equal(b.ptr, "pull,push,delete");
	berth_buf_reset(&b);
	assert_int_equal(berth_token_actions_format(BERTH_ACTION_ADMIN | BERTH_ACTION_PULL, &b),
			 BERTH_EINVALID);
	assert_int_equal(b.len, 0);
	berth_buf_dispose(&b);
}

static void test_scope_parse_valid(void **state)
{
	berth_scope s;

	assert_int_equal(parse("repository:team/app:pull,push", &s), 0);
	assert_string_equal(s.type, "repository");
	assert_string_equal(s.name, "team/app");
	assert_int_equal(s.actions, BERTH_ACTION_PULL | BERTH_ACTION_PUSH);

	assert_int_equal(parse("registry:catalog:*", &s), 0);
	assert_string_equal(s.type, "registry");
	assert_string_equal(s.name, "catalog");
	assert_int_equal(s.actions, 7);

	assert_int_equal(parse("repository:library/alpine:*", &s), 0);
	assert_int_equal(s.actions, 7);

	assert_int_equal(parse("repository:a/b/c-d.e__f:delete", &s), 0);
	assert_string_equal(s.name, "a/b/c-d.e__f");
	assert_int_equal(s.actions, BERTH_ACTION_DELETE);
}

static void test_scope_parse_invalid(void **state)
{
	static const char *bad[] = {
		"",
		"repository",
		"repository:team/app",
		"repository::pull",
		"repository:Team/app:pull",
		"repository:team/app:",
		"repository:team/app:fly",
		"repository:team/app:pull,",
		"repository:team//app:pull",
		"repository:host:5000/app:pull", /* ':' inside the name */
		"registry:other:*",
		"registry::*",
		":team/app:pull",
		"Repository:team/app:pull",
		"repo sitory:team/app:pull",
	};
	berth_scope s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &s) != BERTH_EINVALID)
			fail_msg("'%s' should be EINVALID", bad[i]);
	}
}

static void test_scope_unsupported_types(void **state)
{
	berth_scope s;

	assert_int_equal(parse("repository(plugin):team/app:pull", &s), BERTH_EUNSUPPORTED);
	assert_int_equal(parse("foo:bar:pull", &s), BERTH_EUNSUPPORTED);
}

static void test_scope_format_round_trip(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"repository:team/app:push,pull", "repository:team/app:pull,push"},
		{"repository:team/app:*", "repository:team/app:pull,push,delete"},
		{"registry:catalog:*", "registry:catalog:*"},
		{"registry:catalog:pull", "registry:catalog:pull"},
		{"registry:admin:*", "registry:admin:*"},
	};
	berth_buf b = BERTH_BUF_INIT(0);
	berth_scope s, again;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		berth_buf_reset(&b);
		assert_int_equal(parse(cases[i].in, &s), 0);
		assert_int_equal(berth_token_scope_format(&s, &b), 0);
		assert_string_equal(b.ptr, cases[i].out);
		assert_int_equal(berth_token_scope_parse(b.ptr, b.len, &again), 0);
		assert_memory_equal(&s, &again, sizeof(s));
	}
	berth_buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_actions_parse),
		cmocka_unit_test(test_actions_format),
		cmocka_unit_test(test_scope_parse_valid),
		cmocka_unit_test(test_scope_parse_invalid),
		cmocka_unit_test(test_scope_unsupported_types),
		cmocka_unit_test(test_scope_format_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
