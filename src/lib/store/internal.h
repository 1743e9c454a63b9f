/*
 * store_internal.h - what the store's front (store.c) shares with its
 * drivers (store_fs.c now, an s3 driver later): the driver table, the common
 * parts of a store and of an upload, and the in-process hash-state cache.
 *
 * The front validates every argument (digests, upload ids) before calling a
 * driver, so drivers may build paths or keys from them directly.
 */
#ifndef BERTH_STORE_INTERNAL_H
#define BERTH_STORE_INTERNAL_H

#include "berth/store.h"

#include <pthread.h>
#include <stdatomic.h>

struct berth_buf;

/* One driver: every operation of the public API, minus argument checks. */
typedef struct berth_store__driver {
	const char *name;
	void (*free)(berth_store *s);
	int (*stat)(berth_store *s, const berth_digest *d, uint64_t *size);
	int (*open_blob)(berth_store *s, const berth_digest *d, int *fd, uint64_t *size);
	int (*read_blob)(berth_store *s, const berth_digest *d, struct berth_buf *out);
	int (*put)(berth_store *s, const berth_digest *expected, const void *data, size_t len);
	int (*delete_blob)(berth_store *s, const berth_digest *d);
	/* Create the upload `id` (a fresh uuid chosen by the front). */
	int (*upload_create)(berth_store *s, const char *id);
	int (*upload_size)(berth_store *s, const char *id, uint64_t *size);
	/* Lock and open; sets up the hasher (cache or recompute) and offset. */
	int (*upload_open)(berth_upload **out, berth_store *s, const char *id);
	int (*upload_write)(berth_upload *u, const void *data, size_t len);
	/* A new read-only (pread) descriptor on the upload's data; may be NULL. */
	int (*upload_reader)(berth_upload *u, int *fd);
	int (*upload_sync)(berth_upload *u);
	/*
	 * Verify and commit; does not free `u` (the front calls release).
	 * `hashed`: the caller already verified every byte against `expected`
	 * (berth_upload_commit_hashed), the driver need not hash them.
	 */
	int (*upload_commit)(berth_upload *u, const berth_digest *expected, int hashed,
			     uint64_t *size_out);
	/* Bring u->hasher up to date with every byte written (may be NULL after). */
	void (*upload_settle)(berth_upload *u);
	/* Unlock and free the driver's upload (the hasher is already gone). */
	void (*upload_release)(berth_upload *u);
	int (*upload_delete)(berth_store *s, const char *id);
	int (*upload_purge)(berth_store *s, time_t cutoff, int *purged);
	/* Optional (NULL: the front reads through open_blob's descriptor). */
	int (*reader_open)(berth_blob_reader **out, berth_store *s, const berth_digest *d,
			   uint64_t *size);
	/* Optional: presigned GET URL of a blob (berth_store_redirect_url). */
	int (*redirect_url)(berth_store *s, const berth_digest *d, unsigned expires, char **url);
	/* Optional: call `fn` for every committed blob (migration); stops at fn's error. */
	int (*list)(berth_store *s, int (*fn)(void *ctx, const berth_digest *d), void *ctx);
	/* Sweep unreferenced blobs (berth_store_gc); `st` is zeroed by the front. */
	int (*gc)(berth_store *s, const berth_store_gc_opts *o, berth_store_gc_stats *st);
	/* Optional: per-operation counters (berth_store_get_op_stats). */
	size_t (*op_stats)(berth_store *s, berth_store_op_stats *out, size_t max);
	/* Optional: add the driver's counters to `out`. */
	void (*stats)(berth_store *s, berth_store_stats *out);
} berth_store__driver;

/* A blob reader: drivers embed this head first. */
struct berth_blob_reader {
	long (*read)(berth_blob_reader *r, uint64_t pos, char *buf, size_t max);
	void (*free)(berth_blob_reader *r);
};

/* Hash-state cache: upload id -> hasher, bounded, LRU-evicted. */
#define BERTH_STORE__CACHE_MAX 1024
#define BERTH_STORE__CACHE_BUCKETS 1024

struct berth_store__cache_ent;

struct berth_store {
	const berth_store__driver *drv;
	void *impl; /* the driver's state */

	pthread_mutex_t cache_mu; /* guards the fields below; never held during I/O */
	struct berth_store__cache_ent *buckets[BERTH_STORE__CACHE_BUCKETS];
	struct berth_store__cache_ent *lru_head, *lru_tail; /* head = most recent */
	size_t cache_len;

	atomic_uint_fast64_t hash_resumed;
	atomic_uint_fast64_t hash_recomputed;
	atomic_uint_fast64_t bytes_rehashed;
};

/* The common head of every driver's upload object. */
struct berth_upload {
	berth_store *store;
	char id[BERTH_UPLOAD_ID_MAX];
	uint64_t offset;      /* bytes in the upload (next write lands here) */
	berth_hasher *hasher; /* hash of bytes [0, offset) as far as known; may be NULL */
	int caller_hashed;    /* berth_upload_hash_by_caller: hasher stays NULL */
};

/*
 * Hand `h` (owned) to the cache under `id`. Frees an older entry for the same
 * id and evicts the least recently used entry when full.
 */
void berth_store__cache_put(berth_store *s, const char *id, berth_hasher *h);
/* Take the cached hasher of `id` out of the cache (NULL if none); caller owns it. */
berth_hasher *berth_store__cache_take(berth_store *s, const char *id);
/* Forget `id` (upload deleted or committed). */
void berth_store__cache_drop(berth_store *s, const char *id);

/* Open the fs driver on directory `path` into `s` (sets s->drv and s->impl). */
int berth_store__fs_open(berth_store *s, const char *path) BERTH_WARN_UNUSED;

/* Every committed blob of `s` (BERTH_EUNSUPPORTED if the driver cannot list). */
int berth_store__list(berth_store *s, int (*fn)(void *ctx, const berth_digest *d),
		      void *ctx) BERTH_WARN_UNUSED;

/* Open the s3 driver into `s` (sets s->drv and s->impl); cfg is checked here. */
int berth_store__s3_open(berth_store *s, const berth_store_s3_config *cfg) BERTH_WARN_UNUSED;

#endif
