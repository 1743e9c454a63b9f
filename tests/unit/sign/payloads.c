/*
 * payloads.c - unit tests for what gets signed (src/lib/sign/payload.c):
 * cosign's simple-signing bytes exactly, its checks (type, digest,
 * annotations), the DSSE PAE of the spec's example, envelopes that sign and
 * verify and malformed ones refused, in-toto statements and predicate types.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "berth/sign.h"

#define D1 "sha256:0000000000000000000000000000000000000000000000000000000000000001"
#define D2 "sha256:0000000000000000000000000000000000000000000000000000000000000002"

static void test_simple_signing_bytes_are_cosigns(void **state)
{
	berth_sign_annotation ann[] = {{"zeta", "1"}, {"alpha", "2"}};
	char *out = NULL;
	size_t len;

	assert_int_equal(berth_sign_simple_signing(&out, &len, "reg.example/app", D1, NULL, 0), 0);
	assert_string_equal(out, "{\"critical\":{\"identity\":{\"docker-reference\":"
				 "\"reg.example/app\"},\"image\":{\"docker-manifest-digest\":\"" D1
				 "\"},\"type\":\"cosign container image signature\"},"
				 "\"optional\":null}");
	free(out);
	assert_int_equal(berth_sign_simple_signing(&out, &len, "r/a", D1, ann, 2), 0);
	assert_non_null(strstr(out, "\"optional\":{\"alpha\":\"2\",\"zeta\":\"1\"}"));
	assert_int_equal(berth_sign_simple_signing_check(out, len, D1, ann, 2), 0);
	assert_int_equal(berth_sign_simple_signing_check(out, len, D2, NULL, 0), BERTH_EDENIED);
	assert_non_null(strstr(berth_error_last(), "another image"));
	ann[0].value = "9";
	assert_int_equal(berth_sign_simple_signing_check(out, len, D1, ann, 1), BERTH_EDENIED);
	free(out);
	assert_int_equal(
		berth_sign_simple_signing_check("{\"critical\":{\"type\":\"x\"}}", 26, D1, NULL, 0),
		BERTH_EDENIED);
	assert_int_equal(berth_sign_simple_signing_check("[", 1, D1, NULL, 0), BERTH_EDENIED);
}

static void test_pae_matches_the_dsse_spec_example(void **state)
{
	static const char want[] = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";
	unsigned char *pae = NULL;
	size_t n;

	assert_int_equal(
		berth_sign_dsse_pae(&pae, &n, "http://example.com/HelloWorld", "hello world", 11),
		0);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(pae, want, n);
	free(pae);
}

static void test_envelope_signs_and_verifies(void **state)
{
	berth_sign_key *k = NULL, *other = NULL;
	berth_sign_dsse *e = NULL;
	char *env = NULL;
	size_t len;

	assert_int_equal(berth_sign_key_generate(&k), 0);
	assert_int_equal(berth_sign_key_generate(&other), 0);
	assert_int_equal(berth_sign_dsse_sign(&env, &len, k, BERTH_SIGN_INTOTO_PT, "{}", 2), 0);
	assert_int_equal(berth_sign_dsse_parse(&e, env, len), 0);
	assert_string_equal(e->payload_type, BERTH_SIGN_INTOTO_PT);
	assert_int_equal(e->payload_len, 2);
	assert_int_equal(berth_sign_dsse_verify(e, k), 0);
	assert_int_equal(berth_sign_dsse_verify(e, other), BERTH_EDENIED);
	/* The signature covers the type too (PAE). */
	free(e->payload_type);
	e->payload_type = strdup("text/plain");
	assert_int_equal(berth_sign_dsse_verify(e, k), BERTH_EDENIED);
	berth_sign_dsse_free(e);
	free(env);
	berth_sign_key_free(k);
	berth_sign_key_free(other);
}

/* One literal (clang's -Wstring-concatenation refuses a split one in an array). */
#define DUPLICATE_PAYLOAD                                                                          \
	"{\"payloadType\":\"x\",\"payload\":\"e30=\",\"payload\":\"e30=\",\"signatures\":[]}"

static void test_malformed_envelopes_are_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"payloadType\":1,\"payload\":\"e30=\",\"signatures\":[{\"sig\":\"AA==\"}]}",
		"{\"payloadType\":\"x\",\"payload\":\"%%\",\"signatures\":[{\"sig\":\"AA==\"}]}",
		"{\"payloadType\":\"x\",\"payload\":\"e30=\",\"signatures\":[]}",
		"{\"payloadType\":\"x\",\"payload\":\"e30=\",\"signatures\":[{\"keyid\":\"k\"}]}",
		DUPLICATE_PAYLOAD,
	};
	berth_sign_dsse *e = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(berth_sign_dsse_parse(&e, bad[i], strlen(bad[i])) < 0);
		assert_null(e);
	}
}

static void test_statements_and_predicate_types(void **state)
{
	char *stmt = NULL, *found = NULL;
	size_t len;

	assert_string_equal(berth_sign_predicate_type("spdxjson"), "https://spdx.dev/Document");
	assert_string_equal(berth_sign_predicate_type("slsaprovenance1"),
			    "https://slsa.dev/provenance/v1");
	assert_string_equal(berth_sign_predicate_type("https://x.example/p"),
			    "https://x.example/p");
	assert_null(berth_sign_predicate_type("nonsense"));
	assert_int_equal(berth_sign_intoto_statement(&stmt, &len, "r/a", D1,
						     "https://cyclonedx.org/bom", "{\"a\":1}", 7,
						     0),
			 0);
	assert_int_equal(
		berth_sign_intoto_check(stmt, len, D1, "https://cyclonedx.org/bom", &found), 0);
	assert_string_equal(found, "https://cyclonedx.org/bom");
	free(found);
	assert_int_equal(berth_sign_intoto_check(stmt, len, D2, NULL, NULL), BERTH_EDENIED);
	assert_int_equal(berth_sign_intoto_check(stmt, len, D1, "https://spdx.dev/Document", NULL),
			 BERTH_EDENIED);
	free(stmt);
	assert_int_equal(berth_sign_intoto_statement(&stmt, &len, "r/a", D1, "u", "{", 1, 0),
			 BERTH_EINVALID);
	assert_int_equal(berth_sign_intoto_statement(&stmt, &len, "r/a", D1, "u", "{", 1, 1), 0);
	assert_non_null(strstr(stmt, "\"Data\":\"{\""));
	free(stmt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_signing_bytes_are_cosigns),
		cmocka_unit_test(test_pae_matches_the_dsse_spec_example),
		cmocka_unit_test(test_envelope_signs_and_verifies),
		cmocka_unit_test(test_malformed_envelopes_are_refused),
		cmocka_unit_test(test_statements_and_predicate_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
