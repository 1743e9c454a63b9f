/*
 * lazy_zstd.c - the libzstd functions berth calls (zstd layers), loading it
 * at first use (util/lazy.h). The streaming calls are per chunk: one cached
 * pointer each.
 */
#include "util/lazy.h"

#include <zstd.h>

berth_lazy_lib berth_lazy_zstd = BERTH_LAZY_LIB(BERTH_SONAME_ZSTD, "libzstd1");

BERTH_LAZY_FN(berth_lazy_zstd, size_t, ZSTD_CCtx_setParameter,
	      (ZSTD_CCtx * a0, ZSTD_cParameter a1, int a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_zstd, size_t, ZSTD_CStreamInSize, (void), ())
BERTH_LAZY_FN(berth_lazy_zstd, size_t, ZSTD_CStreamOutSize, (void), ())
BERTH_LAZY_FN(berth_lazy_zstd, size_t, ZSTD_DCtx_setParameter,
	      (ZSTD_DCtx * a0, ZSTD_dParameter a1, int a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_zstd, size_t, ZSTD_compressStream2,
	      (ZSTD_CCtx * a0, ZSTD_outBuffer *a1, ZSTD_inBuffer *a2, ZSTD_EndDirective a3),
	      (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_zstd, ZSTD_CCtx *, ZSTD_createCCtx, (void), ())
BERTH_LAZY_FN(berth_lazy_zstd, ZSTD_DCtx *, ZSTD_createDCtx, (void), ())
BERTH_LAZY_FN(berth_lazy_zstd, ZSTD_DStream *, ZSTD_createDStream, (void), ())
BERTH_LAZY_FN(berth_lazy_zstd, size_t, ZSTD_decompressStream,
	      (ZSTD_DStream * a0, ZSTD_outBuffer *a1, ZSTD_inBuffer *a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_zstd, size_t, ZSTD_freeCCtx, (ZSTD_CCtx * a0), (a0))
BERTH_LAZY_FN(berth_lazy_zstd, size_t, ZSTD_freeDCtx, (ZSTD_DCtx * a0), (a0))
BERTH_LAZY_FN(berth_lazy_zstd, size_t, ZSTD_freeDStream, (ZSTD_DStream * a0), (a0))
BERTH_LAZY_FN(berth_lazy_zstd, const char *, ZSTD_getErrorName, (size_t a0), (a0))
BERTH_LAZY_FN(berth_lazy_zstd, size_t, ZSTD_initDStream, (ZSTD_DStream * a0), (a0))
BERTH_LAZY_FN(berth_lazy_zstd, unsigned int, ZSTD_isError, (size_t a0), (a0))
BERTH_LAZY_FN(berth_lazy_zstd, int, ZSTD_maxCLevel, (void), ())
