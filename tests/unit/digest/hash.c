/*
 * hash.c - unit tests for the hashers: known vectors (FIPS 180 "abc" and
 * the empty string), streaming equals one-shot for every split, reset,
 * misuse after final, and hashing of file descriptors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/digest.h"

#define SHA256_EMPTY "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA256_ABC "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA512_ABC                                                                                 \
	"sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"                  \
	"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
#define SHA512_EMPTY                                                                               \
	"sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"                  \
	"47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"

static void test_known_vectors(void **state)
{
	berth_digest d;

	assert_int_equal(berth_digest_compute(&d, BERTH_DIGEST_SHA256, "", 0), 0);
	assert_string_equal(d.str, SHA256_EMPTY);
	assert_int_equal(berth_digest_compute(&d, BERTH_DIGEST_SHA256, "abc", 3), 0);
	assert_string_equal(d.str, SHA256_ABC);
	assert_int_equal(d.algo, BERTH_DIGEST_SHA256);
	assert_int_equal(berth_digest_compute(&d, BERTH_DIGEST_SHA512, "abc", 3), 0);
	assert_string_equal(d.str, SHA512_ABC);
	assert_int_equal(d.algo, BERTH_DIGEST_SHA512);
	assert_int_equal(berth_digest_compute(&d, BERTH_DIGEST_SHA512, NULL, 0), 0);
	assert_string_equal(d.str, SHA512_EMPTY);
}

static void test_computed_digest_parses(void **state)
{
	berth_digest d, p;

	assert_int_equal(berth_digest_compute(&d, BERTH_DIGEST_SHA512, "x", 1), 0);
	assert_int_equal(berth_digest_parse(&p, d.str, strlen(d.str)), 0);
	assert_true(berth_digest_equal(&d, &p));
}

static void test_streaming_equals_one_shot(void **state)
{
	static const berth_digest_algo algos[] = {BERTH_DIGEST_SHA256, BERTH_DIGEST_SHA512};
	unsigned char data[1000];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 131 + 7);
	for (size_t a = 0; a < 2; a++) {
		berth_digest whole;

		assert_int_equal(berth_digest_compute(&whole, algos[a], data, sizeof(data)), 0);
		for (size_t step = 1; step <= 300; step += 37) {
			berth_hasher *h = NULL;
			berth_digest part;

			assert_int_equal(berth_hasher_new(&h, algos[a]), 0);
			assert_int_equal(berth_hasher_algo(h), algos[a]);
			for (size_t off = 0; off < sizeof(data); off += step) {
				size_t n = sizeof(data) - off < step ? sizeof(data) - off : step;
				assert_int_equal(berth_hasher_update(h, data + off, n), 0);
			}
			assert_int_equal(berth_hasher_count(h), sizeof(data));
			assert_int_equal(berth_hasher_final(h, &part), 0);
			assert_string_equal(part.str, whole.str);
			berth_hasher_free(h);
		}
	}
}

static void test_reset_and_misuse(void **state)
{
	berth_hasher *h = NULL;
	berth_digest d;

	assert_int_equal(berth_hasher_new(&h, BERTH_DIGEST_SHA256), 0);
	assert_int_equal(berth_hasher_update(h, "junk", 4), 0);
	assert_int_equal(berth_hasher_final(h, &d), 0);
	/* After final only reset or free are allowed. */
	assert_true(berth_hasher_update(h, "x", 1) < 0);
	assert_true(berth_hasher_final(h, &d) < 0);
	assert_int_equal(berth_hasher_reset(h), 0);
	assert_int_equal(berth_hasher_count(h), 0);
	assert_int_equal(berth_hasher_update(h, "ab", 2), 0);
	assert_int_equal(berth_hasher_update(h, "c", 1), 0);
	assert_int_equal(berth_hasher_final(h, &d), 0);
	assert_string_equal(d.str, SHA256_ABC);
	berth_hasher_free(h);
	berth_hasher_free(NULL);
}

static void test_unknown_algo_rejected(void **state)
{
	berth_hasher *h = (berth_hasher *)1;

	assert_int_equal(berth_hasher_new(&h, (berth_digest_algo)99), BERTH_EUNSUPPORTED);
	assert_null(h);
}

static void test_fd_hashing(void **state)
{
	char path[] = "/tmp/berth-digest-XXXXXX";
	int fd = mkstemp(path);
	size_t n = (3u << 20) + 12345; /* spans several 1 MiB reads */
	unsigned char *data = malloc(n);
	berth_digest want, got;
	uint64_t size = 0;

	assert_true(fd >= 0);
	assert_non_null(data);
	unlink(path);
	for (size_t i = 0; i < n; i++)
		data[i] = (unsigned char)(i ^ (i >> 9));
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	assert_int_equal(berth_digest_compute(&want, BERTH_DIGEST_SHA256, data, n), 0);

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(berth_digest_fd(&got, BERTH_DIGEST_SHA256, fd, &size), 0);
	assert_int_equal(size, n);
	assert_string_equal(got.str, want.str);

	/* From the current offset, not from zero. */
	assert_int_equal(lseek(fd, 1000, SEEK_SET), 1000);
	assert_int_equal(berth_digest_compute(&want, BERTH_DIGEST_SHA512, data + 1000, n - 1000),
			 0);
	assert_int_equal(berth_digest_fd(&got, BERTH_DIGEST_SHA512, fd, NULL), 0);
	assert_string_equal(got.str, want.str);

	/* At EOF: the digest of nothing. */
	assert_int_equal(berth_digest_fd(&got, BERTH_DIGEST_SHA256, fd, &size), 0);
	assert_int_equal(size, 0);
	assert_string_equal(got.str, SHA256_EMPTY);
	close(fd);
	free(data);
}

static void test_fd_pipe_and_bad_fd(void **state)
{
	int p[2];
	berth_digest d;
	uint64_t size = 99;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "abc", 3), 3);
	close(p[1]);
	assert_int_equal(berth_digest_fd(&d, BERTH_DIGEST_SHA256, p[0], &size), 0);
	assert_int_equal(size, 3);
	assert_string_equal(d.str, SHA256_ABC);
	close(p[0]);
	assert_true(berth_digest_fd(&d, BERTH_DIGEST_SHA256, -1, NULL) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_vectors),
		cmocka_unit_test(test_computed_digest_parses),
		cmocka_unit_test(test_streaming_equals_one_shot),
		cmocka_unit_test(test_reset_and_misuse),
		cmocka_unit_test(test_unknown_algo_rejected),
		cmocka_unit_test(test_fd_hashing),
		cmocka_unit_test(test_fd_pipe_and_bad_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
