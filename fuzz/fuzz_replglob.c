/*
 * fuzz_replglob.c - libFuzzer target for replication filter globs
 * (src/lib/replicate/glob.c). The input is "pattern\nname".
 *
 * Invariants: a result is 1, 0 or BERTH_EINVALID (never a crash or a hang:
 * the matcher is linear per alternative and alternatives are capped); a
 * pattern without special characters matches exactly itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/replicate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *nl;
	int rc;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	rc = berth_replicate_glob_match(buf, nl ? nl + 1 : "");
	if (rc != 0 && rc != 1 && rc != BERTH_EINVALID && rc != BERTH_ERROR)
		abort();
	if (!strpbrk(buf, "*?{}\\") && strlen(buf) <= BERTH_REPLICATE_PATTERN_MAX) {
		int self = berth_replicate_glob_match(buf, buf);

		if (self != 1 && self != BERTH_EINVALID)
			abort();
	}
	free(buf);
	return 0;
}
