/*
 * array.h - growable arrays: the one place that doubles a capacity.
 *
 * An array is three fields of its owner (items, count, capacity); before
 * appending, the owner asks for room:
 *
 *	T *p = berth_array_room(o->items, o->n, &o->cap, sizeof(*p));
 *	if (!p)
 *		return berth_error_set(BERTH_ERROR, "out of memory");
 *	o->items = p;
 *	o->items[o->n++] = item;
 */
#ifndef BERTH_UTIL_ARRAY_H
#define BERTH_UTIL_ARRAY_H

#include <stddef.h>

/**
 * `items` with room for at least n + 1 elements of `size` bytes: the same
 * pointer while n < *cap, else reallocated to twice the capacity (16 at
 * first) with *cap updated. NULL on OOM or size overflow, with `items` and
 * *cap untouched.
 */
void *berth_array_room(void *items, size_t n, size_t *cap, size_t size);

#endif
