/*
 * fuzz_range.c - libFuzzer target for the HTTP Range and Content-Range
 * parsers (src/lib/registry/http_range.c).
 *
 * Input layout: the first 8 bytes (little-endian, zero-padded) are the
 * resource size for Range, the rest is the header value. Whenever a parser
 * accepts, start <= end must hold, and for Range also end < size; the only
 * error codes allowed are EINVALID and (Range only) ERANGE.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t rsize = 0, start, end;
	size_t n = size < 8 ? size : 8;
	char *s;
	int rc;

	for (size_t i = 0; i < n; i++)
		rsize |= (uint64_t)data[i] << (8 * i);
	if (!(s = malloc(size - n + 1)))
		return 0;
	memcpy(s, data + n, size - n);
	s[size - n] = '\0';

	rc = berth_http_range_parse(s, rsize, &start, &end);
	if (rc == 0) {
		if (!(start <= end && end < rsize))
			abort();
	} else if (rc != BERTH_EINVALID && rc != BERTH_ERANGE) {
		abort();
	}

	rc = berth_http_content_range_parse(s, &start, &end);
	if (rc == 0) {
		if (start > end)
			abort();
	} else if (rc != BERTH_EINVALID) {
		abort();
	}
	free(s);
	return 0;
}
