/*
 * fuzz_vulndb_osv.c - libFuzzer target for the vulnerability database
 * importers fed OSV records (one or an array) (src/lib/vulndb/osv.c, tracker.c, import.c), and for
 * the queries that read what they wrote.
 *
 * Invariants: import never fails except with EINVALID/ETOOBIG (malformed
 * input is a warning, counted as skipped); every query of a valid version
 * succeeds and returns well-formed matches.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/vulndb.h"

static const struct {
	const char *eco, *pkg, *ver;
} queries[] = {{"PyPI", "requests", "2.30.0"},
	       {"npm", "lodash", "4.17.20"},
	       {"Debian:12", "openssl", "3.0.11-1~deb12u1"},
	       {"Go", "golang.org/x/net", "0.16.0"},
	       {"Maven", "org.apache.logging.log4j:log4j-core", "2.14.1"}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	berth_vulndb *db = NULL;
	berth_vulndb_import_stats st;
	int rc;

	if (berth_vulndb_open(&db, ":memory:", 1) != 0)
		abort();
	rc = berth_vulndb_import_json(db, "fuzz", (const char *)data, size, NULL, NULL, &st);
	if (rc != 0 && rc != BERTH_EINVALID && rc != BERTH_ETOOBIG)
		abort();
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
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
