/*
 * internal.h - helpers shared by the files of the auth module (not public):
 * strict base64 / base64url codecs, the signing-key struct, the raw JWS
 * signer used by the fuzzer, and a counter of libcrypt calls that lets tests
 * prove that berth_auth_password_burn() really hashes.
 */
#ifndef BERTH_AUTH_INTERNAL_H
#define BERTH_AUTH_INTERNAL_H

#include "berth/auth.h"

#include <openssl/evp.h>
#include <stdatomic.h>

struct berth_token_key {
	EVP_PKEY *pkey;
	char kid[64]; /* 12 groups of 4 base32 chars joined by ':' = 59 chars */
};

/** Number of crypt_rn() calls made by this process (for tests). */
extern atomic_ulong berth_auth__crypt_calls;

/** Encoded length of n bytes in unpadded base64url. */
size_t berth_auth__b64url_len(size_t n);
/** Unpadded base64url of in[0..n) into out (berth_auth__b64url_len(n)+1 bytes, NUL added). */
void berth_auth__b64url_encode(char *out, const unsigned char *in, size_t n);
/**
 * Strict unpadded base64url decode: only [A-Za-z0-9_-], no '=', no length
 * of 4k+1, unused trailing bits zero. Writes at most out_max bytes; returns
 * the decoded length or -1.
 */
long berth_auth__b64url_decode(unsigned char *out, size_t out_max, const char *in, size_t n);
/**
 * Strict padded standard base64 decode (RFC 4648 section 4): length a
 * multiple of 4, '=' only as final padding, unused bits zero. Returns the
 * decoded length or -1.
 */
long berth_auth__b64_decode(unsigned char *out, size_t out_max, const char *in, size_t n);

/** 1 if `h` (n bytes) is a bcrypt or SHA-crypt hash of sane shape and cost. */
int berth_auth__hash_wellformed(const char *h, size_t n);

/** The libtrust key id of a public key into kid (>= 60 bytes). */
int berth_auth__key_id(EVP_PKEY *pkey, char *kid, size_t kid_len) BERTH_WARN_UNUSED;

/**
 * Compact JWS over arbitrary header and payload bytes (no checks of their
 * content), ES256 with k. For the fuzzer and tests that hand-build tokens.
 */
int berth_auth__jws_sign_raw(const berth_token_key *k, const char *header, size_t hlen,
			     const char *payload, size_t plen, char **jwt) BERTH_WARN_UNUSED;

#endif
