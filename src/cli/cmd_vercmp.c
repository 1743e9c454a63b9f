/*
 * cmd_vercmp.c - `berth vercmp`: compare two versions of one ecosystem
 * (prints -1, 0 or 1), or test a version against an npm range (prints true
 * or false); --batch answers one "A<TAB>B" line of stdin per output line,
 * so policy authors and tests can check thousands of pairs in one run.
 */
#include "cli.h"

#include "berth/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERCMP_LINE_MAX (BERTH_VERSION_MAX + BERTH_VERSION_RANGE_MAX + 2)

typedef struct vercmp_opts {
	const char *type;
	int batch;
} vercmp_opts;

static const berth_arg vercmp_args[] = {
	BERTH_OPT_STRING("type", 't', vercmp_opts, type, "TYPE",
			 "deb, rpm, apk, pep440, semver, npm-range, maven, go,\n"
			 "gem, composer or nuget"),
	BERTH_OPT_FLAG("batch", 0, vercmp_opts, batch,
		       "read A<TAB>B lines from stdin, print one answer per line\n"
		       "(\"invalid\" for a line with an invalid version; exit 2 then)"),
	BERTH_OPT_END,
};

/* A version may start with "-" and a digit: such an argument is not an option. */
static const berth_args_spec vercmp_spec = {
	.cmd = "vercmp",
	.usage = "vercmp --type TYPE A B\n"
		 "       berth vercmp --type npm-range VERSION RANGE\n"
		 "       berth vercmp --type TYPE --batch < pairs.tsv",
	.description = "Compare two versions by the rules of one ecosystem and print -1, 0 or 1\n"
		       "(A older, equal, newer than B); with --type npm-range print true or false\n"
		       "for whether VERSION satisfies the npm RANGE.\n",
	.args = vercmp_args,
	.max_pos = 2,
	.footer = "Exit status: 0 ok, 2 on an invalid version or range, or a usage error.\n",
	.flags = BERTH_ARGS_DIGITS,
};

const berth_args_spec *const cmd_vercmp_specs[] = {&vercmp_spec, NULL};

/* Checks across options after parsing; -1 (usage error printed) if one fails. */
static int check(const vercmp_opts *o, int npos)
{
	if (!o->type)
		return berth_cli_fail("vercmp", -1, "--type is required (see --help)");
	if (o->batch ? npos != 0 : npos != 2)
		return berth_cli_fail("vercmp", -1,
				      o->batch ? "--batch takes no versions on the command line"
					       : "expected two arguments (see --help)");
	return 0;
}

/* One answer into out (-1/0/1 or true/false); 0 or a BERTH_E* code. */
static int answer(int range, berth_version_scheme s, const char *a, const char *b, char *out,
		  size_t n)
{
	int r, rc;

	if (range) {
		if ((rc = berth_version_npm_satisfies(a, b, &r)) == 0)
			snprintf(out, n, "%s", r ? "true" : "false");
	} else if ((rc = berth_version_compare(s, a, b, &r)) == 0) {
		snprintf(out, n, "%d", r);
	}
	return rc;
}

static int run_batch(int range, berth_version_scheme s)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	int status = BERTH_EXIT_OK;

	while ((len = getline(&line, &cap, stdin)) >= 0) {
		char res[16], *tab;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len > VERCMP_LINE_MAX) {
			berth_cli_fail("vercmp", 0, "line %ld: longer than %d bytes", lineno,
				       VERCMP_LINE_MAX);
			puts("invalid");
			status = BERTH_EXIT_USAGE;
			continue;
		}
		if (!(tab = strchr(line, '\t'))) {
			berth_cli_fail("vercmp", 0, "line %ld: expected A<TAB>B", lineno);
			puts("invalid");
			status = BERTH_EXIT_USAGE;
			continue;
		}
		*tab = '\0';
		if (answer(range, s, line, tab + 1, res, sizeof(res)) != 0) {
			berth_cli_fail("vercmp", 0, "line %ld: %s", lineno, berth_error_last());
			puts("invalid");
			status = BERTH_EXIT_USAGE;
			continue;
		}
		puts(res);
	}
	free(line);
	if (fflush(stdout) != 0)
		return berth_cli_fail("vercmp", BERTH_EXIT_FAIL, "cannot write the answers");
	return status;
}

int cmd_vercmp(int argc, char **argv)
{
	berth_version_scheme s = BERTH_VERSION_SEMVER;
	vercmp_opts o = {0};
	char res[16];
	int range, rc, n;

	if ((rc = berth_args_parse(&vercmp_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	if (check(&o, n) != 0)
		return BERTH_EXIT_USAGE;
	range = strcmp(o.type, "npm-range") == 0;
	if (!range && berth_version_scheme_parse(o.type, &s) != 0)
		return berth_cli_fail("vercmp", BERTH_EXIT_USAGE,
				      "unknown --type '%s' (deb, rpm, apk, pep440, semver, "
				      "npm-range, maven, go, gem, composer, nuget)",
				      o.type);
	if (o.batch)
		return run_batch(range, s);
	if (answer(range, s, argv[1], argv[2], res, sizeof(res)) != 0)
		return berth_cli_fail("vercmp", BERTH_EXIT_USAGE, "%s", berth_error_last());
	puts(res);
	return BERTH_EXIT_OK;
}
