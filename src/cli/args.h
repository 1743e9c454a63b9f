/*
 * args.h - the one option parser of the berth command line.
 *
 * A command describes its options once, as a static table (name, short name,
 * kind of argument, where the value goes, metavar, help text), and its
 * positional arguments by count. berth_args_parse() reads argv against that
 * table, berth_args_help() prints `--help` from it, and the man-page test
 * (tests/unit/cli/man.c) checks every table against docs/berth-<cmd>.1. The
 * destinations are offsets into a struct of the command's own (the table is
 * data, not code), so one table serves the parser, the help and the test.
 *
 * Accepted syntax: --name VALUE, --name=VALUE, -x VALUE, -xVALUE, combined
 * short flags (-qa), booleans as --flag or --flag=true|false (also 1|0),
 * repeated options (the last wins; list options collect every value), "--"
 * ends the options, -h/--help print the help. Positional arguments may come
 * anywhere (or, with BERTH_ARGS_STOP, the first one ends the options; with
 * BERTH_ARGS_DIGITS an argument "-<digit>..." is positional, not options).
 * Usage errors are one line "berth <cmd>: ..." on stderr; the command then
 * exits 2 (berth_args_exit()).
 *
 * How a command declares its options: see docs/CODE_STYLE.md ("Command-line
 * options").
 */
#ifndef BERTH_CLI_ARGS_H
#define BERTH_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* At most this many values for one list option (a size cap on argv). */
#define BERTH_ARGS_LIST_MAX 64

typedef enum berth_arg_kind {
	BERTH_ARG_END = 0, /* ends a table */
	BERTH_ARG_FLAG,	   /* int = 1; takes no value */
	BERTH_ARG_BOOL,	   /* int = 1, or 0/1 from --name=false|true */
	BERTH_ARG_STRING,  /* const char * (borrowed from argv) */
	BERTH_ARG_INT,	   /* int in [min, max] */
	BERTH_ARG_SIZE,	   /* uint64_t in [min, max]; suffixes k, m, g, t (powers of 1024) */
	BERTH_ARG_LIST,	   /* berth_args_list: every value of a repeated option */
	BERTH_ARG_ENUM,	   /* const char * that is one of `choices` */
} berth_arg_kind;

/* The values of a repeated option, in order (borrowed from argv). */
typedef struct berth_args_list {
	const char *v[BERTH_ARGS_LIST_MAX];
	int n;
} berth_args_list;

typedef struct berth_arg {
	const char *name; /* long name without "--" ("tls-verify"), or NULL */
	char short_name;  /* 'q' for -q, or 0 */
	berth_arg_kind kind;
	size_t offset;		    /* of the destination in the command's options struct */
	const char *metavar;	    /* "FILE"; for a boolean, the value shown ("false") */
	const char *help;	    /* one line; '\n' continues it on the next */
	const char *const *choices; /* BERTH_ARG_ENUM: the allowed words, NULL-terminated */
	long long min, max;	    /* BERTH_ARG_INT, BERTH_ARG_SIZE */
	const char *key;	    /* free for the command (cmd_serve: the config key) */
} berth_arg;

/* Flags of berth_args_spec.flags. */
#define BERTH_ARGS_STOP 1   /* the first positional argument ends the options */
#define BERTH_ARGS_DIGITS 2 /* "-" and a digit is a positional argument ("-1"), not options */

typedef struct berth_args_spec {
	const char *cmd;	 /* for messages: "berth <cmd>: ..." */
	const char *usage;	 /* after "usage: berth ": "copy [options] SRC DST" */
	const char *description; /* paragraphs printed after the usage line, or NULL */
	const berth_arg *args;	 /* the table, ended by BERTH_ARG_END; may be NULL */
	int min_pos, max_pos;	 /* positional arguments; max_pos -1: no limit */
	const char *missing;	 /* message when fewer than min_pos ("needs SRC and DST") */
	const char *footer;	 /* text printed after the options, or NULL */
	const char *man;	 /* the man page documenting it, "berth-<cmd>" if NULL */
	int flags;		 /* BERTH_ARGS_* */
} berth_args_spec;

/*
 * Table entries. T is the command's options struct, F the field (its type is
 * checked at compile time: int, const char *, uint64_t or berth_args_list).
 */
#define BERTH_ARG_FIELD_(T, F, type) (offsetof(T, F) + 0 * sizeof(*(type **)0 = &((T *)0)->F))
#define BERTH_OPT_FLAG(long_, short_, T, F, help_)                                                 \
	{                                                                                          \
		.name = long_, .short_name = short_, .kind = BERTH_ARG_FLAG,                       \
		.offset = BERTH_ARG_FIELD_(T, F, int), .help = help_                               \
	}
#define BERTH_OPT_BOOL(long_, short_, T, F, shown, help_)                                          \
	{                                                                                          \
		.name = long_, .short_name = short_, .kind = BERTH_ARG_BOOL,                       \
		.offset = BERTH_ARG_FIELD_(T, F, int), .metavar = shown, .help = help_             \
	}
#define BERTH_OPT_STRING(long_, short_, T, F, mv, help_)                                           \
	{                                                                                          \
		.name = long_, .short_name = short_, .kind = BERTH_ARG_STRING,                     \
		.offset = BERTH_ARG_FIELD_(T, F, const char *), .metavar = mv, .help = help_       \
	}
#define BERTH_OPT_INT(long_, short_, T, F, mv, lo, hi, help_)                                      \
	{                                                                                          \
		.name = long_, .short_name = short_, .kind = BERTH_ARG_INT,                        \
		.offset = BERTH_ARG_FIELD_(T, F, int), .metavar = mv, .min = lo, .max = hi,        \
		.help = help_                                                                      \
	}
#define BERTH_OPT_SIZE(long_, short_, T, F, mv, lo, hi, help_)                                     \
	{                                                                                          \
		.name = long_, .short_name = short_, .kind = BERTH_ARG_SIZE,                       \
		.offset = BERTH_ARG_FIELD_(T, F, uint64_t), .metavar = mv, .min = lo, .max = hi,   \
		.help = help_                                                                      \
	}
#define BERTH_OPT_LIST(long_, short_, T, F, mv, help_)                                             \
	{                                                                                          \
		.name = long_, .short_name = short_, .kind = BERTH_ARG_LIST,                       \
		.offset = BERTH_ARG_FIELD_(T, F, berth_args_list), .metavar = mv, .help = help_    \
	}
#define BERTH_OPT_ENUM(long_, short_, T, F, choices_, mv, help_)                                   \
	{                                                                                          \
		.name = long_, .short_name = short_, .kind = BERTH_ARG_ENUM,                       \
		.offset = BERTH_ARG_FIELD_(T, F, const char *), .choices = choices_,               \
		.metavar = mv, .help = help_                                                       \
	}
#define BERTH_OPT_END                                                                              \
	{                                                                                          \
		.kind = BERTH_ARG_END                                                              \
	}

/* Results of berth_args_parse(). */
#define BERTH_ARGS_OK 0
#define BERTH_ARGS_HELP 1   /* --help was printed: exit 0 */
#define BERTH_ARGS_USAGE -1 /* a usage error was printed: exit 2 */

/*
 * Parse argv[1..argc-1] (argv[0] is the command's name) against spec, writing
 * values into `opts` (the command's options struct, initialised by the
 * caller with its defaults). On BERTH_ARGS_OK the positional arguments are
 * argv[1..*npos] (argv is reordered in place; option values stay valid).
 * -h/--help print the help to stdout (BERTH_ARGS_HELP); a usage error is
 * printed as one line (BERTH_ARGS_USAGE). Not thread-safe (writes stdio).
 */
int berth_args_parse(const berth_args_spec *spec, void *opts, int argc, char **argv, int *npos);

/* The exit code for a result of berth_args_parse() other than BERTH_ARGS_OK. */
int berth_args_exit(int rc);

/* Print the help of spec: usage line, description, options, footer. */
void berth_args_help(const berth_args_spec *spec, FILE *out);

/* "--name" or "-x" of an option, for messages (static buffer per thread). */
const char *berth_args_name(const berth_arg *a);

#endif
