/*
 * internal.h - what the files of src/lib/scan share: PURL parts (for VEX,
 * ignore files and SBOM input), reading a capped input file, and adding
 * a suppression to a finding.
 */
#ifndef BERTH_SCAN_INTERNAL_H
#define BERTH_SCAN_INTERNAL_H

#include "berth/scan.h"

#include <jansson.h>

/** A PURL split into its parts (decoded); strings owned, free with _dispose. */
typedef struct scan_purl {
	char *type, *ns, *name, *version;
	char *qualifiers; /* raw "k=v&k=v" (decoded values), "" if none */
} scan_purl;

int berth_scan__purl_parse(scan_purl *out, const char *s);
void berth_scan__purl_dispose(scan_purl *p);

/** The value of qualifier `key` of a parsed purl, copied into buf; NULL if absent. */
const char *berth_scan__purl_qualifier(const scan_purl *p, const char *key, char *buf, size_t len);

/**
 * 1 if the PURL `want` (from a VEX statement or an ignore file) names the
 * package whose PURL is `have`: type, namespace and name equal, version
 * equal when `want` has one, and each qualifier of `want` present in
 * `have` with the same value.
 */
int berth_scan__purl_matches(const char *want, const char *have);

/** Read a whole file (capped at BERTH_SCAN_INPUT_MAX); caller frees *out. */
int berth_scan__read(char **out, size_t *len, const char *path);

/** 1 if `id` is the finding's id or one of its aliases. */
int berth_scan__names(const berth_scan_finding *f, const char *id);

/** Mark a finding suppressed with a reason (the first reason stays). */
int berth_scan__suppress(berth_scan_finding *f, const char *fmt, ...) BERTH_PRINTF(2, 3);

/** The CycloneDX document of the catalogue with the findings as vulnerabilities. */
json_t *berth_scan__cyclonedx(const berth_scan_report *r, const char *version, time_t created);

/** SARIF 2.1.0 log of the findings. */
json_t *berth_scan__sarif(const berth_scan_report *r);

/** The group ("target") a package is shown under: "debian 12 (dpkg)", "Python", ... */
void berth_scan__target(const berth_scan_report *r, const berth_package *p, char *buf, size_t len);

#endif
