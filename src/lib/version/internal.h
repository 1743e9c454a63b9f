/*
 * internal.h - what the files of src/lib/version share: one comparison
 * function per scheme (each validates both versions and sets the error
 * message), and small helpers for digit strings of any length.
 */
#ifndef BERTH_VERSION_INTERNAL_H
#define BERTH_VERSION_INTERNAL_H

#include "berth/version.h"

#include <stddef.h>

/* Each returns 0 with *cmp in {-1, 0, 1}, or BERTH_EINVALID (message set). */
int berth_version__deb_cmp(const char *a, const char *b, int *cmp);
int berth_version__rpm_cmp(const char *a, const char *b, int *cmp);
int berth_version__apk_cmp(const char *a, const char *b, int *cmp);
int berth_version__pep440_cmp(const char *a, const char *b, int *cmp);
int berth_version__semver_cmp(const char *a, const char *b, int *cmp);
int berth_version__go_cmp(const char *a, const char *b, int *cmp);
int berth_version__maven_cmp(const char *a, const char *b, int *cmp);
int berth_version__gem_cmp(const char *a, const char *b, int *cmp);
int berth_version__composer_cmp(const char *a, const char *b, int *cmp);
int berth_version__nuget_cmp(const char *a, const char *b, int *cmp);

/** A parsed SemVer 2 version (node-semver's reading); spans point into the text. */
typedef struct berth_semver {
	const char *major, *minor, *patch; /* digit runs, no leading zero unless "0" */
	size_t major_len, minor_len, patch_len;
	const char *pre; /* after '-', NULL if none */
	size_t pre_len;
} berth_semver;

/** Parse a node-semver version (trimmed, optional leading 'v'); sets the error. */
int berth_version__semver_parse(berth_semver *out, const char *s, size_t len);
int berth_version__semver_order(const berth_semver *a, const berth_semver *b);

/** Compare two dot-separated prerelease lists by SemVer's rules. */
int berth_version__semver_pre_cmp(const char *a, size_t an, const char *b, size_t bn);

/** node-semver's numeric limit, Number.MAX_SAFE_INTEGER. */
#define BERTH_SEMVER_MAX_SAFE 9007199254740991ULL

/** Compare two digit runs as unbounded integers (leading zeros ignored). */
int berth_version__numcmp(const char *a, size_t alen, const char *b, size_t blen);

/** -1, 0, 1 from any int. */
static inline int berth_version__sign(long v)
{
	return (v > 0) - (v < 0);
}

/** Common input checks: NULL, length cap. `what` names the scheme in messages. */
int berth_version__check(const char *what, const char *v);

#endif
