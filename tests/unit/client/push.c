/*
 * push.c - blob pushes against the fake registry: monolithic in one POST,
 * POST+PUT when the registry ignores POST ?digest= (as Distribution does),
 * chunked PATCHes, a connection cut mid-chunk and mid-PUT that resume from
 * the offset the registry reports, sources that lie about their size or
 * fail their digest check (the upload is cancelled, nothing committed),
 * and cross-repository mounts.
 */
#include "fake_registry.h"

typedef fr_env env;

/* Push len deterministic bytes; return the client's result. Checks storage on success. */
static int push(env *e, size_t len, uint64_t threshold, uint64_t chunk, size_t step,
		int fail_at_end, size_t declared)
{
	char *data = fr_bytes(len, (unsigned)len);
	fr_mem_src src = {data, len, 0, step, fail_at_end};
	berth_digest d;
	fr_blob *b;
	int rc;

	assert_int_equal(berth_digest_compute(&d, BERTH_DIGEST_SHA256, data, len), 0);
	rc = berth_client_blob_push(e->c, "team/app", &d, declared, fr_mem_read, &src, threshold,
				    chunk);
	fr_lock(e->fr);
	b = fr_find_blob(e->fr, d.str);
	if (rc == 0) {
		assert_non_null(b);
		assert_int_equal(b->len, len);
		assert_memory_equal(b->data, data, len);
	} else {
		assert_null(b);
	}
	fr_unlock(e->fr);
	free(data);
	return rc;
}

static void small_blob_goes_in_one_post(void **state)
{
	env *e = *state;

	assert_int_equal(push(e, 1000, 0, 0, 0, 0, 1000), 0);
	assert_int_equal(e->fr->posts, 1);
	assert_int_equal(e->fr->puts, 0);
	assert_int_equal(push(e, 0, 0, 0, 0, 0, 0), 0);
}

static void registry_ignoring_single_post_gets_a_put(void **state)
{
	env *e = *state;

	e->fr->cfg.reject_single_post = 1;
	assert_int_equal(push(e, 5000, 0, 0, 0, 0, 5000), 0);
	assert_int_equal(e->fr->posts, 1);
	assert_int_equal(e->fr->puts, 1);
	/* learnt: the next push does not try the single POST again */
	assert_int_equal(push(e, 6000, 0, 0, 0, 0, 6000), 0);
	assert_int_equal(e->fr->posts, 2);
	assert_int_equal(e->fr->puts, 2);
	assert_int_equal(fr_count_uploads(e->fr), 0);
}

static void large_blob_goes_in_chunks(void **state)
{
	env *e = *state;

	/* 2.5 chunks of 1 MiB: two PATCHes and the last chunk with the PUT */
	assert_int_equal(push(e, 2621440, 1048576, 1048576, 70000, 0, 2621440), 0);
	assert_int_equal(e->fr->patches, 2);
	assert_int_equal(e->fr->puts, 1);
	assert_int_equal(fr_count_uploads(e->fr), 0);
}

static void connection_cut_mid_chunk_resumes(void **state)
{
	env *e = *state;

	e->fr->cfg.drop_patch_after = 300000; /* inside the second chunk's bytes? no: first chunk */
	assert_int_equal(push(e, 3 * 1048576 + 5, 1048576, 1048576, 0, 0, 3 * 1048576 + 5), 0);
	assert_int_equal(e->fr->dropped_patch, 1);
	assert_true(e->fr->status_gets >= 1);
	assert_int_equal(fr_count_uploads(e->fr), 0);
}

static void connection_cut_in_final_put_resumes(void **state)
{
	env *e = *state;

	e->fr->cfg.drop_put_after = 100000;
	assert_int_equal(push(e, 1048576 + 400000, 1048576, 1048576, 0, 0, 1048576 + 400000), 0);
	assert_int_equal(e->fr->dropped_put, 1);
	assert_int_equal(e->fr->puts, 1 + 0 /* the cut one never completed */);
	assert_true(e->fr->status_gets >= 1);
}

static void source_failing_its_check_commits_nothing(void **state)
{
	env *e = *state;

	assert_int_equal(push(e, 2000, 0, 0, 0, BERTH_EDIGEST, 2000), BERTH_EDIGEST);
	e->fr->cfg.reject_single_post = 1;
	assert_int_equal(push(e, 3000, 0, 0, 0, BERTH_EDIGEST, 3000), BERTH_EDIGEST);
	assert_int_equal(push(e, 2621440, 1048576, 1048576, 0, BERTH_EDIGEST, 2621440),
			 BERTH_EDIGEST);
	/* the sessions were cancelled */
	assert_int_equal(fr_count_uploads(e->fr), 0);
	/* (the one-request pushes were cut before the registry saw a whole body) */
	assert_int_equal(e->fr->deletes, 1);
}

static void source_shorter_or_longer_than_declared_is_esize(void **state)
{
	env *e = *state;

	assert_int_equal(push(e, 100, 0, 0, 0, 0, 200), BERTH_ESIZE);
	assert_non_null(strstr(berth_error_last(), "ended after 100 of 200"));
	assert_int_equal(push(e, 300, 0, 0, 0, 0, 200), BERTH_ESIZE);
	assert_int_equal(push(e, 2621440, 1048576, 1048576, 0, 0, 2621000), BERTH_ESIZE);
	assert_int_equal(fr_count_uploads(e->fr), 0);
}

static void mount_finds_existing_blob_or_reports_not_found(void **state)
{
	env *e = *state;
	char dg[BERTH_DIGEST_MAX];
	berth_digest d, other;

	fr_add_blob(e->fr, "shared layer", 12, dg);
	assert_int_equal(berth_digest_parse(&d, dg, strlen(dg)), 0);
	assert_int_equal(berth_client_blob_mount(e->c, "team/other", &d, "team/app"), 0);
	assert_int_equal(berth_digest_compute(&other, BERTH_DIGEST_SHA256, "absent", 6), 0);
	assert_int_equal(berth_client_blob_mount(e->c, "team/other", &other, "team/app"),
			 BERTH_ENOTFOUND);
	/* the session the registry opened instead was cancelled */
	assert_int_equal(fr_count_uploads(e->fr), 0);
	assert_int_equal(e->fr->deletes, 1);
}

static void upload_errors_do_not_leak_upload_state(void **state)
{
	env *e = *state;
	char *data = fr_bytes(5000, 1);
	fr_mem_src src = {data, 5000, 0, 0, 0};
	berth_digest wrong;

	/* The registry refuses a digest that does not match: EDIGEST, message without _state. */
	assert_int_equal(berth_digest_compute(&wrong, BERTH_DIGEST_SHA256, "other", 5), 0);
	e->fr->cfg.reject_single_post = 1;
	assert_int_equal(
		berth_client_blob_push(e->c, "team/app", &wrong, 5000, fr_mem_read, &src, 0, 0),
		BERTH_EDIGEST);
	assert_non_null(strstr(berth_error_last(), "DIGEST_INVALID"));
	assert_null(strstr(berth_error_last(), "secret"));
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(small_blob_goes_in_one_post, fr_env_setup,
						fr_env_teardown),
		cmocka_unit_test_setup_teardown(registry_ignoring_single_post_gets_a_put,
						fr_env_setup, fr_env_teardown),
		cmocka_unit_test_setup_teardown(large_blob_goes_in_chunks, fr_env_setup,
						fr_env_teardown),
		cmocka_unit_test_setup_teardown(connection_cut_mid_chunk_resumes, fr_env_setup,
						fr_env_teardown),
		cmocka_unit_test_setup_teardown(connection_cut_in_final_put_resumes, fr_env_setup,
						fr_env_teardown),
		cmocka_unit_test_setup_teardown(source_failing_its_check_commits_nothing,
						fr_env_setup, fr_env_teardown),
		cmocka_unit_test_setup_teardown(source_shorter_or_longer_than_declared_is_esize,
						fr_env_setup, fr_env_teardown),
		cmocka_unit_test_setup_teardown(mount_finds_existing_blob_or_reports_not_found,
						fr_env_setup, fr_env_teardown),
		cmocka_unit_test_setup_teardown(upload_errors_do_not_leak_upload_state,
						fr_env_setup, fr_env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
