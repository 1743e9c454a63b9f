/*
 * pool.c - bump allocator released all at once (see pool.h).
 */
#include "util/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct berth_pool_chunk {
	berth_pool_chunk *next;
	max_align_t data[];
};

#define ALIGN(n) (((n) + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1))

void berth_pool_init(berth_pool *p)
{
	p->chunks = NULL;
	p->cur = (char *)ALIGN((uintptr_t)p->first);
	p->left = sizeof(p->first) - (size_t)(p->cur - p->first);
}

void *berth_pool_alloc(berth_pool *p, size_t n)
{
	berth_pool_chunk *c;
	size_t sz;
	void *r;

	n = ALIGN(n ? n : 1);
	if (n <= p->left) {
		r = p->cur;
		p->cur += n;
		p->left -= n;
		return r;
	}
	sz = n > 8192 ? n : 8192;
	c = malloc(sizeof(*c) + sz);
	if (!c)
		return NULL;
	c->next = p->chunks;
	p->chunks = c;
	r = c->data;
	if (sz - n > p->left) {
		/* The new chunk has more room than the current one: bump from it. */
		p->cur = (char *)c->data + n;
		p->left = sz - n;
	}
	return r;
}

char *berth_pool_strndup(berth_pool *p, const char *s, size_t n)
{
	char *r = berth_pool_alloc(p, n + 1);

	if (r) {
		memcpy(r, s, n);
		r[n] = '\0';
	}
	return r;
}

char *berth_pool_strdup(berth_pool *p, const char *s)
{
	return berth_pool_strndup(p, s, strlen(s));
}

char *berth_pool_printf(berth_pool *p, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(r = berth_pool_alloc(p, (size_t)n + 1)))
		return NULL;
	va_start(ap, fmt);
	vsnprintf(r, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return r;
}

void berth_pool_reset(berth_pool *p)
{
	berth_pool_chunk *c = p->chunks;

	while (c) {
		berth_pool_chunk *next = c->next;

		free(c);
		c = next;
	}
	berth_pool_init(p);
}

void berth_pool_dispose(berth_pool *p)
{
	berth_pool_reset(p);
}
