/*
 * zout.c - a push-style compressor for the diff writer: libarchive hands
 * the tar to us block by block, we compress (gzip through zlib, zstd
 * through libzstd, or none) into the caller's write callback.
 *
 * berth_layer_transform pulls from a reader; the diff's producer pushes,
 * so this is the other half of the same formats (gzip as one member, the
 * same defaults: gzip 6, zstd 3).
 */
#include "lib/snapshot/internal.h"

#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

#define ZOUT_CHUNK (128 * 1024)

struct berth_snapshot__zout {
	berth_layer_compression c;
	berth_layer_write_fn write;
	void *wctx;
	z_stream z;
	ZSTD_CCtx *zs;
	unsigned char buf[ZOUT_CHUNK];
};

int berth_snapshot__zout_new(berth_snapshot__zout **out, berth_layer_compression c, int level,
			     berth_layer_write_fn write, void *wctx)
{
	berth_snapshot__zout *z = calloc(1, sizeof(*z));

	*out = NULL;
	if (!z)
		return berth_error_set(BERTH_ERROR, "out of memory");
	z->c = c;
	z->write = write;
	z->wctx = wctx;
	if (c == BERTH_LAYER_GZIP) {
		/* windowBits 15 + 16: a gzip wrapper. */
		if (deflateInit2(&z->z, level < 0 ? 6 : level, Z_DEFLATED, 15 + 16, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK) {
			free(z);
			return berth_error_set(BERTH_ERROR, "gzip: cannot start the compressor");
		}
	} else if (c == BERTH_LAYER_ZSTD) {
		z->zs = ZSTD_createCCtx();
		if (!z->zs || ZSTD_isError(ZSTD_CCtx_setParameter(z->zs, ZSTD_c_compressionLevel,
								  level < 0 ? 3 : level))) {
			ZSTD_freeCCtx(z->zs);
			free(z);
			return berth_error_set(BERTH_ERROR, "zstd: cannot start the compressor");
		}
	} else if (c != BERTH_LAYER_UNCOMPRESSED) {
		free(z);
		return berth_error_set(BERTH_EINVALID, "unknown layer compression");
	}
	*out = z;
	return 0;
}

static int gz_run(berth_snapshot__zout *z, const void *data, size_t len, int flush)
{
	int rc;

	z->z.next_in = (Bytef *)data;
	z->z.avail_in = (uInt)len;
	do {
		int r;

		z->z.next_out = z->buf;
		z->z.avail_out = sizeof(z->buf);
		r = deflate(&z->z, flush);
		if (r == Z_STREAM_ERROR)
			return berth_error_set(BERTH_ERROR, "gzip: compressor failed");
		if (sizeof(z->buf) - z->z.avail_out > 0 &&
		    (rc = z->write(z->wctx, z->buf, sizeof(z->buf) - z->z.avail_out)) < 0)
			return rc;
		if (flush == Z_FINISH && r == Z_STREAM_END)
			break;
	} while (z->z.avail_out == 0 || (flush == Z_FINISH));
	return 0;
}

static int zs_run(berth_snapshot__zout *z, const void *data, size_t len, ZSTD_EndDirective end)
{
	ZSTD_inBuffer in = {data, len, 0};
	int rc;

	for (;;) {
		ZSTD_outBuffer o = {z->buf, sizeof(z->buf), 0};
		size_t left = ZSTD_compressStream2(z->zs, &o, &in, end);

		if (ZSTD_isError(left))
			return berth_error_set(BERTH_ERROR, "zstd: %s", ZSTD_getErrorName(left));
		if (o.pos > 0 && (rc = z->write(z->wctx, z->buf, o.pos)) < 0)
			return rc;
		if (end == ZSTD_e_end ? left == 0 : in.pos == in.size)
			return 0;
	}
}

int berth_snapshot__zout_write(berth_snapshot__zout *z, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	if (z->c == BERTH_LAYER_GZIP) {
		/* avail_in is 32 bits: feed very large blocks in parts. */
		const char *p = data;

		while (len > 0) {
			size_t n = len > (1u << 30) ? (1u << 30) : len;
			int rc = gz_run(z, p, n, Z_NO_FLUSH);

			if (rc < 0)
				return rc;
			p += n;
			len -= n;
		}
		return 0;
	}
	if (z->c == BERTH_LAYER_ZSTD)
		return zs_run(z, data, len, ZSTD_e_continue);
	return z->write(z->wctx, data, len);
}

int berth_snapshot__zout_finish(berth_snapshot__zout *z)
{
	if (z->c == BERTH_LAYER_GZIP)
		return gz_run(z, NULL, 0, Z_FINISH);
	if (z->c == BERTH_LAYER_ZSTD)
		return zs_run(z, NULL, 0, ZSTD_e_end);
	return 0;
}

void berth_snapshot__zout_free(berth_snapshot__zout *z)
{
	if (!z)
		return;
	if (z->c == BERTH_LAYER_GZIP)
		deflateEnd(&z->z);
	ZSTD_freeCCtx(z->zs);
	free(z);
}
