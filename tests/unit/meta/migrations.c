/*
 * migrations.c - opening the metadata store: migrations run once and are
 * recorded, reopening is idempotent, pragmas stick, locations are parsed,
 * a database from a newer berth is refused, and a database left at version 1
 * (before access control) upgrades to version 2 with its data intact.
 */
#include "meta_test.h"
#include "lib/meta/internal.h"

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

#define LATEST 9

static void fresh_database_is_at_latest_version(void **state)
{
	meta_fixture *f = *state;

	assert_int_equal(berth_meta_schema_version(f->m), LATEST);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM schema_migrations"), LATEST);
	assert_int_equal(raw_int(f->path, "SELECT max(version) FROM schema_migrations"), LATEST);
	assert_int_equal(raw_int(f->path,
				 "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
				 " AND name IN ('repos', 'blobs', 'repo_blobs', 'manifests',"
				 " 'manifest_refs', 'tags', 'uploads', 'users', 'projects',"
				 " 'members', 'robots', 'audit', 'login_failures')"),
			 13);
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
	long long applied = raw_int(f->path, "SELECT sum(applied_at) FROM schema_migrations");

	for (int i = 0; i < 3; i++) {
		berth_meta_free(f->m);
		f->m = NULL;
		assert_int_equal(berth_meta_open(&f->m, f->path), 0);
		assert_int_equal(berth_meta_schema_version(f->m), LATEST);
	}
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM schema_migrations"), LATEST);
	assert_int_equal(raw_int(f->path, "SELECT sum(applied_at) FROM schema_migrations"),
			 applied);
}

static void sqlite_url_opens_the_same_file(void **state)
{
	meta_fixture *f = *state;
	berth_digest d = dg("layer");
	berth_meta *m2 = NULL;
	char url[sizeof(f->path) + 16];
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
	assert_int_equal(berth_meta_open(&m, "mysql://db/berth"), BERTH_EUNSUPPORTED);
	assert_null(m);
	/* postgres is a driver: an unreachable server is "retry later", not a crash */
	assert_int_equal(berth_meta_open(&m, "postgres://127.0.0.1:1/berth?connect_timeout=2"),
			 BERTH_EBUSY);
	assert_null(m);
	assert_non_null(strstr(berth_error_last(), "PostgreSQL"));
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

/*
 * Build a database exactly as schema version 1 left it: the driver's own
 * migration 1 text, recorded as applied, with content written by raw SQL.
 */
static void make_v1_database(const char *path, const char *body)
{
	const char *v1 = berth_meta__sqlite_migration(1);
	berth_digest layer = dg("layer"), man = dg(body);
	sqlite3 *db = NULL;
	char sql[2048];

	assert_non_null(v1);
	assert_non_null(berth_meta__sqlite_migration(LATEST));
	assert_null(berth_meta__sqlite_migration(LATEST + 1));
	assert_int_equal(
		sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;"
				      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
				      " applied_at INTEGER NOT NULL);",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO schema_migrations VALUES (1, 1700000000);"
		 "INSERT INTO repos(id, name) VALUES (1, 'lib/app');"
		 "INSERT INTO blobs VALUES ('%s', 42);"
		 "INSERT INTO repo_blobs VALUES (1, '%s');"
		 "INSERT INTO manifests(repo_id, digest, media_type, body, size, created_at)"
		 " VALUES (1, '%s', 'application/vnd.oci.image.manifest.v1+json', '%s', %zu, 0);"
		 "INSERT INTO tags VALUES (1, 'v1', '%s', 0);",
		 layer.str, layer.str, man.str, body, strlen(body), man.str);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void version_1_database_upgrades_with_data_intact(void **state)
{
	char dir[64], path[128];
	const char *body = "{\"schemaVersion\":2}";
	berth_digest layer = dg("layer");
	berth_meta_manifest info;
	berth_buf got = BERTH_BUF_INIT(4096);
	berth_meta_user u;
	berth_meta *m = NULL;
	names tags = {0};
	uint64_t size = 0;
	int role = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/berth-meta-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/meta.db", dir);
	make_v1_database(path, body);
	assert_int_equal(raw_int(path, "SELECT max(version) FROM schema_migrations"), 1);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'users'"),
			 0);

	assert_int_equal(berth_meta_open(&m, path), 0);
	assert_int_equal(berth_meta_schema_version(m), LATEST);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM schema_migrations"), LATEST);
	/* Version 1 keeps its original record. */
	assert_int_equal(
		raw_int(path, "SELECT applied_at FROM schema_migrations WHERE version = 1"),
		1700000000);

	/* Version 1 content is still there and readable through the API. */
	assert_int_equal(berth_meta_blob_linked(m, "lib/app", &layer, &size), 0);
	assert_int_equal(size, 42);
	assert_int_equal(berth_meta_manifest_get(m, "lib/app", "v1", &info, &got), 0);
	assert_int_equal(got.len, strlen(body));
	assert_memory_equal(got.ptr, body, got.len);
	assert_int_equal(berth_meta_tags(m, "lib/app", NULL, -1, names_cb, &tags, NULL), 0);
	assert_string_equal(tags.text, "v1");

	/* The new tables work. */
	assert_int_equal(berth_meta_user_create(m, "alice", "$2y$05$hash", 0, NULL), 0);
	assert_int_equal(berth_meta_project_create(m, "lib", 0), 0);
	assert_int_equal(berth_meta_member_set(m, "lib", "alice", 2), 0);
	assert_int_equal(berth_meta_member_get(m, "lib", "alice", &role), 0);
	assert_int_equal(role, 2);

	/* Reopening again changes nothing. */
	berth_meta_free(m);
	m = NULL;
	assert_int_equal(berth_meta_open(&m, path), 0);
	assert_int_equal(berth_meta_schema_version(m), LATEST);
	assert_int_equal(berth_meta_user_get(m, "alice", &u), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM schema_migrations"), LATEST);

	berth_buf_dispose(&got);
	berth_meta_free(m);
	assert_int_equal(berth_fs_remove_tree(dir), 0);
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
		cmocka_unit_test(version_1_database_upgrades_with_data_intact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
