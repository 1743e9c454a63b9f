/*
 * lazy_zlib.c - the zlib functions berth calls (gzip layers), loading it at
 * first use (util/lazy.h). inflateInit2 is a macro of zlib.h for
 * inflateInit2_. The streaming calls are per chunk: one cached pointer each.
 */
#include "util/lazy.h"

#include <zlib.h>

berth_lazy_lib berth_lazy_zlib = BERTH_LAZY_LIB(BERTH_SONAME_Z, "zlib1g");

BERTH_LAZY_FN(berth_lazy_zlib, int, inflate, (z_streamp a0, int a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_zlib, int, inflateEnd, (z_streamp a0), (a0))
BERTH_LAZY_FN(berth_lazy_zlib, int, inflateInit2_, (z_streamp a0, int a1, const char *a2, int a3),
	      (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_zlib, int, inflateReset, (z_streamp a0), (a0))
BERTH_LAZY_FN(berth_lazy_zlib, int, uncompress, (Bytef * a0, uLongf *a1, const Bytef *a2, uLong a3),
	      (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_zlib, uLong, crc32, (uLong a0, const Bytef *a1, uInt a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_zlib, uLong, crc32_combine, (uLong a0, uLong a1, off_t a2), (a0, a1, a2))
