/*
 * cmd_sbom.c - `berth sbom IMAGE`: catalogue an image (any transport, or
 * rootfs:PATH) and write its SBOM as SPDX 2.3 JSON, CycloneDX 1.6/1.5 JSON,
 * a table or berth's JSON, to stdout or -o FILE (written atomically).
 * Progress goes to stderr while layers are read; warnings (bad files,
 * corrupt layers) are printed there too and do not fail the command.
 */
#include "cli.h"
#include "opts.h"

#include "berth/catalog.h"
#include "berth/sbom.h"
#include "util/fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct sbom_args {
	opt_registry reg;
	const char *output, *platform, *cache, *cdx_version, *format, *scope;
	int quiet, no_cache;
} sbom_args;

static const char *const cdx_versions[] = {"1.6", "1.5", NULL};
static const char *const scopes[] = {"squashed", "all-layers", NULL};

static const berth_arg sbom_argt[] = {
	BERTH_OPT_STRING("format", 0, sbom_args, format, "FORMAT",
			 "spdx-json, cyclonedx-json (default), table or json"),
	BERTH_OPT_ENUM("cyclonedx-version", 0, sbom_args, cdx_version, cdx_versions, "V",
		       "1.6 (default) or 1.5"),
	BERTH_OPT_STRING("output", 'o', sbom_args, output, "FILE",
			 "write the document to FILE (default stdout)"),
	BERTH_OPT_STRING("platform", 0, sbom_args, platform, "OS/ARCH[/V]",
			 "the image of an index to read (default linux/<host>)"),
	BERTH_OPT_ENUM("scope", 0, sbom_args, scope, scopes, "SCOPE",
		       "squashed (default: what a container sees) or\n"
		       "all-layers (packages of every layer, even deleted)"),
	BERTH_OPT_STRING("cache", 0, sbom_args, cache, "FILE", "the layer cache file"),
	BERTH_OPT_FLAG("no-cache", 0, sbom_args, no_cache, "read every layer, cache nothing"),
	BERTH_OPT_FLAG("quiet", 'q', sbom_args, quiet, "no progress or warnings on stderr"),
	OPT_REGISTRY_ARGS(sbom_args, reg),
	BERTH_OPT_END,
};

static const berth_args_spec sbom_spec = {
	.cmd = "sbom",
	.usage = "sbom [options] IMAGE",
	.description =
		"Write the software bill of materials of IMAGE: its OS packages (dpkg, apk,\n"
		"rpm) and language packages (Python, npm, Go, Java, Rust, Ruby, PHP, .NET).\n"
		"IMAGE is docker://HOST/REPO[:TAG|@DIGEST] (the default transport),\n"
		"oci:PATH[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG], or\n"
		"rootfs:PATH for an unpacked root filesystem. Layers are catalogued once and\n"
		"cached by diff ID ($BERTH_ROOT/catalog.db, else $XDG_DATA_HOME/berth, else\n"
		"~/.local/share/berth).\n",
	.args = sbom_argt,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "needs an image",
};

const berth_args_spec *const cmd_sbom_specs[] = {&sbom_spec, NULL};

typedef struct prog {
	int tty;
	size_t done;
	time_t last;
} prog;

static void on_progress(void *ctx, const char *what, uint64_t done, uint64_t total, int fin)
{
	prog *p = ctx;
	time_t now = time(NULL);

	if (fin) {
		p->done++;
		fprintf(stderr, "%s catalogued %.26s\n", p->tty ? "\r\033[K" : "", what);
		return;
	}
	if (!p->tty || now == p->last)
		return;
	p->last = now;
	if (total)
		fprintf(stderr, "\r\033[Kcataloguing %.26s  %llu/%llu MB", what,
			(unsigned long long)(done >> 20), (unsigned long long)(total >> 20));
	else
		fprintf(stderr, "\r\033[Kcataloguing %.26s  %llu MB", what,
			(unsigned long long)(done >> 20));
}

int cmd_sbom(int argc, char **argv)
{
	sbom_args a = {0};
	berth_catalog_options co;
	berth_transport_options to;
	berth_sbom_options so;
	berth_catalog *cat = NULL;
	prog pg = {isatty(2), 0, 0};
	char *doc = NULL;
	size_t len = 0;
	int rc, n;

	berth_sbom_options_init(&so);
	so.format = BERTH_SBOM_CYCLONEDX_JSON;
	opt_registry_init(&a.reg);
	if ((rc = berth_args_parse(&sbom_spec, &a, argc, argv, &n)) != BERTH_ARGS_OK) {
		rc = berth_args_exit(rc);
		goto done;
	}
	rc = BERTH_EXIT_USAGE;
	if (opt_registry_check("sbom", &a.reg) < 0)
		goto done;
	if (a.format && berth_sbom_format_parse(&so.format, a.format) < 0) {
		berth_cli_fail("sbom", rc, "%s", berth_error_last());
		goto done;
	}
	rc = BERTH_EXIT_FAIL;
	opt_ignore_sigpipe();
	berth_catalog_options_init(&co);
	berth_transport_options_init(&to);
	opt_registry_transport(&a.reg, &to);
	co.transport = &to;
	co.platform = a.platform;
	co.scope = a.scope && strcmp(a.scope, "all-layers") == 0 ? BERTH_CATALOG_ALL_LAYERS
								 : BERTH_CATALOG_SQUASHED;
	co.cache = a.no_cache ? "" : a.cache;
	/* Only berth's own JSON lists the files of OS packages: the other formats
	 * skip decoding them (most of a cached layer's bytes). */
	co.no_files = so.format != BERTH_SBOM_JSON;
	if (!a.quiet) {
		co.progress = on_progress;
		co.progress_ctx = &pg;
	}
	if (berth_catalog_scan(&cat, argv[1], &co) < 0) {
		berth_cli_fail("sbom", 1, "%s: %s", argv[1], berth_error_last());
		goto done;
	}
	if (!a.quiet) {
		for (size_t i = 0; i < cat->nwarnings; i++)
			fprintf(stderr, "berth sbom: warning: %s\n", cat->warnings[i]);
		if (cat->warnings_dropped)
			fprintf(stderr, "berth sbom: warning: %zu more warnings\n",
				cat->warnings_dropped);
	}
	if (a.cdx_version)
		so.cyclonedx_version = a.cdx_version;
	if (berth_sbom_render(&doc, &len, cat, &so) < 0) {
		berth_cli_fail("sbom", 1, "%s", berth_error_last());
		goto done;
	}
	if (a.output) {
		if (berth_fs_write_atomic(a.output, doc, len) < 0) {
			berth_cli_fail("sbom", 1, "%s", berth_error_last());
			goto done;
		}
	} else if (fwrite(doc, 1, len, stdout) != len ||
		   (len && doc[len - 1] != '\n' && putchar('\n') == EOF) || fflush(stdout) != 0) {
		berth_cli_fail("sbom", 1, "writing the document to stdout failed");
		goto done;
	}
	rc = BERTH_EXIT_OK;
done:
	free(doc);
	berth_catalog_free(cat);
	opt_registry_dispose(&a.reg);
	return rc;
}
