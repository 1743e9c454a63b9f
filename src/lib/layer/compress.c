/*
 * compress.c - streaming layer transforms: decompress gzip (multi-member) or
 * zstd, recompress to gzip or zstd, and diff IDs (sha256 of the plain tar).
 *
 * A transform is two stages: a decoder pulls input through the caller's
 * read callback and pushes plain bytes into the parallel compressor
 * (pcompress.c), which pushes compressed bytes into the caller's write
 * callback (from the caller's thread). Buffers are fixed-size chunks, so
 * memory does not grow with the layer.
 *
 * gzip is decoded by ISA-L's inflate (libisal), 2.4x zlib's speed on a Go
 * toolchain layer here (docs/PERFORMANCE.md): the decompressor is what a
 * cold build's base unpack and a scan of gzip layers wait for. It checks the
 * gzip header, CRC-32 and size of each member as zlib does.
 */
#include "berth/layer.h"

#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

/* ---- encoder: the parallel compressor (pcompress.c) ---- */

static int enc_put(void *ctx, const void *data, size_t len)
{
	return berth_layer_compressor_write(ctx, data, len);
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

static const char *isal_error(int r)
{
	switch (r) {
	case ISAL_INVALID_BLOCK: return "invalid block type";
	case ISAL_INVALID_SYMBOL: return "invalid code";
	case ISAL_INVALID_LOOKBACK: return "invalid distance too far back";
	case ISAL_INCORRECT_CHECKSUM: return "incorrect data check";
	default: return "corrupt stream";
	}
}

/*
 * The length of the gzip member header at p (n bytes there, RFC 1952 2.3):
 * > 0; 0 if it goes on past p + n; < 0 (message set) if it is not one. The
 * header CRC (FHCRC, which image tools do not write) is skipped, not checked:
 * the member's CRC-32 and the layer's digests cover the data.
 */
static long gzip_header_len(const unsigned char *p, size_t n)
{
	size_t at = 10;

	if (n < 2)
		return 0;
	if (p[0] != 0x1f || p[1] != 0x8b)
		return berth_error_set(BERTH_EINVALID, "gzip: incorrect header check");
	if (n < 10)
		return 0;
	if (p[2] != 8)
		return berth_error_set(BERTH_EINVALID, "gzip: unknown compression method");
	if (p[3] & 0xe0)
		return berth_error_set(BERTH_EINVALID, "gzip: unknown header flags set");
	if (p[3] & 4) { /* FEXTRA: a 2-byte length, then that many bytes */
		if (n < at + 2)
			return 0;
		at += 2 + (size_t)(p[at] | p[at + 1] << 8);
	}
	for (int flag = 8; flag <= 16; flag <<= 1) { /* FNAME, FCOMMENT: zero-terminated */
		const unsigned char *z;

		if (!(p[3] & flag))
			continue;
		z = at < n ? memchr(p + at, 0, n - at) : NULL;
		if (!z)
			return 0;
		at = (size_t)(z - p) + 1;
	}
	if (p[3] & 2) /* FHCRC */
		at += 2;
	return at <= n ? (long)at : 0;
}

/*
 * Start the next member: its header whole in `in` (pulled after what is left
 * there, at most CHUNK bytes: longer is refused), read and skipped, ISA-L
 * reset for its deflate data. 1: started; 0: the stream ended cleanly
 * (between members, after one); < 0: an error.
 */
static int gzip_member(struct inflate_state *z, unsigned char *in, berth_layer_read_fn read,
		       void *rctx, int members)
{
	long h;

	while ((h = gzip_header_len(z->next_in, z->avail_in)) == 0) {
		long n;

		if (z->avail_in == CHUNK)
			return berth_error_set(BERTH_EINVALID, "gzip: member header over %d bytes",
					       CHUNK);
		memmove(in, z->next_in, z->avail_in);
		z->next_in = in;
		n = pull(read, rctx, in + z->avail_in, CHUNK - z->avail_in);
		if (n < 0)
			return (int)n;
		if (n == 0) {
			if (z->avail_in || !members)
				return berth_error_set(BERTH_EINVALID, "gzip: stream is truncated");
			return 0;
		}
		z->avail_in += (uint32_t)n;
	}
	if (h < 0) {
		if (members) /* not another member (pigz, concatenated streams) */
			berth_error_set(BERTH_EINVALID,
					"gzip: trailing data after the end of the stream");
		return BERTH_EINVALID;
	}
	uint8_t *next = z->next_in + h;
	uint32_t avail = z->avail_in - (uint32_t)h;

	isal_inflate_reset(z);
	z->crc_flag = ISAL_GZIP_NO_HDR_VER;
	z->next_in = next;
	z->avail_in = avail;
	return 1;
}

/*
 * gzip members, each header read here (gzip_member) and its deflate data
 * and trailer (CRC-32 and size, checked) by ISA-L: its own header reader
 * keeps part of its state in uninitialised stack memory when a header is
 * split between two inputs (valgrind on a member with a long comment), so
 * it never sees one.
 */
static int decode_gzip(berth_layer_read_fn read, void *rctx, berth_layer_write_fn out, void *octx,
		       unsigned char *in, unsigned char *plain)
{
	/* ~100 KiB of state (ISA-L's history and look-ahead): not on the stack. */
	struct inflate_state *z = calloc(1, sizeof(*z));
	int rc = 0, members = 0, header = 1;

	if (!z)
		return berth_error_set(BERTH_ERROR, "out of memory");
	isal_inflate_init(z);
	z->next_in = in;
	z->avail_in = 0;
	for (;;) {
		if (header) {
			if ((rc = gzip_member(z, in, read, rctx, members)) <= 0)
				goto done;
			rc = 0;
			header = 0;
			members++;
		}
		if (z->avail_in == 0) {
			long n = pull(read, rctx, in, CHUNK);

			if (n < 0) {
				rc = (int)n;
				goto done;
			}
			if (n == 0) {
				rc = berth_error_set(BERTH_EINVALID, "gzip: stream is truncated");
				goto done;
			}
			z->next_in = in;
			z->avail_in = (uint32_t)n;
		}
		z->next_out = plain;
		z->avail_out = CHUNK;
		int zr = isal_inflate(z);

		if (zr < 0 || zr == ISAL_NEED_DICT) {
			rc = berth_error_set(BERTH_EINVALID, "gzip: %s", isal_error(zr));
			goto done;
		}
		if (CHUNK - z->avail_out) {
			rc = out(octx, plain, CHUNK - z->avail_out);
			if (rc < 0)
				goto done;
		}
		if (z->block_state == ISAL_BLOCK_FINISH)
			header = 1;
	}
done:
	free(z);
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
	berth_layer_compressor *e = NULL;
	int rc;

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
	if (to != BERTH_LAYER_UNCOMPRESSED && to != BERTH_LAYER_GZIP && to != BERTH_LAYER_ZSTD) {
		rc = berth_error_set(BERTH_EUNSUPPORTED, "unknown target compression");
		goto done;
	}
	if ((rc = berth_layer_compressor_new(&e, to, level, 0, write, wctx)) < 0)
		goto done;
	berth_error_clear();
	if (from == BERTH_LAYER_GZIP)
		rc = decode_gzip(read, rctx, enc_put, e, in, plain);
	else if (from == BERTH_LAYER_ZSTD)
		rc = decode_zstd(read, rctx, enc_put, e, in, plain);
	else
		rc = decode_plain(read, rctx, enc_put, e, in);
	if (rc < 0)
		goto done;
	rc = berth_layer_compressor_finish(e);
done:
	berth_layer_compressor_free(e);
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
