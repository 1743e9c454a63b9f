/*
 * fuzz_token.c - libFuzzer target for the token service's JSON answer
 * (berth_client__token_parse, src/lib/client/auth.c), including the
 * RFC 3339 "issued_at" parser.
 *
 * Invariants: on success the token is non-empty printable ASCII without
 * spaces (it goes into an Authorization header) and the renewal time lies
 * after the epoch and no later than now + 366 days; on failure no token is
 * returned and a message is set.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/client/internal.h"

#define NOW ((time_t)1700000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tok = NULL;
	time_t exp = 0;

	if (berth_client__token_parse("reg.example", (const char *)data, size, NOW, &tok, &exp) !=
	    0) {
		if (tok || !berth_error_last()[0])
			abort();
		return 0;
	}
	if (!tok || !*tok || exp <= 0 || exp > NOW + 86400 * 366)
		abort();
	for (const char *p = tok; *p; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			abort();
	free(tok);
	return 0;
}
