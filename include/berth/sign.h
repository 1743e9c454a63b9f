/*
 * berth/sign.h - signatures wire-compatible with cosign and sigstore: keys
 * (cosign's encrypted private key file, PKIX public keys), payloads (simple
 * signing, DSSE envelopes with in-toto statements), sigstore bundles
 * (v0.1, v0.2, v0.3) and their verification, with a key or keyless against a
 * trusted_root.json, offline.
 *
 * Formats:
 * - Private key file: PEM "ENCRYPTED SIGSTORE PRIVATE KEY" (written) or
 *   "ENCRYPTED COSIGN PRIVATE KEY" (read too) around a JSON document
 *   {"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":B64},
 *    "cipher":{"name":"nacl/secretbox","nonce":B64},"ciphertext":B64}
 *   whose plaintext is a PKCS#8 DER private key. N may be 32768 or 65536;
 *   any other parameters are refused (they would let a file cost minutes).
 * - Public key: PEM "PUBLIC KEY" (PKIX SubjectPublicKeyInfo).
 * - Key types: ECDSA P-256 (SHA-256) and P-384 (SHA-384), RSA (PKCS#1 v1.5,
 *   SHA-256), Ed25519 (pure). Generated keys are ECDSA P-256, as cosign's.
 *
 * All functions are thread-safe; objects are not shared between threads
 * unless said. Errors: 0 or a negative BERTH_E* code with the message in
 * the thread's error slot (berth_error_last). A signature that does not
 * verify is BERTH_EDENIED; malformed input BERTH_EINVALID; over a cap
 * BERTH_ETOOBIG. Messages never contain key material or passwords.
 */
#ifndef BERTH_SIGN_H
#define BERTH_SIGN_H

#include "berth/common.h"
#include "berth/digest.h"

#include <stddef.h>
#include <stdint.h>

/* ---- limits (one place) ---- */

/** Largest key file (private or public) accepted. */
#define BERTH_SIGN_KEY_FILE_MAX (64 * 1024)
/** Largest password accepted for a key file. */
#define BERTH_SIGN_PASSWORD_MAX 1024
/** Largest blob `sign-blob` / `verify-blob` read into memory. */
#define BERTH_SIGN_BLOB_MAX (512 * 1024 * 1024)
/** Largest signed payload held in memory (simple signing, DSSE statements). */
#define BERTH_SIGN_PAYLOAD_MAX (16 * 1024 * 1024)
/** Largest bundle or DSSE envelope file accepted. */
#define BERTH_SIGN_BUNDLE_MAX (24 * 1024 * 1024)
/** Largest trusted_root.json accepted. */
#define BERTH_SIGN_TRUSTED_ROOT_MAX (1024 * 1024)
/** Largest number of signatures in one DSSE envelope, certs in a chain, tlog entries. */
#define BERTH_SIGN_LIST_MAX 64
/** Largest Merkle inclusion proof (hashes). */
#define BERTH_SIGN_PROOF_MAX 64
/** Largest annotation of a legacy signature layer (certificate, chain, Rekor bundle). */
#define BERTH_SIGN_ANNOTATION_MAX (256 * 1024)

/* ---- media and predicate types ---- */

#define BERTH_SIGN_SIMPLESIGNING_MT "application/vnd.dev.cosign.simplesigning.v1+json"
#define BERTH_SIGN_DSSE_MT "application/vnd.dsse.envelope.v1+json"
#define BERTH_SIGN_INTOTO_PT "application/vnd.in-toto+json"
#define BERTH_SIGN_BUNDLE_V01 "application/vnd.dev.sigstore.bundle+json;version=0.1"
#define BERTH_SIGN_BUNDLE_V02 "application/vnd.dev.sigstore.bundle+json;version=0.2"
#define BERTH_SIGN_BUNDLE_V03 "application/vnd.dev.sigstore.bundle.v0.3+json"
#define BERTH_SIGN_BUNDLE_V03_ALT "application/vnd.dev.sigstore.bundle+json;version=0.3"
#define BERTH_SIGN_COSIGN_TYPE "cosign container image signature"
#define BERTH_SIGN_COSIGN_SIGN_PREDICATE "https://sigstore.dev/cosign/sign/v1"
#define BERTH_SIGN_ANNOTATION_SIG "dev.cosignproject.cosign/signature"
#define BERTH_SIGN_ANNOTATION_CERT "dev.sigstore.cosign/certificate"
#define BERTH_SIGN_ANNOTATION_CHAIN "dev.sigstore.cosign/chain"
#define BERTH_SIGN_ANNOTATION_BUNDLE "dev.sigstore.cosign/bundle"

/* ---- keys ---- */

typedef struct berth_sign_key berth_sign_key;

/** Make a new ECDSA P-256 private key. */
int berth_sign_key_generate(berth_sign_key **out) BERTH_WARN_UNUSED;

/**
 * Load a private key from `data` (len bytes, at most BERTH_SIGN_KEY_FILE_MAX):
 * a cosign/sigstore encrypted key (needs `password`, may be ""), or an
 * unencrypted PEM private key (PKCS#8, SEC1 "EC PRIVATE KEY", PKCS#1 "RSA
 * PRIVATE KEY") of a supported type, as `berth key import` reads.
 * BERTH_EDENIED for a wrong password; BERTH_EUNSUPPORTED for another key type.
 */
int berth_sign_key_load_private(berth_sign_key **out, const char *data, size_t len,
				const char *password) BERTH_WARN_UNUSED;

/** Load a PKIX PEM public key, or the key of a PEM certificate. */
int berth_sign_key_load_public(berth_sign_key **out, const char *data,
			       size_t len) BERTH_WARN_UNUSED;

/** Load a public key from SubjectPublicKeyInfo DER bytes. */
int berth_sign_key_from_spki_der(berth_sign_key **out, const unsigned char *der,
				 size_t len) BERTH_WARN_UNUSED;

/**
 * Write the private key as an "ENCRYPTED SIGSTORE PRIVATE KEY" PEM file text
 * (scrypt N=32768 r=8 p=1, random 32-byte salt and 24-byte nonce). *pem is
 * malloc'd, NUL-terminated, owned by the caller.
 */
int berth_sign_key_export_encrypted(const berth_sign_key *k, const char *password, char **pem,
				    size_t *len) BERTH_WARN_UNUSED;

/** The public key as PKIX PEM text ("-----BEGIN PUBLIC KEY-----"); malloc'd. */
int berth_sign_key_export_public(const berth_sign_key *k, char **pem,
				 size_t *len) BERTH_WARN_UNUSED;

/**
 * The key hint sigstore bundles carry: standard base64 of SHA-256 over the
 * public key's DER SubjectPublicKeyInfo. `out` must hold 45 bytes.
 */
int berth_sign_key_hint(const berth_sign_key *k, char out[45]) BERTH_WARN_UNUSED;

/** "ecdsa-p256", "ecdsa-p384", "rsa", "ed25519". Borrowed. */
const char *berth_sign_key_type(const berth_sign_key *k);

/** 1 if the key holds a private part. */
int berth_sign_key_is_private(const berth_sign_key *k);

/**
 * Sign `msg`: ECDSA (ASN.1 DER signature) over its SHA-256 (P-256) or
 * SHA-384 (P-384), RSA PKCS#1 v1.5 over SHA-256, Ed25519 pure. *sig is
 * malloc'd and owned by the caller.
 */
int berth_sign_key_sign(const berth_sign_key *k, const void *msg, size_t len, unsigned char **sig,
			size_t *sig_len) BERTH_WARN_UNUSED;

/** Verify a signature made as berth_sign_key_sign does: 0 valid, BERTH_EDENIED not. */
int berth_sign_key_verify(const berth_sign_key *k, const void *msg, size_t len,
			  const unsigned char *sig, size_t sig_len) BERTH_WARN_UNUSED;

/**
 * Verify a signature over a message known only by its SHA-256 `digest`
 * (32 bytes): ECDSA and RSA keys. Ed25519 needs the message itself
 * (BERTH_EUNSUPPORTED).
 */
int berth_sign_key_verify_sha256(const berth_sign_key *k, const unsigned char digest[32],
				 const unsigned char *sig, size_t sig_len) BERTH_WARN_UNUSED;

/** Free a key (its private part is wiped by OpenSSL). NULL is fine. */
void berth_sign_key_free(berth_sign_key *k);

/* ---- base64 ---- */

/** Standard padded base64 of in[0..n); malloc'd NUL-terminated text. */
int berth_sign_b64_encode(char **out, const void *in, size_t n) BERTH_WARN_UNUSED;

/** Decode standard base64 (padding optional); malloc'd bytes in *out. */
int berth_sign_b64_decode(unsigned char **out, size_t *out_len, const char *in,
			  size_t n) BERTH_WARN_UNUSED;

/** Parse exactly 2n hex digits into out[0..n). BERTH_EINVALID if not. */
int berth_sign_hex_decode(unsigned char *out, size_t n, const char *hex) BERTH_WARN_UNUSED;

/* ---- payloads ---- */

/** One annotation of a simple-signing payload's "optional" object (-a K=V). */
typedef struct berth_sign_annotation {
	const char *key;
	const char *value;
} berth_sign_annotation;

/**
 * The simple-signing payload cosign writes for an image: compact JSON
 * {"critical":{"identity":{"docker-reference":REF},"image":
 * {"docker-manifest-digest":DIGEST},"type":"cosign container image
 * signature"},"optional":ANNOTATIONS-or-null}, annotation keys sorted.
 * *out malloc'd, owned by the caller.
 */
int berth_sign_simple_signing(char **out, size_t *len, const char *docker_ref, const char *digest,
			      const berth_sign_annotation *ann, size_t n_ann) BERTH_WARN_UNUSED;

/**
 * Check a simple-signing payload (at most BERTH_SIGN_PAYLOAD_MAX): the type,
 * the manifest digest equal to `digest`, and every one of `ann` present with
 * its value in "optional". BERTH_EDENIED with the reason if not.
 */
int berth_sign_simple_signing_check(const void *payload, size_t len, const char *digest,
				    const berth_sign_annotation *ann,
				    size_t n_ann) BERTH_WARN_UNUSED;

/**
 * DSSE pre-authentication encoding: "DSSEv1" SP len(type) SP type SP
 * len(body) SP body. *out malloc'd.
 */
int berth_sign_dsse_pae(unsigned char **out, size_t *out_len, const char *payload_type,
			const void *payload, size_t len) BERTH_WARN_UNUSED;

/** One DSSE signature. */
typedef struct berth_sign_dsse_sig {
	char *keyid;	    /* "" when absent */
	unsigned char *sig; /* decoded */
	size_t sig_len;
} berth_sign_dsse_sig;

/** A DSSE envelope, parsed. */
typedef struct berth_sign_dsse {
	char *payload_type;
	unsigned char *payload; /* decoded */
	size_t payload_len;
	berth_sign_dsse_sig *sigs;
	size_t n_sigs;
} berth_sign_dsse;

/**
 * Parse a DSSE envelope JSON (at most BERTH_SIGN_BUNDLE_MAX): payloadType,
 * payload (base64), signatures [{keyid?, sig}], at least one. *out
 * malloc'd; free with berth_sign_dsse_free.
 */
int berth_sign_dsse_parse(berth_sign_dsse **out, const void *json, size_t len) BERTH_WARN_UNUSED;

void berth_sign_dsse_free(berth_sign_dsse *e);

/**
 * Sign `payload` as a DSSE envelope with one signature (keyid "") and
 * write its JSON (compact): {"payloadType":..,"payload":..,"signatures":
 * [{"keyid":"","sig":..}]}. *out malloc'd.
 */
int berth_sign_dsse_sign(char **out, size_t *out_len, const berth_sign_key *k,
			 const char *payload_type, const void *payload,
			 size_t len) BERTH_WARN_UNUSED;

/** 0 if any signature of the envelope verifies with k over its PAE; BERTH_EDENIED if none. */
int berth_sign_dsse_verify(const berth_sign_dsse *e, const berth_sign_key *k) BERTH_WARN_UNUSED;

/**
 * The predicate type URI for a cosign `--type` word: spdx/spdxjson,
 * cyclonedx, slsaprovenance (v0.2), slsaprovenance02, slsaprovenance1,
 * link, vuln, openvex, custom; anything containing "://" is taken as the
 * URI itself. NULL for an unknown word. Borrowed (static or `type`).
 */
const char *berth_sign_predicate_type(const char *type);

/**
 * An in-toto Statement v0.1 with one subject (name, sha256 digest hex from
 * `digest` "sha256:HEX"), predicateType and predicate (JSON text, at most
 * BERTH_SIGN_PAYLOAD_MAX; for the cosign "custom" type the text is wrapped
 * as {"Data": TEXT, "Timestamp": NOW} as cosign does). *out malloc'd.
 */
int berth_sign_intoto_statement(char **out, size_t *len, const char *subject_name,
				const char *digest, const char *predicate_type,
				const char *predicate, size_t predicate_len,
				int wrap_custom) BERTH_WARN_UNUSED;

/**
 * Check an in-toto statement: `_type` an in-toto Statement, some subject
 * with digest sha256 equal to `digest`'s hex, and predicateType equal to
 * `predicate_type` (when not NULL). BERTH_EDENIED with the reason if not.
 * *found_type (optional) gets the statement's predicateType (malloc'd).
 */
int berth_sign_intoto_check(const void *stmt, size_t len, const char *digest,
			    const char *predicate_type, char **found_type) BERTH_WARN_UNUSED;

/* ---- sigstore bundles ---- */

/** One transparency-log entry of a bundle. */
typedef struct berth_sign_tlog_entry {
	int64_t log_index;
	unsigned char log_id[32]; /* key id: SHA-256 of the log's public key DER */
	int has_log_id;
	char *kind, *version;
	int64_t integrated_time;
	unsigned char *body; /* canonicalizedBody, decoded */
	size_t body_len;
	unsigned char *set; /* inclusionPromise.signedEntryTimestamp, decoded, or NULL */
	size_t set_len;
	/* inclusion proof (has_proof) */
	int has_proof;
	int64_t proof_index, tree_size;
	unsigned char root_hash[32];
	unsigned char (*hashes)[32];
	size_t n_hashes;
	char *checkpoint; /* signed note text, or NULL */
} berth_sign_tlog_entry;

/** A parsed sigstore bundle. */
typedef struct berth_sign_bundle {
	int minor;	       /* 1, 2 or 3 */
	char *key_hint;	       /* verificationMaterial.publicKey.hint, or NULL */
	unsigned char **certs; /* DER, leaf first (x509CertificateChain or certificate) */
	size_t *cert_lens;
	size_t n_certs;
	berth_sign_tlog_entry *tlog;
	size_t n_tlog;
	/* content: exactly one of message signature or DSSE envelope */
	berth_sign_dsse *dsse;
	int has_digest;
	unsigned char digest[32]; /* messageSignature.messageDigest (SHA2_256) */
	unsigned char *sig;
	size_t sig_len;
} berth_sign_bundle;

/**
 * Parse a bundle JSON (at most BERTH_SIGN_BUNDLE_MAX) of media type v0.1,
 * v0.2 or v0.3. BERTH_EUNSUPPORTED for another version or digest algorithm.
 */
int berth_sign_bundle_parse(berth_sign_bundle **out, const void *json,
			    size_t len) BERTH_WARN_UNUSED;

void berth_sign_bundle_free(berth_sign_bundle *b);

/**
 * Write a v0.3 bundle (compact JSON) for a key-based signature: the
 * verification material is the public key hint and, when `tlog_entry_json`
 * is not NULL, that one tlog entry (berth_sign_rekor_upload). Either a
 * message signature (digest = SHA-256 of the blob, sig over the blob) when
 * `dsse_json` is NULL, or the DSSE envelope JSON given.
 */
int berth_sign_bundle_write_key(char **out, size_t *len, const berth_sign_key *k,
				const unsigned char digest[32], const unsigned char *sig,
				size_t sig_len, const char *dsse_json,
				const char *tlog_entry_json) BERTH_WARN_UNUSED;

/**
 * Upload a message signature to the Rekor log at `url` (API v1,
 * POST /api/v1/log/entries, a hashedrekord 0.0.1 entry with the public key)
 * and return the bundle's tlogEntries element for it (protobuf JSON:
 * inclusion promise and proof as the log sent them) in *entry_json
 * (malloc'd). BERTH_EIO when the log cannot be reached or refuses.
 */
int berth_sign_rekor_upload(char **entry_json, const char *url, const berth_sign_key *k,
			    const unsigned char digest[32], const unsigned char *sig,
			    size_t sig_len) BERTH_WARN_UNUSED;

/**
 * Upload a DSSE envelope (JSON text, one signature by k) to the Rekor log
 * at `url` as cosign does for attestations: an intoto 0.0.2 entry (the
 * envelope with payload and signature base64-encoded once more, the public
 * key, the envelope's and the payload's SHA-256) and return the bundle's
 * tlogEntries element for it, as berth_sign_rekor_upload does.
 */
int berth_sign_rekor_upload_dsse(char **entry_json, const char *url, const berth_sign_key *k,
				 const char *dsse_json) BERTH_WARN_UNUSED;

/** What keyless verification checks the certificate against. */
typedef struct berth_sign_identity {
	const char *subject; /* exact SAN (email, URI) */
	const char *issuer;  /* exact OIDC issuer (extension .1.8 or .1.1) */
	int ignore_sct;	     /* 1: no embedded SCT needed (cosign's --insecure-ignore-sct) */
} berth_sign_identity;

typedef struct berth_sign_trusted_root berth_sign_trusted_root;

/** Parse a trusted_root.json (at most BERTH_SIGN_TRUSTED_ROOT_MAX). */
int berth_sign_trusted_root_parse(berth_sign_trusted_root **out, const void *json,
				  size_t len) BERTH_WARN_UNUSED;

void berth_sign_trusted_root_free(berth_sign_trusted_root *r);

/**
 * Verify a bundle over `artifact` (len bytes; may be NULL when only
 * `artifact_digest` (32 bytes, SHA-256) is known: message signatures then).
 * With `key`: the signature verifies with it; no tlog entry is required
 * unless `root` is given too, in which case there must be at least one and
 * each must be proven by a log of the root and record this signature and key.
 * Without: keyless, against `root` and `id`: the leaf certificate chains to
 * a Fulcio CA of the root at the log's integrated time, its SAN equals
 * id->subject and its OIDC issuer id->issuer, it embeds a signed
 * certificate timestamp (RFC 6962 SCT) that verifies with a CT log key of
 * the root (unless id->ignore_sct); every tlog entry's log is in
 * the root, the entry is proven by its signed entry timestamp or by its
 * inclusion proof and signed checkpoint, its body matches the signature,
 * and its integrated time lies within the certificate's validity; at least
 * one entry is required. For DSSE, the statement's subject digest must
 * match the artifact. 0 valid, BERTH_EDENIED with the reason if not.
 */
int berth_sign_bundle_verify(const berth_sign_bundle *b, const void *artifact, size_t len,
			     const unsigned char *artifact_digest, const berth_sign_key *key,
			     const berth_sign_trusted_root *root,
			     const berth_sign_identity *id) BERTH_WARN_UNUSED;

/**
 * Verify the signed content of a bundle only (no artifact): with `key` or
 * keyless as above. For DSSE bundles whose subject is checked by the caller
 * (image signatures and attestations).
 */
int berth_sign_bundle_verify_content(const berth_sign_bundle *b, const berth_sign_key *key,
				     const berth_sign_trusted_root *root,
				     const berth_sign_identity *id) BERTH_WARN_UNUSED;

/**
 * What cosign's `verify --format json` reports of a keyless signature's
 * certificate (PEM text, the leaf first): *subject its first subject
 * alternative name in Go's order (DNS, email, URI), *issuer its OIDC issuer
 * (extension 1.3.6.1.4.1.57264.1.1, else .1.8). Each malloc'd, or NULL
 * when the certificate has none. BERTH_EINVALID if pem is not a certificate.
 */
int berth_sign_cert_identity(const char *pem, char **subject, char **issuer) BERTH_WARN_UNUSED;

/* ---- cosign's legacy ".sig" layers ---- */

/** The annotations of a legacy signature layer (borrowed; NULL when absent). */
typedef struct berth_sign_legacy {
	const char *signature;	 /* dev.cosignproject.cosign/signature: base64 */
	const char *certificate; /* dev.sigstore.cosign/certificate: PEM leaf (keyless) */
	const char *chain;	 /* dev.sigstore.cosign/chain: PEM intermediates and root */
	const char *bundle;	 /* dev.sigstore.cosign/bundle: cosign's Rekor bundle JSON */
} berth_sign_legacy;

/**
 * Verify a legacy signature layer over `payload` (len bytes, the simple
 * signing payload; its claims are the caller's to check). cosign's Rekor
 * bundle is {"SignedEntryTimestamp":B64,"Payload":{"body":B64,
 * "integratedTime":N,"logIndex":N,"logID":HEX}}. With `key`: the signature
 * verifies with it; with `root` too, the Rekor bundle must be present,
 * proven by a log of the root and record this signature and key. Keyless
 * (`key` NULL): as berth_sign_bundle_verify, the certificate and chain
 * standing for the bundle's and the Rekor bundle for its one tlog entry
 * (required). Each annotation is capped at BERTH_SIGN_ANNOTATION_MAX.
 * 0 valid, BERTH_EDENIED with the reason if not.
 */
int berth_sign_legacy_verify(const void *payload, size_t len, const berth_sign_legacy *l,
			     const berth_sign_key *key, const berth_sign_trusted_root *root,
			     const berth_sign_identity *id) BERTH_WARN_UNUSED;

/**
 * Verify a legacy attestation layer: the DSSE envelope JSON (len bytes) of
 * a ".att" layer signed with `key`, and `rekor_bundle` (its
 * dev.sigstore.cosign/bundle annotation, or NULL). With `root` the Rekor
 * bundle is required and must be proven by a log of the root and record
 * this envelope's signature and key, as berth_sign_legacy_verify. The
 * statement's claims are the caller's to check. 0 valid, BERTH_EDENIED if not.
 */
int berth_sign_legacy_attestation_verify(const void *envelope, size_t len, const char *rekor_bundle,
					 const berth_sign_key *key,
					 const berth_sign_trusted_root *root) BERTH_WARN_UNUSED;

/**
 * cosign's Rekor bundle annotation (compact JSON, as above) for a tlog
 * entry as berth_sign_rekor_upload returns it (which must carry a signed
 * entry timestamp). *out malloc'd.
 */
int berth_sign_legacy_rekor_bundle(char **out, const char *tlog_entry_json) BERTH_WARN_UNUSED;

/* ---- registry storage (cosign's tag schema and OCI 1.1 referrers) ---- */

struct berth_client;

/**
 * Push a blob from memory unless the repository has it; *out gets its
 * digest (sha256).
 */
int berth_sign_image_push_blob(struct berth_client *c, const char *repo, const void *data,
			       size_t len, berth_digest *out) BERTH_WARN_UNUSED;

/**
 * Attach `data` as a layer (media type, layer annotations) of the manifest
 * tagged "sha256-<hex>.<suffix>" ("sig", "att", "sbom") for `subject`:
 * appended to the layers already there (an identical layer is not added
 * twice), or alone when `replace`. The manifest is OCI with cosign's config
 * (layers as rootfs diff IDs).
 */
int berth_sign_image_attach_tag(struct berth_client *c, const char *repo,
				const berth_digest *subject, const char *suffix,
				const char *media_type, const void *data, size_t len,
				const berth_sign_annotation *ann, size_t n_ann,
				int replace) BERTH_WARN_UNUSED;

/**
 * Push an OCI 1.1 referrer of `subject`: a manifest with `artifact_type`,
 * the empty config, one layer (data, media_type, titled
 * "sha256-<hex>.sigstore.json"), manifest annotations `ann`, and the
 * subject descriptor. *out gets the referrer manifest's digest.
 */
int berth_sign_image_attach_referrer(struct berth_client *c, const char *repo,
				     const berth_digest *subject, const char *subject_media_type,
				     size_t subject_size, const char *artifact_type,
				     const char *media_type, const void *data, size_t len,
				     const berth_sign_annotation *ann, size_t n_ann,
				     berth_digest *out) BERTH_WARN_UNUSED;

/** One attached item, as berth_sign_image_attached reports it (all borrowed). */
typedef struct berth_sign_attached {
	const char *source;	   /* the schema tag, or the referrer manifest digest */
	const char *artifact_type; /* the referrer's artifactType, or NULL */
	const char *media_type;	   /* the layer's media type */
	const char *layer_digest;  /* the layer's digest */
	const char *signature;	   /* layer annotation dev.cosignproject.cosign/signature */
	const char *certificate;   /* layer annotation dev.sigstore.cosign/certificate */
	const char *chain;	   /* layer annotation dev.sigstore.cosign/chain */
	const char *rekor_bundle;  /* layer annotation dev.sigstore.cosign/bundle */
	const char
		*predicate_type;   /* predicateType, in-toto.io/predicate-type, bundle annotation */
	const unsigned char *data; /* the layer bytes (when fetched) */
	size_t len;
	int fetch_rc; /* 0, or why the layer could not be fetched */
} berth_sign_attached;

/** Called per attached item; non-zero stops the walk and is returned. */
typedef int (*berth_sign_attached_cb)(void *ctx, const berth_sign_attached *a);

/**
 * Walk what is attached to `subject`: the layers of the "sha256-<hex>.<suffix>"
 * manifest (when suffix is not NULL) and, when `referrers`, of every referrer
 * (referrers API, or the "sha256-<hex>" index tag when the registry has no
 * API). With `fetch` each layer's bytes are read (capped by
 * BERTH_SIGN_BUNDLE_MAX, digest-checked).
 */
int berth_sign_image_attached(struct berth_client *c, const char *repo, const berth_digest *subject,
			      const char *suffix, int referrers, int fetch,
			      berth_sign_attached_cb cb, void *ctx) BERTH_WARN_UNUSED;

/**
 * Walk the attestations BuildKit keeps inside an image index: the layers
 * (in-toto statements, application/vnd.in-toto+json) of each manifest that
 * `index` (len bytes, the index as fetched from repo) lists with the
 * annotation vnd.docker.reference.type=attestation-manifest. a.source is
 * that manifest's digest, a.predicate_type the layer's
 * in-toto.io/predicate-type annotation, a.artifact_type NULL. A manifest
 * that is not an index has none (0, no call). BERTH_EINVALID when `index`
 * is not JSON or a listed attestation manifest is not.
 */
int berth_sign_image_index_attestations(struct berth_client *c, const char *repo, const char *index,
					size_t len, int fetch, berth_sign_attached_cb cb,
					void *ctx) BERTH_WARN_UNUSED;

#endif
