/*
 * s3config.c - unit tests of the s3 store's settings as a URL
 * (berth_store_s3_config_parse) and of the checks berth_store_open_s3 makes
 * before it sends anything (no S3 server is needed here; the driver itself
 * is tested against Ceph RGW and Swift in tests/integration/test_s3_*.py).
 */
#include "store_test.h"

static void url_with_every_setting_parses(void **state)
{
	berth_store_s3_config c;
	char *mem = NULL;

	(void)state;
	assert_int_equal(
		berth_store_s3_config_parse(
			&c, &mem,
			"s3://reg/a/b?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=eu-west-3"
			"&forcepathstyle=true&secure=false&redirect=1&chunksize=6291456"
			"&storageclass=STANDARD_IA&timeout=7&maxretries=2&accesskey=AK&secretkey="
			"SK"),
		0);
	assert_string_equal(c.bucket, "reg");
	assert_string_equal(c.rootdirectory, "a/b");
	assert_string_equal(c.endpoint, "http://127.0.0.1:9000");
	assert_string_equal(c.region, "eu-west-3");
	assert_string_equal(c.storageclass, "STANDARD_IA");
	assert_string_equal(c.accesskey, "AK");
	assert_string_equal(c.secretkey, "SK");
	assert_int_equal(c.forcepathstyle, 1);
	assert_int_equal(c.secure, 0);
	assert_int_equal(c.redirect, 1);
	assert_int_equal(c.chunksize, 6291456);
	assert_int_equal(c.timeout, 7);
	assert_int_equal(c.maxretries, 2);
	free(mem);
}

static void bare_bucket_leaves_everything_unset(void **state)
{
	berth_store_s3_config c;
	char *mem = NULL;

	(void)state;
	assert_int_equal(berth_store_s3_config_parse(&c, &mem, "s3://only"), 0);
	assert_string_equal(c.bucket, "only");
	assert_null(c.rootdirectory);
	assert_null(c.endpoint);
	assert_int_equal(c.forcepathstyle, -1);
	assert_int_equal(c.secure, -1);
	assert_int_equal(c.chunksize, 0);
	free(mem);
}

static void bad_urls_are_refused(void **state)
{
	static const char *const bad[] = {
		"http://bucket",		/* not s3:// */
		"s3://b?nosuchkey=1",		/* unknown setting */
		"s3://b?forcepathstyle=maybe",	/* not a boolean */
		"s3://b?chunksize=-5",		/* not a number */
		"s3://b?chunksize=99999999999", /* over BERTH_S3_PART_MAX */
		"s3://b?endpoint=%zz",		/* bad escape */
		"s3://b?endpoint",		/* no value */
	};
	berth_store_s3_config c;
	char *mem = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(berth_store_s3_config_parse(&c, &mem, bad[i]), BERTH_EINVALID);
		assert_null(mem);
	}
}

static void open_checks_settings_before_any_request(void **state)
{
	berth_store_s3_config c = {.bucket = "b",
				   .accesskey = "a",
				   .secretkey = "s",
				   .endpoint = "http://127.0.0.1:1",
				   .forcepathstyle = -1,
				   .secure = -1};
	berth_store *s = NULL;

	(void)state;
	c.chunksize = 1024; /* under S3's 5 MiB minimum part */
	assert_int_equal(berth_store_open_s3(&s, &c), BERTH_EINVALID);
	assert_null(s);
	c.chunksize = 0;
	c.rootdirectory = "../escape";
	assert_int_equal(berth_store_open_s3(&s, &c), BERTH_EINVALID);
	c.rootdirectory = NULL;
	c.bucket = "bad bucket";
	assert_int_equal(berth_store_open_s3(&s, &c), BERTH_EINVALID);
	c.bucket = "b";
	/* Valid settings, nothing listening: the probe fails as an I/O error. */
	c.maxretries = 1;
	c.timeout = 2;
	assert_int_equal(berth_store_open_s3(&s, &c), BERTH_EIO);
	assert_null(s);
}

static void missing_credentials_are_named(void **state)
{
	berth_store_s3_config c = {.bucket = "b",
				   .endpoint = "http://127.0.0.1:1",
				   .forcepathstyle = -1,
				   .secure = -1};
	berth_store *s = NULL;

	(void)state;
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	assert_int_equal(berth_store_open_s3(&s, &c), BERTH_EINVALID);
	assert_non_null(strstr(berth_error_last(), "credentials"));
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
}

static void fs_to_fs_migration_copies_then_skips(void **state)
{
	store_fixture *f = *state;
	char dir2[] = "/tmp/berth-store-mig-XXXXXX";
	berth_store *to = NULL;
	berth_store_migrate_stats st;
	static char big[3 << 20];
	berth_digest d1, d2;
	uint64_t size = 0;

	fill_bytes(big, sizeof(big), 7);
	d1 = digest_of(BERTH_DIGEST_SHA256, "one", 3);
	d2 = digest_of(BERTH_DIGEST_SHA256, big, sizeof(big));
	assert_int_equal(berth_store_put(f->s, &d1, "one", 3), 0);
	assert_int_equal(berth_store_put(f->s, &d2, big, sizeof(big)), 0);
	assert_non_null(mkdtemp(dir2));
	assert_int_equal(berth_store_open(&to, dir2), 0);
	assert_int_equal(berth_store_migrate(f->s, to, NULL, NULL, &st), 0);
	assert_int_equal(st.blobs, 2);
	assert_int_equal(st.copied, 2);
	assert_int_equal(st.bytes, 3 + sizeof(big));
	assert_int_equal(berth_store_stat(to, &d2, &size), 0);
	assert_int_equal(size, sizeof(big));
	/* Again: everything is there already. */
	assert_int_equal(berth_store_migrate(f->s, to, NULL, NULL, &st), 0);
	assert_int_equal(st.copied, 0);
	assert_int_equal(st.skipped, 2);
	berth_store_free(to);
	assert_int_equal(berth_fs_remove_tree(dir2), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(url_with_every_setting_parses),
		cmocka_unit_test(bare_bucket_leaves_everything_unset),
		cmocka_unit_test(bad_urls_are_refused),
		cmocka_unit_test(open_checks_settings_before_any_request),
		cmocka_unit_test(missing_credentials_are_named),
		cmocka_unit_test_setup_teardown(fs_to_fs_migration_copies_then_skips, store_setup,
						store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
