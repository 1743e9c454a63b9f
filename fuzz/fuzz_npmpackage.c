/*
 * fuzz_npmpackage.c - libFuzzer target: package.json
 * (src/lib/catalog), fed as /app/node_modules/a/package.json.
 */
#include "catalog_fuzz.h"

FUZZ_CATALOG("/app/node_modules/a/package.json")
