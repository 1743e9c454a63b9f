/*
 * fuzz_gobuildinfo.c - libFuzzer target: ELF binaries: Go build info and cargo-auditable sections
 * (src/lib/catalog), fed as /usr/local/bin/app.
 */
#include "catalog_fuzz.h"

FUZZ_CATALOG("/usr/local/bin/app")
