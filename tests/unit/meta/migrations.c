/*
 * migrations.c - opening the metadata store: migrations run once and are
 * recorded, reopening is idempotent, pragmas stick, locations are parsed,
 * and a database from a newer berth is refused.
 */
#include "meta_test.h"

#include <sqlite3.h>

static long long raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void fresh_database_is_at_latest_version(void **state)
{
	meta_fixture *f = *state;

	assert_int_equal(berth_meta_schema_version(f->m), 1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM schema_migrations"), 1);
	assert_int_equal(raw_int(f->path, "SELECT max(version) FROM schema_migrations"), 1);
	assert_int_equal(raw_int(f->path,
				 "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
				 " AND name IN ('repos', 'blobs', 'repo_blobs', 'manifests',"
				 " 'manifest_refs', 'tags', 'uploads')"),
			 7);
}

static void database_is_in_wal_mode(void **state)
{
	meta_fixture *f = *state;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void reopen_does_not_rerun_migrations(void **state)
{
	meta_fixture *f = *state;
	long long applied = raw_int(f->path, "SELECT applied_at FROM schema_migrations");

	for (int i = 0; i < 3; i++) {
		berth_meta_free(f->m);
		f->m = NULL;
		assert_int_equal(berth_meta_open(&f->m, f->path), 0);
		assert_int_equal(berth_meta_schema_version(f->m), 1);
	}
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM schema_migrations"), 1);
	assert_int_equal(raw_int(f->path, "SELECT applied_at FROM schema_migrations"), applied);
}

static void sqlite_url_opens_the_same_file(void **state)
{
	meta_fixture *f = *state;
	berth_digest d = dg("layer");
	berth_meta *m2 = NULL;
	char url[200];
	uint64_t size = 0;

	assert_int_equal(berth_meta_blob_link(f->m, "lib/app", &d, 42), 0);
	snprintf(url, sizeof(url), "sqlite://%s", f->path);
	assert_int_equal(berth_meta_open(&m2, url), 0);
	assert_int_equal(berth_meta_blob_linked(m2, "lib/app", &d, &size), 0);
	assert_int_equal(size, 42);
	berth_meta_free(m2);
}

static void bad_locations_are_refused(void **state)
{
	berth_meta *m = NULL;

	(void)state;
	assert_int_equal(berth_meta_open(&m, "postgres://db/berth"), BERTH_EUNSUPPORTED);
	assert_null(m);
	assert_int_equal(berth_meta_open(&m, ""), BERTH_EINVALID);
	assert_int_equal(berth_meta_open(&m, "sqlite://"), BERTH_EINVALID);
	assert_int_equal(berth_meta_open(&m, ":memory:"), BERTH_EINVALID);
	assert_int_equal(berth_meta_open(&m, "/nonexistent-dir-berth/x/meta.db"), BERTH_EIO);
	assert_non_null(strstr(berth_error_last(), "metadata"));
}

static void newer_schema_is_refused(void **state)
{
	meta_fixture *f = *state;
	berth_meta *m2 = NULL;
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (99, 0)", NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(berth_meta_open(&m2, f->path), BERTH_EUNSUPPORTED);
	assert_null(m2);
	assert_non_null(strstr(berth_error_last(), "99"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(fresh_database_is_at_latest_version, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(database_is_in_wal_mode, meta_setup, meta_teardown),
		cmocka_unit_test_setup_teardown(reopen_does_not_rerun_migrations, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(sqlite_url_opens_the_same_file, meta_setup,
						meta_teardown),
		cmocka_unit_test(bad_locations_are_refused),
		cmocka_unit_test_setup_teardown(newer_schema_is_refused, meta_setup, meta_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
