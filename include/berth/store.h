/*
 * berth/store.h - the content-addressed blob store and its upload sessions.
 *
 * A store is a driver table behind one API; today the `fs` driver:
 *   <root>/blobs/<algo>/<2 hex>/<hex>        committed blobs (read-only)
 *   <root>/uploads/<uuid>/data               bytes received so far
 *   <root>/uploads/<uuid>/startedat          creation time (for purging)
 * An upload is hashed while it streams; commit checks the digest, fsyncs the
 * data, renames it into blobs/ and fsyncs the directory, so a blob path only
 * ever holds complete, verified content. A later `s3` driver implements the
 * same functions.
 *
 * The `s3` driver (docs/s3.md) keeps everything in one bucket under an
 * optional root prefix:
 *   <root>/blobs/<algo>/<2 hex>/<hex>   index: {"key": "<data key>", "size": N}
 *   <root>/data/<upload uuid>           the bytes, as the multipart upload wrote them
 *   <root>/uploads/<uuid>/state         upload state (JSON): multipart id, part
 *                                       ETags, staged tail key, SHA-256 state
 *   <root>/uploads/<uuid>/tail-<offset> bytes past the last full part
 * A blob is visible only once its index object exists, which is written only
 * after the digest matched; the data object is never copied.
 *
 * Thread safety: a berth_store may be shared by all threads. One upload is
 * written by at most one holder at a time (berth_store_upload_open takes an
 * exclusive lock that works across processes sharing the directory).
 */
#ifndef BERTH_STORE_H
#define BERTH_STORE_H

#include "berth/buf.h"
#include "berth/common.h"
#include "berth/digest.h"

#include <stdint.h>
#include <time.h>

typedef struct berth_store berth_store;
typedef struct berth_upload berth_upload;

#define BERTH_UPLOAD_ID_MAX 37 /* uuid text + NUL */

/**
 * Open a store. `location` is a directory path (fs driver) or
 * "file://<path>". The directory is created if missing.
 */
int berth_store_open(berth_store **out, const char *location) BERTH_WARN_UNUSED;
void berth_store_free(berth_store *s);

/* ---- the s3 driver ---- */

#define BERTH_S3_PART_MIN (5ull << 20)	    /* S3's smallest non-final part */
#define BERTH_S3_PART_MAX (512ull << 20)    /* our largest part (memory per open upload) */
#define BERTH_S3_PART_DEFAULT (10ull << 20) /* chunksize when not set (as Distribution) */

/*
 * Settings of the s3 driver, shaped like Distribution's storage.s3. Strings
 * are borrowed for the duration of berth_store_open_s3 (copied). NULL or 0
 * means "not set": accesskey/secretkey then come from AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY, else ~/.aws/credentials (profile AWS_PROFILE or
 * default); region from AWS_REGION / AWS_DEFAULT_REGION, else us-east-1.
 */
typedef struct berth_store_s3_config {
	const char *endpoint; /* "http(s)://host[:port]"; NULL: s3.<region>.amazonaws.com */
	const char *region;
	const char *bucket; /* required */
	const char *accesskey;
	const char *secretkey;
	const char *rootdirectory; /* key prefix, [A-Za-z0-9/._-] */
	const char *storageclass;  /* x-amz-storage-class of new objects; NULL: server default */
	int forcepathstyle;	   /* -1: unset (path style when an endpoint is given) */
	int secure;		   /* -1: unset (https); endpoint's scheme wins */
	int redirect;		   /* 1: pulls answer 307 to a presigned URL */
	uint64_t chunksize;	   /* multipart part size, in [PART_MIN, PART_MAX] */
	unsigned timeout;	   /* seconds without progress before a request is retried (30) */
	unsigned maxretries;	   /* retries of a failed request (default 4) */
} berth_store_s3_config;

/** Open an s3 store. BERTH_EINVALID for a bad setting (message names it). */
int berth_store_open_s3(berth_store **out, const berth_store_s3_config *cfg) BERTH_WARN_UNUSED;

/**
 * Parse "s3://BUCKET[/ROOT][?endpoint=URL&region=R&forcepathstyle=true&chunksize=N&...]"
 * (every berth_store_s3_config field name is a query key) into `cfg`, whose
 * strings then point into `*storage` (caller frees). For the CLI.
 */
int berth_store_s3_config_parse(berth_store_s3_config *cfg, char **storage,
				const char *url) BERTH_WARN_UNUSED;

/**
 * A reader of a committed blob for drivers that have no local file (s3):
 * reads are served from ranged GETs of a window at a time.
 */
typedef struct berth_blob_reader berth_blob_reader;

/** Open a reader; `*size` gets the blob's size. BERTH_ENOTFOUND if absent. */
int berth_store_reader_open(berth_blob_reader **out, berth_store *s, const berth_digest *d,
			    uint64_t *size) BERTH_WARN_UNUSED;
/** Copy up to `max` bytes at `pos` into `buf`: count (> 0), 0 at the end, -1 on error. */
long berth_blob_reader_read(berth_blob_reader *r, uint64_t pos, char *buf, size_t max);
void berth_blob_reader_free(berth_blob_reader *r);

/**
 * A presigned URL (caller frees) that answers GET with the blob for
 * `expires` seconds, when the store is configured to redirect pulls.
 * BERTH_EUNSUPPORTED otherwise (then serve the bytes).
 */
int berth_store_redirect_url(berth_store *s, const berth_digest *d, unsigned expires,
			     char **url) BERTH_WARN_UNUSED;

/** The driver's name ("fs", "s3"). */
const char *berth_store_driver(const berth_store *s);

/* ---- migration between stores ---- */

/** Called after each blob; return non-zero to stop (BERTH_ERROR). */
typedef int (*berth_store_progress_fn)(void *ctx, const berth_digest *d, uint64_t size, int copied,
				       uint64_t done, uint64_t total);

typedef struct berth_store_migrate_stats {
	uint64_t blobs, copied, skipped, bytes;
} berth_store_migrate_stats;

/**
 * Copy every committed blob of `from` into `to`, streamed through an upload
 * of `to` so each digest is verified on arrival. Blobs `to` already has are
 * skipped, so an interrupted run is resumed by running it again. `from`
 * must be able to list its blobs (fs). `stats` (optional) gets counts.
 */
int berth_store_migrate(berth_store *from, berth_store *to, berth_store_progress_fn progress,
			void *ctx, berth_store_migrate_stats *stats) BERTH_WARN_UNUSED;

/** Size of a committed blob; BERTH_ENOTFOUND if absent. */
int berth_store_stat(berth_store *s, const berth_digest *d, uint64_t *size) BERTH_WARN_UNUSED;

/**
 * Open a committed blob for reading. `*fd` is a read-only descriptor the
 * caller closes (the server hands it to sendfile). BERTH_ENOTFOUND if absent.
 */
int berth_store_open_blob(berth_store *s, const berth_digest *d, int *fd,
			  uint64_t *size) BERTH_WARN_UNUSED;

/** Read a whole blob into memory, capped by out->max (BERTH_ETOOBIG beyond). */
int berth_store_read_blob(berth_store *s, const berth_digest *d,
			  struct berth_buf *out) BERTH_WARN_UNUSED;

/**
 * Store `data` as a blob after checking it hashes to `expected`
 * (BERTH_EDIGEST otherwise). Idempotent if the blob exists.
 */
int berth_store_put(berth_store *s, const berth_digest *expected, const void *data,
		    size_t len) BERTH_WARN_UNUSED;

/** Remove a committed blob; BERTH_ENOTFOUND if absent. */
int berth_store_delete(berth_store *s, const berth_digest *d) BERTH_WARN_UNUSED;

/* ---- upload sessions ---- */

/*
 * Every function taking an upload `id` returns BERTH_EINVALID for an id that
 * is not a valid upload id (so no path is ever built from a bad one).
 */

/** 1 if `id` has the shape of an upload id (a lowercase uuid); guards paths. */
int berth_store_upload_id_valid(const char *id);

/** Start an empty upload; writes a fresh uuid into `id_out`. */
int berth_store_upload_create(berth_store *s, char id_out[BERTH_UPLOAD_ID_MAX]) BERTH_WARN_UNUSED;

/** Bytes received so far by an upload; BERTH_ENOTFOUND if unknown. */
int berth_store_upload_size(berth_store *s, const char *id, uint64_t *size) BERTH_WARN_UNUSED;

/**
 * Open an upload for appending, exclusively. BERTH_ENOTFOUND if unknown,
 * BERTH_EBUSY if another request holds it. The hash state is resumed from an
 * in-process cache, or recomputed from the data on disk (after a restart).
 */
int berth_store_upload_open(berth_upload **out, berth_store *s, const char *id) BERTH_WARN_UNUSED;

/** Current size (offset of the next byte) of an open upload. */
uint64_t berth_upload_offset(const berth_upload *u);

/** The id of an open upload (borrowed, valid while `u` is). */
const char *berth_upload_id(const berth_upload *u);

/**
 * A new descriptor `*fd` (caller closes) from which the bytes written so far
 * can be read with pread() while the upload grows; it keeps reading the same
 * data once the upload is committed. BERTH_EUNSUPPORTED if the driver has no
 * local file. For the pull-through mirror (berth/mirror.h): clients are
 * served a blob while it is being fetched and stored.
 */
int berth_upload_reader(berth_upload *u, int *fd) BERTH_WARN_UNUSED;

/** Append bytes at the end (streaming; hashed as written). */
int berth_upload_write(berth_upload *u, const void *data, size_t len) BERTH_WARN_UNUSED;

/** Make the bytes written so far durable (before answering 202). */
int berth_upload_sync(berth_upload *u) BERTH_WARN_UNUSED;

/**
 * Finish: check the content hashes to `expected` (BERTH_EDIGEST otherwise),
 * commit it atomically as a blob, delete the upload, and free `u` (in all
 * cases). `size_out` (optional) gets the blob size. On BERTH_EDIGEST the
 * upload is deleted too: nothing partial is kept.
 */
int berth_upload_commit(berth_upload *u, const berth_digest *expected,
			uint64_t *size_out) BERTH_WARN_UNUSED;

/** Release the lock and free `u`; the upload stays and can be reopened. */
void berth_upload_close(berth_upload *u);

/**
 * Cancel: delete the upload's data. BERTH_ENOTFOUND if unknown, BERTH_EBUSY
 * if it is open (being written) right now.
 */
int berth_store_upload_delete(berth_store *s, const char *id) BERTH_WARN_UNUSED;

/**
 * Delete uploads started before `cutoff` (wall clock seconds) that no one
 * holds. `purged` (optional) gets the count.
 */
int berth_store_upload_purge(berth_store *s, time_t cutoff, int *purged) BERTH_WARN_UNUSED;

/* ---- statistics (for metrics and tests) ---- */

typedef struct berth_store_stats {
	uint64_t hash_resumed;	  /* upload opens that resumed a cached hash state */
	uint64_t hash_recomputed; /* upload opens that re-read the data to hash it */
	uint64_t bytes_rehashed;  /* bytes re-read for those recomputations */
	uint64_t requests;	  /* s3: HTTP requests sent (retries included) */
	uint64_t retries;	  /* s3: requests sent again after a retryable failure */
	uint64_t bytes_out;	  /* s3: request body bytes sent */
	uint64_t bytes_in;	  /* s3: response body bytes received */
} berth_store_stats;

/** Snapshot of the store's counters since berth_store_open. */
void berth_store_get_stats(berth_store *s, berth_store_stats *out);

#endif
