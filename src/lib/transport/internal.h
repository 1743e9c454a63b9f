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
 */
#ifndef BERTH_TRANSPORT_INTERNAL_H
#define BERTH_TRANSPORT_INTERNAL_H

#include "berth/transport.h"
#include "util/buf.h"

#include <pthread.h>

/* ---- streams ---- */

struct berth_stream {
	int fd;              /* read end: a file or a pipe */
	int64_t size;        /* expected size, -1 if unknown */
	pthread_t producer;  /* for pipe-backed streams */
	int has_producer;
	volatile int producer_rc; /* the producer's result, read after join */
	void *producer_ctx;
	void (*producer_free)(void *ctx);
};

/** A stream over a file descriptor (taken over: closed by berth_stream_close). */
int berth_transport__stream_fd(berth_stream **out, int fd, int64_t size) BERTH_WARN_UNUSED;

/**
 * A stream fed by `produce(ctx, write_fd)` running in its own thread and
 * writing into a pipe. Its return code is reported by berth_stream_close.
 * `ctx_free` (may be NULL) is called after the thread ends.
 */
typedef int (*berth_transport__producer)(void *ctx, int write_fd);
int berth_transport__stream_thread(berth_stream **out, berth_transport__producer produce,
				   void *ctx, void (*ctx_free)(void *), int64_t size) BERTH_WARN_UNUSED;

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

#endif
