/*
 * berth/version.h - version orders of the package ecosystems the scanner
 * matches: Debian (dpkg), RPM (rpmvercmp with epochs, `~` and `^`), Alpine
 * (apk), Python (PEP 440), SemVer 2 (and npm's range syntax), Go modules,
 * Maven (ComparableVersion), RubyGems, Composer and NuGet.
 *
 * Each order is the one of the ecosystem's own tool (dpkg, rpm, packaging,
 * node-semver, golang.org/x/mod/semver, maven-artifact, Gem::Version,
 * composer/semver + PHP version_compare, NuGet.Versioning); the integration
 * tests compare them with those tools on thousands of pairs.
 *
 * A version the ecosystem's tool rejects is BERTH_EINVALID with a message
 * naming the scheme, the version and what is wrong. Every version is capped
 * at BERTH_VERSION_MAX bytes (BERTH_ETOOBIG beyond), a range at
 * BERTH_VERSION_RANGE_MAX.
 *
 * Thread safety: every function is reentrant; nothing is shared.
 */
#ifndef BERTH_VERSION_H
#define BERTH_VERSION_H

#include "berth/common.h"

#include <stddef.h>

/** Longest version string accepted, in bytes. */
#define BERTH_VERSION_MAX 256
/** Longest npm range accepted, in bytes. */
#define BERTH_VERSION_RANGE_MAX 4096

typedef enum {
	BERTH_VERSION_DEB = 0,	/* dpkg: [epoch:]upstream[-revision] */
	BERTH_VERSION_RPM,	/* rpm: [epoch:]version[-release] */
	BERTH_VERSION_APK,	/* Alpine apk-tools */
	BERTH_VERSION_PEP440,	/* Python packaging */
	BERTH_VERSION_SEMVER,	/* SemVer 2.0.0 as node-semver reads it (optional v) */
	BERTH_VERSION_GO,	/* Go modules: golang.org/x/mod/semver (v required) */
	BERTH_VERSION_MAVEN,	/* maven-artifact ComparableVersion */
	BERTH_VERSION_GEM,	/* RubyGems Gem::Version */
	BERTH_VERSION_COMPOSER, /* composer/semver normalize + PHP version_compare */
	BERTH_VERSION_NUGET,	/* NuGet.Versioning NuGetVersion */
	BERTH_VERSION_SCHEME_COUNT
} berth_version_scheme;

/**
 * The scheme named `name`: "deb" (or "dpkg", "debian"), "rpm", "apk",
 * "pep440" (or "pypi", "python"), "semver" (or "npm"), "go" (or "golang"),
 * "maven", "gem" (or "rubygems"), "composer" (or "packagist"), "nuget".
 * Case-insensitive. BERTH_ENOTFOUND for any other name.
 */
int berth_version_scheme_parse(const char *name, berth_version_scheme *out) BERTH_WARN_UNUSED;

/** The canonical short name of a scheme ("deb", "rpm", ...). Static string. */
const char *berth_version_scheme_name(berth_version_scheme s);

/**
 * The scheme of an OSV ecosystem name ("Debian:12" -> deb, "PyPI" -> pep440,
 * "crates.io" -> semver, ...). The part after ':' is ignored.
 * BERTH_ENOTFOUND if the ecosystem has no known order.
 */
int berth_version_scheme_for_ecosystem(const char *ecosystem,
				       berth_version_scheme *out) BERTH_WARN_UNUSED;

/**
 * Compare two versions of one scheme: *cmp is -1, 0 or 1 as a <, =, > b.
 * BERTH_EINVALID (message set) if either is not a version of the scheme,
 * BERTH_ETOOBIG if either is longer than BERTH_VERSION_MAX.
 */
int berth_version_compare(berth_version_scheme s, const char *a, const char *b,
			  int *cmp) BERTH_WARN_UNUSED;

/** 0 if `v` is a valid version of the scheme, else as berth_version_compare. */
int berth_version_validate(berth_version_scheme s, const char *v) BERTH_WARN_UNUSED;

/**
 * npm (node-semver) range satisfaction: *out is 1 if `version` satisfies
 * `range` ("^1.2.3 || >=2.0.0-rc.1 <3", "1.x - 2", "~1.2", "*", ...), with
 * node-semver's default prerelease rule (a prerelease satisfies only if a
 * comparator of the same set names the same major.minor.patch with a
 * prerelease). BERTH_EINVALID for a malformed version or range.
 */
int berth_version_npm_satisfies(const char *version, const char *range, int *out) BERTH_WARN_UNUSED;

/** Go module helpers: 1 if `v` is a pseudo-version (vX.Y.Z-[pre.]0.yyyymmddhhmmss-hash). */
int berth_version_go_is_pseudo(const char *v);

/** The kind of one event of an affected range (OSV's "events"). */
typedef enum {
	BERTH_VERSION_INTRODUCED = 0, /* affected from this version on ("0": from the start) */
	BERTH_VERSION_FIXED,	      /* not affected from this version on */
	BERTH_VERSION_LAST_AFFECTED,  /* affected up to and including this version */
	BERTH_VERSION_LIMIT	      /* nothing at or above this version is affected */
} berth_version_event_kind;

typedef struct berth_version_event {
	berth_version_event_kind kind;
	const char *version; /* borrowed */
} berth_version_event;

/**
 * Whether `v` lies in the affected range described by `events`, evaluated
 * as OSV's schema specifies: events sorted by version ("0" introduced
 * first), walked in order, introduced switches affected on, fixed (at or
 * below v) and last_affected (below v) switch it off, and v at or above any
 * limit is not affected. *affected is 1 or 0.
 * BERTH_EINVALID if v or an event's version is not a version of the scheme.
 */
int berth_version_affected(berth_version_scheme s, const char *v, const berth_version_event *events,
			   size_t n, int *affected) BERTH_WARN_UNUSED;

/**
 * The common case of berth_version_affected: is `v` in [introduced, fixed)?
 * `introduced` NULL or "0" means from the start, `fixed` NULL means no fix.
 */
int berth_version_in_range(berth_version_scheme s, const char *v, const char *introduced,
			   const char *fixed, int *affected) BERTH_WARN_UNUSED;

#endif
