/*
 * image.c - where signatures, attestations and SBOMs live in a registry, as
 * cosign puts them: the tag schema (a manifest under "sha256-<hex>.sig",
 * ".att" or ".sbom" whose layers are the attached items, signatures in layer
 * annotations) and OCI 1.1 referrers (a manifest with a subject and an
 * artifactType, one layer). Only registry plumbing: the crypto is the
 * caller's (bundle.c, payload.c).
 */
#include "internal.h"

#include "berth/client.h"
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_EMPTY "application/vnd.oci.empty.v1+json"
#define BUILDKIT_REF_TYPE "vnd.docker.reference.type"
#define BUILDKIT_ATTESTATION "attestation-manifest"

typedef struct mem_src {
	const unsigned char *p;
	size_t len, off;
} mem_src;

static long mem_read(void *ctx, void *buf, size_t cap)
{
	mem_src *m = ctx;
	size_t n = m->len - m->off < cap ? m->len - m->off : cap;

	memcpy(buf, m->p + m->off, n);
	m->off += n;
	return (long)n;
}

int berth_sign_image_push_blob(berth_client *c, const char *repo, const void *data, size_t len,
			       berth_digest *out)
{
	mem_src m = {data, len, 0};
	uint64_t size;
	int rc;

	if ((rc = berth_digest_compute(out, BERTH_DIGEST_SHA256, len ? data : "", len)) < 0)
		return rc;
	rc = berth_client_blob_exists(c, repo, out, &size);
	if (rc == 0)
		return 0;
	if (rc != BERTH_ENOTFOUND)
		return rc;
	return berth_client_blob_push(c, repo, out, len, mem_read, &m, 0, 0);
}

/* The tag of the tag schema: "sha256-<hex>.<suffix>". */
static void schema_tag(char *out, size_t n, const berth_digest *subject, const char *suffix)
{
	snprintf(out, n, "%s-%s%s%s", berth_digest_algo_name(subject->algo),
		 berth_digest_hex(subject), suffix ? "." : "", suffix ? suffix : "");
}

/* The existing manifest of a schema tag, or an empty one. */
static int existing_layers(berth_client *c, const char *repo, const char *tag, json_t **layers)
{
	berth_buf body = BERTH_BUF_INIT(0);
	json_t *doc = NULL;
	int rc = berth_client_manifest_get(c, repo, tag, &body, NULL, 0, NULL);

	*layers = NULL;
	if (rc == BERTH_ENOTFOUND) {
		berth_error_clear();
		*layers = json_array();
		rc = *layers ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (rc < 0)
		goto done;
	doc = json_loadb(body.ptr, body.len, 0, NULL);
	*layers = json_incref(json_object_get(doc, "layers"));
	if (!json_is_array(*layers)) {
		json_decref(*layers);
		*layers = NULL;
		rc = berth_error_set(BERTH_EINVALID, "%s:%s is not an image manifest", repo, tag);
	}
done:
	json_decref(doc);
	berth_buf_dispose(&body);
	return rc;
}

static json_t *layer_desc(const char *media_type, const berth_digest *d, size_t len,
			  const berth_sign_annotation *ann, size_t n_ann)
{
	json_t *l = json_pack("{s:s,s:I,s:s}", "mediaType", media_type, "size", (json_int_t)len,
			      "digest", d->str);
	json_t *a = n_ann ? json_object() : NULL;

	for (size_t i = 0; a && i < n_ann; i++)
		json_object_set_new(a, ann[i].key, json_string(ann[i].value));
	if (l && a)
		json_object_set_new(l, "annotations", a);
	return l;
}

static int same_layer(json_t *a, json_t *b)
{
	return json_equal(json_object_get(a, "digest"), json_object_get(b, "digest")) &&
	       json_equal(json_object_get(a, "annotations"), json_object_get(b, "annotations"));
}

/* cosign's config for a tag-schema manifest: the layers as diff IDs. */
static int push_config(berth_client *c, const char *repo, json_t *layers, berth_digest *d,
		       size_t *len)
{
	json_t *ids = json_array(), *l, *cfg;
	char *text;
	size_t i;
	int rc;

	json_array_foreach(layers, i, l) json_array_append(ids, json_object_get(l, "digest"));
	cfg = json_pack("{s:s,s:s,s:[{s:s}],s:s,s:{s:s,s:o},s:{}}", "architecture", "", "created",
			"0001-01-01T00:00:00Z", "history", "created", "0001-01-01T00:00:00Z", "os",
			"", "rootfs", "type", "layers", "diff_ids", ids, "config");
	text = cfg ? json_dumps(cfg, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(cfg);
	if (!text)
		return berth_error_set(BERTH_ERROR, "out of memory");
	*len = strlen(text);
	rc = berth_sign_image_push_blob(c, repo, text, *len, d);
	free(text);
	return rc;
}

int berth_sign_image_attach_tag(berth_client *c, const char *repo, const berth_digest *subject,
				const char *suffix, const char *media_type, const void *data,
				size_t len, const berth_sign_annotation *ann, size_t n_ann,
				int replace)
{
	char tag[BERTH_DIGEST_MAX + 16], *text = NULL;
	json_t *layers = NULL, *layer = NULL, *l, *man = NULL;
	berth_digest ld, cd;
	size_t i, clen = 0;
	int rc, dup = 0;

	schema_tag(tag, sizeof(tag), subject, suffix);
	if ((rc = berth_sign_image_push_blob(c, repo, data, len, &ld)) < 0)
		return rc;
	if (replace) {
		layers = json_array();
	} else if ((rc = existing_layers(c, repo, tag, &layers)) < 0) {
		return rc;
	}
	layer = layer_desc(media_type, &ld, len, ann, n_ann);
	if (!layers || !layer) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	json_array_foreach(layers, i, l) dup |= same_layer(l, layer);
	if (dup) {
		rc = 0; /* already attached: nothing to change */
		goto done;
	}
	json_array_append(layers, layer);
	if ((rc = push_config(c, repo, layers, &cd, &clen)) < 0)
		goto done;
	man = json_pack("{s:i,s:s,s:{s:s,s:I,s:s},s:O}", "schemaVersion", 2, "mediaType",
			OCI_MANIFEST, "config", "mediaType", OCI_CONFIG, "size", (json_int_t)clen,
			"digest", cd.str, "layers", layers);
	text = man ? json_dumps(man, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	if (!text) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = berth_client_manifest_put(c, repo, tag, OCI_MANIFEST, text, strlen(text), NULL);
done:
	free(text);
	json_decref(man);
	json_decref(layer);
	json_decref(layers);
	return rc;
}

/*
 * A registry without the referrers API (Distribution 2.8) does not index
 * the manifest just pushed by its subject: list it in the referrers tag
 * schema's index, as the distribution spec asks of the pushing client.
 */
static int tag_schema_add(berth_client *c, const char *repo, const berth_digest *subject,
			  const berth_digest *d, size_t size, const char *artifact_type,
			  json_t *annotations)
{
	json_t *refs;
	char *text;
	int rc = berth_client_referrers_api(c, repo, subject);

	if (rc != 0)
		return rc < 0 ? rc : 0;
	refs = json_pack("{s:i,s:s,s:[{s:s,s:s,s:I,s:s,s:O}]}", "schemaVersion", 2, "mediaType",
			 OCI_INDEX, "manifests", "mediaType", OCI_MANIFEST, "digest", d->str,
			 "size", (json_int_t)size, "artifactType", artifact_type, "annotations",
			 annotations);
	text = refs ? json_dumps(refs, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	rc = text ? berth_client_referrers_tag_merge(c, repo, subject, text, strlen(text))
		  : berth_error_set(BERTH_ERROR, "out of memory");
	free(text);
	json_decref(refs);
	return rc;
}

int berth_sign_image_attach_referrer(berth_client *c, const char *repo, const berth_digest *subject,
				     const char *subject_media_type, size_t subject_size,
				     const char *artifact_type, const char *media_type,
				     const void *data, size_t len, const berth_sign_annotation *ann,
				     size_t n_ann, berth_digest *out)
{
	char title[BERTH_DIGEST_MAX + 32], *text = NULL;
	berth_sign_annotation t;
	json_t *man = NULL, *a = json_object();
	berth_digest ld, ed;
	int rc;

	if ((rc = berth_sign_image_push_blob(c, repo, data, len, &ld)) < 0 ||
	    (rc = berth_sign_image_push_blob(c, repo, "{}", 2, &ed)) < 0)
		goto done;
	snprintf(title, sizeof(title), "%s-%s.sigstore.json", berth_digest_algo_name(ld.algo),
		 berth_digest_hex(&ld));
	t.key = "org.opencontainers.image.title";
	t.value = title;
	for (size_t i = 0; a && i < n_ann; i++)
		json_object_set_new(a, ann[i].key, json_string(ann[i].value));
	man = json_pack("{s:s,s:i,s:s,s:{s:s,s:s,s:i},s:[o],s:{s:s,s:s,s:I},s:O}", "mediaType",
			OCI_MANIFEST, "schemaVersion", 2, "artifactType", artifact_type, "config",
			"mediaType", OCI_EMPTY, "digest", ed.str, "size", 2, "layers",
			layer_desc(media_type, &ld, len, &t, 1), "subject", "mediaType",
			subject_media_type, "digest", subject->str, "size",
			(json_int_t)subject_size, "annotations", a);
	text = man ? json_dumps(man, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	if (!text) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if ((rc = berth_digest_compute(out, BERTH_DIGEST_SHA256, text, strlen(text))) < 0 ||
	    (rc = berth_client_manifest_put(c, repo, out->str, OCI_MANIFEST, text, strlen(text),
					    NULL)) < 0)
		goto done;
	rc = tag_schema_add(c, repo, subject, out, strlen(text), artifact_type, a);
done:
	free(text);
	json_decref(man);
	json_decref(a);
	return rc;
}

typedef struct blob_sink {
	berth_buf *b;
} blob_sink;

static int to_buf(void *ctx, const void *data, size_t len)
{
	return berth_buf_put(((blob_sink *)ctx)->b, data, len);
}

static int fetch_layer(berth_client *c, const char *repo, json_t *layer, berth_buf *out)
{
	const char *ds = json_string_value(json_object_get(layer, "digest"));
	json_int_t size = json_integer_value(json_object_get(layer, "size"));
	blob_sink s = {out};
	berth_digest d;
	int rc;

	if (!ds || (rc = berth_digest_parse(&d, ds, strlen(ds))) < 0)
		return berth_error_set(BERTH_EINVALID, "a layer without a valid digest");
	if (size < 0 || (size_t)size > BERTH_SIGN_BUNDLE_MAX)
		return berth_error_set(BERTH_ETOOBIG, "attached layer %s is larger than %d bytes",
				       ds, BERTH_SIGN_BUNDLE_MAX);
	return berth_client_blob_get(c, repo, &d, size, to_buf, &s);
}

static int each_layer(berth_client *c, const char *repo, const char *source, json_t *man, int fetch,
		      berth_sign_attached_cb cb, void *ctx)
{
	json_t *layers = json_object_get(man, "layers"), *l;
	const char *at = json_string_value(json_object_get(man, "artifactType"));
	berth_buf data = BERTH_BUF_INIT(BERTH_SIGN_BUNDLE_MAX);
	size_t i;
	int rc = 0;

	json_array_foreach(layers, i, l)
	{
		json_t *ann = json_object_get(l, "annotations");
		berth_sign_attached a = {0};

		berth_buf_reset(&data);
		a.source = source;
		a.artifact_type = at;
		a.media_type = json_string_value(json_object_get(l, "mediaType"));
		a.layer_digest = json_string_value(json_object_get(l, "digest"));
		a.signature = json_string_value(json_object_get(ann, BERTH_SIGN_ANNOTATION_SIG));
		a.certificate = json_string_value(json_object_get(ann, BERTH_SIGN_ANNOTATION_CERT));
		a.chain = json_string_value(json_object_get(ann, BERTH_SIGN_ANNOTATION_CHAIN));
		a.rekor_bundle =
			json_string_value(json_object_get(ann, BERTH_SIGN_ANNOTATION_BUNDLE));
		a.predicate_type = json_string_value(json_object_get(ann, "predicateType"));
		if (!a.predicate_type)
			a.predicate_type = json_string_value(
				json_object_get(ann, "in-toto.io/predicate-type"));
		if (!a.predicate_type)
			a.predicate_type = json_string_value(
				json_object_get(json_object_get(man, "annotations"),
						"dev.sigstore.bundle.predicateType"));
		if (fetch) {
			a.fetch_rc = fetch_layer(c, repo, l, &data);
			a.data = (const unsigned char *)(data.ptr ? data.ptr : "");
			a.len = data.len;
		}
		if ((rc = cb(ctx, &a)) != 0)
			break;
	}
	berth_buf_dispose(&data);
	return rc;
}

static int from_tag(berth_client *c, const char *repo, const berth_digest *subject,
		    const char *suffix, int fetch, berth_sign_attached_cb cb, void *ctx)
{
	char tag[BERTH_DIGEST_MAX + 16];
	berth_buf body = BERTH_BUF_INIT(0);
	json_t *man = NULL;
	int rc;

	schema_tag(tag, sizeof(tag), subject, suffix);
	rc = berth_client_manifest_get(c, repo, tag, &body, NULL, 0, NULL);
	if (rc == BERTH_ENOTFOUND) {
		berth_error_clear();
		rc = 0;
		goto done;
	}
	if (rc < 0)
		goto done;
	man = json_loadb(body.ptr, body.len, 0, NULL);
	rc = man ? each_layer(c, repo, tag, man, fetch, cb, ctx)
		 : berth_error_set(BERTH_EINVALID, "%s:%s is not JSON", repo, tag);
done:
	json_decref(man);
	berth_buf_dispose(&body);
	return rc;
}

/* The referrers index (API or tag schema), or none (*out NULL). */
static int referrers_index(berth_client *c, const char *repo, const berth_digest *subject,
			   json_t **out)
{
	berth_buf body = BERTH_BUF_INIT(0);
	int rc = berth_client_referrers_index(c, repo, subject, &body, NULL);

	*out = NULL;
	if (rc == 0 && body.len && !(*out = json_loadb(body.ptr, body.len, 0, NULL)))
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	berth_buf_dispose(&body);
	return rc;
}

static int from_referrers(berth_client *c, const char *repo, const berth_digest *subject, int fetch,
			  berth_sign_attached_cb cb, void *ctx)
{
	json_t *index = NULL, *m;
	berth_buf body = BERTH_BUF_INIT(0);
	size_t i;
	int rc = referrers_index(c, repo, subject, &index);

	json_array_foreach(json_object_get(index, "manifests"), i, m)
	{
		const char *d = json_string_value(json_object_get(m, "digest"));
		json_t *man;

		if (rc < 0 || !d)
			break;
		berth_buf_reset(&body);
		if ((rc = berth_client_manifest_get(c, repo, d, &body, NULL, 0, NULL)) < 0)
			break;
		if (!(man = json_loadb(body.ptr, body.len, 0, NULL)))
			continue;
		rc = each_layer(c, repo, d, man, fetch, cb, ctx);
		json_decref(man);
	}
	json_decref(index);
	berth_buf_dispose(&body);
	return rc;
}

int berth_sign_image_attached(berth_client *c, const char *repo, const berth_digest *subject,
			      const char *suffix, int referrers, int fetch,
			      berth_sign_attached_cb cb, void *ctx)
{
	int rc = 0;

	if (suffix && (rc = from_tag(c, repo, subject, suffix, fetch, cb, ctx)) != 0)
		return rc;
	if (referrers)
		rc = from_referrers(c, repo, subject, fetch, cb, ctx);
	return rc;
}

/* The attestation manifest `d` of an index: its layers. */
static int index_attestation(berth_client *c, const char *repo, const char *d, int fetch,
			     berth_sign_attached_cb cb, void *ctx)
{
	berth_buf body = BERTH_BUF_INIT(0);
	json_t *man = NULL;
	int rc = berth_client_manifest_get(c, repo, d, &body, NULL, 0, NULL);

	if (rc < 0)
		goto done;
	if (!(man = json_loadb(body.ptr, body.len, 0, NULL))) {
		rc = berth_error_set(BERTH_EINVALID, "attestation manifest %s is not JSON", d);
		goto done;
	}
	rc = each_layer(c, repo, d, man, fetch, cb, ctx);
done:
	json_decref(man);
	berth_buf_dispose(&body);
	return rc;
}

int berth_sign_image_index_attestations(berth_client *c, const char *repo, const char *index,
					size_t len, int fetch, berth_sign_attached_cb cb, void *ctx)
{
	json_t *doc = json_loadb(index, len, 0, NULL), *m;
	size_t i;
	int rc = 0;

	if (!doc)
		return berth_error_set(BERTH_EINVALID, "the image index is not JSON");
	json_array_foreach(json_object_get(doc, "manifests"), i, m)
	{
		json_t *ann = json_object_get(m, "annotations");
		const char *type = json_string_value(json_object_get(ann, BUILDKIT_REF_TYPE));
		const char *d = json_string_value(json_object_get(m, "digest"));

		if (!type || strcmp(type, BUILDKIT_ATTESTATION) != 0)
			continue;
		if (!d) {
			rc = berth_error_set(BERTH_EINVALID,
					     "an attestation manifest without a digest");
			break;
		}
		if ((rc = index_attestation(c, repo, d, fetch, cb, ctx)) != 0)
			break;
	}
	json_decref(doc);
	return rc;
}
