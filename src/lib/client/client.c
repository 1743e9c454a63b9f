/*
 * client.c - the registry client object and its request engine.
 *
 * Every API call builds a berth_client__req and hands it to
 * berth_client__do, which takes a curl easy handle from the client's pool
 * (all handles share connections, DNS and TLS sessions through one CURLSH),
 * performs the request and deals with what is common to every call:
 * retries with exponential backoff for connection failures, 5xx and 429
 * (honouring Retry-After), the 401 challenge flow (auth.c), redirects
 * followed by hand to a bounded depth (credentials are dropped when the
 * redirect leaves the registry's origin), and capped response bodies.
 * berth_client__http_error turns a non-success response into a BERTH_E*
 * code carrying the registry's own OCI error message.
 */
#include "lib/client/internal.h"

#include "berth/ref.h"

#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define BUFFER_SIZE (512L * 1024)
#define UPLOAD_BUFFER_SIZE (2L * 1024 * 1024)

const char berth_client_manifest_accept[] =
	"application/vnd.oci.image.manifest.v1+json, "
	"application/vnd.oci.image.index.v1+json, "
	"application/vnd.docker.distribution.manifest.v2+json, "
	"application/vnd.docker.distribution.manifest.list.v2+json, "
	"application/vnd.docker.distribution.manifest.v1+prettyjws, "
	"application/vnd.docker.distribution.manifest.v1+json";

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void berth_client_options_init(berth_client_options *o)
{
	memset(o, 0, sizeof(*o));
	o->tls_verify = 1;
	o->retries = 3;
	o->timeout_seconds = 60;
	o->max_manifest_bytes = BERTH_MANIFEST_MAX;
}

/* ---- share locks ---- */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ctx)
{
	berth_client *c = ctx;

	(void)h;
	(void)access;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ctx)
{
	berth_client *c = ctx;

	(void)h;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&c->share_locks[data]);
}

/* ---- hosts ---- */

/* The host part of "host", "host:port", "[v6]:port" into out. */
static void host_only(const char *host, char *out, size_t outlen)
{
	const char *end;
	size_t n;

	if (host[0] == '[') {
		end = strchr(host, ']');
		host++;
		n = end ? (size_t)(end - host) : strlen(host);
	} else {
		end = strchr(host, ':');
		/* Several colons without brackets: a bare IPv6 address. */
		if (end && strchr(end + 1, ':'))
			end = NULL;
		n = end ? (size_t)(end - host) : strlen(host);
	}
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, host, n);
	out[n] = '\0';
}

static int is_loopback(const char *host)
{
	char h[256];

	host_only(host, h, sizeof(h));
	return strcasecmp(h, "localhost") == 0 || strncmp(h, "127.", 4) == 0 ||
	       strcmp(h, "::1") == 0;
}

int berth_client_new(berth_client **out, const berth_client_options *opts)
{
	berth_client_options defaults;
	berth_client *c = NULL;
	const char *api;
	char ua[64];
	int rc = 0;
	size_t i;

	*out = NULL;
	if (!opts) {
		berth_client_options_init(&defaults);
		opts = &defaults;
	}
	if (!opts->host || !*opts->host || strlen(opts->host) > BERTH_DOMAIN_MAX ||
	    strpbrk(opts->host, "/?#@ \t\r\n"))
		return berth_error_set(BERTH_EINVALID, "registry host \"%.100s\" is not valid",
				       opts->host ? opts->host : "");
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return berth_error_set(BERTH_ERROR, "curl_global_init failed: %s",
				       curl_easy_strerror(global_rc));

	c = calloc(1, sizeof(*c));
	if (!c)
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_locks[i], NULL);
	pthread_mutex_init(&c->pool_lock, NULL);
	pthread_mutex_init(&c->auth_lock, NULL);
	pthread_mutex_init(&c->probe_lock, NULL);
	pthread_mutex_init(&c->buf_lock, NULL);

	api = opts->host;
	if (strcmp(api, "docker.io") == 0 || strcmp(api, "index.docker.io") == 0)
		api = "registry-1.docker.io";
	c->host = strdup(opts->host);
	c->api_host = strdup(api);
	c->tls_verify = opts->tls_verify;
	c->plain_forced = opts->plain_http;
	c->loopback = is_loopback(api);
	snprintf(ua, sizeof(ua), "berth/%s", BERTH_VERSION);
	c->user_agent = strdup(opts->user_agent ? opts->user_agent : ua);
	c->auth_file = opts->auth_file ? strdup(opts->auth_file) : NULL;
	c->retries = opts->retries > 0 ? opts->retries : (opts->retries < 0 ? 0 : 3);
	c->timeout = opts->timeout_seconds > 0 ? opts->timeout_seconds : 60;
	c->max_manifest = opts->max_manifest_bytes ? opts->max_manifest_bytes : BERTH_MANIFEST_MAX;
	if (asprintf(&c->base_url, "%s://%s",
		     c->plain_forced > 0 || (c->plain_forced == 0 && c->loopback) ? "http"
										  : "https",
		     api) < 0)
		c->base_url = NULL;
	if (asprintf(&c->http_url, "http://%s", api) < 0)
		c->http_url = NULL;
	if (!c->host || !c->api_host || !c->user_agent || !c->base_url || !c->http_url ||
	    (opts->auth_file && !c->auth_file)) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (opts->username) {
		c->user = strdup(opts->username);
		c->pass = strdup(opts->password ? opts->password : "");
		if (!c->user || !c->pass) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
		c->creds_loaded = 1;
	}

	c->share = curl_share_init();
	if (!c->share) {
		rc = berth_error_set(BERTH_ERROR, "curl_share_init failed");
		goto done;
	}
	curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);

	rc = berth_client__tls_setup(c, opts->cert_dir);
	if (rc)
		goto done;

	*out = c;
	c = NULL;
done:
	berth_client_free(c);
	return rc;
}

void berth_client_free(berth_client *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->npool; i++)
		curl_easy_cleanup(c->pool[i]);
	if (c->share)
		curl_share_cleanup(c->share);
	berth_client__auth_dispose(c);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_locks[i]);
	pthread_mutex_destroy(&c->pool_lock);
	pthread_mutex_destroy(&c->auth_lock);
	pthread_mutex_destroy(&c->probe_lock);
	for (i = 0; i < c->nbufs; i++)
		free(c->bufs[i].p);
	pthread_mutex_destroy(&c->buf_lock);
	free(c->host);
	free(c->api_host);
	free(c->base_url);
	free(c->http_url);
	free(c->user_agent);
	free(c->auth_file);
	free(c->ca_blob);
	free(c->client_cert);
	free(c->client_key);
	free(c);
}

/* ---- push buffers ---- */

/* Below this, malloc is cheap enough (and its arenas recycle the memory). */
#define BUF_POOL_MIN (1024 * 1024)
/* Pooled sizes are rounded up to this, so blobs of similar size share buffers. */
#define BUF_ROUND (4 * 1024 * 1024)

char *berth_client__buf_get(berth_client *c, size_t size, size_t *cap)
{
	char *p = NULL, *drop = NULL;
	size_t best = 0, i;

	if (size < BUF_POOL_MIN) {
		*cap = size ? size : 1;
		return malloc(*cap);
	}
	pthread_mutex_lock(&c->buf_lock);
	for (i = 0; i < c->nbufs; i++)
		if (c->bufs[i].cap >= size && (!p || c->bufs[i].cap < best)) {
			p = c->bufs[i].p;
			best = c->bufs[i].cap;
		}
	if (p) {
		for (i = 0; c->bufs[i].p != p; i++)
			;
		c->bufs[i] = c->bufs[--c->nbufs];
	} else if (c->nbufs) {
		/* All too small: drop one rather than let the pool grow. */
		drop = c->bufs[--c->nbufs].p;
	}
	pthread_mutex_unlock(&c->buf_lock);
	free(drop);
	if (p) {
		*cap = best;
		return p;
	}
	*cap = (size + BUF_ROUND - 1) / BUF_ROUND * BUF_ROUND;
	return malloc(*cap);
}

void berth_client__buf_put(berth_client *c, char *p, size_t cap)
{
	if (!p)
		return;
	if (cap >= BUF_POOL_MIN) {
		pthread_mutex_lock(&c->buf_lock);
		if (c->nbufs < BERTH_CLIENT__BUF_POOL) {
			c->bufs[c->nbufs].p = p;
			c->bufs[c->nbufs++].cap = cap;
			p = NULL;
		}
		pthread_mutex_unlock(&c->buf_lock);
	}
	free(p);
}

const char *berth_client_base_url(berth_client *c)
{
	return atomic_load_explicit(&c->use_http, memory_order_acquire) ? c->http_url : c->base_url;
}

/* Should a failed https request be tried again over http (and the client switch)? */
static int tls_fallback(berth_client *c, const char *url, CURLcode cc)
{
	if (c->tls_verify || c->plain_forced || strncmp(url, "https://", 8) != 0 ||
	    strncmp(url, c->base_url, strlen(c->base_url)) != 0)
		return 0;
	if (cc != CURLE_SSL_CONNECT_ERROR && cc != CURLE_RECV_ERROR && cc != CURLE_SEND_ERROR &&
	    cc != CURLE_GOT_NOTHING)
		return 0;
	atomic_store_explicit(&c->use_http, 1, memory_order_release);
	return 1;
}

char *berth_client__scope(const char *repo, int push)
{
	char *s = NULL;

	if (asprintf(&s, "repository:%s:%s", repo, push ? "pull,push" : "pull") < 0)
		return NULL;
	return s;
}

/* ---- requests ---- */

void berth_client__req_init(berth_client__req *r, const char *method, const char *url)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->url = url;
	r->content_length = -1;
	berth_buf_init(&r->errbody, BERTH_CLIENT__ERRBODY_MAX);
}

void berth_client__req_dispose(berth_client__req *r)
{
	berth_buf_dispose(&r->errbody);
}

static void reset_response(berth_client__req *r)
{
	r->status = 0;
	r->location[0] = r->content_type_out[0] = r->digest[0] = r->range[0] = '\0';
	r->content_range_out[0] = r->www_auth[0] = r->link[0] = r->retry_after[0] = '\0';
	r->content_length = -1;
	berth_buf_reset(&r->errbody);
}

static void copy_value(char *dst, size_t dstlen, const char *v, size_t n)
{
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	berth_client__req *r = ud;
	size_t len = size * nitems, n, vlen;
	const char *colon, *v;

	n = len;
	while (n && (buf[n - 1] == '\r' || buf[n - 1] == '\n'))
		n--;
	if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		/* A new response (after 100 Continue, say): forget the last one. */
		const char *sp = memchr(buf, ' ', n);

		reset_response(r);
		if (sp && sp + 4 <= buf + n)
			r->status = strtol(sp + 1, NULL, 10);
		return len;
	}
	colon = memchr(buf, ':', n);
	if (!colon)
		return len;
	v = colon + 1;
	while (v < buf + n && (*v == ' ' || *v == '\t'))
		v++;
	vlen = (size_t)(buf + n - v);
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
#define HDR(name, field)                                                                           \
	if ((size_t)(colon - buf) == sizeof(name) - 1 &&                                           \
	    strncasecmp(buf, name, sizeof(name) - 1) == 0) {                                       \
		copy_value(r->field, sizeof(r->field), v, vlen);                                   \
		return len;                                                                        \
	}
	HDR("Location", location)
	HDR("Content-Type", content_type_out)
	HDR("Docker-Content-Digest", digest)
	HDR("Range", range)
	HDR("Content-Range", content_range_out)
	HDR("Link", link)
	HDR("Retry-After", retry_after)
#undef HDR
	if ((size_t)(colon - buf) == 16 && strncasecmp(buf, "WWW-Authenticate", 16) == 0) {
		/* Several challenge headers: keep them all, comma separated. */
		size_t cur = strlen(r->www_auth);

		if (cur && cur + 2 < sizeof(r->www_auth)) {
			r->www_auth[cur++] = ',';
			r->www_auth[cur++] = ' ';
		}
		copy_value(r->www_auth + cur, sizeof(r->www_auth) - cur, v, vlen);
		return len;
	}
	if ((size_t)(colon - buf) == 14 && strncasecmp(buf, "Content-Length", 14) == 0) {
		char tmp[32];

		copy_value(tmp, sizeof(tmp), v, vlen);
		r->content_length = strtoll(tmp, NULL, 10);
	}
	return len;
}

static int deliverable(const berth_client__req *r)
{
	if (r->range_from)
		return r->status == 206;
	return r->status >= 200 && r->status < 300;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	berth_client__req *r = ud;
	size_t len = size * nmemb;
	int rc;

	if (!deliverable(r)) {
		/* Error bodies are kept (capped) for their OCI error message. */
		size_t room = r->errbody.max - r->errbody.len;

		if (berth_buf_put(&r->errbody, ptr, len < room ? len : room))
			return 0;
		return len;
	}
	if (r->sink) {
		rc = r->sink(r->sink_ctx, ptr, len);
		if (rc) {
			r->sink_rc = rc < 0 ? rc : BERTH_ERROR;
			return 0;
		}
	} else if (r->body_out) {
		if (berth_buf_put(r->body_out, ptr, len)) {
			r->too_big = 1;
			return 0;
		}
	}
	r->delivered += len;
	return len;
}

typedef struct {
	const char *p;
	size_t len, off;
	berth_client__req *r;
} body_reader;

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	body_reader *b = ud;
	size_t n = size * nitems;

	if (b->r->read_fn) {
		long k = b->r->read_fn(b->r->read_ctx, buf, n);

		if (k < 0) {
			b->r->sink_rc = (int)k;
			return CURL_READFUNC_ABORT;
		}
		return (size_t)k;
	}
	if (n > b->len - b->off)
		n = b->len - b->off;
	memcpy(buf, b->p + b->off, n);
	b->off += n;
	return n;
}

static int seek_cb(void *ud, curl_off_t offset, int origin)
{
	body_reader *b = ud;

	if (origin != SEEK_SET || offset < 0 || (size_t)offset > b->len)
		return CURL_SEEKFUNC_CANTSEEK;
	/*
	 * Streamed bodies are upload chunks: curl's own silent resend on a
	 * fresh connection would repeat bytes the registry may already hold.
	 * Refusing the rewind makes the break visible, and the push code asks
	 * the registry where it stands instead.
	 */
	if (b->r->read_fn)
		return CURL_SEEKFUNC_CANTSEEK;
	b->off = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

static CURL *handle_get(berth_client *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->pool_lock);
	if (c->npool)
		h = c->pool[--c->npool];
	pthread_mutex_unlock(&c->pool_lock);
	return h ? h : curl_easy_init();
}

static void handle_put(berth_client *c, CURL *h)
{
	curl_easy_reset(h);
	pthread_mutex_lock(&c->pool_lock);
	if (c->npool < BERTH_CLIENT__POOL_MAX) {
		c->pool[c->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->pool_lock);
	if (h)
		curl_easy_cleanup(h);
}

static struct curl_slist *add_header(struct curl_slist *l, int *failed, const char *fmt, ...)
	BERTH_PRINTF(3, 4);

static struct curl_slist *add_header(struct curl_slist *l, int *failed, const char *fmt, ...)
{
	struct curl_slist *n;
	char *s = NULL;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (len < 0) {
		*failed = 1;
		return l;
	}
	n = curl_slist_append(l, s);
	/* The line may hold a secret (Authorization): wipe our copy. */
	explicit_bzero(s, (size_t)len);
	free(s);
	if (!n) {
		*failed = 1;
		return l;
	}
	return n;
}

static void slist_free_wiped(struct curl_slist *l)
{
	struct curl_slist *p;

	for (p = l; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

/*
 * One HTTP exchange. Returns the curl code; errbuf gets curl's message.
 */
static CURLcode perform(berth_client *c, berth_client__req *r, const char *url, const char *authz,
			int send_auth, char *errbuf)
{
	struct curl_slist *hdrs = NULL;
	body_reader br = {r->body, r->body_len, 0, r};
	int failed = 0;
	CURLcode cc;
	CURL *h;

	errbuf[0] = '\0';
	reset_response(r);
	h = handle_get(c);
	if (!h) {
		snprintf(errbuf, CURL_ERROR_SIZE, "curl_easy_init failed");
		return CURLE_OUT_OF_MEMORY;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_SHARE, c->share);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, BUFFER_SIZE);
	curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, UPLOAD_BUFFER_SIZE);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->timeout);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	berth_client__tls_apply(c, h);

	if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(h, CURLOPT_READDATA, &br);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "PUT") == 0 || strcmp(r->method, "PATCH") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(h, CURLOPT_READDATA, &br);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
		if (strcmp(r->method, "PATCH") == 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PATCH");
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	}
	if (r->read_fn && r->seek_fn && r->seek_fn(r->read_ctx, 0)) {
		handle_put(c, h);
		snprintf(errbuf, CURL_ERROR_SIZE, "cannot restart the request body");
		return CURLE_SEND_FAIL_REWIND;
	}
	if (r->body || r->has_body) {
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_cb);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, &br);
	}

	if (r->expect_continue && (r->body || r->has_body) && r->body_len > 0) {
		/*
		 * A server that answers without reading the body (Distribution
		 * ignoring POST ?digest=) never gets it; one that wants it says
		 * 100 Continue at once (libmicrohttpd, Go's net/http on a read).
		 */
		hdrs = add_header(hdrs, &failed, "Expect: 100-continue");
		curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 2000L);
	} else {
		hdrs = add_header(hdrs, &failed, "Expect:");
	}
	if (r->accept)
		hdrs = add_header(hdrs, &failed, "Accept: %s", r->accept);
	if (r->content_type)
		hdrs = add_header(hdrs, &failed, "Content-Type: %s", r->content_type);
	else if (r->body || r->has_body)
		hdrs = add_header(hdrs, &failed, "Content-Type: application/octet-stream");
	if (r->content_range)
		hdrs = add_header(hdrs, &failed, "Content-Range: %s", r->content_range);
	if (r->range_from)
		hdrs = add_header(hdrs, &failed, "Range: bytes=%llu-",
				  (unsigned long long)r->range_from);
	if (authz && send_auth)
		hdrs = add_header(hdrs, &failed, "Authorization: %s", authz);
	if (r->basic_user) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, r->basic_user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, r->basic_pass ? r->basic_pass : "");
	}
	if (failed) {
		slist_free_wiped(hdrs);
		handle_put(c, h);
		snprintf(errbuf, CURL_ERROR_SIZE, "out of memory");
		return CURLE_OUT_OF_MEMORY;
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

	cc = curl_easy_perform(h);
	if (cc == CURLE_OK) {
		long code = 0;

		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		r->status = code;
	}
	handle_put(c, h);
	slist_free_wiped(hdrs);
	return cc;
}

static int transient_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_FAIL_REWIND:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM: return 1;
	default: return 0;
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static long backoff_ms(const berth_client__req *r, int attempt)
{
	long ms = 200L << (attempt < 6 ? attempt : 6);

	if (r && r->retry_after[0] && isdigit((unsigned char)r->retry_after[0])) {
		long s = strtol(r->retry_after, NULL, 10);

		/* Honour the registry, within reason. */
		ms = (s > 30 ? 30 : s) * 1000L;
	}
	return ms;
}

/* "scheme://host:port" of a URL, or "" if it does not parse. */
static void origin_of(const char *url, char *out, size_t outlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;

	out[0] = '\0';
	if (!u)
		return;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
		snprintf(out, outlen, "%s://%s:%s", scheme, host, port);
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

char *berth_client__resolve(const char *base, const char *ref)
{
	CURLU *u = curl_url();
	char *got = NULL, *res = NULL;

	if (!u)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, ref, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &got, 0) == CURLUE_OK)
		res = strdup(got);
	curl_free(got);
	curl_url_cleanup(u);
	return res;
}

/* The path of a URL without its query (query strings may hold upload state). */
static void path_of(const char *url, char *out, size_t outlen)
{
	const char *p = strstr(url, "://");
	size_t n;

	p = p ? strchr(p + 3, '/') : url;
	if (!p)
		p = "/";
	n = strcspn(p, "?#");
	copy_value(out, outlen, p, n);
}

int berth_client__do(berth_client *c, berth_client__req *r)
{
	char errbuf[CURL_ERROR_SIZE], base_origin[300], cur_origin[300], path[512];
	char *url = NULL, *authz = NULL, *next;
	int attempt = 0, auth_tries = 0, redirects = 0, same_origin = 1, rc = 0, sent;
	const char *base = berth_client_base_url(c);
	CURLcode cc;

	if (strncmp(r->url, "http://", 7) == 0 || strncmp(r->url, "https://", 8) == 0)
		url = strdup(r->url);
	else if (asprintf(&url, "%s%s", base, r->url) < 0)
		url = NULL;
	if (!url)
		return berth_error_set(BERTH_ERROR, "out of memory");
	origin_of(base, base_origin, sizeof(base_origin));

	for (;;) {
		path_of(url, path, sizeof(path));
		authz = (!r->no_auth && same_origin) ? berth_client__auth_header(c, r->scope)
						     : NULL;
		sent = authz != NULL;
		r->sink_rc = 0;
		cc = perform(c, r, url, authz, 1, errbuf);
		if (authz) {
			explicit_bzero(authz, strlen(authz));
			free(authz);
			authz = NULL;
		}
		if (cc != CURLE_OK) {
			if (r->sink_rc) {
				rc = r->sink_rc;
				if (berth_error_last_code() != rc)
					berth_error_set(rc, "registry %s: reading %s was aborted",
							c->host, path);
				goto done;
			}
			if (r->too_big) {
				rc = berth_error_set(BERTH_ETOOBIG,
						     "registry %s: %s %s is larger than the limit "
						     "of %zu bytes; refused",
						     c->host,
						     r->body_what ? r->body_what : "response", path,
						     r->body_out ? r->body_out->max : (size_t)0);
				goto done;
			}
			if (tls_fallback(c, url, cc)) {
				/* tls_verify=0 and no TLS there: speak plain http, as skopeo does.
				 */
				char *plain = NULL;

				if (asprintf(&plain, "http://%s", url + 8) < 0) {
					rc = berth_error_set(BERTH_ERROR, "out of memory");
					goto done;
				}
				free(url);
				url = plain;
				origin_of(url, base_origin, sizeof(base_origin));
				continue;
			}
			if (transient_curl(cc) && !r->no_retry && r->delivered == 0 &&
			    attempt < c->retries) {
				berth_debug("registry %s: %s %s: %s; retrying", c->host, r->method,
					    path, errbuf[0] ? errbuf : curl_easy_strerror(cc));
				sleep_ms(backoff_ms(NULL, attempt++));
				continue;
			}
			r->net_error = 1;
			rc = berth_error_set(BERTH_EIO, "registry %s: %s %s: %s", c->host,
					     r->method, path,
					     errbuf[0] ? errbuf : curl_easy_strerror(cc));
			goto done;
		}
		if (r->status == 401 && !r->no_auth && same_origin && auth_tries < 2) {
			rc = berth_client__auth_challenge(c, r->www_auth, r->scope, sent);
			if (rc)
				goto done;
			auth_tries++;
			continue;
		}
		/* 507 Insufficient Storage does not clear in seconds: the caller decides. */
		if (((r->status >= 500 && r->status != 507) || r->status == 429) && !r->no_retry &&
		    r->delivered == 0 && attempt < c->retries) {
			berth_debug("registry %s: %s %s: HTTP %ld; retrying", c->host, r->method,
				    path, r->status);
			sleep_ms(backoff_ms(r, attempt++));
			continue;
		}
		if (r->follow && r->location[0] &&
		    (r->status == 301 || r->status == 302 || r->status == 303 || r->status == 307 ||
		     r->status == 308)) {
			if (++redirects > BERTH_CLIENT__MAX_REDIRECTS) {
				rc = berth_error_set(BERTH_EIO,
						     "registry %s: more than %d redirects for %s "
						     "%s (a redirect loop?)",
						     c->host, BERTH_CLIENT__MAX_REDIRECTS,
						     r->method, r->url);
				goto done;
			}
			next = berth_client__resolve(url, r->location);
			if (!next ||
			    (strncmp(next, "http://", 7) && strncmp(next, "https://", 8))) {
				free(next);
				rc = berth_error_set(BERTH_EIO, "registry %s: bad redirect for %s",
						     c->host, path);
				goto done;
			}
			free(url);
			url = next;
			origin_of(url, cur_origin, sizeof(cur_origin));
			/* Credentials stay with the registry's own origin. */
			same_origin = strcmp(cur_origin, base_origin) == 0;
			continue;
		}
		copy_value(r->final_url, sizeof(r->final_url), url, strlen(url));
		rc = 0;
		goto done;
	}
done:
	free(url);
	return rc;
}

/* ---- errors ---- */

static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

/* A write into a blob upload: a 413 there says the registry will not take the bytes. */
static int is_upload_write(const berth_client__req *r)
{
	return r->method && r->url && strcmp(r->method, "GET") != 0 &&
	       strcmp(r->method, "HEAD") != 0 && strstr(r->url, "/blobs/uploads/") != NULL;
}

/* A refusal for space: Harbor's project quota, or any DENIED naming quota or storage. */
static int denied_for_space(const char *message)
{
	return strcasestr(message, "quota") || strcasestr(message, "storage limit") ||
	       strcasestr(message, "no space");
}

void berth_client__fault_read(const berth_client__req *r, berth_client__fault *out)
{
	const char *code = out->code;

	out->code[0] = out->message[0] = '\0';
	if (r->errbody.len && r->errbody.ptr[0] == '{') {
		json_t *root = json_loadb(r->errbody.ptr, r->errbody.len, 0, NULL);
		json_t *e = json_array_get(json_object_get(root, "errors"), 0);
		const char *s;

		if ((s = json_string_value(json_object_get(e, "code"))))
			snprintf(out->code, sizeof(out->code), "%s", s);
		if ((s = json_string_value(json_object_get(e, "message"))))
			snprintf(out->message, sizeof(out->message), "%s", s);
		json_decref(root);
		sanitize(out->code);
		sanitize(out->message);
	}
	switch (r->status) {
	case 400:
		out->rc = strcmp(code, "DIGEST_INVALID") == 0 ? BERTH_EDIGEST
			  : strcmp(code, "SIZE_INVALID") == 0 ? BERTH_ESIZE
							      : BERTH_EINVALID;
		break;
	case 401: out->rc = BERTH_EDENIED; break;
	case 403: out->rc = denied_for_space(out->message) ? BERTH_ENOSPC : BERTH_EDENIED; break;
	case 404: out->rc = BERTH_ENOTFOUND; break;
	case 405: out->rc = BERTH_EUNSUPPORTED; break;
	case 409: out->rc = BERTH_EBUSY; break;
	case 413: out->rc = is_upload_write(r) ? BERTH_ENOSPC : BERTH_ETOOBIG; break;
	case 416: out->rc = BERTH_ERANGE; break;
	case 429: out->rc = BERTH_EBUSY; break;
	case 507: out->rc = BERTH_ENOSPC; break;
	default: out->rc = r->status >= 500 ? BERTH_EIO : BERTH_ERROR;
	}
}

int berth_client__http_error(berth_client *c, const berth_client__req *r, const char *what)
{
	berth_client__fault f;

	berth_client__fault_read(r, &f);
	if (f.code[0])
		return berth_error_set(f.rc, "registry %s: %s: %s (%s)", c->host, f.code,
				       f.message[0] ? f.message : "no message", what);
	return berth_error_set(f.rc, "registry %s: HTTP %ld for %s", c->host, r->status, what);
}

int berth_client_ping(berth_client *c)
{
	berth_client__req r;
	int rc;

	berth_client__req_init(&r, "GET", "/v2/");
	rc = berth_client__do(c, &r);
	if (rc)
		goto done;
	if (r.status == 404)
		rc = berth_error_set(BERTH_ENOTFOUND,
				     "%s does not look like a registry (GET /v2/ answered 404)",
				     c->host);
	else if (r.status < 200 || r.status >= 300)
		rc = berth_client__http_error(c, &r, "GET /v2/");
done:
	berth_client__req_dispose(&r);
	return rc;
}
