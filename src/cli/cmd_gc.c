/*
 * cmd_gc.c - `berth gc`: the registry's garbage collector, run beside (or
 * instead of) `berth serve` on the same configuration. The mark is the
 * metadata: first the repository blob links older than the grace that no
 * manifest of their repository lists go (berth_meta_gc_links: a deleted
 * image's layers), then a blob is wanted while a manifest lists it or a
 * repository linked it within the grace (berth_meta_blob_marked); the
 * sweep is the store's (berth_store_gc, fs or s3), with the same grace for
 * commits racing the sweep (rules in include/berth/store.h, docs/gc.md).
 */
#include "cli.h"
#include "server/config.h"

#include "berth/meta.h"
#include "berth/store.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GC_GRACE_DEFAULT 3600	  /* seconds: see docs/gc.md */
#define GC_GRACE_MAX (30 * 86400) /* a month */
#define GC_UPLOAD_TTL_MAX (3650 * 86400)

typedef struct gc_opts {
	const char *config, *data, *format;
	int dry_run, grace, upload_ttl;
} gc_opts;

static const char *const gc_formats[] = {"text", "json", NULL};

static const berth_arg gc_args[] = {
	BERTH_OPT_STRING("config", 'c', gc_opts, config, "FILE",
			 "the server's config file (database and storage)"),
	BERTH_OPT_STRING("data", 0, gc_opts, data, "DIR",
			 "data directory (storage.filesystem.rootdirectory)"),
	BERTH_OPT_FLAG("dry-run", 'n', gc_opts, dry_run, "list what would go, delete nothing"),
	BERTH_OPT_INT("grace", 0, gc_opts, grace, "SECONDS", 0, GC_GRACE_MAX,
		      "keep blobs written less than this ago (default 3600)"),
	BERTH_OPT_INT("upload-ttl", 0, gc_opts, upload_ttl, "SECONDS", 0, GC_UPLOAD_TTL_MAX,
		      "abort multipart uploads older than this with no upload state\n"
		      "(default limits.upload_purge_age)"),
	BERTH_OPT_ENUM("format", 0, gc_opts, format, gc_formats, NULL,
		       "output format (default text)"),
	BERTH_OPT_END,
};

static const berth_args_spec gc_spec = {
	.cmd = "gc",
	.usage = "gc [--config FILE] [--data DIR] [--dry-run] [--grace SECONDS]",
	.description = "Drop the repository blob links older than the grace that no manifest\n"
		       "of the repository lists (a deleted image's layers), then delete the\n"
		       "blobs no manifest lists and no repository linked within the grace,\n"
		       "from the store a `berth serve` with the same configuration uses (a\n"
		       "directory or S3), and in S3 also orphaned data objects and stale\n"
		       "multipart uploads. Safe while servers run: see docs/gc.md.\n",
	.args = gc_args,
	.max_pos = 0,
	.footer = "Exit status: 0 ok, 1 on a failure, 2 on a usage error.\n",
};

const berth_args_spec *const cmd_gc_specs[] = {&gc_spec, NULL};

typedef struct gc_run {
	berth_meta *meta;
	time_t cutoff; /* now - grace */
	int json;
	json_t *items, *links;
	uint64_t nlinks;
} gc_run;

static int mark(void *ctx, const berth_digest *d)
{
	gc_run *g = ctx;

	return berth_meta_blob_marked(g->meta, d, g->cutoff);
}

static int report_link(void *ctx, const char *repo, const char *digest)
{
	gc_run *g = ctx;

	g->nlinks++;
	if (!g->json) {
		printf("link %s %s\n", repo, digest);
		return 0;
	}
	if (json_array_append_new(
		    g->links, json_pack("{s:s,s:s}", "repository", repo, "digest", digest)) != 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

static void report(void *ctx, berth_store_gc_kind kind, const char *name, uint64_t size)
{
	static const char *const kinds[] = {"blob", "data", "multipart"};
	gc_run *g = ctx;

	if (g->json)
		json_array_append_new(g->items, json_pack("{s:s,s:s,s:I}", "kind", kinds[kind],
							  "name", name, "size", (json_int_t)size));
	else
		printf("%s %s %" PRIu64 "\n", kinds[kind], name, size);
}

static void print_stats(const gc_run *g, const gc_opts *o, const berth_store_gc_stats *st)
{
	json_t *j;
	char *text;

	if (!g->json) {
		printf("%s %" PRIu64 " unreferenced repository links, %" PRIu64 " of %" PRIu64
		       " blobs (%" PRIu64 " referenced, %" PRIu64 " within the grace), %" PRIu64
		       " orphaned data objects, %" PRIu64 " bytes; %" PRIu64
		       " stale multipart uploads\n",
		       o->dry_run ? "would delete" : "deleted", g->nlinks, st->blobs_deleted,
		       st->blobs, st->kept_referenced, st->kept_young, st->data_deleted,
		       st->bytes_deleted, st->multipart_aborted);
		return;
	}
	j = json_pack("{s:b,s:O,s:O,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}}", "dry_run", o->dry_run,
		      "deleted", g->items, "unlinked", g->links, "stats", "links_dropped",
		      (json_int_t)g->nlinks, "blobs", (json_int_t)st->blobs, "kept_referenced",
		      (json_int_t)st->kept_referenced, "kept_young", (json_int_t)st->kept_young,
		      "blobs_deleted", (json_int_t)st->blobs_deleted, "data_deleted",
		      (json_int_t)st->data_deleted, "bytes_deleted", (json_int_t)st->bytes_deleted,
		      "multipart_aborted", (json_int_t)st->multipart_aborted);
	text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	printf("%s\n", text ? text : "{}");
	free(text);
	json_decref(j);
}

/* The server's settings: defaults, then the file, then --data. */
static int load_config(berth_server_config *cfg, const gc_opts *o)
{
	int rc;

	if ((rc = berth_server_config_defaults(cfg)) < 0)
		return rc;
	if (o->config && (rc = berth_server_config_load(cfg, o->config)) < 0)
		return rc;
	if (o->data &&
	    (rc = berth_server_config_set(cfg, "storage.filesystem.rootdirectory", o->data)) < 0)
		return rc;
	return 0;
}

int cmd_gc(int argc, char **argv)
{
	gc_opts o = {.format = "text", .grace = GC_GRACE_DEFAULT, .upload_ttl = -1};
	berth_server_config cfg = {0};
	berth_store *store = NULL;
	berth_store_gc_stats st = {0};
	gc_run g = {0};
	char *db = NULL;
	time_t now = time(NULL);
	int rc, n;

	if ((rc = berth_args_parse(&gc_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	g.json = strcmp(o.format, "json") == 0;
	if (!(g.items = json_array()) || !(g.links = json_array())) {
		rc = berth_cli_fail("gc", BERTH_EXIT_FAIL, "out of memory");
		goto done;
	}
	if ((rc = load_config(&cfg, &o)) < 0 ||
	    (rc = berth_server_config_database(&cfg, &db)) < 0 ||
	    (rc = berth_server_config_open_store(&cfg, &store)) < 0) {
		rc = berth_cli_fail("gc", BERTH_EXIT_FAIL, "%s", berth_error_last());
		goto done;
	}
	{
		berth_meta_options mo = {(int)cfg.db_pool_size, (long)cfg.db_statement_timeout};
		berth_store_gc_opts go = {
			.grace_cutoff = now - o.grace,
			.upload_cutoff =
				now - (o.upload_ttl >= 0 ? o.upload_ttl : cfg.upload_purge_age),
			.dry_run = o.dry_run,
			.referenced = mark,
			.report = report,
			.ctx = &g,
		};

		g.cutoff = now - o.grace;
		if ((rc = berth_meta_open_opts(&g.meta, db, &mo)) < 0 ||
		    (rc = berth_meta_gc_links(g.meta, g.cutoff, o.dry_run, report_link, &g)) < 0 ||
		    (rc = berth_store_gc(store, &go, &st)) < 0) {
			rc = berth_cli_fail("gc", BERTH_EXIT_FAIL, "%s", berth_error_last());
			goto done;
		}
	}
	print_stats(&g, &o, &st);
	rc = 0;
done:
	json_decref(g.items);
	json_decref(g.links);
	berth_meta_free(g.meta);
	berth_store_free(store);
	free(db);
	berth_server_config_dispose(&cfg);
	return rc;
}
