/*
 * add.c - what ADD does beyond COPY: a local tar archive (plain, gzip,
 * bzip2, xz or zstd, recognised by its content as Docker does, never by
 * its name) is extracted into the destination; an http(s) URL is fetched
 * (libcurl), its Last-Modified time kept and --checksum verified.
 *
 * Extraction writes through the destination root's descriptor: an entry
 * path is cleaned and may not leave the destination, and every parent is
 * resolved inside the root (berth_inroot), so an archive cannot write
 * outside the image.
 */
#include "lib/build/internal.h"
#include "util/fs.h"
#include "util/inroot.h"

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FETCH_TIMEOUT_SECONDS 600L
#define ARCHIVE_BLOCK 65536

static struct archive *open_archive(const char *path)
{
	struct archive *a = archive_read_new();

	if (!a)
		return NULL;
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, ARCHIVE_BLOCK) != ARCHIVE_OK) {
		archive_read_free(a);
		return NULL;
	}
	return a;
}

int berth_build__is_archive(const char *path)
{
	struct archive *a = open_archive(path);
	struct archive_entry *e;
	int r;

	if (!a)
		return 0;
	r = archive_read_next_header(a, &e);
	archive_read_free(a);
	return r == ARCHIVE_OK || r == ARCHIVE_WARN || r == ARCHIVE_EOF;
}

/* The entry's path cleaned under dir into out; BERTH_EDENIED if it leaves dir. */
static int entry_path(const char *dir, const char *name, char *out, size_t len)
{
	char clean[PATH_MAX];
	size_t o = 0;

	while (*name) {
		size_t n = strcspn(name, "/");

		if (n == 2 && name[0] == '.' && name[1] == '.')
			return berth_error_set(BERTH_EDENIED,
					       "archive entry '%s' leaves the destination", name);
		if (n && !(n == 1 && name[0] == '.')) {
			if (o + n + 2 > sizeof(clean))
				return berth_error_set(BERTH_ETOOBIG,
						       "archive entry path too long");
			if (o)
				clean[o++] = '/';
			memcpy(clean + o, name, n);
			o += n;
		}
		name += n + (name[n] == '/');
	}
	clean[o] = '\0';
	if ((size_t)snprintf(out, len, "%s/%s", dir, clean) >= len)
		return berth_error_set(BERTH_ETOOBIG, "archive entry path too long");
	return o ? 0 : 1; /* 1: the destination itself */
}

static int write_data(struct archive *a, int fd)
{
	const void *buf;
	size_t size;
	int64_t off;
	int r;

	while ((r = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK) {
		if (pwrite(fd, buf, size, off) != (ssize_t)size)
			return berth_error_set_errno("write");
	}
	if (r != ARCHIVE_EOF)
		return berth_error_set(BERTH_EINVALID, "archive: %s", archive_error_string(a));
	return 0;
}

/* Parent directory descriptor of p (created) and its last component. */
static int parent_of(int root, char *p, const char **last)
{
	char *slash = strrchr(p, '/');
	int fd;

	*slash = '\0';
	fd = berth_inroot_mkdir_p(root, *p ? p : "/", 0755);
	*slash = '/';
	*last = slash + 1;
	return fd;
}

static int extract_entry(struct archive *a, struct archive_entry *e, int root, const char *dir,
			 int64_t uid, int64_t gid)
{
	char path[PATH_MAX * 2], target[PATH_MAX * 2];
	const char *last;
	mode_t type = archive_entry_filetype(e), perm = archive_entry_perm(e) & 07777;
	uid_t u = uid >= 0 ? (uid_t)uid : (uid_t)archive_entry_uid(e);
	gid_t g = gid >= 0 ? (gid_t)gid : (gid_t)archive_entry_gid(e);
	struct timespec ts[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
				 {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
	int rc, pfd, fd = -1;

	if ((rc = entry_path(dir, archive_entry_pathname(e), path, sizeof(path))) < 0)
		return rc;
	if (type == AE_IFDIR) {
		fd = berth_inroot_mkdir_p(root, path, 0755);
		if (fd < 0)
			return fd;
		goto meta;
	}
	if (rc == 1)
		return 0; /* a non-directory entry named "." */
	pfd = parent_of(root, path, &last);
	if (pfd < 0)
		return pfd;
	if (unlinkat(pfd, last, 0) < 0 && errno != ENOENT && errno != EISDIR)
		rc = berth_error_set_errno("%s", path);
	else if (archive_entry_hardlink(e)) {
		int tfd;

		if ((rc = entry_path(dir, archive_entry_hardlink(e), target, sizeof(target))) < 0)
			goto pdone;
		tfd = berth_inroot_open(root, target, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
		if (tfd < 0) {
			rc = tfd;
			goto pdone;
		}
		rc = linkat(tfd, "", pfd, last, AT_EMPTY_PATH) < 0
			     ? berth_error_set_errno("hard link %s", path)
			     : 0;
		close(tfd);
		close(pfd);
		return rc;
	} else if (type == AE_IFLNK) {
		if (symlinkat(archive_entry_symlink(e), pfd, last) < 0)
			rc = berth_error_set_errno("symlink %s", path);
		else if ((fd = openat(pfd, last, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0)
			rc = berth_error_set_errno("%s", path);
	} else if (type == AE_IFREG) {
		fd = openat(pfd, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		rc = fd < 0 ? berth_error_set_errno("create %s", path) : write_data(a, fd);
	} else {
		close(pfd);
		return 0; /* devices, fifos and sockets are not extracted */
	}
pdone:
	close(pfd);
	if (rc < 0)
		goto done;
meta:
	if (fchownat(fd, "", u, g, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		rc = berth_error_set_errno("chown %s", path);
		goto done;
	}
	if (type != AE_IFLNK) {
		char at[64];

		snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
		if (chmod(at, perm) < 0 || utimensat(AT_FDCWD, at, ts, 0) < 0)
			rc = berth_error_set_errno("%s", path);
	} else {
		utimensat(fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	}
done:
	if (fd >= 0)
		close(fd);
	return rc;
}

int berth_build__extract(const char *path, int root, const char *dir, int64_t uid, int64_t gid)
{
	struct archive *a = open_archive(path);
	struct archive_entry *e;
	int r, rc = 0, dfd;

	if (!a)
		return berth_error_set(BERTH_EINVALID, "%s: not an archive", path);
	dfd = berth_inroot_mkdir_p(root, dir, 0755);
	if (dfd < 0) {
		archive_read_free(a);
		return dfd;
	}
	close(dfd);
	while (rc == 0 && (r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			rc = berth_error_set(BERTH_EINVALID, "archive: %s",
					     archive_error_string(a));
			break;
		}
		rc = extract_entry(a, e, root, dir, uid, gid);
	}
	archive_read_free(a);
	return rc;
}

/* ---- URLs ---- */

typedef struct fetch_sink {
	int fd;
	int64_t total;
	berth_hasher *h;
	int failed; /* set when the cap was hit */
} fetch_sink;

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
	fetch_sink *s = ctx;
	size_t len = size * n;

	s->total += (int64_t)len;
	if (s->total > BERTH_BUILD_ADD_URL_MAX) {
		s->failed = 1;
		return 0;
	}
	if (berth_hasher_update(s->h, data, len) < 0 || berth_fs_write_all(s->fd, data, len) < 0)
		return 0;
	return len;
}

static int check_sum(const char *checksum, berth_hasher *h, const char *url)
{
	berth_digest got;
	int rc;

	if ((rc = berth_hasher_final(h, &got)) < 0)
		return rc;
	if (!checksum)
		return 0;
	if (strncmp(checksum, "sha256:", 7) != 0 || strlen(checksum) != 7 + 64)
		return berth_error_set(BERTH_EINVALID,
				       "--checksum=%s: expected sha256:<64 hex digits>", checksum);
	if (strcasecmp(checksum, got.str) != 0)
		return berth_error_set(BERTH_EDIGEST, "%s: checksum mismatch: expected %s, got %s",
				       url, checksum, got.str);
	return 0;
}

int berth_build__fetch(const char *url, const char *path, const char *checksum, int64_t *mtime)
{
	fetch_sink s = {.fd = -1};
	char err[CURL_ERROR_SIZE] = "";
	CURL *c = NULL;
	CURLcode cr;
	long code = 0, ft = -1;
	int rc = 0;

	*mtime = 0;
	if ((rc = berth_hasher_new(&s.h, BERTH_DIGEST_SHA256)) < 0)
		return rc;
	s.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	c = curl_easy_init();
	if (s.fd < 0 || !c) {
		rc = s.fd < 0 ? berth_error_set_errno("%s", path)
			      : berth_error_set(BERTH_ERROR, "curl_easy_init failed");
		goto done;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, FETCH_TIMEOUT_SECONDS);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	cr = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (s.failed)
		rc = berth_error_set(BERTH_ETOOBIG, "%s: larger than %lld bytes", url,
				     (long long)BERTH_BUILD_ADD_URL_MAX);
	else if (cr != CURLE_OK)
		rc = berth_error_set(BERTH_EIO, "%s: %s", url,
				     err[0] ? err : curl_easy_strerror(cr));
	else if (code < 200 || code > 299)
		rc = berth_error_set(code == 404 ? BERTH_ENOTFOUND : BERTH_EIO,
				     "%s: HTTP status %ld", url, code);
	if (rc == 0)
		rc = check_sum(checksum, s.h, url);
	if (rc == 0 && curl_easy_getinfo(c, CURLINFO_FILETIME, &ft) == CURLE_OK && ft > 0)
		*mtime = ft;
done:
	if (c)
		curl_easy_cleanup(c);
	if (s.fd >= 0)
		close(s.fd);
	berth_hasher_free(s.h);
	return rc;
}
