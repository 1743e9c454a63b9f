/*
 * config.c - unit tests for the mirror's configuration (berth/mirror.h):
 * the ttl grammar, the proxy: and upstreams: sections and their errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "berth/mirror.h"

static long ttl(const char *s)
{
	long v = -1;

	return berth_mirror_parse_ttl(s, &v) == 0 ? v : -1;
}

static void test_ttl(void **state)
{
	(void)state;
	assert_int_equal(ttl("90"), 90);
	assert_int_equal(ttl("90s"), 90);
	assert_int_equal(ttl("15m"), 900);
	assert_int_equal(ttl("168h"), 168L * 3600);
	assert_int_equal(ttl("7d"), 7L * 86400);
	assert_int_equal(ttl("1h30m"), 5400);
	assert_int_equal(ttl("0s"), 0);
	assert_int_equal(ttl(""), -1);
	assert_int_equal(ttl("5 parsecs"), -1);
	assert_int_equal(ttl("1h30"), -1);
	assert_int_equal(ttl("-5s"), -1);
	assert_int_equal(ttl("3651d"), -1);
	assert_int_equal(ttl("99999999999999999999s"), -1);
}

static void expect_error(const char *json, const char *words)
{
	assert_int_equal(berth_mirror_config_check(json), BERTH_EINVALID);
	if (!strstr(berth_error_last(), words))
		fail_msg("'%s' lacks '%s'", berth_error_last(), words);
}

static void test_config(void **state)
{
	(void)state;
	assert_int_equal(berth_mirror_config_check("{\"proxy\":{\"remoteurl\":\"https://"
						   "registry-1.docker.io\",\"ttl\":\"1h\"}}"),
			 0);
	assert_int_equal(
		berth_mirror_config_check(
			"{\"upstreams\":[{\"name\":\"docker.io\",\"url\":\"http://"
			"127.0.0.1:5000\"},"
			"{\"host\":\"ghcr.io\",\"url\":\"https://ghcr.io/\",\"default\":true,"
			"\"username\":\"u\",\"password\":\"p\",\"ttl\":60}]}"),
		0);
	assert_int_equal(berth_mirror_configured("{\"upstreams\":[]}"), 1);
	assert_int_equal(berth_mirror_configured("{\"replication\":[]}"), 0);
	expect_error("{\"upstreams\":[{\"name\":\"a\",\"url\":\"ftp://x\"}]}", "upstreams[0]");
	expect_error("{\"proxy\":{\"remoteurl\":\"http://h\",\"ttl\":\"x\"}}", "proxy.ttl");
	expect_error("{\"proxy\":{\"url\":\"http://h\"}}", "unknown key 'url'");
	expect_error("{\"proxy\":{\"remoteurl\":\"http://h\",\"username\":\"u\"}}", "together");
	expect_error("{\"upstreams\":[{\"name\":\"Bad Name\",\"url\":\"http://h\"}]}",
		     "not a registry host name");
	expect_error("{\"upstreams\":[{\"url\":\"http://h\"},{\"url\":\"http://h\"}]}",
		     "configured twice");
	expect_error("{\"upstreams\":[{\"url\":\"http://a\",\"default\":true},"
		     "{\"url\":\"http://b\",\"default\":true}]}",
		     "more than one");
	assert_int_equal(berth_mirror_config_check("{\"proxy\":{\"remoteurl\":\"http://h\","
						   "\"push\":\"allow\"},\"upstreams\":[{\"url\":"
						   "\"http://g\",\"push\":\"refuse\"}]}"),
			 0);
	expect_error("{\"proxy\":{\"remoteurl\":\"http://h\",\"push\":\"yes\"}}",
		     "proxy.push: expected allow or refuse");
	expect_error("{\"upstreams\":[]}", "no proxy and no upstreams");
	expect_error("{\"upstreams\":[{\"url\":\"http://user@h\"}]}", "no usable host");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ttl),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
