/*
 * cmd_sign_blob.c - `berth sign-blob`: sign a file with a key as cosign
 * does: the signature (base64) on stdout or in --output-signature, and/or a
 * sigstore bundle v0.3 (message signature, public-key hint) in --bundle.
 */
#include "cli.h"
#include "opts.h"
#include "signopts.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
	"usage: berth sign-blob --key KEY [--bundle FILE] [--new-bundle-format]\n"
	"                       [--output-signature FILE] FILE\n"
	"\n"
	"Sign FILE (- for stdin) with a cosign key. Without --output-signature the\n"
	"base64 signature is printed. --bundle writes a sigstore bundle v0.3 with\n"
	"the message signature and the public-key hint (the bundle format is the\n"
	"same with or without --new-bundle-format).\n"
	"\n"
	"  --key KEY                 cosign.key or a PEM private key\n"
	"  --bundle FILE             write a sigstore bundle\n"
	"  --new-bundle-format       accepted for cosign compatibility\n"
	"  --output-signature FILE   write the base64 signature to FILE\n"
	"  --tlog-upload[=BOOL]      upload to a Rekor transparency log and put the\n"
	"                            entry in the bundle (default false; true needs\n"
	"                            --rekor-url)\n"
	"  --rekor-url URL           the transparency log\n";

typedef struct sb_opts {
	const char *key, *bundle, *out_sig, *file, *rekor;
	int new_bundle, tlog;
} sb_opts;

static int parse(int argc, char **argv, sb_opts *o)
{
	int m;

	for (int i = 1; i < argc; i++) {
		if ((m = opt_value("sign-blob", argc, argv, &i, "--key", &o->key)) ||
		    (m = opt_value("sign-blob", argc, argv, &i, "--bundle", &o->bundle)) ||
		    (m = opt_value("sign-blob", argc, argv, &i, "--output-signature",
				   &o->out_sig)) ||
		    (m = opt_value("sign-blob", argc, argv, &i, "--rekor-url", &o->rekor)) ||
		    (m = opt_bool("sign-blob", argv, i, "--new-bundle-format", &o->new_bundle)) ||
		    (m = opt_bool("sign-blob", argv, i, "--tlog-upload", &o->tlog))) {
			if (m < 0)
				return BERTH_EXIT_USAGE;
		} else if (opt_positional("sign-blob", argv[i], &o->file) < 0) {
			return BERTH_EXIT_USAGE;
		}
	}
	if (!o->key || !o->file)
		return berth_cli_fail("sign-blob", BERTH_EXIT_USAGE, "needs --key KEY and a FILE");
	return 0;
}

int cmd_sign_blob(int argc, char **argv)
{
	sb_opts o = {0};
	berth_sign_key *k = NULL;
	char *data = NULL, *b64 = NULL, *bundle = NULL, *entry = NULL;
	unsigned char *sig = NULL, digest[32];
	size_t len, sig_len, bundle_len;
	int rc;

	if (berth_cli_wants_help(argc, argv)) {
		fputs(help, stdout);
		return BERTH_EXIT_OK;
	}
	if ((rc = parse(argc, argv, &o)) != 0)
		return rc;
	rc = BERTH_EXIT_FAIL;
	if ((o.tlog && !o.rekor &&
	     berth_cli_fail("sign-blob", -1, "--tlog-upload=true needs --rekor-url") < 0) ||
	    sopt_private_key("sign-blob", o.key, &k) < 0 ||
	    sopt_read("sign-blob", o.file, BERTH_SIGN_BLOB_MAX, &data, &len) < 0)
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
