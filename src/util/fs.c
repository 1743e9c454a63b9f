/*
 * fs.c - filesystem helpers: mkdir -p, fsync of directories, atomic writes.
 *
 * Durability rule used throughout berth: data is written to a temporary name,
 * fsync'd, renamed into place, and the parent directory is fsync'd, so that an
 * acknowledged write survives kill -9 and power loss.
 */
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int berth_fs_mkdir_p(const char *path)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(tmp))
		return berth_error_set(BERTH_EINVALID, "bad directory path");
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return berth_error_set_errno("mkdir %s", tmp);
		*p = '/';
	}
	if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
		return berth_error_set_errno("mkdir %s", tmp);
	return 0;
}

int berth_fs_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return berth_error_set_errno("open %s", dir);
	if (fsync(fd) != 0)
		rc = berth_error_set_errno("fsync %s", dir);
	close(fd);
	return rc;
}

int berth_fs_fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash)
		return berth_fs_fsync_dir(".");
	n = (size_t)(slash - path);
	if (n == 0)
		n = 1;
	if (n >= sizeof(dir))
		return berth_error_set(BERTH_EINVALID, "path too long");
	memcpy(dir, path, n);
	dir[n] = '\0';
	return berth_fs_fsync_dir(dir);
}

int berth_fs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return berth_error_set_errno("write");
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

void berth_fs_write_behind(int fd, berth_fs_behind *b, size_t len)
{
	b->written += len;
	if (b->written - b->started < BERTH_FS_BEHIND_STEP)
		return;
	(void)sync_file_range(fd, (off64_t)b->started, (off64_t)(b->written - b->started),
			      SYNC_FILE_RANGE_WRITE);
	b->started = b->written;
}

int berth_fs_write_all_behind(int fd, berth_fs_behind *b, const void *data, size_t len)
{
	int rc = berth_fs_write_all(fd, data, len);

	if (rc == 0)
		berth_fs_write_behind(fd, b, len);
	return rc;
}

static atomic_ulong atomic_seq;

int berth_fs_write_atomic(const char *path, const void *data, size_t len)
{
	char tmp[PATH_MAX];
	int fd, rc;

	/* Unique per process and call: two threads may write one path at once. */
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d.%lu", path, (int)getpid(),
		     (unsigned long)atomic_fetch_add(&atomic_seq, 1)) >= (int)sizeof(tmp))
		return berth_error_set(BERTH_EINVALID, "path too long");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return berth_error_set_errno("create %s", tmp);
	rc = berth_fs_write_all(fd, data, len);
	if (rc == 0 && fsync(fd) != 0)
		rc = berth_error_set_errno("fsync %s", tmp);
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = berth_error_set_errno("rename %s", path);
	if (rc == 0)
		rc = berth_fs_fsync_parent(path);
	if (rc)
		unlink(tmp);
	return rc;
}

int berth_fs_read_file(berth_buf *out, const char *path)
{
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return berth_error_set_errno("open %s", path);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = berth_error_set_errno("read %s", path);
			break;
		}
		if (n == 0)
			break;
		if ((rc = berth_buf_put(out, chunk, (size_t)n)) != 0)
			break;
	}
	close(fd);
	return rc;
}

static int remove_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p) == 0 || errno == ENOENT ? 0 : -1;
}

int berth_fs_remove_tree(const char *path)
{
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
		return berth_error_set_errno("remove %s", path);
	return 0;
}
