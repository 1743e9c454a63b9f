/*
 * berth/cred.h - credentials: password hashes (bcrypt via libcrypt), random
 * secrets for robot accounts, htpasswd import, and the HTTP grammars that
 * carry credentials (Basic and Bearer Authorization headers, the Bearer
 * WWW-Authenticate challenge).
 *
 * No state of its own, no I/O. Passwords are never logged nor put in error
 * messages, and are wiped (explicit_bzero) from berth's own buffers after use.
 */
#ifndef BERTH_CRED_H
#define BERTH_CRED_H

#include "berth/buf.h"
#include "berth/common.h"
#include "berth/token.h"

#include <stddef.h>

/* ---- passwords ---- */

#define BERTH_CRED_HASH_MAX 128
#define BERTH_CRED_PASSWORD_MAX 1024 /* longer passwords never verify */
#define BERTH_CRED_BCRYPT_MAX 72     /* bcrypt reads no more; longer ones are refused by _hash */
#define BERTH_CRED_HTPASSWD_MAX ((size_t)64 << 20) /* an htpasswd file's text */

/**
 * bcrypt ($2y$, cost 10) hash of `password` with a fresh salt.
 * BERTH_EINVALID for an empty password or one longer than
 * BERTH_CRED_BCRYPT_MAX bytes (bcrypt would silently ignore the rest).
 */
int berth_cred_password_hash(char out[BERTH_CRED_HASH_MAX], const char *password) BERTH_WARN_UNUSED;

/**
 * 0 if `password` matches `hash` ($2y$/$2a$/$2b$ bcrypt; also $5$/$6$
 * SHA-crypt as htpasswd may hold), BERTH_EDENIED otherwise. Comparison is
 * constant-time.
 */
int berth_cred_password_verify(const char *hash, const char *password) BERTH_WARN_UNUSED;

/**
 * Spend the time of one verification without a real hash, so that an
 * unknown user costs what a wrong password costs.
 */
void berth_cred_password_burn(const char *password);

/**
 * Random secret for robot accounts: url-safe (base64url alphabet) text of
 * `len`-1 chars, 6 bits of entropy each, NUL-terminated. 2 <= len <= 1024.
 */
int berth_cred_random_secret(char *out, size_t len) BERTH_WARN_UNUSED;

/* ---- htpasswd ---- */

/** Called once per entry; a non-zero return stops the parse and is returned. */
typedef int (*berth_htpasswd_cb)(void *ctx, const char *user, const char *hash);

/**
 * Parse htpasswd text ("user:hash" lines; blank lines and '#' comments
 * skipped). Only bcrypt and SHA-crypt hashes are accepted: a line with
 * another scheme (MD5 $apr1$, crypt, {SHA}) fails the whole parse with
 * BERTH_EUNSUPPORTED naming the line number, so nothing is half-imported:
 * every line is checked before the first callback. Messages name the line,
 * never the hash. Duplicate users are left to the caller.
 */
int berth_cred_htpasswd_parse(const char *text, size_t len, berth_htpasswd_cb cb,
			      void *ctx) BERTH_WARN_UNUSED;

/* ---- HTTP header grammars ---- */

/**
 * Parse "Basic base64(user:pass)" (scheme case-insensitive, one or more
 * spaces, padded standard base64, optional trailing spaces/tabs). The first
 * ':' splits: the user may not contain ':', the password may. Neither may be
 * a control character (RFC 7617); the user may not be empty. User and
 * password are written NUL-terminated; BERTH_EINVALID if malformed or too
 * long for the buffers (both are wiped then).
 */
int berth_cred_parse_basic(const char *header, char *user, size_t user_len, char *pass,
			   size_t pass_len) BERTH_WARN_UNUSED;

/**
 * Parse "Bearer <token68>" (scheme case-insensitive, optional trailing
 * spaces/tabs): *token points into header. BERTH_EINVALID if malformed or
 * longer than BERTH_TOKEN_MAX_BYTES.
 */
int berth_cred_parse_bearer(const char *header, const char **token,
			    size_t *token_len) BERTH_WARN_UNUSED;

/**
 * Build a WWW-Authenticate value: Bearer realm="..",service="..",scope=".."
 * (scopes space-separated), with error="insufficient_scope" when `error` is
 * given. `service` may be NULL. Quotes and backslashes in values are
 * escaped; control characters (CR, LF, ...) are refused with BERTH_EINVALID.
 */
int berth_cred_challenge(struct berth_buf *out, const char *realm, const char *service,
			 const berth_scope *scopes, size_t nscopes,
			 const char *error) BERTH_WARN_UNUSED;

#endif
