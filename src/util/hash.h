/*
 * hash.h - FNV-1a (64-bit), the one non-cryptographic string hash berth's
 * in-memory tables use (lock stripes, caches, indexes). Never persisted:
 * only its spread matters. Chain calls to hash several pieces.
 */
#ifndef BERTH_UTIL_HASH_H
#define BERTH_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define BERTH_FNV1A_INIT 1469598103934665603ull

/** `h` (BERTH_FNV1A_INIT to start) extended by the n bytes at p. */
static inline uint64_t berth_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 1099511628211ull;
	return h;
}

/** The same over a C string's bytes. */
static inline uint64_t berth_fnv1a_str(uint64_t h, const char *s)
{
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

#endif
