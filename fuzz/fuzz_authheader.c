/*
 * fuzz_authheader.c - libFuzzer target for the Authorization header
 * grammars (berth_cred_parse_basic, berth_cred_parse_bearer) and the
 * challenge builder (src/lib/auth/header.c).
 *
 * Invariants: parsed Basic credentials are NUL-terminated within their
 * buffers, the user is non-empty and free of ':' and control characters;
 * a Bearer token lies inside the header and is non-empty; a challenge built
 * from arbitrary text either fails or contains no CR/LF.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cred.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *h, user[64], pass[64];
	const char *tok;
	size_t toklen;
	berth_buf b = BERTH_BUF_INIT(1 << 16);

	if (!(h = malloc(size + 1)))
		return 0;
	memcpy(h, data, size);
	h[size] = '\0';
	if (berth_cred_parse_basic(h, user, sizeof(user), pass, sizeof(pass)) == 0) {
		size_t ul = strnlen(user, sizeof(user)), pl = strnlen(pass, sizeof(pass));

		if (ul == 0 || ul == sizeof(user) || pl == sizeof(pass) || strchr(user, ':'))
			abort();
		for (size_t i = 0; i < ul; i++) {
			if ((unsigned char)user[i] < 0x20 || user[i] == 0x7f)
				abort();
		}
	}
	if (berth_cred_parse_bearer(h, &tok, &toklen) == 0) {
		if (toklen == 0 || toklen > BERTH_TOKEN_MAX_BYTES || tok < h ||
		    tok + toklen > h + size)
			abort();
	}
	if (berth_cred_challenge(&b, h, h, NULL, 0, h) == 0) {
		if (memchr(b.ptr, '\r', b.len) || memchr(b.ptr, '\n', b.len))
			abort();
	}
	berth_buf_dispose(&b);
	free(h);
	return 0;
}
