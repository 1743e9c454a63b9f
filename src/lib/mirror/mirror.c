/*
 * mirror.c - the mirror's request routing (see berth/mirror.h): which
 * upstream and local repository a /v2/ request is about, what is made
 * ready in the cache before the registry serves it, the blob exchange that
 * streams a fetch, and the error answers of the mirror itself.
 */
#include "internal.h"

#include "berth/ref.h"
#include "berth/token.h"
#include "util/buf.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NAME_MAX_LEN 255 /* repository names, as the registry caps them */

typedef enum { R_OTHER, R_MANIFEST, R_BLOB, R_UPLOAD, R_TAGS, R_REFERRERS } route;

/* A /v2/ request split into repository name, route and reference. */
typedef struct parsed {
	route kind;
	char name[NAME_MAX_LEN + 1];
	const char *rest; /* from the route's '/' on, e.g. "/manifests/latest" */
	const char *ref;  /* tag or digest (manifests, blobs) */
} parsed;

/* The mirror's own answer: an error, or a streamed blob. */
typedef struct mirror_x {
	berth_exchange x;
	berth_resp resp;
	berth_buf body;
	berth_mirror__fetch *fetch; /* streamed blob: the exchange's reference */
	char digest[BERTH_DIGEST_MAX + 1];
	char length[24];
	char *link;	    /* Link header of a paged tag list */
	char *content_type; /* of a JSON answer */
} mirror_x;

static int mx_wants_body(const berth_exchange *x)
{
	(void)x;
	return 0;
}

static int mx_body(berth_exchange *x, const char *data, size_t len)
{
	(void)x;
	(void)data;
	(void)len;
	return 1;
}

static int mx_failed(const berth_exchange *x)
{
	return ((const mirror_x *)x)->resp.status >= 400;
}

static void mx_finish(berth_exchange *x, berth_resp *resp)
{
	mirror_x *mx = (mirror_x *)x;

	*resp = mx->resp;
	if (mx->fetch && !resp->head) {
		berth_mirror__fetch_ref(mx->fetch); /* the response's own reference */
		resp->reader = berth_mirror__fetch_read;
		resp->reader_free = berth_mirror__fetch_unref;
		resp->reader_ctx = mx->fetch;
		resp->reader_length = berth_mirror__fetch_size(mx->fetch);
	}
}

static void mx_free(berth_exchange *x)
{
	mirror_x *mx = (mirror_x *)x;

	if (!mx)
		return;
	berth_mirror__fetch_unref(mx->fetch);
	berth_buf_dispose(&mx->body);
	free(mx->link);
	free(mx->content_type);
	free(mx);
}

static const berth_exchange_ops mx_ops = {mx_wants_body, mx_body, mx_failed, mx_finish, mx_free};

static mirror_x *mx_new(const char *route_label)
{
	mirror_x *mx = calloc(1, sizeof(*mx));

	if (!mx)
		return NULL;
	mx->x.ops = &mx_ops;
	mx->resp.fd = -1;
	mx->resp.route = route_label;
	berth_buf_init(&mx->body, 64 * 1024);
	return mx;
}

/* An OCI error answer. */
static int answer_error(berth_exchange **out, int status, const char *code, const char *msg)
{
	mirror_x *mx = mx_new("mirror");

	if (!mx)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (berth_registry_error_body(&mx->body, code, msg, NULL) < 0)
		berth_buf_reset(&mx->body);
	mx->resp.status = status;
	mx->resp.body = mx->body.ptr;
	mx->resp.body_len = mx->body.len;
	mx->resp.headers[0].name = "Content-Type";
	mx->resp.headers[0].value = (char *)"application/json";
	mx->resp.nheaders = 1;
	*out = &mx->x;
	return 0;
}

int berth_mirror__answer_json(berth_exchange **out, const char *label, const char *content_type,
			      berth_buf *body, const char *link)
{
	mirror_x *mx = mx_new(label);
	size_t n = 0;

	if (!mx || !(mx->content_type = strdup(content_type)) ||
	    (link && !(mx->link = strdup(link)))) {
		mx_free(mx ? &mx->x : NULL);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	berth_buf_dispose(&mx->body);
	mx->body = *body; /* taken */
	berth_buf_init(body, body->max);
	mx->resp.status = 200;
	mx->resp.body = mx->body.ptr;
	mx->resp.body_len = mx->body.len;
	mx->resp.headers[n].name = "Content-Type";
	mx->resp.headers[n++].value = mx->content_type;
	if (mx->link) {
		mx->resp.headers[n].name = "Link";
		mx->resp.headers[n++].value = mx->link;
	}
	mx->resp.nheaders = n;
	*out = &mx->x;
	return 0;
}

/* Find the last occurrence of `needle` in `path` after "/v2/". */
static const char *last_of(const char *path, const char *needle)
{
	const char *hit = NULL, *p = path + 4;

	while ((p = strstr(p, needle)) != NULL)
		hit = p++;
	return hit;
}

static int parse_path(const char *path, parsed *out)
{
	static const struct {
		const char *seg;
		route kind;
	} routes[] = {{"/blobs/uploads", R_UPLOAD},
		      {"/manifests/", R_MANIFEST},
		      {"/blobs/", R_BLOB},
		      {"/referrers/", R_REFERRERS}};
	const char *at = NULL;
	size_t len = strlen(path);

	memset(out, 0, sizeof(*out));
	out->kind = R_OTHER;
	if (strncmp(path, "/v2/", 4) != 0)
		return 0;
	if (len > 14 && strcmp(path + len - 10, "/tags/list") == 0) {
		out->kind = R_TAGS;
		at = path + len - 10;
	}
	for (size_t i = 0; !at && i < sizeof(routes) / sizeof(routes[0]); i++)
		if ((at = last_of(path, routes[i].seg)) != NULL)
			out->kind = routes[i].kind;
	if (!at || at == path + 4 || (size_t)(at - path - 4) > NAME_MAX_LEN) {
		out->kind = R_OTHER;
		return 0;
	}
	memcpy(out->name, path + 4, (size_t)(at - path - 4));
	out->name[at - path - 4] = '\0';
	out->rest = at;
	if (out->kind == R_MANIFEST || out->kind == R_BLOB)
		out->ref = strchr(at + 1, '/') + 1;
	return 0;
}

static berth_mirror__upstream *pick_upstream(berth_mirror *m, const berth_req *req)
{
	const char *ns = req->query ? req->query(req->ctx, "ns") : NULL;

	if (!ns || !*ns)
		return m->def;
	if (strcmp(ns, "registry-1.docker.io") == 0 || strcmp(ns, "index.docker.io") == 0)
		ns = "docker.io";
	for (size_t i = 0; i < m->nups; i++)
		if (strcasecmp(m->ups[i].name, ns) == 0)
			return &m->ups[i];
	return NULL;
}

/* Hand the request to the registry under the local name `local`. */
static int delegate(berth_mirror *m, const berth_req *req, const char *local, const parsed *p,
		    berth_exchange **out)
{
	berth_req r = *req;
	char *path = NULL;
	int rc;

	if (local && asprintf(&path, "/v2/%s%s", local, p->rest) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (path)
		r.path = path;
	rc = berth_registry_begin(m->reg, &r, out);
	free(path);
	return rc;
}

static int may_pull(berth_mirror *m, const berth_req *req, const char *local)
{
	return !m->has_authz ||
	       (m->authz.allowed(m->authz.ctx, req, local, BERTH_ACTION_PULL) & BERTH_ACTION_PULL);
}

/*
 * The registry's answer to a write under the local name, with its Location
 * (an upload session, a manifest or blob written) naming the repository as
 * the client does: "/v2/<local>/..." becomes "/v2/<name>/...".
 */
typedef struct renamed_x {
	berth_exchange x;
	berth_exchange *inner;
	char *local, *name, *location;
} renamed_x;

static int rx_wants_body(const berth_exchange *x)
{
	return berth_exchange_wants_body(((const renamed_x *)x)->inner);
}

static int rx_body(berth_exchange *x, const char *data, size_t len)
{
	return berth_exchange_body(((renamed_x *)x)->inner, data, len);
}

static int rx_failed(const berth_exchange *x)
{
	return berth_exchange_failed(((const renamed_x *)x)->inner);
}

static void rx_finish(berth_exchange *x, berth_resp *resp)
{
	renamed_x *rx = (renamed_x *)x;
	char from[2 * NAME_MAX_LEN + 8];

	berth_exchange_finish(rx->inner, resp);
	snprintf(from, sizeof(from), "/v2/%s/", rx->local);
	for (size_t i = 0; i < resp->nheaders; i++) {
		const char *v = resp->headers[i].value, *at;

		if (strcasecmp(resp->headers[i].name, "Location") != 0 || !v ||
		    !(at = strstr(v, from)) || rx->location)
			continue;
		if (asprintf(&rx->location, "%.*s/v2/%s/%s", (int)(at - v), v, rx->name,
			     at + strlen(from)) < 0) {
			rx->location = NULL;
			continue;
		}
		resp->headers[i].value = rx->location;
	}
}

static void rx_free(berth_exchange *x)
{
	renamed_x *rx = (renamed_x *)x;

	if (!rx)
		return;
	berth_exchange_free(rx->inner);
	free(rx->local);
	free(rx->name);
	free(rx->location);
	free(rx);
}

static const berth_exchange_ops rx_ops = {rx_wants_body, rx_body, rx_failed, rx_finish, rx_free};

/* Delegate a write under `local`, its Location renamed for the client's `p->name`. */
static int delegate_renamed(berth_mirror *m, const berth_req *req, const char *local,
			    const parsed *p, berth_exchange **out)
{
	renamed_x *rx = calloc(1, sizeof(*rx));
	int rc;

	*out = NULL;
	if (!rx || !(rx->local = strdup(local)) || !(rx->name = strdup(p->name))) {
		rx_free(rx ? &rx->x : NULL);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	rx->x.ops = &rx_ops;
	if ((rc = delegate(m, req, local, p, &rx->inner)) < 0 || !rx->inner) {
		rx_free(&rx->x);
		return rc;
	}
	*out = &rx->x;
	return 0;
}

/*
 * A push or delete through an upstream with `push: allow`. A push by a
 * caller allowed to push makes the repository local (pushed) before the
 * registry takes it; a delete is for what was pushed only. The registry
 * checks access as for any write.
 */
static int push_or_delete(berth_mirror *m, const berth_req *req, const char *local, const parsed *p,
			  berth_exchange **out)
{
	int del = strcmp(req->method, "DELETE") == 0 && p->kind != R_UPLOAD;
	unsigned want = del ? BERTH_ACTION_DELETE : BERTH_ACTION_PUSH;

	if (m->has_authz && !(m->authz.allowed(m->authz.ctx, req, local, want) & want))
		return delegate(m, req, local, p, out); /* refused there */
	if (del && !berth_mirror__pushed(m, local))
		return answer_error(out, 405, "UNSUPPORTED",
				    "this repository is mirrored from upstream: only what was "
				    "pushed here can be deleted");
	if (!del && berth_mirror__pushed_mark(m, local) < 0)
		return answer_error(out, 500, "UNKNOWN", berth_error_last());
	return delegate_renamed(m, req, local, p, out);
}

/* A blob: linked here already, in the store (link it), or fetched and streamed. */
static int blob(berth_mirror *m, berth_mirror__upstream *up, const berth_req *req, const char *repo,
		const char *local, const parsed *p, berth_exchange **out)
{
	berth_digest d;
	berth_mirror__fetch *f = NULL;
	mirror_x *mx;
	uint64_t size;
	int rc, head = strcmp(req->method, "HEAD") == 0;

	if (berth_digest_parse(&d, p->ref, strlen(p->ref)) < 0)
		return delegate(m, req, local, p, out); /* the registry answers DIGEST_INVALID */
	if (berth_meta_blob_linked(m->meta, local, &d, &size) == 0 ||
	    (berth_store_stat(m->store, &d, &size) == 0 &&
	     berth_meta_blob_link(m->meta, local, &d, size) == 0)) {
		atomic_fetch_add(&m->hits, 1);
		return delegate(m, req, local, p, out);
	}
	if (head) {
		rc = berth_client_blob_exists(up->client, repo, &d, &size);
		if (rc == BERTH_ENOTFOUND)
			return answer_error(out, 404, "BLOB_UNKNOWN", "blob unknown to upstream");
		if (rc < 0)
			goto upstream_failed;
	} else {
		if ((rc = berth_mirror__fetch_join(m, up, repo, local, &d, &f)) == BERTH_ENOTFOUND)
			return answer_error(out, 404, "BLOB_UNKNOWN", "blob unknown to upstream");
		if (rc < 0)
			goto upstream_failed;
		size = berth_mirror__fetch_size(f);
	}
	atomic_fetch_add(&m->misses, 1);
	if (!(mx = mx_new(head ? "mirror_blob_head" : "mirror_blob_get"))) {
		berth_mirror__fetch_unref(f);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	mx->fetch = f;
	snprintf(mx->digest, sizeof(mx->digest), "%s", d.str);
	mx->resp.status = 200;
	mx->resp.headers[0].name = "Content-Type";
	mx->resp.headers[0].value = (char *)"application/octet-stream";
	mx->resp.headers[1].name = "Docker-Content-Digest";
	mx->resp.headers[1].value = mx->digest;
	mx->resp.nheaders = 2;
	mx->resp.repository = NULL;
	if (head) {
		mx->resp.head = 1;
		mx->resp.head_length = size;
	}
	*out = &mx->x;
	return 0;
upstream_failed:
	return answer_error(out, 502, "UNKNOWN", berth_error_last());
}

/* A manifest: made ready in the cache, then served by the registry. */
static int manifest(berth_mirror *m, berth_mirror__upstream *up, const berth_req *req,
		    const char *repo, const char *local, const parsed *p, berth_exchange **out)
{
	int is_digest = strchr(p->ref, ':') != NULL;
	int rc;

	if (!is_digest && !berth_ref_tag_valid(p->ref, strlen(p->ref)))
		return delegate(m, req, local, p, out); /* the registry says why */
	rc = berth_mirror__manifest_ready(m, up, repo, local, p->ref, is_digest);
	if (rc == BERTH_ENOTFOUND)
		return answer_error(out, 404, "MANIFEST_UNKNOWN", "manifest unknown to upstream");
	if (rc < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "upstream %s: %s", up->name, berth_error_last());
		berth_warn("mirror: %s:%s: %s (nothing cached)", local, p->ref, msg);
		return answer_error(out, 502, "UNKNOWN", msg);
	}
	return delegate(m, req, local, p, out);
}

int berth_mirror_begin(berth_mirror *m, const berth_req *req, berth_exchange **out)
{
	berth_mirror__upstream *up;
	char repo[NAME_MAX_LEN + 16], local[2 * NAME_MAX_LEN];
	int get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	parsed p;

	*out = NULL;
	(void)parse_path(req->path, &p);
	if (p.kind == R_OTHER)
		return delegate(m, req, NULL, &p, out); /* /v2/, the catalog */
	if (!(up = pick_upstream(m, req)))
		return answer_error(out, 404, "NAME_UNKNOWN",
				    "this mirror has no upstream named by ns=");
	if ((!get || p.kind == R_UPLOAD) && !up->push)
		return answer_error(out, 405, "UNSUPPORTED",
				    "this registry is a pull-through mirror: pushes and deletes "
				    "are not accepted");
	snprintf(repo, sizeof(repo), "%s%s",
		 up->docker_hub && !strchr(p.name, '/') ? "library/" : "", p.name);
	snprintf(local, sizeof(local), "%s/%s", up->prefix, repo);
	if (!berth_ref_name_valid(local, strlen(local)) || strlen(local) > NAME_MAX_LEN)
		return answer_error(out, 400, "NAME_INVALID", "invalid repository name");
	if (!get || p.kind == R_UPLOAD)
		return push_or_delete(m, req, local, &p, out);
	if (up->push && berth_mirror__pushed(m, local))
		return delegate(m, req, local, &p, out); /* local: upstream is never asked */
	if (!may_pull(m, req, local))
		return delegate(m, req, local, &p, out); /* refused there */
	if (p.kind == R_TAGS || p.kind == R_REFERRERS) {
		int rc = p.kind == R_TAGS
				 ? berth_mirror__tags(m, up, req, p.name, repo, local, out)
				 : berth_mirror__referrers(m, up, req, repo, local,
							   p.rest + strlen("/referrers/"), out);

		return rc == 1 ? delegate(m, req, local, &p, out) : rc; /* 1: from the cache */
	}
	if (p.kind == R_BLOB)
		return blob(m, up, req, repo, local, &p, out);
	return manifest(m, up, req, repo, local, &p, out);
}

static int make_clients(berth_mirror *m)
{
	for (size_t i = 0; i < m->nups; i++) {
		berth_mirror__upstream *up = &m->ups[i];
		const char *host = strstr(up->url, "://") + 3;
		char hostbuf[BERTH_MIRROR_NAME_MAX + 1];
		berth_client_options o;
		int rc;

		snprintf(hostbuf, sizeof(hostbuf), "%.*s", (int)strcspn(host, "/"), host);
		berth_client_options_init(&o);
		o.host = hostbuf;
		o.plain_http = strncmp(up->url, "http://", 7) == 0;
		o.username = up->username;
		o.password = up->password;
		/* Only what the configuration says, never the server user's credential
		 * files: an auth file that cannot exist (the search stops there). */
		o.auth_file = "/proc/self/berth-mirror-has-no-auth-file";
		o.retries = 1;
		if ((rc = berth_client_new(&up->client, &o)) < 0)
			return rc;
	}
	return 0;
}

int berth_mirror_new(berth_mirror **out, berth_registry *reg, berth_store *store, berth_meta *meta,
		     const char *config_json)
{
	berth_mirror *m = calloc(1, sizeof(*m));
	int rc;

	*out = NULL;
	if (!m)
		return berth_error_set(BERTH_ERROR, "out of memory");
	m->reg = reg;
	m->store = store;
	m->meta = meta;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->idle, NULL);
	if ((rc = berth_mirror__config_load(m, config_json)) < 0 || (rc = make_clients(m)) < 0) {
		berth_mirror_free(m);
		return rc;
	}
	for (size_t i = 0; i < m->nups; i++)
		berth_info("mirror: upstream %s at %s (ttl %lds)%s", m->ups[i].name, m->ups[i].url,
			   m->ups[i].ttl, &m->ups[i] == m->def ? ", the default" : "");
	*out = m;
	return 0;
}

void berth_mirror_free(berth_mirror *m)
{
	if (!m)
		return;
	berth_mirror__fetch_drain(m);
	berth_mirror__tags_free(m);
	berth_mirror__upstreams_free(m);
	pthread_cond_destroy(&m->idle);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void berth_mirror_set_authz(berth_mirror *m, const berth_registry_authz *a)
{
	m->has_authz = a != NULL;
	if (a)
		m->authz = *a;
}

void berth_mirror_get_stats(berth_mirror *m, berth_mirror_stats *out)
{
	out->hits = atomic_load(&m->hits);
	out->misses = atomic_load(&m->misses);
	out->stale_hits = atomic_load(&m->stale_hits);
	out->revalidations = atomic_load(&m->revalidations);
	out->upstream_bytes = atomic_load(&m->upstream_bytes);
	out->upstream_errors = atomic_load(&m->upstream_errors);
	out->fetches_shared = atomic_load(&m->fetches_shared);
}
