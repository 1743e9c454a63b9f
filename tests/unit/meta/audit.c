/*
 * audit.c - the audit log: records come back newest first with every field,
 * paging by "before id" with a limit walks the whole log exactly once,
 * absent optional fields list as "", caps are enforced, and 8 threads (over
 * two handles, as two processes would) append at once without an error or a
 * lost or duplicated record.
 */
#include "meta_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

typedef struct rec {
	int64_t id;
	long long time;
	char who[64], action[32], resource[128], address[64], result[32];
} rec;

typedef struct recs {
	rec r[1024];
	int n;
	int stop_after;
} recs;

static int audit_cb(void *ctx, const berth_meta_audit *e)
{
	recs *s = ctx;
	rec *r;

	assert_true(s->n < (int)(sizeof(s->r) / sizeof(s->r[0])));
	r = &s->r[s->n++];
	r->id = e->id;
	r->time = (long long)e->time;
	snprintf(r->who, sizeof(r->who), "%s", e->who);
	snprintf(r->action, sizeof(r->action), "%s", e->action);
	snprintf(r->resource, sizeof(r->resource), "%s", e->resource);
	snprintf(r->address, sizeof(r->address), "%s", e->address);
	snprintf(r->result, sizeof(r->result), "%s", e->result);
	return s->stop_after && s->n == s->stop_after ? 1 : 0;
}

static void add(berth_meta *m, time_t t, const char *who, const char *action, const char *res)
{
	berth_meta_audit e = {
		.time = t,
		.who = who,
		.action = action,
		.resource = res,
		.address = "192.0.2.7",
		.result = "ok",
	};

	assert_int_equal(berth_meta_audit_add(m, &e), 0);
}

static void records_list_newest_first_with_all_fields(void **state)
{
	meta_fixture *f = *state;
	static recs s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(berth_meta_audit_list(f->m, 0, 10, audit_cb, &s), 0);
	assert_int_equal(s.n, 0);
	add(f->m, 1000, "alice", "push", "team/app:v1");
	add(f->m, 1001, "robot$ci", "pull", "team/app@sha256:00");
	add(f->m, 1002, "anonymous", "login_failure", "");
	assert_int_equal(berth_meta_audit_list(f->m, 0, -1, audit_cb, &s), 0);
	assert_int_equal(s.n, 3);
	assert_true(s.r[0].id > s.r[1].id && s.r[1].id > s.r[2].id);
	assert_string_equal(s.r[0].who, "anonymous");
	assert_string_equal(s.r[0].action, "login_failure");
	assert_int_equal(s.r[0].time, 1002);
	assert_string_equal(s.r[1].who, "robot$ci");
	assert_string_equal(s.r[1].resource, "team/app@sha256:00");
	assert_string_equal(s.r[2].who, "alice");
	assert_string_equal(s.r[2].action, "push");
	assert_string_equal(s.r[2].resource, "team/app:v1");
	assert_string_equal(s.r[2].address, "192.0.2.7");
	assert_string_equal(s.r[2].result, "ok");
	assert_int_equal(s.r[2].time, 1000);
}

static void optional_fields_and_time_default(void **state)
{
	meta_fixture *f = *state;
	static recs s;
	berth_meta_audit e = {.who = "admin", .action = "user_create"};
	time_t before = time(NULL);

	memset(&s, 0, sizeof(s));
	assert_int_equal(berth_meta_audit_add(f->m, &e), 0);
	assert_int_equal(berth_meta_audit_list(f->m, 0, 1, audit_cb, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.r[0].resource, "");
	assert_string_equal(s.r[0].address, "");
	assert_string_equal(s.r[0].result, "");
	assert_true(s.r[0].time >= before && s.r[0].time <= time(NULL));
}

static void paging_by_before_id_walks_everything_once(void **state)
{
	meta_fixture *f = *state;
	static recs page, all;
	int64_t before = 0;
	int pages = 0, total = 0;
	char res[32];

	memset(&all, 0, sizeof(all));
	for (int i = 0; i < 23; i++) {
		snprintf(res, sizeof(res), "r%d", i);
		add(f->m, 2000 + i, "alice", "push", res);
	}
	for (;;) {
		memset(&page, 0, sizeof(page));
		assert_int_equal(berth_meta_audit_list(f->m, before, 5, audit_cb, &page), 0);
		if (!page.n)
			break;
		assert_true(page.n <= 5);
		for (int i = 0; i < page.n; i++) {
			/* Newest first: r22 first, r0 last; ids strictly decreasing. */
			snprintf(res, sizeof(res), "r%d", 22 - total);
			assert_string_equal(page.r[i].resource, res);
			if (total)
				assert_true(page.r[i].id < before || i > 0);
			if (i)
				assert_true(page.r[i].id < page.r[i - 1].id);
			total++;
		}
		before = page.r[page.n - 1].id;
		pages++;
	}
	assert_int_equal(total, 23);
	assert_int_equal(pages, 5);
	/* Limit 0 lists nothing; a callback stop ends early with success. */
	memset(&page, 0, sizeof(page));
	assert_int_equal(berth_meta_audit_list(f->m, 0, 0, audit_cb, &page), 0);
	assert_int_equal(page.n, 0);
	page.stop_after = 2;
	assert_int_equal(berth_meta_audit_list(f->m, 0, -1, audit_cb, &page), 0);
	assert_int_equal(page.n, 2);
	/* before_id of the oldest record: nothing below it. */
	memset(&all, 0, sizeof(all));
	assert_int_equal(berth_meta_audit_list(f->m, 0, -1, audit_cb, &all), 0);
	memset(&page, 0, sizeof(page));
	assert_int_equal(berth_meta_audit_list(f->m, all.r[all.n - 1].id, -1, audit_cb, &page), 0);
	assert_int_equal(page.n, 0);
}

static void audit_caps_are_enforced(void **state)
{
	meta_fixture *f = *state;
	static char big[5000];
	berth_meta_audit e = {.who = "alice", .action = "push", .resource = "x"};

	memset(big, 'r', sizeof(big) - 1);
	assert_int_equal(berth_meta_audit_add(f->m, &e), 0);
	e.resource = big;
	assert_int_equal(berth_meta_audit_add(f->m, &e), BERTH_EINVALID);
	e.resource = "x";
	e.who = "";
	assert_int_equal(berth_meta_audit_add(f->m, &e), BERTH_EINVALID);
	e.who = "alice";
	e.action = NULL;
	assert_int_equal(berth_meta_audit_add(f->m, &e), BERTH_EINVALID);
	e.action = "push";
	e.address = big;
	assert_int_equal(berth_meta_audit_add(f->m, &e), BERTH_EINVALID);
	big[4096] = '\0';
	e.address = NULL;
	e.resource = big; /* exactly at the cap */
	assert_int_equal(berth_meta_audit_add(f->m, &e), 0);
}

#define NTHREADS 8
#define PER_THREAD 50

typedef struct worker {
	berth_meta *m;
	int index;
	atomic_int *failures;
	char first_error[256];
} worker;

static void *append(void *arg)
{
	worker *w = arg;
	char who[32], res[32];

	snprintf(who, sizeof(who), "user%d", w->index);
	for (int i = 0; i < PER_THREAD; i++) {
		berth_meta_audit e = {
			.time = 5000 + i,
			.who = who,
			.action = "push",
			.resource = res,
			.address = "::1",
			.result = "ok",
		};
		int rc;

		snprintf(res, sizeof(res), "%d", i);
		if ((rc = berth_meta_audit_add(w->m, &e)) != 0 &&
		    atomic_fetch_add(w->failures, 1) == 0)
			snprintf(w->first_error, sizeof(w->first_error), "%s (%s)",
				 berth_error_name(rc), berth_error_last());
	}
	return NULL;
}

static void concurrent_inserts_lose_nothing(void **state)
{
	meta_fixture *f = *state;
	static recs s;
	berth_meta *second = NULL;
	pthread_t th[NTHREADS];
	worker w[NTHREADS];
	atomic_int failures = 0;
	int seen[NTHREADS][PER_THREAD] = {{0}};

	memset(&s, 0, sizeof(s));
	assert_int_equal(berth_meta_open(&second, f->path), 0);
	for (int i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].m = i % 2 ? second : f->m;
		w[i].index = i;
		w[i].failures = &failures;
		assert_int_equal(pthread_create(&th[i], NULL, append, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		if (w[i].first_error[0])
			fprintf(stderr, "thread %d: %s\n", i, w[i].first_error);
	}
	assert_int_equal(atomic_load(&failures), 0);
	berth_meta_free(second);

	assert_int_equal(berth_meta_audit_list(f->m, 0, -1, audit_cb, &s), 0);
	assert_int_equal(s.n, NTHREADS * PER_THREAD);
	for (int i = 0; i < s.n; i++) {
		int t = -1, k = atoi(s.r[i].resource);

		assert_int_equal(sscanf(s.r[i].who, "user%d", &t), 1);
		assert_true(t >= 0 && t < NTHREADS && k >= 0 && k < PER_THREAD);
		assert_int_equal(s.r[i].time, 5000 + k);
		seen[t][k]++;
		if (i)
			assert_true(s.r[i].id < s.r[i - 1].id);
	}
	for (int t = 0; t < NTHREADS; t++)
		for (int k = 0; k < PER_THREAD; k++)
			assert_int_equal(seen[t][k], 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, meta_setup, meta_teardown)
	const struct CMUnitTest tests[] = {
		T(records_list_newest_first_with_all_fields), T(optional_fields_and_time_default),
		T(paging_by_before_id_walks_everything_once), T(audit_caps_are_enforced),
		T(concurrent_inserts_lose_nothing),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
