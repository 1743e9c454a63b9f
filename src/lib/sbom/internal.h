/*
 * sbom/internal.h - what the SBOM writers share.
 */
#ifndef BERTH_SBOM_INTERNAL_H
#define BERTH_SBOM_INTERNAL_H

#include "berth/sbom.h"

#include <jansson.h>
#include <time.h>

const char *berth_sbom__canonical_id(const char *s);
json_t *berth_sbom__spdx(const berth_catalog *c, time_t now);
json_t *berth_sbom__cyclonedx(const berth_catalog *c, time_t now, const char *version);
json_t *berth_sbom__json(const berth_catalog *c);
char *berth_sbom__table(const berth_catalog *c);
/* "2026-01-02T03:04:05Z" into buf[32]. */
void berth_sbom__time(char buf[32], time_t t);
/* The image's display name: target without "rootfs:"/transport noise, for document names. */
const char *berth_sbom__subject(const berth_catalog *c);

#endif
