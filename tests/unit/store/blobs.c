/*
 * blobs.c - unit tests of committed blobs in the fs store: put, stat, open,
 * read (with its cap), delete, digest checks, layout and locations.
 */
#include "store_test.h"

#include <fcntl.h>
#include <unistd.h>

static const char hello[] = "hello, berth";

static void put_then_stat_open_read_delete(void **state)
{
	store_fixture *f = *state;
	berth_digest d = digest_of(BERTH_DIGEST_SHA256, hello, strlen(hello));
	berth_buf b = BERTH_BUF_INIT(1024);
	uint64_t size = 0;
	char got[64] = {0};
	int fd = -1;

	assert_int_equal(berth_store_put(f->s, &d, hello, strlen(hello)), 0);
	assert_int_equal(berth_store_stat(f->s, &d, &size), 0);
	assert_int_equal(size, strlen(hello));

	assert_int_equal(berth_store_open_blob(f->s, &d, &fd, &size), 0);
	assert_true(fd >= 0);
	assert_int_equal(size, strlen(hello));
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(read(fd, got, sizeof(got)), (ssize_t)strlen(hello));
	assert_string_equal(got, hello);
	close(fd);

	assert_int_equal(berth_store_read_blob(f->s, &d, &b), 0);
	assert_int_equal(b.len, strlen(hello));
	assert_memory_equal(b.ptr, hello, b.len);
	berth_buf_dispose(&b);

	assert_int_equal(berth_store_delete(f->s, &d), 0);
	assert_int_equal(berth_store_stat(f->s, &d, &size), BERTH_ENOTFOUND);
	assert_int_equal(berth_store_open_blob(f->s, &d, &fd, &size), BERTH_ENOTFOUND);
	assert_int_equal(fd, -1);
	assert_int_equal(berth_store_delete(f->s, &d), BERTH_ENOTFOUND);
}

static void put_lays_out_blob_by_algo_and_prefix(void **state)
{
	store_fixture *f = *state;
	berth_digest d = digest_of(BERTH_DIGEST_SHA256, hello, strlen(hello));
	const char *hex = berth_digest_hex(&d);

	assert_int_equal(berth_store_put(f->s, &d, hello, strlen(hello)), 0);
	assert_true(path_exists("%s/blobs/sha256/%.2s/%s", f->dir, hex, hex));
	/* No temporary file is left behind in uploads/. */
	assert_int_equal(dir_entries(f->dir), 2); /* blobs, uploads */
	{
		char up[128];

		snprintf(up, sizeof(up), "%s/uploads", f->dir);
		assert_int_equal(dir_entries(up), 0);
	}
}

static void put_with_wrong_digest_stores_nothing(void **state)
{
	store_fixture *f = *state;
	berth_digest other = digest_of(BERTH_DIGEST_SHA256, "other", 5);
	uint64_t size;
	char up[128];

	assert_int_equal(berth_store_put(f->s, &other, hello, strlen(hello)), BERTH_EDIGEST);
	assert_non_null(strstr(berth_error_last(), other.str));
	assert_int_equal(berth_store_stat(f->s, &other, &size), BERTH_ENOTFOUND);
	snprintf(up, sizeof(up), "%s/uploads", f->dir);
	assert_int_equal(dir_entries(up), 0);
}

static void put_twice_is_idempotent(void **state)
{
	store_fixture *f = *state;
	berth_digest d = digest_of(BERTH_DIGEST_SHA256, hello, strlen(hello));
	uint64_t size = 0;

	assert_int_equal(berth_store_put(f->s, &d, hello, strlen(hello)), 0);
	assert_int_equal(berth_store_put(f->s, &d, hello, strlen(hello)), 0);
	assert_int_equal(berth_store_stat(f->s, &d, &size), 0);
	assert_int_equal(size, strlen(hello));
}

static void put_empty_blob(void **state)
{
	store_fixture *f = *state;
	berth_digest d = digest_of(BERTH_DIGEST_SHA256, "", 0);
	berth_buf b = BERTH_BUF_INIT(16);
	uint64_t size = 99;

	assert_int_equal(berth_store_put(f->s, &d, "", 0), 0);
	assert_int_equal(berth_store_stat(f->s, &d, &size), 0);
	assert_int_equal(size, 0);
	assert_int_equal(berth_store_read_blob(f->s, &d, &b), 0);
	assert_int_equal(b.len, 0);
	berth_buf_dispose(&b);
}

static void put_and_read_sha512_blob(void **state)
{
	store_fixture *f = *state;
	berth_digest d = digest_of(BERTH_DIGEST_SHA512, hello, strlen(hello));
	berth_buf b = BERTH_BUF_INIT(1024);
	const char *hex = berth_digest_hex(&d);

	assert_int_equal(berth_store_put(f->s, &d, hello, strlen(hello)), 0);
	assert_true(path_exists("%s/blobs/sha512/%.2s/%s", f->dir, hex, hex));
	assert_int_equal(berth_store_read_blob(f->s, &d, &b), 0);
	assert_memory_equal(b.ptr, hello, strlen(hello));
	berth_buf_dispose(&b);
}

static void read_blob_respects_cap(void **state)
{
	store_fixture *f = *state;
	size_t len = 100000;
	char *data = malloc(len);
	berth_digest d;
	berth_buf small = BERTH_BUF_INIT(len - 1);
	berth_buf exact = BERTH_BUF_INIT(len);
	berth_buf prefilled = BERTH_BUF_INIT(len);

	assert_non_null(data);
	fill_bytes(data, len, 7);
	d = digest_of(BERTH_DIGEST_SHA256, data, len);
	assert_int_equal(berth_store_put(f->s, &d, data, len), 0);

	assert_int_equal(berth_store_read_blob(f->s, &d, &small), BERTH_ETOOBIG);
	assert_int_equal(small.len, 0);

	assert_int_equal(berth_store_read_blob(f->s, &d, &exact), 0);
	assert_int_equal(exact.len, len);
	assert_memory_equal(exact.ptr, data, len);

	/* The cap counts what the buffer already holds. */
	assert_int_equal(berth_buf_put(&prefilled, "x", 1), 0);
	assert_int_equal(berth_store_read_blob(f->s, &d, &prefilled), BERTH_ETOOBIG);

	berth_buf_dispose(&small);
	berth_buf_dispose(&exact);
	berth_buf_dispose(&prefilled);
	free(data);
}

static void malformed_digest_struct_is_rejected(void **state)
{
	store_fixture *f = *state;
	berth_digest d = digest_of(BERTH_DIGEST_SHA256, hello, strlen(hello));
	uint64_t size;

	/* A hand-made digest must never become a path outside blobs/. */
	memcpy(d.str + 7, "../../../", 9);
	assert_int_equal(berth_store_stat(f->s, &d, &size), BERTH_EINVALID);
	assert_int_equal(berth_store_put(f->s, &d, hello, strlen(hello)), BERTH_EINVALID);
	assert_int_equal(berth_store_delete(f->s, &d), BERTH_EINVALID);

	d = digest_of(BERTH_DIGEST_SHA256, hello, strlen(hello));
	d.algo = BERTH_DIGEST_SHA512; /* text says sha256 */
	assert_int_equal(berth_store_stat(f->s, &d, &size), BERTH_EINVALID);
}

static void open_accepts_file_url_and_refuses_other_schemes(void **state)
{
	store_fixture *f = *state;
	berth_digest d = digest_of(BERTH_DIGEST_SHA256, hello, strlen(hello));
	berth_store *s2 = NULL;
	char url[128];
	uint64_t size = 0;

	assert_int_equal(berth_store_put(f->s, &d, hello, strlen(hello)), 0);
	snprintf(url, sizeof(url), "file://%s", f->dir);
	assert_int_equal(berth_store_open(&s2, url), 0);
	assert_int_equal(berth_store_stat(s2, &d, &size), 0);
	assert_int_equal(size, strlen(hello));
	berth_store_free(s2);

	assert_int_equal(berth_store_open(&s2, "gs://bucket/prefix"), BERTH_EUNSUPPORTED);
	assert_null(s2);
	/* s3:// goes to the s3 driver, which checks its settings first. */
	assert_int_equal(berth_store_open(&s2, "s3://bucket/prefix?bogus=1"), BERTH_EINVALID);
	assert_null(s2);
	assert_int_equal(berth_store_open(&s2, ""), BERTH_EINVALID);
	assert_null(s2);
}

static void open_creates_missing_directory(void **state)
{
	store_fixture *f = *state;
	berth_store *s2 = NULL;
	char sub[128];

	snprintf(sub, sizeof(sub), "%s/deeper/store", f->dir);
	assert_int_equal(berth_store_open(&s2, sub), 0);
	assert_true(path_exists("%s/blobs/sha256/00", sub));
	assert_true(path_exists("%s/blobs/sha512/ff", sub));
	assert_true(path_exists("%s/uploads", sub));
	berth_store_free(s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(put_then_stat_open_read_delete, store_setup,
						store_teardown),
		cmocka_unit_test_setup_teardown(put_lays_out_blob_by_algo_and_prefix, store_setup,
						store_teardown),
		cmocka_unit_test_setup_teardown(put_with_wrong_digest_stores_nothing, store_setup,
						store_teardown),
		cmocka_unit_test_setup_teardown(put_twice_is_idempotent, store_setup,
						store_teardown),
		cmocka_unit_test_setup_teardown(put_empty_blob, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(put_and_read_sha512_blob, store_setup,
						store_teardown),
		cmocka_unit_test_setup_teardown(read_blob_respects_cap, store_setup,
						store_teardown),
		cmocka_unit_test_setup_teardown(malformed_digest_struct_is_rejected, store_setup,
						store_teardown),
		cmocka_unit_test_setup_teardown(open_accepts_file_url_and_refuses_other_schemes,
						store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(open_creates_missing_directory, store_setup,
						store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
