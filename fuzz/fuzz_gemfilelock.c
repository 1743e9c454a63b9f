/*
 * fuzz_gemfilelock.c - libFuzzer target: Gemfile.lock
 * (src/lib/catalog), fed as /app/Gemfile.lock.
 */
#include "catalog_fuzz.h"

FUZZ_CATALOG("/app/Gemfile.lock")
