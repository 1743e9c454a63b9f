/*
 * fuzz_rpmheader.c - libFuzzer target: RPM header blobs as rpmdb stores
 * them (src/lib/catalog/rpm.c), parsed directly (an rpmdb.sqlite around
 * fuzzed bytes would mostly fuzz SQLite).
 */
#include "rpm_fuzz.h"

FUZZ_RPM(berth_catalog__rpm_header, "/var/lib/rpm/rpmdb.sqlite")
