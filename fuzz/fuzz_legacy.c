/*
 * fuzz_legacy.c - libFuzzer target for cosign's legacy ".sig" layer
 * annotations (src/lib/sign/legacy.c): the input is the signature, the
 * certificate PEM, the chain PEM and the Rekor bundle JSON separated by NUL
 * bytes (a missing part is an absent annotation). The layer is verified
 * with a fresh key and keyless without a root: both must refuse, never crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static berth_sign_key *k;
	berth_sign_identity id = {"a@example.com", "https://issuer.example", 0};
	const char *part[4] = {NULL, NULL, NULL, NULL};
	char *text = malloc(size + 1), *p;
	berth_sign_legacy l;

	if (!text || (!k && berth_sign_key_generate(&k) != 0))
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	p = text;
	for (int i = 0; i < 4 && p <= text + size; i++) {
		part[i] = p;
		p += strlen(p) + 1;
	}
	l.signature = part[0];
	l.certificate = part[1];
	l.chain = part[2];
	l.bundle = part[3];
	if (berth_sign_legacy_verify("x", 1, &l, k, NULL, NULL) == 0)
		abort(); /* a fresh random key cannot have signed a corpus layer */
	if (berth_sign_legacy_verify("x", 1, &l, NULL, NULL, &id) == 0)
		abort(); /* no root: keyless verification cannot pass */
	free(text);
	return 0;
}
