/*
 * registry.c - the registry object, routing of /v2 paths and the op
 * lifecycle (begin, body, finish, free).
 *
 * Repository names may contain '/', so a path is matched from its end:
 * the last component (reference, digest, upload id, "list") and the one
 * before it ("manifests", "blobs", "uploads", "tags", "referrers") decide the
 * route and everything before is the name. Each API family then validates
 * its own arguments (blobs.c, uploads.c, manifests.c, lists.c).
 */
#include "lib/registry/internal.h"

#include "berth/ref.h"
#include "util/array.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void berth_registry_config_defaults(berth_registry_config *cfg)
{
	cfg->max_manifest_bytes = BERTH_MANIFEST_MAX;
	cfg->max_blob_bytes = 0;
	cfg->default_page_size = 0;
	cfg->max_page_size = 10000;
	cfg->max_uploads_per_repository = 0;
	cfg->max_uploads_per_account = 0;
	cfg->upload_purge_age = 7L * 86400;
	cfg->reserve_path = NULL;
	cfg->reserve_bytes = 0;
}

/* ---- the reserve file (see berth_registry_config) ---- */

void berth_registry__reserve_fill(berth_registry *r)
{
	char tmp[PATH_MAX];
	int fd, err;

	if (!r->reserve_path || !r->cfg.reserve_bytes || access(r->reserve_path, F_OK) == 0)
		return;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", r->reserve_path) >= (int)sizeof(tmp))
		return;
	/* O_EXCL: one thread makes it; another finds it there next time. */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return;
	err = posix_fallocate(fd, 0, (off_t)r->cfg.reserve_bytes);
	if (close(fd) != 0 && !err)
		err = errno;
	if (err || rename(tmp, r->reserve_path) != 0) {
		(void)unlink(tmp);
		return;
	}
	berth_debug("reserve file %s (%" PRIu64 " bytes) in place", r->reserve_path,
		    r->cfg.reserve_bytes);
}

int berth_registry__reserve_release(berth_registry *r)
{
	if (!r->reserve_path || unlink(r->reserve_path) != 0)
		return 0;
	berth_warn("the disk is full: released the reserve file %s so that deletes can proceed",
		   r->reserve_path);
	return 1;
}

int berth_registry_new(berth_registry **out, berth_store *store, berth_meta *meta,
		       const berth_registry_config *cfg)
{
	berth_registry *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return berth_error_set(BERTH_ERROR, "out of memory");
	r->store = store;
	r->meta = meta;
	if (cfg)
		r->cfg = *cfg;
	else
		berth_registry_config_defaults(&r->cfg);
	if (!r->cfg.max_manifest_bytes)
		r->cfg.max_manifest_bytes = BERTH_MANIFEST_MAX;
	r->cfg.reserve_path = NULL; /* our own copy below */
	if (cfg && cfg->reserve_path && !(r->reserve_path = strdup(cfg->reserve_path))) {
		free(r);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	atomic_init(&r->uploads, 0);
	berth_registry__reserve_fill(r);
	*out = r;
	return 0;
}

void berth_registry_free(berth_registry *r)
{
	if (!r)
		return;
	free(r->reserve_path);
	free(r);
}

void berth_registry_set_authz(berth_registry *r, const berth_registry_authz *a)
{
	if (a && a->allowed && a->listable && a->refuse && a->anonymous) {
		r->authz = *a;
		r->has_authz = 1;
	} else {
		memset(&r->authz, 0, sizeof(r->authz));
		r->has_authz = 0;
	}
}

void berth_registry_set_gate(berth_registry *r, const berth_registry_gate *g)
{
	if (g && g->check) {
		r->gate = *g;
		r->has_gate = 1;
	} else {
		memset(&r->gate, 0, sizeof(r->gate));
		r->has_gate = 0;
	}
}

int berth_registry__gate(berth_op *op, const berth_meta_manifest *info)
{
	berth_authz_refusal out;
	int rc;

	if (!op->reg->has_gate)
		return 0;
	rc = op->reg->gate.check(op->reg->gate.ctx, op->req, op->name, info, &out);
	if (rc == 0)
		return 0;
	if (rc < 0) {
		berth_registry__internal(op);
		return -1;
	}
	/* Who may push reads what it pushed, to sign it (see berth_registry_gate). */
	if (op->reg->has_authz && op->reg->authz.may_push &&
	    op->reg->authz.may_push(op->reg->authz.ctx, op->req, op->name))
		return 0;
	/*
	 * A caller without credentials may be a signer who has not logged in
	 * yet (clients try public projects anonymously): ask it to, as for any
	 * refusal. With a token, anonymous or not, the policy's 403 is final.
	 */
	if (op->reg->has_authz && op->reg->authz.anonymous(op->reg->authz.ctx, op->req)) {
		berth_registry__refuse(op, op->name, BERTH_ACTION_PULL);
		return -1;
	}
	if (op->reg->gate.refused)
		op->reg->gate.refused(op->reg->gate.ctx, op->req, op->name, info, &out);
	berth_registry__error(op, out.status ? out.status : 403, out.code ? out.code : "DENIED",
			      NULL, "%s", out.message);
	return -1;
}

long berth_registry_uploads_in_progress(berth_registry *r)
{
	return atomic_load(&r->uploads);
}

/* ---- routing ---- */

enum route { R_BASE, R_CATALOG, R_MANIFEST, R_BLOB, R_UPLOAD_START, R_UPLOAD, R_TAGS, R_REFERRERS };

/*
 * The methods of each route, as the Allow header of its 405 lists them
 * (RFC 9110 15.5.6). HEAD goes wherever GET does, with the same headers.
 */
static const char *const allowed_methods[] = {
	[R_BASE] = "GET, HEAD",
	[R_CATALOG] = "GET, HEAD",
	[R_MANIFEST] = "GET, HEAD, PUT, DELETE",
	[R_BLOB] = "GET, HEAD, DELETE",
	[R_UPLOAD_START] = "POST",
	[R_UPLOAD] = "GET, HEAD, PATCH, PUT, DELETE",
	[R_TAGS] = "GET, HEAD",
	[R_REFERRERS] = "GET, HEAD",
};

static int is_method(const char *m, const char *want)
{
	return strcmp(m, want) == 0;
}

/* 1 if `m` is one of the route's methods; otherwise answer 405 with Allow and return 0. */
static int method_allowed(berth_op *op, enum route rt, const char *m)
{
	const char *list = allowed_methods[rt];
	size_t n = strlen(m);

	for (const char *p = list; n && (p = strstr(p, m)) != NULL; p += n) {
		if ((p == list || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
			return 1;
	}
	berth_registry__error(op, 405, "UNSUPPORTED", NULL, "method %.16s not allowed here", m);
	berth_registry__header(op, "Allow", "%s", list);
	return 0;
}

/* What a route needs (BERTH_ACTION_* bits); upload sessions are all push. */
static unsigned needed_actions(enum route rt, const char *m)
{
	switch (rt) {
	case R_MANIFEST:
	case R_BLOB:
		if (is_method(m, "DELETE"))
			return BERTH_ACTION_DELETE;
		return is_method(m, "PUT") ? BERTH_ACTION_PUSH : BERTH_ACTION_PULL;
	case R_UPLOAD_START:
	case R_UPLOAD: return BERTH_ACTION_PUSH;
	case R_BASE: return 0;
	case R_CATALOG:
	case R_TAGS:
	case R_REFERRERS: return BERTH_ACTION_PULL;
	}
	return BERTH_ACTION_ALL;
}

static void unknown_route(berth_op *op)
{
	op->resp.route = "unknown";
	berth_registry__error(op, 404, "UNSUPPORTED", NULL, "unknown API endpoint");
}

/* Does [p, p+len) end with the component `comp` (preceded by '/' or start)?
 * On success *rest_len is the length before that component's separator. */
static int ends_with_comp(const char *p, size_t len, const char *comp, size_t *rest_len)
{
	size_t cl = strlen(comp);

	if (len < cl || memcmp(p + len - cl, comp, cl) != 0)
		return 0;
	if (len == cl) {
		*rest_len = 0;
		return 1;
	}
	if (p[len - cl - 1] != '/')
		return 0;
	*rest_len = len - cl - 1;
	return 1;
}

static void dispatch(berth_op *op, const berth_req *req)
{
	const char *path = req->path ? req->path : "";
	const char *m = req->method ? req->method : "";
	const char *p, *slash, *last;
	size_t len, plen, nlen = 0, blen;
	enum route rt;

	if (strncmp(path, "/v2", 3) != 0 || (path[3] != '/' && path[3] != '\0'))
		RETURN_AFTER(unknown_route(op));
	p = path + 3;
	if (*p == '/')
		p++;
	if (*p == '\0') {
		op->resp.route = "base";
		if (!method_allowed(op, R_BASE, m))
			return;
		if (berth_registry__authorize(op, NULL, 0))
			return;
		if (berth_buf_puts(&op->out, "{}"))
			RETURN_AFTER(berth_registry__internal(op));
		RETURN_AFTER(berth_registry__body(op, 200, "application/json"));
	}
	if (strcmp(p, "_catalog") == 0) {
		op->resp.route = "catalog";
		if (!method_allowed(op, R_CATALOG, m))
			return;
		if (berth_registry__authorize(op, NULL, BERTH_ACTION_PULL))
			return;
		RETURN_AFTER(berth_registry__catalog(op, req));
	}
	len = strlen(p);
	slash = memrchr(p, '/', len);
	if (!slash)
		RETURN_AFTER(unknown_route(op));
	last = slash + 1;
	plen = (size_t)(slash - p);
	if (ends_with_comp(p, plen, "manifests", &nlen)) {
		rt = R_MANIFEST;
	} else if (ends_with_comp(p, plen, "blobs", &nlen)) {
		rt = strcmp(last, "uploads") == 0 ? R_UPLOAD_START : R_BLOB;
	} else if (ends_with_comp(p, plen, "uploads", &blen) &&
		   ends_with_comp(p, blen, "blobs", &nlen)) {
		rt = *last ? R_UPLOAD : R_UPLOAD_START;
	} else if (strcmp(last, "list") == 0 && ends_with_comp(p, plen, "tags", &nlen)) {
		rt = R_TAGS;
	} else if (ends_with_comp(p, plen, "referrers", &nlen)) {
		rt = R_REFERRERS;
	} else {
		RETURN_AFTER(unknown_route(op));
	}
	if (nlen == 0 || (rt != R_UPLOAD_START && rt != R_TAGS && *last == '\0'))
		RETURN_AFTER(unknown_route(op));

	switch (rt) {
	case R_MANIFEST:
		op->resp.route = is_method(m, "GET")	? "manifest_get"
				 : is_method(m, "HEAD") ? "manifest_head"
				 : is_method(m, "PUT")	? "manifest_put"
							: "manifest_delete";
		break;
	case R_BLOB:
		op->resp.route = is_method(m, "GET")	? "blob_get"
				 : is_method(m, "HEAD") ? "blob_head"
							: "blob_delete";
		break;
	case R_UPLOAD_START: op->resp.route = "upload_start"; break;
	case R_UPLOAD:
		op->resp.route = is_method(m, "GET") || is_method(m, "HEAD") ? "upload_get"
				 : is_method(m, "PATCH")		     ? "upload_patch"
				 : is_method(m, "PUT")			     ? "upload_put"
									     : "upload_delete";
		break;
	case R_TAGS: op->resp.route = "tags"; break;
	case R_REFERRERS: op->resp.route = "referrers"; break;
	default: break;
	}
	if (!method_allowed(op, rt, m)) {
		op->resp.route = "method_not_allowed";
		return;
	}
	if (!berth_ref_name_valid(p, nlen))
		RETURN_AFTER(berth_registry__error(op, 400, "NAME_INVALID", NULL,
						   "invalid repository name"));
	op->name = berth_pool_strndup(&op->pool, p, nlen);
	if (!op->name)
		RETURN_AFTER(berth_registry__error(op, 500, "UNKNOWN", NULL, "out of memory"));

	op->ref = berth_pool_strdup(&op->pool, last);
	if (!op->ref)
		RETURN_AFTER(berth_registry__error(op, 500, "UNKNOWN", NULL, "out of memory"));
	if (berth_registry__authorize(op, op->name, needed_actions(rt, m)))
		return;
	switch (rt) {
	case R_MANIFEST: RETURN_AFTER(berth_registry__manifest(op, req, m));
	case R_BLOB: RETURN_AFTER(berth_registry__blob(op, req, m));
	case R_UPLOAD_START: RETURN_AFTER(berth_registry__upload_start(op, req));
	case R_UPLOAD: RETURN_AFTER(berth_registry__upload(op, req, m));
	case R_TAGS: RETURN_AFTER(berth_registry__tags(op, req));
	case R_REFERRERS: RETURN_AFTER(berth_registry__referrers(op, req));
	default: RETURN_AFTER(unknown_route(op));
	}
}

/* ---- op lifecycle ---- */

/*
 * Each thread keeps its last freed op, with the memory of its buffers, for
 * the next request: the server's worker threads then serve a stream of
 * small requests (manifest GETs, HEADs) without touching malloc. Buffers that
 * grew past OP_KEEP_BYTES are released rather than kept.
 */
#define OP_KEEP_BYTES (256 * 1024)

static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;

static void op_destroy(void *p)
{
	berth_op *op = p;

	berth_buf_dispose(&op->out);
	berth_buf_dispose(&op->in);
	berth_pool_dispose(&op->pool);
	free(op);
}

static void spare_init(void)
{
	(void)pthread_key_create(&spare_key, op_destroy);
}

static berth_op *op_take(void)
{
	berth_op *op;
	berth_buf out, in;

	pthread_once(&spare_once, spare_init);
	op = pthread_getspecific(spare_key);
	if (!op)
		return calloc(1, sizeof(berth_op));
	pthread_setspecific(spare_key, NULL);
	out = op->out;
	in = op->in;
	memset(op, 0, sizeof(*op));
	op->out = out;
	op->in = in;
	berth_buf_reset(&op->out);
	berth_buf_reset(&op->in);
	return op;
}

static void op_give_back(berth_op *op)
{
	pthread_once(&spare_once, spare_init);
	if (op->out.cap > OP_KEEP_BYTES)
		berth_buf_dispose(&op->out);
	if (op->in.cap > OP_KEEP_BYTES)
		berth_buf_dispose(&op->in);
	berth_pool_reset(&op->pool);
	if (pthread_getspecific(spare_key) || pthread_setspecific(spare_key, op) != 0)
		op_destroy(op);
}

static const berth_exchange_ops op_ops;

int berth_registry_begin(berth_registry *r, const berth_req *req, berth_exchange **out)
{
	berth_op *op = op_take();

	*out = NULL;
	if (!op)
		return berth_error_set(BERTH_ERROR, "out of memory");
	op->x.ops = &op_ops;
	op->reg = r;
	berth_pool_init(&op->pool);
	if (!op->out.ptr)
		berth_buf_init(&op->out, 0);
	op->in.max = r->cfg.max_manifest_bytes;
	op->resp.fd = -1;
	op->resp.status = 500;
	op->resp.route = "unknown";
	op->is_head = req->method && strcmp(req->method, "HEAD") == 0;
	if (req->account)
		op->account =
			berth_pool_strndup(&op->pool, req->account, strnlen(req->account, 512));
	if (req->base_url && *req->base_url) {
		size_t bl = strlen(req->base_url);

		/* "http://h:p/" and "http://h:p" both give "http://h:p/v2/..." */
		while (bl && req->base_url[bl - 1] == '/')
			bl--;
		op->base_url = berth_pool_strndup(&op->pool, req->base_url, bl);
	}
	berth_registry__header(op, "Docker-Distribution-API-Version", "registry/2.0");
	op->req = req;
	dispatch(op, req);
	op->req = NULL;
	*out = &op->x;
	return 0;
}

static int op_wants_body(const berth_exchange *x)
{
	const berth_op *op = (const berth_op *)x;

	return op->wants_body && !op->failed;
}

static int op_failed(const berth_exchange *x)
{
	return ((const berth_op *)x)->failed;
}

static int op_body(berth_exchange *x, const char *data, size_t len)
{
	berth_op *op = (berth_op *)x;

	op->resp.bytes_in += len;
	if (op->failed)
		return 1;
	if (!op->on_body || !len)
		return 0;
	if (op->on_body(op, data, len) || op->failed) {
		op->failed = 1;
		return 1;
	}
	return 0;
}

static void op_finish(berth_exchange *x, berth_resp *resp)
{
	berth_op *op = (berth_op *)x;

	if (!op->failed && op->on_finish) {
		berth_registry__finish_fn f = op->on_finish;

		op->on_finish = NULL;
		f(op);
	}
	op->resp.repository = op->name;
	op->resp.reference = op->ref;
	*resp = op->resp;
}

static void op_free(berth_exchange *x)
{
	berth_op *op = (berth_op *)x;

	/* A client that vanished mid-body leaves its upload uncommitted. */
	berth_registry__upload_release(op);
	if (op->resp.fd >= 0)
		close(op->resp.fd);
	op_give_back(op);
}

static const berth_exchange_ops op_ops = {
	.wants_body = op_wants_body,
	.body = op_body,
	.failed = op_failed,
	.finish = op_finish,
	.free = op_free,
};

/* ---- the exchange, whichever module made it ---- */

int berth_exchange_wants_body(const berth_exchange *x)
{
	return x->ops->wants_body(x);
}

int berth_exchange_body(berth_exchange *x, const char *data, size_t len)
{
	return x->ops->body(x, data, len);
}

int berth_exchange_failed(const berth_exchange *x)
{
	return x->ops->failed(x);
}

void berth_exchange_finish(berth_exchange *x, berth_resp *resp)
{
	x->ops->finish(x, resp);
}

void berth_exchange_free(berth_exchange *x)
{
	if (x)
		x->ops->free(x);
}

/* ---- maintenance ---- */

typedef struct {
	char **ids;
	size_t n, cap;
	int oom;
} id_list;

static int collect_id(void *ctx, const char *id)
{
	id_list *l = ctx;
	char **ids = berth_array_room(l->ids, l->n, &l->cap, sizeof(*ids));
	char *c;

	if (!ids) {
		l->oom = 1;
		return 1;
	}
	l->ids = ids;
	if (!(c = strdup(id))) {
		l->oom = 1;
		return 1;
	}
	l->ids[l->n++] = c;
	return 0;
}

int berth_registry_purge_uploads(berth_registry *r, long max_age, int *purged)
{
	time_t cutoff = time(NULL) - (max_age > 0 ? max_age : 0);
	id_list l = {0};
	int count = 0, store_count = 0, rc;

	if (purged)
		*purged = 0;
	/* Collect first: deleting rows while iterating them is not portable
	 * across metadata drivers. */
	rc = berth_meta_upload_stale(r->meta, cutoff, collect_id, &l);
	if (rc < 0)
		goto done;
	if (l.oom) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (!berth_store_upload_id_valid(l.ids[i])) {
			rc = berth_meta_upload_delete(r->meta, l.ids[i]);
		} else {
			rc = berth_store_upload_delete(r->store, l.ids[i]);
			if (rc == 0 || rc == BERTH_ENOTFOUND)
				rc = berth_meta_upload_delete(r->meta, l.ids[i]);
		}
		if (rc < 0 && rc != BERTH_ENOTFOUND)
			goto done;
		count++;
	}
	/* Store-side uploads with no (or a lost) meta row. */
	rc = berth_store_upload_purge(r->store, cutoff, &store_count);
	if (rc < 0)
		goto done;
	count += store_count;
	rc = 0;
done:
	for (size_t i = 0; i < l.n; i++)
		free(l.ids[i]);
	free(l.ids);
	if (purged)
		*purged = count;
	return rc;
}
