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
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

/* set() while nothing has failed yet (rc == 0); after a failure only drop v. */
static int set_if_ok(int rc, json_t *o, const char *k, json_t *v)
{
	if (rc) {
		json_decref(v);
		return rc;
	}
	return set(o, k, v);
}

/* Hand the object built in v to *out when rc is 0; after a failure drop it. */
static int hand_over(int rc, json_t *v, json_t **out)
{
	if (rc < 0) {
		json_decref(v);
		return rc;
	}
	*out = v;
	return 0;
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
	return hand_over(rc, p, out);
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
	/* Both are handed to set_if_ok, which owns them from here on. */
	if (f == BERTH_OCI_FORMAT_V2S2) {
		rc = set_if_ok(rc, d, "size", size);
		rc = set_if_ok(rc, d, "digest", digest);
		if (rc == 0)
			rc = copy_key(d, src, "urls");
	} else {
		rc = set_if_ok(rc, d, "digest", digest);
		rc = set_if_ok(rc, d, "size", size);
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
	return hand_over(rc, d, out);
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
	return set_if_ok(rc, dst, key, arr);
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
				cmt ? cmt : m->config.media_type, e->config, f);
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

/* ---- Docker image config -> OCI image config (Go encoding/json rules) ---- */

/* The member Go's decoder fills for `key`: an exact match, else the last case-insensitive one. */
static json_t *go_get(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key), *found = NULL;
	const char *k;

	if (v)
		return json_is_null(v) ? NULL : v;
	json_object_foreach(o, k, v) if (strcasecmp(k, key) == 0) found = v;
	return json_is_null(found) ? NULL : found;
}

static int bad_field(const char *name)
{
	return berth_error_set(BERTH_EINVALID, "image config: field \"%s\" has the wrong type",
			       name);
}

/* A string field with omitempty (or without: `always`). */
static int go_string(json_t *dst, json_t *src, const char *key, int always)
{
	json_t *v = go_get(src, key);

	if (v && !json_is_string(v))
		return bad_field(key);
	if (!always && (!v || json_string_length(v) == 0))
		return 0;
	return set(dst, key, json_string(v ? json_string_value(v) : ""));
}

/* A []string field with omitempty (`always`: written as null when absent). */
static int go_strings(json_t *dst, json_t *src, const char *key, int always)
{
	json_t *v = go_get(src, key), *item;
	size_t i;

	if (v && !json_is_array(v))
		return bad_field(key);
	json_array_foreach(v, i, item) if (!json_is_string(item)) return bad_field(key);
	if (!v || (json_array_size(v) == 0 && !always))
		return always ? set(dst, key, json_null()) : 0;
	return set(dst, key, json_deep_copy(v));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A map field with omitempty, keys sorted; `strings`: map[string]string, else map[string]struct{}.
 */
static int go_map(json_t *dst, json_t *src, const char *key, int strings)
{
	json_t *v = go_get(src, key), *m, *item;
	const char **keys;
	const char *k;
	size_t n = 0;
	int rc = 0;

	if (v && !json_is_object(v))
		return bad_field(key);
	if (!v || json_object_size(v) == 0)
		return 0;
	keys = calloc(json_object_size(v), sizeof(*keys));
	m = json_object();
	if (!keys || !m) {
		free(keys);
		json_decref(m);
		return oom();
	}
	json_object_foreach(v, k, item)
	{
		if (strings ? !json_is_string(item) && !json_is_null(item)
			    : !json_is_object(item) && !json_is_null(item)) {
			rc = bad_field(key);
			break;
		}
		keys[n++] = k;
	}
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (size_t i = 0; i < n && rc == 0; i++) {
		item = json_object_get(v, keys[i]);
		rc = set(m, keys[i],
			 strings ? json_string(json_is_string(item) ? json_string_value(item) : "")
				 : json_object());
	}
	free(keys);
	return set_if_ok(rc, dst, key, m);
}

static int go_bool(json_t *dst, json_t *src, const char *key)
{
	json_t *v = go_get(src, key);

	if (v && !json_is_boolean(v))
		return bad_field(key);
	return v && json_is_true(v) ? set(dst, key, json_true()) : 0;
}

static int digits(const char *p, int n)
{
	for (int i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

/* An RFC 3339 time re-encoded as Go's time.Time.MarshalJSON (RFC3339Nano). */
static int go_time(json_t *dst, json_t *src, const char *key)
{
	json_t *v = go_get(src, key);
	const char *s, *p;
	char out[64];
	size_t n, fl = 0;

	if (!v)
		return 0;
	if (!json_is_string(v))
		return bad_field(key);
	s = json_string_value(v);
	n = strlen(s);
	/* YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm) */
	if (n < 20 || n > 50 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
	    !digits(s + 8, 2) || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' ||
	    !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
		goto bad;
	memcpy(out, s, 19);
	p = s + 19;
	if (*p == '.') {
		const char *f = ++p;

		while (*p >= '0' && *p <= '9')
			p++;
		if (p == f)
			goto bad;
		fl = (size_t)(p - f) > 9 ? 9 : (size_t)(p - f);
		while (fl > 0 && f[fl - 1] == '0')
			fl--;
		if (fl) {
			out[19] = '.';
			memcpy(out + 20, f, fl);
			fl++;
		}
	}
	if (strcmp(p, "Z") == 0 || ((p[0] == '+' || p[0] == '-') && strcmp(p + 1, "00:00") == 0)) {
		snprintf(out + 19 + fl, sizeof(out) - 19 - fl, "Z");
	} else if ((p[0] == '+' || p[0] == '-') && digits(p + 1, 2) && p[3] == ':' &&
		   digits(p + 4, 2) && p[6] == '\0') {
		snprintf(out + 19 + fl, sizeof(out) - 19 - fl, "%s", p);
	} else {
		goto bad;
	}
	return set(dst, key, json_string(out));
bad:
	return berth_error_set(BERTH_EINVALID, "image config: \"%s\" is not an RFC 3339 time", key);
}

static int oci_image_config(json_t **out, json_t *src)
{
	json_t *c = json_object();
	int rc = 0;

	if (!c)
		return oom();
	if (src && !json_is_object(src))
		rc = bad_field("config");
	if (rc == 0)
		rc = go_string(c, src, "User", 0);
	if (rc == 0)
		rc = go_map(c, src, "ExposedPorts", 0);
	if (rc == 0)
		rc = go_strings(c, src, "Env", 0);
	if (rc == 0)
		rc = go_strings(c, src, "Entrypoint", 0);
	if (rc == 0)
		rc = go_strings(c, src, "Cmd", 0);
	if (rc == 0)
		rc = go_map(c, src, "Volumes", 0);
	if (rc == 0)
		rc = go_string(c, src, "WorkingDir", 0);
	if (rc == 0)
		rc = go_map(c, src, "Labels", 1);
	if (rc == 0)
		rc = go_string(c, src, "StopSignal", 0);
	if (rc == 0)
		rc = go_bool(c, src, "ArgsEscaped");
	return hand_over(rc, c, out);
}

static int oci_history(json_t **out, json_t *src)
{
	json_t *arr = json_array(), *item;
	size_t i;
	int rc = 0;

	if (!arr)
		return oom();
	json_array_foreach(src, i, item)
	{
		json_t *h = json_object();

		if (!h) {
			rc = oom();
			break;
		}
		if (!json_is_object(item) && !json_is_null(item))
			rc = bad_field("history");
		if (rc == 0)
			rc = go_time(h, item, "created");
		if (rc == 0)
			rc = go_string(h, item, "created_by", 0);
		if (rc == 0)
			rc = go_string(h, item, "author", 0);
		if (rc == 0)
			rc = go_string(h, item, "comment", 0);
		if (rc == 0)
			rc = go_bool(h, item, "empty_layer");
		if (rc == 0 && json_array_append_new(arr, h) != 0)
			rc = oom();
		else if (rc < 0)
			json_decref(h);
		if (rc < 0)
			break;
	}
	return hand_over(rc, arr, out);
}

/*
 * jansson's compact output re-escaped as Go's encoder does: <, >, & and
 * U+2028/2029 as \uXXXX, control characters other than \n \r \t as \u00xx
 * in lower-case hex.
 */
static int go_escape(char **out, size_t *out_len, const char *t)
{
	size_t n = strlen(t), cap = n * 6 + 1, o = 0;
	char *b = malloc(cap);

	if (!b)
		return oom();
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)t[i];

		if (ch == '\\' && i + 1 < n) {
			char e = t[i + 1];

			if (e == 'b' || e == 'f') {
				o += (size_t)sprintf(b + o, "\\u00%s", e == 'b' ? "08" : "0c");
			} else if (e == 'u' && i + 5 < n) {
				b[o++] = '\\';
				b[o++] = 'u';
				for (int k = 2; k < 6; k++) {
					char x = t[i + (size_t)k];

					b[o++] = (x >= 'A' && x <= 'F') ? (char)(x - 'A' + 'a') : x;
				}
				i += 4;
			} else {
				b[o++] = '\\';
				b[o++] = e;
			}
			i++;
		} else if (ch == '<' || ch == '>' || ch == '&') {
			o += (size_t)sprintf(b + o, "\\u00%02x", ch);
		} else if (ch == 0xe2 && i + 2 < n && (unsigned char)t[i + 1] == 0x80 &&
			   ((unsigned char)t[i + 2] == 0xa8 || (unsigned char)t[i + 2] == 0xa9)) {
			o += (size_t)sprintf(b + o, "\\u%s",
					     (unsigned char)t[i + 2] == 0xa8 ? "2028" : "2029");
			i += 2;
		} else {
			b[o++] = (char)ch;
		}
	}
	b[o] = '\0';
	*out = b;
	*out_len = o;
	return 0;
}

int berth_oci_config_from_docker(char **out, size_t *out_len, const void *cfg, size_t len)
{
	json_t *root, *res = NULL, *sub = NULL, *rootfs, *rfs = NULL, *v;
	json_error_t jerr;
	char *text = NULL;
	int rc;

	root = json_loadb(cfg, len, 0, &jerr);
	if (!json_is_object(root)) {
		rc = berth_error_set(BERTH_EINVALID, "image config: %s",
				     root ? "not a JSON object" : jerr.text);
		goto done;
	}
	res = json_object();
	if (!res) {
		rc = oom();
		goto done;
	}
	/* imgspecv1.Image: created, author, Platform (architecture, variant, os, ...), config,
	 * rootfs, history */
	rc = go_time(res, root, "created");
	if (rc == 0)
		rc = go_string(res, root, "author", 0);
	if (rc == 0)
		rc = go_string(res, root, "architecture", 1);
	if (rc == 0)
		rc = go_string(res, root, "variant", 0);
	if (rc == 0)
		rc = go_string(res, root, "os", 1);
	if (rc == 0)
		rc = go_string(res, root, "os.version", 0);
	if (rc == 0)
		rc = go_strings(res, root, "os.features", 0);
	if (rc == 0)
		rc = oci_image_config(&sub, go_get(root, "config"));
	if (rc == 0)
		rc = set(res, "config", sub);
	if (rc < 0)
		goto done;
	rootfs = go_get(root, "rootfs");
	if (rootfs && !json_is_object(rootfs)) {
		rc = bad_field("rootfs");
		goto done;
	}
	rfs = json_object();
	if (!rfs) {
		rc = oom();
		goto done;
	}
	rc = go_string(rfs, rootfs, "type", 1);
	if (rc == 0)
		rc = go_strings(rfs, rootfs, "diff_ids", 1);
	if (rc == 0) {
		rc = set(res, "rootfs", rfs);
		rfs = NULL;
	}
	if (rc < 0)
		goto done;
	v = go_get(root, "history");
	if (v && !json_is_array(v)) {
		rc = bad_field("history");
		goto done;
	}
	if (v && json_array_size(v)) {
		rc = oci_history(&sub, v);
		if (rc == 0)
			rc = set(res, "history", sub);
		if (rc < 0)
			goto done;
	}
	text = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text) {
		rc = oom();
		goto done;
	}
	rc = go_escape(out, out_len, text);
done:
	free(text);
	json_decref(rfs);
	json_decref(root);
	json_decref(res);
	return rc;
}
