/*
 * signopts.h - what the signing commands (key, sign-blob, verify-blob, sign,
 * verify, attest, verify-attestation, attach, download, tree) share: key
 * loading with the password from COSIGN_PASSWORD or a prompt, capped file
 * reads, -a K=V annotations, and file writes.
 */
#ifndef BERTH_CLI_SIGNOPTS_H
#define BERTH_CLI_SIGNOPTS_H

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

/** Annotations from -a/--annotations K=V (up to SOPT_ANN_MAX), borrowed from argv. */
#define SOPT_ANN_MAX 64
typedef struct sopt_annotations {
	berth_sign_annotation a[SOPT_ANN_MAX];
	char *buf[SOPT_ANN_MAX];
	size_t n;
} sopt_annotations;

/**
 * If argv[*i] is -a/--annotations K=V, record it and return 1; 0 if it is
 * another argument; -1 (printed) on a bad value.
 */
int sopt_annotation_arg(const char *cmd, int argc, char **argv, int *i, sopt_annotations *an);

void sopt_annotations_dispose(sopt_annotations *an);

/**
 * --tlog-upload for image commands: 0 when not asked for; otherwise needs
 * --rekor-url, and fails clearly (image signatures are offline only in
 * this build; sign-blob uploads). Prints errors.
 */
int sopt_tlog_check(const char *cmd, int tlog, const char *rekor);

#endif
