/*
 * internal.h - what the files of the registry module share: the registry
 * and op structs, the response helpers (errors.c) and one entry point per
 * API family (blobs.c, uploads.c, manifests.c, lists.c). Routing and the op
 * lifecycle live in registry.c.
 *
 * An op owns everything its response points to: header values come from its
 * pool, bodies from its buffers, a blob fd is closed when the op is freed.
 * Facts needed after berth_registry_begin (names, query values, headers) are
 * copied into the pool there, so the request need not outlive begin.
 */
#ifndef BERTH_REGISTRY_INTERNAL_H
#define BERTH_REGISTRY_INTERNAL_H

#include "berth/digest.h"
#include "berth/registry.h"
#include "util/buf.h"
#include "util/pool.h"

#include <stdatomic.h>

/* Run a call that produces the response, then leave the (void) caller. */
#define RETURN_AFTER(call)                                                                         \
	do {                                                                                       \
		call;                                                                              \
		return;                                                                            \
	} while (0)

struct berth_registry {
	berth_store *store;
	berth_meta *meta;
	berth_registry_config cfg;
	atomic_long uploads; /* ops holding an open berth_upload */
	int has_authz;
	berth_registry_authz authz;
	int has_gate;
	berth_registry_gate gate;
	char *reserve_path; /* owned copy of cfg.reserve_path */
};

typedef struct berth_op berth_op;

/** Make the reserve file if it is missing and there is room (best effort). */
void berth_registry__reserve_fill(berth_registry *r);
/** Remove the reserve file; 1 if there was one (a failed delete may then be retried). */
int berth_registry__reserve_release(berth_registry *r);

typedef int (*berth_registry__body_fn)(berth_op *op, const char *data, size_t len);
typedef void (*berth_registry__finish_fn)(berth_op *op);

/* The registry's exchange: `x` first, so that an exchange of ours is an op. */
struct berth_op {
	berth_exchange x;
	berth_registry *reg;
	berth_pool pool;
	berth_resp resp;
	berth_buf out; /* response body */
	berth_buf in;  /* collected request body (manifest PUT), capped */
	int failed;    /* resp holds an error response */
	int wants_body;
	int is_head;
	berth_registry__body_fn on_body;     /* NULL: body ignored */
	berth_registry__finish_fn on_finish; /* NULL: resp is already complete */

	/* the request, valid only during berth_registry_begin (authorization) */
	const berth_req *req;

	/* request facts, copied into the pool */
	const char *name;     /* repository */
	const char *account;  /* req->account (copied), for the upload caps; may be NULL */
	const char *ref;      /* last path component: tag/digest text, digest, upload id */
	const char *base_url; /* may be NULL */
	const char *content_type;
	int ref_is_digest;
	berth_digest digest; /* blob digest, manifest digest ref, or ?digest= */

	/* an open upload (uploads.c) */
	berth_upload *upload;
	char upload_id[BERTH_UPLOAD_ID_MAX];
	int upload_discard;  /* delete (store + meta) instead of keeping it on release */
	int upload_has_meta; /* a meta row exists for it */
	int has_range;	     /* Content-Range given: the chunk must be exactly range_len bytes */
	uint64_t range_len;
	uint64_t written; /* bytes written by this request */
};

/* ---- responses (errors.c) ---- */

/** Add a response header; the value is formatted into the op's pool. */
void berth_registry__header(berth_op *op, const char *name, const char *fmt, ...)
	BERTH_PRINTF(3, 4);
/** Add Location: [base_url]<path formatted>. */
void berth_registry__location(berth_op *op, const char *fmt, ...) BERTH_PRINTF(2, 3);
/**
 * Turn the op into an OCI error response: status, {"errors":[{code, message,
 * detail}]} (detail is raw JSON text or NULL), Content-Type application/json.
 * Headers set so far (except the API version) are dropped; callers may add
 * more after. Marks the op failed.
 */
void berth_registry__error(berth_op *op, int status, const char *code, const char *detail,
			   const char *fmt, ...) BERTH_PRINTF(5, 6);
/** 500 UNKNOWN with the thread's last error message (storage/metadata failure). */
void berth_registry__internal(berth_op *op);
/** An empty-bodied success. */
void berth_registry__empty(berth_op *op, int status);
/** A success whose body is op->out with the given Content-Type. */
void berth_registry__body(berth_op *op, int status, const char *content_type);

/** Parse `s` into op->digest; on failure answers 400 DIGEST_INVALID and returns -1. */
int berth_registry__parse_digest(berth_op *op, const char *s);

/** Answer the authorization hook's refusal of `wanted` on `repo` (401 with a challenge, or 403). */
void berth_registry__refuse(berth_op *op, const char *repo, unsigned wanted);

/**
 * Run the manifest gate (if any) on manifest `info` of op->name; on a
 * refusal or failure answer it and return -1.
 */
int berth_registry__gate(berth_op *op, const berth_meta_manifest *info);

/** Readability of `repo` for this request (mounts): pull allowed by the authz hook. */
int berth_registry__can_read(berth_op *op, const char *repo);

/**
 * Check that the caller may do `wanted` on `repo` (NULL: the catalog);
 * otherwise answer the refusal (401 with a challenge, or 403) and return -1.
 */
int berth_registry__authorize(berth_op *op, const char *repo, unsigned wanted);

/* ---- API families; each is called from berth_registry_begin ---- */

void berth_registry__blob(berth_op *op, const berth_req *req, const char *method);
void berth_registry__upload_start(berth_op *op, const berth_req *req);
/* op->ref holds the upload id */
void berth_registry__upload(berth_op *op, const berth_req *req, const char *method);
/** Release an op's open upload (close, or delete if op->upload_discard). */
void berth_registry__upload_release(berth_op *op);
void berth_registry__manifest(berth_op *op, const berth_req *req, const char *method);
void berth_registry__tags(berth_op *op, const berth_req *req);
void berth_registry__catalog(berth_op *op, const berth_req *req);
/* op->ref holds the subject digest text */
void berth_registry__referrers(berth_op *op, const berth_req *req);

/** Copy a request header / query value into the op's pool (NULL if absent). */
const char *berth_registry__req_header(berth_op *op, const berth_req *req, const char *name);
const char *berth_registry__req_query(berth_op *op, const berth_req *req, const char *name);

#endif
