/*
 * fuzz_ref.c - libFuzzer target for image references and the name/tag
 * grammars (src/lib/ref/ref.c).
 *
 * Invariants checked on every input that parses: the parts satisfy their own
 * grammars, the digest is canonical, and format() re-parses to exactly the
 * same reference (format is a fixed point after one round).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/ref.h"

static int same(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	berth_ref *a = NULL, *b = NULL;
	char *s, *fa = NULL, *fb = NULL;

	/* The grammars take explicit lengths: feed the raw bytes. */
	(void)berth_ref_name_valid((const char *)data, size);
	(void)berth_ref_tag_valid((const char *)data, size);

	if (!(s = malloc(size + 1)))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (berth_ref_parse(&a, s) != 0)
		goto done;
	if (!a->domain || !a->path)
		abort();
	if (!berth_ref_name_valid(a->path, strlen(a->path)))
		abort();
	if (a->tag && !berth_ref_tag_valid(a->tag, strlen(a->tag)))
		abort();
	if (a->digest) {
		berth_digest d;

		if (berth_digest_parse(&d, a->digest, strlen(a->digest)) != 0)
			abort();
	}
	if (!(fa = berth_ref_format(a)))
		goto done; /* OOM */
	if (berth_ref_parse(&b, fa) != 0)
		abort(); /* a formatted reference must re-parse */
	if (!same(a->domain, b->domain) || !same(a->path, b->path) || !same(a->tag, b->tag) ||
	    !same(a->digest, b->digest))
		abort();
	if (!(fb = berth_ref_format(b)))
		goto done;
	if (strcmp(fa, fb) != 0)
		abort();
done:
	free(fb);
	free(fa);
	berth_ref_free(b);
	berth_ref_free(a);
	free(s);
	return 0;
}
