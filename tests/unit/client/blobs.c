/*
 * blobs.c - blob HEAD and GET against the fake registry: streamed bytes
 * verified against digest and size, wrong bytes, truncation, redirects
 * (a loop, another origin without credentials), a resumed download, and
 * retries of 5xx and 429.
 */
#include "fake_registry.h"

typedef struct {
	fake_registry *fr;
	berth_client *c;
	char *data;
	size_t len;
	berth_digest d;
} env;

static int setup(void **state)
{
	env *e = calloc(1, sizeof(*e));
	char dg[BERTH_DIGEST_MAX];

	e->fr = fr_start();
	e->len = 3 * 1024 * 1024 + 17;
	e->data = fr_bytes(e->len, 7);
	fr_add_blob(e->fr, e->data, e->len, dg);
	assert_int_equal(berth_digest_parse(&e->d, dg, strlen(dg)), 0);
	e->c = fr_client(e->fr, NULL, NULL);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	env *e = *state;

	berth_client_free(e->c);
	fr_stop(e->fr);
	free(e->data);
	free(e);
	return 0;
}

static void get_streams_the_exact_bytes(void **state)
{
	env *e = *state;
	berth_buf got = BERTH_BUF_INIT(0);

	assert_int_equal(
		berth_client_blob_get(e->c, "team/app", &e->d, (int64_t)e->len, fr_buf_sink, &got),
		0);
	assert_int_equal(got.len, e->len);
	assert_memory_equal(got.ptr, e->data, e->len);
	assert_string_equal(berth_client_base_url(e->c),
			    e->fr->host[0] ? berth_client_base_url(e->c) : "");
	assert_int_equal(strncmp(berth_client_base_url(e->c), "http://127.0.0.1:", 17), 0);
	berth_buf_dispose(&got);
}

static void exists_reports_size_or_not_found(void **state)
{
	env *e = *state;
	berth_digest other;
	uint64_t size = 0;

	assert_int_equal(berth_client_blob_exists(e->c, "team/app", &e->d, &size), 0);
	assert_int_equal(size, e->len);
	assert_int_equal(berth_digest_compute(&other, BERTH_DIGEST_SHA256, "x", 1), 0);
	assert_int_equal(berth_client_blob_exists(e->c, "team/app", &other, &size),
			 BERTH_ENOTFOUND);
}

static void missing_blob_is_not_found_with_registry_message(void **state)
{
	env *e = *state;
	berth_buf got = BERTH_BUF_INIT(0);
	berth_digest other;

	assert_int_equal(berth_digest_compute(&other, BERTH_DIGEST_SHA256, "nope", 4), 0);
	assert_int_equal(berth_client_blob_get(e->c, "team/app", &other, 4, fr_buf_sink, &got),
			 BERTH_ENOTFOUND);
	assert_non_null(strstr(berth_error_last(), "BLOB_UNKNOWN"));
	assert_non_null(strstr(berth_error_last(), e->fr->host));
	assert_int_equal(got.len, 0);
	berth_buf_dispose(&got);
}

static void wrong_bytes_fail_with_both_digests(void **state)
{
	env *e = *state;
	berth_buf got = BERTH_BUF_INIT(0);

	e->fr->cfg.corrupt_blob = 1;
	assert_int_equal(
		berth_client_blob_get(e->c, "team/app", &e->d, (int64_t)e->len, fr_buf_sink, &got),
		BERTH_EDIGEST);
	assert_non_null(strstr(berth_error_last(), e->d.str));
	assert_non_null(strstr(berth_error_last(), "got sha256:"));
	berth_buf_dispose(&got);
}

static void truncated_blob_fails_clearly(void **state)
{
	env *e = *state;
	berth_buf got = BERTH_BUF_INIT(0);
	int rc;

	e->fr->cfg.truncate_blob = 1;
	rc = berth_client_blob_get(e->c, "team/app", &e->d, (int64_t)e->len, fr_buf_sink, &got);
	assert_true(rc == BERTH_ESIZE || rc == BERTH_EIO);
	assert_non_null(strstr(berth_error_last(), "truncated")
				? strstr(berth_error_last(), "truncated")
				: strstr(berth_error_last(), "resume"));
	assert_true(got.len < e->len);
	berth_buf_dispose(&got);
}

static void size_mismatch_is_esize(void **state)
{
	env *e = *state;
	berth_buf got = BERTH_BUF_INIT(0);

	/* The registry sends more than the descriptor says. */
	assert_int_equal(berth_client_blob_get(e->c, "team/app", &e->d, 1000, fr_buf_sink, &got),
			 BERTH_ESIZE);
	assert_true(got.len <= 1000);
	berth_buf_dispose(&got);
}

static void broken_download_resumes_with_range(void **state)
{
	env *e = *state;
	berth_buf got = BERTH_BUF_INIT(0);

	e->fr->cfg.drop_blob_once = 1;
	assert_int_equal(
		berth_client_blob_get(e->c, "team/app", &e->d, (int64_t)e->len, fr_buf_sink, &got),
		0);
	assert_int_equal(e->fr->dropped_blob, 1);
	assert_int_equal(e->fr->gets_blob, 2);
	assert_int_equal(got.len, e->len);
	assert_memory_equal(got.ptr, e->data, e->len);
	berth_buf_dispose(&got);
}

static void redirect_loop_fails_clearly(void **state)
{
	env *e = *state;
	berth_buf got = BERTH_BUF_INIT(0);

	e->fr->cfg.redirect_loop = 1;
	assert_int_equal(
		berth_client_blob_get(e->c, "team/app", &e->d, (int64_t)e->len, fr_buf_sink, &got),
		BERTH_EIO);
	assert_non_null(strstr(berth_error_last(), "redirect"));
	assert_int_equal(got.len, 0);
	berth_buf_dispose(&got);
}

static void redirect_to_other_origin_drops_credentials(void **state)
{
	env *e = *state;
	berth_buf got = BERTH_BUF_INIT(0);
	berth_client *c;

	e->fr->cfg.basic_user = "alice";
	e->fr->cfg.basic_pass = "s3cret";
	e->fr->cfg.redirect_other = 1;
	c = fr_client(e->fr, "alice", "s3cret");
	assert_int_equal(
		berth_client_blob_get(c, "team/app", &e->d, (int64_t)e->len, fr_buf_sink, &got), 0);
	assert_int_equal(got.len, e->len);
	assert_int_equal(e->fr->storage_hits, 1);
	assert_int_equal(e->fr->storage_saw_auth, 0);
	berth_client_free(c);
	berth_buf_dispose(&got);
}

static void server_errors_are_retried(void **state)
{
	env *e = *state;
	uint64_t size;

	e->fr->cfg.fail_5xx = 2;
	e->fr->cfg.fail_429 = 1;
	assert_int_equal(berth_client_blob_exists(e->c, "team/app", &e->d, &size), 0);
	assert_int_equal(e->fr->requests, 4);
}

static void persistent_server_errors_give_up(void **state)
{
	env *e = *state;
	uint64_t size;

	e->fr->cfg.fail_5xx = 100;
	assert_int_equal(berth_client_blob_exists(e->c, "team/app", &e->d, &size), BERTH_EIO);
	/* one try and three retries */
	assert_int_equal(e->fr->requests, 4);
}

static void unreachable_host_is_eio(void **state)
{
	berth_client_options o;
	berth_client *c = NULL;
	berth_buf got = BERTH_BUF_INIT(0);
	env *e = *state;

	berth_client_options_init(&o);
	o.host = "127.0.0.1:1";
	o.retries = 1;
	o.auth_file = "/nonexistent";
	assert_int_equal(berth_client_new(&c, &o), 0);
	assert_int_equal(berth_client_blob_get(c, "a", &e->d, 1, fr_buf_sink, &got), BERTH_EIO);
	assert_non_null(strstr(berth_error_last(), "127.0.0.1:1"));
	berth_client_free(c);
	berth_buf_dispose(&got);
}

/* berth_client_blob_get_sized: the size from the GET itself, told before the first byte. */
typedef struct {
	berth_buf got;
	int starts;
	uint64_t size;
	size_t len_at_start; /* bytes the sink had when the size was told */
} sized;

static int sized_start(void *ctx, uint64_t size)
{
	sized *s = ctx;

	s->starts++;
	s->size = size;
	s->len_at_start = s->got.len;
	return 0;
}

static int sized_sink(void *ctx, const void *data, size_t len)
{
	sized *s = ctx;

	return s->starts == 1 ? fr_buf_sink(&s->got, data, len) : BERTH_ERROR;
}

static void get_sized_tells_the_size_first(void **state)
{
	env *e = *state;
	sized s = {.got = BERTH_BUF_INIT(0)};

	e->fr->cfg.drop_blob_once = 1; /* told once, though asked twice */
	assert_int_equal(
		berth_client_blob_get_sized(e->c, "team/app", &e->d, sized_start, sized_sink, &s),
		0);
	assert_int_equal(e->fr->gets_blob, 2);
	assert_int_equal(s.starts, 1);
	assert_int_equal(s.size, e->len);
	assert_int_equal(s.len_at_start, 0);
	assert_int_equal(s.got.len, e->len);
	assert_memory_equal(s.got.ptr, e->data, e->len);
	berth_buf_dispose(&s.got);
}

static void get_sized_of_a_missing_blob_tells_nothing(void **state)
{
	env *e = *state;
	sized s = {.got = BERTH_BUF_INIT(0)};
	berth_digest other;

	assert_int_equal(berth_digest_compute(&other, BERTH_DIGEST_SHA256, "nope", 4), 0);
	assert_int_equal(
		berth_client_blob_get_sized(e->c, "team/app", &other, sized_start, sized_sink, &s),
		BERTH_ENOTFOUND);
	assert_int_equal(s.starts, 0);
	berth_buf_dispose(&s.got);
}

static void get_sized_truncated_fails(void **state)
{
	env *e = *state;
	sized s = {.got = BERTH_BUF_INIT(0)};
	int rc;

	e->fr->cfg.truncate_blob = 1;
	rc = berth_client_blob_get_sized(e->c, "team/app", &e->d, sized_start, sized_sink, &s);
	assert_true(rc == BERTH_ESIZE || rc == BERTH_EIO);
	assert_int_equal(s.starts, 1);
	assert_int_equal(s.size, e->len); /* the Content-Length was the whole blob's */
	assert_true(s.got.len < e->len);
	berth_buf_dispose(&s.got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(get_streams_the_exact_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(exists_reports_size_or_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_blob_is_not_found_with_registry_message,
						setup, teardown),
		cmocka_unit_test_setup_teardown(wrong_bytes_fail_with_both_digests, setup,
						teardown),
		cmocka_unit_test_setup_teardown(truncated_blob_fails_clearly, setup, teardown),
		cmocka_unit_test_setup_teardown(size_mismatch_is_esize, setup, teardown),
		cmocka_unit_test_setup_teardown(broken_download_resumes_with_range, setup,
						teardown),
		cmocka_unit_test_setup_teardown(redirect_loop_fails_clearly, setup, teardown),
		cmocka_unit_test_setup_teardown(redirect_to_other_origin_drops_credentials, setup,
						teardown),
		cmocka_unit_test_setup_teardown(server_errors_are_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(persistent_server_errors_give_up, setup, teardown),
		cmocka_unit_test_setup_teardown(unreachable_host_is_eio, setup, teardown),
		cmocka_unit_test_setup_teardown(get_sized_tells_the_size_first, setup, teardown),
		cmocka_unit_test_setup_teardown(get_sized_of_a_missing_blob_tells_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(get_sized_truncated_fails, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
