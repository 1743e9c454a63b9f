/*
 * rekor.c - upload a signature to a Rekor transparency log (API v1,
 * hashedrekord 0.0.1) and turn its answer into a sigstore bundle tlog entry
 * (protobuf JSON): what `--tlog-upload=true --rekor-url URL` does. Only used
 * when asked for: berth signs offline by default.
 */
#include "internal.h"

#include "util/buf.h"

#include <curl/curl.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REKOR_RESPONSE_MAX (1024 * 1024)
#define REKOR_TIMEOUT_SECONDS 30L

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	return berth_buf_put(ctx, p, size * n) == 0 ? size * n : 0;
}

static int proposed_entry(char **out, const berth_sign_key *k, const unsigned char digest[32],
			  const unsigned char *sig, size_t sig_len)
{
	char hex[65], *pem = NULL, *pem_b64 = NULL, *sig_b64 = NULL;
	size_t pem_len;
	json_t *doc;
	int rc;

	berth_sign__hex(hex, digest, 32);
	if ((rc = berth_sign_key_export_public(k, &pem, &pem_len)) < 0 ||
	    (rc = berth_sign_b64_encode(&pem_b64, pem, pem_len)) < 0 ||
	    (rc = berth_sign_b64_encode(&sig_b64, sig, sig_len)) < 0)
		goto done;
	doc = json_pack("{s:s,s:s,s:{s:{s:{s:s,s:s}},s:{s:s,s:{s:s}}}}", "apiVersion", "0.0.1",
			"kind", "hashedrekord", "spec", "data", "hash", "algorithm", "sha256",
			"value", hex, "signature", "content", sig_b64, "publicKey", "content",
			pem_b64);
	*out = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	rc = *out ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
done:
	free(pem);
	free(pem_b64);
	free(sig_b64);
	return rc;
}

static int post(const char *url, const char *body, berth_buf *resp)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char endpoint[2048], err[CURL_ERROR_SIZE] = "";
	size_t n = strlen(url);
	long status = 0;
	CURLcode cc;

	if (!h)
		return berth_error_set(BERTH_ERROR, "out of memory");
	while (n > 0 && url[n - 1] == '/')
		n--;
	snprintf(endpoint, sizeof(endpoint), "%.*s/api/v1/log/entries", (int)n, url);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	curl_easy_setopt(h, CURLOPT_URL, endpoint);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, REKOR_TIMEOUT_SECONDS);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	if (cc != CURLE_OK)
		return berth_error_set(BERTH_EIO, "cannot reach the transparency log %s: %s", url,
				       err[0] ? err : curl_easy_strerror(cc));
	if (status != 201 && status != 200)
		return berth_error_set(BERTH_EIO, "the transparency log %s answered %ld", url,
				       status);
	return 0;
}

/* Hex text → base64 of its bytes (Rekor v1 speaks hex where bundles speak base64). */
static json_t *hex_to_b64(const char *hex)
{
	unsigned char buf[64];
	char *b64 = NULL;
	size_t n = hex ? strlen(hex) / 2 : 0;
	json_t *out;

	if (!hex || n == 0 || n > sizeof(buf) || berth_sign__unhex(buf, n, hex) < 0 ||
	    berth_sign_b64_encode(&b64, buf, n) < 0)
		return NULL;
	out = json_string(b64);
	free(b64);
	return out;
}

static json_t *int_string(json_t *v)
{
	char buf[32];

	if (!json_is_integer(v))
		return NULL;
	snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	return json_string(buf);
}

static json_t *bundle_proof(json_t *p)
{
	json_t *hashes = json_array(), *h, *out;
	size_t i;

	json_array_foreach(json_object_get(p, "hashes"), i, h)
		json_array_append_new(hashes, hex_to_b64(json_string_value(h)));
	out = json_pack("{s:o*,s:o*,s:o*,s:o,s:{s:s?}}", "logIndex",
			int_string(json_object_get(p, "logIndex")), "rootHash",
			hex_to_b64(json_string_value(json_object_get(p, "rootHash"))), "treeSize",
			int_string(json_object_get(p, "treeSize")), "hashes", hashes, "checkpoint",
			"envelope", json_string_value(json_object_get(p, "checkpoint")));
	return out;
}

/* {uuid: {body, integratedTime, logID, logIndex, verification}} → bundle tlogEntry. */
static int to_entry(char **out, const berth_buf *resp, const char *kind, const char *version)
{
	json_t *doc = NULL, *e = NULL, *v, *entry = NULL, *proof;
	const char *uuid;
	int rc = 0;

	if ((rc = berth_sign__json_load(&doc, resp->ptr, resp->len, REKOR_RESPONSE_MAX,
					"transparency log answer")) < 0)
		return rc;
	json_object_foreach(doc, uuid, e) break;
	v = json_object_get(e, "verification");
	proof = json_object_get(v, "inclusionProof");
	entry = json_pack("{s:o*,s:{s:o*},s:{s:s,s:s},s:o*,s:{s:s?},s:s?}", "logIndex",
			  int_string(json_object_get(e, "logIndex")), "logId", "keyId",
			  hex_to_b64(json_string_value(json_object_get(e, "logID"))), "kindVersion",
			  "kind", kind, "version", version, "integratedTime",
			  int_string(json_object_get(e, "integratedTime")), "inclusionPromise",
			  "signedEntryTimestamp",
			  json_string_value(json_object_get(v, "signedEntryTimestamp")),
			  "canonicalizedBody", json_string_value(json_object_get(e, "body")));
	if (!entry || !json_object_get(entry, "logIndex") ||
	    !json_object_get(entry, "canonicalizedBody")) {
		rc = berth_error_set(BERTH_EINVALID, "the transparency log's answer is not a log "
						     "entry");
		goto done;
	}
	if (proof)
		json_object_set_new(entry, "inclusionProof", bundle_proof(proof));
	*out = json_dumps(entry, JSON_COMPACT | JSON_PRESERVE_ORDER);
	rc = *out ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
done:
	json_decref(entry);
	json_decref(doc);
	return rc;
}

/* POST a proposed entry (JSON text) and turn the answer into a bundle tlogEntry. */
static int upload(char **entry_json, const char *url, const char *body, const char *kind,
		  const char *version)
{
	berth_buf resp = BERTH_BUF_INIT(REKOR_RESPONSE_MAX);
	int rc;

	if ((rc = post(url, body, &resp)) == 0)
		rc = to_entry(entry_json, &resp, kind, version);
	berth_buf_dispose(&resp);
	return rc;
}

static int check_url(const char *url)
{
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return berth_error_set(BERTH_EINVALID, "--rekor-url must be an http(s) URL");
	return 0;
}

int berth_sign_rekor_upload(char **entry_json, const char *url, const berth_sign_key *k,
			    const unsigned char digest[32], const unsigned char *sig,
			    size_t sig_len)
{
	char *body = NULL;
	int rc;

	*entry_json = NULL;
	if ((rc = check_url(url)) < 0 || (rc = proposed_entry(&body, k, digest, sig, sig_len)) < 0)
		goto done;
	rc = upload(entry_json, url, body, "hashedrekord", "0.0.1");
done:
	free(body);
	return rc;
}

/* SHA-256 (hex) of the compact, key-sorted JSON text of doc: the intoto entry's envelope hash. */
static int canonical_sha256(char hex[65], json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	unsigned char h[32];

	if (!text)
		return berth_error_set(BERTH_ERROR, "out of memory");
	SHA256((const unsigned char *)text, strlen(text), h);
	free(text);
	berth_sign__hex(hex, h, 32);
	return 0;
}

/* base64 of the base64 text of bytes: what an intoto 0.0.2 entry stores. */
static json_t *b64_twice(const unsigned char *p, size_t n)
{
	char *once = NULL, *twice = NULL;
	json_t *out = NULL;

	if (berth_sign_b64_encode(&once, p, n) == 0 &&
	    berth_sign_b64_encode(&twice, once, strlen(once)) == 0)
		out = json_string(twice);
	free(once);
	free(twice);
	return out;
}

/*
 * The proposed intoto 0.0.2 entry of a DSSE envelope with one signature, as
 * cosign and sigstore-js make it; `hash` is over the envelope with payload
 * and signature base64-encoded once and the key as PEM text (keyid only when
 * not empty, as Rekor drops an empty one).
 */
static int proposed_intoto(char **out, const berth_sign_key *k, const berth_sign_dsse *e)
{
	char *pem = NULL, *pem_b64 = NULL, *pl_b64 = NULL, *sig_b64 = NULL, hash[65], phash[65];
	unsigned char ph[32];
	json_t *plain = NULL, *doc = NULL, *sig;
	size_t pem_len;
	int rc;

	*out = NULL;
	if ((rc = berth_sign_key_export_public(k, &pem, &pem_len)) < 0 ||
	    (rc = berth_sign_b64_encode(&pem_b64, pem, pem_len)) < 0 ||
	    (rc = berth_sign_b64_encode(&pl_b64, e->payload, e->payload_len)) < 0 ||
	    (rc = berth_sign_b64_encode(&sig_b64, e->sigs[0].sig, e->sigs[0].sig_len)) < 0)
		goto done;
	plain = json_pack("{s:s,s:s,s:[{s:s,s:s}]}", "payloadType", e->payload_type, "payload",
			  pl_b64, "signatures", "sig", sig_b64, "publicKey", pem);
	sig = json_pack("{s:o*,s:s}", "sig", b64_twice(e->sigs[0].sig, e->sigs[0].sig_len),
			"publicKey", pem_b64);
	if (plain && sig && e->sigs[0].keyid[0]) {
		json_object_set_new(json_array_get(json_object_get(plain, "signatures"), 0),
				    "keyid", json_string(e->sigs[0].keyid));
		json_object_set_new(sig, "keyid", json_string(e->sigs[0].keyid));
	}
	SHA256(e->payload, e->payload_len, ph);
	berth_sign__hex(phash, ph, 32);
	if (!plain || !sig || (rc = canonical_sha256(hash, plain)) < 0) {
		json_decref(sig);
		rc = rc < 0 ? rc : berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	doc = json_pack("{s:s,s:s,s:{s:{s:{s:s,s:o*,s:[o]},s:{s:s,s:s},s:{s:s,s:s}}}}",
			"apiVersion", "0.0.2", "kind", "intoto", "spec", "content", "envelope",
			"payloadType", e->payload_type, "payload",
			b64_twice(e->payload, e->payload_len), "signatures", sig, "hash",
			"algorithm", "sha256", "value", hash, "payloadHash", "algorithm", "sha256",
			"value", phash);
	*out = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	rc = *out ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
done:
	json_decref(plain);
	json_decref(doc);
	free(pem);
	free(pem_b64);
	free(pl_b64);
	free(sig_b64);
	return rc;
}

int berth_sign_rekor_upload_dsse(char **entry_json, const char *url, const berth_sign_key *k,
				 const char *dsse_json)
{
	berth_sign_dsse *e = NULL;
	char *body = NULL;
	int rc;

	*entry_json = NULL;
	if ((rc = check_url(url)) < 0 ||
	    (rc = berth_sign_dsse_parse(&e, dsse_json, strlen(dsse_json))) < 0 ||
	    (rc = proposed_intoto(&body, k, e)) < 0)
		goto done;
	rc = upload(entry_json, url, body, "intoto", "0.0.2");
done:
	berth_sign_dsse_free(e);
	free(body);
	return rc;
}
