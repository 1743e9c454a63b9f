/*
 * fs.h - small filesystem helpers with crash-safe semantics.
 */
#ifndef BERTH_UTIL_FS_H
#define BERTH_UTIL_FS_H

#include "berth/common.h"
#include "util/buf.h"

/** mkdir -p with mode 0755; existing directories are fine. */
int berth_fs_mkdir_p(const char *path) BERTH_WARN_UNUSED;
/** fsync the directory that contains `path` (after a rename or create in it). */
int berth_fs_fsync_parent(const char *path) BERTH_WARN_UNUSED;
/** fsync a directory by path. */
int berth_fs_fsync_dir(const char *dir) BERTH_WARN_UNUSED;
/**
 * Write `data` to `path` atomically: a temporary file in the same directory,
 * fsync, rename over `path`, fsync of the directory.
 */
int berth_fs_write_atomic(const char *path, const void *data, size_t len) BERTH_WARN_UNUSED;
/** Read a whole file into `out` (appending); fails with ETOOBIG past `out->max`. */
int berth_fs_read_file(berth_buf *out, const char *path) BERTH_WARN_UNUSED;
/** Write all of `len` bytes, retrying short writes and EINTR. */
int berth_fs_write_all(int fd, const void *data, size_t len) BERTH_WARN_UNUSED;
/*
 * Writeback ahead of an fsync. A file written as a stream and fsynced at its
 * end starts the writeback of every BERTH_FS_BEHIND_STEP bytes as they are
 * written (sync_file_range, not waited for): the fsync then finds only the
 * tail to write instead of the whole file. Advisory: errors are the fsync's.
 */
#define BERTH_FS_BEHIND_STEP ((uint64_t)4 << 20)
typedef struct berth_fs_behind {
	uint64_t started; /* bytes whose writeback was started */
	uint64_t written; /* bytes written */
} berth_fs_behind;
/** `len` more bytes were written to fd, in order, after those b counts (b starts as
 * {offset, offset} for a file written from `offset` on, {0, 0} for a new one). */
void berth_fs_write_behind(int fd, berth_fs_behind *b, size_t len);
/** berth_fs_write_all of `len` bytes, then berth_fs_write_behind of them. */
int berth_fs_write_all_behind(int fd, berth_fs_behind *b, const void *data,
			      size_t len) BERTH_WARN_UNUSED;
/** rm -rf (used for upload directories and tests). */
int berth_fs_remove_tree(const char *path) BERTH_WARN_UNUSED;

#endif
