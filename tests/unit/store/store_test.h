/*
 * store_test.h - helpers shared by the store unit tests: a fresh temporary
 * store directory per test (removed afterwards) and digests of test data.
 */
#ifndef BERTH_STORE_TEST_H
#define BERTH_STORE_TEST_H

#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "berth/store.h"
#include "util/buf.h"
#include "util/fs.h"

typedef struct store_fixture {
	char dir[64];
	berth_store *s;
} store_fixture;

static inline int store_setup(void **state)
{
	store_fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/berth-store-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(berth_store_open(&f->s, f->dir), 0);
	*state = f;
	return 0;
}

static inline int store_teardown(void **state)
{
	store_fixture *f = *state;

	berth_store_free(f->s);
	assert_int_equal(berth_fs_remove_tree(f->dir), 0);
	free(f);
	return 0;
}

static inline berth_digest digest_of(berth_digest_algo algo, const void *data, size_t len)
{
	berth_digest d;

	assert_int_equal(berth_digest_compute(&d, algo, data, len), 0);
	return d;
}

/* Deterministic pseudo-random bytes (xorshift) so tests can recreate data. */
static inline void fill_bytes(void *buf, size_t len, uint32_t seed)
{
	unsigned char *p = buf;
	uint32_t x = seed ? seed : 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

static inline int path_exists(const char *fmt, ...)
{
	char path[512];
	struct stat st;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return stat(path, &st) == 0;
}

/* Number of entries in `dir` other than . and .. (-1 if unreadable). */
static inline int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

#endif
