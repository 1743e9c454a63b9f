/*
 * berth/api.h - access control for the server (P3): authentication of each
 * request, the authorization hook of the registry, the token service
 * (GET/POST /token, Docker registry token authentication and the OAuth2
 * password grant), the JSON admin API under /api/v1/ and the audit trail.
 *
 * Same request -> response style as berth/registry.h (berth_req in,
 * berth_resp out, no HTTP library types): the server calls
 *
 *   berth_api_authenticate(api, &req, &id, &refusal)  once per request
 *   berth_api_begin(api, &req, &op)                     /token, /api/v1/...
 *   berth_api_op_body(op, data, len)                    zero or more times
 *   berth_api_op_finish(op, &resp)                      the response
 *   berth_api_op_free(op)                               after it is sent
 *
 * and installs berth_api_registry_authz() into the registry. The model
 * (users, projects, members, robots, audit, failed logins) lives in
 * berth/meta.h; decisions are berth_auth_decide() of berth/auth.h. No
 * password, secret or token is ever logged or put in a message or body
 * other than the one answer that hands it out.
 */
#ifndef BERTH_API_H
#define BERTH_API_H

#include "berth/auth.h"
#include "berth/common.h"
#include "berth/meta.h"
#include "berth/registry.h"

#include <stdint.h>

#define BERTH_API_ROBOT_PERMS_MAX 32
#define BERTH_API_BODY_MAX (64 * 1024) /* admin API and POST /token bodies */
#define BERTH_API_THROTTLE_WINDOW 300  /* seconds */
#define BERTH_API_THROTTLE_ACCOUNT 5   /* failures per account in the window */
#define BERTH_API_THROTTLE_ADDRESS 20  /* failures per client address in the window */

/** Who made a request (set by berth_api_authenticate). */
typedef struct berth_identity {
	berth_principal principal; /* BERTH_PRINCIPAL_ANONYMOUS without credentials */
	int bearer;		   /* authenticated by a token: its access claims bound it */
	berth_token_claims claims; /* bearer only */
	berth_robot_perm perms[BERTH_API_ROBOT_PERMS_MAX]; /* robots only */
	size_t nperms;
	int robot_expired;
} berth_identity;

typedef struct berth_api_config {
	const char *issuer;  /* iss claim; default "berth" */
	const char *service; /* aud claim and the challenge's service; default "berth" */
	long expiration;     /* token lifetime in seconds; default 300 */
} berth_api_config;

typedef struct berth_api berth_api;
typedef struct berth_api_op berth_api_op;

/**
 * Create the access-control front over `meta` with token signing key `key`
 * (both borrowed, must outlive it). `cfg` may be NULL (defaults).
 */
int berth_api_new(berth_api **out, berth_meta *meta, const berth_token_key *key,
		  const berth_api_config *cfg) BERTH_WARN_UNUSED;
void berth_api_free(berth_api *a);

/**
 * First-start setup: the public project `library` and the system
 * administrator `admin` with `admin_password` (existing ones are kept).
 * BERTH_EINVALID if `admin` does not exist yet and admin_password is NULL
 * or empty, or the password is unusable (longer than 72 bytes).
 */
int berth_api_bootstrap(berth_api *a, const char *admin_password) BERTH_WARN_UNUSED;

/** The registry's authorization hook, bound to `a`; req->principal must be a berth_identity. */
void berth_api_registry_authz(berth_api *a, berth_registry_authz *out);

/**
 * Authenticate `req` from its Authorization header: none → anonymous;
 * Basic → a user (bcrypt) or robot `robot$<name>` (secret, expiry); Bearer →
 * a token of ours whose principal still exists. Failed logins are throttled
 * (per account and per address, checked before the password, also for
 * unknown accounts), counted and audited. Returns 0 with *refusal NULL and
 * `id` filled, or 0 with *refusal an op holding the answer (400/401 with an
 * OCI error body and a Bearer challenge, 429 with Retry-After); negative
 * only on OOM.
 */
int berth_api_authenticate(berth_api *a, const berth_req *req, berth_identity *id,
			   berth_api_op **refusal) BERTH_WARN_UNUSED;

/** 1 if `path` belongs to this module: /token or /api/v1[/...]. */
int berth_api_handles(const char *path);

/**
 * Start handling /token or /api/v1/... for req (req->principal: the
 * berth_identity from berth_api_authenticate). Always produces an op unless
 * OOM. A body larger than BERTH_API_BODY_MAX is refused (413).
 */
int berth_api_begin(berth_api *a, const berth_req *req, berth_api_op **out) BERTH_WARN_UNUSED;
int berth_api_op_wants_body(const berth_api_op *op);
/** Feed body bytes; non-zero once the op has failed. */
int berth_api_op_body(berth_api_op *op, const char *data, size_t len);
int berth_api_op_failed(const berth_api_op *op);
/** Produce the response (valid until berth_api_op_free). */
void berth_api_op_finish(berth_api_op *op, berth_resp *resp);
void berth_api_op_free(berth_api_op *op);

/**
 * Audit a registry request once its response is decided: manifest GET
 * (pull), manifest PUT (push), manifest or blob DELETE (delete); other
 * routes and 401 answers are not recorded. `route` is berth_resp.route.
 */
void berth_api_audit_registry(berth_api *a, const berth_req *req, const char *route,
			      const char *repository, const char *reference, int status);

#endif
