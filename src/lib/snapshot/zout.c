/*
 * zout.c - a push-style compressor for the diff writer: libarchive hands
 * the tar to us block by block; the layer module's parallel compressor
 * (berth/layer.h: gzip in pigz's blocks, zstd with workers, or none)
 * compresses it into the caller's write callback. The bytes do not depend
 * on the thread count, so a layer's digest is the same on every machine.
 */
#include "lib/snapshot/internal.h"

#include <stdlib.h>

struct berth_snapshot__zout {
	berth_layer_compressor *c;
};

int berth_snapshot__zout_new(berth_snapshot__zout **out, berth_layer_compression c, int level,
			     berth_layer_write_fn write, void *wctx)
{
	berth_snapshot__zout *z = calloc(1, sizeof(*z));
	int rc;

	*out = NULL;
	if (!z)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((rc = berth_layer_compressor_new(&z->c, c, level, 0, write, wctx)) < 0) {
		free(z);
		return rc;
	}
	*out = z;
	return 0;
}

int berth_snapshot__zout_write(berth_snapshot__zout *z, const void *data, size_t len)
{
	return berth_layer_compressor_write(z->c, data, len);
}

int berth_snapshot__zout_finish(berth_snapshot__zout *z)
{
	return berth_layer_compressor_finish(z->c);
}

void berth_snapshot__zout_free(berth_snapshot__zout *z)
{
	if (!z)
		return;
	berth_layer_compressor_free(z->c);
	free(z);
}
