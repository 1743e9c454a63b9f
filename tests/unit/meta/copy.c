/*
 * copy.c - berth_meta_copy / berth_meta_verify: a SQLite database with a row
 * in every table is copied into the fixture's database (SQLite, or
 * PostgreSQL in the @postgres run) and back into a second SQLite file; every
 * table of the SQLite schema must be carried (the list is read from
 * sqlite_master, so a table added later without a way across fails here),
 * with equal row counts and content sums, and the API must read the same
 * things on the far side. A target with data is refused untouched, and an
 * interrupted copy leaves the target without rows.
 */
#include "meta_test.h"

#include <time.h>

#define T0 1700000000

/* One row (at least) in every table of the schema, through the API. */
static void populate(berth_meta *m)
{
	berth_digest layer = dg("layer"), config = dg("config"), sig = dg("sig");
	berth_digest man = dg("manifest body"), refs[2] = {layer, config};
	const char *body = "{\"schemaVersion\":2}";
	const char *sigbody = "{\"schemaVersion\":2,\"subject\":1}";
	berth_meta_manifest_put p = {.repo = "team/app",
				     .digest = &man,
				     .media_type = "application/vnd.oci.image.manifest.v1+json",
				     .body = body,
				     .body_len = strlen(body),
				     .tag = "v1",
				     .refs = refs,
				     .nrefs = 2};
	berth_meta_manifest_put s = {.repo = "team/app",
				     .digest = &sig,
				     .media_type = "application/vnd.oci.image.manifest.v1+json",
				     .artifact_type = "application/vnd.dev.cosign",
				     .annotations = "{\"a\":\"b\"}",
				     .body = sigbody,
				     .body_len = strlen(sigbody),
				     .subject = &man};
	berth_meta_audit a = {0, T0, "admin", "push", "team/app:v1", "127.0.0.1", "ok"};
	berth_meta_repl_result r = {0, "team/app:v1", "", "copied", "", T0};
	berth_meta_repl_event e = {0, "nightly", "team/app", "v1", 0, T0};
	int64_t uid = 0, gone = 0, exec = 0;
	int won = 0;

	assert_int_equal(berth_meta_blob_link(m, "team/app", &layer, 1234), 0);
	assert_int_equal(berth_meta_blob_link(m, "team/app", &config, 56), 0);
	assert_int_equal(berth_meta_manifest_store(m, &p), 0);
	assert_int_equal(berth_meta_manifest_store(m, &s), 0);
	assert_int_equal(berth_meta_upload_create(m, "up-1", "team/app", T0, "alice"), 0);
	assert_int_equal(berth_meta_user_create(m, "alice", "$2y$hash1", 1, &uid), 0);
	/* the highest id handed out is gone: the far side must not hand it out again */
	assert_int_equal(berth_meta_user_create(m, "gone", "$2y$hash0", 0, &gone), 0);
	assert_int_equal(berth_meta_user_delete(m, "gone"), 0);
	assert_true(gone > uid);
	assert_int_equal(berth_meta_project_create(m, "team", 1), 0);
	assert_int_equal(berth_meta_member_set(m, "team", "alice", 2), 0);
	assert_int_equal(berth_meta_project_set_signature_keys(m, "team", "-----BEGIN KEY-----"),
			 0);
	assert_int_equal(berth_meta_robot_create(m, "ci", "$2y$robot", 0, "[\"push\"]"), 0);
	assert_int_equal(berth_meta_audit_add(m, &a), 0);
	assert_int_equal(berth_meta_login_failure_add(m, "user:bob", time(NULL)), 0);
	assert_int_equal(berth_meta_repl_rule_put(m, "nightly", "{\"name\":\"nightly\"}"), 0);
	assert_int_equal(berth_meta_repl_registry_put(m, "hub", "{\"url\":\"x\"}", "secret"), 0);
	assert_int_equal(berth_meta_repl_exec_start(m, "nightly", "manual", T0, &exec), 0);
	r.exec_id = exec;
	assert_int_equal(berth_meta_repl_result_add(m, &r), 0);
	assert_int_equal(berth_meta_repl_fired_set(m, "nightly", T0), 0);
	assert_int_equal(berth_meta_repl_event_add(m, &e), 0);
	assert_int_equal(berth_meta_lease_take(m, "gc", "host-1", T0, 60, &won), 0);
	assert_int_equal(berth_meta_mirror_tag_mark(m, "library/alpine", "3", T0), 0);
	assert_int_equal(berth_meta_repl_retry_set(m, "nightly", T0 + 60), 0);
}

typedef struct seen {
	char tables[2048];
	int n, empty;
} seen;

static int record(void *ctx, const berth_meta_table_sum *src, const berth_meta_table_sum *dst)
{
	seen *s = ctx;
	size_t len = strlen(s->tables);

	assert_int_equal(src->rows, dst->rows);
	assert_string_equal(src->sum, dst->sum);
	if (!src->rows) {
		fprintf(stderr, "table %s has no rows: populate() must fill it\n", src->table);
		s->empty++;
	}
	snprintf(s->tables + len, sizeof(s->tables) - len, "%s,", src->table);
	s->n++;
	return 0;
}

/* Every table of the SQLite file, as "a,b,c," in creation order. */
static void sqlite_tables(const char *path, char *out, size_t size)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	out[0] = 0;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT name FROM sqlite_master WHERE type = 'table'"
					    " AND name NOT LIKE 'sqlite%' AND name <> "
					    "'schema_migrations' ORDER BY rowid",
					    -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t len = strlen(out);

		snprintf(out + len, size - len, "%s,", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static int count_progress(void *ctx, const char *table, int64_t rows, int done)
{
	(void)table;
	(void)rows;
	if (done)
		++*(int *)ctx;
	return 0;
}

static void check_far_side(berth_meta *m)
{
	berth_meta_manifest info;
	berth_meta_robot robot;
	berth_meta_user u;
	berth_buf body = BERTH_BUF_INIT(1 << 20), perms = BERTH_BUF_INIT(1 << 16);
	names refs = {{0}, 0};
	time_t t = 0;
	int64_t id = 0;

	assert_int_equal(berth_meta_manifest_get(m, "team/app", "v1", &info, &body), 0);
	assert_string_equal(body.ptr, "{\"schemaVersion\":2}");
	assert_string_equal(info.digest.str, dg("manifest body").str);
	assert_int_equal(berth_meta_robot_get(m, "ci", &robot, &perms), 0);
	assert_string_equal(robot.secret_hash, "$2y$robot");
	assert_int_equal(berth_meta_user_get(m, "alice", &u), 0);
	assert_int_equal(u.sysadmin, 1);
	assert_int_equal(berth_meta_mirror_tag_checked(m, "library/alpine", "3", &t), 0);
	assert_int_equal((long long)t, T0);
	assert_int_equal(berth_meta_tags(m, "team/app", NULL, -1, names_cb, &refs, NULL), 0);
	assert_string_equal(refs.text, "v1");
	/* the id sequence continues after the deleted user's id too */
	assert_int_equal(berth_meta_user_create(m, "carol", "$2y$hash2", 0, &id), 0);
	assert_true(id > u.id + 1);
	assert_int_equal(berth_meta_user_delete(m, "carol"), 0);
	berth_buf_dispose(&body);
	berth_buf_dispose(&perms);
}

static void every_table_crosses_and_back(void **state)
{
	meta_fixture *f = *state;
	char src_path[1100], back_path[1100], schema[2048];
	berth_meta *src = NULL, *back = NULL;
	seen there = {{0}, 0, 0}, again = {{0}, 0, 0};
	int tables = 0;

	snprintf(src_path, sizeof(src_path), "%s/source.db", f->dir);
	snprintf(back_path, sizeof(back_path), "%s/back.db", f->dir);
	assert_int_equal(berth_meta_open(&src, src_path), 0);
	populate(src);

	assert_int_equal(berth_meta_copy(src, f->m, 0, count_progress, &tables), 0);
	assert_int_equal(berth_meta_verify(src, f->m, record, &there), 0);
	sqlite_tables(src_path, schema, sizeof(schema));
	assert_string_equal(there.tables, schema);
	assert_int_equal(tables, there.n);
	assert_true(there.n >= 22);
	assert_int_equal(there.empty, 0);

	/* and back into SQLite (a site scaling down) */
	assert_int_equal(berth_meta_open(&back, back_path), 0);
	assert_int_equal(berth_meta_copy(f->m, back, 0, NULL, NULL), 0);
	assert_int_equal(berth_meta_verify(f->m, back, record, &again), 0);
	assert_int_equal(berth_meta_verify(src, back, NULL, NULL), 0);
	check_far_side(f->m);
	check_far_side(back);
	berth_meta_free(back);
	berth_meta_free(src);
}

static void non_empty_target_is_refused_untouched(void **state)
{
	meta_fixture *f = *state;
	char src_path[1100];
	berth_meta *src = NULL;
	berth_digest d = dg("mine");
	long long before;

	snprintf(src_path, sizeof(src_path), "%s/source.db", f->dir);
	assert_int_equal(berth_meta_open(&src, src_path), 0);
	populate(src);
	assert_int_equal(berth_meta_blob_link(f->m, "other/repo", &d, 4), 0);
	before = meta_raw_int(f, "SELECT count(*) FROM blobs");
	assert_int_equal(berth_meta_copy(src, f->m, 0, NULL, NULL), BERTH_EEXISTS);
	assert_non_null(strstr(berth_error_last(), "not empty"));
	assert_int_equal(berth_meta_copy(src, f->m, 1, NULL, NULL), BERTH_EEXISTS);
	assert_int_equal(meta_raw_int(f, "SELECT count(*) FROM blobs"), before);
	assert_int_equal(meta_raw_int(f, "SELECT count(*) FROM manifests"), 0);
	assert_int_equal(berth_meta_verify(src, f->m, NULL, NULL), BERTH_EDIGEST);
	berth_meta_free(src);
}

/* Stops the copy once `after` tables are in (inside the target's transaction). */
static int stop_after(void *ctx, const char *table, int64_t rows, int done)
{
	int *left = ctx;

	(void)table;
	(void)rows;
	return done && --*left == 0 ? BERTH_EIO : 0;
}

static void interrupted_copy_leaves_target_empty(void **state)
{
	meta_fixture *f = *state;
	char src_path[1100];
	berth_meta *src = NULL;
	int left = 8, tables = 0;

	snprintf(src_path, sizeof(src_path), "%s/source.db", f->dir);
	assert_int_equal(berth_meta_open(&src, src_path), 0);
	populate(src);
	assert_int_equal(berth_meta_copy(src, f->m, 0, stop_after, &left), BERTH_EIO);
	assert_int_equal(left, 0);
	assert_int_equal(meta_raw_int(f, "SELECT count(*) FROM repos"), 0);
	assert_int_equal(meta_raw_int(f, "SELECT count(*) FROM blobs"), 0);
	assert_int_equal(meta_raw_int(f, "SELECT count(*) FROM manifests"), 0);
	assert_int_equal(meta_raw_int(f, "SELECT count(*) FROM users"), 0);
	/* the dry run counts without writing; then the real copy goes through */
	assert_int_equal(berth_meta_copy(src, f->m, 1, count_progress, &tables), 0);
	assert_true(tables >= 22);
	assert_int_equal(meta_raw_int(f, "SELECT count(*) FROM repos"), 0);
	assert_int_equal(berth_meta_copy(src, f->m, 0, NULL, NULL), 0);
	assert_int_equal(berth_meta_verify(src, f->m, NULL, NULL), 0);
	berth_meta_free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(every_table_crosses_and_back, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(non_empty_target_is_refused_untouched, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(interrupted_copy_leaves_target_empty, meta_setup,
						meta_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
