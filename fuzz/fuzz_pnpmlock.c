/*
 * fuzz_pnpmlock.c - libFuzzer target: pnpm-lock.yaml
 * (src/lib/catalog), fed as /app/pnpm-lock.yaml.
 */
#include "catalog_fuzz.h"

FUZZ_CATALOG("/app/pnpm-lock.yaml")
