/*
 * uploads.c - upload sessions: create, check ownership by repository,
 * delete, duplicate ids, and the stale listing used by the janitor.
 */
#include "meta_test.h"

static void created_upload_belongs_to_its_repo(void **state)
{
	meta_fixture *f = *state;

	assert_int_equal(berth_meta_upload_create(f->m, "u-1", "lib/app", 1000, NULL), 0);
	assert_int_equal(berth_meta_upload_check(f->m, "u-1", "lib/app"), 0);
	assert_int_equal(berth_meta_upload_check(f->m, "u-1", "lib/other"), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_upload_check(f->m, "u-2", "lib/app"), BERTH_ENOTFOUND);
}

static void duplicate_id_is_refused(void **state)
{
	meta_fixture *f = *state;

	assert_int_equal(berth_meta_upload_create(f->m, "u-1", "lib/app", 1000, NULL), 0);
	assert_int_equal(berth_meta_upload_create(f->m, "u-1", "lib/other", 1001, NULL),
			 BERTH_EEXISTS);
	assert_int_equal(berth_meta_upload_check(f->m, "u-1", "lib/app"), 0);
}

static void delete_ends_the_session(void **state)
{
	meta_fixture *f = *state;

	assert_int_equal(berth_meta_upload_create(f->m, "u-1", "lib/app", 1000, NULL), 0);
	assert_int_equal(berth_meta_upload_delete(f->m, "u-1"), 0);
	assert_int_equal(berth_meta_upload_check(f->m, "u-1", "lib/app"), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_upload_delete(f->m, "u-1"), BERTH_ENOTFOUND);
}

static int delete_each(void *ctx, const char *id)
{
	berth_meta *m = ctx;

	/* Writing from inside the callback must be safe. */
	return berth_meta_upload_delete(m, id);
}

static void stale_lists_only_older_sessions(void **state)
{
	meta_fixture *f = *state;
	names n = {0};

	assert_int_equal(berth_meta_upload_create(f->m, "new", "r", 5000, NULL), 0);
	assert_int_equal(berth_meta_upload_create(f->m, "old-2", "r", 2000, NULL), 0);
	assert_int_equal(berth_meta_upload_create(f->m, "old-1", "r", 1000, NULL), 0);
	assert_int_equal(berth_meta_upload_create(f->m, "edge", "r", 3000, NULL), 0);
	assert_int_equal(berth_meta_upload_stale(f->m, 3000, names_cb, &n), 0);
	assert_string_equal(n.text, "old-1,old-2");
	assert_int_equal(berth_meta_upload_stale(f->m, 3000, delete_each, f->m), 0);
	assert_int_equal(berth_meta_upload_check(f->m, "old-1", "r"), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_upload_check(f->m, "edge", "r"), 0);
	assert_int_equal(berth_meta_upload_check(f->m, "new", "r"), 0);
}

static int fail_cb(void *ctx, const char *id)
{
	(void)ctx;
	(void)id;
	return BERTH_EIO;
}

static void callback_error_is_returned(void **state)
{
	meta_fixture *f = *state;

	assert_int_equal(berth_meta_upload_create(f->m, "old", "r", 1, NULL), 0);
	assert_int_equal(berth_meta_upload_stale(f->m, 10, fail_cb, NULL), BERTH_EIO);
}

static void sessions_are_counted_per_repository_and_account(void **state)
{
	meta_fixture *f = *state;
	long in_repo = -1, of_account = -1;

	assert_int_equal(berth_meta_upload_create(f->m, "a1", "r", 1, "alice"), 0);
	assert_int_equal(berth_meta_upload_create(f->m, "a2", "r", 2, "alice"), 0);
	assert_int_equal(berth_meta_upload_create(f->m, "a3", "s", 3, "alice"), 0);
	assert_int_equal(berth_meta_upload_create(f->m, "b1", "r", 4, "bob"), 0);
	assert_int_equal(berth_meta_upload_create(f->m, "n1", "r", 5, NULL), 0);
	assert_int_equal(berth_meta_upload_count(f->m, "r", "alice", &in_repo, &of_account), 0);
	assert_int_equal(in_repo, 4);
	assert_int_equal(of_account, 3);
	assert_int_equal(berth_meta_upload_count(f->m, "s", NULL, &in_repo, &of_account), 0);
	assert_int_equal(in_repo, 1);
	assert_int_equal(of_account, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(created_upload_belongs_to_its_repo, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(sessions_are_counted_per_repository_and_account,
						meta_setup, meta_teardown),
		cmocka_unit_test_setup_teardown(duplicate_id_is_refused, meta_setup, meta_teardown),
		cmocka_unit_test_setup_teardown(delete_ends_the_session, meta_setup, meta_teardown),
		cmocka_unit_test_setup_teardown(stale_lists_only_older_sessions, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(callback_error_is_returned, meta_setup,
						meta_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
