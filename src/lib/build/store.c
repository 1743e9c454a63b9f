/*
 * store.c - the build store: an OCI layout for images and layers, the
 * snapshot store for unpacked layers, and the blob writer that puts layer
 * diffs and configs into the layout (temporary file, fsync, rename to the
 * digest: a blob path only ever holds complete content).
 *
 * Concurrent builds share a store. Everything they write is written to a
 * temporary name and renamed into place (blobs, cache records, unpacked
 * layers, index.json under the layout's own lock), so a reader never sees
 * half of anything and two writers of one thing both write the same bytes.
 * <root>/lock is held shared by every open store (flock: the kernel drops
 * it when a build dies, even by kill -9) and exclusively by prune, which so
 * never removes what a running build uses. When a store is opened and no
 * other process holds it, what killed builds left behind (temporary files,
 * working root directories; their mounts died with their mount namespace)
 * is swept first.
 */
#include "lib/build/internal.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int berth_build_store_default_root(char *out, size_t len)
{
	const char *r = getenv("BERTH_ROOT"), *x;
	int n;

	if (r && *r)
		n = snprintf(out, len, "%s", r);
	else if (geteuid() == 0)
		n = snprintf(out, len, "/var/lib/berth-builder");
	else if ((x = getenv("XDG_DATA_HOME")) && *x)
		n = snprintf(out, len, "%s/berth", x);
	else if ((x = getenv("HOME")) && *x)
		n = snprintf(out, len, "%s/.local/share/berth", x);
	else
		return berth_error_set(BERTH_EINVALID,
				       "no build store: set BERTH_ROOT (or HOME/XDG_DATA_HOME)");
	if (n < 0 || (size_t)n >= len)
		return berth_error_set(BERTH_ETOOBIG, "build store path too long");
	return 0;
}

/* An empty OCI layout, written once (the oci transport reads and updates index.json). */
static int layout_init(const char *dir)
{
	char p[PATH_MAX + 32];
	struct stat st;
	int rc;

	snprintf(p, sizeof(p), "%s/oci-layout", dir);
	if (stat(p, &st) == 0)
		return 0;
	if ((rc = berth_fs_write_atomic(p, "{\"imageLayoutVersion\":\"1.0.0\"}", 30)) < 0)
		return rc;
	snprintf(p, sizeof(p), "%s/index.json", dir);
	if (stat(p, &st) == 0)
		return 0;
	return berth_fs_write_atomic(p, "{\"schemaVersion\":2,\"manifests\":[]}", 34);
}

/* A name a writer gives what it has not finished (see the writers of each directory). */
static int is_leftover(const char *name)
{
	return strncmp(name, ".tmp-", 5) == 0 || strncmp(name, ".berth-blob-", 12) == 0 ||
	       strstr(name, ".tmp.") != NULL || strstr(name, ".gone.") != NULL;
}

/* Remove the leftovers in dir (all of its entries when `all`). */
static void sweep_dir(const char *dir, int all)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		char p[PATH_MAX * 2];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    (!all && !is_leftover(e->d_name)))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (berth_fs_remove_tree(p) < 0) { /* best effort: swept again next time */
		}
	}
	closedir(d);
}

/* What killed builds left: only called while no other process has the store open. */
static void sweep(berth_build_store *s)
{
	char p[PATH_MAX + 32];

	snprintf(p, sizeof(p), "%s/snapshots/work", s->root);
	sweep_dir(p, 1);
	snprintf(p, sizeof(p), "%s/snapshots/layers", s->root);
	sweep_dir(p, 0);
	snprintf(p, sizeof(p), "%s/cache", s->root);
	sweep_dir(p, 0);
	sweep_dir(s->content, 0);
	sweep_dir(s->blobs, 0);
}

/* Take <root>/lock shared, sweeping first when nobody else holds it. */
static int lock_shared(berth_build_store *s)
{
	char p[PATH_MAX + 16];

	snprintf(p, sizeof(p), "%s/lock", s->root);
	s->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (s->lock_fd < 0)
		return berth_error_set_errno("%s", p);
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0)
		sweep(s);
	/* Converting may let a waiting prune in first: it then runs before this build. */
	while (flock(s->lock_fd, LOCK_SH) < 0)
		if (errno != EINTR)
			return berth_error_set_errno("lock %s", p);
	return 0;
}

int berth_build_store_exclusive(berth_build_store *s, int wait)
{
	/* Release the shared hold first: two holders converting would wait on each other. */
	flock(s->lock_fd, LOCK_UN);
	while (flock(s->lock_fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
		if (errno == EWOULDBLOCK && !wait) {
			while (flock(s->lock_fd, LOCK_SH) < 0 && errno == EINTR) {
			}
			return berth_error_set(BERTH_EBUSY, "the build store is in use by a build");
		}
		if (errno != EINTR)
			return berth_error_set_errno("lock the build store");
	}
	sweep(s);
	return 0;
}

int berth_build_store_open(berth_build_store **out, const char *root)
{
	berth_build_store *s = NULL;
	char snaps[PATH_MAX + 16];
	int rc;

	*out = NULL;
	if (strlen(root) >= PATH_MAX)
		return berth_error_set(BERTH_ETOOBIG, "build store path too long");
	s = calloc(1, sizeof(*s));
	if (!s)
		return berth_error_set(BERTH_ERROR, "out of memory");
	s->lock_fd = -1;
	snprintf(s->root, sizeof(s->root), "%s", root);
	snprintf(s->content, sizeof(s->content), "%s/content", root);
	snprintf(s->blobs, sizeof(s->blobs), "%s/blobs/sha256", s->content);
	snprintf(snaps, sizeof(snaps), "%s/snapshots", root);
	if ((rc = berth_fs_mkdir_p(s->blobs)) < 0 || (rc = lock_shared(s)) < 0 ||
	    (rc = layout_init(s->content)) < 0 ||
	    (rc = berth_snapshots_open(&s->snapshots, snaps)) < 0)
		goto done;
	*out = s;
	s = NULL;
done:
	berth_build_store_free(s);
	return rc;
}

void berth_build_store_free(berth_build_store *s)
{
	if (!s)
		return;
	berth_snapshots_free(s->snapshots);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s);
}

const char *berth_build_store_content(const berth_build_store *s)
{
	return s->content;
}

berth_snapshots *berth_build_store_snapshots(berth_build_store *s)
{
	return s->snapshots;
}

/* ---- blobs ---- */

int berth_build__blob_begin(berth_build__blob_writer *w, berth_build_store *s)
{
	w->store = s;
	w->behind = (berth_fs_behind){0, 0};
	snprintf(w->tmp, sizeof(w->tmp), "%s/.tmp-XXXXXX", s->blobs);
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0)
		return berth_error_set_errno("create a blob in %s", s->blobs);
	if (fchmod(w->fd, 0644) < 0) {
		berth_build__blob_abort(w);
		return berth_error_set_errno("chmod blob");
	}
	return 0;
}

int berth_build__blob_write(void *ctx, const void *data, size_t len)
{
	berth_build__blob_writer *w = ctx;

	return berth_fs_write_all_behind(w->fd, &w->behind, data, len);
}

int berth_build__blob_commit(berth_build__blob_writer *w, const berth_digest *digest)
{
	char final[PATH_MAX + 128];
	int rc = 0;

	snprintf(final, sizeof(final), "%s/%s", w->store->blobs, berth_digest_hex(digest));
	if (fsync(w->fd) < 0)
		rc = berth_error_set_errno("fsync blob");
	close(w->fd);
	w->fd = -1;
	if (rc == 0 && rename(w->tmp, final) < 0)
		rc = berth_error_set_errno("commit blob %s", digest->str);
	if (rc < 0) {
		unlink(w->tmp);
		return rc;
	}
	return berth_fs_fsync_dir(w->store->blobs);
}

void berth_build__blob_abort(berth_build__blob_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	unlink(w->tmp);
}

int berth_build__put_blob(berth_build_store *s, const void *data, size_t len, berth_digest *out)
{
	berth_build__blob_writer w;
	int rc;

	if ((rc = berth_digest_compute(out, BERTH_DIGEST_SHA256, data, len)) < 0)
		return rc;
	if ((rc = berth_build__blob_begin(&w, s)) < 0)
		return rc;
	if ((rc = berth_build__blob_write(&w, data, len)) < 0) {
		berth_build__blob_abort(&w);
		return rc;
	}
	return berth_build__blob_commit(&w, out);
}
