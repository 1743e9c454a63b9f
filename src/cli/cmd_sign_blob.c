/*
 * cmd_sign_blob.c - `berth sign-blob`: sign a file with a key as cosign
 * does: the signature (base64) on stdout or in --output-signature, and/or a
 * sigstore bundle v0.3 (message signature, public-key hint) in --bundle.
 */
#include "cli.h"
#include "signopts.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sb_opts {
	const char *key, *bundle, *out_sig, *rekor;
	int new_bundle, tlog;
} sb_opts;

static const berth_arg sb_args[] = {
	BERTH_OPT_STRING("key", 0, sb_opts, key, "KEY", "cosign.key or a PEM private key"),
	BERTH_OPT_STRING("bundle", 0, sb_opts, bundle, "FILE", "write a sigstore bundle"),
	BERTH_OPT_BOOL("new-bundle-format", 0, sb_opts, new_bundle, NULL,
		       "accepted for cosign compatibility"),
	BERTH_OPT_STRING("output-signature", 0, sb_opts, out_sig, "FILE",
			 "write the base64 signature to FILE"),
	BERTH_OPT_BOOL("tlog-upload", 0, sb_opts, tlog, "BOOL",
		       "upload to a Rekor transparency log and put the\n"
		       "entry in the bundle (default false; true needs\n"
		       "--rekor-url)"),
	BERTH_OPT_STRING("rekor-url", 0, sb_opts, rekor, "URL", "the transparency log"),
	BERTH_OPT_END,
};

static const berth_args_spec sb_spec = {
	.cmd = "sign-blob",
	.usage = "sign-blob --key KEY [options] FILE",
	.description = "Sign FILE (- for stdin) with a cosign key. Without --output-signature the\n"
		       "base64 signature is printed. --bundle writes a sigstore bundle v0.3 with\n"
		       "the message signature and the public-key hint (the bundle format is the\n"
		       "same with or without --new-bundle-format).\n",
	.args = sb_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "needs --key KEY and a FILE",
};

const berth_args_spec *const cmd_sign_blob_specs[] = {&sb_spec, NULL};

int cmd_sign_blob(int argc, char **argv)
{
	sb_opts o = {0};
	berth_sign_key *k = NULL;
	char *data = NULL, *b64 = NULL, *bundle = NULL, *entry = NULL;
	unsigned char *sig = NULL, digest[32];
	size_t len, sig_len, bundle_len;
	int rc, n;

	if ((rc = berth_args_parse(&sb_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	if (!o.key)
		return berth_cli_fail("sign-blob", BERTH_EXIT_USAGE, "needs --key KEY and a FILE");
	rc = BERTH_EXIT_FAIL;
	if ((o.tlog && !o.rekor &&
	     berth_cli_fail("sign-blob", -1, "--tlog-upload=true needs --rekor-url") < 0) ||
	    sopt_private_key("sign-blob", o.key, &k) < 0 ||
	    sopt_read("sign-blob", argv[1], BERTH_SIGN_BLOB_MAX, &data, &len) < 0)
		goto done;
	SHA256((unsigned char *)data, len, digest);
	if (berth_sign_key_sign(k, data, len, &sig, &sig_len) < 0 ||
	    berth_sign_b64_encode(&b64, sig, sig_len) < 0) {
		berth_cli_fail("sign-blob", -1, "%s", berth_error_last());
		goto done;
	}
	if (o.tlog) {
		if (berth_sign_rekor_upload(&entry, o.rekor, k, digest, sig, sig_len) < 0) {
			berth_cli_fail("sign-blob", -1, "%s", berth_error_last());
			goto done;
		}
		fprintf(stderr, "tlog entry created\n");
	}
	if (o.bundle) {
		if (berth_sign_bundle_write_key(&bundle, &bundle_len, k, digest, sig, sig_len, NULL,
						entry) < 0) {
			berth_cli_fail("sign-blob", -1, "%s", berth_error_last());
			goto done;
		}
		if (sopt_write("sign-blob", o.bundle, bundle, bundle_len, 0, 0) < 0)
			goto done;
		fprintf(stderr, "Wrote bundle to file %s\n", o.bundle);
	}
	if (o.out_sig) {
		if (sopt_write("sign-blob", o.out_sig, b64, strlen(b64), 0, 0) < 0)
			goto done;
		fprintf(stderr, "Signature wrote in the file %s\n", o.out_sig);
	} else if (!o.bundle) {
		puts(b64);
	}
	rc = BERTH_EXIT_OK;
done:
	berth_sign_key_free(k);
	free(data);
	free(b64);
	free(sig);
	free(bundle);
	free(entry);
	return rc;
}
