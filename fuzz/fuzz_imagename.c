/*
 * fuzz_imagename.c - libFuzzer target for transport image names
 * (berth_image_name_parse / berth_image_name_format, src/lib/transport/name.c).
 *
 * Invariants: a failed parse leaves *out NULL and sets a message; a parsed
 * name formats, the text re-parses, and the second parse has the same kind,
 * path, tag, index and reference (format is a fixed point after one round).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/transport.h"

static int same(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	berth_image_name *a = NULL, *b = NULL;
	char *s, *fa = NULL, *fb = NULL, *ra = NULL, *rb = NULL;

	if (!(s = malloc(size + 1)))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (berth_image_name_parse(&a, s) != 0) {
		if (a || !berth_error_last()[0])
			abort();
		goto done;
	}
	if (!(fa = berth_image_name_format(a)))
		abort();
	if (berth_image_name_parse(&b, fa) != 0)
		abort(); /* the canonical form must parse */
	if (a->kind != b->kind || !same(a->path, b->path) || !same(a->tag, b->tag) ||
	    a->index != b->index || !a->ref != !b->ref)
		abort();
	if (a->ref) {
		ra = berth_ref_format(a->ref);
		rb = berth_ref_format(b->ref);
		if (!ra || !rb || strcmp(ra, rb))
			abort();
	}
	if (!(fb = berth_image_name_format(b)) || strcmp(fa, fb))
		abort();
done:
	free(ra);
	free(rb);
	free(fa);
	free(fb);
	berth_image_name_free(a);
	berth_image_name_free(b);
	free(s);
	return 0;
}
