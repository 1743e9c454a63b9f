/*
 * password.c - unit tests for password hashing (src/lib/auth/password.c):
 * bcrypt $2y$ round trips, wrong passwords, published external vectors
 * (PHP's password_verify example, crypt_blowfish's "U*U", Drepper's
 * SHA-crypt "Hello world!"), refusal of malformed or oversized input, the
 * burn path really hashing, concurrent use, and robot secrets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "berth/cred.h"
#include "lib/cred/internal.h"

static void test_hash_verify_round_trip(void **state)
{
	char h1[BERTH_CRED_HASH_MAX], h2[BERTH_CRED_HASH_MAX];

	assert_int_equal(berth_cred_password_hash(h1, "correct horse"), 0);
	assert_int_equal(strncmp(h1, "$2y$10$", 7), 0);
	assert_int_equal(strlen(h1), 60);
	assert_int_equal(berth_cred_password_verify(h1, "correct horse"), 0);
	assert_int_equal(berth_cred_password_verify(h1, "correct horsE"), BERTH_EDENIED);
	assert_int_equal(berth_cred_password_verify(h1, ""), BERTH_EDENIED);
	assert_int_equal(berth_cred_password_verify(h1, "correct horse "), BERTH_EDENIED);
	/* A fresh salt each time. */
	assert_int_equal(berth_cred_password_hash(h2, "correct horse"), 0);
	assert_string_not_equal(h1, h2);
	assert_int_equal(berth_cred_password_verify(h2, "correct horse"), 0);
	/* The message is generic and holds no secret. */
	assert_int_equal(berth_cred_password_verify(h1, "guess-123"), BERTH_EDENIED);
	assert_null(strstr(berth_error_last(), "guess-123"));
	assert_null(strstr(berth_error_last(), h1 + 7));
}

static void test_external_vectors(void **state)
{
	/* PHP manual, password_verify() example ($2y$ as `htpasswd -B` writes). */
	assert_int_equal(berth_cred_password_verify(
				 "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a",
				 "rasmuslerdorf"),
			 0);
	assert_int_equal(berth_cred_password_verify(
				 "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a",
				 "rasmuslerdorF"),
			 BERTH_EDENIED);
	/* crypt_blowfish test vector, $2a$ and the same under $2b$. */
	assert_int_equal(
		berth_cred_password_verify(
			"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"),
		0);
	assert_int_equal(
		berth_cred_password_verify(
			"$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"),
		0);
	/* Drepper's SHA-crypt specification, "Hello world!" with salt "saltstring". */
	assert_int_equal(berth_cred_password_verify(
				 "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
				 "Hello world!"),
			 0);
	assert_int_equal(berth_cred_password_verify(
				 "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQ"
				 "JuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
				 "Hello world!"),
			 0);
	assert_int_equal(berth_cred_password_verify(
				 "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQ"
				 "JuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
				 "Hello world"),
			 BERTH_EDENIED);
}

/* A SHA-512 crypt hash whose rounds would take minutes to verify. */
static const char sha512_huge_rounds[] =
	"$6$rounds=999999999$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQ"
	"JuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";

static void test_refused_hashes(void **state)
{
	static const char *bad[] = {
		"",
		"$apr1$abcdefgh$0123456789abcdefghijkl", /* MD5 */
		"{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=",
		"abJnggxhB/yWI", /* DES crypt */
		"plaintext",
		"$2y$31$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a", /* absurd cost */
		"$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1",	/* short */
		sha512_huge_rounds,
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (berth_cred_password_verify(bad[i], "x") != BERTH_EDENIED)
			fail_msg("hash %zu should be refused", i);
	}
	assert_int_equal(berth_cred_password_verify(NULL, "x"), BERTH_EDENIED);
}

static void test_password_limits(void **state)
{
	char h[BERTH_CRED_HASH_MAX], pw[BERTH_CRED_PASSWORD_MAX + 2];

	assert_int_equal(berth_cred_password_hash(h, ""), BERTH_EINVALID);
	memset(pw, 'a', sizeof(pw));
	pw[BERTH_CRED_BCRYPT_MAX + 1] = '\0';
	assert_int_equal(berth_cred_password_hash(h, pw), BERTH_EINVALID);
	pw[BERTH_CRED_BCRYPT_MAX] = '\0';
	assert_int_equal(berth_cred_password_hash(h, pw), 0);
	assert_int_equal(berth_cred_password_verify(h, pw), 0);
	/* Past 72 bytes bcrypt would ignore the rest: refused at verification too. */
	pw[BERTH_CRED_BCRYPT_MAX] = 'x';
	pw[BERTH_CRED_BCRYPT_MAX + 1] = '\0';
	assert_int_equal(berth_cred_password_verify(h, pw), BERTH_EDENIED);
	/* An oversized password never verifies (and is not hashed at length). */
	memset(pw, 'a', sizeof(pw));
	pw[sizeof(pw) - 1] = '\0';
	assert_int_equal(berth_cred_password_verify(h, pw), BERTH_EDENIED);
}

static void test_every_path_hashes_once(void **state)
{
	/*
	 * Unknown user (burn), malformed stored hash and wrong password must
	 * each cost exactly one libcrypt call: the work is the same.
	 */
	const char *good = "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a";
	unsigned long before;

	before = atomic_load(&berth_cred__crypt_calls);
	berth_cred_password_burn("anything");
	assert_int_equal(atomic_load(&berth_cred__crypt_calls) - before, 1);

	before = atomic_load(&berth_cred__crypt_calls);
	assert_int_equal(berth_cred_password_verify(good, "wrong"), BERTH_EDENIED);
	assert_int_equal(atomic_load(&berth_cred__crypt_calls) - before, 1);

	before = atomic_load(&berth_cred__crypt_calls);
	assert_int_equal(berth_cred_password_verify("$apr1$x$y", "wrong"), BERTH_EDENIED);
	assert_int_equal(atomic_load(&berth_cred__crypt_calls) - before, 1);

	before = atomic_load(&berth_cred__crypt_calls);
	berth_cred_password_burn(NULL);
	assert_int_equal(atomic_load(&berth_cred__crypt_calls) - before, 1);
}

static void *worker(void *arg)
{
	char h[BERTH_CRED_HASH_MAX], pw[32];
	long ok = 1;

	snprintf(pw, sizeof(pw), "pw-%ld", (long)(intptr_t)arg);
	ok &= berth_cred_password_hash(h, pw) == 0;
	ok &= berth_cred_password_verify(h, pw) == 0;
	ok &= berth_cred_password_verify(h, "other") == BERTH_EDENIED;
	return (void *)ok;
}

static void test_concurrent_hashing(void **state)
{
	pthread_t t[4];
	pthread_attr_t attr;

	/* Small stacks, as server threads may have: crypt_data must be on the heap. */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (intptr_t i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], &attr, worker, (void *)i), 0);
	for (int i = 0; i < 4; i++) {
		void *ok;

		assert_int_equal(pthread_join(t[i], &ok), 0);
		assert_true(ok == (void *)1);
	}
	pthread_attr_destroy(&attr);
}

static void test_random_secret(void **state)
{
	char a[44], b[44], tiny[2];

	assert_int_equal(berth_cred_random_secret(a, sizeof(a)), 0);
	assert_int_equal(berth_cred_random_secret(b, sizeof(b)), 0);
	assert_int_equal(strlen(a), 43);
	assert_int_equal(
		strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
	assert_string_not_equal(a, b);
	assert_int_equal(berth_cred_random_secret(tiny, sizeof(tiny)), 0);
	assert_int_equal(strlen(tiny), 1);
	assert_int_equal(berth_cred_random_secret(tiny, 1), BERTH_EINVALID);
	assert_int_equal(berth_cred_random_secret(tiny, 0), BERTH_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_verify_round_trip),
		cmocka_unit_test(test_external_vectors),
		cmocka_unit_test(test_refused_hashes),
		cmocka_unit_test(test_password_limits),
		cmocka_unit_test(test_every_path_hashes_once),
		cmocka_unit_test(test_concurrent_hashing),
		cmocka_unit_test(test_random_secret),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
