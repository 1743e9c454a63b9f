/*
 * lists.c - the listing endpoints: GET /v2/<name>/tags/list, /v2/_catalog
 * (paginated with ?n= and ?last=, Link: rel="next" while names remain) and
 * /v2/<name>/referrers/<digest> (an OCI image index, optionally filtered by
 * ?artifactType=).
 */
#include "lib/registry/internal.h"

#include "berth/oci.h"
#include "berth/ref.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define NAME_BUF (BERTH_NAME_MAX + 1)

typedef struct {
	berth_op *op;
	long count;
	char last[NAME_BUF];
	int rc;
	/* filtered listing (the catalog with access control on) */
	int filter;
	long limit; /* names wanted; < 0 = all */
	int more;   /* a listable name remained after the page */
} list_ctx;

static int add_name(void *ctx, const char *name)
{
	list_ctx *c = ctx;
	const berth_registry *r = c->op->reg;

	if (c->filter) {
		if (!r->authz.listable(r->authz.ctx, c->op->req, name))
			return 0;
		if (c->limit >= 0 && c->count >= c->limit) {
			c->more = 1;
			return 1;
		}
	}

	if (c->count && (c->rc = berth_buf_puts(&c->op->out, ",")) != 0)
		return 1;
	if ((c->rc = berth_buf_put_json_string(&c->op->out, name)) != 0)
		return 1;
	snprintf(c->last, sizeof(c->last), "%s", name);
	c->count++;
	return 0;
}

/*
 * The page size: ?n= if given (digits only; clamped to max_page_size), else
 * the configured default; -1 means no limit. Returns 0, or -1 after
 * answering 400.
 */
static int page_size(berth_op *op, const berth_req *req, long *n)
{
	const berth_registry_config *cfg = &op->reg->cfg;
	const char *s = berth_registry__req_query(op, req, "n");
	long v = 0;

	if (!s) {
		*n = cfg->default_page_size > 0 ? cfg->default_page_size : -1;
		return 0;
	}
	if (!*s)
		goto invalid;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			goto invalid;
		if (v <= (LONG_MAX - 9) / 10)
			v = v * 10 + (*p - '0');
		else
			v = LONG_MAX;
	}
	if (cfg->max_page_size > 0 && v > cfg->max_page_size)
		v = cfg->max_page_size;
	*n = v;
	return 0;
invalid:
	berth_registry__error(op, 400, "PAGINATION_NUMBER_INVALID", NULL,
			      "invalid number of results requested: \"%.40s\"", s);
	return -1;
}

typedef int (*lister)(berth_op *op, const char *last, long n, list_ctx *c, int *more);

static int list_tags(berth_op *op, const char *last, long n, list_ctx *c, int *more)
{
	return berth_meta_tags(op->reg->meta, op->name, last, n, add_name, c, more);
}

static int list_catalog(berth_op *op, const char *last, long n, list_ctx *c, int *more)
{
	int rc;

	if (!op->reg->has_authz || !op->req)
		return berth_meta_catalog(op->reg->meta, last, n, add_name, c, more);
	/* Only what the caller may pull is listed: filter every name, and count
	 * the page in listed names. */
	c->filter = 1;
	c->limit = n;
	rc = berth_meta_catalog(op->reg->meta, last, -1, add_name, c, NULL);
	*more = c->more;
	return rc;
}

/* Shared by tags and catalog: `head` opens the JSON, `link_path` the Link. */
static void paginated(berth_op *op, const berth_req *req, const char *head, lister list,
		      const char *link_path)
{
	const char *last = berth_registry__req_query(op, req, "last");
	list_ctx c = {op, 0, "", 0, 0, -1, 0};
	int more = 0, rc;
	long n;

	if (page_size(op, req, &n))
		return;
	/* Every name and tag is at most BERTH_NAME_MAX bytes, and so is a position among them. */
	if (last && strnlen(last, BERTH_NAME_MAX + 1) > BERTH_NAME_MAX)
		RETURN_AFTER(berth_registry__error(op, 400, "UNSUPPORTED", NULL,
						   "last= is longer than %d bytes",
						   BERTH_NAME_MAX));
	if (berth_buf_puts(&op->out, head) || berth_buf_puts(&op->out, "["))
		RETURN_AFTER(berth_registry__internal(op));
	if (n != 0) {
		rc = list(op, last && *last ? last : NULL, n, &c, &more);
		if (c.rc)
			RETURN_AFTER(berth_registry__internal(op));
		if (rc < 0)
			RETURN_AFTER(berth_registry__internal(op));
	}
	if (berth_buf_puts(&op->out, "]}"))
		RETURN_AFTER(berth_registry__internal(op));
	if (more && n > 0 && c.count > 0)
		berth_registry__header(op, "Link", "<%s?n=%ld&last=%s>; rel=\"next\"", link_path, n,
				       c.last);
	berth_registry__body(op, 200, "application/json");
}

void berth_registry__tags(berth_op *op, const berth_req *req)
{
	char *head, *link;
	int rc = berth_meta_repo_exists(op->reg->meta, op->name);

	if (rc == BERTH_ENOTFOUND)
		RETURN_AFTER(berth_registry__error(op, 404, "NAME_UNKNOWN", NULL,
						   "repository name not known to registry"));
	if (rc < 0)
		RETURN_AFTER(berth_registry__internal(op));
	link = berth_pool_printf(&op->pool, "/v2/%s/tags/list", op->name);
	if (!link || berth_buf_puts(&op->out, "{\"name\":") ||
	    berth_buf_put_json_string(&op->out, op->name))
		RETURN_AFTER(berth_registry__error(op, 500, "UNKNOWN", NULL, "out of memory"));
	head = ",\"tags\":";
	paginated(op, req, head, list_tags, link);
}

void berth_registry__catalog(berth_op *op, const berth_req *req)
{
	paginated(op, req, "{\"repositories\":", list_catalog, "/v2/_catalog");
}

/* ---- referrers ---- */

typedef struct {
	berth_op *op;
	long count;
	int rc;
} referrer_ctx;

static int add_referrer(void *ctx, const berth_meta_referrer *r)
{
	referrer_ctx *c = ctx;
	berth_buf *b = &c->op->out;
	int rc;

	rc = berth_buf_puts(b, c->count ? ",{\"mediaType\":" : "{\"mediaType\":");
	if (!rc)
		rc = berth_buf_put_json_string(b, r->media_type ? r->media_type : "");
	if (!rc)
		rc = berth_buf_puts(b, ",\"digest\":");
	if (!rc)
		rc = berth_buf_put_json_string(b, r->digest);
	if (!rc)
		rc = berth_buf_printf(b, ",\"size\":%" PRIu64, r->size);
	if (!rc && r->artifact_type) {
		rc = berth_buf_puts(b, ",\"artifactType\":");
		if (!rc)
			rc = berth_buf_put_json_string(b, r->artifact_type);
	}
	/* Annotations are the compact JSON object the manifest parser produced. */
	if (!rc && r->annotations && *r->annotations)
		rc = berth_buf_printf(b, ",\"annotations\":%s", r->annotations);
	if (!rc)
		rc = berth_buf_puts(b, "}");
	c->count++;
	c->rc = rc;
	return rc ? 1 : 0;
}

void berth_registry__referrers(berth_op *op, const berth_req *req)
{
	const char *filter = berth_registry__req_query(op, req, "artifactType");
	referrer_ctx c = {op, 0, 0};
	int rc;

	if (berth_registry__parse_digest(op, op->ref))
		return;
	if (filter && !*filter)
		filter = NULL;
	if (berth_buf_puts(&op->out, "{\"schemaVersion\":2,\"mediaType\":\"" BERTH_MT_OCI_INDEX
				     "\",\"manifests\":["))
		RETURN_AFTER(berth_registry__internal(op));
	rc = berth_meta_referrers(op->reg->meta, op->name, &op->digest, filter, add_referrer, &c);
	if (c.rc || (rc < 0 && rc != BERTH_ENOTFOUND))
		RETURN_AFTER(berth_registry__internal(op));
	if (berth_buf_puts(&op->out, "]}"))
		RETURN_AFTER(berth_registry__internal(op));
	if (filter)
		berth_registry__header(op, "OCI-Filters-Applied", "artifactType");
	berth_registry__body(op, 200, BERTH_MT_OCI_INDEX);
}
