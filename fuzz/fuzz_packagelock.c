/*
 * fuzz_packagelock.c - libFuzzer target: package-lock v1-v3
 * (src/lib/catalog), fed as /app/package-lock.json.
 */
#include "catalog_fuzz.h"

FUZZ_CATALOG("/app/package-lock.json")
