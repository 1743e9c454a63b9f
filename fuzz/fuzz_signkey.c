/*
 * fuzz_signkey.c - libFuzzer target for the key file parser
 * (berth_sign_key_load_private / _load_public, src/lib/sign/key.c): cosign
 * encrypted key files and PEM keys. Invariant: a private key that loads
 * signs, and its exported public key verifies that signature.
 */
#include <stdint.h>
#include <stdlib.h>

#include "berth/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	berth_sign_key *k = NULL, *pub = NULL;
	unsigned char *sig = NULL;
	char *pem = NULL;
	size_t n = 0, len = 0;

	if (berth_sign_key_load_public(&pub, (const char *)data, size) == 0)
		berth_sign_key_free(pub);
	pub = NULL;
	if (berth_sign_key_load_private(&k, (const char *)data, size, "fuzz") != 0)
		return 0;
	if (berth_sign_key_sign(k, "m", 1, &sig, &n) != 0 ||
	    berth_sign_key_export_public(k, &pem, &len) != 0 ||
	    berth_sign_key_load_public(&pub, pem, len) != 0 ||
	    berth_sign_key_verify(pub, "m", 1, sig, n) != 0)
		abort();
	free(sig);
	free(pem);
	berth_sign_key_free(pub);
	berth_sign_key_free(k);
	return 0;
}
