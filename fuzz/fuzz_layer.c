/*
 * fuzz_layer.c - libFuzzer target for layer decompression
 * (berth_layer_transform / berth_layer_diff_id, src/lib/layer/compress.c).
 *
 * The first byte picks the input compression (none, gzip, zstd) and how the
 * input is chopped into reads; the rest is the compressed stream. Output is
 * capped by a writer that aborts the transform (zip bombs stop early).
 * Invariants: only EINVALID/ERANGE-style failures with a message; when a
 * decompression succeeds, recompressing its output and decompressing that
 * again gives back the same bytes, and diff_id agrees with the size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/layer.h"
#include "util/buf.h"

#define OUT_MAX (1u << 20)

typedef struct {
	const uint8_t *p;
	size_t len, off, step;
} src;

static long rd(void *ctx, void *buf, size_t cap)
{
	src *s = ctx;
	size_t n = s->len - s->off;

	if (n > cap)
		n = cap;
	if (n > s->step)
		n = s->step;
	if (n)
		memcpy(buf, s->p + s->off, n);
	s->off += n;
	return (long)n;
}

static int wr(void *ctx, const void *data, size_t len)
{
	berth_buf *b = ctx;

	if (b->len + len > OUT_MAX)
		return BERTH_ERANGE; /* decompression bomb: stop */
	return berth_buf_put(b, data, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t steps[] = {1, 7, 512, SIZE_MAX};
	berth_buf plain = BERTH_BUF_INIT(OUT_MAX), packed = BERTH_BUF_INIT(2 * OUT_MAX),
		  again = BERTH_BUF_INIT(OUT_MAX);
	berth_layer_compression from;
	berth_digest d;
	uint64_t dsize = 0;
	src s;
	int rc;

	if (size < 1)
		return 0;
	from = (berth_layer_compression)(data[0] % 3);
	s = (src){data + 1, size - 1, 0, steps[(data[0] / 3) % 4]};
	rc = berth_layer_transform(from, BERTH_LAYER_UNCOMPRESSED, -1, rd, &s, wr, &plain);
	if (rc != 0) {
		if (!berth_error_last()[0])
			abort();
		goto done;
	}
	if (from == BERTH_LAYER_UNCOMPRESSED &&
	    (plain.len != size - 1 || (plain.len && memcmp(plain.ptr, data + 1, plain.len))))
		abort();
	s = (src){data + 1, size - 1, 0, SIZE_MAX};
	if (berth_layer_diff_id(&d, &dsize, from, rd, &s) != 0 || dsize != plain.len)
		abort();
	/* Round trip through the other formats. */
	for (int to = BERTH_LAYER_GZIP; to <= BERTH_LAYER_ZSTD; to++) {
		berth_buf_reset(&packed);
		berth_buf_reset(&again);
		s = (src){(const uint8_t *)plain.ptr, plain.len, 0, SIZE_MAX};
		if (berth_layer_transform(BERTH_LAYER_UNCOMPRESSED, (berth_layer_compression)to, 1,
					  rd, &s, wr, &packed) != 0)
			abort();
		s = (src){(const uint8_t *)packed.ptr, packed.len, 0, SIZE_MAX};
		if (berth_layer_transform((berth_layer_compression)to, BERTH_LAYER_UNCOMPRESSED, -1,
					  rd, &s, wr, &again) != 0)
			abort();
		if (again.len != plain.len ||
		    (plain.len && memcmp(again.ptr, plain.ptr, plain.len)))
			abort();
	}
done:
	berth_buf_dispose(&plain);
	berth_buf_dispose(&packed);
	berth_buf_dispose(&again);
	return 0;
}
