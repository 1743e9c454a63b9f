/*
 * pcompress.c - unit tests: the parallel compressor. The bytes it writes
 * are the same for 1, 2, 3 and 8 threads (gzip and zstd, sizes around the
 * 256 KiB block: empty, one byte, a block, a block and one, several MiB fed
 * in odd pieces); they decompress (zlib itself for gzip, one member with the
 * right CRC and size; libzstd for zstd) to the input, whatever the blocks
 * hold (random bytes, runs, text: libdeflate's stored, fixed and dynamic
 * blocks, joined at every bit offset) and at every level; gzip at the
 * default level is within 2.5% of zlib's level 6 on text (on a Go binary and
 * a Go build's layer it is smaller: docs/PERFORMANCE.md), and smaller than
 * level 1; a failing writer stops it;
 * bad levels are refused.
 */
#include "berth/layer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include <cmocka.h>

#define BLOCK (256 * 1024)

typedef struct mem_out {
	unsigned char *p;
	size_t len, cap;
	size_t fail_after; /* 0 = never */
	size_t calls;
} mem_out;

static int mem_write(void *ctx, const void *data, size_t len)
{
	mem_out *m = ctx;

	if (m->fail_after && ++m->calls >= m->fail_after)
		return berth_error_set(BERTH_EIO, "disk full");
	if (m->len + len > m->cap) {
		m->cap = (m->len + len) * 2;
		m->p = realloc(m->p, m->cap);
		assert_non_null(m->p);
	}
	memcpy(m->p + m->len, data, len);
	m->len += len;
	return 0;
}

/* Compressible but not trivial content. */
static unsigned char *sample(size_t n, uint32_t seed)
{
	unsigned char *p = malloc(n ? n : 1);
	uint32_t x = seed;

	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (unsigned char)("abcdefghij klmnop\n"[(x >> 16) % 18]);
		if ((x >> 8) % 97 == 0)
			p[i] = (unsigned char)(x >> 3);
	}
	return p;
}

/* Compress in pieces of `step` bytes with `threads` threads. */
static void pcompress(berth_layer_compression c, int threads, const unsigned char *in, size_t len,
		      size_t step, mem_out *out)
{
	berth_layer_compressor *z = NULL;

	memset(out, 0, sizeof(*out));
	assert_int_equal(berth_layer_compressor_new(&z, c, -1, threads, mem_write, out), 0);
	for (size_t off = 0; off < len;) {
		size_t n = len - off < step ? len - off : step;

		assert_int_equal(berth_layer_compressor_write(z, in + off, n), 0);
		off += n;
	}
	assert_int_equal(berth_layer_compressor_finish(z), 0);
	berth_layer_compressor_free(z);
}

/* zlib's own gunzip of exactly one member; checks the CRC and size trailer. */
static void gunzip_one_member(const mem_out *gz, const unsigned char *want, size_t len)
{
	unsigned char *plain = malloc(len + 16);
	z_stream z;

	assert_non_null(plain);
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = gz->p;
	z.avail_in = (uInt)gz->len;
	z.next_out = plain;
	z.avail_out = (uInt)(len + 16);
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.avail_in, 0); /* one member, nothing after it */
	assert_int_equal(z.total_out, len);
	assert_memory_equal(plain, want, len);
	inflateEnd(&z);
	free(plain);
}

static void unzstd(const mem_out *zs, const unsigned char *want, size_t len)
{
	unsigned char *plain = malloc(len + 16);
	size_t n;

	assert_non_null(plain);
	n = ZSTD_decompress(plain, len + 16, zs->p, zs->len);
	assert_false(ZSTD_isError(n));
	assert_int_equal(n, len);
	assert_memory_equal(plain, want, len);
	free(plain);
}

static void same_for_every_thread_count(berth_layer_compression c)
{
	static const size_t sizes[] = {0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK, 2u << 20};
	static const int threads[] = {1, 2, 3, 8};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *in = sample(sizes[i], (uint32_t)i + 7);
		mem_out first;

		pcompress(c, 1, in, sizes[i], 65536, &first);
		if (c == BERTH_LAYER_GZIP)
			gunzip_one_member(&first, in, sizes[i]);
		else
			unzstd(&first, in, sizes[i]);
		for (size_t t = 1; t < sizeof(threads) / sizeof(threads[0]); t++) {
			mem_out o;

			/* Odd piece sizes: block cuts depend on offsets, not on the writes. */
			pcompress(c, threads[t], in, sizes[i], 7919 * (t + 1), &o);
			assert_int_equal(o.len, first.len);
			assert_memory_equal(o.p, first.p, o.len);
			free(o.p);
		}
		free(first.p);
		free(in);
	}
}

static void test_gzip_same_bytes_any_threads(void **state)
{
	(void)state;
	same_for_every_thread_count(BERTH_LAYER_GZIP);
}

static void test_zstd_same_bytes_any_threads(void **state)
{
	(void)state;
	same_for_every_thread_count(BERTH_LAYER_ZSTD);
}

/* The gzip really compresses, as well as zlib's level 6 does (blocks share no dictionary). */
static void test_gzip_compresses(void **state)
{
	size_t len = 4u << 20;
	unsigned char *in = malloc(len);
	mem_out o;

	(void)state;
	assert_non_null(in);
	for (size_t i = 0; i < len; i++)
		in[i] = (unsigned char)("0123456789abcdef"[(i / 3) % 16]);
	pcompress(BERTH_LAYER_GZIP, 4, in, len, len, &o);
	assert_true(o.len < len / 100);
	gunzip_one_member(&o, in, len);
	assert_int_equal(o.p[0], 0x1f);
	assert_int_equal(o.p[1], 0x8b);
	free(o.p);
	free(in);
}

/* zlib's level 6 in one stream, gzip framed (zlib's 2+4 bytes off, gzip's 10+8 on). */
static size_t zlib6_size(const unsigned char *in, size_t len)
{
	uLongf n = compressBound((uLong)len);
	unsigned char *out = malloc(n);

	assert_non_null(out);
	assert_int_equal(compress2(out, &n, in, (uLong)len, 6), Z_OK);
	free(out);
	return n - 6 + 18;
}

/* Text: words of a vocabulary picked with a skew, and phrases repeated from earlier. */
static unsigned char *text(size_t n, uint32_t x)
{
	unsigned char *p = malloc(n);
	char voc[512][12];
	size_t i = 0;

	assert_non_null(p);
	for (int w = 0; w < 512; w++) {
		int l;

		x = x * 1103515245u + 12345u;
		l = 2 + (int)((x >> 16) % 9);
		for (int k = 0; k < l; k++) {
			x = x * 1103515245u + 12345u;
			voc[w][k] = "etaoinshrdlucmfwypvbgkqjxz"[(x >> 16) % 26];
		}
		voc[w][l] = 0;
	}
	while (i < n) {
		x = x * 1103515245u + 12345u;
		if ((x >> 16) % 8 == 0 && i > 4096) {
			size_t back = 1 + (x >> 4) % 4000, len = 8 + (x >> 20) % 60;

			for (size_t k = 0; k < len && i < n; k++, i++)
				p[i] = p[i - back - len];
		} else {
			unsigned r = (x >> 16) % 512;
			const char *w = voc[r * r / 512];

			for (size_t k = 0; w[k] && i < n; k++)
				p[i++] = (unsigned char)w[k];
			if (i < n)
				p[i++] = (x >> 8) % 11 == 0 ? '\n' : ' ';
		}
	}
	return p;
}

/* The default level is level 6 (smaller than level 1), within 2.5% of zlib's. */
static void test_gzip_default_level_near_zlib6(void **state)
{
	size_t len = 6u << 20;
	unsigned char *in = text(len, 41);
	berth_layer_compressor *z = NULL;
	mem_out o, fast = {0};

	(void)state;
	pcompress(BERTH_LAYER_GZIP, 2, in, len, 100000, &o);
	gunzip_one_member(&o, in, len);
	assert_true(o.len * 1000 <= zlib6_size(in, len) * 1025);
	assert_int_equal(berth_layer_compressor_new(&z, BERTH_LAYER_GZIP, 1, 2, mem_write, &fast),
			 0);
	assert_int_equal(berth_layer_compressor_write(z, in, len), 0);
	assert_int_equal(berth_layer_compressor_finish(z), 0);
	berth_layer_compressor_free(z);
	assert_true(o.len * 100 < fast.len * 97);
	free(fast.p);
	free(o.p);
	free(in);
}

/*
 * Blocks of random bytes (stored deflate blocks, ending on a byte), runs of
 * one byte and text, mixed so that the joins land at every bit offset: one
 * gzip member at each level.
 */
static void test_gzip_joins_every_kind_of_block(void **state)
{
	size_t len = 23 * BLOCK + 4321;
	unsigned char *in = malloc(len);
	uint32_t x = 2463534242u;

	(void)state;
	assert_non_null(in);
	for (size_t i = 0; i < len; i++) {
		size_t kind = (i / 7777 + i / BLOCK) % 3;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		in[i] = kind == 0   ? (unsigned char)x
			: kind == 1 ? (unsigned char)('a' + (i / 1000) % 3)
				    : (unsigned char)("the quick brown fox "[(x >> 7) % 20]);
	}
	for (int level = 0; level <= 9; level += level < 2 ? 1 : 3) {
		berth_layer_compressor *z = NULL;
		mem_out o = {0};

		assert_int_equal(
			berth_layer_compressor_new(&z, BERTH_LAYER_GZIP, level, 3, mem_write, &o),
			0);
		assert_int_equal(berth_layer_compressor_write(z, in, len), 0);
		assert_int_equal(berth_layer_compressor_finish(z), 0);
		berth_layer_compressor_free(z);
		gunzip_one_member(&o, in, len);
		free(o.p);
	}
	free(in);
}

typedef struct mem_in {
	const unsigned char *p;
	size_t len, pos;
} mem_in;

static long mem_read(void *ctx, void *buf, size_t cap)
{
	mem_in *m = ctx;
	size_t n = m->len - m->pos < cap ? m->len - m->pos : cap;

	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (long)n;
}

/* The layer module's transform reads it back (gzip -> zstd -> plain); none is a pass-through. */
static void test_round_trip_through_transform(void **state)
{
	size_t len = 700000;
	unsigned char *in = sample(len, 99);
	mem_out gz, zs = {0}, plain = {0};
	mem_in r1, r2;

	(void)state;
	pcompress(BERTH_LAYER_GZIP, 3, in, len, len, &gz);
	r1 = (mem_in){gz.p, gz.len, 0};
	assert_int_equal(berth_layer_transform(BERTH_LAYER_GZIP, BERTH_LAYER_ZSTD, -1, mem_read,
					       &r1, mem_write, &zs),
			 0);
	r2 = (mem_in){zs.p, zs.len, 0};
	assert_int_equal(berth_layer_transform(BERTH_LAYER_ZSTD, BERTH_LAYER_UNCOMPRESSED, -1,
					       mem_read, &r2, mem_write, &plain),
			 0);
	assert_int_equal(plain.len, len);
	assert_memory_equal(plain.p, in, len);
	free(plain.p);
	pcompress(BERTH_LAYER_UNCOMPRESSED, 3, in, len, 1000, &plain);
	assert_int_equal(plain.len, len);
	assert_memory_equal(plain.p, in, len);
	free(plain.p);
	free(zs.p);
	free(gz.p);
	free(in);
}

static void test_write_error_stops(void **state)
{
	berth_layer_compression cs[] = {BERTH_LAYER_GZIP, BERTH_LAYER_ZSTD};
	size_t len = 3u << 20;
	unsigned char *in = sample(len, 5);

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		for (int threads = 1; threads <= 4; threads += 3) {
			berth_layer_compressor *z = NULL;
			mem_out o = {0};
			int rc = 0;

			o.fail_after = 2;
			assert_int_equal(
				berth_layer_compressor_new(&z, cs[k], 1, threads, mem_write, &o),
				0);
			for (size_t off = 0; off < len && rc == 0; off += 65536)
				rc = berth_layer_compressor_write(z, in + off, 65536);
			if (rc == 0)
				rc = berth_layer_compressor_finish(z);
			assert_true(rc < 0);
			/* Everything after fails too. */
			assert_true(berth_layer_compressor_write(z, in, 10) < 0);
			berth_layer_compressor_free(z);
			free(o.p);
		}
	}
	free(in);
}

static void test_bad_levels(void **state)
{
	berth_layer_compressor *z = NULL;
	mem_out o = {0};

	(void)state;
	assert_int_equal(berth_layer_compressor_new(&z, BERTH_LAYER_GZIP, 10, 1, mem_write, &o),
			 BERTH_EINVALID);
	assert_null(z);
	assert_int_equal(berth_layer_compressor_new(&z, BERTH_LAYER_ZSTD, 99, 1, mem_write, &o),
			 BERTH_EINVALID);
	assert_int_equal(berth_layer_compressor_new(&z, BERTH_LAYER_UNKNOWN, -1, 1, mem_write, &o),
			 BERTH_EINVALID);
	/* Levels change the bytes but not their meaning. */
	for (int level = 0; level <= 9; level += 9) {
		unsigned char *in = sample(300000, 3);

		assert_int_equal(
			berth_layer_compressor_new(&z, BERTH_LAYER_GZIP, level, 2, mem_write, &o),
			0);
		assert_int_equal(berth_layer_compressor_write(z, in, 300000), 0);
		assert_int_equal(berth_layer_compressor_finish(z), 0);
		berth_layer_compressor_free(z);
		gunzip_one_member(&o, in, 300000);
		free(o.p);
		memset(&o, 0, sizeof(o));
		free(in);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gzip_same_bytes_any_threads),
		cmocka_unit_test(test_zstd_same_bytes_any_threads),
		cmocka_unit_test(test_gzip_compresses),
		cmocka_unit_test(test_gzip_default_level_near_zlib6),
		cmocka_unit_test(test_gzip_joins_every_kind_of_block),
		cmocka_unit_test(test_round_trip_through_transform),
		cmocka_unit_test(test_write_error_stops),
		cmocka_unit_test(test_bad_levels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
