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

typedef struct verify_opts {
	const char *cmd, *type, *format;
	sopt_verifier v;
	berth_args_list annotations;
	opt_registry reg;
	sopt_annotations ann;
} verify_opts;

#define ROOT_HELP                                                                                  \
	"sigstore trusted_root.json (keyless; with --key\n"                                        \
	"the tlog entries must be proven by its logs)"
#define USAGE(cmd)                                                                                 \
	cmd " (--key PUB | --certificate-identity ID\n"                                            \
	    "                     --certificate-oidc-issuer URL --trusted-root FILE)\n"            \
	    "                    [options] IMAGE"

/* The rows verify and verify-attestation share; format_help says what json prints. */
#define VERIFY_ARGS(format_help)                                                                   \
	SOPT_VERIFIER_ARGS(verify_opts, v, ROOT_HELP),                                             \
		BERTH_OPT_ENUM("format", 0, verify_opts, format, opt_text_json, NULL,              \
			       format_help),                                                       \
		OPT_REGISTRY_ARGS(verify_opts, reg)

static const berth_arg verify_args[] = {
	VERIFY_ARGS("json prints cosign's verified payloads"),
	BERTH_OPT_LIST("annotations", 'a', verify_opts, annotations, "KEY=VALUE",
		       "require this annotation in the payload (repeatable)"),
	BERTH_OPT_END,
};

static const berth_arg att_args[] = {
	VERIFY_ARGS("json prints each verified DSSE envelope"),
	BERTH_OPT_STRING("type", 0, verify_opts, type, "TYPE",
			 "the predicate type required (default: any)"),
	BERTH_OPT_END,
};

/* One command's spec: its name, option rows and description; one IMAGE. */
#define VERIFY_SPEC(name, rows, text)                                                              \
	{                                                                                          \
		.cmd = name, .usage = USAGE(name), .description = text, .args = rows,              \
		.min_pos = 1, .max_pos = 1, .missing = "needs an IMAGE",                           \
	}

static const berth_args_spec verify_spec =
	VERIFY_SPEC("verify", verify_args,
		    "Verify the signatures of IMAGE: legacy \"sha256-<hex>.sig\" signatures and\n"
		    "sigstore bundle referrers. With --key no transparency-log entry is needed;\n"
		    "keyless verification is offline against the given trusted root. Exits 1\n"
		    "when no signature is valid.\n");

static const berth_args_spec att_spec = VERIFY_SPEC(
	"verify-attestation", att_args,
	"Verify the in-toto attestations of IMAGE (\"sha256-<hex>.att\" DSSE layers and\n"
	"sigstore bundle referrers) of predicate TYPE (spdxjson, cyclonedx,\n"
	"slsaprovenance, slsaprovenance1, vuln, custom or a URI; default: any).\n"
	"Exits 1 when none is valid.\n");

const berth_args_spec *const cmd_verify_specs[] = {&verify_spec, NULL};
const berth_args_spec *const cmd_verify_attestation_specs[] = {&att_spec, NULL};

/* Checks across options after parsing; -1 (usage error printed) if one fails. */
static int check(verify_opts *o)
{
	if (sopt_verifier_check(o->cmd, &o->v) < 0)
		return -1;
	if (o->type && !berth_sign_predicate_type(o->type))
		return berth_cli_fail(o->cmd, -1, "unknown --type '%s'", o->type);
	if (opt_registry_check(o->cmd, &o->reg) < 0)
		return -1;
	return sopt_annotations_parse(o->cmd, &o->annotations, &o->ann);
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
		o->v.key ? "specified public key" : "trusted root's certificate authorities");
	if (strcmp(o->format, "json") == 0) {
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
	verify_opts o = {.format = "text"};
	berth_sign_key *k = NULL;
	berth_sign_trusted_root *root = NULL;
	json_t *valid = NULL, *failures = NULL;
	sverify_opts vo = {0};
	simg im = {0};
	int rc, n;

	o.cmd = att ? "verify-attestation" : "verify";
	opt_registry_init(&o.reg);
	if ((rc = berth_args_parse(att ? &att_spec : &verify_spec, &o, argc, argv, &n)) !=
	    BERTH_ARGS_OK) {
		rc = berth_args_exit(rc);
		goto done;
	}
	rc = BERTH_EXIT_USAGE;
	if (check(&o) < 0)
		goto done;
	rc = BERTH_EXIT_FAIL;
	opt_ignore_sigpipe();
	if ((o.v.key && sopt_public_key(o.cmd, o.v.key, &k) < 0) ||
	    (o.v.root && load_root(o.cmd, o.v.root, &root) < 0) ||
	    simg_open(o.cmd, argv[1], &o.reg, &im) < 0)
		goto done;
	vo.key = k;
	vo.root = root;
	vo.id.subject = o.v.identity;
	vo.id.issuer = o.v.issuer;
	vo.id.ignore_sct = o.v.ignore_sct;
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
