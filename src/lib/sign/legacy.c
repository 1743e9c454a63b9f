/*
 * legacy.c - cosign's legacy ".sig" signature layers: the base64 signature
 * over the simple-signing payload in a layer annotation, and for keyless
 * signatures the Fulcio certificate, its chain and cosign's Rekor bundle
 * (the signed entry timestamp and the entry) in three more. Verification
 * turns the layer into the sigstore bundle it stands for (a message
 * signature over the payload with one tlog entry) and checks that, so the
 * rules are those of bundles.
 */
#include "internal.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

/* Each PEM certificate of text, appended to b->certs as DER. */
static int add_certs(berth_sign_bundle *b, const char *text, const char *what)
{
	size_t len = strlen(text), before = b->n_certs;
	BIO *bio;
	X509 *x;
	int rc = 0;

	if (len > BERTH_SIGN_ANNOTATION_MAX)
		return berth_error_set(BERTH_ETOOBIG, "the %s annotation is over %d bytes", what,
				       BERTH_SIGN_ANNOTATION_MAX);
	if (!(bio = BIO_new_mem_buf(text, (int)len)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	while (rc == 0 && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		unsigned char *der = NULL;
		int n = i2d_X509(x, &der);

		X509_free(x);
		if (n <= 0)
			rc = berth_error_set(BERTH_EINVALID, "the %s annotation: a bad certificate",
					     what);
		else if (b->n_certs >= BERTH_SIGN_LIST_MAX)
			rc = berth_error_set(BERTH_ETOOBIG, "more than %d certificates",
					     BERTH_SIGN_LIST_MAX);
		else if (!(b->certs[b->n_certs] = malloc((size_t)n)))
			rc = berth_error_set(BERTH_ERROR, "out of memory");
		if (rc == 0) {
			memcpy(b->certs[b->n_certs], der, (size_t)n);
			b->cert_lens[b->n_certs++] = (size_t)n;
		}
		OPENSSL_free(der);
	}
	BIO_free(bio);
	ERR_clear_error();
	if (rc == 0 && b->n_certs == before)
		rc = berth_error_set(BERTH_EINVALID, "the %s annotation holds no PEM certificate",
				     what);
	return rc;
}

/* {"SignedEntryTimestamp":B64,"Payload":{"body":B64,"integratedTime","logIndex","logID":HEX}} */
static int add_rekor_bundle(berth_sign_bundle *b, const char *text)
{
	const char *what = "the Rekor bundle annotation";
	json_t *doc = NULL, *p;
	berth_sign_tlog_entry *t;
	const char *id;
	int rc;

	if ((rc = berth_sign__json_load(&doc, text, strlen(text), BERTH_SIGN_ANNOTATION_MAX,
					what)) < 0)
		return rc;
	if (!(b->tlog = calloc(1, sizeof(*b->tlog)))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	b->n_tlog = 1;
	t = b->tlog;
	p = json_object_get(doc, "Payload");
	if ((rc = berth_sign__json_b64(doc, "SignedEntryTimestamp", what, &t->set, &t->set_len)) <
		    0 ||
	    (rc = berth_sign__json_b64(p, "body", what, &t->body, &t->body_len)) < 0 ||
	    (rc = berth_sign__json_int64(p, "integratedTime", what, &t->integrated_time)) < 0 ||
	    (rc = berth_sign__json_int64(p, "logIndex", what, &t->log_index)) < 0)
		goto done;
	if (!(id = berth_sign__json_str(p, "logID", what, 1))) {
		rc = BERTH_EINVALID;
		goto done;
	}
	if (strlen(id) != 64 || berth_sign__unhex(t->log_id, 32, id) < 0) {
		rc = berth_error_set(BERTH_EINVALID, "%s: logID is not 64 hex digits", what);
		goto done;
	}
	t->has_log_id = 1;
done:
	json_decref(doc);
	return rc;
}

/* The bundle a legacy layer stands for: a message signature over payload. */
static int to_bundle(berth_sign_bundle **out, const void *payload, size_t len,
		     const berth_sign_legacy *l)
{
	berth_sign_bundle *b = calloc(1, sizeof(*b));
	int rc = 0;

	*out = NULL;
	if (!b || !(b->certs = calloc(BERTH_SIGN_LIST_MAX, sizeof(*b->certs))) ||
	    !(b->cert_lens = calloc(BERTH_SIGN_LIST_MAX, sizeof(*b->cert_lens)))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	b->minor = 1;
	b->has_digest = 1;
	SHA256(payload, len, b->digest);
	if (!l->signature || strlen(l->signature) > BERTH_SIGN_ANNOTATION_MAX ||
	    berth_sign_b64_decode(&b->sig, &b->sig_len, l->signature, strlen(l->signature)) < 0) {
		rc = berth_error_set(BERTH_EDENIED, "layer without a valid base64 signature");
		goto done;
	}
	if ((l->certificate && (rc = add_certs(b, l->certificate, "certificate")) < 0) ||
	    (l->chain && (rc = add_certs(b, l->chain, "chain")) < 0) ||
	    (l->bundle && (rc = add_rekor_bundle(b, l->bundle)) < 0))
		goto done;
	*out = b;
	b = NULL;
done:
	berth_sign_bundle_free(b);
	return rc;
}

int berth_sign_legacy_verify(const void *payload, size_t len, const berth_sign_legacy *l,
			     const berth_sign_key *key, const berth_sign_trusted_root *root,
			     const berth_sign_identity *id)
{
	berth_sign_bundle *b = NULL;
	int rc;

	if (len > BERTH_SIGN_PAYLOAD_MAX)
		return berth_error_set(BERTH_ETOOBIG, "a signed payload over %d bytes",
				       BERTH_SIGN_PAYLOAD_MAX);
	if ((rc = to_bundle(&b, payload, len, l)) < 0)
		return rc;
	if (!key && !l->certificate)
		rc = berth_error_set(BERTH_EDENIED, "the layer carries no certificate (signed with "
						    "a key? use --key)");
	else if ((!key || root) && b->n_tlog == 0)
		rc = berth_error_set(BERTH_EDENIED, "the layer carries no Rekor bundle (%s)",
				     BERTH_SIGN_ANNOTATION_BUNDLE);
	else
		rc = berth_sign_bundle_verify(b, payload, len, NULL, key, root, id);
	berth_sign_bundle_free(b);
	return rc;
}

int berth_sign_legacy_attestation_verify(const void *envelope, size_t len, const char *rekor_bundle,
					 const berth_sign_key *key,
					 const berth_sign_trusted_root *root)
{
	berth_sign_bundle *b = calloc(1, sizeof(*b));
	int rc;

	if (!b)
		return berth_error_set(BERTH_ERROR, "out of memory");
	b->minor = 1;
	if ((rc = berth_sign_dsse_parse(&b->dsse, envelope, len)) < 0 ||
	    (rekor_bundle && (rc = add_rekor_bundle(b, rekor_bundle)) < 0))
		goto done;
	if (root && b->n_tlog == 0)
		rc = berth_error_set(BERTH_EDENIED, "the layer carries no Rekor bundle (%s)",
				     BERTH_SIGN_ANNOTATION_BUNDLE);
	else
		rc = berth_sign_bundle_verify_content(b, key, root, NULL);
done:
	berth_sign_bundle_free(b);
	return rc;
}

int berth_sign_legacy_rekor_bundle(char **out, const char *tlog_entry_json)
{
	json_t *e = NULL, *doc = NULL;
	unsigned char id[64];
	unsigned char *raw = NULL;
	size_t raw_len = 0;
	int64_t index, when;
	char hex[129];
	const char *set, *body, *id_b64;
	int rc;

	*out = NULL;
	if ((rc = berth_sign__json_load(&e, tlog_entry_json, strlen(tlog_entry_json),
					BERTH_SIGN_BUNDLE_MAX, "tlog entry")) < 0)
		return rc;
	set = json_string_value(
		json_object_get(json_object_get(e, "inclusionPromise"), "signedEntryTimestamp"));
	body = json_string_value(json_object_get(e, "canonicalizedBody"));
	id_b64 = json_string_value(json_object_get(json_object_get(e, "logId"), "keyId"));
	if (!set || !body || !id_b64 ||
	    berth_sign_b64_decode(&raw, &raw_len, id_b64, strlen(id_b64)) < 0 || raw_len == 0 ||
	    raw_len > sizeof(id) ||
	    berth_sign__json_int64(e, "logIndex", "tlog entry", &index) < 0 ||
	    berth_sign__json_int64(e, "integratedTime", "tlog entry", &when) < 0) {
		rc = berth_error_set(BERTH_EINVALID,
				     "the tlog entry has no signed entry timestamp, "
				     "body, log ID, index or time");
		goto done;
	}
	memcpy(id, raw, raw_len);
	berth_sign__hex(hex, id, raw_len);
	doc = json_pack("{s:s,s:{s:s,s:I,s:I,s:s}}", "SignedEntryTimestamp", set, "Payload", "body",
			body, "integratedTime", (json_int_t)when, "logIndex", (json_int_t)index,
			"logID", hex);
	*out = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	rc = *out ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
done:
	free(raw);
	json_decref(doc);
	json_decref(e);
	return rc;
}
