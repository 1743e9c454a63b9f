/*
 * berth/store.h - the content-addressed blob store and its upload sessions.
 *
 * A store is a driver table behind one API; today the `fs` driver:
 *   <root>/blobs/<algo>/<2 hex>/<hex>        committed blobs (read-only)
 *   <root>/uploads/<uuid>/data               bytes received so far
 *   <root>/uploads/<uuid>/startedat          creation time (for purging)
 * An upload is hashed while it streams (or by its caller, who verified every
 * byte: berth_upload_hash_by_caller); commit checks the digest, fsyncs the
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

/**
 * Hand the hashing of `u` to the caller, so that no byte is hashed twice:
 * from the first byte on, the caller hashes every byte it writes through
 * `u`, in order, and once that hash matched the digest it expected, commits
 * with berth_upload_commit_hashed. Only for an upload with no bytes yet
 * (BERTH_EINVALID otherwise). The store keeps no hash state for it: a plain
 * berth_upload_commit, or a later open after a close, hashes the stored
 * bytes again. (A driver may still hash as it writes: s3 does, for the
 * state it saves.) For the pull-through mirror, whose upstream client
 * verifies every blob it receives.
 */
int berth_upload_hash_by_caller(berth_upload *u) BERTH_WARN_UNUSED;

/**
 * berth_upload_commit for an upload handed to its caller's hashing
 * (berth_upload_hash_by_caller) whose every byte the caller hashed to
 * `verified`: the store commits it as that blob without hashing it again.
 * On an upload not handed over, the same as berth_upload_commit.
 */
int berth_upload_commit_hashed(berth_upload *u, const berth_digest *verified,
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

/* ---- garbage collection ---- */

/*
 * The sweep of the garbage collector (the mark is the caller's: metadata
 * says which digests are wanted, berth_meta_blob_referenced). A committed
 * blob goes when the mark says it is not referenced and it was last written
 * before `grace_cutoff`; the mark is asked again just before each deletion
 * (s3: before each DeleteObjects batch), so a push linking a blob while the
 * sweep runs keeps it. The grace period covers the other race: an upload
 * commits (blob visible) a moment before its link is recorded, possibly in
 * another process. fs: "last written" is the later of the file's mtime and
 * ctime (a commit's rename sets ctime). s3: an index object's LastModified;
 * a data object is kept while an index names it, its upload's state object
 * exists, or it is younger than the grace.
 */
typedef enum berth_store_gc_kind {
	BERTH_STORE_GC_BLOB,	  /* a committed blob (name: its digest) */
	BERTH_STORE_GC_DATA,	  /* s3: a data object no index names (name: its key) */
	BERTH_STORE_GC_MULTIPART, /* s3: a multipart upload with no upload state (name: key) */
} berth_store_gc_kind;

/** 1 if blob `d` is referenced (keep it), 0 if not, a negative code to stop. */
typedef int (*berth_store_gc_ref_fn)(void *ctx, const berth_digest *d);
/** Told of each object deleted (in a dry run: that would be); size 0 when unknown. */
typedef void (*berth_store_gc_report_fn)(void *ctx, berth_store_gc_kind kind, const char *name,
					 uint64_t size);

typedef struct berth_store_gc_opts {
	time_t grace_cutoff;		  /* objects last written at or after this are kept */
	time_t upload_cutoff;		  /* s3: multipart uploads initiated before this, with no
					     upload state, are aborted */
	int dry_run;			  /* report only, delete nothing */
	berth_store_gc_ref_fn referenced; /* required */
	berth_store_gc_report_fn report;  /* optional */
	void *ctx;			  /* for both callbacks */
} berth_store_gc_opts;

typedef struct berth_store_gc_stats {
	uint64_t blobs;		    /* committed blobs looked at */
	uint64_t kept_referenced;   /* ... kept because referenced */
	uint64_t kept_young;	    /* ... kept because written within the grace */
	uint64_t blobs_deleted;	    /* ... deleted (dry run: to delete) */
	uint64_t data_deleted;	    /* s3: orphaned data objects deleted */
	uint64_t bytes_deleted;	    /* bytes of blobs and data objects deleted */
	uint64_t multipart_aborted; /* s3: stale multipart uploads aborted */
} berth_store_gc_stats;

/**
 * Sweep the store: delete what the mark does not want (rules above).
 * `stats` (optional) gets counts. Stops at the first failed listing or
 * deletion (the message says which); what was deleted before stays deleted.
 */
int berth_store_gc(berth_store *s, const berth_store_gc_opts *o,
		   berth_store_gc_stats *stats) BERTH_WARN_UNUSED;

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

/* Per-operation counters of a driver's remote requests (s3), for /metrics. */
#define BERTH_STORE_OP_CLASSES 5  /* answers 2xx, 3xx, 4xx, 5xx; "error": no answer */
#define BERTH_STORE_OP_BUCKETS 12 /* latency histogram bounds, berth_store_op_bucket() */
#define BERTH_STORE_OPS_MAX 16	  /* operations a driver may name */

typedef struct berth_store_op_stats {
	const char *op;				   /* "GetObject", "UploadPart", ... (static) */
	uint64_t by_class[BERTH_STORE_OP_CLASSES]; /* attempts, by the class of the answer */
	uint64_t retries;			   /* attempts that were retries */
	uint64_t bytes_out, bytes_in;		   /* request and response body bytes */
	uint64_t hist[BERTH_STORE_OP_BUCKETS + 1]; /* attempts per latency bucket (+Inf last) */
	uint64_t sum_us;			   /* total latency, microseconds */
} berth_store_op_stats;

/** Upper bound (seconds) of latency bucket `i` < BERTH_STORE_OP_BUCKETS. */
double berth_store_op_bucket(unsigned i);
/** Name of class `i` < BERTH_STORE_OP_CLASSES ("2xx" ... "error"). */
const char *berth_store_op_class(unsigned i);

/**
 * Fill `out` (room for `max`, BERTH_STORE_OPS_MAX is enough) with one entry
 * per operation the driver has sent at least once; returns how many. 0 for
 * drivers without remote requests (fs). Thread-safe (a snapshot).
 */
size_t berth_store_get_op_stats(berth_store *s, berth_store_op_stats *out, size_t max);

/** Snapshot of the store's counters since berth_store_open. */
void berth_store_get_stats(berth_store *s, berth_store_stats *out);

#endif
