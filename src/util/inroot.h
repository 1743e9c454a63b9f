/*
 * inroot.h - paths resolved inside a root directory, never out of it.
 *
 * Every lookup goes through openat2(2) with RESOLVE_IN_ROOT: "..", absolute
 * symlinks and relative ones are all resolved as if the root were "/", so a
 * root filesystem made from an image (which may hold a symlink /etc ->
 * /host/etc) can be written into, mounted onto and read from safely. Magic
 * links (/proc/self/fd/N inside the root) are refused.
 */
#ifndef BERTH_UTIL_INROOT_H
#define BERTH_UTIL_INROOT_H

#include "berth/common.h"

#include <sys/types.h>

/**
 * Open `path` (absolute or relative; taken relative to the root either way)
 * with `flags` (O_CREAT allowed: `mode` then applies) inside the directory
 * `rootfd`. Returns the descriptor, or a negative BERTH_E* code with the
 * message set (BERTH_ENOTFOUND when a component is missing).
 */
int berth_inroot_open(int rootfd, const char *path, int flags, mode_t mode);

/**
 * mkdir -p of `path` inside `rootfd` (mode for the directories created),
 * then an O_PATH descriptor of the directory, returned (or a negative
 * BERTH_E* code). A component that exists and is not a directory is
 * BERTH_EEXISTS.
 */
int berth_inroot_mkdir_p(int rootfd, const char *path, mode_t mode);

/**
 * An O_PATH descriptor of a regular file at `path` inside `rootfd`,
 * created empty (with its parent directories) if missing: a mount point for
 * a bind-mounted file. Returns the descriptor or a negative BERTH_E* code.
 */
int berth_inroot_touch(int rootfd, const char *path, mode_t mode);

#endif
