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

static const char help[] =
	"usage: berth attach sbom --sbom FILE [--type spdx|cyclonedx]\n"
	"                         [--registry-referrers-mode legacy|oci-1-1] IMAGE\n"
	"\n"
	"Attach the SBOM in FILE (SPDX or CycloneDX JSON) to IMAGE: as the layer of\n"
	"the \"sha256-<hex>.sbom\" tag (legacy, default) or as an OCI 1.1 referrer.\n"
	"\n"
	"  --sbom FILE                      the SBOM\n"
	"  --type spdx|cyclonedx            its format (default spdx)\n"
	"  --registry-referrers-mode MODE   legacy or oci-1-1\n"
	"  --creds USER:PASS, --authfile FILE, --tls-verify=false   registry access\n";

typedef struct attach_opts {
	const char *sbom, *type, *mode, *image;
	opt_registry reg;
} attach_opts;

static int parse(int argc, char **argv, attach_opts *o)
{
	int m;

	if (argc < 2 || strcmp(argv[1], "sbom") != 0)
		return berth_cli_fail("attach", BERTH_EXIT_USAGE,
				      "only 'attach sbom' is supported");
	for (int i = 2; i < argc; i++) {
		if ((m = opt_value("attach", argc, argv, &i, "--sbom", &o->sbom)) ||
		    (m = opt_value("attach", argc, argv, &i, "--type", &o->type)) ||
		    (m = opt_value("attach", argc, argv, &i, "--registry-referrers-mode",
				   &o->mode)) ||
		    (m = opt_registry_arg("attach", argc, argv, &i, &o->reg))) {
			if (m < 0)
				return BERTH_EXIT_USAGE;
		} else if (opt_positional("attach", argv[i], &o->image) < 0) {
			return BERTH_EXIT_USAGE;
		}
	}
	if (!o->sbom || !o->image)
		return berth_cli_fail("attach", BERTH_EXIT_USAGE, "needs --sbom FILE and an IMAGE");
	if (!o->type)
		o->type = "spdx";
	if (strcmp(o->type, "spdx") != 0 && strcmp(o->type, "cyclonedx") != 0)
		return berth_cli_fail("attach", BERTH_EXIT_USAGE, "--type is spdx or cyclonedx");
	return 0;
}

int cmd_attach(int argc, char **argv)
{
	attach_opts o = {0};
	char *data = NULL;
	size_t len;
	const char *mt;
	berth_digest ref;
	simg im = {0};
	int rc;

	if (berth_cli_wants_help(argc, argv)) {
		fputs(help, stdout);
		return BERTH_EXIT_OK;
	}
	opt_registry_init(&o.reg);
	if ((rc = parse(argc, argv, &o)) != 0)
		goto done;
	rc = BERTH_EXIT_FAIL;
	opt_ignore_sigpipe();
	mt = strcmp(o.type, "spdx") == 0 ? "text/spdx+json" : "application/vnd.cyclonedx+json";
	if (sopt_read("attach", o.sbom, SBOM_MAX, &data, &len) < 0 ||
	    simg_open("attach", o.image, &o.reg, &im) < 0)
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
