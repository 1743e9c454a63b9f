/*
 * blobs.c - GET, HEAD and DELETE /v2/<name>/blobs/<digest>.
 *
 * A blob is visible in a repository only if linked there (meta). Its bytes
 * are answered as a file range of the committed blob (resp.fd, for
 * sendfile), honouring a single Range. Like Distribution, a digest that is
 * not a linked blob but a manifest of the repository is served too (from
 * the manifest bytes held in meta).
 */
#include "lib/registry/internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long a presigned redirect URL stays valid (as Distribution's 20 min). */
#define BLOB_REDIRECT_SECONDS 1200

static void blob_unknown(berth_op *op)
{
	berth_registry__error(op, 404, "BLOB_UNKNOWN", NULL, "blob unknown to registry");
}

/*
 * Choose the byte range to answer. Returns 1 for a partial answer, 0 for the
 * whole blob, -1 after answering 416.
 */
static int choose_range(berth_op *op, const char *range, uint64_t size, uint64_t *start,
			uint64_t *end)
{
	int rc;

	*start = 0;
	*end = size ? size - 1 : 0;
	if (!range || op->is_head)
		return 0;
	rc = berth_http_range_parse(range, size, start, end);
	if (rc == 0)
		return 1;
	*start = 0;
	*end = size ? size - 1 : 0;
	if (rc == BERTH_ERANGE) {
		berth_registry__error(
			op, 416, "RANGE_INVALID", NULL,
			"requested range not satisfiable (blob has %" PRIu64 " bytes)", size);
		berth_registry__header(op, "Content-Range", "bytes */%" PRIu64, size);
		return -1;
	}
	return 0; /* a malformed Range header is ignored */
}

static void blob_headers(berth_op *op, int partial, uint64_t start, uint64_t end, uint64_t size)
{
	op->resp.status = partial ? 206 : 200;
	berth_registry__header(op, "Content-Type", "application/octet-stream");
	berth_registry__header(op, "Docker-Content-Digest", "%s", op->digest.str);
	berth_registry__header(op, "Accept-Ranges", "bytes");
	berth_registry__header(op, "ETag", "\"%s\"", op->digest.str);
	if (partial)
		berth_registry__header(op, "Content-Range",
				       "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start, end, size);
	if (op->is_head) {
		op->resp.head = 1;
		op->resp.head_length = size;
	}
}

/* Serve a manifest of the repository through the blob endpoint. */
static void serve_manifest(berth_op *op, const char *range)
{
	berth_meta_manifest info;
	uint64_t start, end;
	int rc, partial;

	op->out.max = BERTH_MANIFEST_CEILING; /* read into memory, capped on the way in */
	rc = berth_meta_manifest_get(op->reg->meta, op->name, op->digest.str, &info,
				     op->is_head ? NULL : &op->out);
	if (rc == BERTH_ENOTFOUND)
		RETURN_AFTER(blob_unknown(op));
	if (rc < 0)
		RETURN_AFTER(berth_registry__internal(op));
	/* A manifest is gated by whichever endpoint serves it. */
	if (berth_registry__gate(op, &info))
		return;
	if (!op->is_head)
		info.size = op->out.len;
	partial = choose_range(op, range, info.size, &start, &end);
	if (partial < 0)
		return;
	blob_headers(op, partial, start, end, info.size);
	if (!op->is_head) {
		op->resp.body = op->out.ptr ? op->out.ptr + start : "";
		op->resp.body_len = info.size ? (size_t)(end - start + 1) : 0;
	}
}

/* A blob streamed from a store without local files (s3): one range of it. */
typedef struct blob_stream {
	berth_blob_reader *r;
	uint64_t start;
} blob_stream;

static long stream_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	blob_stream *bs = ctx;

	return berth_blob_reader_read(bs->r, bs->start + pos, buf, max);
}

static void stream_free(void *ctx)
{
	blob_stream *bs = ctx;

	berth_blob_reader_free(bs->r);
	free(bs);
}

/* GET of a blob whose store streams it (no descriptor). */
static void blob_stream_get(berth_op *op, const char *range)
{
	blob_stream *bs = NULL;
	berth_blob_reader *r = NULL;
	uint64_t size, start, end;
	int rc, partial;

	rc = berth_store_reader_open(&r, op->reg->store, &op->digest, &size);
	if (rc == BERTH_ENOTFOUND)
		RETURN_AFTER(blob_unknown(op));
	if (rc < 0)
		RETURN_AFTER(berth_registry__internal(op));
	partial = choose_range(op, range, size, &start, &end);
	if (partial < 0 || !(bs = calloc(1, sizeof(*bs)))) {
		berth_blob_reader_free(r);
		if (partial >= 0)
			berth_registry__error(op, 500, "UNKNOWN", NULL, "out of memory");
		return;
	}
	blob_headers(op, partial, start, end, size);
	bs->r = r;
	bs->start = start;
	/* now owned by the response (stream_free) */
	op->resp.reader = stream_read;
	op->resp.reader_free = stream_free;
	op->resp.reader_ctx = bs;
	op->resp.reader_length = size ? end - start + 1 : 0;
}

/* 1 if answered with a redirect to the store (s3 `redirect: true`). */
static int blob_redirect(berth_op *op)
{
	char *url = NULL;

	if (berth_store_redirect_url(op->reg->store, &op->digest, BLOB_REDIRECT_SECONDS, &url) <
	    0) {
		berth_error_clear();
		return 0;
	}
	berth_registry__header(op, "Location", "%s", url);
	berth_registry__header(op, "Docker-Content-Digest", "%s", op->digest.str);
	berth_registry__empty(op, 307);
	free(url);
	return 1;
}

static void blob_get(berth_op *op, const berth_req *req)
{
	const char *range = berth_registry__req_header(op, req, "Range");
	uint64_t size, start, end;
	int rc, fd = -1, partial;

	rc = berth_meta_blob_linked(op->reg->meta, op->name, &op->digest, &size);
	if (rc == BERTH_ENOTFOUND)
		RETURN_AFTER(serve_manifest(op, range));
	if (rc < 0)
		RETURN_AFTER(berth_registry__internal(op));
	if (!op->is_head && blob_redirect(op))
		return;
	if (op->is_head)
		rc = berth_store_stat(op->reg->store, &op->digest, &size);
	else
		rc = berth_store_open_blob(op->reg->store, &op->digest, &fd, &size);
	if (rc == BERTH_EUNSUPPORTED) {
		berth_error_clear();
		RETURN_AFTER(blob_stream_get(op, range));
	}
	if (rc == BERTH_ENOTFOUND)
		RETURN_AFTER(blob_unknown(op));
	if (rc < 0)
		RETURN_AFTER(berth_registry__internal(op));
	partial = choose_range(op, range, size, &start, &end);
	if (partial < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	blob_headers(op, partial, start, end, size);
	if (fd >= 0) {
		/* now owned by the op (closed when the exchange is freed) */
		op->resp.fd = fd;
		op->resp.fd_offset = start;
		op->resp.fd_length = size ? end - start + 1 : 0;
	}
}

static void blob_delete(berth_op *op)
{
	int rc = berth_meta_blob_unlink(op->reg->meta, op->name, &op->digest);

	/* Out of room (a full disk): the reserve file makes some. */
	if (rc < 0 && rc != BERTH_ENOTFOUND && berth_registry__reserve_release(op->reg))
		rc = berth_meta_blob_unlink(op->reg->meta, op->name, &op->digest);
	if (rc >= 0)
		berth_registry__reserve_fill(op->reg);
	if (rc == BERTH_ENOTFOUND)
		RETURN_AFTER(blob_unknown(op));
	if (rc < 0)
		RETURN_AFTER(berth_registry__internal(op));
	berth_registry__header(op, "Docker-Content-Digest", "%s", op->digest.str);
	berth_registry__empty(op, 202);
}

void berth_registry__blob(berth_op *op, const berth_req *req, const char *method)
{
	if (berth_registry__parse_digest(op, op->ref))
		return;
	if (strcmp(method, "DELETE") == 0)
		blob_delete(op);
	else
		blob_get(op, req);
}
