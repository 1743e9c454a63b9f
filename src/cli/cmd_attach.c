/*
 * cmd_attach.c - `berth attach sbom`: attach an SBOM file to an image as
 * cosign does (the "sha256-<hex>.sbom" tag, replacing what was there) or as
 * an OCI 1.1 referrer whose artifactType is the SBOM's media type.
 */
#include "cli.h"
#include "signimage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What is attached must also be readable back (download, verify): one cap. */
#define SBOM_MAX BERTH_SIGN_BUNDLE_MAX

typedef struct attach_opts {
	const char *sbom, *type, *mode;
	opt_registry reg;
} attach_opts;

static const char *const sbom_types[] = {"spdx", "cyclonedx", NULL};

static const berth_arg attach_args[] = {
	BERTH_OPT_STRING("sbom", 0, attach_opts, sbom, "FILE", "the SBOM"),
	BERTH_OPT_ENUM("type", 0, attach_opts, type, sbom_types, NULL, "its format (default spdx)"),
	BERTH_OPT_ENUM("registry-referrers-mode", 0, attach_opts, mode, sopt_modes, NULL,
		       "legacy (a \"sha256-<hex>.sbom\" tag, default) or\n"
		       "oci-1-1 (an OCI 1.1 referrer)"),
	OPT_REGISTRY_ARGS(attach_opts, reg),
	BERTH_OPT_END,
};

static const berth_args_spec attach_spec = {
	.cmd = "attach",
	.usage = "attach sbom --sbom FILE [options] IMAGE",
	.description =
		"Attach the SBOM in FILE (SPDX or CycloneDX JSON) to IMAGE: as the layer of\n"
		"the \"sha256-<hex>.sbom\" tag (legacy, default) or as an OCI 1.1 referrer.\n",
	.args = attach_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "needs --sbom FILE and an IMAGE",
};

const berth_args_spec *const cmd_attach_specs[] = {&attach_spec, NULL};

/* Parse `attach sbom ...`; -1 to stop with the exit code in *rc (printed). */
static int parse(int argc, char **argv, attach_opts *o, int *rc)
{
	int r, n;

	*rc = BERTH_EXIT_USAGE;
	if (argc >= 2 && berth_cli_is_help(argv[1])) {
		berth_args_help(&attach_spec, stdout);
		*rc = BERTH_EXIT_OK;
		return -1;
	}
	if (argc < 2 || strcmp(argv[1], "sbom") != 0)
		return berth_cli_fail("attach", -1, "only 'attach sbom' is supported");
	if ((r = berth_args_parse(&attach_spec, o, argc - 1, argv + 1, &n)) != BERTH_ARGS_OK) {
		*rc = berth_args_exit(r);
		return -1;
	}
	if (!o->sbom)
		return berth_cli_fail("attach", -1, "needs --sbom FILE and an IMAGE");
	return opt_registry_check("attach", &o->reg);
}

int cmd_attach(int argc, char **argv)
{
	attach_opts o = {.type = "spdx"};
	char *data = NULL;
	size_t len;
	const char *mt;
	berth_digest ref;
	simg im = {0};
	int rc;

	opt_registry_init(&o.reg);
	if (parse(argc, argv, &o, &rc) < 0)
		goto done;
	rc = BERTH_EXIT_FAIL;
	opt_ignore_sigpipe();
	mt = strcmp(o.type, "spdx") == 0 ? "text/spdx+json" : "application/vnd.cyclonedx+json";
	if (sopt_read("attach", o.sbom, SBOM_MAX, &data, &len) < 0 ||
	    simg_open("attach", argv[2], &o.reg, &im) < 0)
		goto done;
	if (o.mode && strcmp(o.mode, "oci-1-1") == 0) {
		if (berth_sign_image_attach_referrer(im.client, im.repo, &im.digest, im.media_type,
						     im.manifest_len, mt, mt, data, len, NULL, 0,
						     &ref) < 0) {
			berth_cli_fail("attach", -1, "%s", berth_error_last());
			goto done;
		}
		fprintf(stderr, "Attached SBOM as referrer %s@%s\n", im.identity, ref.str);
	} else {
		if (berth_sign_image_attach_tag(im.client, im.repo, &im.digest, "sbom", mt, data,
						len, NULL, 0, 1) < 0) {
			berth_cli_fail("attach", -1, "%s", berth_error_last());
			goto done;
		}
		fprintf(stderr, "Uploading SBOM file for [%s@%s] to [%s:%s-%s.sbom]\n", im.identity,
			im.digest.str, im.identity, berth_digest_algo_name(im.digest.algo),
			berth_digest_hex(&im.digest));
	}
	rc = BERTH_EXIT_OK;
done:
	free(data);
	simg_close(&im);
	opt_registry_dispose(&o.reg);
	return rc;
}
