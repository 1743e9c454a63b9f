/*
 * fuzz_replcron.c - libFuzzer target for replication schedules
 * (src/lib/replicate/cron.c).
 *
 * Invariants: parse returns 0 or BERTH_EINVALID; for a parsed schedule the
 * next firing is strictly later than the start, and the firing after it is
 * later still.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/replicate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	berth_cron c;
	time_t start = 1780000000, a, b;
	int rc;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	rc = berth_cron_parse(&c, buf);
	if (rc != 0 && rc != BERTH_EINVALID)
		abort();
	if (rc == 0 && berth_cron_next(&c, start, &a) == 0) {
		if (a <= start)
			abort();
		if (berth_cron_next(&c, a, &b) == 0 && b <= a)
			abort();
	}
	free(buf);
	return 0;
}
