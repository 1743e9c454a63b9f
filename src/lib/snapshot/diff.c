/*
 * diff.c - a working root's upper directory as an OCI layer.
 *
 * The upper directory is walked depth first, each directory's names in
 * byte order (what Go's filepath.Walk, and so BuildKit, produces), and
 * written through libarchive (PAX, numeric owners, no atime/ctime) into a
 * callback that hashes the tar (the diff ID) and compresses it into the
 * caller's writer, hashing the blob on the way. overlayfs' whiteouts (0:0
 * character devices) become `.wh.<name>` entries and its opaque directories
 * a `.wh..wh..opq` entry after the directory's own; a file seen again by
 * inode becomes a hard link to its first path.
 */
#include "lib/snapshot/internal.h"
#include "util/array.h"
#include "util/buf.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define XATTR_LIST_MAX_BYTES 65536
#define XATTR_VALUE_MAX_BYTES 65536
#define DIFF_DEPTH_MAX 512

typedef struct link_seen {
	dev_t dev;
	ino_t ino;
	char *path; /* the tar path it was first written at */
} link_seen;

typedef struct differ {
	berth_workroot *w;
	const berth_diff_options *o;
	struct archive *a;
	berth_snapshot__zout *z;
	berth_layer_write_fn write;
	void *wctx;
	berth_hasher *tar_hash, *blob_hash;
	uint64_t size, entries;
	int err; /* first error of a callback */
	link_seen *links;
	size_t nlinks, links_cap;
	char *buf; /* file data */
} differ;

/* ---- the byte path: tar -> diff ID hash -> compressor -> blob hash -> caller ---- */

static int blob_write(void *ctx, const void *data, size_t len)
{
	differ *d = ctx;
	int rc = d->blob_hash ? berth_hasher_update(d->blob_hash, data, len) : 0;

	if (rc < 0)
		return rc;
	d->size += len;
	return d->write(d->wctx, data, len);
}

static la_ssize_t tar_write(struct archive *a, void *ctx, const void *data, size_t len)
{
	differ *d = ctx;
	int rc = berth_hasher_update(d->tar_hash, data, len);

	if (rc == 0)
		rc = berth_snapshot__zout_write(d->z, data, len);
	if (rc < 0) {
		d->err = rc;
		archive_set_error(a, EIO, "%s", berth_error_last());
		return -1;
	}
	return (la_ssize_t)len;
}

/* ---- entries ---- */

static int64_t clamp(const differ *d, int64_t t, long *nsec)
{
	if (d->o->clamp_mtime >= 0 && t >= d->o->clamp_mtime) {
		*nsec = 0;
		return d->o->clamp_mtime;
	}
	return t;
}

static int archive_fail(differ *d, const char *what)
{
	if (d->err)
		return d->err;
	return berth_error_set(BERTH_EIO, "%s: %s", what, archive_error_string(d->a));
}

/* An empty regular file entry: whiteouts and opaque markers. */
static int write_marker(differ *d, const char *tarpath, const struct stat *st)
{
	struct archive_entry *e = archive_entry_new();
	long nsec = st->st_mtim.tv_nsec;
	int64_t t = clamp(d, st->st_mtim.tv_sec, &nsec);
	int rc = 0;

	if (!e)
		return berth_error_set(BERTH_ERROR, "out of memory");
	archive_entry_set_pathname(e, tarpath);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0);
	archive_entry_set_size(e, 0);
	archive_entry_set_mtime(e, t, nsec);
	if (archive_write_header(d->a, e) != ARCHIVE_OK)
		rc = archive_fail(d, tarpath);
	else
		d->entries++;
	archive_entry_free(e);
	return rc;
}

/* Note an upper path carrying overlayfs' own xattrs, for berth_workroot_keep() to clear. */
static int note_stray(differ *d, const char *tarpath)
{
	berth_workroot *w = d->w;
	char **p;

	if (w->nstray && strcmp(w->stray[w->nstray - 1], tarpath) == 0)
		return 0;
	p = berth_array_room(w->stray, w->nstray, &w->stray_cap, sizeof(*p));
	if (!p)
		return berth_error_set(BERTH_ERROR, "out of memory");
	w->stray = p;
	if (!(w->stray[w->nstray] = strdup(tarpath)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	w->nstray++;
	return 0;
}

/*
 * The entry's extended attributes into e, read through fd when it is open
 * (a regular file or directory), else by path; *opaque for overlayfs'
 * opaque mark. overlayfs' other trusted.overlay.* attributes stay out of
 * the layer and are noted (note_stray).
 */
static int add_xattrs(differ *d, int fd, const char *path, const char *tarpath,
		      struct archive_entry *e, int *opaque)
{
	char *names = NULL, *val = NULL;
	ssize_t n;
	int rc = 0;

	*opaque = 0;
	n = fd >= 0 ? flistxattr(fd, NULL, 0) : llistxattr(path, NULL, 0);
	if (n <= 0)
		return 0; /* none, or a filesystem without xattrs */
	if (n > XATTR_LIST_MAX_BYTES)
		return berth_error_set(BERTH_ETOOBIG, "%s: too many extended attributes", path);
	names = malloc((size_t)n);
	val = malloc(XATTR_VALUE_MAX_BYTES);
	if (!names || !val) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	n = fd >= 0 ? flistxattr(fd, names, (size_t)n) : llistxattr(path, names, (size_t)n);
	for (ssize_t i = 0; i < n && rc == 0; i += (ssize_t)strlen(names + i) + 1) {
		const char *name = names + i;
		ssize_t vl;

		if (strncmp(name, "trusted.overlay.", 16) == 0) {
			if (strcmp(name, "trusted.overlay.opaque") == 0 &&
			    (fd >= 0 ? fgetxattr(fd, name, val, 1)
				     : lgetxattr(path, name, val, 1)) == 1 &&
			    val[0] == 'y')
				*opaque = 1;
			else
				rc = note_stray(d, tarpath);
			continue;
		}
		vl = fd >= 0 ? fgetxattr(fd, name, val, XATTR_VALUE_MAX_BYTES)
			     : lgetxattr(path, name, val, XATTR_VALUE_MAX_BYTES);
		if (vl < 0)
			continue; /* gone meanwhile, or not readable: nothing to keep */
		archive_entry_xattr_add_entry(e, name, val, (size_t)vl);
	}
done:
	free(names);
	free(val);
	return rc;
}

/* size bytes of fd (the size its tar header declares; libarchive pads a file that shrank). */
static int write_file_data(differ *d, int fd, const char *path, int64_t size)
{
	int64_t left = size;

	while (left > 0) {
		size_t want = left < 256 * 1024 ? (size_t)left : 256 * 1024;
		ssize_t n = read(fd, d->buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berth_error_set_errno("read %s", path);
		if (n == 0)
			break;
		if (archive_write_data(d->a, d->buf, (size_t)n) != n)
			return archive_fail(d, path);
		left -= n;
	}
	return 0;
}

/* The first tar path of a multiply linked inode, or NULL (and it is recorded). */
static int hardlink_of(differ *d, const struct stat *st, const char *tarpath, const char **first)
{
	link_seen *l;

	*first = NULL;
	for (size_t i = 0; i < d->nlinks; i++) {
		if (d->links[i].dev == st->st_dev && d->links[i].ino == st->st_ino) {
			*first = d->links[i].path;
			return 0;
		}
	}
	l = berth_array_room(d->links, d->nlinks, &d->links_cap, sizeof(*l));
	if (!l)
		return berth_error_set(BERTH_ERROR, "out of memory");
	d->links = l;
	l = &d->links[d->nlinks];
	l->dev = st->st_dev;
	l->ino = st->st_ino;
	l->path = strdup(tarpath);
	if (!l->path)
		return berth_error_set(BERTH_ERROR, "out of memory");
	d->nlinks++;
	return 0;
}

/*
 * The entry `name` of the directory dfd (host path `path`, tar path
 * `tarpath`) as a tar entry. fd: the entry opened (a regular file's data
 * is read through it, a directory's xattrs), or -1.
 */
static int write_entry(differ *d, int dfd, int fd, const char *name, const char *path,
		       const char *tarpath, const struct stat *st, int *opaque)
{
	struct archive_entry *e = NULL;
	const char *first = NULL;
	long nsec = st->st_mtim.tv_nsec;
	int64_t t;
	int rc = 0;

	*opaque = 0;
	if (S_ISREG(st->st_mode) && st->st_nlink > 1 &&
	    (rc = hardlink_of(d, st, tarpath, &first)) < 0)
		return rc;
	e = archive_entry_new();
	if (!e)
		return berth_error_set(BERTH_ERROR, "out of memory");
	archive_entry_copy_stat(e, st);
	archive_entry_unset_atime(e);
	archive_entry_unset_ctime(e);
	archive_entry_unset_birthtime(e);
	t = clamp(d, st->st_mtim.tv_sec, &nsec);
	archive_entry_set_mtime(e, t, nsec);
	archive_entry_set_nlink(e, 1);
	archive_entry_set_ino64(e, 0);
	archive_entry_set_dev(e, 0);
	archive_entry_set_pathname(e, tarpath);
	if (first) {
		archive_entry_set_hardlink(e, first);
		archive_entry_set_size(e, 0);
	} else if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);

		if (n < 0) {
			rc = berth_error_set_errno("readlink %s", path);
			goto done;
		}
		target[n] = '\0';
		archive_entry_set_symlink(e, target);
	} else if (!S_ISREG(st->st_mode)) {
		archive_entry_set_size(e, 0);
	}
	if ((rc = add_xattrs(d, fd, path, tarpath, e, opaque)) < 0)
		goto done;
	if (archive_write_header(d->a, e) != ARCHIVE_OK) {
		rc = archive_fail(d, tarpath);
		goto done;
	}
	d->entries++;
	if (S_ISREG(st->st_mode) && !first && st->st_size > 0)
		rc = write_file_data(d, fd, path, st->st_size);
done:
	archive_entry_free(e);
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory dfd (without "." and ".."), sorted by bytes; *names is one block. */
static int list_names(int dfd, const char *path, char ***names, size_t *n)
{
	int fd = dup(dfd);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	berth_buf text = BERTH_BUF_INIT(0);
	struct dirent *de;
	size_t count = 0;
	char **v = NULL, *p;
	int rc = 0;

	*names = NULL;
	*n = 0;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return berth_error_set_errno("%s", path);
	}
	rewinddir(dir); /* the dup shares dfd's offset */
	while (rc == 0 && (errno = 0, de = readdir(dir))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((rc = berth_buf_put(&text, de->d_name, strlen(de->d_name) + 1)) == 0)
			count++;
	}
	if (rc == 0 && errno != 0)
		rc = berth_error_set_errno("%s", path);
	closedir(dir);
	if (rc == 0 && count) {
		v = malloc(count * sizeof(*v) + text.len);
		if (!v) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
		} else {
			p = (char *)(v + count);
			memcpy(p, text.ptr, text.len);
			for (size_t i = 0; i < count; i++, p += strlen(p) + 1)
				v[i] = p;
			qsort(v, count, sizeof(*v), name_cmp);
			*names = v;
			*n = count;
		}
	}
	berth_buf_dispose(&text);
	return rc;
}

/*
 * Directory dfd (host path dir, tar path tardir) and below. Entries are
 * reached relative to their directory's descriptor: one short lookup per
 * entry, not the whole path from the root each time.
 */
static int walk(differ *d, int dfd, const char *dir, const char *tardir, int depth)
{
	char **names = NULL;
	size_t n = 0;
	int rc;

	if (depth > DIFF_DEPTH_MAX)
		return berth_error_set(BERTH_ETOOBIG, "%s: directories nested too deep", dir);
	if ((rc = list_names(dfd, dir, &names, &n)) < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *name = names[i];
		char path[PATH_MAX], tarpath[PATH_MAX];
		struct stat st;
		int opaque, fd = -1;

		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
		    (size_t)snprintf(tarpath, sizeof(tarpath), "%s%s%s", tardir,
				     tardir[0] ? "/" : "", name) >= sizeof(tarpath) - 16) {
			rc = berth_error_set(BERTH_ETOOBIG, "path too long under %s", dir);
			break;
		}
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = berth_error_set_errno("%s", path);
			break;
		}
		if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
			char wh[PATH_MAX + 8];

			snprintf(wh, sizeof(wh), "%s%s.wh.%s", tardir, tardir[0] ? "/" : "", name);
			rc = write_marker(d, wh, &st);
			continue;
		}
		if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
			fd = openat(dfd, name,
				    O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
					    (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
			if (fd < 0) {
				rc = berth_error_set_errno("%s", path);
				break;
			}
		}
		rc = write_entry(d, dfd, fd, name, path, tarpath, &st, &opaque);
		if (rc == 0 && S_ISDIR(st.st_mode)) {
			if (opaque) {
				char wh[PATH_MAX + 16];

				snprintf(wh, sizeof(wh), "%s/.wh..wh..opq", tarpath);
				rc = write_marker(d, wh, &st);
			}
			if (rc == 0)
				rc = walk(d, fd, path, tarpath, depth + 1);
		}
		if (fd >= 0)
			close(fd);
	}
	free(names);
	return rc;
}

int berth_workroot_diff(berth_workroot *w, const berth_diff_options *o, berth_layer_write_fn write,
			void *wctx, berth_diff_result *out)
{
	differ d = {.w = w, .o = o, .write = write, .wctx = wctx};
	int rc, top = -1;

	memset(out, 0, sizeof(*out));
	d.buf = malloc(256 * 1024);
	d.a = archive_write_new();
	if (!d.buf || !d.a) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	/* An uncompressed layer's digest is its diff ID: the bytes are hashed once. */
	if ((rc = berth_hasher_new(&d.tar_hash, BERTH_DIGEST_SHA256)) < 0 ||
	    (o->compression != BERTH_LAYER_UNCOMPRESSED &&
	     (rc = berth_hasher_new(&d.blob_hash, BERTH_DIGEST_SHA256)) < 0) ||
	    (rc = berth_snapshot__zout_new(&d.z, o->compression, o->level, blob_write, &d)) < 0)
		goto done;
	archive_write_set_format_pax_restricted(d.a);
	/* Extended attributes as SCHILY.xattr records only: what Go's archive/tar reads. */
	archive_write_set_format_option(d.a, "pax", "xattrheader", "SCHILY");
	/* The tar's bytes do not depend on the block size (the last one is not padded): a
	 * large one hands the hash, compressor and blob writer 256 KiB at a time, not 10. */
	archive_write_set_bytes_per_block(d.a, 256 * 1024);
	archive_write_set_bytes_in_last_block(d.a, 1);
	if (archive_write_open(d.a, &d, NULL, tar_write, NULL) != ARCHIVE_OK) {
		rc = archive_fail(&d, "layer");
		goto done;
	}
	berth_workroot__stray_clear(w);
	w->diffed = 0;
	top = open(w->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0) {
		rc = berth_error_set_errno("%s", w->upper);
		goto done;
	}
	if ((rc = walk(&d, top, w->upper, "", 0)) < 0)
		goto done;
	if (archive_write_close(d.a) != ARCHIVE_OK) {
		rc = archive_fail(&d, "layer");
		goto done;
	}
	if ((rc = berth_snapshot__zout_finish(d.z)) < 0 ||
	    (rc = berth_hasher_final(d.tar_hash, &out->diff_id)) < 0)
		goto done;
	if (!d.blob_hash)
		out->digest = out->diff_id;
	else if ((rc = berth_hasher_final(d.blob_hash, &out->digest)) < 0)
		goto done;
	out->size = d.size;
	out->entries = d.entries;
	w->diffed = 1;
done:
	if (top >= 0)
		close(top);
	if (d.a)
		archive_write_free(d.a);
	berth_snapshot__zout_free(d.z);
	berth_hasher_free(d.tar_hash);
	berth_hasher_free(d.blob_hash);
	for (size_t i = 0; i < d.nlinks; i++)
		free(d.links[i].path);
	free(d.links);
	free(d.buf);
	return rc;
}
