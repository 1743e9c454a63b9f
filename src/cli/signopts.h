/*
 * signopts.h - what the signing commands (key, sign-blob, verify-blob, sign,
 * verify, attest, verify-attestation, attach, download, tree) share: key
 * loading with the password from COSIGN_PASSWORD or a prompt, capped file
 * reads, -a K=V annotations, file writes, and the option table rows of the
 * storage (sign, attest) and of verification (verify, verify-attestation,
 * verify-blob).
 */
#ifndef BERTH_CLI_SIGNOPTS_H
#define BERTH_CLI_SIGNOPTS_H

#include "args.h"

#include "berth/sign.h"

#include <stddef.h>

/** Read a whole file (at most max bytes) into malloc'd *out (NUL-terminated); prints errors. */
int sopt_read(const char *cmd, const char *path, size_t max, char **out, size_t *len);

/**
 * Load a private key file: the password from $COSIGN_PASSWORD, else asked
 * on the terminal (only for encrypted cosign keys). Prints errors.
 */
int sopt_private_key(const char *cmd, const char *path, berth_sign_key **out);

/** Load a public key (PEM PUBLIC KEY or a certificate). Prints errors. */
int sopt_public_key(const char *cmd, const char *path, berth_sign_key **out);

/**
 * The password for a new key: $COSIGN_PASSWORD, else asked twice on the
 * terminal (must match). buf gets at most len-1 bytes. Prints errors.
 */
int sopt_new_password(const char *cmd, char *buf, size_t len);

/** Write data to path (mode 0600 when private, else 0644); refuse to overwrite when excl. */
int sopt_write(const char *cmd, const char *path, const void *data, size_t len, int private_,
	       int excl);

/** Annotations from -a/--annotations K=V (a BERTH_OPT_LIST row), split. */
#define SOPT_ANN_MAX BERTH_ARGS_LIST_MAX
typedef struct sopt_annotations {
	berth_sign_annotation a[SOPT_ANN_MAX];
	char *buf[SOPT_ANN_MAX];
	size_t n;
} sopt_annotations;

/** Each KEY=VALUE of l into an (copied); -1 (usage error printed) on a bad one. */
int sopt_annotations_parse(const char *cmd, const berth_args_list *l, sopt_annotations *an);

void sopt_annotations_dispose(sopt_annotations *an);

/** Where sign and attest store what they sign, and the transparency log. */
typedef struct sopt_store {
	const char *mode;  /* --registry-referrers-mode: "legacy" (or NULL) or "oci-1-1" */
	const char *rekor; /* --rekor-url */
	int new_bundle;	   /* --new-bundle-format */
	int tlog;	   /* --tlog-upload */
	int yes;	   /* --yes: accepted for cosign compatibility */
} sopt_store;

/** The words of --registry-referrers-mode. */
extern const char *const sopt_modes[];

/* The option table entries of sopt_store, for a command whose options struct T holds one as F. */
#define SOPT_STORE_ARGS(T, F)                                                                      \
	BERTH_OPT_ENUM("registry-referrers-mode", 0, T, F.mode, sopt_modes, NULL,                  \
		       "legacy (a \"sha256-<hex>\" tag, default) or\n"                             \
		       "oci-1-1 (a sigstore bundle referrer)"),                                    \
		BERTH_OPT_BOOL("new-bundle-format", 0, T, F.new_bundle, NULL,                      \
			       "store a sigstore bundle referrer"),                                \
		BERTH_OPT_BOOL("tlog-upload", 0, T, F.tlog, "BOOL",                                \
			       "upload to the Rekor log of --rekor-url\n"                          \
			       "(default false: offline)"),                                        \
		BERTH_OPT_STRING("rekor-url", 0, T, F.rekor, "URL", "the transparency log"),       \
		BERTH_OPT_BOOL("yes", 0, T, F.yes, NULL,                                           \
			       "accepted for cosign compatibility (berth never asks)")

/** 1 when s asks for a sigstore bundle referrer (oci-1-1 or --new-bundle-format). */
int sopt_store_bundle(const sopt_store *s);

/**
 * --tlog-upload for image commands: 0 when not asked for or when asked for
 * with --rekor-url; fails clearly without --rekor-url. Prints errors.
 */
int sopt_tlog_check(const char *cmd, const sopt_store *s);

/** What a verification checks against: a public key, or keyless. */
typedef struct sopt_verifier {
	const char *key;      /* --key: PEM public key (or certificate) */
	const char *identity; /* --certificate-identity */
	const char *issuer;   /* --certificate-oidc-issuer */
	const char *root;     /* --trusted-root */
	int ignore_sct;	      /* --insecure-ignore-sct */
} sopt_verifier;

/*
 * The option table entries of sopt_verifier (T's field F); root_help is the
 * help of --trusted-root, which verify-blob also reads with --key.
 */
#define SOPT_VERIFIER_ARGS(T, F, root_help)                                                        \
	BERTH_OPT_STRING("key", 0, T, F.key, "PUB", "PEM public key (or certificate)"),            \
		BERTH_OPT_STRING("certificate-identity", 0, T, F.identity, "ID",                   \
				 "keyless: the certificate's SAN (exact)"),                        \
		BERTH_OPT_STRING("certificate-oidc-issuer", 0, T, F.issuer, "URL",                 \
				 "keyless: the OIDC issuer (exact)"),                              \
		BERTH_OPT_STRING("trusted-root", 0, T, F.root, "FILE", root_help),                 \
		BERTH_OPT_BOOL("insecure-ignore-sct", 0, T, F.ignore_sct, NULL,                    \
			       "keyless: accept a certificate without a valid\n"                   \
			       "embedded SCT")

/** --key, or all three keyless options; -1 (usage error printed) if neither. */
int sopt_verifier_check(const char *cmd, const sopt_verifier *v);

#endif
