/*
 * inroot.c - openat2(RESOLVE_IN_ROOT) lookups for writing into and mounting
 * onto root filesystems that come from images (see inroot.h).
 */
#include "util/inroot.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define INROOT_PATH_MAX 4096
#define INROOT_DEPTH_MAX 256

static int mkdir_p(int rootfd, const char *path, mode_t mode, int depth);

/*
 * The same lookup in user space, for kernels (and valgrind) without openat2:
 * one component at a time with O_NOFOLLOW, symlinks read and spliced into
 * the rest of the path (absolute ones restart at the root), ".." never
 * above the root. `rest` is consumed.
 */
static int walk_in_root(int rootfd, char *rest, int flags, mode_t mode)
{
	int stack[INROOT_DEPTH_MAX], depth = 0, links = 0, fd = -1;
	char comp[256], *p = rest;

	stack[0] = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
	if (stack[0] < 0)
		return -1;
	for (;;) {
		size_t len;
		struct stat st;
		int last;

		while (*p == '/')
			p++;
		if (*p == '\0') { /* the path names a directory we hold */
			fd = openat(stack[depth], ".", (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC);
			break;
		}
		len = strcspn(p, "/");
		if (len >= sizeof(comp)) {
			errno = ENAMETOOLONG;
			break;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		p += len;
		last = p[strspn(p, "/")] == '\0';
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			if (depth > 0)
				close(stack[depth--]);
			continue;
		}
		if (fstatat(stack[depth], comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode)) {
			char link[INROOT_PATH_MAX];
			ssize_t n = readlinkat(stack[depth], comp, link, sizeof(link) - 1);
			size_t restlen = strlen(p);

			if (n < 0)
				break;
			if (++links > 40 || (size_t)n + restlen + 2 > INROOT_PATH_MAX) {
				errno = ELOOP;
				break;
			}
			/* rest := link + "/" + rest, in place (rest has INROOT_PATH_MAX bytes). */
			memmove(rest + n + 1, p, restlen + 1);
			memcpy(rest, link, (size_t)n);
			rest[n] = '/';
			p = rest;
			if (link[0] == '/')
				while (depth > 0)
					close(stack[depth--]);
			continue;
		}
		if (last) {
			fd = openat(stack[depth], comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
			break;
		}
		if (depth + 1 >= INROOT_DEPTH_MAX) {
			errno = ENAMETOOLONG;
			break;
		}
		fd = openat(stack[depth], comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			break;
		stack[++depth] = fd;
		fd = -1;
	}
	{
		int e = errno;

		while (depth >= 0)
			close(stack[depth--]);
		errno = e;
	}
	return fd;
}

int berth_inroot_open(int rootfd, const char *path, int flags, mode_t mode)
{
	static atomic_int no_openat2;
	struct open_how how = {0};
	int fd = -1;

	while (*path == '/')
		path++;
	if (*path == '\0')
		path = ".";
	if (!atomic_load_explicit(&no_openat2, memory_order_relaxed)) {
		how.flags = (unsigned long long)flags | O_CLOEXEC;
		how.mode = (flags & O_CREAT) ? mode : 0;
		how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
		do
			fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
		while (fd < 0 && (errno == EINTR || errno == EAGAIN));
		if (fd < 0 && errno == ENOSYS)
			atomic_store_explicit(&no_openat2, 1, memory_order_relaxed);
	}
	if (atomic_load_explicit(&no_openat2, memory_order_relaxed)) {
		char rest[INROOT_PATH_MAX];

		if (strlen(path) >= sizeof(rest)) {
			errno = ENAMETOOLONG;
		} else {
			strcpy(rest, path);
			fd = walk_in_root(rootfd, rest, flags, mode);
		}
	}
	if (fd < 0) {
		int e = errno; /* callers branch on errno (ENOENT, ENOTDIR) */
		int rc = berth_error_set_errno("%s", path);

		errno = e;
		return rc;
	}
	return fd;
}

/* Split "a/b/c" into its parent "a/b" (in buf) and last component. */
static const char *split_last(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash) {
		buf[0] = '\0';
		return path;
	}
	n = (size_t)(slash - path);
	if (n >= len)
		n = len - 1;
	memcpy(buf, path, n);
	buf[n] = '\0';
	return slash + 1;
}

/*
 * Create the missing directory `last` in `parent` (a path in the root). A
 * dangling symlink there (the image's /var/run -> /run, say) is followed:
 * its target, resolved in the root, is created instead.
 */
static int mkdir_one(int rootfd, const char *parent, const char *last, const char *cur, mode_t mode,
		     int depth)
{
	char link[INROOT_PATH_MAX], target[2 * INROOT_PATH_MAX + 2];
	int pfd = berth_inroot_open(rootfd, parent, O_PATH | O_DIRECTORY, 0), rc = 0;
	ssize_t n;

	if (pfd < 0)
		return pfd;
	if (mkdirat(pfd, last, mode) == 0 || errno != EEXIST)
		goto done_errno;
	n = readlinkat(pfd, last, link, sizeof(link) - 1);
	if (n < 0) {
		errno = EEXIST; /* a directory or file created meanwhile: the caller reopens it */
		goto done_errno;
	}
	link[n] = '\0';
	if (depth >= 40) {
		rc = berth_error_set(BERTH_EINVALID, "%s: too many levels of symbolic links", cur);
		goto done;
	}
	if (link[0] == '/')
		snprintf(target, sizeof(target), "%s", link);
	else
		snprintf(target, sizeof(target), "%s/%s", parent, link);
	rc = mkdir_p(rootfd, target, mode, depth + 1);
	if (rc >= 0) {
		close(rc);
		rc = 0;
	}
	goto done;
done_errno:
	if (errno != 0 && errno != EEXIST)
		rc = berth_error_set_errno("mkdir %s", cur);
done:
	close(pfd);
	return rc;
}

static int mkdir_p(int rootfd, const char *path, mode_t mode, int depth)
{
	char cur[INROOT_PATH_MAX];
	size_t n = 0;
	int fd;

	while (*path == '/')
		path++;
	if (strlen(path) >= sizeof(cur))
		return berth_error_set(BERTH_EINVALID, "path too long: %.64s...", path);
	fd = berth_inroot_open(rootfd, path, O_PATH | O_DIRECTORY, 0);
	if (fd >= 0 || errno != ENOENT) {
		if (fd < 0 && errno == ENOTDIR)
			return berth_error_set(BERTH_EEXISTS, "%s: not a directory", path);
		return fd;
	}
	/* Create each missing component in turn, each resolved in the root. */
	while (path[n]) {
		const char *seg = path + n;
		size_t len = strcspn(seg, "/");

		if (len == 0) {
			n++;
			continue;
		}
		memcpy(cur, path, n + len);
		cur[n + len] = '\0';
		fd = berth_inroot_open(rootfd, cur, O_PATH | O_DIRECTORY, 0);
		if (fd < 0 && errno == ENOENT) {
			char parent[INROOT_PATH_MAX];
			const char *last = split_last(cur, parent, sizeof(parent));
			int rc;

			errno = 0;
			rc = mkdir_one(rootfd, parent, last, cur, mode, depth);
			if (rc < 0)
				return rc;
			fd = berth_inroot_open(rootfd, cur, O_PATH | O_DIRECTORY, 0);
		}
		if (fd < 0) {
			if (errno == ENOTDIR)
				return berth_error_set(BERTH_EEXISTS, "%s: not a directory", cur);
			return fd;
		}
		n += len;
		if (path[n + strspn(path + n, "/")])
			close(fd); /* more components follow */
	}
	return fd;
}

int berth_inroot_mkdir_p(int rootfd, const char *path, mode_t mode)
{
	return mkdir_p(rootfd, path, mode, 0);
}

int berth_inroot_touch(int rootfd, const char *path, mode_t mode)
{
	char parent[INROOT_PATH_MAX];
	const char *last;
	int pfd, fd;

	while (*path == '/')
		path++;
	if (strlen(path) >= sizeof(parent) || *path == '\0')
		return berth_error_set(BERTH_EINVALID, "bad file path '%.64s'", path);
	fd = berth_inroot_open(rootfd, path, O_PATH, 0);
	if (fd >= 0)
		return fd;
	if (errno != ENOENT)
		return fd;
	last = split_last(path, parent, sizeof(parent));
	pfd = berth_inroot_mkdir_p(rootfd, parent, 0755);
	if (pfd < 0)
		return pfd;
	fd = openat(pfd, last, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
	close(pfd);
	if (fd < 0)
		return berth_error_set_errno("create %s", path);
	close(fd);
	return berth_inroot_open(rootfd, path, O_PATH, 0);
}
