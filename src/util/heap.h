/*
 * heap.h - back the process heap with transparent huge pages.
 *
 * On the machines berth is measured on (virtual machines) a page fault costs
 * ~20 us: the 1,500 4 KiB faults of parsing a 5,000-instruction Dockerfile
 * were half of the process's CPU time. A command that is about to build a
 * large in-memory tree calls berth_heap_hugepages() first: the heap then
 * grows in big steps whose 2 MiB-aligned parts the kernel may back with huge
 * pages (one fault each). Memory is still touched only where used; RSS grows
 * by at most a huge page per 2 MiB region touched. Single-threaded start-up
 * code only (it changes malloc's global tuning).
 */
#ifndef BERTH_UTIL_HEAP_H
#define BERTH_UTIL_HEAP_H

#include <stddef.h>

/**
 * Let the main heap grow by `bytes` at a time, keep it (no trimming below
 * that), serve blocks up to `bytes` from it rather than from their own
 * mappings, and madvise(MADV_HUGEPAGE) its untouched aligned part. Harmless
 * when the kernel has no transparent huge pages or when malloc is not glibc's
 * heap (sanitizers, valgrind): then only the tuning calls happen, or nothing.
 */
void berth_heap_hugepages(size_t bytes);

#endif
