/*
 * berth/registry.h - the OCI Distribution API v1.1 as functions of
 * (request -> response) over a store and a metadata backend.
 *
 * No HTTP library type appears here: the server (src/server) adapts
 * libmicrohttpd to berth_req / berth_resp. This header also defines the one
 * request lifecycle that every module answering requests implements (the
 * registry here, access control in berth/auth.h), so that the server drives
 * them all alike. A request is handled in steps so that bodies of any size
 * stream through without being buffered:
 *
 *   berth_registry_begin(reg, &req, &x)   route, validate, open resources
 *   berth_exchange_body(x, data, len)     zero or more times (request body)
 *   berth_exchange_finish(x, &resp)       produce the response
 *   berth_exchange_free(x)                after the response is sent
 *
 * If begin or body fail, the exchange already holds its error response and
 * later body calls are ignored; finish then returns that response. The
 * server may call berth_exchange_failed() to stop reading a body early.
 */
#ifndef BERTH_REGISTRY_H
#define BERTH_REGISTRY_H

#include "berth/token.h"
#include "berth/buf.h"
#include "berth/common.h"
#include "berth/meta.h"
#include "berth/oci.h"
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
 * berth_exchange_free; a server handing it to a library that takes ownership
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
	/*
	 * ... or a reader (a body produced while it is sent, e.g. a blob the
	 * mirror is still fetching; wins over fd and body): reader() copies up
	 * to `max` bytes at `pos` into `buf` and returns their count (> 0), or
	 * -1 to end the response with an error (the connection is cut, so the
	 * client sees a short body). It may block until bytes arrive.
	 * reader_length is the Content-Length. The server calls reader_free
	 * (reader_ctx) exactly once, when it is done with the response (sent,
	 * cut or never made): the exchange hands over a reference of its own.
	 */
	long (*reader)(void *ctx, uint64_t pos, char *buf, size_t max);
	void (*reader_free)(void *ctx);
	void *reader_ctx;
	uint64_t reader_length;
	/* HEAD: no body is sent, but Content-Length is this value. */
	int head;
	uint64_t head_length;
	/* Route label for metrics, e.g. "blob_get", "manifest_put". */
	const char *route;
	/* Bytes of request body consumed (metrics). */
	uint64_t bytes_in;
	/* What the request was about, for the audit trail: the repository and
	 * the route's last path component (tag, digest, upload id); NULL if none. */
	const char *repository;
	const char *reference;
} berth_resp;

/* ---- one request lifecycle, whichever module answers ---- */

typedef struct berth_exchange berth_exchange;

/** What a module answering requests provides; callers use berth_exchange_*. */
typedef struct berth_exchange_ops {
	int (*wants_body)(const berth_exchange *x);
	int (*body)(berth_exchange *x, const char *data, size_t len);
	int (*failed)(const berth_exchange *x);
	void (*finish)(berth_exchange *x, berth_resp *resp);
	void (*free)(berth_exchange *x);
} berth_exchange_ops;

/**
 * A request in progress. Each module's own request state embeds this as its
 * first member; only that module looks past it. Not thread-safe: one thread
 * drives an exchange at a time (libmicrohttpd's connection thread).
 */
struct berth_exchange {
	const berth_exchange_ops *ops;
};

/** 1 if the exchange wants the request body (uploads, manifest PUT, POST /token...). */
int berth_exchange_wants_body(const berth_exchange *x);
/** Feed request body bytes. Returns 0, or non-zero once the exchange has failed. */
int berth_exchange_body(berth_exchange *x, const char *data, size_t len);
/** 1 if the exchange already holds an error response (stop reading the body). */
int berth_exchange_failed(const berth_exchange *x);
/**
 * Produce the response into `resp` (its strings, body and fd stay owned by
 * the exchange and valid until berth_exchange_free). Call once.
 */
void berth_exchange_finish(berth_exchange *x, berth_resp *resp);
/** Release the exchange (a blob fd included) after the response is sent; NULL is a no-op. */
void berth_exchange_free(berth_exchange *x);

/* ---- the registry ---- */

typedef struct berth_registry_config {
	size_t max_manifest_bytes; /* default BERTH_MANIFEST_MAX, at most BERTH_MANIFEST_CEILING;
				      413 beyond */
	uint64_t max_blob_bytes;   /* 0 = no limit */
	long default_page_size;	   /* tags/catalog when no n= is given; 0 = all */
	long max_page_size;	   /* cap on n= (larger n is clamped) */
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

/** Defaults: BERTH_MANIFEST_MAX manifests, no blob limit, page sizes 0 / 10000. */
void berth_registry_config_defaults(berth_registry_config *cfg);

/** Create a registry over `store` and `meta` (both borrowed, must outlive it). */
int berth_registry_new(berth_registry **out, berth_store *store, berth_meta *meta,
		       const berth_registry_config *cfg) BERTH_WARN_UNUSED;
void berth_registry_free(berth_registry *r);

/**
 * Start handling `req` (which need not outlive this call). Always produces
 * an exchange, holding an error response if the request is refused, unless
 * out of memory (BERTH_ERROR, *out NULL). The caller frees it.
 */
int berth_registry_begin(berth_registry *r, const berth_req *req,
			 berth_exchange **out) BERTH_WARN_UNUSED;

/** Delete stale uploads older than `max_age` seconds (store + meta). */
int berth_registry_purge_uploads(berth_registry *r, long max_age, int *purged) BERTH_WARN_UNUSED;

/** Number of uploads in progress in this process (for /metrics). */
long berth_registry_uploads_in_progress(berth_registry *r);

/**
 * Append the distribution spec's error body
 * {"errors":[{"code":..,"message":..,"detail":..}]} to `b`: code and message
 * as JSON strings, detail_json (already JSON text) verbatim, the "detail"
 * key left out when detail_json is NULL. Returns 0, or BERTH_ETOOBIG past
 * the buffer's cap (the buffer then holds a partial body: reset it).
 */
int berth_registry_error_body(berth_buf *b, const char *code, const char *message,
			      const char *detail_json) BERTH_WARN_UNUSED;

/* ---- authorization ---- */

/**
 * How a refused request is answered: 401 (with a challenge) or 403; 503
 * (with Retry-After) when the facts could not be read (database down).
 */
typedef struct berth_authz_refusal {
	int status;	      /* 401, 403 or 503 */
	const char *code;     /* OCI error code: "UNAUTHORIZED", "DENIED", "UNAVAILABLE" */
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
	/**
	 * 1 if the principal behind `req` may push to `repository`, whatever
	 * the scope of the token it presents (the manifest gate serves such
	 * callers, to read only). May be NULL: nobody is.
	 */
	int (*may_push)(void *ctx, const berth_req *req, const char *repository);
	void *ctx;
} berth_registry_authz;

/**
 * Turn authorization on (`a` copied) or off (NULL: every request is
 * allowed). Call before serving requests.
 */
void berth_registry_set_authz(berth_registry *r, const berth_registry_authz *a);

/* ---- the manifest gate (the signature policy, berth/policy.h) ---- */

/*
 * A check run before any manifest is served: GET or HEAD by tag or digest,
 * and a manifest read through the blob endpoint. Pushes, deletes, listings
 * and blobs are not gated (manifests are the gate: without one, a client
 * cannot know which blobs make an image). With access control on, a caller
 * who may push to the repository is served what the gate refuses: a signer
 * must read what it signs after pushing it, and whoever may push could
 * replace the content anyway; everyone else (pull-only users, robots and
 * anonymous callers) gets the refusal.
 */
typedef struct berth_registry_gate {
	/**
	 * `info` is what berth_meta_manifest_get returned (digest, media type,
	 * generations). 0: serve the manifest. 1: refused, `out` filled (403
	 * DENIED and the message saying which policy failed). Negative: the
	 * check itself failed (500, message in the error slot). Called from any
	 * server thread at once; on the hot path of every manifest GET.
	 */
	int (*check)(void *ctx, const berth_req *req, const char *repository,
		     const berth_meta_manifest *info, berth_authz_refusal *out);
	/** The refusal of `check` stands and is answered (audit it); may be NULL. */
	void (*refused)(void *ctx, const berth_req *req, const char *repository,
			const berth_meta_manifest *info, const berth_authz_refusal *out);
	void *ctx;
} berth_registry_gate;

/** Install the manifest gate (`g` copied) or remove it (NULL). Call before serving. */
void berth_registry_set_gate(berth_registry *r, const berth_registry_gate *g);

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
