/*
 * uploads.c - unit tests of upload sessions in the fs store: create, write,
 * commit (right and wrong digest, sha512), resume through the in-process
 * hash cache and after a restart, exclusive locking (threads and processes),
 * id validation, delete and purge.
 */
#include "store_test.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BIG (3u << 20) /* crosses the 1 MiB rehash chunk */

static char *big_data(uint32_t seed)
{
	char *p = malloc(BIG);

	assert_non_null(p);
	fill_bytes(p, BIG, seed);
	return p;
}

static int uploads_count(store_fixture *f)
{
	char up[128];

	snprintf(up, sizeof(up), "%s/uploads", f->dir);
	return dir_entries(up);
}

static void set_started(store_fixture *f, const char *id, long long t)
{
	char path[256], text[32];
	int n = snprintf(text, sizeof(text), "%lld\n", t);

	snprintf(path, sizeof(path), "%s/uploads/%s/startedat", f->dir, id);
	assert_int_equal(berth_fs_write_atomic(path, text, (size_t)n), 0);
}

static void verify_blob(berth_store *s, const berth_digest *d, const void *data, size_t len)
{
	berth_buf b = BERTH_BUF_INIT(len + 1);

	assert_int_equal(berth_store_read_blob(s, d, &b), 0);
	assert_int_equal(b.len, len);
	assert_memory_equal(b.ptr, data, len);
	berth_buf_dispose(&b);
}

static void create_write_commit_stores_blob(void **state)
{
	store_fixture *f = *state;
	char id[BERTH_UPLOAD_ID_MAX];
	char *data = big_data(1);
	berth_digest d = digest_of(BERTH_DIGEST_SHA256, data, BIG);
	berth_upload *u = NULL;
	uint64_t size = 0;

	assert_int_equal(berth_store_upload_create(f->s, id), 0);
	assert_true(berth_store_upload_id_valid(id));
	assert_true(path_exists("%s/uploads/%s/data", f->dir, id));
	assert_true(path_exists("%s/uploads/%s/startedat", f->dir, id));
	assert_int_equal(berth_store_upload_size(f->s, id, &size), 0);
	assert_int_equal(size, 0);

	assert_int_equal(berth_store_upload_open(&u, f->s, id), 0);
	assert_string_equal(berth_upload_id(u), id);
	assert_int_equal(berth_upload_offset(u), 0);
	assert_int_equal(berth_upload_write(u, data, 1000), 0);
	assert_int_equal(berth_upload_write(u, data + 1000, BIG - 1000), 0);
	assert_int_equal(berth_upload_offset(u), BIG);
	assert_int_equal(berth_upload_sync(u), 0);
	assert_int_equal(berth_store_upload_size(f->s, id, &size), 0);
	assert_int_equal(size, BIG);

	/* Not visible as a blob before commit. */
	assert_int_equal(berth_store_stat(f->s, &d, &size), BERTH_ENOTFOUND);
	size = 0;
	assert_int_equal(berth_upload_commit(u, &d, &size), 0);
	assert_int_equal(size, BIG);

	verify_blob(f->s, &d, data, BIG);
	assert_int_equal(uploads_count(f), 0);
	assert_int_equal(berth_store_upload_size(f->s, id, &size), BERTH_ENOTFOUND);
	assert_int_equal(berth_store_upload_open(&u, f->s, id), BERTH_ENOTFOUND);
	assert_null(u);
	free(data);
}

static void commit_with_wrong_digest_deletes_upload(void **state)
{
	store_fixture *f = *state;
	char id[BERTH_UPLOAD_ID_MAX];
	berth_digest wrong = digest_of(BERTH_DIGEST_SHA256, "something else", 14);
	berth_digest right = digest_of(BERTH_DIGEST_SHA256, "payload", 7);
	berth_upload *u = NULL;
	uint64_t size;

	assert_int_equal(berth_store_upload_create(f->s, id), 0);
	assert_int_equal(berth_store_upload_open(&u, f->s, id), 0);
	assert_int_equal(berth_upload_write(u, "payload", 7), 0);
	assert_int_equal(berth_upload_commit(u, &wrong, &size), BERTH_EDIGEST);
	/* The message names both digests. */
	assert_non_null(strstr(berth_error_last(), wrong.str));
	assert_non_null(strstr(berth_error_last(), right.str));

	assert_int_equal(berth_store_stat(f->s, &wrong, &size), BERTH_ENOTFOUND);
	assert_int_equal(berth_store_stat(f->s, &right, &size), BERTH_ENOTFOUND);
	assert_int_equal(berth_store_upload_size(f->s, id, &size), BERTH_ENOTFOUND);
	assert_int_equal(uploads_count(f), 0);
}

static void commit_with_sha512_digest(void **state)
{
	store_fixture *f = *state;
	char id[BERTH_UPLOAD_ID_MAX];
	char *data = big_data(2);
	berth_digest d = digest_of(BERTH_DIGEST_SHA512, data, BIG);
	berth_digest wrong = digest_of(BERTH_DIGEST_SHA512, data, BIG - 1);
	berth_upload *u = NULL;
	uint64_t size = 0;

	assert_int_equal(berth_store_upload_create(f->s, id), 0);
	assert_int_equal(berth_store_upload_open(&u, f->s, id), 0);
	assert_int_equal(berth_upload_write(u, data, BIG), 0);
	assert_int_equal(berth_upload_commit(u, &d, &size), 0);
	assert_int_equal(size, BIG);
	verify_blob(f->s, &d, data, BIG);

	/* And a sha512 mismatch is caught too. */
	assert_int_equal(berth_store_upload_create(f->s, id), 0);
	assert_int_equal(berth_store_upload_open(&u, f->s, id), 0);
	assert_int_equal(berth_upload_write(u, data, BIG), 0);
	assert_int_equal(berth_upload_commit(u, &wrong, &size), BERTH_EDIGEST);
	assert_int_equal(uploads_count(f), 0);
	free(data);
}

static void resume_after_close_uses_cached_hash(void **state)
{
	store_fixture *f = *state;
	char id[BERTH_UPLOAD_ID_MAX];
	char *data = big_data(3);
	berth_digest d = digest_of(BERTH_DIGEST_SHA256, data, BIG);
	berth_upload *u = NULL;
	berth_store_stats st;

	assert_int_equal(berth_store_upload_create(f->s, id), 0);
	assert_int_equal(berth_store_upload_open(&u, f->s, id), 0);
	assert_int_equal(berth_upload_write(u, data, BIG / 2), 0);
	berth_upload_close(u);

	assert_int_equal(berth_store_upload_open(&u, f->s, id), 0);
	assert_int_equal(berth_upload_offset(u), BIG / 2);
	berth_store_get_stats(f->s, &st);
	assert_int_equal(st.hash_resumed, 1);
	assert_int_equal(st.bytes_rehashed, 0);
	assert_int_equal(berth_upload_write(u, data + BIG / 2, BIG - BIG / 2), 0);
	assert_int_equal(berth_upload_commit(u, &d, NULL), 0);
	verify_blob(f->s, &d, data, BIG);
	free(data);
}

static void resume_after_restart_recomputes_hash(void **state)
{
	store_fixture *f = *state;
	char id[BERTH_UPLOAD_ID_MAX];
	char *data = big_data(4);
	berth_digest d = digest_of(BERTH_DIGEST_SHA256, data, BIG);
	berth_upload *u = NULL;
	berth_store *fresh = NULL;
	berth_store_stats st;

	assert_int_equal(berth_store_upload_create(f->s, id), 0);
	assert_int_equal(berth_store_upload_open(&u, f->s, id), 0);
	assert_int_equal(berth_upload_write(u, data, BIG / 3), 0);
	assert_int_equal(berth_upload_sync(u), 0);
	berth_upload_close(u);

	/* A new store object has an empty cache, like a restarted server. */
	assert_int_equal(berth_store_open(&fresh, f->dir), 0);
	assert_int_equal(berth_store_upload_open(&u, fresh, id), 0);
	assert_int_equal(berth_upload_offset(u), BIG / 3);
	berth_store_get_stats(fresh, &st);
	assert_int_equal(st.hash_resumed, 0);
	assert_int_equal(st.hash_recomputed, 1);
	assert_int_equal(st.bytes_rehashed, BIG / 3);
	assert_int_equal(berth_upload_write(u, data + BIG / 3, BIG - BIG / 3), 0);
	assert_int_equal(berth_upload_commit(u, &d, NULL), 0);
	verify_blob(fresh, &d, data, BIG);
	verify_blob(f->s, &d, data, BIG);
	berth_store_free(fresh);
	free(data);
}

static void stale_cached_hash_is_not_trusted(void **state)
{
	store_fixture *f = *state;
	char id[BERTH_UPLOAD_ID_MAX];
	char *data = big_data(5);
	berth_digest d = digest_of(BERTH_DIGEST_SHA256, data, BIG);
	berth_upload *u = NULL;
	berth_store *other = NULL;
	berth_store_stats st;

	/* f->s caches a hasher for the first third... */
	assert_int_equal(berth_store_upload_create(f->s, id), 0);
	assert_int_equal(berth_store_upload_open(&u, f->s, id), 0);
	assert_int_equal(berth_upload_write(u, data, BIG / 3), 0);
	berth_upload_close(u);
	/* ...then another process (store object) appends the second third... */
	assert_int_equal(berth_store_open(&other, f->dir), 0);
	assert_int_equal(berth_store_upload_open(&u, other, id), 0);
	assert_int_equal(berth_upload_write(u, data + BIG / 3, BIG / 3), 0);
	berth_upload_close(u);
	berth_store_free(other);
	/* ...so f->s must not resume from its now stale hasher. */
	assert_int_equal(berth_store_upload_open(&u, f->s, id), 0);
	assert_int_equal(berth_upload_offset(u), 2 * (BIG / 3));
	berth_store_get_stats(f->s, &st);
	assert_int_equal(st.hash_resumed, 0);
	assert_int_equal(st.hash_recomputed, 1);
	assert_int_equal(berth_upload_write(u, data + 2 * (BIG / 3), BIG - 2 * (BIG / 3)), 0);
	assert_int_equal(berth_upload_commit(u, &d, NULL), 0);
	verify_blob(f->s, &d, data, BIG);
	free(data);
}

static void second_open_of_same_upload_is_busy(void **state)
{
	store_fixture *f = *state;
	char id[BERTH_UPLOAD_ID_MAX];
	berth_upload *u = NULL, *u2 = NULL;
	berth_store *other = NULL;

	assert_int_equal(berth_store_upload_create(f->s, id), 0);
	assert_int_equal(berth_store_upload_open(&u, f->s, id), 0);
	assert_int_equal(berth_store_upload_open(&u2, f->s, id), BERTH_EBUSY);
	assert_null(u2);
	assert_int_equal(berth_store_open(&other, f->dir), 0);
	assert_int_equal(berth_store_upload_open(&u2, other, id), BERTH_EBUSY);
	assert_int_equal(berth_store_upload_delete(f->s, id), BERTH_EBUSY);
	berth_upload_close(u);
	/* Free again once closed. */
	assert_int_equal(berth_store_upload_open(&u2, other, id), 0);
	berth_upload_close(u2);
	berth_store_free(other);
}

static void lock_holds_across_processes(void **state)
{
	store_fixture *f = *state;
	char id[BERTH_UPLOAD_ID_MAX];
	berth_upload *u = NULL;
	int status = 0;
	pid_t pid;

	assert_int_equal(berth_store_upload_create(f->s, id), 0);
	assert_int_equal(berth_store_upload_open(&u, f->s, id), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		berth_store *s = NULL;
		berth_upload *u2 = NULL;
		int rc;

		if (berth_store_open(&s, f->dir) != 0)
			_exit(2);
		rc = berth_store_upload_open(&u2, s, id);
		_exit(rc == BERTH_EBUSY ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	berth_upload_close(u);
}

static void invalid_ids_are_rejected(void **state)
{
	store_fixture *f = *state;
	static const char *const bad[] = {
		"../x",
		"",
		"x",
		"../../../../etc/passwd",
		"0123ABCD-0123-4123-8123-0123456789ab",	   /* uppercase */
		"0123abcd-0123-4123-8123-0123456789ab/..", /* too long */
		"0123abcd-0123-4123-8123-0123456789a",	   /* too short */
		"0123abcd_0123-4123-8123-0123456789ab",	   /* wrong separator */
		"0123abcd-0123-4123-8123-0123456789ag",	   /* not hex */
		"../abcd-0123-4123-8123-0123456789abcd",
	};
	berth_upload *u = NULL;
	uint64_t size;

	assert_true(berth_store_upload_id_valid("0123abcd-0123-4123-8123-0123456789ab"));
	assert_false(berth_store_upload_id_valid(NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(berth_store_upload_id_valid(bad[i]));
		assert_int_equal(berth_store_upload_open(&u, f->s, bad[i]), BERTH_EINVALID);
		assert_null(u);
		assert_int_equal(berth_store_upload_size(f->s, bad[i], &size), BERTH_EINVALID);
		assert_int_equal(berth_store_upload_delete(f->s, bad[i]), BERTH_EINVALID);
	}
	/* Well-formed but unknown. */
	assert_int_equal(berth_store_upload_open(&u, f->s, "0123abcd-0123-4123-8123-0123456789ab"),
			 BERTH_ENOTFOUND);
}

static void created_ids_are_distinct_uuid_v4(void **state)
{
	store_fixture *f = *state;
	char a[BERTH_UPLOAD_ID_MAX], b[BERTH_UPLOAD_ID_MAX];

	assert_int_equal(berth_store_upload_create(f->s, a), 0);
	assert_int_equal(berth_store_upload_create(f->s, b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(strlen(a), 36);
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89ab", a[19]));
	assert_int_equal(uploads_count(f), 2);
}

static void delete_removes_upload(void **state)
{
	store_fixture *f = *state;
	char id[BERTH_UPLOAD_ID_MAX];
	berth_upload *u = NULL;
	uint64_t size;

	assert_int_equal(berth_store_upload_create(f->s, id), 0);
	assert_int_equal(berth_store_upload_open(&u, f->s, id), 0);
	assert_int_equal(berth_upload_write(u, "abc", 3), 0);
	berth_upload_close(u);
	assert_int_equal(berth_store_upload_delete(f->s, id), 0);
	assert_int_equal(berth_store_upload_size(f->s, id, &size), BERTH_ENOTFOUND);
	assert_int_equal(berth_store_upload_delete(f->s, id), BERTH_ENOTFOUND);
	assert_int_equal(uploads_count(f), 0);
}

static void purge_removes_only_old_unlocked_uploads(void **state)
{
	store_fixture *f = *state;
	char old_free[BERTH_UPLOAD_ID_MAX], old_held[BERTH_UPLOAD_ID_MAX];
	char young[BERTH_UPLOAD_ID_MAX];
	berth_upload *u = NULL;
	time_t now = time(NULL);
	uint64_t size;
	int purged = -1;

	assert_int_equal(berth_store_upload_create(f->s, old_free), 0);
	assert_int_equal(berth_store_upload_create(f->s, old_held), 0);
	assert_int_equal(berth_store_upload_create(f->s, young), 0);
	set_started(f, old_free, (long long)now - 7200);
	set_started(f, old_held, (long long)now - 7200);
	assert_int_equal(berth_store_upload_open(&u, f->s, old_held), 0);

	assert_int_equal(berth_store_upload_purge(f->s, now - 3600, &purged), 0);
	assert_int_equal(purged, 1);
	assert_int_equal(berth_store_upload_size(f->s, old_free, &size), BERTH_ENOTFOUND);
	assert_int_equal(berth_store_upload_size(f->s, old_held, &size), 0);
	assert_int_equal(berth_store_upload_size(f->s, young, &size), 0);

	/* The holder can still finish its upload. */
	assert_int_equal(berth_upload_write(u, "abc", 3), 0);
	{
		berth_digest d = digest_of(BERTH_DIGEST_SHA256, "abc", 3);

		assert_int_equal(berth_upload_commit(u, &d, NULL), 0);
	}
	assert_int_equal(berth_store_upload_purge(f->s, now - 3600, NULL), 0);
	assert_int_equal(berth_store_upload_size(f->s, young, &size), 0);
	assert_int_equal(uploads_count(f), 1);
}

static void commit_of_existing_blob_keeps_it(void **state)
{
	store_fixture *f = *state;
	char id[BERTH_UPLOAD_ID_MAX];
	berth_digest d = digest_of(BERTH_DIGEST_SHA256, "same", 4);
	berth_upload *u = NULL;
	uint64_t size = 0;
	struct stat before, after;
	char path[256];

	assert_int_equal(berth_store_put(f->s, &d, "same", 4), 0);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%.2s/%s", f->dir, berth_digest_hex(&d),
		 berth_digest_hex(&d));
	assert_int_equal(stat(path, &before), 0);

	assert_int_equal(berth_store_upload_create(f->s, id), 0);
	assert_int_equal(berth_store_upload_open(&u, f->s, id), 0);
	assert_int_equal(berth_upload_write(u, "same", 4), 0);
	assert_int_equal(berth_upload_commit(u, &d, &size), 0);
	assert_int_equal(size, 4);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino); /* kept, not replaced */
	assert_int_equal(uploads_count(f), 0);
}

static void resume_of_empty_upload_after_restart(void **state)
{
	store_fixture *f = *state;
	char id[BERTH_UPLOAD_ID_MAX];
	berth_digest d = digest_of(BERTH_DIGEST_SHA256, "", 0);
	berth_store *fresh = NULL;
	berth_upload *u = NULL;

	assert_int_equal(berth_store_upload_create(f->s, id), 0);
	assert_int_equal(berth_store_open(&fresh, f->dir), 0);
	assert_int_equal(berth_store_upload_open(&u, fresh, id), 0);
	assert_int_equal(berth_upload_offset(u), 0);
	assert_int_equal(berth_upload_commit(u, &d, NULL), 0);
	assert_int_equal(berth_store_stat(fresh, &d, NULL), 0);
	berth_store_free(fresh);
}

/*
 * Past 8 MiB written through one open, hashing moves to a background thread
 * that reads the data back: the digest must be the same, a wrong digest must
 * still be caught, and a parked (closed) upload must resume from the
 * thread's state without rehashing.
 */
#define HUGE (20u << 20)

static void write_in_pieces(berth_upload *u, const char *data, size_t len)
{
	for (size_t off = 0; off < len; off += 65536) {
		size_t n = len - off < 65536 ? len - off : 65536;

		assert_int_equal(berth_upload_write(u, data + off, n), 0);
	}
}

/* HUGE bytes from `seed` (caller frees), their sha256 and a fresh upload opened for them. */
static char *huge_upload(store_fixture *f, uint32_t seed, berth_digest *d, berth_upload **u)
{
	char id[BERTH_UPLOAD_ID_MAX];
	char *data = malloc(HUGE);

	assert_non_null(data);
	fill_bytes(data, HUGE, seed);
	*d = digest_of(BERTH_DIGEST_SHA256, data, HUGE);
	assert_int_equal(berth_store_upload_create(f->s, id), 0);
	assert_int_equal(berth_store_upload_open(u, f->s, id), 0);
	return data;
}

static void large_upload_hashed_in_background_commits(void **state)
{
	store_fixture *f = *state;
	berth_digest d;
	berth_upload *u = NULL;
	uint64_t size = 0;
	char *data = huge_upload(f, 77, &d, &u);

	write_in_pieces(u, data, HUGE);
	assert_int_equal(berth_upload_commit(u, &d, &size), 0);
	assert_int_equal(size, HUGE);
	verify_blob(f->s, &d, data, HUGE);
	free(data);
}

static void large_upload_wrong_digest_is_caught(void **state)
{
	store_fixture *f = *state;
	berth_digest d;
	berth_upload *u = NULL;
	char *data = huge_upload(f, 78, &d, &u);

	data[HUGE - 1] ^= 1; /* the last byte differs from what was hashed */
	write_in_pieces(u, data, HUGE);
	assert_int_equal(berth_upload_commit(u, &d, NULL), BERTH_EDIGEST);
	assert_int_equal(berth_store_stat(f->s, &d, NULL), BERTH_ENOTFOUND);
	free(data);
}

static void large_upload_parked_then_resumed(void **state)
{
	store_fixture *f = *state;
	berth_digest d;
	berth_upload *u = NULL;
	berth_store_stats st;
	char *data = huge_upload(f, 79, &d, &u);
	char id[BERTH_UPLOAD_ID_MAX];

	snprintf(id, sizeof(id), "%s", berth_upload_id(u));
	write_in_pieces(u, data, HUGE / 2 + 12345);
	berth_upload_close(u);
	assert_int_equal(berth_store_upload_open(&u, f->s, id), 0);
	berth_store_get_stats(f->s, &st);
	assert_int_equal(st.hash_resumed, 1); /* the background state was parked whole */
	assert_int_equal(berth_upload_offset(u), HUGE / 2 + 12345);
	write_in_pieces(u, data + HUGE / 2 + 12345, HUGE - (HUGE / 2 + 12345));
	assert_int_equal(berth_upload_commit(u, &d, NULL), 0);
	verify_blob(f->s, &d, data, HUGE);
	free(data);
}

/* Hashed by the caller (the mirror's upstream client): committed without a second pass. */
static void caller_hashed_upload_is_not_hashed_again(void **state)
{
	store_fixture *f = *state;
	berth_digest d;
	berth_upload *u = NULL;
	berth_store_stats st;
	uint64_t size = 0;
	char *data = huge_upload(f, 80, &d, &u);

	assert_int_equal(berth_upload_hash_by_caller(u), 0);
	write_in_pieces(u, data, HUGE);
	assert_int_equal(berth_upload_commit_hashed(u, &d, &size), 0);
	assert_int_equal(size, HUGE);
	berth_store_get_stats(f->s, &st);
	assert_int_equal(st.hash_recomputed, 0);
	assert_int_equal(st.bytes_rehashed, 0); /* not read back to hash at commit */
	verify_blob(f->s, &d, data, HUGE);
	free(data);
}

/* A plain commit of an upload hashed by its caller still verifies (from the file). */
static void caller_hashed_upload_plain_commit_verifies(void **state)
{
	store_fixture *f = *state;
	berth_digest d;
	berth_upload *u = NULL;
	berth_store_stats st;
	char *data = huge_upload(f, 81, &d, &u);

	data[HUGE / 2] ^= 1;
	assert_int_equal(berth_upload_hash_by_caller(u), 0);
	write_in_pieces(u, data, HUGE);
	assert_int_equal(berth_upload_commit(u, &d, NULL), BERTH_EDIGEST);
	berth_store_get_stats(f->s, &st);
	assert_int_equal(st.bytes_rehashed, HUGE);
	assert_int_equal(berth_store_stat(f->s, &d, NULL), BERTH_ENOTFOUND);
	free(data);
}

/* Only from the first byte; closed, it parks no hash and is re-hashed when reopened. */
static void caller_hashed_upload_rules(void **state)
{
	store_fixture *f = *state;
	char id[BERTH_UPLOAD_ID_MAX];
	char *data = big_data(82);
	berth_digest d = digest_of(BERTH_DIGEST_SHA256, data, BIG);
	berth_upload *u = NULL;
	berth_store_stats st;

	assert_int_equal(berth_store_upload_create(f->s, id), 0);
	assert_int_equal(berth_store_upload_open(&u, f->s, id), 0);
	assert_int_equal(berth_upload_hash_by_caller(u), 0);
	assert_int_equal(berth_upload_write(u, data, 1000), 0);
	berth_upload_close(u);
	assert_int_equal(berth_store_upload_open(&u, f->s, id), 0);
	berth_store_get_stats(f->s, &st);
	assert_int_equal(st.hash_resumed, 0);
	assert_int_equal(st.hash_recomputed, 1);
	assert_int_equal(berth_upload_hash_by_caller(u), BERTH_EINVALID);
	assert_int_equal(berth_upload_write(u, data + 1000, BIG - 1000), 0);
	/* Not handed over this time: commit_hashed verifies like commit. */
	d.str[strlen(d.str) - 1] = d.str[strlen(d.str) - 1] == '0' ? '1' : '0';
	assert_int_equal(berth_upload_commit_hashed(u, &d, NULL), BERTH_EDIGEST);
	free(data);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, store_setup, store_teardown)
	const struct CMUnitTest tests[] = {
		T(create_write_commit_stores_blob),
		T(commit_with_wrong_digest_deletes_upload),
		T(commit_with_sha512_digest),
		T(resume_after_close_uses_cached_hash),
		T(resume_after_restart_recomputes_hash),
		T(stale_cached_hash_is_not_trusted),
		T(second_open_of_same_upload_is_busy),
		T(lock_holds_across_processes),
		T(invalid_ids_are_rejected),
		T(created_ids_are_distinct_uuid_v4),
		T(delete_removes_upload),
		T(purge_removes_only_old_unlocked_uploads),
		T(commit_of_existing_blob_keeps_it),
		T(resume_of_empty_upload_after_restart),
		T(large_upload_hashed_in_background_commits),
		T(large_upload_wrong_digest_is_caught),
		T(large_upload_parked_then_resumed),
		T(caller_hashed_upload_is_not_hashed_again),
		T(caller_hashed_upload_plain_commit_verifies),
		T(caller_hashed_upload_rules),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
