/*
 * fuzz_bundle.c - libFuzzer target for the sigstore bundle and trusted root
 * parsers (src/lib/sign/bundle.c, keyless.c). A bundle that parses is run
 * through key-based and keyless verification against a fixed root (which
 * must refuse or accept without crashing). The first byte picks the parser.
 */
#include <stdint.h>
#include <stdlib.h>

#include "berth/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	berth_sign_bundle *b = NULL;
	berth_sign_trusted_root *r = NULL;
	static berth_sign_key *k;
	berth_sign_identity id = {"a@example.com", "https://issuer.example", 0};

	if (!k && berth_sign_key_generate(&k) != 0)
		abort();
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (berth_sign_trusted_root_parse(&r, data + 1, size - 1) == 0)
			berth_sign_trusted_root_free(r);
		return 0;
	}
	if (berth_sign_bundle_parse(&b, data + 1, size - 1) != 0)
		return 0;
	if (berth_sign_bundle_verify(b, "x", 1, NULL, k, NULL, NULL) == 0)
		abort(); /* a fresh random key cannot have signed a corpus bundle */
	if (berth_sign_bundle_verify(b, "x", 1, NULL, NULL, NULL, &id) == 0)
		abort(); /* no root: keyless verification cannot pass */
	berth_sign_bundle_free(b);
	return 0;
}
