/*
 * cmd_compare.c - `berth compare IMAGE --to BASELINE`: the packages IMAGE
 * added, removed or changed against BASELINE and the vulnerabilities it
 * introduced or fixed (Docker Scout's verb; berth/scan.h does the work).
 * A command of its own, so an image named "compare" stays scannable.
 */
#include "cli.h"
#include "opts.h"
#include "scantarget.h"

#include "berth/scan.h"
#include "berth/vulndb.h"
#include "util/fs.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct compare_opts {
	const char *to, *format, *output, *db, *platform, *cache;
	int no_cache, quiet;
	opt_registry reg;
} compare_opts;

static const char *const formats[] = {"table", "json", NULL};

static const berth_arg compare_args[] = {
	BERTH_OPT_STRING("to", 0, compare_opts, to, "TARGET",
			 "the baseline to compare with (required; same forms as IMAGE)"),
	BERTH_OPT_ENUM("format", 0, compare_opts, format, formats, NULL, "table (default) or json"),
	BERTH_OPT_STRING("output", 'o', compare_opts, output, "FILE",
			 "write the comparison to FILE (default stdout)"),
	BERTH_OPT_STRING("db", 0, compare_opts, db, "PATH",
			 "the vulnerability database (default as for 'berth scan')"),
	BERTH_OPT_STRING("platform", 0, compare_opts, platform, "OS/ARCH[/VAR]",
			 "the image of an index to read (default linux/<host>)"),
	BERTH_OPT_STRING("cache", 0, compare_opts, cache, "FILE", "the layer catalogue cache file"),
	BERTH_OPT_FLAG("no-cache", 0, compare_opts, no_cache, "read every layer again"),
	BERTH_OPT_FLAG("quiet", 'q', compare_opts, quiet, "no warnings on stderr"),
	OPT_REGISTRY_ARGS(compare_opts, reg),
	BERTH_OPT_END,
};

static const berth_args_spec compare_spec = {
	.cmd = "compare",
	.usage = "compare [options] IMAGE --to BASELINE",
	.description =
		"Compare IMAGE with BASELINE: packages added, removed or changed (by type and\n"
		"name, with their versions) and vulnerabilities introduced or fixed (from the\n"
		"local vulnerability database). IMAGE and BASELINE take the forms of 'berth\n"
		"scan': an image of any transport, rootfs:PATH or a directory, or an SBOM file.\n",
	.args = compare_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "needs an image and --to BASELINE (see --help)",
};

const berth_args_spec *const cmd_compare_specs[] = {&compare_spec, NULL};

/* Catalogue and match one side; the report takes the catalogue. */
static int scan_side(const compare_opts *o, const char *target, berth_vulndb *db,
		     berth_scan_report **out)
{
	berth_transport_options to;
	scan_target_opts t = {o->platform, o->cache, o->no_cache, &to};
	berth_catalog *cat = NULL;

	berth_transport_options_init(&to);
	opt_registry_transport(&o->reg, &to);
	if (scan_target_load("compare", target, &t, &cat) < 0)
		return -1;
	if (berth_scan_match(out, cat, db) != 0)
		return berth_cli_fail("compare", -1, "%s: %s", target, berth_error_last());
	for (size_t i = 0; !o->quiet && i < (*out)->catalog->nwarnings; i++)
		fprintf(stderr, "berth compare: warning: %s\n", (*out)->catalog->warnings[i]);
	return 0;
}

static int emit(const compare_opts *o, const berth_scan_comparison *c)
{
	char *doc = NULL;
	size_t len = 0;
	int rc = -1;

	if (berth_scan_comparison_render(&doc, &len, c,
					 strcmp(o->format, "json") == 0 ? BERTH_SCAN_JSON
									: BERTH_SCAN_TABLE) != 0)
		berth_cli_fail("compare", -1, "%s", berth_error_last());
	else if (o->output && berth_fs_write_atomic(o->output, doc, len) != 0)
		berth_cli_fail("compare", -1, "%s", berth_error_last());
	else if (!o->output && (fwrite(doc, 1, len, stdout) != len || fflush(stdout) != 0))
		berth_cli_fail("compare", -1, "writing to stdout failed");
	else
		rc = 0;
	free(doc);
	return rc;
}

int cmd_compare(int argc, char **argv)
{
	compare_opts o = {.format = "table"};
	berth_scan_report *a = NULL, *b = NULL;
	berth_scan_comparison *c = NULL;
	berth_vulndb *db = NULL;
	char db_path[PATH_MAX];
	int rc, n;

	opt_registry_init(&o.reg);
	if ((rc = berth_args_parse(&compare_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	rc = BERTH_EXIT_USAGE;
	if (opt_registry_check("compare", &o.reg) < 0)
		goto done;
	if (!o.to) {
		berth_cli_fail("compare", -1, "needs --to BASELINE (see --help)");
		goto done;
	}
	if (scan_target_db_path("compare", o.db, db_path, sizeof(db_path)) < 0)
		goto done;
	rc = BERTH_EXIT_FAIL;
	opt_ignore_sigpipe();
	if (berth_vulndb_open(&db, db_path, 0) != 0) {
		berth_cli_fail("compare", -1, "%s", berth_error_last());
		goto done;
	}
	if (scan_side(&o, argv[1], db, &a) < 0 || scan_side(&o, o.to, db, &b) < 0)
		goto done;
	if (berth_scan_compare(&c, a, b) != 0) {
		berth_cli_fail("compare", -1, "%s", berth_error_last());
		goto done;
	}
	if (emit(&o, c) == 0)
		rc = BERTH_EXIT_OK;
done:
	berth_scan_comparison_free(c);
	berth_scan_report_free(a);
	berth_scan_report_free(b);
	berth_vulndb_free(db);
	opt_registry_dispose(&o.reg);
	return rc;
}
