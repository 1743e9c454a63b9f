/*
 * header.c - unit tests for the Authorization and WWW-Authenticate grammars
 * (src/lib/auth/header.c): Basic credentials (case-insensitive scheme,
 * strict base64, ':' rules, control characters, buffer limits, wiping on
 * failure), Bearer tokens, and challenge building with escaping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "berth/cred.h"
#include "util/buf.h"

static void test_basic_valid(void **state)
{
	static const struct {
		const char *h, *user, *pass;
	} good[] = {
		{"Basic dXNlcjpwYXNz", "user", "pass"}, /* user:pass */
		{"basic dXNlcjpwYXNz", "user", "pass"},
		{"BASIC   dXNlcjpwYXNz  ", "user", "pass"},
		{"Basic YWxpY2U6cDphOnNz", "alice", "p:a:ss"},		   /* alice:p:a:ss */
		{"Basic Ym9iOg==", "bob", ""},				   /* bob: */
		{"Basic cm9ib3QkY2k6c2VjcmV0", "robot$ci", "secret"},	   /* robot$ci:secret */
		{"Basic w6lsw6h2ZTpwYXNz", "\xc3\xa9l\xc3\xa8ve", "pass"}, /* UTF-8 user */
	};
	char user[64], pass[64];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (berth_cred_parse_basic(good[i].h, user, sizeof(user), pass, sizeof(pass)) != 0)
			fail_msg("'%s' should parse: %s", good[i].h, berth_error_last());
		assert_string_equal(user, good[i].user);
		assert_string_equal(pass, good[i].pass);
	}
}

static void test_basic_invalid(void **state)
{
	static const char *bad[] = {
		"",
		"Basic",
		"Basic ",
		"Basicx dXNlcjpwYXNz",
		"Basic\tdXNlcjpwYXNz",
		"Bearer dXNlcjpwYXNz",
		" Basic dXNlcjpwYXNz",
		"Basic dXNlcjpwYXNz=",	  /* bad padding */
		"Basic dXNlcjpwYXN",	  /* length not a multiple of 4 */
		"Basic Ym9iOg",		  /* padding missing */
		"Basic Ym9iOh==",	  /* non-canonical trailing bits */
		"Basic dXNl cjpwYXNz",	  /* space inside */
		"Basic dXNlcjpw-XNz",	  /* base64url char */
		"Basic dXNlcnBhc3M=",	  /* "userpass": no colon */
		"Basic OnBhc3M=",	  /* ":pass": empty user */
		"Basic dXNlcjpwYQpzcw==", /* "user:pa\nss": control char */
		"Basic dQB4OnA=",	  /* "u\0x:p": NUL */
		"Basic ====",
	};
	char user[64], pass[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(user, "stale");
		strcpy(pass, "stale");
		if (berth_cred_parse_basic(bad[i], user, sizeof(user), pass, sizeof(pass)) !=
		    BERTH_EINVALID)
			fail_msg("'%s' should be refused", bad[i]);
		assert_string_equal(user, "");
		assert_string_equal(pass, "");
	}
	assert_int_equal(berth_cred_parse_basic(NULL, user, sizeof(user), pass, sizeof(pass)),
			 BERTH_EINVALID);
}

static void test_basic_buffer_limits(void **state)
{
	char user[5], pass[5];

	/* "user:pass" fits exactly (4 + NUL each). */
	assert_int_equal(berth_cred_parse_basic("Basic dXNlcjpwYXNz", user, sizeof(user), pass,
						sizeof(pass)),
			 0);
	/* "alice:pass": user one byte too long; password never leaks into messages. */
	assert_int_equal(berth_cred_parse_basic("Basic YWxpY2U6cGFzcw==", user, sizeof(user), pass,
						sizeof(pass)),
			 BERTH_EINVALID);
	assert_string_equal(pass, "");
	/* "bob:secret": password too long. */
	assert_int_equal(berth_cred_parse_basic("Basic Ym9iOnNlY3JldA==", user, sizeof(user), pass,
						sizeof(pass)),
			 BERTH_EINVALID);
	assert_null(strstr(berth_error_last(), "secret"));
	assert_null(strstr(berth_error_last(), "Ym9iOnNlY3JldA"));
	/* A huge header is refused without decoding. */
	{
		char big[20000], u[256], p[256];

		memcpy(big, "Basic ", 6);
		memset(big + 6, 'A', sizeof(big) - 7);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(berth_cred_parse_basic(big, u, sizeof(u), p, sizeof(p)),
				 BERTH_EINVALID);
	}
}

static void test_bearer(void **state)
{
	const char *t;
	size_t n;

	assert_int_equal(berth_cred_parse_bearer("Bearer abc.def-_~+/.ghi==", &t, &n), 0);
	assert_int_equal(n, strlen("abc.def-_~+/.ghi=="));
	assert_memory_equal(t, "abc.def-_~+/.ghi==", n);
	assert_int_equal(berth_cred_parse_bearer("bearer  x.y.z \t", &t, &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(t, "x.y.z", 5);

	static const char *bad[] = {"",
				    "Bearer",
				    "Bearer ",
				    "Bearerx a.b.c",
				    "Basic a.b.c",
				    "Bearer a b",
				    "Bearer a=b",
				    "Bearer =",
				    "Bearer a\"b",
				    "Bearer a,b",
				    "Bearer a\r\nX-Injected: 1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (berth_cred_parse_bearer(bad[i], &t, &n) != BERTH_EINVALID)
			fail_msg("'%s' should be refused", bad[i]);
		assert_null(t);
	}
	assert_int_equal(berth_cred_parse_bearer(NULL, &t, &n), BERTH_EINVALID);

	/* Exactly the cap is fine; one more byte is not. */
	{
		static char big[7 + BERTH_TOKEN_MAX_BYTES + 2];

		memcpy(big, "Bearer ", 7);
		memset(big + 7, 'a', BERTH_TOKEN_MAX_BYTES);
		big[7 + BERTH_TOKEN_MAX_BYTES] = '\0';
		assert_int_equal(berth_cred_parse_bearer(big, &t, &n), 0);
		assert_int_equal(n, BERTH_TOKEN_MAX_BYTES);
		big[7 + BERTH_TOKEN_MAX_BYTES] = 'a';
		big[7 + BERTH_TOKEN_MAX_BYTES + 1] = '\0';
		assert_int_equal(berth_cred_parse_bearer(big, &t, &n), BERTH_EINVALID);
	}
}

static void test_challenge(void **state)
{
	berth_buf b = BERTH_BUF_INIT(0);
	berth_scope sc[2] = {
		{.type = "repository",
		 .name = "team/app",
		 .actions = BERTH_ACTION_PULL | BERTH_ACTION_PUSH},
		{.type = "registry", .name = "catalog", .actions = 7},
	};

	assert_int_equal(
		berth_cred_challenge(&b, "https://r.example/token", "r.example", sc, 1, NULL), 0);
	assert_string_equal(b.ptr, "Bearer realm=\"https://r.example/token\",service=\"r.example\","
				   "scope=\"repository:team/app:pull,push\"");
	berth_buf_reset(&b);

	assert_int_equal(
		berth_cred_challenge(&b, "https://r/token", "r", sc, 2, "insufficient_scope"), 0);
	assert_string_equal(b.ptr, "Bearer realm=\"https://r/token\",service=\"r\","
				   "scope=\"repository:team/app:pull,push registry:catalog:*\","
				   "error=\"insufficient_scope\"");
	berth_buf_reset(&b);

	assert_int_equal(berth_cred_challenge(&b, "http://a\"b\\c/token", NULL, NULL, 0, NULL), 0);
	assert_string_equal(b.ptr, "Bearer realm=\"http://a\\\"b\\\\c/token\"");
	berth_buf_reset(&b);

	/* Header injection is refused and the buffer is left as it was. */
	assert_int_equal(berth_buf_puts(&b, "keep"), 0);
	assert_int_equal(
		berth_cred_challenge(&b, "https://r/token", "r\r\nSet-Cookie: x", NULL, 0, NULL),
		BERTH_EINVALID);
	assert_string_equal(b.ptr, "keep");
	assert_int_equal(berth_cred_challenge(&b, NULL, "r", NULL, 0, NULL), BERTH_EINVALID);
	assert_string_equal(b.ptr, "keep");
	berth_buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_valid),	    cmocka_unit_test(test_basic_invalid),
		cmocka_unit_test(test_basic_buffer_limits), cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_challenge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
