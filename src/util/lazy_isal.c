/*
 * lazy_isal.c - the ISA-L functions berth calls (gzip layers are inflated by
 * igzip), loading libisal at first use (util/lazy.h). isal_inflate is called
 * per chunk: one cached pointer.
 */
#include "util/lazy.h"

#include <isa-l/igzip_lib.h>

berth_lazy_lib berth_lazy_isal = BERTH_LAZY_LIB(BERTH_SONAME_ISAL, "libisal2");

BERTH_LAZY_FN(berth_lazy_isal, int, isal_inflate, (struct inflate_state * a0), (a0))
BERTH_LAZY_VOID(berth_lazy_isal, isal_inflate_init, (struct inflate_state * a0), (a0))
BERTH_LAZY_VOID(berth_lazy_isal, isal_inflate_reset, (struct inflate_state * a0), (a0))
