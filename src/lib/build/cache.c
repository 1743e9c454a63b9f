/*
 * cache.c - the layer cache's export and import (--cache-to, --cache-from).
 *
 * What travels is what the store keeps: a step's record (the image's whole
 * state after the step: config and layer descriptors, see key.c) under the
 * step's key, and the layer blobs the records name. docs/build-cache.md
 * describes the artifact:
 *   - registry / local: an OCI image manifest with artifactType
 *     BUILD_CACHE_ARTIFACT, the empty config, and as layers first the
 *     records document (BUILD_CACHE_RECORDS_MT), then every layer blob the
 *     records name. type=registry pushes it to a reference, type=local
 *     writes it into an OCI layout directory under a tag (default latest).
 *   - inline: the records document as the image config's top-level field
 *     BUILD_CACHE_INLINE_FIELD (mode=min: the layers are the image's own).
 *
 * Import reads the records of every --cache-from (a cache artifact, or an
 * image whose config carries inline records) and keeps them in memory.
 * A step whose key is not in the local cache but in an imported record is
 * a hit: the blobs of that record missing from the store are pulled then
 * (nothing else is), the record is written into the local cache, and the
 * step runs nothing. A source that cannot be reached is a warning and the
 * build goes on without it (as buildx); a source whose content is not a
 * valid cache is an error.
 */
#include "lib/build/internal.h"
#include "berth/ref.h"
#include "util/buf.h"
#include "util/fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUILD_CACHE_ARTIFACT "application/vnd.berth.build.cache.v1+json"
#define BUILD_CACHE_RECORDS_MT "application/vnd.berth.build.cache.records.v1+json"
#define BUILD_CACHE_INLINE_FIELD "berth.build.cache.v1"
#define BUILD_CACHE_EMPTY_MT "application/vnd.oci.empty.v1+json"
#define BUILD_CACHE_DOC_MAX ((size_t)64 << 20) /* bytes of a records document or config */
#define BUILD_CACHE_RECORDS_MAX 100000	       /* records in one document */
#define BUILD_CACHE_SPEC_MAX 4096	       /* bytes of one --cache-from/--cache-to value */
#define BUILD_CACHE_SOURCES_MAX 32	       /* --cache-from values */

typedef enum { CACHE_REGISTRY, CACHE_LOCAL, CACHE_INLINE } cache_type;

typedef struct cache_spec {
	cache_type type;
	char *ref;  /* registry: the reference (as written) */
	char *dir;  /* local: the layout directory */
	char *tag;  /* local: the layout's tag (default latest) */
	int max;    /* mode=max */
	int plain;  /* --cache-from REF (no type=) */
	char *text; /* as given, for messages */
} cache_spec;

typedef struct cache_source {
	cache_spec spec;
	json_t *records;   /* key -> state */
	berth_source *src; /* where the blobs come from */
} cache_source;

typedef struct cache_note {
	size_t stage;
	berth_digest key;
} cache_note;

typedef struct build_cache build_cache;

struct build_cache {
	cache_spec *to;
	size_t nto;
	cache_source *from;
	size_t nfrom;
	cache_note *notes; /* every step's key, as the build reaches it */
	size_t nnotes, cap;
	pthread_mutex_t mu; /* notes; blob pulls (one at a time) */
};

/* ---- specs ---- */

static void spec_dispose(cache_spec *c)
{
	free(c->ref);
	free(c->dir);
	free(c->tag);
	free(c->text);
	memset(c, 0, sizeof(*c));
}

static int set_str(char **dst, const char *v, size_t n)
{
	free(*dst);
	*dst = strndup(v, n);
	return *dst ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
}

/* One key=value of a spec. */
static int spec_kv(cache_spec *c, const char *flag, const char *kv, size_t n, int *typed)
{
	const char *eq = memchr(kv, '=', n);
	size_t kl = eq ? (size_t)(eq - kv) : n, vl = eq ? n - kl - 1 : 0;
	const char *v = eq ? eq + 1 : "";

	if (!eq)
		return berth_error_set(BERTH_EINVALID, "%s %s: expected key=value, not '%.*s'",
				       flag, c->text, (int)n, kv);
	if (kl == 4 && strncmp(kv, "type", 4) == 0) {
		*typed = 1;
		if (vl == 8 && strncmp(v, "registry", 8) == 0)
			c->type = CACHE_REGISTRY;
		else if (vl == 5 && strncmp(v, "local", 5) == 0)
			c->type = CACHE_LOCAL;
		else if (vl == 6 && strncmp(v, "inline", 6) == 0)
			c->type = CACHE_INLINE;
		else
			return berth_error_set(
				BERTH_EINVALID,
				"%s %s: unknown type '%.*s' (registry, local, inline)", flag,
				c->text, (int)vl, v);
		return 0;
	}
	if (kl == 3 && strncmp(kv, "ref", 3) == 0)
		return set_str(&c->ref, v, vl);
	if ((kl == 4 && strncmp(kv, "dest", 4) == 0) || (kl == 3 && strncmp(kv, "src", 3) == 0))
		return set_str(&c->dir, v, vl);
	if (kl == 3 && strncmp(kv, "tag", 3) == 0)
		return set_str(&c->tag, v, vl);
	if (kl == 4 && strncmp(kv, "mode", 4) == 0) {
		if ((vl == 3 && strncmp(v, "max", 3) == 0) ||
		    (vl == 3 && strncmp(v, "min", 3) == 0)) {
			c->max = v[1] == 'a';
			return 0;
		}
		return berth_error_set(BERTH_EINVALID, "%s %s: mode must be min or max", flag,
				       c->text);
	}
	/* buildx's exporter attributes that change nothing here */
	if ((kl == 14 && strncmp(kv, "oci-mediatypes", 14) == 0) ||
	    (kl == 11 && strncmp(kv, "compression", 11) == 0) ||
	    (kl == 17 && strncmp(kv, "compression-level", 17) == 0) ||
	    (kl == 17 && strncmp(kv, "force-compression", 17) == 0) ||
	    (kl == 14 && strncmp(kv, "image-manifest", 14) == 0) ||
	    (kl == 12 && strncmp(kv, "ignore-error", 12) == 0))
		return 0;
	return berth_error_set(BERTH_EINVALID, "%s %s: unknown key '%.*s'", flag, c->text, (int)kl,
			       kv);
}

/* Parse a --cache-to (to) or --cache-from value. */
static int spec_parse(cache_spec *c, const char *s, int to)
{
	const char *flag = to ? "--cache-to" : "--cache-from";
	int rc = 0, typed = 0;

	memset(c, 0, sizeof(*c));
	if (strlen(s) > BUILD_CACHE_SPEC_MAX)
		return berth_error_set(BERTH_EINVALID, "%s: value longer than %d bytes", flag,
				       BUILD_CACHE_SPEC_MAX);
	if (!(c->text = strdup(s)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (!to && *s && !strchr(s, '=')) { /* --cache-from REF: an image or cache artifact */
		c->type = CACHE_REGISTRY;
		c->plain = 1;
		return set_str(&c->ref, s, strlen(s));
	}
	for (const char *p = s; rc == 0 && *p;) {
		size_t n = strcspn(p, ",");

		rc = spec_kv(c, flag, p, n, &typed);
		p += n + (p[n] == ',');
	}
	if (rc == 0 && !typed)
		rc = berth_error_set(BERTH_EINVALID, "%s %s: missing type=", flag, s);
	if (rc == 0 && c->type == CACHE_REGISTRY && (!c->ref || !*c->ref))
		rc = berth_error_set(BERTH_EINVALID, "%s %s: type=registry needs ref=", flag, s);
	if (rc == 0 && c->type == CACHE_LOCAL && (!c->dir || !*c->dir))
		rc = berth_error_set(BERTH_EINVALID, "%s %s: type=local needs %s=", flag, s,
				     to ? "dest" : "src");
	if (rc == 0 && c->type == CACHE_INLINE && !to)
		rc = berth_error_set(BERTH_EINVALID,
				     "%s %s: an inline cache is read from an image: "
				     "--cache-from REF or type=registry,ref=REF",
				     flag, s);
	if (rc == 0 && c->type == CACHE_INLINE && c->max)
		rc = berth_error_set(
			BERTH_EINVALID,
			"%s %s: an inline cache holds the image's own layers: mode=min", flag, s);
	if (rc == 0 && c->type == CACHE_LOCAL && !c->tag)
		rc = set_str(&c->tag, "latest", 6);
	return rc;
}

/* ---- where a spec lives: an image name for the transport ---- */

/*
 * The image name of a spec: oci:DIR:TAG, or docker://REF rewritten by
 * registries.conf (pull: endpoint `which`; push: the location, never a
 * mirror). BERTH_ENOTFOUND when there is no such endpoint.
 */
static int spec_name(build_solver *sv, const cache_spec *c, int push, size_t which,
		     berth_image_name **out, berth_transport_options *to)
{
	berth_registry_endpoint *ep = NULL;
	berth_buf b = BERTH_BUF_INIT(0);
	size_t nep = 0, k = 0;
	char *ref = NULL;
	int rc;

	*out = NULL;
	if (sv->o->registry)
		*to = *sv->o->registry;
	else
		berth_transport_options_init(to);
	if (c->type == CACHE_LOCAL) {
		if (which > 0)
			return BERTH_ENOTFOUND;
		if ((rc = berth_buf_printf(&b, "oci:%s:%s", c->dir, c->tag)) == 0)
			rc = berth_image_name_parse(out, b.ptr);
		berth_buf_dispose(&b);
		return rc;
	}
	if ((rc = berth_build__endpoints(sv, c->ref, &ref, &ep, &nep)) < 0)
		goto done;
	rc = BERTH_ENOTFOUND;
	for (size_t i = 0; i < nep; i++) {
		if (push && ep[i].mirror)
			continue;
		if (k++ != which)
			continue;
		if (ep[i].insecure)
			to->tls_verify = 0;
		berth_buf_reset(&b);
		if ((rc = berth_buf_printf(&b, "docker://%s", ep[i].ref)) == 0)
			rc = berth_image_name_parse(out, b.ptr);
		break;
	}
done:
	berth_registries_endpoints_free(ep, nep);
	berth_buf_dispose(&b);
	free(ref);
	return rc;
}

/* ---- reading a cache ---- */

static int read_stream(berth_stream *st, berth_buf *out, size_t max)
{
	char buf[65536];
	long n;

	while ((n = berth_stream_read(st, buf, sizeof(buf))) > 0) {
		if (out->len + (size_t)n > max)
			return berth_error_set(BERTH_ETOOBIG, "larger than %zu bytes", max);
		if (berth_buf_put(out, buf, (size_t)n) < 0)
			return berth_error_set(BERTH_ERROR, "out of memory");
	}
	return n < 0 ? (int)n : 0;
}

/* A blob into memory, its digest checked. */
static int fetch_doc(berth_source *src, const berth_descriptor *d, berth_buf *out)
{
	berth_stream *st = NULL;
	berth_digest got;
	int rc, rc2;

	if (d->size < 0 || (size_t)d->size > BUILD_CACHE_DOC_MAX)
		return berth_error_set(BERTH_ETOOBIG, "cache document of %lld bytes",
				       (long long)d->size);
	if ((rc = berth_source_blob(src, d, &st)) < 0)
		return rc;
	rc = read_stream(st, out, BUILD_CACHE_DOC_MAX);
	rc2 = berth_stream_close(st);
	if (rc == 0)
		rc = rc2;
	if (rc == 0 && (rc = berth_digest_compute(&got, d->digest.algo, out->ptr, out->len)) == 0 &&
	    (strcmp(got.str, d->digest.str) != 0 || (int64_t)out->len != d->size))
		rc = berth_error_set(BERTH_EDIGEST, "blob %s does not match its digest",
				     d->digest.str);
	return rc;
}

/* One record's shape: a config object and layer descriptors (what state_load reads). */
static int record_valid(const char *key, json_t *st)
{
	berth_digest d;
	json_t *layers = json_object_get(st, "layers"), *e;
	size_t i;

	if (berth_digest_parse(&d, key, strlen(key)) < 0 || !json_is_object(st) ||
	    !json_is_object(json_object_get(st, "config")) || !json_is_array(layers))
		return 0;
	json_array_foreach(layers, i, e)
	{
		const char *mt = json_string_value(json_object_get(e, "mediaType"));
		const char *dg = json_string_value(json_object_get(e, "digest"));
		const char *id = json_string_value(json_object_get(e, "diffID"));
		json_t *sz = json_object_get(e, "size");

		if (!mt || strlen(mt) >= 128 || !dg || berth_digest_parse(&d, dg, strlen(dg)) < 0 ||
		    !id || berth_digest_parse(&d, id, strlen(id)) < 0 || !json_is_integer(sz) ||
		    json_integer_value(sz) < 0)
			return 0;
	}
	return 1;
}

/* The records of a document ({"version":1,"records":{...}}) into *out; BERTH_EINVALID if corrupt.
 */
static int records_check(json_t *doc, const char *what, json_t **out)
{
	json_t *recs = json_object_get(doc, "records"), *st;
	json_t *v = json_object_get(doc, "version");
	const char *key;

	if (!json_is_object(doc) || !json_is_integer(v) || json_integer_value(v) != 1 ||
	    !json_is_object(recs) || json_object_size(recs) > BUILD_CACHE_RECORDS_MAX)
		return berth_error_set(BERTH_EINVALID, "%s: corrupt cache artifact", what);
	json_object_foreach(recs, key, st)
	{
		if (!record_valid(key, st))
			return berth_error_set(BERTH_EINVALID,
					       "%s: corrupt cache artifact (record %.80s)", what,
					       key);
	}
	*out = json_incref(recs);
	return 0;
}

int berth_build__cache_records_parse(const void *data, size_t len, const char *what, json_t **out)
{
	json_error_t je;
	json_t *doc;
	int rc;

	*out = NULL;
	if (len > BUILD_CACHE_DOC_MAX)
		return berth_error_set(BERTH_EINVALID, "%s: corrupt cache artifact (too large)",
				       what);
	if (!(doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je)))
		return berth_error_set(BERTH_EINVALID, "%s: corrupt cache artifact (%s)", what,
				       je.text);
	rc = records_check(doc, what, out);
	json_decref(doc);
	return rc;
}

static int records_take(cache_source *cs, json_t *doc)
{
	char what[BUILD_CACHE_SPEC_MAX + 32];

	snprintf(what, sizeof(what), "--cache-from %s", cs->spec.text);
	return records_check(doc, what, &cs->records);
}

static int parse_doc(cache_source *cs, const berth_buf *b, json_t **out)
{
	json_error_t je;

	*out = json_loadb(b->ptr, b->len, JSON_REJECT_DUPLICATES, &je);
	if (!*out)
		return berth_error_set(BERTH_EINVALID,
				       "--cache-from %s: corrupt cache artifact (%s)",
				       cs->spec.text, je.text);
	return 0;
}

/*
 * The top manifest of a source, an index resolved for the build's platform.
 * Errors here are "unreachable" (the build goes on).
 */
static int top_manifest(build_solver *sv, berth_source *src, berth_manifest **out)
{
	berth_buf body = BERTH_BUF_INIT(0);
	char mt[256];
	const berth_descriptor *pick;
	berth_digest d;
	int rc;

	*out = NULL;
	if ((rc = berth_source_manifest(src, NULL, &body, mt, sizeof(mt), NULL)) < 0 ||
	    (rc = berth_manifest_parse(out, body.ptr, body.len, mt)) < 0)
		goto done;
	if ((*out)->kind == BERTH_OCI_INDEX) {
		if ((rc = berth_copy_pick_platform(&pick, *out, sv->o->platform)) < 0)
			goto done;
		d = pick->digest;
		berth_manifest_free(*out);
		*out = NULL;
		berth_buf_reset(&body);
		if ((rc = berth_source_manifest(src, &d, &body, mt, sizeof(mt), NULL)) < 0 ||
		    (rc = berth_manifest_parse(out, body.ptr, body.len, mt)) < 0)
			goto done;
	}
done:
	berth_buf_dispose(&body);
	if (rc < 0) {
		berth_manifest_free(*out);
		*out = NULL;
	}
	return rc;
}

/*
 * Read one source's records. *reach = 0 when it cannot be reached (the
 * caller warns and goes on); a corrupt cache returns BERTH_EINVALID.
 */
static int source_read(build_solver *sv, cache_source *cs, int *reach)
{
	berth_manifest *m = NULL;
	berth_buf doc = BERTH_BUF_INIT(0);
	json_t *j = NULL;
	int rc = BERTH_ENOTFOUND;

	*reach = 0;
	for (size_t w = 0; rc < 0; w++) {
		berth_transport_options to;
		berth_image_name *n = NULL;

		if ((rc = spec_name(sv, &cs->spec, 0, w, &n, &to)) == BERTH_ENOTFOUND && w > 0)
			break;
		if (rc == 0 && (rc = berth_source_open(&cs->src, n, &to)) == 0 &&
		    (rc = top_manifest(sv, cs->src, &m)) < 0) {
			berth_source_free(cs->src);
			cs->src = NULL;
		}
		berth_image_name_free(n);
		if (rc < 0 && (rc == BERTH_EINVALID || w >= 16))
			break;
	}
	if (rc < 0)
		goto done;
	*reach = 1; /* from here on a failure is the cache's, not the way to it */
	if (m->artifact_type && strcmp(m->artifact_type, BUILD_CACHE_ARTIFACT) == 0) {
		if (m->nlayers < 1 || !m->layers[0].media_type ||
		    strcmp(m->layers[0].media_type, BUILD_CACHE_RECORDS_MT) != 0) {
			rc = berth_error_set(BERTH_EINVALID,
					     "--cache-from %s: corrupt cache artifact (no records)",
					     cs->spec.text);
			goto done;
		}
		if ((rc = fetch_doc(cs->src, &m->layers[0], &doc)) < 0)
			goto done;
		if ((rc = parse_doc(cs, &doc, &j)) == 0)
			rc = records_take(cs, j);
		goto done;
	}
	if ((rc = fetch_doc(cs->src, &m->config, &doc)) < 0)
		goto done;
	if ((rc = parse_doc(cs, &doc, &j)) < 0)
		goto done;
	if (!json_object_get(j, BUILD_CACHE_INLINE_FIELD)) {
		*reach = 0;
		rc = berth_error_set(BERTH_ENOTFOUND, "%s is an image without an inline cache",
				     cs->spec.text);
		goto done;
	}
	rc = records_take(cs, json_object_get(j, BUILD_CACHE_INLINE_FIELD));
done:
	json_decref(j);
	berth_manifest_free(m);
	berth_buf_dispose(&doc);
	return rc;
}

int berth_build__cache_begin(build_solver *sv)
{
	build_cache *c;
	int rc = 0;

	if (!sv->o->ncache_to && !sv->o->ncache_from)
		return 0;
	if (sv->o->ncache_from > BUILD_CACHE_SOURCES_MAX ||
	    sv->o->ncache_to > BUILD_CACHE_SOURCES_MAX)
		return berth_error_set(BERTH_EINVALID, "more than %d cache sources",
				       BUILD_CACHE_SOURCES_MAX);
	if (!(c = calloc(1, sizeof(*c))) ||
	    (sv->o->ncache_to && !(c->to = calloc(sv->o->ncache_to, sizeof(*c->to)))) ||
	    (sv->o->ncache_from && !(c->from = calloc(sv->o->ncache_from, sizeof(*c->from))))) {
		if (c) {
			free(c->to);
			free(c);
		}
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	pthread_mutex_init(&c->mu, NULL);
	sv->cache = c;
	for (size_t i = 0; rc == 0 && i < sv->o->ncache_to; i++, c->nto++)
		rc = spec_parse(&c->to[i], sv->o->cache_to[i], 1);
	for (size_t i = 0; rc == 0 && i < sv->o->ncache_from; i++, c->nfrom++)
		rc = spec_parse(&c->from[i].spec, sv->o->cache_from[i], 0);
	for (size_t i = 0; rc == 0 && i < c->nfrom; i++) {
		int reach;

		if ((rc = source_read(sv, &c->from[i], &reach)) == 0) {
			berth_build__log(sv, "#  cache from %s: %zu steps", c->from[i].spec.text,
					 json_object_size(c->from[i].records));
			continue;
		}
		if (reach || rc == BERTH_EINVALID) {
			if (!strstr(berth_error_last(), "--cache-from"))
				rc = berth_error_set(rc, "--cache-from %s: %s",
						     c->from[i].spec.text, berth_error_last());
			break;
		}
		/* As buildx: a cache that cannot be read is no reason not to build. */
		berth_build__log(sv, "#  warning: --cache-from %s: %s: building without it",
				 c->from[i].spec.text, berth_error_last());
		berth_error_clear();
		berth_source_free(c->from[i].src);
		c->from[i].src = NULL;
		rc = 0;
	}
	return rc;
}

void berth_build__cache_end(build_solver *sv)
{
	build_cache *c = sv->cache;

	if (!c)
		return;
	for (size_t i = 0; i < c->nto; i++)
		spec_dispose(&c->to[i]);
	for (size_t i = 0; i < c->nfrom; i++) {
		spec_dispose(&c->from[i].spec);
		json_decref(c->from[i].records);
		berth_source_free(c->from[i].src);
	}
	pthread_mutex_destroy(&c->mu);
	free(c->to);
	free(c->from);
	free(c->notes);
	free(c);
	sv->cache = NULL;
}

void berth_build__cache_note(build_solver *sv, size_t stage, const berth_digest *key)
{
	build_cache *c = sv->cache;

	if (!c || !c->nto)
		return;
	pthread_mutex_lock(&c->mu);
	if (c->nnotes == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		cache_note *n = realloc(c->notes, cap * sizeof(*n));

		if (!n) { /* the export then misses this step: it is rebuilt next time */
			pthread_mutex_unlock(&c->mu);
			return;
		}
		c->notes = n;
		c->cap = cap;
	}
	c->notes[c->nnotes].stage = stage;
	c->notes[c->nnotes++].key = *key;
	pthread_mutex_unlock(&c->mu);
}

/* ---- a hit from an imported record ---- */

static int have_blob(build_solver *sv, const berth_digest *d)
{
	char p[PATH_MAX + 160];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", sv->store->blobs, berth_digest_hex(d));
	return stat(p, &st) == 0;
}

/* Pull one layer blob from the source into the store, its digest and size checked. */
static int pull_blob(build_solver *sv, cache_source *cs, const berth_descriptor *d)
{
	berth_build__blob_writer w;
	berth_stream *st = NULL;
	berth_hasher *h = NULL;
	berth_digest got;
	char buf[65536];
	int64_t total = 0;
	long n;
	int rc, rc2;

	if ((rc = berth_source_blob(cs->src, d, &st)) < 0)
		return rc;
	if ((rc = berth_hasher_new(&h, d->digest.algo)) < 0 ||
	    (rc = berth_build__blob_begin(&w, sv->store)) < 0) {
		berth_stream_close(st);
		berth_hasher_free(h);
		return rc;
	}
	while ((n = berth_stream_read(st, buf, sizeof(buf))) > 0 && total + n <= d->size) {
		total += n;
		if ((rc = berth_hasher_update(h, buf, (size_t)n)) < 0 ||
		    (rc = berth_build__blob_write(&w, buf, (size_t)n)) < 0)
			break;
	}
	if (rc == 0 && n < 0)
		rc = (int)n;
	rc2 = berth_stream_close(st);
	if (rc == 0)
		rc = rc2;
	if (rc == 0 && (n > 0 || total != d->size))
		rc = berth_error_set(BERTH_ESIZE, "cache layer %s: not %lld bytes", d->digest.str,
				     (long long)d->size);
	if (rc == 0 && (rc = berth_hasher_final(h, &got)) == 0 &&
	    strcmp(got.str, d->digest.str) != 0)
		rc = berth_error_set(BERTH_EDIGEST, "cache layer %s does not match its digest",
				     d->digest.str);
	berth_hasher_free(h);
	if (rc < 0) {
		berth_build__blob_abort(&w);
		return rc;
	}
	return berth_build__blob_commit(&w, &d->digest);
}

int berth_build__cache_import(build_solver *sv, const berth_digest *key, berth_build_image *img,
			      const char *rec)
{
	build_cache *c = sv->cache;
	cache_source *cs = NULL;
	json_t *st = NULL, *e;
	char *txt;
	size_t i;
	int rc = 0;

	for (size_t k = 0; c && !st && k < c->nfrom; k++)
		if (c->from[k].records && (st = json_object_get(c->from[k].records, key->str)))
			cs = &c->from[k];
	if (!st)
		return BERTH_ENOTFOUND;
	pthread_mutex_lock(&c->mu);
	json_array_foreach(json_object_get(st, "layers"), i, e)
	{
		berth_descriptor d = {0};
		const char *dg = json_string_value(json_object_get(e, "digest"));

		if (berth_digest_parse(&d.digest, dg, strlen(dg)) < 0)
			rc = berth_error_set(BERTH_EINVALID, "corrupt cache record");
		if (rc < 0 || have_blob(sv, &d.digest))
			continue;
		d.media_type = (char *)json_string_value(json_object_get(e, "mediaType"));
		d.size = json_integer_value(json_object_get(e, "size"));
		if ((rc = pull_blob(sv, cs, &d)) < 0)
			break;
	}
	txt = rc == 0 ? json_dumps(st, JSON_COMPACT) : NULL; /* one thread at a time in jansson */
	pthread_mutex_unlock(&c->mu);
	if (rc < 0)
		return berth_error_set(rc, "--cache-from %s: %s", cs->spec.text,
				       berth_error_last());
	if (!txt)
		return berth_error_set(BERTH_ERROR, "out of memory");
	rc = berth_fs_write_atomic(rec, txt, strlen(txt));
	free(txt);
	return rc < 0 ? rc : berth_build__state_load(img, rec);
}

/* ---- writing a cache ---- */

/* Is stage `stage` one whose steps make the target's layers (the target and its FROM chain)? */
static int in_min(build_solver *sv, size_t stage)
{
	size_t s = sv->plan->target;

	for (size_t hops = 0; hops <= sv->plan->nstages; hops++) {
		if (s == stage)
			return 1;
		if (sv->plan->stages[s].base_stage == BERTH_DF_NO_STAGE)
			return 0;
		s = sv->plan->stages[s].base_stage;
	}
	return 0;
}

/* The records document of the steps `max` asks for (read from the local cache). */
static int records_doc(build_solver *sv, int max, json_t **out)
{
	build_cache *c = sv->cache;
	json_t *doc = json_pack("{s:i, s:{}}", "version", 1, "records"), *recs;
	int rc = 0;

	*out = NULL;
	if (!doc)
		return berth_error_set(BERTH_ERROR, "out of memory");
	recs = json_object_get(doc, "records");
	for (size_t i = 0; rc == 0 && i < c->nnotes; i++) {
		char path[PATH_MAX + 100];
		json_t *st;
		json_error_t je;

		if (!max && !in_min(sv, c->notes[i].stage))
			continue;
		berth_build__record_path(sv, &c->notes[i].key, path, sizeof(path));
		if (!(st = json_load_file(path, JSON_REJECT_DUPLICATES, &je)))
			continue; /* ARG: no record */
		if (json_object_set_new(recs, c->notes[i].key.str, st) < 0)
			rc = berth_error_set(BERTH_ERROR, "out of memory");
	}
	if (rc < 0) {
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return 0;
}

int berth_build__cache_inline(build_solver *sv, berth_build_image *img)
{
	build_cache *c = sv->cache;
	json_t *doc = NULL;
	int rc;

	for (size_t i = 0; c && i < c->nto; i++) {
		if (c->to[i].type != CACHE_INLINE)
			continue;
		if ((rc = records_doc(sv, 0, &doc)) < 0)
			return rc;
		if (json_object_set_new(img->config, BUILD_CACHE_INLINE_FIELD, doc) < 0)
			return berth_error_set(BERTH_ERROR, "out of memory");
		return 0;
	}
	return 0;
}

/* Add a descriptor of a layer (unless already there) to the manifest's layers. */
static int add_layer(json_t *layers, json_t *e)
{
	json_t *x;
	size_t i;
	const char *dg = json_string_value(json_object_get(e, "digest"));

	json_array_foreach(layers, i, x) if (strcmp(json_string_value(json_object_get(x, "digest")),
						    dg) == 0) return 0;
	x = json_pack("{s:O, s:O, s:O}", "mediaType", json_object_get(e, "mediaType"), "digest",
		      json_object_get(e, "digest"), "size", json_object_get(e, "size"));
	return x && json_array_append_new(layers, x) == 0 ? 0 : BERTH_ERROR;
}

/* The artifact manifest over the records document `doc` (already a blob: rd, rlen). */
static json_t *artifact_manifest(json_t *doc, const berth_digest *rd, size_t rlen,
				 const berth_digest *empty)
{
	json_t *m, *layers, *st, *e;
	const char *key;
	size_t i;

	m = json_pack("{s:i, s:s, s:s, s:{s:s, s:s, s:i}, s:[{s:s, s:s, s:I}]}", "schemaVersion", 2,
		      "mediaType", BERTH_MT_OCI_MANIFEST, "artifactType", BUILD_CACHE_ARTIFACT,
		      "config", "mediaType", BUILD_CACHE_EMPTY_MT, "digest", empty->str, "size", 2,
		      "layers", "mediaType", BUILD_CACHE_RECORDS_MT, "digest", rd->str, "size",
		      (json_int_t)rlen);
	if (!m)
		return NULL;
	layers = json_object_get(m, "layers");
	json_object_foreach(json_object_get(doc, "records"), key, st) json_array_foreach(
		json_object_get(st, "layers"), i, e) if (add_layer(layers, e) < 0) goto oom;
	return m;
oom:
	json_decref(m);
	return NULL;
}

/* Copy the store's blob d into dest unless it holds it. */
static int push_blob(berth_source *store, berth_dest *dst, json_t *e)
{
	berth_descriptor d = {0};
	berth_stream *st = NULL;
	const char *dg = json_string_value(json_object_get(e, "digest"));
	int rc;

	d.media_type = (char *)json_string_value(json_object_get(e, "mediaType"));
	d.size = json_integer_value(json_object_get(e, "size"));
	if ((rc = berth_digest_parse(&d.digest, dg, strlen(dg))) < 0)
		return rc;
	if (berth_dest_has_blob(dst, &d) == 0)
		return 0;
	berth_error_clear();
	if ((rc = berth_source_blob(store, &d, &st)) < 0)
		return rc;
	rc = berth_dest_put_blob(dst, &d, st);
	berth_stream_close(st);
	return rc;
}

/* One --cache-to of type registry or local: the artifact, pushed. */
static int export_one(build_solver *sv, const cache_spec *cs, const char *tag)
{
	berth_buf spec = BERTH_BUF_INIT(0);
	berth_image_name *n = NULL, *sn = NULL;
	berth_transport_options to, so;
	berth_source *store = NULL;
	berth_dest *dst = NULL;
	berth_digest rd, ed, md;
	json_t *doc = NULL, *m = NULL, *e;
	char *txt = NULL, *man = NULL;
	size_t i;
	int rc;

	if ((rc = records_doc(sv, cs->max, &doc)) < 0)
		goto done;
	if (!(txt = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if ((rc = berth_build__put_blob(sv->store, txt, strlen(txt), &rd)) < 0 ||
	    (rc = berth_build__put_blob(sv->store, "{}", 2, &ed)) < 0)
		goto done;
	if (!(m = artifact_manifest(doc, &rd, strlen(txt), &ed)) ||
	    !(man = json_dumps(m, JSON_COMPACT))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	berth_transport_options_init(&so);
	if ((rc = berth_buf_printf(&spec, "oci:%s:%s", sv->store->content, tag)) < 0 ||
	    (rc = berth_image_name_parse(&sn, spec.ptr)) < 0 ||
	    (rc = berth_source_open(&store, sn, &so)) < 0)
		goto done;
	if ((rc = spec_name(sv, cs, 1, 0, &n, &to)) < 0 || (rc = berth_dest_open(&dst, n, &to)) < 0)
		goto done;
	{
		json_t *cfg = json_pack("{s:s, s:s, s:i}", "mediaType", BUILD_CACHE_EMPTY_MT,
					"digest", ed.str, "size", 2);

		rc = cfg ? push_blob(store, dst, cfg) : BERTH_ERROR;
		json_decref(cfg);
	}
	json_array_foreach(json_object_get(m, "layers"), i, e) if (rc == 0) rc =
		push_blob(store, dst, e);
	if (rc < 0 || (rc = berth_digest_compute(&md, BERTH_DIGEST_SHA256, man, strlen(man))) < 0 ||
	    (rc = berth_dest_put_manifest(dst, man, strlen(man), BERTH_MT_OCI_MANIFEST, &md, 1)) <
		    0 ||
	    (rc = berth_dest_commit(dst)) < 0)
		goto done;
	berth_build__log(sv, "#  cache to %s: %zu steps, %zu blobs", cs->text,
			 json_object_size(json_object_get(doc, "records")),
			 json_array_size(json_object_get(m, "layers")) - 1);
done:
	if (rc < 0)
		rc = berth_error_set(rc, "--cache-to %s: %s", cs->text, berth_error_last());
	berth_dest_free(dst);
	berth_source_free(store);
	berth_image_name_free(n);
	berth_image_name_free(sn);
	berth_buf_dispose(&spec);
	json_decref(doc);
	json_decref(m);
	free(txt);
	free(man);
	return rc;
}

int berth_build__cache_export(build_solver *sv, const char *tag)
{
	build_cache *c = sv->cache;
	int rc = 0;

	for (size_t i = 0; c && rc == 0 && i < c->nto; i++)
		if (c->to[i].type != CACHE_INLINE)
			rc = export_one(sv, &c->to[i], tag);
	return rc;
}
