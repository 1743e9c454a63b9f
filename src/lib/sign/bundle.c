/*
 * bundle.c - sigstore bundles (protobuf-specs JSON), v0.1 to v0.3: parsing
 * the verification material (public key hint, X.509 chain or single
 * certificate, transparency-log entries) and the content (message signature
 * or DSSE envelope), writing key-based v0.3 bundles, and verifying a bundle
 * with a key or keyless (keyless.c does the certificate and log checks).
 */
#include "internal.h"

#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

static void tlog_dispose(berth_sign_tlog_entry *t)
{
	free(t->kind);
	free(t->version);
	free(t->body);
	free(t->set);
	free(t->hashes);
	free(t->checkpoint);
}

void berth_sign_bundle_free(berth_sign_bundle *b)
{
	if (!b)
		return;
	free(b->key_hint);
	for (size_t i = 0; i < b->n_certs; i++)
		free(b->certs[i]);
	free(b->certs);
	free(b->cert_lens);
	for (size_t i = 0; i < b->n_tlog; i++)
		tlog_dispose(&b->tlog[i]);
	free(b->tlog);
	berth_sign_dsse_free(b->dsse);
	free(b->sig);
	free(b);
}

static int media_minor(const char *mt)
{
	if (strcmp(mt, BERTH_SIGN_BUNDLE_V01) == 0)
		return 1;
	if (strcmp(mt, BERTH_SIGN_BUNDLE_V02) == 0)
		return 2;
	if (strcmp(mt, BERTH_SIGN_BUNDLE_V03) == 0 || strcmp(mt, BERTH_SIGN_BUNDLE_V03_ALT) == 0)
		return 3;
	return 0;
}

static int add_cert(berth_sign_bundle *b, json_t *c)
{
	int rc;

	if (b->n_certs >= BERTH_SIGN_LIST_MAX)
		return berth_error_set(BERTH_ETOOBIG, "bundle: more than %d certificates",
				       BERTH_SIGN_LIST_MAX);
	if ((rc = berth_sign__json_b64(c, "rawBytes", "bundle certificate", &b->certs[b->n_certs],
				       &b->cert_lens[b->n_certs])) < 0)
		return rc;
	b->n_certs++;
	return 0;
}

static int parse_certs(berth_sign_bundle *b, json_t *vm)
{
	json_t *chain =
		json_object_get(json_object_get(vm, "x509CertificateChain"), "certificates");
	json_t *cert = json_object_get(vm, "certificate"), *c;
	size_t i;
	int rc;

	b->certs = calloc(BERTH_SIGN_LIST_MAX, sizeof(*b->certs));
	b->cert_lens = calloc(BERTH_SIGN_LIST_MAX, sizeof(*b->cert_lens));
	if (!b->certs || !b->cert_lens)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (cert)
		return add_cert(b, cert);
	json_array_foreach(chain, i, c) if ((rc = add_cert(b, c)) < 0) return rc;
	return 0;
}

static int parse_proof(berth_sign_tlog_entry *t, json_t *p)
{
	unsigned char *root = NULL, *h = NULL;
	size_t root_len, h_len, i;
	const char *cp;
	json_t *hashes = json_object_get(p, "hashes"), *x;
	int rc;

	t->has_proof = 1;
	/* protobuf JSON leaves out zero values: a missing index is 0. */
	if ((json_object_get(p, "logIndex") &&
	     (rc = berth_sign__json_int64(p, "logIndex", "inclusion proof", &t->proof_index)) <
		     0) ||
	    (rc = berth_sign__json_int64(p, "treeSize", "inclusion proof", &t->tree_size)) < 0 ||
	    (rc = berth_sign__json_b64(p, "rootHash", "inclusion proof", &root, &root_len)) < 0)
		return rc;
	if (root_len != 32) {
		free(root);
		return berth_error_set(BERTH_EINVALID,
				       "inclusion proof: root hash is not 32 bytes");
	}
	memcpy(t->root_hash, root, 32);
	free(root);
	if (json_array_size(hashes) > BERTH_SIGN_PROOF_MAX)
		return berth_error_set(BERTH_ETOOBIG, "inclusion proof: more than %d hashes",
				       BERTH_SIGN_PROOF_MAX);
	t->hashes = calloc(json_array_size(hashes) + 1, 32);
	if (!t->hashes)
		return berth_error_set(BERTH_ERROR, "out of memory");
	json_array_foreach(hashes, i, x)
	{
		rc = json_is_string(x) ? berth_sign_b64_decode(&h, &h_len, json_string_value(x),
							       json_string_length(x))
				       : BERTH_EINVALID;
		if (rc < 0 || h_len != 32) {
			free(h);
			return berth_error_set(BERTH_EINVALID, "inclusion proof: bad hash");
		}
		memcpy(t->hashes[i], h, 32);
		free(h);
		t->n_hashes++;
	}
	cp = json_string_value(json_object_get(json_object_get(p, "checkpoint"), "envelope"));
	if (cp && !(t->checkpoint = strdup(cp)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

static int parse_tlog(berth_sign_tlog_entry *t, json_t *e)
{
	json_t *kv = json_object_get(e, "kindVersion"), *promise, *proof;
	const char *kind = json_string_value(json_object_get(kv, "kind"));
	const char *version = json_string_value(json_object_get(kv, "version"));
	unsigned char *id = NULL;
	size_t id_len = 0;
	int rc;

	if ((rc = berth_sign__json_int64(e, "logIndex", "tlog entry", &t->log_index)) < 0 ||
	    (rc = berth_sign__json_int64(e, "integratedTime", "tlog entry", &t->integrated_time)) <
		    0 ||
	    (rc = berth_sign__json_b64(e, "canonicalizedBody", "tlog entry", &t->body,
				       &t->body_len)) < 0)
		return rc;
	if (!(t->kind = strdup(kind ? kind : "")) || !(t->version = strdup(version ? version : "")))
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (json_object_get(json_object_get(e, "logId"), "keyId")) {
		if ((rc = berth_sign__json_b64(json_object_get(e, "logId"), "keyId", "tlog logId",
					       &id, &id_len)) < 0)
			return rc;
		if (id_len == 32) {
			memcpy(t->log_id, id, 32);
			t->has_log_id = 1;
		}
		free(id);
	}
	promise = json_object_get(e, "inclusionPromise");
	if (json_object_get(promise, "signedEntryTimestamp") &&
	    (rc = berth_sign__json_b64(promise, "signedEntryTimestamp", "inclusion promise",
				       &t->set, &t->set_len)) < 0)
		return rc;
	proof = json_object_get(e, "inclusionProof");
	if (proof && (rc = parse_proof(t, proof)) < 0)
		return rc;
	return 0;
}

static int parse_material(berth_sign_bundle *b, json_t *vm)
{
	json_t *entries = json_object_get(vm, "tlogEntries"), *e;
	const char *hint =
		json_string_value(json_object_get(json_object_get(vm, "publicKey"), "hint"));
	size_t i;
	int rc;

	if (!json_is_object(vm))
		return berth_error_set(BERTH_EINVALID, "bundle: verificationMaterial is missing");
	if (hint && !(b->key_hint = strdup(hint)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((rc = parse_certs(b, vm)) < 0)
		return rc;
	if (json_array_size(entries) > BERTH_SIGN_LIST_MAX)
		return berth_error_set(BERTH_ETOOBIG, "bundle: more than %d tlog entries",
				       BERTH_SIGN_LIST_MAX);
	b->tlog = calloc(json_array_size(entries) + 1, sizeof(*b->tlog));
	if (!b->tlog)
		return berth_error_set(BERTH_ERROR, "out of memory");
	json_array_foreach(entries, i, e)
	{
		b->n_tlog++;
		if ((rc = parse_tlog(&b->tlog[i], e)) < 0)
			return rc;
	}
	return 0;
}

static int parse_message(berth_sign_bundle *b, json_t *ms)
{
	json_t *md = json_object_get(ms, "messageDigest");
	const char *alg = json_string_value(json_object_get(md, "algorithm"));
	unsigned char *d = NULL;
	size_t d_len = 0;
	int rc;

	if (!alg || strcmp(alg, "SHA2_256") != 0)
		return berth_error_set(BERTH_EUNSUPPORTED,
				       "bundle: message digest algorithm %s is not supported "
				       "(SHA2_256 is)",
				       alg ? alg : "(missing)");
	if ((rc = berth_sign__json_b64(md, "digest", "bundle messageDigest", &d, &d_len)) < 0)
		return rc;
	if (d_len != 32) {
		free(d);
		return berth_error_set(BERTH_EINVALID, "bundle: message digest is not 32 bytes");
	}
	memcpy(b->digest, d, 32);
	free(d);
	b->has_digest = 1;
	return berth_sign__json_b64(ms, "signature", "bundle messageSignature", &b->sig,
				    &b->sig_len);
}

int berth_sign_bundle_parse(berth_sign_bundle **out, const void *json, size_t len)
{
	berth_sign_bundle *b = NULL;
	json_t *doc = NULL, *ms, *env;
	const char *mt;
	int rc;

	*out = NULL;
	if ((rc = berth_sign__json_load(&doc, json, len, BERTH_SIGN_BUNDLE_MAX, "bundle")) < 0)
		return rc;
	if (!(b = calloc(1, sizeof(*b)))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (!(mt = berth_sign__json_str(doc, "mediaType", "bundle", 1))) {
		rc = BERTH_EINVALID;
		goto done;
	}
	if (!(b->minor = media_minor(mt))) {
		rc = berth_error_set(BERTH_EUNSUPPORTED, "bundle media type %s is not supported",
				     mt);
		goto done;
	}
	if ((rc = parse_material(b, json_object_get(doc, "verificationMaterial"))) < 0)
		goto done;
	ms = json_object_get(doc, "messageSignature");
	env = json_object_get(doc, "dsseEnvelope");
	if (!ms == !env) {
		rc = berth_error_set(BERTH_EINVALID,
				     "bundle: needs exactly one of messageSignature "
				     "and dsseEnvelope");
		goto done;
	}
	rc = ms ? parse_message(b, ms) : berth_sign__dsse_from_json(&b->dsse, env);
	if (rc < 0)
		goto done;
	*out = b;
	b = NULL;
done:
	berth_sign_bundle_free(b);
	json_decref(doc);
	return rc;
}

int berth_sign_bundle_write_key(char **out, size_t *len, const berth_sign_key *k,
				const unsigned char digest[32], const unsigned char *sig,
				size_t sig_len, const char *dsse_json, const char *tlog_entry_json)
{
	char hint[45], *d_b64 = NULL, *s_b64 = NULL;
	json_t *doc = NULL, *env = NULL, *entry = NULL;
	json_error_t err;
	int rc;

	if ((rc = berth_sign_key_hint(k, hint)) < 0)
		return rc;
	if (dsse_json) {
		if (!(env = json_loads(dsse_json, 0, &err)))
			return berth_error_set(BERTH_EINVALID, "DSSE envelope is not JSON: %s",
					       err.text);
		doc = json_pack("{s:s,s:{s:{s:s}},s:o}", "mediaType", BERTH_SIGN_BUNDLE_V03,
				"verificationMaterial", "publicKey", "hint", hint, "dsseEnvelope",
				env);
	} else {
		if ((rc = berth_sign_b64_encode(&d_b64, digest, 32)) < 0 ||
		    (rc = berth_sign_b64_encode(&s_b64, sig, sig_len)) < 0)
			goto done;
		doc = json_pack("{s:s,s:{s:{s:s}},s:{s:{s:s,s:s},s:s}}", "mediaType",
				BERTH_SIGN_BUNDLE_V03, "verificationMaterial", "publicKey", "hint",
				hint, "messageSignature", "messageDigest", "algorithm", "SHA2_256",
				"digest", d_b64, "signature", s_b64);
	}
	if (doc && tlog_entry_json) {
		if (!(entry = json_loads(tlog_entry_json, 0, &err))) {
			rc = berth_error_set(BERTH_EINVALID, "tlog entry is not JSON: %s",
					     err.text);
			goto done;
		}
		json_object_set_new(json_object_get(doc, "verificationMaterial"), "tlogEntries",
				    json_pack("[o]", entry));
	}
	*out = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	rc = *out ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
	if (len && *out)
		*len = strlen(*out);
done:
	json_decref(doc);
	free(d_b64);
	free(s_b64);
	return rc;
}

/* The subject of a DSSE in-toto statement must name the artifact. */
static int dsse_subject_matches(const berth_sign_dsse *e, const unsigned char digest[32])
{
	char want[7 + 65];

	memcpy(want, "sha256:", 7);
	berth_sign__hex(want + 7, digest, 32);
	return berth_sign_intoto_check(e->payload, e->payload_len, want, NULL, NULL);
}

int berth_sign__verify_with(const berth_sign_bundle *b, EVP_PKEY *pkey, const void *artifact,
			    size_t len, const unsigned char *artifact_digest)
{
	berth_sign_key k = {pkey, 0};
	unsigned char d[32];
	int rc;

	if (artifact)
		SHA256(artifact, len, d);
	else if (artifact_digest)
		memcpy(d, artifact_digest, 32);
	if (b->dsse) {
		if ((rc = berth_sign_dsse_verify(b->dsse, &k)) < 0)
			return rc;
		return (artifact || artifact_digest) ? dsse_subject_matches(b->dsse, d) : 0;
	}
	if (!artifact && !artifact_digest)
		return berth_error_set(BERTH_EINVALID, "a message signature needs the artifact");
	if (memcmp(d, b->digest, 32) != 0)
		return berth_error_set(BERTH_EDENIED,
				       "the bundle's message digest is not the artifact's");
	if (artifact)
		rc = berth_sign_key_verify(&k, artifact, len, b->sig, b->sig_len);
	else
		rc = berth_sign_key_verify_sha256(&k, d, b->sig, b->sig_len);
	return rc;
}

static int verify(const berth_sign_bundle *b, const void *artifact, size_t len,
		  const unsigned char *artifact_digest, const berth_sign_key *key,
		  const berth_sign_trusted_root *root, const berth_sign_identity *id)
{
	EVP_PKEY *leaf = NULL;
	int rc;

	if (key) {
		rc = berth_sign__verify_with(b, key->pkey, artifact, len, artifact_digest);
		/* A key and a trusted root: the log entries must hold up too. */
		if (rc == 0 && root)
			rc = berth_sign__verify_tlog_key(b, root, key->pkey);
		return rc;
	}
	if (!root || !id)
		return berth_error_set(BERTH_EINVALID,
				       "keyless verification needs a trusted root and an identity");
	if ((rc = berth_sign__verify_keyless(b, root, id, &leaf)) < 0)
		return rc;
	rc = berth_sign__verify_with(b, leaf, artifact, len, artifact_digest);
	EVP_PKEY_free(leaf);
	return rc;
}

int berth_sign_bundle_verify(const berth_sign_bundle *b, const void *artifact, size_t len,
			     const unsigned char *artifact_digest, const berth_sign_key *key,
			     const berth_sign_trusted_root *root, const berth_sign_identity *id)
{
	if (!artifact && !artifact_digest)
		return berth_error_set(BERTH_EINVALID, "nothing to verify the bundle against");
	return verify(b, artifact, len, artifact_digest, key, root, id);
}

int berth_sign_bundle_verify_content(const berth_sign_bundle *b, const berth_sign_key *key,
				     const berth_sign_trusted_root *root,
				     const berth_sign_identity *id)
{
	if (!b->dsse)
		return berth_error_set(BERTH_EINVALID,
				       "a message-signature bundle needs the signed artifact");
	return verify(b, NULL, 0, NULL, key, root, id);
}
