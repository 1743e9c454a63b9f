/*
 * fuzz_pymetadata.c - libFuzzer target: Python METADATA headers
 * (src/lib/catalog), fed as /x/a-1.dist-info/METADATA.
 */
#include "catalog_fuzz.h"

FUZZ_CATALOG("/x/a-1.dist-info/METADATA")
