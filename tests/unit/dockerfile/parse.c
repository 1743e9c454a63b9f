/*
 * parse.c - the Dockerfile grammar: the corpus in
 * tests/fixtures/dockerfile/corpus (each *.Dockerfile against its expected
 * tree *.json, as berth_dockerfile_to_json prints it), the brief's
 * Dockerfiles, targeted facts (positions, continuations, heredocs, flags,
 * forms, directives), BuildKit's checks, and bad input with the exact
 * file:line:column of its error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/dockerfile.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

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
	if (len)
		*len = (size_t)n;
	return buf;
}

static const char *src_dir(void)
{
	const char *d = getenv("BERTH_SOURCE_DIR");

	if (!d)
		fail_msg("BERTH_SOURCE_DIR is not set (ctest sets it)");
	return d;
}

static berth_dockerfile *parse_ok(const char *text)
{
	berth_dockerfile *df = NULL;

	if (berth_dockerfile_parse(&df, text, strlen(text), "Dockerfile", NULL) != 0)
		fail_msg("parse failed: %s", berth_error_last());
	return df;
}

static void expect_error(const char *text, size_t len, int code, uint32_t line, uint32_t col,
			 const char *msg)
{
	berth_dockerfile *df = NULL;
	berth_df_error err;
	char where[64];
	int rc = berth_dockerfile_parse(&df, text, len, "Dockerfile", &err);

	if (rc == 0) {
		berth_dockerfile_free(df);
		fail_msg("expected an error containing [%s]", msg);
	}
	assert_int_equal(rc, code);
	if (err.line != line || err.col != col)
		fail_msg("error at %u:%u, want %u:%u (%s)", err.line, err.col, line, col,
			 berth_error_last());
	snprintf(where, sizeof(where), "Dockerfile:%u:%u: ", line, col);
	if (line && strncmp(berth_error_last(), where, strlen(where)) != 0)
		fail_msg("message [%s] does not start with [%s]", berth_error_last(), where);
	if (!strstr(berth_error_last(), msg))
		fail_msg("message [%s] lacks [%s]", berth_error_last(), msg);
}

/* ---- the corpus ---- */

static void test_corpus_matches_expected_trees(void **state)
{
	char dir[4096], path[4096 + 300];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/tests/fixtures/dockerfile/corpus", src_dir());
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		berth_dockerfile *df = NULL;
		char *text, *want, *got = NULL;
		size_t len;

		if (l < 12 || strcmp(de->d_name + l - 11, ".Dockerfile") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		text = slurp(path, &len);
		assert_non_null(text);
		if (berth_dockerfile_parse(&df, text, len, de->d_name, NULL) != 0)
			fail_msg("%s: %s", de->d_name, berth_error_last());
		if (berth_dockerfile_check(df, NULL) != 0)
			fail_msg("%s: check: %s", de->d_name, berth_error_last());
		assert_int_equal(berth_dockerfile_to_json(&got, df, 1), 0);
		snprintf(path, sizeof(path), "%s/%.*s.json", dir, (int)(l - 11), de->d_name);
		want = slurp(path, NULL);
		if (!want)
			fail_msg("%s: no expected tree %s", de->d_name, path);
		/* the expected file ends with the newline `berth dockerfile parse` prints */
		if (strncmp(got, want, strlen(got)) != 0 || strlen(want) != strlen(got) + 1)
			fail_msg("%s: tree differs from %s", de->d_name, path);
		free(got);
		free(want);
		free(text);
		berth_dockerfile_free(df);
		n++;
	}
	closedir(d);
	if (n < 25)
		fail_msg("only %d corpus files found", n);
}

static void test_brief_dockerfiles_parse(void **state)
{
	static const struct {
		const char *file;
		size_t ninstrs, nstages;
		int checks; /* snippets have no FROM: BuildKit's check refuses them */
	} c[] = {
		{"node-multistage.Dockerfile", 16, 2, 1},
		{"python-multistage.Dockerfile", 17, 2, 1},
		{"go-multistage.Dockerfile", 11, 2, 1},
		{"java-spring-boot-multistage.Dockerfile", 20, 2, 1},
		{"platform-args.Dockerfile", 7, 1, 1},
		{"layer-order.snippet.Dockerfile", 6, 1, 1},
		{"minimal-attack-surface.snippet.Dockerfile", 2, 1, 1},
		{"combine-run.snippet.Dockerfile", 5, 0, 0},
		{"nonroot-user.snippet.Dockerfile", 3, 0, 0},
		{"read-only-fs.snippet.Dockerfile", 2, 0, 0},
		{"secret-mount.snippet.Dockerfile", 1, 0, 0},
	};
	char path[4096];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		berth_dockerfile *df = NULL;

		snprintf(path, sizeof(path), "%s/tests/fixtures/brief/%s", src_dir(), c[i].file);
		if (berth_dockerfile_parse_file(&df, path, NULL) != 0)
			fail_msg("%s: %s", c[i].file, berth_error_last());
		if (df->ninstrs != c[i].ninstrs || df->nstages != c[i].nstages)
			fail_msg("%s: %zu instructions, %zu stages; want %zu, %zu", c[i].file,
				 df->ninstrs, df->nstages, c[i].ninstrs, c[i].nstages);
		if ((berth_dockerfile_check(df, NULL) == 0) != c[i].checks)
			fail_msg("%s: check gave %s", c[i].file, berth_error_last());
		/* "# syntax=" below another comment is a comment, not a directive */
		if (strcmp(c[i].file, "secret-mount.snippet.Dockerfile") == 0 &&
		    (df->ndirectives != 0 || df->instrs[0].nflags != 1))
			fail_msg("secret-mount: %zu directives", df->ndirectives);
		berth_dockerfile_free(df);
	}
}

/* ---- targeted facts ---- */

static void test_positions_and_continuations(void **state)
{
	berth_dockerfile *df = parse_ok("FROM alpine\n"
					"  RUN --mount=type=cache,target=/c \\\n"
					"\n"
					"    # note\n"
					"    echo \"a b\" \\\n"
					"      c\n"
					"COPY --chown=1:2 [\"x\", \"y z\"]\n");
	const berth_df_instr *run = &df->instrs[1], *cp = &df->instrs[2];

	assert_int_equal(df->ninstrs, 3);
	assert_int_equal(run->kind, BERTH_DF_RUN);
	assert_int_equal(run->pos.line, 2);
	assert_int_equal(run->pos.col, 3);
	assert_int_equal(run->end_line, 6);
	assert_int_equal(run->nflags, 1);
	assert_string_equal(run->flags[0].name, "mount");
	assert_string_equal(run->flags[0].value, "type=cache,target=/c");
	assert_int_equal(run->flags[0].pos.line, 2);
	assert_int_equal(run->flags[0].pos.col, 7);
	assert_int_equal(run->nargs, 1);
	assert_string_equal(run->args[0].text, "echo \"a b\"       c");
	assert_int_equal(run->args[0].pos.line, 5);
	assert_int_equal(run->args[0].pos.col, 5);
	assert_int_equal(run->nempty_continuation, 1);
	assert_int_equal(run->empty_continuation_lines[0], 3);
	assert_int_equal(run->ncomment_continuation, 1);
	assert_int_equal(run->comment_continuation_lines[0], 4);
	assert_int_equal(cp->form, BERTH_DF_FORM_JSON);
	assert_int_equal(cp->nargs, 2);
	assert_string_equal(cp->args[1].text, "y z");
	assert_int_equal(cp->args[1].pos.col, 24); /* the opening quote */
	assert_string_equal(berth_dockerfile_line(df, 5), "    echo \"a b\" \\");
	berth_dockerfile_free(df);
}

static void test_json_forms(void **state)
{
	berth_dockerfile *df = parse_ok("FROM a\n"
					"CMD [\"x\"] and more\n"
					"CMD [x]\n"
					"CMD [\"\\u00e9\\ud83d\\ude00\"]\n"
					"ENTRYPOINT []\n"
					"RUN [\"unclosed\"\n");

	assert_int_equal(df->instrs[1].form, BERTH_DF_FORM_JSON);
	assert_int_equal(df->instrs[1].nargs, 1);
	assert_int_equal(df->instrs[2].form, BERTH_DF_FORM_SHELL);
	assert_string_equal(df->instrs[2].args[0].text, "[x]");
	assert_string_equal(df->instrs[3].args[0].text, "\xC3\xA9\xF0\x9F\x98\x80");
	assert_int_equal(df->instrs[4].form, BERTH_DF_FORM_JSON);
	assert_int_equal(df->instrs[4].nargs, 0);
	assert_int_equal(df->instrs[5].form, BERTH_DF_FORM_SHELL);
	berth_dockerfile_free(df);
	expect_error("FROM a\nCMD [\"a\", 1]\n", 20, BERTH_EINVALID, 2, 5,
		     "arrays must be comprised of strings only");
	expect_error("FROM a\nCMD [\"a\", [\"b\"]]\n", 24, BERTH_EINVALID, 2, 5,
		     "arrays must be comprised of strings only");
}

static void test_heredoc_facts(void **state)
{
	berth_dockerfile *df = parse_ok("FROM a\n"
					"COPY <<-\"EOF\" /x <<two /y\n"
					"\tone $A\n"
					"\tEOF\n"
					"2\n"
					"two\n"
					"RUN [\"sh\", \"<<EOF\"]\n"
					"RUN echo '<<NOT' done\n");
	const berth_df_instr *cp = &df->instrs[1];
	char *body;
	size_t n;

	assert_int_equal(cp->nheredocs, 2);
	assert_string_equal(cp->heredocs[0].name, "EOF");
	assert_true(cp->heredocs[0].strip_tabs);
	assert_false(cp->heredocs[0].expand);
	assert_string_equal(cp->heredocs[0].body, "\tone $A\n");
	assert_int_equal(cp->heredocs[0].start_line, 3);
	assert_int_equal(cp->heredocs[0].end_line, 4);
	assert_int_equal(berth_df_heredoc_content(&body, &n, &cp->heredocs[0]), 0);
	assert_string_equal(body, "one $A\n");
	free(body);
	assert_string_equal(cp->heredocs[1].name, "two");
	assert_true(cp->heredocs[1].expand);
	assert_string_equal(cp->heredocs[1].body, "2\n");
	assert_int_equal(cp->end_line, 6);
	/* JSON form and quoted "<<" have no heredocs */
	assert_int_equal(df->instrs[2].nheredocs, 0);
	assert_int_equal(df->instrs[3].nheredocs, 0);
	berth_dockerfile_free(df);
}

static void test_directives(void **state)
{
	berth_dockerfile *df = parse_ok("#  SYNTAX = docker/dockerfile:1 \n"
					"# escape=`\n"
					"# check=skip=all\n"
					"# other=x\n"
					"# escape=\\\n"
					"FROM a\n"
					"RUN a `\n"
					"  b\n");

	assert_int_equal(df->ndirectives, 3);
	assert_string_equal(df->directives[0].name, "syntax");
	assert_string_equal(df->directives[0].value, "docker/dockerfile:1");
	assert_int_equal(df->escape, '`');
	assert_string_equal(df->directives[2].value, "skip=all");
	assert_int_equal(df->instrs[1].end_line, 8);
	/* a directive line after the first other line is a comment */
	assert_int_equal(df->instrs[0].ncomments, 2);
	berth_dockerfile_free(df);
	expect_error("# escape=x\nFROM a\n", 18, BERTH_EINVALID, 1, 10,
		     "invalid escape token 'x' does not match ` or \\");
	expect_error("# syntax=a\n# syntax=b\nFROM a\n", 29, BERTH_EINVALID, 2, 1,
		     "only one syntax parser directive can be used");
}

static void test_env_label_arg_forms(void **state)
{
	berth_dockerfile *df = parse_ok("FROM a\n"
					"ENV A=1 B=\"x y\" C=z\\ w\n"
					"ENV OLD some value\n"
					"LABEL \"a b\"=c\n"
					"ARG X Y=2 Z=\n");

	assert_int_equal(df->instrs[1].nkvs, 3);
	assert_string_equal(df->instrs[1].kvs[1].value, "\"x y\"");
	assert_string_equal(df->instrs[1].kvs[2].value, "z\\ w");
	assert_false(df->instrs[1].legacy_kv);
	assert_true(df->instrs[2].legacy_kv);
	assert_string_equal(df->instrs[2].kvs[0].key, "OLD");
	assert_string_equal(df->instrs[2].kvs[0].value, "some value");
	assert_string_equal(df->instrs[3].kvs[0].key, "\"a b\"");
	assert_int_equal(df->instrs[4].nkvs, 3);
	assert_false(df->instrs[4].kvs[0].has_value);
	assert_true(df->instrs[4].kvs[2].has_value);
	assert_string_equal(df->instrs[4].kvs[2].value, "");
	berth_dockerfile_free(df);
	expect_error("FROM a\nENV A=1 B\n", 17, BERTH_EINVALID, 2, 9, "can't find = in \"B\"");
	expect_error("FROM a\nENV ONLY\n", 16, BERTH_EINVALID, 2, 5, "ENV must have two arguments");
}

static void test_flags_words(void **state)
{
	berth_dockerfile *df =
		parse_ok("FROM a\nRUN --mount=\"type=bind,target=/x y\" --network=none true\n"
			 "RUN -- --x\nRUN -x\nCOPY --link a b\n");

	assert_int_equal(df->instrs[1].nflags, 2);
	assert_string_equal(df->instrs[1].flags[0].value, "type=bind,target=/x y");
	assert_string_equal(df->instrs[1].args[0].text, "true");
	assert_int_equal(df->instrs[2].nflags, 0);
	assert_string_equal(df->instrs[2].args[0].text, "--x");
	assert_int_equal(df->instrs[3].nflags, 0);
	assert_null(df->instrs[4].flags[0].value);
	berth_dockerfile_free(df);
}

typedef struct ccase {
	const char *text;
	uint32_t line, col;
	const char *msg;
} ccase;

static void test_buildkit_checks(void **state)
{
	static const ccase c[] = {
		{"FROM a\nFOO bar\n", 2, 1, "unknown instruction: FOO"},
		{"RUN x\nFROM a\n", 1, 1, "no build stage in current context"},
		{"FROM a b\n", 1, 6, "FROM requires either one or three arguments"},
		{"FROM a AS 1bad\n", 1, 11, "invalid name for build stage: \"1bad\""},
		{"FROM a\nCOPY --nope=1 a b\n", 2, 6, "unknown flag: nope"},
		{"FROM a\nCOPY --from a b\n", 2, 6, "missing a value on flag: from"},
		{"FROM a\nCOPY --link=maybe a b\n", 2, 6, "expecting boolean value for flag link"},
		{"FROM a\nCOPY --from=x --from=y a b\n", 2, 15, "duplicate flag specified: from"},
		{"FROM a\nCOPY onlyone\n", 2, 6, "COPY requires at least two arguments"},
		{"FROM a\nCOPY a <<EOF\nx\nEOF\n", 2, 8,
		 "cannot accept a heredoc as a destination"},
		{"FROM a\nENV --x=1 A=1\n", 2, 5, "unknown flag: x"},
		{"FROM a\nWORKDIR\n", 2, 1, "WORKDIR requires exactly one argument"},
		{"FROM a\nSHELL sh -c\n", 2, 7, "SHELL requires the arguments to be in JSON form"},
		{"FROM a\nONBUILD ONBUILD RUN x\n", 2, 9, "Chaining ONBUILD"},
		{"FROM a\nONBUILD FROM b\n", 2, 9, "FROM isn't allowed as an ONBUILD trigger"},
		{"FROM a\nHEALTHCHECK NONE x\n", 2, 13, "HEALTHCHECK NONE takes no arguments"},
		{"FROM a\nHEALTHCHECK CMD\n", 2, 13, "Missing command after HEALTHCHECK CMD"},
		{"FROM a\nHEALTHCHECK RUN x\n", 2, 13, "Unknown type \"RUN\" in HEALTHCHECK"},
		{"FROM a\nHEALTHCHECK --interval=1x CMD x\n", 2, 13, "invalid duration"},
		{"FROM a\nHEALTHCHECK --timeout=1ns CMD x\n", 2, 13, "cannot be less than 1ms"},
		{"FROM a\nHEALTHCHECK --retries=-1 CMD x\n", 2, 13, "--retries cannot be negative"},
		{"FROM a\nVOLUME [\"\"]\n", 2, 9, "VOLUME specified can not be an empty string"},
		{"FROM a\nARG =x\n", 2, 5, "ARG names can not be blank"},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		berth_dockerfile *df = parse_ok(c[i].text);
		berth_df_error err;

		if (berth_dockerfile_check(df, &err) != BERTH_EINVALID)
			fail_msg("[%s] should fail the checks", c[i].text);
		if (err.line != c[i].line || err.col != c[i].col || !strstr(err.message, c[i].msg))
			fail_msg("[%s]: %u:%u %s; want %u:%u %s", c[i].text, err.line, err.col,
				 err.message, c[i].line, c[i].col, c[i].msg);
		berth_dockerfile_free(df);
	}
}

static void test_run_command_with_heredocs(void **state)
{
	berth_dockerfile *df = parse_ok("FROM a\n"
					"RUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n"
					"RUN <<-EOF\n\techo hi\n\tEOF\n"
					"RUN cat <<A >/x\nbody\nA\n"
					"RUN echo plain\n");
	berth_df_run_mode m;
	char *c;

	assert_int_equal(berth_dockerfile_run_command(&c, &m, &df->instrs[1]), 0);
	assert_int_equal(m, BERTH_DF_RUN_SCRIPT);
	assert_string_equal(c, "#!/usr/bin/env python3\nprint(1)\n");
	free(c);
	assert_int_equal(berth_dockerfile_run_command(&c, &m, &df->instrs[2]), 0);
	assert_int_equal(m, BERTH_DF_RUN_SHELL);
	assert_string_equal(c, "echo hi\n");
	free(c);
	assert_int_equal(berth_dockerfile_run_command(&c, &m, &df->instrs[3]), 0);
	assert_int_equal(m, BERTH_DF_RUN_SHELL);
	assert_string_equal(c, "cat <<A >/x\nbody\nA");
	free(c);
	assert_int_equal(berth_dockerfile_run_command(&c, &m, &df->instrs[4]), 0);
	assert_string_equal(c, "echo plain");
	free(c);
	berth_dockerfile_free(df);
}

/* ---- bad input ---- */

static void test_binary_file(void **state)
{
	static const char bin[] = "FROM a\nRUN \x7f"
				  "ELF\x01\x02\x00\x00garbage\n";

	expect_error(bin, sizeof(bin) - 1, BERTH_EINVALID, 2, 11,
		     "NUL byte: this is a binary file");
}

static void test_invalid_utf8(void **state)
{
	static const char t[] = "FROM a\nLABEL x=\"caf\xe9\"\n";

	expect_error(t, sizeof(t) - 1, BERTH_EINVALID, 2, 13, "invalid UTF-8 byte 0xe9");
	expect_error("FROM a\n\xc0\xaf\n", 10, BERTH_EINVALID, 2, 1, "invalid UTF-8 byte 0xc0");
}

static void test_ten_megabyte_line(void **state)
{
	size_t n = 10u << 20;
	char *t = malloc(n + 32);

	assert_non_null(t);
	memcpy(t, "FROM a\nRUN echo ", 16);
	memset(t + 16, 'x', n);
	t[16 + n] = '\n';
	expect_error(t, n + 17, BERTH_ETOOBIG, 2, BERTH_DF_MAX_LINE + 1,
		     "line 2 is longer than 1048576 bytes");
	free(t);
}

static void test_unterminated_heredoc(void **state)
{
	const char *t = "FROM a\nRUN cat <<EOF >/x && \\\n  cat <<-END\nline\nEOF\nmore\n";

	/* <<EOF is closed; <<-END (line 3, column 7) never is */
	expect_error(t, strlen(t), BERTH_EINVALID, 3, 7, "unterminated heredoc");
}

static void test_unterminated_quote_in_expansion(void **state)
{
	berth_dockerfile *df = parse_ok("FROM a\nENV A=1 \\\n    B=\"open\n");
	berth_df_plan *p = NULL;
	berth_df_error err;

	assert_int_equal(berth_dockerfile_plan(&p, df, NULL, &err), BERTH_EINVALID);
	assert_int_equal(err.line, 3);
	assert_int_equal(err.col, 5);
	assert_non_null(strstr(err.message, "looking for matching double-quote"));
	berth_dockerfile_free(df);
}

static void test_deep_continuations(void **state)
{
	size_t lines = BERTH_DF_MAX_CONTINUATIONS + 10, o = 0;
	char *t = malloc(lines * 4 + 32);

	assert_non_null(t);
	o += (size_t)sprintf(t, "FROM a\nRUN x \\\n");
	for (size_t i = 0; i < lines; i++)
		o += (size_t)sprintf(t + o, "y \\\n");
	/* line 2 starts the instruction; line 2 + 10001 is one too many */
	expect_error(t, o, BERTH_ETOOBIG, 2 + BERTH_DF_MAX_CONTINUATIONS + 1, 1,
		     "continues over more than 10000 lines");
	free(t);
}

static void test_empty_and_huge_files(void **state)
{
	expect_error("", 0, BERTH_EINVALID, 0, 0, "file with no instructions");
	expect_error("# only a comment\n\n", 18, BERTH_EINVALID, 0, 0, "file with no instructions");
	expect_error("FROM a", BERTH_DF_MAX_FILE + 1, BERTH_ETOOBIG, 0, 0, "file is larger than");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_matches_expected_trees),
		cmocka_unit_test(test_brief_dockerfiles_parse),
		cmocka_unit_test(test_positions_and_continuations),
		cmocka_unit_test(test_json_forms),
		cmocka_unit_test(test_heredoc_facts),
		cmocka_unit_test(test_directives),
		cmocka_unit_test(test_env_label_arg_forms),
		cmocka_unit_test(test_flags_words),
		cmocka_unit_test(test_buildkit_checks),
		cmocka_unit_test(test_run_command_with_heredocs),
		cmocka_unit_test(test_binary_file),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_ten_megabyte_line),
		cmocka_unit_test(test_unterminated_heredoc),
		cmocka_unit_test(test_unterminated_quote_in_expansion),
		cmocka_unit_test(test_deep_continuations),
		cmocka_unit_test(test_empty_and_huge_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
