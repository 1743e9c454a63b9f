/*
 * retries.c - replication retry runs kept in meta (a full destination asks
 * for one later): one per rule, set again replaces it, listed when due,
 * earliest first, and taken once (a compare-and-delete on the time, so that
 * of processes sharing the database one runs it).
 */
#include "meta_test.h"

#include <string.h>

typedef struct due {
	char rule[4][64];
	time_t at[4];
	int n;
} due;

static int on_due(void *ctx, const char *rule, time_t at)
{
	due *d = ctx;

	assert_true(d->n < 4);
	snprintf(d->rule[d->n], sizeof(d->rule[0]), "%s", rule);
	d->at[d->n++] = at;
	return 0;
}

static due list(berth_meta *m, time_t now)
{
	due d = {.n = 0};

	assert_int_equal(berth_meta_repl_retries_due(m, now, 10, on_due, &d), 0);
	return d;
}

static void retries_are_listed_when_due_earliest_first(void **state)
{
	meta_fixture *f = *state;
	const time_t t0 = 1700000000;
	due d;

	assert_int_equal(list(f->m, t0 + 1000).n, 0);
	assert_int_equal(berth_meta_repl_retry_set(f->m, "late", t0 + 300), 0);
	assert_int_equal(berth_meta_repl_retry_set(f->m, "early", t0 + 100), 0);
	assert_int_equal(list(f->m, t0).n, 0);
	d = list(f->m, t0 + 100);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.rule[0], "early");
	assert_int_equal(d.at[0], t0 + 100);
	d = list(f->m, t0 + 300);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.rule[0], "early");
	assert_string_equal(d.rule[1], "late");
	/* One per rule: asking again moves it. */
	assert_int_equal(berth_meta_repl_retry_set(f->m, "early", t0 + 500), 0);
	d = list(f->m, t0 + 300);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.rule[0], "late");
}

static void a_retry_is_taken_once(void **state)
{
	meta_fixture *f = *state;
	const time_t t0 = 1700000000;
	int won = -1;

	assert_int_equal(berth_meta_repl_retry_set(f->m, "r", t0), 0);
	/* Not at that time (it was moved meanwhile): not taken. */
	assert_int_equal(berth_meta_repl_retry_take(f->m, "r", t0 + 1, &won), 0);
	assert_int_equal(won, 0);
	assert_int_equal(berth_meta_repl_retry_take(f->m, "r", t0, &won), 0);
	assert_int_equal(won, 1);
	assert_int_equal(berth_meta_repl_retry_take(f->m, "r", t0, &won), 0);
	assert_int_equal(won, 0);
	assert_int_equal(list(f->m, t0 + 1000).n, 0);
	assert_int_equal(berth_meta_repl_retry_take(f->m, "never", t0, &won), 0);
	assert_int_equal(won, 0);
}

static void retries_survive_reopening(void **state)
{
	meta_fixture *f = *state;
	due d;

	assert_int_equal(berth_meta_repl_retry_set(f->m, "kept", 1700000000), 0);
	berth_meta_free(f->m);
	assert_int_equal(berth_meta_open(&f->m, f->path), 0);
	d = list(f->m, 1700000000);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.rule[0], "kept");
}

static void bad_rule_names_are_refused(void **state)
{
	meta_fixture *f = *state;
	char long_name[BERTH_META_NAME_MAX + 2];
	int won;

	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(berth_meta_repl_retry_set(f->m, long_name, 1), BERTH_EINVALID);
	assert_int_equal(berth_meta_repl_retry_take(f->m, long_name, 1, &won), BERTH_EINVALID);
	assert_int_equal(won, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, meta_setup, meta_teardown)
	const struct CMUnitTest tests[] = {
		T(retries_are_listed_when_due_earliest_first),
		T(a_retry_is_taken_once),
		T(retries_survive_reopening),
		T(bad_rule_names_are_refused),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
