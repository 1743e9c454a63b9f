/*
 * blobs.c - unit tests of blob GET/HEAD/DELETE through the registry API:
 * headers and fd ranges, Range (206, 416, malformed ignored), visibility
 * only in repositories where the blob is linked, and deletes.
 */
#include "harness.h"

static const char *text = "0123456789";

static void test_get_and_head(void **state)
{
	env *e = *state;
	berth_digest d;
	char path[256], etag[200];
	result r;

	push_blob(e, "app", text, 10, &d);
	snprintf(path, sizeof(path), "/v2/app/blobs/%s", d.str);
	run(e, "GET", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.route, "blob_get");
	assert_int_equal(r.body_len, 10);
	assert_memory_equal(r.body, text, 10);
	assert_string_equal(result_header(&r, "Content-Type"), "application/octet-stream");
	assert_string_equal(result_header(&r, "Docker-Content-Digest"), d.str);
	assert_string_equal(result_header(&r, "Accept-Ranges"), "bytes");
	snprintf(etag, sizeof(etag), "\"%s\"", d.str);
	assert_string_equal(result_header(&r, "ETag"), etag);
	result_free(&r);

	run(e, "HEAD", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.route, "blob_head");
	assert_true(r.head);
	assert_int_equal(r.head_length, 10);
	assert_int_equal(r.body_len, 0);
	assert_string_equal(result_header(&r, "Docker-Content-Digest"), d.str);
	result_free(&r);
}

static void test_ranges(void **state)
{
	env *e = *state;
	berth_digest d;
	char path[256];
	result r;

	push_blob(e, "app", text, 10, &d);
	snprintf(path, sizeof(path), "/v2/app/blobs/%s", d.str);

	kv mid[] = {{"Range", "bytes=2-5"}, {NULL, NULL}};
	run(e, "GET", path, mid, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 206);
	assert_int_equal(r.body_len, 4);
	assert_memory_equal(r.body, "2345", 4);
	assert_string_equal(result_header(&r, "Content-Range"), "bytes 2-5/10");
	result_free(&r);

	kv suffix[] = {{"Range", "bytes=-3"}, {NULL, NULL}};
	run(e, "GET", path, suffix, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 206);
	assert_memory_equal(r.body, "789", 3);
	assert_string_equal(result_header(&r, "Content-Range"), "bytes 7-9/10");
	result_free(&r);

	kv beyond[] = {{"Range", "bytes=20-30"}, {NULL, NULL}};
	run(e, "GET", path, beyond, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 416);
	assert_string_equal(result_header(&r, "Content-Range"), "bytes */10");
	result_free(&r);

	kv junk[] = {{"Range", "pages=1-2"}, {NULL, NULL}};
	run(e, "GET", path, junk, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 10);
	assert_null(result_header(&r, "Content-Range"));
	result_free(&r);
}

static void test_blob_visible_only_where_linked(void **state)
{
	env *e = *state;
	berth_digest d;
	char path[256];
	result r;

	push_blob(e, "owner", text, 10, &d);
	snprintf(path, sizeof(path), "/v2/stranger/blobs/%s", d.str);
	run(e, "GET", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(error_code(&r), "BLOB_UNKNOWN");
	assert_string_equal(result_header(&r, "Content-Type"), "application/json");
	result_free(&r);

	run(e, "GET", "/v2/owner/blobs/sha256:abc", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(error_code(&r), "DIGEST_INVALID");
	result_free(&r);
}

static void test_delete(void **state)
{
	env *e = *state;
	berth_digest d;
	char path[256];
	result r;

	push_blob(e, "app", text, 10, &d);
	snprintf(path, sizeof(path), "/v2/app/blobs/%s", d.str);
	run(e, "DELETE", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 202);
	assert_string_equal(r.route, "blob_delete");
	result_free(&r);
	run(e, "GET", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(error_code(&r), "BLOB_UNKNOWN");
	result_free(&r);
	run(e, "DELETE", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(error_code(&r), "BLOB_UNKNOWN");
	result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_and_head, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_ranges, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_blob_visible_only_where_linked, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_delete, env_setup, env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
