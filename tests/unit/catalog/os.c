/*
 * os.c - unit tests: os-release (quoting, precedence of /etc over /usr/lib)
 * and the release-file fallbacks.
 */
#include "helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

static void os_release_fields_are_unquoted(void **state)
{
	berth_catalog *c =
		parse1("/etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
					  "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n"
					  "VERSION_CODENAME=bookworm\nID=debian\n# ID=other\n");

	assert_non_null(c);
	assert_string_equal(c->os_id, "debian");
	assert_string_equal(c->os_version_id, "12");
	assert_string_equal(c->os_name, "Debian GNU/Linux 12 (bookworm)");
	assert_string_equal(c->os_codename, "bookworm");
	assert_int_equal(c->nwarnings, 0);
	berth_catalog_free(c);
}

static void single_quotes_and_escapes_are_read(void **state)
{
	berth_catalog *c = parse1("/usr/lib/os-release", "ID='alpine'\nVERSION_ID=3.19.1\n"
							 "PRETTY_NAME=\"A \\\"quoted\\\" name\"\n");

	assert_string_equal(c->os_id, "alpine");
	assert_string_equal(c->os_version_id, "3.19.1");
	assert_string_equal(c->os_name, "A \"quoted\" name");
	berth_catalog_free(c);
}

static void os_release_without_id_is_a_warning(void **state)
{
	berth_catalog *c = parse1("/etc/os-release", "NAME=nothing\n");

	assert_null(c->os_id);
	assert_true(has_warning(c, "/etc/os-release: no ID= line"));
	berth_catalog_free(c);
}

static void debian_version_gives_the_point_release(void **state)
{
	berth_catalog *c = parse1("/etc/debian_version", "12.5\n");

	assert_string_equal(c->os_version, "12.5");
	berth_catalog_free(c);
}

static void alpine_release_is_a_fallback(void **state)
{
	berth_catalog *c = parse1("/etc/alpine-release", "3.18.4\n");

	assert_string_equal(c->os_id, "alpine");
	assert_string_equal(c->os_version_id, "3.18.4");
	berth_catalog_free(c);
}

static void redhat_release_names_the_distro(void **state)
{
	berth_catalog *c = parse1("/etc/redhat-release", "CentOS Linux release 7.9.2009 (Core)\n");

	assert_string_equal(c->os_id, "centos");
	assert_string_equal(c->os_version_id, "7.9.2009");
	berth_catalog_free(c);
}

static void unrelated_paths_are_not_parsed(void **state)
{
	berth_catalog *c = berth_catalog_new();

	assert_int_equal(berth_catalog_parse_file(c, "/etc/os-release.bak", "ID=x\n", 5), 0);
	assert_null(c->os_id);
	berth_catalog_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(os_release_fields_are_unquoted),
		cmocka_unit_test(single_quotes_and_escapes_are_read),
		cmocka_unit_test(os_release_without_id_is_a_warning),
		cmocka_unit_test(debian_version_gives_the_point_release),
		cmocka_unit_test(alpine_release_is_a_fallback),
		cmocka_unit_test(redhat_release_names_the_distro),
		cmocka_unit_test(unrelated_paths_are_not_parsed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
