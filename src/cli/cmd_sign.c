/*
 * cmd_sign.c - `berth sign`: sign images in a registry with a key, as
 * cosign does: a simple-signing payload in the "sha256-<hex>.sig" tag
 * (legacy, the default) or a sigstore bundle v0.3 referrer (OCI 1.1 mode or
 * --new-bundle-format); --recursive also signs every manifest of an index.
 */
#include "cli.h"
#include "signimage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
	"usage: berth sign --key KEY [options] IMAGE...\n"
	"\n"
	"Sign each IMAGE (by tag or digest) with a cosign key.\n"
	"\n"
	"  --key KEY                          cosign.key or a PEM private key\n"
	"  -a, --annotations KEY=VALUE        add to the signed payload (repeatable)\n"
	"  --recursive                        also sign each manifest of an index\n"
	"  --registry-referrers-mode MODE     legacy (\"sha256-<hex>.sig\" tag, default) or\n"
	"                                     oci-1-1 (sigstore bundle referrer)\n"
	"  --new-bundle-format                store a sigstore bundle referrer\n"
	"  --tlog-upload[=BOOL]               upload to a transparency log (default\n"
	"                                     false; true needs --rekor-url)\n"
	"  --rekor-url URL                    the transparency log\n"
	"  --creds USER:PASS, --authfile FILE, --tls-verify=false   registry access\n";

typedef struct sign_opts {
	const char *key, *mode, *rekor;
	const char *images[64];
	size_t n_images;
	int recursive, new_bundle, tlog;
	opt_registry reg;
	sopt_annotations ann;
} sign_opts;

static int parse(int argc, char **argv, sign_opts *o)
{
	int m;

	for (int i = 1; i < argc; i++) {
		if ((m = opt_value("sign", argc, argv, &i, "--key", &o->key)) ||
		    (m = opt_value("sign", argc, argv, &i, "--registry-referrers-mode",
				   &o->mode)) ||
		    (m = opt_value("sign", argc, argv, &i, "--rekor-url", &o->rekor)) ||
		    (m = opt_bool("sign", argv, i, "--recursive", &o->recursive)) ||
		    (m = opt_bool("sign", argv, i, "--new-bundle-format", &o->new_bundle)) ||
		    (m = opt_bool("sign", argv, i, "--tlog-upload", &o->tlog)) ||
		    (m = opt_bool("sign", argv, i, "--yes", &(int){0})) ||
		    (m = sopt_annotation_arg("sign", argc, argv, &i, &o->ann)) ||
		    (m = opt_registry_arg("sign", argc, argv, &i, &o->reg))) {
			if (m < 0)
				return BERTH_EXIT_USAGE;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return berth_cli_fail("sign", BERTH_EXIT_USAGE, "unknown option '%s'",
					      argv[i]);
		} else if (o->n_images < sizeof(o->images) / sizeof(o->images[0])) {
			o->images[o->n_images++] = argv[i];
		} else {
			return berth_cli_fail("sign", BERTH_EXIT_USAGE, "too many images");
		}
	}
	if (!o->key || o->n_images == 0)
		return berth_cli_fail("sign", BERTH_EXIT_USAGE, "needs --key KEY and an IMAGE");
	if (o->mode && strcmp(o->mode, "legacy") != 0 && strcmp(o->mode, "oci-1-1") != 0)
		return berth_cli_fail("sign", BERTH_EXIT_USAGE,
				      "--registry-referrers-mode is legacy or oci-1-1");
	return 0;
}

static int sign_image(const sign_opts *o, const berth_sign_key *k, const char *name)
{
	ssign_opts so = {k, &o->ann, o->new_bundle || (o->mode && !strcmp(o->mode, "oci-1-1"))};
	berth_digest *kids = NULL;
	size_t n = 0;
	simg im;
	int rc = -1;

	if (simg_open("sign", name, &o->reg, &im) < 0)
		goto done;
	if (ssign_digest("sign", &im, &im.digest, im.media_type, im.manifest_len, &so) < 0)
		goto done;
	if (o->recursive && simg_children(&im, &kids, &n) < 0) {
		berth_cli_fail("sign", -1, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		char mt[128];
		berth_digest got;
		uint64_t size;

		if (berth_client_manifest_head(im.client, im.repo, kids[i].str, &got, mt,
					       sizeof(mt), &size) < 0) {
			berth_cli_fail("sign", -1, "%s@%s: %s", im.identity, kids[i].str,
				       berth_error_last());
			goto done;
		}
		if (ssign_digest("sign", &im, &kids[i], mt, (size_t)size, &so) < 0)
			goto done;
	}
	rc = 0;
done:
	free(kids);
	simg_close(&im);
	return rc;
}

int cmd_sign(int argc, char **argv)
{
	sign_opts o = {0};
	berth_sign_key *k = NULL;
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
	if (sopt_tlog_check("sign", o.tlog, o.rekor) < 0 || sopt_private_key("sign", o.key, &k) < 0)
		goto done;
	for (size_t i = 0; i < o.n_images; i++)
		if (sign_image(&o, k, o.images[i]) < 0)
			goto done;
	rc = BERTH_EXIT_OK;
done:
	berth_sign_key_free(k);
	sopt_annotations_dispose(&o.ann);
	opt_registry_dispose(&o.reg);
	return rc;
}
