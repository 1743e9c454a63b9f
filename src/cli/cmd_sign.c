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

#define SIGN_IMAGES_MAX 64

typedef struct sign_opts {
	const char *key;
	int recursive;
	berth_args_list annotations;
	sopt_store store;
	opt_registry reg;
	sopt_annotations ann;
} sign_opts;

static const berth_arg sign_args[] = {
	BERTH_OPT_STRING("key", 0, sign_opts, key, "KEY", "cosign.key or a PEM private key"),
	BERTH_OPT_LIST("annotations", 'a', sign_opts, annotations, "KEY=VALUE",
		       "add to the signed payload (repeatable)"),
	BERTH_OPT_BOOL("recursive", 0, sign_opts, recursive, NULL,
		       "also sign each manifest of an index"),
	SOPT_STORE_ARGS(sign_opts, store),
	OPT_REGISTRY_ARGS(sign_opts, reg),
	BERTH_OPT_END,
};

static const berth_args_spec sign_spec = {
	.cmd = "sign",
	.usage = "sign --key KEY [options] IMAGE...",
	.description = "Sign each IMAGE (by tag or digest) with a cosign key.\n",
	.args = sign_args,
	.min_pos = 1,
	.max_pos = SIGN_IMAGES_MAX,
	.missing = "needs --key KEY and an IMAGE",
};

const berth_args_spec *const cmd_sign_specs[] = {&sign_spec, NULL};

int cmd_sign(int argc, char **argv)
{
	sign_opts o = {0};
	berth_sign_key *k = NULL;
	ssign_opts so = {0};
	int rc, n;

	opt_registry_init(&o.reg);
	if ((rc = berth_args_parse(&sign_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK) {
		rc = berth_args_exit(rc);
		goto done;
	}
	rc = BERTH_EXIT_USAGE;
	if (!o.key) {
		berth_cli_fail("sign", rc, "needs --key KEY and an IMAGE");
		goto done;
	}
	if (opt_registry_check("sign", &o.reg) < 0 ||
	    sopt_annotations_parse("sign", &o.annotations, &o.ann) < 0)
		goto done;
	rc = BERTH_EXIT_FAIL;
	opt_ignore_sigpipe();
	if (sopt_tlog_check("sign", &o.store) < 0 || sopt_private_key("sign", o.key, &k) < 0)
		goto done;
	so.rekor = o.store.tlog ? o.store.rekor : NULL;
	so.key = k;
	so.ann = &o.ann;
	so.bundle = sopt_store_bundle(&o.store);
	for (int i = 1; i <= n; i++)
		if (ssign_image("sign", argv[i], &o.reg, &so, o.recursive) < 0)
			goto done;
	rc = BERTH_EXIT_OK;
done:
	berth_sign_key_free(k);
	sopt_annotations_dispose(&o.ann);
	opt_registry_dispose(&o.reg);
	return rc;
}
