/*
 * internal.h - what the files of the build module share: the store and
 * image structs and the store's blob writer.
 */
#ifndef BERTH_BUILD_INTERNAL_H
#define BERTH_BUILD_INTERNAL_H

#include "berth/build.h"

#include <jansson.h>
#include <limits.h>

struct berth_build_store {
	char root[PATH_MAX];
	char content[PATH_MAX + 16]; /* <root>/content: an OCI layout */
	char blobs[PATH_MAX + 32];   /* <content>/blobs/sha256 */
	berth_snapshots *snapshots;
};

typedef struct build_layer {
	char media_type[128];
	berth_digest digest;
	int64_t size;
	berth_digest diff_id;
} build_layer;

struct berth_build_image {
	json_t *config; /* the whole OCI config document */
	build_layer *layers;
	size_t nlayers, cap;
	char *base_name;	  /* the FROM reference, or NULL (scratch) */
	berth_digest base_digest; /* its manifest digest (when base_name) */
};

/** Store `len` bytes as a blob of the layout; its digest into *out. */
int berth_build__put_blob(berth_build_store *s, const void *data, size_t len,
			  berth_digest *out) BERTH_WARN_UNUSED;

/* A blob written in a stream whose digest is known at the end (layer diffs). */
typedef struct berth_build__blob_writer {
	berth_build_store *store;
	char tmp[PATH_MAX + 64];
	int fd;
} berth_build__blob_writer;

int berth_build__blob_begin(berth_build__blob_writer *w, berth_build_store *s) BERTH_WARN_UNUSED;
/** A berth_layer_write_fn over the writer. */
int berth_build__blob_write(void *ctx, const void *data, size_t len);
/** Commit the blob under `digest` (the digest the caller computed). */
int berth_build__blob_commit(berth_build__blob_writer *w,
			     const berth_digest *digest) BERTH_WARN_UNUSED;
/** Drop an unfinished blob. */
void berth_build__blob_abort(berth_build__blob_writer *w);

/** Write the image's whole state (config, layers, base) as a cache record at path. */
int berth_build__state_save(const berth_build_image *img, const char *path) BERTH_WARN_UNUSED;
/** Replace img's state with a cache record's; BERTH_ENOTFOUND if there is none. */
int berth_build__state_load(berth_build_image *img, const char *path) BERTH_WARN_UNUSED;

/** Room for one more layer at img->layers[img->nlayers] (not counted yet), or NULL. */
build_layer *berth_build__layer_room(berth_build_image *img);

/** The "config" object of the image's config (created if missing). */
json_t *berth_build__config_obj(berth_build_image *img);

#endif
