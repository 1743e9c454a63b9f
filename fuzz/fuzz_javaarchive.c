/*
 * fuzz_javaarchive.c - libFuzzer target: jar/war/ear archives (libarchive zip, nested)
 * (src/lib/catalog), fed as /opt/app.jar.
 */
#include "catalog_fuzz.h"

FUZZ_CATALOG("/opt/app.jar")
