/*
 * berth/sbom.h - software bills of materials from a catalogue
 * (berth/catalog.h): SPDX 2.3 JSON, CycloneDX 1.6 JSON (1.5 on request),
 * a terminal table, and berth's own JSON (every field of the catalogue,
 * owned files included).
 *
 * The documents are valid against their official schemas: every package is
 * an SPDX package (CONTAINS-related to the image, which the document
 * DESCRIBES) and a CycloneDX component depending from the image's metadata
 * component, with its PURL as an external reference / purl field, licences
 * as SPDX expressions when they are ones (else LicenseRef-/named licences),
 * and the layer and path that brought it as properties / sourceInfo.
 *
 * Thread safety: none needed; functions only read the catalogue.
 */
#ifndef BERTH_SBOM_H
#define BERTH_SBOM_H

#include "berth/catalog.h"
#include "berth/common.h"

#include <stddef.h>
#include <time.h>

typedef enum {
	BERTH_SBOM_SPDX_JSON = 0,
	BERTH_SBOM_CYCLONEDX_JSON,
	BERTH_SBOM_TABLE,
	BERTH_SBOM_JSON
} berth_sbom_format;

/** "spdx-json", "cyclonedx-json", "table", "json" → the enum; BERTH_EINVALID otherwise. */
int berth_sbom_format_parse(berth_sbom_format *out, const char *name) BERTH_WARN_UNUSED;

typedef struct berth_sbom_options {
	berth_sbom_format format;
	const char *cyclonedx_version; /* "1.6" (default) or "1.5" */
	time_t created;		       /* document time; 0 = now */
} berth_sbom_options;

void berth_sbom_options_init(berth_sbom_options *o);

/**
 * Render `c` in o->format. `*out` (NUL-terminated, caller frees) gets the
 * document and `*len` its length. BERTH_EINVALID for a bad option
 * (cyclonedx_version), BERTH_ERROR on OOM.
 */
int berth_sbom_render(char **out, size_t *len, const berth_catalog *c,
		      const berth_sbom_options *o) BERTH_WARN_UNUSED;

/**
 * 1 if `expr` is an SPDX licence expression made only of identifiers berth
 * knows (a subset of the SPDX licence list), AND/OR/WITH and parentheses.
 */
int berth_sbom_is_spdx_expression(const char *expr);

#endif
