/*
 * fuzz_digest.c - libFuzzer target for digest parsing and the hashers
 * (src/lib/digest/digest.c).
 *
 * A parsed digest must reproduce its input exactly (parsing never
 * normalises), have the exact hex length of its algorithm, and compare equal
 * to itself. Hashing the input in one shot and streamed in two pieces (split
 * chosen by the input) must agree, and a computed digest must parse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const berth_digest_algo algos[] = {BERTH_DIGEST_SHA256, BERTH_DIGEST_SHA512};
	berth_digest d, e;
	int rc;

	rc = berth_digest_parse(&d, (const char *)data, size);
	if (rc == 0) {
		size_t hexlen = d.algo == BERTH_DIGEST_SHA256 ? 64 : 128;

		if (strlen(d.str) != size || memcmp(d.str, data, size) != 0)
			abort();
		if (strlen(berth_digest_hex(&d)) != hexlen)
			abort();
		if (!berth_digest_equal(&d, &d))
			abort();
	} else if (rc != BERTH_EINVALID && rc != BERTH_EUNSUPPORTED) {
		abort();
	}

	for (size_t i = 0; i < 2; i++) {
		berth_hasher *h = NULL;
		size_t split = size ? data[0] % (size + 1) : 0;

		if (berth_digest_compute(&d, algos[i], data, size) != 0)
			abort();
		if (berth_digest_parse(&e, d.str, strlen(d.str)) != 0 ||
		    !berth_digest_equal(&d, &e))
			abort();
		if (berth_hasher_new(&h, algos[i]) != 0)
			abort();
		if (berth_hasher_update(h, data, split) != 0 ||
		    berth_hasher_update(h, data + split, size - split) != 0 ||
		    berth_hasher_count(h) != size || berth_hasher_final(h, &e) != 0)
			abort();
		if (!berth_digest_equal(&d, &e))
			abort();
		berth_hasher_free(h);
	}
	return 0;
}
