/*
 * throttle.c - failed-login records behind throttling: counting per key from
 * a time on, clearing one key, keys kept apart, and the prune inside
 * berth_meta_login_failure_add that forgets a key's failures older than an
 * hour (so the table stays small).
 */
#include "meta_test.h"

static long count(berth_meta *m, const char *key, time_t since)
{
	long n = -1;

	assert_int_equal(berth_meta_login_failures(m, key, since, &n, NULL), 0);
	return n;
}

static void failures_are_counted_from_since(void **state)
{
	meta_fixture *f = *state;
	const time_t t0 = 1700000000;

	assert_int_equal(count(f->m, "user:alice", 0), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(berth_meta_login_failure_add(f->m, "user:alice", t0 + 60 * i), 0);
	assert_int_equal(count(f->m, "user:alice", 0), 5);
	assert_int_equal(count(f->m, "user:alice", t0), 5);
	/* "at or after since" */
	assert_int_equal(count(f->m, "user:alice", t0 + 60), 4);
	assert_int_equal(count(f->m, "user:alice", t0 + 61), 3);
	assert_int_equal(count(f->m, "user:alice", t0 + 240), 1);
	assert_int_equal(count(f->m, "user:alice", t0 + 241), 0);
	/* Two failures in the same second both count. */
	assert_int_equal(berth_meta_login_failure_add(f->m, "user:alice", t0 + 240), 0);
	assert_int_equal(count(f->m, "user:alice", t0 + 240), 2);
}

static void keys_are_kept_apart_and_cleared_alone(void **state)
{
	meta_fixture *f = *state;
	const time_t t0 = 1700000000;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(berth_meta_login_failure_add(f->m, "user:alice", t0 + i), 0);
		assert_int_equal(berth_meta_login_failure_add(f->m, "addr:192.0.2.7", t0 + i), 0);
	}
	assert_int_equal(berth_meta_login_failure_add(f->m, "user:alicex", t0), 0);
	assert_int_equal(count(f->m, "user:alice", t0), 3);
	assert_int_equal(count(f->m, "addr:192.0.2.7", t0), 3);
	assert_int_equal(count(f->m, "user:alicex", t0), 1);
	assert_int_equal(count(f->m, "user:bob", t0), 0);

	assert_int_equal(berth_meta_login_failures_clear(f->m, "user:alice"), 0);
	assert_int_equal(count(f->m, "user:alice", 0), 0);
	assert_int_equal(count(f->m, "addr:192.0.2.7", 0), 3);
	assert_int_equal(count(f->m, "user:alicex", 0), 1);
	/* Clearing a key with no failures is fine. */
	assert_int_equal(berth_meta_login_failures_clear(f->m, "user:nobody"), 0);
}

static void old_failures_of_the_key_are_pruned_on_add(void **state)
{
	meta_fixture *f = *state;
	const time_t t0 = 1700000000;

	for (int i = 0; i < 10; i++)
		assert_int_equal(berth_meta_login_failure_add(f->m, "user:alice", t0 + i), 0);
	assert_int_equal(berth_meta_login_failure_add(f->m, "user:bob", t0), 0);
	/* Exactly an hour later, nothing is older than an hour yet. */
	assert_int_equal(berth_meta_login_failure_add(f->m, "user:alice", t0 + 3600), 0);
	assert_int_equal(
		meta_raw_int(f, "SELECT count(*) FROM login_failures WHERE key = 'user:alice'"),
		11);
	/* Later: the rows older than an hour go, the others stay. */
	assert_int_equal(berth_meta_login_failure_add(f->m, "user:alice", t0 + 3605), 0);
	assert_int_equal(
		meta_raw_int(f, "SELECT count(*) FROM login_failures WHERE key = 'user:alice'"), 7);
	assert_int_equal(count(f->m, "user:alice", 0), 7);
	/* Other keys are pruned only by their own adds. */
	assert_int_equal(count(f->m, "user:bob", 0), 1);
}

static void bad_keys_are_refused(void **state)
{
	meta_fixture *f = *state;
	char key[1100];
	long n = 99;

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	assert_int_equal(berth_meta_login_failure_add(f->m, "", 1), BERTH_EINVALID);
	assert_int_equal(berth_meta_login_failure_add(f->m, key, 1), BERTH_EINVALID);
	assert_int_equal(berth_meta_login_failures(f->m, key, 0, &n, NULL), BERTH_EINVALID);
	assert_int_equal(n, 0);
	assert_int_equal(berth_meta_login_failures_clear(f->m, NULL), BERTH_EINVALID);
	assert_int_equal(meta_raw_int(f, "SELECT count(*) FROM login_failures"), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, meta_setup, meta_teardown)
	const struct CMUnitTest tests[] = {
		T(failures_are_counted_from_since),
		T(keys_are_kept_apart_and_cleared_alone),
		T(old_failures_of_the_key_are_pruned_on_add),
		T(bad_keys_are_refused),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
