/*
 * fuzz_dotnetdeps.c - libFuzzer target: .NET deps.json
 * (src/lib/catalog), fed as /app/a.deps.json.
 */
#include "catalog_fuzz.h"

FUZZ_CATALOG("/app/a.deps.json")
