/*
 * internal.h - shared by the files of src/lib/client:
 *   client.c     the client object, curl handle pool, the request engine
 *                (retries, auth, redirects, error mapping)
 *   auth.c       WWW-Authenticate parsing, the Bearer token flow and cache
 *   tls.c        per-registry certificate directories
 *   manifests.c  manifest GET/HEAD/PUT/DELETE, tags, referrers
 *   referrers.c  the walk over a subject's referrers that copies carry along
 *   blobs.c      blob HEAD/GET/mount/push
 *   creds.c      docker config.json / containers auth.json / credential helpers
 */
#ifndef BERTH_CLIENT_INTERNAL_H
#define BERTH_CLIENT_INTERNAL_H

#include "berth/client.h"
#include "util/buf.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define BERTH_CLIENT__POOL_MAX 16
#define BERTH_CLIENT__ERRBODY_MAX (64 * 1024)
#define BERTH_CLIENT__HDR_MAX 2048
#define BERTH_CLIENT__MAX_REDIRECTS 5
#define BERTH_CLIENT__BUF_POOL 8

/* ---- WWW-Authenticate ---- */

#define BERTH_CLIENT__MAX_CHALLENGES 4
#define BERTH_CLIENT__MAX_PARAMS 8

typedef struct berth_client__challenge {
	char scheme[32]; /* "basic", "bearer" (lowercased) */
	size_t nparams;
	struct {
		char name[32]; /* lowercased */
		char value[512];
	} params[BERTH_CLIENT__MAX_PARAMS];
} berth_client__challenge;

/**
 * Parse a WWW-Authenticate value into up to `max` challenges (quoted values
 * may hold commas and escaped quotes). Returns the number parsed (0 if none
 * is usable). Over-long names/values are truncated, never overflowed.
 */
size_t berth_client__parse_challenges(const char *value, berth_client__challenge *out, size_t max);

/** A parameter of a challenge (case-insensitive name), or NULL. */
const char *berth_client__challenge_param(const berth_client__challenge *ch, const char *name);

/* ---- tokens ---- */

typedef struct berth_client__token {
	char *scope; /* "" for no scope */
	char *token;
	time_t expires;
	struct berth_client__token *next;
} berth_client__token;

enum { AUTH_NONE = 0, AUTH_BASIC, AUTH_BEARER };

struct berth_client {
	char *host;	     /* as given, e.g. "docker.io" or "127.0.0.1:5000" */
	char *api_host;	     /* where requests go: "registry-1.docker.io" */
	char *base_url;	     /* "https://registry-1.docker.io" */
	char *http_url;	     /* "http://registry-1.docker.io" */
	atomic_int use_http; /* switched to http_url (tls_verify=0 and no TLS there) */
	int tls_verify;
	int plain_forced;
	int loopback;
	char *user_agent;
	char *auth_file;
	int retries;
	long timeout;
	size_t max_manifest;

	/* TLS material found in the cert dirs */
	char *ca_blob; /* system bundle + extra CAs, or NULL */
	size_t ca_blob_len;
	char *client_cert;
	char *client_key;

	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

	pthread_mutex_t pool_lock;
	CURL *pool[BERTH_CLIENT__POOL_MAX];
	size_t npool;

	pthread_mutex_t auth_lock;
	int creds_loaded; /* lookup done (found or not) */
	char *user;	  /* may be NULL */
	char *pass;
	int auth_mode; /* AUTH_* learned from challenges */
	char *realm;
	char *service;
	berth_client__token *tokens;
	atomic_int no_single_post;  /* the registry ignored POST ?digest= once */
	atomic_int single_post_ok;  /* the registry stored a blob from POST ?digest= */
	pthread_mutex_t probe_lock; /* held by the push that learns which it is */

	/* Push buffers kept for reuse (see berth_client__buf_get). */
	pthread_mutex_t buf_lock;
	struct {
		char *p;
		size_t cap;
	} bufs[BERTH_CLIENT__BUF_POOL];
	size_t nbufs;
};

/**
 * A buffer of at least `size` bytes for a push's chunk in flight; its
 * capacity in *cap. Large buffers are recycled between pushes of one
 * client: a fresh multi-MiB allocation per blob costs a page fault and a
 * zeroed page for every 4 KiB. NULL when out of memory.
 */
char *berth_client__buf_get(berth_client *c, size_t size, size_t *cap);
/** Give back a buffer from berth_client__buf_get (NULL is ignored). */
void berth_client__buf_put(berth_client *c, char *p, size_t cap);

/* ---- the request engine ---- */

typedef int (*berth_client__sink_fn)(void *ctx, const void *data, size_t len);

typedef struct berth_client__req {
	const char *method; /* GET HEAD PUT POST PATCH DELETE */
	const char *url;    /* absolute, or a path appended to base_url */
	const char *scope;  /* token scope(s), space separated; NULL = none */
	const char *accept;
	const char *content_type;
	const char *content_range;
	const void *body; /* request body (replayable), or NULL */
	size_t body_len;  /* body length (also for read_fn bodies) */
	/* or a streamed body: read_fn returns a count or a negative BERTH_E*
	 * (the request then fails with it); seek_fn(ctx, 0) starts it over. */
	long (*read_fn)(void *ctx, char *buf, size_t max);
	int (*seek_fn)(void *ctx, uint64_t off);
	void *read_ctx;
	int has_body;		/* send a body even if empty (PUT/POST/PATCH) */
	int follow;		/* follow redirects (GET/HEAD of blobs) */
	int expect_continue;	/* send "Expect: 100-continue": the body goes only
				 * once the server asks for it */
	int no_retry;		/* caller handles transient failures itself */
	int no_auth;		/* do not send registry credentials (token endpoint) */
	const char *basic_user; /* explicit Basic credentials (token endpoint) */
	const char *basic_pass;
	uint64_t range_from; /* >0: ask for bytes from here (resumed GET) */

	/* response: 2xx bodies go to `sink` or `body` (capped); others are kept small */
	berth_client__sink_fn sink;
	void *sink_ctx;
	berth_buf *body_out;
	const char *body_what; /* "manifest" etc, for the cap message */

	/* results */
	long status;
	int sink_rc;   /* what the sink returned if it aborted */
	int net_error; /* the failure was the connection's (curl) */
	int too_big;
	uint64_t delivered; /* 2xx bytes handed to sink/body */
	char location[BERTH_CLIENT__HDR_MAX];
	char content_type_out[256];
	char digest[BERTH_DIGEST_MAX];
	char range[128];
	char content_range_out[128];
	char www_auth[BERTH_CLIENT__HDR_MAX];
	char link[BERTH_CLIENT__HDR_MAX];
	char retry_after[32];
	int64_t content_length;
	char final_url[BERTH_CLIENT__HDR_MAX]; /* after redirects */
	berth_buf errbody;
} berth_client__req;

void berth_client__req_init(berth_client__req *r, const char *method, const char *url);
void berth_client__req_dispose(berth_client__req *r);

/**
 * Perform a request with retries (transient failures), the auth challenge
 * flow and (if r->follow) redirects. Returns 0 when a response was received
 * (any status: look at r->status) or a negative code for a failure that has
 * no response (connection, cap exceeded, sink abort), with the message set.
 */
int berth_client__do(berth_client *c, berth_client__req *r) BERTH_WARN_UNUSED;

/** What a non-success response said (berth_client__fault_read). */
typedef struct berth_client__fault {
	int rc;		   /* BERTH_E* code of the status (and, for 400, of the OCI code) */
	char code[64];	   /* the first OCI error's code, "" if none */
	char message[512]; /* its message, "" if none; control characters blanked */
} berth_client__fault;

/** Read r's status and error body (OCI {"errors":[...]}, any other body ignored). */
void berth_client__fault_read(const berth_client__req *r, berth_client__fault *out);

/**
 * Map a non-success response to a BERTH_E* code with the registry's error
 * message: "registry <host>: <CODE>: <message>". `what` names the object.
 */
int berth_client__http_error(berth_client *c, const berth_client__req *r, const char *what);

/** Resolve `ref` (absolute or relative URL) against `base`; malloc'd, or NULL. */
char *berth_client__resolve(const char *base, const char *ref);

/** "repository:<repo>:pull" or ":pull,push" into a malloc'd string. */
char *berth_client__scope(const char *repo, int push);

/* auth.c */

/** The Authorization header value to send for `scope` now, or NULL (caller frees). */
char *berth_client__auth_header(berth_client *c, const char *scope);
/**
 * React to a 401: learn the scheme, fetch a token if needed. `sent` says
 * whether the refused request carried credentials. 0 to retry, or an error.
 */
int berth_client__auth_challenge(berth_client *c, const char *www_auth, const char *scope,
				 int sent) BERTH_WARN_UNUSED;
void berth_client__auth_dispose(berth_client *c);

/* tls.c */
int berth_client__tls_setup(berth_client *c, const char *cert_dir) BERTH_WARN_UNUSED;
void berth_client__tls_apply(berth_client *c, CURL *h);

/**
 * The token service's JSON answer `body` (`len` bytes) received at `now`:
 * the token (malloc'd into *token) and when to renew it. BERTH_EINVALID
 * (message names `host`) without a usable token.
 */
int berth_client__token_parse(const char *host, const char *body, size_t len, time_t now,
			      char **token, time_t *expires) BERTH_WARN_UNUSED;

/* manifests.c */
/** The target of `Link: <url>; rel="next"`, malloc'd, or NULL. */
char *berth_client__next_link(const char *link);
/**
 * berth_client_referrers_index, and the index as parsed when checking it:
 * *doc (may be NULL) gets it, owned by the caller, or NULL when `body` is empty.
 */
int berth_client__referrers_index(berth_client *c, const char *repo, const berth_digest *subject,
				  berth_buf *body, int *api, json_t **doc) BERTH_WARN_UNUSED;

/* blobs.c */
/** An upload status Range "0-<last>" as bytes held (last+1); 0 for "0-0" or none. */
uint64_t berth_client__held_bytes(const char *range);

/* creds.c */
/** 1 if `a` and `b` name the same registry host (docker.io aliases included). */
int berth_client__host_match(const char *key, const char *host);
/**
 * Credentials for `host` from one parsed config.json/auth.json `root`
 * (`path` names it in messages); may run credential helpers it names.
 * BERTH_ENOTFOUND if it has none for host.
 */
int berth_client__creds_from(json_t *root, const char *path, const char *host, char **user,
			     char **pass) BERTH_WARN_UNUSED;

#endif
