/*
 * cmd_recommendations.c - `berth recommendations IMAGE`: the other tags of
 * IMAGE's base repository with their vulnerability counts, best first
 * (Docker Scout's verb; berth/scan.h finds the base and ranks the tags).
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

typedef struct recs_opts {
	const char *base, *format, *output, *db, *platform, *cache;
	int no_cache, quiet, max_tags;
	opt_registry reg;
} recs_opts;

static const char *const formats[] = {"table", "json", NULL};

static const berth_arg recs_args[] = {
	BERTH_OPT_STRING("base-repository", 0, recs_opts, base, "HOST/REPO",
			 "the base repository (default: the image's\n"
			 "org.opencontainers.image.base.name annotation); without the\n"
			 "annotation the current base is the tag whose layers the image\n"
			 "starts with"),
	BERTH_OPT_INT("max-tags", 0, recs_opts, max_tags, "N", 1, BERTH_SCAN_TAGS_MAX,
		      "examine at most N tags (default 1000)"),
	BERTH_OPT_ENUM("format", 0, recs_opts, format, formats, NULL, "table (default) or json"),
	BERTH_OPT_STRING("output", 'o', recs_opts, output, "FILE",
			 "write the recommendations to FILE (default stdout)"),
	BERTH_OPT_STRING("db", 0, recs_opts, db, "PATH",
			 "the vulnerability database (default as for 'berth scan')"),
	BERTH_OPT_STRING("platform", 0, recs_opts, platform, "OS/ARCH[/VAR]",
			 "the image of an index to read (default linux/<host>)"),
	BERTH_OPT_STRING("cache", 0, recs_opts, cache, "FILE", "the layer catalogue cache file"),
	BERTH_OPT_FLAG("no-cache", 0, recs_opts, no_cache, "read every layer again"),
	BERTH_OPT_FLAG("quiet", 'q', recs_opts, quiet, "no warnings on stderr"),
	OPT_REGISTRY_ARGS(recs_opts, reg),
	BERTH_OPT_END,
};

static const berth_args_spec recs_spec = {
	.cmd = "recommendations",
	.usage = "recommendations [options] IMAGE",
	.description =
		"List the tags of IMAGE's base repository with their vulnerability counts by\n"
		"severity from the local vulnerability database, best first (fewest CRITICAL,\n"
		"then HIGH, ...). The base is the org.opencontainers.image.base.name annotation\n"
		"'berth build' writes, or the tag of --base-repository whose layers IMAGE\n"
		"starts with. IMAGE takes the image forms of 'berth scan'.\n",
	.args = recs_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "needs an image (see --help)",
};

const berth_args_spec *const cmd_recommendations_specs[] = {&recs_spec, NULL};

static int emit(const recs_opts *o, const berth_scan_recommendations *r)
{
	char *doc = NULL;
	size_t len = 0;
	int rc = -1;

	if (berth_scan_recommendations_render(
		    &doc, &len, r,
		    strcmp(o->format, "json") == 0 ? BERTH_SCAN_JSON : BERTH_SCAN_TABLE) != 0)
		berth_cli_fail("recommendations", -1, "%s", berth_error_last());
	else if (o->output && berth_fs_write_atomic(o->output, doc, len) != 0)
		berth_cli_fail("recommendations", -1, "%s", berth_error_last());
	else if (!o->output && (fwrite(doc, 1, len, stdout) != len || fflush(stdout) != 0))
		berth_cli_fail("recommendations", -1, "writing to stdout failed");
	else
		rc = 0;
	free(doc);
	return rc;
}

int cmd_recommendations(int argc, char **argv)
{
	recs_opts o = {.format = "table"};
	berth_transport_options to;
	scan_target_opts t = {0};
	berth_catalog_options co;
	berth_scan_recommend_options ro = {0};
	berth_scan_recommendations *r = NULL;
	berth_catalog *cat = NULL;
	berth_vulndb *db = NULL;
	char db_path[PATH_MAX];
	int rc, n;

	opt_registry_init(&o.reg);
	if ((rc = berth_args_parse(&recs_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	rc = BERTH_EXIT_USAGE;
	if (opt_registry_check("recommendations", &o.reg) < 0 ||
	    scan_target_db_path("recommendations", o.db, db_path, sizeof(db_path)) < 0)
		goto done;
	rc = BERTH_EXIT_FAIL;
	opt_ignore_sigpipe();
	berth_transport_options_init(&to);
	opt_registry_transport(&o.reg, &to);
	t = (scan_target_opts){o.platform, o.cache, o.no_cache, &to};
	if (berth_vulndb_open(&db, db_path, 0) != 0) {
		berth_cli_fail("recommendations", -1, "%s", berth_error_last());
		goto done;
	}
	if (scan_target_load("recommendations", argv[1], &t, &cat) < 0)
		goto done;
	scan_target_catalog_options(&t, &co);
	ro = (berth_scan_recommend_options){db, &co, o.base, (size_t)o.max_tags};
	if (berth_scan_recommend(&r, cat, &ro) != 0) {
		berth_cli_fail("recommendations", -1, "%s", berth_error_last());
		goto done;
	}
	for (size_t i = 0; !o.quiet && i < r->nwarnings; i++)
		fprintf(stderr, "berth recommendations: warning: %s\n", r->warnings[i]);
	if (emit(&o, r) == 0)
		rc = BERTH_EXIT_OK;
done:
	berth_scan_recommendations_free(r);
	berth_catalog_free(cat);
	berth_vulndb_free(db);
	opt_registry_dispose(&o.reg);
	return rc;
}
