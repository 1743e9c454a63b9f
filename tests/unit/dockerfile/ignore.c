/*
 * ignore.c - .dockerignore with moby patternmatcher semantics: Go
 * filepath.Match syntax, "**", "!" exceptions applied in order, parent
 * directories matching, leading "/" and "./" dropped, cleaning, the match
 * types ("**" prefix/suffix), syntax errors, comments and BOM, and the brief's
 * own .dockerignore.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/dockerfile.h"

typedef struct mcase {
	const char *patterns; /* .dockerignore text */
	const char *path;
	int excluded;
} mcase;

static void run(const mcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		berth_dockerignore *ign = NULL;
		int r;

		if (berth_dockerignore_parse(&ign, c[i].patterns, strlen(c[i].patterns), NULL) != 0)
			fail_msg("[%s]: %s", c[i].patterns, berth_error_last());
		r = berth_dockerignore_excluded(ign, c[i].path, NULL);
		if (r != c[i].excluded)
			fail_msg("patterns [%s] path [%s]: excluded=%d, want %d", c[i].patterns,
				 c[i].path, r, c[i].excluded);
		berth_dockerignore_free(ign);
	}
}

static void test_filepath_match_syntax(void **state)
{
	static const mcase c[] = {
		{"*.md", "README.md", 1},
		{"*.md", "docs/README.md", 0}, /* '*' does not cross '/' */
		{"*/*.md", "docs/README.md", 1},
		{"?.txt", "a.txt", 1},
		{"?.txt", "ab.txt", 0},
		{"?", "/", 0},
		{"[abc].txt", "b.txt", 1},
		{"[abc].txt", "d.txt", 0},
		{"[a-c].txt", "c.txt", 1},
		{"[^a-c].txt", "d.txt", 1},
		{"[^a-c].txt", "a.txt", 0},
		{"\\*.txt", "*.txt", 1},
		{"\\*.txt", "a.txt", 0},
		{"a.b", "axb", 0}, /* '.' is literal */
		{"a+b", "a+b", 1},
		{"(x)", "(x)", 1},
	};

	run(c, sizeof(c) / sizeof(c[0]));
}

static void test_double_star(void **state)
{
	static const mcase c[] = {
		{"**/*.go", "main.go", 1},
		{"**/*.go", "a/b/c.go", 1},
		{"**/*.go", "a/b/c.goo", 0},
		{"a/**/z", "a/z", 1},
		{"a/**/z", "a/b/c/z", 1},
		{"a/**/z", "b/a/z", 0},
		{"a/**", "a/b", 1},
		{"a/**", "a/b/c", 1},
		{"a/**", "a", 0},
		{"**", "anything/at/all", 1},
		{"**/node_modules", "node_modules", 1},
		{"**/node_modules", "x/y/node_modules", 1},
		{"**/node_modules", "x/node_modules/pkg/index.js", 1}, /* by its parent */
		{"**/node_modules", "x/my_node_modules", 0},
		/* "**" then plain text at the start is a suffix match (moby's match types) */
		{"**.log", "dir/app.log", 1},
		{"**.log", "app.log", 1},
		{"a**", "abc/d", 1},
	};

	run(c, sizeof(c) / sizeof(c[0]));
}

static void test_exceptions_in_order(void **state)
{
	static const mcase c[] = {
		{"*.md\n!README.md\n", "README.md", 0},
		{"*.md\n!README.md\n", "CHANGELOG.md", 1},
		{"!README.md\n*.md\n", "README.md", 1}, /* the last match decides */
		{"*.md\n!README.md\nREADME.md\n", "README.md", 1},
		{"docs\n!docs/keep.md\n", "docs/keep.md", 0},
		{"docs\n!docs/keep.md\n", "docs/other.md", 1},
		{"docs\n!docs/keep.md\n", "docs", 1},
		{"*\n!src\n", "src/main.c", 0},
		{"*\n!src\n", "README", 1},
		{"*\n!src\nsrc/*.o\n", "src/a.o", 1},
		{"*\n!src\nsrc/*.o\n!src/keep.o\n", "src/keep.o", 0},
		/* re-including a parent re-includes what is below it: "!a" matches a/b/c's parent
		 */
		{"a/b\n!a\n", "a/b/c", 0},
		{"!a\na/b\n", "a/b/c", 1},
	};

	run(c, sizeof(c) / sizeof(c[0]));
}

static void test_cleaning(void **state)
{
	static const mcase c[] = {
		{"/secret.txt", "secret.txt", 1},
		{"./build", "build/out.o", 1},
		{"dist/", "dist/app.js", 1},
		{"a//b/../c", "a/c", 1},
		{"  spaced.txt  ", "spaced.txt", 1},
		{"! keep.txt\n*.txt\n", "keep.txt", 1},
		{"*.txt\n! keep.txt\n", "keep.txt", 0},
		{"./*.log", "x.log", 1},
		{"tmp", "./tmp/file", 1},
		{"tmp", "tmp/../other", 0},
	};

	run(c, sizeof(c) / sizeof(c[0]));
}

static void test_comments_and_bom(void **state)
{
	static const mcase c[] = {
		{"# comment\n*.tmp\n", "a.tmp", 1},
		{"# *.tmp\n", "a.tmp", 0},
		{" # not a comment\n", " # not a comment", 0},
		{"\xEF\xBB\xBF*.tmp\n", "a.tmp", 1},
		{"*.tmp\r\n", "a.tmp", 1},
		{"\n\n   \n", "anything", 0},
	};

	run(c, sizeof(c) / sizeof(c[0]));
}

static void test_syntax_errors(void **state)
{
	static const char *bad[] = {"[", "a[", "[]", "[a-]", "abc\\", "!", "x\n!\n", "[z-"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		berth_dockerignore *ign = NULL;

		if (berth_dockerignore_parse(&ign, bad[i], strlen(bad[i]), ".dockerignore") !=
		    BERTH_EINVALID)
			fail_msg("[%s] should be refused", bad[i]);
		if (!strstr(berth_error_last(), ".dockerignore:"))
			fail_msg("[%s]: error without position: %s", bad[i], berth_error_last());
	}
}

static void test_which_pattern(void **state)
{
	berth_dockerignore *ign = NULL;
	const char *t = "*.md\n!README.md\ndocs/\n";
	long w;

	assert_int_equal(berth_dockerignore_parse(&ign, t, strlen(t), NULL), 0);
	assert_int_equal(ign->npatterns, 3);
	assert_int_equal(berth_dockerignore_excluded(ign, "CHANGES.md", &w), 1);
	assert_int_equal(w, 0);
	assert_int_equal(berth_dockerignore_excluded(ign, "README.md", &w), 0);
	assert_int_equal(w, 1);
	assert_int_equal(berth_dockerignore_excluded(ign, "docs/x/y.txt", &w), 1);
	assert_int_equal(w, 2);
	assert_int_equal(ign->patterns[2].line, 3);
	assert_string_equal(ign->patterns[2].text, "docs");
	assert_int_equal(berth_dockerignore_excluded(ign, "main.c", &w), 0);
	assert_int_equal(w, -1);
	/* "!README.md" is a literal: it may re-open only its own directory chain */
	assert_int_equal(berth_dockerignore_may_reopen(ign, "docs"), 0);
	berth_dockerignore_free(ign);

	t = "vendor\n!vendor/keep\n!**/*.proto\n";
	assert_int_equal(berth_dockerignore_parse(&ign, t, strlen(t), NULL), 0);
	assert_int_equal(berth_dockerignore_may_reopen(ign, "vendor"), 1);
	assert_int_equal(berth_dockerignore_may_reopen(ign, "other"), 1); /* wildcard exception */
	berth_dockerignore_free(ign);
}

static char *slurp(const char *rel)
{
	char path[4096];
	const char *root = getenv("BERTH_SOURCE_DIR");
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", root ? root : ".", rel);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_brief_dockerignore(void **state)
{
	static const struct {
		const char *path;
		int excluded;
	} c[] = {
		{".git", 1},
		{".git/HEAD", 1},
		{"README.md", 0},
		{"CHANGELOG.md", 1},
		{"docs/guide.md", 1}, /* by "docs/" */
		{"src/notes.md", 0},  /* "*.md" matches only at the top */
		{"tests/unit/a_test.py", 1},
		{"node_modules/x/index.js", 1},
		{"src/main.py", 0},
		{"Dockerfile", 1}, /* "Dockerfile*": BuildKit reads the Dockerfile separately */
		{".dockerignore", 1},
		{".env.production", 1},
		{"app/__pycache__/m.pyc", 0}, /* "__pycache__" and "*.pyc" are top-level only */
		{"__pycache__/m.pyc", 1},
	};
	char *text = slurp("tests/fixtures/brief/dockerignore");
	berth_dockerignore *ign = NULL;

	if (!text)
		fail_msg("tests/fixtures/brief/dockerignore missing (BERTH_SOURCE_DIR unset?)");
	assert_int_equal(berth_dockerignore_parse(&ign, text, strlen(text), "dockerignore"), 0);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (berth_dockerignore_excluded(ign, c[i].path, NULL) != c[i].excluded)
			fail_msg("brief dockerignore: %s excluded should be %d", c[i].path,
				 c[i].excluded);
	berth_dockerignore_free(ign);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filepath_match_syntax),
		cmocka_unit_test(test_double_star),
		cmocka_unit_test(test_exceptions_in_order),
		cmocka_unit_test(test_cleaning),
		cmocka_unit_test(test_comments_and_bom),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_which_pattern),
		cmocka_unit_test(test_brief_dockerignore),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
