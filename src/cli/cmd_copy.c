/*
 * cmd_copy.c - `berth copy SRC DST`: copy an image (or an index) between
 * any two transports with the library's copy engine (berth_copy).
 */
#include "cli.h"
#include "opts.h"
#include "progress.h"

#include "berth/transport.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
	"usage: berth copy [options] SRC DST\n"
	"\n"
	"Copy an image between registries, OCI layouts and archives. SRC and DST are\n"
	"docker://HOST/REPO[:TAG|@DIGEST], oci:PATH[:TAG], oci-archive:FILE[:TAG] or\n"
	"docker-archive:FILE[:NAME:TAG]. Manifest digests are preserved unless a\n"
	"conversion is asked for. Nothing is left at DST if the copy fails.\n"
	"\n"
	"  --all                      copy an index and every image in it\n"
	"  --platform OS/ARCH[/VAR]   pick this platform from an index (default linux/<host>)\n"
	"  --format oci|v2s2          convert the manifest to OCI or Docker schema2\n"
	"  --dest-compress gzip|zstd  recompress layers\n"
	"  --src-creds USER:PASS      credentials for SRC (default: auth files)\n"
	"  --dest-creds USER:PASS     credentials for DST\n"
	"  --src-tls-verify=false     do not verify SRC's TLS certificate\n"
	"  --dest-tls-verify=false    do not verify DST's TLS certificate\n"
	"  --tls-verify=false         both of the above\n"
	"  --src-cert-dir DIR         CA certificates (*.crt) and client.cert/.key for SRC\n"
	"  --dest-cert-dir DIR        the same for DST\n"
	"  --authfile FILE            read credentials from FILE\n"
	"  --parallel N               blobs in flight (default 4)\n"
	"  --retries N                retries per blob on transient errors (default 3)\n"
	"  --digestfile FILE          write the digest of the manifest written to FILE\n"
	"  -q, --quiet                no progress output\n";

int cmd_copy(int argc, char **argv)
{
	berth_transport_options so, dopt;
	berth_copy_options co;
	opt_creds sc = {0}, dc = {0};
	berth_image_name *src = NULL, *dst = NULL;
	berth_progress *prog = NULL;
	const char *pos[2], *v, *digestfile = NULL;
	int npos = 0, quiet = 0, rc = BERTH_EXIT_USAGE, b, stls = 1, dtls = 1;
	berth_digest digest;

	berth_transport_options_init(&so);
	berth_transport_options_init(&dopt);
	berth_copy_options_init(&co);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int m;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(help, stdout);
			rc = BERTH_EXIT_OK;
			goto done;
		}
		if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			quiet = 1;
			continue;
		}
		if ((m = opt_bool("copy", argv, i, "--all", &co.all)) != 0) {
			if (m < 0)
				goto done;
			continue;
		}
		if ((m = opt_bool("copy", argv, i, "--src-tls-verify", &stls)) != 0 ||
		    (m = opt_bool("copy", argv, i, "--dest-tls-verify", &dtls)) != 0) {
			if (m < 0)
				goto done;
			continue;
		}
		if ((m = opt_bool("copy", argv, i, "--tls-verify", &b)) != 0) {
			if (m < 0)
				goto done;
			stls = dtls = b;
			continue;
		}
/* m < 0: the value was missing (already reported). */
#define VALUE(name) ((m = opt_value("copy", argc, argv, &i, name, &v)) != 0)
		if (VALUE("--platform")) {
			if (m < 0)
				goto done;
			co.platform = v;
		} else if (VALUE("--format")) {
			if (m < 0)
				goto done;
			if (strcmp(v, "oci") && strcmp(v, "v2s2")) {
				berth_cli_fail("copy", BERTH_EXIT_USAGE,
					       "unknown format '%s' (use oci or v2s2)", v);
				goto done;
			}
			co.format = v;
		} else if (VALUE("--dest-compress")) {
			if (m < 0)
				goto done;
			if (strcmp(v, "gzip") && strcmp(v, "zstd")) {
				berth_cli_fail("copy", BERTH_EXIT_USAGE,
					       "unknown compression '%s' (use gzip or zstd)", v);
				goto done;
			}
			co.compress = v;
		} else if (VALUE("--src-creds")) {
			if (m < 0 || opt_creds_parse("copy", v, &sc) < 0)
				goto done;
		} else if (VALUE("--dest-creds")) {
			if (m < 0 || opt_creds_parse("copy", v, &dc) < 0)
				goto done;
		} else if (VALUE("--src-cert-dir")) {
			if (m < 0)
				goto done;
			so.cert_dir = v;
		} else if (VALUE("--dest-cert-dir")) {
			if (m < 0)
				goto done;
			dopt.cert_dir = v;
		} else if (VALUE("--authfile")) {
			if (m < 0)
				goto done;
			so.auth_file = dopt.auth_file = v;
		} else if (VALUE("--parallel")) {
			if (m < 0 || opt_int("copy", "--parallel", v, 1, 64, &co.parallel) < 0)
				goto done;
		} else if (VALUE("--retries")) {
			if (m < 0 || opt_int("copy", "--retries", v, 0, 100, &co.retries) < 0)
				goto done;
		} else if (VALUE("--digestfile")) {
			if (m < 0)
				goto done;
			digestfile = v;
		} else if (a[0] == '-' && a[1] != '\0') {
			berth_cli_fail("copy", BERTH_EXIT_USAGE, "unknown option '%s' (see --help)",
				       a);
			goto done;
		} else if (npos == 2) {
			berth_cli_fail("copy", BERTH_EXIT_USAGE, "unexpected argument '%s'", a);
			goto done;
		} else {
			pos[npos++] = a;
		}
#undef VALUE
	}
	if (npos != 2) {
		berth_cli_fail("copy", BERTH_EXIT_USAGE, "needs SRC and DST (see --help)");
		goto done;
	}
	rc = BERTH_EXIT_FAIL;
	if (opt_image("copy", pos[0], 0, &src) < 0 || opt_image("copy", pos[1], 0, &dst) < 0)
		goto done;
	so.tls_verify = stls;
	dopt.tls_verify = dtls;
	if (sc.set) {
		so.username = sc.user;
		so.password = sc.pass;
	}
	if (dc.set) {
		dopt.username = dc.user;
		dopt.password = dc.pass;
	}
	opt_ignore_sigpipe();
	prog = berth_progress_new(stderr, quiet);
	co.progress = berth_progress_event;
	co.progress_ctx = prog;
	if (berth_copy(src, &so, dst, &dopt, &co, &digest) < 0) {
		berth_progress_free(prog);
		prog = NULL;
		berth_cli_fail("copy", BERTH_EXIT_FAIL, "%s", berth_error_last());
		goto done;
	}
	berth_progress_free(prog);
	prog = NULL;
	if (digestfile) {
		FILE *f = fopen(digestfile, "w");
		int bad = !f || fputs(digest.str, f) < 0;

		if ((f && fclose(f) != 0) || bad) {
			berth_cli_fail("copy", BERTH_EXIT_FAIL, "cannot write %s", digestfile);
			goto done;
		}
	}
	rc = BERTH_EXIT_OK;
done:
	berth_progress_free(prog);
	berth_image_name_free(src);
	berth_image_name_free(dst);
	opt_creds_dispose(&sc);
	opt_creds_dispose(&dc);
	return rc;
}
