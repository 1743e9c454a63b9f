/*
 * fuzz_osrelease.c - libFuzzer target: os-release
 * (src/lib/catalog), fed as /etc/os-release.
 */
#include "catalog_fuzz.h"

FUZZ_CATALOG("/etc/os-release")
