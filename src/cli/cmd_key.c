/*
 * cmd_key.c - `berth key generate|import`: cosign key pairs. generate makes
 * an ECDSA P-256 key; import reads a PEM private key (EC P-256/P-384, RSA,
 * Ed25519); both write PREFIX.key (cosign's encrypted format, mode 0600) and
 * PREFIX.pub (PKIX PEM), refusing to overwrite either.
 */
#include "cli.h"
#include "signopts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct key_opts {
	const char *prefix, *key;
} key_opts;

#define KEY_DESCRIPTION                                                                            \
	"Write a cosign key pair: PREFIX.key (encrypted with a password, cosign's\n"               \
	"format) and PREFIX.pub (PEM public key). The password comes from\n"                       \
	"COSIGN_PASSWORD, or is asked for twice on the terminal.\n"

static const berth_arg generate_args[] = {
	BERTH_OPT_STRING("output-key-prefix", 0, key_opts, prefix, "PREFIX",
			 "file name prefix (default cosign)"),
	BERTH_OPT_END,
};

static const berth_args_spec generate_spec = {
	.cmd = "key",
	.usage = "key generate [options]",
	.description = KEY_DESCRIPTION "generate makes an ECDSA P-256 key.\n",
	.args = generate_args,
};

static const berth_arg import_args[] = {
	BERTH_OPT_STRING("key", 0, key_opts, key, "FILE", "the PEM private key to import"),
	BERTH_OPT_STRING("output-key-prefix", 0, key_opts, prefix, "PREFIX",
			 "file name prefix (default import-cosign)"),
	BERTH_OPT_END,
};

static const berth_args_spec import_spec = {
	.cmd = "key",
	.usage = "key import --key FILE [options]",
	.description =
		KEY_DESCRIPTION "import converts a PEM private key (EC P-256 or P-384, RSA,\n"
				"Ed25519).\n",
	.args = import_args,
};

const berth_args_spec *const cmd_key_specs[] = {&generate_spec, &import_spec, NULL};

/* The subcommand and its options; -1 to stop with the exit code in *rc (printed). */
static int parse(int argc, char **argv, key_opts *o, int *import, int *rc)
{
	int r, n;

	*rc = BERTH_EXIT_USAGE;
	if (argc < 2)
		return berth_cli_fail("key", -1, "needs generate or import (see --help)");
	if (berth_cli_is_help(argv[1])) {
		berth_args_help(&generate_spec, stdout);
		fputc('\n', stdout);
		berth_args_help(&import_spec, stdout);
		*rc = BERTH_EXIT_OK;
		return -1;
	}
	if (strcmp(argv[1], "generate") == 0 || strcmp(argv[1], "generate-key-pair") == 0)
		*import = 0;
	else if (strcmp(argv[1], "import") == 0 || strcmp(argv[1], "import-key-pair") == 0)
		*import = 1;
	else
		return berth_cli_fail("key", -1, "unknown subcommand '%s'", argv[1]);
	o->prefix = *import ? "import-cosign" : "cosign";
	r = berth_args_parse(*import ? &import_spec : &generate_spec, o, argc - 1, argv + 1, &n);
	if (r != BERTH_ARGS_OK) {
		*rc = berth_args_exit(r);
		return -1;
	}
	if (*import && !o->key)
		return berth_cli_fail("key", -1, "import needs --key FILE");
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
	explicit_bzero(pw, sizeof(pw));
	if (priv)
		explicit_bzero(priv, priv_len);
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
	int rc, import = 0;

	if (parse(argc, argv, &o, &import, &rc) < 0)
		return rc;
	rc = BERTH_EXIT_FAIL;
	if (import) {
		/* An import reads an unencrypted PEM: no password is asked for it. */
		char *data = NULL;
		size_t len;

		if (sopt_read("key", o.key, BERTH_SIGN_KEY_FILE_MAX, &data, &len) < 0)
			goto done;
		if (berth_sign_key_load_private(&k, data, len, "") < 0)
			berth_cli_fail("key", -1, "%s: %s", o.key, berth_error_last());
		explicit_bzero(data, len);
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
