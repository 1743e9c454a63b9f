/*
 * walk.c - the two ways files reach the cataloguers: entries of a layer tar
 * (streamed once; whiteouts recorded, not applied — merge.c applies them
 * across layers) and files of an unpacked root filesystem (walked with
 * openat and O_NOFOLLOW, so no symlink leads out of the root). Only files a
 * cataloguer wants are read, each up to that cataloguer's cap; paths are
 * normalised to "/"-rooted form and any with "..", or past the length and
 * depth caps, are skipped with a warning.
 */
#include "internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

/* "./usr//lib/" → "/usr/lib"; -1 for "..", or past the caps. */
static int normalise(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	int depth = 0;

	while (*in) {
		const char *s = in;
		size_t n;

		while (*s == '/')
			s++;
		n = strcspn(s, "/");
		in = s + n;
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return -1;
		if (++depth > BERTH_CATALOG_DEPTH_MAX || o + n + 2 > cap)
			return -1;
		out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	return 0;
}

/* Whiteouts: ".wh.NAME" deletes NAME; ".wh..wh..opq" hides the directory's lower contents. */
static int whiteout(cat_layer *l, const char *path)
{
	const char *base = berth_catalog__base(path);
	char buf[BERTH_CATALOG_PATH_MAX + 1];
	size_t dir = (size_t)(base - path);

	if (strncmp(base, ".wh.", 4) != 0)
		return 0;
	if (strcmp(base, ".wh..wh..opq") == 0) {
		snprintf(buf, sizeof(buf), "%.*s", (int)(dir > 1 ? dir - 1 : dir), path);
		return berth_catalog__strs_add(&l->opaque, buf) < 0 ? -1 : 1;
	}
	snprintf(buf, sizeof(buf), "%.*s%s", (int)dir, path, base + 4);
	return berth_catalog__strs_add(&l->whiteouts, buf) < 0 ? -1 : 1;
}

/* Read the rest of the current entry after `head` bytes already in *buf. */
static int read_rest(struct archive *a, unsigned char **buf, size_t *len, size_t max)
{
	size_t cap = *len > CHUNK ? *len : CHUNK;

	for (;;) {
		la_ssize_t got;

		if (*len == cap) {
			unsigned char *nb;

			if (cap >= max)
				return berth_error_set(BERTH_ETOOBIG,
						       "larger than the cap of %zu bytes", max);
			cap = cap * 2 > max ? max : cap * 2;
			nb = realloc(*buf, cap);
			if (!nb)
				return berth_error_set(BERTH_ERROR, "out of memory");
			*buf = nb;
		}
		got = archive_read_data(a, *buf + *len, cap - *len);
		if (got < 0)
			return berth_error_set(BERTH_EIO, "reading the layer: %s",
					       archive_error_string(a));
		if (got == 0)
			return 0;
		*len += (size_t)got;
	}
}

static int tar_file(cat_layer *l, struct archive *a, struct archive_entry *e, const char *path,
		    const char *diff)
{
	int64_t size = archive_entry_size(e);
	const cat_kind *k = berth_catalog__kind_for(path, archive_entry_perm(e), (uint64_t)size);
	cat_ctx cx = {l, path, diff, 0, NULL};
	unsigned char *buf = NULL;
	size_t len = 0;
	la_ssize_t got;
	int rc = 0;

	if (!k)
		return 0;
	if (size < 0 || (uint64_t)size > k->max) {
		if (strcmp(k->name, "binary") != 0)
			berth_catalog__warn(&cx, "larger than the cap of %zu bytes, skipped",
					    k->max);
		return 0;
	}
	buf = malloc(size > 0 && size < CHUNK ? (size_t)size + 1 : CHUNK);
	if (!buf)
		return berth_error_set(BERTH_ERROR, "out of memory");
	/* The first chunk tells a binary from a script before the rest is read. */
	got = archive_read_data(a, buf, size > 0 && size < CHUNK ? (size_t)size + 1 : CHUNK);
	if (got < 0) {
		rc = berth_error_set(BERTH_EIO, "reading %s: %s", path, archive_error_string(a));
		goto done;
	}
	len = (size_t)got;
	if (strcmp(k->name, "binary") == 0 && (len < 4 || memcmp(buf,
								 "\x7f"
								 "ELF",
								 4) != 0))
		goto done;
	if ((rc = read_rest(a, &buf, &len, k->max)) < 0) {
		if (rc != BERTH_ETOOBIG)
			goto done;
		berth_catalog__warn(&cx, "%s", berth_error_last());
		rc = 0;
		goto done;
	}
	berth_catalog__run(k, &cx, buf, len);
done:
	free(buf);
	return rc;
}

int berth_catalog__walk_tar(cat_layer *l, struct archive *a, const char *diff,
			    berth_catalog_progress progress, void *pctx)
{
	struct archive_entry *e;
	char path[BERTH_CATALOG_PATH_MAX + 1];
	size_t entries = 0, bad = 0;
	int r;

	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname(e);

		if (++entries > BERTH_CATALOG_ENTRIES_MAX)
			return berth_error_set(BERTH_ETOOBIG, "more than %d entries in the layer",
					       BERTH_CATALOG_ENTRIES_MAX);
		if (progress && entries % 4096 == 0)
			progress(pctx, diff, (uint64_t)archive_filter_bytes(a, -1), 0, 0);
		if (!name || normalise(name, path, sizeof(path)) < 0) {
			if (bad++ == 0)
				berth_catalog__warn_in(l->found,
						       "layer %.19s: skipped an entry with '..' or "
						       "past %d bytes / %d levels",
						       diff, BERTH_CATALOG_PATH_MAX,
						       BERTH_CATALOG_DEPTH_MAX);
			continue;
		}
		r = whiteout(l, path);
		if (r < 0)
			return -1;
		if (r > 0 || archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
			continue;
		if (tar_file(l, a, e, path, diff) < 0)
			return -1;
	}
	if (r != ARCHIVE_EOF)
		return berth_error_set(BERTH_EINVALID, "layer %.19s: %s", diff,
				       archive_error_string(a));
	return 0;
}

/* ---- root filesystems ---- */

typedef struct dwalk {
	cat_layer *l;
	size_t entries;
	char path[BERTH_CATALOG_PATH_MAX + 1];
} dwalk;

static int dir_file(dwalk *w, int dfd, const char *name, const struct stat *st)
{
	const cat_kind *k = berth_catalog__kind_for(w->path, st->st_mode, (uint64_t)st->st_size);
	cat_ctx cx = {w->l, w->path, "", 0, NULL};
	unsigned char *buf = NULL;
	size_t len = 0, want;
	int fd, rc = 0;

	if (!k)
		return 0;
	if ((uint64_t)st->st_size > k->max) {
		if (strcmp(k->name, "binary") != 0)
			berth_catalog__warn(&cx, "larger than the cap of %zu bytes, skipped",
					    k->max);
		return 0;
	}
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		berth_catalog__warn(&cx, "cannot open: %s", strerror(errno));
		return 0;
	}
	want = (size_t)st->st_size;
	buf = malloc(want + 1);
	if (!buf) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	while (len < want) {
		ssize_t n = read(fd, buf + len,
				 strcmp(k->name, "binary") == 0 && len == 0 ? 4 : want - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == 4 && strcmp(k->name, "binary") == 0 &&
		    memcmp(buf,
			   "\x7f"
			   "ELF",
			   4) != 0)
			goto done;
	}
	berth_catalog__run(k, &cx, buf, len);
done:
	free(buf);
	close(fd);
	return rc;
}

static int walk(dwalk *w, int dfd, int depth)
{
	DIR *dir;
	struct dirent *de;
	size_t base = strlen(w->path);
	int rc = 0;

	if (depth > BERTH_CATALOG_DEPTH_MAX) {
		berth_catalog__warn_in(w->l->found, "%s: deeper than %d levels, skipped", w->path,
				       BERTH_CATALOG_DEPTH_MAX);
		close(dfd);
		return 0;
	}
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return 0;
	}
	while ((de = readdir(dir))) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (++w->entries > BERTH_CATALOG_ENTRIES_MAX) {
			rc = berth_error_set(BERTH_ETOOBIG, "more than %d files",
					     BERTH_CATALOG_ENTRIES_MAX);
			break;
		}
		if (base + strlen(de->d_name) + 2 > sizeof(w->path))
			continue;
		snprintf(w->path + base, sizeof(w->path) - base, "%s%s", base == 1 ? "" : "/",
			 de->d_name);
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(dir), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0 && (rc = walk(w, sub, depth + 1)) < 0)
				break;
		} else if (S_ISREG(st.st_mode)) {
			if ((rc = dir_file(w, dirfd(dir), de->d_name, &st)) < 0)
				break;
		}
		w->path[base] = 0;
	}
	w->path[base] = 0;
	closedir(dir);
	return rc;
}

int berth_catalog__walk_dir(cat_layer *l, const char *root)
{
	dwalk *w = calloc(1, sizeof(*w));
	int fd, rc;

	if (!w)
		return berth_error_set(BERTH_ERROR, "out of memory");
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		free(w);
		return berth_error_set_errno("rootfs %s", root);
	}
	w->l = l;
	strcpy(w->path, "/");
	rc = walk(w, fd, 0);
	free(w);
	return rc;
}
