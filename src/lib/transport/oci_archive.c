/*
 * oci_archive.c - the oci-archive: transport, a tar of an OCI image layout,
 * and the safe tar extraction both archive transports read through.
 *
 * Source: the tar is unpacked (libarchive, any compression filter) into a
 * private temporary directory and read with the layout source. Extraction
 * writes only regular files and directories, at member names checked to be
 * relative and free of ".."; links are recorded, never created, and resolved
 * lexically inside the tree when a member is opened (the oci-archive source
 * then hard-links the files they resolve to at their names, for the layout
 * reader), so nothing in an archive can make berth read or write outside
 * that directory. Unpacking stops, with an error, before the files would
 * leave less than 5% (at least 64 MiB) of the filesystem free: a few MiB
 * of compressed tar can stand for terabytes. The docker-archive source
 * (berth_transport__tree_index) has the layers of an uncompressed archive
 * read where they lie instead: copying 2 GB of layers out cost more than
 * cataloguing them.
 *
 * Destination: a layout is built in a temporary directory and, on commit,
 * packed (pax/ustar, members in lexical walk order as skopeo writes them,
 * owner root, mtime 0 so the same image gives the same bytes) into a
 * temporary file beside FILE that is renamed over it. Nothing is created at
 * FILE unless the commit succeeds.
 */
#include "internal.h"

#include "util/array.h"
#include "util/fs.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define MAX_MEMBERS 200000
#define MAX_LINK_HOPS 16
#define CHUNK (1u << 20)
#define RESERVE_MIN (64ULL * 1024 * 1024)

int berth_transport__mkdtemp(char **out, const char *what)
{
	const char *base = getenv("TMPDIR");
	char *p = NULL;

	*out = NULL;
	if (!base || !*base)
		base = "/var/tmp";
	if (asprintf(&p, "%s/berth-%s-XXXXXX", base, what) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (!mkdtemp(p)) {
		int rc = berth_error_set_errno("create a temporary directory in %s", base);

		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int berth_transport__archive_target(const char *transport, const char *path, char **file,
				    char **tmpdir)
{
	struct stat st;

	*file = *tmpdir = NULL;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return berth_error_set(BERTH_EINVALID, "%s:%s is a directory", transport, path);
	if (!(*file = strdup(path)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	return berth_transport__mkdtemp(tmpdir, transport);
}

int berth_transport__member_name_safe(const char *name)
{
	const char *p = name;

	if (!name || !*name || name[0] == '/')
		return 0;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		if (!slash)
			break;
		p = slash + 1;
	}
	return 1;
}

/*
 * Lexically normalise a relative path: drop "" and "." components, apply
 * ".." (failing if it climbs above the root). -1 if unsafe or too long.
 */
static int norm_path(const char *in, char *out, size_t outsz)
{
	size_t len = 0;
	const char *p = in;

	if (!in || in[0] == '/')
		return -1;
	out[0] = '\0';
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* skip */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *cut;

			if (len == 0)
				return -1;
			cut = strrchr(out, '/');
			len = cut ? (size_t)(cut - out) : 0;
			out[len] = '\0';
		} else {
			if (len + n + 2 > outsz)
				return -1;
			if (len)
				out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
			out[len] = '\0';
		}
		if (!slash)
			break;
		p = slash + 1;
	}
	return 0;
}

typedef struct tree_link {
	char *name;   /* normalised member name */
	char *target; /* normalised, root-relative target */
} tree_link;

typedef struct tree_member {
	char *name;	/* normalised; "" once a later member of that name replaced it */
	int64_t offset; /* of its data in the archive */
	int64_t size;
} tree_member;

struct berth_transport__tree {
	char *dir;
	tree_link *links;
	size_t nlinks, caplinks;
	char *archive;	      /* set when members are kept in place */
	tree_member *members; /* the members kept in place */
	size_t nmembers, capmembers;
};

const char *berth_transport__tree_dir(const berth_transport__tree *t)
{
	return t->dir;
}

void berth_transport__tree_free(berth_transport__tree *t)
{
	if (!t)
		return;
	if (t->dir)
		if (berth_fs_remove_tree(t->dir) != 0) { /* best effort */
		}
	for (size_t i = 0; i < t->nlinks; i++) {
		free(t->links[i].name);
		free(t->links[i].target);
	}
	free(t->links);
	for (size_t i = 0; i < t->nmembers; i++)
		free(t->members[i].name);
	free(t->members);
	free(t->archive);
	free(t->dir);
	free(t);
}

/* A later member of the same name replaces the earlier one, as tar does. */
static void forget_member(berth_transport__tree *t, const char *rel)
{
	for (size_t i = 0; i < t->nmembers; i++)
		if (strcmp(t->members[i].name, rel) == 0)
			t->members[i].name[0] = '\0';
}

static int add_member(berth_transport__tree *t, const char *rel, int64_t offset, int64_t size)
{
	tree_member *p = berth_array_room(t->members, t->nmembers, &t->capmembers, sizeof(*p));
	char path[PATH_MAX];

	if (!p)
		return berth_error_set(BERTH_ERROR, "out of memory");
	t->members = p;
	forget_member(t, rel);
	if (snprintf(path, sizeof(path), "%s/%s", t->dir, rel) < (int)sizeof(path))
		(void)unlink(path); /* an earlier member of that name, unpacked */
	if (!(t->members[t->nmembers].name = strdup(rel)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	t->members[t->nmembers].offset = offset;
	t->members[t->nmembers].size = size;
	t->nmembers++;
	return 0;
}

static int add_link(berth_transport__tree *t, const char *name, const char *target)
{
	tree_link *p = berth_array_room(t->links, t->nlinks, &t->caplinks, sizeof(*p));

	if (!p)
		return berth_error_set(BERTH_ERROR, "out of memory");
	t->links = p;
	t->links[t->nlinks].name = strdup(name);
	t->links[t->nlinks].target = strdup(target);
	if (!t->links[t->nlinks].name || !t->links[t->nlinks].target) {
		free(t->links[t->nlinks].name);
		free(t->links[t->nlinks].target);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	t->nlinks++;
	return 0;
}

/* Create the directories of `rel` (a normalised path) under root; `last` includes the final one. */
static int make_dirs(const char *root, const char *rel, int last)
{
	char path[PATH_MAX];
	size_t rootlen = strlen(root);
	char *p;

	if (snprintf(path, sizeof(path), "%s/%s", root, rel) >= (int)sizeof(path))
		return berth_error_set(BERTH_EINVALID, "archive member name too long");
	for (p = path + rootlen + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return berth_error_set_errno("mkdir %s", path);
		*p = '/';
	}
	if (last && mkdir(path, 0755) != 0 && errno != EEXIST)
		return berth_error_set_errno("mkdir %s", path);
	return 0;
}

static int extract_file(struct archive *a, const char *root, const char *rel, char *chunk,
			uint64_t *budget, const unsigned char *head, size_t nhead)
{
	char path[PATH_MAX];
	int fd, rc;

	rc = make_dirs(root, rel, 0);
	if (rc)
		return rc;
	if (snprintf(path, sizeof(path), "%s/%s", root, rel) >= (int)sizeof(path))
		return berth_error_set(BERTH_EINVALID, "archive member name too long");
	/* A later member of the same name replaces the earlier one, as tar does. */
	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return berth_error_set_errno("create %s", path);
	if (nhead && (rc = berth_fs_write_all(fd, head, nhead)) != 0) {
		close(fd);
		return rc;
	}
	for (;;) {
		la_ssize_t n = archive_read_data(a, chunk, CHUNK);

		if (n < 0) {
			rc = berth_error_set(BERTH_EINVALID, "reading archive member %s: %s", rel,
					     archive_error_string(a));
			break;
		}
		if (n == 0)
			break;
		if ((uint64_t)n > *budget) {
			rc = berth_error_set(
				BERTH_ETOOBIG,
				"unpacking member %s would nearly fill the filesystem of "
				"%s: point TMPDIR at one with more room",
				rel, root);
			break;
		}
		*budget -= (uint64_t)n;
		rc = berth_fs_write_all(fd, chunk, (size_t)n);
		if (rc)
			break;
	}
	close(fd);
	return rc;
}

/* Bytes the unpacked files may take under `dir`: what is free now, less a
 * reserve of 5% of the filesystem (at least 64 MiB). */
static uint64_t extract_budget(const char *dir)
{
	struct statvfs vfs;
	uint64_t avail, reserve;

	if (statvfs(dir, &vfs) != 0)
		return UINT64_MAX; /* not knowable: writes fail with ENOSPC at worst */
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	reserve = (uint64_t)vfs.f_blocks * vfs.f_frsize / 20;
	if (reserve < RESERVE_MIN)
		reserve = RESERVE_MIN;
	return avail > reserve ? avail - reserve : 0;
}

/*
 * A regular member that the caller wants in place, in an uncompressed tar:
 * its first bytes, read through libarchive, must be the bytes at the offset
 * recorded for it, or it is unpacked after all. 1: kept in place, 0: unpack
 * (the first *nhead bytes already read into head), < 0: error.
 */
static int try_in_place(berth_transport__tree *t, struct archive *a, struct archive_entry *e,
			int afd, const char *rel, unsigned char *head, size_t *nhead,
			int (*in_place)(void *, const unsigned char *, size_t, int64_t), void *ctx)
{
	int64_t off = archive_filter_bytes(a, 0), size = archive_entry_size(e);
	unsigned char at[16];
	la_ssize_t n = archive_read_data(a, head, 16);

	*nhead = 0;
	if (n < 0)
		return berth_error_set(BERTH_EINVALID, "reading archive member %s: %s", rel,
				       archive_error_string(a));
	*nhead = (size_t)n;
	if (!in_place(ctx, head, (size_t)n, size) || off < 0 ||
	    pread(afd, at, (size_t)n, off) != n || memcmp(at, head, (size_t)n) != 0)
		return 0;
	return add_member(t, rel, off, size) == 0 ? 1 : -1;
}

static int tree_read(berth_transport__tree **out, const char *tarfile,
		     int (*in_place)(void *, const unsigned char *, size_t, int64_t), void *ctx)
{
	berth_transport__tree *t = NULL;
	struct archive *a = NULL;
	struct archive_entry *e;
	char *chunk = NULL;
	char rel[PATH_MAX], tgt[PATH_MAX * 2];
	unsigned char head[16];
	size_t members = 0, nhead;
	uint64_t budget;
	int rc = 0, r, afd = -1, kept;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	chunk = malloc(CHUNK);
	a = archive_read_new();
	if (!t || !chunk || !a) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, tarfile, 1 << 16) != ARCHIVE_OK) {
		if (access(tarfile, F_OK) != 0)
			rc = berth_error_set_errno("%s", tarfile);
		else
			rc = berth_error_set(BERTH_EINVALID, "%s: %s", tarfile,
					     archive_error_string(a));
		goto done;
	}
	rc = berth_transport__mkdtemp(&t->dir, "archive");
	if (rc)
		goto done;
	budget = extract_budget(t->dir);
	if (in_place && (afd = open(tarfile, O_RDONLY | O_CLOEXEC)) >= 0 &&
	    !(t->archive = strdup(tarfile))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		const char *hl = archive_entry_hardlink(e);
		mode_t type = archive_entry_filetype(e);

		if (++members > MAX_MEMBERS) {
			rc = berth_error_set(BERTH_ETOOBIG, "%s: more than %d members", tarfile,
					     MAX_MEMBERS);
			goto done;
		}
		if (!name || !berth_transport__member_name_safe(name) ||
		    norm_path(name, rel, sizeof(rel)) != 0) {
			rc = berth_error_set(
				BERTH_EINVALID,
				"%s: unsafe member name '%.200s' (absolute or with '..')", tarfile,
				name ? name : "");
			goto done;
		}
		if (!rel[0])
			continue; /* "./" */
		if (hl) {
			/* Hard links name a member by its archive path. */
			if (!berth_transport__member_name_safe(hl) ||
			    norm_path(hl, tgt, sizeof(tgt)) != 0 || !tgt[0]) {
				rc = berth_error_set(BERTH_EINVALID,
						     "%s: unsafe link target '%.200s'", tarfile,
						     hl);
				goto done;
			}
			rc = add_link(t, rel, tgt);
		} else if (type == AE_IFLNK) {
			const char *target = archive_entry_symlink(e);
			const char *slash = strrchr(rel, '/');
			char joined[PATH_MAX * 2];

			/* Relative to the link's directory, and never out of the tree. */
			snprintf(joined, sizeof(joined), "%.*s%s%s", slash ? (int)(slash - rel) : 0,
				 rel, slash ? "/" : "", target ? target : "");
			if (!target || target[0] == '/' ||
			    norm_path(joined, tgt, sizeof(tgt)) != 0 || !tgt[0]) {
				rc = berth_error_set(BERTH_EINVALID,
						     "%s: link '%.200s' points outside the archive",
						     tarfile, rel);
				goto done;
			}
			rc = add_link(t, rel, tgt);
		} else if (type == AE_IFDIR) {
			rc = make_dirs(t->dir, rel, 1);
		} else if (type == AE_IFREG && archive_entry_sparse_count(e) > 0) {
			/* A few KiB of sparse map can stand for terabytes of zeros on disk. */
			rc = berth_error_set(
				BERTH_EINVALID,
				"%s: member '%.200s' is a sparse file (not expected in "
				"an image archive)",
				tarfile, rel);
		} else if (type == AE_IFREG) {
			nhead = 0;
			/* In place only when nothing decompresses the tar (filter 0 is "none"). */
			kept = t->archive && archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE
				       ? try_in_place(t, a, e, afd, rel, head, &nhead, in_place,
						      ctx)
				       : 0;
			if (kept < 0)
				rc = berth_error_last_code();
			else if (!kept) {
				forget_member(t, rel);
				rc = extract_file(a, t->dir, rel, chunk, &budget, head, nhead);
			}
		}
		/* Devices, fifos and sockets have no place in an image archive: skipped. */
		if (rc)
			goto done;
	}
	if (r != ARCHIVE_EOF) {
		rc = berth_error_set(BERTH_EINVALID, "%s: not a valid tar archive: %s", tarfile,
				     archive_error_string(a));
		goto done;
	}
	*out = t;
	t = NULL;
done:
	if (afd >= 0)
		close(afd);
	if (a)
		archive_read_free(a);
	free(chunk);
	berth_transport__tree_free(t);
	return rc;
}

int berth_transport__tree_extract(berth_transport__tree **out, const char *tarfile)
{
	return tree_read(out, tarfile, NULL, NULL);
}

int berth_transport__tree_index(berth_transport__tree **out, const char *tarfile,
				int (*in_place)(void *, const unsigned char *, size_t, int64_t),
				void *ctx)
{
	return tree_read(out, tarfile, in_place, ctx);
}

/* The member a name stands for once links are followed, lexically: `cur`
 * receives a normalised path inside the tree. */
static int tree_resolve(const berth_transport__tree *t, const char *name, char *cur, size_t len)
{
	int hops;

	if (!berth_transport__member_name_safe(name) || norm_path(name, cur, len) != 0 || !cur[0])
		return berth_error_set(BERTH_EINVALID, "unsafe archive member name '%.200s'", name);
	for (hops = 0; hops < MAX_LINK_HOPS; hops++) {
		size_t i;

		for (i = t->nlinks; i-- > 0;)
			if (strcmp(t->links[i].name, cur) == 0)
				break;
		if (i == (size_t)-1)
			return 0;
		snprintf(cur, len, "%s", t->links[i].target);
	}
	return berth_error_set(BERTH_EINVALID, "archive member '%.200s': too many links", name);
}

int berth_transport__tree_open(berth_transport__tree *t, const char *name, int *fd_out,
			       int64_t *size_out)
{
	char cur[PATH_MAX], path[PATH_MAX * 2];
	struct stat st;
	int fd, rc;

	*fd_out = -1;
	if ((rc = tree_resolve(t, name, cur, sizeof(cur))) != 0)
		return rc;
	for (size_t i = 0; i < t->nmembers; i++) {
		if (strcmp(t->members[i].name, cur) != 0)
			continue;
		fd = open(t->archive, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return berth_error_set_errno("open %s", t->archive);
		if (lseek(fd, (off_t)t->members[i].offset, SEEK_SET) < 0) {
			rc = berth_error_set_errno("seek in %s", t->archive);
			close(fd);
			return rc;
		}
		if (size_out)
			*size_out = t->members[i].size;
		*fd_out = fd;
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%s", t->dir, cur);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return berth_error_set(BERTH_ENOTFOUND, "archive has no member '%.200s'",
					       name);
		return berth_error_set_errno("open %s", path);
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return berth_error_set(BERTH_EINVALID, "archive member '%.200s' is not a file",
				       name);
	}
	if (size_out)
		*size_out = st.st_size;
	*fd_out = fd;
	return 0;
}

int berth_transport__tree_link_members(berth_transport__tree *t)
{
	char cur[PATH_MAX], from[PATH_MAX * 2], to[PATH_MAX * 2];
	struct stat st;
	int rc;

	for (size_t i = 0; i < t->nlinks; i++) {
		const char *name = t->links[i].name;

		if ((rc = tree_resolve(t, name, cur, sizeof(cur))) != 0)
			return rc;
		snprintf(from, sizeof(from), "%s/%s", t->dir, cur);
		snprintf(to, sizeof(to), "%s/%s", t->dir, name);
		/* Dangling, or naming a directory: nothing a layout reader could use. */
		if (lstat(from, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if ((rc = make_dirs(t->dir, name, 0)) != 0)
			return rc;
		/* A regular member of the same name came later in the archive: it stays. */
		if (link(from, to) != 0 && errno != EEXIST)
			return berth_error_set_errno("link %s to %s", to, from);
	}
	return 0;
}

/* ---- source ---- */

typedef struct archive_src {
	berth_source inner;
	berth_transport__tree *tree;
} archive_src;

static int asrc_manifest(berth_source *s, const berth_digest *d, berth_buf *body, char *media_type,
			 size_t media_type_len, berth_digest *digest_out)
{
	archive_src *as = s->impl;

	return as->inner.drv->manifest(&as->inner, d, body, media_type, media_type_len, digest_out);
}

static int asrc_blob(berth_source *s, const berth_descriptor *desc, berth_stream **out)
{
	archive_src *as = s->impl;

	return as->inner.drv->blob(&as->inner, desc, out);
}

static void asrc_free(berth_source *s)
{
	archive_src *as = s->impl;

	if (!as)
		return;
	if (as->inner.drv)
		as->inner.drv->free(&as->inner);
	berth_transport__tree_free(as->tree);
	free(as);
	s->impl = NULL;
}

static const berth_source_driver archive_source_driver = {
	.manifest = asrc_manifest,
	.blob = asrc_blob,
	.free = asrc_free,
};

int berth_transport__oci_archive_source(berth_source *s, const berth_image_name *n,
					const berth_transport_options *o)
{
	archive_src *as = calloc(1, sizeof(*as));
	int rc;

	if (!as)
		return berth_error_set(BERTH_ERROR, "out of memory");
	rc = berth_transport__tree_extract(&as->tree, n->path);
	if (rc == 0)
		rc = berth_transport__tree_link_members(as->tree);
	if (rc == 0)
		rc = berth_transport__layout_source(&as->inner, berth_transport__tree_dir(as->tree),
						    n->tag);
	if (rc) {
		berth_transport__tree_free(as->tree);
		free(as);
		return rc;
	}
	s->drv = &archive_source_driver;
	s->impl = as;
	return 0;
}

/* ---- destination ---- */

typedef struct archive_dst {
	berth_dest inner;
	char *tmpdir;
	char *layout; /* tmpdir/layout */
	char *file;
} archive_dst;

static int adst_has_blob(berth_dest *d, const berth_descriptor *desc)
{
	archive_dst *ad = d->impl;

	return ad->inner.drv->has_blob(&ad->inner, desc);
}

static int adst_put_blob(berth_dest *d, const berth_descriptor *desc, berth_stream *in)
{
	archive_dst *ad = d->impl;

	return ad->inner.drv->put_blob(&ad->inner, desc, in);
}

static int adst_put_manifest(berth_dest *d, const void *body, size_t len, const char *media_type,
			     const berth_digest *digest, int top_level)
{
	archive_dst *ad = d->impl;

	return ad->inner.drv->put_manifest(&ad->inner, body, len, media_type, digest, top_level);
}

static int cmp_names(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int skip_dots(const struct dirent *e)
{
	/* Our own temporary files start with '.'; a layout has no other dot files. */
	return e->d_name[0] != '.';
}

static int write_tree(struct archive *a, const char *root, const char *rel, char *chunk)
{
	struct dirent **ents = NULL;
	char dir[PATH_MAX];
	int n, i, rc = 0;

	snprintf(dir, sizeof(dir), "%s%s%s", root, rel[0] ? "/" : "", rel);
	n = scandir(dir, &ents, skip_dots, cmp_names);
	if (n < 0)
		return berth_error_set_errno("read directory %s", dir);
	for (i = 0; i < n && rc == 0; i++) {
		char member[PATH_MAX], path[PATH_MAX * 2];
		struct archive_entry *e = NULL;
		struct stat st;
		int fd = -1;

		snprintf(member, sizeof(member), "%s%s%s", rel, rel[0] ? "/" : "", ents[i]->d_name);
		snprintf(path, sizeof(path), "%s/%s", root, member);
		if (lstat(path, &st) != 0) {
			rc = berth_error_set_errno("stat %s", path);
			break;
		}
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
			continue;
		e = archive_entry_new();
		if (!e) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			break;
		}
		archive_entry_set_pathname(e, member);
		archive_entry_set_filetype(e, S_ISDIR(st.st_mode) ? AE_IFDIR : AE_IFREG);
		archive_entry_set_perm(e, S_ISDIR(st.st_mode) ? 0755 : 0644);
		archive_entry_set_size(e, S_ISDIR(st.st_mode) ? 0 : st.st_size);
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		archive_entry_set_uname(e, "root");
		archive_entry_set_gname(e, "root");
		archive_entry_set_mtime(e, 0, 0);
		if (archive_write_header(a, e) != ARCHIVE_OK) {
			rc = berth_error_set(BERTH_EIO, "writing archive: %s",
					     archive_error_string(a));
		} else if (S_ISDIR(st.st_mode)) {
			rc = write_tree(a, root, member, chunk);
		} else if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			rc = berth_error_set_errno("open %s", path);
		} else {
			for (;;) {
				ssize_t r = read(fd, chunk, CHUNK);

				if (r < 0 && errno == EINTR)
					continue;
				if (r < 0) {
					rc = berth_error_set_errno("read %s", path);
					break;
				}
				if (r == 0)
					break;
				if (archive_write_data(a, chunk, (size_t)r) != r) {
					rc = berth_error_set(BERTH_EIO, "writing archive: %s",
							     archive_error_string(a));
					break;
				}
			}
			close(fd);
		}
		archive_entry_free(e);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

int berth_transport__tar_out_open(berth_transport__tar_out *t, const char *final)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->final = final;
	if (asprintf(&t->tmp, "%s.berth-XXXXXX", final) < 0) {
		t->tmp = NULL;
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	t->fd = mkostemp(t->tmp, O_CLOEXEC);
	if (t->fd < 0) {
		int rc = berth_error_set_errno("create %s", t->tmp);

		free(t->tmp);
		t->tmp = NULL;
		return rc;
	}
	(void)fchmod(t->fd, 0644);
	if (!(t->a = archive_write_new()))
		return berth_error_set(BERTH_ERROR, "out of memory");
	archive_write_set_format_pax_restricted(t->a);
	archive_write_set_bytes_in_last_block(t->a, 1);
	if (archive_write_open_fd(t->a, t->fd) != ARCHIVE_OK)
		return berth_error_set(BERTH_EIO, "%s: %s", t->tmp, archive_error_string(t->a));
	return 0;
}

int berth_transport__tar_out_commit(berth_transport__tar_out *t)
{
	if (archive_write_close(t->a) != ARCHIVE_OK)
		return berth_error_set(BERTH_EIO, "%s: %s", t->tmp, archive_error_string(t->a));
	if (fsync(t->fd) != 0)
		return berth_error_set_errno("fsync %s", t->tmp);
	if (rename(t->tmp, t->final) != 0)
		return berth_error_set_errno("rename to %s", t->final);
	free(t->tmp);
	t->tmp = NULL; /* now the final file: dispose keeps it */
	return berth_fs_fsync_parent(t->final);
}

void berth_transport__tar_out_dispose(berth_transport__tar_out *t)
{
	if (t->a)
		archive_write_free(t->a);
	if (t->fd >= 0)
		close(t->fd);
	if (t->tmp) {
		unlink(t->tmp);
		free(t->tmp);
	}
	memset(t, 0, sizeof(*t));
	t->fd = -1;
}

static int adst_commit(berth_dest *d)
{
	archive_dst *ad = d->impl;
	berth_transport__tar_out out = {.fd = -1};
	char *chunk = NULL;
	int rc;

	rc = ad->inner.drv->commit(&ad->inner);
	if (rc)
		return rc;
	ad->inner.committed = 1;
	if ((rc = berth_transport__tar_out_open(&out, ad->file)) != 0)
		goto done;
	if (!(chunk = malloc(CHUNK))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = write_tree(out.a, ad->layout, "", chunk);
	if (rc == 0)
		rc = berth_transport__tar_out_commit(&out);
done:
	berth_transport__tar_out_dispose(&out);
	free(chunk);
	return rc;
}

static void adst_free(berth_dest *d, int committed)
{
	archive_dst *ad = d->impl;

	if (!ad)
		return;
	if (ad->inner.drv)
		ad->inner.drv->free(&ad->inner, ad->inner.committed);
	if (ad->tmpdir)
		if (berth_fs_remove_tree(ad->tmpdir) != 0) { /* best effort */
		}
	free(ad->tmpdir);
	free(ad->layout);
	free(ad->file);
	free(ad);
	d->impl = NULL;
}

static const berth_dest_driver archive_dest_driver = {
	.has_blob = adst_has_blob,
	.mount_blob = NULL,
	.put_blob = adst_put_blob,
	.put_manifest = adst_put_manifest,
	.commit = adst_commit,
	.free = adst_free,
};

int berth_transport__oci_archive_dest(berth_dest *d, const berth_image_name *n,
				      const berth_transport_options *o)
{
	archive_dst *ad = calloc(1, sizeof(*ad));
	int rc;

	if (!ad)
		return berth_error_set(BERTH_ERROR, "out of memory");
	rc = berth_transport__archive_target("oci-archive", n->path, &ad->file, &ad->tmpdir);
	if (rc)
		goto done;
	if (asprintf(&ad->layout, "%s/layout", ad->tmpdir) < 0) {
		ad->layout = NULL;
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = berth_transport__layout_dest(&ad->inner, ad->layout, n->tag);
done:
	if (rc) {
		d->impl = ad;
		adst_free(d, 0);
		d->impl = NULL;
		return rc;
	}
	d->drv = &archive_dest_driver;
	d->impl = ad;
	return 0;
}
