/*
 * fuzz_buildoutput.c - libFuzzer target for `berth build -o` values
 * (berth_build_output_parse, src/lib/build/export.c).
 *
 * Invariants: a failed parse sets a message and leaves nothing allocated
 * (LeakSanitizer); a parsed output has a dest where its type needs one
 * (local, tar, oci), none for type=image, never "-" for a directory, at most
 * BERTH_BUILD_OUTPUT_NAMES_MAX names, a known compression or -1.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/build.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	berth_build_output o;
	char *s;

	if (!(s = malloc(size + 1)))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (berth_build_output_parse(&o, s) != 0) {
		if (!berth_error_last()[0])
			abort();
		free(s);
		return 0;
	}
	if ((o.type == BERTH_BUILD_OUT_LOCAL || o.type == BERTH_BUILD_OUT_TAR ||
	     o.type == BERTH_BUILD_OUT_OCI) &&
	    (!o.dest || !*o.dest))
		abort();
	if (o.type == BERTH_BUILD_OUT_IMAGE && o.dest)
		abort();
	if (o.type == BERTH_BUILD_OUT_LOCAL && strcmp(o.dest, "-") == 0)
		abort();
	if (o.nnames > BERTH_BUILD_OUTPUT_NAMES_MAX || o.nannotations > BERTH_BUILD_ANNOTATIONS_MAX)
		abort();
	if (o.compression < -1 || o.compression > BERTH_LAYER_ZSTD)
		abort();
	berth_build_output_dispose(&o);
	free(s);
	return 0;
}
