/*
 * payload.c - what gets signed: cosign's simple-signing JSON, DSSE envelopes
 * (PAE, envelope JSON) and in-toto statements with the predicate types
 * cosign's `--type` words name. Written as cosign writes them (compact JSON,
 * fields in cosign's order) so that a signature here verifies there.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_ann(const void *a, const void *b)
{
	return strcmp(((const berth_sign_annotation *)a)->key,
		      ((const berth_sign_annotation *)b)->key);
}

static int dump(char **out, size_t *len, json_t *doc)
{
	*out = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	if (!*out)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (len)
		*len = strlen(*out);
	return 0;
}

int berth_sign_simple_signing(char **out, size_t *len, const char *docker_ref, const char *digest,
			      const berth_sign_annotation *ann, size_t n_ann)
{
	berth_sign_annotation *sorted = NULL;
	json_t *doc, *opt = json_null();

	if (n_ann) {
		sorted = malloc(n_ann * sizeof(*sorted));
		opt = json_object();
		if (!sorted || !opt) {
			free(sorted);
			json_decref(opt);
			return berth_error_set(BERTH_ERROR, "out of memory");
		}
		memcpy(sorted, ann, n_ann * sizeof(*sorted));
		qsort(sorted, n_ann, sizeof(*sorted), cmp_ann);
		for (size_t i = 0; i < n_ann; i++)
			json_object_set_new(opt, sorted[i].key, json_string(sorted[i].value));
		free(sorted);
	}
	doc = json_pack("{s:{s:{s:s},s:{s:s},s:s},s:o}", "critical", "identity", "docker-reference",
			docker_ref, "image", "docker-manifest-digest", digest, "type",
			BERTH_SIGN_COSIGN_TYPE, "optional", opt);
	return dump(out, len, doc);
}

/* Every annotation asked for must be in `optional` with the same string value. */
static int check_annotations(json_t *opt, const berth_sign_annotation *ann, size_t n_ann)
{
	for (size_t i = 0; i < n_ann; i++) {
		json_t *v = json_object_get(opt, ann[i].key);

		if (!json_is_string(v) || strcmp(json_string_value(v), ann[i].value) != 0)
			return berth_error_set(BERTH_EDENIED,
					       "annotation %s=%s is not in the signed payload",
					       ann[i].key, ann[i].value);
	}
	return 0;
}

int berth_sign_simple_signing_check(const void *payload, size_t len, const char *digest,
				    const berth_sign_annotation *ann, size_t n_ann)
{
	json_t *doc = NULL, *crit, *image, *d;
	const char *type;
	int rc;

	if ((rc = berth_sign__json_load(&doc, payload, len, BERTH_SIGN_PAYLOAD_MAX,
					"signed payload")) < 0)
		return rc == BERTH_ETOOBIG
			       ? rc
			       : berth_error_set(BERTH_EDENIED, "%s", berth_error_last());
	crit = json_object_get(doc, "critical");
	image = json_object_get(crit, "image");
	type = json_string_value(json_object_get(crit, "type"));
	/* cosign reads the key case-insensitively (Go's decoder); older signers wrote
	 * "Docker-manifest-digest". */
	d = json_object_get(image, "docker-manifest-digest");
	if (!d)
		d = json_object_get(image, "Docker-manifest-digest");
	rc = BERTH_EDENIED;
	if (!type || (strcmp(type, BERTH_SIGN_COSIGN_TYPE) != 0 &&
		      strcmp(type, BERTH_SIGN_COSIGN_SIGN_PREDICATE) != 0))
		berth_error_set(rc, "signed payload: critical.type is not \"%s\"",
				BERTH_SIGN_COSIGN_TYPE);
	else if (!json_is_string(d) || strcmp(json_string_value(d), digest) != 0)
		berth_error_set(rc, "signed payload is for another image (digest %s, want %s)",
				json_is_string(d) ? json_string_value(d) : "missing", digest);
	else
		rc = check_annotations(json_object_get(doc, "optional"), ann, n_ann);
	json_decref(doc);
	return rc;
}

int berth_sign_dsse_pae(unsigned char **out, size_t *out_len, const char *payload_type,
			const void *payload, size_t len)
{
	char head[64];
	size_t tl = strlen(payload_type), hl;
	unsigned char *p;
	int n;

	/* "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body */
	n = snprintf(head, sizeof(head), "DSSEv1 %zu ", tl);
	hl = (size_t)n;
	*out_len = hl + tl + 24 + len;
	p = malloc(*out_len);
	if (!p)
		return berth_error_set(BERTH_ERROR, "out of memory");
	memcpy(p, head, hl);
	memcpy(p + hl, payload_type, tl);
	n = snprintf((char *)p + hl + tl, 24, " %zu ", len);
	memcpy(p + hl + tl + (size_t)n, payload, len);
	*out_len = hl + tl + (size_t)n + len;
	*out = p;
	return 0;
}

void berth_sign_dsse_free(berth_sign_dsse *e)
{
	if (!e)
		return;
	free(e->payload_type);
	free(e->payload);
	for (size_t i = 0; i < e->n_sigs; i++) {
		free(e->sigs[i].keyid);
		free(e->sigs[i].sig);
	}
	free(e->sigs);
	free(e);
}

static int dsse_sigs(berth_sign_dsse *e, json_t *sigs)
{
	size_t n = json_array_size(sigs);
	int rc;

	if (!json_is_array(sigs) || n == 0)
		return berth_error_set(BERTH_EINVALID, "DSSE envelope: no signatures");
	if (n > BERTH_SIGN_LIST_MAX)
		return berth_error_set(BERTH_ETOOBIG, "DSSE envelope: more than %d signatures",
				       BERTH_SIGN_LIST_MAX);
	e->sigs = calloc(n, sizeof(*e->sigs));
	if (!e->sigs)
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(sigs, i);
		const char *keyid = json_string_value(json_object_get(s, "keyid"));

		e->n_sigs++;
		e->sigs[i].keyid = strdup(keyid ? keyid : "");
		if (!e->sigs[i].keyid)
			return berth_error_set(BERTH_ERROR, "out of memory");
		if ((rc = berth_sign__json_b64(s, "sig", "DSSE signature", &e->sigs[i].sig,
					       &e->sigs[i].sig_len)) < 0)
			return rc;
	}
	return 0;
}

static int dsse_from_json(berth_sign_dsse **out, json_t *doc)
{
	berth_sign_dsse *e = calloc(1, sizeof(*e));
	const char *pt;
	int rc;

	*out = NULL;
	if (!e)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (!(pt = berth_sign__json_str(doc, "payloadType", "DSSE envelope", 1))) {
		rc = BERTH_EINVALID;
		goto done;
	}
	if (!(e->payload_type = strdup(pt))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if ((rc = berth_sign__json_b64(doc, "payload", "DSSE envelope", &e->payload,
				       &e->payload_len)) < 0 ||
	    (rc = dsse_sigs(e, json_object_get(doc, "signatures"))) < 0)
		goto done;
	*out = e;
	e = NULL;
done:
	berth_sign_dsse_free(e);
	return rc;
}

int berth_sign__dsse_from_json(berth_sign_dsse **out, json_t *doc)
{
	return dsse_from_json(out, doc);
}

int berth_sign_dsse_parse(berth_sign_dsse **out, const void *json, size_t len)
{
	json_t *doc = NULL;
	int rc;

	*out = NULL;
	if ((rc = berth_sign__json_load(&doc, json, len, BERTH_SIGN_BUNDLE_MAX, "DSSE envelope")) <
	    0)
		return rc;
	rc = dsse_from_json(out, doc);
	json_decref(doc);
	return rc;
}

int berth_sign_dsse_sign(char **out, size_t *out_len, const berth_sign_key *k,
			 const char *payload_type, const void *payload, size_t len)
{
	unsigned char *pae = NULL, *sig = NULL;
	char *payload_b64 = NULL, *sig_b64 = NULL;
	size_t pae_len, sig_len;
	int rc;

	if (len > BERTH_SIGN_PAYLOAD_MAX)
		return berth_error_set(BERTH_ETOOBIG, "payload larger than %d bytes",
				       BERTH_SIGN_PAYLOAD_MAX);
	if ((rc = berth_sign_dsse_pae(&pae, &pae_len, payload_type, payload, len)) < 0 ||
	    (rc = berth_sign_key_sign(k, pae, pae_len, &sig, &sig_len)) < 0 ||
	    (rc = berth_sign_b64_encode(&payload_b64, payload, len)) < 0 ||
	    (rc = berth_sign_b64_encode(&sig_b64, sig, sig_len)) < 0)
		goto done;
	rc = dump(out, out_len,
		  json_pack("{s:s,s:s,s:[{s:s,s:s}]}", "payloadType", payload_type, "payload",
			    payload_b64, "signatures", "keyid", "", "sig", sig_b64));
done:
	free(pae);
	free(sig);
	free(payload_b64);
	free(sig_b64);
	return rc;
}

int berth_sign_dsse_verify(const berth_sign_dsse *e, const berth_sign_key *k)
{
	unsigned char *pae = NULL;
	size_t pae_len;
	int rc;

	if ((rc = berth_sign_dsse_pae(&pae, &pae_len, e->payload_type, e->payload,
				      e->payload_len)) < 0)
		return rc;
	rc = BERTH_EDENIED;
	for (size_t i = 0; i < e->n_sigs && rc < 0; i++)
		rc = berth_sign_key_verify(k, pae, pae_len, e->sigs[i].sig, e->sigs[i].sig_len);
	free(pae);
	if (rc < 0)
		return berth_error_set(BERTH_EDENIED,
				       "no signature of the DSSE envelope verifies with the key");
	return 0;
}

static const struct {
	const char *word, *uri;
} predicate_types[] = {
	{"spdx", "https://spdx.dev/Document"},
	{"spdxjson", "https://spdx.dev/Document"},
	{"cyclonedx", "https://cyclonedx.org/bom"},
	{"slsaprovenance", "https://slsa.dev/provenance/v0.2"},
	{"slsaprovenance02", "https://slsa.dev/provenance/v0.2"},
	{"slsaprovenance1", "https://slsa.dev/provenance/v1"},
	{"link", "https://in-toto.io/Link/v1"},
	{"vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"},
	{"openvex", "https://openvex.dev/ns"},
	{"custom", "https://cosign.sigstore.dev/attestation/v1"},
};

const char *berth_sign_predicate_type(const char *type)
{
	for (size_t i = 0; i < sizeof(predicate_types) / sizeof(predicate_types[0]); i++)
		if (strcmp(type, predicate_types[i].word) == 0)
			return predicate_types[i].uri;
	if (strstr(type, "://"))
		return type;
	return NULL;
}

static int custom_predicate(json_t **out, const char *text, size_t len)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	*out = json_pack("{s:s%,s:s}", "Data", text, len, "Timestamp", ts);
	return *out ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
}

int berth_sign_intoto_statement(char **out, size_t *len, const char *subject_name,
				const char *digest, const char *predicate_type,
				const char *predicate, size_t predicate_len, int wrap_custom)
{
	json_t *pred = NULL;
	json_error_t err;
	const char *hex = strchr(digest, ':');
	int rc;

	if (predicate_len > BERTH_SIGN_PAYLOAD_MAX)
		return berth_error_set(BERTH_ETOOBIG, "predicate larger than %d bytes",
				       BERTH_SIGN_PAYLOAD_MAX);
	if (!hex || strncmp(digest, "sha256:", 7) != 0)
		return berth_error_set(BERTH_EINVALID, "subject digest must be sha256:HEX");
	if (wrap_custom) {
		if ((rc = custom_predicate(&pred, predicate, predicate_len)) < 0)
			return rc;
	} else {
		pred = json_loadb(predicate, predicate_len, 0, &err);
		if (!pred)
			return berth_error_set(BERTH_EINVALID, "predicate is not valid JSON: %s",
					       err.text);
	}
	return dump(out, len,
		    json_pack("{s:s,s:s,s:[{s:s,s:{s:s}}],s:o}", "_type",
			      "https://in-toto.io/Statement/v0.1", "predicateType", predicate_type,
			      "subject", "name", subject_name, "digest", "sha256", hex + 1,
			      "predicate", pred));
}

static int subject_matches(json_t *subjects, const char *hex)
{
	size_t i;
	json_t *s;

	json_array_foreach(subjects, i, s)
	{
		const char *v =
			json_string_value(json_object_get(json_object_get(s, "digest"), "sha256"));

		if (v && strcmp(v, hex) == 0)
			return 1;
	}
	return 0;
}

int berth_sign_intoto_check(const void *stmt, size_t len, const char *digest,
			    const char *predicate_type, char **found_type)
{
	json_t *doc = NULL;
	const char *type, *pt, *hex = strchr(digest, ':');
	int rc;

	if (found_type)
		*found_type = NULL;
	if ((rc = berth_sign__json_load(&doc, stmt, len, BERTH_SIGN_PAYLOAD_MAX,
					"in-toto statement")) < 0)
		return rc == BERTH_ETOOBIG
			       ? rc
			       : berth_error_set(BERTH_EDENIED, "%s", berth_error_last());
	type = json_string_value(json_object_get(doc, "_type"));
	pt = json_string_value(json_object_get(doc, "predicateType"));
	rc = BERTH_EDENIED;
	if (!type || strncmp(type, "https://in-toto.io/Statement/", 29) != 0)
		berth_error_set(rc, "the signed payload is not an in-toto statement");
	else if (!pt)
		berth_error_set(rc, "in-toto statement without predicateType");
	else if (!hex || !subject_matches(json_object_get(doc, "subject"), hex + 1))
		berth_error_set(rc, "in-toto statement: no subject has digest %s", digest);
	else if (predicate_type && strcmp(pt, predicate_type) != 0)
		berth_error_set(rc, "in-toto statement has predicate type %s, not %s", pt,
				predicate_type);
	else
		rc = 0;
	if (rc == 0 && found_type && !(*found_type = strdup(pt)))
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	json_decref(doc);
	return rc;
}
