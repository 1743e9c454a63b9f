/*
 * lint_shell.c - unit tests for the RUN-script splitter the lint rules read
 * (src/lib/dockerfile/lint_shell.c): separators, quotes, escapes, command
 * substitution, assignments, keywords, redirections, comments, flags.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/dockerfile/lint_internal.h"

/* "cmd1 w1 w2|cmd2 w1" : every command's words joined by spaces, commands by '|' */
static char *render(const char *script, lint_script *s)
{
	static char out[4096];

	assert_int_equal(berth_lint__shell_split(s, script), 0);
	out[0] = '\0';
	for (size_t i = 0; i < s->ncmds; i++) {
		if (i)
			strcat(out, "|");
		for (size_t k = 0; k < s->cmds[i].nassigns; k++) {
			strcat(out, s->cmds[i].assigns[k]);
			strcat(out, " ");
		}
		for (size_t k = 0; k < s->cmds[i].nwords; k++) {
			if (k)
				strcat(out, " ");
			strcat(out, s->cmds[i].words[k]);
		}
	}
	return out;
}

static void check(const char *script, const char *want)
{
	lint_script s;

	assert_string_equal(render(script, &s), want);
	berth_lint__shell_dispose(&s);
}

static void test_separators_split_commands(void **state)
{
	(void)state;
	check("a 1 && b 2 || c 3; d 4 | e 5 & f\ng", "a 1|b 2|c 3|d 4|e 5|f|g");
}

static void test_separator_kinds_are_recorded(void **state)
{
	lint_script s;

	(void)state;
	render("a && b || c | d; e", &s);
	assert_int_equal(s.ncmds, 5);
	assert_int_equal(s.cmds[0].sep, LINT_SEP_NONE);
	assert_int_equal(s.cmds[1].sep, LINT_SEP_AND);
	assert_int_equal(s.cmds[2].sep, LINT_SEP_OR);
	assert_int_equal(s.cmds[3].sep, LINT_SEP_PIPE);
	assert_int_equal(s.cmds[4].sep, LINT_SEP_SEQ);
	assert_true(s.has_pipe);
	berth_lint__shell_dispose(&s);
}

static void test_or_is_not_a_pipe(void **state)
{
	lint_script s;

	(void)state;
	render("a || b", &s);
	assert_false(s.has_pipe);
	berth_lint__shell_dispose(&s);
}

static void test_quotes_are_removed_and_keep_spaces(void **state)
{
	(void)state;
	check("echo 'a b' \"c d\" e\\ f", "echo a b c d e f");
	check("echo \"x\\\"y\" 'it''s'", "echo x\"y its");
	check("echo \"\"", "echo ");
}

static void test_operators_inside_quotes_do_not_split(void **state)
{
	(void)state;
	check("echo 'a && b' \"c | d\"", "echo a && b c | d");
}

static void test_line_continuation_joins(void **state)
{
	(void)state;
	check("apt-get install \\\n  curl", "apt-get install curl");
}

static void test_assignments_prefix_the_command(void **state)
{
	lint_script s;

	(void)state;
	assert_string_equal(render("CGO_ENABLED=0 GOOS=linux go build -o x", &s),
			    "CGO_ENABLED=0 GOOS=linux go build -o x");
	assert_int_equal(s.ncmds, 1);
	assert_int_equal(s.cmds[0].nassigns, 2);
	assert_string_equal(s.cmds[0].words[0], "go");
	berth_lint__shell_dispose(&s);
}

static void test_command_substitution_is_split_too(void **state)
{
	lint_script s;

	(void)state;
	render("NPM_TOKEN=$(cat /run/secrets/t) npm ci", &s);
	assert_int_equal(s.ncmds, 2);
	assert_string_equal(s.cmds[0].words[0], "cat");
	assert_true(s.cmds[0].in_subst);
	assert_string_equal(s.cmds[1].words[0], "npm");
	assert_string_equal(s.cmds[1].assigns[0], "NPM_TOKEN=$(cat /run/secrets/t)");
	berth_lint__shell_dispose(&s);
	check("echo `uname -m`", "uname -m|echo `uname -m`");
}

static void test_keywords_are_not_commands(void **state)
{
	(void)state;
	check("if [ -f x ]; then rm x; fi", "[ -f x ]|rm x");
	check("for f in a b; do echo $f; done", "echo $f");
	check("while true; do sleep 1; done", "true|sleep 1");
}

static void test_redirection_targets_are_not_arguments(void **state)
{
	(void)state;
	check("apt-get install x > /dev/null 2>&1", "apt-get install x");
	check("cat < in >> out", "cat");
}

static void test_comments_are_dropped(void **state)
{
	(void)state;
	check("echo a # comment && rm -rf /\necho b#c", "echo a|echo b#c");
}

static void test_groups_and_subshells(void **state)
{
	(void)state;
	check("(cd /x && make) && { echo a; }", "cd /x|make|echo a");
}

static void test_unterminated_quote_runs_to_end(void **state)
{
	(void)state;
	check("echo 'abc", "echo abc");
	check("echo $(ls", "ls|echo $(ls");
	check("echo `", "echo `"); /* found by fuzz_lint: a tick at the very end */
	check("echo $(", "echo $(");
}

static void test_flags(void **state)
{
	lint_script s;
	const lint_cmd *c;
	const char **args = NULL;
	size_t n = 0;
	static const char *const tv[] = {"t", NULL};

	(void)state;
	render("apt-get -qy install --no-install-recommends -t bookworm curl=1 jq", &s);
	c = &s.cmds[0];
	assert_true(berth_lint__cmd_is(c, "apt-get"));
	assert_true(berth_lint__cmd_has_flag(c, "y"));
	assert_true(berth_lint__cmd_has_flag(c, "q"));
	assert_true(berth_lint__cmd_has_flag(c, "no-install-recommends"));
	assert_false(berth_lint__cmd_has_flag(c, "no-install"));
	assert_false(berth_lint__cmd_has_flag(c, "x"));
	assert_int_equal(berth_lint__cmd_args(&args, &n, c, tv), 0);
	assert_int_equal(n, 3);
	assert_string_equal(args[0], "install");
	assert_string_equal(args[1], "curl=1");
	assert_string_equal(args[2], "jq");
	free(args);
	berth_lint__shell_dispose(&s);
}

static void test_command_name_is_basename(void **state)
{
	lint_script s;

	(void)state;
	render("/usr/bin/apt-get update", &s);
	assert_string_equal(berth_lint__cmd_name(&s.cmds[0]), "apt-get");
	berth_lint__shell_dispose(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_separators_split_commands),
		cmocka_unit_test(test_separator_kinds_are_recorded),
		cmocka_unit_test(test_or_is_not_a_pipe),
		cmocka_unit_test(test_quotes_are_removed_and_keep_spaces),
		cmocka_unit_test(test_operators_inside_quotes_do_not_split),
		cmocka_unit_test(test_line_continuation_joins),
		cmocka_unit_test(test_assignments_prefix_the_command),
		cmocka_unit_test(test_command_substitution_is_split_too),
		cmocka_unit_test(test_keywords_are_not_commands),
		cmocka_unit_test(test_redirection_targets_are_not_arguments),
		cmocka_unit_test(test_comments_are_dropped),
		cmocka_unit_test(test_groups_and_subshells),
		cmocka_unit_test(test_unterminated_quote_runs_to_end),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_command_name_is_basename),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
