/*
 * cmd_verify.c - `berth verify` and `berth verify-attestation`: check the
 * signatures (or attestations) attached to an image in every form berth and
 * cosign write (tag schema, referrer bundles), with a key or keyless against
 * a trusted_root.json. Exit 0 if at least one is valid, 1 if none.
 */
#include "cli.h"
#include "signimage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help_verify[] =
	"usage: berth verify (--key PUB | --certificate-identity ID\n"
	"                     --certificate-oidc-issuer URL --trusted-root FILE)\n"
	"                    [-a KEY=VALUE]... [--format text|json] IMAGE\n"
	"\n"
	"Verify the signatures of IMAGE: legacy \"sha256-<hex>.sig\" signatures and\n"
	"sigstore bundle referrers. With --key no transparency-log entry is needed;\n"
	"keyless verification is offline against the given trusted root. Exits 1\n"
	"when no signature is valid.\n"
	"\n"
	"  --key PUB                       PEM public key\n"
	"  --certificate-identity ID       keyless: certificate SAN (exact)\n"
	"  --certificate-oidc-issuer URL   keyless: OIDC issuer (exact)\n"
	"  --trusted-root FILE             keyless: sigstore trusted_root.json\n"
	"  -a, --annotations KEY=VALUE     require this annotation in the payload\n"
	"  --format text|json              json prints cosign's verified payloads\n"
	"  --creds USER:PASS, --authfile FILE, --tls-verify=false   registry access\n";

static const char help_att[] =
	"usage: berth verify-attestation (--key PUB | --certificate-identity ID\n"
	"                     --certificate-oidc-issuer URL --trusted-root FILE)\n"
	"                    [--type TYPE] [--format text|json] IMAGE\n"
	"\n"
	"Verify the in-toto attestations of IMAGE (\"sha256-<hex>.att\" DSSE layers and\n"
	"sigstore bundle referrers) of predicate TYPE (spdxjson, cyclonedx,\n"
	"slsaprovenance, slsaprovenance1, vuln, custom or a URI; default: any).\n"
	"Exits 1 when none is valid. --format json prints each DSSE envelope.\n"
	"\n"
	"  --key PUB, --certificate-identity ID, --certificate-oidc-issuer URL,\n"
	"  --trusted-root FILE, --format text|json, registry options: as berth verify\n";

typedef struct verify_opts {
	const char *cmd, *key, *identity, *issuer, *root, *type, *image;
	int json;
	opt_registry reg;
	sopt_annotations ann;
} verify_opts;

static int parse(int argc, char **argv, verify_opts *o, int att)
{
	int m;

	for (int i = 1; i < argc; i++) {
		if ((m = opt_value(o->cmd, argc, argv, &i, "--key", &o->key)) ||
		    (m = opt_value(o->cmd, argc, argv, &i, "--certificate-identity",
				   &o->identity)) ||
		    (m = opt_value(o->cmd, argc, argv, &i, "--certificate-oidc-issuer",
				   &o->issuer)) ||
		    (m = opt_value(o->cmd, argc, argv, &i, "--trusted-root", &o->root)) ||
		    (att && (m = opt_value(o->cmd, argc, argv, &i, "--type", &o->type))) ||
		    (m = opt_format(o->cmd, argc, argv, &i, &o->json)) ||
		    (!att && (m = sopt_annotation_arg(o->cmd, argc, argv, &i, &o->ann))) ||
		    (m = opt_registry_arg(o->cmd, argc, argv, &i, &o->reg))) {
			if (m < 0)
				return BERTH_EXIT_USAGE;
		} else if (opt_positional(o->cmd, argv[i], &o->image) < 0) {
			return BERTH_EXIT_USAGE;
		}
	}
	if (!o->image)
		return berth_cli_fail(o->cmd, BERTH_EXIT_USAGE, "needs an IMAGE");
	if (!o->key && (!o->identity || !o->issuer || !o->root))
		return berth_cli_fail(o->cmd, BERTH_EXIT_USAGE,
				      "needs --key, or --certificate-identity, "
				      "--certificate-oidc-issuer and --trusted-root");
	if (o->type && !berth_sign_predicate_type(o->type))
		return berth_cli_fail(o->cmd, BERTH_EXIT_USAGE, "unknown --type '%s'", o->type);
	return 0;
}

static int load_root(const char *cmd, const char *path, berth_sign_trusted_root **out)
{
	char *text = NULL;
	size_t len;
	int rc;

	if (sopt_read(cmd, path, BERTH_SIGN_TRUSTED_ROOT_MAX, &text, &len) < 0)
		return -1;
	rc = berth_sign_trusted_root_parse(out, text, len);
	free(text);
	return rc < 0 ? berth_cli_fail(cmd, -1, "%s: %s", path, berth_error_last()) : 0;
}

static void report(const verify_opts *o, const simg *im, json_t *valid, json_t *failures, int att)
{
	size_t i;
	json_t *x;

	json_array_foreach(failures, i, x) fprintf(stderr, "berth %s: %s (%s): %s\n", o->cmd,
						   json_string_value(json_object_get(x, "source")),
						   json_string_value(json_object_get(x, "layer")),
						   json_string_value(json_object_get(x, "error")));
	if (json_array_size(valid) == 0)
		return;
	fprintf(stderr, "\nVerification for %s@%s --\n", im->identity, im->digest.str);
	fprintf(stderr, "The following checks were performed on each of these %s:\n",
		att ? "attestations" : "signatures");
	fprintf(stderr, "  - The cosign claims were validated\n");
	fprintf(stderr, "  - The signatures were verified against the %s\n",
		o->key ? "specified public key" : "trusted root's certificate authorities");
	if (o->json) {
		if (att) {
			json_array_foreach(valid, i, x)
			{
				char *s = json_dumps(x, JSON_COMPACT | JSON_PRESERVE_ORDER);

				if (s)
					puts(s);
				free(s);
			}
		} else {
			char *s = json_dumps(valid, JSON_COMPACT | JSON_PRESERVE_ORDER);

			if (s)
				puts(s);
			free(s);
		}
	} else {
		printf("%s@%s: %zu valid %s\n", im->identity, im->digest.str,
		       json_array_size(valid), att ? "attestation(s)" : "signature(s)");
	}
}

static int run(int argc, char **argv, int att)
{
	verify_opts o = {0};
	berth_sign_key *k = NULL;
	berth_sign_trusted_root *root = NULL;
	json_t *valid = NULL, *failures = NULL;
	sverify_opts vo = {0};
	simg im = {0};
	int rc;

	if (berth_cli_wants_help(argc, argv)) {
		fputs(att ? help_att : help_verify, stdout);
		return BERTH_EXIT_OK;
	}
	o.cmd = att ? "verify-attestation" : "verify";
	opt_registry_init(&o.reg);
	if ((rc = parse(argc, argv, &o, att)) != 0)
		goto done;
	rc = BERTH_EXIT_FAIL;
	opt_ignore_sigpipe();
	if ((o.key && sopt_public_key(o.cmd, o.key, &k) < 0) ||
	    (!o.key && load_root(o.cmd, o.root, &root) < 0) ||
	    simg_open(o.cmd, o.image, &o.reg, &im) < 0)
		goto done;
	vo.key = k;
	vo.root = root;
	vo.id.subject = o.identity;
	vo.id.issuer = o.issuer;
	vo.ann = &o.ann;
	vo.attestations = att;
	vo.predicate_type = o.type ? berth_sign_predicate_type(o.type) : NULL;
	if (sverify_image(o.cmd, &im, &vo, &valid, &failures) < 0)
		goto done;
	report(&o, &im, valid, failures, att);
	if (json_array_size(valid) == 0) {
		berth_cli_fail(o.cmd, -1, "no valid %s found for %s@%s",
			       att ? "attestations" : "signatures", im.identity, im.digest.str);
		goto done;
	}
	rc = BERTH_EXIT_OK;
done:
	json_decref(valid);
	json_decref(failures);
	simg_close(&im);
	berth_sign_key_free(k);
	berth_sign_trusted_root_free(root);
	sopt_annotations_dispose(&o.ann);
	opt_registry_dispose(&o.reg);
	return rc;
}

int cmd_verify(int argc, char **argv)
{
	return run(argc, argv, 0);
}

int cmd_verify_attestation(int argc, char **argv)
{
	return run(argc, argv, 1);
}
