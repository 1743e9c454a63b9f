/*
 * fuzz_pipfilelock.c - libFuzzer target: Pipfile.lock JSON
 * (src/lib/catalog), fed as /app/Pipfile.lock.
 */
#include "catalog_fuzz.h"

FUZZ_CATALOG("/app/Pipfile.lock")
