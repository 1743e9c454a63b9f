/*
 * verify.c - whether a manifest stored in the registry carries a valid
 * signature by one of a project's keys, read straight from meta and the
 * store: cosign's legacy "sha256-<hex>.sig" tag (simple-signing layers) and
 * OCI 1.1 referrers holding sigstore bundles (DSSE, cosign's sign
 * predicate); an index signed so covers the manifests it lists. Also the
 * parsing of a project's key list and the test that a manifest is a
 * signature, attestation or SBOM artifact (by its layers' media types).
 */
#include "lib/policy/internal.h"

#include "berth/oci.h"
#include "util/buf.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUNDLE_PREFIX "application/vnd.dev.sigstore.bundle"

/* Layer media types of what signs, attests or describes an image. */
static const char *const artifact_layer_types[] = {
	BERTH_SIGN_SIMPLESIGNING_MT,
	BERTH_SIGN_DSSE_MT,
	BERTH_SIGN_INTOTO_PT,
	"text/spdx",
	"text/spdx+json",
	"text/spdx+xml",
	"application/spdx+json",
	"application/vnd.cyclonedx",
	"application/vnd.cyclonedx+json",
	"application/vnd.cyclonedx+xml",
	NULL,
};

static int is_artifact_layer(const char *mt)
{
	if (!mt)
		return 0;
	if (strncmp(mt, BUNDLE_PREFIX, strlen(BUNDLE_PREFIX)) == 0)
		return 1;
	for (size_t i = 0; artifact_layer_types[i]; i++)
		if (strcmp(mt, artifact_layer_types[i]) == 0)
			return 1;
	return 0;
}

/* 1 if nothing in `m` is runnable: an image whose every layer is an artifact's. */
static int is_artifact(const berth_manifest *m)
{
	if (m->kind != BERTH_OCI_IMAGE || m->nlayers == 0)
		return 0;
	for (size_t i = 0; i < m->nlayers; i++)
		if (!is_artifact_layer(m->layers[i].media_type))
			return 0;
	return 1;
}

/* A missing or unreadable signature is a verdict; only these are failures of ours. */
static int is_failure(int rc)
{
	return rc < 0 && rc != BERTH_ENOTFOUND && rc != BERTH_EINVALID &&
	       rc != BERTH_EUNSUPPORTED && rc != BERTH_ETOOBIG && rc != BERTH_EDENIED &&
	       rc != BERTH_EDIGEST;
}

typedef struct vstate {
	berth_meta *meta;
	berth_store *store;
	const char *repo;
	berth_sign_key *const *keys;
	size_t nkeys;
	int seen; /* signatures found, valid or not */
} vstate;

/* Manifest `ref` (tag or digest) of the repository, parsed. */
static int load_manifest(vstate *v, const char *ref, berth_manifest **out)
{
	berth_buf body = BERTH_BUF_INIT(BERTH_MANIFEST_CEILING);
	berth_meta_manifest info;
	int rc;

	*out = NULL;
	rc = berth_meta_manifest_get(v->meta, v->repo, ref, &info, &body);
	if (rc == 0)
		rc = berth_manifest_parse(out, body.ptr ? body.ptr : "", body.len, info.media_type);
	berth_buf_dispose(&body);
	return rc;
}

static int read_blob(vstate *v, const berth_descriptor *d, size_t max, berth_buf *out)
{
	if (d->size < 0 || (uint64_t)d->size > max)
		return berth_error_set(BERTH_ETOOBIG, "signature layer too large");
	out->max = max;
	return berth_store_read_blob(v->store, &d->digest, out);
}

/* The base64 signature annotation of a legacy layer, decoded. */
static int layer_signature(const berth_descriptor *l, unsigned char **sig, size_t *len)
{
	json_t *doc = l->annotations ? json_loads(l->annotations, 0, NULL) : NULL;
	const char *s = json_string_value(json_object_get(doc, BERTH_SIGN_ANNOTATION_SIG));
	int rc = s ? berth_sign_b64_decode(sig, len, s, strlen(s))
		   : berth_error_set(BERTH_EINVALID, "layer without a signature");

	json_decref(doc);
	return rc;
}

/* One simple-signing layer: 1 if it verifies with a key and names `d`. */
static int legacy_layer(vstate *v, const berth_descriptor *l, const berth_digest *d)
{
	berth_buf payload = BERTH_BUF_INIT(BERTH_SIGN_PAYLOAD_MAX);
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	int rc, valid = 0;

	v->seen++;
	if ((rc = layer_signature(l, &sig, &sig_len)) < 0 ||
	    (rc = read_blob(v, l, BERTH_SIGN_PAYLOAD_MAX, &payload)) < 0)
		goto done;
	if (berth_sign_simple_signing_check(payload.ptr, payload.len, d->str, NULL, 0) < 0)
		goto done;
	for (size_t k = 0; k < v->nkeys && !valid; k++)
		valid = berth_sign_key_verify(v->keys[k], payload.ptr, payload.len, sig, sig_len) ==
			0;
done:
	free(sig);
	berth_buf_dispose(&payload);
	return is_failure(rc) ? rc : valid;
}

static int legacy_signed(vstate *v, const berth_digest *d)
{
	char tag[BERTH_DIGEST_MAX + 8];
	berth_manifest *m = NULL;
	int rc, valid = 0;

	snprintf(tag, sizeof(tag), "%s-%s.sig", berth_digest_algo_name(d->algo),
		 berth_digest_hex(d));
	rc = load_manifest(v, tag, &m);
	if (rc < 0)
		return is_failure(rc) ? rc : 0;
	for (size_t i = 0; i < m->nlayers && i < BERTH_POLICY_CANDIDATES_MAX && !valid; i++) {
		if (!m->layers[i].media_type ||
		    strcmp(m->layers[i].media_type, BERTH_SIGN_SIMPLESIGNING_MT) != 0)
			continue;
		if ((valid = legacy_layer(v, &m->layers[i], d)) < 0)
			break;
	}
	berth_manifest_free(m);
	return valid;
}

/* One bundle layer of a referrer: 1 if its DSSE statement signs `d` with a key. */
static int bundle_layer(vstate *v, const berth_descriptor *l, const berth_digest *d)
{
	berth_buf data = BERTH_BUF_INIT(BERTH_SIGN_BUNDLE_MAX);
	berth_sign_bundle *b = NULL;
	int rc, valid = 0;

	v->seen++;
	if ((rc = read_blob(v, l, BERTH_SIGN_BUNDLE_MAX, &data)) < 0 ||
	    (rc = berth_sign_bundle_parse(&b, data.ptr, data.len)) < 0)
		goto done;
	/* Image signatures are DSSE statements; a bare message signature names no image. */
	if (!b->dsse || strcmp(b->dsse->payload_type, BERTH_SIGN_INTOTO_PT) != 0 ||
	    berth_sign_intoto_check(b->dsse->payload, b->dsse->payload_len, d->str,
				    BERTH_SIGN_COSIGN_SIGN_PREDICATE, NULL) < 0)
		goto done;
	for (size_t k = 0; k < v->nkeys && !valid; k++)
		valid = berth_sign_bundle_verify_content(b, v->keys[k], NULL, NULL) == 0;
done:
	berth_sign_bundle_free(b);
	berth_buf_dispose(&data);
	return is_failure(rc) ? rc : valid;
}

typedef struct digest_list {
	berth_digest d[BERTH_POLICY_CANDIDATES_MAX];
	size_t n;
} digest_list;

static int add_digest(digest_list *l, const char *s)
{
	if (l->n >= BERTH_POLICY_CANDIDATES_MAX)
		return 1; /* enough: the rest is not examined */
	if (s && berth_digest_parse(&l->d[l->n], s, strlen(s)) == 0)
		l->n++;
	return 0;
}

static int add_bundle_referrer(void *ctx, const berth_meta_referrer *r)
{
	if (!r->artifact_type || strncmp(r->artifact_type, BUNDLE_PREFIX, strlen(BUNDLE_PREFIX)))
		return 0;
	return add_digest(ctx, r->digest);
}

static int add_parent(void *ctx, const char *digest)
{
	return add_digest(ctx, digest);
}

static int referrer_signed(vstate *v, const berth_digest *d)
{
	digest_list *l = calloc(1, sizeof(*l));
	berth_manifest *m = NULL;
	int rc, valid = 0;

	if (!l)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((rc = berth_meta_referrers(v->meta, v->repo, d, NULL, add_bundle_referrer, l)) < 0)
		goto done;
	for (size_t i = 0; i < l->n && !valid; i++) {
		if ((rc = load_manifest(v, l->d[i].str, &m)) < 0) {
			if (is_failure(rc))
				goto done;
			continue;
		}
		for (size_t j = 0; j < m->nlayers && !valid; j++) {
			const char *mt = m->layers[j].media_type;

			if (!mt || strncmp(mt, BUNDLE_PREFIX, strlen(BUNDLE_PREFIX)) != 0)
				continue;
			if ((valid = bundle_layer(v, &m->layers[j], d)) < 0) {
				rc = valid;
				goto done;
			}
		}
		berth_manifest_free(m);
		m = NULL;
	}
	rc = 0;
done:
	berth_manifest_free(m);
	free(l);
	return rc < 0 ? rc : valid;
}

/* 1 if `d` is signed, itself or through an index listing it (depth levels up). */
static int signed_by_key(vstate *v, const berth_digest *d, int depth)
{
	digest_list *parents = NULL;
	int rc;

	if ((rc = legacy_signed(v, d)) != 0 || (rc = referrer_signed(v, d)) != 0)
		return rc;
	if (depth >= BERTH_POLICY_INDEX_DEPTH)
		return 0;
	if (!(parents = calloc(1, sizeof(*parents))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	rc = berth_meta_manifest_parents(v->meta, v->repo, d, add_parent, parents);
	for (size_t i = 0; rc == 0 && i < parents->n; i++)
		rc = signed_by_key(v, &parents->d[i], depth + 1);
	free(parents);
	return rc;
}

int berth_policy__verify(berth_meta *meta, berth_store *store, const char *repo,
			 const berth_digest *d, berth_sign_key *const *keys, size_t nkeys,
			 berth_policy__verdict *verdict)
{
	vstate v = {meta, store, repo, keys, nkeys, 0};
	berth_manifest *m = NULL;
	int rc, artifact;

	*verdict = BERTH_POLICY__NONE;
	rc = load_manifest(&v, d->str, &m);
	if (rc < 0 && is_failure(rc))
		return rc;
	artifact = rc == 0 && is_artifact(m);
	berth_manifest_free(m);
	if (artifact) {
		*verdict = BERTH_POLICY__ARTIFACT;
		return 0;
	}
	rc = signed_by_key(&v, d, 0);
	if (rc < 0)
		return rc;
	*verdict = rc ? BERTH_POLICY__SIGNED
		      : (v.seen ? BERTH_POLICY__INVALID : BERTH_POLICY__UNSIGNED);
	return 0;
}

/* ---- key lists ---- */

#define PEM_BEGIN "-----BEGIN "
#define PEM_END "-----END "

int berth_policy__keys_parse(const char *keys, berth_sign_key ***out, size_t *n, size_t max)
{
	berth_sign_key **arr = NULL;
	const char *p = keys ? keys : "";
	size_t count = 0;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!(arr = calloc(max ? max : 1, sizeof(*arr))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	while ((p = strstr(p, PEM_BEGIN)) != NULL) {
		const char *end = strstr(p, PEM_END), *eol;

		if (!end || !(eol = strstr(end + strlen(PEM_END), "-----"))) {
			rc = berth_error_set(BERTH_EINVALID, "key %zu: PEM block not terminated",
					     count + 1);
			goto done;
		}
		eol += 5;
		if (count >= max) {
			rc = berth_error_set(BERTH_EINVALID, "more than %zu keys", max);
			goto done;
		}
		if ((rc = berth_sign_key_load_public(&arr[count], p, (size_t)(eol - p))) < 0) {
			rc = berth_error_set(BERTH_EINVALID, "key %zu: %s", count + 1,
					     berth_error_last());
			goto done;
		}
		if (berth_sign_key_is_private(arr[count])) {
			count++;
			rc = berth_error_set(BERTH_EINVALID, "key %zu is a private key", count);
			goto done;
		}
		count++;
		p = eol;
	}
	if (!count) {
		rc = berth_error_set(BERTH_EINVALID, "no PEM public key");
		goto done;
	}
	*out = arr;
	*n = count;
	/* now owned by the caller */ arr = NULL;
done:
	if (arr) {
		for (size_t i = 0; i < count; i++)
			berth_sign_key_free(arr[i]);
		free(arr);
	}
	return rc;
}
