/*
 * fuzz_dpkgstatus.c - libFuzzer target: dpkg status stanzas
 * (src/lib/catalog), fed as /var/lib/dpkg/status.
 */
#include "catalog_fuzz.h"

FUZZ_CATALOG("/var/lib/dpkg/status")
