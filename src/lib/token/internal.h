/*
 * internal.h - what the files of the token module share (not public): the
 * signing-key struct, the key id of a public key, and the raw JWS signer
 * used by the fuzzer and by tests that hand-build tokens.
 */
#ifndef BERTH_TOKEN_INTERNAL_H
#define BERTH_TOKEN_INTERNAL_H

#include "berth/token.h"

#include <openssl/evp.h>

struct berth_token_key {
	EVP_PKEY *pkey;
	char kid[64]; /* 12 groups of 4 base32 chars joined by ':' = 59 chars */
};

/** The libtrust key id of a public key into kid (>= 60 bytes). */
int berth_token__key_id(EVP_PKEY *pkey, char *kid, size_t kid_len) BERTH_WARN_UNUSED;

/**
 * Compact JWS over arbitrary header and payload bytes (no checks of their
 * content), ES256 with k. For the fuzzer and tests that hand-build tokens.
 */
int berth_token__jws_sign_raw(const berth_token_key *k, const char *header, size_t hlen,
			      const char *payload, size_t plen, char **jwt) BERTH_WARN_UNUSED;

#endif
