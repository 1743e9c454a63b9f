/*
 * python.c - unit tests: installed METADATA / PKG-INFO (headers only, the
 * body never read as headers, licence expressions), egg-info files, and the
 * lock files: requirements pins, poetry.lock, uv.lock, Pipfile.lock; the
 * pypi PURL's name normalisation.
 */
#include "helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

static void metadata_headers_make_a_package(void **state)
{
	berth_catalog *c =
		parse1("/usr/lib/python3/dist-packages/Typing_Extensions-4.9.0.dist-info/METADATA",
		       "Metadata-Version: 2.1\nName: Typing_Extensions\nVersion: 4.9.0\n"
		       "License-Expression: PSF-2.0\nLicense: ignored when an expression exists\n"
		       "\nName: body-is-not-headers\nVersion: 0\n");

	assert_int_equal(c->npkgs, 1);
	assert_string_equal(c->pkgs[0].name, "Typing_Extensions");
	assert_string_equal(c->pkgs[0].version, "4.9.0");
	assert_string_equal(c->pkgs[0].license, "PSF-2.0");
	assert_string_equal(c->pkgs[0].purl, "pkg:pypi/typing-extensions@4.9.0");
	berth_catalog_free(c);
}

static void egg_info_file_and_directory_are_read(void **state)
{
	const char pkginfo[] = "Metadata-Version: 1.2\nName: requests\nVersion: 2.28.1\n"
			       "License: Apache 2.0\n";
	berth_catalog *d =
		parse1("/usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO", pkginfo);
	berth_catalog *f =
		parse1("/usr/lib/python3.11/site-packages/requests-2.28.1.egg-info", pkginfo);

	assert_string_equal(d->pkgs[0].purl, "pkg:pypi/requests@2.28.1");
	assert_string_equal(d->pkgs[0].license, "Apache-2.0");
	assert_int_equal(f->npkgs, 1);
	berth_catalog_free(d);
	berth_catalog_free(f);
}

static void huge_metadata_body_is_not_read(void **state)
{
	size_t n = 8 * 1024 * 1024;
	char *big = malloc(n + 64);
	berth_catalog *c;

	strcpy(big, "Name: big\nVersion: 1.0\n\n");
	memset(big + strlen(big), 'x', n);
	big[n + 20] = 0;
	c = parse1("/site-packages/big-1.0.dist-info/METADATA", big);
	assert_int_equal(c->npkgs, 1);
	free(big);
	berth_catalog_free(c);
}

static void metadata_without_version_is_a_warning(void **state)
{
	berth_catalog *c = parse1("/x/a-1.dist-info/METADATA", "Name: a\n");

	assert_int_equal(c->npkgs, 0);
	assert_true(has_warning(c, "/x/a-1.dist-info/METADATA: no Name or Version header"));
	berth_catalog_free(c);
}

static void requirements_pins_are_read(void **state)
{
	berth_catalog *c =
		parse1("/app/requirements-prod.txt",
		       "# comment\nflask==3.0.0\nrequests[socks]==2.31.0 ; python_version>'3'\n"
		       "-r other.txt\nnumpy>=1.0\nurllib3 == 2.1.0  # pinned\nbad==\n");

	assert_int_equal(c->npkgs, 3);
	assert_string_equal(find(c, "flask")->version, "3.0.0");
	assert_string_equal(find(c, "requests")->version, "2.31.0");
	assert_string_equal(find(c, "urllib3")->version, "2.1.0");
	berth_catalog_free(c);
}

static void poetry_and_uv_locks_are_read(void **state)
{
	const char lock[] = "[[package]]\nname = \"certifi\"\nversion = \"2023.11.17\"\n"
			    "description = \"x\"\n\n[package.dependencies]\nversion = \"9\"\n\n"
			    "[[package]]\nname = \"idna\"\nversion = \"3.6\"\n\n[metadata]\n"
			    "lock-version = \"2.0\"\n";
	berth_catalog *p = parse1("/app/poetry.lock", lock), *u = parse1("/app/uv.lock", lock);

	assert_int_equal(p->npkgs, 2);
	assert_string_equal(find(p, "certifi")->version, "2023.11.17");
	assert_string_equal(find(u, "idna")->cataloguer, "uv-lock");
	berth_catalog_free(p);
	berth_catalog_free(u);
}

static void pipfile_lock_is_read(void **state)
{
	berth_catalog *c = parse1("/app/Pipfile.lock",
				  "{\"_meta\":{},\"default\":{\"six\":{\"version\":\"==1.16.0\"}},"
				  "\"develop\":{\"pytest\":{\"version\":\"==7.4.3\"},\"x\":{}}}");
	berth_catalog *bad = parse1("/app/Pipfile.lock", "{\"default\": [");

	assert_int_equal(c->npkgs, 2);
	assert_string_equal(find(c, "pytest")->version, "7.4.3");
	assert_true(has_warning(bad, "/app/Pipfile.lock: not JSON"));
	berth_catalog_free(c);
	berth_catalog_free(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(metadata_headers_make_a_package),
		cmocka_unit_test(egg_info_file_and_directory_are_read),
		cmocka_unit_test(huge_metadata_body_is_not_read),
		cmocka_unit_test(metadata_without_version_is_a_warning),
		cmocka_unit_test(requirements_pins_are_read),
		cmocka_unit_test(poetry_and_uv_locks_are_read),
		cmocka_unit_test(pipfile_lock_is_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
