/*
 * fuzz_dsse.c - libFuzzer target for DSSE envelopes and in-toto statements
 * (src/lib/sign/payload.c). An envelope that parses has its PAE computed
 * and is checked as a statement; a payload re-signed here must verify.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/sign.h"

#define ZERO "sha256:0000000000000000000000000000000000000000000000000000000000000000"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static berth_sign_key *k;
	berth_sign_dsse *e = NULL, *again = NULL;
	char *env = NULL;
	size_t len;

	if (!k && berth_sign_key_generate(&k) != 0)
		abort();
	if (berth_sign_dsse_parse(&e, data, size) != 0)
		return 0;
	if (berth_sign_intoto_check(e->payload, e->payload_len, ZERO, NULL, NULL) == 0 &&
	    !memmem(e->payload, e->payload_len, &ZERO[7], 64))
		abort(); /* a statement about ZERO must name it */
	if (berth_sign_dsse_sign(&env, &len, k, e->payload_type, e->payload, e->payload_len) != 0 ||
	    berth_sign_dsse_parse(&again, env, len) != 0 || berth_sign_dsse_verify(again, k) != 0 ||
	    again->payload_len != e->payload_len ||
	    memcmp(again->payload, e->payload, e->payload_len) != 0)
		abort();
	free(env);
	berth_sign_dsse_free(again);
	berth_sign_dsse_free(e);
	return 0;
}
