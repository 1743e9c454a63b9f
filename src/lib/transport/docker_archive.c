/*
 * docker_archive.c - the docker-archive: transport, the `docker save` format
 * as containers/image (skopeo) reads and writes it:
 *
 *   manifest.json   [{"Config":"<hex>.json","RepoTags":["name:tag"],"Layers":["<hex>.tar"]}]
 *   repositories    {"name":{"tag":"<top legacy id>"}}
 *   <hex>.json      the image config
 *   <diffid>.tar    each layer, uncompressed
 *   <id>/{layer.tar -> ../<diffid>.tar, VERSION, json}   legacy v1 metadata
 *
 * Source: the archive is unpacked safely (oci_archive.c), large
 * uncompressed layers of an uncompressed archive left in place and read
 * there (berth_transport__tree_index), and the image is
 * presented exactly as skopeo presents it, so manifest digests agree: a
 * Docker schema2 manifest whose config is the config file (its digest and
 * size) and whose layers are the config's diff IDs with their uncompressed
 * sizes and media type ...rootfs.diff.tar.gzip (containers/image's constant,
 * whatever the file holds). A layer blob is therefore the layer's
 * uncompressed bytes: a file stream for a plain tar, a decompressing thread
 * (libarchive's raw reader: gzip, zstd, xz, bzip2) for a compressed one.
 *
 * Destination: blobs are staged in a private temporary directory,
 * decompressed on the way in (berth/layer.h: gzip by ISA-L, zstd) while both the
 * compressed bytes (checked against the descriptor) and the uncompressed
 * ones (the diff ID, which names the file) are hashed. Commit writes the tar
 * with skopeo's member names and contents, the legacy IDs computed as
 * containers/image computes them, into a temporary file renamed over FILE.
 */
#include "internal.h"

#include "berth/layer.h"
#include "util/array.h"
#include "util/fs.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1u << 20)
#define MT_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* ---- small helpers ---- */

/* Read all of fd (at most max bytes) into out; closes fd. */
static int read_fd_capped(int fd, size_t max, berth_buf *out, const char *what)
{
	char buf[65536];
	int rc = 0;

	out->max = max;
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = berth_error_set_errno("read %s", what);
			break;
		}
		if (r == 0)
			break;
		if (berth_buf_put(out, buf, (size_t)r) != 0) {
			rc = berth_error_set(BERTH_ETOOBIG, "%s is larger than %zu bytes", what,
					     max);
			break;
		}
	}
	close(fd);
	return rc;
}

static int is_compressed_magic(const unsigned char *b, size_t n)
{
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return 1; /* gzip */
	if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
		return 1; /* zstd */
	if (n >= 3 && b[0] == 'B' && b[1] == 'Z' && b[2] == 'h')
		return 1; /* bzip2 */
	if (n >= 6 && !memcmp(b,
			      "\xfd"
			      "7zXZ\0",
			      6))
		return 1; /* xz */
	return 0;
}

/*
 * Decompress everything readable from `fd` with libarchive's raw reader,
 * passing each chunk to `sink`. Used to size compressed layers and to feed
 * their streams.
 */
static int decompress_fd(int fd, int (*sink)(void *ctx, const void *p, size_t n), void *ctx,
			 uint64_t *total)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *chunk = malloc(CHUNK);
	int rc = 0;

	*total = 0;
	if (!a || !chunk) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		rc = berth_error_set(BERTH_EINVALID, "cannot decompress layer: %s",
				     archive_error_string(a));
		goto done;
	}
	for (;;) {
		la_ssize_t n = archive_read_data(a, chunk, CHUNK);

		if (n < 0) {
			rc = berth_error_set(BERTH_EINVALID, "decompressing a layer: %s",
					     archive_error_string(a));
			break;
		}
		if (n == 0)
			break;
		*total += (uint64_t)n;
		if (sink) {
			rc = sink(ctx, chunk, (size_t)n);
			if (rc)
				break;
		}
	}
done:
	if (a)
		archive_read_free(a);
	free(chunk);
	return rc;
}

/* ---- Go encoding/json compatibility (for byte-identical legacy metadata) ---- */

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* End of the JSON value at p (input already validated by jansson). */
static const char *skip_value(const char *p, const char *end)
{
	int depth = 0;

	do {
		p = skip_ws(p, end);
		if (p >= end)
			return end;
		if (*p == '"') {
			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\')
					p++;
			p++;
		} else if (*p == '{' || *p == '[') {
			depth++;
			p++;
		} else if (*p == '}' || *p == ']') {
			depth--;
			p++;
		} else if (*p == ',' || *p == ':') {
			p++;
		} else {
			while (p < end && !strchr(" \t\r\n,:]}", *p))
				p++;
		}
	} while (depth > 0 && p < end);
	return p;
}

/* Go's json.Compact with HTML escaping, as json.Marshal applies to a RawMessage. */
static int go_compact(berth_buf *out, const char *p, const char *end)
{
	int in_str = 0, rc = 0;

	for (; p < end && rc == 0; p++) {
		unsigned char c = (unsigned char)*p;

		if (in_str) {
			if (c == '\\' && p + 1 < end) {
				rc = berth_buf_put(out, p, 2);
				p++;
				continue;
			}
			if (c == '"')
				in_str = 0;
			if (c == '<' || c == '>' || c == '&')
				rc = berth_buf_printf(out, "\\u00%02x", c);
			else if (c == 0xe2 && p + 2 < end && (unsigned char)p[1] == 0x80 &&
				 ((unsigned char)p[2] == 0xa8 || (unsigned char)p[2] == 0xa9)) {
				rc = berth_buf_printf(out, "\\u202%c",
						      (unsigned char)p[2] == 0xa8 ? '8' : '9');
				p += 2;
			} else
				rc = berth_buf_put(out, p, 1);
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c == '"')
			in_str = 1;
		rc = berth_buf_put(out, p, 1);
	}
	return rc;
}

/* The raw text of top-level member `key` of JSON object text (last one wins), or NULL. */
static const char *raw_member(const char *json, size_t len, const char *key, const char **vend)
{
	const char *p = json, *end = json + len, *found = NULL;
	size_t klen = strlen(key);

	p = skip_ws(p, end);
	if (p >= end || *p != '{')
		return NULL;
	p++;
	for (;;) {
		const char *k, *kend, *v;

		p = skip_ws(p, end);
		if (p >= end || *p != '"')
			break;
		k = p + 1;
		kend = skip_value(p, end) - 1;
		p = skip_ws(kend + 1, end);
		if (p >= end || *p != ':')
			break;
		v = skip_ws(p + 1, end);
		p = skip_value(v, end);
		if ((size_t)(kend - k) == klen && !memcmp(k, key, klen)) {
			found = v;
			*vend = p;
		}
		p = skip_ws(p, end);
		if (p < end && *p == ',')
			p++;
	}
	return found;
}

/* ---- source ---- */

typedef struct da_layer {
	berth_digest diff;
	char *path; /* member name */
	int compressed;
	int64_t size; /* uncompressed size */
} da_layer;

typedef struct da_src {
	berth_transport__tree *tree;
	berth_buf manifest;
	berth_digest mdigest;
	berth_digest config;
	char *config_path;
	int64_t config_size;
	da_layer *layers; /* unique diff IDs */
	size_t nlayers;
} da_src;

typedef struct decomp_ctx {
	int fd;
} decomp_ctx;

static int write_sink(void *ctx, const void *p, size_t n)
{
	return berth_fs_write_all(*(int *)ctx, p, n);
}

static int decomp_produce(void *ctx, int write_fd)
{
	decomp_ctx *dc = ctx;
	uint64_t total;

	return decompress_fd(dc->fd, write_sink, &write_fd, &total);
}

static void decomp_free(void *ctx)
{
	decomp_ctx *dc = ctx;

	close(dc->fd);
	free(dc);
}

static int dsrc_manifest(berth_source *s, const berth_digest *d, berth_buf *body, char *media_type,
			 size_t media_type_len, berth_digest *digest_out)
{
	da_src *ds = s->impl;
	int rc;

	if (d && !berth_digest_equal(d, &ds->mdigest))
		return berth_error_set(BERTH_ENOTFOUND, "docker-archive: no manifest %s", d->str);
	rc = berth_buf_put(body, ds->manifest.ptr, ds->manifest.len);
	if (rc)
		return rc;
	if (media_type && media_type_len)
		snprintf(media_type, media_type_len, "%s", BERTH_MT_DOCKER_MANIFEST);
	if (digest_out)
		*digest_out = ds->mdigest;
	return 0;
}

static int dsrc_blob(berth_source *s, const berth_descriptor *desc, berth_stream **out)
{
	da_src *ds = s->impl;
	decomp_ctx *dc = NULL;
	int64_t size;
	int fd, rc;
	size_t i;

	if (berth_digest_equal(&desc->digest, &ds->config)) {
		rc = berth_transport__tree_open(ds->tree, ds->config_path, &fd, &size);
		if (rc)
			return rc;
		return berth_transport__stream_fd_range(out, fd, size);
	}
	for (i = 0; i < ds->nlayers; i++)
		if (berth_digest_equal(&desc->digest, &ds->layers[i].diff))
			break;
	if (i == ds->nlayers)
		return berth_error_set(BERTH_ENOTFOUND, "docker-archive: no blob %s",
				       desc->digest.str);
	rc = berth_transport__tree_open(ds->tree, ds->layers[i].path, &fd, &size);
	if (rc)
		return rc;
	if (!ds->layers[i].compressed)
		return berth_transport__stream_fd_range(out, fd, size);
	dc = malloc(sizeof(*dc));
	if (!dc) {
		close(fd);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	dc->fd = fd;
	rc = berth_transport__stream_thread(out, decomp_produce, dc, decomp_free,
					    ds->layers[i].size);
	if (rc)
		decomp_free(dc);
	return rc;
}

static void dsrc_free(berth_source *s)
{
	da_src *ds = s->impl;

	if (!ds)
		return;
	for (size_t i = 0; i < ds->nlayers; i++)
		free(ds->layers[i].path);
	free(ds->layers);
	free(ds->config_path);
	berth_buf_dispose(&ds->manifest);
	berth_transport__tree_free(ds->tree);
	free(ds);
	s->impl = NULL;
}

static const berth_source_driver da_source_driver = {
	.manifest = dsrc_manifest,
	.blob = dsrc_blob,
	.free = dsrc_free,
};

/* 1 if RepoTags entry `tag` names the same image as `want` (both normalised). */
static int repo_tag_matches(const char *tag, const berth_ref *want)
{
	berth_ref *r = NULL;
	int match;

	if (berth_ref_parse(&r, tag) != 0) {
		berth_error_clear();
		return 0;
	}
	match = r->tag && !r->digest && !strcmp(r->domain, want->domain) &&
		!strcmp(r->path, want->path) && !strcmp(r->tag, want->tag);
	berth_ref_free(r);
	return match;
}

static json_t *pick_image(json_t *items, const berth_image_name *n)
{
	size_t i, j, count = json_array_size(items);
	json_t *item, *t;

	if (n->index >= 0) {
		if ((size_t)n->index >= count) {
			berth_error_set(BERTH_ENOTFOUND,
					"docker-archive:%s: no image @%d (the archive has %zu)",
					n->path, n->index, count);
			return NULL;
		}
		return json_array_get(items, (size_t)n->index);
	}
	if (!n->ref) {
		if (count != 1) {
			berth_error_set(BERTH_EINVALID,
					"docker-archive:%s: the archive has %zu images; name one "
					"with :NAME:TAG or :@N",
					n->path, count);
			return NULL;
		}
		return json_array_get(items, 0);
	}
	json_array_foreach(items, i, item)
	{
		json_array_foreach(json_object_get(item, "RepoTags"), j, t)
		{
			if (json_is_string(t) && repo_tag_matches(json_string_value(t), n->ref))
				return item;
		}
	}
	berth_error_set(BERTH_ENOTFOUND, "docker-archive:%s: no image tagged %s/%s:%s", n->path,
			n->ref->domain, n->ref->path, n->ref->tag);
	return NULL;
}

static int build_manifest(da_src *ds, json_t *diff_ids)
{
	berth_buf *m = &ds->manifest;
	json_t *v;
	size_t i;
	int rc;

	rc = berth_buf_printf(m,
			      "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
			      "\"%s\",\"size\":%lld,\"digest\":\"%s\"},\"layers\":[",
			      BERTH_MT_DOCKER_MANIFEST, BERTH_MT_DOCKER_CONFIG,
			      (long long)ds->config_size, ds->config.str);
	json_array_foreach(diff_ids, i, v)
	{
		const char *dg = json_string_value(v);
		size_t k;

		for (k = 0; k < ds->nlayers; k++)
			if (!strcmp(ds->layers[k].diff.str, dg))
				break;
		if (rc == 0)
			rc = berth_buf_printf(
				m, "%s{\"mediaType\":\"%s\",\"size\":%lld,\"digest\":\"%s\"}",
				i ? "," : "", MT_LAYER_GZIP, (long long)ds->layers[k].size, dg);
	}
	if (rc == 0)
		rc = berth_buf_puts(m, "]}");
	if (rc == 0)
		rc = berth_digest_compute(&ds->mdigest, BERTH_DIGEST_SHA256, m->ptr, m->len);
	return rc;
}

/* Large uncompressed members (layers) are read inside the archive; the
 * rest (manifest.json, the config, compressed layers) is unpacked. */
static int layer_in_place(void *ctx, const unsigned char *head, size_t n, int64_t size)
{
	(void)ctx;
	return size > (int64_t)BERTH_CONFIG_MAX && !is_compressed_magic(head, n);
}

int berth_transport__docker_archive_source(berth_source *s, const berth_image_name *n,
					   const berth_transport_options *o)
{
	berth_buf mj = BERTH_BUF_INIT(0), cfg = BERTH_BUF_INIT(0);
	json_t *items = NULL, *config = NULL, *item, *layers, *diff_ids;
	json_error_t jerr;
	da_src *ds = NULL;
	const char *cpath;
	size_t i;
	int fd, rc;

	ds = calloc(1, sizeof(*ds));
	if (!ds)
		return berth_error_set(BERTH_ERROR, "out of memory");
	berth_buf_init(&ds->manifest, BERTH_MANIFEST_MAX);
	rc = berth_transport__tree_index(&ds->tree, n->path, layer_in_place, NULL);
	if (rc)
		goto done;
	rc = berth_transport__tree_open(ds->tree, "manifest.json", &fd, NULL);
	if (rc == BERTH_ENOTFOUND)
		rc = berth_error_set(
			BERTH_EINVALID,
			"docker-archive:%s: no manifest.json (not a docker save archive)", n->path);
	if (rc == 0)
		rc = read_fd_capped(fd, BERTH_MANIFEST_MAX, &mj, "manifest.json");
	if (rc)
		goto done;
	items = json_loadb(mj.ptr, mj.len, 0, &jerr);
	if (!json_is_array(items)) {
		rc = berth_error_set(BERTH_EINVALID, "docker-archive:%s: invalid manifest.json",
				     n->path);
		goto done;
	}
	item = pick_image(items, n);
	if (!item) {
		rc = berth_error_last_code();
		goto done;
	}
	cpath = json_string_value(json_object_get(item, "Config"));
	layers = json_object_get(item, "Layers");
	if (!cpath || !json_is_array(layers)) {
		rc = berth_error_set(
			BERTH_EINVALID,
			"docker-archive:%s: manifest.json entry without Config or Layers", n->path);
		goto done;
	}
	if (!(ds->config_path = strdup(cpath))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = berth_transport__tree_open(ds->tree, cpath, &fd, NULL);
	if (rc == 0)
		rc = read_fd_capped(fd, BERTH_CONFIG_MAX, &cfg, "the image config");
	if (rc)
		goto done;
	ds->config_size = (int64_t)cfg.len;
	rc = berth_digest_compute(&ds->config, BERTH_DIGEST_SHA256, cfg.ptr, cfg.len);
	if (rc)
		goto done;
	config = json_loadb(cfg.ptr, cfg.len, 0, &jerr);
	diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	if (!json_is_array(diff_ids) || json_array_size(diff_ids) != json_array_size(layers)) {
		rc = berth_error_set(
			BERTH_EINVALID,
			"docker-archive:%s: the config's diff_ids do not match the %zu layers",
			n->path, json_array_size(layers));
		goto done;
	}
	ds->layers = calloc(json_array_size(layers) + 1, sizeof(*ds->layers));
	if (!ds->layers) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < json_array_size(layers); i++) {
		const char *dg = json_string_value(json_array_get(diff_ids, i));
		const char *lp = json_string_value(json_array_get(layers, i));
		da_layer *l = &ds->layers[ds->nlayers];
		unsigned char head[8];
		ssize_t hn;
		size_t k;
		int64_t fsize;

		if (!dg || !lp || berth_digest_parse(&l->diff, dg, strlen(dg)) != 0) {
			rc = berth_error_set(
				BERTH_EINVALID,
				"docker-archive:%s: bad layer %zu in manifest.json or config",
				n->path, i);
			goto done;
		}
		for (k = 0; k < ds->nlayers; k++)
			if (berth_digest_equal(&ds->layers[k].diff, &l->diff))
				break;
		if (k < ds->nlayers)
			continue; /* the same layer twice: its first file serves both */
		rc = berth_transport__tree_open(ds->tree, lp, &fd, &fsize);
		if (rc)
			goto done;
		hn = pread(fd, head, sizeof(head), lseek(fd, 0, SEEK_CUR));
		l->compressed = hn > 0 && is_compressed_magic(head, (size_t)hn);
		l->size = fsize;
		if (l->compressed) {
			uint64_t total;

			rc = decompress_fd(fd, NULL, NULL, &total);
			l->size = (int64_t)total;
		}
		close(fd);
		if (rc)
			goto done;
		if (!(l->path = strdup(lp))) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
		ds->nlayers++;
	}
	rc = build_manifest(ds, diff_ids);
	if (rc)
		goto done;
	s->drv = &da_source_driver;
	s->impl = ds;
	ds = NULL;
done:
	if (ds) {
		berth_source tmp = {.impl = ds};

		dsrc_free(&tmp);
	}
	json_decref(items);
	json_decref(config);
	berth_buf_dispose(&mj);
	berth_buf_dispose(&cfg);
	return rc;
}

/* ---- destination ---- */

typedef struct da_blob {
	berth_digest digest; /* as sent */
	berth_digest diff;   /* of the uncompressed bytes: names the staged file */
	int64_t size;	     /* uncompressed */
} da_blob;

typedef struct da_dst {
	char *file;
	char *staging;
	char *repo; /* "domain/path" for RepoTags, or NULL */
	char *rtag;
	pthread_mutex_t mu;
	da_blob *blobs;
	size_t nblobs, capblobs;
	berth_manifest *m;
} da_dst;

static int find_blob(da_dst *dd, const berth_digest *dg, da_blob *out)
{
	int found = 0;

	pthread_mutex_lock(&dd->mu);
	for (size_t i = 0; i < dd->nblobs; i++) {
		if (berth_digest_equal(&dd->blobs[i].digest, dg)) {
			if (out)
				*out = dd->blobs[i];
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&dd->mu);
	return found;
}

static int ddst_has_blob(berth_dest *d, const berth_descriptor *desc)
{
	da_dst *dd = d->impl;

	if (find_blob(dd, &desc->digest, NULL))
		return 0;
	return berth_error_set(BERTH_ENOTFOUND, "blob %s not yet in the archive", desc->digest.str);
}

/* A blob's bytes for the decompressor: the head read to detect its compression first, then
 * the rest of the stream; every byte is checked against the descriptor as it is read. */
typedef struct da_in {
	berth_stream *in;
	berth_transport__check *check;
	const char *head;
	size_t head_len;
} da_in;

static long da_in_read(void *ctx, void *buf, size_t cap)
{
	da_in *r = ctx;
	long n;
	int rc;

	if (r->head_len) {
		n = (long)(cap < r->head_len ? cap : r->head_len);
		memcpy(buf, r->head, (size_t)n);
		r->head += n;
		r->head_len -= (size_t)n;
		return n;
	}
	n = berth_stream_read(r->in, buf, cap);
	if (n > 0 && (rc = berth_transport__check_update(r->check, buf, (size_t)n)) < 0)
		return rc;
	return n;
}

/* The uncompressed layer: into the staged file, and into its diff ID. */
typedef struct da_out {
	int fd;
	berth_hasher *diff;
	uint64_t bytes;
} da_out;

static int da_out_write(void *ctx, const void *data, size_t len)
{
	da_out *w = ctx;
	int rc = berth_hasher_update(w->diff, data, len);

	w->bytes += len;
	return rc < 0 ? rc : berth_fs_write_all(w->fd, data, len);
}

static int record_blob(da_dst *dd, const da_blob *b)
{
	da_blob *p;
	int rc = 0;

	pthread_mutex_lock(&dd->mu);
	if ((p = berth_array_room(dd->blobs, dd->nblobs, &dd->capblobs, sizeof(*p))) != NULL) {
		dd->blobs = p;
		dd->blobs[dd->nblobs++] = *b;
	} else {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	}
	pthread_mutex_unlock(&dd->mu);
	return rc;
}

static int ddst_put_blob(berth_dest *d, const berth_descriptor *desc, berth_stream *in)
{
	da_dst *dd = d->impl;
	berth_transport__check check = {0};
	da_out out = {.fd = -1};
	da_in rd = {.in = in, .check = &check};
	da_blob rec = {0};
	char *tmp = NULL, *path = NULL, head[16];
	long n = 0, r = 0;
	int rc;

	if (asprintf(&tmp, "%s/.blob-XXXXXX", dd->staging) < 0) {
		tmp = NULL;
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = berth_transport__check_init(&check, desc, !in->verified);
	if (rc == 0)
		rc = berth_hasher_new(&out.diff, BERTH_DIGEST_SHA256);
	if (rc)
		goto done;
	out.fd = mkostemp(tmp, O_CLOEXEC);
	if (out.fd < 0) {
		rc = berth_error_set_errno("create %s", tmp);
		free(tmp);
		tmp = NULL;
		goto done;
	}
	/* Enough of the head to see the compression (its magic number), whatever the media type
	 * says; then the layer module's decompressor (ISA-L for gzip) into the file. */
	while (n < (long)sizeof(head) &&
	       (r = berth_stream_read(in, head + n, sizeof(head) - n)) > 0)
		n += r;
	if (n < (long)sizeof(head) && r < 0) {
		rc = (int)r;
		goto done;
	}
	if ((rc = berth_transport__check_update(&check, head, (size_t)n)) < 0)
		goto done;
	rd.head = head;
	rd.head_len = (size_t)n;
	rc = berth_layer_transform(berth_layer_detect(head, (size_t)n), BERTH_LAYER_UNCOMPRESSED,
				   -1, da_in_read, &rd, da_out_write, &out);
	if (rc == 0)
		rc = berth_transport__check_final(&check);
	if (rc)
		goto done;
	rec.digest = desc->digest;
	rec.size = (int64_t)out.bytes;
	rc = berth_hasher_final(out.diff, &rec.diff);
	if (rc)
		goto done;
	close(out.fd);
	out.fd = -1;
	if (asprintf(&path, "%s/%s", dd->staging, berth_digest_hex(&rec.diff)) < 0) {
		path = NULL;
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (rename(tmp, path) != 0) {
		rc = berth_error_set_errno("rename %s", path);
		goto done;
	}
	free(tmp);
	tmp = NULL;
	rc = record_blob(dd, &rec);
done:
	if (out.fd >= 0)
		close(out.fd);
	berth_hasher_free(out.diff);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(path);
	berth_transport__check_dispose(&check);
	return rc;
}

static int ddst_put_manifest(berth_dest *d, const void *body, size_t len, const char *media_type,
			     const berth_digest *digest, int top_level)
{
	da_dst *dd = d->impl;
	berth_manifest *m = NULL;
	int rc;

	if (!top_level)
		return 0; /* only the image's own manifest shapes the archive */
	rc = berth_manifest_parse(&m, body, len, media_type);
	if (rc)
		return rc;
	if (m->kind != BERTH_OCI_IMAGE) {
		berth_manifest_free(m);
		return berth_error_set(
			BERTH_EUNSUPPORTED,
			"docker-archive holds one image, not an index; pick a platform");
	}
	pthread_mutex_lock(&dd->mu);
	berth_manifest_free(dd->m);
	dd->m = m;
	pthread_mutex_unlock(&dd->mu);
	return 0;
}

/* Write one member: a file's bytes from `src_path`, or `data`, or a symlink. */
static int tar_member(struct archive *a, const char *name, const char *src_path, const void *data,
		      size_t len, const char *link, char *chunk)
{
	struct archive_entry *e = archive_entry_new();
	int fd = -1, rc = 0;
	struct stat st;

	if (!e)
		return berth_error_set(BERTH_ERROR, "out of memory");
	archive_entry_set_pathname(e, name);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (link) {
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_perm(e, 0);
		archive_entry_set_symlink(e, link);
		archive_entry_set_size(e, 0);
	} else {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0444);
		if (src_path) {
			fd = open(src_path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || fstat(fd, &st) != 0) {
				rc = berth_error_set_errno("open %s", src_path);
				goto done;
			}
			len = (size_t)st.st_size;
		}
		archive_entry_set_size(e, (la_int64_t)len);
	}
	if (archive_write_header(a, e) != ARCHIVE_OK) {
		rc = berth_error_set(BERTH_EIO, "writing archive: %s", archive_error_string(a));
		goto done;
	}
	if (data && len && archive_write_data(a, data, len) != (la_ssize_t)len) {
		rc = berth_error_set(BERTH_EIO, "writing archive: %s", archive_error_string(a));
		goto done;
	}
	while (fd >= 0) {
		ssize_t r = read(fd, chunk, CHUNK);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = berth_error_set_errno("read %s", src_path);
			break;
		}
		if (r == 0)
			break;
		if (archive_write_data(a, chunk, (size_t)r) != r) {
			rc = berth_error_set(BERTH_EIO, "writing archive: %s",
					     archive_error_string(a));
			break;
		}
	}
done:
	if (fd >= 0)
		close(fd);
	archive_entry_free(e);
	return rc;
}

/* containers/image's legacy layer JSON for layer i (see writeLegacyMetadataLocked). */
static int legacy_json(berth_buf *out, const berth_buf *cfg, int top, const char *id_key,
		       const char *id_val, const char *parent)
{
	static const char *const attrs[] = {"architecture",	"config",  "container",
					    "container_config", "created", "docker_version"};
	const char *v, *vend = NULL;
	int rc = berth_buf_puts(out, "{");

	for (size_t i = 0; top && rc == 0 && i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		rc = berth_buf_printf(out, "\"%s\":", attrs[i]);
		v = rc ? NULL : raw_member(cfg->ptr, cfg->len, attrs[i], &vend);
		if (rc == 0)
			rc = v ? go_compact(out, v, vend) : berth_buf_puts(out, "null");
		if (rc == 0)
			rc = berth_buf_puts(out, ",");
	}
	if (rc == 0)
		rc = berth_buf_printf(out, "\"%s\":\"%s\"", id_key, id_val);
	if (rc == 0 && top) {
		rc = berth_buf_puts(out, ",\"os\":");
		v = rc ? NULL : raw_member(cfg->ptr, cfg->len, "os", &vend);
		if (rc == 0)
			rc = v ? go_compact(out, v, vend) : berth_buf_puts(out, "null");
	}
	if (rc == 0 && parent)
		rc = berth_buf_printf(out, ",\"parent\":\"%s\"", parent);
	if (rc == 0)
		rc = berth_buf_puts(out, "}");
	return rc;
}

static int ddst_commit(berth_dest *d)
{
	da_dst *dd = d->impl;
	berth_buf cfg = BERTH_BUF_INIT(0), js = BERTH_BUF_INIT(0), mj = BERTH_BUF_INIT(0),
		  repos = BERTH_BUF_INIT(0);
	berth_transport__tar_out out = {.fd = -1};
	struct archive *a = NULL;
	char *chunk = NULL, *repotag = NULL;
	char name[PATH_MAX], src[PATH_MAX], last_id[80] = "", parent[80] = "";
	berth_digest chain = {0}, idd;
	da_blob cb, *lb = NULL;
	json_t *cj = NULL;
	int rc = 0;
	size_t i, k;

	if (!dd->m)
		return berth_error_set(BERTH_EINVALID, "docker-archive:%s: nothing to commit",
				       dd->file);
	if (!find_blob(dd, &dd->m->config.digest, &cb))
		return berth_error_set(BERTH_ENOTFOUND, "docker-archive: config %s was not written",
				       dd->m->config.digest.str);
	lb = calloc(dd->m->nlayers + 1, sizeof(*lb));
	chunk = malloc(CHUNK);
	if (!lb || !chunk) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < dd->m->nlayers; i++) {
		if (!find_blob(dd, &dd->m->layers[i].digest, &lb[i])) {
			rc = berth_error_set(BERTH_ENOTFOUND,
					     "docker-archive: layer %s was not written",
					     dd->m->layers[i].digest.str);
			goto done;
		}
	}
	snprintf(src, sizeof(src), "%s/%s", dd->staging, berth_digest_hex(&cb.diff));
	rc = berth_fs_read_file(&cfg, src);
	if (rc)
		goto done;
	cj = json_loadb(cfg.ptr, cfg.len, 0, NULL);
	if (!json_is_object(cj)) {
		rc = berth_error_set(BERTH_EINVALID,
				     "docker-archive: the image config is not JSON");
		goto done;
	}
	if (dd->repo && asprintf(&repotag, "%s:%s", dd->repo, dd->rtag) < 0) {
		repotag = NULL;
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}

	if ((rc = berth_transport__tar_out_open(&out, dd->file)) != 0)
		goto done;
	a = out.a;
	/* Layers (each once), then the config, as skopeo sends them. */
	for (i = 0; i < dd->m->nlayers && rc == 0; i++) {
		for (k = 0; k < i; k++)
			if (berth_digest_equal(&lb[k].diff, &lb[i].diff))
				break;
		if (k < i)
			continue;
		snprintf(name, sizeof(name), "%s.tar", berth_digest_hex(&lb[i].diff));
		snprintf(src, sizeof(src), "%s/%s", dd->staging, berth_digest_hex(&lb[i].diff));
		rc = tar_member(a, name, src, NULL, 0, NULL, chunk);
	}
	if (rc == 0) {
		snprintf(name, sizeof(name), "%s.json", berth_digest_hex(&cb.diff));
		rc = tar_member(a, name, NULL, cfg.ptr, cfg.len, NULL, chunk);
	}
	/* Legacy v1 layers: IDs from the chain ID and the top layer's config subset. */
	for (i = 0; i < dd->m->nlayers && rc == 0; i++) {
		int top = i + 1 == dd->m->nlayers;
		char link[PATH_MAX];

		if (i == 0) {
			chain = lb[i].diff;
		} else {
			berth_buf_reset(&js);
			rc = berth_buf_printf(&js, "%s %s", chain.str, lb[i].diff.str);
			if (rc == 0)
				rc = berth_digest_compute(&chain, BERTH_DIGEST_SHA256, js.ptr,
							  js.len);
		}
		berth_buf_reset(&js);
		if (rc == 0)
			rc = legacy_json(&js, &cfg, top, "layer_id", chain.str,
					 parent[0] ? parent : NULL);
		if (rc == 0)
			rc = berth_digest_compute(&idd, BERTH_DIGEST_SHA256, js.ptr, js.len);
		if (rc)
			break;
		snprintf(last_id, sizeof(last_id), "%s", berth_digest_hex(&idd));
		berth_buf_reset(&js);
		rc = legacy_json(&js, &cfg, top, "id", last_id, parent[0] ? parent : NULL);
		snprintf(name, sizeof(name), "%s/layer.tar", last_id);
		snprintf(link, sizeof(link), "../%s.tar", berth_digest_hex(&lb[i].diff));
		if (rc == 0)
			rc = tar_member(a, name, NULL, NULL, 0, link, chunk);
		snprintf(name, sizeof(name), "%s/VERSION", last_id);
		if (rc == 0)
			rc = tar_member(a, name, NULL, "1.0", 3, NULL, chunk);
		snprintf(name, sizeof(name), "%s/json", last_id);
		if (rc == 0)
			rc = tar_member(a, name, NULL, js.ptr, js.len, NULL, chunk);
		snprintf(parent, sizeof(parent), "%s", last_id);
	}
	/* manifest.json and repositories, byte for byte as Go's encoding/json writes them. */
	if (rc == 0)
		rc = berth_buf_printf(&mj, "[{\"Config\":\"%s.json\",\"RepoTags\":[",
				      berth_digest_hex(&cb.diff));
	if (rc == 0 && repotag)
		rc = berth_buf_put_json_string(&mj, repotag);
	if (rc == 0)
		rc = berth_buf_puts(&mj, "],\"Layers\":[");
	for (i = 0; i < dd->m->nlayers && rc == 0; i++)
		rc = berth_buf_printf(&mj, "%s\"%s.tar\"", i ? "," : "",
				      berth_digest_hex(&lb[i].diff));
	if (rc == 0)
		rc = berth_buf_puts(&mj, "]}]");
	if (rc == 0)
		rc = tar_member(a, "manifest.json", NULL, mj.ptr, mj.len, NULL, chunk);
	if (rc == 0 && repotag && last_id[0])
		rc = berth_buf_printf(&repos, "{\"%s\":{\"%s\":\"%s\"}}", dd->repo, dd->rtag,
				      last_id);
	else if (rc == 0)
		rc = berth_buf_puts(&repos, "{}");
	if (rc == 0)
		rc = tar_member(a, "repositories", NULL, repos.ptr, repos.len, NULL, chunk);
	if (rc)
		goto done;
	rc = berth_transport__tar_out_commit(&out);
done:
	berth_transport__tar_out_dispose(&out);
	json_decref(cj);
	berth_buf_dispose(&cfg);
	berth_buf_dispose(&js);
	berth_buf_dispose(&mj);
	berth_buf_dispose(&repos);
	free(repotag);
	free(chunk);
	free(lb);
	return rc;
}

static void ddst_free(berth_dest *d, int committed)
{
	da_dst *dd = d->impl;

	if (!dd)
		return;
	if (dd->staging)
		if (berth_fs_remove_tree(dd->staging) != 0) { /* best effort */
		}
	pthread_mutex_destroy(&dd->mu);
	berth_manifest_free(dd->m);
	free(dd->blobs);
	free(dd->staging);
	free(dd->file);
	free(dd->repo);
	free(dd->rtag);
	free(dd);
	d->impl = NULL;
}

static const berth_dest_driver da_dest_driver = {
	.has_blob = ddst_has_blob,
	.mount_blob = NULL,
	.put_blob = ddst_put_blob,
	.put_manifest = ddst_put_manifest,
	.commit = ddst_commit,
	.free = ddst_free,
};

int berth_transport__docker_archive_dest(berth_dest *d, const berth_image_name *n,
					 const berth_transport_options *o)
{
	da_dst *dd = calloc(1, sizeof(*dd));
	int rc = 0;

	if (!dd)
		return berth_error_set(BERTH_ERROR, "out of memory");
	pthread_mutex_init(&dd->mu, NULL);
	if (n->ref && (asprintf(&dd->repo, "%s/%s", n->ref->domain, n->ref->path) < 0 ||
		       !(dd->rtag = strdup(n->ref->tag ? n->ref->tag : "latest")))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (n->index >= 0) {
		rc = berth_error_set(BERTH_EINVALID,
				     "docker-archive:%s: an image index (:@N) is only for reading",
				     n->path);
		goto done;
	}
	rc = berth_transport__archive_target("docker-archive", n->path, &dd->file, &dd->staging);
done:
	if (rc) {
		d->impl = dd;
		ddst_free(d, 0);
		d->impl = NULL;
		return rc;
	}
	d->drv = &da_dest_driver;
	d->impl = dd;
	return 0;
}
