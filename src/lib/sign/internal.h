/*
 * internal.h - what the files of the sign module share: JSON field readers
 * with clear errors, hex, and the EVP key wrapper.
 */
#ifndef BERTH_SIGN_INTERNAL_H
#define BERTH_SIGN_INTERNAL_H

#include "berth/sign.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

struct berth_sign_key {
	EVP_PKEY *pkey;
	int is_private;
};

/** A transparency or CT log of a trusted root: its key and key ID (SHA-256 of the DER SPKI). */
typedef struct berth_sign__log {
	unsigned char id[32];
	EVP_PKEY *pkey;
} berth_sign__log;

/**
 * At least one of the SCTs embedded in leaf (RFC 6962, extension
 * 1.3.6.1.4.1.11129.2.4.2) verifies with one of the CT logs, over the
 * precertificate entry of leaf issued by issuer. 0 or BERTH_EDENIED.
 */
int berth_sign__verify_sct(X509 *leaf, X509 *issuer, const berth_sign__log *logs, size_t n_logs);

/** Wrap pkey (ownership passes to *out on success; freed on failure). */
int berth_sign__key_wrap(berth_sign_key **out, EVP_PKEY *pkey, int is_private);

/** Parse JSON text with a size cap; `what` names it in errors. */
int berth_sign__json_load(json_t **out, const void *data, size_t len, size_t max, const char *what);

/** obj[key] as a string (borrowed), or NULL with BERTH_EINVALID set (when `required`). */
const char *berth_sign__json_str(json_t *obj, const char *key, const char *what, int required);

/** Decode obj[key] (base64 string) into malloc'd bytes; BERTH_EINVALID if missing/bad. */
int berth_sign__json_b64(json_t *obj, const char *key, const char *what, unsigned char **out,
			 size_t *len);

/** obj[key] as an int64: a JSON integer or a decimal string (protobuf JSON). */
int berth_sign__json_int64(json_t *obj, const char *key, const char *what, int64_t *out);

/** Lowercase hex of n bytes into out (2n+1 bytes). */
void berth_sign__hex(char *out, const unsigned char *in, size_t n);

/** Parse exactly 2n hex chars into out. 0 or BERTH_EINVALID. */
int berth_sign__unhex(unsigned char *out, size_t n, const char *hex);

/** Verify sig over msg with a raw EVP public key (any supported type). */
int berth_sign__verify_pkey(EVP_PKEY *pkey, const void *msg, size_t len, const unsigned char *sig,
			    size_t sig_len);

/** The message-signature / DSSE verification with a given key (no tlog policy). */
int berth_sign__verify_with(const berth_sign_bundle *b, EVP_PKEY *pkey, const void *artifact,
			    size_t len, const unsigned char *artifact_digest);

/** A DSSE envelope from its parsed JSON object. */
int berth_sign__dsse_from_json(berth_sign_dsse **out, json_t *doc);

/** Keyless checks of a bundle (certificate chain, identity, tlog); see sign.h. */
int berth_sign__verify_keyless(const berth_sign_bundle *b, const berth_sign_trusted_root *root,
			       const berth_sign_identity *id, EVP_PKEY **leaf_key);

/** Every tlog entry of a key-signed bundle proven by a log of root and recording key. */
int berth_sign__verify_tlog_key(const berth_sign_bundle *b, const berth_sign_trusted_root *root,
				EVP_PKEY *key);

#endif
