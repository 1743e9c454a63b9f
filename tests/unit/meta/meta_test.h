/*
 * meta_test.h - helpers shared by the metadata unit tests: a fresh temporary
 * database per test, digests of short strings, and name collectors.
 */
#ifndef BERTH_TEST_META_H
#define BERTH_TEST_META_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "berth/meta.h"
#include "util/buf.h"
#include "util/fs.h"

typedef struct meta_fixture {
	char dir[64];
	char path[128];
	berth_meta *m;
} meta_fixture;

static inline int meta_setup(void **state)
{
	meta_fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/berth-meta-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/meta.db", f->dir);
	if (berth_meta_open(&f->m, f->path) != 0) {
		fprintf(stderr, "open: %s\n", berth_error_last());
		return -1;
	}
	*state = f;
	return 0;
}

static inline int meta_teardown(void **state)
{
	meta_fixture *f = *state;

	berth_meta_free(f->m);
	if (berth_fs_remove_tree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

/* The sha256 digest of `s` (tests name content by short strings). */
static inline berth_digest dg(const char *s)
{
	berth_digest d;

	assert_int_equal(berth_digest_compute(&d, BERTH_DIGEST_SHA256, s, strlen(s)), 0);
	return d;
}

/* Collects names into one "a,b,c" string for easy comparison. */
typedef struct names {
	char text[4096];
	int count;
} names;

static inline int names_cb(void *ctx, const char *name)
{
	names *n = ctx;
	size_t len = strlen(n->text);

	snprintf(n->text + len, sizeof(n->text) - len, "%s%s", n->count ? "," : "", name);
	n->count++;
	return 0;
}

#endif
