/*
 * fuzz_yarnlock.c - libFuzzer target: yarn.lock v1 and berry
 * (src/lib/catalog), fed as /app/yarn.lock.
 */
#include "catalog_fuzz.h"

FUZZ_CATALOG("/app/yarn.lock")
