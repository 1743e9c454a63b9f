/*
 * fake_registry.h - an in-process registry (libmicrohttpd) for the client
 * tests, small enough to misbehave on purpose.
 *
 * It keeps blobs, manifests and upload sessions in memory and speaks enough
 * of the distribution API for the client: /v2/, blobs (GET/HEAD, uploads
 * with POST/PATCH/PUT/GET/DELETE, mount), manifests, paginated tags, and a
 * token endpoint at /token. Each test sets knobs in `fr->cfg` before the
 * requests it cares about (under fr_lock when the server may be busy):
 * Basic or Bearer auth, failures (5xx, 429), wrong or truncated blob bytes,
 * redirect loops, a huge manifest, a connection dropped mid-PATCH. Counters
 * record what the client did.
 *
 * Included by each tests/unit/client/<aspect>.c (each one executable).
 */
#ifndef BERTH_TEST_FAKE_REGISTRY_H
#define BERTH_TEST_FAKE_REGISTRY_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <microhttpd.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "berth/client.h"
#include "berth/digest.h"
#include "util/buf.h"
#include "util/fs.h"

typedef struct fr_blob {
	char digest[BERTH_DIGEST_MAX];
	char *data;
	size_t len;
	struct fr_blob *next;
} fr_blob;

typedef struct fr_manifest {
	char repo[256], ref[160], media_type[128];
	char *data;
	size_t len;
	struct fr_manifest *next;
} fr_manifest;

typedef struct fr_upload {
	int id;
	char repo[256];
	berth_buf data;
	struct fr_upload *next;
} fr_upload;

typedef struct fr_config {
	const char *basic_user, *basic_pass; /* Basic auth on /v2/ (and for /token with bearer) */
	int bearer;			     /* Bearer tokens from /token */
	int token_ttl;			     /* expires_in (0: omit) */
	int access_token_field;		     /* answer "access_token" instead of "token" */
	int fail_5xx;			     /* answer this many /v2 requests with 503 */
	int fail_429;			     /* ... with 429 Retry-After: 0 */
	int corrupt_blob;		     /* flip a byte of every blob served */
	int truncate_blob;		     /* serve half a blob, then close */
	int drop_blob_once;		     /* first GET serves half then closes; Range honoured */
	int redirect_loop;		     /* blob GET redirects forever */
	int redirect_other;		     /* blob GET redirects to another origin (localhost) */
	size_t huge_manifest;		     /* serve a manifest of this many bytes */
	int reject_single_post;		     /* POST ?digest= starts a session (Distribution) */
	size_t drop_patch_after;	     /* first PATCH: keep this many bytes, then close */
	int drop_put_after;		     /* first final PUT with body: keep N bytes, close */
	int tags_page;			     /* tags per page (0: all) */
} fr_config;

typedef struct fake_registry {
	struct MHD_Daemon *d;
	int port;
	char host[64]; /* "127.0.0.1:port" */
	pthread_mutex_t lock;
	fr_config cfg;
	fr_blob *blobs;
	fr_manifest *manifests;
	fr_upload *uploads;
	int next_upload;
	int tokens_issued;
	int min_valid_token; /* tokens numbered below this are refused */
	time_t token_time[256];
	/* counters */
	int requests, token_requests, posts, patches, puts, deletes, gets_blob, status_gets;
	int auth_401;
	int storage_saw_auth, storage_hits;
	size_t huge_sent;
	char last_scope[512], last_service[128];
	int token_had_basic;
	int dropped_patch, dropped_put, dropped_blob;
} fake_registry;

#define fr_lock(fr) pthread_mutex_lock(&(fr)->lock)
#define fr_unlock(fr) pthread_mutex_unlock(&(fr)->lock)

typedef struct fr_req {
	berth_buf body;
	int dropped;
} fr_req;

static inline void fr_sha256(const void *data, size_t len, char *out)
{
	berth_digest d;

	assert_int_equal(berth_digest_compute(&d, BERTH_DIGEST_SHA256, data, len), 0);
	strcpy(out, d.str);
}

static inline fr_blob *fr_find_blob(fake_registry *fr, const char *digest)
{
	fr_blob *b;

	for (b = fr->blobs; b; b = b->next)
		if (strcmp(b->digest, digest) == 0)
			return b;
	return NULL;
}

/* Store a blob (test setup); returns its digest in out. */
static inline void fr_add_blob(fake_registry *fr, const void *data, size_t len, char *out)
{
	fr_blob *b = calloc(1, sizeof(*b));

	fr_sha256(data, len, b->digest);
	b->data = malloc(len ? len : 1);
	memcpy(b->data, data, len);
	b->len = len;
	fr_lock(fr);
	b->next = fr->blobs;
	fr->blobs = b;
	fr_unlock(fr);
	if (out)
		strcpy(out, b->digest);
}

static inline fr_manifest *fr_find_manifest(fake_registry *fr, const char *repo, const char *ref)
{
	fr_manifest *m;

	for (m = fr->manifests; m; m = m->next)
		if (strcmp(m->repo, repo) == 0 && strcmp(m->ref, ref) == 0)
			return m;
	return NULL;
}

static inline void fr_put_manifest(fake_registry *fr, const char *repo, const char *ref,
				   const char *mt, const void *data, size_t len)
{
	fr_manifest *m = fr_find_manifest(fr, repo, ref);

	if (!m) {
		m = calloc(1, sizeof(*m));
		snprintf(m->repo, sizeof(m->repo), "%.250s", repo);
		snprintf(m->ref, sizeof(m->ref), "%.150s", ref);
		m->next = fr->manifests;
		fr->manifests = m;
	}
	free(m->data);
	snprintf(m->media_type, sizeof(m->media_type), "%s", mt);
	m->data = malloc(len ? len : 1);
	memcpy(m->data, data, len);
	m->len = len;
}

static inline fr_upload *fr_find_upload(fake_registry *fr, int id)
{
	fr_upload *u;

	for (u = fr->uploads; u; u = u->next)
		if (u->id == id)
			return u;
	return NULL;
}

static inline void fr_drop_upload(fake_registry *fr, int id)
{
	fr_upload **pp, *u;

	for (pp = &fr->uploads; (u = *pp); pp = &u->next)
		if (u->id == id) {
			*pp = u->next;
			berth_buf_dispose(&u->data);
			free(u);
			return;
		}
}

static inline int fr_count_uploads(fake_registry *fr)
{
	int n = 0;
	fr_upload *u;

	fr_lock(fr);
	for (u = fr->uploads; u; u = u->next)
		n++;
	fr_unlock(fr);
	return n;
}

/* ---- responses ---- */

static inline enum MHD_Result fr_send(struct MHD_Connection *conn, unsigned status,
				      const char *body, size_t len, const char *const *headers)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	for (; headers && headers[0]; headers += 2)
		MHD_add_response_header(r, headers[0], headers[1]);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static inline enum MHD_Result fr_error(struct MHD_Connection *conn, unsigned status,
				       const char *code, const char *msg)
{
	char body[512];
	const char *h[] = {"Content-Type", "application/json", NULL};

	snprintf(body, sizeof(body), "{\"errors\":[{\"code\":\"%s\",\"message\":\"%s\"}]}", code,
		 msg);
	return fr_send(conn, status, body, strlen(body), h);
}

/* Body generator for slow/huge/truncated responses. */
typedef struct {
	fake_registry *fr;
	const char *data; /* NULL: generate spaces */
	size_t len, stop_at;
	int count_huge;
} fr_gen;

static inline ssize_t fr_gen_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
	fr_gen *g = cls;
	size_t n;

	if (pos >= g->stop_at)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = g->stop_at - pos;
	if (n > max)
		n = max;
	if (g->data)
		memcpy(buf, g->data + pos, n);
	else
		memset(buf, ' ', n);
	if (g->count_huge) {
		fr_lock(g->fr);
		g->fr->huge_sent += n;
		fr_unlock(g->fr);
	}
	return (ssize_t)n;
}

static inline void fr_gen_free(void *cls)
{
	fr_gen *g = cls;

	if (g && g->data)
		free((void *)g->data);
	free(g);
}

/* ---- auth ---- */

static inline int fr_basic_ok(struct MHD_Connection *conn, const char *user, const char *pass)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	char want[256], enc[400];

	if (!h || strncmp(h, "Basic ", 6) != 0)
		return 0;
	snprintf(want, sizeof(want), "%s:%s", user, pass);
	EVP_EncodeBlock((unsigned char *)enc, (unsigned char *)want, (int)strlen(want));
	return strcmp(h + 6, enc) == 0;
}

/* 0 if the request may go on; else it has been answered with 401. */
static inline int fr_check_auth(fake_registry *fr, struct MHD_Connection *conn, const char *repo,
				const char *method, enum MHD_Result *ret)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	char challenge[512];
	const char *hdr[] = {"WWW-Authenticate", challenge, "Content-Type", "application/json",
			     NULL};
	int n;

	if (fr->cfg.bearer) {
		if (h && sscanf(h, "Bearer tok-%d", &n) == 1 && n >= fr->min_valid_token &&
		    n < fr->tokens_issued &&
		    (!fr->cfg.token_ttl ||
		     time(NULL) < fr->token_time[n % 256] + fr->cfg.token_ttl))
			return 0;
		snprintf(challenge, sizeof(challenge),
			 "Bearer realm=\"http://127.0.0.1:%d/token\",service=\"fake, registry\","
			 "scope=\"repository:%s:%s\", error=\"invalid_token\"",
			 fr->port, repo ? repo : "none",
			 strcmp(method, "GET") && strcmp(method, "HEAD") ? "pull,push" : "pull");
	} else if (fr->cfg.basic_user) {
		if (fr_basic_ok(conn, fr->cfg.basic_user, fr->cfg.basic_pass))
			return 0;
		snprintf(challenge, sizeof(challenge), "Basic realm=\"fake registry, basic\"");
	} else {
		return 0;
	}
	fr->auth_401++;
	fr_unlock(fr);
	*ret = fr_send(conn, 401,
		       "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication "
		       "required\"}]}",
		       strlen("{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":"
			      "\"authentication required\"}]}"),
		       hdr);
	fr_lock(fr);
	return 1;
}

static inline enum MHD_Result fr_scope_it(void *cls, enum MHD_ValueKind kind, const char *key,
					  const char *value)
{
	fake_registry *fr = cls;

	(void)kind;
	if (strcmp(key, "scope") == 0 && value) {
		size_t n = strlen(fr->last_scope);

		snprintf(fr->last_scope + n, sizeof(fr->last_scope) - n, "%s%s", n ? " " : "",
			 value);
	}
	return MHD_YES;
}

static inline enum MHD_Result fr_token(fake_registry *fr, struct MHD_Connection *conn)
{
	const char *service = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "service");
	char body[512];
	const char *h[] = {"Content-Type", "application/json", NULL};
	int n;

	fr->token_requests++;
	fr->last_scope[0] = '\0';
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, fr_scope_it, fr);
	snprintf(fr->last_service, sizeof(fr->last_service), "%s", service ? service : "");
	fr->token_had_basic =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization") != NULL;
	if (!service || strcmp(service, "fake, registry") != 0)
		return fr_error(conn, 400, "BAD_SERVICE", "wrong service");
	if (fr->cfg.basic_user && !fr_basic_ok(conn, fr->cfg.basic_user, fr->cfg.basic_pass))
		return fr_error(conn, 401, "UNAUTHORIZED", "bad credentials");
	n = fr->tokens_issued++;
	fr->token_time[n % 256] = time(NULL);
	if (fr->cfg.token_ttl)
		snprintf(body, sizeof(body), "{\"%s\":\"tok-%d\",\"expires_in\":%d}",
			 fr->cfg.access_token_field ? "access_token" : "token", n,
			 fr->cfg.token_ttl);
	else
		snprintf(body, sizeof(body), "{\"%s\":\"tok-%d\"}",
			 fr->cfg.access_token_field ? "access_token" : "token", n);
	return fr_send(conn, 200, body, strlen(body), h);
}

/* ---- routes ---- */

static inline void fr_range(const berth_buf *b, char *out, size_t outlen)
{
	snprintf(out, outlen, "0-%zu", b->len ? b->len - 1 : 0);
}

static inline enum MHD_Result fr_upload_answer(fake_registry *fr, struct MHD_Connection *conn,
					       fr_upload *u, unsigned status)
{
	char loc[400], range[64], uuid[32];
	const char *h[] = {"Location", loc, "Range", range, "Docker-Upload-UUID", uuid, NULL};

	snprintf(loc, sizeof(loc), "/v2/%s/blobs/uploads/%d?_state=secret%d", u->repo, u->id,
		 u->id);
	fr_range(&u->data, range, sizeof(range));
	snprintf(uuid, sizeof(uuid), "%d", u->id);
	(void)fr;
	return fr_send(conn, status, "", 0, h);
}

static inline fr_upload *fr_new_upload(fake_registry *fr, const char *repo)
{
	fr_upload *u = calloc(1, sizeof(*u));

	u->id = ++fr->next_upload;
	snprintf(u->repo, sizeof(u->repo), "%s", repo);
	berth_buf_init(&u->data, 0);
	u->next = fr->uploads;
	fr->uploads = u;
	return u;
}

/* Commit upload data as digest; 0 ok, else answered with an error. */
static inline enum MHD_Result fr_commit(fake_registry *fr, struct MHD_Connection *conn,
					const char *repo, const char *digest, const char *data,
					size_t len)
{
	char got[BERTH_DIGEST_MAX], loc[400];
	const char *h[] = {"Location", loc, "Docker-Content-Digest", got, NULL};
	fr_blob *b;

	fr_sha256(data ? data : "", len, got);
	if (!digest || strcmp(got, digest) != 0)
		return fr_error(conn, 400, "DIGEST_INVALID",
				"provided digest did not match uploaded content");
	if (!fr_find_blob(fr, got)) {
		b = calloc(1, sizeof(*b));
		strcpy(b->digest, got);
		b->data = malloc(len ? len : 1);
		if (len)
			memcpy(b->data, data, len);
		b->len = len;
		b->next = fr->blobs;
		fr->blobs = b;
	}
	snprintf(loc, sizeof(loc), "/v2/%s/blobs/%s", repo, got);
	return fr_send(conn, 201, "", 0, h);
}

static inline enum MHD_Result fr_blob_get(fake_registry *fr, struct MHD_Connection *conn,
					  const char *repo, const char *digest, int head)
{
	fr_blob *b = fr_find_blob(fr, digest);
	const char *range = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Range");
	struct MHD_Response *r;
	fr_gen *g;
	char loc[400], cr[96];
	const char *h[] = {"Location", loc, NULL};
	unsigned long long from = 0;
	enum MHD_Result ret;

	if (!head)
		fr->gets_blob++;
	if (!b)
		return fr_error(conn, 404, "BLOB_UNKNOWN", "blob unknown to registry");
	if (fr->cfg.redirect_loop && !head) {
		snprintf(loc, sizeof(loc), "/loop/%d", fr->gets_blob);
		return fr_send(conn, 307, "", 0, h);
	}
	if (fr->cfg.redirect_other && !head) {
		snprintf(loc, sizeof(loc), "http://localhost:%d/storage/%.300s", fr->port, digest);
		return fr_send(conn, 307, "", 0, h);
	}
	if (head) {
		r = MHD_create_response_from_buffer(b->len, b->data, MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(r, "Docker-Content-Digest", b->digest);
		ret = MHD_queue_response(conn, 200, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (range && fr->cfg.drop_blob_once)
		sscanf(range, "bytes=%llu-", &from);
	if (from > b->len)
		from = b->len;
	g = calloc(1, sizeof(*g));
	g->fr = fr;
	g->len = b->len - from;
	g->data = malloc(g->len ? g->len : 1);
	memcpy((char *)g->data, b->data + from, g->len);
	g->stop_at = g->len;
	if (fr->cfg.corrupt_blob && g->len)
		((char *)g->data)[g->len / 2] ^= 0x5a;
	if (fr->cfg.truncate_blob)
		g->stop_at = g->len / 2;
	if (fr->cfg.drop_blob_once && !fr->dropped_blob) {
		fr->dropped_blob = 1;
		g->stop_at = g->len / 2;
	}
	r = MHD_create_response_from_callback(g->len, 64 * 1024, fr_gen_cb, g, fr_gen_free);
	MHD_add_response_header(r, "Docker-Content-Digest", b->digest);
	if (from) {
		snprintf(cr, sizeof(cr), "bytes %llu-%zu/%zu", from, b->len ? b->len - 1 : 0,
			 b->len);
		MHD_add_response_header(r, "Content-Range", cr);
	}
	ret = MHD_queue_response(conn, from ? 206 : 200, r);
	MHD_destroy_response(r);
	(void)repo;
	return ret;
}

static inline enum MHD_Result fr_manifests(fake_registry *fr, struct MHD_Connection *conn,
					   const char *method, const char *repo, const char *ref,
					   fr_req *rq)
{
	fr_manifest *m;
	char dg[BERTH_DIGEST_MAX];
	const char *ct;

	if (strcmp(method, "PUT") == 0) {
		const char *h[] = {"Docker-Content-Digest", dg, NULL};

		ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
		fr_sha256(rq->body.ptr ? rq->body.ptr : "", rq->body.len, dg);
		fr_put_manifest(fr, repo, ref, ct ? ct : "", rq->body.ptr ? rq->body.ptr : "",
				rq->body.len);
		fr_put_manifest(fr, repo, dg, ct ? ct : "", rq->body.ptr ? rq->body.ptr : "",
				rq->body.len);
		return fr_send(conn, 201, "", 0, h);
	}
	if (fr->cfg.huge_manifest && strcmp(method, "GET") == 0) {
		fr_gen *g = calloc(1, sizeof(*g));
		struct MHD_Response *r;
		enum MHD_Result ret;

		g->fr = fr;
		g->len = g->stop_at = fr->cfg.huge_manifest;
		g->count_huge = 1;
		r = MHD_create_response_from_callback(g->len, 64 * 1024, fr_gen_cb, g, fr_gen_free);
		MHD_add_response_header(r, "Content-Type",
					"application/vnd.oci.image.manifest.v1+json");
		ret = MHD_queue_response(conn, 200, r);
		MHD_destroy_response(r);
		return ret;
	}
	m = fr_find_manifest(fr, repo, ref);
	if (strcmp(method, "DELETE") == 0) {
		if (!m)
			return fr_error(conn, 404, "MANIFEST_UNKNOWN", "manifest unknown");
		m->repo[0] = '\0';
		return fr_send(conn, 202, "", 0, NULL);
	}
	if (!m)
		return fr_error(conn, 404, "MANIFEST_UNKNOWN", "manifest unknown");
	fr_sha256(m->data, m->len, dg);
	{
		const char *h[] = {"Content-Type", m->media_type, "Docker-Content-Digest", dg,
				   NULL};

		if (strcmp(method, "HEAD") == 0) {
			struct MHD_Response *r = MHD_create_response_from_buffer(
				m->len, m->data, MHD_RESPMEM_MUST_COPY);
			enum MHD_Result ret;

			MHD_add_response_header(r, "Content-Type", m->media_type);
			MHD_add_response_header(r, "Docker-Content-Digest", dg);
			ret = MHD_queue_response(conn, 200, r);
			MHD_destroy_response(r);
			return ret;
		}
		return fr_send(conn, 200, m->data, m->len, h);
	}
}

static inline enum MHD_Result fr_tags(fake_registry *fr, struct MHD_Connection *conn,
				      const char *repo)
{
	const char *last = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "last");
	berth_buf b = BERTH_BUF_INIT(0);
	char link[512];
	const char *h[] = {"Link", link, NULL};
	const char *best;
	int n = 0, more = 0, first = 1;
	enum MHD_Result ret;
	fr_manifest *m;

	/* Tags in sorted order after `last`: a simple selection each round. */
	assert_int_equal(berth_buf_printf(&b, "{\"name\":\"%s\",\"tags\":[", repo), 0);
	for (;;) {
		best = NULL;
		for (m = fr->manifests; m; m = m->next)
			if (strcmp(m->repo, repo) == 0 && !strchr(m->ref, ':') &&
			    (!last || strcmp(m->ref, last) > 0) &&
			    (!best || strcmp(m->ref, best) < 0))
				best = m->ref;
		if (!best)
			break;
		if (fr->cfg.tags_page && n == fr->cfg.tags_page) {
			more = 1;
			break;
		}
		assert_int_equal(berth_buf_printf(&b, "%s\"%s\"", first ? "" : ",", best), 0);
		first = 0;
		last = best;
		n++;
	}
	assert_int_equal(berth_buf_puts(&b, "]}"), 0);
	snprintf(link, sizeof(link), "</v2/%s/tags/list?n=%d&last=%s>; rel=\"next\"", repo,
		 fr->cfg.tags_page, last ? last : "");
	ret = fr_send(conn, 200, b.ptr, b.len, more ? h : NULL);
	berth_buf_dispose(&b);
	return ret;
}

static inline enum MHD_Result fr_handler(void *cls, struct MHD_Connection *conn, const char *url,
					 const char *method, const char *version,
					 const char *upload_data, size_t *upload_data_size,
					 void **con_cls)
{
	fake_registry *fr = cls;
	fr_req *rq = *con_cls;
	enum MHD_Result ret = MHD_YES;
	char repo[256] = "", rest[512] = "";
	const char *p;
	int is_patch, is_put;

	(void)version;
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		berth_buf_init(&rq->body, 0);
		*con_cls = rq;
		return MHD_YES;
	}
	is_patch = strcmp(method, "PATCH") == 0;
	is_put = strcmp(method, "PUT") == 0;
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		fr_lock(fr);
		if (is_patch && fr->cfg.drop_patch_after && !fr->dropped_patch &&
		    rq->body.len + n > fr->cfg.drop_patch_after) {
			/* Keep what "arrived", as a registry writes it, then cut the line. */
			int id = atoi(strrchr(url, '/') + 1);
			fr_upload *u = fr_find_upload(fr, id);
			size_t keep = fr->cfg.drop_patch_after - rq->body.len;

			assert_int_equal(berth_buf_put(&rq->body, upload_data, keep), 0);
			if (u)
				assert_int_equal(
					berth_buf_put(&u->data, rq->body.ptr, rq->body.len), 0);
			fr->dropped_patch = 1;
			fr_unlock(fr);
			return MHD_NO;
		}
		if (is_put && fr->cfg.drop_put_after && !fr->dropped_put &&
		    strstr(url, "/uploads/") && rq->body.len + n > (size_t)fr->cfg.drop_put_after) {
			int id = atoi(strrchr(url, '/') + 1);
			fr_upload *u = fr_find_upload(fr, id);
			size_t keep = (size_t)fr->cfg.drop_put_after - rq->body.len;

			assert_int_equal(berth_buf_put(&rq->body, upload_data, keep), 0);
			if (u)
				assert_int_equal(
					berth_buf_put(&u->data, rq->body.ptr, rq->body.len), 0);
			fr->dropped_put = 1;
			fr_unlock(fr);
			return MHD_NO;
		}
		fr_unlock(fr);
		assert_int_equal(berth_buf_put(&rq->body, upload_data, n), 0);
		*upload_data_size = 0;
		return MHD_YES;
	}

	fr_lock(fr);
	fr->requests++;
	if (strcmp(url, "/token") == 0) {
		ret = fr_token(fr, conn);
		goto out;
	}
	if (strncmp(url, "/storage/", 9) == 0) {
		fr_blob *b = fr_find_blob(fr, url + 9);

		fr->storage_hits++;
		if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"))
			fr->storage_saw_auth++;
		ret = b ? fr_send(conn, 200, b->data, b->len, NULL)
			: fr_error(conn, 404, "BLOB_UNKNOWN", "no");
		goto out;
	}
	if (strncmp(url, "/loop/", 6) == 0) {
		char loc[64];
		const char *h[] = {"Location", loc, NULL};

		snprintf(loc, sizeof(loc), "/loop/%d", atoi(url + 6) % 2 + 1);
		ret = fr_send(conn, 302, "", 0, h);
		goto out;
	}
	if (strncmp(url, "/v2/", 4) != 0) {
		ret = fr_error(conn, 404, "NOT_FOUND", "not found");
		goto out;
	}
	if (fr->cfg.fail_5xx > 0) {
		fr->cfg.fail_5xx--;
		ret = fr_error(conn, 503, "UNAVAILABLE", "try again");
		goto out;
	}
	if (fr->cfg.fail_429 > 0) {
		const char *h[] = {"Retry-After", "0", NULL};

		fr->cfg.fail_429--;
		ret = fr_send(conn, 429, "", 0, h);
		goto out;
	}
	/* Split /v2/<repo>/<kind>/... */
	if ((p = strstr(url, "/blobs/")) || (p = strstr(url, "/manifests/")) ||
	    (p = strstr(url, "/tags/list"))) {
		snprintf(repo, sizeof(repo), "%.*s", (int)(p - url - 4), url + 4);
		snprintf(rest, sizeof(rest), "%s", p + 1);
	}
	if (fr_check_auth(fr, conn, repo[0] ? repo : NULL, method, &ret))
		goto out;
	if (strcmp(url, "/v2/") == 0) {
		ret = fr_send(conn, 200, "{}", 2, NULL);
		goto out;
	}
	if (!repo[0]) {
		ret = fr_error(conn, 404, "NAME_UNKNOWN", "unknown");
		goto out;
	}
	if (strncmp(rest, "blobs/uploads/", 14) == 0) {
		const char *id_s = rest + 14;
		const char *digest =
			MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "digest");
		fr_upload *u;

		if (!*id_s) {
			const char *mount =
				MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "mount");

			fr->posts++;
			if (mount && fr_find_blob(fr, mount)) {
				ret = fr_commit(fr, conn, repo, mount,
						fr_find_blob(fr, mount)->data,
						fr_find_blob(fr, mount)->len);
				goto out;
			}
			if (digest && !fr->cfg.reject_single_post) {
				ret = fr_commit(fr, conn, repo, digest, rq->body.ptr, rq->body.len);
				goto out;
			}
			u = fr_new_upload(fr, repo);
			ret = fr_upload_answer(fr, conn, u, 202);
			goto out;
		}
		u = fr_find_upload(fr, atoi(id_s));
		if (!u) {
			ret = fr_error(conn, 404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown");
			goto out;
		}
		if (strcmp(method, "GET") == 0) {
			fr->status_gets++;
			ret = fr_upload_answer(fr, conn, u, 204);
		} else if (strcmp(method, "DELETE") == 0) {
			fr->deletes++;
			fr_drop_upload(fr, u->id);
			ret = fr_send(conn, 204, "", 0, NULL);
		} else if (is_patch) {
			const char *cr =
				MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Range");
			unsigned long long a, b;

			fr->patches++;
			if (cr && (sscanf(cr, "%llu-%llu", &a, &b) != 2 || a != u->data.len ||
				   b - a + 1 != rq->body.len)) {
				ret = fr_error(conn, 416, "BLOB_UPLOAD_INVALID", "bad range");
				goto out;
			}
			assert_int_equal(berth_buf_put(&u->data, rq->body.ptr ? rq->body.ptr : "",
						       rq->body.len),
					 0);
			ret = fr_upload_answer(fr, conn, u, 202);
		} else if (is_put) {
			fr->puts++;
			assert_int_equal(berth_buf_put(&u->data, rq->body.ptr ? rq->body.ptr : "",
						       rq->body.len),
					 0);
			ret = fr_commit(fr, conn, repo, digest, u->data.ptr, u->data.len);
			fr_drop_upload(fr, u->id);
		} else {
			ret = fr_error(conn, 405, "UNSUPPORTED", "method");
		}
		goto out;
	}
	if (strncmp(rest, "blobs/", 6) == 0) {
		ret = fr_blob_get(fr, conn, repo, rest + 6, strcmp(method, "HEAD") == 0);
		goto out;
	}
	if (strncmp(rest, "manifests/", 10) == 0) {
		ret = fr_manifests(fr, conn, method, repo, rest + 10, rq);
		goto out;
	}
	if (strcmp(rest, "tags/list") == 0) {
		ret = fr_tags(fr, conn, repo);
		goto out;
	}
	ret = fr_error(conn, 404, "NOT_FOUND", "not found");
out:
	fr_unlock(fr);
	return ret;
}

static inline void fr_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
				enum MHD_RequestTerminationCode toe)
{
	fr_req *rq = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (rq) {
		berth_buf_dispose(&rq->body);
		free(rq);
	}
	*con_cls = NULL;
}

static inline fake_registry *fr_start(void)
{
	fake_registry *fr = calloc(1, sizeof(*fr));
	const union MHD_DaemonInfo *info;

	assert_non_null(fr);
	pthread_mutex_init(&fr->lock, NULL);
	fr->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
				 NULL, NULL, fr_handler, fr, MHD_OPTION_NOTIFY_COMPLETED,
				 fr_completed, NULL, MHD_OPTION_END);
	assert_non_null(fr->d);
	info = MHD_get_daemon_info(fr->d, MHD_DAEMON_INFO_BIND_PORT);
	fr->port = info->port;
	snprintf(fr->host, sizeof(fr->host), "127.0.0.1:%d", fr->port);
	return fr;
}

static inline void fr_stop(fake_registry *fr)
{
	fr_blob *b;
	fr_manifest *m;

	if (!fr)
		return;
	MHD_stop_daemon(fr->d);
	while ((b = fr->blobs)) {
		fr->blobs = b->next;
		free(b->data);
		free(b);
	}
	while ((m = fr->manifests)) {
		fr->manifests = m->next;
		free(m->data);
		free(m);
	}
	while (fr->uploads)
		fr_drop_upload(fr, fr->uploads->id);
	pthread_mutex_destroy(&fr->lock);
	free(fr);
}

/* A client for the fake registry, isolated from the user's credential files. */
static inline berth_client *fr_client(fake_registry *fr, const char *user, const char *pass)
{
	berth_client_options o;
	berth_client *c = NULL;

	berth_client_options_init(&o);
	o.host = fr->host;
	o.username = user;
	o.password = pass;
	o.auth_file = "/nonexistent/berth-test-auth.json";
	o.timeout_seconds = 10;
	assert_int_equal(berth_client_new(&c, &o), 0);
	return c;
}

/* The usual fixture of a test (cmocka state): a fake registry and an anonymous client of it. */
typedef struct fr_env {
	fake_registry *fr;
	berth_client *c;
} fr_env;

static inline int fr_env_setup(void **state)
{
	fr_env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->fr = fr_start();
	e->c = fr_client(e->fr, NULL, NULL);
	*state = e;
	return 0;
}

static inline int fr_env_teardown(void **state)
{
	fr_env *e = *state;

	berth_client_free(e->c);
	fr_stop(e->fr);
	free(e);
	return 0;
}

/* Deterministic test bytes. */
static inline char *fr_bytes(size_t len, unsigned seed)
{
	char *p = malloc(len ? len : 1);
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (char)(seed >> 16);
	}
	return p;
}

/* Sinks and sources for tests. */
static inline int fr_buf_sink(void *ctx, const void *data, size_t len)
{
	return berth_buf_put(ctx, data, len);
}

typedef struct {
	const char *data;
	size_t len, off, step;
	int fail_at_end; /* return this code at EOF instead of 0 */
} fr_mem_src;

static inline long fr_mem_read(void *ctx, void *buf, size_t cap)
{
	fr_mem_src *s = ctx;
	size_t n = s->len - s->off;

	if (n == 0)
		return s->fail_at_end ? berth_error_set(s->fail_at_end, "source says no") : 0;
	if (n > cap)
		n = cap;
	if (s->step && n > s->step)
		n = s->step;
	memcpy(buf, s->data + s->off, n);
	s->off += n;
	return (long)n;
}

#endif
