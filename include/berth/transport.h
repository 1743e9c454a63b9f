/*
 * berth/transport.h - image sources and destinations, and the one copy engine
 * that every command uses (copy, build, replicate, mirror, sign).
 *
 * Image names, as skopeo spells them:
 *   docker://host[:port]/repo[:tag|@digest]   a registry (berth/client.h)
 *   oci:PATH[:tag]                            an OCI image layout directory
 *   oci-archive:FILE[:tag]                    a tar of an OCI image layout
 *   docker-archive:FILE[:name:tag]            `docker save` format
 *
 * A source yields manifests (exact bytes) and blobs (streams); a destination
 * takes blobs (streamed, verified against their digest and size before they
 * become visible) and manifests, and only shows the image once committed:
 * a destination freed without berth_dest_commit leaves nothing of the image
 * behind (a layout gets no new index.json entry and its new blobs are
 * removed; an archive file is not created; a registry gets no tag).
 */
#ifndef BERTH_TRANSPORT_H
#define BERTH_TRANSPORT_H

#include "berth/buf.h"
#include "berth/common.h"
#include "berth/digest.h"
#include "berth/layer.h"
#include "berth/oci.h"
#include "berth/ref.h"

#include <pthread.h>
#include <stdint.h>

typedef enum {
	BERTH_TRANSPORT_DOCKER = 1,
	BERTH_TRANSPORT_OCI,
	BERTH_TRANSPORT_OCI_ARCHIVE,
	BERTH_TRANSPORT_DOCKER_ARCHIVE
} berth_transport_kind;

struct berth_client; /* berth/client.h */

typedef struct berth_image_name {
	berth_transport_kind kind;
	berth_ref *ref; /* docker: the parsed reference; archives: name:tag if given */
	char *path;	/* oci/oci-archive/docker-archive: the file or directory */
	char *tag;	/* oci/oci-archive: the ref name in index.json, or NULL */
	int index;	/* docker-archive: the image ":@N" selects, else -1 */
} berth_image_name;

/**
 * Parse "transport:details". Unknown transport, missing path or a bad
 * reference: BERTH_EINVALID with a message naming what was wrong.
 */
int berth_image_name_parse(berth_image_name **out, const char *s) BERTH_WARN_UNUSED;
void berth_image_name_free(berth_image_name *n);
/** Canonical text form (caller frees). */
char *berth_image_name_format(const berth_image_name *n);

typedef struct berth_transport_options {
	int tls_verify;	      /* default 1 */
	const char *username; /* --creds user:pass split, or NULL */
	const char *password;
	const char *auth_file; /* NULL: standard search */
	const char *cert_dir;
	int plain_http; /* docker://: 1 forces http, -1 https (loopback too), 0 automatic */
	/*
	 * docker://: a client of the name's registry to use instead of making
	 * one (borrowed; it must outlive the source or destination), so that
	 * many copies share its connections and tokens. The fields above are
	 * then not read for docker://.
	 */
	struct berth_client *client;
} berth_transport_options;

void berth_transport_options_init(berth_transport_options *o);

/* ---- blob streams ---- */

/** A readable stream of one blob's bytes (a file, or a pipe fed by a thread). */
typedef struct berth_stream berth_stream;
/** Read up to cap bytes; returns count, 0 at end, or a negative BERTH_E* code. */
long berth_stream_read(berth_stream *s, void *buf, size_t cap);
/** Close; reports a producer-side error (e.g. a digest mismatch upstream) if any. */
int berth_stream_close(berth_stream *s);

/* ---- sources ---- */

typedef struct berth_source berth_source;

int berth_source_open(berth_source **out, const berth_image_name *n,
		      const berth_transport_options *o) BERTH_WARN_UNUSED;

/**
 * Get a manifest's exact bytes: the named image's top-level manifest when
 * `d` is NULL, else the manifest with digest `d` (a child of an index).
 * `media_type` gets its media type and `digest_out` (optional) its digest.
 */
int berth_source_manifest(berth_source *s, const berth_digest *d, struct berth_buf *body,
			  char *media_type, size_t media_type_len,
			  berth_digest *digest_out) BERTH_WARN_UNUSED;

/** Open a blob for streaming. The stream is verified by whoever consumes it. */
int berth_source_blob(berth_source *s, const berth_descriptor *desc,
		      berth_stream **out) BERTH_WARN_UNUSED;

void berth_source_free(berth_source *s);

/* ---- destinations ---- */

typedef struct berth_dest berth_dest;

int berth_dest_open(berth_dest **out, const berth_image_name *n,
		    const berth_transport_options *o) BERTH_WARN_UNUSED;

/** 0 if the destination already holds the blob; BERTH_ENOTFOUND if not. */
int berth_dest_has_blob(berth_dest *d, const berth_descriptor *desc) BERTH_WARN_UNUSED;

/**
 * Try to make the blob present without sending bytes (registry: a
 * cross-repository mount from `from_repo` on the same registry).
 * BERTH_ENOTFOUND if that is not possible.
 */
int berth_dest_mount_blob(berth_dest *d, const berth_descriptor *desc,
			  const char *from_repo) BERTH_WARN_UNUSED;

/**
 * Store a blob from `in` (consumed, not closed). The bytes are hashed and
 * counted as they pass: BERTH_EDIGEST / BERTH_ESIZE if they do not match
 * `desc`, and nothing becomes visible.
 */
int berth_dest_put_blob(berth_dest *d, const berth_descriptor *desc,
			berth_stream *in) BERTH_WARN_UNUSED;

/**
 * Store a manifest. `top_level` marks the image's own manifest (which gets
 * the destination's tag); children of an index are stored by digest first.
 */
int berth_dest_put_manifest(berth_dest *d, const void *body, size_t len, const char *media_type,
			    const berth_digest *digest, int top_level) BERTH_WARN_UNUSED;

/** Make the image visible (write index.json / the archive). */
int berth_dest_commit(berth_dest *d) BERTH_WARN_UNUSED;

/** Free; without a commit, removes what this destination wrote. */
void berth_dest_free(berth_dest *d);

/* ---- the copy engine ---- */

typedef enum {
	BERTH_COPY_BLOB_START = 1, /* bytes = size */
	BERTH_COPY_BLOB_PROGRESS,  /* bytes = done so far */
	BERTH_COPY_BLOB_DONE,
	BERTH_COPY_BLOB_SKIPPED, /* destination had it */
	BERTH_COPY_BLOB_MOUNTED,
	BERTH_COPY_MANIFEST_DONE
} berth_copy_event;

/** Progress callback; called from worker threads (serialised by the engine). */
typedef void (*berth_copy_progress)(void *ctx, berth_copy_event ev, const berth_descriptor *desc,
				    uint64_t bytes);

/*
 * A bandwidth budget that several copies share (replication's executions):
 * every blob's bytes of every copy given it take their turn on one timeline.
 */
typedef struct berth_copy_pacer {
	uint64_t bandwidth; /* bytes per second; 0 = unlimited */
	pthread_mutex_t mu;
	double next; /* when the timeline is free again (CLOCK_MONOTONIC seconds) */
} berth_copy_pacer;

void berth_copy_pacer_init(berth_copy_pacer *p, uint64_t bandwidth);
void berth_copy_pacer_dispose(berth_copy_pacer *p);
/** Account `n` bytes just read: sleeps until their share of the budget ends. Thread-safe. */
void berth_copy_pacer_take(berth_copy_pacer *p, size_t n);

/*
 * Where the destination's registry already holds a blob, for a copy from
 * another registry: a repository there to mount `desc` from (borrowed, valid
 * for the copy), or NULL. Called from worker threads, before any HEAD.
 */
typedef const char *(*berth_copy_mount_hint)(void *ctx, const berth_descriptor *desc);

/*
 * A second reader of each layer's bytes while they stream to the destination
 * (the build unpacks a base's layers while they download). Per attempt at a
 * layer: open() gets its descriptor and compression and returns a sink, or
 * NULL for none; write() gets the bytes in order (a failure stops the tee, not
 * the copy); close() ends the attempt with its result, 0 when the destination
 * kept the blob (whose digest it checked). Called from worker threads; not
 * for a layer the destination already has, nor one the copy recompresses.
 */
typedef struct berth_copy_tee {
	void *(*open)(void *ctx, const berth_descriptor *d, berth_layer_compression c);
	int (*write)(void *sink, const void *data, size_t len);
	void (*close)(void *sink, int rc);
	void *ctx;
} berth_copy_tee;

typedef struct berth_copy_options {
	int all; /* copy an index and every child */
	const char
		*platform; /* "os/arch[/variant]" to pick from an index; NULL = linux/<host arch> */
	int parallel;	   /* blobs in flight, default 4 */
	const char *format;   /* NULL keep, "oci" or "v2s2": convert the manifest */
	int keep_format;      /* with format NULL: an oci: destination keeps a Docker manifest and
				 config as they are (they convert to OCI otherwise, as containers/image
				 does, which drops the Docker config's OnBuild, Healthcheck, Shell) */
	const char *compress; /* NULL keep, "gzip" or "zstd": recompress layers */
	berth_copy_progress progress;
	void *progress_ctx;
	int retries;	    /* per blob, default 3 (with backoff) */
	uint64_t bandwidth; /* bytes per second over all blobs in flight; 0 = unlimited */
	/*
	 * Also copy what is attached to each manifest written (cosign's .sig,
	 * .att, .sbom tags and OCI 1.1 referrers), after the image is
	 * committed. docker:// to docker:// only, without --format or
	 * --dest-compress (BERTH_EUNSUPPORTED / BERTH_EINVALID otherwise).
	 */
	int with_signatures;
	berth_copy_pacer *pacer;	  /* shared budget used instead of `bandwidth`, or NULL */
	berth_copy_mount_hint mount_hint; /* or NULL; gets progress_ctx */
	berth_copy_tee tee;		  /* open NULL: none */
} berth_copy_options;

void berth_copy_options_init(berth_copy_options *o);

/**
 * Copy the image named by `src` to `dst`. `digest_out` (optional) gets the
 * digest of the top-level manifest written. On failure nothing of this copy
 * is visible at the destination.
 */
int berth_copy(const berth_image_name *src, const berth_transport_options *src_opts,
	       const berth_image_name *dst, const berth_transport_options *dst_opts,
	       const berth_copy_options *o, berth_digest *digest_out) BERTH_WARN_UNUSED;

/**
 * Pick the child of index `idx` for `platform` ("os/arch[/variant]"; NULL =
 * linux/<host arch>) as berth_copy does: variants compatible the way
 * containers/image matches them (arm64 takes v8 or none; arm v7 also takes
 * v6, v5). `*out` is borrowed from idx. BERTH_ENOTFOUND (no match) or
 * BERTH_EINVALID (bad platform text), with a message.
 */
int berth_copy_pick_platform(const berth_descriptor **out, const berth_manifest *idx,
			     const char *platform) BERTH_WARN_UNUSED;

/**
 * Build an OCI image index at `dst` from images (`berth manifest create`):
 * each source image is copied into `dst` by digest (with its blobs), its
 * platform read from its config; a source that is itself an index
 * contributes every child with its platform. Then the index, with
 * `annotations` (a JSON object text, or NULL), is written as the top-level
 * manifest and the destination committed. `o` may be NULL (defaults; `all`
 * and `platform` are ignored). `digest_out` (optional) gets the index digest.
 */
int berth_copy_index_create(const berth_image_name *const *srcs, size_t nsrcs,
			    const berth_transport_options *src_opts, const berth_image_name *dst,
			    const berth_transport_options *dst_opts, const char *annotations,
			    const berth_copy_options *o,
			    berth_digest *digest_out) BERTH_WARN_UNUSED;

#endif
