/*
 * s3_http.c - the S3 client of the s3 store driver (s3.h): settings and
 * credentials, signed requests over a small pool of libcurl handles (kept
 * connections), retries with backoff inside a budget, presigned URLs.
 *
 * Signing: CURLOPT_AWS_SIGV4 signs every request, but libcurl 7.88 does not
 * add x-amz-content-sha256, which S3 servers require (RGW answers 403
 * SignatureDoesNotMatch without it): we send it ourselves, as the body's
 * hash for small bodies (state, index, XML) and UNSIGNED-PAYLOAD for parts.
 * Presigned URLs are computed here (SigV4 query signing, HMAC-SHA256).
 */
#include "lib/store/s3.h"

#include "util/buf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

/* ---- settings ---- */

static int str_ok(const char *s, const char *extra)
{
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return 0;
	}
	return 1;
}

/* Read the [profile] section's keys from an AWS shared credentials file. */
static void credentials_file(char **access, char **secret)
{
	const char *home = getenv("HOME"), *profile = getenv("AWS_PROFILE");
	const char *path = getenv("AWS_SHARED_CREDENTIALS_FILE");
	char fallback[4096], line[1024], want[256];
	int in = 0;
	FILE *f;

	if (!path) {
		if (!home)
			return;
		snprintf(fallback, sizeof(fallback), "%s/.aws/credentials", home);
		path = fallback;
	}
	snprintf(want, sizeof(want), "[%s]", profile && *profile ? profile : "default");
	if (!(f = fopen(path, "re")))
		return;
	for (int n = 0; n < S3_CREDENTIALS_MAX / 16 && fgets(line, sizeof(line), f); n++) {
		char *p = line, *eq, *v, *end;

		while (isspace((unsigned char)*p))
			p++;
		end = p + strlen(p);
		while (end > p && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*p == '[') {
			in = strcmp(p, want) == 0;
			continue;
		}
		if (!in || !(eq = strchr(p, '=')))
			continue;
		v = eq + 1;
		while (eq > p && isspace((unsigned char)eq[-1]))
			eq--;
		*eq = '\0';
		while (isspace((unsigned char)*v))
			v++;
		if (strcmp(p, "aws_access_key_id") == 0 && !*access)
			*access = strdup(v);
		else if (strcmp(p, "aws_secret_access_key") == 0 && !*secret)
			*secret = strdup(v);
	}
	explicit_bzero(line, sizeof(line));
	fclose(f);
}

static char *env_dup(const char *a, const char *b)
{
	const char *v = getenv(a);

	if ((!v || !*v) && b)
		v = getenv(b);
	return v && *v ? strdup(v) : NULL;
}

static int set_credentials(s3_client *c, const berth_store_s3_config *cfg)
{
	if (cfg->accesskey && *cfg->accesskey) {
		c->access = strdup(cfg->accesskey);
		c->secret = cfg->secretkey ? strdup(cfg->secretkey) : NULL;
	} else {
		c->access = env_dup("AWS_ACCESS_KEY_ID", NULL);
		c->secret = env_dup("AWS_SECRET_ACCESS_KEY", NULL);
		if (!c->access || !c->secret) {
			free(c->access);
			free(c->secret);
			c->access = c->secret = NULL;
			credentials_file(&c->access, &c->secret);
		}
	}
	if (!c->access || !c->secret)
		return berth_error_set(BERTH_EINVALID,
				       "s3 store: no credentials (set accesskey and secretkey, "
				       "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
				       "~/.aws/credentials)");
	return 0;
}

/* base URL, Host and path style from endpoint / region / secure / bucket. */
static int set_endpoint(s3_client *c, const berth_store_s3_config *cfg)
{
	const char *ep = cfg->endpoint, *scheme = cfg->secure == 0 ? "http" : "https";
	char host[512];
	size_t n;

	if (ep && *ep) {
		if (strncmp(ep, "http://", 7) == 0) {
			scheme = "http";
			ep += 7;
		} else if (strncmp(ep, "https://", 8) == 0) {
			scheme = "https";
			ep += 8;
		}
		n = strcspn(ep, "/");
		if (n == 0 || n >= sizeof(host))
			return berth_error_set(BERTH_EINVALID, "s3 store: bad endpoint %s",
					       cfg->endpoint);
		memcpy(host, ep, n);
		host[n] = '\0';
		if (!str_ok(host, ".-:[]"))
			return berth_error_set(BERTH_EINVALID, "s3 store: bad endpoint %s",
					       cfg->endpoint);
		c->pathstyle = cfg->forcepathstyle != 0; /* unset (-1) or 1 */
	} else {
		snprintf(host, sizeof(host), "s3.%s.amazonaws.com", c->region);
		c->pathstyle = cfg->forcepathstyle == 1;
	}
	if (c->pathstyle) {
		c->host = strdup(host);
	} else if (asprintf(&c->host, "%s.%s", c->bucket, host) < 0) {
		c->host = NULL;
	}
	if (!c->host || asprintf(&c->base, "%s://%s", scheme, c->host) < 0) {
		c->base = NULL;
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	return 0;
}

static int set_root(s3_client *c, const char *root)
{
	size_t n;

	while (root && *root == '/')
		root++;
	if (!root || !*root) {
		c->root = strdup("");
		return c->root ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
	}
	if (!str_ok(root, "/._-") || strstr(root, "..") || strlen(root) > 200)
		return berth_error_set(BERTH_EINVALID,
				       "s3 store: rootdirectory may hold only letters, digits and "
				       "/._- (at most 200)");
	n = strlen(root);
	while (n && root[n - 1] == '/')
		n--;
	if (asprintf(&c->root, "%.*s/", (int)n, root) < 0) {
		c->root = NULL;
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	return 0;
}

int s3_client_new(s3_client **out, const berth_store_s3_config *cfg)
{
	s3_client *c = NULL;
	int rc;

	*out = NULL;
	if (!cfg->bucket || !*cfg->bucket || strlen(cfg->bucket) > 63 ||
	    !str_ok(cfg->bucket, ".-_")) {
		rc = berth_error_set(BERTH_EINVALID,
				     "s3 store: bucket missing or invalid (letters, digits, .-_)");
		goto done;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	pthread_mutex_init(&c->mu, NULL);
	c->bucket = strdup(cfg->bucket);
	c->region = cfg->region && *cfg->region ? strdup(cfg->region)
						: env_dup("AWS_REGION", "AWS_DEFAULT_REGION");
	if (!c->region)
		c->region = strdup("us-east-1");
	if (!c->bucket || !c->region) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (!str_ok(c->region, "-_")) {
		rc = berth_error_set(BERTH_EINVALID, "s3 store: bad region %s", c->region);
		goto done;
	}
	if (cfg->storageclass && *cfg->storageclass) {
		if (!str_ok(cfg->storageclass, "_-") || strlen(cfg->storageclass) > 64) {
			rc = berth_error_set(BERTH_EINVALID, "s3 store: bad storageclass");
			goto done;
		}
		c->storageclass = strdup(cfg->storageclass);
	}
	if ((rc = set_root(c, cfg->rootdirectory)) < 0 || (rc = set_credentials(c, cfg)) < 0 ||
	    (rc = set_endpoint(c, cfg)) < 0)
		goto done;
	if (asprintf(&c->sigv4, "aws:amz:%s:s3", c->region) < 0) {
		c->sigv4 = NULL;
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	c->timeout = cfg->timeout ? cfg->timeout : S3_DEFAULT_TIMEOUT;
	c->maxretries = cfg->maxretries ? cfg->maxretries : S3_DEFAULT_RETRIES;
	if (cfg->maxretries > 20) {
		rc = berth_error_set(BERTH_EINVALID, "s3 store: maxretries is at most 20");
		goto done;
	}
	*out = c;
	/* now owned by the caller */ c = NULL;
	rc = 0;
done:
	s3_client_free(c);
	return rc;
}

void s3_client_free(s3_client *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->npool; i++)
		curl_easy_cleanup(c->pool[i]);
	pthread_mutex_destroy(&c->mu);
	free(c->base);
	free(c->host);
	free(c->bucket);
	free(c->root);
	free(c->region);
	if (c->access)
		explicit_bzero(c->access, strlen(c->access));
	if (c->secret)
		explicit_bzero(c->secret, strlen(c->secret));
	free(c->access);
	free(c->secret);
	free(c->sigv4);
	free(c->storageclass);
	free(c);
}

/* ---- handles ---- */

static CURL *handle_get(s3_client *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->mu);
	if (c->npool > 0)
		h = c->pool[--c->npool];
	pthread_mutex_unlock(&c->mu);
	return h ? h : curl_easy_init();
}

static void handle_put(s3_client *c, CURL *h, int healthy)
{
	if (!h)
		return;
	if (healthy) {
		curl_easy_reset(h);
		pthread_mutex_lock(&c->mu);
		if (c->npool < S3_POOL_MAX) {
			c->pool[c->npool++] = h;
			h = NULL;
		}
		pthread_mutex_unlock(&c->mu);
	}
	if (h)
		curl_easy_cleanup(h);
}

/* ---- one attempt ---- */

typedef struct xfer {
	CURL *h;
	s3_req *r;
	const char *body;
	size_t sent;
	berth_buf err; /* error answers (capped) */
	int toobig;
} xfer;

static size_t on_read(char *dst, size_t size, size_t n, void *arg)
{
	xfer *x = arg;
	size_t want = size * n, left = x->r->body_len - x->sent;

	if (want > left)
		want = left;
	memcpy(dst, x->body + x->sent, want);
	x->sent += want;
	return want;
}

static size_t on_write(char *data, size_t size, size_t n, void *arg)
{
	xfer *x = arg;
	long status = 0;
	size_t len = size * n;

	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 300) {
		if (berth_buf_put(&x->err, data, len) < 0)
			berth_error_clear(); /* the start of the answer is enough */
		return len;
	}
	if (!x->r->out)
		return len;
	if (berth_buf_put(x->r->out, data, len) < 0) {
		x->toobig = 1;
		return 0; /* abort the transfer */
	}
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	xfer *x = arg;
	size_t len = size * n, vlen;
	const char *v;

	if (len > 5 && strncasecmp(data, "etag:", 5) == 0) {
		v = data + 5;
		vlen = len - 5;
		while (vlen && (*v == ' ' || *v == '\t'))
			v++, vlen--;
		while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
			vlen--;
		if (vlen < S3_ETAG_MAX) {
			memcpy(x->r->etag, v, vlen);
			x->r->etag[vlen] = '\0';
		}
	}
	return len;
}

static void hex_of(char *out, const unsigned char *in, size_t n)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int build_url(s3_client *c, const s3_req *r, char **url)
{
	int n;

	if (c->pathstyle)
		n = asprintf(url, "%s/%s/%s%s%s%s", c->base, c->bucket, r->key ? c->root : "",
			     r->key ? r->key : "", r->query ? "?" : "", r->query ? r->query : "");
	else
		n = asprintf(url, "%s/%s%s%s%s", c->base, r->key ? c->root : "",
			     r->key ? r->key : "", r->query ? "?" : "", r->query ? r->query : "");
	if (n < 0) {
		*url = NULL;
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	return 0;
}

static int add_header(struct curl_slist **l, const char *fmt, const char *v)
{
	char line[600];
	struct curl_slist *n;

	snprintf(line, sizeof(line), fmt, v);
	if (!(n = curl_slist_append(*l, line)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	*l = n;
	return 0;
}

static int make_headers(s3_client *c, const s3_req *r, struct curl_slist **out)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hash[2 * SHA256_DIGEST_LENGTH + 1];
	int rc = 0;

	if (r->sign_body || !r->body_len) {
		SHA256((const unsigned char *)(r->body ? r->body : ""), r->body_len, md);
		hex_of(hash, md, sizeof(md));
	} else {
		snprintf(hash, sizeof(hash), "UNSIGNED-PAYLOAD");
	}
	/*
	 * No "Expect:" override: libcurl would sign the emptied header it then
	 * leaves out, and the signature would not match.
	 */
	if ((rc = add_header(out, "x-amz-content-sha256: %s", hash)) < 0)
		return rc;
	if (r->range && (rc = add_header(out, "Range: %s", r->range)) < 0)
		return rc;
	if (strcmp(r->method, "POST") == 0 || r->content_type)
		rc = add_header(out, "Content-Type: %s",
				r->content_type ? r->content_type : "application/xml");
	if (rc == 0 && r->content_md5)
		rc = add_header(out, "Content-MD5: %s", r->content_md5);
	if (rc == 0 && r->storage_class && c->storageclass)
		rc = add_header(out, "x-amz-storage-class: %s", c->storageclass);
	return rc;
}

static void set_method(CURL *h, s3_req *r, xfer *x)
{
	if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, x);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body ? r->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	}
}

/* Describe an error answer: "<Code>: <Message>" from its XML, if any. */
static void error_text(const berth_buf *err, char *out, size_t max)
{
	char code[128] = "", msg[256] = "";

	if (err->len) {
		(void)s3_xml_value(err->ptr, "Code", code, sizeof(code));
		(void)s3_xml_value(err->ptr, "Message", msg, sizeof(msg));
	}
	snprintf(out, max, "%s%s%s", code, *code && *msg ? ": " : "", msg);
}

/* ---- per-operation counters ---- */

static const char *const op_names[S3_NOPS] = {
	[S3_OP_GET] = "GetObject",
	[S3_OP_HEAD_OBJECT] = "HeadObject",
	[S3_OP_HEAD_BUCKET] = "HeadBucket",
	[S3_OP_PUT] = "PutObject",
	[S3_OP_UPLOAD_PART] = "UploadPart",
	[S3_OP_CREATE_MPU] = "CreateMultipartUpload",
	[S3_OP_COMPLETE_MPU] = "CompleteMultipartUpload",
	[S3_OP_ABORT_MPU] = "AbortMultipartUpload",
	[S3_OP_DELETE] = "DeleteObject",
	[S3_OP_DELETE_MANY] = "DeleteObjects",
	[S3_OP_LIST] = "ListObjectsV2",
	[S3_OP_LIST_MPU] = "ListMultipartUploads",
	[S3_OP_OTHER] = "Other",
};

static int has_param(const char *query, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && (p[n] == '=' || p[n] == '&' || !p[n]))
			return 1;
	return 0;
}

/* The S3 operation a request is, from its method, key and query. */
static int op_of(const s3_req *r)
{
	const char *q = r->query;
	char m = r->method[0];

	if (m == 'G')
		return has_param(q, "list-type") ? S3_OP_LIST
		       : has_param(q, "uploads") ? S3_OP_LIST_MPU
						 : S3_OP_GET;
	if (m == 'H')
		return r->key ? S3_OP_HEAD_OBJECT : S3_OP_HEAD_BUCKET;
	if (m == 'P' && r->method[1] == 'U')
		return has_param(q, "partNumber") ? S3_OP_UPLOAD_PART : S3_OP_PUT;
	if (m == 'P')
		return has_param(q, "uploads")	  ? S3_OP_CREATE_MPU
		       : has_param(q, "uploadId") ? S3_OP_COMPLETE_MPU
		       : has_param(q, "delete")	  ? S3_OP_DELETE_MANY
						  : S3_OP_OTHER;
	if (m == 'D')
		return has_param(q, "uploadId") ? S3_OP_ABORT_MPU : S3_OP_DELETE;
	return S3_OP_OTHER;
}

static void op_count(s3_client *c, int op, long status, uint64_t out, uint64_t in, uint64_t us)
{
	s3_op_counters *k = &c->ops[op];
	unsigned cls = status >= 200 && status < 600 ? (unsigned)(status / 100 - 2) : 4;
	unsigned b = 0;

	while (b < BERTH_STORE_OP_BUCKETS && (double)us / 1e6 > berth_store_op_bucket(b))
		b++;
	atomic_fetch_add_explicit(&k->by_class[cls], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&k->hist[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&k->sum_us, us, memory_order_relaxed);
	atomic_fetch_add_explicit(&k->bytes_out, out, memory_order_relaxed);
	atomic_fetch_add_explicit(&k->bytes_in, in, memory_order_relaxed);
}

size_t s3_op_stats(s3_client *c, berth_store_op_stats *out, size_t max)
{
	size_t n = 0;

	for (int op = 0; op < S3_NOPS && n < max; op++) {
		s3_op_counters *k = &c->ops[op];
		berth_store_op_stats *o = &out[n];
		uint64_t total = 0;

		memset(o, 0, sizeof(*o));
		o->op = op_names[op];
		for (int i = 0; i < BERTH_STORE_OP_CLASSES; i++)
			total += o->by_class[i] = atomic_load(&k->by_class[i]);
		if (!total)
			continue;
		for (int i = 0; i <= BERTH_STORE_OP_BUCKETS; i++)
			o->hist[i] = atomic_load(&k->hist[i]);
		o->retries = atomic_load(&k->retries);
		o->bytes_out = atomic_load(&k->bytes_out);
		o->bytes_in = atomic_load(&k->bytes_in);
		o->sum_us = atomic_load(&k->sum_us);
		n++;
	}
	return n;
}

/* 0, a final error, or 1 for a retryable failure (message set). */
static int attempt(s3_client *c, s3_req *r)
{
	xfer x = {.r = r, .body = r->body, .err = BERTH_BUF_INIT(S3_ERROR_BODY_MAX)};
	struct curl_slist *hdrs = NULL;
	char *url = NULL, why[400];
	size_t out_len0 = r->out ? r->out->len : 0;
	struct timespec t0, t1;
	uint64_t sent, got;
	CURLcode cc;
	int rc, healthy = 0;

	r->status = 0;
	r->etag[0] = '\0';
	if (!(x.h = handle_get(c))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory (curl handle)");
		goto done;
	}
	if ((rc = build_url(c, r, &url)) < 0 || (rc = make_headers(c, r, &hdrs)) < 0)
		goto done;
	curl_easy_setopt(x.h, CURLOPT_URL, url);
	curl_easy_setopt(x.h, CURLOPT_AWS_SIGV4, c->sigv4);
	curl_easy_setopt(x.h, CURLOPT_USERNAME, c->access);
	curl_easy_setopt(x.h, CURLOPT_PASSWORD, c->secret);
	curl_easy_setopt(x.h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(x.h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x.h, CURLOPT_CONNECTTIMEOUT, (long)(c->timeout < 10 ? c->timeout : 10));
	curl_easy_setopt(x.h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(x.h, CURLOPT_LOW_SPEED_TIME, (long)c->timeout);
	curl_easy_setopt(x.h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(x.h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(x.h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x.h, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(x.h, CURLOPT_PROXY, ""); /* the endpoint is reached directly */
	set_method(x.h, r, &x);
	atomic_fetch_add(&c->requests, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cc = curl_easy_perform(x.h);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	curl_easy_getinfo(x.h, CURLINFO_RESPONSE_CODE, &r->status);
	sent = x.sent ? x.sent : (strcmp(r->method, "POST") == 0 ? r->body_len : 0);
	got = r->out ? r->out->len - out_len0 : 0;
	atomic_fetch_add(&c->bytes_out, sent);
	atomic_fetch_add(&c->bytes_in, got);
	op_count(
		c, op_of(r), cc == CURLE_OK ? r->status : 0, sent, got,
		(uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000));
	if (x.toobig) {
		rc = berth_error_set(BERTH_ETOOBIG, "S3 %s %s%s: answer over %zu bytes", r->method,
				     c->root, r->key ? r->key : "", r->out->max);
		goto done;
	}
	if (cc != CURLE_OK) {
		if (r->out)
			r->out->len = out_len0;
		berth_error_set(BERTH_EIO, "S3 %s %s%s: %s", r->method, r->key ? c->root : "",
				r->key ? r->key : "", curl_easy_strerror(cc));
		rc = 1;
		goto done;
	}
	healthy = 1;
	if (r->status >= 200 && r->status < 300) {
		rc = 0;
		goto done;
	}
	if (r->out)
		r->out->len = out_len0;
	error_text(&x.err, why, sizeof(why));
	rc = berth_error_set(r->status == 404 ? BERTH_ENOTFOUND : BERTH_EIO,
			     "S3 %s %s%s: HTTP %ld%s%s", r->method, r->key ? c->root : "",
			     r->key ? r->key : "", r->status, *why ? " " : "", why);
	if (r->status == 500 || r->status == 502 || r->status == 503 || r->status == 504)
		rc = 1;
done:
	handle_put(c, x.h, healthy);
	curl_slist_free_all(hdrs);
	free(url);
	berth_buf_dispose(&x.err);
	return rc;
}

int s3_do(s3_client *c, s3_req *r)
{
	unsigned delay = S3_BACKOFF_FIRST_MS, waited = 0;
	int rc;

	for (unsigned n = 0;; n++) {
		rc = attempt(c, r);
		if (rc <= 0)
			return rc;
		if (n >= c->maxretries || waited + delay > S3_RETRY_BUDGET_MS)
			break;
		/* Full jitter keeps many processes from retrying in step. */
		unsigned sleep_ms = delay / 2 + (unsigned)(rand() % (int)(delay / 2 + 1));
		struct timespec ts = {sleep_ms / 1000, (long)(sleep_ms % 1000) * 1000000L};

		nanosleep(&ts, NULL);
		waited += sleep_ms;
		delay = delay * 2 > S3_BACKOFF_MAX_MS ? S3_BACKOFF_MAX_MS : delay * 2;
		atomic_fetch_add(&c->retries, 1);
		atomic_fetch_add(&c->ops[op_of(r)].retries, 1);
	}
	/* The message of the last attempt stands; say retries were spent. */
	return berth_error_set(BERTH_EIO, "%s (after %u retries)", berth_error_last(),
			       c->maxretries);
}

/* ---- XML ---- */

int s3_xml_value(const char *xml, const char *name, char *out, size_t max)
{
	char open[80], close[80];
	const char *a, *b;

	snprintf(open, sizeof(open), "<%s>", name);
	snprintf(close, sizeof(close), "</%s>", name);
	out[0] = '\0';
	if (!xml || !(a = strstr(xml, open)))
		return BERTH_ENOTFOUND;
	a += strlen(open);
	if (!(b = strstr(a, close)) || (size_t)(b - a) >= max)
		return BERTH_EINVALID;
	memcpy(out, a, (size_t)(b - a));
	out[b - a] = '\0';
	return 0;
}

/* ---- presigning (SigV4 query parameters) ---- */

/* RFC 3986 unreserved stay, the rest is %XX; '/' kept when `slash`. */
static int uri_encode(berth_buf *b, const char *s, int slash)
{
	static const char hx[] = "0123456789ABCDEF";
	int rc = 0;

	for (; *s && rc == 0; s++) {
		unsigned char ch = (unsigned char)*s;

		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' ||
		    (slash && ch == '/')) {
			rc = berth_buf_put(b, s, 1);
		} else {
			char e[3] = {'%', hx[ch >> 4], hx[ch & 15]};

			rc = berth_buf_put(b, e, 3);
		}
	}
	return rc;
}

static void hmac(unsigned char out[32], const void *key, size_t klen, const char *msg)
{
	unsigned int n = 32;

	HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &n);
}

int s3_presign_get(s3_client *c, const char *key, unsigned expires, char **url)
{
	berth_buf path = BERTH_BUF_INIT(0), query = BERTH_BUF_INIT(0), creq = BERTH_BUF_INIT(0);
	berth_buf sts = BERTH_BUF_INIT(0), keybuf = BERTH_BUF_INIT(0);
	unsigned char k[32], md[32];
	char stamp[32], date[16], sig[65], hash[65];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	*url = NULL;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	strftime(date, sizeof(date), "%Y%m%d", &tm);
	if ((c->pathstyle && (rc = berth_buf_printf(&path, "/%s", c->bucket)) < 0) ||
	    (rc = berth_buf_puts(&path, "/")) < 0 || (rc = uri_encode(&path, c->root, 1)) < 0 ||
	    (rc = uri_encode(&path, key, 1)) < 0)
		goto done;
	/* Query keys in byte order, values encoded. */
	if ((rc = berth_buf_puts(&query, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=")) <
		    0 ||
	    (rc = berth_buf_printf(&keybuf, "%s/%s/%s/s3/aws4_request", c->access, date,
				   c->region)) < 0 ||
	    (rc = uri_encode(&query, keybuf.ptr, 0)) < 0 ||
	    (rc = berth_buf_printf(&query,
				   "&X-Amz-Date=%s&X-Amz-Expires=%u&X-Amz-SignedHeaders=host",
				   stamp, expires)) < 0)
		goto done;
	if ((rc = berth_buf_printf(&creq, "GET\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD",
				   path.ptr, query.ptr, c->host)) < 0)
		goto done;
	SHA256((const unsigned char *)creq.ptr, creq.len, md);
	hex_of(hash, md, 32);
	if ((rc = berth_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s", stamp,
				   date, c->region, hash)) < 0)
		goto done;
	berth_buf_reset(&keybuf);
	if ((rc = berth_buf_printf(&keybuf, "AWS4%s", c->secret)) < 0)
		goto done;
	hmac(k, keybuf.ptr, keybuf.len, date);
	hmac(k, k, 32, c->region);
	hmac(k, k, 32, "s3");
	hmac(k, k, 32, "aws4_request");
	hmac(md, k, 32, sts.ptr);
	hex_of(sig, md, 32);
	if (asprintf(url, "%s%s?%s&X-Amz-Signature=%s", c->base, path.ptr, query.ptr, sig) < 0) {
		*url = NULL;
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = 0;
done:
	explicit_bzero(k, sizeof(k));
	berth_buf_dispose_secret(&keybuf);
	berth_buf_dispose(&path);
	berth_buf_dispose(&query);
	berth_buf_dispose(&creq);
	berth_buf_dispose(&sts);
	return rc;
}
