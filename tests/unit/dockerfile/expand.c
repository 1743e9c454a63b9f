/*
 * expand.c - BuildKit's shell-word expansion, operator by operator: every
 * ${...} form, quotes, escapes, word splitting, unset/empty distinctions,
 * the pattern operators (shortest/longest, '*' and '?' not crossing a
 * newline, escapes), the replacement template of ${v//p/r}, the lexer
 * options used for heredoc detection, and the error messages.
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

static berth_df_vars env;

static int setup(void **state)
{
	static const char *kv[][2] = {
		{"NAME", "world"},
		{"EMPTY", ""},
		{"SPACED", "a  b"},
		{"FILE", "archive.tar.gz"},
		{"PATHV", "/usr/local/bin:/usr/bin"},
		{"ABC", "a:b:c"},
		{"STAR", "*x"},
		{"NL", "a\nb"},
		{"UNI", "héllo"},
		{"TABS", "x\ty"},
	};

	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		if (berth_df_vars_set(&env, kv[i][0], kv[i][1]) < 0)
			return -1;
	return 0;
}

static int teardown(void **state)
{
	berth_df_vars_dispose(&env);
	return 0;
}

typedef struct wcase {
	const char *in;
	const char *word; /* NULL: an error is expected */
	const char *err;  /* substring of the error */
} wcase;

static void run_word_cases(const wcase *c, size_t n, const berth_df_lex_opts *o)
{
	for (size_t i = 0; i < n; i++) {
		berth_df_expansion x;
		int rc = berth_df_expand(&x, c[i].in, &env, o);

		if (c[i].word) {
			if (rc != 0)
				fail_msg("%s: unexpected error %s", c[i].in, berth_error_last());
			if (strcmp(x.word, c[i].word) != 0)
				fail_msg("%s: got [%s], want [%s]", c[i].in, x.word, c[i].word);
			berth_df_expansion_dispose(&x);
		} else {
			if (rc == 0)
				fail_msg("%s: expected an error, got [%s]", c[i].in, x.word);
			if (!strstr(berth_error_last(), c[i].err))
				fail_msg("%s: error [%s] lacks [%s]", c[i].in, berth_error_last(),
					 c[i].err);
		}
	}
}

static void test_plain_and_braced(void **state)
{
	static const wcase c[] = {
		{"hello", "hello", NULL},
		{"$NAME", "world", NULL},
		{"${NAME}", "world", NULL},
		{"${NAME}s", "worlds", NULL},
		{"$NAME.txt", "world.txt", NULL},
		{"$UNSET", "", NULL},
		{"a$", "a$", NULL},
		{"$", "$", NULL},
		{"$1", "", NULL},
		{"$12x", "x", NULL},
		{"$@", "", NULL},
		{"$-x", "x", NULL},
		{"pre${NAME}post", "preworldpost", NULL},
	};

	run_word_cases(c, sizeof(c) / sizeof(c[0]), NULL);
}

static void test_default_and_alternative(void **state)
{
	static const wcase c[] = {
		{"${UNSET:-def}", "def", NULL},
		{"${EMPTY:-def}", "def", NULL},
		{"${NAME:-def}", "world", NULL},
		{"${UNSET-def}", "def", NULL},
		{"${EMPTY-def}", "", NULL},
		{"${NAME-def}", "world", NULL},
		{"${NAME:+alt}", "alt", NULL},
		{"${EMPTY:+alt}", "", NULL},
		{"${UNSET:+alt}", "", NULL},
		{"${EMPTY+alt}", "alt", NULL},
		{"${UNSET+alt}", "", NULL},
		{"${NAME+alt}", "alt", NULL},
		{"${UNSET:-${NAME}}", "world", NULL},
		{"${UNSET:-'quoted $NAME'}", "quoted $NAME", NULL},
		{"${UNSET:-\"dq $NAME\"}", "dq world", NULL},
		{"${UNSET:-a b}", "a b", NULL},
	};

	run_word_cases(c, sizeof(c) / sizeof(c[0]), NULL);
}

static void test_required(void **state)
{
	static const wcase c[] = {
		{"${NAME:?x}", "world", NULL},
		{"${NAME?x}", "world", NULL},
		{"${EMPTY?}", "", NULL},
		{"${UNSET:?must be set}", NULL, "UNSET: must be set"},
		{"${UNSET?}", NULL, "UNSET: is not allowed to be unset"},
		{"${UNSET:?}", NULL, "UNSET: is not allowed to be unset"},
		{"${EMPTY:?}", NULL, "EMPTY: is not allowed to be empty"},
		{"${EMPTY:?custom}", NULL, "EMPTY: custom"},
	};

	run_word_cases(c, sizeof(c) / sizeof(c[0]), NULL);
}

static void test_prefix_suffix_patterns(void **state)
{
	static const wcase c[] = {
		{"${FILE#*.}", "tar.gz", NULL},
		{"${FILE##*.}", "gz", NULL},
		{"${FILE%.*}", "archive.tar", NULL},
		{"${FILE%%.*}", "archive", NULL},
		{"${ABC#*:}", "b:c", NULL},
		{"${ABC##*:}", "c", NULL},
		{"${ABC%:*}", "a:b", NULL},
		{"${ABC%%:*}", "a", NULL},
		{"${NAME#?}", "orld", NULL},
		{"${NAME%??}", "wor", NULL},
		{"${NAME#wor}", "ld", NULL},
		{"${NAME#xyz}", "world", NULL},
		{"${NAME%ld}", "wor", NULL},
		{"${NAME#*}", "world", NULL},
		{"${NAME##*}", "", NULL},
		{"${UNSET#x}", "", NULL},
		/* '*' is a literal after the escape */
		{"${STAR#\\*}", "x", NULL},
		{"${STAR#*}", "*x", NULL},
		/* no bracket expressions: '[' is literal */
		{"${NAME#[w]}", "world", NULL},
		/* '*' and '?' do not cross a newline */
		{"${NL#*b}", "a\nb", NULL},
		{"${NL#a?b}", "a\nb", NULL},
		{"${NL#a}", "\nb", NULL},
		/* runes, not bytes */
		{"${UNI#h?}", "llo", NULL},
		{"${UNI%?}", "héll", NULL},
		/* ':' with # or % is refused */
		{"${NAME:#x}", NULL, "unsupported modifier (:#) in substitution"},
		{"${NAME:%x}", NULL, "unsupported modifier (:%) in substitution"},
		{"${NAME#\\x}", NULL, "invalid escape '\\x'"},
	};

	run_word_cases(c, sizeof(c) / sizeof(c[0]), NULL);
}

static void test_replace(void **state)
{
	static const wcase c[] = {
		{"${PATHV/bin/sbin}", "/usr/local/sbin:/usr/bin", NULL},
		{"${PATHV//bin/sbin}", "/usr/local/sbin:/usr/sbin", NULL},
		{"${NAME/o/0}", "w0rld", NULL},
		{"${NAME//[or]/x}", "world", NULL},
		{"${NAME/#w/W}", "world", NULL},
		{"${NAME/*/all}", "all", NULL},
		{"${NAME//?/x}", "xxxxx", NULL},
		{"${NAME/o*/O}", "wO", NULL},
		{"${NAME//l/}", "word", NULL},
		{"${UNSET//a/b}", "", NULL},
		{"${EMPTY//*/x}", "x", NULL},
		{"${NAME/a\\/b/c}", "world", NULL},
		{"${PATHV//\\//|}", "|usr|local|bin:|usr|bin", NULL},
		/* the replacement of // goes through Go's template expansion: \$0 is the match */
		{"${NAME//o/\\$0}", "w\\orld", NULL},
		{"${NAME/o/\\$0}", "w\\$0rld", NULL},
		{"${NAME/o}", NULL, "missing '/' in ${}"},
		{"${NAME/o/x", NULL, "missing '}'"},
	};

	run_word_cases(c, sizeof(c) / sizeof(c[0]), NULL);
}

static void test_quotes_and_escapes(void **state)
{
	static const wcase c[] = {
		{"'$NAME'", "$NAME", NULL},
		{"\"$NAME\"", "world", NULL},
		{"\"a\\\"b\"", "a\"b", NULL},
		{"\"a\\$b\"", "a$b", NULL},
		{"\"a\\\\b\"", "a\\b", NULL},
		{"\"a\\nb\"", "a\\nb", NULL},
		{"a\\ b", "a b", NULL},
		{"\\$NAME", "$NAME", NULL},
		{"a\\", "a", NULL},
		{"'a\\b'", "a\\b", NULL},
		{"a\"\"b", "ab", NULL},
		{"\"it's\"", "it's", NULL},
		{"'say \"hi\"'", "say \"hi\"", NULL},
		{"'unterminated", NULL,
		 "unexpected end of statement while looking for matching single-quote"},
		{"\"unterminated", NULL,
		 "unexpected end of statement while looking for matching double-quote"},
	};

	run_word_cases(c, sizeof(c) / sizeof(c[0]), NULL);
}

static void test_syntax_errors(void **state)
{
	static const wcase c[] = {
		{"${", NULL, "syntax error: missing '}'"},
		{"${}", NULL, "syntax error: bad substitution"},
		{"${:x}", NULL, "syntax error: bad substitution"},
		{"${{x}", NULL, "syntax error: bad substitution"},
		{"${NAME:-x", NULL, "syntax error: missing '}'"},
		{"${NAME:0:2}", NULL, "unsupported modifier (:0) in substitution"},
		{"${NAME=x}", NULL, "unsupported modifier (=) in substitution"},
		{"${NAME", NULL, "unsupported modifier"},
		{"x ${NAME:-", NULL, "failed to process \"x ${NAME:-\""},
	};

	run_word_cases(c, sizeof(c) / sizeof(c[0]), NULL);
}

static void test_backtick_escape(void **state)
{
	static const wcase c[] = {
		{"a`$b", "a$b", NULL},
		{"C:\\path\\$NAME", "C:\\path\\world", NULL},
		{"\"`\"q`\"\"", "\"q\"", NULL},
	};
	berth_df_lex_opts o = {'`', 0, 0, 0, 0};

	run_word_cases(c, sizeof(c) / sizeof(c[0]), &o);
}

static void expect_words(const char *in, const berth_df_lex_opts *o, const char *const *want,
			 size_t n)
{
	berth_df_expansion x;

	if (berth_df_expand(&x, in, &env, o) != 0)
		fail_msg("%s: %s", in, berth_error_last());
	if (x.nwords != n)
		fail_msg("%s: %zu words, want %zu", in, x.nwords, n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(x.words[i], want[i]) != 0)
			fail_msg("%s: word %zu is [%s], want [%s]", in, i, x.words[i], want[i]);
	berth_df_expansion_dispose(&x);
}

static void test_word_splitting(void **state)
{
	static const char *const w1[] = {"a", "b"};
	static const char *const w2[] = {"a  b"};
	static const char *const w3[] = {"x", "world", "y"};
	static const char *const w4[] = {"80/tcp", "443"};
	static const char *const w5[] = {"ab"};
	static const char *const w6[] = {"abc"};
	static const char *const w7[] = {"x", "y"};

	expect_words("$SPACED", NULL, w1, 2);
	expect_words("\"$SPACED\"", NULL, w2, 1);
	expect_words("x $NAME y", NULL, w3, 3);
	expect_words("  80/tcp   443  ", NULL, w4, 2);
	expect_words("a\"\"b", NULL, w5, 1);
	/* an empty quoted word alone is dropped, as BuildKit's wordsStruct does */
	expect_words("\"\"", NULL, NULL, 0);
	expect_words("$UNSET", NULL, NULL, 0);
	/* text before a ${...:-...} stays in its word (see docs/dockerfile-json.md) */
	expect_words("a${UNSET:-b}c", NULL, w6, 1);
	expect_words("$TABS", NULL, w7, 2);
}

static void test_lexer_options(void **state)
{
	static const wcase keep_unset[] = {
		{"$UNSET ${UNSET} ${UNSET:-x} ${UNSET/a/b}",
		 "$UNSET ${UNSET} ${UNSET:-x} ${UNSET/a/b}", NULL},
		{"$NAME", "world", NULL},
	};
	static const wcase raw[] = {
		{"'a' \"b\"", "'a' \"b\"", NULL},
		{"a\\ b", "a\\ b", NULL},
	};
	static const wcase skipq[] = {
		{"'$NAME' \"$NAME\"", "'world' \"world\"", NULL},
	};
	berth_df_lex_opts o1 = {'\\', 1, 0, 0, 0};
	berth_df_lex_opts o2 = {'\\', 0, 1, 1, 0};
	berth_df_lex_opts o3 = {'\\', 0, 0, 0, 1};

	run_word_cases(keep_unset, 2, &o1);
	run_word_cases(raw, 2, &o2);
	run_word_cases(skipq, 1, &o3);
}

static void test_matched_and_unmatched(void **state)
{
	berth_df_expansion x;

	assert_int_equal(berth_df_expand(&x, "$NAME ${UNSET} ${U2:-$NAME} $NAME", &env, NULL), 0);
	assert_int_equal(x.nmatched, 1);
	assert_string_equal(x.matched[0], "NAME");
	assert_int_equal(x.nunmatched, 2);
	assert_string_equal(x.unmatched[0], "UNSET");
	assert_string_equal(x.unmatched[1], "U2");
	berth_df_expansion_dispose(&x);
}

static void test_caps(void **state)
{
	berth_df_vars big = BERTH_DF_VARS_INIT;
	berth_df_expansion x;
	char *s = malloc(700 * 1024), *deep = malloc(64 * 12 + 64);
	size_t o = 0;

	assert_non_null(s);
	memset(s, 'x', 700 * 1024 - 1);
	s[700 * 1024 - 1] = '\0';
	assert_int_equal(berth_df_vars_set(&big, "B", s), 0);
	/* two copies of a 700 KiB value pass the 1 MiB cap */
	assert_int_equal(berth_df_expand(&x, "$B$B", &big, NULL), BERTH_ETOOBIG);
	assert_int_equal(berth_df_expand(&x, "$B", &big, NULL), 0);
	berth_df_expansion_dispose(&x);
	/* 65 nested substitutions pass the depth cap */
	for (int i = 0; i < 65; i++)
		o += (size_t)sprintf(deep + o, "${U:-");
	deep[o++] = 'x';
	for (int i = 0; i < 65; i++)
		deep[o++] = '}';
	deep[o] = '\0';
	assert_int_equal(berth_df_expand(&x, deep, &big, NULL), BERTH_ETOOBIG);
	assert_non_null(strstr(berth_error_last(), "nested deeper than 64"));
	free(s);
	free(deep);
	berth_df_vars_dispose(&big);
}

/* A set past its hash-index size keeps insertion order, replaces in place and
 * finds every name after unsets and copies (the index must stay in step). */
static void test_vars_many_names(void **state)
{
	berth_df_vars v = BERTH_DF_VARS_INIT, c = BERTH_DF_VARS_INIT;
	char name[32], val[32];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "V%d", i);
		snprintf(val, sizeof(val), "x%d", i);
		assert_int_equal(berth_df_vars_set(&v, name, val), 0);
	}
	assert_int_equal(berth_df_vars_set(&v, "V500", "again"), 0);
	assert_int_equal(v.n, 1000);
	assert_string_equal(v.items[500].name, "V500");
	assert_string_equal(v.items[500].value, "again");
	for (int i = 0; i < 1000; i += 2) {
		snprintf(name, sizeof(name), "V%d", i);
		assert_int_equal(berth_df_vars_unset(&v, name), 1);
		assert_int_equal(berth_df_vars_unset(&v, name), 0);
	}
	assert_int_equal(v.n, 500);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "V%d", i);
		snprintf(val, sizeof(val), "x%d", i);
		if (i % 2 == 0)
			assert_null(berth_df_vars_get(&v, name));
		else
			assert_string_equal(berth_df_vars_get(&v, name), val);
	}
	assert_string_equal(v.items[0].name, "V1");
	assert_string_equal(v.items[499].name, "V999");
	assert_int_equal(berth_df_vars_copy(&c, &v), 0);
	assert_int_equal(c.n, 500);
	assert_string_equal(berth_df_vars_get(&c, "V777"), "x777");
	assert_null(berth_df_vars_get(&c, "V778"));
	assert_int_equal(berth_df_vars_set(&c, "NEW", "n"), 0);
	assert_string_equal(c.items[500].name, "NEW");
	assert_string_equal(berth_df_vars_get(&c, "NEW"), "n");
	berth_df_vars_dispose(&v);
	berth_df_vars_dispose(&c);
	assert_null(berth_df_vars_get(&v, "V1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_braced),
		cmocka_unit_test(test_default_and_alternative),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_prefix_suffix_patterns),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_quotes_and_escapes),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_backtick_escape),
		cmocka_unit_test(test_word_splitting),
		cmocka_unit_test(test_lexer_options),
		cmocka_unit_test(test_matched_and_unmatched),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_vars_many_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
