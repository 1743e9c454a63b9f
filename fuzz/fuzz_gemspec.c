/*
 * fuzz_gemspec.c - libFuzzer target: installed gemspecs
 * (src/lib/catalog), fed as /gems/specifications/a.gemspec.
 */
#include "catalog_fuzz.h"

FUZZ_CATALOG("/gems/specifications/a.gemspec")
