/*
 * store_fs.c - the `fs` driver of the blob store: blobs and uploads in one
 * directory tree (layout in include/berth/store.h).
 *
 * Durability: a blob appears only through commit_into_place(): the data is
 * fdatasync'd, renamed (without replacing) from uploads/ into its fan-out
 * directory under blobs/, and that directory is fsync'd. uploads/ and blobs/
 * are in the same tree so the rename never crosses a filesystem. Hence a
 * blob path never holds partial or unverified content.
 *
 * Locking: an open upload holds an exclusive flock on its data file, which
 * works across threads (each open is its own open file description) and
 * across processes sharing the directory. After taking the lock, the holder
 * checks the path still names the locked file, because a commit, delete or
 * purge may have moved or removed it while the lock was being taken.
 *
 * All paths are relative to directory fds opened once (openat & co.), and
 * built only from digests and upload ids the front has validated.
 */
#include "lib/store/internal.h"

#include "util/buf.h"
#include "util/fs.h"
#include "util/random.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define REHASH_CHUNK (1u << 20) /* read size when recomputing a hash */
#define READ_CHUNK 65536	/* read size for read_blob */
#define PUT_TMP_PREFIX ".put-"	/* temp files of berth_store_put in uploads/ */
/*
 * Past HASH_BG_AFTER bytes written through one open upload, hashing moves to
 * a thread of its own that reads the data back from the page cache behind
 * the writer, so receiving and hashing a large blob use two cores instead of
 * one. The hash is settled (the thread caught up and joined) before anything
 * reads it: commit, close, release.
 */
#define HASH_BG_AFTER (8u << 20)
#define HASH_BG_CHUNK (1u << 20)

typedef struct fs_store {
	char *root;
	int root_fd;
	int blobs_fd;
	int uploads_fd;
} fs_store;

typedef struct fs_upload {
	struct berth_upload base; /* first: a berth_upload* is a fs_upload* */
	int fd;			  /* data file, O_APPEND, flock'd */
	berth_fs_behind behind;	  /* writeback started as it is written (util/fs.h) */
	uint64_t opened_at;	  /* offset when opened */
	/* background hashing (see HASH_BG_AFTER); base.hasher is the thread's while bg */
	int bg;
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t written; /* bytes on disk, published by the writer (under mu) */
	uint64_t hashed;  /* bytes hashed by the thread (under mu) */
	int stop;	  /* settle asked the thread to finish (under mu) */
	int failed;	  /* the thread could not read or hash: state dropped */
} fs_upload;

static fs_store *FS(berth_store *s)
{
	return s->impl;
}

/* "sha256/ab/<hex>" and its directory "sha256/ab". */
typedef struct blob_path {
	char rel[8 + 3 + 128 + 1];
	char dir[8 + 3 + 1];
} blob_path;

static void blob_path_of(blob_path *p, const berth_digest *d)
{
	const char *hex = berth_digest_hex(d);

	snprintf(p->dir, sizeof(p->dir), "%s/%.2s", berth_digest_algo_name(d->algo), hex);
	snprintf(p->rel, sizeof(p->rel), "%s/%s", p->dir, hex);
}

/* "<id>/<leaf>" into out[UPLOAD_PATH_MAX]; ids are validated 36-character uuids. */
#define UPLOAD_PATH_MAX 64

static void upload_path(char *out, const char *id, const char *leaf)
{
	size_t n = strlen(leaf);

	assert(strlen(id) == 36 && n < UPLOAD_PATH_MAX - 37);
	memcpy(out, id, 36);
	out[36] = '/';
	memcpy(out + 37, leaf, n + 1);
}

static int fsync_dir_at(int dirfd, const char *rel)
{
	int fd = openat(dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return berth_error_set_errno("open directory %s", rel);
	if (fsync(fd) != 0)
		rc = berth_error_set_errno("fsync directory %s", rel);
	close(fd);
	return rc;
}

static int write_all_fd(int fd, const void *data, size_t len)
{
	return berth_fs_write_all(fd, data, len);
}

/* ---- open / free ---- */

static void fs_store_free(fs_store *fs)
{
	if (!fs)
		return;
	if (fs->root_fd >= 0)
		close(fs->root_fd);
	if (fs->blobs_fd >= 0)
		close(fs->blobs_fd);
	if (fs->uploads_fd >= 0)
		close(fs->uploads_fd);
	free(fs->root);
	free(fs);
}

static void fs_free(berth_store *s)
{
	fs_store_free(FS(s));
	s->impl = NULL;
}

static int mkdir_at(int dirfd, const char *rel, int *created)
{
	if (mkdirat(dirfd, rel, 0755) == 0) {
		if (created)
			*created = 1;
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	return berth_error_set_errno("mkdir %s", rel);
}

/*
 * blobs/<algo>/<2 hex> for every prefix, made once here so that commits need
 * no mkdir (the lazy path in commit_into_place remains for trees made by
 * older versions or trimmed by hand).
 */
static int make_fanout(fs_store *fs)
{
	static const char hex[] = "0123456789abcdef";
	static const char *const algos[] = {"sha256", "sha512"};
	char rel[16];
	int rc;

	for (size_t a = 0; a < 2; a++) {
		int created = 0;

		if ((rc = mkdir_at(fs->blobs_fd, algos[a], NULL)) < 0)
			return rc;
		for (int i = 0; i < 256; i++) {
			snprintf(rel, sizeof(rel), "%s/%c%c", algos[a], hex[i >> 4], hex[i & 15]);
			if ((rc = mkdir_at(fs->blobs_fd, rel, &created)) < 0)
				return rc;
		}
		if (created && (rc = fsync_dir_at(fs->blobs_fd, algos[a])) < 0)
			return rc;
	}
	return fsync_dir_at(fs->blobs_fd, ".");
}

static const berth_store__driver fs_driver;

int berth_store__fs_open(berth_store *s, const char *path)
{
	fs_store *fs = NULL;
	int rc;

	if (!(fs = calloc(1, sizeof(*fs)))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory opening the store");
		goto done;
	}
	fs->root_fd = fs->blobs_fd = fs->uploads_fd = -1;
	if (!(fs->root = strdup(path))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory opening the store");
		goto done;
	}
	if ((rc = berth_fs_mkdir_p(path)) < 0)
		goto done;
	if ((fs->root_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = berth_error_set_errno("open store directory %s", path);
		goto done;
	}
	if ((rc = mkdir_at(fs->root_fd, "blobs", NULL)) < 0 ||
	    (rc = mkdir_at(fs->root_fd, "uploads", NULL)) < 0)
		goto done;
	if ((fs->blobs_fd = openat(fs->root_fd, "blobs", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (fs->uploads_fd = openat(fs->root_fd, "uploads", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
		    0) {
		rc = berth_error_set_errno("open %s/blobs or %s/uploads", path, path);
		goto done;
	}
	if ((rc = make_fanout(fs)) < 0)
		goto done;
	if ((rc = fsync_dir_at(fs->root_fd, ".")) < 0 ||
	    (rc = fsync_dir_at(fs->uploads_fd, ".")) < 0)
		goto done;
	s->drv = &fs_driver;
	s->impl = fs;
	/* now owned by s */ fs = NULL;
	rc = 0;
done:
	fs_store_free(fs);
	return rc;
}

/* ---- committing ---- */

/*
 * Move the verified, complete file `src_name` (in `src_dirfd`, open as `fd`)
 * to the blob path of `d`. Returns 1 if the blob already existed (the source
 * is left in place for the caller to discard), 0 if moved, or an error.
 * Either way on success the blob's directory entry is durable.
 */
static int commit_into_place(fs_store *fs, int fd, int src_dirfd, const char *src_name,
			     const berth_digest *d)
{
	blob_path bp;
	struct stat st;
	int existed = 0, rc;

	blob_path_of(&bp, d);
	if (fstatat(fs->blobs_fd, bp.rel, &st, 0) == 0) {
		existed = 1;
		goto durable;
	}
	if (fdatasync(fd) != 0)
		return berth_error_set_errno("fdatasync %s", d->str);
	/* Committed blobs are never written again. */
	(void)fchmod(fd, 0444);
	for (int attempt = 0;; attempt++) {
		if (renameat2(src_dirfd, src_name, fs->blobs_fd, bp.rel, RENAME_NOREPLACE) == 0)
			break;
		if (errno == EEXIST) {
			existed = 1;
			break;
		}
		if (errno == ENOENT && attempt == 0) {
			/* Fan-out directory missing: make it and make it durable. */
			int created = 0;
			char algo_dir[8];

			if ((rc = mkdir_at(fs->blobs_fd, bp.dir, &created)) < 0)
				return rc;
			snprintf(algo_dir, sizeof(algo_dir), "%s", berth_digest_algo_name(d->algo));
			if ((rc = fsync_dir_at(fs->blobs_fd, algo_dir)) < 0)
				return rc;
			continue;
		}
		if (errno == EINVAL || errno == ENOSYS) {
			/* No RENAME_NOREPLACE here: link() also refuses to replace. */
			if (linkat(src_dirfd, src_name, fs->blobs_fd, bp.rel, 0) == 0) {
				(void)unlinkat(src_dirfd, src_name, 0);
				break;
			}
			if (errno == EEXIST) {
				existed = 1;
				break;
			}
		}
		return berth_error_set_errno("commit blob %s", d->str);
	}
durable:
	/*
	 * Also when the blob existed: a concurrent committer may not have
	 * fsync'd its rename yet, and we are about to acknowledge the blob.
	 */
	if ((rc = fsync_dir_at(fs->blobs_fd, bp.dir)) < 0)
		return rc;
	return existed;
}

/* ---- blobs ---- */

static int fs_stat(berth_store *s, const berth_digest *d, uint64_t *size)
{
	blob_path bp;
	struct stat st;

	blob_path_of(&bp, d);
	if (fstatat(FS(s)->blobs_fd, bp.rel, &st, 0) != 0) {
		if (errno == ENOENT)
			return berth_error_set(BERTH_ENOTFOUND, "blob %s not found", d->str);
		return berth_error_set_errno("stat blob %s", d->str);
	}
	if (size)
		*size = (uint64_t)st.st_size;
	return 0;
}

static int fs_open_blob(berth_store *s, const berth_digest *d, int *fd, uint64_t *size)
{
	blob_path bp;
	struct stat st;
	int f;

	blob_path_of(&bp, d);
	f = openat(FS(s)->blobs_fd, bp.rel, O_RDONLY | O_CLOEXEC);
	if (f < 0) {
		if (errno == ENOENT)
			return berth_error_set(BERTH_ENOTFOUND, "blob %s not found", d->str);
		return berth_error_set_errno("open blob %s", d->str);
	}
	if (fstat(f, &st) != 0) {
		int rc = berth_error_set_errno("stat blob %s", d->str);

		close(f);
		return rc;
	}
	*fd = f;
	if (size)
		*size = (uint64_t)st.st_size;
	return 0;
}

static int fs_read_blob(berth_store *s, const berth_digest *d, berth_buf *out)
{
	char *chunk = NULL;
	uint64_t size = 0;
	int fd = -1, rc;

	if ((rc = fs_open_blob(s, d, &fd, &size)) < 0)
		goto done;
	if (out->max && (size > out->max || out->len > out->max - size)) {
		rc = berth_error_set(BERTH_ETOOBIG,
				     "blob %s is %" PRIu64 " bytes, over the limit of %zu", d->str,
				     size, out->max);
		goto done;
	}
	if (!(chunk = malloc(READ_CHUNK))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory reading a blob");
		goto done;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, READ_CHUNK);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = berth_error_set_errno("read blob %s", d->str);
			goto done;
		}
		if (n == 0)
			break;
		/* The cap still applies should the file have grown. */
		if ((rc = berth_buf_put(out, chunk, (size_t)n)) < 0)
			goto done;
	}
	rc = 0;
done:
	free(chunk);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int fs_put(berth_store *s, const berth_digest *expected, const void *data, size_t len)
{
	fs_store *fs = FS(s);
	berth_digest actual;
	char uuid[BERTH_UPLOAD_ID_MAX], tmp[sizeof(PUT_TMP_PREFIX) + BERTH_UPLOAD_ID_MAX];
	int fd = -1, made = 0, rc;

	if ((rc = berth_digest_compute(&actual, expected->algo, data, len)) < 0)
		goto done;
	if (!berth_digest_equal(&actual, expected)) {
		rc = berth_error_set(BERTH_EDIGEST, "digest mismatch: expected %s, content is %s",
				     expected->str, actual.str);
		goto done;
	}
	if ((rc = berth_uuid4(uuid)) < 0)
		goto done;
	snprintf(tmp, sizeof(tmp), PUT_TMP_PREFIX "%s", uuid);
	fd = openat(fs->uploads_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = berth_error_set_errno("create temporary file for %s", expected->str);
		goto done;
	}
	made = 1;
	if ((rc = write_all_fd(fd, data, len)) < 0)
		goto done;
	if ((rc = commit_into_place(fs, fd, fs->uploads_fd, tmp, expected)) < 0)
		goto done;
	if (rc == 0)
		made = 0; /* renamed into place */
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	if (made)
		(void)unlinkat(fs->uploads_fd, tmp, 0);
	return rc;
}

static int fs_delete_blob(berth_store *s, const berth_digest *d)
{
	fs_store *fs = FS(s);
	blob_path bp;

	blob_path_of(&bp, d);
	if (unlinkat(fs->blobs_fd, bp.rel, 0) != 0) {
		if (errno == ENOENT)
			return berth_error_set(BERTH_ENOTFOUND, "blob %s not found", d->str);
		return berth_error_set_errno("delete blob %s", d->str);
	}
	return fsync_dir_at(fs->blobs_fd, bp.dir);
}

/* ---- uploads ---- */

/* Remove uploads/<id> and what is in it. Best effort; returns 0 or an error. */
static int remove_upload_dir(fs_store *fs, const char *id)
{
	char path[PATH_MAX];

	upload_path(path, id, "data");
	(void)unlinkat(fs->uploads_fd, path, 0);
	upload_path(path, id, "startedat");
	(void)unlinkat(fs->uploads_fd, path, 0);
	if (unlinkat(fs->uploads_fd, id, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return 0;
	if (errno != ENOTEMPTY && errno != EEXIST)
		return berth_error_set_errno("remove upload %s", id);
	/* Someone left something else in there. */
	snprintf(path, sizeof(path), "%s/uploads/%s", fs->root, id);
	return berth_fs_remove_tree(path);
}

static int fs_upload_create(berth_store *s, const char *id)
{
	fs_store *fs = FS(s);
	char path[UPLOAD_PATH_MAX], stamp[32];
	int fd = -1, made = 0, rc, n;

	if (mkdirat(fs->uploads_fd, id, 0755) != 0) {
		rc = berth_error_set_errno("create upload directory %s", id);
		goto done;
	}
	made = 1;
	upload_path(path, id, "startedat");
	if ((fd = openat(fs->uploads_fd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) <
	    0) {
		rc = berth_error_set_errno("create %s", path);
		goto done;
	}
	n = snprintf(stamp, sizeof(stamp), "%lld\n", (long long)time(NULL));
	if ((rc = write_all_fd(fd, stamp, (size_t)n)) < 0)
		goto done;
	close(fd);
	upload_path(path, id, "data");
	if ((fd = openat(fs->uploads_fd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) <
	    0) {
		rc = berth_error_set_errno("create %s", path);
		goto done;
	}
	/*
	 * Make the (empty) upload durable before it is announced. startedat is
	 * not fsync'd itself: if its content is lost, purge falls back to the
	 * directory's mtime.
	 */
	if ((rc = fsync_dir_at(fs->uploads_fd, id)) < 0 ||
	    (rc = fsync_dir_at(fs->uploads_fd, ".")) < 0)
		goto done;
	made = 0;
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	if (made)
		(void)remove_upload_dir(fs, id);
	return rc;
}

static int fs_upload_size(berth_store *s, const char *id, uint64_t *size)
{
	char path[UPLOAD_PATH_MAX];
	struct stat st;

	upload_path(path, id, "data");
	if (fstatat(FS(s)->uploads_fd, path, &st, 0) != 0) {
		if (errno == ENOENT)
			return berth_error_set(BERTH_ENOTFOUND, "upload %s not found", id);
		return berth_error_set_errno("stat upload %s", id);
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

/*
 * Open uploads/<id>/data with `flags` and take the exclusive lock without
 * waiting. Returns the fd, or an error: ENOTFOUND (unknown, or removed or
 * committed while we were getting the lock), EBUSY (held by someone else).
 */
static int lock_upload(fs_store *fs, const char *id, int flags, struct stat *st_out)
{
	char path[UPLOAD_PATH_MAX];
	struct stat st, pst;
	int fd, rc;

	upload_path(path, id, "data");
	fd = openat(fs->uploads_fd, path, flags | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return berth_error_set(BERTH_ENOTFOUND, "upload %s not found", id);
		return berth_error_set_errno("open upload %s", id);
	}
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			rc = berth_error_set(BERTH_EBUSY,
					     "upload %s is in use by another request; retry later",
					     id);
		else
			rc = berth_error_set_errno("lock upload %s", id);
		goto fail;
	}
	/* The path must still name the file we locked. */
	if (fstat(fd, &st) != 0) {
		rc = berth_error_set_errno("stat upload %s", id);
		goto fail;
	}
	if (fstatat(fs->uploads_fd, path, &pst, 0) != 0 || pst.st_ino != st.st_ino ||
	    pst.st_dev != st.st_dev) {
		rc = berth_error_set(BERTH_ENOTFOUND, "upload %s not found (finished or deleted)",
				     id);
		goto fail;
	}
	if (st_out)
		*st_out = st;
	return fd;
fail:
	close(fd);
	return rc;
}

/* Hash the whole content of `fd` (read with pread from 0) into a new hasher. */
static int rehash_fd(berth_store *s, int fd, berth_digest_algo algo, berth_hasher **out)
{
	berth_hasher *h = NULL;
	char *buf = NULL;
	uint64_t off = 0;
	int rc;

	*out = NULL;
	if ((rc = berth_hasher_new(&h, algo)) < 0)
		goto done;
	if (!(buf = malloc(REHASH_CHUNK))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory hashing an upload");
		goto done;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		ssize_t n = pread(fd, buf, REHASH_CHUNK, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = berth_error_set_errno("read upload data");
			goto done;
		}
		if (n == 0)
			break;
		if ((rc = berth_hasher_update(h, buf, (size_t)n)) < 0)
			goto done;
		off += (uint64_t)n;
	}
	atomic_fetch_add(&s->hash_recomputed, 1);
	atomic_fetch_add(&s->bytes_rehashed, off);
	*out = h;
	/* now owned by the caller */ h = NULL;
	rc = 0;
done:
	free(buf);
	berth_hasher_free(h);
	return rc;
}

static int fs_upload_open(berth_upload **out, berth_store *s, const char *id)
{
	fs_store *fs = FS(s);
	fs_upload *u = NULL;
	berth_hasher *h = NULL;
	struct stat st;
	int fd = -1, rc;

	if ((fd = lock_upload(fs, id, O_RDWR | O_APPEND, &st)) < 0) {
		rc = fd;
		goto done;
	}
	/* Only a hasher that has seen exactly the bytes on disk is trusted. */
	h = berth_store__cache_take(s, id);
	if (h && berth_hasher_count(h) == (uint64_t)st.st_size) {
		atomic_fetch_add(&s->hash_resumed, 1);
	} else {
		berth_hasher_free(h);
		h = NULL;
		if (st.st_size == 0)
			rc = berth_hasher_new(&h, BERTH_DIGEST_SHA256); /* nothing to read */
		else
			rc = rehash_fd(s, fd, BERTH_DIGEST_SHA256, &h);
		if (rc < 0)
			goto done;
	}
	if (!(u = calloc(1, sizeof(*u)))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory opening an upload");
		goto done;
	}
	u->base.store = s;
	memcpy(u->base.id, id, BERTH_UPLOAD_ID_MAX);
	u->base.offset = berth_hasher_count(h);
	u->base.hasher = h;
	/* now owned by u */ h = NULL;
	u->fd = fd;
	/* now owned by u */ fd = -1;
	u->behind = (berth_fs_behind){u->base.offset, u->base.offset};
	u->opened_at = u->base.offset;
	*out = &u->base;
	/* now owned by the caller */ u = NULL;
	rc = 0;
done:
	berth_hasher_free(h);
	if (fd >= 0)
		close(fd);
	free(u);
	return rc;
}

/* The background hasher: reads back [hashed, written) and feeds the hasher. */
static void *bg_hash(void *arg)
{
	fs_upload *u = arg;
	char *buf = malloc(HASH_BG_CHUNK);
	uint64_t pos, target;
	int failed = buf == NULL;

	pthread_mutex_lock(&u->mu);
	pos = u->hashed;
	for (;;) {
		while (!failed && u->hashed == u->written && !u->stop)
			pthread_cond_wait(&u->cv, &u->mu);
		if (failed || u->hashed == u->written)
			break; /* stop asked and caught up, or broken */
		target = u->written;
		pthread_mutex_unlock(&u->mu);
		while (pos < target) {
			size_t want = target - pos < HASH_BG_CHUNK ? (size_t)(target - pos)
								   : HASH_BG_CHUNK;
			ssize_t n = pread(u->fd, buf, want, (off_t)pos);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || berth_hasher_update(u->base.hasher, buf, (size_t)n) < 0) {
				failed = 1;
				break;
			}
			pos += (uint64_t)n;
		}
		pthread_mutex_lock(&u->mu);
		u->hashed = pos;
	}
	u->failed = failed;
	pthread_mutex_unlock(&u->mu);
	free(buf);
	return NULL;
}

static void bg_start(fs_upload *u)
{
	u->written = u->hashed = u->base.offset;
	u->stop = u->failed = 0;
	if (pthread_mutex_init(&u->mu, NULL) != 0)
		return;
	if (pthread_cond_init(&u->cv, NULL) != 0) {
		pthread_mutex_destroy(&u->mu);
		return;
	}
	if (pthread_create(&u->thr, NULL, bg_hash, u) != 0) {
		pthread_cond_destroy(&u->cv);
		pthread_mutex_destroy(&u->mu);
		return; /* keep hashing inline */
	}
	u->bg = 1;
}

static void fs_upload_settle(berth_upload *bu)
{
	fs_upload *u = (fs_upload *)bu;

	if (!u->bg)
		return;
	pthread_mutex_lock(&u->mu);
	u->stop = 1;
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
	pthread_join(u->thr, NULL);
	pthread_cond_destroy(&u->cv);
	pthread_mutex_destroy(&u->mu);
	u->bg = 0;
	if (u->failed) {
		/* Recomputed from the file at commit or next open. */
		berth_hasher_free(bu->hasher);
		bu->hasher = NULL;
	}
}

static int fs_upload_write(berth_upload *bu, const void *data, size_t len)
{
	fs_upload *u = (fs_upload *)bu;
	const char *p = data;
	size_t total = len;

	/* Straight from the caller's buffer to the file, hashing what landed. */
	while (len) {
		ssize_t n = write(u->fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return berth_error_set_errno("write upload %s", bu->id);
		}
		bu->offset += (uint64_t)n;
		if (!u->bg && bu->hasher && berth_hasher_update(bu->hasher, p, (size_t)n) < 0) {
			/* Recomputed from the file at commit or next open. */
			berth_hasher_free(bu->hasher);
			bu->hasher = NULL;
		}
		p += n;
		len -= (size_t)n;
	}
	if (u->bg) {
		pthread_mutex_lock(&u->mu);
		u->written = bu->offset;
		pthread_cond_signal(&u->cv);
		pthread_mutex_unlock(&u->mu);
	} else if (bu->hasher && bu->offset - u->opened_at >= HASH_BG_AFTER) {
		bg_start(u);
	}
	berth_fs_write_behind(u->fd, &u->behind, total);
	return 0;
}

static int fs_upload_sync(berth_upload *bu)
{
	fs_upload *u = (fs_upload *)bu;

	if (fdatasync(u->fd) != 0)
		return berth_error_set_errno("fdatasync upload %s", bu->id);
	return 0;
}

static int fs_upload_commit(berth_upload *bu, const berth_digest *expected, int hashed,
			    uint64_t *size_out)
{
	fs_upload *u = (fs_upload *)bu;
	fs_store *fs = FS(bu->store);
	berth_hasher *fresh = NULL;
	berth_digest actual;
	struct stat st;
	char path[UPLOAD_PATH_MAX];
	int rc;

	fs_upload_settle(bu);
	if (fstat(u->fd, &st) != 0) {
		rc = berth_error_set_errno("stat upload %s", bu->id);
		goto done;
	}
	if (hashed) {
		actual = *expected; /* the caller hashed every byte it wrote */
		rc = 0;
	} else if (bu->hasher && berth_hasher_algo(bu->hasher) == expected->algo &&
		   berth_hasher_count(bu->hasher) == (uint64_t)st.st_size) {
		rc = berth_hasher_final(bu->hasher, &actual);
	} else {
		/* Other algorithm (e.g. sha512) or lost state: hash the file. */
		if ((rc = rehash_fd(bu->store, u->fd, expected->algo, &fresh)) < 0)
			goto done;
		rc = berth_hasher_final(fresh, &actual);
	}
	if (rc < 0)
		goto done;
	if (!berth_digest_equal(&actual, expected)) {
		/* Nothing partial is kept: the upload goes, then the error is set. */
		(void)remove_upload_dir(fs, bu->id);
		rc = berth_error_set(BERTH_EDIGEST, "digest mismatch: expected %s, content is %s",
				     expected->str, actual.str);
		goto done;
	}
	upload_path(path, bu->id, "data");
	if ((rc = commit_into_place(fs, u->fd, fs->uploads_fd, path, expected)) < 0)
		goto done;
	/* Committed (or already there): the upload directory is garbage now. */
	(void)remove_upload_dir(fs, bu->id);
	if (size_out)
		*size_out = (uint64_t)st.st_size;
	rc = 0;
done:
	berth_hasher_free(fresh);
	return rc;
}

static int fs_upload_reader(berth_upload *bu, int *fd)
{
	fs_upload *u = (fs_upload *)bu;

	/* The data file stays the same inode when committed (renamed or linked). */
	if ((*fd = fcntl(u->fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return berth_error_set(BERTH_EIO, "upload %s: dup: %s", bu->id, strerror(errno));
	return 0;
}

static void fs_upload_release(berth_upload *bu)
{
	fs_upload *u = (fs_upload *)bu;

	fs_upload_settle(bu); /* the thread reads u->fd */
	if (u->fd >= 0)
		close(u->fd); /* drops the flock */
	free(u);
}

static int fs_upload_delete(berth_store *s, const char *id)
{
	fs_store *fs = FS(s);
	struct stat st;
	int fd, rc;

	fd = lock_upload(fs, id, O_RDONLY, NULL);
	if (fd == BERTH_ENOTFOUND) {
		/* A directory without data (crash during create) still goes. */
		if (fstatat(fs->uploads_fd, id, &st, 0) != 0)
			return fd;
		berth_error_clear();
	} else if (fd < 0) {
		return fd;
	}
	rc = remove_upload_dir(fs, id);
	if (fd >= 0)
		close(fd);
	berth_store__cache_drop(s, id);
	return rc;
}

/* Start time of an upload: startedat, or the directory's mtime if unreadable. */
static time_t upload_started(fs_store *fs, const char *id)
{
	char path[UPLOAD_PATH_MAX], text[32];
	struct stat st;
	ssize_t n = -1;
	int fd;

	upload_path(path, id, "startedat");
	if ((fd = openat(fs->uploads_fd, path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
	}
	if (n > 0) {
		char *end;
		long long v;

		text[n] = '\0';
		errno = 0;
		v = strtoll(text, &end, 10);
		if (errno == 0 && end != text && (*end == '\n' || *end == '\0'))
			return (time_t)v;
	}
	if (fstatat(fs->uploads_fd, id, &st, 0) == 0)
		return st.st_mtime;
	return 0;
}

static int fs_upload_purge(berth_store *s, time_t cutoff, int *purged)
{
	fs_store *fs = FS(s);
	DIR *dir = NULL;
	struct dirent *de;
	int dfd, rc;

	*purged = 0;
	if ((dfd = openat(fs->uploads_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = berth_error_set_errno("open %s/uploads", fs->root);
		goto done;
	}
	if (!(dir = fdopendir(dfd))) {
		rc = berth_error_set_errno("read %s/uploads", fs->root);
		close(dfd);
		goto done;
	}
	while ((errno = 0, de = readdir(dir)) != NULL) {
		const char *name = de->d_name;
		struct stat st;
		int fd;

		if (strncmp(name, PUT_TMP_PREFIX, sizeof(PUT_TMP_PREFIX) - 1) == 0) {
			/* Left by a berth_store_put that crashed. */
			if (fstatat(fs->uploads_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    st.st_mtime < cutoff)
				(void)unlinkat(fs->uploads_fd, name, 0);
			continue;
		}
		if (!berth_store_upload_id_valid(name) || upload_started(fs, name) >= cutoff)
			continue;
		fd = lock_upload(fs, name, O_RDONLY, NULL);
		if (fd == BERTH_EBUSY)
			continue; /* someone is writing it: not abandoned */
		if (fd == BERTH_ENOTFOUND && fstatat(fs->uploads_fd, name, &st, 0) != 0)
			continue; /* gone meanwhile */
		if (fd < 0 && fd != BERTH_ENOTFOUND)
			continue;
		if (remove_upload_dir(fs, name) == 0)
			(*purged)++;
		if (fd >= 0)
			close(fd);
		berth_store__cache_drop(s, name);
	}
	if (errno != 0) {
		rc = berth_error_set_errno("read %s/uploads", fs->root);
		goto done;
	}
	berth_error_clear();
	rc = 0;
done:
	if (dir)
		closedir(dir);
	return rc;
}

/* Every blob under blobs/<algo>/<2 hex>/, for migration. */
static int fs_list(berth_store *s, int (*fn)(void *ctx, const berth_digest *d), void *ctx)
{
	static const char *const algos[] = {"sha256", "sha512"};
	static const char hex[] = "0123456789abcdef";
	fs_store *fs = FS(s);
	char rel[16], text[8 + 128 + 1];
	int rc = 0;

	for (size_t a = 0; a < 2 && rc == 0; a++) {
		for (int i = 0; i < 256 && rc == 0; i++) {
			struct dirent *de;
			DIR *dir;
			int dfd;

			snprintf(rel, sizeof(rel), "%s/%c%c", algos[a], hex[i >> 4], hex[i & 15]);
			if ((dfd = openat(fs->blobs_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
			    0)
				continue; /* a fan-out directory trimmed by hand */
			if (!(dir = fdopendir(dfd))) {
				close(dfd);
				return berth_error_set_errno("read %s/blobs/%s", fs->root, rel);
			}
			while (rc == 0 && (de = readdir(dir)) != NULL) {
				berth_digest d;
				int n;

				if (de->d_name[0] == '.')
					continue;
				n = snprintf(text, sizeof(text), "%s:%s", algos[a], de->d_name);
				if (n <= 0 || (size_t)n >= sizeof(text) ||
				    berth_digest_parse(&d, text, (size_t)n) < 0) {
					berth_error_clear(); /* not a blob: skip it */
					continue;
				}
				rc = fn(ctx, &d);
			}
			closedir(dir);
		}
	}
	return rc;
}

/* ---- garbage collection ---- */

typedef struct fs_gc {
	berth_store *s;
	const berth_store_gc_opts *o;
	berth_store_gc_stats *st;
} fs_gc;

/* One blob of the listing: keep it (young, referenced) or delete it. */
static int gc_one(void *ctx, const berth_digest *d)
{
	fs_gc *g = ctx;
	fs_store *fs = FS(g->s);
	blob_path bp;
	struct stat sb;
	time_t written;
	int rc;

	blob_path_of(&bp, d);
	if (fstatat(fs->blobs_fd, bp.rel, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return 0; /* gone meanwhile */
	g->st->blobs++;
	written = sb.st_mtime > sb.st_ctime ? sb.st_mtime : sb.st_ctime;
	if (written >= g->o->grace_cutoff) {
		g->st->kept_young++;
		return 0;
	}
	/* Asked just before the unlink: a link recorded meanwhile keeps the blob. */
	if ((rc = g->o->referenced(g->o->ctx, d)) < 0)
		return rc;
	if (rc > 0) {
		g->st->kept_referenced++;
		return 0;
	}
	if (!g->o->dry_run && unlinkat(fs->blobs_fd, bp.rel, 0) != 0 && errno != ENOENT)
		return berth_error_set_errno("gc: delete blob %s", d->str);
	g->st->blobs_deleted++;
	g->st->bytes_deleted += (uint64_t)sb.st_size;
	if (g->o->report)
		g->o->report(g->o->ctx, BERTH_STORE_GC_BLOB, d->str, (uint64_t)sb.st_size);
	return 0;
}

static int fs_gc_run(berth_store *s, const berth_store_gc_opts *o, berth_store_gc_stats *st)
{
	fs_gc g = {s, o, st};

	return fs_list(s, gc_one, &g);
}

static const berth_store__driver fs_driver = {
	.name = "fs",
	.free = fs_free,
	.stat = fs_stat,
	.open_blob = fs_open_blob,
	.read_blob = fs_read_blob,
	.put = fs_put,
	.delete_blob = fs_delete_blob,
	.upload_create = fs_upload_create,
	.upload_size = fs_upload_size,
	.upload_open = fs_upload_open,
	.upload_write = fs_upload_write,
	.upload_reader = fs_upload_reader,
	.upload_settle = fs_upload_settle,
	.upload_sync = fs_upload_sync,
	.upload_commit = fs_upload_commit,
	.upload_release = fs_upload_release,
	.upload_delete = fs_upload_delete,
	.upload_purge = fs_upload_purge,
	.list = fs_list,
	.gc = fs_gc_run,
};
