/*
 * api.c - the api object, first-start setup, the op lifecycle and routing
 * of /token and /api/v1/..., response helpers, the audit trail and name
 * rules shared by the other files of the module.
 */
#include "lib/auth/internal.h"

#include "berth/ref.h"
#include "util/log.h"

#include <openssl/rand.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the api object ---- */

/* The server's own password (see authn.c): 32 bytes as hex, in memory only,
 * derived from the signing key (the same in every process sharing it), or
 * random without a key. */
static int system_password(berth_auth *a)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[32];

	if (a->key) {
		if (berth_token_key_derive(a->key, "berth$system password v1", rnd) < 0)
			return berth_error_last_code();
	} else if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return berth_error_set(BERTH_ERROR, "no random bytes for the system password");
	for (size_t i = 0; i < sizeof(rnd); i++) {
		a->system_password[2 * i] = hex[rnd[i] >> 4];
		a->system_password[2 * i + 1] = hex[rnd[i] & 15];
	}
	a->system_password[2 * sizeof(rnd)] = '\0';
	explicit_bzero(rnd, sizeof(rnd));
	return 0;
}

const char *berth_auth_system_password(const berth_auth *a)
{
	return a->system_password;
}

int berth_auth_new(berth_auth **out, berth_meta *meta, const berth_token_key *key,
		   const berth_auth_config *cfg)
{
	berth_auth *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (!a)
		return berth_error_set(BERTH_ERROR, "out of memory");
	a->meta = meta;
	a->key = key;
	snprintf(a->issuer, sizeof(a->issuer), "%s",
		 cfg && cfg->issuer && *cfg->issuer ? cfg->issuer : "berth");
	snprintf(a->service, sizeof(a->service), "%s",
		 cfg && cfg->service && *cfg->service ? cfg->service : "berth");
	a->expiration = cfg && cfg->expiration > 0 ? cfg->expiration : 300;
	if (system_password(a) < 0) {
		free(a);
		return berth_error_last_code();
	}
	if (berth_auth__cache_new(&a->cache, cfg ? cfg->credential_cache_seconds : 0) < 0) {
		free(a);
		return berth_error_last_code();
	}
	pthread_mutex_init(&a->audit_lock, NULL);
	*out = a;
	return 0;
}

void berth_auth_free(berth_auth *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->audit_lock);
	berth_auth__cache_free(a->cache);
	explicit_bzero(a->system_password, sizeof(a->system_password));
	free(a);
}

int berth_auth_bootstrap(berth_auth *a, const char *admin_password)
{
	berth_meta_user u;
	char hash[BERTH_CRED_HASH_MAX];
	int rc;

	rc = berth_meta_project_create(a->meta, "library", 1);
	if (rc < 0 && rc != BERTH_EEXISTS)
		return rc;
	rc = berth_meta_user_get(a->meta, "admin", &u);
	if (rc == 0)
		return 0;
	if (rc != BERTH_ENOTFOUND)
		return rc;
	if (!admin_password || !*admin_password)
		return berth_error_set(BERTH_EINVALID,
				       "access control is on and the system administrator 'admin' "
				       "does not exist yet: give its password with "
				       "--admin-password-file FILE or BERTH_ADMIN_PASSWORD");
	if (berth_cred_password_hash(hash, admin_password) < 0)
		return berth_error_set(BERTH_EINVALID,
				       "the admin password is unusable (empty or longer than %d "
				       "bytes)",
				       BERTH_CRED_BCRYPT_MAX);
	rc = berth_meta_user_create(a->meta, "admin", hash, 1, NULL);
	explicit_bzero(hash, sizeof(hash));
	if (rc == BERTH_EEXISTS)
		rc = 0; /* another process made it first */
	if (rc == 0)
		berth_auth__audit(a, "admin", "user_create", "user/admin", "", "ok");
	return rc;
}

/* ---- names ---- */

int berth_auth__user_name_valid(const char *s)
{
	size_t n = 0;

	if (!s || !*s || s[0] == '.' || s[0] == '-')
		return 0;
	for (; s[n]; n++) {
		char c = s[n];

		if (n >= BERTH_META_NAME_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == '@'))
			return 0;
	}
	return 1;
}

int berth_auth__component_valid(const char *s)
{
	size_t n;

	if (!s || !*s || (n = strlen(s)) > 64 || strchr(s, '/'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return 0;
	return berth_ref_name_valid(s, n);
}

/* ---- responses ---- */

void berth_auth__header(berth_auth_op *op, const char *name, const char *fmt, ...)
{
	berth_resp *r = &op->resp;
	va_list ap;
	char *v;

	if (r->nheaders >= BERTH_RESP_MAX_HEADERS)
		return;
	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		v = NULL;
	va_end(ap);
	if (!v)
		return;
	r->headers[r->nheaders].value = berth_pool_strdup(&op->pool, v);
	free(v);
	if (!r->headers[r->nheaders].value)
		return;
	r->headers[r->nheaders].name = name;
	r->nheaders++;
}

static void body(berth_auth_op *op, int status, const char *ctype)
{
	op->resp.status = status;
	berth_auth__header(op, "Content-Type", "%s", ctype);
	op->resp.body = op->out.ptr ? op->out.ptr : "";
	op->resp.body_len = op->out.len;
	if (op->is_head) {
		op->resp.head = 1;
		op->resp.head_length = op->out.len;
	}
}

void berth_auth__error(berth_auth_op *op, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	op->resp.nheaders = 0;
	berth_buf_reset(&op->out);
	op->failed = 1;
	rc = berth_registry_error_body(&op->out, code, msg, "null");
	if (rc)
		berth_buf_reset(&op->out);
	body(op, status, "application/json");
}

void berth_auth__internal(berth_auth_op *op)
{
	berth_warn("api %s %s: %s", op->method, op->path, berth_error_last());
	/*
	 * "Retry later" (the metadata database unreachable or restarting): 503,
	 * as the registry answers, so clients and load balancers retry.
	 */
	if (berth_error_last_code() == BERTH_EBUSY) {
		berth_auth__error(op, 503, "UNAVAILABLE", "temporarily unavailable: try again");
		berth_auth__header(op, "Retry-After", "1");
		return;
	}
	berth_auth__error(op, 500, "UNKNOWN", "internal error");
}

const char *berth_auth__realm(berth_auth_op *op)
{
	const char *r = berth_pool_printf(&op->pool, "%s/token", op->base_url);

	return r ? r : "/token";
}

void berth_auth__unauthorized(berth_auth_op *op, const char *message)
{
	berth_buf ch = BERTH_BUF_INIT(4096);

	berth_auth__error(op, 401, "UNAUTHORIZED", "%s", message);
	if (berth_cred_challenge(&ch, berth_auth__realm(op), op->api->service, NULL, 0, NULL) ==
		    0 &&
	    ch.ptr)
		berth_auth__header(op, "WWW-Authenticate", "%s", ch.ptr);
	berth_buf_dispose(&ch);
}

void berth_auth__throttled(berth_auth_op *op, long retry_after)
{
	berth_auth__error(op, 429, "TOOMANYREQUESTS", "too many failed logins: try again later");
	berth_auth__header(op, "Retry-After", "%ld", retry_after > 0 ? retry_after : 1);
}

void berth_auth__json(berth_auth_op *op, int status, json_t *v)
{
	char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;

	json_decref(v);
	berth_buf_reset(&op->out);
	if (!text || berth_buf_puts(&op->out, text) != 0) {
		if (text) {
			explicit_bzero(text, strlen(text));
			free(text);
		}
		berth_error_set(BERTH_ERROR, "out of memory");
		berth_auth__internal(op);
		return;
	}
	/* The text may hold a secret shown once (robots, tokens). */
	explicit_bzero(text, strlen(text));
	free(text);
	body(op, status, "application/json");
}

void berth_auth__empty(berth_auth_op *op, int status)
{
	op->resp.status = status;
	op->resp.body = NULL;
	op->resp.body_len = 0;
}

void berth_auth__time(time_t t, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- audit ---- */

const char *berth_auth__who(const berth_identity *id)
{
	if (!id || id->principal.kind == BERTH_PRINCIPAL_ANONYMOUS)
		return "anonymous";
	return id->principal.name;
}

/* Length of the well-formed UTF-8 character at s[0..n), or 0 (RFC 3629). */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

int berth_auth__printable(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), k;

	for (size_t i = 0; i < n; i += k) {
		if (p[i] < 0x20 || p[i] == 0x7f || !(k = utf8_char(p + i, n - i)))
			return 0;
	}
	return 1;
}

char *berth_auth__escape(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strnlen((const char *)p, BERTH_AUTH_AUDIT_FIELD_MAX), o = 0, k;
	char *out = malloc(4 * n + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += k) {
		k = p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\' ? 0 : utf8_char(p + i, n - i);
		if (!k) {
			o += (size_t)sprintf(out + o, "\\x%02x", p[i]);
			k = 1;
		} else {
			memcpy(out + o, p + i, k);
			o += k;
		}
	}
	out[o] = '\0';
	return out;
}

void berth_auth__audit(berth_auth *a, const char *who, const char *action, const char *resource,
		       const char *address, const char *result)
{
	berth_meta_audit e;
	char *w = berth_auth__escape(who), *r = berth_auth__escape(resource);
	char *ad = berth_auth__escape(address);
	int rc;

	memset(&e, 0, sizeof(e));
	e.time = time(NULL);
	e.who = w ? w : "?";
	e.action = action;
	e.resource = r ? r : "?";
	e.address = ad ? ad : "?";
	e.result = result ? result : "";
	pthread_mutex_lock(&a->audit_lock);
	rc = berth_meta_audit_add(a->meta, &e);
	pthread_mutex_unlock(&a->audit_lock);
	if (rc < 0)
		berth_warn("audit %s %s: %s", action, e.resource, berth_error_last());
	free(w);
	free(r);
	free(ad);
}

void berth_auth_audit_registry(berth_auth *a, const berth_req *req, const char *route,
			       const char *repository, const char *reference, int status)
{
	const char *action;
	char resource[1400];
	const char *result;

	if (!route || !repository)
		return;
	if (strcmp(route, "manifest_get") == 0)
		action = "pull";
	else if (strcmp(route, "manifest_put") == 0)
		action = "push";
	else if (strcmp(route, "manifest_delete") == 0 || strcmp(route, "blob_delete") == 0)
		action = "delete";
	else
		return;
	if (status >= 200 && status < 300)
		result = "ok";
	else if (status == 403)
		result = "denied";
	else
		return; /* 401 (no identity yet), 404 and friends are not worth a row */
	if (reference && *reference)
		snprintf(resource, sizeof(resource), "%s%s%s", repository,
			 strchr(reference, ':') ? "@" : ":", reference);
	else
		snprintf(resource, sizeof(resource), "%s", repository);
	berth_auth__audit(a, berth_auth__who(req->principal), action, resource, req->remote_addr,
			  result);
}

/* ---- the op lifecycle ---- */

static const berth_identity anonymous_identity;
static const berth_exchange_ops op_ops;

berth_auth_op *berth_auth__op_new(berth_auth *a, const berth_req *req)
{
	berth_auth_op *op = calloc(1, sizeof(*op));
	size_t bl;

	if (!op)
		return NULL;
	op->x.ops = &op_ops;
	op->api = a;
	berth_pool_init(&op->pool);
	berth_buf_init(&op->out, 0);
	berth_buf_init(&op->in, BERTH_AUTH_BODY_MAX);
	op->resp.fd = -1;
	op->resp.status = 500;
	op->resp.route = "api";
	op->method = berth_pool_strdup(&op->pool, req->method ? req->method : "");
	op->path = berth_pool_strdup(&op->pool, req->path ? req->path : "");
	op->remote_addr = berth_pool_strdup(&op->pool, req->remote_addr ? req->remote_addr : "");
	bl = req->base_url ? strlen(req->base_url) : 0;
	while (bl && req->base_url[bl - 1] == '/')
		bl--;
	op->base_url = berth_pool_strndup(&op->pool, bl ? req->base_url : "", bl);
	op->id = req->principal ? req->principal : &anonymous_identity;
	if (!op->method || !op->path || !op->remote_addr || !op->base_url) {
		berth_auth__op_free(op);
		return NULL;
	}
	return op;
}

int berth_auth_handles(const char *path)
{
	if (!path)
		return 0;
	return strcmp(path, "/token") == 0 || strcmp(path, "/api/v1") == 0 ||
	       strncmp(path, "/api/v1/", 8) == 0;
}

static int is(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static const char *copy_query(berth_auth_op *op, const berth_req *req, const char *name)
{
	const char *v = req->query ? req->query(req->ctx, name) : NULL;

	return v ? berth_pool_strndup(&op->pool, v, strnlen(v, 64)) : NULL;
}

int berth_auth_begin(berth_auth *a, const berth_req *req, berth_exchange **out)
{
	berth_auth_op *op = berth_auth__op_new(a, req);

	*out = NULL;
	if (!op)
		return berth_error_set(BERTH_ERROR, "out of memory");
	*out = &op->x;
	/* HEAD is GET without the body: same status and headers (RFC 9110 9.3.2). */
	if (is(op->method, "HEAD")) {
		op->is_head = 1;
		op->method = "GET";
	}
	if (req->has_body_length && req->body_length > BERTH_AUTH_BODY_MAX) {
		berth_auth__error(op, 413, "SIZE_INVALID", "request body larger than %d bytes",
				  BERTH_AUTH_BODY_MAX);
		return 0;
	}
	if (is(op->path, "/token")) {
		op->resp.route = "token";
		if (is(op->method, "GET")) {
			berth_auth__token_get(op, req);
		} else if (is(op->method, "POST")) {
			op->wants_body = 1;
			op->on_finish = berth_auth__token_post;
		} else {
			berth_auth__error(op, 405, "UNSUPPORTED", "method not allowed");
			berth_auth__header(op, "Allow", "GET, HEAD, POST");
		}
		return 0;
	}
	op->resp.route = "admin_api";
	op->q_limit = copy_query(op, req, "limit");
	op->q_before = copy_query(op, req, "before");
	op->wants_body = is(op->method, "POST") || is(op->method, "PUT");
	op->on_finish = berth_auth__admin;
	return 0;
}

static int op_wants_body(const berth_exchange *x)
{
	const berth_auth_op *op = (const berth_auth_op *)x;

	return op->wants_body && !op->failed;
}

static int op_failed(const berth_exchange *x)
{
	return ((const berth_auth_op *)x)->failed;
}

static int op_body(berth_exchange *x, const char *data, size_t len)
{
	berth_auth_op *op = (berth_auth_op *)x;

	op->resp.bytes_in += len;
	if (op->failed)
		return 1;
	if (!op->wants_body || !len)
		return 0;
	if (berth_buf_put(&op->in, data, len) != 0) {
		berth_auth__error(op, 413, "SIZE_INVALID", "request body larger than %d bytes",
				  BERTH_AUTH_BODY_MAX);
		return 1;
	}
	return 0;
}

static void op_finish(berth_exchange *x, berth_resp *resp)
{
	berth_auth_op *op = (berth_auth_op *)x;

	if (!op->failed && op->on_finish) {
		berth_auth__finish_fn f = op->on_finish;

		op->on_finish = NULL;
		f(op);
	}
	*resp = op->resp;
}

void berth_auth__op_free(berth_auth_op *op)
{
	if (!op)
		return;
	berth_buf_dispose_secret(&op->in);
	berth_buf_dispose_secret(&op->out);
	berth_pool_dispose(&op->pool);
	free(op);
}

static void op_free(berth_exchange *x)
{
	berth_auth__op_free((berth_auth_op *)x);
}

static const berth_exchange_ops op_ops = {
	.wants_body = op_wants_body,
	.body = op_body,
	.failed = op_failed,
	.finish = op_finish,
	.free = op_free,
};
