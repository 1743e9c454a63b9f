/*
 * fixtures.h - shared helpers for the oci unit tests: sample digests and a
 * parse wrapper that lets manifests be written with single quotes in C
 * literals ('a' becomes "a"), which keeps real-world shaped JSON readable.
 */
#ifndef BERTH_TEST_OCI_FIXTURES_H
#define BERTH_TEST_OCI_FIXTURES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "berth/oci.h"

#define HEX_A "6e7f1d5bd06b3ee8bbc1fa7ac7b3d2e8b1c0c4ee27ee7a0e0b2f3d3d3c2a1b01"
#define HEX_B "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"
#define HEX_C "b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"
#define HEX_D "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define HEX_E "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DG_A "sha256:" HEX_A
#define DG_B "sha256:" HEX_B
#define DG_C "sha256:" HEX_C
#define DG_D "sha256:" HEX_D
#define DG_E "sha256:" HEX_E

/* A copy of `s` with every ' turned into ". Caller frees. */
static inline char *dq(const char *s)
{
	char *r = strdup(s);

	assert_non_null(r);
	for (char *p = r; *p; p++) {
		if (*p == '\'')
			*p = '"';
	}
	return r;
}

/* Parse a single-quoted manifest; on failure also checks *m stays NULL. */
static inline int parse_q(berth_manifest **m, const char *json_q, const char *content_type)
{
	char *s = dq(json_q);
	int rc;

	*m = (berth_manifest *)(uintptr_t)1; /* must be reset by the parser */
	rc = berth_manifest_parse(m, s, strlen(s), content_type);
	free(s);
	if (rc != 0)
		assert_null(*m);
	return rc;
}

/* Assert a single-quoted manifest is refused with `code` and a message containing `needle`. */
static inline void refused(const char *json_q, const char *content_type, int code,
			   const char *needle)
{
	berth_manifest *m;

	assert_int_equal(parse_q(&m, json_q, content_type), code);
	assert_int_equal(berth_error_last_code(), code);
	if (!strstr(berth_error_last(), needle))
		fail_msg("error \"%s\" does not mention \"%s\"", berth_error_last(), needle);
}

#endif
