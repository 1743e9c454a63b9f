/*
 * fuzz_apkinstalled.c - libFuzzer target: Alpine's installed database
 * (src/lib/catalog), fed as /lib/apk/db/installed.
 */
#include "catalog_fuzz.h"

FUZZ_CATALOG("/lib/apk/db/installed")
