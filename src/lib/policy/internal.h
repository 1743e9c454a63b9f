/*
 * internal.h - what the files of the policy module share: the verdicts and
 * the one verification entry point (verify.c) under the cache and gate of
 * policy.c.
 */
#ifndef BERTH_POLICY_INTERNAL_H
#define BERTH_POLICY_INTERNAL_H

#include "berth/policy.h"
#include "berth/sign.h"

/* What a verification concludes about one manifest. */
typedef enum {
	BERTH_POLICY__NONE = 0,	    /* not known (an empty cache slot) */
	BERTH_POLICY__SIGNED = 1,   /* a valid signature by a key, its own or an index's */
	BERTH_POLICY__ARTIFACT = 2, /* a signature, attestation or SBOM: always served */
	BERTH_POLICY__UNSIGNED = 3, /* no signature at all */
	BERTH_POLICY__INVALID = 4   /* signatures, but none verifies with the keys */
} berth_policy__verdict;

/**
 * Verify manifest `d` of `repo` against `keys`: *verdict gets one of the
 * values above. Negative only when the metadata or the store fail (a bad
 * signature is a verdict, not an error).
 */
int berth_policy__verify(berth_meta *meta, berth_store *store, const char *repo,
			 const berth_digest *d, berth_sign_key *const *keys, size_t nkeys,
			 berth_policy__verdict *verdict) BERTH_WARN_UNUSED;

/**
 * Parse `keys` (PEM blocks, concatenated) into at most max keys (*out
 * malloc'd array of owned keys, *n of them). BERTH_EINVALID with the reason.
 */
int berth_policy__keys_parse(const char *keys, berth_sign_key ***out, size_t *n,
			     size_t max) BERTH_WARN_UNUSED;

#endif
