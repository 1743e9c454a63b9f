/*
 * fuzz_version.c - libFuzzer target for every version parser of
 * src/lib/version and the npm range parser.
 *
 * The first byte picks the scheme (or npm ranges); the rest, split at the
 * first NUL byte, gives two strings. Invariants checked: a comparison that
 * succeeds is antisymmetric and every version equals itself; validate
 * agrees with compare; satisfies never fails on a valid pair except with
 * EINVALID/ETOOBIG.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/version.h"

static void check_scheme(berth_version_scheme s, const char *a, const char *b)
{
	int ab, ba, aa;
	int ra = berth_version_compare(s, a, b, &ab);

	if (ra != 0) {
		if (ra != BERTH_EINVALID && ra != BERTH_ETOOBIG)
			abort();
		return;
	}
	if (berth_version_compare(s, b, a, &ba) != 0 || ab != -ba)
		abort();
	if (ab < -1 || ab > 1)
		abort();
	if (berth_version_compare(s, a, a, &aa) != 0 || aa != 0)
		abort();
	if (berth_version_validate(s, a) != 0 || berth_version_validate(s, b) != 0)
		abort();
	if (s == BERTH_VERSION_GO)
		(void)berth_version_go_is_pseudo(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *a, *b;
	size_t n;
	unsigned pick;

	if (size < 1)
		return 0;
	pick = data[0] % (BERTH_VERSION_SCHEME_COUNT + 1);
	n = size - 1;
	if (!(buf = malloc(n + 2)))
		return 0;
	memcpy(buf, data + 1, n);
	buf[n] = '\0';
	buf[n + 1] = '\0';
	a = buf;
	b = buf + strlen(buf) + 1;
	if (b > buf + n)
		b = buf + n + 1;
	if (pick == BERTH_VERSION_SCHEME_COUNT) {
		int r;
		int rc = berth_version_npm_satisfies(a, b, &r);

		if (rc != 0 && rc != BERTH_EINVALID && rc != BERTH_ETOOBIG)
			abort();
		if (rc == 0 && r != 0 && r != 1)
			abort();
	} else {
		check_scheme((berth_version_scheme)pick, a, b);
	}
	free(buf);
	return 0;
}
