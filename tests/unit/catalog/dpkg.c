/*
 * dpkg.c - unit tests: dpkg status stanzas (installed only, epochs, Source
 * with and without version, continuation lines), distroless status.d files,
 * info/NAME.list file ownership, and the deb PURL.
 */
#include "helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

static const char status[] = "Package: bsdutils\n"
			     "Essential: yes\n"
			     "Status: install ok installed\n"
			     "Architecture: amd64\n"
			     "Source: util-linux (2.38.1-5+deb12u3)\n"
			     "Version: 1:2.38.1-5+deb12u3\n"
			     "Description: basic utilities from 4.4BSD-Lite\n"
			     " This package contains the bits of BSD utilities.\n"
			     " Version: 9.9 (a continuation line must not be read as a field)\n"
			     "\n"
			     "Package: removed-pkg\n"
			     "Status: deinstall ok config-files\n"
			     "Architecture: amd64\n"
			     "Version: 1.0\n"
			     "\n"
			     "Package: libc6\n"
			     "Status: install ok installed\n"
			     "Architecture: amd64\n"
			     "Source: glibc\n"
			     "Version: 2.36-9+deb12u4\n"
			     "\n"
			     "Package: tzdata\n"
			     "Status: install ok installed\n"
			     "Architecture: all\n"
			     "Version: 2024a-0+deb12u1\n";

static void installed_packages_are_listed(void **state)
{
	berth_catalog *c =
		parse_as("/var/lib/dpkg/status", status, sizeof(status) - 1, "debian", "12.5");

	assert_int_equal(c->npkgs, 3);
	assert_null(find(c, "removed-pkg"));
	assert_int_equal(c->nwarnings, 0);
	berth_catalog_free(c);
}

static void epoch_is_split_and_purl_has_qualifiers(void **state)
{
	berth_catalog *c =
		parse_as("/var/lib/dpkg/status", status, sizeof(status) - 1, "debian", "12.5");
	const berth_package *p = find(c, "bsdutils");

	assert_non_null(p);
	assert_int_equal(p->epoch, 1);
	assert_string_equal(p->version, "2.38.1-5+deb12u3");
	assert_string_equal(p->arch, "amd64");
	assert_string_equal(p->purl, "pkg:deb/debian/bsdutils@2.38.1-5%2Bdeb12u3"
				     "?arch=amd64&distro=debian-12.5&epoch=1");
	assert_string_equal(p->source_name, "util-linux");
	assert_string_equal(p->source_version, "2.38.1-5+deb12u3");
	assert_string_equal(p->path, "/var/lib/dpkg/status");
	assert_string_equal(p->cataloguer, "dpkg");
	berth_catalog_free(c);
}

static void source_without_version_takes_the_binary_version(void **state)
{
	berth_catalog *c =
		parse_as("/var/lib/dpkg/status", status, sizeof(status) - 1, "debian", "12.5");
	const berth_package *p = find(c, "libc6"), *t = find(c, "tzdata");

	assert_string_equal(p->source_name, "glibc");
	assert_string_equal(p->source_version, "2.36-9+deb12u4");
	assert_string_equal(t->source_name, "tzdata");
	assert_string_equal(t->purl, "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1"
				     "?arch=all&distro=debian-12.5");
	berth_catalog_free(c);
}

static void distroless_status_d_files_are_read(void **state)
{
	berth_catalog *c =
		parse1("/var/lib/dpkg/status.d/base-files",
		       "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n");
	berth_catalog *md5 = parse1("/var/lib/dpkg/status.d/base-files.md5sums", "abc  etc/x\n");

	assert_int_equal(c->npkgs, 1);
	assert_string_equal(c->pkgs[0].version, "12.4+deb12u5");
	assert_int_equal(md5->npkgs, 0);
	berth_catalog_free(c);
	berth_catalog_free(md5);
}

static void list_files_become_owned_files(void **state)
{
	berth_catalog *c =
		parse_as("/var/lib/dpkg/status", status, sizeof(status) - 1, "debian", "12");
	const char list[] = "/.\n/usr\n/usr/bin/tzselect\n/usr/share/zoneinfo/UTC\n";
	const berth_package *t;

	berth_catalog_parse_file(c, "/var/lib/dpkg/info/tzdata.list", list, sizeof(list) - 1);
	t = find(c, "tzdata");
	assert_int_equal(t->nfiles, 3);
	assert_string_equal(t->files[0], "/usr");
	assert_string_equal(t->files[2], "/usr/share/zoneinfo/UTC");
	assert_int_equal(find(c, "libc6")->nfiles, 0);
	berth_catalog_free(c);
}

static void stanza_without_version_is_a_warning(void **state)
{
	berth_catalog *c = parse1("/var/lib/dpkg/status",
				  "Package: broken\nStatus: install ok installed\n\n"
				  "Package: fine\nStatus: install ok installed\nVersion: 1\n");

	assert_int_equal(c->npkgs, 1);
	assert_true(has_warning(c, "/var/lib/dpkg/status: package broken has no Version"));
	berth_catalog_free(c);
}

static void garbage_gives_no_packages_and_no_crash(void **state)
{
	const char junk[] = "\x01\x02:\n\n:\n  \n\nPackage:\nVersion:\n\xff\xfe";
	berth_catalog *c = parse_as("/var/lib/dpkg/status", junk, sizeof(junk) - 1, NULL, NULL);

	assert_non_null(c);
	berth_catalog_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(installed_packages_are_listed),
		cmocka_unit_test(epoch_is_split_and_purl_has_qualifiers),
		cmocka_unit_test(source_without_version_takes_the_binary_version),
		cmocka_unit_test(distroless_status_d_files_are_read),
		cmocka_unit_test(list_files_become_owned_files),
		cmocka_unit_test(stanza_without_version_is_a_warning),
		cmocka_unit_test(garbage_gives_no_packages_and_no_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
