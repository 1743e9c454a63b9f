/*
 * concurrency.c - unit tests of the store under many threads: uploads and
 * puts of distinct and identical blobs committed at once, and threads taking
 * turns on one upload through its lock and the hash cache.
 */
#include "store_test.h"

#include <pthread.h>

#define THREADS 16
#define BLOB_LEN (256u * 1024 + 17)
#define CHUNK 65536

typedef struct worker {
	berth_store *s;
	int index;
	int rc; /* 0 if every step succeeded */
	char *unique;
	berth_digest unique_d;
} worker;

static char *shared_data;
static berth_digest shared_d;

/* Upload `data` in chunks, closing and reopening between chunks. */
static int upload_blob(berth_store *s, const char *data, size_t len, const berth_digest *d)
{
	char id[BERTH_UPLOAD_ID_MAX];
	berth_upload *u = NULL;
	size_t off = 0;

	if (berth_store_upload_create(s, id) != 0)
		return -1;
	while (off < len) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;

		if (berth_store_upload_open(&u, s, id) != 0)
			return -2;
		if (berth_upload_offset(u) != off || berth_upload_write(u, data + off, n) != 0) {
			berth_upload_close(u);
			return -3;
		}
		off += n;
		if (off < len)
			berth_upload_close(u);
	}
	if (!u && berth_store_upload_open(&u, s, id) != 0)
		return -4;
	return berth_upload_commit(u, d, NULL) == 0 ? 0 : -5;
}

static void *commit_worker(void *arg)
{
	worker *w = arg;

	w->rc = upload_blob(w->s, w->unique, BLOB_LEN, &w->unique_d);
	if (w->rc == 0)
		w->rc = upload_blob(w->s, shared_data, BLOB_LEN, &shared_d);
	if (w->rc == 0 && berth_store_put(w->s, &shared_d, shared_data, BLOB_LEN) != 0)
		w->rc = -6;
	return NULL;
}

static void verify_blob(berth_store *s, const berth_digest *d, const void *data, size_t len)
{
	berth_buf b = BERTH_BUF_INIT(len);
	berth_digest again;

	assert_int_equal(berth_store_read_blob(s, d, &b), 0);
	assert_int_equal(b.len, len);
	assert_memory_equal(b.ptr, data, len);
	again = digest_of(d->algo, b.ptr, b.len);
	assert_true(berth_digest_equal(&again, d));
	berth_buf_dispose(&b);
}

static void threads_commit_distinct_and_identical_blobs(void **state)
{
	store_fixture *f = *state;
	pthread_t tids[THREADS];
	worker w[THREADS];
	char up[128];

	shared_data = malloc(BLOB_LEN);
	assert_non_null(shared_data);
	fill_bytes(shared_data, BLOB_LEN, 999);
	shared_d = digest_of(BERTH_DIGEST_SHA256, shared_data, BLOB_LEN);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (worker){.s = f->s, .index = i, .rc = -100};
		w[i].unique = malloc(BLOB_LEN);
		assert_non_null(w[i].unique);
		fill_bytes(w[i].unique, BLOB_LEN, (uint32_t)i + 1);
		w[i].unique_d = digest_of(BERTH_DIGEST_SHA256, w[i].unique, BLOB_LEN);
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&tids[i], NULL, commit_worker, &w[i]), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(tids[i], NULL), 0);

	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(w[i].rc, 0);
		verify_blob(f->s, &w[i].unique_d, w[i].unique, BLOB_LEN);
		free(w[i].unique);
	}
	verify_blob(f->s, &shared_d, shared_data, BLOB_LEN);
	snprintf(up, sizeof(up), "%s/uploads", f->dir);
	assert_int_equal(dir_entries(up), 0);
	free(shared_data);
}

/* ---- many threads take turns appending to one upload ---- */

#define TURNS 40

typedef struct turn_state {
	berth_store *s;
	const char *id;
	int busy_seen;
	int errors;
	pthread_mutex_t mu;
} turn_state;

static void *turn_worker(void *arg)
{
	turn_state *t = arg;
	int done = 0, busy = 0, errors = 0;

	while (done < TURNS) {
		berth_upload *u = NULL;
		int rc = berth_store_upload_open(&u, t->s, t->id);

		if (rc == BERTH_EBUSY) {
			busy++;
			continue;
		}
		if (rc != 0) {
			errors++;
			break;
		}
		/* Every byte is the same so the order of turns does not matter. */
		if (berth_upload_write(u, "z", 1) != 0)
			errors++;
		berth_upload_close(u);
		done++;
	}
	pthread_mutex_lock(&t->mu);
	t->busy_seen += busy;
	t->errors += errors;
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

static void threads_take_turns_on_one_upload(void **state)
{
	store_fixture *f = *state;
	char id[BERTH_UPLOAD_ID_MAX];
	pthread_t tids[THREADS];
	turn_state t = {.s = f->s, .id = id};
	char expect[THREADS * TURNS];
	berth_digest d;
	berth_upload *u = NULL;
	uint64_t size = 0;

	pthread_mutex_init(&t.mu, NULL);
	assert_int_equal(berth_store_upload_create(f->s, id), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&tids[i], NULL, turn_worker, &t), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(tids[i], NULL), 0);
	assert_int_equal(t.errors, 0);

	memset(expect, 'z', sizeof(expect));
	d = digest_of(BERTH_DIGEST_SHA256, expect, sizeof(expect));
	assert_int_equal(berth_store_upload_open(&u, f->s, id), 0);
	assert_int_equal(berth_upload_offset(u), sizeof(expect));
	assert_int_equal(berth_upload_commit(u, &d, &size), 0);
	assert_int_equal(size, sizeof(expect));
	pthread_mutex_destroy(&t.mu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(threads_commit_distinct_and_identical_blobs,
						store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(threads_take_turns_on_one_upload, store_setup,
						store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
