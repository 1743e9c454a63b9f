/*
 * berth/auth.h - authentication and authorization primitives: password
 * hashes (bcrypt via libcrypt), htpasswd import, the Docker registry token
 * format (JWT signed ES256 with a libtrust-style `kid`), scopes, the
 * Authorization / WWW-Authenticate header grammars, and the decision of what
 * a principal may do in a project.
 *
 * This module holds no state of its own and does no I/O except loading or
 * creating the signing key file: users, projects, members, robots and the
 * audit log live in berth/meta.h; the server gathers the facts and asks
 * berth_auth_decide(). Secrets are never logged nor put in error messages,
 * and are wiped (OPENSSL_cleanse) from berth's own buffers after use.
 */
#ifndef BERTH_AUTH_H
#define BERTH_AUTH_H

#include "berth/common.h"

#include <stdint.h>
#include <time.h>

struct berth_buf;

/* ---- actions and roles ---- */

#define BERTH_ACTION_PULL 0x1u
#define BERTH_ACTION_PUSH 0x2u
#define BERTH_ACTION_DELETE 0x4u
#define BERTH_ACTION_ADMIN 0x8u /* manage a project's members and settings */
#define BERTH_ACTION_ALL 0xfu

typedef enum {
	BERTH_ROLE_NONE = 0,
	BERTH_ROLE_GUEST = 1,	   /* pull */
	BERTH_ROLE_DEVELOPER = 2,  /* pull, push */
	BERTH_ROLE_MAINTAINER = 3, /* pull, push, delete */
	BERTH_ROLE_ADMIN = 4	   /* everything in the project */
} berth_role;

/** Actions a project role grants. */
unsigned berth_auth_role_actions(berth_role r);
/** "guest" ... "admin" → role; BERTH_EINVALID otherwise. */
int berth_auth_role_parse(const char *s, berth_role *out) BERTH_WARN_UNUSED;
const char *berth_auth_role_name(berth_role r);

/**
 * "pull,push" / "*" → action bits; BERTH_EINVALID for unknown or empty
 * words. "*" means pull, push and delete (never admin).
 */
int berth_auth_actions_parse(const char *s, size_t len, unsigned *out) BERTH_WARN_UNUSED;
/**
 * Action bits → "pull,push,delete" into buf (comma list, fixed order).
 * BERTH_EINVALID if bits other than pull/push/delete are set (admin is not
 * a scope action).
 */
int berth_auth_actions_format(unsigned actions, struct berth_buf *out) BERTH_WARN_UNUSED;

/* ---- principals and decisions ---- */

typedef enum {
	BERTH_PRINCIPAL_ANONYMOUS = 0,
	BERTH_PRINCIPAL_USER = 1,
	BERTH_PRINCIPAL_ROBOT = 2
} berth_principal_kind;

typedef struct berth_principal {
	berth_principal_kind kind;
	int64_t id;
	char name[256];
	int sysadmin; /* users only */
} berth_principal;

/** A robot permission: a project, optionally narrowed to one repository. */
typedef struct berth_robot_perm {
	char project[256];
	char repository[256]; /* full repository name, or "" for the whole project */
	unsigned actions;
} berth_robot_perm;

/** What the server knows about the target of a request. */
typedef struct berth_auth_facts {
	const char *repository; /* full name "project/path", or NULL for registry-level */
	int project_exists;
	int project_public;
	berth_role role;	       /* the user's role in the project (users only) */
	const berth_robot_perm *perms; /* robots only */
	size_t nperms;
	int robot_expired; /* robots only */
} berth_auth_facts;

/**
 * The subset of `wanted` actions the principal may perform on the target.
 * System administrators may do everything; anonymous callers may pull from
 * public projects; members get their role's actions (and pull on public
 * projects); robots, unless expired, get their matching permissions and
 * pull on public projects (a
 * permission matches when its project is the repository's project and its
 * repository is "" or the repository itself; robots never get admin).
 * Nobody but a system administrator gets anything on a project that does
 * not exist or on a registry-level target (repository NULL): callers filter
 * the catalog per repository themselves.
 */
unsigned berth_auth_decide(const berth_principal *p, const berth_auth_facts *f, unsigned wanted);

/**
 * The project of a repository name: its first path component (into out).
 * The name must be valid (berth/ref.h grammar) and have at least two
 * components ("project/repo"): as in Harbor, every repository lives in a
 * project. BERTH_EINVALID otherwise, BERTH_ETOOBIG if out is too small.
 */
int berth_auth_project_of(const char *repository, char *out, size_t out_len) BERTH_WARN_UNUSED;

/* ---- passwords ---- */

#define BERTH_AUTH_HASH_MAX 128
#define BERTH_AUTH_PASSWORD_MAX 1024 /* longer passwords never verify */
#define BERTH_AUTH_BCRYPT_MAX 72     /* bcrypt reads no more; longer ones are refused by _hash */

/**
 * bcrypt ($2y$, cost 10) hash of `password` with a fresh salt.
 * BERTH_EINVALID for an empty password or one longer than
 * BERTH_AUTH_BCRYPT_MAX bytes (bcrypt would silently ignore the rest).
 */
int berth_auth_password_hash(char out[BERTH_AUTH_HASH_MAX], const char *password) BERTH_WARN_UNUSED;

/**
 * 0 if `password` matches `hash` ($2y$/$2a$/$2b$ bcrypt; also $5$/$6$
 * SHA-crypt as htpasswd may hold), BERTH_EDENIED otherwise. Comparison is
 * constant-time.
 */
int berth_auth_password_verify(const char *hash, const char *password) BERTH_WARN_UNUSED;

/**
 * Spend the time of one verification without a real hash, so that an
 * unknown user costs what a wrong password costs.
 */
void berth_auth_password_burn(const char *password);

/**
 * Random secret for robot accounts: url-safe (base64url alphabet) text of
 * `len`-1 chars, 6 bits of entropy each, NUL-terminated. 2 <= len <= 1024.
 */
int berth_auth_random_secret(char *out, size_t len) BERTH_WARN_UNUSED;

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
int berth_auth_htpasswd_parse(const char *text, size_t len, berth_htpasswd_cb cb,
			      void *ctx) BERTH_WARN_UNUSED;

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
int berth_auth_scope_parse(const char *s, size_t len, berth_scope *out) BERTH_WARN_UNUSED;
/**
 * "type:name:actions" into buf. "registry" scopes holding pull, push and
 * delete are written with "*" (what Distribution checks for the catalog).
 */
int berth_auth_scope_format(const berth_scope *s, struct berth_buf *out) BERTH_WARN_UNUSED;

/* ---- tokens (Docker registry token authentication, JWT ES256) ---- */

typedef struct berth_token_key berth_token_key;

/**
 * Load the EC P-256 signing key from `pem_path`, or create it (mode 0600,
 * atomically) if the file does not exist.
 */
int berth_auth_key_load_or_create(berth_token_key **out, const char *pem_path) BERTH_WARN_UNUSED;
/** A fresh in-memory P-256 key (tests, fuzzers, ephemeral setups). */
int berth_auth_key_generate(berth_token_key **out) BERTH_WARN_UNUSED;
/** A key from PEM text (PKCS#8 or traditional EC); must be EC P-256. */
int berth_auth_key_from_pem(berth_token_key **out, const char *pem, size_t len) BERTH_WARN_UNUSED;
void berth_auth_key_free(berth_token_key *k);
/** The key id: libtrust fingerprint of the public key (12 groups of 4 base32 chars). */
const char *berth_auth_key_id(const berth_token_key *k);

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
	berth_scope access[BERTH_TOKEN_MAX_ACCESS];
	size_t naccess;
} berth_token_claims;

/**
 * Sign claims as a compact JWS (header {"typ":"JWT","alg":"ES256","kid":...}).
 * A fresh random jti is used when c->jti is empty. "registry" access
 * entries holding pull, push and delete carry ["*"]. *jwt is malloc'd.
 */
int berth_auth_token_sign(const berth_token_key *k, const berth_token_claims *c,
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
int berth_auth_token_verify(const berth_token_key *k, const char *jwt, size_t len, const char *iss,
			    const char *aud, time_t now, berth_token_claims *out) BERTH_WARN_UNUSED;

/* ---- HTTP header grammars ---- */

/**
 * Parse "Basic base64(user:pass)" (scheme case-insensitive, one or more
 * spaces, padded standard base64, optional trailing spaces/tabs). The first
 * ':' splits: the user may not contain ':', the password may. Neither may be
 * a control character (RFC 7617); the user may not be empty. User and
 * password are written NUL-terminated; BERTH_EINVALID if malformed or too
 * long for the buffers (both are wiped then).
 */
int berth_auth_parse_basic(const char *header, char *user, size_t user_len, char *pass,
			   size_t pass_len) BERTH_WARN_UNUSED;

/**
 * Parse "Bearer <token68>" (scheme case-insensitive, optional trailing
 * spaces/tabs): *token points into header. BERTH_EINVALID if malformed or
 * longer than BERTH_TOKEN_MAX_BYTES.
 */
int berth_auth_parse_bearer(const char *header, const char **token,
			    size_t *token_len) BERTH_WARN_UNUSED;

/**
 * Build a WWW-Authenticate value: Bearer realm="..",service="..",scope=".."
 * (scopes space-separated), with error="insufficient_scope" when `error` is
 * given. `service` may be NULL. Quotes and backslashes in values are
 * escaped; control characters (CR, LF, ...) are refused with BERTH_EINVALID.
 */
int berth_auth_challenge(struct berth_buf *out, const char *realm, const char *service,
			 const berth_scope *scopes, size_t nscopes,
			 const char *error) BERTH_WARN_UNUSED;

#endif
