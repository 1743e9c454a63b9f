/*
 * cmd_key.c - `berth key generate|import`: cosign key pairs. generate makes
 * an ECDSA P-256 key; import reads a PEM private key (EC P-256/P-384, RSA,
 * Ed25519); both write PREFIX.key (cosign's encrypted format, mode 0600) and
 * PREFIX.pub (PKIX PEM), refusing to overwrite either.
 */
#include "cli.h"
#include "opts.h"
#include "signopts.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
	"usage: berth key generate [--output-key-prefix PREFIX]\n"
	"       berth key import --key FILE [--output-key-prefix PREFIX]\n"
	"\n"
	"Write a cosign key pair: PREFIX.key (encrypted with a password, cosign's\n"
	"format) and PREFIX.pub (PEM public key). generate makes an ECDSA P-256 key\n"
	"(PREFIX defaults to cosign); import converts a PEM private key (EC P-256 or\n"
	"P-384, RSA, Ed25519; PREFIX defaults to import-cosign). The password comes\n"
	"from COSIGN_PASSWORD, or is asked for twice on the terminal.\n"
	"\n"
	"  --output-key-prefix PREFIX   file name prefix\n"
	"  --key FILE                   (import) the PEM private key to import\n";

typedef struct key_opts {
	int import;
	const char *prefix, *key;
} key_opts;

static int parse(int argc, char **argv, key_opts *o)
{
	int m;

	if (argc < 2)
		return berth_cli_fail("key", BERTH_EXIT_USAGE,
				      "needs generate or import (see --help)");
	if (strcmp(argv[1], "generate") == 0 || strcmp(argv[1], "generate-key-pair") == 0)
		o->import = 0;
	else if (strcmp(argv[1], "import") == 0 || strcmp(argv[1], "import-key-pair") == 0)
		o->import = 1;
	else
		return berth_cli_fail("key", BERTH_EXIT_USAGE, "unknown subcommand '%s'", argv[1]);
	o->prefix = o->import ? "import-cosign" : "cosign";
	for (int i = 2; i < argc; i++) {
		if ((m = opt_value("key", argc, argv, &i, "--output-key-prefix", &o->prefix)) ||
		    (m = opt_value("key", argc, argv, &i, "--key", &o->key))) {
			if (m < 0)
				return BERTH_EXIT_USAGE;
		} else {
			return berth_cli_fail("key", BERTH_EXIT_USAGE, "unexpected argument '%s'",
					      argv[i]);
		}
	}
	if (o->import && !o->key)
		return berth_cli_fail("key", BERTH_EXIT_USAGE, "import needs --key FILE");
	return 0;
}

static int write_pair(const berth_sign_key *k, const char *prefix)
{
	char pw[BERTH_SIGN_PASSWORD_MAX + 1], *priv = NULL, *pub = NULL, *kpath = NULL,
					      *ppath = NULL;
	size_t priv_len = 0, pub_len = 0;
	int rc = -1;

	if (sopt_new_password("key", pw, sizeof(pw)) < 0)
		goto done;
	if (berth_sign_key_export_encrypted(k, pw, &priv, &priv_len) < 0 ||
	    berth_sign_key_export_public(k, &pub, &pub_len) < 0) {
		berth_cli_fail("key", -1, "%s", berth_error_last());
		goto done;
	}
	if (asprintf(&kpath, "%s.key", prefix) < 0 || asprintf(&ppath, "%s.pub", prefix) < 0) {
		berth_cli_fail("key", -1, "out of memory");
		goto done;
	}
	if (sopt_write("key", kpath, priv, priv_len, 1, 1) < 0)
		goto done;
	if (sopt_write("key", ppath, pub, pub_len, 0, 1) < 0) {
		remove(kpath);
		goto done;
	}
	fprintf(stderr, "Private key written to %s\nPublic key written to %s\n", kpath, ppath);
	rc = 0;
done:
	OPENSSL_cleanse(pw, sizeof(pw));
	if (priv)
		OPENSSL_cleanse(priv, priv_len);
	free(priv);
	free(pub);
	free(kpath);
	free(ppath);
	return rc;
}

int cmd_key(int argc, char **argv)
{
	key_opts o = {0};
	berth_sign_key *k = NULL;
	int rc;

	if (berth_cli_wants_help(argc, argv)) {
		fputs(help, stdout);
		return BERTH_EXIT_OK;
	}
	if ((rc = parse(argc, argv, &o)) != 0)
		return rc;
	rc = BERTH_EXIT_FAIL;
	if (o.import) {
		/* An import reads an unencrypted PEM: no password is asked for it. */
		char *data = NULL;
		size_t len;

		if (sopt_read("key", o.key, BERTH_SIGN_KEY_FILE_MAX, &data, &len) < 0)
			goto done;
		if (berth_sign_key_load_private(&k, data, len, "") < 0)
			berth_cli_fail("key", -1, "%s: %s", o.key, berth_error_last());
		OPENSSL_cleanse(data, len);
		free(data);
		if (!k)
			goto done;
	} else if (berth_sign_key_generate(&k) < 0) {
		berth_cli_fail("key", -1, "%s", berth_error_last());
		goto done;
	}
	if (write_pair(k, o.prefix) == 0)
		rc = BERTH_EXIT_OK;
done:
	berth_sign_key_free(k);
	return rc;
}
