/*
 * internal.h - what the files of the snapshot module share: the store and
 * working-root structs, and the streaming compressor the diff writes
 * through.
 */
#ifndef BERTH_SNAPSHOT_INTERNAL_H
#define BERTH_SNAPSHOT_INTERNAL_H

#include "berth/snapshot.h"

#include <limits.h>

/* The store's path is kept short: overlayfs options list one path per layer. */
#define SNAPSHOT_ROOT_MAX 1024

struct berth_snapshots {
	char root[SNAPSHOT_ROOT_MAX];	    /* real path of the store */
	char layers[SNAPSHOT_ROOT_MAX + 8]; /* <root>/layers */
	char work[SNAPSHOT_ROOT_MAX + 8];   /* <root>/work */
	char empty[SNAPSHOT_ROOT_MAX + 8];  /* <root>/empty: the lower of an empty chain */
};

struct berth_workroot {
	berth_snapshots *store;
	char dir[SNAPSHOT_ROOT_MAX + 48]; /* <root>/work/<pid>-<seq> */
	char upper[SNAPSHOT_ROOT_MAX + 64];
	char merged[SNAPSHOT_ROOT_MAX + 64];
	int mounted;
	int diffed;	  /* berth_workroot_diff() walked the upper directory whole */
	char **stray;	  /* upper paths with overlayfs' own xattrs (origin, impure): */
	size_t nstray;	  /* what an unpack of the layer would not have; the diff */
	size_t stray_cap; /* lists them, berth_workroot_keep() removes them */
};

/** Forget the stray paths a diff noted. */
void berth_workroot__stray_clear(berth_workroot *w);

/** Path of a layer's snapshot directory into out (PATH_MAX bytes). */
void berth_snapshots__layer_path(const berth_snapshots *s, const berth_digest *diff_id, char *out);

/* A push-style compressor: data in, compressed bytes out to a write callback. */
typedef struct berth_snapshot__zout berth_snapshot__zout;

int berth_snapshot__zout_new(berth_snapshot__zout **out, berth_layer_compression c, int level,
			     berth_layer_write_fn write, void *wctx) BERTH_WARN_UNUSED;
/** Compress `len` bytes. */
int berth_snapshot__zout_write(berth_snapshot__zout *z, const void *data,
			       size_t len) BERTH_WARN_UNUSED;
/** Flush the end of the stream. */
int berth_snapshot__zout_finish(berth_snapshot__zout *z) BERTH_WARN_UNUSED;
void berth_snapshot__zout_free(berth_snapshot__zout *z);

#endif
