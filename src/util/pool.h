/*
 * pool.h - a bump allocator whose memory dies all at once (h2o's mem pool).
 *
 * The server gives each request one pool; everything the request needs that
 * does not outlive the response is allocated from it and released together
 * when the response is done. Small first block inline, larger blocks chained.
 */
#ifndef BERTH_UTIL_POOL_H
#define BERTH_UTIL_POOL_H

#include "berth/common.h"

#include <stdarg.h>

typedef struct berth_pool_chunk berth_pool_chunk;

typedef struct berth_pool {
	berth_pool_chunk *chunks;
	char *cur;
	size_t left;
	char first[1024];
} berth_pool;

void berth_pool_init(berth_pool *p);
/** Allocate `n` bytes aligned for any type; NULL only on OOM. */
void *berth_pool_alloc(berth_pool *p, size_t n);
char *berth_pool_strdup(berth_pool *p, const char *s);
char *berth_pool_strndup(berth_pool *p, const char *s, size_t n);
char *berth_pool_printf(berth_pool *p, const char *fmt, ...) BERTH_PRINTF(2, 3);
/** Free everything but keep the pool usable. */
void berth_pool_reset(berth_pool *p);
void berth_pool_dispose(berth_pool *p);

#endif
