/*
 * fuzz_buildcache.c - libFuzzer target for the records document of an
 * imported build cache (berth_build__cache_records_parse,
 * src/lib/build/cache.c): what --cache-from reads from a registry, a
 * directory or an image config.
 *
 * Invariants: a refused document sets a message and returns nothing; an
 * accepted one is an object whose every record has a config object and a
 * layers array (what berth_build__state_load reads), no leak (LeakSanitizer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/build/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *recs = NULL, *st;
	const char *key;

	if (berth_build__cache_records_parse(data, size, "fuzz", &recs) != 0) {
		if (recs || !berth_error_last()[0])
			abort();
		return 0;
	}
	if (!json_is_object(recs))
		abort();
	json_object_foreach(recs, key, st)
	{
		if (!strchr(key, ':')) /* a digest */
			abort();
		if (!json_is_object(json_object_get(st, "config")) ||
		    !json_is_array(json_object_get(st, "layers")))
			abort();
	}
	json_decref(recs);
	return 0;
}
