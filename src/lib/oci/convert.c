/*
 * convert.c - rewriting manifest bytes for copies that convert: OCI <->
 * Docker schema2 media types, and replaced layer/child descriptors after a
 * recompression. This is the one place berth re-serialises a manifest; the
 * output follows the field order of containers/image's Go structs so that a
 * conversion gives the bytes skopeo gives where the content allows.
 */
#include "berth/oci.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int berth_oci_format_parse(berth_oci_format *out, const char *name)
{
	if (name && strcmp(name, "oci") == 0)
		*out = BERTH_OCI_FORMAT_OCI;
	else if (name && (strcmp(name, "v2s2") == 0 || strcmp(name, "docker") == 0))
		*out = BERTH_OCI_FORMAT_V2S2;
	else
		return berth_error_set(BERTH_EINVALID,
				       "unknown manifest format '%s' (use oci or v2s2)",
				       name ? name : "");
	return 0;
}

/* Pairs {OCI, Docker} of descriptor media types that map onto each other. */
static const char *const pairs[][2] = {
	{BERTH_MT_OCI_MANIFEST, BERTH_MT_DOCKER_MANIFEST},
	{BERTH_MT_OCI_INDEX, BERTH_MT_DOCKER_LIST},
	{BERTH_MT_OCI_CONFIG, BERTH_MT_DOCKER_CONFIG},
	{"application/vnd.oci.image.layer.v1.tar", "application/vnd.docker.image.rootfs.diff.tar"},
	{"application/vnd.oci.image.layer.v1.tar+gzip",
	 "application/vnd.docker.image.rootfs.diff.tar.gzip"},
	{"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	 "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"},
};

/* Map `mt` into family f; NULL if it has no counterpart there. */
static const char *map_type(const char *mt, berth_oci_format f)
{
	if (!mt || f == BERTH_OCI_FORMAT_KEEP)
		return mt;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (strcmp(pairs[i][0], mt) == 0 || strcmp(pairs[i][1], mt) == 0)
			return pairs[i][f == BERTH_OCI_FORMAT_OCI ? 0 : 1];
	/* Unpaired types stay as they are when they already belong to the target. */
	if (strncmp(mt, "application/vnd.docker.", 23) == 0)
		return f == BERTH_OCI_FORMAT_V2S2 ? mt : NULL;
	return f == BERTH_OCI_FORMAT_OCI ? mt : NULL;
}

const char *berth_oci_manifest_type_in(const char *mt, berth_oci_format f)
{
	if (!berth_oci_is_manifest_type(mt))
		return NULL;
	return map_type(mt, f);
}

static int oom(void)
{
	return berth_error_set(BERTH_ERROR, "out of memory");
}

static int set(json_t *o, const char *k, json_t *v)
{
	/* json_object_set_new steals v even on failure. */
	return v && json_object_set_new(o, k, v) == 0 ? 0 : oom();
}

static int copy_key(json_t *dst, json_t *src, const char *k)
{
	json_t *v = src ? json_object_get(src, k) : NULL;

	return v ? set(dst, k, json_deep_copy(v)) : 0;
}

/* OCI and Docker platforms share Go's field order. */
static int platform_build(json_t **out, json_t *src)
{
	static const char *const keys[] = {"architecture", "os",      "os.version",
					   "os.features",  "variant", "features"};
	json_t *p = json_object();
	int rc = 0;

	if (!p)
		return oom();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && rc == 0; i++)
		rc = copy_key(p, src, keys[i]);
	if (rc < 0) {
		json_decref(p);
		return rc;
	}
	*out = p;
	return 0;
}

/*
 * Build one descriptor in target order. `mt` is its media type in the target
 * family; `repl` (may be NULL) supplies the new digest and size.
 */
static int desc_build(json_t **out, json_t *src, const char *mt, const berth_descriptor *repl,
		      berth_oci_format f)
{
	json_t *d = json_object(), *pl = NULL, *v;
	json_t *size = NULL, *digest = NULL;
	int rc;

	if (!d)
		return oom();
	if (repl) {
		size = json_integer(repl->size);
		digest = json_string(repl->digest.str);
	} else {
		v = json_object_get(src, "size");
		size = v ? json_deep_copy(v) : json_integer(0);
		v = json_object_get(src, "digest");
		digest = v ? json_deep_copy(v) : json_string("");
	}
	rc = set(d, "mediaType", json_string(mt));
	if (f == BERTH_OCI_FORMAT_V2S2) {
		if (rc == 0)
			rc = set(d, "size", size);
		else
			json_decref(size);
		size = NULL;
		if (rc == 0)
			rc = set(d, "digest", digest);
		else
			json_decref(digest);
		digest = NULL;
		if (rc == 0)
			rc = copy_key(d, src, "urls");
	} else {
		if (rc == 0)
			rc = set(d, "digest", digest);
		else
			json_decref(digest);
		digest = NULL;
		if (rc == 0)
			rc = set(d, "size", size);
		else
			json_decref(size);
		size = NULL;
		if (rc == 0)
			rc = copy_key(d, src, "urls");
		if (rc == 0)
			rc = copy_key(d, src, "annotations");
		if (rc == 0)
			rc = copy_key(d, src, "data");
	}
	if (rc == 0 && json_is_object(json_object_get(src, "platform"))) {
		rc = platform_build(&pl, json_object_get(src, "platform"));
		if (rc == 0)
			rc = set(d, "platform", pl);
	}
	if (rc == 0 && f != BERTH_OCI_FORMAT_V2S2)
		rc = copy_key(d, src, "artifactType");
	if (rc < 0) {
		json_decref(d);
		return rc;
	}
	*out = d;
	return 0;
}

static int array_build(json_t *dst, json_t *root, const char *key, const berth_descriptor *repl,
		       size_t nrepl, berth_oci_format f, const char *what)
{
	json_t *src = json_object_get(root, key), *arr = json_array(), *item;
	size_t i;
	int rc = 0;

	if (!arr)
		return oom();
	if (repl && nrepl != json_array_size(src)) {
		json_decref(arr);
		return berth_error_set(BERTH_EINVALID, "%d replacement %s for %d in the manifest",
				       (int)nrepl, what, (int)json_array_size(src));
	}
	json_array_foreach(src, i, item)
	{
		const berth_descriptor *r = repl ? &repl[i] : NULL;
		const char *mt = r && r->media_type
					 ? r->media_type
					 : json_string_value(json_object_get(item, "mediaType"));
		const char *tmt = map_type(mt, f);
		json_t *d = NULL;

		if (!tmt) {
			rc = berth_error_set(BERTH_EUNSUPPORTED,
					     "%s media type \"%s\" cannot be "
					     "expressed in %s",
					     what, mt ? mt : "",
					     f == BERTH_OCI_FORMAT_V2S2 ? "Docker schema2" : "OCI");
			break;
		}
		rc = desc_build(&d, item, tmt, r, f);
		if (rc == 0 && json_array_append_new(arr, d) != 0)
			rc = oom();
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		json_decref(arr);
		return rc;
	}
	return set(dst, key, arr);
}

int berth_manifest_rewrite(char **out, size_t *out_len, const void *body, size_t len,
			   const char *content_type, const berth_manifest_edit *e)
{
	berth_manifest *m = NULL;
	json_t *root = NULL, *res = NULL, *cfg = NULL;
	json_error_t jerr;
	berth_oci_format f = e->format;
	const char *mt;
	char *text = NULL;
	int rc;

	rc = berth_manifest_parse(&m, body, len, content_type);
	if (rc < 0)
		goto done;
	root = json_loadb(body, len, 0, &jerr);
	res = json_object();
	if (!root || !res) {
		rc = root ? oom() : berth_error_set(BERTH_EINVALID, "manifest: %s", jerr.text);
		goto done;
	}
	if (f == BERTH_OCI_FORMAT_KEEP)
		f = strcmp(m->media_type, BERTH_MT_DOCKER_MANIFEST) == 0 ||
				    strcmp(m->media_type, BERTH_MT_DOCKER_LIST) == 0
			    ? BERTH_OCI_FORMAT_V2S2
			    : BERTH_OCI_FORMAT_OCI;
	mt = map_type(m->media_type, f);
	rc = set(res, "schemaVersion", json_integer(2));
	if (rc == 0)
		rc = set(res, "mediaType", json_string(mt));
	if (rc == 0 && f == BERTH_OCI_FORMAT_OCI)
		rc = copy_key(res, root, "artifactType");
	if (rc < 0)
		goto done;
	if (m->kind == BERTH_OCI_IMAGE) {
		const char *cmt = map_type(m->config.media_type, f);

		if (!cmt && f == BERTH_OCI_FORMAT_V2S2) {
			rc = berth_error_set(BERTH_EUNSUPPORTED,
					     "config media type \"%s\" cannot be expressed in "
					     "Docker schema2 (not an image)",
					     m->config.media_type);
			goto done;
		}
		/* OCI allows any config type (artifacts): keep unknown ones. */
		rc = desc_build(&cfg, json_object_get(root, "config"),
				cmt ? cmt : m->config.media_type, NULL, f);
		if (rc < 0)
			goto done;
		rc = set(res, "config", cfg);
		if (rc == 0)
			rc = array_build(res, root, "layers", e->layers, e->nlayers, f, "layer");
	} else {
		rc = array_build(res, root, "manifests", e->manifests, e->nmanifests, f,
				 "manifest");
	}
	if (rc == 0 && f == BERTH_OCI_FORMAT_OCI)
		rc = copy_key(res, root, "subject");
	if (rc == 0 && f == BERTH_OCI_FORMAT_OCI)
		rc = copy_key(res, root, "annotations");
	if (rc < 0)
		goto done;
	text = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text) {
		rc = oom();
		goto done;
	}
	*out_len = strlen(text);
	/* now owned by the caller */
	*out = text;
	text = NULL;
done:
	free(text);
	json_decref(root);
	json_decref(res);
	berth_manifest_free(m);
	return rc;
}
