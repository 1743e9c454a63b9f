/*
 * scale.c - what several processes sharing one database agree on through it:
 * leases (one holder until expiry), the compare-and-set claim of a scheduled
 * firing, claims of queued events (each event to one process, those of a
 * stopped process freed) and executions left by a stopped process. "Two
 * processes" are two handles opened on the same file; the race cases run
 * them from two threads at once.
 */
#include "meta_test.h"

#include <pthread.h>

#define T0 ((time_t)1700000000)

static berth_meta *second_handle(const meta_fixture *f)
{
	berth_meta *m = NULL;

	assert_int_equal(berth_meta_open(&m, f->path), 0);
	return m;
}

static int take(berth_meta *m, const char *name, const char *holder, time_t now, long ttl)
{
	int won = -1;

	assert_int_equal(berth_meta_lease_take(m, name, holder, now, ttl, &won), 0);
	return won;
}

static void lease_has_one_holder_until_it_expires(void **state)
{
	meta_fixture *f = *state;
	berth_meta *b = second_handle(f);

	assert_int_equal(take(f->m, "gc", "A", T0, 10), 1);
	assert_int_equal(take(b, "gc", "B", T0 + 1, 10), 0);
	/* The holder renews; the other still loses until the renewed expiry. */
	assert_int_equal(take(f->m, "gc", "A", T0 + 5, 10), 1);
	assert_int_equal(take(b, "gc", "B", T0 + 14, 10), 0);
	assert_int_equal(take(b, "gc", "B", T0 + 15, 10), 1);
	assert_int_equal(take(f->m, "gc", "A", T0 + 16, 10), 0);
	/* Other names are independent. */
	assert_int_equal(take(f->m, "purge", "A", T0 + 16, 10), 1);
	berth_meta_free(b);
}

static void lease_release_frees_only_the_holders_lease(void **state)
{
	meta_fixture *f = *state;

	assert_int_equal(take(f->m, "gc", "A", T0, 100), 1);
	assert_int_equal(berth_meta_lease_release(f->m, "gc", "B"), 0);
	assert_int_equal(take(f->m, "gc", "B", T0 + 1, 100), 0);
	assert_int_equal(berth_meta_lease_release(f->m, "gc", "A"), 0);
	assert_int_equal(take(f->m, "gc", "B", T0 + 1, 100), 1);
}

static void lease_arguments_are_checked(void **state)
{
	meta_fixture *f = *state;
	char holder[BERTH_META_HOLDER_MAX + 2];
	int won = 7;

	memset(holder, 'h', sizeof(holder) - 1);
	holder[sizeof(holder) - 1] = '\0';
	assert_int_equal(berth_meta_lease_take(f->m, "gc", holder, T0, 10, &won), BERTH_EINVALID);
	assert_int_equal(won, 0);
	assert_int_equal(berth_meta_lease_take(f->m, "", "A", T0, 10, &won), BERTH_EINVALID);
	assert_int_equal(berth_meta_lease_take(f->m, "gc", "A", T0, 0, &won), BERTH_EINVALID);
}

static void scheduled_firing_is_claimed_once(void **state)
{
	meta_fixture *f = *state;
	berth_meta *b = second_handle(f);
	time_t t = 0;
	int won = -1;

	/* Both read "never fired"; only the first claim counts. */
	assert_int_equal(berth_meta_repl_fired_claim(f->m, "nightly", 0, T0, &won), 0);
	assert_int_equal(won, 1);
	assert_int_equal(berth_meta_repl_fired_claim(b, "nightly", 0, T0, &won), 0);
	assert_int_equal(won, 0);
	/* Both read T0 and both try to fire at T0 + 60. */
	assert_int_equal(berth_meta_repl_fired_claim(b, "nightly", T0, T0 + 60, &won), 0);
	assert_int_equal(won, 1);
	assert_int_equal(berth_meta_repl_fired_claim(f->m, "nightly", T0, T0 + 61, &won), 0);
	assert_int_equal(won, 0);
	assert_int_equal(berth_meta_repl_fired_get(f->m, "nightly", &t), 0);
	assert_int_equal((long long)t, (long long)(T0 + 60));
	berth_meta_free(b);
}

static void add_events(berth_meta *m, int n)
{
	for (int i = 0; i < n; i++) {
		char ref[32];
		berth_meta_repl_event e = {.rule = "r", .repo = "app", .reference = ref};

		snprintf(ref, sizeof(ref), "t%d", i);
		assert_int_equal(berth_meta_repl_event_add(m, &e), 0);
	}
}

typedef struct claimed {
	int64_t ids[512];
	int n;
} claimed;

static int note_event(void *ctx, const berth_meta_repl_event *e)
{
	claimed *c = ctx;

	assert_true(c->n < 512);
	c->ids[c->n++] = e->id;
	return 0;
}

static void events_go_to_one_process_and_return_when_it_stops(void **state)
{
	meta_fixture *f = *state;
	berth_meta *b = second_handle(f);
	claimed a = {{0}, 0}, bb = {{0}, 0};

	add_events(f->m, 3);
	assert_int_equal(take(f->m, BERTH_META_LEASE_PREFIX "A", "A", T0, 10), 1);
	assert_int_equal(take(b, BERTH_META_LEASE_PREFIX "B", "B", T0, 1000), 1);
	assert_int_equal(berth_meta_repl_event_claim(f->m, "A", T0, 2, note_event, &a), 0);
	assert_int_equal(a.n, 2);
	assert_true(a.ids[0] < a.ids[1]); /* oldest first */
	assert_int_equal(berth_meta_repl_event_claim(b, "B", T0, 10, note_event, &bb), 0);
	assert_int_equal(bb.n, 1);
	assert_true(bb.ids[0] > a.ids[1]);
	/* A is alive: its events stay its own. */
	assert_int_equal(berth_meta_repl_event_claim(b, "B", T0 + 9, 10, note_event, &bb), 0);
	assert_int_equal(bb.n, 1);
	/* A's lease expired (A stopped): B takes A's events over. */
	assert_int_equal(berth_meta_repl_event_claim(b, "B", T0 + 10, 10, note_event, &bb), 0);
	assert_int_equal(bb.n, 3);
	assert_true(bb.ids[1] == a.ids[0] && bb.ids[2] == a.ids[1]);
	/* A handled event is deleted and never claimed again. */
	assert_int_equal(berth_meta_repl_event_delete(b, bb.ids[0]), 0);
	assert_int_equal(take(b, BERTH_META_LEASE_PREFIX "B", "B", T0 + 10, 1), 1);
	assert_int_equal(berth_meta_repl_event_claim(f->m, "C", T0 + 20, 10, note_event, &a), 0);
	assert_int_equal(a.n, 4);
	berth_meta_free(b);
}

typedef struct racer {
	berth_meta *m;
	const char *holder;
	claimed got;
	int rc;
} racer;

static void *race_claims(void *arg)
{
	racer *r = arg;

	for (int i = 0; i < 200 && r->rc == 0; i++)
		r->rc = berth_meta_repl_event_claim(r->m, r->holder, T0, 1, note_event, &r->got);
	return NULL;
}

static void racing_processes_never_claim_one_event_twice(void **state)
{
	meta_fixture *f = *state;
	racer r[2] = {{f->m, "A", {{0}, 0}, 0}, {second_handle(f), "B", {{0}, 0}, 0}};
	pthread_t t[2];
	char seen[256] = {0};

	add_events(f->m, 120);
	assert_int_equal(take(f->m, BERTH_META_LEASE_PREFIX "A", "A", T0, 1000), 1);
	assert_int_equal(take(f->m, BERTH_META_LEASE_PREFIX "B", "B", T0, 1000), 1);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, race_claims, &r[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(r[0].rc, 0);
	assert_int_equal(r[1].rc, 0);
	assert_int_equal(r[0].got.n + r[1].got.n, 120);
	for (int i = 0; i < 2; i++)
		for (int k = 0; k < r[i].got.n; k++) {
			int64_t id = r[i].got.ids[k];

			assert_true(id >= 1 && id <= 120);
			assert_int_equal(seen[id], 0);
			seen[id] = 1;
		}
	berth_meta_free(r[1].m);
}

static int note_exec(void *ctx, const berth_meta_repl_exec *e)
{
	claimed *c = ctx;

	c->ids[c->n++] = e->id;
	return 0;
}

static void executions_of_a_stopped_process_are_interrupted_once(void **state)
{
	meta_fixture *f = *state;
	berth_meta *b = second_handle(f);
	claimed o = {{0}, 0};
	int64_t held = 0, legacy = 0;
	int won = -1;

	assert_int_equal(berth_meta_repl_exec_start(f->m, "r", "manual", T0, &held), 0);
	assert_int_equal(berth_meta_repl_exec_hold(f->m, held, "A"), 0);
	assert_int_equal(berth_meta_repl_exec_start(f->m, "r", "manual", T0, &legacy), 0);
	assert_int_equal(berth_meta_repl_exec_hold(f->m, 9999, "A"), BERTH_ENOTFOUND);
	assert_int_equal(take(f->m, BERTH_META_LEASE_PREFIX "A", "A", T0, 10), 1);
	/* A runs: only the execution nobody holds is orphaned. */
	assert_int_equal(berth_meta_repl_execs_orphaned(b, T0 + 5, note_exec, &o), 0);
	assert_int_equal(o.n, 1);
	assert_int_equal(o.ids[0], legacy);
	/* A stopped. */
	o.n = 0;
	assert_int_equal(berth_meta_repl_execs_orphaned(b, T0 + 10, note_exec, &o), 0);
	assert_int_equal(o.n, 2);
	assert_int_equal(berth_meta_repl_exec_interrupt(b, held, T0 + 10, "{}", &won), 0);
	assert_int_equal(won, 1);
	assert_int_equal(berth_meta_repl_exec_interrupt(f->m, held, T0 + 10, "{}", &won), 0);
	assert_int_equal(won, 0);
	o.n = 0;
	assert_int_equal(berth_meta_repl_execs_orphaned(b, T0 + 10, note_exec, &o), 0);
	assert_int_equal(o.n, 1);
	berth_meta_free(b);
}

static void ping_answers(void **state)
{
	meta_fixture *f = *state;

	assert_int_equal(berth_meta_ping(f->m), 0);
}

static int64_t gen_of(berth_meta *m, const char *name)
{
	int64_t v = -1;

	assert_int_equal(berth_meta_generation(m, name, &v), 0);
	return v;
}

/* Each write of the API's rules and registries bumps the replication
 * generation, seen by another handle; a failed write does not. */
static void replication_writes_bump_the_generation(void **state)
{
	meta_fixture *f = *state;
	berth_meta *b = second_handle(f);
	const char *g = BERTH_META_GEN_REPLICATION;
	int64_t v = 0;

	assert_int_equal(gen_of(b, g), 0);
	assert_int_equal(gen_of(b, "never-bumped"), 0);
	assert_int_equal(berth_meta_repl_rule_put(f->m, "r1", "{\"name\":\"r1\"}"), 0);
	assert_int_equal(gen_of(b, g), 1);
	assert_int_equal(berth_meta_repl_registry_put(f->m, "g1", "{\"name\":\"g1\"}", ""), 0);
	assert_int_equal(gen_of(b, g), 2);
	assert_int_equal(berth_meta_repl_rule_delete(b, "r1"), 0);
	assert_int_equal(berth_meta_repl_registry_delete(b, "g1"), 0);
	assert_int_equal(gen_of(f->m, g), 4);
	assert_int_equal(berth_meta_repl_rule_delete(b, "r1"), BERTH_ENOTFOUND);
	assert_int_equal(gen_of(f->m, g), 4);
	/* the policy generation is another row */
	assert_int_equal(gen_of(f->m, "policy"), 0);
	assert_int_equal(berth_meta_generation(f->m, "", &v), BERTH_EINVALID);
	berth_meta_free(b);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, meta_setup, meta_teardown)
	const struct CMUnitTest tests[] = {
		T(lease_has_one_holder_until_it_expires),
		T(lease_release_frees_only_the_holders_lease),
		T(lease_arguments_are_checked),
		T(scheduled_firing_is_claimed_once),
		T(events_go_to_one_process_and_return_when_it_stops),
		T(racing_processes_never_claim_one_event_twice),
		T(executions_of_a_stopped_process_are_interrupted_once),
		T(ping_answers),
		T(replication_writes_bump_the_generation),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
