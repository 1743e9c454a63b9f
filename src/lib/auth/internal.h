/*
 * internal.h - what the files of the api module share: the api and op
 * structs, response helpers (api.c), logins and identities (authn.c),
 * decisions (authz.c), the token service (token.c) and the admin API
 * (admin.c).
 *
 * An op owns everything its response points to: header values come from
 * its pool, the body from its `out` buffer. The request body (`in`) may hold
 * passwords: it is wiped when the op is freed.
 */
#ifndef BERTH_AUTH_INTERNAL_H
#define BERTH_AUTH_INTERNAL_H

#include "berth/auth.h"
#include "util/buf.h"
#include "util/pool.h"

#include <jansson.h>
#include <pthread.h>
#include <time.h>

/* The cache of successful Basic verifications (cache.c). */
#define BERTH_AUTH__MAC_LEN 32
typedef struct berth_auth__cache berth_auth__cache;

struct berth_auth {
	berth_meta *meta;
	const berth_token_key *key;
	char issuer[256];
	char service[256];
	long expiration;
	berth_auth__cache *cache; /* NULL: off */
	char system_password[65]; /* hex of 32 random bytes, made by berth_auth_new */
	/*
	 * Serialises this process's audit rows: without it, concurrent pulls
	 * race for SQLite's write lock and the losers sleep in its busy handler
	 * (1, 2, 5 ... 100 ms), which made manifest GETs under load wait tens of
	 * milliseconds (bench/sign); a mutex wakes the next writer at once.
	 */
	pthread_mutex_t audit_lock;
};

typedef struct berth_auth_op berth_auth_op;

/* ---- verification cache (cache.c) ---- */

/** A cache for `ttl` seconds (0: *out = NULL, no cache). */
int berth_auth__cache_new(berth_auth__cache **out, long ttl) BERTH_WARN_UNUSED;
void berth_auth__cache_free(berth_auth__cache *c);
/** The keyed hash (HMAC-SHA256, per-process key) of name, password and stored hash. */
int berth_auth__cache_mac(berth_auth *a, const char *name, const char *password, const char *hash,
			  unsigned char mac[BERTH_AUTH__MAC_LEN]);
/** 1 if `mac` was put less than the ttl ago (constant-time comparison). */
int berth_auth__cache_hit(berth_auth *a, const unsigned char mac[BERTH_AUTH__MAC_LEN]);
void berth_auth__cache_put(berth_auth *a, const unsigned char mac[BERTH_AUTH__MAC_LEN]);

typedef void (*berth_auth__finish_fn)(berth_auth_op *op);

#define BERTH_AUTH_SCOPES_MAX 64

/* The access-control exchange: `x` first, so that an exchange of ours is an op. */
struct berth_auth_op {
	berth_exchange x;
	berth_auth *api;
	berth_pool pool;
	berth_resp resp;
	berth_buf out; /* response body */
	berth_buf in;  /* request body, capped at BERTH_AUTH_BODY_MAX */
	int failed;
	int is_head; /* a HEAD, routed as its GET */
	int wants_body;
	berth_auth__finish_fn on_finish;

	/* request facts, copied into the pool */
	const char *method;
	const char *path;
	const char *remote_addr;
	const char *base_url;	  /* without a trailing '/'; may be "" */
	const berth_identity *id; /* borrowed from the server; never NULL */
	const char *q_limit, *q_before;
};

/* ---- responses (api.c) ---- */

void berth_auth__header(berth_auth_op *op, const char *name, const char *fmt, ...)
	BERTH_PRINTF(3, 4);
/** OCI error body {"errors":[{"code","message","detail":null}]}; marks the op failed. */
void berth_auth__error(berth_auth_op *op, int status, const char *code, const char *fmt, ...)
	BERTH_PRINTF(4, 5);
/** 500 UNKNOWN with a generic message (the detail goes to the caller's log only). */
void berth_auth__internal(berth_auth_op *op);
/** 401 UNAUTHORIZED with the Bearer challenge (no scope). */
void berth_auth__unauthorized(berth_auth_op *op, const char *message);
/** 429 TOOMANYREQUESTS with Retry-After. */
void berth_auth__throttled(berth_auth_op *op, long retry_after);
/** Answer `status` with the JSON text of `v` (stolen: decref'd here). */
void berth_auth__json(berth_auth_op *op, int status, json_t *v);
void berth_auth__empty(berth_auth_op *op, int status);
/** "<base>/token" into the op's pool. */
const char *berth_auth__realm(berth_auth_op *op);
/** A fresh op not tied to a route (refusals of berth_auth_authenticate). */
berth_auth_op *berth_auth__op_new(berth_auth *a, const berth_req *req);
/** Release an op (secrets in its buffers wiped); NULL is a no-op. */
void berth_auth__op_free(berth_auth_op *op);
/** RFC 3339 UTC time into out (>= 21 bytes). */
void berth_auth__time(time_t t, char *out, size_t len);

/* ---- audit (api.c) ---- */

void berth_auth__audit(berth_auth *a, const char *who, const char *action, const char *resource,
		       const char *address, const char *result);
/** Longest audit field kept (bytes of input; escaped it may be 4 times longer). */
#define BERTH_AUTH_AUDIT_FIELD_MAX 2048
/**
 * A copy of `s` (NULL: "") that is valid UTF-8 without control characters:
 * printable ASCII and well-formed UTF-8 kept, every other byte and the
 * backslash written as \xHH. Malloc'd; NULL when out of memory.
 */
char *berth_auth__escape(const char *s);
/** 1 if `s` is valid UTF-8 without control characters (storable and listable as is). */
int berth_auth__printable(const char *s);
/** The audit "who" of an identity: user name, "robot$x" or "anonymous". */
const char *berth_auth__who(const berth_identity *id);

/* ---- logins (authn.c) ---- */

/**
 * Log in with a name and password (users) or "robot$<name>" and secret.
 * 0 with `id` filled; BERTH_EDENIED for wrong credentials (failure counted
 * and audited); BERTH_EBUSY when throttled (checked first); BERTH_EIO etc.
 */
int berth_auth__login(berth_auth *a, const char *user, const char *password, const char *address,
		      berth_identity *id) BERTH_WARN_UNUSED;
/** Parse a robot's permissions JSON into id->perms. */
int berth_auth__robot_perms(const char *json, berth_identity *id) BERTH_WARN_UNUSED;

/* ---- decisions (authz.c) ---- */

/**
 * What the identity's principal may do on `repository` (NULL: registry
 * level) now, from the database, ignoring token claims. *missing (optional)
 * is set to 1 if the repository's project does not exist.
 */
unsigned berth_auth__decide(berth_auth *a, const berth_identity *id, const char *repository,
			    unsigned wanted, int *missing);
/** 1 if the identity is a system administrator (users only). */
int berth_auth__is_sysadmin(const berth_identity *id);

/* ---- token service (token.c) ---- */

void berth_auth__token_get(berth_auth_op *op, const berth_req *req);
void berth_auth__token_post(berth_auth_op *op);

/* ---- admin API (admin.c) ---- */

void berth_auth__admin(berth_auth_op *op);

/* ---- names ---- */

/** User names: 1-255 bytes of [A-Za-z0-9._@-], not starting with '.' or '-'. */
int berth_auth__user_name_valid(const char *s);
/** Project and robot names: a lowercase path component of the OCI name grammar, <= 64 bytes. */
int berth_auth__component_valid(const char *s);

#endif
