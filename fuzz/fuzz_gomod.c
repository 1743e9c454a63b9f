/*
 * fuzz_gomod.c - libFuzzer target: go.mod
 * (src/lib/catalog), fed as /src/go.mod.
 */
#include "catalog_fuzz.h"

FUZZ_CATALOG("/src/go.mod")
