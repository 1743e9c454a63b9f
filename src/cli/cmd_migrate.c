/*
 * cmd_migrate.c - `berth migrate`: move a registry's data between backends.
 * This part moves blobs between stores (--store-from / --store-to, e.g. a
 * directory into S3) through berth_store_migrate, which verifies every
 * digest on arrival and skips what the destination has, so an interrupted
 * run is resumed by running it again. (Metadata, --from/--to, is the other
 * half of the command.)
 */
#include "cli.h"
#include "server/config.h"

#include "berth/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct migrate_opts {
	const char *store_from, *store_to;
	int quiet;
} migrate_opts;

static const berth_arg migrate_args[] = {
	BERTH_OPT_STRING("store-from", 0, migrate_opts, store_from, "STORE",
			 "blobs to copy: fs:DIR, s3:s3://BUCKET[/ROOT]?... or\n"
			 "s3:CONFIG.yml (its storage.s3)"),
	BERTH_OPT_STRING("store-to", 0, migrate_opts, store_to, "STORE",
			 "where the blobs go (same forms)"),
	BERTH_OPT_FLAG("quiet", 'q', migrate_opts, quiet, "no progress lines"),
	BERTH_OPT_END,
};

static const berth_args_spec migrate_spec = {
	.cmd = "migrate",
	.usage = "migrate --store-from STORE --store-to STORE",
	.description = "Copy every blob of one store into another (e.g. a directory into S3),\n"
		       "verifying each digest; blobs already there are skipped, so an\n"
		       "interrupted run continues where it stopped when run again.\n",
	.args = migrate_args,
	.max_pos = 0,
	.footer = "Exit status: 0 ok, 1 on a failure, 2 on a usage error.\n",
};

const berth_args_spec *const cmd_migrate_specs[] = {&migrate_spec, NULL};

/* "fs:DIR", "s3:s3://..." or "s3:FILE.yml". */
static int open_store(berth_store **out, const char *spec)
{
	berth_server_config cfg;
	int rc;

	if (strncmp(spec, "fs:", 3) == 0)
		return berth_store_open(out, spec + 3);
	if (strncmp(spec, "s3:s3://", 8) == 0)
		return berth_store_open(out, spec + 3);
	if (strncmp(spec, "s3:", 3) != 0)
		return berth_error_set(BERTH_EINVALID,
				       "store %s: want fs:DIR, s3:s3://BUCKET... or s3:CONFIG.yml",
				       spec);
	if ((rc = berth_server_config_defaults(&cfg)) < 0)
		return rc;
	if ((rc = berth_server_config_load(&cfg, spec + 3)) == 0) {
		if (!cfg.s3.bucket)
			rc = berth_error_set(BERTH_EINVALID, "%s sets no storage.s3.bucket",
					     spec + 3);
		else
			rc = berth_server_config_open_store(&cfg, out);
	}
	berth_server_config_dispose(&cfg);
	return rc;
}

static int progress(void *ctx, const berth_digest *d, uint64_t size, int copied, uint64_t done,
		    uint64_t total)
{
	const migrate_opts *o = ctx;

	if (!o->quiet)
		printf("%" PRIu64 "/%" PRIu64 " %s %s %" PRIu64 "\n", done, total,
		       copied ? "copied" : "present", d->str, size);
	return 0;
}

int cmd_migrate(int argc, char **argv)
{
	migrate_opts o = {0};
	berth_store *from = NULL, *to = NULL;
	berth_store_migrate_stats st = {0};
	int rc, n;

	if ((rc = berth_args_parse(&migrate_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	if (!o.store_from || !o.store_to)
		return berth_cli_fail("migrate", BERTH_EXIT_USAGE,
				      "needs --store-from and --store-to");
	if ((rc = open_store(&from, o.store_from)) < 0 || (rc = open_store(&to, o.store_to)) < 0 ||
	    (rc = berth_store_migrate(from, to, progress, &o, &st)) < 0) {
		rc = berth_cli_fail("migrate", BERTH_EXIT_FAIL, "%s", berth_error_last());
		goto done;
	}
	printf("migrated %" PRIu64 " blobs: %" PRIu64 " copied (%" PRIu64 " bytes), %" PRIu64
	       " already present\n",
	       st.blobs, st.copied, st.bytes, st.skipped);
	rc = 0;
done:
	berth_store_free(from);
	berth_store_free(to);
	return rc;
}
