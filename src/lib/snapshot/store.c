/*
 * store.c - the snapshot store: layers unpacked once by diff ID.
 *
 * An unpack runs two threads: a decompressor (berth_layer_transform) that
 * writes the uncompressed tar into an in-memory channel (util/chan.h), and
 * libarchive on the caller's thread reading it in place, hashing it (the
 * diff ID) and writing entries under a temporary directory.
 *
 * Whiteouts become what overlayfs reads (0:0 character devices, the
 * trusted.overlay.opaque xattr); everything else is written by libarchive's
 * disk writer with numeric owners. No entry leaves the directory: ".." is
 * refused, and no entry, whiteout or hard link target goes through a
 * symbolic link. The directory starts empty, so the only symlinks in it are
 * the ones this layer made: the unpack keeps their paths (a hash set of
 * strings) and checks each entry's parent directories against it, with no
 * system call (libarchive's ARCHIVE_EXTRACT_SECURE_SYMLINKS opened and
 * lstat()ed every path component of every entry). A symlink in the way of an
 * entry is replaced by a directory; a hard link whose target is reached
 * through one is refused. The directory is renamed to its diff ID only when
 * the hash matches (or, for a layer whose diff ID is not known yet, to the
 * hash of what was read).
 */
#include "lib/snapshot/internal.h"
#include "util/chan.h"
#include "util/fs.h"
#include "util/hash.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdint.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

int berth_snapshots_open(berth_snapshots **out, const char *root)
{
	berth_snapshots *s = NULL;
	int rc;

	*out = NULL;
	if ((rc = berth_fs_mkdir_p(root)) < 0)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return berth_error_set(BERTH_ERROR, "out of memory");
	/* The real path: libarchive's symlink checks must not trip on our own prefix. */
	{
		char real[PATH_MAX];

		if (!realpath(root, real)) {
			rc = berth_error_set_errno("%s", root);
			goto done;
		}
		if (strlen(real) >= sizeof(s->root)) {
			rc = berth_error_set(BERTH_EINVALID, "snapshot store path too long: %s",
					     real);
			goto done;
		}
		strcpy(s->root, real);
	}
	snprintf(s->layers, sizeof(s->layers), "%s/layers", s->root);
	snprintf(s->work, sizeof(s->work), "%s/work", s->root);
	snprintf(s->empty, sizeof(s->empty), "%s/empty", s->root);
	if ((rc = berth_fs_mkdir_p(s->layers)) < 0 || (rc = berth_fs_mkdir_p(s->work)) < 0 ||
	    (rc = berth_fs_mkdir_p(s->empty)) < 0)
		goto done;
	*out = s;
	s = NULL;
done:
	free(s);
	return rc;
}

void berth_snapshots_free(berth_snapshots *s)
{
	free(s);
}

void berth_snapshots__layer_path(const berth_snapshots *s, const berth_digest *diff_id, char *out)
{
	snprintf(out, PATH_MAX, "%s/%s", s->layers, berth_digest_hex(diff_id));
}

int berth_snapshots_has(berth_snapshots *s, const berth_digest *diff_id)
{
	char p[PATH_MAX];
	struct stat st;

	berth_snapshots__layer_path(s, diff_id, p);
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int berth_snapshots_remove(berth_snapshots *s, const berth_digest *diff_id)
{
	char p[PATH_MAX], gone[PATH_MAX + 32];

	berth_snapshots__layer_path(s, diff_id, p);
	snprintf(gone, sizeof(gone), "%s.gone.%d", p, (int)getpid());
	/* Rename first, so no reader ever sees a half-removed layer. */
	if (rename(p, gone) < 0)
		return berth_error_set_errno("remove layer %s", berth_digest_hex(diff_id));
	return berth_fs_remove_tree(gone);
}

/* ---- the decompressing, hashing thread ---- */

typedef struct feeder {
	berth_layer_compression c;
	berth_layer_read_fn read;
	void *rctx;
	berth_chan *ch;
	berth_hasher *hash;
	size_t peeked; /* what libarchive holds of the channel since its last read */
	int hash_rc;
	int rc;
	char err[256];
} feeder;

static int feed_write(void *ctx, const void *data, size_t len)
{
	return berth_chan_write(((feeder *)ctx)->ch, data, len);
}

static void *feed_main(void *arg)
{
	feeder *f = arg;

	f->rc = berth_layer_transform(f->c, BERTH_LAYER_UNCOMPRESSED, -1, f->read, f->rctx,
				      feed_write, f);
	if (f->rc < 0)
		snprintf(f->err, sizeof(f->err), "%s", berth_error_last());
	berth_chan_finish(f->ch);
	return NULL;
}

/*
 * The next bytes of the channel, in place, hashed: the diff ID is computed on
 * this side, so that the decompressor's thread only decompresses (it is the
 * longer of the two).
 */
static la_ssize_t feed_next(feeder *f, const void **buf)
{
	berth_chan_consume(f->ch, f->peeked);
	f->peeked = berth_chan_peek(f->ch, buf);
	if (f->peeked && (f->hash_rc = berth_hasher_update(f->hash, *buf, f->peeked)) < 0)
		return -1;
	return (la_ssize_t)f->peeked;
}

/* libarchive's reader: kept in place until its next call. */
static la_ssize_t feed_read(struct archive *a, void *ctx, const void **buf)
{
	la_ssize_t n = feed_next(ctx, buf);

	if (n < 0)
		archive_set_error(a, EIO, "%s", berth_error_last());
	return n;
}

/* ---- entries ---- */

/* Clean a tar path: drop leading "/" and "./", refuse "..". "" for the root. */
static int clean_path(const char *in, char *out, size_t len)
{
	size_t n = 0;

	while (*in) {
		size_t seg = strcspn(in, "/");

		if (seg == 0 || (seg == 1 && in[0] == '.')) {
			in += seg + (in[seg] == '/');
			continue;
		}
		if (seg == 2 && in[0] == '.' && in[1] == '.')
			return berth_error_set(BERTH_EINVALID, "layer entry leaves the root: '%s'",
					       in);
		if (n + seg + 2 > len)
			return berth_error_set(BERTH_EINVALID, "layer entry path too long");
		if (n)
			out[n++] = '/';
		memcpy(out + n, in, seg);
		n += seg;
		in += seg + (in[seg] == '/');
	}
	out[n] = '\0';
	return 0;
}

/* ---- the symlinks this unpack made (relative paths), an open-addressing set ---- */

typedef struct links {
	char **slot; /* NULL: empty; TOMB: removed */
	size_t cap;  /* a power of two, 0 until the first symlink */
	size_t used; /* live and removed slots */
} links;

static char tomb;
#define TOMB (&tomb)

/* The slot of the first n bytes of p, or -1. */
static long links_find(const links *l, const char *p, size_t n)
{
	if (!l->cap)
		return -1;
	for (size_t i = berth_fnv1a(BERTH_FNV1A_INIT, p, n) & (l->cap - 1);;
	     i = (i + 1) & (l->cap - 1)) {
		const char *v = l->slot[i];

		if (!v)
			return -1;
		if (v != TOMB && strncmp(v, p, n) == 0 && v[n] == '\0')
			return (long)i;
	}
}

static int links_add(links *l, const char *p)
{
	if (links_find(l, p, strlen(p)) >= 0)
		return 0;
	if ((l->used + 1) * 2 > l->cap) {
		links bigger = {calloc(l->cap ? l->cap * 2 : 64, sizeof(char *)),
				l->cap ? l->cap * 2 : 64, 0};

		if (!bigger.slot)
			return berth_error_set(BERTH_ERROR, "out of memory");
		for (size_t i = 0; i < l->cap; i++) {
			char *v = l->slot[i];

			if (v && v != TOMB) {
				size_t j = berth_fnv1a_str(BERTH_FNV1A_INIT, v) & (bigger.cap - 1);

				while (bigger.slot[j])
					j = (j + 1) & (bigger.cap - 1);
				bigger.slot[j] = v;
				bigger.used++;
			}
		}
		free(l->slot);
		*l = bigger;
	}
	for (size_t i = berth_fnv1a_str(BERTH_FNV1A_INIT, p) & (l->cap - 1);;
	     i = (i + 1) & (l->cap - 1))
		if (!l->slot[i]) {
			if (!(l->slot[i] = strdup(p)))
				return berth_error_set(BERTH_ERROR, "out of memory");
			l->used++;
			return 0;
		}
}

static void links_del(links *l, const char *p, size_t n)
{
	long i = links_find(l, p, n);

	if (i >= 0) {
		free(l->slot[i]);
		l->slot[i] = TOMB;
	}
}

static void links_free(links *l)
{
	for (size_t i = 0; i < l->cap; i++)
		if (l->slot[i] != TOMB)
			free(l->slot[i]);
	free(l->slot);
}

/* Length of the first parent directory of rel that is one of our symlinks, or 0. */
static size_t through_link(const links *l, const char *rel)
{
	for (const char *p = strchr(rel, '/'); p; p = strchr(p + 1, '/'))
		if (links_find(l, rel, (size_t)(p - rel)) >= 0)
			return (size_t)(p - rel);
	return 0;
}

/* tmp/rel in buf. */
static const char *abs_path(char *buf, size_t len, const char *tmp, const char *rel)
{
	snprintf(buf, len, "%s/%s", tmp, rel);
	return buf;
}

/* Replace every symlink among rel's parent directories by nothing (a directory comes next). */
static int unlink_parents(links *l, const char *tmp, const char *rel)
{
	size_t n;

	while ((n = through_link(l, rel)) > 0) {
		char p[PATH_MAX * 2];

		snprintf(p, sizeof(p), "%s/%.*s", tmp, (int)n, rel);
		if (unlink(p) < 0 && errno != ENOENT)
			return berth_error_set_errno("layer entry %s: replace the symlink %.*s",
						     rel, (int)n, rel);
		links_del(l, rel, n);
	}
	return 0;
}

/* mkdir -p of dir (an absolute path under the unpack directory) for a whiteout's parent. */
static int ensure_dir(const char *dir)
{
	return berth_fs_mkdir_p(dir);
}

static int write_whiteout(const char *tmp, const char *rel)
{
	char parent[PATH_MAX * 2], path[PATH_MAX * 3];
	const char *slash = strrchr(rel, '/');
	const char *base = slash ? slash + 1 : rel;
	int rc;

	snprintf(parent, sizeof(parent), "%s/%.*s", tmp, slash ? (int)(slash - rel) : 0, rel);
	if ((rc = ensure_dir(parent)) < 0)
		return rc;
	if (strcmp(base, WH_OPAQUE) == 0) {
		if (lsetxattr(parent, "trusted.overlay.opaque", "y", 1, 0) < 0)
			return berth_error_set_errno("mark %s opaque", rel);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%s", parent, base + strlen(WH_PREFIX));
	if (base[strlen(WH_PREFIX)] == '\0')
		return berth_error_set(BERTH_EINVALID, "empty whiteout name in '%s'", rel);
	if (mknod(path, S_IFCHR | 0, makedev(0, 0)) < 0 && errno != EEXIST)
		return berth_error_set_errno("whiteout %s", rel);
	return 0;
}

static int copy_data(struct archive *in, struct archive *out)
{
	const void *buf;
	size_t size;
	la_int64_t off;

	for (;;) {
		int r = archive_read_data_block(in, &buf, &size, &off);

		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK)
			return berth_error_set(BERTH_EINVALID, "layer data: %s",
					       archive_error_string(in));
		if (archive_write_data_block(out, buf, size, off) != ARCHIVE_OK)
			return berth_error_set(BERTH_EIO, "write layer data: %s",
					       archive_error_string(out));
	}
}

static int unpack_entries(struct archive *in, struct archive *out, const char *tmp, links *ln)
{
	struct archive_entry *e;
	char rel[PATH_MAX], abs[PATH_MAX * 2];
	int r, rc;

	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		const char *base, *hl = archive_entry_hardlink(e);
		int is_link = archive_entry_filetype(e) == AE_IFLNK;

		if ((rc = clean_path(archive_entry_pathname(e), rel, sizeof(rel))) < 0)
			return rc;
		if (!rel[0])
			continue; /* "./": the root itself */
		if ((rc = unlink_parents(ln, tmp, rel)) < 0)
			return rc;
		base = strrchr(rel, '/');
		base = base ? base + 1 : rel;
		if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0) {
			if ((rc = write_whiteout(tmp, rel)) < 0)
				return rc;
			continue;
		}
		snprintf(abs, sizeof(abs), "%s/%s", tmp, rel);
		archive_entry_set_pathname(e, abs);
		if (hl) {
			char hrel[PATH_MAX];

			if ((rc = clean_path(hl, hrel, sizeof(hrel))) < 0)
				return rc;
			if (through_link(ln, hrel))
				return berth_error_set(
					BERTH_EINVALID,
					"layer entry %s: hard link to %s through a symbolic link",
					rel, hrel);
			/* A hard link to one of our symlinks is one more symlink. */
			is_link = links_find(ln, hrel, strlen(hrel)) >= 0;
			snprintf(abs, sizeof(abs), "%s/%s", tmp, hrel);
			archive_entry_set_hardlink(e, abs);
		}
		/*
		 * One of our symlinks at rel goes first, whatever replaces it: libarchive
		 * would keep a symlink to a directory for a directory entry, and a later
		 * entry under it would then go through it.
		 */
		if (links_find(ln, rel, strlen(rel)) >= 0) {
			char p[PATH_MAX * 2];

			if (unlink(abs_path(p, sizeof(p), tmp, rel)) < 0 && errno != ENOENT)
				return berth_error_set_errno("layer entry %s: replace a symlink",
							     rel);
			links_del(ln, rel, strlen(rel));
		}
		if (archive_write_header(out, e) != ARCHIVE_OK)
			return berth_error_set(BERTH_EINVALID, "layer entry %s: %s", rel,
					       archive_error_string(out));
		if (is_link && (rc = links_add(ln, rel)) < 0)
			return rc;
		if (archive_entry_size(e) > 0 && (rc = copy_data(in, out)) < 0)
			return rc;
		if (archive_write_finish_entry(out) != ARCHIVE_OK)
			return berth_error_set(BERTH_EIO, "layer entry %s: %s", rel,
					       archive_error_string(out));
	}
	if (r != ARCHIVE_EOF)
		return berth_error_set(BERTH_EINVALID, "corrupt layer: %s",
				       archive_error_string(in));
	return 0;
}

/*
 * Layer tars name files in UTF-8 (PAX path/linkpath records); under the C
 * locale libarchive fails to convert a non-ASCII one ("Linkname can't be
 * converted from UTF-8 to current locale"). This thread reads them in
 * C.UTF-8, where the names pass through as they are.
 */
static int unpack_entries_utf8(struct archive *in, struct archive *out, const char *tmp)
{
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0), old = (locale_t)0;
	links ln = {0};
	int rc;

	if (utf8)
		old = uselocale(utf8);
	rc = unpack_entries(in, out, tmp, &ln);
	links_free(&ln);
	if (utf8) {
		uselocale(old);
		freelocale(utf8);
	}
	return rc;
}

/*
 * Unpack into a temporary directory, then rename it to the diff ID: `want`'s,
 * checked, or (want NULL) whatever the bytes hash to, which *got receives.
 */
static int unpack_layer(berth_snapshots *s, const berth_digest *want, berth_layer_compression c,
			berth_layer_read_fn rd, void *rctx, berth_digest *got)
{
	static atomic_ulong seq;
	char tmp[PATH_MAX], final[PATH_MAX];
	struct archive *in = NULL, *out = NULL;
	feeder f = {.c = c, .read = rd, .rctx = rctx};
	pthread_t th;
	int started = 0, rc;

	if (want && berth_snapshots_has(s, want))
		return 0;
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%s-%d-%lx-%lu", s->layers,
		 want ? berth_digest_hex(want) : "any", (int)getpid(),
		 (unsigned long)pthread_self(),
		 atomic_fetch_add_explicit(&seq, 1, memory_order_relaxed) + 1);
	if (mkdir(tmp, 0755) < 0)
		return berth_error_set_errno("create %s", tmp);
	if ((rc = berth_hasher_new(&f.hash, want ? want->algo : BERTH_DIGEST_SHA256)) < 0)
		goto done;
	if (!(f.ch = berth_chan_new())) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (pthread_create(&th, NULL, feed_main, &f) != 0) {
		rc = berth_error_set(BERTH_ERROR, "cannot start the decompressor thread");
		goto done;
	}
	started = 1;
	in = archive_read_new();
	out = archive_write_disk_new();
	if (!in || !out) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	archive_read_support_format_tar(in);
	archive_write_disk_set_options(out, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM |
						    ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
						    ARCHIVE_EXTRACT_SECURE_NODOTDOT |
						    ARCHIVE_EXTRACT_UNLINK);
	if (archive_read_open(in, &f, NULL, feed_read, NULL) != ARCHIVE_OK) {
		rc = berth_error_set(BERTH_EINVALID, "layer: %s", archive_error_string(in));
		goto done;
	}
	rc = unpack_entries_utf8(in, out, tmp);
	if (rc == 0 && archive_write_close(out) != ARCHIVE_OK)
		rc = berth_error_set(BERTH_EIO, "layer: %s", archive_error_string(out));
	/* Drain what the tar reader left (padding), so the hash covers every byte. */
	if (rc == 0) {
		const void *rest;

		while (feed_next(&f, &rest) > 0)
			;
	}
done:
	if (f.ch)
		berth_chan_close(f.ch); /* unblocks the feeder if we stopped early */
	if (started) {
		pthread_join(th, NULL);
		if (rc == 0 && f.rc < 0)
			rc = berth_error_set(f.rc, "%s", f.err);
	}
	if (rc == 0 && f.hash_rc < 0)
		rc = f.hash_rc;
	if (rc == 0 && (rc = berth_hasher_final(f.hash, got)) == 0 && want &&
	    !berth_digest_equal(got, want))
		rc = berth_error_set(BERTH_EDIGEST, "layer content is %s, not its diff ID %s",
				     got->str, want->str);
	if (rc == 0)
		berth_snapshots__layer_path(s, got, final);
	if (rc == 0 && rename(tmp, final) < 0) {
		if (errno == ENOTEMPTY || errno == EEXIST)
			rc = 1; /* another unpack of the same layer won: ours goes */
		else
			rc = berth_error_set_errno("commit layer %s", got->str);
	}
	if (rc != 0 && berth_fs_remove_tree(tmp) < 0) {
		/* a leftover .tmp- directory is harmless; the next open does not read it */
	}
	if (rc == 1)
		rc = 0;
	if (rc == 0 && berth_fs_fsync_dir(s->layers) < 0)
		rc = BERTH_EIO;
	archive_read_free(in);
	archive_write_free(out);
	berth_chan_free(f.ch);
	berth_hasher_free(f.hash);
	return rc;
}

int berth_snapshots_unpack(berth_snapshots *s, const berth_digest *diff_id,
			   berth_layer_compression c, berth_layer_read_fn rd, void *rctx)
{
	berth_digest got;

	return unpack_layer(s, diff_id, c, rd, rctx, &got);
}

int berth_snapshots_unpack_any(berth_snapshots *s, berth_layer_compression c,
			       berth_layer_read_fn rd, void *rctx, berth_digest *diff_id)
{
	return unpack_layer(s, NULL, c, rd, rctx, diff_id);
}
