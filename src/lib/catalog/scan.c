/*
 * scan.c - berth_catalog_scan: open the image (any transport, or a rootfs),
 * pick the platform, read the config's diff IDs, take what the cache knows,
 * read the other layers in parallel (each streamed once through libarchive:
 * the compressed bytes are hashed as they pass and must match the layer's
 * digest), store the new layers in the cache, and merge.
 */
#include "internal.h"

#include "berth/layer.h"
#include "util/buf.h"

#include <archive.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MANIFEST_MAX (4 * 1024 * 1024)
#define CONFIG_MAX (8 * 1024 * 1024)
#define LAYERS_MAX 1024
#define READ_CHUNK (256 * 1024)

void berth_catalog_options_init(berth_catalog_options *o)
{
	memset(o, 0, sizeof(*o));
}

char *berth_catalog_cache_path(void)
{
	const char *root = getenv("BERTH_ROOT"), *xdg = getenv("XDG_DATA_HOME"),
		   *home = getenv("HOME");
	char *s = NULL;

	if (root && *root) {
		if (asprintf(&s, "%s/catalog.db", root) < 0)
			return NULL;
	} else if (xdg && *xdg) {
		if (asprintf(&s, "%s/berth/catalog.db", xdg) < 0)
			return NULL;
	} else if (home && *home) {
		if (asprintf(&s, "%s/.local/share/berth/catalog.db", home) < 0)
			return NULL;
	}
	return s;
}

/* ---- reading one layer ---- */

typedef struct job {
	const berth_descriptor *desc;
	const char *diff;
	cat_layer *layer; /* result */
	int ok;		  /* read to its end and verified: cacheable */
} job;

typedef struct pool {
	berth_source *src;
	job *jobs;
	size_t n, next;
	pthread_mutex_t mu;
	const berth_catalog_options *o;
} pool;

typedef struct feed {
	berth_stream *s;
	berth_hasher *h;
	unsigned char buf[READ_CHUNK];
	int err;
} feed;

static la_ssize_t feed_read(struct archive *a, void *ctx, const void **out)
{
	feed *f = ctx;
	long n = berth_stream_read(f->s, f->buf, sizeof(f->buf));

	if (n < 0) {
		f->err = (int)n;
		archive_set_error(a, EIO, "%s", berth_error_last());
		return -1;
	}
	if (n > 0 && berth_hasher_update(f->h, f->buf, (size_t)n) < 0) {
		f->err = BERTH_ERROR;
		return -1;
	}
	*out = f->buf;
	return n;
}

static void progress(pool *p, const char *what, uint64_t done, uint64_t total, int fin)
{
	if (!p->o->progress)
		return;
	pthread_mutex_lock(&p->mu);
	p->o->progress(p->o->progress_ctx, what, done, total, fin);
	pthread_mutex_unlock(&p->mu);
}

typedef struct pctx {
	pool *p;
	uint64_t total;
} pctx;

static void walk_progress(void *ctx, const char *what, uint64_t done, uint64_t total, int fin)
{
	pctx *c = ctx;

	progress(c->p, what, done, c->total, fin);
}

static int read_layer(pool *p, job *j)
{
	struct archive *a = NULL;
	feed *f = calloc(1, sizeof(*f));
	berth_digest got;
	pctx pc = {p, j->desc->size > 0 ? (uint64_t)j->desc->size : 0};
	int rc = 0, walked;

	if (!f)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((rc = berth_hasher_new(&f->h, j->desc->digest.algo)) < 0 ||
	    (rc = berth_source_blob(p->src, j->desc, &f->s)) < 0)
		goto done;
	a = archive_read_new();
	if (!a) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	/* gzip, zstd or none, whatever the media type says: the magic bytes decide */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open(a, f, NULL, feed_read, NULL) != ARCHIVE_OK) {
		rc = berth_error_set(BERTH_EINVALID, "layer %s: %s", j->desc->digest.str,
				     archive_error_string(a));
		goto done;
	}
	walked = berth_catalog__walk_tar(j->layer, a, j->diff, walk_progress, &pc);
	if (walked < 0) {
		rc = walked;
		goto done;
	}
	/* drain what follows the tar's end blocks so the digest covers the whole blob */
	while (f->err == 0) {
		const void *dummy;

		if (feed_read(a, f, &dummy) <= 0)
			break;
	}
	if (f->err < 0) {
		rc = f->err;
		goto done;
	}
	if ((rc = berth_hasher_final(f->h, &got)) < 0)
		goto done;
	if (!berth_digest_equal(&got, &j->desc->digest))
		rc = berth_error_set(BERTH_EDIGEST, "layer %s: the source sent other bytes (%s)",
				     j->desc->digest.str, got.str);
done:
	archive_read_free(a);
	if (f->s) {
		int c = berth_stream_close(f->s);

		if (rc == 0 && c < 0)
			rc = c;
	}
	berth_hasher_free(f->h);
	free(f);
	return rc;
}

static void *worker(void *arg)
{
	pool *p = arg;

	for (;;) {
		job *j;

		pthread_mutex_lock(&p->mu);
		j = p->next < p->n ? &p->jobs[p->next++] : NULL;
		pthread_mutex_unlock(&p->mu);
		if (!j)
			return NULL;
		berth_error_clear();
		if (read_layer(p, j) < 0)
			berth_catalog__warn_in(j->layer->found, "layer %s (diff %s): %s",
					       j->desc->digest.str, j->diff, berth_error_last());
		else
			j->ok = 1;
		progress(p, j->diff, 0, 0, 1);
	}
}

static int run_pool(pool *p, int parallel)
{
	pthread_t tids[16];
	int started = 0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (parallel <= 0)
		parallel = cpus > 0 ? (int)cpus : 2;
	if (parallel > 8)
		parallel = 8;
	if ((size_t)parallel > p->n)
		parallel = (int)p->n;
	for (int i = 1; i < parallel; i++)
		if (pthread_create(&tids[started], NULL, worker, p) == 0)
			started++;
	worker(p);
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	return 0;
}

/* ---- the image ---- */

static int read_small_blob(berth_source *src, const berth_descriptor *d, berth_buf *out)
{
	berth_stream *s = NULL;
	berth_digest got;
	char chunk[16384];
	int rc = 0, crc;

	if ((rc = berth_source_blob(src, d, &s)) < 0)
		return rc;
	for (;;) {
		long n = berth_stream_read(s, chunk, sizeof(chunk));

		if (n <= 0) {
			rc = (int)n;
			break;
		}
		if (berth_buf_put(out, chunk, (size_t)n) < 0) {
			rc = berth_error_set(BERTH_ETOOBIG, "config %s is too large",
					     d->digest.str);
			break;
		}
	}
	crc = berth_stream_close(s);
	if (rc < 0 || crc < 0)
		return rc < 0 ? rc : crc;
	if (berth_digest_compute(&got, d->digest.algo, out->ptr, out->len) < 0)
		return -1;
	if (!berth_digest_equal(&got, &d->digest))
		return berth_error_set(BERTH_EDIGEST, "config %s: the source sent other bytes",
				       d->digest.str);
	return 0;
}

/* The image manifest for the platform: the top one, or an index's child. */
static int image_manifest(berth_source *src, const char *platform, berth_manifest **out,
			  berth_digest *digest)
{
	berth_buf body = BERTH_BUF_INIT(MANIFEST_MAX);
	berth_manifest *m = NULL;
	char mt[256];
	int rc;

	if ((rc = berth_source_manifest(src, NULL, &body, mt, sizeof(mt), digest)) < 0 ||
	    (rc = berth_manifest_parse(&m, body.ptr, body.len, mt)) < 0)
		goto done;
	if (m->kind == BERTH_OCI_INDEX) {
		const berth_descriptor *pick;
		berth_digest child;

		if ((rc = berth_copy_pick_platform(&pick, m, platform)) < 0)
			goto done;
		child = pick->digest;
		berth_manifest_free(m);
		m = NULL;
		berth_buf_reset(&body);
		if ((rc = berth_source_manifest(src, &child, &body, mt, sizeof(mt), digest)) < 0 ||
		    (rc = berth_manifest_parse(&m, body.ptr, body.len, mt)) < 0)
			goto done;
		if (m->kind != BERTH_OCI_IMAGE) {
			rc = berth_error_set(BERTH_EINVALID, "an index inside an index");
			goto done;
		}
	}
	*out = m;
	m = NULL;
done:
	berth_manifest_free(m);
	berth_buf_dispose(&body);
	return rc;
}

/* diff IDs (and architecture) from the config. */
static int config_layers(berth_source *src, const berth_manifest *m, berth_catalog *c)
{
	berth_buf cfg = BERTH_BUF_INIT(CONFIG_MAX);
	json_t *root = NULL, *ids, *v;
	size_t i;
	int rc;

	if ((rc = read_small_blob(src, &m->config, &cfg)) < 0)
		goto done;
	root = json_loadb(cfg.ptr, cfg.len, 0, NULL);
	ids = json_object_get(json_object_get(root, "rootfs"), "diff_ids");
	if (!json_is_array(ids) || json_array_size(ids) != m->nlayers || m->nlayers > LAYERS_MAX) {
		rc = berth_error_set(BERTH_EINVALID,
				     "image config: rootfs.diff_ids does not list the %zu layers",
				     m->nlayers);
		goto done;
	}
	c->layers = calloc(m->nlayers ? m->nlayers : 1, sizeof(char *));
	if (!c->layers) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	json_array_foreach(ids, i, v)
	{
		berth_digest d;
		const char *s = json_string_value(v);

		if (!s || berth_digest_parse(&d, s, strlen(s)) < 0) {
			rc = berth_error_set(BERTH_EINVALID, "image config: bad diff ID");
			goto done;
		}
		if (!(c->layers[i] = strdup(d.str))) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
		c->nlayers = i + 1;
	}
	if (json_is_string(json_object_get(root, "architecture")) &&
	    berth_catalog__set(&c->architecture,
			       json_string_value(json_object_get(root, "architecture"))) < 0)
		rc = berth_error_set(BERTH_ERROR, "out of memory");
done:
	json_decref(root);
	berth_buf_dispose(&cfg);
	return rc;
}

/* The base image the builder recorded in the manifest's annotations (P5), if any. */
static int base_annotations(const berth_manifest *m, berth_catalog *c)
{
	json_t *a = m->annotations ? json_loads(m->annotations, 0, NULL) : NULL;
	const char *name =
		json_string_value(json_object_get(a, "org.opencontainers.image.base.name"));
	const char *dig =
		json_string_value(json_object_get(a, "org.opencontainers.image.base.digest"));
	int rc = 0;

	if ((name && berth_catalog__set(&c->base_name, name) < 0) ||
	    (dig && berth_catalog__set(&c->base_digest, dig) < 0))
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	json_decref(a);
	return rc;
}

static int open_cache(const berth_catalog_options *o, cat_cache **out)
{
	char *path = NULL;
	int rc;

	*out = NULL;
	if (o->cache && !*o->cache)
		return 0;
	path = o->cache ? strdup(o->cache) : berth_catalog_cache_path();
	if (!path)
		return 0;
	rc = berth_catalog__cache_open(out, path);
	free(path);
	return rc;
}

static int scan_image(berth_catalog *c, const char *target, const berth_catalog_options *o)
{
	berth_image_name *name = NULL;
	berth_transport_options topts;
	berth_source *src = NULL;
	berth_manifest *m = NULL;
	berth_digest digest;
	cat_cache *cache = NULL;
	cat_layer **layers = NULL;
	pool p = {0};
	char *owned = NULL;
	int rc;

	if (!strstr(target, "://") && strncmp(target, "oci:", 4) != 0 &&
	    strncmp(target, "oci-archive:", 12) != 0 &&
	    strncmp(target, "docker-archive:", 15) != 0) {
		if (asprintf(&owned, "docker://%s", target) < 0)
			return berth_error_set(BERTH_ERROR, "out of memory");
		target = owned;
	}
	berth_transport_options_init(&topts);
	if ((rc = berth_image_name_parse(&name, target)) < 0 ||
	    (rc = berth_source_open(&src, name, o->transport ? o->transport : &topts)) < 0 ||
	    (rc = image_manifest(src, o->platform, &m, &digest)) < 0 ||
	    (rc = config_layers(src, m, c)) < 0 || (rc = base_annotations(m, c)) < 0)
		goto done;
	if ((rc = berth_catalog__set(&c->digest, digest.str)) < 0) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (open_cache(o, &cache) < 0) /* no cache is slower, not wrong */
		berth_catalog__warn_in(c, "catalog cache: %s", berth_error_last());
	layers = calloc(m->nlayers + 1, sizeof(*layers));
	p.jobs = calloc(m->nlayers + 1, sizeof(*p.jobs));
	if (!layers || !p.jobs) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < m->nlayers; i++) {
		if (cache &&
		    berth_catalog__cache_get(cache, c->layers[i], !o->no_files, &layers[i]) == 0) {
			c->layers_cached++;
			continue;
		}
		if (!(layers[i] = berth_catalog__layer_new())) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
		p.jobs[p.n++] = (job){&m->layers[i], c->layers[i], layers[i], 0};
	}
	p.src = src;
	p.o = o;
	pthread_mutex_init(&p.mu, NULL);
	run_pool(&p, o->parallel);
	pthread_mutex_destroy(&p.mu);
	for (size_t i = 0; cache && i < p.n; i++)
		if (p.jobs[i].ok &&
		    berth_catalog__cache_put(cache, p.jobs[i].diff, p.jobs[i].layer) < 0)
			berth_catalog__warn_in(c, "catalog cache: %s", berth_error_last());
	rc = berth_catalog__merge(c, layers, m->nlayers, o->scope);
done:
	for (size_t i = 0; layers && m && i < m->nlayers; i++)
		berth_catalog__layer_free(layers[i]);
	free(layers);
	free(p.jobs);
	berth_catalog__cache_close(cache);
	berth_manifest_free(m);
	berth_source_free(src);
	berth_image_name_free(name);
	free(owned);
	return rc;
}

static int scan_rootfs(berth_catalog *c, const char *path, const berth_catalog_options *o)
{
	cat_layer *l = berth_catalog__layer_new();
	int rc;

	if (!l)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (o->progress)
		o->progress(o->progress_ctx, "rootfs", 0, 0, 0);
	rc = berth_catalog__walk_dir(l, path);
	if (rc == 0)
		rc = berth_catalog__merge(c, &l, 1, o->scope);
	if (o->progress && rc == 0)
		o->progress(o->progress_ctx, "rootfs", 0, 0, 1);
	berth_catalog__layer_free(l);
	return rc;
}

int berth_catalog_scan(berth_catalog **out, const char *target, const berth_catalog_options *o)
{
	berth_catalog_options defaults;
	berth_catalog *c = berth_catalog_new();
	int rc;

	*out = NULL;
	if (!o) {
		berth_catalog_options_init(&defaults);
		o = &defaults;
	}
	if (!c || !(c->target = strdup(target))) {
		berth_catalog_free(c);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	if (strncmp(target, "rootfs:", 7) == 0)
		rc = scan_rootfs(c, target + 7, o);
	else
		rc = scan_image(c, target, o);
	if (rc < 0) {
		berth_catalog_free(c);
		return rc;
	}
	*out = c;
	return 0;
}
