/*
 * layout.c - unit tests of the oci: transport: write an image through the
 * destination and read it back through the source (blobs, manifest,
 * index.json entry as skopeo writes it), tag replacement, verification of
 * what is read and written, and a destination freed without commit.
 */
#include "transport_test.h"

typedef struct fix {
	char *dir;
	char lay[4096];
	test_image im;
} fix;

static int setup(void **state)
{
	fix *f = calloc(1, sizeof(*f));

	f->dir = tmpdir_new();
	snprintf(f->lay, sizeof(f->lay), "%s/lay", f->dir);
	test_image_make(&f->im, "hello from layout\n");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fix *f = *state;

	test_image_free(&f->im);
	tmpdir_free(f->dir);
	free(f);
	return 0;
}

static void write_image(const char *spec, const test_image *im)
{
	berth_image_name *n = name_of("%s", spec);
	berth_dest *d = NULL;

	assert_int_equal(berth_dest_open(&d, n, NULL), 0);
	test_image_put(d, im);
	assert_int_equal(berth_dest_commit(d), 0);
	berth_dest_free(d);
	berth_image_name_free(n);
}

static char *slurp(const char *fmt, ...)
{
	char p[4096];
	berth_buf b = BERTH_BUF_INIT(1 << 20);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	assert_int_equal(berth_fs_read_file(&b, p), 0);
	return berth_buf_detach(&b, NULL);
}

static void round_trip_blobs_manifest_and_index(void **state)
{
	fix *f = *state;
	berth_image_name *n;
	berth_source *s = NULL;
	berth_buf body = BERTH_BUF_INIT(1 << 20);
	berth_stream *st = NULL;
	berth_digest dg;
	mem_blob got;
	char mt[128], spec[4200], *text, *expect = NULL;

	snprintf(spec, sizeof(spec), "oci:%s:v1", f->lay);
	write_image(spec, &f->im);

	/* index.json and oci-layout byte for byte as skopeo writes them. */
	text = slurp("%s/index.json", f->lay);
	assert_true(asprintf(&expect,
			     "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":"
			     "\"%s\",\"size\":%zu,"
			     "\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}]}",
			     BERTH_MT_OCI_MANIFEST, f->im.mdigest.str, f->im.manifest.len) > 0);
	assert_string_equal(text, expect);
	free(text);
	free(expect);
	text = slurp("%s/oci-layout", f->lay);
	assert_string_equal(text, "{\"imageLayoutVersion\": \"1.0.0\"}");
	free(text);
	assert_true(path_existsf("%s/blobs/sha256/%s", f->lay, berth_digest_hex(&f->im.dl.digest)));
	/* No temporary files are left at the top of the layout. */
	assert_int_equal(count_entries(f->lay), 3);

	n = name_of("%s", spec);
	assert_int_equal(berth_source_open(&s, n, NULL), 0);
	assert_int_equal(berth_source_manifest(s, NULL, &body, mt, sizeof(mt), &dg), 0);
	assert_int_equal(body.len, f->im.manifest.len);
	assert_memory_equal(body.ptr, f->im.manifest.data, body.len);
	assert_string_equal(mt, BERTH_MT_OCI_MANIFEST);
	assert_true(berth_digest_equal(&dg, &f->im.mdigest));
	/* By digest too. */
	berth_buf_reset(&body);
	assert_int_equal(berth_source_manifest(s, &f->im.mdigest, &body, mt, sizeof(mt), NULL), 0);
	assert_int_equal(body.len, f->im.manifest.len);

	assert_int_equal(berth_source_blob(s, &f->im.dl, &st), 0);
	assert_int_equal(drain(st, &got), 0);
	assert_int_equal(got.len, f->im.layer.len);
	assert_memory_equal(got.data, f->im.layer.data, got.len);
	free(got.data);
	assert_int_equal(berth_source_blob(s, &f->im.dc, &st), 0);
	assert_int_equal(drain(st, &got), 0);
	assert_memory_equal(got.data, f->im.config.data, f->im.config.len);
	free(got.data);
	berth_source_free(s);
	berth_image_name_free(n);

	/* Without a tag: the only image. */
	snprintf(spec, sizeof(spec), "oci:%s", f->lay);
	n = name_of("%s", spec);
	assert_int_equal(berth_source_open(&s, n, NULL), 0);
	berth_buf_reset(&body);
	assert_int_equal(berth_source_manifest(s, NULL, &body, mt, sizeof(mt), &dg), 0);
	assert_true(berth_digest_equal(&dg, &f->im.mdigest));
	berth_source_free(s);
	berth_image_name_free(n);
	berth_buf_dispose(&body);

	/* A tag that is not there. */
	snprintf(spec, sizeof(spec), "oci:%s:nope", f->lay);
	n = name_of("%s", spec);
	assert_int_equal(berth_source_open(&s, n, NULL), BERTH_ENOTFOUND);
	assert_non_null(strstr(berth_error_last(), "nope"));
	berth_image_name_free(n);
}

static void same_tag_moves_to_the_new_image_like_skopeo(void **state)
{
	fix *f = *state;
	test_image im2;
	char spec[4200], *text, *expect = NULL;
	berth_image_name *n;
	berth_source *s = NULL;
	berth_buf body = BERTH_BUF_INIT(1 << 20);

	test_image_make(&im2, "second image\n");
	snprintf(spec, sizeof(spec), "oci:%s:v1", f->lay);
	write_image(spec, &f->im);
	write_image(spec, &im2);
	/* The old entry stays, unnamed; the new one carries the name. */
	text = slurp("%s/index.json", f->lay);
	assert_true(asprintf(&expect,
			     "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":"
			     "\"%s\",\"size\":%zu},"
			     "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,"
			     "\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}]}",
			     BERTH_MT_OCI_MANIFEST, f->im.mdigest.str, f->im.manifest.len,
			     BERTH_MT_OCI_MANIFEST, im2.mdigest.str, im2.manifest.len) > 0);
	assert_string_equal(text, expect);
	free(text);
	free(expect);
	n = name_of("%s", spec);
	assert_int_equal(berth_source_open(&s, n, NULL), 0);
	assert_int_equal(berth_source_manifest(s, NULL, &body, NULL, 0, NULL), 0);
	assert_memory_equal(body.ptr, im2.manifest.data, im2.manifest.len);
	berth_source_free(s);
	berth_image_name_free(n);
	/* Two images and no tag: ambiguous. */
	snprintf(spec, sizeof(spec), "oci:%s", f->lay);
	n = name_of("%s", spec);
	assert_int_equal(berth_source_open(&s, n, NULL), BERTH_EINVALID);
	berth_image_name_free(n);

	/* Writing the first image again under the name replaces its unnamed entry. */
	snprintf(spec, sizeof(spec), "oci:%s:v1", f->lay);
	write_image(spec, &f->im);
	text = slurp("%s/index.json", f->lay);
	assert_true(asprintf(&expect,
			     "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":"
			     "\"%s\",\"size\":%zu,"
			     "\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}},"
			     "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
			     BERTH_MT_OCI_MANIFEST, f->im.mdigest.str, f->im.manifest.len,
			     BERTH_MT_OCI_MANIFEST, im2.mdigest.str, im2.manifest.len) > 0);
	assert_string_equal(text, expect);
	free(text);
	free(expect);
	berth_buf_dispose(&body);
	test_image_free(&im2);
}

static void free_without_commit_leaves_nothing(void **state)
{
	fix *f = *state;
	test_image im2;
	berth_image_name *n;
	berth_dest *d = NULL;
	char spec[4200], *before, *after;

	/* A new layout that is never committed disappears entirely. */
	snprintf(spec, sizeof(spec), "oci:%s:v1", f->lay);
	n = name_of("%s", spec);
	assert_int_equal(berth_dest_open(&d, n, NULL), 0);
	test_image_put(d, &f->im);
	berth_dest_free(d);
	assert_false(path_existsf("%s", f->lay));

	/* In an existing layout, only the blobs this destination added go. */
	write_image(spec, &f->im);
	before = slurp("%s/index.json", f->lay);
	test_image_make(&im2, "never committed\n");
	assert_int_equal(berth_dest_open(&d, n, NULL), 0);
	test_image_put(d, &im2);
	assert_true(path_existsf("%s/blobs/sha256/%s", f->lay, berth_digest_hex(&im2.dl.digest)));
	assert_int_equal(berth_dest_has_blob(d, &im2.dl), 0);
	berth_dest_free(d);
	after = slurp("%s/index.json", f->lay);
	assert_string_equal(before, after);
	assert_false(path_existsf("%s/blobs/sha256/%s", f->lay, berth_digest_hex(&im2.dl.digest)));
	assert_false(path_existsf("%s/blobs/sha256/%s", f->lay, berth_digest_hex(&im2.mdigest)));
	assert_true(path_existsf("%s/blobs/sha256/%s", f->lay, berth_digest_hex(&f->im.dl.digest)));
	assert_int_equal(count_entries(f->lay), 3);
	free(before);
	free(after);
	test_image_free(&im2);
	berth_image_name_free(n);
}

static void put_blob_refuses_wrong_digest_or_size(void **state)
{
	fix *f = *state;
	berth_image_name *n;
	berth_dest *d = NULL;
	berth_descriptor desc;
	berth_stream *s;
	char spec[4200], blobs[4200];

	snprintf(spec, sizeof(spec), "oci:%s", f->lay);
	snprintf(blobs, sizeof(blobs), "%s/blobs/sha256", f->lay);
	n = name_of("%s", spec);
	assert_int_equal(berth_dest_open(&d, n, NULL), 0);
	desc_of(&desc, "application/octet-stream", "abc", 3);
	s = mem_stream("abd", 3);
	assert_int_equal(berth_dest_put_blob(d, &desc, s), BERTH_EDIGEST);
	assert_int_equal(berth_stream_close(s), 0);
	s = mem_stream("abcd", 4);
	assert_int_equal(berth_dest_put_blob(d, &desc, s), BERTH_ESIZE);
	assert_int_equal(berth_stream_close(s), 0);
	s = mem_stream("ab", 2);
	assert_int_equal(berth_dest_put_blob(d, &desc, s), BERTH_ESIZE);
	assert_int_equal(berth_stream_close(s), 0);
	assert_int_equal(berth_dest_has_blob(d, &desc), BERTH_ENOTFOUND);
	/* Nothing visible, no temporary files left. */
	assert_int_equal(count_entries(blobs), 0);
	assert_int_equal(count_entries(f->lay), 2); /* blobs, oci-layout */
	/* A manifest whose bytes do not match its digest. */
	assert_int_equal(
		berth_dest_put_manifest(d, "{}", 2, BERTH_MT_OCI_MANIFEST, &f->im.mdigest, 1),
		BERTH_EDIGEST);
	assert_int_equal(berth_dest_commit(d), BERTH_EINVALID);
	berth_dest_free(d);
	berth_image_name_free(n);
}

static void source_verifies_manifest_against_index(void **state)
{
	fix *f = *state;
	berth_image_name *n;
	berth_source *s = NULL;
	berth_buf body = BERTH_BUF_INIT(1 << 20);
	char spec[4200], path[4300];
	FILE *fp;

	snprintf(spec, sizeof(spec), "oci:%s:v1", f->lay);
	write_image(spec, &f->im);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", f->lay,
		 berth_digest_hex(&f->im.mdigest));
	fp = fopen(path, "r+");
	assert_non_null(fp);
	fputc(' ', fp); /* same size, different bytes */
	fclose(fp);
	n = name_of("%s", spec);
	assert_int_equal(berth_source_open(&s, n, NULL), 0);
	assert_int_equal(berth_source_manifest(s, NULL, &body, NULL, 0, NULL), BERTH_EDIGEST);
	berth_source_free(s);
	berth_image_name_free(n);
	berth_buf_dispose(&body);
}

static void bad_index_json_is_refused(void **state)
{
	fix *f = *state;
	berth_image_name *n;
	berth_source *s = NULL;
	char spec[4200], path[4300];

	assert_int_equal(berth_fs_mkdir_p(f->lay), 0);
	snprintf(spec, sizeof(spec), "oci:%s", f->lay);
	n = name_of("%s", spec);
	assert_int_equal(berth_source_open(&s, n, NULL), BERTH_ENOTFOUND);
	snprintf(path, sizeof(path), "%s/index.json", f->lay);
	assert_int_equal(
		berth_fs_write_atomic(path, "{\"manifests\":[{\"digest\":\"../../etc\"}]}", 38), 0);
	assert_int_equal(berth_source_open(&s, n, NULL), BERTH_EINVALID);
	assert_int_equal(berth_fs_write_atomic(path, "[1,2", 4), 0);
	assert_int_equal(berth_source_open(&s, n, NULL), BERTH_EINVALID);
	berth_image_name_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(round_trip_blobs_manifest_and_index, setup,
						teardown),
		cmocka_unit_test_setup_teardown(same_tag_moves_to_the_new_image_like_skopeo, setup,
						teardown),
		cmocka_unit_test_setup_teardown(free_without_commit_leaves_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(put_blob_refuses_wrong_digest_or_size, setup,
						teardown),
		cmocka_unit_test_setup_teardown(source_verifies_manifest_against_index, setup,
						teardown),
		cmocka_unit_test_setup_teardown(bad_index_json_is_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
