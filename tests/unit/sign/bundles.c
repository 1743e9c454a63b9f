/*
 * bundles.c - unit tests for sigstore bundles (src/lib/sign/bundle.c,
 * keyless.c): fixed keyless bundles made by @sigstore/mock (data/README)
 * parse (v0.2 chain, v0.3 single certificate, message signature and DSSE)
 * and verify offline against their trusted root; a wrong identity, issuer,
 * artifact, Merkle root or checkpoint is refused; key-based v0.3 bundles
 * written here round-trip; unknown versions and malformed material fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/sign.h"

#define ID "https://github.com/acme/app/.github/workflows/rel.yml@refs/heads/main"
#define ISSUER "https://token.actions.githubusercontent.com"

static char *slurp(const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	char *buf = malloc(1 << 20);

	snprintf(path, sizeof(path), "%s/tests/unit/sign/data/%s",
		 getenv("BERTH_SOURCE_DIR") ? getenv("BERTH_SOURCE_DIR") : ".", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static berth_sign_trusted_root *root(void)
{
	berth_sign_trusted_root *r = NULL;
	size_t len;
	char *text = slurp("trusted_root.json", &len);

	assert_int_equal(berth_sign_trusted_root_parse(&r, text, len), 0);
	free(text);
	return r;
}

static berth_sign_bundle *load(const char *name)
{
	berth_sign_bundle *b = NULL;
	size_t len;
	char *text = slurp(name, &len);

	assert_int_equal(berth_sign_bundle_parse(&b, text, len), 0);
	free(text);
	return b;
}

static void test_keyless_bundles_verify(void **state)
{
	static const char *const names[] = {"blob-v02.sigstore.json", "blob-v03.sigstore.json",
					    "dsse.sigstore.json", "dsse-v03.sigstore.json"};
	berth_sign_identity id = {ID, ISSUER, 0};
	berth_sign_trusted_root *r = root();

	for (size_t i = 0; i < 4; i++) {
		berth_sign_bundle *b = load(names[i]);

		assert_int_equal(b->minor, strstr(names[i], "v03") ? 3 : 2);
		assert_int_equal(b->n_tlog, 1);
		assert_true(b->n_certs >= 1);
		assert_int_equal(berth_sign_bundle_verify(b, "hello\n", 6, NULL, NULL, r, &id), 0);
		assert_int_equal(berth_sign_bundle_verify(b, "hello!", 6, NULL, NULL, r, &id),
				 BERTH_EDENIED);
		berth_sign_bundle_free(b);
	}
	berth_sign_trusted_root_free(r);
}

static void test_wrong_identity_or_issuer_is_refused(void **state)
{
	berth_sign_identity bad_id = {"https://evil.example/x", ISSUER, 0};
	berth_sign_identity bad_iss = {ID, "https://evil.example", 0};
	berth_sign_trusted_root *r = root();
	berth_sign_bundle *b = load("blob-v03.sigstore.json");

	assert_int_equal(berth_sign_bundle_verify(b, "hello\n", 6, NULL, NULL, r, &bad_id),
			 BERTH_EDENIED);
	assert_non_null(strstr(berth_error_last(), "identity"));
	assert_int_equal(berth_sign_bundle_verify(b, "hello\n", 6, NULL, NULL, r, &bad_iss),
			 BERTH_EDENIED);
	assert_non_null(strstr(berth_error_last(), "issuer"));
	berth_sign_bundle_free(b);
	berth_sign_trusted_root_free(r);
}

static void test_inclusion_proof_and_checkpoint_are_checked(void **state)
{
	berth_sign_identity id = {ID, ISSUER, 0};
	berth_sign_trusted_root *r = root();
	berth_sign_bundle *b = load("blob-v03.sigstore.json");
	char *cp;

	/* Without the promise, the proof and checkpoint alone carry the entry. */
	free(b->tlog[0].set);
	b->tlog[0].set = NULL;
	assert_true(b->tlog[0].has_proof);
	assert_int_equal(berth_sign_bundle_verify(b, "hello\n", 6, NULL, NULL, r, &id), 0);
	b->tlog[0].root_hash[3] ^= 1;
	assert_int_equal(berth_sign_bundle_verify(b, "hello\n", 6, NULL, NULL, r, &id),
			 BERTH_EDENIED);
	b->tlog[0].root_hash[3] ^= 1;
	/* A checkpoint signed by someone else (one signature byte changed). */
	cp = b->tlog[0].checkpoint;
	cp[strlen(cp) - 5] = cp[strlen(cp) - 5] == 'A' ? 'B' : 'A';
	assert_int_equal(berth_sign_bundle_verify(b, "hello\n", 6, NULL, NULL, r, &id),
			 BERTH_EDENIED);
	/* The index must lie inside the tree. */
	b->tlog[0].proof_index = b->tlog[0].tree_size;
	assert_int_equal(berth_sign_bundle_verify(b, "hello\n", 6, NULL, NULL, r, &id),
			 BERTH_EDENIED);
	berth_sign_bundle_free(b);
	berth_sign_trusted_root_free(r);
}

static void test_key_bundle_round_trips(void **state)
{
	berth_sign_key *k = NULL, *other = NULL;
	berth_sign_bundle *b = NULL;
	unsigned char *sig = NULL, md[32];
	char *json = NULL;
	size_t n, len;

	assert_int_equal(berth_sign_key_generate(&k), 0);
	assert_int_equal(berth_sign_key_generate(&other), 0);
	assert_int_equal(berth_sign_key_sign(k, "blob", 4, &sig, &n), 0);
	SHA256((const unsigned char *)"blob", 4, md);
	assert_int_equal(berth_sign_bundle_write_key(&json, &len, k, md, sig, n, NULL, NULL), 0);
	assert_int_equal(berth_sign_bundle_parse(&b, json, len), 0);
	assert_int_equal(b->minor, 3);
	assert_non_null(b->key_hint);
	assert_int_equal(berth_sign_bundle_verify(b, "blob", 4, NULL, k, NULL, NULL), 0);
	assert_int_equal(berth_sign_bundle_verify(b, NULL, 0, md, k, NULL, NULL), 0);
	assert_int_equal(berth_sign_bundle_verify(b, "blob", 4, NULL, other, NULL, NULL),
			 BERTH_EDENIED);
	/* Keyless verification of a key bundle: no certificate. */
	berth_sign_bundle_free(b);
	free(json);
	free(sig);
	berth_sign_key_free(k);
	berth_sign_key_free(other);
}

static void test_bad_bundles_are_refused(void **state)
{
	static const char *const bad[] = {
		"{}",
		"{\"mediaType\":\"application/vnd.dev.sigstore.bundle+json;version=9\"}",
		"{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\"}",
		"{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\","
		"\"verificationMaterial\":{}}",
		"{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\","
		"\"verificationMaterial\":{},\"messageSignature\":{\"messageDigest\":{"
		"\"algorithm\":"
		"\"SHA2_512\",\"digest\":\"AA==\"},\"signature\":\"AA==\"}}",
		"{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\","
		"\"verificationMaterial\":{\"tlogEntries\":[{\"logIndex\":\"x\"}]},"
		"\"messageSignature\":{}}",
		"{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\","
		"\"verificationMaterial\":{\"certificate\":{\"rawBytes\":\"!!\"}},"
		"\"messageSignature\":{}}",
	};
	berth_sign_bundle *b = NULL;
	berth_sign_trusted_root *r = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(berth_sign_bundle_parse(&b, bad[i], strlen(bad[i])) < 0);
		assert_null(b);
	}
	assert_int_equal(berth_sign_trusted_root_parse(&r, "{}", 2), BERTH_EINVALID);
	assert_null(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyless_bundles_verify),
		cmocka_unit_test(test_wrong_identity_or_issuer_is_refused),
		cmocka_unit_test(test_inclusion_proof_and_checkpoint_are_checked),
		cmocka_unit_test(test_key_bundle_round_trips),
		cmocka_unit_test(test_bad_bundles_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
