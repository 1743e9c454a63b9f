/*
 * vulndb_fuzz.h - the body shared by the vulnerability database fuzz
 * targets (fuzz_vulndb_osv.c, fuzz_vulndb_tracker.c): import the input into
 * an in-memory database, then run the including file's `queries` on it.
 *
 * Invariants: import never fails except with EINVALID/ETOOBIG (malformed
 * input is a warning, counted as skipped); every query of a valid version
 * succeeds and returns well-formed matches.
 */
#ifndef BERTH_FUZZ_VULNDB_FUZZ_H
#define BERTH_FUZZ_VULNDB_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/vulndb.h"

typedef struct vulndb_query {
	const char *eco, *pkg, *ver;
} vulndb_query;

static int vulndb_fuzz_one(const uint8_t *data, size_t size, const vulndb_query *queries,
			   size_t nqueries)
{
	berth_vulndb *db = NULL;
	berth_vulndb_import_stats st;
	int rc;

	if (berth_vulndb_open(&db, ":memory:", 1) != 0)
		abort();
	rc = berth_vulndb_import_json(db, "fuzz", (const char *)data, size, NULL, NULL, &st);
	if (rc != 0 && rc != BERTH_EINVALID && rc != BERTH_ETOOBIG)
		abort();
	for (size_t i = 0; i < nqueries; i++) {
		berth_vulndb_match *m = NULL;
		size_t n = 0;

		if (berth_vulndb_query(db, queries[i].eco, queries[i].pkg, queries[i].ver, &m,
				       &n) != 0)
			abort();
		for (size_t k = 0; k < n; k++)
			if (!m[k].id || !m[k].status || !m[k].fixed || !m[k].severity)
				abort();
		berth_vulndb_matches_free(m, n);
	}
	berth_vulndb_free(db);
	return 0;
}

#endif
