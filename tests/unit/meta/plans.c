/*
 * plans.c - the hot lookups of the registry (manifest by digest and by tag,
 * blob by digest, referrers by subject, tag and catalog paging, upload by
 * id, robot and user by name) are served by an index. On PostgreSQL (the
 * @postgres run) the tables are first filled with a few thousand rows each
 * and ANALYZEd, so the planner decides on real statistics; EXPLAIN of each
 * statement, both with its parameters (a custom plan) and as the generic
 * plan a prepared statement settles on, must show no Seq Scan of a table
 * that holds rows. On SQLite, EXPLAIN QUERY PLAN of the same lookups must
 * show no full SCAN (indexes.c checks every other statement there too).
 */
#include "meta_test.h"
#include "lib/meta/internal.h"

#include <sqlite3.h>

#define ROWS "3000"

/* The hot lookups with parameters for the filled database. */
static const struct {
	const char *name;
	const char *args; /* EXECUTE's argument list */
} hot[] = {
	{"manifest_by_digest", "('r100', 'sha256:m100')"},
	{"manifest_by_tag", "('r100', 't100')"},
	{"blob_linked", "('r100', 'sha256:b100')"},
	{"blob_repos", "('sha256:b100')"},
	{"referrers", "('r100', 'sha256:m99', NULL)"},
	{"tags", "(100, 't1', 101)"},
	{"catalog", "('r1', 101)"},
	{"upload_check", "('u5', 'r5')"},
	{"robot_get", "('bot5')"},
	{"user_get", "('user5')"},
	{"repo_id", "('r5')"},
};

/* Tables the fill gives thousands of rows: none may be read whole. */
static const char *const big[] = {"repos", "blobs",   "repo_blobs", "manifests", "manifest_refs",
				  "tags",  "uploads", "robots",	    "users"};

static const char *const fill[] = {
	"INSERT INTO repos(name) SELECT 'r' || g FROM generate_series(1, " ROWS ") g",
	"INSERT INTO blobs(digest, size) SELECT 'sha256:b' || g, g FROM generate_series(1, " ROWS
	") g",
	"INSERT INTO repo_blobs(repo_id, digest) SELECT id, 'sha256:b' || id FROM repos",
	"INSERT INTO manifests(repo_id, digest, media_type, body, size, subject)"
	" SELECT id, 'sha256:m' || id, 'application/vnd.oci.image.manifest.v1+json', '\\x7b7d', 2,"
	" CASE WHEN id % 10 = 0 THEN 'sha256:m' || (id - 1) END FROM repos",
	"INSERT INTO manifest_refs(repo_id, digest, ref) SELECT id, 'sha256:m' || id, 'sha256:b' "
	"|| id"
	" FROM repos",
	"INSERT INTO tags(repo_id, name, digest) SELECT id, 't' || id, 'sha256:m' || id FROM repos",
	"INSERT INTO tags(repo_id, name, digest) SELECT 100, 'x' || g, 'sha256:m100'"
	" FROM generate_series(1, " ROWS ") g",
	"INSERT INTO uploads(id, repo, started, account) SELECT 'u' || g, 'r' || g, now(),"
	" 'a' || (g % 50) FROM generate_series(1, " ROWS ") g",
	"INSERT INTO robots(name, secret_hash, created, permissions) SELECT 'bot' || g, 'h', now(),"
	" '[]' FROM generate_series(1, " ROWS ") g",
	"INSERT INTO users(name, password_hash, created) SELECT 'user' || g, 'h', now()"
	" FROM generate_series(1, " ROWS ") g",
	"ANALYZE",
};

static void pg_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
}

/* The EXPLAIN of prepared statement "hot" run with `args`; fails on a Seq Scan of a big table. */
static void pg_explain(PGconn *c, const char *name, const char *args, const char *mode)
{
	char sql[512], plan[8192] = "";
	PGresult *r;

	snprintf(sql, sizeof(sql), "SET plan_cache_mode = %s", mode);
	pg_ok(c, sql);
	snprintf(sql, sizeof(sql), "EXPLAIN EXECUTE hot%s", args);
	r = PQexec(c, sql);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	for (int i = 0; i < PQntuples(r); i++) {
		size_t len = strlen(plan);

		snprintf(plan + len, sizeof(plan) - len, "%s\n", PQgetvalue(r, i, 0));
	}
	PQclear(r);
	assert_non_null(strstr(plan, "Index"));
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		char seq[64];

		snprintf(seq, sizeof(seq), "Seq Scan on %s ", big[i]);
		if (strstr(plan, seq)) {
			fprintf(stderr, "%s (%s): a Seq Scan on %s\n%s", name, mode, big[i], plan);
			fail();
		}
	}
}

static void pg_hot_lookups(meta_fixture *f)
{
	PGconn *c = PQconnectdb(f->path + strlen("postgres:"));
	char sql[2048];

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	for (size_t i = 0; i < sizeof(fill) / sizeof(fill[0]); i++)
		pg_ok(c, fill[i]);
	for (size_t i = 0; i < sizeof(hot) / sizeof(hot[0]); i++) {
		const char *q = berth_meta__pg_hot_sql(hot[i].name);

		assert_non_null(q);
		snprintf(sql, sizeof(sql), "PREPARE hot AS %s", q);
		pg_ok(c, sql);
		pg_explain(c, hot[i].name, hot[i].args, "force_custom_plan");
		pg_explain(c, hot[i].name, hot[i].args, "force_generic_plan");
		pg_ok(c, "DEALLOCATE hot");
	}
	PQfinish(c);
}

static void sqlite_hot_lookups(meta_fixture *f)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	for (size_t i = 0; i < sizeof(hot) / sizeof(hot[0]); i++) {
		const char *q = berth_meta__sqlite_hot_sql(hot[i].name);
		sqlite3_stmt *st = NULL;
		char eqp[2048];

		assert_non_null(q);
		snprintf(eqp, sizeof(eqp), "EXPLAIN QUERY PLAN %s", q);
		assert_int_equal(sqlite3_prepare_v2(db, eqp, -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *detail = (const char *)sqlite3_column_text(st, 3);

			if (strncmp(detail, "SCAN ", 5) == 0 && !strstr(detail, "INDEX") &&
			    strcmp(detail, "SCAN CONSTANT ROW") != 0) {
				fprintf(stderr, "%s: %s\n", hot[i].name, detail);
				fail();
			}
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
}

static void hot_lookups_use_indexes(void **state)
{
	meta_fixture *f = *state;

	if (f->pg)
		pg_hot_lookups(f);
	else
		sqlite_hot_lookups(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(hot_lookups_use_indexes, meta_setup, meta_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
