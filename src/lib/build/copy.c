/*
 * copy.c - COPY and ADD: the plan of copysrc.c (the sources after
 * wildcards, .dockerignore and --exclude, from the context, a stage, an
 * image or a named context) written into the stage's working root by
 * Docker's rules for directories and trailing slashes, with
 * --chown/--chmod, --parents, ADD's archives (add.c), and committed as one
 * layer (--link: written into an empty root, so the layer does not depend
 * on the layers below).
 */
#include "lib/build/internal.h"
#include "berth/dockerfile.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/inroot.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- COPY ---- */

/*
 * The bytes of in into out. `expect`: the size the file had when listed; a
 * short read that reaches it is the end (a regular file reads short only
 * there), so a small file takes one read, not a second one for EOF.
 */
static int copy_file_data(int in, int out, uint64_t expect)
{
	char buf[65536];
	uint64_t total = 0;

	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berth_error_set_errno("read");
		if (n == 0)
			return 0;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return berth_error_set_errno("write");
			off += w;
		}
		total += (uint64_t)n;
		if ((size_t)n < sizeof(buf) && total >= expect)
			return 0;
	}
}

/* ---- --chmod ---- */

/*
 * --chmod: octal ("0755"), or chmod(1)'s symbolic form ("u+x,go-w",
 * "a=rX") as BuildKit 0.17 accepts it, applied to each entry's own mode.
 * 1 with *out set from an octal mode (mode_sym left NULL), 0 for a valid
 * symbolic mode, BERTH_EINVALID otherwise.
 */
static int sym_apply(const char *s, uint32_t mode, int is_dir, uint32_t *out)
{
	uint32_t m = mode & 07777;

	while (*s) {
		uint32_t who = 0, perm = 0;
		char op;

		for (; strchr("ugoa", *s) && *s; s++)
			who |= *s == 'u'   ? 04700u
			       : *s == 'g' ? 02070u
			       : *s == 'o' ? 01007u
					   : 07777u;
		if (!who)
			who = 07777u;
		if (*s != '+' && *s != '-' && *s != '=')
			return BERTH_EINVALID;
		op = *s++;
		for (; *s && *s != ','; s++) {
			switch (*s) {
			case 'r': perm |= 0444; break;
			case 'w': perm |= 0222; break;
			case 'x': perm |= 0111; break;
			case 'X':
				if (is_dir || (mode & 0111))
					perm |= 0111;
				break;
			case 's': perm |= 06000; break;
			case 't': perm |= 01000; break;
			default: return BERTH_EINVALID;
			}
		}
		perm &= who;
		if (op == '+')
			m |= perm;
		else if (op == '-')
			m &= ~perm;
		else
			m = (m & ~(who & 0777)) | perm;
		if (*s == ',' && !*++s)
			return BERTH_EINVALID;
	}
	*out = m;
	return 0;
}

static int parse_chmod(const char *v, int *octal)
{
	uint32_t m;

	*octal = -1;
	if (!v || !*v)
		return BERTH_EINVALID;
	if (strspn(v, "01234567") == strlen(v)) {
		long o = strtol(v, NULL, 8);

		if (strlen(v) > 5 || o > 07777)
			return BERTH_EINVALID;
		*octal = (int)o;
		return 0;
	}
	return sym_apply(v, 0, 0, &m);
}

/* ---- writing the plan ---- */

typedef struct copy_job {
	build_solver *sv;
	int dst_root;	       /* O_PATH of the destination root */
	int64_t uid, gid;      /* --chown, or -1: the source's (stage) or root (context) */
	int mode;	       /* --chmod octal, or -1 */
	const char *mode_sym;  /* --chmod symbolic, or NULL */
	int from_context;      /* context files belong to root */
	const char *link_root; /* --link: the empty root written (its directories' times fixed) */
	/* The directory the last entry went into, open for the entries after it in the same one
	 * (a context lists a directory's files together). */
	char parent[PATH_MAX];
	int parent_fd; /* O_PATH, or -1 */
	gid_t new_gid; /* the group a file created there gets (its own when it is setgid) */
	uid_t euid;    /* the owner a file created gets */
	gid_t egid;
} copy_job;

static uid_t owner_uid(const copy_job *j, const copy_item *it)
{
	return j->uid >= 0 ? (uid_t)j->uid : (j->from_context ? 0 : it->uid);
}

static gid_t owner_gid(const copy_job *j, const copy_item *it)
{
	return j->gid >= 0 ? (gid_t)j->gid : (j->from_context ? 0 : it->gid);
}

/* The mode an entry gets: its own, or --chmod's. */
static int final_mode(const copy_job *j, const copy_item *it, uint32_t *mode)
{
	*mode = it->mode & 07777;
	if (j->mode >= 0) /* BuildKit 0.8: the permission bits only; setuid/setgid/sticky stay */
		*mode = (it->mode & 07000) | ((uint32_t)j->mode & 0777);
	else if (j->mode_sym && sym_apply(j->mode_sym, it->mode, S_ISDIR(it->mode), mode) < 0)
		return berth_error_set(BERTH_EINVALID, "--chmod: bad mode '%s'", j->mode_sym);
	return 0;
}

/* Owner and mode of a directory or symlink (fd: O_PATH). */
static int apply_meta(copy_job *j, int fd, const copy_item *it)
{
	uint32_t mode;
	char at[64];
	int rc;

	if (fchownat(fd, "", owner_uid(j, it), owner_gid(j, it),
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return berth_error_set_errno("chown");
	if (S_ISLNK(it->mode))
		return 0;
	if ((rc = final_mode(j, it, &mode)) < 0)
		return rc;
	snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
	if (chmod(at, mode) < 0)
		return berth_error_set_errno("chmod");
	return 0;
}

static void set_mtime(int fd, const copy_item *it)
{
	struct timespec ts[2] = {{it->mtime_sec, it->mtime_nsec}, {it->mtime_sec, it->mtime_nsec}};

	if (utimensat(fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		/* O_PATH descriptors of non-links: through /proc */
		char at[64];

		snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
		(void)utimensat(AT_FDCWD, at, ts, 0);
	}
}

/*
 * mkdir -p of path in the root; the directories it creates are 0755 and
 * belong to the --chown owner (else root), as BuildKit's CreateDestPath.
 * Returns an O_PATH descriptor of path.
 */
static int mkdir_owned(copy_job *j, const char *path)
{
	char pre[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(pre))
		return berth_error_set(BERTH_ETOOBIG, "path too long: %s", path);
	for (size_t i = 1; j->uid >= 0 && i <= n; i++) {
		int fd;

		if (path[i] != '/' && path[i] != '\0')
			continue;
		snprintf(pre, sizeof(pre), "%.*s", (int)i, path);
		fd = berth_inroot_open(j->dst_root, pre, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
		if (fd >= 0) {
			close(fd);
			continue;
		}
		berth_error_clear();
		if ((fd = berth_inroot_mkdir_p(j->dst_root, pre, 0755)) < 0)
			return fd;
		if (fchownat(fd, "", (uid_t)j->uid, (gid_t)j->gid,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
			close(fd);
			return berth_error_set_errno("chown %s", pre);
		}
		close(fd);
	}
	return berth_inroot_mkdir_p(j->dst_root, *path ? path : "/", 0755);
}

static void drop_parent(copy_job *j)
{
	if (j->parent_fd >= 0)
		close(j->parent_fd);
	j->parent_fd = -1;
	j->parent[0] = '\0';
}

/*
 * The parent of dst (created) and dst's last component: a descriptor the
 * job keeps (the caller does not close it) until the next entry goes
 * elsewhere or a directory is written.
 */
static int open_parent(copy_job *j, const char *dst, const char **last)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(dst, '/');
	struct stat st;
	int fd;

	if ((size_t)snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - dst) : 0, dst) >=
	    sizeof(parent))
		return berth_error_set(BERTH_ETOOBIG, "path too long: %s", dst);
	*last = slash ? slash + 1 : dst;
	if (j->parent_fd >= 0 && strcmp(parent, j->parent) == 0)
		return j->parent_fd;
	drop_parent(j);
	if ((fd = mkdir_owned(j, parent)) < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return berth_error_set_errno("%s", parent);
	}
	j->new_gid = (st.st_mode & S_ISGID) ? st.st_gid : j->egid;
	memcpy(j->parent, parent, sizeof(parent));
	j->parent_fd = fd;
	return fd;
}

/* Create `last` in pfd with open(2) flags; what is there already is replaced. */
static int create_in(int pfd, const char *last, int flags, mode_t mode)
{
	int fd = openat(pfd, last, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd < 0 && errno == EEXIST && unlinkat(pfd, last, 0) == 0)
		fd = openat(pfd, last, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	return fd;
}

/*
 * A regular file: created, its bytes copied, then owner (only when the
 * creation did not give it already), mode and times through the one
 * descriptor.
 */
static int write_file(copy_job *j, const copy_item *it, int pfd, const char *last, const char *dst)
{
	struct timespec ts[2] = {{it->mtime_sec, it->mtime_nsec}, {it->mtime_sec, it->mtime_nsec}};
	uid_t u = owner_uid(j, it);
	gid_t g = owner_gid(j, it);
	uint32_t mode;
	int fd, in, rc;

	if ((rc = final_mode(j, it, &mode)) < 0)
		return rc;
	fd = create_in(pfd, last, O_WRONLY, 0600);
	if (fd < 0)
		return berth_error_set_errno("create %s", dst);
	in = open(it->host, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	rc = in < 0 ? berth_error_set_errno("%s", it->host) : copy_file_data(in, fd, it->size);
	/* chown before chmod: a chown clears setuid and setgid */
	if (rc == 0 && (u != j->euid || g != j->new_gid) && fchown(fd, u, g) < 0)
		rc = berth_error_set_errno("chown %s", dst);
	if (rc == 0 && fchmod(fd, mode) < 0)
		rc = berth_error_set_errno("chmod %s", dst);
	if (rc == 0)
		(void)futimens(fd, ts);
	if (in >= 0)
		close(in);
	close(fd);
	return rc;
}

/* A symlink: made (replacing what is there), owned, timed, all by name in pfd. */
static int write_symlink(copy_job *j, const copy_item *it, int pfd, const char *last,
			 const char *dst)
{
	struct timespec ts[2] = {{it->mtime_sec, it->mtime_nsec}, {it->mtime_sec, it->mtime_nsec}};

	if (symlinkat(it->link, pfd, last) < 0 &&
	    (errno != EEXIST || unlinkat(pfd, last, 0) < 0 || symlinkat(it->link, pfd, last) < 0))
		return berth_error_set_errno("symlink %s", dst);
	if (fchownat(pfd, last, owner_uid(j, it), owner_gid(j, it), AT_SYMLINK_NOFOLLOW) < 0)
		return berth_error_set_errno("chown %s", dst);
	(void)utimensat(pfd, last, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static int write_item(copy_job *j, const copy_item *it, const char *dst)
{
	const char *last;
	int pfd, fd = -1, rc = 0;

	if (S_ISDIR(it->mode)) {
		/* the kept parent may be this directory, whose mode changes */
		drop_parent(j);
		if (!*it->sub) {
			/* A directory's contents go into dst, made as a parent is. */
			fd = mkdir_owned(j, dst);
			if (fd < 0)
				return fd;
			close(fd);
			return 0;
		}
		fd = berth_inroot_mkdir_p(j->dst_root, dst, 0755);
		if (fd < 0)
			return fd;
		rc = apply_meta(j, fd, it);
		close(fd);
		return rc;
	}
	if (!S_ISREG(it->mode) && !S_ISLNK(it->mode))
		return 0; /* devices, sockets and fifos are not copied (as BuildKit) */
	pfd = open_parent(j, dst, &last);
	if (pfd < 0)
		return pfd;
	if (S_ISLNK(it->mode))
		return write_symlink(j, it, pfd, last, dst);
	return write_file(j, it, pfd, last, dst);
}

/* dst as a hard link to the file this COPY wrote as first (BuildKit keeps the links among
 * the files one COPY copies). */
static int write_hardlink(copy_job *j, const char *first, const char *dst)
{
	const char *last;
	char at[64];
	int fd, pfd, rc = 0;

	fd = berth_inroot_open(j->dst_root, first, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	pfd = open_parent(j, dst, &last);
	if (pfd < 0) {
		close(fd);
		return pfd;
	}
	snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
	if (unlinkat(pfd, last, 0) < 0 && errno != ENOENT)
		rc = berth_error_set_errno("replace %s", dst);
	else if (linkat(AT_FDCWD, at, pfd, last, AT_SYMLINK_FOLLOW) < 0)
		rc = berth_error_set_errno("link %s", dst);
	close(fd);
	return rc;
}

/* Write item i: a hard link when its source is a file written before under another name
 * (the plan's it->hardlink: the links as the source was listed). */
static int write_or_link(copy_job *j, const copy_plan *p, size_t i, char **dsts)
{
	const copy_item *it = &p->items[i];

	if (it->hardlink != SIZE_MAX)
		return write_hardlink(j, dsts[it->hardlink], dsts[i]);
	return write_item(j, it, dsts[i]);
}

/* Directory times last, deepest first: writing their children moved them. */
static void dir_times(copy_job *j, const copy_plan *p, char **dsts)
{
	for (size_t i = p->nitems; i-- > 0;) {
		const copy_item *it = &p->items[i];
		int fd;

		if (!S_ISDIR(it->mode) || !dsts[i] || !*it->sub)
			continue;
		fd = berth_inroot_open(j->dst_root, dsts[i], O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
		if (fd < 0) {
			berth_error_clear();
			continue;
		}
		set_mtime(fd, it);
		close(fd);
	}
}

static int zero_dir(const char *path, const struct stat *st, int type, struct FTW *f)
{
	static const struct timespec zero[2] = {{0, 0}, {0, 0}};

	(void)st;
	(void)f;
	if (type == FTW_D || type == FTW_DP)
		(void)utimensat(AT_FDCWD, path, zero, AT_SYMLINK_NOFOLLOW);
	return 0;
}

/*
 * --link: the directories made on the way to the destination get the
 * epoch as their time, so the layer is the same whenever it is built.
 */
static int zero_dir_times(const char *root)
{
	if (nftw(root, zero_dir, 64, FTW_PHYS | FTW_MOUNT) < 0)
		return berth_error_set_errno("%s", root);
	return 0;
}

static int is_dir_in(int root, const char *path)
{
	int fd = berth_inroot_open(root, path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);

	if (fd < 0) {
		berth_error_clear();
		return 0;
	}
	close(fd);
	return 1;
}

/* Where match m goes: Docker's rules for directories and trailing slashes. */
static void match_target(const copy_match *m, const char *dest, int dest_dir, char *out, size_t len)
{
	if (m->keep)
		snprintf(out, len, "%s/%s", dest, m->keep);
	else if (m->is_dir || m->unpack)
		snprintf(out, len, "%s", dest);
	else if (dest_dir)
		snprintf(out, len, "%s/%s", dest, m->name);
	else
		snprintf(out, len, "%s", dest);
}

static int write_plan(copy_job *j, const berth_df_xinstr *x, copy_plan *p, const char *dest,
		      int dest_slash)
{
	/* each item's destination path (as long as it is: a 10,000-file context is 10,000
	 * short strings, not 10,000 PATH_MAX buffers) */
	char **dsts = calloc(p->nitems ? p->nitems : 1, sizeof(*dsts));
	int dest_dir = dest_slash || is_dir_in(j->dst_root, dest), rc = 0;
	size_t nsrc = 0;

	if (!dsts) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < p->nmatches; i++)
		nsrc += p->matches[i].keep ? 0 : 1;
	if (nsrc > 1 && !dest_dir) {
		rc = berth_build__fail_at(j->sv, x->src, BERTH_EINVALID,
					  "When using %s with more than one source file, the "
					  "destination must be a directory and end with a /",
					  berth_dockerfile_kind_name(x->src->kind));
		goto done;
	}
	for (size_t mi = 0; mi < p->nmatches && rc == 0; mi++) {
		const copy_match *m = &p->matches[mi];
		char target[PATH_MAX * 2];

		match_target(m, dest, dest_dir, target, sizeof(target));
		if (m->unpack) {
			rc = berth_build__extract(p->items[m->first].host, j->dst_root, target,
						  j->uid, j->gid);
			continue;
		}
		for (size_t i = m->first; i < m->first + m->n && rc == 0; i++) {
			const copy_item *it = &p->items[i];

			if (strlen(target) + strlen(it->sub) + 2 > PATH_MAX * 2)
				rc = berth_error_set(BERTH_ETOOBIG, "path too long: %s", it->sub);
			else if (asprintf(&dsts[i], "%s%s%s", target, *it->sub ? "/" : "",
					  it->sub) < 0) {
				dsts[i] = NULL;
				rc = berth_error_set(BERTH_ERROR, "out of memory");
			} else {
				rc = write_or_link(j, p, i, dsts);
			}
		}
	}
	drop_parent(j);
	if (rc == 0 && j->link_root)
		rc = zero_dir_times(j->link_root);
	if (rc == 0)
		dir_times(j, p, dsts);
done:
	for (size_t i = 0; dsts && i < p->nitems; i++)
		free(dsts[i]);
	free(dsts);
	return rc;
}

/* ---- the instruction ---- */

static int parse_chown(const char *root, const char *v, int64_t *uid, int64_t *gid)
{
	uint32_t u, g, groups[1];
	size_t n;
	int rc;

	if ((rc = berth_sandbox_resolve_user(root, v, &u, &g, groups, 0, &n)) < 0)
		return rc;
	*uid = u;
	*gid = g;
	return 0;
}

static const char *const copy_flags[] = {"from",    "chown",   "chmod", "link",
					 "parents", "exclude", NULL};
static const char *const add_flags[] = {"from",	   "chown",    "chmod",	       "link", "parents",
					"exclude", "checksum", "keep-git-dir", NULL};

static int check_flags(build_solver *sv, const berth_df_xinstr *x)
{
	const char *const *ok = x->src->kind == BERTH_DF_ADD ? add_flags : copy_flags;

	for (size_t i = 0; i < x->nflags; i++) {
		const berth_df_flag *f = &x->flags[i];
		size_t k = 0;

		while (ok[k] && strcmp(ok[k], f->name) != 0)
			k++;
		if (!ok[k])
			return berth_build__fail_at(sv, x->src, BERTH_EINVALID,
						    "unknown flag: --%s", f->name);
		if (strcmp(f->name, "keep-git-dir") == 0)
			return berth_build__fail_at(
				sv, x->src, BERTH_EUNSUPPORTED,
				"--keep-git-dir: berth does not fetch git URLs (no git client "
				"in the builder), so there is no .git directory to keep");
	}
	return 0;
}

/* The destination, relative to WORKDIR, into dest; *slash if it ends with '/'. */
static void dest_path(berth_build_image *img, const char *d, char *dest, size_t len, int *slash)
{
	char *cwd = berth_build_image_config(img, "WorkingDir");
	size_t n;

	if (d[0] == '/') {
		snprintf(dest, len, "%s", d);
	} else {
		json_t *v = cwd ? json_loads(cwd, JSON_DECODE_ANY, NULL) : NULL;
		const char *base = json_string_value(v);

		size_t bl = base ? strlen(base) : 0;

		while (bl > 0 && base[bl - 1] == '/')
			bl--; /* WorkingDir "/" (BuildKit's scratch image) */
		snprintf(dest, len, "%.*s/%s", (int)bl, base ? base : "", d);
		json_decref(v);
	}
	free(cwd);
	n = strlen(d);
	*slash = n > 0 && (d[n - 1] == '/' || (n >= 2 && strcmp(d + n - 2, "/.") == 0) ||
			   strcmp(d, ".") == 0);
	n = strlen(dest);
	while (n > 1 && dest[n - 1] == '/')
		dest[--n] = '\0';
}

/* ADD: local tar archives are extracted (files of a directory source are not). */
static void mark_archives(const berth_df_xinstr *x, copy_plan *p)
{
	if (x->src->kind != BERTH_DF_ADD)
		return;
	for (size_t i = 0; i < p->nmatches; i++) {
		copy_match *m = &p->matches[i];
		const copy_item *it = &p->items[m->first];

		/* downloads and heredocs (in tmpdir) are never extracted */
		int fetched = p->tmpdir[0] && strncmp(it->host, p->tmpdir, strlen(p->tmpdir)) == 0;

		if (!m->is_dir && S_ISREG(it->mode) && !fetched &&
		    berth_build__is_archive(it->host))
			m->unpack = 1;
	}
}

/*
 * The --from source: an earlier stage (name or index) or an image
 * reference, as a built image (*owned set when it must be freed).
 */
int berth_build__copy_from(build_solver *sv, const berth_df_xinstr *x, const char *from,
			   berth_build_image **img, berth_build_image **owned)
{
	size_t si;
	char named[PATH_MAX + 64];
	int is_named = berth_build__named_context(sv, from, named, sizeof(named)) != NULL, rc;

	*img = *owned = NULL;
	if (is_named && !named[0])
		return berth_build__fail_at(sv, x->src, BERTH_EINVALID,
					    "--from=%s: a directory context is not an image", from);
	if (!is_named && berth_dockerfile_stage_find(sv->df, from, &si) == 0) {
		if (!sv->done[si])
			return berth_build__fail_at(sv, x->src, BERTH_EINVALID,
						    "--from=%s: stage not built yet", from);
		*img = sv->done[si];
		return 0;
	}
	rc = berth_build__pull(sv, from, sv->o->platform, 1, owned);
	if (rc < 0)
		return berth_build__fail_at(sv, x->src, rc,
					    "--from=%s: not a stage, and not an image: %s", from,
					    berth_error_last());
	*img = *owned;
	return 0;
}

/* --link: the files go into an empty root; the layer does not depend on what is below. */
static int commit_linked(build_solver *sv, berth_build_image *img, berth_build_image *lone,
			 const char *created_by, const berth_diff_options *o, berth_workroot *w)
{
	int rc = berth_build_image_commit_root(lone, sv->store, w, created_by, o, NULL);
	build_layer *l;

	if (rc < 0)
		return rc;
	if (!lone->nlayers)
		return berth_build_image_history(img, created_by, 1);
	if (!(l = berth_build__layer_room(img)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	*l = lone->layers[lone->nlayers - 1];
	img->nlayers++;
	return berth_build_image_history(img, created_by, 0);
}

int berth_build__copy(build_solver *sv, berth_build_image *img, const berth_df_xinstr *x)
{
	const berth_df_flag *from = berth_dockerfile_flag(x->src, "from");
	const berth_df_flag *chown_f = berth_dockerfile_flag(x->src, "chown");
	const berth_df_flag *chmod_f = berth_dockerfile_flag(x->src, "chmod");
	int link = berth_dockerfile_flag(x->src, "link") != NULL;
	berth_workroot *w = NULL, *fromw = NULL, *imgw = NULL;
	berth_build_image *fi = NULL, *fowned = NULL, *lone = NULL;
	copy_job j = {.sv = sv,
		      .dst_root = -1,
		      .uid = -1,
		      .gid = -1,
		      .mode = -1,
		      .parent_fd = -1,
		      .euid = geteuid(),
		      .egid = getegid()};
	copy_plan p = {0};
	berth_buf cb = BERTH_BUF_INIT(0);
	char dest[PATH_MAX], named[PATH_MAX + 64];
	const char *dirctx = NULL;
	int rc, slash;

	for (size_t i = 0; i < x->nflags; i++) /* expanded values */
		if (strcmp(x->flags[i].name, "from") == 0)
			from = &x->flags[i];
		else if (strcmp(x->flags[i].name, "chown") == 0)
			chown_f = &x->flags[i];
		else if (strcmp(x->flags[i].name, "chmod") == 0)
			chmod_f = &x->flags[i];
	if ((rc = check_flags(sv, x)) < 0)
		return rc;
	if (x->nwords < 2)
		return berth_build__fail_at(sv, x->src, BERTH_EINVALID,
					    "needs a source and a destination");
	if (chmod_f && parse_chmod(chmod_f->value, &j.mode) < 0)
		return berth_build__fail_at(sv, x->src, BERTH_EINVALID,
					    "--chmod: bad mode '%s' (octal, or u+x-style)",
					    chmod_f->value ? chmod_f->value : "");
	if (chmod_f && j.mode < 0)
		j.mode_sym = chmod_f->value;
	dest_path(img, x->words[x->nwords - 1], dest, sizeof(dest), &slash);
	if ((rc = berth_build_image_root(&imgw, sv->store, img)) < 0)
		goto done;
	if (chown_f && chown_f->value &&
	    (rc = parse_chown(berth_workroot_path(imgw), chown_f->value, &j.uid, &j.gid)) < 0) {
		rc = berth_build__fail_at(sv, x->src, rc, "--chown=%s: %s", chown_f->value,
					  berth_error_last());
		goto done;
	}
	if (from && berth_build__named_context(sv, from->value, named, sizeof(named)) &&
	    !named[0]) {
		/* a directory context: read as the build context is (files owned by root) */
		dirctx = berth_build__named_context(sv, from->value, NULL, 0);
	} else if (from) {
		if ((rc = berth_build__copy_from(sv, x, from->value, &fi, &fowned)) < 0 ||
		    (rc = berth_build_image_root(&fromw, sv->store, fi)) < 0)
			goto done;
	}
	j.from_context = !from || dirctx;
	if ((rc = berth_build__copy_plan(sv, x, fromw ? berth_workroot_path(fromw) : dirctx, &p)) <
	    0)
		goto done;
	mark_archives(x, &p);
	if (link) {
		if ((rc = berth_build_image_scratch(&lone, sv->o->platform)) < 0 ||
		    (rc = berth_build_image_root(&w, sv->store, lone)) < 0)
			goto done;
	}
	if (link)
		j.link_root = berth_workroot_path(w);
	j.dst_root = open(berth_workroot_path(link ? w : imgw), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (j.dst_root < 0) {
		rc = berth_error_set_errno("open root");
		goto done;
	}
	if ((rc = write_plan(&j, x, &p, dest, slash)) < 0) {
		if (!strstr(berth_error_last(), berth_dockerfile_kind_name(x->src->kind)))
			rc = berth_build__fail_at(sv, x->src, rc, "%s", berth_error_last());
		goto done;
	}
	close(j.dst_root); /* nothing open in the root: the commit keeps its upper directory */
	j.dst_root = -1;
	{
		berth_diff_options o = {
			sv->o->compression,
			sv->o->compression_level > 0 ? sv->o->compression_level : -1, sv->clamp};

		if ((rc = berth_buf_printf(&cb, "%s %s # buildkit",
					   berth_dockerfile_kind_name(x->src->kind),
					   x->src->args_text)) < 0)
			goto done;
		rc = link ? commit_linked(sv, img, lone, cb.ptr, &o, w)
			  : berth_build_image_commit_root(img, sv->store, imgw, cb.ptr, &o, NULL);
	}
done:
	drop_parent(&j);
	if (j.dst_root >= 0)
		close(j.dst_root);
	berth_build__copy_plan_dispose(&p);
	berth_buf_dispose(&cb);
	berth_workroot_free(fromw);
	berth_workroot_free(w);
	berth_workroot_free(imgw);
	berth_build_image_free(fowned);
	berth_build_image_free(lone);
	return rc;
}
