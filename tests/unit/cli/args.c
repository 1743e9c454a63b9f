/*
 * args.c - the command line's option parser (src/cli/args.c): every syntax
 * it accepts (--name value, --name=value, -x value, -xVALUE, combined short
 * flags, "--", booleans, repeated and list options, positionals anywhere or
 * stopping the options), every usage error (one line "berth <cmd>: ...",
 * result BERTH_ARGS_USAGE, exit 2), and --help printed from the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "cli/args.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct t_opts {
	int all, quiet, verbose, tls, n;
	uint64_t size;
	const char *name, *format;
	berth_args_list tags;
} t_opts;

static const char *const formats[] = {"text", "json", "yaml", NULL};

static const berth_arg t_args[] = {
	BERTH_OPT_FLAG("all", 'a', t_opts, all, "everything"),
	BERTH_OPT_FLAG("quiet", 'q', t_opts, quiet, "say nothing"),
	BERTH_OPT_FLAG(NULL, 'v', t_opts, verbose, "short only"),
	BERTH_OPT_BOOL("tls-verify", 0, t_opts, tls, "false", "check certificates"),
	BERTH_OPT_INT("number", 'n', t_opts, n, "N", 1, 64, "how many\nsecond line"),
	BERTH_OPT_SIZE("size", 0, t_opts, size, "BYTES", 1, 1LL << 40, "how large"),
	BERTH_OPT_STRING("name", 'N', t_opts, name, "NAME", "a name"),
	BERTH_OPT_ENUM("format", 0, t_opts, format, formats, NULL, "output format"),
	BERTH_OPT_LIST("tag", 't', t_opts, tags, "TAG", "repeatable"),
	BERTH_OPT_END,
};

static const berth_args_spec t_spec = {
	.cmd = "test",
	.usage = "test [options] SRC [DST]",
	.description = "A command for the tests.\n",
	.args = t_args,
	.min_pos = 1,
	.max_pos = 2,
	.missing = "needs SRC",
	.footer = "The end.\n",
};

/* What one parse did: its result, the positionals, stdout and stderr. */
typedef struct run {
	int rc, npos;
	char *argv[32];
	char out[4096], err[4096];
	t_opts o;
} run;

static void slurp(FILE *f, char *buf, size_t len)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
}

/* Parse a NULL-terminated list of arguments (after "test") with spec. */
static void parse_with(run *r, const berth_args_spec *spec, const char *first, va_list ap)
{
	FILE *out = tmpfile(), *err = tmpfile();
	int argc = 0, save_out, save_err;

	assert_non_null(out);
	assert_non_null(err);
	memset(r, 0, sizeof(*r));
	r->o.tls = 1;
	r->argv[argc++] = "test";
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		assert_true(argc < 31);
		r->argv[argc++] = (char *)a;
	}
	fflush(stdout);
	fflush(stderr);
	save_out = dup(1);
	save_err = dup(2);
	dup2(fileno(out), 1);
	dup2(fileno(err), 2);
	r->rc = berth_args_parse(spec, &r->o, argc, r->argv, &r->npos);
	fflush(stdout);
	fflush(stderr);
	dup2(save_out, 1);
	dup2(save_err, 2);
	close(save_out);
	close(save_err);
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
	fclose(out);
	fclose(err);
}

static void parse(run *r, const char *first, ...)
{
	va_list ap;

	va_start(ap, first);
	parse_with(r, &t_spec, first, ap);
	va_end(ap);
}

static void parse_spec(run *r, const berth_args_spec *spec, const char *first, ...)
{
	va_list ap;

	va_start(ap, first);
	parse_with(r, spec, first, ap);
	va_end(ap);
}

/* A usage error: one line "berth test: ...", mentioning `word`. */
static void assert_usage(const run *r, const char *word)
{
	const char *nl = strchr(r->err, '\n');

	assert_int_equal(r->rc, BERTH_ARGS_USAGE);
	assert_int_equal(berth_args_exit(r->rc), BERTH_EXIT_USAGE);
	assert_true(strncmp(r->err, "berth test: ", 12) == 0);
	assert_non_null(nl);
	assert_int_equal(nl[1], '\0');
	if (!strstr(r->err, word))
		fail_msg("'%s' not in '%s'", word, r->err);
	assert_string_equal(r->out, "");
}

/* The parse succeeded with exactly the positional arguments a and b. */
static void assert_two(const run *r, const char *a, const char *b)
{
	assert_int_equal(r->rc, BERTH_ARGS_OK);
	assert_int_equal(r->npos, 2);
	assert_string_equal(r->argv[1], a);
	assert_string_equal(r->argv[2], b);
}

static void long_options_take_separate_or_attached_values(void **state)
{
	run r;

	(void)state;
	parse(&r, "--name", "alpha", "--number=7", "--format", "json", "src", NULL);
	assert_int_equal(r.rc, BERTH_ARGS_OK);
	assert_string_equal(r.o.name, "alpha");
	assert_int_equal(r.o.n, 7);
	assert_string_equal(r.o.format, "json");
	assert_int_equal(r.npos, 1);
	assert_string_equal(r.argv[1], "src");
	/* an attached value may be empty, or start with '-' or hold '=' */
	parse(&r, "--name=", "s", NULL);
	assert_int_equal(r.rc, BERTH_ARGS_OK);
	assert_string_equal(r.o.name, "");
	parse(&r, "--name", "-x", "--tag=k=v", "s", NULL);
	assert_int_equal(r.rc, BERTH_ARGS_OK);
	assert_string_equal(r.o.name, "-x");
	assert_string_equal(r.o.tags.v[0], "k=v");
}

static void short_options_combine_and_take_values(void **state)
{
	run r;

	(void)state;
	parse(&r, "-aq", "-n", "3", "-Nbeta", "s", NULL);
	assert_int_equal(r.rc, BERTH_ARGS_OK);
	assert_int_equal(r.o.all, 1);
	assert_int_equal(r.o.quiet, 1);
	assert_int_equal(r.o.n, 3);
	assert_string_equal(r.o.name, "beta");
	/* a value-taking option ends a cluster: the rest is its value */
	parse(&r, "-vqn12", "s", NULL);
	assert_int_equal(r.rc, BERTH_ARGS_OK);
	assert_int_equal(r.o.verbose, 1);
	assert_int_equal(r.o.quiet, 1);
	assert_int_equal(r.o.n, 12);
	parse(&r, "-vq", "-t", "x", "s", NULL);
	assert_int_equal(r.rc, BERTH_ARGS_OK);
	assert_int_equal(r.o.tags.n, 1);
}

static void booleans_take_true_or_false_attached(void **state)
{
	run r;

	(void)state;
	parse(&r, "--tls-verify=false", "s", NULL);
	assert_int_equal(r.rc, BERTH_ARGS_OK);
	assert_int_equal(r.o.tls, 0);
	parse(&r, "--tls-verify=0", "--tls-verify=true", "s", NULL);
	assert_int_equal(r.rc, BERTH_ARGS_OK);
	assert_int_equal(r.o.tls, 1);
	parse(&r, "--tls-verify=false", "--tls-verify", "s", NULL);
	assert_int_equal(r.o.tls, 1);
	/* a separate word is a positional, not the boolean's value */
	parse(&r, "--tls-verify", "false", NULL);
	assert_int_equal(r.rc, BERTH_ARGS_OK);
	assert_int_equal(r.o.tls, 1);
	assert_string_equal(r.argv[1], "false");
	parse(&r, "--tls-verify=maybe", "s", NULL);
	assert_usage(&r, "true or false");
	parse(&r, "--all=yes", "s", NULL);
	assert_usage(&r, "--all takes no value");
}

static void repeated_options_last_wins_lists_keep_all(void **state)
{
	run r;

	(void)state;
	parse(&r, "--name", "a", "--name=b", "-t", "one", "--tag", "two", "-tthree", "s", NULL);
	assert_int_equal(r.rc, BERTH_ARGS_OK);
	assert_string_equal(r.o.name, "b");
	assert_int_equal(r.o.tags.n, 3);
	assert_string_equal(r.o.tags.v[0], "one");
	assert_string_equal(r.o.tags.v[1], "two");
	assert_string_equal(r.o.tags.v[2], "three");
}

static void a_list_is_capped(void **state)
{
	char *argv[2 * BERTH_ARGS_LIST_MAX + 4];
	t_opts o = {0};
	int argc = 0, n;

	(void)state;
	argv[argc++] = "test";
	for (int i = 0; i <= BERTH_ARGS_LIST_MAX; i++) {
		argv[argc++] = "-t";
		argv[argc++] = "x";
	}
	argv[argc++] = "s";
	fflush(stderr);
	assert_int_equal(berth_args_parse(&t_spec, &o, argc, argv, &n), BERTH_ARGS_USAGE);
	assert_int_equal(o.tags.n, BERTH_ARGS_LIST_MAX);
}

static void positionals_anywhere_and_after_double_dash(void **state)
{
	run r;

	(void)state;
	parse(&r, "src", "-q", "dst", NULL);
	assert_two(&r, "src", "dst");
	assert_int_equal(r.o.quiet, 1);
	parse(&r, "-q", "--", "--all", "-", NULL);
	assert_two(&r, "--all", "-");
	assert_int_equal(r.o.all, 0);
	/* --help after -- is an argument too */
	parse(&r, "--", "--help", NULL);
	assert_int_equal(r.rc, BERTH_ARGS_OK);
	assert_string_equal(r.argv[1], "--help");
}

static void positional_counts_are_checked(void **state)
{
	run r;

	(void)state;
	parse(&r, "-q", NULL);
	assert_usage(&r, "needs SRC (see --help)");
	parse(&r, "a", "b", "c", NULL);
	assert_usage(&r, "unexpected argument 'c'");
}

static void a_stop_spec_ends_options_at_the_first_positional(void **state)
{
	berth_args_spec stop = t_spec;
	char *argv[] = {"test", "-q", "--name=x", "noun", "--all", "-t", "v", "--", NULL};
	t_opts o = {0};
	int n;

	(void)state;
	stop.flags = BERTH_ARGS_STOP;
	stop.max_pos = -1;
	assert_int_equal(berth_args_parse(&stop, &o, 8, argv, &n), BERTH_ARGS_OK);
	assert_int_equal(o.quiet, 1);
	assert_string_equal(o.name, "x");
	assert_int_equal(o.all, 0);
	assert_int_equal(n, 5);
	assert_string_equal(argv[1], "noun");
	assert_string_equal(argv[2], "--all");
	assert_string_equal(argv[5], "--");
}

static void a_digits_spec_reads_dash_digit_as_an_argument(void **state)
{
	berth_args_spec digits = t_spec;
	run r;

	(void)state;
	digits.flags = BERTH_ARGS_DIGITS;
	parse_spec(&r, &digits, "-1", "-q", "-2.0~rc1", NULL);
	assert_two(&r, "-1", "-2.0~rc1");
	assert_int_equal(r.o.quiet, 1);
	/* without the flag "-1" is an unknown short option */
	parse(&r, "-1", "s", NULL);
	assert_usage(&r, "unknown option '-1'");
}

static void bad_values_are_usage_errors(void **state)
{
	run r;

	(void)state;
	parse(&r, "--bogus", "s", NULL);
	assert_usage(&r, "unknown option '--bogus' (see --help)");
	parse(&r, "--bogus=1", "s", NULL);
	assert_usage(&r, "unknown option '--bogus'");
	parse(&r, "-x", "s", NULL);
	assert_usage(&r, "unknown option '-x'");
	parse(&r, "-qx", "s", NULL);
	assert_usage(&r, "unknown option '-x'");
	parse(&r, "s", "--name", NULL);
	assert_usage(&r, "option --name needs a value");
	parse(&r, "s", "-n", NULL);
	assert_usage(&r, "option --number needs a value");
	parse(&r, "--number", "0", "s", NULL);
	assert_usage(&r, "from 1 to 64");
	parse(&r, "--number", "65", "s", NULL);
	assert_usage(&r, "from 1 to 64");
	parse(&r, "--number", "7x", "s", NULL);
	assert_usage(&r, "--number");
	parse(&r, "--number", "99999999999999999999", "s", NULL);
	assert_usage(&r, "--number");
	parse(&r, "--format", "xml", "s", NULL);
	assert_usage(&r, "option --format takes text, json or yaml, not 'xml'");
}

static void sizes_take_binary_suffixes(void **state)
{
	run r;

	(void)state;
	parse(&r, "--size", "4096", "s", NULL);
	assert_int_equal(r.rc, BERTH_ARGS_OK);
	assert_int_equal(r.o.size, 4096);
	parse(&r, "--size=64k", "s", NULL);
	assert_int_equal(r.o.size, 64 * 1024);
	parse(&r, "--size=4M", "s", NULL);
	assert_int_equal(r.o.size, 4 * 1024 * 1024);
	parse(&r, "--size=2g", "s", NULL);
	assert_int_equal(r.o.size, 2ULL << 30);
	parse(&r, "--size=1t", "s", NULL);
	assert_int_equal(r.o.size, 1ULL << 40);
	parse(&r, "--size=2t", "s", NULL);
	assert_usage(&r, "--size");
	parse(&r, "--size=0", "s", NULL);
	assert_usage(&r, "--size");
	parse(&r, "--size=-1", "s", NULL);
	assert_usage(&r, "--size");
	parse(&r, "--size=4kb", "s", NULL);
	assert_usage(&r, "--size");
	parse(&r, "--size=99999999999999999999", "s", NULL);
	assert_usage(&r, "--size");
	parse(&r, "--size=17179869184t", "s", NULL);
	assert_usage(&r, "--size");
}

static void help_is_printed_from_the_table(void **state)
{
	run r;

	(void)state;
	parse(&r, "-q", "--help", "--bogus", NULL);
	assert_int_equal(r.rc, BERTH_ARGS_HELP);
	assert_int_equal(berth_args_exit(r.rc), BERTH_EXIT_OK);
	assert_string_equal(r.err, "");
	assert_true(strncmp(r.out,
			    "usage: berth test [options] SRC [DST]\n\nA command for the tests.\n",
			    64) == 0);
	assert_non_null(strstr(r.out, "\n  -a, --all                   everything\n"));
	assert_non_null(strstr(r.out, "\n  -v                          short only\n"));
	assert_non_null(strstr(r.out, "\n      --tls-verify=false      check certificates\n"));
	assert_non_null(strstr(r.out, "\n  -n, --number N              how many\n"
				      "                              second line\n"));
	/* too wide for its column: the help goes on the next line */
	assert_non_null(strstr(r.out, "\n      --format text|json|yaml\n"
				      "                              output format\n"));
	assert_non_null(strstr(r.out, "\n  -t, --tag TAG               repeatable\n"));
	assert_non_null(strstr(r.out, "\n  -h, --help                  show this help\n"));
	assert_non_null(strstr(r.out, "\nThe end.\n"));
	parse(&r, "-h", NULL);
	assert_int_equal(r.rc, BERTH_ARGS_HELP);
}

/* Every command's tables are well formed: names unique, values described. */
static void every_command_table_is_well_formed(void **state)
{
	(void)state;
	for (const berth_cli_command *c = berth_cli_commands; c->name; c++) {
		assert_non_null(c->specs); /* every command has a table (unit/cli/man too) */
		assert_non_null(c->specs[0]);
		for (const berth_args_spec *const *s = c->specs; *s; s++) {
			assert_non_null((*s)->cmd);
			assert_true(strncmp((*s)->usage, c->name, strlen(c->name)) == 0);
			for (const berth_arg *a = (*s)->args; a && a->kind != BERTH_ARG_END; a++) {
				assert_true(a->name || a->short_name);
				assert_non_null(a->help);
				assert_true(a->short_name != 'h');
				if (a->name)
					assert_string_not_equal(a->name, "help");
				if (a->kind == BERTH_ARG_ENUM)
					assert_non_null(a->choices);
				for (const berth_arg *b = a + 1; b->kind != BERTH_ARG_END; b++) {
					if (a->name && b->name)
						assert_string_not_equal(a->name, b->name);
					if (a->short_name)
						assert_int_not_equal(a->short_name, b->short_name);
				}
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(long_options_take_separate_or_attached_values),
		cmocka_unit_test(short_options_combine_and_take_values),
		cmocka_unit_test(booleans_take_true_or_false_attached),
		cmocka_unit_test(repeated_options_last_wins_lists_keep_all),
		cmocka_unit_test(a_list_is_capped),
		cmocka_unit_test(positionals_anywhere_and_after_double_dash),
		cmocka_unit_test(positional_counts_are_checked),
		cmocka_unit_test(a_stop_spec_ends_options_at_the_first_positional),
		cmocka_unit_test(a_digits_spec_reads_dash_digit_as_an_argument),
		cmocka_unit_test(bad_values_are_usage_errors),
		cmocka_unit_test(sizes_take_binary_suffixes),
		cmocka_unit_test(help_is_printed_from_the_table),
		cmocka_unit_test(every_command_table_is_well_formed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
