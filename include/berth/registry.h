/*
 * berth/registry.h - the OCI Distribution API v1.1 as functions of
 * (request -> response) over a store and a metadata backend.
 *
 * No HTTP library type appears here: the server (src/server) adapts
 * libmicrohttpd to berth_req / berth_resp. A request is handled in three
 * steps so that bodies of any size stream through without being buffered:
 *
 *   berth_registry_begin(reg, &req, &op)   route, validate, open resources
 *   berth_op_body(op, data, len)           zero or more times (request body)
 *   berth_op_finish(op, &resp)             produce the response
 *   berth_op_free(op)                      after the response is sent
 *
 * If begin or body fail, the op already holds its error response and later
 * body calls are ignored; finish then returns that response. The server may
 * call berth_op_failed() to stop reading a body early (e.g. too large).
 */
#ifndef BERTH_REGISTRY_H
#define BERTH_REGISTRY_H

#include "berth/token.h"
#include "berth/common.h"
#include "berth/meta.h"
#include "berth/store.h"

#include <stdint.h>

/* ---- the request and response model ---- */

typedef struct berth_req {
	const char *method; /* "GET", "HEAD", "PUT", "POST", "PATCH", "DELETE" */
	const char *path;   /* URL path, percent-decoded, without query */
	/* Header and query lookups (case-insensitive header names); NULL if absent. */
	const char *(*header)(void *ctx, const char *name);
	const char *(*query)(void *ctx, const char *name);
	void *ctx;
	int has_body_length;  /* Content-Length header present */
	uint64_t body_length; /* its value */
	const char *base_url; /* "http://host:port" as seen by the client, for Location; may be NULL
				 (relative) */
	const char *remote_addr;
	const char *request_id;
	/*
	 * The authenticated caller, opaque to the registry: set by the server when
	 * access control is on (a berth_identity of berth/auth.h), NULL otherwise.
	 * Only the authorization hook (berth_registry_set_authz) looks inside.
	 */
	const void *principal;
	/* The i-th value (0-based) of a repeated query parameter; NULL past the
	 * last. May be NULL itself (then only `query` is used). */
	const char *(*query_n)(void *ctx, const char *name, size_t i);
	/* Who opens upload sessions, for the per-account cap: the principal's
	 * name, or for anonymous callers their address; NULL: not counted. */
	const char *account;
} berth_req;

#define BERTH_RESP_MAX_HEADERS 12

/*
 * Content-Length is never among `headers`: the server derives it from
 * body_len, fd_length or (HEAD) head_length. Every response, errors
 * included, carries Docker-Distribution-API-Version. `fd` is closed by
 * berth_op_free; a server handing it to a library that takes ownership
 * (MHD_create_response_from_fd*) must pass a dup() of it.
 */
typedef struct berth_resp {
	int status;
	struct {
		const char *name;
		char *value; /* owned by the op */
	} headers[BERTH_RESP_MAX_HEADERS];
	size_t nheaders;
	/* Body: either memory ... */
	const char *body; /* owned by the op; may be NULL */
	size_t body_len;
	/* ... or a file range (sendfile). fd >= 0 wins; owned by the op. */
	int fd;
	uint64_t fd_offset;
	uint64_t fd_length;
	/* HEAD: no body is sent, but Content-Length is this value. */
	int head;
	uint64_t head_length;
	/* Route label for metrics, e.g. "blob_get", "manifest_put". */
	const char *route;
	/* Bytes of request body consumed (metrics). */
	uint64_t bytes_in;
} berth_resp;

/* ---- the registry ---- */

typedef struct berth_registry_config {
	size_t max_manifest_bytes;	 /* default 4 MiB; 413 beyond */
	uint64_t max_blob_bytes;	 /* 0 = no limit */
	long default_page_size;		 /* tags/catalog when no n= is given; 0 = all */
	long max_page_size;		 /* cap on n= (larger n is clamped) */
	long max_uploads_per_repository; /* open upload sessions; 0 = no limit */
	long max_uploads_per_account;	 /* open upload sessions; 0 = no limit */
	long upload_purge_age; /* seconds: older sessions are purged (also when a cap is hit) */
	/*
	 * A file of reserve_bytes kept beside the database (NULL: none). When a
	 * delete fails for want of room, it is removed and the delete retried,
	 * so that a full disk can still be freed through the API; it is made
	 * again once there is room.
	 */
	const char *reserve_path;
	uint64_t reserve_bytes;
} berth_registry_config;

typedef struct berth_registry berth_registry;

/** Defaults: 4 MiB manifests, no blob limit, page sizes 0 / 10000. */
void berth_registry_config_defaults(berth_registry_config *cfg);

/** Create a registry over `store` and `meta` (both borrowed, must outlive it). */
int berth_registry_new(berth_registry **out, berth_store *store, berth_meta *meta,
		       const berth_registry_config *cfg) BERTH_WARN_UNUSED;
void berth_registry_free(berth_registry *r);

typedef struct berth_op berth_op;

/** Start handling `req`. Always produces an op (even for errors) unless OOM. */
int berth_registry_begin(berth_registry *r, const berth_req *req, berth_op **out) BERTH_WARN_UNUSED;
/** 1 if the op wants the request body (uploads, manifest PUT). */
int berth_op_wants_body(const berth_op *op);
/** Feed request body bytes. Returns 0, or non-zero once the op has failed. */
int berth_op_body(berth_op *op, const char *data, size_t len);
/** 1 if the op already holds an error response (stop reading the body). */
int berth_op_failed(const berth_op *op);
/** Produce the response (valid until berth_op_free). */
void berth_op_finish(berth_op *op, berth_resp *resp);
void berth_op_free(berth_op *op);

/** Delete stale uploads older than `max_age` seconds (store + meta). */
int berth_registry_purge_uploads(berth_registry *r, long max_age, int *purged) BERTH_WARN_UNUSED;

/** Number of uploads in progress in this process (for /metrics). */
long berth_registry_uploads_in_progress(berth_registry *r);

/* ---- authorization (P3) ---- */

/** How a refused request is answered: 401 (with a challenge) or 403. */
typedef struct berth_authz_refusal {
	int status;	      /* 401 or 403 */
	const char *code;     /* OCI error code: "UNAUTHORIZED", "DENIED" (static) */
	char message[256];    /* never holds a secret */
	char challenge[1024]; /* WWW-Authenticate value, "" for none */
} berth_authz_refusal;

/*
 * The authorization hook. Actions are the BERTH_ACTION_* bits of
 * berth/auth.h. Each route needs: GET/HEAD pull; manifest PUT, blob upload
 * (POST/PATCH/PUT, and DELETE or GET of an upload session) push; DELETE of a
 * manifest or blob delete; a mount also needs pull on its `from` repository
 * (without it, a normal upload session is started: existence never leaks).
 */
typedef struct berth_registry_authz {
	/**
	 * The subset of `wanted` the caller of `req` may do on `repository`.
	 * repository NULL asks about the catalog (wanted = pull). The hook may
	 * create what a permitted push needs (a sysadmin's new project).
	 */
	unsigned (*allowed)(void *ctx, const berth_req *req, const char *repository,
			    unsigned wanted);
	/** 1 if `repository` is shown to the caller in the catalog (may pull it). */
	int (*listable)(void *ctx, const berth_req *req, const char *repository);
	/**
	 * Describe the refusal of `wanted` on `repository`; repository NULL with
	 * wanted 0 is the API base /v2/ (refused to anonymous callers only),
	 * NULL with pull the catalog.
	 */
	void (*refuse)(void *ctx, const berth_req *req, const char *repository, unsigned wanted,
		       berth_authz_refusal *out);
	/** 1 if the caller of `req` is anonymous (asked for /v2/). */
	int (*anonymous)(void *ctx, const berth_req *req);
	void *ctx;
} berth_registry_authz;

/**
 * Turn authorization on (`a` copied) or off (NULL: every request is allowed,
 * P1's behaviour). Call before serving requests.
 */
void berth_registry_set_authz(berth_registry *r, const berth_registry_authz *a);

/** The repository an op is about (NULL for /v2/, the catalog, bad routes). */
const char *berth_op_repository(const berth_op *op);
/** The last path component of the op's route (tag, digest, upload id), or NULL. */
const char *berth_op_reference(const berth_op *op);

/* ---- HTTP header grammars used by the API (exposed for fuzzing) ---- */

/**
 * Parse a request `Range: bytes=<start>-[<end>]` (single range; also
 * "bytes=-<suffix>") against a resource of `size` bytes into an inclusive
 * [start, end]. Returns 0, BERTH_EINVALID (malformed: ignore the header) or
 * BERTH_ERANGE (not satisfiable: 416).
 */
int berth_http_range_parse(const char *s, uint64_t size, uint64_t *start,
			   uint64_t *end) BERTH_WARN_UNUSED;

/**
 * Parse an upload chunk's `Content-Range: <start>-<end>` (the distribution
 * spec's form, also accepting a "bytes " prefix and "bytes a-b/total").
 * Returns 0 or BERTH_EINVALID.
 */
int berth_http_content_range_parse(const char *s, uint64_t *start, uint64_t *end) BERTH_WARN_UNUSED;

#endif
