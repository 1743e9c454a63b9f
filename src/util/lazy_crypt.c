/*
 * lazy_crypt.c - the libcrypt functions berth calls (password hashes of
 * basic auth), loading it at first use (util/lazy.h).
 */
#include "util/lazy.h"

#include <crypt.h>

berth_lazy_lib berth_lazy_libxcrypt = BERTH_LAZY_LIB(BERTH_SONAME_CRYPT, "libcrypt1");

BERTH_LAZY_FN(berth_lazy_libxcrypt, char *, crypt_gensalt_rn,
	      (const char *a0, long unsigned int a1, const char *a2, int a3, char *a4, int a5),
	      (a0, a1, a2, a3, a4, a5))
BERTH_LAZY_FN(berth_lazy_libxcrypt, char *, crypt_rn,
	      (const char *a0, const char *a1, void *a2, int a3), (a0, a1, a2, a3))
