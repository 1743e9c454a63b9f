/*
 * pcompress.c - the push-style parallel layer compressor.
 *
 * gzip is compressed as pigz does: the input is cut into blocks of
 * PGZ_BLOCK bytes; each block is deflated on its own (raw deflate) with the
 * 32 KiB of input before it as the preset dictionary, and ends with a sync
 * flush (an empty stored block), so the compressed blocks are byte aligned
 * and concatenate into one deflate stream; the last block ends the stream.
 * The result is one gzip member whose CRC is the blocks' CRCs combined
 * (crc32_combine). Blocks are cut at fixed input offsets and compressed with
 * the same settings whatever the thread count, so the bytes written (and so
 * a layer's digest) do not depend on it; one thread compresses inline.
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
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define PGZ_BLOCK (128 * 1024)
#define PGZ_DICT (32 * 1024)
#define ZS_CHUNK (128 * 1024)

typedef enum { SLOT_FREE, SLOT_FILLING, SLOT_QUEUED, SLOT_WORKING, SLOT_DONE } slot_state;

typedef struct pgz_slot {
	unsigned char *in; /* PGZ_DICT bytes of dictionary, then the block */
	size_t dict_len, len;
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
	z_stream inline_z; /* threads == 1: the caller compresses */
	int inline_init;
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

static int deflate_start(z_stream *z, int level)
{
	memset(z, 0, sizeof(*z));
	/* Raw deflate (-15): the gzip header and trailer are ours. */
	return deflateInit2(z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK ? 0 : -1;
}

/* Compress slot s with stream z (reset here); the slot's rc says how it went. */
static void block_compress(z_stream *z, pgz_slot *s)
{
	int zr;

	s->rc = 0;
	s->out_len = 0;
	s->crc = crc32(0L, s->in + PGZ_DICT, (uInt)s->len);
	if (deflateReset(z) != Z_OK ||
	    (s->dict_len &&
	     deflateSetDictionary(z, s->in + PGZ_DICT - s->dict_len, (uInt)s->dict_len) != Z_OK)) {
		s->rc = BERTH_ERROR;
		return;
	}
	z->next_in = s->in + PGZ_DICT;
	z->avail_in = (uInt)s->len;
	for (;;) {
		if (s->out_len == s->out_cap) {
			unsigned char *p = realloc(s->out, s->out_cap * 2);

			if (!p) {
				s->rc = BERTH_ERROR;
				return;
			}
			s->out = p;
			s->out_cap *= 2;
		}
		z->next_out = s->out + s->out_len;
		z->avail_out = (uInt)(s->out_cap - s->out_len);
		zr = deflate(z, s->last ? Z_FINISH : Z_SYNC_FLUSH);
		s->out_len = s->out_cap - z->avail_out;
		if (zr == Z_STREAM_ERROR) {
			s->rc = BERTH_ERROR;
			return;
		}
		/* Done when the stream ended, or (sync flush) all input went with room to spare. */
		if (s->last ? zr == Z_STREAM_END : z->avail_in == 0 && z->avail_out > 0)
			return;
	}
}

static void *worker_main(void *arg)
{
	berth_layer_compressor *c = arg;
	z_stream z;
	int ok = deflate_start(&z, c->level) == 0;

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
		if (ok)
			block_compress(&z, s);
		else
			s->rc = BERTH_ERROR;
		pthread_mutex_lock(&c->mu);
		s->state = SLOT_DONE;
		pthread_cond_broadcast(&c->done_cv);
	}
	pthread_mutex_unlock(&c->mu);
	if (ok)
		deflateEnd(&z);
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
		block_compress(&c->inline_z, s);
		s->state = SLOT_DONE;
	}
	if (last)
		return 0;
	n = &c->slots[next];
	if (n->state != SLOT_FREE && (rc = write_oldest(c)) < 0)
		return rc;
	/* The dictionary: the last 32 KiB of the block before (read-only while it compresses). */
	n->dict_len = s->len < PGZ_DICT ? s->len : PGZ_DICT;
	memcpy(n->in + PGZ_DICT - n->dict_len, s->in + PGZ_DICT + s->len - n->dict_len,
	       n->dict_len);
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
		memcpy(s->in + PGZ_DICT + s->len, p, n);
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
		c->slots[i].in = malloc(PGZ_DICT + PGZ_BLOCK);
		c->slots[i].out_cap = PGZ_BLOCK + PGZ_BLOCK / 8 + 1024;
		c->slots[i].out = malloc(c->slots[i].out_cap);
		if (!c->slots[i].in || !c->slots[i].out)
			return berth_error_set(BERTH_ERROR, "out of memory");
	}
	c->slots[0].state = SLOT_FILLING;
	c->crc = crc32(0L, Z_NULL, 0);
	if (c->threads == 1) {
		if (deflate_start(&c->inline_z, c->level) < 0)
			return berth_error_set(BERTH_ERROR, "gzip: cannot start the compressor");
		c->inline_init = 1;
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
	if (c->inline_init)
		deflateEnd(&c->inline_z);
	for (size_t i = 0; c->slots && i < c->nslots; i++) {
		free(c->slots[i].in);
		free(c->slots[i].out);
	}
	free(c->slots);
	ZSTD_freeCCtx(c->zs);
	free(c->zbuf);
	free(c);
}
