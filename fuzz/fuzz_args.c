/*
 * fuzz_args.c - the command line's option parser (src/cli/args.c) on
 * arbitrary argument vectors, against every option table of every command.
 *
 * Input: the first byte picks a table; the rest is split at '\n' into at
 * most ARGS_MAX arguments. Checked: the parser never reads or writes out of
 * bounds (sanitizers), and on success the positional arguments it returns
 * are exactly the input's arguments in order, none lost or invented.
 */
#include "cli/args.h"
#include "cli/cli.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGS_MAX 64
#define INPUT_MAX 4096

/* Big and aligned enough for any command's options struct. */
static union {
	char bytes[16384];
	long double align;
} opts;

/* The n-th option table of all commands', or NULL. */
static const berth_args_spec *pick(unsigned n)
{
	for (const berth_cli_command *c = berth_cli_commands; c->name; c++)
		for (const berth_args_spec *const *s = c->specs; s && *s; s++)
			if (n-- == 0)
				return *s;
	return NULL;
}

static unsigned nspecs(void)
{
	unsigned n = 0;

	for (const berth_cli_command *c = berth_cli_commands; c->name; c++)
		for (const berth_args_spec *const *s = c->specs; s && *s; s++)
			n++;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	char buf[INPUT_MAX + 1], *argv[ARGS_MAX + 2], *orig[ARGS_MAX + 2];
	const berth_args_spec *spec;
	int argc = 1, n;

	if (!quiet) {
		/* help is expected: keep it out of the log (usage errors go to
		 * stderr with the sanitizers' reports; -close_fd_mask=2 hides them) */
		if (!freopen("/dev/null", "w", stdout))
			abort();
		quiet = 1;
	}
	if (size < 1 || size > INPUT_MAX)
		return 0;
	spec = pick(data[0] % nspecs());
	if (!spec)
		abort();
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	argv[0] = "fuzz";
	for (char *p = buf, *nl; p && argc <= ARGS_MAX; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		argv[argc++] = p;
	}
	argv[argc] = NULL;
	memcpy(orig, argv, sizeof(argv));
	memset(&opts, 0, sizeof(opts));
	if (berth_args_parse(spec, &opts, argc, argv, &n) != BERTH_ARGS_OK)
		return 0;
	if (n < spec->min_pos || (spec->max_pos >= 0 && n > spec->max_pos) || n > argc - 1)
		abort();
	/* the positionals are input arguments, in their order */
	for (int i = 1, j = 1; i <= n; i++, j++) {
		while (j < argc && orig[j] != argv[i])
			j++;
		if (j >= argc)
			abort();
	}
	return 0;
}
