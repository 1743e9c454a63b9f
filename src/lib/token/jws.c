/*
 * token.c - the Docker registry token format: compact JWS (RFC 7515) signed
 * ES256 with the server's P-256 key, carrying the registered claims, the
 * Distribution "access" claim and berth's private claims (berth.kind,
 * berth.id), plus its strict verification.
 *
 * Verification order is chosen so that untrusted bytes do as little as
 * possible before the signature is checked: size cap, shape (three
 * segments), strict base64url, header JSON (alg must be exactly ES256, kid
 * must be ours), signature over the ASCII "header.payload", and only then the
 * claims JSON. Every rejection is BERTH_EDENIED with a short generic reason;
 * no part of the token ever enters a message.
 */
#include "lib/token/internal.h"
#include "util/b64.h"
#include "berth/ref.h"
#include "util/buf.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define CLOCK_SKEW 5
#define HEADER_MAX 1024 /* decoded JWS header bytes */
#define SIG_RAW 64	/* r || s, 32 bytes each */
#define SIG_B64 86	/* unpadded base64url of 64 bytes */

/* (n - 1) / 2 for P-256: an s above it is the "high" twin of a valid signature. */
static const unsigned char half_order[32] = {0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00,
					     0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					     0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42,
					     0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8};

/* 1 if the big-endian s (32 bytes) is above half the group order. */
static int s_is_high(const unsigned char s[32])
{
	return memcmp(s, half_order, 32) > 0;
}

static int reject(const char *why)
{
	return berth_error_set(BERTH_EDENIED, "token rejected: %s", why);
}

/* s := n - s, in place (big-endian, 32 bytes). */
static int low_s(unsigned char s32[32])
{
	BIGNUM *n = NULL, *s = NULL;
	EC_GROUP *g = NULL;
	int rc = 0;

	if (!(g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)) || !(n = BN_new()) ||
	    !EC_GROUP_get_order(g, n, NULL) || !(s = BN_bin2bn(s32, 32, NULL)) ||
	    !BN_sub(s, n, s) || BN_bn2binpad(s, s32, 32) != 32)
		rc = berth_error_set(BERTH_ERROR, "ES256 signature normalisation failed");
	BN_free(s);
	BN_free(n);
	EC_GROUP_free(g);
	return rc;
}

int berth_token__jws_sign_raw(const berth_token_key *k, const char *header, size_t hlen,
			      const char *payload, size_t plen, char **jwt)
{
	berth_buf b = BERTH_BUF_INIT(0);
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *sig = NULL;
	unsigned char der[128], raw[SIG_RAW];
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	size_t derlen = sizeof(der);
	char *enc = NULL;
	int rc = 0;

	*jwt = NULL;
	if (!(enc = malloc(berth_b64url_len(hlen > plen ? hlen : plen) + 1))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	berth_b64url_encode(enc, (const unsigned char *)header, hlen);
	if ((rc = berth_buf_puts(&b, enc)) != 0 || (rc = berth_buf_puts(&b, ".")) != 0)
		goto done;
	berth_b64url_encode(enc, (const unsigned char *)payload, plen);
	if ((rc = berth_buf_puts(&b, enc)) != 0)
		goto done;
	if (!(md = EVP_MD_CTX_new()) ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(md, der, &derlen, (const unsigned char *)b.ptr, b.len) != 1) {
		rc = berth_error_set(BERTH_ERROR, "ES256 signing failed");
		goto done;
	}
	/* OpenSSL gives DER; JWS wants the fixed-width r || s (RFC 7518 3.4). */
	if (!(sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen))) {
		rc = berth_error_set(BERTH_ERROR, "ES256 signature not DER");
		goto done;
	}
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32) {
		rc = berth_error_set(BERTH_ERROR, "ES256 signature out of range");
		goto done;
	}
	/* Always the low-S form (s <= n/2): verification refuses the other. */
	if (s_is_high(raw + 32) && (rc = low_s(raw + 32)) != 0)
		goto done;
	{
		char sigtxt[SIG_B64 + 1];

		berth_b64url_encode(sigtxt, raw, sizeof(raw));
		if ((rc = berth_buf_puts(&b, ".")) != 0 || (rc = berth_buf_puts(&b, sigtxt)) != 0)
			goto done;
	}
	*jwt = berth_buf_detach(&b, NULL);
done:
	free(enc);
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	berth_buf_dispose(&b);
	return rc;
}

static const char *kind_name(berth_principal_kind k)
{
	switch (k) {
	case BERTH_PRINCIPAL_USER: return "user";
	case BERTH_PRINCIPAL_ROBOT: return "robot";
	case BERTH_PRINCIPAL_SYSTEM: return "system";
	case BERTH_PRINCIPAL_ANONYMOUS: break;
	}
	return "anonymous";
}

static int kind_parse(const char *s, berth_principal_kind *out)
{
	if (strcmp(s, "user") == 0)
		*out = BERTH_PRINCIPAL_USER;
	else if (strcmp(s, "robot") == 0)
		*out = BERTH_PRINCIPAL_ROBOT;
	else if (strcmp(s, "system") == 0)
		*out = BERTH_PRINCIPAL_SYSTEM;
	else if (strcmp(s, "anonymous") == 0)
		*out = BERTH_PRINCIPAL_ANONYMOUS;
	else
		return -1;
	return 0;
}

/* Bounded string field of a claims struct as a JSON string (NULL if not UTF-8). */
static json_t *jstr(const char *s, size_t cap)
{
	return json_stringn(s, strnlen(s, cap - 1));
}

static json_t *access_json(const berth_scope *sc)
{
	json_t *o = json_object(), *acts = json_array();
	berth_buf b = BERTH_BUF_INIT(64);

	if (!o || !acts)
		goto fail;
	if (json_object_set_new(o, "type", jstr(sc->type, sizeof(sc->type))) ||
	    json_object_set_new(o, "name", jstr(sc->name, sizeof(sc->name))))
		goto fail;
	if (strcmp(sc->type, "registry") == 0 &&
	    sc->actions == (BERTH_ACTION_PULL | BERTH_ACTION_PUSH | BERTH_ACTION_DELETE)) {
		if (json_array_append_new(acts, json_string("*")))
			goto fail;
	} else if (sc->actions) {
		char *save = NULL;

		if (berth_token_actions_format(sc->actions, &b) != 0)
			goto fail;
		for (char *w = strtok_r(b.ptr, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
			if (json_array_append_new(acts, json_string(w)))
				goto fail;
		}
	}
	berth_buf_dispose(&b);
	if (json_object_set_new(o, "actions", acts)) {
		json_decref(o);
		return NULL;
	}
	return o;
fail:
	berth_buf_dispose(&b);
	json_decref(acts);
	json_decref(o);
	return NULL;
}

int berth_token_sign(const berth_token_key *k, const berth_token_claims *c, char **jwt)
{
	json_t *hdr = NULL, *cl = NULL, *access = NULL;
	char *htxt = NULL, *ctxt = NULL;
	char jti[sizeof(c->jti)];
	unsigned char rnd[16];
	int rc = 0;

	*jwt = NULL;
	if (c->naccess > BERTH_TOKEN_MAX_ACCESS) {
		rc = berth_error_set(BERTH_EINVALID, "too many access entries for a token");
		goto done;
	}
	if (c->jti[0]) {
		snprintf(jti, sizeof(jti), "%.*s", (int)sizeof(jti) - 1, c->jti);
	} else {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			rc = berth_error_set(BERTH_ERROR, "no random bytes for a token id");
			goto done;
		}
		berth_b64url_encode(jti, rnd, sizeof(rnd));
	}
	hdr = json_pack("{s:s,s:s,s:s}", "typ", "JWT", "alg", "ES256", "kid", k->kid);
	cl = json_object();
	access = json_array();
	if (!hdr || !cl || !access) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (json_object_set_new(cl, "iss", jstr(c->iss, sizeof(c->iss))) ||
	    json_object_set_new(cl, "sub", jstr(c->sub, sizeof(c->sub))) ||
	    json_object_set_new(cl, "aud", jstr(c->aud, sizeof(c->aud))) ||
	    json_object_set_new(cl, "exp", json_integer(c->exp)) ||
	    json_object_set_new(cl, "nbf", json_integer(c->nbf)) ||
	    json_object_set_new(cl, "iat", json_integer(c->iat)) ||
	    json_object_set_new(cl, "jti", json_string(jti))) {
		rc = berth_error_set(BERTH_EINVALID, "token claims are not valid UTF-8");
		goto done;
	}
	for (size_t i = 0; i < c->naccess; i++) {
		if (json_array_append_new(access, access_json(&c->access[i]))) {
			rc = berth_error_set(BERTH_EINVALID, "bad access entry for a token");
			goto done;
		}
	}
	if (json_object_set(cl, "access", access) ||
	    json_object_set_new(cl, "berth.kind", json_string(kind_name(c->kind))) ||
	    json_object_set_new(cl, "berth.id", json_integer(c->principal_id)) ||
	    json_object_set_new(cl, "berth.gen", json_integer(c->generation))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	htxt = json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER);
	ctxt = json_dumps(cl, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!htxt || !ctxt) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = berth_token__jws_sign_raw(k, htxt, strlen(htxt), ctxt, strlen(ctxt), jwt);
done:
	free(htxt);
	free(ctxt);
	json_decref(access);
	json_decref(cl);
	json_decref(hdr);
	return rc;
}

/* ---- verification ---- */

/* Exact string equality of a JSON string with a C string. */
static int jeq(const json_t *j, const char *s)
{
	size_t n = strlen(s);

	return json_is_string(j) && json_string_length(j) == n &&
	       memcmp(json_string_value(j), s, n) == 0;
}

/* Required string claim copied into dst[cap]; -1 if absent, not a string or too long. */
static int jcopy(const json_t *o, const char *key, char *dst, size_t cap)
{
	const json_t *j = json_object_get(o, key);
	size_t n;

	if (!json_is_string(j) || (n = json_string_length(j)) >= cap)
		return -1;
	memcpy(dst, json_string_value(j), n);
	dst[n] = '\0';
	return 0;
}

static int jint(const json_t *o, const char *key, int64_t *out)
{
	const json_t *j = json_object_get(o, key);

	if (!json_is_integer(j))
		return -1;
	*out = (int64_t)json_integer_value(j);
	return 0;
}

static int check_header(const berth_token_key *k, const unsigned char *h, size_t n)
{
	json_t *hdr = NULL, *typ;
	json_error_t err;
	int rc = 0;

	if (!(hdr = json_loadb((const char *)h, n, JSON_REJECT_DUPLICATES, &err)) ||
	    !json_is_object(hdr)) {
		rc = reject("malformed header");
		goto done;
	}
	if (!jeq(json_object_get(hdr, "alg"), "ES256")) {
		rc = reject("algorithm must be ES256");
		goto done;
	}
	if (json_object_get(hdr, "crit")) {
		rc = reject("critical header extensions are not supported");
		goto done;
	}
	if ((typ = json_object_get(hdr, "typ")) && !jeq(typ, "JWT")) {
		rc = reject("type must be JWT");
		goto done;
	}
	if (!jeq(json_object_get(hdr, "kid"), k->kid)) {
		rc = reject("unknown key id");
		goto done;
	}
done:
	json_decref(hdr);
	return rc;
}

static int check_signature(const berth_token_key *k, const char *signed_part, size_t n,
			   const unsigned char raw[SIG_RAW])
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned char *der = NULL;
	int derlen, rc = 0;

	/* ECDSA signatures are malleable: (r, n - s) verifies too. One form only. */
	if (s_is_high(raw + 32))
		return reject("high-S signature");
	if (!(sig = ECDSA_SIG_new()) || !(r = BN_bin2bn(raw, 32, NULL)) ||
	    !(s = BN_bin2bn(raw + 32, 32, NULL)) || !ECDSA_SIG_set0(sig, r, s)) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	/* now owned by sig */ r = s = NULL;
	if ((derlen = i2d_ECDSA_SIG(sig, &der)) <= 0) {
		rc = reject("bad signature");
		goto done;
	}
	if (!(md = EVP_MD_CTX_new()) ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k->pkey) != 1) {
		rc = berth_error_set(BERTH_ERROR, "ES256 verifier unavailable");
		goto done;
	}
	if (EVP_DigestVerify(md, der, (size_t)derlen, (const unsigned char *)signed_part, n) != 1)
		rc = reject("bad signature");
done:
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return rc;
}

static int parse_access_entry(const json_t *e, berth_scope *sc)
{
	const json_t *acts = json_object_get(e, "actions"), *a;
	char buf[sizeof(sc->type) + sizeof(sc->name) + 8];
	berth_scope tmp;
	size_t i;

	if (!json_is_object(e) || !json_is_array(acts) || json_array_size(acts) > 8)
		return -1;
	if (jcopy(e, "type", tmp.type, sizeof(tmp.type)) ||
	    jcopy(e, "name", tmp.name, sizeof(tmp.name)))
		return -1;
	/* Same grammar as a requested scope: reuse its parser on type and name. */
	snprintf(buf, sizeof(buf), "%s:%s:pull", tmp.type, tmp.name);
	if (berth_token_scope_parse(buf, strlen(buf), sc) != 0)
		return -1;
	sc->actions = 0;
	json_array_foreach(acts, i, a)
	{
		unsigned bits;

		if (!json_is_string(a) ||
		    berth_token_actions_parse(json_string_value(a), json_string_length(a), &bits) ||
		    memchr(json_string_value(a), ',', json_string_length(a)))
			return -1;
		sc->actions |= bits;
	}
	return 0;
}

static int check_claims(const unsigned char *p, size_t n, const char *iss, const char *aud,
			time_t now, berth_token_claims *c)
{
	json_t *cl = NULL, *ja, *e;
	json_error_t err;
	char kind[16];
	size_t i;
	int rc = 0, aud_ok = 0;

	if (!(cl = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &err)) ||
	    !json_is_object(cl)) {
		rc = reject("malformed claims");
		goto done;
	}
	if (!jeq(json_object_get(cl, "iss"), iss)) {
		rc = reject("wrong issuer");
		goto done;
	}
	ja = json_object_get(cl, "aud");
	if (json_is_array(ja)) {
		/* A list must be exactly [ours]: a token meant for others too is not ours. */
		aud_ok = json_array_size(ja) == 1 && jeq(json_array_get(ja, 0), aud);
	} else {
		aud_ok = jeq(ja, aud);
	}
	if (!aud_ok) {
		rc = reject("wrong audience");
		goto done;
	}
	if (jint(cl, "exp", &c->exp) || jint(cl, "nbf", &c->nbf) || jint(cl, "iat", &c->iat)) {
		rc = reject("missing time claims");
		goto done;
	}
	if (c->exp <= (int64_t)now) {
		rc = reject("expired");
		goto done;
	}
	if (c->nbf > (int64_t)now + CLOCK_SKEW || c->iat > (int64_t)now + CLOCK_SKEW) {
		rc = reject("not yet valid");
		goto done;
	}
	if (jcopy(cl, "sub", c->sub, sizeof(c->sub)) || jcopy(cl, "jti", c->jti, sizeof(c->jti)) ||
	    jcopy(cl, "berth.kind", kind, sizeof(kind)) || kind_parse(kind, &c->kind) ||
	    jint(cl, "berth.id", &c->principal_id)) {
		rc = reject("malformed claims");
		goto done;
	}
	/* The account's generation; tokens from before it existed carry none (0). */
	c->generation = 0;
	if (json_object_get(cl, "berth.gen") && jint(cl, "berth.gen", &c->generation)) {
		rc = reject("malformed claims");
		goto done;
	}
	ja = json_object_get(cl, "access");
	if (!json_is_array(ja) || json_array_size(ja) > BERTH_TOKEN_MAX_ACCESS) {
		rc = reject("malformed access claims");
		goto done;
	}
	json_array_foreach(ja, i, e)
	{
		if (parse_access_entry(e, &c->access[i]) != 0) {
			rc = reject("malformed access claims");
			goto done;
		}
	}
	c->naccess = json_array_size(ja);
	snprintf(c->iss, sizeof(c->iss), "%s", iss);
	snprintf(c->aud, sizeof(c->aud), "%s", aud);
done:
	json_decref(cl);
	return rc;
}

int berth_token_verify(const berth_token_key *k, const char *jwt, size_t len, const char *iss,
		       const char *aud, time_t now, berth_token_claims *out)
{
	unsigned char hdr[HEADER_MAX], sig[SIG_RAW];
	unsigned char *payload = NULL;
	const char *d1, *d2;
	size_t hlen, plen;
	long n;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!jwt || len == 0)
		return reject("empty");
	if (len > BERTH_TOKEN_MAX_BYTES)
		return reject("too large");
	if (!(d1 = memchr(jwt, '.', len)) ||
	    !(d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jwt))) ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jwt)))
		return reject("not a compact JWS");
	hlen = (size_t)(d1 - jwt);
	plen = (size_t)(d2 - d1 - 1);
	if (hlen == 0 || plen == 0 || len - (size_t)(d2 + 1 - jwt) != SIG_B64)
		return reject("not a compact JWS");
	if ((n = berth_b64url_decode(hdr, sizeof(hdr), jwt, hlen)) < 0)
		return reject("bad encoding");
	hlen = (size_t)n;
	if (berth_b64url_decode(sig, sizeof(sig), d2 + 1, SIG_B64) != SIG_RAW)
		return reject("bad encoding");
	if (!(payload = malloc(plen))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if ((n = berth_b64url_decode(payload, plen, d1 + 1, plen)) < 0) {
		rc = reject("bad encoding");
		goto done;
	}
	if ((rc = check_header(k, hdr, hlen)) != 0)
		goto done;
	if ((rc = check_signature(k, jwt, (size_t)(d2 - jwt), sig)) != 0)
		goto done;
	rc = check_claims(payload, (size_t)n, iss, aud, now, out);
done:
	if (rc)
		memset(out, 0, sizeof(*out));
	free(payload);
	return rc;
}
