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

typedef struct attest_opts {
	const char *key, *predicate, *type;
	sopt_store store;
	opt_registry reg;
} attest_opts;

static const berth_arg attest_args[] = {
	BERTH_OPT_STRING("key", 0, attest_opts, key, "KEY", "cosign.key or a PEM private key"),
	BERTH_OPT_STRING("predicate", 0, attest_opts, predicate, "FILE",
			 "the predicate (JSON; any text for custom)"),
	BERTH_OPT_STRING("type", 0, attest_opts, type, "TYPE", "predicate type (default custom)"),
	SOPT_STORE_ARGS(attest_opts, store),
	OPT_REGISTRY_ARGS(attest_opts, reg),
	BERTH_OPT_END,
};

static const berth_args_spec attest_spec = {
	.cmd = "attest",
	.usage = "attest --key KEY --predicate FILE [options] IMAGE",
	.description = "Attest IMAGE: an in-toto statement whose predicate is FILE, of TYPE\n"
		       "spdx, spdxjson, cyclonedx, slsaprovenance, slsaprovenance02,\n"
		       "slsaprovenance1, link, vuln, openvex, custom (default; FILE is wrapped as\n"
		       "cosign does) or a predicate type URI.\n",
	.args = attest_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "needs --key KEY, --predicate FILE and an IMAGE",
};

const berth_args_spec *const cmd_attest_specs[] = {&attest_spec, NULL};

/* Checks across options after parsing; -1 (usage error printed) if one fails. */
static int check(attest_opts *o)
{
	if (!o->key || !o->predicate)
		return berth_cli_fail("attest", -1,
				      "needs --key KEY, --predicate FILE and an IMAGE");
	if (!o->type)
		o->type = "custom";
	if (!berth_sign_predicate_type(o->type))
		return berth_cli_fail("attest", -1, "unknown --type '%s'", o->type);
	return opt_registry_check("attest", &o->reg);
}

int cmd_attest(int argc, char **argv)
{
	attest_opts o = {0};
	berth_sign_key *k = NULL;
	char *pred = NULL;
	size_t pred_len;
	simg im = {0};
	ssign_opts so = {0};
	int rc, n;

	opt_registry_init(&o.reg);
	if ((rc = berth_args_parse(&attest_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK) {
		rc = berth_args_exit(rc);
		goto done;
	}
	rc = BERTH_EXIT_USAGE;
	if (check(&o) < 0)
		goto done;
	rc = BERTH_EXIT_FAIL;
	opt_ignore_sigpipe();
	if (sopt_tlog_check("attest", &o.store) < 0 ||
	    sopt_read("attest", o.predicate, BERTH_SIGN_PAYLOAD_MAX, &pred, &pred_len) < 0 ||
	    sopt_private_key("attest", o.key, &k) < 0 ||
	    simg_open("attest", argv[1], &o.reg, &im) < 0)
		goto done;
	so.key = k;
	so.rekor = o.store.tlog ? o.store.rekor : NULL;
	so.bundle = sopt_store_bundle(&o.store);
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
