/*
 * fuzz_vulndb_tracker.c - libFuzzer target for the vulnerability database
 * importers fed Debian security tracker and Alpine secdb JSON
 * (src/lib/vulndb/tracker.c, import.c), and for the queries that read what
 * they wrote (vulndb_fuzz.h).
 */
#include "vulndb_fuzz.h"

static const vulndb_query queries[] = {
	{"Debian:12", "openssl", "3.0.11-1~deb12u1"},
	{"Debian:11", "zlib", "1:1.2.11.dfsg-2+deb11u1"},
	{"Alpine:3.18", "openssl", "3.1.3-r0"},
	{"Debian:sid", "glibc", "2.36-1"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return vulndb_fuzz_one(data, size, queries, sizeof(queries) / sizeof(queries[0]));
}
