/*
 * token.c - the token service of the Docker registry token authentication
 * spec: GET /token?service=..&scope=.. (credentials from the request's
 * Authorization, anonymous if none) and POST /token with the OAuth2
 * password grant (credentials in the form). Each requested scope's actions
 * are narrowed with berth_auth_decide() to what the caller may do now; the
 * JWT is ES256-signed with the server's key.
 */
#include "lib/auth/internal.h"

#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORM_FIELD_MAX 4096

/* Add one scope string (one of the space-separated words) to the claims. */
static int add_scope(berth_auth_op *op, berth_token_claims *c, const char *s, size_t len)
{
	berth_scope sc;
	unsigned got;
	int rc = berth_token_scope_parse(s, len, &sc);

	if (rc == BERTH_EUNSUPPORTED)
		return 0; /* another resource type: ignored, as token servers do */
	if (rc < 0) {
		berth_auth__error(op, 400, "INVALID", "invalid scope");
		return -1;
	}
	if (strcmp(sc.type, "repository") == 0) {
		berth_error_clear();
		got = berth_auth__decide(
			op->api, op->id, sc.name,
			sc.actions & (BERTH_ACTION_PULL | BERTH_ACTION_PUSH | BERTH_ACTION_DELETE),
			NULL);
		if (berth_error_last_code() == BERTH_EBUSY) {
			/* The database is down: no token rather than a narrower one. */
			berth_auth__internal(op);
			return -1;
		}
	} else if (strcmp(sc.type, "registry") == 0 && strcmp(sc.name, "catalog") == 0) {
		/* The catalog is filtered per repository: anyone may list it. */
		got = sc.actions & (BERTH_ACTION_PULL | BERTH_ACTION_PUSH | BERTH_ACTION_DELETE);
	} else if (strcmp(sc.type, "registry") == 0 && strcmp(sc.name, "admin") == 0) {
		/* The admin API's scope, "*" only, for users (each call then checks the
		 * user's own rights): see berth_auth__admin. */
		got = sc.actions == BERTH_ACTION_SCOPE &&
				      op->id->principal.kind == BERTH_PRINCIPAL_USER
			      ? BERTH_ACTION_SCOPE
			      : 0;
	} else {
		got = 0;
	}
	if (!got)
		return 0;
	for (size_t i = 0; i < c->naccess; i++) {
		if (strcmp(c->access[i].type, sc.type) == 0 &&
		    strcmp(c->access[i].name, sc.name) == 0) {
			c->access[i].actions |= got;
			return 0;
		}
	}
	if (c->naccess >= BERTH_TOKEN_MAX_ACCESS) {
		berth_auth__error(op, 400, "INVALID", "too many scopes (at most %d)",
				  BERTH_TOKEN_MAX_ACCESS);
		return -1;
	}
	sc.actions = got;
	c->access[c->naccess++] = sc;
	return 0;
}

/* Space-separated scopes in one value. */
static int add_scopes(berth_auth_op *op, berth_token_claims *c, const char *v)
{
	while (v && *v) {
		size_t n;

		while (*v == ' ')
			v++;
		n = strcspn(v, " ");
		if (n && add_scope(op, c, v, n) < 0)
			return -1;
		v += n;
	}
	return 0;
}

static void claims_init(berth_auth_op *op, berth_token_claims *c)
{
	berth_auth *a = op->api;
	const berth_identity *id = op->id;
	time_t now = time(NULL);

	memset(c, 0, sizeof(*c));
	snprintf(c->iss, sizeof(c->iss), "%s", a->issuer);
	snprintf(c->aud, sizeof(c->aud), "%s", a->service);
	if (id->principal.kind != BERTH_PRINCIPAL_ANONYMOUS)
		snprintf(c->sub, sizeof(c->sub), "%s", id->principal.name);
	c->kind = id->principal.kind;
	c->principal_id = id->principal.id;
	c->generation = id->principal.generation;
	c->iat = c->nbf = (int64_t)now;
	c->exp = (int64_t)now + a->expiration;
}

static void issue(berth_auth_op *op, const berth_token_claims *c)
{
	char *jwt = NULL;
	char issued[32];
	json_t *v;

	if (berth_token_sign(op->api->key, c, &jwt) < 0) {
		berth_auth__internal(op);
		return;
	}
	berth_auth__time((time_t)c->iat, issued, sizeof(issued));
	v = json_pack("{s:s, s:s, s:I, s:s}", "token", jwt, "access_token", jwt, "expires_in",
		      (json_int_t)(c->exp - c->iat), "issued_at", issued);
	explicit_bzero(jwt, strlen(jwt));
	free(jwt);
	if (!v) {
		berth_error_set(BERTH_ERROR, "out of memory");
		berth_auth__internal(op);
		return;
	}
	berth_auth__json(op, 200, v);
	berth_auth__header(op, "Cache-Control", "no-store");
	berth_auth__header(op, "Pragma", "no-cache");
}

void berth_auth__token_get(berth_auth_op *op, const berth_req *req)
{
	berth_token_claims c;

	if (op->id->bearer) {
		/* Tokens are not renewed with tokens: credentials are needed. */
		berth_auth__unauthorized(op, "credentials required");
		return;
	}
	claims_init(op, &c);
	if (req->query_n) {
		const char *v;

		for (size_t i = 0;
		     i < BERTH_AUTH_SCOPES_MAX && (v = req->query_n(req->ctx, "scope", i)); i++)
			if (add_scopes(op, &c, v) < 0)
				return;
	} else if (req->query && add_scopes(op, &c, req->query(req->ctx, "scope")) < 0) {
		return;
	}
	issue(op, &c);
}

/* ---- POST /token: application/x-www-form-urlencoded ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode [s, s+n) into out (NUL-terminated); -1 if malformed or too long. */
static int form_decode(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (ch == '+') {
			ch = ' ';
		} else if (ch == '%') {
			int h, l;

			if (i + 2 >= n || (h = hexval(s[i + 1])) < 0 || (l = hexval(s[i + 2])) < 0)
				return -1;
			ch = (char)(h * 16 + l);
			i += 2;
		}
		if (ch == '\0' || o + 1 >= len)
			return -1;
		out[o++] = ch;
	}
	out[o] = '\0';
	return 0;
}

typedef struct {
	char grant_type[64];
	char username[256];
	char password[BERTH_CRED_PASSWORD_MAX + 1];
	char scope[FORM_FIELD_MAX];
	int has_grant, has_user, has_pass;
} form;

static int form_parse(const char *body, size_t len, form *f)
{
	const char *p = body, *end = body + len;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *fe = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(fe - p));
		size_t kl = eq ? (size_t)(eq - p) : (size_t)(fe - p);
		const char *v = eq ? eq + 1 : fe;
		size_t vl = (size_t)(fe - v);
		char *dst = NULL;
		size_t dl = 0;
		int *flag = NULL;

		if (kl == 10 && memcmp(p, "grant_type", 10) == 0) {
			dst = f->grant_type, dl = sizeof(f->grant_type), flag = &f->has_grant;
		} else if (kl == 8 && memcmp(p, "username", 8) == 0) {
			dst = f->username, dl = sizeof(f->username), flag = &f->has_user;
		} else if (kl == 8 && memcmp(p, "password", 8) == 0) {
			dst = f->password, dl = sizeof(f->password), flag = &f->has_pass;
		} else if (kl == 5 && memcmp(p, "scope", 5) == 0) {
			dst = f->scope, dl = sizeof(f->scope);
		}
		if (dst && form_decode(v, vl, dst, dl) < 0)
			return -1;
		if (flag)
			*flag = 1;
		p = amp ? amp + 1 : end;
	}
	return 0;
}

static void oauth_error(berth_auth_op *op, int status, const char *error, const char *desc)
{
	json_t *v = json_pack("{s:s, s:s}", "error", error, "error_description", desc);

	berth_auth__json(op, status, v);
	op->failed = 1;
}

void berth_auth__token_post(berth_auth_op *op)
{
	form *f = calloc(1, sizeof(*f));
	const berth_identity *caller = op->id;
	berth_identity *id = NULL;
	berth_token_claims c;
	int rc;

	if (!f || !(id = calloc(1, sizeof(*id)))) {
		berth_error_set(BERTH_ERROR, "out of memory");
		berth_auth__internal(op);
		goto done;
	}
	if (form_parse(op->in.ptr ? op->in.ptr : "", op->in.len, f) < 0) {
		oauth_error(op, 400, "invalid_request", "malformed form");
		goto done;
	}
	if (!f->has_grant) {
		oauth_error(op, 400, "invalid_request", "grant_type is required");
		goto done;
	}
	if (strcmp(f->grant_type, "password") != 0) {
		oauth_error(op, 400, "unsupported_grant_type",
			    "only the password grant is supported");
		goto done;
	}
	if (!f->has_user || !f->has_pass || !f->username[0]) {
		oauth_error(op, 400, "invalid_request", "username and password are required");
		goto done;
	}
	rc = berth_auth__login(op->api, f->username, f->password, op->remote_addr, id);
	if (rc == BERTH_EBUSY && id->retry_after > 0) {
		berth_auth__throttled(op, id->retry_after);
		goto done;
	}
	if (rc == BERTH_EDENIED) {
		berth_auth__unauthorized(op, "invalid credentials");
		goto done;
	}
	if (rc < 0) {
		berth_auth__internal(op);
		goto done;
	}
	op->id = id; /* for the scopes and the claims; valid until done */
	claims_init(op, &c);
	if (add_scopes(op, &c, f->scope) == 0)
		issue(op, &c);
done:
	op->id = caller;
	if (f)
		explicit_bzero(f, sizeof(*f));
	free(f);
	free(id);
}
