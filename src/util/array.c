/*
 * array.c - growable arrays. See array.h.
 */
#include "util/array.h"

#include <stdint.h>
#include <stdlib.h>

#define FIRST_CAP 16

void *berth_array_room(void *items, size_t n, size_t *cap, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return items;
	ncap = *cap ? *cap * 2 : FIRST_CAP;
	if (ncap <= *cap || size == 0 || ncap > SIZE_MAX / size)
		return NULL;
	if (!(p = realloc(items, ncap * size)))
		return NULL;
	*cap = ncap;
	return p;
}
