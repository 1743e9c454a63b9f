/*
 * key.c - unit tests for the token signing key (src/lib/auth/key.c):
 * creation with mode 0600, reload with the same kid, the libtrust kid of a
 * fixed key checked against a value computed independently (openssl pkey
 * -pubout -outform DER | sha256 | first 30 bytes | base32), refusal of
 * non-P-256 and corrupt keys without overwriting them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/token.h"
#include "util/fs.h"

static const char fixed_pem[] = "-----BEGIN PRIVATE KEY-----\n"
				"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgL637rRn5InXt2THR\n"
				"qJm0v6ohW6G0hOz8t3CgSAcJIiChRANCAAQZvih725mbt/pYTq28Zp0pREN4nZ7V\n"
				"PfEhfeFRLvIiMElJ3djqLMfJzrZxipKyANSwRofnMSZz08Tz12lGo/+9\n"
				"-----END PRIVATE KEY-----\n";
static const char fixed_kid[] = "ZD23:MADC:JQO3:H4PW:4QHZ:BKAZ:46MC:JO74:WSYG:NQ4W:VNKW:K4QV";

static const char p384_pem[] = "-----BEGIN PRIVATE KEY-----\n"
			       "MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDAM8GUtJWIILSDDmtbZ\n"
			       "jJ4ugGWsbi28c+sC/OQX1eoYsYhGOXCCVZqSsjz7GFMN0mmhZANiAATJR4JfW5bD\n"
			       "mAlYAnuZ9CAnxxyDO9TvZHvtKFhcLYHsm+wJgXGjWKI9Nzlj0Bd4tr+hzCqY7K2S\n"
			       "8Zv8Qq4R+PbZLkrbgEjCNzWi7GVEuEmLhg2Ce3y+aQxjSYUd6gFgiz8=\n"
			       "-----END PRIVATE KEY-----\n";

static int setup_dir(void **state)
{
	char *dir = strdup("/tmp/berth-auth-key-XXXXXX");

	if (!dir || !mkdtemp(dir))
		return -1;
	*state = dir;
	return 0;
}

static int teardown_dir(void **state)
{
	int rc = berth_fs_remove_tree(*state);

	free(*state);
	return rc;
}

static int kid_shaped(const char *kid)
{
	if (strlen(kid) != 59)
		return 0;
	for (size_t i = 0; i < 59; i++) {
		if (i % 5 == 4) {
			if (kid[i] != ':')
				return 0;
		} else if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", kid[i]) || !kid[i]) {
			return 0;
		}
	}
	return 1;
}

static void test_fixed_key_kid(void **state)
{
	berth_token_key *k = NULL;

	assert_int_equal(berth_token_key_from_pem(&k, fixed_pem, strlen(fixed_pem)), 0);
	assert_string_equal(berth_token_key_id(k), fixed_kid);
	berth_token_key_free(k);
}

static void test_create_then_reload_same_kid(void **state)
{
	char path[512], kid[64];
	berth_token_key *k = NULL;
	struct stat st;

	snprintf(path, sizeof(path), "%s/token.pem", (char *)*state);
	assert_int_equal(berth_token_key_load_or_create(&k, path), 0);
	assert_true(kid_shaped(berth_token_key_id(k)));
	snprintf(kid, sizeof(kid), "%s", berth_token_key_id(k));
	berth_token_key_free(k);
	k = NULL;

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(berth_token_key_load_or_create(&k, path), 0);
	assert_string_equal(berth_token_key_id(k), kid);
	berth_token_key_free(k);

	/* No temporary file is left behind. */
	snprintf(path, sizeof(path), "%s/token.pem.tmp.%d", (char *)*state, (int)getpid());
	assert_int_not_equal(access(path, F_OK), 0);
}

static void test_two_generated_keys_differ(void **state)
{
	berth_token_key *a = NULL, *b = NULL;

	assert_int_equal(berth_token_key_generate(&a), 0);
	assert_int_equal(berth_token_key_generate(&b), 0);
	assert_true(kid_shaped(berth_token_key_id(a)));
	assert_string_not_equal(berth_token_key_id(a), berth_token_key_id(b));
	berth_token_key_free(a);
	berth_token_key_free(b);
	berth_token_key_free(NULL);
}

/* The same key (two processes loading one key file) derives the same secret
 * per label; another label or another key, another secret. */
static void test_derived_secrets(void **state)
{
	berth_token_key *a = NULL, *a2 = NULL, *b = NULL;
	unsigned char x[32], y[32], z[32], w[32];

	(void)state;
	assert_int_equal(berth_token_key_from_pem(&a, fixed_pem, strlen(fixed_pem)), 0);
	assert_int_equal(berth_token_key_from_pem(&a2, fixed_pem, strlen(fixed_pem)), 0);
	assert_int_equal(berth_token_key_generate(&b), 0);
	assert_int_equal(berth_token_key_derive(a, "one", x), 0);
	assert_int_equal(berth_token_key_derive(a2, "one", y), 0);
	assert_memory_equal(x, y, 32);
	assert_int_equal(berth_token_key_derive(a, "two", z), 0);
	assert_memory_not_equal(x, z, 32);
	assert_int_equal(berth_token_key_derive(b, "one", w), 0);
	assert_memory_not_equal(x, w, 32);
	berth_token_key_free(a);
	berth_token_key_free(a2);
	berth_token_key_free(b);
}

static void test_refuses_wrong_or_corrupt_keys(void **state)
{
	char path[512];
	berth_token_key *k = NULL;
	berth_buf b = BERTH_BUF_INIT(1 << 16);

	assert_int_equal(berth_token_key_from_pem(&k, p384_pem, strlen(p384_pem)),
			 BERTH_EUNSUPPORTED);
	assert_null(k);
	assert_int_equal(berth_token_key_from_pem(&k, "garbage", 7), BERTH_EINVALID);
	assert_null(k);

	/* A corrupt key file is an error, and is not replaced by a new key. */
	snprintf(path, sizeof(path), "%s/bad.pem", (char *)*state);
	assert_int_equal(berth_fs_write_atomic(path, "not a key\n", 10), 0);
	assert_int_equal(berth_token_key_load_or_create(&k, path), BERTH_EINVALID);
	assert_null(k);
	assert_non_null(strstr(berth_error_last(), path));
	assert_int_equal(berth_fs_read_file(&b, path), 0);
	assert_string_equal(b.ptr, "not a key\n");
	berth_buf_dispose(&b);

	/* A missing directory is an I/O error, not a crash. */
	snprintf(path, sizeof(path), "%s/no/such/dir/k.pem", (char *)*state);
	assert_int_not_equal(berth_token_key_load_or_create(&k, path), 0);
	assert_null(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_key_kid),
		cmocka_unit_test_setup_teardown(test_create_then_reload_same_kid, setup_dir,
						teardown_dir),
		cmocka_unit_test(test_two_generated_keys_differ),
		cmocka_unit_test(test_derived_secrets),
		cmocka_unit_test_setup_teardown(test_refuses_wrong_or_corrupt_keys, setup_dir,
						teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
