/*
 * cmd_verify_blob.c - `berth verify-blob`: check a file's (or a digest's)
 * signature as cosign does: with a public key, or keyless against a
 * trusted_root.json offline; from a sigstore bundle (v0.1-v0.3, message
 * signature or DSSE) or a detached base64 signature. Exit 0 valid, 1 not.
 */
#include "cli.h"
#include "signopts.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct vb_opts {
	sopt_verifier v;
	const char *bundle, *sig;
} vb_opts;

static const berth_arg vb_args[] = {
	SOPT_VERIFIER_ARGS(vb_opts, v,
			   "sigstore trusted_root.json: keyless, or with\n"
			   "--key, the logs the bundle's entries must be from"),
	BERTH_OPT_STRING("bundle", 0, vb_opts, bundle, "FILE",
			 "sigstore bundle v0.1, v0.2 or v0.3"),
	BERTH_OPT_STRING("signature", 0, vb_opts, sig, "FILE",
			 "detached base64 signature (with --key)"),
	BERTH_OPT_END,
};

static const berth_args_spec vb_spec = {
	.cmd = "verify-blob",
	.usage = "verify-blob (--key PUB | --certificate-identity ID\n"
		 "                          --certificate-oidc-issuer URL --trusted-root FILE)\n"
		 "                         (--bundle FILE | --signature FILE) FILE|sha256:DIGEST",
	.description =
		"Verify the signature of FILE (or of the artifact with that SHA-256 digest).\n"
		"Prints \"Verified OK\" and exits 0 when valid, 1 otherwise.\n",
	.args = vb_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "needs a FILE or sha256:DIGEST",
};

const berth_args_spec *const cmd_verify_blob_specs[] = {&vb_spec, NULL};

/* Checks across options after parsing; -1 (usage error printed) if one fails. */
static int check(const vb_opts *o)
{
	if (!o->bundle == !o->sig)
		return berth_cli_fail("verify-blob", -1, "needs one of --bundle and --signature");
	if (sopt_verifier_check("verify-blob", &o->v) < 0)
		return -1;
	if (o->sig && !o->v.key)
		return berth_cli_fail("verify-blob", -1, "--signature needs --key");
	return 0;
}

/* The artifact: its bytes, or only its digest when given as sha256:HEX. */
typedef struct artifact {
	char *data;
	size_t len;
	unsigned char digest[32];
	int digest_only;
} artifact;

static int load_artifact(const char *arg, artifact *a)
{
	if (strncmp(arg, "sha256:", 7) == 0) {
		berth_error_clear();
		if (strlen(arg + 7) != 64 || berth_sign_hex_decode(a->digest, 32, arg + 7) < 0)
			return berth_cli_fail("verify-blob", -1, "'%s' is not sha256:<64 hex>",
					      arg);
		a->digest_only = 1;
		return 0;
	}
	if (sopt_read("verify-blob", arg, BERTH_SIGN_BLOB_MAX, &a->data, &a->len) < 0)
		return -1;
	SHA256((unsigned char *)a->data, a->len, a->digest);
	return 0;
}

static int verify_detached(const vb_opts *o, const berth_sign_key *k, const artifact *a)
{
	char *text = NULL;
	unsigned char *sig = NULL;
	size_t len, sig_len;
	int rc;

	if (sopt_read("verify-blob", o->sig, BERTH_SIGN_KEY_FILE_MAX, &text, &len) < 0)
		return -1;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	rc = berth_sign_b64_decode(&sig, &sig_len, text, len);
	free(text);
	if (rc < 0)
		return berth_cli_fail("verify-blob", -1, "%s: not a base64 signature", o->sig);
	rc = a->digest_only ? berth_sign_key_verify_sha256(k, a->digest, sig, sig_len)
			    : berth_sign_key_verify(k, a->data, a->len, sig, sig_len);
	free(sig);
	return rc < 0 ? berth_cli_fail("verify-blob", -1, "%s", berth_error_last()) : 0;
}

static int verify_bundle(const vb_opts *o, const berth_sign_key *k, const artifact *a)
{
	berth_sign_trusted_root *root = NULL;
	berth_sign_bundle *b = NULL;
	berth_sign_identity id = {o->v.identity, o->v.issuer, o->v.ignore_sct};
	char *text = NULL;
	size_t len;
	int rc = -1;

	if (sopt_read("verify-blob", o->bundle, BERTH_SIGN_BUNDLE_MAX, &text, &len) < 0)
		return -1;
	if (berth_sign_bundle_parse(&b, text, len) < 0) {
		berth_cli_fail("verify-blob", -1, "%s: %s", o->bundle, berth_error_last());
		goto done;
	}
	free(text);
	text = NULL;
	if (o->v.root) {
		if (sopt_read("verify-blob", o->v.root, BERTH_SIGN_TRUSTED_ROOT_MAX, &text, &len) <
		    0)
			goto done;
		if (berth_sign_trusted_root_parse(&root, text, len) < 0) {
			berth_cli_fail("verify-blob", -1, "%s: %s", o->v.root, berth_error_last());
			goto done;
		}
	}
	if (berth_sign_bundle_verify(b, a->digest_only ? NULL : a->data, a->len, a->digest, k, root,
				     &id) < 0) {
		berth_cli_fail("verify-blob", -1, "%s", berth_error_last());
		goto done;
	}
	rc = 0;
done:
	free(text);
	berth_sign_bundle_free(b);
	berth_sign_trusted_root_free(root);
	return rc;
}

int cmd_verify_blob(int argc, char **argv)
{
	vb_opts o = {0};
	artifact a = {0};
	berth_sign_key *k = NULL;
	int rc, n;

	if ((rc = berth_args_parse(&vb_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	if (check(&o) < 0)
		return BERTH_EXIT_USAGE;
	rc = BERTH_EXIT_FAIL;
	if ((o.v.key && sopt_public_key("verify-blob", o.v.key, &k) < 0) ||
	    load_artifact(argv[1], &a) < 0)
		goto done;
	if ((o.sig ? verify_detached(&o, k, &a) : verify_bundle(&o, k, &a)) < 0)
		goto done;
	fprintf(stderr, "Verified OK\n");
	rc = BERTH_EXIT_OK;
done:
	berth_sign_key_free(k);
	free(a.data);
	return rc;
}
