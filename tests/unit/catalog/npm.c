/*
 * npm.c - unit tests: installed package.json (scoped PURLs, licence
 * forms), package-lock v1 and v3, yarn.lock v1 and berry, pnpm-lock v5/v6/v9
 * keys, malformed lock files as warnings.
 */
#include "helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

static void scoped_package_json_gets_an_encoded_namespace(void **state)
{
	berth_catalog *c = parse1("/app/node_modules/@babel/core/package.json",
				  "{\"name\":\"@babel/core\",\"version\":\"7.23.6\","
				  "\"license\":{\"type\":\"MIT\"}}");

	assert_string_equal(c->pkgs[0].purl, "pkg:npm/%40babel/core@7.23.6");
	assert_string_equal(c->pkgs[0].license, "MIT");
	berth_catalog_free(c);
}

static void package_json_without_version_is_no_package(void **state)
{
	berth_catalog *c = parse1("/usr/share/nodejs/x/lib/package.json", "{\"type\":\"module\"}");

	assert_int_equal(c->npkgs, 0);
	assert_int_equal(c->nwarnings, 0);
	berth_catalog_free(c);
}

static void package_lock_v3_names_come_from_paths(void **state)
{
	berth_catalog *c =
		parse1("/app/package-lock.json",
		       "{\"lockfileVersion\":3,\"packages\":{\"\":{\"name\":\"app\",\"version\":"
		       "\"1.0.0\"},"
		       "\"node_modules/ms\":{\"version\":\"2.1.3\",\"license\":\"MIT\"},"
		       "\"node_modules/debug/node_modules/ms\":{\"version\":\"2.0.0\"},"
		       "\"node_modules/@types/node\":{\"version\":\"20.10.5\"},"
		       "\"node_modules/linked\":{\"link\":true,\"resolved\":\"packages/x\"}}}");

	assert_int_equal(c->npkgs, 3);
	assert_non_null(find(c, "@types/node"));
	assert_string_equal(c->pkgs[0].purl, "pkg:npm/%40types/node@20.10.5");
	berth_catalog_free(c);
}

static void package_lock_v1_nested_dependencies_are_read(void **state)
{
	berth_catalog *c =
		parse1("/app/package-lock.json",
		       "{\"lockfileVersion\":1,\"dependencies\":{\"a\":{\"version\":\"1.0.0\","
		       "\"dependencies\":{\"b\":{\"version\":\"2.0.0\"}}},"
		       "\"c\":{\"version\":\"file:../c\"}}}");

	assert_int_equal(c->npkgs, 2);
	assert_string_equal(find(c, "b")->version, "2.0.0");
	berth_catalog_free(c);
}

static void yarn_v1_and_berry_are_read(void **state)
{
	berth_catalog *v1 = parse1("/app/yarn.lock",
				   "# yarn lockfile v1\n\n\"@babel/code-frame@^7.0.0\", "
				   "\"@babel/code-frame@^7.22.13\":\n  version \"7.23.5\"\n"
				   "  resolved \"https://x\"\n\nms@2.1.3:\n  version \"2.1.3\"\n");
	berth_catalog *berry =
		parse1("/app/yarn.lock", "__metadata:\n  version: 6\n\n\"ms@npm:^2.1.1\":\n"
					 "  version: 2.1.3\n  resolution: \"ms@npm:2.1.3\"\n\n"
					 "\"app@workspace:.\":\n  version: 0.0.0-use.local\n");

	assert_int_equal(v1->npkgs, 2);
	assert_string_equal(find(v1, "@babel/code-frame")->version, "7.23.5");
	assert_int_equal(berry->npkgs, 1);
	assert_string_equal(find(berry, "ms")->version, "2.1.3");
	berth_catalog_free(v1);
	berth_catalog_free(berry);
}

static void pnpm_keys_of_each_version_are_read(void **state)
{
	berth_catalog *c =
		parse1("/app/pnpm-lock.yaml", "lockfileVersion: '6.0'\n\npackages:\n\n"
					      "  /ms@2.1.3:\n    resolution: {integrity: x}\n"
					      "  /@types/node@20.10.5:\n    dev: true\n"
					      "  /react-dom@18.2.0(react@18.2.0):\n    dev: false\n"
					      "  /lodash/4.17.21:\n    dev: false\n"
					      "  semver@7.5.4:\n    resolution: {}\n"
					      "importers:\n  .:\n    x@1.0.0:\n");

	assert_int_equal(c->npkgs, 5);
	assert_string_equal(find(c, "react-dom")->version, "18.2.0");
	assert_string_equal(find(c, "lodash")->version, "4.17.21");
	assert_string_equal(find(c, "@types/node")->version, "20.10.5");
	berth_catalog_free(c);
}

static void malformed_lock_is_a_warning(void **state)
{
	berth_catalog *c = parse1("/app/package-lock.json", "{\"packages\": {\"node_modules/a\"");

	assert_int_equal(c->npkgs, 0);
	assert_true(has_warning(c, "/app/package-lock.json: not a JSON object"));
	berth_catalog_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scoped_package_json_gets_an_encoded_namespace),
		cmocka_unit_test(package_json_without_version_is_no_package),
		cmocka_unit_test(package_lock_v3_names_come_from_paths),
		cmocka_unit_test(package_lock_v1_nested_dependencies_are_read),
		cmocka_unit_test(yarn_v1_and_berry_are_read),
		cmocka_unit_test(pnpm_keys_of_each_version_are_read),
		cmocka_unit_test(malformed_lock_is_a_warning),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
