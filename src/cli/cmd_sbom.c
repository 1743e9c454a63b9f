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

static const char help[] =
	"usage: berth sbom [options] IMAGE\n"
	"\n"
	"Write the software bill of materials of IMAGE: its OS packages (dpkg, apk,\n"
	"rpm) and language packages (Python, npm, Go, Java, Rust, Ruby, PHP, .NET).\n"
	"IMAGE is docker://HOST/REPO[:TAG|@DIGEST] (the default transport),\n"
	"oci:PATH[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG], or\n"
	"rootfs:PATH for an unpacked root filesystem. Layers are catalogued once and\n"
	"cached by diff ID ($BERTH_ROOT/catalog.db, else $XDG_DATA_HOME/berth, else\n"
	"~/.local/share/berth).\n"
	"\n"
	"  --format FORMAT        spdx-json, cyclonedx-json (default), table or json\n"
	"  --cyclonedx-version V  1.6 (default) or 1.5\n"
	"  -o, --output FILE      write the document to FILE (default stdout)\n"
	"  --platform OS/ARCH[/V] the image of an index to read (default linux/<host>)\n"
	"  --scope SCOPE          squashed (default: what a container sees) or\n"
	"                         all-layers (packages of every layer, even deleted)\n"
	"  --cache FILE           the layer cache file; --no-cache to read every layer\n"
	"  -q, --quiet            no progress or warnings on stderr\n"
	"  --creds USER:PASS      registry credentials (default: auth files)\n"
	"  --authfile FILE        read credentials from FILE\n"
	"  --tls-verify=false     do not verify the registry's TLS certificate\n";

typedef struct sbom_args {
	opt_registry reg;
	const char *image, *output, *platform, *cache, *cdx_version;
	berth_sbom_format format;
	berth_catalog_scope scope;
	int quiet, no_cache;
} sbom_args;

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

/* 1 parsed, 0 help printed, -1 usage error printed. */
static int parse_args(int argc, char **argv, sbom_args *a)
{
	const char *fmt = NULL, *scope = NULL;
	int m;

	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (berth_cli_is_help(s)) {
			fputs(help, stdout);
			return 0;
		}
		if (strcmp(s, "-o") == 0) {
			if (i + 1 >= argc)
				return berth_cli_fail("sbom", -1, "-o needs a file");
			a->output = argv[++i];
			continue;
		}
		if (strcmp(s, "-q") == 0 || strcmp(s, "--quiet") == 0) {
			a->quiet = 1;
			continue;
		}
		if (strcmp(s, "--no-cache") == 0) {
			a->no_cache = 1;
			continue;
		}
		if ((m = opt_registry_arg("sbom", argc, argv, &i, &a->reg)) ||
		    (m = opt_value("sbom", argc, argv, &i, "--format", &fmt)) ||
		    (m = opt_value("sbom", argc, argv, &i, "--output", &a->output)) ||
		    (m = opt_value("sbom", argc, argv, &i, "--platform", &a->platform)) ||
		    (m = opt_value("sbom", argc, argv, &i, "--scope", &scope)) ||
		    (m = opt_value("sbom", argc, argv, &i, "--cache", &a->cache)) ||
		    (m = opt_value("sbom", argc, argv, &i, "--cyclonedx-version",
				   &a->cdx_version))) {
			if (m < 0)
				return -1;
		} else if (opt_positional("sbom", s, &a->image) < 0) {
			return -1;
		}
	}
	if (!a->image)
		return berth_cli_fail("sbom", -1, "needs an image (see --help)");
	if (fmt && berth_sbom_format_parse(&a->format, fmt) < 0)
		return berth_cli_fail("sbom", -1, "%s", berth_error_last());
	if (scope && strcmp(scope, "squashed") == 0)
		a->scope = BERTH_CATALOG_SQUASHED;
	else if (scope && strcmp(scope, "all-layers") == 0)
		a->scope = BERTH_CATALOG_ALL_LAYERS;
	else if (scope)
		return berth_cli_fail("sbom", -1, "--scope is squashed or all-layers, not '%s'",
				      scope);
	if (a->cdx_version && strcmp(a->cdx_version, "1.6") != 0 &&
	    strcmp(a->cdx_version, "1.5") != 0)
		return berth_cli_fail("sbom", -1, "--cyclonedx-version is 1.6 or 1.5");
	return 1;
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
	int rc = BERTH_EXIT_USAGE, r;

	opt_registry_init(&a.reg);
	a.format = BERTH_SBOM_CYCLONEDX_JSON;
	r = parse_args(argc, argv, &a);
	if (r <= 0) {
		rc = r == 0 ? BERTH_EXIT_OK : BERTH_EXIT_USAGE;
		goto done;
	}
	rc = BERTH_EXIT_FAIL;
	opt_ignore_sigpipe();
	berth_catalog_options_init(&co);
	berth_transport_options_init(&to);
	opt_registry_transport(&a.reg, &to);
	co.transport = &to;
	co.platform = a.platform;
	co.scope = a.scope;
	co.cache = a.no_cache ? "" : a.cache;
	if (!a.quiet) {
		co.progress = on_progress;
		co.progress_ctx = &pg;
	}
	if (berth_catalog_scan(&cat, a.image, &co) < 0) {
		berth_cli_fail("sbom", 1, "%s: %s", a.image, berth_error_last());
		goto done;
	}
	if (!a.quiet) {
		for (size_t i = 0; i < cat->nwarnings; i++)
			fprintf(stderr, "berth sbom: warning: %s\n", cat->warnings[i]);
		if (cat->warnings_dropped)
			fprintf(stderr, "berth sbom: warning: %zu more warnings\n",
				cat->warnings_dropped);
	}
	berth_sbom_options_init(&so);
	so.format = a.format;
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
