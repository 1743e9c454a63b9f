/*
 * manifest.c - parsing and validation of manifest bytes (include/berth/oci.h):
 * OCI image manifests and indexes (image-spec v1.1) and Docker schema2
 * manifests and manifest lists.
 *
 * The registry stores and serves the exact bytes it received, so this file
 * never re-serialises a manifest; it only reads it with jansson to learn
 * what it references (config, layers, child manifests, subject) and to
 * refuse what the specs forbid. Input is untrusted: the caller caps its
 * size, and this file caps its nesting before jansson (a recursive parser)
 * sees it, refuses duplicate keys (which would make a manifest mean
 * different things to different readers) and walks only the fixed,
 * shallow structure the specs define, so no walk here recurses on input.
 */
#include "berth/oci.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest piece of untrusted text quoted in an error message. */
#define QUOTE_MAX 100
/* Room for a location such as "manifests[1234567].platform.os.version". */
#define WHERE_MAX 64
/* Room for a copy of an error message we add context to. */
#define MSG_MAX 256

static int oom(void)
{
	return berth_error_set(BERTH_ERROR, "out of memory while parsing a manifest");
}

/*
 * 1 if no object or array in the JSON text nests deeper than
 * BERTH_OCI_MAX_DEPTH. A lexical scan (strings and escapes are skipped) that
 * agrees with any JSON parser on every valid prefix, so jansson never
 * recurses deeper than this on our behalf.
 */
static int depth_ok(const unsigned char *p, size_t len)
{
	size_t depth = 0;
	int in_str = 0, esc = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			if (++depth > BERTH_OCI_MAX_DEPTH)
				return 0;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return 1;
}

static int dup_string(char **out, json_t *v)
{
	/* jansson refuses \u0000 without JSON_ALLOW_NUL: the value is a C string. */
	if (!(*out = strdup(json_string_value(v))))
		return oom();
	return 0;
}

/*
 * Optional string member `key` of `obj` into `*out` (NULL if absent). With
 * `media_type`, the value must also have the RFC 6838 shape.
 */
static int opt_string(char **out, json_t *obj, const char *key, const char *where, int media_type)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return berth_error_set(BERTH_EINVALID, "%s.%s must be a string", where, key);
	if (media_type && !berth_oci_media_type_valid(json_string_value(v)))
		return berth_error_set(BERTH_EINVALID,
				       "%s.%s is not a media type (type/subtype): \"%.*s\"", where,
				       key, QUOTE_MAX, json_string_value(v));
	return dup_string(out, v);
}

/* An optional member that, when present, must be an array of strings. */
static int check_string_array(json_t *obj, const char *key, const char *where)
{
	json_t *v = json_object_get(obj, key), *item;
	size_t i;

	if (!v)
		return 0;
	if (!json_is_array(v))
		return berth_error_set(BERTH_EINVALID, "%s.%s must be an array of strings", where,
				       key);
	json_array_foreach(v, i, item)
	{
		if (!json_is_string(item))
			return berth_error_set(BERTH_EINVALID, "%s.%s[%zu] must be a string", where,
					       key, i);
	}
	return 0;
}

/*
 * Optional "annotations" of `obj`: an object whose values are all strings,
 * returned as compact JSON text (members in their original order) for the
 * referrers API, or NULL if absent.
 */
static int parse_annotations(char **out, json_t *obj, const char *where)
{
	json_t *v = json_object_get(obj, "annotations"), *val;
	const char *key;

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_object(v))
		return berth_error_set(BERTH_EINVALID, "%s.annotations must be an object", where);
	json_object_foreach(v, key, val)
	{
		if (!json_is_string(val))
			return berth_error_set(BERTH_EINVALID,
					       "%s.annotations[\"%.*s\"] must be a string", where,
					       QUOTE_MAX, key);
	}
	if (!(*out = json_dumps(v, JSON_COMPACT)))
		return oom();
	return 0;
}

static void platform_free(berth_platform *p)
{
	if (!p)
		return;
	free(p->os);
	free(p->architecture);
	free(p->variant);
	free(p->os_version);
	free(p);
}

/* An index entry's "platform": architecture and os required, the rest optional. */
static int parse_platform(berth_platform **out, json_t *v, const char *where)
{
	berth_platform *p = NULL;
	char pwhere[WHERE_MAX];
	int rc;

	*out = NULL;
	snprintf(pwhere, sizeof(pwhere), "%s.platform", where);
	if (!json_is_object(v)) {
		rc = berth_error_set(BERTH_EINVALID, "%s must be an object", pwhere);
		goto done;
	}
	if (!json_object_get(v, "architecture") || !json_object_get(v, "os")) {
		rc = berth_error_set(BERTH_EINVALID, "%s needs \"architecture\" and \"os\"",
				     pwhere);
		goto done;
	}
	if (!(p = calloc(1, sizeof(*p)))) {
		rc = oom();
		goto done;
	}
	if ((rc = opt_string(&p->architecture, v, "architecture", pwhere, 0)) ||
	    (rc = opt_string(&p->os, v, "os", pwhere, 0)) ||
	    (rc = opt_string(&p->variant, v, "variant", pwhere, 0)) ||
	    (rc = opt_string(&p->os_version, v, "os.version", pwhere, 0)) ||
	    (rc = check_string_array(v, "os.features", pwhere)) ||
	    (rc = check_string_array(v, "features", pwhere)))
		goto done;
	/* now owned by the caller */
	*out = p;
	p = NULL;
done:
	platform_free(p);
	return rc;
}

static void descriptor_dispose(berth_descriptor *d)
{
	free(d->media_type);
	free(d->artifact_type);
	free(d->annotations);
	platform_free(d->platform);
	memset(d, 0, sizeof(*d));
}

/*
 * One descriptor (image-spec descriptor.md) into `*d`, which must be zeroed;
 * on error `*d` may be partly filled and the caller disposes of it.
 * `with_platform`: read "platform" (index entries only).
 */
static int parse_descriptor(berth_descriptor *d, json_t *v, const char *where, int with_platform)
{
	json_t *dig, *size, *data, *plat;
	char msg[MSG_MAX];
	int rc;

	if (!json_is_object(v))
		return berth_error_set(BERTH_EINVALID, "%s must be an object (a descriptor)",
				       where);
	if (!json_object_get(v, "mediaType"))
		return berth_error_set(BERTH_EINVALID, "%s.mediaType is required", where);
	if ((rc = opt_string(&d->media_type, v, "mediaType", where, 1)))
		return rc;

	if (!(dig = json_object_get(v, "digest")))
		return berth_error_set(BERTH_EINVALID, "%s.digest is required", where);
	if (!json_is_string(dig))
		return berth_error_set(BERTH_EINVALID, "%s.digest must be a string", where);
	if ((rc = berth_digest_parse(&d->digest, json_string_value(dig),
				     json_string_length(dig)))) {
		/* Unsupported algorithms too: berth could never verify the content. */
		snprintf(msg, sizeof(msg), "%s", berth_error_last());
		return berth_error_set(BERTH_EINVALID, "%s.digest: %s", where, msg);
	}

	if (!(size = json_object_get(v, "size")))
		return berth_error_set(BERTH_EINVALID, "%s.size is required", where);
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return berth_error_set(BERTH_EINVALID, "%s.size must be a non-negative integer",
				       where);
	d->size = (int64_t)json_integer_value(size);

	if ((rc = opt_string(&d->artifact_type, v, "artifactType", where, 1)) ||
	    (rc = parse_annotations(&d->annotations, v, where)) ||
	    (rc = check_string_array(v, "urls", where)))
		return rc;
	if ((data = json_object_get(v, "data")) && !json_is_string(data))
		return berth_error_set(BERTH_EINVALID, "%s.data must be a (base64) string", where);
	if (with_platform && (plat = json_object_get(v, "platform")))
		return parse_platform(&d->platform, plat, where);
	return 0;
}

/* The required array member `key` of `root`, each item a descriptor. */
static int parse_descriptor_array(berth_descriptor **out, size_t *n, json_t *root, const char *key,
				  int with_platform)
{
	json_t *arr = json_object_get(root, key), *item;
	char where[WHERE_MAX];
	size_t i;
	int rc;

	if (!arr)
		return berth_error_set(BERTH_EINVALID, "manifest.%s is required", key);
	if (!json_is_array(arr))
		return berth_error_set(BERTH_EINVALID, "manifest.%s must be an array", key);
	if (json_array_size(arr) == 0)
		return 0;
	/* All entries zeroed and counted up front so the caller can always free them. */
	if (!(*out = calloc(json_array_size(arr), sizeof(**out))))
		return oom();
	*n = json_array_size(arr);
	json_array_foreach(arr, i, item)
	{
		snprintf(where, sizeof(where), "%s[%zu]", key, i);
		if ((rc = parse_descriptor(&(*out)[i], item, where, with_platform)))
			return rc;
	}
	return 0;
}

/*
 * Decide the effective media type from the body's "mediaType" and the
 * Content-Type, refusing schema1, unknown types and contradictions.
 * `*out` is a canonical BERTH_MT_* constant.
 */
static int effective_type(const char **out, json_t *root, const char *content_type)
{
	json_t *mtv = json_object_get(root, "mediaType"), *sv;
	const char *ct = berth_oci_content_type(content_type);
	const char *body = NULL;

	if (mtv && !json_is_string(mtv))
		return berth_error_set(BERTH_EINVALID, "manifest.mediaType must be a string");
	if (mtv)
		body = json_string_value(mtv);
	if (berth_oci_is_schema1_type(body) || berth_oci_is_schema1_type(ct))
		return berth_error_set(BERTH_EUNSUPPORTED,
				       "Docker schema1 manifests are not supported; push a "
				       "schema2 or OCI manifest");

	if (!(sv = json_object_get(root, "schemaVersion")))
		return berth_error_set(BERTH_EINVALID, "manifest.schemaVersion is required");
	if (!json_is_integer(sv))
		return berth_error_set(BERTH_EINVALID,
				       "manifest.schemaVersion must be the integer 2");
	if (json_integer_value(sv) == 1 && !body)
		return berth_error_set(BERTH_EUNSUPPORTED,
				       "schemaVersion 1 (Docker schema1) manifests are not "
				       "supported; push a schema2 or OCI manifest");
	if (json_integer_value(sv) != 2)
		return berth_error_set(BERTH_EINVALID, "manifest.schemaVersion must be 2, not %lld",
				       (long long)json_integer_value(sv));

	if (body) {
		if (!berth_oci_is_manifest_type(body))
			return berth_error_set(BERTH_EUNSUPPORTED,
					       "unsupported manifest media type \"%.*s\"",
					       QUOTE_MAX, body);
		if (ct && strcmp(ct, body) != 0)
			return berth_error_set(BERTH_EINVALID,
					       "manifest mediaType \"%s\" does not match the "
					       "Content-Type \"%s\"",
					       body, ct);
		*out = ct ? ct : berth_oci_content_type(body);
		return 0;
	}
	if (ct) {
		if (strcmp(ct, BERTH_MT_DOCKER_MANIFEST) == 0 ||
		    strcmp(ct, BERTH_MT_DOCKER_LIST) == 0)
			return berth_error_set(
				BERTH_EINVALID,
				"a Docker schema2 manifest must carry \"mediaType\": "
				"\"%s\" in its body",
				ct);
		*out = ct;
		return 0;
	}

	/* Neither: the image-spec lets the shape decide, if it is unambiguous. */
	if (json_object_get(root, "manifests") && json_object_get(root, "config"))
		return berth_error_set(BERTH_EINVALID,
				       "manifest has both \"manifests\" and "
				       "\"config\" and no mediaType; set mediaType");
	if (json_object_get(root, "manifests"))
		*out = BERTH_MT_OCI_INDEX;
	else if (json_object_get(root, "config"))
		*out = BERTH_MT_OCI_MANIFEST;
	else
		return berth_error_set(BERTH_EINVALID,
				       "manifest has no mediaType, \"config\" or \"manifests\"");
	return 0;
}

int berth_manifest_parse(berth_manifest **out, const void *data, size_t len,
			 const char *content_type)
{
	berth_manifest *m = NULL;
	json_t *root = NULL, *subject;
	json_error_t jerr;
	const char *mt = NULL;
	int oci, rc;

	*out = NULL;
	if (!data)
		data = "";
	if (!depth_ok(data, len)) {
		rc = berth_error_set(BERTH_EINVALID, "manifest JSON nests deeper than %d levels",
				     BERTH_OCI_MAX_DEPTH);
		goto done;
	}
	/* Duplicate keys are refused: readers disagree on which one wins. */
	if (!(root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr))) {
		rc = berth_error_set(BERTH_EINVALID, "manifest is not valid JSON: %s (at byte %d)",
				     jerr.text, jerr.position);
		goto done;
	}
	if (!json_is_object(root)) {
		rc = berth_error_set(BERTH_EINVALID, "manifest must be a JSON object");
		goto done;
	}
	if ((rc = effective_type(&mt, root, content_type)))
		goto done;

	if (!(m = calloc(1, sizeof(*m))) || !(m->media_type = strdup(mt))) {
		rc = oom();
		goto done;
	}
	oci = strcmp(mt, BERTH_MT_OCI_MANIFEST) == 0 || strcmp(mt, BERTH_MT_OCI_INDEX) == 0;

	if (berth_oci_is_index_type(mt)) {
		m->kind = BERTH_OCI_INDEX;
		if (json_object_get(root, "config") || json_object_get(root, "layers")) {
			rc = berth_error_set(BERTH_EINVALID,
					     "an index (%s) must not have \"config\" "
					     "or \"layers\"",
					     mt);
			goto done;
		}
		if ((rc = parse_descriptor_array(&m->manifests, &m->nmanifests, root, "manifests",
						 1)))
			goto done;
	} else {
		m->kind = BERTH_OCI_IMAGE;
		if (json_object_get(root, "manifests")) {
			rc = berth_error_set(BERTH_EINVALID,
					     "an image manifest (%s) must not have \"manifests\"",
					     mt);
			goto done;
		}
		if (!json_object_get(root, "config")) {
			rc = berth_error_set(BERTH_EINVALID, "manifest.config is required");
			goto done;
		}
		if ((rc = parse_descriptor(&m->config, json_object_get(root, "config"), "config",
					   0)) ||
		    (rc = parse_descriptor_array(&m->layers, &m->nlayers, root, "layers", 0)))
			goto done;
	}

	/* subject, artifactType and annotations are OCI's; Docker schema2 has none. */
	if (oci) {
		if ((rc = opt_string(&m->artifact_type, root, "artifactType", "manifest", 1)) ||
		    (rc = parse_annotations(&m->annotations, root, "manifest")))
			goto done;
		if ((subject = json_object_get(root, "subject"))) {
			if (!(m->subject = calloc(1, sizeof(*m->subject)))) {
				rc = oom();
				goto done;
			}
			if ((rc = parse_descriptor(m->subject, subject, "subject", 0)))
				goto done;
		}
	}

	/* now owned by the caller */
	*out = m;
	m = NULL;
	rc = 0;
done:
	berth_manifest_free(m);
	json_decref(root);
	return rc;
}

void berth_manifest_free(berth_manifest *m)
{
	if (!m)
		return;
	free(m->media_type);
	free(m->artifact_type);
	free(m->annotations);
	descriptor_dispose(&m->config);
	for (size_t i = 0; i < m->nlayers; i++)
		descriptor_dispose(&m->layers[i]);
	free(m->layers);
	for (size_t i = 0; i < m->nmanifests; i++)
		descriptor_dispose(&m->manifests[i]);
	free(m->manifests);
	if (m->subject)
		descriptor_dispose(m->subject);
	free(m->subject);
	free(m);
}

const char *berth_manifest_referrer_type(const berth_manifest *m)
{
	if (!m)
		return NULL;
	if (m->artifact_type)
		return m->artifact_type;
	if (m->kind == BERTH_OCI_IMAGE)
		return m->config.media_type;
	return NULL;
}
