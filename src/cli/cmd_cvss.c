/*
 * cmd_cvss.c - `berth cvss`: the score and rating of a CVSS v3.0, v3.1 or
 * v4.0 vector, as the scanner computes them for advisories that give a
 * vector but no rating; --batch scores one vector a line of stdin (for
 * policy authors and for testing against other implementations).
 */
#include "cli.h"

#include "berth/vulndb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CVSS_LINE_MAX 1024

typedef struct cvss_opts {
	int batch;
} cvss_opts;

static const berth_arg cvss_args[] = {
	BERTH_OPT_FLAG("batch", 0, cvss_opts, batch,
		       "read one vector a line from stdin, print one answer a line\n"
		       "(\"invalid\" for an invalid vector; exit 2 then)"),
	BERTH_OPT_END,
};

static const berth_args_spec cvss_spec = {
	.cmd = "cvss",
	.usage = "cvss VECTOR\n"
		 "       berth cvss --batch < vectors.txt",
	.description = "Print the score and the qualitative rating (NONE, LOW, MEDIUM, HIGH,\n"
		       "CRITICAL) of a CVSS v3.0, v3.1 or v4.0 vector, as FIRST's specifications\n"
		       "compute them.\n",
	.args = cvss_args,
	.max_pos = 1,
	.footer = "Exit status: 0 ok, 2 on an invalid vector or a usage error.\n",
};

const berth_args_spec *const cmd_cvss_specs[] = {&cvss_spec, NULL};

/* "9.3 CRITICAL" into out; 0 or BERTH_EINVALID. */
static int answer(const char *vector, char *out, size_t n)
{
	double s;
	int rc;

	if ((rc = berth_vulndb_cvss_score(vector, &s)) == 0)
		snprintf(out, n, "%.1f %s", s, berth_vulndb_cvss_rating(s));
	return rc;
}

static int run_batch(void)
{
	char *line = NULL, res[32];
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	int status = BERTH_EXIT_OK;

	while ((len = getline(&line, &cap, stdin)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len > CVSS_LINE_MAX) {
			berth_cli_fail("cvss", 0, "line %ld: longer than %d bytes", lineno,
				       CVSS_LINE_MAX);
		} else if (answer(line, res, sizeof(res)) != 0) {
			berth_cli_fail("cvss", 0, "line %ld: %s", lineno, berth_error_last());
		} else {
			puts(res);
			continue;
		}
		puts("invalid");
		status = BERTH_EXIT_USAGE;
	}
	free(line);
	if (fflush(stdout) != 0)
		return berth_cli_fail("cvss", BERTH_EXIT_FAIL, "cannot write the answers");
	return status;
}

int cmd_cvss(int argc, char **argv)
{
	cvss_opts o = {0};
	char res[32];
	int rc, n;

	if ((rc = berth_args_parse(&cvss_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	if (o.batch ? n != 0 : n != 1)
		return berth_cli_fail("cvss", BERTH_EXIT_USAGE,
				      o.batch ? "--batch takes no vector on the command line"
					      : "expected one vector (see --help)");
	if (o.batch)
		return run_batch();
	if (answer(argv[1], res, sizeof(res)) != 0)
		return berth_cli_fail("cvss", BERTH_EXIT_USAGE, "%s", berth_error_last());
	puts(res);
	return BERTH_EXIT_OK;
}
