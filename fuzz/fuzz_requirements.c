/*
 * fuzz_requirements.c - libFuzzer target: requirements pins
 * (src/lib/catalog), fed as /app/requirements.txt.
 */
#include "catalog_fuzz.h"

FUZZ_CATALOG("/app/requirements.txt")
