/*
 * token.c - unit tests for ES256 JWT tokens (src/lib/auth/token.c): sign ->
 * verify round trip, and every rejection the verifier owes: tampered
 * payload or signature, widened access, alg none / HS256 / "ES256 ",
 * wrong kid, wrong issuer or audience, expired, not yet valid, too large,
 * bad base64url, wrong segment count, duplicate JSON keys, crit headers,
 * a token from another key, and messages that never echo the token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/token.h"
#include "util/b64.h"
#include "lib/token/internal.h"

#define NOW 1700000000
#define ISS "berth-token"
#define AUD "registry.example.com"

static berth_token_key *key, *other_key;

static int setup(void **state)
{
	if (berth_token_key_generate(&key) || berth_token_key_generate(&other_key))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	berth_token_key_free(key);
	berth_token_key_free(other_key);
	return 0;
}

static void base_claims(berth_token_claims *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->iss, ISS);
	strcpy(c->sub, "alice");
	strcpy(c->aud, AUD);
	c->iat = NOW;
	c->nbf = NOW;
	c->exp = NOW + 300;
	c->kind = BERTH_PRINCIPAL_USER;
	c->principal_id = 42;
	strcpy(c->access[0].type, "repository");
	strcpy(c->access[0].name, "team/app");
	c->access[0].actions = BERTH_ACTION_PULL | BERTH_ACTION_PUSH;
	strcpy(c->access[1].type, "registry");
	strcpy(c->access[1].name, "catalog");
	c->access[1].actions = BERTH_ACTION_PULL | BERTH_ACTION_PUSH | BERTH_ACTION_DELETE;
	strcpy(c->access[2].type, "repository");
	strcpy(c->access[2].name, "team/none");
	c->access[2].actions = 0; /* asked for, nothing granted */
	c->naccess = 3;
}

static int verify(const char *jwt, berth_token_claims *out)
{
	return berth_token_verify(key, jwt, strlen(jwt), ISS, AUD, NOW, out);
}

/* A token with arbitrary header and payload JSON, properly signed with `k`. */
static char *raw_token(const berth_token_key *k, const char *header, const char *payload)
{
	char *jwt = NULL;

	assert_int_equal(berth_token__jws_sign_raw(k, header, strlen(header), payload,
						   strlen(payload), &jwt),
			 0);
	return jwt;
}

static char *header_with(const char *alg)
{
	static char h[256];

	snprintf(h, sizeof(h), "{\"typ\":\"JWT\",\"alg\":\"%s\",\"kid\":\"%s\"}", alg,
		 berth_token_key_id(key));
	return h;
}

#define GOOD_PAYLOAD                                                                               \
	"{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\",\"exp\":1700000300,"           \
	"\"nbf\":1700000000,\"iat\":1700000000,\"jti\":\"j1\",\"access\":[],"                      \
	"\"berth.kind\":\"user\",\"berth.id\":42}"

static void expect_denied(const char *jwt, const char *why)
{
	berth_token_claims c;
	int rc = verify(jwt, &c);

	if (rc != BERTH_EDENIED)
		fail_msg("%s: expected EDENIED, got %d", why, rc);
	assert_int_equal(c.naccess, 0);
	assert_int_equal(c.sub[0], '\0');
	assert_non_null(strstr(berth_error_last(), "token rejected"));
}

static void test_round_trip(void **state)
{
	berth_token_claims c, out;
	char *jwt = NULL, *hdr;
	const char *dot;
	unsigned char h[256];
	long n;

	base_claims(&c);
	assert_int_equal(berth_token_sign(key, &c, &jwt), 0);
	assert_int_equal(verify(jwt, &out), 0);
	assert_string_equal(out.iss, ISS);
	assert_string_equal(out.sub, "alice");
	assert_string_equal(out.aud, AUD);
	assert_int_equal(out.iat, NOW);
	assert_int_equal(out.nbf, NOW);
	assert_int_equal(out.exp, NOW + 300);
	assert_int_equal(out.kind, BERTH_PRINCIPAL_USER);
	assert_int_equal(out.principal_id, 42);
	assert_true(strlen(out.jti) >= 16); /* random jti filled in */
	assert_int_equal(out.naccess, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(out.access[i].type, c.access[i].type);
		assert_string_equal(out.access[i].name, c.access[i].name);
		assert_int_equal(out.access[i].actions, c.access[i].actions);
	}

	/* The header is exactly what Distribution expects. */
	dot = strchr(jwt, '.');
	n = berth_b64url_decode(h, sizeof(h) - 1, jwt, (size_t)(dot - jwt));
	assert_true(n > 0);
	h[n] = '\0';
	assert_non_null(hdr = malloc(256));
	snprintf(hdr, 256, "{\"typ\":\"JWT\",\"alg\":\"ES256\",\"kid\":\"%s\"}",
		 berth_token_key_id(key));
	assert_string_equal((char *)h, hdr);
	free(hdr);

	/* Two tokens of the same claims have different jti. */
	{
		char *jwt2 = NULL;
		berth_token_claims out2;

		assert_int_equal(berth_token_sign(key, &c, &jwt2), 0);
		assert_int_equal(verify(jwt2, &out2), 0);
		assert_string_not_equal(out.jti, out2.jti);
		free(jwt2);
	}
	free(jwt);
}

static void test_robot_and_anonymous_kinds(void **state)
{
	berth_token_claims c, out;
	char *jwt = NULL;

	base_claims(&c);
	c.kind = BERTH_PRINCIPAL_ROBOT;
	c.principal_id = 7;
	strcpy(c.jti, "fixed-id");
	c.naccess = 0;
	assert_int_equal(berth_token_sign(key, &c, &jwt), 0);
	assert_int_equal(verify(jwt, &out), 0);
	assert_int_equal(out.kind, BERTH_PRINCIPAL_ROBOT);
	assert_int_equal(out.principal_id, 7);
	assert_string_equal(out.jti, "fixed-id");
	assert_int_equal(out.naccess, 0);
	free(jwt);

	c.kind = BERTH_PRINCIPAL_ANONYMOUS;
	assert_int_equal(berth_token_sign(key, &c, &jwt), 0);
	assert_int_equal(verify(jwt, &out), 0);
	assert_int_equal(out.kind, BERTH_PRINCIPAL_ANONYMOUS);
	free(jwt);
}

static void test_tampering(void **state)
{
	berth_token_claims c;
	char *jwt = NULL, *t;
	char *d1, *d2;

	base_claims(&c);
	assert_int_equal(berth_token_sign(key, &c, &jwt), 0);
	d1 = strchr(jwt, '.');
	d2 = strchr(d1 + 1, '.');

	/* Flip one payload character (both to a valid and an odd symbol). */
	t = strdup(jwt);
	t[(d1 - jwt) + 5] = t[(d1 - jwt) + 5] == 'A' ? 'B' : 'A';
	expect_denied(t, "tampered payload");
	free(t);

	/* Flip one signature character. */
	t = strdup(jwt);
	t[(d2 - jwt) + 10] = t[(d2 - jwt) + 10] == 'A' ? 'B' : 'A';
	expect_denied(t, "tampered signature");
	free(t);

	/* Swap the signature for one made by another key over the same bytes. */
	{
		char *o = NULL;

		assert_int_equal(berth_token__jws_sign_raw(other_key, "{}", 2, "{}", 2, &o), 0);
		t = malloc(strlen(jwt) + 1);
		memcpy(t, jwt, (size_t)(d2 - jwt) + 1);
		strcpy(t + (d2 - jwt) + 1, strrchr(o, '.') + 1);
		expect_denied(t, "foreign signature");
		free(t);
		free(o);
	}
	free(jwt);
}

static void test_widened_scope_rejected(void **state)
{
	berth_token_claims c;
	char *jwt = NULL, *t, *d1, *d2;
	const char *wide = "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\","
			   "\"exp\":1700000300,\"nbf\":1700000000,\"iat\":1700000000,"
			   "\"jti\":\"j\",\"access\":[{\"type\":\"repository\",\"name\":"
			   "\"team/app\",\"actions\":[\"pull\",\"push\",\"delete\"]}],"
			   "\"berth.kind\":\"user\",\"berth.id\":42}";
	char enc[1024];

	base_claims(&c);
	assert_int_equal(berth_token_sign(key, &c, &jwt), 0);
	d1 = strchr(jwt, '.');
	d2 = strchr(d1 + 1, '.');
	berth_b64url_encode(enc, (const unsigned char *)wide, strlen(wide));
	t = malloc(strlen(jwt) + strlen(enc) + 1);
	sprintf(t, "%.*s.%s%s", (int)(d1 - jwt), jwt, enc, d2);
	expect_denied(t, "widened scope");
	free(t);
	free(jwt);
}

static void test_algorithms_refused(void **state)
{
	static const char *algs[] = {"none", "HS256", "ES256 ", "es256", "ES384", "RS256", ""};
	char *jwt;

	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		/* Properly signed with our key: only the header lies. */
		jwt = raw_token(key, header_with(algs[i]), GOOD_PAYLOAD);
		expect_denied(jwt, algs[i]);
		assert_non_null(strstr(berth_error_last(), "ES256"));
		free(jwt);
	}
	/* The classic alg:none token with an empty signature. */
	{
		char h[256], p[512], t[1024];
		const char *hj = "{\"typ\":\"JWT\",\"alg\":\"none\"}";

		berth_b64url_encode(h, (const unsigned char *)hj, strlen(hj));
		berth_b64url_encode(p, (const unsigned char *)GOOD_PAYLOAD, strlen(GOOD_PAYLOAD));
		snprintf(t, sizeof(t), "%s.%s.", h, p);
		expect_denied(t, "alg none, empty signature");
	}
	/* Missing alg, alg not a string. */
	jwt = raw_token(key, "{\"typ\":\"JWT\"}", GOOD_PAYLOAD);
	expect_denied(jwt, "no alg");
	free(jwt);
	jwt = raw_token(key, "{\"alg\":[\"ES256\"]}", GOOD_PAYLOAD);
	expect_denied(jwt, "alg array");
	free(jwt);
	/* Sanity: the same hand-built token with ES256 passes. */
	jwt = raw_token(key, header_with("ES256"), GOOD_PAYLOAD);
	{
		berth_token_claims c;

		assert_int_equal(verify(jwt, &c), 0);
		assert_string_equal(c.jti, "j1");
	}
	free(jwt);
}

static void test_header_checks(void **state)
{
	char h[256], *jwt;

	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"AAAA:%s\"}",
		 berth_token_key_id(key) + 5);
	jwt = raw_token(key, h, GOOD_PAYLOAD);
	expect_denied(jwt, "wrong kid");
	free(jwt);

	jwt = raw_token(key, "{\"alg\":\"ES256\"}", GOOD_PAYLOAD);
	expect_denied(jwt, "no kid");
	free(jwt);

	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"crit\":[\"exp\"]}",
		 berth_token_key_id(key));
	jwt = raw_token(key, h, GOOD_PAYLOAD);
	expect_denied(jwt, "crit");
	free(jwt);

	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"alg\":\"ES256\",\"kid\":\"%s\"}",
		 berth_token_key_id(key));
	jwt = raw_token(key, h, GOOD_PAYLOAD);
	expect_denied(jwt, "duplicate header key");
	free(jwt);

	snprintf(h, sizeof(h), "{\"typ\":\"JWS\",\"alg\":\"ES256\",\"kid\":\"%s\"}",
		 berth_token_key_id(key));
	jwt = raw_token(key, h, GOOD_PAYLOAD);
	expect_denied(jwt, "typ");
	free(jwt);

	/* Signed by another key, header naming that key. */
	{
		berth_token_claims c;
		char *o = NULL;

		base_claims(&c);
		assert_int_equal(berth_token_sign(other_key, &c, &o), 0);
		expect_denied(o, "other key");
		free(o);
		/* Other key's signature under our kid. */
		o = raw_token(other_key, header_with("ES256"), GOOD_PAYLOAD);
		expect_denied(o, "other key, our kid");
		assert_non_null(strstr(berth_error_last(), "signature"));
		free(o);
	}
}

static void test_claim_checks(void **state)
{
	berth_token_claims c, out;
	char *jwt = NULL;

	base_claims(&c);
	assert_int_equal(berth_token_sign(key, &c, &jwt), 0);
	assert_int_equal(berth_token_verify(key, jwt, strlen(jwt), ISS, "other.example", NOW, &out),
			 BERTH_EDENIED);
	assert_non_null(strstr(berth_error_last(), "audience"));
	assert_int_equal(berth_token_verify(key, jwt, strlen(jwt), "someone", AUD, NOW, &out),
			 BERTH_EDENIED);
	assert_non_null(strstr(berth_error_last(), "issuer"));
	/* exp is exclusive. */
	assert_int_equal(berth_token_verify(key, jwt, strlen(jwt), ISS, AUD, NOW + 299, &out), 0);
	assert_int_equal(berth_token_verify(key, jwt, strlen(jwt), ISS, AUD, NOW + 300, &out),
			 BERTH_EDENIED);
	assert_non_null(strstr(berth_error_last(), "expired"));
	/* nbf allows 5 s of clock skew, no more. */
	assert_int_equal(berth_token_verify(key, jwt, strlen(jwt), ISS, AUD, NOW - 5, &out), 0);
	assert_int_equal(berth_token_verify(key, jwt, strlen(jwt), ISS, AUD, NOW - 6, &out),
			 BERTH_EDENIED);
	assert_non_null(strstr(berth_error_last(), "not yet valid"));
	free(jwt);

	/* Hand-built claims, validly signed, that are malformed. */
	static const char *bad[] = {
		"{\"iss\":\"" ISS "\",\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD
		"\",\"exp\":1700000300,\"nbf\":1,\"iat\":1,\"jti\":\"j\",\"access\":[],"
		"\"berth.kind\":\"user\",\"berth.id\":1}", /* duplicate key */
		"{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD
		"\",\"exp\":1700000300.5,\"nbf\":1,\"iat\":1,\"jti\":\"j\",\"access\":[],"
		"\"berth.kind\":\"user\",\"berth.id\":1}", /* float exp */
		"{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD
		"\",\"nbf\":1,\"iat\":1,\"jti\":\"j\",\"access\":[],"
		"\"berth.kind\":\"user\",\"berth.id\":1}", /* no exp */
		"{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD
		"\",\"exp\":1700000300,\"nbf\":1,\"iat\":1,\"jti\":\"j\",\"access\":[],"
		"\"berth.kind\":\"admin\",\"berth.id\":1}", /* unknown kind */
		"{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD
		"\",\"exp\":1700000300,\"nbf\":1,\"iat\":1,\"jti\":\"j\",\"access\":[{\"type\":"
		"\"repository\",\"name\":\"Team/App\",\"actions\":[\"pull\"]}],"
		"\"berth.kind\":\"user\",\"berth.id\":1}", /* bad name */
		"{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD
		"\",\"exp\":1700000300,\"nbf\":1,\"iat\":1,\"jti\":\"j\",\"access\":[{\"type\":"
		"\"repository\",\"name\":\"team/app\",\"actions\":[\"pull,push\"]}],"
		"\"berth.kind\":\"user\",\"berth.id\":1}", /* comma inside an action */
		"{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD
		"\",\"exp\":1700000300,\"nbf\":1,\"iat\":1,\"jti\":\"j\",\"access\":[{\"type\":"
		"\"repository\",\"name\":\"team/app\",\"actions\":[\"admin\"]}],"
		"\"berth.kind\":\"user\",\"berth.id\":1}", /* unknown action */
		"[1,2,3]",
		"{\"iss\":\"" ISS "\"} trailing",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char msg[32];

		jwt = raw_token(key, header_with("ES256"), bad[i]);
		snprintf(msg, sizeof(msg), "bad claims %zu", i);
		expect_denied(jwt, msg);
		free(jwt);
	}

	/* aud as an array is accepted only if it is exactly [ours]. */
	jwt = raw_token(key, header_with("ES256"),
			"{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":[\"" AUD
			"\"],\"exp\":1700000300,\"nbf\":1,\"iat\":1,\"jti\":\"j\",\"access\":[],"
			"\"berth.kind\":\"user\",\"berth.id\":1,\"berth.gen\":7}");
	assert_int_equal(verify(jwt, &out), 0);
	assert_string_equal(out.aud, AUD);
	assert_int_equal(out.generation, 7);
	free(jwt);
	jwt = raw_token(key, header_with("ES256"),
			"{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":[\"x\",\"" AUD
			"\"],\"exp\":1700000300,\"nbf\":1,\"iat\":1,\"jti\":\"j\",\"access\":[],"
			"\"berth.kind\":\"user\",\"berth.id\":1}");
	expect_denied(jwt, "aud list with another audience");
	free(jwt);
	/* iat beyond the clock skew is refused. */
	jwt = raw_token(key, header_with("ES256"),
			"{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD
			"\",\"exp\":1700000300,\"nbf\":1,\"iat\":1700000100,\"jti\":\"j\","
			"\"access\":[],\"berth.kind\":\"user\",\"berth.id\":1}");
	expect_denied(jwt, "iat in the future");
	free(jwt);
}

static void test_shape_and_encoding(void **state)
{
	berth_token_claims c, out;
	char *jwt = NULL, *t;
	size_t n;

	base_claims(&c);
	assert_int_equal(berth_token_sign(key, &c, &jwt), 0);
	n = strlen(jwt);
	t = malloc(n + 16);

	sprintf(t, "%s.", jwt);
	expect_denied(t, "four segments (trailing dot)");
	sprintf(t, "%s.AAAA", jwt);
	expect_denied(t, "four segments");
	sprintf(t, "%s=", jwt);
	expect_denied(t, "padding");
	sprintf(t, ".%s", jwt);
	expect_denied(t, "leading dot");
	strcpy(t, jwt);
	*strchr(t, '.') = '+';
	expect_denied(t, "two segments");
	strcpy(t, jwt);
	t[3] = '+';
	expect_denied(t, "standard base64 char");
	strcpy(t, jwt);
	t[strchr(t, '.') - t + 3] = '=';
	expect_denied(t, "'=' in payload");
	strcpy(t, jwt);
	t[n - 1] = '\0';
	expect_denied(t, "short signature");
	expect_denied("", "empty");
	expect_denied("..", "empty segments");
	assert_int_equal(berth_token_verify(key, NULL, 0, ISS, AUD, NOW, &out), BERTH_EDENIED);
	/* Embedded NUL: the length is explicit, the token is not a C string. */
	assert_int_equal(berth_token_verify(key, jwt, n + 1, ISS, AUD, NOW, &out), BERTH_EDENIED);
	free(t);

	/* Too large: refused before parsing, whatever the content. */
	t = malloc(BERTH_TOKEN_MAX_BYTES + 2);
	memset(t, 'A', BERTH_TOKEN_MAX_BYTES + 1);
	t[BERTH_TOKEN_MAX_BYTES + 1] = '\0';
	expect_denied(t, "too large");
	assert_non_null(strstr(berth_error_last(), "too large"));
	free(t);

	/* The message never contains any piece of the token. */
	t = strdup(jwt);
	t[n - 5] = t[n - 5] == 'A' ? 'B' : 'A';
	expect_denied(t, "tampered");
	assert_null(strstr(berth_error_last(), strrchr(t, '.') + 1));
	assert_null(strstr(berth_error_last(), "eyJ"));
	free(t);
	free(jwt);
}

static void test_sign_limits(void **state)
{
	berth_token_claims c;
	char *jwt = NULL;

	base_claims(&c);
	c.naccess = BERTH_TOKEN_MAX_ACCESS + 1;
	assert_int_equal(berth_token_sign(key, &c, &jwt), BERTH_EINVALID);
	assert_null(jwt);
	base_claims(&c);
	strcpy(c.sub, "\xff\xfe"); /* not UTF-8 */
	assert_int_equal(berth_token_sign(key, &c, &jwt), BERTH_EINVALID);
	assert_null(jwt);
	base_claims(&c);
	c.access[0].actions = BERTH_ACTION_ADMIN;
	assert_int_equal(berth_token_sign(key, &c, &jwt), BERTH_EINVALID);
	assert_null(jwt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_robot_and_anonymous_kinds),
		cmocka_unit_test(test_tampering),
		cmocka_unit_test(test_widened_scope_rejected),
		cmocka_unit_test(test_algorithms_refused),
		cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_claim_checks),
		cmocka_unit_test(test_shape_and_encoding),
		cmocka_unit_test(test_sign_limits),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
