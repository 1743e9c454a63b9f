/*
 * fuzz_rpmndb.c - libFuzzer target: rpm ndb package databases
 * ("Packages.db", src/lib/catalog/rpmndb.c): file header, slot pages, blob
 * heads, tails and checksums, each header then parsed by rpm.c.
 */
#include "rpm_fuzz.h"

FUZZ_RPM(berth_catalog__rpm_ndb, "/var/lib/rpm/Packages.db")
