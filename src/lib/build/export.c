/*
 * export.c - where a built image goes (`berth build -o`), as buildx's
 * exporters: image/registry (kept in the store, pushed with push=true),
 * oci (archive or layout directory), docker (docker-archive, or `docker
 * load` / `podman load`), local (the file tree into a directory) and tar
 * (that tree as a tar), to a path or to stdout ("-").
 *
 * Before an image leaves the store it may become a variant: layers
 * recompressed (compression=, compression-level=, force-compression=) with
 * the parallel compressor, annotations added (--annotation and
 * annotation.*=, buildx's types: manifest, manifest-descriptor, index,
 * index-descriptor). The variant is a manifest (or an index, with variants
 * of its images) of its own in the store's layout, exported by the copy
 * engine like the image itself.
 *
 * The file tree is the overlay of the image's layers (their snapshots),
 * walked in byte order of names and written through libarchive: to a tar
 * stream, or onto disk (ownership, modes, times, links kept); an index's
 * platforms each in a directory of its own (linux_amd64/, as buildx).
 */
#include "lib/build/internal.h"
#include "berth/oci.h"
#include "util/buf.h"
#include "util/fs.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define EXPORT_FIELDS_MAX 128 /* key=value fields of one --output */
#define TREE_DEPTH_MAX 512
#define COPY_CHUNK (256 * 1024)

/* ---- parsing ---- */

/* Split CSV (quotes "..." group commas, "" is a quote) into fields; malloc'd each. */
static int csv_split(const char *s, char ***out, size_t *n)
{
	char **v = calloc(EXPORT_FIELDS_MAX, sizeof(*v));
	berth_buf f = BERTH_BUF_INIT(BERTH_BUILD_OUTPUT_SPEC_MAX);
	int q = 0, rc = 0;

	*out = NULL;
	*n = 0;
	if (!v)
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (const char *p = s;; p++) {
		if (*p == '"' && q && p[1] == '"') {
			rc = berth_buf_put(&f, "\"", 1);
			p++;
		} else if (*p == '"') {
			q = !q;
		} else if ((*p == ',' && !q) || *p == '\0') {
			if (*p == '\0' && q) {
				rc = berth_error_set(BERTH_EINVALID, "unterminated quote");
				break;
			}
			if (*n == EXPORT_FIELDS_MAX) {
				rc = berth_error_set(BERTH_ETOOBIG, "too many fields");
				break;
			}
			if (!(v[(*n)++] = strndup(f.ptr ? f.ptr : "", f.len))) {
				rc = berth_error_set(BERTH_ERROR, "out of memory");
				break;
			}
			berth_buf_reset(&f);
			if (*p == '\0')
				break;
		} else {
			rc = berth_buf_put(&f, p, 1);
		}
		if (rc < 0)
			break;
	}
	berth_buf_dispose(&f);
	if (rc < 0) {
		for (size_t i = 0; i < *n; i++)
			free(v[i]);
		free(v);
		*n = 0;
		return rc;
	}
	*out = v;
	return 0;
}

static int parse_bool(const char *k, const char *v, int *out)
{
	if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*out = 0;
	else
		return berth_error_set(BERTH_EINVALID, "%s=%s: expected true or false", k, v);
	return 0;
}

static int add_str(char ***v, size_t *n, size_t max, const char *s, size_t len)
{
	char **nv;

	if (*n >= max)
		return berth_error_set(BERTH_ETOOBIG, "too many values (at most %zu)", max);
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return berth_error_set(BERTH_ERROR, "out of memory");
	*v = nv;
	if (!(nv[*n] = strndup(s, len)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	(*n)++;
	return 0;
}

/* annotation[-TYPE][[PLATFORM]].KEY=V  ->  TYPE[PLATFORM]:KEY=V (the --annotation form). */
static int output_annotation(berth_build_output *o, const char *k, const char *v)
{
	const char *rest = k + strlen("annotation"), *dot;
	berth_buf b = BERTH_BUF_INIT(BERTH_BUILD_OUTPUT_SPEC_MAX);
	int rc;

	if (*rest == '-')
		rest++;
	dot = strchr(rest, '.');
	if (!dot || !dot[1])
		return berth_error_set(BERTH_EINVALID, "%s: expected annotation.KEY=VALUE", k);
	if (dot == rest)
		rc = berth_buf_printf(&b, "%s=%s", dot + 1, v);
	else
		rc = berth_buf_printf(&b, "%.*s:%s=%s", (int)(dot - rest), rest, dot + 1, v);
	if (rc == 0)
		rc = add_str(&o->annotations, &o->nannotations, BERTH_BUILD_ANNOTATIONS_MAX, b.ptr,
			     b.len);
	berth_buf_dispose(&b);
	return rc;
}

static int parse_type(berth_build_output *o, const char *v)
{
	static const struct {
		const char *name;
		berth_build_out_type t;
	} types[] = {
		{"image", BERTH_BUILD_OUT_IMAGE}, {"registry", BERTH_BUILD_OUT_IMAGE},
		{"oci", BERTH_BUILD_OUT_OCI},	  {"docker", BERTH_BUILD_OUT_DOCKER},
		{"local", BERTH_BUILD_OUT_LOCAL}, {"tar", BERTH_BUILD_OUT_TAR},
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(v, types[i].name) == 0) {
			o->type = types[i].t;
			o->push = strcmp(v, "registry") == 0;
			return 0;
		}
	return berth_error_set(
		BERTH_EINVALID,
		"unknown output type '%s' (image, registry, oci, docker, local, tar)", v);
}

/* One key=value field of an output. */
static int parse_field(berth_build_output *o, const char *k, const char *v, int *level_set)
{
	int rc = 0, b;

	if (strcmp(k, "dest") == 0) {
		if (!*v)
			return berth_error_set(BERTH_EINVALID, "dest= is empty");
		free(o->dest);
		if (!(o->dest = strdup(v)))
			return berth_error_set(BERTH_ERROR, "out of memory");
	} else if (strcmp(k, "tar") == 0) {
		rc = parse_bool(k, v, &o->tar);
	} else if (strcmp(k, "name") == 0) {
		for (const char *p = v; *p;) {
			size_t n = strcspn(p, ",");

			if (n && (rc = add_str(&o->names, &o->nnames, BERTH_BUILD_OUTPUT_NAMES_MAX,
					       p, n)) < 0)
				return rc;
			p += n + (p[n] == ',');
		}
	} else if (strcmp(k, "push") == 0) {
		rc = parse_bool(k, v, &o->push);
	} else if (strcmp(k, "oci-mediatypes") == 0) {
		rc = parse_bool(k, v, &o->oci_mediatypes);
	} else if (strcmp(k, "compression") == 0) {
		berth_layer_compression c;

		if ((rc = berth_layer_compression_parse(&c, v)) == 0)
			o->compression = (int)c;
	} else if (strcmp(k, "compression-level") == 0) {
		char *end = NULL;
		long n = strtol(v, &end, 10);

		if (!*v || *end || n < 0 || n > 22)
			return berth_error_set(BERTH_EINVALID, "compression-level=%s: 0 to 22", v);
		o->level = (int)n;
		*level_set = 1;
	} else if (strcmp(k, "force-compression") == 0) {
		rc = parse_bool(k, v, &o->force);
	} else if (strncmp(k, "annotation", 10) == 0) {
		rc = output_annotation(o, k, v);
	} else if (strcmp(k, "unpack") == 0 || strcmp(k, "store") == 0 ||
		   strcmp(k, "name-canonical") == 0 || strcmp(k, "dangling-name-prefix") == 0 ||
		   strcmp(k, "buildinfo") == 0 || strcmp(k, "platform-split") == 0 ||
		   strcmp(k, "rewrite-timestamp") == 0 || strcmp(k, "registry.insecure") == 0) {
		if (strcmp(k, "platform-split") != 0 && parse_bool(k, v, &b) < 0)
			return BERTH_EINVALID; /* accepted, nothing for berth to do */
	} else {
		return berth_error_set(BERTH_EINVALID, "unknown key '%s'", k);
	}
	return rc;
}

static int output_check(const berth_build_output *o, int level_set)
{
	int needs_dest = o->type == BERTH_BUILD_OUT_LOCAL || o->type == BERTH_BUILD_OUT_TAR ||
			 o->type == BERTH_BUILD_OUT_OCI;

	if (needs_dest && !o->dest)
		return berth_error_set(BERTH_EINVALID, "type=%s needs dest=",
				       o->type == BERTH_BUILD_OUT_LOCAL ? "local"
				       : o->type == BERTH_BUILD_OUT_TAR ? "tar"
									: "oci");
	if (o->dest && o->type == BERTH_BUILD_OUT_IMAGE)
		return berth_error_set(BERTH_EINVALID, "type=image has no dest= (use name=)");
	if (o->dest && strcmp(o->dest, "-") == 0 &&
	    (o->type == BERTH_BUILD_OUT_LOCAL || (o->type == BERTH_BUILD_OUT_OCI && !o->tar)))
		return berth_error_set(BERTH_EINVALID,
				       "a directory output cannot be stdout (dest=-)");
	if (level_set && o->compression == BERTH_LAYER_GZIP && o->level > 9)
		return berth_error_set(BERTH_EINVALID, "compression-level=%d: gzip takes 0 to 9",
				       o->level);
	return 0;
}

int berth_build_output_parse(berth_build_output *o, const char *spec)
{
	char **f = NULL;
	size_t n = 0;
	int rc = 0, level_set = 0, have_type = 0;

	memset(o, 0, sizeof(*o));
	o->tar = 1;
	o->oci_mediatypes = -1;
	o->compression = -1;
	o->level = -1;
	if (strlen(spec) >= BERTH_BUILD_OUTPUT_SPEC_MAX)
		return berth_error_set(BERTH_ETOOBIG, "--output %.40s...: too long", spec);
	/* buildx's short forms: "-" is a tar on stdout, a path without "=" a directory. */
	if (!strchr(spec, '=') && !strchr(spec, ',')) {
		if (!*spec)
			return berth_error_set(BERTH_EINVALID, "--output is empty");
		o->type = strcmp(spec, "-") == 0 ? BERTH_BUILD_OUT_TAR : BERTH_BUILD_OUT_LOCAL;
		if (!(o->dest = strdup(spec)))
			return berth_error_set(BERTH_ERROR, "out of memory");
		return 0;
	}
	if ((rc = csv_split(spec, &f, &n)) < 0)
		goto done;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *eq = strchr(f[i], '=');

		if (!eq) {
			rc = berth_error_set(BERTH_EINVALID, "'%s': expected key=value", f[i]);
			break;
		}
		*eq = '\0';
		if (strcmp(f[i], "type") == 0) {
			rc = parse_type(o, eq + 1);
			have_type = 1;
		} else {
			rc = parse_field(o, f[i], eq + 1, &level_set);
		}
	}
	if (rc == 0 && !have_type)
		rc = berth_error_set(BERTH_EINVALID, "no type= (image, registry, oci, docker, "
						     "local, tar)");
	if (rc == 0)
		rc = output_check(o, level_set);
done:
	for (size_t i = 0; i < n; i++)
		free(f[i]);
	free(f);
	if (rc < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", berth_error_last());
		berth_build_output_dispose(o);
		return berth_error_set(rc, "--output %s: %s", spec, msg);
	}
	return 0;
}

void berth_build_output_dispose(berth_build_output *o)
{
	for (size_t i = 0; i < o->nnames; i++)
		free(o->names[i]);
	for (size_t i = 0; i < o->nannotations; i++)
		free(o->annotations[i]);
	free(o->names);
	free(o->annotations);
	free(o->dest);
	memset(o, 0, sizeof(*o));
}

/* ---- annotations ---- */

enum { AN_MANIFEST = 1, AN_MANIFEST_DESC = 2, AN_INDEX = 4, AN_INDEX_DESC = 8 };

/* One --annotation: [TYPE[,TYPE...]][[PLATFORM]]:KEY=VALUE (buildx's syntax). */
typedef struct annot {
	int mask;	/* AN_*; manifest when no type is given */
	char plat[128]; /* "" = every platform */
	char key[256];
	const char *value; /* borrowed from the spec */
} annot;

static int annot_parse(annot *a, const char *spec)
{
	char types[256] = "";
	const char *eq = strchr(spec, '='), *colon, *key;

	memset(a, 0, sizeof(*a));
	if (!eq || eq == spec)
		return berth_error_set(BERTH_EINVALID, "--annotation %s: expected KEY=VALUE", spec);
	colon = memchr(spec, ':', (size_t)(eq - spec));
	key = colon ? colon + 1 : spec;
	if (colon) {
		const char *br = memchr(spec, '[', (size_t)(colon - spec));
		size_t tl = (size_t)((br ? br : colon) - spec);

		if (tl >= sizeof(types) ||
		    (br && (colon[-1] != ']' || (size_t)(colon - br - 2) >= sizeof(a->plat))))
			return berth_error_set(BERTH_EINVALID, "--annotation %s: bad prefix", spec);
		memcpy(types, spec, tl);
		if (br)
			memcpy(a->plat, br + 1, (size_t)(colon - br - 2));
	}
	for (char *save = NULL, *t = strtok_r(types, ",", &save); t; t = strtok_r(NULL, ",", &save))
		a->mask |= strcmp(t, "manifest") == 0		   ? AN_MANIFEST
			   : strcmp(t, "manifest-descriptor") == 0 ? AN_MANIFEST_DESC
			   : strcmp(t, "index") == 0		   ? AN_INDEX
			   : strcmp(t, "index-descriptor") == 0	   ? AN_INDEX_DESC
								   : -1;
	if (a->mask < 0)
		return berth_error_set(BERTH_EINVALID,
				       "--annotation %s: unknown type (manifest, "
				       "manifest-descriptor, index, index-descriptor)",
				       spec);
	if (!a->mask)
		a->mask = AN_MANIFEST;
	if (key == eq || (size_t)(eq - key) >= sizeof(a->key))
		return berth_error_set(BERTH_EINVALID, "--annotation %s: bad key", spec);
	memcpy(a->key, key, (size_t)(eq - key));
	a->value = eq + 1;
	return 0;
}

/* Whether a is for platform ("os/arch[/variant]"; a prefix matches: linux/arm for linux/arm/v7). */
static int annot_for(const annot *a, const char *platform)
{
	return !a->plat[0] || strcmp(a->plat, platform) == 0 ||
	       (strncmp(platform, a->plat, strlen(a->plat)) == 0 &&
		platform[strlen(a->plat)] == '/');
}

/* obj.annotations[a->key] = a->value */
static int annot_set(json_t *obj, const annot *a)
{
	json_t *an = json_object_get(obj, "annotations");

	if (!an && (!(an = json_object()) || json_object_set_new(obj, "annotations", an) < 0))
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (json_object_set_new(an, a->key, json_string(a->value)) < 0)
		return berth_error_set(BERTH_EINVALID, "--annotation %s=%s: bad key or value",
				       a->key, a->value);
	return 0;
}

/* "os/arch[/variant]" of a config or an index entry's platform object. */
static void platform_of(const json_t *o, char *out, size_t len)
{
	const char *os = json_string_value(json_object_get(o, "os"));
	const char *arch = json_string_value(json_object_get(o, "architecture"));
	const char *var = json_string_value(json_object_get(o, "variant"));

	snprintf(out, len, "%s/%s%s%s", os ? os : "", arch ? arch : "", var ? "/" : "",
		 var ? var : "");
}

/* A single image's manifest: manifest annotations only (there is no index to carry the rest). */
static int annotate(json_t *man, const json_t *cfg, const char *spec)
{
	char want[200];
	annot a;
	int rc;

	if ((rc = annot_parse(&a, spec)) < 0)
		return rc;
	if (a.mask & ~AN_MANIFEST)
		return berth_error_set(BERTH_EUNSUPPORTED,
				       "--annotation %s: index and descriptor annotations need a "
				       "multi-platform build (an index)",
				       spec);
	platform_of(cfg, want, sizeof(want));
	return annot_for(&a, want) ? annot_set(man, &a) : 0;
}

/* ---- the variant: recompressed layers, annotations ---- */

typedef struct blob_sink {
	berth_build__blob_writer w;
	berth_hasher *h;
	uint64_t size;
} blob_sink;

static int sink_write(void *ctx, const void *data, size_t len)
{
	blob_sink *b = ctx;
	int rc = berth_hasher_update(b->h, data, len);

	b->size += len;
	return rc < 0 ? rc : berth_build__blob_write(&b->w, data, len);
}

static int comp_put(void *ctx, const void *data, size_t len)
{
	return berth_layer_compressor_write(ctx, data, len);
}

int berth_build__blob_recompress(berth_build_store *s, const char *mt, const char *digest,
				 berth_layer_compression c, int level, berth_digest *out,
				 uint64_t *size)
{
	berth_layer_compression from = berth_layer_compression_of(mt);
	berth_layer_compressor *z = NULL;
	blob_sink b = {.w = {.fd = -1}};
	char path[PATH_MAX + 160];
	int fd = -1, rc;

	if (from == BERTH_LAYER_UNKNOWN || !berth_layer_media_type_with(mt, c) || !digest ||
	    strncmp(digest, "sha256:", 7) != 0)
		return berth_error_set(BERTH_EUNSUPPORTED, "cannot recompress a layer of type %s",
				       mt ? mt : "?");
	snprintf(path, sizeof(path), "%s/%s", s->blobs, digest + 7);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return berth_error_set_errno("layer %s", digest);
	if ((rc = berth_hasher_new(&b.h, BERTH_DIGEST_SHA256)) < 0 ||
	    (rc = berth_build__blob_begin(&b.w, s)) < 0)
		goto done;
	if ((rc = berth_layer_compressor_new(&z, c, level, 0, sink_write, &b)) < 0 ||
	    (rc = berth_layer_transform(from, BERTH_LAYER_UNCOMPRESSED, -1, berth_layer_read_fd,
					&fd, comp_put, z)) < 0 ||
	    (rc = berth_layer_compressor_finish(z)) < 0 || (rc = berth_hasher_final(b.h, out)) < 0)
		goto done;
	if ((rc = berth_build__blob_commit(&b.w, out)) < 0)
		goto done;
	b.w.fd = -1;
	*size = b.size;
done:
	if (b.w.fd >= 0)
		berth_build__blob_abort(&b.w);
	berth_layer_compressor_free(z);
	berth_hasher_free(b.h);
	close(fd);
	return rc;
}

/* Recompress the layer blob described by l (a manifest layer object) to c. */
static int recompress(berth_build_store *s, json_t *l, berth_layer_compression c, int level)
{
	const char *mt = json_string_value(json_object_get(l, "mediaType"));
	const char *nmt = berth_layer_media_type_with(mt, c);
	berth_digest d;
	uint64_t size;
	int rc = berth_build__blob_recompress(
		s, mt, json_string_value(json_object_get(l, "digest")), c, level, &d, &size);

	if (rc == 0 && (json_object_set_new(l, "mediaType", json_string(nmt)) < 0 ||
			json_object_set_new(l, "digest", json_string(d.str)) < 0 ||
			json_object_set_new(l, "size", json_integer((json_int_t)size)) < 0))
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	return rc;
}

static int read_blob_json(berth_build_store *s, const char *digest, json_t **out)
{
	char path[PATH_MAX + 160];
	json_error_t jerr;

	*out = NULL;
	if (!digest || strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 71)
		return berth_error_set(BERTH_EINVALID, "bad digest in the store");
	snprintf(path, sizeof(path), "%s/%s", s->blobs, digest + 7);
	*out = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	return *out ? 0 : berth_error_set(BERTH_EINVALID, "%s: %s", digest, jerr.text);
}

/* The manifest digest a layout tag names (index.json), into out. */
static int tag_digest(berth_build_store *s, const char *tag, char *out, size_t len)
{
	char path[PATH_MAX + 32];
	json_t *idx, *m;
	size_t i;
	int rc = berth_error_set(BERTH_ENOTFOUND, "no image %s in the build store", tag);

	snprintf(path, sizeof(path), "%s/index.json", s->content);
	idx = json_load_file(path, 0, NULL);
	json_array_foreach(json_object_get(idx, "manifests"), i, m)
	{
		const char *n = json_string_value(json_object_get(
			json_object_get(m, "annotations"), "org.opencontainers.image.ref.name"));
		const char *d = json_string_value(json_object_get(m, "digest"));

		if (n && d && strcmp(n, tag) == 0) {
			snprintf(out, len, "%s", d);
			rc = 0;
		}
	}
	json_decref(idx);
	return rc;
}

/* Tag a manifest body in the store's layout. */
static int put_tagged(berth_build_store *s, const char *tag, const char *man, const char *mt,
		      berth_digest *md)
{
	berth_buf spec = BERTH_BUF_INIT(PATH_MAX + 256);
	berth_image_name *n = NULL;
	berth_transport_options o;
	berth_dest *d = NULL;
	int rc;

	berth_transport_options_init(&o);
	if ((rc = berth_build__put_blob(s, man, strlen(man), md)) == 0 &&
	    (rc = berth_buf_printf(&spec, "oci:%s:%s", s->content, tag)) == 0 &&
	    (rc = berth_image_name_parse(&n, spec.ptr)) == 0 &&
	    (rc = berth_dest_open(&d, n, &o)) == 0 &&
	    (rc = berth_dest_put_manifest(d, man, strlen(man), mt, md, 1)) == 0)
		rc = berth_dest_commit(d);
	berth_dest_free(d);
	berth_image_name_free(n);
	berth_buf_dispose(&spec);
	return rc;
}

/* Recompress man's layers as out says (compression=, force-compression=); *changed if one was. */
static int variant_layers(berth_build_store *s, json_t *man, const berth_build_output *out,
			  int *changed)
{
	json_t *l;
	size_t i;
	int rc;

	json_array_foreach(json_object_get(man, "layers"), i, l)
	{
		berth_layer_compression now = berth_layer_compression_of(
			json_string_value(json_object_get(l, "mediaType")));

		if (out->compression < 0 || (now == out->compression && !out->force))
			continue;
		if ((rc = recompress(s, l, (berth_layer_compression)out->compression, out->level)) <
		    0)
			return rc;
		*changed = 1;
	}
	return 0;
}

/* The i-th annotation of an export: the --annotation ones, then the output's annotation.*. */
static const char *annotation_at(const berth_build_output *out, const berth_build_export_opts *eo,
				 size_t i)
{
	return i < eo->nannotations ? eo->annotations[i] : out->annotations[i - eo->nannotations];
}

/* A single image's variant manifest (man changed in place; *changed if it was). */
static int image_variant(berth_build_store *s, json_t *man, const berth_build_output *out,
			 const berth_build_export_opts *eo, int *changed)
{
	json_t *cfg = NULL;
	int rc;

	if ((rc = variant_layers(s, man, out, changed)) < 0 ||
	    (rc = read_blob_json(
		     s,
		     json_string_value(json_object_get(json_object_get(man, "config"), "digest")),
		     &cfg)) < 0)
		goto done;
	for (size_t i = 0; i < eo->nannotations + out->nannotations && rc == 0; i++) {
		annot a;

		if ((rc = annot_parse(&a, annotation_at(out, eo, i))) < 0 ||
		    a.mask == AN_INDEX_DESC)
			continue; /* index-descriptor: the layout's index.json (export_archive) */
		if ((rc = annotate(man, cfg, annotation_at(out, eo, i))) == 0)
			*changed = 1;
	}
done:
	json_decref(cfg);
	return rc;
}

/*
 * One image of an index: its manifest's variant (layers, manifest
 * annotations for its platform) stored as a blob, and its descriptor d
 * updated (digest, size, manifest-descriptor annotations).
 */
static int index_entry_variant(berth_build_store *s, json_t *d, const berth_build_output *out,
			       const berth_build_export_opts *eo, int *changed)
{
	char plat[200];
	json_t *man = NULL;
	char *txt = NULL;
	berth_digest md;
	int rc, mchanged = 0;

	platform_of(json_object_get(d, "platform"), plat, sizeof(plat));
	if ((rc = read_blob_json(s, json_string_value(json_object_get(d, "digest")), &man)) < 0 ||
	    (rc = variant_layers(s, man, out, &mchanged)) < 0)
		goto done;
	for (size_t i = 0; i < eo->nannotations + out->nannotations && rc == 0; i++) {
		annot a;

		if ((rc = annot_parse(&a, annotation_at(out, eo, i))) < 0 || !annot_for(&a, plat))
			continue;
		if ((a.mask & AN_MANIFEST) && (rc = annot_set(man, &a)) == 0)
			mchanged = 1;
		if (rc == 0 && (a.mask & AN_MANIFEST_DESC) && (rc = annot_set(d, &a)) == 0)
			*changed = 1;
	}
	if (rc < 0 || !mchanged)
		goto done;
	if (!(txt = json_dumps(man, JSON_COMPACT))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if ((rc = berth_build__put_blob(s, txt, strlen(txt), &md)) < 0)
		goto done;
	if (json_object_set_new(d, "digest", json_string(md.str)) < 0 ||
	    json_object_set_new(d, "size", json_integer((json_int_t)strlen(txt))) < 0)
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	*changed = 1;
done:
	free(txt);
	json_decref(man);
	return rc;
}

/* An index's variant: each image's (above), and index annotations on the index itself. */
static int index_variant(berth_build_store *s, json_t *idx, const berth_build_output *out,
			 const berth_build_export_opts *eo, int *changed)
{
	json_t *d;
	size_t i;
	int rc = 0;

	json_array_foreach(json_object_get(idx, "manifests"), i, d)
	{
		if ((rc = index_entry_variant(s, d, out, eo, changed)) < 0)
			return rc;
	}
	for (i = 0; i < eo->nannotations + out->nannotations && rc == 0; i++) {
		annot a;

		if ((rc = annot_parse(&a, annotation_at(out, eo, i))) == 0 && (a.mask & AN_INDEX) &&
		    (rc = annot_set(idx, &a)) == 0)
			*changed = 1;
	}
	return rc;
}

/*
 * The tag to export: `tag` itself, or a variant tagged `vtag` when layers are
 * recompressed or annotations added (to a single image, or to an index and
 * its images).
 */
static int make_variant(berth_build_store *s, const char *tag, const berth_build_output *out,
			const berth_build_export_opts *eo, char *vtag, size_t vlen)
{
	char dg[BERTH_DIGEST_MAX];
	json_t *man = NULL;
	char *txt = NULL;
	berth_digest md;
	int rc, changed = 0, is_index;

	snprintf(vtag, vlen, "%s", tag);
	if (out->compression < 0 && !out->nannotations && !eo->nannotations)
		return 0;
	if ((rc = tag_digest(s, tag, dg, sizeof(dg))) < 0 || (rc = read_blob_json(s, dg, &man)) < 0)
		goto done;
	is_index = json_is_array(json_object_get(man, "manifests"));
	if (!is_index && !json_is_array(json_object_get(man, "layers"))) {
		rc = berth_error_set(BERTH_EUNSUPPORTED, "%s is not an image", tag);
		goto done;
	}
	rc = is_index ? index_variant(s, man, out, eo, &changed)
		      : image_variant(s, man, out, eo, &changed);
	if (rc < 0 || !changed)
		goto done;
	if (!(txt = json_dumps(man, JSON_COMPACT))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if ((rc = berth_digest_compute(&md, BERTH_DIGEST_SHA256, txt, strlen(txt))) < 0)
		goto done;
	snprintf(vtag, vlen, "%s-%.16s", tag, berth_digest_hex(&md));
	rc = put_tagged(s, vtag, txt, is_index ? BERTH_MT_OCI_INDEX : BERTH_MT_OCI_MANIFEST, &md);
done:
	free(txt);
	json_decref(man);
	return rc;
}

/* ---- the file tree: local and tar ---- */

typedef struct tree_link {
	dev_t dev;
	ino_t ino;
	char *path;
} tree_link;

typedef struct tree {
	struct archive *a;
	const char *prefix; /* disk: the destination directory; tar: NULL */
	tree_link *links;
	size_t nlinks;
	char *buf;
} tree;

static int tree_fail(tree *t, const char *what)
{
	return berth_error_set(BERTH_EIO, "%s: %s", what, archive_error_string(t->a));
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int tree_data(tree *t, const char *host)
{
	int fd = open(host, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int rc = 0;

	if (fd < 0)
		return berth_error_set_errno("%s", host);
	for (;;) {
		ssize_t n = read(fd, t->buf, COPY_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = berth_error_set_errno("%s", host);
			break;
		}
		if (n == 0)
			break;
		if (archive_write_data(t->a, t->buf, (size_t)n) != n) {
			rc = tree_fail(t, host);
			break;
		}
	}
	close(fd);
	return rc;
}

/* One entry: rel is its path in the tree ("etc/passwd"). */
static int tree_entry(tree *t, const char *host, const char *rel, const struct stat *st)
{
	struct archive_entry *e = archive_entry_new();
	char full[PATH_MAX * 2], target[PATH_MAX];
	const char *link = NULL;
	int rc = 0;

	if (!e)
		return berth_error_set(BERTH_ERROR, "out of memory");
	snprintf(full, sizeof(full), "%s%s%s", t->prefix ? t->prefix : "", t->prefix ? "/" : "",
		 rel);
	archive_entry_copy_stat(e, st);
	archive_entry_set_pathname(e, full);
	archive_entry_unset_atime(e);
	archive_entry_unset_ctime(e);
	if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlink(host, target, sizeof(target) - 1);

		if (n < 0) {
			rc = berth_error_set_errno("%s", host);
			goto done;
		}
		target[n] = '\0';
		archive_entry_set_symlink(e, target);
	} else if (S_ISREG(st->st_mode) && st->st_nlink > 1) {
		for (size_t i = 0; i < t->nlinks && !link; i++)
			if (t->links[i].dev == st->st_dev && t->links[i].ino == st->st_ino)
				link = t->links[i].path;
		if (link) {
			archive_entry_set_hardlink(e, link);
			archive_entry_set_size(e, 0);
		} else {
			tree_link *nl = realloc(t->links, (t->nlinks + 1) * sizeof(*nl));

			if (!nl || !(nl[t->nlinks].path = strdup(full))) {
				if (nl)
					t->links = nl;
				rc = berth_error_set(BERTH_ERROR, "out of memory");
				goto done;
			}
			t->links = nl;
			nl[t->nlinks].dev = st->st_dev;
			nl[t->nlinks].ino = st->st_ino;
			t->nlinks++;
		}
	}
	if (archive_write_header(t->a, e) != ARCHIVE_OK) {
		rc = tree_fail(t, rel);
		goto done;
	}
	if (S_ISREG(st->st_mode) && !link && st->st_size > 0)
		rc = tree_data(t, host);
	if (rc == 0 && t->prefix && archive_write_finish_entry(t->a) != ARCHIVE_OK)
		rc = tree_fail(t, rel);
done:
	archive_entry_free(e);
	return rc;
}

static int tree_walk(tree *t, const char *host, const char *rel, int depth)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (depth > TREE_DEPTH_MAX)
		return berth_error_set(BERTH_ETOOBIG, "%s: directories nested too deep", host);
	if (!(d = opendir(host)))
		return berth_error_set_errno("%s", host);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*nn));

			if (!nn) {
				rc = berth_error_set(BERTH_ERROR, "out of memory");
				break;
			}
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name))) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			break;
		}
		n++;
	}
	closedir(d);
	if (rc == 0 && n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char hp[PATH_MAX], rp[PATH_MAX];
		struct stat st;

		if (snprintf(hp, sizeof(hp), "%s/%s", host, names[i]) >= (int)sizeof(hp) ||
		    snprintf(rp, sizeof(rp), "%s%s%s", rel, *rel ? "/" : "", names[i]) >=
			    (int)sizeof(rp)) {
			rc = berth_error_set(BERTH_ETOOBIG, "%s/%s: path too long", host, names[i]);
			break;
		}
		if (lstat(hp, &st) < 0) {
			rc = berth_error_set_errno("%s", hp);
			break;
		}
		rc = tree_entry(t, hp, rp, &st);
		if (rc == 0 && S_ISDIR(st.st_mode))
			rc = tree_walk(t, hp, rp, depth + 1);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static la_ssize_t tar_out(struct archive *a, void *ctx, const void *data, size_t len)
{
	int fd = *(int *)ctx;

	if (berth_fs_write_all(fd, data, len) < 0) {
		archive_set_error(a, EIO, "%s", berth_error_last());
		return -1;
	}
	return (la_ssize_t)len;
}

/* One tree to write: a root, and the directory it goes in ("" = the top). */
typedef struct tree_src {
	const char *root;
	char name[BERTH_BUILD_PLATFORM_MAX];
} tree_src;

/*
 * Write the merged trees as a tar to fd, or onto disk under dir: each at the
 * top, or (several platforms) in its own directory, named as buildx names
 * them ("linux_amd64").
 */
static int tree_write(const tree_src *srcs, size_t n, int fd, const char *dir)
{
	tree t = {.prefix = dir};
	int rc = 0;

	t.buf = malloc(COPY_CHUNK);
	t.a = dir ? archive_write_disk_new() : archive_write_new();
	if (!t.buf || !t.a) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (dir) {
		archive_write_disk_set_options(t.a, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
							    ARCHIVE_EXTRACT_OWNER |
							    ARCHIVE_EXTRACT_SECURE_NODOTDOT |
							    ARCHIVE_EXTRACT_SECURE_SYMLINKS);
	} else {
		archive_write_set_format_pax_restricted(t.a);
		archive_write_set_bytes_per_block(t.a, 10240);
		archive_write_set_bytes_in_last_block(t.a, 1);
		if (archive_write_open(t.a, &fd, NULL, tar_out, NULL) != ARCHIVE_OK) {
			rc = tree_fail(&t, "tar");
			goto done;
		}
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct stat st;

		if (srcs[i].name[0] && lstat(srcs[i].root, &st) < 0)
			rc = berth_error_set_errno("%s", srcs[i].root);
		else if (srcs[i].name[0])
			rc = tree_entry(&t, srcs[i].root, srcs[i].name, &st);
		if (rc == 0)
			rc = tree_walk(&t, srcs[i].root, srcs[i].name, 0);
	}
	if (rc == 0 && archive_write_close(t.a) != ARCHIVE_OK)
		rc = tree_fail(&t, dir ? dir : "tar");
done:
	if (t.a)
		archive_write_free(t.a);
	for (size_t i = 0; i < t.nlinks; i++)
		free(t.links[i].path);
	free(t.links);
	free(t.buf);
	return rc;
}

/* The trees an output of tag writes: mounted roots of its image, or of each image of its index. */
typedef struct tree_set {
	berth_build_image *img[BERTH_BUILD_PLATFORMS_MAX];
	berth_workroot *w[BERTH_BUILD_PLATFORMS_MAX];
	tree_src src[BERTH_BUILD_PLATFORMS_MAX];
	size_t n;
} tree_set;

static void tree_set_dispose(tree_set *ts)
{
	for (size_t i = 0; i < ts->n; i++) {
		berth_workroot_free(ts->w[i]);
		berth_build_image_free(ts->img[i]);
	}
	ts->n = 0;
}

/* Add the image tagged tag (or child of the index tagged tag), written in directory name. */
static int tree_set_add(tree_set *ts, berth_build_store *s, const char *tag,
			const berth_digest *child, const char *name)
{
	size_t i = ts->n;
	int rc;

	if (i == BERTH_BUILD_PLATFORMS_MAX)
		return berth_error_set(BERTH_ETOOBIG, "more than %d platforms",
				       BERTH_BUILD_PLATFORMS_MAX);
	ts->img[i] = NULL;
	ts->w[i] = NULL;
	ts->n++;
	if ((rc = berth_build__image_load(&ts->img[i], s, tag, child)) < 0 ||
	    (rc = berth_build_image_root(&ts->w[i], s, ts->img[i])) < 0)
		return rc;
	ts->src[i].root = berth_workroot_path(ts->w[i]);
	snprintf(ts->src[i].name, sizeof(ts->src[i].name), "%s", name);
	return 0;
}

/*
 * The trees of tag: its image, or each platform's image of its index (the
 * attestation manifests, platform unknown/unknown, are not file trees); one
 * platform goes at the top, several each in its directory.
 */
static int tree_set_load(tree_set *ts, berth_build_store *s, const char *tag)
{
	char dg[BERTH_DIGEST_MAX], name[BERTH_BUILD_PLATFORM_MAX];
	json_t *top = NULL, *m, *ms;
	size_t i, nplat = 0;
	int rc;

	ts->n = 0;
	if ((rc = tag_digest(s, tag, dg, sizeof(dg))) < 0 || (rc = read_blob_json(s, dg, &top)) < 0)
		return rc;
	ms = json_object_get(top, "manifests");
	if (!json_is_array(ms)) {
		json_decref(top);
		return tree_set_add(ts, s, tag, NULL, "");
	}
	json_array_foreach(ms, i, m)
	{
		const char *os =
			json_string_value(json_object_get(json_object_get(m, "platform"), "os"));

		nplat += os && strcmp(os, "unknown") != 0;
	}
	json_array_foreach(ms, i, m)
	{
		json_t *p = json_object_get(m, "platform");
		const char *os = json_string_value(json_object_get(p, "os"));
		const char *arch = json_string_value(json_object_get(p, "architecture"));
		const char *var = json_string_value(json_object_get(p, "variant"));
		const char *dgs = json_string_value(json_object_get(m, "digest"));
		berth_digest d;

		if (!os || !arch || strcmp(os, "unknown") == 0)
			continue;
		snprintf(name, sizeof(name), "%s_%s%s%s", os, arch, var ? "_" : "", var ? var : "");
		if ((rc = berth_digest_parse(&d, dgs ? dgs : "", dgs ? strlen(dgs) : 0)) < 0 ||
		    (rc = tree_set_add(ts, s, tag, &d, nplat > 1 ? name : "")) < 0)
			break;
	}
	if (rc == 0 && !ts->n)
		rc = berth_error_set(BERTH_EINVALID, "%s: an index without an image", tag);
	json_decref(top);
	return rc;
}

/* A temporary name next to path ("<dir>/.<base>.tmp-XXXXXX"). */
static int tmp_next_to(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');
	int n;

	if (slash)
		n = snprintf(out, len, "%.*s/.%s.tmp-XXXXXX", (int)(slash - path), path, slash + 1);
	else
		n = snprintf(out, len, ".%s.tmp-XXXXXX", path);
	if (n < 0 || (size_t)n >= len)
		return berth_error_set(BERTH_ETOOBIG, "%s: path too long", path);
	return 0;
}

static int export_tree(berth_build_store *s, const char *tag, const berth_build_output *out)
{
	tree_set ts = {.n = 0};
	char tmp[PATH_MAX + 32] = "";
	struct stat st;
	int fd = -1, rc, to_stdout = strcmp(out->dest, "-") == 0, into_existing = 0;

	if ((rc = tree_set_load(&ts, s, tag)) < 0)
		goto done;
	if (out->type == BERTH_BUILD_OUT_TAR && to_stdout) {
		rc = tree_write(ts.src, ts.n, STDOUT_FILENO, NULL);
		goto done;
	}
	into_existing = out->type == BERTH_BUILD_OUT_LOCAL && stat(out->dest, &st) == 0;
	if (into_existing && !S_ISDIR(st.st_mode)) {
		rc = berth_error_set(BERTH_EINVALID, "%s exists and is not a directory", out->dest);
		goto done;
	}
	if (into_existing) {
		rc = tree_write(ts.src, ts.n, -1, out->dest);
		goto done;
	}
	if ((rc = tmp_next_to(out->dest, tmp, sizeof(tmp))) < 0)
		goto done;
	if (out->type == BERTH_BUILD_OUT_LOCAL ? !mkdtemp(tmp)
					       : (fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		rc = berth_error_set_errno("cannot write %s", out->dest);
		tmp[0] = '\0';
		goto done;
	}
	if (out->type == BERTH_BUILD_OUT_LOCAL) {
		chmod(tmp, 0755);
		rc = tree_write(ts.src, ts.n, -1, tmp);
	} else {
		fchmod(fd, 0644);
		rc = tree_write(ts.src, ts.n, fd, NULL);
		if (rc == 0 && fsync(fd) < 0)
			rc = berth_error_set_errno("%s", out->dest);
	}
	if (rc == 0 && rename(tmp, out->dest) < 0)
		rc = berth_error_set_errno("cannot write %s", out->dest);
	if (rc == 0)
		tmp[0] = '\0';
done:
	if (fd >= 0)
		close(fd);
	if (tmp[0] && berth_fs_remove_tree(tmp) < 0) { /* best effort */
	}
	tree_set_dispose(&ts);
	return rc;
}

/* ---- image exporters: through the copy engine ---- */

static int copy_to(berth_build_store *s, const char *tag, const char *dst_spec,
		   const berth_transport_options *to, const char *format, berth_digest *digest)
{
	berth_buf src = BERTH_BUF_INIT(PATH_MAX + 256);
	berth_image_name *sn = NULL, *dn = NULL;
	berth_transport_options lo;
	berth_copy_options co;
	int rc;

	berth_transport_options_init(&lo);
	berth_copy_options_init(&co);
	co.format = format;
	co.all = 1; /* an index (a multi-platform build) goes whole */
	if ((rc = berth_buf_printf(&src, "oci:%s:%s", s->content, tag)) == 0 &&
	    (rc = berth_image_name_parse(&sn, src.ptr)) == 0 &&
	    (rc = berth_image_name_parse(&dn, dst_spec)) == 0)
		rc = berth_copy(sn, &lo, dn, to, &co, digest);
	berth_image_name_free(sn);
	berth_image_name_free(dn);
	berth_buf_dispose(&src);
	return rc;
}

static int stream_file(const char *path, int out)
{
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return berth_error_set_errno("%s", path);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				rc = berth_error_set_errno("%s", path);
			break;
		}
		if ((rc = berth_fs_write_all(out, buf, (size_t)n)) < 0)
			break;
	}
	close(fd);
	return rc;
}

/* "docker" or "podman" on PATH (preferred first), or NULL. */
static const char *find_loader(const char *preferred)
{
	static const char *const tools[] = {"docker", "podman", NULL};
	const char *path = getenv("PATH");

	for (size_t i = 0; tools[i]; i++) {
		if (preferred && strcmp(preferred, tools[i]) != 0)
			continue;
		for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
			size_t n = strcspn(p, ":");
			char full[PATH_MAX];

			snprintf(full, sizeof(full), "%.*s/%s", (int)n, p, tools[i]);
			if (n && access(full, X_OK) == 0)
				return tools[i];
			p += n + (p[n] == ':');
		}
	}
	return NULL;
}

/* `docker load` / `podman load` with the archive at path on its stdin (output to stderr). */
static int load_archive(const char *path, const char *loader)
{
	const char *tool = find_loader(loader);
	char *argv[] = {(char *)tool, "load", NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status = 0, rc;

	if (!tool)
		return berth_error_set(BERTH_ENOTFOUND,
				       "--load: neither docker nor podman is on PATH (install "
				       "docker.io or podman, or use -o type=docker,dest=FILE)");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, path, O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
	rc = posix_spawnp(&pid, tool, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return berth_error_set(BERTH_EIO, "--load: cannot run %s: %s", tool, strerror(rc));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return berth_error_set_errno("--load: wait for %s", tool);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return berth_error_set(BERTH_EIO, "--load: `%s load` failed (exit %d)", tool,
				       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}

/* The archive's reference: name= (first), else the first -t. */
static const char *first_name(const berth_build_output *out, const berth_build_export_opts *eo)
{
	return out->nnames ? out->names[0] : eo->ntags ? eo->tags[0] : NULL;
}

/* index-descriptor annotations onto the descriptor tagged reftag in the layout dir's index.json. */
static int annotate_layout(const char *dir, const char *reftag, const berth_build_output *out,
			   const berth_build_export_opts *eo)
{
	char path[PATH_MAX + 16];
	json_t *idx = NULL, *d;
	json_error_t jerr;
	char *txt = NULL;
	size_t i;
	int rc = 0, found = 0;

	snprintf(path, sizeof(path), "%s/index.json", dir);
	if (!(idx = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)))
		return berth_error_set(BERTH_EINVALID, "%s: %s", path, jerr.text);
	json_array_foreach(json_object_get(idx, "manifests"), i, d)
	{
		const char *n = json_string_value(json_object_get(
			json_object_get(d, "annotations"), "org.opencontainers.image.ref.name"));

		if (!n || strcmp(n, reftag) != 0)
			continue;
		found = 1;
		for (size_t k = 0; k < eo->nannotations + out->nannotations && rc == 0; k++) {
			annot a;

			if ((rc = annot_parse(&a, annotation_at(out, eo, k))) == 0 &&
			    (a.mask & AN_INDEX_DESC))
				rc = annot_set(d, &a);
		}
	}
	if (rc == 0 && !found)
		rc = berth_error_set(BERTH_ENOTFOUND, "%s: no image tagged %s", path, reftag);
	if (rc == 0 && !(txt = json_dumps(idx, JSON_COMPACT)))
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	if (rc == 0)
		rc = berth_fs_write_atomic(path, txt, strlen(txt));
	free(txt);
	json_decref(idx);
	return rc;
}

/* Whether the export has index-descriptor annotations (for an OCI layout's index.json). */
static int has_index_desc(const berth_build_output *out, const berth_build_export_opts *eo)
{
	for (size_t i = 0; i < eo->nannotations + out->nannotations; i++) {
		annot a;

		if (annot_parse(&a, annotation_at(out, eo, i)) == 0 && (a.mask & AN_INDEX_DESC))
			return 1;
	}
	return 0;
}

/* oci and docker: to a file (or stdout / docker load through a temporary file), or a layout. */
static int export_archive(berth_build_store *s, const char *tag, const berth_build_output *out,
			  const berth_build_export_opts *eo, berth_digest *digest)
{
	const char *name = first_name(out, eo), *colon;
	const char *format = out->oci_mediatypes == 0 ? "v2s2" : NULL;
	berth_buf dst = BERTH_BUF_INIT(PATH_MAX * 2);
	char tmp[PATH_MAX + 32] = "", reftag[256] = "latest";
	int via_tmp = !out->dest || strcmp(out->dest, "-") == 0, rc;
	const char *file = out->dest;

	if (has_index_desc(out, eo) && (out->type != BERTH_BUILD_OUT_OCI || out->tar))
		return berth_error_set(BERTH_EUNSUPPORTED,
				       "index-descriptor annotations go in an OCI layout's "
				       "index.json: use type=oci,tar=false");
	if (via_tmp) {
		int fd;

		snprintf(tmp, sizeof(tmp), "%s/.tmp-export-XXXXXX", s->root);
		if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
			tmp[0] = '\0';
			rc = berth_error_set_errno("temporary file in %s", s->root);
			goto done;
		}
		close(fd);
		unlink(tmp); /* the archive writer creates it */
		file = tmp;
	}
	if (out->type == BERTH_BUILD_OUT_OCI) {
		/* The layout's tag: name='s tag, as BuildKit's ref.name; else latest (as berth
		 * always did) */
		if (out->nnames && (colon = strrchr(name, ':')) && !strchr(colon, '/'))
			snprintf(reftag, sizeof(reftag), "%s", colon + 1);
		rc = berth_buf_printf(&dst, "%s:%s:%s", out->tar ? "oci-archive" : "oci", file,
				      reftag);
	} else {
		rc = berth_buf_printf(&dst, "docker-archive:%s%s%s", file, name ? ":" : "",
				      name ? name : "");
	}
	if (rc < 0 || (rc = copy_to(s, tag, dst.ptr, eo->registry, format, digest)) < 0)
		goto done;
	if (out->type == BERTH_BUILD_OUT_OCI && !out->tar && has_index_desc(out, eo) &&
	    (rc = annotate_layout(file, reftag, out, eo)) < 0)
		goto done;
	if (via_tmp)
		rc = out->dest ? stream_file(tmp, STDOUT_FILENO) : load_archive(tmp, eo->loader);
done:
	if (tmp[0])
		unlink(tmp);
	berth_buf_dispose(&dst);
	return rc;
}

static int export_push(berth_build_store *s, const char *tag, const berth_build_output *out,
		       const berth_build_export_opts *eo, berth_digest *digest)
{
	const char *format = out->oci_mediatypes == 0 ? "v2s2" : NULL;
	size_t n = out->nnames ? out->nnames : eo->ntags;
	berth_buf dst = BERTH_BUF_INIT(PATH_MAX);
	int rc = 0;

	if (!out->push)
		return 0; /* type=image: the image stays in the build store */
	if (has_index_desc(out, eo))
		return berth_error_set(BERTH_EUNSUPPORTED,
				       "index-descriptor annotations go in an OCI layout's "
				       "index.json: use type=oci,tar=false");
	if (!n)
		return berth_error_set(BERTH_EINVALID, "push needs a name (--tag or name=)");
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *name = out->nnames ? out->names[i] : eo->tags[i];

		berth_buf_reset(&dst);
		if ((rc = berth_buf_printf(&dst, "docker://%s", name)) == 0 &&
		    (rc = copy_to(s, tag, dst.ptr, eo->registry, format, digest)) < 0) {
			char msg[512];

			snprintf(msg, sizeof(msg), "%s", berth_error_last());
			rc = berth_error_set(rc, "push %s: %s", name, msg);
		}
	}
	berth_buf_dispose(&dst);
	return rc;
}

int berth_build_export(berth_build_store *s, const char *tag, const berth_build_output *out,
		       const berth_build_export_opts *eo, berth_digest *digest)
{
	char vtag[256];
	int rc;

	if (out->type == BERTH_BUILD_OUT_LOCAL || out->type == BERTH_BUILD_OUT_TAR)
		return export_tree(s, tag, out);
	if ((rc = make_variant(s, tag, out, eo, vtag, sizeof(vtag))) < 0)
		return rc;
	if (out->type == BERTH_BUILD_OUT_IMAGE)
		return export_push(s, vtag, out, eo, digest);
	return export_archive(s, vtag, out, eo, digest);
}
