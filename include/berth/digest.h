/*
 * berth/digest.h - content digests ("sha256:<64 hex>", "sha512:<128 hex>").
 *
 * The grammar is the OCI image-spec's:
 *   digest    ::= algorithm ":" encoded
 *   algorithm ::= component (separator component)*   component ::= [a-z0-9]+
 *   separator ::= [+._-]                            encoded   ::= [a-zA-Z0-9=_-]+
 * of which berth supports sha256 and sha512 (lowercase hex, exact length).
 * A digest of any other registered-looking algorithm parses to
 * BERTH_EUNSUPPORTED; a malformed one to BERTH_EINVALID.
 */
#ifndef BERTH_DIGEST_H
#define BERTH_DIGEST_H

#include "berth/common.h"

#include <stdint.h>

typedef enum { BERTH_DIGEST_SHA256 = 1, BERTH_DIGEST_SHA512 = 2 } berth_digest_algo;

#define BERTH_DIGEST_MAX 136 /* "sha512:" + 128 hex + NUL, rounded */

typedef struct berth_digest {
	berth_digest_algo algo;
	char str[BERTH_DIGEST_MAX]; /* canonical text form, NUL-terminated */
} berth_digest;

/**
 * Parse and validate a digest string of `len` bytes (need not be
 * NUL-terminated). Returns 0, BERTH_EINVALID (grammar) or BERTH_EUNSUPPORTED
 * (well-formed, algorithm not sha256/sha512).
 */
int berth_digest_parse(berth_digest *out, const char *s, size_t len) BERTH_WARN_UNUSED;

/** The hex part of a parsed digest (borrowed). */
const char *berth_digest_hex(const berth_digest *d);

/** "sha256" or "sha512". */
const char *berth_digest_algo_name(berth_digest_algo algo);

/** 1 if both digests are equal. */
int berth_digest_equal(const berth_digest *a, const berth_digest *b);

/** Streaming hasher (OpenSSL EVP; uses SHA-NI where the CPU has it). */
typedef struct berth_hasher berth_hasher;

int berth_hasher_new(berth_hasher **out, berth_digest_algo algo) BERTH_WARN_UNUSED;
int berth_hasher_update(berth_hasher *h, const void *data, size_t len) BERTH_WARN_UNUSED;
/** Finish; the hasher may then only be freed or reset. */
int berth_hasher_final(berth_hasher *h, berth_digest *out) BERTH_WARN_UNUSED;
/** Restart hashing from zero bytes. */
int berth_hasher_reset(berth_hasher *h) BERTH_WARN_UNUSED;
/** Bytes fed so far. */
uint64_t berth_hasher_count(const berth_hasher *h);
berth_digest_algo berth_hasher_algo(const berth_hasher *h);
void berth_hasher_free(berth_hasher *h);

/** Digest of a memory buffer. */
int berth_digest_compute(berth_digest *out, berth_digest_algo algo, const void *data,
			 size_t len) BERTH_WARN_UNUSED;

/**
 * Digest of everything readable from `fd` from its current offset (read with
 * pread-free sequential reads); `size_out` (optional) gets the byte count.
 */
int berth_digest_fd(berth_digest *out, berth_digest_algo algo, int fd,
		    uint64_t *size_out) BERTH_WARN_UNUSED;

#endif
