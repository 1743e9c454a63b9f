/*
 * cmd_migrate.c - `berth migrate`: move a registry's data between backends,
 * a local command (not the HTTP admin client) run while the servers are
 * stopped.
 *
 * Metadata (--from / --to, e.g. SQLite into PostgreSQL and back) goes
 * through berth_meta_copy: every table of the source's schema in one
 * transaction of the target, which must be empty, then berth_meta_verify
 * compares each table's row count and content sum on both sides. Blobs
 * (--store-from / --store-to, e.g. a directory into S3) go through
 * berth_store_migrate, which verifies every digest on arrival and skips what
 * the destination has, so an interrupted run is resumed by running it
 * again. Both may be given in one run: metadata first, so a refused
 * metadata copy moves no blob.
 */
#include "cli.h"
#include "server/config.h"

#include "berth/meta.h"
#include "berth/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Cap on a metadata location given on the command line. */
#define META_LOCATION_MAX 4096

typedef struct migrate_opts {
	const char *from, *to;
	const char *store_from, *store_to;
	int dry_run;
	int quiet;
} migrate_opts;

static const berth_arg migrate_args[] = {
	BERTH_OPT_STRING("from", 0, migrate_opts, from, "DB",
			 "metadata to copy: sqlite:PATH or postgres:DSN (a libpq\n"
			 "keyword DSN or postgres://... URI)"),
	BERTH_OPT_STRING("to", 0, migrate_opts, to, "DB",
			 "an empty database the metadata goes into (same forms)"),
	BERTH_OPT_STRING("store-from", 0, migrate_opts, store_from, "STORE",
			 "blobs to copy: fs:DIR, s3:s3://BUCKET[/ROOT]?... or\n"
			 "s3:CONFIG.yml (its storage.s3)"),
	BERTH_OPT_STRING("store-to", 0, migrate_opts, store_to, "STORE",
			 "where the blobs go (same forms)"),
	BERTH_OPT_FLAG("dry-run", 'n', migrate_opts, dry_run,
		       "check both sides and print what would be copied"),
	BERTH_OPT_FLAG("quiet", 'q', migrate_opts, quiet, "no progress lines"),
	BERTH_OPT_END,
};

static const berth_args_spec migrate_spec = {
	.cmd = "migrate",
	.usage = "migrate [--from DB --to DB] [--store-from STORE --store-to STORE]",
	.description = "Move a registry to other backends while its servers are stopped.\n"
		       "--from/--to copy every table of the metadata into an empty database\n"
		       "(SQLite into PostgreSQL or back) in one transaction, then compare each\n"
		       "table's rows and content on both sides. --store-from/--store-to copy\n"
		       "every blob of one store into another (e.g. a directory into S3),\n"
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

/*
 * "sqlite:PATH" or "postgres:DSN" (keyword DSN or URI) as a berth_meta
 * location. A source SQLite file must exist: opening would create it.
 */
static int open_meta(berth_meta **out, const char *spec, int source)
{
	char loc[META_LOCATION_MAX + 16];
	const char *rest;

	if (strnlen(spec, META_LOCATION_MAX + 1) > META_LOCATION_MAX)
		return berth_error_set(BERTH_EINVALID, "database longer than %d bytes",
				       META_LOCATION_MAX);
	if (strncmp(spec, "sqlite:", 7) == 0) {
		rest = spec + 7;
		if (!*rest)
			return berth_error_set(BERTH_EINVALID, "sqlite: needs a file path");
		if (source && access(rest, R_OK) != 0)
			return berth_error_set(BERTH_ENOTFOUND, "no SQLite database at %s", rest);
		snprintf(loc, sizeof(loc), "sqlite://%s", rest);
	} else if (strncmp(spec, "postgres:", 9) == 0) {
		rest = spec + 9;
		if (strncmp(rest, "postgres://", 11) == 0 ||
		    strncmp(rest, "postgresql://", 13) == 0)
			snprintf(loc, sizeof(loc), "%s", rest);
		else
			snprintf(loc, sizeof(loc), "%s", spec);
	} else {
		return berth_error_set(BERTH_EINVALID,
				       "database %s: want sqlite:PATH or postgres:DSN", spec);
	}
	return berth_meta_open(out, loc);
}

static int meta_progress(void *ctx, const char *table, int64_t rows, int done)
{
	const migrate_opts *o = ctx;

	if (o->dry_run)
		printf("would copy %-24s %10" PRId64 " rows\n", table, rows);
	else if (!o->quiet)
		fprintf(stderr, "%s %s: %" PRId64 " rows\n", done ? "copied" : "copying", table,
			rows);
	return 0;
}

struct summary {
	int tables;
	int64_t rows;
};

static int meta_verified(void *ctx, const berth_meta_table_sum *src,
			 const berth_meta_table_sum *dst)
{
	struct summary *s = ctx;
	int same = src->rows == dst->rows && strcmp(src->sum, dst->sum) == 0;

	printf("%-24s %10" PRId64 " rows  sha256-sum %.16s  %s\n", src->table, src->rows, src->sum,
	       same ? "verified" : "DIFFERS");
	if (!same)
		printf("%-24s %10" PRId64 " rows  sha256-sum %.16s  (target)\n", dst->table,
		       dst->rows, dst->sum);
	s->tables++;
	s->rows += src->rows;
	return 0;
}

static int migrate_meta(const migrate_opts *o)
{
	berth_meta *from = NULL, *to = NULL;
	struct summary sum = {0};
	int rc;

	if ((rc = open_meta(&from, o->from, 1)) < 0 || (rc = open_meta(&to, o->to, 0)) < 0 ||
	    (rc = berth_meta_copy(from, to, o->dry_run, meta_progress, (void *)o)) < 0)
		goto done;
	if (o->dry_run) {
		printf("metadata: the target is empty and has every table and column\n");
		goto done;
	}
	if ((rc = berth_meta_verify(from, to, meta_verified, &sum)) < 0)
		goto done;
	printf("metadata: %d tables, %" PRId64 " rows copied and verified\n", sum.tables, sum.rows);
done:
	berth_meta_free(from);
	berth_meta_free(to);
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

static int migrate_store(const migrate_opts *o)
{
	berth_store *from = NULL, *to = NULL;
	berth_store_migrate_stats st = {0};
	int rc;

	if ((rc = open_store(&from, o->store_from)) < 0 || (rc = open_store(&to, o->store_to)) < 0)
		goto done;
	if (o->dry_run) {
		printf("would copy the blobs of %s (%s) into %s (%s), skipping those present\n",
		       o->store_from, berth_store_driver(from), o->store_to,
		       berth_store_driver(to));
		goto done;
	}
	if ((rc = berth_store_migrate(from, to, progress, (void *)o, &st)) < 0)
		goto done;
	printf("migrated %" PRIu64 " blobs: %" PRIu64 " copied (%" PRIu64 " bytes), %" PRIu64
	       " already present\n",
	       st.blobs, st.copied, st.bytes, st.skipped);
done:
	berth_store_free(from);
	berth_store_free(to);
	return rc;
}

int cmd_migrate(int argc, char **argv)
{
	migrate_opts o = {0};
	int rc, n;

	if ((rc = berth_args_parse(&migrate_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	if (!o.from != !o.to)
		return berth_cli_fail("migrate", BERTH_EXIT_USAGE, "--from and --to go together");
	if (!o.store_from != !o.store_to)
		return berth_cli_fail("migrate", BERTH_EXIT_USAGE,
				      "--store-from and --store-to go together");
	if (!o.from && !o.store_from)
		return berth_cli_fail("migrate", BERTH_EXIT_USAGE,
				      "needs --from and --to, or --store-from and --store-to");
	if ((o.from && migrate_meta(&o) < 0) || (o.store_from && migrate_store(&o) < 0))
		return berth_cli_fail("migrate", BERTH_EXIT_FAIL, "%s", berth_error_last());
	return 0;
}
