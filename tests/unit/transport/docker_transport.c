/*
 * docker_transport.c - the docker:// transport (src/lib/transport/docker.c)
 * against the fake registry: manifests and blob streams from a source,
 * blobs and manifests into a destination, and a blob whose bytes do not
 * match its descriptor leaving nothing behind.
 */
#include "../client/fake_registry.h"

#include "berth/transport.h"
#include "lib/transport/internal.h"

#include <fcntl.h>

typedef struct {
	fake_registry *fr;
	char name[256];
	berth_transport_options o;
} env;

static int setup(void **state)
{
	env *e = calloc(1, sizeof(*e));

	e->fr = fr_start();
	snprintf(e->name, sizeof(e->name), "docker://%s/team/app:v1", e->fr->host);
	berth_transport_options_init(&e->o);
	e->o.auth_file = "/nonexistent/auth.json";
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	env *e = *state;

	fr_stop(e->fr);
	free(e);
	return 0;
}

static berth_stream *file_stream(const void *data, size_t len)
{
	char path[] = "/tmp/berth-docker-XXXXXX";
	int fd = mkstemp(path);
	berth_stream *s = NULL;

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(berth_fs_write_all(fd, data, len), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(berth_transport__stream_fd(&s, fd, (int64_t)len), 0);
	return s;
}

static void source_gives_manifest_and_blob_stream(void **state)
{
	env *e = *state;
	const char m[] = "{\"schemaVersion\":2}";
	berth_image_name *n = NULL;
	berth_source *src = NULL;
	berth_buf body = BERTH_BUF_INIT(1 << 20), got = BERTH_BUF_INIT(0);
	berth_descriptor desc;
	berth_stream *s = NULL;
	char mt[128], dg[BERTH_DIGEST_MAX], buf[65536];
	char *data = fr_bytes(2000000, 5);
	long k;

	fr_lock(e->fr);
	fr_put_manifest(e->fr, "team/app", "v1", "application/vnd.oci.image.manifest.v1+json", m,
			strlen(m));
	fr_unlock(e->fr);
	fr_add_blob(e->fr, data, 2000000, dg);
	assert_int_equal(berth_image_name_parse(&n, e->name), 0);
	assert_int_equal(berth_source_open(&src, n, &e->o), 0);
	assert_int_equal(berth_source_manifest(src, NULL, &body, mt, sizeof(mt), NULL), 0);
	assert_string_equal(body.ptr, m);
	assert_string_equal(mt, "application/vnd.oci.image.manifest.v1+json");

	memset(&desc, 0, sizeof(desc));
	assert_int_equal(berth_digest_parse(&desc.digest, dg, strlen(dg)), 0);
	desc.size = 2000000;
	assert_int_equal(berth_source_blob(src, &desc, &s), 0);
	while ((k = berth_stream_read(s, buf, sizeof(buf))) > 0)
		assert_int_equal(berth_buf_put(&got, buf, (size_t)k), 0);
	assert_int_equal(k, 0);
	assert_int_equal(berth_stream_close(s), 0);
	assert_int_equal(got.len, 2000000);
	assert_memory_equal(got.ptr, data, 2000000);

	/* Wrong bytes from the registry: the stream ends in EDIGEST. */
	e->fr->cfg.corrupt_blob = 1;
	assert_int_equal(berth_source_blob(src, &desc, &s), 0);
	while ((k = berth_stream_read(s, buf, sizeof(buf))) > 0)
		;
	assert_int_equal(k, BERTH_EDIGEST);
	assert_int_equal(berth_stream_close(s), BERTH_EDIGEST);

	berth_source_free(src);
	berth_image_name_free(n);
	berth_buf_dispose(&body);
	berth_buf_dispose(&got);
	free(data);
}

static void dest_stores_blobs_and_tags_the_top_manifest(void **state)
{
	env *e = *state;
	const char m[] = "{\"schemaVersion\":2,\"x\":1}";
	berth_image_name *n = NULL;
	berth_dest *d = NULL;
	berth_descriptor desc;
	berth_digest md;
	berth_stream *s;
	char *data = fr_bytes(300000, 9);

	assert_int_equal(berth_image_name_parse(&n, e->name), 0);
	assert_int_equal(berth_dest_open(&d, n, &e->o), 0);
	memset(&desc, 0, sizeof(desc));
	assert_int_equal(berth_digest_compute(&desc.digest, BERTH_DIGEST_SHA256, data, 300000), 0);
	desc.size = 300000;
	assert_int_equal(berth_dest_has_blob(d, &desc), BERTH_ENOTFOUND);
	s = file_stream(data, 300000);
	assert_int_equal(berth_dest_put_blob(d, &desc, s), 0);
	assert_int_equal(berth_stream_close(s), 0);
	assert_int_equal(berth_dest_has_blob(d, &desc), 0);
	assert_int_equal(berth_digest_compute(&md, BERTH_DIGEST_SHA256, m, strlen(m)), 0);
	assert_int_equal(berth_dest_put_manifest(d, m, strlen(m),
						 "application/vnd.oci.image.manifest.v1+json", &md,
						 1),
			 0);
	assert_int_equal(berth_dest_commit(d), 0);
	berth_dest_free(d);
	fr_lock(e->fr);
	assert_non_null(fr_find_manifest(e->fr, "team/app", "v1"));
	fr_unlock(e->fr);
	berth_image_name_free(n);
	free(data);
}

static void dest_refuses_bytes_that_do_not_match(void **state)
{
	env *e = *state;
	berth_image_name *n = NULL;
	berth_dest *d = NULL;
	berth_descriptor desc;
	berth_stream *s;
	char *data = fr_bytes(20000000, 11);

	assert_int_equal(berth_image_name_parse(&n, e->name), 0);
	assert_int_equal(berth_dest_open(&d, n, &e->o), 0);
	memset(&desc, 0, sizeof(desc));
	assert_int_equal(berth_digest_compute(&desc.digest, BERTH_DIGEST_SHA256, data, 20000000),
			 0);
	desc.size = 20000000;
	data[12345678] ^= 1;
	/* a large blob: chunked; the mismatch shows only at the end */
	s = file_stream(data, 20000000);
	assert_int_equal(berth_dest_put_blob(d, &desc, s), BERTH_EDIGEST);
	berth_stream_close(s);
	/* short: ESIZE */
	s = file_stream(data, 1000);
	desc.size = 2000;
	assert_int_equal(berth_dest_put_blob(d, &desc, s), BERTH_ESIZE);
	berth_stream_close(s);
	berth_dest_free(d);
	fr_lock(e->fr);
	assert_null(e->fr->blobs);
	fr_unlock(e->fr);
	assert_int_equal(fr_count_uploads(e->fr), 0);
	berth_image_name_free(n);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(source_gives_manifest_and_blob_stream, setup,
						teardown),
		cmocka_unit_test_setup_teardown(dest_stores_blobs_and_tags_the_top_manifest, setup,
						teardown),
		cmocka_unit_test_setup_teardown(dest_refuses_bytes_that_do_not_match, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
