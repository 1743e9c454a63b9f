/*
 * parse.c - unit tests for berth_ref_parse / berth_ref_format: Docker
 * normalisation (docker.io, library/), domain detection (dots, ports,
 * localhost, uppercase, IPv6), tag + digest together, rejection of malformed
 * references, and format/parse round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/ref.h"

#define HEX64 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define D256 "sha256:" HEX64

static void expect(const char *in, const char *domain, const char *path, const char *tag,
		   const char *digest, const char *formatted)
{
	berth_ref *r = NULL;
	char *f;
	int rc = berth_ref_parse(&r, in);

	if (rc != 0)
		fail_msg("'%s' failed to parse: %d %s", in, rc, berth_error_last());
	assert_string_equal(r->domain, domain);
	assert_string_equal(r->path, path);
	if (tag)
		assert_string_equal(r->tag, tag);
	else
		assert_null(r->tag);
	if (digest)
		assert_string_equal(r->digest, digest);
	else
		assert_null(r->digest);
	f = berth_ref_format(r);
	assert_non_null(f);
	assert_string_equal(f, formatted);
	free(f);
	berth_ref_free(r);
}

static void test_docker_hub_normalisation(void **state)
{
	expect("alpine", "docker.io", "library/alpine", NULL, NULL, "docker.io/library/alpine");
	expect("alpine:3.19", "docker.io", "library/alpine", "3.19", NULL,
	       "docker.io/library/alpine:3.19");
	expect("team/app", "docker.io", "team/app", NULL, NULL, "docker.io/team/app");
	expect("docker.io/alpine", "docker.io", "library/alpine", NULL, NULL,
	       "docker.io/library/alpine");
	expect("index.docker.io/alpine", "docker.io", "library/alpine", NULL, NULL,
	       "docker.io/library/alpine");
	expect("docker.io/library/alpine", "docker.io", "library/alpine", NULL, NULL,
	       "docker.io/library/alpine");
	/* "localhost" alone is a repository on Docker Hub, not a domain */
	expect("localhost", "docker.io", "library/localhost", NULL, NULL,
	       "docker.io/library/localhost");
	expect("alpine@" D256, "docker.io", "library/alpine", NULL, D256,
	       "docker.io/library/alpine@" D256);
}

static void test_domains(void **state)
{
	expect("localhost:5000/x", "localhost:5000", "x", NULL, NULL, "localhost:5000/x");
	expect("localhost/x", "localhost", "x", NULL, NULL, "localhost/x");
	expect("127.0.0.1:5000/a/b:t@" D256, "127.0.0.1:5000", "a/b", "t", D256,
	       "127.0.0.1:5000/a/b:t@" D256);
	expect("[::1]:5000/x:y", "[::1]:5000", "x", "y", NULL, "[::1]:5000/x:y");
	expect("[fe80::1]/x", "[fe80::1]", "x", NULL, NULL, "[fe80::1]/x");
	expect("ghcr.io/org/sub/img:v1", "ghcr.io", "org/sub/img", "v1", NULL,
	       "ghcr.io/org/sub/img:v1");
	expect("my-registry.example.com:443/x", "my-registry.example.com:443", "x", NULL, NULL,
	       "my-registry.example.com:443/x");
	/* Uppercase first component counts as a domain (Docker's rule). */
	expect("Registry/x", "Registry", "x", NULL, NULL, "Registry/x");
	/* No dot or port, lowercase: a path component on Docker Hub. */
	expect("myhost/x", "docker.io", "myhost/x", NULL, NULL, "docker.io/myhost/x");
}

static void expect_invalid(const char *in)
{
	berth_ref *r = (berth_ref *)1;
	int rc = berth_ref_parse(&r, in);

	if (rc != BERTH_EINVALID)
		fail_msg("'%s' gave %d, want EINVALID", in, rc);
	assert_null(r);
	assert_true(strlen(berth_error_last()) > 0);
}

static void test_invalid_references(void **state)
{
	expect_invalid("");
	expect_invalid("Alpine");	      /* uppercase path */
	expect_invalid("localhost:5000/App"); /* uppercase path after domain */
	expect_invalid("a//b");
	expect_invalid("a/");
	expect_invalid("-a");
	expect_invalid("a-");
	expect_invalid("a.");
	expect_invalid("alpine:");	     /* empty tag */
	expect_invalid("alpine@");	     /* empty digest */
	expect_invalid("alpine:.x");	     /* tag starts with '.' */
	expect_invalid("alpine:-x");	     /* tag starts with '-' */
	expect_invalid("alpine@sha256:abc"); /* short digest */
	expect_invalid("alpine@md5:abc");    /* unsupported algorithm */
	expect_invalid("alpine@" D256 "@" D256);
	expect_invalid("localhost:5000/");  /* domain only */
	expect_invalid("localhost:/x");	    /* empty port */
	expect_invalid("localhost:50a0/x"); /* non-numeric port */
	expect_invalid("-bad.com/x");	    /* domain component starts with '-' */
	expect_invalid("bad-.com/x");
	expect_invalid("a..com/x");
	expect_invalid("[]:5000/x");
	expect_invalid("[::1/x");
	expect_invalid("[::g]/x");
	expect_invalid("a b");
	expect_invalid("a:b:c");
	expect_invalid("@" D256);
	expect_invalid(":tag");
	expect_invalid(HEX64); /* looks like an image ID */
}

static void test_tag_and_name_limits(void **state)
{
	char s[600], want[700];
	berth_ref *r = NULL;

	/* tag of 128 ok, 129 not */
	snprintf(s, sizeof(s), "x/y:%0128d", 0);
	assert_int_equal(berth_ref_parse(&r, s), 0);
	assert_int_equal(strlen(r->tag), 128);
	berth_ref_free(r);
	snprintf(s, sizeof(s), "x/y:%0129d", 0);
	expect_invalid(s);

	/* path of 255 ok, 256 not (explicit domain, so no library/ prefix) */
	memcpy(s, "r.io/", 5);
	memset(s + 5, 'a', 255);
	s[5 + 255] = '\0';
	assert_int_equal(berth_ref_parse(&r, s), 0);
	assert_int_equal(strlen(r->path), 255);
	berth_ref_free(r);
	memset(s + 5, 'a', 256);
	s[5 + 256] = '\0';
	expect_invalid(s);

	/* library/ prefix counts towards the 255 */
	memset(s, 'b', 247);
	s[247] = '\0';
	snprintf(want, sizeof(want), "docker.io/library/%s", s);
	assert_int_equal(berth_ref_parse(&r, s), 0);
	{
		char *f = berth_ref_format(r);

		assert_string_equal(f, want);
		free(f);
	}
	berth_ref_free(r);
	memset(s, 'b', 248);
	s[248] = '\0';
	expect_invalid(s);
}

static void test_huge_input_rejected(void **state)
{
	size_t n = 1 << 20;
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, 'a', n);
	s[n] = '\0';
	expect_invalid(s);
	free(s);
}

static void test_format_round_trip(void **state)
{
	static const char *in[] = {
		"alpine",
		"a/b:c",
		"[::1]:5000/x:y@" D256,
		"localhost/x",
		"Registry/x",
		"127.0.0.1:5000/a/b:t@" D256,
		"index.docker.io/a/b",
	};

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		berth_ref *a = NULL, *b = NULL;
		char *fa, *fb;

		assert_int_equal(berth_ref_parse(&a, in[i]), 0);
		fa = berth_ref_format(a);
		assert_non_null(fa);
		assert_int_equal(berth_ref_parse(&b, fa), 0);
		fb = berth_ref_format(b);
		assert_string_equal(fa, fb);
		assert_string_equal(a->domain, b->domain);
		assert_string_equal(a->path, b->path);
		free(fa);
		free(fb);
		berth_ref_free(a);
		berth_ref_free(b);
	}
	assert_null(berth_ref_format(NULL));
	berth_ref_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker_hub_normalisation),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_invalid_references),
		cmocka_unit_test(test_tag_and_name_limits),
		cmocka_unit_test(test_huge_input_rejected),
		cmocka_unit_test(test_format_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
