/*
 * vcase.h - shared helpers of the version unit tests: check a table of
 * (a, b, expected order) cases in both directions, and that versions are
 * refused with BERTH_EINVALID and a message naming the scheme.
 */
#ifndef BERTH_TEST_VCASE_H
#define BERTH_TEST_VCASE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "berth/version.h"

typedef struct vcase {
	const char *a, *b;
	int want;
} vcase;

static inline void check_cases(berth_version_scheme s, const vcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int got = 9, rev = 9;

		if (berth_version_compare(s, c[i].a, c[i].b, &got) != 0 ||
		    berth_version_compare(s, c[i].b, c[i].a, &rev) != 0)
			fail_msg("%s: '%s' vs '%s' refused: %s", berth_version_scheme_name(s),
				 c[i].a, c[i].b, berth_error_last());
		if (got != c[i].want || rev != -c[i].want)
			fail_msg("%s: '%s' vs '%s' = %d (reverse %d), want %d",
				 berth_version_scheme_name(s), c[i].a, c[i].b, got, rev, c[i].want);
	}
}

static inline void check_invalid(berth_version_scheme s, const char *valid, const char *const *v,
				 size_t n)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "invalid %s version", berth_version_scheme_name(s));
	for (size_t i = 0; i < n; i++) {
		int got = 9;

		if (berth_version_compare(s, v[i], valid, &got) != BERTH_EINVALID)
			fail_msg("%s: '%s' accepted (%d)", berth_version_scheme_name(s), v[i], got);
		if (strncmp(berth_error_last(), prefix, strlen(prefix)) != 0)
			fail_msg("message '%s' does not start with '%s'", berth_error_last(),
				 prefix);
		assert_int_equal(berth_version_validate(s, v[i]), BERTH_EINVALID);
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

#endif
