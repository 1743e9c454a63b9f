/*
 * others.c - unit tests: Cargo.lock, installed gemspecs and Gemfile.lock,
 * composer.lock and installed.json (both shapes), .NET deps.json; PURL
 * escaping rules.
 */
#include "helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

static void cargo_lock_packages_are_read(void **state)
{
	berth_catalog *c =
		parse1("/src/Cargo.lock",
		       "version = 3\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.193\"\n"
		       "source = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
		       "dependencies = [\n \"serde_derive\",\n]\n\n[[package]]\n"
		       "name = \"app\"\nversion = \"0.1.0\"\n");

	assert_int_equal(c->npkgs, 2);
	assert_string_equal(find(c, "serde")->purl, "pkg:cargo/serde@1.0.193");
	berth_catalog_free(c);
}

static void gemspec_and_gemfile_lock_are_read(void **state)
{
	berth_catalog *g =
		parse1("/usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec",
		       "Gem::Specification.new do |s|\n  s.name = \"rake\".freeze\n"
		       "  s.version = \"13.0.6\"\n  s.licenses = [\"MIT\".freeze]\nend\n");
	berth_catalog *l = parse1("/app/Gemfile.lock",
				  "GEM\n  remote: https://rubygems.org/\n  specs:\n"
				  "    nokogiri (1.15.5-x86_64-linux)\n      racc (~> 1.4)\n"
				  "    racc (1.7.3)\n\nPLATFORMS\n  x86_64-linux\n\n"
				  "DEPENDENCIES\n  nokogiri\n");

	assert_string_equal(g->pkgs[0].purl, "pkg:gem/rake@13.0.6");
	assert_string_equal(g->pkgs[0].license, "MIT");
	assert_int_equal(l->npkgs, 2);
	assert_string_equal(find(l, "nokogiri")->version, "1.15.5");
	berth_catalog_free(g);
	berth_catalog_free(l);
}

static void composer_files_are_read(void **state)
{
	berth_catalog *lock =
		parse1("/app/composer.lock",
		       "{\"packages\":[{\"name\":\"monolog/monolog\",\"version\":\"3.5.0\","
		       "\"license\":[\"MIT\"]}],\"packages-dev\":[{\"name\":\"phpunit/phpunit\","
		       "\"version\":\"10.5.3\"}]}");
	berth_catalog *v1 = parse1("/app/vendor/composer/installed.json",
				   "[{\"name\":\"psr/log\",\"version\":\"1.1.4\"}]");
	berth_catalog *v2 = parse1("/app/vendor/composer/installed.json",
				   "{\"packages\":[{\"name\":\"psr/log\",\"version\":\"3.0.0\"}]}");

	assert_int_equal(lock->npkgs, 2);
	assert_string_equal(find(lock, "monolog/monolog")->purl,
			    "pkg:composer/monolog/monolog@3.5.0");
	assert_string_equal(v1->pkgs[0].version, "1.1.4");
	assert_string_equal(v2->pkgs[0].version, "3.0.0");
	berth_catalog_free(lock);
	berth_catalog_free(v1);
	berth_catalog_free(v2);
}

static void dotnet_deps_list_packages_not_projects(void **state)
{
	berth_catalog *c =
		parse1("/app/app.deps.json", "{\"libraries\":{\"app/1.0.0\":{\"type\":\"project\"},"
					     "\"Newtonsoft.Json/13.0.3\":{\"type\":\"package\"}}}");

	assert_int_equal(c->npkgs, 1);
	assert_string_equal(c->pkgs[0].purl, "pkg:nuget/Newtonsoft.Json@13.0.3");
	berth_catalog_free(c);
}

static void purl_escape_keeps_only_unreserved(void **state)
{
	char *a = berth_purl_escape("1:2.3+dfsg~1 a/b@c", 0), *b = berth_purl_escape("a/b", 1);

	assert_string_equal(a, "1%3A2.3%2Bdfsg~1%20a%2Fb%40c");
	assert_string_equal(b, "a/b");
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cargo_lock_packages_are_read),
		cmocka_unit_test(gemspec_and_gemfile_lock_are_read),
		cmocka_unit_test(composer_files_are_read),
		cmocka_unit_test(dotnet_deps_list_packages_not_projects),
		cmocka_unit_test(purl_escape_keeps_only_unreserved),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
