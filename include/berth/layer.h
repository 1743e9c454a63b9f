/*
 * berth/layer.h - layer blobs as byte streams: their compression (none,
 * gzip, zstd), streaming decompress/compress transforms, and diff IDs.
 *
 * Everything streams through caller-supplied read/write callbacks in fixed
 * chunks, so a layer of any size never sits in memory. The copy engine uses
 * this for --dest-compress; the builder and scanner use the diff IDs.
 */
#ifndef BERTH_LAYER_H
#define BERTH_LAYER_H

#include "berth/common.h"
#include "berth/digest.h"

#include <stddef.h>

#define BERTH_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define BERTH_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define BERTH_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define BERTH_MT_OCI_LAYER_ND "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define BERTH_MT_OCI_LAYER_ND_GZIP "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define BERTH_MT_OCI_LAYER_ND_ZSTD "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
#define BERTH_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define BERTH_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define BERTH_MT_DOCKER_LAYER_ZSTD "application/vnd.docker.image.rootfs.diff.tar.zstd"
#define BERTH_MT_DOCKER_FOREIGN_GZIP "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

typedef enum {
	BERTH_LAYER_UNKNOWN = -1,     /* not a layer media type berth knows */
	BERTH_LAYER_UNCOMPRESSED = 0, /* plain tar */
	BERTH_LAYER_GZIP = 1,
	BERTH_LAYER_ZSTD = 2
} berth_layer_compression;

/** The compression a layer media type announces, or BERTH_LAYER_UNKNOWN. */
berth_layer_compression berth_layer_compression_of(const char *media_type);

/** The compression the first bytes of a blob show (magic numbers); plain otherwise. */
berth_layer_compression berth_layer_detect(const void *head, size_t len);

/** "gzip", "zstd" or "none" → the enum; BERTH_EINVALID with a message otherwise. */
int berth_layer_compression_parse(berth_layer_compression *out, const char *name) BERTH_WARN_UNUSED;

/** "gzip", "zstd", "none" (static). */
const char *berth_layer_compression_name(berth_layer_compression c);

/**
 * The media type a layer of type `media_type` gets once recompressed to `c`,
 * in the same family (OCI stays OCI, Docker stays Docker, non-distributable
 * stays so). Static storage; NULL if `media_type` is not a known layer type
 * or the family has no such type (Docker foreign layers are gzip only).
 */
const char *berth_layer_media_type_with(const char *media_type, berth_layer_compression c);

/** Pull up to `cap` bytes; the count, 0 at end, or a negative BERTH_E* code. */
typedef long (*berth_layer_read_fn)(void *ctx, void *buf, size_t cap);
/** Take `len` bytes; 0 or a negative BERTH_E* code (which aborts the transform). */
typedef int (*berth_layer_write_fn)(void *ctx, const void *data, size_t len);

/**
 * Stream `read` through a decompressor for `from` and a compressor for `to`
 * into `write`. from == to is a plain copy. gzip input may hold several
 * concatenated members (as pigz writes); trailing garbage or a truncated
 * stream is BERTH_EINVALID. `level` < 0 picks the default of each format
 * (gzip 6, zstd 3).
 */
int berth_layer_transform(berth_layer_compression from, berth_layer_compression to, int level,
			  berth_layer_read_fn read, void *rctx, berth_layer_write_fn write,
			  void *wctx) BERTH_WARN_UNUSED;

/**
 * The diff ID of a layer: the sha256 digest of its uncompressed tar, read
 * from `read` compressed as `from`. `size_out` (optional) gets the
 * uncompressed size.
 */
int berth_layer_diff_id(berth_digest *out, uint64_t *size_out, berth_layer_compression from,
			berth_layer_read_fn read, void *rctx) BERTH_WARN_UNUSED;

/* ---- the parallel compressor ---- */

#define BERTH_LAYER_THREADS_MAX 64 /* compressor threads at most */

typedef struct berth_layer_compressor berth_layer_compressor;

/**
 * The compressor threads used when a caller asks for 0: $BERTH_COMPRESS_THREADS
 * (1 to BERTH_LAYER_THREADS_MAX) when set, else the number of online CPUs.
 */
int berth_layer_default_threads(void);

/**
 * A push-style compressor into `write`: gzip as pigz compresses (128 KiB
 * blocks deflated in parallel, each with the 32 KiB before it as
 * dictionary, one gzip member), zstd through libzstd's workers, or none
 * (a pass-through). `level` < 0 is the format's default (gzip 6, zstd 3);
 * `threads` <= 0 is berth_layer_default_threads(). The bytes written are
 * the same for every thread count (a layer's digest never depends on the
 * machine). Memory is bounded (about 2 x threads x 300 KiB for gzip).
 * BERTH_EINVALID for a level out of range. One compressor belongs to one
 * thread; `write` is only called from that thread.
 */
int berth_layer_compressor_new(berth_layer_compressor **out, berth_layer_compression c, int level,
			       int threads, berth_layer_write_fn write,
			       void *wctx) BERTH_WARN_UNUSED;
/** Compress `len` more bytes; after an error every later call fails. */
int berth_layer_compressor_write(berth_layer_compressor *z, const void *data,
				 size_t len) BERTH_WARN_UNUSED;
/** End the stream (write what is left and the trailer). */
int berth_layer_compressor_finish(berth_layer_compressor *z) BERTH_WARN_UNUSED;
/** Stop the workers and free; NULL is fine. */
void berth_layer_compressor_free(berth_layer_compressor *z);

/** A berth_layer_read_fn over a file descriptor (ctx points at an int fd). */
long berth_layer_read_fd(void *ctx, void *buf, size_t cap);
/** A berth_layer_write_fn over a file descriptor (ctx points at an int fd). */
int berth_layer_write_fd(void *ctx, const void *data, size_t len);

#endif
