/*
 * uploads.c - pushing blobs: POST /v2/<name>/blobs/uploads/ (session start,
 * monolithic push with ?digest=, cross-repository mount with ?mount=), and
 * GET/PATCH/PUT/DELETE /v2/<name>/blobs/uploads/<id>.
 *
 * A session lives in the store (its bytes and hash state) and in meta (which
 * repository it belongs to, when it started), so any process sharing them
 * can continue it. A request that writes holds the upload exclusively from
 * begin to finish; freeing the exchange releases it if the client vanished, without
 * committing. A blob becomes visible only through berth_upload_commit, which
 * checks the digest, then the link in the repository.
 */
#include "lib/registry/internal.h"

#include "berth/ref.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

static void session_headers(berth_op *op, uint64_t size)
{
	berth_registry__location(op, "/v2/%s/blobs/uploads/%s", op->name, op->upload_id);
	berth_registry__header(op, "Range", "0-%" PRIu64, size ? size - 1 : 0);
	berth_registry__header(op, "Docker-Upload-UUID", "%s", op->upload_id);
}

static void upload_unknown(berth_op *op)
{
	berth_registry__error(op, 404, "BLOB_UPLOAD_UNKNOWN", NULL,
			      "blob upload unknown to registry");
}

/* Delete the upload's meta row, if it has one; a failure is left to the purge. */
static void forget_meta_row(berth_op *op)
{
	int rc;

	if (op->upload_has_meta) {
		rc = berth_meta_upload_delete(op->reg->meta, op->upload_id);
		(void)rc;
		op->upload_has_meta = 0;
	}
}

/* Delete an upload's data and its meta row; failures are left to the purge. */
static void discard(berth_op *op)
{
	int rc;

	rc = berth_store_upload_delete(op->reg->store, op->upload_id);
	(void)rc;
	forget_meta_row(op);
}

void berth_registry__upload_release(berth_op *op)
{
	if (!op->upload)
		return;
	berth_upload_close(op->upload);
	op->upload = NULL;
	atomic_fetch_sub(&op->reg->uploads, 1);
	if (op->upload_discard)
		discard(op);
}

/* 416 with the state of the upload as held, then release it (kept). */
static void range_invalid(berth_op *op, const char *why)
{
	uint64_t held = 0;

	if (op->upload) {
		held = berth_upload_offset(op->upload);
	} else {
		int rc = berth_store_upload_size(op->reg->store, op->upload_id, &held);

		(void)rc; /* unknown size: report 0-0 */
	}
	berth_registry__upload_release(op);
	berth_registry__error(op, 416, "RANGE_INVALID", NULL, "%s", why);
	session_headers(op, held);
}

static void too_big(berth_op *op)
{
	/* The blob can never be accepted: drop what was received. */
	op->upload_discard = 1;
	berth_registry__upload_release(op);
	berth_registry__error(op, 413, "SIZE_INVALID", NULL,
			      "blob exceeds the limit of %" PRIu64 " bytes",
			      op->reg->cfg.max_blob_bytes);
}

/* Open op->upload_id exclusively. Returns 0, or -1 after answering. */
static int open_upload(berth_op *op)
{
	int rc = berth_store_upload_open(&op->upload, op->reg->store, op->upload_id);

	if (rc == 0) {
		atomic_fetch_add(&op->reg->uploads, 1);
		return 0;
	}
	op->upload = NULL;
	if (rc == BERTH_ENOTFOUND)
		upload_unknown(op);
	else if (rc == BERTH_EBUSY)
		range_invalid(op, "upload is being written by another request");
	else
		berth_registry__internal(op);
	return -1;
}

/*
 * Check the optional Content-Range (and Content-Length) of a chunk against
 * the open upload, and the blob size cap. Returns 0, or -1 after answering.
 */
static int check_chunk(berth_op *op, const berth_req *req)
{
	const char *cr = berth_registry__req_header(op, req, "Content-Range");
	uint64_t max = op->reg->cfg.max_blob_bytes;
	uint64_t off = berth_upload_offset(op->upload);
	uint64_t a, b;

	if (cr) {
		if (berth_http_content_range_parse(cr, &a, &b) != 0) {
			berth_registry__upload_release(op);
			berth_registry__error(op, 400, "BLOB_UPLOAD_INVALID", NULL,
					      "malformed Content-Range \"%.100s\"", cr);
			return -1;
		}
		if (a != off || b < a) {
			range_invalid(op, "Content-Range does not start at the end of the upload");
			return -1;
		}
		if (req->has_body_length && req->body_length != b - a + 1) {
			range_invalid(op, "Content-Length does not match Content-Range");
			return -1;
		}
		op->has_range = 1;
		op->range_len = b - a + 1;
		if (max && b >= max) {
			too_big(op);
			return -1;
		}
	}
	if (max && req->has_body_length &&
	    (req->body_length > max || off > max - req->body_length)) {
		too_big(op);
		return -1;
	}
	return 0;
}

static int upload_body(berth_op *op, const char *data, size_t len)
{
	uint64_t max = op->reg->cfg.max_blob_bytes;
	uint64_t off = berth_upload_offset(op->upload);

	if (op->has_range && (len > op->range_len || op->written > op->range_len - len)) {
		range_invalid(op, "more bytes than the Content-Range announced");
		return -1;
	}
	if (max && (len > max || off > max - len)) {
		too_big(op);
		return -1;
	}
	if (berth_upload_write(op->upload, data, len) != 0) {
		/* A failed upload (a full disk, most often) leaves nothing behind. */
		berth_registry__internal(op);
		op->upload_discard = 1;
		berth_registry__upload_release(op);
		return -1;
	}
	op->written += len;
	return 0;
}

/* At finish: a chunk announced by Content-Range must have arrived whole. */
static int chunk_complete(berth_op *op)
{
	if (op->has_range && op->written != op->range_len) {
		range_invalid(op, "fewer bytes than the Content-Range announced");
		return 0;
	}
	return 1;
}

static void patch_finish(berth_op *op)
{
	uint64_t size;

	if (!chunk_complete(op))
		return;
	if (berth_upload_sync(op->upload) != 0) {
		berth_registry__internal(op);
		op->upload_discard = 1;
		berth_registry__upload_release(op);
		return;
	}
	size = berth_upload_offset(op->upload);
	berth_registry__upload_release(op);
	berth_registry__empty(op, 202);
	session_headers(op, size);
}

static void created(berth_op *op)
{
	berth_registry__location(op, "/v2/%s/blobs/%s", op->name, op->digest.str);
	berth_registry__header(op, "Docker-Content-Digest", "%s", op->digest.str);
	berth_registry__empty(op, 201);
}

/* Commit the open upload as op->digest and link it (PUT and monolithic POST). */
static void commit_finish(berth_op *op)
{
	berth_upload *u = op->upload;
	uint64_t size = 0;
	int rc;

	if (!chunk_complete(op))
		return;
	/* now owned by berth_upload_commit, which frees it in all cases */
	op->upload = NULL;
	atomic_fetch_sub(&op->reg->uploads, 1);
	rc = berth_upload_commit(u, &op->digest, &size);
	if (rc == BERTH_EDIGEST) {
		/* The message first: forgetting the session may set another. */
		berth_registry__error(op, 400, "DIGEST_INVALID", NULL, "%s", berth_error_last());
		/* The store deleted the data; forget the session too. */
		discard(op);
		return;
	}
	if (rc < 0) {
		berth_registry__internal(op);
		discard(op);
		return;
	}
	rc = berth_meta_blob_link(op->reg->meta, op->name, &op->digest, size);
	if (rc < 0)
		RETURN_AFTER(berth_registry__internal(op));
	/* The blob is committed and linked: a stale row is the purge's job. */
	forget_meta_row(op);
	created(op);
	berth_registry__reserve_fill(op->reg);
}

static void monolithic(berth_op *op, const berth_req *req, const char *digest)
{
	uint64_t max = op->reg->cfg.max_blob_bytes;
	int rc;

	if (berth_registry__parse_digest(op, digest))
		return;
	if (max && req->has_body_length && req->body_length > max)
		RETURN_AFTER(berth_registry__error(op, 413, "SIZE_INVALID", NULL,
						   "blob exceeds the limit of %" PRIu64 " bytes",
						   max));
	if (berth_store_upload_create(op->reg->store, op->upload_id) != 0)
		RETURN_AFTER(berth_registry__internal(op));
	/* Until committed, anything received is dropped when the op ends. */
	op->upload_discard = 1;
	rc = berth_store_upload_open(&op->upload, op->reg->store, op->upload_id);
	if (rc != 0) {
		op->upload = NULL;
		berth_registry__internal(op);
		discard(op);
		return;
	}
	atomic_fetch_add(&op->reg->uploads, 1);
	op->wants_body = 1;
	op->on_body = upload_body;
	op->on_finish = commit_finish;
}

typedef struct {
	berth_op *op;
	int found;
	uint64_t size;
} mount_ctx;

static int mount_cb(void *ctx, const char *repo, uint64_t size)
{
	mount_ctx *c = ctx;

	if (!berth_registry__can_read(c->op, repo))
		return 0;
	c->found = 1;
	c->size = size;
	return 1;
}

/*
 * Mount op->digest from `from` (or, without it, from any readable
 * repository holding it). Returns 1 if answered (201 or an error), 0 to fall
 * back to a new session.
 */
static int try_mount(berth_op *op, const char *from)
{
	berth_meta *meta = op->reg->meta;
	uint64_t size = 0, stored;
	int rc;

	if (from) {
		if (!berth_ref_name_valid(from, strlen(from)) ||
		    !berth_registry__can_read(op, from))
			return 0;
		rc = berth_meta_blob_linked(meta, from, &op->digest, &size);
		if (rc == BERTH_ENOTFOUND)
			return 0;
	} else {
		mount_ctx c = {op, 0, 0};

		rc = berth_meta_blob_repos(meta, &op->digest, mount_cb, &c);
		if (rc == BERTH_ENOTFOUND || (rc >= 0 && !c.found))
			return 0;
		size = c.size;
	}
	if (rc < 0) {
		berth_registry__internal(op);
		return 1;
	}
	/* The link is only worth copying if the bytes are still there. */
	rc = berth_store_stat(op->reg->store, &op->digest, &stored);
	if (rc == BERTH_ENOTFOUND)
		return 0;
	if (rc == 0)
		rc = berth_meta_blob_link(meta, op->name, &op->digest, stored);
	if (rc < 0) {
		berth_registry__internal(op);
		return 1;
	}
	(void)size;
	created(op);
	return 1;
}

/* 1 if `op`'s repository or account holds as many sessions as it may. */
static int at_cap(berth_op *op, int *rc)
{
	const berth_registry_config *cfg = &op->reg->cfg;
	long in_repo = 0, of_account = 0;

	*rc = berth_meta_upload_count(op->reg->meta, op->name, op->account, &in_repo, &of_account);
	return *rc == 0 &&
	       ((cfg->max_uploads_per_repository && in_repo >= cfg->max_uploads_per_repository) ||
		(cfg->max_uploads_per_account && of_account >= cfg->max_uploads_per_account));
}

/*
 * Sessions are capped per repository and per account: abandoned ones would
 * otherwise pile up. At a cap, sessions past the purge age go first; if that
 * leaves none to spare, 429.
 */
static int sessions_left(berth_op *op)
{
	int rc, purged = 0;

	if (!at_cap(op, &rc) && rc == 0)
		return 1;
	if (rc == 0 &&
	    berth_registry_purge_uploads(op->reg, op->reg->cfg.upload_purge_age, &purged) == 0 &&
	    purged && !at_cap(op, &rc) && rc == 0)
		return 1;
	if (rc < 0)
		berth_registry__internal(op);
	else
		berth_registry__error(op, 429, "TOOMANYREQUESTS", NULL,
				      "too many upload sessions open for this repository or "
				      "account: finish or cancel some");
	return 0;
}

static void start_session(berth_op *op)
{
	int rc;

	if (!sessions_left(op))
		return;
	if (berth_store_upload_create(op->reg->store, op->upload_id) != 0)
		RETURN_AFTER(berth_registry__internal(op));
	if (berth_meta_upload_create(op->reg->meta, op->upload_id, op->name, time(NULL),
				     op->account) != 0) {
		berth_registry__internal(op);
		rc = berth_store_upload_delete(op->reg->store, op->upload_id);
		(void)rc;
		return;
	}
	berth_registry__empty(op, 202);
	session_headers(op, 0);
}

void berth_registry__upload_start(berth_op *op, const berth_req *req)
{
	const char *digest = berth_registry__req_query(op, req, "digest");
	const char *mount = berth_registry__req_query(op, req, "mount");
	const char *from = berth_registry__req_query(op, req, "from");

	if (digest)
		RETURN_AFTER(monolithic(op, req, digest));
	if (mount) {
		if (berth_registry__parse_digest(op, mount))
			return;
		if (try_mount(op, from))
			return;
	}
	start_session(op);
}

void berth_registry__upload(berth_op *op, const berth_req *req, const char *method)
{
	uint64_t size;
	int rc;

	if (!berth_store_upload_id_valid(op->ref) || strlen(op->ref) >= BERTH_UPLOAD_ID_MAX)
		RETURN_AFTER(upload_unknown(op));
	memcpy(op->upload_id, op->ref, strlen(op->ref) + 1);
	rc = berth_meta_upload_check(op->reg->meta, op->upload_id, op->name);
	if (rc == BERTH_ENOTFOUND)
		RETURN_AFTER(upload_unknown(op));
	if (rc < 0)
		RETURN_AFTER(berth_registry__internal(op));
	op->upload_has_meta = 1;

	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
		rc = berth_store_upload_size(op->reg->store, op->upload_id, &size);
		if (rc == BERTH_ENOTFOUND)
			RETURN_AFTER(upload_unknown(op));
		if (rc < 0)
			RETURN_AFTER(berth_registry__internal(op));
		berth_registry__empty(op, 204);
		session_headers(op, size);
		return;
	}
	if (strcmp(method, "DELETE") == 0) {
		rc = berth_store_upload_delete(op->reg->store, op->upload_id);
		if (rc < 0 && rc != BERTH_ENOTFOUND)
			RETURN_AFTER(berth_registry__internal(op));
		rc = berth_meta_upload_delete(op->reg->meta, op->upload_id);
		if (rc < 0 && rc != BERTH_ENOTFOUND)
			RETURN_AFTER(berth_registry__internal(op));
		op->upload_has_meta = 0;
		berth_registry__empty(op, 204);
		return;
	}
	if (strcmp(method, "PUT") == 0) {
		const char *digest = berth_registry__req_query(op, req, "digest");

		/* A missing or malformed digest keeps the upload: the client may retry. */
		if (!digest)
			RETURN_AFTER(berth_registry__error(op, 400, "DIGEST_INVALID", NULL,
							   "digest query parameter missing"));
		if (berth_registry__parse_digest(op, digest))
			return;
	}
	if (open_upload(op) || check_chunk(op, req))
		return;
	op->wants_body = 1;
	op->on_body = upload_body;
	op->on_finish = strcmp(method, "PUT") == 0 ? commit_finish : patch_finish;
}
