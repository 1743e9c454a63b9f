/*
 * lazy_zlib.c - the zlib functions berth calls (gzip layers), loading it at
 * first use (util/lazy.h). deflateInit2 and inflateInit2 are macros of
 * zlib.h for deflateInit2_ and inflateInit2_. The streaming calls are per
 * chunk: one cached pointer each.
 */
#include "util/lazy.h"

#include <zlib.h>

berth_lazy_lib berth_lazy_zlib = BERTH_LAZY_LIB(BERTH_SONAME_Z, "zlib1g");

BERTH_LAZY_FN(berth_lazy_zlib, int, deflate, (z_streamp a0, int a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_zlib, int, deflateEnd, (z_streamp a0), (a0))
BERTH_LAZY_FN(berth_lazy_zlib, int, deflateInit2_,
	      (z_streamp a0, int a1, int a2, int a3, int a4, int a5, const char *a6, int a7),
	      (a0, a1, a2, a3, a4, a5, a6, a7))
BERTH_LAZY_FN(berth_lazy_zlib, int, inflate, (z_streamp a0, int a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_zlib, int, inflateEnd, (z_streamp a0), (a0))
BERTH_LAZY_FN(berth_lazy_zlib, int, inflateInit2_, (z_streamp a0, int a1, const char *a2, int a3),
	      (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_zlib, int, inflateReset, (z_streamp a0), (a0))
BERTH_LAZY_FN(berth_lazy_zlib, int, uncompress, (Bytef * a0, uLongf *a1, const Bytef *a2, uLong a3),
	      (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_zlib, uLong, crc32, (uLong a0, const Bytef *a1, uInt a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_zlib, uLong, crc32_combine, (uLong a0, uLong a1, off_t a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_zlib, int, deflateReset, (z_streamp a0), (a0))
BERTH_LAZY_FN(berth_lazy_zlib, int, deflateSetDictionary, (z_streamp a0, const Bytef *a1, uInt a2),
	      (a0, a1, a2))
