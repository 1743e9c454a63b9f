/*
 * concurrency.c - 8 threads write and read at once through one shared
 * berth_meta (plus a second handle on the same file, as another process
 * would be) and none of them sees an error; afterwards every write is there.
 */
#include "meta_test.h"

#include <pthread.h>
#include <stdatomic.h>

#define NTHREADS 8
#define ROUNDS 40
#define MT_OCI "application/vnd.oci.image.manifest.v1+json"

typedef struct worker {
	berth_meta *m;
	int index;
	atomic_int *failures;
	char first_error[256];
} worker;

static void note(worker *w, int rc, const char *what)
{
	if (rc == 0)
		return;
	if (atomic_fetch_add(w->failures, 1) == 0 || !w->first_error[0])
		snprintf(w->first_error, sizeof(w->first_error), "%s: %s (%s)", what,
			 berth_error_name(rc), berth_error_last());
}

static void *work(void *arg)
{
	worker *w = arg;
	char repo[64], body[128], tagname[32];
	berth_buf got = BERTH_BUF_INIT(1 << 16);

	snprintf(repo, sizeof(repo), "team/app-%d", w->index);
	for (int r = 0; r < ROUNDS; r++) {
		berth_digest layer, md;
		berth_meta_manifest info;
		berth_meta_manifest_put p = {0};
		names n = {0};
		int rc;

		snprintf(body, sizeof(body), "layer-%d-%d", w->index, r);
		layer = dg(body);
		note(w, berth_meta_blob_link(w->m, repo, &layer, (uint64_t)r), "link");
		note(w, berth_meta_blob_link(w->m, "shared/base", &layer, (uint64_t)r),
		     "link shared");

		snprintf(body, sizeof(body), "{\"t\":%d,\"r\":%d}", w->index, r);
		md = dg(body);
		snprintf(tagname, sizeof(tagname), "v%d", r);
		p.repo = repo;
		p.digest = &md;
		p.media_type = MT_OCI;
		p.body = body;
		p.body_len = strlen(body);
		p.tag = tagname;
		p.refs = &layer;
		p.nrefs = 1;
		note(w, berth_meta_manifest_store(w->m, &p), "store");
		/* Every thread moves the same tag in the shared repo. */
		p.repo = "shared/base";
		p.tag = "latest";
		note(w, berth_meta_manifest_store(w->m, &p), "store shared");

		berth_buf_reset(&got);
		rc = berth_meta_manifest_get(w->m, repo, tagname, &info, &got);
		note(w, rc, "get");
		if (rc == 0 && (got.len != strlen(body) || memcmp(got.ptr, body, got.len) != 0))
			note(w, BERTH_EIO, "get returned other bytes");
		note(w, berth_meta_manifest_get(w->m, "shared/base", "latest", &info, NULL),
		     "get shared");
		note(w, berth_meta_blob_linked(w->m, "shared/base", &layer, NULL), "linked");
		note(w, berth_meta_tags(w->m, repo, NULL, 10, names_cb, &n, NULL), "tags");
		if (r % 4 == 0)
			note(w, berth_meta_tag_delete(w->m, repo, tagname), "tag delete");
	}
	berth_buf_dispose(&got);
	return NULL;
}

static void threads_write_and_read_without_errors(void **state)
{
	meta_fixture *f = *state;
	berth_meta *second = NULL;
	pthread_t th[NTHREADS];
	worker w[NTHREADS];
	atomic_int failures = 0;
	names cat = {0};

	assert_int_equal(berth_meta_open(&second, f->path), 0);
	for (int i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].m = i % 2 ? second : f->m;
		w[i].index = i;
		w[i].failures = &failures;
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		if (w[i].first_error[0])
			fprintf(stderr, "thread %d: %s\n", i, w[i].first_error);
	}
	assert_int_equal(atomic_load(&failures), 0);
	berth_meta_free(second);

	/* Every thread's repository is listed, and each kept 3 of every 4 tags. */
	assert_int_equal(berth_meta_catalog(f->m, NULL, -1, names_cb, &cat, NULL), 0);
	assert_int_equal(cat.count, NTHREADS + 1);
	for (int i = 0; i < NTHREADS; i++) {
		char repo[64];
		names t = {0};

		snprintf(repo, sizeof(repo), "team/app-%d", i);
		assert_int_equal(berth_meta_tags(f->m, repo, NULL, -1, names_cb, &t, NULL), 0);
		assert_int_equal(t.count, ROUNDS - ROUNDS / 4);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(threads_write_and_read_without_errors, meta_setup,
						meta_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
