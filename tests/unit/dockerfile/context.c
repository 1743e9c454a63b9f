/*
 * context.c - the build context walk: what .dockerignore leaves in (exact
 * entry lists), excluded directories skipped whole or re-opened by an
 * exception, --explain records, symlinks recorded not followed, content
 * hashes equal to sha256 of the bytes, digests that move with content, mode
 * and owner but not with mtime, and Dockerfile.dockerignore precedence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/digest.h"
#include "berth/dockerfile.h"

static char root[256];

static void put(const char *rel, const char *content)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "wb");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void mkd(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static int setup(void **state)
{
	char p[512];

	snprintf(root, sizeof(root), "/tmp/berth-ctx-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	mkd("src");
	mkd("src/sub");
	mkd("vendor");
	mkd("vendor/deep");
	mkd(".git");
	mkd("empty");
	put("src/main.c", "int main(void) { return 0; }\n");
	put("src/sub/util.c", "/* util */\n");
	put("src/notes.md", "notes\n");
	put("README.md", "readme\n");
	put("CHANGES.md", "changes\n");
	put("vendor/keep.txt", "keep\n");
	put("vendor/drop.txt", "drop\n");
	put("vendor/deep/x.txt", "x\n");
	put(".git/HEAD", "ref: refs/heads/main\n");
	put("app.log", "log\n");
	put("Dockerfile", "FROM scratch\n");
	put(".dockerignore", ".git\n*.md\n!README.md\n*.log\nvendor\n!vendor/keep.txt\n");
	snprintf(p, sizeof(p), "%s/link", root);
	assert_int_equal(symlink("src/main.c", p), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static berth_context *walk(berth_dockerignore **ign, int explain)
{
	berth_context *c = NULL;
	berth_context_opts o = {.explain = explain, .threads = 2};

	if (berth_dockerignore_load(ign, root, NULL) != 0)
		fail_msg("load: %s", berth_error_last());
	if (berth_context_walk(&c, root, *ign, &o) != 0)
		fail_msg("walk: %s", berth_error_last());
	return c;
}

static void test_entries_after_dockerignore(void **state)
{
	static const char *want[] = {
		".dockerignore", "Dockerfile",	    "README.md",    "empty",   "link",
		"src",		 "src/main.c",	    "src/notes.md", "src/sub", "src/sub/util.c",
		"vendor",	 "vendor/keep.txt",
	};
	berth_dockerignore *ign = NULL;
	berth_context *c = walk(&ign, 1);

	if (c->nentries != sizeof(want) / sizeof(want[0])) {
		for (size_t i = 0; i < c->nentries; i++)
			print_message("  %s\n", c->entries[i].path);
		fail_msg("%zu entries, want %zu", c->nentries, sizeof(want) / sizeof(want[0]));
	}
	for (size_t i = 0; i < c->nentries; i++)
		assert_string_equal(c->entries[i].path, want[i]);
	assert_non_null(berth_context_find(c, "./src/sub/util.c"));
	assert_non_null(berth_context_find(c, "vendor"));
	assert_null(berth_context_find(c, "vendor/drop.txt"));
	assert_null(berth_context_find(c, ".git/HEAD"));
	{
		char *js = NULL;

		assert_int_equal(berth_context_to_json(&js, c, ign, 1), 0);
		assert_non_null(
			strstr(js, "\"path\": \"src/sub/util.c\",\n      \"type\": \"file\""));
		assert_non_null(strstr(js, "\"type\": \"symlink\""));
		assert_non_null(strstr(js, "\"pattern\": \"vendor\""));
		free(js);
	}
	berth_context_free(c);
	berth_dockerignore_free(ign);
}

static void test_explain_names_the_pattern(void **state)
{
	berth_dockerignore *ign = NULL;
	berth_context *c = walk(&ign, 1);
	int seen_git = 0, seen_drop = 0, seen_deep = 0, seen_changes = 0;

	for (size_t i = 0; i < c->nexcluded; i++) {
		const berth_context_excluded *x = &c->excluded[i];
		const char *pat = ign->patterns[x->pattern].original;

		if (!strcmp(x->path, ".git")) {
			seen_git = x->is_dir && !strcmp(pat, ".git");
		} else if (!strcmp(x->path, "vendor/drop.txt")) {
			seen_drop = !strcmp(pat, "vendor");
		} else if (!strcmp(x->path, "vendor/deep")) {
			seen_deep = x->is_dir && !strcmp(pat, "vendor");
		} else if (!strcmp(x->path, "CHANGES.md")) {
			seen_changes = !strcmp(pat, "*.md") && ign->patterns[x->pattern].line == 2;
		}
		/* an excluded directory is not entered: its files are not listed */
		assert_string_not_equal(x->path, ".git/HEAD");
	}
	assert_true(seen_git && seen_drop && seen_deep && seen_changes);
	berth_context_free(c);
	berth_dockerignore_free(ign);
}

static void test_hashes(void **state)
{
	berth_dockerignore *ign = NULL;
	berth_context *c = walk(&ign, 0);
	const berth_context_entry *e = berth_context_find(c, "src/main.c"), *l;
	const char *content = "int main(void) { return 0; }\n";
	berth_digest d;
	char hex[65];

	assert_non_null(e);
	assert_int_equal(berth_digest_compute(&d, BERTH_DIGEST_SHA256, content, strlen(content)),
			 0);
	berth_context_hex(e->content, hex);
	assert_string_equal(hex, berth_digest_hex(&d));
	assert_int_equal(e->size, strlen(content));
	l = berth_context_find(c, "link");
	assert_non_null(l);
	assert_true(S_ISLNK(l->mode));
	assert_string_equal(l->link, "src/main.c");
	assert_int_equal(berth_digest_compute(&d, BERTH_DIGEST_SHA256, "src/main.c", 10), 0);
	berth_context_hex(l->content, hex);
	assert_string_equal(hex, berth_digest_hex(&d));
	berth_context_free(c);
	berth_dockerignore_free(ign);
}

static void digests(uint8_t rootd[32], uint8_t srcd[32], uint8_t filed[32])
{
	berth_dockerignore *ign = NULL;
	berth_context *c = walk(&ign, 0);

	memcpy(rootd, c->digest, 32);
	memcpy(srcd, berth_context_find(c, "src")->digest, 32);
	memcpy(filed, berth_context_find(c, "src/sub/util.c")->digest, 32);
	berth_context_free(c);
	berth_dockerignore_free(ign);
}

static void test_digests_follow_content_mode_not_mtime(void **state)
{
	uint8_t r0[32], s0[32], f0[32], r1[32], s1[32], f1[32];
	char p[512];
	struct timespec ts[2] = {{1000000, 0}, {1000000, 0}};

	digests(r0, s0, f0);
	digests(r1, s1, f1);
	assert_memory_equal(r0, r1, 32); /* stable */
	snprintf(p, sizeof(p), "%s/src/sub/util.c", root);
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	digests(r1, s1, f1);
	assert_memory_equal(f0, f1, 32); /* mtime is not part of it */
	assert_memory_equal(r0, r1, 32);
	assert_int_equal(chmod(p, 0600), 0);
	digests(r1, s1, f1);
	assert_memory_not_equal(f0, f1, 32);
	assert_memory_not_equal(s0, s1, 32); /* a directory covers its children */
	assert_memory_not_equal(r0, r1, 32);
	assert_int_equal(chmod(p, 0644), 0);
	put("src/sub/util.c", "/* util v2 */\n");
	digests(r1, s1, f1);
	assert_memory_not_equal(f0, f1, 32);
	put("src/sub/util.c", "/* util */\n");
	digests(r1, s1, f1);
	assert_memory_equal(f0, f1, 32);
	/* a file the ignore file leaves out changes nothing */
	put("app.log", "more log\n");
	digests(r1, s1, f1);
	assert_memory_equal(r0, r1, 32);
}

static void test_dockerfile_dockerignore_wins(void **state)
{
	berth_dockerignore *ign = NULL;
	char df[512];

	put("app.Dockerfile", "FROM scratch\n");
	put("app.Dockerfile.dockerignore", "src\n");
	snprintf(df, sizeof(df), "%s/app.Dockerfile", root);
	assert_int_equal(berth_dockerignore_load(&ign, root, df), 0);
	assert_non_null(strstr(ign->source, "app.Dockerfile.dockerignore"));
	assert_int_equal(ign->npatterns, 1);
	assert_int_equal(berth_dockerignore_excluded(ign, "src/main.c", NULL), 1);
	assert_int_equal(berth_dockerignore_excluded(ign, "CHANGES.md", NULL), 0);
	berth_dockerignore_free(ign);
	/* another Dockerfile without its own ignore file uses .dockerignore */
	snprintf(df, sizeof(df), "%s/Dockerfile", root);
	assert_int_equal(berth_dockerignore_load(&ign, root, df), 0);
	assert_non_null(strstr(ign->source, "/.dockerignore"));
	berth_dockerignore_free(ign);
	snprintf(df, sizeof(df), "%s/app.Dockerfile.dockerignore", root);
	unlink(df);
	snprintf(df, sizeof(df), "%s/app.Dockerfile", root);
	unlink(df);
}

static void test_missing_context(void **state)
{
	berth_context *c = NULL;

	assert_int_equal(berth_context_walk(&c, "/nonexistent/berth-ctx", NULL, NULL),
			 BERTH_ENOTFOUND);
	assert_non_null(strstr(berth_error_last(), "/nonexistent/berth-ctx"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entries_after_dockerignore),
		cmocka_unit_test(test_explain_names_the_pattern),
		cmocka_unit_test(test_hashes),
		cmocka_unit_test(test_digests_follow_content_mode_not_mtime),
		cmocka_unit_test(test_dockerfile_dockerignore_wins),
		cmocka_unit_test(test_missing_context),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
