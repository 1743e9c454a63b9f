/*
 * fuzz_dpkglist.c - libFuzzer target: dpkg file lists
 * (src/lib/catalog), fed as /var/lib/dpkg/info/libc6:amd64.list.
 */
#include "catalog_fuzz.h"

FUZZ_CATALOG("/var/lib/dpkg/info/libc6:amd64.list")
