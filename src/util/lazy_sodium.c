/*
 * lazy_sodium.c - the libsodium functions berth calls (secret boxes of the
 * replication secrets, signing keys at rest), loading it at first use
 * (util/lazy.h).
 */
#include "util/lazy.h"

#include <sodium.h>

berth_lazy_lib berth_lazy_sodium = BERTH_LAZY_LIB(BERTH_SONAME_SODIUM, "libsodium23");

BERTH_LAZY_FN(berth_lazy_sodium, int, crypto_pwhash_scryptsalsa208sha256_ll,
	      (const uint8_t *a0, size_t a1, const uint8_t *a2, size_t a3, uint64_t a4, uint32_t a5,
	       uint32_t a6, uint8_t *a7, size_t a8),
	      (a0, a1, a2, a3, a4, a5, a6, a7, a8))
BERTH_LAZY_FN(berth_lazy_sodium, int, crypto_secretbox_easy,
	      (unsigned char *a0, const unsigned char *a1, long long unsigned int a2,
	       const unsigned char *a3, const unsigned char *a4),
	      (a0, a1, a2, a3, a4))
BERTH_LAZY_FN(berth_lazy_sodium, int, crypto_secretbox_open_easy,
	      (unsigned char *a0, const unsigned char *a1, long long unsigned int a2,
	       const unsigned char *a3, const unsigned char *a4),
	      (a0, a1, a2, a3, a4))
BERTH_LAZY_VOID(berth_lazy_sodium, randombytes_buf, (void *const a0, const size_t a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_sodium, int, sodium_init, (void), ())
BERTH_LAZY_VOID(berth_lazy_sodium, sodium_memzero, (void *const a0, const size_t a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_sodium, int, crypto_hash_sha256,
	      (unsigned char *a0, const unsigned char *a1, unsigned long long a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_sodium, int, crypto_hash_sha512,
	      (unsigned char *a0, const unsigned char *a1, unsigned long long a2), (a0, a1, a2))
