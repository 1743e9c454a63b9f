/*
 * parse.c - unit tests for berth_digest_parse: the OCI digest grammar,
 * sha256/sha512 exact lowercase hex, EUNSUPPORTED vs EINVALID, length caps
 * and explicit (non NUL-terminated) lengths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/digest.h"

#define HEX64 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define HEX128                                                                                     \
	"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"                         \
	"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"

static int parse(const char *s, berth_digest *d)
{
	return berth_digest_parse(d, s, strlen(s));
}

static void test_valid_sha256(void **state)
{
	berth_digest d;

	assert_int_equal(parse("sha256:" HEX64, &d), 0);
	assert_int_equal(d.algo, BERTH_DIGEST_SHA256);
	assert_string_equal(d.str, "sha256:" HEX64);
	assert_string_equal(berth_digest_hex(&d), HEX64);
}

static void test_valid_sha512(void **state)
{
	berth_digest d;

	assert_int_equal(parse("sha512:" HEX128, &d), 0);
	assert_int_equal(d.algo, BERTH_DIGEST_SHA512);
	assert_string_equal(berth_digest_hex(&d), HEX128);
	assert_string_equal(berth_digest_algo_name(d.algo), "sha512");
}

static void test_wrong_hex_length_is_invalid(void **state)
{
	berth_digest d;
	char s[200];

	/* 63 and 65 hex characters for sha256 */
	snprintf(s, sizeof(s), "sha256:%.63s", HEX64);
	assert_int_equal(parse(s, &d), BERTH_EINVALID);
	snprintf(s, sizeof(s), "sha256:%s0", HEX64);
	assert_int_equal(parse(s, &d), BERTH_EINVALID);
	/* a sha256-length hex string under sha512 */
	assert_int_equal(parse("sha512:" HEX64, &d), BERTH_EINVALID);
	snprintf(s, sizeof(s), "sha512:%.127s", HEX128);
	assert_int_equal(parse(s, &d), BERTH_EINVALID);
}

static void test_uppercase_hex_is_invalid(void **state)
{
	berth_digest d;
	char s[200];

	snprintf(s, sizeof(s), "sha256:%s", HEX64);
	s[7] = 'E';
	assert_int_equal(parse(s, &d), BERTH_EINVALID);
	/* non-hex but grammar-legal encoded characters */
	snprintf(s, sizeof(s), "sha256:%s", HEX64);
	s[10] = 'g';
	assert_int_equal(parse(s, &d), BERTH_EINVALID);
}

static void test_other_algorithms_are_unsupported(void **state)
{
	berth_digest d;

	assert_int_equal(parse("md5:abc", &d), BERTH_EUNSUPPORTED);
	assert_int_equal(parse("sha384:" HEX64, &d), BERTH_EUNSUPPORTED);
	assert_int_equal(
		parse("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", &d),
		BERTH_EUNSUPPORTED);
	assert_int_equal(parse("a.b_c-d+e:A=_-z", &d), BERTH_EUNSUPPORTED);
	/* case matters for the algorithm: SHA256 is not a valid component */
	assert_int_equal(parse("SHA256:" HEX64, &d), BERTH_EINVALID);
}

static void test_malformed_is_invalid(void **state)
{
	static const char *bad[] = {
		"",
		"sha256",
		"sha256:",
		":" HEX64,
		"sha256::" HEX64,
		"-sha:abc",
		"sha-:abc",
		"sh..a:abc",
		"sha 256:ab",
		"sha256:" HEX64 " ",
		" sha256:" HEX64,
		"sha256:ab/c",
		"x:ab!c",
		"+a:b",
	};
	berth_digest d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(bad[i], &d);
		if (rc != BERTH_EINVALID)
			fail_msg("'%s' gave %d, want EINVALID", bad[i], rc);
	}
}

static void test_explicit_length_is_honoured(void **state)
{
	berth_digest d;
	char s[200];

	/* The buffer continues past len: only len bytes may be used. */
	snprintf(s, sizeof(s), "sha256:%sXYZ", HEX64);
	assert_int_equal(berth_digest_parse(&d, s, 7 + 64), 0);
	assert_string_equal(d.str, "sha256:" HEX64);
	/* An embedded NUL inside len is an invalid character. */
	snprintf(s, sizeof(s), "sha256:%s", HEX64);
	s[20] = '\0';
	assert_int_equal(berth_digest_parse(&d, s, 7 + 64), BERTH_EINVALID);
	/* One byte short. */
	snprintf(s, sizeof(s), "sha256:%s", HEX64);
	assert_int_equal(berth_digest_parse(&d, s, 7 + 63), BERTH_EINVALID);
}

static void test_oversized_input_is_rejected(void **state)
{
	berth_digest d;
	size_t n = 1 << 16;
	char *s = malloc(n);

	assert_non_null(s);
	memcpy(s, "foo:", 4);
	memset(s + 4, 'a', n - 4);
	assert_int_equal(berth_digest_parse(&d, s, n), BERTH_EINVALID);
	free(s);
}

static void test_equal(void **state)
{
	berth_digest a, b, c;

	assert_int_equal(parse("sha256:" HEX64, &a), 0);
	assert_int_equal(parse("sha256:" HEX64, &b), 0);
	assert_int_equal(parse("sha512:" HEX128, &c), 0);
	assert_true(berth_digest_equal(&a, &b));
	assert_false(berth_digest_equal(&a, &c));
	b.str[10] = b.str[10] == '0' ? '1' : '0';
	assert_false(berth_digest_equal(&a, &b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_sha256),
		cmocka_unit_test(test_valid_sha512),
		cmocka_unit_test(test_wrong_hex_length_is_invalid),
		cmocka_unit_test(test_uppercase_hex_is_invalid),
		cmocka_unit_test(test_other_algorithms_are_unsupported),
		cmocka_unit_test(test_malformed_is_invalid),
		cmocka_unit_test(test_explicit_length_is_honoured),
		cmocka_unit_test(test_oversized_input_is_rejected),
		cmocka_unit_test(test_equal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
