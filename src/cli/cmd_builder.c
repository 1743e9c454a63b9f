/*
 * cmd_builder.c - `berth builder du` and `berth builder prune`: the build
 * store's contents and their removal (a noun of its own, so that a context
 * directory named "prune" still builds with `berth build prune`).
 */
#include "cli.h"
#include "berth/build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CMD "builder"
#define DURATION_MAX_SECONDS (100LL * 365 * 24 * 3600) /* an until= longer than a century */

typedef struct builder_opts {
	const char *format;
	int all, force;
	uint64_t keep_storage;
	berth_args_list filters;
} builder_opts;

static const char *const formats[] = {"text", "json", NULL};

static const berth_arg du_args[] = {
	BERTH_OPT_ENUM("format", 0, builder_opts, format, formats, NULL,
		       "output format (default text)"),
	BERTH_OPT_END,
};

static const berth_args_spec du_spec = {
	.cmd = CMD,
	.usage = "builder du [options]",
	.description = "Show what the build store holds: step records, images by tag (of them\n"
		       "the build-<time>-<pid> tags builds leave), blobs, unpacked layers and\n"
		       "cache mounts, with their sizes (apparent bytes of the files).\n",
	.args = du_args,
	.man = "berth-builder",
};

static const berth_arg prune_args[] = {
	BERTH_OPT_FLAG("all", 'a', builder_opts, all,
		       "also remove the images by tag (pulled base images)"),
	BERTH_OPT_SIZE("keep-storage", 0, builder_opts, keep_storage, "SIZE", 1, 1LL << 60,
		       "remove oldest first, only until the store is at most SIZE"),
	BERTH_OPT_LIST("filter", 0, builder_opts, filters, "until=DURATION",
		       "only what was last used longer ago than DURATION (24h, 90m)"),
	BERTH_OPT_FLAG("force", 'f', builder_opts, force, "do not ask for confirmation"),
	BERTH_OPT_ENUM("format", 0, builder_opts, format, formats, NULL,
		       "output format of what was removed (default text)"),
	BERTH_OPT_END,
};

static const berth_args_spec prune_spec = {
	.cmd = CMD,
	.usage = "builder prune [options]",
	.description = "Remove build cache: step records, the build-<time>-<pid> tags, cache\n"
		       "mounts (with --all every image), then the blobs and unpacked layers\n"
		       "nothing left refers to. Waits until no build uses the store.\n",
	.args = prune_args,
	.man = "berth-builder",
};

const berth_args_spec *const cmd_builder_specs[] = {&du_spec, &prune_spec, NULL};

/* A Go-style duration ("24h", "1h30m", "90s", "2d" is not one) into seconds. */
static int parse_duration(const char *s, int64_t *out)
{
	long long total = 0;

	if (!*s)
		return -1;
	while (*s) {
		char *end;
		long long v = strtoll(s, &end, 10), mul;

		if (end == s || v < 0 || v > DURATION_MAX_SECONDS)
			return -1;
		if (*end == 'h')
			mul = 3600;
		else if (*end == 'm' && end[1] != 's')
			mul = 60;
		else if (*end == 's')
			mul = 1;
		else
			return -1;
		total += v * mul;
		if (total > DURATION_MAX_SECONDS)
			return -1;
		s = end + 1;
	}
	*out = total;
	return 0;
}

static void print_usage(const berth_build_usage *u, const char *format, const char *what)
{
	if (format && strcmp(format, "json") == 0) {
		printf("{\"records\":%llu,\"recordsBytes\":%llu,\"images\":%llu,\"buildTags\":%llu,"
		       "\"blobs\":%llu,\"blobsBytes\":%llu,\"snapshots\":%llu,"
		       "\"snapshotsBytes\":%llu,\"cacheMounts\":%llu,\"cacheMountsBytes\":%llu,"
		       "\"totalBytes\":%llu}\n",
		       (unsigned long long)u->records, (unsigned long long)u->records_bytes,
		       (unsigned long long)u->images, (unsigned long long)u->build_tags,
		       (unsigned long long)u->blobs, (unsigned long long)u->blobs_bytes,
		       (unsigned long long)u->snapshots, (unsigned long long)u->snapshots_bytes,
		       (unsigned long long)u->cache_mounts,
		       (unsigned long long)u->cache_mounts_bytes,
		       (unsigned long long)u->total_bytes);
		return;
	}
	printf("%-14s %8s %14s\n", "KIND", what, "BYTES");
	printf("%-14s %8llu %14llu\n", "records", (unsigned long long)u->records,
	       (unsigned long long)u->records_bytes);
	printf("%-14s %8llu %14s\n", "images", (unsigned long long)u->images, "-");
	printf("%-14s %8llu %14s\n", "build tags", (unsigned long long)u->build_tags, "-");
	printf("%-14s %8llu %14llu\n", "blobs", (unsigned long long)u->blobs,
	       (unsigned long long)u->blobs_bytes);
	printf("%-14s %8llu %14llu\n", "snapshots", (unsigned long long)u->snapshots,
	       (unsigned long long)u->snapshots_bytes);
	printf("%-14s %8llu %14llu\n", "cache mounts", (unsigned long long)u->cache_mounts,
	       (unsigned long long)u->cache_mounts_bytes);
	printf("%-14s %8s %14llu\n", "total", "", (unsigned long long)u->total_bytes);
}

/* --filter values into the prune options; -1 after a usage error. */
static int read_filters(const builder_opts *o, berth_build_prune_opts *po)
{
	for (int i = 0; i < o->filters.n; i++) {
		const char *f = o->filters.v[i];

		if (strncmp(f, "until=", 6) != 0)
			return berth_cli_fail(CMD, -1, "--filter %s: only until=DURATION is known",
					      f);
		if (parse_duration(f + 6, &po->until) < 0 || po->until == 0)
			return berth_cli_fail(CMD, -1,
					      "--filter %s: expected a duration such as 24h, "
					      "90m or 1h30m",
					      f);
	}
	return 0;
}

/* Without --force, ask on the terminal as buildx does. */
static int confirmed(void)
{
	char line[16];

	fprintf(stderr, "WARNING! This will remove build cache.\n"
			"Are you sure you want to continue? [y/N] ");
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

static int run(int prune, builder_opts *o)
{
	berth_build_prune_opts po = {.all = o->all, .keep_storage = o->keep_storage};
	berth_build_store *s = NULL;
	berth_build_usage u;
	char root[4096];
	int rc = BERTH_EXIT_FAIL;

	if (prune && read_filters(o, &po) < 0)
		return BERTH_EXIT_USAGE;
	if (prune && !o->force && !confirmed())
		return berth_cli_fail(CMD, BERTH_EXIT_FAIL, "prune: not confirmed (use --force)");
	if (berth_build_store_default_root(root, sizeof(root)) < 0 ||
	    berth_build_store_open(&s, root) < 0 ||
	    (prune && berth_build_store_exclusive(s, 1) < 0) ||
	    (prune ? berth_build_store_prune(s, &po, &u) : berth_build_store_usage(s, &u)) < 0) {
		berth_cli_fail(CMD, 0, "%s", berth_error_last());
		goto done;
	}
	print_usage(&u, o->format, prune ? "REMOVED" : "COUNT");
	rc = BERTH_EXIT_OK;
done:
	berth_build_store_free(s);
	return rc;
}

int cmd_builder(int argc, char **argv)
{
	builder_opts o;
	int npos, r, prune;

	if (argc < 2)
		return berth_cli_fail(CMD, BERTH_EXIT_USAGE, "needs du or prune (see --help)");
	if (berth_cli_is_help(argv[1])) {
		berth_args_help(&du_spec, stdout);
		fputc('\n', stdout);
		berth_args_help(&prune_spec, stdout);
		return BERTH_EXIT_OK;
	}
	if (strcmp(argv[1], "du") != 0 && strcmp(argv[1], "prune") != 0)
		return berth_cli_fail(CMD, BERTH_EXIT_USAGE,
				      "unknown subcommand '%s' (use du or prune)", argv[1]);
	prune = argv[1][0] == 'p';
	memset(&o, 0, sizeof(o));
	r = berth_args_parse(prune ? &prune_spec : &du_spec, &o, argc - 1, argv + 1, &npos);
	if (r != BERTH_ARGS_OK)
		return berth_args_exit(r);
	return run(prune, &o);
}
