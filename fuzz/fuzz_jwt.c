/*
 * fuzz_jwt.c - libFuzzer target for token verification
 * (berth_token_verify, src/lib/auth/token.c).
 *
 * The first input byte picks a mode so that mutations reach past the
 * signature check: 0 verifies the bytes as a token; 1 signs the rest as the
 * claims JSON (with a correct header) and verifies; 2 signs the rest as the
 * header JSON (with fixed good claims). The key is fixed so that corpus
 * tokens stay valid across runs. Invariant: a token that verifies re-signs
 * to a token that verifies to the same claims.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/token.h"
#include "lib/token/internal.h"

#define NOW 1700000000
#define ISS "berth-token"
#define AUD "registry.example.com"

static const char pem[] = "-----BEGIN PRIVATE KEY-----\n"
			  "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgL637rRn5InXt2THR\n"
			  "qJm0v6ohW6G0hOz8t3CgSAcJIiChRANCAAQZvih725mbt/pYTq28Zp0pREN4nZ7V\n"
			  "PfEhfeFRLvIiMElJ3djqLMfJzrZxipKyANSwRofnMSZz08Tz12lGo/+9\n"
			  "-----END PRIVATE KEY-----\n";
static const char good_header[] =
	"{\"typ\":\"JWT\",\"alg\":\"ES256\",\"kid\":"
	"\"ZD23:MADC:JQO3:H4PW:4QHZ:BKAZ:46MC:JO74:WSYG:NQ4W:VNKW:K4QV\"}";
static const char good_claims[] =
	"{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\",\"exp\":1700000300,"
	"\"nbf\":1700000000,\"iat\":1700000000,\"jti\":\"j1\",\"access\":[{\"type\":"
	"\"repository\",\"name\":\"team/app\",\"actions\":[\"pull\"]}],"
	"\"berth.kind\":\"user\",\"berth.id\":42}";

static berth_token_key *key;

static void check_resign(const berth_token_claims *c)
{
	berth_token_claims again;
	char *jwt = NULL;

	if (berth_token_sign(key, c, &jwt) != 0)
		abort(); /* verified claims must be signable */
	if (berth_token_verify(key, jwt, strlen(jwt), ISS, AUD, NOW, &again) != 0)
		abort();
	if (strcmp(again.sub, c->sub) || strcmp(again.jti, c->jti) || again.exp != c->exp ||
	    again.nbf != c->nbf || again.iat != c->iat || again.kind != c->kind ||
	    again.principal_id != c->principal_id || again.naccess != c->naccess)
		abort();
	for (size_t i = 0; i < c->naccess; i++) {
		if (strcmp(again.access[i].type, c->access[i].type) ||
		    strcmp(again.access[i].name, c->access[i].name) ||
		    again.access[i].actions != c->access[i].actions)
			abort();
	}
	free(jwt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	berth_token_claims c;
	char *jwt = NULL;
	const char *tok;
	size_t toklen;

	if (!key && berth_token_key_from_pem(&key, pem, sizeof(pem) - 1) != 0)
		abort();
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		tok = (const char *)data + 1;
		toklen = size - 1;
		break;
	case 1:
		if (berth_token__jws_sign_raw(key, good_header, sizeof(good_header) - 1,
					      (const char *)data + 1, size - 1, &jwt) != 0)
			return 0;
		tok = jwt;
		toklen = strlen(jwt);
		break;
	default:
		if (berth_token__jws_sign_raw(key, (const char *)data + 1, size - 1, good_claims,
					      sizeof(good_claims) - 1, &jwt) != 0)
			return 0;
		tok = jwt;
		toklen = strlen(jwt);
		break;
	}
	if (berth_token_verify(key, tok, toklen, ISS, AUD, NOW, &c) == 0)
		check_resign(&c);
	free(jwt);
	return 0;
}
