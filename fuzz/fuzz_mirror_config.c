/*
 * fuzz_mirror_config.c - libFuzzer target for the mirror's configuration
 * (berth_mirror_config_check over the JSON the server's YAML reader makes,
 * src/lib/mirror/config.c) and its ttl grammar (berth_mirror_parse_ttl).
 *
 * Input layout: the first byte picks the parser (even: config JSON, odd:
 * ttl text), the rest is its input. Invariants: a refusal sets a message;
 * an accepted ttl lies within [0, BERTH_MIRROR_TTL_MAX]; nothing leaks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/mirror.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	long ttl = -1;
	int rc;

	if (size < 1 || size > 64 * 1024)
		return 0;
	if (!(text = malloc(size)))
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] & 1) {
		rc = berth_mirror_parse_ttl(text, &ttl);
		if (rc == 0 && (ttl < 0 || ttl > BERTH_MIRROR_TTL_MAX))
			abort();
	} else {
		rc = berth_mirror_config_check(text);
		(void)berth_mirror_configured(text);
	}
	if (rc != 0 && !berth_error_last()[0])
		abort();
	free(text);
	return 0;
}
