/*
 * fuzz_poetrylock.c - libFuzzer target: TOML [[package]] tables (poetry, uv, Cargo)
 * (src/lib/catalog), fed as /app/poetry.lock.
 */
#include "catalog_fuzz.h"

FUZZ_CATALOG("/app/poetry.lock")
