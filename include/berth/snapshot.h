/*
 * berth/snapshot.h - unpacked layers, stored once by diff ID, and the
 * writable roots that build steps run in.
 *
 * A snapshot store is a directory:
 *   <root>/layers/<hex>/        one layer unpacked in overlayfs form (its
 *                               whiteouts as 0:0 character devices, opaque
 *                               directories marked trusted.overlay.opaque)
 *   <root>/work/<n>/{upper,work,merged}
 *                               a mounted working root (removed when freed)
 * A layer is unpacked into a temporary directory while its uncompressed
 * bytes are hashed, and renamed to its diff ID only when the hash matches,
 * so a snapshot directory only ever holds a complete, verified layer that
 * any number of builds may share read-only.
 *
 * A working root is an overlayfs mount whose lower directories are a chain
 * of snapshots (base first) and whose upper directory collects what a step
 * changes; berth_workroot_diff() turns the upper directory into an OCI
 * layer: entries in byte order of their paths, whiteouts and opaque
 * directories written as `.wh.` entries, numeric owners, hard links kept,
 * extended attributes kept (security.capability among them; overlayfs'
 * own trusted.overlay.* dropped), times clamped to SOURCE_DATE_EPOCH when
 * one is given.
 *
 * Needs root (overlayfs mounts, device nodes, ownership). Thread safety: a
 * store may be shared by threads and by processes (unpacks of one layer
 * race safely: the first rename wins); a working root belongs to one
 * caller.
 */
#ifndef BERTH_SNAPSHOT_H
#define BERTH_SNAPSHOT_H

#include "berth/common.h"
#include "berth/digest.h"
#include "berth/layer.h"

#include <stdint.h>

typedef struct berth_snapshots berth_snapshots;
typedef struct berth_workroot berth_workroot;

/* Most lower layers one working root stacks (an overlayfs option string limit). */
#define BERTH_SNAPSHOT_CHAIN_MAX 128

/** Open (creating the directories) the snapshot store at `root`. */
int berth_snapshots_open(berth_snapshots **out, const char *root) BERTH_WARN_UNUSED;
void berth_snapshots_free(berth_snapshots *s);

/** 1 if the layer with this diff ID is unpacked, 0 if not. */
int berth_snapshots_has(berth_snapshots *s, const berth_digest *diff_id);

/**
 * Unpack a layer read from `read` (compressed as `c`) as the snapshot of
 * `diff_id`. Nothing is done if it exists. BERTH_EDIGEST if the
 * uncompressed bytes do not hash to `diff_id` (nothing is kept);
 * BERTH_EINVALID for a corrupt archive or an entry that would leave the
 * layer's directory (absolute paths, "..", links pointing out are written
 * as links but never followed).
 */
int berth_snapshots_unpack(berth_snapshots *s, const berth_digest *diff_id,
			   berth_layer_compression c, berth_layer_read_fn read,
			   void *rctx) BERTH_WARN_UNUSED;

/**
 * The same for a layer whose diff ID is not known yet (a base layer unpacked
 * while it downloads, before its config is read): the snapshot is named by
 * the hash of the uncompressed bytes, which `*diff_id` receives. Naming by
 * content keeps the store honest whatever the bytes were.
 */
int berth_snapshots_unpack_any(berth_snapshots *s, berth_layer_compression c,
			       berth_layer_read_fn read, void *rctx,
			       berth_digest *diff_id) BERTH_WARN_UNUSED;

/** Remove an unpacked layer (no working root may be using it). */
int berth_snapshots_remove(berth_snapshots *s, const berth_digest *diff_id) BERTH_WARN_UNUSED;

/**
 * Mount a working root over the snapshots `chain[0..n)` (base first; n may
 * be 0 for an empty root, as `FROM scratch`). Each must be unpacked
 * (BERTH_ENOTFOUND names the first that is not). The merged directory is
 * berth_workroot_path(); the caller runs steps in it, then asks for the
 * diff.
 */
int berth_workroot_mount(berth_workroot **out, berth_snapshots *s, const berth_digest *chain,
			 size_t n) BERTH_WARN_UNUSED;

/** The merged root directory (borrowed; valid until free). */
const char *berth_workroot_path(const berth_workroot *w);

/** The upper directory: what the steps changed, in overlayfs form (borrowed). */
const char *berth_workroot_upper(const berth_workroot *w);

typedef struct berth_diff_options {
	berth_layer_compression compression; /* of the blob written */
	int level;			     /* < 0: the format's default */
	int64_t clamp_mtime;		     /* >= 0: later times become this (SOURCE_DATE_EPOCH) */
} berth_diff_options;

typedef struct berth_diff_result {
	berth_digest diff_id; /* sha256 of the uncompressed tar */
	berth_digest digest;  /* sha256 of the blob as written */
	uint64_t size;	      /* bytes written */
	uint64_t entries;     /* tar entries (0: the step changed nothing) */
} berth_diff_result;

/**
 * Write the working root's changes as a layer blob to `write`. The root
 * should not be written to meanwhile.
 */
int berth_workroot_diff(berth_workroot *w, const berth_diff_options *o, berth_layer_write_fn write,
			void *wctx, berth_diff_result *out) BERTH_WARN_UNUSED;

/**
 * Unmount the working root and keep its upper directory as the snapshot of
 * `diff_id`: the layer berth_workroot_diff() just made of it (nothing may
 * be written to the root in between). The directory is renamed into the
 * store, not copied: it is what unpacking that layer would write, less
 * overlayfs' own attributes, which are removed. Nothing is kept when the
 * store has that snapshot already. BERTH_EINVALID before a diff; an error
 * from the unmount (a descriptor still open in the root) or the rename
 * leaves the layer to be unpacked from its blob when next needed. Only
 * berth_workroot_free() may follow.
 */
int berth_workroot_keep(berth_workroot *w, const berth_digest *diff_id) BERTH_WARN_UNUSED;

/** Unmount and remove the working root (its upper directory included). NULL is fine. */
void berth_workroot_free(berth_workroot *w);

#endif
