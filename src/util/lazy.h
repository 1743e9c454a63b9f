/*
 * lazy.h - heavy shared libraries loaded at first use. libcurl, libarchive
 * and libmicrohttpd (with gnutls, krb5, ldap, libxml2 and ICU behind them)
 * are not linked into berth: lazy_curl.c, lazy_archive.c and lazy_mhd.c
 * define the functions berth calls, each of which dlopen()s its library
 * (by the SONAME it was built against) the first time one is called and
 * forwards to it. A command that never touches the network, a layer or the
 * server (`berth lint`, `berth dockerfile`) then starts without loading
 * them: see docs/PERFORMANCE.md ("Start-up").
 *
 * A library that cannot be loaded is fatal: the message names it and says
 * how to install it, and the process aborts (the Debian package depends on
 * them, so this means a broken installation).
 */
#ifndef BERTH_UTIL_LAZY_H
#define BERTH_UTIL_LAZY_H

#include <pthread.h>
#include <stdatomic.h>

typedef struct berth_lazy_lib {
	const char *soname;  /* "libcurl.so.4" */
	const char *package; /* Debian package for the message */
	pthread_once_t once;
	void *handle;
} berth_lazy_lib;

#define BERTH_LAZY_LIB(soname, package)                                                            \
	{                                                                                          \
		(soname), (package), PTHREAD_ONCE_INIT, NULL                                       \
	}

/* The libraries (lazy_*.c). */
extern berth_lazy_lib berth_lazy_arch, berth_lazy_libxcrypt, berth_lazy_crypto, berth_lazy_curl,
	berth_lazy_jansson, berth_lazy_mhd, berth_lazy_pq, berth_lazy_sodium, berth_lazy_sqlite,
	berth_lazy_yaml, berth_lazy_zlib, berth_lazy_zstd, berth_lazy_isal, berth_lazy_deflate;

/** The address of `name` in `lib`, loading the library on first use; never NULL. */
void *berth_lazy_sym(berth_lazy_lib *lib, const char *name);

/** A function's address once looked up (NULL before). */
typedef _Atomic(void *) berth_lazy_slot;

/** The same, cached in *slot (one per function; thread-safe). */
void *berth_lazy_cached(berth_lazy_slot *slot, berth_lazy_lib *lib, const char *name);

/* The definition of a forwarding function: `ret name params` calls the real one. */
#define BERTH_LAZY_FN(lib, ret, name, params, args)                                                \
	ret(name) params                                                                           \
	{                                                                                          \
		static berth_lazy_slot slot;                                                       \
		__typeof__(name) *f = (__typeof__(name) *)berth_lazy_cached(&slot, &(lib), #name); \
		return f args;                                                                     \
	}

#define BERTH_LAZY_VOID(lib, name, params, args)                                                   \
	void(name) params                                                                          \
	{                                                                                          \
		static berth_lazy_slot slot;                                                       \
		__typeof__(name) *f = (__typeof__(name) *)berth_lazy_cached(&slot, &(lib), #name); \
		f args;                                                                            \
	}

#endif
