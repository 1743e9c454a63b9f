/*
 * pcompress.c - the push-style parallel layer compressor.
 *
 * gzip: the input is cut into blocks of PGZ_BLOCK bytes, each deflated on
 * its own by libdeflate (2.0-2.2x zlib's speed at the same level, for the
 * same size or smaller: docs/PERFORMANCE.md, tenth session). libdeflate
 * writes a whole deflate stream per call, its last deflate block marked
 * final. The blocks become one deflate stream, so a layer is one gzip member
 * (read by every gzip reader: Python's zlib and Rust's GzDecoder, say, stop
 * after a first member): each block but the last is walked by zlib's inflate
 * stopping at deflate block boundaries (Z_BLOCK, the method of zlib's
 * examples/gzjoin.c), the final bit of its last deflate block is cleared,
 * and an empty stored block (a sync flush) ends it on a byte boundary. No
 * block refers back into another (libdeflate takes no preset dictionary; at
 * 256 KiB the loss is under 1%). The member's CRC is the blocks' CRCs
 * combined (crc32_combine). Blocks are cut at fixed input offsets and
 * compressed with the same settings whatever the thread count, so the bytes
 * written (and so a layer's digest) do not depend on it, only on libdeflate's
 * version (Debian 12's on every Debian 12 machine); one thread compresses
 * inline.
 *
 * zstd uses libzstd's own workers (ZSTD_c_nbWorkers >= 1 always: the
 * multi-threaded format's output does not depend on the worker count, but
 * differs from the single-threaded mode's, so that mode is never used).
 *
 * Memory is bounded: a ring of 2 x threads blocks; the caller's thread
 * waits for the oldest block and writes it out before it reuses its slot.
 */
#include "berth/layer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define PGZ_BLOCK (256 * 1024)
#define PGZ_SYNC_MAX 5 /* the empty stored block after a block: at most 5 bytes */
#define ZS_CHUNK (128 * 1024)

typedef enum { SLOT_FREE, SLOT_FILLING, SLOT_QUEUED, SLOT_WORKING, SLOT_DONE } slot_state;

typedef struct pgz_slot {
	unsigned char *in; /* the block */
	size_t len;
	unsigned char *out;
	size_t out_cap, out_len;
	uLong crc;
	int last, rc;
	slot_state state;
} pgz_slot;

struct berth_layer_compressor {
	berth_layer_compression c;
	int level, threads;
	berth_layer_write_fn write;
	void *wctx;
	int failed; /* a write or a block failed: everything after fails */
	/* gzip */
	pgz_slot *slots;
	size_t nslots, fill, oldest; /* fill: the slot being filled; oldest: next to write */
	size_t next_job;	     /* the next slot a worker takes, in order */
	uLong crc;
	uint64_t total;
	int header_done;
	pthread_t *workers;
	int nworkers, stop;
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	int sync_init;
	struct gz_worker *inline_w; /* threads == 1: the caller compresses */
	/* zstd */
	ZSTD_CCtx *zs;
	unsigned char *zbuf;
};

int berth_layer_default_threads(void)
{
	const char *e = getenv("BERTH_COMPRESS_THREADS");
	long n;

	if (e && *e) {
		n = strtol(e, NULL, 10);
		if (n >= 1 && n <= BERTH_LAYER_THREADS_MAX)
			return (int)n;
	}
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return n > BERTH_LAYER_THREADS_MAX ? BERTH_LAYER_THREADS_MAX : (int)n;
}

/* ---- gzip: one block ---- */

/* What a thread compresses with. */
typedef struct gz_worker {
	struct libdeflate_compressor *d;
	z_stream z; /* raw inflate: finds a block's deflate block boundaries */
	int z_init;
	unsigned char *scratch; /* inflate's output, thrown away */
} gz_worker;

static void gz_worker_free(gz_worker *w)
{
	if (!w)
		return;
	libdeflate_free_compressor(w->d);
	if (w->z_init)
		inflateEnd(&w->z);
	free(w->scratch);
	free(w);
}

static gz_worker *gz_worker_new(int level)
{
	gz_worker *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->d = libdeflate_alloc_compressor(level);
	w->scratch = malloc(PGZ_BLOCK);
	if (w->d && w->scratch && inflateInit2(&w->z, -15) == Z_OK) {
		w->z_init = 1;
		return w;
	}
	gz_worker_free(w);
	return NULL;
}

/*
 * Make the deflate stream in s->out a piece that another follows: walk it
 * with inflate stopping after each deflate block (Z_BLOCK; zlib.h: data_type
 * holds the unused bits of the last byte read, +64 in the last deflate block,
 * +128 at a block boundary), clear the final bit of its last deflate block,
 * and append an empty stored block (3 zero header bits, zero bits to the
 * byte, 00 00 ff ff).
 */
static int gz_unfinal(gz_worker *w, pgz_slot *s)
{
	size_t last = 0; /* bit offset of the last deflate block's header */
	int unused = -1, zr;

	if (inflateReset(&w->z) != Z_OK)
		return -1;
	w->z.next_in = s->out;
	w->z.avail_in = (uInt)s->out_len;
	do {
		w->z.next_out = w->scratch;
		w->z.avail_out = PGZ_BLOCK;
		zr = inflate(&w->z, Z_BLOCK);
		if ((zr != Z_OK && zr != Z_STREAM_END) || (w->z.data_type & 0x38))
			return -1; /* 0x38: more than 7 unused bits, never after a block */
		if (zr == Z_OK && (w->z.data_type & 128)) {
			size_t at =
				(size_t)(w->z.next_in - s->out) * 8 - (size_t)(w->z.data_type & 7);

			if (w->z.data_type & 64)
				unused = w->z.data_type & 7;
			else
				last = at;
		}
	} while (zr != Z_STREAM_END);
	if (unused < 0 || w->z.avail_in != 0 || !(s->out[last / 8] & (1u << (last % 8))))
		return -1;
	s->out[last / 8] &= (unsigned char)~(1u << (last % 8));
	s->out[s->out_len - 1] &= (unsigned char)((1u << (8 - unused)) - 1);
	if (unused < 3)
		s->out[s->out_len++] = 0; /* the header does not fit in the last byte */
	memcpy(s->out + s->out_len, "\0\0\xff\xff", 4);
	s->out_len += 4;
	return 0;
}

/* Compress slot s with w; the slot's rc says how it went. */
static void block_compress(gz_worker *w, pgz_slot *s)
{
	s->rc = 0;
	s->crc = libdeflate_crc32(0, s->in, s->len);
	s->out_len =
		libdeflate_deflate_compress(w->d, s->in, s->len, s->out, s->out_cap - PGZ_SYNC_MAX);
	if (s->out_len == 0 || (!s->last && gz_unfinal(w, s) < 0))
		s->rc = BERTH_ERROR;
}

static void *worker_main(void *arg)
{
	berth_layer_compressor *c = arg;
	gz_worker *w = gz_worker_new(c->level);

	pthread_mutex_lock(&c->mu);
	for (;;) {
		pgz_slot *s;

		while (!c->stop && c->slots[c->next_job].state != SLOT_QUEUED)
			pthread_cond_wait(&c->work_cv, &c->mu);
		if (c->stop)
			break;
		s = &c->slots[c->next_job];
		c->next_job = (c->next_job + 1) % c->nslots;
		s->state = SLOT_WORKING;
		pthread_mutex_unlock(&c->mu);
		if (w)
			block_compress(w, s);
		else
			s->rc = BERTH_ERROR;
		pthread_mutex_lock(&c->mu);
		s->state = SLOT_DONE;
		pthread_cond_broadcast(&c->done_cv);
	}
	pthread_mutex_unlock(&c->mu);
	gz_worker_free(w);
	return NULL;
}

static int put(berth_layer_compressor *c, const void *data, size_t len)
{
	int rc = len ? c->write(c->wctx, data, len) : 0;

	if (rc < 0)
		c->failed = 1;
	return rc;
}

static int write_gz_header(berth_layer_compressor *c)
{
	/* As zlib writes it: no name, mtime 0, XFL from the level, OS 3 (Unix). */
	unsigned char h[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};

	h[8] = c->level == 9 ? 2 : c->level < 2 ? 4 : 0;
	c->header_done = 1;
	return put(c, h, sizeof(h));
}

/* Wait for the oldest slot in flight and write its output; the slot becomes free. */
static int write_oldest(berth_layer_compressor *c)
{
	pgz_slot *s = &c->slots[c->oldest];
	int rc;

	if (c->workers) {
		pthread_mutex_lock(&c->mu);
		while (s->state != SLOT_DONE)
			pthread_cond_wait(&c->done_cv, &c->mu);
		pthread_mutex_unlock(&c->mu);
	}
	if (s->rc < 0) {
		c->failed = 1;
		return berth_error_set(s->rc, "gzip: compressor failed");
	}
	if (!c->header_done && (rc = write_gz_header(c)) < 0)
		return rc;
	if ((rc = put(c, s->out, s->out_len)) < 0)
		return rc;
	c->crc = crc32_combine(c->crc, s->crc, (z_off_t)s->len);
	c->total += s->len;
	s->state = SLOT_FREE;
	c->oldest = (c->oldest + 1) % c->nslots;
	return 0;
}

/* Hand the slot being filled to a worker (or compress it here) and start the next one. */
static int submit(berth_layer_compressor *c, int last)
{
	pgz_slot *s = &c->slots[c->fill], *n;
	size_t next = (c->fill + 1) % c->nslots;
	int rc;

	s->last = last;
	if (c->workers) {
		pthread_mutex_lock(&c->mu);
		s->state = SLOT_QUEUED;
		pthread_cond_broadcast(&c->work_cv);
		pthread_mutex_unlock(&c->mu);
	} else {
		block_compress(c->inline_w, s);
		s->state = SLOT_DONE;
	}
	if (last)
		return 0;
	n = &c->slots[next];
	if (n->state != SLOT_FREE && (rc = write_oldest(c)) < 0)
		return rc;
	n->len = 0;
	n->state = SLOT_FILLING;
	c->fill = next;
	return 0;
}

static int gz_write(berth_layer_compressor *c, const unsigned char *p, size_t len)
{
	while (len > 0) {
		pgz_slot *s = &c->slots[c->fill];
		size_t n = PGZ_BLOCK - s->len;
		int rc;

		if (n > len)
			n = len;
		memcpy(s->in + s->len, p, n);
		s->len += n;
		p += n;
		len -= n;
		if (s->len == PGZ_BLOCK && (rc = submit(c, 0)) < 0)
			return rc;
	}
	return 0;
}

static int gz_finish(berth_layer_compressor *c)
{
	unsigned char t[8];
	int rc;

	if ((rc = submit(c, 1)) < 0)
		return rc;
	while (c->slots[c->oldest].state != SLOT_FREE)
		if ((rc = write_oldest(c)) < 0)
			return rc;
	for (int i = 0; i < 4; i++) {
		t[i] = (unsigned char)(c->crc >> (8 * i));
		t[4 + i] = (unsigned char)(c->total >> (8 * i));
	}
	return put(c, t, sizeof(t));
}

static void gz_stop(berth_layer_compressor *c)
{
	if (c->workers) {
		pthread_mutex_lock(&c->mu);
		c->stop = 1;
		pthread_cond_broadcast(&c->work_cv);
		pthread_mutex_unlock(&c->mu);
		for (int i = 0; i < c->nworkers; i++)
			pthread_join(c->workers[i], NULL);
		free(c->workers);
		c->workers = NULL;
	}
}

static int gz_start(berth_layer_compressor *c)
{
	c->nslots = c->threads > 1 ? (size_t)c->threads * 2 : 2;
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	if (!c->slots)
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (size_t i = 0; i < c->nslots; i++) {
		c->slots[i].in = malloc(PGZ_BLOCK);
		c->slots[i].out_cap =
			libdeflate_deflate_compress_bound(NULL, PGZ_BLOCK) + PGZ_SYNC_MAX;
		c->slots[i].out = malloc(c->slots[i].out_cap);
		if (!c->slots[i].in || !c->slots[i].out)
			return berth_error_set(BERTH_ERROR, "out of memory");
	}
	c->slots[0].state = SLOT_FILLING;
	c->crc = 0;
	if (c->threads == 1) {
		if (!(c->inline_w = gz_worker_new(c->level)))
			return berth_error_set(BERTH_ERROR, "gzip: cannot start the compressor");
		return 0;
	}
	if (pthread_mutex_init(&c->mu, NULL) != 0 || pthread_cond_init(&c->work_cv, NULL) != 0 ||
	    pthread_cond_init(&c->done_cv, NULL) != 0)
		return berth_error_set(BERTH_ERROR, "gzip: cannot start the compressor");
	c->sync_init = 1;
	c->workers = calloc((size_t)c->threads, sizeof(*c->workers));
	if (!c->workers)
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (int i = 0; i < c->threads; i++) {
		if (pthread_create(&c->workers[i], NULL, worker_main, c) != 0) {
			if (c->nworkers == 0) {
				free(c->workers);
				c->workers = NULL;
			}
			return berth_error_set(BERTH_ERROR, "gzip: cannot start a worker thread");
		}
		c->nworkers++;
	}
	return 0;
}

/* ---- zstd ---- */

static int zs_start(berth_layer_compressor *c)
{
	c->zs = ZSTD_createCCtx();
	c->zbuf = malloc(ZS_CHUNK);
	if (!c->zs || !c->zbuf)
		return berth_error_set(BERTH_ERROR, "zstd: cannot start the compressor");
	if (ZSTD_isError(ZSTD_CCtx_setParameter(c->zs, ZSTD_c_compressionLevel, c->level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c->zs, ZSTD_c_checksumFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c->zs, ZSTD_c_nbWorkers, c->threads)))
		return berth_error_set(BERTH_ERROR, "zstd: cannot set level %d with %d threads",
				       c->level, c->threads);
	return 0;
}

static int zs_run(berth_layer_compressor *c, const void *data, size_t len, ZSTD_EndDirective end)
{
	ZSTD_inBuffer in = {data, len, 0};
	int rc;

	for (;;) {
		ZSTD_outBuffer o = {c->zbuf, ZS_CHUNK, 0};
		size_t left = ZSTD_compressStream2(c->zs, &o, &in, end);

		if (ZSTD_isError(left)) {
			c->failed = 1;
			return berth_error_set(BERTH_ERROR, "zstd: %s", ZSTD_getErrorName(left));
		}
		if (o.pos > 0 && (rc = put(c, c->zbuf, o.pos)) < 0)
			return rc;
		if (end == ZSTD_e_end ? left == 0 : in.pos == in.size)
			return 0;
	}
}

/* ---- public ---- */

int berth_layer_compressor_new(berth_layer_compressor **out, berth_layer_compression comp,
			       int level, int threads, berth_layer_write_fn write, void *wctx)
{
	berth_layer_compressor *c;
	int rc = 0;

	*out = NULL;
	if (comp < BERTH_LAYER_UNCOMPRESSED || comp > BERTH_LAYER_ZSTD)
		return berth_error_set(BERTH_EINVALID, "unknown layer compression");
	if (comp == BERTH_LAYER_GZIP && (level < -1 || level > 9))
		return berth_error_set(BERTH_EINVALID, "gzip compression level %d (0 to 9)", level);
	if (comp == BERTH_LAYER_ZSTD && (level < -1 || level > ZSTD_maxCLevel()))
		return berth_error_set(BERTH_EINVALID, "zstd compression level %d (0 to %d)", level,
				       ZSTD_maxCLevel());
	c = calloc(1, sizeof(*c));
	if (!c)
		return berth_error_set(BERTH_ERROR, "out of memory");
	c->c = comp;
	c->write = write;
	c->wctx = wctx;
	c->threads = threads <= 0 ? berth_layer_default_threads() : threads;
	if (c->threads > BERTH_LAYER_THREADS_MAX)
		c->threads = BERTH_LAYER_THREADS_MAX;
	c->level = level >= 0 ? level : comp == BERTH_LAYER_ZSTD ? 3 : 6;
	if (comp == BERTH_LAYER_GZIP)
		rc = gz_start(c);
	else if (comp == BERTH_LAYER_ZSTD)
		rc = zs_start(c);
	if (rc < 0) {
		berth_layer_compressor_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int berth_layer_compressor_write(berth_layer_compressor *c, const void *data, size_t len)
{
	if (c->failed)
		return berth_error_set(BERTH_EIO, "layer compressor: an earlier write failed");
	if (len == 0)
		return 0;
	if (c->c == BERTH_LAYER_GZIP)
		return gz_write(c, data, len);
	if (c->c == BERTH_LAYER_ZSTD)
		return zs_run(c, data, len, ZSTD_e_continue);
	return put(c, data, len);
}

int berth_layer_compressor_finish(berth_layer_compressor *c)
{
	int rc = 0;

	if (c->failed)
		return berth_error_set(BERTH_EIO, "layer compressor: an earlier write failed");
	if (c->c == BERTH_LAYER_GZIP)
		rc = gz_finish(c);
	else if (c->c == BERTH_LAYER_ZSTD)
		rc = zs_run(c, NULL, 0, ZSTD_e_end);
	c->failed = 1; /* finished: nothing more may be written */
	return rc;
}

void berth_layer_compressor_free(berth_layer_compressor *c)
{
	if (!c)
		return;
	gz_stop(c);
	if (c->sync_init) {
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->work_cv);
		pthread_cond_destroy(&c->done_cv);
	}
	gz_worker_free(c->inline_w);
	for (size_t i = 0; c->slots && i < c->nslots; i++) {
		free(c->slots[i].in);
		free(c->slots[i].out);
	}
	free(c->slots);
	ZSTD_freeCCtx(c->zs);
	free(c->zbuf);
	free(c);
}
