/*
 * htpasswd.c - unit tests for the htpasswd parser
 * (berth_cred_htpasswd_parse): accepted schemes, comments, CRLF, the
 * all-or-nothing refusal of MD5/SHA-1/crypt lines with their line number,
 * malformed lines, callback errors, and that imported hashes verify.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "berth/cred.h"

struct seen {
	int n;
	char users[8][64];
	char hashes[8][BERTH_CRED_HASH_MAX];
	int fail_at;
};

static int collect(void *ctx, const char *user, const char *hash)
{
	struct seen *s = ctx;

	if (s->fail_at && s->n + 1 == s->fail_at)
		return BERTH_EEXISTS;
	snprintf(s->users[s->n], sizeof(s->users[0]), "%s", user);
	snprintf(s->hashes[s->n], sizeof(s->hashes[0]), "%s", hash);
	s->n++;
	return 0;
}

static int parse(const char *text, struct seen *s)
{
	return berth_cred_htpasswd_parse(text, strlen(text), collect, s);
}

#define PHP_HASH "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"
#define BF_HASH "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
#define SHA256_HASH "$5$rounds=10000$abcdefgh$64boG87Z1WumQmFI4bWKvMkciP/bQeuRdf7Wh54Bzf8"
#define SHA512_HASH                                                                                \
	"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEd"   \
	"FCoEOfaS35inz1"

static void test_parse_accepted_schemes(void **state)
{
	const char *text = "# imported from apache\n"
			   "\n"
			   "rasmus:" PHP_HASH "\r\n"
			   "   \n"
			   "  # indented comment\n"
			   "uu:" BF_HASH "\n"
			   "sha256:" SHA256_HASH "\n"
			   "hello.world@example.com:" SHA512_HASH; /* no final newline */
	struct seen s = {0};

	assert_int_equal(parse(text, &s), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.users[0], "rasmus");
	assert_string_equal(s.hashes[0], PHP_HASH);
	assert_string_equal(s.users[1], "uu");
	assert_string_equal(s.users[2], "sha256");
	assert_string_equal(s.hashes[2], SHA256_HASH);
	assert_string_equal(s.users[3], "hello.world@example.com");
	assert_string_equal(s.hashes[3], SHA512_HASH);
	/* What was imported verifies. */
	assert_int_equal(berth_cred_password_verify(s.hashes[0], "rasmuslerdorf"), 0);
	assert_int_equal(berth_cred_password_verify(s.hashes[1], "U*U"), 0);
	assert_int_equal(berth_cred_password_verify(s.hashes[2], "s3cret"), 0);
	assert_int_equal(berth_cred_password_verify(s.hashes[3], "Hello world!"), 0);
}

static void test_generated_hash_imports(void **state)
{
	char h[BERTH_CRED_HASH_MAX], text[256];
	struct seen s = {0};

	assert_int_equal(berth_cred_password_hash(h, "p@ss:word"), 0);
	snprintf(text, sizeof(text), "ci:%s\n", h);
	assert_int_equal(parse(text, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(berth_cred_password_verify(s.hashes[0], "p@ss:word"), 0);
}

static void test_refuses_weak_schemes_with_line_number(void **state)
{
	static const struct {
		const char *line;
		const char *scheme;
	} weak[] = {
		{"bob:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/", "apr1"},
		{"bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "{SHA}"},
		{"bob:rqXexS6ZhobKA", "DES"},
		{"bob:$1$saltsalt$abcdefghijklmnopqrstuv", "$1$"},
		{"bob:plain-password!", "plain"},
	};

	for (size_t i = 0; i < sizeof(weak) / sizeof(weak[0]); i++) {
		char text[512];
		struct seen s = {0};
		const char *hash = strchr(weak[i].line, ':') + 1;

		snprintf(text, sizeof(text), "# c\nalice:%s\n%s\ncarol:%s\n", PHP_HASH,
			 weak[i].line, BF_HASH);
		assert_int_equal(parse(text, &s), BERTH_EUNSUPPORTED);
		/* Nothing imported, not even alice on the line before. */
		assert_int_equal(s.n, 0);
		if (!strstr(berth_error_last(), "line 3"))
			fail_msg("message should name line 3: %s", berth_error_last());
		if (!strstr(berth_error_last(), weak[i].scheme))
			fail_msg("message should name the scheme: %s", berth_error_last());
		if (strstr(berth_error_last(), hash))
			fail_msg("message must not echo the hash");
	}
}

static void test_malformed_lines(void **state)
{
	static const char *bad[] = {
		"nocolon\n",
		":" PHP_HASH "\n",	    /* empty user */
		"bad user:" PHP_HASH "\n",  /* space in user */
		"bob:" PHP_HASH ":extra\n", /* extra field */
		"bob:$2y$10$tooshort\n",    /* malformed bcrypt */
		"bob:$2y$99$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a\n",
		"bob:$2x$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a\n",
		"bob:$6$rounds=99999999$salt$x\n", /* absurd rounds, bad length */
		"bob:\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct seen s = {0};
		int rc = parse(bad[i], &s);

		if (rc != BERTH_EINVALID && rc != BERTH_EUNSUPPORTED)
			fail_msg("case %zu should fail, got %d", i, rc);
		assert_int_equal(s.n, 0);
		assert_non_null(strstr(berth_error_last(), "line 1"));
	}
	/* An embedded NUL is refused, not silently truncated. */
	{
		const char text[] = "bob:" PHP_HASH "\nx\0y:" BF_HASH "\n";
		struct seen s = {0};

		assert_int_equal(berth_cred_htpasswd_parse(text, sizeof(text) - 1, collect, &s),
				 BERTH_EINVALID);
		assert_non_null(strstr(berth_error_last(), "line 2"));
		assert_int_equal(s.n, 0);
	}
}

static void test_callback_error_stops(void **state)
{
	struct seen s = {.fail_at = 2};

	assert_int_equal(parse("a:" PHP_HASH "\nb:" BF_HASH "\nc:" SHA512_HASH "\n", &s),
			 BERTH_EEXISTS);
	assert_int_equal(s.n, 1);
}

static void test_empty_text(void **state)
{
	struct seen s = {0};

	assert_int_equal(berth_cred_htpasswd_parse("", 0, collect, &s), 0);
	assert_int_equal(parse("# only comments\n\n", &s), 0);
	assert_int_equal(s.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_accepted_schemes),
		cmocka_unit_test(test_generated_hash_imports),
		cmocka_unit_test(test_refuses_weak_schemes_with_line_number),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_callback_error_stops),
		cmocka_unit_test(test_empty_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
