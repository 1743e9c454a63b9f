/*
 * fuzz_rpmbdb.c - libFuzzer target: rpm BerkeleyDB hash databases
 * ("Packages", src/lib/catalog/rpmbdb.c): pages, items, overflow chains,
 * each header then parsed by rpm.c.
 */
#include "rpm_fuzz.h"

FUZZ_RPM(berth_catalog__rpm_bdb, "/var/lib/rpm/Packages")
