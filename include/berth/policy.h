/*
 * berth/policy.h - the registry's signature policy: a project may require
 * that every manifest pulled from it (GET or HEAD, by tag or digest) carry
 * a valid cosign signature by one of the project's public keys
 * (berth_meta_project_set_signature_keys). Installed into the registry as
 * its manifest gate (berth_registry_set_gate).
 *
 * What counts as signed (checked cryptographically, over what the registry
 * itself stores: no network):
 *   - a legacy signature: a simple-signing layer of the manifest tagged
 *     "sha256-<hex>.sig" whose dev.cosignproject.cosign/signature verifies
 *     with a key and whose payload names the manifest's digest;
 *   - a referrer bundle: a referrer of the manifest with a sigstore bundle
 *     artifact type whose DSSE envelope verifies with a key and whose in-toto
 *     statement (cosign's sign predicate) has the manifest as subject;
 *   - an index signed so covers the manifests it lists (and their children).
 * Signature, attestation and SBOM artifacts stay pullable: an image manifest
 * with at least one layer, every layer of a signature, attestation or SBOM
 * media type (never recognised by a tag name: nothing runnable passes).
 *
 * Verdicts are cached per (repository, manifest digest, key set) in a fixed
 * table, valid while the repository's generation and the policy generation
 * read with the manifest are unchanged (berth_meta_manifest), so that
 * several server processes sharing one database agree. The project
 * policies are cached too, reloaded when the policy generation changes. A
 * manifest of a project without a policy costs one atomic load when no
 * project has one, a short lookup otherwise; a cached verdict allocates
 * nothing. Each refusal is written to the audit log (action "pull", result
 * "denied: signature policy").
 *
 * With access control on, the registry serves a refused manifest anyway to a
 * caller who may push to its repository (a signer reads what it pushed);
 * the refusal stands for everyone else.
 *
 * Thread safety: one berth_policy serves every thread.
 */
#ifndef BERTH_POLICY_H
#define BERTH_POLICY_H

#include "berth/common.h"
#include "berth/meta.h"
#include "berth/registry.h"
#include "berth/store.h"

#include <stddef.h>

/** Most keys one project's policy may name. */
#define BERTH_POLICY_KEYS_MAX 16
/** Deepest chain of indexes through which a signature covers a manifest. */
#define BERTH_POLICY_INDEX_DEPTH 4
/** Most signatures, referrers or parent indexes examined for one manifest. */
#define BERTH_POLICY_CANDIDATES_MAX 64

typedef struct berth_policy berth_policy;

/** A policy over `meta` and `store` (borrowed; they must outlive it). */
int berth_policy_new(berth_policy **out, berth_meta *meta, berth_store *store) BERTH_WARN_UNUSED;
void berth_policy_free(berth_policy *p);

/** The registry's manifest gate bound to `p`. */
void berth_policy_gate(berth_policy *p, berth_registry_gate *out);

/**
 * Check that `keys` (PEM public keys, concatenated, as stored in meta) is a
 * usable policy: 1 to BERTH_POLICY_KEYS_MAX keys, each a public key berth
 * can verify with. *n (optional) gets the count. BERTH_EINVALID with the
 * reason otherwise.
 */
int berth_policy_keys_check(const char *keys, size_t *n) BERTH_WARN_UNUSED;

/** Counters, for tests and the benchmark. */
typedef struct berth_policy_stats {
	unsigned long checks;	     /* manifests checked in a project with a policy */
	unsigned long cache_hits;    /* of those, answered from the cache */
	unsigned long verifications; /* full verifications run */
	unsigned long refusals;
} berth_policy_stats;

void berth_policy_get_stats(berth_policy *p, berth_policy_stats *out);

#endif
