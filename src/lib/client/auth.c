/*
 * auth.c - the registry auth challenge flow.
 *
 * A 401 carries WWW-Authenticate with one or more challenges. "Basic" means
 * send the user's credentials; "Bearer realm=..,service=..,scope=.." means
 * ask the token service at realm for a token (GET with service and scope
 * parameters, Basic credentials if the user has any) and send that. Tokens
 * are cached per scope until they expire; once the scheme is known, later
 * requests carry credentials up front instead of paying a 401 round trip.
 * A cached token that is refused is dropped and fetched again (the engine
 * allows that once per request). Nothing here ever puts a secret in an
 * error message.
 */
#include "lib/client/internal.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TOKEN_RESPONSE_MAX (1024 * 1024)

/* ---- WWW-Authenticate ---- */

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	return p;
}

static int is_token_char(char ch)
{
	return ch && !isspace((unsigned char)ch) && ch != ',' && ch != '=' && ch != '"';
}

/* Copy n bytes of s into a fixed field, lowercased if asked, truncating. */
static void put_field(char *dst, size_t dstlen, const char *s, size_t n, int lower)
{
	size_t i;

	if (n >= dstlen)
		n = dstlen - 1;
	for (i = 0; i < n; i++)
		dst[i] = lower ? (char)tolower((unsigned char)s[i]) : s[i];
	dst[n] = '\0';
}

size_t berth_client__parse_challenges(const char *value, berth_client__challenge *out, size_t max)
{
	const char *p = value, *name, *eq;
	size_t count = 0, nlen;
	berth_client__challenge *cur = NULL;

	if (!value)
		return 0;
	for (;;) {
		p = skip_ws(p);
		if (!*p)
			break;
		name = p;
		while (is_token_char(*p))
			p++;
		nlen = (size_t)(p - name);
		if (!nlen) {
			/* A stray '=' or quoted string: skip it whole. */
			if (*p == '"') {
				p++;
				while (*p && *p != '"')
					p += (*p == '\\' && p[1]) ? 2 : 1;
			}
			if (*p)
				p++;
			continue;
		}
		eq = p;
		while (*eq == ' ' || *eq == '\t')
			eq++;
		if (*eq == '=' && cur) {
			/* auth-param: name=value or name="quoted, value" */
			char val[sizeof(cur->params[0].value)];
			size_t vl = 0;

			p = eq + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p == '"') {
				p++;
				while (*p && *p != '"') {
					if (*p == '\\' && p[1])
						p++;
					if (vl + 1 < sizeof(val))
						val[vl++] = *p;
					p++;
				}
				if (*p == '"')
					p++;
			} else {
				while (*p && *p != ',' && !isspace((unsigned char)*p)) {
					if (vl + 1 < sizeof(val))
						val[vl++] = *p;
					p++;
				}
			}
			val[vl] = '\0';
			if (cur->nparams < BERTH_CLIENT__MAX_PARAMS) {
				put_field(cur->params[cur->nparams].name,
					  sizeof(cur->params[0].name), name, nlen, 1);
				put_field(cur->params[cur->nparams].value,
					  sizeof(cur->params[0].value), val, vl, 0);
				cur->nparams++;
			}
			continue;
		}
		if (*eq == '=') {
			/* A parameter before any scheme: ignore it. */
			p = eq + 1;
			if (*p == '"') {
				p++;
				while (*p && *p != '"')
					p += (*p == '\\' && p[1]) ? 2 : 1;
				if (*p)
					p++;
			}
			continue;
		}
		/* A new challenge: its scheme. (token68 forms are skipped as params-less.) */
		if (count == max) {
			cur = NULL;
			break;
		}
		cur = &out[count++];
		memset(cur, 0, sizeof(*cur));
		put_field(cur->scheme, sizeof(cur->scheme), name, nlen, 1);
	}
	return count;
}

const char *berth_client__challenge_param(const berth_client__challenge *ch, const char *name)
{
	size_t i;

	for (i = 0; i < ch->nparams; i++)
		if (strcasecmp(ch->params[i].name, name) == 0)
			return ch->params[i].value;
	return NULL;
}

/* ---- credentials ---- */

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Look credentials up once (called with auth_lock held). */
static void load_creds(berth_client *c)
{
	char *user = NULL, *pass = NULL;

	if (c->creds_loaded)
		return;
	c->creds_loaded = 1;
	if (berth_client_creds_get(c->host, c->auth_file, &user, &pass) == 0) {
		c->user = user;
		c->pass = pass;
	}
	berth_error_clear();
}

static char *basic_header(const char *user, const char *pass)
{
	size_t ul = strlen(user), pl = strlen(pass), n = ul + 1 + pl;
	unsigned char *raw = malloc(n + 1);
	char *out = malloc(6 + 4 * ((n + 2) / 3) + 1);

	if (!raw || !out) {
		free(raw);
		free(out);
		return NULL;
	}
	memcpy(raw, user, ul);
	raw[ul] = ':';
	memcpy(raw + ul + 1, pass, pl);
	memcpy(out, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)out + 6, raw, (int)n);
	explicit_bzero(raw, n);
	free(raw);
	return out;
}

/* ---- tokens ---- */

static berth_client__token *token_find(berth_client *c, const char *scope)
{
	berth_client__token *t;

	for (t = c->tokens; t; t = t->next)
		if (strcmp(t->scope, scope) == 0)
			return t;
	return NULL;
}

static void token_drop(berth_client *c, const char *scope)
{
	berth_client__token **pp, *t;

	for (pp = &c->tokens; (t = *pp); pp = &t->next) {
		if (strcmp(t->scope, scope) == 0) {
			*pp = t->next;
			free(t->scope);
			free_secret(t->token);
			free(t);
			return;
		}
	}
}

static int token_put(berth_client *c, const char *scope, const char *token, time_t expires)
{
	berth_client__token *t;

	token_drop(c, scope);
	t = calloc(1, sizeof(*t));
	if (!t || !(t->scope = strdup(scope)) || !(t->token = strdup(token))) {
		if (t) {
			free(t->scope);
			free(t);
		}
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	t->expires = expires;
	t->next = c->tokens;
	c->tokens = t;
	return 0;
}

/* RFC 3339 "2024-01-02T03:04:05[.frac]Z" → time_t, or -1. */
static time_t parse_issued_at(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -1;
	if (*end == '.')
		while (isdigit((unsigned char)*++end))
			;
	if (*end != 'Z' && *end != 'z')
		return -1;
	return timegm(&tm);
}

static int append_param(berth_buf *b, const char *name, const char *value)
{
	char *esc = curl_easy_escape(NULL, value, 0);
	int rc;

	if (!esc)
		return berth_error_set(BERTH_ERROR, "out of memory");
	rc = berth_buf_printf(b, "%c%s=%s", strchr(b->ptr, '?') ? '&' : '?', name, esc);
	curl_free(esc);
	return rc;
}

/* The token service's answer (see internal.h). */
int berth_client__token_parse(const char *host, const char *body, size_t len, time_t now,
			      char **token, time_t *expires)
{
	json_t *root = NULL;
	const char *tok, *issued, *p;
	json_int_t ttl = 60;
	time_t base;
	int rc = 0;

	*token = NULL;
	root = json_loadb(body ? body : "", len, 0, NULL);
	tok = json_string_value(json_object_get(root, "token"));
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(root, "access_token"));
	if (!tok || !*tok) {
		rc = berth_error_set(BERTH_EINVALID,
				     "registry %s: the token service answered without a token",
				     host);
		goto done;
	}
	for (p = tok; *p; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
			rc = berth_error_set(
				BERTH_EINVALID,
				"registry %s: the token service sent a malformed token", host);
			goto done;
		}
	if (json_is_integer(json_object_get(root, "expires_in")) &&
	    json_integer_value(json_object_get(root, "expires_in")) > 0)
		ttl = json_integer_value(json_object_get(root, "expires_in"));
	if (ttl > 86400 * 366)
		ttl = 86400 * 366;
	base = now;
	issued = json_string_value(json_object_get(root, "issued_at"));
	if (issued) {
		time_t t = parse_issued_at(issued);

		/* A clock ahead of ours must not extend the token's life. */
		if (t > 0 && t < now)
			base = t;
	}
	/* Renew a little early so a token does not expire in flight. */
	*expires = base + (time_t)ttl - (ttl > 20 ? 5 : 0);
	*token = strdup(tok);
	if (!*token)
		rc = berth_error_set(BERTH_ERROR, "out of memory");
done:
	json_decref(root);
	return rc;
}

/*
 * Fetch a token for `scope` from the realm. realm/service/user/pass are
 * copies taken under the lock. On success *token (malloc'd) and *expires.
 */
static int fetch_token(berth_client *c, const char *realm, const char *service, const char *user,
		       const char *pass, const char *scope, char **token, time_t *expires)
{
	berth_buf url = BERTH_BUF_INIT(16384), body = BERTH_BUF_INIT(TOKEN_RESPONSE_MAX);
	berth_client__req r;
	char *scopes = NULL, *save = NULL, *one;
	time_t now = time(NULL);
	int rc;

	berth_client__req_init(&r, "GET", NULL);
	*token = NULL;
	if (strncmp(realm, "https://", 8) != 0 && strncmp(realm, "http://", 7) != 0) {
		rc = berth_error_set(BERTH_EDENIED,
				     "registry %s: token realm is not an http(s) URL", c->host);
		goto done;
	}
	rc = berth_buf_puts(&url, realm);
	if (!rc && service && *service)
		rc = append_param(&url, "service", service);
	if (!rc && scope && *scope) {
		scopes = strdup(scope);
		if (!scopes) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
		for (one = strtok_r(scopes, " ", &save); one && !rc;
		     one = strtok_r(NULL, " ", &save))
			rc = append_param(&url, "scope", one);
	}
	if (rc)
		goto done;
	r.url = url.ptr;
	r.no_auth = 1;
	r.basic_user = user;
	r.basic_pass = pass;
	r.body_out = &body;
	r.body_what = "token response";
	rc = berth_client__do(c, &r);
	if (rc)
		goto done;
	if (r.status == 401 || r.status == 403) {
		rc = berth_error_set(
			BERTH_EDENIED,
			user ? "registry %s: the token service refused the credentials "
			       "(HTTP %ld); check them with berth login"
			     : "registry %s: the token service refused anonymous access "
			       "(HTTP %ld); log in with berth login",
			c->host, r.status);
		goto done;
	}
	if (r.status != 200) {
		rc = berth_client__http_error(c, &r, "token request");
		goto done;
	}
	rc = berth_client__token_parse(c->host, body.ptr, body.len, now, token, expires);
done:
	if (body.ptr)
		explicit_bzero(body.ptr, body.len);
	free(scopes);
	berth_buf_dispose(&url);
	berth_buf_dispose(&body);
	berth_client__req_dispose(&r);
	return rc;
}

/* Copies of what a token fetch needs, taken under the lock. */
typedef struct {
	char *realm, *service, *user, *pass;
} fetch_args;

static void fetch_args_dispose(fetch_args *a)
{
	free(a->realm);
	free(a->service);
	free_secret(a->user);
	free_secret(a->pass);
	memset(a, 0, sizeof(*a));
}

static int fetch_args_take(berth_client *c, fetch_args *a)
{
	memset(a, 0, sizeof(*a));
	a->realm = strdup(c->realm);
	a->service = c->service ? strdup(c->service) : NULL;
	a->user = c->user ? strdup(c->user) : NULL;
	a->pass = c->pass ? strdup(c->pass) : NULL;
	if (!a->realm || (c->service && !a->service) || (c->user && !a->user) ||
	    (c->pass && !a->pass)) {
		fetch_args_dispose(a);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	return 0;
}

/* Fetch a token for scope and cache it; *hdr (optional) gets "Bearer <tok>". */
static int refresh_token(berth_client *c, const char *scope, char **hdr)
{
	fetch_args a;
	char *tok = NULL;
	time_t expires = 0;
	int rc;

	pthread_mutex_lock(&c->auth_lock);
	rc = fetch_args_take(c, &a);
	pthread_mutex_unlock(&c->auth_lock);
	if (rc)
		return rc;
	rc = fetch_token(c, a.realm, a.service, a.user, a.pass, scope, &tok, &expires);
	fetch_args_dispose(&a);
	if (rc)
		return rc;
	pthread_mutex_lock(&c->auth_lock);
	rc = token_put(c, scope, tok, expires);
	pthread_mutex_unlock(&c->auth_lock);
	if (!rc && hdr && asprintf(hdr, "Bearer %s", tok) < 0) {
		*hdr = NULL;
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	}
	free_secret(tok);
	return rc;
}

char *berth_client__auth_header(berth_client *c, const char *scope)
{
	berth_client__token *t;
	char *hdr = NULL;
	int need_fetch = 0;

	if (!scope)
		scope = "";
	pthread_mutex_lock(&c->auth_lock);
	if (c->auth_mode == AUTH_BASIC && c->user) {
		hdr = basic_header(c->user, c->pass ? c->pass : "");
	} else if (c->auth_mode == AUTH_BEARER) {
		t = token_find(c, scope);
		if (t && time(NULL) < t->expires) {
			if (asprintf(&hdr, "Bearer %s", t->token) < 0)
				hdr = NULL;
		} else {
			need_fetch = c->realm != NULL;
		}
	}
	pthread_mutex_unlock(&c->auth_lock);
	/*
	 * The scheme is known to be Bearer but no valid token is cached for this
	 * scope: get one now rather than after a 401. A failure here is not
	 * final: the request goes out bare and the 401 path reports it.
	 */
	if (need_fetch && refresh_token(c, scope, &hdr))
		hdr = NULL;
	return hdr;
}

int berth_client__auth_challenge(berth_client *c, const char *www_auth, const char *scope, int sent)
{
	berth_client__challenge ch[BERTH_CLIENT__MAX_CHALLENGES];
	const berth_client__challenge *bearer = NULL, *basic = NULL;
	const char *realm, *service, *chscope;
	size_t n, i;
	int rc = 0, had_basic;

	n = berth_client__parse_challenges(www_auth, ch, BERTH_CLIENT__MAX_CHALLENGES);
	for (i = 0; i < n; i++) {
		if (!bearer && strcmp(ch[i].scheme, "bearer") == 0 &&
		    berth_client__challenge_param(&ch[i], "realm"))
			bearer = &ch[i];
		else if (!basic && strcmp(ch[i].scheme, "basic") == 0)
			basic = &ch[i];
	}
	if (!bearer && !basic)
		return berth_error_set(
			BERTH_EDENIED,
			"registry %s: authentication required, but the registry offers "
			"no supported scheme (Basic or Bearer)",
			c->host);

	pthread_mutex_lock(&c->auth_lock);
	load_creds(c);
	if (bearer) {
		char *r2, *s2 = NULL;

		realm = berth_client__challenge_param(bearer, "realm");
		service = berth_client__challenge_param(bearer, "service");
		chscope = berth_client__challenge_param(bearer, "scope");
		r2 = strdup(realm);
		if (service)
			s2 = strdup(service);
		if (!r2 || (service && !s2)) {
			free(r2);
			pthread_mutex_unlock(&c->auth_lock);
			return berth_error_set(BERTH_ERROR, "out of memory");
		}
		free(c->realm);
		free(c->service);
		c->realm = r2;
		c->service = s2;
		c->auth_mode = AUTH_BEARER;
		if (!scope || !*scope)
			scope = chscope ? chscope : "";
		/* A refused token is not asked for again from the cache. */
		token_drop(c, scope);
		pthread_mutex_unlock(&c->auth_lock);
		(void)sent;
		return refresh_token(c, scope, NULL);
	}
	had_basic = c->auth_mode == AUTH_BASIC;
	if (!c->user)
		rc = berth_error_set(BERTH_EDENIED,
				     "registry %s requires authentication and no credentials were "
				     "found (use berth login %s)",
				     c->host, c->host);
	else if (sent && had_basic)
		rc = berth_error_set(BERTH_EDENIED,
				     "registry %s: the credentials were rejected (HTTP 401)",
				     c->host);
	else
		c->auth_mode = AUTH_BASIC;
	pthread_mutex_unlock(&c->auth_lock);
	return rc;
}

void berth_client__auth_dispose(berth_client *c)
{
	while (c->tokens)
		token_drop(c, c->tokens->scope);
	free_secret(c->user);
	free_secret(c->pass);
	c->user = c->pass = NULL;
	free(c->realm);
	free(c->service);
	c->realm = c->service = NULL;
}
