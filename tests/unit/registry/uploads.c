/*
 * uploads.c - unit tests of blob pushes through the registry API: monolithic
 * POST, chunked PATCH/PUT sessions (with out-of-order chunks answered 416),
 * digest mismatch, cross-repository mounts with and without `from`, session
 * status and cancel, size caps, a client vanishing mid-chunk, and purging.
 */
#include "harness.h"

static const char *data1 = "hello, berth blob";

static void test_monolithic_push_then_get(void **state)
{
	env *e = *state;
	berth_digest d;
	char path[256];
	result r;

	assert_int_equal(berth_digest_compute(&d, BERTH_DIGEST_SHA256, data1, strlen(data1)), 0);
	kv q[] = {{"digest", d.str}, {NULL, NULL}};
	run_ex(e, "POST", "/v2/team/app/blobs/uploads/", NULL, q, data1, strlen(data1), 1, 5, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.route, "upload_start");
	assert_int_equal(r.bytes_in, strlen(data1));
	snprintf(path, sizeof(path), "/v2/team/app/blobs/%s", d.str);
	assert_string_equal(result_header(&r, "Location"), path);
	assert_string_equal(result_header(&r, "Docker-Content-Digest"), d.str);
	assert_string_equal(result_header(&r, "Docker-Distribution-API-Version"), "registry/2.0");
	result_free(&r);

	run(e, "GET", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, strlen(data1));
	assert_memory_equal(r.body, data1, strlen(data1));
	result_free(&r);
	assert_int_equal(berth_registry_uploads_in_progress(e->reg), 0);
}

static void test_monolithic_digest_mismatch_stores_nothing(void **state)
{
	env *e = *state;
	berth_digest wrong;
	uint64_t size;
	result r;

	assert_int_equal(berth_digest_compute(&wrong, BERTH_DIGEST_SHA256, "other", 5), 0);
	kv q[] = {{"digest", wrong.str}, {NULL, NULL}};
	run(e, "POST", "/v2/app/blobs/uploads/", NULL, q, data1, strlen(data1), &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(error_code(&r), "DIGEST_INVALID");
	result_free(&r);
	assert_int_equal(berth_store_stat(e->store, &wrong, &size), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_blob_linked(e->meta, "app", &wrong, &size), BERTH_ENOTFOUND);
}

/* Start a session in `repo`; `id` gets its uuid from Docker-Upload-UUID. */
static void start_session(env *e, const char *repo, char *id, size_t idlen)
{
	char path[256], loc[512];
	result r;

	snprintf(path, sizeof(path), "/v2/%s/blobs/uploads/", repo);
	run(e, "POST", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 202);
	assert_string_equal(result_header(&r, "Range"), "0-0");
	assert_non_null(result_header(&r, "Docker-Upload-UUID"));
	snprintf(id, idlen, "%s", result_header(&r, "Docker-Upload-UUID"));
	snprintf(loc, sizeof(loc), "/v2/%s/blobs/uploads/%s", repo, id);
	assert_string_equal(result_header(&r, "Location"), loc);
	assert_int_equal(r.body_len, 0);
	result_free(&r);
}

static void test_chunked_upload_with_out_of_order_chunk(void **state)
{
	env *e = *state;
	const char *all = "0123456789abcdefghij";
	char id[64], path[256];
	berth_digest d;
	result r;

	start_session(e, "chunky", id, sizeof(id));
	snprintf(path, sizeof(path), "/v2/chunky/blobs/uploads/%s", id);

	kv h1[] = {{"Content-Range", "0-9"}, {NULL, NULL}};
	run(e, "PATCH", path, h1, NULL, all, 10, &r);
	assert_int_equal(r.status, 202);
	assert_string_equal(result_header(&r, "Range"), "0-9");
	assert_string_equal(result_header(&r, "Docker-Upload-UUID"), id);
	result_free(&r);

	/* A chunk that does not start at 10 is refused and nothing is written. */
	kv bad[] = {{"Content-Range", "15-19"}, {NULL, NULL}};
	run(e, "PATCH", path, bad, NULL, all + 15, 5, &r);
	assert_int_equal(r.status, 416);
	assert_string_equal(result_header(&r, "Range"), "0-9");
	assert_non_null(result_header(&r, "Location"));
	result_free(&r);

	/* Content-Length must agree with Content-Range. */
	kv mism[] = {{"Content-Range", "10-14"}, {NULL, NULL}};
	run(e, "PATCH", path, mism, NULL, all + 10, 3, &r);
	assert_int_equal(r.status, 416);
	result_free(&r);

	run(e, "GET", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 204);
	assert_string_equal(r.route, "upload_get");
	assert_string_equal(result_header(&r, "Range"), "0-9");
	result_free(&r);

	/* The last chunk comes with the PUT. */
	assert_int_equal(berth_digest_compute(&d, BERTH_DIGEST_SHA256, all, 20), 0);
	kv q[] = {{"digest", d.str}, {NULL, NULL}};
	kv h2[] = {{"Content-Range", "10-19"}, {NULL, NULL}};
	run_ex(e, "PUT", path, h2, q, all + 10, 10, 1, 3, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(result_header(&r, "Docker-Content-Digest"), d.str);
	assert_int_equal(r.body_len, 0);
	result_free(&r);

	snprintf(path, sizeof(path), "/v2/chunky/blobs/%s", d.str);
	run(e, "GET", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 20);
	assert_memory_equal(r.body, all, 20);
	result_free(&r);

	/* The session is gone after the commit. */
	snprintf(path, sizeof(path), "/v2/chunky/blobs/uploads/%s", id);
	run(e, "GET", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(error_code(&r), "BLOB_UPLOAD_UNKNOWN");
	result_free(&r);
}

static void test_put_digest_mismatch_discards_upload(void **state)
{
	env *e = *state;
	char id[64], path[256];
	berth_digest wrong;
	uint64_t size;
	result r;

	start_session(e, "app", id, sizeof(id));
	snprintf(path, sizeof(path), "/v2/app/blobs/uploads/%s", id);
	run(e, "PATCH", path, NULL, NULL, data1, strlen(data1), &r);
	assert_int_equal(r.status, 202);
	result_free(&r);

	/* Missing digest: 400, the upload is kept for a retry. */
	run(e, "PUT", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(error_code(&r), "DIGEST_INVALID");
	result_free(&r);

	assert_int_equal(berth_digest_compute(&wrong, BERTH_DIGEST_SHA256, "nope", 4), 0);
	kv q[] = {{"digest", wrong.str}, {NULL, NULL}};
	run(e, "PUT", path, NULL, q, NULL, 0, &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(error_code(&r), "DIGEST_INVALID");
	result_free(&r);
	assert_int_equal(berth_store_stat(e->store, &wrong, &size), BERTH_ENOTFOUND);

	run(e, "GET", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	result_free(&r);
}

static void test_upload_of_another_repo_is_unknown(void **state)
{
	env *e = *state;
	char id[64], path[256];
	result r;

	start_session(e, "one", id, sizeof(id));
	snprintf(path, sizeof(path), "/v2/two/blobs/uploads/%s", id);
	run(e, "PATCH", path, NULL, NULL, "x", 1, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(error_code(&r), "BLOB_UPLOAD_UNKNOWN");
	result_free(&r);

	run(e, "GET", "/v2/one/blobs/uploads/not-a-uuid", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(error_code(&r), "BLOB_UPLOAD_UNKNOWN");
	result_free(&r);
}

static void test_delete_upload(void **state)
{
	env *e = *state;
	char id[64], path[256];
	result r;

	start_session(e, "app", id, sizeof(id));
	snprintf(path, sizeof(path), "/v2/app/blobs/uploads/%s", id);
	run(e, "DELETE", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 204);
	result_free(&r);
	run(e, "DELETE", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(error_code(&r), "BLOB_UPLOAD_UNKNOWN");
	result_free(&r);
}

static void test_mount_from_repo(void **state)
{
	env *e = *state;
	berth_digest d;
	uint64_t size;
	result r;

	push_blob(e, "source", data1, strlen(data1), &d);
	kv q[] = {{"mount", d.str}, {"from", "source"}, {NULL, NULL}};
	run(e, "POST", "/v2/target/blobs/uploads/", NULL, q, NULL, 0, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(result_header(&r, "Docker-Content-Digest"), d.str);
	result_free(&r);
	assert_int_equal(berth_meta_blob_linked(e->meta, "target", &d, &size), 0);
	assert_int_equal(size, strlen(data1));

	/* From a repository that does not hold it: a session starts instead. */
	kv q2[] = {{"mount", d.str}, {"from", "elsewhere"}, {NULL, NULL}};
	run(e, "POST", "/v2/third/blobs/uploads/", NULL, q2, NULL, 0, &r);
	assert_int_equal(r.status, 202);
	assert_non_null(result_header(&r, "Docker-Upload-UUID"));
	result_free(&r);
	assert_int_equal(berth_meta_blob_linked(e->meta, "third", &d, &size), BERTH_ENOTFOUND);
}

static void test_mount_without_from(void **state)
{
	env *e = *state;
	berth_digest d, absent;
	uint64_t size;
	result r;

	push_blob(e, "somewhere/else", data1, strlen(data1), &d);
	kv q[] = {{"mount", d.str}, {NULL, NULL}};
	run(e, "POST", "/v2/auto/blobs/uploads/", NULL, q, NULL, 0, &r);
	assert_int_equal(r.status, 201);
	result_free(&r);
	assert_int_equal(berth_meta_blob_linked(e->meta, "auto", &d, &size), 0);

	assert_int_equal(berth_digest_compute(&absent, BERTH_DIGEST_SHA256, "absent", 6), 0);
	kv q2[] = {{"mount", absent.str}, {NULL, NULL}};
	run(e, "POST", "/v2/auto/blobs/uploads/", NULL, q2, NULL, 0, &r);
	assert_int_equal(r.status, 202);
	result_free(&r);
}

static void test_client_vanishing_mid_chunk_keeps_session(void **state)
{
	env *e = *state;
	char id[64], path[256];
	fake_ctx ctx = {NULL, NULL};
	berth_req req = {"PATCH", path, fake_header, fake_query, &ctx, 1,   10,
			 NULL,	  NULL, NULL,	     NULL,	 NULL, NULL};
	berth_exchange *op;
	result r;

	start_session(e, "app", id, sizeof(id));
	snprintf(path, sizeof(path), "/v2/app/blobs/uploads/%s", id);
	assert_int_equal(berth_registry_begin(e->reg, &req, &op), 0);
	assert_true(berth_exchange_wants_body(op));
	assert_int_equal(berth_registry_uploads_in_progress(e->reg), 1);
	assert_int_equal(berth_exchange_body(op, "abcd", 4), 0);
	berth_exchange_free(op); /* no finish: the client went away */
	assert_int_equal(berth_registry_uploads_in_progress(e->reg), 0);

	/* The upload can be taken again (not left locked). */
	run(e, "PATCH", path, NULL, NULL, "efgh", 4, &r);
	assert_int_equal(r.status, 202);
	result_free(&r);
}

static void test_busy_upload_is_416(void **state)
{
	env *e = *state;
	char id[64], path[256];
	fake_ctx ctx = {NULL, NULL};
	berth_req req = {"PATCH", path, fake_header, fake_query, &ctx, 0,   0,
			 NULL,	  NULL, NULL,	     NULL,	 NULL, NULL};
	berth_exchange *op;
	result r;

	start_session(e, "app", id, sizeof(id));
	snprintf(path, sizeof(path), "/v2/app/blobs/uploads/%s", id);
	assert_int_equal(berth_registry_begin(e->reg, &req, &op), 0);
	run(e, "PATCH", path, NULL, NULL, "x", 1, &r);
	assert_int_equal(r.status, 416);
	assert_true(r.stopped_early);
	result_free(&r);
	berth_exchange_free(op);
}

static void test_blob_size_cap(void **state)
{
	env *e = *state;
	char id[64], path[256];
	berth_digest d;
	result r;

	berth_registry_free(e->reg);
	e->cfg.max_blob_bytes = 8;
	assert_int_equal(berth_registry_new(&e->reg, e->store, e->meta, &e->cfg), 0);

	assert_int_equal(berth_digest_compute(&d, BERTH_DIGEST_SHA256, data1, strlen(data1)), 0);
	kv q[] = {{"digest", d.str}, {NULL, NULL}};
	run(e, "POST", "/v2/app/blobs/uploads/", NULL, q, data1, strlen(data1), &r);
	assert_int_equal(r.status, 413);
	assert_string_equal(error_code(&r), "SIZE_INVALID");
	result_free(&r);

	/* Without Content-Length the cap is found while streaming. */
	start_session(e, "app", id, sizeof(id));
	snprintf(path, sizeof(path), "/v2/app/blobs/uploads/%s", id);
	run_ex(e, "PUT", path, NULL, q, data1, strlen(data1), 0, 4, &r);
	assert_int_equal(r.status, 413);
	assert_true(r.stopped_early);
	result_free(&r);
	assert_int_equal(berth_registry_uploads_in_progress(e->reg), 0);
}

static void test_purge_removes_stale_sessions(void **state)
{
	env *e = *state;
	char id[64], path[256];
	int purged = -1;
	result r;

	start_session(e, "app", id, sizeof(id));
	assert_int_equal(berth_registry_purge_uploads(e->reg, 3600, &purged), 0);
	assert_int_equal(purged, 0);
	sleep(1);
	assert_int_equal(berth_registry_purge_uploads(e->reg, 0, &purged), 0);
	assert_true(purged >= 1);
	snprintf(path, sizeof(path), "/v2/app/blobs/uploads/%s", id);
	run(e, "GET", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_monolithic_push_then_get, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_monolithic_digest_mismatch_stores_nothing,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_chunked_upload_with_out_of_order_chunk,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_put_digest_mismatch_discards_upload, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_upload_of_another_repo_is_unknown, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_delete_upload, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_mount_from_repo, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_mount_without_from, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_client_vanishing_mid_chunk_keeps_session,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_busy_upload_is_416, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_blob_size_cap, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_purge_removes_stale_sessions, env_setup,
						env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
