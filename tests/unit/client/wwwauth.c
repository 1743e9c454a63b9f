/*
 * wwwauth.c - the WWW-Authenticate parser: quoted values with commas and
 * escapes, several challenges in one header, odd spacing and garbage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lib/client/internal.h"

static void bearer_with_quoted_commas_is_parsed(void **state)
{
	berth_client__challenge ch[4];
	size_t n;

	(void)state;
	n = berth_client__parse_challenges(
		"Bearer realm=\"https://auth.example.com/token\",service=\"registry, example\","
		"scope=\"repository:a/b:pull,push\"",
		ch, 4);
	assert_int_equal(n, 1);
	assert_string_equal(ch[0].scheme, "bearer");
	assert_string_equal(berth_client__challenge_param(&ch[0], "realm"),
			    "https://auth.example.com/token");
	assert_string_equal(berth_client__challenge_param(&ch[0], "service"), "registry, example");
	assert_string_equal(berth_client__challenge_param(&ch[0], "SCOPE"),
			    "repository:a/b:pull,push");
	assert_null(berth_client__challenge_param(&ch[0], "error"));
}

static void several_challenges_are_separated(void **state)
{
	berth_client__challenge ch[4];
	size_t n;

	(void)state;
	n = berth_client__parse_challenges(
		"Basic realm=\"Registry Realm, with comma\", Bearer realm=\"http://x/t\" , "
		"service=reg ,error=\"invalid_token\"",
		ch, 4);
	assert_int_equal(n, 2);
	assert_string_equal(ch[0].scheme, "basic");
	assert_string_equal(berth_client__challenge_param(&ch[0], "realm"),
			    "Registry Realm, with comma");
	assert_string_equal(ch[1].scheme, "bearer");
	assert_string_equal(berth_client__challenge_param(&ch[1], "realm"), "http://x/t");
	assert_string_equal(berth_client__challenge_param(&ch[1], "service"), "reg");
	assert_string_equal(berth_client__challenge_param(&ch[1], "error"), "invalid_token");
}

static void escaped_quotes_and_case_are_handled(void **state)
{
	berth_client__challenge ch[2];

	(void)state;
	assert_int_equal(berth_client__parse_challenges("BEARER Realm=\"a\\\"b\"", ch, 2), 1);
	assert_string_equal(ch[0].scheme, "bearer");
	assert_string_equal(berth_client__challenge_param(&ch[0], "realm"), "a\"b");
}

static void garbage_never_overflows(void **state)
{
	berth_client__challenge ch[2];
	char big[8192];

	(void)state;
	assert_int_equal(berth_client__parse_challenges("", ch, 2), 0);
	assert_int_equal(berth_client__parse_challenges(NULL, ch, 2), 0);
	assert_int_equal(berth_client__parse_challenges("=\"unterminated", ch, 2), 0);
	/* A value longer than the field is truncated, not overflowed. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "Bearer realm=\"", 14);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(berth_client__parse_challenges(big, ch, 2), 1);
	assert_int_equal(strlen(berth_client__challenge_param(&ch[0], "realm")),
			 sizeof(ch[0].params[0].value) - 1);
	/* More challenges than room: the first ones are kept. */
	assert_int_equal(berth_client__parse_challenges("Basic a=1, Bearer b=2, Digest c=3", ch, 2),
			 2);
	assert_string_equal(ch[1].scheme, "bearer");
}

static void host_keys_match_like_docker(void **state)
{
	(void)state;
	assert_true(berth_client__host_match("https://index.docker.io/v1/", "docker.io"));
	assert_true(berth_client__host_match("registry-1.docker.io", "docker.io"));
	assert_true(berth_client__host_match("https://reg.example.com", "reg.example.com"));
	assert_true(berth_client__host_match("http://127.0.0.1:5000/v2/", "127.0.0.1:5000"));
	assert_false(berth_client__host_match("127.0.0.1:5001", "127.0.0.1:5000"));
	assert_false(berth_client__host_match("quay.io/team", "quay.io"));
	assert_false(berth_client__host_match("evil.docker.io.example", "docker.io"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bearer_with_quoted_commas_is_parsed),
		cmocka_unit_test(several_challenges_are_separated),
		cmocka_unit_test(escaped_quotes_and_case_are_handled),
		cmocka_unit_test(garbage_never_overflows),
		cmocka_unit_test(host_keys_match_like_docker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
