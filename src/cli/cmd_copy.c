/*
 * cmd_copy.c - `berth copy SRC DST`: copy an image (or an index) between
 * any two transports with the library's copy engine (berth_copy).
 */
#include "cli.h"
#include "opts.h"
#include "progress.h"

#include "berth/ref.h"
#include "berth/registries.h"
#include "berth/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct copy_opts {
	int all, quiet, parallel, retries, with_signatures;
	int tls, src_tls, dest_tls; /* -1: not given */
	const char *platform, *format, *compress, *src_creds, *dest_creds, *src_cert_dir,
		*dest_cert_dir, *authfile, *digestfile;
	const char *registries_conf;
} copy_opts;

static const char *const formats[] = {"oci", "v2s2", NULL};
static const char *const compressions[] = {"gzip", "zstd", NULL};

static const berth_arg copy_args[] = {
	BERTH_OPT_BOOL("all", 0, copy_opts, all, NULL, "copy an index and every image in it"),
	BERTH_OPT_STRING("platform", 0, copy_opts, platform, "OS/ARCH[/VAR]",
			 "pick this platform from an index (default linux/<host>)"),
	BERTH_OPT_ENUM("format", 0, copy_opts, format, formats, NULL,
		       "convert the manifest to OCI or Docker schema2"),
	BERTH_OPT_ENUM("dest-compress", 0, copy_opts, compress, compressions, NULL,
		       "recompress layers"),
	BERTH_OPT_STRING("src-creds", 0, copy_opts, src_creds, "USER:PASS",
			 "credentials for SRC (default: auth files)"),
	BERTH_OPT_STRING("dest-creds", 0, copy_opts, dest_creds, "USER:PASS",
			 "credentials for DST"),
	BERTH_OPT_BOOL("src-tls-verify", 0, copy_opts, src_tls, "false",
		       "do not verify SRC's TLS certificate"),
	BERTH_OPT_BOOL("dest-tls-verify", 0, copy_opts, dest_tls, "false",
		       "do not verify DST's TLS certificate"),
	BERTH_OPT_BOOL("tls-verify", 0, copy_opts, tls, "false",
		       "both of the above (the two above win over it)"),
	BERTH_OPT_STRING("src-cert-dir", 0, copy_opts, src_cert_dir, "DIR",
			 "CA certificates (*.crt) and client.cert/.key for SRC"),
	BERTH_OPT_STRING("dest-cert-dir", 0, copy_opts, dest_cert_dir, "DIR", "the same for DST"),
	BERTH_OPT_STRING("authfile", 0, copy_opts, authfile, "FILE", "read credentials from FILE"),
	BERTH_OPT_INT("parallel", 0, copy_opts, parallel, "N", 1, 64,
		      "blobs in flight (default 4)"),
	BERTH_OPT_INT("retries", 0, copy_opts, retries, "N", 0, 100,
		      "retries per blob on transient errors (default 3)"),
	BERTH_OPT_STRING("digestfile", 0, copy_opts, digestfile, "FILE",
			 "write the digest of the manifest written to FILE"),
	BERTH_OPT_FLAG("with-signatures", 0, copy_opts, with_signatures,
		       "also copy the cosign .sig/.att/.sbom tags and OCI referrers\n"
		       "of every manifest copied (registries only)"),
	BERTH_OPT_FLAG("quiet", 'q', copy_opts, quiet, "no progress output"),
	BERTH_OPT_STRING("registries-conf", 0, copy_opts, registries_conf, "FILE",
			 "registries.conf(5) for a docker:// SRC (default:\n"
			 "$CONTAINERS_REGISTRIES_CONF, else /etc/containers/registries.conf[.d])"),
	BERTH_OPT_END,
};

static const berth_args_spec copy_spec = {
	.cmd = "copy",
	.usage = "copy [options] SRC DST",
	.description =
		"Copy an image between registries, OCI layouts and archives. SRC and DST are\n"
		"docker://HOST/REPO[:TAG|@DIGEST], oci:PATH[:TAG], oci-archive:FILE[:TAG] or\n"
		"docker-archive:FILE[:NAME:TAG]. Manifest digests are preserved unless a\n"
		"conversion is asked for. Nothing is left at DST if the copy fails.\n",
	.args = copy_args,
	.min_pos = 2,
	.max_pos = 2,
	.missing = "needs SRC and DST",
};

const berth_args_spec *const cmd_copy_specs[] = {&copy_spec, NULL};

/* The options, once parsed, into the copy engine's and the transports' options. */
static int copy_setup(copy_opts *o, berth_transport_options *so, berth_transport_options *dopt,
		      berth_copy_options *co, opt_creds *sc, opt_creds *dc)
{
	co->all = o->all;
	co->platform = o->platform;
	co->format = o->format;
	co->compress = o->compress;
	co->parallel = o->parallel;
	co->retries = o->retries;
	co->with_signatures = o->with_signatures;
	if ((o->src_creds && opt_creds_parse("copy", o->src_creds, sc) < 0) ||
	    (o->dest_creds && opt_creds_parse("copy", o->dest_creds, dc) < 0))
		return -1;
	so->tls_verify = o->src_tls >= 0 ? o->src_tls : o->tls != 0;
	dopt->tls_verify = o->dest_tls >= 0 ? o->dest_tls : o->tls != 0;
	so->cert_dir = o->src_cert_dir;
	dopt->cert_dir = o->dest_cert_dir;
	if (o->authfile)
		so->auth_file = dopt->auth_file = o->authfile;
	if (sc->set) {
		so->username = sc->user;
		so->password = sc->pass;
	}
	if (dc->set) {
		dopt->username = dc->user;
		dopt->password = dc->pass;
	}
	return 0;
}

/* Write the digest to `path`; 0 or -1 (error printed). */
static int write_digest(const char *path, const berth_digest *digest)
{
	FILE *f = fopen(path, "w");
	int bad = !f || fputs(digest->str, f) < 0;

	if ((f && fclose(f) != 0) || bad) {
		berth_cli_fail("copy", BERTH_EXIT_FAIL, "cannot write %s", path);
		return -1;
	}
	return 0;
}

/*
 * berth_copy from a docker:// source as registries.conf says: its mirrors,
 * then its location (insecure ones without TLS verification); other
 * sources as they are. The last place's error is the one reported.
 */
static int copy_from(const char *conf, const berth_image_name *src,
		     const berth_transport_options *so, const berth_image_name *dst,
		     const berth_transport_options *dopt, const berth_copy_options *co,
		     berth_digest *digest)
{
	berth_registries *regs = NULL;
	berth_registry_endpoint *ep = NULL;
	char *ref = NULL;
	size_t nep = 0;
	int rc;

	if (src->kind != BERTH_TRANSPORT_DOCKER)
		return berth_copy(src, so, dst, dopt, co, digest);
	if ((rc = berth_registries_load(&regs, conf)) < 0)
		return rc;
	ref = berth_ref_format(src->ref);
	rc = ref ? berth_registries_resolve(regs, ref, &ep, &nep)
		 : berth_error_set(BERTH_ERROR, "out of memory");
	for (size_t i = 0; rc == 0 && i < nep; i++) {
		berth_transport_options to = *so;
		berth_image_name *en = NULL;
		char spec[4096];

		if (ep[i].insecure)
			to.tls_verify = 0;
		snprintf(spec, sizeof(spec), "docker://%s", ep[i].ref);
		if ((rc = berth_image_name_parse(&en, spec)) == 0)
			rc = berth_copy(en, &to, dst, dopt, co, digest);
		berth_image_name_free(en);
		if (rc < 0 && i + 1 < nep) {
			fprintf(stderr, "berth copy: %s: %s; trying %s\n", ep[i].ref,
				berth_error_last(), ep[i + 1].ref);
			rc = 0;
			continue;
		}
		break;
	}
	berth_registries_endpoints_free(ep, nep);
	berth_registries_free(regs);
	free(ref);
	return rc;
}

int cmd_copy(int argc, char **argv)
{
	berth_transport_options so, dopt;
	berth_copy_options co;
	copy_opts o = {.tls = -1, .src_tls = -1, .dest_tls = -1};
	opt_creds sc = {0}, dc = {0};
	berth_image_name *src = NULL, *dst = NULL;
	berth_progress *prog = NULL;
	berth_digest digest;
	int rc, n;

	berth_transport_options_init(&so);
	berth_transport_options_init(&dopt);
	berth_copy_options_init(&co);
	o.parallel = co.parallel;
	o.retries = co.retries;
	if ((rc = berth_args_parse(&copy_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	rc = BERTH_EXIT_USAGE;
	if (copy_setup(&o, &so, &dopt, &co, &sc, &dc) < 0)
		goto done;
	rc = BERTH_EXIT_FAIL;
	if (opt_image("copy", argv[1], 0, &src) < 0 || opt_image("copy", argv[2], 0, &dst) < 0)
		goto done;
	opt_ignore_sigpipe();
	prog = berth_progress_new(stderr, o.quiet);
	co.progress = berth_progress_event;
	co.progress_ctx = prog;
	if (copy_from(o.registries_conf, src, &so, dst, &dopt, &co, &digest) < 0) {
		berth_progress_free(prog);
		prog = NULL;
		berth_cli_fail("copy", BERTH_EXIT_FAIL, "%s", berth_error_last());
		goto done;
	}
	berth_progress_free(prog);
	prog = NULL;
	if (o.digestfile && write_digest(o.digestfile, &digest) < 0)
		goto done;
	rc = BERTH_EXIT_OK;
done:
	berth_progress_free(prog);
	berth_image_name_free(src);
	berth_image_name_free(dst);
	opt_creds_dispose(&sc);
	opt_creds_dispose(&dc);
	return rc;
}
