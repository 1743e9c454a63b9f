/*
 * scan.c - unit tests: where the layer cache lives ($BERTH_ROOT, then
 * $XDG_DATA_HOME/berth, then ~/.local/share/berth), and the scan's errors
 * for targets that cannot be opened.
 */
#include "berth/catalog.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void cache_path_follows_the_store_precedence(void **state)
{
	char *p;

	setenv("BERTH_ROOT", "/srv/berth", 1);
	setenv("XDG_DATA_HOME", "/xdg", 1);
	setenv("HOME", "/home/u", 1);
	p = berth_catalog_cache_path();
	assert_string_equal(p, "/srv/berth/catalog.db");
	free(p);
	unsetenv("BERTH_ROOT");
	p = berth_catalog_cache_path();
	assert_string_equal(p, "/xdg/berth/catalog.db");
	free(p);
	unsetenv("XDG_DATA_HOME");
	p = berth_catalog_cache_path();
	assert_string_equal(p, "/home/u/.local/share/berth/catalog.db");
	free(p);
}

static void missing_rootfs_is_an_error(void **state)
{
	berth_catalog *c = (berth_catalog *)1;
	berth_catalog_options o;

	berth_catalog_options_init(&o);
	o.cache = "";
	assert_int_equal(berth_catalog_scan(&c, "rootfs:/nonexistent/berth-test", &o),
			 BERTH_ENOTFOUND);
	assert_null(c);
	assert_non_null(strstr(berth_error_last(), "/nonexistent/berth-test"));
}

static void bad_image_name_is_invalid(void **state)
{
	berth_catalog *c = NULL;
	berth_catalog_options o;

	berth_catalog_options_init(&o);
	o.cache = "";
	assert_int_equal(berth_catalog_scan(&c, "oci:", &o), BERTH_EINVALID);
	assert_null(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cache_path_follows_the_store_precedence),
		cmocka_unit_test(missing_rootfs_is_an_error),
		cmocka_unit_test(bad_image_name_is_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
