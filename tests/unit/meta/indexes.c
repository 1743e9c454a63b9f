/*
 * indexes.c - every query the sqlite driver can issue is served by an index:
 * EXPLAIN QUERY PLAN of each cached statement must show no full-table SCAN,
 * and only the mount lookup and a project's member list (a handful of rows
 * found through an index) may sort. Full listings (users, projects, robots:
 * statements without WHERE) may walk an index in order, never a table.
 * The access-control lookups are also checked by name: each must SEARCH
 * through the index meant for it.
 */
#include "meta_test.h"
#include "lib/meta/internal.h"

#include <sqlite3.h>

static void every_statement_uses_an_index(void **state)
{
	meta_fixture *f = *state;
	sqlite3 *db = NULL;
	const char *sql;
	int checked = 0;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	for (size_t i = 0; (sql = berth_meta__sqlite_sql(i)) != NULL; i++) {
		sqlite3_stmt *st = NULL;
		char eqp[2048];

		if (strncmp(sql, "BEGIN", 5) == 0 || strcmp(sql, "COMMIT") == 0 ||
		    strcmp(sql, "ROLLBACK") == 0)
			continue;
		snprintf(eqp, sizeof(eqp), "EXPLAIN QUERY PLAN %s", sql);
		assert_int_equal(sqlite3_prepare_v2(db, eqp, -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *detail = (const char *)sqlite3_column_text(st, 3);

			int walk = !strstr(sql, " WHERE ") && strncmp(detail, "SCAN ", 5) == 0 &&
				   strstr(detail, " USING ") && strstr(detail, "INDEX ");
			/* a partial index holds only the rows its listing wants */
			int partial =
				strcmp(detail, "SCAN projects USING INDEX projects_policy") == 0;
			int small_sort = strstr(sql, "FROM blobs b") ||
					 strstr(sql, "FROM members m JOIN users u");

			/* a SELECT of scalar subqueries reads one constant row */
			if (strcmp(detail, "SCAN CONSTANT ROW") == 0)
				continue;
			if ((strncmp(detail, "SCAN ", 5) == 0 && !walk && !partial) ||
			    (strstr(detail, "TEMP B-TREE") && !small_sort)) {
				fprintf(stderr, "unindexed: %s\n  plan: %s\n", sql, detail);
				fail();
			}
		}
		sqlite3_finalize(st);
		checked++;
	}
	sqlite3_close(db);
	assert_true(checked >= 40);
}

/* The plan of `sql`, all rows joined with "; ". */
static void plan_of(sqlite3 *db, const char *sql, char *out, size_t outlen)
{
	sqlite3_stmt *st = NULL;
	char eqp[2048];

	out[0] = '\0';
	snprintf(eqp, sizeof(eqp), "EXPLAIN QUERY PLAN %s", sql);
	assert_int_equal(sqlite3_prepare_v2(db, eqp, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t len = strlen(out);

		snprintf(out + len, outlen - len, "%s; ", (const char *)sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
}

/* A driver statement containing `fragment` (or equal to it, if `exact`); it must exist. */
static const char *sql_with(const char *fragment, int exact)
{
	const char *sql;

	for (size_t i = 0; (sql = berth_meta__sqlite_sql(i)) != NULL; i++)
		if (exact ? strcmp(sql, fragment) == 0 : strstr(sql, fragment) != NULL)
			return sql;
	fprintf(stderr, "no statement contains: %s\n", fragment);
	fail();
	return NULL;
}

static void access_control_lookups_use_their_indexes(void **state)
{
	static const struct {
		const char *fragment; /* identifies the statement */
		const char *plan;     /* must appear in its plan */
		int exact;
	} want[] = {
		{"FROM users WHERE name = ?1", "USING INDEX sqlite_autoindex_users_1 (name=?)", 0},
		{"FROM users WHERE id = ?1", "USING INTEGER PRIMARY KEY (rowid=?)", 0},
		{"UPDATE users SET password_hash", "sqlite_autoindex_users_1 (name=?)", 0},
		{"DELETE FROM users WHERE name", "sqlite_autoindex_users_1 (name=?)", 0},
		{"FROM users ORDER BY name", "sqlite_autoindex_users_1", 0},
		{"FROM projects WHERE name = ?1", "sqlite_autoindex_projects_1 (name=?)", 0},
		{"FROM projects ORDER BY name", "sqlite_autoindex_projects_1", 0},
		{"SELECT m.role FROM projects p", "PRIMARY KEY (project_id=? AND user_id=?)", 0},
		{"DELETE FROM members", "PRIMARY KEY (project_id=? AND user_id=?)", 0},
		{"FROM members m JOIN users u", "PRIMARY KEY (project_id=?)", 0},
		{"FROM robots WHERE name = ?1", "sqlite_autoindex_robots_1 (name=?)", 0},
		{"FROM robots ORDER BY name", "sqlite_autoindex_robots_1", 0},
		{"FROM audit WHERE id < ?1 ORDER BY id DESC", "INTEGER PRIMARY KEY (rowid<?)", 0},
		{"FROM uploads WHERE repo = ?1", "uploads_repo (repo=?)", 0},
		{"AND account = ?2", "uploads_account (account=?)", 0},
		{"UPDATE users SET disabled", "sqlite_autoindex_users_1 (name=?)", 0},
		{"UPDATE robots SET secret_hash", "sqlite_autoindex_robots_1 (name=?)", 0},
		{"SELECT count(*), coalesce(max(time), 0) FROM login_failures",
		 "login_failures_key_time (key=? AND time>?)", 0},
		{"DELETE FROM login_failures WHERE key = ?1 AND time",
		 "login_failures_key_time (key=? AND time<?)", 0},
		{"DELETE FROM login_failures WHERE key = ?1", "login_failures_key_time (key=?)", 1},
	};
	meta_fixture *f = *state;
	sqlite3 *db = NULL;
	char plan[2048];

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *sql = sql_with(want[i].fragment, want[i].exact);

		plan_of(db, sql, plan, sizeof(plan));
		if (!strstr(plan, want[i].plan)) {
			fprintf(stderr, "%s\n  plan: %s\n  wanted: %s\n", sql, plan, want[i].plan);
			fail();
		}
		/* e.g. newest-first audit paging walks the rowid backwards: no sort. */
		if (strstr(plan, "TEMP B-TREE") && !strstr(sql, "members m")) {
			fprintf(stderr, "%s\n  sorts: %s\n", sql, plan);
			fail();
		}
	}
	sqlite3_close(db);
}

/* The cascades from users and projects find memberships through an index. */
static void member_cascades_have_indexes(void **state)
{
	meta_fixture *f = *state;
	sqlite3 *db = NULL;
	char plan[512];

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	/* What the ON DELETE CASCADE actions run, as SQLite plans them. */
	plan_of(db, "DELETE FROM members WHERE user_id = 1", plan, sizeof(plan));
	assert_non_null(strstr(plan, "members_user (user_id=?)"));
	plan_of(db, "DELETE FROM members WHERE project_id = 1", plan, sizeof(plan));
	assert_non_null(strstr(plan, "PRIMARY KEY (project_id=?)"));
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(every_statement_uses_an_index, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(access_control_lookups_use_their_indexes,
						meta_setup, meta_teardown),
		cmocka_unit_test_setup_teardown(member_cascades_have_indexes, meta_setup,
						meta_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
