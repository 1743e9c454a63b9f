/*
 * compress.c - streaming layer transforms: decompress gzip (multi-member) or
 * zstd, recompress to gzip or zstd, and diff IDs (sha256 of the plain tar).
 *
 * A transform is two stages in one thread: a decoder pulls input through the
 * caller's read callback and pushes plain bytes into an encoder, which pushes
 * compressed bytes into the caller's write callback. Buffers are fixed-size
 * chunks, so memory does not grow with the layer.
 */
#include "berth/layer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define CHUNK (128 * 1024)

berth_layer_compression berth_layer_compression_of(const char *mt)
{
	static const struct {
		const char *mt;
		berth_layer_compression c;
	} map[] = {
		{BERTH_MT_OCI_LAYER, BERTH_LAYER_UNCOMPRESSED},
		{BERTH_MT_OCI_LAYER_GZIP, BERTH_LAYER_GZIP},
		{BERTH_MT_OCI_LAYER_ZSTD, BERTH_LAYER_ZSTD},
		{BERTH_MT_OCI_LAYER_ND, BERTH_LAYER_UNCOMPRESSED},
		{BERTH_MT_OCI_LAYER_ND_GZIP, BERTH_LAYER_GZIP},
		{BERTH_MT_OCI_LAYER_ND_ZSTD, BERTH_LAYER_ZSTD},
		{BERTH_MT_DOCKER_LAYER, BERTH_LAYER_UNCOMPRESSED},
		{BERTH_MT_DOCKER_LAYER_GZIP, BERTH_LAYER_GZIP},
		{BERTH_MT_DOCKER_LAYER_ZSTD, BERTH_LAYER_ZSTD},
		{BERTH_MT_DOCKER_FOREIGN_GZIP, BERTH_LAYER_GZIP},
	};

	if (!mt)
		return BERTH_LAYER_UNKNOWN;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].mt, mt) == 0)
			return map[i].c;
	return BERTH_LAYER_UNKNOWN;
}

berth_layer_compression berth_layer_detect(const void *head, size_t len)
{
	const unsigned char *p = head;

	if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return BERTH_LAYER_GZIP;
	if (len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
		return BERTH_LAYER_ZSTD;
	return BERTH_LAYER_UNCOMPRESSED;
}

int berth_layer_compression_parse(berth_layer_compression *out, const char *name)
{
	if (name && strcmp(name, "gzip") == 0)
		*out = BERTH_LAYER_GZIP;
	else if (name && strcmp(name, "zstd") == 0)
		*out = BERTH_LAYER_ZSTD;
	else if (name && (strcmp(name, "none") == 0 || strcmp(name, "uncompressed") == 0))
		*out = BERTH_LAYER_UNCOMPRESSED;
	else
		return berth_error_set(BERTH_EINVALID,
				       "unknown compression '%s' (use gzip, zstd or none)",
				       name ? name : "");
	return 0;
}

const char *berth_layer_compression_name(berth_layer_compression c)
{
	switch (c) {
	case BERTH_LAYER_GZIP: return "gzip";
	case BERTH_LAYER_ZSTD: return "zstd";
	case BERTH_LAYER_UNCOMPRESSED: return "none";
	default: return "unknown";
	}
}

const char *berth_layer_media_type_with(const char *mt, berth_layer_compression c)
{
	static const char *const fam[][3] = {
		{BERTH_MT_OCI_LAYER, BERTH_MT_OCI_LAYER_GZIP, BERTH_MT_OCI_LAYER_ZSTD},
		{BERTH_MT_OCI_LAYER_ND, BERTH_MT_OCI_LAYER_ND_GZIP, BERTH_MT_OCI_LAYER_ND_ZSTD},
		{BERTH_MT_DOCKER_LAYER, BERTH_MT_DOCKER_LAYER_GZIP, BERTH_MT_DOCKER_LAYER_ZSTD},
		{NULL, BERTH_MT_DOCKER_FOREIGN_GZIP, NULL},
	};

	if (!mt || c < BERTH_LAYER_UNCOMPRESSED || c > BERTH_LAYER_ZSTD)
		return NULL;
	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++)
		for (int k = 0; k < 3; k++)
			if (fam[f][k] && strcmp(fam[f][k], mt) == 0)
				return fam[f][c];
	return NULL;
}

/* ---- encoder: plain bytes in, compressed bytes out to the caller ---- */

typedef struct enc {
	berth_layer_compression c;
	z_stream z;
	int z_init;
	ZSTD_CCtx *zc;
	berth_layer_write_fn write;
	void *wctx;
	unsigned char *out;
} enc;

static int enc_init(enc *e, berth_layer_compression c, int level, berth_layer_write_fn write,
		    void *wctx)
{
	memset(e, 0, sizeof(*e));
	e->c = c;
	e->write = write;
	e->wctx = wctx;
	if (c == BERTH_LAYER_UNCOMPRESSED)
		return 0;
	e->out = malloc(CHUNK);
	if (!e->out)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (c == BERTH_LAYER_GZIP) {
		/* windowBits 15 + 16: a gzip wrapper, as every registry client writes. */
		if (deflateInit2(&e->z, level < 0 ? 6 : level, Z_DEFLATED, 15 + 16, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			return berth_error_set(BERTH_ERROR, "gzip: cannot start compressor");
		e->z_init = 1;
		return 0;
	}
	if (c == BERTH_LAYER_ZSTD) {
		e->zc = ZSTD_createCCtx();
		if (!e->zc)
			return berth_error_set(BERTH_ERROR, "zstd: cannot start compressor");
		if (ZSTD_isError(ZSTD_CCtx_setParameter(e->zc, ZSTD_c_compressionLevel,
							level < 0 ? 3 : level)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(e->zc, ZSTD_c_checksumFlag, 1)))
			return berth_error_set(BERTH_ERROR, "zstd: bad compression level %d",
					       level);
		return 0;
	}
	return berth_error_set(BERTH_EUNSUPPORTED, "unknown target compression");
}

/* Feed `len` bytes (finish=1 with len 0 flushes the end of the stream). */
static int enc_feed(enc *e, const void *data, size_t len, int finish)
{
	int rc;

	if (e->c == BERTH_LAYER_UNCOMPRESSED)
		return len ? e->write(e->wctx, data, len) : 0;
	if (e->c == BERTH_LAYER_GZIP) {
		int zr;

		e->z.next_in = (unsigned char *)data;
		e->z.avail_in = (uInt)len;
		do {
			e->z.next_out = e->out;
			e->z.avail_out = CHUNK;
			zr = deflate(&e->z, finish ? Z_FINISH : Z_NO_FLUSH);
			if (zr == Z_STREAM_ERROR)
				return berth_error_set(BERTH_ERROR, "gzip: compressor failed");
			if (CHUNK - e->z.avail_out) {
				rc = e->write(e->wctx, e->out, CHUNK - e->z.avail_out);
				if (rc < 0)
					return rc;
			}
		} while (e->z.avail_out == 0 || (finish && zr != Z_STREAM_END));
		return 0;
	}
	ZSTD_inBuffer in = {data, len, 0};
	size_t left;

	do {
		ZSTD_outBuffer out = {e->out, CHUNK, 0};

		left = ZSTD_compressStream2(e->zc, &out, &in,
					    finish ? ZSTD_e_end : ZSTD_e_continue);
		if (ZSTD_isError(left))
			return berth_error_set(BERTH_ERROR, "zstd: %s", ZSTD_getErrorName(left));
		if (out.pos) {
			rc = e->write(e->wctx, e->out, out.pos);
			if (rc < 0)
				return rc;
		}
	} while (in.pos < in.size || (finish && left != 0));
	return 0;
}

static int enc_put(void *ctx, const void *data, size_t len)
{
	return enc_feed(ctx, data, len, 0);
}

static void enc_dispose(enc *e)
{
	if (e->z_init)
		deflateEnd(&e->z);
	ZSTD_freeCCtx(e->zc);
	free(e->out);
}

/* ---- decoders: compressed bytes from the caller in, plain bytes to `out` ---- */

static long pull(berth_layer_read_fn read, void *rctx, void *buf, size_t cap)
{
	long n = read(rctx, buf, cap);

	if (n < 0 && berth_error_last()[0] == '\0')
		berth_error_set((int)n, "layer: read failed");
	return n;
}

static int decode_plain(berth_layer_read_fn read, void *rctx, berth_layer_write_fn out, void *octx,
			unsigned char *in)
{
	for (;;) {
		long n = pull(read, rctx, in, CHUNK);
		int rc;

		if (n <= 0)
			return (int)n;
		rc = out(octx, in, (size_t)n);
		if (rc < 0)
			return rc;
	}
}

static int decode_gzip(berth_layer_read_fn read, void *rctx, berth_layer_write_fn out, void *octx,
		       unsigned char *in, unsigned char *plain)
{
	z_stream z;
	int rc = 0, ended = 0, any = 0;

	memset(&z, 0, sizeof(z));
	/* 15 + 16: gzip only (a zlib or raw stream is not a gzip layer). */
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return berth_error_set(BERTH_ERROR, "gzip: cannot start decompressor");
	for (;;) {
		if (z.avail_in == 0) {
			long n = pull(read, rctx, in, CHUNK);

			if (n < 0) {
				rc = (int)n;
				goto done;
			}
			if (n == 0) {
				if (!ended || !any)
					rc = berth_error_set(BERTH_EINVALID,
							     "gzip: stream is truncated");
				goto done;
			}
			z.next_in = in;
			z.avail_in = (uInt)n;
		}
		if (ended) {
			/* Another member follows (pigz, concatenated streams). */
			if (z.next_in[0] != 0x1f) {
				rc = berth_error_set(
					BERTH_EINVALID,
					"gzip: trailing data after the end of the stream");
				goto done;
			}
			inflateReset(&z);
			ended = 0;
		}
		any = 1;
		z.next_out = plain;
		z.avail_out = CHUNK;
		int zr = inflate(&z, Z_NO_FLUSH);

		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			rc = berth_error_set(BERTH_EINVALID, "gzip: %s",
					     z.msg ? z.msg : "corrupt stream");
			goto done;
		}
		if (CHUNK - z.avail_out) {
			rc = out(octx, plain, CHUNK - z.avail_out);
			if (rc < 0)
				goto done;
		}
		if (zr == Z_STREAM_END)
			ended = 1;
	}
done:
	inflateEnd(&z);
	return rc;
}

static int decode_zstd(berth_layer_read_fn read, void *rctx, berth_layer_write_fn out, void *octx,
		       unsigned char *in, unsigned char *plain)
{
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	ZSTD_inBuffer ib = {in, 0, 0};
	size_t last = 1;
	int rc = 0, any = 0;

	if (!dc)
		return berth_error_set(BERTH_ERROR, "zstd: cannot start decompressor");
	/* Cap the window so a hostile frame cannot ask for gigabytes of memory. */
	ZSTD_DCtx_setParameter(dc, ZSTD_d_windowLogMax, 27);
	for (;;) {
		if (ib.pos == ib.size) {
			long n = pull(read, rctx, in, CHUNK);

			if (n < 0) {
				rc = (int)n;
				goto done;
			}
			if (n == 0) {
				if (last != 0 || !any)
					rc = berth_error_set(BERTH_EINVALID,
							     "zstd: stream is truncated");
				goto done;
			}
			ib.size = (size_t)n;
			ib.pos = 0;
			any = 1;
		}
		ZSTD_outBuffer ob = {plain, CHUNK, 0};

		last = ZSTD_decompressStream(dc, &ob, &ib);
		if (ZSTD_isError(last)) {
			rc = berth_error_set(BERTH_EINVALID, "zstd: %s", ZSTD_getErrorName(last));
			goto done;
		}
		if (ob.pos) {
			rc = out(octx, plain, ob.pos);
			if (rc < 0)
				goto done;
		}
	}
done:
	ZSTD_freeDCtx(dc);
	return rc;
}

int berth_layer_transform(berth_layer_compression from, berth_layer_compression to, int level,
			  berth_layer_read_fn read, void *rctx, berth_layer_write_fn write,
			  void *wctx)
{
	unsigned char *in = NULL, *plain = NULL;
	enc e;
	int rc, e_init = 0;

	/* Same format: pass the bytes through untouched (keeps the digest). */
	if (from == to && from >= BERTH_LAYER_UNCOMPRESSED && from <= BERTH_LAYER_ZSTD)
		from = to = BERTH_LAYER_UNCOMPRESSED;
	if (from < BERTH_LAYER_UNCOMPRESSED || from > BERTH_LAYER_ZSTD)
		return berth_error_set(BERTH_EUNSUPPORTED, "unknown layer compression");
	in = malloc(CHUNK);
	plain = malloc(CHUNK);
	if (!in || !plain) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = enc_init(&e, to, level, write, wctx);
	e_init = 1;
	if (rc < 0)
		goto done;
	berth_error_clear();
	if (from == BERTH_LAYER_GZIP)
		rc = decode_gzip(read, rctx, enc_put, &e, in, plain);
	else if (from == BERTH_LAYER_ZSTD)
		rc = decode_zstd(read, rctx, enc_put, &e, in, plain);
	else
		rc = decode_plain(read, rctx, enc_put, &e, in);
	if (rc < 0)
		goto done;
	rc = enc_feed(&e, NULL, 0, 1);
done:
	if (e_init)
		enc_dispose(&e);
	free(in);
	free(plain);
	return rc;
}

typedef struct hash_sink {
	berth_hasher *h;
} hash_sink;

static int hash_put(void *ctx, const void *data, size_t len)
{
	return berth_hasher_update(((hash_sink *)ctx)->h, data, len);
}

int berth_layer_diff_id(berth_digest *out, uint64_t *size_out, berth_layer_compression from,
			berth_layer_read_fn read, void *rctx)
{
	hash_sink hs = {NULL};
	int rc;

	rc = berth_hasher_new(&hs.h, BERTH_DIGEST_SHA256);
	if (rc < 0)
		goto done;
	rc = berth_layer_transform(from, BERTH_LAYER_UNCOMPRESSED, -1, read, rctx, hash_put, &hs);
	if (rc < 0)
		goto done;
	if (size_out)
		*size_out = berth_hasher_count(hs.h);
	rc = berth_hasher_final(hs.h, out);
done:
	berth_hasher_free(hs.h);
	return rc;
}

long berth_layer_read_fd(void *ctx, void *buf, size_t cap)
{
	int fd = *(int *)ctx;

	for (;;) {
		ssize_t n = read(fd, buf, cap);

		if (n >= 0)
			return (long)n;
		if (errno != EINTR)
			return berth_error_set_errno("layer: read");
	}
}

int berth_layer_write_fd(void *ctx, const void *data, size_t len)
{
	int fd = *(int *)ctx;
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return berth_error_set_errno("layer: write");
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
