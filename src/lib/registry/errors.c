/*
 * errors.c - building responses: headers from the op's pool, OCI error
 * bodies ({"errors":[{"code","message","detail"}]}) and the small success
 * shapes shared by every API family.
 *
 * Content-Length is never added as a header: the server derives it from
 * body_len, fd_length or head_length.
 */
#include "lib/registry/internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void vheader(berth_op *op, const char *name, const char *fmt, va_list ap)
{
	berth_resp *r = &op->resp;
	char small[1];
	va_list cp;
	char *v;
	int n;

	assert(r->nheaders < BERTH_RESP_MAX_HEADERS);
	if (r->nheaders >= BERTH_RESP_MAX_HEADERS)
		return;
	va_copy(cp, ap);
	n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0 || !(v = berth_pool_alloc(&op->pool, (size_t)n + 1)))
		return; /* OOM: the header is dropped rather than the response */
	vsnprintf(v, (size_t)n + 1, fmt, ap);
	r->headers[r->nheaders].name = name;
	r->headers[r->nheaders].value = v;
	r->nheaders++;
}

void berth_registry__header(berth_op *op, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vheader(op, name, fmt, ap);
	va_end(ap);
}

void berth_registry__location(berth_op *op, const char *fmt, ...)
{
	char path[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	berth_registry__header(op, "Location", "%s%s", op->base_url ? op->base_url : "", path);
}

/* Drop headers set so far except the API version (always the first) and
 * any body or fd chosen before the failure. */
static void reset_response(berth_op *op)
{
	berth_resp *r = &op->resp;

	r->nheaders = r->nheaders ? 1 : 0;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->fd_offset = r->fd_length = 0;
	r->body = NULL;
	r->body_len = 0;
	r->head = 0;
	r->head_length = 0;
	berth_buf_reset(&op->out);
	op->out.max = 0;
}

int berth_registry_error_body(berth_buf *b, const char *code, const char *message,
			      const char *detail_json)
{
	int rc = berth_buf_puts(b, "{\"errors\":[{\"code\":");

	if (!rc)
		rc = berth_buf_put_json_string(b, code);
	if (!rc)
		rc = berth_buf_puts(b, ",\"message\":");
	if (!rc)
		rc = berth_buf_put_json_string(b, message);
	if (!rc && detail_json)
		rc = berth_buf_printf(b, ",\"detail\":%s", detail_json);
	if (!rc)
		rc = berth_buf_puts(b, "}]}");
	return rc;
}

void berth_registry__error(berth_op *op, int status, const char *code, const char *detail,
			   const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reset_response(op);
	op->failed = 1;
	op->resp.status = status;
	rc = berth_registry_error_body(&op->out, code, msg, detail);
	if (rc) {
		/* OOM while describing the error: send the status alone. */
		berth_buf_reset(&op->out);
		return;
	}
	berth_registry__body(op, status, "application/json");
	op->failed = 1;
}

void berth_registry__internal(berth_op *op)
{
	const char *m = berth_error_last();

	/*
	 * "Retry later" (the metadata database unreachable or restarting, a
	 * lock held past its timeout): 503, so clients and load balancers retry.
	 */
	if (berth_error_last_code() == BERTH_EBUSY) {
		berth_registry__error(op, 503, "UNAVAILABLE", NULL, "%s",
				      *m ? m : "temporarily unavailable");
		berth_registry__header(op, "Retry-After", "1");
		return;
	}
	berth_registry__error(op, 500, "UNKNOWN", NULL, "%s", *m ? m : "internal error");
}

void berth_registry__empty(berth_op *op, int status)
{
	op->resp.status = status;
	op->resp.body = NULL;
	op->resp.body_len = 0;
}

void berth_registry__body(berth_op *op, int status, const char *content_type)
{
	op->resp.status = status;
	berth_registry__header(op, "Content-Type", "%s", content_type);
	op->resp.body = op->out.ptr ? op->out.ptr : "";
	op->resp.body_len = op->out.len;
	if (op->is_head) {
		op->resp.head = 1;
		op->resp.head_length = op->out.len;
	}
}

int berth_registry__parse_digest(berth_op *op, const char *s)
{
	if (s && berth_digest_parse(&op->digest, s, strlen(s)) == 0)
		return 0;
	berth_registry__error(op, 400, "DIGEST_INVALID", NULL, "invalid digest \"%.200s\"",
			      s ? s : "");
	return -1;
}

int berth_registry__can_read(berth_op *op, const char *repo)
{
	const berth_registry *r = op->reg;

	/* Without access control every repository is readable by everyone. */
	if (!r->has_authz)
		return 1;
	if (!op->req)
		return 0;
	return (r->authz.allowed(r->authz.ctx, op->req, repo, BERTH_ACTION_PULL) &
		BERTH_ACTION_PULL) != 0;
}

void berth_registry__refuse(berth_op *op, const char *repo, unsigned wanted)
{
	const berth_registry *r = op->reg;
	berth_authz_refusal ref;

	memset(&ref, 0, sizeof(ref));
	ref.status = 403;
	ref.code = "DENIED";
	snprintf(ref.message, sizeof(ref.message), "requested access to the resource is denied");
	r->authz.refuse(r->authz.ctx, op->req, repo, wanted, &ref);
	if (ref.status != 401 && ref.status != 403 && ref.status != 503)
		ref.status = 403;
	berth_registry__error(op, ref.status, ref.code ? ref.code : "DENIED", NULL, "%s",
			      ref.message);
	if (ref.status == 503)
		berth_registry__header(op, "Retry-After", "1");
	else if (ref.challenge[0])
		berth_registry__header(op, "WWW-Authenticate", "%s", ref.challenge);
}

int berth_registry__authorize(berth_op *op, const char *repo, unsigned wanted)
{
	const berth_registry *r = op->reg;

	if (!r->has_authz || !op->req)
		return 0;
	if (!repo && !wanted) {
		/* The API base: open to every authenticated caller. */
		if (!r->authz.anonymous(r->authz.ctx, op->req))
			return 0;
	} else if ((r->authz.allowed(r->authz.ctx, op->req, repo, wanted) & wanted) == wanted) {
		return 0;
	}
	berth_registry__refuse(op, repo, wanted);
	return -1;
}

const char *berth_registry__req_header(berth_op *op, const berth_req *req, const char *name)
{
	const char *v = req->header ? req->header(req->ctx, name) : NULL;

	return v ? berth_pool_strdup(&op->pool, v) : NULL;
}

const char *berth_registry__req_query(berth_op *op, const berth_req *req, const char *name)
{
	const char *v = req->query ? req->query(req->ctx, name) : NULL;

	return v ? berth_pool_strdup(&op->pool, v) : NULL;
}
