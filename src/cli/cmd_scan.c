/*
 * cmd_scan.c - `berth scan TARGET`: the known vulnerabilities of an image
 * (any transport, as `berth sbom` reads it), an unpacked directory or an
 * SBOM file, from the local vulnerability database (berth/scan.h does the
 * matching, filtering, suppressing and rendering). The exit status follows
 * --exit-code / --fail-on as Trivy and Grype users expect.
 */
#include "cli.h"
#include "opts.h"
#include "scantarget.h"

#include "berth/catalog.h"
#include "berth/client.h"
#include "berth/ref.h"
#include "berth/scan.h"
#include "berth/vulndb.h"
#include "util/fs.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct scan_opts {
	const char *severity, *fail_on, *format, *output, *pkg_types, *db, *db_repository;
	const char *cdx_version, *platform, *cache, *creds, *authfile;
	berth_args_list ignorefiles, vex;
	int exit_code, ignore_unfixed, no_cache, quiet, tls;
} scan_opts;

static const char *const formats[] = {"table", "json", "sarif", "cyclonedx", NULL};
static const char *const cdx_versions[] = {"1.6", "1.5", NULL};

static const berth_arg scan_args[] = {
	BERTH_OPT_STRING("severity", 0, scan_opts, severity, "LIST",
			 "report only these severities (comma-separated; default all:\n"
			 "UNKNOWN,NEGLIGIBLE,LOW,MEDIUM,HIGH,CRITICAL)"),
	BERTH_OPT_INT("exit-code", 0, scan_opts, exit_code, "N", 0, 255,
		      "exit N when a finding is left after the filters"),
	BERTH_OPT_STRING("fail-on", 0, scan_opts, fail_on, "SEVERITY",
			 "exit 1 (or --exit-code N) when a finding reaches SEVERITY"),
	BERTH_OPT_FLAG("ignore-unfixed", 0, scan_opts, ignore_unfixed,
		       "leave out findings that have no fixed version"),
	BERTH_OPT_STRING("pkg-types", 0, scan_opts, pkg_types, "LIST",
			 "os, library or os,library (default both)"),
	BERTH_OPT_LIST("ignorefile", 0, scan_opts, ignorefiles, "FILE",
		       "suppress what FILE lists (.trivyignore, .trivyignore.yaml);\n"
		       "default ./.trivyignore and ./.trivyignore.yaml when present"),
	BERTH_OPT_LIST("vex", 0, scan_opts, vex, "FILE",
		       "suppress what an OpenVEX or CycloneDX VEX document says does\n"
		       "not affect (repeatable)"),
	BERTH_OPT_ENUM("format", 0, scan_opts, format, formats, NULL,
		       "table (default), json, sarif or cyclonedx"),
	BERTH_OPT_ENUM("cyclonedx-version", 0, scan_opts, cdx_version, cdx_versions, NULL,
		       "1.6 (default) or 1.5 for --format cyclonedx"),
	BERTH_OPT_STRING("output", 'o', scan_opts, output, "FILE",
			 "write the report to FILE (default stdout)"),
	BERTH_OPT_STRING("db", 0, scan_opts, db, "PATH",
			 "the vulnerability database (default $BERTH_ROOT/vulndb.sqlite,\n"
			 "else under $XDG_DATA_HOME/berth or ~/.local/share/berth)"),
	BERTH_OPT_STRING("db-repository", 0, scan_opts, db_repository, "REF",
			 "pull the database from this registry artifact first"),
	BERTH_OPT_STRING("platform", 0, scan_opts, platform, "OS/ARCH[/VAR]",
			 "the image of an index to scan (default linux/<host>)"),
	BERTH_OPT_STRING("cache", 0, scan_opts, cache, "FILE", "the layer catalogue cache file"),
	BERTH_OPT_FLAG("no-cache", 0, scan_opts, no_cache, "read every layer again"),
	BERTH_OPT_FLAG("quiet", 'q', scan_opts, quiet, "no progress or warnings on stderr"),
	BERTH_OPT_STRING("creds", 0, scan_opts, creds, "USER:PASS",
			 "registry credentials (default: auth files)"),
	BERTH_OPT_STRING("authfile", 0, scan_opts, authfile, "FILE", "read credentials from FILE"),
	BERTH_OPT_BOOL("tls-verify", 0, scan_opts, tls, "false",
		       "do not verify the registry's TLS certificate"),
	BERTH_OPT_END,
};

static const berth_args_spec scan_spec = {
	.cmd = "scan",
	.usage = "scan [options] TARGET",
	.description = "List the known vulnerabilities of TARGET from the local vulnerability\n"
		       "database ('berth db import' or 'berth db pull'). TARGET is an image\n"
		       "(docker://HOST/REPO[:TAG|@DIGEST], the default transport; oci:PATH[:TAG];\n"
		       "oci-archive:FILE[:TAG]; docker-archive:FILE[:NAME:TAG]), rootfs:PATH or a\n"
		       "directory (an unpacked root filesystem), or an SBOM file (CycloneDX or\n"
		       "SPDX JSON). Distro packages are matched by source package and release,\n"
		       "language packages by ecosystem, each with its ecosystem's version order.\n",
	.args = scan_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "needs an image, a directory or an SBOM file (see --help)",
	.footer = "Exit status: 0, or --exit-code N when a finding is left after the filters;\n"
		  "with --fail-on S, 1 (or N) when a finding reaches S; 1 on failure, 2 on\n"
		  "usage errors. Severities sort UNKNOWN < NEGLIGIBLE < LOW < MEDIUM < HIGH <\n"
		  "CRITICAL.\n",
};

const berth_args_spec *const cmd_scan_specs[] = {&scan_spec, NULL};

/* Parsed option values the library wants. */
typedef struct scan_setup {
	berth_scan_filter_options filter;
	berth_scan_render_options render;
	int fail_on;
	char db_path[PATH_MAX];
	opt_creds creds;
} scan_setup;

static int parse_pkg_types(const char *s, berth_scan_filter_options *f)
{
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, ",");

		if (n == 2 && strncmp(p, "os", 2) == 0)
			f->os = 1;
		else if (n == 7 && strncmp(p, "library", 7) == 0)
			f->library = 1;
		else
			return berth_cli_fail("scan", -1,
					      "--pkg-types is os, library or both, not '%s'", s);
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

static int setup(const scan_opts *o, scan_setup *s)
{
	berth_scan_severity sev;

	memset(s, 0, sizeof(*s));
	s->fail_on = -1;
	if (o->severity && berth_scan_severity_mask(o->severity, &s->filter.severities) != 0)
		return berth_cli_fail("scan", -1, "--severity: %s", berth_error_last());
	if (o->fail_on) {
		if (berth_scan_severity_parse(o->fail_on, &sev) != 0)
			return berth_cli_fail("scan", -1, "--fail-on: %s", berth_error_last());
		s->fail_on = (int)sev;
	}
	if (o->pkg_types && parse_pkg_types(o->pkg_types, &s->filter) < 0)
		return -1;
	s->filter.ignore_unfixed = o->ignore_unfixed;
	if (o->format && berth_scan_format_parse(&s->render.format, o->format) != 0)
		return berth_cli_fail("scan", -1, "%s", berth_error_last());
	s->render.cyclonedx_version = o->cdx_version;
	if (o->creds && opt_creds_parse("scan", o->creds, &s->creds) < 0)
		return -1;
	return scan_target_db_path("scan", o->db, s->db_path, sizeof(s->db_path));
}

/* --db-repository: pull the database into the --db path before scanning. */
static int pull_db(const scan_opts *o, const scan_setup *s)
{
	berth_client *c = NULL;
	berth_ref *ref = NULL;
	char dir[PATH_MAX];
	int rc = -1;

	if (opt_docker_ref("scan", o->db_repository, &ref) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s", s->db_path);
	if (berth_fs_mkdir_p(dirname(dir)) != 0) {
		berth_cli_fail("scan", 1, "%s", berth_error_last());
		goto done;
	}
	if (opt_client("scan", ref->domain, o->tls, &s->creds, o->authfile, &c) < 0)
		goto done;
	if (berth_vulndb_pull(c, ref->path,
			      ref->digest ? ref->digest : (ref->tag ? ref->tag : "latest"),
			      s->db_path) != 0) {
		berth_cli_fail("scan", 1, "%s: %s", o->db_repository, berth_error_last());
		goto done;
	}
	rc = 0;
done:
	berth_client_free(c);
	berth_ref_free(ref);
	return rc;
}

/* The catalogue of TARGET: an SBOM file, a directory, rootfs:PATH or an image. */
static int load_target(const scan_opts *o, const scan_setup *s, const char *target,
		       berth_catalog **cat)
{
	berth_transport_options to;
	scan_target_opts t = {o->platform, o->cache, o->no_cache, &to};

	berth_transport_options_init(&to);
	to.tls_verify = o->tls;
	to.auth_file = o->authfile ? o->authfile : to.auth_file;
	if (s->creds.set) {
		to.username = s->creds.user;
		to.password = s->creds.pass;
	}
	return scan_target_load("scan", target, &t, cat);
}

/* Ignore files and VEX documents, in the order given. */
static int suppress(const scan_opts *o, berth_scan_report *r)
{
	static const char *const defaults[] = {".trivyignore", ".trivyignore.yaml"};
	time_t now = time(NULL);

	for (int i = 0; i < o->ignorefiles.n; i++)
		if (berth_scan_ignore_file(r, o->ignorefiles.v[i], now) != 0)
			return berth_cli_fail("scan", -1, "%s", berth_error_last());
	for (size_t i = 0; o->ignorefiles.n == 0 && i < 2; i++)
		if (access(defaults[i], R_OK) == 0 &&
		    berth_scan_ignore_file(r, defaults[i], now) != 0)
			return berth_cli_fail("scan", -1, "%s", berth_error_last());
	for (int i = 0; i < o->vex.n; i++)
		if (berth_scan_vex_file(r, o->vex.v[i]) != 0)
			return berth_cli_fail("scan", -1, "%s", berth_error_last());
	return 0;
}

static void print_warnings(const berth_scan_report *r)
{
	const berth_catalog *c = r->catalog;

	for (size_t i = 0; i < c->nwarnings; i++)
		fprintf(stderr, "berth scan: warning: %s\n", c->warnings[i]);
	for (size_t i = 0; i < r->nwarnings; i++)
		fprintf(stderr, "berth scan: warning: %s\n", r->warnings[i]);
}

static int write_report(const scan_opts *o, const char *doc, size_t len)
{
	if (o->output) {
		if (berth_fs_write_atomic(o->output, doc, len) != 0)
			return berth_cli_fail("scan", -1, "%s", berth_error_last());
		return 0;
	}
	if (fwrite(doc, 1, len, stdout) != len || fflush(stdout) != 0)
		return berth_cli_fail("scan", -1, "writing the report to stdout failed");
	return 0;
}

int cmd_scan(int argc, char **argv)
{
	scan_opts o = {.exit_code = -1, .tls = 1};
	berth_catalog *cat = NULL;
	berth_scan_report *r = NULL;
	berth_vulndb *db = NULL;
	scan_setup s;
	char *doc = NULL;
	size_t len = 0;
	int rc, n;

	if ((rc = berth_args_parse(&scan_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	if (setup(&o, &s) < 0)
		return BERTH_EXIT_USAGE;
	rc = BERTH_EXIT_FAIL;
	opt_ignore_sigpipe();
	if (o.db_repository && pull_db(&o, &s) < 0)
		goto done;
	if (berth_vulndb_open(&db, s.db_path, 0) != 0) {
		berth_cli_fail("scan", 1, "%s", berth_error_last());
		goto done;
	}
	if (load_target(&o, &s, argv[1], &cat) < 0)
		goto done;
	if (berth_scan_match(&r, cat, db) != 0) {
		/* the report took the catalogue */
		berth_cli_fail("scan", 1, "%s", berth_error_last());
		goto done;
	}
	if (!o.quiet)
		print_warnings(r);
	berth_scan_filter(r, &s.filter);
	if (suppress(&o, r) < 0)
		goto done;
	if (berth_scan_render(&doc, &len, r, &s.render) != 0) {
		berth_cli_fail("scan", 1, "%s", berth_error_last());
		goto done;
	}
	if (write_report(&o, doc, len) < 0)
		goto done;
	rc = berth_scan_exit_status(r, o.exit_code, s.fail_on);
done:
	free(doc);
	berth_scan_report_free(r);
	berth_vulndb_free(db);
	opt_creds_dispose(&s.creds);
	return rc;
}
