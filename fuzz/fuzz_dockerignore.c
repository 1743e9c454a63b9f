/*
 * fuzz_dockerignore.c - libFuzzer target for .dockerignore reading and the
 * pattern matcher (src/lib/dockerfile/ignore.c). The input up to the first
 * NUL is the ignore file; the rest is a list of newline-separated paths.
 *
 * Invariants: matching is deterministic, the deciding pattern index is in
 * range, and a path is never excluded by an exception pattern.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/dockerfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data, *nul = memchr(d, '\0', size);
	size_t plen = nul ? (size_t)(nul - d) : size;
	berth_dockerignore *ign = NULL;
	char *paths;

	if (berth_dockerignore_parse(&ign, d, plen, "fuzz") != 0)
		return 0;
	paths = nul ? strndup(nul + 1, size - plen - 1) : strdup("a/b/c");
	if (!paths)
		abort();
	for (char *save = NULL, *p = strtok_r(paths, "\n", &save); p;
	     p = strtok_r(NULL, "\n", &save)) {
		long w1, w2;
		int a = berth_dockerignore_excluded(ign, p, &w1);
		int b = berth_dockerignore_excluded(ign, p, &w2);

		if (a != b || w1 != w2 || w1 >= (long)ign->npatterns)
			abort();
		if (a && w1 >= 0 && ign->patterns[w1].exclusion)
			abort();
		(void)berth_dockerignore_may_reopen(ign, p);
		(void)berth_df_path_match(p, "x/y");
	}
	free(paths);
	berth_dockerignore_free(ign);
	return 0;
}
