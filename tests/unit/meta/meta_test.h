/*
 * meta_test.h - helpers shared by the metadata unit tests: a fresh temporary
 * database per test, digests of short strings, and name collectors.
 *
 * One suite, both drivers: by default each test gets a fresh SQLite file;
 * with BERTH_TEST_META_DRIVER=postgres (the unit/meta/<aspect>@postgres
 * tests of CMakeLists.txt, which start PostgreSQL once per run with
 * tests/peers/postgres-start.sh) each test gets a fresh schema of the
 * PostgreSQL at BERTH_TEST_PG_DSN, dropped at teardown. A postgres run that
 * cannot reach PostgreSQL fails; it never falls back to SQLite.
 */
#ifndef BERTH_TEST_META_H
#define BERTH_TEST_META_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "berth/meta.h"
#include "util/buf.h"
#include "util/fs.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

typedef struct meta_fixture {
	char dir[64];
	char path[1024]; /* the location: a SQLite file, or "postgres:<dsn> options=..." */
	char schema[64]; /* postgres: this test's schema */
	int pg;
	berth_meta *m;
} meta_fixture;

static inline int meta_is_pg(void)
{
	const char *d = getenv("BERTH_TEST_META_DRIVER");

	return d && strcmp(d, "postgres") == 0;
}

/* Run one statement on the test PostgreSQL; the first column of the first row, or -1. */
static inline long long meta_pg_exec(const char *sql)
{
	const char *dsn = getenv("BERTH_TEST_PG_DSN");
	PGconn *c;
	PGresult *r;
	long long v = -1;

	if (!dsn || !*dsn) {
		fprintf(stderr, "BERTH_TEST_PG_DSN is not set: run the @postgres tests through "
				"ctest (fixture peers/postgres-start)\n");
		return -2;
	}
	c = PQconnectdb(dsn);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "PostgreSQL unreachable at %s: %s", dsn, PQerrorMessage(c));
		PQfinish(c);
		return -2;
	}
	r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else if (PQresultStatus(r) == PGRES_COMMAND_OK)
		v = 0;
	else
		fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
	return v;
}

static inline int meta_setup(void **state)
{
	static int serial;
	meta_fixture *f = calloc(1, sizeof(*f));
	char sql[128];

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/berth-meta-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	if (meta_is_pg()) {
		f->pg = 1;
		snprintf(f->schema, sizeof(f->schema), "t_%ld_%d", (long)getpid(), ++serial);
		snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", f->schema);
		if (meta_pg_exec(sql) != 0)
			return -1;
		snprintf(f->path, sizeof(f->path), "postgres:%s options='-c search_path=%s'",
			 getenv("BERTH_TEST_PG_DSN"), f->schema);
	} else {
		snprintf(f->path, sizeof(f->path), "%s/meta.db", f->dir);
	}
	if (berth_meta_open(&f->m, f->path) != 0) {
		fprintf(stderr, "open: %s\n", berth_error_last());
		return -1;
	}
	*state = f;
	return 0;
}

static inline int meta_teardown(void **state)
{
	meta_fixture *f = *state;
	char sql[128];

	berth_meta_free(f->m);
	if (f->pg) {
		snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", f->schema);
		if (meta_pg_exec(sql) != 0)
			return -1;
	}
	if (berth_fs_remove_tree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

/* The first column of `sql`'s first row in the fixture's database, whichever driver (-1: none). */
static inline long long meta_raw_int(meta_fixture *f, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (f->pg) {
		char q[1024];

		snprintf(q, sizeof(q), "SET search_path = %s; %s", f->schema, sql);
		return meta_pg_exec(q);
	}
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* The sha256 digest of `s` (tests name content by short strings). */
static inline berth_digest dg(const char *s)
{
	berth_digest d;

	assert_int_equal(berth_digest_compute(&d, BERTH_DIGEST_SHA256, s, strlen(s)), 0);
	return d;
}

/* Collects names into one "a,b,c" string for easy comparison. */
typedef struct names {
	char text[4096];
	int count;
} names;

static inline int names_cb(void *ctx, const char *name)
{
	names *n = ctx;
	size_t len = strlen(n->text);

	snprintf(n->text + len, sizeof(n->text) - len, "%s%s", n->count ? "," : "", name);
	n->count++;
	return 0;
}

#endif
