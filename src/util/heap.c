/*
 * heap.c - transparent huge pages for the main heap (see heap.h).
 */
#include "util/heap.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_PAGE ((uintptr_t)2 << 20)

void berth_heap_hugepages(size_t bytes)
{
#if defined(M_TOP_PAD) && defined(MADV_HUGEPAGE)
	uintptr_t start, end;
	void *p;

	if (bytes < HUGE_PAGE || bytes > INT32_MAX / 2)
		return;
	mallopt(M_MMAP_THRESHOLD, (int)bytes);
	mallopt(M_TRIM_THRESHOLD, (int)(2 * bytes));
	mallopt(M_TOP_PAD, (int)bytes);
	start = (uintptr_t)sbrk(0);
	/* a block the size of the pad makes the heap grow now (pad included); freed,
	 * it merges back into the top chunk, only its header page touched */
	p = malloc(bytes - 4096);
	if (!p)
		return;
	*(volatile char *)p = 0; /* used, so the compiler keeps the malloc/free pair */
	end = (uintptr_t)sbrk(0);
	free(p);
	if (start == (uintptr_t)-1 || end == (uintptr_t)-1 || end <= start)
		return; /* not glibc's brk heap (a sanitizer's allocator, valgrind) */
	start = (start + 4096 + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	end &= ~(HUGE_PAGE - 1);
	if (end > start)
		(void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
	(void)bytes;
#endif
}
