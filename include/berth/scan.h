/*
 * berth/scan.h - the vulnerability scanner: the join of a catalogue
 * (berth/catalog.h) with the vulnerability database (berth/vulndb.h), each
 * package matched in its own ecosystem with that ecosystem's version order.
 *
 * Distro packages are matched by their source package and source version
 * in the distro's release ("Debian:12" never answers for Debian 11);
 * language packages by name in their registry's ecosystem (PyPI, npm, Go,
 * Maven "group:artifact", crates.io, RubyGems, Packagist, NuGet). Statuses
 * (fixed, not-fixed, will-not-fix, fix-deferred, end-of-life) come from
 * the database unchanged.
 *
 * A report can then be narrowed: filters drop findings (severity,
 * --ignore-unfixed, package types), ignore files (Trivy's .trivyignore and
 * .trivyignore.yaml) and VEX documents (OpenVEX, CycloneDX VEX) suppress
 * them (a suppressed finding stays in the report with its reason, and only
 * the JSON output lists it). Outputs: a terminal table grouped by target,
 * berth's JSON (docs/scan-json.md), SARIF 2.1.0, CycloneDX 1.6/1.5 with
 * vulnerabilities.
 *
 * Thread safety: a report is owned by one thread at a time.
 */
#ifndef BERTH_SCAN_H
#define BERTH_SCAN_H

#include "berth/catalog.h"
#include "berth/common.h"
#include "berth/vulndb.h"

#include <stddef.h>
#include <time.h>

/** Largest ignore file, VEX document or SBOM read. */
#define BERTH_SCAN_INPUT_MAX (256u * 1024 * 1024)
/** Findings kept in one report. */
#define BERTH_SCAN_FINDINGS_MAX 1000000
/** Longest ecosystem key, package key or version built for a query. */
#define BERTH_SCAN_KEY_MAX 512

/** Severities, lowest first (UNKNOWN and NEGLIGIBLE sort below LOW). */
typedef enum {
	BERTH_SEV_UNKNOWN = 0,
	BERTH_SEV_NEGLIGIBLE,
	BERTH_SEV_LOW,
	BERTH_SEV_MEDIUM,
	BERTH_SEV_HIGH,
	BERTH_SEV_CRITICAL,
	BERTH_SEV__COUNT
} berth_scan_severity;

/** "CRITICAL" ... "UNKNOWN" (static). */
const char *berth_scan_severity_name(berth_scan_severity s);

/** A severity word, case-insensitive; BERTH_EINVALID if it is not one. */
int berth_scan_severity_parse(const char *s, berth_scan_severity *out) BERTH_WARN_UNUSED;

/**
 * A comma-separated severity list ("HIGH,CRITICAL") as a bit mask
 * (1 << severity). BERTH_EINVALID names the bad word.
 */
int berth_scan_severity_mask(const char *list, unsigned *mask) BERTH_WARN_UNUSED;

typedef struct berth_scan_finding {
	size_t pkg;	   /* index into the report's catalogue packages */
	char *id;	   /* CVE-..., GHSA-..., ... */
	char *aliases;	   /* comma-separated, "" if none */
	char *fixed;	   /* the fixed version above the installed one, "" if none */
	char *status;	   /* fixed, not-fixed, will-not-fix, fix-deferred, end-of-life */
	char *summary;	   /* "" if none */
	char *source;	   /* the database import source of the advisory */
	char *ecosystem;   /* "Debian:12", "PyPI", ... as queried */
	char *matched;	   /* the package name queried (the source package for distros) */
	char *installed;   /* the version queried (the source version for distros) */
	char *cvss_vector; /* CVSS v3/v4 vector, "" if none */
	double cvss;	   /* its score (v3 base, v4 per the vector's metrics), -1 if unknown */
	berth_scan_severity severity;
	char *suppressed; /* NULL, or why ("ignore file .trivyignore:3", "VEX vex.json: ...") */
} berth_scan_finding;

typedef struct berth_scan_report {
	berth_catalog *catalog; /* owned */
	berth_scan_finding *findings;
	size_t n, cap;
	size_t queried;	  /* packages looked up */
	size_t unmatched; /* packages with no ecosystem in the database's terms */
	char **warnings;  /* "package@version: why" */
	size_t nwarnings;
	time_t db_built_at; /* the database's build time, 0 if unknown */
} berth_scan_report;

/**
 * The query key of one package: ecosystem ("Debian:12", "Alpine:v3.18",
 * "PyPI"...), package name as the database keys it, and version. Each
 * buffer holds BERTH_SCAN_KEY_MAX bytes. BERTH_ENOTFOUND if the package has
 * no ecosystem (an OS package of an unknown distro).
 */
int berth_scan_package_key(const berth_catalog *c, const berth_package *p, char *eco, char *name,
			   char *version) BERTH_WARN_UNUSED;

/**
 * Match every package of `catalog` against `db`. The report takes
 * `catalog` (on success and on failure). Packages whose version the
 * ecosystem's order cannot read become warnings. *out freed with
 * berth_scan_report_free. BERTH_EIO on a database failure.
 */
int berth_scan_match(berth_scan_report **out, berth_catalog *catalog,
		     berth_vulndb *db) BERTH_WARN_UNUSED;

void berth_scan_report_free(berth_scan_report *r);

/** What berth_scan_filter drops. */
typedef struct berth_scan_filter_options {
	unsigned severities; /* mask of berth_scan_severity_mask; 0 = every severity */
	int ignore_unfixed;  /* drop findings without a fixed version */
	int os, library;     /* package types kept; both 0 = both kept */
} berth_scan_filter_options;

/** Drop the findings the options exclude (the report keeps the rest in order). */
void berth_scan_filter(berth_scan_report *r, const berth_scan_filter_options *o);

/**
 * Suppress findings listed in an ignore file: Trivy's .trivyignore (one id
 * per line, "#" comments, an optional "exp:YYYY-MM-DD" after which the line
 * no longer applies) or its YAML form (vulnerabilities: - id, paths,
 * purls, expired_at, statement), recognised by a .yaml/.yml name. An id
 * matches a finding's id or one of its aliases. `now` decides expiry.
 * BERTH_ENOTFOUND, BERTH_EINVALID (with file and line) or BERTH_ETOOBIG.
 */
int berth_scan_ignore_file(berth_scan_report *r, const char *path, time_t now) BERTH_WARN_UNUSED;

/**
 * Suppress findings a VEX document states not to affect their product:
 * OpenVEX (status not_affected or fixed) or CycloneDX VEX (analysis state
 * not_affected, false_positive, resolved, resolved_with_pedigree). A
 * statement applies when its vulnerability is the finding's id or alias
 * and one of its products (or OpenVEX subcomponents) is the package's
 * PURL (qualifiers and version compared only when the statement has them).
 * BERTH_ENOTFOUND, BERTH_EINVALID or BERTH_ETOOBIG.
 */
int berth_scan_vex_file(berth_scan_report *r, const char *path) BERTH_WARN_UNUSED;

/**
 * Load an SBOM file (CycloneDX JSON or SPDX 2.x JSON, by content) as a
 * catalogue: packages from their PURLs (with berth's and Trivy's source
 * package properties when present), the OS from the operating-system
 * component or the PURLs' distro qualifier. Caller frees *out.
 * BERTH_EINVALID if the file is neither, BERTH_ETOOBIG past
 * BERTH_SCAN_INPUT_MAX.
 */
int berth_scan_sbom_load(berth_catalog **out, const char *path) BERTH_WARN_UNUSED;

/** 1 if the file at `path` looks like an SBOM this module reads (CycloneDX/SPDX JSON). */
int berth_scan_is_sbom(const char *path);

typedef enum {
	BERTH_SCAN_TABLE = 0,
	BERTH_SCAN_JSON,
	BERTH_SCAN_SARIF,
	BERTH_SCAN_CYCLONEDX
} berth_scan_format;

/** "table", "json", "sarif", "cyclonedx" -> the enum; BERTH_EINVALID otherwise. */
int berth_scan_format_parse(berth_scan_format *out, const char *name) BERTH_WARN_UNUSED;

typedef struct berth_scan_render_options {
	berth_scan_format format;
	const char *cyclonedx_version; /* "1.6" (default) or "1.5" */
	time_t created;		       /* document time; 0 = now */
} berth_scan_render_options;

/**
 * Render the report. `*out` (NUL-terminated, caller frees) and `*len`.
 * Suppressed findings appear only in JSON (under "suppressed").
 */
int berth_scan_render(char **out, size_t *len, const berth_scan_report *r,
		      const berth_scan_render_options *o) BERTH_WARN_UNUSED;

/**
 * The exit status a scan asks for: 0 unless a finding is left (not
 * suppressed) and `exit_code` >= 0 (then exit_code), or `fail_on` >= 0 and
 * a finding reaches that severity (then 1, or exit_code when both are
 * given: with both, fail_on is the threshold and exit_code the status).
 */
int berth_scan_exit_status(const berth_scan_report *r, int exit_code, int fail_on);

/* ---- comparing two images (Docker Scout's compare) ---- */

/** One package difference: `from` NULL when added, `to` NULL when removed. */
typedef struct berth_scan_pkg_change {
	berth_pkg_type type;
	char *name; /* maven: "group:artifact" */
	char *from; /* the versions in the --to image, ", "-joined and sorted */
	char *to;   /* the versions in the image */
} berth_scan_pkg_change;

/** One vulnerability present on one side only. */
typedef struct berth_scan_vuln_change {
	char *id;
	berth_pkg_type type;
	char *package;	 /* as in berth_scan_pkg_change.name */
	char *installed; /* the installed version(s) on the side that has it */
	char *fixed;	 /* "" if none */
	berth_scan_severity severity;
} berth_scan_vuln_change;

typedef struct berth_scan_comparison {
	char *image, *to; /* the two targets, as catalogued */
	berth_scan_pkg_change *added, *removed, *changed;
	size_t nadded, nremoved, nchanged, nunchanged;
	berth_scan_vuln_change *introduced, *fixed; /* in the image only / in --to only */
	size_t nintroduced, nfixed;
} berth_scan_comparison;

/**
 * Compare `image` with the baseline `to`. Packages are keyed by type, group
 * and name (several instances of one name are one entry whose versions are
 * the sorted set); a package is changed when both sides have it with
 * different version sets. Vulnerabilities are keyed by id and package key,
 * so an upgrade that leaves a vulnerability in place neither fixes nor
 * introduces it; suppressed findings do not count. Lists are sorted.
 * *out freed with berth_scan_comparison_free. BERTH_ERROR on OOM.
 */
int berth_scan_compare(berth_scan_comparison **out, const berth_scan_report *image,
		       const berth_scan_report *to) BERTH_WARN_UNUSED;

/** Render as BERTH_SCAN_TABLE or BERTH_SCAN_JSON (docs/scan-json.md). Caller frees *out. */
int berth_scan_comparison_render(char **out, size_t *len, const berth_scan_comparison *c,
				 berth_scan_format format) BERTH_WARN_UNUSED;

void berth_scan_comparison_free(berth_scan_comparison *c);

/* ---- other tags of the base image (Docker Scout's recommendations) ---- */

/** Tags of a base repository examined at most. */
#define BERTH_SCAN_TAGS_MAX 1000

/** Unsuppressed findings of `r` by severity. */
void berth_scan_counts(const berth_scan_report *r, size_t counts[BERTH_SEV__COUNT]);

typedef struct berth_scan_candidate {
	char *tag;
	char *digest; /* the tag's image manifest digest */
	size_t counts[BERTH_SEV__COUNT];
	size_t packages;
	int current; /* the image's base today */
} berth_scan_candidate;

typedef struct berth_scan_recommendations {
	char *image;			  /* the target, as catalogued */
	char *repository;		  /* the base repository, "host/path" */
	char *found_by;			  /* "annotation" or "layers" */
	berth_scan_candidate *candidates; /* best first */
	size_t n;
	char **warnings; /* "TAG: why it was left out" */
	size_t nwarnings;
} berth_scan_recommendations;

typedef struct berth_scan_recommend_options {
	berth_vulndb *db;
	const berth_catalog_options *catalog; /* for every tag (cache, platform, transport) */
	/* The base repository ("host/path", no tag) when the image has no base
	   annotation, or to override it; the current base is then the tag whose
	   layers are the longest prefix of the image's. */
	const char *repository;
	size_t max_tags; /* 0 = BERTH_SCAN_TAGS_MAX */
} berth_scan_recommend_options;

/**
 * The tags of `image`'s base repository with their vulnerability counts,
 * best first (fewest CRITICAL, then HIGH, ... then UNKNOWN; then fewer
 * findings; then tag name). The repository comes from o->repository, else
 * from the image's org.opencontainers.image.base.name annotation (a docker
 * reference, "docker://" optional). A tag that cannot be catalogued is a
 * warning. BERTH_ENOTFOUND when no repository is known or no tag's layers
 * are a prefix of the image's (with o->repository); BERTH_EINVALID for a
 * base that is not in a registry; client errors as berth/client.h.
 */
int berth_scan_recommend(berth_scan_recommendations **out, const berth_catalog *image,
			 const berth_scan_recommend_options *o) BERTH_WARN_UNUSED;

/** Render as BERTH_SCAN_TABLE or BERTH_SCAN_JSON. Caller frees *out. */
int berth_scan_recommendations_render(char **out, size_t *len, const berth_scan_recommendations *r,
				      berth_scan_format format) BERTH_WARN_UNUSED;

void berth_scan_recommendations_free(berth_scan_recommendations *r);

#endif
