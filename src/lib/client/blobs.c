/*
 * blobs.c - blobs over the registry API: HEAD (exists), GET (streamed,
 * hashed and counted as it arrives, resumed with a Range request after a
 * broken connection), cross-repository mount, and push.
 *
 * Push is monolithic for small blobs (POST ?digest= with the body when the
 * registry takes it in one request, else POST then PUT ?digest=) and
 * chunked for large ones (PATCH with Content-Range per chunk, the last
 * chunk in the closing PUT). The chunk in flight stays in memory: when a
 * connection breaks, a GET on the upload URL tells how many bytes the
 * registry holds (Range: 0-<last>) and the rest of the chunk is sent again
 * from there. Any failure deletes the upload session, so nothing of a
 * failed push stays behind.
 */
#include "lib/client/internal.h"

#include "berth/ref.h"
#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_THRESHOLD (16ULL * 1024 * 1024)
#define DEFAULT_CHUNK (16ULL * 1024 * 1024)
#define MAX_CHUNK (256ULL * 1024 * 1024)
/* Single-request pushes are tried blind only this small (wasted if refused). */
#define SINGLE_POST_PROBE (1024 * 1024)
/* Smallest body probed with Expect: 100-continue (see push_monolithic). */
#define EXPECT_MIN (256 * 1024)

static int check_repo(const char *repo)
{
	if (!repo || !berth_ref_name_valid(repo, strlen(repo)))
		return berth_error_set(BERTH_EINVALID, "invalid repository name \"%.300s\"",
				       repo ? repo : "");
	return 0;
}

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int berth_client_blob_exists(berth_client *c, const char *repo, const berth_digest *d,
			     uint64_t *size)
{
	berth_client__req r;
	char *path = NULL, *scope = NULL, what[600];
	int rc;

	berth_client__req_init(&r, "HEAD", NULL);
	rc = check_repo(repo);
	if (rc)
		goto done;
	snprintf(what, sizeof(what), "blob %s in %s", d->str, repo);
	if (asprintf(&path, "/v2/%s/blobs/%s", repo, d->str) < 0 ||
	    !(scope = berth_client__scope(repo, 0))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	r.url = path;
	r.scope = scope;
	r.follow = 1;
	rc = berth_client__do(c, &r);
	if (rc)
		goto done;
	if (r.status == 404) {
		rc = berth_error_set(BERTH_ENOTFOUND, "registry %s: %s not found", c->host, what);
		goto done;
	}
	if (r.status != 200) {
		rc = berth_client__http_error(c, &r, what);
		goto done;
	}
	if (size)
		*size = r.content_length >= 0 ? (uint64_t)r.content_length : 0;
done:
	free(path);
	free(scope);
	berth_client__req_dispose(&r);
	return rc;
}

/* ---- GET ---- */

typedef struct {
	berth_client *c;
	const berth_digest *d;
	berth_hasher *h;
	int64_t expected;
	uint64_t count;
	berth_client_sink sink;
	void *ctx;
	berth_client_blob_start start; /* NULL, or not yet called: size from the answer */
	const berth_client__req *r;
} get_ctx;

/* The size from the answer to the first GET, told to g->start (once). */
static int get_started(get_ctx *g)
{
	berth_client_blob_start start = g->start;

	if (!start)
		return 0;
	g->start = NULL;
	if (g->r->content_length < 0)
		return berth_error_set(BERTH_EIO, "registry %s: blob %s: no Content-Length",
				       g->c->host, g->d->str);
	g->expected = g->r->content_length;
	return start(g->ctx, (uint64_t)g->expected);
}

static int get_sink(void *ctx, const void *data, size_t len)
{
	get_ctx *g = ctx;
	int rc;

	if ((rc = get_started(g)) < 0)
		return rc;
	if (g->expected >= 0 && g->count + len > (uint64_t)g->expected)
		return berth_error_set(
			BERTH_ESIZE,
			"registry %s: blob %s: received more than the expected %" PRId64 " bytes",
			g->c->host, g->d->str, g->expected);
	rc = berth_hasher_update(g->h, data, len);
	if (rc)
		return rc;
	rc = g->sink(g->ctx, data, len);
	if (rc) {
		if (rc > 0)
			rc = BERTH_ERROR;
		if (berth_error_last_code() != rc)
			berth_error_set(rc, "blob %s: the consumer stopped reading", g->d->str);
		return rc;
	}
	g->count += len;
	return 0;
}

static int blob_get(berth_client *c, const char *repo, const berth_digest *d, int64_t expected_size,
		    berth_client_blob_start start, berth_client_sink sink, void *ctx)
{
	berth_client__req r;
	get_ctx g = {c, d, NULL, expected_size, 0, sink, ctx, start, &r};
	char *path = NULL, *scope = NULL, what[600], last[512];
	berth_digest got;
	uint64_t before;
	int rc, resumes = 0;

	berth_client__req_init(&r, "GET", NULL);
	rc = check_repo(repo);
	if (rc)
		goto done;
	snprintf(what, sizeof(what), "blob %s in %s", d->str, repo);
	rc = berth_hasher_new(&g.h, d->algo);
	if (rc)
		goto done;
	if (asprintf(&path, "/v2/%s/blobs/%s", repo, d->str) < 0 ||
	    !(scope = berth_client__scope(repo, 0))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	for (;;) {
		before = g.count;
		berth_client__req_dispose(&r);
		berth_client__req_init(&r, "GET", path);
		r.scope = scope;
		r.follow = 1;
		r.sink = get_sink;
		r.sink_ctx = &g;
		r.range_from = g.count;
		rc = berth_client__do(c, &r);
		if (rc == BERTH_EIO && r.net_error && g.count > before && resumes < c->retries &&
		    (g.expected < 0 || g.count < (uint64_t)g.expected)) {
			/* Progress was made before the break: ask for the rest. */
			berth_debug("registry %s: %s broke after %" PRIu64 " bytes; resuming",
				    c->host, what, g.count);
			resumes++;
			nap_ms(200L << (resumes - 1));
			continue;
		}
		if (rc == BERTH_EIO && r.net_error && g.count > 0 && g.expected >= 0 &&
		    g.count < (uint64_t)g.expected) {
			snprintf(last, sizeof(last), "%s", berth_error_last());
			rc = berth_error_set(BERTH_ESIZE,
					     "registry %s: %s is truncated: received %" PRIu64
					     " of %" PRId64 " bytes (%s)",
					     c->host, what, g.count, g.expected, last);
			goto done;
		}
		if (rc)
			goto done;
		break;
	}
	if (g.count && r.range_from && r.status == 200) {
		rc = berth_error_set(BERTH_EIO,
				     "registry %s: %s: the connection broke after %" PRIu64
				     " bytes and the registry cannot resume it",
				     c->host, what, g.count);
		goto done;
	}
	if (r.status == 404) {
		rc = berth_client__http_error(c, &r, what);
		if (rc != BERTH_ENOTFOUND)
			rc = berth_error_set(BERTH_ENOTFOUND, "registry %s: %s not found", c->host,
					     what);
		goto done;
	}
	if (r.status != 200 && r.status != 206) {
		rc = berth_client__http_error(c, &r, what);
		goto done;
	}
	if ((rc = get_started(&g)) < 0) /* an empty blob: no byte reached the sink */
		goto done;
	if (g.expected >= 0 && g.count != (uint64_t)g.expected) {
		rc = berth_error_set(BERTH_ESIZE,
				     "registry %s: %s is truncated: received %" PRIu64
				     " of %" PRId64 " bytes",
				     c->host, what, g.count, g.expected);
		goto done;
	}
	rc = berth_hasher_final(g.h, &got);
	if (rc)
		goto done;
	if (!berth_digest_equal(&got, d)) {
		rc = berth_error_set(BERTH_EDIGEST,
				     "registry %s: %s: wrong content: expected digest %s, got %s",
				     c->host, what, d->str, got.str);
		goto done;
	}
done:
	berth_hasher_free(g.h);
	free(path);
	free(scope);
	berth_client__req_dispose(&r);
	return rc;
}

int berth_client_blob_get(berth_client *c, const char *repo, const berth_digest *d,
			  int64_t expected_size, berth_client_sink sink, void *ctx)
{
	return blob_get(c, repo, d, expected_size, NULL, sink, ctx);
}

int berth_client_blob_get_sized(berth_client *c, const char *repo, const berth_digest *d,
				berth_client_blob_start start, berth_client_sink sink, void *ctx)
{
	return blob_get(c, repo, d, -1, start, sink, ctx);
}

/* ---- upload sessions ---- */

/* Add "name=value" to a URL's query; malloc'd. */
static char *with_query(const char *url, const char *name, const char *value)
{
	char *out = NULL;

	if (asprintf(&out, "%s%c%s=%s", url, strchr(url, '?') ? '&' : '?', name, value) < 0)
		return NULL;
	return out;
}

/* Best effort: cancel an upload session so that nothing lingers. */
static void cancel_upload(berth_client *c, const char *location, const char *scope)
{
	berth_client__req r;
	char saved[512];
	int rc;

	if (!location || !*location)
		return;
	/* Keep the message of the failure that made us cancel. */
	snprintf(saved, sizeof(saved), "%s", berth_error_last());
	rc = berth_error_last_code();
	berth_client__req_init(&r, "DELETE", location);
	r.scope = scope;
	r.no_retry = 1;
	if (berth_client__do(c, &r) == 0 && r.status >= 300 && r.status != 404)
		berth_debug("registry %s: cancelling an upload got HTTP %ld", c->host, r.status);
	berth_client__req_dispose(&r);
	berth_error_set(rc, "%s", saved);
}

/* The Location of a response resolved against the URL that was asked. */
static char *location_of(berth_client *c, const berth_client__req *r, const char *asked)
{
	const char *base = r->final_url[0] ? r->final_url : asked;
	char *abs = NULL;

	if (!r->location[0]) {
		berth_error_set(BERTH_EINVALID, "registry %s: upload answer without a Location",
				c->host);
		return NULL;
	}
	if (strncmp(base, "http", 4) != 0) {
		if (asprintf(&abs, "%s%s", berth_client_base_url(c), base) < 0)
			abs = NULL;
		base = abs;
	}
	{
		char *res = base ? berth_client__resolve(base, r->location) : NULL;

		free(abs);
		if (!res)
			berth_error_set(BERTH_EINVALID, "registry %s: malformed upload Location",
					c->host);
		return res;
	}
}

/* POST /v2/<repo>/blobs/uploads/ → *loc (absolute). */
static int start_upload(berth_client *c, const char *repo, const char *scope, char **loc)
{
	berth_client__req r;
	char *path = NULL;
	int rc;

	*loc = NULL;
	berth_client__req_init(&r, "POST", NULL);
	if (asprintf(&path, "/v2/%s/blobs/uploads/", repo) < 0) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	r.url = path;
	r.scope = scope;
	r.has_body = 1;
	rc = berth_client__do(c, &r);
	if (rc)
		goto done;
	if (r.status != 202) {
		rc = berth_client__http_error(c, &r, "starting a blob upload");
		goto done;
	}
	*loc = location_of(c, &r, path);
	if (!*loc)
		rc = berth_error_last_code() ? berth_error_last_code() : BERTH_EINVALID;
done:
	free(path);
	berth_client__req_dispose(&r);
	return rc;
}

int berth_client_blob_mount(berth_client *c, const char *repo, const berth_digest *d,
			    const char *from_repo)
{
	berth_client__req r;
	char *path = NULL, *scope = NULL, *loc = NULL;
	int rc;

	berth_client__req_init(&r, "POST", NULL);
	rc = check_repo(repo);
	if (!rc && from_repo)
		rc = check_repo(from_repo);
	if (rc)
		goto done;
	if (from_repo) {
		if (asprintf(&path, "/v2/%s/blobs/uploads/?mount=%s&from=%s", repo, d->str,
			     from_repo) < 0 ||
		    asprintf(&scope, "repository:%s:pull,push repository:%s:pull", repo,
			     from_repo) < 0)
			rc = berth_error_set(BERTH_ERROR, "out of memory");
	} else {
		if (asprintf(&path, "/v2/%s/blobs/uploads/?mount=%s", repo, d->str) < 0 ||
		    !(scope = berth_client__scope(repo, 1)))
			rc = berth_error_set(BERTH_ERROR, "out of memory");
	}
	if (rc)
		goto done;
	r.url = path;
	r.scope = scope;
	r.has_body = 1;
	rc = berth_client__do(c, &r);
	if (rc)
		goto done;
	if (r.status == 201)
		goto done;
	if (r.status == 202) {
		/* The registry started an upload instead: not wanted. */
		loc = location_of(c, &r, path);
		if (loc)
			cancel_upload(c, loc, scope);
	}
	rc = berth_error_set(BERTH_ENOTFOUND,
			     "registry %s: blob %s could not be mounted into %s (HTTP %ld)",
			     c->host, d->str, repo, r.status);
done:
	free(loc);
	free(path);
	free(scope);
	berth_client__req_dispose(&r);
	return rc;
}

/* ---- push ---- */

typedef struct {
	berth_client *c;
	const berth_digest *d;
	berth_client_source src;
	void *ctx;
	uint64_t size;
	uint64_t read; /* bytes taken from the source */
} push_src;

/*
 * The chunk in flight. Bytes come from the source as curl asks for them (so
 * reading the source overlaps sending), and stay in `buf` so that the chunk
 * can be sent again from any offset the registry reports. When the last
 * byte of the blob has been read, the source must be at its end (it then
 * verifies what it gave) before that byte is handed to curl: a source that
 * fails there aborts the request before the registry has the whole blob.
 */
typedef struct {
	push_src *p;
	char *buf;
	uint64_t start; /* blob offset of buf[0] */
	size_t n;	/* chunk length */
	size_t filled;	/* bytes of the chunk read from the source */
	size_t base;	/* where this request's body starts in the chunk */
	size_t pos;	/* next byte to send */
	int last;	/* the chunk ends the blob */
} chunk_reader;

static int fill(chunk_reader *cr)
{
	push_src *p = cr->p;
	long k;
	char extra;

	k = p->src(p->ctx, cr->buf + cr->filled, cr->n - cr->filled);
	if (k < 0)
		return (int)k;
	if (k == 0)
		return berth_error_set(BERTH_ESIZE,
				       "blob %s: the source ended after %" PRIu64 " of %" PRIu64
				       " bytes",
				       p->d->str, p->read, p->size);
	cr->filled += (size_t)k;
	p->read += (uint64_t)k;
	if (p->read == p->size) {
		k = p->src(p->ctx, &extra, 1);
		if (k < 0)
			return (int)k;
		if (k > 0)
			return berth_error_set(
				BERTH_ESIZE,
				"blob %s: the source has more than the declared %" PRIu64 " bytes",
				p->d->str, p->size);
	}
	return 0;
}

/* Read the whole chunk now (when it must be complete before sending). */
static int fill_all(chunk_reader *cr)
{
	int rc = 0;

	if (cr->n == 0 && cr->last && cr->p->read == cr->p->size) {
		/* An empty blob: the source must be empty too. */
		char extra;
		long k = cr->p->src(cr->p->ctx, &extra, 1);

		if (k < 0)
			return (int)k;
		if (k > 0)
			return berth_error_set(
				BERTH_ESIZE,
				"blob %s: the source has more than the declared 0 bytes",
				cr->p->d->str);
		return 0;
	}
	while (!rc && cr->filled < cr->n)
		rc = fill(cr);
	return rc;
}

static long chunk_read(void *ctx, char *out, size_t max)
{
	chunk_reader *cr = ctx;
	size_t k;
	int rc;

	if (cr->pos >= cr->n)
		return 0;
	if (cr->pos >= cr->filled) {
		rc = fill(cr);
		if (rc)
			return rc;
	}
	k = cr->filled - cr->pos;
	if (k > max)
		k = max;
	memcpy(out, cr->buf + cr->pos, k);
	cr->pos += k;
	return (long)k;
}

static int chunk_seek(void *ctx, uint64_t off)
{
	chunk_reader *cr = ctx;

	if (cr->base + off > cr->filled)
		return -1;
	cr->pos = cr->base + (size_t)off;
	return 0;
}

static void body_from_chunk(berth_client__req *r, chunk_reader *cr)
{
	r->read_fn = chunk_read;
	r->seek_fn = chunk_seek;
	r->read_ctx = cr;
	r->body_len = cr->n - cr->base;
	r->has_body = 1;
}

/* Is a failure worth another try (connection broke, 5xx, 429)? */
static int transient(int rc, const berth_client__req *r)
{
	return (rc == BERTH_EIO && r->net_error) || (!rc && (r->status >= 500 || r->status == 429));
}

/* PUT <loc>?digest=<d> with the rest of the chunk (may be empty): 201 expected. */
static int put_final(berth_client *c, const char *loc, const char *scope, const berth_digest *d,
		     chunk_reader *cr, berth_client__req *r)
{
	char *url = with_query(loc, "digest", d->str);
	int rc;

	if (!url)
		return berth_error_set(BERTH_ERROR, "out of memory");
	berth_client__req_dispose(r);
	berth_client__req_init(r, "PUT", url);
	r->scope = scope;
	body_from_chunk(r, cr);
	r->no_retry = 1; /* the caller decides how to retry an upload */
	rc = berth_client__do(c, r);
	free(url);
	return rc;
}

static int push_monolithic(berth_client *c, const char *repo, const char *scope, push_src *p)
{
	berth_client__req r;
	chunk_reader cr = {p, NULL, 0, (size_t)p->size, 0, 0, 0, 1};
	char *loc = NULL, *path = NULL, what[600];
	size_t cap = 0;
	int rc, attempt, single;

	berth_client__req_init(&r, "POST", NULL);
	snprintf(what, sizeof(what), "pushing blob %s to %s", p->d->str, repo);
	cr.buf = berth_client__buf_get(c, (size_t)p->size, &cap);
	if (!cr.buf) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (p->size == 0) {
		rc = fill_all(&cr);
		if (rc)
			goto done;
	}
	for (attempt = 0;; attempt++) {
		int probing = 0;

		/*
		 * Learn once per client whether the registry takes a blob in one
		 * POST ?digest=: the first push probes (with Expect: 100-continue
		 * so a registry that ignores the body never receives it) while
		 * the others wait for the answer instead of all sending bodies
		 * that may be dropped.
		 */
		if (!atomic_load_explicit(&c->no_single_post, memory_order_acquire) &&
		    !atomic_load_explicit(&c->single_post_ok, memory_order_acquire)) {
			pthread_mutex_lock(&c->probe_lock);
			probing = !atomic_load_explicit(&c->no_single_post, memory_order_acquire) &&
				  !atomic_load_explicit(&c->single_post_ok, memory_order_acquire);
			if (!probing)
				pthread_mutex_unlock(&c->probe_lock);
		}
		single = !atomic_load_explicit(&c->no_single_post, memory_order_acquire) &&
			 (probing ||
			  atomic_load_explicit(&c->single_post_ok, memory_order_acquire) ||
			  p->size <= SINGLE_POST_PROBE);
		if (single) {
			/* One request: POST ?digest= with the body (OCI spec, berth). */
			free(path);
			path = NULL;
			if (asprintf(&path, "/v2/%s/blobs/uploads/?digest=%s", repo, p->d->str) <
			    0) {
				if (probing)
					pthread_mutex_unlock(&c->probe_lock);
				rc = berth_error_set(BERTH_ERROR, "out of memory");
				goto done;
			}
			berth_client__req_dispose(&r);
			berth_client__req_init(&r, "POST", path);
			r.scope = scope;
			body_from_chunk(&r, &cr);
			r.no_retry = 1;
			/*
			 * Go's net/http (Distribution) answers a request whose body
			 * is at most 256 KiB only after reading it, Expect or not:
			 * such a body is sent at once (twice at worst, and small).
			 */
			r.expect_continue = probing && p->size > EXPECT_MIN;
			rc = berth_client__do(c, &r);
			if (!rc && r.status == 201)
				atomic_store_explicit(&c->single_post_ok, 1, memory_order_release);
			if (!rc && r.status == 202)
				/* Ignored, as Distribution does: use POST+PUT from now on. */
				atomic_store_explicit(&c->no_single_post, 1, memory_order_release);
			if (probing)
				pthread_mutex_unlock(&c->probe_lock);
			if (!rc && r.status == 201)
				goto done;
			if (!rc && r.status == 202) {
				loc = location_of(c, &r, path);
				if (!loc) {
					rc = berth_error_last_code();
					goto done;
				}
			} else {
				if (r.sink_rc || !transient(rc, &r) || attempt >= c->retries) {
					if (!rc)
						rc = berth_client__http_error(c, &r, what);
					goto done;
				}
				nap_ms(200L << attempt);
				continue;
			}
		} else {
			rc = start_upload(c, repo, scope, &loc);
			if (rc)
				goto done;
		}
		rc = put_final(c, loc, scope, p->d, &cr, &r);
		if (!rc && (r.status == 201 || r.status == 204))
			goto done;
		if (!r.sink_rc && transient(rc, &r) && attempt < c->retries) {
			cancel_upload(c, loc, scope);
			free(loc);
			loc = NULL;
			nap_ms(200L << attempt);
			continue;
		}
		if (!rc)
			rc = berth_client__http_error(c, &r, what);
		goto done;
	}
done:
	if (rc && loc)
		cancel_upload(c, loc, scope);
	free(loc);
	free(path);
	berth_client__buf_put(c, cr.buf, cap);
	berth_client__req_dispose(&r);
	return rc;
}

/* "0-<last>" → bytes held (last+1); "0-0" and absent → 0 (Distribution's convention). */
uint64_t berth_client__held_bytes(const char *range)
{
	const char *dash = strchr(range, '-');
	unsigned long long last;

	/* Digits only: strtoull would take "-5" as 2^64-5 and saturate on overflow. */
	if (!dash || !isdigit((unsigned char)dash[1]))
		return 0;
	errno = 0;
	last = strtoull(dash + 1, NULL, 10);
	if (errno || last >= UINT64_MAX)
		return 0;
	return last ? (uint64_t)last + 1 : 0;
}

/*
 * GET the upload's status: how many bytes the registry holds; may move *loc.
 * `*gone` is set when the registry no longer resumes the session (Distribution
 * answers 400/404 BLOB_UPLOAD_INVALID/UNKNOWN once its state lags its data).
 */
static int upload_offset(berth_client *c, char **loc, const char *scope, uint64_t *held, int *gone)
{
	berth_client__req r;
	char *nl;
	int rc;

	*gone = 0;
	berth_client__req_init(&r, "GET", *loc);
	r.scope = scope;
	rc = berth_client__do(c, &r);
	if (rc)
		goto done;
	if (r.status != 204 && r.status != 200) {
		*gone = r.status == 400 || r.status == 404 || r.status == 416;
		rc = berth_client__http_error(c, &r, "upload status");
		goto done;
	}
	*held = berth_client__held_bytes(r.range);
	if (r.location[0]) {
		nl = location_of(c, &r, *loc);
		if (nl) {
			free(*loc);
			*loc = nl;
		}
	}
done:
	berth_client__req_dispose(&r);
	return rc;
}

static int push_chunked(berth_client *c, const char *repo, const char *scope, push_src *p,
			uint64_t chunk_size)
{
	berth_client__req r;
	chunk_reader cr = {p, NULL, 0, 0, 0, 0, 0, 0};
	char *loc = NULL, *nl, range[64], what[600];
	uint64_t held = 0;
	size_t cap = 0;
	int rc = 0, tries, gone, restarts = 0;

	berth_client__req_init(&r, "PATCH", NULL);
	snprintf(what, sizeof(what), "pushing blob %s to %s", p->d->str, repo);
	cr.buf = berth_client__buf_get(c, (size_t)chunk_size, &cap);
	if (!cr.buf) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = start_upload(c, repo, scope, &loc);
	if (rc)
		goto done;
	for (;;) {
		cr.start = p->read;
		cr.n = (size_t)(p->size - cr.start < chunk_size ? p->size - cr.start : chunk_size);
		cr.filled = cr.base = cr.pos = 0;
		cr.last = cr.start + cr.n == p->size;
		for (tries = 0;;) {
			if (cr.last) {
				rc = put_final(c, loc, scope, p->d, &cr, &r);
				if (!rc && (r.status == 201 || r.status == 204))
					goto done;
			} else {
				snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64,
					 cr.start + cr.base, cr.start + cr.n - 1);
				berth_client__req_dispose(&r);
				berth_client__req_init(&r, "PATCH", loc);
				r.scope = scope;
				body_from_chunk(&r, &cr);
				r.content_range = range;
				r.no_retry = 1;
				rc = berth_client__do(c, &r);
				if (!rc && r.status == 202) {
					if (r.location[0] && (nl = location_of(c, &r, loc))) {
						free(loc);
						loc = nl;
					}
					break;
				}
			}
			/* 416: the registry holds another amount than we thought; ask. */
			if (r.sink_rc || (!transient(rc, &r) && !(!rc && r.status == 416)) ||
			    tries >= c->retries) {
				if (!rc)
					rc = berth_client__http_error(c, &r, what);
				goto done;
			}
			/* Broken: ask the registry where it stands and go on from there. */
			nap_ms(200L << tries);
			tries++;
			rc = upload_offset(c, &loc, scope, &held, &gone);
			if (rc && gone) {
				/*
				 * The session cannot be resumed. While the first chunk
				 * is in hand, start the blob over in a new session;
				 * past it the source bytes are gone: a transient
				 * failure, so the copy engine restarts the blob.
				 */
				char last[400];

				snprintf(last, sizeof(last), "%s", berth_error_last());
				cancel_upload(c, loc, scope);
				free(loc);
				loc = NULL;
				if (cr.start != 0 || restarts >= c->retries) {
					rc = berth_error_set(BERTH_EIO,
							     "registry %s: %s: the upload session "
							     "cannot be resumed (%s)",
							     c->host, what, last);
					goto done;
				}
				restarts++;
				berth_debug("registry %s: %s: session lost (%s); starting over",
					    c->host, what, last);
				rc = start_upload(c, repo, scope, &loc);
				if (rc)
					goto done;
				cr.base = cr.pos = 0;
				continue;
			}
			if (rc)
				goto done;
			if (held < cr.start || held > cr.start + cr.filled) {
				rc = berth_error_set(
					BERTH_EIO,
					"registry %s: %s: cannot resume: the registry holds "
					"%" PRIu64 " bytes, the chunk in hand covers %" PRIu64
					"-%" PRIu64,
					c->host, what, held, cr.start, cr.start + cr.filled);
				goto done;
			}
			berth_debug("registry %s: %s: resuming at byte %" PRIu64, c->host, what,
				    held);
			cr.base = (size_t)(held - cr.start);
			if (!cr.last && cr.base == cr.n)
				break;
		}
	}
done:
	if (rc && loc)
		cancel_upload(c, loc, scope);
	free(loc);
	berth_client__buf_put(c, cr.buf, cap);
	berth_client__req_dispose(&r);
	return rc;
}

int berth_client_blob_push(berth_client *c, const char *repo, const berth_digest *d, uint64_t size,
			   berth_client_source src, void *ctx, uint64_t chunk_threshold,
			   uint64_t chunk_size)
{
	push_src p = {c, d, src, ctx, size, 0};
	char *scope = NULL;
	int rc;

	rc = check_repo(repo);
	if (rc)
		return rc;
	if (!chunk_threshold)
		chunk_threshold = DEFAULT_THRESHOLD;
	if (!chunk_size)
		chunk_size = DEFAULT_CHUNK;
	if (chunk_size > MAX_CHUNK)
		chunk_size = MAX_CHUNK;
	scope = berth_client__scope(repo, 1);
	if (!scope)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (size <= chunk_threshold)
		rc = push_monolithic(c, repo, scope, &p);
	else
		rc = push_chunked(c, repo, scope, &p, chunk_size);
	free(scope);
	return rc;
}
