/*
 * cmd_attest.c - `berth attest`: sign an in-toto statement about an image
 * (DSSE, payloadType application/vnd.in-toto+json) and attach it: a layer
 * of the "sha256-<hex>.att" tag (legacy) or a sigstore bundle referrer.
 */
#include "cli.h"
#include "signimage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
	"usage: berth attest --key KEY --predicate FILE [--type TYPE] IMAGE\n"
	"\n"
	"Attest IMAGE: an in-toto statement whose predicate is FILE, of TYPE\n"
	"spdx, spdxjson, cyclonedx, slsaprovenance, slsaprovenance02,\n"
	"slsaprovenance1, link, vuln, openvex, custom (default; FILE is wrapped as\n"
	"cosign does) or a predicate type URI.\n"
	"\n"
	"  --key KEY                        cosign.key or a PEM private key\n"
	"  --predicate FILE                 the predicate (JSON; any text for custom)\n"
	"  --type TYPE                      predicate type\n"
	"  --registry-referrers-mode MODE   legacy (.att tag, default) or oci-1-1\n"
	"  --new-bundle-format              store a sigstore bundle referrer\n"
	"  --tlog-upload[=BOOL], --rekor-url URL   as berth sign\n"
	"  --creds USER:PASS, --authfile FILE, --tls-verify=false   registry access\n";

typedef struct attest_opts {
	const char *key, *predicate, *type, *mode, *rekor, *image;
	int new_bundle, tlog;
	opt_registry reg;
} attest_opts;

static int parse(int argc, char **argv, attest_opts *o)
{
	int m;

	for (int i = 1; i < argc; i++) {
		if ((m = opt_value("attest", argc, argv, &i, "--key", &o->key)) ||
		    (m = opt_value("attest", argc, argv, &i, "--predicate", &o->predicate)) ||
		    (m = opt_value("attest", argc, argv, &i, "--type", &o->type)) ||
		    (m = opt_value("attest", argc, argv, &i, "--registry-referrers-mode",
				   &o->mode)) ||
		    (m = opt_value("attest", argc, argv, &i, "--rekor-url", &o->rekor)) ||
		    (m = opt_bool("attest", argv, i, "--new-bundle-format", &o->new_bundle)) ||
		    (m = opt_bool("attest", argv, i, "--tlog-upload", &o->tlog)) ||
		    (m = opt_bool("attest", argv, i, "--yes", &(int){0})) ||
		    (m = opt_registry_arg("attest", argc, argv, &i, &o->reg))) {
			if (m < 0)
				return BERTH_EXIT_USAGE;
		} else if (opt_positional("attest", argv[i], &o->image) < 0) {
			return BERTH_EXIT_USAGE;
		}
	}
	if (!o->key || !o->predicate || !o->image)
		return berth_cli_fail("attest", BERTH_EXIT_USAGE,
				      "needs --key KEY, --predicate FILE and an IMAGE");
	if (!o->type)
		o->type = "custom";
	if (!berth_sign_predicate_type(o->type))
		return berth_cli_fail("attest", BERTH_EXIT_USAGE, "unknown --type '%s'", o->type);
	if (o->mode && strcmp(o->mode, "legacy") != 0 && strcmp(o->mode, "oci-1-1") != 0)
		return berth_cli_fail("attest", BERTH_EXIT_USAGE,
				      "--registry-referrers-mode is legacy or oci-1-1");
	return 0;
}

int cmd_attest(int argc, char **argv)
{
	attest_opts o = {0};
	berth_sign_key *k = NULL;
	char *pred = NULL;
	size_t pred_len;
	simg im = {0};
	ssign_opts so = {0};
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
	if (sopt_tlog_check("attest", o.tlog, o.rekor) < 0 ||
	    sopt_read("attest", o.predicate, BERTH_SIGN_PAYLOAD_MAX, &pred, &pred_len) < 0 ||
	    sopt_private_key("attest", o.key, &k) < 0 ||
	    simg_open("attest", o.image, &o.reg, &im) < 0)
		goto done;
	so.key = k;
	so.bundle = o.new_bundle || (o.mode && strcmp(o.mode, "oci-1-1") == 0);
	if (sattest_digest("attest", &im, &im.digest, im.media_type, im.manifest_len, &so,
			   berth_sign_predicate_type(o.type), pred, pred_len,
			   strcmp(o.type, "custom") == 0) < 0)
		goto done;
	rc = BERTH_EXIT_OK;
done:
	free(pred);
	simg_close(&im);
	berth_sign_key_free(k);
	opt_registry_dispose(&o.reg);
	return rc;
}
