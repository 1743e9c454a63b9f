/*
 * lazy_deflate.c - the libdeflate functions berth calls (gzip layers are
 * deflated by libdeflate, block by block), loading it at first use
 * (util/lazy.h). Each is called once per 256 KiB block: one cached pointer.
 */
#include "util/lazy.h"

#include <libdeflate.h>

berth_lazy_lib berth_lazy_deflate = BERTH_LAZY_LIB(BERTH_SONAME_DEFLATE, "libdeflate0");

BERTH_LAZY_FN(berth_lazy_deflate, struct libdeflate_compressor *, libdeflate_alloc_compressor,
	      (int a0), (a0))
BERTH_LAZY_FN(berth_lazy_deflate, size_t, libdeflate_deflate_compress,
	      (struct libdeflate_compressor * a0, const void *a1, size_t a2, void *a3, size_t a4),
	      (a0, a1, a2, a3, a4))
BERTH_LAZY_FN(berth_lazy_deflate, size_t, libdeflate_deflate_compress_bound,
	      (struct libdeflate_compressor * a0, size_t a1), (a0, a1))
BERTH_LAZY_VOID(berth_lazy_deflate, libdeflate_free_compressor, (struct libdeflate_compressor * a0),
		(a0))
BERTH_LAZY_FN(berth_lazy_deflate, uint32_t, libdeflate_crc32,
	      (uint32_t a0, const void *a1, size_t a2), (a0, a1, a2))
