/*
 * berth/auth.h - the server's access control: the authorization model
 * (project roles, principals, berth_auth_decide()), authentication of each
 * request, the registry's authorization hook, the token service (GET/POST
 * /token, Docker registry token authentication and the OAuth2 password
 * grant), the JSON admin API under /api/v1/ and the audit trail.
 *
 * Same request -> response style as berth/registry.h (berth_req in,
 * berth_resp out, no HTTP library types), and the same lifecycle: the
 * server calls
 *
 *   berth_auth_authenticate(api, &req, &id, &refusal)  once per request
 *   berth_auth_begin(api, &req, &x)                      /token, /api/v1/...
 *
 * and then drives the exchange (a refusal, or the one begun) with the
 * berth_exchange_* calls of berth/registry.h, as it does the registry's.
 *
 * and installs berth_auth_registry_authz() into the registry. The model
 * (users, projects, members, robots, audit, failed logins) lives in
 * berth/meta.h; decisions are berth_auth_decide() of berth/auth.h. No
 * password, secret or token is ever logged or put in a message or body
 * other than the one answer that hands it out.
 */
#ifndef BERTH_AUTH_H
#define BERTH_AUTH_H

#include "berth/common.h"
#include "berth/cred.h"
#include "berth/meta.h"
#include "berth/registry.h"
#include "berth/token.h"

#include <stdint.h>

/* ---- roles ---- */

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

/* ---- principals and decisions ---- */

typedef struct berth_principal {
	berth_principal_kind kind;
	int64_t id;
	char name[256];
	int sysadmin;	    /* users only */
	int64_t generation; /* the account's generation (tokens carry it) */
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

/* ---- the access-control front of the server ---- */

#define BERTH_AUTH_ROBOT_PERMS_MAX 32
#define BERTH_AUTH_BODY_MAX (64 * 1024) /* admin API and POST /token bodies */
/*
 * Throttling of failed logins (docs/access-control.md): failures counted
 * within the window per (account, address) pair and per address; past the
 * free attempts, each further attempt waits BASE << (failures - free)
 * seconds after the last failure, at most MAX_WAIT. An address that has not
 * failed is never throttled.
 */
#define BERTH_AUTH_THROTTLE_WINDOW 900	 /* seconds failures are remembered for */
#define BERTH_AUTH_THROTTLE_PAIR 5	 /* free failures per (account, address) */
#define BERTH_AUTH_THROTTLE_ADDRESS 20	 /* free failures per client address */
#define BERTH_AUTH_THROTTLE_BASE 30	 /* first wait, seconds */
#define BERTH_AUTH_THROTTLE_MAX_WAIT 900 /* longest wait, seconds */

/** Who made a request (set by berth_auth_authenticate). */
typedef struct berth_identity {
	berth_principal principal; /* BERTH_PRINCIPAL_ANONYMOUS without credentials */
	int bearer;		   /* authenticated by a token: its access claims bound it */
	berth_token_claims claims; /* bearer only */
	berth_robot_perm perms[BERTH_AUTH_ROBOT_PERMS_MAX]; /* robots only */
	size_t nperms;
	int robot_expired;
	long retry_after; /* throttled logins: seconds until the next attempt may be made */
} berth_identity;

typedef struct berth_auth_config {
	const char *issuer;	       /* iss claim; default "berth" */
	const char *service;	       /* aud claim and the challenge's service; default "berth" */
	long expiration;	       /* token lifetime in seconds; default 300 */
	long credential_cache_seconds; /* successful Basic verifications kept; 0 = none */
} berth_auth_config;

typedef struct berth_auth berth_auth;

/**
 * Create the access-control front over `meta` with token signing key `key`
 * (both borrowed, must outlive it). `cfg` may be NULL (defaults).
 */
int berth_auth_new(berth_auth **out, berth_meta *meta, const berth_token_key *key,
		   const berth_auth_config *cfg) BERTH_WARN_UNUSED;
void berth_auth_free(berth_auth *a);

/** The server's own account, for jobs that call this server over loopback (replication). */
#define BERTH_AUTH_SYSTEM_USER "berth$system"

/**
 * The password of BERTH_AUTH_SYSTEM_USER, never stored: derived from the
 * token signing key by berth_auth_new, so every process sharing the key
 * file (several processes behind a load balancer) accepts it; random, valid
 * in this process only, when there is no key. The account is a system
 * administrator. Borrowed; lives as long as `a`.
 */
const char *berth_auth_system_password(const berth_auth *a);

/**
 * First-start setup: the public project `library` and the system
 * administrator `admin` with `admin_password` (existing ones are kept).
 * BERTH_EINVALID if `admin` does not exist yet and admin_password is NULL
 * or empty, or the password is unusable (longer than 72 bytes).
 */
int berth_auth_bootstrap(berth_auth *a, const char *admin_password) BERTH_WARN_UNUSED;

/** The registry's authorization hook, bound to `a`; req->principal must be a berth_identity. */
void berth_auth_registry_authz(berth_auth *a, berth_registry_authz *out);

/**
 * Authenticate `req` from its Authorization header: none → anonymous;
 * Basic → a user (bcrypt) or robot `robot$<name>` (secret, expiry); Bearer →
 * a token of ours whose principal still exists. Failed logins are throttled
 * (per account and per address, checked before the password, also for
 * unknown accounts), counted and audited. Returns 0 with *refusal NULL and
 * `id` filled, or 0 with *refusal an exchange holding the answer (400/401
 * with an OCI error body and a Bearer challenge, 429 with Retry-After;
 * the caller frees it); negative only on OOM.
 */
int berth_auth_authenticate(berth_auth *a, const berth_req *req, berth_identity *id,
			    berth_exchange **refusal) BERTH_WARN_UNUSED;

/** 1 if `path` belongs to this module: /token or /api/v1[/...]. */
int berth_auth_handles(const char *path);

/**
 * Start handling /token or /api/v1/... for req (req->principal: the
 * berth_identity from berth_auth_authenticate). Always produces an exchange
 * unless OOM; the caller frees it. A body larger than BERTH_AUTH_BODY_MAX is
 * refused (413).
 */
int berth_auth_begin(berth_auth *a, const berth_req *req, berth_exchange **out) BERTH_WARN_UNUSED;

/**
 * Audit a registry request once its response is decided: manifest GET
 * (pull), manifest PUT (push), manifest or blob DELETE (delete); other
 * routes and 401 answers are not recorded. `route` is berth_resp.route.
 */
void berth_auth_audit_registry(berth_auth *a, const berth_req *req, const char *route,
			       const char *repository, const char *reference, int status);

#endif
