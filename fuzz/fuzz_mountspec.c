/*
 * fuzz_mountspec.c - libFuzzer target for RUN --mount values
 * (berth_build__mount_parse, src/lib/build/mount.c).
 *
 * Invariants: a failed parse sets a message and leaves nothing allocated
 * (LeakSanitizer); a parsed mount has the fields its type needs (a target
 * for bind, cache and tmpfs; an id for secret, ssh and cache; a target or
 * an env for secret), absolute or relative, and a mode within 07777.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/build/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	build_mount m;
	char *s;

	if (!(s = malloc(size + 1)))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (berth_build__mount_parse(&m, s, 0) != 0) {
		if (!berth_error_last()[0])
			abort();
		free(s);
		return 0;
	}
	if ((m.type == BM_BIND || m.type == BM_CACHE || m.type == BM_TMPFS) &&
	    (!m.target || !*m.target))
		abort();
	if ((m.type == BM_SECRET || m.type == BM_SSH || m.type == BM_CACHE) && (!m.id || !*m.id))
		abort();
	if (m.type == BM_SECRET && !m.target && !m.env)
		abort();
	if (m.mode > 07777)
		abort();
	berth_build__mount_dispose(&m);
	free(s);
	return 0;
}
