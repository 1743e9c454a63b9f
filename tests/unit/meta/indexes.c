/*
 * indexes.c - every query the sqlite driver can issue is served by an index:
 * EXPLAIN QUERY PLAN of each cached statement must show no full-table SCAN,
 * and only the mount lookup (a handful of rows) may sort.
 */
#include "meta_test.h"
#include "lib/meta/meta_driver.h"

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

			if (strncmp(detail, "SCAN ", 5) == 0 ||
			    (strstr(detail, "TEMP B-TREE") && !strstr(sql, "FROM blobs b"))) {
				fprintf(stderr, "unindexed: %s\n  plan: %s\n", sql, detail);
				fail();
			}
		}
		sqlite3_finalize(st);
		checked++;
	}
	sqlite3_close(db);
	assert_true(checked >= 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(every_statement_uses_an_index, meta_setup,
						meta_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
