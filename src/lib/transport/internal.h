/*
 * internal.h - the driver tables behind berth_source / berth_dest and the
 * stream type, shared by the files of src/lib/transport:
 *   name.c            image name parsing/formatting
 *   stream.c          berth_stream: fd-backed and pipe+thread-backed streams
 *   source.c, dest.c  dispatch to the drivers below
 *   docker.c          docker:// over berth/client.h
 *   oci_layout.c      oci: (and the layout half of oci-archive:)
 *   oci_archive.c     oci-archive: (a layout unpacked/packed with libarchive)
 *   docker_archive.c  docker-archive:
 *   copy.c            the copy engine
 *   attached.c        copy --with-signatures: tags and referrers attached to an image
 */
#ifndef BERTH_TRANSPORT_INTERNAL_H
#define BERTH_TRANSPORT_INTERNAL_H

#include "berth/transport.h"
#include "util/buf.h"

#include <pthread.h>
#include <stdatomic.h>

/* ---- streams ---- */

#include "util/chan.h"

struct berth_stream {
	int fd;		    /* read end: a file or a pipe; -1 for a channel */
	berth_chan *chan;   /* or an in-memory channel (stream_chan) */
	int64_t size;	    /* expected size, -1 if unknown */
	pthread_t producer; /* for pipe-backed streams */
	int has_producer;
	volatile int producer_rc; /* the producer's result, read after join */
	void *producer_ctx;
	void (*producer_free)(void *ctx);
	/* added by stream.c: */
	int eof;	    /* read returned end of stream */
	int joined;	    /* the producer thread has been joined */
	atomic_int closing; /* set when the consumer closes early */
	char *producer_msg; /* the producer's error message (its thread's slot), or NULL */
	/*
	 * An optional observer of every byte read (the copy engine counts for
	 * progress and cuts a source that sends too much): called by
	 * berth_stream_read with what it is about to return; a negative
	 * return fails the read with that code (message set by the tap).
	 */
	int (*tap)(void *ctx, const void *data, size_t len);
	void *tap_ctx;
	/*
	 * Set by a source whose producer checks the blob's digest and size
	 * itself and fails the stream at its end otherwise (docker://): a
	 * consumer may then skip hashing again, as long as it reads to the
	 * end of the stream (berth_stream_read returned 0) before it
	 * commits anything.
	 */
	int verified;
	int64_t left; /* bytes a range stream may still read; -1: read to the end of fd */
};

/** A stream over a file descriptor (taken over: closed by berth_stream_close). */
int berth_transport__stream_fd(berth_stream **out, int fd, int64_t size) BERTH_WARN_UNUSED;
/** The same over the next `size` bytes of fd only (a member inside an archive file). */
int berth_transport__stream_fd_range(berth_stream **out, int fd, int64_t size) BERTH_WARN_UNUSED;

/**
 * A stream fed by `produce(ctx, write_fd)` running in its own thread and
 * writing into a pipe. Its return code is reported by berth_stream_close.
 * `ctx_free` (may be NULL) is called after the thread ends.
 */
typedef int (*berth_transport__producer)(void *ctx, int write_fd);
/*
 * The producer must not close write_fd (the thread wrapper does, which is
 * what the reader sees as end of stream). It runs with SIGPIPE blocked: a
 * write after the consumer closed early fails with EPIPE instead of killing
 * the process. An error it sets with berth_error_set is carried over to the
 * consumer's thread by berth_stream_read (at end of stream) or
 * berth_stream_close.
 */
int berth_transport__stream_thread(berth_stream **out, berth_transport__producer produce, void *ctx,
				   void (*ctx_free)(void *), int64_t size) BERTH_WARN_UNUSED;

/**
 * Like berth_transport__stream_thread, but the producer hands its bytes
 * over through an in-memory ring (berth_chan_write, util/chan.h) instead of
 * a pipe: no kernel copies, no pipe pages, and the reader is woken only when
 * a good amount is waiting. The producer's result is reported the same way.
 */
typedef int (*berth_transport__chan_producer)(void *ctx, berth_chan *ch);
int berth_transport__stream_chan(berth_stream **out, berth_transport__chan_producer produce,
				 void *ctx, void (*ctx_free)(void *),
				 int64_t size) BERTH_WARN_UNUSED;

/*
 * The checks every destination makes on a blob's bytes as they pass by:
 * never more than desc->size (when known), exactly that many at the end,
 * and the digest desc names. With `hash` 0 (a verified stream, see above)
 * only the count is checked. Messages name the blob.
 */
typedef struct berth_transport__check {
	const berth_descriptor *desc;
	berth_hasher *h;
	uint64_t count;
} berth_transport__check;

int berth_transport__check_init(berth_transport__check *c, const berth_descriptor *desc,
				int hash) BERTH_WARN_UNUSED;
/** Count and hash `n` more bytes; fails as soon as there are too many. */
int berth_transport__check_update(berth_transport__check *c, const void *data,
				  size_t n) BERTH_WARN_UNUSED;
/** At end of stream: the size and digest. */
int berth_transport__check_final(berth_transport__check *c) BERTH_WARN_UNUSED;
void berth_transport__check_dispose(berth_transport__check *c);

/* ---- drivers ---- */

typedef struct berth_source_driver {
	int (*manifest)(berth_source *s, const berth_digest *d, berth_buf *body, char *media_type,
			size_t media_type_len, berth_digest *digest_out);
	int (*blob)(berth_source *s, const berth_descriptor *desc, berth_stream **out);
	void (*free)(berth_source *s);
} berth_source_driver;

struct berth_source {
	const berth_source_driver *drv;
	void *impl;
};

typedef struct berth_dest_driver {
	int (*has_blob)(berth_dest *d, const berth_descriptor *desc);
	int (*mount_blob)(berth_dest *d, const berth_descriptor *desc, const char *from_repo);
	int (*put_blob)(berth_dest *d, const berth_descriptor *desc, berth_stream *in);
	int (*put_manifest)(berth_dest *d, const void *body, size_t len, const char *media_type,
			    const berth_digest *digest, int top_level);
	int (*commit)(berth_dest *d);
	void (*free)(berth_dest *d, int committed);
} berth_dest_driver;

struct berth_dest {
	const berth_dest_driver *drv;
	void *impl;
	int committed;
};

/* Driver constructors (each in its own file). */
int berth_transport__docker_source(berth_source *s, const berth_image_name *n,
				   const berth_transport_options *o) BERTH_WARN_UNUSED;
int berth_transport__docker_dest(berth_dest *d, const berth_image_name *n,
				 const berth_transport_options *o) BERTH_WARN_UNUSED;
/** A registry client for a docker:// name with the transport's options (docker.c). */
struct berth_client;
int berth_transport__docker_client(struct berth_client **out, const berth_image_name *n,
				   const berth_transport_options *o) BERTH_WARN_UNUSED;

/**
 * `--with-signatures` (attached.c): after `subject` was copied from `src` to
 * `dst` (both docker://, digests kept), copy what is attached to it and, for
 * an index, to each of its children: the cosign tags sha256-<hex>.sig,
 * .att, .sbom and the OCI 1.1 referrers (with their own referrers, one level
 * down), keeping the referrers tag schema up to date at a destination
 * without the referrers API.
 */
int berth_transport__copy_attached(const berth_image_name *src,
				   const berth_transport_options *src_opts,
				   const berth_image_name *dst,
				   const berth_transport_options *dst_opts,
				   const berth_copy_options *o,
				   const berth_digest *subject) BERTH_WARN_UNUSED;

int berth_transport__oci_source(berth_source *s, const berth_image_name *n,
				const berth_transport_options *o) BERTH_WARN_UNUSED;
int berth_transport__oci_dest(berth_dest *d, const berth_image_name *n,
			      const berth_transport_options *o) BERTH_WARN_UNUSED;
int berth_transport__oci_archive_source(berth_source *s, const berth_image_name *n,
					const berth_transport_options *o) BERTH_WARN_UNUSED;
int berth_transport__oci_archive_dest(berth_dest *d, const berth_image_name *n,
				      const berth_transport_options *o) BERTH_WARN_UNUSED;
int berth_transport__docker_archive_source(berth_source *s, const berth_image_name *n,
					   const berth_transport_options *o) BERTH_WARN_UNUSED;
int berth_transport__docker_archive_dest(berth_dest *d, const berth_image_name *n,
					 const berth_transport_options *o) BERTH_WARN_UNUSED;

/* ---- shared by the layout and archive drivers ---- */

/** oci: source/destination on a directory (oci_layout.c; also used by oci_archive.c). */
int berth_transport__layout_source(berth_source *s, const char *dir,
				   const char *tag) BERTH_WARN_UNUSED;
int berth_transport__layout_dest(berth_dest *d, const char *dir, const char *tag) BERTH_WARN_UNUSED;

/** Path of the blob `dg` under layout `dir` (caller frees); NULL on OOM. */
char *berth_transport__layout_blob_path(const char *dir, const berth_digest *dg);

/**
 * A tar archive unpacked into a private temporary directory (oci_archive.c).
 * Only regular files and directories are written to disk, through paths
 * checked to stay inside the directory (no absolute names, no "..");
 * symbolic and hard links are recorded and resolved by
 * berth_transport__tree_open; only berth_transport__tree_link_members
 * creates any, as hard links between files of the tree.
 */
typedef struct berth_transport__tree berth_transport__tree;

int berth_transport__tree_extract(berth_transport__tree **out,
				  const char *tarfile) BERTH_WARN_UNUSED;
/** The directory holding the unpacked files (borrowed). */
const char *berth_transport__tree_dir(const berth_transport__tree *t);
/**
 * The same, but regular members for which `in_place(ctx, first bytes, n)`
 * says so are not copied out when the archive is an uncompressed tar: they
 * are read where they lie in it (berth_transport__tree_open then says so).
 * Any other archive is unpacked as by berth_transport__tree_extract.
 */
int berth_transport__tree_index(berth_transport__tree **out, const char *tarfile,
				int (*in_place)(void *ctx, const unsigned char *head, size_t n,
						int64_t size),
				void *ctx) BERTH_WARN_UNUSED;
/**
 * Open member `name` read-only (links resolved inside the tree); size_out
 * optional. For a member kept in place (tree_index), *fd_out is the archive
 * positioned at the member's data, *in_place_out (optional) is set, and a
 * reader must stop after *size_out bytes (berth_transport__stream_fd_range).
 */
int berth_transport__tree_open(berth_transport__tree *t, const char *name, int *fd_out,
			       int64_t *size_out) BERTH_WARN_UNUSED;
/**
 * Give every recorded link that resolves to a regular file a hard link at
 * its own name, inside the directory, so that a reader walking the files
 * (the layout source) finds linked members too. Dangling links are left out.
 */
int berth_transport__tree_link_members(berth_transport__tree *t) BERTH_WARN_UNUSED;
/** Remove the directory and free. */
void berth_transport__tree_free(berth_transport__tree *t);

/**
 * The target of an archive destination (`transport` is "oci-archive" or
 * "docker-archive", for messages): PATH must not be a directory; *file gets
 * a copy of it and *tmpdir a new private directory to build the archive in.
 * Both are the caller's to free, also on failure.
 */
int berth_transport__archive_target(const char *transport, const char *path, char **file,
				    char **tmpdir) BERTH_WARN_UNUSED;
/** A new private directory under $TMPDIR (default /var/tmp); caller frees the path. */
int berth_transport__mkdtemp(char **out, const char *what) BERTH_WARN_UNUSED;

/*
 * A tar archive (pax) written to a temporary file beside `final`, made
 * visible only by berth_transport__tar_out_commit: close, fsync, rename over
 * `final`, fsync of its directory. Dispose removes an uncommitted temporary.
 */
struct archive;
typedef struct berth_transport__tar_out {
	struct archive *a;
	int fd;
	char *tmp;
	const char *final;
} berth_transport__tar_out;

int berth_transport__tar_out_open(berth_transport__tar_out *t, const char *final) BERTH_WARN_UNUSED;
int berth_transport__tar_out_commit(berth_transport__tar_out *t) BERTH_WARN_UNUSED;
void berth_transport__tar_out_dispose(berth_transport__tar_out *t);

/** 1 if `name` is a safe relative member name (no absolute path, no ".." component). */
int berth_transport__member_name_safe(const char *name);

#endif
