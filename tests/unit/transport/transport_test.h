/*
 * transport_test.h - helpers shared by the transport unit tests: temporary
 * directories, in-memory streams, a small image (a real tar layer, gzip'd,
 * and a config naming its diff ID) written through a destination.
 */
#ifndef BERTH_TRANSPORT_TEST_H
#define BERTH_TRANSPORT_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "berth/transport.h"
#include "lib/transport/internal.h"
#include "util/fs.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

typedef struct mem_blob {
	char *data;
	size_t len;
} mem_blob;

static inline char *tmpdir_new(void)
{
	char *p = strdup("/tmp/berth-transport-test-XXXXXX");

	assert_non_null(mkdtemp(p));
	return p;
}

static inline void tmpdir_free(char *p)
{
	assert_int_equal(berth_fs_remove_tree(p), 0);
	free(p);
}

static inline int path_existsf(const char *fmt, ...)
{
	char p[4096];
	struct stat st;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	return lstat(p, &st) == 0;
}

static inline int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* A stream over a copy of `len` bytes (a file descriptor on an unlinked temp file). */
static inline berth_stream *mem_stream(const void *data, size_t len)
{
	char path[] = "/tmp/berth-stream-XXXXXX";
	int fd = mkstemp(path);
	berth_stream *s = NULL;

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(berth_fs_write_all(fd, data, len), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(berth_transport__stream_fd(&s, fd, (int64_t)len), 0);
	return s;
}

/* Read a whole stream into a malloc'd buffer; returns the close result. */
static inline int drain(berth_stream *s, mem_blob *out)
{
	char buf[4096];
	long r;

	out->data = NULL;
	out->len = 0;
	while ((r = berth_stream_read(s, buf, sizeof(buf))) > 0) {
		out->data = realloc(out->data, out->len + (size_t)r + 1);
		memcpy(out->data + out->len, buf, (size_t)r);
		out->len += (size_t)r;
	}
	if (r < 0) {
		int rc2 = berth_stream_close(s);

		(void)rc2;
		return (int)r;
	}
	return berth_stream_close(s);
}

/* A tar holding one file `name` with `content`. */
static inline mem_blob make_tar(const char *name, const char *content)
{
	mem_blob b = {malloc(1 << 16), 0};
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, b.data, 1 << 16, &b.len), ARCHIVE_OK);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)strlen(content));
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, content, strlen(content)),
			 (la_ssize_t)strlen(content));
	archive_entry_free(e);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return b;
}

static inline mem_blob gzip_blob(const mem_blob *in)
{
	mem_blob b = {malloc(in->len + 1024), 0};
	z_stream z = {0};

	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (unsigned char *)in->data;
	z.avail_in = (uInt)in->len;
	z.next_out = (unsigned char *)b.data;
	z.avail_out = (uInt)(in->len + 1024);
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	b.len = z.total_out;
	deflateEnd(&z);
	return b;
}

static inline void desc_of(berth_descriptor *d, const char *mt, const void *data, size_t len)
{
	memset(d, 0, sizeof(*d));
	d->media_type = (char *)mt;
	d->size = (int64_t)len;
	assert_int_equal(berth_digest_compute(&d->digest, BERTH_DIGEST_SHA256, data, len), 0);
}

/* A one-layer OCI image: gzip'd layer, config, manifest (all malloc'd). */
typedef struct test_image {
	mem_blob tar, layer, config, manifest;
	berth_descriptor dl, dc;
	berth_digest diff, mdigest;
} test_image;

static inline void test_image_make(test_image *im, const char *content)
{
	char *cfg = NULL, *man = NULL;

	im->tar = make_tar("etc/hello", content);
	im->layer = gzip_blob(&im->tar);
	assert_int_equal(
		berth_digest_compute(&im->diff, BERTH_DIGEST_SHA256, im->tar.data, im->tar.len), 0);
	assert_true(asprintf(&cfg,
			     "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":["
			     "\"A=<b>\"]},"
			     "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
			     im->diff.str) > 0);
	im->config.data = cfg;
	im->config.len = strlen(cfg);
	desc_of(&im->dl, "application/vnd.oci.image.layer.v1.tar+gzip", im->layer.data,
		im->layer.len);
	desc_of(&im->dc, BERTH_MT_OCI_CONFIG, im->config.data, im->config.len);
	assert_true(asprintf(&man,
			     "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
			     "\"%s\",\"digest\":\"%s\",\"size\":%zu},"
			     "\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
			     BERTH_MT_OCI_MANIFEST, BERTH_MT_OCI_CONFIG, im->dc.digest.str,
			     im->config.len, im->dl.media_type, im->dl.digest.str,
			     im->layer.len) > 0);
	im->manifest.data = man;
	im->manifest.len = strlen(man);
	assert_int_equal(berth_digest_compute(&im->mdigest, BERTH_DIGEST_SHA256, man, strlen(man)),
			 0);
}

static inline void test_image_free(test_image *im)
{
	free(im->tar.data);
	free(im->layer.data);
	free(im->config.data);
	free(im->manifest.data);
}

/* Write `im` through `d` (blobs, then the top-level manifest). */
static inline void test_image_put(berth_dest *d, const test_image *im)
{
	berth_stream *s = mem_stream(im->layer.data, im->layer.len);

	assert_int_equal(berth_dest_put_blob(d, &im->dl, s), 0);
	assert_int_equal(berth_stream_close(s), 0);
	s = mem_stream(im->config.data, im->config.len);
	assert_int_equal(berth_dest_put_blob(d, &im->dc, s), 0);
	assert_int_equal(berth_stream_close(s), 0);
	assert_int_equal(berth_dest_put_manifest(d, im->manifest.data, im->manifest.len,
						 BERTH_MT_OCI_MANIFEST, &im->mdigest, 1),
			 0);
}

static inline berth_image_name *name_of(const char *fmt, ...)
{
	char s[4096];
	berth_image_name *n = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	assert_int_equal(berth_image_name_parse(&n, s), 0);
	return n;
}

#endif
