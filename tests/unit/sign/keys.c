/*
 * keys.c - unit tests for signing keys (src/lib/sign/key.c): the cosign
 * encrypted key file round-trips and is refused with a wrong password or
 * altered bytes, unusual scrypt parameters are refused before any work,
 * PEM private keys of each supported type import and sign/verify, other
 * curves are refused, and the key hint is base64(SHA-256(SPKI DER)).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/sign.h"

static char *pem_of(EVP_PKEY *p)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	assert_int_equal(PEM_write_bio_PrivateKey(b, p, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)n);
	BIO_free(b);
	return out;
}

static void sign_verify(const berth_sign_key *k)
{
	unsigned char *sig = NULL;
	size_t n = 0;

	assert_int_equal(berth_sign_key_sign(k, "message", 7, &sig, &n), 0);
	assert_int_equal(berth_sign_key_verify(k, "message", 7, sig, n), 0);
	assert_int_equal(berth_sign_key_verify(k, "messagE", 7, sig, n), BERTH_EDENIED);
	free(sig);
}

static void test_encrypted_key_round_trips(void **state)
{
	berth_sign_key *k = NULL, *back = NULL, *pub = NULL;
	char *pem = NULL, *pubpem = NULL;
	unsigned char *sig = NULL;
	size_t len, plen, n;

	assert_int_equal(berth_sign_key_generate(&k), 0);
	assert_string_equal(berth_sign_key_type(k), "ecdsa-p256");
	assert_int_equal(berth_sign_key_export_encrypted(k, "pw", &pem, &len), 0);
	assert_non_null(strstr(pem, "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
	assert_int_equal(berth_sign_key_load_private(&back, pem, len, "pw"), 0);
	assert_int_equal(berth_sign_key_export_public(k, &pubpem, &plen), 0);
	assert_int_equal(berth_sign_key_load_public(&pub, pubpem, plen), 0);
	assert_false(berth_sign_key_is_private(pub));
	/* What the reloaded key signs, the original's public key verifies. */
	assert_int_equal(berth_sign_key_sign(back, "abc", 3, &sig, &n), 0);
	assert_int_equal(berth_sign_key_verify(pub, "abc", 3, sig, n), 0);
	free(sig);
	free(pem);
	free(pubpem);
	berth_sign_key_free(k);
	berth_sign_key_free(back);
	berth_sign_key_free(pub);
}

static void test_wrong_password_and_altered_file_are_refused(void **state)
{
	berth_sign_key *k = NULL, *back = NULL;
	char *pem = NULL;
	size_t len;

	assert_int_equal(berth_sign_key_generate(&k), 0);
	assert_int_equal(berth_sign_key_export_encrypted(k, "right", &pem, &len), 0);
	assert_int_equal(berth_sign_key_load_private(&back, pem, len, "wrong"), BERTH_EDENIED);
	assert_null(back);
	assert_non_null(strstr(berth_error_last(), "wrong password"));
	assert_null(strstr(berth_error_last(), "right"));
	/* Changing a base64 character of the body breaks the JSON or the MAC. */
	pem[80] = pem[80] == 'A' ? 'B' : 'A';
	assert_true(berth_sign_key_load_private(&back, pem, len, "right") < 0);
	assert_null(back);
	assert_int_equal(berth_sign_key_load_private(&back, "junk", 4, "x"), BERTH_EINVALID);
	free(pem);
	berth_sign_key_free(k);
}

static char *wrap(const char *label, const char *json)
{
	unsigned char *b64 = malloc(4 * strlen(json) / 3 + 8);
	char *out = NULL;

	EVP_EncodeBlock(b64, (const unsigned char *)json, (int)strlen(json));
	assert_true(asprintf(&out, "-----BEGIN %s-----\n%s\n-----END %s-----\n", label, b64,
			     label) > 0);
	free(b64);
	return out;
}

static void test_unusual_scrypt_parameters_are_refused(void **state)
{
	berth_sign_key *k = NULL;
	char *pem = wrap("ENCRYPTED COSIGN PRIVATE KEY",
			 "{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":1073741824,\"r\":8,"
			 "\"p\":1},\"salt\":\"AAAA\"},\"cipher\":{\"name\":\"nacl/secretbox\","
			 "\"nonce\":\"AAAA\"},\"ciphertext\":\"AAAA\"}");

	assert_int_equal(berth_sign_key_load_private(&k, pem, strlen(pem), "x"),
			 BERTH_EUNSUPPORTED);
	assert_non_null(strstr(berth_error_last(), "scrypt parameters"));
	free(pem);
	pem = wrap("ENCRYPTED SIGSTORE PRIVATE KEY",
		   "{\"kdf\":{\"name\":\"argon2\",\"params\":{}},\"cipher\":{}}");
	assert_int_equal(berth_sign_key_load_private(&k, pem, strlen(pem), "x"),
			 BERTH_EUNSUPPORTED);
	free(pem);
}

static void import_type(const char *alg, const char *param, const char *want)
{
	EVP_PKEY *p = strcmp(alg, "RSA") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
		      : param		      ? EVP_PKEY_Q_keygen(NULL, NULL, alg, param)
					      : EVP_PKEY_Q_keygen(NULL, NULL, alg);
	char *pem = pem_of(p), *again = NULL;
	berth_sign_key *k = NULL, *back = NULL;
	size_t len;

	assert_int_equal(berth_sign_key_load_private(&k, pem, strlen(pem), NULL), 0);
	assert_string_equal(berth_sign_key_type(k), want);
	sign_verify(k);
	/* And it survives the cosign format. */
	assert_int_equal(berth_sign_key_export_encrypted(k, "", &again, &len), 0);
	assert_int_equal(berth_sign_key_load_private(&back, again, len, ""), 0);
	sign_verify(back);
	free(pem);
	free(again);
	EVP_PKEY_free(p);
	berth_sign_key_free(k);
	berth_sign_key_free(back);
}

static void test_pem_keys_of_each_type_import(void **state)
{
	import_type("EC", "P-256", "ecdsa-p256");
	import_type("EC", "P-384", "ecdsa-p384");
	import_type("RSA", NULL, "rsa");
	import_type("ED25519", NULL, "ed25519");
}

static void test_other_curves_are_refused(void **state)
{
	EVP_PKEY *p = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	char *pem = pem_of(p);
	berth_sign_key *k = NULL;

	assert_int_equal(berth_sign_key_load_private(&k, pem, strlen(pem), NULL),
			 BERTH_EUNSUPPORTED);
	assert_null(k);
	free(pem);
	EVP_PKEY_free(p);
}

static void test_hint_is_sha256_of_spki(void **state)
{
	berth_sign_key *k = NULL;
	unsigned char *der = NULL, md[32], b64[64];
	char hint[45];
	EVP_PKEY *p = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char *pem = pem_of(p);
	int n = i2d_PUBKEY(p, &der);

	assert_int_equal(berth_sign_key_load_private(&k, pem, strlen(pem), NULL), 0);
	assert_int_equal(berth_sign_key_hint(k, hint), 0);
	SHA256(der, (size_t)n, md);
	EVP_EncodeBlock(b64, md, 32);
	assert_string_equal(hint, (char *)b64);
	OPENSSL_free(der);
	free(pem);
	EVP_PKEY_free(p);
	berth_sign_key_free(k);
}

static void test_verify_by_digest(void **state)
{
	berth_sign_key *k = NULL;
	unsigned char *sig = NULL, md[32];
	size_t n;

	assert_int_equal(berth_sign_key_generate(&k), 0);
	assert_int_equal(berth_sign_key_sign(k, "blob", 4, &sig, &n), 0);
	SHA256((const unsigned char *)"blob", 4, md);
	assert_int_equal(berth_sign_key_verify_sha256(k, md, sig, n), 0);
	md[0] ^= 1;
	assert_int_equal(berth_sign_key_verify_sha256(k, md, sig, n), BERTH_EDENIED);
	free(sig);
	berth_sign_key_free(k);
}

static void test_base64_is_strict(void **state)
{
	unsigned char *out = NULL;
	size_t n = 0;

	assert_int_equal(berth_sign_b64_decode(&out, &n, "aGVsbG8=", 8), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "hello", 5);
	free(out);
	assert_int_equal(berth_sign_b64_decode(&out, &n, "aGVsbG8", 7), 0); /* unpadded */
	assert_int_equal(n, 5);
	free(out);
	assert_int_equal(berth_sign_b64_decode(&out, &n, "aGV sbG8=", 9), BERTH_EINVALID);
	assert_int_equal(berth_sign_b64_decode(&out, &n, "a", 1), BERTH_EINVALID);
	assert_int_equal(berth_sign_b64_decode(&out, &n, "", 0), 0);
	assert_int_equal(n, 0);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encrypted_key_round_trips),
		cmocka_unit_test(test_wrong_password_and_altered_file_are_refused),
		cmocka_unit_test(test_unusual_scrypt_parameters_are_refused),
		cmocka_unit_test(test_pem_keys_of_each_type_import),
		cmocka_unit_test(test_other_curves_are_refused),
		cmocka_unit_test(test_hint_is_sha256_of_spki),
		cmocka_unit_test(test_verify_by_digest),
		cmocka_unit_test(test_base64_is_strict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
