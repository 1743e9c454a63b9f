/*
 * berth/token.h - the Docker registry token (docs.docker.com registry token
 * authentication): its resource grammar (actions and scopes), its claims,
 * the compact JWS that carries them (ES256 with a libtrust-style `kid`),
 * and the signing key, loaded or created next to the server's data.
 *
 * Pure functions except for the key file; no state of its own. Secrets are
 * never logged nor put in error messages.
 */
#ifndef BERTH_TOKEN_H
#define BERTH_TOKEN_H

#include "berth/buf.h"
#include "berth/common.h"

#include <stdint.h>
#include <time.h>

/* ---- actions ---- */

#define BERTH_ACTION_PULL 0x1u
#define BERTH_ACTION_PUSH 0x2u
#define BERTH_ACTION_DELETE 0x4u
#define BERTH_ACTION_ADMIN 0x8u /* manage a project's members and settings */
#define BERTH_ACTION_ALL 0xfu
#define BERTH_ACTION_SCOPE                                                                         \
	(BERTH_ACTION_PULL | BERTH_ACTION_PUSH | BERTH_ACTION_DELETE) /* in scopes */

/**
 * "pull,push" / "*" → action bits; BERTH_EINVALID for unknown or empty
 * words. "*" means pull, push and delete (never admin).
 */
int berth_token_actions_parse(const char *s, size_t len, unsigned *out) BERTH_WARN_UNUSED;
/**
 * Action bits → "pull,push,delete" into buf (comma list, fixed order).
 * BERTH_EINVALID if bits other than pull/push/delete are set (admin is not
 * a scope action).
 */
int berth_token_actions_format(unsigned actions, struct berth_buf *out) BERTH_WARN_UNUSED;

/* ---- principal kinds (the token's private claim "berth.kind") ---- */

typedef enum {
	BERTH_PRINCIPAL_ANONYMOUS = 0,
	BERTH_PRINCIPAL_USER = 1,
	BERTH_PRINCIPAL_ROBOT = 2,
	BERTH_PRINCIPAL_SYSTEM =
		3 /* the server's own jobs (replication): see berth_auth_system_login */
} berth_principal_kind;

/* ---- scopes ---- */

typedef struct berth_scope {
	char type[32];	/* "repository" or "registry" */
	char name[256]; /* repository name, or "catalog" */
	unsigned actions;
} berth_scope;

/**
 * Parse one scope "repository:team/app:pull,push" or "registry:catalog:*".
 * The first ':' ends the type and the last ':' starts the actions (a
 * repository name never contains ':'). BERTH_EINVALID if malformed;
 * BERTH_EUNSUPPORTED for a well-formed scope of another resource type
 * (e.g. "repository(plugin)"), which token servers ignore. Actions are never
 * empty after a successful parse.
 */
int berth_token_scope_parse(const char *s, size_t len, berth_scope *out) BERTH_WARN_UNUSED;
/**
 * "type:name:actions" into buf. "registry" scopes holding pull, push and
 * delete are written with "*" (what Distribution checks for the catalog).
 */
int berth_token_scope_format(const berth_scope *s, struct berth_buf *out) BERTH_WARN_UNUSED;

/* ---- tokens (Docker registry token authentication, JWT ES256) ---- */

typedef struct berth_token_key berth_token_key;

/**
 * Load the EC P-256 signing key from `pem_path`, or create it (mode 0600,
 * atomically) if the file does not exist.
 */
int berth_token_key_load_or_create(berth_token_key **out, const char *pem_path) BERTH_WARN_UNUSED;
/** A fresh in-memory P-256 key (tests, fuzzers, ephemeral setups). */
int berth_token_key_generate(berth_token_key **out) BERTH_WARN_UNUSED;
/** A key from PEM text (PKCS#8 or traditional EC); must be EC P-256. */
int berth_token_key_from_pem(berth_token_key **out, const char *pem, size_t len) BERTH_WARN_UNUSED;
void berth_token_key_free(berth_token_key *k);
/** The key id: libtrust fingerprint of the public key (12 groups of 4 base32 chars). */
const char *berth_token_key_id(const berth_token_key *k);
/**
 * A 32-byte secret derived from the private key for `label`
 * (HMAC-SHA-256 keyed by the key's PKCS#8 PEM): every process holding the
 * same key file derives the same secret; nobody without the key can.
 */
int berth_token_key_derive(const berth_token_key *k, const char *label,
			   unsigned char out[32]) BERTH_WARN_UNUSED;

#define BERTH_TOKEN_MAX_ACCESS 16
#define BERTH_TOKEN_MAX_BYTES 8192 /* larger tokens are refused unparsed */

typedef struct berth_token_claims {
	char iss[256];
	char sub[256]; /* principal name */
	char aud[256]; /* the service */
	char jti[64];
	int64_t iat, nbf, exp;
	berth_principal_kind kind; /* private claim "berth.kind" */
	int64_t principal_id;	   /* private claim "berth.id" */
	int64_t generation;	   /* private claim "berth.gen": the account's generation */
	berth_scope access[BERTH_TOKEN_MAX_ACCESS];
	size_t naccess;
} berth_token_claims;

/**
 * Sign claims as a compact JWS (header {"typ":"JWT","alg":"ES256","kid":...}).
 * A fresh random jti is used when c->jti is empty. "registry" access
 * entries holding pull, push and delete carry ["*"]. *jwt is malloc'd.
 */
int berth_token_sign(const berth_token_key *k, const berth_token_claims *c,
		     char **jwt) BERTH_WARN_UNUSED;

/**
 * Verify a compact JWS: size cap, exactly three base64url parts, header alg
 * ES256 (anything else, "none" included, is refused) and kid matching the
 * key, a valid P-256 signature (raw r||s, 64 bytes), iss and aud as
 * expected (aud may be a string or an array holding it), exp > now,
 * nbf <= now + 5 s (clock skew), access claims well-formed, no "crit"
 * header. Both JSON objects are parsed with duplicate keys refused. `iss`
 * and `aud` must not be NULL.
 * Returns 0 with the claims, or BERTH_EDENIED with a reason safe to log.
 */
int berth_token_verify(const berth_token_key *k, const char *jwt, size_t len, const char *iss,
		       const char *aud, time_t now, berth_token_claims *out) BERTH_WARN_UNUSED;

#endif
