/*
 * fuzz_vulndb_osv.c - libFuzzer target for the vulnerability database
 * importers fed OSV records (one or an array) (src/lib/vulndb/osv.c,
 * import.c), and for the queries that read what they wrote (vulndb_fuzz.h).
 */
#include "vulndb_fuzz.h"

static const vulndb_query queries[] = {
	{"PyPI", "requests", "2.30.0"},
	{"npm", "lodash", "4.17.20"},
	{"Debian:12", "openssl", "3.0.11-1~deb12u1"},
	{"Go", "golang.org/x/net", "0.16.0"},
	{"Maven", "org.apache.logging.log4j:log4j-core", "2.14.1"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return vulndb_fuzz_one(data, size, queries, sizeof(queries) / sizeof(queries[0]));
}
