/*
 * fuzz_clienthdr.c - libFuzzer target for the response headers the client
 * parses by hand: the Link header of tag pagination
 * (berth_client__next_link, manifests.c) and the Range of an upload status
 * (berth_client__held_bytes, blobs.c).
 *
 * Invariants: a next link is the text between the first '<' and the '>'
 * after it, and "next" follows; bytes held are 0 or exactly one more than
 * the decimal number after the first '-'.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/client/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *lt, *dash;
	char *s, *link;
	uint64_t held;

	if (!(s = malloc(size + 1)))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	link = berth_client__next_link(s);
	if (link) {
		size_t n = strlen(link);

		lt = strchr(s, '<');
		if (!lt || strncmp(lt + 1, link, n) || lt[1 + n] != '>' || strchr(link, '>') ||
		    !strstr(lt + 1 + n, "next"))
			abort();
		free(link);
	}

	held = berth_client__held_bytes(s);
	if (held) {
		uint64_t last = 0;

		dash = strchr(s, '-');
		if (!dash || !isdigit((unsigned char)dash[1]))
			abort();
		for (const char *p = dash + 1; isdigit((unsigned char)*p); p++) {
			uint64_t d = (uint64_t)(*p - '0');

			if (last > (UINT64_MAX - d) / 10)
				abort(); /* overflow must have been refused */
			last = last * 10 + d;
		}
		if (last + 1 != held)
			abort();
	}
	free(s);
	return 0;
}
