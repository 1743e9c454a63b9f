/*
 * fuzz_composer.c - libFuzzer target: composer.lock / installed.json
 * (src/lib/catalog), fed as /app/composer.lock.
 */
#include "catalog_fuzz.h"

FUZZ_CATALOG("/app/composer.lock")
